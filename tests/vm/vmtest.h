/* Helpers for the tests that run inside the test VM (tests/vm/run-vm.sh).
 * The VM's topology and what the tests must find in it come from AMLVM_*
 * variables (tests/vm/topology.sh); outside the VM the tests skip. */
#ifndef AML_TESTS_VMTEST_H
#define AML_TESTS_VMTEST_H

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <numa.h>
#include "check.h"

#define VM_MAX_NODES 64

/* Skips the test outside the VM; returns the VM's node count. */
static inline int vm_start(void)
{
	const char *nodes = getenv("AMLVM_NODES");
	if (!nodes || !*nodes)
		test_skip_hardware("runs inside the test VM only (make check-vm)");
	if (numa_available() < 0) {
		fprintf(stderr, "FAIL: the VM kernel has no NUMA support\n");
		exit(1);
	}
	return atoi(nodes);
}

/* A required AMLVM_* variable. */
static inline const char *vm_env(const char *name)
{
	const char *value = getenv(name);
	CHECK(value != NULL, "%s is not set (see tests/vm/topology.sh)", name);
	return value;
}

static inline int vm_env_int(const char *name)
{
	return atoi(vm_env(name));
}

/* A list of numbers separated by commas or spaces; returns the count. */
static inline int vm_parse_list(const char *text, int *out, int max)
{
	int count = 0;
	while (*text && count < max) {
		char *end;
		long value = strtol(text, &end, 10);
		if (end == text) {
			text++;
			continue;
		}
		out[count++] = (int)value;
		text = end;
	}
	return count;
}

/* A libnuma node mask of the given nodes (free with numa_bitmask_free). */
static inline struct bitmask *vm_mask_of(const int *nodes, int count)
{
	struct bitmask *mask = numa_allocate_nodemask();
	for (int i = 0; i < count; i++)
		numa_bitmask_setbit(mask, (unsigned)nodes[i]);
	return mask;
}

/* A "Node N Field:  value kB" line of /sys/devices/system/node/nodeN/meminfo, in KiB. */
static inline long vm_node_meminfo_kb(int node, const char *field)
{
	char path[96], line[256], key[64];
	snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/meminfo", node);
	FILE *file = fopen(path, "r");
	CHECK(file != NULL, "cannot open %s", path);
	long value = -1;
	while (fgets(line, sizeof(line), file)) {
		int n;
		long kb;
		if (sscanf(line, "Node %d %63[^:]: %ld", &n, key, &kb) == 3 && strcmp(key, field) == 0) {
			value = kb;
			break;
		}
	}
	fclose(file);
	CHECK(value >= 0, "no %s in %s", field, path);
	return value;
}

/* Binds the calling thread to the CPUs of a node. */
static inline void vm_run_on_node(int node)
{
	struct bitmask *cpus = numa_allocate_cpumask();
	CHECK(numa_node_to_cpus(node, cpus) == 0, "CPUs of node %d", node);
	cpu_set_t set;
	CPU_ZERO(&set);
	int count = 0;
	for (unsigned cpu = 0; cpu < cpus->size && cpu < CPU_SETSIZE; cpu++)
		if (numa_bitmask_isbitset(cpus, cpu)) {
			CPU_SET(cpu, &set);
			count++;
		}
	numa_bitmask_free(cpus);
	CHECK(count > 0, "node %d has no CPU", node);
	CHECK(sched_setaffinity(0, sizeof(set), &set) == 0, "bind to node %d's CPUs", node);
}

/* Node of every page of [buf, buf+size) (calloc'ed; free it). */
static inline int *vm_page_nodes(const void *buf, size_t size)
{
	size_t pages = (size + test_page_size() - 1) / test_page_size();
	int *where = calloc(pages, sizeof(int));
	CHECK(where != NULL, "out of memory");
	CHECK(test_pages_nodes(buf, size, where) == 0, "move_pages failed");
	return where;
}

/* Prints "node:pages" for each node holding pages of the range, and
 * returns the pages on `node` (not resident pages count for none). */
static inline long vm_histogram(const char *what, const int *where, size_t pages, int node)
{
	long counts[VM_MAX_NODES] = {0}, other = 0;
	for (size_t i = 0; i < pages; i++) {
		if (where[i] >= 0 && where[i] < VM_MAX_NODES)
			counts[where[i]]++;
		else
			other++;
	}
	printf("%s:", what);
	for (int n = 0; n < VM_MAX_NODES; n++)
		if (counts[n])
			printf(" node%d=%ld", n, counts[n]);
	if (other)
		printf(" not-resident=%ld", other);
	printf(" (of %zu pages)\n", pages);
	fflush(stdout);
	return node >= 0 && node < VM_MAX_NODES ? counts[node] : 0;
}

#endif
