/* amlshim_spank.so: a Slurm SPANK plugin that runs each task of a job step
 * under libamlshim.so.
 *
 *   srun --amlshim=POLICY --amlshim-rules=R --amlshim-stats[=json]
 *        --amlshim-stats-dir=DIR ...      (and the same as #SBATCH lines)
 *
 * Values are checked where they are given (srun, sbatch, salloc) by the
 * shim's own parser, so a bad one is refused with the shim's one-line
 * message before anything is allocated, and a job never starts half
 * configured. In each task (slurmstepd, after fork, before exec) the plugin
 * puts the shim in front of LD_PRELOAD and sets the AMLSHIM_* variables.
 *
 * plugstack.conf arguments (site settings):
 *   library=PATH          the shim to preload (default: the installed one)
 *   default_policy=P      used when a job gives no --amlshim
 *   default_rules=R       used when a job gives no --amlshim-rules
 *   default_stats=1|json  used when a job gives no --amlshim-stats
 *   default_stats_dir=DIR used when a job gives no --amlshim-stats-dir
 *   forbid=NAME[,NAME]    options users may not give: policy, rules, stats,
 *                         stats-dir (an attempt is refused at submission)
 * A bad argument fails the plugin's start, so Slurm refuses the job rather
 * than running it with half a configuration. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <slurm/slurm.h>
#include <slurm/spank.h>

#include "policy.h"

#ifndef AMLSHIM_DEFAULT_LIBRARY
#define AMLSHIM_DEFAULT_LIBRARY "/usr/local/lib/libamlshim.so"
#endif

SPANK_PLUGIN(amlshim, 1);

enum opt_id { OPT_POLICY, OPT_RULES, OPT_STATS, OPT_STATS_DIR, NUM_OPTS };

/* Names as plugstack.conf's forbid= spells them. */
static const char *const opt_short[NUM_OPTS] = {"policy", "rules", "stats", "stats-dir"};

/* What the job asked for (option values), else the site's defaults. Each
 * process (srun, sbatch, slurmstepd) loads the plugin afresh. */
static struct {
	char *value[NUM_OPTS];   /* given by the job */
	char *dflt[NUM_OPTS];    /* site default */
	int forbidden[NUM_OPTS];
	int off;                 /* --amlshim=off: no shim for this job */
	char library[1024];
} conf = {.library = AMLSHIM_DEFAULT_LIBRARY};

static int option_cb(int val, const char *optarg, int remote);

static struct spank_option options[NUM_OPTS] = {
	[OPT_POLICY] = {"amlshim", "POLICY",
	                "Run each task under libamlshim.so with this placement policy for "
	                "large allocations (AMLSHIM_POLICY: interleave, bind:NODES, bandwidth, "
	                "...), or 'off' for no shim.",
	                1, OPT_POLICY, option_cb},
	[OPT_RULES] = {"amlshim-rules", "RULES",
	               "Size-range placement table for the shim (AMLSHIM_RULES), e.g. "
	               "'0-64K=local;64K-=interleave'.",
	               1, OPT_RULES, option_cb},
	[OPT_STATS] = {"amlshim-stats", "json",
	               "Placement report of each task at exit (AMLSHIM_STATS): a table, or "
	               "JSON with =json.",
	               2, OPT_STATS, option_cb},
	[OPT_STATS_DIR] = {"amlshim-stats-dir", "DIR",
	                   "Write the reports to DIR/amlshim.JOB.STEP.RANK.PID.{txt,json} "
	                   "instead of the task's stderr (implies --amlshim-stats=json when "
	                   "that is not given).",
	                   1, OPT_STATS_DIR, option_cb},
};

/* In srun/sbatch a refusal goes to the user's terminal exactly as the shim
 * words it; in slurmstepd it goes to Slurm's log. */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	char line[AMLSHIM_MESSAGE_MAX + 256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	spank_context_t ctx = spank_context();
	if (ctx == S_CTX_LOCAL || ctx == S_CTX_ALLOCATOR)
		fprintf(stderr, "%s\n", line);
	else
		slurm_error("%s", line);
}

/* The parser reads one variable from this table; the rest are unset. */
struct one_var {
	const char *name;
	const char *value;
};

static const char *one_var_env(const char *name, void *ctx)
{
	const struct one_var *var = ctx;
	return strcmp(name, var->name) == 0 ? var->value : NULL;
}

static void say_line(const char *line, void *ctx)
{
	(void)ctx;
	say("%s", line);
}

/* Checks NAME=VALUE with the shim's parser; 0 when good (the parser has
 * printed its line otherwise). */
