/* The amlshim command: shared between its option handling (main.c) and
 * its --explain report (explain.c). */
#ifndef AMLSHIM_CLI_H
#define AMLSHIM_CLI_H

#include <stdio.h>

#include "policy.h"

/* The AMLSHIM_* variables the command sets, in the order the shim reads
 * them. */
enum cli_var {
	CLI_POLICY,
	CLI_THRESHOLD,
	CLI_RULES,
	CLI_SMALL,
	CLI_MMAP,
	CLI_STATS,
	CLI_STATS_FILE,
	CLI_LOG,
	CLI_STRICT,
	CLI_DEEPBIND,
	CLI_NUM_VARS
};

struct cli_var_info {
	const char *name;   /* "AMLSHIM_POLICY" */
	const char *option; /* "policy" */
};
extern const struct cli_var_info cli_vars[CLI_NUM_VARS];

/* What the command line set (NULL: not given). */
struct cli_settings {
	const char *values[CLI_NUM_VARS];
};

/* The environment the program will see: a value from the command line,
 * else the inherited variable. ctx is a struct cli_settings. */
const char *cli_effective_env(const char *name, void *ctx);
/* The command line alone (inherited variables are the shim's business).
 * ctx is a struct cli_settings. */
const char *cli_options_env(const char *name, void *ctx);

/* Prints what the settings mean on this machine; returns the exit status. */
int cli_explain(const struct cli_settings *settings, const char *library, FILE *out);
/* The same as one JSON object (--explain --json), for site tooling. */
int cli_explain_json(const struct cli_settings *settings, const char *library, FILE *out);

/* amlshim report FILE... (report_merge.c); argv[0] is "report". */
int cli_report_main(int argc, char **argv);
/* amlshim profile (profile.c) and amlshim advise (advise.c); argv[0] is
 * the subcommand's name. */
int cli_profile_main(int argc, char **argv);
int cli_advise_main(int argc, char **argv);

/* A +share rule's budget for this process and the ledger it would join
 * (explain_share.c): text lines, and its JSON (",\"share\":{...}", none
 * without +share). */
struct amlshim_placement;
struct amlshim_policy;
void cli_explain_share(FILE *out, const struct amlshim_policy *policy, const struct amlshim_placement *placement);
void cli_explain_share_json(FILE *out, const struct amlshim_policy *policy,
                            const struct amlshim_placement *placement);
/* A rule's page-size modifier in --explain (explain_pages.c): a text line
 * under its area, and its JSON (",\"pages\":{...}", none without one). */
void cli_explain_pages(FILE *out, const struct amlshim_placement *placement);
void cli_explain_pages_json(FILE *out, const struct amlshim_placement *placement);

/* The "Job" part of --explain (explain_job.c): the launcher variables. */
void cli_explain_job(FILE *out);
/* Its JSON (",\"job\":{...}"), strings written with json_str. */
void cli_explain_job_json(FILE *out, void (*json_str)(FILE *, const char *));

/* The "Call sites" part (explain_sites.c): AMLSHIM_SITES and the site
 * variables, from the environment. */
void cli_explain_sites(FILE *out);
void cli_explain_sites_json(FILE *out, void (*json_str)(FILE *, const char *));
/* The "Node sets" part (explain_nodes.c): what each node set name
 * resolves to here, node kinds and their sources; text, then JSON. */
void cli_explain_node_sets(FILE *out);
void cli_explain_node_sets_json(FILE *out, void (*json_str)(FILE *, const char *));

#endif
