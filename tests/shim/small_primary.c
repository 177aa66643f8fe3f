/* The small path's primary class (shim/small.c): with AMLSHIM_RULES
 * "0-1000=bind:N" class 0 (AMLSHIM_SMALL=interleave), which serves most
 * of the cached sizes (1000 and up), is the primary, with jemalloc's own
 * thread cache, and the rule's class serves sizes below 1000 through a
 * cache of its own; with "0-64K=bind:N" the rule's class is the primary.
 * Sizes 990 and 1010 share jemalloc's size class 1024: one class's object
 * in the other's cache would be handed out with the wrong placement. The same again with "0-64K"
 * (sizes around 64K: jemalloc's large sizes), and with "0-64K=bind:local"
 * pinned to N's CPUs (a node set name in a rule's small class). Every object is checked (its
 * page's policy, and the node of a bind one) through:
 * - rounds of mixed allocations freed in mixed order, with malloc_trim;
 * - cross-thread: a thread allocates one class, this one frees it and
 *   allocates the other at the same jemalloc size;
 * - calloc, aligned_alloc, posix_memalign, realloc across the boundary;
 * - a key destructor that runs after the shim's (and jemalloc's own thread
 *   cleanup) allocating and freeing in both classes: nothing may abort. */
#include <malloc.h>
#include <numa.h>
#include <pthread.h>

#include "shim_test.h"

static size_t bound; /* the rule's end */
static int node;

static void check_placed(const char *what, const char *p, size_t size)
{
	int bind = size < bound;
	int mode = shim_test_policy(p, NULL);
	CHECK(mode == (bind ? MPOL_BIND : MPOL_INTERLEAVE), "%s(%zu) = %p has %s, expected %s", what, size,
	      (const void *)p, shim_test_policy_name(mode), bind ? "MPOL_BIND" : "MPOL_INTERLEAVE");
	if (bind) {
		int where = test_page_node(p);
		CHECK(where == node, "%s(%zu) = %p: page on node %d, the rule binds node %d", what, size,
		      (const void *)p, where, node);
	}
}

static char *alloc_checked(size_t size)
{
	char *p = malloc(size);
	CHECK(p != NULL, "malloc(%zu)", size);
	shim_test_fill(p, size, (uintptr_t)p);
	check_placed("malloc", p, size);
	return p;
}

static void free_checked(char *p, size_t size)
{
	CHECK_PATTERN(p, size, (uintptr_t)p);
	free(p);
}

/* Sizes on both sides of the boundary (for 1000: pairs in one jemalloc
 * size class, 1024), and others below and past 64K. */
#define NSIZES 8
static size_t sizes[NSIZES];

static void mixed_rounds(void)
{
	enum { EACH = 96, ROUNDS = 60 };
	char *objects[EACH];
	for (int round = 0; round < ROUNDS; round++) {
		for (int i = 0; i < EACH; i++)
			objects[i] = alloc_checked(sizes[(i + round) % NSIZES]);
		/* Freed in another order than allocated: both classes' objects
		 * reach the caches interleaved. */
		for (int i = 0; i < EACH; i++) {
			int j = (i * 37 + round) % EACH;
			free_checked(objects[j], sizes[(j + round) % NSIZES]);
		}
		if (round % 20 == 19)
			malloc_trim(0);
	}
}

#define HANDED 2000
static char *handed[HANDED];

static void *allocate_class(void *arg)
{
	size_t size = (size_t)(uintptr_t)arg;
	for (int i = 0; i < HANDED; i++)
		handed[i] = alloc_checked(size);
	return NULL;
}

/* Another thread's objects of one class freed here (into this thread's
 * cache of that class), then this thread allocates the other class. */
static void cross_thread(size_t theirs, size_t mine)
{
	pthread_t thread;
	CHECK(pthread_create(&thread, NULL, allocate_class, (void *)(uintptr_t)theirs) == 0, "pthread_create");
	pthread_join(thread, NULL);
	for (int i = 0; i < HANDED; i++)
		free_checked(handed[i], theirs);
	static char *own[HANDED];
	for (int i = 0; i < HANDED; i++)
		own[i] = alloc_checked(mine);
	for (int i = 0; i < HANDED; i++)
		free_checked(own[i], mine);
}

