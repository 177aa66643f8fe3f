/* Internal to the area library: node-mask helpers, node memory, the
 * topology; the system calls are os.h's.
 * Everything here is hidden from the library's exported symbols. */
#ifndef AML_AREAS_INTERNAL_H
#define AML_AREAS_INTERNAL_H

#include <stddef.h>
#include <sys/types.h>
#include <numa.h>

#include "external.h"
#include "os.h"

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

/* Loads aml_topology once (thread-safe); AML_SUCCESS or -AML_ENOTSUP. */
AML_HIDDEN int aml_hwloc_topology_init(void);
AML_HIDDEN void aml_hwloc_topology_fini(void);

#endif
