/* Block-interleave area: 1, 2 and 512 pages per block over all allowed
 * nodes and over each single node. For every allocation: what is resident
 * right after mmap (everything on the eager path, nothing but a partial
 * last block on the lazy ones), then, once every page is written, each page
 * on the node of its block (nodes[block % n]), content, the kernel policy
 * left on the range, the thread's own policy untouched, O(1) new VMAs,
 * errno kept. Then a partial last block, two threads at once, which
 * placement each kind of area uses, fprintf and error paths. */
#include <errno.h>
#include <numaif.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <aml.h>
#include <aml/area/block.h>
#include "areas.h"
#include "check.h"

#define MAX_NODES 64
#define MASK_WORDS (1024 / (8 * sizeof(unsigned long)))
#define MAXNODE 1025UL
#define THP_SIZE (2UL << 20)
#ifndef MPOL_F_STATIC_NODES /* numaif.h lacks it; linux/mempolicy.h clashes */
#define MPOL_F_STATIC_NODES (1 << 15)
#endif

static int nodes[MAX_NODES];
static int num_nodes;

struct policy {
	int mode;
	unsigned long mask[MASK_WORDS];
};

/* The calling thread's policy (addr NULL), or the policy of the range at addr. */
static struct policy get_policy(const void *addr)
{
	struct policy p;
	memset(&p, 0, sizeof(p));
	long ret = syscall(SYS_get_mempolicy, &p.mode, p.mask, MAXNODE, addr, addr ? MPOL_F_ADDR : 0UL);
	CHECK(ret == 0, "get_mempolicy: %s", strerror(errno));
	return p;
}

static int same_policy(struct policy a, struct policy b)
{
	return a.mode == b.mode && memcmp(a.mask, b.mask, sizeof(a.mask)) == 0;
}

/* Bounds of the VMA holding addr and whether it carries MADV_NOHUGEPAGE
 * ("nh" in VmFlags), from /proc/self/smaps. */
static void vma_of(const void *addr, uintptr_t *start, uintptr_t *end, int *nohuge)
{
	FILE *smaps = fopen("/proc/self/smaps", "r");
	CHECK(smaps != NULL, "open /proc/self/smaps");
	char line[512];
	int found = 0;
	*nohuge = 0;
	while (fgets(line, sizeof(line), smaps)) {
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) { /* a VMA's first line */
			if (found)
				break; /* the next VMA: ours is done */
			if (lo <= (uintptr_t)addr && (uintptr_t)addr < hi) {
				*start = lo;
				*end = hi;
				found = 1;
			}
		} else if (found && strncmp(line, "VmFlags:", 8) == 0) {
			*nohuge = strstr(line, " nh") != NULL;
		}
	}
	fclose(smaps);
	CHECK(found, "no VMA holds %p", addr);
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* One allocation of size bytes from area, whose blocks of pages_per_block
 * pages must rotate over order[0..count), checked in full. */
