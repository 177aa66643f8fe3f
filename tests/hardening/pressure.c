/* Memory pressure and limits under the shim.
 *
 * Address-space limit (ulimit -v 2 GiB, set before the program and the shim
 * start): a malloc, calloc, realloc, posix_memalign, aligned_alloc or mmap
 * that cannot fit returns NULL / ENOMEM / MAP_FAILED (the old block of a
 * failed realloc intact), never crashes; filling the address space with
 * large blocks, then with small ones, ends in NULL, and after freeing half
 * the program allocates again (it recovers), and after freeing everything
 * it can allocate 256 MiB again. Under the rules for every path, block-
 * interleave, no variable, and AMLSHIM_STRICT=1.
 *
 * Memory cgroup (v1 or v2, when this process may create one; skipped
 * otherwise): in a cgroup limited to 384 MiB without swap,
 *   - a program that allocates, touches and frees blocks of 40 to 250 MiB
 *     one at a time (never more than 250 MiB live) must not be OOM-killed:
 *     what the allocator keeps of freed blocks must fit under the limit;
 *   - block-interleave's eager path (64 KiB blocks over two or more nodes)
 *     populates blocks when they are allocated: a 1 GiB allocation cannot
 *     be populated there and must fail cleanly (NULL, ENOMEM) with
 *     AMLSHIM_STRICT=1, or fall back to the kernel default without it (the
 *     documented difference), and the program goes on; where the area is
 *     lazy (one node; 2 MiB blocks with THP: the report's area says
 *     "placement: lazy") the allocation is served, strict or not, and the
 *     resident set grows by less than 64 MiB; the same allocation under
 *     interleave (not populated) touching one page is the control: it must
 *     simply work. */
#include <sys/resource.h>
#include <sys/stat.h>

#include "hardening.h"

#define AS_LIMIT ((rlim_t)2 << 30)

/* ---- ulimit -v ----------------------------------------------------------- */

static void huge_requests_fail(void)
{
	size_t huge = (size_t)3 << 30;
	errno = 0;
	CHECK(malloc(huge) == NULL && errno == ENOMEM, "malloc(3 GiB) under a 2 GiB limit: errno %d", errno);
	errno = 0;
	CHECK(calloc(3, (size_t)1 << 30) == NULL && errno == ENOMEM, "calloc(3, 1 GiB): errno %d", errno);
	void *p = NULL;
	CHECK(posix_memalign(&p, 4096, huge) == ENOMEM && p == NULL, "posix_memalign(3 GiB)");
	errno = 0;
	CHECK(aligned_alloc((size_t)1 << 21, huge) == NULL && errno == ENOMEM, "aligned_alloc(3 GiB)");
	errno = 0;
	CHECK(mmap(NULL, huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED &&
	              errno == ENOMEM,
	      "mmap(3 GiB): errno %d", errno);
	/* A failed realloc keeps the block and its content. */
	size_t sizes[] = {100, (size_t)100 << 10, (size_t)8 << 20};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char *q = malloc(sizes[i]);
		CHECK(q != NULL, "malloc %zu", sizes[i]);
		hard_fill(q, sizes[i], i + 1);
		errno = 0;
		CHECK(realloc(q, huge) == NULL && errno == ENOMEM, "realloc(%zu -> 3 GiB): errno %d", sizes[i], errno);
		CHECK(hard_check(q, sizes[i], i + 1) < 0, "a failed realloc lost the content");
		free(q);
	}
}

/* Fills the address space with blocks of size until NULL; frees every
 * other one; allocates again (recovery); frees all. Returns the count. */
static long fill_and_recover(size_t size, const char *what)
{
	enum { MAX = 1 << 20 };
	static void *blocks[MAX];
	long count = 0;
	while (count < MAX) {
		void *p = malloc(size);
		if (!p) {
			CHECK(errno == ENOMEM, "%s: malloc failed with errno %d, not ENOMEM", what, errno);
			break;
		}
		((char *)p)[0] = 1;
		((char *)p)[size - 1] = 2;
		blocks[count++] = p;
	}
	CHECK(count < MAX, "%s: %ld blocks of %zu and no failure under a 2 GiB limit", what, count, size);
	CHECK(count > 0, "%s: not even one block", what);
	long freed = 0;
	for (long i = 0; i < count; i += 2) {
		free(blocks[i]);
		blocks[i] = NULL;
		freed++;
	}
	long again = 0;
	for (long i = 0; i < count && again < freed / 2; i += 2) {
		blocks[i] = malloc(size);
		if (!blocks[i])
			break;
		again++;
	}
	CHECK(again >= freed / 2 || again >= 8, "%s: after freeing %ld blocks only %ld could be allocated again", what,
	      freed, again);
	for (long i = 0; i < count; i++)
		free(blocks[i]);
	return count;
}

