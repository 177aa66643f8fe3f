/* The small path's thread cache per placement class (shim/small_tcache.c)
 * under 15 small-size rules, bind:N and interleave in turn, so that sizes
 * 990 and 1000 (one jemalloc size class, 1024) belong to two placements.
 * Every object the test allocates must carry its rule's policy, and a
 * bind:N object's page must be on node N:
 * - cross-thread: producers allocate, consumers free and then allocate the
 *   same jemalloc size in the other placement (a free into another class's
 *   cache would hand that object out there);
 * - threads exit with objects in their caches (some only free, one does
 *   nothing, key destructors free and allocate before and after the
 *   shim's): afterwards mallinfo2's in-use bytes are back where they were
 *   (a cache not flushed at exit keeps its objects allocated);
 * - fork while threads hold cached objects: the child frees the parent's
 *   objects, allocates, runs a thread; the parent frees its copies;
 * - more threads x classes at once than jemalloc has caches (about 4K):
 *   the rest go without, placement holds, in-use bytes come back;
 * - malloc_trim empties this thread's caches. */
#include <malloc.h>
#include <pthread.h>
#include <unistd.h>

#include "shim_test.h"

#define RULES 15
/* Rule i covers [bounds[i], bounds[i + 1]); even rules bind:N, odd interleave. */
static const size_t bounds[RULES + 1] = {0,    1000, 1100, 2000,  3000,  4000,  5000,  6000,
                                         7000, 8000, 10000, 12000, 16000, 24000, 32000, 65536};
static int node;

static int rule_of(size_t size)
{
	int r = 0;
	while (size >= bounds[r + 1])
		r++;
	return r;
}

/* An object of `size`, filled, with its rule's placement checked. */
static char *alloc_checked(size_t size)
{
	char *p = malloc(size);
	CHECK(p != NULL, "malloc(%zu)", size);
	shim_test_fill(p, size, (uintptr_t)p);
	int bind = rule_of(size) % 2 == 0;
	unsigned long mask = 0;
	int mode = shim_test_policy(p, &mask);
	CHECK(mode == (bind ? MPOL_BIND : MPOL_INTERLEAVE), "malloc(%zu) = %p has %s, its rule says %s", size,
	      (void *)p, shim_test_policy_name(mode), bind ? "bind" : "interleave");
	if (bind) {
		int where = test_page_node(p);
		CHECK(where == node, "malloc(%zu) = %p: page on node %d, the rule binds node %d", size, (void *)p, where,
		      node);
	}
	return p;
}

static void free_checked(char *p, size_t size)
{
	CHECK_PATTERN(p, size, (uintptr_t)p);
	free(p);
}

static size_t mid_size(int rule)
{
	return (bounds[rule] + bounds[rule + 1]) / 2 + 1;
}

/* In-use bytes (objects in caches count as in use). Trimmed: this thread's
 * caches given back first, for comparisons of what other threads left:
 * this thread's caches come and go by whole batches as it allocates
 * (10448 bytes more between two rounds of exits failed it 1 run in 6). */
static size_t in_use(void)
{
	return mallinfo2().uordblks;
}

static size_t in_use_trimmed(void)
{
	malloc_trim(0);
	return in_use();
}

/* ---- cross-thread frees ------------------------------------------------- */

#define PRODUCERS 3
#define PER_PRODUCER 4000
#define QUEUE 256

static struct {
	pthread_mutex_t lock;
	pthread_cond_t changed;
	char *ptr[QUEUE];
	size_t size[QUEUE];
	unsigned head, tail, producers_left;
} queue = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, {0}, {0}, 0, 0, PRODUCERS};

