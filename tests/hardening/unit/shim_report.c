/* The shim's report and log writers as a pure unit (shim/report.c and
 * shim/log.c compiled in, the routes filled in by hand): what they write
 * is read by people and by JSON parsers, at exit, possibly with stderr
 * closed, so it must be valid, bounded and never crash.
 *
 * Checked:
 *  - the JSON report with 16 rules whose area text and note hold quotes,
 *    backslashes and every control byte, at their full length, and with
 *    huge counters, parses as JSON (a strict validator below) and is one
 *    line; the text report has one line per rule and node;
 *  - shim_log cuts a long message at its line buffer, ends it with one
 *    newline, writes it in one write(2), keeps errno, honours the level;
 *    shim_log_line keeps a message of AMLSHIM_MESSAGE_MAX - 1 bytes whole;
 *  - with fd 2 closed nothing crashes and errno is kept;
 *  - AMLSHIM_STATS_FILE with %p and %% expands to exactly the name asked
 *    for, or the report is refused with a message: never written to a
 *    shortened name. */
#include "../../../shim/log.c"
#include "../../../shim/out.c"
#include "../../../shim/report.c"
#include "../../../shim/page_report.c"
#include "../../../shim/job_report.c"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "capture.h"
#include "check.h"

/* What the rest of the shim defines. */
struct shim_process shim_process;
int shim_in_forked_child;
struct shim_stats shim_stats;
struct shim_route_table shim_route_table;
void shim_site_report_text(struct shim_out *out)
{
	(void)out;
}
void shim_site_report_json(struct shim_out *out)
{
	(void)out;
}

void shim_large_sample_nodes(long *pages_per_node)
{
	pages_per_node[0] = 123;
	pages_per_node[3] = 4;
}

void shim_large_note_peak(const long *pages_per_node)
{
	for (int n = 0; n < SHIM_MAX_NODES; n++)
		if (pages_per_node[n] > shim_stats.node_pages_peak[n])
			shim_stats.node_pages_peak[n] = pages_per_node[n];
}

int shim_small_primary;

/* No sharing rule here (budget.c). */
void shim_share_write_text(struct shim_out *out, int rule)
{
	(void)out;
	(void)rule;
}

void shim_share_write_json(struct shim_out *out, int rule)
{
	(void)out;
	(void)rule;
}

struct shim_small_tally shim_small_take_tally(void)
{
	return (struct shim_small_tally){0, 0};
}

void shim_small_describe(char *buf, size_t len)
{
	snprintf(buf, len, "default (jemalloc arenas, 4 MiB mapped of a 1024 GiB range)");
}

/* ---- A strict JSON validator (RFC 8259, ASCII) ---------------------------- */

struct json {
	const char *at, *end;
	int depth;
};

static void skip_ws(struct json *j)
{
	while (j->at < j->end && (*j->at == ' ' || *j->at == '\t' || *j->at == '\n' || *j->at == '\r'))
		j->at++;
}

static int json_value(struct json *j);

static int json_string(struct json *j)
{
	if (j->at >= j->end || *j->at != '"')
		return 0;
	j->at++;
	while (j->at < j->end && *j->at != '"') {
		unsigned char c = (unsigned char)*j->at;
		if (c < 0x20)
			return 0; /* raw control byte */
		if (c == '\\') {
			j->at++;
			if (j->at >= j->end)
				return 0;
			char e = *j->at;
			if (e == 'u') {
				for (int k = 1; k <= 4; k++)
					if (j->at + k >= j->end || !strchr("0123456789abcdefABCDEF", j->at[k]) || !j->at[k])
						return 0;
				j->at += 4;
			} else if (!strchr("\"\\/bfnrt", e) || !e) {
				return 0;
			}
		}
		j->at++;
	}
	if (j->at >= j->end)
		return 0;
	j->at++;
	return 1;
}

static int json_number(struct json *j)
{
	const char *start = j->at;
	if (j->at < j->end && *j->at == '-')
		j->at++;
	if (j->at >= j->end || *j->at < '0' || *j->at > '9')
		return 0;
	if (*j->at == '0' && j->at + 1 < j->end && j->at[1] >= '0' && j->at[1] <= '9')
		return 0; /* leading zero */
	while (j->at < j->end && *j->at >= '0' && *j->at <= '9')
		j->at++;
	return j->at > start;
}

static int json_container(struct json *j, char open, char close)
{
	if (++j->depth > 16)
		return 0;
	j->at++; /* open */
	(void)open;
	skip_ws(j);
	if (j->at < j->end && *j->at == close) {
		j->at++;
		j->depth--;
		return 1;
	}
	for (;;) {
		skip_ws(j);
		if (close == '}') {
			if (!json_string(j))
				return 0;
			skip_ws(j);
			if (j->at >= j->end || *j->at != ':')
				return 0;
			j->at++;
			skip_ws(j);
		}
		if (!json_value(j))
			return 0;
		skip_ws(j);
		if (j->at < j->end && *j->at == ',') {
			j->at++;
			continue;
		}
		if (j->at < j->end && *j->at == close) {
			j->at++;
			j->depth--;
			return 1;
		}
		return 0;
	}
}

