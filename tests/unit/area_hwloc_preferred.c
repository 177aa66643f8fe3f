/* hwloc preferred areas.
 *
 * Rankings against the XML topologies in tests/topologies (full order,
 * values, source, initiator node, fprintf text):
 *  two-socket-hbm.xml: sockets 0 (PUs 0-1) and 1 (PUs 2-3), DDR nodes 0, 1
 *    (64 GiB), HBM nodes 2, 3 (16 GiB), memory attributes per socket and a
 *    distance matrix that must lose to them:
 *      from socket 0: bandwidth 2,0,3,1   latency 0,2,1,3   capacity 0,1,2,3
 *      from socket 1: bandwidth 3,1,2,0   latency 1,3,0,2   capacity 1,0,3,2
 *  four-node-slit.xml: four sockets with one node each (8, 32, 16, 32 GiB),
 *    a latency matrix only: from node 0: 0,2,3,1; from node 3: 3,1,0,2.
 *  no-attributes.xml: node 0 memory-only at machine level, socket 0 holds
 *    node 2, socket 1 node 1, nothing else: locality decides.
 * Then on this machine: local creation, pages on the first ranked node, the
 * policy the kernel reports; with several nodes, the best node for a thread
 * bound to a node's CPUs, and spilling to the next node once the best is
 * full. XML files: $AML_TEST_TOPOLOGIES, else found from the binary
 * (build/tests/unit -> tests/topologies) or the current directory. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <numa.h>
#include <numaif.h>
#include <sched.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <aml.h>
#include <aml/area/hwloc.h>
#include "areas.h"
#include "check.h"

#define MAX_NODES 64
#define MiB ((size_t)1 << 20)
#define GiB ((uint64_t)1 << 30)

static char topologies[PATH_MAX + 64];

static int has_topologies(const char *dir)
{
	char path[PATH_MAX + 128];
	snprintf(path, sizeof(path), "%s/two-socket-hbm.xml", dir);
	return access(path, R_OK) == 0;
}

static void find_topologies(void)
{
	const char *env = getenv("AML_TEST_TOPOLOGIES");
	if (env && *env) {
		snprintf(topologies, sizeof(topologies), "%s", env);
		if (!has_topologies(topologies))
			test_skip_dependency("AML_TEST_TOPOLOGIES=%s has no two-socket-hbm.xml", env);
		return;
	}
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash)
			*slash = '\0';
		const char *relative[] = {"../../../tests/topologies", "../../topologies", "../topologies"};
		for (size_t i = 0; i < sizeof(relative) / sizeof(relative[0]); i++) {
			snprintf(topologies, sizeof(topologies), "%s/%s", exe, relative[i]);
			if (has_topologies(topologies))
				return;
		}
	}
	snprintf(topologies, sizeof(topologies), "tests/topologies");
	if (!has_topologies(topologies))
		test_skip_dependency("tests/topologies not found (set AML_TEST_TOPOLOGIES)");
}

static hwloc_topology_t load_xml(const char *name)
{
	char path[PATH_MAX + 128];
	snprintf(path, sizeof(path), "%s/%s", topologies, name);
	hwloc_topology_t topo;
	CHECK_EQ(hwloc_topology_init(&topo), 0);
	CHECK(hwloc_topology_set_xml(topo, path) == 0, "%s: %s", path, strerror(errno));
	CHECK(hwloc_topology_load(topo) == 0, "%s does not load: %s", path, strerror(errno));
	return topo;
}

static const struct aml_area_hwloc_preferred_data *ranking_of(const struct aml_area *area)
{
	return (const struct aml_area_hwloc_preferred_data *)area->data;
}

/* Checks a ranking: order (count nodes), values (NULL: not checked),
 * source, initiator node and, when given, the exact fprintf line. */
static void expect_ranking(const struct aml_area *area, const char *what, int count,
                           const unsigned *order, const uint64_t *values,
                           enum aml_hwloc_rank_source source, int initiator, const char *text)
{
	const struct aml_area_hwloc_preferred_data *r = ranking_of(area);
	CHECK(r->source == source, "%s: source %s, want %s", what, aml_hwloc_rank_source_name(r->source),
	      aml_hwloc_rank_source_name(source));
	CHECK(r->initiator_os_index == initiator, "%s: initiator node %d, want %d", what,
	      r->initiator_os_index, initiator);
	CHECK(r->num_nodes == (unsigned)count, "%s: %u nodes ranked, want %d", what, r->num_nodes, count);
	for (int i = 0; i < count; i++) {
		CHECK(r->os_index[i] == order[i], "%s: rank %d is node %u, want %u", what, i,
		      r->os_index[i], order[i]);
		if (values)
			CHECK(r->values[i] == values[i], "%s: node %u value %llu, want %llu", what,
			      order[i], (unsigned long long)r->values[i], (unsigned long long)values[i]);
	}
	if (text) {
		char *got = test_area_text(area, NULL);
		CHECK(strcmp(got, text) == 0, "%s: fprintf\n  got  '%s'\n  want '%s'", what, got, text);
		free(got);
	}
}

