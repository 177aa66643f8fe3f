/* Linux area: mmap + mbind with a node set and a kernel memory policy. */
#ifndef AML_AREA_LINUX_H
#define AML_AREA_LINUX_H

#include <numa.h>
#include <aml.h>

#ifdef __cplusplus
extern "C" {
#endif

enum aml_area_linux_policy {
	AML_AREA_LINUX_POLICY_DEFAULT,        /* kernel default (first touch) */
	AML_AREA_LINUX_POLICY_BIND,           /* only the given nodes */
	AML_AREA_LINUX_POLICY_PREFERRED,      /* the first given node, others when full */
	AML_AREA_LINUX_POLICY_INTERLEAVE,     /* page by page over the given nodes (by
	                                       * huge page where THP backs the range) */
	AML_AREA_LINUX_POLICY_PREFERRED_MANY, /* any given node first (kernel >= 5.15) */
	AML_AREA_LINUX_POLICY_LOCAL,          /* the faulting CPU's node (kernel >= 3.8) */
};

/* Highest node number + 1 this library handles in a raw mask. */
#define AML_AREA_LINUX_MAX_NODES AML_MAX_NODES

struct aml_area_linux_data {
	struct bitmask *nodeset; /* the nodes, exactly as asked (NULL: all allowed) */
	enum aml_area_linux_policy policy;
	/* Raw kernel mask precomputed at create time, so mmap calls no libnuma
	 * function and allocates nothing (safe inside allocator hooks). */
	unsigned long raw_mask[AML_AREA_LINUX_MAX_NODES / (8 * sizeof(unsigned long))];
	int num_nodes;  /* nodes set in raw_mask */
	int first_node; /* lowest node in raw_mask */
};

/* Options for aml_area_mmap on a Linux area (NULL: private anonymous RW).
 * flags/mode are mmap's flags and protection; with MAP_SHARED or a file
 * (fd >= 0 and no MAP_ANONYMOUS) the mapping is file- or shared-backed and
 * still gets the area's policy. ptr is a placement hint (MAP_FIXED honoured). */
struct aml_area_linux_mmap_options {
	void *ptr;
	int flags;
	int mode;
	int fd;
	off_t offset;
};

/* Kernel default policy over all nodes. */
extern struct aml_area aml_area_linux;

/* nodemask NULL means every node this process may use. A node outside the
 * process's allowed memory nodes gives -AML_EDOM; an empty mask with a policy
 * that needs nodes, or an unknown policy, -AML_EINVAL; a policy the kernel
 * lacks, -AML_ENOTSUP. The mask is copied. */
int aml_area_linux_create(struct aml_area **area, const struct bitmask *nodemask,
                          const enum aml_area_linux_policy policy);
void aml_area_linux_destroy(struct aml_area **area);

/* The ops of the Linux area, usable by areas built on top of it. */
void *aml_area_linux_mmap(const struct aml_area_data *data, size_t size,
                          struct aml_area_mmap_options *opts);
int aml_area_linux_munmap(const struct aml_area_data *data, void *ptr, const size_t size);
int aml_area_linux_fprintf(const struct aml_area_data *data, FILE *stream, const char *prefix);
/* 0 when the area binds (AML_AREA_LINUX_POLICY_BIND) and its nodes cannot
 * take size more bytes: their free memory, plus page cache the kernel would
 * reclaim, less what it keeps free. 1 otherwise, or when sysfs cannot tell.
 * mmap of anonymous memory fails with AML_ENOMEM in that case instead of
 * leaving the kernel to OOM-kill a process at the page fault. It reads
 * sysfs at each call (a few microseconds per node) and counts only pages
 * already in use: mappings not yet touched are not seen. */
int aml_area_linux_fits(const struct aml_area_linux_data *data, size_t size);
/* Applies the area's policy to [ptr, ptr+size) (page aligned). */
int aml_area_linux_mbind(struct aml_area_linux_data *data, void *ptr, size_t size);
/* 1 when the kernel reports the area's policy and nodes for the range
 * (every page-aligned sub-range is checked), 0 when not, -AML_E* on error. */
int aml_area_linux_check_binding(struct aml_area_linux_data *data, void *ptr, size_t size);
/* Name of a policy ("interleave", ...), "unknown" for others. */
const char *aml_area_linux_policy_name(enum aml_area_linux_policy policy);

#ifdef __cplusplus
}
#endif
#endif
