# Shared by the bats suites: where the built shim and command are, tools
# that must exist, and running one program plainly and under the shim to
# compare them.
#
# AMLSHIM_TEST_BUILD: the build directory (default: build/ of this tree);
# `make check` passes its $(BUILD).

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'
bats_require_minimum_version 1.5.0

TESTS_ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
# Kept in TEST_BUILD_DIR too: clean_environment unsets every AMLSHIM_*
# variable, and each test loads this file again.
BUILD_DIR=${AMLSHIM_TEST_BUILD:-${TEST_BUILD_DIR:-$TESTS_ROOT/build}}
case $BUILD_DIR in /*) ;; *) BUILD_DIR=$TESTS_ROOT/$BUILD_DIR ;; esac
export TEST_BUILD_DIR=$BUILD_DIR
SHIM=$BUILD_DIR/lib/libamlshim.so
AMLSHIM=$BUILD_DIR/bin/amlshim
export DATA=$BATS_TEST_DIRNAME/data
# Not "python3" from PATH: that may be a pyenv shim, a bash script.
PYTHON=/usr/bin/python3

# Every AMLSHIM_* variable of the shim, in the order it reads them.
AMLSHIM_VARIABLES=(AMLSHIM_POLICY AMLSHIM_THRESHOLD AMLSHIM_RULES AMLSHIM_SMALL AMLSHIM_MMAP
	AMLSHIM_STATS AMLSHIM_STATS_FILE AMLSHIM_LOG AMLSHIM_STRICT AMLSHIM_DEEPBIND AMLSHIM_SHARE_SETTLE AMLSHIM_LEDGER)

# What the parser says each variable accepts (policy/parse.c).
NODES_LEGEND='NODES: node numbers 0-1023 like 0-3,6, node sets local, socket, dram, hbm, cxl, gpu, KIND@socket like local,3, or all'
PLACEMENT_FORMS="default, local, bind:NODES, preferred:NODE, interleave[:NODES], block-interleave:SIZE[:NODES], weighted-interleave[:auto][:NODES], weighted-interleave:NODE*WEIGHT,... like 0*3,2*1, bandwidth, latency, capacity, cuda-mapped[:DEV], cuda-managed[:DEV] ($NODES_LEGEND; SIZE: bytes like 2M, a multiple of 4K; WEIGHT: 1-255; DEV: 0-1023)"
declare -gA ACCEPTED=(
	[AMLSHIM_POLICY]=$PLACEMENT_FORMS
	[AMLSHIM_SMALL]="default, local, bind:NODES, preferred:NODE, interleave[:NODES], bandwidth, latency, capacity ($NODES_LEGEND)"
	[AMLSHIM_THRESHOLD]='a size in bytes: digits with an optional K, M, G or T suffix (powers of 1024; B or iB may follow), like 0, 4096, 64K, 1M, 2GiB'
	[AMLSHIM_RULES]="MIN-MAX=PLACEMENT rules separated by ';', like 0-64K=local;64K-1G=interleave;1G-=block-interleave:2M; a rule covers sizes in [MIN,MAX), MIN- has no upper bound, -MAX starts at 0; at most 16 rules, none overlapping; PLACEMENT is one of $PLACEMENT_FORMS"
	[AMLSHIM_MMAP]='on, off, 1, 0'
	[AMLSHIM_DEEPBIND]='keep, drop'
	[AMLSHIM_STATS]='0, off, 1, text, json'
	[AMLSHIM_STATS_FILE]='a non-empty path shorter than 256 bytes, where %p stands for the process id, %r for the global rank (the process id when no launcher gives one), %h for the host name and %% for %'
	[AMLSHIM_LOG]='error, warn, info, debug'
	[AMLSHIM_STRICT]='0, 1'
	[AMLSHIM_SHARE_SETTLE]='a duration: 0, or 1 to 100000000 followed by ms or s, like 500ms or 1s'
	[AMLSHIM_LEDGER]='1 to 64 of A-Z a-z 0-9 . _ - (not starting with .)'
)

# The one line the shim prints for NAME=VALUE (VALUE already quoted the
# parser's way) rejected for REASON.
bad_value_line() {
	printf "amlshim: %s=%s is not valid: %s; accepted: %s" "$1" "$2" "$3" "${ACCEPTED[$1]}"
}

# A tool the tests need: in CI (CI=true) its absence fails the test,
# elsewhere the test is skipped.
require_tool() {
	local tool
	for tool in "$@"; do
		if ! command -v "$tool" >/dev/null 2>&1 && [ ! -x "$tool" ]; then
			if [ "${CI:-}" = true ]; then
				fail "required tool '$tool' is missing (CI=true: missing tools fail)"
				return 1
			fi
			skip "'$tool' is not installed"
		fi
	done
}

# The built shim (and, with "cli", the command) must exist: a missing
# build is a failure, never a skip.
require_build() {
	[ -f "$SHIM" ] || fail "no shim at $SHIM: build it first (make lib, or set AMLSHIM_TEST_BUILD)"
	if [ "${1:-}" = cli ]; then
		[ -x "$AMLSHIM" ] || fail "no command at $AMLSHIM: build it first (make all)"
	fi
}

# No AMLSHIM_* or LD_PRELOAD from the caller's environment leaks in.
clean_environment() {
	local name
	for name in $(compgen -e); do
		case $name in AMLSHIM_* | LD_PRELOAD) unset "$name" ;; esac
	done
	export LC_ALL=C TZ=UTC
}

# The first memory node this process may use (Mems_allowed_list).
first_allowed_node() {
	local list
	list=$(sed -n 's/^Mems_allowed_list:[[:space:]]*//p' /proc/self/status)
	list=${list%%[,-]*}
	echo "${list:-0}"
}

