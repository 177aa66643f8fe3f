/* The small path's jemalloc extent hooks: extents carved from a class's
 * slice with a bump pointer, placed with mbind as the class's placement
 * says, and kept in the range for reuse (never unmapped); and the
 * placement itself, set once start-up has checked its nodes. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/mman.h>

#include "small_class.h"

/* Applies a class's placement to a range; 0 or -1. MPOL_LOCAL takes no
 * node mask. */
static int place(struct small_class *class, uintptr_t start, size_t size)
{
	int mode = __atomic_load_n(&class->mode, __ATOMIC_ACQUIRE);
	if (mode == AML_MPOL_DEFAULT || size == 0)
		return 0;
	AML_KEEP_ERRNO;
	long ret = mode == AML_MPOL_LOCAL ? aml_os_mbind((void *)start, size, mode, NULL, 0UL, 0U)
	                                  : aml_os_mbind((void *)start, size, mode, class->mask, AML_OS_MAXNODE, 0U);
	return ret == 0 ? 0 : -1;
}

static void *hook_alloc(extent_hooks_t *hooks, void *new_addr, size_t size, size_t alignment,
                        bool *zero, bool *commit, unsigned arena_ind)
{
	(void)arena_ind;
	struct small_class *class = (struct small_class *)hooks;
	const uintptr_t *mapped = &shim_small_mapped[class->slice];
	uintptr_t cur = __atomic_load_n(&class->next, __ATOMIC_RELAXED), start;
	for (;;) {
		if (new_addr) {
			/* Growing in place works only at the bump pointer. */
			if ((uintptr_t)new_addr != cur)
				return NULL;
			start = cur;
		} else {
			start = (cur + alignment - 1) & ~(uintptr_t)(alignment - 1);
		}
		if (start < cur || start + size > class->end || start + size < start)
			return NULL;
		if (start + size > class->begin + __atomic_load_n(mapped, __ATOMIC_ACQUIRE)) {
			if (shim_small_grow(class, start + size) != 0)
				return NULL;
			cur = __atomic_load_n(&class->next, __ATOMIC_RELAXED);
			continue;
		}
		if (__atomic_compare_exchange_n(&class->next, &cur, start + size, true, __ATOMIC_RELAXED,
		                                __ATOMIC_RELAXED))
			break;
	}
	place(class, start, size);
	*zero = true; /* never touched since mapped */
	*commit = true;
	return (void *)start;
}

/* Extents stay in the range: jemalloc retains them for reuse. */
static bool hook_dalloc(extent_hooks_t *h, void *addr, size_t size, bool committed, unsigned ind)
{
	(void)h, (void)addr, (void)size, (void)committed, (void)ind;
	return true;
}

static void hook_destroy(extent_hooks_t *h, void *addr, size_t size, bool committed, unsigned ind)
{
	(void)h, (void)committed, (void)ind;
	AML_KEEP_ERRNO;
	aml_os_madvise(addr, size, MADV_DONTNEED);
}

static bool hook_commit(extent_hooks_t *h, void *addr, size_t size, size_t off, size_t len, unsigned ind)
{
	(void)h, (void)addr, (void)size, (void)off, (void)len, (void)ind;
	return false; /* the range is always readable and writable */
}

static bool hook_decommit(extent_hooks_t *h, void *addr, size_t size, size_t off, size_t len, unsigned ind)
{
	(void)h, (void)addr, (void)size, (void)off, (void)len, (void)ind;
	return true; /* opt out: jemalloc purges instead */
}

static bool purge(void *addr, size_t off, size_t len, int advice)
{
	AML_KEEP_ERRNO;
	int ret = aml_os_madvise((char *)addr + off, len, advice);
	return ret != 0;
}

static bool hook_purge_lazy(extent_hooks_t *h, void *addr, size_t size, size_t off, size_t len, unsigned ind)
{
	(void)h, (void)size, (void)ind;
	return purge(addr, off, len, MADV_FREE);
}

static bool hook_purge_forced(extent_hooks_t *h, void *addr, size_t size, size_t off, size_t len, unsigned ind)
{
	(void)h, (void)size, (void)ind;
	return purge(addr, off, len, MADV_DONTNEED);
}

static bool hook_split(extent_hooks_t *h, void *addr, size_t size, size_t a, size_t b, bool committed, unsigned ind)
{
	(void)h, (void)addr, (void)size, (void)a, (void)b, (void)committed, (void)ind;
	return false;
}

/* Only extents of one class merge: a class is one slice of the range. */
static bool hook_merge(extent_hooks_t *h, void *a, size_t sa, void *b, size_t sb, bool committed, unsigned ind)
{
	(void)h, (void)a, (void)sa, (void)b, (void)sb, (void)committed, (void)ind;
	return false;
}

const extent_hooks_t shim_small_hooks_template = {
	hook_alloc, hook_dalloc, hook_destroy, hook_commit, hook_decommit,
	hook_purge_lazy, hook_purge_forced, hook_split, hook_merge,
};

static int placement_mode(const struct amlshim_placement *placement)
{
	switch (placement->kind) {
	case AMLSHIM_PLACE_LOCAL: return AML_MPOL_LOCAL;
	case AMLSHIM_PLACE_BIND: return AML_MPOL_BIND;
	case AMLSHIM_PLACE_PREFERRED: return AML_MPOL_PREFERRED;
	case AMLSHIM_PLACE_INTERLEAVE: return AML_MPOL_INTERLEAVE;
	default: return AML_MPOL_DEFAULT;
	}
}

int shim_small_placeable(const struct amlshim_placement *placement)
{
	return placement->kind == AMLSHIM_PLACE_DEFAULT || placement_mode(placement) != AML_MPOL_DEFAULT;
}

/* Set once start-up has given every class its placement (init.c's
 * constructor): before that, small objects come from glibc, so no class's
 * extent is carved and touched before its policy is on it (the pages of
 * such an extent would stay where they were first touched, and jemalloc
 * keeps reusing them). */
static int placements_ready;

void shim_small_placements_ready(void)
{
	__atomic_store_n(&placements_ready, 1, __ATOMIC_RELEASE);
}

int shim_small_placed(void)
{
	return __atomic_load_n(&placements_ready, __ATOMIC_ACQUIRE);
}

void shim_small_set_placement(int class_index, const struct amlshim_placement *placement)
{
	if (class_index < 0 || class_index >= shim_small_num_classes)
		return;
	struct small_class *class = &shim_small_classes[class_index];
	for (size_t w = 0; w < AMLSHIM_NODE_WORDS; w++)
		class->mask[w] = placement->nodes[w];
	if (placement->all_nodes) {
		/* "all": the nodes this process may use, as the kernel says. */
		aml_os_get_mempolicy(NULL, class->mask, AML_OS_MAXNODE, NULL, AML_MPOL_F_MEMS_ALLOWED);
	}
	snprintf(class->text, sizeof(class->text), "%s", placement->text);
	__atomic_store_n(&class->mode, placement_mode(placement), __ATOMIC_RELEASE);
	/* Extents carved before start-up finished get the placement too:
	 * jemalloc keeps reusing them. Their resident pages stay where they
	 * are; new faults follow the policy. */
	uintptr_t carved = __atomic_load_n(&class->next, __ATOMIC_ACQUIRE);
	if (place(class, class->begin, carved - class->begin) != 0)
		shim_log(AMLSHIM_LOG_WARN, "small objects (%s): the kernel refused the placement", class->text);
}
