/* Weighted-interleave area (<aml/area/weighted.h>): units of an allocation
 * spread over a node set in proportion to integer weights, the cycle
 * starting at each allocation's first unit.
 *
 * The kernel's MPOL_WEIGHTED_INTERLEAVE takes its weights from sysfs, for
 * the whole system, and picks the node of a page faulted in a VMA policy
 * from the page's interleave index, the VMA's vm_pgoff plus the page's
 * offset in the VMA (mm/mempolicy.c, weighted_interleave_nid): target =
 * index mod (sum of the set's weights), walked over the set in increasing
 * node order. An anonymous mapping's vm_pgoff is its address in pages, so
 * a range starting at a page number that is a multiple of the sum starts
 * its cycle there. The area uses it only when the system weights of the
 * set, reduced, are the ones asked for, and only for page units (the
 * kernel interleaves a transparent huge page as one unit: the range gets
 * MADV_NOHUGEPAGE).
 *
 * Otherwise the area places in user space, like the block-interleave
 * area's eager path: for each node k, the thread's policy prefers k and
 * the units of k are populated (MADV_POPULATE_WRITE), one call per run of
 * k's units per cycle; the thread's policy is then put back, and one
 * mbind of the whole range to MPOL_INTERLEAVE over the set (pages already
 * there stay) keeps later faults spread and the range one VMA. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <numa.h>

#include <aml/area/weighted.h>
#include "internal.h"

static unsigned gcd(unsigned a, unsigned b)
{
	while (b) {
		unsigned t = a % b;
		a = b;
		b = t;
	}
	return a;
}

unsigned aml_area_weighted_reduce(unsigned *weights, int count)
{
	if (!weights || count < 1)
		return 0;
	unsigned g = 0;
	for (int i = 0; i < count; i++) {
		if (!weights[i])
			return 0;
		g = gcd(g, weights[i]);
	}
	for (int i = 0; i < count; i++)
		weights[i] /= g;
	return g;
}

int aml_area_weighted_node_at(const int *nodes, const unsigned *weights, int count, size_t index)
{
	if (!nodes || !weights || count < 1)
		return -1;
	size_t cycle = 0;
	for (int i = 0; i < count; i++)
		cycle += weights[i];
	if (cycle == 0)
		return -1;
	size_t pos = index % cycle;
	for (int i = 0; i < count; i++) {
		if (pos < weights[i])
			return nodes[i];
		pos -= weights[i];
	}
	return -1;
}

int aml_area_weighted_from_values(const uint64_t *values, int count, unsigned max_weight, unsigned *weights)
{
	if (!values || !weights || count < 1 || max_weight < 1 || max_weight > AML_AREA_WEIGHTED_MAX_WEIGHT)
		return -(aml_errno = AML_EINVAL);
	uint64_t max = 0;
	for (int i = 0; i < count; i++) {
		if (values[i] == 0)
			return -(aml_errno = AML_EINVAL);
		if (values[i] > max)
			max = values[i];
	}
	for (int i = 0; i < count; i++) {
		unsigned w = (unsigned)((double)values[i] / (double)max * max_weight + 0.5);
		weights[i] = w ? w : 1;
	}
	aml_area_weighted_reduce(weights, count);
	return AML_SUCCESS;
}

/* "0*3,3*1" for nodes and weights (each times scale). */
static void format_weights(const struct aml_area_weighted_data *data, const unsigned *weights, unsigned scale,
                           char *buf, size_t len)
{
	size_t used = 0;
	buf[0] = '\0';
	for (int i = 0; i < data->num_nodes && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%d*%u", i ? "," : "", data->nodes[i],
		                         weights[i] * scale);
}

