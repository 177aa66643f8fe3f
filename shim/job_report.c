/* The process's place in its job as the report shows it: rank, local rank
 * and size with the variables they came from (init.c read them at
 * start-up), host and CPUs. Stack buffers only: it runs at exit, when
 * allocating may not be safe. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <aml/utils/nodemask.h>

#include "init.h"
#include "job_report.h"

#define CPU_WORDS 128 /* 8192 CPUs */

void shim_job_host(char *buf, size_t len)
{
	struct utsname names;
	snprintf(buf, len, "%s", uname(&names) == 0 && names.nodename[0] ? names.nodename : "unknown");
	for (char *c = buf; *c; c++)
		if (*c == '/')
			*c = '_';
}

void shim_job_cpus(char *buf, size_t len)
{
	unsigned long mask[CPU_WORDS] = {0};
	size_t used = 0;
	buf[0] = '\0';
	if (sched_getaffinity(0, sizeof(mask), (cpu_set_t *)mask) != 0)
		return;
	for (unsigned cpu = 0, last; aml_mask_next_run(mask, 8 * sizeof(mask), &cpu, &last); cpu = last + 1) {
		int n = last > cpu ? snprintf(buf + used, len - used, "%s%u-%u", used ? "," : "", cpu, last)
		                   : snprintf(buf + used, len - used, "%s%u", used ? "," : "", cpu);
		if (n < 0 || (size_t)n >= len - used) {
			buf[used] = '\0'; /* no half entry */
			return;
		}
		used += (size_t)n;
	}
}

void shim_job_rank_text(char *buf, size_t len)
{
	const struct amlshim_job *job = &shim_process.job;
	snprintf(buf, len, "%ld", job->rank >= 0 ? job->rank : (long)getpid());
}

static void put_value(struct shim_out *out, const char *name, long value, const char *from)
{
	if (value >= 0)
		shim_out_put(out, ",\"%s\":%ld,\"%s_from\":", name, value, name);
	else
		shim_out_put(out, ",\"%s\":null,\"%s_from\":", name, name);
	if (from)
		shim_out_json_string(out, from);
	else
		shim_out_put(out, "null");
}

void shim_job_write_json(struct shim_out *out)
{
	const struct amlshim_job *job = &shim_process.job;
	char host[80], cpus[1024];
	shim_job_host(host, sizeof(host));
	shim_job_cpus(cpus, sizeof(cpus));
	shim_out_put(out, ",\"launcher\":");
	if (job->launcher)
		shim_out_json_string(out, job->launcher);
	else
		shim_out_put(out, "null");
	put_value(out, "rank", job->rank, job->rank_from);
	put_value(out, "local_rank", job->local_rank, job->local_rank_from);
	put_value(out, "local_size", job->local_size, job->local_size_from);
	shim_out_put(out, ",\"host\":");
	shim_out_json_string(out, host);
	shim_out_put(out, ",\"cpus\":");
	shim_out_json_string(out, cpus);
}

void shim_job_write_text(struct shim_out *out)
{
	const struct amlshim_job *job = &shim_process.job;
	char host[80], cpus[1024];
	shim_job_host(host, sizeof(host));
	shim_job_cpus(cpus, sizeof(cpus));
	shim_out_put(out, "  host %s, cpus %s; ", host, cpus[0] ? cpus : "unknown");
	if (!job->launcher) {
		shim_out_put(out, "not in a job\n");
		return;
	}
	shim_out_put(out, "%s: rank ", job->launcher);
	if (job->rank >= 0)
		shim_out_put(out, "%ld (%s)", job->rank, job->rank_from);
	else
		shim_out_put(out, "unknown");
	shim_out_put(out, ", local rank ");
	if (job->local_rank >= 0)
		shim_out_put(out, "%ld (%s)", job->local_rank, job->local_rank_from);
	else
		shim_out_put(out, "unknown");
	if (job->local_size >= 0)
		shim_out_put(out, " of %ld (%s)\n", job->local_size, job->local_size_from);
	else
		shim_out_put(out, ", local size unknown\n");
}
