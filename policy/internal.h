/* Internal to the policy layer: bounded text building and the parsers that
 * work on a span of a larger value (a rule inside AMLSHIM_RULES). Nothing
 * here allocates, keeps state or touches stdio, so all of it may run inside
 * a malloc call during the shim's lazy init. */
#ifndef AMLSHIM_POLICY_INTERNAL_H
#define AMLSHIM_POLICY_INTERNAL_H

#include <stddef.h>

#include "policy.h"

#define AMLSHIM_HIDDEN __attribute__((visibility("hidden")))

/* Block-interleave block sizes must be multiples of this (the smallest
 * page size Linux uses; the shim checks the real page size when it builds
 * the area). */
#define AMLSHIM_BLOCK_ALIGN ((size_t)4096)

/* Text built into a caller's buffer. Appends never overflow and the buffer
 * is always NUL-terminated; an append that does not fit whole marks the
 * text truncated and every later append is dropped, so an escape sequence
 * is never cut in half (not even by the "..." that ends a cut text). */
struct amlshim_text {
	char *buf;
	size_t cap;
	size_t len;
	size_t room_len; /* longest whole-append prefix that leaves room for "..." */
	int truncated;
};

/* Decimal digits s[0..n) into *out, at most max (below ULONG_MAX / 10): 0;
 * -1 when empty or not all digits; -2 when over max (it saturates, never
 * wraps). The node, device and launcher numbers. */
AMLSHIM_HIDDEN int amlshim_parse_decimal(const char *s, size_t n, unsigned long max, unsigned long *out);
AMLSHIM_HIDDEN void amlshim_text_init(struct amlshim_text *text, char *buf, size_t cap);
AMLSHIM_HIDDEN void amlshim_text_mem(struct amlshim_text *text, const char *s, size_t n);
AMLSHIM_HIDDEN void amlshim_text_str(struct amlshim_text *text, const char *s);
AMLSHIM_HIDDEN void amlshim_text_uint(struct amlshim_text *text, unsigned long long value);
/* 'value' with bytes outside printable ASCII (and ' and \) escaped, at
 * most AMLSHIM_QUOTE_MAX bytes of it, then "...(N bytes)" if it was cut. */
AMLSHIM_HIDDEN void amlshim_text_quoted(struct amlshim_text *text, const char *s, size_t n);
/* Ends a truncated text with "..." so a reader sees it was cut. */
AMLSHIM_HIDDEN void amlshim_text_ellipsize(struct amlshim_text *text);
/* Whether s[0..n) is keyword (given in lower case), ASCII
 * case-insensitively (no locale: the parser may run before libc has set
 * one up). */
AMLSHIM_HIDDEN int amlshim_keyword_is(const char *s, size_t n, const char *keyword);

/* Starts the one line about a bad value: "amlshim: NAME='VALUE' is not
 * valid: REASON; accepted: FORMS" (the caller may append, then ellipsize). */
AMLSHIM_HIDDEN void amlshim_text_bad_value(struct amlshim_text *text, const char *name, const char *value,
                                           const char *reason, const char *accepted);

/* Span versions of the public parsers: the reason for a rejection is
 * appended to why (one clause, no variable name, values quoted). */
AMLSHIM_HIDDEN int amlshim_parse_size_span(const char *s, size_t n, size_t *out,
                                           struct amlshim_text *why);
/* names NULL: numbers only; else node set names are accepted too, as bits
 * of *names. */
AMLSHIM_HIDDEN int amlshim_parse_nodes_span(const char *s, size_t n, unsigned long *nodes,
                                            int *all_nodes, unsigned *names,
                                            struct amlshim_text *why);
AMLSHIM_HIDDEN int amlshim_parse_placement_span(const char *s, size_t n,
                                                struct amlshim_placement *out,
                                                struct amlshim_text *why);
/* Parses AMLSHIM_RULES text into rules[] sorted by min; returns the count
 * or -1 with a reason in why. */
AMLSHIM_HIDDEN int amlshim_parse_rules(const char *s, struct amlshim_rule *rules,
                                       struct amlshim_text *why);

/* The "+MODIFIER[:ARG]..." tail of a placement (s points after the first
 * '+'), applied to *p whose kind is already parsed; 0 or -1 with a reason. */
AMLSHIM_HIDDEN int amlshim_parse_modifiers(const char *s, size_t n, struct amlshim_placement *p,
                                           struct amlshim_text *why);
/* Appends the canonical "+share..." "+thp" tail of p. */
AMLSHIM_HIDDEN void amlshim_text_modifiers(struct amlshim_text *text, const struct amlshim_placement *p);

/* Canonical spellings used in placement text and reports. */
AMLSHIM_HIDDEN void amlshim_text_size(struct amlshim_text *text, size_t size);
AMLSHIM_HIDDEN void amlshim_text_nodes(struct amlshim_text *text, const unsigned long *nodes);
/* Names first, in enum order, then the numbers: "local,3". */
AMLSHIM_HIDDEN void amlshim_text_node_set(struct amlshim_text *text, unsigned names,
                                          const unsigned long *nodes);
/* The kernel-default placement ("default", no nodes). */
AMLSHIM_HIDDEN void amlshim_placement_default(struct amlshim_placement *out);

#endif
