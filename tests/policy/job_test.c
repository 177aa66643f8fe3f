/* Job detection (policy/job.c): each launcher's variables give the rank,
 * local rank and local size with the variable each came from; the fixed
 * precedence between launchers (never mixing their values); Slurm's
 * SLURM_TASKS_PER_NODE with SLURM_NODEID; bad values (one exact line,
 * then unknown); a local size that is unknown stays unknown. */
#include <stdio.h>

#include "job.h"
#include "policy_test.h"

/* Detects from name, value pairs ending with NULL; the lines in env. */
static void detect(struct amlshim_job *job, struct test_env *env, ...)
{
	va_list ap;
	va_start(ap, env);
	test_env_fill(env, ap);
	va_end(ap);
	memset(job, 0xa5, sizeof(*job));
	amlshim_job_detect(job, test_env_read, env, test_sink, env);
	CHECK_EQ(job->errors, env->num_lines);
}

static const char *or_null(const char *s)
{
	return s ? s : "(null)";
}

/* Every field: -1 / NULL for unknown. */
static void check_job(const struct amlshim_job *job, const char *launcher, long rank, const char *rank_from,
                      long local_rank, const char *local_rank_from, long local_size, const char *local_size_from)
{
	CHECK_STR(or_null(job->launcher), or_null(launcher));
	CHECK_EQ(job->rank, rank);
	CHECK_STR(or_null(job->rank_from), or_null(rank_from));
	CHECK_EQ(job->local_rank, local_rank);
	CHECK_STR(or_null(job->local_rank_from), or_null(local_rank_from));
	CHECK_EQ(job->local_size, local_size);
	CHECK_STR(or_null(job->local_size_from), or_null(local_size_from));
	CHECK((job->launcher && job->local_size < 0) == (job->size_note != NULL), "size note '%s' with size %ld",
	      or_null(job->size_note), job->local_size);
}

#define RANK_ACCEPTED "a whole number from 0 to 2147483647"
#define SIZE_ACCEPTED "a whole number from 1 to 2147483647"

/* The one line for a bad value; the parser's style, then "; ignored". */
static void check_line(const struct test_env *env, int line, const char *name, const char *value,
                       const char *reason, const char *accepted)
{
	char want[AMLSHIM_MESSAGE_MAX];
	snprintf(want, sizeof(want), "amlshim: %s='%s' is not valid: %s; accepted: %s; ignored", name, value, reason,
	         accepted);
	CHECK(line < env->num_lines, "no line %d for %s", line, name);
	CHECK_STR(env->lines[line], want);
}

