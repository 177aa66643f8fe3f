/* Random environments (fixed seed, so a failure repeats): whatever the
 * input, the result keeps its invariants: one safe line per bad variable,
 * the fallbacks, a sorted non-overlapping table whose placements read back
 * from their canonical text, the same answer twice, and rule_for agreeing
 * with a plain scan. Random RULES tables are also checked against a
 * reference built from how they were generated. */
#include "policy_test.h"

static const char *const names[] = {
	"AMLSHIM_POLICY", "AMLSHIM_THRESHOLD", "AMLSHIM_RULES", "AMLSHIM_SMALL", "AMLSHIM_MMAP",
	"AMLSHIM_STATS", "AMLSHIM_STATS_FILE", "AMLSHIM_LOG", "AMLSHIM_STRICT", "AMLSHIM_DEEPBIND",
};
#define NUM_NAMES ((int)(sizeof(names) / sizeof(names[0])))

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static unsigned pick(unsigned n)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (unsigned)((rng * 0x2545f4914f6cdd1dULL) >> 33) % n;
}

static void append(char *buf, size_t cap, const char *piece)
{
	size_t len = strlen(buf);
	snprintf(buf + len, cap - len, "%s", piece);
}

/* A value made of grammar pieces and troublesome bytes. */
static void random_value(char *buf, size_t cap)
{
	static const char *const tokens[] = {
		"0", "1", "2", "3", "7", "63", "1023", "1024", "4K", "64K", "2M", "1G", "1T", "3000",
		"16E", "18446744073709551615", "-", "-", ",", ",", ":", ":", ";", "=", "all",
		"interleave", "block-interleave", "bind", "preferred", "local", "default", "bandwidth",
		"latency", "capacity", "cuda-mapped", "cuda-managed", "on", "off", "json", "text",
		"debug", "%p", "%%", "%", " ", "\n", "\x1b", "'", "\\", "\xff", "B", "iB", "k",
	};
	buf[0] = '\0';
	for (unsigned n = pick(10); n; n--)
		append(buf, cap, tokens[pick(sizeof(tokens) / sizeof(tokens[0]))]);
}

/* Values each variable accepts, to start from. */
static const char *const good_values[][8] = {
	{"interleave", "bind:0-3", "block-interleave:2M:0,1", "preferred:1", "local", "default",
	 "cuda-managed:1", "bandwidth"},
	{"0", "4K", "1M", "2GiB", "64k", "18446744073709551615", "1T", "4096B"},
	{"0-64K=local;64K-1G=interleave;1G-=block-interleave:2M", "1M-=bind:1", "-4K=latency;8K-=capacity;",
	 "4K-8K=default", "1G-=cuda-mapped:3", "0-1=local;1-2=local;2-=local", "2M-=interleave:0-3,6",
	 "-=preferred:0"},
	{"local", "interleave:0,1", "bind:all", "default", "preferred:2", "latency", "capacity", "bandwidth"},
	{"on", "off", "1", "0", "ON", "Off", "on", "off"},
	{"1", "json", "", "text", "0", "off", "JSON", "1"},
	{"/tmp/x.%p", "stats.json", "%p%%", "a", "/tmp/%p/%p", "x y", "100%%", "/"},
	{"debug", "info", "warn", "error", "DEBUG", "Info", "warn", "error"},
	{"0", "1", "0", "1", "0", "1", "0", "1"},
	{"keep", "drop", "KEEP", "Drop", "keep", "drop", "", "keep"},
};

/* A good value with one byte replaced, inserted or removed. */
static void near_value(char *buf, size_t cap, const char *good)
{
	static const char bytes[] = "0123456789KMGTB-,:;=%pa \n'\\\x1b\xff";
	snprintf(buf, cap, "%s", good);
	size_t len = strlen(buf), at = len ? pick((unsigned)len + 1) : 0;
	char c = bytes[pick(sizeof(bytes) - 1)];
	switch (pick(3)) {
	case 0:
		if (at < len)
			buf[at] = c;
		break;
	case 1:
		if (len + 1 < cap) {
			memmove(buf + at + 1, buf + at, len - at + 1);
			buf[at] = c;
		}
		break;
	default:
		if (at < len)
			memmove(buf + at, buf + at + 1, len - at);
	}
}

static int same_placement(const struct amlshim_placement *a, const struct amlshim_placement *b)
{
	return a->kind == b->kind && a->all_nodes == b->all_nodes &&
	       memcmp(a->nodes, b->nodes, sizeof(a->nodes)) == 0 && a->block_size == b->block_size &&
	       a->device == b->device && strcmp(a->text, b->text) == 0;
}

