/* The launcher's environment into struct amlshim_job (job.h): which
 * launcher started this process, and the ranks it gave. Runs in the shim's
 * lazy init like the parser: stack buffers only, no stdio, no state.
 *
 * One launcher supplies every value: the first in the table below whose
 * rank or local-rank variable is set. Values are never mixed between
 * launchers, because a launcher started inside another's allocation
 * inherits the outer one's variables, stale: under `mpirun` or
 * `mpiexec` inside an sbatch script every rank still sees the batch
 * step's SLURM_PROCID=0 and SLURM_LOCALID=0. Hence the order:
 *  1. the MPI libraries' own launchers (Open MPI, MVAPICH2, MPICH/Intel
 *     MPI hydra, IBM jsrun, HPE PALS) and Flux: only the launcher that
 *     started this very process sets them;
 *  2. Slurm (srun): under `srun --mpi=pmix` or `--mpi=pmi2` both SLURM_
 *     and PMIX_/PMI_ are set and agree, and Slurm's come with a local size;
 *  3. the generic PMI and PMIx variables, set by any process manager.
 * A launcher with no local-size variable (Flux, PMIx) leaves it unknown. */
#include <limits.h>
#include <string.h>

#include "internal.h"
#include "job.h"

struct launcher {
	const char *name;
	const char *rank;       /* global rank */
	const char *local_rank;
	const char *local_size; /* NULL: this launcher sets none */
	int slurm;              /* the size is this node's SLURM_TASKS_PER_NODE */
	int by_local_rank;      /* chosen by its local rank variable only */
};

