/* Helpers for the VM tests of the shim on unmodified programs
 * (tests/vm/shim_*.c): run a program plainly and under
 * LD_PRELOAD=build/lib/libamlshim.so with AMLSHIM_* variables, capture its
 * output, read the shim's JSON report (AMLSHIM_STATS=json,
 * AMLSHIM_STATS_FILE=/tmp/...-%p.json) and check where the report says the
 * pages were at the peak, per node, against what the policy promises.
 *
 * The programs (tests/vm/programs/) link nothing of ours; the initramfs
 * carries them at build/tests/vm/programs/, next to the tests. The shim is
 * found from this binary's path (build/tests/vm/NAME -> build/lib).
 *
 * Two things of the VM's kernel (Debian 6.1, THP "always", NUMA balancing
 * on) the bounds depend on, measured there:
 * - THP: the kernel interleaves a huge page as a unit. A 256 MiB mapping on
 *   a 2 MiB boundary gives exactly 32 huge pages per node; one that is not
 *   leaves a node up to a huge page short (16512/16512/16000/16512: 2.3%
 *   off). So interleave is held to 1% of a node's share, or one huge page
 *   where THP is "always", whichever is larger.
 * - move_pages(2) reports -EFAULT, not a node, for pages that NUMA
 *   balancing has made PROT_NONE, and balancing scans only memory under the
 *   default policy. Every policy here sets one, so the report counts every
 *   page; memory that took the kernel default is undercounted (seen: 36592
 *   of 65536 pages), which the tests also report as a failure. */
#ifndef AML_TESTS_VM_SHIM_VM_H
#define AML_TESTS_VM_SHIM_VM_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "vmtest.h"

extern char **environ;

/* ---- Paths ------------------------------------------------------------------ */

static char shim_vm_dir_buf[PATH_MAX];

/* The directory of this test binary (build/tests/vm). */
static inline const char *shim_vm_dir(void)
{
	if (!shim_vm_dir_buf[0]) {
		ssize_t n = readlink("/proc/self/exe", shim_vm_dir_buf, sizeof(shim_vm_dir_buf) - 1);
		CHECK(n > 0, "readlink /proc/self/exe: %s", strerror(errno));
		shim_vm_dir_buf[n] = '\0';
		char *slash = strrchr(shim_vm_dir_buf, '/');
		CHECK(slash != NULL, "odd path %s", shim_vm_dir_buf);
		*slash = '\0';
	}
	return shim_vm_dir_buf;
}

/* build/lib/libamlshim.so, from build/tests/vm. */
static inline const char *shim_vm_lib(void)
{
	static char path[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/../../lib/libamlshim.so", shim_vm_dir());
	CHECK(access(path, R_OK) == 0, "no shim at %s", path);
	return path;
}

/* build/tests/vm/programs/NAME. */
static inline const char *shim_vm_program(const char *name)
{
	static char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/programs/%s", shim_vm_dir(), name);
	CHECK(access(path, X_OK) == 0, "no program at %s (tests/vm/programs/)", path);
	return path;
}

/* ---- Running a program ------------------------------------------------------ */

struct shim_vm_run {
	pid_t pid;
	int status;   /* exit status, or 128 + signal */
	char *out;    /* stdout */
	char *err;    /* stderr */
	char *report; /* the JSON report, or NULL when none was written */
};

/* A whole file, NUL-terminated (malloc'ed), or NULL. */
static inline char *shim_vm_read_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	size_t used = 0, cap = 4096;
	char *text = malloc(cap);
	CHECK(text != NULL, "out of memory");
	for (;;) {
		if (used + 1 >= cap) {
			cap *= 2;
			text = realloc(text, cap);
			CHECK(text != NULL, "out of memory");
		}
		ssize_t n = read(fd, text + used, cap - used - 1);
		if (n < 0 && errno == EINTR)
			continue;
		CHECK(n >= 0, "read %s: %s", path, strerror(errno));
		if (n == 0)
			break;
		used += (size_t)n;
	}
	close(fd);
	text[used] = '\0';
	return text;
}

