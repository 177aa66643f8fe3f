/* Large blocks made of freed memory keep their placement, page by page.
 * tests/vm/programs/large_split.c frees neighbours, allocates pieces of
 * other sizes, reallocs smaller and larger and frees in another order (an
 * allocator that splits and coalesces freed blocks hands out pieces of
 * them; one that caches whole blocks reuses those), writes every usable
 * byte and checks it back, and prints the node of every page of every live
 * block at two checkpoints. Run plainly once (its content checks), then
 * from node 0's CPUs under each policy:
 *
 * - interleave:0,1: every page on node 0 or 1, each of the two within a
 *   fifth of its share of the block's pages (at least 40%), or one huge
 *   page and one where THP is "always": the kernel interleaves a huge page
 *   as a unit;
 * - bind:1, and bandwidth (node 0's best bandwidth node, 2 in the 4-node
 *   VM): every page on that node;
 * - block-interleave:2M:0,1 (lazy: huge pages), block-interleave:2M over
 *   every node, block-interleave:1M:0,1 (eager: populated at malloc):
 *   block b of each allocation, counted from its own first page, wholly on
 *   node b mod n of the set;
 * - weighted-interleave:0*3,3*1, weighted-interleave:0*1,1*2,2*1 and, in
 *   the 4-node VM, weighted-interleave (auto: from node 0, HMAT bandwidth
 *   100, 400 and 25 GiB/s to nodes 0, 2 and 3, node 1 without a value:
 *   weights 4:16:1 over {0,2,3}): page i of each allocation, counted from
 *   its own first page, on the node the weights' pattern gives for i.
 *
 * Each live block starts on a page; every page is resident on a node;
 * the content is intact; the report's rule counted the allocations, reused
 * freed memory at least once, and nothing fell back to the kernel default. */
#include "shim_vm.h"

#define MAX_PAGES (64L << 8) /* a 64 MiB block, the program's largest is 40 */
#define BLOCKS_PER_CHECKPOINT 6
#define PROGRAM_MALLOCS 11

enum expect { SPREAD, ONE_NODE, BLOCKS, WEIGHTED };

struct policy {
	char text[64];
	enum expect expect;
	int set[VM_MAX_NODES], count;
	size_t block_bytes;
	unsigned weights[VM_MAX_NODES]; /* WEIGHTED: of set[], in order */
};

static int where[MAX_PAGES];

/* One block line of the program's output: its pages checked against p. */
static void check_block(const char *what, const struct policy *p, const char *line)
{
	char name;
	size_t size, usable, offset, pages, errors;
	int first_error, used;
	if (sscanf(line, "block %c size %zu usable %zu offset %zu pages %zu errors %zu first-error %d nodes %n", &name,
	           &size, &usable, &offset, &pages, &errors, &first_error, &used) != 7) {
		EXPECT(0, "%s: odd line '%.80s'", what, line);
		return;
	}
	const char *nodes = line + used;
	EXPECT(offset == 0, "%s: block %c (%zu bytes) starts %zu bytes into a page", what, name, size, offset);
	EXPECT(errors == 0, "%s: block %c (%zu bytes): %zu of %zu pages on no node (move_pages status %d)", what, name,
	       size, errors, pages, first_error);
	if (pages > MAX_PAGES || strspn(nodes, "0123456789x") < pages) {
		EXPECT(0, "%s: block %c: %zu pages, the line has %zu nodes", what, name, pages, strspn(nodes, "0123456789x"));
		return;
	}

	long per_node[VM_MAX_NODES] = {0}, outside = 0, first_outside = -1;
	for (size_t i = 0; i < pages; i++) {
		where[i] = nodes[i] == 'x' ? -1 : nodes[i] - '0';
		int in_set = 0;
		for (int k = 0; k < p->count; k++)
			in_set |= where[i] == p->set[k];
		if (in_set)
			per_node[where[i]]++;
		else if (!outside++)
			first_outside = (long)i;
	}
	char counts[160];
	int len = 0;
	for (int k = 0; k < p->count && len < (int)sizeof(counts) - 24; k++)
		len += snprintf(counts + len, sizeof(counts) - (size_t)len, " node%d=%ld", p->set[k], per_node[p->set[k]]);
	printf("%s: block %c, %zu bytes, %zu pages:%s%s\n", what, name, size, pages, counts,
	       outside ? " and pages elsewhere" : "");
	EXPECT(outside == 0, "%s: block %c (%zu bytes): %ld of %zu pages outside the policy's nodes, the first page %ld "
	       "on node %d", what, name, size, outside, pages, first_outside,
	       first_outside >= 0 ? where[first_outside] : 0);

	if (p->expect == SPREAD) {
		double share = (double)pages / p->count, slack = share / 5;
		if (test_thp_always() && slack < 513)
			slack = 513;
		for (int k = 0; k < p->count; k++)
			EXPECT(per_node[p->set[k]] >= share - slack,
			       "%s: block %c (%zu bytes): node %d holds %ld of its %zu pages, want at least %.0f", what,
			       name, size, p->set[k], per_node[p->set[k]], pages, share - slack);
	} else if (p->expect == BLOCKS) {
		size_t block_pages = p->block_bytes / test_page_size();
		size_t wrong = test_blocks_misplaced(what, where, pages, block_pages, p->set, p->count);
		EXPECT(wrong == 0, "%s: block %c (%zu bytes): %zu of %zu pages not on the node of their %zu KiB block "
		       "(counted from the block's first page)", what, name, size, wrong, pages, p->block_bytes >> 10);
	} else if (p->expect == WEIGHTED) {
		size_t wrong = 0, first_wrong = 0;
		for (size_t i = 0; i < pages; i++)
			if (where[i] != test_weighted_node(p->set, p->weights, p->count, i) && !wrong++)
				first_wrong = i;
		EXPECT(wrong == 0, "%s: block %c (%zu bytes): %zu of %zu pages off the weights' pattern from the "
		       "block's first page, the first page %zu on node %d", what, name, size, wrong, pages, first_wrong,
		       wrong ? where[first_wrong] : 0);
	}
}

