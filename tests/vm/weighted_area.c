/* Weighted-interleave area on the VM's nodes, page by page: weights 3:1
 * over {0,3} and 1:2:1 over {0,1,2}, 64 MiB and a few pages (a partial
 * last cycle) and 256 MiB. In user space (populated at mmap): every page
 * resident at once, every page on a node of the set, page i of the
 * allocation on the node the weights give for i (the pattern starts at the
 * allocation's first page), each node's count within one cycle of its
 * share, and at most 3 lines of /proc/self/maps covering the allocation.
 *
 * Then the kernel's MPOL_WEIGHTED_INTERLEAVE (Linux 6.9+): the test sets
 * the system weights of the set (it runs as root in the VM) to the ones
 * asked for, so the area must take the kernel path: nothing resident after
 * mmap, and once written the same node for every page as in user space.
 * System weights twice those asked for (the area compares them reduced)
 * take the kernel path too, the kernel's cycle then twice as long: page i
 * on the node the system weights give for i, the counts within one cycle.
 * Weights that differ keep the area in user space. On a kernel without the
 * mode that part is skipped with the reason; the system weights are put
 * back at the end.
 *
 * Last, timings of 1 GiB, weights 1:3 over {0,3}, against the floor (mmap
 * and one write per page): time and VMAs, in user space and by the kernel. */
#include <aml.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <aml/area/weighted.h>
#include "files.h"
#include "vmtest.h"

#define WEIGHTS_DIR "/sys/kernel/mm/mempolicy/weighted_interleave"
#define MAX_VMAS 3

struct weighted_case {
	const char *name;
	int count, nodes[4];
	unsigned weights[4];
};

/* Lines of /proc/self/maps that overlap [p, p + size). */
static int vmas_covering(const void *p, size_t size)
{
	FILE *maps = fopen("/proc/self/maps", "r");
	CHECK(maps != NULL, "/proc/self/maps");
	char line[512];
	int count = 0;
	uintptr_t from = (uintptr_t)p, to = from + size;
	while (fgets(line, sizeof(line), maps)) {
		unsigned long start, end;
		if (sscanf(line, "%lx-%lx", &start, &end) == 2 && start < to && end > from)
			count++;
	}
	fclose(maps);
	return count;
}

/* The system weights as the test found them, put back at exit (a failed
 * check too), so that the tests after it see the kernel's defaults. */
static int saved_weights[VM_MAX_NODES];

static int set_weight(int node, unsigned weight)
{
	char path[128], text[16];
	snprintf(path, sizeof(path), WEIGHTS_DIR "/node%d", node);
	int fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	int len = snprintf(text, sizeof(text), "%u", weight);
	int ok = write(fd, text, (size_t)len) == len;
	close(fd);
	return ok ? 0 : -1;
}

static void restore_weights(void)
{
	for (int node = 0; node < VM_MAX_NODES; node++)
		if (saved_weights[node] > 0)
			set_weight(node, (unsigned)saved_weights[node]);
}

static int read_weight(int node)
{
	char path[128], text[16] = "";
	snprintf(path, sizeof(path), WEIGHTS_DIR "/node%d", node);
	return shim_test_read_file(path, text, sizeof(text)) > 0 ? atoi(text) : -1;
}

static void write_weight(int node, unsigned weight)
{
	CHECK(set_weight(node, weight) == 0, "system weight %u for node %d: %s", weight, node, strerror(errno));
}

/* Maps size bytes through an area with these weights, checks every page
 * against the weights times scale (the kernel's cycle, where the system
 * weights are multiples); counts[] gets the pages per node of the set.
 * Returns the mechanism. */