static struct aml_area *ranked(hwloc_topology_t topo, hwloc_obj_t initiator, enum aml_hwloc_rank rank)
{
	struct aml_area *area = NULL;
	int err = aml_area_hwloc_ranked_create_in(&area, topo, initiator, rank);
	CHECK(err == AML_SUCCESS && area != NULL, "ranked_create_in(%s): %s", aml_hwloc_rank_name(rank),
	      aml_strerror(err));
	return area;
}

static struct aml_area *ranked_cpuset(hwloc_topology_t topo, const char *cpus, enum aml_hwloc_rank rank)
{
	hwloc_bitmap_t set = hwloc_bitmap_alloc();
	CHECK(hwloc_bitmap_sscanf(set, cpus) == 0, "cpuset %s", cpus);
	struct aml_area *area = NULL;
	int err = aml_area_hwloc_ranked_create_cpuset(&area, topo, set, rank);
	CHECK(err == AML_SUCCESS && area != NULL, "ranked_create_cpuset(%s): %s", cpus, aml_strerror(err));
	hwloc_bitmap_free(set);
	return area;
}

#define ORDER(...) ((const unsigned[]){__VA_ARGS__})
#define VALUES(...) ((const uint64_t[]){__VA_ARGS__})

static void check_memattr_topology(void)
{
	hwloc_topology_t topo = load_xml("two-socket-hbm.xml");
	hwloc_obj_t socket0 = hwloc_get_obj_by_type(topo, HWLOC_OBJ_PACKAGE, 0);
	hwloc_obj_t socket1 = hwloc_get_obj_by_type(topo, HWLOC_OBJ_PACKAGE, 1);
	CHECK(socket0 && socket1, "two packages");
	const enum aml_hwloc_rank_source MEMATTR = AML_HWLOC_SOURCE_MEMATTR;

	/* Bandwidth picks the socket's HBM node, latency its DDR node. */
	struct aml_area *a = ranked(topo, socket0, AML_HWLOC_RANK_BANDWIDTH);
	expect_ranking(a, "socket 0 bandwidth", 4, ORDER(2, 0, 3, 1), VALUES(400000, 100000, 60000, 50000),
	               MEMATTR, 0,
	               "area-hwloc-preferred: rank bandwidth (source: memory attributes, initiator node 0): "
	               "2 (400000 MiB/s), 0 (100000 MiB/s), 3 (60000 MiB/s), 1 (50000 MiB/s)\n");
	CHECK_EQ(ranking_of(a)->num_valued, 4);
	aml_area_hwloc_preferred_destroy(&a);
	CHECK(a == NULL, "destroy must clear the pointer");
	a = ranked(topo, socket0, AML_HWLOC_RANK_LATENCY);
	expect_ranking(a, "socket 0 latency", 4, ORDER(0, 2, 1, 3), VALUES(100, 130, 200, 230), MEMATTR, 0,
	               "area-hwloc-preferred: rank latency (source: memory attributes, initiator node 0): "
	               "0 (100 ns), 2 (130 ns), 1 (200 ns), 3 (230 ns)\n");
	aml_area_hwloc_preferred_destroy(&a);
	a = ranked(topo, socket1, AML_HWLOC_RANK_BANDWIDTH);
	expect_ranking(a, "socket 1 bandwidth", 4, ORDER(3, 1, 2, 0), VALUES(400000, 100000, 60000, 50000),
	               MEMATTR, 1, NULL);
	aml_area_hwloc_preferred_destroy(&a);
	a = ranked(topo, socket1, AML_HWLOC_RANK_LATENCY);
	expect_ranking(a, "socket 1 latency", 4, ORDER(1, 3, 0, 2), VALUES(100, 130, 200, 230), MEMATTR, 1, NULL);
	aml_area_hwloc_preferred_destroy(&a);

	/* Capacity: largest first; equal sizes go to the closer node. */
	a = ranked(topo, socket0, AML_HWLOC_RANK_CAPACITY);
	expect_ranking(a, "socket 0 capacity", 4, ORDER(0, 1, 2, 3), VALUES(64 * GiB, 64 * GiB, 16 * GiB, 16 * GiB),
	               MEMATTR, 0, NULL);
	aml_area_hwloc_preferred_destroy(&a);
	a = ranked(topo, socket1, AML_HWLOC_RANK_CAPACITY);
	expect_ranking(a, "socket 1 capacity", 4, ORDER(1, 0, 3, 2), VALUES(64 * GiB, 64 * GiB, 16 * GiB, 16 * GiB),
	               MEMATTR, 1,
	               "area-hwloc-preferred: rank capacity (source: memory attributes, initiator node 1): "
	               "1 (65536 MiB), 0 (65536 MiB), 3 (16384 MiB), 2 (16384 MiB)\n");
	aml_area_hwloc_preferred_destroy(&a);

	/* A thread bound to part of a socket: hwloc's values were recorded for
	 * the whole socket and still apply (by object and by cpuset). */
	hwloc_obj_t pu1 = hwloc_get_pu_obj_by_os_index(topo, 1);
	a = ranked(topo, pu1, AML_HWLOC_RANK_BANDWIDTH);
	expect_ranking(a, "PU 1 bandwidth", 4, ORDER(2, 0, 3, 1), VALUES(400000, 100000, 60000, 50000),
	               MEMATTR, 0, NULL);
	aml_area_hwloc_preferred_destroy(&a);
	a = ranked_cpuset(topo, "0x4", AML_HWLOC_RANK_LATENCY);
	expect_ranking(a, "cpuset 0x4 latency", 4, ORDER(1, 3, 0, 2), VALUES(100, 130, 200, 230), MEMATTR, 1, NULL);
	aml_area_hwloc_preferred_destroy(&a);
	/* A NUMA node as initiator: its CPUs (socket 0's). */
	a = ranked(topo, hwloc_get_numanode_obj_by_os_index(topo, 2), AML_HWLOC_RANK_BANDWIDTH);
	expect_ranking(a, "node 2 bandwidth", 4, ORDER(2, 0, 3, 1), NULL, MEMATTR, 0, NULL);
	aml_area_hwloc_preferred_destroy(&a);

	/* An initiator larger than any recorded one: the mean over its PUs
	 * (bandwidth 2 and 3: (400000 + 60000) / 2; 0 and 1: 75000); equal
	 * values go to the closer node from node 0. */
	a = ranked_cpuset(topo, "0x6", AML_HWLOC_RANK_BANDWIDTH);
	expect_ranking(a, "cpuset 0x6 bandwidth", 4, ORDER(2, 3, 0, 1), VALUES(230000, 230000, 75000, 75000),
	               MEMATTR, 0, NULL);
	aml_area_hwloc_preferred_destroy(&a);
	a = ranked(topo, hwloc_get_root_obj(topo), AML_HWLOC_RANK_LATENCY);
	expect_ranking(a, "machine latency", 4, ORDER(0, 1, 2, 3), VALUES(150, 150, 180, 180), MEMATTR, 0, NULL);
	aml_area_hwloc_preferred_destroy(&a);

	/* The ranking alone, and its errors. */
	unsigned os_index[4];
	uint64_t values[4];
	struct aml_area_hwloc_preferred_data r = {.os_index = os_index, .values = values};
	CHECK_EQ(aml_hwloc_rank_nodes(topo, socket1->cpuset, AML_HWLOC_RANK_BANDWIDTH, 4, &r), AML_SUCCESS);
	CHECK(r.num_nodes == 4 && os_index[0] == 3 && values[0] == 400000 && r.initiator_os_index == 1,
	      "rank_nodes socket 1 bandwidth");
	CHECK_EQ(aml_hwloc_rank_nodes(topo, socket1->cpuset, AML_HWLOC_RANK_BANDWIDTH, 3, &r), -AML_EINVAL);
	CHECK_EQ(aml_hwloc_rank_nodes(topo, NULL, AML_HWLOC_RANK_BANDWIDTH, 4, &r), -AML_EINVAL);

	struct aml_area *area = (struct aml_area *)&area;
	CHECK_EQ(aml_area_hwloc_ranked_create_in(NULL, topo, socket0, AML_HWLOC_RANK_BANDWIDTH), -AML_EINVAL);
	CHECK_EQ(aml_area_hwloc_ranked_create_in(&area, topo, NULL, AML_HWLOC_RANK_BANDWIDTH), -AML_EINVAL);
	CHECK(area == NULL, "failed create leaves NULL");
	CHECK_EQ(aml_area_hwloc_ranked_create_in(&area, topo, socket0, (enum aml_hwloc_rank)7), -AML_EINVAL);
	CHECK_EQ(aml_errno, AML_EINVAL);
	hwloc_bitmap_t set = hwloc_bitmap_alloc();
	CHECK_EQ(aml_area_hwloc_ranked_create_cpuset(&area, topo, set, AML_HWLOC_RANK_LATENCY), -AML_EINVAL);
	hwloc_bitmap_set(set, 8); /* no such PU */
	CHECK_EQ(aml_area_hwloc_ranked_create_cpuset(&area, topo, set, AML_HWLOC_RANK_LATENCY), -AML_EDOM);
	CHECK_EQ(aml_errno, AML_EDOM);
	hwloc_bitmap_free(set);
	/* An object of another topology. */
	hwloc_topology_t other = load_xml("four-node-slit.xml");
	CHECK_EQ(aml_area_hwloc_ranked_create_in(&area, other, socket0, AML_HWLOC_RANK_LATENCY), -AML_EDOM);
	CHECK(area == NULL, "failed create leaves NULL");
	aml_area_hwloc_preferred_destroy(NULL);
	aml_area_hwloc_preferred_destroy(&area);
	hwloc_topology_destroy(other);
	hwloc_topology_destroy(topo);
}