static int json_value(struct json *j)
{
	skip_ws(j);
	if (j->at >= j->end)
		return 0;
	switch (*j->at) {
	case '{': return json_container(j, '{', '}');
	case '[': return json_container(j, '[', ']');
	case '"': return json_string(j);
	case 't': if (j->end - j->at >= 4 && !strncmp(j->at, "true", 4)) { j->at += 4; return 1; } return 0;
	case 'f': if (j->end - j->at >= 5 && !strncmp(j->at, "false", 5)) { j->at += 5; return 1; } return 0;
	case 'n': if (j->end - j->at >= 4 && !strncmp(j->at, "null", 4)) { j->at += 4; return 1; } return 0;
	default: return json_number(j);
	}
}

static int json_valid(const char *text, size_t len, size_t *error_at)
{
	struct json j = {text, text + len, 0};
	int ok = json_value(&j);
	skip_ws(&j);
	*error_at = (size_t)(j.at - text);
	return ok && j.at == j.end;
}

/* ---- Helpers ---------------------------------------------------------------- */

static char report_buf[1 << 20];

static void hostile_text(char *buf, size_t len, int seed)
{
	/* Every byte 1..127, quotes and backslashes first, to the last byte. */
	static const char first[] = "\"\\\"\\\n\r\t\b\f";
	size_t i = 0;
	for (; i < sizeof(first) - 1 && i < len - 1; i++)
		buf[i] = first[i];
	for (; i < len - 1; i++)
		buf[i] = (char)(1 + (i * 7 + (size_t)seed) % 127);
	buf[len - 1] = '\0';
}

static void fill_routes(void)
{
	memset(&shim_process.policy, 0, sizeof(shim_process.policy));
	shim_process.policy.num_rules = AMLSHIM_MAX_RULES;
	for (int i = 0; i < AMLSHIM_MAX_RULES; i++) {
		struct amlshim_rule *rule = &shim_process.policy.rules[i];
		rule->min = i == 0 ? 0 : (size_t)1 << (20 + i);
		rule->max = i == AMLSHIM_MAX_RULES - 1 ? SIZE_MAX : (size_t)1 << (21 + i);
		snprintf(rule->placement.text, sizeof(rule->placement.text), "interleave:0-3,5,7-1023");
		struct shim_route *route = &shim_route_table.rules[i];
		memset(route, 0, sizeof(*route));
		route->rule = rule;
		hostile_text(route->area_text, sizeof(route->area_text), i);
		hostile_text(route->note, sizeof(route->note), i * 3);
		route->count = route->bytes = route->peak = ULONG_MAX;
		route->live = ULONG_MAX - 1;
		route->moves = route->remaps = route->reuses = route->fallbacks = route->mmaps = ULONG_MAX / 3;
		route->small_class = i % 2;
	}
	shim_route_table.count = AMLSHIM_MAX_RULES;
	shim_stats.foreign_frees = ULONG_MAX;
	shim_stats.bootstrap_allocs = 7;
	for (int n = 0; n < SHIM_MAX_NODES; n++)
		shim_stats.node_pages_peak[n] = n == SHIM_MAX_NODES - 1 ? 9 : 0;
}

static void write_json_report(int fd)
{
	CHECK(shim_report_write(fd, 1) == 0, "json report");
}

static void write_text_report(int fd)
{
	CHECK(shim_report_write(fd, 0) == 0, "text report");
}

/* ---- Tests -------------------------------------------------------------------- */

static void test_json(void)
{
	fill_routes();
	size_t len = test_capture(-1, write_json_report, report_buf, sizeof(report_buf));
	size_t at;
	CHECK(len > 1000, "json report of %zu bytes", len);
	CHECK(report_buf[len - 1] == '\n' && memchr(report_buf, '\n', len - 1) == NULL,
	      "the json report is not one line");
	CHECK(json_valid(report_buf, len, &at), "invalid JSON at byte %zu of %zu: ...%.60s", at, len,
	      report_buf + (at > 30 ? at - 30 : 0));
	CHECK(strstr(report_buf, "\"node\":63") != NULL, "the last node is missing");
	/* No rules: still valid. */
	shim_route_table.count = 0;
	len = test_capture(-1, write_json_report, report_buf, sizeof(report_buf));
	CHECK(json_valid(report_buf, len, &at), "invalid JSON without rules at byte %zu: %s", at, report_buf);
}

static void test_text(void)
{
	fill_routes();
	size_t len = test_capture(-1, write_text_report, report_buf, sizeof(report_buf));
	CHECK(len > 1000 && report_buf[len - 1] == '\n', "text report");
	/* The header, 16 rules (plus an area line each, plus a small-class line
	 * for half of them), the node header, 64 nodes, two closing lines. The
	 * hostile texts hold newlines of their own: count the known lines. */
	int rules = 0;
	for (const char *p = report_buf; (p = strstr(p, "interleave:0-3,5,7-1023")); p++)
		rules++;
	CHECK(rules == AMLSHIM_MAX_RULES, "%d rule lines in the text report", rules);
	CHECK(strstr(report_buf, "foreign frees: 18446744073709551615, bootstrap allocations: 7") != NULL,
	      "closing line: %s", report_buf + len - 200);
}

