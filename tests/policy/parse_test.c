/* The environment as a whole: defaults, every accepted form of every
 * variable (exact table), every bad value (exactly one exact line, the
 * documented fallback, the other variables still applied), empty values,
 * and how RULES, POLICY and THRESHOLD combine. */
#include "policy_test.h"

#define M ((size_t)1 << 20)

static const char *const all_names[] = {
	"AMLSHIM_POLICY", "AMLSHIM_THRESHOLD", "AMLSHIM_RULES", "AMLSHIM_SMALL", "AMLSHIM_MMAP",
	"AMLSHIM_STATS", "AMLSHIM_STATS_FILE", "AMLSHIM_LOG", "AMLSHIM_STRICT", "AMLSHIM_DEEPBIND",
	"AMLSHIM_SHARE_SETTLE", "AMLSHIM_LEDGER",
};
#define NUM_NAMES ((int)(sizeof(all_names) / sizeof(all_names[0])))

/* One variable set to a bad value: one line, exactly this one. */
static void check_bad(struct amlshim_policy *p, const char *name, const char *value,
                      const char *reason, const char *accepted)
{
	struct test_env env;
	test_parse(p, &env, name, value, NULL);
	CHECK(env.num_lines == 1, "%s='%s': %d lines", name, value, env.num_lines);
	CHECK_EQ(p->errors, 1);
	check_message(&env, 0, name, value, reason, accepted);
}

static void check_bad_placement(const char *name, const char *value, const char *reason,
                                const char *accepted)
{
	struct amlshim_policy p;
	check_bad(&p, name, value, reason, accepted);
	check_placement_fallback(&p);
	check_switch_defaults(&p);
	CHECK_EQ(p.threshold, AMLSHIM_DEFAULT_THRESHOLD);
}

static void check_defaults(void)
{
	struct amlshim_policy p;
	struct test_env env;
	memset(&p, 0xa5, sizeof(p));
	test_parse(&p, &env, NULL);
	CHECK_EQ(p.num_rules, 0);
	CHECK_EQ(p.threshold, AMLSHIM_DEFAULT_THRESHOLD);
	check_default_placement(&p.small);
	check_switch_defaults(&p);
	CHECK_EQ(p.errors, 0);
	CHECK_EQ(p.rules_override, 0);
	/* Exactly the documented variables are read, each once, in order. */
	CHECK_EQ(env.num_unset_reads, NUM_NAMES);
	for (int i = 0; i < NUM_NAMES; i++)
		CHECK_STR(env.unset_reads[i], all_names[i]);

	/* No reader and no sink: defaults, nothing crashes. */
	memset(&p, 0xa5, sizeof(p));
	amlshim_policy_parse(&p, NULL, NULL, NULL, NULL);
	CHECK_EQ(p.num_rules, 0);
	check_switch_defaults(&p);
	CHECK_EQ(p.errors, 0);

	/* No sink: bad values are still counted and fall back. */
	struct test_env bad = {.names = {"AMLSHIM_POLICY", "AMLSHIM_LOG"}, .values = {"bogus", "x"}, .count = 2};
	amlshim_policy_parse(&p, test_env_read, &bad, NULL, NULL);
	CHECK_EQ(p.errors, 2);
	check_placement_fallback(&p);
	CHECK_EQ(p.log_level, AMLSHIM_LOG_WARN);

	/* Empty means unset for POLICY, THRESHOLD, RULES, SMALL, MMAP, DEEPBIND, LOG, STRICT,
	 * SHARE_SETTLE, LEDGER. */
	test_parse(&p, &env, "AMLSHIM_POLICY", "", "AMLSHIM_THRESHOLD", "", "AMLSHIM_RULES", "",
	           "AMLSHIM_SMALL", "", "AMLSHIM_MMAP", "", "AMLSHIM_LOG", "", "AMLSHIM_STRICT", "",
	           "AMLSHIM_STATS", "", "AMLSHIM_DEEPBIND", "", "AMLSHIM_SHARE_SETTLE", "", "AMLSHIM_LEDGER", "",
	           NULL);
	CHECK_EQ(env.num_lines, 0);
	CHECK_EQ(p.num_rules, 0);
	CHECK_EQ(p.threshold, AMLSHIM_DEFAULT_THRESHOLD);
	check_default_placement(&p.small);
	check_switch_defaults(&p);
}

