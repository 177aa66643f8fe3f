/* The placement report: per rule what was allocated and where its pages
 * are, per node the resident pages of live large blocks now and the most
 * any sample saw. Human text or one JSON object, written with raw
 * writes (stderr may be closed or redirected by then). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <amlshim.h>
#include "budget.h"
#include "fork.h"
#include "init.h"
#include "job_report.h"
#include "large.h"
#include "log.h"
#include "report.h"
#include "shim.h"
#include "site_report.h"
#include "small.h"
#include "stats.h"

#define EXPORT __attribute__((visibility("default")))

static int last_node(const long *exit_pages)
{
	int last = 0;
	for (int n = 0; n < SHIM_MAX_NODES; n++)
		if (exit_pages[n] || shim_stats.node_pages_peak[n] || n == 0)
			last = n;
	return last;
}

static void write_text(struct shim_out *out, const long *exit_pages)
{
	char small[160];
	shim_small_describe(small, sizeof(small));
	shim_out_put(out, "amlshim report (pid %d)\n", (int)getpid());
	shim_job_write_text(out);
	if (shim_route_table.count == 0)
		shim_out_put(out, "  no placement rule: every allocation took the plain path\n");
	else
		shim_out_put(out, "  %-14s %-26s %9s %14s %14s %6s %6s %6s %9s\n", "sizes", "policy", "allocs",
		    "bytes", "peak bytes", "moves", "remaps", "reuses", "fallbacks");
	for (int i = 0; i < shim_route_table.count; i++) {
		const struct shim_route *route = &shim_route_table.rules[i];
		char min[24], max[24], range[56];
		amlshim_format_size(route->rule->min, min, sizeof(min));
		amlshim_format_size(route->rule->max, max, sizeof(max));
		snprintf(range, sizeof(range), "%s-%s", min, route->rule->max == SIZE_MAX ? "" : max);
		shim_out_put(out, "  %-14s %-26s %9lu %14lu %14lu %6lu %6lu %6lu %9lu\n", range,
		    route->rule->placement.text, shim_counted(&route->count), shim_counted(&route->bytes), shim_counted(&route->peak),
		    shim_counted(&route->moves), shim_counted(&route->remaps), shim_counted(&route->reuses), shim_counted(&route->fallbacks));
		shim_out_put(out, "  %-14s area: %s%s%s\n", "", route->area_text[0] ? route->area_text : "not resolved",
		    route->note[0] ? "; " : "", route->note);
		shim_share_write_text(out, i);
		shim_pages_write_text(out, route);
		if (route->small_class)
			shim_out_put(out, "  %-14s sizes below 64K: arenas of their own (%lu allocations)\n", "",
			    shim_counted(&route->small_allocs));
	}
	shim_out_put(out, "  %-6s %22s %22s\n", "node", "resident pages at exit", "resident pages at peak");
	for (int n = 0; n <= last_node(exit_pages); n++)
		shim_out_put(out, "  %-6d %22ld %22ld\n", n, exit_pages[n], shim_stats.node_pages_peak[n]);
	shim_site_report_text(out);
	shim_out_put(out, "  small objects: %s\n", small);
	shim_out_put(out, "  foreign frees: %lu, bootstrap allocations: %lu\n", shim_counted(&shim_stats.foreign_frees),
	    shim_counted(&shim_stats.bootstrap_allocs));
}

static void write_json(struct shim_out *out, const long *exit_pages)
{
	char small[160];
	shim_small_describe(small, sizeof(small));
	shim_out_put(out, "{\"amlshim\":\"%s\",\"pid\":%d", AMLSHIM_VERSION, (int)getpid());
	shim_job_write_json(out);
	shim_out_put(out, ",\"rules\":[");
	for (int i = 0; i < shim_route_table.count; i++) {
		const struct shim_route *route = &shim_route_table.rules[i];
		shim_out_put(out, "%s{\"min\":%zu,\"max\":", i ? "," : "", route->rule->min);
		if (route->rule->max == SIZE_MAX)
			shim_out_put(out, "null");
		else
			shim_out_put(out, "%zu", route->rule->max);
		shim_out_put(out, ",\"policy\":");
		shim_out_json_string(out, route->rule->placement.text);
		shim_out_put(out, ",\"area\":");
		shim_out_json_string(out, route->area_text);
		shim_out_put(out, ",\"note\":");
		shim_out_json_string(out, route->note);
		/* The nodes its node list resolved to (names included); null: all, or none. */
		const char *node_set = route->use_fallback ? "" : route->pools[route->per_node ? route->first_node : 0].placed.node_set;
		shim_out_put(out, ",\"node_set\":");
		if (node_set[0])
			shim_out_json_string(out, node_set);
		else
			shim_out_put(out, "null");
		shim_out_put(out, ",\"count\":%lu,\"bytes\":%lu,\"live_bytes\":%lu,\"peak_bytes\":%lu,"
		         "\"realloc_moves\":%lu,\"realloc_remaps\":%lu,\"reuses\":%lu,\"fallbacks\":%lu,"
		         "\"mmaps\":%lu,\"small_allocs\":%lu",
		    shim_counted(&route->count), shim_counted(&route->bytes), shim_counted(&route->live), shim_counted(&route->peak),
		    shim_counted(&route->moves), shim_counted(&route->remaps), shim_counted(&route->reuses), shim_counted(&route->fallbacks),
		    shim_counted(&route->mmaps), shim_counted(&route->small_allocs));
		shim_share_write_json(out, i);
		shim_pages_write_json(out, route);
		shim_out_put(out, "}");
	}
	shim_out_put(out, "],\"nodes\":[");
	for (int n = 0; n <= last_node(exit_pages); n++)
		shim_out_put(out, "%s{\"node\":%d,\"resident_pages_exit\":%ld,\"resident_pages_peak\":%ld}", n ? "," : "",
		    n, exit_pages[n], shim_stats.node_pages_peak[n]);
	shim_out_put(out, "]");
	shim_site_report_json(out);
	shim_out_put(out, ",\"small\":");
	shim_out_json_string(out, small);
	shim_out_put(out, ",\"foreign_frees\":%lu,\"bootstrap_allocations\":%lu}\n", shim_counted(&shim_stats.foreign_frees),
	    shim_counted(&shim_stats.bootstrap_allocs));
}

