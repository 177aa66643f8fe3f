/* Running programs under the shim: re-executing the test itself with
 * LD_PRELOAD (shim_test_start), copies of it in other modes, and other
 * programs with their output in files (the VM tests). One environment
 * builder and one fork/exec serve them all. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "files.h"
#include "launch.h"

extern char **environ;

int shim_test_active(void)
{
	return dlsym(RTLD_DEFAULT, "amlshim_version") != NULL;
}

int shim_test_lib_path(char *buf, size_t len)
{
	void *sym = dlsym(RTLD_DEFAULT, "amlshim_version");
	Dl_info info;
	if (sym && dladdr(sym, &info) && info.dli_fname && info.dli_fname[0] == '/') {
		snprintf(buf, len, "%s", info.dli_fname);
		return 0;
	}
	const char *override = getenv("AMLSHIM_TEST_LIB");
	if (override && *override) {
		snprintf(buf, len, "%s", override);
		return access(buf, R_OK) == 0 ? 0 : -1;
	}
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return -1;
	exe[n] = '\0';
	for (int up = 0; up < 3; up++) { /* NAME, shim/, tests/ */
		char *slash = strrchr(exe, '/');
		if (!slash)
			return -1;
		*slash = '\0';
	}
	snprintf(buf, len, "%s/lib/libamlshim.so", exe);
	return access(buf, R_OK) == 0 ? 0 : -1;
}

int shim_test_env_matches(const char *const *env)
{
	int wanted = 0;
	for (const char *const *e = env; e && *e; e++) {
		const char *eq = strchr(*e, '=');
		char name[128];
		snprintf(name, sizeof(name), "%.*s", (int)(eq - *e), *e);
		const char *have = getenv(name);
		if (!have || strcmp(have, eq + 1) != 0)
			return 0;
		wanted += strncmp(*e, "AMLSHIM_", 8) == 0;
	}
	int present = 0;
	for (char **e = environ; *e; e++)
		present += strncmp(*e, "AMLSHIM_", 8) == 0;
	return present == wanted;
}

static int starts_with_any(const char *text, const char *const *prefixes)
{
	for (; prefixes && *prefixes; prefixes++)
		if (strncmp(text, *prefixes, strlen(*prefixes)) == 0)
			return 1;
	return 0;
}

char **test_environment(const char *const *drop, const char *preload, const char *const *add, const char *extra)
{
	size_t count = 0, adds = 0;
	while (environ[count])
		count++;
	while (add && add[adds])
		adds++;
	char **out = (char **)calloc(count + adds + 3, sizeof(char *));
	CHECK(out != NULL, "out of memory");
	size_t n = 0;
	const char *old = NULL;
	for (size_t i = 0; i < count; i++) {
		if (starts_with_any(environ[i], drop))
			continue;
		if (preload && strncmp(environ[i], "LD_PRELOAD=", 11) == 0) {
			old = environ[i] + 11;
			continue;
		}
		out[n++] = environ[i];
	}
	if (preload) {
		size_t len = strlen(preload) + (old ? strlen(old) : 0) + 16;
		char *value = (char *)malloc(len);
		CHECK(value != NULL, "out of memory");
		snprintf(value, len, "LD_PRELOAD=%s%s%s", preload, old && *old ? ":" : "", old ? old : "");
		out[n++] = value;
	}
	for (size_t i = 0; i < adds; i++)
		out[n++] = (char *)add[i];
	if (extra)
		out[n++] = (char *)extra;
	out[n] = NULL;
	return out;
}

/* What a test drops from its environment before it sets its own. */
static const char *const shim_test_dropped[] = {"AMLSHIM_", SHIM_TEST_REEXEC_VAR "=", NULL};

static const char *alarm_message;
static size_t alarm_length;

static void on_alarm(int sig)
{
	(void)sig;
	ssize_t ignored = write(STDERR_FILENO, alarm_message, alarm_length);
	(void)ignored;
	_exit(3);
}

void test_alarm(unsigned seconds, const char *message)
{
	alarm_message = message;
	alarm_length = strlen(message);
	signal(SIGALRM, on_alarm);
	alarm(seconds);
}

void shim_test_deadline(unsigned seconds)
{
	test_alarm(seconds, "FAIL: the test did not finish in time (deadlock?)\n");
}

void shim_test_start(char **argv, const char *const *env)
{
	if (shim_test_active() && shim_test_env_matches(env)) {
		shim_test_deadline(SHIM_TEST_ALARM_S);
		return;
	}
	if (getenv(SHIM_TEST_REEXEC_VAR)) {
		fprintf(stderr, "FAIL: re-executed with LD_PRELOAD=%s but the shim is %s\n",
		        getenv("LD_PRELOAD") ? getenv("LD_PRELOAD") : "(unset)",
		        shim_test_active() ? "loaded with other AMLSHIM_* variables" : "not loaded");
		exit(1);
	}
	char lib[PATH_MAX];
	if (shim_test_lib_path(lib, sizeof(lib)) != 0)
		test_skip_dependency("libamlshim.so not found (looked at %s; build it with 'make lib' or set "
		                     "AMLSHIM_TEST_LIB)", lib);
	char **envp = test_environment(shim_test_dropped, lib, env, SHIM_TEST_REEXEC_VAR "=1");
	fflush(NULL);
	execve("/proc/self/exe", argv, envp);
	fprintf(stderr, "FAIL: cannot re-execute /proc/self/exe: %s\n", strerror(errno));
	exit(1);
}

/* Points fd at a new file path; 0 or -1. */
static int redirect(int fd, const char *path)
{
	int file = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	return file >= 0 && dup2(file, fd) == fd ? 0 : -1;
}