static void check_placed(struct aml_area *area, size_t pages_per_block, const int *order, int count, size_t size)
{
	const size_t page = test_page_size(), block = pages_per_block * page;
	const size_t pages = (size + page - 1) / page;
	struct policy thread_before = get_policy(NULL);
	int vmas_before = test_vma_count();
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	errno = 4242;
	unsigned char *buf = aml_area_mmap(area, size, NULL);
	double took = seconds_since(&t0);
	CHECK(buf != NULL, "mmap %zu bytes, %zu pages/block: %s", size, pages_per_block, aml_strerror(aml_errno));
	CHECK_EQ(errno, 4242);
	int vmas_after = test_vma_count();
	CHECK(vmas_after - vmas_before <= 4, "%zu pages/block: %d VMAs before, %d after",
	      pages_per_block, vmas_before, vmas_after);
	CHECK(same_policy(get_policy(NULL), thread_before),
	      "thread policy changed by mmap (mode %d -> %d)", thread_before.mode, get_policy(NULL).mode);

	/* Eager: all of it resident now. Lazy: nothing, but a partial last
	 * block of the huge-page path (populated: no huge page fits there). */
	int placement = aml_area_block_placement(area);
	CHECK(placement >= 0, "placement: %s", aml_strerror(-placement));
	size_t resident = test_resident_pages(buf, size), want_resident = pages;
	if (placement == AML_AREA_BLOCK_LAZY_ONE_NODE)
		want_resident = 0;
	else if (placement == AML_AREA_BLOCK_LAZY_HUGE)
		want_resident = size % block ? pages - (size - size % block) / page : 0;
	CHECK(resident == want_resident, "%zu pages/block, placement %d: %zu of %zu pages resident after mmap, want %zu",
	      pages_per_block, placement, resident, pages, want_resident);

	/* Content: a byte in every 64 (every cache line of every page; cheap
	 * enough for the emulated test VM) and every byte of the last page.
	 * Written first: the lazy paths place pages when they are touched. */
	const size_t tail_start = (pages - 1) * page;
	for (size_t i = 0; i < size; i += i < tail_start ? 64 : 1)
		buf[i] = (unsigned char)(i * 13 + 7);

	/* Every page on the node of its block; block 0 on the first node. */
	int *where = calloc(pages, sizeof(int));
	CHECK(where != NULL, "calloc");
	CHECK_EQ(test_pages_nodes(buf, size, where), 0);
	for (size_t p = 0; p < pages; p++) {
		int want = order[(p / pages_per_block) % (size_t)count];
		CHECK(where[p] == want, "%zu pages/block over %d node(s): page %zu (block %zu) on node %d, want %d",
		      pages_per_block, count, p, p / pages_per_block, where[p], want);
	}
	free(where);

	/* The range carries interleave over exactly the set, everywhere. */
	struct policy want_range = {.mode = MPOL_INTERLEAVE};
	for (int i = 0; i < count; i++)
		want_range.mask[order[i] / (8 * sizeof(unsigned long))] |= 1UL << (order[i] % (8 * sizeof(unsigned long)));
	const size_t probes[] = {0, pages / 2, pages - 1};
	for (size_t i = 0; i < 3; i++) {
		struct policy got = get_policy(buf + probes[i] * page);
		CHECK(same_policy(got, want_range), "page %zu: range policy %d mask %#lx, want interleave %#lx",
		      probes[i], got.mode, got.mask[0], want_range.mask[0]);
	}

	/* Not split: one VMA holds the whole allocation; no THP across blocks. */
	uintptr_t lo = 0, hi = 0;
	int nohuge;
	vma_of(buf, &lo, &hi, &nohuge);
	CHECK(lo <= (uintptr_t)buf && hi >= (uintptr_t)buf + pages * page,
	      "allocation %p+%zu split: its first VMA is %#lx-%#lx", (void *)buf, pages * page, lo, hi);
	if (block % THP_SIZE != 0)
		CHECK(nohuge, "%zu-byte blocks without MADV_NOHUGEPAGE", block);
	else
		CHECK((uintptr_t)buf % THP_SIZE == 0, "THP-sized blocks at %p, not THP aligned", (void *)buf);

	for (size_t i = 0; i < size; i += i < tail_start ? 64 : 1)
		CHECK(buf[i] == (unsigned char)(i * 13 + 7), "content at %zu", i);

	CHECK_EQ(aml_area_munmap(area, buf, size), AML_SUCCESS);
	printf("%4zu page(s)/block, rotation of %d, %9zu bytes: %.1f ms, +%d VMAs, %zu pages resident after mmap (%s)\n",
	       pages_per_block, count, size, took * 1e3, vmas_after - vmas_before, resident,
	       placement == AML_AREA_BLOCK_EAGER ? "eager" : "lazy");
}

