/* Fork storms under the shim while threads allocate. Eight threads
 * allocate, check and free blocks of every size (small path and every
 * kind of rule, and anonymous mmaps) while the main thread starts children
 * as fast as it can, up to 8 at a time, in every way a program does:
 *   fork() then the child allocates, checks, starts two threads that
 *     allocate, sometimes forks a grandchild, and leaves with exit(0)
 *     (destructors run: the shim writes its report) or _exit(0);
 *   fork() + execv of a small program (itself, "leaf" mode), posix_spawn
 *     of it, vfork() + execv, and system("exit 0") through /bin/sh.
 * Every child must exit 0 within 20 s (a child stuck on a lock held at fork
 * time is killed and fails the test); every report a child wrote must be a
 * whole JSON object. Runs STRESS_SECONDS (default 12 s) with the rules for
 * every path and a quarter of that with no AMLSHIM_* variable. */
#include <spawn.h>

#include "hardening.h"

#define THREADS 8
#define MAX_CHILDREN 8
#define MIN_CHILDREN 50 /* started in a run, at least */
#define CHILD_LIMIT_S 20

extern char **environ;
static int stop;
static const char *self_path;

struct worker {
	pthread_t thread;
	uint64_t rng;
	unsigned long ops;
};

/* Children keep to the first six classes (up to 8 MiB): on two CPUs
 * shared with eight busy threads, bigger blocks only make them slow. */
static int size_classes = 8;

static size_t pick_size(uint64_t r)
{
	switch (r % (uint64_t)size_classes) {
	case 0: return 1 + (r >> 8) % 64;
	case 1: case 2: return 64 + (r >> 8) % 4000;
	case 3: return 4096 + (r >> 8) % (60 << 10);
	case 4: case 5: return (64 << 10) + (r >> 8) % ((size_t)960 << 10);
	case 6: return ((size_t)1 << 20) + (r >> 8) % ((size_t)7 << 20);
	default: return ((size_t)16 << 20) + (r >> 8) % ((size_t)8 << 20);
	}
}

