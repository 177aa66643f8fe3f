/* Helpers for the shim tests (tests/shim/): each test is a plain program
 * that must run under libamlshim.so. shim_test_start() re-executes the
 * program with LD_PRELOAD set to the shim (found next to the build, as
 * build/tests/shim/NAME -> build/lib/libamlshim.so, or AMLSHIM_TEST_LIB)
 * and exactly the AMLSHIM_* variables the test asks for; then it reads the
 * shim's report, spawns copies of itself in other modes, and fills and
 * checks memory with patterns. Exit codes: 0 pass, 77 skip, other fail.
 *
 * Everything here is static inline so that C and C++ tests share it. */
#ifndef AMLSHIM_TESTS_SHIM_TEST_H
#define AMLSHIM_TESTS_SHIM_TEST_H

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <numaif.h>
#include <amlshim.h> /* declarations only: tests look the functions up at run time */

#ifdef __cplusplus
extern "C" {
#endif
#include "check.h"
#ifdef __cplusplus
}
#endif

#ifndef MPOL_LOCAL
#define MPOL_LOCAL 4
#endif

/* Marks the environment of a re-executed test, so that a preload that did
 * not take effect fails instead of looping. Not AMLSHIM_*: the shim warns
 * about variables it does not know. */
#define SHIM_TEST_REEXEC_VAR "SHIM_TEST_REEXEC"
/* Wall-clock limit of a test process (generous: the test VM emulates its
 * CPUs); a deadlock fails instead of hanging until the runner kills it. */
#define SHIM_TEST_ALARM_S 400

/* Keeps the compiler from eliding allocations whose results look unused. */
static inline void shim_test_escape(const void *p)
{
	__asm__ volatile("" : : "g"(p) : "memory");
}

static inline double shim_test_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- Expectations that do not stop the test ------------------------------ */

/* EXPECT reports a failure and goes on, so that one run lists every
 * deviation; shim_test_expect_summary() repeats the first message of each
 * failing line (the runner shows a log's tail) and returns the exit code. */
struct shim_test_expect_state {
	int failures;
	const char *prefix; /* a test mode, printed in front of messages */
	int lines[32], counts[32], used;
	char first[32][240];
};
static struct shim_test_expect_state shim_test_expect_state __attribute__((unused));

__attribute__((format(printf, 3, 4), unused)) static void shim_test_expect_failed(const char *file, int line,
                                                                                 const char *fmt, ...)
{
	struct shim_test_expect_state *st = &shim_test_expect_state;
	char message[240];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	fprintf(stderr, "FAIL %s:%d: %s%s%s%s\n", file, line, st->prefix ? "[" : "", st->prefix ? st->prefix : "",
	        st->prefix ? "] " : "", message);
	st->failures++;
	for (int i = 0; i < st->used; i++) {
		if (st->lines[i] == line) {
			st->counts[i]++;
			return;
		}
	}
	if (st->used < 32) {
		st->lines[st->used] = line;
		st->counts[st->used] = 1;
		snprintf(st->first[st->used], sizeof(st->first[0]), "%s%s%s%s", st->prefix ? "[" : "",
		         st->prefix ? st->prefix : "", st->prefix ? "] " : "", message);
		st->used++;
	}
}

#define EXPECT(cond, ...)                                                        \
	do {                                                                     \
		if (!(cond))                                                     \
			shim_test_expect_failed(__FILE__, __LINE__, __VA_ARGS__); \
	} while (0)

/* Prints the summary of failed expectations; 0 when there were none. */
__attribute__((unused)) static int shim_test_expect_summary(const char *test)
{
	struct shim_test_expect_state *st = &shim_test_expect_state;
	fflush(stdout);
	if (!st->failures) {
		printf("%s: ok\n", test);
		return 0;
	}
	fprintf(stderr, "%s: %d failed expectations, by line:\n", test, st->failures);
	for (int i = 0; i < st->used; i++)
		fprintf(stderr, "  line %d (x%d): %s\n", st->lines[i], st->counts[i], st->first[i]);
	return 1;
}

/* ---- Running under the shim ---------------------------------------------- */

static inline int shim_test_active(void)
{
	return dlsym(RTLD_DEFAULT, "amlshim_version") != NULL;
}

/* The shim's file: the loaded one, AMLSHIM_TEST_LIB, or the build's
 * lib/libamlshim.so two directories above this program. 0 or -1. */