# A node number this process may not use, for "cannot be applied".
unavailable_node() {
	local node=1000
	while grep -qx "$node" < <(allowed_nodes); do node=$((node - 1)); done
	echo "$node"
}

allowed_nodes() {
	local list part
	list=$(sed -n 's/^Mems_allowed_list:[[:space:]]*//p' /proc/self/status)
	IFS=, read -ra parts <<<"$list"
	for part in "${parts[@]}"; do
		if [[ $part == *-* ]]; then seq "${part%-*}" "${part#*-}"; else echo "$part"; fi
	done
}

# The configurations every program runs under: each policy with a low
# threshold (so that the large path really serves the program), one with
# the default threshold, three-range rules, and placed small objects.
policy_configs() {
	local node
	node=$(first_allowed_node)
	local policy
	for policy in default local "bind:$node" "preferred:$node" interleave block-interleave:2M \
		bandwidth latency capacity; do
		echo "AMLSHIM_POLICY=$policy AMLSHIM_THRESHOLD=64K"
	done
	echo "AMLSHIM_POLICY=interleave"
	echo "AMLSHIM_RULES=0-64K=local;64K-8M=interleave;8M-=block-interleave:2M"
	echo "AMLSHIM_POLICY=block-interleave:4M AMLSHIM_THRESHOLD=8K AMLSHIM_SMALL=interleave AMLSHIM_MMAP=off"
}

# run_reference CMD...: runs CMD plainly in a fresh directory; its stdout,
# stderr and status become the reference for run_configs.
run_reference() {
	REF_DIR=$BATS_TEST_TMPDIR/reference
	mkdir -p "$REF_DIR/work"
	local rc=0
	(cd "$REF_DIR/work" && "$@") >"$REF_DIR/out" 2>"$REF_DIR/err" || rc=$?
	echo $rc >"$REF_DIR/rc"
}

# run_under DIR CONFIG CMD...: runs CMD under the shim with the variables
# of CONFIG ("VAR=value VAR=value") in the fresh directory DIR/work; the
# outputs go to DIR/{out,err,rc}.
run_under() {
	local dir=$1 config=$2
	shift 2
	local -a vars
	read -ra vars <<<"$config"
	rm -rf "$dir"
	mkdir -p "$dir/work"
	local rc=0
	(cd "$dir/work" && env "${vars[@]}" LD_PRELOAD="$SHIM" "$@") >"$dir/out" 2>"$dir/err" || rc=$?
	echo $rc >"$dir/rc"
}

# compare_with_reference LABEL DIR: stdout, stderr and status of a
# run_under against run_reference; prints what differs, returns 1 if any.
compare_with_reference() {
	local label=$1 dir=$2 bad=0
	local rc ref_rc
	rc=$(cat "$dir/rc") ref_rc=$(cat "$REF_DIR/rc")
	if [ "$rc" != "$ref_rc" ]; then
		echo "$label: exit status $rc, plain run $ref_rc"
		bad=1
	fi
	if ! cmp -s "$dir/out" "$REF_DIR/out"; then
		echo "$label: stdout differs from the plain run ($(wc -c <"$dir/out") vs $(wc -c <"$REF_DIR/out") bytes):"
		diff "$REF_DIR/out" "$dir/out" | head -n 8 | cut -c1-200 | sed 's/^/    /'
		bad=1
	fi
	if ! cmp -s "$dir/err" "$REF_DIR/err"; then
		echo "$label: stderr differs from the plain run:"
		diff "$REF_DIR/err" "$dir/err" | head -n 8 | cut -c1-200 | sed 's/^/    /'
		bad=1
	fi
	return $bad
}

# How many configurations run at once (the machine's CPUs, at most 4).
test_jobs() {
	local jobs=${AMLSHIM_TEST_JOBS:-$(nproc 2>/dev/null || echo 1)}
	[ "$jobs" -gt 4 ] && jobs=4
	[ "$jobs" -lt 1 ] && jobs=1
	echo "$jobs"
}

# start_job MAX CMD...: CMD in the background once fewer than MAX of this
# shell's jobs run (waits for one to end first). The caller waits for all.
start_job() {
	local max=$1
	shift
	while [ "$(jobs -rp | wc -l)" -ge "$max" ]; do
		wait -n || true
	done
	"$@" &
}

# check_program PROGRAM CMD...: CMD plainly once, then under every policy
# configuration (a few at a time); every difference is named (program,
# configuration) and the test fails at the end if there was any.
check_program() {
	local program=$1
	shift
	run_reference "$@"
	local ref_rc
	ref_rc=$(cat "$REF_DIR/rc")
	if [ "$ref_rc" != 0 ]; then
		echo "$program: the plain run itself failed (status $ref_rc):"
		head -n 10 "$REF_DIR/err"
		return 1
	fi
	local -a configs
	mapfile -t configs < <(policy_configs)
	local jobs i
	jobs=$(test_jobs)
	for i in "${!configs[@]}"; do
		start_job "$jobs" run_under "$BATS_TEST_TMPDIR/run-$i" "${configs[$i]}" "$@"
	done
	wait || true
	local failures=0
	for i in "${!configs[@]}"; do
		compare_with_reference "$program under ${configs[$i]}" "$BATS_TEST_TMPDIR/run-$i" ||
			failures=$((failures + 1))
	done
	if [ $failures -gt 0 ]; then
		echo "$program: $failures of ${#configs[@]} configurations differ from the plain run"
		return 1
	fi
}
