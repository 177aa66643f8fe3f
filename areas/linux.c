/* Linux area: anonymous (or file/shared) mappings with a kernel memory
 * policy applied by mbind over exactly the node subset asked for. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include <aml/area/linux.h>
#include "internal.h"


static const char *const policy_names[] = {
	[AML_AREA_LINUX_POLICY_DEFAULT] = "default",
	[AML_AREA_LINUX_POLICY_BIND] = "bind",
	[AML_AREA_LINUX_POLICY_PREFERRED] = "preferred",
	[AML_AREA_LINUX_POLICY_INTERLEAVE] = "interleave",
	[AML_AREA_LINUX_POLICY_PREFERRED_MANY] = "preferred-many",
	[AML_AREA_LINUX_POLICY_LOCAL] = "local",
};

const char *aml_area_linux_policy_name(enum aml_area_linux_policy policy)
{
	return AML_NAME_OF(policy_names, policy, "unknown");
}

static int kernel_mode(enum aml_area_linux_policy policy)
{
	switch (policy) {
	case AML_AREA_LINUX_POLICY_BIND: return AML_MPOL_BIND;
	case AML_AREA_LINUX_POLICY_PREFERRED: return AML_MPOL_PREFERRED;
	case AML_AREA_LINUX_POLICY_INTERLEAVE: return AML_MPOL_INTERLEAVE;
	case AML_AREA_LINUX_POLICY_PREFERRED_MANY: return AML_MPOL_PREFERRED_MANY;
	case AML_AREA_LINUX_POLICY_LOCAL: return AML_MPOL_LOCAL;
	default: return AML_MPOL_DEFAULT;
	}
}

int aml_area_linux_mbind(struct aml_area_linux_data *data, void *ptr, size_t size)
{
	if (!data || !ptr)
		return -(aml_errno = AML_EINVAL);
	if (data->policy == AML_AREA_LINUX_POLICY_DEFAULT)
		return AML_SUCCESS;
	unsigned long single[AML_MASK_WORDS] = {0};
	const unsigned long *mask = data->raw_mask;
	unsigned long maxnode = AML_OS_MAXNODE;
	if (data->policy == AML_AREA_LINUX_POLICY_PREFERRED) {
		/* The kernel prefers one node: say which, rather than rely on it
		 * picking the lowest. */
		single[data->first_node / AML_MASK_BITS] = 1UL << (data->first_node % AML_MASK_BITS);
		mask = single;
	} else if (data->policy == AML_AREA_LINUX_POLICY_LOCAL) {
		mask = NULL;
		maxnode = 0;
	}
	AML_KEEP_ERRNO;
	if (aml_os_mbind(ptr, size, kernel_mode(data->policy), mask, maxnode, 0) != 0)
		return -(aml_errno = aml_errno_from_os(errno));
	return AML_SUCCESS;
}

int aml_area_linux_check_binding(struct aml_area_linux_data *data, void *ptr, size_t size)
{
	if (!data || !ptr)
		return -(aml_errno = AML_EINVAL);
	size_t page = aml_os_page_size();
	int want_mode = kernel_mode(data->policy);
	for (size_t off = 0; off < size; off += page) {
		int mode = -1;
		unsigned long mask[AML_MASK_WORDS] = {0};
		if (aml_os_get_mempolicy(&mode, mask, AML_OS_MAXNODE, (char *)ptr + off, AML_MPOL_F_ADDR) != 0)
			return -(aml_errno = aml_errno_from_os(errno));
		mode &= AML_MPOL_MODE_BITS;
		if (want_mode == AML_MPOL_LOCAL) {
			/* Older kernels report local as "preferred, no node". */
			int empty = 1;
			for (size_t w = 0; w < AML_MASK_WORDS; w++)
				empty &= mask[w] == 0;
			if (mode != AML_MPOL_LOCAL && !(mode == AML_MPOL_PREFERRED && empty))
				return 0;
			continue;
		}
		if (mode != want_mode)
			return 0;
		if (want_mode == AML_MPOL_PREFERRED) {
			int n = data->first_node;
			if (!((mask[n / AML_MASK_BITS] >> (n % AML_MASK_BITS)) & 1UL))
				return 0;
		} else if (want_mode != AML_MPOL_DEFAULT &&
		           memcmp(mask, data->raw_mask, sizeof(mask)) != 0) {
			return 0;
		}
	}
	return 1;
}

void *aml_area_linux_mmap(const struct aml_area_data *area_data, size_t size,
                          struct aml_area_mmap_options *opts)
{
	struct aml_area_linux_data *data = (struct aml_area_linux_data *)area_data;
	if (!data || size == 0) {
		aml_errno = AML_EINVAL;
		return NULL;
	}
	void *hint = NULL;
	int prot = PROT_READ | PROT_WRITE, flags = MAP_PRIVATE | MAP_ANONYMOUS, fd = -1;
	off_t offset = 0;
	if (opts) {
		struct aml_area_linux_mmap_options *o = (struct aml_area_linux_mmap_options *)opts;
		hint = o->ptr;
		prot = o->mode;
		flags = o->flags;
		fd = o->fd;
		offset = o->offset;
	}
	/* A bound page fault on full nodes ends in the OOM killer: refuse
	 * now what the nodes cannot hold. Not hugetlb pages: they come from
	 * the pools (not the nodes' free memory), reserved at mmap. */
	if ((flags & MAP_ANONYMOUS) && !(flags & MAP_HUGETLB) && !aml_area_linux_fits(data, size)) {
		aml_errno = AML_ENOMEM;
		return NULL;
	}
	AML_KEEP_ERRNO;
	void *ptr = aml_area_map(hint, size, prot, flags, fd, offset);
	if (!ptr)
		return NULL;
	int err = aml_area_linux_mbind(data, ptr, size);
	if (err != AML_SUCCESS)
		return aml_area_map_failed(ptr, size, err);
	return ptr;
}

