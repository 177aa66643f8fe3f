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

struct aml_area_hwloc_data {
	hwloc_bitmap_t nodeset; /* hwloc NUMA nodeset */
	hwloc_membind_policy_t policy;
};

/* Default policy, interleave over all nodes, first touch. */
extern struct aml_area aml_area_hwloc_default;
extern struct aml_area aml_area_hwloc_interleave;
extern struct aml_area aml_area_hwloc_firsttouch;

/* nodeset NULL means all nodes; it is copied. Unknown policy: -AML_EINVAL;
 * a node not in the topology: -AML_EDOM; no topology: -AML_ENOTSUP. */
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
};

/* AML's constructors: kind is a hwloc_distances_kind_e; MEANS_BANDWIDTH
 * ranks by bandwidth, MEANS_LATENCY (or no MEANS flag) by latency. The
 * initiator is any hwloc object with a cpuset (a core, a package, a PU). */
int aml_area_hwloc_preferred_create(struct aml_area **area, hwloc_obj_t initiator,
                                    const enum hwloc_distances_kind_e kind);
/* Initiator: the calling thread's current CPU binding. */
int aml_area_hwloc_preferred_local_create(struct aml_area **area,
                                          const enum hwloc_distances_kind_e kind);
/* Ours: any ranking, capacity included. */
int aml_area_hwloc_ranked_create(struct aml_area **area, hwloc_obj_t initiator,
                                 const enum aml_hwloc_rank rank);
void aml_area_hwloc_preferred_destroy(struct aml_area **area);

const char *aml_hwloc_rank_name(enum aml_hwloc_rank rank);
const char *aml_hwloc_rank_source_name(enum aml_hwloc_rank_source source);

#ifdef __cplusplus
}
#endif
#endif
