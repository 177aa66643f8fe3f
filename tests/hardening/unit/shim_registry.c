/* The shim's address registry and block records as a pure unit
 * (shim/registry.c compiled in, the OS layer from libaml): every pointer the program
 * frees is looked up here, ours or not, so a lookup must never crash, never
 * claim a pointer that was not registered, and stay right under threads.
 *
 * Checked: unaligned, NULL, kernel-half and highest user addresses are
 * never ours; set/lookup/clear over addresses spread across the whole
 * 47-bit space; records come zeroed, distinct, and are recycled (no
 * growth over 100 000 new/delete cycles); eight threads registering and
 * looking up their own addresses while others clear theirs; the fork
 * lock helpers leave the record lock free. */
#include "../../../shim/registry.c"

/* Defined by shim/pool.c in the shim; the registry counts its lock in it. */
SHIM_TLS int shim_locks_held;

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static size_t mapped_kib(void)
{
	FILE *maps = fopen("/proc/self/maps", "r");
	CHECK(maps != NULL, "open /proc/self/maps");
	unsigned long start, end;
	size_t total = 0;
	char line[512];
	while (fgets(line, sizeof(line), maps))
		if (sscanf(line, "%lx-%lx", &start, &end) == 2)
			total += (end - start) >> 10;
	fclose(maps);
	return total;
}

static void test_never_ours(void)
{
	static const uintptr_t probes[] = {
		0, 1, 8, 4095, 4096, 0x10000, 0x7fffffffe000, 0x7ffffffff000, 0x800000000000,
		0xffff800000000000, 0xfffffffffffff000, UINTPTR_MAX, UINTPTR_MAX - 4095,
	};
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
		CHECK(shim_registry_lookup((void *)probes[i]) == NULL, "%#lx looks ours", (unsigned long)probes[i]);
	/* A stack and a heap address: never registered. */
	int local;
	void *heap = malloc(64);
	CHECK(shim_registry_lookup(&local) == NULL && shim_registry_lookup(heap) == NULL, "stack/heap ours");
	free(heap);
	/* Setting beyond the table fails for a block, succeeds for a clear. */
	struct shim_block *block = shim_block_new();
	CHECK(shim_registry_set((void *)0x800000000000, block) == -1, "set beyond 47 bits");
	CHECK(shim_registry_set((void *)0x800000000000, NULL) == 0, "clear beyond 47 bits");
	CHECK(shim_registry_set((void *)0xfffffffffffff000, block) == -1, "set in the kernel half");
	shim_block_delete(block);
}

static void test_spread(void)
{
	enum { COUNT = 4096 };
	static uintptr_t addrs[COUNT];
	static struct shim_block *blocks[COUNT];
	uint64_t x = 0x243f6a8885a308d3ULL;
	for (int i = 0; i < COUNT; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		addrs[i] = (uintptr_t)(x % (((uint64_t)1 << 47) - 4096)) & ~(uintptr_t)4095;
		if (i < 64) /* and neighbours of a GiB boundary */
			addrs[i] = ((uintptr_t)(i + 1) << 30) - 4096 * (uintptr_t)(i % 2);
		blocks[i] = shim_block_new();
		blocks[i]->ptr = (void *)addrs[i];
		CHECK(shim_registry_set((void *)addrs[i], blocks[i]) == 0, "set %#lx", (unsigned long)addrs[i]);
	}
	for (int i = 0; i < COUNT; i++) {
		struct shim_block *found = shim_registry_lookup((void *)addrs[i]);
		/* A later duplicate address may have replaced an earlier entry. */
		CHECK(found && found->ptr == (void *)addrs[i], "lookup %#lx", (unsigned long)addrs[i]);
		CHECK(shim_registry_lookup((void *)(addrs[i] + 8)) == NULL, "inside a page is never ours");
	}
	for (int i = 0; i < COUNT; i++)
		CHECK(shim_registry_set((void *)addrs[i], NULL) == 0, "clear");
	for (int i = 0; i < COUNT; i++) {
		CHECK(shim_registry_lookup((void *)addrs[i]) == NULL, "cleared %#lx still found", (unsigned long)addrs[i]);
		shim_block_delete(blocks[i]);
	}
}

static void test_records(void)
{
	struct shim_block *first[1000];
	for (int i = 0; i < 1000; i++) {
		first[i] = shim_block_new();
		CHECK(first[i] != NULL, "record %d", i);
		static const struct shim_block zero;
		CHECK(memcmp(first[i], &zero, sizeof(zero)) == 0, "record %d not zeroed", i);
		first[i]->ptr = first[i];
		first[i]->mapped = (size_t)i;
		for (int k = 0; k < i; k += 97)
			CHECK(first[k] != first[i], "record handed out twice");
	}
	for (int i = 0; i < 1000; i++) {
		CHECK(first[i]->mapped == (size_t)i, "record %d overwritten", i);
		shim_block_delete(first[i]);
	}
	size_t before = mapped_kib();
	for (int round = 0; round < 100000; round++) {
		struct shim_block *b = shim_block_new();
		b->requested = (size_t)round;
		shim_block_delete(b);
	}
	size_t after = mapped_kib();
	CHECK(after <= before + 64, "100000 new/delete cycles grew the mappings from %zu to %zu KiB", before, after);
	shim_registry_before_fork();
	shim_registry_after_fork();
	struct shim_block *b = shim_block_new(); /* would spin forever if the lock stayed held */
	shim_block_delete(b);
}

struct worker {
	pthread_t thread;
	int id;
	long lookups;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	enum { OWN = 256 };
	struct shim_block *blocks[OWN];
	/* Each thread has its own 1 GiB window, neighbours of the others. */
	uintptr_t base = ((uintptr_t)0x100000000000ULL) + ((uintptr_t)w->id << 30);
	for (int round = 0; round < 200; round++) {
		for (int i = 0; i < OWN; i++) {
			blocks[i] = shim_block_new();
			CHECK(blocks[i] != NULL, "record");
			blocks[i]->ptr = (void *)(base + (uintptr_t)i * 4096 * 3);
			blocks[i]->requested = (size_t)w->id;
			CHECK(shim_registry_set(blocks[i]->ptr, blocks[i]) == 0, "set");
		}
		for (int i = 0; i < OWN; i++) {
			struct shim_block *found = shim_registry_lookup(blocks[i]->ptr);
			CHECK(found == blocks[i] && found->requested == (size_t)w->id, "thread %d lost an entry", w->id);
			CHECK(shim_registry_lookup((char *)blocks[i]->ptr + 4096) == NULL, "a neighbour page is ours");
			w->lookups += 2;
		}
		for (int i = 0; i < OWN; i++) {
			shim_registry_set(blocks[i]->ptr, NULL);
			shim_block_delete(blocks[i]);
		}
	}
	return NULL;
}

static void test_threads(void)
{
	struct worker workers[8];
	for (int i = 0; i < 8; i++) {
		workers[i] = (struct worker){.id = i};
		CHECK(pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]) == 0, "pthread_create");
	}
	long lookups = 0;
	for (int i = 0; i < 8; i++) {
		pthread_join(workers[i].thread, NULL);
		lookups += workers[i].lookups;
	}
	CHECK(lookups == 8L * 200 * 256 * 2, "lookups %ld", lookups);
}

int main(void)
{
	test_never_ours();
	test_spread();
	test_records();
	test_threads();
	printf("shim registry: foreign addresses, 4096 spread entries, records, 8 threads: ok\n");
	return 0;
}
