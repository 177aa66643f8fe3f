/* hwloc "preferred" area: memory on the best node for an initiator by
 * bandwidth, latency or capacity, spilling to the next ranked nodes when
 * the best is full. The ranking (hwloc_rank.c) is made once at create time;
 * mmap reads free memory from sysfs and calls mbind only, so it neither
 * mallocs nor calls hwloc. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <aml/area/hwloc.h>
#include <aml/area/linux.h>
#include "internal.h"


/* What mmap needs per ranked node, ready to use. */
struct ranked_target {
	unsigned long mask[AML_MASK_WORDS];
	unsigned node;
};

struct preferred_area {
	struct aml_area_hwloc_preferred_data ranking; /* first: the area's data */
	struct ranked_target *targets;                /* in ranking order */
	struct aml_area_hwloc_budget budget;          /* take NULL: none */
};

static long prefer(void *addr, size_t len, const struct ranked_target *target)
{
	return aml_os_mbind(addr, len, AML_MPOL_PREFERRED, target->mask, AML_OS_MAXNODE, 0);
}

static void *preferred_mmap(const struct aml_area_data *area_data, size_t size,
                            struct aml_area_mmap_options *opts)
{
	(void)opts;
	const struct preferred_area *area = (const struct preferred_area *)area_data;
	if (!area || size == 0 || area->ranking.num_nodes == 0) {
		aml_errno = AML_EINVAL;
		return NULL;
	}
	AML_KEEP_ERRNO;
	char *ptr = aml_area_map(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!ptr)
		return NULL;
	/* One part per node, in ranking order, so the range costs at most one
	 * VMA per node used. */
	size_t page = aml_os_page_size();
	size_t len = (size + page - 1) & ~(page - 1), done = 0;
	unsigned last = 0;
	for (unsigned i = 0; i < area->ranking.num_nodes && done < len; i++) {
		/* Free memory only: a preferred allocation goes to another
		 * node before the kernel reclaims page cache for it. */
		size_t room = aml_node_room(area->targets[i].node, AML_NODE_ROOM_FREE);
		size_t part = room < len - done ? room : len - done;
		if (part && area->budget.take)
			part = area->budget.take(area->budget.ctx, area->targets[i].node, ptr + done, part, 0);
		if (part == 0)
			continue;
		if (prefer(ptr + done, part, &area->targets[i]) != 0)
			goto fail;
		done += part;
		last = i;
	}
	/* More than the nodes hold: extend the last part (its VMA merges). */
	if (done < len && area->budget.take)
		area->budget.take(area->budget.ctx, area->targets[last].node, ptr + done, len - done, 1);
	if (done < len && prefer(ptr + done, len - done, &area->targets[last]) != 0)
		goto fail;
	return ptr;
fail:
	if (area->budget.release)
		area->budget.release(area->budget.ctx, ptr, len);
	return aml_area_map_failed(ptr, size, -aml_errno_from_os(errno));
}

int aml_area_hwloc_ranked_set_budget(struct aml_area *area, const struct aml_area_hwloc_budget *budget)
{
	if (!area || !area->data || area->ops->mmap != preferred_mmap)
		return -(aml_errno = AML_EINVAL);
	struct preferred_area *data = (struct preferred_area *)area->data;
	data->budget = budget ? *budget : (struct aml_area_hwloc_budget){0};
	return AML_SUCCESS;
}

/* A budget hears what leaves (before: another mapping may land there). */
static int preferred_munmap(const struct aml_area_data *area_data, void *ptr, size_t size)
{
	const struct preferred_area *area = (const struct preferred_area *)area_data;
	if (area && area->budget.release && ptr)
		area->budget.release(area->budget.ctx, ptr, size);
	return aml_area_linux_munmap(area_data, ptr, size);
}

/* "400000 MiB/s", "130 ns", "65536 MiB", "distance 10", "local", ... */
static void format_value(const struct aml_area_hwloc_preferred_data *r, unsigned i, char *buf, size_t len)
{
	unsigned long long value = (unsigned long long)r->values[i];
	int valued = i < r->num_valued;
	int capacity = r->rank == AML_HWLOC_RANK_CAPACITY;
	if (r->source == AML_HWLOC_SOURCE_LOCALITY && !capacity)
		snprintf(buf, len, "%s", valued ? "local" : "remote");
	else if (!valued)
		snprintf(buf, len, "no value");
	else if (r->source == AML_HWLOC_SOURCE_DISTANCES)
		snprintf(buf, len, "distance %llu", value);
	else if (capacity)
		snprintf(buf, len, "%llu MiB", value >> 20);
	else if (r->rank == AML_HWLOC_RANK_BANDWIDTH)
		snprintf(buf, len, "%llu MiB/s", value);
	else
		snprintf(buf, len, "%llu ns", value);
}

