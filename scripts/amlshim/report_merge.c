/* amlshim report FILE...: the JSON reports of a job's processes (one per
 * rank, AMLSHIM_STATS=json with %r or %p in AMLSHIM_STATS_FILE) merged
 * into a table per host of ranks x nodes (resident pages at peak and at
 * exit), the imbalance between ranks and where each rule placed memory;
 * --svg=FILE also draws the ranks x nodes heat map. A file that cannot be
 * read or is not such a report is named on stderr and skipped. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "report_json.h"
#include "report_merge.h"

#define MAX_FILE_BYTES ((size_t)64 << 20)

static const char usage_text[] =
	"Usage: amlshim report [--svg=FILE] REPORT.json...\n"
	"Merge the JSON placement reports of a job's processes (written with\n"
	"AMLSHIM_STATS=json and AMLSHIM_STATS_FILE=DIR/report.%r.json, say) into\n"
	"a table per host of ranks x NUMA nodes: resident pages at peak / at exit,\n"
	"the imbalance between ranks (max/mean of each rank's resident pages) and\n"
	"what each rule resolved to.\n"
	"\n"
	"  --svg=FILE   also write a heat map of ranks x nodes (resident pages at\n"
	"               peak; hover a cell for its values) as a self-contained SVG\n"
	"  --help       print this help and exit\n"
	"\n"
	"A file that cannot be read or is not a JSON report is named on stderr and\n"
	"skipped. Exit status: 0 when every file was merged; 1 when some were\n"
	"skipped (the others are still merged); 2 for a usage error or when no\n"
	"file could be merged.\n";

static void warn_skip(const char *file, const char *why)
{
	fprintf(stderr, "amlshim report: %s: %s; skipped\n", file, why);
}

/* The whole file, NUL-terminated, or NULL with a reason. */
static char *read_file(const char *path, size_t *len, char *why, size_t why_len)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(why, why_len, "cannot open: %m");
		return NULL;
	}
	size_t cap = 4096, used = 0;
	char *buf = malloc(cap + 1);
	while (buf) {
		if (used == cap) {
			char *grown = cap >= MAX_FILE_BYTES ? NULL : realloc(buf, 2 * cap + 1);
			if (!grown) {
				snprintf(why, why_len, cap >= MAX_FILE_BYTES ? "larger than 64 MiB" : "out of memory");
				free(buf);
				buf = NULL;
				break;
			}
			buf = grown;
			cap *= 2;
		}
		size_t n = fread(buf + used, 1, cap - used, f);
		used += n;
		if (n == 0) {
			if (ferror(f)) {
				snprintf(why, why_len, "cannot read: %m");
				free(buf);
				buf = NULL;
			}
			break;
		}
	}
	fclose(f);
	if (buf) {
		buf[used] = '\0';
		*len = used;
	}
	return buf;
}

static const char *get_string(const struct json *object, const char *key)
{
	const struct json *v = json_get(object, key);
	return v && v->type == JSON_STRING ? v->string : NULL;
}

/* -1 when null or absent (reports older than the job fields), -2 when bad. */
static long long get_optional_count(const struct json *object, const char *key)
{
	const struct json *v = json_get(object, key);
	long long n;
	if (!v || v->type == JSON_NULL)
		return -1;
	return json_get_long(object, key, 0, 2147483647, &n) == 0 ? n : -2;
}

/* The report's fields into *r; NULL, or what is wrong with it. */
static const char *take_report(struct rank_report *r)
{
	const struct json *top = r->tree;
	const struct json *nodes = json_get(top, "nodes");
	if (top->type != JSON_OBJECT || !get_string(top, "amlshim"))
		return "not an amlshim report (no \"amlshim\" version)";
	if (json_get_long(top, "pid", 1, 0x7fffffff, &r->pid) != 0)
		return "no valid \"pid\"";
	if (!nodes || nodes->type != JSON_ARRAY)
		return "no \"nodes\" list";
	const struct json *rules = json_get(top, "rules");
	if (!rules || rules->type != JSON_ARRAY)
		return "no \"rules\" list";
	r->rules = rules;
	r->rank = get_optional_count(top, "rank");
	r->local_rank = get_optional_count(top, "local_rank");
	r->local_size = get_optional_count(top, "local_size");
	if (r->rank == -2 || r->local_rank == -2 || r->local_size == -2)
		return "a bad \"rank\", \"local_rank\" or \"local_size\"";
	r->rank_from = get_string(top, "rank_from");
	r->local_size_from = get_string(top, "local_size_from");
	r->host = get_string(top, "host");
	if (!r->host)
		r->host = "unknown";
	r->cpus = get_string(top, "cpus");
	for (size_t i = 0; i < nodes->count; i++) {
		const struct json *n = &nodes->children[i];
		long long node, peak, exit_pages;
		if (json_get_long(n, "node", 0, MERGE_MAX_NODES - 1, &node) != 0 ||
		    json_get_long(n, "resident_pages_peak", 0, 1LL << 50, &peak) != 0 ||
		    json_get_long(n, "resident_pages_exit", 0, 1LL << 50, &exit_pages) != 0)
			return "a bad entry in \"nodes\"";
		if (r->has_node[node])
			return "a node listed twice in \"nodes\"";
		r->has_node[node] = 1;
		r->peak[node] = peak;
		r->exit_pages[node] = exit_pages;
		r->total_peak += peak;
		r->total_exit += exit_pages;
	}
	return NULL;
}

