/* Placement by call site: AMLSHIM_SITES read (inline or from a file) and
 * its rules made routes like the size rules'; each allocation of
 * AMLSHIM_SITE_MIN bytes on captures its stack, finds it in the site table
 * (one hash lookup; a new stack is matched against the rules once), and
 * takes its rule's route while the rule's cap and nodes have room, else
 * the size rules' (a spill, counted). Profile mode counts per stack. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <link.h>
#include <unistd.h>

#include "init.h"
#include "large.h"
#include "log.h"
#include "os.h"
#include "page_size.h"
#include "site_capture.h"
#include "site_modules.h"
#include "site_rules.h"
#include "site_table.h"
#include "stats.h"

struct shim_sites shim_sites = {.min = SIZE_MAX};
struct shim_site_routes shim_site_routes;
static struct amlshim_rule site_rules[AMLSHIM_MAX_SITE_RULES], plain_rule;
static char file_text[AMLSHIM_SITES_TEXT_MAX + 2]; /* one byte more tells a file too long */

unsigned long long shim_sites_now_ns(void)
{
	return aml_os_now_ns() - shim_sites.start_ns;
}

/* AMLSHIM_SITES: inline text, or a file when it starts with '/' or '.'. */
static void read_rules(const char *value)
{
	char quoted[AMLSHIM_QUOTE_MAX * 4 + 32];
	if (value[0] != '/' && value[0] != '.') {
		amlshim_sites_parse(value, value, strlen(value), &shim_sites.parsed, shim_log_line, NULL);
		return;
	}
	ssize_t len = aml_os_read_file(value, file_text, sizeof(file_text));
	if (len < 0) {
		shim_log(AMLSHIM_LOG_WARN, "AMLSHIM_SITES=%s: the file cannot be read (missing or not readable); "
		         "no site rule applies", amlshim_quote_value(value, quoted, sizeof(quoted)));
		shim_sites.parsed.errors++;
		return;
	}
	amlshim_sites_parse(value, file_text, (size_t)len, &shim_sites.parsed, shim_log_line, NULL);
}

/* AMLSHIM_PROFILE=FILE (%p, %r, %h expanded at exit). */
static void read_profile(void)
{
	const char *value = shim_read_env("AMLSHIM_PROFILE", NULL);
	if (!value || !*value)
		return;
	size_t len = strlen(value);
	if (len >= sizeof(shim_sites.profile_file)) {
		char quoted[AMLSHIM_QUOTE_MAX * 4 + 32];
		shim_log(AMLSHIM_LOG_WARN, "AMLSHIM_PROFILE=%s is not valid: the path is too long; accepted: "
		         "a path shorter than 256 bytes (%%p, %%r, %%h expanded)", amlshim_quote_value(value, quoted, sizeof(quoted)));
		return;
	}
	memcpy(shim_sites.profile_file, value, len + 1);
	shim_sites.profile = 1;
}

static void init_route(struct shim_route *route, const struct amlshim_rule *rule)
{
	route->rule = rule;
	route->fallback.route = route;
	amlshim_resolved_default(&route->fallback.placed);
	for (int n = 0; n < SHIM_MAX_NODES; n++)
		route->pools[n].route = route;
}

void shim_sites_boot(void)
{
	shim_sites.start_ns = aml_os_now_ns();
	amlshim_sites_parse_vars(&shim_sites.parsed, shim_read_env, NULL, shim_log_line, NULL);
	const char *value = shim_read_env("AMLSHIM_SITES", NULL);
	if (value && *value)
		read_rules(value);
	read_profile();
	if (!shim_sites.parsed.count && !shim_sites.profile)
		return;
	if (shim_site_table_init() != 0) {
		shim_log(AMLSHIM_LOG_WARN, "call sites: no memory for the site table; sites are not captured");
		return;
	}
	shim_sites.depth = shim_sites.parsed.depth;
	for (int r = 0; r < shim_sites.parsed.count; r++) {
		const struct amlshim_site_rule *rule = &shim_sites.parsed.rules[r];
		site_rules[r] = (struct amlshim_rule){.min = 0, .max = SIZE_MAX, .placement = rule->placement};
		init_route(&shim_site_routes.rules[r], &site_rules[r]);
		shim_sites.names[r][0] = rule->kind == AMLSHIM_SITE_FUNC_PAIR ? shim_site_name_index(rule->func[0]) : -1;
		shim_sites.names[r][1] = rule->kind != AMLSHIM_SITE_STACK ? shim_site_name_index(rule->func[1]) : -1;
	}
	shim_site_routes.count = shim_sites.parsed.count;
	plain_rule = (struct amlshim_rule){.min = 0, .max = SIZE_MAX};
	init_route(&shim_site_routes.plain, &plain_rule);
	shim_site_routes.plain.use_fallback = 1;
	shim_site_routes.plain.ready = 1;
	shim_site_routes.plain_active = 1;
	size_t min = shim_sites.parsed.min ? shim_sites.parsed.min : shim_process.policy.threshold;
	shim_sites.min = min < SHIM_LARGE_FLOOR ? SHIM_LARGE_FLOOR : min;
}

