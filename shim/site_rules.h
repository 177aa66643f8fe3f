/* Placement by call site (site_rules.c): AMLSHIM_SITES rules checked before the
 * size rules for allocations of AMLSHIM_SITE_MIN bytes on, and profile
 * mode's per-site counters (AMLSHIM_PROFILE). */
#ifndef AMLSHIM_SITE_RULES_H
#define AMLSHIM_SITE_RULES_H

#include "registry.h"
#include "routes.h"
#include "shim.h"
#include "sites.h"

struct shim_sites {
	size_t min;     /* allocations from this size are captured; SIZE_MAX: off */
	int depth;      /* frames captured */
	int profile;    /* AMLSHIM_PROFILE is set */
	char profile_file[AMLSHIM_PATH_MAX];
	unsigned long long start_ns;
	struct amlshim_sites parsed;
	int names[AMLSHIM_MAX_SITE_RULES][2]; /* func= names' indexes (site_symbols.c) */
	unsigned long spills[AMLSHIM_MAX_SITE_RULES];
	unsigned long uncached; /* allocations whose stack found no table slot */
};
extern struct shim_sites shim_sites;

/* Phase 1 (init.c's boot): the variables, the rules file, the routes. */
void shim_sites_boot(void);
/* Phase 2 (the constructor): modules, function names, areas, the sampler. */
void shim_sites_start(void);
/* An allocation of shim_sites.min bytes or more (dispatch.c). */
void *shim_sites_alloc(size_t size, size_t alignment, int zero);
/* A block of a site leaves (large.c): profile counters. */
void shim_sites_free(struct shim_block *block);
/* Milliseconds since start-up (profile times). */
unsigned long long shim_sites_now_ns(void);

/* Profile mode (site_profile.c): the file at exit; the sampler (site_heat.c). */
void shim_site_profile_write(void);
void shim_site_heat_start(void);
/* What gave the heat ("soft-dirty", or NULL: none measured). */
const char *shim_site_heat_method(void);
unsigned shim_site_heat_interval_ms(void);

#endif
