/* fork while other threads allocate: four threads allocate, check and free
 * blocks of mixed sizes (small path and interleave area) in a loop while
 * the main thread forks 50 times. Each child allocates small and large
 * blocks, checks and frees them, and leaves with exit(0) (destructors run:
 * the shim writes the child's own report) or _exit(0) (they do not). A
 * child that deadlocks on a lock held at fork time is killed after a few
 * seconds and fails the test. Each exit(0) child's report must count
 * exactly its own large allocations; an _exit(0) child writes none.
 *
 * The driver (no argument) runs the worker ("worker DIR") with
 * AMLSHIM_STATS=json and AMLSHIM_STATS_FILE=DIR/fork.%p.json, then removes
 * DIR. */
#include <malloc.h>
#include <pthread.h>

#include "shim_test.h"

#define THREADS 4
#define FORKS 50
#define THRESHOLD ((size_t)64 << 10)
#define CHILD_SECONDS 30

static volatile int stop;
static const char *dir;

struct worker {
	pthread_t thread;
	uint64_t rng;
	unsigned long ops;
};

static void *churn(void *arg)
{
	struct worker *w = arg;
	enum { RING = 32 };
	void *ring[RING] = {0};
	size_t sizes[RING] = {0};
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		unsigned slot = (unsigned)(shim_test_next(&w->rng) % RING);
		if (ring[slot]) {
			CHECK_PATTERN(ring[slot], sizes[slot], (uint64_t)(uintptr_t)ring[slot]);
			free(ring[slot]);
		}
		size_t size = (w->rng >> 8) % 8 == 0 ? THRESHOLD + (w->rng >> 16) % (1 << 20) : 16 + (w->rng >> 16) % 4000;
		void *p = (w->rng >> 12) % 4 == 0 ? calloc(1, size) : malloc(size);
		CHECK(p != NULL, "malloc(%zu)", size);
		if ((w->rng >> 20) % 5 == 0) {
			size = size / 2 + 1;
			p = realloc(p, size);
			CHECK(p != NULL, "realloc");
		}
		shim_test_fill(p, size, (uint64_t)(uintptr_t)p);
		ring[slot] = p;
		sizes[slot] = size;
		w->ops++;
	}
	for (int i = 0; i < RING; i++) {
		if (ring[i]) {
			CHECK_PATTERN(ring[i], sizes[i], (uint64_t)(uintptr_t)ring[i]);
			free(ring[i]);
		}
	}
	return NULL;
}

/* The large allocations a child makes: exactly these are in its report. */
static const size_t child_large[] = {THRESHOLD, 1 << 20, 200 << 10, 300 << 10};
#define CHILD_LARGE_BYTES ((size_t)(64 << 10) + (1 << 20) + (200 << 10) + (300 << 10))

static void child(int round)
{
	test_alarm(CHILD_SECONDS, "FAIL: forked child did not finish (deadlock after fork?)\n");
	enum { SMALL = 100 };
	void *small[SMALL];
	for (int i = 0; i < SMALL; i++) {
		size_t size = 1 + (size_t)i * 41;
		small[i] = malloc(size);
		CHECK(small[i] != NULL, "child malloc(%zu)", size);
		shim_test_fill(small[i], size, (uint64_t)i);
	}
	void *large[4];
	large[0] = malloc(child_large[0]);
	large[1] = malloc(child_large[1]);
	large[2] = calloc(1, child_large[2]);
	CHECK(posix_memalign(&large[3], 4096, child_large[3]) == 0, "child posix_memalign");
	for (int i = 0; i < 4; i++) {
		CHECK(large[i] != NULL, "child large allocation %d", i);
		if (i == 2)
			for (size_t b = 0; b < child_large[2]; b += 512)
				CHECK(((char *)large[2])[b] == 0, "child calloc not zero");
		shim_test_fill(large[i], child_large[i], (uint64_t)i + 1000);
	}
	for (int i = 0; i < SMALL; i++) {
		CHECK_PATTERN(small[i], 1 + (size_t)i * 41, (uint64_t)i);
		small[i] = realloc(small[i], 2000);
		CHECK(small[i] != NULL, "child realloc");
	}
	for (int i = 0; i < 4; i++) {
		CHECK_PATTERN(large[i], child_large[i], (uint64_t)i + 1000);
		free(large[i]);
	}
	for (int i = 0; i < SMALL; i++)
		free(small[i]);
	if (round % 2)
		exit(0);
	_exit(0);
}

