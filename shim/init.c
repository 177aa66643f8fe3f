/* Start-up. The first allocation parses the environment and opens the
 * small path (phase 1: no topology, no libnuma, no dlopen); calls that
 * arrive meanwhile, from this thread or another, are served by glibc and
 * never wait. The constructor then resolves areas (phase 2: libnuma, hwloc,
 * CUDA), applies AMLSHIM_STRICT, and arms the report. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include <amlshim.h>
#include "budget.h"
#include "large.h"
#include "resolve.h"
#include "shim.h"
#include "site_rules.h"

struct shim_process shim_process = {.large_min = SIZE_MAX};
SHIM_TLS int shim_thread_busy;

const char *shim_read_env(const char *name, void *ctx)
{
	(void)ctx;
	/* secure_getenv semantics: nothing is read in setuid processes. */
	return shim_process.secure_mode ? NULL : getenv(name);
}

static const char *const known_variables[] = {
	"AMLSHIM_POLICY", "AMLSHIM_THRESHOLD", "AMLSHIM_RULES", "AMLSHIM_SMALL", "AMLSHIM_MMAP",
	"AMLSHIM_STATS", "AMLSHIM_STATS_FILE", "AMLSHIM_LOG", "AMLSHIM_STRICT", "AMLSHIM_DEEPBIND",
	"AMLSHIM_SITES", "AMLSHIM_SITE_DEPTH", "AMLSHIM_SITE_MIN", "AMLSHIM_PROFILE", "AMLSHIM_PROFILE_MIN_SIZE",
	"AMLSHIM_PROFILE_INTERVAL",
	"AMLSHIM_LEDGER", "AMLSHIM_SHARE_SETTLE",
};

/* A misspelt variable would silently do nothing: say so. */
static void warn_unknown_variables(void)
{
	extern char **environ;
	for (char **env = environ; env && *env; env++) {
		if (strncmp(*env, "AMLSHIM_", 8) != 0)
			continue;
		size_t len = strcspn(*env, "=");
		int known = 0;
		for (size_t i = 0; i < sizeof(known_variables) / sizeof(known_variables[0]); i++)
			known |= strlen(known_variables[i]) == len && strncmp(*env, known_variables[i], len) == 0;
		if (!known) {
			char name[AMLSHIM_QUOTE_MAX * 4 + 32], quoted[AMLSHIM_QUOTE_MAX * 4 + 32];
			snprintf(name, sizeof(name), "%.*s", (int)(len < 128 ? len : 128), *env);
			shim_log(AMLSHIM_LOG_WARN, "unknown variable %s ignored (see amlshim --help)",
			         amlshim_quote_value(name, quoted, sizeof(quoted)));
		}
	}
}

static void boot(void)
{
	shim_process.secure_mode = getauxval(AT_SECURE) != 0;
	shim_stderr_open = fcntl(STDERR_FILENO, F_GETFD) >= 0;
	amlshim_policy_parse(&shim_process.policy, shim_read_env, NULL, shim_log_line, NULL);
	amlshim_job_detect(&shim_process.job, shim_read_env, NULL, shim_log_line, NULL);
	if (!shim_process.secure_mode)
		warn_unknown_variables();
	shim_registry_init();
	shim_large_init();
	/* Rules that cover small sizes get arenas of their own. */
	int classes = 0;
	size_t large_min = SIZE_MAX;
	for (int i = 0; i < shim_process.policy.num_rules; i++) {
		const struct amlshim_rule *rule = &shim_process.policy.rules[i];
		if (rule->min < SHIM_LARGE_FLOOR && shim_small_placeable(&rule->placement) &&
		    classes + 1 < SHIM_MAX_CLASSES)
			shim_route_table.rules[i].small_class = ++classes;
		if (rule->min < large_min)
			large_min = rule->min;
	}
	if (shim_route_table.implicit_active)
		large_min = shim_route_table.implicit.rule->min;
	shim_small_primary = shim_route_primary(large_min, &shim_process.primary_begin, &shim_process.primary_span);
	shim_sites_boot(); /* the fast path stops where call sites are captured */
	if (shim_process.primary_begin + shim_process.primary_span > shim_sites.min)
		shim_process.primary_span = shim_sites.min > shim_process.primary_begin ? shim_sites.min - shim_process.primary_begin : 0;
	shim_small_init(classes);
	shim_process.large_min = large_min;
}

