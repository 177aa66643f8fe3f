/* A small strict JSON reader for `amlshim report`: RFC 8259 values, no
 * extensions (no comments, trailing commas, NaN), nesting at most 64 deep.
 * Strings are kept as bytes; \u escapes above 0x7f become UTF-8. */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_json.h"

#define MAX_DEPTH 64

struct reader {
	const char *s;
	size_t len, pos;
	char *why;
	size_t why_len;
	int failed;
};

static int fail(struct reader *r, const char *what)
{
	if (!r->failed)
		snprintf(r->why, r->why_len, "%s at byte %zu", what, r->pos);
	r->failed = 1;
	return -1;
}

static void skip_space(struct reader *r)
{
	while (r->pos < r->len && strchr(" \t\r\n", r->s[r->pos]) && r->s[r->pos])
		r->pos++;
}

static int peek(const struct reader *r)
{
	return r->pos < r->len ? (unsigned char)r->s[r->pos] : -1;
}

static int literal(struct reader *r, const char *word)
{
	size_t n = strlen(word);
	if (r->len - r->pos < n || memcmp(r->s + r->pos, word, n) != 0)
		return fail(r, r->pos >= r->len ? "unexpected end of file" : "unexpected character");
	r->pos += n;
	return 0;
}

static int hex4(struct reader *r, unsigned *out)
{
	*out = 0;
	for (int i = 0; i < 4; i++, r->pos++) {
		int c = peek(r);
		int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (v < 0)
			return fail(r, "bad \\u escape");
		*out = *out * 16 + (unsigned)v;
	}
	return 0;
}

/* A string at r->pos (on its opening quote) into a new buffer. */
static char *read_string(struct reader *r)
{
	char *out = malloc(r->len - r->pos + 1); /* the text is never shorter than its value */
	size_t n = 0;
	if (!out) {
		fail(r, "out of memory");
		return NULL;
	}
	r->pos++;
	for (;;) {
		int c = peek(r);
		if (c < 0) {
			fail(r, "unexpected end of file in a string");
			break;
		}
		r->pos++;
		if (c == '"') {
			out[n] = '\0';
			char *shrunk = realloc(out, n + 1);
			return shrunk ? shrunk : out;
		}
		if (c < 0x20) {
			r->pos--;
			fail(r, "control character in a string");
			break;
		}
		if (c != '\\') {
			out[n++] = (char)c;
			continue;
		}
		c = peek(r);
		r->pos++;
		const char *plain = strchr("\"\\/bfnrt", c > 0 ? c : 'x');
		if (c > 0 && plain) {
			out[n++] = "\"\\/\b\f\n\r\t"[plain - "\"\\/bfnrt"];
			continue;
		}
		unsigned code;
		if (c != 'u' || hex4(r, &code) != 0) {
			fail(r, "bad escape in a string");
			break;
		}
		if (code == 0) {
			fail(r, "\\u0000 in a string");
			break;
		}
		/* Surrogates are kept as three bytes each: reports never hold them. */
		if (code < 0x80) {
			out[n++] = (char)code;
		} else if (code < 0x800) {
			out[n++] = (char)(0xc0 | code >> 6);
			out[n++] = (char)(0x80 | (code & 0x3f));
		} else {
			out[n++] = (char)(0xe0 | code >> 12);
			out[n++] = (char)(0x80 | (code >> 6 & 0x3f));
			out[n++] = (char)(0x80 | (code & 0x3f));
		}
	}
	free(out);
	return NULL;
}

static int read_number(struct reader *r, struct json *v)
{
	size_t start = r->pos;
	if (peek(r) == '-')
		r->pos++;
	if (peek(r) == '0')
		r->pos++;
	else if (peek(r) >= '1' && peek(r) <= '9')
		while (peek(r) >= '0' && peek(r) <= '9')
			r->pos++;
	else
		return fail(r, "bad number");
	if (peek(r) == '.') {
		r->pos++;
		if (!(peek(r) >= '0' && peek(r) <= '9'))
			return fail(r, "bad number");
		while (peek(r) >= '0' && peek(r) <= '9')
			r->pos++;
	}
	if (peek(r) == 'e' || peek(r) == 'E') {
		r->pos++;
		if (peek(r) == '+' || peek(r) == '-')
			r->pos++;
		if (!(peek(r) >= '0' && peek(r) <= '9'))
			return fail(r, "bad number");
		while (peek(r) >= '0' && peek(r) <= '9')
			r->pos++;
	}
	char buf[64];
	size_t n = r->pos - start;
	if (n >= sizeof(buf))
		return fail(r, "number too long");
	memcpy(buf, r->s + start, n);
	buf[n] = '\0';
	v->type = JSON_NUMBER;
	v->number = strtod(buf, NULL);
	return isfinite(v->number) ? 0 : fail(r, "number out of range");
}

