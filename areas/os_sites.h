/* The OS calls of the shim's call sites (os_sites.c): ELF files mapped
 * for their symbols, the program's path, the soft-dirty page bits. */
#ifndef AML_AREAS_OS_SITES_H
#define AML_AREAS_OS_SITES_H

#include <stddef.h>
#include <stdint.h>

#include "os.h"

/* path mapped read-only (its size in *size), or NULL; errno kept. */
AML_HIDDEN const void *aml_os_map_file(const char *path, size_t *size);
/* The running program's path (/proc/self/exe) into buf; "" if unknown. */
AML_HIDDEN void aml_os_exe_path(char *buf, size_t len);
/* Soft-dirty bits (/proc/self/clear_refs, /proc/self/pagemap): opened
 * once (0, or -1 when the kernel or the sandbox refuses). */
AML_HIDDEN int aml_os_soft_dirty_open(void);
/* Clears every page's bit (writes 4 to clear_refs); 0 or -1. */
AML_HIDDEN int aml_os_soft_dirty_clear(void);
/* The pages among `pages` from `start` (page-aligned) whose bit is set
 * (a page not mapped counts as clean). */
AML_HIDDEN unsigned long aml_os_soft_dirty_count(uintptr_t start, size_t pages);

#endif