int shim_start(void)
{
	int expected = SHIM_UNINIT;
	if (!__atomic_compare_exchange_n(&shim_process.state, &expected, SHIM_BOOTING, 0,
	                                 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return expected == SHIM_READY;
	boot();
	__atomic_store_n(&shim_process.state, SHIM_READY, __ATOMIC_RELEASE);
	return 1;
}

static void strict_exit(const char *what)
{
	shim_log(AMLSHIM_LOG_ERROR, "AMLSHIM_STRICT=1: %s; exiting with status 2", what);
	_exit(2);
}

/* Path of the object holding addr, for messages. */
static const char *object_of(const void *addr)
{
	Dl_info info;
	return dladdr(addr, &info) && info.dli_fname ? info.dli_fname : "?";
}

/* The definition of a function that the first shared object defining it,
 * in the program's load order, holds (NULL: none). Not dlsym(RTLD_DEFAULT):
 * the shim is linked -Bsymbolic and would find its own first; and the
 * executable is skipped, since one that takes malloc's address exports a
 * stub for it without being an allocator. */
void *shim_global_symbol(const char *name)
{
	void *program = dlopen(NULL, RTLD_LAZY | RTLD_NOLOAD);
	struct link_map *map = NULL;
	void *found = NULL;
	if (!program || dlinfo(program, RTLD_DI_LINKMAP, &map) != 0 || !map) {
		if (program)
			dlclose(program);
		return NULL;
	}
	for (map = map->l_next; map && !found; map = map->l_next) {
		if (!map->l_name || !map->l_name[0])
			continue;
		void *object = dlopen(map->l_name, RTLD_LAZY | RTLD_NOLOAD);
		if (!object)
			continue;
		void *symbol = dlsym(object, name);
		Dl_info info;
		/* dlsym also searches the object's dependencies: keep only its own. */
		if (symbol && dladdr(symbol, &info) && info.dli_fname && strcmp(info.dli_fname, map->l_name) == 0)
			found = symbol;
		dlclose(object);
	}
	dlclose(program);
	return found;
}

struct before_self {
	uintptr_t self, vdso;
	int done, named; /* named: objects met before ours, the program and the vDSO aside */
};

static int holds(const struct dl_phdr_info *info, uintptr_t addr)
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t start = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && addr - start < ph->p_memsz)
			return 1;
	}
	return 0;
}

static int count_before_self(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	struct before_self *b = arg;
	if (holds(info, b->self))
		return b->done = 1;
	if (info->dlpi_name && info->dlpi_name[0] && !(b->vdso && holds(info, b->vdso)))
		b->named++;
	return 0;
}

/* Whether a shared object precedes this one in load order (the usual
 * LD_PRELOAD has none): only such an object can define a symbol before
 * us. dl_iterate_phdr neither allocates nor opens anything; the search by
 * name (dlopen, which allocates) is left for when there is one. */
static int objects_before_self(void)
{
	struct before_self b = {(uintptr_t)objects_before_self, getauxval(AT_SYSINFO_EHDR), 0, 0};
	dl_iterate_phdr(count_before_self, &b);
	return !b.done || b.named > 0;
}

/* Another copy of the shim loaded first: this one stays out of the way. */
static int another_copy_first(void)
{
	if (!objects_before_self())
		return 0;
	void *first = shim_global_symbol("amlshim_version");
	if (!first || first == (void *)amlshim_version)
		return 0;
	char mine[1024];
	snprintf(mine, sizeof(mine), "%s", object_of((void *)amlshim_version));
	shim_stderr_open = fcntl(STDERR_FILENO, F_GETFD) >= 0;
	shim_process.policy.log_level = AMLSHIM_LOG_WARN;
	shim_log(AMLSHIM_LOG_WARN, "libamlshim.so is loaded twice (%s, then %s); the second copy does nothing",
	         object_of(first), mine);
	return 1;
}

struct shim_front shim_front;

/* Another allocator preloaded before us owns malloc: the entry points it
 * lacks (reallocarray, pvalloc, ...) reach us with its pointers, so they
 * forward to its functions, and nothing is placed through malloc. */
static void detect_allocator_in_front(void)
{
	if (!objects_before_self())
		return;
	void *global_malloc = shim_global_symbol("malloc");
	if (!global_malloc || global_malloc == (void *)malloc)
		return;
	shim_front.realloc_fn = (void *(*)(void *, size_t))shim_global_symbol("realloc");
	shim_front.posix_memalign_fn = (int (*)(void **, size_t, size_t))shim_global_symbol("posix_memalign");
	shim_front.usable_size_fn = (size_t(*)(void *))shim_global_symbol("malloc_usable_size");
	if (shim_front.realloc_fn == realloc || shim_front.posix_memalign_fn == posix_memalign) {
		shim_front.realloc_fn = NULL; /* cannot forward: ours would call ours */
		shim_front.posix_memalign_fn = NULL;
	}
	if (shim_front.usable_size_fn == malloc_usable_size)
		shim_front.usable_size_fn = NULL;
	__atomic_store_n(&shim_front.forward, 1, __ATOMIC_RELEASE);
	shim_log(AMLSHIM_LOG_WARN, "another allocator (%s) is preloaded before libamlshim.so: "
	         "allocations are not placed, only mmaps", object_of(global_malloc));
}

__attribute__((constructor)) static void shim_constructor(void)
{
	if (another_copy_first())
		return;
	if (!shim_ready()) {
		shim_small_placements_ready(); /* unplaced: nothing to wait for */
		return; /* another thread is in phase 1: areas stay at the kernel default */
	}
	if (shim_process.policy.strict && (shim_process.policy.errors || shim_sites.parsed.errors))
		strict_exit("bad AMLSHIM_* value");
	shim_glibc_resolve();
	detect_allocator_in_front();
	shim_extras_resolve();
	shim_fork_install();
	shim_report_prepare();
	shim_thread_busy++;
	int failures = shim_routes_resolve();
	shim_sites_start();
	shim_thread_busy--;
	shim_small_placements_ready();
	if (shim_process.policy.strict && failures)
		strict_exit("a policy cannot be applied");
}

__attribute__((destructor)) static void shim_destructor(void)
{
	/* Nothing is torn down: exit handlers and _dl_fini still free. */
	if (__atomic_load_n(&shim_process.state, __ATOMIC_ACQUIRE) == SHIM_READY)
		shim_report_at_exit();
	shim_share_exit();
}