static void check_distances_topology(void)
{
	hwloc_topology_t topo = load_xml("four-node-slit.xml");
	hwloc_obj_t socket0 = hwloc_get_obj_by_type(topo, HWLOC_OBJ_PACKAGE, 0);
	hwloc_obj_t socket1 = hwloc_get_obj_by_type(topo, HWLOC_OBJ_PACKAGE, 1);
	hwloc_obj_t socket3 = hwloc_get_obj_by_type(topo, HWLOC_OBJ_PACKAGE, 3);
	const enum aml_hwloc_rank_source DISTANCES = AML_HWLOC_SOURCE_DISTANCES;
	struct aml_area *a = ranked(topo, socket0, AML_HWLOC_RANK_LATENCY);
	expect_ranking(a, "slit node 0 latency", 4, ORDER(0, 2, 3, 1), VALUES(10, 16, 22, 30), DISTANCES, 0,
	               "area-hwloc-preferred: rank latency (source: distances, initiator node 0): "
	               "0 (distance 10), 2 (distance 16), 3 (distance 22), 1 (distance 30)\n");
	aml_area_hwloc_preferred_destroy(&a);
	/* Only a latency-like matrix: bandwidth takes the smallest distance. */
	a = ranked(topo, socket0, AML_HWLOC_RANK_BANDWIDTH);
	expect_ranking(a, "slit node 0 bandwidth", 4, ORDER(0, 2, 3, 1), VALUES(10, 16, 22, 30), DISTANCES, 0, NULL);
	aml_area_hwloc_preferred_destroy(&a);
	a = ranked(topo, socket3, AML_HWLOC_RANK_LATENCY);
	expect_ranking(a, "slit node 3 latency", 4, ORDER(3, 1, 0, 2), VALUES(10, 16, 22, 30), DISTANCES, 3, NULL);
	aml_area_hwloc_preferred_destroy(&a);
	/* Capacity (8, 32, 16, 32 GiB): nodes 1 and 3 tie, the closer wins. */
	a = ranked(topo, socket0, AML_HWLOC_RANK_CAPACITY);
	expect_ranking(a, "slit node 0 capacity", 4, ORDER(3, 1, 2, 0), VALUES(32 * GiB, 32 * GiB, 16 * GiB, 8 * GiB),
	               AML_HWLOC_SOURCE_MEMATTR, 0, NULL);
	aml_area_hwloc_preferred_destroy(&a);
	a = ranked(topo, socket1, AML_HWLOC_RANK_CAPACITY);
	expect_ranking(a, "slit node 1 capacity", 4, ORDER(1, 3, 2, 0), NULL, AML_HWLOC_SOURCE_MEMATTR, 1, NULL);
	aml_area_hwloc_preferred_destroy(&a);
	hwloc_topology_destroy(topo);
}

