/* The VM is the machine topology.sh describes: node count, each node's CPUs
 * and memory, the SLIT distances, the HMAT values Linux exports, and what
 * hwloc makes of them (best bandwidth and latency targets from node 0); and
 * its kernel has the knobs the tests set as root: per-node hugetlb pools,
 * and from Linux 6.9 the weighted-interleave weights. The other VM tests'
 * expectations rest on this. */
#include <dirent.h>
#include <hwloc.h>
#include <sys/utsname.h>
#include "vmtest.h"

static int nodes;

/* Reads one number from a sysfs file. */
static long read_number(const char *path)
{
	FILE *file = fopen(path, "r");
	CHECK(file != NULL, "cannot open %s", path);
	long value = -1;
	CHECK(fscanf(file, "%ld", &value) == 1, "no number in %s", path);
	fclose(file);
	return value;
}

static void check_cpus_and_memory(void)
{
	const char *cpu_spec = vm_env("AMLVM_NODE_CPUS"); /* "0-1;2-3;;" */
	int mem_mb[VM_MAX_NODES];
	CHECK_EQ(test_parse_list(vm_env("AMLVM_NODE_MEM_MB"), mem_mb, VM_MAX_NODES), nodes);
	for (int node = 0; node < nodes; node++) {
		/* The node's entry in cpu_spec: "" (no CPU), "N" or "N-M". */
		const char *entry = cpu_spec;
		for (int skip = 0; skip < node; skip++) {
			entry = strchr(entry, ';');
			CHECK(entry != NULL, "AMLVM_NODE_CPUS has no entry for node %d", node);
			entry++;
		}
		int first = -1, last = -2;
		if (*entry && *entry != ';') {
			char *end;
			first = last = (int)strtol(entry, &end, 10);
			if (*end == '-')
				last = (int)strtol(end + 1, NULL, 10);
		}
		struct bitmask *cpus = numa_allocate_cpumask();
		CHECK_EQ(numa_node_to_cpus(node, cpus), 0);
		for (int cpu = 0; cpu < (int)cpus->size && cpu < 256; cpu++) {
			int want = cpu >= first && cpu <= last;
			CHECK(numa_bitmask_isbitset(cpus, (unsigned)cpu) == want,
			      "node %d: CPU %d %s", node, cpu, want ? "missing" : "unexpected");
		}
		numa_bitmask_free(cpus);

		long total_mb = vm_node_meminfo_kb(node, "MemTotal") / 1024;
		if (first < 0)
			printf("node %d: no CPU, %ld MiB of %d\n", node, total_mb, mem_mb[node]);
		else
			printf("node %d: CPUs %d-%d, %ld MiB of %d\n", node, first, last, total_mb, mem_mb[node]);
		CHECK(total_mb <= mem_mb[node] && total_mb >= mem_mb[node] * 85 / 100,
		      "node %d has %ld MiB, want about %d", node, total_mb, mem_mb[node]);
	}
}

static void check_distances(void)
{
	int expect[VM_MAX_NODES * VM_MAX_NODES];
	CHECK_EQ(test_parse_list(vm_env("AMLVM_DISTANCES"), expect, VM_MAX_NODES * VM_MAX_NODES),
	         nodes * nodes);
	for (int a = 0; a < nodes; a++)
		for (int b = 0; b < nodes; b++)
			CHECK(numa_distance(a, b) == expect[a * nodes + b], "distance %d-%d is %d, want %d",
			      a, b, numa_distance(a, b), expect[a * nodes + b]);
}

/* nodeN/access0/initiators: the home initiator node and its latency and
 * bandwidth to node N, as given to qemu's -numa hmat-lb. */
static void check_hmat_sysfs(void)
{
	const char *spec = vm_env("AMLVM_HMAT_LOCAL"); /* "init:lat:bw ..." per node */
	for (int node = 0; node < nodes; node++) {
		int init, lat;
		long bw;
		int used;
		CHECK(sscanf(spec, " %d:%d:%ld%n", &init, &lat, &bw, &used) == 3,
		      "AMLVM_HMAT_LOCAL has no entry for node %d", node);
		spec += used;
		char path[160];
		snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/access0/initiators", node);
		DIR *dir = opendir(path);
		CHECK(dir != NULL, "no %s: the kernel saw no HMAT", path);
		int found = -1, count = 0;
		struct dirent *entry;
		while ((entry = readdir(dir)))
			if (sscanf(entry->d_name, "node%d", &found) == 1)
				count++;
		closedir(dir);
		CHECK(count == 1 && found == init, "node %d: %d initiator(s), last node%d, want node%d",
		      node, count, found, init);
		snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/access0/initiators/read_latency", node);
		CHECK_EQ(read_number(path), lat);
		snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/access0/initiators/read_bandwidth", node);
		CHECK_EQ(read_number(path), bw);
	}
}

