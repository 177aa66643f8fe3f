/* The fast memory of `amlshim advise --fast=...`: NODES as given, or
 * `bandwidth` (the node ranked first by bandwidth from the node of the CPU
 * this command runs on, by libaml's ranking: HMAT attributes, else hwloc
 * distances, else locality, as --explain shows), or `hbm` (the first node
 * of that ranking without CPUs of its own); and its size from hwloc (the
 * kernel's per-node MemTotal), for the default capacity. */
#define _GNU_SOURCE
#include <numa.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <aml.h>
#include <aml/area/hwloc.h>
#include "advise.h"

/* Whether the kernel lists CPUs of the node's own (hwloc gives a
 * memory-only node its parent's cpuset). */
static int node_has_cpus(unsigned node)
{
	struct bitmask *cpus = numa_allocate_cpumask();
	int any = cpus && numa_node_to_cpus((int)node, cpus) == 0 && numa_bitmask_weight(cpus) > 0;
	if (cpus)
		numa_bitmask_free(cpus);
	return any;
}

static hwloc_obj_t node_obj(unsigned os_index)
{
	return aml_topology ? hwloc_get_numanode_obj_by_os_index(aml_topology, os_index) : NULL;
}

/* The bandwidth ranking from this CPU's node into ranking (os_index[]
 * sized by the caller). 0, or -1 with a reason. */
static int rank_here(struct aml_area_hwloc_preferred_data *ranking, unsigned max, char *why, size_t why_len)
{
	int cpu = sched_getcpu();
	int node = cpu >= 0 ? numa_node_of_cpu(cpu) : -1;
	hwloc_obj_t local = node >= 0 ? node_obj((unsigned)node) : NULL;
	if (!local || !local->cpuset) {
		snprintf(why, why_len, "cannot tell the NUMA node of this CPU (%d)", cpu);
		return -1;
	}
	int err = aml_hwloc_rank_nodes(aml_topology, local->cpuset, AML_HWLOC_RANK_BANDWIDTH, max, ranking);
	if (err != 0 || ranking->num_nodes == 0) {
		snprintf(why, why_len, "no bandwidth ranking here: %s", aml_strerror(err));
		return -1;
	}
	snprintf(why, why_len, "node %d, this CPU's, ranks by %s", node, aml_hwloc_rank_source_name(ranking->source));
	return 0;
}

static int by_ranking(const char *spec, struct fast_nodes *fast, char *why, size_t why_len)
{
	int n = aml_topology ? hwloc_get_nbobjs_by_type(aml_topology, HWLOC_OBJ_NUMANODE) : 0;
	if (n <= 0) {
		snprintf(why, why_len, "--fast=%s: no hwloc topology here; name the nodes (--fast=NODES)", spec);
		return -1;
	}
	unsigned *os_index = calloc((size_t)n, sizeof(*os_index));
	uint64_t *values = calloc((size_t)n, sizeof(*values));
	struct aml_area_hwloc_preferred_data ranking = {.os_index = os_index, .values = values};
	char how[200];
	int found = -1;
	if (os_index && values && rank_here(&ranking, (unsigned)n, how, sizeof(how)) == 0) {
		for (unsigned r = 0; r < ranking.num_nodes && found < 0; r++) {
			if (strcmp(spec, "bandwidth") == 0 || !node_has_cpus(ranking.os_index[r]))
				found = (int)ranking.os_index[r];
		}
		if (found < 0)
			snprintf(why, why_len, "--fast=hbm: no node without CPUs in the bandwidth ranking here (%s)", how);
		else
			snprintf(fast->how, sizeof(fast->how), "%s: the %s node by bandwidth (%s)",
			         spec, strcmp(spec, "hbm") == 0 ? "first CPU-less" : "best", how);
	} else if (os_index && values) {
		snprintf(why, why_len, "--fast=%s: %s", spec, how);
	} else {
		snprintf(why, why_len, "out of memory");
	}
	free(os_index);
	free(values);
	if (found < 0)
		return -1;
	fast->nodes[found / (8 * sizeof(long))] |= 1ul << (found % (8 * sizeof(long)));
	return 0;
}

/* "0-3" of this machine's memory nodes, into buf. */
static const char *machine_nodes(char *buf, size_t len)
{
	size_t used = 0;
	buf[0] = '\0';
	for (int n = 0, first = -1; n <= numa_max_node() + 1 && used < len; n++) {
		int here = n <= numa_max_node() && numa_bitmask_isbitset(numa_all_nodes_ptr, (unsigned)n);
		if (here && first < 0)
			first = n;
		if (!here && first >= 0) {
			used += (size_t)snprintf(buf + used, len - used, used ? ",%d" : "%d", first);
			if (n - 1 > first && used < len)
				used += (size_t)snprintf(buf + used, len - used, "-%d", n - 1);
			first = -1;
		}
	}
	return buf;
}

int advise_resolve_fast(const char *spec, struct fast_nodes *fast, char *why, size_t why_len)
{
	memset(fast, 0, sizeof(*fast));
	aml_init(NULL, NULL);
	char machine[128];
	int by_name = strcmp(spec, "bandwidth") == 0 || strcmp(spec, "hbm") == 0;
	if (by_name) {
		if (by_ranking(spec, fast, why, why_len) != 0)
			return -1;
	} else {
		int all = 0;
		if (amlshim_parse_nodes(spec, fast->nodes, &all) != 0 || all) {
			snprintf(why, why_len, "--fast=%s: not node numbers like 2 or 2-3, nor hbm or bandwidth", spec);
			return -1;
		}
		snprintf(fast->how, sizeof(fast->how), "--fast=%s", spec);
	}
	size_t len = 0;
	fast->text[0] = '\0';
	fast->size_known = 1;
	for (unsigned i = 0; i < AMLSHIM_MAX_NODES; i++) {
		if (!(fast->nodes[i / (8 * sizeof(long))] >> (i % (8 * sizeof(long))) & 1))
			continue;
		hwloc_obj_t obj = node_obj(i);
		if (!by_name && numa_available() >= 0 && !numa_bitmask_isbitset(numa_all_nodes_ptr, i))
			fprintf(stderr,
			        "amlshim advise: warning: --fast=%s: node %u is not on this machine (its nodes: %s); "
			        "the rules name it for the machine the program runs on\n",
			        spec, i, machine_nodes(machine, sizeof(machine)));
		if (obj && obj->attr)
			fast->bytes += obj->attr->numanode.local_memory;
		else
			fast->size_known = 0;
		if (fast->count++ == 0)
			fast->first = (int)i;
		len += (size_t)snprintf(fast->text + len, sizeof(fast->text) - len, "%s%u", len ? "," : "", i);
		if (len >= sizeof(fast->text)) {
			snprintf(why, why_len, "--fast=%s: too many nodes", spec);
			return -1;
		}
	}
	return 0;
}
