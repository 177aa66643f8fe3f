/* The tutorials' interleave checker (tests/tutorials/interleave_check.h) on
 * several nodes, where it must judge by the pages: "interleaved" for
 * interleave-area and block-interleave buffers, "not interleaved" for a
 * buffer bound to one node, for block-interleaved memory looked at with the
 * wrong block size, and for a buffer made of two bound halves. Then
 * tutorial 0 itself must give those answers for its buffers. */
#include <numaif.h>
#include <aml.h>
#include <aml/area/block.h>
#include <aml/area/linux.h>
#include "areas.h"
#include "vmtest.h"
#include "../tutorials/interleave_check.h"

/* Linux-area buffers stay under 2 MiB: in a larger one, the kernel may back
 * an aligned 2 MiB of it with one transparent huge page (the VM runs
 * Debian's default, THP "always"), and interleaving is then by huge page. */
#define LINUX_SIZE (1UL << 20)
#define BLOCK_BUFFER (8UL << 20)
#define TUTORIAL0 "build/tests/tutorials/0_check_interleave"

static void expect(const char *what, const void *buf, size_t size, size_t block_size, int want)
{
	const char *how = "";
	int verdict = is_interleaved(buf, size, block_size, &how);
	printf("%-40s %s (%s)\n", what, interleave_verdict(verdict), how);
	fflush(stdout);
	CHECK(strcmp(how, "by where its pages are") == 0, "%s: judged %s", what, how);
	CHECK(verdict == want, "%s: the checker says %s, want %s", what, interleave_verdict(verdict),
	      interleave_verdict(want));
}

static void *linux_buffer(enum aml_area_linux_policy policy, const int *nodes, int count)
{
	struct aml_area *area = test_linux_area(policy, nodes, count);
	void *buf = test_area_touched(area, LINUX_SIZE, "linux area");
	aml_area_linux_destroy(&area);
	return buf;
}

static void *block_buffer(size_t block_size)
{
	struct aml_area *area;
	CHECK_EQ(aml_area_block_create(&area, block_size, NULL), AML_SUCCESS);
	void *buf = aml_area_mmap(area, BLOCK_BUFFER, NULL);
	CHECK(buf != NULL, "block area: %s", aml_strerror(aml_errno));
	test_touch(buf, BLOCK_BUFFER); /* huge-page blocks are placed at first touch */
	aml_area_block_destroy(&area);
	return buf;
}

/* Runs tutorial 0 and checks its answers for buffers 1 and 2. */
static void check_tutorial0(void)
{
	FILE *out = popen("./" TUTORIAL0 " 2>&1", "r");
	CHECK(out != NULL, "cannot run " TUTORIAL0);
	char line[512];
	int seen1 = 0, seen2 = 0;
	while (fgets(line, sizeof(line), out)) {
		printf("tutorial 0 | %s", line);
		if (strncmp(line, "1. ", 3) == 0)
			seen1 = strstr(line, " interleaved (by where its pages are)") &&
			        !strstr(line, "not interleaved");
		if (strncmp(line, "2. ", 3) == 0)
			seen2 = strstr(line, " not interleaved (by where its pages are)") != NULL;
	}
	int status = pclose(out);
	CHECK(status == 0, "tutorial 0 exit status %d", status);
	CHECK(seen1, "tutorial 0 did not say buffer 1 is interleaved, by its pages");
	CHECK(seen2, "tutorial 0 did not say buffer 2 is not interleaved, by its pages");
}

int main(void)
{
	struct vm_nodes vm = vm_start_nodes();
	int nodes = vm.count;
	const size_t page = test_page_size();

	expect("interleave area, all nodes", linux_buffer(AML_AREA_LINUX_POLICY_INTERLEAVE, vm.all, nodes),
	       LINUX_SIZE, page, 1);
	if (vm.subset_count >= 2)
		expect("interleave area, subset",
		       linux_buffer(AML_AREA_LINUX_POLICY_INTERLEAVE, vm.subset, vm.subset_count), LINUX_SIZE,
		       page, 1);
	for (int node = 0; node < nodes; node++) {
		char what[64];
		snprintf(what, sizeof(what), "bind area, node %d", node);
		expect(what, linux_buffer(AML_AREA_LINUX_POLICY_BIND, &node, 1), LINUX_SIZE, page, 0);
	}
	expect("block area, 2-page blocks", block_buffer(2 * page), BLOCK_BUFFER, 2 * page, 1);
	expect("same, judged by 1-page blocks", block_buffer(2 * page), BLOCK_BUFFER, page, 0);
	expect("block area, 512-page blocks", block_buffer(512 * page), BLOCK_BUFFER, 512 * page, 1);

	/* Two halves on two nodes (the upper half moved): not interleaved. */
	char *halves = linux_buffer(AML_AREA_LINUX_POLICY_BIND, &vm.all[0], 1);
	const size_t count = LINUX_SIZE / 2 / page;
	void **upper = calloc(count, sizeof(void *));
	int *targets = calloc(count, sizeof(int)), *status = calloc(count, sizeof(int));
	CHECK(upper && targets && status, "out of memory");
	for (size_t i = 0; i < count; i++) {
		upper[i] = halves + LINUX_SIZE / 2 + i * page;
		targets[i] = vm.all[1];
	}
	CHECK(numa_move_pages(0, count, upper, targets, status, MPOL_MF_MOVE) == 0, "move the upper half");
	free(upper);
	free(targets);
	free(status);
	expect("two halves on two nodes", halves, LINUX_SIZE, page, 0);

	check_tutorial0();
	printf("tutorial checker: right on %d nodes\n", nodes);
	return 0;
}
