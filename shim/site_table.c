/* The stacks seen at site-sized allocations: one hash of the captured
 * frames and a short probe find a stack's entry, which remembers the rule
 * it matched (so a stack matching none costs that one lookup) and, in
 * profile mode, its counters. Slots are claimed with a compare-and-swap
 * and never freed: no lock, no malloc. */
#define _GNU_SOURCE
#include <string.h>
#include <sys/mman.h>

#include "os.h"
#include "site_modules.h"
#include "site_table.h"

#define PROBES 32

struct shim_site_entry *shim_site_table;

int shim_site_table_init(void)
{
	void *table = aml_os_mmap(NULL, SHIM_SITE_SLOTS * sizeof(struct shim_site_entry), PROT_READ | PROT_WRITE,
	                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (table == MAP_FAILED)
		return -1;
	shim_site_table = table;
	return 0;
}

static uint64_t hash_frames(const uintptr_t *frames, int depth)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ (uint64_t)depth;
	for (int i = 0; i < depth; i++) {
		h ^= frames[i];
		h *= 0xff51afd7ed558ccdULL;
		h ^= h >> 33;
	}
	return h | 1; /* 0 marks an empty slot */
}

struct shim_site_entry *shim_site_table_get(const uintptr_t *frames, int depth)
{
	if (!shim_site_table)
		return NULL;
	uint64_t hash = hash_frames(frames, depth);
	for (unsigned i = 0; i < PROBES; i++) {
		struct shim_site_entry *e = &shim_site_table[(hash + i) & (SHIM_SITE_SLOTS - 1)];
		uint64_t seen = __atomic_load_n(&e->hash, __ATOMIC_ACQUIRE);
		if (seen == 0) {
			if (!__atomic_compare_exchange_n(&e->hash, &seen, hash, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
				if (seen != hash)
					continue; /* another stack took it */
			} else {
				e->depth = depth;
				memcpy(e->frames, frames, (size_t)depth * sizeof(*frames));
				e->rule = SHIM_SITE_UNMATCHED;
				__atomic_store_n(&e->ready, 1, __ATOMIC_RELEASE);
				return e;
			}
		}
		if (seen != hash)
			continue;
		if (!__atomic_load_n(&e->ready, __ATOMIC_ACQUIRE))
			return NULL; /* being written: this allocation goes uncached */
		if (e->depth == depth && memcmp(e->frames, frames, (size_t)depth * sizeof(*frames)) == 0)
			return e;
	}
	return NULL;
}

int shim_site_table_by_bytes(uint16_t *order)
{
	int n = 0;
	for (int s = 0; shim_site_table && s < SHIM_SITE_SLOTS; s++) {
		const struct shim_site_entry *e = &shim_site_table[s];
		unsigned long bytes = __atomic_load_n(&e->bytes, __ATOMIC_RELAXED);
		if (!__atomic_load_n(&e->ready, __ATOMIC_ACQUIRE) || !__atomic_load_n(&e->count, __ATOMIC_RELAXED))
			continue;
		int at = n++;
		for (; at > 0 && __atomic_load_n(&shim_site_table[order[at - 1]].bytes, __ATOMIC_RELAXED) < bytes; at--)
			order[at] = order[at - 1];
		order[at] = (uint16_t)s;
	}
	return n;
}

int shim_site_named_frames(const struct shim_site_entry *e, int *module)
{
	int n = 0;
	while (n < e->depth && (module[n] = shim_site_module_of(e->frames[n])) >= 0)
		n++;
	return n;
}

void shim_site_text(const struct shim_site_entry *e, char *buf, size_t len)
{
	int module[AMLSHIM_SITE_MAX_DEPTH], n = shim_site_named_frames(e, module);
	size_t at = 0;
	buf[0] = '\0';
	for (int f = n; f-- > 0 && at < len;) {
		const struct shim_site_module *m = &shim_site_modules.list[module[f]];
		int wrote = snprintf(buf + at, len - at, "%s%s+0x%lx", f == n - 1 ? "" : ">", m->name,
		                     (unsigned long)(e->frames[f] - m->bias));
		at += wrote > 0 ? (size_t)wrote : 0;
	}
}
