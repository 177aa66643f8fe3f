/* AMLSHIM_SITES: call-site rules into a fixed table, and the site
 * variables AMLSHIM_SITE_DEPTH and AMLSHIM_SITE_MIN.
 *
 * TEXT  := RULE ((';' | '\n') RULE)*     '#' starts a comment to end of line
 * RULE  := SITE '=' PLACEMENT [' ' 'cap=' SIZE]   (spaces around '=' optional)
 * SITE  := FRAME ('>' FRAME)*   caller first, the last frame called malloc
 *        | 'func=' NAME | 'func=' NAME '>' NAME
 * FRAME := MODULE '+' '0x' HEX  (MODULE: the ELF file's base name) */
#include <stdint.h>
#include <string.h>

#include "internal.h"
#include "sites.h"

#define WHY_MAX 1024

const char amlshim_sites_accepted[] =
	"rules 'SITE = POLICY[ cap=SIZE]' separated by ';' or newlines ('#' comments), SITE being "
	"MODULE+0xOFFSET frames joined by '>' (caller first), func=NAME or func=CALLER>CALLEE; "
	"or a file of them (a value starting with '/' or '.')";

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static void trim(const char **s, size_t *n)
{
	while (*n && is_space(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n && is_space((*s)[*n - 1]))
		(*n)--;
}

/* A module or function name: printable, no space, '/', '>', '=' or ';'. */
static int copy_name(const char *s, size_t n, char *out, const char *what, struct amlshim_text *why)
{
	if (n == 0) {
		amlshim_text_str(why, what);
		amlshim_text_str(why, " is empty");
		return -1;
	}
	if (n >= AMLSHIM_SITE_NAME_MAX) {
		amlshim_text_str(why, what);
		amlshim_text_str(why, " ");
		amlshim_text_quoted(why, s, n);
		amlshim_text_str(why, " is too long");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= ' ' || c >= 0x7f || c == '/' || c == '>' || c == '=' || c == ';') {
			amlshim_text_str(why, what);
			amlshim_text_str(why, " ");
			amlshim_text_quoted(why, s, n);
			amlshim_text_str(why, " has a character that is not allowed");
			return -1;
		}
	}
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

static int parse_hex(const char *s, size_t n, uint64_t *out)
{
	if (n < 3 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') || n - 2 > 16)
		return -1;
	uint64_t value = 0;
	for (size_t i = 2; i < n; i++) {
		char c = s[i];
		int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
		          : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (digit < 0)
			return -1;
		value = value << 4 | (uint64_t)digit;
	}
	*out = value;
	return 0;
}

/* One "MODULE+0xOFFSET" (the last '+': libstdc++.so.6 has two of its own). */
static int parse_frame(const char *s, size_t n, struct amlshim_site_frame *frame, struct amlshim_text *why)
{
	trim(&s, &n);
	const char *plus = NULL;
	for (size_t i = n; i-- > 0;)
		if (s[i] == '+') {
			plus = s + i;
			break;
		}
	if (!plus || plus == s) {
		amlshim_text_str(why, "frame ");
		amlshim_text_quoted(why, s, n);
		amlshim_text_str(why, plus ? " has no module (write MODULE+0xOFFSET)" : " is not MODULE+0xOFFSET");
		return -1;
	}
	if (copy_name(s, (size_t)(plus - s), frame->module, "module", why) != 0)
		return -1;
	if (parse_hex(plus + 1, n - (size_t)(plus - s) - 1, &frame->offset) != 0) {
		amlshim_text_str(why, "frame ");
		amlshim_text_quoted(why, s, n);
		amlshim_text_str(why, ": the offset is not 0x and 1 to 16 hex digits");
		return -1;
	}
	return 0;
}

/* The length of a leading "func =" (spaces allowed), else 0. */
static size_t func_prefix(const char *s, size_t n)
{
	size_t at = 0;
	while (at < n && is_space(s[at]))
		at++;
	if (n - at < 4 || !amlshim_keyword_is(s + at, 4, "func"))
		return 0;
	at += 4;
	while (at < n && is_space(s[at]))
		at++;
	return at < n && s[at] == '=' ? at + 1 : 0;
}

static int parse_site(const char *s, size_t n, struct amlshim_site_rule *rule, struct amlshim_text *why)
{
	trim(&s, &n);
	size_t prefix = func_prefix(s, n);
	if (prefix) {
		s += prefix;
		n -= prefix;
		trim(&s, &n);
		const char *gt = memchr(s, '>', n);
		rule->kind = gt ? AMLSHIM_SITE_FUNC_PAIR : AMLSHIM_SITE_FUNC;
		if (!gt)
			return copy_name(s, n, rule->func[1], "function", why);
		const char *a = s, *b = gt + 1;
		size_t an = (size_t)(gt - s), bn = n - an - 1;
		trim(&a, &an);
		trim(&b, &bn);
		return copy_name(a, an, rule->func[0], "function", why) == 0 ? copy_name(b, bn, rule->func[1], "function", why) : -1;
	}
	rule->kind = AMLSHIM_SITE_STACK;
	if (n == 0) {
		amlshim_text_str(why, "no site before '='");
		return -1;
	}
	for (const char *end = s + n; s <= end;) {
		const char *gt = memchr(s, '>', (size_t)(end - s));
		const char *frame_end = gt ? gt : end;
		if (rule->num_frames == AMLSHIM_SITE_MAX_DEPTH) {
			amlshim_text_str(why, "more than 64 frames");
			return -1;
		}
		if (parse_frame(s, (size_t)(frame_end - s), &rule->frames[rule->num_frames++], why) != 0)
			return -1;
		s = frame_end + 1;
	}
	return 0;
}

/* "POLICY[ cap=SIZE]" */
static int parse_target(const char *s, size_t n, struct amlshim_site_rule *rule, struct amlshim_text *why)
{
	trim(&s, &n);
	size_t policy_len = 0;
	while (policy_len < n && !is_space(s[policy_len]))
		policy_len++;
	if (policy_len == 0) {
		amlshim_text_str(why, "no policy after '='");
		return -1;
	}
	if (amlshim_parse_placement_span(s, policy_len, &rule->placement, why) != 0)
		return -1;
	/* Shares are split between the size rules' ranks: a site rule has its cap. */
	if (rule->placement.share != AMLSHIM_SHARE_NONE) {
		amlshim_text_str(why, "modifier '+share' does not apply to a site rule (+share is per size rule, "
		                 "AMLSHIM_POLICY or AMLSHIM_RULES; a site rule takes cap=SIZE)");
		return -1;
	}
	const char *rest = s + policy_len;
	size_t rest_len = n - policy_len;
	trim(&rest, &rest_len);
	if (rest_len == 0)
		return 0;
	if (rest_len < 4 || !amlshim_keyword_is(rest, 4, "cap=")) {
		amlshim_text_str(why, "after the policy: ");
		amlshim_text_quoted(why, rest, rest_len);
		amlshim_text_str(why, " (only cap=SIZE may follow it)");
		return -1;
	}
	if (amlshim_parse_size_span(rest + 4, rest_len - 4, &rule->cap, why) != 0)
		return -1;
	if (rule->cap == 0) {
		amlshim_text_str(why, "cap=0 leaves no room (leave cap= out for no budget)");
		return -1;
	}
	return 0;
}

char *amlshim_site_text(const struct amlshim_site_rule *rule, char *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	struct amlshim_text text;
	amlshim_text_init(&text, buf, len);
	if (rule->kind != AMLSHIM_SITE_STACK) {
		amlshim_text_str(&text, "func=");
		if (rule->kind == AMLSHIM_SITE_FUNC_PAIR) {
			amlshim_text_str(&text, rule->func[0]);
			amlshim_text_str(&text, ">");
		}
		amlshim_text_str(&text, rule->func[1]);
	}
	for (int f = 0; rule->kind == AMLSHIM_SITE_STACK && f < rule->num_frames; f++) {
		char digits[19] = "0x";
		int at = 2;
		for (int shift = 60; shift >= 0; shift -= 4)
			if ((rule->frames[f].offset >> shift) || shift == 0 || at > 2)
				digits[at++] = hex[(rule->frames[f].offset >> shift) & 15];
		digits[at] = '\0';
		if (f)
			amlshim_text_str(&text, ">");
		amlshim_text_str(&text, rule->frames[f].module);
		amlshim_text_str(&text, "+");
		amlshim_text_str(&text, digits);
	}
	amlshim_text_ellipsize(&text); /* a cut stack ends in "...", never in a half frame */
	return buf;
}

/* One rule; on error why holds "rule N 'TEXT': REASON". */
static int parse_rule(const char *s, size_t n, int number, struct amlshim_site_rule *rule, struct amlshim_text *why)
{
	memset(rule, 0, sizeof(*rule));
	size_t mark = why->len;
	amlshim_text_str(why, "rule ");
	amlshim_text_uint(why, (unsigned)number);
	amlshim_text_str(why, " ");
	amlshim_text_quoted(why, s, n);
	amlshim_text_str(why, ": ");
	/* The '=' that ends the site: past "func=" when the site is a function. */
	const char *from = s + func_prefix(s, n);
	const char *equals = memchr(from, '=', n - (size_t)(from - s));
	if (!equals) {
		amlshim_text_str(why, "no '=' (write SITE = POLICY)");
		return -1;
	}
	if (parse_site(s, (size_t)(equals - s), rule, why) != 0 ||
	    parse_target(equals + 1, n - (size_t)(equals - s) - 1, rule, why) != 0)
		return -1;
	char site[400], size[24];
	struct amlshim_text text;
	amlshim_text_init(&text, rule->text, sizeof(rule->text));
	amlshim_text_str(&text, amlshim_site_text(rule, site, sizeof(site)));
	amlshim_text_str(&text, " = ");
	amlshim_text_str(&text, rule->placement.text);
	if (rule->cap) {
		amlshim_text_str(&text, " cap=");
		amlshim_text_str(&text, amlshim_format_size(rule->cap, size, sizeof(size)));
	}
	amlshim_text_ellipsize(&text);
	why->len = mark; /* parsed: the rule's name is taken back */
	why->buf[mark] = '\0';
	return 0;
}

static int parse_text(const char *s, size_t n, struct amlshim_sites *out, struct amlshim_text *why)
{
	if (n > AMLSHIM_SITES_TEXT_MAX) {
		amlshim_text_str(why, "more than 64 KiB of rules");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c < 0x20 && c != '\n' && c != '\t' && c != '\r') || c == 0x7f) {
			amlshim_text_str(why, "binary bytes (byte ");
			amlshim_text_uint(why, i);
			amlshim_text_str(why, ")");
			return -1;
		}
	}
	int number = 0;
	for (const char *line = s, *end = s + n; line < end;) {
		const char *newline = memchr(line, '\n', (size_t)(end - line));
		const char *line_end = newline ? newline : end;
		const char *hash = memchr(line, '#', (size_t)(line_end - line));
		const char *text_end = hash ? hash : line_end;
		for (const char *rule = line; rule <= text_end;) {
			const char *semi = memchr(rule, ';', (size_t)(text_end - rule));
			const char *rule_end = semi ? semi : text_end;
			const char *r = rule;
			size_t rn = (size_t)(rule_end - rule);
			trim(&r, &rn);
			if (rn) {
				if (out->count == AMLSHIM_MAX_SITE_RULES) {
					amlshim_text_str(why, "more than 32 rules");
					return -1;
				}
				if (parse_rule(r, rn, ++number, &out->rules[out->count], why) != 0)
					return -1;
				out->count++;
			}
			rule = rule_end + 1;
		}
		line = line_end + 1;
	}
	if (out->count == 0) {
		amlshim_text_str(why, "no rule");
		return -1;
	}
	return out->count;
}

