/* amlshim report: per host, a table of ranks x nodes (resident pages at
 * peak / at exit), the imbalance between its ranks, and what each rule
 * resolved to on which ranks. */
#include <stdlib.h>
#include <string.h>

#include "report_merge.h"

void merge_rank_label(const struct rank_report *r, char *buf, size_t len)
{
	if (r->rank >= 0)
		snprintf(buf, len, "rank %lld", r->rank);
	else
		snprintf(buf, len, "pid %lld", r->pid);
}

/* max/mean of each report's totals (peak or exit); the highest in *top. */
static double imbalance(struct rank_report *const *reports, int count, int at_exit, int *top)
{
	long long sum = 0, max = -1;
	for (int i = 0; i < count; i++) {
		long long v = at_exit ? reports[i]->total_exit : reports[i]->total_peak;
		sum += v;
		if (v > max) {
			max = v;
			*top = i;
		}
	}
	return sum ? (double)max * count / (double)sum : 1.0;
}

static void print_imbalance(FILE *out, const char *indent, struct rank_report *const *reports, int count)
{
	int top_peak = 0, top_exit = 0;
	double peak = imbalance(reports, count, 0, &top_peak), at_exit = imbalance(reports, count, 1, &top_exit);
	char label[48];
	merge_rank_label(reports[top_peak], label, sizeof(label));
	fprintf(out, "%simbalance (max/mean of each rank's resident pages): at peak %.2f (highest: %s, %lld pages)",
	        indent, peak, label, reports[top_peak]->total_peak);
	merge_rank_label(reports[top_exit], label, sizeof(label));
	fprintf(out, ", at exit %.2f (highest: %s, %lld pages)\n", at_exit, label, reports[top_exit]->total_exit);
}

/* Each rule's policy and what it resolved to, with the ranks that had it. */
static void print_placements(FILE *out, struct rank_report *const *reports, int count)
{
	fprintf(out, "  rules resolved to:\n");
	char *done = calloc((size_t)count * 16 + 1, 1);
	for (int i = 0; i < count; i++) {
		const struct json *rules = reports[i]->rules;
		for (size_t k = 0; k < rules->count && k < 16; k++) {
			if (done && done[i * 16 + k])
				continue;
			const struct json *rule = &rules->children[k];
			const struct json *policy = json_get(rule, "policy"), *area = json_get(rule, "area");
			const char *p = policy && policy->type == JSON_STRING ? policy->string : "?";
			const char *a = area && area->type == JSON_STRING && area->string[0] ? area->string : "not resolved";
			fprintf(out, "    %s: %s (", p, a);
			/* Every report with the same policy and area at this rule. */
			for (int j = i, first = 1; j < count; j++) {
				const struct json *other = reports[j]->rules;
				if (k >= other->count)
					continue;
				const struct json *op = json_get(&other->children[k], "policy");
				const struct json *oa = json_get(&other->children[k], "area");
				const char *ps = op && op->type == JSON_STRING ? op->string : "?";
				const char *as = oa && oa->type == JSON_STRING && oa->string[0] ? oa->string : "not resolved";
				if (strcmp(ps, p) != 0 || strcmp(as, a) != 0)
					continue;
				char label[48];
				merge_rank_label(reports[j], label, sizeof(label));
				fprintf(out, "%s%s", first ? "" : ", ", label);
				first = 0;
				if (done)
					done[j * 16 + k] = 1;
			}
			fprintf(out, ")\n");
		}
	}
	free(done);
}

static void print_host(FILE *out, struct rank_report *const *reports, int count)
{
	int last = 0;
	for (int i = 0; i < count; i++)
		for (int n = 0; n < MERGE_MAX_NODES; n++)
			if (reports[i]->has_node[n] && n > last)
				last = n;
	fprintf(out, "\nhost %s: %d process%s", reports[0]->host, count, count == 1 ? "" : "es");
	if (reports[0]->local_size >= 0)
		fprintf(out, " (local size %lld from %s)", reports[0]->local_size,
		        reports[0]->local_size_from ? reports[0]->local_size_from : "?");
	fprintf(out, "\n  resident pages per node: at peak/at exit\n");
	fprintf(out, "  %-10s %-6s %-8s %-12s", "rank", "local", "pid", "cpus");
	for (int n = 0; n <= last; n++) {
		char head[24];
		snprintf(head, sizeof(head), "node %d", n);
		fprintf(out, " %15s", head);
	}
	fprintf(out, " %17s\n", "total");
	for (int i = 0; i < count; i++) {
		const struct rank_report *r = reports[i];
		char rank[24], local[48], cell[48];
		if (r->rank >= 0)
			snprintf(rank, sizeof(rank), "%lld", r->rank);
		else
			snprintf(rank, sizeof(rank), "-");
		if (r->local_rank >= 0 && r->local_size >= 0)
			snprintf(local, sizeof(local), "%lld/%lld", r->local_rank, r->local_size);
		else if (r->local_rank >= 0)
			snprintf(local, sizeof(local), "%lld/?", r->local_rank);
		else
			snprintf(local, sizeof(local), "-");
		fprintf(out, "  %-10s %-6s %-8lld %-12s", rank, local, r->pid, r->cpus && r->cpus[0] ? r->cpus : "?");
		for (int n = 0; n <= last; n++) {
			if (r->has_node[n])
				snprintf(cell, sizeof(cell), "%lld/%lld", r->peak[n], r->exit_pages[n]);
			else
				snprintf(cell, sizeof(cell), "-");
			fprintf(out, " %15s", cell);
		}
		snprintf(cell, sizeof(cell), "%lld/%lld", r->total_peak, r->total_exit);
		fprintf(out, " %17s\n", cell);
	}
	print_imbalance(out, "  ", reports, count);
	print_placements(out, reports, count);
	merge_print_shares(out, reports, count);
}

void merge_print_tables(FILE *out, struct rank_report *const *reports, int count)
{
	int hosts = 0;
	for (int i = 0; i < count; i++)
		hosts += i == 0 || strcmp(reports[i]->host, reports[i - 1]->host) != 0;
	fprintf(out, "amlshim report: %d report%s, %d host%s\n", count, count == 1 ? "" : "s", hosts,
	        hosts == 1 ? "" : "s");
	for (int i = 0; i < count;) {
		int j = i;
		while (j < count && strcmp(reports[j]->host, reports[i]->host) == 0)
			j++;
		print_host(out, reports + i, j - i);
		i = j;
	}
	if (hosts > 1) {
		fprintf(out, "\nthe whole job:\n");
		print_imbalance(out, "  ", reports, count);
	}
}
