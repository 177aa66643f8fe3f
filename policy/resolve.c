/* Placement -> area. amlshim_resolve runs once at start-up, outside any
 * shim lock, when libnuma, hwloc and libcudart may allocate freely. The
 * capability queries (amlshim_resolved_area, amlshim_resolved_fits) run
 * inside malloc and realloc, on every large allocation: they must neither
 * allocate nor lock. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <numa.h>

#include <aml/area/block.h>
#include <aml/area/cuda.h>
#include <aml/area/hwloc.h>
#include <aml/area/linux.h>
#include <aml/area/weighted.h>
#include <aml/utils/nodemask.h>
#include "external_hwloc.h"
#include "internal.h"
#include "node_sets.h"
#include "resolve.h"

int amlshim_check_nodes(const struct amlshim_placement *placement, char *why, size_t why_len)
{
	if (placement->all_nodes)
		return 0;
	struct bitmask *allowed = numa_get_mems_allowed();
	int ret = 0;
	for (unsigned node = 0; node < AMLSHIM_MAX_NODES && ret == 0; node++) {
		if (!aml_nodemask_test(placement->nodes, node))
			continue;
		if (!allowed || node >= allowed->size || !numa_bitmask_isbitset(allowed, node)) {
			char list[128] = "";
			size_t used = 0;
			for (unsigned n = 0; allowed && n < allowed->size && used + 8 < sizeof(list); n++)
				if (numa_bitmask_isbitset(allowed, n))
					used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%u", used ? "," : "", n);
			snprintf(why, why_len, "node %u is not available to this process (allowed: %s)", node, list);
			ret = -1;
		}
	}
	if (allowed)
		numa_bitmask_free(allowed);
	return ret;
}

int amlshim_resolve_nodes(const struct amlshim_placement *placement, struct amlshim_placement *out,
                          char *why, size_t why_len)
{
	if (amlshim_node_sets_apply(placement, out, NULL, why, why_len) != 0)
		return -1;
	return amlshim_check_nodes(out, why, why_len);
}

static struct bitmask *mask_of(const struct amlshim_placement *placement)
{
	if (placement->all_nodes)
		return NULL;
	struct bitmask *mask = numa_allocate_nodemask();
	for (unsigned node = 0; mask && node < AMLSHIM_MAX_NODES && node < mask->size; node++)
		if (aml_nodemask_test(placement->nodes, node))
			numa_bitmask_setbit(mask, node);
	return mask;
}

int amlshim_cpu_nodes(int *nodes, int max)
{
	int count = 0, last = numa_max_node();
	struct bitmask *cpus = numa_allocate_cpumask();
	for (int node = 0; cpus && node <= last && count < max; node++) {
		if (numa_node_to_cpus(node, cpus) == 0 && numa_bitmask_weight(cpus) > 0)
			nodes[count++] = node;
	}
	if (cpus)
		numa_bitmask_free(cpus);
	return count;
}

static int linux_area(const struct amlshim_placement *placement, enum aml_area_linux_policy policy,
                      struct amlshim_resolved *out, char *why, size_t why_len)
{
	struct bitmask *mask = mask_of(placement);
	int err = aml_area_linux_create(&out->area, mask, policy);
	if (mask)
		numa_bitmask_free(mask);
	if (err != AML_SUCCESS)
		snprintf(why, why_len, "%s", aml_strerror(err));
	out->can_remap = 1;
	out->bound = policy == AML_AREA_LINUX_POLICY_BIND; /* the others never refuse */
	return err == AML_SUCCESS ? 0 : -1;
}

/* A ranking that failed for want of a topology: in the shim, hwloc is
 * opened at its first use (shim/hwloc_loader.c), so the reason may be that
 * there is no libhwloc to open. */
static const char *no_topology_reason(void)
{
	void *lib = dlopen(AML_HWLOC_SONAME, RTLD_LAZY | RTLD_NOLOAD);
	if (!lib)
		return AML_HWLOC_SONAME " (needed for hwloc rankings) cannot be loaded";
	dlclose(lib);
	return "the hwloc topology cannot be loaded";
}

