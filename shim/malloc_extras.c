/* glibc's malloc extras for the shim's heaps: malloc_trim gives back what
 * the large pools and the private jemalloc keep; mallinfo, mallinfo2,
 * malloc_stats and malloc_info describe the shim's heaps together with
 * glibc's (start-up and foreign allocations); mallopt applies what has a
 * meaning here. glibc's own function always runs too, for its heap. Before
 * start-up they are glibc's alone; with another allocator in front, they
 * are that allocator's where it has them. README: "malloc_trim, mallinfo
 * and the other extras". */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "jemalloc_api.h"
#include "large.h"
#include "shim.h"

#define EXPORT __attribute__((visibility("default")))
#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)
#define ALL_ARENAS STRINGIFY(MALLCTL_ARENAS_ALL)

extern int __libc_mallopt(int param, int value);

/* ---- Whose functions: glibc's (behind us) and the allocator's in front ---- */

struct extras {
	int (*trim)(size_t);
	struct mallinfo2 (*info2)(void);
	struct mallinfo (*info)(void);
	void (*stats)(void);
	int (*xml)(int, FILE *);
	int (*opt)(int, int);
};
static struct extras glibc_fns, front_fns;
static int resolved;

/* The first definition in front of the shim, unless it is ours. */
static void *front_symbol(const char *name, void *ours)
{
	void *symbol = shim_global_symbol(name);
	return symbol == ours ? NULL : symbol;
}

/* dlsym(RTLD_NEXT) needs our return address: never a tail call. */
__attribute__((noinline)) void shim_extras_resolve(void)
{
	shim_thread_busy++;
	glibc_fns.trim = (int (*)(size_t))dlsym(RTLD_NEXT, "malloc_trim");
	glibc_fns.info2 = (struct mallinfo2(*)(void))dlsym(RTLD_NEXT, "mallinfo2");
	glibc_fns.stats = (void (*)(void))dlsym(RTLD_NEXT, "malloc_stats");
	glibc_fns.xml = (int (*)(int, FILE *))dlsym(RTLD_NEXT, "malloc_info");
	glibc_fns.opt = __libc_mallopt;
	if (__atomic_load_n(&shim_forward, __ATOMIC_ACQUIRE)) {
		front_fns.trim = (int (*)(size_t))front_symbol("malloc_trim", (void *)malloc_trim);
		front_fns.info2 = (struct mallinfo2(*)(void))front_symbol("mallinfo2", (void *)mallinfo2);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations" /* glibc deprecates mallinfo; we serve it */
		front_fns.info = (struct mallinfo(*)(void))front_symbol("mallinfo", (void *)mallinfo);
#pragma GCC diagnostic pop
		front_fns.stats = (void (*)(void))front_symbol("malloc_stats", (void *)malloc_stats);
		front_fns.xml = (int (*)(int, FILE *))front_symbol("malloc_info", (void *)malloc_info);
		front_fns.opt = (int (*)(int, int))front_symbol("mallopt", (void *)mallopt);
	}
	shim_thread_busy--;
	__atomic_store_n(&resolved, 1, __ATOMIC_RELEASE);
	__asm__ volatile("" ::: "memory");
}

/* glibc's functions; resolved here when a call comes before start-up. */
static const struct extras *glibc(void)
{
	if (!__atomic_load_n(&resolved, __ATOMIC_ACQUIRE))
		shim_extras_resolve();
	return &glibc_fns;
}

/* The allocator in front owns malloc: its function, where it has one. */
static const struct extras *front(void)
{
	glibc();
	return __atomic_load_n(&shim_forward, __ATOMIC_ACQUIRE) ? &front_fns : NULL;
}

/* The shim's heaps can be read and trimmed: started, and this thread holds
 * none of its locks (a signal handler interrupting it). */
static int shim_heaps_usable(void)
{
	return shim_ready() && shim_locks_held == 0;
}

/* ---- What each heap holds ---------------------------------------------- */

struct heap {
	size_t system;     /* bytes it holds from the kernel */
	size_t in_use;     /* bytes the program holds */
	size_t free_count; /* free blocks kept for reuse (cached large blocks) */
	size_t releasable; /* bytes malloc_trim gives back */
	size_t blocks;     /* live large blocks */
};

static void heap_add(struct heap *sum, const struct heap *h)
{
	sum->system += h->system;
	sum->in_use += h->in_use;
	sum->free_count += h->free_count;
	sum->releasable += h->releasable;
	sum->blocks += h->blocks;
}

