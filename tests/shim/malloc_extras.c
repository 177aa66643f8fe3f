/* glibc's malloc extras act on and describe the shim's heaps (defect D16
 * of tests/hardening/NOTES.md): without the shim's own malloc_trim,
 * mallinfo2, malloc_stats, malloc_info and mallopt, glibc's answer for its
 * nearly empty heap: trim gives nothing back, mallinfo2 reads ~0.
 *
 * In each mode (the default policy, and interleave from 64K):
 * - 8 large blocks of 3 MiB and 100000 objects of 128 bytes (a jemalloc
 *   size class: no rounding) allocated and touched: mallinfo2's uordblks
 *   grows by their bytes, within 256 KiB (objects that jemalloc's thread
 *   cache holds count as allocated: at most a few hundred of one size);
 *   arena = uordblks + fordblks; mallinfo agrees.
 * - all freed: uordblks is back, the 8 blocks are kept (keepcost,
 *   ordblks, malloc_info's "cached" total; freed neighbours merge); malloc_trim(0) returns 1, the
 *   process RSS drops by at least the cached bytes, and no large heap in
 *   malloc_info keeps a cached block.
 * - malloc_stats writes glibc's "Arena"/"Total" lines to fd 2, whose total
 *   in-use bytes are mallinfo2's; malloc_info(0) writes well-formed XML
 *   whose totals are mallinfo2's; malloc_info(1) returns EINVAL.
 * - mallopt returns what glibc's returns, parameter by parameter;
 *   M_TRIM_THRESHOLD sets how many freed bytes a pool keeps resident (the
 *   rest shows as LazyFree in smaps_rollup); mallinfo saturates at INT_MAX.
 * - a fork child trims and reads the statistics.
 * Copies of this program check M_ARENA_MAX (4 threads alive share one
 * jemalloc arena after mallopt(M_ARENA_MAX, 1), several without), and the
 * calls with another allocator (jemalloc) preloaded in front of the shim. */
#include <malloc.h>
#include <pthread.h>

/* glibc deprecates mallinfo (its fields are int); the shim serves it. */
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

#include "shim_test.h"

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)
#define NLARGE 8
#define LARGE (3 * MiB)
#define NSMALL 100000
#define SMALL 128
#define TOLERANCE (256 * KiB)
#define THREADS 4

static void *small_objs[NSMALL];
static void *large_objs[NLARGE];
static char doc[1 << 17];
static char rollup[8192];

/* ---- Reading the process and the outputs ---------------------------------- */

/* A field of /proc/self/smaps_rollup in bytes; -1 when missing. */
static long rollup_bytes(const char *field)
{
	if (shim_test_read_file("/proc/self/smaps_rollup", rollup, sizeof(rollup)) <= 0)
		return -1;
	char pattern[64];
	snprintf(pattern, sizeof(pattern), "\n%s:", field);
	const char *at = strstr(rollup, pattern);
	return at ? strtol(at + strlen(pattern), NULL, 10) * 1024 : -1;
}

/* Resident bytes: smaps_rollup, else statm. */
static long rss_bytes(void)
{
	long rss = rollup_bytes("Rss");
	if (rss >= 0)
		return rss;
	char statm[256];
	CHECK(shim_test_read_file("/proc/self/statm", statm, sizeof(statm)) > 0, "statm");
	long size, resident;
	CHECK(sscanf(statm, "%ld %ld", &size, &resident) == 2, "statm: %s", statm);
	return resident * (long)sysconf(_SC_PAGESIZE);
}

/* malloc_info(options) into doc (through a memfd); its return value. */
static int info_xml(int options)
{
	int fd = test_memfd("malloc-info");
	FILE *f = fdopen(fd, "w+");
	CHECK(f != NULL, "fdopen");
	int ret = malloc_info(options, f);
	fflush(f);
	shim_test_read_back(fd, doc, sizeof(doc));
	fclose(f);
	return ret;
}

