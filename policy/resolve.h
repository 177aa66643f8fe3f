/* Turning a parsed placement into an area on this machine: node checks
 * against what the process may use, and the topology queries that need. */
#ifndef AMLSHIM_RESOLVE_H
#define AMLSHIM_RESOLVE_H

#include <stddef.h>
#include <aml.h>
#include "policy.h"

/* A placement made an area, with everything its user needs to know about
 * it: the shim asks these fields and functions, never the area itself. */
struct amlshim_resolved {
	struct aml_area *area; /* NULL: the kernel default (aml_area_linux) */
	int can_remap;         /* mremap keeps the placement (mbind-based areas) */
	int is_cuda;           /* calls into libcudart */
	int per_node;          /* depends on the allocating thread's node */
	int populates;         /* the area makes each allocation resident when it maps it */
	int can_sample;        /* move_pages tells where its pages are (not CUDA managed memory) */
	int best_node;         /* rankings: the node ranked first (-1: none, or not a ranking) */
	int bound;             /* a Linux area bound to nodes: amlshim_resolved_fits asks them */
	char source[48];       /* what decided a ranking ("memory attributes", ...) */
	char node_set[64];     /* the nodes a node list (names included) resolved to; "" for all */
};

/* Creates the area for a placement as seen from initiator_node (used by
 * bandwidth/latency/capacity). Returns 0, or -1 with a one-line reason in
 * why (the caller falls back to the kernel default or, strict, exits). */
int amlshim_resolve(const struct amlshim_placement *placement, int initiator_node,
                    struct amlshim_resolved *out, char *why, size_t why_len);
void amlshim_resolved_destroy(const struct amlshim_placement *placement,
                              struct amlshim_resolved *resolved);
/* The kernel default's capabilities (no area): a fallback. */
void amlshim_resolved_default(struct amlshim_resolved *out);
/* The area to map through: the resolved one, or the kernel default's. */
struct aml_area *amlshim_resolved_area(const struct amlshim_resolved *resolved);
/* Whether bytes more would fit where the area places (1 unless it binds
 * to nodes that lack the room: growing there would end in the OOM killer). */
int amlshim_resolved_fits(const struct amlshim_resolved *resolved, size_t bytes);
/* Checks the placement's nodes against the process's allowed memory nodes;
 * 0 or -1 with a reason. */
int amlshim_check_nodes(const struct amlshim_placement *placement, char *why, size_t why_len);
/* out = placement with its node set names made this process's node
 * numbers (node_sets.h), checked like amlshim_check_nodes; 0 or -1 with a
 * reason. */
int amlshim_resolve_nodes(const struct amlshim_placement *placement, struct amlshim_placement *out,
                          char *why, size_t why_len);
/* Nodes that have CPUs (initiators), increasing; returns the count. */
int amlshim_cpu_nodes(int *nodes, int max);
/* A weighted-interleave area's nodes and weights, reduced (at most max),
 * and whether the kernel places them (*kernel): the count; 0 for other areas. */
int amlshim_resolved_weights(const struct amlshim_resolved *resolved, int *nodes, unsigned *weights, int max,
                             int *kernel);
/* The area's one-line description (aml_area_fprintf without the prefix). */
void amlshim_describe_area(const struct aml_area *area, char *buf, size_t len);

#endif
