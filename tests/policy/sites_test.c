/* AMLSHIM_SITES, AMLSHIM_SITE_DEPTH, AMLSHIM_SITE_MIN: accepted rules come
 * out with their frames, functions, placement, cap and canonical text;
 * every bad text gives exactly one line naming the variable, the value and
 * the reason, and no rules. */
#include "policy_test.h"
#include "sites.h"

#define ACCEPTED_SITES                                                                              \
	"rules 'SITE = POLICY[ cap=SIZE]' separated by ';' or newlines ('#' comments), SITE being "   \
	"MODULE+0xOFFSET frames joined by '>' (caller first), func=NAME or func=CALLER>CALLEE; "      \
	"or a file of them (a value starting with '/' or '.')"

static int parse(const char *text, struct amlshim_sites *out, struct test_env *env)
{
	memset(env, 0, sizeof(*env));
	memset(out, 0, sizeof(*out));
	return amlshim_sites_parse(text, text, strlen(text), out, test_sink, env);
}

static void check_good(const char *text, int count)
{
	static struct amlshim_sites s;
	struct test_env env;
	int got = parse(text, &s, &env);
	CHECK(env.num_lines == 0, "'%s' refused: %s", text, env.lines[0]);
	CHECK(got == count, "'%s': %d rules, expected %d", text, got, count);
}

static void check_bad(const char *text, const char *reason)
{
	static struct amlshim_sites s;
	struct test_env env;
	int got = parse(text, &s, &env);
	CHECK(got == -1 && s.count == 0, "'%s' accepted", text);
	CHECK(env.num_lines == 1, "'%s': %d lines", text, env.num_lines);
	CHECK_EQ(s.errors, 1);
	check_message(&env, 0, "AMLSHIM_SITES", text, reason, ACCEPTED_SITES);
}

static void check_accepted(void)
{
	static struct amlshim_sites s;
	struct test_env env;
	const char *text = "# placement by site\n"
	                   "solver+0x1a2b>solver+0x1c00 = bind:2 cap=4G  # the hot one\n"
	                   "func=compute_rhs=interleave;func = setup > alloc_grid =preferred:0\n"
	                   "\n  libstdc++.so.6+0x10>libfoo.so.1+0XAbC=bandwidth;\n";
	CHECK_EQ(parse(text, &s, &env), 4);
	CHECK(env.num_lines == 0, "refused: %s", env.lines[0]);
	const struct amlshim_site_rule *r = s.rules;
	CHECK_EQ(r[0].kind, AMLSHIM_SITE_STACK);
	CHECK_EQ(r[0].num_frames, 2);
	CHECK_STR(r[0].frames[0].module, "solver");
	CHECK(r[0].frames[0].offset == 0x1a2b && r[0].frames[1].offset == 0x1c00, "offsets");
	CHECK(r[0].cap == ((size_t)4 << 30), "cap %zu", r[0].cap);
	CHECK_EQ(r[0].placement.kind, AMLSHIM_PLACE_BIND);
	CHECK_STR(r[0].text, "solver+0x1a2b>solver+0x1c00 = bind:2 cap=4G");
	CHECK_EQ(r[1].kind, AMLSHIM_SITE_FUNC);
	CHECK_STR(r[1].func[1], "compute_rhs");
	CHECK_STR(r[1].text, "func=compute_rhs = interleave");
	CHECK_EQ(r[2].kind, AMLSHIM_SITE_FUNC_PAIR);
	CHECK_STR(r[2].func[0], "setup");
	CHECK_STR(r[2].func[1], "alloc_grid");
	CHECK_STR(r[2].text, "func=setup>alloc_grid = preferred:0");
	CHECK_STR(r[3].frames[0].module, "libstdc++.so.6");
	CHECK(r[3].frames[0].offset == 0x10 && r[3].frames[1].offset == 0xabc, "offsets");
	CHECK_STR(r[3].text, "libstdc++.so.6+0x10>libfoo.so.1+0xabc = bandwidth");
	CHECK_EQ(r[3].cap, 0);
	check_good("a+0x0=bind:0", 1);
	check_good("a+0xffffffffffffffff=preferred:2+nothp", 1);
	check_good("func=main=local cap=1M;;;", 1);
}