static inline int shim_test_lib_path(char *buf, size_t len)
{
	void *sym = dlsym(RTLD_DEFAULT, "amlshim_version");
	Dl_info info;
	if (sym && dladdr(sym, &info) && info.dli_fname && info.dli_fname[0] == '/') {
		snprintf(buf, len, "%s", info.dli_fname);
		return 0;
	}
	const char *override = getenv("AMLSHIM_TEST_LIB");
	if (override && *override) {
		snprintf(buf, len, "%s", override);
		return access(buf, R_OK) == 0 ? 0 : -1;
	}
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return -1;
	exe[n] = '\0';
	for (int up = 0; up < 3; up++) { /* NAME, shim/, tests/ */
		char *slash = strrchr(exe, '/');
		if (!slash)
			return -1;
		*slash = '\0';
	}
	snprintf(buf, len, "%s/lib/libamlshim.so", exe);
	return access(buf, R_OK) == 0 ? 0 : -1;
}

/* Whether NAME=VALUE entries of env are exactly the AMLSHIM_* variables set. */
static inline int shim_test_env_matches(const char *const *env)
{
	extern char **environ;
	int wanted = 0;
	for (const char *const *e = env; e && *e; e++) {
		const char *eq = strchr(*e, '=');
		char name[128];
		snprintf(name, sizeof(name), "%.*s", (int)(eq - *e), *e);
		const char *have = getenv(name);
		if (!have || strcmp(have, eq + 1) != 0)
			return 0;
		wanted += strncmp(*e, "AMLSHIM_", 8) == 0;
	}
	int present = 0;
	for (char **e = environ; *e; e++)
		present += strncmp(*e, "AMLSHIM_", 8) == 0;
	return present == wanted;
}

/* A new environment: this one without AMLSHIM_* (and the re-exec mark),
 * with LD_PRELOAD starting with lib (when given), plus env and extra. */
static inline char **shim_test_make_env(const char *lib, const char *const *env, const char *extra)
{
	extern char **environ;
	size_t count = 0, wanted = 0;
	while (environ[count])
		count++;
	while (env && env[wanted])
		wanted++;
	char **out = (char **)calloc(count + wanted + 3, sizeof(char *));
	CHECK(out != NULL, "out of memory");
	size_t n = 0;
	const char *preload = NULL;
	for (size_t i = 0; i < count; i++) {
		if (strncmp(environ[i], "AMLSHIM_", 8) == 0 ||
		    strncmp(environ[i], SHIM_TEST_REEXEC_VAR "=", sizeof(SHIM_TEST_REEXEC_VAR)) == 0)
			continue;
		if (lib && strncmp(environ[i], "LD_PRELOAD=", 11) == 0) {
			preload = environ[i] + 11;
			continue;
		}
		out[n++] = environ[i];
	}
	if (lib) {
		size_t len = strlen(lib) + (preload ? strlen(preload) : 0) + 16;
		char *value = (char *)malloc(len);
		CHECK(value != NULL, "out of memory");
		snprintf(value, len, "LD_PRELOAD=%s%s%s", lib, preload && *preload ? ":" : "",
		         preload ? preload : "");
		out[n++] = value;
	}
	for (size_t i = 0; i < wanted; i++)
		out[n++] = (char *)env[i];
	if (extra)
		out[n++] = (char *)extra;
	out[n] = NULL;
	return out;
}

static inline void shim_test_on_alarm(int sig)
{
	(void)sig;
	static const char msg[] = "FAIL: the test did not finish in time (deadlock?)\n";
	ssize_t ignored = write(STDERR_FILENO, msg, sizeof(msg) - 1);
	(void)ignored;
	_exit(3);
}

/* Sets a wall-clock limit (seconds) after which the test fails. */
static inline void shim_test_deadline(unsigned seconds)
{
	signal(SIGALRM, shim_test_on_alarm);
	alarm(seconds);
}

/* Makes sure this program runs under the shim with exactly the AMLSHIM_*
 * variables in env (NULL-terminated "NAME=VALUE" list; non-AMLSHIM names
 * are set too): returns when it does, re-executes itself otherwise. Skips
 * (fails with CI=true) when the shim cannot be found. */
