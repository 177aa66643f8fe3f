/* realloc growth: several buffers grow side by side by small appends (a
 * string builder's pattern: one realloc per append), and one buffer grows
 * by doubling (a vector's), each filled as it grows; then all are freed.
 *   rounds=10 buffers=8 target=4M (append buffers) step=1024 (max append)
 *   vector=64M (doubling buffer's final size); rounds=0 does nothing (the
 *   baseline of instruction counts) */
#include "bench.h"

int main(int argc, char **argv)
{
	long rounds = bench_arg(argc, argv, "rounds", 10);
	long num_buffers = bench_arg(argc, argv, "buffers", 8);
	size_t target = (size_t)bench_arg(argc, argv, "target", 4L << 20);
	size_t max_step = (size_t)bench_arg(argc, argv, "step", 1024);
	size_t vector = (size_t)bench_arg(argc, argv, "vector", 64L << 20);
	if (rounds < 0 || num_buffers < 1 || max_step < 1)
		bench_die("bad arguments");
	char **buffers = bench_calloc((size_t)num_buffers, sizeof(char *));
	size_t *lengths = bench_calloc((size_t)num_buffers, sizeof(size_t));
	struct bench_rng rng;
	bench_rng_seed(&rng, 3);
	unsigned long long sum = 0;
	long reallocs = 0;
	double start = bench_now();
	for (long r = 0; r < rounds; r++) {
		int growing = 1;
		while (growing) {
			growing = 0;
			for (long b = 0; b < num_buffers; b++) {
				if (lengths[b] >= target)
					continue;
				growing = 1;
				size_t step = bench_rng_range(&rng, 1, max_step);
				char *grown = realloc(buffers[b], lengths[b] + step);
				if (!grown)
					bench_die("realloc failed");
				memset(grown + lengths[b], (int)(b + step), step);
				buffers[b] = grown;
				lengths[b] += step;
				reallocs++;
			}
		}
		for (long b = 0; b < num_buffers; b++) {
			sum += (unsigned char)buffers[b][lengths[b] / 2];
			free(buffers[b]);
			buffers[b] = NULL;
			lengths[b] = 0;
		}
		char *vec = NULL;
		for (size_t size = 16, used = 0; size <= vector; size *= 2) {
			char *grown = realloc(vec, size);
			if (!grown)
				bench_die("realloc failed");
			memset(grown + used, (int)r, size - used);
			vec = grown;
			used = size;
			reallocs++;
		}
		if (vec)
			sum += (unsigned char)vec[vector / 3];
		free(vec);
	}
	double elapsed = bench_now() - start;
	free(buffers);
	free(lengths);
	bench_report_ops(elapsed, sum, reallocs);
	return 0;
}
