/* Larson-style server simulation: worker threads replace random objects of
 * random size in one shared pool, so most objects are freed by another
 * thread than the one that allocated them; workers are replaced by fresh
 * threads every round, as a server's do.
 *   threads=2 rounds=20 ops=3000000 (per thread, all rounds) slots=20000
 *   min=8 max=1000 (object sizes, bytes) */
#include <pthread.h>

#include "bench.h"

static void **pool;
static long num_slots, ops_per_round;
static size_t min_size, max_size;

struct worker {
	pthread_t thread;
	uint64_t seed;
	unsigned long long sum;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	struct bench_rng rng;
	bench_rng_seed(&rng, w->seed);
	unsigned long long sum = 0;
	for (long i = 0; i < ops_per_round; i++) {
		size_t size = bench_rng_range(&rng, min_size, max_size);
		long slot = (long)(bench_rng_next(&rng) % (uint64_t)num_slots);
		char *fresh = bench_malloc(size);
		fresh[0] = (char)size;
		fresh[size - 1] = (char)i;
		char *old = __atomic_exchange_n((char **)&pool[slot], fresh, __ATOMIC_ACQ_REL);
		if (old) {
			sum += (unsigned char)old[0];
			free(old);
		}
	}
	w->sum = sum;
	return NULL;
}

int main(int argc, char **argv)
{
	long threads = bench_arg(argc, argv, "threads", 2);
	long rounds = bench_arg(argc, argv, "rounds", 20);
	long ops = bench_arg(argc, argv, "ops", 3000000);
	num_slots = bench_arg(argc, argv, "slots", 20000);
	min_size = (size_t)bench_arg(argc, argv, "min", 8);
	max_size = (size_t)bench_arg(argc, argv, "max", 1000);
	if (threads < 1 || rounds < 1 || num_slots < 1 || min_size < 2 || max_size < min_size)
		bench_die("bad arguments");
	ops_per_round = ops / rounds;
	pool = bench_calloc((size_t)num_slots, sizeof(void *));
	struct worker *workers = bench_calloc((size_t)threads, sizeof(*workers));

	/* The pool starts full, as a server's working set. */
	struct bench_rng rng;
	bench_rng_seed(&rng, 42);
	for (long s = 0; s < num_slots; s++) {
		size_t size = bench_rng_range(&rng, min_size, max_size);
		char *p = bench_malloc(size);
		p[0] = (char)size;
		pool[s] = p;
	}

	unsigned long long sum = 0;
	double start = bench_now();
	for (long r = 0; r < rounds; r++) {
		for (long t = 0; t < threads; t++) {
			workers[t].seed = (uint64_t)(r * threads + t + 1);
			if (pthread_create(&workers[t].thread, NULL, work, &workers[t]) != 0)
				bench_die("pthread_create failed");
		}
		for (long t = 0; t < threads; t++) {
			pthread_join(workers[t].thread, NULL);
			sum += workers[t].sum;
		}
	}
	double elapsed = bench_now() - start;
	for (long s = 0; s < num_slots; s++)
		free(pool[s]);
	free(pool);
	free(workers);
	bench_report_ops(elapsed, sum, ops_per_round * rounds * threads);
	return 0;
}