static int preferred_fprintf(const struct aml_area_data *area_data, FILE *stream, const char *prefix)
{
	const struct aml_area_hwloc_preferred_data *r = (const struct aml_area_hwloc_preferred_data *)area_data;
	int go_on = aml_area_fprintf_begin(stream, &prefix, r, "area-hwloc-preferred");
	if (go_on <= 0)
		return go_on;
	fprintf(stream, "%sarea-hwloc-preferred: rank %s (source: %s, ", prefix,
	        aml_hwloc_rank_name(r->rank), aml_hwloc_rank_source_name(r->source));
	if (r->initiator_os_index >= 0)
		fprintf(stream, "initiator node %d):", r->initiator_os_index);
	else
		fprintf(stream, "no initiator node):");
	for (unsigned i = 0; i < r->num_nodes; i++) {
		char value[48];
		format_value(r, i, value, sizeof(value));
		fprintf(stream, "%s %u (%s)", i ? "," : "", r->os_index[i], value);
	}
	fputc('\n', stream);
	return AML_SUCCESS;
}

static struct aml_area_ops preferred_ops = {
	.mmap = preferred_mmap,
	.munmap = preferred_munmap, /* a plain munmap, as every mmap-based area */
	.fprintf = preferred_fprintf,
};

static hwloc_topology_t resolve_topology(hwloc_topology_t topology)
{
	if (topology)
		return topology;
	return aml_hwloc_topology_init() == AML_SUCCESS ? aml_topology : NULL;
}

int aml_area_hwloc_ranked_create_cpuset(struct aml_area **area, hwloc_topology_t topology,
                                        hwloc_const_cpuset_t initiator, const enum aml_hwloc_rank rank)
{
	if (!area)
		return -(aml_errno = AML_EINVAL);
	*area = NULL;
	if (!initiator || (unsigned)rank > AML_HWLOC_RANK_CAPACITY)
		return -(aml_errno = AML_EINVAL);
	topology = resolve_topology(topology);
	if (!topology)
		return -(aml_errno = AML_ENOTSUP);
	int count = hwloc_get_nbobjs_by_type(topology, HWLOC_OBJ_NUMANODE);
	if (count <= 0)
		return -(aml_errno = AML_ENOTSUP);
	size_t n = (size_t)count;

	/* One block: area, ops, data, then targets, values, os_index. */
	size_t extra = n * (sizeof(struct ranked_target) + sizeof(uint64_t) + sizeof(unsigned));
	struct aml_area *ret = aml_area_alloc(&preferred_ops, AML_SIZEOF_ALIGNED(struct preferred_area) + extra);
	if (!ret)
		return -(aml_errno = AML_ENOMEM);
	struct preferred_area *data = (struct preferred_area *)ret->data;
	data->targets = (struct ranked_target *)((char *)data + AML_SIZEOF_ALIGNED(struct preferred_area));
	data->ranking.values = (uint64_t *)(data->targets + n);
	data->ranking.os_index = (unsigned *)(data->ranking.values + n);
	data->budget = (struct aml_area_hwloc_budget){0};

	int err = aml_hwloc_rank_nodes(topology, initiator, rank, (unsigned)n, &data->ranking);
	for (unsigned i = 0; err == AML_SUCCESS && i < data->ranking.num_nodes; i++) {
		unsigned node = data->ranking.os_index[i];
		if (node >= AML_AREA_HWLOC_MAX_NODES) {
			err = -AML_EDOM;
			break;
		}
		data->targets[i].mask[node / AML_MASK_BITS] = 1UL << (node % AML_MASK_BITS);
		data->targets[i].node = node;
	}
	if (err != AML_SUCCESS) {
		free(ret);
		return -(aml_errno = -err);
	}
	aml_node_reserves_load();
	*area = ret;
	return AML_SUCCESS;
}