static void *weighted_mmap(const struct aml_area_data *area_data, size_t size, struct aml_area_mmap_options *opts)
{
	(void)opts; /* private anonymous memory only */
	const struct aml_area_weighted_data *data = (const struct aml_area_weighted_data *)area_data;
	if (!data || size == 0 || data->num_nodes <= 0 || data->cycle == 0) {
		aml_errno = AML_EINVAL;
		return NULL;
	}
	AML_KEEP_ERRNO;
	const size_t huge = data->huge_page_size;
	const int huge_units = huge && data->unit % huge == 0;
	const int kernel = data->mechanism == AML_AREA_WEIGHTED_KERNEL;
	/* The kernel's cycle starts at page numbers that are multiples of it. */
	size_t period = kernel ? (size_t)data->cycle * data->kernel_scale : 1;
	char *ptr = aml_map_aligned(size, huge_units ? huge : 0, period);
	if (ptr == MAP_FAILED) {
		aml_errno = aml_errno_from_os(errno);
		return NULL;
	}
	/* Fails with EINVAL on kernels without THP: then there is nothing to stop. */
	if (!huge_units)
		aml_os_madvise(ptr, size, MADV_NOHUGEPAGE);
	if (kernel && aml_os_mbind(ptr, size, AML_MPOL_WEIGHTED_INTERLEAVE, data->raw_mask, AML_OS_MAXNODE, 0) == 0)
		return ptr;
	/* User space (or a kernel that refused the mode after all). */
	int err = aml_place_runs(ptr, size, data->nodes, data->weights, data->num_nodes, data->unit);
	return aml_place_finish(ptr, size, data->raw_mask, err);
}

static int weighted_fprintf(const struct aml_area_data *area_data, FILE *stream, const char *prefix)
{
	const struct aml_area_weighted_data *data = (const struct aml_area_weighted_data *)area_data;
	int go_on = aml_area_fprintf_begin(stream, &prefix, data, "area-weighted");
	if (go_on <= 0)
		return go_on;
	char weights[AML_AREA_WEIGHTED_MAX_NODES * 16], units[48];
	format_weights(data, data->weights, 1, weights, sizeof(weights));
	if (data->unit == aml_os_page_size())
		snprintf(units, sizeof(units), "by page");
	else
		snprintf(units, sizeof(units), "by block of %zu bytes", data->unit);
	fprintf(stream, "%sarea-weighted: weights %s (%s), %s, ", prefix, weights, data->source, units);
	if (data->mechanism == AML_AREA_WEIGHTED_KERNEL) {
		format_weights(data, data->weights, data->kernel_scale, weights, sizeof(weights));
		fprintf(stream, "kernel MPOL_WEIGHTED_INTERLEAVE at first touch (system weights %s)\n", weights);
	} else {
		fprintf(stream, "user space, populated at mmap (not the kernel's: %s)\n", data->why_user);
	}
	return AML_SUCCESS;
}

static struct aml_area_ops weighted_ops = {
	.mmap = weighted_mmap,
	.munmap = aml_area_linux_munmap,
	.fprintf = weighted_fprintf,
};

/* Whether the system weights of the set, reduced, are the area's: then
 * *scale is what they were divided by. Otherwise why says what differs. */
static int system_weights_match(struct aml_area_weighted_data *data, unsigned *scale)
{
	unsigned system[AML_AREA_WEIGHTED_MAX_NODES];
	for (int i = 0; i < data->num_nodes; i++) {
		char path[96], text[16];
		snprintf(path, sizeof(path), AML_OS_WEIGHTED_DIR "/node%d", data->nodes[i]);
		if (aml_os_read_file(path, text, sizeof(text)) <= 0) {
			snprintf(data->why_user, sizeof(data->why_user), i == 0 && data->num_nodes > 1
			         ? "no MPOL_WEIGHTED_INTERLEAVE (Linux 6.9+)" : "no system weight for node %d",
			         data->nodes[i]);
			return 0;
		}
		unsigned long value = strtoul(text, NULL, 10);
		system[i] = value ? (unsigned)value : 1; /* 0 reads as the default, 1 */
	}
	unsigned g = aml_area_weighted_reduce(system, data->num_nodes);
	if (g == 0 || memcmp(system, data->weights, (size_t)data->num_nodes * sizeof(unsigned)) != 0) {
		char text[AML_AREA_WEIGHTED_MAX_NODES * 16];
		format_weights(data, system, g, text, sizeof(text));
		snprintf(data->why_user, sizeof(data->why_user), "system weights %.48s", text);
		return 0;
	}
	*scale = g;
	return 1;
}