static void test_launchers(void)
{
	struct amlshim_job j;
	struct test_env env;
	detect(&j, &env, NULL);
	check_job(&j, NULL, -1, NULL, -1, NULL, -1, NULL);
	CHECK_EQ(env.num_lines, 0);

	detect(&j, &env, "OMPI_COMM_WORLD_RANK", "5", "OMPI_COMM_WORLD_LOCAL_RANK", "1",
	       "OMPI_COMM_WORLD_LOCAL_SIZE", "4", NULL);
	check_job(&j, "Open MPI", 5, "OMPI_COMM_WORLD_RANK", 1, "OMPI_COMM_WORLD_LOCAL_RANK", 4,
	          "OMPI_COMM_WORLD_LOCAL_SIZE");
	detect(&j, &env, "MV2_COMM_WORLD_RANK", "7", "MV2_COMM_WORLD_LOCAL_RANK", "3", "MV2_COMM_WORLD_LOCAL_SIZE",
	       "8", NULL);
	check_job(&j, "MVAPICH2", 7, "MV2_COMM_WORLD_RANK", 3, "MV2_COMM_WORLD_LOCAL_RANK", 8,
	          "MV2_COMM_WORLD_LOCAL_SIZE");
	detect(&j, &env, "PMI_RANK", "9", "MPI_LOCALRANKID", "1", "MPI_LOCALNRANKS", "2", NULL);
	check_job(&j, "MPICH/Intel MPI (hydra)", 9, "PMI_RANK", 1, "MPI_LOCALRANKID", 2, "MPI_LOCALNRANKS");
	detect(&j, &env, "JSM_NAMESPACE_RANK", "6", "JSM_NAMESPACE_LOCAL_RANK", "0", "JSM_NAMESPACE_LOCAL_SIZE", "6",
	       NULL);
	check_job(&j, "IBM jsrun", 6, "JSM_NAMESPACE_RANK", 0, "JSM_NAMESPACE_LOCAL_RANK", 6, "JSM_NAMESPACE_LOCAL_SIZE");
	detect(&j, &env, "PALS_RANKID", "130", "PALS_LOCAL_RANKID", "2", "PALS_LOCAL_SIZE", "128", NULL);
	check_job(&j, "HPE PALS", 130, "PALS_RANKID", 2, "PALS_LOCAL_RANKID", 128, "PALS_LOCAL_SIZE");
	/* Flux and PMIx set no local size: unknown, not guessed. */
	detect(&j, &env, "FLUX_TASK_RANK", "3", "FLUX_TASK_LOCAL_ID", "1", NULL);
	check_job(&j, "Flux", 3, "FLUX_TASK_RANK", 1, "FLUX_TASK_LOCAL_ID", -1, NULL);
	CHECK_STR(j.size_note, "this launcher sets no local size variable");
	detect(&j, &env, "PMIX_RANK", "2", "PMIX_LOCAL_RANK", "0", NULL);
	check_job(&j, "PMIx", 2, "PMIX_RANK", 0, "PMIX_LOCAL_RANK", -1, NULL);
	detect(&j, &env, "PMI_RANK", "2", "PMI_LOCAL_RANK", "0", "PMI_LOCAL_SIZE", "3", NULL);
	check_job(&j, "PMI", 2, "PMI_RANK", 0, "PMI_LOCAL_RANK", 3, "PMI_LOCAL_SIZE");
	/* A rank alone (the local rank's variable not set). */
	detect(&j, &env, "OMPI_COMM_WORLD_RANK", "0", NULL);
	check_job(&j, "Open MPI", 0, "OMPI_COMM_WORLD_RANK", -1, NULL, -1, NULL);
	CHECK_STR(j.size_note, "its local size variable is not set");
	/* A local rank whose size variable is missing: size unknown. */
	detect(&j, &env, "OMPI_COMM_WORLD_RANK", "3", "OMPI_COMM_WORLD_LOCAL_RANK", "3", NULL);
	check_job(&j, "Open MPI", 3, "OMPI_COMM_WORLD_RANK", 3, "OMPI_COMM_WORLD_LOCAL_RANK", -1, NULL);
	/* Empty values are unset. */
	detect(&j, &env, "OMPI_COMM_WORLD_RANK", "", "SLURM_PROCID", "", NULL);
	check_job(&j, NULL, -1, NULL, -1, NULL, -1, NULL);
	CHECK_EQ(env.num_lines, 0);
}

