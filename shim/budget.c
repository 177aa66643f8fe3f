/* Budgets for +share rules. Each sharing rule's ranked areas ask, before a
 * part of a mapping goes on the process's first-choice node, how much may
 * (aml_area_hwloc_ranked_set_budget): this process's bytes there (every
 * sharing rule together) stay within its budget, the rest takes the next
 * ranked node and counts as spilled. The budget comes from the node-wide
 * ledger (ledger.c): static, the node's memory over the local ranks that
 * use it; dynamic, what the others do not claim. Placed bytes are mapped
 * bytes (a region counts when mapped, touched or not), recorded by address
 * so that an unmap gives them back. Only mappings of sharing rules come
 * here: no other path reads any of it. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <aml/area/hwloc.h>
#include "budget.h"
#include "init.h"
#include "ledger.h"
#include "log.h"
#include "os.h"
#include "page_size.h"
#include "resolve.h"
#include "shim.h"

#define RECORDS 2048

int shim_share_active;

/* This process's budgeted nodes (the first choices of its sharing rules). */
static struct {
	struct shim_ledger ledger;
	int nodes[SHIM_LEDGER_NODES];
	size_t capacity[SHIM_LEDGER_NODES];
	size_t placed[SHIM_LEDGER_NODES];
	int num_nodes;
	uint64_t settle_ns;
	const char *how; /* where the users come from */
	int lock;
} budgets = {.ledger = {.slot = -1}, .settle_ns = AMLSHIM_DEFAULT_SHARE_SETTLE_NS};

/* bind:N / preferred:N: their area wrapped, the budget asked after it maps. */
struct budget_area {
	struct aml_area area;
	struct aml_area_ops ops;
	struct aml_area *inner;
	unsigned node;
	int rule;
};

/* Per sharing rule, for the report. */
struct rule_share {
	size_t placed[SHIM_LEDGER_NODES], budget[SHIM_LEDGER_NODES], spilled;
	int users[SHIM_LEDGER_NODES];
	int budgeted; /* its areas ask the budget */
	size_t unit;  /* grants are whole units: a page, or the rule's huge page (+huge) */
	struct budget_area named;
};
static struct rule_share rules[AMLSHIM_MAX_RULES];

/* A part placed on a budgeted node, by address. */
static struct {
	uintptr_t start, end;
	size_t bytes;
	signed char node, rule;
} records[RECORDS];
static int num_records;

/* CLOCK_MONOTONIC(_COARSE): one clock for every process of the host. */
static uint64_t now_ns(void)
{
	return aml_os_now_ns();
}

static int node_index(unsigned node)
{
	for (int i = 0; i < budgets.num_nodes; i++)
		if (budgets.nodes[i] == (int)node)
			return i;
	return -1;
}

/* This process's budget on node i (under the lock); *users counted. */
static size_t budget_of(int i, int dynamic, int *users)
{
	long local_size = shim_process.job.local_size;
	size_t capacity = budgets.capacity[i];
	if (!budgets.ledger.table) {
		*users = local_size > 0 ? (int)local_size : 1;
		return shim_share_static(capacity, *users);
	}
	struct shim_share_view view;
	shim_ledger_view(&budgets.ledger, (unsigned)budgets.nodes[i], now_ns(), budgets.settle_ns, &view);
	*users = shim_share_users(view.users, view.registered, local_size);
	return dynamic ? shim_share_dynamic(capacity, *users, &view) : shim_share_static(capacity, *users);
}

static void account(int i, int rule, int64_t delta)
{
	budgets.placed[i] += (size_t)delta;
	rules[rule].placed[i] += (size_t)delta;
	shim_ledger_add(&budgets.ledger, i, delta, now_ns());
}

/* The area's question: how much of want at addr may go on node. */
static size_t take(void *ctx, unsigned node, void *addr, size_t want, int must)
{
	int rule = (int)(intptr_t)ctx, i = node_index(node);
	if (i < 0)
		return want; /* not budgeted */
	struct rule_share *r = &rules[rule];
	shim_lock(&budgets.lock);
	size_t grant = want;
	if (!must) {
		size_t budget = budget_of(i, shim_process.policy.rules[rule].placement.share == AMLSHIM_SHARE_DYNAMIC,
		                          &r->users[i]);
		r->budget[i] = budget;
		grant = budget > budgets.placed[i] ? budget - budgets.placed[i] : 0;
		grant = (grant < want ? grant : want) / r->unit * r->unit;
	}
	if (grant && num_records == RECORDS)
		grant = must ? grant : 0; /* nowhere to remember it: not placed there */
	if (grant && num_records < RECORDS) {
		records[num_records].start = (uintptr_t)addr;
		records[num_records].end = (uintptr_t)addr + grant;
		records[num_records].bytes = grant;
		records[num_records].node = (signed char)i;
		records[num_records++].rule = (signed char)rule;
		account(i, rule, (int64_t)grant);
	}
	r->spilled += want - grant;
	shim_unlock(&budgets.lock);
	return grant;
}