/* The same from a new area over set (NULL: all allowed nodes, nodes[]). */
static void check_allocation(size_t pages_per_block, const int *set, int count, size_t size)
{
	struct bitmask *mask = set ? test_mask_of(set, count) : NULL;
	struct aml_area *area = NULL;
	CHECK_EQ(aml_area_block_create(&area, pages_per_block * test_page_size(), mask), AML_SUCCESS);
	CHECK(area != NULL, "create set no area");
	check_placed(area, pages_per_block, set ? set : nodes, count, size);
	aml_area_block_destroy(&area);
	CHECK(area == NULL, "destroy must clear the pointer");
	if (mask)
		numa_bitmask_free(mask);
}

/* White box: a rotation that repeats nodes and is not in increasing order
 * (last, first, last). It runs the per-block placement loop even on a
 * one-node machine, where a real area places everything in one call. */
static void check_rotation_loop(size_t pages_per_block, size_t size)
{
	const int order[3] = {nodes[num_nodes - 1], nodes[0], nodes[num_nodes - 1]};
	struct bitmask *mask = test_mask_of(order, 3);
	struct aml_area *area;
	CHECK_EQ(aml_area_block_create(&area, pages_per_block * test_page_size(), mask), AML_SUCCESS);
	struct aml_area_block_data *data = (struct aml_area_block_data *)area->data;
	data->num_nodes = 3;
	memcpy(data->nodes, order, sizeof(order));
	check_placed(area, pages_per_block, order, 3, size);
	aml_area_block_destroy(&area);
	numa_bitmask_free(mask);
}

/* The 64 MiB case and a size ending in a partial block. */
static void check_block_size(size_t pages_per_block, const int *set, int count)
{
	const size_t page = test_page_size(), block = pages_per_block * page;
	check_allocation(pages_per_block, set, count, 64UL << 20);
	/* 2n+1 whole blocks (two rounds and one more), then a partial one: on
	 * one-page blocks it is a partial page. */
	size_t tail = block >= 2 * page ? block / 2 : 100;
	check_allocation(pages_per_block, set, count, (size_t)(2 * count + 1) * block + tail);
}

/* The thread asked for BIND to one node: the area still places its blocks,
 * and gives the thread its policy back, mode flags included. */
static void check_thread_policy_kept(void)
{
	int last = nodes[num_nodes - 1];
	unsigned long mask[MASK_WORDS] = {0};
	mask[last / (8 * sizeof(unsigned long))] = 1UL << (last % (8 * sizeof(unsigned long)));
	CHECK(syscall(SYS_set_mempolicy, MPOL_BIND | MPOL_F_STATIC_NODES, mask, MAXNODE) == 0,
	      "set_mempolicy: %s", strerror(errno));
	struct policy before = get_policy(NULL);
	CHECK(before.mode == (MPOL_BIND | MPOL_F_STATIC_NODES), "kernel reports mode %#x", before.mode);
	check_allocation(2, NULL, num_nodes, 8UL << 20); /* checks the policy is unchanged */
	CHECK(syscall(SYS_set_mempolicy, MPOL_DEFAULT, NULL, 0UL) == 0, "reset policy");
}

struct thread_job {
	size_t pages_per_block;
	int failed_page; /* -1: all pages where expected */
};

static void *thread_alloc(void *arg)
{
	struct thread_job *job = arg;
	const size_t page = test_page_size(), size = 16UL << 20, pages = size / page;
	struct aml_area *area;
	job->failed_page = 0;
	if (aml_area_block_create(&area, job->pages_per_block * page, NULL) != AML_SUCCESS)
		return NULL;
	for (int round = 0; round < 8; round++) {
		char *buf = aml_area_mmap(area, size, NULL);
		int *where = calloc(pages, sizeof(int));
		if (buf)
			test_touch(buf, size); /* the lazy paths place at first touch */
		if (!buf || !where || test_pages_nodes(buf, size, where) != 0)
			return NULL;
		for (size_t p = 0; p < pages; p++)
			if (where[p] != nodes[(p / job->pages_per_block) % (size_t)num_nodes]) {
				job->failed_page = (int)p + 1;
				return NULL;
			}
		free(where);
		aml_area_munmap(area, buf, size);
	}
	aml_area_block_destroy(&area);
	job->failed_page = -1;
	return NULL;
}

