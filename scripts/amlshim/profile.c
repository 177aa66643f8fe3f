/* amlshim profile: runs a command under the shim in profile mode
 * (AMLSHIM_PROFILE: one raw profile per process, %p), then makes each raw
 * profile a final one (frames named: symbolize.c), written where --output
 * says (%r: the rank, else the process id; %p; %h), and prints the top
 * sites. --raw does the second half alone, on raw profiles a job wrote
 * with AMLSHIM_PROFILE set directly. Exit status: the command's. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "policy.h"
#include "profile.h"
#include "subcommand.h"

/* The shim's variables for profile mode (the shim side reads them). */
#define VAR_PROFILE "AMLSHIM_PROFILE"
#define VAR_DEPTH "AMLSHIM_SITE_DEPTH"
#define VAR_MIN_SIZE "AMLSHIM_PROFILE_MIN_SIZE"
#define VAR_INTERVAL "AMLSHIM_PROFILE_INTERVAL"
#define DEFAULT_OUTPUT "amlshim-profile.%r.json"

static const char usage_text[] =
	"Usage: amlshim profile [OPTION]... [--] COMMAND [ARG]...\n"
	"       amlshim profile [--output=FILE] [--top=N] --raw RAW.json...\n"
	"Run COMMAND under the shim in profile mode: every allocation at or above\n"
	"the minimum size is counted by call site (its stack of return addresses,\n"
	"MODULE+0xOFFSET frames), with the bytes it keeps alive and how often its\n"
	"pages are written (heat). Each process writes a profile; its frames are\n"
	"then named (function from the ELF symbol table, file:line from the debug\n"
	"information through addr2line) and the top sites printed.\n"
	"\n"
	"  --output=FILE   the profile (default " DEFAULT_OUTPUT "; %r: the rank,\n"
	"                  else the process id, %p: the process id, %h: the host)\n"
	"  --min-size=S    profile allocations of S bytes or more (default: the\n"
	"                  shim's threshold; suffixes K, M, G)\n"
	"  --depth=N       frames per site, 1-64 (default 6)\n"
	"  --interval=MS   heat sampling interval in ms, 1-60000\n"
	"  --top=N         sites in the printed table (default 10, 0: none)\n"
	"  --debug-dir=DIR where the debug files of stripped modules are, as\n"
	"                  DIR/.build-id/ab/cdef....debug (default /usr/lib/debug)\n"
	"  --overhead      run COMMAND once without profiling first and print the\n"
	"                  profiling overhead (wall time)\n"
	"  --raw           name the frames of raw profiles (AMLSHIM_PROFILE=FILE)\n"
	"                  instead of running a command\n"
	"  --help          print this help and exit\n"
	"\n"
	"Exit status: COMMAND's (128+N when killed by signal N); 2 for a usage error.\n";

struct profile_opts {
	const char *output, *min_size, *depth, *interval, *debug_dir;
	int top, overhead, raw;
};

static int usage(const char *fmt, const char *arg)
{
	return sub_usage("profile", fmt, arg);
}

/* Options up to the command; returns its index, or -2 after a usage
 * error (printed), -1 for --help. */
