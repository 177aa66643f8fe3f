/* libFuzzer target: the whole AMLSHIM_* environment at once.
 *
 * Input: two bytes choose which of the twelve variables are set (bit i of
 * the first byte for the first eight, bits 0 to 3 of the second for
 * AMLSHIM_STRICT, AMLSHIM_DEEPBIND, AMLSHIM_SHARE_SETTLE and AMLSHIM_LEDGER);
 * the rest is cut at NUL bytes into the values of the set
 * variables, in order (missing ones are empty). The parse must keep every
 * invariant of fuzz.h, and also: read each variable exactly once and no
 * other name; report as many lines as it counts errors, at most one per
 * variable; fall back as documented (a bad placement variable empties the
 * table); give the same result twice. */
#include "fuzz.h"

static void split(const uint8_t *data, size_t size, struct fuzz_env *env, char *storage)
{
	memset(env, 0, sizeof(*env));
	unsigned mask = size > 0 ? data[0] : 0;
	if (size > 1)
		mask |= (unsigned)(data[1] & 15) << 8;
	size_t at = size > 2 ? 2 : size;
	memcpy(storage, data + at, size - at);
	storage[size - at] = '\0';
	char *cursor = storage, *end = storage + (size - at);
	for (int i = 0; i < FUZZ_NUM_VARIABLES; i++) {
		if (!(mask & (1u << i)))
			continue;
		env->values[i] = cursor;
		size_t len = strlen(cursor);
		cursor = cursor + len < end ? cursor + len + 1 : end;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1 << 16)
		return 0;
	char *storage = malloc(size + 1);
	if (!storage)
		abort();
	struct fuzz_env env;
	split(data, size, &env, storage);

	static struct amlshim_policy first, second;
	struct fuzz_messages messages;
	memset(&messages, 0, sizeof(messages));
	memset(&first, 0xa5, sizeof(first));
	amlshim_policy_parse(&first, fuzz_env_read, &env, fuzz_sink, &messages);
	fuzz_check_policy(&first, data, size);
	FUZZ_CHECK(first.errors == messages.count, "%d errors, %d messages", first.errors, messages.count);
	for (int i = 0; i < FUZZ_NUM_VARIABLES; i++)
		FUZZ_CHECK(env.reads[i] == 1, "%s read %d times", fuzz_variables[i], env.reads[i]);
	FUZZ_CHECK(env.foreign_reads == 0, "the parser read %d names that are not AMLSHIM_*", env.foreign_reads);

	/* A bad POLICY, THRESHOLD, RULES or SMALL: everything at the default. */
	int placement_bad = messages.names[0] || messages.names[1] || messages.names[2] || messages.names[3];
	if (placement_bad) {
		FUZZ_CHECK(first.num_rules == 0, "a bad placement variable left %d rules", first.num_rules);
		FUZZ_CHECK(first.small.kind == AMLSHIM_PLACE_DEFAULT, "a bad placement variable left small %s",
		           first.small.text);
	}
	/* POLICY without RULES: one rule from the threshold up. */
	const char *policy = env.values[0], *rules = env.values[2];
	if (!placement_bad && policy && *policy && !(rules && *rules)) {
		if (first.num_rules == 1) {
			FUZZ_CHECK(first.rules[0].min == first.threshold && first.rules[0].max == SIZE_MAX,
			           "the POLICY rule is [%zu, %zu), threshold %zu", first.rules[0].min,
			           first.rules[0].max, first.threshold);
		} else {
			FUZZ_CHECK(first.num_rules == 0, "POLICY alone gave %d rules", first.num_rules);
			FUZZ_CHECK(strncasecmp(policy, "default", 7) == 0, "POLICY '%s' gave no rule", policy);
		}
	}
	if (!placement_bad && rules && *rules)
		FUZZ_CHECK(first.rules_override == ((policy && *policy) || (env.values[1] && *env.values[1])),
		           "rules_override %d", first.rules_override);
	/* Variables left at their defaults when they were refused. */
	if (messages.names[4])
		FUZZ_CHECK(first.mmap_on == 1, "a bad MMAP changed mmap_on");
	if (messages.names[5])
		FUZZ_CHECK(first.stats == AMLSHIM_STATS_OFF, "a bad STATS changed stats");
	if (messages.names[6])
		FUZZ_CHECK(first.stats_file[0] == '\0', "a bad STATS_FILE was kept");
	if (messages.names[7])
		FUZZ_CHECK(first.log_level == AMLSHIM_LOG_WARN, "a bad LOG changed the level");
	if (messages.names[9])
		FUZZ_CHECK(first.deepbind == AMLSHIM_DEEPBIND_KEEP, "a bad DEEPBIND changed deepbind");
	if (messages.names[8])
		FUZZ_CHECK(first.strict == 0, "a bad STRICT changed strict");
	if (messages.names[10])
		FUZZ_CHECK(first.share_settle_ns == AMLSHIM_DEFAULT_SHARE_SETTLE_NS, "a bad SHARE_SETTLE changed it");
	if (messages.names[11])
		FUZZ_CHECK(first.ledger[0] == '\0', "a bad LEDGER was kept");

	/* Pure: the same text gives the same table, byte for byte. */
	struct fuzz_messages again;
	memset(&again, 0, sizeof(again));
	memset(&second, 0x5a, sizeof(second));
	amlshim_policy_parse(&second, fuzz_env_read, &env, fuzz_sink, &again);
	FUZZ_CHECK(memcmp(&first, &second, sizeof(first)) == 0, "two parses of one environment differ");
	FUZZ_CHECK(again.count == messages.count && strcmp(again.first, messages.first) == 0,
	           "two parses gave different messages");
	free(storage);
	return 0;
}