static void check_locality_topology(void)
{
	hwloc_topology_t topo = load_xml("no-attributes.xml");
	hwloc_obj_t socket0 = hwloc_get_obj_by_type(topo, HWLOC_OBJ_PACKAGE, 0);
	hwloc_obj_t socket1 = hwloc_get_obj_by_type(topo, HWLOC_OBJ_PACKAGE, 1);
	const enum aml_hwloc_rank_source LOCALITY = AML_HWLOC_SOURCE_LOCALITY;
	/* Socket 0's own node, then the machine-wide node, then the other. */
	struct aml_area *a = ranked(topo, socket0, AML_HWLOC_RANK_LATENCY);
	expect_ranking(a, "locality socket 0 latency", 3, ORDER(2, 0, 1), VALUES(0, 0, 0), LOCALITY, 2,
	               "area-hwloc-preferred: rank latency (source: locality, initiator node 2): "
	               "2 (local), 0 (local), 1 (remote)\n");
	CHECK_EQ(ranking_of(a)->num_valued, 2);
	aml_area_hwloc_preferred_destroy(&a);
	a = ranked(topo, socket1, AML_HWLOC_RANK_BANDWIDTH);
	expect_ranking(a, "locality socket 1 bandwidth", 3, ORDER(1, 0, 2), NULL, LOCALITY, 1, NULL);
	aml_area_hwloc_preferred_destroy(&a);
	/* From the whole machine every node is local: the most local first. */
	a = ranked(topo, hwloc_get_root_obj(topo), AML_HWLOC_RANK_LATENCY);
	expect_ranking(a, "locality machine latency", 3, ORDER(1, 2, 0), NULL, LOCALITY, 1, NULL);
	aml_area_hwloc_preferred_destroy(&a);
	/* Capacity still has hwloc's Capacity attribute: 16, 16, 8 GiB. */
	a = ranked(topo, socket0, AML_HWLOC_RANK_CAPACITY);
	expect_ranking(a, "locality socket 0 capacity", 3, ORDER(2, 1, 0), VALUES(16 * GiB, 16 * GiB, 8 * GiB),
	               AML_HWLOC_SOURCE_MEMATTR, 2, NULL);
	aml_area_hwloc_preferred_destroy(&a);
	hwloc_topology_destroy(topo);
}

/* ---- this machine ---- */

static int allowed[MAX_NODES], num_allowed;

static uint64_t meminfo_value(int node, const char *field)
{
	char path[96], line[256];
	snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/meminfo", node);
	FILE *f = fopen(path, "r");
	CHECK(f != NULL, "%s: %s", path, strerror(errno));
	uint64_t value = 0;
	while (fgets(line, sizeof(line), f)) {
		char *at = strstr(line, field);
		if (at)
			value = strtoull(at + strlen(field), NULL, 10) * 1024;
	}
	fclose(f);
	return value;
}

/* Preferred node of the page at addr as the kernel reports it, -1 if the
 * page's policy is not MPOL_PREFERRED. */
static int preferred_node_at(const void *addr)
{
	int mode;
	unsigned long mask;
	CHECK_EQ(test_range_policy(addr, &mode, &mask), 0);
	if (mode != MPOL_PREFERRED || mask == 0)
		return -1;
	return __builtin_ctzl(mask);
}

