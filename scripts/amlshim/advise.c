/* amlshim advise PROFILE...: chooses the call sites to put on the fast
 * memory. Each site needs its peak live bytes there (the most one rank
 * saw) and gains its heat (writes per page per second) x peak live, summed
 * over ranks, or, with no heat in the profiles, its byte-seconds
 * (bytes alive per byte of capacity). The capacity, per rank, is packed by
 * knapsack.c: exactly within each group of sites whose lifetimes overlap,
 * greedily (at least half the best) when a group's table is too large.
 * Prints the chosen and rejected sites and writes an AMLSHIM_SITES file. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "advise.h"
#include "cli.h"
#include "knapsack.h"
#include "subcommand.h"

#define DEFAULT_OUTPUT "amlshim-sites.conf"

static const char usage_text[] =
	"Usage: amlshim advise [OPTION]... PROFILE.json...\n"
	"Choose the call sites of the profiles (amlshim profile, one per rank) to\n"
	"place on the fast memory: their peak live bytes fit its capacity per\n"
	"rank, and their heat (writes per page per second) times those bytes is\n"
	"the most that fits; with no heat measured, the bytes alive longest per\n"
	"byte of capacity.\n"
	"Writes the chosen sites as an AMLSHIM_SITES file.\n"
	"\n"
	"  --fast=NODES|hbm|bandwidth  the fast memory: node numbers, the first node\n"
	"                    without CPUs by bandwidth (hbm), or the best node by\n"
	"                    bandwidth from this CPU (bandwidth, the default)\n"
	"  --capacity=SIZE   its bytes for the job on one node (default: the nodes'\n"
	"                    size; suffixes K, M, G, T)\n"
	"  --ranks-per-node=K  ranks sharing it: each gets capacity/K (default:\n"
	"                    the most profiles from one host)\n"
	"  --output=FILE     the AMLSHIM_SITES file (default " DEFAULT_OUTPUT ")\n"
	"  --help            print this help and exit\n"
	"\n"
	"Exit status: 0; 2 for a usage error or a profile that cannot be read.\n";

struct advise_opts {
	const char *fast, *output;
	unsigned long long capacity;
	long ranks;
};

static int usage(const char *fmt, const char *arg)
{
	return sub_usage("advise", fmt, arg);
}

/* Options anywhere, profiles into files[]; `--` ends the options.
 * 0, or -1 after a usage error, -2 for --help. */
static int parse(int argc, char **argv, struct advise_opts *o, const char **files, int *nfiles)
{
	o->fast = "bandwidth";
	o->output = DEFAULT_OUTPUT;
	*nfiles = 0;
	for (int i = 1, options = 1; i < argc; i++) {
		const char *a = argv[i], *v;
		int bad = 0;
		if (options && strcmp(a, "--") == 0) {
			options = 0;
			continue;
		}
		if (!options || a[0] != '-' || a[1] == '\0') {
			files[(*nfiles)++] = a;
			continue;
		}
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
			return -2;
		if ((v = sub_option(argc, argv, &i, "--fast", &bad)))
			o->fast = v;
		else if ((v = sub_option(argc, argv, &i, "--output", &bad)))
			o->output = v;
		else if ((v = sub_option(argc, argv, &i, "--capacity", &bad))) {
			if (sub_size("advise", "--capacity", v, 1, &o->capacity) != 0)
				return -1;
		} else if ((v = sub_option(argc, argv, &i, "--ranks-per-node", &bad))) {
			if (sub_whole_number(v, 1, 65536, &o->ranks) != 0)
				return usage("--ranks-per-node=%s: not a whole number from 1 to 65536", v), -1;
		} else
			return sub_bad_option("advise", a, bad), -1;
	}
	return 0;
}

/* The most profiles (processes) from one host: ranks sharing a node. */
static long ranks_per_host(const struct profile *p, int n)
{
	long most = 1;
	for (int i = 0; i < n; i++) {
		long same = 0;
		for (int j = 0; j < n; j++)
			same += (p[i].host && p[j].host && strcmp(p[i].host, p[j].host) == 0) || i == j;
		most = same > most ? same : most;
	}
	return most;
}

