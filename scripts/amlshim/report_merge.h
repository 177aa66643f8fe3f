/* amlshim report: the reports of a job, read (report_merge.c), printed as
 * tables (report_table.c) and drawn as a heat map (report_svg.c). */
#ifndef AMLSHIM_REPORT_MERGE_H
#define AMLSHIM_REPORT_MERGE_H

#include <stdio.h>

#include "report_json.h"

#define MERGE_MAX_NODES 1024

/* One process's report; strings point into tree. */
struct rank_report {
	const char *file;
	struct json *tree;
	long long pid;
	long long rank, local_rank, local_size; /* -1: unknown */
	const char *rank_from, *local_size_from, *host, *cpus;
	const struct json *rules;
	char has_node[MERGE_MAX_NODES];
	long long peak[MERGE_MAX_NODES], exit_pages[MERGE_MAX_NODES];
	long long total_peak, total_exit;
};

/* reports sorted by host, then rank. */
void merge_print_tables(FILE *out, struct rank_report *const *reports, int count);
/* The host's +share budgets per rank (report_share.c), when any. */
void merge_print_shares(FILE *out, struct rank_report *const *reports, int count);
/* 0, or -1 after saying why on stderr. */
int merge_write_svg(const char *path, struct rank_report *const *reports, int count);
/* "rank 3" or "pid 1234" (no rank known). */
void merge_rank_label(const struct rank_report *r, char *buf, size_t len);

#endif
