/* amlshim --explain: the machine as the shim sees it (NUMA nodes, their
 * CPUs and memory, the bandwidth/latency/capacity rankings from each CPU
 * node and where their values come from), then the settings and what each
 * rule resolves to here, with the reason for every fallback. The same as
 * one JSON object: explain_json.c. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <numa.h>

#include <aml.h>
#include <aml/area/hwloc.h>
#include "cli.h"
#include "explain.h"
#include "resolve.h"

#define MAX_CPU_NODES 1024

static void print_bytes(FILE *out, uint64_t bytes)
{
	const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
	double value = (double)bytes;
	int unit = 0;
	while (value >= 1024 && unit < 5) {
		value /= 1024;
		unit++;
	}
	if (unit == 0)
		fprintf(out, "%llu B", (unsigned long long)bytes);
	else
		fprintf(out, "%.1f %s", value, units[unit]);
}

/* A value of a ranking, in the units of its source. */
static void print_value(FILE *out, const struct aml_area_hwloc_preferred_data *ranking, unsigned i)
{
	if (i >= ranking->num_valued) {
		fprintf(out, "no value");
		return;
	}
	uint64_t value = ranking->values[i];
	switch (ranking->source) {
	case AML_HWLOC_SOURCE_MEMATTR:
		if (ranking->rank == AML_HWLOC_RANK_BANDWIDTH)
			fprintf(out, "%llu MiB/s", (unsigned long long)value);
		else if (ranking->rank == AML_HWLOC_RANK_LATENCY)
			fprintf(out, "%llu ns", (unsigned long long)value);
		else
			print_bytes(out, value);
		break;
	case AML_HWLOC_SOURCE_DISTANCES:
		fprintf(out, "distance %llu", (unsigned long long)value);
		break;
	case AML_HWLOC_SOURCE_LOCALITY:
		if (ranking->rank == AML_HWLOC_RANK_CAPACITY)
			print_bytes(out, value);
		else
			fprintf(out, "local");
		break;
	}
}

const char *cli_rank_source_story(const struct aml_area_hwloc_preferred_data *ranking)
{
	switch (ranking->source) {
	case AML_HWLOC_SOURCE_MEMATTR:
		return ranking->rank == AML_HWLOC_RANK_CAPACITY
		               ? "hwloc memory attributes (Capacity: the node sizes)"
		               : "hwloc memory attributes (ACPI HMAT)";
	case AML_HWLOC_SOURCE_DISTANCES:
		return "hwloc distances (ACPI SLIT); no memory attributes for this initiator";
	case AML_HWLOC_SOURCE_LOCALITY:
		return ranking->rank == AML_HWLOC_RANK_CAPACITY
		               ? "locality and node sizes; no capacity memory attribute"
		               : "locality only: no hwloc memory attributes (no HMAT) and no distances";
	}
	return "unknown";
}

static void print_nodes(FILE *out, hwloc_topology_t topo)
{
	int num_nodes = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE);
	fprintf(out, "NUMA nodes (hwloc: %d):\n", num_nodes);
	for (int i = 0; i < num_nodes; i++) {
		hwloc_obj_t node = hwloc_get_obj_by_type(topo, HWLOC_OBJ_NUMANODE, (unsigned)i);
		char cpus[256] = "";
		if (node->cpuset && !hwloc_bitmap_iszero(node->cpuset))
			hwloc_bitmap_list_snprintf(cpus, sizeof(cpus), node->cpuset);
		fprintf(out, "  node %u: cpus %s, memory ", node->os_index, cpus[0] ? cpus : "none (memory only)");
		print_bytes(out, node->attr ? node->attr->numanode.local_memory : 0);
		if (node->subtype)
			fprintf(out, ", %s", node->subtype);
		fprintf(out, "\n");
	}
	struct bitmask *mems = numa_available() >= 0 ? numa_get_mems_allowed() : NULL;
	if (mems) {
		fprintf(out, "  memory nodes this process may use:");
		int first = 1;
		for (unsigned n = 0; n < mems->size; n++)
			if (numa_bitmask_isbitset(mems, n)) {
				fprintf(out, "%s%u", first ? " " : ",", n);
				first = 0;
			}
		fprintf(out, "\n");
		numa_bitmask_free(mems);
	}
}

