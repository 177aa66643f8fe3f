/* Call-site rules (AMLSHIM_SITES) and the site variables (AMLSHIM_SITE_DEPTH,
 * AMLSHIM_SITE_MIN): text into a fixed table, pure like the rest of the
 * parser (no allocation, no I/O; the shim reads a rules file and hands its
 * bytes here). The shim resolves module offsets and function names. */
#ifndef AMLSHIM_POLICY_SITES_H
#define AMLSHIM_POLICY_SITES_H

#include <stddef.h>
#include <stdint.h>

#include "policy.h"

#define AMLSHIM_MAX_SITE_RULES 32
#define AMLSHIM_SITE_MAX_DEPTH 64     /* frames captured at most */
#define AMLSHIM_SITE_DEFAULT_DEPTH 6
#define AMLSHIM_PROFILE_DEFAULT_INTERVAL 50 /* ms */
#define AMLSHIM_SITE_NAME_MAX 96      /* module or function name, NUL included */
#define AMLSHIM_SITES_TEXT_MAX 65536  /* longest rules text (a file) */

enum amlshim_site_kind {
	AMLSHIM_SITE_STACK,     /* MODULE+0xOFF>...>MODULE+0xOFF, caller first */
	AMLSHIM_SITE_FUNC,      /* func=NAME: any captured frame in NAME */
	AMLSHIM_SITE_FUNC_PAIR, /* func=A>B: a frame in B whose caller is in A */
};

struct amlshim_site_frame {
	char module[AMLSHIM_SITE_NAME_MAX]; /* the ELF file's base name */
	uint64_t offset;                    /* return address - load bias */
};

struct amlshim_site_rule {
	enum amlshim_site_kind kind;
	int num_frames;                     /* stack rules: frames[0] is the outermost */
	struct amlshim_site_frame frames[AMLSHIM_SITE_MAX_DEPTH];
	char func[2][AMLSHIM_SITE_NAME_MAX]; /* FUNC: func[1]; FUNC_PAIR: caller func[0], callee func[1] */
	size_t cap;                         /* cap=SIZE budget of live bytes, 0: none */
	struct amlshim_placement placement;
	char text[512];                     /* canonical: "SITE = PLACEMENT[ cap=SIZE]" */
};

struct amlshim_sites {
	struct amlshim_site_rule rules[AMLSHIM_MAX_SITE_RULES];
	int count;
	int depth;   /* AMLSHIM_SITE_DEPTH, default 6 */
	size_t min;  /* AMLSHIM_SITE_MIN, else AMLSHIM_PROFILE_MIN_SIZE; 0 when unset (the threshold) */
	unsigned interval_ms; /* AMLSHIM_PROFILE_INTERVAL, 1..60000, default 50 */
	int errors;  /* bad values reported */
};

/* Rules text text[0..len) into out->rules. value is what the variable
 * held (the text itself, or a file's path), named in the message. On bad
 * input (a bad rule, binary bytes, more than AMLSHIM_SITES_TEXT_MAX bytes):
 * one line through sink ("amlshim: AMLSHIM_SITES='...' is not valid: ...;
 * accepted: ..."), no rules, out->errors counted, -1. Else the rule count. */
int amlshim_sites_parse(const char *value, const char *text, size_t len, struct amlshim_sites *out,
                        amlshim_message_sink sink, void *sink_ctx);
/* AMLSHIM_SITE_DEPTH (1..16), AMLSHIM_SITE_MIN (a size; its other name,
 * which `amlshim profile --min-size` sets: AMLSHIM_PROFILE_MIN_SIZE) and
 * AMLSHIM_PROFILE_INTERVAL (ms); a bad one is one line and takes its
 * default. Clears out first. */
void amlshim_sites_parse_vars(struct amlshim_sites *out, amlshim_env_reader env, void *env_ctx,
                              amlshim_message_sink sink, void *sink_ctx);
/* "solver+0x1a2b>solver+0x1c00" or "func=a>b" of a rule into buf. */
char *amlshim_site_text(const struct amlshim_site_rule *rule, char *buf, size_t len);
/* The accepted forms, for messages. */
extern const char amlshim_sites_accepted[];

#endif
