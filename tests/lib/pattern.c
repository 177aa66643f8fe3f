/* Content patterns: byte i of a block is a function of the seed and i,
 * written and checked a word at a time. */
#include <string.h>

#include "pattern.h"

uint64_t shim_test_mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

uint64_t shim_test_next(uint64_t *state)
{
	*state = shim_test_mix(*state);
	return *state;
}

static unsigned char byte_at(uint64_t seed, size_t offset)
{
	return (unsigned char)(shim_test_mix(seed ^ (offset / 8)) >> (8 * (offset % 8)));
}

void shim_test_fill_range(void *p, size_t from, size_t to, uint64_t seed)
{
	unsigned char *b = (unsigned char *)p;
	size_t i = from;
	for (; i < to && i % 8; i++)
		b[i] = byte_at(seed, i);
	for (; i + 8 <= to; i += 8) {
		uint64_t word = shim_test_mix(seed ^ (i / 8));
		memcpy(b + i, &word, 8);
	}
	for (; i < to; i++)
		b[i] = byte_at(seed, i);
}

void shim_test_fill(void *p, size_t n, uint64_t seed)
{
	shim_test_fill_range(p, 0, n, seed);
}

long shim_test_verify_range(const void *p, size_t from, size_t to, uint64_t seed)
{
	const unsigned char *b = (const unsigned char *)p;
	size_t i = from;
	for (; i < to && i % 8; i++)
		if (b[i] != byte_at(seed, i))
			return (long)i;
	for (; i + 8 <= to; i += 8) {
		uint64_t word = shim_test_mix(seed ^ (i / 8)), have;
		memcpy(&have, b + i, 8);
		if (have != word) {
			for (size_t k = i; k < i + 8; k++)
				if (b[k] != byte_at(seed, k))
					return (long)k;
		}
	}
	for (; i < to; i++)
		if (b[i] != byte_at(seed, i))
			return (long)i;
	return -1;
}

long shim_test_verify(const void *p, size_t n, uint64_t seed)
{
	return shim_test_verify_range(p, 0, n, seed);
}
