/* sysfs facts about NUMA nodes and CPUs (include/aml/utils/node_info.h):
 * the OS layer's reads for amlshim's node set names when hwloc is not
 * there. Through aml_os_read_file and aml_os_each_entry (no stdio, no
 * malloc). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <aml/utils/nodemask.h>
#include <aml/utils/node_info.h>
#include "os.h"

int aml_cpu_package(unsigned cpu)
{
	char path[96];
	long id;
	snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%u/topology/physical_package_id", cpu);
	return aml_os_read_long(path, &id) == 0 && id >= 0 && id < (1L << 30) ? (int)id : -1;
}

struct initiators {
	unsigned long *mask;
	int count;
};

static void add_initiator(const char *name, void *ctx)
{
	struct initiators *found = ctx;
	char *end;
	long n = strncmp(name, "node", 4) == 0 ? strtol(name + 4, &end, 10) : -1;
	if (n >= 0 && n < AML_MAX_NODES && end != name + 4 && *end == '\0') {
		found->mask[n / AML_NODEMASK_WORD_BITS] |= 1UL << (n % AML_NODEMASK_WORD_BITS);
		found->count++;
	}
}

int aml_node_initiators(unsigned node, unsigned long *mask)
{
	AML_KEEP_ERRNO;
	char path[96];
	snprintf(path, sizeof(path), AML_OS_NODE_DIR "/node%u/access0/initiators", node);
	struct initiators found = {mask, 0};
	/* Its entries read with getdents64 (opendir would malloc). */
	if (aml_os_each_entry(path, add_initiator, &found) != 0)
		return -1;
	return found.count;
}

unsigned long aml_node_read_bandwidth(unsigned node)
{
	char path[96];
	long value;
	snprintf(path, sizeof(path), AML_OS_NODE_DIR "/node%u/access0/initiators/read_bandwidth", node);
	return aml_os_read_long(path, &value) == 0 && value > 0 ? (unsigned long)value : 0;
}

int aml_node_distance(unsigned node, unsigned other)
{
	char path[96], row[4096], *at = row, *end;
	snprintf(path, sizeof(path), AML_OS_NODE_DIR "/node%u/distance", node);
	if (aml_os_read_file(path, row, sizeof(row)) <= 0)
		return -1;
	for (unsigned i = 0;; i++, at = end) {
		long v = strtol(at, &end, 10);
		if (end == at)
			return -1;
		if (i == other)
			return v >= 0 && v < (1L << 30) ? (int)v : -1;
	}
}
