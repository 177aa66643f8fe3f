/* The private jemalloc's API under its renamed symbols (see
 * shim/jemalloc-rename.txt): je_malloc here is amlshim_je_malloc there. */
#ifndef AMLSHIM_JEMALLOC_API_H
#define AMLSHIM_JEMALLOC_API_H

#define JEMALLOC_NO_RENAME
#define JEMALLOC_NO_DEMANGLE
#define je_aligned_alloc amlshim_je_aligned_alloc
#define je_calloc amlshim_je_calloc
#define je_dallocx amlshim_je_dallocx
#define je_free amlshim_je_free
#define je_mallctl amlshim_je_mallctl
#define je_mallctlbymib amlshim_je_mallctlbymib
#define je_mallctlnametomib amlshim_je_mallctlnametomib
#define je_malloc amlshim_je_malloc
#define je_malloc_conf amlshim_je_malloc_conf
#define je_malloc_conf_2_conf_harder amlshim_je_malloc_conf_2_conf_harder
#define je_malloc_message amlshim_je_malloc_message
#define je_malloc_stats_print amlshim_je_malloc_stats_print
#define je_malloc_usable_size amlshim_je_malloc_usable_size
#define je_mallocx amlshim_je_mallocx
#define je_nallocx amlshim_je_nallocx
#define je_posix_memalign amlshim_je_posix_memalign
#define je_rallocx amlshim_je_rallocx
#define je_realloc amlshim_je_realloc
#define je_sallocx amlshim_je_sallocx
#define je_sdallocx amlshim_je_sdallocx
#define je_xallocx amlshim_je_xallocx
#define je_memalign amlshim_je_memalign
#define je_valloc amlshim_je_valloc
#include <jemalloc/jemalloc.h>

#endif
