/* Start-up. The first allocation parses the environment and opens the
 * small path (phase 1: no topology, no libnuma, no dlopen); calls that
 * arrive meanwhile, from this thread or another, are served by glibc and
 * never wait. The constructor then resolves areas (phase 2: libnuma, hwloc,
 * CUDA), applies AMLSHIM_STRICT, and arms the report. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "large.h"
#include "resolve.h"
#include "shim.h"

int shim_state;
struct amlshim_policy shim_policy;
size_t shim_large_min = SIZE_MAX;
SHIM_TLS int shim_thread_busy;
int shim_secure_mode;

static const char *read_env(const char *name, void *ctx)
{
	(void)ctx;
	/* secure_getenv semantics: nothing is read in setuid processes. */
	return shim_secure_mode ? NULL : getenv(name);
}

static const char *const known_variables[] = {
	"AMLSHIM_POLICY", "AMLSHIM_THRESHOLD", "AMLSHIM_RULES", "AMLSHIM_SMALL", "AMLSHIM_MMAP",
	"AMLSHIM_STATS", "AMLSHIM_STATS_FILE", "AMLSHIM_LOG", "AMLSHIM_STRICT",
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
	shim_secure_mode = getauxval(AT_SECURE) != 0;
	amlshim_policy_parse(&shim_policy, read_env, NULL, shim_log_line, NULL);
	if (!shim_secure_mode)
		warn_unknown_variables();
	shim_registry_init();
	shim_large_init();
	/* Rules that cover small sizes get arenas of their own. */
	int classes = 0;
	size_t large_min = SIZE_MAX;
	for (int i = 0; i < shim_policy.num_rules; i++) {
		const struct amlshim_rule *rule = &shim_policy.rules[i];
		if (rule->min < SHIM_LARGE_FLOOR && shim_small_placeable(&rule->placement) &&
		    classes + 1 < SHIM_MAX_CLASSES)
			shim_routes[i].small_class = ++classes;
		if (rule->min < large_min)
			large_min = rule->min;
	}
	shim_small_init(classes);
	shim_large_min = large_min;
}

int shim_start(void)
{
	int expected = SHIM_UNINIT;
	if (!__atomic_compare_exchange_n(&shim_state, &expected, SHIM_BOOTING, 0,
	                                 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return expected == SHIM_READY;
	boot();
	__atomic_store_n(&shim_state, SHIM_READY, __ATOMIC_RELEASE);
	return 1;
}

static void strict_exit(const char *what)
{
	shim_log(AMLSHIM_LOG_ERROR, "AMLSHIM_STRICT=1: %s; exiting with status 2", what);
	_exit(2);
}

__attribute__((constructor)) static void shim_constructor(void)
{
	if (!shim_ready())
		return; /* another thread is in phase 1: areas stay at the kernel default */
	if (shim_policy.strict && shim_policy.errors)
		strict_exit("bad AMLSHIM_* value");
	shim_glibc_resolve();
	shim_fork_install();
	shim_report_prepare();
	shim_thread_busy++;
	int failures = shim_routes_resolve();
	shim_thread_busy--;
	if (shim_policy.strict && failures)
		strict_exit("a policy cannot be applied");
}

__attribute__((destructor)) static void shim_destructor(void)
{
	/* Nothing is torn down: exit handlers and _dl_fini still free. */
	if (__atomic_load_n(&shim_state, __ATOMIC_ACQUIRE) == SHIM_READY)
		shim_report_at_exit();
}
