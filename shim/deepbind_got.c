/* RTLD_DEEPBIND kept, the malloc family rebound. A library opened with
 * DEEPBIND looks symbols up in its own scope (itself and its dependencies)
 * before the global one, so its calls to helpers it bundles reach its own
 * copies, but its malloc family reaches glibc's while libc's own strdup or
 * getline allocate through the shim: glibc's free would then get our
 * pointer and abort. After glibc's dlopen has relocated the objects it
 * loaded, their GOT entries (and absolute data pointers) for the malloc
 * family that DEEPBIND bound to glibc are pointed at the global definitions
 * (ours), as they would be without the flag; every other symbol keeps the
 * DEEPBIND binding. A library whose own scope defines malloc (a bundled
 * allocator) keeps it. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dispatch.h"
#include "shim.h"

#if defined(__x86_64__) && defined(__LP64__)
#define R_SLOT R_X86_64_JUMP_SLOT
#define R_GOT R_X86_64_GLOB_DAT
#define R_ABS R_X86_64_64
#define NATIVE_MACHINE EM_X86_64
#elif defined(__aarch64__)
#define R_SLOT R_AARCH64_JUMP_SLOT
#define R_GOT R_AARCH64_GLOB_DAT
#define R_ABS R_AARCH64_ABS64
#define NATIVE_MACHINE EM_AARCH64
#endif

/* Serializes the rebinding (two threads may rebind one object: a page
 * made writable by one must not be made read-only under the other). */
static pthread_mutex_t rebind_lock = PTHREAD_MUTEX_INITIALIZER;

void shim_deepbind_after_fork_child(void)
{
	pthread_mutex_init(&rebind_lock, NULL);
}

#ifdef R_SLOT
const int shim_deepbind_supported = 1;

/* What gets rebound: everything that can allocate or free, and dlopen, so
 * that the library's own DEEPBIND opens come through here too. */
static const char *const family[] = {
	"malloc",        "calloc",   "realloc", "reallocarray", "free",  "posix_memalign",
	"aligned_alloc", "memalign", "valloc",  "pvalloc",      "malloc_usable_size", "dlopen",
};
#define FAMILY_COUNT (sizeof(family) / sizeof(family[0]))

static void *const own[FAMILY_COUNT] = {
	(void *)malloc,        (void *)calloc,   (void *)realloc, (void *)reallocarray, (void *)free,
	(void *)posix_memalign, (void *)aligned_alloc, (void *)memalign, (void *)valloc, (void *)pvalloc,
	(void *)malloc_usable_size, (void *)dlopen,
};

/* The global definitions: ours, or the functions of an allocator preloaded
 * in front of us (ours for what it lacks). */
static void *global_target(size_t i)
{
	if (!__atomic_load_n(&shim_front.forward, __ATOMIC_ACQUIRE))
		return own[i];
	void *found = shim_global_symbol(family[i]);
	return found ? found : own[i];
}

static const void *base_of(const void *addr)
{
	Dl_info info;
	return addr && dladdr(addr, &info) ? info.dli_fbase : NULL;
}

struct relro_search {
	uintptr_t load;
	uintptr_t lo, hi; /* the pages glibc made read-only after relocation */
	int found;
};

static int find_relro(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	struct relro_search *s = arg;
	if (info->dlpi_addr != s->load)
		return 0;
	s->found = 1;
	long page = sysconf(_SC_PAGESIZE);
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_GNU_RELRO)
			continue;
		/* As glibc: from the page of the start to the page of the end, exclusive. */
		uintptr_t start = s->load + ph->p_vaddr, end = start + ph->p_memsz;
		s->lo = start & ~(uintptr_t)(page - 1);
		s->hi = end & ~(uintptr_t)(page - 1);
	}
	return 1;
}

static int write_slot(void **slot, void *value, const struct relro_search *relro)
{
	uintptr_t at = (uintptr_t)slot;
	if (at >= relro->lo && at < relro->hi) {
		long page = sysconf(_SC_PAGESIZE);
		void *start = (void *)(at & ~(uintptr_t)(page - 1));
		if (aml_os_mprotect(start, (size_t)page, PROT_READ | PROT_WRITE) != 0)
			return -1;
		__atomic_store_n(slot, value, __ATOMIC_RELEASE);
		aml_os_mprotect(start, (size_t)page, PROT_READ);
		return 0;
	}
	__atomic_store_n(slot, value, __ATOMIC_RELEASE);
	return 0;
}

struct object_rebind {
	struct link_map *map;
	const ElfW(Sym) *symtab;
	const char *strtab;
	void *target[FAMILY_COUNT]; /* NULL: this name keeps its binding */
	struct relro_search relro;
	int rebound, failed;
};

