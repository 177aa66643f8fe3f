/* Helpers for the stress tests: durations, /proc readings of the process,
 * sampled patterns and configurations run in child processes. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "files.h"
#include "pattern.h"
#include "launch.h"
#include "stress.h"

double hard_seconds(double fallback)
{
	const char *text = getenv("STRESS_SECONDS");
	double value = text ? atof(text) : 0;
	return value > 0 ? value : fallback;
}

long hard_status_kib(const char *field)
{
	char buf[8192];
	if (shim_test_read_file("/proc/self/status", buf, sizeof(buf)) <= 0)
		return -1;
	size_t n = strlen(field);
	for (char *line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
		if (strncmp(line, field, n) == 0 && line[n] == ':')
			return strtol(line + n + 1, NULL, 10);
	return -1;
}

long hard_rss_kib(void)
{
	return hard_status_kib("VmRSS");
}

long hard_held_kib(void)
{
	char buf[4096];
	if (shim_test_read_file("/proc/self/smaps_rollup", buf, sizeof(buf)) <= 0)
		return hard_rss_kib();
	const char *rss = strstr(buf, "\nRss:"), *lazy = strstr(buf, "\nLazyFree:");
	if (!rss)
		return hard_rss_kib();
	long held = strtol(rss + 5, NULL, 10);
	if (lazy)
		held -= strtol(lazy + 10, NULL, 10);
	return held;
}

long hard_max_map_count(void)
{
	char buf[64];
	if (shim_test_read_file("/proc/sys/vm/max_map_count", buf, sizeof(buf)) <= 0)
		return 65530;
	return strtol(buf, NULL, 10);
}

static uint64_t hard_word(uint64_t seed, size_t offset)
{
	return shim_test_mix(seed ^ (offset * 0x9e3779b97f4a7c15ULL));
}

static void hard_put(unsigned char *p, size_t offset, size_t size, uint64_t seed)
{
	if (offset >= size)
		return;
	uint64_t w = hard_word(seed, offset);
	size_t n = size - offset < 8 ? size - offset : 8;
	memcpy(p + offset, &w, n);
}

int hard_get_ok(const unsigned char *p, size_t offset, size_t size, uint64_t seed)
{
	if (offset >= size)
		return 1;
	uint64_t w = hard_word(seed, offset);
	size_t n = size - offset < 8 ? size - offset : 8;
	return memcmp(p + offset, &w, n) == 0;
}

void hard_fill(void *p, size_t size, uint64_t seed)
{
	unsigned char *b = (unsigned char *)p;
	HARD_FOR_EACH_OFFSET(size, off, hard_put(b, off, size, seed));
}

long hard_check(const void *p, size_t size, uint64_t seed)
{
	const unsigned char *b = (const unsigned char *)p;
	long bad = -1;
	HARD_FOR_EACH_OFFSET(size, off, if (bad < 0 && !hard_get_ok(b, off, size, seed)) bad = (long)off);
	return bad;
}

long hard_check_zero(const void *p, size_t size)
{
	const unsigned char *b = (const unsigned char *)p;
	long bad = -1;
	HARD_FOR_EACH_OFFSET(size, off, if (bad < 0 && b[off] != 0) bad = (long)off);
	if (bad < 0)
		for (size_t i = 0; i < size && i < 4096; i++)
			if (b[i]) {
				bad = (long)i;
				break;
			}
	return bad;
}

void hard_run_config(char **argv, const struct hard_config *configs, int i, int timeout_s)
{
	char index[16];
	snprintf(index, sizeof(index), "%d", i);
	char *args[] = {argv[0], (char *)"worker", index, NULL};
	double start = test_now();
	int status = shim_test_spawn(args, configs[i].env, timeout_s, NULL);
	printf("%-44s status %d after %.1f s\n", configs[i].name, status, test_now() - start);
	fflush(stdout);
	CHECK(status != -1, "%s: the worker did not finish in %d s (deadlock?) and was killed", configs[i].name,
	      timeout_s);
	CHECK(status == 0, "%s: the worker failed with status %d", configs[i].name, status);
}

void hard_run_configs(char **argv, const struct hard_config *configs, int count, int timeout_s)
{
	for (int i = 0; i < count; i++)
		hard_run_config(argv, configs, i, timeout_s);
}

int hard_worker(int argc, char **argv, const struct hard_config *configs, int count)
{
	if (argc <= 2 || strcmp(argv[1], "worker") != 0)
		return -1;
	int i = atoi(argv[2]);
	CHECK(i >= 0 && i < count, "config %d", i);
	shim_test_start(argv, configs[i].env);
	return i;
}

void hard_rules(char *buf, size_t len, const char *large)
{
	snprintf(buf, len, "AMLSHIM_RULES=0-4K=local;4K-64K=interleave;64K-1M=bind:%d;%s", shim_test_first_node(),
	         large);
}

const char *hard_first_node_text(void)
{
	static char text[16];
	snprintf(text, sizeof(text), "%d", shim_test_first_node());
	return text;
}
