/* Content patterns: bytes that depend on a seed and their offset only, so
 * a prefix survives a move (realloc) and a stray write shows. */
#ifndef AML_TESTS_PATTERN_H
#define AML_TESTS_PATTERN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A well-mixed 64-bit function of x. */
uint64_t shim_test_mix(uint64_t x);
/* Advances the random state (shim_test_mix) and returns the new one. */
uint64_t shim_test_next(uint64_t *state);
/* Writes the pattern of seed over bytes [from, to) of p. */
void shim_test_fill_range(void *p, size_t from, size_t to, uint64_t seed);
void shim_test_fill(void *p, size_t n, uint64_t seed);
/* The first offset in [from, to) that does not hold the pattern, or -1. */
long shim_test_verify_range(const void *p, size_t from, size_t to, uint64_t seed);
long shim_test_verify(const void *p, size_t n, uint64_t seed);

#define CHECK_PATTERN(p, n, seed)                                                          \
	do {                                                                               \
		long bad_ = shim_test_verify((p), (n), (seed));                            \
		CHECK(bad_ < 0, "content of %p (%zu bytes) differs at offset %ld", (void *)(p), \
		      (size_t)(n), bad_);                                                   \
	} while (0)

#ifdef __cplusplus
}
#endif

#endif