/* The node hwloc itself calls best for this cpuset, -1 if it has none. */
static int hwloc_best(hwloc_memattr_id_t attr, hwloc_const_cpuset_t cpus)
{
	struct hwloc_location where = {.type = HWLOC_LOCATION_TYPE_CPUSET};
	where.location.cpuset = (hwloc_cpuset_t)cpus;
	hwloc_obj_t best;
	hwloc_uint64_t value;
	if (hwloc_memattr_get_best_target(aml_topology, attr, &where, 0, &best, &value) != 0)
		return -1;
	return (int)best->os_index;
}

static void check_ranks_all_nodes(const struct aml_area_hwloc_preferred_data *r)
{
	CHECK(r->num_nodes == (unsigned)num_allowed, "%u nodes ranked, %d allowed", r->num_nodes, num_allowed);
	for (int k = 0; k < num_allowed; k++) {
		int seen = 0;
		for (unsigned i = 0; i < r->num_nodes; i++)
			seen += r->os_index[i] == (unsigned)allowed[k];
		CHECK(seen == 1, "node %d ranked %d times", allowed[k], seen);
	}
}

/* Maps, touches, and checks every page is on node and prefers it. */
static void check_lands_on(struct aml_area *area, int node, size_t size)
{
	char *p = aml_area_mmap(area, size, NULL);
	CHECK(p != NULL, "preferred mmap: %s", aml_strerror(aml_errno));
	test_touch(p, size);
	CHECK(preferred_node_at(p) == node, "first page prefers node %d, want %d", preferred_node_at(p), node);
	CHECK(preferred_node_at(p + size - 1) == node, "last page prefers node %d", preferred_node_at(p + size - 1));
	long counts[MAX_NODES];
	CHECK_EQ(test_node_histogram(p, size, counts, MAX_NODES - 1), 0);
	CHECK(counts[node] == (long)(size / test_page_size()), "%ld of %zu pages on node %d", counts[node],
	      size / test_page_size(), node);
	CHECK_EQ(aml_area_munmap(area, p, size), AML_SUCCESS);
}

static void pin_to(const cpu_set_t *cpus)
{
	CHECK(sched_setaffinity(0, sizeof(*cpus), cpus) == 0, "sched_setaffinity: %s", strerror(errno));
}

