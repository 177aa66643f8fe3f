/* The program's own mmap under the shim. With AMLSHIM_POLICY=interleave
 * AMLSHIM_THRESHOLD=1M a private anonymous read-write mapping of 8 MiB is
 * placed (the kernel reports MPOL_INTERLEAVE for it, first to last page),
 * munmap and mremap work on it (growth keeps content and policy), and the
 * report counts it as an mmap of the rule; errno is kept. Mappings the shim
 * must pass through are not placed (MPOL_DEFAULT): below the threshold,
 * shared, file-backed, MAP_FIXED, PROT_NONE, read-only, executable,
 * MAP_NORESERVE, MAP_STACK, MAP_GROWSDOWN, with an address hint. Flags
 * whose meaning must survive placement are honoured: MAP_32BIT (the
 * mapping lies below 4 GiB), MAP_POPULATE and MAP_LOCKED (resident at
 * once). Unmapping a placed mapping piece by piece, in any order, leaves
 * no live bytes in the report.
 *
 * Other modes, run as children: AMLSHIM_MMAP=off (mmap not placed, malloc
 * still is), AMLSHIM_POLICY=bind:N (MPOL_BIND on N, the first allowed
 * node) and AMLSHIM_POLICY=default (nothing placed); and small objects:
 * AMLSHIM_SMALL=interleave and AMLSHIM_SMALL=local (every small block, the
 * first ones included, has that policy), and a rule table over small sizes
 * (AMLSHIM_RULES=0-64K=interleave;64K-=bind:N). */
#include <sys/resource.h>

#include "shim_test.h"

#ifndef MAP_32BIT
#define MAP_32BIT 0x40
#endif

#define MiB ((size_t)1 << 20)
#define KiB ((size_t)1 << 10)
#define THRESHOLD MiB
#define BIG (8 * MiB)

static const char *mode = "interleave";

static int policy_of(const void *p)
{
	return shim_test_policy(p, NULL);
}

#define EXPECT_POLICY(p, expected, what)                                                                   \
	do {                                                                                               \
		int mode_ = policy_of(p);                                                                  \
		EXPECT(mode_ == (expected), "%s: policy %s, expected %s", what, shim_test_policy_name(mode_), \
		       shim_test_policy_name(expected));                                                  \
	} while (0)

/* Pages of [p, p+len) resident now. */
static size_t resident_pages(void *p, size_t len)
{
	size_t pages = len / 4096, count = 0;
	static unsigned char vec[(64 << 20) / 4096];
	CHECK(pages <= sizeof(vec), "range too large");
	CHECK(mincore(p, len, vec) == 0, "mincore: %s", strerror(errno));
	for (size_t i = 0; i < pages; i++)
		count += vec[i] & 1;
	return count;
}

static void *map(size_t len, int prot, int flags, int fd)
{
	void *p = mmap(NULL, len, prot, flags, fd, 0);
	CHECK(p != MAP_FAILED, "mmap(%zu, prot %d, flags 0x%x): %s", len, prot, flags, strerror(errno));
	return p;
}

static void unmap(void *p, size_t len)
{
	errno = 31;
	EXPECT(munmap(p, len) == 0, "munmap(%p, %zu): %s", p, len, strerror(errno));
	EXPECT(errno == 31, "munmap changed errno to %d", errno);
}