static int parse_options(int argc, char **argv, struct profile_opts *o)
{
	o->output = DEFAULT_OUTPUT;
	o->debug_dir = "/usr/lib/debug";
	o->top = 10;
	int i = 1;
	for (; i < argc; i++) {
		const char *a = argv[i], *v;
		int missing = 0;
		long n;
		if (strcmp(a, "--") == 0)
			return i + 1;
		if (a[0] != '-' || a[1] == '\0')
			return i;
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
			return -1;
		if (strcmp(a, "--overhead") == 0)
			o->overhead = 1;
		else if (strcmp(a, "--raw") == 0)
			o->raw = 1;
		else if ((v = sub_option(argc, argv, &i, "--output", &missing)))
			o->output = v;
		else if ((v = sub_option(argc, argv, &i, "--debug-dir", &missing)))
			o->debug_dir = v;
		else if ((v = sub_option(argc, argv, &i, "--min-size", &missing))) {
			unsigned long long size;
			if (sub_size("profile", "--min-size", v, 0, &size) != 0)
				return -2;
			o->min_size = v;
		} else if ((v = sub_option(argc, argv, &i, "--depth", &missing))) {
			if (sub_whole_number(v, 1, 64, &n) != 0)
				return usage("--depth=%s: not a whole number from 1 to 64", v), -2;
			o->depth = v;
		} else if ((v = sub_option(argc, argv, &i, "--interval", &missing))) {
			if (sub_whole_number(v, 1, 60000, &n) != 0)
				return usage("--interval=%s: not a whole number of ms from 1 to 60000", v), -2;
			o->interval = v;
		} else if ((v = sub_option(argc, argv, &i, "--top", &missing))) {
			if (sub_whole_number(v, 0, 100000, &n) != 0)
				return usage("--top=%s: not a whole number from 0 to 100000", v), -2;
			o->top = (int)n;
		} else
			return sub_bad_option("profile", a, missing), -2;
	}
	return i;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs `amlshim -- COMMAND` (this program, so the shim is preloaded the
 * one usual way); the command's exit status, *seconds its wall time. */
static int run_command(char **command, double *seconds)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0) {
		fprintf(stderr, "amlshim profile: cannot find this program: %s\n", strerror(errno));
		return 1;
	}
	self[n] = '\0';
	int count = 0;
	while (command[count])
		count++;
	char **args = calloc((size_t)count + 3, sizeof(*args));
	if (!args) {
		perror("amlshim profile");
		return 1;
	}
	args[0] = "amlshim";
	args[1] = "--";
	memcpy(args + 2, command, (size_t)count * sizeof(*args));
	/* Like system(): ^C and ^\ reach the command, and we stay to write
	 * what it left. */
	struct sigaction ignore = {.sa_handler = SIG_IGN}, old_int, old_quit;
	sigaction(SIGINT, &ignore, &old_int);
	sigaction(SIGQUIT, &ignore, &old_quit);
	double start = now_s();
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGQUIT, &old_quit, NULL);
		execv(self, args);
		_exit(127);
	}
	int status = 0;
	while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	*seconds = now_s() - start;
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGQUIT, &old_quit, NULL);
	free(args);
	if (pid < 0) {
		perror("amlshim profile: fork");
		return 1;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The output name for p: %r, %p, %h, %% expanded. -1 when too long. */
static int expand_output(const char *pattern, const struct profile *p, char *out, size_t len)
{
	size_t n = 0;
	for (const char *s = pattern; *s; s++) {
		char piece[64];
		const char *add = piece;
		if (*s != '%' || !s[1])
			snprintf(piece, sizeof(piece), "%c", *s);
		else if (*++s == 'r')
			snprintf(piece, sizeof(piece), "%lld", p->rank >= 0 ? p->rank : p->pid);
		else if (*s == 'p')
			snprintf(piece, sizeof(piece), "%lld", p->pid);
		else if (*s == 'h')
			add = p->host ? p->host : "unknown";
		else
			snprintf(piece, sizeof(piece), "%s%c", *s == '%' ? "" : "%", *s);
		size_t k = strlen(add);
		if (n + k >= len)
			return -1;
		memcpy(out + n, add, k);
		n += k;
	}
	out[n] = '\0';
	return 0;
}

/* Hottest first (byte-seconds when no heat). */
static int hotter_first(const void *a, const void *b)
{
	const struct prof_site *x = *(const struct prof_site *const *)a, *y = *(const struct prof_site *const *)b;
	double kx = x->has_heat ? x->heat * (double)x->peak_live : -1, ky = y->has_heat ? y->heat * (double)y->peak_live : -1;
	if (kx != ky)
		return kx > ky ? -1 : 1;
	if (x->byte_seconds != y->byte_seconds)
		return x->byte_seconds > y->byte_seconds ? -1 : 1;
	return x->bytes > y->bytes ? -1 : x->bytes < y->bytes;
}

static void print_top(const struct profile *p, const char *written, int top)
{
	char label[300], b1[32], b2[32];
	printf("amlshim profile: %s: %d site%s (pid %lld", written, p->num_sites, p->num_sites == 1 ? "" : "s", p->pid);
	if (p->rank >= 0)
		printf(", rank %lld", p->rank);
	printf(", %.2f s, heat: %s)\n", p->duration_s, p->heat_method ? p->heat_method : "not measured");
	const struct prof_site **order = calloc((size_t)p->num_sites + 1, sizeof(*order));
	if (!order || top == 0 || p->num_sites == 0) {
		free(order);
		return;
	}
	for (int i = 0; i < p->num_sites; i++)
		order[i] = &p->sites[i];
	qsort(order, (size_t)p->num_sites, sizeof(*order), hotter_first);
	printf("  %-44s %8s %10s %10s %8s\n", "site", "count", "bytes", "peak live", "heat");
	for (int i = 0; i < p->num_sites && i < top; i++) {
		const struct prof_site *s = order[i];
		char heat[32] = "-";
		if (s->has_heat)
			snprintf(heat, sizeof(heat), "%.3g", s->heat);
		printf("  %-44.44s %8llu %10s %10s %8s\n", profile_site_label(s, label, sizeof(label)), s->count,
		       profile_bytes(s->bytes, b1, sizeof(b1)), profile_bytes(s->peak_live, b2, sizeof(b2)), heat);
	}
	if (p->num_sites > top)
		printf("  ... %d more in the file\n", p->num_sites - top);
	free(order);
}

/* One raw profile to its final file. 0, or -1 after saying why. */
static int finish(const char *raw, const struct profile_opts *o, int nth, int several)
{
	struct profile p;
	char why[256], out[PATH_MAX];
	if (profile_load(raw, &p, why, sizeof(why)) != 0) {
		fprintf(stderr, "amlshim profile: %s: %s\n", raw, why);
		return -1;
	}
	profile_symbolize(&p, stderr, o->debug_dir);
	int ok = expand_output(o->output, &p, out, sizeof(out) - 24) == 0;
	/* Several processes, one name: the others get their pid appended. */
	if (ok && several && nth > 0 && !strpbrk(o->output, "%")) {
		size_t n = strlen(out);
		snprintf(out + n, sizeof(out) - n, ".%lld", p.pid);
		fprintf(stderr, "amlshim profile: --output has no %%r or %%p: process %lld's profile goes to %s\n", p.pid, out);
	}
	FILE *f = ok ? fopen(out, "w") : NULL;
	if (!f || profile_write(&p, f) != 0 || fclose(f) != 0) {
		fprintf(stderr, "amlshim profile: cannot write %s: %s\n", ok ? out : o->output,
		        ok ? strerror(errno) : "name too long");
		if (f && ok)
			unlink(out);
		profile_free(&p);
		return -1;
	}
	print_top(&p, out, o->top);
	profile_free(&p);
	return 0;
}

static int raw_name(const struct dirent *d)
{
	return strncmp(d->d_name, "raw.", 4) == 0;
}

/* Runs the command with AMLSHIM_PROFILE in a new temporary directory,
 * then finishes each profile found there. */
static int profile_run(char **command, const struct profile_opts *o)
{
	const char *tmp = getenv("TMPDIR");
	char dir[PATH_MAX], pattern[PATH_MAX + 32];
	snprintf(dir, sizeof(dir), "%s/amlshim-profile.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		fprintf(stderr, "amlshim profile: cannot make a temporary directory %s: %s\n", dir, strerror(errno));
		return 1;
	}
	snprintf(pattern, sizeof(pattern), "%s/raw.%%p.json", dir);
	double plain = 0, profiled;
	int status = 0;
	if (o->overhead) {
		status = run_command(command, &plain);
		fprintf(stderr, "amlshim profile: plain run: %.3f s, exit status %d\n", plain, status);
	}
	setenv(VAR_PROFILE, pattern, 1);
	const char *values[][2] = {{VAR_DEPTH, o->depth}, {VAR_MIN_SIZE, o->min_size}, {VAR_INTERVAL, o->interval}};
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
		if (values[i][1])
			setenv(values[i][0], values[i][1], 1);
	status = run_command(command, &profiled);
	struct dirent **names = NULL;
	int n = scandir(dir, &names, raw_name, alphasort);
	if (n <= 0)
		fprintf(stderr, "amlshim profile: no profile was written (%s=%s): the command did not start, "
		        "or the shim has no profile mode\n", VAR_PROFILE, pattern);
	for (int i = 0; i < n; i++) {
		char raw[PATH_MAX + 300];
		snprintf(raw, sizeof(raw), "%s/%s", dir, names[i]->d_name);
		finish(raw, o, i, n > 1);
		unlink(raw);
		free(names[i]);
	}
	free(names);
	rmdir(dir);
	if (o->overhead && plain > 0)
		printf("amlshim profile: profiling overhead %+.1f%% (%.3f s profiled, %.3f s plain)\n",
		       100.0 * (profiled - plain) / plain, profiled, plain);
	return status;
}

int cli_profile_main(int argc, char **argv)
{
	struct profile_opts o = {0};
	int first = parse_options(argc, argv, &o);
	if (first == -1) {
		fputs(usage_text, stdout);
		return fflush(stdout) == 0 ? 0 : 1;
	}
	if (first < 0)
		return 2;
	if (first >= argc)
		return usage("%s", o.raw ? "--raw: no raw profile given" : "no command given");
	if (!o.raw)
		return profile_run(argv + first, &o);
	for (int i = first; i < argc; i++)
		if (argv[i][0] == '-' && argv[i][1])
			return usage("options go before the raw profiles: '%s'", argv[i]);
	int failed = 0;
	for (int i = first; i < argc; i++)
		failed |= finish(argv[i], &o, i - first, argc - first > 1) != 0;
	return failed ? 2 : 0;
}
