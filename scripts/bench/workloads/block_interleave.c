/* One big allocation, every page written: the cost of placing it and the
 * kernel VMAs it adds. Modes:
 *   touch     mmap + write one byte per page: the floor
 *   populate  mmap + MADV_POPULATE_WRITE: the kernel's own faster floor
 *   malloc    malloc + write every page (run under the allocator measured,
 *             e.g. the shim with AMLSHIM_POLICY=block-interleave:2M)
 *   area      libaml's block-interleave area directly (block=2M, all nodes)
 *   mode=touch size=4G block=2M
 * Prints time_s (allocation + every page written), alloc_s (allocation
 * alone) and vmas (VMAs added, from /proc/self/maps). */
#include <sys/mman.h>
#include <unistd.h>

#include <aml.h>
#include <aml/area/block.h>
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
	} else if (strcmp(mode, "area") == 0) {
		ptr = aml_area_mmap(area, size, NULL);
	} else {
		bench_die("unknown mode (touch, populate, malloc, area)");
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
	if (area)
		aml_area_block_destroy(&area);
	char extra[96];
	snprintf(extra, sizeof(extra), " alloc_s=%.6f vmas=%ld", allocated - start, vmas_after - vmas_before);
	bench_report(elapsed, sum, extra);
	return 0;
}
