/* libFuzzer target: the call-site rules (AMLSHIM_SITES alone, the text a
 * variable or a file holds).
 *
 * Input: the rules' bytes (NUL included: a file may hold any byte).
 * Refused: exactly one message, about AMLSHIM_SITES, the fuzz.h message
 * invariants, and no rules. Accepted: no message, 1 to 32 rules, each
 * with frames (1 to 64, named modules) or function names, and a round
 * trip: each rule's canonical text parses back to the same rule (frames,
 * offsets, names, cap, placement kind and nodes). */
#include "fuzz.h"
#include "sites.h"

/* One bounded line about AMLSHIM_SITES, printable ASCII only. */
static void sites_sink(const char *line, void *ctx)
{
	static const char prefix[] = "amlshim: AMLSHIM_SITES=";
	int printable = 1;
	for (const unsigned char *c = (const unsigned char *)line; *c; c++)
		printable &= *c >= 0x20 && *c < 0x7f;
	FUZZ_CHECK(strnlen(line, AMLSHIM_MESSAGE_MAX) < AMLSHIM_MESSAGE_MAX && printable &&
	           strncmp(line, prefix, sizeof(prefix) - 1) == 0 && strstr(line, " is not valid: "),
	           "bad message line: %.80s", line);
	++*(int *)ctx;
}

static void same_rule(const struct amlshim_site_rule *a, const struct amlshim_site_rule *b)
{
	FUZZ_CHECK(a->kind == b->kind && a->num_frames == b->num_frames && a->cap == b->cap, "round trip of '%s'",
	           a->text);
	for (int f = 0; f < a->num_frames; f++)
		FUZZ_CHECK(strcmp(a->frames[f].module, b->frames[f].module) == 0 && a->frames[f].offset == b->frames[f].offset,
		           "frame %d of '%s'", f, a->text);
	FUZZ_CHECK(strcmp(a->func[0], b->func[0]) == 0 && strcmp(a->func[1], b->func[1]) == 0, "names of '%s'", a->text);
	FUZZ_CHECK(a->placement.kind == b->placement.kind && a->placement.all_nodes == b->placement.all_nodes &&
	           memcmp(a->placement.nodes, b->placement.nodes, sizeof(a->placement.nodes)) == 0,
	           "placement of '%s'", a->text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct amlshim_sites sites, again;
	int messages = 0;
	memset(&sites, 0x5a, sizeof(sites));
	sites.errors = 0;
	int count = amlshim_sites_parse("fuzz", (const char *)data, size, &sites, sites_sink, &messages);
	if (count < 0) {
		FUZZ_CHECK(messages == 1 && sites.count == 0 && sites.errors == 1, "refused with %d messages, %d rules",
		           messages, sites.count);
		return 0;
	}
	FUZZ_CHECK(messages == 0 && count == sites.count && count >= 1 && count <= AMLSHIM_MAX_SITE_RULES,
	           "accepted: %d rules, %d messages", count, messages);
	for (int r = 0; r < count; r++) {
		const struct amlshim_site_rule *rule = &sites.rules[r];
		FUZZ_CHECK(fuzz_terminated(rule->text, sizeof(rule->text)), "rule text not terminated");
		if (rule->kind == AMLSHIM_SITE_STACK) {
			FUZZ_CHECK(rule->num_frames >= 1 && rule->num_frames <= AMLSHIM_SITE_MAX_DEPTH, "%d frames",
			           rule->num_frames);
			for (int f = 0; f < rule->num_frames; f++)
				FUZZ_CHECK(rule->frames[f].module[0], "frame %d without a module", f);
		} else {
			FUZZ_CHECK(rule->func[1][0] && (rule->kind == AMLSHIM_SITE_FUNC || rule->func[0][0]), "no name");
		}
		/* The canonical text may be cut (long stacks or lists, ending in
		 * "..."): round trip when whole. */
		size_t len = strlen(rule->text);
		if (len + 1 >= sizeof(rule->text) || strlen(rule->placement.text) + 1 >= sizeof(rule->placement.text) ||
		    (len >= 3 && strstr(rule->text, "...") != NULL))
			continue;
		memset(&again, 0, sizeof(again));
		int back = amlshim_sites_parse("fuzz", rule->text, strlen(rule->text), &again, sites_sink, &messages);
		FUZZ_CHECK(back == 1 && messages == 0, "'%s' does not parse back", rule->text);
		same_rule(rule, &again.rules[0]);
		FUZZ_CHECK(strcmp(rule->text, again.rules[0].text) == 0, "'%s' spelt back as '%s'", rule->text,
		           again.rules[0].text);
	}
	return 0;
}