static void report(const char *name, const char *value, const char *reason, const char *accepted,
                   struct amlshim_sites *out, amlshim_message_sink sink, void *sink_ctx)
{
	char line[AMLSHIM_MESSAGE_MAX];
	struct amlshim_text text;
	amlshim_text_init(&text, line, sizeof(line));
	amlshim_text_bad_value(&text, name, value, reason, accepted);
	amlshim_text_ellipsize(&text);
	out->errors++;
	if (sink)
		sink(line, sink_ctx);
}

int amlshim_sites_parse(const char *value, const char *text, size_t len, struct amlshim_sites *out,
                        amlshim_message_sink sink, void *sink_ctx)
{
	char why_buf[WHY_MAX];
	struct amlshim_text why;
	amlshim_text_init(&why, why_buf, sizeof(why_buf));
	out->count = 0;
	if (parse_text(text, len, out, &why) >= 0)
		return out->count;
	out->count = 0;
	amlshim_text_ellipsize(&why);
	report("AMLSHIM_SITES", value, why_buf, amlshim_sites_accepted, out, sink, sink_ctx);
	return -1;
}

void amlshim_sites_parse_vars(struct amlshim_sites *out, amlshim_env_reader env, void *env_ctx,
                              amlshim_message_sink sink, void *sink_ctx)
{
	memset(out, 0, sizeof(*out));
	out->depth = AMLSHIM_SITE_DEFAULT_DEPTH;
	const char *depth = env ? env("AMLSHIM_SITE_DEPTH", env_ctx) : NULL;
	unsigned long value;
	if (depth && *depth) {
		if (amlshim_parse_decimal(depth, strlen(depth), AMLSHIM_SITE_MAX_DEPTH, &value) == 0 && value >= 1)
			out->depth = (int)value;
		else
			report("AMLSHIM_SITE_DEPTH", depth, "not a number of frames from 1 to 64", "1 to 64 (default 6)",
			       out, sink, sink_ctx);
	}
	static const char *const min_names[] = {"AMLSHIM_SITE_MIN", "AMLSHIM_PROFILE_MIN_SIZE"};
	for (int i = 0; i < 2; i++) {
		const char *min = env ? env(min_names[i], env_ctx) : NULL;
		if (!min || !*min || out->min)
			continue; /* AMLSHIM_SITE_MIN first */
		char why_buf[WHY_MAX];
		struct amlshim_text why;
		amlshim_text_init(&why, why_buf, sizeof(why_buf));
		if (amlshim_parse_size_span(min, strlen(min), &out->min, &why) != 0) {
			out->min = 0;
			amlshim_text_ellipsize(&why);
			report(min_names[i], min, why_buf, "a size such as 1M or 262144 (default: the threshold)", out, sink,
			       sink_ctx);
		}
	}
	out->interval_ms = AMLSHIM_PROFILE_DEFAULT_INTERVAL;
	const char *interval = env ? env("AMLSHIM_PROFILE_INTERVAL", env_ctx) : NULL;
	if (interval && *interval) {
		if (amlshim_parse_decimal(interval, strlen(interval), 60000, &value) == 0 && value >= 1)
			out->interval_ms = (unsigned)value;
		else
			report("AMLSHIM_PROFILE_INTERVAL", interval, "not a number of milliseconds from 1 to 60000",
			       "1 to 60000 (default 50)", out, sink, sink_ctx);
	}
}