/* Allocate, fill, check, free: n rounds of a ring of blocks. */
static void churn(uint64_t *rng, int rounds, unsigned long *ops)
{
	enum { RING = 24 };
	void *ring[RING] = {0};
	size_t sizes[RING] = {0};
	uint64_t seeds[RING] = {0};
	char mapped[RING] = {0};
	for (int i = 0; rounds < 0 ? !__atomic_load_n(&stop, __ATOMIC_RELAXED) : i < rounds; i++) {
		*rng = shim_test_mix(*rng);
		unsigned slot = (unsigned)(*rng % RING);
		if (ring[slot]) {
			long bad = hard_check(ring[slot], sizes[slot], seeds[slot]);
			CHECK(bad < 0, "block of %zu bytes lost its content at %ld (pid %d)", sizes[slot], bad, (int)getpid());
			if (mapped[slot]) {
				CHECK(munmap(ring[slot], sizes[slot]) == 0, "munmap: %s", strerror(errno));
			} else {
				free(ring[slot]);
			}
			ring[slot] = NULL;
		} else {
			sizes[slot] = pick_size(*rng >> 4);
			seeds[slot] = *rng;
			mapped[slot] = (*rng >> 20) % 4 == 0;
			if (mapped[slot]) {
				void *p = mmap(NULL, sizes[slot], PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
				CHECK(p != MAP_FAILED, "mmap %zu", sizes[slot]);
				ring[slot] = p;
			} else {
				ring[slot] = (*rng >> 24) % 2 ? malloc(sizes[slot]) : calloc(1, sizes[slot]);
				CHECK(ring[slot] != NULL, "malloc %zu", sizes[slot]);
			}
			hard_fill(ring[slot], sizes[slot], seeds[slot]);
		}
		(*ops)++;
	}
	/* The ring's leftovers. */
	for (unsigned slot = 0; slot < RING; slot++) {
		if (!ring[slot])
			continue;
		CHECK(hard_check(ring[slot], sizes[slot], seeds[slot]) < 0, "leftover content");
		if (mapped[slot])
			munmap(ring[slot], sizes[slot]);
		else
			free(ring[slot]);
	}
}

static void *thread_main(void *arg)
{
	struct worker *w = arg;
	churn(&w->rng, -1, &w->ops);
	return NULL;
}

static void *child_thread(void *arg)
{
	uint64_t rng = (uint64_t)(uintptr_t)arg;
	unsigned long ops = 0;
	churn(&rng, 60, &ops);
	return NULL;
}

/* In a forked child: work, two threads, maybe a grandchild, then leave. */
static void child_body(uint64_t seed, int depth)
{
	alarm(CHILD_LIMIT_S);
	size_classes = 6;
	unsigned long ops = 0;
	uint64_t rng = seed;
	churn(&rng, 60, &ops);
	pthread_t threads[2];
	for (int i = 0; i < 2; i++)
		CHECK(pthread_create(&threads[i], NULL, child_thread, (void *)(uintptr_t)(seed + (uint64_t)i)) == 0,
		      "pthread_create in a child");
	if (depth == 0 && seed % 4 == 0) {
		pid_t grandchild = fork();
		CHECK(grandchild >= 0, "fork in a child");
		if (grandchild == 0) {
			child_body(seed * 7 + 1, 1);
			exit(0);
		}
		int status;
		CHECK(waitpid(grandchild, &status, 0) == grandchild, "waitpid grandchild");
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "grandchild status %d", status);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(threads[i], NULL);
}

struct child {
	pid_t pid;
	double started;
	int how;
};

static const char *const hows[] = {"fork+exit", "fork+_exit", "fork+exec", "posix_spawn", "vfork+exec", "system"};

static pid_t start_child(int how, uint64_t seed)
{
	char *leaf_args[] = {(char *)self_path, (char *)"leaf", NULL};
	pid_t pid;
	switch (how) {
	case 0:
	case 1:
		pid = fork();
		CHECK(pid >= 0, "fork: %s", strerror(errno));
		if (pid == 0) {
			child_body(seed, 0);
			if (how == 0)
				exit(0);
			_exit(0);
		}
		return pid;
	case 2:
		pid = fork();
		CHECK(pid >= 0, "fork: %s", strerror(errno));
		if (pid == 0) {
			execv(self_path, leaf_args);
			_exit(126);
		}
		return pid;
	case 3:
		CHECK(posix_spawn(&pid, self_path, NULL, NULL, leaf_args, environ) == 0, "posix_spawn");
		return pid;
	case 4:
		pid = vfork();
		CHECK(pid >= 0, "vfork");
		if (pid == 0) {
			execv(self_path, leaf_args);
			_exit(126);
		}
		return pid;
	default:
		pid = fork();
		CHECK(pid >= 0, "fork");
		if (pid == 0) {
			alarm(CHILD_LIMIT_S);
			int status = system("exit 0");
			_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 99);
		}
		return pid;
	}
}

/* A fresh program under the same environment: allocate a little, leave. */
static int leaf(void)
{
	alarm(CHILD_LIMIT_S);
	size_classes = 6;
	uint64_t rng = (uint64_t)getpid();
	unsigned long ops = 0;
	churn(&rng, 50, &ops);
	return 0;
}

