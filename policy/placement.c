/* One placement: "NAME[:ARGUMENTS]" into a struct amlshim_placement with
 * its canonical spelling. Names are matched ASCII case-insensitively; the
 * canonical text is lower case and leaves out defaults ("interleave" for
 * interleave over all nodes, "cuda-mapped" for device 0). */
#include <string.h>

#include <aml/utils/nodemask.h>
#include "internal.h"

/* What follows the name and its ':'. */
enum argument {
	ARG_NONE,           /* local */
	ARG_NODES,          /* bind:NODES */
	ARG_ONE_NODE,       /* preferred:NODE */
	ARG_OPTIONAL_NODES, /* interleave[:NODES] */
	ARG_SIZE_NODES,     /* block-interleave:SIZE[:NODES] */
	ARG_DEVICE,         /* cuda-mapped[:DEV] */
	ARG_WEIGHTS,        /* weighted-interleave[:auto][:NODES] or :NODE*WEIGHT,... */
};

static const struct {
	const char *name;
	enum argument argument;
	const char *usage; /* said when a required argument is missing */
} kinds[AMLSHIM_PLACE_KIND_COUNT] = {
	[AMLSHIM_PLACE_DEFAULT] = {"default", ARG_NONE, NULL},
	[AMLSHIM_PLACE_LOCAL] = {"local", ARG_NONE, NULL},
	[AMLSHIM_PLACE_BIND] = {"bind", ARG_NODES, "bind needs a node list (bind:NODES)"},
	[AMLSHIM_PLACE_PREFERRED] = {"preferred", ARG_ONE_NODE, "preferred needs a node (preferred:NODE)"},
	[AMLSHIM_PLACE_INTERLEAVE] = {"interleave", ARG_OPTIONAL_NODES, NULL},
	[AMLSHIM_PLACE_BLOCK_INTERLEAVE] = {"block-interleave", ARG_SIZE_NODES,
	                                    "block-interleave needs a block size (block-interleave:SIZE[:NODES])"},
	[AMLSHIM_PLACE_BANDWIDTH] = {"bandwidth", ARG_NONE, NULL},
	[AMLSHIM_PLACE_LATENCY] = {"latency", ARG_NONE, NULL},
	[AMLSHIM_PLACE_CAPACITY] = {"capacity", ARG_NONE, NULL},
	[AMLSHIM_PLACE_CUDA_MAPPED] = {"cuda-mapped", ARG_DEVICE, NULL},
	[AMLSHIM_PLACE_CUDA_MANAGED] = {"cuda-managed", ARG_DEVICE, NULL},
	[AMLSHIM_PLACE_WEIGHTED_INTERLEAVE] = {"weighted-interleave", ARG_WEIGHTS, NULL},
};

const char *amlshim_placement_kind_name(enum amlshim_placement_kind kind)
{
	if ((unsigned)kind >= AMLSHIM_PLACE_KIND_COUNT)
		return "unknown";
	return kinds[kind].name;
}

void amlshim_placement_default(struct amlshim_placement *out)
{
	memset(out, 0, sizeof(*out));
	out->kind = AMLSHIM_PLACE_DEFAULT;
	out->all_nodes = 1;
	memcpy(out->text, "default", sizeof("default"));
}

static int count_nodes(const unsigned long *nodes)
{
	int count = 0;
	for (size_t w = 0; w < AMLSHIM_NODE_WORDS; w++)
		for (unsigned long bits = nodes[w]; bits; bits &= bits - 1)
			count++;
	return count;
}

static int parse_device(const char *s, size_t n, int *out, struct amlshim_text *why)
{
	unsigned long value;
	if (amlshim_parse_decimal(s, n, AMLSHIM_MAX_DEVICES - 1, &value) != 0) {
		amlshim_text_str(why, "device ");
		amlshim_text_quoted(why, s, n);
		amlshim_text_str(why, " is not a number from 0 to ");
		amlshim_text_uint(why, AMLSHIM_MAX_DEVICES - 1);
		return -1;
	}
	*out = (int)value;
	return 0;
}