static size_t heap_free(const struct heap *h)
{
	return h->system > h->in_use ? h->system - h->in_use : 0;
}

static size_t ctl_size(const char *name)
{
	size_t value = 0, len = sizeof(value);
	return je_mallctl(name, &value, &len, NULL, 0) == 0 ? value : 0;
}

static unsigned ctl_unsigned(const char *name)
{
	unsigned value = 0;
	size_t len = sizeof(value);
	return je_mallctl(name, &value, &len, NULL, 0) == 0 ? value : 0;
}

/* jemalloc's statistics are a snapshot taken at each new epoch. */
static void refresh_small_stats(void)
{
	uint64_t epoch = 1;
	size_t len = sizeof(epoch);
	je_mallctl("epoch", &epoch, &len, &epoch, len);
}

/* One jemalloc arena (or all: "ALL_ARENAS"): resident pages (its metadata,
 * pages of live objects and unused dirty pages), allocated bytes (jemalloc
 * size classes; objects in thread caches count as allocated), dirty pages. */
static struct heap small_heap(const char *arena)
{
	char name[96];
	struct heap h = {0, 0, 0, 0, 0};
	snprintf(name, sizeof(name), "stats.arenas.%s.resident", arena);
	h.system = ctl_size(name);
	snprintf(name, sizeof(name), "stats.arenas.%s.small.allocated", arena);
	h.in_use = ctl_size(name);
	snprintf(name, sizeof(name), "stats.arenas.%s.large.allocated", arena);
	h.in_use += ctl_size(name);
	snprintf(name, sizeof(name), "stats.arenas.%s.pdirty", arena);
	h.releasable = ctl_size(name) * ctl_size("arenas.page");
	return h;
}

/* One large pool: its live blocks from malloc (not the program's own
 * mmaps: glibc would not count those either) and its cached blocks. */
static struct heap pool_heap(struct shim_pool *pool)
{
	struct heap h = {0, 0, 0, 0, 0};
	shim_lock(&pool->lock);
	for (const struct shim_block *b = pool->live; b; b = b->next) {
		if (b->kind != SHIM_BLOCK_MALLOC)
			continue;
		h.blocks++;
		h.system += b->mapped;
		h.in_use += b->requested;
	}
	h.free_count = (size_t)pool->num_cached;
	h.system += pool->cached_bytes;
	h.releasable = pool->cached_bytes;
	shim_unlock(&pool->lock);
	return h;
}

static void sum_pool(struct shim_pool *pool, const struct shim_route *route, int node, void *ctx)
{
	(void)route, (void)node;
	struct heap h = pool_heap(pool);
	heap_add((struct heap *)ctx, &h);
}

struct totals {
	struct mallinfo2 glibc;
	struct heap small, large;
	int shim; /* the shim's heaps are included */
};

static struct mallinfo2 glibc_mallinfo2(void)
{
	const struct extras *fns = glibc();
	struct mallinfo2 info;
	memset(&info, 0, sizeof(info));
	if (fns->info2)
		info = fns->info2();
	return info;
}

static void gather(struct totals *t)
{
	memset(t, 0, sizeof(*t));
	t->glibc = glibc_mallinfo2();
	if (!shim_heaps_usable())
		return;
	t->shim = 1;
	refresh_small_stats();
	t->small = small_heap(ALL_ARENAS);
	shim_large_for_each_pool(sum_pool, &t->large);
}

/* glibc's fields, with the shim's heaps added: see the README. The
 * program's in-use bytes are uordblks (+ hblkhd for glibc's own mmapped
 * chunks), as under glibc; arena = uordblks + fordblks. */
static struct mallinfo2 totals_mallinfo2(const struct totals *t)
{
	struct mallinfo2 info = t->glibc;
	info.arena += t->small.system + t->large.system;
	info.ordblks += t->large.free_count;
	info.uordblks += t->small.in_use + t->large.in_use;
	info.fordblks += heap_free(&t->small) + heap_free(&t->large);
	info.keepcost += t->small.releasable + t->large.releasable;
	return info;
}

/* ---- The exported functions ------------------------------------------------ */

/* Gives back what the shim keeps: this thread's jemalloc cache, every
 * arena's unused dirty pages (forced purge: MADV_DONTNEED) and every pool's
 * cached blocks (unmapped). 1 when something was released. */