static int worker_main(double seconds, const char *name, const char *dir)
{
	shim_test_deadline((unsigned)seconds + 120);
	char path[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
	CHECK(n > 0, "readlink");
	path[n] = '\0';
	self_path = path;
	struct worker workers[THREADS];
	for (int i = 0; i < THREADS; i++) {
		workers[i] = (struct worker){.rng = (uint64_t)(i + 1) * 0x9e3779b97f4a7c15ULL};
		CHECK(pthread_create(&workers[i].thread, NULL, thread_main, &workers[i]) == 0, "pthread_create");
	}
	struct child children[MAX_CHILDREN];
	int running = 0;
	unsigned long started[6] = {0}, total = 0;
	double end = test_now() + seconds;
	uint64_t rng = 12345;
	/* Past the time, children go on starting until MIN_CHILDREN have (for
	 * up to 60 s more): the check below is of what they do, not of how
	 * fast a loaded machine starts them. */
#define MORE_CHILDREN() (test_now() < end || (total < MIN_CHILDREN && test_now() < end + 60))
	while (MORE_CHILDREN() || running > 0) {
		while (running < MAX_CHILDREN && MORE_CHILDREN()) {
			rng = shim_test_mix(rng);
			int how = (int)(rng % 6);
			children[running].pid = start_child(how, rng);
			children[running].started = test_now();
			children[running].how = how;
			running++;
			started[how]++;
			total++;
		}
		for (int i = 0; i < running;) {
			int status;
			pid_t done = waitpid(children[i].pid, &status, WNOHANG);
			CHECK(done >= 0, "waitpid: %s", strerror(errno));
			if (done == 0) {
				if (test_now() - children[i].started > CHILD_LIMIT_S + 2) {
					kill(children[i].pid, SIGKILL);
					waitpid(children[i].pid, &status, 0);
					CHECK(0, "a %s child did not finish in %d s (deadlock after fork?)", hows[children[i].how],
					      CHILD_LIMIT_S + 2);
				}
				i++;
				continue;
			}
			CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "a %s child ended with status %#x",
			      hows[children[i].how], status);
			children[i] = children[--running];
		}
		usleep(500);
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	unsigned long ops = 0;
	for (int i = 0; i < THREADS; i++) {
		pthread_join(workers[i].thread, NULL);
		ops += workers[i].ops;
	}
	/* Every report written by a child (and by this process at exit, later)
	 * is a whole JSON object. */
	int reports = 0;
	DIR *d = opendir(dir);
	CHECK(d != NULL, "opendir %s", dir);
	struct dirent *entry;
	static char buf[1 << 16];
	while ((entry = readdir(d))) {
		if (entry->d_name[0] == '.')
			continue;
		char file[PATH_MAX];
		snprintf(file, sizeof(file), "%s/%s", dir, entry->d_name);
		long len = shim_test_read_file(file, buf, sizeof(buf));
		CHECK(len > 2 && buf[0] == '{' && buf[len - 2] == '}' && buf[len - 1] == '\n' &&
		              strstr(buf, "\"amlshim\":") != NULL,
		      "report %s is not a whole JSON object (%ld bytes): %.200s", file, len, buf);
		reports++;
	}
	closedir(d);
	printf("%s: %lu children in %.0f s (fork+exit %lu, fork+_exit %lu, fork+exec %lu, posix_spawn %lu, vfork+exec "
	       "%lu, system %lu), %d reports checked; %lu operations by %d threads meanwhile\n",
	       name, total, seconds, started[0], started[1], started[2], started[3], started[4], started[5], reports, ops,
	       THREADS);
	CHECK(total >= MIN_CHILDREN, "only %lu children", total);
	return 0;
}

static struct hard_config configs[2];
static char rules[256], stats_file[PATH_MAX + 64];

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "leaf") == 0)
		return leaf();
	double seconds = hard_seconds(12);
	hard_rules(rules, sizeof(rules), "1M-16M=interleave;16M-=block-interleave:2M");
	if (argc > 3 && strcmp(argv[1], "worker") == 0) {
		snprintf(stats_file, sizeof(stats_file), "AMLSHIM_STATS_FILE=%s/r.%%p.json", argv[3]);
		configs[0] = (struct hard_config){"fork storm, rules for every path", {rules, "AMLSHIM_STATS=json", stats_file, NULL}};
		configs[1] = (struct hard_config){"fork storm, no placement", {"AMLSHIM_STATS=json", stats_file, NULL}};
		int i = atoi(argv[2]);
		CHECK(i >= 0 && i < 2, "config");
		shim_test_start(argv, configs[i].env);
		return worker_main(i == 0 ? seconds : seconds / 4, configs[i].name, argv[3]);
	}
	for (int i = 0; i < 2; i++) {
		char dir[PATH_MAX], index[16];
		shim_test_tmpdir(dir, sizeof(dir));
		snprintf(stats_file, sizeof(stats_file), "AMLSHIM_STATS_FILE=%s/r.%%p.json", dir);
		configs[0] = (struct hard_config){"fork storm, rules for every path", {rules, "AMLSHIM_STATS=json", stats_file, NULL}};
		configs[1] = (struct hard_config){"fork storm, no placement", {"AMLSHIM_STATS=json", stats_file, NULL}};
		snprintf(index, sizeof(index), "%d", i);
		char *args[] = {argv[0], (char *)"worker", index, dir, NULL};
		double start = test_now();
		int status = shim_test_spawn(args, configs[i].env, (int)seconds + 150, NULL);
		printf("%-36s status %d after %.1f s\n", configs[i].name, status, test_now() - start);
		fflush(stdout);
		shim_test_remove_dir(dir);
		CHECK(status != -1, "%s: hung and was killed", configs[i].name);
		CHECK(status == 0, "%s: failed with status %d", configs[i].name, status);
	}
	return 0;
}
