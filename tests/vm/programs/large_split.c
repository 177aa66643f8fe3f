/* An ordinary program for tests/vm/shim_large_split.c; it links nothing of
 * ours. Its large allocations are made so that an allocator that splits
 * and coalesces freed blocks hands out pieces of freed memory: three
 * neighbours of 20 MiB, two of them freed (40 MiB together), then 12, 6,
 * 30 and 18 MiB; reallocs smaller and larger (after a neighbour is freed,
 * so a block may grow into it), frees in another order, new blocks again.
 * The sizes are not multiples of a page.
 *
 * Every usable byte (malloc_usable_size) of every block is written with a
 * pattern of the block's own; a realloc must keep the bytes it promised
 * (the old usable bytes, up to the new size), and at each checkpoint every
 * live block is read back whole (so two blocks handed overlapping memory
 * fail). A broken byte prints "FAIL content: ..." and the program exits 1.
 * At each checkpoint, one line per live block with the node of each page
 * (move_pages with no target nodes), one character a page:
 *
 *   checkpoint reuse: 6 blocks
 *   block C size 20971820 usable 20975616 offset 0 pages 5121 errors 0 first-error 0 nodes 0101...
 *
 * offset: the pointer's distance from its page start; pages: from that
 * page to the end of the usable bytes; nodes: '0'-'9', 'x' for a page
 * move_pages gave no node (errors counts them, first-error is its status). */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MiB ((size_t)1 << 20)
#define MAX_BLOCKS 16
#define CHUNK 1024 /* pages per move_pages call */

struct block {
	char name;
	unsigned char *ptr;
	size_t size, usable;
};

static struct block blocks[MAX_BLOCKS];
static int failed;

/* The 64-bit word at word offset w of a block named `name`: differs from
 * block to block and from word to word. Written and read a word at a time
 * (the VM emulates its CPUs: bytes would take eight times as long). */
static uint64_t pattern(char name, size_t w)
{
	return ((uint64_t)(unsigned char)name << 56) ^ (w * 0x9e3779b97f4a7c15ull);
}

/* Byte i of the pattern (little-endian, as the words are stored). */
static unsigned char pattern_byte(char name, size_t i)
{
	return (unsigned char)(pattern(name, i / 8) >> (8 * (i % 8)));
}

/* Bytes [from, usable) get the block's pattern. */
static void fill(struct block *b, size_t from)
{
	size_t i = from;
	for (; i < b->usable && i % 8; i++)
		b->ptr[i] = pattern_byte(b->name, i);
	for (; i + 8 <= b->usable; i += 8) {
		uint64_t word = pattern(b->name, i / 8);
		memcpy(b->ptr + i, &word, sizeof(word));
	}
	for (; i < b->usable; i++)
		b->ptr[i] = pattern_byte(b->name, i);
}

/* Bytes [0, upto) hold the block's pattern; the first wrong one is said. */
static void check_content(const struct block *b, size_t upto, const char *when)
{
	size_t i = 0;
	for (uint64_t word; i + 8 <= upto; i += 8) {
		memcpy(&word, b->ptr + i, sizeof(word));
		if (word != pattern(b->name, i / 8))
			break;
	}
	for (; i < upto; i++) {
		if (b->ptr[i] != pattern_byte(b->name, i)) {
			printf("FAIL content: block %c (%zu bytes) %s: byte %zu of %zu is 0x%02x, want 0x%02x\n", b->name,
			       b->size, when, i, upto, b->ptr[i], pattern_byte(b->name, i));
			failed = 1;
			return;
		}
	}
}

static struct block *find(char name)
{
	for (int i = 0; i < MAX_BLOCKS; i++)
		if (blocks[i].name == name)
			return &blocks[i];
	fprintf(stderr, "no block %c\n", name);
	exit(2);
}

static void alloc(char name, size_t size)
{
	struct block *b = NULL;
	for (int i = 0; i < MAX_BLOCKS && !b; i++)
		if (!blocks[i].name)
			b = &blocks[i];
	if (!b) {
		fprintf(stderr, "too many blocks\n");
		exit(2);
	}
	b->ptr = malloc(size);
	if (!b->ptr) {
		fprintf(stderr, "malloc(%zu) failed\n", size);
		exit(2);
	}
	b->name = name;
	b->size = size;
	b->usable = malloc_usable_size(b->ptr);
	fill(b, 0);
}

static void release(char name)
{
	struct block *b = find(name);
	check_content(b, b->usable, "before its free");
	free(b->ptr);
	memset(b, 0, sizeof(*b));
}

