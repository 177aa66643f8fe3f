/* amlshim: runs a command under libamlshim.so, like numactl runs one under
 * a memory policy. Options become AMLSHIM_* variables, checked first with
 * the shim's own parser (a bad value stops here, exit 2, with the message
 * the shim would print), the shim goes in front of LD_PRELOAD and the
 * command is exec'ed. --explain says what the settings mean here. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <amlshim.h>
#include "cli.h"

#define EXIT_USAGE 2
#define EXIT_NOT_EXECUTABLE 126
#define EXIT_NOT_FOUND 127

const struct cli_var_info cli_vars[CLI_NUM_VARS] = {
	[CLI_POLICY] = {"AMLSHIM_POLICY", "policy"},
	[CLI_THRESHOLD] = {"AMLSHIM_THRESHOLD", "threshold"},
	[CLI_RULES] = {"AMLSHIM_RULES", "rules"},
	[CLI_SMALL] = {"AMLSHIM_SMALL", "small"},
	[CLI_MMAP] = {"AMLSHIM_MMAP", "mmap"},
	[CLI_STATS] = {"AMLSHIM_STATS", "stats"},
	[CLI_STATS_FILE] = {"AMLSHIM_STATS_FILE", "stats-file"},
	[CLI_LOG] = {"AMLSHIM_LOG", "log"},
	[CLI_STRICT] = {"AMLSHIM_STRICT", "strict"},
	[CLI_DEEPBIND] = {"AMLSHIM_DEEPBIND", "deepbind"},
};

static const char usage_text[] =
	"Usage: amlshim [OPTION]... [--] COMMAND [ARG]...\n"
	"       amlshim --explain [--json] [OPTION]...\n"
	"       amlshim report [REPORT-OPTION]... REPORT.json...\n"
	"       amlshim profile [PROFILE-OPTION]... -- COMMAND [ARG]...\n"
	"       amlshim advise [ADVISE-OPTION]... PROFILE.json...\n"
	"Run COMMAND with libamlshim.so preloaded, which places the memory it\n"
	"allocates (malloc family and private anonymous mmap) by policy.\n"
	"\n"
	"Subcommands (first argument only; `amlshim -- report ...` runs a program\n"
	"named report instead):\n"
	"  report            merge the JSON reports of a job's ranks: a table per host\n"
	"                    of ranks x nodes, the imbalance, an SVG heat map (its\n"
	"                    options: amlshim report --help)\n"
	"  profile           run COMMAND and count its large allocations by call site:\n"
	"                    bytes, peak live, lifetime, write heat (amlshim profile --help)\n"
	"  advise            choose the call sites to put on the fast memory from\n"
	"                    profiles and write an AMLSHIM_SITES file (amlshim advise --help)\n"
	"\n"
	"Options (each sets the AMLSHIM_* variable named after it):\n"
	"  --policy=P        AMLSHIM_POLICY: placement of allocations >= the threshold:\n"
	"                    default, local, bind:NODES, preferred:NODE,\n"
	"                    interleave[:NODES], block-interleave:SIZE[:NODES],\n"
	"                    bandwidth, latency, capacity, cuda-mapped[:DEV],\n"
	"                    cuda-managed[:DEV]\n"
	"  --threshold=S     AMLSHIM_THRESHOLD: size at/above which the policy applies\n"
	"                    (default 1M; suffixes K, M, G, T)\n"
	"  --rules=R         AMLSHIM_RULES: size ranges, overriding the two above, e.g.\n"
	"                    '0-64K=local;64K-1G=interleave;1G-=block-interleave:2M'\n"
	"  --small=P         AMLSHIM_SMALL: placement of small objects' memory: default,\n"
	"                    local, bind:NODES, preferred:NODE, interleave[:NODES],\n"
	"                    bandwidth, latency, capacity (default: default)\n"
	"  --mmap=on|off     AMLSHIM_MMAP: apply the rules to the program's own private\n"
	"                    anonymous mmaps (default on)\n"
	"  --deepbind=keep|drop  AMLSHIM_DEEPBIND: dlopen with RTLD_DEEPBIND keeps the\n"
	"                    flag and binds the library's malloc family to the shim\n"
	"                    (keep, default), or clears the flag (drop)\n"
	"  --stats[=json]    AMLSHIM_STATS=1 (text) or json: placement report at exit\n"
	"  --stats-file=F    AMLSHIM_STATS_FILE: write the report to F instead of stderr\n"
	"                    (%p: the process id, %r: the job rank, or the process\n"
	"                    id when no launcher gives one, %h: the host name, %%: a %)\n"
	"  --log=L           AMLSHIM_LOG: error, warn (default), info, debug\n"
	"  --strict          AMLSHIM_STRICT=1: a bad value or a policy that cannot be\n"
	"                    applied stops the program (exit status 2)\n"
	"  --explain         print the NUMA topology, the bandwidth/latency/capacity\n"
	"                    rankings and what each rule resolves to here; run nothing\n"
	"  --json            with --explain: the same as one JSON object\n"
	"  --help            print this help and exit\n"
	"  --version         print the version and exit\n"
	"Options that take a value also accept it as the next argument (--policy P).\n"
	"NODES: node numbers like 0-3,6, or all; or node sets of this process, alone\n"
	"  or mixed with numbers (interleave:local,3): local, socket, dram, hbm, cxl,\n"
	"  gpu, KIND@socket (see --explain).  SIZE: bytes like 2M.  DEV: 0-1023.\n"
	"\n"
	"Environment:\n"
	"  AMLSHIM_POLICY, AMLSHIM_THRESHOLD, AMLSHIM_RULES, AMLSHIM_SMALL, AMLSHIM_MMAP,\n"
	"  AMLSHIM_STATS, AMLSHIM_STATS_FILE, AMLSHIM_LOG, AMLSHIM_STRICT, AMLSHIM_DEEPBIND,\n"
	"  AMLSHIM_SHARE_SETTLE, AMLSHIM_LEDGER (+share rules)\n"
	"                    read by the shim; options override inherited values\n"
	"  AMLSHIM_LIBRARY   the shim to preload (default: ../lib/libamlshim.so next to\n"
	"                    this command); not passed on to COMMAND\n"
	"  LD_PRELOAD        the shim is put in front of what it already holds\n"
	"  OMPI_COMM_WORLD_*, MPI_LOCALRANKID, SLURM_PROCID, ... the rank, local rank\n"
	"                    and local size in a job, read by the shim (--explain)\n"
	"\n"
	"Exit status: COMMAND's; 2 for a usage error or a bad value; 126 when COMMAND\n"
	"cannot be executed; 127 when it is not found; 1 when the shim is missing.\n";

static void usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "amlshim: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'amlshim --help' for more information.\n");
	exit(EXIT_USAGE);
}

static const char *from_table(const char *name, const struct cli_settings *settings)
{
	for (int i = 0; i < CLI_NUM_VARS; i++)
		if (strcmp(name, cli_vars[i].name) == 0)
			return settings->values[i];
	return NULL;
}

const char *cli_options_env(const char *name, void *ctx)
{
	return from_table(name, ctx);
}

const char *cli_effective_env(const char *name, void *ctx)
{
	const char *value = from_table(name, ctx);
	return value ? value : getenv(name);
}

static void print_line(const char *line, void *ctx)
{
	(void)ctx;
	fprintf(stderr, "%s\n", line);
}

/* "--name=value" or "--name value"; returns the value, advancing *i for
 * the second form. */
