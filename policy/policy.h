/* The shim's policy: what the AMLSHIM_* environment asks for, parsed into an
 * immutable table. Parsing is a pure function of the variables' text: no
 * allocation, no topology, no I/O (messages go through a callback), so it
 * runs inside the shim's lazy init and is unit-testable without preloading. */
#ifndef AMLSHIM_POLICY_H
#define AMLSHIM_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include <aml/utils/nodemask.h>

#define AMLSHIM_MAX_RULES 16
#define AMLSHIM_MAX_NODES AML_MAX_NODES
#define AMLSHIM_NODE_WORDS AML_NODEMASK_WORDS
#define AMLSHIM_DEFAULT_THRESHOLD ((size_t)1 << 20)
#define AMLSHIM_PATH_MAX 256
/* AMLSHIM_LEDGER: at most this many bytes. */
#define AMLSHIM_LEDGER_NAME_MAX 64
#define AMLSHIM_DEFAULT_SHARE_SETTLE_NS 1000000000ULL
#define AMLSHIM_MAX_DEVICES 1024     /* cuda-*:DEV takes 0..1023 */
#define AMLSHIM_QUOTE_MAX 64         /* value bytes shown in a message */
#define AMLSHIM_MESSAGE_MAX 2048     /* longest message line, NUL included */
#define AMLSHIM_MAX_WEIGHTS 16       /* nodes of weighted-interleave:NODE*WEIGHT,... */
#define AMLSHIM_MAX_WEIGHT 255       /* a weight, 1..255 (the kernel's are bytes) */

/* Where a range of allocation sizes is placed. */
enum amlshim_placement_kind {
	AMLSHIM_PLACE_DEFAULT,          /* kernel default (first touch) */
	AMLSHIM_PLACE_LOCAL,            /* the allocating CPU's node */
	AMLSHIM_PLACE_BIND,             /* bind:NODES */
	AMLSHIM_PLACE_PREFERRED,        /* preferred:NODE */
	AMLSHIM_PLACE_INTERLEAVE,       /* interleave[:NODES] */
	AMLSHIM_PLACE_BLOCK_INTERLEAVE, /* block-interleave:SIZE[:NODES] */
	AMLSHIM_PLACE_BANDWIDTH,        /* highest bandwidth from the thread */
	AMLSHIM_PLACE_LATENCY,          /* lowest latency from the thread */
	AMLSHIM_PLACE_CAPACITY,         /* largest node */
	AMLSHIM_PLACE_CUDA_MAPPED,      /* cuda-mapped[:DEV] */
	AMLSHIM_PLACE_CUDA_MANAGED,     /* cuda-managed[:DEV] */
	AMLSHIM_PLACE_WEIGHTED_INTERLEAVE, /* weighted-interleave[:auto][:NODES], or :NODE*WEIGHT,... */
	AMLSHIM_PLACE_KIND_COUNT
};

/* "+share": a node's capacity split between the local ranks that use it. */
enum amlshim_share {
	AMLSHIM_SHARE_NONE,
	AMLSHIM_SHARE_STATIC,  /* +share or +share:static: capacity / ranks using the node */
	AMLSHIM_SHARE_DYNAMIC, /* +share:dynamic: the node's ledger lends room others leave */
};

/* Page size modifiers: "+thp", "+nothp", "+huge:SIZE". */
enum amlshim_pages {
	AMLSHIM_PAGES_DEFAULT,
	AMLSHIM_PAGES_THP,     /* aligned to the huge-page size, MADV_HUGEPAGE */
	AMLSHIM_PAGES_NOTHP,   /* MADV_NOHUGEPAGE */
	AMLSHIM_PAGES_HUGETLB, /* hugetlb pool of huge_size */
};

/* Node kinds a node list may name (policy/node_kinds.c says how a node's
 * kind is found). */
