/* Large blocks by address: a two-level radix table over page numbers, read
 * without locks (two loads), plus a slab of block records. Only page-aligned
 * pointers can be ours, so every other pointer is rejected at once. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdbool.h>
#include <sys/mman.h>

#include "registry.h"
#include "shim.h"

#define ADDRESS_BITS 47
#define CHUNK_BITS 30 /* one second-level table per GiB of address space */
#define LEAF_BITS (CHUNK_BITS - 12)
#define ROOT_SIZE (1UL << (ADDRESS_BITS - CHUNK_BITS))
#define LEAF_SIZE (1UL << LEAF_BITS)

static struct shim_block **root[ROOT_SIZE];

int shim_registry_init(void)
{
	return 0;
}

static struct shim_block **leaf_for(uintptr_t addr, int create)
{
	uintptr_t index = addr >> CHUNK_BITS;
	if (index >= ROOT_SIZE)
		return NULL;
	struct shim_block **leaf = __atomic_load_n(&root[index], __ATOMIC_ACQUIRE);
	if (leaf || !create)
		return leaf;
	/* Sparse: only the pages holding used entries ever become resident. */
	void *fresh = aml_os_mmap(NULL, LEAF_SIZE * sizeof(void *), PROT_READ | PROT_WRITE,
	                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (fresh == MAP_FAILED)
		return NULL;
	struct shim_block **expected = NULL;
	if (!__atomic_compare_exchange_n(&root[index], &expected, (struct shim_block **)fresh, false,
	                                 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		aml_os_munmap(fresh, LEAF_SIZE * sizeof(void *));
		return expected;
	}
	return (struct shim_block **)fresh;
}

struct shim_block *shim_registry_lookup(const void *ptr)
{
	uintptr_t addr = (uintptr_t)ptr;
	if (addr & (SHIM_PAGE - 1))
		return NULL;
	struct shim_block **leaf = leaf_for(addr, 0);
	if (!leaf)
		return NULL;
	return __atomic_load_n(&leaf[(addr >> 12) & (LEAF_SIZE - 1)], __ATOMIC_ACQUIRE);
}

int shim_registry_set(const void *ptr, struct shim_block *block)
{
	uintptr_t addr = (uintptr_t)ptr;
	struct shim_block **leaf = leaf_for(addr, block != NULL);
	if (!leaf)
		return block ? -1 : 0;
	__atomic_store_n(&leaf[(addr >> 12) & (LEAF_SIZE - 1)], block, __ATOMIC_RELEASE);
	return 0;
}

/* Block records: carved from mmap'ed slabs, recycled through a free list. */
#define SLAB_BYTES (64 * 1024)
static struct shim_block *free_records;
static int records_lock;

struct shim_block *shim_block_new(void)
{
	shim_lock(&records_lock);
	if (!free_records) {
		struct shim_block *slab = aml_os_mmap(NULL, SLAB_BYTES, PROT_READ | PROT_WRITE,
		                                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (slab == MAP_FAILED) {
			shim_unlock(&records_lock);
			return NULL;
		}
		size_t count = SLAB_BYTES / sizeof(struct shim_block);
		for (size_t i = 0; i < count; i++) {
			slab[i].next = free_records;
			free_records = &slab[i];
		}
	}
	struct shim_block *block = free_records;
	free_records = block->next;
	shim_unlock(&records_lock);
	*block = (struct shim_block){0};
	return block;
}

void shim_block_delete(struct shim_block *block)
{
	shim_lock(&records_lock);
	block->next = free_records;
	free_records = block;
	shim_unlock(&records_lock);
}

/* fork: the record lock is held across it so the child gets it free. */
void shim_registry_before_fork(void)
{
	shim_lock(&records_lock);
}

void shim_registry_after_fork(void)
{
	shim_unlock(&records_lock);
}
