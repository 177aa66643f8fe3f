/* Memory a program frees goes back to the system once it stops
 * allocating: the README promises freed large blocks are kept "for at most
 * a second". A program allocates and touches 8 blocks of 64 MiB (512 MiB),
 * frees them all, then either sleeps or keeps making only small
 * allocations for 1.5 s. What it then holds (RSS less LazyFree: pages
 * given back with MADV_FREE count as given back) must be within 32 MiB of
 * what it held before. Under plain glibc (which unmaps blocks this large at free) that
 * holds at once, the reference printed first.
 *
 * Configurations (each a child under the shim with a time limit):
 *   AMLSHIM_POLICY=interleave              the large path: the area pool's cache
 *   AMLSHIM_RULES=1M-=bind:N;...           two pools, blocks of both
 *   no AMLSHIM_* variable                  the private jemalloc only
 * and two ways of going quiet: sleeping, or small allocations only. */
#include <malloc.h>

#include "hardening.h"

#define BLOCKS 8
#define BLOCK_SIZE ((size_t)64 << 20)
#define SLACK_KIB (32L << 10)

static long quiet_phase(int small_only)
{
	double end = test_now() + 1.5;
	unsigned long n = 0;
	while (test_now() < end) {
		if (small_only) {
			void *p = malloc(64 + n % 512);
			shim_test_escape(p);
			free(p);
			n++;
			if (n % 1024 == 0)
				usleep(1000);
		} else {
			usleep(50 * 1000);
		}
	}
	return hard_held_kib();
}

static int worker(const char *name, int small_only)
{
	void *warm = malloc(100);
	free(warm);
	long before = hard_held_kib();
	void *blocks[BLOCKS];
	for (int i = 0; i < BLOCKS; i++) {
		blocks[i] = malloc(BLOCK_SIZE + (size_t)i * 4096);
		CHECK(blocks[i] != NULL, "malloc");
		memset(blocks[i], i + 1, BLOCK_SIZE);
	}
	long peak = hard_held_kib();
	for (int i = 0; i < BLOCKS; i++)
		free(blocks[i]);
	long freed = hard_held_kib();
	long quiet = quiet_phase(small_only);
	printf("%s: held (RSS - LazyFree) before %ld KiB, with 512 MiB live %ld KiB, just freed %ld KiB, after 1.5 s "
	       "%s %ld KiB\n", name, before, peak, freed, small_only ? "of small allocations" : "asleep", quiet);
	fflush(stdout);
	CHECK(quiet <= before + SLACK_KIB,
	      "%s: %ld KiB resident 1.5 s after freeing 512 MiB (%ld KiB before): %ld KiB kept, the bound is %ld",
	      name, quiet, before, quiet - before, SLACK_KIB);
	return 0;
}

static struct hard_config configs[6];
static char rules[160];

int main(int argc, char **argv)
{
	int node = shim_test_first_node();
	snprintf(rules, sizeof(rules), "AMLSHIM_RULES=1M-128M=bind:%d;128M-=interleave", node);
	configs[0] = (struct hard_config){"interleave, sleeping", {"AMLSHIM_POLICY=interleave", NULL}};
	configs[1] = (struct hard_config){"interleave, small allocations", {"AMLSHIM_POLICY=interleave", NULL}};
	configs[2] = (struct hard_config){"two rules, sleeping", {rules, NULL}};
	configs[3] = (struct hard_config){"two rules, small allocations", {rules, NULL}};
	configs[4] = (struct hard_config){"no variable, sleeping", {NULL}};
	configs[5] = (struct hard_config){"no variable, small allocations", {NULL}};
	if (argc > 1 && strcmp(argv[1], "plain") == 0)
		return worker("plain glibc (no shim), sleeping", 0);
	int i = hard_worker(argc, argv, configs, 6);
	if (i >= 0) {
		return worker(configs[i].name, i % 2);
	}
	/* The reference, without the shim: a child with LD_PRELOAD removed. */
	fflush(stdout);
	pid_t pid = fork();
	CHECK(pid >= 0, "fork");
	if (pid == 0) {
		unsetenv("LD_PRELOAD");
		char *args[] = {argv[0], (char *)"plain", NULL};
		execv("/proc/self/exe", args);
		_exit(126);
	}
	int status;
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "plain glibc did not give the memory back either");
	int failures = 0;
	for (int i = 0; i < 6; i++) {
		char index[16];
		snprintf(index, sizeof(index), "%d", i);
		char *args[] = {argv[0], (char *)"worker", index, NULL};
		int st = shim_test_spawn(args, configs[i].env, 60, NULL);
		CHECK(st != -1, "%s: hung", configs[i].name);
		failures += st != 0;
	}
	CHECK(failures == 0, "%d of 6 configurations kept freed memory resident", failures);
	return 0;
}
