/* The placement report counts exactly what the program allocated. With
 * AMLSHIM_POLICY=interleave AMLSHIM_THRESHOLD=1M, 3 x 2 MiB (malloc, calloc,
 * posix_memalign) + 1 x 5 MiB (realloc from NULL) and a few allocations
 * below the threshold (which must not count) give, under the interleave
 * rule, count 4, bytes 11534336, live and peak bytes 11534336 while they
 * are live, and exactly 2816 resident pages (they are all touched) over
 * the nodes, interleaved evenly; after free, live bytes are 0 and the peak
 * stays. The text report names the rule's policy.
 *
 * At exit: children of this program ("child DIR" and "text DIR" modes)
 * allocate and exit with AMLSHIM_STATS set; the file AMLSHIM_STATS_FILE
 * names (%p: the child's pid, %%: a percent sign) must hold their counts. */
#include <malloc.h>

#include "shim_test.h"

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)
#define THRESHOLD MiB
#define EXPECTED_BYTES (3 * 2 * MiB + 5 * MiB)
#define PAGE 4096

static const char *const base_env[] = {"AMLSHIM_POLICY=interleave", "AMLSHIM_THRESHOLD=1M"};

static char json[1 << 16];
static char text[1 << 16];

/* Sum of pages over nodes and, where the blocks split evenly over the
 * allowed nodes, the exact share of each. */
static void check_nodes(const char *report, const char *key, long expected_pages, const size_t *blocks, int count)
{
	long per_node[64];
	long total = shim_test_node_pages(report, key, per_node, 64);
	CHECK(total == expected_pages, "%s: %ld resident pages over the nodes, expected %ld: %s", key, total,
	      expected_pages, report);
	int nodes[64];
	int n = test_allowed_nodes(nodes, 64);
	char thp[128] = "";
	shim_test_read_file("/sys/kernel/mm/transparent_hugepage/enabled", thp, sizeof(thp));
	if (n < 2 || strstr(thp, "[always]"))
		return; /* huge pages would land whole on one node */
	int even = 1;
	for (int b = 0; b < count; b++)
		even &= (blocks[b] / PAGE) % (size_t)n == 0;
	for (int i = 0; i < n; i++) {
		if (even)
			CHECK(per_node[nodes[i]] == expected_pages / n, "%s: node %d has %ld pages, expected %ld (of %ld over %d nodes)",
			      key, nodes[i], per_node[nodes[i]], expected_pages / n, expected_pages, n);
		else
			CHECK(per_node[nodes[i]] >= expected_pages / n - count && per_node[nodes[i]] <= expected_pages / n + count,
			      "%s: node %d has %ld pages of %ld over %d nodes", key, nodes[i], per_node[nodes[i]], expected_pages, n);
	}
}

