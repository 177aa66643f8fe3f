/* A ranked area that cannot place an allocation is reported with its own
 * error. With AMLSHIM_POLICY=capacity (ranks without HMAT, so on any host
 * with hwloc) and a seccomp filter that fails mbind(2) with ENOMEM, the
 * area's mmap fails where the kernel default does not: the shim falls back
 * (or, with AMLSHIM_STRICT=1, fails the malloc) and says so once on
 * stderr. That line must name the area's error, "Not enough memory", and
 * not another copy's stale aml_errno ("Success"): one area library serves
 * the process, and the shim reads the aml_errno the area set.
 *
 * Around it, how the shim gets hwloc (shim/hwloc_loader.c): a ranked
 * policy maps libhwloc and no libaml.so; a plain one (interleave) maps
 * neither; and without a usable libhwloc (an empty file first on
 * LD_LIBRARY_PATH) a ranked policy falls back with one clear line. */
#include <linux/filter.h>
#include <linux/seccomp.h>

#include "shim_test.h"

#define MiB ((size_t)1 << 20)
#define SIZE (8 * MiB)

static const char *const env_fallback[] = {"AMLSHIM_POLICY=capacity", "AMLSHIM_THRESHOLD=1M", NULL};
static const char *const env_strict[] = {"AMLSHIM_POLICY=capacity", "AMLSHIM_THRESHOLD=1M",
                                         "AMLSHIM_STRICT=1", NULL};
static const char *const env_plain[] = {"AMLSHIM_POLICY=interleave", NULL};

static char said[4096];
static char maps[1 << 17];

/* mbind(2) fails with ENOMEM from now on, in this thread and its children. */
static void fail_mbind(void)
{
	const struct sock_filter rules[] = {
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mbind, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOMEM & SECCOMP_RET_DATA)),
	};
	test_seccomp(rules, sizeof(rules) / sizeof(rules[0]));
}

/* The rule must be a ranked one: without hwloc it is the default. */
static void need_ranked_area(void)
{
	struct shim_rule_stats rule = shim_test_rule(MiB);
	if (strcmp(rule.policy, "capacity") != 0 || !strstr(shim_test_report_buf, "area-hwloc-preferred"))
		test_skip_dependency("the capacity rule has no ranked area here: %s", shim_test_report_buf);
}

/* The first line of /proc/self/maps naming a file whose name contains
 * name (in maps, cut at its end), or NULL. */
static const char *mapped(const char *name)
{
	CHECK(shim_test_read_file("/proc/self/maps", maps, sizeof(maps)) > 0, "/proc/self/maps");
	char *at = strstr(maps, name);
	if (!at)
		return NULL;
	at[strcspn(at, "\n")] = '\0';
	while (at > maps && at[-1] != '\n')
		at--;
	return at;
}

/* What capture_stderr runs: test_capture's writers take only an fd. */
static void (*captured_fn)(void *);
static void *captured_arg;

static void run_captured(int fd)
{
	(void)fd;
	captured_fn(captured_arg);
}

/* Runs fn with stderr in a memfd; what it wrote goes to said (without the
 * last newline). */
static void capture_stderr(void (*fn)(void *), void *arg)
{
	captured_fn = fn;
	captured_arg = arg;
	size_t used = test_capture(STDERR_FILENO, run_captured, said, sizeof(said));
	if (used > 0 && said[used - 1] == '\n')
		said[used - 1] = '\0';
}

/* One large malloc with mbind failing. */
static void malloc_failing_mbind(void *result)
{
	fail_mbind();
	*(void **)result = malloc(SIZE);
	shim_test_escape(*(void **)result);
}

static void check_message(const char *mode)
{
	EXPECT(strstr(said, "could not be placed") != NULL, "%s: no warning from the shim: '%s'", mode, said);
	EXPECT(strstr(said, "(Not enough memory)") != NULL, "%s: the warning does not name the area's error: '%s'",
	       mode, said);
}

