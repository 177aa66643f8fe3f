/* amlshim --explain: the "Job" part, where this process would stand in a
 * parallel job by the launcher variables it inherits (policy/job.c reads
 * them exactly as the shim does), in text and in JSON. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "job.h"

static const char *from_environment(const char *name, void *ctx)
{
	(void)ctx;
	return getenv(name);
}

static void sink_to_out(const char *line, void *ctx)
{
	fprintf((FILE *)ctx, "  %s\n", line);
}

static void print_value(FILE *out, const char *what, long value, const char *from)
{
	if (value >= 0)
		fprintf(out, "  %s: %ld (from %s)\n", what, value, from);
	else
		fprintf(out, "  %s: unknown\n", what);
}

void cli_explain_job(FILE *out)
{
	struct amlshim_job job;
	fprintf(out, "\nJob:\n");
	amlshim_job_detect(&job, from_environment, NULL, sink_to_out, out);
	if (!job.launcher) {
		fprintf(out, "  not in a job (no launcher variable set)\n");
		return;
	}
	fprintf(out, "  launcher: %s\n", job.launcher);
	print_value(out, "rank", job.rank, job.rank_from);
	print_value(out, "local rank", job.local_rank, job.local_rank_from);
	if (job.local_size >= 0)
		fprintf(out, "  local size: %ld (from %s)\n", job.local_size, job.local_size_from);
	else
		fprintf(out, "  local size unknown: %s\n", job.size_note ? job.size_note : "not set");
}

static void json_value(FILE *out, const char *name, long value, const char *from)
{
	if (value >= 0)
		fprintf(out, ",\"%s\":%ld,\"%s_from\":\"%s\"", name, value, name, from);
	else
		fprintf(out, ",\"%s\":null,\"%s_from\":null", name, name);
}

/* ,"job":{...}: the same fields as the report's, and the messages. */
void cli_explain_job_json(FILE *out, void (*json_str)(FILE *, const char *))
{
	struct amlshim_job job;
	char *messages = NULL;
	size_t len = 0;
	FILE *lines = open_memstream(&messages, &len);
	amlshim_job_detect(&job, from_environment, NULL, lines ? sink_to_out : NULL, lines);
	if (lines)
		fclose(lines);
	fputs(",\"job\":{\"launcher\":", out);
	if (job.launcher)
		json_str(out, job.launcher);
	else
		fputs("null", out);
	json_value(out, "rank", job.rank, job.rank_from);
	json_value(out, "local_rank", job.local_rank, job.local_rank_from);
	json_value(out, "local_size", job.local_size, job.local_size_from);
	fputs(",\"local_size_note\":", out);
	if (job.local_size < 0 && job.size_note)
		json_str(out, job.size_note);
	else
		fputs("null", out);
	fputs(",\"messages\":[", out);
	int first = 1;
	for (char *line = messages ? strtok(messages, "\n") : NULL; line; line = strtok(NULL, "\n")) {
		fputs(first ? "" : ",", out);
		json_str(out, line + 2); /* without the text's indent */
		first = 0;
	}
	fputs("]}", out);
	free(messages);
}
