/* amlshim advise's packing (scripts/amlshim/knapsack.c): the exact table
 * against brute force on small random cases, the greedy fill's
 * half-the-optimum bound (and a case where greedy alone fails it), and
 * capacity shared by sites never alive together. */
#include <string.h>

#include "check.h"
#include "knapsack.h"

#define MAX_N 12

static double brute(const unsigned long long *w, const double *v, size_t n, unsigned long long cap)
{
	double best = 0;
	for (unsigned mask = 0; mask < 1u << n; mask++) {
		unsigned long long used = 0;
		double got = 0;
		for (size_t i = 0; i < n; i++)
			if (mask >> i & 1) {
				used += w[i];
				got += v[i];
			}
		if (used <= cap && got > best)
			best = got;
	}
	return best;
}

/* What take[] holds fits and is worth what was returned. */
static void check_take(const unsigned long long *w, const double *v, size_t n, unsigned long long cap,
                       const char *take, double value)
{
	unsigned long long used = 0;
	double got = 0;
	for (size_t i = 0; i < n; i++)
		if (take[i]) {
			used += w[i];
			got += v[i];
		}
	CHECK(used <= cap, "chose %llu bytes for a capacity of %llu", used, cap);
	CHECK(got > value - 1e-9 && got < value + 1e-9, "chose %g, said %g", got, value);
}

static void random_cases(void)
{
	srand(12);
	for (int round = 0; round < 2000; round++) {
		size_t n = 1 + (size_t)(rand() % MAX_N);
		unsigned long long w[MAX_N], cap = (unsigned long long)(rand() % 60);
		double v[MAX_N];
		char take[MAX_N];
		for (size_t i = 0; i < n; i++) {
			w[i] = (unsigned long long)(rand() % 25);
			v[i] = (double)(rand() % 100) / 7.0;
		}
		double want = brute(w, v, n, cap);
		double got = ks_exact(w, v, n, cap, 1, take);
		CHECK(got > want - 1e-9 && got < want + 1e-9, "round %d: exact %g, brute force %g", round, got, want);
		check_take(w, v, n, cap, take, got);
		double greedy = ks_greedy(w, v, n, cap, take);
		CHECK(greedy >= want / 2 - 1e-9, "round %d: greedy %g < half of %g", round, greedy, want);
		CHECK(greedy <= want + 1e-9, "round %d: greedy %g beats the optimum %g", round, greedy, want);
		check_take(w, v, n, cap, take, greedy);
	}
}

static void greedy_bound(void)
{
	/* Dense but tiny, then one that fills the capacity: greedy by density
	 * alone takes 2; the best single item (100) must win. */
	unsigned long long w[] = {1, 100};
	double v[] = {2, 100};
	char take[2];
	double got = ks_greedy(w, v, 2, 100, take);
	CHECK(got == 100 && !take[0] && take[1], "greedy chose %g (%d, %d)", got, take[0], take[1]);
	/* Rounded up to the unit: 4097 bytes need two pages. */
	unsigned long long w2[] = {4097, 4096};
	double v2[] = {10, 1};
	got = ks_exact(w2, v2, 2, 8191, 4096, take);
	CHECK(got == 1 && !take[0] && take[1], "exact at 4K chose %g", got);
	/* A table too large is refused, not allocated. */
	unsigned long long big[] = {1};
	double one[] = {1};
	CHECK(ks_exact(big, one, 1, (unsigned long long)KS_MAX_CELLS * 4, 1, take) < 0, "table of 2^27 cells accepted");
}

static void lifetimes(void)
{
	/* Three 60 MiB sites, capacity 100 MiB. The first two overlap, the
	 * third lives alone later: it shares the capacity with them. */
	const unsigned long long mib = 1 << 20;
	struct ks_item items[] = {
		{.weight = 60 * mib, .value = 5, .from = 0, .to = 2},
		{.weight = 60 * mib, .value = 3, .from = 1, .to = 3},
		{.weight = 60 * mib, .value = 1, .from = 4, .to = 5},
	};
	struct ks_result r;
	CHECK(ks_solve(items, 3, 100 * mib, &r) == 0, "ks_solve failed");
	CHECK(r.groups == 2, "%d groups", r.groups);
	CHECK(items[0].chosen && !items[1].chosen && items[2].chosen, "chose %d %d %d",
	      items[0].chosen, items[1].chosen, items[2].chosen);
	CHECK(r.value == 6, "value %g", r.value);
	CHECK(r.exact_groups == 2 && r.greedy_groups == 0, "%d exact, %d greedy", r.exact_groups, r.greedy_groups);
	/* Touching at an instant counts as overlapping; unknown lifetimes
	 * (from > to) overlap everything. */
	items[2].from = 3;
	CHECK(ks_solve(items, 3, 100 * mib, &r) == 0 && r.groups == 1 && !items[2].chosen, "touching: %d groups", r.groups);
	items[2].from = 10;
	items[2].to = 0;
	CHECK(ks_solve(items, 3, 100 * mib, &r) == 0 && r.groups == 1, "unknown lifetime: %d groups", r.groups);
	CHECK(r.unit == 4096, "exact at a unit of %llu", r.unit);
	/* 1 TiB in pages is too large a table for 3 sites (3 x 2^28 cells);
	 * in 128 KiB units (3 x 2^23) it fits: exact. */
	CHECK(ks_solve(items, 3, 1ull << 40, &r) == 0 && r.unit == 1 << 17 && r.greedy_groups == 0,
	      "1 TiB: unit %llu, %d greedy", r.unit, r.greedy_groups);
	/* Too large for any table: greedy, still within capacity. */
	struct ks_item many[64];
	for (int i = 0; i < 64; i++)
		many[i] = (struct ks_item){.weight = (unsigned long long)(i + 1) << 30, .value = i, .from = 0, .to = 1};
	unsigned long long cap = 1ull << 45;
	CHECK(ks_solve(many, 64, cap, &r) == 0 && r.greedy_groups == 1, "%d greedy groups", r.greedy_groups);
	unsigned long long used = 0;
	for (int i = 0; i < 64; i++)
		used += many[i].chosen ? many[i].weight : 0;
	CHECK(used <= cap, "greedy used %llu of %llu", used, cap);
}

int main(void)
{
	random_cases();
	greedy_bound();
	lifetimes();
	printf("knapsack: exact = brute force on 2000 random cases, greedy >= 1/2, lifetimes shared\n");
	return 0;
}
