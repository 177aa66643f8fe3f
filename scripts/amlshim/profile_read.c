/* Reads a call-site profile (the shim's raw one or amlshim profile's
 * final one) into struct profile: checks the format's marker and the
 * fields advise and the tables use; strings stay in the JSON tree. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "profile.h"

#define MAX_PROFILE_BYTES ((long long)256 << 20)

/* The whole file, NUL-terminated, or NULL with a reason. */
static char *slurp(const char *path, size_t *len, char *why, size_t why_len)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	if (!f || fstat(fileno(f), &st) != 0) {
		snprintf(why, why_len, "cannot open: %s", strerror(errno));
		if (f)
			fclose(f);
		return NULL;
	}
	char *text = NULL;
	if (!S_ISREG(st.st_mode))
		snprintf(why, why_len, "not a regular file");
	else if (st.st_size > MAX_PROFILE_BYTES)
		snprintf(why, why_len, "larger than 256 MiB");
	else if (!(text = malloc((size_t)st.st_size + 1)))
		snprintf(why, why_len, "out of memory");
	else if ((*len = fread(text, 1, (size_t)st.st_size, f)) != (size_t)st.st_size || ferror(f)) {
		snprintf(why, why_len, "cannot read: %s", ferror(f) ? strerror(errno) : "file shrank");
		free(text);
		text = NULL;
	}
	fclose(f);
	if (text)
		text[*len] = '\0';
	return text;
}

static const char *get_string(const struct json *o, const char *key)
{
	const struct json *v = json_get(o, key);
	return v && v->type == JSON_STRING ? v->string : NULL;
}

/* A number member (missing or null: fallback; any other type: -1). */
static int get_number(const struct json *o, const char *key, double fallback, double *out)
{
	const struct json *v = json_get(o, key);
	*out = fallback;
	if (!v || v->type == JSON_NULL)
		return 0;
	if (v->type != JSON_NUMBER)
		return -1;
	*out = v->number;
	return 0;
}

static int get_count(const struct json *o, const char *key, unsigned long long *out)
{
	double d;
	if (get_number(o, key, 0, &d) != 0 || d < 0 || d > 9007199254740992.0)
		return -1;
	*out = (unsigned long long)d;
	return 0;
}

static int read_frames(const struct json *list, struct prof_site *s)
{
	if (!list || list->type != JSON_ARRAY || list->count == 0 || list->count > 256)
		return -1;
	s->frames = calloc(list->count, sizeof(*s->frames));
	if (!s->frames)
		return -1;
	for (size_t i = 0; i < list->count; i++) {
		const struct json *f = &list->children[i];
		struct prof_frame *fr = &s->frames[s->num_frames++];
		const char *offset = get_string(f, "offset");
		char *end;
		fr->module = get_string(f, "module");
		if (!fr->module || !*fr->module || !offset || strncmp(offset, "0x", 2) != 0)
			return -1;
		errno = 0;
		fr->offset = strtoull(offset + 2, &end, 16);
		if (errno || end == offset + 2 || *end)
			return -1;
		const char *function = get_string(f, "function"), *file = get_string(f, "file");
		double line;
		fr->function = function ? strdup(function) : NULL;
		fr->file = file ? strdup(file) : NULL;
		if (get_number(f, "line", 0, &line) == 0 && line > 0 && line < 1e9)
			fr->line = (long)line;
	}
	return 0;
}

static int read_site(const struct json *o, struct prof_site *s)
{
	const struct json *heat = json_get(o, "heat");
	s->site = get_string(o, "site");
	if (!s->site || read_frames(json_get(o, "frames"), s) != 0)
		return -1;
	if (get_count(o, "count", &s->count) || get_count(o, "bytes", &s->bytes) ||
	    get_count(o, "largest", &s->largest) || get_count(o, "peak_live", &s->peak_live) ||
	    get_number(o, "byte_seconds", 0, &s->byte_seconds) || get_number(o, "first_s", 0, &s->first_s) ||
	    get_number(o, "last_s", 0, &s->last_s) || get_number(o, "alive_from_s", 1, &s->alive_from_s) ||
	    get_number(o, "alive_to_s", 0, &s->alive_to_s) || get_number(o, "heat", 0, &s->heat))
		return -1;
	s->has_heat = heat && heat->type == JSON_NUMBER;
	return s->byte_seconds < 0 || s->heat < 0 ? -1 : 0;
}

