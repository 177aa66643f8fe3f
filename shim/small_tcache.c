/* A thread cache per placement class: each thread gets, on its first
 * allocation or free of a class other than the primary (small.c: that one
 * has jemalloc's implicit cache), an explicit jemalloc cache
 * (tcache.create) that only that class's objects ever enter: small.c
 * passes it with the class's arena on allocation, and with the class the
 * pointer's address gives on free. So a cache hit hands out an object of
 * the same class, i.e. of the same placement. In jemalloc, an empty bin
 * refills from the arena given with MALLOCX_ARENA (arena_choose keeps an
 * explicit arena), and a flush gives each object back to the arena it came
 * from; a hit may return an object of another arena of the same class (one
 * another thread, bound to another slot, allocated and this one freed):
 * the same slice, the same mbind placement, so placement holds.
 *
 * Lifetime: destroyed (flushed into their arenas) by a key destructor at
 * thread exit; afterwards, and when jemalloc has no cache left to give
 * (MALLOCX_TCACHE_MAX, about 4K caches in the process: threads x classes),
 * the thread goes without (MALLOCX_TCACHE_NONE), as every class did before.
 * fork: jemalloc keeps the cache table as it was and only re-initializes
 * its lock, so the forking thread's caches stay valid in the child. Other
 * threads' caches are left alone there, as jemalloc leaves their implicit
 * caches: their objects are lost to the child, and flushing them could
 * free objects twice (a thread forked in the middle of a flush has given
 * some back to their bins but not yet removed them from its cache). */
#define _GNU_SOURCE
#include <pthread.h>

#include "small_tcache.h"

SHIM_TLS int shim_small_tcache_flags[SHIM_MAX_CLASSES];
static SHIM_TLS int key_set;
static pthread_key_t exit_key;
static int key_ready;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

static unsigned id_of(int flag)
{
	return (unsigned)((flag >> 8) - 2); /* MALLOCX_TCACHE(id) is (id + 2) << 8 */
}

static void destroy(unsigned id)
{
	je_mallctl("tcache.destroy", NULL, NULL, &id, sizeof(id));
}

/* Thread exit: every cache back to its arenas. An allocation or free of a
 * later destructor (glibc runs them in rounds) goes without cache: no
 * class is left to make one. */
static void thread_exit(void *unused)
{
	(void)unused;
	for (int c = 0; c < SHIM_MAX_CLASSES; c++) {
		int flag = shim_small_tcache_flags[c];
		shim_small_tcache_flags[c] = MALLOCX_TCACHE_NONE;
		if (flag != 0 && flag != MALLOCX_TCACHE_NONE)
			destroy(id_of(flag));
	}
}

static void make_key(void)
{
	key_ready = pthread_key_create(&exit_key, thread_exit) == 0;
}

int shim_small_tcache_create(int class_index)
{
	unsigned id;
	size_t len = sizeof(id);
	int flag = MALLOCX_TCACHE_NONE;
	pthread_once(&key_once, make_key);
	if (key_ready && je_mallctl("tcache.create", &id, &len, NULL, 0) == 0)
		flag = MALLOCX_TCACHE(id);
	/* Stored before the key is set: a key past glibc's first 32 makes
	 * pthread_setspecific allocate, maybe in this very class. */
	shim_small_tcache_flags[class_index] = flag;
	if (flag != MALLOCX_TCACHE_NONE && !key_set) {
		key_set = 1;
		if (pthread_setspecific(exit_key, &key_set) != 0) {
			thread_exit(NULL); /* no destructor would give them back */
			return MALLOCX_TCACHE_NONE;
		}
	}
	return shim_small_tcache_flags[class_index];
}

/* malloc_trim: this thread's caches back to their arenas (jemalloc makes
 * each again at its next use). */
void shim_small_tcache_flush(void)
{
	for (int c = 0; c < SHIM_MAX_CLASSES; c++) {
		int flag = shim_small_tcache_flags[c];
		unsigned id = id_of(flag);
		if (flag != 0 && flag != MALLOCX_TCACHE_NONE)
			je_mallctl("tcache.flush", NULL, NULL, &id, sizeof(id));
	}
}
