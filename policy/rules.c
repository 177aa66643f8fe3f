/* The size-range table: AMLSHIM_RULES text into sorted, non-overlapping
 * rules, and the lookup the shim does on every large allocation.
 *
 * RULES  := RULE (';' RULE)* [';']
 * RULE   := [MIN] '-' [MAX] '=' PLACEMENT     sizes in [MIN, MAX)
 * MIN left out is 0; MAX left out means no upper bound. */
#include <stdint.h>
#include <string.h>

#include "internal.h"

/* Where a rule was written, to name it in a message after sorting. */
struct written {
	const char *text;
	size_t len;
	int number; /* 1-based position in the variable */
};

static void name_rule(struct amlshim_text *why, const struct written *rule)
{
	amlshim_text_str(why, "rule ");
	amlshim_text_uint(why, (unsigned)rule->number);
	amlshim_text_str(why, " ");
	amlshim_text_quoted(why, rule->text, rule->len);
}

static int parse_bound(const char *s, size_t n, size_t if_empty, size_t *out,
                       struct amlshim_text *why)
{
	if (n == 0) {
		*out = if_empty;
		return 0;
	}
	return amlshim_parse_size_span(s, n, out, why);
}

/* One "MIN-MAX=PLACEMENT"; on error, why gets the whole clause. */
static int parse_rule(const struct written *written, struct amlshim_rule *rule,
                      struct amlshim_text *why)
{
	const char *s = written->text;
	size_t n = written->len;
	if (n == 0) {
		amlshim_text_str(why, "rule ");
		amlshim_text_uint(why, (unsigned)written->number);
		amlshim_text_str(why, " is empty");
		return -1;
	}
	name_rule(why, written);
	amlshim_text_str(why, ": ");
	const char *equals = memchr(s, '=', n);
	if (!equals) {
		amlshim_text_str(why, "no '=' (write MIN-MAX=PLACEMENT)");
		return -1;
	}
	size_t range_len = (size_t)(equals - s);
	const char *dash = memchr(s, '-', range_len);
	if (!dash) {
		amlshim_text_str(why, "no '-' in the size range (write MIN-MAX, MIN- or -MAX)");
		return -1;
	}
	size_t min_len = (size_t)(dash - s);
	if (parse_bound(s, min_len, 0, &rule->min, why) != 0 ||
	    parse_bound(dash + 1, range_len - min_len - 1, SIZE_MAX, &rule->max, why) != 0)
		return -1;
	if (rule->min >= rule->max) {
		amlshim_text_str(why, "MIN must be less than MAX");
		return -1;
	}
	return amlshim_parse_placement_span(equals + 1, n - range_len - 1, &rule->placement, why);
}

/* Insertion sort by min: at most AMLSHIM_MAX_RULES entries, and stable, so
 * equal mins are reported in the order written. */
static void sort_rules(struct amlshim_rule *rules, struct written *written, int count)
{
	for (int i = 1; i < count; i++) {
		struct amlshim_rule rule = rules[i];
		struct written where = written[i];
		int j = i;
		for (; j > 0 && rules[j - 1].min > rule.min; j--) {
			rules[j] = rules[j - 1];
			written[j] = written[j - 1];
		}
		rules[j] = rule;
		written[j] = where;
	}
}

int amlshim_parse_rules(const char *s, struct amlshim_rule *rules, struct amlshim_text *why)
{
	struct written written[AMLSHIM_MAX_RULES];
	size_t n = strlen(s);
	if (n && s[n - 1] == ';')
		n--; /* one trailing ';' is allowed */
	const char *end = s + n, *entry = s;
	int count = 0;
	for (int more = 1; more;) {
		const char *semicolon = memchr(entry, ';', (size_t)(end - entry));
		const char *entry_end = semicolon ? semicolon : end;
		more = semicolon != NULL;
		if (count == AMLSHIM_MAX_RULES) {
			amlshim_text_str(why, "more than ");
			amlshim_text_uint(why, AMLSHIM_MAX_RULES);
			amlshim_text_str(why, " rules");
			return -1;
		}
		written[count] = (struct written){entry, (size_t)(entry_end - entry), count + 1};
		struct amlshim_text before = *why;
		if (parse_rule(&written[count], &rules[count], why) != 0)
			return -1;
		/* parse_rule named the rule in case it failed; take that back. */
		*why = before;
		if (why->len < why->cap)
			why->buf[why->len] = '\0';
		count++;
		if (more)
			entry = semicolon + 1;
	}
	sort_rules(rules, written, count);
	for (int i = 0; i + 1 < count; i++) {
		if (rules[i].max > rules[i + 1].min) {
			name_rule(why, &written[i]);
			amlshim_text_str(why, " overlaps ");
			name_rule(why, &written[i + 1]);
			return -1;
		}
	}
	return count;
}

const struct amlshim_rule *amlshim_policy_rule_for(const struct amlshim_policy *policy, size_t size)
{
	/* Sorted and disjoint: the first rule whose max is above size is the
	 * only candidate. An open-ended rule (max SIZE_MAX) is last and covers
	 * SIZE_MAX itself. */
	const struct amlshim_rule *rule = policy->rules, *end = rule + policy->num_rules;
	while (rule < end && rule->max <= size && rule->max != SIZE_MAX)
		rule++;
	return rule < end && size >= rule->min ? rule : NULL;
}