void shim_share_release(void *addr, size_t len)
{
	uintptr_t start = (uintptr_t)addr, end = start + len;
	shim_lock(&budgets.lock);
	for (int k = 0; k < num_records;) {
		uintptr_t a = records[k].start > start ? records[k].start : start;
		uintptr_t b = records[k].end < end ? records[k].end : end;
		if (a < b) {
			size_t gone = b - a < records[k].bytes ? b - a : records[k].bytes;
			records[k].bytes -= gone;
			account(records[k].node, records[k].rule, -(int64_t)gone);
			if (records[k].bytes == 0) {
				records[k] = records[--num_records];
				continue;
			}
		}
		k++;
	}
	shim_unlock(&budgets.lock);
}

static void release_budget(void *ctx, void *addr, size_t len)
{
	(void)ctx;
	shim_share_release(addr, len);
}

/* Mapped on the named node by the rule's own area; past the budget, the
 * rest of the range takes the kernel default (first touch). */
static void *named_mmap(const struct aml_area_data *data, size_t size, struct aml_area_mmap_options *opts)
{
	const struct budget_area *b = (const struct budget_area *)data;
	char *ptr = aml_area_mmap(b->inner, size, opts);
	size_t len = (size + SHIM_PAGE - 1) & ~(size_t)(SHIM_PAGE - 1);
	size_t granted = ptr ? take((void *)(intptr_t)b->rule, b->node, ptr, len, 0) : len;
	if (granted < len && aml_os_mbind(ptr + granted, len - granted, AML_MPOL_DEFAULT, NULL, 0, 0) != 0) {
		shim_share_release(ptr, len);
		aml_area_munmap(b->inner, ptr, size);
		aml_errno = AML_FAILURE;
		return NULL;
	}
	return ptr;
}

static int named_munmap(const struct aml_area_data *data, void *ptr, size_t size)
{
	const struct budget_area *b = (const struct budget_area *)data;
	shim_share_release(ptr, size);
	return aml_area_munmap(b->inner, ptr, size);
}

/* The one node of bind:N or preferred:N, or -1. */
static int named_node(const struct amlshim_placement *p)
{
	int node = -1;
	if ((p->kind != AMLSHIM_PLACE_BIND && p->kind != AMLSHIM_PLACE_PREFERRED) || p->all_nodes)
		return -1;
	for (int n = 0; n < AMLSHIM_MAX_NODES; n++) {
		if (!(p->nodes[n / (8 * sizeof(unsigned long))] & (1UL << (n % (8 * sizeof(unsigned long))))))
			continue;
		if (node >= 0)
			return -1; /* several: not one named node */
		node = n;
	}
	return node;
}

static int wrap_named(int rule, struct shim_pool *pool, int node)
{
	struct budget_area *b = &rules[rule].named;
	if (node < 0 || !pool->placed.area || b->inner)
		return -1;
	b->inner = pool->placed.area;
	b->ops = (struct aml_area_ops){named_mmap, named_munmap, b->inner->ops->fprintf};
	b->area = (struct aml_area){&b->ops, (struct aml_area_data *)b};
	b->node = (unsigned)node;
	b->rule = rule;
	pool->placed.area = &b->area;
	return 0;
}

/* The ledger's key: AMLSHIM_LEDGER (a name the policy parser checked),
 * else the job's own. */
static void ledger_key(char *key, size_t len)
{
	if (shim_process.policy.ledger[0])
		snprintf(key, len, "%s", shim_process.policy.ledger);
	else if (shim_ledger_default_key(key, len) != 0)
		key[0] = 0;
}

/* The rule's ranked pools take the budget. The node budgeted is the first
 * choice seen from the CPU node the process starts on (a rank bound to a
 * socket uses that socket's pool only). */
static void budget_rule(int rule, int here)
{
	struct shim_route *route = &shim_route_table.rules[rule];
	if (!shim_share_route(route) || route->use_fallback)
		return;
	struct aml_area_hwloc_budget budget = {take, release_budget, (void *)(intptr_t)rule};
	/* The rest of a mapping past its grant is mbound elsewhere: in a
	 * hugetlb mapping that must start on a huge page (else EINVAL, and
	 * the whole mapping would fall back to normal pages). */
	rules[rule].unit = shim_pages_hugetlb(&route->pages) && route->pages.size > SHIM_PAGE ? route->pages.size : SHIM_PAGE;
	/* Node set names ("preferred:hbm+share") are bits of node_names
	 * until resolved: the resolved copy says the node. */
	struct amlshim_placement resolved;
	char why[160];
	int named = amlshim_resolve_nodes(&route->rule->placement, &resolved, why, sizeof(why)) == 0
	                    ? named_node(&resolved)
	                    : -1;
	for (int p = 0; p < SHIM_MAX_NODES; p++) {
		struct shim_pool *pool = &route->pools[p];
		if (!pool->present || (aml_area_hwloc_ranked_set_budget(pool->placed.area, &budget) != AML_SUCCESS &&
		                       wrap_named(rule, pool, named) != 0))
			continue;
		rules[rule].budgeted = 1;
		shim_share_active = 1;
	}
	if (here < 0 || here >= SHIM_MAX_NODES || !route->per_node || !route->pools[here].present)
		here = route->per_node ? route->first_node : 0;
	int best = named >= 0 ? named : route->pools[here].placed.best_node;
	if (rules[rule].budgeted && best >= 0 && node_index((unsigned)best) < 0 && budgets.num_nodes < SHIM_LEDGER_NODES) {
		budgets.capacity[budgets.num_nodes] = aml_os_node_total((unsigned)best);
		budgets.nodes[budgets.num_nodes++] = best;
	}
}

