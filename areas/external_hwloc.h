/* What the area library calls in hwloc, and how each build of it gets hwloc.
 *
 * The hwloc areas (hwloc.c, hwloc_preferred.c, hwloc_rank.c,
 * hwloc_topology.c) call the libhwloc functions listed below; hwloc's inline
 * header functions (hwloc_get_nbobjs_by_type, hwloc_bitmap_foreach_begin...)
 * call only these. `nm -u` on the hwloc objects gives the same list, and
 * the shim's link (-z defs, no -lhwloc) fails when a call is missing here.
 *
 * - libaml.so, programs linking libaml.a and the amlshim command link
 *   -lhwloc: the list is only documentation there.
 * - The shim links the same objects (one copy of the area library in the
 *   process, so one aml_errno: an error of a ranked area is the one the shim
 *   reports) but not hwloc: libhwloc and what it loads (libudev...) cost every
 *   process about a millisecond at start, and only the ranked policies
 *   (bandwidth, latency, capacity) need it. So the shim defines each function
 *   of the list (hidden, for its own objects only) as a forwarder that opens
 *   AML_HWLOC_SONAME at the first call (shim/hwloc_loader.c).
 *
 * Without a usable libhwloc (missing, or lacking one of these), every
 * forwarder answers like a failing hwloc (the fail value): the first call is
 * always hwloc_topology_init (every other one needs a topology or a bitmap
 * that only hwloc makes), it fails, aml_hwloc_topology_init returns
 * -AML_ENOTSUP and no hwloc area is made.
 *
 * AML_HWLOC_CALLS(F, V): F(type, name, params, args, fail) for each function
 * that returns a value, V(name, params, args) for each void one. */
#ifndef AML_AREAS_EXTERNAL_HWLOC_H
#define AML_AREAS_EXTERNAL_HWLOC_H

#include <hwloc.h>

/* The hwloc 2.x ABI the headers describe. */
#define AML_HWLOC_SONAME "libhwloc.so.15"

#define AML_HWLOC_CALLS(F, V)                                                                          \
	/* The topology (hwloc_topology.c). */                                                         \
	F(int, hwloc_topology_init, (hwloc_topology_t * topology), (topology), -1)                     \
	F(int, hwloc_topology_set_flags, (hwloc_topology_t topology, unsigned long flags),             \
	  (topology, flags), -1)                                                                      \
	F(int, hwloc_topology_load, (hwloc_topology_t topology), (topology), -1)                       \
	V(hwloc_topology_destroy, (hwloc_topology_t topology), (topology))                             \
	/* Objects and levels. */                                                                      \
	F(int, hwloc_get_type_depth, (hwloc_topology_t topology, hwloc_obj_type_t type), (topology, type), \
	  HWLOC_TYPE_DEPTH_UNKNOWN)                                                                    \
	F(unsigned, hwloc_get_nbobjs_by_depth, (hwloc_topology_t topology, int depth), (topology, depth), 0) \
	F(hwloc_obj_t, hwloc_get_obj_by_depth, (hwloc_topology_t topology, int depth, unsigned idx),   \
	  (topology, depth, idx), NULL)                                                                \
	F(hwloc_const_cpuset_t, hwloc_topology_get_topology_cpuset, (hwloc_topology_t topology), (topology), \
	  NULL)                                                                                        \
	F(hwloc_const_nodeset_t, hwloc_topology_get_topology_nodeset, (hwloc_topology_t topology),     \
	  (topology), NULL)                                                                            \
	/* Where the calling thread runs (hwloc_preferred.c). */                                       \
	F(int, hwloc_get_cpubind, (hwloc_topology_t topology, hwloc_cpuset_t set, int flags),          \
	  (topology, set, flags), -1)                                                                  \
	F(int, hwloc_get_last_cpu_location, (hwloc_topology_t topology, hwloc_cpuset_t set, int flags), \
	  (topology, set, flags), -1)                                                                  \
	/* Rankings: memory attributes, then distances (hwloc_rank.c). */                              \
	F(int, hwloc_memattr_get_flags, (hwloc_topology_t topology, hwloc_memattr_id_t attribute,      \
	                                 unsigned long *flags),                                        \
	  (topology, attribute, flags), -1)                                                            \
	F(int, hwloc_memattr_get_value, (hwloc_topology_t topology, hwloc_memattr_id_t attribute,      \
	                                 hwloc_obj_t target_node, struct hwloc_location *initiator,    \
	                                 unsigned long flags, hwloc_uint64_t *value),                  \
	  (topology, attribute, target_node, initiator, flags, value), -1)                             \
	F(int, hwloc_distances_get_by_type, (hwloc_topology_t topology, hwloc_obj_type_t type, unsigned *nr, \
	                                     struct hwloc_distances_s **distances, unsigned long kind, \
	                                     unsigned long flags),                                     \
	  (topology, type, nr, distances, kind, flags), -1)                                            \
	V(hwloc_distances_release, (hwloc_topology_t topology, struct hwloc_distances_s *distances),   \
	  (topology, distances))                                                                       \
	/* Bitmaps (CPU and node sets). */                                                             \
	F(hwloc_bitmap_t, hwloc_bitmap_alloc, (void), (), NULL)                                        \
	F(hwloc_bitmap_t, hwloc_bitmap_dup, (hwloc_const_bitmap_t bitmap), (bitmap), NULL)             \
	V(hwloc_bitmap_free, (hwloc_bitmap_t bitmap), (bitmap))                                        \
	F(int, hwloc_bitmap_copy, (hwloc_bitmap_t dst, hwloc_const_bitmap_t src), (dst, src), -1)      \
	F(int, hwloc_bitmap_only, (hwloc_bitmap_t bitmap, unsigned id), (bitmap, id), -1)              \
	F(int, hwloc_bitmap_and, (hwloc_bitmap_t res, hwloc_const_bitmap_t bitmap1,                    \
	                          hwloc_const_bitmap_t bitmap2),                                       \
	  (res, bitmap1, bitmap2), -1)                                                                 \
	F(int, hwloc_bitmap_iszero, (hwloc_const_bitmap_t bitmap), (bitmap), 1)                        \
	F(int, hwloc_bitmap_weight, (hwloc_const_bitmap_t bitmap), (bitmap), -1)                       \
	F(int, hwloc_bitmap_first, (hwloc_const_bitmap_t bitmap), (bitmap), -1)                        \
	F(int, hwloc_bitmap_next, (hwloc_const_bitmap_t bitmap, int prev), (bitmap, prev), -1)         \
	F(int, hwloc_bitmap_intersects, (hwloc_const_bitmap_t bitmap1, hwloc_const_bitmap_t bitmap2),  \
	  (bitmap1, bitmap2), 0)                                                                       \
	F(int, hwloc_bitmap_isincluded, (hwloc_const_bitmap_t sub_bitmap, hwloc_const_bitmap_t super_bitmap), \
	  (sub_bitmap, super_bitmap), 0)

#endif