static void check_reads_back(const struct amlshim_placement *p)
{
	size_t len = strlen(p->text);
	CHECK(len < sizeof(p->text), "text not terminated");
	if (len >= 3 && strcmp(p->text + len - 3, "...") == 0)
		return; /* cut for length: not meant to be read back */
	struct amlshim_placement again;
	char why[256];
	CHECK(amlshim_parse_placement(p->text, &again, why, sizeof(why)) == 0, "'%s': %s", p->text, why);
	CHECK(same_placement(&again, p), "'%s' reads back differently", p->text);
}

static const struct amlshim_rule *reference_rule_for(const struct amlshim_policy *p, size_t size)
{
	for (int i = 0; i < p->num_rules; i++)
		if (p->rules[i].min <= size && (size < p->rules[i].max || p->rules[i].max == SIZE_MAX))
			return &p->rules[i];
	return NULL;
}

static int line_for(const struct test_env *env, const char *name)
{
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "amlshim: %s='", name);
	int found = -1;
	for (int i = 0; i < env->num_lines; i++) {
		if (strncmp(env->lines[i], prefix, strlen(prefix)) == 0) {
			CHECK(found < 0, "two lines for %s", name);
			found = i;
		}
	}
	return found;
}

static const char *value_of(const struct test_env *env, const char *name)
{
	for (int i = 0; i < env->count; i++)
		if (strcmp(env->names[i], name) == 0)
			return env->values[i];
	return NULL;
}

static void check_invariants(const struct amlshim_policy *p, const struct test_env *env)
{
	CHECK(env->num_lines <= NUM_NAMES, "%d lines", env->num_lines);
	int placement_bad = 0;
	for (int i = 0; i < env->num_lines; i++) {
		const char *line = env->lines[i];
		for (const char *c = line; *c; c++)
			CHECK(*c >= 0x20 && *c < 0x7f, "unprintable byte in '%s'", line);
		CHECK(strncmp(line, "amlshim: AMLSHIM_", 17) == 0 && strstr(line, " is not valid: ") &&
		      strstr(line, "; accepted: "), "'%s'", line);
	}
	int last = -1;
	for (int n = 0; n < NUM_NAMES; n++) {
		int line = line_for(env, names[n]);
		if (line < 0)
			continue;
		CHECK(line > last, "lines out of order");
		last = line;
		placement_bad |= n < 4;
	}
	if (placement_bad) {
		check_placement_fallback(p);
	} else if (value_of(env, "AMLSHIM_RULES") && value_of(env, "AMLSHIM_RULES")[0]) {
		const char *policy = value_of(env, "AMLSHIM_POLICY"), *threshold = value_of(env, "AMLSHIM_THRESHOLD");
		CHECK_EQ(p->rules_override, (policy && *policy) || (threshold && *threshold));
	}

	/* POLICY and THRESHOLD agree with the public one-value parsers. */
	const char *policy = value_of(env, "AMLSHIM_POLICY");
	if (policy && *policy) {
		struct amlshim_placement placement;
		char why[512];
		int bad = amlshim_parse_placement(policy, &placement, why, sizeof(why)) != 0;
		CHECK_EQ(bad, line_for(env, "AMLSHIM_POLICY") >= 0);
		if (!placement_bad && !value_of(env, "AMLSHIM_RULES") && placement.kind != AMLSHIM_PLACE_DEFAULT)
			CHECK(p->num_rules == 1 && same_placement(&p->rules[0].placement, &placement) &&
			      p->rules[0].min == p->threshold && p->rules[0].max == SIZE_MAX, "POLICY rule");
	}
	const char *threshold = value_of(env, "AMLSHIM_THRESHOLD");
	if (threshold && *threshold) {
		size_t size;
		int bad = amlshim_parse_size(threshold, &size) != 0;
		CHECK_EQ(bad, line_for(env, "AMLSHIM_THRESHOLD") >= 0);
		if (!bad)
			CHECK(p->threshold == size, "threshold");
	}

	CHECK(p->num_rules >= 0 && p->num_rules <= AMLSHIM_MAX_RULES, "%d rules", p->num_rules);
	for (int i = 0; i < p->num_rules; i++) {
		/* (THRESHOLD=18446744073709551615 gives [SIZE_MAX, SIZE_MAX], which
		 * still covers SIZE_MAX.) */
		CHECK(p->rules[i].min < p->rules[i].max || p->rules[i].max == SIZE_MAX, "rule %d empty", i);
		CHECK(i == 0 || p->rules[i - 1].max <= p->rules[i].min, "rules %d and %d overlap", i - 1, i);
		check_reads_back(&p->rules[i].placement);
	}
	check_reads_back(&p->small);
	CHECK(p->small.kind != AMLSHIM_PLACE_BLOCK_INTERLEAVE && p->small.kind != AMLSHIM_PLACE_CUDA_MAPPED &&
	      p->small.kind != AMLSHIM_PLACE_CUDA_MANAGED, "small kind %d", p->small.kind);
	CHECK(strlen(p->stats_file) < AMLSHIM_PATH_MAX, "stats_file");
	CHECK(p->mmap_on == 0 || p->mmap_on == 1, "mmap_on");
	CHECK(p->strict == 0 || p->strict == 1, "strict");

	for (int i = 0; i < p->num_rules; i++) {
		size_t bounds[2] = {p->rules[i].min, p->rules[i].max};
		for (int b = 0; b < 2; b++)
			for (size_t size = bounds[b] - 1; size != bounds[b] + 2; size++)
				CHECK(amlshim_policy_rule_for(p, size) == reference_rule_for(p, size), "size %zu", size);
	}
}

