/* The kind of each NUMA node (dram, hbm, cxl, gpu) for node set names.
 * First hwloc's node subtype (hwloc sets it from the firmware, its memory
 * tiers, or an XML topology: HBM, MCDRAM, GPUMemory, NVM, CXL-DRAM...);
 * else a node with CPUs is DRAM; else a memory-only node is compared with
 * the DRAM next to it by the HMAT: more bandwidth is HBM, less bandwidth
 * (or, equal, more latency) is CXL. Without hwloc the HMAT is read from
 * sysfs (access0/initiators); without an HMAT a memory-only node has no
 * kind and no kind name selects it. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <numa.h>

#include <aml/area/hwloc.h>
#include <aml/utils/nodemask.h>
#include <aml/utils/node_info.h>
#include "node_sets.h"

#define WORD_BITS (8 * sizeof(unsigned long))
#define RANKED_MAX 256

static void set_kind(struct amlshim_node_sets *sets, unsigned node, unsigned kind, unsigned from)
{
	if (node >= AMLSHIM_MAX_NODES)
		return;
	sets->known[node / WORD_BITS] |= 1UL << (node % WORD_BITS);
	sets->kind_of[node] = (unsigned char)kind;
	sets->kind_from[node] = (unsigned char)from;
	if (kind < AMLSHIM_KIND_COUNT)
		sets->kinds[kind][node / WORD_BITS] |= 1UL << (node % WORD_BITS);
}

int amlshim_nodes_with_cpus(unsigned long *mask)
{
	int count = 0, last = numa_max_node();
	struct bitmask *cpus = numa_allocate_cpumask();
	for (int node = 0; cpus && node <= last && node < AMLSHIM_MAX_NODES; node++)
		if (numa_node_to_cpus(node, cpus) == 0 && numa_bitmask_weight(cpus) > 0) {
			mask[node / WORD_BITS] |= 1UL << (node % WORD_BITS);
			count++;
		}
	if (cpus)
		numa_bitmask_free(cpus);
	return count;
}

int amlshim_topology_load(void)
{
	if (!__atomic_load_n(&aml_topology, __ATOMIC_ACQUIRE))
		aml_init(NULL, NULL); /* loads the topology, or leaves it NULL */
	return __atomic_load_n(&aml_topology, __ATOMIC_ACQUIRE) ? 0 : -1;
}

void amlshim_nodes_allowed(unsigned long *mask)
{
	struct bitmask *allowed = numa_get_mems_allowed();
	for (unsigned node = 0; allowed && node < AMLSHIM_MAX_NODES && node < allowed->size; node++)
		if (numa_bitmask_isbitset(allowed, node))
			mask[node / WORD_BITS] |= 1UL << (node % WORD_BITS);
	if (allowed)
		numa_bitmask_free(allowed);
}

/* hwloc's subtypes (memory tiers set them too), and how --explain names them. */
static const struct {
	const char *subtype;
	enum amlshim_node_kind kind;
	const char *source;
} subtypes[] = {
	{"DRAM", AMLSHIM_KIND_DRAM, "hwloc subtype DRAM"},
	{"HBM", AMLSHIM_KIND_HBM, "hwloc subtype HBM"},
	{"MCDRAM", AMLSHIM_KIND_HBM, "hwloc subtype MCDRAM"},
	{"GPUMemory", AMLSHIM_KIND_GPU, "hwloc subtype GPUMemory"},
	{"NVM", AMLSHIM_KIND_CXL, "hwloc subtype NVM"},
	{"CXL-DRAM", AMLSHIM_KIND_CXL, "hwloc subtype CXL-DRAM"},
	{"CXL-NVM", AMLSHIM_KIND_CXL, "hwloc subtype CXL-NVM"},
};
#define SUBTYPES (sizeof(subtypes) / sizeof(subtypes[0]))

/* The subtype's entry, or -1. */
static int subtype_entry(const char *subtype)
{
	for (size_t i = 0; subtype && i < SUBTYPES; i++)
		if (strcasecmp(subtype, subtypes[i].subtype) == 0)
			return (int)i;
	return -1;
}

/* The node's value in a ranking seen from its own locality, and the best
 * value of a DRAM node there (-1: none). */
static int compare_hmat(struct amlshim_node_sets *sets, hwloc_obj_t node, enum aml_hwloc_rank rank)
{
	unsigned os_index[RANKED_MAX];
	uint64_t values[RANKED_MAX];
	struct aml_area_hwloc_preferred_data ranking = {.os_index = os_index, .values = values};
	if (aml_hwloc_rank_nodes(aml_topology, node->cpuset, rank, RANKED_MAX, &ranking) != AML_SUCCESS ||
	    ranking.source != AML_HWLOC_SOURCE_MEMATTR)
		return -2;
	uint64_t mine = 0, dram = 0;
	for (unsigned i = 0; i < ranking.num_valued; i++) {
		if (os_index[i] == node->os_index)
			mine = values[i];
		else if (os_index[i] < AMLSHIM_MAX_NODES && aml_nodemask_test(sets->kinds[AMLSHIM_KIND_DRAM], os_index[i]) &&
		         sets->kind_from[os_index[i]] != AMLSHIM_KIND_FROM_HMAT)
			dram = rank == AML_HWLOC_RANK_LATENCY ? (dram && dram < values[i] ? dram : values[i])
			                                      : (dram > values[i] ? dram : values[i]);
	}
	if (!mine || !dram)
		return -2;
	return mine > dram ? 1 : mine < dram ? -1 : 0;
}