/* The environment of the child: ours without LD_PRELOAD, AMLSHIM_* and
 * PYTHON* variables, plus `extra` (NULL-terminated "NAME=value" list). */
static inline char **shim_vm_environment(char *const *extra)
{
	size_t count = 0, extras = 0;
	while (environ[count])
		count++;
	while (extra && extra[extras])
		extras++;
	char **env = calloc(count + extras + 1, sizeof(*env));
	CHECK(env != NULL, "out of memory");
	size_t used = 0;
	for (size_t i = 0; i < count; i++) {
		const char *e = environ[i];
		if (!strncmp(e, "LD_PRELOAD=", 11) || !strncmp(e, "AMLSHIM_", 8) || !strncmp(e, "PYTHON", 6))
			continue;
		env[used++] = (char *)e;
	}
	for (size_t i = 0; i < extras; i++)
		env[used++] = extra[i];
	env[used] = NULL;
	return env;
}

/* Runs argv[0] (a path) with the environment above, stdout and stderr in
 * files; with `preload`, under the shim with AMLSHIM_STATS=json and the
 * report in /tmp/shimvm-report-PID.json (read, then removed). The child
 * inherits this thread's CPU affinity. */
static inline struct shim_vm_run shim_vm_spawn(char *const *argv, char *const *extra_env, int preload)
{
	static int serial;
	char out_path[96], err_path[96], report_path[96];
	snprintf(out_path, sizeof(out_path), "/tmp/shimvm-%d-%d.out", (int)getpid(), serial);
	snprintf(err_path, sizeof(err_path), "/tmp/shimvm-%d-%d.err", (int)getpid(), serial++);

	char *env_extra[32];
	size_t n = 0;
	char preload_var[PATH_MAX + 64];
	if (preload) {
		snprintf(preload_var, sizeof(preload_var), "LD_PRELOAD=%s", shim_vm_lib());
		env_extra[n++] = preload_var;
		env_extra[n++] = "AMLSHIM_STATS=json";
		env_extra[n++] = "AMLSHIM_STATS_FILE=/tmp/shimvm-report-%p.json";
	}
	for (size_t i = 0; extra_env && extra_env[i] && n < 31; i++)
		env_extra[n++] = extra_env[i];
	env_extra[n] = NULL;
	char **env = shim_vm_environment(env_extra);

	fflush(stdout);
	fflush(stderr);
	struct shim_vm_run run = {0};
	run.pid = fork();
	CHECK(run.pid >= 0, "fork: %s", strerror(errno));
	if (run.pid == 0) {
		int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (out < 0 || err < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
			_exit(126);
		execve(argv[0], argv, env);
		dprintf(2, "execve %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	free(env);
	int status;
	while (waitpid(run.pid, &status, 0) < 0)
		CHECK(errno == EINTR, "waitpid: %s", strerror(errno));
	run.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	run.out = shim_vm_read_file(out_path);
	run.err = shim_vm_read_file(err_path);
	CHECK(run.out && run.err, "lost the output of %s", argv[0]);
	unlink(out_path);
	unlink(err_path);
	if (preload) {
		snprintf(report_path, sizeof(report_path), "/tmp/shimvm-report-%d.json", (int)run.pid);
		run.report = shim_vm_read_file(report_path);
		unlink(report_path);
	}
	return run;
}

static inline void shim_vm_run_free(struct shim_vm_run *run)
{
	free(run->out);
	free(run->err);
	free(run->report);
	memset(run, 0, sizeof(*run));
}

/* Prints a child's output, each line indented, under a heading. */
static inline void shim_vm_print_output(const char *what, const char *text)
{
	if (!text || !*text)
		return;
	printf("%s:\n", what);
	for (const char *line = text; *line;) {
		const char *end = strchr(line, '\n');
		int len = end ? (int)(end - line) : (int)strlen(line);
		printf("    %.*s\n", len, line);
		line += len + (end ? 1 : 0);
	}
}

/* ---- The report ------------------------------------------------------------- */

struct shim_vm_report {
	int nodes;                 /* entries in "nodes" */
	long exit_pages[VM_MAX_NODES];
	long peak_pages[VM_MAX_NODES];
	int rules;                 /* entries in "rules" */
	/* The first rule's fields. */
	unsigned long count, bytes, fallbacks, peak_bytes, moves;
	char policy[128], area[512], note[256];
};

/* The number after "KEY": in [from, end), or -1 with *found 0. */
static inline long shim_vm_json_number(const char *from, const char *end, const char *key, int *found)
{
	char pattern[64];
	snprintf(pattern, sizeof(pattern), "\"%s\":", key);
	const char *at = strstr(from, pattern);
	if (!at || (end && at >= end)) {
		*found = 0;
		return -1;
	}
	*found = 1;
	return strtol(at + strlen(pattern), NULL, 10);
}

/* The string after "KEY": in [from, end), unescaped enough for checks. */
static inline int shim_vm_json_string(const char *from, const char *end, const char *key, char *out, size_t len)
{
	char pattern[64];
	snprintf(pattern, sizeof(pattern), "\"%s\":\"", key);
	const char *at = strstr(from, pattern);
	out[0] = '\0';
	if (!at || (end && at >= end))
		return -1;
	size_t used = 0;
	for (const char *c = at + strlen(pattern); *c && *c != '"' && used + 1 < len; c++) {
		if (*c == '\\' && c[1])
			c++;
		out[used++] = *c;
	}
	out[used] = '\0';
	return 0;
}

/* Parses the shim's JSON report (README.md, "The report"): the first
 * rule's counters and area, and "node"/"resident_pages_*" per node. */
static inline struct shim_vm_report shim_vm_parse_report(const char *json)
{
	struct shim_vm_report r;
	memset(&r, 0, sizeof(r));
	int found;
	const char *rules = strstr(json, "\"rules\":[");
	CHECK(rules != NULL, "report without rules: %.200s", json);
	const char *rules_end = strstr(rules, "],\"nodes\":[");
	CHECK(rules_end != NULL, "report without nodes after the rules: %.200s", json);
	for (const char *p = rules; (p = strstr(p, "{\"min\":")) && p < rules_end; p++)
		r.rules++;
	CHECK(r.rules >= 1, "report with no rule: %.200s", json);
	const char *rule = strstr(rules, "{\"min\":");
	const char *rule_end = strchr(rule, '}');
	r.count = (unsigned long)shim_vm_json_number(rule, rule_end, "count", &found);
	CHECK(found, "no count in the rule");
	r.bytes = (unsigned long)shim_vm_json_number(rule, rule_end, "bytes", &found);
	CHECK(found, "no bytes in the rule");
	r.peak_bytes = (unsigned long)shim_vm_json_number(rule, rule_end, "peak_bytes", &found);
	CHECK(found, "no peak_bytes in the rule");
	r.fallbacks = (unsigned long)shim_vm_json_number(rule, rule_end, "fallbacks", &found);
	CHECK(found, "no fallbacks in the rule");
	r.moves = (unsigned long)shim_vm_json_number(rule, rule_end, "realloc_moves", &found);
	CHECK(found, "no realloc_moves in the rule");
	CHECK(shim_vm_json_string(rule, rule_end, "policy", r.policy, sizeof(r.policy)) == 0, "no policy");
	CHECK(shim_vm_json_string(rule, rule_end, "area", r.area, sizeof(r.area)) == 0, "no area");
	CHECK(shim_vm_json_string(rule, rule_end, "note", r.note, sizeof(r.note)) == 0, "no note");

	const char *nodes = rules_end + 2;
	const char *nodes_end = strchr(nodes, ']');
	CHECK(nodes_end != NULL, "unterminated nodes list");
	for (const char *p = nodes; (p = strstr(p, "{\"node\":")) && p < nodes_end; p++) {
		const char *end = strchr(p, '}');
		int node = (int)shim_vm_json_number(p, end, "node", &found);
		CHECK(found && node >= 0 && node < VM_MAX_NODES, "bad node entry %.80s", p);
		r.exit_pages[node] = shim_vm_json_number(p, end, "resident_pages_exit", &found);
		CHECK(found, "no resident_pages_exit in %.80s", p);
		r.peak_pages[node] = shim_vm_json_number(p, end, "resident_pages_peak", &found);
		CHECK(found, "no resident_pages_peak in %.80s", p);
		if (node + 1 > r.nodes)
			r.nodes = node + 1;
	}
	return r;
}

static inline long shim_vm_sum(const long *pages, int nodes)
{
	long sum = 0;
	for (int n = 0; n < nodes; n++)
		sum += pages[n];
	return sum;
}

static inline void shim_vm_print_report(const char *what, const struct shim_vm_report *r, int nodes)
{
	printf("%s: rule '%s': count %lu, bytes %lu, peak bytes %lu, fallbacks %lu\n", what, r->policy, r->count,
	       r->bytes, r->peak_bytes, r->fallbacks);
	printf("%s: area: %s%s%s\n", what, r->area, r->note[0] ? "; note: " : "", r->note);
	printf("%s: resident pages at peak:", what);
	for (int n = 0; n < nodes; n++)
		printf(" node%d=%ld", n, r->peak_pages[n]);
	printf(" (sum %ld); at exit:", shim_vm_sum(r->peak_pages, nodes));
	for (int n = 0; n < nodes; n++)
		printf(" node%d=%ld", n, r->exit_pages[n]);
	printf("\n");
	fflush(stdout);
}

/* ---- What each policy promises ---------------------------------------------- */

enum shim_vm_expect {
	SHIM_VM_SPREAD_PAGES,  /* interleave: each node within 1% of its share */
	SHIM_VM_SPREAD_BLOCKS, /* block-interleave: each node within a block of its share */
	SHIM_VM_ONE_NODE,      /* bind, bandwidth: every page on one node */
};

struct shim_vm_policy {
	char policy[64]; /* AMLSHIM_POLICY */
	enum shim_vm_expect expect;
	int node;          /* SHIM_VM_ONE_NODE: the node */
	long block_pages;  /* SHIM_VM_SPREAD_BLOCKS: pages per block */
};

/* THP backs anonymous memory by default: the kernel's interleave unit is
 * then a huge page. */
static inline int shim_vm_thp_always(void)
{
	char mode[128] = "";
	FILE *file = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
	if (file) {
		if (!fgets(mode, sizeof(mode), file))
			mode[0] = '\0';
		fclose(file);
	}
	return strstr(mode, "[always]") != NULL;
}

/* The per-node pages at the peak are what the policy promises: `total`
 * pages (at least `least` of them) over `nodes` nodes. */
static inline void shim_vm_check_placement(const char *what, const struct shim_vm_policy *p,
                                           const struct shim_vm_report *r, int nodes, long least)
{
	long total = shim_vm_sum(r->peak_pages, nodes);
	CHECK(r->nodes <= nodes, "%s: the report names %d nodes, the VM has %d", what, r->nodes, nodes);
	CHECK(total >= least, "%s: %ld resident pages at the peak, want at least %ld (the buffer)", what, total,
	      least);
	switch (p->expect) {
	case SHIM_VM_SPREAD_PAGES:
	case SHIM_VM_SPREAD_BLOCKS: {
		/* Each node's share, and how far from it a node may be. */
		double share = (double)total / nodes;
		double slack = p->expect == SHIM_VM_SPREAD_PAGES ? share / 100 : (double)p->block_pages;
		if (p->expect == SHIM_VM_SPREAD_PAGES && shim_vm_thp_always() && slack < 513)
			slack = 513; /* one huge page, and the page left over */
		for (int n = 0; n < nodes; n++) {
			double off = (double)r->peak_pages[n] - share;
			CHECK(off <= slack && -off <= slack,
			      "%s: node %d holds %ld pages, %+.0f from its share %.0f of %ld (allowed: %.0f)", what, n,
			      r->peak_pages[n], off, share, total, slack);
		}
		printf("%s: each of %d nodes within %.0f pages of %.0f\n", what, nodes, slack, share);
		break;
	}
	case SHIM_VM_ONE_NODE:
		CHECK(r->peak_pages[p->node] == total, "%s: %ld of %ld pages on node %d", what, r->peak_pages[p->node],
		      total, p->node);
		printf("%s: all %ld pages on node %d\n", what, total, p->node);
		break;
	}
	fflush(stdout);
}

/* The rule took the allocation(s): at least `count` of them, `bytes` in
 * all, none fell back to the kernel default. */
static inline void shim_vm_check_rule(const char *what, const struct shim_vm_report *r, unsigned long count,
                                      unsigned long bytes)
{
	CHECK(r->count >= count, "%s: the rule counted %lu allocations, want at least %lu", what, r->count, count);
	CHECK(r->bytes >= bytes, "%s: the rule counted %lu bytes, want at least %lu", what, r->bytes, bytes);
	CHECK(r->fallbacks == 0, "%s: %lu allocations fell back to the kernel default", what, r->fallbacks);
	CHECK(!strstr(r->area, "kernel default") && !strstr(r->note, "fell back"), "%s: area '%s', note '%s'", what,
	      r->area, r->note);
}

/* Node `initiator`'s best bandwidth target, from what Linux exports
 * (AMLVM_HMAT_LOCAL: "home:latency:bandwidth" per target): the node homed
 * there with the highest bandwidth. */
static inline int shim_vm_best_bandwidth_from(int initiator)
{
	const char *text = vm_env("AMLVM_HMAT_LOCAL");
	int best = -1;
	long best_bw = -1;
	for (int target = 0; *text; target++) {
		int home;
		long latency, bandwidth;
		int used;
		while (*text == ' ')
			text++;
		if (!*text)
			break;
		CHECK(sscanf(text, "%d:%ld:%ld%n", &home, &latency, &bandwidth, &used) == 3,
		      "bad AMLVM_HMAT_LOCAL near '%s'", text);
		text += used;
		if (home == initiator && bandwidth > best_bw) {
			best = target;
			best_bw = bandwidth;
		}
	}
	CHECK(best >= 0, "no target homed at node %d in AMLVM_HMAT_LOCAL", initiator);
	return best;
}

/* The policy under test, by name, for the VM's topology: interleave,
 * block-interleave:2M, bind to the largest node (3 in the 4-node VM),
 * bandwidth from node 0's CPUs (the HBM-like node 2). */
static inline struct shim_vm_policy shim_vm_policy_named(const char *name)
{
	struct shim_vm_policy p;
	memset(&p, 0, sizeof(p));
	if (!strcmp(name, "interleave")) {
		snprintf(p.policy, sizeof(p.policy), "interleave");
		p.expect = SHIM_VM_SPREAD_PAGES;
	} else if (!strcmp(name, "block-interleave")) {
		snprintf(p.policy, sizeof(p.policy), "block-interleave:2M");
		p.expect = SHIM_VM_SPREAD_BLOCKS;
		p.block_pages = (long)((2UL << 20) / test_page_size());
	} else if (!strcmp(name, "bind")) {
		p.node = vm_env_int("AMLVM_CAP_BEST");
		snprintf(p.policy, sizeof(p.policy), "bind:%d", p.node);
		p.expect = SHIM_VM_ONE_NODE;
	} else if (!strcmp(name, "bandwidth")) {
		p.node = vm_env_int("AMLVM_BW_BEST");
		CHECK(p.node == shim_vm_best_bandwidth_from(0), "AMLVM_BW_BEST %d, but AMLVM_HMAT_LOCAL says %d", p.node,
		      shim_vm_best_bandwidth_from(0));
		snprintf(p.policy, sizeof(p.policy), "bandwidth");
		p.expect = SHIM_VM_ONE_NODE;
	} else {
		CHECK(0, "unknown policy %s", name);
	}
	return p;
}

/* Runs `argv` plainly (shim_vm_plain_run), then under the shim with the
 * policy (shim_vm_check_program), from node 0's CPUs: the children inherit
 * the binding, so bandwidth is seen from node 0. Checks the exit status and
 * that stdout and stderr are byte for byte the plain run's, then the
 * report: the rule counted the allocation of `bytes` and the pages are
 * where the policy puts them. Returns the report. `env` is given to both
 * runs. */
static inline struct shim_vm_run shim_vm_plain_run(const char *what, char *const *argv, char *const *env)
{
	vm_run_on_node(0);
	struct shim_vm_run plain = shim_vm_spawn(argv, env, 0);
	shim_vm_print_output("plain run, stdout", plain.out);
	shim_vm_print_output("plain run, stderr", plain.err);
	CHECK(plain.status == 0, "%s: the plain run exited with %d", what, plain.status);
	return plain;
}

static inline struct shim_vm_report shim_vm_check_program(const char *what, const struct shim_vm_policy *p,
                                                          char *const *argv, char *const *env,
                                                          const struct shim_vm_run *plain,
                                                          unsigned long bytes, int nodes)
{
	vm_run_on_node(0);

	char policy_var[96];
	snprintf(policy_var, sizeof(policy_var), "AMLSHIM_POLICY=%s", p->policy);
	char *shim_env[32];
	size_t n = 0;
	shim_env[n++] = policy_var;
	for (size_t i = 0; env && env[i] && n < 31; i++)
		shim_env[n++] = env[i];
	shim_env[n] = NULL;
	printf("%s: LD_PRELOAD=%s AMLSHIM_POLICY=%s %s\n", what, shim_vm_lib(), p->policy, argv[0]);
	struct shim_vm_run shim = shim_vm_spawn(argv, shim_env, 1);
	shim_vm_print_output("under the shim, stdout", shim.out);
	shim_vm_print_output("under the shim, stderr", shim.err);
	CHECK(shim.status == 0, "%s: the run under the shim exited with %d", what, shim.status);
	CHECK(strcmp(plain->out, shim.out) == 0, "%s: stdout differs from the plain run's", what);
	CHECK(strcmp(plain->err, shim.err) == 0, "%s: stderr differs from the plain run's", what);
	CHECK(shim.report != NULL, "%s: no report in /tmp/shimvm-report-%d.json", what, (int)shim.pid);

	struct shim_vm_report r = shim_vm_parse_report(shim.report);
	shim_vm_print_report(what, &r, nodes);
	CHECK(strcmp(r.policy, p->policy) == 0, "%s: the report's rule is '%s', not '%s'", what, r.policy, p->policy);
	shim_vm_check_rule(what, &r, 1, bytes);
	long page = (long)test_page_size();
	shim_vm_check_placement(what, p, &r, nodes, (long)((bytes + (unsigned long)page - 1) / (unsigned long)page));
	shim_vm_run_free(&shim);
	return r;
}

/* touch256 (tests/vm/programs/touch256.c) under one policy: its 256 MiB
 * buffer is the only large allocation, freed before exit. */
static inline int shim_vm_touch256_test(const char *name)
{
	int nodes = vm_start();
	struct shim_vm_policy p = shim_vm_policy_named(name);
	char *argv[] = {(char *)shim_vm_program("touch256"), NULL};
	char what[96];
	snprintf(what, sizeof(what), "touch256, %s", p.policy);
	const unsigned long bytes = 256UL << 20;
	struct shim_vm_run plain = shim_vm_plain_run(what, argv, NULL);
	struct shim_vm_report r = shim_vm_check_program(what, &p, argv, NULL, &plain, bytes, nodes);
	shim_vm_run_free(&plain);
	CHECK(r.count == 1 && r.bytes == bytes, "%s: the rule counted %lu allocations of %lu bytes, want 1 of %lu",
	      what, r.count, r.bytes, bytes);
	/* Exactly the buffer's pages were sampled, and none is live at exit. */
	CHECK(shim_vm_sum(r.peak_pages, nodes) == (long)(bytes / test_page_size()),
	      "%s: %ld pages at the peak, the buffer has %lu", what, shim_vm_sum(r.peak_pages, nodes),
	      bytes / test_page_size());
	CHECK(shim_vm_sum(r.exit_pages, nodes) == 0, "%s: %ld pages live at exit after the free", what,
	      shim_vm_sum(r.exit_pages, nodes));
	printf("%s: ok\n", what);
	return 0;
}

#endif