static int parse_block_size(const char *s, size_t n, size_t *out, struct amlshim_text *why)
{
	if (amlshim_parse_size_span(s, n, out, why) != 0)
		return -1;
	if (*out == 0) {
		amlshim_text_str(why, "block size must be greater than 0");
		return -1;
	}
	if (*out % AMLSHIM_BLOCK_ALIGN) {
		amlshim_text_str(why, "block size ");
		amlshim_text_size(why, *out);
		amlshim_text_str(why, " is not a multiple of ");
		amlshim_text_size(why, AMLSHIM_BLOCK_ALIGN);
		amlshim_text_str(why, " (the page size)");
		return -1;
	}
	return 0;
}

/* A node list argument into p's nodes: the one place node lists of a
 * placement are read. */
static int parse_node_list(struct amlshim_placement *p, const char *s, size_t n, struct amlshim_text *why)
{
	return amlshim_parse_nodes_span(s, n, p->nodes, &p->all_nodes, &p->node_names, why);
}

/* One "NODE*WEIGHT" item of a weight list: its node (the node part is
 * read as a node list, which must name exactly one node) and weight. */
static int parse_weight_item(const char *s, size_t n, unsigned *node, unsigned *weight, struct amlshim_text *why)
{
	const char *star = memchr(s, '*', n);
	if (!star) {
		amlshim_text_str(why, "weight ");
		amlshim_text_quoted(why, s, n);
		amlshim_text_str(why, " is not NODE*WEIGHT");
		return -1;
	}
	size_t node_len = (size_t)(star - s), weight_len = n - node_len - 1;
	struct amlshim_placement one;
	amlshim_placement_default(&one);
	if (parse_node_list(&one, s, node_len, why) != 0)
		return -1;
	if (one.all_nodes || count_nodes(one.nodes) != 1) {
		amlshim_text_str(why, "weight ");
		amlshim_text_quoted(why, s, n);
		amlshim_text_str(why, " must name one node");
		return -1;
	}
	for (*node = 0; !aml_nodemask_test(one.nodes, *node);)
		++*node;
	unsigned long value;
	int bad = amlshim_parse_decimal(star + 1, weight_len, AMLSHIM_MAX_WEIGHT, &value);
	if (bad || value == 0) {
		amlshim_text_str(why, "weight ");
		amlshim_text_quoted(why, star + 1, weight_len);
		amlshim_text_str(why, " of node ");
		amlshim_text_uint(why, *node);
		amlshim_text_str(why, bad == -1 ? " is not a number" : " is not from 1 to ");
		if (bad != -1)
			amlshim_text_uint(why, AMLSHIM_MAX_WEIGHT);
		return -1;
	}
	*weight = (unsigned)value;
	return 0;
}

/* "NODE*WEIGHT,...": the nodes into p->nodes, each weight at its node's
 * rank in the set. */
static int parse_weight_list(struct amlshim_placement *p, const char *s, size_t n, struct amlshim_text *why)
{
	unsigned nodes[AMLSHIM_MAX_WEIGHTS], weights[AMLSHIM_MAX_WEIGHTS];
	int count = 0;
	const char *end = s + n;
	for (const char *item = s;; count++) {
		const char *comma = memchr(item, ',', (size_t)(end - item));
		size_t len = (size_t)((comma ? comma : end) - item);
		if (count == AMLSHIM_MAX_WEIGHTS) {
			amlshim_text_str(why, "weights for more than ");
			amlshim_text_uint(why, AMLSHIM_MAX_WEIGHTS);
			amlshim_text_str(why, " nodes");
			return -1;
		}
		unsigned node, weight;
		if (parse_weight_item(item, len, &node, &weight, why) != 0)
			return -1;
		/* Kept sorted by node, for the weights' order in the set. */
		int at = count;
		for (; at > 0 && nodes[at - 1] >= node; at--) {
			if (nodes[at - 1] == node) {
				amlshim_text_str(why, "node ");
				amlshim_text_uint(why, node);
				amlshim_text_str(why, " is given two weights");
				return -1;
			}
			nodes[at] = nodes[at - 1];
			weights[at] = weights[at - 1];
		}
		nodes[at] = node;
		weights[at] = weight;
		if (!comma)
			break;
		item = comma + 1;
	}
	p->all_nodes = 0;
	for (int i = 0; i <= count; i++) {
		p->nodes[nodes[i] / (8 * sizeof(unsigned long))] |= 1UL << (nodes[i] % (8 * sizeof(unsigned long)));
		p->weights[i] = (unsigned char)weights[i];
	}
	return 0;
}