static void check_child_report(pid_t pid, int round)
{
	char path[PATH_MAX];
	static char json[1 << 16];
	snprintf(path, sizeof(path), "%s/fork.%d.json", dir, (int)pid);
	long len = shim_test_read_file(path, json, sizeof(json));
	if (round % 2 == 0) {
		CHECK(len < 0, "child %d left with _exit(0) but wrote a report (%s)", (int)pid, path);
		return;
	}
	CHECK(len > 0, "child %d left with exit(0) but wrote no report at %s", (int)pid, path);
	struct shim_rule_stats s = shim_test_rule_in(json, THRESHOLD);
	CHECK(s.found, "no interleave rule in the child's report: %s", json);
	CHECK(s.count == 4, "child %d's report counts %ld allocations, it made 4: %s", (int)pid, s.count, json);
	CHECK(s.bytes == (long)CHILD_LARGE_BYTES, "child %d's report counts %ld bytes, it allocated %zu", (int)pid,
	      s.bytes, CHILD_LARGE_BYTES);
	char pid_text[32];
	snprintf(pid_text, sizeof(pid_text), "\"pid\":%d,", (int)pid);
	CHECK(strstr(json, pid_text) != NULL, "the report of child %d does not name it", (int)pid);
}

static int worker(void)
{
	static struct worker workers[THREADS];
	for (int i = 0; i < THREADS; i++) {
		workers[i].rng = (uint64_t)i + 7;
		CHECK(pthread_create(&workers[i].thread, NULL, churn, &workers[i]) == 0, "pthread_create");
	}
	usleep(50000);
	for (int round = 0; round < FORKS; round++) {
		/* The parent allocates too, right before forking. */
		void *mine = malloc(round % 2 ? 100 : 2 << 20);
		CHECK(mine != NULL, "malloc");
		fflush(NULL);
		pid_t pid = fork();
		CHECK(pid >= 0, "fork: %s", strerror(errno));
		if (pid == 0)
			child(round);
		free(mine);
		int status = shim_test_wait(pid, CHILD_SECONDS + 5);
		CHECK(status != -1, "forked child %d (round %d) hung: killed", (int)pid, round);
		CHECK(status == 0, "forked child %d (round %d) exited with %d", (int)pid, round, status);
		check_child_report(pid, round);
		usleep(2000);
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	unsigned long ops = 0;
	for (int i = 0; i < THREADS; i++) {
		CHECK(pthread_join(workers[i].thread, NULL) == 0, "pthread_join");
		CHECK(workers[i].ops > 0, "thread %d made no progress", i);
		ops += workers[i].ops;
	}
	printf("fork: %d forks while %d threads made %lu allocations: ok\n", FORKS, THREADS, ops);
	return 0;
}

int main(int argc, char **argv)
{
	static const char *const env[] = {"AMLSHIM_POLICY=interleave", "AMLSHIM_THRESHOLD=64K", NULL};
	if (argc > 2 && strcmp(argv[1], "worker") == 0) {
		dir = argv[2];
		char stats_file[PATH_MAX + 32];
		snprintf(stats_file, sizeof(stats_file), "AMLSHIM_STATS_FILE=%s/fork.%%p.json", dir);
		const char *const worker_env[] = {env[0], env[1], "AMLSHIM_STATS=json", stats_file, NULL};
		shim_test_start(argv, worker_env);
		return worker();
	}
	shim_test_start(argv, env);
	char tmp[PATH_MAX];
	shim_test_tmpdir(tmp, sizeof(tmp));
	char stats_file[PATH_MAX + 32];
	snprintf(stats_file, sizeof(stats_file), "AMLSHIM_STATS_FILE=%s/fork.%%p.json", tmp);
	const char *const worker_env[] = {env[0], env[1], "AMLSHIM_STATS=json", stats_file, NULL};
	char *args[] = {argv[0], (char *)"worker", tmp, NULL};
	int status = shim_test_spawn(args, worker_env, 300, NULL);
	shim_test_remove_dir(tmp);
	CHECK(status != -1, "the worker hung and was killed");
	CHECK(status == 0, "the worker exited with %d", status);
	return 0;
}
