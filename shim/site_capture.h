/* Stack capture for call sites (site_capture.c). */
#ifndef AMLSHIM_SITE_CAPTURE_H
#define AMLSHIM_SITE_CAPTURE_H

#include <stdint.h>

/* Up to depth return addresses of the program's frames, innermost first
 * (frames[0]: in the function that called the malloc family), the shim's
 * own frames left out; returns how many. No malloc, no lock. */
int shim_site_capture(uintptr_t *frames, int depth);
/* The same with libgcc's _Unwind_Backtrace only (site_capture.c). */
int shim_site_capture_libgcc(uintptr_t *frames, int depth);
/* The fast path (site_unwind.c): frames through code whose unwind rules
 * are plain and cached; -1 when it cannot walk this stack. */
int shim_site_capture_fast(uintptr_t *frames, int depth);

#endif
