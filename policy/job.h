/* Where this process stands in a parallel job (job.c): its global rank,
 * its rank among the processes of its node and how many those are, read
 * from the launcher's environment. Pure like the parser: no allocation,
 * no topology, messages through a sink. */
#ifndef AMLSHIM_JOB_H
#define AMLSHIM_JOB_H

#include "policy.h"

struct amlshim_job {
	const char *launcher;        /* "Open MPI", "Slurm", ...; NULL: not in a job */
	long rank;                   /* global rank, -1: unknown */
	long local_rank;             /* rank on this node, -1: unknown */
	long local_size;             /* processes of the job on this node, -1: unknown */
	/* The variable each value came from (static strings), NULL when unknown. */
	const char *rank_from;
	const char *local_rank_from;
	const char *local_size_from;
	const char *size_note;       /* why the local size is unknown, or NULL */
	int errors;                  /* bad values found (each reported once, then ignored) */
};

/* Fills *out from the launcher variables read through env. Never fails: a
 * bad value (not a decimal number, negative, too large, a local rank not
 * below the local size) is reported as one line naming the variable, the
 * value and what is accepted, and is then unknown. A launcher that gives a
 * local rank but no local size leaves the size unknown (never guessed). */
void amlshim_job_detect(struct amlshim_job *out, amlshim_env_reader env, void *env_ctx,
                        amlshim_message_sink sink, void *sink_ctx);

#endif
