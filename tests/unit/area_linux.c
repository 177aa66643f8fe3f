/* Linux area: every policy, over all nodes and over each single node:
 * content round trip, the policy the kernel reports, the node of every page. */
#include <errno.h>
#include <numaif.h>
#include <string.h>
#include <sys/mman.h>
#include <aml.h>
#include <aml/area/linux.h>
#include "check.h"

#define MAX_NODES 64
static int nodes[MAX_NODES];
static int num_nodes;

/* Allocates, writes, reads back, checks kernel policy and page nodes. */
static void check_area(enum aml_area_linux_policy policy, const int *set, int count)
{
	const size_t pages = 64 * (size_t)count, size = pages * test_page_size();
	struct bitmask *mask = set ? test_mask_of(set, count) : NULL;
	struct aml_area *area;
	CHECK_EQ(aml_area_linux_create(&area, mask, policy), AML_SUCCESS);
	unsigned char *buf = aml_area_mmap(area, size, NULL);
	CHECK(buf != NULL, "mmap %s: %s", aml_area_linux_policy_name(policy), aml_strerror(aml_errno));
	for (size_t i = 0; i < size; i++)
		buf[i] = (unsigned char)(i * 7);
	for (size_t i = 0; i < size; i++)
		CHECK(buf[i] == (unsigned char)(i * 7), "content at %zu", i);

	CHECK_EQ(aml_area_linux_check_binding((struct aml_area_linux_data *)area->data, buf, size), 1);
	int mode;
	unsigned long kmask;
	CHECK_EQ(test_range_policy(buf, &mode, &kmask), 0);
	const int expect_mode[] = {MPOL_DEFAULT, MPOL_BIND, MPOL_PREFERRED, MPOL_INTERLEAVE};
	if (policy <= AML_AREA_LINUX_POLICY_INTERLEAVE)
		CHECK(mode == expect_mode[policy], "%s: kernel mode %d", aml_area_linux_policy_name(policy), mode);

	int *where = test_resident_nodes(buf, size);
	if (set && (policy == AML_AREA_LINUX_POLICY_BIND || policy == AML_AREA_LINUX_POLICY_INTERLEAVE)) {
		long least, most, share = (long)(pages / count);
		test_check_in_set(aml_area_linux_policy_name(policy), where, pages, set, count, &least, &most);
		if (policy == AML_AREA_LINUX_POLICY_INTERLEAVE)
			CHECK(least >= share - 1 && most <= share + 1, "interleave: %ld to %ld of %zu pages per node",
			      least, most, pages);
	}
	for (size_t i = 0; set && policy == AML_AREA_LINUX_POLICY_PREFERRED && i < pages; i++)
		CHECK(where[i] == set[0], "preferred: page %zu on node %d, want %d", i, where[i], set[0]);
	free(where);
	CHECK_EQ(aml_area_munmap(area, buf, size), AML_SUCCESS);
	aml_area_linux_destroy(&area);
	CHECK(area == NULL, "destroy must clear the pointer");
	if (mask)
		numa_bitmask_free(mask);
}