/* The program's checkpoint `name`: its line, then one line per block. */
static void check_checkpoint(const char *what, const struct policy *p, const char *out, const char *name)
{
	char head[64], label[160];
	snprintf(head, sizeof(head), "checkpoint %s: %d blocks\n", name, BLOCKS_PER_CHECKPOINT);
	const char *line = strstr(out, head);
	if (!line) {
		EXPECT(0, "%s: no line '%.*s' in the program's output", what, (int)strlen(head) - 1, head);
		return;
	}
	snprintf(label, sizeof(label), "%s, at %s", what, name);
	line += strlen(head);
	for (int i = 0; i < BLOCKS_PER_CHECKPOINT; i++) {
		check_block(label, p, line);
		const char *end = strchr(line, '\n');
		if (!end)
			break;
		line = end + 1;
	}
}

/* The program's lines but the page maps. */
static void print_summary(const char *heading, const char *out)
{
	printf("%s:\n", heading);
	for (const char *line = out; *line;) {
		const char *end = strchr(line, '\n');
		int len = end ? (int)(end - line) : (int)strlen(line);
		if (strncmp(line, "block ", 6) != 0)
			printf("    %.*s\n", len, line);
		line += len + (end ? 1 : 0);
	}
}

static void check_policy(const struct policy *p, char *const *argv)
{
	char what[96], var[96];
	snprintf(what, sizeof(what), "large_split, %.63s", p->text);
	snprintf(var, sizeof(var), "AMLSHIM_POLICY=%.63s", p->text);
	char *env[] = {var, NULL};
	vm_run_on_node(0);
	struct shim_vm_run run = shim_vm_spawn(argv, env, 1);
	print_summary("under the shim, stdout", run.out);
	shim_vm_print_output("under the shim, stderr", run.err);
	EXPECT(run.status == 0, "%s: exited with %d", what, run.status);
	EXPECT(run.err[0] == '\0', "%s: the shim or the program wrote to stderr", what);
	EXPECT(strstr(run.out, "large_split: content kept\n") != NULL, "%s: the content was not kept", what);
	check_checkpoint(what, p, run.out, "reuse");
	check_checkpoint(what, p, run.out, "end");

	if (!run.report) {
		EXPECT(0, "%s: no report", what);
		shim_vm_run_free(&run);
		return;
	}
	struct shim_vm_report r = shim_vm_parse_report(run.report);
	struct shim_rule_stats rule = shim_test_rule_in(run.report, (size_t)1 << 20);
	printf("%s: the rule took %lu allocations (%ld from freed memory, %lu moved by realloc), %lu fallbacks\n", what,
	       r.count, rule.reuses, r.moves, r.fallbacks);
	EXPECT(strcmp(r.policy, p->text) == 0, "%s: the report's rule is '%s'", what, r.policy);
	EXPECT(r.count >= PROGRAM_MALLOCS, "%s: the rule counted %lu allocations, the program made %d", what, r.count,
	       PROGRAM_MALLOCS);
	EXPECT(rule.reuses >= 1, "%s: no allocation was served from freed memory: the test proves nothing", what);
	EXPECT(r.fallbacks == 0 && !strstr(r.area, "kernel default"), "%s: %lu allocations fell back (area '%s')", what,
	       r.fallbacks, r.area);
	shim_vm_run_free(&run);
}

