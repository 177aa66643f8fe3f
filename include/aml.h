/* amlshim's area library: AML's area API ("building blocks for memory
 * management", Argonne) with Linux, block-interleave, hwloc and CUDA areas.
 *
 * An area is a placement mechanism: aml_area_mmap() returns memory placed
 * by the area's policy, aml_area_munmap() gives it back. Areas are ops tables
 * plus private data, so users can write their own (see tests/tutorials). */
#ifndef AML_H
#define AML_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include <aml/utils/error.h>
#include <aml/utils/features.h>
#include <aml/utils/inner-malloc.h>
#include <aml/utils/nodemask.h>

#ifdef __cplusplus
extern "C" {
#endif

#define AML_VERSION_MAJOR 0
#define AML_VERSION_MINOR 1
#define AML_VERSION_PATCH 0
#define AML_VERSION_STRING "0.1.0"

/* Library initialisation, as in AML. Loads the hwloc topology (aml_topology)
 * and starts no thread. Both are optional for the Linux and block areas. */
int aml_init(int *argc, char **argv[]);
int aml_finalize(void);
int aml_version_major(void);
int aml_version_minor(void);
int aml_version_patch(void);
const char *aml_version_string(void);

/* Opaque per-area data and per-call options, defined by each area. */
struct aml_area_data;
struct aml_area_mmap_options;

struct aml_area_ops {
	/* Returns size bytes placed by the area, or NULL with aml_errno set. */
	void *(*mmap)(const struct aml_area_data *data, size_t size,
	              struct aml_area_mmap_options *opts);
	/* Releases memory returned by mmap; returns AML_SUCCESS or -AML_E*. */
	int (*munmap)(const struct aml_area_data *data, void *ptr, size_t size);
	/* Describes the area, one or more lines each starting with prefix. */
	int (*fprintf)(const struct aml_area_data *data, FILE *stream, const char *prefix);
};

struct aml_area {
	struct aml_area_ops *ops;
	struct aml_area_data *data;
};

/* size 0 returns NULL (aml_errno = AML_EINVAL); a NULL area returns NULL
 * with AML_EINVAL; an area without an mmap op gives AML_ENOTSUP. */
void *aml_area_mmap(const struct aml_area *area, size_t size,
                    struct aml_area_mmap_options *opts);
/* ptr NULL or size 0 is a no-op success; a NULL area is -AML_EINVAL. */
int aml_area_munmap(const struct aml_area *area, void *ptr, size_t size);
/* Never crashes: an area without an fprintf op gets a generic line. */
int aml_area_fprintf(FILE *stream, const char *prefix, const struct aml_area *area);

#ifdef __cplusplus
}
#endif
#endif