enum amlshim_node_kind {
	AMLSHIM_KIND_DRAM, /* main memory: a node with CPUs, or a memory-only node like them */
	AMLSHIM_KIND_HBM,  /* memory-only, more bandwidth than DRAM */
	AMLSHIM_KIND_CXL,  /* memory-only, slower than DRAM (CXL, NVM) */
	AMLSHIM_KIND_GPU,  /* GPU memory as a NUMA node (Grace Hopper) */
	AMLSHIM_KIND_COUNT,
	AMLSHIM_KIND_UNKNOWN = AMLSHIM_KIND_COUNT
};

/* Names a node list may hold besides numbers (bits of node_names): node
 * sets relative to the process, resolved at start-up from its CPU affinity
 * and the topology (policy/node_sets.c). */
enum amlshim_node_name {
	AMLSHIM_NAME_LOCAL,                /* nodes of the CPUs the process may run on */
	AMLSHIM_NAME_SOCKET,               /* memory nodes of those CPUs' packages */
	AMLSHIM_NAME_KIND,                 /* + kind: dram, hbm, cxl, gpu */
	AMLSHIM_NAME_KIND_SOCKET = AMLSHIM_NAME_KIND + AMLSHIM_KIND_COUNT, /* + kind: KIND@socket */
	AMLSHIM_NAME_COUNT = AMLSHIM_NAME_KIND_SOCKET + AMLSHIM_KIND_COUNT
};

struct amlshim_placement {
	enum amlshim_placement_kind kind;
	int all_nodes;                              /* no node list given, or "all" */
	unsigned long nodes[AMLSHIM_NODE_WORDS];    /* node list (bit per node) */
	unsigned node_names;                        /* named node sets (bit per enum amlshim_node_name) */
	size_t block_size;                          /* block-interleave only */
	int device;                                 /* cuda-* only, default 0 */
	enum amlshim_share share;                   /* +share[:static|dynamic] */
	enum amlshim_pages pages;                   /* +thp, +nothp, +huge:SIZE */
	size_t huge_size;                           /* +huge:SIZE only */
	/* weighted-interleave: the weight of each node of nodes, in increasing
	 * node order; all 0 for "auto" (from bandwidth, at resolve time). */
	unsigned char weights[AMLSHIM_MAX_WEIGHTS];
	char text[128];                             /* canonical spelling, e.g. "interleave:0-3+thp" */
};

/* Sizes in [min, max) use placement; max == SIZE_MAX means no upper bound
 * (SIZE_MAX itself included). */
struct amlshim_rule {
	size_t min;
	size_t max;
	struct amlshim_placement placement;
};

enum amlshim_stats_mode { AMLSHIM_STATS_OFF, AMLSHIM_STATS_TEXT, AMLSHIM_STATS_JSON };
/* What dlopen does with RTLD_DEEPBIND: keep it and bind the library's
 * malloc family to the shim, or drop the flag. */
enum amlshim_deepbind_mode { AMLSHIM_DEEPBIND_KEEP, AMLSHIM_DEEPBIND_DROP };
enum amlshim_log_level { AMLSHIM_LOG_ERROR, AMLSHIM_LOG_WARN, AMLSHIM_LOG_INFO, AMLSHIM_LOG_DEBUG };

struct amlshim_policy {
	/* Sorted by min, non-overlapping. Sizes no rule covers are served with
	 * the kernel default like a plain allocator would. With no AMLSHIM_RULES:
	 * one rule [threshold, SIZE_MAX) -> AMLSHIM_POLICY, or none if the
	 * policy is "default". */
	struct amlshim_rule rules[AMLSHIM_MAX_RULES];
	int num_rules;
	size_t threshold;                  /* AMLSHIM_THRESHOLD (informative with RULES) */
	struct amlshim_placement small;    /* AMLSHIM_SMALL */
	int mmap_on;                       /* AMLSHIM_MMAP, default 1 (on) */
	enum amlshim_deepbind_mode deepbind; /* AMLSHIM_DEEPBIND, default keep */
	enum amlshim_stats_mode stats;     /* AMLSHIM_STATS */
	char stats_file[AMLSHIM_PATH_MAX]; /* AMLSHIM_STATS_FILE, "" = stderr */
	enum amlshim_log_level log_level;  /* AMLSHIM_LOG, default warn */
	int strict;                        /* AMLSHIM_STRICT */
	/* AMLSHIM_SHARE_SETTLE: how long a rank's use of a node stays without
	 * growth before +share:dynamic lends what it leaves; default 1 s. */
	unsigned long long share_settle_ns;
	char ledger[AMLSHIM_LEDGER_NAME_MAX + 1]; /* AMLSHIM_LEDGER, "" = the job's own */
	int errors;                        /* bad values found (each reported once) */
	int rules_override;                /* RULES set along with POLICY or THRESHOLD,
	                                      which were then ignored (the shim may say so) */
};

