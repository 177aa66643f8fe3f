/* Block-interleave area: an allocation is cut into blocks of block_size
 * bytes placed round-robin over a node set, the first block of every
 * allocation on the first node. The allocation is populated at mmap time
 * (that is when placement happens) and stays O(1) VMAs however many blocks
 * it has. */
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
};

/* block_size must be a non-zero multiple of the page size (-AML_EINVAL);
 * nodemask NULL means every allowed node; a node not allowed gives -AML_EDOM.
 * Options on mmap are ignored (pass NULL). */
int aml_area_block_create(struct aml_area **area, size_t block_size,
                          const struct bitmask *nodemask);
void aml_area_block_destroy(struct aml_area **area);

#ifdef __cplusplus
}
#endif
#endif