static int ulimit_worker(const char *name)
{
	struct rlimit limit;
	CHECK(getrlimit(RLIMIT_AS, &limit) == 0 && limit.rlim_cur == AS_LIMIT, "the limit is not in place");
	huge_requests_fail();
	long large = fill_and_recover((size_t)8 << 20, "8 MiB blocks");
	long medium = fill_and_recover((size_t)200 << 10, "200 KiB blocks");
	long small = fill_and_recover(16 << 10, "16 KiB blocks");
	void *big = malloc((size_t)256 << 20);
	CHECK(big != NULL, "256 MiB after everything was freed");
	memset(big, 3, (size_t)256 << 20);
	free(big);
	huge_requests_fail();
	printf("%s: under ulimit -v 2 GiB: %ld blocks of 8 MiB, %ld of 200 KiB, %ld of 16 KiB before NULL; recovered "
	       "each time\n", name, large, medium, small);
	return 0;
}

/* ---- memory cgroup ------------------------------------------------------ */

static char cgroup_dir[PATH_MAX];
static int cgroup_v2;

static int write_file(const char *dir, const char *name, const char *value)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, value, strlen(value));
	close(fd);
	return n == (ssize_t)strlen(value) ? 0 : -1;
}

/* A cgroup limited to bytes, no swap; 0 or -1 (not available here). */
static int cgroup_create(size_t bytes, char *why, size_t why_len)
{
	char limit[32];
	snprintf(limit, sizeof(limit), "%zu", bytes);
	char controllers[256];
	if (shim_test_read_file("/sys/fs/cgroup/cgroup.controllers", controllers, sizeof(controllers)) > 0) {
		if (!strstr(controllers, "memory")) {
			snprintf(why, why_len, "cgroup v2 without the memory controller");
			return -1;
		}
		/* Under our own cgroup: /proc/self/cgroup "0::/PATH". */
		char self[512];
		shim_test_read_file("/proc/self/cgroup", self, sizeof(self));
		char *path = strstr(self, "0::");
		path = path ? path + 3 : (char *)"/";
		path[strcspn(path, "\n")] = '\0';
		char parent[PATH_MAX];
		snprintf(parent, sizeof(parent), "/sys/fs/cgroup%s", strcmp(path, "/") == 0 ? "" : path);
		snprintf(cgroup_dir, sizeof(cgroup_dir), "%s/amlshim-test-%d", parent, (int)getpid());
		write_file(parent, "cgroup.subtree_control", "+memory");
		if (mkdir(cgroup_dir, 0755) != 0) {
			snprintf(why, why_len, "cannot create %s: %s", cgroup_dir, strerror(errno));
			return -1;
		}
		cgroup_v2 = 1;
		if (write_file(cgroup_dir, "memory.max", limit) != 0) {
			snprintf(why, why_len, "cannot set memory.max in %s", cgroup_dir);
			rmdir(cgroup_dir);
			return -1;
		}
		write_file(cgroup_dir, "memory.swap.max", "0");
		return 0;
	}
	const char *root = "/sys/fs/cgroup/memory";
	if (access(root, W_OK) != 0) {
		snprintf(why, why_len, "no writable memory cgroup (v1 %s or v2)", root);
		return -1;
	}
	snprintf(cgroup_dir, sizeof(cgroup_dir), "%s/amlshim-test-%d", root, (int)getpid());
	if (mkdir(cgroup_dir, 0755) != 0) {
		snprintf(why, why_len, "cannot create %s: %s", cgroup_dir, strerror(errno));
		return -1;
	}
	if (write_file(cgroup_dir, "memory.limit_in_bytes", limit) != 0) {
		snprintf(why, why_len, "cannot set memory.limit_in_bytes");
		rmdir(cgroup_dir);
		return -1;
	}
	write_file(cgroup_dir, "memory.memsw.limit_in_bytes", limit); /* when swap is accounted */
	write_file(cgroup_dir, "memory.swappiness", "0");
	return 0;
}

