/* The shim on an unmodified program (tests/vm/programs/touch256.c: malloc
 * 256 MiB, write every byte, print a checksum, free) started from node 0's
 * CPUs under AMLSHIM_POLICY=block-interleave:2M.
 * The output is byte for byte a plain run's, the report's rule counted
 * the one allocation, and its per-node resident pages at the peak are:
 * each node its share of the 128 blocks of 2 MiB (32 in the 4-node
 * VM), give or take one block. */
#include "shim_vm.h"

int main(void)
{
	return shim_vm_touch256_test("block-interleave");
}
