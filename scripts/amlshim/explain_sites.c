/* amlshim --explain: the "Call sites" part, what the shim makes of
 * AMLSHIM_SITES (inline, or the file it names), AMLSHIM_SITE_DEPTH,
 * AMLSHIM_SITE_MIN and AMLSHIM_PROFILE, read by the same parser the shim
 * uses, in text and in JSON. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "sites.h"

static const char *from_environment(const char *name, void *ctx)
{
	(void)ctx;
	return getenv(name);
}

struct sink {
	FILE *out;
	void (*json_str)(FILE *, const char *); /* NULL: text */
	int count;
};

static void sink_line(const char *line, void *ctx)
{
	struct sink *s = ctx;
	if (!s->json_str) {
		fprintf(s->out, "  %s\n", line);
		return;
	}
	fputs(s->count++ ? "," : "", s->out);
	s->json_str(s->out, line);
}

/* The rules the shim would apply (none when the value is bad). */
static void parse(struct amlshim_sites *sites, struct sink *sink)
{
	static char text[AMLSHIM_SITES_TEXT_MAX + 2];
	amlshim_sites_parse_vars(sites, from_environment, NULL, sink_line, sink);
	const char *value = getenv("AMLSHIM_SITES");
	if (!value || !*value)
		return;
	if (value[0] != '/' && value[0] != '.') {
		amlshim_sites_parse(value, value, strlen(value), sites, sink_line, sink);
		return;
	}
	FILE *f = fopen(value, "rb");
	size_t len = f ? fread(text, 1, sizeof(text) - 1, f) : 0;
	if (!f || ferror(f)) {
		char line[512];
		snprintf(line, sizeof(line), "amlshim: AMLSHIM_SITES='%.300s': the file cannot be read (missing or not "
		         "readable); no site rule applies", value);
		sink_line(line, sink);
		sites->errors++;
	} else {
		amlshim_sites_parse(value, text, len, sites, sink_line, sink);
	}
	if (f)
		fclose(f);
}

static const char *kind_name(enum amlshim_site_kind kind)
{
	return kind == AMLSHIM_SITE_STACK ? "stack" : kind == AMLSHIM_SITE_FUNC ? "function" : "caller>callee";
}

void cli_explain_sites(FILE *out)
{
	static struct amlshim_sites sites;
	struct sink sink = {out, NULL, 0};
	fprintf(out, "\nCall sites:\n");
	parse(&sites, &sink);
	const char *profile = getenv("AMLSHIM_PROFILE");
	if (!sites.count && !(profile && *profile)) {
		fprintf(out, "  no site rule, no profile: stacks are not captured\n");
		return;
	}
	char min[24];
	fprintf(out, "  stacks of allocations from %s captured, %d frames deep\n",
	        sites.min ? amlshim_format_size(sites.min, min, sizeof(min)) : "the threshold", sites.depth);
	for (int r = 0; r < sites.count; r++)
		fprintf(out, "  site rule %d (%s, checked before the size rules): %s\n", r + 1, kind_name(sites.rules[r].kind),
		        sites.rules[r].text);
	if (profile && *profile)
		fprintf(out, "  profile mode: per-site counts and heat written to %s at exit\n", profile);
}

void cli_explain_sites_json(FILE *out, void (*json_str)(FILE *, const char *))
{
	static struct amlshim_sites sites;
	struct sink sink = {out, json_str, 0};
	fputs(",\"sites\":{\"messages\":[", out);
	parse(&sites, &sink);
	fprintf(out, "],\"bad_values\":%d,\"depth\":%d,\"min\":", sites.errors, sites.depth);
	if (sites.min)
		fprintf(out, "%zu", sites.min);
	else
		fputs("null", out);
	fputs(",\"profile\":", out);
	const char *profile = getenv("AMLSHIM_PROFILE");
	if (profile && *profile)
		json_str(out, profile);
	else
		fputs("null", out);
	fputs(",\"rules\":[", out);
	for (int r = 0; r < sites.count; r++) {
		const struct amlshim_site_rule *rule = &sites.rules[r];
		char site[1024];
		fputs(r ? ",{\"rule\":" : "{\"rule\":", out);
		json_str(out, rule->text);
		fprintf(out, ",\"kind\":\"%s\",\"site\":", kind_name(rule->kind));
		json_str(out, amlshim_site_text(rule, site, sizeof(site)));
		fputs(",\"policy\":", out);
		json_str(out, rule->placement.text);
		fprintf(out, ",\"cap\":");
		if (rule->cap)
			fprintf(out, "%zu}", rule->cap);
		else
			fputs("null}", out);
	}
	fputs("]}", out);
}
