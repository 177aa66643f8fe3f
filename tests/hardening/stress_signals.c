/* Signals delivered while allocating, under the shim. Eight threads
 * allocate, check and free blocks of every size (and anonymous mmaps)
 * while a ninth sends them SIGUSR1 as fast as it can (pthread_kill) and a
 * profiling timer (setitimer ITIMER_PROF, every 200 us of CPU time)
 * interrupts whoever runs, as profilers do. Handlers do what handlers may:
 *   SIGUSR1: count, clobber errno and restore it (errno of the interrupted
 *            call must survive: free() keeps errno, checked around it);
 *   SIGPROF: count, and in the second configuration map, touch and unmap
 *            2 MiB of anonymous memory: mmap and munmap are async-signal-
 *            safe in glibc (the manual marks them AS-Safe), so the shim's
 *            interposed mmap must be too, even when the signal lands while
 *            the interrupted thread is inside the shim.
 * No crash, no deadlock (each configuration runs in a child with a time
 * limit), content intact. STRESS_SECONDS (default 6 s) per configuration. */
#include <sys/time.h>

#include "hardening.h"

#define THREADS 8

static int stop;
static int map_in_handler;
static unsigned long usr1_count, prof_count, handler_maps;
static pthread_t workers_tid[THREADS];

static void on_usr1(int sig)
{
	(void)sig;
	int saved = errno;
	errno = EINTR; /* a handler that uses errno, then restores it */
	__atomic_add_fetch(&usr1_count, 1, __ATOMIC_RELAXED);
	errno = saved;
}

static void on_prof(int sig)
{
	(void)sig;
	int saved = errno;
	__atomic_add_fetch(&prof_count, 1, __ATOMIC_RELAXED);
	if (map_in_handler) {
		size_t len = (size_t)2 << 20;
		char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p != MAP_FAILED) {
			p[0] = 1;
			p[len - 1] = 2;
			if (p[0] != 1 || p[len - 1] != 2) {
				static const char msg[] = "FAIL: memory mapped in a signal handler lost its content\n";
				ssize_t ignored = write(2, msg, sizeof(msg) - 1);
				(void)ignored;
				_exit(5);
			}
			munmap(p, len);
			__atomic_add_fetch(&handler_maps, 1, __ATOMIC_RELAXED);
		}
	}
	errno = saved;
}

struct worker {
	uint64_t rng;
	unsigned long ops;
	int id;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	enum { RING = 32 };
	void *ring[RING] = {0};
	size_t sizes[RING] = {0};
	uint64_t seeds[RING] = {0};
	char mapped[RING] = {0};
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		unsigned slot = (unsigned)(shim_test_next(&w->rng) % RING);
		if (ring[slot]) {
			long bad = hard_check(ring[slot], sizes[slot], seeds[slot]);
			CHECK(bad < 0, "content lost at %ld of a %zu-byte block", bad, sizes[slot]);
			if (mapped[slot]) {
				CHECK(munmap(ring[slot], sizes[slot]) == 0, "munmap: %s", strerror(errno));
			} else if ((w->rng >> 30) % 4 == 0) {
				void *p = realloc(ring[slot], sizes[slot] / 2 + 1);
				CHECK(p != NULL, "realloc");
				free(p);
			} else {
				errno = 4242;
				free(ring[slot]);
				CHECK(errno == 4242, "free changed errno to %d", errno);
			}
			ring[slot] = NULL;
		} else {
			uint64_t r = w->rng >> 8;
			size_t size = r % 4 == 0 ? 16 + r % 2000
			              : r % 4 == 1 ? 2048 + r % (62 << 10)
			              : r % 4 == 2 ? (64 << 10) + r % ((size_t)960 << 10)
			                           : ((size_t)1 << 20) + r % ((size_t)7 << 20);
			mapped[slot] = (r >> 30) % 5 == 0;
			if (mapped[slot]) {
				void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
				CHECK(p != MAP_FAILED, "mmap %zu: %s", size, strerror(errno));
				ring[slot] = p;
			} else if ((r >> 30) % 5 == 1) {
				CHECK(posix_memalign(&ring[slot], 4096, size) == 0, "posix_memalign");
			} else {
				ring[slot] = malloc(size);
				CHECK(ring[slot] != NULL, "malloc %zu", size);
			}
			sizes[slot] = size;
			seeds[slot] = w->rng;
			hard_fill(ring[slot], size, seeds[slot]);
		}
		w->ops++;
	}
	for (unsigned slot = 0; slot < RING; slot++) {
		if (!ring[slot])
			continue;
		if (mapped[slot])
			munmap(ring[slot], sizes[slot]);
		else
			free(ring[slot]);
	}
	return NULL;
}

static void *signaller(void *arg)
{
	(void)arg;
	uint64_t rng = 5;
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		rng = shim_test_mix(rng);
		pthread_kill(workers_tid[rng % THREADS], SIGUSR1);
		if (rng % 64 == 0)
			sched_yield();
	}
	return NULL;
}

static int worker_main(double seconds, const char *name)
{
	shim_test_deadline((unsigned)seconds + 60);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(SIGUSR1, &sa, NULL) == 0, "sigaction");
	sa.sa_handler = on_prof;
	CHECK(sigaction(SIGPROF, &sa, NULL) == 0, "sigaction");
	struct worker workers[THREADS];
	for (int i = 0; i < THREADS; i++) {
		workers[i] = (struct worker){.rng = (uint64_t)(i + 11) * 0x51ed27ULL, .id = i};
		CHECK(pthread_create(&workers_tid[i], NULL, work, &workers[i]) == 0, "pthread_create");
	}
	pthread_t sender;
	CHECK(pthread_create(&sender, NULL, signaller, NULL) == 0, "pthread_create");
	struct itimerval timer = {{0, 200}, {0, 200}};
	CHECK(setitimer(ITIMER_PROF, &timer, NULL) == 0, "setitimer");
	double end = test_now() + seconds;
	while (test_now() < end)
		usleep(50 * 1000);
	struct itimerval off = {{0, 0}, {0, 0}};
	setitimer(ITIMER_PROF, &off, NULL);
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	pthread_join(sender, NULL);
	unsigned long ops = 0;
	for (int i = 0; i < THREADS; i++) {
		pthread_join(workers_tid[i], NULL);
		ops += workers[i].ops;
	}
	printf("%s: %lu operations by %d threads, %lu SIGUSR1 and %lu SIGPROF handled (%lu mmap/munmap pairs in the "
	       "handler) in %.0f s\n", name, ops, THREADS, usr1_count, prof_count, handler_maps, seconds);
	fflush(stdout);
	CHECK(ops > 1000 && usr1_count > 1000, "too little happened: %lu operations, %lu signals", ops, usr1_count);
	return 0;
}

static struct hard_config configs[3];
static char rules[200];

int main(int argc, char **argv)
{
	double seconds = hard_seconds(6);
	hard_rules(rules, sizeof(rules), "1M-=block-interleave:64K");
	configs[0] = (struct hard_config){"signals, rules for every path", {rules, NULL}};
	configs[1] = (struct hard_config){"signals, mmap in the handler", {rules, NULL}};
	configs[2] = (struct hard_config){"signals, mmap in the handler, interleave", {"AMLSHIM_POLICY=interleave", "AMLSHIM_THRESHOLD=1M", NULL}};
	int i = hard_worker(argc, argv, configs, 3);
	if (i >= 0) {
		map_in_handler = i > 0;
		return worker_main(seconds, configs[i].name);
	}
	hard_run_configs(argv, configs, 3, (int)seconds + 45);
	return 0;
}