/* Whether NUMA node i (logical) has CPUs and is the first of the nodes
 * sharing them: nodes sharing a cpuset (DRAM and HBM of one socket) share
 * an initiator, and the rankings show one entry for them all. */
int cli_first_of_initiator(hwloc_topology_t topo, int i)
{
	hwloc_obj_t node = hwloc_get_obj_by_type(topo, HWLOC_OBJ_NUMANODE, (unsigned)i);
	if (!node->cpuset || hwloc_bitmap_iszero(node->cpuset))
		return 0;
	for (int j = 0; j < i; j++) {
		hwloc_obj_t other = hwloc_get_obj_by_type(topo, HWLOC_OBJ_NUMANODE, (unsigned)j);
		if (other->cpuset && hwloc_bitmap_isequal(other->cpuset, node->cpuset))
			return 0;
	}
	return 1;
}

/* From each node with CPUs: the nodes best first by each ranking. */
static void print_rankings(FILE *out, hwloc_topology_t topo)
{
	int num_nodes = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE);
	unsigned *os_index = calloc((size_t)num_nodes + 1, sizeof(*os_index));
	uint64_t *values = calloc((size_t)num_nodes + 1, sizeof(*values));
	if (!os_index || !values) {
		free(os_index);
		free(values);
		return;
	}
	fprintf(out, "\nRankings from each initiator (best first):\n");
	for (int i = 0; i < num_nodes; i++) {
		hwloc_obj_t node = hwloc_get_obj_by_type(topo, HWLOC_OBJ_NUMANODE, (unsigned)i);
		if (!cli_first_of_initiator(topo, i))
			continue;
		char cpus[256];
		hwloc_bitmap_list_snprintf(cpus, sizeof(cpus), node->cpuset);
		int sharing = 0;
		for (int j = i; j < num_nodes; j++) {
			hwloc_obj_t other = hwloc_get_obj_by_type(topo, HWLOC_OBJ_NUMANODE, (unsigned)j);
			sharing += other->cpuset && hwloc_bitmap_isequal(other->cpuset, node->cpuset);
		}
		fprintf(out, "  from cpus %s (node%s", cpus, sharing > 1 ? "s" : "");
		for (int j = i, first = 1; j < num_nodes; j++) {
			hwloc_obj_t other = hwloc_get_obj_by_type(topo, HWLOC_OBJ_NUMANODE, (unsigned)j);
			if (other->cpuset && hwloc_bitmap_isequal(other->cpuset, node->cpuset)) {
				fprintf(out, "%s%u", first ? " " : ", ", other->os_index);
				first = 0;
			}
		}
		fprintf(out, "):\n");
		for (int rank = AML_HWLOC_RANK_BANDWIDTH; rank <= AML_HWLOC_RANK_CAPACITY; rank++) {
			struct aml_area_hwloc_preferred_data ranking = {.os_index = os_index, .values = values};
			int err = aml_hwloc_rank_nodes(topo, node->cpuset, (enum aml_hwloc_rank)rank,
			                               (unsigned)num_nodes, &ranking);
			fprintf(out, "    %-9s ", aml_hwloc_rank_name((enum aml_hwloc_rank)rank));
			if (err != AML_SUCCESS) {
				fprintf(out, "no ranking: %s\n", aml_strerror(err));
				continue;
			}
			for (unsigned r = 0; r < ranking.num_nodes; r++) {
				fprintf(out, "%snode %u (", r ? ", " : "", ranking.os_index[r]);
				print_value(out, &ranking, r);
				fprintf(out, ")");
			}
			fprintf(out, "\n    %-9s source: %s\n", "", cli_rank_source_story(&ranking));
		}
	}
	free(os_index);
	free(values);
}

