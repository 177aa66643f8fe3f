/* A full node, in the VM: bind fails cleanly, preferred falls back.
 *
 * Without a check, a bound page fault on a full node ends in the kernel's
 * OOM killer (this process, or whichever uses most of that node). So:
 * - Linux and hwloc bind areas refuse, with AML_ENOMEM and at once, a
 *   mapping the node cannot hold: larger than the node, or larger than what
 *   is left once part of it is in use; what still fits is given and lands
 *   on the node. A preferred area on the same full node succeeds and the
 *   kernel puts the overflow on other nodes.
 * - Under the shim (tests/vm/programs/touch256 asking for more than the
 *   node): bind:N gives the program its memory from the kernel default,
 *   with one warning, the fallback counted in the report, and output byte
 *   for byte a plain run's; with AMLSHIM_STRICT=1 malloc returns NULL (the
 *   program reports it and exits 1, it is not killed); preferred:N fills
 *   the node and spills, output identical; a block grown by realloc past
 *   the node under bind:N moves to the kernel default (mremap in place
 *   would keep the binding and fault on the full node); pieces of a region
 *   mapped while the node had room, handed out once it is full
 *   (tests/vm/programs/fill_region), go there too, each counted.
 * The node is the VM's HBM-like node (AMLVM_BW_BEST): no CPU of it runs
 * anything else. */
#include <sys/mman.h>
#include <aml.h>
#include <aml/area/hwloc.h>
#include <aml/area/linux.h>
#include "areas.h"
#include "shim_vm.h"

static int node;

static size_t node_free(void)
{
	return (size_t)vm_node_meminfo_kb(node, "MemFree") << 10;
}

static struct aml_area *linux_area(enum aml_area_linux_policy policy)
{
	return test_linux_area(policy, &node, 1);
}

/* The area refuses `size` bytes with AML_ENOMEM. */
static void check_refused(const char *what, struct aml_area *area, size_t size)
{
	aml_errno = AML_SUCCESS;
	void *ptr = aml_area_mmap(area, size, NULL);
	CHECK(ptr == NULL, "%s: %zu MiB mapped on node %d (MemFree %zu MiB)", what, size >> 20, node,
	      node_free() >> 20);
	CHECK(aml_errno == AML_ENOMEM, "%s: aml_errno %d (%s), want AML_ENOMEM", what, aml_errno,
	      aml_strerror(aml_errno));
	printf("%s: %zu MiB refused: %s\n", what, size >> 20, aml_strerror(aml_errno));
}

/* Maps and touches `size` bytes; returns the pages on the node. */
static char *map_touched(const char *what, struct aml_area *area, size_t size, long *on_node, long *elsewhere)
{
	char *buf = aml_area_mmap(area, size, NULL);
	CHECK(buf != NULL, "%s: %zu MiB: %s", what, size >> 20, aml_strerror(aml_errno));
	test_touch(buf, size);
	size_t pages = size / test_page_size();
	int *where = test_page_nodes_of(buf, size);
	*on_node = test_print_histogram(what, where, pages, node);
	*elsewhere = 0;
	for (size_t i = 0; i < pages; i++)
		*elsewhere += where[i] >= 0 && where[i] != node;
	free(where);
	return buf;
}