static void check_policy_and_threshold(void)
{
	struct amlshim_policy p;
	struct test_env env;
	unsigned long mask[AMLSHIM_NODE_WORDS];

	test_parse(&p, &env, "AMLSHIM_POLICY", "interleave", NULL);
	CHECK_EQ(env.num_lines, 0);
	CHECK_EQ(p.num_rules, 1);
	CHECK_EQ(p.rules[0].min, M);
	CHECK(p.rules[0].max == SIZE_MAX, "open end");
	check_placement(&p.rules[0].placement, AMLSHIM_PLACE_INTERLEAVE, 1, NULL, 0, 0, "interleave");
	check_default_placement(&p.small);
	CHECK(amlshim_policy_rule_for(&p, M - 1) == NULL, "below the threshold");
	CHECK(amlshim_policy_rule_for(&p, M) == &p.rules[0], "at the threshold");

	test_parse(&p, &env, "AMLSHIM_POLICY", "bind:1", "AMLSHIM_THRESHOLD", "64KiB", NULL);
	CHECK_EQ(p.num_rules, 1);
	CHECK_EQ(p.threshold, 64 << 10);
	CHECK_EQ(p.rules[0].min, 64 << 10);
	test_mask(mask, 1, -1);
	check_placement(&p.rules[0].placement, AMLSHIM_PLACE_BIND, 0, mask, 0, 0, "bind:1");

	test_parse(&p, &env, "AMLSHIM_POLICY", "block-interleave:2M:0,1", "AMLSHIM_THRESHOLD", "0", NULL);
	CHECK_EQ(p.num_rules, 1);
	CHECK_EQ(p.threshold, 0);
	CHECK_EQ(p.rules[0].min, 0);
	test_mask(mask, 0, 1, -1);
	check_placement(&p.rules[0].placement, AMLSHIM_PLACE_BLOCK_INTERLEAVE, 0, mask, 2 * M, 0,
	                "block-interleave:2M:0,1");
	CHECK(amlshim_policy_rule_for(&p, 0) == &p.rules[0], "threshold 0 covers 0");

	test_parse(&p, &env, "AMLSHIM_POLICY", "cuda-managed:2", "AMLSHIM_THRESHOLD", "1T", NULL);
	CHECK_EQ(p.rules[0].min, (size_t)1 << 40);
	check_placement(&p.rules[0].placement, AMLSHIM_PLACE_CUDA_MANAGED, 1, NULL, 0, 2, "cuda-managed:2");

	test_parse(&p, &env, "AMLSHIM_POLICY", "preferred:3", NULL);
	test_mask(mask, 3, -1);
	check_placement(&p.rules[0].placement, AMLSHIM_PLACE_PREFERRED, 0, mask, 0, 0, "preferred:3");

	/* default (or unset) makes no rule, whatever the threshold. */
	test_parse(&p, &env, "AMLSHIM_POLICY", "default", "AMLSHIM_THRESHOLD", "4K", NULL);
	CHECK_EQ(env.num_lines, 0);
	CHECK_EQ(p.num_rules, 0);
	CHECK_EQ(p.threshold, 4096);
	test_parse(&p, &env, "AMLSHIM_THRESHOLD", "2M", NULL);
	CHECK_EQ(p.num_rules, 0);
	CHECK_EQ(p.threshold, 2 * M);
	test_parse(&p, &env, "AMLSHIM_THRESHOLD", "18446744073709551615", "AMLSHIM_POLICY", "local", NULL);
	CHECK(p.rules[0].min == SIZE_MAX, "threshold SIZE_MAX");

	check_bad_placement("AMLSHIM_POLICY", "bogus", "unknown policy 'bogus'", ACCEPTED_POLICY);
	check_bad_placement("AMLSHIM_POLICY", "local:3", "local takes no argument", ACCEPTED_POLICY);
	check_bad_placement("AMLSHIM_POLICY", "bind", "bind needs a node list (bind:NODES)", ACCEPTED_POLICY);
	check_bad_placement("AMLSHIM_POLICY", "interleave:3-1", "node range '3-1' goes down", ACCEPTED_POLICY);
	check_bad_placement("AMLSHIM_POLICY", "preferred:0,1", "preferred takes exactly one node, not '0,1'",
	                    ACCEPTED_POLICY);
	check_bad_placement("AMLSHIM_POLICY", "block-interleave:3000",
	                    "block size 3000 is not a multiple of 4K (the page size)", ACCEPTED_POLICY);
	check_bad_placement("AMLSHIM_POLICY", "cuda-mapped:1024",
	                    "device '1024' is not a number from 0 to 1023", ACCEPTED_POLICY);
	check_bad_placement("AMLSHIM_POLICY", " interleave", "unknown policy ' interleave'", ACCEPTED_POLICY);

	check_bad_placement("AMLSHIM_THRESHOLD", "1.5M", "'1.5M' is not a size", ACCEPTED_THRESHOLD);
	check_bad_placement("AMLSHIM_THRESHOLD", "-1", "'-1' is not a size", ACCEPTED_THRESHOLD);
	check_bad_placement("AMLSHIM_THRESHOLD", " 1M", "' 1M' is not a size", ACCEPTED_THRESHOLD);
	check_bad_placement("AMLSHIM_THRESHOLD", "1M2", "'1M2' is not a size", ACCEPTED_THRESHOLD);
	check_bad_placement("AMLSHIM_THRESHOLD", "16E", "'16E' is not a size", ACCEPTED_THRESHOLD);
	check_bad_placement("AMLSHIM_THRESHOLD", "18446744073709551616",
	                    "'18446744073709551616' is too large (the largest size is 18446744073709551615)",
	                    ACCEPTED_THRESHOLD);

	/* A bad THRESHOLD takes a good POLICY down with it, and the reverse. */
	test_parse(&p, &env, "AMLSHIM_POLICY", "interleave", "AMLSHIM_THRESHOLD", "lots", NULL);
	CHECK_EQ(env.num_lines, 1);
	check_message(&env, 0, "AMLSHIM_THRESHOLD", "lots", "'lots' is not a size", ACCEPTED_THRESHOLD);
	check_placement_fallback(&p);
	test_parse(&p, &env, "AMLSHIM_POLICY", "interleave:x", "AMLSHIM_THRESHOLD", "2M", NULL);
	CHECK_EQ(env.num_lines, 1);
	check_message(&env, 0, "AMLSHIM_POLICY", "interleave:x", "'x' is not a node number or node set name", ACCEPTED_POLICY);
	check_placement_fallback(&p);
	CHECK_EQ(p.threshold, 2 * M);
}

