/* Page size per rule (+thp, +huge:SIZE), page by page, each mode in a copy
 * of this test under the shim:
 *
 * - thp, AMLSHIM_POLICY=interleave+thp, with the system's THP mode set to
 *   madvise (restored at exit): two 5 MiB blocks (pieces of one region)
 *   and a 64 MiB block start on a huge page, AnonHugePages (smaps) covers
 *   the latter, every huge page lies wholly on one node and the nodes
 *   come in turn, huge page by huge page;
 * - huge, bind:H+huge:2M (H: node 2, the HBM-like node, or the VM's last):
 *   node H's pool reserved here (sysfs, restored at exit), node 0 given
 *   some too; a 64 MiB malloc takes 32 pages of node H's pool at once
 *   (none of node 0's), every page on node H, in a 2 MiB-page mapping;
 *   realloc to 96 MiB keeps the content, free and malloc_trim give every
 *   huge page back; the report counts the pages on node H, no fallback;
 *   with most of node H in its pool (as sites do with HBM), a 96 MiB block
 *   larger than the node's normal free memory still takes huge pages;
 * - interleave-huge, interleave:0,H+huge:2M: 8 pages free on each node,
 *   a 32 MiB block takes them all, huge pages alternating between the
 *   two; with node H's pool short of its share, normal pages (node 1's
 *   pool, outside the set, untouched);
 * - empty: node H's pool empty (node 0's not): two mallocs get normal
 *   pages, still on node H, with one warning and two fallbacks counted;
 * - strict: the same with AMLSHIM_STRICT=1: malloc fails with ENOMEM;
 * - named, bind:hbm@socket+huge:2M from CPU 0: a node set name, resolved
 *   at start-up, takes its huge pages from node 2's pool. */
#include <malloc.h>
#include <stdint.h>
#include <sys/mman.h>

#include "shim_vm.h"

#define MiB ((size_t)1 << 20)
#define HUGE (2 * MiB)

/* The huge modes' rule names the node (set in main). */
static char huge_rule[64], interleave_rule[64];
static struct shim_test_mode modes[] = {
	{"thp", {"AMLSHIM_POLICY=interleave+thp", NULL}},
	{"huge", {huge_rule, NULL}},
	{"interleave-huge", {interleave_rule, NULL}},
	{"empty", {huge_rule, NULL}},
	{"strict", {huge_rule, "AMLSHIM_STRICT=1", NULL}},
	{"named", {"AMLSHIM_RULES=1M-=bind:hbm@socket+huge:2M", NULL}},
};
#define MODES (sizeof(modes) / sizeof(modes[0]))

/* ---- hugetlb pools per node ---------------------------------------------- */

static long saved_pool[VM_MAX_NODES];
static int saved_count;

static void pool_path(char *buf, size_t len, int node, const char *file)
{
	snprintf(buf, len, "/sys/devices/system/node/node%d/hugepages/hugepages-2048kB/%s", node, file);
}

static long pool_read(int node, const char *file)
{
	char path[128], text[32] = "";
	pool_path(path, sizeof(path), node, file);
	FILE *f = fopen(path, "r");
	CHECK(f != NULL, "cannot read %s", path);
	CHECK(fgets(text, sizeof(text), f) != NULL, "%s is empty", path);
	fclose(f);
	return atol(text);
}

static void pool_write(int node, long pages)
{
	char path[128];
	pool_path(path, sizeof(path), node, "nr_hugepages");
	FILE *f = fopen(path, "w");
	CHECK(f != NULL, "cannot write %s (root in the VM)", path);
	fprintf(f, "%ld\n", pages);
	fclose(f);
}

static void pools_restore(void)
{
	for (int n = 0; n < saved_count; n++)
		pool_write(n, saved_pool[n]);
}

/* Node's pool set to `pages` free pages (restored at exit). */
static void pool_set(int node, long pages)
{
	long now = pool_read(node, "nr_hugepages"), free = pool_read(node, "free_hugepages");
	pool_write(node, now - free + pages);
	long got = pool_read(node, "free_hugepages");
	if (got != pages)
		test_skip_dependency("node %d's 2 MiB pool has %ld free pages, not the %ld asked for", node, got, pages);
}