static int by_value(const void *a, const void *b)
{
	const struct merged_site *x = *(const struct merged_site *const *)a, *y = *(const struct merged_site *const *)b;
	if (x->value != y->value)
		return x->value > y->value ? -1 : 1;
	return x->peak_live > y->peak_live ? -1 : x->peak_live < y->peak_live;
}

static void print_sites(struct merged_site **order, int count, int chosen, unsigned long long capacity, int by_heat)
{
	char label[300], b1[32], b2[32];
	int any = 0;
	for (int i = 0; i < count; i++) {
		const struct merged_site *m = order[i];
		if (m->chosen != chosen)
			continue;
		if (!any++)
			printf("%s:\n  %-44s %10s %10s %10s%s\n", chosen ? "chosen" : "rejected", "site", "peak live",
			       "bytes", by_heat ? "heat" : "byte-s", chosen ? "" : "  why");
		char gain[32];
		if (by_heat && m->has_heat)
			snprintf(gain, sizeof(gain), "%.3g", m->heat_bytes / (m->heat_weight > 0 ? m->heat_weight : 1));
		else if (by_heat)
			snprintf(gain, sizeof(gain), "-");
		else
			snprintf(gain, sizeof(gain), "%.3g", m->byte_seconds);
		printf("  %-44.44s %10s %10s %10s", profile_site_label(m->named, label, sizeof(label)),
		       profile_bytes(m->peak_live, b1, sizeof(b1)), profile_bytes(m->bytes, b2, sizeof(b2)), gain);
		if (!chosen)
			printf("  %s", m->peak_live > capacity ? "larger than the capacity"
			               : m->value <= 0 ? (by_heat ? "no heat measured" : "never alive")
			               : "no room left beside the chosen ones");
		printf("\n");
	}
	if (!any)
		printf("%s: none\n", chosen ? "chosen" : "rejected");
}

/* The capacity per rank, said on stdout. 0 after saying why it is not
 * known. */
static unsigned long long capacity_per_rank(const struct advise_opts *o, const struct fast_nodes *fast,
                                            const struct profile *p, int n)
{
	char b1[32], b2[32];
	unsigned long long capacity = o->capacity;
	if (!capacity && !fast->size_known) {
		fprintf(stderr, "amlshim advise: the size of node%s %s is not known here; give --capacity=SIZE\n",
		        fast->count > 1 ? "s" : "", fast->text);
		return 0;
	}
	if (!capacity)
		capacity = fast->bytes;
	long k = o->ranks ? o->ranks : ranks_per_host(p, n);
	printf("fast memory: node%s %s (%s); capacity %s (%s)", fast->count > 1 ? "s" : "", fast->text, fast->how,
	       profile_bytes(capacity, b1, sizeof(b1)), o->capacity ? "--capacity" : "the nodes' size");
	capacity /= (unsigned long long)k;
	printf(", %ld rank%s per node (%s): %s per rank\n", k, k > 1 ? "s" : "",
	       o->ranks ? "--ranks-per-node" : "the most profiles from one host", profile_bytes(capacity, b2, sizeof(b2)));
	if (!capacity)
		fprintf(stderr, "amlshim advise: less than a byte per rank\n");
	return capacity;
}

/* Chooses among sites[0..count); 0, or -1 out of memory. */
static int choose(struct merged_site *sites, int count, unsigned long long capacity, int by_heat)
{
	struct ks_item *items = calloc((size_t)count + 1, sizeof(*items));
	struct ks_result r;
	if (!items)
		return -1;
	for (int i = 0; i < count; i++) {
		struct merged_site *m = &sites[i];
		m->value = by_heat ? m->heat_bytes : m->byte_seconds;
		items[i] = (struct ks_item){m->peak_live ? m->peak_live : m->largest, m->value, m->alive_from_s, m->alive_to_s, 0, 0};
	}
	if (ks_solve(items, (size_t)count, capacity, &r) != 0) {
		free(items);
		return -1;
	}
	for (int i = 0; i < count; i++) {
		sites[i].chosen = items[i].chosen;
		sites[i].group = items[i].group;
	}
	free(items);
	printf("packing: %d group%s of sites alive together (groups never alive at once share the capacity); ",
	       r.groups, r.groups == 1 ? "" : "s");
	if (r.exact_groups)
		printf("exact 0/1 knapsack in %llu KiB units for %d", r.unit / 1024, r.exact_groups);
	if (r.greedy_groups)
		printf("%sgreedy by gain per byte or the best single site, at least half the best, for %d",
		       r.exact_groups ? "; " : "", r.greedy_groups);
	printf("\n");
	return 0;
}

