/* libFuzzer target: the size-range table (AMLSHIM_RULES alone).
 *
 * Input: the variable's text. Refused: exactly one message, about
 * AMLSHIM_RULES, and an empty table. Accepted: the invariants of fuzz.h
 * (sorted, disjoint, every edge looked up like a full scan), and a round
 * trip: the table written back as text (sizes with amlshim_format_size,
 * node lists in full) parses to the same table. Sizes spelt back are also
 * checked with amlshim_parse_size. */
#include "fuzz.h"

static void append(char *buf, size_t cap, size_t *len, const char *text)
{
	size_t n = strlen(text);
	FUZZ_CHECK(*len + n < cap, "round-trip text too long");
	memcpy(buf + *len, text, n + 1);
	*len += n;
}

static void append_nodes(char *buf, size_t cap, size_t *len, const struct amlshim_placement *p)
{
	if (p->all_nodes) {
		append(buf, cap, len, "all");
		return;
	}
	int first = 1;
	for (unsigned name = 0; name < AMLSHIM_NAME_COUNT; name++) {
		if (!(p->node_names >> name & 1U))
			continue;
		append(buf, cap, len, first ? "" : ",");
		append(buf, cap, len, amlshim_node_name(name));
		first = 0;
	}
	const size_t bits = 8 * sizeof(unsigned long);
	for (unsigned node = 0; node < AMLSHIM_MAX_NODES; node++) {
		if (!((p->nodes[node / bits] >> (node % bits)) & 1))
			continue;
		unsigned last = node;
		while (last + 1 < AMLSHIM_MAX_NODES && ((p->nodes[(last + 1) / bits] >> ((last + 1) % bits)) & 1))
			last++;
		char entry[32];
		snprintf(entry, sizeof(entry), last > node ? "%s%u-%u" : "%s%u", first ? "" : ",", node, last);
		append(buf, cap, len, entry);
		first = 0;
		node = last;
	}
}

static void append_size(char *buf, size_t cap, size_t *len, size_t size)
{
	char text[24];
	amlshim_format_size(size, text, sizeof(text));
	size_t back;
	FUZZ_CHECK(amlshim_parse_size(text, &back) == 0 && back == size, "size %zu spelt '%s' reads back as %zu",
	           size, text, back);
	append(buf, cap, len, text);
}

/* weighted-interleave's argument in full: "NODE*WEIGHT,..." when weights
 * were given, else "auto:NODES". */
static void append_weights(char *buf, size_t cap, size_t *len, const struct amlshim_placement *p)
{
	if (p->weights[0] == 0) {
		append(buf, cap, len, ":auto:");
		append_nodes(buf, cap, len, p);
		return;
	}
	const size_t bits = 8 * sizeof(unsigned long);
	int rank = 0;
	for (unsigned node = 0; node < AMLSHIM_MAX_NODES; node++) {
		if (!((p->nodes[node / bits] >> (node % bits)) & 1))
			continue;
		char entry[32];
		snprintf(entry, sizeof(entry), "%s%u*%u", rank ? "," : ":", node, p->weights[rank]);
		append(buf, cap, len, entry);
		rank++;
	}
}

