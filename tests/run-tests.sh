#!/usr/bin/env bash
# Runs C test programs (exit 0 pass, 77 skip, other fail) and bats files,
# prints one line per test and closes with "N passed, N failed, N skipped".
# Logs of failures go to $TEST_LOG_DIR (default build/test-logs).
set -u
log_dir=${TEST_LOG_DIR:-build/test-logs}
timeout_s=${TEST_TIMEOUT:-600}
mkdir -p "$log_dir"
passed=0 failed=0 skipped=0
failures=()

run_c_test() {
	local bin=$1 name log rc reason
	name=${bin#*/tests/}
	log="$log_dir/${name//\//_}.log"
	timeout -k 5 "$timeout_s" "$bin" >"$log" 2>&1
	rc=$?
	case $rc in
	0) passed=$((passed + 1)); printf 'PASS  %s\n' "$name" ;;
	77)
		skipped=$((skipped + 1))
		reason=$(grep -m1 '^SKIP' "$log" | sed 's/^SKIP:* *//')
		printf 'SKIP  %s (%s)\n' "$name" "${reason:-no reason given}" ;;
	*)
		failed=$((failed + 1)); failures+=("$name")
		[ $rc = 124 ] && echo "timed out after ${timeout_s}s" >>"$log"
		printf 'FAIL  %s (exit %d)\n' "$name" "$rc"
		tail -n 15 "$log" | sed 's/^/      | /' ;;
	esac
}

run_bats() {
	local file=$1 name log line desc
	name=${file#tests/}
	log="$log_dir/${name//\//_}.tap"
	bats --tap "$file" >"$log" 2>&1
	while IFS= read -r line; do
		case $line in
		"ok "*"# skip"*)
			desc=${line#ok * }; skipped=$((skipped + 1))
			printf 'SKIP  %s: %s\n' "$name" "$desc" ;;
		"ok "*)
			desc=${line#ok }; desc=${desc#* }; passed=$((passed + 1))
			printf 'PASS  %s: %s\n' "$name" "$desc" ;;
		"not ok "*)
			desc=${line#not ok }; desc=${desc#* }; failed=$((failed + 1))
			failures+=("$name: $desc")
			printf 'FAIL  %s: %s\n' "$name" "$desc" ;;
		"# "*) [ "${failed}" -gt 0 ] && printf '      | %s\n' "${line#\# }" ;;
		esac
	done <"$log"
	if ! grep -q '^1\.\.' "$log"; then
		failed=$((failed + 1)); failures+=("$name")
		printf 'FAIL  %s (bats did not run)\n' "$name"; tail -n 15 "$log" | sed 's/^/      | /'
	fi
}

for item in "$@"; do
	case $item in
	*.bats) run_bats "$item" ;;
	*) run_c_test "$item" ;;
	esac
done

echo
[ ${#failures[@]} -gt 0 ] && printf 'failed: %s\n' "${failures[@]}"
printf '%d passed, %d failed, %d skipped\n' "$passed" "$failed" "$skipped"
[ "$failed" -eq 0 ]