static void check_random_environments(int rounds)
{
	static struct amlshim_policy p, again;
	static struct test_env env, env_again;
	static char values[NUM_NAMES][256];
	int clean = 0, with_rules = 0;
	for (int round = 0; round < rounds; round++) {
		const char *args[2 * NUM_NAMES + 1] = {0};
		int count = 0;
		for (int n = 0; n < NUM_NAMES; n++) {
			unsigned what = pick(20);
			if (what < 8)
				continue; /* unset */
			const char *good = good_values[n][pick(8)];
			if (what < 17)
				snprintf(values[n], sizeof(values[n]), "%s", good);
			else if (what < 19)
				near_value(values[n], sizeof(values[n]), good);
			else
				random_value(values[n], sizeof(values[n]));
			args[count++] = names[n];
			args[count++] = values[n];
		}
		test_parse(&p, &env, args[0], args[1], args[2], args[3], args[4], args[5], args[6], args[7],
		           args[8], args[9], args[10], args[11], args[12], args[13], args[14], args[15],
		           args[16], args[17], args[18], args[19], NULL);
		check_invariants(&p, &env);
		test_parse(&again, &env_again, args[0], args[1], args[2], args[3], args[4], args[5], args[6],
		           args[7], args[8], args[9], args[10], args[11], args[12], args[13], args[14],
		           args[15], args[16], args[17], args[18], args[19], NULL);
		CHECK(memcmp(&p, &again, sizeof(p)) == 0, "a second parse differs");
		CHECK(memcmp(env.lines, env_again.lines, sizeof(env.lines)) == 0, "messages differ");
		clean += env.num_lines == 0;
		with_rules += p.num_rules > 0;
	}
	printf("%d of %d environments clean, %d with rules\n", clean, rounds, with_rules);
	CHECK(clean > rounds / 100 && with_rules > rounds / 100, "poor mix");
}

/* Writes a size as bytes, K or M at random (all read back the same); a
 * MAX of SIZE_MAX may also be left out. */
static void append_size(char *buf, size_t cap, size_t size, int is_max)
{
	char text[32];
	if (is_max && size == SIZE_MAX && pick(2))
		text[0] = '\0';
	else if (size % (1 << 20) == 0 && size && size != SIZE_MAX && pick(2))
		snprintf(text, sizeof(text), "%zuM", size >> 20);
	else if (size % 1024 == 0 && size && size != SIZE_MAX && pick(2))
		snprintf(text, sizeof(text), "%zuk", size >> 10);
	else
		snprintf(text, sizeof(text), "%zu", size);
	append(buf, cap, text);
}

/* RULES built from known parts, so whether it is valid, and the table, are
 * known without the parser: half are disjoint by construction (then
 * shuffled), half take random ranges (and mostly overlap). */
