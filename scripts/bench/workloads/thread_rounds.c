/* Thread churn with objects handed between threads: rounds of `threads`
 * threads are created and joined; each thread replaces `ops` objects in a
 * table shared by every round, so most frees are of objects another
 * (often exited) thread allocated. Sizes are mostly small, some medium and
 * a few large (the placed path's sizes: `large` per thousand).
 *   rounds=200 threads=4 ops=20000 slots=4096 large=5 */
#include <pthread.h>

#include "bench.h"

static long ops_per_thread, num_slots, large_permille;
static void **slots;
static unsigned long long sums[64];

static size_t pick_size(struct bench_rng *rng)
{
	unsigned r = (unsigned)(bench_rng_next(rng) % 1000);
	if (r < 900)
		return bench_rng_range(rng, 16, 512);
	if (r < 1000 - large_permille)
		return bench_rng_range(rng, 513, 64 << 10);
	return bench_rng_range(rng, 1 << 20, 4 << 20);
}

struct job {
	uint64_t seed;
	int index;
};

static void *work(void *arg)
{
	struct job *job = arg;
	struct bench_rng rng;
	bench_rng_seed(&rng, job->seed);
	unsigned long long sum = 0;
	for (long i = 0; i < ops_per_thread; i++) {
		long slot = (long)(bench_rng_next(&rng) % (uint64_t)num_slots);
		size_t size = pick_size(&rng);
		char *p = bench_malloc(size);
		p[0] = (char)size;
		p[size - 1] = (char)i;
		char *old = __atomic_exchange_n((char **)&slots[slot], p, __ATOMIC_ACQ_REL);
		if (old) {
			sum += (unsigned char)old[0];
			free(old);
		}
	}
	sums[job->index] += sum;
	return NULL;
}

int main(int argc, char **argv)
{
	long rounds = bench_arg(argc, argv, "rounds", 200);
	long threads = bench_arg(argc, argv, "threads", 4);
	ops_per_thread = bench_arg(argc, argv, "ops", 20000);
	num_slots = bench_arg(argc, argv, "slots", 4096);
	large_permille = bench_arg(argc, argv, "large", 5);
	if (rounds < 0 || threads < 1 || threads > 64 || ops_per_thread < 0 || num_slots < 1 ||
	    large_permille < 0 || large_permille > 100)
		bench_die("bad arguments");
	slots = bench_calloc((size_t)num_slots, sizeof(void *));
	pthread_t tids[64];
	struct job jobs[64];
	double start = bench_now();
	for (long r = 0; r < rounds; r++) {
		for (long t = 0; t < threads; t++) {
			jobs[t] = (struct job){.seed = (uint64_t)(r * threads + t + 1), .index = (int)t};
			if (pthread_create(&tids[t], NULL, work, &jobs[t]) != 0)
				bench_die("pthread_create failed");
		}
		for (long t = 0; t < threads; t++)
			pthread_join(tids[t], NULL);
	}
	double elapsed = bench_now() - start;
	unsigned long long sum = 0;
	for (long t = 0; t < threads; t++)
		sum += sums[t];
	for (long s = 0; s < num_slots; s++)
		free(slots[s]);
	free(slots);
	bench_report_ops(elapsed, sum, rounds * threads * ops_per_thread);
	return 0;
}