static void check_placed(void)
{
	struct shim_rule_stats before = shim_test_rule(THRESHOLD);
	errno = 4321;
	char *p = mmap(NULL, BIG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int saved = errno;
	CHECK(p != MAP_FAILED, "mmap 8M");
	EXPECT(saved == 4321, "a placed mmap changed errno to %d", saved);
	EXPECT(((uintptr_t)p & 4095) == 0, "mmap returned %p, not page-aligned", (void *)p);
	EXPECT_POLICY(p, MPOL_INTERLEAVE, "8M private anonymous mmap (first page)");
	EXPECT_POLICY(p + BIG - 1, MPOL_INTERLEAVE, "8M private anonymous mmap (last page)");
	EXPECT(resident_pages(p, BIG) == 0, "a fresh mapping has resident pages");
	shim_test_fill(p, BIG, 1);
	CHECK_PATTERN(p, BIG, 1);
	struct shim_rule_stats now = shim_test_rule(THRESHOLD);
	EXPECT(now.mmaps - before.mmaps == 1, "the rule counted %ld mmaps, expected 1", now.mmaps - before.mmaps);
	EXPECT(now.count - before.count == 1, "the rule counted %ld allocations, expected 1", now.count - before.count);
	EXPECT(now.live_bytes - before.live_bytes == (long)BIG, "live bytes grew by %ld", now.live_bytes - before.live_bytes);
	unmap(p, BIG);
	now = shim_test_rule(THRESHOLD);
	EXPECT(now.live_bytes == before.live_bytes, "live bytes after munmap: %ld more than before",
	       now.live_bytes - before.live_bytes);

	/* Exactly at the threshold: placed; a page below: not. */
	p = map(THRESHOLD, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
	EXPECT_POLICY(p, MPOL_INTERLEAVE, "1M mmap (at the threshold)");
	unmap(p, THRESHOLD);

	/* mremap: grow (moving), content and policy kept; shrink in place. */
	p = map(BIG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
	shim_test_fill(p, BIG, 2);
	char *q = mremap(p, BIG, 2 * BIG, MREMAP_MAYMOVE);
	CHECK(q != MAP_FAILED, "mremap grow: %s", strerror(errno));
	CHECK_PATTERN(q, BIG, 2);
	shim_test_fill_range(q, BIG, 2 * BIG, 2);
	EXPECT_POLICY(q + 2 * BIG - 1, MPOL_INTERLEAVE, "the grown part after mremap");
	char *r = mremap(q, 2 * BIG, BIG / 4, 0);
	CHECK(r == q, "mremap shrink moved or failed: %s", strerror(errno));
	CHECK_PATTERN(r, BIG / 4, 2);
	unmap(r, BIG / 4);
	now = shim_test_rule(THRESHOLD);
	EXPECT(now.live_bytes == before.live_bytes, "live bytes after mremap and munmap: %ld more than before",
	       now.live_bytes - before.live_bytes);

	/* malloc of 8M: the same rule. */
	void *m = malloc(BIG);
	CHECK(m != NULL, "malloc 8M");
	EXPECT_POLICY(m, MPOL_INTERLEAVE, "malloc(8M)");
	free(m);
}

static void check_not_placed(void)
{
	struct shim_rule_stats before = shim_test_rule(THRESHOLD);
	const int rw = PROT_READ | PROT_WRITE, anon = MAP_PRIVATE | MAP_ANONYMOUS;
	struct {
		const char *what;
		size_t len;
		int prot, flags;
	} cases[] = {
		{"64K anonymous", 64 * KiB, rw, anon},
		{"1M - 4K anonymous", THRESHOLD - 4096, rw, anon},
		{"MAP_SHARED anonymous", BIG, rw, MAP_SHARED | MAP_ANONYMOUS},
		{"PROT_NONE", BIG, PROT_NONE, anon},
		{"PROT_READ", BIG, PROT_READ, anon},
		{"PROT_READ|PROT_WRITE|PROT_EXEC", BIG, rw | PROT_EXEC, anon},
		{"MAP_NORESERVE", BIG, rw, anon | MAP_NORESERVE},
		{"MAP_STACK", BIG, rw, anon | MAP_STACK},
		{"MAP_GROWSDOWN", BIG, rw, anon | MAP_GROWSDOWN},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *p = map(cases[i].len, cases[i].prot, cases[i].flags, -1);
		EXPECT_POLICY(p, MPOL_DEFAULT, cases[i].what);
		unmap(p, cases[i].len);
	}

	/* File-backed, private. */
	int fd = (int)syscall(SYS_memfd_create, "amlshim-mmap-test", 1U);
	CHECK(fd >= 0 && ftruncate(fd, (off_t)BIG) == 0, "memfd");
	char *f = map(BIG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd);
	EXPECT_POLICY(f, MPOL_DEFAULT, "file-backed MAP_PRIVATE");
	f[0] = 1;
	unmap(f, BIG);
	close(fd);

	/* MAP_FIXED over a reservation, and an address hint. */
	char *reserve = map(2 * BIG, PROT_NONE, anon, -1);
	char *fixed = mmap(reserve, BIG, rw, anon | MAP_FIXED, -1, 0);
	CHECK(fixed == reserve, "MAP_FIXED: %s", strerror(errno));
	EXPECT_POLICY(fixed, MPOL_DEFAULT, "MAP_FIXED");
	fixed[0] = 1;
	unmap(reserve + BIG, BIG);
	char *hinted = mmap(reserve + BIG, BIG, rw, anon, -1, 0);
	CHECK(hinted != MAP_FAILED, "mmap with a hint");
	EXPECT_POLICY(hinted, MPOL_DEFAULT, "an address hint");
	unmap(hinted, BIG);
	unmap(fixed, BIG);

	/* Failures keep the kernel's errno. */
	errno = 0;
	void *bad = mmap(NULL, BIG, rw, MAP_PRIVATE, 12345, 0);
	EXPECT(bad == MAP_FAILED && errno == EBADF, "mmap of a bad fd: %p, errno %d", bad, errno);
	errno = 0;
	bad = mmap(NULL, 0, rw, anon, -1, 0);
	EXPECT(bad == MAP_FAILED && errno == EINVAL, "mmap of 0 bytes: %p, errno %d", bad, errno);

	struct shim_rule_stats after = shim_test_rule(THRESHOLD);
	EXPECT(after.mmaps == before.mmaps, "%ld mappings counted by the rule, expected none", after.mmaps - before.mmaps);
}

/* Flags a placed mapping must still honour. */
static void check_flag_semantics(void)
{
	const int rw = PROT_READ | PROT_WRITE, anon = MAP_PRIVATE | MAP_ANONYMOUS;
	char *p = mmap(NULL, BIG, rw, anon | MAP_32BIT, -1, 0);
	CHECK(p != MAP_FAILED, "mmap MAP_32BIT: %s", strerror(errno));
	EXPECT((uintptr_t)p + BIG <= ((uintptr_t)1 << 32), "MAP_32BIT mapping at %p is not below 4 GiB", (void *)p);
	unmap(p, BIG);

	p = mmap(NULL, BIG, rw, anon | MAP_POPULATE, -1, 0);
	CHECK(p != MAP_FAILED, "mmap MAP_POPULATE: %s", strerror(errno));
	size_t resident = resident_pages(p, BIG);
	EXPECT(resident == BIG / 4096, "MAP_POPULATE: %zu of %zu pages resident after mmap", resident, BIG / 4096);
	unmap(p, BIG);

	struct rlimit limit;
	getrlimit(RLIMIT_MEMLOCK, &limit);
	p = mmap(NULL, BIG, rw, anon | MAP_LOCKED, -1, 0);
	if (p == MAP_FAILED) {
		printf("MAP_LOCKED not checked: %s (RLIMIT_MEMLOCK %llu)\n", strerror(errno),
		       (unsigned long long)limit.rlim_cur);
	} else {
		resident = resident_pages(p, BIG);
		EXPECT(resident == BIG / 4096, "MAP_LOCKED: %zu of %zu pages resident after mmap", resident, BIG / 4096);
		unmap(p, BIG);
	}
}

/* A placed mapping unmapped piece by piece: the report forgets it. */
static void check_partial_unmaps(void)
{
	const int rw = PROT_READ | PROT_WRITE, anon = MAP_PRIVATE | MAP_ANONYMOUS;
	static const struct {
		const char *order;
		size_t pieces[3][2]; /* offset, length; length 0 ends */
	} orders[] = {
		{"head then tail", {{0, BIG / 2}, {BIG / 2, BIG / 2}, {0, 0}}},
		{"middle, head, tail", {{BIG / 4, BIG / 4}, {0, BIG / 4}, {BIG / 2, BIG / 2}}},
		{"tail then head", {{BIG / 2, BIG / 2}, {0, BIG / 2}, {0, 0}}},
	};
	/* A record left behind by one order can be hit by the next one's
	 * munmap at the same address and balance it by accident: the total
	 * is checked too. */
	struct shim_rule_stats start = shim_test_rule(THRESHOLD);
	for (size_t o = 0; o < sizeof(orders) / sizeof(orders[0]); o++) {
		struct shim_rule_stats before = shim_test_rule(THRESHOLD);
		char *p = map(BIG, rw, anon, -1);
		EXPECT_POLICY(p, MPOL_INTERLEAVE, "8M mapping");
		test_touch(p, BIG);
		for (int i = 0; i < 3 && orders[o].pieces[i][1]; i++)
			unmap(p + orders[o].pieces[i][0], orders[o].pieces[i][1]);
		struct shim_rule_stats after = shim_test_rule(THRESHOLD);
		EXPECT(after.live_bytes == before.live_bytes, "unmapped %s: the rule still has %ld live bytes of it",
		       orders[o].order, after.live_bytes - before.live_bytes);
	}
	struct shim_rule_stats end = shim_test_rule(THRESHOLD);
	EXPECT(end.live_bytes == start.live_bytes, "after all partial unmaps the rule has %ld live bytes more",
	       end.live_bytes - start.live_bytes);
}

/* The child modes: what the kernel reports for malloc and mmap of 8M. */
static int child(const char *which)
{
	mode = which;
	shim_test_expect_state.prefix = which;
	const int rw = PROT_READ | PROT_WRITE, anon = MAP_PRIVATE | MAP_ANONYMOUS;
	void *m = malloc(BIG);
	char *p = map(BIG, rw, anon, -1);
	CHECK(m != NULL, "malloc 8M");
	if (strcmp(which, "off") == 0) {
		EXPECT_POLICY(m, MPOL_INTERLEAVE, "malloc(8M) with AMLSHIM_MMAP=off");
		EXPECT_POLICY(p, MPOL_DEFAULT, "mmap 8M with AMLSHIM_MMAP=off");
		struct shim_rule_stats s = shim_test_rule(THRESHOLD);
		EXPECT(s.mmaps == 0, "AMLSHIM_MMAP=off: the rule counted %ld mmaps", s.mmaps);
	} else if (strcmp(which, "bind") == 0) {
		int node = shim_test_first_node();
		unsigned long mask = 0;
		int mode_ = shim_test_policy(m, &mask);
		EXPECT(mode_ == MPOL_BIND && node < 64 && mask == 1UL << node, "malloc(8M) under bind:%d: %s, mask 0x%lx",
		       node, shim_test_policy_name(mode_), mask);
		mode_ = shim_test_policy(p, &mask);
		EXPECT(mode_ == MPOL_BIND && node < 64 && mask == 1UL << node, "mmap 8M under bind:%d: %s, mask 0x%lx", node,
		       shim_test_policy_name(mode_), mask);
		test_touch(m, BIG);
		EXPECT(test_page_node(m) == node, "a page of malloc(8M) under bind:%d is on node %d", node, test_page_node(m));
	} else if (strncmp(which, "small-", 6) == 0 || strcmp(which, "rules") == 0) {
		/* Small blocks (the program's very first ones too) and one past
		 * 64K: the kernel policy of each. */
		int want = strcmp(which, "small-local") == 0 ? MPOL_LOCAL : MPOL_INTERLEAVE;
		static const size_t sizes[] = {16, 100, 4000, 5000, 30000, 60000};
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			for (int round = 0; round < 3; round++) {
				char *b = malloc(sizes[i]);
				CHECK(b != NULL, "malloc");
				b[0] = 1;
				unsigned long mask = 0;
				int got = shim_test_policy(b, &mask);
				int ok = got == want || (want == MPOL_LOCAL && got == MPOL_PREFERRED && mask == 0);
				EXPECT(ok, "malloc(%zu) = %p has %s, expected %s", sizes[i], (void *)b, shim_test_policy_name(got),
				       shim_test_policy_name(want));
				shim_test_escape(b);
			}
		}
		/* No rule claims 8M under AMLSHIM_SMALL alone: the small path
		 * serves it, with the small placement. */
		if (strcmp(which, "rules") == 0) {
			EXPECT_POLICY(m, MPOL_BIND, "malloc(8M)");
		} else {
			unsigned long mask = 0;
			int got = shim_test_policy(m, &mask);
			EXPECT(got == want || (want == MPOL_LOCAL && got == MPOL_PREFERRED && mask == 0),
			       "malloc(8M) has %s, expected %s", shim_test_policy_name(got), shim_test_policy_name(want));
		}
	} else {
		EXPECT_POLICY(m, MPOL_DEFAULT, "malloc(8M) with AMLSHIM_POLICY=default");
		EXPECT_POLICY(p, MPOL_DEFAULT, "mmap 8M with AMLSHIM_POLICY=default");
		shim_test_report(shim_test_report_buf, sizeof(shim_test_report_buf), 1);
		EXPECT(strstr(shim_test_report_buf, "\"rules\":[]") != NULL, "AMLSHIM_POLICY=default has rules: %s",
		       shim_test_report_buf);
	}
	unmap(p, BIG);
	free(m);
	return shim_test_expect_summary(which);
}

int main(int argc, char **argv)
{
	static const char *const env[] = {"AMLSHIM_POLICY=interleave", "AMLSHIM_THRESHOLD=1M", NULL};
	static const char *const off_env[] = {"AMLSHIM_POLICY=interleave", "AMLSHIM_THRESHOLD=1M", "AMLSHIM_MMAP=off", NULL};
	static const char *const default_env[] = {"AMLSHIM_POLICY=default", "AMLSHIM_THRESHOLD=1M", NULL};
	char bind_policy[64];
	snprintf(bind_policy, sizeof(bind_policy), "AMLSHIM_POLICY=bind:%d", shim_test_first_node());
	const char *const bind_env[] = {bind_policy, "AMLSHIM_THRESHOLD=1M", NULL};
	static const char *const small_interleave_env[] = {"AMLSHIM_SMALL=interleave", NULL};
	static const char *const small_local_env[] = {"AMLSHIM_SMALL=local", NULL};
	char rules[96];
	snprintf(rules, sizeof(rules), "AMLSHIM_RULES=0-64K=interleave;64K-=bind:%d", shim_test_first_node());
	const char *const rules_env[] = {rules, NULL};
	if (argc > 1) {
		const char *const *child_env = strcmp(argv[1], "off") == 0                ? off_env
		                               : strcmp(argv[1], "bind") == 0             ? bind_env
		                               : strcmp(argv[1], "small-interleave") == 0 ? small_interleave_env
		                               : strcmp(argv[1], "small-local") == 0      ? small_local_env
		                               : strcmp(argv[1], "rules") == 0            ? rules_env
		                                                                          : default_env;
		shim_test_start(argv, child_env);
		return child(argv[1]);
	}
	shim_test_start(argv, env);
	shim_test_expect_state.prefix = "interleave";
	check_placed();
	check_not_placed();
	check_partial_unmaps();
	check_flag_semantics();
	static const char *const modes[] = {"off", "bind", "default", "small-interleave", "small-local", "rules"};
	const char *const *envs[] = {off_env, bind_env, default_env, small_interleave_env, small_local_env, rules_env};
	for (int i = 0; i < 6; i++) {
		char *args[] = {argv[0], (char *)modes[i], NULL};
		int status = shim_test_spawn(args, envs[i], 200, NULL);
		EXPECT(status == 0, "mode %s exited with %d", modes[i], status);
	}
	return shim_test_expect_summary("mmap_placement");
}
