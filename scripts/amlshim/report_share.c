/* amlshim report: the +share part of a host's table: per rank, each
 * sharing rule's budget on its node, the bytes placed there and those
 * spilled down the ranking (the "share" object of each rule). */
#define _GNU_SOURCE
#include <string.h>

#include "report_merge.h"

#define MiB (1LL << 20)

static long long number(const struct json *object, const char *key)
{
	long long value;
	return json_get_long(object, key, 0, 1LL << 62, &value) == 0 ? value : -1;
}

static const char *text(const struct json *object, const char *key)
{
	const struct json *value = json_get(object, key);
	return value && value->type == JSON_STRING ? value->string : "?";
}

/* One rule's line per budgeted node of one rank. */
static void print_rule(FILE *out, const struct rank_report *r, const struct json *rule, const struct json *share)
{
	char label[48];
	merge_rank_label(r, label, sizeof(label));
	const struct json *nodes = json_get(share, "nodes");
	for (size_t n = 0; nodes && nodes->type == JSON_ARRAY && n < nodes->count; n++) {
		const struct json *node = &nodes->children[n];
		fprintf(out, "  %-10s %-26s %-8s %4lld %10lld %10lld %5lld %10lld   %s\n", label, text(rule, "policy"),
		        text(share, "mode"), number(node, "node"), number(node, "budget") / MiB,
		        number(node, "placed_bytes") / MiB, number(node, "users"), number(share, "spilled_bytes") / MiB,
		        text(share, "users_from"));
	}
}

void merge_print_shares(FILE *out, struct rank_report *const *reports, int count)
{
	int header = 0;
	for (int i = 0; i < count; i++) {
		const struct json *rules = reports[i]->rules;
		for (size_t k = 0; rules && rules->type == JSON_ARRAY && k < rules->count; k++) {
			const struct json *share = json_get(&rules->children[k], "share");
			if (!share || share->type != JSON_OBJECT)
				continue;
			if (!header++)
				fprintf(out, "  +share budgets (MiB; budget: the last one computed):\n  %-10s %-26s %-8s %4s %10s %10s %5s %10s   %s\n",
				        "rank", "rule", "mode", "node", "budget", "placed", "users", "spilled", "users from");
			print_rule(out, reports[i], &rules->children[k], share);
		}
	}
}
