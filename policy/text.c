/* Bounded text building for placement spellings and message lines: fixed
 * buffers, no allocation, no stdio, and values quoted so that a hostile
 * environment variable cannot forge or split a line. */
#include <string.h>

#include "internal.h"

void amlshim_text_init(struct amlshim_text *text, char *buf, size_t cap)
{
	text->buf = buf;
	text->cap = cap;
	text->len = 0;
	text->room_len = 0;
	text->truncated = cap == 0;
	if (cap)
		buf[0] = '\0';
}

void amlshim_text_mem(struct amlshim_text *text, const char *s, size_t n)
{
	/* All or nothing, and nothing once anything was dropped: a text never
	 * ends in half an escape or skips a piece in the middle. */
	if (text->truncated || n >= text->cap - text->len) {
		text->truncated = 1;
		return;
	}
	memcpy(text->buf + text->len, s, n);
	text->len += n;
	text->buf[text->len] = '\0';
	if (text->len + 4 <= text->cap)
		text->room_len = text->len;
}

void amlshim_text_str(struct amlshim_text *text, const char *s)
{
	amlshim_text_mem(text, s, strlen(s));
}

void amlshim_text_uint(struct amlshim_text *text, unsigned long long value)
{
	char digits[24];
	size_t at = sizeof(digits);
	do {
		digits[--at] = (char)('0' + value % 10);
		value /= 10;
	} while (value);
	amlshim_text_mem(text, digits + at, sizeof(digits) - at);
}

static void append_escaped_byte(struct amlshim_text *text, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";
	if (c == '\'' || c == '\\') {
		char pair[2] = {'\\', (char)c};
		amlshim_text_mem(text, pair, 2);
	} else if (c < 0x20 || c >= 0x7f) {
		char code[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
		amlshim_text_mem(text, code, 4);
	} else {
		char plain = (char)c;
		amlshim_text_mem(text, &plain, 1);
	}
}

void amlshim_text_quoted(struct amlshim_text *text, const char *s, size_t n)
{
	size_t shown = n < AMLSHIM_QUOTE_MAX ? n : AMLSHIM_QUOTE_MAX;
	amlshim_text_mem(text, "'", 1);
	for (size_t i = 0; i < shown; i++)
		append_escaped_byte(text, (unsigned char)s[i]);
	amlshim_text_mem(text, "'", 1);
	if (shown < n) {
		amlshim_text_str(text, "...(");
		amlshim_text_uint(text, n);
		amlshim_text_str(text, " bytes)");
	}
}

void amlshim_text_ellipsize(struct amlshim_text *text)
{
	if (!text->truncated || text->cap < 4)
		return;
	/* Back up to the end of a whole append, so no escape is cut. */
	memcpy(text->buf + text->room_len, "...", 4);
	text->len = text->room_len + 3;
}

int amlshim_keyword_is(const char *s, size_t n, const char *keyword)
{
	size_t i = 0;
	for (; i < n && keyword[i]; i++) {
		char c = s[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != keyword[i])
			return 0;
	}
	return i == n && keyword[i] == '\0';
}

char *amlshim_quote_value(const char *value, char *buf, size_t len)
{
	struct amlshim_text text;
	amlshim_text_init(&text, buf, len);
	amlshim_text_quoted(&text, value, strlen(value));
	amlshim_text_ellipsize(&text);
	return buf;
}

void amlshim_text_bad_value(struct amlshim_text *text, const char *name, const char *value,
                            const char *reason, const char *accepted)
{
	amlshim_text_str(text, "amlshim: ");
	amlshim_text_str(text, name);
	amlshim_text_str(text, "=");
	amlshim_text_quoted(text, value, strlen(value));
	amlshim_text_str(text, " is not valid: ");
	amlshim_text_str(text, reason);
	amlshim_text_str(text, "; accepted: ");
	amlshim_text_str(text, accepted);
}

int amlshim_parse_decimal(const char *s, size_t n, unsigned long max, unsigned long *out)
{
	unsigned long value = 0;
	if (n == 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (value <= max)
			value = value * 10 + (unsigned long)(s[i] - '0');
	}
	if (value > max)
		return -2;
	*out = value;
	return 0;
}