static int ranked_area(const struct amlshim_placement *placement, int initiator_node,
                       struct amlshim_resolved *out, char *why, size_t why_len)
{
	enum aml_hwloc_rank rank = placement->kind == AMLSHIM_PLACE_BANDWIDTH ? AML_HWLOC_RANK_BANDWIDTH
	                           : placement->kind == AMLSHIM_PLACE_LATENCY ? AML_HWLOC_RANK_LATENCY
	                                                                      : AML_HWLOC_RANK_CAPACITY;
	int err = aml_area_hwloc_ranked_create_node(&out->area, initiator_node, rank);
	if (err == -AML_ENOTSUP) {
		snprintf(why, why_len, "%s", no_topology_reason());
		return -1;
	}
	if (err != AML_SUCCESS) {
		snprintf(why, why_len, "no ranking from node %d: %s", initiator_node, aml_strerror(err));
		return -1;
	}
	const struct aml_area_hwloc_preferred_data *data =
		(const struct aml_area_hwloc_preferred_data *)out->area->data;
	snprintf(out->source, sizeof(out->source), "%s", aml_hwloc_rank_source_name(data->source));
	out->can_remap = 1;
	out->per_node = rank != AML_HWLOC_RANK_CAPACITY;
	return 0;
}

static int cuda_area(const struct amlshim_placement *placement, struct amlshim_resolved *out,
                     char *why, size_t why_len)
{
	int err = placement->kind == AMLSHIM_PLACE_CUDA_MAPPED
	                  ? aml_area_cuda_mapped_create(&out->area, placement->device, NULL)
	                  : aml_area_cuda_create(&out->area, placement->device, AML_AREA_CUDA_FLAG_ALLOC_UNIFIED);
	if (err != AML_SUCCESS) {
		if (err == -AML_ENOTSUP)
			snprintf(why, why_len, "no usable CUDA device");
		else if (err == -AML_EDOM)
			snprintf(why, why_len, "CUDA device %d does not exist", placement->device);
		else
			snprintf(why, why_len, "CUDA: %s", aml_strerror(err));
		return -1;
	}
	out->is_cuda = 1;
	/* Managed memory's pages are not placed on NUMA nodes move_pages knows. */
	out->can_sample = placement->kind != AMLSHIM_PLACE_CUDA_MANAGED;
	return 0;
}

_Static_assert(AMLSHIM_MAX_WEIGHTS == AML_AREA_WEIGHTED_MAX_NODES && AMLSHIM_MAX_WEIGHT == AML_AREA_WEIGHTED_MAX_WEIGHT,
               "a parsed weight list fits the area");
/* Auto weights: each node's bandwidth as a share of the best, 1 to this. */
#define AUTO_MAX_WEIGHT 16

/* weighted-interleave's auto weights: the HMAT bandwidth from
 * initiator_node to each node of the set (over all nodes: those of them
 * with a value), as small integers; nodes[] in ranking order (the area
 * sorts them). */
static int auto_weights(const struct amlshim_placement *placement, int initiator_node, int *nodes,
                        unsigned *weights, int *count, char *why, size_t why_len)
{
	struct aml_area *ranked;
	int err = aml_area_hwloc_ranked_create_node(&ranked, initiator_node, AML_HWLOC_RANK_BANDWIDTH);
	if (err != AML_SUCCESS) {
		snprintf(why, why_len, "no bandwidth from node %d: %s", initiator_node,
		         err == -AML_ENOTSUP ? no_topology_reason() : aml_strerror(err));
		return -1;
	}
	const struct aml_area_hwloc_preferred_data *r = (const struct aml_area_hwloc_preferred_data *)ranked->data;
	struct bitmask *allowed = placement->all_nodes ? numa_get_mems_allowed() : NULL;
	/* Over all nodes, like a default interleave: GPU memory left out. */
	unsigned long spread[AMLSHIM_NODE_WORDS];
	struct amlshim_node_sets sets;
	memset(&sets, 0, sizeof(sets));
	int leave_gpu = placement->all_nodes && amlshim_node_sets_spread(&sets, spread) == 0;
	uint64_t values[AMLSHIM_MAX_WEIGHTS];
	int ret = 0, want = 0;
	for (unsigned w = 0; w < AMLSHIM_NODE_WORDS; w++)
		want += __builtin_popcountl(placement->nodes[w]);
	*count = 0;
	if (r->source != AML_HWLOC_SOURCE_MEMATTR) {
		snprintf(why, why_len, "no HMAT bandwidth from node %d (only %s)", initiator_node,
		         aml_hwloc_rank_source_name(r->source));
		ret = -1;
	}
	for (unsigned i = 0; ret == 0 && i < r->num_nodes; i++) {
		unsigned node = r->os_index[i];
		if (placement->all_nodes ? !allowed || !numa_bitmask_isbitset(allowed, node)
		                         : !aml_nodemask_test(placement->nodes, node))
			continue;
		if (leave_gpu && !aml_nodemask_test(spread, node))
			continue;
		if (i >= r->num_valued && placement->all_nodes)
			continue; /* over all nodes, those with a value */
		if (i >= r->num_valued || *count == AMLSHIM_MAX_WEIGHTS) {
			snprintf(why, why_len, i >= r->num_valued ? "no HMAT bandwidth from node %d to node %u"
			                                          : "more than 16 nodes from node %d (at %u)",
			         initiator_node, node);
			ret = -1;
			break;
		}
		nodes[*count] = (int)node;
		values[(*count)++] = r->values[i];
	}
	if (ret == 0 && (*count == 0 || (!placement->all_nodes && *count != want))) {
		snprintf(why, why_len, "no HMAT bandwidth from node %d to the nodes asked for", initiator_node);
		ret = -1;
	}
	if (ret == 0)
		aml_area_weighted_from_values(values, *count, AUTO_MAX_WEIGHT, weights);
	if (allowed)
		numa_bitmask_free(allowed);
	aml_area_hwloc_preferred_destroy(&ranked);
	return ret;
}

