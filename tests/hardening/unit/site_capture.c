/* The shim's stack capture as a pure unit (shim/site_capture.c and
 * shim/site_modules.c compiled in, no preload): it must work through code
 * built without frame pointers and never call malloc, since it runs
 * inside malloc.
 *
 * Checked:
 *  - a capture from a qsort comparator (glibc, built by Debian with
 *    -fomit-frame-pointer) walks out through libc's frames into this
 *    program's: the comparator, then libc.so.6 frames, then the caller of
 *    qsort, each frame in the module the module table says;
 *  - frames turn into MODULE+OFFSET with the module's base name, and the
 *    same call gives the same offsets every time;
 *  - not one malloc, calloc, realloc or free during the captures (this
 *    program's own malloc family counts them, and libgcc's unwinder binds
 *    to it), the first capture included;
 *  - the fast path (rules cached per return address, site_unwind.c) walks
 *    the same stack to the same frames as _Unwind_Backtrace, without
 *    falling back, at depth 6 and 16;
 *  - depth 1 gives one frame, depth 16 at most 16;
 *  - the cost per capture of 6 frames, both ways, printed (ns). */
#include "../../../shim/site_capture.c"
#include "../../../shim/site_modules.c"
#include "../../../shim/site_unwind.c"

#include <dlfcn.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "check.h"

SHIM_TLS int shim_locks_held;

#ifndef __SANITIZE_ADDRESS__
/* The malloc family of this program: counts while counting is on. */
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
static int counting;
static long calls;

void *malloc(size_t size)
{
	calls += counting;
	return __libc_malloc(size);
}

void *calloc(size_t count, size_t size)
{
	calls += counting;
	return __libc_calloc(count, size);
}

void *realloc(void *ptr, size_t size)
{
	calls += counting;
	return __libc_realloc(ptr, size);
}

void free(void *ptr)
{
	calls += counting && ptr;
	__libc_free(ptr);
}
#define COUNT(on) (counting = (on))
#else
static long calls;
#define COUNT(on) ((void)(on))
#endif

static uintptr_t frames[AMLSHIM_SITE_MAX_DEPTH], libgcc_frames[AMLSHIM_SITE_MAX_DEPTH];
static int depth_wanted = 6, captured, fast, libgcc;

__attribute__((noinline, optimize("omit-frame-pointer"))) static int compare(const void *a, const void *b)
{
	if (!captured) {
		captured = shim_site_capture(frames, depth_wanted);
		fast = shim_site_capture_fast(frames, depth_wanted);
		libgcc = shim_site_capture_libgcc(libgcc_frames, depth_wanted);
	}
	return *(const int *)a - *(const int *)b;
}

__attribute__((noinline, optimize("omit-frame-pointer"))) static int capture_through_qsort(void)
{
	int values[4] = {3, 1, 2, 0};
	captured = 0;
	qsort(values, 4, sizeof(values[0]), compare);
	return captured + values[0]; /* no tail call: this frame stays */
}

static const char *module_name(uintptr_t addr)
{
	int m = shim_site_module_of(addr);
	return m >= 0 ? shim_site_modules.list[m].name : "?";
}

int main(void)
{
	CHECK(shim_site_modules_scan() > 2, "dl_iterate_phdr found too few modules");
	CHECK(shim_site_modules.self >= 0, "the module holding the capture code is not known");

	COUNT(1);
	int n = capture_through_qsort();
	COUNT(0);
	CHECK(calls == 0, "the first capture called the malloc family %ld times", calls);
	CHECK(n >= 4, "only %d frames through qsort", n);
	/* The capture code is in this program, which therefore stands for the
	 * shim: its leading frames (the comparator's) are skipped as the
	 * shim's own, so frames[0] is in libc's qsort; then comes
	 * capture_through_qsort, back in this program. */
	int libc_frames = 0, back_home = -1;
	for (int i = 0; i < n; i++) {
		const char *name = module_name(frames[i]);
		printf("frame %d: %s+0x%lx\n", i, name,
		       (unsigned long)(frames[i] - shim_site_modules.list[shim_site_module_of(frames[i])].bias));
		/* libc.so.6's qsort (libasan's, under ASan) */
		if (strcmp(name, module_name((uintptr_t)main)) != 0)
			libc_frames++;
		else if (libc_frames && back_home < 0)
			back_home = i;
	}
	CHECK(libc_frames >= 1 && strcmp(module_name(frames[0]), module_name((uintptr_t)main)) != 0,
	      "no frame in libc.so.6: the walk did not go through qsort");
	/* The fast path walked it (no fallback) to the same frames as libgcc. */
	CHECK(fast == n && libgcc == n, "fast path %d frames, libgcc %d, the capture %d", fast, libgcc, n);
	for (int i = 0; i < n; i++)
		CHECK(frames[i] == libgcc_frames[i], "frame %d: fast path %#lx, libgcc %#lx", i, (unsigned long)frames[i],
		      (unsigned long)libgcc_frames[i]);
	CHECK(back_home > 0 && strcmp(module_name(frames[back_home]), module_name((uintptr_t)main)) == 0,
	      "the walk did not come back out of libc into this program");

	uintptr_t first[AMLSHIM_SITE_MAX_DEPTH];
	memcpy(first, frames, sizeof(first));
	COUNT(1);
	for (int i = 0; i < 1000; i++) {
		int again = capture_through_qsort();
		/* Up to capture_through_qsort's frame: main calls it from elsewhere. */
		CHECK(again == n && memcmp(first, frames, (size_t)(back_home + 1) * sizeof(frames[0])) == 0,
		      "capture %d differs from the first", i);
	}
	COUNT(0);
	CHECK(calls == 0, "captures called the malloc family %ld times", calls);

	depth_wanted = 1;
	capture_through_qsort();
	CHECK(captured == 1, "depth 1 gave %d frames", captured);
	depth_wanted = 16;
	capture_through_qsort();
	CHECK(captured >= n && captured <= 16, "depth 16 gave %d frames", captured);

	depth_wanted = 16;
	capture_through_qsort();
	CHECK(fast == captured && libgcc == captured, "depth 16: fast %d, libgcc %d", fast, libgcc);
	CHECK(memcmp(frames, libgcc_frames, (size_t)captured * sizeof(frames[0])) == 0, "depth 16: frames differ");

	int (*const methods[2])(uintptr_t *, int) = {shim_site_capture, shim_site_capture_libgcc};
	for (int m = 0; m < 2; m++) {
		struct timespec t0, t1;
		enum { ROUNDS = 20000 };
		uintptr_t out[6];
		clock_gettime(CLOCK_MONOTONIC, &t0);
		int total = 0;
		for (int i = 0; i < ROUNDS; i++)
			total += methods[m](out, 6);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		double ns = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / ROUNDS;
		printf("site capture (%s): %.0f ns per capture of up to 6 frames (%d frames each)\n",
		       m ? "_Unwind_Backtrace" : "cached rules", ns, total / ROUNDS);
	}
	return 0;
}