static void check_rules_override(void)
{
	struct amlshim_policy p;
	struct test_env env;

	/* RULES wins over POLICY and THRESHOLD, which are still checked. */
	test_parse(&p, &env, "AMLSHIM_RULES", "0-64K=local;64K-=interleave", "AMLSHIM_POLICY", "capacity",
	           NULL);
	CHECK_EQ(env.num_lines, 0);
	CHECK_EQ(p.rules_override, 1);
	CHECK_EQ(p.num_rules, 2);
	CHECK_STR(p.rules[0].placement.text, "local");
	CHECK_STR(p.rules[1].placement.text, "interleave");
	CHECK_EQ(p.threshold, AMLSHIM_DEFAULT_THRESHOLD);

	test_parse(&p, &env, "AMLSHIM_RULES", "1G-=capacity", "AMLSHIM_THRESHOLD", "4K", NULL);
	CHECK_EQ(p.rules_override, 1);
	CHECK_EQ(p.num_rules, 1);
	CHECK_EQ(p.rules[0].min, (size_t)1 << 30);
	CHECK_EQ(p.threshold, 4096); /* informative */

	test_parse(&p, &env, "AMLSHIM_RULES", "1G-=capacity", "AMLSHIM_POLICY", "", NULL);
	CHECK_EQ(p.rules_override, 0);
	CHECK_EQ(p.num_rules, 1);

	test_parse(&p, &env, "AMLSHIM_RULES", "1G-=capacity", "AMLSHIM_POLICY", "bogus", NULL);
	CHECK_EQ(env.num_lines, 1);
	check_message(&env, 0, "AMLSHIM_POLICY", "bogus", "unknown policy 'bogus'", ACCEPTED_POLICY);
	check_placement_fallback(&p);

	test_parse(&p, &env, "AMLSHIM_RULES", "1G-=capacit", "AMLSHIM_POLICY", "interleave", NULL);
	CHECK_EQ(env.num_lines, 1);
	check_message(&env, 0, "AMLSHIM_RULES", "1G-=capacit", "rule 1 '1G-=capacit': unknown policy 'capacit'",
	              ACCEPTED_RULES);
	check_placement_fallback(&p);
}

