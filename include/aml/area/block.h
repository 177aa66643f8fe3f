/* Block-interleave area: an allocation is cut into blocks of block_size
 * bytes placed round-robin over a node set, the first block of every
 * allocation on the first node (block i on nodes[i % num_nodes]); a size
 * that is not a multiple of block_size ends with a partial block. Every
 * allocation stays O(1) VMAs however many blocks it has.
 *
 * When a block is placed (aml_area_block_placement, decided at create):
 *  - lazily, at its first touch, like any other policy: with one node in
 *    the set, and with blocks of one transparent huge page (2 MiB on x86)
 *    where THP is enabled ("always" or "madvise") for this process. Those
 *    ranges carry MPOL_INTERLEAVE and MADV_HUGEPAGE; the kernel puts each
 *    huge page on the next node at its fault. A partial last block is
 *    populated at mmap. Where no huge page can be had (fragmented memory),
 *    or a page is read before it is first written (the kernel then maps
 *    its shared zero huge page and splits it at the write), the fault
 *    takes 4 KiB pages, which the interleave spreads page by page over the
 *    set rather than by block;
 *  - eagerly otherwise (other block sizes over two or more nodes, no THP):
 *    the whole allocation is populated at mmap time, block by block, and
 *    is resident at once.
 *
 * Placement is best effort: a block whose node is full lands on another
 * node rather than invoking the OOM killer. Afterwards the range carries
 * the kernel policy MPOL_INTERLEAVE over the node set, so pages faulted
 * again later (after swap or MADV_DONTNEED) stay spread: page by page on
 * the eager path, by huge page on the lazy one. With one node in the set
 * every block is on that node.
 *
 * mmap may briefly change the calling thread's memory policy
 * (set_mempolicy) and restores it before returning; other threads are not
 * affected. So that no transparent huge page spans two blocks, a range
 * whose block size is not a multiple of the THP size gets MADV_NOHUGEPAGE,
 * and one whose block size is starts on a THP boundary. */
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
	int thp_usable;                    /* THP enabled for this process at create */
};

/* How the area's mmap places an allocation. */
enum aml_area_block_placement {
	AML_AREA_BLOCK_EAGER = 0,     /* populated by mmap: resident at once */
	AML_AREA_BLOCK_LAZY_HUGE,     /* at first touch, by huge page (MPOL_INTERLEAVE) */
	AML_AREA_BLOCK_LAZY_ONE_NODE, /* at first touch, on the set's only node */
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
/* An aml_area_block_placement value, or -AML_EINVAL for a NULL area or one
 * that is not a block area. */
int aml_area_block_placement(const struct aml_area *area);

#ifdef __cplusplus
}
#endif
#endif