/* weighted-interleave: the weights given, or auto from initiator_node. */
static int weighted_area(const struct amlshim_placement *placement, int initiator_node,
                         struct amlshim_resolved *out, char *why, size_t why_len)
{
	int nodes[AMLSHIM_MAX_WEIGHTS], count = 0;
	unsigned weights[AMLSHIM_MAX_WEIGHTS];
	char source[48] = "given";
	if (placement->weights[0]) {
		for (unsigned node = 0; node < AMLSHIM_MAX_NODES && count < AMLSHIM_MAX_WEIGHTS; node++)
			if (aml_nodemask_test(placement->nodes, node)) {
				nodes[count] = (int)node;
				weights[count] = placement->weights[count];
				count++;
			}
	} else {
		if (auto_weights(placement, initiator_node, nodes, weights, &count, why, why_len) != 0)
			return -1;
		snprintf(source, sizeof(source), "HMAT bandwidth from node %d", initiator_node);
		out->per_node = 1;
	}
	int err = aml_area_weighted_create(&out->area, nodes, weights, count, 0, source, 0);
	if (err != AML_SUCCESS) {
		snprintf(why, why_len, "%s", aml_strerror(err));
		return -1;
	}
	snprintf(out->source, sizeof(out->source), "%s", source);
	/* User-space placement populates each allocation from its first page. */
	out->populates = aml_area_weighted_mechanism(out->area) == AML_AREA_WEIGHTED_USER;
	return 0;
}

/* A ranking's first node, for users that want one node (small objects). */
static void note_best_node(struct amlshim_resolved *out)
{
	const struct aml_area_hwloc_preferred_data *ranking =
		(const struct aml_area_hwloc_preferred_data *)out->area->data;
	out->best_node = ranking->num_nodes ? (int)ranking->os_index[0] : -1;
}

void amlshim_resolved_default(struct amlshim_resolved *out)
{
	memset(out, 0, sizeof(*out));
	out->can_remap = 1;
	out->can_sample = 1;
	out->best_node = -1;
}

struct aml_area *amlshim_resolved_area(const struct amlshim_resolved *resolved)
{
	return resolved->area ? resolved->area : &aml_area_linux;
}

int amlshim_resolved_fits(const struct amlshim_resolved *resolved, size_t bytes)
{
	/* Only a Linux area can bind here (fits says yes to its other policies). */
	if (!resolved->bound || !resolved->area)
		return 1;
	return aml_area_linux_fits((const struct aml_area_linux_data *)resolved->area->data, bytes);
}

