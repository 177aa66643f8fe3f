/* The test VM as the tests inside it see it: AMLVM_* variables, a node's
 * meminfo, running on a node's CPUs. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <numa.h>

#include "check.h"
#include "vm.h"

int vm_start(void)
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

struct vm_nodes vm_start_nodes(void)
{
	struct vm_nodes n;
	n.count = vm_start();
	for (int i = 0; i < n.count; i++)
		n.all[i] = i;
	n.subset_count = test_parse_list(vm_env("AMLVM_SUBSET"), n.subset, VM_MAX_NODES);
	return n;
}

const char *vm_env(const char *name)
{
	const char *value = getenv(name);
	CHECK(value != NULL, "%s is not set (see tests/vm/topology.sh)", name);
	return value;
}

int vm_env_int(const char *name)
{
	return atoi(vm_env(name));
}

long vm_node_meminfo_kb(int node, const char *field)
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

void vm_run_on_node(int node)
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