static inline void shim_test_start(char **argv, const char *const *env)
{
	if (shim_test_active() && shim_test_env_matches(env)) {
		shim_test_deadline(SHIM_TEST_ALARM_S);
		return;
	}
	if (getenv(SHIM_TEST_REEXEC_VAR)) {
		fprintf(stderr, "FAIL: re-executed with LD_PRELOAD=%s but the shim is %s\n",
		        getenv("LD_PRELOAD") ? getenv("LD_PRELOAD") : "(unset)",
		        shim_test_active() ? "loaded with other AMLSHIM_* variables" : "not loaded");
		exit(1);
	}
	char lib[PATH_MAX];
	if (shim_test_lib_path(lib, sizeof(lib)) != 0)
		test_skip_dependency("libamlshim.so not found (looked at %s; build it with 'make lib' or set "
		                     "AMLSHIM_TEST_LIB)", lib);
	char **envp = shim_test_make_env(lib, env, SHIM_TEST_REEXEC_VAR "=1");
	fflush(NULL);
	execve("/proc/self/exe", argv, envp);
	fprintf(stderr, "FAIL: cannot re-execute /proc/self/exe: %s\n", strerror(errno));
	exit(1);
}

/* Waits for child pid at most timeout_s seconds: its exit status, 128+N
 * for a signal N, or -1 when it had to be killed. */
static inline int shim_test_wait(pid_t pid, double timeout_s)
{
	double end = shim_test_now() + timeout_s;
	for (;;) {
		int status;
		pid_t done = waitpid(pid, &status, WNOHANG);
		CHECK(done >= 0, "waitpid: %s", strerror(errno));
		if (done == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		if (shim_test_now() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		usleep(1000);
	}
}

/* Runs this program again (argv: its argv[0], then args, NULL-terminated)
 * under the shim (LD_PRELOAD is inherited) with the AMLSHIM_* variables of
 * env only. Waits at most timeout_s seconds. Returns the exit status, 128+N
 * for a signal N, or -1 when it had to be killed. *pid_out gets its pid. */
static inline int shim_test_spawn(char *const *args, const char *const *env, int timeout_s, pid_t *pid_out)
{
	char **envp = shim_test_make_env(NULL, env, NULL);
	fflush(NULL);
	pid_t pid = fork();
	CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		execve("/proc/self/exe", args, envp);
		_exit(126);
	}
	free(envp);
	if (pid_out)
		*pid_out = pid;
	return shim_test_wait(pid, timeout_s);
}

/* A fresh private directory under $TMPDIR or /tmp (remove it with
 * shim_test_remove_dir); path in buf. */
static inline void shim_test_tmpdir(char *buf, size_t len)
{
	const char *base = getenv("TMPDIR");
	snprintf(buf, len, "%s/amlshim-test.XXXXXX", base && *base ? base : "/tmp");
	CHECK(mkdtemp(buf) != NULL, "mkdtemp %s: %s", buf, strerror(errno));
}

/* Removes the files of dir and dir itself. */
static inline void shim_test_remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *entry;
		while ((entry = readdir(d))) {
			if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
				continue;
			char path[PATH_MAX];
			snprintf(path, sizeof(path), "%s/%s", dir, entry->d_name);
			unlink(path);
		}
		closedir(d);
	}
	rmdir(dir);
}

/* Reads a whole file into buf (NUL-terminated); returns its length or -1. */
static inline long shim_test_read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t used = 0;
	for (;;) {
		ssize_t n = read(fd, buf + used, len - 1 - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		used += (size_t)n;
		if (used == len - 1)
			break;
	}
	close(fd);
	buf[used] = '\0';
	return (long)used;
}

/* ---- The shim's report ------------------------------------------------- */

/* amlshim_write_report, looked up at run time (the tests do not link it). */
static inline int shim_test_write_report(int fd, int json)
{
	int (*write_report)(int, int);
	*(void **)&write_report = dlsym(RTLD_DEFAULT, "amlshim_write_report");
	CHECK(write_report != NULL, "amlshim_write_report not found: not running under the shim");
	return write_report(fd, json);
}

/* What was written to fd (a memfd) from its start, into buf
 * (NUL-terminated); the bytes read. */
static inline size_t shim_test_read_back(int fd, char *buf, size_t len)
{
	CHECK(lseek(fd, 0, SEEK_SET) == 0, "lseek");
	size_t used = 0;
	ssize_t n;
	while (used < len - 1 && (n = read(fd, buf + used, len - 1 - used)) > 0)
		used += (size_t)n;
	buf[used] = '\0';
	return used;
}