/* weighted-interleave's argument: "auto[:NODES]", "NODES" (weights
 * auto), or weights that name their nodes. */
static int parse_weighted(struct amlshim_placement *p, const char *s, size_t n, struct amlshim_text *why)
{
	const char *colon = memchr(s, ':', n);
	size_t first = colon ? (size_t)(colon - s) : n;
	if (amlshim_keyword_is(s, first, "auto"))
		return colon ? parse_node_list(p, colon + 1, n - first - 1, why) : 0;
	if (!memchr(s, '*', first))
		return parse_node_list(p, s, n, why);
	if (colon) {
		amlshim_text_str(why, "weights name their nodes: no node list after them (");
		amlshim_text_quoted(why, colon + 1, n - first - 1);
		amlshim_text_str(why, ")");
		return -1;
	}
	return parse_weight_list(p, s, n, why);
}

/* The argument after "NAME:", per kind; has_arg says whether ':' was there. */
static int parse_argument(struct amlshim_placement *p, int has_arg, const char *arg, size_t n,
                          struct amlshim_text *why)
{
	const char *name = kinds[p->kind].name;
	switch (kinds[p->kind].argument) {
	case ARG_NONE:
		if (!has_arg)
			return 0;
		amlshim_text_str(why, name);
		amlshim_text_str(why, " takes no argument");
		return -1;
	case ARG_OPTIONAL_NODES:
		if (!has_arg)
			return 0;
		return parse_node_list(p, arg, n, why);
	case ARG_NODES:
		if (!has_arg)
			break;
		return parse_node_list(p, arg, n, why);
	case ARG_ONE_NODE:
		if (!has_arg)
			break;
		if (parse_node_list(p, arg, n, why) != 0)
			return -1;
		/* One node, or one name alone (node_sets.c keeps its first node). */
		int names = p->node_names ? 1 + ((p->node_names & (p->node_names - 1)) != 0) : 0;
		if (p->all_nodes || count_nodes(p->nodes) + names != 1) {
			amlshim_text_str(why, "preferred takes exactly one node, not ");
			amlshim_text_quoted(why, arg, n);
			return -1;
		}
		return 0;
	case ARG_SIZE_NODES: {
		if (!has_arg)
			break;
		const char *colon = memchr(arg, ':', n);
		size_t size_len = colon ? (size_t)(colon - arg) : n;
		if (parse_block_size(arg, size_len, &p->block_size, why) != 0)
			return -1;
		if (!colon)
			return 0;
		return parse_node_list(p, colon + 1, n - size_len - 1, why);
	}
	case ARG_DEVICE:
		if (!has_arg)
			return 0;
		return parse_device(arg, n, &p->device, why);
	case ARG_WEIGHTS:
		if (!has_arg)
			return 0;
		return parse_weighted(p, arg, n, why);
	}
	amlshim_text_str(why, kinds[p->kind].usage);
	return -1;
}

/* weighted-interleave: ":NODE*WEIGHT,..." when weights were given, else
 * (auto) the node list unless it is all nodes. */