static int trim_shim(void)
{
	je_mallctl("thread.tcache.flush", NULL, NULL, NULL, 0);
	refresh_small_stats();
	size_t dirty = ctl_size("stats.arenas." ALL_ARENAS ".pdirty") + ctl_size("stats.arenas." ALL_ARENAS ".pmuzzy");
	je_mallctl("arena." ALL_ARENAS ".purge", NULL, NULL, NULL, 0);
	size_t unmapped = shim_large_trim();
	return dirty > 0 || unmapped > 0;
}

EXPORT int malloc_trim(size_t pad)
{
	const struct extras *in_front = front();
	int (*trim)(size_t) = in_front && in_front->trim ? in_front->trim : glibc()->trim;
	int released = trim ? trim(pad) : 0;
	/* pad is glibc's (what it leaves at the top of its heap): the shim
	 * keeps no cached block and no dirty page. */
	if (shim_heaps_usable() && trim_shim())
		released = 1;
	return released;
}

EXPORT struct mallinfo2 mallinfo2(void)
{
	const struct extras *in_front = front();
	if (in_front && in_front->info2)
		return in_front->info2();
	struct totals t;
	gather(&t);
	return totals_mallinfo2(&t);
}

/* glibc truncates to int; a field past INT_MAX reads INT_MAX here. */
static int saturate(size_t value)
{
	return value > INT_MAX ? INT_MAX : (int)value;
}

EXPORT struct mallinfo mallinfo(void)
{
	const struct extras *in_front = front();
	if (in_front && in_front->info)
		return in_front->info();
	struct mallinfo2 wide = mallinfo2();
	struct mallinfo info;
	info.arena = saturate(wide.arena);
	info.ordblks = saturate(wide.ordblks);
	info.smblks = saturate(wide.smblks);
	info.hblks = saturate(wide.hblks);
	info.hblkhd = saturate(wide.hblkhd);
	info.usmblks = saturate(wide.usmblks);
	info.fsmblks = saturate(wide.fsmblks);
	info.uordblks = saturate(wide.uordblks);
	info.fordblks = saturate(wide.fordblks);
	info.keepcost = saturate(wide.keepcost);
	return info;
}

/* mallopt returns what glibc returns (1: accepted, 0: a value glibc
 * refuses; parameters it does not know are accepted), and glibc's heap
 * follows the setting. Once glibc accepted it, the shim applies:
 * M_TRIM_THRESHOLD: freed bytes each large pool keeps resident (the rest
 * is MADV_FREE'd; negative: no limit); M_ARENA_MAX: jemalloc arenas that
 * threads bound from now on share. The others only reach glibc. */
EXPORT int mallopt(int param, int value)
{
	const struct extras *in_front = front();
	if (in_front)
		return in_front->opt ? in_front->opt(param, value) : __libc_mallopt(param, value);
	int accepted = __libc_mallopt(param, value);
	if (accepted != 1 || !shim_ready())
		return accepted;
	switch (param) {
	case M_TRIM_THRESHOLD:
		__atomic_store_n(&shim_large_resident_allowance, value < 0 ? SIZE_MAX : (size_t)value,
		                 __ATOMIC_RELAXED);
		break;
	case M_ARENA_MAX:
		if (value > 0)
			shim_small_set_max_arenas((unsigned)value);
		break;
	default:
		break;
	}
	return accepted;
}

/* ---- malloc_stats: glibc's layout, written with write(2) ------------------- */

static void out_heap(struct shim_out *out, const struct heap *h)
{
	shim_out_put(out, "system bytes     = %10zu\n", h->system);
	shim_out_put(out, "in use bytes     = %10zu\n", h->in_use);
}

/* What a pool serves, for people: "sizes 1M- interleave", its node. */
static void describe_pool(char *buf, size_t len, const struct shim_route *route, int node)
{
	const struct amlshim_rule *rule = route->rule;
	char max[32] = "";
	if (rule->max != SIZE_MAX)
		snprintf(max, sizeof(max), "%zu", rule->max);
	int n = snprintf(buf, len, "sizes %zu-%s, %s", rule->min, max,
	                 route == &shim_implicit_route ? "no rule (kernel default)" : rule->placement.text);
	if (n < 0 || (size_t)n >= len)
		return;
	if (node < 0 && route != &shim_implicit_route)
		snprintf(buf + n, len - (size_t)n, ", kernel-default fallback");
	else if (node >= 0 && route->per_node)
		snprintf(buf + n, len - (size_t)n, ", from node %d", node);
}

