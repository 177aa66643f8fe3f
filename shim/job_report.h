/* The process's place in its job, for the report and the report's file
 * name (job_report.c). */
#ifndef AMLSHIM_JOB_REPORT_H
#define AMLSHIM_JOB_REPORT_H

#include <stddef.h>

#include "log.h"

/* The host name (uname's nodename, '/' made '_': it goes into paths). */
void shim_job_host(char *buf, size_t len);
/* The CPUs this process may run on, as a list like "0-3,8" ("" if unknown). */
void shim_job_cpus(char *buf, size_t len);
/* AMLSHIM_STATS_FILE's %r: the global rank, or the process id when no
 * launcher gave one (so reports of processes never overwrite each other). */
void shim_job_rank_text(char *buf, size_t len);
/* The job fields of the JSON report (",\"rank\":...", no braces). */
void shim_job_write_json(struct shim_out *out);
/* One line of the text report. */
void shim_job_write_text(struct shim_out *out);

#endif