static void test_slurm(void)
{
	struct amlshim_job j;
	struct test_env env;
	/* 2 tasks on nodes 0-2, 1 on node 3. */
	detect(&j, &env, "SLURM_PROCID", "6", "SLURM_LOCALID", "0", "SLURM_TASKS_PER_NODE", "2(x3),1",
	       "SLURM_NODEID", "3", NULL);
	check_job(&j, "Slurm", 6, "SLURM_PROCID", 0, "SLURM_LOCALID", 1, "SLURM_TASKS_PER_NODE");
	detect(&j, &env, "SLURM_PROCID", "3", "SLURM_LOCALID", "1", "SLURM_TASKS_PER_NODE", "2(x3),1",
	       "SLURM_NODEID", "1", NULL);
	check_job(&j, "Slurm", 3, "SLURM_PROCID", 1, "SLURM_LOCALID", 2, "SLURM_TASKS_PER_NODE");
	detect(&j, &env, "SLURM_PROCID", "3", "SLURM_LOCALID", "3", "SLURM_TASKS_PER_NODE", "1,4,2(x2)",
	       "SLURM_NODEID", "1", NULL);
	check_job(&j, "Slurm", 3, "SLURM_PROCID", 3, "SLURM_LOCALID", 4, "SLURM_TASKS_PER_NODE");
	/* The same count everywhere: SLURM_NODEID is not needed. */
	detect(&j, &env, "SLURM_PROCID", "5", "SLURM_LOCALID", "1", "SLURM_TASKS_PER_NODE", "4(x2)", NULL);
	check_job(&j, "Slurm", 5, "SLURM_PROCID", 1, "SLURM_LOCALID", 4, "SLURM_TASKS_PER_NODE");
	/* Different counts and no SLURM_NODEID: unknown, no message... */
	detect(&j, &env, "SLURM_PROCID", "5", "SLURM_LOCALID", "1", "SLURM_TASKS_PER_NODE", "4,2", NULL);
	check_job(&j, "Slurm", 5, "SLURM_PROCID", 1, "SLURM_LOCALID", -1, NULL);
	CHECK_EQ(env.num_lines, 0);
	CHECK_STR(j.size_note, "SLURM_TASKS_PER_NODE gives different counts per node and SLURM_NODEID is not set "
	                       "or not valid");
	/* ...unless SLURM_NTASKS_PER_NODE says. */
	detect(&j, &env, "SLURM_PROCID", "5", "SLURM_LOCALID", "1", "SLURM_TASKS_PER_NODE", "4,2",
	       "SLURM_NTASKS_PER_NODE", "4", NULL);
	check_job(&j, "Slurm", 5, "SLURM_PROCID", 1, "SLURM_LOCALID", 4, "SLURM_NTASKS_PER_NODE");
	detect(&j, &env, "SLURM_PROCID", "5", "SLURM_LOCALID", "1", "SLURM_NTASKS_PER_NODE", "2", NULL);
	check_job(&j, "Slurm", 5, "SLURM_PROCID", 1, "SLURM_LOCALID", 2, "SLURM_NTASKS_PER_NODE");

	/* Bad SLURM_TASKS_PER_NODE: one line, then SLURM_NTASKS_PER_NODE or unknown. */
	static const struct { const char *value, *reason; } bad[] = {
		{"2(x3", "a repeat is written (xN)"}, {"2(3)", "a repeat is written (xN)"},
		{"2,", "empty number"},               {",2", "empty number"},
		{"0", "zero"},                        {"2(x0)", "zero"},
		{"a", "not a decimal number"},        {"-2", "negative"},
		{"2(x3)x", "a repeat is written (xN)"}, {"99999999999", "too large"},
		{"1(x2147483647),1", "too many nodes"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		detect(&j, &env, "SLURM_PROCID", "0", "SLURM_LOCALID", "0", "SLURM_TASKS_PER_NODE", bad[i].value,
		       "SLURM_NODEID", "0", NULL);
		CHECK(env.num_lines == 1, "SLURM_TASKS_PER_NODE='%s': %d lines", bad[i].value, env.num_lines);
		char want[512];
		snprintf(want, sizeof(want),
		         "amlshim: SLURM_TASKS_PER_NODE='%s' is not valid: %s; accepted: task counts separated by ',', "
		         "each with an optional (xN) repeat, like 2(x3),1 (Slurm's syntax), with SLURM_NODEID below the "
		         "number of nodes they describe; ignored", bad[i].value, bad[i].reason);
		CHECK_STR(env.lines[0], want);
		check_job(&j, "Slurm", 0, "SLURM_PROCID", 0, "SLURM_LOCALID", -1, NULL);
		CHECK_STR(j.size_note, "its local size variable is not valid");
	}
	detect(&j, &env, "SLURM_PROCID", "0", "SLURM_LOCALID", "0", "SLURM_TASKS_PER_NODE", "2(x3)", "SLURM_NODEID",
	       "3", NULL);
	CHECK_EQ(env.num_lines, 1);
	CHECK(strstr(env.lines[0], "is not valid: SLURM_NODEID is beyond the nodes it lists;") != NULL, "%s",
	      env.lines[0]);
	check_job(&j, "Slurm", 0, "SLURM_PROCID", 0, "SLURM_LOCALID", -1, NULL);
}

/* The MPI launchers' own variables win over Slurm's (inherited, stale,
 * by mpirun inside an allocation), and Slurm's over PMI/PMIx; values are
 * never mixed between launchers. */
static void test_precedence(void)
{
	struct amlshim_job j;
	struct test_env env;
	detect(&j, &env, "SLURM_PROCID", "0", "SLURM_LOCALID", "0", "SLURM_NTASKS_PER_NODE", "1",
	       "OMPI_COMM_WORLD_RANK", "5", "OMPI_COMM_WORLD_LOCAL_RANK", "1", "OMPI_COMM_WORLD_LOCAL_SIZE", "2",
	       "PMIX_RANK", "5", "PMIX_LOCAL_RANK", "1", NULL);
	check_job(&j, "Open MPI", 5, "OMPI_COMM_WORLD_RANK", 1, "OMPI_COMM_WORLD_LOCAL_RANK", 2,
	          "OMPI_COMM_WORLD_LOCAL_SIZE");
	/* mpiexec.hydra in an sbatch script: PMI_RANK, not the stale SLURM_PROCID. */
	detect(&j, &env, "SLURM_PROCID", "0", "SLURM_LOCALID", "0", "PMI_RANK", "3", "MPI_LOCALRANKID", "1",
	       "MPI_LOCALNRANKS", "2", NULL);
	check_job(&j, "MPICH/Intel MPI (hydra)", 3, "PMI_RANK", 1, "MPI_LOCALRANKID", 2, "MPI_LOCALNRANKS");
	/* srun --mpi=pmix: both set and agree; Slurm's come with a size. */
	detect(&j, &env, "PMIX_RANK", "3", "PMIX_LOCAL_RANK", "1", "SLURM_PROCID", "3", "SLURM_LOCALID", "1",
	       "SLURM_TASKS_PER_NODE", "2(x2)", "SLURM_NODEID", "1", NULL);
	check_job(&j, "Slurm", 3, "SLURM_PROCID", 1, "SLURM_LOCALID", 2, "SLURM_TASKS_PER_NODE");
	/* PMI_RANK alone is the generic PMI's, not hydra's. */
	detect(&j, &env, "PMI_RANK", "4", NULL);
	check_job(&j, "PMI", 4, "PMI_RANK", -1, NULL, -1, NULL);
	/* Flux before Slurm; Open MPI's size is not taken for Flux. */
	detect(&j, &env, "FLUX_TASK_RANK", "2", "FLUX_TASK_LOCAL_ID", "0", "SLURM_PROCID", "0", "SLURM_LOCALID", "0",
	       "SLURM_NTASKS_PER_NODE", "4", NULL);
	check_job(&j, "Flux", 2, "FLUX_TASK_RANK", 0, "FLUX_TASK_LOCAL_ID", -1, NULL);
	/* A bad value in the chosen launcher is not replaced by another's. */
	detect(&j, &env, "OMPI_COMM_WORLD_RANK", "x", "SLURM_PROCID", "4", NULL);
	check_job(&j, "Open MPI", -1, NULL, -1, NULL, -1, NULL);
	CHECK_EQ(env.num_lines, 1);
}

static void test_bad_values(void)
{
	struct amlshim_job j;
	struct test_env env;
	static const struct { const char *value, *reason; } bad[] = {
		{"x", "not a decimal number"}, {"-1", "negative"}, {"1.5", "not a decimal number"},
		{" 1", "not a decimal number"}, {"1 ", "not a decimal number"}, {"+1", "not a decimal number"},
		{"2147483648", "too large"},   {"0x10", "not a decimal number"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		detect(&j, &env, "OMPI_COMM_WORLD_RANK", bad[i].value, "OMPI_COMM_WORLD_LOCAL_RANK", "1",
		       "OMPI_COMM_WORLD_LOCAL_SIZE", "2", NULL);
		CHECK(env.num_lines == 1, "'%s': %d lines", bad[i].value, env.num_lines);
		check_line(&env, 0, "OMPI_COMM_WORLD_RANK", bad[i].value, bad[i].reason, RANK_ACCEPTED);
		check_job(&j, "Open MPI", -1, NULL, 1, "OMPI_COMM_WORLD_LOCAL_RANK", 2, "OMPI_COMM_WORLD_LOCAL_SIZE");
	}
	detect(&j, &env, "OMPI_COMM_WORLD_RANK", "2147483647", NULL);
	check_job(&j, "Open MPI", 2147483647, "OMPI_COMM_WORLD_RANK", -1, NULL, -1, NULL);

	detect(&j, &env, "OMPI_COMM_WORLD_LOCAL_RANK", "1", "OMPI_COMM_WORLD_LOCAL_SIZE", "0", NULL);
	check_line(&env, 0, "OMPI_COMM_WORLD_LOCAL_SIZE", "0", "zero", SIZE_ACCEPTED);
	check_job(&j, "Open MPI", -1, NULL, 1, "OMPI_COMM_WORLD_LOCAL_RANK", -1, NULL);
	CHECK_STR(j.size_note, "its local size variable is not valid");
	detect(&j, &env, "MPI_LOCALRANKID", "-3", "MPI_LOCALNRANKS", "4", NULL);
	check_line(&env, 0, "MPI_LOCALRANKID", "-3", "negative", RANK_ACCEPTED);
	check_job(&j, "MPICH/Intel MPI (hydra)", -1, NULL, -1, NULL, 4, "MPI_LOCALNRANKS");

	/* Local rank not below the local size: both dropped, one line. */
	detect(&j, &env, "OMPI_COMM_WORLD_RANK", "4", "OMPI_COMM_WORLD_LOCAL_RANK", "4", "OMPI_COMM_WORLD_LOCAL_SIZE",
	       "4", NULL);
	CHECK_EQ(env.num_lines, 1);
	CHECK_STR(env.lines[0], "amlshim: OMPI_COMM_WORLD_LOCAL_RANK='4' is not valid: not below the local size 4 "
	                        "(OMPI_COMM_WORLD_LOCAL_SIZE); accepted: a local rank from 0 to the local size - 1; "
	                        "the local rank and size are ignored");
	check_job(&j, "Open MPI", 4, "OMPI_COMM_WORLD_RANK", -1, NULL, -1, NULL);
	detect(&j, &env, "SLURM_PROCID", "4", "SLURM_LOCALID", "2", "SLURM_TASKS_PER_NODE", "2(x3)", NULL);
	CHECK_EQ(env.num_lines, 1);
	check_job(&j, "Slurm", 4, "SLURM_PROCID", -1, NULL, -1, NULL);

	/* Hostile bytes are quoted, never printed raw. */
	detect(&j, &env, "PALS_RANKID", "1\n2'\\", NULL);
	CHECK_EQ(env.num_lines, 1);
	CHECK(strstr(env.lines[0], "PALS_RANKID='1\\x0a2\\'\\\\' is not valid") != NULL, "%s", env.lines[0]);
	/* No reader, no sink: nothing found, nothing crashes. */
	amlshim_job_detect(&j, NULL, NULL, NULL, NULL);
	check_job(&j, NULL, -1, NULL, -1, NULL, -1, NULL);
	struct test_env quiet = {.names = {"PMIX_RANK"}, .values = {"z"}, .count = 1};
	amlshim_job_detect(&j, test_env_read, &quiet, NULL, NULL);
	CHECK_EQ(j.errors, 1);
	CHECK_EQ(j.rank, -1);
}

int main(void)
{
	test_launchers();
	test_slurm();
	test_precedence();
	test_bad_values();
	printf("job detection: launchers, precedence, Slurm's tasks per node, bad values: ok\n");
	return 0;
}