static void check_small(void)
{
	struct amlshim_policy p;
	struct test_env env;
	unsigned long mask[AMLSHIM_NODE_WORDS];

	test_parse(&p, &env, "AMLSHIM_SMALL", "interleave:0-1", NULL);
	CHECK_EQ(env.num_lines, 0);
	test_mask(mask, 0, 1, -1);
	check_placement(&p.small, AMLSHIM_PLACE_INTERLEAVE, 0, mask, 0, 0, "interleave:0,1");
	CHECK_EQ(p.num_rules, 0);
	test_parse(&p, &env, "AMLSHIM_SMALL", "local", "AMLSHIM_POLICY", "interleave", NULL);
	check_placement(&p.small, AMLSHIM_PLACE_LOCAL, 1, NULL, 0, 0, "local");
	CHECK_EQ(p.num_rules, 1);
	test_parse(&p, &env, "AMLSHIM_SMALL", "bind:all", NULL);
	check_placement(&p.small, AMLSHIM_PLACE_BIND, 1, NULL, 0, 0, "bind:all");
	test_parse(&p, &env, "AMLSHIM_SMALL", "preferred:1", NULL);
	test_mask(mask, 1, -1);
	check_placement(&p.small, AMLSHIM_PLACE_PREFERRED, 0, mask, 0, 0, "preferred:1");
	test_parse(&p, &env, "AMLSHIM_SMALL", "bandwidth", NULL);
	check_placement(&p.small, AMLSHIM_PLACE_BANDWIDTH, 1, NULL, 0, 0, "bandwidth");
	test_parse(&p, &env, "AMLSHIM_SMALL", "latency", NULL);
	check_placement(&p.small, AMLSHIM_PLACE_LATENCY, 1, NULL, 0, 0, "latency");
	test_parse(&p, &env, "AMLSHIM_SMALL", "capacity", NULL);
	check_placement(&p.small, AMLSHIM_PLACE_CAPACITY, 1, NULL, 0, 0, "capacity");
	test_parse(&p, &env, "AMLSHIM_SMALL", "default", NULL);
	check_default_placement(&p.small);

	check_bad_placement("AMLSHIM_SMALL", "cuda-mapped",
	                    "cuda-mapped cannot place small objects (the CUDA runtime itself calls malloc)",
	                    ACCEPTED_SMALL);
	check_bad_placement("AMLSHIM_SMALL", "cuda-managed:1",
	                    "cuda-managed cannot place small objects (the CUDA runtime itself calls malloc)",
	                    ACCEPTED_SMALL);
	check_bad_placement("AMLSHIM_SMALL", "block-interleave:2M",
	                    "block-interleave cannot place small objects (their extents are split and "
	                    "merged, so blocks would not stay on their nodes)",
	                    ACCEPTED_SMALL);
	check_bad_placement("AMLSHIM_SMALL", "bogus", "unknown policy 'bogus'", ACCEPTED_SMALL);
	check_bad_placement("AMLSHIM_SMALL", "bind:", "empty node list", ACCEPTED_SMALL);

	/* A bad SMALL drops a good POLICY too, and the reverse. */
	test_parse(&p, &env, "AMLSHIM_SMALL", "cuda-mapped", "AMLSHIM_POLICY", "interleave", NULL);
	CHECK_EQ(env.num_lines, 1);
	check_placement_fallback(&p);
	test_parse(&p, &env, "AMLSHIM_SMALL", "local", "AMLSHIM_POLICY", "bogus", NULL);
	CHECK_EQ(env.num_lines, 1);
	check_placement_fallback(&p);
	test_parse(&p, &env, "AMLSHIM_SMALL", "interleave", "AMLSHIM_RULES", "0-1M", NULL);
	CHECK_EQ(env.num_lines, 1);
	check_placement_fallback(&p);
}

