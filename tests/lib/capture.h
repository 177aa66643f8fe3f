/* Capturing output in memory: a memfd, what was written to it, and what a
 * function writes to an fd (stdout, stderr) while it runs. */
#ifndef AML_TESTS_CAPTURE_H
#define AML_TESTS_CAPTURE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A new close-on-exec memfd named name; fails the test when there is none. */
int test_memfd(const char *name);
/* What was written to fd (a memfd) from its start, into buf
 * (NUL-terminated); the bytes read. No malloc. */
size_t shim_test_read_back(int fd, char *buf, size_t len);
/* What fn writes, into buf (NUL-terminated): fn runs with fd (STDERR_FILENO,
 * ...) pointing at a memfd meanwhile, or, with fd -1, gets the memfd as
 * its argument. The bytes; fails the test when they do not all fit. */
size_t test_capture(int fd, void (*fn)(int fd), char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif
