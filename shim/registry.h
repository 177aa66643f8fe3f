/* Large blocks by address (registry.c), and their records. */
#ifndef AMLSHIM_REGISTRY_H
#define AMLSHIM_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

struct shim_pool;

/* REGION: a pool's region that large_heap.c cuts pieces from, never
 * registered (its record only holds base, mapped, pool and its list). */
enum shim_block_kind { SHIM_BLOCK_MALLOC, SHIM_BLOCK_MMAP, SHIM_BLOCK_REGION };
enum shim_piece_state { SHIM_PIECE_LIVE, SHIM_PIECE_FREE, SHIM_PIECE_HELD };
struct shim_block {
	void *ptr;              /* what the program holds */
	void *base;             /* what the area returned */
	size_t mapped;          /* bytes the area returned */
	size_t requested;       /* bytes asked for */
	struct shim_pool *pool; /* where it came from and goes back */
	uint8_t kind;
	uint8_t lazy;           /* cached with MADV_FREE (else kept resident) */
	uint8_t state;          /* pieces: enum shim_piece_state */
	uint8_t clean;          /* pieces: never handed out since mapped (zero) */
	uint32_t site;          /* profile mode: its site table slot + 1 (0: none) */
	struct shim_block *prev, *next; /* the pool's live list; free pieces: the free set;
	                                 * regions: the pool's regions */
	struct shim_block *region;      /* pieces: the region cut from (NULL: own mapping) */
	struct shim_block *lower, *higher; /* pieces: neighbours in the region, by address */
	size_t resident;        /* free pieces: bytes that may be resident; live: when taken */
	unsigned long long freed_at; /* free pieces: when */
};
/* A record leaves a list linked by prev/next that starts at *head. */
static inline void shim_block_unlink(struct shim_block **head, struct shim_block *block)
{
	if (block->prev)
		block->prev->next = block->next;
	else
		*head = block->next;
	if (block->next)
		block->next->prev = block->prev;
}

int shim_registry_init(void);
struct shim_block *shim_registry_lookup(const void *ptr);
int shim_registry_set(const void *ptr, struct shim_block *block);
struct shim_block *shim_block_new(void);
void shim_block_delete(struct shim_block *block);
void shim_registry_before_fork(void);
void shim_registry_after_fork(void);

#endif