static void check_switches(void)
{
	struct amlshim_policy p;
	struct test_env env;
	static const struct { const char *value; int on; } mmaps[] = {
		{"on", 1}, {"off", 0}, {"1", 1}, {"0", 0}, {"OFF", 0}, {"On", 1},
	};
	for (size_t i = 0; i < sizeof(mmaps) / sizeof(mmaps[0]); i++) {
		test_parse(&p, &env, "AMLSHIM_MMAP", mmaps[i].value, NULL);
		CHECK(env.num_lines == 0 && p.mmap_on == mmaps[i].on, "MMAP=%s", mmaps[i].value);
	}
	static const struct { const char *value; enum amlshim_deepbind_mode mode; } deepbinds[] = {
		{"keep", AMLSHIM_DEEPBIND_KEEP}, {"drop", AMLSHIM_DEEPBIND_DROP}, {"DROP", AMLSHIM_DEEPBIND_DROP},
		{"Keep", AMLSHIM_DEEPBIND_KEEP},
	};
	for (size_t i = 0; i < sizeof(deepbinds) / sizeof(deepbinds[0]); i++) {
		test_parse(&p, &env, "AMLSHIM_DEEPBIND", deepbinds[i].value, NULL);
		CHECK(env.num_lines == 0 && p.deepbind == deepbinds[i].mode, "DEEPBIND=%s", deepbinds[i].value);
	}
	static const struct { const char *value; enum amlshim_stats_mode mode; } stats[] = {
		{"1", AMLSHIM_STATS_TEXT}, {"text", AMLSHIM_STATS_TEXT}, {"TEXT", AMLSHIM_STATS_TEXT},
		{"json", AMLSHIM_STATS_JSON}, {"JSON", AMLSHIM_STATS_JSON}, {"0", AMLSHIM_STATS_OFF},
		{"off", AMLSHIM_STATS_OFF}, {"", AMLSHIM_STATS_OFF},
	};
	for (size_t i = 0; i < sizeof(stats) / sizeof(stats[0]); i++) {
		test_parse(&p, &env, "AMLSHIM_STATS", stats[i].value, NULL);
		CHECK(env.num_lines == 0 && p.stats == stats[i].mode, "STATS=%s", stats[i].value);
	}
	static const struct { const char *value; enum amlshim_log_level level; } logs[] = {
		{"error", AMLSHIM_LOG_ERROR}, {"warn", AMLSHIM_LOG_WARN}, {"info", AMLSHIM_LOG_INFO},
		{"debug", AMLSHIM_LOG_DEBUG}, {"DEBUG", AMLSHIM_LOG_DEBUG},
	};
	for (size_t i = 0; i < sizeof(logs) / sizeof(logs[0]); i++) {
		test_parse(&p, &env, "AMLSHIM_LOG", logs[i].value, NULL);
		CHECK(env.num_lines == 0 && p.log_level == logs[i].level, "LOG=%s", logs[i].value);
	}
	test_parse(&p, &env, "AMLSHIM_STRICT", "1", NULL);
	CHECK(env.num_lines == 0 && p.strict == 1, "STRICT=1");
	test_parse(&p, &env, "AMLSHIM_STRICT", "0", NULL);
	CHECK(env.num_lines == 0 && p.strict == 0, "STRICT=0");

	static const char *const files[] = {
		"/tmp/amlshim.%p.json", "stats", "%p", "%%p-%p-%p", "100%%", "/tmp/a b/c\tq",
		"/tmp/report.%r.json", "%h/%r.%p", "%%r%%h", "%r%r%h",
	};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		test_parse(&p, &env, "AMLSHIM_STATS_FILE", files[i], NULL);
		CHECK_EQ(env.num_lines, 0);
		CHECK_STR(p.stats_file, files[i]);
	}
	char longest[AMLSHIM_PATH_MAX];
	memset(longest, 'a', sizeof(longest) - 1);
	longest[sizeof(longest) - 1] = '\0';
	test_parse(&p, &env, "AMLSHIM_STATS_FILE", longest, NULL);
	CHECK_EQ(env.num_lines, 0);
	CHECK_STR(p.stats_file, longest);

	/* Bad switches: one line each, that switch's default, placement untouched. */
	static const struct { const char *name, *value, *accepted; } bad[] = {
		{"AMLSHIM_MMAP", "yes", ACCEPTED_MMAP},       {"AMLSHIM_MMAP", "2", ACCEPTED_MMAP},
		{"AMLSHIM_MMAP", " on", ACCEPTED_MMAP},       {"AMLSHIM_STATS", "2", ACCEPTED_STATS},
		{"AMLSHIM_DEEPBIND", "yes", ACCEPTED_DEEPBIND}, {"AMLSHIM_DEEPBIND", "1", ACCEPTED_DEEPBIND},
		{"AMLSHIM_DEEPBIND", "keep ", ACCEPTED_DEEPBIND}, {"AMLSHIM_DEEPBIND", "dropped", ACCEPTED_DEEPBIND},
		{"AMLSHIM_STATS", "yes", ACCEPTED_STATS},     {"AMLSHIM_STATS", "on", ACCEPTED_STATS},
		{"AMLSHIM_LOG", "verbose", ACCEPTED_LOG},     {"AMLSHIM_LOG", "warning", ACCEPTED_LOG},
		{"AMLSHIM_LOG", "3", ACCEPTED_LOG},           {"AMLSHIM_STRICT", "2", ACCEPTED_STRICT},
		{"AMLSHIM_STRICT", "yes", ACCEPTED_STRICT},   {"AMLSHIM_STRICT", "true", ACCEPTED_STRICT},
		{"AMLSHIM_STRICT", "on", ACCEPTED_STRICT},    {"AMLSHIM_STRICT", "01", ACCEPTED_STRICT},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		test_parse(&p, &env, bad[i].name, bad[i].value, "AMLSHIM_POLICY", "interleave", NULL);
		CHECK(env.num_lines == 1, "%s=%s: %d lines", bad[i].name, bad[i].value, env.num_lines);
		check_message(&env, 0, bad[i].name, bad[i].value, "unknown value", bad[i].accepted);
		check_switch_defaults(&p);
		CHECK_EQ(p.num_rules, 1);
	}
	check_bad(&p, "AMLSHIM_STATS_FILE", "", "empty path", ACCEPTED_STATS_FILE);
	check_switch_defaults(&p);
	check_bad(&p, "AMLSHIM_STATS_FILE", "/tmp/%d.txt", "unknown sequence '%d'", ACCEPTED_STATS_FILE);
	check_switch_defaults(&p);
	check_bad(&p, "AMLSHIM_STATS_FILE", "/tmp/100%", "unknown sequence '%'", ACCEPTED_STATS_FILE);
	check_bad(&p, "AMLSHIM_STATS_FILE", "%p%s", "unknown sequence '%s'", ACCEPTED_STATS_FILE);
	check_bad(&p, "AMLSHIM_STATS_FILE", "%%%", "unknown sequence '%'", ACCEPTED_STATS_FILE);
	check_bad(&p, "AMLSHIM_STATS_FILE", "%P", "unknown sequence '%P'", ACCEPTED_STATS_FILE);
	check_bad(&p, "AMLSHIM_STATS_FILE", "%R.json", "unknown sequence '%R'", ACCEPTED_STATS_FILE);
	check_bad(&p, "AMLSHIM_STATS_FILE", "%r.%H", "unknown sequence '%H'", ACCEPTED_STATS_FILE);
	char too_long[AMLSHIM_PATH_MAX + 1];
	memset(too_long, 'a', sizeof(too_long) - 1);
	too_long[sizeof(too_long) - 1] = '\0';
	test_parse(&p, &env, "AMLSHIM_STATS_FILE", too_long, NULL);
	CHECK_EQ(env.num_lines, 1);
	CHECK_STR(env.lines[0], "amlshim: AMLSHIM_STATS_FILE='aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'"
	                        "...(256 bytes) is not valid: the path is 256 bytes long; accepted: "
	                        ACCEPTED_STATS_FILE);
	CHECK_STR(p.stats_file, "");
}