/* The placement in full (its canonical text may be cut for long lists). */
static void append_placement(char *buf, size_t cap, size_t *len, const struct amlshim_placement *p)
{
	append(buf, cap, len, amlshim_placement_kind_name(p->kind));
	switch (p->kind) {
	case AMLSHIM_PLACE_BIND:
	case AMLSHIM_PLACE_PREFERRED:
		append(buf, cap, len, ":");
		append_nodes(buf, cap, len, p);
		break;
	case AMLSHIM_PLACE_INTERLEAVE:
		if (!p->all_nodes) {
			append(buf, cap, len, ":");
			append_nodes(buf, cap, len, p);
		}
		break;
	case AMLSHIM_PLACE_BLOCK_INTERLEAVE:
		append(buf, cap, len, ":");
		append_size(buf, cap, len, p->block_size);
		if (!p->all_nodes) {
			append(buf, cap, len, ":");
			append_nodes(buf, cap, len, p);
		}
		break;
	case AMLSHIM_PLACE_WEIGHTED_INTERLEAVE:
		append_weights(buf, cap, len, p);
		break;
	case AMLSHIM_PLACE_CUDA_MAPPED:
	case AMLSHIM_PLACE_CUDA_MANAGED: {
		char dev[16];
		snprintf(dev, sizeof(dev), ":%d", p->device);
		append(buf, cap, len, dev);
		break;
	}
	default:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1 << 16)
		return 0;
	char *text = fuzz_strndup(data, size);
	struct fuzz_env env;
	memset(&env, 0, sizeof(env));
	env.values[2] = text;
	static struct amlshim_policy policy, again;
	struct fuzz_messages messages;
	memset(&messages, 0, sizeof(messages));
	amlshim_policy_parse(&policy, fuzz_env_read, &env, fuzz_sink, &messages);
	fuzz_check_policy(&policy, data, size);
	if (text[0] == '\0') { /* empty: unset */
		FUZZ_CHECK(messages.count == 0 && policy.num_rules == 0, "empty RULES");
		free(text);
		return 0;
	}
	if (messages.count) {
		FUZZ_CHECK(messages.count == 1 && messages.names[2] == 1, "a refused RULES gave %d messages",
		           messages.count);
		FUZZ_CHECK(policy.num_rules == 0, "a refused RULES left %d rules", policy.num_rules);
		free(text);
		return 0;
	}
	FUZZ_CHECK(policy.num_rules >= 1, "accepted RULES '%.60s' with no rule", text);
	/* Round trip. */
	static char written[AMLSHIM_MAX_RULES * 4096];
	size_t len = 0;
	written[0] = '\0';
	for (int i = 0; i < policy.num_rules; i++) {
		const struct amlshim_rule *r = &policy.rules[i];
		if (i)
			append(written, sizeof(written), &len, ";");
		if (r->min)
			append_size(written, sizeof(written), &len, r->min);
		append(written, sizeof(written), &len, "-");
		if (r->max != SIZE_MAX)
			append_size(written, sizeof(written), &len, r->max);
		append(written, sizeof(written), &len, "=");
		append_placement(written, sizeof(written), &len, &r->placement);
	}
	memset(&env, 0, sizeof(env));
	env.values[2] = written;
	struct fuzz_messages more;
	memset(&more, 0, sizeof(more));
	amlshim_policy_parse(&again, fuzz_env_read, &env, fuzz_sink, &more);
	FUZZ_CHECK(more.count == 0, "the table written back ('%.200s') is refused: %s", written, more.first);
	FUZZ_CHECK(again.num_rules == policy.num_rules, "round trip: %d rules, then %d", policy.num_rules,
	           again.num_rules);
	for (int i = 0; i < policy.num_rules; i++) {
		const struct amlshim_rule *a = &policy.rules[i], *b = &again.rules[i];
		FUZZ_CHECK(a->min == b->min && a->max == b->max, "round trip: rule %d range", i);
		FUZZ_CHECK(a->placement.kind == b->placement.kind && a->placement.all_nodes == b->placement.all_nodes &&
		                   memcmp(a->placement.nodes, b->placement.nodes, sizeof(a->placement.nodes)) == 0 &&
		                   a->placement.node_names == b->placement.node_names &&
		                   a->placement.block_size == b->placement.block_size &&
		                   a->placement.device == b->placement.device &&
		                   memcmp(a->placement.weights, b->placement.weights, sizeof(a->placement.weights)) == 0 &&
		                   strcmp(a->placement.text, b->placement.text) == 0,
		           "round trip: rule %d placement '%s' became '%s'", i, a->placement.text, b->placement.text);
	}
	free(text);
	return 0;
}
