/* The stacks seen at allocations that may match a site (site_table.c): a
 * fixed open-addressing table, keyed by the hash of the captured frames,
 * holding each stack's matched rule and, in profile mode, its counters. */
#ifndef AMLSHIM_SITE_TABLE_H
#define AMLSHIM_SITE_TABLE_H

#include <stdint.h>

#include "shim.h"
#include "sites.h"

#define SHIM_SITE_SLOTS 4096
#define SHIM_SITE_UNMATCHED (-2) /* no rule looked up yet */

struct shim_site_entry {
	uint64_t hash;                 /* 0: empty slot */
	int ready;                     /* frames written (release) */
	int depth;
	uintptr_t frames[AMLSHIM_SITE_MAX_DEPTH]; /* innermost first */
	int rule;                      /* matched rule, -1 none, SHIM_SITE_UNMATCHED */
	int generation;                /* modules known when matched */
	/* Profile mode. */
	unsigned long count, bytes, largest, live, peak_live, live_blocks;
	long long page_ms;             /* live pages x milliseconds (signed sum) */
	unsigned long long first_ns, last_ns, alive_from_ns, alive_to_ns;
	unsigned long dirty_pages, sampled_pages; /* heat: soft-dirty pages over page samples */
};

/* The table, mapped on first use (NULL: none). */
extern struct shim_site_entry *shim_site_table;
int shim_site_table_init(void);
/* The entry of this stack, added if new; NULL when the table is full
 * around its slot or another thread is writing it. */
struct shim_site_entry *shim_site_table_get(const uintptr_t *frames, int depth);
/* The stacks counted so far, most bytes first, as slot numbers into
 * order (SHIM_SITE_SLOTS of them); returns how many. For reports. */
int shim_site_table_by_bytes(uint16_t *order);
/* The frames of a stack that lie in known modules, innermost first, their
 * modules into module[]: the walk stops at the first it cannot name. */
int shim_site_named_frames(const struct shim_site_entry *e, int *module);
/* "mod+0x1>mod+0x2" of a stack, caller first, up to its first unknown
 * frame; SHIM_SITE_TEXT_MAX holds the longest. */
#define SHIM_SITE_TEXT_MAX (AMLSHIM_SITE_MAX_DEPTH * (AMLSHIM_SITE_NAME_MAX + 24))
void shim_site_text(const struct shim_site_entry *e, char *buf, size_t len);
static inline uint32_t shim_site_entry_index(const struct shim_site_entry *e)
{
	return (uint32_t)(e - shim_site_table);
}

#endif