static void areas_test(void)
{
	struct aml_area *bind = linux_area(AML_AREA_LINUX_POLICY_BIND);
	const size_t total = (size_t)vm_node_meminfo_kb(node, "MemTotal") << 10;
	printf("node %d: MemTotal %zu MiB, MemFree %zu MiB\n", node, total >> 20, node_free() >> 20);

	/* More than the node has. */
	check_refused("bind, node size + 64 MiB", bind, total + (64UL << 20));

	/* What fits is given, on the node. */
	size_t part = (node_free() * 6 / 10) & ~(test_page_size() - 1);
	long on_node, elsewhere;
	char *held = map_touched("bind, 60% of the free memory", bind, part, &on_node, &elsewhere);
	CHECK(on_node == (long)(part / test_page_size()), "bind: %ld of %zu pages on node %d", on_node,
	      part / test_page_size(), node);

	/* The rest of the node is smaller than a second such part. */
	check_refused("bind, the same again", bind, part);
	struct aml_area *hwloc_bind;
	hwloc_bitmap_t nodeset = hwloc_bitmap_alloc();
	hwloc_bitmap_set(nodeset, (unsigned)node);
	CHECK_EQ(aml_area_hwloc_create(&hwloc_bind, nodeset, HWLOC_MEMBIND_BIND), AML_SUCCESS);
	hwloc_bitmap_free(nodeset);
	check_refused("hwloc bind, the same again", hwloc_bind, part);

	/* A small mapping still fits. */
	char *small = map_touched("bind, 16 MiB more", bind, 16UL << 20, &on_node, &elsewhere);
	CHECK(on_node == (long)((16UL << 20) / test_page_size()), "bind, 16 MiB: %ld pages on node %d", on_node,
	      node);

	/* Preferred on the nearly full node: the kernel spills, nothing lost. */
	struct aml_area *preferred = linux_area(AML_AREA_LINUX_POLICY_PREFERRED);
	char *spilled = map_touched("preferred, the same again", preferred, part, &on_node, &elsewhere);
	CHECK(on_node + elsewhere == (long)(part / test_page_size()), "preferred: %ld + %ld of %zu pages resident",
	      on_node, elsewhere, part / test_page_size());
	CHECK(elsewhere > 0, "preferred: every page on the full node %d", node);
	printf("preferred on a full node: %ld pages there, %ld spilled\n", on_node, elsewhere);

	/* Once memory is given back, bind has room again. */
	CHECK_EQ(aml_area_munmap(preferred, spilled, part), AML_SUCCESS);
	CHECK_EQ(aml_area_munmap(bind, small, 16UL << 20), AML_SUCCESS);
	CHECK_EQ(aml_area_munmap(bind, held, part), AML_SUCCESS);
	held = map_touched("bind, after the unmaps", bind, part, &on_node, &elsewhere);
	CHECK(on_node == (long)(part / test_page_size()), "bind after unmap: %ld pages on node %d", on_node, node);
	CHECK_EQ(aml_area_munmap(bind, held, part), AML_SUCCESS);

	aml_area_linux_destroy(&preferred);
	aml_area_hwloc_destroy(&hwloc_bind);
	aml_area_linux_destroy(&bind);
}

/* A program (touch256, grow or fill_region) asking for more than the
 * node, under the shim with `policy` (and AMLSHIM_STRICT=1 when strict);
 * arg2 may be NULL. */
static struct shim_vm_run run_program(const char *program, const char *policy, const char *mib, const char *arg2,
                                      int strict)
{
	char *argv[] = {(char *)shim_vm_program(program), (char *)mib, (char *)arg2, NULL};
	char policy_var[64];
	snprintf(policy_var, sizeof(policy_var), "AMLSHIM_POLICY=%s", policy);
	char *env[] = {policy_var, strict ? "AMLSHIM_STRICT=1" : NULL, NULL};
	vm_run_on_node(0);
	printf("AMLSHIM_POLICY=%s%s %s %s %s\n", policy, strict ? " AMLSHIM_STRICT=1" : "", program, mib,
	       arg2 ? arg2 : "");
	struct shim_vm_run run = shim_vm_spawn(argv, env, 1);
	shim_vm_print_output("stdout", run.out);
	shim_vm_print_output("stderr", run.err);
	return run;
}

static int count_lines_with(const char *text, const char *needle)
{
	int count = 0;
	for (const char *at = text; (at = strstr(at, needle)); at++)
		count++;
	return count;
}

/* One "fill_region: KIND: N on node X, N elsewhere, N split" line of its
 * stderr: the blocks wholly on the node, and the others. A block of the
 * kernel default may be split: the node's reserve takes some of its pages. */
