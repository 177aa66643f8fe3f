/* Block-interleave area: blocks of block_size bytes placed round-robin over
 * a node set, block 0 of every allocation on the first node.
 *
 * Where the kernel can do it, placement is lazy: nothing is resident until
 * the program touches it, as with every other policy.
 *  - One node: the range is bound to it (MPOL_INTERLEAVE over that node);
 *    every page lands there at its first touch.
 *  - Blocks of one transparent huge page, THP usable by this process: the
 *    range gets MADV_HUGEPAGE and MPOL_INTERLEAVE over the set. At a huge
 *    page fault the kernel picks the node from the page's offset in the
 *    mapping, (vm_pgoff >> 9) + (addr - vm_start) / 2 MiB, and vm_pgoff of
 *    an anonymous mapping is its address / 4 KiB: huge page h of the address
 *    space goes to the set's node h mod n (set in increasing order). The
 *    range starts at a huge page h with h mod n == 0, so block b is on node
 *    b mod n. A partial last block (no whole huge page) is populated.
 * Elsewhere (smaller or larger blocks over two or more nodes, no THP) one
 * policy cannot express the pattern and placement is eager:
 *  1. mmap the range with the default (no) VMA policy, so faults follow the
 *     calling thread's policy;
 *  2. for each node k of the rotation, set the thread's policy to
 *     MPOL_PREFERRED {k} and populate the blocks i with i % n == k;
 *  3. restore the thread's own policy (on every path, errors included);
 *  4. mbind the whole range once to MPOL_INTERLEAVE over the set: pages
 *     already there stay put (no MPOL_MF_MOVE), later faults (after swap,
 *     MADV_DONTNEED, migration) stay spread, and the range stays one VMA.
 * An mbind per block would instead cut the range into one VMA per block
 * and exhaust vm.max_map_count (65530) at 64K blocks; lazily or not, it
 * is not used.
 *
 * PREFERRED rather than BIND: a full node falls back to another node
 * instead of invoking the OOM killer, so placement is best effort.
 *
 * The thread policy differs from the caller's only during mmap. A signal
 * handler running on this thread meanwhile has its own page faults
 * preferred to node k (harmless); one that calls this mmap again saves and
 * restores the preferred policy, so nesting is safe. Other threads are
 * never affected: set_mempolicy is per thread.
 *
 * Transparent huge pages would place a whole 2 MiB page on one node and so
 * break blocks smaller than that, at fault time or later by khugepaged:
 * such ranges get MADV_NOHUGEPAGE. Blocks made of whole huge pages get a
 * huge-page-aligned range instead, so THP can still serve them. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include <aml/area/block.h>
#include "internal.h"

#define THP_DIR AML_OS_THP_DIR

/* Populates [ptr + from, ptr + size), which lies in one block, on that
 * block's node (the lazy path's partial last block). */
static int place_tail(const struct aml_area_block_data *data, char *ptr, size_t from, size_t size)
{
	struct aml_thread_policy saved;
	int err = aml_thread_policy_save(&saved);
	if (err != AML_SUCCESS)
		return err;
	err = aml_thread_prefer_node(data->nodes[(from / data->block_size) % (size_t)data->num_nodes]);
	if (err == AML_SUCCESS && aml_os_populate_write(ptr + from, size - from) != 0)
		err = -aml_errno_from_os(errno);
	int restored = aml_thread_policy_restore(&saved);
	return err != AML_SUCCESS ? err : restored;
}

/* The rotation is the set in increasing order, each node once: the order
 * in which the kernel's MPOL_INTERLEAVE takes the nodes. The area's own
 * rotation always is; tests may give it another. */
static int rotation_is_kernel_order(const struct aml_area_block_data *data)
{
	int set[AML_AREA_LINUX_MAX_NODES];
	int count = aml_raw_mask_nodes(data->raw_mask, set, AML_AREA_LINUX_MAX_NODES);
	return count == data->num_nodes && memcmp(set, data->nodes, (size_t)count * sizeof(int)) == 0;
}

static int placement_of(const struct aml_area_block_data *data)
{
	if (data->num_nodes == 1 && rotation_is_kernel_order(data))
		return AML_AREA_BLOCK_LAZY_ONE_NODE;
	if (data->thp_usable && data->huge_page_size && data->block_size == data->huge_page_size &&
	    rotation_is_kernel_order(data))
		return AML_AREA_BLOCK_LAZY_HUGE;
	return AML_AREA_BLOCK_EAGER;
}