static const char *option_value(int argc, char **argv, int *i, const char *name)
{
	const char *arg = argv[*i] + 2;
	size_t len = strlen(name);
	if (arg[len] == '=')
		return arg + len + 1;
	if (*i + 1 >= argc)
		usage_error("option '--%s' needs a value", name);
	return argv[++*i];
}

/* The option's name ("policy" of "--policy=x"), if it is one of ours. */
static int match_option(const char *arg, const char *name)
{
	size_t len = strlen(name);
	return strncmp(arg + 2, name, len) == 0 && (arg[2 + len] == '\0' || arg[2 + len] == '=');
}

/* The shim next to this command: <dir of the executable>/../lib. */
static int find_library(char *path, size_t len)
{
	const char *override = getenv("AMLSHIM_LIBRARY");
	if (override && *override) {
		if ((size_t)snprintf(path, len, "%s", override) >= len)
			return -1;
		return 0;
	}
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return -1;
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	char joined[PATH_MAX + 32], lib[PATH_MAX];
	snprintf(joined, sizeof(joined), "%s/../lib", self);
	/* The directory resolved (no "bin/.." in messages), the file as named:
	 * LD_PRELOAD gets the path even when it is a link. */
	const char *dir = realpath(joined, lib) ? lib : joined;
	if ((size_t)snprintf(path, len, "%s/libamlshim.so", dir) >= len)
		return -1;
	return 0;
}