int amlshim_resolve(const struct amlshim_placement *placement, int initiator_node,
                    struct amlshim_resolved *out, char *why, size_t why_len)
{
	amlshim_resolved_default(out);
	out->can_remap = 0; /* each area below says whether mremap keeps its placement */
	why[0] = '\0';
	/* Node set names ("socket") become this process's node numbers. */
	struct amlshim_placement named;
	if (amlshim_node_sets_apply(placement, &named, NULL, why, why_len) != 0)
		return -1;
	placement = &named;
	if (!named.all_nodes) {
		struct amlshim_text text;
		amlshim_text_init(&text, out->node_set, sizeof(out->node_set));
		amlshim_text_nodes(&text, named.nodes);
		amlshim_text_ellipsize(&text);
	}
	if (amlshim_check_nodes(placement, why, why_len) != 0)
		return -1;
	switch (placement->kind) {
	case AMLSHIM_PLACE_DEFAULT:
		out->can_remap = 1;
		return 0;
	case AMLSHIM_PLACE_LOCAL:
		return linux_area(placement, AML_AREA_LINUX_POLICY_LOCAL, out, why, why_len);
	case AMLSHIM_PLACE_BIND:
		return linux_area(placement, AML_AREA_LINUX_POLICY_BIND, out, why, why_len);
	case AMLSHIM_PLACE_PREFERRED:
		return linux_area(placement, AML_AREA_LINUX_POLICY_PREFERRED, out, why, why_len);
	case AMLSHIM_PLACE_INTERLEAVE:
		return linux_area(placement, AML_AREA_LINUX_POLICY_INTERLEAVE, out, why, why_len);
	case AMLSHIM_PLACE_BLOCK_INTERLEAVE: {
		struct bitmask *mask = mask_of(placement);
		int err = aml_area_block_create(&out->area, placement->block_size, mask);
		if (mask)
			numa_bitmask_free(mask);
		if (err != AML_SUCCESS) {
			snprintf(why, why_len, "%s", aml_strerror(err));
			return -1;
		}
		/* The area says whether it places lazily (one node, THP-sized
		 * blocks) or by populating the whole allocation. */
		out->populates = aml_area_block_placement(out->area) == AML_AREA_BLOCK_EAGER;
		return 0;
	}
	case AMLSHIM_PLACE_BANDWIDTH:
	case AMLSHIM_PLACE_LATENCY:
	case AMLSHIM_PLACE_CAPACITY:
		if (ranked_area(placement, initiator_node, out, why, why_len) != 0)
			return -1;
		note_best_node(out);
		return 0;
	case AMLSHIM_PLACE_CUDA_MAPPED:
	case AMLSHIM_PLACE_CUDA_MANAGED:
		return cuda_area(placement, out, why, why_len);
	case AMLSHIM_PLACE_WEIGHTED_INTERLEAVE:
		return weighted_area(placement, initiator_node, out, why, why_len);
	default:
		snprintf(why, why_len, "unknown placement");
		return -1;
	}
}

void amlshim_resolved_destroy(const struct amlshim_placement *placement, struct amlshim_resolved *resolved)
{
	if (!resolved->area)
		return;
	switch (placement->kind) {
	case AMLSHIM_PLACE_BLOCK_INTERLEAVE: aml_area_block_destroy(&resolved->area); break;
	case AMLSHIM_PLACE_BANDWIDTH:
	case AMLSHIM_PLACE_LATENCY:
	case AMLSHIM_PLACE_CAPACITY: aml_area_hwloc_preferred_destroy(&resolved->area); break;
	case AMLSHIM_PLACE_CUDA_MAPPED:
	case AMLSHIM_PLACE_CUDA_MANAGED: aml_area_cuda_destroy(&resolved->area); break;
	case AMLSHIM_PLACE_WEIGHTED_INTERLEAVE: aml_area_weighted_destroy(&resolved->area); break;
	default: aml_area_linux_destroy(&resolved->area); break;
	}
}

int amlshim_resolved_weights(const struct amlshim_resolved *resolved, int *nodes, unsigned *weights, int max,
                             int *kernel)
{
	int mechanism = resolved->area ? aml_area_weighted_mechanism(resolved->area) : -1;
	if (mechanism < 0)
		return 0;
	const struct aml_area_weighted_data *data = (const struct aml_area_weighted_data *)resolved->area->data;
	int count = data->num_nodes < max ? data->num_nodes : max;
	memcpy(nodes, data->nodes, (size_t)count * sizeof(*nodes));
	memcpy(weights, data->weights, (size_t)count * sizeof(*weights));
	*kernel = mechanism == AML_AREA_WEIGHTED_KERNEL;
	return count;
}

void amlshim_describe_area(const struct aml_area *area, char *buf, size_t len)
{
	buf[0] = '\0';
	FILE *out = fmemopen(buf, len, "w");
	if (!out)
		return;
	aml_area_fprintf(out, "", area ? area : &aml_area_linux);
	fclose(out);
	buf[len - 1] = '\0';
	/* One line: the first line, without its newline. */
	char *newline = strchr(buf, '\n');
	if (newline)
		*newline = '\0';
}