static int check_case(const struct weighted_case *c, size_t size, unsigned flags, unsigned scale, long *counts)
{
	const size_t page = test_page_size(), pages = size / page;
	struct aml_area *area;
	CHECK_EQ(aml_area_weighted_create(&area, c->nodes, c->weights, c->count, 0, "test", flags), AML_SUCCESS);
	int mechanism = aml_area_weighted_mechanism(area);
	aml_area_fprintf(stdout, "  ", area);
	char what[128];
	snprintf(what, sizeof(what), "%s, %zu pages, %s", c->name, pages,
	         mechanism == AML_AREA_WEIGHTED_KERNEL ? "kernel" : "user space");
	double t0 = test_now();
	char *buf = aml_area_mmap(area, size, NULL);
	double t1 = test_now();
	CHECK(buf != NULL, "%s: %s", what, aml_strerror(aml_errno));
	size_t resident = test_resident_pages(buf, size);
	int vmas = vmas_covering(buf, size);
	test_touch(buf, size);
	double t2 = test_now();
	printf("%s: %zu pages resident after mmap, %d VMA(s); mmap %.0f ms, mmap + touch %.0f ms\n", what, resident,
	       vmas, (t1 - t0) * 1e3, (t2 - t0) * 1e3);
	CHECK(resident == (mechanism == AML_AREA_WEIGHTED_USER ? pages : 0), "%s: %zu pages resident after mmap", what,
	      resident);
	CHECK(vmas >= 1 && vmas <= MAX_VMAS, "%s: %d VMAs cover the allocation", what, vmas);

	int *where = test_page_nodes_of(buf, size);
	test_check_in_set(what, where, pages, c->nodes, c->count, NULL, NULL);
	size_t wrong = 0;
	unsigned cycle = 0, weights[4];
	for (int k = 0; k < c->count; k++) {
		weights[k] = c->weights[k] * scale;
		cycle += weights[k];
		counts[k] = 0;
	}
	for (size_t i = 0; i < pages; i++) {
		int want = test_weighted_node(c->nodes, weights, c->count, i);
		if (where[i] != want && wrong++ < 5)
			fprintf(stderr, "%s: page %zu on node %d, want %d\n", what, i, where[i], want);
		for (int k = 0; k < c->count; k++)
			counts[k] += where[i] == c->nodes[k];
	}
	test_print_histogram(what, where, pages, -1);
	CHECK(wrong == 0, "%s: %zu of %zu pages off the pattern from the allocation's first page", what, wrong, pages);
	for (int k = 0; k < c->count; k++) {
		double share = (double)pages * weights[k] / cycle;
		CHECK(counts[k] >= share - weights[k] && counts[k] <= share + weights[k],
		      "%s: node %d holds %ld pages, its share is %.0f", what, c->nodes[k], counts[k], share);
	}
	free(where);
	CHECK_EQ(aml_area_munmap(area, buf, size), AML_SUCCESS);
	aml_area_weighted_destroy(&area);
	return mechanism;
}

/* The kernel path, where there is one: same pages per node as user space. */
static void check_kernel(const struct weighted_case *c, size_t size, const long *user_counts)
{
	struct utsname uts;
	uname(&uts);
	if (access(WEIGHTS_DIR, F_OK) != 0) {
		printf("%s: kernel mechanism skipped: Linux %s has no MPOL_WEIGHTED_INTERLEAVE (6.9+)\n", c->name,
		       uts.release);
		return;
	}
	for (int k = 0; k < c->count; k++)
		CHECK(read_weight(c->nodes[k]) > 0, "no system weight for node %d", c->nodes[k]);
	/* Weights that differ from the ones asked for: user space. */
	for (int k = 0; k < c->count; k++)
		write_weight(c->nodes[k], k == 0 ? 7 : 1);
	struct aml_area *area;
	CHECK_EQ(aml_area_weighted_create(&area, c->nodes, c->weights, c->count, 0, NULL, 0), AML_SUCCESS);
	CHECK(aml_area_weighted_mechanism(area) == AML_AREA_WEIGHTED_USER, "%s: other system weights, kernel path",
	      c->name);
	aml_area_weighted_destroy(&area);

	long counts[4];
	for (unsigned scale = 1; scale <= 2; scale++) {
		for (int k = 0; k < c->count; k++)
			write_weight(c->nodes[k], scale * c->weights[k]);
		int mechanism = check_case(c, size, 0, scale, counts);
		CHECK(mechanism == AML_AREA_WEIGHTED_KERNEL, "%s: system weights set (x%u), but the area placed in "
		      "user space", c->name, scale);
		for (int k = 0; scale == 1 && k < c->count; k++)
			CHECK(counts[k] == user_counts[k], "%s: node %d: %ld pages by the kernel, %ld in user space",
			      c->name, c->nodes[k], counts[k], user_counts[k]);
	}
	restore_weights();
	printf("%s: the kernel (Linux %s) and user space put the same pages on each node\n", c->name, uts.release);
}

