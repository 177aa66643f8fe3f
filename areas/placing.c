/* What the areas that place pages themselves (block.c, weighted.c) share:
 * the calling thread's memory policy saved, set to prefer one node and put
 * back exactly; a range populated node by node in runs of units; a range
 * aligned for huge pages; the kernel's THP size. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "internal.h"

int aml_thread_policy_save(struct aml_thread_policy *saved)
{
	memset(saved, 0, sizeof(*saved));
	if (aml_os_get_mempolicy(&saved->mode, saved->mask, AML_OS_MAXNODE, NULL, 0) != 0)
		return -aml_errno_from_os(errno);
	return AML_SUCCESS;
}

int aml_thread_policy_restore(const struct aml_thread_policy *saved)
{
	if (aml_os_set_mempolicy(saved->mode, saved->mask, AML_OS_MAXNODE) != 0)
		return -aml_errno_from_os(errno);
	return AML_SUCCESS;
}

int aml_thread_prefer_node(int node)
{
	unsigned long mask[AML_MASK_WORDS] = {0};
	mask[node / AML_MASK_BITS] = 1UL << (node % AML_MASK_BITS);
	if (aml_os_set_mempolicy(AML_MPOL_PREFERRED, mask, AML_OS_MAXNODE) != 0)
		return -aml_errno_from_os(errno);
	return AML_SUCCESS;
}

/* Faults in, under the current thread policy, the run of position k:
 * [first, first + run) of every cycle of stride bytes. */
static int populate_runs(char *ptr, size_t size, size_t first, size_t run, size_t stride)
{
	for (size_t off = first; off < size; off += stride) {
		size_t len = size - off < run ? size - off : run; /* the last run may be partial */
		if (aml_os_populate_write(ptr + off, len) != 0)
			return -aml_errno_from_os(errno);
		if (size - off <= stride) /* off + stride would overflow or end */
			break;
	}
	return AML_SUCCESS;
}

int aml_place_runs(char *ptr, size_t size, const int *nodes, const unsigned *weights, int count, size_t unit)
{
	struct aml_thread_policy saved;
	int err = aml_thread_policy_save(&saved);
	if (err != AML_SUCCESS)
		return err;
	size_t cycle = 0, first = 0;
	for (int k = 0; k < count; k++)
		cycle += weights ? weights[k] : 1;
	for (int k = 0; k < count && err == AML_SUCCESS; k++) {
		size_t run = (weights ? weights[k] : 1) * unit;
		err = aml_thread_prefer_node(nodes[k]);
		if (err == AML_SUCCESS && count == 1 && aml_os_populate_write(ptr, size) != 0)
			err = -aml_errno_from_os(errno); /* every unit is this node's: one call */
		else if (err == AML_SUCCESS && count > 1)
			err = populate_runs(ptr, size, first, run, cycle * unit);
		first += run;
	}
	int restored = aml_thread_policy_restore(&saved);
	return err != AML_SUCCESS ? err : restored;
}

void *aml_place_finish(char *ptr, size_t size, const unsigned long *raw_mask, int err)
{
	if (err == AML_SUCCESS && aml_os_mbind(ptr, size, AML_MPOL_INTERLEAVE, raw_mask, AML_OS_MAXNODE, 0) != 0)
		err = -aml_errno_from_os(errno);
	if (err != AML_SUCCESS)
		return aml_area_map_failed(ptr, size, err);
	return ptr;
}

char *aml_map_aligned(size_t size, size_t align, size_t period)
{
	const int prot = PROT_READ | PROT_WRITE, flags = MAP_PRIVATE | MAP_ANONYMOUS;
	const size_t page = aml_os_page_size();
	if (period == 0)
		period = 1;
	if (align <= page && period == 1)
		return aml_os_mmap(NULL, size, prot, flags, -1, 0);
	if (align < page)
		align = page;
	size_t len = (size + page - 1) & ~(page - 1), span = align * period;
	if (len < size || span / period != align || len + span < len) {
		errno = ENOMEM;
		return MAP_FAILED;
	}
	char *raw = aml_os_mmap(NULL, len + span - page, prot, flags, -1, 0);
	if (raw == MAP_FAILED)
		return MAP_FAILED;
	uintptr_t unit = ((uintptr_t)raw + align - 1) / align;
	unit += (period - unit % period) % period;
	char *start = (char *)(unit * align);
	char *end = raw + len + span - page;
	if (start > raw)
		aml_os_munmap(raw, (size_t)(start - raw));
	if (end > start + len)
		aml_os_munmap(start + len, (size_t)(end - (start + len)));
	return start;
}