void shim_sites_start(void)
{
	if (shim_sites.min == SIZE_MAX)
		return;
	shim_site_modules_scan();
	shim_site_symbols_scan();
	for (int r = 0; r < shim_site_routes.count; r++)
		for (int i = 0; i < 2; i++)
			if (shim_sites.names[r][i] >= 0 && !shim_site_name_found(shim_sites.names[r][i]))
				shim_log(AMLSHIM_LOG_INFO, "AMLSHIM_SITES rule %d: no function %s in the modules loaded so far "
				         "(looked up again when a library is loaded)", r + 1, shim_sites.parsed.rules[r].func[i]);
	for (int r = 0; r < shim_site_routes.count; r++)
		shim_route_resolve_one(&shim_site_routes.rules[r]); /* +thp, +nothp, +huge:SIZE as on a size rule */
	if (shim_sites.profile)
		shim_site_heat_start();
}

/* Modules loaded since the last scan (a dlopen): only when a frame lies in
 * none, and only when the loader's count of additions moved. */
static int loads_seen(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	*(unsigned long long *)arg = info->dlpi_adds;
	return 1;
}

static void rescan_if_loaded(void)
{
	static unsigned long long adds_scanned;
	unsigned long long adds = 0;
	dl_iterate_phdr(loads_seen, &adds);
	if (adds == __atomic_load_n(&adds_scanned, __ATOMIC_RELAXED))
		return;
	__atomic_store_n(&adds_scanned, adds, __ATOMIC_RELAXED);
	shim_site_modules_scan();
	shim_site_symbols_scan();
}

static int stack_matches(const struct amlshim_site_rule *rule, const uintptr_t *frames, const int *module, int depth)
{
	if (rule->num_frames > depth)
		return 0;
	for (int j = 0; j < rule->num_frames; j++) {
		const struct amlshim_site_frame *want = &rule->frames[rule->num_frames - 1 - j];
		const struct shim_site_module *m = module[j] >= 0 ? &shim_site_modules.list[module[j]] : NULL;
		if (!m || frames[j] - m->bias != want->offset || strcmp(m->name, want->module) != 0)
			return 0;
	}
	return 1;
}

/* The first rule (in the order written) the stack matches, or -1. */
static int match(const uintptr_t *frames, int depth)
{
	int module[AMLSHIM_SITE_MAX_DEPTH], unknown = 0;
	for (int i = 0; i < depth; i++)
		unknown |= (module[i] = shim_site_module_of(frames[i])) < 0;
	if (unknown) {
		rescan_if_loaded();
		for (int i = 0; i < depth; i++)
			module[i] = shim_site_module_of(frames[i]);
	}
	uint64_t names[AMLSHIM_SITE_MAX_DEPTH];
	for (int i = 0; i < depth; i++)
		names[i] = shim_site_names_at(frames[i] - 1); /* the call, not what follows it */
	for (int r = 0; r < shim_sites.parsed.count; r++) {
		const struct amlshim_site_rule *rule = &shim_sites.parsed.rules[r];
		int a = shim_sites.names[r][0], b = shim_sites.names[r][1];
		if (rule->kind == AMLSHIM_SITE_STACK && stack_matches(rule, frames, module, depth))
			return r;
		for (int i = 0; b >= 0 && i < depth; i++) {
			if (!(names[i] >> b & 1))
				continue;
			if (rule->kind == AMLSHIM_SITE_FUNC || (a >= 0 && i + 1 < depth && (names[i + 1] >> a & 1)))
				return r;
		}
	}
	return -1;
}

