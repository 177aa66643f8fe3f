/* The test VM (tests/vm/run-vm.sh) as the tests inside it see it: its
 * topology and what the tests must find come from AMLVM_* variables
 * (tests/vm/topology.sh); outside the VM the tests skip. */
#ifndef AML_TESTS_VM_H
#define AML_TESTS_VM_H

#include "nodemask.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VM_MAX_NODES TEST_MAX_NODES

/* Skips the test outside the VM; returns the VM's node count. */
int vm_start(void);
/* The VM's nodes: all of them (0 .. count-1) and the subset the tests
 * use (AMLVM_SUBSET). */
struct vm_nodes {
	int count, all[VM_MAX_NODES];
	int subset_count, subset[VM_MAX_NODES];
};
/* vm_start, and the nodes. */
struct vm_nodes vm_start_nodes(void);
/* A required AMLVM_* variable. */
const char *vm_env(const char *name);
int vm_env_int(const char *name);
/* A "Node N Field:  value kB" line of /sys/devices/system/node/nodeN/meminfo, in KiB. */
long vm_node_meminfo_kb(int node, const char *field);
/* Binds the calling thread to the CPUs of a node. */
void vm_run_on_node(int node);

#ifdef __cplusplus
}
#endif

#endif
