/* amlshim advise's input and output: the sites of several profiles (one
 * per rank) merged by their text, and the chosen ones written as an
 * AMLSHIM_SITES file, one `FRAMES = POLICY` rule each under a comment
 * naming its function. Merging: counts, bytes and byte-seconds add up
 * (the job's totals); largest and peak live take the maximum (capacity is
 * per rank, so one rank's need is what must fit); the lifetime is the
 * union; heat (writes per page per second) adds up weighted by peak live
 * (heat x peak live summed over ranks: bytes rewritten per second). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "advise.h"

static int named_frames(const struct prof_site *s)
{
	int n = 0;
	for (int f = 0; f < s->num_frames; f++)
		n += s->frames[f].function != NULL;
	return n;
}

static void add(struct merged_site *m, const struct prof_site *s)
{
	if (m->profiles++ == 0) {
		m->alive_from_s = s->alive_from_s;
		m->alive_to_s = s->alive_to_s;
	} else if (m->alive_from_s > m->alive_to_s || s->alive_from_s > s->alive_to_s) {
		m->alive_from_s = 1; /* one unknown lifetime: unknown */
		m->alive_to_s = 0;
	} else {
		m->alive_from_s = s->alive_from_s < m->alive_from_s ? s->alive_from_s : m->alive_from_s;
		m->alive_to_s = s->alive_to_s > m->alive_to_s ? s->alive_to_s : m->alive_to_s;
	}
	if (!m->named || named_frames(s) > named_frames(m->named))
		m->named = s;
	m->count += s->count;
	m->bytes += s->bytes;
	m->largest = s->largest > m->largest ? s->largest : m->largest;
	m->peak_live = s->peak_live > m->peak_live ? s->peak_live : m->peak_live;
	m->byte_seconds += s->byte_seconds;
	if (s->has_heat) {
		m->has_heat = 1;
		m->heat_bytes += s->heat * (double)s->peak_live;
		m->heat_weight += (double)s->peak_live;
	}
}

struct merged_site *advise_merge(const struct profile *profiles, int n, int *count)
{
	int total = 0;
	for (int p = 0; p < n; p++)
		total += profiles[p].num_sites;
	struct merged_site *out = calloc((size_t)total + 1, sizeof(*out));
	if (!out)
		return NULL;
	*count = 0;
	/* Quadratic in sites, which number hundreds at most: profiles keep
	 * only large allocations. */
	for (int p = 0; p < n; p++)
		for (int i = 0; i < profiles[p].num_sites; i++) {
			const struct prof_site *s = &profiles[p].sites[i];
			int k = 0;
			while (k < *count && strcmp(out[k].named->site, s->site) != 0)
				k++;
			if (k == *count)
				(*count)++;
			add(&out[k], s);
		}
	return out;
}

const char *advise_file_prefix(const char *path)
{
	return path[0] == '/' || path[0] == '.' ? "" : "./";
}

void advise_policy(const struct fast_nodes *fast, char *buf, size_t len)
{
	/* One node: preferred, so an allocation the profile did not foresee
	 * spills instead of failing; several: bind to them all. */
	if (fast->count == 1)
		snprintf(buf, len, "preferred:%d", fast->first);
	else
		snprintf(buf, len, "bind:%s", fast->text);
}

/* The rule's stack, caller first, from the frames (the canonical
 * spelling); -1 when a module name would not read back as one. */
static int write_stack(FILE *f, const struct prof_site *s)
{
	for (int i = 0; i < s->num_frames; i++)
		if (strpbrk(s->frames[i].module, " \t=>;#\n\r"))
			return -1;
	for (int i = 0; i < s->num_frames; i++)
		fprintf(f, "%s%s+0x%llx", i ? ">" : "", s->frames[i].module, s->frames[i].offset);
	return 0;
}

/* A comment stays on its line. */
static void one_line(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20)
			*s = '?';
}

int advise_write_sites(const char *path, const struct merged_site *sites, int count,
                       const struct fast_nodes *fast, unsigned long long capacity, int by_heat)
{
	char policy[300], why[200], label[300], size[32];
	struct amlshim_placement check;
	advise_policy(fast, policy, sizeof(policy));
	if (amlshim_parse_placement(policy, &check, why, sizeof(why)) != 0) {
		fprintf(stderr, "amlshim advise: the policy %s is not valid: %s\n", policy, why);
		return -1;
	}
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "amlshim advise: cannot write %s: %s\n", path, strerror(errno));
		return -1;
	}
	fprintf(f, "# AMLSHIM_SITES written by amlshim advise: the sites chosen for the fast\n"
	           "# memory (node%s %s, %s per rank), by %s. Use: AMLSHIM_SITES=%s%s\n",
	        fast->count > 1 ? "s" : "", fast->text, profile_bytes(capacity, size, sizeof(size)),
	        by_heat ? "heat" : "bytes alive per byte (no heat measured)", advise_file_prefix(path), path);
	for (int i = 0; i < count; i++) {
		if (!sites[i].chosen)
			continue;
		const struct prof_site *s = sites[i].named;
		profile_site_label(s, label, sizeof(label));
		one_line(label);
		fprintf(f, "# %s: peak live %s", label, profile_bytes(sites[i].peak_live, size, sizeof(size)));
		if (sites[i].has_heat)
			fprintf(f, ", heat %.3g", sites[i].heat_bytes / (sites[i].heat_weight > 0 ? sites[i].heat_weight : 1));
		fputc('\n', f);
		if (write_stack(f, s) != 0) {
			fprintf(f, "# (left out: a module name holds a space, '=', '>', ';' or '#')\n");
			fprintf(stderr, "amlshim advise: %s: a module name cannot be written in a rule; left out\n", s->site);
			continue;
		}
		fprintf(f, " = %s\n", policy);
	}
	if (fclose(f) != 0) {
		fprintf(stderr, "amlshim advise: cannot write %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}