/* ---- what a block is made of -------------------------------------------- */

/* A field ("AnonHugePages:", "KernelPageSize:") of the smaps entry of the
 * mapping holding addr, in KiB; -1 when none. */
static long smaps_kb(const void *addr, const char *field)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	CHECK(f != NULL, "cannot read /proc/self/smaps");
	char line[512];
	int inside = 0;
	long value = -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long start, end;
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2 && strchr(line, '-') < strchr(line, ' ')) {
			inside = (uintptr_t)addr >= start && (uintptr_t)addr < end;
			continue;
		}
		if (inside && strncmp(line, field, strlen(field)) == 0) {
			value = atol(line + strlen(field));
			break;
		}
	}
	fclose(f);
	return value;
}

static int *nodes_of(const char *what, const void *p, size_t size)
{
	int *where = test_resident_nodes(p, size);
	printf("%s: ", what);
	for (int n = 0; n < VM_MAX_NODES; n++) {
		long count = 0;
		for (size_t i = 0; i < size / test_page_size(); i++)
			count += where[i] == n;
		if (count)
			printf("node%d=%ld ", n, count);
	}
	printf("(4K pages)\n");
	return where;
}

/* ---- modes ----------------------------------------------------------------- */

#define THP_ENABLED "/sys/kernel/mm/transparent_hugepage/enabled"
static char thp_saved[32];

static void thp_write(const char *mode)
{
	FILE *f = fopen(THP_ENABLED, "w");
	if (f) {
		fputs(mode, f);
		fclose(f);
	}
}

static void thp_restore(void)
{
	thp_write(thp_saved);
}

/* THP "madvise" for this test (the VM boots with "always", where any
 * block would get huge pages): only the shim's advice gives them. */
static void thp_madvise_only(void)
{
	FILE *f = fopen(THP_ENABLED, "r");
	CHECK(f != NULL, "cannot read " THP_ENABLED);
	char text[128] = "";
	CHECK(fgets(text, sizeof(text), f) != NULL, THP_ENABLED " is empty");
	fclose(f);
	char *open = strchr(text, '['), *close = open ? strchr(open, ']') : NULL;
	CHECK(close != NULL, "odd " THP_ENABLED ": %s", text);
	snprintf(thp_saved, sizeof(thp_saved), "%.*s", (int)(close - open - 1), open + 1);
	atexit(thp_restore);
	thp_write("madvise");
}

static void check_thp(const struct vm_nodes *vm)
{
	thp_madvise_only();
	if (!test_thp_usable())
		test_skip_dependency("transparent huge pages are off in this kernel (need always or madvise)");
	/* Pieces of a region, one after the other: each on a huge page. */
	void *piece[2];
	for (int i = 0; i < 2; i++) {
		piece[i] = malloc(5 * MiB + 4096);
		CHECK(piece[i] != NULL, "malloc(5 MiB + 4K) failed");
		EXPECT((uintptr_t)piece[i] % HUGE == 0, "thp: a 5 MiB block at %p does not start on a huge page",
		       piece[i]);
	}
	size_t size = 64 * MiB, per_huge = HUGE / test_page_size();
	char *p = malloc(size);
	CHECK(p != NULL, "malloc(64 MiB) failed");
	EXPECT((uintptr_t)p % HUGE == 0, "thp: the block %p does not start on a huge page", (void *)p);
	memset(p, 1, size);
	long anon_huge = smaps_kb(p, "AnonHugePages:");
	printf("thp: AnonHugePages of the block's mapping: %ld kB\n", anon_huge);
	EXPECT(anon_huge >= (long)(size >> 10), "thp: AnonHugePages %ld kB, the block is %zu kB", anon_huge, size >> 10);
	int *where = nodes_of("thp", p, size);
	int prev = -1, mixed = 0, out_of_turn = 0;
	for (size_t h = 0; h < size / HUGE; h++) {
		int node = where[h * per_huge];
		for (size_t i = 1; i < per_huge; i++)
			mixed += where[h * per_huge + i] != node;
		if (prev >= 0 && node != (prev + 1) % vm->count)
			out_of_turn++;
		prev = node;
	}
	EXPECT(mixed == 0, "thp: %d small pages not on the node of their huge page", mixed);
	EXPECT(out_of_turn == 0, "thp: %d huge pages not on the node after their predecessor's", out_of_turn);
	free(where);
	free(p);
	free(piece[0]);
	free(piece[1]);
	shim_test_report(shim_test_report_buf, sizeof(shim_test_report_buf), 1);
	EXPECT(strstr(shim_test_report_buf, "\"pages\":{\"mode\":\"thp\",\"page_size\":2097152") != NULL,
	       "thp: the report has no thp pages object: %.300s", strstr(shim_test_report_buf, "\"rules\""));
}

