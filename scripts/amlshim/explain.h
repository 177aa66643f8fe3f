/* What explain.c (text) and explain_json.c (JSON) share. */
#ifndef AMLSHIM_CLI_EXPLAIN_H
#define AMLSHIM_CLI_EXPLAIN_H

#include <hwloc.h>
#include <aml/area/hwloc.h>

/* Where a ranking's order comes from, in words. */
const char *cli_rank_source_story(const struct aml_area_hwloc_preferred_data *ranking);
/* Whether NUMA node i (logical) has CPUs and is the first of the nodes
 * sharing them (one initiator for them all). */
int cli_first_of_initiator(hwloc_topology_t topo, int i);

#endif