struct stats_walk {
	struct shim_out *out;
	int nr;
};

static void stats_pool(struct shim_pool *pool, const struct shim_route *route, int node, void *ctx)
{
	struct stats_walk *walk = ctx;
	struct heap h = pool_heap(pool);
	if (!h.system)
		return;
	char what[300];
	describe_pool(what, sizeof(what), route, node);
	shim_out_put(walk->out, "Arena %d: large blocks, %s\n", walk->nr++, what);
	out_heap(walk->out, &h);
	shim_out_put(walk->out, "cached blocks    = %10zu\n", h.free_count);
}

/* jemalloc's arena indexes run from 0 to this; some are not created. */
static unsigned small_arena_count(void)
{
	return ctl_unsigned("arenas.narenas");
}

static int small_arena_exists(unsigned index)
{
	char name[64];
	_Bool initialized = 0;
	size_t len = sizeof(initialized);
	snprintf(name, sizeof(name), "arena.%u.initialized", index);
	return je_mallctl(name, &initialized, &len, NULL, 0) == 0 && initialized;
}

EXPORT void malloc_stats(void)
{
	const struct extras *in_front = front();
	if (in_front && in_front->stats) {
		in_front->stats();
		return;
	}
	if (!shim_heaps_usable()) {
		if (glibc()->stats)
			glibc()->stats();
		return;
	}
	int saved = errno;
	struct totals t;
	gather(&t);
	struct shim_out out = {.fd = STDERR_FILENO};
	struct heap glibc_heap = {t.glibc.arena, t.glibc.uordblks, 0, 0, 0};
	shim_out_put(&out, "Arena 0: glibc (allocations from before the shim started, foreign pointers)\n");
	out_heap(&out, &glibc_heap);
	int nr = 1;
	unsigned automatic = ctl_unsigned("opt.narenas");
	for (unsigned i = 0, count = small_arena_count(); i < count; i++) {
		if (!small_arena_exists(i))
			continue;
		char index[16];
		snprintf(index, sizeof(index), "%u", i);
		struct heap h = small_heap(index);
		shim_out_put(&out, "Arena %d: small objects, jemalloc arena %u%s\n", nr++, i,
		        i < automatic ? " (jemalloc's own)" : "");
		out_heap(&out, &h);
	}
	struct stats_walk walk = {&out, nr};
	shim_large_for_each_pool(stats_pool, &walk);
	struct mallinfo2 info = totals_mallinfo2(&t);
	shim_out_put(&out, "Total (incl. mmap):\n");
	shim_out_put(&out, "system bytes     = %10zu\n", info.arena + info.hblkhd);
	shim_out_put(&out, "in use bytes     = %10zu\n", info.uordblks + info.hblkhd);
	shim_out_put(&out, "large blocks     = %10zu\n", t.large.blocks);
	shim_out_put(&out, "cached blocks    = %10zu\n", t.large.free_count);
	shim_out_put(&out, "trimmable bytes  = %10zu\n", info.keepcost);
	shim_out_flush(&out);
	errno = saved;
}

/* ---- malloc_info: glibc's XML document, the shim's heaps added ------------- */

/* Attribute text: the XML specials escaped. */
static void xml_text(FILE *fp, const char *text)
{
	for (; *text; text++) {
		switch (*text) {
		case '&': fputs("&amp;", fp); break;
		case '<': fputs("&lt;", fp); break;
		case '>': fputs("&gt;", fp); break;
		case '"': fputs("&quot;", fp); break;
		default: fputc(*text, fp); break;
		}
	}
}

/* The elements every heap has: fast (glibc's fastbins), rest (free space:
 * count = free blocks), inuse (what the program holds), system. */
static void xml_heap_body(FILE *fp, size_t fast_count, size_t fast_size, const struct heap *h)
{
	fprintf(fp, "<sizes>\n</sizes>\n");
	fprintf(fp, "<total type=\"fast\" count=\"%zu\" size=\"%zu\"/>\n", fast_count, fast_size);
	fprintf(fp, "<total type=\"rest\" count=\"%zu\" size=\"%zu\"/>\n", h->free_count, heap_free(h));
	fprintf(fp, "<total type=\"inuse\" count=\"%zu\" size=\"%zu\"/>\n", h->blocks, h->in_use);
	fprintf(fp, "<system type=\"current\" size=\"%zu\"/>\n", h->system);
	fprintf(fp, "<aspace type=\"total\" size=\"%zu\"/>\n", h->system);
}

