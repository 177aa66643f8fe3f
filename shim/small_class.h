/* What the small path's files share (small.c, small_range.c,
 * small_extents.c): a placement class, one slice of the planned range. */
#ifndef AMLSHIM_SMALL_CLASS_H
#define AMLSHIM_SMALL_CLASS_H

#include <stdint.h>

#include "jemalloc_api.h"
#include "shim.h"
#include "small.h"

#define MAX_ARENAS 64

struct small_class {
	extent_hooks_t hooks; /* first: a hook finds its class from its hooks pointer */
	uintptr_t begin, end; /* the slice */
	unsigned slice;       /* its index: shim_small_mapped[slice] */
	uintptr_t next;       /* bump pointer, advanced with CAS */
	int grow_lock;        /* held while mapping more of the slice */
	/* Placement, precomputed: hooks run under jemalloc locks and may only
	 * make system calls. */
	int mode; /* AML_MPOL_* (DEFAULT: none) */
	unsigned long mask[AMLSHIM_NODE_WORDS];
	char text[128];
	unsigned arena[MAX_ARENAS];
	int created[MAX_ARENAS];
	int lock;
};

#define slice_shift shim_small_slice_shift
/* The classes: 0 is AMLSHIM_SMALL, 1.. serve rules (small.c). */
extern struct small_class shim_small_classes[SHIM_MAX_CLASSES];
extern int shim_small_num_classes;

/* The slice of a class, and the class of a slice: the primary class's and
 * class 0's swap places, so that the primary's lies first (small.h). */
static inline unsigned shim_small_slice_of(int class_index)
{
	int primary = shim_small_primary;
	return (unsigned)(class_index == 0 ? primary : class_index == primary ? 0 : class_index);
}

/* Plans the range for the classes (small_range.c); 0 or -1. */
int shim_small_plan(void);
/* Maps more of a class's slice, up to want_end (small_range.c); 0 or -1. */
int shim_small_grow(struct small_class *class, uintptr_t want_end);
/* The hooks every class's arenas start from (small_extents.c). */
extern const extent_hooks_t shim_small_hooks_template;

/* Whether start-up has set every class's placement (small_extents.c). */
int shim_small_placed(void);

#endif