static void log_long(int fd)
{
	(void)fd;
	char message[3000];
	memset(message, 'x', sizeof(message) - 1);
	message[sizeof(message) - 1] = '\0';
	errno = 4321;
	shim_log(AMLSHIM_LOG_WARN, "%s", message);
	CHECK(errno == 4321, "shim_log changed errno");
	shim_log(AMLSHIM_LOG_DEBUG, "not shown at level warn");
}

static void log_line_max(int fd)
{
	(void)fd;
	static char message[AMLSHIM_MESSAGE_MAX];
	memset(message, 'y', sizeof(message) - 1);
	memcpy(message, "amlshim: ", 9);
	message[sizeof(message) - 1] = '\0';
	errno = 77;
	shim_log_line(message, NULL);
	CHECK(errno == 77, "shim_log_line changed errno");
}

static void test_log(void)
{
	shim_process.policy.log_level = AMLSHIM_LOG_WARN;
	size_t len = test_capture(2, log_long, report_buf, sizeof(report_buf));
	CHECK(len <= 512 && len > 400, "a long message gave %zu bytes", len);
	CHECK(strncmp(report_buf, "amlshim: xxx", 12) == 0, "prefix: %.20s", report_buf);
	CHECK(report_buf[len - 1] == '\n' && memchr(report_buf, '\n', len - 1) == NULL, "one line");
	len = test_capture(2, log_line_max, report_buf, sizeof(report_buf));
	CHECK(len == AMLSHIM_MESSAGE_MAX, "a message of %d bytes gave %zu", AMLSHIM_MESSAGE_MAX - 1, len);
	CHECK(report_buf[len - 1] == '\n', "newline");
	/* fd 2 closed: nothing to see, nothing to crash. */
	int saved = dup(2);
	close(2);
	errno = 99;
	shim_log(AMLSHIM_LOG_ERROR, "to a closed stderr");
	shim_log_line("amlshim: to a closed stderr", NULL);
	int kept = errno;
	dup2(saved, 2);
	close(saved);
	CHECK(kept == 99, "errno %d after logging to a closed stderr", kept);
}

/* AMLSHIM_STATS_FILE: the name written must be the name asked for. */
static void test_stats_file(void)
{
	char dir[] = "/tmp/amlshim-report.XXXXXX";
	CHECK(mkdtemp(dir) != NULL, "mkdtemp");
	char pid[16];
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	static const int repeats[] = {1, 10, 40, 100};
	for (size_t r = 0; r < sizeof(repeats) / sizeof(repeats[0]); r++) {
		/* dir/r.%p%p...%p%%.json: at most 255 bytes, as the parser allows. */
		char value[AMLSHIM_PATH_MAX], expected[4096];
		int used = snprintf(value, sizeof(value), "%s/%zu.", dir, r);
		int exp = snprintf(expected, sizeof(expected), "%s/%zu.", dir, r);
		for (int k = 0; k < repeats[r] && used + 8 < AMLSHIM_PATH_MAX; k++) {
			used += snprintf(value + used, sizeof(value) - (size_t)used, "%%p");
			exp += snprintf(expected + exp, sizeof(expected) - (size_t)exp, "%s", pid);
		}
		used += snprintf(value + used, sizeof(value) - (size_t)used, "%%%%.j");
		exp += snprintf(expected + exp, sizeof(expected) - (size_t)exp, "%%.j");
		CHECK(used < AMLSHIM_PATH_MAX, "test value too long");
		memcpy(shim_process.policy.stats_file, value, (size_t)used + 1);
		shim_process.policy.stats = AMLSHIM_STATS_JSON;
		shim_process.policy.log_level = AMLSHIM_LOG_WARN;
		int fd = open_stats_file(STDERR_FILENO);
		if (fd >= 0) {
			close(fd);
			struct stat st;
			CHECK(strlen(expected) < 4096 && stat(expected, &st) == 0,
			      "AMLSHIM_STATS_FILE='%s' (%d bytes, %d x %%p) did not write '%s' (%zu bytes): the "
			      "expanded name was cut", value, used, repeats[r], expected, strlen(expected));
			unlink(expected);
		}
	}
	/* Whatever got written, remove it. */
	char command[128];
	snprintf(command, sizeof(command), "rm -rf '%s'", dir);
	CHECK(system(command) == 0, "cleanup");
}

int main(void)
{
	test_json();
	test_text();
	test_log();
	test_stats_file();
	printf("shim report and log: JSON with hostile texts, text report, long and closed-stderr logging, "
	       "stats file names: ok\n");
	return 0;
}