static void call_malloc_stats(int fd)
{
	(void)fd;
	malloc_stats();
}

/* malloc_stats' output (fd 2 points at a memfd meanwhile) into doc. */
static void stats_text(void)
{
	test_capture(STDERR_FILENO, call_malloc_stats, doc, sizeof(doc));
}

/* Well-formed XML: one root <malloc version="1">, tags balanced, quoted
 * attributes, nothing but white space between tags. NULL or what is wrong. */
static const char *xml_problem(const char *text)
{
	static char why[160];
	const char *stack[16];
	size_t depth = 0, roots = 0;
	if (strncmp(text, "<malloc version=\"1\">", 20) != 0)
		return "does not start with <malloc version=\"1\">";
	for (const char *c = text; *c;) {
		if (*c != '<') {
			if (*c != ' ' && *c != '\n' && *c != '\t')
				return "text outside tags";
			c++;
			continue;
		}
		int closing = c[1] == '/';
		const char *name = c + 1 + closing;
		size_t len = strspn(name, "abcdefghijklmnopqrstuvwxyz");
		if (!len)
			return "a tag without a name";
		const char *p = name + len;
		while (!closing && *p == ' ') { /* attributes: name="value" */
			p++;
			size_t alen = strspn(p, "abcdefghijklmnopqrstuvwxyz");
			if (!alen || p[alen] != '=' || p[alen + 1] != '"')
				return "a bad attribute";
			p += alen + 2;
			size_t vlen = strcspn(p, "\"<>");
			if (p[vlen] != '"')
				return "an unterminated attribute value";
			p += vlen + 1;
		}
		int empty = !closing && p[0] == '/';
		if (empty)
			p++;
		if (*p != '>')
			return "a tag that does not end with >";
		if (closing) {
			if (!depth || strncmp(stack[depth - 1], name, len) != 0 ||
			    strspn(stack[depth - 1], "abcdefghijklmnopqrstuvwxyz") != len) {
				snprintf(why, sizeof(why), "</%.*s> closes another element", (int)len, name);
				return why;
			}
			depth--;
		} else if (!empty) {
			if (depth == 0)
				roots++;
			if (depth == 16)
				return "nested too deep";
			stack[depth++] = name;
		}
		c = p + 1;
	}
	if (depth)
		return "elements left open";
	return roots == 1 ? NULL : "more than one root element";
}

/* The number in attr="..." of the first element starting with tag, at or
 * after from (before end, when given); -1 when missing. */
static long xml_number(const char *from, const char *end, const char *tag, const char *attr)
{
	const char *at = strstr(from, tag);
	if (!at || (end && at > end))
		return -1;
	char pattern[32];
	snprintf(pattern, sizeof(pattern), " %s=\"", attr);
	const char *value = strstr(at, pattern);
	const char *close = strchr(at, '>');
	if (!value || value > close)
		return -1;
	return strtol(value + strlen(pattern), NULL, 10);
}

/* The totals: after the last heap. */
static const char *xml_totals(void)
{
	const char *last = doc, *at;
	while ((at = strstr(last, "</heap>")))
		last = at + 7;
	return last;
}

/* Cached blocks and bytes of every large heap, summed. */
static void xml_large_cached(long *count, long *bytes)
{
	*count = *bytes = 0;
	for (const char *heap = doc; (heap = strstr(heap, "kind=\"large\"")); heap++) {
		const char *end = strstr(heap, "</heap>");
		*count += xml_number(heap, end, "<total type=\"cached\"", "count");
		*bytes += xml_number(heap, end, "<total type=\"cached\"", "size");
	}
}

static int near(size_t value, size_t expected, size_t tolerance)
{
	return value + tolerance >= expected && value <= expected + tolerance;
}

/* ---- The checks of one mode ----------------------------------------------- */