/* glibc stores the dynamic section's addresses relocated (not on the
 * architectures whose dynamic section is read-only: add the base there). */
static uintptr_t dyn_address(const struct link_map *map, ElfW(Addr) value)
{
	return value < map->l_addr ? map->l_addr + value : value;
}

static void rebind_relocations(struct object_rebind *o, const ElfW(Rela) *rel, size_t bytes)
{
	for (size_t n = bytes / sizeof(*rel), k = 0; k < n; k++) {
		unsigned long type = ELF64_R_TYPE(rel[k].r_info), sym = ELF64_R_SYM(rel[k].r_info);
		if (sym == 0 || (type != R_SLOT && type != R_GOT && type != R_ABS))
			continue;
		if (type == R_ABS && rel[k].r_addend != 0)
			continue;
		const char *name = o->strtab + o->symtab[sym].st_name;
		for (size_t i = 0; i < FAMILY_COUNT; i++) {
			if (!o->target[i] || strcmp(name, family[i]) != 0)
				continue;
			void **slot = (void **)(o->map->l_addr + rel[k].r_offset);
			/* A lazy PLT slot holds its stub: it would resolve to glibc's. */
			if (*slot != o->target[i]) {
				if (write_slot(slot, o->target[i], &o->relro) == 0)
					o->rebound++;
				else
					o->failed++;
			}
			break;
		}
	}
}

static void rebind_object(struct object_rebind *o)
{
	const ElfW(Rela) *rela = NULL, *jmprel = NULL;
	size_t rela_bytes = 0, jmprel_bytes = 0;
	long pltrel = DT_RELA;
	o->symtab = NULL;
	o->strtab = NULL;
	for (const ElfW(Dyn) *d = o->map->l_ld; d && d->d_tag != DT_NULL; d++) {
		switch (d->d_tag) {
		case DT_SYMTAB: o->symtab = (const ElfW(Sym) *)dyn_address(o->map, d->d_un.d_ptr); break;
		case DT_STRTAB: o->strtab = (const char *)dyn_address(o->map, d->d_un.d_ptr); break;
		case DT_RELA: rela = (const ElfW(Rela) *)dyn_address(o->map, d->d_un.d_ptr); break;
		case DT_RELASZ: rela_bytes = d->d_un.d_val; break;
		case DT_JMPREL: jmprel = (const ElfW(Rela) *)dyn_address(o->map, d->d_un.d_ptr); break;
		case DT_PLTRELSZ: jmprel_bytes = d->d_un.d_val; break;
		case DT_PLTREL: pltrel = (long)d->d_un.d_val; break;
		default: break;
		}
	}
	if (!o->symtab || !o->strtab)
		return;
	o->relro = (struct relro_search){.load = o->map->l_addr};
	dl_iterate_phdr(find_relro, &o->relro);
	if (rela)
		rebind_relocations(o, rela, rela_bytes);
	if (jmprel && pltrel == DT_RELA)
		rebind_relocations(o, jmprel, jmprel_bytes);
}

/* Rebinds the objects from first on (those this dlopen loaded) where the
 * library's own scope (handle) binds a family member to glibc. Returns the
 * references rebound; *failed counts those that could not be written,
 * *kept the family members the library's scope defines itself. */
static int rebind_loaded(void *handle, struct link_map *first, int *failed, int *kept)
{
	void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
	const void *libc_base = libc ? base_of(dlsym(libc, "malloc")) : NULL;
	if (libc)
		dlclose(libc);
	struct object_rebind o;
	memset(&o, 0, sizeof(o));
	*failed = *kept = 0;
	int any = 0;
	for (size_t i = 0; i < FAMILY_COUNT; i++) {
		void *local = dlsym(handle, family[i]);
		void *target = global_target(i);
		if (!local || local == target)
			continue;
		if (base_of(local) != libc_base) {
			(*kept)++; /* the library brings its own: DEEPBIND is for that */
			continue;
		}
		o.target[i] = target;
		any = 1;
	}
	(void)dlerror(); /* a name the scope lacks is no error of the caller's */
	if (!any)
		return 0;
	pthread_mutex_lock(&rebind_lock);
	for (struct link_map *map = first; map; map = map->l_next) {
		o.map = map;
		rebind_object(&o);
	}
	pthread_mutex_unlock(&rebind_lock);
	*failed = o.failed;
	return o.rebound;
}

/* ---- finding the file as the caller would ---- */