static void cgroup_enter(pid_t pid)
{
	char text[32];
	snprintf(text, sizeof(text), "%d", (int)pid);
	CHECK(write_file(cgroup_dir, "cgroup.procs", text) == 0, "cannot move %d into %s", (int)pid, cgroup_dir);
}

static void cgroup_remove(void)
{
	if (cgroup_dir[0])
		rmdir(cgroup_dir);
	cgroup_dir[0] = '\0';
}

/* Blocks of 8 sizes from 40 to 250 MiB (each 1.3 times the last: no
 * freed block fits the next request), allocated, touched and freed one at
 * a time, twice over: never more than 250 MiB live. Plain glibc unmaps
 * each at free. */
static int churn_worker(const char *name)
{
	size_t size = (size_t)40 << 20;
	for (int i = 0; i < 16; i++) {
		if (i == 8)
			size = (size_t)40 << 20;
		void *p = malloc(size);
		CHECK(p != NULL, "malloc %zu", size);
		memset(p, i, size);
		free(p);
		size = size * 13 / 10;
	}
	printf("%s: 16 blocks of 40-250 MiB, one at a time, allocated, touched and freed in a 384 MiB cgroup\n", name);
	return 0;
}

static size_t rss_bytes(void)
{
	char text[128];
	unsigned long pages = 0, resident = 0;
	CHECK(shim_test_read_file("/proc/self/statm", text, sizeof(text)) > 0 &&
	              sscanf(text, "%lu %lu", &pages, &resident) == 2,
	      "statm");
	return resident * (size_t)sysconf(_SC_PAGESIZE);
}

/* One allocation larger than the cgroup. An eager block area would
 * populate it at once: strict fails, otherwise the kernel default takes it
 * (lazily). A lazy one (the report says which) or interleave serves it. */
static int populate_worker(const char *name, int strict, int lazy)
{
	static char report[16384];
	shim_test_report(report, sizeof(report), 1);
	lazy = lazy || strstr(report, "placement: lazy") != NULL;
	errno = 0;
	size_t size = (size_t)1 << 30, rss = rss_bytes();
	void *p = malloc(size);
	size_t grown = rss_bytes() - rss;
	if (p && lazy)
		CHECK(grown < ((size_t)64 << 20), "%s: a lazy 1 GiB allocation made %zu MiB resident", name, grown >> 20);
	if (strict && !lazy) {
		CHECK(p == NULL && errno == ENOMEM, "%s: a 1 GiB block-interleave block in a 384 MiB cgroup: %p, errno %d",
		      name, p, errno);
	} else {
		CHECK(p != NULL, "%s: without AMLSHIM_STRICT the allocation falls back, but got NULL (errno %d)", name, errno);
		((char *)p)[0] = 1; /* touch one page only */
		free(p);
	}
	/* The program goes on. */
	void *q = malloc((size_t)64 << 20);
	CHECK(q != NULL, "64 MiB after the refused allocation");
	memset(q, 1, (size_t)64 << 20);
	free(q);
	printf("%s: 1 GiB allocation in a 384 MiB cgroup: %s (resident set +%zu MiB); the program went on\n", name,
	       lazy ? "served (not populated)" : p ? "fell back to the kernel default" : "NULL/ENOMEM", grown >> 20);
	return 0;
}

/* ---- driver ----------------------------------------------------------------- */

static struct hard_config configs[9];
static char rules[200];

/* Config i under the shim (or, i < 0, the churn without the shim), with
 * the address-space limit or in the cgroup; returns the exit status. */