static int check_var(const char *name, const char *value)
{
	struct one_var var = {name, value};
	struct amlshim_policy policy;
	amlshim_policy_parse(&policy, one_var_env, &var, say_line, NULL);
	return policy.errors ? -1 : 0;
}

/* The longest report path the task could get from DIR, which the shim
 * must accept as AMLSHIM_STATS_FILE. */
static int stats_path(char *buf, size_t len, const char *dir, uint32_t job, const char *step,
                      uint32_t rank, const char *ext)
{
	int n = snprintf(buf, len, "%s/amlshim.%u.%s.%u.%%p.%s", dir, job, step, rank, ext);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

static int check_value(int id, const char *value)
{
	char path[8192];
	switch (id) {
	case OPT_POLICY:
		return strcmp(value, "off") == 0 ? 0 : check_var("AMLSHIM_POLICY", value);
	case OPT_RULES:
		return check_var("AMLSHIM_RULES", value);
	case OPT_STATS:
		return check_var("AMLSHIM_STATS", value);
	case OPT_STATS_DIR:
		if (value[0] != '/') {
			say("amlshim: --amlshim-stats-dir='%s' is not valid: not an absolute path "
			    "(tasks start in their own working directory)", value);
			return -1;
		}
		/* The largest job, step and rank numbers: if they fit, all do. */
		if (stats_path(path, sizeof(path), value, UINT32_MAX, "extern", UINT32_MAX, "json") != 0)
			return check_var("AMLSHIM_STATS_FILE", value);
		return check_var("AMLSHIM_STATS_FILE", path);
	}
	return -1;
}

static int option_cb(int val, const char *optarg, int remote)
{
	(void)remote;
	if (val < 0 || val >= NUM_OPTS)
		return -1;
	if (conf.forbidden[val]) {
		say("amlshim: --%s is not allowed on this cluster (plugstack.conf: forbid=%s)",
		    options[val].name, opt_short[val]);
		return -1;
	}
	/* --amlshim-stats alone means the table, as AMLSHIM_STATS=1. */
	const char *value = optarg && *optarg ? optarg : val == OPT_STATS ? "1" : NULL;
	if (!value) {
		say("amlshim: --%s needs a value", options[val].name);
		return -1;
	}
	if (check_value(val, value) != 0)
		return -1;
	free(conf.value[val]);
	conf.value[val] = strdup(value);
	conf.off = val == OPT_POLICY && strcmp(value, "off") == 0;
	return conf.value[val] ? 0 : -1;
}

/* plugstack.conf arguments; -1 (after a message) on a bad one. */
static int site_argument(const char *arg)
{
	static const char *const dflt_key[NUM_OPTS] = {"default_policy=", "default_rules=",
	                                              "default_stats=", "default_stats_dir="};
	if (strncmp(arg, "library=", 8) == 0) {
		const char *path = arg + 8;
		if (path[0] != '/' || strpbrk(path, ": ") ||
		    (size_t)snprintf(conf.library, sizeof(conf.library), "%s", path) >= sizeof(conf.library)) {
			slurm_error("amlshim: plugstack.conf: %s: the library must be an absolute path "
			            "without ':' or ' ' (LD_PRELOAD cannot carry them)", arg);
			return -1;
		}
		return 0;
	}
	for (int i = 0; i < NUM_OPTS; i++) {
		size_t n = strlen(dflt_key[i]);
		if (strncmp(arg, dflt_key[i], n) != 0)
			continue;
		const char *value = arg + n;
		if (!*value || check_value(i, value) != 0) {
			slurm_error("amlshim: plugstack.conf: bad site default %s", arg);
			return -1;
		}
		free(conf.dflt[i]);
		conf.dflt[i] = strdup(value);
		return conf.dflt[i] ? 0 : -1;
	}
	if (strncmp(arg, "forbid=", 7) == 0) {
		char list[256];
		if ((size_t)snprintf(list, sizeof(list), "%s", arg + 7) >= sizeof(list))
			return -1;
		for (char *save = NULL, *name = strtok_r(list, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
			int found = 0;
			for (int i = 0; i < NUM_OPTS; i++)
				if (strcmp(name, opt_short[i]) == 0)
					conf.forbidden[i] = found = 1;
			if (!found) {
				slurm_error("amlshim: plugstack.conf: forbid=%s: unknown option '%s' (accepted: "
				            "policy, rules, stats, stats-dir)", arg + 7, name);
				return -1;
			}
		}
		return 0;
	}
	slurm_error("amlshim: plugstack.conf: unknown argument '%s' (accepted: library=, "
	            "default_policy=, default_rules=, default_stats=, default_stats_dir=, forbid=)", arg);
	return -1;
}

int slurm_spank_init(spank_t sp, int ac, char **av)
{
	spank_context_t ctx = spank_context();
	/* slurmd and prolog/epilog scripts have no options and no tasks. */
	if (ctx != S_CTX_LOCAL && ctx != S_CTX_REMOTE && ctx != S_CTX_ALLOCATOR)
		return 0;
	for (int i = 0; i < ac; i++)
		if (site_argument(av[i]) != 0)
			return -1;
	/* Registered here (not as a static table) so sbatch and salloc see
	 * them too, and #SBATCH lines work. */
	for (int i = 0; i < NUM_OPTS; i++)
		if (spank_option_register(sp, &options[i]) != ESPANK_SUCCESS) {
			slurm_error("amlshim: cannot register --%s", options[i].name);
			return -1;
		}
	return 0;
}

static const char *setting(int id)
{
	return conf.value[id] ? conf.value[id] : conf.dflt[id];
}

static int set(spank_t sp, const char *name, const char *value)
{
	if (spank_setenv(sp, name, value, 1) != ESPANK_SUCCESS) {
		slurm_error("amlshim: cannot set %s in the task's environment", name);
		return -1;
	}
	return 0;
}

/* The shim in front of LD_PRELOAD (once: a batch script under the shim
 * passes it on to the steps it starts). */
static int set_preload(spank_t sp)
{
	char old[8192] = "";
	if (spank_getenv(sp, "LD_PRELOAD", old, sizeof(old)) != ESPANK_SUCCESS)
		old[0] = '\0';
	size_t n = strlen(conf.library);
	for (const char *p = old; (p = strstr(p, conf.library)) != NULL; p += n)
		if ((p == old || p[-1] == ':' || p[-1] == ' ') && (p[n] == '\0' || p[n] == ':' || p[n] == ' '))
			return 0;
	char joined[sizeof(old) + sizeof(conf.library) + 1];
	snprintf(joined, sizeof(joined), "%s%s%s", conf.library, old[0] ? ":" : "", old);
	return set(sp, "LD_PRELOAD", joined);
}

/* In the task, after fork and before exec: the environment it will run in. */
int slurm_spank_task_init(spank_t sp, int ac, char **av)
{
	(void)ac;
	(void)av;
	uint32_t job = 0, step = 0, rank = 0;
	if (spank_get_item(sp, S_JOB_ID, &job) != ESPANK_SUCCESS ||
	    spank_get_item(sp, S_JOB_STEPID, &step) != ESPANK_SUCCESS ||
	    spank_get_item(sp, S_TASK_GLOBAL_ID, &rank) != ESPANK_SUCCESS)
		return 0;
	/* The extern step only holds the job's processes for accounting. */
	if (step == SLURM_EXTERN_CONT)
		return 0;
	const char *policy = setting(OPT_POLICY), *rules = setting(OPT_RULES);
	const char *stats = setting(OPT_STATS), *dir = setting(OPT_STATS_DIR);
	if (conf.off || (policy && strcmp(policy, "off") == 0) || (!policy && !rules && !stats && !dir))
		return 0;
	if (dir && !stats)
		stats = "json";
	if (set_preload(sp) != 0 || (policy && set(sp, "AMLSHIM_POLICY", policy) != 0) ||
	    (rules && set(sp, "AMLSHIM_RULES", rules) != 0) || (stats && set(sp, "AMLSHIM_STATS", stats) != 0))
		return -1;
	if (dir) {
		char step_name[16], path[8192];
		if (step == SLURM_BATCH_SCRIPT)
			snprintf(step_name, sizeof(step_name), "batch");
		else if (step == SLURM_INTERACTIVE_STEP)
			snprintf(step_name, sizeof(step_name), "interactive");
		else
			snprintf(step_name, sizeof(step_name), "%u", step);
		int json = strcmp(stats, "json") == 0;
		/* %p: every process of the task (a wrapper script and what it
		 * runs) writes its own report; the task's is the one with its pid. */
		if (stats_path(path, sizeof(path), dir, job, step_name, rank, json ? "json" : "txt") != 0 ||
		    set(sp, "AMLSHIM_STATS_FILE", path) != 0)
			return -1;
	}
	return 0;
}

int slurm_spank_exit(spank_t sp, int ac, char **av)
{
	(void)sp;
	(void)ac;
	(void)av;
	for (int i = 0; i < NUM_OPTS; i++) {
		free(conf.value[i]);
		free(conf.dflt[i]);
		conf.value[i] = conf.dflt[i] = NULL;
	}
	return 0;
}