static int is_native_elf(const char *path)
{
	char head[sizeof(ElfW(Ehdr)) + 1]; /* the reader terminates it */
	ElfW(Ehdr) ehdr;
	if (aml_os_read_file(path, head, sizeof(head)) != (ssize_t)sizeof(ehdr))
		return 0;
	memcpy(&ehdr, head, sizeof(ehdr));
	return memcmp(ehdr.e_ident, ELFMAG, SELFMAG) == 0 &&
	       ehdr.e_ident[EI_CLASS] == (sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32) &&
	       ehdr.e_machine == NATIVE_MACHINE;
}

static Dl_serinfo *search_path_of(void *map)
{
	Dl_serinfo size;
	if (dlinfo(map, RTLD_DI_SERINFOSIZE, &size) != 0)
		return NULL;
	Dl_serinfo *info = shim_malloc(size.dls_size);
	if (!info)
		return NULL;
	memcpy(info, &size, sizeof(size));
	if (dlinfo(map, RTLD_DI_SERINFO, info) != 0) {
		shim_free(info);
		return NULL;
	}
	return info;
}

/* A name without '/' is searched in the caller's RPATH and RUNPATH: our
 * call to glibc's dlopen is not a tail call (the rebinding follows it), so
 * glibc would search ours. The directories the caller searches before
 * ld.so.cache (its search path less the trailing default directories,
 * which ours ends with too) are tried here; the first native ELF file
 * found is opened by its path, else the name goes to glibc as it is. */
static const char *resolve_for_caller(const char *file, const void *caller, char *buf, size_t len)
{
	Dl_info info;
	struct link_map *caller_map = NULL, *own_map = NULL;
	if (!dladdr1(caller, &info, (void **)&caller_map, RTLD_DL_LINKMAP) || !caller_map ||
	    !dladdr1((const void *)resolve_for_caller, &info, (void **)&own_map, RTLD_DL_LINKMAP) || !own_map)
		return file;
	Dl_serinfo *theirs = search_path_of(caller_map), *ours = search_path_of(own_map);
	const char *found = file;
	if (theirs && ours) {
		unsigned int n = theirs->dls_cnt, m = ours->dls_cnt;
		while (n > 0 && m > 0 &&
		       strcmp(theirs->dls_serpath[n - 1].dls_name, ours->dls_serpath[m - 1].dls_name) == 0)
			n--, m--;
		for (unsigned int i = 0; i < n && found == file; i++) {
			const char *dir = theirs->dls_serpath[i].dls_name;
			size_t dlen = strlen(dir), flen = strlen(file);
			if (dlen + 1 + flen + 1 > len)
				continue;
			memcpy(buf, dir, dlen);
			buf[dlen] = '/';
			memcpy(buf + dlen + 1, file, flen + 1);
			if (is_native_elf(buf))
				found = buf;
		}
	}
	shim_free(theirs);
	shim_free(ours);
	return found;
}

void *shim_deepbind_open(void *(*next)(const char *, int), const char *file, int flags, const void *caller)
{
	/* Already loaded: nothing new to bind (glibc matches names first). */
	void *loaded = next(file, RTLD_LAZY | RTLD_NOLOAD);
	if (loaded) {
		dlclose(loaded);
		return next(file, flags);
	}
	(void)dlerror();
	char path[4096];
	const char *name = strchr(file, '/') ? file : resolve_for_caller(file, caller, path, sizeof(path));
	void *handle = next(name, flags);
	struct link_map *map = NULL;
	if (!handle || dlinfo(handle, RTLD_DI_LINKMAP, &map) != 0 || !map)
		return handle;
	int failed, kept;
	int rebound = rebind_loaded(handle, map, &failed, &kept);
	if (failed)
		shim_log(AMLSHIM_LOG_WARN, "RTLD_DEEPBIND library %s: %d malloc-family references could not be "
		         "bound to libamlshim.so; its frees of memory libc allocated for it may abort "
		         "(AMLSHIM_DEEPBIND=drop avoids this)", map->l_name, failed);
	shim_log(AMLSHIM_LOG_INFO, "RTLD_DEEPBIND kept for %s: %d malloc-family references bound to "
	         "libamlshim.so%s (AMLSHIM_DEEPBIND=keep)", map->l_name, rebound,
	         kept ? ", its own allocator kept" : "");
	return handle;
}
#else
/* No relocation types known here: the dlopen wrapper drops the flag. */
const int shim_deepbind_supported = 0;

void *shim_deepbind_open(void *(*next)(const char *, int), const char *file, int flags, const void *caller)
{
	(void)caller;
	return next(file, flags);
}
#endif
