/* Pointers the shim did not allocate go to glibc and never crash: blocks
 * from glibc itself (__libc_malloc, __libc_memalign, __libc_calloc) and
 * from a library opened with RTLD_DEEPBIND, whose malloc family binds to
 * glibc's, are freed, reallocated (in place, or moved into a rule's area
 * when they grow past the threshold) and sized with malloc_usable_size by
 * the program under the shim, content kept; the report's foreign_frees
 * grows by one for each. The library allocates and frees its own memory
 * and reads the program's. The same library opened without RTLD_DEEPBIND
 * binds to the shim, and pointers cross freely in both directions.
 *
 * What cannot work: the DEEPBIND library freeing (or reallocating) a
 * pointer from the shim. Its free is glibc's free, which reads glibc's
 * chunk header in front of the pointer; in front of a jemalloc or area
 * block there is none (or another object's bytes), so glibc aborts with
 * "free(): invalid pointer" or corrupts its heap. glibc >= 2.34 has no
 * __free_hook to catch it, and the library's binding is decided by ld.so,
 * not by us: the shim's dlopen rebinds such a library's malloc family to
 * the shim (AMLSHIM_DEEPBIND=keep) or drops the flag (=drop); glibc's own
 * dlopen, used below, does neither. So the test never does it.
 *
 * The helper library (tests/shim/lib/deepbind_lib.c) is built into this
 * program and loaded from a memfd, so the binary runs alone in the VM. */
#include <malloc.h>

#include "shim_test.h"

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)
#define THRESHOLD MiB

/* The helper library's bytes. */
SHIM_TEST_EMBED(deepbind_so, "deepbind_lib.so");

struct helper {
	void *handle;
	void *(*malloc)(size_t);
	void *(*calloc)(size_t, size_t);
	void *(*realloc)(void *, size_t);
	void *(*memalign)(size_t, size_t);
	void (*free)(void *);
	size_t (*usable)(void *);
	void *(*malloc_address)(void);
	void *(*free_address)(void);
	uint64_t (*checksum)(const void *, size_t);
	int (*self_test)(void);
};

static void *need(void *handle, const char *name)
{
	void *sym = dlsym(handle, name);
	CHECK(sym != NULL, "helper library: no %s", name);
	return sym;
}

/* Loads a private copy of the helper (each memfd is a new file with a new
 * name, so two loads are two libraries). */
/* glibc's own dlopen, past the shim's (which rebinds malloc): how a
 * library ends up bound to glibc's malloc (also dlmopen, static linking). */
static void *glibc_dlopen(const char *path, int flags)
{
	void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
	CHECK(libc != NULL, "libc.so.6 is not loaded?");
	void *(*real)(const char *, int) = (void *(*)(const char *, int))dlvsym(libc, "dlopen", "GLIBC_2.34");
	if (!real)
		real = (void *(*)(const char *, int))dlvsym(libc, "dlopen", "GLIBC_2.2.5");
	CHECK(real != NULL, "glibc's dlopen not found");
	return real(path, flags);
}

static int use_glibc_dlopen;

static struct helper load_helper(int flags)
{
	int fd = test_memfd("deepbind_lib.so");
	size_t size = (size_t)(deepbind_so_end - deepbind_so_start);
	CHECK(size > 0 && write(fd, deepbind_so_start, size) == (ssize_t)size, "writing the helper library");
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	struct helper h;
	h.handle = use_glibc_dlopen ? glibc_dlopen(path, flags) : dlopen(path, flags);
	CHECK(h.handle != NULL, "dlopen(helper): %s", dlerror());
	/* fd stays open: ld.so knows a loaded library by its name, and a
	 * second load must not reuse /proc/self/fd/N. */
	*(void **)&h.malloc = need(h.handle, "dl_malloc");
	*(void **)&h.calloc = need(h.handle, "dl_calloc");
	*(void **)&h.realloc = need(h.handle, "dl_realloc");
	*(void **)&h.memalign = need(h.handle, "dl_memalign");
	*(void **)&h.free = need(h.handle, "dl_free");
	*(void **)&h.usable = need(h.handle, "dl_usable");
	*(void **)&h.malloc_address = need(h.handle, "dl_malloc_address");
	*(void **)&h.free_address = need(h.handle, "dl_free_address");
	*(void **)&h.checksum = need(h.handle, "dl_checksum");
	*(void **)&h.self_test = need(h.handle, "dl_self_test");
	return h;
}

