/* The internal malloc and mmap families (dispatch.c): what the exported
 * entry points (override.c) forward to, and what the shim's own code calls
 * when it must allocate or re-route (never the exported malloc & co). */
#ifndef AMLSHIM_DISPATCH_H
#define AMLSHIM_DISPATCH_H

#include <stddef.h>
#include <sys/types.h>

void *shim_malloc(size_t size);
void *shim_calloc(size_t count, size_t size);
void shim_free(void *ptr);
void *shim_realloc(void *ptr, size_t size);
void *shim_reallocarray(void *ptr, size_t count, size_t size);
int shim_posix_memalign(void **out, size_t alignment, size_t size);
void *shim_aligned_alloc(size_t alignment, size_t size);
void *shim_memalign(size_t alignment, size_t size);
void *shim_valloc(size_t size);
void *shim_pvalloc(size_t size);
size_t shim_usable_size(void *ptr);
void *shim_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t offset);
int shim_munmap(void *addr, size_t len);
void *shim_mremap(void *old, size_t old_len, size_t new_len, int flags, void *new_addr);

#endif
