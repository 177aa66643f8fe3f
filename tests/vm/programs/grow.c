/* An ordinary program for the shim's VM tests: it mallocs a 64 MiB buffer,
 * writes it, grows it with realloc to the size given in MiB, writes the
 * new part, checks the old part survived, prints a checksum and frees. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static unsigned char pattern(size_t i)
{
	return (unsigned char)((i * 131) ^ (i >> 12));
}

int main(int argc, char **argv)
{
	size_t first = (size_t)64 << 20, size = (argc > 1 ? strtoul(argv[1], NULL, 10) : 256) << 20;
	unsigned char *buf = malloc(first);
	if (!buf) {
		perror("malloc");
		return 1;
	}
	for (size_t i = 0; i < first; i++)
		buf[i] = pattern(i);
	unsigned char *grown = realloc(buf, size);
	if (!grown) {
		perror("realloc");
		free(buf);
		return 1;
	}
	for (size_t i = 0; i < first; i++)
		if (grown[i] != pattern(i)) {
			fprintf(stderr, "grow: byte %zu lost in realloc\n", i);
			return 2;
		}
	for (size_t i = first; i < size; i++)
		grown[i] = pattern(i);
	uint64_t sum = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < size; i++)
		sum = (sum ^ grown[i]) * 0x100000001b3ull;
	printf("grow: %zu -> %zu bytes, checksum %016llx\n", first, size, (unsigned long long)sum);
	free(grown);
	return 0;
}