static uint64_t checksum(const void *ptr, size_t size)
{
	const unsigned char *b = ptr;
	uint64_t sum = 1469598103934665603ULL;
	for (size_t i = 0; i < size; i++)
		sum = (sum ^ b[i]) * 1099511628211ULL;
	return sum;
}

static unsigned long foreign_frees_expected;

/* Frees a pointer that is still glibc's through the shim. */
static void free_foreign(void *p)
{
	errno = 4242;
	free(p);
	CHECK(errno == 4242, "free of a glibc pointer changed errno to %d", errno);
	foreign_frees_expected++;
}

/* A glibc pointer of size bytes, from the source named by how. */
static void *glibc_block(const struct helper *deep, int how, size_t size)
{
	switch (how) {
	case 0: return deep->malloc(size);
	case 1: return deep->calloc(1, size);
	case 2: return deep->memalign(4096, size); /* page-aligned, like the shim's large blocks */
	case 3: return __libc_malloc(size);
	case 4: return __libc_calloc(size, 1);
	default: return __libc_memalign(64, size);
	}
}

static void check_glibc_pointers(const struct helper *deep)
{
	static const size_t sizes[] = {1, 24, 1000, 5000, 100 * KiB, 300 * KiB, 700 * KiB, 2 * MiB, 8 * MiB};
	for (int how = 0; how < 6; how++) {
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			size_t size = sizes[i];
			uint64_t seed = (uint64_t)how * 100 + i;
			void *p = glibc_block(deep, how, size);
			CHECK(p != NULL, "glibc allocation %d of %zu", how, size);
			if (how == 1 || how == 4)
				for (size_t b = 0; b < size; b += 64)
					CHECK(((char *)p)[b] == 0, "glibc calloc not zero");
			shim_test_fill(p, size, seed);

			/* Sizing: the shim answers what glibc answers. */
			size_t usable = malloc_usable_size(p);
			CHECK(usable >= size, "malloc_usable_size of a glibc block of %zu: %zu", size, usable);
			CHECK(usable == deep->usable(p), "malloc_usable_size: shim says %zu, glibc %zu", usable,
			      deep->usable(p));

			/* The library reads it back. */
			CHECK(deep->checksum(p, size) == checksum(p, size), "the library read other bytes");

			/* Shrinking and growing below the threshold: glibc's realloc. */
			size_t smaller = size / 2 + 1 < THRESHOLD ? size / 2 + 1 : THRESHOLD - 16;
			p = realloc(p, smaller);
			CHECK(p != NULL, "realloc of a glibc block %zu -> %zu", size, smaller);
			CHECK_PATTERN(p, smaller, seed);
			size_t grown = size * 2 < THRESHOLD ? size * 2 : THRESHOLD - 16;
			if (grown > smaller) {
				p = realloc(p, grown);
				CHECK(p != NULL, "realloc of a glibc block %zu -> %zu", smaller, grown);
				CHECK_PATTERN(p, smaller, seed);
				shim_test_fill_range(p, smaller, grown, seed);
			} else {
				grown = smaller;
			}
			/* Still glibc's: glibc can size it. */
			CHECK(deep->usable(p) >= grown, "after realloc below the threshold the block left glibc");

			if (i % 2 == 0) {
				/* Growing past the threshold moves it into the rule's area,
				 * freeing the glibc block (one foreign free). */
				size_t big = 3 * MiB + size;
				unsigned long before = foreign_frees_expected;
				void *q = realloc(p, big);
				CHECK(q != NULL, "realloc of a glibc block %zu -> %zu", grown, big);
				CHECK_PATTERN(q, grown, seed);
				shim_test_fill_range(q, grown, big, seed);
				CHECK_POLICY(q, MPOL_INTERLEAVE);
				CHECK_POLICY((char *)q + big - 1, MPOL_INTERLEAVE);
				foreign_frees_expected = before + 1;
				CHECK(malloc_usable_size(q) >= big, "usable size after the move");
				free(q);
			} else {
				free_foreign(p);
			}
		}
	}
}

/* The same library without RTLD_DEEPBIND binds to the shim: pointers go
 * both ways, and the library may free the program's. */
