/* hwloc area: a hwloc nodeset and membind policy, applied with one raw
 * mbind per mapping. The nodeset is turned into a kernel mask (by os_index)
 * when the area is made, so mmap never calls hwloc, which would malloc:
 * the area stays usable from allocator hooks. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>

#include <aml/area/hwloc.h>
#include <aml/area/linux.h>
#include "internal.h"

static const char *policy_name(hwloc_membind_policy_t policy)
{
	switch (policy) {
	case HWLOC_MEMBIND_DEFAULT: return "default";
	case HWLOC_MEMBIND_FIRSTTOUCH: return "firsttouch";
	case HWLOC_MEMBIND_BIND: return "bind";
	case HWLOC_MEMBIND_INTERLEAVE: return "interleave";
	case HWLOC_MEMBIND_NEXTTOUCH: return "nexttouch";
	default: return "unknown";
	}
}

/* MPOL_LOCAL is first touch whatever the thread's own policy; kernels
 * before 3.8 lack it, and there the VMA default is the closest match. */
static int firsttouch_mode(void)
{
	static int mode = -1;
	int cached = __atomic_load_n(&mode, __ATOMIC_RELAXED);
	if (cached >= 0)
		return cached;
	int found = AML_MPOL_LOCAL;
	size_t page = aml_os_page_size();
	AML_KEEP_ERRNO;
	void *scratch = aml_os_mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (scratch != MAP_FAILED) {
		if (aml_os_mbind(scratch, page, AML_MPOL_LOCAL, NULL, 0, 0) != 0 && errno == EINVAL)
			found = AML_MPOL_DEFAULT;
		aml_os_munmap(scratch, page);
	}
	__atomic_store_n(&mode, found, __ATOMIC_RELAXED);
	return found;
}

/* Kernel mode of a policy, or -AML_E* when it has none. */
static int kernel_mode(hwloc_membind_policy_t policy)
{
	switch (policy) {
	case HWLOC_MEMBIND_DEFAULT: return AML_MPOL_DEFAULT;
	case HWLOC_MEMBIND_FIRSTTOUCH: return firsttouch_mode();
	case HWLOC_MEMBIND_BIND: return AML_MPOL_BIND;
	case HWLOC_MEMBIND_INTERLEAVE: return AML_MPOL_INTERLEAVE;
	case HWLOC_MEMBIND_NEXTTOUCH: return -AML_ENOTSUP;
	default: return -AML_EINVAL;
	}
}

/* Raw kernel mask of a nodeset of topology: every node must be one of its
 * NUMA nodes (-AML_EDOM otherwise), and there must be one (-AML_EINVAL). */
static int nodeset_to_raw(hwloc_topology_t topology, hwloc_const_nodeset_t nodeset,
                          unsigned long *raw)
{
	memset(raw, 0, AML_MASK_WORDS * sizeof(unsigned long));
	if (hwloc_bitmap_iszero(nodeset))
		return -AML_EINVAL;
	if (!hwloc_bitmap_isincluded(nodeset, hwloc_topology_get_topology_nodeset(topology)))
		return -AML_EDOM;
	int index;
	hwloc_bitmap_foreach_begin(index, nodeset) {
		hwloc_obj_t node = hwloc_get_numanode_obj_by_os_index(topology, (unsigned)index);
		if (!node || node->os_index >= AML_AREA_HWLOC_MAX_NODES)
			return -AML_EDOM;
		raw[node->os_index / AML_MASK_BITS] |= 1UL << (node->os_index % AML_MASK_BITS);
	}
	hwloc_bitmap_foreach_end();
	return AML_SUCCESS;
}

/* Fills the precomputed fields of data from its policy and nodeset. */
static int prepare(struct aml_area_hwloc_data *data, hwloc_topology_t topology)
{
	int mode = kernel_mode(data->policy);
	if (mode < 0)
		return mode;
	hwloc_const_nodeset_t nodes = data->nodeset ? data->nodeset
	                                            : hwloc_topology_get_topology_nodeset(topology);
	int err = nodeset_to_raw(topology, nodes, data->raw_mask);
	if (err != AML_SUCCESS)
		return err;
	data->kernel_mode = mode;
	if (mode == AML_MPOL_BIND)
		aml_node_reserves_load();
	__atomic_store_n(&data->ready, 1, __ATOMIC_RELEASE);
	return AML_SUCCESS;
}

static struct aml_area_hwloc_data default_data = {.policy = HWLOC_MEMBIND_DEFAULT};
static struct aml_area_hwloc_data interleave_data = {.policy = HWLOC_MEMBIND_INTERLEAVE};
static struct aml_area_hwloc_data firsttouch_data = {.policy = HWLOC_MEMBIND_FIRSTTOUCH};
static pthread_once_t static_once = PTHREAD_ONCE_INIT;

/* The static areas need the topology, loaded at their first use. */
static void prepare_static_areas(void)
{
	if (aml_hwloc_topology_init() != AML_SUCCESS)
		return;
	prepare(&default_data, aml_topology);
	prepare(&interleave_data, aml_topology);
	prepare(&firsttouch_data, aml_topology);
}