static void set_preload(const char *library)
{
	const char *old = getenv("LD_PRELOAD");
	if (!old || !*old) {
		setenv("LD_PRELOAD", library, 1);
		return;
	}
	size_t len = strlen(library) + 1 + strlen(old) + 1;
	char *joined = malloc(len);
	if (!joined) {
		perror("amlshim");
		exit(1);
	}
	snprintf(joined, len, "%s:%s", library, old);
	setenv("LD_PRELOAD", joined, 1);
	free(joined);
}

static void run(char **command, const char *library)
{
	if (access(library, R_OK) != 0) {
		fprintf(stderr, "amlshim: cannot use the shim library %s: %s (set AMLSHIM_LIBRARY)\n",
		        library, strerror(errno));
		exit(1);
	}
	if (strpbrk(library, ": ")) {
		fprintf(stderr, "amlshim: the shim library path %s holds ':' or ' ', which LD_PRELOAD "
		                "cannot carry\n", library);
		exit(1);
	}
	set_preload(library);
	unsetenv("AMLSHIM_LIBRARY");
	execvp(command[0], command);
	int err = errno;
	fprintf(stderr, "amlshim: %s: %s\n", command[0],
	        err == ENOENT ? "command not found" : strerror(err));
	exit(err == ENOENT || err == ENOTDIR ? EXIT_NOT_FOUND : EXIT_NOT_EXECUTABLE);
}

int main(int argc, char **argv)
{
	struct cli_settings settings = {{0}};
	int explain = 0, json = 0, i = 1;
	/* Subcommands come first, alone; `amlshim -- report` runs a program. */
	if (argc > 1 && strcmp(argv[1], "report") == 0)
		return cli_report_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "profile") == 0)
		return cli_profile_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "advise") == 0)
		return cli_advise_main(argc - 1, argv + 1);
	for (; i < argc; i++) {
		const char *arg = argv[i];
		if (strcmp(arg, "--") == 0) {
			i++;
			break;
		}
		if (arg[0] != '-' || arg[1] == '\0')
			break;
		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			fputs(usage_text, stdout);
			return fflush(stdout) == 0 ? 0 : 1;
		}
		if (strcmp(arg, "--version") == 0) {
			printf("amlshim %s\n", AMLSHIM_VERSION);
			return fflush(stdout) == 0 ? 0 : 1;
		}
		if (strcmp(arg, "--explain") == 0) {
			explain = 1;
			continue;
		}
		if (strcmp(arg, "--json") == 0) {
			json = 1;
			continue;
		}
		if (strcmp(arg, "--strict") == 0) {
			settings.values[CLI_STRICT] = "1";
			continue;
		}
		if (strcmp(arg, "--stats") == 0) {
			settings.values[CLI_STATS] = "1";
			continue;
		}
		if (strncmp(arg, "--stats=", 8) == 0) {
			settings.values[CLI_STATS] = arg + 8;
			if (!arg[8])
				usage_error("option '--%s' needs a value", "stats=");
			continue;
		}
		int known = 0;
		for (int v = 0; v < CLI_NUM_VARS && !known; v++) {
			if (v == CLI_STATS || v == CLI_STRICT || arg[1] != '-' || !match_option(arg, cli_vars[v].option))
				continue;
			const char *value = option_value(argc, argv, &i, cli_vars[v].option);
			if (!*value)
				usage_error("option '--%s' needs a value", cli_vars[v].option);
			settings.values[v] = value;
			known = 1;
		}
		if (!known)
			usage_error("unknown option '%s'", arg);
	}

	/* The values given here, through the shim's parser. */
	struct amlshim_policy policy;
	amlshim_policy_parse(&policy, cli_options_env, &settings, print_line, NULL);
	if (policy.errors)
		return EXIT_USAGE;

	char library[PATH_MAX + 64];
	if (find_library(library, sizeof(library)) != 0) {
		fprintf(stderr, "amlshim: cannot tell where libamlshim.so is (set AMLSHIM_LIBRARY)\n");
		return 1;
	}
	if (explain) {
		if (i < argc)
			usage_error("--explain runs nothing, but a command was given: '%s'", argv[i]);
		return json ? cli_explain_json(&settings, library, stdout) : cli_explain(&settings, library, stdout);
	}
	if (json)
		usage_error("%s", "--json goes with --explain");
	if (i >= argc)
		usage_error("%s", "no command given (or use --explain)");
	for (int v = 0; v < CLI_NUM_VARS; v++)
		if (settings.values[v])
			setenv(cli_vars[v].name, settings.values[v], 1);
	run(argv + i, library);
	return 1;
}