static void check_rejected(void)
{
	check_bad("", "no rule");
	check_bad("# only a comment", "no rule");
	check_bad("solver+0x10", "rule 1 'solver+0x10': no '=' (write SITE = POLICY)");
	check_bad("+0x10=bind:0", "rule 1 '+0x10=bind:0': frame '+0x10' has no module (write MODULE+0xOFFSET)");
	check_bad("solver=bind:0", "rule 1 'solver=bind:0': frame 'solver' is not MODULE+0xOFFSET");
	check_bad("a+0x1>=bind:0", "rule 1 'a+0x1>=bind:0': frame '' is not MODULE+0xOFFSET");
	check_bad("a+12=bind:0", "rule 1 'a+12=bind:0': frame 'a+12': the offset is not 0x and 1 to 16 hex digits");
	check_bad("a+0x1=", "rule 1 'a+0x1=': no policy after '='");
	check_bad("a+0x1=nowhere", "rule 1 'a+0x1=nowhere': unknown policy 'nowhere'");
	check_bad("func==bind:0", "rule 1 'func==bind:0': function is empty");
	check_bad("a+0x1=bind:0 cap=0", "rule 1 'a+0x1=bind:0 cap=0': cap=0 leaves no room (leave cap= out for no budget)");
	check_bad("a+0x1=bind:0 cap=lots", "rule 1 'a+0x1=bind:0 cap=lots': 'lots' is not a size");
	check_bad("func=hot=bandwidth+share", "rule 1 'func=hot=bandwidth+share': modifier '+share' does not apply to a "
	          "site rule (+share is per size rule, AMLSHIM_POLICY or AMLSHIM_RULES; a site rule takes cap=SIZE)");
	check_bad("a+0x1=bind:0 fast", "rule 1 'a+0x1=bind:0 fast': after the policy: 'fast' (only cap=SIZE may follow it)");
	check_bad("a+0x1=bind:0;b+0x2=bind", "rule 2 'b+0x2=bind': bind needs a node list (bind:NODES)");
	check_bad("a/b+0x1=bind:0", "rule 1 'a/b+0x1=bind:0': module 'a/b' has a character that is not allowed");
	/* Binary bytes: a quote-safe value of its own. */
	static struct amlshim_sites s;
	struct test_env env;
	memset(&s, 0, sizeof(s));
	memset(&env, 0, sizeof(env));
	CHECK_EQ(amlshim_sites_parse("/f", "a+0x1=bind:0\n\x01\x02", 15, &s, test_sink, &env), -1);
	CHECK(env.num_lines == 1 && strstr(env.lines[0], "AMLSHIM_SITES='/f' is not valid: binary bytes (byte 13)"),
	      "binary: %s", env.lines[0]);
	static char huge[AMLSHIM_SITES_TEXT_MAX + 2];
	memset(huge, '#', sizeof(huge) - 1);
	memset(&env, 0, sizeof(env));
	CHECK_EQ(amlshim_sites_parse("/f", huge, sizeof(huge) - 1, &s, test_sink, &env), -1);
	CHECK(env.num_lines == 1 && strstr(env.lines[0], "more than 64 KiB of rules"), "huge: %s", env.lines[0]);
	/* 33 rules. */
	char many[33 * 16] = "";
	for (int i = 0; i < 33; i++)
		strcat(many, "a+0x1=bind:0;");
	memset(&env, 0, sizeof(env));
	CHECK_EQ(amlshim_sites_parse("x", many, strlen(many), &s, test_sink, &env), -1);
	CHECK(env.num_lines == 1 && strstr(env.lines[0], "more than 32 rules"), "many: %s", env.lines[0]);
}

