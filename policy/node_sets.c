/* Node set names made node numbers at start-up: "local" from the
 * process's CPU affinity and the nodes' CPU lists, "socket" from the
 * packages of those CPUs (hwloc: the NUMA nodes local to the package; else
 * sysfs: the packages' CPU nodes and the memory-only nodes whose HMAT
 * initiators, or nearest CPU node, are among them), kinds from
 * node_kinds.c. hwloc is loaded only for a name that needs the topology. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <numa.h>

#include <aml/area/hwloc.h>
#include <aml/utils/nodemask.h>
#include <aml/utils/node_info.h>
#include "node_sets.h"

#define WORD_BITS (8 * sizeof(unsigned long))
#define CPU_WORDS 128 /* 8192 CPUs */

static void set_bit(unsigned long *mask, unsigned bit)
{
	mask[bit / WORD_BITS] |= 1UL << (bit % WORD_BITS);
}

static void mask_text(const unsigned long *mask, unsigned bits, char *buf, size_t len)
{
	size_t used = 0;
	buf[0] = '\0';
	for (unsigned first = 0, last; aml_mask_next_run(mask, bits, &first, &last); first = last + 1) {
		int n = snprintf(buf + used, len - used, last > first ? "%s%u-%u" : "%s%u", used ? "," : "", first, last);
		if (n < 0 || (size_t)n >= len - used) {
			buf[used] = '\0';
			return;
		}
		used += (size_t)n;
	}
}

static int affinity(unsigned long *cpus)
{
	memset(cpus, 0, CPU_WORDS * sizeof(*cpus));
	return sched_getaffinity(0, CPU_WORDS * sizeof(*cpus), (cpu_set_t *)cpus);
}

/* Nodes whose CPU list meets the affinity (libnuma reads the sysfs lists). */
static void find_local(struct amlshim_node_sets *sets)
{
	unsigned long cpus[CPU_WORDS];
	if (affinity(cpus) != 0)
		return;
	mask_text(cpus, CPU_WORDS * WORD_BITS, sets->cpus, sizeof(sets->cpus));
	struct bitmask *node_cpus = numa_allocate_cpumask();
	int last = numa_max_node();
	for (int node = 0; node_cpus && node <= last && node < AMLSHIM_MAX_NODES; node++) {
		if (numa_node_to_cpus(node, node_cpus) != 0)
			continue;
		for (unsigned w = 0; w < CPU_WORDS && w < node_cpus->size / WORD_BITS; w++)
			if (node_cpus->maskp[w] & cpus[w]) {
				set_bit(sets->local, (unsigned)node);
				break;
			}
	}
	if (node_cpus)
		numa_bitmask_free(node_cpus);
}

/* hwloc: the NUMA nodes whose locality lies inside a package holding one
 * of the process's CPUs (memory-only nodes hang off their package). */
static int socket_from_hwloc(struct amlshim_node_sets *sets, const unsigned long *cpus)
{
	if (amlshim_topology_load() != 0)
		return -1;
	int package_depth = hwloc_get_type_depth(aml_topology, HWLOC_OBJ_PACKAGE);
	int node_depth = hwloc_get_type_depth(aml_topology, HWLOC_OBJ_NUMANODE);
	unsigned packages = package_depth < 0 ? 0 : hwloc_get_nbobjs_by_depth(aml_topology, package_depth);
	unsigned nodes = hwloc_get_nbobjs_by_depth(aml_topology, node_depth);
	char names[48] = "";
	size_t used = 0;
	for (unsigned p = 0; p < packages; p++) {
		hwloc_obj_t package = hwloc_get_obj_by_depth(aml_topology, package_depth, p);
		int mine = 0;
		for (int cpu = hwloc_bitmap_first(package->cpuset); cpu >= 0 && !mine;
		     cpu = hwloc_bitmap_next(package->cpuset, cpu))
			mine = (unsigned)cpu < CPU_WORDS * WORD_BITS && aml_nodemask_test(cpus, (unsigned)cpu);
		if (!mine)
			continue;
		if (used + 12 < sizeof(names))
			used += (size_t)snprintf(names + used, sizeof(names) - used, "%s%u", used ? "," : "", package->os_index);
		for (unsigned n = 0; n < nodes; n++) {
			hwloc_obj_t node = hwloc_get_obj_by_depth(aml_topology, node_depth, n);
			if (node->os_index < AMLSHIM_MAX_NODES && hwloc_bitmap_isincluded(node->cpuset, package->cpuset))
				set_bit(sets->socket, node->os_index);
		}
	}
	if (!used) /* no package level (or none of ours): the machine is one */
		for (unsigned n = 0; n < nodes; n++) {
			hwloc_obj_t node = hwloc_get_obj_by_depth(aml_topology, node_depth, n);
			if (node->os_index < AMLSHIM_MAX_NODES)
				set_bit(sets->socket, node->os_index);
		}
	snprintf(sets->socket_from, sizeof(sets->socket_from), "hwloc: the nodes of package %s",
	         used ? names : "machine");
	return 0;
}