/* +share's settings: a settle time, a ledger name (never a path). */
static void check_share_settings(void)
{
	struct amlshim_policy p;
	struct test_env env;
	static const struct { const char *value; unsigned long long ns; } settles[] = {
		{"0", 0}, {"00", 0}, {"0ms", 0}, {"0s", 0}, {"1s", 1000000000ULL}, {"500ms", 500000000ULL},
		{"200ms", 200000000ULL}, {"100000000s", 100000000000000000ULL}, {"100000000ms", 100000000000000ULL},
	};
	for (size_t i = 0; i < sizeof(settles) / sizeof(settles[0]); i++) {
		test_parse(&p, &env, "AMLSHIM_SHARE_SETTLE", settles[i].value, NULL);
		CHECK(env.num_lines == 0 && p.share_settle_ns == settles[i].ns, "SHARE_SETTLE=%s: %llu ns, %d lines",
		      settles[i].value, p.share_settle_ns, env.num_lines);
	}
	static const char *const bad_settles[] = {
		"soon", "1", "1m", "1 s", " 1s", "1s ", "-1s", "+1s", "1.5s", "ms", "s", "100000001s",
		"99999999999999999999999s", "1sec", "1MS", "0x10s",
	};
	for (size_t i = 0; i < sizeof(bad_settles) / sizeof(bad_settles[0]); i++) {
		check_bad(&p, "AMLSHIM_SHARE_SETTLE", bad_settles[i], "not a duration", ACCEPTED_SHARE_SETTLE);
		check_switch_defaults(&p);
	}

	char longest[AMLSHIM_LEDGER_NAME_MAX + 2];
	memset(longest, 'a', AMLSHIM_LEDGER_NAME_MAX);
	longest[AMLSHIM_LEDGER_NAME_MAX] = '\0';
	static const char *const names[] = {"job-42.a_b", "x", "A.b-c_9", "a..b", "a."};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		test_parse(&p, &env, "AMLSHIM_LEDGER", names[i], NULL);
		CHECK(env.num_lines == 0, "LEDGER=%s: %d lines", names[i], env.num_lines);
		CHECK_STR(p.ledger, names[i]);
	}
	test_parse(&p, &env, "AMLSHIM_LEDGER", longest, NULL);
	CHECK(env.num_lines == 0, "a name of %d bytes", AMLSHIM_LEDGER_NAME_MAX);
	CHECK_STR(p.ledger, longest);
	longest[AMLSHIM_LEDGER_NAME_MAX] = 'a';
	longest[AMLSHIM_LEDGER_NAME_MAX + 1] = '\0';
	static const char *const bad_names[] = {"../x", "a/b", ".hidden", ".", "a b", "a:b", "a%b", "a*"};
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		check_bad(&p, "AMLSHIM_LEDGER", bad_names[i], "not a name", ACCEPTED_LEDGER);
		check_switch_defaults(&p);
	}
	/* Bytes outside ASCII: refused, and quoted escaped in the line. */
	test_parse(&p, &env, "AMLSHIM_LEDGER", "caf\xc3\xa9\tb", NULL);
	CHECK(env.num_lines == 1 && strstr(env.lines[0], "AMLSHIM_LEDGER='caf\\xc3\\xa9\\x09b' is not valid: not a name"),
	      "a name with bytes outside ASCII: %s", env.num_lines ? env.lines[0] : "no line");
	CHECK_STR(p.ledger, "");
	test_parse(&p, &env, "AMLSHIM_LEDGER", longest, NULL);
	CHECK(env.num_lines == 1 && strstr(env.lines[0], "AMLSHIM_LEDGER=") && strstr(env.lines[0], "not a name"),
	      "a name of %d bytes: %s", AMLSHIM_LEDGER_NAME_MAX + 1, env.num_lines ? env.lines[0] : "no line");
	CHECK_STR(p.ledger, "");
}