static int kinds_from_hwloc(struct amlshim_node_sets *sets, const unsigned long *with_cpus)
{
	if (amlshim_topology_load() != 0)
		return -1;
	int depth = hwloc_get_type_depth(aml_topology, HWLOC_OBJ_NUMANODE), max_node = numa_max_node();
	unsigned count = hwloc_get_nbobjs_by_depth(aml_topology, depth);
	for (int pass = 0; pass < 2; pass++)
		for (unsigned i = 0; i < count; i++) {
			hwloc_obj_t node = hwloc_get_obj_by_depth(aml_topology, depth, i);
			if (node->os_index >= AMLSHIM_MAX_NODES)
				continue;
			int kind = subtype_entry(node->subtype);
			if (pass == 0 && kind >= 0)
				set_kind(sets, node->os_index, subtypes[kind].kind, AMLSHIM_KIND_FROM_SUBTYPE + (unsigned)kind);
			else if (pass == 0 && aml_nodemask_test(with_cpus, node->os_index))
				set_kind(sets, node->os_index, AMLSHIM_KIND_DRAM, AMLSHIM_KIND_FROM_CPUS);
			else if (pass == 0 && (int)node->os_index > max_node && node->parent &&
			         node->parent->memory_first_child == node)
				/* A node the kernel does not know (an XML topology): its
				 * package's first memory is the normal one. */
				set_kind(sets, node->os_index, AMLSHIM_KIND_DRAM, AMLSHIM_KIND_FROM_FIRST);
			if (pass == 0 || kind >= 0 || aml_nodemask_test(sets->known, node->os_index))
				continue;
			/* Memory-only, no subtype: the HMAT against the DRAM next to it. */
			int bandwidth = compare_hmat(sets, node, AML_HWLOC_RANK_BANDWIDTH);
			int latency = bandwidth == 0 ? compare_hmat(sets, node, AML_HWLOC_RANK_LATENCY) : 0;
			if (bandwidth == -2 || latency == -2)
				set_kind(sets, node->os_index, AMLSHIM_KIND_UNKNOWN, AMLSHIM_KIND_FROM_NONE);
			else
				set_kind(sets, node->os_index,
				         bandwidth > 0 ? AMLSHIM_KIND_HBM : bandwidth < 0 || latency > 0 ? AMLSHIM_KIND_CXL
				                                                                      : AMLSHIM_KIND_DRAM,
				         AMLSHIM_KIND_FROM_HMAT);
		}
	return 0;
}

void amlshim_node_kinds_sysfs(struct amlshim_node_sets *sets, const unsigned long *with_cpus)
{
	int max = numa_max_node();
	unsigned long dram = 0, allowed[AMLSHIM_NODE_WORDS] = {0};
	amlshim_nodes_allowed(allowed);
	for (int node = 0; node <= max && node < AMLSHIM_MAX_NODES; node++)
		if (aml_nodemask_test(with_cpus, (unsigned)node)) {
			set_kind(sets, (unsigned)node, AMLSHIM_KIND_DRAM, AMLSHIM_KIND_FROM_CPUS);
			unsigned long value = aml_node_read_bandwidth((unsigned)node);
			dram = value > dram ? value : dram;
		}
	for (int node = 0; node <= max && node < AMLSHIM_MAX_NODES; node++) {
		if (aml_nodemask_test(with_cpus, (unsigned)node) || !aml_nodemask_test(allowed, (unsigned)node))
			continue;
		unsigned long value = aml_node_read_bandwidth((unsigned)node);
		if (!value || !dram)
			set_kind(sets, (unsigned)node, AMLSHIM_KIND_UNKNOWN, AMLSHIM_KIND_FROM_NONE);
		else
			set_kind(sets, (unsigned)node,
			         value > dram ? AMLSHIM_KIND_HBM : value < dram ? AMLSHIM_KIND_CXL : AMLSHIM_KIND_DRAM,
			         AMLSHIM_KIND_FROM_HMAT);
	}
}

void amlshim_node_kinds_find(struct amlshim_node_sets *sets)
{
	unsigned long with_cpus[AMLSHIM_NODE_WORDS] = {0};
	amlshim_nodes_with_cpus(with_cpus);
	if (kinds_from_hwloc(sets, with_cpus) == 0) {
		snprintf(sets->kinds_from, sizeof(sets->kinds_from), "hwloc subtypes, CPUs, HMAT");
		return;
	}
	amlshim_node_kinds_sysfs(sets, with_cpus);
	snprintf(sets->kinds_from, sizeof(sets->kinds_from), "sysfs CPUs, HMAT");
}

const char *amlshim_node_kind_source(const struct amlshim_node_sets *sets, unsigned node)
{
	if (node >= AMLSHIM_MAX_NODES || !aml_nodemask_test(sets->known, node))
		return "not looked at";
	unsigned from = sets->kind_from[node];
	if (from >= AMLSHIM_KIND_FROM_SUBTYPE && from - AMLSHIM_KIND_FROM_SUBTYPE < SUBTYPES)
		return subtypes[from - AMLSHIM_KIND_FROM_SUBTYPE].source;
	switch (from) {
	case AMLSHIM_KIND_FROM_CPUS: return "has CPUs";
	case AMLSHIM_KIND_FROM_FIRST: return "first memory of its package in the XML topology";
	case AMLSHIM_KIND_FROM_HMAT: return "HMAT bandwidth/latency against the DRAM next to it";
	default: return "no subtype, no HMAT";
	}
}