/* sysfs: CPU nodes of the same packages, then memory-only nodes attached
 * to one of them (HMAT initiators, else the nearest CPU node). */
static void socket_from_sysfs(struct amlshim_node_sets *sets, const unsigned long *cpus)
{
	unsigned long packages[1] = {0}, with_cpus[AMLSHIM_NODE_WORDS] = {0}, allowed[AMLSHIM_NODE_WORDS] = {0};
	amlshim_nodes_allowed(allowed);
	for (unsigned cpu = 0, last; aml_mask_next_run(cpus, CPU_WORDS * WORD_BITS, &cpu, &last); cpu = last + 1)
		for (unsigned c = cpu; c <= last; c++) {
			long id = aml_cpu_package(c);
			if (id >= 0 && id < (long)WORD_BITS)
				packages[0] |= 1UL << id;
		}
	amlshim_nodes_with_cpus(with_cpus);
	struct bitmask *node_cpus = numa_allocate_cpumask();
	int max = numa_max_node(), used_initiators = 0;
	for (int node = 0; node_cpus && node <= max && node < AMLSHIM_MAX_NODES; node++) {
		if (!aml_nodemask_test(with_cpus, (unsigned)node) || numa_node_to_cpus(node, node_cpus) != 0)
			continue;
		for (unsigned cpu = 0; cpu < node_cpus->size; cpu++)
			if (numa_bitmask_isbitset(node_cpus, cpu)) {
				long id = aml_cpu_package(cpu);
				if (id >= 0 && id < (long)WORD_BITS && (packages[0] >> id & 1))
					set_bit(sets->socket, (unsigned)node);
				break;
			}
	}
	if (node_cpus)
		numa_bitmask_free(node_cpus);
	for (int node = 0; node <= max && node < AMLSHIM_MAX_NODES; node++) {
		if (aml_nodemask_test(with_cpus, (unsigned)node) || !aml_nodemask_test(allowed, (unsigned)node))
			continue;
		unsigned long from[AMLSHIM_NODE_WORDS] = {0};
		if (aml_node_initiators((unsigned)node, from) > 0) {
			used_initiators = 1;
		} else { /* the nearest node with CPUs (SLIT) */
			int best = -1;
			for (int n = 0; n <= max && n < AMLSHIM_MAX_NODES; n++)
				if (aml_nodemask_test(with_cpus, (unsigned)n) &&
				    (best < 0 || (unsigned)aml_node_distance((unsigned)node, (unsigned)n) <
				                     (unsigned)aml_node_distance((unsigned)node, (unsigned)best)))
					best = n;
			if (best >= 0)
				set_bit(from, (unsigned)best);
		}
		for (size_t w = 0; w < AMLSHIM_NODE_WORDS; w++)
			if (from[w] & sets->socket[w] & with_cpus[w]) {
				set_bit(sets->socket, (unsigned)node);
				break;
			}
	}
	char ids[32];
	mask_text(packages, WORD_BITS, ids, sizeof(ids));
	snprintf(sets->socket_from, sizeof(sets->socket_from), "sysfs: package %s, memory-only nodes by %s", ids,
	         used_initiators ? "HMAT initiators" : "nearest distance");
}

void amlshim_node_sets_find(struct amlshim_node_sets *sets, unsigned what)
{
	what &= ~sets->computed;
	if (what & AMLSHIM_SETS_LOCAL)
		find_local(sets);
	if (what & AMLSHIM_SETS_SOCKET) {
		unsigned long cpus[CPU_WORDS];
		if (affinity(cpus) == 0 && socket_from_hwloc(sets, cpus) != 0)
			socket_from_sysfs(sets, cpus);
	}
	if (what & AMLSHIM_SETS_KINDS)
		amlshim_node_kinds_find(sets);
	sets->computed |= what;
}

void amlshim_node_sets_of(struct amlshim_node_sets *sets, unsigned name, unsigned long *nodes)
{
	memset(nodes, 0, AMLSHIM_NODE_WORDS * sizeof(*nodes));
	if (name == AMLSHIM_NAME_LOCAL) {
		amlshim_node_sets_find(sets, AMLSHIM_SETS_LOCAL);
		memcpy(nodes, sets->local, sizeof(sets->local));
		return;
	}
	int socket = name == AMLSHIM_NAME_SOCKET || name >= AMLSHIM_NAME_KIND_SOCKET;
	amlshim_node_sets_find(sets, AMLSHIM_SETS_KINDS | (socket ? AMLSHIM_SETS_SOCKET : 0));
	for (size_t w = 0; w < AMLSHIM_NODE_WORDS; w++) {
		if (name == AMLSHIM_NAME_SOCKET) /* GPU memory only when named */
			nodes[w] = sets->socket[w] & ~sets->kinds[AMLSHIM_KIND_GPU][w];
		else if (name >= AMLSHIM_NAME_KIND_SOCKET)
			nodes[w] = sets->socket[w] & sets->kinds[name - AMLSHIM_NAME_KIND_SOCKET][w];
		else
			nodes[w] = sets->kinds[name - AMLSHIM_NAME_KIND][w];
	}
}

