/* Conversions between libnuma masks, raw kernel masks and node lists. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include <aml/area/linux.h>
#include "internal.h"

static int raw_test(const unsigned long *raw, int node)
{
	return (raw[node / AML_MASK_BITS] >> (node % AML_MASK_BITS)) & 1UL;
}

int aml_nodemask_to_raw(const struct bitmask *mask, unsigned long *raw)
{
	memset(raw, 0, AML_MASK_WORDS * sizeof(unsigned long));
	struct bitmask *allowed = numa_get_mems_allowed();
	if (!allowed)
		return -AML_ENOMEM;
	int ret = AML_SUCCESS, count = 0;
	const struct bitmask *wanted = mask ? mask : allowed;
	for (unsigned long node = 0; node < wanted->size; node++) {
		if (!numa_bitmask_isbitset(wanted, (unsigned)node))
			continue;
		if (node >= AML_AREA_LINUX_MAX_NODES || node >= allowed->size ||
		    !numa_bitmask_isbitset(allowed, (unsigned)node)) {
			ret = -AML_EDOM;
			break;
		}
		raw[node / AML_MASK_BITS] |= 1UL << (node % AML_MASK_BITS);
		count++;
	}
	numa_bitmask_free(allowed);
	if (ret == AML_SUCCESS && count == 0)
		ret = -AML_EINVAL;
	return ret;
}

int aml_raw_mask_nodes(const unsigned long *raw, int *nodes, int max_nodes)
{
	int count = 0;
	for (int node = 0; node < AML_AREA_LINUX_MAX_NODES && count < max_nodes; node++)
		if (raw_test(raw, node))
			nodes[count++] = node;
	return count;
}

void aml_raw_mask_format(const unsigned long *raw, char *buf, size_t len)
{
	size_t used = 0;
	buf[0] = '\0';
	for (int node = 0; node < AML_AREA_LINUX_MAX_NODES; node++) {
		if (!raw_test(raw, node))
			continue;
		int last = node;
		while (last + 1 < AML_AREA_LINUX_MAX_NODES && raw_test(raw, last + 1))
			last++;
		int n = last > node ? snprintf(buf + used, len - used, "%s%d-%d", used ? "," : "", node, last)
		                    : snprintf(buf + used, len - used, "%s%d", used ? "," : "", node);
		if (n < 0 || (size_t)n >= len - used)
			return;
		used += (size_t)n;
		node = last;
	}
}
