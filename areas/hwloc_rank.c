/* Ranking of NUMA nodes seen from an initiator cpuset by bandwidth, latency
 * or capacity: hwloc memory attributes first, then a distance matrix, then
 * locality (see <aml/area/hwloc.h> for the rules). Runs at create time, so
 * it may call hwloc and malloc freely. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <aml/area/hwloc.h>
#include "internal.h"

/* Everything known about one node, for sorting. */
struct node_facts {
	hwloc_obj_t obj;
	int local;          /* its cpuset meets the initiator's */
	int weight;         /* PUs in its cpuset: fewer is more local */
	int has_attr;
	uint64_t attr;      /* memory attribute value */
	int has_dist;
	uint64_t dist;      /* distance from the initiator's node */
	uint64_t capacity;  /* local_memory, for capacity without attribute */
};

struct sort_keys {
	enum aml_hwloc_rank_source source;
	int capacity_fallback;  /* LOCALITY source, capacity rank */
	int attr_higher_first;
	int dist_higher_first;  /* bandwidth matrices */
};

static const char *const rank_names[] = {
	[AML_HWLOC_RANK_BANDWIDTH] = "bandwidth",
	[AML_HWLOC_RANK_LATENCY] = "latency",
	[AML_HWLOC_RANK_CAPACITY] = "capacity",
};

static const char *const source_names[] = {
	[AML_HWLOC_SOURCE_MEMATTR] = "memory attributes",
	[AML_HWLOC_SOURCE_DISTANCES] = "distances",
	[AML_HWLOC_SOURCE_LOCALITY] = "locality",
};

const char *aml_hwloc_rank_name(enum aml_hwloc_rank rank)
{
	return AML_NAME_OF(rank_names, rank, "unknown");
}

const char *aml_hwloc_rank_source_name(enum aml_hwloc_rank_source source)
{
	return AML_NAME_OF(source_names, source, "unknown");
}

/* -1 when a ranks before b by the value, 1 after, 0 tie. */
static int by_value(uint64_t a, uint64_t b, int higher_first)
{
	if (a == b)
		return 0;
	return (a > b) == !!higher_first ? -1 : 1;
}

/* Nodes with a value before those without, then by the values. */
static int by_optional(int has_a, uint64_t a, int has_b, uint64_t b, int higher_first)
{
	if (has_a != has_b)
		return has_a ? -1 : 1;
	return has_a ? by_value(a, b, higher_first) : 0;
}

static int compare_nodes(const void *pa, const void *pb, void *pkeys)
{
	const struct node_facts *a = pa, *b = pb;
	const struct sort_keys *keys = pkeys;
	int order = 0;
	if (keys->source == AML_HWLOC_SOURCE_MEMATTR)
		order = by_optional(a->has_attr, a->attr, b->has_attr, b->attr, keys->attr_higher_first);
	else if (keys->capacity_fallback)
		order = by_optional(a->capacity != 0, a->capacity, b->capacity != 0, b->capacity, 1);
	if (!order)
		order = by_optional(a->has_dist, a->dist, b->has_dist, b->dist, keys->dist_higher_first);
	if (!order && a->local != b->local)
		order = a->local ? -1 : 1;
	if (!order && a->local)
		order = by_value((uint64_t)a->weight, (uint64_t)b->weight, 0);
	if (!order)
		order = by_value(a->obj->os_index, b->obj->os_index, 0);
	return order;
}

/* The value of attr for node from initiator: the value hwloc has for an
 * initiator that includes ours, else the mean over our PUs when each has
 * one. 0 = no value (no attribute reports a meaningful 0). */
static uint64_t attribute_value(hwloc_topology_t topology, hwloc_memattr_id_t attr, int need_initiator,
                                hwloc_obj_t node, hwloc_const_cpuset_t initiator, hwloc_bitmap_t scratch)
{
	hwloc_uint64_t value = 0;
	if (!need_initiator)
		return hwloc_memattr_get_value(topology, attr, node, NULL, 0, &value) == 0 ? value : 0;
	struct hwloc_location where = {.type = HWLOC_LOCATION_TYPE_CPUSET};
	where.location.cpuset = (hwloc_cpuset_t)initiator;
	if (hwloc_memattr_get_value(topology, attr, node, &where, 0, &value) == 0)
		return value;
	/* Our cpuset spans several recorded initiators (or is bigger than
	 * any): ask per PU. */
	where.location.cpuset = scratch;
	uint64_t sum = 0, count = 0;
	int pu;
	hwloc_bitmap_foreach_begin(pu, initiator) {
		hwloc_bitmap_only(scratch, (unsigned)pu);
		if (hwloc_memattr_get_value(topology, attr, node, &where, 0, &value) != 0 || value == 0)
			return 0;
		sum += value;
		count++;
	}
	hwloc_bitmap_foreach_end();
	return count ? (sum + count / 2) / count : 0;
}