static void check_this_machine(void)
{
	cpu_set_t original;
	CHECK_EQ(sched_getaffinity(0, sizeof(original), &original), 0);
	int cpu = sched_getcpu();
	CHECK(cpu >= 0, "sched_getcpu");
	cpu_set_t one;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	pin_to(&one);
	int home = numa_node_of_cpu(cpu);

	/* AML's kinds: MEANS_BANDWIDTH is bandwidth, anything else latency. */
	struct aml_area *area = NULL;
	CHECK_EQ(aml_area_hwloc_preferred_local_create(&area, HWLOC_DISTANCES_KIND_FROM_OS |
	                                                            HWLOC_DISTANCES_KIND_MEANS_BANDWIDTH), AML_SUCCESS);
	const struct aml_area_hwloc_preferred_data *r = ranking_of(area);
	CHECK(r->rank == AML_HWLOC_RANK_BANDWIDTH, "kind bandwidth gave rank %s", aml_hwloc_rank_name(r->rank));
	check_ranks_all_nodes(r);
	hwloc_bitmap_t here = hwloc_bitmap_alloc();
	hwloc_bitmap_only(here, (unsigned)cpu);
	int best = hwloc_best(HWLOC_MEMATTR_ID_BANDWIDTH, here);
	CHECK(best < 0 || (r->source == AML_HWLOC_SOURCE_MEMATTR && (int)r->os_index[0] == best),
	      "bandwidth: first node %u (%s), hwloc's best %d", r->os_index[0],
	      aml_hwloc_rank_source_name(r->source), best);
	CHECK(best >= 0 || (int)r->os_index[0] == home, "bandwidth without attributes: first %u, home %d",
	      r->os_index[0], home);
	char *text = test_area_text(area, NULL);
	CHECK(strncmp(text, "area-hwloc-preferred: rank bandwidth (source: ", 46) == 0, "fprintf: %s", text);
	printf("%s", text);
	free(text);
	check_lands_on(area, (int)r->os_index[0], 4 * MiB);

	/* A range larger than all free memory: the part no node holds extends
	 * the last part, so the range still costs one VMA per node used. */
	size_t huge = 64 * MiB;
	for (int k = 0; k < num_allowed; k++)
		huge += meminfo_value(allowed[k], "MemFree:");
	int vmas = test_vma_count();
	char *p = aml_area_mmap(area, huge, NULL);
	CHECK(p != NULL, "mmap of %zu MiB: %s", huge / MiB, aml_strerror(aml_errno));
	int added = test_vma_count() - vmas;
	CHECK(added >= 1 && added <= num_allowed, "%d VMAs for one range over %d nodes", added, num_allowed);
	CHECK(preferred_node_at(p) == (int)r->os_index[0], "huge range starts on node %d", preferred_node_at(p));
	CHECK(preferred_node_at(p + huge - 1) >= 0, "huge range end has no preferred node");
	CHECK_EQ(aml_area_munmap(area, p, huge), AML_SUCCESS);
	aml_area_hwloc_preferred_destroy(&area);

	CHECK_EQ(aml_area_hwloc_preferred_local_create(&area, HWLOC_DISTANCES_KIND_FROM_OS), AML_SUCCESS);
	r = ranking_of(area);
	CHECK(r->rank == AML_HWLOC_RANK_LATENCY, "kind without MEANS gave rank %s", aml_hwloc_rank_name(r->rank));
	check_ranks_all_nodes(r);
	best = hwloc_best(HWLOC_MEMATTR_ID_LATENCY, here);
	CHECK((int)r->os_index[0] == (best >= 0 ? best : home), "latency: first node %u, want %d",
	      r->os_index[0], best >= 0 ? best : home);
	check_lands_on(area, (int)r->os_index[0], 2 * MiB);
	aml_area_hwloc_preferred_destroy(&area);

	/* AML's preferred_create with an object, and capacity. */
	hwloc_obj_t pu = hwloc_get_pu_obj_by_os_index(aml_topology, (unsigned)cpu);
	CHECK(pu != NULL, "PU %d", cpu);
	CHECK_EQ(aml_area_hwloc_preferred_create(&area, pu, HWLOC_DISTANCES_KIND_MEANS_LATENCY), AML_SUCCESS);
	CHECK(ranking_of(area)->rank == AML_HWLOC_RANK_LATENCY, "preferred_create latency");
	aml_area_hwloc_preferred_destroy(&area);
	CHECK_EQ(aml_area_hwloc_ranked_create(&area, pu, AML_HWLOC_RANK_CAPACITY), AML_SUCCESS);
	r = ranking_of(area);
	uint64_t largest = 0;
	for (int k = 0; k < num_allowed; k++) {
		hwloc_obj_t node = hwloc_get_numanode_obj_by_os_index(aml_topology, (unsigned)allowed[k]);
		if (node->attr->numanode.local_memory > largest)
			largest = node->attr->numanode.local_memory;
	}
	CHECK(r->values[0] == largest, "capacity: first node %u has %llu bytes, largest %llu", r->os_index[0],
	      (unsigned long long)r->values[0], (unsigned long long)largest);
	check_lands_on(area, (int)r->os_index[0], 2 * MiB);
	aml_area_hwloc_preferred_destroy(&area);
	CHECK_EQ(aml_area_hwloc_preferred_create(NULL, pu, HWLOC_DISTANCES_KIND_MEANS_LATENCY), -AML_EINVAL);
	CHECK_EQ(aml_area_hwloc_preferred_local_create(NULL, HWLOC_DISTANCES_KIND_MEANS_LATENCY), -AML_EINVAL);
	hwloc_bitmap_free(here);

	/* Unbound again: the ranking is from the CPU the thread runs on, so its
	 * initiator is a node with CPUs, not "the whole machine". */
	pin_to(&original);
	CHECK_EQ(aml_area_hwloc_preferred_local_create(&area, HWLOC_DISTANCES_KIND_MEANS_BANDWIDTH), AML_SUCCESS);
	r = ranking_of(area);
	check_ranks_all_nodes(r);
	struct bitmask *cpus = numa_allocate_cpumask();
	CHECK(r->initiator_os_index >= 0 && numa_node_to_cpus(r->initiator_os_index, cpus) == 0 &&
	      numa_bitmask_weight(cpus) > 0, "unbound: initiator node %d has no CPUs", r->initiator_os_index);
	numa_bitmask_free(cpus);
	aml_area_hwloc_preferred_destroy(&area);
}

/* The first allowed node that has CPUs, and those CPUs. */
static int node_with_cpus(cpu_set_t *cpus)
{
	for (int k = 0; k < num_allowed; k++) {
		struct bitmask *mask = numa_allocate_cpumask();
		CPU_ZERO(cpus);
		int count = 0;
		if (numa_node_to_cpus(allowed[k], mask) == 0)
			for (unsigned c = 0; c < mask->size && c < CPU_SETSIZE; c++)
				if (numa_bitmask_isbitset(mask, c)) {
					CPU_SET(c, cpus);
					count++;
				}
		numa_bitmask_free(mask);
		if (count)
			return allowed[k];
	}
	return -1;
}

