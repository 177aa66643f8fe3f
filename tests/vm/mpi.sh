#!/bin/sh
# shellcheck shell=dash # busybox ash: local is there
# The VM's MPI tests (busybox sh), installed as build/tests/vm/mpi/openmpi
# and build/tests/vm/mpi/mpich: the name says which MPI, launched by its own
# name (mpirun.openmpi, mpiexec.hydra), never the alternatives' default.
# tests/mpi/buffers.c (built with that MPI's mpicc, linking nothing of ours)
# runs as 4 ranks bound one per CPU (ranks 0-1 on socket 0, 2-3 on socket 1),
# plainly and under the shim, each rank writing where its buffers' pages are
# (MPI_BUFFERS_PAGES) and its JSON report (AMLSHIM_STATS_FILE with %r).
# Rank 0 and 2-3 take 32 MiB, rank 1 320 MiB (more than half the fast node);
# the ranks allocate in rank order.
# Each case prints "CASE name PASS|FAIL|SKIP [why]" (init.sh reports it as
# vm/mpi/IMPL/name); the exit status is 1 when one failed.
#
# Expectations come from the topology (AMLVM_* in /etc/vmtest.env): a
# rank's socket is the node of its CPU, its socket's nodes are those
# attached there (AMLVM_HMAT_LOCAL's home), the fast node AMLVM_BW_BEST,
# the next best AMLVM_BW_NEXT.
impl=${0##*/}
here=$(cd "$(dirname "$0")" && pwd)
build=${here%/tests/vm/mpi}
prog=$build/tests/mpi/buffers-$impl
shim=$build/lib/libamlshim.so
amlshim=$build/bin/amlshim
work=/tmp/mpi-$impl
sizes=32,320,32
ranks=4
failed=0

case_result() { # name PASS|FAIL|SKIP [why]
	echo "CASE $*"
	[ "$2" != FAIL ] || failed=1
}
# A missing MPI: a failure in CI, a skip elsewhere.
unavailable() {
	echo "SKIP: $1"
	[ "${CI:-}" = true ] && { echo "FAIL: $1 (CI=true)"; exit 1; }
	exit 77
}
# The cases below are written for the default VM (2 sockets, an HBM-like
# and a CXL-like node on socket 0).
[ "${AMLVM_NODES:-4}" = 4 ] || { echo "SKIP: MPI cases are written for the default VM topology only"; exit 77; }
[ -x "$prog" ] || unavailable "no $prog (mpicc.$impl was missing at build time)"

# run_job NAME [NAME=VALUE...]: the 4 ranks, with the variables set in the
# ranks only (so mpirun and its daemons run without the shim); outputs in
# $work/NAME/{out,err,p.R,r.R.HOST.json}, the exit status in .../rc.
run_job() {
	local name=$1 dir=$work/$1 launch
	shift
	rm -rf "$dir" && mkdir -p "$dir"
	set -- MPI_BUFFERS_PAGES="$dir/p.%r" "$@"
	if [ "$impl" = openmpi ]; then
		launch="mpirun.openmpi --allow-run-as-root --oversubscribe --bind-to core --map-by core -np $ranks"
		for v in "$@"; do launch="$launch -x $v"; done
	else
		launch="mpiexec.hydra -bind-to core -n $ranks"
		for v in "$@"; do launch="$launch -genv ${v%%=*} ${v#*=}"; done
	fi
	echo "--- $name: $launch $prog $sizes"
	local start end
	start=$(cut -d' ' -f1 /proc/uptime)
	# Not the test list init.sh reads: mpirun forwards stdin to rank 0.
	# shellcheck disable=SC2086 # $launch is words
	timeout 120 $launch "$prog" $sizes </dev/null >"$dir/out" 2>"$dir/err"
	echo $? >"$dir/rc"
	end=$(cut -d' ' -f1 /proc/uptime)
	echo "    exit $(cat "$dir/rc") in $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }') s"
	sed 's/^/    out: /' "$dir/out"
	sed 's/^/    err: /' "$dir/err" | head -n 20
}
shim_job() { # NAME POLICY [NAME=VALUE...]
	local name=$1 policy=$2
	shift 2
	run_job "$name" LD_PRELOAD="$shim" AMLSHIM_POLICY="$policy" AMLSHIM_STATS=json \
		AMLSHIM_STATS_FILE="$work/$name/r.%r.%h.json" "$@"
}

# The pages of each rank of job DIR, one line per rank:
#   RANK CPU SOCKET total N0 N1 ... (pages per node, AMLVM_NODES columns)
pages_table() {
	local f
	for f in "$1"/p.*; do
		[ -f "$f" ] || continue
		awk -v nodes="$AMLVM_NODES" -v cpus="$AMLVM_NODE_CPUS" -v homes="$AMLVM_HMAT_LOCAL" '
			BEGIN {
				n = split(cpus, c, ";")
				for (i = 1; i <= n; i++) {
					m = split(c[i], r, ",")
					for (j = 1; j <= m; j++) {
						if (split(r[j], ab, "-") == 1) ab[2] = ab[1]
						for (k = ab[1]; k <= ab[2] && ab[1] != ""; k++) node_of[k] = i - 1
					}
				}
				split(homes, h, " ")
				for (i = 1; i <= nodes; i++) { split(h[i], hh, ":"); home[i - 1] = hh[1] }
			}
			$1 == "rank" { rank = $2 }
			$1 == "cpus" { cpu = $2 }
			$1 == "node" { p[$2] = $3; total += $3 }
			$1 == "unresolved" { total += $2; bad = $2 }
			END {
				sock = (cpu ~ /^[0-9]+$/) ? home[node_of[cpu]] : -1
				printf "%s %s %s %d", rank, cpu, sock, total
				for (i = 0; i < nodes; i++) printf " %d", p[i]
				printf " %d\n", bad
			}' "$f"
	done | sort -n
}

# check_job NAME: the job exited 0, printed the plain run's output, the
# shim said nothing on stderr, every rank wrote its pages, each rank on its
# own CPU (rank r on CPU r). Its
# pages table in $work/NAME/pages.
check_job() {
	local dir=$work/$1 why=""
	[ "$(cat "$dir/rc")" = 0 ] || why="exit $(cat "$dir/rc")"
	pages_table "$dir" >"$dir/pages"
	sed 's/^/    pages (rank cpu socket total per-node... unresolved): /' "$dir/pages" >&2
	[ "$(wc -l <"$dir/pages")" = "$ranks" ] || why="$why; $(wc -l <"$dir/pages") page files of $ranks"
	if [ "$1" != plain ] && ! cmp -s "$work/plain/out" "$dir/out"; then
		why="$why; stdout differs from the plain run's"
	fi
	grep -q '^amlshim:' "$dir/err" && why="$why; the shim warned: $(grep -m 1 '^amlshim:' "$dir/err")"
	local bad
	bad=$(awk '$1 != $2 { printf "%srank %s runs on CPU %s", sep, $1, $2; sep = ", " }' "$dir/pages")
	[ -z "$bad" ] || why="$why; $bad (the launch binds rank r to CPU r)"
	echo "${why#; }"
}

# expect NAME CASE AWK-CONDITION MESSAGE [SHARE-MODE]: every rank of the
# job's pages table meets the condition (fields: r cpu sock total n0..n3
# (as $5..), half = half of the fast node in pages); with SHARE-MODE, the
# reports of the ranks on the fast node's socket say the share was applied
# in that mode. Else FAIL with the message.
expect() {
	local name=$1 case=$2 cond=$3 msg=$4 mode=${5:-} why bad half r
	why=$(check_job "$name")
	if [ -n "$mode" ]; then
		for r in $(awk -v homes="$AMLVM_HMAT_LOCAL" -v best="$AMLVM_BW_BEST" \
			'BEGIN { split(homes, h, " "); split(h[best + 1], hh, ":") } $3 == hh[1] { print $1 }' "$work/$name/pages"); do
			grep -o '"share":{[^]]*]}' "$work/$name/r.$r".*.json | sed "s/^/    rank $r: /" >&2
			grep -q "\"share\":{\"mode\":\"$mode\",[^}]*\"applied\":true" "$work/$name/r.$r".*.json 2>/dev/null ||
				why="${why:+$why; }rank $r's report has no $mode share applied"
		done
	fi
	half=$(awk -v mb="$AMLVM_NODE_MEM_MB" -v n="$AMLVM_BW_BEST" 'BEGIN { split(mb, m, " "); print m[n + 1] * 256 / 2 }')
	bad=$(awk -v half="$half" -v best="$AMLVM_BW_BEST" -v next_="$AMLVM_BW_NEXT" -v homes="$AMLVM_HMAT_LOCAL" -v msg="$msg" '
		BEGIN { n = split(homes, h, " "); for (i = 1; i <= n; i++) { split(h[i], hh, ":"); home[i - 1] = hh[1] } }
		function on(node) { return $(5 + node) }
		function on_socket(s,   i, t) { t = 0; for (i = 0; i < n; i++) if (home[i] == s) t += on(i); return t }
		{ if (!('"$cond"')) { printf "%srank %s (CPU %s, socket %s): %s", sep, $1, $2, $3, msg; sep = "; " } }' "$work/$name/pages")
	[ -z "$bad" ] || why="${why:+$why; }$bad"
	if [ -z "$why" ]; then case_result "$case" PASS; else case_result "$case" FAIL "$why"; fi
}

# check_reports NAME: each rank's JSON report counts, per node at exit, at
# least its buffers' pages and at most 1% + 512 pages more (MPI's own large
# blocks); `amlshim report` prints the same exit counts per rank and node
# in its table, and its SVG the same in its cells' data-exit.
check_reports() {
	local dir=$work/$1 why="" f r
	for f in "$dir"/r.*.json; do
		[ -f "$f" ] || { echo "no JSON report in $dir"; return; }
		r=${f#"$dir"/r.}
		r=${r%%.*}
		# "node":N,"resident_pages_exit":E -> "N E" lines.
		tr '{' '\n' <"$f" | sed -n 's/^"node":\([0-9]*\),"resident_pages_exit":\([0-9]*\).*/\1 \2/p' >"$dir/json.$r"
	done
	"$amlshim" report --svg="$dir/job.svg" "$dir"/r.*.json >"$dir/report.txt" 2>"$dir/report.err" ||
		why="amlshim report exit $?: $(head -n 3 "$dir/report.err")"
	sed 's/^/    report: /' "$dir/report.txt" >&2
	# The table: "  RANK L/S PID CPUS P/E P/E ... TOTAL" after the header line.
	awk '/^  rank +local/ { on = 1; for (i = 5; i <= NF; i += 2) col[(i - 5) / 2] = $(i + 1); next }
		on && /^  [0-9]+ / { for (i = 5; i < NF; i++) { split($i, pe, "/"); if (pe[2] != "") print $1, col[i - 5], pe[2] } next }
		on { on = 0 }' "$dir/report.txt" >"$dir/table"
	sed -n 's/.*data-rank="\([0-9]*\)".*data-node="\([0-9]*\)" data-peak="[0-9]*" data-exit="\([0-9]*\)".*/\1 \2 \3/p' \
		"$dir/job.svg" >"$dir/svg" 2>/dev/null
	why="$why$(awk -v dir="$dir" '
		FILENAME ~ /\/pages$/ { for (i = 5; i < NF; i++) want[$1 " " (i - 5)] = $i; ranks[$1] = 1; next }
		FILENAME ~ /\/json\./ { r = FILENAME; sub(/.*json\./, "", r); json[r " " $1] = $2; next }
		FILENAME ~ /\/table$/ { table[$1 " " $2] = $3; next }
		FILENAME ~ /\/svg$/ { svg[$1 " " $2] = $3; next }
		function far(have, w) { return have == "" ? (w > 0) : (have < w || have > w + w / 100 + 512) }
		END {
			for (k in want) {
				w = want[k]
				if (far(json[k], w)) printf "; rank/node %s: %d pages by move_pages, report %s", k, w, json[k] == "" ? "none" : json[k]
				if (far(table[k], w)) printf "; rank/node %s: %d pages by move_pages, amlshim report table %s", k, w, table[k] == "" ? "none" : table[k]
				if (far(svg[k], w)) printf "; rank/node %s: %d pages by move_pages, SVG %s", k, w, svg[k] == "" ? "none" : svg[k]
			}
		}' "$dir/pages" "$dir"/json.* "$dir/table" "$dir/svg")"
	echo "${why#; }"
}

# No ssh in the VM: Open MPI's rsh launcher refuses to start without one,
# and one machine needs none.
export OMPI_MCA_plm=isolated
mkdir -p "$work"
echo "=== $impl: $(command -v mpirun.openmpi mpiexec.hydra | tr '\n' ' ')"

run_job plain
why=$(check_job plain)
grep -q 'read back equal' "$work/plain/out" || why="${why:+$why; }no 'read back equal' line in the output"
if [ -n "$why" ]; then
	case_result plain FAIL "$why"
	echo "FAIL: the plain run failed: $why"
	exit 1
fi
case_result plain PASS

# Kernel-policy interleave over every node: each rank on all nodes, its
# socket-0 ranks' pages on the other socket too (what interleave:socket
# avoids).
shim_job interleave interleave
expect interleave interleave "on(0) * 5 > \$4 && on(1) * 5 > \$4 && on(2) * 5 > \$4 && on(3) * 5 > \$4" \
	"not spread evenly over every node"

# bandwidth alone: the first rank to allocate takes the fast node; rank 1
# (448 MiB) gets what is left of it, the rest on the next best node.
shim_job bandwidth bandwidth
expect bandwidth bandwidth "\$3 != home[best] || on(best) + on(next_) == \$4 && (\$1 != 1 || on(best) > half)" \
	"pages off the fast and next best nodes, or rank 1 not over half the fast node"
why=$(check_reports bandwidth)
if [ -z "$why" ]; then case_result report PASS; else case_result report FAIL "$why"; fi

# (a) interleave:socket: every page of a rank on its own socket's nodes,
# each of them used.
shim_job interleave_socket interleave:socket
expect interleave_socket interleave_socket "on_socket(\$3) == \$4 && (\$3 != home[best] || on(best) > 0 && on(next_) > 0)" \
	"pages off its socket's nodes (or one of them unused)"

# (b) +share: the two socket-0 ranks share the fast node; rank 1
# (320 MiB) gets at most half of it, the rest on the next best node.
shim_job bandwidth_share bandwidth+share
expect bandwidth_share bandwidth_share "\$3 != home[best] || on(best) + on(next_) == \$4 && on(best) <= half && on(best) > 0" \
	"over half of the fast node, none there, or pages off the fast and next best nodes" static
# (c) +share:dynamic: rank 0 needs 32 MiB, so rank 1 gets more of the fast
# node than its static share (b) gave it: at least one 8 MiB buffer more.
# A rank lends what it does not use once it has not grown for
# AMLSHIM_SHARE_SETTLE (1 s): with the default, whether rank 1's later
# regions come after rank 0 settled depends on how fast rank 1 writes (it
# failed so on an idle machine). Rank 0 has finished when rank 1 starts
# (rank order), so a settle time of 0 leaves nothing to timing.
static=$(awk -v best="$AMLVM_BW_BEST" '$1 == 1 { print $(5 + best) }' "$work/bandwidth_share/pages")
shim_job bandwidth_share_dynamic bandwidth+share:dynamic AMLSHIM_SHARE_SETTLE=0
expect bandwidth_share_dynamic bandwidth_share_dynamic "\$3 != home[best] || on(best) + on(next_) == \$4 && (\$1 != 0 || on(best) == \$4) && (\$1 != 1 || on(best) >= ${static:-0} + 2048)" \
	"pages off the fast and next best nodes, rank 0 not all on the fast node, or rank 1 not 8 MiB more there than under static share (${static:-no} pages)" dynamic
why=$(check_reports bandwidth_share)
if [ -z "$why" ]; then case_result report_share PASS; else case_result report_share FAIL "$why"; fi
exit $failed