static void check_random_tables(int rounds)
{
	static const size_t sizes[] = {0, 4096, 65536, 1 << 20, 2 << 20, 1 << 30, SIZE_MAX};
	static const struct { const char *text, *canonical; } placements[] = {
		{"local", "local"}, {"Interleave:0-3", "interleave:0-3"}, {"block-interleave:2MiB", "block-interleave:2M"},
		{"default", "default"}, {"cuda-mapped:2", "cuda-mapped:2"}, {"bind:all", "bind:all"},
		{"capacity", "capacity"}, {"preferred:7", "preferred:7"},
		{"interleave:3-0", NULL}, {"bogus", NULL}, {"preferred:0,1", NULL},
	};
	static struct amlshim_policy p;
	static struct test_env env;
	int valid_tables = 0, big_tables = 0;
	for (int round = 0; round < rounds; round++) {
		struct { size_t min, max; const char *text; int ok, empty; } want[AMLSHIM_MAX_RULES + 3];
		int count = (int)pick(AMLSHIM_MAX_RULES + 3) + 1, disjoint = pick(2);
		size_t next = (size_t)pick(3) * 4096;
		for (int i = 0; i < count; i++) {
			unsigned what = pick(sizeof(placements) / sizeof(placements[0]) + 30);
			if (what >= sizeof(placements) / sizeof(placements[0]))
				what %= 8; /* mostly good placements */
			want[i].text = placements[what].canonical;
			want[i].empty = pick(60) == 0;
			want[i].ok = want[i].text != NULL;
			if (disjoint) {
				want[i].min = next + (size_t)pick(2) * 4096;
				want[i].max = i == count - 1 && pick(2) ? SIZE_MAX : want[i].min + 4096 * (1 + pick(4));
				next = want[i].max;
			} else {
				want[i].min = sizes[pick(sizeof(sizes) / sizeof(sizes[0]))];
				want[i].max = sizes[pick(sizeof(sizes) / sizeof(sizes[0]))];
			}
			want[i].ok &= want[i].min < want[i].max;
		}
		for (int i = count - 1; disjoint && i > 0; i--) { /* shuffle */
			int j = (int)pick((unsigned)i + 1);
			__typeof__(want[0]) swap = want[i];
			want[i] = want[j];
			want[j] = swap;
		}
		char rules[2048] = "";
		for (int i = 0; i < count; i++) {
			unsigned shape = pick(80); /* 0: no '-', 1: no '=', else well formed */
			if (i)
				append(rules, sizeof(rules), ";");
			if (want[i].empty)
				continue;
			want[i].ok &= shape > 1;
			if (want[i].min || pick(2))
				append_size(rules, sizeof(rules), want[i].min, 0);
			if (shape != 0)
				append(rules, sizeof(rules), "-");
			append_size(rules, sizeof(rules), want[i].max, 1);
			if (shape != 1)
				append(rules, sizeof(rules), "=");
			for (size_t k = 0; k < sizeof(placements) / sizeof(placements[0]); k++)
				if (placements[k].canonical == want[i].text && want[i].text) {
					append(rules, sizeof(rules), placements[k].text);
					break;
				}
			if (!want[i].text)
				append(rules, sizeof(rules), "bogus");
		}
		if (pick(4) == 0)
			append(rules, sizeof(rules), ";");
		else if (want[count - 1].empty)
			count--; /* its ';' is the one trailing ';' allowed */
		int valid = count <= AMLSHIM_MAX_RULES;
		for (int i = 0; i < count; i++)
			valid &= want[i].ok && !want[i].empty;
		for (int i = 0; valid && i < count; i++)
			for (int j = i + 1; j < count; j++)
				if (want[i].min < want[j].max && want[j].min < want[i].max)
					valid = 0;
		if (rules[0] == '\0') { /* set to "": unset */
			count = 0;
			valid = 1;
		}
		test_parse(&p, &env, "AMLSHIM_RULES", rules, NULL);
		check_invariants(&p, &env);
		CHECK(env.num_lines == !valid, "'%s': expected %s, got %d lines: %s", rules,
		      valid ? "valid" : "one line", env.num_lines, env.num_lines ? env.lines[0] : "");
		if (!valid)
			continue;
		CHECK_EQ(p.num_rules, count);
		valid_tables++;
		big_tables += count >= 8;
		/* Each expected rule is in the table, at the place its min says. */
		for (int i = 0; i < count; i++) {
			int below = 0;
			for (int j = 0; j < count; j++)
				below += want[j].min < want[i].min;
			const struct amlshim_rule *r = &p.rules[below];
			CHECK(r->min == want[i].min && r->max == want[i].max && strcmp(r->placement.text, want[i].text) == 0,
			      "'%s': rule %d", rules, i);
		}
	}
	/* The generator must hit both outcomes, or this checks little. */
	printf("%d of %d tables valid, %d of them with 8 rules or more\n", valid_tables, rounds, big_tables);
	CHECK(valid_tables > rounds / 20 && valid_tables < rounds * 9 / 10, "poor mix");
	CHECK(big_tables > rounds / 100, "few big valid tables");
}

int main(void)
{
	check_random_environments(20000);
	check_random_tables(20000);
	return 0;
}
