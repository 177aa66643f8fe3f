/* The private jemalloc starts at the first small allocation, not when the
 * shim is loaded: a program that has allocated nothing has none of its
 * metadata mapped (start-up cost and resident memory of programs that
 * allocate little), and its first malloc works and maps it. Mappings are
 * counted from /proc/self/maps with plain system calls (test_vma_count):
 * no allocation. */
#include "shim_test.h"

int main(int argc, char **argv)
{
	(void)argc;
	shim_test_start(argv, NULL);
	int before = test_vma_count();
	char *p = malloc(24);
	CHECK(p != NULL, "malloc(24) failed");
	memset(p, 7, 24);
	int after = test_vma_count();
	free(p);
	CHECK(after > before, "jemalloc's mappings existed before the first allocation (%d mappings, then %d)",
	      before, after);
	printf("PASS: %d mappings before the first allocation, %d after\n", before, after);
	return 0;
}