/* Fails unless every page of [p, p + size) is on node. */
static void check_on(const char *what, const void *p, size_t size, int node)
{
	int *where = nodes_of(what, p, size);
	size_t off = 0;
	for (size_t i = 0; i < size / test_page_size(); i++)
		off += where[i] != node;
	EXPECT(off == 0, "%s: %zu pages not on node %d", what, off, node);
	free(where);
}

static void check_huge(int node)
{
	pool_set(node, 90);
	pool_set(0, node ? 8 : 90);
	long before = pool_read(node, "free_hugepages"), before0 = pool_read(0, "free_hugepages");
	char *p = malloc(64 * MiB);
	CHECK(p != NULL, "huge: malloc(64 MiB) failed");
	EXPECT(pool_read(node, "free_hugepages") == before - 32, "huge: node %d's pool went from %ld to %ld free pages, "
	       "not %ld", node, before, pool_read(node, "free_hugepages"), before - 32);
	if (node)
		EXPECT(pool_read(0, "free_hugepages") == before0, "huge: node 0's pool lost pages");
	EXPECT(smaps_kb(p, "KernelPageSize:") == 2048, "huge: the block's page size is %ld kB",
	       smaps_kb(p, "KernelPageSize:"));
	for (size_t i = 0; i < 64 * MiB; i++)
		p[i] = (char)(i * 7);
	check_on("huge", p, 64 * MiB, node);
	p = realloc(p, 96 * MiB);
	CHECK(p != NULL, "huge: realloc to 96 MiB failed");
	size_t bad = 0;
	for (size_t i = 0; i < 64 * MiB; i++)
		bad += p[i] != (char)(i * 7);
	EXPECT(bad == 0, "huge: realloc lost %zu bytes", bad);
	memset(p + 64 * MiB, 3, 32 * MiB);
	EXPECT(smaps_kb(p, "KernelPageSize:") == 2048, "huge: after realloc the page size is %ld kB",
	       smaps_kb(p, "KernelPageSize:"));
	check_on("huge after realloc", p, 96 * MiB, node);
	free(p);
	malloc_trim(0);
	EXPECT(pool_read(node, "free_hugepages") == before, "huge: after free and malloc_trim node %d's pool has %ld "
	       "free pages, %ld before: huge pages leaked", node, pool_read(node, "free_hugepages"), before);
	shim_test_report(shim_test_report_buf, sizeof(shim_test_report_buf), 1);
	char want[128];
	snprintf(want, sizeof(want), "\"huge_fallbacks\":0,\"huge_pages\":[{\"node\":%d,\"pages\":80}]", node);
	EXPECT(strstr(shim_test_report_buf, want) != NULL, "huge: the report lacks %s: %.400s", want,
	       strstr(shim_test_report_buf, "\"rules\""));

	/* Most of the node in its pool (as sites do with HBM): the pool
	 * serves more than the node's normal free memory. */
	long free_kb = vm_node_meminfo_kb(node, "MemFree");
	pool_set(node, pool_read(node, "free_hugepages") + (free_kb - 48 * 1024) / 2048);
	printf("huge: node %d: %ld kB free besides %ld free huge pages\n", node, vm_node_meminfo_kb(node, "MemFree"),
	       pool_read(node, "free_hugepages"));
	before = pool_read(node, "free_hugepages");
	p = malloc(96 * MiB);
	CHECK(p != NULL, "huge: malloc(96 MiB) failed");
	EXPECT(pool_read(node, "free_hugepages") == before - 48 && smaps_kb(p, "KernelPageSize:") == 2048,
	       "huge: with %ld kB of normal memory free on node %d, a 96 MiB block took %ld of its %ld huge pages, page "
	       "size %ld kB", vm_node_meminfo_kb(node, "MemFree"), node, before - pool_read(node, "free_hugepages"),
	       before, smaps_kb(p, "KernelPageSize:"));
	free(p);
}

