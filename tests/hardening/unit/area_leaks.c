/* No leak of area memory: every area kind of libaml, created, used and
 * destroyed many times over, gives back exactly what it took, both the
 * mappings it made (counted in /proc/self/maps: neither leaked nor
 * unmapped twice) and its own heap memory (mallinfo2 in a plain build;
 * LeakSanitizer and valgrind check the same in make check-asan and
 * make check-valgrind). Error paths too: refused creates, size 0, huge
 * sizes, munmap of NULL.
 *
 * Areas: aml_area_linux and Linux areas of every policy, block-interleave
 * of several block sizes, weighted-interleave (kernel, user space, by
 * block), the static hwloc areas, hwloc nodeset areas,
 * the hwloc preferred and ranked areas (bandwidth, latency, capacity),
 * and the CUDA area where there is a device. */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <numa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <aml.h>
#include <aml/area/block.h>
#include <aml/area/weighted.h>
#include <aml/area/cuda.h>
#include <aml/area/hwloc.h>
#include <aml/area/linux.h>

#include "check.h"

#if defined(__SANITIZE_ADDRESS__)
#define HEAP_COUNTED 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HEAP_COUNTED 0
#endif
#endif
#ifndef HEAP_COUNTED
#define HEAP_COUNTED 1
#endif

#define ROUNDS 100

struct usage {
	long vmas;
	size_t mapped_kib;
	size_t heap;
};

static struct usage usage_now(void)
{
	struct usage u = {0, 0, 0};
	FILE *maps = fopen("/proc/self/maps", "r");
	CHECK(maps != NULL, "open /proc/self/maps");
	char line[512];
	unsigned long start, end;
	while (fgets(line, sizeof(line), maps)) {
		if (sscanf(line, "%lx-%lx", &start, &end) != 2)
			continue;
		u.vmas++;
		u.mapped_kib += (end - start) >> 10;
	}
	fclose(maps);
#if HEAP_COUNTED
	struct mallinfo2 info = mallinfo2();
	u.heap = info.uordblks;
#endif
	return u;
}

/* Valgrind's malloc does not fill mallinfo2: only compare when it counts. */
static int heap_counts;

/* Valgrind maps memory of its own into the process as it goes. */
static int under_valgrind;

static void check_same(const char *what, struct usage before, struct usage after)
{
	CHECK(under_valgrind || after.mapped_kib <= before.mapped_kib + 64,
	      "%s: mappings grew from %zu to %zu KiB over %d rounds", what, before.mapped_kib, after.mapped_kib,
	      ROUNDS);
	CHECK(after.vmas <= before.vmas + 2, "%s: VMAs grew from %ld to %ld over %d rounds", what, before.vmas,
	      after.vmas, ROUNDS);
	if (heap_counts)
		CHECK(after.heap <= before.heap + 1024, "%s: heap in use grew from %zu to %zu bytes over %d rounds",
		      what, before.heap, after.heap, ROUNDS);
}

/* Maps, touches, checks and unmaps a few sizes through an area. */
static void exercise(const struct aml_area *area, const char *what)
{
	static const size_t sizes[] = {1, 4095, 4096, 65536 + 3, (size_t)2 << 20, (size_t)5 << 20};
	void *ptrs[sizeof(sizes) / sizeof(sizes[0])];
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		ptrs[i] = aml_area_mmap(area, sizes[i], NULL);
		CHECK(ptrs[i] != NULL, "%s: mmap of %zu bytes: %s", what, sizes[i], aml_strerror(aml_errno));
		memset(ptrs[i], (int)i + 1, sizes[i]);
	}
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		const unsigned char *b = ptrs[i];
		CHECK(b[0] == i + 1 && b[sizes[i] - 1] == i + 1, "%s: content", what);
		CHECK(aml_area_munmap(area, ptrs[i], sizes[i]) == AML_SUCCESS, "%s: munmap", what);
	}
	/* Error paths must not leak either. */
	CHECK(aml_area_mmap(area, 0, NULL) == NULL, "%s: size 0", what);
	CHECK(aml_area_mmap(area, SIZE_MAX - 8192, NULL) == NULL, "%s: huge size", what);
	CHECK(aml_area_munmap(area, NULL, 4096) == AML_SUCCESS, "%s: munmap NULL", what);
	FILE *null = fopen("/dev/null", "w");
	CHECK(null != NULL, "/dev/null");
	aml_area_fprintf(null, "  ", area);
	fclose(null);
}

