/* The shim on an unmodified program (tests/vm/programs/touch256.c: malloc
 * 256 MiB, write every byte, print a checksum, free) started from node 0's
 * CPUs under AMLSHIM_POLICY=bind:3 (the largest node; in the 2- and
 * 8-node VMs, theirs).
 * The output is byte for byte a plain run's, the report's rule counted
 * the one allocation, and its per-node resident pages at the peak are:
 * all 65536 pages on that node. */
#include "shim_vm.h"

int main(void)
{
	return shim_vm_touch256_test("bind");
}
