/* The AMLSHIM_* environment into the policy table. Each variable is read
 * once; each bad one is reported as one line through the sink and then
 * falls back as policy.h says. Runs inside the shim's lazy init, possibly
 * inside a malloc call: stack buffers only, no stdio, no static state. */
#include <stdint.h>
#include <string.h>

#include "internal.h"

#define NODES_LEGEND "NODES: node numbers 0-1023 like 0-3,6, node sets local, socket, dram, hbm, cxl, gpu, KIND@socket like local,3, or all"
#define PLACEMENT_FORMS                                                                      \
	"default, local, bind:NODES, preferred:NODE, interleave[:NODES], "                   \
	"block-interleave:SIZE[:NODES], weighted-interleave[:auto][:NODES], "                \
	"weighted-interleave:NODE*WEIGHT,... like 0*3,2*1, bandwidth, latency, capacity, "   \
	"cuda-mapped[:DEV], cuda-managed[:DEV] (" NODES_LEGEND "; SIZE: bytes like 2M, a "    \
	"multiple of 4K; WEIGHT: 1-255; DEV: 0-1023)"

_Static_assert(AMLSHIM_MAX_NODES == 1024 && AMLSHIM_MAX_DEVICES == 1024 && AMLSHIM_MAX_RULES == 16 &&
	               AMLSHIM_PATH_MAX == 256 && AMLSHIM_MAX_WEIGHT == 255 && AMLSHIM_LEDGER_NAME_MAX == 64,
	       "the accepted forms below spell these limits out");

/* What each variable accepts, said after every complaint about it. */
static const char policy_accepted[] = PLACEMENT_FORMS;
static const char small_accepted[] =
	"default, local, bind:NODES, preferred:NODE, interleave[:NODES], bandwidth, latency, "
	"capacity (" NODES_LEGEND ")";
static const char threshold_accepted[] =
	"a size in bytes: digits with an optional K, M, G or T suffix (powers of 1024; B or iB "
	"may follow), like 0, 4096, 64K, 1M, 2GiB";
static const char rules_accepted[] =
	"MIN-MAX=PLACEMENT rules separated by ';', like 0-64K=local;64K-1G=interleave;"
	"1G-=block-interleave:2M; a rule covers sizes in [MIN,MAX), MIN- has no upper bound, "
	"-MAX starts at 0; at most 16 rules, none overlapping; PLACEMENT is one of " PLACEMENT_FORMS;
static const char mmap_accepted[] = "on, off, 1, 0";
static const char deepbind_accepted[] = "keep, drop";
static const char stats_accepted[] = "0, off, 1, text, json";
static const char stats_file_accepted[] =
	"a non-empty path shorter than 256 bytes, where %p stands for the process id, %r for the "
	"global rank (the process id when no launcher gives one), %h for the host name and %% for %";
static const char log_accepted[] = "error, warn, info, debug";
static const char strict_accepted[] = "0, 1";
static const char share_settle_accepted[] = "a duration: 0, or 1 to 100000000 followed by ms or s, like 500ms or 1s";
static const char ledger_accepted[] = "1 to 64 of A-Z a-z 0-9 . _ - (not starting with .)";

#define WHY_MAX 1024

struct parse_context {
	amlshim_env_reader env;
	void *env_ctx;
	amlshim_message_sink sink;
	void *sink_ctx;
	struct amlshim_policy *out;
};

/* The variable's text, or NULL when unset (or set to "" where empty means
 * unset). */
static const char *read_var(const struct parse_context *ctx, const char *name, int empty_is_unset)
{
	const char *value = ctx->env ? ctx->env(name, ctx->env_ctx) : NULL;
	if (value && empty_is_unset && value[0] == '\0')
		return NULL;
	return value;
}

/* "amlshim: NAME='VALUE' is not valid: REASON; accepted: FORMS" */
static void report(const struct parse_context *ctx, const char *name, const char *value,
                   const char *reason, const char *accepted)
{
	char line[AMLSHIM_MESSAGE_MAX];
	struct amlshim_text text;
	amlshim_text_init(&text, line, sizeof(line));
	amlshim_text_bad_value(&text, name, value, reason, accepted);
	amlshim_text_ellipsize(&text);
	ctx->out->errors++;
	if (ctx->sink)
		ctx->sink(line, ctx->sink_ctx);
}

