/* fork: our locks are taken before and released after, so the child never
 * inherits one held by a thread that does not exist there; CUDA contexts do
 * not survive fork, so the child's CUDA rules fall back to the kernel
 * default. jemalloc handles its own locks; other threads' caches of the
 * placement classes stay untouched in the child (small_tcache.c). */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>

#include "budget.h"
#include "deepbind_got.h"
#include "fork.h"
#include "registry.h"
#include "routes.h"
#include "shim.h"
#include "site_modules.h"
#include "small.h"
#include "stats.h"

int shim_in_forked_child;

static void lock_pool(struct shim_pool *pool, const struct shim_route *route, int node, void *ctx)
{
	(void)route;
	(void)node;
	(void)ctx;
	shim_lock(&pool->lock);
}

static void unlock_pool(struct shim_pool *pool, const struct shim_route *route, int node, void *ctx)
{
	(void)route;
	(void)node;
	(void)ctx;
	shim_unlock(&pool->lock);
}

/* Installed at start-up and again once the private jemalloc has started
 * and registered its own handlers: the last installation's prepare runs
 * first and its parent and child handlers last, so our locks are taken
 * before jemalloc's and released after them; the others do nothing. */
static int handlers_run;

static void before_fork(void)
{
	if (handlers_run++)
		return;
	shim_small_before_fork();
	shim_large_for_each_pool(lock_pool, NULL);
	shim_site_scans_before_fork();
	shim_registry_before_fork();
}

static void after_fork_parent(void)
{
	if (--handlers_run)
		return;
	shim_registry_after_fork();
	shim_site_scans_after_fork();
	shim_large_for_each_pool(unlock_pool, NULL);
	shim_small_after_fork();
}

static void after_fork_child(void)
{
	if (--handlers_run)
		return;
	shim_registry_after_fork();
	shim_site_scans_after_fork();
	shim_large_for_each_pool(unlock_pool, NULL);
	shim_small_after_fork();
	shim_in_forked_child = 1;
	shim_routes_after_fork_child();
	shim_share_after_fork_child();
	shim_stats_after_fork_child();
	shim_small_after_fork_child();
	shim_deepbind_after_fork_child();
}

void shim_fork_install(void)
{
	pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}
