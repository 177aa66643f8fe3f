/* amlshim --explain: what a +share rule would give this process: its
 * first-choice node, that node's memory, and the budget by the launcher's
 * local size (at run time the node's ledger counts the local ranks whose
 * first choice it is, and +share:dynamic lends what the others leave). */
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

void cli_explain_share(FILE *out, const struct amlshim_placement *placement)
{
	struct amlshim_job job;
	amlshim_job_detect(&job, from_environment, NULL, ignore_line, NULL);
	int node = first_choice(placement);
	long long total = node >= 0 && numa_available() >= 0 ? numa_node_size64(node, NULL) : -1;
	if (node < 0 || total <= 0) {
		fprintf(out, "      +share: no node to budget (not applied)\n");
		return;
	}
	fprintf(out, "      +share%s: node %d (%lld MiB); ", placement->share == AMLSHIM_SHARE_DYNAMIC ? ":dynamic" : "",
	        node, total >> 20);
	if (!job.launcher)
		fprintf(out, "budget: the whole node (not in a job)\n");
	else if (job.local_size > 0)
		fprintf(out, "budget: %lld MiB if all %ld local ranks use it (the node's ledger counts them at run time)\n",
		        (total / job.local_size) >> 20, job.local_size);
	else
		fprintf(out, "budget: the node over the ranks that join its ledger (local size unknown)\n");
}
