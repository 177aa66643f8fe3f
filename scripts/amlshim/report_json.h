/* A small strict JSON reader (report_json.c) for the shim's own reports:
 * the whole text into a tree, or a reason with the byte offset where the
 * text stopped being JSON. */
#ifndef AMLSHIM_REPORT_JSON_H
#define AMLSHIM_REPORT_JSON_H

#include <stddef.h>

enum json_type { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

struct json {
	enum json_type type;
	double number;         /* JSON_NUMBER, JSON_BOOL (0 or 1) */
	char *string;          /* JSON_STRING (NUL-terminated, no NUL inside) */
	char *key;             /* set on a member of an object */
	struct json *children; /* JSON_ARRAY, JSON_OBJECT: in order */
	size_t count;
};

/* Parses text[0..len) as one JSON value (surrounding white space allowed).
 * Returns the tree, or NULL with a reason in why. */
struct json *json_parse(const char *text, size_t len, char *why, size_t why_len);
void json_free(struct json *value);
/* The member named key of an object, or NULL (also when not an object). */
const struct json *json_get(const struct json *object, const char *key);
/* A member that is a whole number in [min, max]: 0 and *out, else -1. */
int json_get_long(const struct json *object, const char *key, long long min, long long max, long long *out);

#endif