static void check_many_bad_values(void)
{
	struct amlshim_policy p;
	struct test_env env;
	/* Every variable bad at once: one line each, in the documented order. */
	test_parse(&p, &env, "AMLSHIM_LEDGER", "../x", "AMLSHIM_SHARE_SETTLE", "x", "AMLSHIM_STRICT", "x",
	           "AMLSHIM_LOG", "x", "AMLSHIM_STATS_FILE", "%x", "AMLSHIM_STATS", "x", "AMLSHIM_DEEPBIND", "x",
	           "AMLSHIM_MMAP", "x", "AMLSHIM_SMALL", "x", "AMLSHIM_RULES", "x", "AMLSHIM_THRESHOLD", "x",
	           "AMLSHIM_POLICY", "x", NULL);
	CHECK_EQ(env.num_lines, NUM_NAMES);
	CHECK_EQ(p.errors, NUM_NAMES);
	for (int i = 0; i < NUM_NAMES; i++) {
		char prefix[64];
		snprintf(prefix, sizeof(prefix), "amlshim: %s='", all_names[i]);
		CHECK(strncmp(env.lines[i], prefix, strlen(prefix)) == 0, "line %d: '%s'", i, env.lines[i]);
	}
	check_placement_fallback(&p);
	check_switch_defaults(&p);

	/* Good and bad mixed: the good ones still apply. */
	test_parse(&p, &env, "AMLSHIM_POLICY", "bogus", "AMLSHIM_LOG", "debug", "AMLSHIM_STATS", "json",
	           "AMLSHIM_MMAP", "off", "AMLSHIM_STRICT", "1", "AMLSHIM_STATS_FILE", "/tmp/s.%p",
	           "AMLSHIM_THRESHOLD", "4K", NULL);
	CHECK_EQ(env.num_lines, 1);
	check_placement_fallback(&p);
	CHECK_EQ(p.log_level, AMLSHIM_LOG_DEBUG);
	CHECK_EQ(p.stats, AMLSHIM_STATS_JSON);
	CHECK_EQ(p.mmap_on, 0);
	CHECK_EQ(p.strict, 1);
	CHECK_STR(p.stats_file, "/tmp/s.%p");
	CHECK_EQ(p.threshold, 4096);
}

int main(void)
{
	check_defaults();
	check_policy_and_threshold();
	check_rules_override();
	check_small();
	check_switches();
	check_share_settings();
	check_many_bad_values();
	return 0;
}
