/* One big allocation, every page written: the cost of placing it and the
 * kernel VMAs it adds. Modes:
 *   touch     mmap + write one byte per page: the floor
 *   populate  mmap + MADV_POPULATE_WRITE: the kernel's own faster floor
 *   malloc    malloc + write every page (run under the allocator measured,
 *             e.g. the shim with AMLSHIM_POLICY=block-interleave:2M)
 *   area      libaml's block-interleave area directly (block=2M, all nodes)
 *   weighted  libaml's weighted-interleave area by page over the allowed
 *             nodes, weights 3, 1, 3, 1, ...; user=1 places in user space
 *             even where the kernel's MPOL_WEIGHTED_INTERLEAVE could
 *   mode=touch size=4G block=2M
 * Prints time_s (allocation + every page written), alloc_s (allocation
 * alone) and vmas (VMAs added, from /proc/self/maps). */
#include <sys/mman.h>
#include <unistd.h>

#include <aml.h>
#include <aml/area/block.h>
#include <aml/area/weighted.h>
#include "bench.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

int main(int argc, char **argv)
{
	const char *mode = bench_arg_str(argc, argv, "mode", "touch");
	size_t size = (size_t)bench_arg(argc, argv, "size", 4L << 30);
	size_t block = (size_t)bench_arg(argc, argv, "block", 2L << 20);
	const size_t page = (size_t)sysconf(_SC_PAGESIZE);
	struct aml_area *area = NULL;
	if (strcmp(mode, "area") == 0 && aml_area_block_create(&area, block, NULL) != AML_SUCCESS)
		bench_die("aml_area_block_create failed");
	if (strcmp(mode, "weighted") == 0) {
		int nodes[AML_AREA_WEIGHTED_MAX_NODES], count = 0;
		unsigned weights[AML_AREA_WEIGHTED_MAX_NODES];
		struct bitmask *allowed = numa_get_mems_allowed();
		for (int n = 0; allowed && n < (int)allowed->size && count < AML_AREA_WEIGHTED_MAX_NODES; n++)
			if (numa_bitmask_isbitset(allowed, (unsigned)n)) {
				weights[count] = count % 2 ? 1 : 3;
				nodes[count++] = n;
			}
		unsigned flags = bench_arg(argc, argv, "user", 0) ? AML_AREA_WEIGHTED_FLAG_USER : 0;
		if (aml_area_weighted_create(&area, nodes, weights, count, 0, "bench", flags) != AML_SUCCESS)
			bench_die("aml_area_weighted_create failed");
		aml_area_fprintf(stderr, "", area);
	}

	long vmas_before = bench_vma_count();
	double start = bench_now();
	char *ptr;
	if (strcmp(mode, "touch") == 0 || strcmp(mode, "populate") == 0) {
		ptr = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (ptr == MAP_FAILED)
			bench_die("mmap failed");
		if (mode[0] == 'p' && madvise(ptr, size, MADV_POPULATE_WRITE) != 0)
			bench_die("MADV_POPULATE_WRITE failed");
	} else if (strcmp(mode, "malloc") == 0) {
		ptr = malloc(size);
	} else if (strcmp(mode, "area") == 0 || strcmp(mode, "weighted") == 0) {
		ptr = aml_area_mmap(area, size, NULL);
	} else {
		bench_die("unknown mode (touch, populate, malloc, area, weighted)");
	}
	if (!ptr)
		bench_die("allocation failed");
	double allocated = bench_now();
	for (size_t off = 0; off < size; off += page)
		ptr[off] = (char)(off >> 12);
	double elapsed = bench_now() - start;
	long vmas_after = bench_vma_count();
	unsigned long long sum = (unsigned char)ptr[size / 2];

	if (strcmp(mode, "malloc") == 0)
		free(ptr);
	else if (area)
		aml_area_munmap(area, ptr, size);
	else
		munmap(ptr, size);
	if (area && strcmp(mode, "weighted") == 0)
		aml_area_weighted_destroy(&area);
	else if (area)
		aml_area_block_destroy(&area);
	char extra[96];
	snprintf(extra, sizeof(extra), " alloc_s=%.6f vmas=%ld", allocated - start, vmas_after - vmas_before);
	bench_report(elapsed, sum, extra);
	return 0;
}