static void resize(char name, size_t size)
{
	struct block *b = find(name);
	size_t kept = b->usable < size ? b->usable : size;
	unsigned char *moved = realloc(b->ptr, size);
	if (!moved) {
		fprintf(stderr, "realloc(%zu) failed\n", size);
		exit(2);
	}
	b->ptr = moved;
	b->size = size;
	b->usable = malloc_usable_size(moved);
	char when[64];
	snprintf(when, sizeof(when), "after its realloc to %zu", size);
	check_content(b, kept, when);
	fill(b, kept);
}

/* The node of every page of a block, one character each. */
static void print_nodes(const struct block *b)
{
	long page = sysconf(_SC_PAGESIZE);
	uintptr_t start = (uintptr_t)b->ptr & ~(uintptr_t)(page - 1);
	uintptr_t end = (uintptr_t)b->ptr + b->usable;
	size_t pages = (end - start + (size_t)page - 1) / (size_t)page, errors = 0;
	int first_error = 0;
	static void *addrs[CHUNK];
	static int status[CHUNK];
	printf("block %c size %zu usable %zu offset %zu pages %zu", b->name, b->size, b->usable,
	       (size_t)((uintptr_t)b->ptr - start), pages);
	/* The nodes are gathered first: the error count comes before them. */
	char *nodes = malloc(pages + 1);
	if (!nodes) {
		fprintf(stderr, "malloc failed\n");
		exit(2);
	}
	for (size_t done = 0; done < pages; done += CHUNK) {
		size_t count = pages - done < CHUNK ? pages - done : CHUNK;
		for (size_t i = 0; i < count; i++)
			addrs[i] = (void *)(start + (done + i) * (size_t)page);
		if (syscall(SYS_move_pages, 0, (unsigned long)count, addrs, NULL, status, 0) != 0) {
			perror("move_pages");
			exit(2);
		}
		for (size_t i = 0; i < count; i++) {
			int ok = status[i] >= 0 && status[i] <= 9;
			nodes[done + i] = ok ? (char)('0' + status[i]) : 'x';
			if (!ok && !errors++)
				first_error = status[i];
		}
	}
	nodes[pages] = '\0';
	printf(" errors %zu first-error %d nodes %s\n", errors, first_error, nodes);
	free(nodes);
}

static void checkpoint(const char *name)
{
	int live = 0;
	for (int i = 0; i < MAX_BLOCKS; i++) {
		if (!blocks[i].name)
			continue;
		live++;
		check_content(&blocks[i], blocks[i].usable, name);
		for (int j = 0; j < i; j++) {
			const struct block *a = &blocks[i], *b = &blocks[j];
			if (b->name && a->ptr < b->ptr + b->usable && b->ptr < a->ptr + a->usable) {
				printf("FAIL overlap: blocks %c and %c share memory at %s\n", a->name, b->name, name);
				failed = 1;
			}
		}
	}
	printf("checkpoint %s: %d blocks\n", name, live);
	for (int i = 0; i < MAX_BLOCKS; i++)
		if (blocks[i].name)
			print_nodes(&blocks[i]);
	fflush(stdout);
}

int main(void)
{
	/* Three neighbours, and one more after them. */
	alloc('A', 20 * MiB + 100);
	alloc('B', 20 * MiB + 200);
	alloc('C', 20 * MiB + 300);
	alloc('D', 8 * MiB + 400);
	/* Two neighbours freed: 40 MiB to split. */
	release('A');
	release('B');
	alloc('E', 12 * MiB + 500);
	alloc('F', 6 * MiB + 600);
	alloc('G', 30 * MiB + 700);
	alloc('H', 18 * MiB + 800);
	checkpoint("reuse");
	/* A neighbour freed, then reallocs: larger (maybe into it), smaller. */
	release('G');
	resize('F', 26 * MiB + 1000);
	resize('E', 5 * MiB + 900);
	resize('C', 19 * MiB + 1100);
	release('D');
	release('H');
	alloc('I', 24 * MiB + 1200);
	alloc('J', 3 * MiB + 1300);
	alloc('K', 40 * MiB + 1400);
	resize('K', 33 * MiB + 1500);
	resize('J', 9 * MiB + 1600);
	checkpoint("end");
	const char order[] = "JCKEIF";
	for (size_t i = 0; i < sizeof(order) - 1; i++)
		release(order[i]);
	printf("large_split: %s\n", failed ? "content broken" : "content kept");
	return failed;
}
