/* Large blocks of varying sizes with a live set: a program keeps `live`
 * buffers of random sizes between min and max, replaces one at a time and
 * zero-fills each new one (per-step temporaries, growing C++ vectors). An
 * allocator that only reuses a freed block of the same size maps and faults
 * in every replacement anew; one that splits and coalesces freed memory
 * does not.
 *   live=20 replacements=400 min=5M max=25M */
#include "bench.h"

int main(int argc, char **argv)
{
	long live = bench_arg(argc, argv, "live", 20);
	long replacements = bench_arg(argc, argv, "replacements", 400);
	size_t min = (size_t)bench_arg(argc, argv, "min", 5L << 20);
	size_t max = (size_t)bench_arg(argc, argv, "max", 25L << 20);
	if (live < 1 || replacements < 0 || min < 1 || max < min)
		bench_die("bad arguments");
	char **bufs = bench_calloc((size_t)live, sizeof(char *));
	size_t *sizes = bench_calloc((size_t)live, sizeof(size_t));
	struct bench_rng rng;
	bench_rng_seed(&rng, 7);
	unsigned long long sum = 0;
	double start = bench_now();
	for (long i = 0; i < live + replacements; i++) {
		long slot = i < live ? i : (long)(bench_rng_next(&rng) % (uint64_t)live);
		if (bufs[slot]) {
			sum += (unsigned char)bufs[slot][sizes[slot] - 1];
			free(bufs[slot]);
		}
		sizes[slot] = bench_rng_range(&rng, min, max);
		bufs[slot] = bench_malloc(sizes[slot]);
		memset(bufs[slot], 0, sizes[slot]);
		bufs[slot][sizes[slot] - 1] = (char)i;
	}
	double elapsed = bench_now() - start;
	for (long s = 0; s < live; s++)
		free(bufs[s]);
	free(bufs);
	free(sizes);
	bench_report_ops(elapsed, sum, replacements);
	return 0;
}