/* interleave:0,H+huge:2M: huge pages from both pools, in turn; one pool
 * short of its share (the kernel would take it from a third node's):
 * normal pages. */
static void check_interleave_huge(int node)
{
	if (node == 0)
		test_skip_hardware("needs two nodes");
	pool_set(0, 8);
	pool_set(node, 8);
	int other = node == 1 ? -1 : 1; /* a node outside the set, with pages */
	if (other > 0)
		pool_set(other, 16);
	char *p = malloc(32 * MiB);
	CHECK(p != NULL, "interleave-huge: malloc(32 MiB) failed");
	memset(p, 1, 32 * MiB);
	EXPECT(pool_read(0, "free_hugepages") == 0 && pool_read(node, "free_hugepages") == 0,
	       "interleave-huge: nodes 0 and %d's pools have %ld and %ld free pages left, want none", node,
	       pool_read(0, "free_hugepages"), pool_read(node, "free_hugepages"));
	EXPECT(smaps_kb(p, "KernelPageSize:") == 2048, "interleave-huge: the page size is %ld kB",
	       smaps_kb(p, "KernelPageSize:"));
	int *where = nodes_of("interleave-huge", p, 32 * MiB), out_of_turn = 0;
	size_t per_huge = HUGE / test_page_size();
	for (size_t h = 1; h < 16; h++)
		out_of_turn += where[h * per_huge] == where[(h - 1) * per_huge] ||
		               (where[h * per_huge] != 0 && where[h * per_huge] != node);
	EXPECT(out_of_turn == 0, "interleave-huge: %d huge pages not on the other node of the set", out_of_turn);
	free(where);
	free(p);
	malloc_trim(0);
	pool_set(0, 12); /* enough for both shares together, node H not for its own */
	pool_set(node, 4);
	long before = other > 0 ? pool_read(other, "free_hugepages") : 0;
	p = malloc(32 * MiB);
	CHECK(p != NULL, "interleave-huge: malloc(32 MiB) failed");
	memset(p, 1, 32 * MiB);
	EXPECT(smaps_kb(p, "KernelPageSize:") == 4, "interleave-huge: node %d short of its share, the page size is "
	       "%ld kB", node, smaps_kb(p, "KernelPageSize:"));
	EXPECT(other < 0 || pool_read(other, "free_hugepages") == before,
	       "interleave-huge: node %d's pool served an interleave over 0,%d", other, node);
	free(p);
}

/* The shim's stderr during fn, into buf. */
static void capture_stderr(char *buf, size_t len, void (*fn)(int), int node)
{
	fflush(stderr);
	FILE *tmp = tmpfile();
	CHECK(tmp != NULL, "tmpfile failed");
	int saved = dup(2);
	dup2(fileno(tmp), 2);
	fn(node);
	dup2(saved, 2);
	close(saved);
	rewind(tmp);
	size_t n = fread(buf, 1, len - 1, tmp);
	buf[n] = '\0';
	fclose(tmp);
}

/* Both live at once: the second cannot reuse the first's block. */
static void two_mallocs(int node)
{
	char *p[2];
	for (int i = 0; i < 2; i++) {
		p[i] = malloc(64 * MiB);
		CHECK(p[i] != NULL, "empty: malloc(64 MiB) failed");
		memset(p[i], 1, 64 * MiB);
		EXPECT(smaps_kb(p[i], "KernelPageSize:") == 4, "empty: the fallback's page size is %ld kB",
		       smaps_kb(p[i], "KernelPageSize:"));
		check_on("empty", p[i], 64 * MiB, node);
	}
	free(p[0]);
	free(p[1]);
}