static void fill_region_line(const char *err, const char *kind, int *on, int *off)
{
	char head[64];
	int at_node = -1, elsewhere = -1, split = -1;
	snprintf(head, sizeof(head), "fill_region: %s: ", kind);
	const char *line = strstr(err, head);
	CHECK(line && sscanf(line + strlen(head), "%d on node %d, %d elsewhere, %d split", on, &at_node, &elsewhere,
	                     &split) == 4 && at_node == node,
	      "fill_region: no line for the %s blocks", kind);
	*off = elsewhere + split;
}

/* bind: a region mapped while the node had room (a 4 MiB piece of it
 * taken), the node then filled by blocks of their own (34 MiB, each
 * checked; the last ones fall back), then the rest of the region handed
 * out in pieces. A region's check counts none of what fills it later:
 * each piece is checked, and those the node cannot hold go to the kernel
 * default (unchecked, they fault on the full node: the OOM killer). Every
 * block not wholly on the node fell back (a fallen back one may still
 * land there, in the node's reserve). */
static void fill_region_test(int nodes, const char *bind, const char *mib)
{
	char node_arg[16];
	snprintf(node_arg, sizeof(node_arg), "%d", node);
	char *argv[] = {(char *)shim_vm_program("fill_region"), node_arg, (char *)mib, NULL};
	struct shim_vm_run plain = shim_vm_plain_run("fill_region, plain", argv, NULL);
	struct shim_vm_run run = run_program("fill_region", bind, node_arg, mib, 0);
	CHECK(run.status == 0, "%s, pieces of a region: exit %d (137: OOM-killed)", bind, run.status);
	CHECK(strcmp(run.out, plain.out) == 0, "%s, pieces of a region: stdout differs from the plain run's", bind);
	CHECK(count_lines_with(run.err, "could not be placed") == 1, "%s, pieces of a region: want one warning", bind);
	int big_on, big_off, pieces_on, pieces_off;
	fill_region_line(run.err, "big", &big_on, &big_off);
	fill_region_line(run.err, "pieces", &pieces_on, &pieces_off);
	CHECK(big_on > 0 && big_off > 0, "%s: %d big blocks on node %d, %d not: want both", bind, big_on, node, big_off);
	CHECK(pieces_on > 0 && pieces_off > 0, "%s: %d pieces on node %d, %d not: want both (the first fits)", bind,
	      pieces_on, node, pieces_off);
	struct shim_vm_report r = shim_vm_parse_report(run.report);
	shim_vm_print_report(bind, &r, nodes);
	CHECK(r.fallbacks >= (unsigned long)(big_off + pieces_off), "%s, pieces of a region: %lu fallbacks, want %d or more",
	      bind, r.fallbacks, big_off + pieces_off);
	shim_vm_run_free(&run);
	shim_vm_run_free(&plain);
}

