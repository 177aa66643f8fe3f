/* Node lists in numactl syntax: "all", or comma-separated entries that are
 * a node ("6") or an inclusive range ("0-3"). Nodes are 0..1023; repeats
 * and overlapping ranges are allowed (a list is a set). Whether the nodes
 * exist is checked later by the shim, against the machine. In a
 * placement, an entry may also be a node set name ("local", "hbm@socket"):
 * kept as a bit, resolved at start-up (node_sets.c). */
#include <string.h>

#include "internal.h"

static const char *const kind_names[AMLSHIM_KIND_COUNT] = {"dram", "hbm", "cxl", "gpu"};
static const char *const node_names[AMLSHIM_NAME_COUNT] = {
	[AMLSHIM_NAME_LOCAL] = "local",
	[AMLSHIM_NAME_SOCKET] = "socket",
	[AMLSHIM_NAME_KIND + AMLSHIM_KIND_DRAM] = "dram",
	[AMLSHIM_NAME_KIND + AMLSHIM_KIND_HBM] = "hbm",
	[AMLSHIM_NAME_KIND + AMLSHIM_KIND_CXL] = "cxl",
	[AMLSHIM_NAME_KIND + AMLSHIM_KIND_GPU] = "gpu",
	[AMLSHIM_NAME_KIND_SOCKET + AMLSHIM_KIND_DRAM] = "dram@socket",
	[AMLSHIM_NAME_KIND_SOCKET + AMLSHIM_KIND_HBM] = "hbm@socket",
	[AMLSHIM_NAME_KIND_SOCKET + AMLSHIM_KIND_CXL] = "cxl@socket",
	[AMLSHIM_NAME_KIND_SOCKET + AMLSHIM_KIND_GPU] = "gpu@socket",
};

const char *amlshim_node_name(unsigned name)
{
	return name < AMLSHIM_NAME_COUNT ? node_names[name] : "unknown";
}

const char *amlshim_node_kind_name(unsigned kind)
{
	return kind < AMLSHIM_KIND_COUNT ? kind_names[kind] : "unknown";
}

