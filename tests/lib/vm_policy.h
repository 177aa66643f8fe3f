/* What each shim policy promises in the test VM, and the check of a plain
 * program run under the shim there (tests/vm/shim_*.c). */
#ifndef AML_TESTS_VM_POLICY_H
#define AML_TESTS_VM_POLICY_H

#include "report.h"
#include "launch.h"

#ifdef __cplusplus
extern "C" {
#endif

enum shim_vm_expect {
	SHIM_VM_SPREAD_PAGES,  /* interleave: each node within 1% of its share */
	SHIM_VM_SPREAD_BLOCKS, /* block-interleave: each node within a block of its share */
	SHIM_VM_ONE_NODE,      /* bind, bandwidth: every page on one node */
};

struct shim_vm_policy {
	char policy[64]; /* AMLSHIM_POLICY */
	enum shim_vm_expect expect;
	int node;          /* SHIM_VM_ONE_NODE: the node */
	long block_pages;  /* SHIM_VM_SPREAD_BLOCKS: pages per block */
};

/* The pages at the peak are what the policy promises: `total` pages (at
 * least `least`) over `nodes` nodes. */
void shim_vm_check_placement(const char *what, const struct shim_vm_policy *p, const struct shim_vm_report *r,
                             int nodes, long least);
/* The rule took at least `count` allocations, `bytes` in all, no fallback. */
void shim_vm_check_rule(const char *what, const struct shim_vm_report *r, unsigned long count,
                        unsigned long bytes);
/* Node `initiator`'s best bandwidth target (AMLVM_HMAT_LOCAL). */
int shim_vm_best_bandwidth_from(int initiator);
/* interleave, block-interleave, bind or bandwidth for the VM's topology. */
struct shim_vm_policy shim_vm_policy_named(const char *name);
/* Runs argv plainly from node 0's CPUs; fails unless it exits 0. */
struct shim_vm_run shim_vm_plain_run(const char *what, char *const *argv, char *const *env);
/* Runs argv under the shim with policy p from node 0's CPUs: same status
 * and output as the plain run, and the report (returned) shows the
 * allocation of `bytes` placed as p promises. */
struct shim_vm_report shim_vm_check_program(const char *what, const struct shim_vm_policy *p, char *const *argv,
                                            char *const *env, const struct shim_vm_run *plain,
                                            unsigned long bytes, int nodes);
/* touch256 (tests/vm/programs/touch256.c) under the policy `name`. */
int shim_vm_touch256_test(const char *name);

#ifdef __cplusplus
}
#endif

#endif
