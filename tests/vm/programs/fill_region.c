/* An ordinary program for tests/vm/full_node.c; it links nothing of ours.
 * `fill_region NODE MIB`: a 4 MiB block first (under the shim, a piece of
 * a new region, the rest of which is free), then 34 MiB blocks (each a
 * mapping of its own) up to MIB, then 15 more 4 MiB blocks (the rest of
 * that region). Every byte is written; stdout has the checksum (the same
 * however the blocks are placed); stderr one line per kind of block: how
 * many lie wholly on NODE, wholly elsewhere, or split (move_pages):
 *
 *   fill_region: big: 14 on node 2, 2 elsewhere, 0 split
 *   fill_region: pieces: 3 on node 2, 13 elsewhere, 0 split */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MiB ((size_t)1 << 20)
#define PIECE (4 * MiB - 100)
#define PIECES 16
#define BIG (34 * MiB)
#define MAX_BIG 64
#define CHUNK 1024 /* pages per move_pages call */

static uint64_t sum = 0xcbf29ce484222325ull;

static unsigned char *alloc_touched(size_t size)
{
	unsigned char *buf = malloc(size);
	if (!buf) {
		perror("malloc");
		exit(1);
	}
	uint64_t *words = (uint64_t *)buf;
	for (size_t i = 0; i < size / 8; i++)
		words[i] = i * 0x9e3779b97f4a7c15ull;
	return buf;
}

/* Adds the block to the checksum; 1 when wholly on node, 0 wholly
 * elsewhere, -1 split or unknown. */
static int place(const unsigned char *buf, size_t size, int node)
{
	const uint64_t *words = (const uint64_t *)buf;
	for (size_t i = 0; i < size / 8; i++)
		sum = (sum ^ words[i]) * 0x100000001b3ull;
	long page = sysconf(_SC_PAGESIZE);
	uintptr_t start = ((uintptr_t)buf + (uintptr_t)page - 1) & ~(uintptr_t)(page - 1);
	size_t pages = ((uintptr_t)buf + size - start) / (size_t)page, on = 0, off = 0;
	static void *addrs[CHUNK];
	static int status[CHUNK];
	for (size_t done = 0; done < pages; done += CHUNK) {
		size_t count = pages - done < CHUNK ? pages - done : CHUNK;
		for (size_t i = 0; i < count; i++)
			addrs[i] = (void *)(start + (done + i) * (size_t)page);
		if (syscall(SYS_move_pages, 0, (unsigned long)count, addrs, NULL, status, 0) != 0)
			return -1;
		for (size_t i = 0; i < count; i++) {
			if (status[i] < 0)
				return -1;
			on += status[i] == node;
			off += status[i] != node;
		}
	}
	return off == 0 ? 1 : on == 0 ? 0 : -1;
}

static void say(const char *what, const int *where, int count, int node)
{
	int on = 0, off = 0;
	for (int i = 0; i < count; i++) {
		on += where[i] == 1;
		off += where[i] == 0;
	}
	fprintf(stderr, "fill_region: %s: %d on node %d, %d elsewhere, %d split\n", what, on, node, off,
	        count - on - off);
}

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	int node = atoi(argv[1]);
	size_t total = strtoul(argv[2], NULL, 10) * MiB;
	unsigned char *pieces[PIECES], *big[MAX_BIG];
	int big_count = 0, where_pieces[PIECES], where_big[MAX_BIG];
	pieces[0] = alloc_touched(PIECE);
	while (big_count < MAX_BIG && (size_t)big_count * BIG < total)
		big[big_count++] = alloc_touched(BIG);
	for (int i = 1; i < PIECES; i++)
		pieces[i] = alloc_touched(PIECE);
	for (int i = 0; i < big_count; i++)
		where_big[i] = place(big[i], BIG, node);
	for (int i = 0; i < PIECES; i++)
		where_pieces[i] = place(pieces[i], PIECE, node);
	printf("fill_region: %d big blocks, %d pieces, checksum %016llx\n", big_count, PIECES,
	       (unsigned long long)sum);
	say("big", where_big, big_count, node);
	say("pieces", where_pieces, PIECES, node);
	for (int i = 0; i < big_count; i++)
		free(big[i]);
	for (int i = 0; i < PIECES; i++)
		free(pieces[i]);
	return 0;
}
