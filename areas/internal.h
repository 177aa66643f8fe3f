/* Internal to the area library: node-mask helpers, node memory, the
 * topology; the system calls are os.h's.
 * Everything here is hidden from the library's exported symbols. */
#ifndef AML_AREAS_INTERNAL_H
#define AML_AREAS_INTERNAL_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>
#include <numa.h>

#include "external.h"
#include "os.h"

/* The block an area lives in (area_parts.c): one calloc holding the area,
 * a copy of ops and data_size zeroed bytes of data (max_align_t aligned,
 * area->data); free() it once. NULL when out of memory. */
AML_HIDDEN struct aml_area *aml_area_alloc(const struct aml_area_ops *ops, size_t data_size);
/* aml_os_mmap for an area's mmap: the mapping, or NULL with aml_errno set
 * from the kernel's error; errno is kept. */
AML_HIDDEN void *aml_area_map(void *addr, size_t size, int prot, int flags, int fd, off_t off);
/* Gives back a mapping whose placement failed with err (a negative AML
 * code): aml_errno = -err. Returns NULL. errno is the caller's to keep
 * (AML_KEEP_ERRNO around the whole mmap). */
AML_HIDDEN void *aml_area_map_failed(void *ptr, size_t size, int err);
/* The start of an area's fprintf: -AML_EINVAL without a stream; a NULL
 * *prefix becomes ""; for NULL data, "PREFIXkind: (no data)" is printed and
 * AML_SUCCESS returned (nothing more to print); otherwise 1. */
AML_HIDDEN int aml_area_fprintf_begin(FILE *stream, const char **prefix, const void *data, const char *kind);

/* The entry of a table of names for index, or unknown past its end. */
#define AML_NAME_OF(names, index, unknown) \
	((unsigned)(index) < sizeof(names) / sizeof((names)[0]) ? (names)[(unsigned)(index)] : (unknown))

/* Fills raw (AML_MASK_WORDS words) from a libnuma mask, or from the
 * process's allowed memory nodes when mask is NULL. Returns AML_SUCCESS,
 * -AML_EDOM when a node is not allowed, -AML_EINVAL when none is set. */
AML_HIDDEN int aml_nodemask_to_raw(const struct bitmask *mask, unsigned long *raw);
/* Nodes set in raw, in increasing order, into nodes[]; returns the count. */
AML_HIDDEN int aml_raw_mask_nodes(const unsigned long *raw, int *nodes, int max_nodes);
/* Writes "0-3,6"-style text of a raw mask into buf (always terminated). */
AML_HIDDEN void aml_raw_mask_format(const unsigned long *raw, char *buf, size_t len);

/* Free memory per node (node_memory.c). The reserves (what the kernel keeps
 * free on each node) are read once, by area creation, before any
 * aml_node_room call that should use them. */
AML_HIDDEN void aml_node_reserves_load(void);
enum aml_node_room_kind {
	AML_NODE_ROOM_FREE,    /* free memory only: before the kernel spills */
	AML_NODE_ROOM_RECLAIM, /* plus page cache it would reclaim: before it OOMs */
};
/* Bytes the node can still take, page aligned, less its reserve; SIZE_MAX
 * when sysfs cannot tell. Neither mallocs nor changes errno. */
AML_HIDDEN size_t aml_node_room(unsigned node, enum aml_node_room_kind kind);
/* 1 when the nodes of raw (or sysfs cannot tell) can take size bytes
 * (AML_NODE_ROOM_RECLAIM), else 0. */
AML_HIDDEN int aml_nodes_fit(const unsigned long *raw, size_t size);

/* The areas that place pages themselves (placing.c). The thread's memory
 * policy, saved so it can be put back exactly (mode flags included). */
struct aml_thread_policy {
	int mode;
	unsigned long mask[AML_MASK_WORDS];
};
/* Each returns AML_SUCCESS or a negative AML error from the kernel's. */
AML_HIDDEN int aml_thread_policy_save(struct aml_thread_policy *saved);
AML_HIDDEN int aml_thread_policy_restore(const struct aml_thread_policy *saved);
/* The calling thread's policy becomes MPOL_PREFERRED {node}. */
AML_HIDDEN int aml_thread_prefer_node(int node);
/* Populates [ptr, ptr + size) in cycles of units of `unit` bytes: the
 * first weights[0] units of each cycle (1 when weights is NULL) under a
 * thread policy preferring nodes[0], the next weights[1] nodes[1], ...;
 * then puts the thread's policy back (on every path). */
AML_HIDDEN int aml_place_runs(char *ptr, size_t size, const int *nodes, const unsigned *weights, int count,
                              size_t unit);
/* Ends an mmap that placed [ptr, ptr + size) itself: with err
 * AML_SUCCESS the range gets MPOL_INTERLEAVE over raw_mask (pages already
 * placed stay; later faults stay spread) and ptr is returned; otherwise,
 * or when that fails, the range is unmapped, aml_errno set, NULL returned. */
AML_HIDDEN void *aml_place_finish(char *ptr, size_t size, const unsigned long *raw_mask, int err);
/* A private anonymous read-write range of size bytes whose start is a
 * multiple of align (a power of two; at most a page: no constraint) and,
 * in units of align, a multiple of period (0 or 1: none); MAP_FAILED with
 * errno on failure. */
AML_HIDDEN char *aml_map_aligned(size_t size, size_t align, size_t period);

/* Loads aml_topology once (thread-safe); AML_SUCCESS or -AML_ENOTSUP. */
AML_HIDDEN int aml_hwloc_topology_init(void);
AML_HIDDEN void aml_hwloc_topology_fini(void);

#endif
