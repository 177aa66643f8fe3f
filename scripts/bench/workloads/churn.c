/* Single-thread small-object churn: a working set of objects whose sizes
 * follow a program-like mix (mostly 16-128 bytes, some up to 4 KiB) is
 * replaced at random, with bursts that allocate a run of objects and free
 * them in reverse (a parser's or a request's temporaries).
 *   ops=20000000 slots=100000 burst_every=1000 burst=200 */
#include "bench.h"

static size_t pick_size(struct bench_rng *rng)
{
	unsigned r = (unsigned)(bench_rng_next(rng) % 100);
	if (r < 60)
		return bench_rng_range(rng, 16, 64);
	if (r < 90)
		return bench_rng_range(rng, 65, 256);
	if (r < 99)
		return bench_rng_range(rng, 257, 1024);
	return bench_rng_range(rng, 1025, 4096);
}

int main(int argc, char **argv)
{
	long ops = bench_arg(argc, argv, "ops", 20000000);
	long num_slots = bench_arg(argc, argv, "slots", 100000);
	long burst_every = bench_arg(argc, argv, "burst_every", 1000);
	long burst = bench_arg(argc, argv, "burst", 200);
	if (num_slots < 1 || burst_every < 1 || burst < 0)
		bench_die("bad arguments");
	char **slots = bench_calloc((size_t)num_slots, sizeof(char *));
	char **temps = bench_calloc((size_t)burst + 1, sizeof(char *));
	struct bench_rng rng;
	bench_rng_seed(&rng, 1);
	unsigned long long sum = 0;
	long done = 0;
	double start = bench_now();
	while (done < ops) {
		for (long i = 0; i < burst_every && done < ops; i++, done++) {
			long slot = (long)(bench_rng_next(&rng) % (uint64_t)num_slots);
			size_t size = pick_size(&rng);
			if (slots[slot]) {
				sum += (unsigned char)slots[slot][0];
				free(slots[slot]);
			}
			char *p = bench_malloc(size);
			p[0] = (char)size;
			p[size - 1] = 0;
			slots[slot] = p;
		}
		sum += bench_lifo_burst(temps, burst, &rng, pick_size);
		done += burst;
	}
	double elapsed = bench_now() - start;
	bench_free_all(slots, num_slots);
	free(temps);
	bench_report_ops(elapsed, sum, done);
	return 0;
}
