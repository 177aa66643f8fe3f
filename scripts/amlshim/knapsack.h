/* The packing `amlshim advise` uses (knapsack.c): which sites go on the
 * fast memory. Pure: no I/O, no topology. */
#ifndef AMLSHIM_KNAPSACK_H
#define AMLSHIM_KNAPSACK_H

#include <stddef.h>

/* The cells (items x capacity units) the exact table may hold. */
#define KS_MAX_CELLS ((size_t)1 << 25)
/* The exact packing counts sizes in pages; coarser up to this when the
 * table would be too large, then greedy. */
#define KS_UNIT_MIN ((unsigned long long)4096)
#define KS_UNIT_MAX ((unsigned long long)1 << 20)

struct ks_item {
	unsigned long long weight; /* bytes of capacity it needs (peak live) */
	double value;              /* what it gains on the fast memory */
	double from, to;           /* alive interval (s); from > to: always alive */
	int chosen;                /* out */
	int group;                 /* out: its group of overlapping lifetimes */
};

enum ks_method { KS_NONE, KS_EXACT, KS_GREEDY };

struct ks_result {
	double value;               /* of the chosen items */
	int groups;                 /* groups of overlapping lifetimes */
	int exact_groups, greedy_groups;
	unsigned long long unit;    /* coarsest unit an exact group used */
};

/* Exact 0/1 knapsack by dynamic programming, sizes in units of `unit`
 * bytes (weights rounded up, capacity down: what it takes always fits).
 * take[i] is set for the items taken. Returns the value, or -1 when the
 * table would exceed KS_MAX_CELLS (take untouched). */
double ks_exact(const unsigned long long *weight, const double *value, size_t n,
                unsigned long long capacity, unsigned long long unit, char *take);

/* Greedy by value per byte, then the best single item if that is worth
 * more: at least half the optimum. Sets take[]; returns the value. */
double ks_greedy(const unsigned long long *weight, const double *value, size_t n,
                 unsigned long long capacity, char *take);

/* Splits the items into groups whose lifetimes overlap (items of two
 * groups are never alive together, so each group gets the whole
 * capacity) and packs each: exactly when its table fits at some unit from
 * KS_UNIT_MIN to KS_UNIT_MAX, else greedily. 0, or -1 out of memory. */
int ks_solve(struct ks_item *items, size_t n, unsigned long long capacity, struct ks_result *result);

#endif
