/* aml_init/aml_finalize and version queries. */
#define _GNU_SOURCE
#include <aml.h>
#include "internal.h"

int aml_init(int *argc, char **argv[])
{
	(void)argc;
	(void)argv;
	/* The topology is optional: Linux and block areas work without it. */
	aml_hwloc_topology_init();
	return AML_SUCCESS;
}

int aml_finalize(void)
{
	aml_hwloc_topology_fini();
	return AML_SUCCESS;
}

int aml_version_major(void) { return AML_VERSION_MAJOR; }
int aml_version_minor(void) { return AML_VERSION_MINOR; }
int aml_version_patch(void) { return AML_VERSION_PATCH; }
const char *aml_version_string(void) { return AML_VERSION_STRING; }
