/* The shared hwloc topology (aml_topology), loaded once on demand. */
#define _GNU_SOURCE
#include <pthread.h>
#include <aml/area/hwloc.h>
#include "internal.h"

hwloc_topology_t aml_topology;

static pthread_mutex_t topology_lock = PTHREAD_MUTEX_INITIALIZER;
static int topology_failed;

int aml_hwloc_topology_init(void)
{
	if (__atomic_load_n(&aml_topology, __ATOMIC_ACQUIRE))
		return AML_SUCCESS;
	pthread_mutex_lock(&topology_lock);
	if (!aml_topology && !topology_failed) {
		hwloc_topology_t topo;
		if (hwloc_topology_init(&topo) == 0) {
			hwloc_topology_set_flags(topo, HWLOC_TOPOLOGY_FLAG_IMPORT_SUPPORT);
			if (hwloc_topology_load(topo) == 0)
				__atomic_store_n(&aml_topology, topo, __ATOMIC_RELEASE);
			else
				hwloc_topology_destroy(topo);
		}
		topology_failed = aml_topology == NULL;
	}
	pthread_mutex_unlock(&topology_lock);
	return aml_topology ? AML_SUCCESS : -AML_ENOTSUP;
}

void aml_hwloc_topology_fini(void)
{
	pthread_mutex_lock(&topology_lock);
	if (aml_topology) {
		hwloc_topology_destroy(aml_topology);
		aml_topology = NULL;
	}
	topology_failed = 0;
	pthread_mutex_unlock(&topology_lock);
}
