/* fork: our locks are taken before and released after, so the child never
 * inherits one held by a thread that does not exist there; CUDA contexts do
 * not survive fork, so the child's CUDA rules fall back to the kernel
 * default. jemalloc handles its own locks. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>

#include "large.h"
#include "shim.h"

int shim_in_forked_child;

static void for_each_pool_lock(void (*action)(int *))
{
	if (shim_implicit_active)
		action(&shim_implicit_route.fallback.lock);
	for (int r = 0; r < shim_num_routes; r++) {
		action(&shim_routes[r].fallback.lock);
		for (int p = 0; p < SHIM_MAX_NODES; p++)
			if (shim_routes[r].pools[p].present)
				action(&shim_routes[r].pools[p].lock);
	}
}

static void before_fork(void)
{
	shim_small_before_fork();
	for_each_pool_lock(shim_lock);
	shim_registry_before_fork();
}

static void after_fork_parent(void)
{
	shim_registry_after_fork();
	for_each_pool_lock(shim_unlock);
	shim_small_after_fork();
}

static void after_fork_child(void)
{
	shim_registry_after_fork();
	for_each_pool_lock(shim_unlock);
	shim_small_after_fork();
	shim_in_forked_child = 1;
	shim_large_after_fork_child();
	shim_small_after_fork_child();
	shim_deepbind_after_fork_child();
}

void shim_fork_install(void)
{
	pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}
