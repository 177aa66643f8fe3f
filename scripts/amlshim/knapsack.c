/* Which sites go on the fast memory: a 0/1 knapsack of peak live bytes
 * against the capacity, solved exactly by dynamic programming when its
 * table is small enough and greedily (with the classic half-the-optimum
 * bound) otherwise, group by group of sites whose lifetimes overlap. */
#include <stdlib.h>
#include <string.h>

#include "knapsack.h"

double ks_exact(const unsigned long long *weight, const double *value, size_t n,
                unsigned long long capacity, unsigned long long unit, char *take)
{
	if (unit == 0)
		unit = 1;
	unsigned long long units = capacity / unit;
	if (units >= KS_MAX_CELLS || (n && (size_t)(units + 1) > KS_MAX_CELLS / n))
		return -1;
	size_t width = (size_t)units + 1;
	double *best = calloc(width, sizeof(*best));
	char *took = calloc(n ? n * width : 1, 1);
	if (!best || !took) {
		free(best);
		free(took);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		/* Rounded up: an item never fits by rounding. */
		unsigned long long w = weight[i] / unit + (weight[i] % unit != 0);
		if (w > units || value[i] <= 0)
			continue;
		for (size_t c = width; c-- > w;) {
			double with = best[c - w] + value[i];
			if (with > best[c]) {
				best[c] = with;
				took[i * width + c] = 1;
			}
		}
	}
	double total = best[units];
	size_t c = (size_t)units;
	for (size_t i = n; i-- > 0;) {
		take[i] = took[i * width + c];
		if (take[i])
			c -= (size_t)(weight[i] / unit + (weight[i] % unit != 0));
	}
	free(best);
	free(took);
	return total;
}

struct by_density {
	double density;
	size_t index;
};

static int denser_first(const void *a, const void *b)
{
	const struct by_density *x = a, *y = b;
	if (x->density != y->density)
		return x->density > y->density ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

double ks_greedy(const unsigned long long *weight, const double *value, size_t n,
                 unsigned long long capacity, char *take)
{
	struct by_density *order = calloc(n ? n : 1, sizeof(*order));
	if (!order)
		return -1;
	size_t single = n;
	for (size_t i = 0; i < n; i++) {
		order[i].index = i;
		order[i].density = weight[i] ? value[i] / (double)weight[i] : value[i] > 0 ? 1e300 : 0;
		if (weight[i] <= capacity && value[i] > 0 && (single == n || value[i] > value[single]))
			single = i;
		take[i] = 0;
	}
	qsort(order, n, sizeof(*order), denser_first);
	double total = 0;
	unsigned long long room = capacity;
	for (size_t k = 0; k < n; k++) {
		size_t i = order[k].index;
		if (value[i] > 0 && weight[i] <= room) {
			take[i] = 1;
			room -= weight[i];
			total += value[i];
		}
	}
	free(order);
	/* The greedy fill alone can be arbitrarily bad (a small dense item
	 * blocking a large one); the better of it and the best single item is
	 * at least half the optimum. */
	if (single < n && value[single] > total) {
		memset(take, 0, n);
		take[single] = 1;
		total = value[single];
	}
	return total;
}

struct by_start {
	double from, to;
	size_t index;
};

static int earlier_first(const void *a, const void *b)
{
	const struct by_start *x = a, *y = b;
	if (x->from != y->from)
		return x->from < y->from ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* Groups of overlapping lifetimes: sorted by start, a group ends where
 * the next item starts strictly after every item so far has ended.
 * Touching intervals count as overlapping. Returns the number of groups. */
static int group_lifetimes(struct ks_item *items, size_t n, struct by_start *order)
{
	for (size_t i = 0; i < n; i++) {
		int always = !(items[i].from <= items[i].to);
		order[i] = (struct by_start){always ? -1e300 : items[i].from, always ? 1e300 : items[i].to, i};
	}
	qsort(order, n, sizeof(*order), earlier_first);
	int group = -1;
	double end = 0;
	for (size_t k = 0; k < n; k++) {
		if (group < 0 || order[k].from > end) {
			group++;
			end = order[k].to;
		} else if (order[k].to > end) {
			end = order[k].to;
		}
		items[order[k].index].group = group;
	}
	return group + 1;
}

int ks_solve(struct ks_item *items, size_t n, unsigned long long capacity, struct ks_result *result)
{
	memset(result, 0, sizeof(*result));
	struct by_start *order = calloc(n ? n : 1, sizeof(*order));
	unsigned long long *weight = calloc(n ? n : 1, sizeof(*weight));
	double *value = calloc(n ? n : 1, sizeof(*value));
	size_t *member = calloc(n ? n : 1, sizeof(*member));
	char *take = calloc(n ? n : 1, 1);
	int ok = order && weight && value && member && take;
	if (ok)
		result->groups = group_lifetimes(items, n, order);
	for (int g = 0; ok && g < result->groups; g++) {
		size_t m = 0;
		for (size_t i = 0; i < n; i++)
			if (items[i].group == g) {
				member[m] = i;
				weight[m] = items[i].weight;
				value[m++] = items[i].value;
			}
		double got = -1;
		unsigned long long unit = KS_UNIT_MIN;
		for (; got < 0 && unit <= KS_UNIT_MAX; unit *= 2)
			got = ks_exact(weight, value, m, capacity, unit, take);
		if (got >= 0) {
			result->exact_groups++;
			if (unit / 2 > result->unit)
				result->unit = unit / 2;
		} else {
			got = ks_greedy(weight, value, m, capacity, take);
			result->greedy_groups++;
			if (got < 0)
				ok = 0;
		}
		for (size_t k = 0; ok && k < m; k++)
			items[member[k]].chosen = take[k];
		if (ok)
			result->value += got;
	}
	free(order);
	free(weight);
	free(value);
	free(member);
	free(take);
	return ok ? 0 : -1;
}