/* Two threads placing blocks at once: each one's thread policy is its own. */
static void check_two_threads(void)
{
	struct thread_job jobs[2] = {{.pages_per_block = 1}, {.pages_per_block = 3}};
	pthread_t threads[2];
	for (int i = 0; i < 2; i++)
		CHECK_EQ(pthread_create(&threads[i], NULL, thread_alloc, &jobs[i]), 0);
	for (int i = 0; i < 2; i++) {
		pthread_join(threads[i], NULL);
		CHECK(jobs[i].failed_page == -1, "thread %d (%zu pages/block): failed at page %d (0: mmap or query)",
		      i, jobs[i].pages_per_block, jobs[i].failed_page - 1);
	}
}

static void check_fprintf(void)
{
	struct aml_area *area;
	CHECK_EQ(aml_area_block_create(&area, 2 * test_page_size(), NULL), AML_SUCCESS);
	/* The expected node list, "0-3,6" style, from the allowed nodes. */
	char want[512], list[256] = "";
	size_t used = 0;
	for (int i = 0; i < num_nodes; i++) {
		int j = i;
		while (j + 1 < num_nodes && nodes[j + 1] == nodes[j] + 1)
			j++;
		used += (size_t)(j > i ? snprintf(list + used, sizeof(list) - used, "%s%d-%d", used ? "," : "", nodes[i], nodes[j])
		                       : snprintf(list + used, sizeof(list) - used, "%s%d", used ? "," : "", nodes[i]));
		i = j;
	}
	snprintf(want, sizeof(want), "> area-block: block size %zu, nodes %s, placement: %s\n", 2 * test_page_size(),
	         list, num_nodes == 1 ? "lazy (one node)" : "eager (populated)");
	char *text = test_area_text(area, "> ");
	CHECK(strcmp(text, want) == 0, "fprintf gave \"%s\", want \"%s\"", text, want);
	printf("%s", text);
	free(text);
	aml_area_block_destroy(&area);
}

static int placement_for(size_t block, const int *set, int count)
{
	struct bitmask *mask = set ? test_mask_of(set, count) : NULL;
	struct aml_area *area;
	CHECK_EQ(aml_area_block_create(&area, block, mask), AML_SUCCESS);
	int placement = aml_area_block_placement(area);
	aml_area_block_destroy(&area);
	if (mask)
		numa_bitmask_free(mask);
	return placement;
}

/* Lazy where one kernel policy gives the pattern (one node; one huge page
 * per block with THP), eager elsewhere; the description says which. */
static void check_placement_kinds(void)
{
	const size_t page = test_page_size();
	for (int i = 0; i < num_nodes; i++)
		for (size_t pages = 1; pages <= 1024; pages *= 2)
			CHECK_EQ(placement_for(pages * page, &nodes[i], 1), AML_AREA_BLOCK_LAZY_ONE_NODE);
	if (num_nodes >= 2) {
		CHECK_EQ(placement_for(page, NULL, num_nodes), AML_AREA_BLOCK_EAGER);
		CHECK_EQ(placement_for(THP_SIZE / 2, NULL, num_nodes), AML_AREA_BLOCK_EAGER);
		CHECK_EQ(placement_for(2 * THP_SIZE, NULL, num_nodes), AML_AREA_BLOCK_EAGER);
		CHECK_EQ(placement_for(THP_SIZE, NULL, num_nodes),
		         test_thp_usable() ? AML_AREA_BLOCK_LAZY_HUGE : AML_AREA_BLOCK_EAGER);
	}
	/* A process that turned THP off: huge-page blocks are populated. */
	if (num_nodes >= 2 && prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) == 0) {
		CHECK_EQ(placement_for(THP_SIZE, NULL, num_nodes), AML_AREA_BLOCK_EAGER);
		check_allocation(THP_SIZE / page, NULL, num_nodes, 3 * num_nodes * THP_SIZE);
		CHECK(prctl(PR_SET_THP_DISABLE, 0, 0, 0, 0) == 0, "prctl");
	}
	CHECK_EQ(aml_area_block_placement(NULL), -AML_EINVAL);
	CHECK_EQ(aml_area_block_placement(&aml_area_linux), -AML_EINVAL);
	printf("placement kinds checked (THP %s)\n", test_thp_usable() ? "enabled" : "not enabled");
}

