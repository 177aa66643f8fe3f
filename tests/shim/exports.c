/* libamlshim.so exports the malloc and mmap families and its own API, and
 * nothing else: no jemalloc name (renamed or not), no internal symbol of
 * the shim, the policy parser or libaml. Checked two ways: every defined
 * dynamic symbol of the file (its .dynsym, parsed here, so the check needs
 * no binutils and runs in the test VM too) must be on the list, and dlsym
 * on the loaded shim must find each listed name and none of jemalloc's. */
#include <elf.h>
#include <sys/stat.h>

#include "shim_test.h"

static const char *const allowed[] = {
	"malloc", "calloc", "realloc", "reallocarray", "free", "posix_memalign", "aligned_alloc",
	"memalign", "valloc", "pvalloc", "malloc_usable_size", "malloc_trim", "mallopt", "mallinfo", "mallinfo2",
	"malloc_stats", "malloc_info", "mmap", "mmap64", "munmap", "mremap", "dlopen",
	"amlshim_version", "amlshim_write_report", NULL,
};

/* Names that must not resolve in the shim: jemalloc's API under each of
 * its spellings, its configuration, and internal names of ours. */
static const char *const forbidden[] = {
	"mallocx", "rallocx", "xallocx", "sallocx", "dallocx", "sdallocx", "nallocx", "mallctl",
	"mallctlnametomib", "mallctlbymib", "malloc_stats_print", "malloc_message", "malloc_conf",
	"je_malloc", "je_mallocx", "je_mallctl", "je_free", "je_malloc_conf",
	"amlshim_je_malloc", "amlshim_je_mallocx", "amlshim_je_free", "amlshim_je_mallctl",
	"amlshim_je_sallocx", "amlshim_je_malloc_conf", "amlshim_je_os_mmap", "amlshim_je_os_munmap",
	"je_arena_malloc_hard", "je_tsd_tls", "tsd_tls", "opt_narenas",
	"shim_process", "shim_front", "shim_start", "shim_small_malloc", "shim_registry_lookup",
	"shim_route_table", "amlshim_policy_parse", "amlshim_parse_size", "aml_area_linux", "aml_area_mmap",
	"aml_errno", "_Znwm", "_ZdlPv", "__libc_malloc", NULL,
};

static int listed(const char *name, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(name, *list) == 0)
			return 1;
	return 0;
}

/* Parses the file's dynamic symbol table; fails on any exported name that
 * is not allowed. Returns how many allowed names were found. */