static void in_process(void)
{
	struct shim_rule_stats before = shim_test_rule(THRESHOLD);
	CHECK(strcmp(before.policy, "interleave") == 0, "the rule's policy is '%s'", before.policy);
	long pages_before = shim_test_node_pages(shim_test_report_buf, "resident_pages_exit", NULL, 0);

	/* Below the threshold: these must not count. */
	void *small[5];
	small[0] = malloc(100);
	small[1] = malloc(THRESHOLD - 1);
	small[2] = calloc(1, 512 * KiB);
	small[3] = aligned_alloc(4096, THRESHOLD - 4096);
	CHECK(posix_memalign(&small[4], 64, 1000) == 0, "posix_memalign");
	for (int i = 0; i < 5; i++) {
		CHECK(small[i] != NULL, "small allocation %d", i);
		test_touch(small[i], malloc_usable_size(small[i]));
	}

	size_t sizes[4] = {2 * MiB, 2 * MiB, 2 * MiB, 5 * MiB};
	void *big[4];
	big[0] = malloc(sizes[0]);
	big[1] = calloc(2, MiB);
	CHECK(posix_memalign(&big[2], 4096, sizes[2]) == 0, "posix_memalign(2M)");
	big[3] = realloc(NULL, sizes[3]);
	for (int i = 0; i < 4; i++) {
		CHECK(big[i] != NULL, "large allocation %d", i);
		test_touch(big[i], sizes[i]);
	}

	shim_test_report(json, sizeof(json), 1);
	struct shim_rule_stats live = shim_test_rule_in(json, THRESHOLD);
	CHECK(live.found, "no interleave rule: %s", json);
	CHECK(live.count - before.count == 4, "count grew by %ld, expected 4: %s", live.count - before.count, json);
	CHECK(live.bytes - before.bytes == (long)EXPECTED_BYTES, "bytes grew by %ld, expected %zu",
	      live.bytes - before.bytes, EXPECTED_BYTES);
	CHECK(live.live_bytes - before.live_bytes == (long)EXPECTED_BYTES, "live bytes grew by %ld, expected %zu",
	      live.live_bytes - before.live_bytes, EXPECTED_BYTES);
	CHECK(live.peak_bytes >= before.live_bytes + (long)EXPECTED_BYTES, "peak %ld < %zu", live.peak_bytes,
	      EXPECTED_BYTES);
	/* Nothing else went through the rule in this process: exact values. */
	CHECK(before.count == 0 && before.peak_bytes == 0, "the rule counted %ld allocations before the test made any",
	      before.count);
	CHECK(live.count == 4 && strstr(json, "\"count\":4,"), "\"count\":4 not in %s", json);
	CHECK(live.bytes == 11534336 && strstr(json, "\"bytes\":11534336,"), "\"bytes\":11534336 not in %s", json);
	CHECK(live.live_bytes == 11534336 && strstr(json, "\"live_bytes\":11534336,"), "\"live_bytes\":11534336 not in %s",
	      json);
	CHECK(live.peak_bytes == 11534336 && strstr(json, "\"peak_bytes\":11534336,"), "\"peak_bytes\":11534336 not in %s",
	      json);
	CHECK(live.mmaps == before.mmaps, "malloc counted as mmap");
	check_nodes(json, "resident_pages_exit", pages_before + (long)(EXPECTED_BYTES / PAGE), sizes, 4);
	/* The blocks were all allocated, then touched: a peak sampled at an
	 * allocation saw them empty, and a peak must still be a peak. */
	long exit_pages[64], peak_pages[64];
	shim_test_node_pages(json, "resident_pages_exit", exit_pages, 64);
	shim_test_node_pages(json, "resident_pages_peak", peak_pages, 64);
	for (int n = 0; n < 64; n++)
		CHECK(peak_pages[n] >= exit_pages[n], "node %d: %ld resident pages at the peak, fewer than the %ld now: %s",
		      n, peak_pages[n], exit_pages[n], json);

	/* The text report: a title, the rule and its policy. */
	shim_test_report(text, sizeof(text), 0);
	CHECK(strstr(text, "amlshim report") != NULL, "text report has no title: %s", text);
	CHECK(strstr(text, "interleave") != NULL, "text report does not name the policy: %s", text);
	CHECK(strstr(text, "1M-") != NULL, "text report does not show the rule's sizes (1M-): %s", text);

	for (int i = 0; i < 4; i++)
		free(big[i]);
	for (int i = 0; i < 5; i++)
		free(small[i]);
	shim_test_report(json, sizeof(json), 1);
	struct shim_rule_stats after = shim_test_rule_in(json, THRESHOLD);
	CHECK(after.count == live.count && after.bytes == live.bytes, "free changed the allocation counts");
	CHECK(after.live_bytes == before.live_bytes, "live bytes after free: %ld, before: %ld", after.live_bytes,
	      before.live_bytes);
	CHECK(after.peak_bytes == live.peak_bytes, "the peak changed after free: %ld -> %ld", live.peak_bytes,
	      after.peak_bytes);
	CHECK(shim_test_json_number(json, "foreign_frees") != LONG_MIN, "no foreign_frees in %s", json);
	CHECK(shim_test_json_number(json, "bootstrap_allocations") != LONG_MIN, "no bootstrap_allocations");
	char version[64];
	snprintf(version, sizeof(version), "{\"amlshim\":\"%s\",\"pid\":%d,", AMLSHIM_VERSION, (int)getpid());
	CHECK(strncmp(json, version, strlen(version)) == 0, "the JSON report does not start with %s: %s", version, json);
}

/* Child modes: allocate 2 x 3 MiB (one freed, one left live, touched), a
 * few small blocks, and leave through exit. */
static int child_allocates(void)
{
	void *small = malloc(1000);
	void *a = malloc(3 * MiB);
	void *b = calloc(1, 3 * MiB);
	CHECK(small && a && b, "child allocation");
	test_touch(a, 3 * MiB);
	test_touch(b, 3 * MiB);
	free(a);
	shim_test_escape(b);
	shim_test_escape(small);
	return 0; /* b stays live: the exit report shows its pages */
}

