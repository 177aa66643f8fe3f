/* What Linux's sysfs says about NUMA nodes and CPUs beyond libnuma: a CPU's
 * package, a memory node's HMAT initiators and bandwidth, SLIT distances,
 * for callers without hwloc (areas/os_nodes.c, the OS layer). No
 * allocation and no stdio (libnuma's numa_distance has both), so callers
 * inside an allocator may use them. */
#ifndef AML_UTILS_NODE_INFO_H
#define AML_UTILS_NODE_INFO_H

#ifdef __cplusplus
extern "C" {
#endif

/* The package (physical_package_id) of a CPU, or -1 when unknown. */
int aml_cpu_package(unsigned cpu);
/* The nodes HMAT names best initiators of node (access0/initiators/nodeN)
 * into mask (bits set, AML_NODEMASK_WORDS words); how many, or -1 when
 * sysfs has no HMAT for the node. */
int aml_node_initiators(unsigned node, unsigned long *mask);
/* Read bandwidth in MB/s from node's best initiators (HMAT access0), 0
 * when unknown. */
unsigned long aml_node_read_bandwidth(unsigned node);
/* The SLIT distance from node to other, or -1 when unknown. */
int aml_node_distance(unsigned node, unsigned other);

#ifdef __cplusplus
}
#endif

#endif