static void *produce(void *arg)
{
	uint64_t rng = (uintptr_t)arg;
	for (int i = 0; i < PER_PRODUCER; i++) {
		size_t size = i % 3 == 0 ? 990 : i % 3 == 1 ? 1000 : mid_size((int)(shim_test_next(&rng) % RULES));
		char *p = alloc_checked(size);
		pthread_mutex_lock(&queue.lock);
		while (queue.tail - queue.head == QUEUE)
			pthread_cond_wait(&queue.changed, &queue.lock);
		queue.ptr[queue.tail % QUEUE] = p;
		queue.size[queue.tail % QUEUE] = size;
		queue.tail++;
		pthread_cond_broadcast(&queue.changed);
		pthread_mutex_unlock(&queue.lock);
	}
	pthread_mutex_lock(&queue.lock);
	queue.producers_left--;
	pthread_cond_broadcast(&queue.changed);
	pthread_mutex_unlock(&queue.lock);
	return NULL;
}

/* Frees what producers made, then allocates the same jemalloc size class
 * in the other placement: 990 <-> 1000. */
static void *consume(void *arg)
{
	(void)arg;
	for (;;) {
		pthread_mutex_lock(&queue.lock);
		while (queue.head == queue.tail && queue.producers_left)
			pthread_cond_wait(&queue.changed, &queue.lock);
		if (queue.head == queue.tail) {
			pthread_mutex_unlock(&queue.lock);
			return NULL;
		}
		char *p = queue.ptr[queue.head % QUEUE];
		size_t size = queue.size[queue.head % QUEUE];
		queue.head++;
		pthread_cond_broadcast(&queue.changed);
		pthread_mutex_unlock(&queue.lock);
		free_checked(p, size);
		if (size == 990 || size == 1000) {
			size_t other = size == 990 ? 1000 : 990;
			free_checked(alloc_checked(other), other);
		}
	}
}

static void cross_thread(void)
{
	pthread_t producers[PRODUCERS], consumers[2];
	for (int i = 0; i < PRODUCERS; i++)
		CHECK(pthread_create(&producers[i], NULL, produce, (void *)(uintptr_t)(i + 1)) == 0, "pthread_create");
	for (int i = 0; i < 2; i++)
		CHECK(pthread_create(&consumers[i], NULL, consume, NULL) == 0, "pthread_create");
	for (int i = 0; i < PRODUCERS; i++)
		pthread_join(producers[i], NULL);
	for (int i = 0; i < 2; i++)
		pthread_join(consumers[i], NULL);
}

/* ---- threads exiting with cached objects -------------------------------- */

/* Keys created before and after the shim's: their destructors run before
 * and after it. Each frees its object and allocates in a placement the
 * thread never used (16000-24000, bind), then frees that. Not checked for
 * placement: jemalloc's own key runs first, after which it serves every
 * allocation from its automatic arena, and the shim hands them to glibc. */
static pthread_key_t key_before, key_after;

static void destructor(void *object)
{
	free_checked(object, 990);
	char *fresh[8];
	for (int i = 0; i < 8; i++) {
		fresh[i] = malloc(20000);
		CHECK(fresh[i] != NULL, "malloc(20000) in a key destructor");
		shim_test_fill(fresh[i], 20000, (uintptr_t)fresh[i]);
	}
	for (int i = 0; i < 8; i++)
		free_checked(fresh[i], 20000);
}

static void *cache_and_exit(void *arg)
{
	(void)arg;
	enum { EACH = 64 };
	static const size_t sizes[] = {100, 990, 1000, 1500, 2500, 5000, 9000};
	char *objects[EACH];
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		for (int i = 0; i < EACH; i++)
			objects[i] = alloc_checked(sizes[s]);
		for (int i = 0; i < EACH; i++)
			free_checked(objects[i], sizes[s]);
	}
	pthread_setspecific(key_before, alloc_checked(990));
	pthread_setspecific(key_after, alloc_checked(990));
	return NULL;
}

/* Frees objects another thread allocated: its only placed calls. */
static void *only_free(void *arg)
{
	char **objects = arg;
	for (int i = 0; objects[i]; i++)
		free_checked(objects[i], 1000);
	return NULL;
}

static void *nothing(void *arg)
{
	return arg;
}