typedef int (*create_fn)(struct aml_area **area, int variant);
typedef void (*destroy_fn)(struct aml_area **area);

static int linux_create(struct aml_area **area, int variant)
{
	static const enum aml_area_linux_policy policies[] = {
		AML_AREA_LINUX_POLICY_DEFAULT, AML_AREA_LINUX_POLICY_BIND, AML_AREA_LINUX_POLICY_PREFERRED,
		AML_AREA_LINUX_POLICY_INTERLEAVE, AML_AREA_LINUX_POLICY_LOCAL,
	};
	struct bitmask *mask = variant % 2 ? numa_get_mems_allowed() : NULL;
	int ret = aml_area_linux_create(area, mask, policies[variant % 5]);
	if (mask)
		numa_bitmask_free(mask);
	return ret;
}

static int block_create(struct aml_area **area, int variant)
{
	static const size_t blocks[] = {4096, 8192, (size_t)2 << 20, (size_t)64 << 10};
	return aml_area_block_create(area, blocks[variant % 4], NULL);
}

/* Node 0 by page (the kernel's where it can), forced to user space, by block. */
static int weighted_create(struct aml_area **area, int variant)
{
	const int nodes[] = {0};
	const unsigned weights[] = {3};
	return aml_area_weighted_create(area, nodes, weights, 1, variant % 3 == 2 ? 8192 : 0, "leaks",
	                                variant % 3 == 1 ? AML_AREA_WEIGHTED_FLAG_USER : 0);
}

static int hwloc_nodeset_create(struct aml_area **area, int variant)
{
	hwloc_bitmap_t nodeset = hwloc_bitmap_dup(hwloc_topology_get_topology_nodeset(aml_topology));
	static const hwloc_membind_policy_t policies[] = {HWLOC_MEMBIND_BIND, HWLOC_MEMBIND_INTERLEAVE,
	                                                  HWLOC_MEMBIND_FIRSTTOUCH, HWLOC_MEMBIND_DEFAULT};
	int ret = aml_area_hwloc_create(area, nodeset, policies[variant % 4]);
	hwloc_bitmap_free(nodeset);
	return ret;
}

static int hwloc_ranked_create(struct aml_area **area, int variant)
{
	hwloc_obj_t initiator = hwloc_get_obj_by_type(aml_topology, HWLOC_OBJ_CORE, 0);
	if (variant % 4 == 3)
		return aml_area_hwloc_preferred_local_create(
			area, HWLOC_DISTANCES_KIND_FROM_OS | HWLOC_DISTANCES_KIND_MEANS_BANDWIDTH);
	if (variant % 4 == 2 && variant % 8 == 2)
		return aml_area_hwloc_preferred_create(
			area, initiator, HWLOC_DISTANCES_KIND_FROM_OS | HWLOC_DISTANCES_KIND_MEANS_LATENCY);
	static const enum aml_hwloc_rank ranks[] = {AML_HWLOC_RANK_BANDWIDTH, AML_HWLOC_RANK_LATENCY,
	                                            AML_HWLOC_RANK_CAPACITY};
	return aml_area_hwloc_ranked_create(area, initiator, ranks[variant % 3]);
}

static int cuda_create(struct aml_area **area, int variant)
{
	static const int flags[] = {AML_AREA_CUDA_FLAG_DEFAULT, AML_AREA_CUDA_FLAG_ALLOC_HOST,
	                            AML_AREA_CUDA_FLAG_ALLOC_UNIFIED, AML_AREA_CUDA_FLAG_ALLOC_MAPPED};
	return aml_area_cuda_create(area, 0, flags[variant % 4]);
}

static void cycle(const char *what, create_fn create, destroy_fn destroy, int exercise_it)
{
	/* Warm-up rounds first: lazily built state (topology, masks) and
	 * glibc's thread cache (counted as in use) settle; then measure. */
	for (int warm = 0; warm < 20; warm++) {
		struct aml_area *area = NULL;
		if (create(&area, warm) == AML_SUCCESS) {
			if (exercise_it)
				exercise(area, what);
			destroy(&area);
		}
	}
	struct usage before = usage_now();
	int created = 0;
	for (int round = 0; round < ROUNDS; round++) {
		struct aml_area *area = NULL;
		int ret = create(&area, round);
		if (ret != AML_SUCCESS) {
			CHECK(area == NULL, "%s: a failed create left an area", what);
			continue;
		}
		created++;
		if (exercise_it && round % 4 == 0)
			exercise(area, what);
		destroy(&area);
		CHECK(area == NULL, "%s: destroy left the pointer", what);
	}
	struct usage after = usage_now();
	check_same(what, before, after);
	printf("%-28s %2d of %d created and destroyed, maps %zu -> %zu KiB, VMAs %ld -> %ld\n", what, created,
	       ROUNDS, before.mapped_kib, after.mapped_kib, before.vmas, after.vmas);
}