static void check_errors(void)
{
	const size_t page = test_page_size();
	struct aml_area *area = (struct aml_area *)&area; /* must be cleared */
	CHECK_EQ(aml_area_block_create(NULL, page, NULL), -AML_EINVAL);
	CHECK_EQ(aml_area_block_create(&area, 0, NULL), -AML_EINVAL);
	CHECK(area == NULL, "failed create leaves NULL");
	CHECK_EQ(aml_errno, AML_EINVAL);
	CHECK_EQ(aml_area_block_create(&area, page + 1, NULL), -AML_EINVAL);
	CHECK_EQ(aml_area_block_create(&area, page / 2, NULL), -AML_EINVAL);
	CHECK_EQ(aml_area_block_create(&area, 3 * page + 512, NULL), -AML_EINVAL);
	struct bitmask *empty = numa_allocate_nodemask();
	CHECK_EQ(aml_area_block_create(&area, page, empty), -AML_EINVAL);
	numa_bitmask_free(empty);
	int absent = nodes[num_nodes - 1] + 1; /* a node this process may not use */
	struct bitmask *bad = test_mask_of(&absent, 1);
	aml_errno = 0;
	CHECK_EQ(aml_area_block_create(&area, page, bad), -AML_EDOM);
	CHECK_EQ(aml_errno, AML_EDOM);
	CHECK(area == NULL, "failed create leaves NULL");
	numa_bitmask_free(bad);

	CHECK_EQ(aml_area_block_create(&area, page, NULL), AML_SUCCESS);
	aml_errno = 0;
	CHECK(aml_area_mmap(area, 0, NULL) == NULL, "size 0 must fail");
	CHECK_EQ(aml_errno, AML_EINVAL);
	aml_errno = 0;
	CHECK(area->ops->mmap(area->data, 0, NULL) == NULL, "the op itself refuses size 0");
	CHECK_EQ(aml_errno, AML_EINVAL);
	/* Larger than the address space: fails cleanly, errno kept. */
	errno = 4242;
	CHECK(aml_area_mmap(area, SIZE_MAX - page, NULL) == NULL, "huge size must fail");
	CHECK_EQ(aml_errno, AML_ENOMEM);
	CHECK_EQ(errno, 4242);
	aml_area_block_destroy(&area);
	aml_area_block_destroy(&area); /* already NULL */
	aml_area_block_destroy(NULL);
}

int main(void)
{
	num_nodes = test_numa_nodes(nodes, MAX_NODES);
	printf("%d allowed node(s)\n", num_nodes);

	const size_t pages_per_block[] = {1, 2, 512};
	for (size_t b = 0; b < 3; b++) {
		check_block_size(pages_per_block[b], NULL, num_nodes);
		check_block_size(pages_per_block[b], nodes, num_nodes);
		for (int i = 0; i < num_nodes; i++)
			check_block_size(pages_per_block[b], &nodes[i], 1);
	}
	/* Every odd-position node: a strict subset when there are 2+ nodes. */
	if (num_nodes >= 2) {
		int subset[MAX_NODES], n = 0;
		for (int i = 1; i < num_nodes; i += 2)
			subset[n++] = nodes[i];
		check_block_size(2, subset, n);
	}
	for (size_t b = 0; b < 3; b++) {
		const size_t block = pages_per_block[b] * test_page_size();
		check_rotation_loop(pages_per_block[b], 16UL << 20);
		check_rotation_loop(pages_per_block[b], 7 * block + (block >= 2 * test_page_size() ? block / 2 : 100));
	}
	check_thread_policy_kept();
	check_two_threads();
	check_placement_kinds();
	check_fprintf();
	check_errors();
	printf("block area: %d node(s) checked\n", num_nodes);
	return 0;
}
