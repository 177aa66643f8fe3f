/* The shim on an unmodified program (tests/vm/programs/touch256.c: malloc
 * 256 MiB, write every byte, print a checksum, free) started from node 0's
 * CPUs under AMLSHIM_POLICY=interleave (all nodes).
 * The output is byte for byte a plain run's, the report's rule counted
 * the one allocation, and its per-node resident pages at the peak are:
 * each node within 1% of its share (a quarter of the 65536 pages in
 * the 4-node VM; measured: exactly 16384 each, see shim_vm.h on THP). */
#include "shim_vm.h"

int main(void)
{
	return shim_vm_touch256_test("interleave");
}