/* The initiator's own node: of the nodes local to it, the most local one
 * (smallest cpuset), then the lowest os_index. -1 when none. */
static int initiator_node(const struct node_facts *facts, int num_nodes)
{
	int best = -1;
	for (int i = 0; i < num_nodes; i++) {
		if (!facts[i].local)
			continue;
		if (best < 0 || facts[i].weight < facts[best].weight ||
		    (facts[i].weight == facts[best].weight &&
		     facts[i].obj->os_index < facts[best].obj->os_index))
			best = i;
	}
	return best;
}

/* Fills has_dist/dist from the initiator node's row of a NUMA distance
 * matrix: for bandwidth, a bandwidth matrix if there is one; otherwise
 * latency-like ones. Returns whether the matrix means bandwidth. */
static int read_distances(hwloc_topology_t topology, enum aml_hwloc_rank rank, hwloc_obj_t from,
                          struct node_facts *facts, int num_nodes)
{
	enum { MAX_MATRICES = 16 };
	struct hwloc_distances_s *matrices[MAX_MATRICES];
	unsigned count = MAX_MATRICES;
	if (!from || hwloc_distances_get_by_type(topology, HWLOC_OBJ_NUMANODE, &count, matrices, 0, 0) != 0)
		return 0;
	if (count > MAX_MATRICES)
		count = MAX_MATRICES;
	const unsigned long want = rank == AML_HWLOC_RANK_BANDWIDTH ? HWLOC_DISTANCES_KIND_MEANS_BANDWIDTH
	                                                            : HWLOC_DISTANCES_KIND_MEANS_LATENCY;
	struct hwloc_distances_s *chosen = NULL;
	unsigned row = 0;
	for (int pass = 0; pass < 2 && !chosen; pass++) {
		for (unsigned m = 0; m < count && !chosen; m++) {
			int wanted_kind = (matrices[m]->kind & want) != 0;
			if (pass == 0 ? !wanted_kind : wanted_kind)
				continue;
			for (unsigned i = 0; i < matrices[m]->nbobjs; i++)
				if (matrices[m]->objs[i] == from) {
					chosen = matrices[m];
					row = i;
				}
		}
	}
	int bandwidth = 0;
	if (chosen) {
		bandwidth = (chosen->kind & HWLOC_DISTANCES_KIND_MEANS_BANDWIDTH) != 0;
		for (unsigned j = 0; j < chosen->nbobjs; j++)
			for (int n = 0; n < num_nodes; n++)
				if (facts[n].obj == chosen->objs[j]) {
					facts[n].dist = chosen->values[row * chosen->nbobjs + j];
					facts[n].has_dist = 1;
				}
	}
	for (unsigned m = 0; m < count; m++)
		hwloc_distances_release(topology, matrices[m]);
	return bandwidth;
}

static hwloc_memattr_id_t attribute_of(enum aml_hwloc_rank rank)
{
	switch (rank) {
	case AML_HWLOC_RANK_BANDWIDTH: return HWLOC_MEMATTR_ID_BANDWIDTH;
	case AML_HWLOC_RANK_LATENCY: return HWLOC_MEMATTR_ID_LATENCY;
	default: return HWLOC_MEMATTR_ID_CAPACITY;
	}
}

