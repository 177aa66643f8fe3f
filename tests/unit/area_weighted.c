/* Weighted-interleave area: the pattern function, weight reduction and
 * weights from bandwidth values; argument checks; then over the allowed
 * nodes (weights 1, 2, 3, ...), in user space and by whatever the kernel
 * offers: every page on the node the pattern gives (counted from the
 * allocation's first page), everything resident after a user-space mmap,
 * nothing after a kernel one, O(1) VMAs, the thread's policy and errno
 * untouched, fprintf naming the weights, their source and the mechanism. */
#include <errno.h>
#include <numaif.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <aml.h>
#include <aml/area/weighted.h>
#include "check.h"

#define MAX_NODES AML_AREA_WEIGHTED_MAX_NODES

static void check_pattern(void)
{
	const int two[] = {0, 3}, three[] = {0, 1, 2};
	const unsigned w31[] = {3, 1}, w121[] = {1, 2, 1};
	const int want31[] = {0, 0, 0, 3, 0, 0, 0, 3}, want121[] = {0, 1, 1, 2, 0, 1, 1, 2};
	for (size_t i = 0; i < 8; i++) {
		CHECK_EQ(aml_area_weighted_node_at(two, w31, 2, i), want31[i]);
		CHECK_EQ(aml_area_weighted_node_at(three, w121, 3, i), want121[i]);
	}
	CHECK_EQ(aml_area_weighted_node_at(two, w31, 2, (size_t)1 << 40), 0);
	CHECK_EQ(aml_area_weighted_node_at(two, w31, 2, ((size_t)1 << 40) + 3), 3);
	CHECK_EQ(aml_area_weighted_node_at(two, w31, 0, 0), -1);
	CHECK_EQ(aml_area_weighted_node_at(NULL, w31, 2, 0), -1);
}

static void check_reduce(void)
{
	unsigned w[] = {6, 2, 4};
	CHECK_EQ(aml_area_weighted_reduce(w, 3), 2);
	CHECK(w[0] == 3 && w[1] == 1 && w[2] == 2, "6:2:4 reduced to %u:%u:%u", w[0], w[1], w[2]);
	unsigned one[] = {7};
	CHECK_EQ(aml_area_weighted_reduce(one, 1), 7);
	CHECK_EQ(one[0], 1);
	unsigned zero[] = {0, 4};
	CHECK_EQ(aml_area_weighted_reduce(zero, 2), 0);
	CHECK(zero[1] == 4, "a weight of 0 must leave the others alone");

	/* The test VM's HMAT bandwidth from node 0: 100, 50, 400, 25 GiB/s. */
	const uint64_t bw[] = {100, 50, 400, 25};
	unsigned out[4];
	CHECK_EQ(aml_area_weighted_from_values(bw, 4, 16, out), AML_SUCCESS);
	CHECK(out[0] == 4 && out[1] == 2 && out[2] == 16 && out[3] == 1, "weights %u:%u:%u:%u", out[0], out[1],
	      out[2], out[3]);
	const uint64_t even[] = {300, 300}, far[] = {1000000, 1};
	CHECK_EQ(aml_area_weighted_from_values(even, 2, 16, out), AML_SUCCESS);
	CHECK(out[0] == 1 && out[1] == 1, "equal bandwidth: %u:%u", out[0], out[1]);
	CHECK_EQ(aml_area_weighted_from_values(far, 2, 16, out), AML_SUCCESS);
	CHECK(out[0] == 16 && out[1] == 1, "a tiny value still gets 1: %u:%u", out[0], out[1]);
	const uint64_t none[] = {100, 0};
	CHECK_EQ(aml_area_weighted_from_values(none, 2, 16, out), -AML_EINVAL);
	CHECK_EQ(aml_area_weighted_from_values(bw, 4, 0, out), -AML_EINVAL);
}

static void check_arguments(void)
{
	struct aml_area *area = (struct aml_area *)&area;
	const int nodes[] = {0, 0};
	const unsigned w[] = {1, 1}, zero[] = {0}, big[] = {256};
	const int many[MAX_NODES + 1] = {0};
	const unsigned ones[MAX_NODES + 1] = {1};
	CHECK_EQ(aml_area_weighted_create(NULL, nodes, w, 1, 0, NULL, 0), -AML_EINVAL);
	CHECK_EQ(aml_area_weighted_create(&area, nodes, w, 0, 0, NULL, 0), -AML_EINVAL);
	CHECK(area == NULL, "a failed create leaves *area NULL");
	CHECK_EQ(aml_area_weighted_create(&area, nodes, w, 2, 0, NULL, 0), -AML_EINVAL); /* node twice */
	CHECK_EQ(aml_area_weighted_create(&area, nodes, zero, 1, 0, NULL, 0), -AML_EINVAL);
	CHECK_EQ(aml_area_weighted_create(&area, nodes, big, 1, 0, NULL, 0), -AML_EINVAL);
	CHECK_EQ(aml_area_weighted_create(&area, many, ones, MAX_NODES + 1, 0, NULL, 0), -AML_EINVAL);
	CHECK_EQ(aml_area_weighted_create(&area, nodes, w, 1, 100, NULL, 0), -AML_EINVAL);
	CHECK_EQ(aml_area_weighted_create(&area, nodes, w, 1, 0, NULL, 8), -AML_EINVAL);
	const int negative[] = {-1}, absent[] = {1000};
	CHECK_EQ(aml_area_weighted_create(&area, negative, w, 1, 0, NULL, 0), -AML_EINVAL);
	CHECK_EQ(aml_area_weighted_create(&area, absent, w, 1, 0, NULL, 0), -AML_EDOM);
	CHECK_EQ(aml_area_weighted_mechanism(NULL), -AML_EINVAL);
	CHECK_EQ(aml_area_weighted_mechanism(&aml_area_linux), -AML_EINVAL);
	aml_area_weighted_destroy(NULL);
}