static int run_limited(char **argv, int i, int use_cgroup)
{
	char index[16];
	snprintf(index, sizeof(index), "%d", i);
	char *args[] = {argv[0], i < 0 ? (char *)"plain-churn" : (char *)"worker", index, NULL};
	static const char *const no_env[] = {NULL};
	const char *name = i < 0 ? "cgroup: the same blocks, plain glibc (control)" : configs[i].name;
	char **envp = shim_test_env(i < 0 ? no_env : configs[i].env);
	fflush(NULL);
	int pipefd[2];
	CHECK(pipe(pipefd) == 0, "pipe");
	pid_t pid = fork();
	CHECK(pid >= 0, "fork");
	if (pid == 0) {
		close(pipefd[1]);
		char go;
		if (read(pipefd[0], &go, 1) != 1) /* wait to be moved into the cgroup */
			_exit(125);
		if (!use_cgroup) {
			struct rlimit limit = {AS_LIMIT, AS_LIMIT};
			if (setrlimit(RLIMIT_AS, &limit) != 0)
				_exit(124);
		}
		execve("/proc/self/exe", args, envp);
		_exit(126);
	}
	close(pipefd[0]);
	if (use_cgroup)
		cgroup_enter(pid);
	CHECK(write(pipefd[1], "g", 1) == 1, "release the child");
	close(pipefd[1]);
	double end = test_now() + 120;
	int status;
	for (;;) {
		pid_t done = waitpid(pid, &status, WNOHANG);
		if (done == pid)
			break;
		if (test_now() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			CHECK(0, "%s: hung", name);
		}
		usleep(10000);
	}
	free(envp);
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	printf("%-52s status %d\n", name, code);
	fflush(stdout);
	return code;
}

int main(int argc, char **argv)
{
	hard_rules(rules, sizeof(rules), "1M-16M=interleave;16M-=block-interleave:2M");
	configs[0] = (struct hard_config){"ulimit -v: rules for every path", {rules, NULL}};
	configs[1] = (struct hard_config){"ulimit -v: block-interleave, threshold 64K",
	                                  {"AMLSHIM_POLICY=block-interleave:64K", "AMLSHIM_THRESHOLD=64K", NULL}};
	configs[2] = (struct hard_config){"ulimit -v: no variable", {NULL}};
	configs[3] = (struct hard_config){"ulimit -v: interleave, strict",
	                                  {"AMLSHIM_POLICY=interleave", "AMLSHIM_THRESHOLD=64K", "AMLSHIM_STRICT=1", NULL}};
	configs[4] = (struct hard_config){"cgroup: freed blocks of 40-250 MiB, interleave", {"AMLSHIM_POLICY=interleave", NULL}};
	configs[5] = (struct hard_config){"cgroup: populate 1 GiB, block-interleave:64K, strict",
	                                  {"AMLSHIM_POLICY=block-interleave:64K", "AMLSHIM_STRICT=1", NULL}};
	configs[6] = (struct hard_config){"cgroup: populate 1 GiB, block-interleave:64K",
	                                  {"AMLSHIM_POLICY=block-interleave:64K", NULL}};
	configs[7] = (struct hard_config){"cgroup: 1 GiB, interleave (control)", {"AMLSHIM_POLICY=interleave", NULL}};
	configs[8] = (struct hard_config){"cgroup: 1 GiB, block-interleave:2M, strict",
	                                  {"AMLSHIM_POLICY=block-interleave:2M", "AMLSHIM_STRICT=1", NULL}};
	if (argc > 1 && strcmp(argv[1], "plain-churn") == 0)
		return churn_worker("plain glibc");
	int i = hard_worker(argc, argv, configs, 9);
	if (i >= 0) {
		shim_test_deadline(100);
		if (i < 4)
			return ulimit_worker(configs[i].name);
		if (i == 4)
			return churn_worker(configs[i].name);
		return populate_worker(configs[i].name, i == 5 || i == 8, i == 7);
	}
	int failures = 0;
	for (int i = 0; i < 4; i++)
		failures += run_limited(argv, i, 0) != 0;
	char why[PATH_MAX + 64];
	if (cgroup_create((size_t)384 << 20, why, sizeof(why)) != 0) {
		printf("cgroup part not run: %s\n", why);
	} else {
		printf("cgroup %s (v%d), 384 MiB, no swap\n", cgroup_dir, cgroup_v2 ? 2 : 1);
		CHECK(run_limited(argv, -1, 1) == 0, "the churn does not fit in the cgroup even without the shim");
		for (int i = 4; i < 9; i++) {
			int code = run_limited(argv, i, 1);
			if (code == 128 + SIGKILL)
				printf("  %s: killed (the cgroup's OOM killer)\n", configs[i].name);
			failures += code != 0;
		}
		cgroup_remove();
	}
	CHECK(failures == 0, "%d configurations failed", failures);
	return 0;
}
