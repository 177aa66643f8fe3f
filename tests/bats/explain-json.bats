#!/usr/bin/env bats
# amlshim --explain --json: valid JSON (python's json module) holding the
# same facts as --explain with the same options, line by line
# (tests/bats/data/explain_json_check.py), on this machine and on XML
# topologies with HMAT and SLIT; bad option values still exit 2.

load helpers

setup() {
	clean_environment
	require_build cli
	require_tool "$PYTHON"
}

# same_as_text ARG...: --explain and --explain --json with ARGs agree.
same_as_text() {
	"$AMLSHIM" --explain "$@" >"$BATS_TEST_TMPDIR/text" || fail "--explain $* failed"
	"$AMLSHIM" --explain --json "$@" >"$BATS_TEST_TMPDIR/json" || fail "--explain --json $* failed"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/json")" -eq 1 ] || fail "not one line"
	"$PYTHON" "$DATA/explain_json_check.py" "$BATS_TEST_TMPDIR/text" "$BATS_TEST_TMPDIR/json" ||
		fail "--explain --json $* differs from the text (above)"
}

@test "--explain --json: the same facts as --explain, policy from an option" {
	same_as_text --policy=interleave
	"$PYTHON" - "$BATS_TEST_TMPDIR/json" <<'PY' || fail "fields"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["settings"][0] == {"name": "AMLSHIM_POLICY", "value": "interleave", "from": "--policy"}, j["settings"][0]
rule = [r for r in j["ranges"] if r["policy"]][0]
assert rule["min"] == 1 << 20 and rule["max"] is None and rule["resolved"][0]["area"].startswith("area-linux")
assert j["stats"] == "none" and j["strict"] is False and j["bad_values"] == 0
PY
}

@test "--explain --json: rules, fallbacks, strict, stats and inherited (bad) values" {
	local node
	node=$(unavailable_node)
	same_as_text --rules="0-64K=local;64K-8M=bind:$node;8M-=block-interleave:2M" --small=bind:"$node" --strict \
		--stats=json --stats-file=/tmp/r.%p.json --mmap=off --log=info
	AMLSHIM_THRESHOLD=lots same_as_text --policy=bandwidth
	AMLSHIM_POLICY=latency AMLSHIM_THRESHOLD=64K same_as_text
	# Any bytes in an inherited value still give valid JSON.
	AMLSHIM_POLICY=$'x"\\\x01\xff' same_as_text
	same_as_text
}

@test "--explain --json on XML topologies: HMAT values and units, SLIT distances" {
	local xml
	for xml in two-socket-hbm four-node-slit no-attributes; do
		HWLOC_XMLFILE=$TESTS_ROOT/tests/topologies/$xml.xml HWLOC_THISSYSTEM=0 same_as_text --policy=bandwidth
	done
	HWLOC_XMLFILE=$TESTS_ROOT/tests/topologies/two-socket-hbm.xml HWLOC_THISSYSTEM=0 \
		"$AMLSHIM" --explain --json >"$BATS_TEST_TMPDIR/hbm.json"
	"$PYTHON" - "$BATS_TEST_TMPDIR/hbm.json" <<'PY' || fail "HMAT fields"
import json, sys
j = json.load(open(sys.argv[1]))
r = [x for x in j["rankings"] if x["cpus"] == "0-1"][0]
assert r["nodes"] == [0, 2], r["nodes"]
assert r["bandwidth"]["source"] == "memory-attributes" and r["bandwidth"]["unit"] == "MiB/s", r["bandwidth"]
assert r["bandwidth"]["order"][0]["node"] == 2 and r["bandwidth"]["order"][0]["value"] > 0
assert [n for n in j["nodes"] if n["node"] == 2][0]["subtype"] == "HBM"
PY
}

@test "--explain --json: a bad option value exits 2 with the shim's line; --json alone is a usage error" {
	run --separate-stderr "$AMLSHIM" --explain --json --policy=bogus
	assert_equal "$status" 2
	assert_output ''
	assert_equal "$stderr" "$(bad_value_line AMLSHIM_POLICY "'bogus'" "unknown policy 'bogus'")"
	run --separate-stderr "$AMLSHIM" --json /bin/true
	assert_equal "$status" 2
	[[ $stderr == "amlshim: --json goes with --explain"* ]] || fail "stderr: $stderr"
}
