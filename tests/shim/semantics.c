/* glibc's malloc semantics under the shim, for the small path, the large
 * path and glibc's own pointers: alignment, uniqueness, usable sizes,
 * zeroing, overflow and huge sizes (NULL/ENOMEM), bad alignments (EINVAL,
 * output untouched), errno kept by free, every power-of-two alignment from
 * 1 to 1 GiB through each aligned allocator.
 *
 * Runs three times: with AMLSHIM_POLICY=interleave AMLSHIM_THRESHOLD=64K
 * (large path from 64K), with a rule table (local/interleave/default), and
 * with no AMLSHIM_* variable (everything on the small path). */
#include <malloc.h>
#include <stddef.h>

#include "shim_test.h"

/* The huge sizes below are the point. */
#pragma GCC diagnostic ignored "-Walloc-size-larger-than="

extern void *__libc_malloc(size_t size);

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)
#define GiB ((size_t)1 << 30)

static const char *mode = "interleave";

static int aligned_to(const void *p, size_t alignment)
{
	return ((uintptr_t)p & (alignment - 1)) == 0;
}

/* Writes every usable byte (a usable size that is too large faults or
 * corrupts a neighbour) and checks the pattern back. Past 64 MiB of slack
 * (huge alignments) only the requested bytes and the last page are written. */
static void write_usable(void *p, size_t size, uint64_t seed)
{
	size_t usable = malloc_usable_size(p);
	CHECK(usable >= size, "[%s] malloc_usable_size(%p) = %zu < %zu", mode, p, usable, size);
	size_t whole = usable - size > 64 * MiB ? size : usable;
	shim_test_fill(p, whole, seed);
	if (whole < usable) {
		size_t tail = usable - whole < 4096 ? usable - whole : 4096;
		shim_test_fill_range(p, usable - tail, usable, seed);
		CHECK(shim_test_verify_range(p, usable - tail, usable, seed) < 0, "[%s] last page of %p", mode, p);
	}
	CHECK_PATTERN(p, whole, seed);
}

static int all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;
	size_t i = 0;
	for (; i < n && ((uintptr_t)(b + i) & 7); i++)
		if (b[i])
			return 0;
	for (; i + 8 <= n; i += 8)
		if (*(const uint64_t *)(b + i))
			return 0;
	for (; i < n; i++)
		if (b[i])
			return 0;
	return 1;
}

static void check_malloc_zero(void)
{
	void *a = malloc(0), *b = malloc(0);
	CHECK(a && b, "[%s] malloc(0) returned NULL", mode);
	CHECK(a != b, "[%s] malloc(0) twice returned the same pointer %p", mode, a);
	CHECK(aligned_to(a, 16) && aligned_to(b, 16), "[%s] malloc(0) not 16-byte aligned", mode);
	write_usable(a, 0, 1);
	free(a);
	free(b);
	void *r = realloc(NULL, 0);
	CHECK(r != NULL, "[%s] realloc(NULL, 0) returned NULL", mode);
	free(r);
}

/* Every size 1..4096, all live at once: aligned, usable, no overlap. */
static void check_small_sizes(void)
{
	enum { COUNT = 4096 };
	static void *ptrs[COUNT + 1];
	for (size_t n = 1; n <= COUNT; n++) {
		ptrs[n] = malloc(n);
		CHECK(ptrs[n] != NULL, "[%s] malloc(%zu) failed", mode, n);
		CHECK(aligned_to(ptrs[n], 16), "[%s] malloc(%zu) = %p is not 16-byte aligned", mode, n, ptrs[n]);
		CHECK(malloc_usable_size(ptrs[n]) >= n, "[%s] usable size of malloc(%zu) is %zu", mode, n,
		      malloc_usable_size(ptrs[n]));
		shim_test_fill(ptrs[n], n, n);
	}
	for (size_t n = 1; n <= COUNT; n++) {
		CHECK_PATTERN(ptrs[n], n, n);
		free(ptrs[n]);
	}
}