static int read_modules(const struct json *list, struct profile *p)
{
	if (!list)
		return 0;
	if (list->type != JSON_ARRAY)
		return -1;
	p->modules = calloc(list->count ? list->count : 1, sizeof(*p->modules));
	if (!p->modules)
		return -1;
	for (size_t i = 0; i < list->count; i++) {
		struct prof_module *m = &p->modules[p->num_modules++];
		m->name = get_string(&list->children[i], "name");
		m->path = get_string(&list->children[i], "path");
		m->build_id = get_string(&list->children[i], "build_id");
		if (!m->name)
			return -1;
	}
	return 0;
}

static int load(const char *path, struct profile *p, char *why, size_t why_len)
{
	memset(p, 0, sizeof(*p));
	p->file = path;
	p->rank = -1;
	size_t len = 0;
	char *text = slurp(path, &len, why, why_len);
	if (!text)
		return -1;
	p->tree = json_parse(text, len, why, why_len);
	free(text);
	if (!p->tree)
		return -1;
	long long version;
	const struct json *sites = json_get(p->tree, "sites");
	if (json_get_long(p->tree, "amlshim_profile", 1, 1, &version) != 0) {
		snprintf(why, why_len, "not a call-site profile (no \"amlshim_profile\": 1)");
		return -1;
	}
	if (!sites || sites->type != JSON_ARRAY) {
		snprintf(why, why_len, "no \"sites\" array");
		return -1;
	}
	json_get_long(p->tree, "pid", 0, 1ll << 32, &p->pid);
	json_get_long(p->tree, "rank", 0, 1ll << 31, &p->rank);
	json_get_long(p->tree, "heat_interval_ms", 0, 1ll << 31, &p->heat_interval_ms);
	json_get_long(p->tree, "min_size", 0, 1ll << 62, &p->min_size);
	p->host = get_string(p->tree, "host");
	p->heat_method = get_string(p->tree, "heat_method");
	if (get_number(p->tree, "duration_s", 0, &p->duration_s) != 0 || read_modules(json_get(p->tree, "modules"), p) != 0) {
		snprintf(why, why_len, "bad \"duration_s\" or \"modules\"");
		return -1;
	}
	p->sites = calloc(sites->count ? sites->count : 1, sizeof(*p->sites));
	if (!p->sites) {
		snprintf(why, why_len, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < sites->count; i++)
		if (read_site(&sites->children[i], &p->sites[p->num_sites++]) != 0) {
			snprintf(why, why_len, "site %zu: a missing or bad field (site, frames, count, bytes, ...)", i);
			return -1;
		}
	return 0;
}

int profile_load(const char *path, struct profile *p, char *why, size_t why_len)
{
	if (load(path, p, why, why_len) == 0)
		return 0;
	profile_free(p);
	return -1;
}

void profile_free(struct profile *p)
{
	for (int i = 0; i < p->num_sites; i++) {
		for (int f = 0; f < p->sites[i].num_frames; f++) {
			free(p->sites[i].frames[f].function);
			free(p->sites[i].frames[f].file);
		}
		free(p->sites[i].frames);
	}
	free(p->sites);
	for (int i = 0; i < p->num_modules; i++)
		free(p->modules[i].debug_file);
	free(p->modules);
	json_free(p->tree);
	memset(p, 0, sizeof(*p));
}

const char *profile_site_name(const struct prof_site *s)
{
	for (int f = s->num_frames; f-- > 0;)
		if (s->frames[f].function)
			return s->frames[f].function;
	return s->site;
}