pid_t test_start_program(const char *path, char *const *argv, char **envp, const char *out_path,
                         const char *err_path)
{
	fflush(NULL);
	pid_t pid = fork();
	CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		if ((out_path && redirect(STDOUT_FILENO, out_path) != 0) ||
		    (err_path && redirect(STDERR_FILENO, err_path) != 0))
			_exit(126);
		execve(path, argv, envp);
		dprintf(2, "execve %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	return pid;
}

int shim_test_wait(pid_t pid, double timeout_s)
{
	int status;
	if (timeout_s <= 0) {
		while (waitpid(pid, &status, 0) < 0)
			CHECK(errno == EINTR, "waitpid: %s", strerror(errno));
		return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	}
	double end = test_now() + timeout_s;
	for (;;) {
		pid_t done = waitpid(pid, &status, WNOHANG);
		CHECK(done >= 0, "waitpid: %s", strerror(errno));
		if (done == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		if (test_now() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		usleep(1000);
	}
}

char **shim_test_env(const char *const *env)
{
	return test_environment(shim_test_dropped, NULL, env, NULL);
}

int shim_test_spawn(char *const *args, const char *const *env, int timeout_s, pid_t *pid_out)
{
	char **envp = shim_test_env(env);
	pid_t pid = test_start_program("/proc/self/exe", args, envp, NULL, NULL);
	free(envp);
	if (pid_out)
		*pid_out = pid;
	return shim_test_wait(pid, timeout_s);
}

int shim_test_mode_start(char **argv, const struct shim_test_mode *modes, size_t count)
{
	for (size_t m = 0; argv[1] && m < count; m++) {
		if (strcmp(argv[1], modes[m].name) != 0)
			continue;
		shim_test_start(argv, modes[m].env);
		shim_test_expect_state.prefix = modes[m].name;
		return (int)m;
	}
	return -1;
}

int shim_test_run_modes(int argc, char **argv, const struct shim_test_mode *modes, size_t count, int timeout_s)
{
	CHECK(argc == 1, "unknown mode %s", argv[1]);
	shim_test_start(argv, modes[0].env);
	int failed = 0;
	for (size_t m = 0; m < count; m++) {
		char *args[] = {argv[0], (char *)modes[m].name, NULL};
		int status = shim_test_spawn(args, modes[m].env, timeout_s, NULL);
		EXPECT(status == 0, "mode %s exited with %d", modes[m].name, status);
		failed += status != 0;
	}
	return failed;
}

/* ---- Other programs, output in files (the VM tests) ---- */

const char *shim_vm_dir(void)
{
	static char dir[PATH_MAX];
	if (!dir[0]) {
		ssize_t n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
		CHECK(n > 0, "readlink /proc/self/exe: %s", strerror(errno));
		dir[n] = '\0';
		char *slash = strrchr(dir, '/');
		CHECK(slash != NULL, "odd path %s", dir);
		*slash = '\0';
	}
	return dir;
}

const char *shim_vm_lib(void)
{
	static char path[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/../../lib/libamlshim.so", shim_vm_dir());
	CHECK(access(path, R_OK) == 0, "no shim at %s", path);
	return path;
}

const char *shim_vm_program(const char *name)
{
	static char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/programs/%s", shim_vm_dir(), name);
	CHECK(access(path, X_OK) == 0, "no program at %s (tests/vm/programs/)", path);
	return path;
}

struct shim_vm_run shim_vm_spawn(char *const *argv, char *const *extra_env, int preload)
{
	static const char *const dropped[] = {"LD_PRELOAD=", "AMLSHIM_", "PYTHON", NULL};
	static int serial;
	char out_path[96], err_path[96], report_path[96];
	snprintf(out_path, sizeof(out_path), "/tmp/shimvm-%d-%d.out", (int)getpid(), serial);
	snprintf(err_path, sizeof(err_path), "/tmp/shimvm-%d-%d.err", (int)getpid(), serial++);

	const char *add[32];
	size_t n = 0;
	char preload_var[PATH_MAX + 64];
	if (preload) {
		snprintf(preload_var, sizeof(preload_var), "LD_PRELOAD=%s", shim_vm_lib());
		add[n++] = preload_var;
		add[n++] = "AMLSHIM_STATS=json";
		add[n++] = "AMLSHIM_STATS_FILE=/tmp/shimvm-report-%p.json";
	}
	for (size_t i = 0; extra_env && extra_env[i] && n < 31; i++)
		add[n++] = extra_env[i];
	add[n] = NULL;
	char **env = test_environment(dropped, NULL, add, NULL);

	struct shim_vm_run run = {0};
	run.pid = test_start_program(argv[0], argv, env, out_path, err_path);
	free(env);
	run.status = shim_test_wait(run.pid, 0);
	run.out = shim_vm_read_file(out_path);
	run.err = shim_vm_read_file(err_path);
	CHECK(run.out && run.err, "lost the output of %s", argv[0]);
	unlink(out_path);
	unlink(err_path);
	if (preload) {
		snprintf(report_path, sizeof(report_path), "/tmp/shimvm-report-%d.json", (int)run.pid);
		run.report = shim_vm_read_file(report_path);
		unlink(report_path);
	}
	return run;
}

void shim_vm_run_free(struct shim_vm_run *run)
{
	free(run->out);
	free(run->err);
	free(run->report);
	memset(run, 0, sizeof(*run));
}

void shim_vm_print_output(const char *what, const char *text)
{
	if (!text || !*text)
		return;
	printf("%s:\n", what);
	for (const char *line = text; *line;) {
		const char *end = strchr(line, '\n');
		int len = end ? (int)(end - line) : (int)strlen(line);
		printf("    %.*s\n", len, line);
		line += len + (end ? 1 : 0);
	}
}