struct xml_walk {
	FILE *fp;
	int nr;
};

static void xml_pool(struct shim_pool *pool, const struct shim_route *route, int node, void *ctx)
{
	struct xml_walk *walk = ctx;
	struct heap h = pool_heap(pool);
	if (!h.system)
		return;
	char what[300];
	describe_pool(what, sizeof(what), route, node);
	fprintf(walk->fp, "<heap nr=\"%d\" kind=\"large\" pool=\"", walk->nr++);
	xml_text(walk->fp, what);
	fprintf(walk->fp, "\">\n");
	/* Free blocks here are whole cached blocks; rest also counts the page
	 * rounding of live ones. */
	xml_heap_body(walk->fp, 0, 0, &h);
	fprintf(walk->fp, "<total type=\"cached\" count=\"%zu\" size=\"%zu\"/>\n", h.free_count, h.releasable);
	fprintf(walk->fp, "</heap>\n");
}

EXPORT int malloc_info(int options, FILE *fp)
{
	const struct extras *in_front = front();
	if (in_front && in_front->xml)
		return in_front->xml(options, fp);
	if (options != 0)
		return EINVAL; /* as glibc: returned, errno untouched */
	if (!shim_heaps_usable())
		return glibc()->xml ? glibc()->xml(options, fp) : EINVAL;
	struct totals t;
	gather(&t);
	struct mallinfo2 info = totals_mallinfo2(&t);
	fprintf(fp, "<malloc version=\"1\">\n");
	struct heap glibc_heap = {t.glibc.arena, t.glibc.uordblks, t.glibc.ordblks, t.glibc.keepcost, 0};
	fprintf(fp, "<heap nr=\"0\" kind=\"glibc\">\n");
	xml_heap_body(fp, t.glibc.smblks, t.glibc.fsmblks, &glibc_heap);
	fprintf(fp, "</heap>\n");
	int nr = 1;
	unsigned automatic = ctl_unsigned("opt.narenas");
	for (unsigned i = 0, count = small_arena_count(); i < count; i++) {
		if (!small_arena_exists(i))
			continue;
		char index[16], name[64];
		snprintf(index, sizeof(index), "%u", i);
		snprintf(name, sizeof(name), "stats.arenas.%u.nthreads", i);
		struct heap h = small_heap(index);
		fprintf(fp, "<heap nr=\"%d\" kind=\"%s\" arena=\"%u\" threads=\"%u\">\n", nr++,
		        i < automatic ? "jemalloc" : "small", i, ctl_unsigned(name));
		xml_heap_body(fp, 0, 0, &h);
		fprintf(fp, "<total type=\"dirty\" count=\"0\" size=\"%zu\"/>\n", h.releasable);
		fprintf(fp, "</heap>\n");
	}
	struct xml_walk walk = {fp, nr};
	shim_large_for_each_pool(xml_pool, &walk);
	/* The totals are mallinfo2's: rest = fordblks, inuse = uordblks,
	 * system = arena, mmap = glibc's own mmapped chunks. */
	fprintf(fp, "<total type=\"fast\" count=\"%zu\" size=\"%zu\"/>\n", info.smblks, info.fsmblks);
	fprintf(fp, "<total type=\"rest\" count=\"%zu\" size=\"%zu\"/>\n", info.ordblks, info.fordblks);
	fprintf(fp, "<total type=\"mmap\" count=\"%zu\" size=\"%zu\"/>\n", info.hblks, info.hblkhd);
	fprintf(fp, "<total type=\"inuse\" count=\"%zu\" size=\"%zu\"/>\n", t.large.blocks, info.uordblks);
	fprintf(fp, "<total type=\"cached\" count=\"%zu\" size=\"%zu\"/>\n", t.large.free_count, t.large.releasable);
	fprintf(fp, "<system type=\"current\" size=\"%zu\"/>\n", info.arena);
	fprintf(fp, "<aspace type=\"total\" size=\"%zu\"/>\n", info.arena + info.hblkhd);
	fprintf(fp, "</malloc>\n");
	return 0;
}
