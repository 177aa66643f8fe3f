#!/usr/bin/env bats
# Page size per rule on the host (one node; the VM test vm/shim_page_size
# checks the pages): a huge page size the kernel has no pool of is said
# once at start-up and its allocations get normal pages, counted (strict:
# they fail); +thp and +huge:SIZE show in the report and in --explain; a
# size that is no power of two is refused by the parser.

load helpers

setup() {
	clean_environment
	require_build
	require_tool "$PYTHON"
}

# report_check FILE PYTHON-EXPRESSION...: each expression about the first
# rule's "pages" object p (and the rule, rule) must be true.
report_check() {
	local file=$1
	shift
	"$PYTHON" - "$file" "$@" <<'PY'
import json, sys
rule = json.load(open(sys.argv[1]))["rules"][0]
p = rule.get("pages", {})
bad = [e for e in sys.argv[2:] if not eval(e)]
for e in bad:
    print("false: %s\nrule: %s" % (e, json.dumps(rule)))
sys.exit(1 if bad else 0)
PY
}

no_64k_pool() {
	[ -d /sys/kernel/mm/hugepages ] || skip "this kernel has no hugetlb pools"
	[ ! -d /sys/kernel/mm/hugepages/hugepages-64kB ] || skip "this kernel has a 64K huge page pool"
}

@test "+huge:64K with no 64K pool: one line at start-up, normal pages, the fallbacks counted" {
	no_64k_pool
	run --separate-stderr env LD_PRELOAD="$SHIM" AMLSHIM_POLICY=bind:0+huge:64K AMLSHIM_STATS=json \
		AMLSHIM_STATS_FILE="$BATS_TEST_TMPDIR/report.json" "$PYTHON" -c "b=bytearray(8<<20); c=bytearray(8<<20); print(len(b)+len(c))"
	assert_success
	assert_output "$((16 << 20))"
	[ "${#stderr_lines[@]}" -eq 1 ] || fail "stderr has ${#stderr_lines[@]} lines: $stderr"
	[[ $stderr == "amlshim: bind:0+huge:64K: the kernel has no 64K huge page pool (it has: "*"); normal pages" ]] ||
		fail "stderr: $stderr"
	report_check "$BATS_TEST_TMPDIR/report.json" 'p["mode"] == "hugetlb"' 'p["page_size"] == 64 << 10' \
		'p["huge_fallbacks"] >= 2' 'p["huge_pages"] == []' 'rule["count"] >= 2'
}

@test "bind:local+huge:2M: the pools looked at are the named set's nodes (node 0), not none" {
	local pool=/sys/kernel/mm/hugepages/hugepages-2048kB
	[ -d $pool ] || skip "this kernel has no 2M huge page pool"
	[ "$(cat $pool/free_hugepages)" -lt 4 ] || skip "the 2M pool has free pages: no fallback to see"
	local node
	node=$(cut -d, -f1 /sys/devices/system/node/has_cpu | cut -d- -f1)
	run --separate-stderr env LD_PRELOAD="$SHIM" AMLSHIM_POLICY=bind:local+huge:2M "$PYTHON" -c "b=bytearray(8<<20)"
	assert_success
	[[ $stderr == *"bind:local+huge:2M: a "*" KiB allocation found too few free 2M huge pages where it goes (node $node); normal pages instead"* ]] ||
		fail "stderr: $stderr"
}

@test "+huge:64K with no 64K pool, AMLSHIM_STRICT=1: the allocation fails" {
	no_64k_pool
	run --separate-stderr env LD_PRELOAD="$SHIM" AMLSHIM_POLICY=bind:0+huge:64K AMLSHIM_STRICT=1 \
		"$PYTHON" -c "b=bytearray(8<<20)"
	[ "$status" -eq 1 ] || fail "status $status, stderr: $stderr"
	[[ $stderr == *"MemoryError"* ]] || fail "stderr: $stderr"
	[[ $stderr == *"no 64K huge page pool"*"AMLSHIM_STRICT=1: its allocations fail"* ]] || fail "stderr: $stderr"
}

@test "interleave+thp: the report says MADV_HUGEPAGE and the huge page size" {
	[ -r /sys/kernel/mm/transparent_hugepage/hpage_pmd_size ] || skip "this kernel has no THP"
	local pmd
	pmd=$(cat /sys/kernel/mm/transparent_hugepage/hpage_pmd_size)
	run --separate-stderr env LD_PRELOAD="$SHIM" AMLSHIM_POLICY=interleave+thp AMLSHIM_STATS=json \
		AMLSHIM_STATS_FILE="$BATS_TEST_TMPDIR/report.json" "$PYTHON" -c "b=bytearray(8<<20)"
	assert_success
	report_check "$BATS_TEST_TMPDIR/report.json" 'p["mode"] == "thp"' "p[\"page_size\"] == $pmd"
	run --separate-stderr env LD_PRELOAD="$SHIM" AMLSHIM_POLICY=interleave+thp AMLSHIM_STATS=1 \
		"$PYTHON" -c "b=bytearray(8<<20)"
	assert_success
	[[ $stderr == *"interleave+thp"*"pages: MADV_HUGEPAGE, blocks aligned to the huge page"* ]] ||
		fail "stderr: $stderr"
}

@test "+huge:3M: one line naming the variable, the value and what is accepted" {
	run --separate-stderr env LD_PRELOAD="$SHIM" AMLSHIM_POLICY=interleave+huge:3M "$PYTHON" -c "print(1)"
	assert_success
	assert_output 1
	[ "${#stderr_lines[@]}" -eq 1 ] || fail "stderr has ${#stderr_lines[@]} lines: $stderr"
	[[ $stderr == *AMLSHIM_POLICY*"3M"*"power of two of at least 64K"* ]] || fail "stderr: $stderr"
}

@test "--explain: the modifier, and for huge pages the pool's free pages per node (text and JSON)" {
	[ -d /sys/kernel/mm/hugepages/hugepages-2048kB ] || skip "this kernel has no 2M huge page pool"
	run "$AMLSHIM" --policy=bind:0+huge:2M --explain
	assert_success
	[[ $output == *"bind:0+huge:2M"*"pages: 2M huge pages from the kernel's pool; free now: node 0: "* ]] ||
		fail "output: $output"
	run "$AMLSHIM" --policy=interleave+thp --explain
	assert_success
	[[ $output == *"pages: transparent huge pages: blocks aligned to "* ]] || fail "output: $output"
	run --separate-stderr "$AMLSHIM" --policy=bind:0+huge:2M --explain --json
	assert_success
	"$PYTHON" -c '
import json, sys
r = [x for x in json.loads(sys.argv[1])["ranges"] if x["policy"]][0]
p = r["pages"]
assert p["mode"] == "hugetlb" and p["huge_size"] == 2 << 20 and p["pool"], p
assert p["free_per_node"][0]["node"] == 0 and p["free_per_node"][0]["free"] >= 0, p
' "$output" || fail "json: $output"
}