static int check_dynsym(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0, "open %s: %s", path, strerror(errno));
	struct stat st;
	CHECK(fstat(fd, &st) == 0, "fstat");
	const unsigned char *file = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	CHECK(file != MAP_FAILED, "mmap %s: %s", path, strerror(errno));
	close(fd);
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)file;
	CHECK(memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0 && eh->e_ident[EI_CLASS] == ELFCLASS64,
	      "%s is not a 64-bit ELF file", path);
	CHECK(eh->e_shoff && eh->e_shoff + (size_t)eh->e_shnum * sizeof(Elf64_Shdr) <= (size_t)st.st_size,
	      "%s: no section headers", path);
	const Elf64_Shdr *sh = (const Elf64_Shdr *)(file + eh->e_shoff);
	int found_allowed = 0, exported = 0, bad = 0, tables = 0;
	char seen[sizeof(allowed) / sizeof(allowed[0])] = {0};
	for (int i = 0; i < eh->e_shnum; i++) {
		if (sh[i].sh_type != SHT_DYNSYM)
			continue;
		tables++;
		CHECK(sh[i].sh_link < eh->e_shnum, "bad dynsym link");
		const char *strtab = (const char *)(file + sh[sh[i].sh_link].sh_offset);
		const Elf64_Sym *syms = (const Elf64_Sym *)(file + sh[i].sh_offset);
		size_t count = sh[i].sh_size / sizeof(Elf64_Sym);
		for (size_t k = 1; k < count; k++) {
			const Elf64_Sym *sym = &syms[k];
			int bind = ELF64_ST_BIND(sym->st_info), type = ELF64_ST_TYPE(sym->st_info);
			const char *name = strtab + sym->st_name;
			if (sym->st_shndx == SHN_UNDEF) {
				/* Imports: a renamed jemalloc entry point left undefined
				 * would still mean jemalloc's name is in play. */
				CHECK(strncmp(name, "amlshim_je_", 11) != 0 && strncmp(name, "je_", 3) != 0,
				      "the shim imports %s", name);
				continue;
			}
			if (bind == STB_LOCAL || ELF64_ST_VISIBILITY(sym->st_other) == STV_HIDDEN ||
			    type == STT_SECTION || type == STT_FILE)
				continue;
			exported++;
			if (!listed(name, allowed)) {
				fprintf(stderr, "exported but not allowed: %s (bind %d, type %d)\n", name, bind, type);
				bad++;
				continue;
			}
			for (int a = 0; allowed[a]; a++)
				if (strcmp(name, allowed[a]) == 0 && !seen[a]) {
					seen[a] = 1;
					found_allowed++;
				}
		}
	}
	CHECK(tables == 1, "%s has %d dynamic symbol tables", path, tables);
	CHECK(bad == 0, "%s exports %d symbols that are not part of its interface (see above)", path, bad);
	for (int a = 0; allowed[a]; a++)
		CHECK(seen[a], "%s does not export %s", path, allowed[a]);
	printf("%s: %d exported symbols, all allowed\n", path, exported);
	munmap((void *)file, (size_t)st.st_size);
	return found_allowed;
}

int main(int argc, char **argv)
{
	(void)argc;
	static const char *const env[] = {NULL};
	shim_test_start(argv, env);

	char path[PATH_MAX];
	CHECK(shim_test_lib_path(path, sizeof(path)) == 0, "cannot tell where the loaded shim is");
	int found = check_dynsym(path);
	CHECK(found == (int)(sizeof(allowed) / sizeof(allowed[0])) - 1, "found %d of the allowed names", found);

	/* The loaded shim, by handle: every allowed name is its own. */
	void *shim = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
	CHECK(shim != NULL, "dlopen(%s, RTLD_NOLOAD): %s", path, dlerror());
	void *version = dlsym(shim, "amlshim_version");
	Dl_info self;
	CHECK(version && dladdr(version, &self), "amlshim_version");
	for (int a = 0; allowed[a]; a++) {
		void *sym = dlsym(shim, allowed[a]);
		Dl_info info;
		CHECK(sym != NULL, "dlsym(shim, %s) is NULL", allowed[a]);
		CHECK(dladdr(sym, &info) && info.dli_fbase == self.dli_fbase,
		      "dlsym(shim, %s) resolves to %s, not the shim", allowed[a], info.dli_fname);
		/* And the program's global lookup finds the shim's first. */
		CHECK(dlsym(RTLD_DEFAULT, allowed[a]) == sym, "dlsym(RTLD_DEFAULT, %s) is not the shim's", allowed[a]);
	}
	for (int f = 0; forbidden[f]; f++) {
		void *sym = dlsym(shim, forbidden[f]);
		Dl_info info;
		if (sym && dladdr(sym, &info) && info.dli_fbase != self.dli_fbase)
			continue; /* a dependency's (e.g. glibc's __libc_malloc), not ours */
		CHECK(sym == NULL, "the shim exports %s", forbidden[f]);
		sym = dlsym(RTLD_DEFAULT, forbidden[f]);
		CHECK(sym == NULL || !dladdr(sym, &info) || info.dli_fbase != self.dli_fbase,
		      "%s resolves into the shim from the program", forbidden[f]);
	}
	dlclose(shim);

	const char *(*get_version)(void);
	*(void **)&get_version = version;
	CHECK(strcmp(get_version(), AMLSHIM_VERSION) == 0, "amlshim_version() = %s, header says %s", get_version(),
	      AMLSHIM_VERSION);
	printf("exports: ok\n");
	return 0;
}
