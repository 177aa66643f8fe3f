/* False sharing, cache-scratch style: the main thread allocates one small
 * object per worker (so they are neighbours in memory) and hands them out;
 * each worker frees its object, then repeatedly allocates an object of the
 * same size, writes it many times and frees it. An allocator that gives a
 * worker back memory sharing a cache line with another worker's makes the
 * writes ping-pong between cores.
 *   threads=2 iterations=1000 size=8 repetitions=20000 */
#include <pthread.h>

#include "bench.h"

static long iterations, repetitions;
static size_t object_size;

struct worker {
	pthread_t thread;
	char *first;
	unsigned long long sum;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	free(w->first);
	unsigned long long sum = 0;
	for (long i = 0; i < iterations; i++) {
		volatile char *obj = bench_malloc(object_size);
		for (long r = 0; r < repetitions; r++)
			for (size_t b = 0; b < object_size; b++)
				obj[b] = (char)(obj[b] + r);
		sum += (unsigned char)obj[0];
		free((void *)obj);
	}
	w->sum = sum;
	return NULL;
}

int main(int argc, char **argv)
{
	long threads = bench_arg(argc, argv, "threads", 2);
	iterations = bench_arg(argc, argv, "iterations", 1000);
	object_size = (size_t)bench_arg(argc, argv, "size", 8);
	repetitions = bench_arg(argc, argv, "repetitions", 20000);
	if (threads < 1 || object_size < 1)
		bench_die("bad arguments");
	struct worker *workers = bench_calloc((size_t)threads, sizeof(*workers));
	for (long t = 0; t < threads; t++) {
		workers[t].first = bench_malloc(object_size);
		memset(workers[t].first, 0, object_size);
	}
	double start = bench_now();
	for (long t = 0; t < threads; t++)
		if (pthread_create(&workers[t].thread, NULL, work, &workers[t]) != 0)
			bench_die("pthread_create failed");
	unsigned long long sum = 0;
	for (long t = 0; t < threads; t++) {
		pthread_join(workers[t].thread, NULL);
		sum += workers[t].sum;
	}
	double elapsed = bench_now() - start;
	free(workers);
	bench_report_ops(elapsed, sum, threads * iterations);
	return 0;
}
