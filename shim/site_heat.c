/* Profile mode's heat: a sampler thread (profile mode only) that, every
 * interval, reads which pages of each site's live blocks were written
 * since the last interval (the soft-dirty bit, 55, of /proc/self/pagemap),
 * then clears the bits (writing 4 to /proc/self/clear_refs); the interval
 * is AMLSHIM_PROFILE_INTERVAL (default 50 ms). No privilege
 * needed; a site's heat is its dirty pages over its pages sampled, per
 * second: writes per page per second, at most one per interval. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <time.h>
#include <sys/mman.h>
#include <unistd.h>

#include "os.h"

#include "routes.h"
#include "site_rules.h"
#include "site_table.h"

#define MAX_RANGES 16384

static struct {
	uintptr_t start;
	size_t pages;
	uint32_t site;
} ranges[MAX_RANGES];
static int num_ranges;
static int working; /* the bits could be read and cleared */

const char *shim_site_heat_method(void)
{
	return __atomic_load_n(&working, __ATOMIC_ACQUIRE) ? "soft-dirty" : NULL;
}

unsigned shim_site_heat_interval_ms(void)
{
	return shim_sites.parsed.interval_ms;
}

/* The live blocks of sites, copied under each pool's lock. */
static void gather(struct shim_pool *pool, const struct shim_route *route, int node, void *ctx)
{
	(void)route;
	(void)node;
	(void)ctx;
	shim_lock(&pool->lock);
	for (struct shim_block *b = pool->live; b && num_ranges < MAX_RANGES; b = b->next)
		if (b->site)
			ranges[num_ranges++] = (typeof(ranges[0])){(uintptr_t)b->ptr & ~(SHIM_PAGE - 1),
			                                           (b->requested + SHIM_PAGE - 1) / SHIM_PAGE, b->site};
	shim_unlock(&pool->lock);
}

static void sample(void)
{
	num_ranges = 0;
	shim_large_for_each_pool(gather, NULL);
	for (int i = 0; i < num_ranges; i++) {
		struct shim_site_entry *e = &shim_site_table[ranges[i].site - 1];
		unsigned long dirty = aml_os_soft_dirty_count(ranges[i].start, ranges[i].pages);
		__atomic_add_fetch(&e->dirty_pages, dirty, __ATOMIC_RELAXED);
		__atomic_add_fetch(&e->sampled_pages, ranges[i].pages, __ATOMIC_RELAXED);
	}
	aml_os_soft_dirty_clear();
}

static void *sampler(void *arg)
{
	(void)arg;
	unsigned ms = shim_sites.parsed.interval_ms;
	struct timespec interval = {ms / 1000, (long)(ms % 1000) * 1000000L};
	for (;;) {
		nanosleep(&interval, NULL);
		sample();
	}
	return NULL;
}

/* Whether the kernel keeps the bit (CONFIG_MEM_SOFT_DIRTY): a page of our
 * own, cleared, written, must read dirty. */
static int soft_dirty_works(void)
{
	volatile char *page = aml_os_mmap(NULL, SHIM_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED)
		return 0;
	page[0] = 1;
	int works = aml_os_soft_dirty_clear() == 0 && (page[0] = 2, aml_os_soft_dirty_count((uintptr_t)page, 1) == 1);
	aml_os_munmap((void *)page, SHIM_PAGE);
	return works;
}

void shim_site_heat_start(void)
{
	if (aml_os_soft_dirty_open() != 0 || !soft_dirty_works())
		return; /* the profile says heat_method null */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old); /* the program's signals go to its own threads */
	pthread_t thread;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&thread, &attr, sampler, NULL) == 0)
		__atomic_store_n(&working, 1, __ATOMIC_RELEASE);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}
