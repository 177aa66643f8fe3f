/* Stack capture for call sites with libgcc's _Unwind_Backtrace: it reads
 * .eh_frame, so it works on code built without frame pointers (Debian's
 * binaries and libraries). With glibc 2.35 on, libgcc (12 on) finds each
 * frame's unwind table through _dl_find_object, which neither locks nor
 * allocates; frames it cannot unwind end the walk instead of faulting.
 * The fast path (site_unwind.c) goes first: rules cached per address. */
#define _GNU_SOURCE
#include <unwind.h>

#include "site_capture.h"
#include "site_modules.h"

struct walk {
	uintptr_t *frames;
	int depth, count;
};

static _Unwind_Reason_Code each_frame(struct _Unwind_Context *context, void *arg)
{
	struct walk *walk = arg;
	uintptr_t ip = (uintptr_t)_Unwind_GetIP(context);
	if (!ip)
		return _URC_END_OF_STACK;
	if (walk->count == 0 && shim_site_in_self(ip))
		return _URC_NO_REASON; /* the malloc family's own frames */
	walk->frames[walk->count++] = ip;
	return walk->count == walk->depth ? _URC_END_OF_STACK : _URC_NO_REASON;
}

int shim_site_capture_libgcc(uintptr_t *frames, int depth)
{
	struct walk walk = {frames, depth, 0};
	_Unwind_Backtrace(each_frame, &walk);
	return walk.count;
}

int shim_site_capture(uintptr_t *frames, int depth)
{
	int count = shim_site_capture_fast(frames, depth);
	return count >= 0 ? count : shim_site_capture_libgcc(frames, depth);
}
