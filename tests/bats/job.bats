#!/usr/bin/env bats
# MPI and batch jobs: the launcher's rank variables as --explain shows them,
# %r and %h in AMLSHIM_STATS_FILE, the job fields of the JSON report, and
# `amlshim report` merging the reports of 4 "ranks" (a real program run 4
# times under the shim with the rank variables set by hand).

load helpers

# Every variable policy/job.c reads: unset, so the job seen is the test's
# own even when the suite runs inside a Slurm or MPI job.
LAUNCHER_VARIABLES=(OMPI_COMM_WORLD_RANK OMPI_COMM_WORLD_LOCAL_RANK OMPI_COMM_WORLD_LOCAL_SIZE
	MV2_COMM_WORLD_RANK MV2_COMM_WORLD_LOCAL_RANK MV2_COMM_WORLD_LOCAL_SIZE PMI_RANK MPI_LOCALRANKID
	MPI_LOCALNRANKS JSM_NAMESPACE_RANK JSM_NAMESPACE_LOCAL_RANK JSM_NAMESPACE_LOCAL_SIZE PALS_RANKID
	PALS_LOCAL_RANKID PALS_LOCAL_SIZE FLUX_TASK_RANK FLUX_TASK_LOCAL_ID SLURM_PROCID SLURM_LOCALID
	SLURM_TASKS_PER_NODE SLURM_NODEID SLURM_NTASKS_PER_NODE PMI_LOCAL_RANK PMI_LOCAL_SIZE PMIX_RANK
	PMIX_LOCAL_RANK)

setup() {
	clean_environment
	unset "${LAUNCHER_VARIABLES[@]}"
	require_build
	require_tool "$PYTHON"
	HOST=$(uname -n)
}

# run_rank RANK LOCAL_RANK LOCAL_SIZE MIB DIR: python3 allocating MIB MiB
# under the shim as Open MPI rank RANK, its JSON report in DIR/r.%r.%h.json.
run_rank() {
	OMPI_COMM_WORLD_RANK=$1 OMPI_COMM_WORLD_LOCAL_RANK=$2 OMPI_COMM_WORLD_LOCAL_SIZE=$3 \
		"$AMLSHIM" --policy=interleave --stats=json --stats-file="$5/r.%r.%h.json" \
		"$PYTHON" -c "b = bytearray($4 << 20); b[::4096] = b'x' * len(b[::4096])"
}

@test "--explain: a Job section with what was found and from which variable" {
	run "$AMLSHIM" --explain
	assert_success
	assert_output --partial $'\nJob:\n  not in a job (no launcher variable set)'

	OMPI_COMM_WORLD_RANK=5 OMPI_COMM_WORLD_LOCAL_RANK=1 OMPI_COMM_WORLD_LOCAL_SIZE=4 SLURM_PROCID=0 \
		run "$AMLSHIM" --explain
	assert_success
	assert_output --partial $'\nJob:\n  launcher: Open MPI\n  rank: 5 (from OMPI_COMM_WORLD_RANK)\n  local rank: 1 (from OMPI_COMM_WORLD_LOCAL_RANK)\n  local size: 4 (from OMPI_COMM_WORLD_LOCAL_SIZE)'

	SLURM_PROCID=6 SLURM_LOCALID=0 SLURM_TASKS_PER_NODE='2(x3),1' SLURM_NODEID=3 run "$AMLSHIM" --explain
	assert_output --partial $'  launcher: Slurm\n  rank: 6 (from SLURM_PROCID)\n  local rank: 0 (from SLURM_LOCALID)\n  local size: 1 (from SLURM_TASKS_PER_NODE)'

	# A local rank without a local size: said, not guessed.
	FLUX_TASK_RANK=3 FLUX_TASK_LOCAL_ID=1 run "$AMLSHIM" --explain
	assert_output --partial $'  launcher: Flux\n  rank: 3 (from FLUX_TASK_RANK)\n  local rank: 1 (from FLUX_TASK_LOCAL_ID)\n  local size unknown: this launcher sets no local size variable'

	# A bad value: its line, then unknown.
	PMIX_RANK=-2 PMIX_LOCAL_RANK=0 run "$AMLSHIM" --explain
	assert_success
	assert_output --partial "  amlshim: PMIX_RANK='-2' is not valid: negative; accepted: a whole number from 0 to 2147483647; ignored"
	assert_output --partial $'  launcher: PMIx\n  rank: unknown\n  local rank: 0 (from PMIX_LOCAL_RANK)'
}