/* The report now, into buf (NUL-terminated). No malloc: a memfd and read(2). */
static inline void shim_test_report(char *buf, size_t len, int json)
{
	int fd = (int)syscall(SYS_memfd_create, "amlshim-report", 1U /* MFD_CLOEXEC */);
	CHECK(fd >= 0, "memfd_create: %s", strerror(errno));
	CHECK(shim_test_write_report(fd, json) == 0, "amlshim_write_report failed");
	size_t used = shim_test_read_back(fd, buf, len);
	close(fd);
	CHECK(used > 0 && used < len - 1, "report of %zu bytes", used);
}

/* One number after "key": at or after from; LONG_MIN when missing. */
static inline long shim_test_json_number(const char *from, const char *key)
{
	char pattern[80];
	snprintf(pattern, sizeof(pattern), "\"%s\":", key);
	const char *at = from ? strstr(from, pattern) : NULL;
	if (!at)
		return LONG_MIN;
	at += strlen(pattern);
	if (strncmp(at, "null", 4) == 0)
		return -1;
	char *end;
	long value = strtol(at, &end, 10);
	return end == at ? LONG_MIN : value;
}

struct shim_rule_stats {
	int found;
	long count, bytes, live_bytes, peak_bytes, realloc_moves, realloc_remaps, reuses, fallbacks, mmaps;
	char policy[96];
};

/* The statistics of the rule starting at min, from a JSON report. */
static inline struct shim_rule_stats shim_test_rule_in(const char *json, size_t min)
{
	struct shim_rule_stats s;
	memset(&s, 0, sizeof(s));
	char pattern[64];
	snprintf(pattern, sizeof(pattern), "{\"min\":%zu,", min);
	const char *rule = strstr(json, pattern);
	if (!rule)
		return s;
	s.found = 1;
	s.count = shim_test_json_number(rule, "count");
	s.bytes = shim_test_json_number(rule, "bytes");
	s.live_bytes = shim_test_json_number(rule, "live_bytes");
	s.peak_bytes = shim_test_json_number(rule, "peak_bytes");
	s.realloc_moves = shim_test_json_number(rule, "realloc_moves");
	s.realloc_remaps = shim_test_json_number(rule, "realloc_remaps");
	s.reuses = shim_test_json_number(rule, "reuses");
	s.fallbacks = shim_test_json_number(rule, "fallbacks");
	s.mmaps = shim_test_json_number(rule, "mmaps");
	const char *policy = strstr(rule, "\"policy\":\"");
	if (policy) {
		policy += 10;
		size_t n = strcspn(policy, "\"");
		snprintf(s.policy, sizeof(s.policy), "%.*s", (int)n, policy);
	}
	return s;
}

static char shim_test_report_buf[1 << 16];

/* The statistics of the rule starting at min, now. */
static inline struct shim_rule_stats shim_test_rule(size_t min)
{
	shim_test_report(shim_test_report_buf, sizeof(shim_test_report_buf), 1);
	struct shim_rule_stats s = shim_test_rule_in(shim_test_report_buf, min);
	CHECK(s.found, "no rule with min %zu in the report: %s", min, shim_test_report_buf);
	return s;
}

/* A top-level counter of the JSON report now ("foreign_frees", ...). */
static inline long shim_test_report_counter(const char *key)
{
	shim_test_report(shim_test_report_buf, sizeof(shim_test_report_buf), 1);
	long value = shim_test_json_number(shim_test_report_buf, key);
	CHECK(value != LONG_MIN, "no \"%s\" in the report: %s", key, shim_test_report_buf);
	return value;
}

/* Sum of "resident_pages_exit" (or another per-node key) over the nodes;
 * per_node[n] gets each (up to max entries). */
static inline long shim_test_node_pages(const char *json, const char *key, long *per_node, int max)
{
	const char *nodes = strstr(json, "\"nodes\":[");
	CHECK(nodes != NULL, "no nodes in the report: %s", json);
	const char *end = strchr(nodes, ']');
	CHECK(end != NULL, "bad nodes array");
	long total = 0;
	for (int i = 0; i < max; i++)
		if (per_node)
			per_node[i] = 0;
	const char *at = nodes;
	while ((at = strstr(at, "{\"node\":")) && at < end) {
		long node = strtol(at + 8, NULL, 10);
		long pages = shim_test_json_number(at, key);
		CHECK(pages != LONG_MIN && pages >= 0, "bad %s for node %ld", key, node);
		total += pages;
		if (per_node && node >= 0 && node < max)
			per_node[node] = pages;
		at++;
	}
	return total;
}

