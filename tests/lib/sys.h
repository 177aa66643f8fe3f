/* What the tests ask of the machine and the process: the clock, the
 * mappings, transparent huge pages. */
#ifndef AML_TESTS_SYS_H
#define AML_TESTS_SYS_H

#include <stddef.h>
#include <linux/filter.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A seccomp filter for this thread and its children from now on: the
 * system call's number is loaded, then the rules (BPF jumps and returns,
 * e.g. SECCOMP_RET_ERRNO for the calls a test makes fail), then every
 * other call is allowed. At most 24 rules. Skips the test (see
 * test_skip_dependency) where filters are not allowed. */
void test_seccomp(const struct sock_filter *rules, size_t count);

/* Seconds on the monotonic clock. */
double test_now(void);
/* Lines in /proc/self/maps (the VMAs); -1 when it cannot be read. Read
 * with read(2): no malloc. */
int test_vma_count(void);
/* The THP mode in sysfs is always or madvise, and this process has not
 * turned THP off (prctl): madvised anonymous memory gets huge pages. */
int test_thp_usable(void);
/* THP backs anonymous memory by default (mode "always"). */
int test_thp_always(void);

#ifdef __cplusplus
}
#endif

#endif
