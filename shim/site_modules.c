/* The loaded modules, for turning return addresses into MODULE+OFFSET:
 * dl_iterate_phdr (no allocation) gives each object's load bias and
 * segments, the path's base name names it, PT_NOTE gives its build-id.
 * Entries are only added: a reader needs no lock. */
#define _GNU_SOURCE
#include <link.h>
#include <string.h>
#include <unistd.h>

#include "os.h"
#include "site_modules.h"

struct shim_site_modules shim_site_modules = {.self = -1};

static void hex_build_id(const struct dl_phdr_info *info, char *out)
{
	out[0] = '\0';
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_NOTE)
			continue;
		const char *note = (const char *)(info->dlpi_addr + ph->p_vaddr), *end = note + ph->p_memsz;
		while (note + sizeof(ElfW(Nhdr)) <= end) {
			const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)note;
			const unsigned char *desc = (const unsigned char *)note + sizeof(*nh) + ((nh->n_namesz + 3) & ~3u);
			if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 && memcmp(note + sizeof(*nh), "GNU", 4) == 0) {
				static const char hex[] = "0123456789abcdef";
				unsigned n = nh->n_descsz > 20 ? 20 : nh->n_descsz;
				for (unsigned b = 0; b < n; b++) {
					out[2 * b] = hex[desc[b] >> 4];
					out[2 * b + 1] = hex[desc[b] & 15];
				}
				out[2 * n] = '\0';
				return;
			}
			note = (const char *)desc + ((nh->n_descsz + 3) & ~3u);
		}
	}
}

static int known(uintptr_t bias, uintptr_t lo)
{
	for (int m = 0; m < shim_site_modules.count; m++)
		if (shim_site_modules.list[m].bias == bias && shim_site_modules.list[m].lo == lo)
			return 1;
	return 0;
}

static int add_module(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	int *added = arg;
	uintptr_t lo = UINTPTR_MAX, hi = 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD)
			continue;
		uintptr_t start = info->dlpi_addr + ph->p_vaddr;
		if (start < lo)
			lo = start;
		if (start + ph->p_memsz > hi)
			hi = start + ph->p_memsz;
	}
	if (lo >= hi || known(info->dlpi_addr, lo) || shim_site_modules.count == SHIM_SITE_MAX_MODULES)
		return 0;
	struct shim_site_module *m = &shim_site_modules.list[shim_site_modules.count];
	memset(m, 0, sizeof(*m));
	m->bias = info->dlpi_addr;
	m->lo = lo;
	m->hi = hi;
	const char *path = info->dlpi_name;
	if (!path || !path[0]) { /* the program itself */
		aml_os_exe_path(m->path, sizeof(m->path));
	} else {
		size_t n = strlen(path);
		if (n >= sizeof(m->path))
			n = sizeof(m->path) - 1;
		memcpy(m->path, path, n);
		m->path[n] = '\0';
	}
	const char *slash = strrchr(m->path, '/');
	const char *base = slash ? slash + 1 : m->path;
	size_t n = strlen(base);
	if (n >= sizeof(m->name))
		n = sizeof(m->name) - 1;
	memcpy(m->name, base, n);
	m->name[n] = '\0';
	hex_build_id(info, m->build_id);
	uintptr_t self = (uintptr_t)shim_site_modules_scan;
	if (self - lo < hi - lo)
		shim_site_modules.self = shim_site_modules.count;
	__atomic_store_n(&shim_site_modules.count, shim_site_modules.count + 1, __ATOMIC_RELEASE);
	(*added)++;
	return 0;
}

int shim_site_modules_scan(void)
{
	int added = 0;
	shim_lock(&shim_site_modules.lock);
	dl_iterate_phdr(add_module, &added);
	shim_unlock(&shim_site_modules.lock);
	return added;
}

int shim_site_module_of(uintptr_t addr)
{
	for (int m = __atomic_load_n(&shim_site_modules.count, __ATOMIC_ACQUIRE); m-- > 0;) {
		const struct shim_site_module *mod = &shim_site_modules.list[m];
		if (addr - mod->lo < mod->hi - mod->lo)
			return m;
	}
	return -1;
}

int shim_site_in_self(uintptr_t addr)
{
	int self = __atomic_load_n(&shim_site_modules.self, __ATOMIC_RELAXED);
	if (self < 0)
		return 0;
	const struct shim_site_module *mod = &shim_site_modules.list[self];
	return addr - mod->lo < mod->hi - mod->lo;
}