@test "--explain --json: the job object" {
	MPI_LOCALRANKID=1 MPI_LOCALNRANKS=2 PMI_RANK=x run --separate-stderr "$AMLSHIM" --explain --json
	assert_success
	"$PYTHON" -c '
import json, sys
j = json.loads(sys.argv[1])["job"]
assert j["launcher"] == "MPICH/Intel MPI (hydra)", j
assert j["rank"] is None and j["rank_from"] is None, j
assert j["local_rank"] == 1 and j["local_rank_from"] == "MPI_LOCALRANKID", j
assert j["local_size"] == 2 and j["local_size_from"] == "MPI_LOCALNRANKS", j
assert j["messages"] == ["amlshim: PMI_RANK='"'"'x'"'"' is not valid: not a decimal number; accepted: a whole number from 0 to 2147483647; ignored"], j
' "$output"
}

@test "AMLSHIM_STATS_FILE: %r is the rank, %h the host; %r is the pid with no rank" {
	local dir=$BATS_TEST_TMPDIR/stats
	mkdir -p "$dir"
	OMPI_COMM_WORLD_RANK=3 LD_PRELOAD="$SHIM" AMLSHIM_POLICY=interleave AMLSHIM_STATS=json \
		AMLSHIM_STATS_FILE="$dir/report.%r.%h.%%.json" run "$PYTHON" -c "b = bytearray(4 << 20)"
	assert_success
	assert_output ''
	[ -s "$dir/report.3.$HOST.%.json" ] || fail "no $dir/report.3.$HOST.%.json: $(ls "$dir")"

	# No launcher: %r is the process id, as %p.
	LD_PRELOAD="$SHIM" AMLSHIM_POLICY=interleave AMLSHIM_STATS=json AMLSHIM_STATS_FILE="$dir/norank.%r-%p.json" \
		run "$PYTHON" -c "b = bytearray(4 << 20)"
	assert_success
	run ls "$dir"
	assert_output --regexp 'norank\.([0-9]+)-\1\.json'

	# The command checks the value like the shim does.
	run "$AMLSHIM" --stats-file="$dir/%q" true
	assert_failure 2
	assert_output --partial "AMLSHIM_STATS_FILE='$dir/%q' is not valid: unknown sequence '%q'"
}

@test "the JSON report carries rank, local rank and size, their variables, host and CPUs" {
	local dir=$BATS_TEST_TMPDIR/stats
	mkdir -p "$dir"
	run run_rank 2 1 4 8 "$dir"
	assert_success
	"$PYTHON" - "$dir/r.2.$HOST.json" "$HOST" <<'EOF'
import json, os, sys
r = json.load(open(sys.argv[1]))
def cpu_list(cpus):
    cpus, out = sorted(cpus), []
    for c in cpus:
        if out and out[-1][1] == c - 1:
            out[-1][1] = c
        else:
            out.append([c, c])
    return ",".join(str(a) if a == b else "%d-%d" % (a, b) for a, b in out)
expected = {"launcher": "Open MPI", "rank": 2, "rank_from": "OMPI_COMM_WORLD_RANK", "local_rank": 1,
            "local_rank_from": "OMPI_COMM_WORLD_LOCAL_RANK", "local_size": 4,
            "local_size_from": "OMPI_COMM_WORLD_LOCAL_SIZE", "host": sys.argv[2],
            "cpus": cpu_list(os.sched_getaffinity(0))}
for k, v in expected.items():
    assert r[k] == v, (k, r[k], v)
assert r["rules"][0]["policy"] == "interleave" and "interleave" in r["rules"][0]["area"], r["rules"]
EOF
	# Without a launcher: nulls.
	LD_PRELOAD="$SHIM" AMLSHIM_POLICY=interleave AMLSHIM_STATS=json AMLSHIM_STATS_FILE="$dir/plain.json" \
		run "$PYTHON" -c "b = bytearray(4 << 20)"
	"$PYTHON" -c '
import json, sys
r = json.load(open(sys.argv[1]))
assert r["launcher"] is None and r["rank"] is None and r["rank_from"] is None, r
assert r["local_rank"] is None and r["local_size"] is None and r["local_size_from"] is None, r
' "$dir/plain.json"

	# The text report says the same on its second line.
	FLUX_TASK_RANK=7 FLUX_TASK_LOCAL_ID=2 run --separate-stderr "$AMLSHIM" --policy=interleave --stats \
		"$PYTHON" -c "b = bytearray(4 << 20)"
	assert_success
	[[ ${stderr_lines[1]} == "  host $HOST, cpus "*"; Flux: rank 7 (FLUX_TASK_RANK), local rank 2 (FLUX_TASK_LOCAL_ID), local size unknown" ]] ||
		fail "${stderr_lines[1]}"
}