static struct policy make_policy(const char *text, enum expect expect, const char *nodes, size_t block_bytes)
{
	struct policy p;
	memset(&p, 0, sizeof(p));
	snprintf(p.text, sizeof(p.text), "%s", text);
	p.expect = expect;
	p.count = test_parse_list(nodes, p.set, VM_MAX_NODES);
	CHECK(p.count > 0, "bad node list %s", nodes);
	p.block_bytes = block_bytes;
	return p;
}

static struct policy weighted(const char *text, const char *nodes, const unsigned *weights)
{
	struct policy p = make_policy(text, WEIGHTED, nodes, 0);
	memcpy(p.weights, weights, (size_t)p.count * sizeof(*weights));
	return p;
}

int main(void)
{
	struct vm_nodes vm = vm_start_nodes();
	setvbuf(stdout, NULL, _IOLBF, 0); /* in order with the failures on stderr */
	char all[64] = "", best[16];
	for (int n = 0; n < vm.count; n++) /* "0,1,2,3": test_parse_list knows no ranges */
		snprintf(all + strlen(all), sizeof(all) - strlen(all), "%s%d", n ? "," : "", n);
	int bw = vm_env_int("AMLVM_BW_BEST");
	CHECK(bw == shim_vm_best_bandwidth_from(0), "AMLVM_BW_BEST %d, AMLVM_HMAT_LOCAL says %d", bw,
	      shim_vm_best_bandwidth_from(0));
	snprintf(best, sizeof(best), "%d", bw);
	const struct policy policies[] = {
		make_policy("interleave:0,1", SPREAD, "0,1", 0),
		make_policy("bind:1", ONE_NODE, "1", 0),
		make_policy("bandwidth", ONE_NODE, best, 0),
		make_policy("block-interleave:2M:0,1", BLOCKS, "0,1", 2UL << 20),
		make_policy("block-interleave:2M", BLOCKS, all, 2UL << 20),
		make_policy("block-interleave:1M:0,1", BLOCKS, "0,1", 1UL << 20),
		/* Nodes 3 and 2 where the VM has them (VM_NODES=2 has 0 and 1). */
		vm.count >= 4 ? weighted("weighted-interleave:0*3,3*1", "0,3", (const unsigned[]){3, 1})
		              : weighted("weighted-interleave:0*3,1*1", "0,1", (const unsigned[]){3, 1}),
		vm.count >= 4 ? weighted("weighted-interleave:0*1,1*2,2*1", "0,1,2", (const unsigned[]){1, 2, 1})
		              : weighted("weighted-interleave:0*1,1*2", "0,1", (const unsigned[]){1, 2}),
		/* Auto: the 4-node VM's HMAT (the other sizes have other values). */
		weighted(vm.count == 4 ? "weighted-interleave" : "weighted-interleave:0*1", vm.count == 4 ? "0,2,3" : "0",
		         (const unsigned[]){4, 16, 1}),
	};

	char *argv[] = {(char *)shim_vm_program("large_split"), NULL};
	vm_run_on_node(0);
	struct shim_vm_run plain = shim_vm_spawn(argv, NULL, 0);
	print_summary("plain run, stdout", plain.out);
	shim_vm_print_output("plain run, stderr", plain.err);
	CHECK(plain.status == 0 && strstr(plain.out, "large_split: content kept\n"),
	      "the plain run exited with %d, content not kept", plain.status);
	shim_vm_run_free(&plain);
	for (size_t i = 0; i < sizeof(policies) / sizeof(policies[0]); i++)
		check_policy(&policies[i], argv);
	return shim_test_expect_summary("shim_large_split");
}