static int ensure_ready(struct aml_area_hwloc_data *data)
{
	if (__atomic_load_n(&data->ready, __ATOMIC_ACQUIRE))
		return AML_SUCCESS;
	pthread_once(&static_once, prepare_static_areas);
	return __atomic_load_n(&data->ready, __ATOMIC_ACQUIRE) ? AML_SUCCESS : -AML_ENOTSUP;
}

static void *hwloc_area_mmap(const struct aml_area_data *area_data, size_t size,
                             struct aml_area_mmap_options *opts)
{
	(void)opts;
	struct aml_area_hwloc_data *data = (struct aml_area_hwloc_data *)area_data;
	if (!data || size == 0) {
		aml_errno = AML_EINVAL;
		return NULL;
	}
	int err = ensure_ready(data);
	if (err != AML_SUCCESS) {
		aml_errno = -err;
		return NULL;
	}
	/* As the Linux area: full bound nodes would mean the OOM killer. */
	if (data->kernel_mode == AML_MPOL_BIND && !aml_nodes_fit(data->raw_mask, size)) {
		aml_errno = AML_ENOMEM;
		return NULL;
	}
	AML_KEEP_ERRNO;
	void *ptr = aml_area_map(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!ptr)
		return NULL;
	if (data->kernel_mode != AML_MPOL_DEFAULT) {
		const unsigned long *mask = data->kernel_mode == AML_MPOL_LOCAL ? NULL : data->raw_mask;
		unsigned long maxnode = mask ? AML_OS_MAXNODE : 0;
		if (aml_os_mbind(ptr, size, data->kernel_mode, mask, maxnode, 0) != 0)
			return aml_area_map_failed(ptr, size, -aml_errno_from_os(errno));
	}
	return ptr;
}

static int hwloc_area_fprintf(const struct aml_area_data *area_data, FILE *stream, const char *prefix)
{
	struct aml_area_hwloc_data *data = (struct aml_area_hwloc_data *)area_data;
	int go_on = aml_area_fprintf_begin(stream, &prefix, data, "area-hwloc");
	if (go_on <= 0)
		return go_on;
	if (ensure_ready(data) != AML_SUCCESS) {
		fprintf(stream, "%sarea-hwloc: policy %s, nodes unknown (no topology)\n", prefix,
		        policy_name(data->policy));
		return AML_SUCCESS;
	}
	char nodes[256];
	aml_raw_mask_format(data->raw_mask, nodes, sizeof(nodes));
	fprintf(stream, "%sarea-hwloc: policy %s, nodes %s\n", prefix, policy_name(data->policy), nodes);
	return AML_SUCCESS;
}

static struct aml_area_ops hwloc_ops = {
	.mmap = hwloc_area_mmap,
	.munmap = aml_area_linux_munmap, /* a plain munmap, as every mmap-based area */
	.fprintf = hwloc_area_fprintf,
};

struct aml_area aml_area_hwloc_default = {
	.ops = &hwloc_ops,
	.data = (struct aml_area_data *)&default_data,
};

struct aml_area aml_area_hwloc_interleave = {
	.ops = &hwloc_ops,
	.data = (struct aml_area_data *)&interleave_data,
};

struct aml_area aml_area_hwloc_firsttouch = {
	.ops = &hwloc_ops,
	.data = (struct aml_area_data *)&firsttouch_data,
};

int aml_area_hwloc_create(struct aml_area **area, hwloc_bitmap_t nodeset,
                          const hwloc_membind_policy_t policy)
{
	if (!area)
		return -(aml_errno = AML_EINVAL);
	*area = NULL;
	int mode = kernel_mode(policy);
	if (mode < 0)
		return -(aml_errno = -mode);
	if (aml_hwloc_topology_init() != AML_SUCCESS)
		return -(aml_errno = AML_ENOTSUP);

	struct aml_area *ret = aml_area_alloc(&hwloc_ops, sizeof(struct aml_area_hwloc_data));
	if (!ret)
		return -(aml_errno = AML_ENOMEM);
	struct aml_area_hwloc_data *data = (struct aml_area_hwloc_data *)ret->data;
	data->policy = policy;
	data->nodeset = hwloc_bitmap_dup(nodeset ? nodeset : hwloc_topology_get_topology_nodeset(aml_topology));
	int err = data->nodeset ? prepare(data, aml_topology) : -AML_ENOMEM;
	if (err != AML_SUCCESS) {
		hwloc_bitmap_free(data->nodeset);
		free(ret);
		return -(aml_errno = -err);
	}
	*area = ret;
	return AML_SUCCESS;
}

void aml_area_hwloc_destroy(struct aml_area **area)
{
	if (!area || !*area)
		return;
	struct aml_area_hwloc_data *data = (struct aml_area_hwloc_data *)(*area)->data;
	if (data)
		hwloc_bitmap_free(data->nodeset);
	free(*area);
	*area = NULL;
}
