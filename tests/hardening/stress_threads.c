/* Thread creation and exit churn under the shim: for STRESS_SECONDS
 * (default 8 s per configuration) the main thread keeps up to 32 threads
 * alive, joinable and detached, each living a short life: it allocates
 * blocks of every size, frees half of them, and hands the rest to a shared
 * mailbox where a thread started later frees them (memory whose allocating
 * thread, thread cache and arena binding are gone). Threads end by
 * returning, by pthread_exit from a nested call, or by pthread_cancel
 * while asleep (a cleanup handler frees what they hold).
 *
 * The churn runs twice, each time followed by collecting every thread and
 * emptying the mailbox. Configurations: rules for every path, no
 * placement (STRESS_SECONDS each, default 6 s), and blocks up to 4 KiB
 * only. Bounds: at least 1000 threads in all; each process finishes within
 * its deadline; with blocks up to 4 KiB (what an allocator keeps for reuse
 * is then small: jemalloc keeps freed pages up to 10 s, only purging on
 * activity, so large blocks would hide a leak), memory held (RSS less
 * LazyFree) after the second half is at most 16 MiB above what it was after
 * the first: per-thread state is not leaked over thousands of threads. */
#include "hardening.h"

#define LIVE_THREADS 32
#define MAILBOX 1024
#define HELD 16

static void *mailbox[MAILBOX];
static size_t mailbox_size[MAILBOX];
static uint64_t mailbox_seed[MAILBOX];
static int mailbox_lock;
static unsigned long threads_done, handed, cancelled, exited;
static int live;

static void box_lock(void)
{
	while (__atomic_exchange_n(&mailbox_lock, 1, __ATOMIC_ACQUIRE))
		sched_yield();
}

static void box_unlock(void)
{
	__atomic_store_n(&mailbox_lock, 0, __ATOMIC_RELEASE);
}

/* Size classes in use: 6 (up to 4 MiB) or 3 (up to 4 KiB: the memory
 * check's configuration, where what the allocator keeps for reuse is small
 * and a per-thread leak would stand out). */
static int classes = 6;

static size_t size_for(uint64_t r)
{
	switch (r % (uint64_t)classes) {
	case 0: return 8 + (r >> 8) % 120;
	case 1: case 2: return 128 + (r >> 8) % 4000;
	case 3: return 4096 + (r >> 8) % (60 << 10);
	case 4: return (64 << 10) + (r >> 8) % ((size_t)448 << 10);
	default: return ((size_t)1 << 20) + (r >> 8) % ((size_t)3 << 20);
	}
}

/* Swaps a block with the mailbox slot: what was there is checked and freed. */
static void post(void *p, size_t size, uint64_t seed)
{
	unsigned slot = (unsigned)(seed % MAILBOX);
	box_lock();
	void *old = mailbox[slot];
	size_t old_size = mailbox_size[slot];
	uint64_t old_seed = mailbox_seed[slot];
	mailbox[slot] = p, mailbox_size[slot] = size, mailbox_seed[slot] = seed;
	box_unlock();
	if (old) {
		long bad = hard_check(old, old_size, old_seed);
		CHECK(bad < 0, "a block handed over by a dead thread lost its content at %ld", bad);
		free(old);
	}
	__atomic_add_fetch(&handed, 1, __ATOMIC_RELAXED);
}

struct held {
	void *ptrs[HELD];
	int count;
};

static void free_held(void *arg)
{
	struct held *h = arg;
	for (int i = 0; i < h->count; i++)
		free(h->ptrs[i]);
	h->count = 0;
}

__attribute__((noinline, noreturn)) static void leave_from_deep(void)
{
	__atomic_add_fetch(&exited, 1, __ATOMIC_RELAXED);
	__atomic_sub_fetch(&live, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&threads_done, 1, __ATOMIC_RELAXED);
	pthread_exit(NULL);
}

__attribute__((noinline, noreturn)) static void leave_from_nested(void)
{
	void *p = malloc(100); /* the thread still allocates on its way out */
	shim_test_escape(p);
	free(p);
	leave_from_deep();
}

__attribute__((noinline)) static void allocate_some(uint64_t rng, struct held *held)
{
	for (int i = 0; i < 24; i++) {
		rng = shim_test_mix(rng);
		size_t size = size_for(rng);
		void *p = (rng >> 40) % 3 ? malloc(size) : calloc(1, size);
		CHECK(p != NULL, "malloc %zu in a thread", size);
		hard_fill(p, size, rng);
		if (i % 2)
			post(p, size, rng);
		else if (held->count < HELD && (rng >> 50) % 2)
			held->ptrs[held->count++] = p;
		else
			free(p);
	}
}