/* hwloc's own answer, from node 0's CPUs, without our areas. */
static void check_hwloc_memattrs(void)
{
	hwloc_topology_t topo;
	CHECK_EQ(hwloc_topology_init(&topo), 0);
	CHECK_EQ(hwloc_topology_load(topo), 0);
	CHECK_EQ(hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE), nodes);
	hwloc_obj_t node0 = hwloc_get_numanode_obj_by_os_index(topo, 0);
	CHECK(node0 != NULL && node0->cpuset != NULL, "hwloc has no node 0");
	struct hwloc_location where = {.type = HWLOC_LOCATION_TYPE_CPUSET};
	where.location.cpuset = node0->cpuset;

	const struct {
		hwloc_memattr_id_t id;
		const char *name, *expect;
	} attrs[] = {
		{HWLOC_MEMATTR_ID_BANDWIDTH, "bandwidth", "AMLVM_BW_BEST"},
		{HWLOC_MEMATTR_ID_LATENCY, "latency", "AMLVM_LAT_BEST"},
	};
	for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
		hwloc_obj_t best = NULL;
		hwloc_uint64_t value = 0;
		CHECK(hwloc_memattr_get_best_target(topo, attrs[i].id, &where, 0, &best, &value) == 0,
		      "hwloc has no %s values (HMAT not seen)", attrs[i].name);
		printf("hwloc: best %s from node 0's CPUs: node %u (%llu)\n", attrs[i].name,
		       best->os_index, (unsigned long long)value);
		CHECK_EQ(best->os_index, vm_env_int(attrs[i].expect));
	}
	hwloc_topology_destroy(topo);
}

/* Writes a sysfs number back unchanged: the knob is there and root may set it. */
static long rewrite_number(const char *path)
{
	long value = read_number(path);
	FILE *file = fopen(path, "w");
	CHECK(file != NULL, "cannot open %s for writing", path);
	CHECK(fprintf(file, "%ld\n", value) > 0 && fclose(file) == 0, "cannot write %s", path);
	return value;
}

/* The knobs the tests set: every node's 2 MiB hugetlb pool (both kernels),
 * and each node's weighted-interleave weight (MPOL_WEIGHTED_INTERLEAVE,
 * Linux 6.9 and later: the 6.12 kernel). */
static void check_kernel_knobs(void)
{
	struct utsname uts;
	int major = 0, minor = 0;
	CHECK(uname(&uts) == 0 && sscanf(uts.release, "%d.%d", &major, &minor) == 2,
	      "no kernel version");
	int weighted = major > 6 || (major == 6 && minor >= 9);
	char path[160];
	for (int node = 0; node < nodes; node++) {
		snprintf(path, sizeof(path),
		         "/sys/devices/system/node/node%d/hugepages/hugepages-2048kB/nr_hugepages", node);
		long pool = rewrite_number(path);
		long weight = -1;
		if (weighted) {
			snprintf(path, sizeof(path), "/sys/kernel/mm/mempolicy/weighted_interleave/node%d", node);
			weight = rewrite_number(path);
			CHECK(weight >= 1, "node %d: weighted-interleave weight %ld", node, weight);
		}
		if (weighted)
			printf("node %d: %ld huge pages of 2 MiB reserved, weighted-interleave weight %ld\n",
			       node, pool, weight);
		else
			printf("node %d: %ld huge pages of 2 MiB reserved (no weighted interleave before Linux 6.9)\n",
			       node, pool);
	}
}

int main(void)
{
	nodes = vm_start();
	CHECK_EQ(numa_num_configured_nodes(), nodes);
	int allowed[VM_MAX_NODES];
	CHECK_EQ(test_allowed_nodes(allowed, VM_MAX_NODES), nodes);
	check_cpus_and_memory();
	check_distances();
	check_hmat_sysfs();
	check_hwloc_memattrs();
	check_kernel_knobs();
	printf("topology: %d nodes as described\n", nodes);
	return 0;
}