/* Several nodes: a thread bound to a node's CPUs, and filling the best. */
static void check_several_nodes(void)
{
	cpu_set_t cpus;
	int home = node_with_cpus(&cpus);
	CHECK(home >= 0, "no node with CPUs");
	pin_to(&cpus);
	hwloc_bitmap_t bound = hwloc_bitmap_alloc();
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &cpus))
			hwloc_bitmap_set(bound, (unsigned)c);

	struct aml_area *bandwidth = NULL, *latency = NULL;
	CHECK_EQ(aml_area_hwloc_preferred_local_create(&bandwidth, HWLOC_DISTANCES_KIND_MEANS_BANDWIDTH), AML_SUCCESS);
	CHECK_EQ(aml_area_hwloc_preferred_local_create(&latency, HWLOC_DISTANCES_KIND_MEANS_LATENCY), AML_SUCCESS);
	const struct aml_area_hwloc_preferred_data *bw = ranking_of(bandwidth), *lat = ranking_of(latency);
	char *text = test_area_text(bandwidth, NULL);
	printf("bound to node %d: %s", home, text);
	free(text);
	text = test_area_text(latency, NULL);
	printf("bound to node %d: %s", home, text);
	free(text);
	check_ranks_all_nodes(bw);
	check_ranks_all_nodes(lat);
	CHECK(bw->initiator_os_index == home, "initiator node %d, bound to node %d", bw->initiator_os_index, home);
	/* In the test VM: bandwidth gives node 2 (highest HMAT bandwidth from
	 * node 0), latency node 0. hwloc's own best target is the oracle. */
	int best_bw = hwloc_best(HWLOC_MEMATTR_ID_BANDWIDTH, bound);
	int best_lat = hwloc_best(HWLOC_MEMATTR_ID_LATENCY, bound);
	CHECK((int)bw->os_index[0] == (best_bw >= 0 ? best_bw : home), "bandwidth: first node %u, want %d",
	      bw->os_index[0], best_bw >= 0 ? best_bw : home);
	CHECK((int)lat->os_index[0] == (best_lat >= 0 ? best_lat : home), "latency: first node %u, want %d",
	      lat->os_index[0], best_lat >= 0 ? best_lat : home);
	for (unsigned i = 1; bw->source == AML_HWLOC_SOURCE_MEMATTR && i < bw->num_valued; i++)
		CHECK(bw->values[i] <= bw->values[i - 1], "bandwidth values not decreasing at %u", i);
	for (unsigned i = 1; lat->source == AML_HWLOC_SOURCE_MEMATTR && i < lat->num_valued; i++)
		CHECK(lat->values[i] >= lat->values[i - 1], "latency values not increasing at %u", i);
	/* The test VM says what it built (tests/vm/topology.sh), from node 0. */
	const char *vm_bw = getenv("AMLVM_BW_BEST"), *vm_next = getenv("AMLVM_BW_NEXT");
	const char *vm_lat = getenv("AMLVM_LAT_BEST"), *vm_cap = getenv("AMLVM_CAP_BEST");
	if (home == 0 && vm_bw && vm_next && vm_lat) {
		CHECK(bw->os_index[0] == (unsigned)atoi(vm_bw) && bw->os_index[1] == (unsigned)atoi(vm_next),
		      "VM: bandwidth ranks %u, %u first; the VM says %s, %s", bw->os_index[0], bw->os_index[1],
		      vm_bw, vm_next);
		CHECK(lat->os_index[0] == (unsigned)atoi(vm_lat), "VM: latency ranks %u first; the VM says %s",
		      lat->os_index[0], vm_lat);
	}
	check_lands_on(bandwidth, (int)bw->os_index[0], 4 * MiB);
	check_lands_on(latency, (int)lat->os_index[0], 4 * MiB);

	/* Capacity from the bound CPUs: the largest node first. */
	struct aml_area *capacity = NULL;
	CHECK_EQ(aml_area_hwloc_ranked_create_cpuset(&capacity, NULL, bound, AML_HWLOC_RANK_CAPACITY), AML_SUCCESS);
	const struct aml_area_hwloc_preferred_data *cap = ranking_of(capacity);
	check_ranks_all_nodes(cap);
	for (unsigned i = 1; i < cap->num_nodes; i++)
		CHECK(cap->values[i] <= cap->values[i - 1], "capacity values not decreasing at %u", i);
	if (home == 0 && vm_cap)
		CHECK(cap->os_index[0] == (unsigned)atoi(vm_cap), "VM: capacity ranks %u first; the VM says %s",
		      cap->os_index[0], vm_cap);
	check_lands_on(capacity, (int)cap->os_index[0], 4 * MiB);
	aml_area_hwloc_preferred_destroy(&capacity);

	/* Fill the best node: the range's head stays on it, the rest goes to
	 * the next node, and a later allocation goes to the next node. */
	int first = (int)bw->os_index[0], second = (int)bw->os_index[1];
	const size_t page = test_page_size(), extra = 32 * MiB;
	uint64_t free_first = meminfo_value(first, "MemFree:");
	uint64_t free_second = meminfo_value(second, "MemFree:");
	uint64_t total_first = meminfo_value(first, "MemTotal:");
	uint64_t total_second = meminfo_value(second, "MemTotal:");
	if (free_first > 4 * GiB)
		test_skip_hardware("node %d has %llu MiB free: too much to fill in a unit test", first,
		                   (unsigned long long)(free_first / MiB));
	/* The spill is the extra plus what the area leaves free on the best
	 * node (its watermarks: a few percent); node two keeps its own. */
	if (free_second < 2 * extra + total_first / 8 + total_second / 8)
		test_skip_hardware("node %d has too little free memory (%llu MiB) to take the spill", second,
		                   (unsigned long long)(free_second / MiB));
	size_t size = (size_t)free_first + extra;
	char *p = aml_area_mmap(bandwidth, size, NULL);
	CHECK(p != NULL, "fill mmap: %s", aml_strerror(aml_errno));
	CHECK(preferred_node_at(p) == first, "fill: head prefers node %d, want %d", preferred_node_at(p), first);
	CHECK(preferred_node_at(p + size - 1) == second, "fill: tail prefers node %d, want %d",
	      preferred_node_at(p + size - 1), second);
	test_touch(p, size);
	size_t pages = size / page, on_first = 0, on_second = 0, elsewhere = 0, head = 0;
	int *where = calloc(pages, sizeof(int));
	CHECK_EQ(test_pages_nodes(p, size, where), 0);
	long landed[2][MAX_NODES] = {{0}}; /* [preferred first?][actual node] */
	for (size_t i = 0; i < pages; i++) {
		int want = preferred_node_at(p + i * page);
		head += want == first;
		if (where[i] >= 0 && where[i] < MAX_NODES)
			landed[want == first][where[i]]++;
		if (where[i] == want && want == first)
			on_first++;
		else if (where[i] == want && want == second)
			on_second++;
		else
			elsewhere++;
	}
	free(where);
	printf("fill: %zu MiB over nodes %d and %d: %zu pages on %d, %zu on %d, %zu elsewhere\n", size / MiB,
	       first, second, on_first, first, on_second, second, elsewhere);
	for (int k = 0; k < num_allowed; k++)
		printf("fill: node %d holds %ld pages preferring %d, %ld preferring %d\n", allowed[k],
		       landed[1][allowed[k]], first, landed[0][allowed[k]], second);
	CHECK(head > 0 && head < pages, "fill: %zu of %zu pages prefer node %d", head, pages, first);
	CHECK(pages - head >= extra / page, "fill: only %zu pages go to node %d", pages - head, second);
	CHECK(elsewhere <= pages / 100, "fill: %zu of %zu pages not on their preferred node", elsewhere, pages);
	/* The best node is now full (what the kernel gave back since is a few
	 * MiB at most): a later allocation goes to the next node. */
	const size_t later = 64 * MiB;
	char *q = aml_area_mmap(bandwidth, later, NULL);
	CHECK(q != NULL, "mmap after fill: %s", aml_strerror(aml_errno));
	CHECK(preferred_node_at(q + later - 1) == second, "after fill: tail prefers node %d, want %d",
	      preferred_node_at(q + later - 1), second);
	test_touch(q, later);
	size_t prefer_first = 0, misplaced = 0;
	where = calloc(later / page, sizeof(int));
	CHECK_EQ(test_pages_nodes(q, later, where), 0);
	for (size_t i = 0; i < later / page; i++) {
		int want = preferred_node_at(q + i * page);
		prefer_first += want == first;
		misplaced += where[i] != want;
	}
	free(where);
	printf("after fill: %zu of %zu pages prefer node %d, %zu not on their preferred node\n", prefer_first,
	       later / page, first, misplaced);
	CHECK(prefer_first <= later / page / 4, "after fill: %zu of %zu pages still prefer the full node %d",
	      prefer_first, later / page, first);
	CHECK(misplaced <= later / page / 100, "after fill: %zu pages not on their preferred node", misplaced);
	CHECK_EQ(aml_area_munmap(bandwidth, q, later), AML_SUCCESS);
	CHECK_EQ(aml_area_munmap(bandwidth, p, size), AML_SUCCESS);
	aml_area_hwloc_preferred_destroy(&bandwidth);
	aml_area_hwloc_preferred_destroy(&latency);
	hwloc_bitmap_free(bound);
}