static void shim_test(int nodes)
{
	const long total_mib = vm_node_meminfo_kb(node, "MemTotal") >> 10;
	char mib[32], bind[32], preferred[32];
	snprintf(mib, sizeof(mib), "%ld", total_mib + 64);
	snprintf(bind, sizeof(bind), "bind:%d", node);
	snprintf(preferred, sizeof(preferred), "preferred:%d", node);
	char *argv[] = {(char *)shim_vm_program("touch256"), mib, NULL};
	struct shim_vm_run plain = shim_vm_plain_run("touch256, plain", argv, NULL);

	/* bind: one warning, the kernel default, the same output. */
	struct shim_vm_run run = run_program("touch256", bind, mib, NULL, 0);
	CHECK(run.status == 0, "%s: exit %d (137: OOM-killed)", bind, run.status);
	CHECK(strcmp(run.out, plain.out) == 0, "%s: stdout differs from the plain run's", bind);
	CHECK(count_lines_with(run.err, "could not be placed") == 1 &&
	      strstr(run.err, "it gets the kernel default") && count_lines_with(run.err, "\n") == 1,
	      "%s: want one warning line on stderr", bind);
	CHECK(run.report != NULL, "%s: no report", bind);
	struct shim_vm_report r = shim_vm_parse_report(run.report);
	shim_vm_print_report(bind, &r, nodes);
	CHECK(r.fallbacks == 1, "%s: %lu fallbacks in the report, want 1", bind, r.fallbacks);
	shim_vm_run_free(&run);

	/* bind, strict: malloc fails, the program says so and exits 1. */
	run = run_program("touch256", bind, mib, NULL, 1);
	CHECK(run.status == 1, "%s, strict: exit %d, want 1 (137: OOM-killed)", bind, run.status);
	CHECK(strstr(run.err, "AMLSHIM_STRICT=1: it fails with ENOMEM") != NULL, "%s, strict: no warning", bind);
	CHECK(strstr(run.err, "malloc: Cannot allocate memory") != NULL, "%s, strict: malloc did not fail with ENOMEM",
	      bind);
	CHECK(run.out[0] == '\0', "%s, strict: the program went on", bind);
	shim_vm_run_free(&run);

	/* preferred: the node fills, the rest spills, same output. */
	run = run_program("touch256", preferred, mib, NULL, 0);
	CHECK(run.status == 0, "%s: exit %d", preferred, run.status);
	CHECK(strcmp(run.out, plain.out) == 0 && strcmp(run.err, plain.err) == 0,
	      "%s: output differs from the plain run's", preferred);
	r = shim_vm_parse_report(run.report);
	shim_vm_print_report(preferred, &r, nodes);
	long pages = (long)(((size_t)(total_mib + 64) << 20) / test_page_size());
	long sum = shim_vm_sum(r.peak_pages, nodes);
	CHECK(r.fallbacks == 0, "%s: %lu fallbacks", preferred, r.fallbacks);
	CHECK(sum >= pages * 99 / 100, "%s: %ld of %ld pages seen at the peak", preferred, sum, pages);
	CHECK(r.peak_pages[node] > pages / 2 && r.peak_pages[node] < pages,
	      "%s: node %d holds %ld of %ld pages (want it filled, and the rest elsewhere)", preferred, node,
	      r.peak_pages[node], pages);
	shim_vm_run_free(&run);
	shim_vm_run_free(&plain);

	/* bind: a 64 MiB block grown by realloc past the node. Grown in place
	 * (mremap keeps the binding) its new pages would fault on the full
	 * node; the shim moves it instead, through the area, which refuses. */
	char *grow_argv[] = {(char *)shim_vm_program("grow"), mib, NULL};
	plain = shim_vm_plain_run("grow, plain", grow_argv, NULL);
	run = run_program("grow", bind, mib, NULL, 0);
	CHECK(run.status == 0, "%s, realloc growth: exit %d (137: OOM-killed)", bind, run.status);
	CHECK(strcmp(run.out, plain.out) == 0, "%s, realloc growth: stdout differs from the plain run's", bind);
	CHECK(strstr(run.err, "could not be placed") != NULL, "%s, realloc growth: no warning", bind);
	r = shim_vm_parse_report(run.report);
	shim_vm_print_report(bind, &r, nodes);
	CHECK(r.moves == 1 && r.fallbacks == 1, "%s, realloc growth: %lu moves, %lu fallbacks, want 1 and 1", bind,
	      r.moves, r.fallbacks);
	shim_vm_run_free(&run);
	shim_vm_run_free(&plain);
	fill_region_test(nodes, bind, mib);
}

int main(int argc, char **argv)
{
	int nodes = vm_start();
	node = vm_env_int("AMLVM_BW_BEST");
	CHECK_EQ(aml_init(&argc, &argv), AML_SUCCESS);
	areas_test();
	CHECK_EQ(aml_finalize(), AML_SUCCESS);
	shim_test(nodes);
	printf("full node %d: bind refuses, preferred spills, the shim falls back or fails as documented\n", node);
	return 0;
}