int cli_advise_main(int argc, char **argv)
{
	struct advise_opts o = {0};
	const char **files = calloc((size_t)argc + 1, sizeof(*files));
	int nfiles = 0, status = 2;
	struct profile *profiles = calloc((size_t)argc + 1, sizeof(*profiles));
	if (!files || !profiles) {
		perror("amlshim advise");
		return 1;
	}
	int parsed = parse(argc, argv, &o, files, &nfiles), loaded = 0, count = 0;
	struct merged_site *sites = NULL, **order = NULL;
	struct fast_nodes fast;
	char why[300];
	if (parsed == -2) {
		fputs(usage_text, stdout);
		status = fflush(stdout) == 0 ? 0 : 1;
		goto out;
	}
	if (parsed != 0)
		goto out;
	if (nfiles == 0) {
		usage("%s", "no profile given");
		goto out;
	}
	for (; loaded < nfiles; loaded++)
		if (profile_load(files[loaded], &profiles[loaded], why, sizeof(why)) != 0) {
			fprintf(stderr, "amlshim advise: %s: %s\n", files[loaded], why);
			goto out;
		}
	if (!(sites = advise_merge(profiles, loaded, &count)) || !(order = calloc((size_t)count + 1, sizeof(*order)))) {
		perror("amlshim advise");
		goto out;
	}
	if (count == 0) {
		fprintf(stderr, "amlshim advise: no sites in the profile%s (nothing at or above the minimum size?)\n",
		        nfiles > 1 ? "s" : "");
		goto out;
	}
	if (advise_resolve_fast(o.fast, &fast, why, sizeof(why)) != 0) {
		fprintf(stderr, "amlshim advise: %s\n", why);
		goto out;
	}
	printf("amlshim advise: %d site%s from %d profile%s\n", count, count == 1 ? "" : "s", nfiles, nfiles == 1 ? "" : "s");
	unsigned long long capacity = capacity_per_rank(&o, &fast, profiles, loaded);
	if (!capacity)
		goto out;
	int by_heat = 0;
	for (int i = 0; i < count; i++)
		by_heat |= sites[i].has_heat;
	if (!by_heat)
		printf("no heat in the profiles (heat_method null: no write counts could be taken): packing by "
		       "bytes alive per byte of capacity (byte_seconds / peak_live)\n");
	if (choose(sites, count, capacity, by_heat) != 0) {
		perror("amlshim advise");
		goto out;
	}
	/* The most chosen bytes alive at once: the fullest group. */
	unsigned long long used = 0;
	for (int i = 0; i < count; i++) {
		unsigned long long group = 0;
		for (int j = 0; j < count; j++)
			group += sites[j].chosen && sites[j].group == sites[i].group ? sites[j].peak_live : 0;
		used = group > used ? group : used;
		order[i] = &sites[i];
	}
	qsort(order, (size_t)count, sizeof(*order), by_value);
	print_sites(order, count, 1, capacity, by_heat);
	print_sites(order, count, 0, capacity, by_heat);
	if (advise_write_sites(o.output, sites, count, &fast, capacity, by_heat) != 0)
		goto out;
	char b[32];
	printf("wrote %s (%s of the chosen sites' peak live bytes at most at once)\n"
	       "run with: AMLSHIM_SITES=%s%s amlshim -- COMMAND\n", o.output, profile_bytes(used, b, sizeof(b)),
	       advise_file_prefix(o.output), o.output);
	status = 0;
out:
	for (int i = 0; i < loaded; i++)
		profile_free(&profiles[i]);
	free(profiles);
	free(files);
	free(sites);
	free(order);
	return status;
}
