/* amlshim advise: the fast memory (advise_fast.c), the profiles' sites
 * merged across ranks and the AMLSHIM_SITES file (advise_sites.c), the
 * choice and the tables (advise.c). */
#ifndef AMLSHIM_ADVISE_H
#define AMLSHIM_ADVISE_H

#include <stdio.h>

#include "policy.h"
#include "profile.h"

struct fast_nodes {
	unsigned long nodes[AMLSHIM_NODE_WORDS];
	char text[256];           /* "2" or "2,3" */
	char how[400];            /* how they were found, for the output */
	unsigned long long bytes; /* their memory, when size_known */
	int size_known, count, first;
};

/* --fast=NODES|hbm|bandwidth. 0, or -1 with a reason. */
int advise_resolve_fast(const char *spec, struct fast_nodes *fast, char *why, size_t why_len);

/* One site of every profile, merged by its text. */
struct merged_site {
	const struct prof_site *named;  /* the copy with the most named frames */
	unsigned long long count, bytes; /* summed over the profiles */
	unsigned long long largest, peak_live; /* the largest one profile saw */
	double byte_seconds;             /* summed */
	double alive_from_s, alive_to_s; /* the union (from > to: unknown) */
	double heat_bytes, heat_weight;  /* sums of heat x peak live, of peak live */
	int has_heat, profiles;
	double value;                    /* what advise maximizes */
	int chosen, group;               /* group: of overlapping lifetimes */
};

/* The sites of profiles[0..n) merged; *count of them, NULL when out of
 * memory. */
struct merged_site *advise_merge(const struct profile *profiles, int n, int *count);
/* Writes the chosen sites as AMLSHIM_SITES rules to path. 0, or -1 after
 * saying why on stderr. */
int advise_write_sites(const char *path, const struct merged_site *sites, int count,
                       const struct fast_nodes *fast, unsigned long long capacity, int by_heat);
/* "./" when AMLSHIM_SITES=path would read path as rules, not as a file
 * (a file is named by a value starting with '/' or '.'), else "". */
const char *advise_file_prefix(const char *path);
/* The rule's policy for the fast nodes: "preferred:2" or "bind:2,3". */
void advise_policy(const struct fast_nodes *fast, char *buf, size_t len);

#endif
