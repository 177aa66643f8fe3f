/* Sizes: "64K", "2MiB", "1g", "4096" to bytes and back to the shortest
 * exact spelling. Grammar: DIGITS [K|M|G|T [B|iB] | B], letters in either
 * case, powers of 1024. No sign, no spaces, no fractions. */
#include <stdint.h>
#include <string.h>

#include "internal.h"

/* Bits to shift for a suffix letter, or -1. */
static int suffix_shift(char c)
{
	switch (c) {
	case 'k': case 'K': return 10;
	case 'm': case 'M': return 20;
	case 'g': case 'G': return 30;
	case 't': case 'T': return 40;
	default: return -1;
	}
}

/* Whether s[0..n) is what may follow a K/M/G/T suffix: nothing, B or iB. */
static int is_byte_unit(const char *s, size_t n)
{
	return n == 0 || amlshim_keyword_is(s, n, "b") || amlshim_keyword_is(s, n, "ib");
}

_Static_assert(sizeof(size_t) >= 8, "T suffixes need a 64-bit size_t");

static int reject(const char *s, size_t n, struct amlshim_text *why, int too_large)
{
	if (n == 0) {
		amlshim_text_str(why, "empty size");
		return -1;
	}
	amlshim_text_quoted(why, s, n);
	if (too_large) {
		amlshim_text_str(why, " is too large (the largest size is ");
		amlshim_text_uint(why, SIZE_MAX);
		amlshim_text_str(why, ")");
	} else {
		amlshim_text_str(why, " is not a size");
	}
	return -1;
}

int amlshim_parse_size_span(const char *s, size_t n, size_t *out, struct amlshim_text *why)
{
	size_t at = 0, value = 0;
	int overflow = 0;
	for (; at < n && s[at] >= '0' && s[at] <= '9'; at++) {
		size_t digit = (size_t)(s[at] - '0');
		if (value > (SIZE_MAX - digit) / 10)
			overflow = 1;
		else
			value = value * 10 + digit;
	}
	if (at == 0)
		return reject(s, n, why, 0);
	int shift = 0;
	if (at < n && suffix_shift(s[at]) >= 0) {
		shift = suffix_shift(s[at]);
		if (!is_byte_unit(s + at + 1, n - at - 1))
			return reject(s, n, why, 0);
	} else if (!(at == n || amlshim_keyword_is(s + at, n - at, "b"))) {
		return reject(s, n, why, 0);
	}
	if (overflow || value > SIZE_MAX >> shift)
		return reject(s, n, why, 1);
	*out = value << shift;
	return 0;
}

int amlshim_parse_size(const char *text, size_t *out)
{
	char scratch[1];
	struct amlshim_text why;
	amlshim_text_init(&why, scratch, sizeof(scratch));
	return text ? amlshim_parse_size_span(text, strlen(text), out, &why) : -1;
}

void amlshim_text_size(struct amlshim_text *text, size_t size)
{
	static const struct { int shift; char letter; } suffixes[] = {
		{40, 'T'}, {30, 'G'}, {20, 'M'}, {10, 'K'},
	};
	for (size_t i = 0; size && i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		if ((size & (((size_t)1 << suffixes[i].shift) - 1)) == 0) {
			amlshim_text_uint(text, size >> suffixes[i].shift);
			amlshim_text_mem(text, &suffixes[i].letter, 1);
			return;
		}
	}
	amlshim_text_uint(text, size);
}

char *amlshim_format_size(size_t size, char *buf, size_t len)
{
	struct amlshim_text text;
	amlshim_text_init(&text, buf, len);
	amlshim_text_size(&text, size);
	amlshim_text_ellipsize(&text);
	return buf;
}
