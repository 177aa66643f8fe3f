/* +share on the host, two copies of this test as the ranks of a faked
 * Flux job (local ranks known, local size unknown: the users come from the
 * ledger alone) under AMLSHIM_POLICY=bandwidth+share. Each allocates 64
 * MiB while the other is alive: both reports say 2 users from the ledger
 * and a budget of half the first-choice node's memory. Outside a job the
 * budget is the whole node; a bad AMLSHIM_SHARE_SETTLE or AMLSHIM_LEDGER
 * is one line on stderr and the program runs; a rule naming its node by a
 * node set name (preferred:local+share) is budgeted. (Placement against a budget
 * needs a small node: tests/vm/shim_share.c.) */
#include <sched.h>

#include "shim_test.h"

static void wait_for(const char *path)
{
	for (int i = 0; i < 12000 && access(path, F_OK) != 0; i++)
		usleep(10000);
	CHECK(access(path, F_OK) == 0, "%s never came (120 s)", path);
}

static void touch_file(const char *path)
{
	int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	CHECK(fd >= 0, "create %s", path);
	close(fd);
}

/* child UP WAIT DONE LAST: up once started; allocates once WAIT exists;
 * done; exits once LAST exists ("-": no waiting). */
static int child(char **argv)
{
	shim_test_escape(malloc(64)); /* the shim has started: the ledger is joined */
	touch_file(argv[2]);
	if (strcmp(argv[3], "-"))
		wait_for(argv[3]);
	char *p = malloc(64 << 20);
	CHECK(p != NULL, "malloc");
	memset(p, 1, 64 << 20);
	free(p);
	touch_file(argv[4]);
	if (strcmp(argv[5], "-"))
		wait_for(argv[5]);
	return 0;
}

static pid_t start(const char *dir, const char *name, const char *const *add, char *const *args)
{
	char lib[PATH_MAX], stats[PATH_MAX + 40], err[PATH_MAX];
	CHECK(shim_test_lib_path(lib, sizeof(lib)) == 0, "no libamlshim.so");
	snprintf(stats, sizeof(stats), "AMLSHIM_STATS_FILE=%s/%s.json", dir, name);
	snprintf(err, sizeof(err), "%s/%s.err", dir, name);
	const char *drop[] = {"AMLSHIM_", "FLUX_", "OMPI_", "PMI", "SLURM_", "MPI_", "PALS_", "JSM_", "MV2_",
	                      SHIM_TEST_REEXEC_VAR, NULL};
	char **env = test_environment(drop, lib, add, stats);
	pid_t pid = test_start_program("/proc/self/exe", args, env, NULL, err);
	free(env);
	return pid;
}

/* The share object of a report, and a field of it. */
static long share_field(const char *dir, const char *name, const char *key, char *text, size_t len)
{
	char path[PATH_MAX], report[1 << 15];
	snprintf(path, sizeof(path), "%s/%s.json", dir, name);
	CHECK(shim_test_read_file(path, report, sizeof(report)) > 0, "no report %s", path);
	const char *share = strstr(report, "\"share\":");
	CHECK(share != NULL, "%s: no share object: %s", name, report);
	if (text)
		return test_json_string(share, NULL, key, text, len);
	return shim_test_json_number(share, key);
}

static void check_budget(const char *dir, const char *name, const char *from, long users)
{
	char text[64];
	share_field(dir, name, "users_from", text, sizeof(text));
	CHECK(strcmp(text, from) == 0, "%s: users from '%s', want '%s'", name, text, from);
	long capacity = share_field(dir, name, "capacity", NULL, 0), budget = share_field(dir, name, "budget", NULL, 0);
	CHECK(share_field(dir, name, "users", NULL, 0) == users && budget == capacity / users,
	      "%s: budget %ld of %ld with %ld users, want %ld users", name, budget, capacity,
	      share_field(dir, name, "users", NULL, 0), users);
	/* The freed block may be cached (still mapped there): counted. */
	long placed = share_field(dir, name, "placed_bytes", NULL, 0);
	CHECK(placed == 0 || placed == 64 << 20, "%s: %ld bytes placed, want 0 or 64 MiB", name, placed);
}

static char *file(const char *dir, const char *name, char *buf)
{
	snprintf(buf, PATH_MAX, "%s/%s", dir, name);
	return buf;
}

