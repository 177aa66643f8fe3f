/* Runs a command count times (posix_spawn + wait, with this process's
 * environment, so LD_PRELOAD applies to it) and reports the time of one
 * run, the CPU time (user + system) of one run and the peak RSS of the runs
 * (the largest child's). Measures start-up
 * (count=200 /bin/true) and real programs (count=1 gcc ...).
 *   spawn count=N command [args...] */
#include <sys/resource.h>
#include <spawn.h>
#include <sys/wait.h>

#include "bench.h"

extern char **environ;

int main(int argc, char **argv)
{
	if (argc < 3 || strncmp(argv[1], "count=", 6) != 0)
		bench_die("usage: spawn count=N command [args...]");
	long count = atol(argv[1] + 6);
	if (count < 1)
		bench_die("bad count");
	char **command = argv + 2;
	double start = bench_now();
	for (long i = 0; i < count; i++) {
		pid_t pid;
		if (posix_spawnp(&pid, command[0], NULL, NULL, command, environ) != 0)
			bench_die("posix_spawnp failed");
		int status;
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			bench_die("the command failed");
	}
	double elapsed = bench_now() - start;
	struct rusage usage;
	getrusage(RUSAGE_CHILDREN, &usage);
	double cpu = (double)(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
	             (double)(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1e-6;
	char extra[128];
	snprintf(extra, sizeof(extra), " ops=%ld rss_kib=%ld cpu_s=%.6f", count, usage.ru_maxrss,
	         cpu / (double)count);
	bench_report(elapsed / (double)count, (unsigned long long)count, extra);
	return 0;
}