static int check_arguments(const int *nodes, const unsigned *weights, int count, size_t unit, unsigned flags)
{
	if (!nodes || !weights || count < 1 || count > AML_AREA_WEIGHTED_MAX_NODES ||
	    unit % aml_os_page_size() != 0 || (flags & ~AML_AREA_WEIGHTED_FLAG_USER))
		return -AML_EINVAL;
	size_t cycle = 0;
	for (int i = 0; i < count; i++) {
		if (weights[i] < 1 || weights[i] > AML_AREA_WEIGHTED_MAX_WEIGHT || nodes[i] < 0 ||
		    nodes[i] >= AML_AREA_LINUX_MAX_NODES)
			return -AML_EINVAL;
		for (int j = 0; j < i; j++)
			if (nodes[j] == nodes[i])
				return -AML_EINVAL;
		cycle += weights[i];
	}
	return unit > SIZE_MAX / cycle ? -AML_EINVAL : AML_SUCCESS;
}

/* The set into raw (checked against the process's allowed nodes). */
static int raw_mask_of(const int *nodes, int count, unsigned long *raw)
{
	struct bitmask *mask = numa_allocate_nodemask();
	if (!mask)
		return -AML_ENOMEM;
	int err = AML_SUCCESS;
	for (int i = 0; i < count; i++) {
		if ((unsigned)nodes[i] >= mask->size)
			err = -AML_EDOM;
		else
			numa_bitmask_setbit(mask, (unsigned)nodes[i]);
	}
	if (err == AML_SUCCESS)
		err = aml_nodemask_to_raw(mask, raw);
	numa_bitmask_free(mask);
	return err;
}

int aml_area_weighted_create(struct aml_area **area, const int *nodes, const unsigned *weights, int count,
                             size_t unit, const char *source, unsigned flags)
{
	if (!area)
		return -(aml_errno = AML_EINVAL);
	*area = NULL;
	if (unit == 0)
		unit = aml_os_page_size();
	int err = check_arguments(nodes, weights, count, unit, flags);
	if (err != AML_SUCCESS)
		return -(aml_errno = -err);
	if (numa_available() < 0)
		return -(aml_errno = AML_ENOTSUP);
	struct aml_area *ret = aml_area_alloc(&weighted_ops, sizeof(struct aml_area_weighted_data));
	if (!ret)
		return -(aml_errno = AML_ENOMEM);
	struct aml_area_weighted_data *data = (struct aml_area_weighted_data *)ret->data;

	AML_KEEP_ERRNO;
	err = raw_mask_of(nodes, count, data->raw_mask);
	if (err != AML_SUCCESS) {
		free(ret);
		return -(aml_errno = -err);
	}
	/* The kernel's order: increasing nodes, each with its weight. */
	data->num_nodes = count;
	for (int i = 0; i < count; i++) {
		int j = i;
		for (; j > 0 && data->nodes[j - 1] > nodes[i]; j--) {
			data->nodes[j] = data->nodes[j - 1];
			data->weights[j] = data->weights[j - 1];
		}
		data->nodes[j] = nodes[i];
		data->weights[j] = weights[i];
	}
	aml_area_weighted_reduce(data->weights, count);
	for (int i = 0; i < count; i++)
		data->cycle += data->weights[i];
	data->unit = unit;
	data->huge_page_size = aml_os_thp_size();
	snprintf(data->source, sizeof(data->source), "%s", source ? source : "given");
	data->mechanism = AML_AREA_WEIGHTED_USER;
	data->kernel_scale = 1;
	if (flags & AML_AREA_WEIGHTED_FLAG_USER)
		snprintf(data->why_user, sizeof(data->why_user), "user space asked for");
	else if (unit != aml_os_page_size())
		snprintf(data->why_user, sizeof(data->why_user), "it interleaves pages, not blocks");
	else if (system_weights_match(data, &data->kernel_scale))
		data->mechanism = AML_AREA_WEIGHTED_KERNEL;
	*area = ret;
	return AML_SUCCESS;
}

void aml_area_weighted_destroy(struct aml_area **area)
{
	if (!area || !*area)
		return;
	free(*area);
	*area = NULL;
}

int aml_area_weighted_mechanism(const struct aml_area *area)
{
	if (!area || !area->ops || area->ops->mmap != weighted_mmap || !area->data)
		return -(aml_errno = AML_EINVAL);
	return (int)((const struct aml_area_weighted_data *)area->data)->mechanism;
}