/* ---- Placement ----------------------------------------------------------- */

/* The kernel's policy (MPOL_*) for the page at addr; mask: first word. */
static inline int shim_test_policy(const void *addr, unsigned long *mask)
{
	int mode = -1;
	int ret = test_range_policy(addr, &mode, mask);
	CHECK(ret == 0, "get_mempolicy(MPOL_F_ADDR, %p): %s", addr, strerror(-ret));
	return mode;
}

static inline const char *shim_test_policy_name(int mode)
{
	switch (mode) {
	case MPOL_DEFAULT: return "MPOL_DEFAULT";
	case MPOL_PREFERRED: return "MPOL_PREFERRED";
	case MPOL_BIND: return "MPOL_BIND";
	case MPOL_INTERLEAVE: return "MPOL_INTERLEAVE";
	case MPOL_LOCAL: return "MPOL_LOCAL";
	default: return "another policy";
	}
}

#define CHECK_POLICY(addr, expected)                                                            \
	do {                                                                                    \
		int mode_ = shim_test_policy((addr), NULL);                                     \
		CHECK(mode_ == (expected), "policy of %p is %s (%d), expected %s", (void *)(addr), \
		      shim_test_policy_name(mode_), mode_, shim_test_policy_name(expected));   \
	} while (0)

/* ---- Patterns ------------------------------------------------------------ */

static inline uint64_t shim_test_mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static inline unsigned char shim_test_byte_at(uint64_t seed, size_t offset)
{
	return (unsigned char)(shim_test_mix(seed ^ (offset / 8)) >> (8 * (offset % 8)));
}

/* Writes the pattern of seed over bytes [from, to) of p: byte i depends on
 * seed and i only, so a prefix survives a move. */
static inline void shim_test_fill_range(void *p, size_t from, size_t to, uint64_t seed)
{
	unsigned char *b = (unsigned char *)p;
	size_t i = from;
	for (; i < to && i % 8; i++)
		b[i] = shim_test_byte_at(seed, i);
	for (; i + 8 <= to; i += 8) {
		uint64_t word = shim_test_mix(seed ^ (i / 8));
		memcpy(b + i, &word, 8);
	}
	for (; i < to; i++)
		b[i] = shim_test_byte_at(seed, i);
}

static inline void shim_test_fill(void *p, size_t n, uint64_t seed)
{
	shim_test_fill_range(p, 0, n, seed);
}

/* The first offset in [from, to) that does not hold the pattern, or -1. */
static inline long shim_test_verify_range(const void *p, size_t from, size_t to, uint64_t seed)
{
	const unsigned char *b = (const unsigned char *)p;
	size_t i = from;
	for (; i < to && i % 8; i++)
		if (b[i] != shim_test_byte_at(seed, i))
			return (long)i;
	for (; i + 8 <= to; i += 8) {
		uint64_t word = shim_test_mix(seed ^ (i / 8)), have;
		memcpy(&have, b + i, 8);
		if (have != word) {
			for (size_t k = i; k < i + 8; k++)
				if (b[k] != shim_test_byte_at(seed, k))
					return (long)k;
		}
	}
	for (; i < to; i++)
		if (b[i] != shim_test_byte_at(seed, i))
			return (long)i;
	return -1;
}

static inline long shim_test_verify(const void *p, size_t n, uint64_t seed)
{
	return shim_test_verify_range(p, 0, n, seed);
}

#define CHECK_PATTERN(p, n, seed)                                                          \
	do {                                                                               \
		long bad_ = shim_test_verify((p), (n), (seed));                            \
		CHECK(bad_ < 0, "content of %p (%zu bytes) differs at offset %ld", (void *)(p), \
		      (size_t)(n), bad_);                                                   \
	} while (0)

/* First node this process may allocate on (0 when libnuma cannot tell). */
static inline int shim_test_first_node(void)
{
	int nodes[64];
	return test_allowed_nodes(nodes, 64) > 0 ? nodes[0] : 0;
}

#endif
