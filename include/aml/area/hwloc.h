/* hwloc areas: binding through hwloc, and "preferred" areas that rank the
 * NUMA nodes seen from an initiator by bandwidth, latency or capacity using
 * hwloc memory attributes (ACPI HMAT), falling back to distances, then to
 * locality. */
#ifndef AML_AREA_HWLOC_H
#define AML_AREA_HWLOC_H

#include <stdint.h>
#include <hwloc.h>
#include <aml.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The topology AML programs use directly; loaded by aml_init() or by the
 * first hwloc area that needs it. */
extern hwloc_topology_t aml_topology;

/* Highest kernel node number + 1 the hwloc areas handle. */
#define AML_AREA_HWLOC_MAX_NODES AML_MAX_NODES

struct aml_area_hwloc_data {
	hwloc_bitmap_t nodeset; /* hwloc NUMA nodeset (by os_index); NULL: all nodes */
	hwloc_membind_policy_t policy;
	/* Filled at create time (by the static areas at their first use), so
	 * mmap calls neither hwloc nor malloc and can run in allocator hooks. */
	int ready;       /* the fields below are valid */
	int kernel_mode; /* the MPOL_* mode mbind applies */
	unsigned long raw_mask[AML_AREA_HWLOC_MAX_NODES / (8 * sizeof(unsigned long))];
};

/* Default policy, interleave over all nodes, first touch. They load
 * aml_topology at first use (no aml_init needed); without a topology their
 * mmap fails with AML_ENOTSUP. */
extern struct aml_area aml_area_hwloc_default;
extern struct aml_area aml_area_hwloc_interleave;
extern struct aml_area aml_area_hwloc_firsttouch;

/* nodeset NULL means all nodes; it is copied. Policies and what the kernel
 * is asked for: DEFAULT -> MPOL_DEFAULT, BIND -> MPOL_BIND, INTERLEAVE ->
 * MPOL_INTERLEAVE over the nodeset, FIRSTTOUCH -> MPOL_LOCAL (the nodeset
 * is kept but the toucher's node decides). Unknown policy or an empty
 * nodeset: -AML_EINVAL; NEXTTOUCH (Linux has none): -AML_ENOTSUP; a node
 * not in the topology: -AML_EDOM; no topology: -AML_ENOTSUP.
 * mmap options are ignored (pass NULL): private anonymous memory. */
int aml_area_hwloc_create(struct aml_area **area, hwloc_bitmap_t nodeset,
                          const hwloc_membind_policy_t policy);
void aml_area_hwloc_destroy(struct aml_area **area);

/* What decides a preferred area's ranking. */
enum aml_hwloc_rank {
	AML_HWLOC_RANK_BANDWIDTH, /* highest first */
	AML_HWLOC_RANK_LATENCY,   /* lowest first */
	AML_HWLOC_RANK_CAPACITY,  /* largest first */
};

/* Where the ranking values came from. */
enum aml_hwloc_rank_source {
	AML_HWLOC_SOURCE_MEMATTR,   /* hwloc memory attributes (HMAT) */
	AML_HWLOC_SOURCE_DISTANCES, /* hwloc distance matrices (SLIT) */
	AML_HWLOC_SOURCE_LOCALITY,  /* local nodes first, then the rest */
};

struct aml_area_hwloc_preferred_data {
	enum aml_hwloc_rank rank;
	enum aml_hwloc_rank_source source;
	int initiator_os_index;  /* a NUMA node of the initiator's, -1 if none */
	unsigned num_nodes;      /* nodes ranked, best first */
	unsigned *os_index;      /* kernel node numbers, best first */
	uint64_t *values;        /* the attribute value of each (0 if none) */
	/* The first num_valued nodes have a value from source (LOCALITY: they
	 * are the nodes local to the initiator, or for capacity those of known
	 * size); the others rank after them. */
	unsigned num_valued;
};