int aml_area_hwloc_ranked_create_in(struct aml_area **area, hwloc_topology_t topology,
                                    hwloc_obj_t initiator, const enum aml_hwloc_rank rank)
{
	if (!area)
		return -(aml_errno = AML_EINVAL);
	*area = NULL;
	if (!initiator)
		return -(aml_errno = AML_EINVAL);
	topology = resolve_topology(topology);
	if (!topology)
		return -(aml_errno = AML_ENOTSUP);
	/* An object of another topology would be read as garbage. */
	if (hwloc_get_obj_by_depth(topology, initiator->depth, initiator->logical_index) != initiator)
		return -(aml_errno = AML_EDOM);
	hwloc_obj_t with_cpus = initiator->cpuset ? initiator : hwloc_get_non_io_ancestor_obj(topology, initiator);
	if (!with_cpus || !with_cpus->cpuset)
		return -(aml_errno = AML_EINVAL);
	return aml_area_hwloc_ranked_create_cpuset(area, topology, with_cpus->cpuset, rank);
}

int aml_area_hwloc_ranked_create(struct aml_area **area, hwloc_obj_t initiator,
                                 const enum aml_hwloc_rank rank)
{
	return aml_area_hwloc_ranked_create_in(area, NULL, initiator, rank);
}

int aml_area_hwloc_ranked_create_node(struct aml_area **area, int initiator_node,
                                      const enum aml_hwloc_rank rank)
{
	if (!area)
		return -(aml_errno = AML_EINVAL);
	*area = NULL;
	if (aml_hwloc_topology_init() != AML_SUCCESS)
		return -(aml_errno = AML_ENOTSUP);
	hwloc_obj_t initiator = hwloc_get_root_obj(aml_topology);
	if (initiator_node >= 0) {
		hwloc_obj_t node = hwloc_get_numanode_obj_by_os_index(aml_topology, (unsigned)initiator_node);
		if (!node)
			return -(aml_errno = AML_EDOM);
		/* A memory-only node ranks as seen from the whole machine. */
		if (node->cpuset && !hwloc_bitmap_iszero(node->cpuset))
			initiator = node;
	}
	return aml_area_hwloc_ranked_create_in(area, aml_topology, initiator, rank);
}

static enum aml_hwloc_rank rank_of_kind(enum hwloc_distances_kind_e kind)
{
	return (kind & HWLOC_DISTANCES_KIND_MEANS_BANDWIDTH) ? AML_HWLOC_RANK_BANDWIDTH
	                                                     : AML_HWLOC_RANK_LATENCY;
}

int aml_area_hwloc_preferred_create(struct aml_area **area, hwloc_obj_t initiator,
                                    const enum hwloc_distances_kind_e kind)
{
	return aml_area_hwloc_ranked_create_in(area, NULL, initiator, rank_of_kind(kind));
}

int aml_area_hwloc_preferred_local_create(struct aml_area **area, const enum hwloc_distances_kind_e kind)
{
	if (!area)
		return -(aml_errno = AML_EINVAL);
	*area = NULL;
	if (aml_hwloc_topology_init() != AML_SUCCESS)
		return -(aml_errno = AML_ENOTSUP);
	hwloc_const_cpuset_t all = hwloc_topology_get_topology_cpuset(aml_topology);
	hwloc_cpuset_t where = hwloc_bitmap_alloc();
	if (!where)
		return -(aml_errno = AML_ENOMEM);
	/* A bound thread ranks from its binding; an unbound one from the CPU
	 * it runs on, rather than from the whole machine. */
	if (hwloc_get_cpubind(aml_topology, where, HWLOC_CPUBIND_THREAD) != 0 ||
	    hwloc_bitmap_isincluded(all, where)) {
		hwloc_cpuset_t last = hwloc_bitmap_alloc();
		if (last && hwloc_get_last_cpu_location(aml_topology, last, HWLOC_CPUBIND_THREAD) == 0 &&
		    !hwloc_bitmap_iszero(last))
			hwloc_bitmap_copy(where, last);
		else
			hwloc_bitmap_copy(where, all);
		hwloc_bitmap_free(last);
	}
	hwloc_bitmap_and(where, where, all);
	int err = aml_area_hwloc_ranked_create_cpuset(area, aml_topology, where,
	                                              rank_of_kind(kind));
	hwloc_bitmap_free(where);
	return err;
}

void aml_area_hwloc_preferred_destroy(struct aml_area **area)
{
	if (!area || !*area)
		return;
	free(*area);
	*area = NULL;
}