int main(void)
{
	CHECK(strcmp(aml_hwloc_rank_name(AML_HWLOC_RANK_BANDWIDTH), "bandwidth") == 0, "rank name");
	CHECK(strcmp(aml_hwloc_rank_name(AML_HWLOC_RANK_LATENCY), "latency") == 0, "rank name");
	CHECK(strcmp(aml_hwloc_rank_name(AML_HWLOC_RANK_CAPACITY), "capacity") == 0, "rank name");
	CHECK(strcmp(aml_hwloc_rank_name((enum aml_hwloc_rank)9), "unknown") == 0, "rank name");
	CHECK(strcmp(aml_hwloc_rank_source_name(AML_HWLOC_SOURCE_MEMATTR), "memory attributes") == 0, "source");
	CHECK(strcmp(aml_hwloc_rank_source_name(AML_HWLOC_SOURCE_DISTANCES), "distances") == 0, "source");
	CHECK(strcmp(aml_hwloc_rank_source_name(AML_HWLOC_SOURCE_LOCALITY), "locality") == 0, "source");
	CHECK(strcmp(aml_hwloc_rank_source_name((enum aml_hwloc_rank_source)9), "unknown") == 0, "source");

	find_topologies();
	check_memattr_topology();
	check_distances_topology();
	check_locality_topology();

	if (numa_available() < 0)
		test_skip_hardware("kernel without NUMA support (XML rankings passed)");
	num_allowed = test_allowed_nodes(allowed, MAX_NODES);
	CHECK(num_allowed > 0, "no memory node");
	check_this_machine();
	if (num_allowed < 2)
		test_skip_hardware("one NUMA node: XML rankings and single-node placement passed; "
		                   "best-node-for-a-bound-thread and fill-the-best-node need 2+ nodes");
	check_several_nodes();
	printf("preferred area: %d node(s) checked\n", num_allowed);
	return 0;
}
