/* An unmodified MPI program for the MPI tests (tests/mpi/, tests/vm/mpi):
 * it links MPI only, never the shim. Each rank, in rank order, mallocs its
 * MiB (argv[1]: MiB per rank, "320,320,32": rank r takes entry r, the last
 * entry for the ranks after) as 8 MiB buffers, writes every word, reads
 * them back into a checksum; an MPI_Allreduce of the written and the read
 * checksums must agree, and rank 0 prints the job's sums. The output
 * depends on the arguments only. With MPI_BUFFERS_PAGES=PATH (%r: the
 * rank), each rank writes where its buffers' pages are (move_pages with no
 * target nodes, page by page) to PATH:
 *   rank R
 *   cpus LIST
 *   node N PAGES        (one line per node holding some)
 *   unresolved PAGES    (a page move_pages gave no node for)
 * The buffers are not freed: the shim's report at exit still counts them. */
#define _GNU_SOURCE
#include <mpi.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define BUFFER_BYTES ((size_t)8 << 20)
/* Not a multiple of a page: the shim's large path, as a program asks. */
#define USABLE (BUFFER_BYTES - 24)
#define MAX_BUFFERS 256
#define MAX_NODES 64

static long mib_of_rank(const char *list, int rank)
{
	long mib = 0;
	for (int i = 0;; i++) {
		char *end;
		mib = strtol(list, &end, 10);
		if (end == list || mib < 0 || mib > (long)MAX_BUFFERS * 8 || (*end != ',' && *end != '\0')) {
			fprintf(stderr, "buffers: bad MiB list '%s'\n", list);
			MPI_Abort(MPI_COMM_WORLD, 2);
		}
		if (i == rank || *end == '\0')
			return mib;
		list = end + 1;
	}
}

/* The CPUs this rank may run on, as a list like "0-1,3". */
static void cpu_list(char *buf, size_t len)
{
	cpu_set_t set;
	size_t used = 0;
	buf[0] = '\0';
	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return;
	for (int c = 0; c < CPU_SETSIZE; c++) {
		if (!CPU_ISSET(c, &set) || (c > 0 && CPU_ISSET(c - 1, &set)))
			continue;
		int last = c;
		while (last + 1 < CPU_SETSIZE && CPU_ISSET(last + 1, &set))
			last++;
		int n = last > c ? snprintf(buf + used, len - used, "%s%d-%d", used ? "," : "", c, last)
		                 : snprintf(buf + used, len - used, "%s%d", used ? "," : "", c);
		if (n < 0 || (size_t)n >= len - used)
			return;
		used += (size_t)n;
	}
}

/* Pages of each buffer per node, into the side file named by the variable. */
static void write_pages(const char *pattern, int rank, char **buffers, int count)
{
	char path[4096];
	size_t used = 0;
	for (const char *p = pattern; *p && used + 16 < sizeof(path); p++) {
		if (p[0] == '%' && p[1] == 'r') {
			used += (size_t)snprintf(path + used, sizeof(path) - used, "%d", rank);
			p++;
		} else {
			path[used++] = *p;
		}
	}
	path[used] = '\0';
	long page = sysconf(_SC_PAGESIZE), per_node[MAX_NODES] = {0}, unresolved = 0;
	enum { BATCH = 1024 };
	void *pages[BATCH];
	int status[BATCH];
	for (int b = 0; b < count; b++) {
		uintptr_t first = (uintptr_t)buffers[b] & ~(uintptr_t)(page - 1);
		uintptr_t end = (uintptr_t)buffers[b] + USABLE;
		while (first < end) {
			int n = 0;
			for (; n < BATCH && first < end; n++, first += (uintptr_t)page)
				pages[n] = (void *)first;
			if (syscall(SYS_move_pages, 0, (unsigned long)n, pages, NULL, status, 0) != 0) {
				unresolved += n;
				continue;
			}
			for (int i = 0; i < n; i++) {
				if (status[i] >= 0 && status[i] < MAX_NODES)
					per_node[status[i]]++;
				else
					unresolved++;
			}
		}
	}
	FILE *f = fopen(path, "w");
	if (!f) {
		perror(path);
		MPI_Abort(MPI_COMM_WORLD, 2);
	}
	char cpus[256];
	cpu_list(cpus, sizeof(cpus));
	fprintf(f, "rank %d\ncpus %s\n", rank, cpus);
	for (int n = 0; n < MAX_NODES; n++)
		if (per_node[n])
			fprintf(f, "node %d %ld\n", n, per_node[n]);
	fprintf(f, "unresolved %ld\n", unresolved);
	if (fclose(f) != 0) {
		perror(path);
		MPI_Abort(MPI_COMM_WORLD, 2);
	}
}

int main(int argc, char **argv)
{
	MPI_Init(&argc, &argv);
	int rank, size;
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	if (argc != 2) {
		if (rank == 0)
			fprintf(stderr, "usage: buffers MIB[,MIB...]\n");
		MPI_Finalize();
		return 2;
	}
	int count = (int)(mib_of_rank(argv[1], rank) / 8);
	static char *buffers[MAX_BUFFERS];
	uint64_t sums[2] = {0, 0}; /* written, read back */

	/* In rank order, so what each rank finds free does not depend on timing. */
	for (int turn = 0; turn < size; turn++) {
		if (turn == rank) {
			for (int b = 0; b < count; b++) {
				buffers[b] = malloc(USABLE);
				if (!buffers[b]) {
					fprintf(stderr, "rank %d: malloc failed\n", rank);
					MPI_Abort(MPI_COMM_WORLD, 1);
				}
				uint64_t *w = (uint64_t *)buffers[b];
				for (size_t i = 0; i < USABLE / 8; i++) {
					w[i] = (uint64_t)rank << 48 ^ (uint64_t)b << 32 ^ i * 0x9e3779b97f4a7c15ull;
					sums[0] += w[i];
				}
			}
		}
		MPI_Barrier(MPI_COMM_WORLD);
	}
	for (int b = 0; b < count; b++) {
		const uint64_t *w = (const uint64_t *)buffers[b];
		for (size_t i = 0; i < USABLE / 8; i++)
			sums[1] += w[i];
	}
	uint64_t total[2];
	long long mib = (long long)count * 8, total_mib = 0;
	MPI_Allreduce(sums, total, 2, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
	MPI_Allreduce(&mib, &total_mib, 1, MPI_LONG_LONG, MPI_SUM, MPI_COMM_WORLD);
	const char *pattern = getenv("MPI_BUFFERS_PAGES");
	if (pattern && *pattern)
		write_pages(pattern, rank, buffers, count);
	int ok = total[0] == total[1];
	if (rank == 0)
		printf("ranks %d, %lld MiB in 8 MiB buffers, checksum %016llx, read back %s\n", size, total_mib,
		       (unsigned long long)total[0], ok ? "equal" : "DIFFERENT");
	MPI_Finalize();
	return ok ? 0 : 1;
}
