/* Large blocks: malloc a block, write one byte in every page, free it;
 * again and again. What an allocator keeps between iterations decides
 * whether every page faults in anew.
 *   size=16M iterations=100 */
#include <unistd.h>

#include "bench.h"

int main(int argc, char **argv)
{
	size_t size = (size_t)bench_arg(argc, argv, "size", 16L << 20);
	long iterations = bench_arg(argc, argv, "iterations", 100);
	if (size < 1 || iterations < 0) /* 0: the set-up alone (callgrind's baseline) */
		bench_die("bad arguments");
	const size_t page = (size_t)sysconf(_SC_PAGESIZE);
	unsigned long long sum = 0;
	double start = bench_now();
	for (long i = 0; i < iterations; i++) {
		char *block = bench_malloc(size);
		for (size_t off = 0; off < size; off += page)
			block[off] = (char)i;
		block[size - 1] = (char)i;
		sum += (unsigned char)block[size / 2];
		free(block);
	}
	double elapsed = bench_now() - start;
	bench_report_ops(elapsed, sum, iterations);
	return 0;
}
