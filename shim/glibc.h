/* The allocator behind us, for pointers that are not ours (glibc.c). */
#ifndef AMLSHIM_GLIBC_H
#define AMLSHIM_GLIBC_H

#include <stddef.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *ptr, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void __libc_free(void *ptr);
size_t shim_glibc_usable_size(void *ptr);
void shim_glibc_resolve(void);

#endif