static void static_areas(void)
{
	const struct aml_area *areas[] = {&aml_area_linux, &aml_area_hwloc_default, &aml_area_hwloc_interleave,
	                                  &aml_area_hwloc_firsttouch};
	const char *names[] = {"aml_area_linux", "aml_area_hwloc_default", "aml_area_hwloc_interleave",
	                       "aml_area_hwloc_firsttouch"};
	for (size_t a = 0; a < sizeof(areas) / sizeof(areas[0]); a++) {
		exercise(areas[a], names[a]);
		struct usage before = usage_now();
		for (int round = 0; round < ROUNDS / 4; round++)
			exercise(areas[a], names[a]);
		check_same(names[a], before, usage_now());
	}
}

/* Refused creates (bad arguments) leave nothing behind. */
static void refused(void)
{
	struct usage before = usage_now();
	for (int round = 0; round < ROUNDS; round++) {
		struct aml_area *area = (struct aml_area *)&area;
		CHECK(aml_area_block_create(&area, 4095, NULL) != AML_SUCCESS && area == NULL, "block 4095");
		area = (struct aml_area *)&area;
		CHECK(aml_area_block_create(&area, 0, NULL) != AML_SUCCESS && area == NULL, "block 0");
		struct bitmask *absent = numa_allocate_nodemask();
		numa_bitmask_setbit(absent, absent->size - 1);
		area = NULL;
		CHECK(aml_area_linux_create(&area, absent, AML_AREA_LINUX_POLICY_BIND) != AML_SUCCESS && !area,
		      "linux on an absent node");
		CHECK(aml_area_block_create(&area, 4096, absent) != AML_SUCCESS && !area, "block on an absent node");
		numa_bitmask_free(absent);
		hwloc_bitmap_t empty = hwloc_bitmap_alloc();
		CHECK(aml_area_hwloc_create(&area, empty, HWLOC_MEMBIND_BIND) != AML_SUCCESS && !area,
		      "hwloc on an empty nodeset");
		hwloc_bitmap_free(empty);
		aml_area_linux_destroy(NULL);
		aml_area_block_destroy(NULL);
		aml_area_hwloc_destroy(NULL);
		aml_area_hwloc_preferred_destroy(NULL);
	}
	check_same("refused creates", before, usage_now());
}

int main(int argc, char **argv)
{
	if (numa_available() < 0)
		test_skip_hardware("kernel without NUMA support");
	CHECK(aml_init(&argc, &argv) == AML_SUCCESS, "aml_init");
	CHECK(aml_topology != NULL, "no hwloc topology");
	const char *preload = getenv("LD_PRELOAD");
	under_valgrind = preload && strstr(preload, "vgpreload") != NULL;
	/* Does this malloc count (plain glibc) or not (valgrind, ASan)? */
	struct usage a = usage_now();
	void *probe = malloc(100000 - 8);
	/* Kept from being optimised away. */
	__asm__ volatile("" : : "g"(probe) : "memory");
	struct usage b = usage_now();
	free(probe);
	heap_counts = HEAP_COUNTED && b.heap >= a.heap + 100000 - 8 && b.heap < a.heap + 200000;

	static_areas();
	cycle("linux (every policy)", linux_create, aml_area_linux_destroy, 1);
	cycle("block-interleave", block_create, aml_area_block_destroy, 1);
	cycle("weighted-interleave", weighted_create, aml_area_weighted_destroy, 1);
	cycle("hwloc nodeset", hwloc_nodeset_create, aml_area_hwloc_destroy, 1);
	cycle("hwloc preferred/ranked", hwloc_ranked_create, aml_area_hwloc_preferred_destroy, 1);
	if (aml_support_backends(AML_BACKEND_CUDA))
		cycle("cuda", cuda_create, aml_area_cuda_destroy, 0);
	else
		printf("cuda: no device, not cycled\n");
	refused();
	CHECK(aml_finalize() == AML_SUCCESS, "aml_finalize");
	printf("heap counted: %s\n", heap_counts ? "yes (mallinfo2)" : "no (sanitizer or valgrind: they check at exit)");
	return 0;
}
