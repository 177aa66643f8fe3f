/* Writes the final call-site profile: the raw profile's fields, each
 * module's symbol source, each frame's function, file and line (null when
 * unknown). Numbers are written so that they read back exactly. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "profile.h"

/* A JSON string, or null for NULL. */
static void put_string(FILE *out, const char *s)
{
	if (!s) {
		fputs("null", out);
		return;
	}
	fputc('"', out);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		switch (c) {
		case '"':
			fputs("\\\"", out);
			break;
		case '\\':
			fputs("\\\\", out);
			break;
		case '\n':
			fputs("\\n", out);
			break;
		default:
			if (c < 0x20)
				fprintf(out, "\\u%04x", c);
			else
				fputc(c, out); /* UTF-8 passes as is */
		}
	}
	fputc('"', out);
}

static void put_frame(FILE *out, const struct prof_frame *f)
{
	fputs("{\"module\":", out);
	put_string(out, f->module);
	fprintf(out, ",\"offset\":\"0x%llx\",\"function\":", f->offset);
	put_string(out, f->function);
	fputs(",\"file\":", out);
	put_string(out, f->file);
	if (f->line > 0)
		fprintf(out, ",\"line\":%ld}", f->line);
	else
		fputs(",\"line\":null}", out);
}

static void put_site(FILE *out, const struct prof_site *s)
{
	fputs("{\"site\":", out);
	put_string(out, s->site);
	fputs(",\"function\":", out);
	put_string(out, profile_site_name(s) == s->site ? NULL : profile_site_name(s));
	fputs(",\"frames\":[", out);
	for (int f = 0; f < s->num_frames; f++) {
		fputs(f ? "," : "", out);
		put_frame(out, &s->frames[f]);
	}
	fprintf(out, "],\"count\":%llu,\"bytes\":%llu,\"largest\":%llu,\"peak_live\":%llu,"
	        "\"byte_seconds\":%.17g,\"first_s\":%.17g,\"last_s\":%.17g",
	        s->count, s->bytes, s->largest, s->peak_live, s->byte_seconds, s->first_s, s->last_s);
	if (s->alive_from_s <= s->alive_to_s)
		fprintf(out, ",\"alive_from_s\":%.17g,\"alive_to_s\":%.17g", s->alive_from_s, s->alive_to_s);
	else
		fputs(",\"alive_from_s\":null,\"alive_to_s\":null", out);
	if (s->has_heat)
		fprintf(out, ",\"heat\":%.17g}", s->heat);
	else
		fputs(",\"heat\":null}", out);
}

int profile_write(const struct profile *p, FILE *out)
{
	fprintf(out, "{\"amlshim_profile\":1,\"symbolized\":true,\"pid\":%lld,\"rank\":", p->pid);
	if (p->rank >= 0)
		fprintf(out, "%lld", p->rank);
	else
		fputs("null", out);
	fputs(",\"host\":", out);
	put_string(out, p->host);
	fprintf(out, ",\"duration_s\":%.17g,\"heat_method\":", p->duration_s);
	put_string(out, p->heat_method);
	fprintf(out, ",\"heat_interval_ms\":%lld,\"min_size\":%lld,\"modules\":[", p->heat_interval_ms, p->min_size);
	for (int i = 0; i < p->num_modules; i++) {
		const struct prof_module *m = &p->modules[i];
		fputs(i ? ",{\"name\":" : "{\"name\":", out);
		put_string(out, m->name);
		fputs(",\"path\":", out);
		put_string(out, m->path);
		fputs(",\"build_id\":", out);
		put_string(out, m->build_id);
		fputs(",\"symbols\":", out);
		put_string(out, m->table);
		fputs(",\"debug_file\":", out);
		put_string(out, m->debug_file);
		fprintf(out, ",\"lines\":%s,\"warning\":", m->has_lines ? "true" : "false");
		put_string(out, m->warning);
		fputc('}', out);
	}
	fputs("],\"sites\":[", out);
	for (int i = 0; i < p->num_sites; i++) {
		fputs(i ? ",\n" : "\n", out);
		put_site(out, &p->sites[i]);
	}
	fputs("\n]}\n", out);
	return ferror(out) ? -1 : 0;
}

const char *profile_bytes(unsigned long long bytes, char *buf, size_t len)
{
	static const char prefixes[] = "KMGTP";
	if (bytes < 1024) {
		snprintf(buf, len, "%llu B", bytes);
		return buf;
	}
	double scaled = (double)bytes / 1024;
	int p = 0;
	for (; scaled >= 1024 && prefixes[p + 1]; p++)
		scaled /= 1024;
	snprintf(buf, len, "%.*f %ciB", scaled < 10 ? 1 : 0, scaled, prefixes[p]);
	return buf;
}

/* "compute_rhs (solver.c:42)", or the function alone, or the site text. */
const char *profile_site_label(const struct prof_site *s, char *buf, size_t len)
{
	for (int f = s->num_frames; f-- > 0;) {
		const struct prof_frame *fr = &s->frames[f];
		if (!fr->function)
			continue;
		const char *base = fr->file ? strrchr(fr->file, '/') : NULL;
		if (fr->file && fr->line > 0)
			snprintf(buf, len, "%s (%s:%ld)", fr->function, base ? base + 1 : fr->file, fr->line);
		else
			snprintf(buf, len, "%s", fr->function);
		return buf;
	}
	snprintf(buf, len, "%s", s->site);
	return buf;
}