static void *block_mmap(const struct aml_area_data *area_data, size_t size,
                        struct aml_area_mmap_options *opts)
{
	(void)opts; /* private anonymous memory only */
	const struct aml_area_block_data *data = (const struct aml_area_block_data *)area_data;
	if (!data || size == 0 || data->num_nodes <= 0) {
		aml_errno = AML_EINVAL;
		return NULL;
	}
	AML_KEEP_ERRNO;
	const size_t huge = data->huge_page_size;
	const int huge_blocks = huge && data->block_size % huge == 0;
	int placement = placement_of(data);
	/* Lazy by huge page: huge page h of the address space goes to node
	 * h mod n, so block 0 must start at such an h with h mod n == 0. */
	size_t period = placement == AML_AREA_BLOCK_LAZY_HUGE ? (size_t)data->num_nodes : 1;
	char *ptr = aml_map_aligned(size, huge_blocks ? huge : 0, period);
	if (ptr == MAP_FAILED) {
		aml_errno = aml_errno_from_os(errno);
		return NULL;
	}
	/* Fails with EINVAL on kernels without THP: then there is nothing to stop. */
	if (!huge_blocks)
		aml_os_madvise(ptr, size, MADV_NOHUGEPAGE);
	/* With THP in madvise mode this is what enables it; in always mode it
	 * lets the fault compact memory rather than fall back to 4 KiB pages,
	 * which the interleave would spread page by page. */
	if (placement == AML_AREA_BLOCK_LAZY_HUGE && aml_os_madvise(ptr, size, MADV_HUGEPAGE) != 0)
		placement = AML_AREA_BLOCK_EAGER;
	int err = AML_SUCCESS;
	if (placement == AML_AREA_BLOCK_EAGER)
		err = aml_place_runs(ptr, size, data->nodes, NULL, data->num_nodes, data->block_size);
	else if (placement == AML_AREA_BLOCK_LAZY_HUGE && size % huge != 0)
		err = place_tail(data, ptr, size - size % huge, size); /* no huge page there */
	return aml_place_finish(ptr, size, data->raw_mask, err);
}

static int block_fprintf(const struct aml_area_data *area_data, FILE *stream, const char *prefix)
{
	const struct aml_area_block_data *data = (const struct aml_area_block_data *)area_data;
	int go_on = aml_area_fprintf_begin(stream, &prefix, data, "area-block");
	if (go_on <= 0)
		return go_on;
	char nodes[256];
	aml_raw_mask_format(data->raw_mask, nodes, sizeof(nodes));
	static const char *const how[] = {
		[AML_AREA_BLOCK_EAGER] = "eager (populated)",
		[AML_AREA_BLOCK_LAZY_HUGE] = "lazy (interleave by huge page)",
		[AML_AREA_BLOCK_LAZY_ONE_NODE] = "lazy (one node)",
	};
	fprintf(stream, "%sarea-block: block size %zu, nodes %s, placement: %s\n", prefix, data->block_size,
	        nodes, how[placement_of(data)]);
	return AML_SUCCESS;
}

static struct aml_area_ops block_ops = {
	.mmap = block_mmap,
	.munmap = aml_area_linux_munmap,
	.fprintf = block_fprintf,
};

/* Whether a sysfs THP mode file selects always or madvise; -1 when it
 * cannot be read, 2 for "inherit" (per-size files of newer kernels). */
static int thp_mode_on(const char *path)
{
	char text[128];
	if (aml_os_read_file(path, text, sizeof(text)) <= 0)
		return -1;
	if (strstr(text, "[inherit]"))
		return 2;
	return strstr(text, "[always]") || strstr(text, "[madvise]");
}

/* Whether anonymous memory of this process can get PMD-sized huge pages
 * once madvised: the system mode, the per-size mode where the kernel has
 * one, and the process's own prctl switch (inherited across exec). */
static int thp_usable(size_t huge)
{
	if (!huge || aml_os_thp_disabled())
		return 0;
	char path[128];
	snprintf(path, sizeof(path), THP_DIR "/hugepages-%zukB/enabled", huge >> 10);
	int size_mode = thp_mode_on(path);
	if (size_mode == 0 || size_mode == 1)
		return size_mode;
	return thp_mode_on(THP_DIR "/enabled") == 1;
}

int aml_area_block_placement(const struct aml_area *area)
{
	if (!area || !area->ops || area->ops->mmap != block_mmap || !area->data)
		return -(aml_errno = AML_EINVAL);
	return placement_of((const struct aml_area_block_data *)area->data);
}

int aml_area_block_create(struct aml_area **area, size_t block_size, const struct bitmask *nodemask)
{
	if (!area)
		return -(aml_errno = AML_EINVAL);
	*area = NULL;
	if (block_size == 0 || block_size % aml_os_page_size() != 0)
		return -(aml_errno = AML_EINVAL);
	if (numa_available() < 0)
		return -(aml_errno = AML_ENOTSUP);

	struct aml_area *ret = aml_area_alloc(&block_ops, sizeof(struct aml_area_block_data));
	if (!ret)
		return -(aml_errno = AML_ENOMEM);
	struct aml_area_block_data *data = (struct aml_area_block_data *)ret->data;

	AML_KEEP_ERRNO;
	int err = aml_nodemask_to_raw(nodemask, data->raw_mask);
	if (err != AML_SUCCESS) {
		free(ret);
		return -(aml_errno = -err);
	}
	data->block_size = block_size;
	data->num_nodes = aml_raw_mask_nodes(data->raw_mask, data->nodes, AML_AREA_LINUX_MAX_NODES);
	data->huge_page_size = aml_os_thp_size();
	data->thp_usable = thp_usable(data->huge_page_size);
	*area = ret;
	return AML_SUCCESS;
}

void aml_area_block_destroy(struct aml_area **area)
{
	if (!area || !*area)
		return;
	free(*area);
	*area = NULL;
}