static void spawn_no_hwloc(void *dir)
{
	char library_path[PATH_MAX + 32];
	snprintf(library_path, sizeof(library_path), "LD_LIBRARY_PATH=%s", (const char *)dir);
	const char *env[] = {"AMLSHIM_POLICY=capacity", library_path, NULL};
	char *args[] = {(char *)"ranked_error", (char *)"no-hwloc", NULL};
	int status = shim_test_spawn(args, env, 120, NULL);
	EXPECT(status == 0, "without libhwloc: status %d", status);
}

/* Without a usable libhwloc: one line at start-up, the kernel default. */
static void no_hwloc(void)
{
	char dir[PATH_MAX], path[PATH_MAX + 32];
	shim_test_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/libhwloc.so.15", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	CHECK(fd >= 0, "%s: %s", path, strerror(errno));
	close(fd);
	capture_stderr(spawn_no_hwloc, dir);
	shim_test_remove_dir(dir);
	printf("without libhwloc, the shim said: %s\n", said);
	EXPECT(strcmp(said, "amlshim: AMLSHIM_POLICY='capacity' cannot be applied: libhwloc.so.15 (needed for hwloc "
	                    "rankings) cannot be loaded; using the kernel default") == 0,
	       "without libhwloc: '%s'", said);
}

static int child(const char *mode)
{
	if (strcmp(mode, "strict") == 0) {
		CHECK(shim_test_active() && shim_test_env_matches(env_strict), "strict child not under the shim");
		need_ranked_area();
		void *p;
		capture_stderr(malloc_failing_mbind, &p);
		EXPECT(p == NULL, "AMLSHIM_STRICT=1: an unplaced allocation must fail");
		printf("strict: malloc failed, the shim said: %s\n", said);
		check_message("strict");
	} else if (strcmp(mode, "no-hwloc") == 0) {
		EXPECT(!mapped("libhwloc"), "libhwloc is mapped: %s", mapped("libhwloc"));
		struct shim_rule_stats rule = shim_test_rule(MiB);
		EXPECT(strstr(shim_test_report_buf, "kernel default") != NULL, "no fallback: %s", shim_test_report_buf);
		EXPECT(rule.count == 0, "%ld allocations", rule.count);
	} else {
		CHECK(strcmp(mode, "plain") == 0, "unknown mode %s", mode);
		EXPECT(!mapped("libhwloc"), "interleave maps libhwloc: %s", mapped("libhwloc"));
		EXPECT(!mapped("libaml.so"), "interleave maps libaml.so: %s", mapped("libaml.so"));
	}
	return shim_test_expect_summary(mode);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		return child(argv[1]);
	shim_test_start(argv, env_fallback);
	need_ranked_area();
	EXPECT(mapped("libhwloc"), "a ranked policy runs without libhwloc mapped");
	EXPECT(!mapped("libaml.so"), "a second area library is mapped: %s", mapped("libaml.so"));

	/* The other cases first, in children: the filter below is inherited. */
	char *strict[] = {argv[0], (char *)"strict", NULL};
	int status = shim_test_spawn(strict, env_strict, 120, NULL);
	if (status == 77)
		return 77;
	EXPECT(status == 0, "the strict case failed (status %d)", status);
	char *plain[] = {argv[0], (char *)"plain", NULL};
	status = shim_test_spawn(plain, env_plain, 120, NULL);
	EXPECT(status == 0, "the interleave case failed (status %d)", status);
	no_hwloc();

	char *p;
	capture_stderr(malloc_failing_mbind, &p);
	CHECK(p != NULL, "the allocation must get the kernel default");
	memset(p, 1, SIZE);
	free(p);
	printf("fallback: the allocation got the kernel default, the shim said: %s\n", said);
	check_message("fallback");
	struct shim_rule_stats rule = shim_test_rule(MiB);
	EXPECT(rule.fallbacks == 1, "%ld fallbacks counted, expected 1", rule.fallbacks);
	return shim_test_expect_summary("ranked_error");
}