/* How a preferred area ranks the nodes (computed once, at create time):
 *  1. hwloc memory attributes (Bandwidth, Latency, Capacity) for the
 *     initiator's cpuset. A value recorded for a larger initiator (our
 *     cpuset is inside it) is used as is; otherwise, when every PU of the
 *     initiator has a value, their mean. Nodes without a value rank after
 *     the others.
 *  2. else a NUMA distance matrix, from the initiator's node row (latency-
 *     like matrices: smallest first; bandwidth matrices: largest first);
 *  3. else locality: nodes local to the initiator first.
 * Ties go to the closer node (distances), then to local nodes (the most
 * local first), then to the lower os_index.
 *
 * Allocation follows the ranking: at mmap, each node's MemFree is read from
 * sysfs (no malloc, no hwloc) and the range is cut into at most one part
 * per node: the first part preferred (MPOL_PREFERRED) on the best node, up
 * to its free memory less a reserve, the next part on the next node, and so
 * on; what no node can hold goes to the last node used. The reserve is what
 * the kernel keeps free on the node (its zones' high watermarks and lowmem
 * protection, read from /proc/zoneinfo at create time), at least 4 MiB; 1/64
 * of the node when /proc/zoneinfo is unreadable. Without sysfs, the whole
 * range prefers the best node.
 * MPOL_PREFERRED, not BIND: a stale estimate spills to another node instead
 * of failing. Memory is placed when first touched, so estimates made by
 * several mmaps before their pages are touched can overlap. */

/* AML's constructors: kind is a hwloc_distances_kind_e; MEANS_BANDWIDTH
 * ranks by bandwidth, MEANS_LATENCY (or no MEANS flag) by latency. The
 * initiator is any hwloc object with a cpuset (a core, a package, a PU). */
int aml_area_hwloc_preferred_create(struct aml_area **area, hwloc_obj_t initiator,
                                    const enum hwloc_distances_kind_e kind);
/* Initiator: the calling thread's CPU binding; for a thread bound to every
 * CPU (not bound), the CPU it last ran on. */
int aml_area_hwloc_preferred_local_create(struct aml_area **area,
                                          const enum hwloc_distances_kind_e kind);
/* Ours: any ranking, capacity included. */
int aml_area_hwloc_ranked_create(struct aml_area **area, hwloc_obj_t initiator,
                                 const enum aml_hwloc_rank rank);
/* Ours: the ranking against a given topology (NULL: aml_topology), e.g.
 * one loaded from XML; the initiator must be one of its objects (else
 * -AML_EDOM). An area ranked against a foreign topology ranks correctly
 * but can only mmap on a machine that has its nodes. */
int aml_area_hwloc_ranked_create_in(struct aml_area **area, hwloc_topology_t topology,
                                    hwloc_obj_t initiator, const enum aml_hwloc_rank rank);
/* Same, the initiator given as a cpuset (a thread's binding, say): empty
 * gives -AML_EINVAL, not within the topology's CPUs -AML_EDOM. */
int aml_area_hwloc_ranked_create_cpuset(struct aml_area **area, hwloc_topology_t topology,
                                        hwloc_const_cpuset_t initiator,
                                        const enum aml_hwloc_rank rank);
/* Same, seen from the CPUs of a NUMA node given by its kernel number (a
 * node without CPUs, or -1: the whole machine). Loads aml_topology; a node
 * the topology lacks gives -AML_EDOM. Needs no hwloc call from the caller,
 * so a program can reach it through dlsym alone. */
int aml_area_hwloc_ranked_create_node(struct aml_area **area, int initiator_node,
                                      const enum aml_hwloc_rank rank);
void aml_area_hwloc_preferred_destroy(struct aml_area **area);

/* A budget on a ranked area's nodes (optional, e.g. a node's memory shared
 * by the processes of a job): before placing a part of a mapping on a node,
 * mmap asks take() how many of want bytes at addr may go there (at most
 * want; must: the last part, placed anyway, only to be counted); it places
 * the granted bytes and moves on to the next ranked node. munmap, and mmap
 * failing after some take(), tell release() the range. Called from mmap:
 * neither may allocate. NULL budget: none. Not thread-safe against mmap. */
struct aml_area_hwloc_budget {
	size_t (*take)(void *ctx, unsigned node, void *addr, size_t want, int must);
	void (*release)(void *ctx, void *addr, size_t len);
	void *ctx;
};
int aml_area_hwloc_ranked_set_budget(struct aml_area *area, const struct aml_area_hwloc_budget *budget);

/* The ranking alone: fills ranking->rank, source, initiator_os_index,
 * num_nodes, num_valued and the first num_nodes entries of the caller's
 * ranking->os_index and ranking->values arrays, which hold max_nodes
 * entries each (the topology's NUMA node count is enough, else
 * -AML_EINVAL). topology NULL: aml_topology. */
int aml_hwloc_rank_nodes(hwloc_topology_t topology, hwloc_const_cpuset_t initiator,
                         enum aml_hwloc_rank rank, unsigned max_nodes,
                         struct aml_area_hwloc_preferred_data *ranking);

const char *aml_hwloc_rank_name(enum aml_hwloc_rank rank);
const char *aml_hwloc_rank_source_name(enum aml_hwloc_rank_source source);

#ifdef __cplusplus
}
#endif
#endif
