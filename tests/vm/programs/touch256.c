/* An ordinary program for the shim's VM tests (tests/vm/shim_*.c): it knows
 * nothing of amlshim and links nothing of ours. It mallocs one 256 MiB
 * buffer (or the size given in MiB), writes every byte with a pattern,
 * prints a checksum, and frees the buffer. Its output is the same whether
 * or not the shim places the buffer; the shim's report samples where the
 * pages are at the free (its first large-path operation after the new
 * peak of live bytes). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 256;
	size_t size = mib << 20;
	unsigned char *buf = malloc(size);
	if (!buf) {
		perror("malloc");
		return 1;
	}
	/* Every byte written: a pattern that differs from page to page. */
	for (size_t i = 0; i < size; i++)
		buf[i] = (unsigned char)((i * 131) ^ (i >> 12));
	/* FNV-1a over 64-bit words (every byte counts). */
	uint64_t sum = 0xcbf29ce484222325ull;
	const uint64_t *words = (const uint64_t *)buf;
	for (size_t i = 0; i < size / sizeof(*words); i++)
		sum = (sum ^ words[i]) * 0x100000001b3ull;
	printf("touch256: %zu bytes, checksum %016llx\n", size, (unsigned long long)sum);
	free(buf);
	return 0;
}
