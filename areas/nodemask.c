/* Conversions between libnuma masks, raw kernel masks and node lists. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include <aml/area/linux.h>
#include "internal.h"

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
		if (node >= AML_MAX_NODES || node >= allowed->size ||
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
	for (unsigned node = 0; node < AML_MAX_NODES && count < max_nodes; node++)
		if (aml_nodemask_test(raw, node))
			nodes[count++] = (int)node;
	return count;
}

void aml_raw_mask_format(const unsigned long *raw, char *buf, size_t len)
{
	size_t used = 0;
	buf[0] = '\0';
	for (unsigned node = 0, last; aml_nodemask_next_run(raw, &node, &last); node = last + 1) {
		int n = last > node ? snprintf(buf + used, len - used, "%s%u-%u", used ? "," : "", node, last)
		                    : snprintf(buf + used, len - used, "%s%u", used ? "," : "", node);
		if (n < 0 || (size_t)n >= len - used)
			return;
		used += (size_t)n;
	}
}