int main(void)
{
	num_nodes = test_numa_nodes(nodes, MAX_NODES);

	/* The static default area. */
	void *p = aml_area_mmap(&aml_area_linux, 4096, NULL);
	CHECK(p != NULL, "default area");
	memset(p, 1, 4096);
	CHECK_EQ(aml_area_munmap(&aml_area_linux, p, 4096), AML_SUCCESS);

	for (int policy = AML_AREA_LINUX_POLICY_DEFAULT; policy <= AML_AREA_LINUX_POLICY_INTERLEAVE; policy++) {
		check_area(policy, NULL, num_nodes);
		check_area(policy, nodes, num_nodes);
		for (int i = 0; i < num_nodes; i++)
			check_area(policy, &nodes[i], 1);
	}
	/* Every odd-position node: a strict subset when there are 2+ nodes,
	 * which upstream AML would have widened to all nodes. */
	if (num_nodes >= 2) {
		int subset[MAX_NODES], n = 0;
		for (int i = 1; i < num_nodes; i += 2)
			subset[n++] = nodes[i];
		check_area(AML_AREA_LINUX_POLICY_INTERLEAVE, subset, n);
		check_area(AML_AREA_LINUX_POLICY_BIND, subset, n);
	}

	/* A bind the node cannot hold is refused at once (AML_ENOMEM), not
	 * left to the OOM killer; what fits is given; interleave is not
	 * checked (the kernel spreads and spills it). */
	struct aml_area *area;
	long long node_bytes = numa_node_size64(nodes[0], NULL);
	CHECK(node_bytes > 0, "size of node %d", nodes[0]);
	size_t too_big = (size_t)node_bytes + ((size_t)1 << 30);
	struct bitmask *first = test_mask_of(&nodes[0], 1);
	CHECK_EQ(aml_area_linux_create(&area, first, AML_AREA_LINUX_POLICY_BIND), AML_SUCCESS);
	numa_bitmask_free(first);
	aml_errno = AML_SUCCESS;
	CHECK(aml_area_mmap(area, too_big, NULL) == NULL, "bind: %zu MiB mapped on a node of %lld MiB",
	      too_big >> 20, node_bytes >> 20);
	CHECK_EQ(aml_errno, AML_ENOMEM);
	CHECK_EQ(aml_area_linux_fits((struct aml_area_linux_data *)area->data, too_big), 0);
	CHECK_EQ(aml_area_linux_fits((struct aml_area_linux_data *)area->data, 1 << 20), 1);
	p = aml_area_mmap(area, 1 << 20, NULL);
	CHECK(p != NULL, "bind, 1 MiB: %s", aml_strerror(aml_errno));
	aml_area_munmap(area, p, 1 << 20);
	aml_area_linux_destroy(&area);

	/* Newer kernel policies: work, or say not supported. */
	int ret = aml_area_linux_create(&area, NULL, AML_AREA_LINUX_POLICY_PREFERRED_MANY);
	CHECK(ret == AML_SUCCESS || ret == -AML_ENOTSUP, "preferred-many: %d", ret);
	if (ret == AML_SUCCESS) {
		void *q = aml_area_mmap(area, 1 << 20, NULL);
		CHECK(q != NULL, "preferred-many mmap");
		test_touch(q, 1 << 20);
		CHECK_EQ(aml_area_linux_check_binding((struct aml_area_linux_data *)area->data, q, 1 << 20), 1);
		aml_area_munmap(area, q, 1 << 20);
		aml_area_linux_destroy(&area);
	}
	ret = aml_area_linux_create(&area, NULL, AML_AREA_LINUX_POLICY_LOCAL);
	CHECK(ret == AML_SUCCESS || ret == -AML_ENOTSUP, "local: %d", ret);
	if (ret == AML_SUCCESS) {
		void *q = aml_area_mmap(area, 1 << 20, NULL);
		CHECK(q != NULL, "local mmap");
		CHECK_EQ(aml_area_linux_check_binding((struct aml_area_linux_data *)area->data, q, 1 << 20), 1);
		aml_area_munmap(area, q, 1 << 20);
		aml_area_linux_destroy(&area);
	}

	/* Shared and file-backed mappings through options. */
	CHECK_EQ(aml_area_linux_create(&area, NULL, AML_AREA_LINUX_POLICY_INTERLEAVE), AML_SUCCESS);
	struct aml_area_linux_mmap_options shared = {
		.ptr = NULL, .flags = MAP_SHARED | MAP_ANONYMOUS, .mode = PROT_READ | PROT_WRITE, .fd = -1, .offset = 0};
	char *s = aml_area_mmap(area, 1 << 20, (struct aml_area_mmap_options *)&shared);
	CHECK(s != NULL, "shared anonymous");
	strcpy(s, "shared");
	aml_area_munmap(area, s, 1 << 20);
	FILE *tmp = tmpfile();
	CHECK(tmp && fwrite("file-backed", 1, 11, tmp) == 11 && fflush(tmp) == 0, "tmpfile");
	struct aml_area_linux_mmap_options file = {
		.ptr = NULL, .flags = MAP_PRIVATE, .mode = PROT_READ, .fd = fileno(tmp), .offset = 0};
	char *f = aml_area_mmap(area, 4096, (struct aml_area_mmap_options *)&file);
	CHECK(f != NULL && memcmp(f, "file-backed", 11) == 0, "file-backed mapping content");
	aml_area_munmap(area, f, 4096);
	fclose(tmp);
	/* Bad options surface as an error, not a crash. */
	struct aml_area_linux_mmap_options bad = {.flags = 0, .mode = PROT_READ, .fd = -1};
	CHECK(aml_area_mmap(area, 4096, (struct aml_area_mmap_options *)&bad) == NULL, "flags 0 must fail");
	CHECK_EQ(aml_errno, AML_EINVAL);
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	aml_area_fprintf(out, "> ", area);
	fclose(out);
	CHECK(strncmp(text, "> area-linux: policy interleave, nodes ", 39) == 0, "fprintf: %s", text);
	free(text);
	aml_area_linux_destroy(&area);

	/* Error paths. */
	CHECK_EQ(aml_area_linux_create(NULL, NULL, AML_AREA_LINUX_POLICY_BIND), -AML_EINVAL);
	CHECK_EQ(aml_area_linux_create(&area, NULL, (enum aml_area_linux_policy)42), -AML_EINVAL);
	CHECK(area == NULL, "failed create leaves NULL");
	struct bitmask *empty = numa_allocate_nodemask();
	CHECK_EQ(aml_area_linux_create(&area, empty, AML_AREA_LINUX_POLICY_BIND), -AML_EINVAL);
	int absent = nodes[num_nodes - 1] + 1; /* a node this process may not use */
	struct bitmask *bad_mask = test_mask_of(&absent, 1);
	CHECK_EQ(aml_area_linux_create(&area, bad_mask, AML_AREA_LINUX_POLICY_BIND), -AML_EDOM);
	CHECK_EQ(aml_errno, AML_EDOM);
	numa_bitmask_free(bad_mask);
	numa_bitmask_free(empty);
	aml_area_linux_destroy(NULL);
	aml_area_linux_destroy(&area);
	printf("linux area: %d node(s) checked\n", num_nodes);
	return 0;
}