static void check_accounting(void)
{
	malloc_trim(0); /* start with nothing cached */
	struct mallinfo2 m0 = mallinfo2();
	for (int i = 0; i < NLARGE; i++) {
		large_objs[i] = malloc(LARGE);
		CHECK(large_objs[i] != NULL, "malloc(%zu)", LARGE);
		test_touch(large_objs[i], LARGE);
	}
	for (int i = 0; i < NSMALL; i++) {
		small_objs[i] = malloc(SMALL);
		CHECK(small_objs[i] != NULL, "malloc(%d)", SMALL);
		memset(small_objs[i], 1, SMALL);
	}
	struct mallinfo2 m1 = mallinfo2();
	size_t live = NLARGE * LARGE + (size_t)NSMALL * SMALL;
	EXPECT(near(m1.uordblks - m0.uordblks, live, TOLERANCE),
	       "uordblks grew by %zu with %zu bytes live (before %zu, after %zu)", m1.uordblks - m0.uordblks, live,
	       m0.uordblks, m1.uordblks);
	EXPECT(m1.arena == m1.uordblks + m1.fordblks, "arena %zu != uordblks %zu + fordblks %zu", m1.arena,
	       m1.uordblks, m1.fordblks);
	EXPECT(m1.arena >= live, "arena %zu with %zu bytes live", m1.arena, live);
	struct mallinfo m1i = mallinfo();
	EXPECT(near((size_t)m1i.uordblks, m1.uordblks, 64 * KiB) && near((size_t)m1i.arena, m1.arena, 64 * KiB),
	       "mallinfo: uordblks %d arena %d, mallinfo2: %zu %zu", m1i.uordblks, m1i.arena, m1.uordblks, m1.arena);

	for (int i = 0; i < NSMALL; i++)
		free(small_objs[i]);
	for (int i = 0; i < NLARGE; i++)
		free(large_objs[i]);
	struct mallinfo2 m2 = mallinfo2();
	EXPECT(near(m2.uordblks, m0.uordblks, TOLERANCE), "uordblks %zu after every free, %zu before", m2.uordblks,
	       m0.uordblks);
	EXPECT(m2.keepcost >= m0.keepcost + NLARGE * LARGE, "keepcost %zu with %d blocks of %zu cached (before: %zu)",
	       m2.keepcost, NLARGE, LARGE, m0.keepcost);
	/* Freed neighbours merge: one free piece or more. */
	EXPECT(m2.ordblks >= m0.ordblks + 1, "ordblks %zu with %d blocks freed (before: %zu)", m2.ordblks,
	       NLARGE, m0.ordblks);

	/* malloc_info's cached totals, then the trim. */
	EXPECT(info_xml(0) == 0, "malloc_info(0) failed");
	const char *problem = xml_problem(doc);
	EXPECT(problem == NULL, "malloc_info: %s: %.300s", problem, doc);
	long cached_count, cached_bytes;
	xml_large_cached(&cached_count, &cached_bytes);
	EXPECT(cached_count >= 1 && cached_bytes >= (long)(NLARGE * LARGE),
	       "malloc_info: %ld blocks, %ld bytes cached in the large heaps", cached_count, cached_bytes);
	EXPECT(xml_number(xml_totals(), NULL, "<total type=\"cached\"", "size") == cached_bytes,
	       "the cached total is not the large heaps' %ld", cached_bytes);

	long rss_before = rss_bytes();
	int trimmed = malloc_trim(0);
	long rss_after = rss_bytes();
	printf("%s: RSS %ld KiB before malloc_trim(0), %ld KiB after (%ld KiB released; %ld KiB were cached large "
	       "blocks); it returned %d\n",
	       shim_test_expect_state.prefix, rss_before >> 10, rss_after >> 10, (rss_before - rss_after) >> 10,
	       cached_bytes >> 10, trimmed);
	EXPECT(trimmed == 1, "malloc_trim(0) returned %d with %ld bytes cached", trimmed, cached_bytes);
	EXPECT(rss_before - rss_after >= (long)(NLARGE * LARGE) && rss_before - rss_after >= cached_bytes,
	       "RSS dropped by %ld bytes; %zu were freed in large blocks, %ld cached", rss_before - rss_after,
	       NLARGE * LARGE, cached_bytes);
	struct mallinfo2 m3 = mallinfo2();
	EXPECT(m2.fordblks - m3.fordblks >= NLARGE * LARGE, "fordblks %zu after trim, %zu before", m3.fordblks,
	       m2.fordblks);
	EXPECT(info_xml(0) == 0, "malloc_info(0) failed");
	xml_large_cached(&cached_count, &cached_bytes);
	EXPECT(cached_count == 0 && cached_bytes == 0, "after malloc_trim: %ld blocks, %ld bytes still cached",
	       cached_count, cached_bytes);
}