/* Kinds that cannot serve jemalloc's extents for small objects: the reason,
 * or NULL when the kind is fine. */
static const char *small_refusal(enum amlshim_placement_kind kind)
{
	switch (kind) {
	case AMLSHIM_PLACE_BLOCK_INTERLEAVE:
		return "block-interleave cannot place small objects (their extents are split and "
		       "merged, so blocks would not stay on their nodes)";
	case AMLSHIM_PLACE_WEIGHTED_INTERLEAVE:
		return "weighted-interleave cannot place small objects (their extents are split and "
		       "merged, so the pattern would not start at each object)";
	case AMLSHIM_PLACE_CUDA_MAPPED:
		return "cuda-mapped cannot place small objects (the CUDA runtime itself calls malloc)";
	case AMLSHIM_PLACE_CUDA_MANAGED:
		return "cuda-managed cannot place small objects (the CUDA runtime itself calls malloc)";
	default:
		return NULL;
	}
}

static int parse_placement_var(const struct parse_context *ctx, const char *name,
                               const char *value, const char *accepted, int small,
                               struct amlshim_placement *out)
{
	char why_buf[WHY_MAX];
	struct amlshim_text why;
	amlshim_text_init(&why, why_buf, sizeof(why_buf));
	int ret = amlshim_parse_placement_span(value, strlen(value), out, &why);
	const char *refusal = ret == 0 && small ? small_refusal(out->kind) : NULL;
	if (refusal) {
		amlshim_placement_default(out);
		amlshim_text_str(&why, refusal);
		ret = -1;
	}
	if (ret != 0) {
		amlshim_text_ellipsize(&why);
		report(ctx, name, value, why_buf, accepted);
	}
	return ret;
}

static int parse_threshold_var(const struct parse_context *ctx, const char *value, size_t *out)
{
	char why_buf[WHY_MAX];
	struct amlshim_text why;
	amlshim_text_init(&why, why_buf, sizeof(why_buf));
	if (amlshim_parse_size_span(value, strlen(value), out, &why) == 0)
		return 0;
	amlshim_text_ellipsize(&why);
	report(ctx, "AMLSHIM_THRESHOLD", value, why_buf, threshold_accepted);
	return -1;
}

static int parse_rules_var(const struct parse_context *ctx, const char *value)
{
	char why_buf[WHY_MAX];
	struct amlshim_text why;
	amlshim_text_init(&why, why_buf, sizeof(why_buf));
	int count = amlshim_parse_rules(value, ctx->out->rules, &why);
	if (count >= 0) {
		ctx->out->num_rules = count;
		return 0;
	}
	amlshim_text_ellipsize(&why);
	report(ctx, "AMLSHIM_RULES", value, why_buf, rules_accepted);
	return -1;
}

/* Everything that decides placement: POLICY, THRESHOLD, RULES, SMALL. All
 * are checked (so each mistake is reported) before any is applied; one bad
 * value means the whole set falls back to the kernel default. */
static void parse_placement_vars(const struct parse_context *ctx)
{
	struct amlshim_policy *out = ctx->out;
	const char *policy = read_var(ctx, "AMLSHIM_POLICY", 1);
	const char *threshold = read_var(ctx, "AMLSHIM_THRESHOLD", 1);
	const char *rules = read_var(ctx, "AMLSHIM_RULES", 1);
	const char *small = read_var(ctx, "AMLSHIM_SMALL", 1);
	struct amlshim_placement large;
	amlshim_placement_default(&large);
	int bad = 0;
	if (policy)
		bad |= parse_placement_var(ctx, "AMLSHIM_POLICY", policy, policy_accepted, 0, &large);
	if (threshold)
		bad |= parse_threshold_var(ctx, threshold, &out->threshold);
	if (rules)
		bad |= parse_rules_var(ctx, rules);
	if (small)
		bad |= parse_placement_var(ctx, "AMLSHIM_SMALL", small, small_accepted, 1, &out->small);
	if (bad) {
		memset(out->rules, 0, sizeof(out->rules));
		out->num_rules = 0;
		amlshim_placement_default(&out->small);
		return;
	}
	if (rules) {
		out->rules_override = policy || threshold;
	} else if (large.kind != AMLSHIM_PLACE_DEFAULT || large.pages != AMLSHIM_PAGES_DEFAULT) {
		out->rules[0].min = out->threshold;
		out->rules[0].max = SIZE_MAX;
		out->rules[0].placement = large;
		out->num_rules = 1;
	}
}