static int thread_mode(void)
{
	int mode = -1;
	unsigned long mask[16];
	CHECK_EQ(get_mempolicy(&mode, mask, 1024, NULL, 0), 0);
	return mode;
}

static void check_mmap(const int *nodes, int count, size_t unit_pages, unsigned flags)
{
	const size_t page = test_page_size(), unit = unit_pages * page;
	unsigned weights[MAX_NODES], cycle = 0;
	for (int i = 0; i < count; i++)
		cycle += weights[i] = (unsigned)(i + 1);
	struct aml_area *area;
	CHECK_EQ(aml_area_weighted_create(&area, nodes, weights, count, unit, "test", flags), AML_SUCCESS);
	int mechanism = aml_area_weighted_mechanism(area);
	CHECK(mechanism == AML_AREA_WEIGHTED_USER || mechanism == AML_AREA_WEIGHTED_KERNEL, "mechanism %d", mechanism);
	if (flags & AML_AREA_WEIGHTED_FLAG_USER || unit_pages > 1)
		CHECK_EQ(mechanism, AML_AREA_WEIGHTED_USER);
	char text[512] = "";
	FILE *out = fmemopen(text, sizeof(text), "w");
	CHECK_EQ(aml_area_fprintf(out, "> ", area), AML_SUCCESS);
	fclose(out);
	printf("%s", text);
	CHECK(strstr(text, "> area-weighted: weights ") && strstr(text, "(test)"), "fprintf: %s", text);
	CHECK(strstr(text, mechanism == AML_AREA_WEIGHTED_KERNEL ? "kernel MPOL_WEIGHTED_INTERLEAVE" : "user space"),
	      "fprintf: %s", text);

	const size_t size = (size_t)cycle * unit * 37 + 3 * page; /* a partial last cycle */
	int mode = thread_mode(), vmas = test_vma_count();
	errno = 1234;
	char *buf = aml_area_mmap(area, size, NULL);
	CHECK(buf != NULL, "mmap: %s", aml_strerror(aml_errno));
	CHECK_EQ(errno, 1234);
	CHECK_EQ(thread_mode(), mode);
	CHECK(test_vma_count() - vmas <= 3, "%d new VMAs", test_vma_count() - vmas);
	size_t resident = test_resident_pages(buf, size);
	CHECK(resident == (mechanism == AML_AREA_WEIGHTED_USER ? size / page : 0), "%zu of %zu pages resident",
	      resident, size / page);
	test_touch(buf, size);
	int *where = test_page_nodes_of(buf, size);
	size_t wrong = 0;
	for (size_t p = 0; p < size / page; p++) {
		int want = aml_area_weighted_node_at(nodes, weights, count, p / unit_pages);
		if (where[p] != want && wrong++ < 5)
			fprintf(stderr, "page %zu on node %d, want %d\n", p, where[p], want);
	}
	CHECK(wrong == 0, "%zu pages on the wrong node (%d nodes, %zu-page units, mechanism %d)", wrong, count,
	      unit_pages, mechanism);
	free(where);
	CHECK_EQ(aml_area_munmap(area, buf, size), AML_SUCCESS);
	/* Nothing of the range stays mapped (counting every VMA of the process
	 * would see the sanitizers' allocator map its own). */
	unsigned char in_core;
	size_t still_mapped = 0;
	for (size_t p = 0; p < size / page; p++)
		still_mapped += mincore(buf + p * page, page, &in_core) == 0;
	CHECK(still_mapped == 0, "%zu of %zu pages still mapped after munmap", still_mapped, size / page);
	aml_area_weighted_destroy(&area);
	CHECK(area == NULL, "destroy clears the pointer");
}

int main(void)
{
	check_pattern();
	check_reduce();
	check_arguments();
	int nodes[MAX_NODES];
	int count = test_numa_nodes(nodes, MAX_NODES);
	check_mmap(nodes, count, 1, 0);
	check_mmap(nodes, count, 1, AML_AREA_WEIGHTED_FLAG_USER);
	check_mmap(nodes, count, 2, 0);
	check_mmap(nodes, 1, 1, 0);
	printf("weighted area: checked over %d node(s)\n", count);
	return 0;
}
