/* Budgets on a node's memory shared by the ranks of a job (budget.c, over
 * the ledger of ledger.h): rules with +share place on their first-choice
 * node no more than this process's budget there; the rest goes on down
 * the ranking and is counted as spilled. */
#ifndef AMLSHIM_BUDGET_H
#define AMLSHIM_BUDGET_H

#include <stddef.h>

#include "log.h"
#include "routes.h"

/* Some rule shares: unmaps and remaps outside the pools tell budget.c. */
extern int shim_share_active;

static inline int shim_share_route(const struct shim_route *route)
{
	return route->rule->placement.share != AMLSHIM_SHARE_NONE;
}
/* After phase 2: budgets on the sharing rules' ranked areas, the ledger
 * joined (its name and settle time from the policy: AMLSHIM_LEDGER,
 * AMLSHIM_SHARE_SETTLE). */
void shim_share_resolve(void);
/* [addr, addr + len) left the process: what it held of a budget returns. */
void shim_share_release(void *addr, size_t len);
/* fork child: off the ledger (the parent's slot is the parent's). */
void shim_share_after_fork_child(void);
/* Exit: the slot goes back. */
void shim_share_exit(void);
/* The report's share lines / fields of rule i. */
void shim_share_write_text(struct shim_out *out, int rule);
void shim_share_write_json(struct shim_out *out, int rule);

#endif