void shim_share_resolve(void)
{
	int lends = 0, here = aml_os_current_node();
	for (int r = 0; r < shim_route_table.count; r++) {
		budget_rule(r, here);
		lends |= shim_process.policy.rules[r].placement.share == AMLSHIM_SHARE_DYNAMIC;
	}
	if (!shim_share_active)
		return;
	/* Faulted in now: take() writes them under the lock. */
	memset(records, 0, sizeof(records));
	char key[AMLSHIM_LEDGER_NAME_MAX + 32];
	ledger_key(key, sizeof(key));
	budgets.settle_ns = shim_process.policy.share_settle_ns;
	budgets.how = "the whole node: not in a job";
	if (!shim_process.job.launcher)
		return;
	/* /dev/shm, else /tmp (a machine without /dev/shm mounted, or a full one). */
	static const char *const dirs[] = {"/dev/shm", "/tmp"};
	for (int d = 0; key[0] && d < 2; d++) {
		if (shim_ledger_attach(&budgets.ledger, dirs[d], key, budgets.nodes, budgets.num_nodes, lends) == 0) {
			budgets.how = "ledger";
			return;
		}
		if (errno != ENOENT && errno != ENOSPC)
			break;
	}
	budgets.how = shim_process.job.local_size > 0 ? "local size: no ledger" : "the whole node: no ledger, local size unknown";
	shim_log(AMLSHIM_LOG_INFO, "+share: no node ledger (%s): budgets are each node's memory over %s",
	         key[0] ? budgets.ledger.path : "no job key", shim_process.job.local_size > 0 ? "the local size" : "1");
}

void shim_share_after_fork_child(void)
{
	budgets.lock = 0;
	/* The mapping stays, the slot is the parent's: this process is off it. */
	budgets.ledger.slot = -1;
	budgets.ledger.table = NULL;
}

/* Under the lock: another thread may be in take() or a release, writing
 * through the table. */
void shim_share_exit(void)
{
	shim_lock(&budgets.lock);
	shim_ledger_detach(&budgets.ledger);
	shim_unlock(&budgets.lock);
}

/* A rule that never asked (nothing allocated yet): its budget now. */
static void fill_budgets(int rule)
{
	struct rule_share *r = &rules[rule];
	int dynamic = shim_process.policy.rules[rule].placement.share == AMLSHIM_SHARE_DYNAMIC;
	shim_lock(&budgets.lock);
	for (int i = 0; i < budgets.num_nodes; i++)
		if (r->budgeted && r->users[i] == 0)
			r->budget[i] = budget_of(i, dynamic, &r->users[i]);
	shim_unlock(&budgets.lock);
}

static const char *mode_name(int rule)
{
	return shim_process.policy.rules[rule].placement.share == AMLSHIM_SHARE_DYNAMIC ? "dynamic" : "static";
}

void shim_share_write_text(struct shim_out *out, int rule)
{
	const struct rule_share *r = &rules[rule];
	if (!shim_share_route(&shim_route_table.rules[rule]))
		return;
	fill_budgets(rule);
	shim_out_put(out, "  %-14s share (%s, users from %s):", "", mode_name(rule), budgets.how ? budgets.how : "nowhere");
	for (int i = 0; i < budgets.num_nodes; i++)
		shim_out_put(out, " node %d budget %zu placed %zu users %d;", budgets.nodes[i], r->budget[i], r->placed[i],
		             r->users[i]);
	shim_out_put(out, " spilled %zu%s\n", r->spilled, r->budgeted ? "" : " (no ranked area: not applied)");
}

void shim_share_write_json(struct shim_out *out, int rule)
{
	const struct rule_share *r = &rules[rule];
	if (!shim_share_route(&shim_route_table.rules[rule]))
		return;
	fill_budgets(rule);
	shim_out_put(out, ",\"share\":{\"mode\":\"%s\",\"users_from\":\"%s\",\"applied\":%s,\"spilled_bytes\":%zu,\"nodes\":[",
	             mode_name(rule), budgets.how ? budgets.how : "", r->budgeted ? "true" : "false", r->spilled);
	for (int i = 0; i < budgets.num_nodes; i++)
		shim_out_put(out, "%s{\"node\":%d,\"capacity\":%zu,\"budget\":%zu,\"placed_bytes\":%zu,\"users\":%d}",
		             i ? "," : "", budgets.nodes[i], budgets.capacity[i], r->budget[i], r->placed[i], r->users[i]);
	shim_out_put(out, "]}");
}
