/* Helpers for the hardening tests under the shim (tests/hardening/NAME.c):
 * durations, configurations run one after the other in child processes,
 * sampled content patterns cheap enough for blocks of tens of MiB, and
 * what /proc says about the process (RSS, VMAs). Built on shim_test.h. */
#ifndef AMLSHIM_TESTS_HARDENING_H
#define AMLSHIM_TESTS_HARDENING_H

#include <pthread.h>
#include <sys/resource.h>

#include "shim_test.h"

/* STRESS_SECONDS (make check-stress passes it) or the test's default. */
static inline double hard_seconds(double fallback)
{
	const char *text = getenv("STRESS_SECONDS");
	double value = text ? atof(text) : 0;
	return value > 0 ? value : fallback;
}

/* A /proc/self/status field in KiB ("VmRSS", "VmHWM"), or -1. */
static inline long hard_status_kib(const char *field)
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

static inline long hard_rss_kib(void)
{
	return hard_status_kib("VmRSS");
}

/* Memory the process holds that the kernel cannot take back without
 * asking: RSS less the pages given back with MADV_FREE (LazyFree, which
 * the kernel reclaims under pressure). From /proc/self/smaps_rollup
 * (Linux 4.14+), else VmRSS. KiB. */
static inline long hard_held_kib(void)
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

/* Lines of /proc/self/maps, read with read(2) into a static buffer. */
static inline long hard_vma_count(void)
{
	static char buf[1 << 16];
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	long lines = 0;
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < n; i++)
			lines += buf[i] == '\n';
	close(fd);
	return lines;
}

static inline long hard_max_map_count(void)
{
	char buf[64];
	if (shim_test_read_file("/proc/sys/vm/max_map_count", buf, sizeof(buf)) <= 0)
		return 65530;
	return strtol(buf, NULL, 10);
}

/* ---- Sampled patterns: the first and last 64 bytes and one word per
 * 4 KiB page, all derived from a seed. Enough to see a block handed out
 * twice, unmapped, moved without its content, or overwritten. ---- */

static inline uint64_t hard_word(uint64_t seed, size_t offset)
{
	return shim_test_mix(seed ^ (offset * 0x9e3779b97f4a7c15ULL));
}

static inline void hard_put(unsigned char *p, size_t offset, size_t size, uint64_t seed)
{
	if (offset >= size)
		return;
	uint64_t w = hard_word(seed, offset);
	size_t n = size - offset < 8 ? size - offset : 8;
	memcpy(p + offset, &w, n);
}

static inline int hard_get_ok(const unsigned char *p, size_t offset, size_t size, uint64_t seed)
{
	if (offset >= size)
		return 1;
	uint64_t w = hard_word(seed, offset);
	size_t n = size - offset < 8 ? size - offset : 8;
	return memcmp(p + offset, &w, n) == 0;
}

/* The offsets the pattern covers, in order: 0..63 by 8, every page start,
 * and the last 64 bytes by 8 (aligned to the end). */
#define HARD_FOR_EACH_OFFSET(size, off, body)                                           \
	do {                                                                            \
		for (size_t off = 0; off < 64 && off < (size); off += 8)                 \
			body;                                                           \
		for (size_t off = 4096; off + 72 <= (size); off += 4096)                 \
			body;                                                           \
		for (size_t k_ = 64; k_ > 0; k_ -= 8)                                    \
			if ((size) >= 64 + k_ && (size) - k_ >= 64) {                     \
				size_t off = (size) - k_;                                \
				body;                                                   \
			}                                                               \
	} while (0)

static inline void hard_fill(void *p, size_t size, uint64_t seed)
{
	unsigned char *b = (unsigned char *)p;
	HARD_FOR_EACH_OFFSET(size, off, hard_put(b, off, size, seed));
}

/* The first offset that lost the pattern, or -1. */
static inline long hard_check(const void *p, size_t size, uint64_t seed)
{
	const unsigned char *b = (const unsigned char *)p;
	long bad = -1;
	HARD_FOR_EACH_OFFSET(size, off, if (bad < 0 && !hard_get_ok(b, off, size, seed)) bad = (long)off);
	return bad;
}

/* The first sampled offset that is not zero (calloc), or -1. */
static inline long hard_check_zero(const void *p, size_t size)
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

/* ---- Configurations: the driver runs the worker once per AMLSHIM_*
 * environment, each in a child with a wall-clock limit. ---- */

struct hard_config {
	const char *name;
	const char *env[8]; /* NULL-terminated */
};

/* Runs "argv[0] worker INDEX [extra]" for config i under the shim; fails
 * the test on a non-zero status or a hang. */
static inline void hard_run_config(char **argv, const struct hard_config *configs, int i, int timeout_s)
{
	char index[16];
	snprintf(index, sizeof(index), "%d", i);
	char *args[] = {argv[0], (char *)"worker", index, NULL};
	double start = shim_test_now();
	int status = shim_test_spawn(args, configs[i].env, timeout_s, NULL);
	printf("%-44s status %d after %.1f s\n", configs[i].name, status, shim_test_now() - start);
	fflush(stdout);
	CHECK(status != -1, "%s: the worker did not finish in %d s (deadlock?) and was killed", configs[i].name,
	      timeout_s);
	CHECK(status == 0, "%s: the worker failed with status %d", configs[i].name, status);
}

/* In a worker: under the shim with config i's environment (re-executes). */
static inline int hard_worker_start(char **argv, const struct hard_config *configs, int count)
{
	int i = atoi(argv[2]);
	CHECK(i >= 0 && i < count, "config %d", i);
	shim_test_start(argv, configs[i].env);
	return i;
}

/* The first node this process may use, as text (for bind:/preferred:). */
static inline const char *hard_first_node_text(void)
{
	static char text[16];
	snprintf(text, sizeof(text), "%d", shim_test_first_node());
	return text;
}

#endif