/* Sizes from 4 KiB to 64 MiB, neither round nor page multiples. */
static void check_spread(void)
{
	int k = 0;
	for (double d = 4096; d <= 64.0 * MiB; d *= 1.61, k++) {
		size_t n = (size_t)d + (size_t)(k * 7 % 61);
		void *p = malloc(n);
		CHECK(p != NULL, "[%s] malloc(%zu) failed", mode, n);
		CHECK(aligned_to(p, 16), "[%s] malloc(%zu) = %p is not 16-byte aligned", mode, n, p);
		write_usable(p, n, n);
		free(p);
		char *z = calloc(1, n);
		CHECK(z != NULL, "[%s] calloc(1, %zu) failed", mode, n);
		CHECK(aligned_to(z, 16), "[%s] calloc(1, %zu) = %p is not 16-byte aligned", mode, n, (void *)z);
		CHECK(all_zero(z, n), "[%s] calloc(1, %zu) is not zeroed", mode, n);
		free(z);
	}
}

/* A freed block comes back from calloc zeroed, whatever it held. */
static void check_calloc_reuse(void)
{
	static const size_t sizes[] = {100, 3000, 5000, 200 * KiB, 3 * MiB, 3 * MiB + 1234, 17 * MiB};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];
		for (int round = 0; round < 3; round++) {
			unsigned char *p = malloc(n);
			CHECK(p != NULL, "[%s] malloc(%zu)", mode, n);
			memset(p, 0xa5, malloc_usable_size(p));
			free(p);
			unsigned char *z = round == 1 ? calloc(n / 8 + 1, 8) : calloc(1, n);
			CHECK(z != NULL, "[%s] calloc for %zu", mode, n);
			CHECK(all_zero(z, n), "[%s] calloc(%zu) after a free is not zeroed", mode, n);
			free(z);
		}
	}
	/* A larger cached block reused for a smaller calloc. */
	unsigned char *big = malloc(4 * MiB);
	CHECK(big != NULL, "malloc 4M");
	memset(big, 0x5a, 4 * MiB);
	free(big);
	size_t n = 3 * MiB + MiB / 2;
	unsigned char *z = calloc(1, n);
	CHECK(z != NULL, "calloc 3.5M");
	CHECK(all_zero(z, n), "[%s] calloc(%zu) reusing a 4M block is not zeroed", mode, n);
	write_usable(z, n, 77);
	free(z);
}

