/* Block-interleave area: an allocation is cut into blocks of block_size
 * bytes placed round-robin over a node set, the first block of every
 * allocation on the first node (block i on nodes[i % num_nodes]); a size
 * that is not a multiple of block_size ends with a partial block. The
 * allocation is populated at mmap time (that is when placement happens) and
 * stays O(1) VMAs however many blocks it has.
 *
 * Placement is best effort: a block whose node is full lands on another
 * node rather than invoking the OOM killer. Afterwards the range carries
 * the kernel policy MPOL_INTERLEAVE over the node set, so pages faulted
 * again later (after swap or MADV_DONTNEED) stay spread, page by page. With
 * one node in the set every block is on that node.
 *
 * mmap briefly changes the calling thread's memory policy (set_mempolicy)
 * and restores it before returning; other threads are not affected. So
 * that no transparent huge page spans two blocks, a range whose block size
 * is not a multiple of the THP size gets MADV_NOHUGEPAGE, and one whose
 * block size is starts on a THP boundary. */
#ifndef AML_AREA_BLOCK_H
#define AML_AREA_BLOCK_H

#include <numa.h>
#include <aml.h>
#include <aml/area/linux.h>

#ifdef __cplusplus
extern "C" {
#endif

struct aml_area_block_data {
	size_t block_size;                 /* a multiple of the page size */
	int num_nodes;                     /* nodes in the rotation */
	int nodes[AML_AREA_LINUX_MAX_NODES]; /* kernel node numbers, in order */
	/* the whole node set, applied to the range once blocks are placed */
	unsigned long raw_mask[AML_AREA_LINUX_MAX_NODES / (8 * sizeof(unsigned long))];
	size_t huge_page_size;             /* the kernel's THP size, 0 without THP */
};

/* block_size must be a non-zero multiple of the page size (-AML_EINVAL);
 * nodemask NULL means every allowed node, in increasing order; a node not
 * allowed gives -AML_EDOM, an empty mask -AML_EINVAL, a kernel without NUMA
 * -AML_ENOTSUP. The mask is copied. Options on mmap are ignored (pass NULL:
 * memory is private, anonymous, read-write); mmap fails with AML_ENOMEM
 * when the range cannot be mapped or populated. */
int aml_area_block_create(struct aml_area **area, size_t block_size,
                          const struct bitmask *nodemask);
void aml_area_block_destroy(struct aml_area **area);

#ifdef __cplusplus
}
#endif
#endif
