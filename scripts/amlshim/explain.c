/* amlshim --explain: the machine as the shim sees it (NUMA nodes, their
 * CPUs and memory, the bandwidth/latency/capacity rankings from each CPU
 * node and where their values come from), then the settings and what each
 * rule resolves to here, with the reason for every fallback. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <numa.h>

#include <aml.h>
#include <aml/area/hwloc.h>
#include "cli.h"
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

static const char *source_story(const struct aml_area_hwloc_preferred_data *ranking)
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
static int first_of_initiator(hwloc_topology_t topo, int i)
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
		if (!first_of_initiator(topo, i))
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
			fprintf(out, "\n    %-9s source: %s\n", "", source_story(&ranking));
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
			cli_explain_share(out, &rule->placement);
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

/* ---- --explain --json: the same content, one JSON object ------------------ */

/* A JSON string: bytes outside printable ASCII as \u00XX (a byte each, so
 * any environment value gives valid JSON). */
static void json_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			fprintf(out, "\\u%04x", *p);
		else
			fputc(*p, out);
	}
	fputc('"', out);
}

static void json_size(FILE *out, size_t size)
{
	if (size == SIZE_MAX)
		fputs("null", out);
	else
		fprintf(out, "%zu", size);
}

static const char *source_name(enum aml_hwloc_rank_source source)
{
	switch (source) {
	case AML_HWLOC_SOURCE_MEMATTR:
		return "memory-attributes";
	case AML_HWLOC_SOURCE_DISTANCES:
		return "distances";
	case AML_HWLOC_SOURCE_LOCALITY:
		return "locality";
	}
	return "unknown";
}

/* The unit of a ranking's values. */
static const char *value_unit(const struct aml_area_hwloc_preferred_data *ranking)
{
	switch (ranking->source) {
	case AML_HWLOC_SOURCE_MEMATTR:
		return ranking->rank == AML_HWLOC_RANK_BANDWIDTH ? "MiB/s"
		       : ranking->rank == AML_HWLOC_RANK_LATENCY ? "ns"
		                                                 : "bytes";
	case AML_HWLOC_SOURCE_DISTANCES:
		return "distance";
	case AML_HWLOC_SOURCE_LOCALITY:
		return ranking->rank == AML_HWLOC_RANK_CAPACITY ? "bytes" : "local";
	}
	return "unknown";
}

static void json_nodes(FILE *out, hwloc_topology_t topo)
{
	int num_nodes = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE);
	fputs(",\"nodes\":[", out);
	for (int i = 0; i < num_nodes; i++) {
		hwloc_obj_t node = hwloc_get_obj_by_type(topo, HWLOC_OBJ_NUMANODE, (unsigned)i);
		char cpus[256] = "";
		if (node->cpuset && !hwloc_bitmap_iszero(node->cpuset))
			hwloc_bitmap_list_snprintf(cpus, sizeof(cpus), node->cpuset);
		fprintf(out, "%s{\"node\":%u,\"cpus\":", i ? "," : "", node->os_index);
		json_str(out, cpus);
		fprintf(out, ",\"memory_bytes\":%llu,\"subtype\":",
		        (unsigned long long)(node->attr ? node->attr->numanode.local_memory : 0));
		if (node->subtype)
			json_str(out, node->subtype);
		else
			fputs("null", out);
		fputc('}', out);
	}
	fputs("],\"mems_allowed\":", out);
	struct bitmask *mems = numa_available() >= 0 ? numa_get_mems_allowed() : NULL;
	if (mems) {
		fputc('[', out);
		for (unsigned n = 0, first = 1; n < mems->size; n++)
			if (numa_bitmask_isbitset(mems, n)) {
				fprintf(out, "%s%u", first ? "" : ",", n);
				first = 0;
			}
		fputc(']', out);
		numa_bitmask_free(mems);
	} else {
		fputs("null", out);
	}
}