int amlshim_node_sets_spread(struct amlshim_node_sets *sets, unsigned long *nodes)
{
	/* Cheap first: without CPU-less nodes there is no GPU memory node. */
	unsigned long with_cpus[AMLSHIM_NODE_WORDS] = {0}, allowed[AMLSHIM_NODE_WORDS] = {0};
	int cpu_less = 0, gpu = 0;
	amlshim_nodes_with_cpus(with_cpus);
	amlshim_nodes_allowed(allowed);
	for (size_t w = 0; w < AMLSHIM_NODE_WORDS; w++)
		cpu_less |= (allowed[w] & ~with_cpus[w]) != 0;
	/* An XML topology (HWLOC_XMLFILE) is not the machine sysfs describes. */
	int xml = getenv("HWLOC_XMLFILE") != NULL;
	if (!cpu_less && !xml)
		return -1;
	if (!xml && !(sets->computed & AMLSHIM_SETS_KINDS)) {
		/* CPU-less nodes the HMAT shows as HBM or CXL are no GPU's. */
		struct amlshim_node_sets cheap;
		memset(&cheap, 0, sizeof(cheap));
		amlshim_node_kinds_sysfs(&cheap, with_cpus);
		int unknown = 0;
		for (unsigned node = 0; node < AMLSHIM_MAX_NODES; node++)
			unknown |= aml_nodemask_test(allowed, node) && !aml_nodemask_test(with_cpus, node) &&
			           cheap.kind_from[node] != AMLSHIM_KIND_FROM_HMAT;
		if (!unknown)
			return -1;
	}
	amlshim_node_sets_find(sets, AMLSHIM_SETS_KINDS);
	for (size_t w = 0; w < AMLSHIM_NODE_WORDS; w++) {
		gpu |= sets->kinds[AMLSHIM_KIND_GPU][w] != 0;
		nodes[w] = allowed[w] & ~sets->kinds[AMLSHIM_KIND_GPU][w];
	}
	return gpu ? 0 : -1;
}

static int mask_empty(const unsigned long *mask)
{
	for (size_t w = 0; w < AMLSHIM_NODE_WORDS; w++)
		if (mask[w])
			return 0;
	return 1;
}

int amlshim_node_sets_apply(const struct amlshim_placement *placement, struct amlshim_placement *out,
                            struct amlshim_node_sets *sets, char *why, size_t why_len)
{
	struct amlshim_node_sets own;
	if (!sets) {
		memset(&own, 0, sizeof(own));
		sets = &own;
	}
	*out = *placement;
	int spreads = placement->kind == AMLSHIM_PLACE_INTERLEAVE || placement->kind == AMLSHIM_PLACE_BLOCK_INTERLEAVE;
	if (placement->all_nodes && spreads && amlshim_node_sets_spread(sets, out->nodes) == 0)
		out->all_nodes = 0;
	for (unsigned name = 0; name < AMLSHIM_NAME_COUNT; name++) {
		if (!(placement->node_names >> name & 1U))
			continue;
		unsigned long nodes[AMLSHIM_NODE_WORDS];
		amlshim_node_sets_of(sets, name, nodes);
		if (mask_empty(nodes)) {
			char from[128];
			amlshim_node_sets_source(sets, name, from, sizeof(from));
			snprintf(why, why_len, "'%s' resolved to no node (%s)", amlshim_node_name(name), from);
			return -1;
		}
		for (size_t w = 0; w < AMLSHIM_NODE_WORDS; w++)
			out->nodes[w] |= nodes[w];
	}
	if (placement->kind == AMLSHIM_PLACE_PREFERRED && placement->node_names) {
		unsigned first = 0, last;
		aml_nodemask_next_run(out->nodes, &first, &last);
		memset(out->nodes, 0, sizeof(out->nodes));
		set_bit(out->nodes, first); /* preferred takes one node: the first of the set */
	}
	return 0;
}

void amlshim_node_sets_source(const struct amlshim_node_sets *sets, unsigned name, char *buf, size_t len)
{
	if (name == AMLSHIM_NAME_LOCAL)
		snprintf(buf, len, "CPU affinity %s", sets->cpus[0] ? sets->cpus : "unknown");
	else if (name == AMLSHIM_NAME_SOCKET)
		snprintf(buf, len, "%s", sets->socket_from);
	else if (name >= AMLSHIM_NAME_KIND_SOCKET)
		snprintf(buf, len, "%s; kinds from %s", sets->socket_from, sets->kinds_from);
	else
		snprintf(buf, len, "kinds from %s", sets->kinds_from);
}
