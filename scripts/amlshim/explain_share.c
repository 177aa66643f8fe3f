/* amlshim --explain, text and JSON: what a +share rule would give this
 * process: its first-choice node, that node's memory, and the budget by
 * the launcher's local size (at run time the node's ledger counts the
 * local ranks whose first choice it is, and +share:dynamic lends what the
 * others leave). */
#define _GNU_SOURCE
#include <numa.h>
#include <sched.h>
#include <stdlib.h>

#include "cli.h"
#include "job.h"
#include "resolve.h"

static const char *from_environment(const char *name, void *ctx)
{
	(void)ctx;
	return getenv(name);
}

static void ignore_line(const char *line, void *ctx)
{
	(void)line;
	(void)ctx;
}

/* The node budgeted: the one node of bind:N/preferred:N, else the first
 * ranked as seen from this CPU's node; -1 when none. */
static int first_choice(const struct amlshim_placement *placement)
{
	if (placement->kind == AMLSHIM_PLACE_BIND || placement->kind == AMLSHIM_PLACE_PREFERRED) {
		int node = -1, count = 0;
		for (int n = 0; n < AMLSHIM_MAX_NODES; n++)
			if (placement->nodes[n / (8 * sizeof(unsigned long))] >> (n % (8 * sizeof(unsigned long))) & 1)
				node = count++ ? node : n;
		return count == 1 && !placement->all_nodes ? node : -1;
	}
	int cpu = sched_getcpu(), here = cpu >= 0 && numa_available() >= 0 ? numa_node_of_cpu(cpu) : 0;
	struct amlshim_resolved resolved;
	char why[160];
	if (amlshim_resolve(placement, here < 0 ? 0 : here, &resolved, why, sizeof(why)) != 0)
		return -1;
	int best = resolved.best_node;
	amlshim_resolved_destroy(placement, &resolved);
	return best;
}

/* What --explain says of a +share rule, for the text and the JSON. */
struct share_view {
	int node;            /* -1: no node to budget */
	long long total;     /* the node's bytes */
	struct amlshim_job job;
};

static void share_view(struct share_view *v, const struct amlshim_placement *placement)
{
	amlshim_job_detect(&v->job, from_environment, NULL, ignore_line, NULL);
	v->node = first_choice(placement);
	v->total = v->node >= 0 && numa_available() >= 0 ? numa_node_size64(v->node, NULL) : -1;
	if (v->total <= 0)
		v->node = -1;
}

/* "1s", "500ms", "0": AMLSHIM_SHARE_SETTLE as written (the parser takes
 * whole ms or s). */
static const char *settle_text(unsigned long long ns, char *buf, size_t len)
{
	if (ns % 1000000000ULL == 0 && ns)
		snprintf(buf, len, "%llus", ns / 1000000000ULL);
	else if (ns)
		snprintf(buf, len, "%llums", ns / 1000000ULL);
	else
		snprintf(buf, len, "0");
	return buf;
}

void cli_explain_share(FILE *out, const struct amlshim_policy *policy, const struct amlshim_placement *placement)
{
	struct share_view v;
	share_view(&v, placement);
	if (v.node < 0) {
		fprintf(out, "      +share: no node to budget (not applied)\n");
		return;
	}
	fprintf(out, "      +share%s: node %d (%lld MiB); ", placement->share == AMLSHIM_SHARE_DYNAMIC ? ":dynamic" : "",
	        v.node, v.total >> 20);
	if (!v.job.launcher)
		fprintf(out, "budget: the whole node (not in a job)\n");
	else if (v.job.local_size > 0)
		fprintf(out, "budget: %lld MiB if all %ld local ranks use it (the node's ledger counts them at run time)\n",
		        (v.total / v.job.local_size) >> 20, v.job.local_size);
	else
		fprintf(out, "budget: the node over the ranks that join its ledger (local size unknown)\n");
	char settle[32];
	fprintf(out, "      ledger: %s%s", policy->ledger[0] ? policy->ledger : "the job's own",
	        policy->ledger[0] ? " (AMLSHIM_LEDGER)" : "");
	if (placement->share == AMLSHIM_SHARE_DYNAMIC)
		fprintf(out, "; a rank's room is lent after %s without growth (AMLSHIM_SHARE_SETTLE)",
		        settle_text(policy->share_settle_ns, settle, sizeof(settle)));
	fputc('\n', out);
}

/* ,"share":{...} of a +share rule: mode, node and its bytes, the budget
 * (null where the ledger decides at run time), the local size it assumes
 * (null: not in a job, or unknown), the ledger's name (null: the job's
 * own) and the settle time in ns. */
void cli_explain_share_json(FILE *out, const struct amlshim_policy *policy, const struct amlshim_placement *placement)
{
	if (placement->share == AMLSHIM_SHARE_NONE)
		return;
	struct share_view v;
	share_view(&v, placement);
	fprintf(out, ",\"share\":{\"mode\":\"%s\",\"node\":",
	        placement->share == AMLSHIM_SHARE_DYNAMIC ? "dynamic" : "static");
	if (v.node < 0)
		fputs("null,\"node_bytes\":null,\"budget_bytes\":null,\"local_size\":null", out);
	else if (!v.job.launcher)
		fprintf(out, "%d,\"node_bytes\":%lld,\"budget_bytes\":%lld,\"local_size\":null", v.node, v.total, v.total);
	else if (v.job.local_size > 0)
		fprintf(out, "%d,\"node_bytes\":%lld,\"budget_bytes\":%lld,\"local_size\":%ld", v.node, v.total,
		        v.total / v.job.local_size, v.job.local_size);
	else
		fprintf(out, "%d,\"node_bytes\":%lld,\"budget_bytes\":null,\"local_size\":null", v.node, v.total);
	/* A ledger name is A-Z a-z 0-9 . _ - only: nothing to escape. */
	if (policy->ledger[0])
		fprintf(out, ",\"ledger\":\"%s\"", policy->ledger);
	else
		fputs(",\"ledger\":null", out);
	fprintf(out, ",\"settle_ns\":%llu}", policy->share_settle_ns);
}