static const struct launcher launchers[] = {
	{"Open MPI", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_SIZE", 0, 0},
	{"MVAPICH2", "MV2_COMM_WORLD_RANK", "MV2_COMM_WORLD_LOCAL_RANK", "MV2_COMM_WORLD_LOCAL_SIZE", 0, 0},
	/* PMI_RANK alone is the generic PMI's (any PMI process manager sets
	 * it): hydra is known by its MPI_LOCALRANKID. */
	{"MPICH/Intel MPI (hydra)", "PMI_RANK", "MPI_LOCALRANKID", "MPI_LOCALNRANKS", 0, 1},
	{"IBM jsrun", "JSM_NAMESPACE_RANK", "JSM_NAMESPACE_LOCAL_RANK", "JSM_NAMESPACE_LOCAL_SIZE", 0, 0},
	{"HPE PALS", "PALS_RANKID", "PALS_LOCAL_RANKID", "PALS_LOCAL_SIZE", 0, 0},
	{"Flux", "FLUX_TASK_RANK", "FLUX_TASK_LOCAL_ID", NULL, 0, 0},
	{"Slurm", "SLURM_PROCID", "SLURM_LOCALID", "SLURM_TASKS_PER_NODE", 1, 0},
	{"PMI", "PMI_RANK", "PMI_LOCAL_RANK", "PMI_LOCAL_SIZE", 0, 0},
	{"PMIx", "PMIX_RANK", "PMIX_LOCAL_RANK", NULL, 0, 0},
};

#define RANK_ACCEPTED "a whole number from 0 to 2147483647"
#define SIZE_ACCEPTED "a whole number from 1 to 2147483647"
#define TASKS_ACCEPTED                                                                       \
	"task counts separated by ',', each with an optional (xN) repeat, like 2(x3),1 "     \
	"(Slurm's syntax), with SLURM_NODEID below the number of nodes they describe"

struct job_context {
	amlshim_env_reader env;
	void *env_ctx;
	amlshim_message_sink sink;
	void *sink_ctx;
	struct amlshim_job *out;
};

static const char *read_var(const struct job_context *ctx, const char *name)
{
	const char *value = ctx->env ? ctx->env(name, ctx->env_ctx) : NULL;
	return value && value[0] ? value : NULL; /* empty: unset */
}

/* "amlshim: NAME='VALUE' is not valid: REASON; accepted: FORMS" (the
 * parser's style); the value is then ignored. */
static void report_as(const struct job_context *ctx, const char *name, const char *value,
                      const char *reason, const char *accepted, const char *outcome)
{
	char line[AMLSHIM_MESSAGE_MAX];
	struct amlshim_text text;
	amlshim_text_init(&text, line, sizeof(line));
	amlshim_text_bad_value(&text, name, value, reason, accepted);
	amlshim_text_str(&text, "; ");
	amlshim_text_str(&text, outcome);
	amlshim_text_ellipsize(&text);
	ctx->out->errors++;
	if (ctx->sink)
		ctx->sink(line, ctx->sink_ctx);
}

static void report(const struct job_context *ctx, const char *name, const char *value,
                   const char *reason, const char *accepted)
{
	report_as(ctx, name, value, reason, accepted, "ignored");
}

/* Decimal digits s[0..n) into *out (at most INT_MAX); NULL or the reason. */
static const char *parse_count(const char *s, size_t n, long *out)
{
	if (n == 0)
		return "empty number";
	if (s[0] == '-')
		return "negative";
	unsigned long value;
	int ret = amlshim_parse_decimal(s, n, INT_MAX, &value);
	if (ret != 0)
		return ret == -1 ? "not a decimal number" : "too large";
	*out = (long)value;
	return NULL;
}

/* A variable holding one number >= min: its value, or -1 (unset or bad). */
static long read_count(const struct job_context *ctx, const char *name, long min, const char **text)
{
	const char *value = read_var(ctx, name);
	if (text)
		*text = value;
	if (!value)
		return -1;
	long n;
	const char *why = parse_count(value, strlen(value), &n);
	if (!why && n < min)
		why = "zero";
	if (why) {
		report(ctx, name, value, why, min ? SIZE_ACCEPTED : RANK_ACCEPTED);
		return -1;
	}
	return n;
}

/* One entry of SLURM_TASKS_PER_NODE, s[0..n): "2" or "2(x3)". */
static const char *parse_tasks_entry(const char *s, size_t n, long *tasks, long *repeat)
{
	const char *paren = memchr(s, '(', n);
	size_t count_len = paren ? (size_t)(paren - s) : n;
	const char *why = parse_count(s, count_len, tasks);
	*repeat = 1;
	if (!why && paren) {
		size_t rest = n - count_len; /* "(xN)" */
		if (rest < 4 || paren[1] != 'x' || paren[rest - 1] != ')')
			return "a repeat is written (xN)";
		why = parse_count(paren + 2, rest - 3, repeat);
	}
	if (!why && (*tasks == 0 || *repeat == 0))
		why = "zero";
	return why;
}

/* SLURM_TASKS_PER_NODE ("2(x3),1": 2 tasks on each of nodes 0-2, 1 on
 * node 3): the count of node node_id, or of every node when they all have
 * the same count (node_id may then be -1). 0: found; 1: the counts differ
 * and node_id is -1; -1: bad text or node_id beyond the list (why says). */
static int tasks_on_node(const char *s, long node_id, long *count, const char **why)
{
	long first = -1, node = 0;
	int uniform = 1;
	for (;;) {
		size_t n = 0;
		while (s[n] && s[n] != ',')
			n++;
		long tasks, repeat;
		if ((*why = parse_tasks_entry(s, n, &tasks, &repeat)) != NULL)
			return -1;
		uniform &= first < 0 || tasks == first;
		if (first < 0)
			first = tasks;
		if (node_id >= node && node_id - node < repeat)
			*count = tasks; /* the rest is still checked */
		if ((node += repeat) > INT_MAX) {
			*why = "too many nodes";
			return -1;
		}
		if (!s[n])
			break;
		s += n + 1;
	}
	if (node_id >= node) {
		*why = "SLURM_NODEID is beyond the nodes it lists";
		return -1;
	}
	if (node_id < 0 && !uniform)
		return 1;
	if (node_id < 0)
		*count = first;
	return 0;
}

/* Slurm's local size: this node's entry of SLURM_TASKS_PER_NODE, else
 * SLURM_NTASKS_PER_NODE (what was asked for with --ntasks-per-node). */
static void slurm_local_size(const struct job_context *ctx)
{
	struct amlshim_job *out = ctx->out;
	const char *tasks = read_var(ctx, "SLURM_TASKS_PER_NODE");
	int ret = -1;
	if (tasks) {
		long node_id = read_count(ctx, "SLURM_NODEID", 0, NULL), count = -1;
		const char *why = NULL;
		ret = tasks_on_node(tasks, node_id, &count, &why);
		if (ret == 0) {
			out->local_size = count;
			out->local_size_from = "SLURM_TASKS_PER_NODE";
			return;
		}
		if (ret < 0)
			report(ctx, "SLURM_TASKS_PER_NODE", tasks, why, TASKS_ACCEPTED);
	}
	out->local_size = read_count(ctx, "SLURM_NTASKS_PER_NODE", 1, NULL);
	if (out->local_size >= 0)
		out->local_size_from = "SLURM_NTASKS_PER_NODE";
	else if (tasks && ret == 1)
		out->size_note = "SLURM_TASKS_PER_NODE gives different counts per node and SLURM_NODEID is "
		                 "not set or not valid";
}

/* The first launcher with its rank or local rank variable set. */
static const struct launcher *pick_launcher(const struct job_context *ctx)
{
	for (size_t i = 0; i < sizeof(launchers) / sizeof(launchers[0]); i++) {
		const struct launcher *l = &launchers[i];
		if (read_var(ctx, l->local_rank) || (!l->by_local_rank && read_var(ctx, l->rank)))
			return l;
	}
	return NULL;
}

void amlshim_job_detect(struct amlshim_job *out, amlshim_env_reader env, void *env_ctx,
                        amlshim_message_sink sink, void *sink_ctx)
{
	struct job_context ctx = {env, env_ctx, sink, sink_ctx, out};
	memset(out, 0, sizeof(*out));
	out->rank = out->local_rank = out->local_size = -1;
	const struct launcher *l = pick_launcher(&ctx);
	if (!l)
		return;
	out->launcher = l->name;
	const char *local_rank_text = NULL;
	if ((out->rank = read_count(&ctx, l->rank, 0, NULL)) >= 0)
		out->rank_from = l->rank;
	if ((out->local_rank = read_count(&ctx, l->local_rank, 0, &local_rank_text)) >= 0)
		out->local_rank_from = l->local_rank;
	if (l->local_size == NULL) {
		out->size_note = "this launcher sets no local size variable";
	} else if (l->slurm) {
		slurm_local_size(&ctx);
	} else {
		const char *size_text;
		if ((out->local_size = read_count(&ctx, l->local_size, 1, &size_text)) >= 0)
			out->local_size_from = l->local_size;
		else if (!size_text)
			out->size_note = "its local size variable is not set";
	}
	if (out->local_rank >= 0 && out->local_size >= 0 && out->local_rank >= out->local_size) {
		/* Which of the two is wrong cannot be told: both are dropped. */
		char reason[160];
		struct amlshim_text text;
		amlshim_text_init(&text, reason, sizeof(reason));
		amlshim_text_str(&text, "not below the local size ");
		amlshim_text_uint(&text, (unsigned long long)out->local_size);
		amlshim_text_str(&text, " (");
		amlshim_text_str(&text, out->local_size_from);
		amlshim_text_str(&text, ")");
		report_as(&ctx, out->local_rank_from, local_rank_text, reason,
		          "a local rank from 0 to the local size - 1", "the local rank and size are ignored");
		out->local_rank = out->local_size = -1;
		out->local_rank_from = out->local_size_from = NULL;
		out->size_note = "the local rank and size did not agree";
	}
	if (out->local_size < 0 && !out->size_note)
		out->size_note = "its local size variable is not valid";
}
