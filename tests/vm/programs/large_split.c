/* An ordinary program for tests/vm/shim_large_split.c; it links nothing of
 * ours. Its large allocations follow a script (below) made so that an
 * allocator that splits and coalesces freed blocks hands out pieces of
 * freed memory, and one that caches whole blocks reuses some.
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

static void checkpoint(const char *text, int len)
{
	char name[32];
	snprintf(name, sizeof(name), "%.*s", len, text);
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

/* The sequence: +X20 mallocs 20 MiB as block X, -X frees it, ~X9
 * reallocs it to 9 MiB, =name is a checkpoint. Each malloc and realloc
 * adds 100 bytes more than the one before it, so no size is a whole
 * number of pages. Three neighbours and one more; two neighbours freed
 * (40 MiB to split); pieces of other sizes; a neighbour freed before a
 * block grows (maybe into it); reallocs smaller; frees in another order. */
static const char script[] = "+A20 +B20 +C20 +D8 -A -B +E12 +F6 +G30 +H18 =reuse "
                             "-G ~F26 ~E5 ~C19 -D -H +I24 +J3 +K40 ~K33 ~J9 =end "
                             "-J -C -K -E -I -F";

int main(void)
{
	size_t extra = 0;
	for (const char *step = script; *step;) {
		int len = (int)strcspn(step, " ");
		char op = step[0], name = step[1];
		size_t size = strtoul(step + 2, NULL, 10) * MiB;
		if (op == '+' || op == '~')
			size += extra += 100;
		if (op == '+')
			alloc(name, size);
		else if (op == '-')
			release(name);
		else if (op == '~')
			resize(name, size);
		else
			checkpoint(step + 1, len - 1);
		step += len + (step[len] == ' ');
	}
	printf("large_split: %s\n", failed ? "content broken" : "content kept");
	return failed;
}