int aml_hwloc_rank_nodes(hwloc_topology_t topology, hwloc_const_cpuset_t initiator,
                         enum aml_hwloc_rank rank, unsigned max_nodes,
                         struct aml_area_hwloc_preferred_data *ranking)
{
	if (!initiator || !ranking || !ranking->os_index || !ranking->values ||
	    (unsigned)rank > AML_HWLOC_RANK_CAPACITY)
		return -(aml_errno = AML_EINVAL);
	if (!topology) {
		if (aml_hwloc_topology_init() != AML_SUCCESS)
			return -(aml_errno = AML_ENOTSUP);
		topology = aml_topology;
	}
	if (hwloc_bitmap_iszero(initiator))
		return -(aml_errno = AML_EINVAL);
	if (!hwloc_bitmap_isincluded(initiator, hwloc_topology_get_topology_cpuset(topology)))
		return -(aml_errno = AML_EDOM);
	int num_nodes = hwloc_get_nbobjs_by_type(topology, HWLOC_OBJ_NUMANODE);
	if (num_nodes <= 0)
		return -(aml_errno = AML_ENOTSUP);
	if ((unsigned)num_nodes > max_nodes)
		return -(aml_errno = AML_EINVAL);

	struct node_facts *facts = calloc((size_t)num_nodes, sizeof(*facts));
	hwloc_bitmap_t scratch = hwloc_bitmap_alloc();
	if (!facts || !scratch) {
		free(facts);
		hwloc_bitmap_free(scratch);
		return -(aml_errno = AML_ENOMEM);
	}
	hwloc_memattr_id_t attr = attribute_of(rank);
	unsigned long attr_flags = 0;
	hwloc_memattr_get_flags(topology, attr, &attr_flags);
	int need_initiator = (attr_flags & HWLOC_MEMATTR_FLAG_NEED_INITIATOR) != 0;
	int num_attr = 0;
	for (int i = 0; i < num_nodes; i++) {
		struct node_facts *f = &facts[i];
		f->obj = hwloc_get_obj_by_type(topology, HWLOC_OBJ_NUMANODE, (unsigned)i);
		f->local = f->obj->cpuset && hwloc_bitmap_intersects(f->obj->cpuset, initiator);
		f->weight = f->obj->cpuset ? hwloc_bitmap_weight(f->obj->cpuset) : 0;
		f->capacity = f->obj->attr ? f->obj->attr->numanode.local_memory : 0;
		f->attr = attribute_value(topology, attr, need_initiator, f->obj, initiator, scratch);
		f->has_attr = f->attr != 0;
		num_attr += f->has_attr;
	}
	hwloc_bitmap_free(scratch);

	int from = initiator_node(facts, num_nodes);
	struct sort_keys keys = {
		.attr_higher_first = (attr_flags & HWLOC_MEMATTR_FLAG_HIGHER_FIRST) != 0,
		.dist_higher_first = read_distances(topology, rank, from >= 0 ? facts[from].obj : NULL,
		                                    facts, num_nodes),
	};
	int num_dist = 0;
	for (int i = 0; i < num_nodes; i++)
		num_dist += facts[i].has_dist;
	if (num_attr > 0)
		keys.source = AML_HWLOC_SOURCE_MEMATTR;
	else if (num_dist > 0 && rank != AML_HWLOC_RANK_CAPACITY)
		keys.source = AML_HWLOC_SOURCE_DISTANCES;
	else
		keys.source = AML_HWLOC_SOURCE_LOCALITY;
	keys.capacity_fallback = keys.source == AML_HWLOC_SOURCE_LOCALITY && rank == AML_HWLOC_RANK_CAPACITY;
	/* Read before qsort moves the entries. */
	int from_os_index = from >= 0 ? (int)facts[from].obj->os_index : -1;
	qsort_r(facts, (size_t)num_nodes, sizeof(*facts), compare_nodes, &keys);

	ranking->rank = rank;
	ranking->source = keys.source;
	ranking->initiator_os_index = from_os_index;
	ranking->num_nodes = (unsigned)num_nodes;
	ranking->num_valued = 0;
	for (int i = 0; i < num_nodes; i++) {
		const struct node_facts *f = &facts[i];
		int valued;
		uint64_t value;
		switch (keys.source) {
		case AML_HWLOC_SOURCE_MEMATTR: valued = f->has_attr; value = f->attr; break;
		case AML_HWLOC_SOURCE_DISTANCES: valued = f->has_dist; value = f->dist; break;
		default:
			valued = keys.capacity_fallback ? f->capacity != 0 : f->local;
			value = keys.capacity_fallback ? f->capacity : 0;
			break;
		}
		ranking->os_index[i] = f->obj->os_index;
		ranking->values[i] = value;
		ranking->num_valued += (unsigned)valued;
	}
	free(facts);
	return AML_SUCCESS;
}
