/* A successful call leaves errno as it was, also when the shim's own
 * bookkeeping fails behind it. Under interleave, a seccomp filter makes
 * move_pages(2) fail with EPERM (as a container profile may; the peak
 * sampling of the report calls it at large mallocs and frees) and
 * madvise(MADV_FREE) fail with EINVAL (as before Linux 4.5; the pool
 * advises freed blocks past its resident allowance). A growing set of large
 * blocks, then freeing them all, must never change errno. */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/mman.h>

#include "shim_test.h"

#define MiB ((size_t)1 << 20)
#define BLOCKS 40
#define SENTINEL 4242

static const char *const env[] = {"AMLSHIM_POLICY=interleave", "AMLSHIM_THRESHOLD=64K", NULL};

static void refuse_bookkeeping_calls(void)
{
	const struct sock_filter rules[] = {
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_move_pages, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_madvise, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, MADV_FREE, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EINVAL & SECCOMP_RET_DATA)),
	};
	test_seccomp(rules, sizeof(rules) / sizeof(rules[0]));
}

int main(int argc, char **argv)
{
	(void)argc;
	shim_test_start(argv, env);
	refuse_bookkeeping_calls();
	static char *blocks[BLOCKS];
	for (int i = 0; i < BLOCKS; i++) {
		size_t size = MiB + (size_t)i * 128 * 1024;
		errno = SENTINEL;
		blocks[i] = malloc(size);
		CHECK(blocks[i] != NULL, "malloc(%zu) failed", size);
		EXPECT(errno == SENTINEL, "malloc(%zu) succeeded but errno is %d (%s)", size, errno, strerror(errno));
		memset(blocks[i], i, size);
	}
	for (int i = BLOCKS - 1; i >= 0; i--) { /* the largest first: past the resident allowance soon */
		errno = SENTINEL;
		free(blocks[i]);
		EXPECT(errno == SENTINEL, "free of block %d changed errno to %d (%s)", i, errno, strerror(errno));
	}
	struct shim_rule_stats rule = shim_test_rule(64 * 1024);
	EXPECT(rule.count >= BLOCKS, "the interleave rule served %ld allocations, expected %d", rule.count, BLOCKS);
	return shim_test_expect_summary("errno_kept");
}
