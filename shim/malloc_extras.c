/* glibc's malloc extras under the shim: whose function runs (glibc's own
 * always runs too, for its heap; before start-up glibc's alone; with another
 * allocator in front, that allocator's where it has one), and malloc_trim,
 * mallinfo, mallinfo2 and mallopt. What the shim's heaps hold:
 * malloc_heaps.c; malloc_stats and malloc_info: malloc_stats.c,
 * malloc_info.c. README: "malloc_trim, mallinfo and the other extras". */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <malloc.h>
#include <stdint.h>
#include <string.h>

#include "pool.h"
#include "malloc_extras.h"
#include "shim.h"

extern int __libc_mallopt(int param, int value);

/* ---- Whose functions: glibc's (behind us) and the allocator's in front ---- */

static struct shim_extras glibc_fns, front_fns;
static int resolved;

/* The first definition in front of the shim, unless it is ours. */
static void *front_symbol(const char *name, void *ours)
{
	void *symbol = shim_global_symbol(name);
	return symbol == ours ? NULL : symbol;
}

/* dlsym(RTLD_NEXT) needs our return address: never a tail call. */
__attribute__((noinline)) void shim_extras_resolve(void)
{
	shim_thread_busy++;
	glibc_fns.trim = (int (*)(size_t))dlsym(RTLD_NEXT, "malloc_trim");
	glibc_fns.info2 = (struct mallinfo2(*)(void))dlsym(RTLD_NEXT, "mallinfo2");
	glibc_fns.stats = (void (*)(void))dlsym(RTLD_NEXT, "malloc_stats");
	glibc_fns.xml = (int (*)(int, FILE *))dlsym(RTLD_NEXT, "malloc_info");
	glibc_fns.opt = __libc_mallopt;
	if (__atomic_load_n(&shim_front.forward, __ATOMIC_ACQUIRE)) {
		front_fns.trim = (int (*)(size_t))front_symbol("malloc_trim", (void *)malloc_trim);
		front_fns.info2 = (struct mallinfo2(*)(void))front_symbol("mallinfo2", (void *)mallinfo2);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations" /* glibc deprecates mallinfo; we serve it */
		front_fns.info = (struct mallinfo(*)(void))front_symbol("mallinfo", (void *)mallinfo);
#pragma GCC diagnostic pop
		front_fns.stats = (void (*)(void))front_symbol("malloc_stats", (void *)malloc_stats);
		front_fns.xml = (int (*)(int, FILE *))front_symbol("malloc_info", (void *)malloc_info);
		front_fns.opt = (int (*)(int, int))front_symbol("mallopt", (void *)mallopt);
	}
	shim_thread_busy--;
	__atomic_store_n(&resolved, 1, __ATOMIC_RELEASE);
	__asm__ volatile("" ::: "memory");
}

const struct shim_extras *shim_extras_glibc(void)
{
	if (!__atomic_load_n(&resolved, __ATOMIC_ACQUIRE))
		shim_extras_resolve();
	return &glibc_fns;
}

const struct shim_extras *shim_extras_front(void)
{
	shim_extras_glibc();
	return __atomic_load_n(&shim_front.forward, __ATOMIC_ACQUIRE) ? &front_fns : NULL;
}

void shim_extras_gather(struct shim_heap_totals *t)
{
	const struct shim_extras *fns = shim_extras_glibc();
	struct mallinfo2 glibc;
	memset(&glibc, 0, sizeof(glibc));
	if (fns->info2)
		glibc = fns->info2();
	shim_heaps_gather(t, glibc);
}

/* ---- The exported functions ------------------------------------------------ */

EXTRAS_EXPORT int malloc_trim(size_t pad)
{
	const struct shim_extras *in_front = shim_extras_front();
	int (*trim)(size_t) = in_front && in_front->trim ? in_front->trim : shim_extras_glibc()->trim;
	int released = trim ? trim(pad) : 0;
	/* pad is glibc's (what it leaves at the top of its heap): the shim
	 * keeps no cached block and no dirty page. */
	if (shim_heaps_usable() && shim_heaps_trim())
		released = 1;
	return released;
}

EXTRAS_EXPORT struct mallinfo2 mallinfo2(void)
{
	const struct shim_extras *in_front = shim_extras_front();
	if (in_front && in_front->info2)
		return in_front->info2();
	struct shim_heap_totals t;
	shim_extras_gather(&t);
	return shim_heaps_mallinfo2(&t);
}

/* glibc truncates to int; a field past INT_MAX reads INT_MAX here. */
static int saturate(size_t value)
{
	return value > INT_MAX ? INT_MAX : (int)value;
}

EXTRAS_EXPORT struct mallinfo mallinfo(void)
{
	const struct shim_extras *in_front = shim_extras_front();
	if (in_front && in_front->info)
		return in_front->info();
	struct mallinfo2 wide = mallinfo2();
	struct mallinfo info;
	info.arena = saturate(wide.arena);
	info.ordblks = saturate(wide.ordblks);
	info.smblks = saturate(wide.smblks);
	info.hblks = saturate(wide.hblks);
	info.hblkhd = saturate(wide.hblkhd);
	info.usmblks = saturate(wide.usmblks);
	info.fsmblks = saturate(wide.fsmblks);
	info.uordblks = saturate(wide.uordblks);
	info.fordblks = saturate(wide.fordblks);
	info.keepcost = saturate(wide.keepcost);
	return info;
}

/* mallopt returns what glibc returns (1: accepted, 0: a value glibc
 * refuses; parameters it does not know are accepted), and glibc's heap
 * follows the setting. Once glibc accepted it, the shim applies:
 * M_TRIM_THRESHOLD: freed bytes each large pool keeps resident (the rest
 * is MADV_FREE'd; negative: no limit); M_ARENA_MAX: jemalloc arenas that
 * threads bound from now on share. The others only reach glibc. */
EXTRAS_EXPORT int mallopt(int param, int value)
{
	const struct shim_extras *in_front = shim_extras_front();
	if (in_front)
		return in_front->opt ? in_front->opt(param, value) : __libc_mallopt(param, value);
	int accepted = __libc_mallopt(param, value);
	if (accepted != 1 || !shim_ready())
		return accepted;
	switch (param) {
	case M_TRIM_THRESHOLD:
		__atomic_store_n(&shim_large_resident_allowance, value < 0 ? SIZE_MAX : (size_t)value,
		                 __ATOMIC_RELAXED);
		__atomic_store_n(&shim_large_allowance_set, 1, __ATOMIC_RELAXED);
		break;
	case M_ARENA_MAX:
		if (value > 0)
			shim_small_set_max_arenas((unsigned)value);
		break;
	default:
		break;
	}
	return accepted;
}
