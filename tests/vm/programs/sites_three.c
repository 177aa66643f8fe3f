/* An ordinary program for the call-site tests (tests/vm/shim_sites.c,
 * tests/shim/sites_profile.c): three functions allocate one buffer each,
 * hot() 8 MiB that the program rewrites again and again, cold() 8 MiB
 * written once, larger_cold() 32 MiB written once. It prints a checksum of
 * the three, the same wherever the buffers are placed, and keeps them to
 * the end (the shim's report says where their pages are at exit).
 * Arguments: the number of passes over the hot buffer (default 40). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MiB ((size_t)1 << 20)

/* noipa (no inlining, no clone with another name) and work after the call: each function is a frame of its own
 * that calls malloc (no tail call). */
__attribute__((noipa)) static unsigned char *hot(void)
{
	unsigned char *buf = malloc(8 * MiB);
	if (buf)
		memset(buf, 1, 8 * MiB);
	return buf;
}

__attribute__((noipa)) static unsigned char *cold(void)
{
	unsigned char *buf = malloc(8 * MiB);
	if (buf)
		memset(buf, 2, 8 * MiB);
	return buf;
}

__attribute__((noipa)) static unsigned char *larger_cold(void)
{
	unsigned char *buf = malloc(32 * MiB);
	if (buf)
		memset(buf, 3, 32 * MiB);
	return buf;
}

static uint64_t checksum(const unsigned char *buf, size_t size, uint64_t sum)
{
	for (size_t i = 0; i < size; i += 64)
		sum = (sum ^ buf[i]) * 0x100000001b3ull;
	return sum;
}

int main(int argc, char **argv)
{
	int passes = argc > 1 ? atoi(argv[1]) : 40;
	unsigned char *h = hot(), *c = cold(), *l = larger_cold();
	if (!h || !c || !l) {
		perror("malloc");
		return 1;
	}
	for (int pass = 0; pass < passes; pass++) {
		for (size_t i = 0; i < 8 * MiB; i += 64)
			h[i] = (unsigned char)(h[i] + pass + (i >> 12));
		struct timespec pause = {0, 20 * 1000 * 1000};
		nanosleep(&pause, NULL);
	}
	uint64_t sum = checksum(l, 32 * MiB, checksum(c, 8 * MiB, checksum(h, 8 * MiB, 0xcbf29ce484222325ull)));
	printf("sites_three: %d passes, checksum %016llx\n", passes, (unsigned long long)sum);
	return 0;
}