static void json_rankings(FILE *out, hwloc_topology_t topo)
{
	int num_nodes = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE);
	unsigned *os_index = calloc((size_t)num_nodes + 1, sizeof(*os_index));
	uint64_t *values = calloc((size_t)num_nodes + 1, sizeof(*values));
	fputs(",\"rankings\":[", out);
	int entries = 0;
	for (int i = 0; i < num_nodes && os_index && values; i++) {
		hwloc_obj_t node = hwloc_get_obj_by_type(topo, HWLOC_OBJ_NUMANODE, (unsigned)i);
		if (!first_of_initiator(topo, i))
			continue;
		char cpus[256];
		hwloc_bitmap_list_snprintf(cpus, sizeof(cpus), node->cpuset);
		fprintf(out, "%s{\"cpus\":", entries++ ? "," : "");
		json_str(out, cpus);
		fputs(",\"nodes\":[", out);
		for (int j = i, first = 1; j < num_nodes; j++) {
			hwloc_obj_t other = hwloc_get_obj_by_type(topo, HWLOC_OBJ_NUMANODE, (unsigned)j);
			if (other->cpuset && hwloc_bitmap_isequal(other->cpuset, node->cpuset)) {
				fprintf(out, "%s%u", first ? "" : ",", other->os_index);
				first = 0;
			}
		}
		fputc(']', out);
		for (int rank = AML_HWLOC_RANK_BANDWIDTH; rank <= AML_HWLOC_RANK_CAPACITY; rank++) {
			struct aml_area_hwloc_preferred_data ranking = {.os_index = os_index, .values = values};
			int err = aml_hwloc_rank_nodes(topo, node->cpuset, (enum aml_hwloc_rank)rank,
			                               (unsigned)num_nodes, &ranking);
			fprintf(out, ",\"%s\":", aml_hwloc_rank_name((enum aml_hwloc_rank)rank));
			if (err != AML_SUCCESS) {
				fputs("{\"error\":", out);
				json_str(out, aml_strerror(err));
				fputc('}', out);
				continue;
			}
			fputs("{\"order\":[", out);
			for (unsigned r = 0; r < ranking.num_nodes; r++) {
				fprintf(out, "%s{\"node\":%u,\"value\":", r ? "," : "", ranking.os_index[r]);
				/* null: no value (the text's "no value"); a locality
				 * value only says "local". */
				if (r < ranking.num_valued)
					fprintf(out, "%llu", (unsigned long long)ranking.values[r]);
				else
					fputs("null", out);
				fputc('}', out);
			}
			fprintf(out, "],\"unit\":\"%s\",\"source\":\"%s\",\"source_text\":", value_unit(&ranking),
			        source_name(ranking.source));
			json_str(out, source_story(&ranking));
			fputc('}', out);
		}
		fputc('}', out);
	}
	fputc(']', out);
	free(os_index);
	free(values);
}

static void json_settings(FILE *out, const struct cli_settings *settings)
{
	fputs(",\"settings\":[", out);
	for (int v = 0; v < CLI_NUM_VARS; v++) {
		const char *value = settings->values[v];
		int from_option = value != NULL;
		if (!value)
			value = getenv(cli_vars[v].name);
		fprintf(out, "%s{\"name\":\"%s\",\"value\":", v ? "," : "", cli_vars[v].name);
		if (value)
			json_str(out, value);
		else
			fputs("null", out);
		fputs(",\"from\":", out);
		if (!value)
			fputs("null", out);
		else if (from_option)
			fprintf(out, "\"--%s\"", cli_vars[v].option);
		else
			fputs("\"environment\"", out);
		fputc('}', out);
	}
	fputc(']', out);
}

struct json_list {
	FILE *out;
	int count;
};

static void sink_to_json(const char *line, void *ctx)
{
	struct json_list *list = ctx;
	if (list->count++)
		fputc(',', list->out);
	json_str(list->out, line);
}

/* A weighted-interleave area's weights, their source and mechanism. */
static void json_weights(FILE *out, const struct amlshim_resolved *resolved)
{
	int nodes[AMLSHIM_MAX_WEIGHTS], kernel = 0;
	unsigned weights[AMLSHIM_MAX_WEIGHTS];
	int count = amlshim_resolved_weights(resolved, nodes, weights, AMLSHIM_MAX_WEIGHTS, &kernel);
	if (count == 0)
		return;
	fputs(",\"weights\":[", out);
	for (int i = 0; i < count; i++)
		fprintf(out, "%s{\"node\":%d,\"weight\":%u}", i ? "," : "", nodes[i], weights[i]);
	fputs("],\"weights_source\":", out);
	json_str(out, resolved->source);
	fprintf(out, ",\"mechanism\":\"%s\"", kernel ? "kernel" : "user");
}

/* "resolved": one entry per CPU node for per-thread placements, else one;
 * a fallback ends the list (as in the text). Returns the failures. */
static int json_placement(FILE *out, const struct amlshim_placement *placement, const int *cpu_nodes,
                          int num_cpu_nodes)
{
	int failures = 0;
	fputs("\"resolved\":[", out);
	for (int i = 0; i < num_cpu_nodes; i++) {
		struct amlshim_resolved resolved;
		char why[256], area[256];
		if (i)
			fputc(',', out);
		if (amlshim_resolve(placement, cpu_nodes[i], &resolved, why, sizeof(why)) != 0) {
			fputs("{\"fallback\":", out);
			json_str(out, why);
			fputc('}', out);
			failures++;
			break;
		}
		amlshim_describe_area(resolved.area, area, sizeof(area));
		fputs("{\"cpu_node\":", out);
		if (resolved.per_node)
			fprintf(out, "%d", cpu_nodes[i]);
		else
			fputs("null", out);
		fputs(",\"area\":", out);
		json_str(out, area);
		fputs(",\"ranked_by\":", out);
		if (resolved.source[0] && placement->kind != AMLSHIM_PLACE_WEIGHTED_INTERLEAVE)
			json_str(out, resolved.source);
		else
			fputs("null", out);
		json_weights(out, &resolved);
		fputs(",\"node_set\":", out); /* the nodes its node list resolved to; null: all */
		if (resolved.node_set[0])
			json_str(out, resolved.node_set);
		else
			fputs("null", out);
		fputc('}', out);
		int per_node = resolved.per_node;
		amlshim_resolved_destroy(placement, &resolved);
		if (!per_node)
			break;
	}
	fputc(']', out);
	return failures;
}