/* file_fmt: AMLSHIM_STATS_FILE's name in dir (%p: the pid); name_fmt: the
 * name the shim must make of it, a printf format of the pid. */
static void check_exit_report(const char *dir, const char *mode, const char *const *extra_env, const char *file_fmt,
                              const char *name_fmt)
{
	char stats_file[PATH_MAX + 64];
	snprintf(stats_file, sizeof(stats_file), "AMLSHIM_STATS_FILE=%s/%s", dir, file_fmt);
	const char *env[] = {base_env[0], base_env[1], extra_env[0], stats_file, NULL};
	char *args[] = {(char *)"report_counts", (char *)mode, (char *)dir, NULL};
	pid_t pid;
	int status = shim_test_spawn(args, env, 200, &pid);
	CHECK(status == 0, "child (%s) exited with %d", mode, status);

	/* The name the shim must have made of file_fmt: name_fmt with the pid. */
	char name[PATH_MAX], path[PATH_MAX + 64];
	snprintf(name, sizeof(name), name_fmt, (int)pid);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (strcmp(mode, "child") == 0) {
		CHECK(shim_test_read_file(path, json, sizeof(json)) > 0, "no exit report at %s", path);
		struct shim_rule_stats s = shim_test_rule_in(json, THRESHOLD);
		CHECK(s.found, "no interleave rule in the exit report: %s", json);
		CHECK(s.count == 2, "exit report: count %ld, expected 2: %s", s.count, json);
		CHECK(s.bytes == (long)(6 * MiB), "exit report: bytes %ld, expected %zu", s.bytes, 6 * MiB);
		CHECK(s.live_bytes == (long)(3 * MiB), "exit report: live bytes %ld, expected %zu", s.live_bytes, 3 * MiB);
		CHECK(s.peak_bytes == (long)(6 * MiB), "exit report: peak bytes %ld, expected %zu", s.peak_bytes, 6 * MiB);
		char pid_text[32];
		snprintf(pid_text, sizeof(pid_text), "\"pid\":%d,", (int)pid);
		CHECK(strstr(json, pid_text) != NULL, "the exit report is not the child's (%s): %s", pid_text, json);
		size_t live_block[1] = {3 * MiB};
		check_nodes(json, "resident_pages_exit", (long)(3 * MiB / PAGE), live_block, 1);
		long peak_pages = shim_test_node_pages(json, "resident_pages_peak", NULL, 0);
		CHECK(peak_pages > 0 && peak_pages <= (long)(6 * MiB / PAGE), "pages at the peak: %ld", peak_pages);
	} else {
		CHECK(shim_test_read_file(path, text, sizeof(text)) > 0, "no exit report at %s", path);
		char title[64];
		snprintf(title, sizeof(title), "amlshim report (pid %d)", (int)pid);
		CHECK(strstr(text, title) != NULL, "the text exit report has no '%s': %s", title, text);
		CHECK(strstr(text, "interleave") != NULL, "the text exit report does not name the policy: %s", text);
		CHECK(text[0] != '{', "AMLSHIM_STATS=1 wrote JSON: %s", text);
	}
	unlink(path);
}

int main(int argc, char **argv)
{
	if (argc > 2 && (strcmp(argv[1], "child") == 0 || strcmp(argv[1], "text") == 0)) {
		/* Started by check_exit_report with its environment. */
		char stats_file[PATH_MAX + 64];
		const char *value = getenv("AMLSHIM_STATS_FILE");
		snprintf(stats_file, sizeof(stats_file), "AMLSHIM_STATS_FILE=%s", value ? value : "");
		const char *env[] = {base_env[0], base_env[1],
		                     strcmp(argv[1], "child") == 0 ? "AMLSHIM_STATS=json" : "AMLSHIM_STATS=1", stats_file,
		                     NULL};
		shim_test_start(argv, env);
		return child_allocates();
	}
	const char *env[] = {base_env[0], base_env[1], NULL};
	shim_test_start(argv, env);
	in_process();

	char dir[PATH_MAX];
	shim_test_tmpdir(dir, sizeof(dir));
	static const char *const json_env[] = {"AMLSHIM_STATS=json"};
	static const char *const text_env[] = {"AMLSHIM_STATS=1"};
	check_exit_report(dir, "child", json_env, "report.%p.json", "report.%d.json");
	check_exit_report(dir, "text", text_env, "r%%.%p.txt", "r%%.%d.txt");
	shim_test_remove_dir(dir);
	printf("report_counts: ok\n");
	return 0;
}