int main(int argc, char **argv)
{
	if (argc == 6 && strcmp(argv[1], "child") == 0)
		return child(argv);
	char dir[256], ledger[64], a_up[PATH_MAX], a_done[PATH_MAX], b_up[PATH_MAX], b_done[PATH_MAX];
	/* Both ranks on one CPU, so on one node with the same first choice
	 * (a rank started on the other socket of a NUMA machine budgets
	 * another node: one user each). The children inherit it. */
	cpu_set_t cpus;
	CHECK(sched_getaffinity(0, sizeof(cpus), &cpus) == 0, "sched_getaffinity");
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &cpus)) {
			CPU_ZERO(&cpus);
			CPU_SET(cpu, &cpus);
			break;
		}
	CHECK(sched_setaffinity(0, sizeof(cpus), &cpus) == 0, "sched_setaffinity");
	shim_test_tmpdir(dir, sizeof(dir));
	snprintf(ledger, sizeof(ledger), "AMLSHIM_LEDGER=share-test-%d", (int)getpid());
	file(dir, "a.up", a_up), file(dir, "a.done", a_done), file(dir, "b.up", b_up), file(dir, "b.done", b_done);

	/* A allocates once B is up, B once A is done allocating; each stays
	 * until the other allocated: each counts two users. */
	const char *a_env[] = {"AMLSHIM_POLICY=bandwidth+share", "AMLSHIM_STATS=json", ledger, "FLUX_TASK_RANK=0",
	                       "FLUX_TASK_LOCAL_ID=0", NULL};
	const char *b_env[] = {"AMLSHIM_POLICY=bandwidth+share", "AMLSHIM_STATS=json", ledger, "FLUX_TASK_RANK=1",
	                       "FLUX_TASK_LOCAL_ID=1", NULL};
	char *a_args[] = {argv[0], "child", a_up, b_up, a_done, b_done, NULL};
	char *b_args[] = {argv[0], "child", b_up, a_done, b_done, "-", NULL};
	pid_t a = start(dir, "a", a_env, a_args), b = start(dir, "b", b_env, b_args);
	CHECK(shim_test_wait(a, 120) == 0 && shim_test_wait(b, 120) == 0, "a rank failed");
	check_budget(dir, "a", "ledger", 2);
	check_budget(dir, "b", "ledger", 2);

	/* Not in a job: the whole node. */
	const char *alone_env[] = {"AMLSHIM_POLICY=bandwidth+share", "AMLSHIM_STATS=json", NULL};
	char *alone_args[] = {argv[0], "child", file(dir, "c.up", a_up), "-", file(dir, "c.done", a_done), "-", NULL};
	CHECK(shim_test_wait(start(dir, "alone", alone_env, alone_args), 120) == 0, "alone failed");
	check_budget(dir, "alone", "the whole node: not in a job", 1);

	/* A node set name (one node here: "local" is node 0 on a one-node
	 * host, or this CPU's node): budgeted as its node number would be. */
	const char *named_env[] = {"AMLSHIM_POLICY=preferred:local+share", "AMLSHIM_STATS=json", NULL};
	char *named_args[] = {argv[0], "child", file(dir, "n.up", a_up), "-", file(dir, "n.done", a_done), "-", NULL};
	CHECK(shim_test_wait(start(dir, "named", named_env, named_args), 120) == 0, "named failed");
	char report[1 << 15], path_named[PATH_MAX];
	shim_test_read_file(file(dir, "named.json", path_named), report, sizeof(report));
	CHECK(strstr(report, "\"applied\":true") != NULL, "preferred:local+share was not budgeted: %s", report);
	check_budget(dir, "named", "the whole node: not in a job", 1);

	/* Bad values: one line each. */
	const char *bad_env[] = {"AMLSHIM_POLICY=bandwidth+share:dynamic", "AMLSHIM_STATS=json", "FLUX_TASK_RANK=0",
	                         "FLUX_TASK_LOCAL_ID=0", "AMLSHIM_SHARE_SETTLE=soon", "AMLSHIM_LEDGER=a/b", NULL};
	char *bad_args[] = {argv[0], "child", file(dir, "d.up", a_up), "-", file(dir, "d.done", a_done), "-", NULL};
	CHECK(shim_test_wait(start(dir, "bad", bad_env, bad_args), 120) == 0, "bad values: the program failed");
	char err[4096], path[PATH_MAX];
	shim_test_read_file(file(dir, "bad.err", path), err, sizeof(err));
	CHECK(strcmp(err, "amlshim: AMLSHIM_SHARE_SETTLE='soon' is not valid: not a duration; accepted: a duration: 0, "
	                  "or 1 to 100000000 followed by ms or s, like 500ms or 1s\n"
	                  "amlshim: AMLSHIM_LEDGER='a/b' is not valid: not a name; accepted: 1 to 64 of A-Z a-z 0-9 "
	                  ". _ - (not starting with .)\n") == 0,
	      "bad values said: %s", err);
	/* They are the policy's variables: AMLSHIM_STRICT stops on them too. */
	const char *strict_env[] = {"AMLSHIM_POLICY=bandwidth+share:dynamic", "AMLSHIM_STRICT=1",
	                            "AMLSHIM_SHARE_SETTLE=soon", NULL};
	char *strict_args[] = {argv[0], "child", file(dir, "s.up", a_up), "-", file(dir, "s.done", a_done), "-", NULL};
	int status = shim_test_wait(start(dir, "strict", strict_env, strict_args), 120);
	shim_test_read_file(file(dir, "strict.err", path), err, sizeof(err));
	CHECK(status == 2 && strstr(err, "AMLSHIM_SHARE_SETTLE='soon' is not valid"),
	      "a bad AMLSHIM_SHARE_SETTLE under AMLSHIM_STRICT=1: status %d, said: %s", status, err);
	shim_test_remove_dir(dir);
	printf("share: two ranks counted by the ledger, the whole node alone, a node set name, bad values: ok\n");
	return 0;
}