static void check_outputs(void)
{
	void *held = malloc(LARGE); /* a live large heap to describe */
	CHECK(held != NULL, "malloc");
	test_touch(held, LARGE);

	struct mallinfo2 m = mallinfo2();
	stats_text();
	EXPECT(strncmp(doc, "Arena 0:", 8) == 0, "malloc_stats starts with: %.80s", doc);
	EXPECT(strstr(doc, "\nsystem bytes     = ") && strstr(doc, "\nin use bytes     = "),
	       "malloc_stats has no system/in use lines: %.300s", doc);
	EXPECT(strstr(doc, ": large blocks, ") != NULL, "malloc_stats lists no large heap: %.600s", doc);
	const char *total = strstr(doc, "Total (incl. mmap):\n");
	EXPECT(total != NULL, "malloc_stats has no total: %.600s", doc);
	if (total) {
		const char *in_use = strstr(total, "in use bytes     = ");
		size_t value = in_use ? strtoull(in_use + 19, NULL, 10) : 0;
		EXPECT(near(value, m.uordblks + m.hblkhd, 64 * KiB), "malloc_stats: in use %zu, mallinfo2: %zu", value,
		       m.uordblks + m.hblkhd);
	}

	m = mallinfo2();
	EXPECT(info_xml(0) == 0, "malloc_info(0) failed");
	const char *problem = xml_problem(doc);
	EXPECT(problem == NULL, "malloc_info: %s: %.300s", problem, doc);
	const char *totals = xml_totals();
	long inuse = xml_number(totals, NULL, "<total type=\"inuse\"", "size");
	long system = xml_number(totals, NULL, "<system type=\"current\"", "size");
	long rest = xml_number(totals, NULL, "<total type=\"rest\"", "size");
	EXPECT(near((size_t)inuse, m.uordblks, 64 * KiB) && near((size_t)system, m.arena, 64 * KiB) &&
	               near((size_t)rest, m.fordblks, 64 * KiB),
	       "malloc_info totals inuse %ld system %ld rest %ld, mallinfo2 %zu %zu %zu", inuse, system, rest,
	       m.uordblks, m.arena, m.fordblks);
	EXPECT(inuse >= (long)LARGE, "malloc_info: %ld bytes in use with a %zu-byte block live", inuse, LARGE);
	EXPECT(strstr(doc, "kind=\"large\"") && strstr(doc, "kind=\"small\""),
	       "malloc_info lacks the shim's heaps: %.600s", doc);
	EXPECT(info_xml(1) == EINVAL, "malloc_info(1) did not return EINVAL");
	free(held);
}

