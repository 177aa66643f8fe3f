/* Run-time check of the backends. */
#define _GNU_SOURCE
#include <numa.h>
#include <aml.h>
#include <aml/area/cuda.h>
#include "internal.h"

int aml_support_backends(const unsigned long backends)
{
	const unsigned long known = AML_BACKEND_LIBNUMA | AML_BACKEND_HWLOC | AML_BACKEND_CUDA;
	if (backends & ~known)
		return 0;
	if ((backends & AML_BACKEND_LIBNUMA) && numa_available() < 0)
		return 0;
	if ((backends & AML_BACKEND_HWLOC) && aml_hwloc_topology_init() != AML_SUCCESS)
		return 0;
	if ((backends & AML_BACKEND_CUDA) && aml_cuda_device_count() <= 0)
		return 0;
	return 1;
}
