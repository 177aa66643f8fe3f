#!/bin/sh
# A bounded libFuzzer run (make check-fuzz, make check):
#   run-fuzzer.sh FUZZER TARGET SECONDS
# starts from a copy of tests/fuzz/corpus/TARGET (the repository's corpus
# is never modified) plus tests/fuzz/regressions/TARGET, fuzzes for SECONDS,
# prints the executions, and exits 0, or 1 with the crashing input kept in
# $BUILD/fuzz/crashes/ and the command that turns it into a regression test.
# Without the fuzzer binary (no clang): skip, or fail when CI=true.
# mk/hardening.mk links BUILD/tests/fuzz/TARGET to this script; called
# through such a link, without arguments, it runs BUILD/fuzz/fuzz_TARGET for $FUZZ_SECONDS (30).
set -u
if [ $# -eq 0 ]; then
	set -- "${0%/tests/fuzz/*}/fuzz/fuzz_${0##*/}" "${0##*/}" "${FUZZ_SECONDS:-30}"
fi
fuzzer=$1 target=$2 seconds=$3
root=$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)
if [ ! -x "$fuzzer" ]; then
	echo "SKIP: $fuzzer was not built (clang and libclang-rt-14-dev: make deps)"
	[ "${CI:-}" = true ] && { echo "FAIL: CI=true: a missing fuzzer is a failure"; exit 1; }
	exit 77
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/amlshim-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus"
cp "$root/tests/fuzz/corpus/$target/"* "$work/corpus/"
# Regressions (crashes found once) are replayed too; git keeps no empty
# folder, so a clean clone may have none yet.
mkdir -p "$work/regressions"
cp "$root/tests/fuzz/regressions/$target/"* "$work/regressions/" 2>/dev/null || true
seeds=$(ls "$work/corpus" | wc -l)
crashes=$(dirname "$fuzzer")/crashes
mkdir -p "$crashes"
# -timeout: a single input taking over 10 s is a hang; -rss_limit_mb: a
# leak or blow-up; -max_len: values up to 4 KiB (longer ones are cut by the
# parser's quoting anyway). -seed: $FUZZ_SEED, 1 unless set, so that a
# check explores the same inputs each time (a longer run here covers what a
# slower machine reaches); FUZZ_SEED=0 takes a random seed, for long runs
# that look for new crashes.
seed=${FUZZ_SEED:-1}
case $seed in '' | *[!0-9]*) echo "FAIL: FUZZ_SEED='$seed' is not valid; accepted: a number (0: random)"; exit 1 ;; esac
"$fuzzer" -seed="$seed" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=1024 -max_len=4096 \
	-print_final_stats=1 -artifact_prefix="$work/" "$work/corpus" \
	"$work/regressions" >"$work/log" 2>&1
rc=$?
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")
rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/log")
cov=$(grep -o 'cov: [0-9]*' "$work/log" | tail -n 1)
units=$(ls "$work/corpus" | wc -l)
echo "fuzz $target: seed $seed, ${execs:-?} executions in ${seconds} s (${rate:-?}/s), $cov, corpus $seeds -> $units inputs"
if [ $rc -ne 0 ]; then
	tail -n 40 "$work/log"
	for input in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*; do
		[ -f "$input" ] || continue
		cp "$input" "$crashes/"
		echo "FAIL: input kept as $crashes/$(basename "$input")"
		echo "  reproduce: $fuzzer $crashes/$(basename "$input")"
		echo "  make it a regression test: cp $crashes/$(basename "$input") $root/tests/fuzz/regressions/$target/"
	done
	exit 1
fi
exit 0