/* mallopt answers as glibc does; the parameters the shim applies show. */
static void check_mallopt(void)
{
	void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
	CHECK(libc != NULL, "libc.so.6: %s", dlerror());
	int (*glibc_mallopt)(int, int);
	*(void **)&glibc_mallopt = dlsym(libc, "mallopt");
	CHECK(glibc_mallopt != NULL && (void *)glibc_mallopt != (void *)mallopt, "glibc's mallopt");
	static const struct {
		int param, value, expected;
	} cases[] = {
		{M_TRIM_THRESHOLD, 32 << 20, 1}, {M_TOP_PAD, 0, 1},     {M_MMAP_THRESHOLD, 1 << 20, 1},
		{M_MMAP_MAX, 65536, 1},          {M_ARENA_TEST, 8, 1},  {M_ARENA_MAX, 64, 1},
		{M_CHECK_ACTION, 3, 1},          {M_PERTURB, 0, 1},     {M_MXFAST, 64, 1},
		{M_MXFAST, 1000, 0},             {12345, 1, 1}, /* glibc accepts what it does not know */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int ours = mallopt(cases[i].param, cases[i].value);
		int theirs = glibc_mallopt(cases[i].param, cases[i].value);
		EXPECT(ours == theirs && ours == cases[i].expected, "mallopt(%d, %d) = %d, glibc's %d, expected %d",
		       cases[i].param, cases[i].value, ours, theirs, cases[i].expected);
	}

	/* M_TRIM_THRESHOLD: the freed bytes a pool keeps resident; the rest
	 * is MADV_FREE'd and shows as LazyFree. */
	if (rollup_bytes("LazyFree") < 0) {
		printf("%s: no LazyFree in /proc/self/smaps_rollup: M_TRIM_THRESHOLD's effect not checked\n",
		       shim_test_expect_state.prefix);
		return;
	}
	static const struct {
		int threshold;
		long lazy_min, lazy_max;
	} steps[] = {
		{32 << 20, 3 * 6 * MiB, 3 * 6 * MiB}, /* default: 5 blocks of 6 MiB stay, 3 do not */
		{256 << 20, 0, 0},                    /* all 8 stay */
		{0, 8 * 6 * MiB, 8 * 6 * MiB},        /* none stays */
	};
	for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
		malloc_trim(0);
		EXPECT(mallopt(M_TRIM_THRESHOLD, steps[s].threshold) == 1, "mallopt(M_TRIM_THRESHOLD)");
		long before = rollup_bytes("LazyFree");
		for (int i = 0; i < NLARGE; i++) {
			large_objs[i] = malloc(6 * MiB);
			CHECK(large_objs[i] != NULL, "malloc");
			test_touch(large_objs[i], 6 * MiB);
		}
		for (int i = 0; i < NLARGE; i++)
			free(large_objs[i]);
		long lazy = rollup_bytes("LazyFree") - before;
		printf("%s: M_TRIM_THRESHOLD %d: %ld KiB of 8 freed blocks of 6 MiB lazily freed\n",
		       shim_test_expect_state.prefix, steps[s].threshold, lazy >> 10);
		EXPECT(lazy + (long)MiB >= steps[s].lazy_min && lazy <= steps[s].lazy_max + (long)MiB,
		       "M_TRIM_THRESHOLD %d: %ld KiB of 8 freed blocks of 6 MiB lazily freed, expected %ld KiB",
		       steps[s].threshold, lazy >> 10, steps[s].lazy_min >> 10);
	}
	malloc_trim(0);
	mallopt(M_TRIM_THRESHOLD, 32 << 20);

	/* mallinfo's int fields saturate (glibc's wrap around). */
	size_t huge = (size_t)INT_MAX + 256 * MiB;
	void *p = malloc(huge); /* never touched */
	if (p) {
		struct mallinfo2 wide = mallinfo2();
		struct mallinfo narrow = mallinfo();
		EXPECT(wide.uordblks > (size_t)INT_MAX && narrow.uordblks == INT_MAX && narrow.arena == INT_MAX,
		       "with %zu bytes live: mallinfo2 uordblks %zu, mallinfo %d", huge, wide.uordblks,
		       narrow.uordblks);
		free(p);
	} else {
		printf("%s: malloc(%zu) failed: mallinfo's saturation not checked\n", shim_test_expect_state.prefix,
		       huge);
	}
}

