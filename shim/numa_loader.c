/* libnuma, opened at its first use. The area library inside the shim
 * speaks libnuma's bitmask type, but a program with no placement never
 * calls it, and a libnuma that is linked in costs every process under the
 * shim its constructor (it reads /proc/self/status and sysfs: ~0.2 ms of a
 * /bin/true). So the shim defines the libnuma functions it uses (hidden,
 * for its own calls only) as forwarders that open libnuma.so.1 at the first
 * call. Without libnuma they answer as libnuma does on a kernel without
 * NUMA: unavailable, no mask, node 0 only. The areas' side of this is
 * their contract, areas/external.h. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stddef.h>
#include <numa.h>

#include "lazy_lib.h"

static struct {
	int (*available)(void);
	int (*max_node)(void);
	struct bitmask *(*allocate_nodemask)(void);
	struct bitmask *(*allocate_cpumask)(void);
	struct bitmask *(*get_mems_allowed)(void);
	void (*bitmask_free)(struct bitmask *);
	int (*bitmask_isbitset)(const struct bitmask *, unsigned int);
	struct bitmask *(*bitmask_setbit)(struct bitmask *, unsigned int);
	unsigned int (*bitmask_weight)(const struct bitmask *);
	int (*node_to_cpus)(int, struct bitmask *);
	void (*copy_bitmask_to_bitmask)(struct bitmask *, struct bitmask *);
} libnuma;
static pthread_once_t libnuma_once = PTHREAD_ONCE_INIT;

/* All or nothing: a libnuma missing one of these is not used. */
static void open_libnuma(void)
{
	static const char *const names[] = {
		"numa_available", "numa_max_node", "numa_allocate_nodemask", "numa_allocate_cpumask",
		"numa_get_mems_allowed", "numa_bitmask_free", "numa_bitmask_isbitset", "numa_bitmask_setbit",
		"numa_bitmask_weight", "numa_node_to_cpus", "copy_bitmask_to_bitmask",
	};
	_Static_assert(sizeof(names) / sizeof(names[0]) == sizeof(libnuma) / sizeof(void *),
	               "one name per libnuma function");
	shim_lazy_open("libnuma.so.1", names, (void **)&libnuma, sizeof(names) / sizeof(names[0]));
}

static int have_libnuma(void)
{
	pthread_once(&libnuma_once, open_libnuma);
	return libnuma.available != NULL;
}

int numa_available(void)
{
	return have_libnuma() ? libnuma.available() : -1;
}

int numa_max_node(void)
{
	return have_libnuma() ? libnuma.max_node() : 0;
}

struct bitmask *numa_allocate_nodemask(void)
{
	return have_libnuma() ? libnuma.allocate_nodemask() : NULL;
}

struct bitmask *numa_allocate_cpumask(void)
{
	return have_libnuma() ? libnuma.allocate_cpumask() : NULL;
}

struct bitmask *numa_get_mems_allowed(void)
{
	return have_libnuma() ? libnuma.get_mems_allowed() : NULL;
}

/* Masks exist only where libnuma made them. */
void numa_bitmask_free(struct bitmask *mask)
{
	if (mask && have_libnuma())
		libnuma.bitmask_free(mask);
}

int numa_bitmask_isbitset(const struct bitmask *mask, unsigned int bit)
{
	return mask && have_libnuma() ? libnuma.bitmask_isbitset(mask, bit) : 0;
}

struct bitmask *numa_bitmask_setbit(struct bitmask *mask, unsigned int bit)
{
	return mask && have_libnuma() ? libnuma.bitmask_setbit(mask, bit) : mask;
}

unsigned int numa_bitmask_weight(const struct bitmask *mask)
{
	return mask && have_libnuma() ? libnuma.bitmask_weight(mask) : 0;
}

int numa_node_to_cpus(int node, struct bitmask *cpus)
{
	return cpus && have_libnuma() ? libnuma.node_to_cpus(node, cpus) : -1;
}

void copy_bitmask_to_bitmask(struct bitmask *from, struct bitmask *to)
{
	if (from && to && have_libnuma())
		libnuma.copy_bitmask_to_bitmask(from, to);
}