static void check_empty(int node)
{
	pool_set(node, 0);
	pool_set(0, node ? 40 : 0);
	long before0 = pool_read(0, "free_hugepages");
	char err[4096];
	capture_stderr(err, sizeof(err), two_mallocs, node);
	printf("empty: the shim said: %s", err);
	int warnings = 0;
	for (const char *s = err; (s = strstr(s, "huge pages where it goes")); s++)
		warnings++;
	EXPECT(warnings == 1, "empty: %d warnings about the empty pool, want one", warnings);
	EXPECT(pool_read(0, "free_hugepages") == before0, "empty: node 0's pool served a node %d rule", node);
	shim_test_report(shim_test_report_buf, sizeof(shim_test_report_buf), 1);
	EXPECT(strstr(shim_test_report_buf, "\"huge_fallbacks\":2,\"huge_pages\":[]") != NULL,
	       "empty: the report does not count two fallbacks: %.400s", strstr(shim_test_report_buf, "\"rules\""));
}

static void check_strict(int node)
{
	pool_set(node, 0);
	errno = 0;
	void *p = malloc(64 * MiB);
	int err = errno;
	EXPECT(p == NULL && err == ENOMEM, "strict: malloc(64 MiB) from an empty pool gave %p, errno %d", p, err);
	free(p);
}

/* A name is node bits only once resolved: the pool looked at is node 2's. */
static void check_named(void)
{
	pool_set(2, 40);
	pool_set(0, 8);
	long before = pool_read(2, "free_hugepages"), before0 = pool_read(0, "free_hugepages");
	char *p = malloc(32 * MiB);
	CHECK(p != NULL, "named: malloc(32 MiB) failed");
	memset(p, 1, 32 * MiB);
	EXPECT(pool_read(2, "free_hugepages") == before - 16, "named: node 2's pool went from %ld to %ld free pages, "
	       "not %ld", before, pool_read(2, "free_hugepages"), before - 16);
	EXPECT(pool_read(0, "free_hugepages") == before0, "named: node 0's pool lost pages");
	EXPECT(smaps_kb(p, "KernelPageSize:") == 2048, "named: the block's page size is %ld kB",
	       smaps_kb(p, "KernelPageSize:"));
	check_on("named", p, 32 * MiB, 2);
	free(p);
}

int main(int argc, char **argv)
{
	struct vm_nodes vm = vm_start_nodes();
	int node = vm.count > 2 ? 2 : vm.count - 1;
	snprintf(huge_rule, sizeof(huge_rule), "AMLSHIM_RULES=1M-=bind:%d+huge:2M", node);
	snprintf(interleave_rule, sizeof(interleave_rule), "AMLSHIM_RULES=1M-=interleave:0,%d+huge:2M", node);
	int m = shim_test_mode_start(argv, modes, MODES);
	if (m >= 0) {
		for (int n = 0; n < vm.count && n < VM_MAX_NODES; n++)
			saved_pool[n] = pool_read(n, "nr_hugepages");
		saved_count = vm.count;
		atexit(pools_restore);
		vm_run_on_node(0);
		if (m == 0)
			check_thp(&vm);
		else if (m == 1)
			check_huge(node);
		else if (m == 2)
			check_interleave_huge(node);
		else if (m == 3)
			check_empty(node);
		else if (m == 4)
			check_strict(node);
		else if (vm.count > 2)
			check_named();
		else
			test_skip_dependency("the VM has no node 2 (HBM-like)");
		return shim_test_expect_summary("shim_page_size");
	}
	int failed = shim_test_run_modes(argc, argv, modes, MODES, 300);
	if (failed)
		return shim_test_expect_summary("shim_page_size");
	printf("shim_page_size: interleave+thp by huge page, bind:%d+huge:2M from node %d's pool, fallback and strict, bind:hbm@socket+huge:2M from node 2's pool\n",
	       node, node);
	return 0;
}
