/* Three allocation sites for the call-site tests: hot_buffer rewrites its
 * buffer many times, cold_buffer writes a buffer of the same size once,
 * big_buffer a larger one once. Usage: site_prog [MIB [ROUNDS]]; prints a
 * checksum that does not depend on where the memory is. The cold buffers
 * come first and the hot rounds pause 20 ms each, so that a heat sampler
 * (every 50 ms by default) sees the three alive together for ROUNDS x 20 ms,
 * the hot one written in every interval and the cold ones in the first
 * only: a buffer made just before exit would be sampled once or never,
 * and a new mapping reads all written in its first sample. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MIB ((size_t)1 << 20)

__attribute__((noinline)) static unsigned char *hot_buffer(size_t size, int rounds)
{
	unsigned char *p = malloc(size); /* the hot site */
	for (int r = 0; p && r < rounds; r++) {
		memset(p, r + 1, size);
		struct timespec pause = {0, 20 * 1000 * 1000};
		nanosleep(&pause, NULL);
	}
	return p;
}

__attribute__((noinline)) static unsigned char *cold_buffer(size_t size)
{
	unsigned char *p = malloc(size); /* the cold site */
	if (p)
		memset(p, 7, size);
	return p;
}

__attribute__((noinline)) static unsigned char *big_buffer(size_t size)
{
	unsigned char *p = malloc(size); /* the big site */
	if (p)
		memset(p, 3, size);
	return p;
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 16;
	int rounds = argc > 2 ? atoi(argv[2]) : 50;
	unsigned char *cold = cold_buffer(mib * MIB);
	unsigned char *big = big_buffer(4 * mib * MIB);
	unsigned char *hot = hot_buffer(mib * MIB, rounds);
	if (!cold || !hot || !big)
		return 1;
	unsigned long sum = 0;
	for (size_t i = 0; i < mib * MIB; i += 4096)
		sum += hot[i] + cold[i] + big[4 * i];
	printf("checksum %lu\n", sum);
	free(big);
	free(hot);
	free(cold);
	return 0;
}