#define CHECK_ENOMEM(expr)                                                                            \
	do {                                                                                          \
		errno = 0;                                                                            \
		void *r_ = (expr);                                                                    \
		int e_ = errno;                                                                       \
		CHECK(r_ == NULL, "[%s] %s returned %p, expected NULL", mode, #expr, r_);             \
		CHECK(e_ == ENOMEM, "[%s] %s: errno %d (%s), expected ENOMEM", mode, #expr, e_, strerror(e_)); \
	} while (0)

#define CHECK_EINVAL(expr)                                                                            \
	do {                                                                                          \
		errno = 0;                                                                            \
		void *r_ = (expr);                                                                    \
		int e_ = errno;                                                                       \
		CHECK(r_ == NULL, "[%s] %s returned %p, expected NULL", mode, #expr, r_);             \
		CHECK(e_ == EINVAL, "[%s] %s: errno %d (%s), expected EINVAL", mode, #expr, e_, strerror(e_)); \
	} while (0)

static void check_huge_sizes(void)
{
	CHECK_ENOMEM(calloc(SIZE_MAX / 2 + 1, 3));
	CHECK_ENOMEM(calloc(SIZE_MAX, SIZE_MAX));
	CHECK_ENOMEM(calloc((size_t)1 << 32, (size_t)1 << 32));
	CHECK_ENOMEM(calloc(1, SIZE_MAX));
	CHECK_ENOMEM(malloc(SIZE_MAX));
	CHECK_ENOMEM(malloc(SIZE_MAX - 4095));
	CHECK_ENOMEM(malloc(PTRDIFF_MAX));
	CHECK_ENOMEM(malloc((size_t)PTRDIFF_MAX + 1));
	CHECK_ENOMEM(reallocarray(NULL, SIZE_MAX / 2 + 1, 3));
	CHECK_ENOMEM(aligned_alloc(64, SIZE_MAX));
	CHECK_ENOMEM(aligned_alloc(4096, SIZE_MAX - 8192));
	CHECK_ENOMEM(memalign(4096, SIZE_MAX - 100));
	CHECK_ENOMEM(memalign((size_t)1 << 62, 16));
	CHECK_ENOMEM(valloc(SIZE_MAX));
	CHECK_ENOMEM(pvalloc(SIZE_MAX));
	CHECK_ENOMEM(pvalloc(SIZE_MAX - 4096));

	void *out = (void *)0x1234;
	CHECK(posix_memalign(&out, 64, SIZE_MAX) == ENOMEM, "[%s] posix_memalign(64, SIZE_MAX)", mode);
	CHECK(out == (void *)0x1234, "[%s] posix_memalign changed *memptr on failure", mode);
	CHECK(posix_memalign(&out, (size_t)1 << 62, 16) == ENOMEM, "[%s] posix_memalign(2^62, 16)", mode);
	CHECK(out == (void *)0x1234, "[%s] posix_memalign changed *memptr on failure", mode);

	/* A failed realloc leaves the block as it was. */
	static const size_t sizes[] = {100, 300 * KiB, 5 * MiB};
	for (size_t i = 0; i < 3; i++) {
		void *p = malloc(sizes[i]);
		CHECK(p != NULL, "malloc");
		shim_test_fill(p, sizes[i], 99);
		CHECK_ENOMEM(realloc(p, SIZE_MAX));
		CHECK_ENOMEM(realloc(p, SIZE_MAX - 4096 * 3));
		CHECK_ENOMEM(reallocarray(p, 2, SIZE_MAX / 2 + 1));
		CHECK_PATTERN(p, sizes[i], 99);
		free(p);
	}
}

static void check_realloc_edges(void)
{
	static const size_t sizes[] = {1, 100, 4096, 100 * KiB, 3 * MiB};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		void *p = realloc(NULL, sizes[i]);
		CHECK(p != NULL, "[%s] realloc(NULL, %zu)", mode, sizes[i]);
		CHECK(aligned_to(p, 16), "[%s] realloc(NULL, %zu) misaligned", mode, sizes[i]);
		shim_test_fill(p, sizes[i], 5);
		/* glibc: realloc(p, 0) frees p and returns NULL. */
		CHECK(realloc(p, 0) == NULL, "[%s] realloc(p, 0) of %zu bytes did not return NULL", mode, sizes[i]);
		void *q = reallocarray(NULL, 3, sizes[i]);
		CHECK(q != NULL, "[%s] reallocarray(NULL, 3, %zu)", mode, sizes[i]);
		shim_test_fill(q, 3 * sizes[i], 6);
		q = reallocarray(q, 2, sizes[i]);
		CHECK(q != NULL, "reallocarray shrink");
		CHECK_PATTERN(q, 2 * sizes[i], 6);
		free(q);
	}
}

static void check_free_errno(void)
{
	errno = 1234;
	free(NULL);
	CHECK(errno == 1234, "[%s] free(NULL) changed errno to %d", mode, errno);
	static const size_t sizes[] = {16, 5000, 200 * KiB, 3 * MiB, GiB + 64 * KiB};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		void *p = malloc(sizes[i]);
		CHECK(p != NULL, "[%s] malloc(%zu)", mode, sizes[i]);
		((char *)p)[0] = 1;
		errno = 1234;
		free(p);
		CHECK(errno == 1234, "[%s] free of %zu bytes changed errno to %d", mode, sizes[i], errno);
	}
	/* More large blocks than the per-area cache keeps: frees that unmap. */
	void *many[24];
	for (int i = 0; i < 24; i++) {
		many[i] = malloc(MiB + (size_t)i * 64 * KiB);
		CHECK(many[i] != NULL, "malloc");
	}
	for (int i = 0; i < 24; i++) {
		errno = 4321;
		free(many[i]);
		CHECK(errno == 4321, "[%s] free of large block %d changed errno to %d", mode, i, errno);
	}
	/* glibc's own pointers. */
	static const size_t foreign[] = {24, 5000, 300 * KiB};
	for (size_t i = 0; i < 3; i++) {
		void *p = __libc_malloc(foreign[i]);
		CHECK(p != NULL, "__libc_malloc");
		errno = 777;
		free(p);
		CHECK(errno == 777, "[%s] free of a glibc pointer changed errno to %d", mode, errno);
	}
}

static void check_bad_alignments(void)
{
	static const size_t bad[] = {0, 1, 2, 3, 4, sizeof(void *) / 2, 12, 24, 48, 100, 4095, 4097,
	                             (1 << 20) + 8, SIZE_MAX, SIZE_MAX / 2 + 2};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		void *out = (void *)0x5678;
		errno = 55;
		int ret = posix_memalign(&out, bad[i], 64);
		CHECK(ret == EINVAL, "[%s] posix_memalign(alignment %zu) returned %d, expected EINVAL", mode, bad[i],
		      ret);
		CHECK(out == (void *)0x5678, "[%s] posix_memalign(alignment %zu) changed *memptr", mode, bad[i]);
		CHECK(errno == 55, "[%s] posix_memalign(alignment %zu) changed errno", mode, bad[i]);
	}
	static const size_t not_pow2[] = {3, 12, 24, 48, 100, 4095, 4097, (1 << 20) + 8, SIZE_MAX};
	for (size_t i = 0; i < sizeof(not_pow2) / sizeof(not_pow2[0]); i++) {
		size_t a = not_pow2[i];
		CHECK_EINVAL(aligned_alloc(a, 64));
	}
	CHECK_EINVAL(memalign(SIZE_MAX / 2 + 2, 16));
	CHECK_EINVAL(memalign(SIZE_MAX, 16));

	/* memalign rounds a non-power-of-two alignment up, like glibc. */
	static const size_t round_up[][2] = {{24, 32}, {48, 64}, {100, 128}, {4095, 4096}, {5000, 8192},
	                                     {(1 << 20) + 8, 2 << 20}};
	for (size_t i = 0; i < sizeof(round_up) / sizeof(round_up[0]); i++) {
		for (size_t size = 10; size < 8 * MiB; size *= 29) {
			void *p = memalign(round_up[i][0], size);
			CHECK(p != NULL, "[%s] memalign(%zu, %zu)", mode, round_up[i][0], size);
			CHECK(aligned_to(p, round_up[i][1]), "[%s] memalign(%zu, %zu) = %p is not %zu-aligned", mode,
			      round_up[i][0], size, p, round_up[i][1]);
			write_usable(p, size, 3);
			free(p);
		}
	}
	void *p = memalign(0, 100);
	CHECK(p && aligned_to(p, 16), "[%s] memalign(0, 100)", mode);
	free(p);
}

static void check_page_allocators(void)
{
	static const size_t sizes[] = {0, 1, 100, 4096, 4097, 100 * KiB, 3 * MiB + 5};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		void *v = valloc(sizes[i]);
		CHECK(v != NULL && aligned_to(v, 4096), "[%s] valloc(%zu) = %p", mode, sizes[i], v);
		write_usable(v, sizes[i], 8);
		free(v);
		void *p = pvalloc(sizes[i]);
		size_t whole = sizes[i] ? (sizes[i] + 4095) & ~(size_t)4095 : 4096;
		CHECK(p != NULL && aligned_to(p, 4096), "[%s] pvalloc(%zu) = %p", mode, sizes[i], p);
		CHECK(malloc_usable_size(p) >= whole, "[%s] pvalloc(%zu): usable %zu < %zu", mode, sizes[i],
		      malloc_usable_size(p), whole);
		write_usable(p, whole, 9);
		free(p);
	}
}