static void check_vars(void)
{
	static struct amlshim_sites s;
	struct test_env env;
	const char *none[] = {NULL};
	(void)none;
	memset(&env, 0, sizeof(env));
	amlshim_sites_parse_vars(&s, test_env_read, &env, test_sink, &env);
	CHECK(s.depth == 6 && s.min == 0 && env.num_lines == 0, "defaults");
	memset(&env, 0, sizeof(env));
	env.names[0] = "AMLSHIM_SITE_DEPTH", env.values[0] = "16";
	env.names[1] = "AMLSHIM_SITE_MIN", env.values[1] = "256K";
	env.count = 2;
	amlshim_sites_parse_vars(&s, test_env_read, &env, test_sink, &env);
	CHECK(s.depth == 16 && s.min == 256 << 10 && env.num_lines == 0, "depth %d min %zu", s.depth, s.min);
	const char *bad_depths[] = {"0", "65", "-1", "six"};
	for (size_t i = 0; i < sizeof(bad_depths) / sizeof(bad_depths[0]); i++) {
		memset(&env, 0, sizeof(env));
		env.names[0] = "AMLSHIM_SITE_DEPTH", env.values[0] = bad_depths[i];
		env.count = 1;
		amlshim_sites_parse_vars(&s, test_env_read, &env, test_sink, &env);
		CHECK(s.depth == 6 && s.errors == 1, "depth '%s'", bad_depths[i]);
		check_message(&env, 0, "AMLSHIM_SITE_DEPTH", bad_depths[i], "not a number of frames from 1 to 64",
		              "1 to 64 (default 6)");
	}
	memset(&env, 0, sizeof(env));
	env.names[0] = "AMLSHIM_PROFILE_MIN_SIZE", env.values[0] = "2M";
	env.names[1] = "AMLSHIM_PROFILE_INTERVAL", env.values[1] = "250";
	env.count = 2;
	amlshim_sites_parse_vars(&s, test_env_read, &env, test_sink, &env);
	CHECK(s.min == 2 << 20 && s.interval_ms == 250 && env.num_lines == 0, "min %zu interval %u", s.min, s.interval_ms);
	env.names[2] = "AMLSHIM_SITE_MIN", env.values[2] = "1M"; /* wins over PROFILE_MIN_SIZE */
	env.count = 3;
	amlshim_sites_parse_vars(&s, test_env_read, &env, test_sink, &env);
	CHECK(s.min == 1 << 20, "AMLSHIM_SITE_MIN did not win: %zu", s.min);
	const char *bad_intervals[] = {"0", "60001", "1.5"};
	for (size_t i = 0; i < sizeof(bad_intervals) / sizeof(bad_intervals[0]); i++) {
		memset(&env, 0, sizeof(env));
		env.names[0] = "AMLSHIM_PROFILE_INTERVAL", env.values[0] = bad_intervals[i];
		env.count = 1;
		amlshim_sites_parse_vars(&s, test_env_read, &env, test_sink, &env);
		CHECK(s.interval_ms == 50 && s.errors == 1, "interval '%s'", bad_intervals[i]);
		check_message(&env, 0, "AMLSHIM_PROFILE_INTERVAL", bad_intervals[i],
		              "not a number of milliseconds from 1 to 60000", "1 to 60000 (default 50)");
	}
	/* Empty is unset: the default, no line. */
	memset(&env, 0, sizeof(env));
	env.names[0] = "AMLSHIM_PROFILE_INTERVAL", env.values[0] = "";
	env.count = 1;
	amlshim_sites_parse_vars(&s, test_env_read, &env, test_sink, &env);
	CHECK(s.interval_ms == 50 && s.errors == 0 && env.num_lines == 0, "empty interval: %u, %d errors", s.interval_ms,
	      s.errors);
	memset(&env, 0, sizeof(env));
	env.names[0] = "AMLSHIM_SITE_MIN", env.values[0] = "1X";
	env.count = 1;
	amlshim_sites_parse_vars(&s, test_env_read, &env, test_sink, &env);
	CHECK(s.min == 0 && s.errors == 1 && env.num_lines == 1, "min '1X'");
	CHECK(strstr(env.lines[0], "amlshim: AMLSHIM_SITE_MIN='1X' is not valid: ") == env.lines[0], "%s", env.lines[0]);
}

int main(void)
{
	check_accepted();
	check_rejected();
	check_vars();
	return 0;
}