static int read_value(struct reader *r, struct json *v, int depth);

/* An array or object at r->pos (on its bracket). */
static int read_container(struct reader *r, struct json *v, int depth)
{
	int object = peek(r) == '{';
	char close = object ? '}' : ']';
	size_t cap = 0;
	v->type = object ? JSON_OBJECT : JSON_ARRAY;
	if (depth >= MAX_DEPTH)
		return fail(r, "nested too deep");
	r->pos++;
	skip_space(r);
	if (peek(r) == close) {
		r->pos++;
		return 0;
	}
	for (;;) {
		if (v->count == cap) {
			cap = cap ? 2 * cap : 8;
			struct json *grown = realloc(v->children, cap * sizeof(*grown));
			if (!grown)
				return fail(r, "out of memory");
			v->children = grown;
		}
		struct json *child = &v->children[v->count];
		memset(child, 0, sizeof(*child));
		v->count++;
		skip_space(r);
		if (object) {
			if (peek(r) != '"')
				return fail(r, peek(r) < 0 ? "unexpected end of file" : "expected a member name");
			if (!(child->key = read_string(r)))
				return -1;
			skip_space(r);
			if (peek(r) != ':')
				return fail(r, peek(r) < 0 ? "unexpected end of file" : "expected ':'");
			r->pos++;
		}
		if (read_value(r, child, depth + 1) != 0)
			return -1;
		skip_space(r);
		if (peek(r) == ',') {
			r->pos++;
			continue;
		}
		if (peek(r) == close) {
			r->pos++;
			return 0;
		}
		return fail(r, peek(r) < 0 ? "unexpected end of file" : object ? "expected ',' or '}'" : "expected ',' or ']'");
	}
}

static int read_value(struct reader *r, struct json *v, int depth)
{
	skip_space(r);
	switch (peek(r)) {
	case -1:
		return fail(r, "unexpected end of file");
	case '{':
	case '[':
		return read_container(r, v, depth);
	case '"':
		v->type = JSON_STRING;
		return (v->string = read_string(r)) ? 0 : -1;
	case 't':
		v->type = JSON_BOOL;
		v->number = 1;
		return literal(r, "true");
	case 'f':
		v->type = JSON_BOOL;
		return literal(r, "false");
	case 'n':
		v->type = JSON_NULL;
		return literal(r, "null");
	default:
		if (peek(r) != '-' && !(peek(r) >= '0' && peek(r) <= '9'))
			return fail(r, "unexpected character");
		return read_number(r, v);
	}
}

static void free_children(struct json *v)
{
	for (size_t i = 0; i < v->count; i++) {
		free_children(&v->children[i]);
		free(v->children[i].key);
		free(v->children[i].string);
	}
	free(v->children);
}

void json_free(struct json *value)
{
	if (!value)
		return;
	free_children(value);
	free(value->string);
	free(value);
}

struct json *json_parse(const char *text, size_t len, char *why, size_t why_len)
{
	struct reader r = {text, len, 0, why, why_len, 0};
	struct json *v = calloc(1, sizeof(*v));
	if (!v) {
		snprintf(why, why_len, "out of memory");
		return NULL;
	}
	if (read_value(&r, v, 0) == 0) {
		skip_space(&r);
		if (r.pos == r.len)
			return v;
		fail(&r, "text after the JSON value");
	}
	json_free(v);
	return NULL;
}

const struct json *json_get(const struct json *object, const char *key)
{
	if (!object || object->type != JSON_OBJECT)
		return NULL;
	for (size_t i = 0; i < object->count; i++)
		if (strcmp(object->children[i].key, key) == 0)
			return &object->children[i];
	return NULL;
}

int json_get_long(const struct json *object, const char *key, long long min, long long max, long long *out)
{
	const struct json *v = json_get(object, key);
	if (!v || v->type != JSON_NUMBER || v->number < (double)min || v->number > (double)max ||
	    (double)(long long)v->number != v->number)
		return -1;
	*out = (long long)v->number;
	return 0;
}