/* Every power of two from 1 to 1 GiB through posix_memalign (from
 * sizeof(void *)), aligned_alloc and memalign, small and large sizes. */
static void check_alignments(void)
{
	static const size_t sizes[] = {1, 4000, 3 * MiB + 8};
	for (size_t alignment = 1; alignment <= GiB; alignment <<= 1) {
		for (size_t s = 0; s < 3; s++) {
			size_t size = sizes[s];
			for (int how = 0; how < 3; how++) {
				void *p = NULL;
				const char *name = how == 0 ? "posix_memalign" : how == 1 ? "aligned_alloc" : "memalign";
				if (how == 0) {
					if (alignment < sizeof(void *))
						continue;
					errno = 66;
					int ret = posix_memalign(&p, alignment, size);
					CHECK(ret == 0, "[%s] posix_memalign(%zu, %zu) returned %d", mode, alignment, size, ret);
					CHECK(errno == 66, "[%s] posix_memalign changed errno on success", mode);
				} else if (how == 1) {
					p = aligned_alloc(alignment, size);
				} else {
					p = memalign(alignment, size);
				}
				CHECK(p != NULL, "[%s] %s(%zu, %zu) failed: %s", mode, name, alignment, size, strerror(errno));
				size_t want = alignment < 16 ? 16 : alignment;
				CHECK(aligned_to(p, want), "[%s] %s(%zu, %zu) = %p is not %zu-aligned", mode, name, alignment,
				      size, p, want);
				write_usable(p, size, alignment ^ size);
				free(p);
			}
		}
	}
}