static int is_letter(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* A node set name ("local", "hbm@socket") into *names; 0 or -1 with a
 * reason. Only a kind goes before "@socket". */
static int parse_name(const char *s, size_t n, unsigned *names, struct amlshim_text *why)
{
	const char *at = memchr(s, '@', n);
	size_t left = at ? (size_t)(at - s) : n;
	const char *problem = ": a kind goes before @socket (dram@socket, hbm@socket, cxl@socket, gpu@socket)";
	if (!at) {
		for (unsigned name = 0; name < AMLSHIM_NAME_KIND_SOCKET; name++)
			if (amlshim_keyword_is(s, n, node_names[name])) {
				*names |= 1U << name;
				return 0;
			}
		problem = " is not a node number or node set name";
	} else if (left + 1 == n) {
		problem = ": '@' must be followed by socket (KIND@socket)";
	} else if (amlshim_keyword_is(at + 1, n - left - 1, "socket")) {
		for (unsigned kind = 0; kind < AMLSHIM_KIND_COUNT; kind++)
			if (amlshim_keyword_is(s, left, kind_names[kind])) {
				*names |= 1U << (AMLSHIM_NAME_KIND_SOCKET + kind);
				return 0;
			}
	}
	amlshim_text_quoted(why, s, n);
	amlshim_text_str(why, problem);
	return -1;
}

/* One node number; 0 or -1 with a reason. */
static int parse_node(const char *s, size_t n, unsigned *out, struct amlshim_text *why)
{
	unsigned long value;
	int ret = amlshim_parse_decimal(s, n, AMLSHIM_MAX_NODES - 1, &value);
	if (ret == -1) {
		amlshim_text_quoted(why, s, n);
		amlshim_text_str(why, " is not a node number");
		return -1;
	}
	if (ret == -2) {
		amlshim_text_str(why, "node ");
		amlshim_text_quoted(why, s, n);
		amlshim_text_str(why, " is out of range (the largest is ");
		amlshim_text_uint(why, AMLSHIM_MAX_NODES - 1);
		amlshim_text_str(why, ")");
		return -1;
	}
	*out = (unsigned)value;
	return 0;
}

/* One entry, "6" or "0-3" (or a name when names is not NULL), into the mask. */
static int parse_entry(const char *s, size_t n, unsigned long *nodes, unsigned *names,
                       struct amlshim_text *why)
{
	const char *dash = memchr(s, '-', n);
	unsigned first, last;
	if (names && dash && (is_letter(s[0]) || (dash + 1 < s + n && is_letter(dash[1])))) {
		amlshim_text_str(why, "node range ");
		amlshim_text_quoted(why, s, n);
		amlshim_text_str(why, " holds a name: ranges are of node numbers");
		return -1;
	}
	if (names && (is_letter(s[0]) || s[0] == '@'))
		return parse_name(s, n, names, why);
	if (!dash) {
		if (n == 0 || parse_node(s, n, &first, why) != 0)
			return -1;
		last = first;
	} else {
		size_t first_len = (size_t)(dash - s), last_len = n - first_len - 1;
		const char *problem = NULL;
		if (first_len == 0)
			problem = " has no start";
		else if (last_len == 0)
			problem = " has no end";
		if (problem) {
			amlshim_text_str(why, "node range ");
			amlshim_text_quoted(why, s, n);
			amlshim_text_str(why, problem);
			return -1;
		}
		if (parse_node(s, first_len, &first, why) != 0 ||
		    parse_node(dash + 1, last_len, &last, why) != 0)
			return -1;
		if (first > last) {
			amlshim_text_str(why, "node range ");
			amlshim_text_quoted(why, s, n);
			amlshim_text_str(why, " goes down");
			return -1;
		}
	}
	for (unsigned node = first; node <= last; node++)
		nodes[node / AML_NODEMASK_WORD_BITS] |= 1UL << (node % AML_NODEMASK_WORD_BITS);
	return 0;
}

int amlshim_parse_nodes_span(const char *s, size_t n, unsigned long *nodes, int *all_nodes,
                             unsigned *names, struct amlshim_text *why)
{
	memset(nodes, 0, AMLSHIM_NODE_WORDS * sizeof(*nodes));
	*all_nodes = 0;
	if (names)
		*names = 0;
	if (n == 0) {
		amlshim_text_str(why, "empty node list");
		return -1;
	}
	if (amlshim_keyword_is(s, n, "all")) {
		*all_nodes = 1;
		return 0;
	}
	const char *end = s + n, *entry = s;
	for (int more = 1; more;) {
		const char *comma = memchr(entry, ',', (size_t)(end - entry));
		const char *entry_end = comma ? comma : end;
		size_t len = (size_t)(entry_end - entry);
		more = comma != NULL;
		int failed = 0;
		if (len == 0) {
			amlshim_text_str(why, "empty entry in node list");
			failed = 1;
		} else if (amlshim_keyword_is(entry, len, "all")) {
			amlshim_text_str(why, "'all' must stand alone in a node list");
			failed = 1;
		} else {
			failed = parse_entry(entry, len, nodes, names, why) != 0;
		}
		if (failed) {
			memset(nodes, 0, AMLSHIM_NODE_WORDS * sizeof(*nodes));
			if (names)
				*names = 0;
			return -1;
		}
		if (more)
			entry = comma + 1;
	}
	return 0;
}

int amlshim_parse_nodes(const char *text, unsigned long *nodes, int *all_nodes)
{
	char scratch[1];
	struct amlshim_text why;
	amlshim_text_init(&why, scratch, sizeof(scratch));
	return text ? amlshim_parse_nodes_span(text, strlen(text), nodes, all_nodes, NULL, &why) : -1;
}

void amlshim_text_nodes(struct amlshim_text *text, const unsigned long *nodes)
{
	int first_entry = 1;
	for (unsigned node = 0, last; aml_nodemask_next_run(nodes, &node, &last); node = last + 1) {
		if (!first_entry)
			amlshim_text_mem(text, ",", 1);
		first_entry = 0;
		amlshim_text_uint(text, node);
		/* Two neighbours read better as "0,1"; three or more as "0-2". */
		if (last > node) {
			amlshim_text_mem(text, last == node + 1 ? "," : "-", 1);
			amlshim_text_uint(text, last);
		}
	}
}

void amlshim_text_node_set(struct amlshim_text *text, unsigned names, const unsigned long *nodes)
{
	int first_entry = 1;
	for (unsigned name = 0; name < AMLSHIM_NAME_COUNT; name++) {
		if (!(names >> name & 1U))
			continue;
		if (!first_entry)
			amlshim_text_mem(text, ",", 1);
		first_entry = 0;
		amlshim_text_str(text, node_names[name]);
	}
	int any = 0;
	for (size_t w = 0; w < AMLSHIM_NODE_WORDS; w++)
		any |= nodes[w] != 0;
	if (any && !first_entry)
		amlshim_text_mem(text, ",", 1);
	amlshim_text_nodes(text, nodes);
}