static void exits(void)
{
	/* Measured from the second round on: the first creates the slots'
	 * arenas of each class (jemalloc's metadata, more with more CPUs). */
	size_t before = 0;
	for (int round = 0; round < 9; round++) {
		if (round == 1)
			before = in_use_trimmed();
		pthread_t threads[6];
		char *given[65];
		for (int i = 0; i < 64; i++)
			given[i] = alloc_checked(1000);
		given[64] = NULL;
		for (int i = 0; i < 4; i++)
			CHECK(pthread_create(&threads[i], NULL, cache_and_exit, NULL) == 0, "pthread_create");
		CHECK(pthread_create(&threads[4], NULL, only_free, given) == 0, "pthread_create");
		CHECK(pthread_create(&threads[5], NULL, nothing, NULL) == 0, "pthread_create");
		for (int i = 0; i < 6; i++)
			pthread_join(threads[i], NULL);
	}
	size_t after = in_use_trimmed();
	CHECK(after <= before + 8192, "in-use bytes %zu before 48 threads cached objects and exited, %zu after: "
	      "their caches were not flushed at exit", before, after);
}

/* ---- fork ----------------------------------------------------------------- */

#define HOLDERS 3
#define HELD 200

static char *held[HOLDERS + 1][HELD];
static pthread_barrier_t holding, release;

static size_t held_size(int i)
{
	return i % 2 ? 990 : mid_size(i % RULES);
}

/* Allocates its objects, frees half (into its caches), waits for the fork. */
static void hold(int who)
{
	for (int i = 0; i < HELD; i++)
		held[who][i] = alloc_checked(held_size(i));
	for (int i = 0; i < HELD; i += 2) {
		free_checked(held[who][i], held_size(i));
		held[who][i] = NULL;
	}
}

static void *holder(void *arg)
{
	hold((int)(uintptr_t)arg);
	pthread_barrier_wait(&holding);
	pthread_barrier_wait(&release);
	return NULL;
}

static void free_held(void)
{
	for (int who = 0; who <= HOLDERS; who++)
		for (int i = 0; i < HELD; i++)
			if (held[who][i])
				free_checked(held[who][i], held_size(i));
}

static void *child_thread(void *arg)
{
	for (int r = 0; r < RULES; r++)
		free_checked(alloc_checked(mid_size(r)), mid_size(r));
	return arg;
}

static void forks(void)
{
	pthread_t threads[HOLDERS];
	pthread_barrier_init(&holding, NULL, HOLDERS + 1);
	pthread_barrier_init(&release, NULL, HOLDERS + 1);
	for (int i = 0; i < HOLDERS; i++)
		CHECK(pthread_create(&threads[i], NULL, holder, (void *)(uintptr_t)i) == 0, "pthread_create");
	hold(HOLDERS);
	pthread_barrier_wait(&holding);
	for (int round = 0; round < 4; round++) {
		pid_t pid = fork();
		CHECK(pid >= 0, "fork");
		if (pid == 0) {
			test_alarm(60, "FAIL: forked child did not finish\n");
			free_held();
			char *fresh[HELD];
			for (int i = 0; i < HELD; i++)
				fresh[i] = alloc_checked(held_size(i));
			pthread_t thread;
			CHECK(pthread_create(&thread, NULL, child_thread, NULL) == 0, "pthread_create in the child");
			pthread_join(thread, NULL);
			for (int i = 0; i < HELD; i++)
				free_checked(fresh[i], held_size(i));
			if (round % 2)
				exit(0);
			_exit(0);
		}
		int status = shim_test_wait(pid, 90);
		CHECK(status == 0, "forked child %d: status %d", round, status);
	}
	free_held();
	pthread_barrier_wait(&release);
	for (int i = 0; i < HOLDERS; i++)
		pthread_join(threads[i], NULL);
}

/* ---- more caches than jemalloc has ----------------------------------------- */

#define CROWD 300 /* x 15 classes: past jemalloc's ~4K caches */

static pthread_barrier_t crowd_all_in;

static void *crowd_member(void *arg)
{
	char *mine[RULES];
	for (int r = 0; r < RULES; r++)
		mine[r] = alloc_checked(mid_size(r));
	pthread_barrier_wait(&crowd_all_in);
	for (int r = 0; r < RULES; r++) {
		free_checked(mine[r], mid_size(r));
		free_checked(alloc_checked(mid_size(r)), mid_size(r));
	}
	return arg;
}