/* A variable that takes one of a few keywords (NULL-terminated words, with
 * the value each stands for): sets *out and returns 1 on a match, 0 when
 * unset, -1 after reporting. */
static int parse_keyword_var(const struct parse_context *ctx, const char *name, int empty_is_unset,
                             const char *const *words, const int *values, const char *accepted,
                             int *out)
{
	const char *value = read_var(ctx, name, empty_is_unset);
	if (!value)
		return 0;
	size_t n = strlen(value);
	for (int i = 0; words[i]; i++) {
		if (amlshim_keyword_is(value, n, words[i])) {
			*out = values[i];
			return 1;
		}
	}
	report(ctx, name, value, "unknown value", accepted);
	return -1;
}

static void parse_mmap_var(const struct parse_context *ctx)
{
	static const char *const words[] = {"on", "off", "1", "0", NULL};
	static const int values[] = {1, 0, 1, 0};
	int on;
	if (parse_keyword_var(ctx, "AMLSHIM_MMAP", 1, words, values, mmap_accepted, &on) > 0)
		ctx->out->mmap_on = on;
}

static void parse_deepbind_var(const struct parse_context *ctx)
{
	static const char *const words[] = {"keep", "drop", NULL};
	static const int values[] = {AMLSHIM_DEEPBIND_KEEP, AMLSHIM_DEEPBIND_DROP};
	int mode;
	if (parse_keyword_var(ctx, "AMLSHIM_DEEPBIND", 1, words, values, deepbind_accepted, &mode) > 0)
		ctx->out->deepbind = (enum amlshim_deepbind_mode)mode;
}

static void parse_stats_var(const struct parse_context *ctx)
{
	/* An empty AMLSHIM_STATS is a plain "off", like 0. */
	static const char *const words[] = {"0", "off", "", "1", "text", "json", NULL};
	static const int values[] = {
		AMLSHIM_STATS_OFF, AMLSHIM_STATS_OFF, AMLSHIM_STATS_OFF,
		AMLSHIM_STATS_TEXT, AMLSHIM_STATS_TEXT, AMLSHIM_STATS_JSON,
	};
	int mode;
	if (parse_keyword_var(ctx, "AMLSHIM_STATS", 0, words, values, stats_accepted, &mode) > 0)
		ctx->out->stats = (enum amlshim_stats_mode)mode;
}

static void parse_log_var(const struct parse_context *ctx)
{
	static const char *const words[] = {"error", "warn", "info", "debug", NULL};
	static const int values[] = {
		AMLSHIM_LOG_ERROR, AMLSHIM_LOG_WARN, AMLSHIM_LOG_INFO, AMLSHIM_LOG_DEBUG,
	};
	int level;
	if (parse_keyword_var(ctx, "AMLSHIM_LOG", 1, words, values, log_accepted, &level) > 0)
		ctx->out->log_level = (enum amlshim_log_level)level;
}

static void parse_strict_var(const struct parse_context *ctx)
{
	static const char *const words[] = {"0", "1", NULL};
	static const int values[] = {0, 1};
	int strict;
	if (parse_keyword_var(ctx, "AMLSHIM_STRICT", 1, words, values, strict_accepted, &strict) > 0)
		ctx->out->strict = strict;
}

/* AMLSHIM_STATS_FILE is stored as written; the shim replaces %p, %r, %h
 * and %% when it opens the file. */