/* mmap + a write per page of 1 GiB: through area (NULL: plain mmap). */
static void time_1g(const char *what, struct aml_area *area)
{
	const size_t size = 1UL << 30, page = test_page_size();
	int before = test_vma_count();
	double t0 = test_now();
	char *buf = area ? aml_area_mmap(area, size, NULL)
	                 : mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(buf != NULL && buf != MAP_FAILED, "%s: 1 GiB not mapped", what);
	double t1 = test_now();
	for (size_t off = 0; off < size; off += page)
		buf[off] = 1;
	double t2 = test_now();
	int vmas = test_vma_count() - before;
	printf("1 GiB, %s: mmap %.0f ms, mmap + touch %.0f ms, %d new VMA(s)\n", what, (t1 - t0) * 1e3,
	       (t2 - t0) * 1e3, vmas);
	CHECK(vmas <= MAX_VMAS, "%s: %d new VMAs for 1 GiB", what, vmas);
	if (area)
		aml_area_munmap(area, buf, size);
	else
		munmap(buf, size);
}

static void time_weighted_1g(void)
{
	const int nodes[] = {0, 3};
	const unsigned weights[] = {1, 3};
	struct aml_area *area;
	time_1g("floor (mmap + touch)", NULL);
	CHECK_EQ(aml_area_weighted_create(&area, nodes, weights, 2, 0, NULL, AML_AREA_WEIGHTED_FLAG_USER), 0);
	time_1g("weighted 1:3 over {0,3}, user space", area);
	aml_area_weighted_destroy(&area);
	if (access(WEIGHTS_DIR, F_OK) != 0)
		return;
	write_weight(0, 1);
	write_weight(3, 3);
	CHECK_EQ(aml_area_weighted_create(&area, nodes, weights, 2, 0, NULL, 0), 0);
	CHECK_EQ(aml_area_weighted_mechanism(area), AML_AREA_WEIGHTED_KERNEL);
	time_1g("weighted 1:3 over {0,3}, kernel", area);
	aml_area_weighted_destroy(&area);
	restore_weights();
}

int main(void)
{
	struct vm_nodes vm = vm_start_nodes();
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int node = 0; node < vm.count && access(WEIGHTS_DIR, F_OK) == 0; node++)
		saved_weights[node] = read_weight(node);
	atexit(restore_weights);
	const struct weighted_case cases[] = {
		{"3:1 over {0,3}", 2, {0, 3}, {3, 1}},
		{"1:2:1 over {0,1,2}", 3, {0, 1, 2}, {1, 2, 1}},
		{"3:1 over {0,1}", 2, {0, 1}, {3, 1}}, /* VM_NODES=2 */
	};
	const size_t page = test_page_size();
	for (size_t i = vm.count >= 4 ? 0 : 2; i < (vm.count >= 4 ? 2 : 3); i++) {
		long user_counts[4], big_counts[4];
		const size_t size = (64UL << 20) + 3 * page;
		CHECK_EQ(check_case(&cases[i], size, AML_AREA_WEIGHTED_FLAG_USER, 1, user_counts), AML_AREA_WEIGHTED_USER);
		check_case(&cases[i], 256UL << 20, AML_AREA_WEIGHTED_FLAG_USER, 1, big_counts);
		check_kernel(&cases[i], size, user_counts);
	}
	if (vm.count >= 4)
		time_weighted_1g();
	printf("weighted area: placement checked on %d nodes\n", vm.count);
	return 0;
}