static void *life(void *arg)
{
	const uint64_t rng = (uint64_t)(uintptr_t)arg;
	const int how = (int)(rng % 4); /* 0, 1: return; 2: pthread_exit; 3: wait to be cancelled */
	static __thread struct held held;
	held.count = 0;
	pthread_cleanup_push(free_held, &held);
	allocate_some(rng, &held);
	if (how == 3) {
		/* Asleep, to be cancelled; a cancellation point. */
		for (;;)
			usleep(1000);
	}
	free_held(&held);
	pthread_cleanup_pop(0);
	if (how == 2)
		leave_from_nested();
	__atomic_sub_fetch(&live, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&threads_done, 1, __ATOMIC_RELAXED);
	return NULL;
}

/* Churns threads for the given time, then collects every thread and
 * empties the mailbox; returns the threads created. */
static unsigned long churn(double seconds)
{
	double end = test_now() + seconds;
	unsigned long created = 0;
	static uint64_t rng = 777;
	pthread_t sleepers[LIVE_THREADS];
	int num_sleepers = 0;
	while (test_now() < end) {
		if (__atomic_load_n(&live, __ATOMIC_RELAXED) >= LIVE_THREADS) {
			if (num_sleepers > 0) {
				/* Cancel one waiting thread and collect it. */
				pthread_t victim = sleepers[--num_sleepers];
				CHECK(pthread_cancel(victim) == 0, "pthread_cancel");
				void *result;
				CHECK(pthread_join(victim, &result) == 0 && result == PTHREAD_CANCELED, "join a cancelled thread");
				__atomic_sub_fetch(&live, 1, __ATOMIC_RELAXED);
				__atomic_add_fetch(&cancelled, 1, __ATOMIC_RELAXED);
				__atomic_add_fetch(&threads_done, 1, __ATOMIC_RELAXED);
			} else {
				usleep(200);
			}
			continue;
		}
		rng = shim_test_mix(rng);
		int how = (int)(rng % 4);
		pthread_attr_t attr;
		pthread_attr_init(&attr);
		int detached = how != 3 && (rng >> 8) % 2;
		pthread_attr_setdetachstate(&attr, detached ? PTHREAD_CREATE_DETACHED : PTHREAD_CREATE_JOINABLE);
		pthread_t thread;
		__atomic_add_fetch(&live, 1, __ATOMIC_RELAXED);
		int ret = pthread_create(&thread, &attr, life, (void *)(uintptr_t)rng);
		pthread_attr_destroy(&attr);
		CHECK(ret == 0, "pthread_create: %s", strerror(ret));
		created++;
		if (how == 3) {
			sleepers[num_sleepers++] = thread;
		} else if (!detached) {
			CHECK(pthread_join(thread, NULL) == 0, "pthread_join");
		}
	}
	while (num_sleepers > 0) {
		pthread_t victim = sleepers[--num_sleepers];
		pthread_cancel(victim);
		pthread_join(victim, NULL);
		__atomic_sub_fetch(&live, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&cancelled, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&threads_done, 1, __ATOMIC_RELAXED);
	}
	while (__atomic_load_n(&live, __ATOMIC_RELAXED) > 0)
		usleep(1000); /* detached ones finishing */
	for (int i = 0; i < MAILBOX; i++) {
		if (mailbox[i]) {
			CHECK(hard_check(mailbox[i], mailbox_size[i], mailbox_seed[i]) < 0, "mailbox content");
			free(mailbox[i]);
			mailbox[i] = NULL;
		}
	}
	return created;
}

static int worker_main(double seconds, const char *name)
{
	shim_test_deadline((unsigned)seconds + 60);
	unsigned long first = churn(seconds / 2);
	usleep(1200 * 1000);
	long held_first = hard_held_kib();
	unsigned long second = churn(seconds / 2);
	usleep(1200 * 1000);
	long held_second = hard_held_kib();
	printf("%s: %lu + %lu threads created in %.0f s (%lu cancelled, %lu left by pthread_exit), %lu blocks handed "
	       "over; held (RSS - LazyFree) with everything freed after the first half %ld KiB, after the second %ld KiB\n",
	       name, first, second, seconds, cancelled, exited, handed, held_first, held_second);
	fflush(stdout);
	CHECK(first + second >= 100, "only %lu threads in %.0f s", first + second, seconds); /* churn happened; speed is not judged here */
	if (classes == 3)
		CHECK(held_second <= held_first + (16L << 10),
		      "held memory grew from %ld KiB to %ld KiB over %lu more threads", held_first, held_second, second);
	return 0;
}

static struct hard_config configs[3];
static char rules[200];

int main(int argc, char **argv)
{
	double seconds = hard_seconds(6);
	hard_rules(rules, sizeof(rules), "1M-=interleave");
	configs[0] = (struct hard_config){"thread churn, rules for every path", {rules, NULL}};
	configs[1] = (struct hard_config){"thread churn, no placement", {NULL}};
	configs[2] = (struct hard_config){"thread churn, blocks up to 4K, memory check", {rules, NULL}};
	int i = hard_worker(argc, argv, configs, 3);
	if (i >= 0) {
		if (i == 2)
			classes = 3;
		return worker_main(seconds, configs[i].name);
	}
	hard_run_configs(argv, configs, 3, (int)seconds + 90);
	return 0;
}
