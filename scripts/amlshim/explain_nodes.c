/* amlshim --explain: the "Node sets" part, what each node set name of a
 * node list ("local", "socket", "hbm@socket"...) resolves to for this
 * process (its CPU affinity, the topology), the kind of each node and where
 * it came from, and what a default interleave spreads over; in text and in
 * JSON. policy/node_sets.c resolves them exactly as the shim does. */
#define _GNU_SOURCE
#include <string.h>

#include <aml/utils/nodemask.h>
#include "cli.h"
#include "node_sets.h"

static void print_mask(FILE *out, const unsigned long *mask, const char *none)
{
	int first = 1;
	for (unsigned node = 0, last; aml_nodemask_next_run(mask, &node, &last); node = last + 1) {
		fprintf(out, last > node ? "%s%u-%u" : "%s%u", first ? "" : ",", node, last);
		first = 0;
	}
	if (first)
		fputs(none, out);
}

static void json_mask(FILE *out, const unsigned long *mask)
{
	int first = 1;
	fputc('[', out);
	for (unsigned node = 0, last; aml_nodemask_next_run(mask, &node, &last); node = last + 1)
		for (unsigned n = node; n <= last; n++, first = 0)
			fprintf(out, "%s%u", first ? "" : ",", n);
	fputc(']', out);
}

static void find_all(struct amlshim_node_sets *sets)
{
	memset(sets, 0, sizeof(*sets));
	amlshim_node_sets_find(sets, AMLSHIM_SETS_LOCAL | AMLSHIM_SETS_SOCKET | AMLSHIM_SETS_KINDS);
}

void cli_explain_node_sets(FILE *out)
{
	struct amlshim_node_sets sets;
	unsigned long nodes[AMLSHIM_NODE_WORDS];
	char from[160];
	find_all(&sets);
	fprintf(out, "\nNode sets (names in node lists, resolved at start-up; this process: CPUs %s):\n",
	        sets.cpus[0] ? sets.cpus : "unknown");
	for (unsigned name = 0; name < AMLSHIM_NAME_COUNT; name++) {
		amlshim_node_sets_of(&sets, name, nodes);
		amlshim_node_sets_source(&sets, name, from, sizeof(from));
		fprintf(out, "  %-12s ", amlshim_node_name(name));
		print_mask(out, nodes, "no node");
		fprintf(out, "  (%s)\n", from);
	}
	fprintf(out, "  kinds:\n");
	for (unsigned node = 0; node < AMLSHIM_MAX_NODES; node++)
		if (aml_nodemask_test(sets.known, node))
			fprintf(out, "    node %u: %s (%s)\n", node, amlshim_node_kind_name(sets.kind_of[node]),
			        amlshim_node_kind_source(&sets, node));
	fprintf(out, "  a default interleave spreads over: ");
	if (amlshim_node_sets_spread(&sets, nodes) == 0) {
		print_mask(out, nodes, "no node");
		fprintf(out, " (the allowed nodes less GPU memory)\n");
	} else {
		fprintf(out, "every allowed node (none is GPU memory)\n");
	}
}

void cli_explain_node_sets_json(FILE *out, void (*json_str)(FILE *, const char *))
{
	struct amlshim_node_sets sets;
	unsigned long nodes[AMLSHIM_NODE_WORDS];
	char from[160];
	find_all(&sets);
	fputs(",\"node_sets\":{\"cpus\":", out);
	json_str(out, sets.cpus);
	fputs(",\"names\":{", out);
	for (unsigned name = 0; name < AMLSHIM_NAME_COUNT; name++) {
		amlshim_node_sets_of(&sets, name, nodes);
		amlshim_node_sets_source(&sets, name, from, sizeof(from));
		fprintf(out, "%s\"%s\":{\"nodes\":", name ? "," : "", amlshim_node_name(name));
		json_mask(out, nodes);
		fputs(",\"from\":", out);
		json_str(out, from);
		fputc('}', out);
	}
	fputs("},\"kinds\":[", out);
	int first = 1;
	for (unsigned node = 0; node < AMLSHIM_MAX_NODES; node++) {
		if (!aml_nodemask_test(sets.known, node))
			continue;
		fprintf(out, "%s{\"node\":%u,\"kind\":", first ? "" : ",", node);
		if (sets.kind_of[node] < AMLSHIM_KIND_COUNT)
			json_str(out, amlshim_node_kind_name(sets.kind_of[node]));
		else
			fputs("null", out);
		fputs(",\"from\":", out);
		json_str(out, amlshim_node_kind_source(&sets, node));
		fputc('}', out);
		first = 0;
	}
	fputs("],\"interleave_default\":", out);
	if (amlshim_node_sets_spread(&sets, nodes) == 0)
		json_mask(out, nodes);
	else
		fputs("null", out); /* every allowed node */
	fputc('}', out);
}
