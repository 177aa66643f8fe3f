/* amlshim --explain --json: what explain.c prints, as one JSON object for
 * site tooling (members listed in amlshim(1), EXPLAIN AS JSON). */
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
		if (!cli_first_of_initiator(topo, i))
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
			json_str(out, cli_rank_source_story(&ranking));
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
		cli_explain_share_json(out, &policy, &rule->placement);
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
