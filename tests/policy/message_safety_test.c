/* Messages are safe whatever the environment holds: values are quoted with
 * every byte outside printable ASCII escaped, cut after 64 bytes, and each
 * bad variable gives exactly one bounded, printable line that cannot be
 * mistaken for another. */
#include "policy_test.h"

static const char *const all_names[] = {
	"AMLSHIM_POLICY", "AMLSHIM_THRESHOLD", "AMLSHIM_RULES", "AMLSHIM_SMALL", "AMLSHIM_MMAP",
	"AMLSHIM_STATS", "AMLSHIM_STATS_FILE", "AMLSHIM_LOG", "AMLSHIM_STRICT", "AMLSHIM_DEEPBIND",
};
static const char *const all_accepted[] = {
	ACCEPTED_POLICY, ACCEPTED_THRESHOLD, ACCEPTED_RULES, ACCEPTED_SMALL, ACCEPTED_MMAP,
	ACCEPTED_STATS, ACCEPTED_STATS_FILE, ACCEPTED_LOG, ACCEPTED_STRICT, ACCEPTED_DEEPBIND,
};
#define NUM_NAMES ((int)(sizeof(all_names) / sizeof(all_names[0])))

static void check_quote(const char *value, const char *want)
{
	char buf[320];
	memset(buf, 'x', sizeof(buf));
	CHECK(amlshim_quote_value(value, buf, sizeof(buf)) == buf, "returns its buffer");
	CHECK_STR(buf, want);
}

static void check_quoting(void)
{
	check_quote("", "''");
	check_quote("abc", "'abc'");
	check_quote("a'b\\c", "'a\\'b\\\\c'");
	check_quote("\n", "'\\x0a'");
	check_quote("a\r\nb\tc", "'a\\x0d\\x0ab\\x09c'");
	check_quote("\x1b[31mred\x1b[0m", "'\\x1b[31mred\\x1b[0m'");
	check_quote("\x7f\x80\xff", "'\\x7f\\x80\\xff'");
	check_quote(" ~", "' ~'");

	char value[10241], want[1024];
	memset(value, 'a', 64);
	value[64] = '\0';
	snprintf(want, sizeof(want), "'%.64s'", value);
	check_quote(value, want); /* 64 bytes: shown whole */
	value[64] = 'b';
	value[65] = '\0';
	snprintf(want, sizeof(want), "'%.64s'...(65 bytes)", value);
	check_quote(value, want);
	memset(value, '\n', 10240);
	value[10240] = '\0';
	char *w = want;
	*w++ = '\'';
	for (int i = 0; i < 64; i++)
		w += sprintf(w, "\\x0a");
	sprintf(w, "'...(10240 bytes)");
	check_quote(value, want);

	/* Small buffers: cut with "...", never inside an escape. */
	char small[10];
	CHECK_STR(amlshim_quote_value("abcdefghijkl", small, sizeof(small)), "'abcde...");
	char tiny[8];
	CHECK_STR(amlshim_quote_value("\x01\x01\x01", tiny, sizeof(tiny)), "'...");
	CHECK_STR(amlshim_quote_value("\x01\x01\x01", small, sizeof(small)), "'\\x01...");
}

/* Exactly one line, for name, printable, bounded, complete. */
static void check_one_safe_line(const char *name, int index, const char *value)
{
	struct amlshim_policy p;
	struct test_env env;
	test_parse(&p, &env, name, value, NULL);
	CHECK(env.num_lines == 1, "%s: %d lines for a %zu-byte value", name, env.num_lines, strlen(value));
	const char *line = env.lines[0];
	size_t len = strlen(line);
	CHECK(len < AMLSHIM_MESSAGE_MAX, "%zu bytes", len);
	for (size_t i = 0; i < len; i++)
		CHECK(line[i] >= 0x20 && line[i] < 0x7f, "%s: byte %zu is 0x%02x", name, i, (unsigned char)line[i]);
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "amlshim: %s='", name);
	CHECK(strncmp(line, prefix, strlen(prefix)) == 0, "'%s'", line);
	/* The line was not cut: it ends with the whole accepted list. */
	const char *accepted = all_accepted[index];
	CHECK(len > strlen(accepted) && strcmp(line + len - strlen(accepted), accepted) == 0 &&
	      strstr(line, " is not valid: ") && strstr(line, "; accepted: "), "'%s'", line);
	/* The shown value is cut after 64 bytes (escaped they take up to 256). */
	const char *shown = line + strlen(prefix);
	const char *close = strstr(shown, "' is not valid: ");
	const char *cut = strstr(shown, "'...(");
	const char *end = cut && (!close || cut < close) ? cut : close;
	CHECK(end && end - shown <= 4 * AMLSHIM_QUOTE_MAX, "shown value too long in '%s'", line);
	if (strlen(value) > AMLSHIM_QUOTE_MAX) {
		char count[64];
		snprintf(count, sizeof(count), "'...(%zu bytes) is not valid: ", strlen(value));
		CHECK(strstr(line, count) == end, "no byte count in '%s'", line);
	}
}