static void crowd_round(void)
{
	static pthread_t threads[CROWD];
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 << 10);
	pthread_barrier_init(&crowd_all_in, NULL, CROWD);
	for (int i = 0; i < CROWD; i++)
		CHECK(pthread_create(&threads[i], &attr, crowd_member, NULL) == 0, "pthread_create %d", i);
	for (int i = 0; i < CROWD; i++)
		pthread_join(threads[i], NULL);
	pthread_barrier_destroy(&crowd_all_in);
	pthread_attr_destroy(&attr);
}

static void crowd(void)
{
	/* 300 threads' caches of 15 classes take 165 MiB with 2 CPUs and over
	 * 700 MiB with 4 (more arenas per class): more than the NUMA VM's
	 * nodes hold for its bind rules. Where memory is that short, the
	 * crowd is left out (the host runs it); the exits below still run. */
	long pages = sysconf(_SC_AVPHYS_PAGES), page = sysconf(_SC_PAGESIZE);
	if (pages > 0 && page > 0 && (unsigned long long)pages * (unsigned long long)page < (4ULL << 30)) {
		printf("small_tcache: %d threads x %d classes left out: %lld MiB available, less than 4 GiB\n", CROWD,
		       RULES, (long long)pages * page >> 20);
		exits();
		return;
	}
	/* The first round fills glibc's cache of thread stacks (each keeps
	 * its TLS vector, from malloc); the second finds it as it leaves it. */
	crowd_round();
	size_t before = in_use_trimmed();
	crowd_round();
	size_t after = in_use_trimmed();
	CHECK(after <= before + 8192, "in-use bytes %zu before %d threads x %d classes, %zu after", before, CROWD, RULES,
	      after);
	/* Caches given back at exit are there for new threads again. */
	exits();
}

/* malloc_trim gives this thread's cached objects back too: in use after
 * it is what it was before they were cached. */
static void trim(void)
{
	size_t base = in_use_trimmed();
	char *objects[64];
	for (int i = 0; i < 64; i++)
		objects[i] = alloc_checked(990);
	for (int i = 0; i < 64; i++)
		free_checked(objects[i], 990);
	size_t before = in_use();
	CHECK(before >= base + 16 * 1024, "in-use bytes %zu, then %zu after 64 objects went into this thread's cache",
	      base, before);
	malloc_trim(0);
	size_t after = in_use();
	CHECK(after <= base + 8192, "in-use bytes %zu with an empty cache, %zu with objects in it, %zu after malloc_trim",
	      base, before, after);
	free_checked(alloc_checked(990), 990); /* the cache again */
}

int main(int argc, char **argv)
{
	(void)argc;
	node = shim_test_first_node();
	char rules[1024];
	int len = snprintf(rules, sizeof(rules), "AMLSHIM_RULES=");
	for (int r = 0; r < RULES; r++) {
		char placement[32] = "interleave";
		if (r % 2 == 0)
			snprintf(placement, sizeof(placement), "bind:%d", node);
		len += snprintf(rules + len, sizeof(rules) - (size_t)len, "%s%zu-%zu=%s", r ? ";" : "", bounds[r],
		                bounds[r + 1], placement);
	}
	const char *env[] = {rules, NULL};
	shim_test_start(argv, env);
	shim_test_deadline(300);

	CHECK(pthread_key_create(&key_before, destructor) == 0, "pthread_key_create");
	free_checked(alloc_checked(990), 990); /* the shim's key, if not made yet */
	CHECK(pthread_key_create(&key_after, destructor) == 0, "pthread_key_create");

	cross_thread();
	exits();
	forks();
	crowd();
	trim();
	printf("small_tcache: %d placements; cross-thread frees, exits with cached objects, fork, %d threads x %d "
	       "classes: every object placed by its rule, nothing left cached\n",
	       RULES, CROWD, RULES);
	return 0;
}