static void json_policy(FILE *out, const struct cli_settings *settings)
{
	struct amlshim_policy policy;
	struct json_list messages = {out, 0};
	fputs(",\"messages\":[", out);
	amlshim_policy_parse(&policy, cli_effective_env, (void *)settings, sink_to_json, &messages);
	fprintf(out, "],\"bad_values\":%d,\"rules_override\":%s", policy.errors,
	        policy.rules_override ? "true" : "false");

	int cpu_nodes[MAX_CPU_NODES];
	int num_cpu_nodes = amlshim_cpu_nodes(cpu_nodes, MAX_CPU_NODES);
	if (num_cpu_nodes == 0)
		cpu_nodes[num_cpu_nodes++] = 0;
	int failures = 0;
	/* Every size range, the gaps (kernel default) included, in order. */
	fputs(",\"ranges\":[", out);
	size_t covered = 0;
	int entries = 0;
	for (int r = 0; r < policy.num_rules; r++) {
		const struct amlshim_rule *rule = &policy.rules[r];
		if (rule->min > covered) {
			fprintf(out, "%s{\"min\":%zu,\"max\":%zu,\"policy\":null}", entries++ ? "," : "", covered,
			        rule->min);
		}
		fprintf(out, "%s{\"min\":%zu,\"max\":", entries++ ? "," : "", rule->min);
		json_size(out, rule->max);
		fputs(",\"policy\":", out);
		json_str(out, rule->placement.text);
		fputc(',', out);
		failures += json_placement(out, &rule->placement, cpu_nodes, num_cpu_nodes);
		cli_explain_pages_json(out, &rule->placement);
		cli_explain_share_json(out, &rule->placement);
		fputc('}', out);
		covered = rule->max;
	}
	if (policy.num_rules && covered != SIZE_MAX)
		fprintf(out, ",{\"min\":%zu,\"max\":null,\"policy\":null}", covered);
	fputs("],\"small\":{\"policy\":", out);
	json_str(out, policy.small.text);
	fputs(",\"fallback\":", out);
	char why[256];
	struct amlshim_placement named;
	if (policy.small.kind != AMLSHIM_PLACE_DEFAULT && amlshim_resolve_nodes(&policy.small, &named, why, sizeof(why)) != 0) {
		json_str(out, why);
		failures++;
	} else {
		fputs("null", out);
	}
	static const char *const levels[] = {"error", "warn", "info", "debug"};
	fprintf(out, "},\"threshold\":%zu,\"threshold_ignored\":%s,\"mmap\":%s,\"deepbind\":\"%s\",\"stats\":\"%s\","
	             "\"stats_file\":",
	        policy.threshold, policy.rules_override ? "true" : "false", policy.mmap_on ? "true" : "false",
	        policy.deepbind == AMLSHIM_DEEPBIND_DROP ? "drop" : "keep",
	        policy.stats == AMLSHIM_STATS_OFF ? "none" : policy.stats == AMLSHIM_STATS_JSON ? "json" : "text");
	if (policy.stats_file[0])
		json_str(out, policy.stats_file);
	else
		fputs("null", out);
	fprintf(out, ",\"log\":\"%s\",\"strict\":%s,\"fallbacks\":%d,\"strict_exit\":%s", levels[policy.log_level],
	        policy.strict ? "true" : "false", failures,
	        policy.strict && (failures || policy.errors) ? "true" : "false");
}

int cli_explain_json(const struct cli_settings *settings, const char *library, FILE *out)
{
	fputs("{\"amlshim\":", out);
	json_str(out, aml_version_string());
	fputs(",\"library\":", out);
	json_str(out, library);
	aml_init(NULL, NULL);
	fprintf(out, ",\"topology\":%s", aml_topology ? "true" : "false");
	if (aml_topology) {
		json_nodes(out, aml_topology);
		json_rankings(out, aml_topology);
	}
	json_settings(out, settings);
	json_policy(out, settings);
	cli_explain_sites_json(out, json_str);
	cli_explain_node_sets_json(out, json_str);
	cli_explain_job_json(out, json_str);
	fputs("}\n", out);
	aml_finalize();
	return fflush(out) == 0 ? 0 : 1;
}
