/* Tutorial 1: Linux areas.
 *
 * An area is where memory comes from. aml_area_mmap() asks an area for
 * memory, aml_area_munmap() gives it back; the area decides where the
 * pages go. The Linux area does it with the kernel's memory policies
 * (mbind(2)): default (first touch), bind, preferred, interleave.
 *
 * Here: the ready-made default area, then an interleave area of our own,
 * checked with the checker of tutorial 0, then a bind area for contrast.
 * Build flags: `pkg-config --cflags --libs aml` (or -laml -lnuma -lhwloc).
 *
 * Exit status: 0 when everything behaves as described, 1 otherwise. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <aml.h>
#include <aml/area/linux.h>

#include "check.h"
#include "interleave_check.h"

int main(int argc, char **argv)
{
	/* As in AML: optional for Linux areas, harmless, starts no thread. */
	CHECK(aml_init(&argc, &argv) == AML_SUCCESS, "aml_init");
	if (!aml_support_backends(AML_BACKEND_LIBNUMA))
		test_skip_hardware("kernel without NUMA support");
	const size_t page = (size_t)sysconf(_SC_PAGESIZE);

	/* 1. aml_area_linux is a static area: nothing to create or destroy.
	 * It leaves placement to the kernel's default (the node of the CPU
	 * that first touches each page). The last argument is per-call
	 * options; NULL means private, anonymous, read-write. */
	char *small = aml_area_mmap(&aml_area_linux, 4096, NULL);
	CHECK(small != NULL, "default area: %s", aml_strerror(aml_errno));
	strcpy(small, "hello from the default Linux area");
	printf("%s\n", small);
	CHECK(aml_area_munmap(&aml_area_linux, small, 4096) == AML_SUCCESS, "munmap");

	/* 2. An area of our own: interleave over a node set. A NULL node mask
	 * means every node this process may use. Areas made with _create are
	 * released with the matching _destroy. */
	struct aml_area *interleave = NULL;
	if (aml_area_linux_create(&interleave, NULL, AML_AREA_LINUX_POLICY_INTERLEAVE) != AML_SUCCESS) {
		aml_perror("aml_area_linux_create");
		return 1;
	}
	aml_area_fprintf(stdout, "created: ", interleave); /* what the area is */

	/* The area sets the policy at mmap time; pages appear when first
	 * touched, and the kernel spreads them page by page over the nodes. */
	const size_t size = 64 * page;
	char *buf = aml_area_mmap(interleave, size, NULL);
	CHECK(buf != NULL, "interleave area: %s", aml_strerror(aml_errno));
	memset(buf, 0, size);
	const char *how = "";
	int verdict = is_interleaved(buf, size, page, &how);
	printf("64 pages from the interleave area: %s (%s)\n", interleave_verdict(verdict), how);
	CHECK(verdict == 1, "the interleave area's memory must be interleaved");
	CHECK(aml_area_munmap(interleave, buf, size) == AML_SUCCESS, "munmap");
	aml_area_linux_destroy(&interleave);
	CHECK(interleave == NULL, "destroy sets the pointer to NULL");

	/* 3. For contrast, a bind area on one node (libnuma builds the mask):
	 * the checker must say no. */
	struct bitmask *one = numa_allocate_nodemask();
	unsigned long allowed[CHECK_MASK_WORDS];
	allowed_nodes_mask(allowed);
	int first = 0;
	while (!node_mask_isset(allowed, first))
		first++;
	numa_bitmask_setbit(one, (unsigned)first);
	struct aml_area *bind = NULL;
	CHECK(aml_area_linux_create(&bind, one, AML_AREA_LINUX_POLICY_BIND) == AML_SUCCESS, "bind area: %s",
	      aml_strerror(aml_errno));
	aml_area_fprintf(stdout, "created: ", bind);
	buf = aml_area_mmap(bind, size, NULL);
	CHECK(buf != NULL, "bind area: %s", aml_strerror(aml_errno));
	memset(buf, 0, size);
	verdict = is_interleaved(buf, size, page, &how);
	printf("64 pages from the bind area: %s (%s)\n", interleave_verdict(verdict), how);
	CHECK(verdict == 0, "memory bound to one node is not interleaved");
	aml_area_munmap(bind, buf, size);
	aml_area_linux_destroy(&bind);
	numa_bitmask_free(one);

	aml_finalize();
	return 0;
}
