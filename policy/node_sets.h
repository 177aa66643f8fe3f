/* Node set names ("local", "socket", "hbm@socket") made node numbers for
 * this process on this machine, at start-up (node_sets.c), with the kind
 * of each node (node_kinds.c), and what each came from for --explain. */
#ifndef AMLSHIM_NODE_SETS_H
#define AMLSHIM_NODE_SETS_H

#include "policy.h"

/* Where a node's kind came from. */
enum amlshim_kind_source {
	AMLSHIM_KIND_FROM_NONE,    /* nothing says: no kind */
	AMLSHIM_KIND_FROM_CPUS,    /* a node with CPUs is DRAM */
	AMLSHIM_KIND_FROM_FIRST,   /* XML topology: its package's first memory node */
	AMLSHIM_KIND_FROM_HMAT,    /* bandwidth/latency against the DRAM next to it */
	AMLSHIM_KIND_FROM_SUBTYPE, /* + entry: hwloc's node subtype (or memory tier) */
};

struct amlshim_node_sets {
	unsigned computed;                        /* AMLSHIM_SETS_* found so far */
	unsigned long local[AMLSHIM_NODE_WORDS];  /* nodes of the process's CPUs */
	unsigned long socket[AMLSHIM_NODE_WORDS]; /* memory nodes of their packages, GPU memory too */
	unsigned long kinds[AMLSHIM_KIND_COUNT][AMLSHIM_NODE_WORDS];
	unsigned long known[AMLSHIM_NODE_WORDS];  /* nodes with a kind looked at */
	unsigned char kind_of[AMLSHIM_MAX_NODES];   /* enum amlshim_node_kind */
	unsigned char kind_from[AMLSHIM_MAX_NODES]; /* enum amlshim_kind_source */
	char cpus[64];         /* the affinity ("0-1") */
	char socket_from[96];  /* "hwloc package 0", "sysfs package 0, HMAT initiators" */
	char kinds_from[48];   /* "hwloc", "sysfs HMAT", ... */
};
#define AMLSHIM_SETS_LOCAL 1U
#define AMLSHIM_SETS_SOCKET 2U
#define AMLSHIM_SETS_KINDS 4U

/* Finds the sets in what (AMLSHIM_SETS_*) that are not found yet. Never
 * fails: a set that cannot be found stays empty. */
void amlshim_node_sets_find(struct amlshim_node_sets *sets, unsigned what);
/* The nodes of one name into nodes (cleared first). */
void amlshim_node_sets_of(struct amlshim_node_sets *sets, unsigned name, unsigned long *nodes);
/* out = placement with its names made numbers (all_nodes interleaves
 * without GPU memory). 0, or -1 with a reason naming the name that
 * resolved to no node. sets may be NULL (a local one is used). */
int amlshim_node_sets_apply(const struct amlshim_placement *placement, struct amlshim_placement *out,
                            struct amlshim_node_sets *sets, char *why, size_t why_len);
/* What a default interleave spreads over: nodes less GPU memory, when the
 * machine has CPU-less nodes that are GPU memory; returns 0 (nodes set) or
 * -1 (all nodes: nothing to leave out). Cheap: hwloc is loaded only for
 * CPU-less nodes that sysfs's HMAT does not make HBM or CXL. */
int amlshim_node_sets_spread(struct amlshim_node_sets *sets, unsigned long *nodes);
/* Where a name's nodes came from, one phrase ("CPU affinity 0-1"). */
void amlshim_node_sets_source(const struct amlshim_node_sets *sets, unsigned name, char *buf, size_t len);
/* The kind of a node and its source phrase ("subtype HBM"). */
const char *amlshim_node_kind_source(const struct amlshim_node_sets *sets, unsigned node);

/* node_kinds.c: every node's kind, from hwloc when it loads, else sysfs. */
void amlshim_node_kinds_find(struct amlshim_node_sets *sets);
/* The kinds sysfs alone gives (CPUs, HMAT bandwidth), no hwloc. */
void amlshim_node_kinds_sysfs(struct amlshim_node_sets *sets, const unsigned long *with_cpus);
/* Nodes that have CPUs (kernel view), into mask; returns the count. */
int amlshim_nodes_with_cpus(unsigned long *mask);
/* Loads aml_topology (hwloc) once: 0, or -1 without one. */
int amlshim_topology_load(void);
/* Nodes with memory this process may use, into mask. */
void amlshim_nodes_allowed(unsigned long *mask);

#endif
