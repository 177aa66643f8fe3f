/* An ordinary program for the shim's VM tests (tests/vm/shim_node_sets.c):
 * it knows nothing of amlshim and links nothing of ours. It mallocs one
 * 64 MiB buffer (or the size given in MiB), writes every byte, asks
 * move_pages(2) (no target nodes) where each page is, and prints
 * "pages: TOTAL", "elsewhere: PAGES" for pages move_pages gave no node,
 * then "node N: PAGES" for each node holding some. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_NODES 1024

int main(int argc, char **argv)
{
	size_t size = (argc > 1 ? strtoul(argv[1], NULL, 10) : 64) << 20;
	size_t page = (size_t)sysconf(_SC_PAGESIZE), pages = size / page;
	unsigned char *buf = malloc(size);
	void **addrs = calloc(pages, sizeof(*addrs));
	int *status = calloc(pages, sizeof(*status));
	if (!buf || !addrs || !status) {
		perror("malloc");
		return 1;
	}
	memset(buf, 0x5a, size);
	for (size_t i = 0; i < pages; i++)
		addrs[i] = buf + i * page;
	if (syscall(SYS_move_pages, 0, pages, addrs, NULL, status, 0) != 0) {
		perror("move_pages");
		return 1;
	}
	static long counts[MAX_NODES];
	long elsewhere = (long)pages;
	for (size_t i = 0; i < pages; i++)
		if (status[i] >= 0 && status[i] < MAX_NODES) {
			counts[status[i]]++;
			elsewhere--; /* the others: an error instead of a node */
		}
	printf("pages: %zu\n", pages);
	if (elsewhere)
		printf("elsewhere: %ld\n", elsewhere);
	for (int node = 0; node < MAX_NODES; node++)
		if (counts[node])
			printf("node %d: %ld\n", node, counts[node]);
	free(status);
	free(addrs);
	free(buf);
	return 0;
}
