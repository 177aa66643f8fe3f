/* Helpers for the tests of the area library (tests/unit/area_*.c and the
 * VM's): Linux areas over chosen nodes, touched buffers, an area's
 * description as text. */
#ifndef AML_TESTS_AREAS_H
#define AML_TESTS_AREAS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct aml_area;

/* A Linux area with policy (enum aml_area_linux_policy) over the nodes
 * set[0..count) (the area keeps its own copy of the mask). */
struct aml_area *test_linux_area(int policy, const int *set, int count);
/* size bytes of area with every page written; fails the test (naming
 * what) when the mmap fails. */
void *test_area_touched(struct aml_area *area, size_t size, const char *what);
/* `pages` pages of a Linux interleave area over set[0..count), written,
 * then unmapped: their nodes (calloc'ed; the histogram printed, naming
 * what). Fails the test unless the kernel reports MPOL_INTERLEAVE, every
 * page is on a node of the set and every node of the set got one;
 * *least and *most get the fewest and most pages on a node. */
int *test_interleaved_pages(const int *set, int count, size_t pages, const char *what, long *least, long *most);
/* What aml_area_fprintf writes for area, each line after prefix (NULL:
 * none); malloc'ed. Fails the test when it fails. */
char *test_area_text(const struct aml_area *area, const char *prefix);

#ifdef __cplusplus
}
#endif

#endif