static void check_fork_child(void)
{
	fflush(NULL);
	pid_t pid = fork();
	CHECK(pid >= 0, "fork");
	if (pid == 0) {
		void *p = malloc(LARGE);
		if (!p)
			_exit(2);
		test_touch(p, LARGE);
		free(p);
		int failed = malloc_trim(0) != 1;
		struct mallinfo2 m = mallinfo2();
		failed |= (m.arena < m.uordblks) << 1;
		failed |= (info_xml(0) != 0 || xml_problem(doc) != NULL) << 2;
		_exit(failed ? 10 + failed : 0);
	}
	int status = shim_test_wait(pid, 120);
	EXPECT(status == 0, "fork child exited with %d (11: trim, 12: mallinfo2, 14: malloc_info)", status);
}

/* ---- M_ARENA_MAX: threads share arenas ------------------------------------ */

static pthread_barrier_t barrier;

static void *thread_main(void *arg)
{
	(void)arg;
	void *p = malloc(SMALL);
	memset(p, 1, SMALL);
	pthread_barrier_wait(&barrier); /* all allocated */
	pthread_barrier_wait(&barrier); /* the main thread has looked */
	free(p);
	return NULL;
}

/* Small-object arenas with threads bound now, from malloc_info. */
static int arenas_in_use(int *most_threads)
{
	int count = 0;
	*most_threads = 0;
	for (const char *heap = doc; (heap = strstr(heap, "kind=\"small\"")); heap++) {
		long threads = xml_number(heap, NULL, "kind=\"small\"", "threads");
		count += threads > 0;
		if (threads > *most_threads)
			*most_threads = (int)threads;
	}
	return count;
}

static void check_arena_max(int limited)
{
	void *first = malloc(SMALL); /* this thread is bound */
	if (limited)
		EXPECT(mallopt(M_ARENA_MAX, 1) == 1, "mallopt(M_ARENA_MAX, 1)");
	pthread_t threads[THREADS];
	pthread_barrier_init(&barrier, NULL, THREADS + 1);
	for (int i = 0; i < THREADS; i++)
		CHECK(pthread_create(&threads[i], NULL, thread_main, NULL) == 0, "pthread_create");
	pthread_barrier_wait(&barrier);
	EXPECT(info_xml(0) == 0, "malloc_info(0)");
	int most;
	int count = arenas_in_use(&most);
	pthread_barrier_wait(&barrier);
	for (int i = 0; i < THREADS; i++)
		pthread_join(threads[i], NULL);
	free(first);
	printf("%s: %d threads alive: %d small-object arenas in use, the busiest with %d threads\n",
	       shim_test_expect_state.prefix, THREADS + 1, count, most);
	if (limited)
		EXPECT(count == 1 && most == THREADS + 1, "M_ARENA_MAX 1: %d arenas in use, %d threads in one: %.900s",
		       count, most, doc);
	else
		EXPECT(count >= 2, "without M_ARENA_MAX: %d arena in use: %.900s", count, doc);
}

/* ---- Another allocator in front ------------------------------------------- */

/* Under jemalloc preloaded first: every call answers and nothing breaks. */
static void check_forward(void)
{
	void *p = malloc(LARGE), *q = malloc(SMALL);
	CHECK(p && q, "malloc");
	free(p);
	int trimmed = malloc_trim(0);
	EXPECT(trimmed == 0 || trimmed == 1, "malloc_trim returned %d", trimmed);
	struct mallinfo2 m = mallinfo2();
	EXPECT(m.arena == m.uordblks + m.fordblks || m.arena == 0, "mallinfo2: arena %zu uordblks %zu fordblks %zu",
	       m.arena, m.uordblks, m.fordblks);
	EXPECT(mallopt(M_TRIM_THRESHOLD, 1 << 20) == 1, "mallopt");
	EXPECT(info_xml(0) == 0 && xml_problem(doc) == NULL, "malloc_info(0): %.300s", doc);
	EXPECT(info_xml(1) == EINVAL, "malloc_info(1)");
	stats_text();
	EXPECT(strstr(doc, "Arena 0:") != NULL, "malloc_stats: %.300s", doc);
	free(q);
}

