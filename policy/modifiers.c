/* The modifiers after a placement: "bandwidth+share", "interleave+thp",
 * "bind:2+huge:2M+share:dynamic". Each is "+NAME[:ARG]", at most one of
 * each family (share, page size); what they mean is the shim's business,
 * this file only checks the text and where a modifier makes sense. */
#include <string.h>

#include "internal.h"

/* Placements a node budget applies to: the ranked ones and the named node
 * policies (a budget over "the kernel's choice" means nothing). */
static int takes_share(enum amlshim_placement_kind kind)
{
	return kind == AMLSHIM_PLACE_BANDWIDTH || kind == AMLSHIM_PLACE_LATENCY ||
	       kind == AMLSHIM_PLACE_CAPACITY || kind == AMLSHIM_PLACE_BIND ||
	       kind == AMLSHIM_PLACE_PREFERRED;
}

/* Page sizes are a property of host mappings; CUDA memory has its own. */
static int takes_pages(enum amlshim_placement_kind kind)
{
	return kind != AMLSHIM_PLACE_CUDA_MAPPED && kind != AMLSHIM_PLACE_CUDA_MANAGED;
}

static void not_with(struct amlshim_text *why, const char *modifier, const struct amlshim_placement *p)
{
	amlshim_text_str(why, "modifier '+");
	amlshim_text_str(why, modifier);
	amlshim_text_str(why, "' does not apply to ");
	amlshim_text_str(why, amlshim_placement_kind_name(p->kind));
}

static int parse_share(const char *arg, size_t n, int has_arg, struct amlshim_placement *p,
                       struct amlshim_text *why)
{
	if (!has_arg || amlshim_keyword_is(arg, n, "static")) {
		p->share = AMLSHIM_SHARE_STATIC;
		return 0;
	}
	if (amlshim_keyword_is(arg, n, "dynamic")) {
		p->share = AMLSHIM_SHARE_DYNAMIC;
		return 0;
	}
	amlshim_text_str(why, "share mode ");
	amlshim_text_quoted(why, arg, n);
	amlshim_text_str(why, " is not static or dynamic");
	return -1;
}

/* A huge page size: a power of two from 64K (the smallest any Linux port
 * uses) up; whether the kernel has a pool of it is the shim's check. */
static int parse_huge(const char *arg, size_t n, int has_arg, struct amlshim_placement *p,
                      struct amlshim_text *why)
{
	size_t size;
	if (!has_arg) {
		amlshim_text_str(why, "huge needs a page size (+huge:2M)");
		return -1;
	}
	if (amlshim_parse_size_span(arg, n, &size, why) != 0)
		return -1;
	if (size < ((size_t)64 << 10) || (size & (size - 1))) {
		amlshim_text_str(why, "huge page size ");
		amlshim_text_quoted(why, arg, n);
		amlshim_text_str(why, " is not a power of two of at least 64K");
		return -1;
	}
	p->pages = AMLSHIM_PAGES_HUGETLB;
	p->huge_size = size;
	return 0;
}

static int parse_one(const char *s, size_t n, struct amlshim_placement *p, struct amlshim_text *why)
{
	const char *colon = memchr(s, ':', n);
	size_t name_len = colon ? (size_t)(colon - s) : n;
	const char *arg = colon ? colon + 1 : s + n;
	size_t arg_len = colon ? n - name_len - 1 : 0;
	if (amlshim_keyword_is(s, name_len, "share")) {
		if (!takes_share(p->kind)) {
			not_with(why, "share", p);
			return -1;
		}
		if (p->share != AMLSHIM_SHARE_NONE) {
			amlshim_text_str(why, "'+share' given twice");
			return -1;
		}
		return parse_share(arg, arg_len, colon != NULL, p, why);
	}
	int thp = amlshim_keyword_is(s, name_len, "thp"), nothp = amlshim_keyword_is(s, name_len, "nothp");
	int huge = amlshim_keyword_is(s, name_len, "huge");
	if (!thp && !nothp && !huge) {
		amlshim_text_str(why, "unknown modifier ");
		amlshim_text_quoted(why, s, name_len);
		amlshim_text_str(why, " (share, share:dynamic, thp, nothp, huge:SIZE)");
		return -1;
	}
	const char *name = thp ? "thp" : nothp ? "nothp" : "huge";
	if (!takes_pages(p->kind)) {
		not_with(why, name, p);
		return -1;
	}
	/* These populate when they map and advise each range themselves (huge
	 * pages only where a block is whole huge pages): a later advice would
	 * come too late and contradict theirs. */
	if (thp && (p->kind == AMLSHIM_PLACE_BLOCK_INTERLEAVE || p->kind == AMLSHIM_PLACE_WEIGHTED_INTERLEAVE)) {
		not_with(why, name, p);
		amlshim_text_str(why, " (it chooses its page size: blocks of whole huge pages, e.g. 2M, get them)");
		return -1;
	}
	if (p->pages != AMLSHIM_PAGES_DEFAULT) {
		amlshim_text_str(why, "one page size modifier at most (thp, nothp or huge:SIZE)");
		return -1;
	}
	if (huge)
		return parse_huge(arg, arg_len, colon != NULL, p, why);
	if (colon) {
		amlshim_text_str(why, "'+");
		amlshim_text_str(why, name);
		amlshim_text_str(why, "' takes no argument");
		return -1;
	}
	p->pages = thp ? AMLSHIM_PAGES_THP : AMLSHIM_PAGES_NOTHP;
	return 0;
}

int amlshim_parse_modifiers(const char *s, size_t n, struct amlshim_placement *p, struct amlshim_text *why)
{
	const char *end = s + n;
	for (;;) {
		const char *plus = memchr(s, '+', (size_t)(end - s));
		size_t len = (size_t)((plus ? plus : end) - s);
		if (len == 0) {
			amlshim_text_str(why, "empty modifier after '+'");
			return -1;
		}
		if (parse_one(s, len, p, why) != 0)
			return -1;
		if (!plus)
			return 0;
		s = plus + 1;
	}
}

void amlshim_text_modifiers(struct amlshim_text *text, const struct amlshim_placement *p)
{
	if (p->share == AMLSHIM_SHARE_STATIC)
		amlshim_text_str(text, "+share");
	else if (p->share == AMLSHIM_SHARE_DYNAMIC)
		amlshim_text_str(text, "+share:dynamic");
	if (p->pages == AMLSHIM_PAGES_THP)
		amlshim_text_str(text, "+thp");
	else if (p->pages == AMLSHIM_PAGES_NOTHP)
		amlshim_text_str(text, "+nothp");
	else if (p->pages == AMLSHIM_PAGES_HUGETLB) {
		amlshim_text_str(text, "+huge:");
		amlshim_text_size(text, p->huge_size);
	}
}
