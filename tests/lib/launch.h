/* Running programs under the shim: a test re-executes itself with
 * LD_PRELOAD set to libamlshim.so and exactly the AMLSHIM_* variables it
 * asks for (shim_test_start), runs copies of itself in other modes
 * (shim_test_spawn), or runs another program with its output captured
 * (shim_vm_spawn). The shim is found next to the build: build/tests/DIR/NAME
 * -> build/lib/libamlshim.so, or AMLSHIM_TEST_LIB. */
#ifndef AML_TESTS_LAUNCH_H
#define AML_TESTS_LAUNCH_H

#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Marks the environment of a re-executed test, so that a preload that did
 * not take effect fails instead of looping. Not AMLSHIM_*: the shim warns
 * about variables it does not know. */
#define SHIM_TEST_REEXEC_VAR "SHIM_TEST_REEXEC"
/* Wall-clock limit of a test process (generous: the test VM emulates its
 * CPUs); a deadlock fails instead of hanging until the runner kills it. */
#define SHIM_TEST_ALARM_S 400

/* This process runs under the shim. */
int shim_test_active(void);
/* Whether the NAME=VALUE entries of env are set, and are exactly the
 * AMLSHIM_* variables set. */
int shim_test_env_matches(const char *const *env);
/* The shim's file: the loaded one, AMLSHIM_TEST_LIB, or the build's
 * lib/libamlshim.so two directories above this program. 0 or -1. */
int shim_test_lib_path(char *buf, size_t len);
/* A new environment (calloc'ed array): this one without the variables
 * whose "NAME=" starts with one of drop[] (NULL-terminated), with
 * LD_PRELOAD starting with preload (when given), plus add[] and extra. */
char **test_environment(const char *const *drop, const char *preload, const char *const *add, const char *extra);
/* The environment of a copy of this test: this one without AMLSHIM_* (and
 * the re-exec mark), LD_PRELOAD kept, plus env (calloc'ed array). */
char **shim_test_env(const char *const *env);
/* After `seconds`, writes message to stderr and exits with 3. */
void test_alarm(unsigned seconds, const char *message);
/* Sets a wall-clock limit (seconds) after which the test fails. */
void shim_test_deadline(unsigned seconds);
/* Makes sure this program runs under the shim with exactly the AMLSHIM_*
 * variables in env (NULL-terminated "NAME=VALUE" list; non-AMLSHIM names
 * are set too): returns when it does, re-executes itself otherwise. Skips
 * (fails with CI=true) when the shim cannot be found. */
void shim_test_start(char **argv, const char *const *env);
/* Starts path with argv and envp, stdout and stderr into the files
 * out_path and err_path when given; its pid. */
pid_t test_start_program(const char *path, char *const *argv, char **envp, const char *out_path,
                         const char *err_path);
/* Waits for child pid at most timeout_s seconds (0: no limit): its exit
 * status, 128+N for a signal N, or -1 when it had to be killed. */
int shim_test_wait(pid_t pid, double timeout_s);
/* Runs this program again (argv: its argv[0], then args, NULL-terminated)
 * under the shim (LD_PRELOAD is inherited) with the AMLSHIM_* variables of
 * env only. Waits at most timeout_s seconds. Returns the exit status, 128+N
 * for a signal N, or -1 when it had to be killed. *pid_out gets its pid. */
int shim_test_spawn(char *const *args, const char *const *env, int timeout_s, pid_t *pid_out);

/* A test run in several modes: each a copy of the test under the shim
 * with its own AMLSHIM_* variables, named by argv[1]. */
struct shim_test_mode {
	const char *name;
	const char *env[8]; /* NULL-terminated "NAME=VALUE" */
};

/* In a copy run for one mode (argv[1] is its name): runs it under the shim
 * with the mode's variables, its name in front of EXPECT messages; returns
 * its index. -1 when argv[1] names no mode (or there is none). */
int shim_test_mode_start(char **argv, const struct shim_test_mode *modes, size_t count);
/* In the parent (argv names no mode; any other argument fails the test):
 * runs under the shim with the first mode's variables, then every mode in
 * a copy, at most timeout_s seconds each; an EXPECT failure for each that
 * fails. Returns how many failed. */
int shim_test_run_modes(int argc, char **argv, const struct shim_test_mode *modes, size_t count, int timeout_s);

/* The directory of this test binary (build/tests/vm). */
const char *shim_vm_dir(void);
/* build/lib/libamlshim.so, from build/tests/vm. */
const char *shim_vm_lib(void);
/* build/tests/vm/programs/NAME. */
const char *shim_vm_program(const char *name);

struct shim_vm_run {
	pid_t pid;
	int status;   /* exit status, or 128 + signal */
	char *out;    /* stdout */
	char *err;    /* stderr */
	char *report; /* the JSON report, or NULL when none was written */
};

/* Runs argv[0] (a path) with this environment less LD_PRELOAD, AMLSHIM_*
 * and PYTHON* variables, plus extra_env; stdout and stderr in files; with
 * `preload`, under the shim with AMLSHIM_STATS=json and the report in
 * /tmp/shimvm-report-PID.json (read, then removed). The child inherits
 * this thread's CPU affinity. */
struct shim_vm_run shim_vm_spawn(char *const *argv, char *const *extra_env, int preload);
void shim_vm_run_free(struct shim_vm_run *run);
/* Prints a child's output, each line indented, under a heading. */
void shim_vm_print_output(const char *what, const char *text);

#ifdef __cplusplus
}
#endif

#endif
