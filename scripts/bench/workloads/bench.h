/* Shared helpers of the benchmark workloads: named parameters, a monotonic
 * clock, a small random generator, and the one result line the runner
 * reads ("BENCH time_s=... key=value ..."). Workloads use only malloc,
 * calloc, realloc, free and posix_memalign, so every allocator compared
 * (memkind's memtier included) can serve them. */
#ifndef BENCH_H
#define BENCH_H

#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* key=value arguments; a key not given keeps its default. */
static inline long bench_arg(int argc, char **argv, const char *key, long fallback)
{
	size_t n = strlen(key);
	for (int i = 1; i < argc; i++) {
		if (strncmp(argv[i], key, n) == 0 && argv[i][n] == '=') {
			char *end;
			long value = strtol(argv[i] + n + 1, &end, 0);
			switch (*end) {
			case 'k': case 'K': value <<= 10; break;
			case 'm': case 'M': value <<= 20; break;
			case 'g': case 'G': value <<= 30; break;
			default: break;
			}
			return value;
		}
	}
	return fallback;
}

static inline const char *bench_arg_str(int argc, char **argv, const char *key, const char *fallback)
{
	size_t n = strlen(key);
	for (int i = 1; i < argc; i++)
		if (strncmp(argv[i], key, n) == 0 && argv[i][n] == '=')
			return argv[i] + n + 1;
	return fallback;
}

static inline double bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* xorshift64*: fast, and the same sequence under every allocator. */
struct bench_rng {
	uint64_t state;
};

static inline void bench_rng_seed(struct bench_rng *rng, uint64_t seed)
{
	rng->state = seed * 0x9E3779B97F4A7C15ULL + 0x2545F4914F6CDD1DULL;
	if (!rng->state)
		rng->state = 1;
}

static inline uint64_t bench_rng_next(struct bench_rng *rng)
{
	uint64_t x = rng->state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng->state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* Uniform in [lo, hi]. */
static inline size_t bench_rng_range(struct bench_rng *rng, size_t lo, size_t hi)
{
	return lo + (size_t)(bench_rng_next(rng) % (hi - lo + 1));
}

static inline void bench_die(const char *what)
{
	fprintf(stderr, "bench: %s\n", what);
	exit(1);
}

/* malloc and calloc that end the run when they fail. */
static inline void *bench_malloc(size_t size)
{
	void *p = malloc(size);
	if (!p)
		bench_die("malloc failed");
	return p;
}

static inline void *bench_calloc(size_t count, size_t size)
{
	void *p = calloc(count, size);
	if (!p)
		bench_die("out of memory");
	return p;
}

/* A burst of temporaries, as a parser's or a request's: n objects of
 * pick's sizes, each written, then freed in reverse (LIFO). Returns the sum
 * of the bytes written, for the checksum. */
static inline unsigned long long bench_lifo_burst(char **temps, long n, struct bench_rng *rng,
                                                  size_t (*pick)(struct bench_rng *))
{
	unsigned long long sum = 0;
	for (long b = 0; b < n; b++) {
		temps[b] = bench_malloc(pick(rng));
		temps[b][0] = (char)b;
	}
	for (long b = n - 1; b >= 0; b--) {
		sum += (unsigned char)temps[b][0];
		free(temps[b]);
	}
	return sum;
}

/* Frees every object of a table, then the table. */
static inline void bench_free_all(char **objects, long n)
{
	for (long i = 0; i < n; i++)
		free(objects[i]);
	free(objects);
}

/* Lines of /proc/self/maps: the process's VMAs. */
static inline long bench_vma_count(void)
{
	FILE *maps = fopen("/proc/self/maps", "r");
	if (!maps)
		return -1;
	long lines = 0;
	int c;
	while ((c = getc(maps)) != EOF)
		lines += c == '\n';
	fclose(maps);
	return lines;
}

/* This process's peak RSS in KiB (VmHWM: this program's own pages only;
 * getrusage would also count what the process that forked it had). */
static inline long bench_peak_rss_kib(void)
{
	FILE *status = fopen("/proc/self/status", "r");
	if (!status)
		return -1;
	char line[256];
	long kib = -1;
	while (fgets(line, sizeof(line), status))
		if (sscanf(line, "VmHWM: %ld", &kib) == 1)
			break;
	fclose(status);
	return kib;
}

/* The line the runner parses; extra is "" or " key=value ...". A workload
 * that gives no rss_kib gets its own peak RSS reported. */
static inline void bench_report(double seconds, unsigned long long checksum, const char *extra)
{
	extra = extra ? extra : "";
	if (strstr(extra, "rss_kib="))
		printf("BENCH time_s=%.6f check=%llu%s\n", seconds, checksum, extra);
	else
		printf("BENCH time_s=%.6f check=%llu%s rss_kib=%ld\n", seconds, checksum, extra, bench_peak_rss_kib());
	fflush(stdout);
}

/* bench_report with the operations done as the extra " ops=N". */
static inline void bench_report_ops(double seconds, unsigned long long checksum, long ops)
{
	char extra[64];
	snprintf(extra, sizeof(extra), " ops=%ld", ops);
	bench_report(seconds, checksum, extra);
}

#endif