/* Whether the rule's budget and nodes take size bytes more. */
static int has_room(struct shim_route *route, int r, size_t size)
{
	size_t cap = shim_sites.parsed.rules[r].cap;
	if (cap && __atomic_load_n(&route->live, __ATOMIC_RELAXED) + size > cap)
		return 0;
	struct shim_pool *pool = shim_route_pool(route);
	return amlshim_resolved_fits(&pool->placed, (size + SHIM_PAGE - 1) & ~(SHIM_PAGE - 1));
}

static void update_max(unsigned long *value, unsigned long candidate)
{
	unsigned long seen = __atomic_load_n(value, __ATOMIC_RELAXED);
	while (candidate > seen &&
	       !__atomic_compare_exchange_n(value, &seen, candidate, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

static void count_alloc(struct shim_site_entry *e, void *ptr, size_t size)
{
	shim_count(&e->count, 1);
	shim_count(&e->bytes, size);
	if (!shim_sites.profile)
		return;
	struct shim_block *block = shim_registry_lookup(ptr);
	if (!block)
		return;
	block->site = shim_site_entry_index(e) + 1;
	unsigned long long now = shim_sites_now_ns() + 1; /* 0: not yet */
	unsigned long long unset = 0;
	__atomic_compare_exchange_n(&e->first_ns, &unset, now, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
	__atomic_store_n(&e->last_ns, now, __ATOMIC_RELAXED);
	unset = 0;
	__atomic_compare_exchange_n(&e->alive_from_ns, &unset, now, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
	update_max(&e->largest, size);
	update_max(&e->peak_live, __atomic_add_fetch(&e->live, size, __ATOMIC_RELAXED));
	shim_count(&e->live_blocks, 1);
	long long pages = (long long)((size + SHIM_PAGE - 1) / SHIM_PAGE);
	__atomic_sub_fetch(&e->page_ms, pages * (long long)(now / 1000000), __ATOMIC_RELAXED);
}

void shim_sites_free(struct shim_block *block)
{
	struct shim_site_entry *e = &shim_site_table[block->site - 1];
	block->site = 0;
	size_t size = block->requested;
	unsigned long long now = shim_sites_now_ns() + 1;
	__atomic_sub_fetch(&e->live, size, __ATOMIC_RELAXED);
	long long pages = (long long)((size + SHIM_PAGE - 1) / SHIM_PAGE);
	__atomic_add_fetch(&e->page_ms, pages * (long long)(now / 1000000), __ATOMIC_RELAXED);
	if (__atomic_sub_fetch(&e->live_blocks, 1, __ATOMIC_RELAXED) == 0)
		__atomic_store_n(&e->alive_to_ns, now, __ATOMIC_RELAXED);
}

void *shim_sites_alloc(size_t size, size_t alignment, int zero)
{
	uintptr_t frames[AMLSHIM_SITE_MAX_DEPTH];
	/* The unwinder may malloc under its own lock (libgcc's init_object for
	 * frames a JIT registered), the rescan too: allocations nested in the
	 * capture and the match take the plain path, never this one again. */
	shim_thread_busy++;
	int depth = shim_site_capture(frames, shim_sites.depth);
	struct shim_site_entry *e = shim_site_table_get(frames, depth);
	int rule = -1;
	int generation = __atomic_load_n(&shim_site_modules.count, __ATOMIC_RELAXED);
	if (!e) {
		shim_count(&shim_sites.uncached, 1);
		rule = shim_sites.parsed.count ? match(frames, depth) : -1;
	} else if (__atomic_load_n(&e->rule, __ATOMIC_ACQUIRE) == SHIM_SITE_UNMATCHED || e->generation != generation) {
		/* A new stack (or new modules since): its modules are learnt here
		 * even with no rule, for the profile. */
		rule = match(frames, depth);
		e->generation = __atomic_load_n(&shim_site_modules.count, __ATOMIC_RELAXED);
		__atomic_store_n(&e->rule, rule, __ATOMIC_RELEASE);
	} else {
		rule = e->rule;
	}
	shim_thread_busy--;
	struct shim_route *route = NULL;
	if (rule >= 0) {
		route = &shim_site_routes.rules[rule];
		if (!has_room(route, rule, size)) {
			shim_count(&shim_sites.spills[rule], 1);
			route = NULL;
		}
	}
	if (!route && size >= shim_process.large_min)
		route = shim_route_for(size);
	if (!route)
		route = &shim_site_routes.plain;
	void *ptr = shim_large_alloc(route, size, alignment, zero);
	if (ptr && e)
		count_alloc(e, ptr, size);
	return ptr;
}
