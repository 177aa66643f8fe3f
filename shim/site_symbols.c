/* Function names of the site rules (func=NAME, func=A>B) to address
 * ranges: each module's ELF file is mapped read-only and its .symtab (or,
 * stripped, its .dynsym) searched for functions of those names. Nothing
 * here allocates. */
#define _GNU_SOURCE
#include <elf.h>
#include <link.h>
#include <string.h>
#include <sys/mman.h>

#include "os.h"
#include "site_modules.h"

#define MAX_NAMES 64
#define MAX_RANGES 1024

static char names[MAX_NAMES][AMLSHIM_SITE_NAME_MAX];
static int num_names;
static struct {
	uintptr_t lo, hi;
	int name;
} ranges[MAX_RANGES];
static int num_ranges;

int shim_site_name_index(const char *name)
{
	for (int i = 0; i < num_names; i++)
		if (strcmp(names[i], name) == 0)
			return i;
	if (num_names == MAX_NAMES)
		return -1;
	memcpy(names[num_names], name, strlen(name) + 1);
	return num_names++;
}

/* The rules' name a symbol stands for: itself, or the function GCC cloned
 * it from ("hot.constprop.0", "hot.cold", "hot.part.0" are hot's). */
static int wanted(const char *name)
{
	for (int i = 0; i < num_names; i++) {
		size_t n = strlen(names[i]);
		if (strncmp(names[i], name, n) == 0 && (name[n] == '\0' || name[n] == '.'))
			return i;
	}
	return -1;
}

/* The symbols of one section (SHT_SYMTAB or SHT_DYNSYM) into ranges. */
static int scan_table(const char *file, size_t size, const ElfW(Shdr) *sections, int count, unsigned type,
                      uintptr_t bias)
{
	int found = 0;
	for (int s = 0; s < count; s++) {
		const ElfW(Shdr) *sh = &sections[s];
		if (sh->sh_type != type || sh->sh_link >= (unsigned)count || sh->sh_entsize != sizeof(ElfW(Sym)) ||
		    sh->sh_offset > size || sh->sh_size > size - sh->sh_offset)
			continue;
		const ElfW(Shdr) *strtab = &sections[sh->sh_link];
		if (strtab->sh_offset > size || strtab->sh_size > size - strtab->sh_offset)
			continue;
		const ElfW(Sym) *syms = (const ElfW(Sym) *)(file + sh->sh_offset);
		const char *strs = file + strtab->sh_offset;
		for (size_t i = 0; i < sh->sh_size / sizeof(ElfW(Sym)); i++) {
			unsigned kind = ELF64_ST_TYPE(syms[i].st_info);
			if ((kind != STT_FUNC && kind != STT_GNU_IFUNC) || !syms[i].st_value || syms[i].st_name >= strtab->sh_size)
				continue;
			const char *name = strs + syms[i].st_name;
			if (!memchr(name, '\0', strtab->sh_size - syms[i].st_name))
				continue;
			int index = wanted(name);
			if (index < 0 || num_ranges == MAX_RANGES)
				continue;
			ranges[num_ranges].lo = bias + syms[i].st_value;
			ranges[num_ranges].hi = bias + syms[i].st_value + (syms[i].st_size ? syms[i].st_size : 1);
			ranges[num_ranges].name = index;
			__atomic_store_n(&num_ranges, num_ranges + 1, __ATOMIC_RELEASE);
			found++;
		}
	}
	return found;
}

static void scan_module(struct shim_site_module *m)
{
	size_t size = 0;
	const char *file = m->path[0] ? aml_os_map_file(m->path, &size) : NULL;
	if (!file)
		return;
	if (size < sizeof(ElfW(Ehdr))) {
		aml_os_munmap((void *)file, size);
		return;
	}
	const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)file;
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0 && eh->e_ident[EI_CLASS] == ELFCLASS64 &&
	    eh->e_shentsize == sizeof(ElfW(Shdr)) && eh->e_shoff < size &&
	    eh->e_shnum <= (size - eh->e_shoff) / sizeof(ElfW(Shdr))) {
		const ElfW(Shdr) *sections = (const ElfW(Shdr) *)(file + eh->e_shoff);
		if (scan_table(file, size, sections, eh->e_shnum, SHT_SYMTAB, m->bias) == 0)
			scan_table(file, size, sections, eh->e_shnum, SHT_DYNSYM, m->bias);
	}
	aml_os_munmap((void *)file, size);
}

static int lock; /* one scan at a time */

void shim_site_symbols_scan(void)
{
	if (!num_names)
		return;
	shim_lock(&lock);
	int count = __atomic_load_n(&shim_site_modules.count, __ATOMIC_ACQUIRE);
	for (int m = 0; m < count; m++) {
		struct shim_site_module *mod = &shim_site_modules.list[m];
		if (!mod->symbols_read && m != shim_site_modules.self && strncmp(mod->name, "linux-vdso", 10) != 0)
			scan_module(mod);
		mod->symbols_read = 1;
	}
	shim_unlock(&lock);
}

void shim_site_scans_before_fork(void)
{
	shim_lock(&shim_site_modules.lock);
	shim_lock(&lock);
}

void shim_site_scans_after_fork(void)
{
	shim_unlock(&lock);
	shim_unlock(&shim_site_modules.lock);
}

int shim_site_name_found(int index)
{
	for (int r = __atomic_load_n(&num_ranges, __ATOMIC_ACQUIRE); r-- > 0;)
		if (ranges[r].name == index)
			return 1;
	return 0;
}

uint64_t shim_site_names_at(uintptr_t addr)
{
	uint64_t bits = 0;
	for (int r = __atomic_load_n(&num_ranges, __ATOMIC_ACQUIRE); r-- > 0;)
		if (addr - ranges[r].lo < ranges[r].hi - ranges[r].lo)
			bits |= 1ULL << ranges[r].name;
	return bits;
}