/* Reads a variable by name; NULL when unset. The shim passes a
 * secure_getenv-like reader; tests pass a table. */
typedef const char *(*amlshim_env_reader)(const char *name, void *ctx);
/* Receives each message line (no trailing newline). */
typedef void (*amlshim_message_sink)(const char *line, void *ctx);

/* Parses every AMLSHIM_* variable into *out. Never fails: a bad value is
 * reported as one line naming the variable, the value and what is accepted,
 * and then:
 *  - a bad POLICY, THRESHOLD, RULES or SMALL: all placement falls back to the
 *    kernel default (no rules, small = default);
 *  - a bad MMAP, DEEPBIND, STATS, STATS_FILE, LOG, STRICT, SHARE_SETTLE or
 *    LEDGER: that one takes its default.
 * Unknown AMLSHIM_* names are not read here (the shim warns about them). */
void amlshim_policy_parse(struct amlshim_policy *out, amlshim_env_reader env, void *env_ctx,
                          amlshim_message_sink sink, void *sink_ctx);

/* "1M" -> 1048576. Accepts decimal digits with an optional K, M, G or T
 * (powers of 1024, either case, optional trailing B/iB), or digits then B.
 * No sign, spaces or fractions. Returns 0 on success, -1 on bad text or
 * overflow. */
int amlshim_parse_size(const char *text, size_t *out);
/* numactl-style node list ("0-3,6", "all") into a bit mask; all_nodes is
 * set for "all" (and the mask left empty). Returns 0 or -1 (mask cleared).
 * Nodes >= AMLSHIM_MAX_NODES are an error; whether nodes exist is not
 * checked here. Numbers only: node set names ("local") are read in a
 * placement's node list, which keeps them. */
int amlshim_parse_nodes(const char *text, unsigned long *nodes, int *all_nodes);
/* A node set name ("hbm@socket"), or "unknown". */
const char *amlshim_node_name(unsigned name);
/* A node kind ("hbm"), or "unknown". */
const char *amlshim_node_kind_name(unsigned kind);
/* One placement ("interleave:0-3"); 0 or -1, with a reason in why (one
 * clause, values quoted and escaped). On failure *out is "default". */
int amlshim_parse_placement(const char *text, struct amlshim_placement *out,
                            char *why, size_t why_len);
/* The rule covering size, or NULL. A short scan of the sorted table,
 * cheap enough for every allocation. */
const struct amlshim_rule *amlshim_policy_rule_for(const struct amlshim_policy *policy, size_t size);
/* Name of a placement kind ("block-interleave"). */
const char *amlshim_placement_kind_name(enum amlshim_placement_kind kind);

/* Writes size with the largest exact suffix ("2M", "1536", "0") into buf
 * (always terminated); returns buf. 24 bytes always suffice. */
char *amlshim_format_size(size_t size, char *buf, size_t len);
/* Writes value quoted for a message line: 'text' with bytes outside
 * printable ASCII (and ' and \) escaped as \xNN, \' and \\, at most
 * AMLSHIM_QUOTE_MAX bytes of it, then "...(N bytes)" when it was longer.
 * Always terminated; returns buf. 320 bytes always suffice. */
char *amlshim_quote_value(const char *value, char *buf, size_t len);

#endif
