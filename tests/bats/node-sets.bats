#!/usr/bin/env bats
# Node set names (local, socket, dram, hbm, cxl, gpu, KIND@socket) as
# amlshim --explain resolves them on XML topologies, seen from one CPU: a
# GH200-like node (two Grace packages, each with its GPU's memory as a
# CPU-less node of subtype GPUMemory) and two sockets with HBM. A name that
# resolves to no node is one warning naming it (strict: exit 2), and the
# JSON report carries the node set each rule resolved to.

load helpers

setup() {
	clean_environment
	require_build cli
	require_tool "$PYTHON"
	require_tool taskset
}

# explain_on XML CPU ARG...: --explain --json on a topology, from one CPU.
explain_on() {
	local xml=$1 cpu=$2
	shift 2
	HWLOC_XMLFILE=$TESTS_ROOT/tests/topologies/$xml.xml HWLOC_THISSYSTEM=0 \
		taskset -c "$cpu" "$AMLSHIM" --explain --json "$@" >"$BATS_TEST_TMPDIR/explain.json" ||
		fail "--explain --json on $xml from CPU $cpu failed"
}

@test "GH200-like topology: gpu is the GPUMemory nodes, socket and a default interleave leave them out" {
	explain_on gh200-two-superchips 0 --policy=interleave
	"$PYTHON" - "$BATS_TEST_TMPDIR/explain.json" <<'PY' || fail "from CPU 0"
import json, sys
j = json.load(open(sys.argv[1]))
s = j["node_sets"]
names = {k: v["nodes"] for k, v in s["names"].items()}
assert names["gpu"] == [2, 3], names
assert names["gpu@socket"] == [2], names
assert names["socket"] == [0], names          # GPU memory only when named
assert names["dram@socket"] == [0], names
assert names["hbm"] == [] and names["cxl"] == [], names
kinds = {k["node"]: k for k in s["kinds"]}
assert kinds[2]["kind"] == "gpu" and kinds[2]["from"] == "hwloc subtype GPUMemory", kinds[2]
assert kinds[3]["kind"] == "gpu", kinds[3]
assert kinds[1]["kind"] == "dram", kinds[1]
# The allowed nodes (this machine's) less the GPU memory nodes.
assert s["interleave_default"] is not None and not set(s["interleave_default"]) & {2, 3}, s
rule = [r for r in j["ranges"] if r["policy"]][0]
assert rule["resolved"][0]["node_set"] is not None, rule
assert not {2, 3} & {int(n) for n in rule["resolved"][0]["node_set"].split(",")}, rule
PY
	explain_on gh200-two-superchips 1
	"$PYTHON" - "$BATS_TEST_TMPDIR/explain.json" <<'PY' || fail "from CPU 1"
import json, sys
names = {k: v["nodes"] for k, v in json.load(open(sys.argv[1]))["node_sets"]["names"].items()}
assert names["gpu@socket"] == [3] and names["socket"] == [1] and names["dram@socket"] == [1], names
PY
	HWLOC_XMLFILE=$TESTS_ROOT/tests/topologies/gh200-two-superchips.xml HWLOC_THISSYSTEM=0 \
		run "$AMLSHIM" --explain --policy=interleave
	assert_success
	assert_line --regexp '^  a default interleave spreads over: [0-9].* \(the allowed nodes less GPU memory\)$'
	assert_line --regexp '^    node 2: gpu \(hwloc subtype GPUMemory\)$'
}

@test "two sockets with HBM: hbm@socket is the HBM node of the CPU's own package" {
	explain_on two-socket-hbm 0
	"$PYTHON" - "$BATS_TEST_TMPDIR/explain.json" <<'PY' || fail "from CPU 0"
import json, sys
s = json.load(open(sys.argv[1]))["node_sets"]
names = {k: v["nodes"] for k, v in s["names"].items()}
assert names["hbm@socket"] == [2] and names["socket"] == [0, 2] and names["hbm"] == [2, 3], names
assert "package 0" in s["names"]["socket"]["from"], s["names"]["socket"]
assert {k["node"]: k["from"] for k in s["kinds"]}[3] == "hwloc subtype HBM", s["kinds"]
assert s["interleave_default"] is None, s   # no GPU memory: every allowed node
PY
	# (its other package holds CPUs 2-3, which a two-CPU host cannot pin to)
}

@test "a name that resolves to no node: one warning naming it, the kernel default; strict exits 2" {
	HWLOC_XMLFILE=$TESTS_ROOT/tests/topologies/two-socket-hbm.xml HWLOC_THISSYSTEM=0 \
		run --separate-stderr "$AMLSHIM" --policy=interleave:gpu -- /bin/true
	assert_success
	[ "${#stderr_lines[@]}" -eq 1 ] || fail "stderr: $stderr"
	[[ $stderr == "amlshim: AMLSHIM_POLICY='interleave:gpu' cannot be applied: 'gpu' resolved to no node"* ]] ||
		fail "stderr: $stderr"
	[[ $stderr == *"; using the kernel default" ]] || fail "stderr: $stderr"
	HWLOC_XMLFILE=$TESTS_ROOT/tests/topologies/two-socket-hbm.xml HWLOC_THISSYSTEM=0 \
		run --separate-stderr "$AMLSHIM" --strict --policy=interleave:gpu -- /bin/true
	assert_equal "$status" 2
	# AMLSHIM_SMALL resolves its names the same way.
	HWLOC_XMLFILE=$TESTS_ROOT/tests/topologies/two-socket-hbm.xml HWLOC_THISSYSTEM=0 \
		run --separate-stderr "$AMLSHIM" --small=bind:cxl@socket -- /bin/sh -c 'exit 0'
	assert_success
	[[ $stderr == "amlshim: AMLSHIM_SMALL='bind:cxl@socket' cannot be applied: 'cxl@socket' resolved to no node"* ]] ||
		fail "stderr: $stderr"
	run --separate-stderr "$AMLSHIM" --small=interleave:local -- /bin/sh -c 'exit 0'
	assert_success
	assert_equal "$stderr" ""
}

@test "the JSON report gives the node set each rule resolved to" {
	run --separate-stderr env AMLSHIM_STATS=json "$AMLSHIM" --rules="1M-2M=interleave:local;2M-=bind:0" -- /bin/true
	assert_success
	"$PYTHON" - <<PY || fail "report: $stderr"
import json
j = json.loads('''$stderr''')
sets = [r["node_set"] for r in j["rules"]]
assert sets[0] and sets[1] == "0", sets
PY
}
