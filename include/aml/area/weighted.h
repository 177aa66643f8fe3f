/* Weighted-interleave area: an allocation is cut into units (pages, or
 * blocks of a given size) placed over a node set in proportion to integer
 * weights. The set is taken in increasing node order and each node gets
 * its weight's worth of consecutive units per cycle, the cycle starting at
 * each allocation's first unit: weights 3:1 over {0,3} put units
 * 0,1,2 on node 0, unit 3 on node 3, units 4,5,6 on node 0, and so on.
 * Every allocation stays O(1) VMAs however many units it has.
 *
 * How (aml_area_weighted_mechanism, decided at create):
 *  - the kernel's MPOL_WEIGHTED_INTERLEAVE (Linux 6.9+), when units are
 *    pages and the system weights of the set
 *    (/sys/kernel/mm/mempolicy/weighted_interleave/nodeN), reduced by their
 *    greatest common divisor, already equal the weights asked for: pages
 *    are placed lazily, at their first touch. The kernel picks the node of
 *    a page from its offset in the mapping, and an anonymous mapping's
 *    offset is its address in pages, so the range starts at a page whose
 *    number is a multiple of the cycle (the sum of the system weights).
 *    System weights that are a multiple of those asked for (6:2 for 3:1)
 *    keep the ratio but lengthen the cycle: 6 pages, then 2;
 *    The system weights are global and root's to change: the kernel reads
 *    them at each fault, so a change later changes the ratio of pages not
 *    yet touched;
 *  - otherwise in user space, eagerly: the whole allocation is populated at
 *    mmap, each node's units under a thread policy preferring that node
 *    (like the block-interleave area's eager path), then the range gets
 *    MPOL_INTERLEAVE over the set (pages faulted again later, after swap or
 *    MADV_DONTNEED, are spread evenly, not by weight).
 * Placement is best effort: a unit whose node is full lands elsewhere
 * rather than invoking the OOM killer.
 *
 * Transparent huge pages would put 2 MiB on one node: ranges of units that
 * are not whole huge pages get MADV_NOHUGEPAGE; units made of whole huge
 * pages start on a huge-page boundary. */
#ifndef AML_AREA_WEIGHTED_H
#define AML_AREA_WEIGHTED_H

#include <stddef.h>
#include <stdint.h>
#include <aml.h>
#include <aml/area/linux.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Most nodes in a weighted set, and the largest weight (the kernel's
 * weights are bytes). */
#define AML_AREA_WEIGHTED_MAX_NODES 16
#define AML_AREA_WEIGHTED_MAX_WEIGHT 255

enum aml_area_weighted_mechanism {
	AML_AREA_WEIGHTED_USER = 0, /* populated by mmap, node by node: resident at once */
	AML_AREA_WEIGHTED_KERNEL,   /* MPOL_WEIGHTED_INTERLEAVE: at first touch */
};

/* Flags of aml_area_weighted_create. */
#define AML_AREA_WEIGHTED_FLAG_USER 1u /* place in user space even where the kernel could */

struct aml_area_weighted_data {
	size_t unit;                                   /* bytes per unit: a multiple of the page size */
	int num_nodes;
	int nodes[AML_AREA_WEIGHTED_MAX_NODES];        /* increasing */
	unsigned weights[AML_AREA_WEIGHTED_MAX_NODES]; /* reduced by their gcd */
	unsigned cycle;                                /* units per cycle: the sum of the weights */
	/* The kernel mechanism's system weights are weights * kernel_scale
	 * (1 in user space); its cycle is cycle * kernel_scale pages. */
	unsigned kernel_scale;
	enum aml_area_weighted_mechanism mechanism;
	unsigned long raw_mask[AML_AREA_LINUX_MAX_NODES / (8 * sizeof(unsigned long))];
	size_t huge_page_size; /* the kernel's THP size, 0 without THP */
	char source[64];       /* where the weights came from ("given", "HMAT bandwidth ...") */
	char why_user[64];     /* why the kernel mechanism was not used ("" with it) */
};

/* count nodes (distinct, allowed to this process: else -AML_EDOM) with a
 * weight each from 1 to AML_AREA_WEIGHTED_MAX_WEIGHT; unit 0 means the
 * page size, otherwise a multiple of it. source (NULL: "given") is shown
 * by fprintf. Bad arguments give -AML_EINVAL, a kernel without NUMA
 * -AML_ENOTSUP. mmap options are ignored (private anonymous memory). */
int aml_area_weighted_create(struct aml_area **area, const int *nodes, const unsigned *weights, int count,
                             size_t unit, const char *source, unsigned flags);
void aml_area_weighted_destroy(struct aml_area **area);
/* An aml_area_weighted_mechanism, or -AML_EINVAL for an area of another kind. */
int aml_area_weighted_mechanism(const struct aml_area *area);

/* The pattern: the node of unit `index` of an allocation (counted from its
 * first unit) for nodes in the given order with these weights. */
int aml_area_weighted_node_at(const int *nodes, const unsigned *weights, int count, size_t index);
/* Divides the weights by their greatest common divisor; returns it (0
 * when a weight is 0 or count < 1, weights unchanged). */
unsigned aml_area_weighted_reduce(unsigned *weights, int count);
/* Small integer weights for values (bandwidths): each value's share of the
 * largest, times max_weight, rounded, at least 1, then reduced. 0, or
 * -AML_EINVAL when a value is 0 or max_weight is out of range. */
int aml_area_weighted_from_values(const uint64_t *values, int count, unsigned max_weight, unsigned *weights);

#ifdef __cplusplus
}
#endif
#endif
