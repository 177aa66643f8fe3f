/* Helpers for the stress and hostile-environment tests under the shim
 * (tests/hardening/NAME.c): durations, configurations run one after the
 * other in child processes, sampled content patterns cheap enough for
 * blocks of tens of MiB, and what /proc says about the process. */
#ifndef AML_TESTS_STRESS_H
#define AML_TESTS_STRESS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* STRESS_SECONDS (make check-stress passes it) or the test's default. */
double hard_seconds(double fallback);
/* A /proc/self/status field in KiB ("VmRSS", "VmHWM"), or -1. */
long hard_status_kib(const char *field);
long hard_rss_kib(void);
/* Memory the process holds that the kernel cannot take back without
 * asking: RSS less LazyFree (MADV_FREE), from /proc/self/smaps_rollup
 * (Linux 4.14+), else VmRSS. KiB. */
long hard_held_kib(void);
/* vm.max_map_count (65530 when it cannot be read). */
long hard_max_map_count(void);

/* Sampled patterns: the first and last 64 bytes and one word per 4 KiB
 * page, all derived from a seed. Enough to see a block handed out twice,
 * unmapped, moved without its content, or overwritten. */
void hard_fill(void *p, size_t size, uint64_t seed);
/* Whether the sampled word at offset holds the pattern. */
int hard_get_ok(const unsigned char *p, size_t offset, size_t size, uint64_t seed);
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

/* The first offset that lost the pattern, or -1. */
long hard_check(const void *p, size_t size, uint64_t seed);
/* The first sampled offset that is not zero (calloc), or -1. */
long hard_check_zero(const void *p, size_t size);

/* Configurations: the driver runs the worker once per AMLSHIM_*
 * environment, each in a child with a wall-clock limit. */
struct hard_config {
	const char *name;
	const char *env[8]; /* NULL-terminated */
};

/* Runs "argv[0] worker INDEX" for config i under the shim; fails the test
 * on a non-zero status or a hang. */
void hard_run_config(char **argv, const struct hard_config *configs, int i, int timeout_s);
/* Runs every config in turn (hard_run_config). */
void hard_run_configs(char **argv, const struct hard_config *configs, int count, int timeout_s);
/* In a worker (arguments "worker INDEX"): under the shim with config
 * INDEX's environment (re-executes), returns INDEX. -1 in the driver. */
int hard_worker(int argc, char **argv, const struct hard_config *configs, int count);
/* "AMLSHIM_RULES=" with a rule for every path into buf: local below 4K,
 * interleave to 64K, bind to the first node to 1M, then `large` (the
 * rules from 1M on, "1M-=interleave"). */
void hard_rules(char *buf, size_t len, const char *large);
/* The first node this process may use, as text (for bind:/preferred:). */
const char *hard_first_node_text(void);

#ifdef __cplusplus
}
#endif

#endif