static void check_plain_library(void)
{
	struct helper lib = load_helper(RTLD_NOW | RTLD_LOCAL);
	void *shim_malloc = dlsym(RTLD_DEFAULT, "malloc");
	CHECK(lib.malloc_address() == shim_malloc, "without RTLD_DEEPBIND the library's malloc is not the shim's");
	CHECK(lib.self_test() == 0, "the library's own allocations (bound to the shim) failed");
	static const size_t sizes[] = {10, 5000, 2 * MiB};
	for (size_t i = 0; i < 3; i++) {
		void *mine = malloc(sizes[i]);
		CHECK(mine != NULL, "malloc");
		shim_test_fill(mine, sizes[i], 31 + i);
		CHECK(lib.checksum(mine, sizes[i]) == checksum(mine, sizes[i]), "library read");
		mine = lib.realloc(mine, sizes[i] * 2);
		CHECK(mine != NULL, "library realloc of the program's block");
		CHECK_PATTERN(mine, sizes[i], 31 + i);
		lib.free(mine);
		void *theirs = lib.malloc(sizes[i]);
		CHECK(theirs != NULL, "library malloc");
		shim_test_fill(theirs, sizes[i], 41 + i);
		theirs = realloc(theirs, sizes[i] + 1);
		CHECK(theirs != NULL, "realloc");
		CHECK_PATTERN(theirs, sizes[i], 41 + i);
		free(theirs);
	}
	dlclose(lib.handle);
}

int main(int argc, char **argv)
{
	(void)argc;
	static const char *const env[] = {"AMLSHIM_POLICY=interleave", "AMLSHIM_THRESHOLD=1M", NULL};
	shim_test_start(argv, env);

	long foreign_before = shim_test_report_counter("foreign_frees");
	void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
	CHECK(libc != NULL, "libc.so.6 is not loaded?");
	void *glibc_malloc = dlsym(libc, "malloc"), *glibc_free = dlsym(libc, "free");
	void *shim_malloc = dlsym(RTLD_DEFAULT, "malloc");
	CHECK(glibc_malloc != shim_malloc, "dlsym(libc, malloc) is the shim's");

	/* Through the program's dlopen, RTLD_DEEPBIND is kept but the library's
	 * malloc family is bound to the shim, so its frees of what libc
	 * allocated work. */
	struct helper bound = load_helper(RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
	CHECK(bound.malloc_address() == shim_malloc,
	      "dlopen(RTLD_DEEPBIND): the library's malloc is %p, not the shim's %p", bound.malloc_address(),
	      shim_malloc);
	char *copy = strdup("allocated by libc, freed by the library");
	CHECK(copy && bound.checksum(copy, strlen(copy)) == checksum(copy, strlen(copy)), "strdup");
	free(copy);

	/* glibc's own dlopen keeps RTLD_DEEPBIND: that library's malloc is
	 * glibc's, and its pointers reach the shim as foreign ones. */
	use_glibc_dlopen = 1;
	struct helper deep = load_helper(RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
	CHECK(deep.malloc_address() == glibc_malloc,
	      "the RTLD_DEEPBIND library's malloc is %p, not glibc's %p (shim's: %p)", deep.malloc_address(),
	      glibc_malloc, shim_malloc);
	CHECK(deep.free_address() == glibc_free, "the RTLD_DEEPBIND library's free is not glibc's");

	/* The library allocates and frees its own memory. */
	CHECK(deep.self_test() == 0, "the RTLD_DEEPBIND library's own allocations failed");

	/* The program's memory, read by the library. */
	static const size_t mine_sizes[] = {16, 3000, 200 * KiB, 8 * MiB};
	for (size_t i = 0; i < 4; i++) {
		void *mine = malloc(mine_sizes[i]);
		CHECK(mine != NULL, "malloc");
		shim_test_fill(mine, mine_sizes[i], 7 + i);
		CHECK(deep.checksum(mine, mine_sizes[i]) == checksum(mine, mine_sizes[i]),
		      "the library read the program's %zu bytes differently", mine_sizes[i]);
		free(mine);
	}

	check_glibc_pointers(&deep);
	long foreign_after = shim_test_report_counter("foreign_frees");
	CHECK(foreign_after - foreign_before >= (long)foreign_frees_expected,
	      "foreign_frees grew by %ld, the test freed %lu glibc pointers", foreign_after - foreign_before,
	      foreign_frees_expected);

	check_plain_library();
	printf("foreign: %lu glibc pointers freed through the shim (foreign_frees +%ld): ok\n",
	       foreign_frees_expected, foreign_after - foreign_before);
	return 0;
}