/* Where each setting comes from: the command line, the environment or the
 * default. */
static void print_settings(FILE *out, const struct cli_settings *settings)
{
	fprintf(out, "\nSettings:\n");
	for (int v = 0; v < CLI_NUM_VARS; v++) {
		const char *value = settings->values[v];
		const char *from = "--";
		if (!value) {
			value = getenv(cli_vars[v].name);
			from = "environment";
		}
		char quoted[320];
		if (value)
			fprintf(out, "  %-19s %s (%s%s)\n", cli_vars[v].name, amlshim_quote_value(value, quoted, sizeof(quoted)),
			        from, from[0] == '-' ? cli_vars[v].option : "");
		else
			fprintf(out, "  %-19s unset\n", cli_vars[v].name);
	}
}

static void sink_to_out(const char *line, void *ctx)
{
	fprintf((FILE *)ctx, "  %s\n", line);
}

static void print_range(FILE *out, size_t min, size_t max)
{
	char a[24], b[24];
	amlshim_format_size(min, a, sizeof(a));
	if (max == SIZE_MAX)
		fprintf(out, "%s and up", a);
	else
		fprintf(out, "%s up to %s", a, amlshim_format_size(max, b, sizeof(b)));
}

/* One placement as the shim would resolve it: per CPU node for rankings. */
static int explain_placement(FILE *out, const struct amlshim_placement *placement, const int *cpu_nodes,
                             int num_cpu_nodes, int strict)
{
	int failures = 0;
	for (int i = 0; i < num_cpu_nodes; i++) {
		struct amlshim_resolved resolved;
		char why[256], area[256];
		int ret = amlshim_resolve(placement, cpu_nodes[i], &resolved, why, sizeof(why));
		const char *indent = "      ";
		if (ret != 0) {
			fprintf(out, "%sfalls back to the kernel default: %s%s\n", indent, why,
			        strict ? " (AMLSHIM_STRICT=1: the program exits with status 2)" : "");
			failures++;
			break;
		}
		if (resolved.per_node)
			fprintf(out, "%sthreads on node %d: ", indent, cpu_nodes[i]);
		else
			fputs(indent, out);
		amlshim_describe_area(resolved.area, area, sizeof(area));
		fprintf(out, "%s", area);
		if (resolved.source[0] && !strstr(area, resolved.source))
			fprintf(out, " (ranked by %s)", resolved.source);
		fprintf(out, "\n");
		if (resolved.node_set[0] && (placement->node_names || placement->all_nodes))
			fprintf(out, "%snode set: %s (names resolved for this process: see Node sets)\n", indent,
			        resolved.node_set);
		amlshim_resolved_destroy(placement, &resolved);
		if (!resolved.per_node)
			break;
	}
	return failures;
}