static void other_calls(void)
{
	for (size_t s = 0; s < NSIZES; s++) {
		size_t size = sizes[s];
		char *p = calloc(1, size);
		CHECK(p != NULL && p[0] == 0 && p[size - 1] == 0, "calloc(1, %zu)", size);
		p[0] = 1; /* a page there for the node check */
		check_placed("calloc", p, size);
		char *q = aligned_alloc(64, size);
		CHECK(q != NULL && (uintptr_t)q % 64 == 0, "aligned_alloc(64, %zu)", size);
		q[0] = 1;
		check_placed("aligned_alloc", q, size);
		char *r = NULL;
		CHECK(posix_memalign((void **)&r, 256, size) == 0 && (uintptr_t)r % 256 == 0, "posix_memalign(256, %zu)",
		      size);
		r[0] = 1;
		check_placed("posix_memalign", r, size);
		free(p);
		free(q);
		free(r);
	}
	/* realloc across the boundary and back, and within each class. */
	const size_t steps[] = {100, bound - 10, bound + 10, bound - 100, bound - 1, bound, 70000, 500, 40};
	char *p = alloc_checked(steps[0]);
	shim_test_fill(p, steps[0], 0);
	for (size_t i = 1; i < sizeof(steps) / sizeof(steps[0]); i++) {
		size_t kept = steps[i - 1] < steps[i] ? steps[i - 1] : steps[i];
		p = realloc(p, steps[i]);
		CHECK(p != NULL, "realloc to %zu", steps[i]);
		CHECK_PATTERN(p, kept, (uintptr_t)0);
		check_placed("realloc", p, steps[i]);
		shim_test_fill(p, steps[i], 0);
	}
	free(p);
}

/* Runs after the shim's key destructor: jemalloc's own thread cleanup is
 * done by then. */
static pthread_key_t late_key;

static void late_destructor(void *object)
{
	free(object);
	for (size_t s = 0; s < NSIZES; s++) {
		char *p = malloc(sizes[s]);
		CHECK(p != NULL, "malloc(%zu) in a key destructor", sizes[s]);
		shim_test_fill(p, sizes[s], (uintptr_t)p);
		CHECK_PATTERN(p, sizes[s], (uintptr_t)p);
		free(p);
	}
}

static void *exit_with_key(void *arg)
{
	(void)arg;
	free(alloc_checked(100));
	free(alloc_checked(1010));
	pthread_setspecific(late_key, malloc(100));
	return NULL;
}

static void run(void)
{
	const size_t each[NSIZES] = {bound - 10, bound + 10, 40, bound, 16000, 100, 70000, bound - 1};
	memcpy(sizes, each, sizeof(each));

	free_checked(alloc_checked(100), 100); /* the shim's key first */
	CHECK(pthread_key_create(&late_key, late_destructor) == 0, "pthread_key_create");

	mixed_rounds();
	cross_thread(1010, 990);
	cross_thread(990, 1010);
	other_calls();
	for (int i = 0; i < 4; i++) {
		pthread_t thread;
		CHECK(pthread_create(&thread, NULL, exit_with_key, NULL) == 0, "pthread_create");
		pthread_join(thread, NULL);
	}
	mixed_rounds();
	printf("small_primary: sizes below %zu (the rule's class) and above (AMLSHIM_SMALL), one of them with "
	       "jemalloc's own cache, "
	       "mixed, across threads, through calloc, aligned and realloc: every object placed by its class\n",
	       bound);
}

/* Pins this process (and the modes it spawns) to node's CPUs, so that the
 * node set name "local" is node; 0, or -1 when node has no CPUs. */
static int pin_to_node(void)
{
	struct bitmask *cpus = numa_allocate_cpumask();
	int ok = numa_node_to_cpus(node, cpus) == 0 && numa_bitmask_weight(cpus) > 0 &&
	         numa_sched_setaffinity(0, cpus) == 0;
	numa_bitmask_free(cpus);
	return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
	node = shim_test_first_node();
	/* The third mode names the node: "bind:local" (its names once reached
	 * the rule's small class unresolved: an empty mask, no placement). */
	static const size_t bounds[] = {1000, 65536, 65536};
	static char rules[3][64];
	struct shim_test_mode modes[3] = {{"1000", {0}}, {"64K", {0}}, {"64K-local", {0}}};
	int count = pin_to_node() == 0 ? 3 : 2;
	for (int m = 0; m < count; m++) {
		if (m == 2)
			snprintf(rules[m], sizeof(rules[m]), "AMLSHIM_RULES=0-%zu=bind:local", bounds[m]);
		else
			snprintf(rules[m], sizeof(rules[m]), "AMLSHIM_RULES=0-%zu=bind:%d", bounds[m], node);
		modes[m].env[0] = rules[m];
		modes[m].env[1] = "AMLSHIM_SMALL=interleave";
	}
	int m = shim_test_mode_start(argv, modes, count);
	if (m >= 0) {
		bound = bounds[m];
		run();
		return 0;
	}
	return shim_test_run_modes(argc, argv, modes, count, 120) ? 1 : 0;
}
