/* Checks for the C tests: assertions that stop the test (CHECK),
 * expectations that go on (EXPECT) and skips. Exit codes: 0 pass, 77
 * skip, anything else fail. The placement and process queries most tests
 * use come with this header (pages.h, nodemask.h, sys.h). */
#ifndef AML_TESTS_CHECK_H
#define AML_TESTS_CHECK_H

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TEST_SKIP_CODE 77

/* When cond is false: prints "<tag> FILE:LINE: cond: message", then runs
 * `fail` (exit, abort). */
#define CHECK_OR(fail, tag, cond, ...)                                           \
	do {                                                                     \
		if (!(cond)) {                                                   \
			fprintf(stderr, tag " %s:%d: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                            \
			fprintf(stderr, "\n");                                   \
			fail;                                                    \
		}                                                                \
	} while (0)

/* Fails the test (exit 1) with the location and a message. */
#define CHECK(cond, ...) CHECK_OR(exit(1), "FAIL", cond, __VA_ARGS__)

#define CHECK_EQ(a, b) CHECK((long long)(a) == (long long)(b), "%lld != %lld", \
                             (long long)(a), (long long)(b))

/* Skip because the machine lacks hardware (a GPU, a second NUMA node):
 * always a skip, in CI too. */
void test_skip_hardware(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
/* Skip because a tool or package is missing: a failure when CI=true. */
void test_skip_dependency(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* EXPECT reports a failure and goes on, so that one run lists every
 * deviation; shim_test_expect_summary() repeats the first message of each
 * failing line (the runner shows a log's tail) and returns the exit code. */
struct shim_test_expect_state {
	int failures;
	const char *prefix; /* a test mode, printed in front of messages */
	int lines[32], counts[32], used;
	char first[32][256];
};
extern struct shim_test_expect_state shim_test_expect_state;

void shim_test_expect_failed(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define EXPECT(cond, ...)                                                        \
	do {                                                                     \
		if (!(cond))                                                     \
			shim_test_expect_failed(__FILE__, __LINE__, __VA_ARGS__); \
	} while (0)

/* Prints the summary of failed expectations; 0 when there were none. */
int shim_test_expect_summary(const char *test);

/* Keeps the compiler from eliding allocations whose results look unused. */
void shim_test_escape(const void *p);

#ifdef __cplusplus
}
#endif

#include "nodemask.h"
#include "pages.h"
#include "sys.h"

#endif