static void spell_weights(struct amlshim_text *text, const struct amlshim_placement *p)
{
	if (p->weights[0] == 0) {
		if (!p->all_nodes) {
			amlshim_text_str(text, ":");
			amlshim_text_node_set(text, p->node_names, p->nodes);
		}
		return;
	}
	int rank = 0;
	for (unsigned node = 0; node < AMLSHIM_MAX_NODES && rank < AMLSHIM_MAX_WEIGHTS; node++) {
		if (!aml_nodemask_test(p->nodes, node))
			continue;
		amlshim_text_str(text, rank ? "," : ":");
		amlshim_text_uint(text, node);
		amlshim_text_str(text, "*");
		amlshim_text_uint(text, p->weights[rank++]);
	}
}

/* Canonical text: lower case, defaults left out, "..." if it is too long
 * for the field (a long scattered node list). */
static void spell(struct amlshim_placement *p)
{
	struct amlshim_text text;
	amlshim_text_init(&text, p->text, sizeof(p->text));
	amlshim_text_str(&text, kinds[p->kind].name);
	switch (kinds[p->kind].argument) {
	case ARG_NODES:
	case ARG_ONE_NODE:
		amlshim_text_str(&text, ":");
		if (p->all_nodes)
			amlshim_text_str(&text, "all");
		else
			amlshim_text_node_set(&text, p->node_names, p->nodes);
		break;
	case ARG_SIZE_NODES:
		amlshim_text_str(&text, ":");
		amlshim_text_size(&text, p->block_size);
		/* fall through */
	case ARG_OPTIONAL_NODES:
		if (!p->all_nodes) {
			amlshim_text_str(&text, ":");
			amlshim_text_node_set(&text, p->node_names, p->nodes);
		}
		break;
	case ARG_DEVICE:
		if (p->device) {
			amlshim_text_str(&text, ":");
			amlshim_text_uint(&text, (unsigned)p->device);
		}
		break;
	case ARG_WEIGHTS:
		spell_weights(&text, p);
		break;
	case ARG_NONE:
		break;
	}
	amlshim_text_modifiers(&text, p);
	amlshim_text_ellipsize(&text);
}

int amlshim_parse_placement_span(const char *s, size_t n, struct amlshim_placement *out,
                                 struct amlshim_text *why)
{
	amlshim_placement_default(out);
	if (n == 0) {
		amlshim_text_str(why, "empty policy");
		return -1;
	}
	/* "NAME[:ARG]+MOD[:ARG]...": the modifiers follow the first '+'. */
	const char *plus = memchr(s, '+', n);
	size_t mods_len = plus ? n - (size_t)(plus - s) - 1 : 0;
	if (plus)
		n = (size_t)(plus - s);
	const char *colon = memchr(s, ':', n);
	size_t name_len = colon ? (size_t)(colon - s) : n;
	struct amlshim_placement parsed;
	amlshim_placement_default(&parsed);
	int kind = 0;
	while (kind < AMLSHIM_PLACE_KIND_COUNT && !amlshim_keyword_is(s, name_len, kinds[kind].name))
		kind++;
	if (kind == AMLSHIM_PLACE_KIND_COUNT) {
		amlshim_text_str(why, "unknown policy ");
		amlshim_text_quoted(why, s, name_len);
		return -1;
	}
	parsed.kind = (enum amlshim_placement_kind)kind;
	const char *arg = colon ? colon + 1 : s + n;
	if (parse_argument(&parsed, colon != NULL, arg, colon ? n - name_len - 1 : 0, why) != 0)
		return -1;
	if (plus && amlshim_parse_modifiers(plus + 1, mods_len, &parsed, why) != 0)
		return -1;
	spell(&parsed);
	*out = parsed;
	return 0;
}

int amlshim_parse_placement(const char *text, struct amlshim_placement *out, char *why,
                            size_t why_len)
{
	char scratch[1];
	struct amlshim_text reason;
	if (why && why_len)
		amlshim_text_init(&reason, why, why_len);
	else
		amlshim_text_init(&reason, scratch, sizeof(scratch));
	if (!text) {
		amlshim_placement_default(out);
		amlshim_text_str(&reason, "no policy given");
		return -1;
	}
	int ret = amlshim_parse_placement_span(text, strlen(text), out, &reason);
	amlshim_text_ellipsize(&reason);
	return ret;
}