# Four ranks allocating 4, 8, 12 and 16 MiB: their reports in $dir.
make_job() {
	dir=$BATS_TEST_TMPDIR/job
	mkdir -p "$dir"
	local rank
	for rank in 0 1 2 3; do
		run_rank "$rank" "$rank" 4 $((4 * (rank + 1))) "$dir" || fail "rank $rank failed"
	done
}

@test "amlshim report: a table per host of ranks x nodes, consistent with each report, and the imbalance" {
	make_job
	run --separate-stderr "$AMLSHIM" report "$dir"/r.*.json
	assert_success
	[ -z "$stderr" ] || fail "stderr: $stderr"
	assert_line --index 0 'amlshim report: 4 reports, 1 host'
	assert_line "host $HOST: 4 processes (local size 4 from OMPI_COMM_WORLD_LOCAL_SIZE)"
	# Each rank's row: its pid, its cells peak/exit per node and its total,
	# from its own file; the imbalance from all four.
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/table"
	"$PYTHON" - "$BATS_TEST_TMPDIR/table" "$dir" "$HOST" <<'EOF'
import json, sys
table = open(sys.argv[1]).read().splitlines()
reports = [json.load(open("%s/r.%d.%s.json" % (sys.argv[2], rank, sys.argv[3]))) for rank in range(4)]
header = [l for l in table if l.split()[:2] == ["rank", "local"]]
assert len(header) == 1, table
nodes = max(n["node"] for r in reports for n in r["nodes"]) + 1
assert header[0].split()[4:] == sum((["node", str(n)] for n in range(nodes)), []) + ["total"], header
totals = []
for rank, r in enumerate(reports):
    rows = [l.split() for l in table if l.split()[:2] == [str(rank), "%d/4" % rank]]
    assert len(rows) == 1, (rank, table)
    row = rows[0]
    assert row[2] == str(r["pid"]) and row[3] == r["cpus"], row
    by_node = {n["node"]: n for n in r["nodes"]}
    cells = ["%d/%d" % (by_node[n]["resident_pages_peak"], by_node[n]["resident_pages_exit"]) if n in by_node else "-"
             for n in range(nodes)]
    peak = sum(n["resident_pages_peak"] for n in r["nodes"])
    totals.append(peak)
    assert row[4:] == cells + ["%d/%d" % (peak, sum(n["resident_pages_exit"] for n in r["nodes"]))], (row, cells)
# Rank 3 allocated the most: it is the highest.
line = [l for l in table if "imbalance" in l]
assert len(line) == 1, table
want = "at peak %.2f (highest: rank 3, %d pages)" % (max(totals) * 4 / sum(totals), totals[3])
assert want in line[0], (want, line[0])
assert max(totals) == totals[3], totals
rules = [l.strip() for l in table if l.strip().startswith("interleave:")]
assert len(rules) == 1 and rules[0].endswith("(rank 0, rank 1, rank 2, rank 3)"), table
EOF
}

@test "amlshim report: a truncated file and a non-JSON file are named and skipped, exit status 1" {
	make_job
	head -c 120 "$dir/r.0.$HOST.json" >"$dir/truncated.json"
	echo 'amlshim report (pid 12)' >"$dir/text.json"
	echo '{"amlshim":"0.1.0","pid":5,"rules":[],"nodes":[{"node":0}]}' >"$dir/fields.json"
	run --separate-stderr "$AMLSHIM" report "$dir/r.1.$HOST.json" "$dir/truncated.json" "$dir/text.json" \
		"$dir/fields.json" "$dir/missing.json" "$dir/r.2.$HOST.json"
	assert_failure 1
	assert_line --index 0 'amlshim report: 2 reports, 1 host'
	[ "${#stderr_lines[@]}" -eq 4 ] || fail "stderr: $stderr"
	[[ ${stderr_lines[0]} == "amlshim report: $dir/truncated.json: not valid JSON (unexpected end of file"*"; skipped" ]] || fail "${stderr_lines[0]}"
	[ "${stderr_lines[1]}" = "amlshim report: $dir/text.json: not valid JSON (unexpected character at byte 0); skipped" ] || fail "${stderr_lines[1]}"
	[ "${stderr_lines[2]}" = "amlshim report: $dir/fields.json: a bad entry in \"nodes\"; skipped" ] || fail "${stderr_lines[2]}"
	[ "${stderr_lines[3]}" = "amlshim report: $dir/missing.json: cannot open: No such file or directory; skipped" ] || fail "${stderr_lines[3]}"

	# The same rank twice: said, both shown, not an error.
	run --separate-stderr "$AMLSHIM" report "$dir/r.1.$HOST.json" "$dir/r.1.$HOST.json"
	assert_success
	[ "$stderr" = "amlshim report: rank 1 is in both $dir/r.1.$HOST.json and $dir/r.1.$HOST.json (both are shown)" ] ||
		fail "$stderr"

	# Nothing readable: exit status 2.
	run --separate-stderr "$AMLSHIM" report "$dir/truncated.json"
	assert_failure 2
	assert_output ''
	[[ $stderr == *"no report could be read"* ]] || fail "$stderr"
	run "$AMLSHIM" report
	assert_failure 2
	run "$AMLSHIM" report --bogus "$dir/r.1.$HOST.json"
	assert_failure 2
	assert_output --partial "unknown option '--bogus'"
}