/* Several live aligned blocks keep their contents (no overlap). */
static void check_aligned_neighbours(void)
{
	enum { COUNT = 64 };
	void *ptrs[COUNT];
	size_t sizes[COUNT];
	for (int i = 0; i < COUNT; i++) {
		size_t alignment = (size_t)16 << (i % 12);
		sizes[i] = (i % 3 == 0) ? 70 * KiB + (size_t)i : (size_t)(i * 37 + 1);
		CHECK(posix_memalign(&ptrs[i], alignment, sizes[i]) == 0, "posix_memalign");
		shim_test_fill(ptrs[i], malloc_usable_size(ptrs[i]), (uint64_t)i);
	}
	for (int i = 0; i < COUNT; i++) {
		CHECK_PATTERN(ptrs[i], malloc_usable_size(ptrs[i]), (uint64_t)i);
		free(ptrs[i]);
	}
}

static void check_usable_null(void)
{
	CHECK(malloc_usable_size(NULL) == 0, "[%s] malloc_usable_size(NULL) != 0", mode);
	void *p = __libc_malloc(1000);
	CHECK(malloc_usable_size(p) >= 1000, "[%s] usable size of a glibc pointer: %zu", mode,
	      malloc_usable_size(p));
	free(p);
}

static void run_all(void)
{
	check_malloc_zero();
	check_small_sizes();
	check_spread();
	check_calloc_reuse();
	check_huge_sizes();
	check_realloc_edges();
	check_free_errno();
	check_bad_alignments();
	check_page_allocators();
	check_alignments();
	check_aligned_neighbours();
	check_usable_null();
	printf("semantics [%s]: ok\n", mode);
}

int main(int argc, char **argv)
{
	static const char *const interleave_env[] = {"AMLSHIM_POLICY=interleave", "AMLSHIM_THRESHOLD=64K", NULL};
	static const char *const rules_env[] = {"AMLSHIM_RULES=0-64K=local;64K-1G=interleave;1G-=default", NULL};
	static const char *const plain_env[] = {NULL};
	if (argc > 1 && strcmp(argv[1], "rules") == 0) {
		shim_test_start(argv, rules_env);
		mode = "rules";
		run_all();
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "plain") == 0) {
		shim_test_start(argv, plain_env);
		mode = "plain";
		run_all();
		return 0;
	}
	shim_test_start(argv, interleave_env);
	run_all();
	static const char *const modes[] = {"rules", "plain"};
	static const char *const *envs[] = {rules_env, plain_env};
	for (int i = 0; i < 2; i++) {
		char *args[] = {argv[0], (char *)modes[i], NULL};
		int status = shim_test_spawn(args, envs[i], 300, NULL);
		CHECK(status == 0, "mode %s exited with %d", modes[i], status);
	}
	return 0;
}
