/* The program's own placed mappings (mappings.c). */
#ifndef AMLSHIM_MAPPINGS_H
#define AMLSHIM_MAPPINGS_H

#include <stddef.h>

struct shim_block;
struct shim_route;

/* NULL: not placed, the kernel maps it; MAP_FAILED: strict, placement failed. */
void *shim_large_mmap(struct shim_route *route, size_t len);
/* munmap: placed mappings inside the range lose that part. */
void shim_large_unmap_range(void *addr, size_t len);
void *shim_large_mremap(struct shim_block *block, size_t new_len, int flags, void *new_addr);
/* Placed mappings the program holds (munmap looks only when some exist). */
extern unsigned long shim_mmap_live_blocks;

#endif
