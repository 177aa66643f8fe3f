/* What the tests ask of the machine and the process: the clock, the
 * mappings, transparent huge pages. */
#ifndef AML_TESTS_SYS_H
#define AML_TESTS_SYS_H

#ifdef __cplusplus
extern "C" {
#endif

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
