/* Linked against libamlshim.so (DT_NEEDED, absolute RUNPATH), so that the
 * shim loads even in a setuid process, where ld.so ignores LD_PRELOAD.
 * Prints whether the process is in secure mode (AT_SECURE), then the
 * shim's JSON report: in secure mode the AMLSHIM_* environment must be
 * ignored (no rules, no message about bad values) and no file written. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include <amlshim.h>

int main(void)
{
	void *big = malloc((size_t)4 << 20); /* would go to a rule, if there were one */
	memset(big, 1, (size_t)4 << 20);
	printf("secure %lu\n", getauxval(AT_SECURE));
	fflush(stdout);
	amlshim_write_report(1, 1);
	free(big);
	return 0;
}