static int explain_policy(FILE *out, const struct cli_settings *settings)
{
	struct amlshim_policy policy;
	fprintf(out, "\nWhat the shim makes of them:\n");
	amlshim_policy_parse(&policy, cli_effective_env, (void *)settings, sink_to_out, out);
	if (policy.errors)
		fprintf(out, "  (so every allocation takes the kernel default%s)\n",
		        policy.strict ? "; AMLSHIM_STRICT=1: the program exits with status 2 instead" : "");
	if (policy.rules_override)
		fprintf(out, "  AMLSHIM_RULES is set: AMLSHIM_POLICY and AMLSHIM_THRESHOLD are ignored\n");

	int cpu_nodes[MAX_CPU_NODES];
	int num_cpu_nodes = amlshim_cpu_nodes(cpu_nodes, MAX_CPU_NODES);
	if (num_cpu_nodes == 0)
		cpu_nodes[num_cpu_nodes++] = 0;
	int failures = 0;
	size_t covered = 0;
	if (policy.num_rules == 0)
		fprintf(out, "  no placement rule: every allocation takes the kernel default\n");
	for (int r = 0; r < policy.num_rules; r++) {
		const struct amlshim_rule *rule = &policy.rules[r];
		if (rule->min > covered) {
			fprintf(out, "  sizes ");
			print_range(out, covered, rule->min);
			fprintf(out, ": kernel default (no rule)\n");
		}
		fprintf(out, "  sizes ");
		print_range(out, rule->min, rule->max);
		fprintf(out, ": %s\n", rule->placement.text);
		failures += explain_placement(out, &rule->placement, cpu_nodes, num_cpu_nodes, policy.strict);
		if (rule->placement.share != AMLSHIM_SHARE_NONE)
			cli_explain_share(out, &policy, &rule->placement);
		cli_explain_pages(out, &rule->placement);
		covered = rule->max;
	}
	if (policy.num_rules && covered != SIZE_MAX) {
		fprintf(out, "  sizes ");
		print_range(out, covered, SIZE_MAX);
		fprintf(out, ": kernel default (no rule)\n");
	}
	if (policy.num_rules && policy.rules[0].min < 4096)
		fprintf(out, "  (objects smaller than a page always take the small-object path)\n");

	fprintf(out, "  small objects: %s\n", policy.small.text);
	if (policy.small.kind != AMLSHIM_PLACE_DEFAULT) {
		char why[256];
		struct amlshim_placement named;
		if (amlshim_resolve_nodes(&policy.small, &named, why, sizeof(why)) != 0) {
			fprintf(out, "      falls back to the kernel default: %s\n", why);
			failures++;
		}
	}
	char threshold[24];
	fprintf(out, "  threshold: %s%s\n", amlshim_format_size(policy.threshold, threshold, sizeof(threshold)),
	        policy.rules_override ? " (ignored: AMLSHIM_RULES)" : "");
	fprintf(out, "  program's own anonymous mmaps: %s\n",
	        policy.mmap_on ? "placed by the rules" : "left alone");
	fprintf(out, "  RTLD_DEEPBIND: %s\n", policy.deepbind == AMLSHIM_DEEPBIND_DROP
	                                         ? "dropped"
	                                         : "kept, the library's malloc family bound to the shim");
	fprintf(out, "  report at exit: %s", policy.stats == AMLSHIM_STATS_OFF    ? "none"
	                                     : policy.stats == AMLSHIM_STATS_JSON ? "json"
	                                                                          : "text");
	if (policy.stats != AMLSHIM_STATS_OFF)
		fprintf(out, ", to %s", policy.stats_file[0] ? policy.stats_file : "stderr");
	fprintf(out, "\n");
	static const char *const levels[] = {"error", "warn", "info", "debug"};
	fprintf(out, "  log level: %s; strict: %s\n", levels[policy.log_level], policy.strict ? "yes" : "no");
	if (policy.strict && failures)
		fprintf(out, "  AMLSHIM_STRICT=1 and %d placement(s) cannot be applied: the program would exit "
		             "with status 2\n", failures);
	return failures;
}

int cli_explain(const struct cli_settings *settings, const char *library, FILE *out)
{
	fprintf(out, "amlshim %s\n", aml_version_string());
	fprintf(out, "shim library: %s\n\n", library);
	aml_init(NULL, NULL);
	if (!aml_topology) {
		fprintf(out, "NUMA nodes: the hwloc topology cannot be loaded\n");
	} else {
		print_nodes(out, aml_topology);
		print_rankings(out, aml_topology);
	}
	print_settings(out, settings);
	explain_policy(out, settings);
	cli_explain_sites(out);
	cli_explain_node_sets(out);
	cli_explain_job(out);
	aml_finalize();
	return fflush(out) == 0 ? 0 : 1;
}