@test "amlshim report --svg: a well-formed heat map, one cell per rank x node, with tooltips" {
	make_job
	run "$AMLSHIM" report --svg="$BATS_TEST_TMPDIR/map.svg" "$dir"/r.*.json
	assert_success
	"$PYTHON" - "$BATS_TEST_TMPDIR/map.svg" "$dir" "$HOST" <<'EOF'
import json, sys, xml.dom.minidom
doc = xml.dom.minidom.parse(sys.argv[1])
svg = doc.documentElement
assert svg.tagName == "svg" and svg.getAttribute("xmlns") == "http://www.w3.org/2000/svg"
# Self-contained: no script, no external reference.
assert not doc.getElementsByTagName("script") and not doc.getElementsByTagName("image")
assert "http" not in open(sys.argv[1]).read().replace('xmlns="http://www.w3.org/2000/svg"', "")
reports = {r["rank"]: r for r in (json.load(open("%s/r.%d.%s.json" % (sys.argv[2], k, sys.argv[3]))) for k in range(4))}
nodes = sorted({n["node"] for r in reports.values() for n in r["nodes"]})
cells = [g for g in doc.getElementsByTagName("g") if g.getAttribute("class") == "cell"]
assert len(cells) == 4 * len(nodes), len(cells)
assert sorted((int(g.getAttribute("data-rank")), int(g.getAttribute("data-node"))) for g in cells) == \
    sorted((r, n) for r in range(4) for n in nodes)
for g in cells:
    r = reports[int(g.getAttribute("data-rank"))]
    node = {n["node"]: n for n in r["nodes"]}[int(g.getAttribute("data-node"))]
    title = g.getElementsByTagName("title")[0].firstChild.data
    want = "rank %d (host %s, pid %d), node %d: %d resident pages at peak, %d at exit" % (
        r["rank"], sys.argv[3], r["pid"], node["node"], node["resident_pages_peak"], node["resident_pages_exit"])
    assert title == want, (title, want)
    assert len(g.getElementsByTagName("rect")) == 1
texts = [t.firstChild.data for t in doc.getElementsByTagName("text") if t.firstChild]
assert "NUMA node" in texts and "rank (host)" in texts, texts
assert "rank 3 (%s)" % sys.argv[3] in texts, texts
assert [g for g in doc.getElementsByTagName("g") if g.getAttribute("class") == "legend"], "no legend"
EOF
}

@test "amlshim -- report runs a program named report; --help names the subcommand" {
	mkdir -p "$BATS_TEST_TMPDIR/bin"
	printf '#!/bin/sh\necho "the program named report ran with: $*"\n' >"$BATS_TEST_TMPDIR/bin/report"
	chmod +x "$BATS_TEST_TMPDIR/bin/report"
	PATH=$BATS_TEST_TMPDIR/bin:$PATH run "$AMLSHIM" -- report a b
	assert_success
	assert_output 'the program named report ran with: a b'

	run "$AMLSHIM" --help
	assert_success
	assert_output --partial 'amlshim report [REPORT-OPTION]... REPORT.json...'
	assert_output --partial '`amlshim -- report ...` runs a program'
	run "$AMLSHIM" report --help
	assert_success
	assert_output --partial 'Usage: amlshim report [--svg=FILE] REPORT.json...'
	assert_output --partial 'Exit status: 0 when every file was merged; 1 when some were'
}
