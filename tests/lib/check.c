/* Checks for the C tests: skips, expectations that do not stop the test,
 * and the escape that keeps an allocation alive. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

struct shim_test_expect_state shim_test_expect_state;

static void vskip(const char *fmt, va_list ap)
{
	fputs("SKIP: ", stdout);
	vfprintf(stdout, fmt, ap);
	fputc('\n', stdout);
	fflush(stdout);
}

void test_skip_hardware(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vskip(fmt, ap);
	va_end(ap);
	exit(TEST_SKIP_CODE);
}

void test_skip_dependency(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	const char *ci = getenv("CI");
	if (ci && strcmp(ci, "true") == 0) {
		fputs("FAIL: missing dependency in CI: ", stdout);
		vfprintf(stdout, fmt, ap);
		fputc('\n', stdout);
		exit(1);
	}
	vskip(fmt, ap);
	va_end(ap);
	exit(TEST_SKIP_CODE);
}

void shim_test_expect_failed(const char *file, int line, const char *fmt, ...)
{
	struct shim_test_expect_state *st = &shim_test_expect_state;
	char message[240];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	fprintf(stderr, "FAIL %s:%d: %s%s%s%s\n", file, line, st->prefix ? "[" : "", st->prefix ? st->prefix : "",
	        st->prefix ? "] " : "", message);
	st->failures++;
	for (int i = 0; i < st->used; i++) {
		if (st->lines[i] == line) {
			st->counts[i]++;
			return;
		}
	}
	if (st->used < 32) {
		st->lines[st->used] = line;
		st->counts[st->used] = 1;
		snprintf(st->first[st->used], sizeof(st->first[0]), "%s%s%s%s", st->prefix ? "[" : "",
		         st->prefix ? st->prefix : "", st->prefix ? "] " : "", message);
		st->used++;
	}
}

int shim_test_expect_summary(const char *test)
{
	struct shim_test_expect_state *st = &shim_test_expect_state;
	fflush(stdout);
	if (!st->failures) {
		printf("%s: ok\n", test);
		return 0;
	}
	fprintf(stderr, "%s: %d failed expectations, by line:\n", test, st->failures);
	for (int i = 0; i < st->used; i++)
		fprintf(stderr, "  line %d (x%d): %s\n", st->lines[i], st->counts[i], st->first[i]);
	return 1;
}

void shim_test_escape(const void *p)
{
	__asm__ volatile("" : : "g"(p) : "memory");
}