int aml_area_linux_fits(const struct aml_area_linux_data *data, size_t size)
{
	return data->policy != AML_AREA_LINUX_POLICY_BIND || aml_nodes_fit(data->raw_mask, size);
}

int aml_area_linux_munmap(const struct aml_area_data *data, void *ptr, const size_t size)
{
	(void)data;
	AML_KEEP_ERRNO;
	if (aml_os_munmap(ptr, size) != 0)
		return -(aml_errno = aml_errno_from_os(errno));
	return AML_SUCCESS;
}

int aml_area_linux_fprintf(const struct aml_area_data *area_data, FILE *stream, const char *prefix)
{
	const struct aml_area_linux_data *data = (const struct aml_area_linux_data *)area_data;
	int go_on = aml_area_fprintf_begin(stream, &prefix, data, "area-linux");
	if (go_on <= 0)
		return go_on;
	char nodes[256];
	aml_raw_mask_format(data->raw_mask, nodes, sizeof(nodes));
	fprintf(stream, "%sarea-linux: policy %s, nodes %s\n", prefix,
	        aml_area_linux_policy_name(data->policy), nodes[0] ? nodes : "all");
	return AML_SUCCESS;
}

static struct aml_area_ops linux_ops = {
	.mmap = aml_area_linux_mmap,
	.munmap = aml_area_linux_munmap,
	.fprintf = aml_area_linux_fprintf,
};

static struct aml_area_linux_data linux_default_data = {
	.nodeset = NULL,
	.policy = AML_AREA_LINUX_POLICY_DEFAULT,
};

struct aml_area aml_area_linux = {
	.ops = &linux_ops,
	.data = (struct aml_area_data *)&linux_default_data,
};

/* Whether the running kernel accepts a policy: mbind on a scratch page. */
static int kernel_has_policy(struct aml_area_linux_data *data)
{
	size_t page = aml_os_page_size();
	void *scratch = aml_os_mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (scratch == MAP_FAILED)
		return 1; /* cannot tell; mmap will report */
	int ret = aml_area_linux_mbind(data, scratch, page);
	aml_os_munmap(scratch, page);
	return ret != -AML_EINVAL;
}

int aml_area_linux_create(struct aml_area **area, const struct bitmask *nodemask,
                          const enum aml_area_linux_policy policy)
{
	if (!area)
		return -(aml_errno = AML_EINVAL);
	*area = NULL;
	if ((unsigned)policy > AML_AREA_LINUX_POLICY_LOCAL)
		return -(aml_errno = AML_EINVAL);
	if (numa_available() < 0)
		return -(aml_errno = AML_ENOTSUP);

	struct aml_area *ret = aml_area_alloc(&linux_ops, sizeof(struct aml_area_linux_data));
	if (!ret)
		return -(aml_errno = AML_ENOMEM);
	struct aml_area_linux_data *data = (struct aml_area_linux_data *)ret->data;
	data->policy = policy;

	int err = aml_nodemask_to_raw(nodemask, data->raw_mask);
	if (err != AML_SUCCESS)
		goto fail;
	int nodes[1];
	data->num_nodes = 0;
	for (size_t w = 0; w < AML_MASK_WORDS; w++)
		data->num_nodes += __builtin_popcountl(data->raw_mask[w]);
	aml_raw_mask_nodes(data->raw_mask, nodes, 1);
	data->first_node = nodes[0];
	if (nodemask) {
		data->nodeset = numa_allocate_nodemask();
		if (!data->nodeset) {
			err = -AML_ENOMEM;
			goto fail;
		}
		copy_bitmask_to_bitmask((struct bitmask *)nodemask, data->nodeset);
	}
	if (policy == AML_AREA_LINUX_POLICY_BIND)
		aml_node_reserves_load();
	if ((policy == AML_AREA_LINUX_POLICY_PREFERRED_MANY || policy == AML_AREA_LINUX_POLICY_LOCAL) &&
	    !kernel_has_policy(data)) {
		err = -AML_ENOTSUP;
		goto fail;
	}
	*area = ret;
	return AML_SUCCESS;
fail:
	if (data->nodeset)
		numa_bitmask_free(data->nodeset);
	free(ret);
	return -(aml_errno = -err);
}

void aml_area_linux_destroy(struct aml_area **area)
{
	if (!area || !*area)
		return;
	struct aml_area_linux_data *data = (struct aml_area_linux_data *)(*area)->data;
	if (data && data->nodeset)
		numa_bitmask_free(data->nodeset);
	free(*area);
	*area = NULL;
}