/* By host, then rank (unknown ranks last, by pid). */
static int by_host_rank(const void *a, const void *b)
{
	const struct rank_report *x = *(struct rank_report *const *)a, *y = *(struct rank_report *const *)b;
	int c = strcmp(x->host, y->host);
	if (c)
		return c;
	if ((x->rank < 0) != (y->rank < 0))
		return x->rank < 0 ? 1 : -1;
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

int cli_report_main(int argc, char **argv)
{
	const char *svg = NULL;
	int first_file = argc, i;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(usage_text, stdout);
			return fflush(stdout) == 0 ? 0 : 1;
		}
		if (strncmp(argv[i], "--svg=", 6) == 0 && argv[i][6]) {
			svg = argv[i] + 6;
			continue;
		}
		if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "amlshim report: unknown option '%s'\nTry 'amlshim report --help' for more "
			                "information.\n", argv[i]);
			return 2;
		}
		break;
	}
	first_file = i;
	if (first_file >= argc) {
		fprintf(stderr, "amlshim report: no report file given\nTry 'amlshim report --help' for more "
		                "information.\n");
		return 2;
	}
	int num_files = argc - first_file, count = 0, skipped = 0;
	struct rank_report **reports = calloc((size_t)num_files, sizeof(*reports));
	if (!reports) {
		perror("amlshim report");
		return 2;
	}
	for (i = first_file; i < argc; i++) {
		char why[512];
		size_t len = 0;
		char *text = read_file(argv[i], &len, why, sizeof(why));
		struct rank_report *r = text ? calloc(1, sizeof(*r)) : NULL;
		const char *bad = NULL;
		if (r) {
			r->file = argv[i];
			r->tree = json_parse(text, len, why, sizeof(why));
			if (!r->tree) {
				char parse_why[sizeof(why) + 32];
				snprintf(parse_why, sizeof(parse_why), "not valid JSON (%s)", why);
				memcpy(why, parse_why, sizeof(why) - 1);
				why[sizeof(why) - 1] = '\0';
			} else {
				bad = take_report(r);
			}
		} else if (text) {
			snprintf(why, sizeof(why), "out of memory");
		}
		free(text);
		if (!r || !r->tree || bad) {
			warn_skip(argv[i], bad ? bad : why);
			if (r)
				json_free(r->tree);
			free(r);
			skipped++;
			continue;
		}
		reports[count++] = r;
	}
	int status = skipped ? 1 : 0;
	if (count == 0) {
		fprintf(stderr, "amlshim report: no report could be read\n");
		status = 2;
	} else {
		qsort(reports, (size_t)count, sizeof(*reports), by_host_rank);
		/* The same rank twice: a forked child's report, or a file given twice. */
		for (i = 1; i < count; i++)
			if (reports[i]->rank >= 0 && reports[i]->rank == reports[i - 1]->rank)
				fprintf(stderr, "amlshim report: rank %lld is in both %s and %s (both are shown)\n",
				        reports[i]->rank, reports[i - 1]->file, reports[i]->file);
		merge_print_tables(stdout, reports, count);
		if (svg && merge_write_svg(svg, reports, count) != 0)
			status = 2;
		if (fflush(stdout) != 0)
			status = 2;
	}
	for (i = 0; i < count; i++) {
		json_free(reports[i]->tree);
		free(reports[i]);
	}
	free(reports);
	return status;
}
