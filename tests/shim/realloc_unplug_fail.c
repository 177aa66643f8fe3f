/* A piece of a region that cannot grow where it lies leaves its region by
 * mremap(MREMAP_DONTUNMAP), then grows. When the growth fails (a process at
 * vm.max_map_count, a seccomp profile), the piece's bytes must come back to
 * it, or the copy that follows copies zeros. Here a seccomp filter refuses
 * every mremap but MREMAP_DONTUNMAP's (the growth and any move to a fixed
 * address fail with ENOMEM): a realloc that grows a piece hemmed in by a
 * live neighbour must still keep every byte, and errno (the copy
 * succeeded). */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/mman.h>

#include "shim_test.h"

#define MiB ((size_t)1 << 20)

static const char *const env[] = {"AMLSHIM_POLICY=interleave", "AMLSHIM_THRESHOLD=64K", NULL};

static void refuse_growing_mremap(void)
{
	const struct sock_filter rules[] = {
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mremap, 0, 4),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[3])),
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 4 /* MREMAP_DONTUNMAP */, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOMEM & SECCOMP_RET_DATA)),
	};
	test_seccomp(rules, sizeof(rules) / sizeof(rules[0]));
}

int main(int argc, char **argv)
{
	(void)argc;
	shim_test_start(argv, env);
	refuse_growing_mremap();
	unsigned char *a = malloc(MiB), *b = malloc(MiB); /* b right above a: a cannot grow in place */
	CHECK(a && b, "malloc(1 MiB) failed");
	for (size_t i = 0; i < MiB; i++)
		a[i] = (unsigned char)(i * 7 + 1);
	memset(b, 0x5a, MiB);
	errno = 4242;
	unsigned char *grown = realloc(a, 4 * MiB);
	CHECK(grown != NULL, "realloc(1 MiB -> 4 MiB) failed: %s", strerror(errno));
	EXPECT(errno == 4242, "realloc succeeded but errno is %d (%s)", errno, strerror(errno));
	size_t bad = 0;
	for (size_t i = 0; i < MiB; i++)
		bad += grown[i] != (unsigned char)(i * 7 + 1);
	EXPECT(bad == 0, "%zu of the 1 MiB bytes lost when the piece could not grow outside its region", bad);
	bad = 0;
	for (size_t i = 0; i < MiB; i++)
		bad += b[i] != 0x5a;
	EXPECT(bad == 0, "the neighbour changed");
	free(grown);
	free(b);
	return shim_test_expect_summary("realloc_unplug_fail");
}