static const char *jemalloc_path(void)
{
	static const char *const candidates[] = {
		"/usr/lib/x86_64-linux-gnu/libjemalloc.so.2", "/usr/lib/aarch64-linux-gnu/libjemalloc.so.2",
		"/usr/lib64/libjemalloc.so.2", "/usr/lib/libjemalloc.so.2", NULL,
	};
	for (int i = 0; candidates[i]; i++)
		if (access(candidates[i], R_OK) == 0)
			return candidates[i];
	return NULL;
}

/* Runs "forward" with LD_PRELOAD=jemalloc:shim; -2 when there is no jemalloc. */
static int spawn_forward(char *argv0)
{
	const char *jemalloc = jemalloc_path();
	char lib[PATH_MAX];
	if (!jemalloc || shim_test_lib_path(lib, sizeof(lib)) != 0)
		return -2;
	char preload[2 * PATH_MAX + 16];
	snprintf(preload, sizeof(preload), "LD_PRELOAD=%s:%s", jemalloc, lib);
	extern char **environ;
	size_t n = 0, count = 0;
	while (environ[count])
		count++;
	char **envp = calloc(count + 3, sizeof(char *));
	CHECK(envp != NULL, "calloc");
	for (size_t i = 0; i < count; i++)
		if (strncmp(environ[i], "LD_PRELOAD=", 11) != 0 && strncmp(environ[i], "AMLSHIM_", 8) != 0 &&
		    strncmp(environ[i], SHIM_TEST_REEXEC_VAR "=", sizeof(SHIM_TEST_REEXEC_VAR)) != 0)
			envp[n++] = environ[i];
	envp[n++] = preload;
	envp[n++] = (char *)SHIM_TEST_REEXEC_VAR "=1";
	char *args[] = {argv0, (char *)"forward", NULL};
	fflush(NULL);
	pid_t pid = fork();
	CHECK(pid >= 0, "fork");
	if (pid == 0) {
		execve("/proc/self/exe", args, envp);
		_exit(126);
	}
	free(envp);
	return shim_test_wait(pid, 120);
}

/* ---- Modes ------------------------------------------------------------------ */

static const struct shim_test_mode modes[] = {
	{"default", {NULL}},
	{"interleave", {"AMLSHIM_POLICY=interleave", "AMLSHIM_THRESHOLD=64K", NULL}},
	{"arenas", {NULL}},
	{"arenas-limited", {NULL}},
};
#define MODES (sizeof(modes) / sizeof(modes[0]))

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "forward") == 0) {
		static const char *const none[] = {NULL};
		shim_test_start(argv, none);
		shim_test_expect_state.prefix = "forward";
		check_forward();
		return shim_test_expect_summary("malloc_extras");
	}
	int m = shim_test_mode_start(argv, modes, MODES);
	if (m >= 0) {
		if (strncmp(modes[m].name, "arenas", 6) == 0) {
			check_arena_max(strcmp(modes[m].name, "arenas-limited") == 0);
		} else {
			check_accounting();
			check_outputs();
			check_mallopt();
			check_fork_child();
		}
		return shim_test_expect_summary("malloc_extras");
	}
	int failed = shim_test_run_modes(argc, argv, modes, MODES, 300);
	int status = spawn_forward(argv[0]);
	if (status == -2)
		printf("malloc_extras: no libjemalloc.so.2: the mode with another allocator in front not run\n");
	else
		EXPECT(status == 0, "mode forward (jemalloc preloaded first) exited with %d", status);
	failed += status != 0 && status != -2;
	if (failed)
		return shim_test_expect_summary("malloc_extras");
	printf("malloc_extras: trim, mallinfo/mallinfo2, malloc_stats, malloc_info and mallopt describe and act on "
	       "the shim's heaps\n");
	return 0;
}
