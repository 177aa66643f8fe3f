/* Call-site profiles: the raw one the shim writes (AMLSHIM_PROFILE) and
 * the final one `amlshim profile` makes of it (frames named), read by
 * profile_read.c, named by symbolize.c, written by profile_write.c. */
#ifndef AMLSHIM_PROFILE_H
#define AMLSHIM_PROFILE_H

#include <stdio.h>

#include "report_json.h"

struct prof_frame {
	const char *module;       /* into the JSON tree */
	unsigned long long offset;
	char *function, *file;    /* malloc'ed, NULL: unknown */
	long line;                /* 0: unknown */
};

struct prof_site {
	const char *site;         /* "solver+0x1a2b>solver+0x1c00" */
	struct prof_frame *frames; /* caller first */
	int num_frames;
	unsigned long long count, bytes, largest, peak_live;
	double byte_seconds, first_s, last_s, alive_from_s, alive_to_s;
	double heat;
	int has_heat;
};

struct prof_module {
	const char *name, *path, *build_id; /* build_id NULL: none */
	const char *table;        /* out of symbolize: ".symtab", ".dynsym", NULL */
	const char *warning;      /* out of symbolize: why it has no names */
	char *debug_file;         /* out of symbolize: the detached debug file used */
	int has_lines;
};

struct profile {
	const char *file;
	struct json *tree;
	long long pid, rank;      /* rank -1: null */
	const char *host, *heat_method; /* heat_method NULL: null */
	double duration_s;
	long long heat_interval_ms, min_size;
	struct prof_module *modules;
	int num_modules;
	struct prof_site *sites;
	int num_sites;
};

/* Reads a raw or final profile. 0, or -1 with a reason in why. */
int profile_load(const char *path, struct profile *p, char *why, size_t why_len);
void profile_free(struct profile *p);
/* The final profile as JSON. 0, or -1 when the write failed. */
int profile_write(const struct profile *p, FILE *out);
/* Names every frame from its module's file (symbol table, build-id
 * checked; file:line through addr2line when there is debug info), or from
 * its detached debug file under debug_dir (NULL: none) when the module is
 * stripped. Warnings go to err, one line per module. */
void profile_symbolize(struct profile *p, FILE *err, const char *debug_dir);
/* "compute_rhs" of the innermost named frame, else the site text. */
const char *profile_site_name(const struct prof_site *s);
/* "compute_rhs (solver.c:42)" of the innermost named frame, else the site
 * text; into buf. */
const char *profile_site_label(const struct prof_site *s, char *buf, size_t len);
/* "1.5 MiB"; into buf. */
const char *profile_bytes(unsigned long long bytes, char *buf, size_t len);

#endif