/* What the primary class served (small.c's tally: threads gone, this one)
 * joins its rule's counters. */
static void take_primary_counts(void)
{
	struct shim_small_tally tally = shim_small_take_tally();
	for (int r = 0; r < shim_route_table.count && shim_small_primary; r++) {
		struct shim_route *route = &shim_route_table.rules[r];
		if (route->small_class == shim_small_primary) {
			shim_count(&route->count, tally.count);
			shim_count(&route->bytes, tally.bytes);
			shim_count(&route->small_allocs, tally.count);
		}
	}
}

int shim_report_write(int fd, int json)
{
	long exit_pages[SHIM_MAX_NODES] = {0};
	take_primary_counts();
	shim_large_sample_nodes(exit_pages);
	shim_large_note_peak(exit_pages);
	struct shim_out out = {.fd = fd};
	if (json)
		write_json(&out, exit_pages);
	else
		write_text(&out, exit_pages);
	shim_out_flush(&out);
	return 0;
}

/* AMLSHIM_STATS_FILE with each %p replaced by the pid, %r by the global
 * rank (the pid when unknown), %h by the host name, %% by %; what goes
 * wrong is said on stderr_fd. */
static int open_stats_file(int stderr_fd)
{
	char path[4096];
	size_t used = 0;
	for (const char *c = shim_process.policy.stats_file; *c; c++) {
		char code[80] = "";
		if (c[0] == '%' && c[1] == 'p')
			snprintf(code, sizeof(code), "%d", (int)getpid());
		else if (c[0] == '%' && c[1] == 'r')
			shim_job_rank_text(code, sizeof(code));
		else if (c[0] == '%' && c[1] == 'h')
			shim_job_host(code, sizeof(code));
		else if (c[0] == '%' && c[1] == '%')
			snprintf(code, sizeof(code), "%%");
		else
			snprintf(code, sizeof(code), "%c", *c);
		size_t n = strlen(code);
		if (used + n >= sizeof(path)) {
			char value[AMLSHIM_QUOTE_MAX * 4 + 32];
			shim_log_fd(stderr_fd, AMLSHIM_LOG_WARN, "AMLSHIM_STATS_FILE=%s: the path is too long once %%p, %%r and "
			         "%%h are expanded; no report written",
			         amlshim_quote_value(shim_process.policy.stats_file, value, sizeof(value)));
			return -1;
		}
		memcpy(path + used, code, n);
		used += n;
		c += c[0] == '%' && c[1];
	}
	path[used] = '\0';
	int fd = aml_os_create_file(path);
	if (fd < 0) {
		/* Quoted: a path is any bytes, newlines included. */
		char value[AMLSHIM_QUOTE_MAX * 4 + 32], expanded[AMLSHIM_QUOTE_MAX * 4 + 32];
		shim_log_fd(stderr_fd, AMLSHIM_LOG_WARN, "AMLSHIM_STATS_FILE=%s: cannot write %s: %s",
		         amlshim_quote_value(shim_process.policy.stats_file, value, sizeof(value)),
		         amlshim_quote_value(path, expanded, sizeof(expanded)), strerror(errno));
	}
	return fd;
}

/* A copy of stderr taken at start-up: programs such as coreutils close
 * stderr on their way out, before the report (or the word that its file
 * cannot be written) is written. */
static int report_fd = -1;

void shim_report_prepare(void)
{
	if (shim_process.policy.stats != AMLSHIM_STATS_OFF && shim_stderr_open)
		report_fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 64);
}

void shim_report_at_exit(void)
{
	if (shim_process.policy.stats == AMLSHIM_STATS_OFF)
		return;
	/* A forked child that never allocated through a rule (a shell's
	 * subshell, say) has nothing of its own to report. */
	unsigned long activity = 0;
	for (int i = 0; i < shim_route_table.count; i++)
		activity += shim_counted(&shim_route_table.rules[i].count);
	if (shim_in_forked_child && activity == 0)
		return;
	AML_KEEP_ERRNO;
	/* Started with stderr closed: fd 2 may be a data file by now. */
	int stderr_fd = report_fd >= 0 ? report_fd : shim_stderr_open ? STDERR_FILENO : -1;
	int fd = stderr_fd;
	if (shim_process.policy.stats_file[0] && !shim_process.secure_mode)
		fd = open_stats_file(stderr_fd);
	if (fd >= 0) {
		shim_report_write(fd, shim_process.policy.stats == AMLSHIM_STATS_JSON);
		if (fd != stderr_fd)
			close(fd);
	}
	if (report_fd >= 0)
		close(report_fd);
	report_fd = -1;
}

/* The shim's own API (amlshim.h). */
EXPORT const char *amlshim_version(void)
{
	return AMLSHIM_VERSION;
}

EXPORT int amlshim_write_report(int fd, int json)
{
	if (__atomic_load_n(&shim_process.state, __ATOMIC_ACQUIRE) != SHIM_READY)
		return -1;
	return shim_report_write(fd, json);
}