static void parse_stats_file_var(const struct parse_context *ctx)
{
	const char *value = read_var(ctx, "AMLSHIM_STATS_FILE", 0);
	if (!value)
		return;
	char why_buf[WHY_MAX];
	struct amlshim_text why;
	amlshim_text_init(&why, why_buf, sizeof(why_buf));
	size_t n = strlen(value);
	if (n == 0) {
		amlshim_text_str(&why, "empty path");
	} else if (n >= AMLSHIM_PATH_MAX) {
		amlshim_text_str(&why, "the path is ");
		amlshim_text_uint(&why, n);
		amlshim_text_str(&why, " bytes long");
	} else {
		for (size_t i = 0; i < n; i++) {
			if (value[i] != '%')
				continue;
			if (i + 1 < n && memchr("prh%", value[i + 1], 4)) {
				i++;
				continue;
			}
			amlshim_text_str(&why, "unknown sequence ");
			amlshim_text_quoted(&why, value + i, i + 1 < n ? 2 : 1);
			break;
		}
	}
	if (why.len == 0) {
		memcpy(ctx->out->stats_file, value, n + 1);
		return;
	}
	amlshim_text_ellipsize(&why);
	report(ctx, "AMLSHIM_STATS_FILE", value, why_buf, stats_file_accepted);
}

/* AMLSHIM_SHARE_SETTLE: "0", or digits then "ms" or "s". */
static void parse_share_settle_var(const struct parse_context *ctx)
{
	const char *value = read_var(ctx, "AMLSHIM_SHARE_SETTLE", 1);
	if (!value)
		return;
	unsigned long long n = 0, scale = 0;
	size_t digits = 0;
	for (; value[digits] >= '0' && value[digits] <= '9' && n <= 100000000ULL; digits++)
		n = n * 10 + (unsigned long long)(value[digits] - '0');
	const char *unit = value + digits;
	if (unit[0] == 'm' && unit[1] == 's' && unit[2] == '\0')
		scale = 1000000ULL;
	else if (unit[0] == 's' && unit[1] == '\0')
		scale = 1000000000ULL;
	else if (*unit == '\0' && n == 0)
		scale = 1; /* "0": lent as soon as it stops growing */
	if (digits == 0 || scale == 0 || n > 100000000ULL) {
		report(ctx, "AMLSHIM_SHARE_SETTLE", value, "not a duration", share_settle_accepted);
		return;
	}
	ctx->out->share_settle_ns = n * scale;
}

/* AMLSHIM_LEDGER names a file in /dev/shm: a plain name, never a path. */
static void parse_ledger_var(const struct parse_context *ctx)
{
	const char *value = read_var(ctx, "AMLSHIM_LEDGER", 1);
	if (!value)
		return;
	size_t n = strlen(value);
	int ok = n <= AMLSHIM_LEDGER_NAME_MAX && value[0] != '.';
	for (size_t i = 0; ok && i < n; i++) {
		char c = value[i];
		ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		     c == '-';
	}
	if (!ok) {
		report(ctx, "AMLSHIM_LEDGER", value, "not a name", ledger_accepted);
		return;
	}
	memcpy(ctx->out->ledger, value, n + 1);
}

static void set_defaults(struct amlshim_policy *out)
{
	memset(out, 0, sizeof(*out));
	out->threshold = AMLSHIM_DEFAULT_THRESHOLD;
	amlshim_placement_default(&out->small);
	out->mmap_on = 1;
	out->deepbind = AMLSHIM_DEEPBIND_KEEP;
	out->stats = AMLSHIM_STATS_OFF;
	out->stats_file[0] = '\0';
	out->log_level = AMLSHIM_LOG_WARN;
	out->strict = 0;
	out->share_settle_ns = AMLSHIM_DEFAULT_SHARE_SETTLE_NS;
}

void amlshim_policy_parse(struct amlshim_policy *out, amlshim_env_reader env, void *env_ctx,
                          amlshim_message_sink sink, void *sink_ctx)
{
	struct parse_context ctx = {env, env_ctx, sink, sink_ctx, out};
	set_defaults(out);
	/* Messages come out in this order, one per bad variable. */
	parse_placement_vars(&ctx);
	parse_mmap_var(&ctx);
	parse_stats_var(&ctx);
	parse_stats_file_var(&ctx);
	parse_log_var(&ctx);
	parse_strict_var(&ctx);
	parse_deepbind_var(&ctx);
	parse_share_settle_var(&ctx);
	parse_ledger_var(&ctx);
}