static void check_hostile_values(void)
{
	static char big_a[10241], big_newlines[10241], big_bytes[10241], big_rules[10241],
		big_nodes[10241], big_path[10241];
	memset(big_a, 'a', 10240);
	memset(big_newlines, '\n', 10240);
	for (int i = 0; i < 10240; i++)
		big_bytes[i] = (char)(1 + i % 255);
	/* Two long, valid, overlapping rules: the longest reason there is. */
	int at = snprintf(big_rules, sizeof(big_rules), "0-2M=interleave:");
	for (int i = 0; i < 2000; i++)
		at += snprintf(big_rules + at, sizeof(big_rules) - (size_t)at, "0,");
	at += snprintf(big_rules + at, sizeof(big_rules) - (size_t)at, "1;1M-=interleave:");
	for (int i = 0; i < 2000; i++)
		at += snprintf(big_rules + at, sizeof(big_rules) - (size_t)at, "0,");
	snprintf(big_rules + at, sizeof(big_rules) - (size_t)at, "1");
	memset(big_nodes, ',', 10240);
	memcpy(big_nodes, "bind:", 5);
	memset(big_path, '%', 10240);

	const char *hostile[] = {
		"interleave\namlshim: AMLSHIM_POLICY='fake' is not valid",
		"\x1b[2J\x1b[H", "\r", "'", "\\", "\xff\xfe", "\x7f", "%n%s%x", "%p%",
		big_a, big_newlines, big_bytes, big_rules, big_nodes, big_path,
	};
	for (int v = 0; v < NUM_NAMES; v++)
		for (size_t h = 0; h < sizeof(hostile) / sizeof(hostile[0]); h++)
			if (strcmp(all_names[v], "AMLSHIM_STATS_FILE") != 0 || strchr(hostile[h], '%') ||
			    strlen(hostile[h]) >= AMLSHIM_PATH_MAX)
				check_one_safe_line(all_names[v], v, hostile[h]);

	/* The injected "line" stays inside the one real line, escaped. */
	struct amlshim_policy p;
	struct test_env env;
	test_parse(&p, &env, "AMLSHIM_POLICY", hostile[0], NULL);
	CHECK_STR(env.lines[0], "amlshim: AMLSHIM_POLICY='interleave\\x0aamlshim: AMLSHIM_POLICY=\\'fake\\' "
	                        "is not valid' is not valid: unknown policy 'interleave\\x0aamlshim'; "
	                        "accepted: " ACCEPTED_POLICY);
	test_parse(&p, &env, "AMLSHIM_RULES", big_rules, NULL);
	CHECK(strstr(env.lines[0], " is not valid: rule 1 '0-2M=interleave:0,0,0,"), "'%s'", env.lines[0]);
	CHECK(strstr(env.lines[0], "'...(4017 bytes) overlaps rule 2 '1M-=interleave:0,0,"), "'%s'", env.lines[0]);
	test_parse(&p, &env, "AMLSHIM_POLICY", big_a, NULL);
	CHECK_STR(env.lines[0], "amlshim: AMLSHIM_POLICY='aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'"
	                        "...(10240 bytes) is not valid: unknown policy "
	                        "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'...(10240 bytes); "
	                        "accepted: " ACCEPTED_POLICY);
}

int main(void)
{
	check_quoting();
	check_hostile_values();
	return 0;
}
