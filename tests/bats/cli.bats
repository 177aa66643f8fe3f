#!/usr/bin/env bats
# The amlshim command: help, version, exit statuses, options to variables,
# LD_PRELOAD and where the shim is found, validation with the shim's own
# parser, --explain, and the README's main-job command.

load helpers

setup() {
	clean_environment
	require_build cli
	SHIM_REAL=$(realpath "$SHIM")
}

@test "--help: usage with every option and variable, exit 0" {
	run "$AMLSHIM" --help
	assert_success
	assert_line --index 0 --partial 'Usage: amlshim [OPTION]... [--] COMMAND [ARG]...'
	local word
	for word in --policy= --threshold= --rules= --small= --mmap= --deepbind= --stats --stats-file= --log= --strict \
		--explain --help --version "${AMLSHIM_VARIABLES[@]}" AMLSHIM_LIBRARY LD_PRELOAD; do
		[[ $output == *"$word"* ]] || fail "--help does not mention $word"
	done
	run "$AMLSHIM" -h
	assert_success
	assert_line --index 0 --partial 'Usage: amlshim'
}

@test "--version: the shim's version, exit 0" {
	local version
	version=$(sed -n 's/^#define AMLSHIM_VERSION "\(.*\)"/\1/p' "$TESTS_ROOT/include/amlshim.h")
	run "$AMLSHIM" --version
	assert_success
	assert_output "amlshim $version"
}

@test "usage errors exit 2: no command, unknown option, missing value" {
	run --separate-stderr "$AMLSHIM"
	assert_equal "$status" 2
	assert_output ''
	[[ $stderr == "amlshim: no command given"* ]] || fail "stderr: $stderr"
	[[ $stderr == *"Try 'amlshim --help'"* ]] || fail "stderr: $stderr"

	run --separate-stderr "$AMLSHIM" --bogus ls
	assert_equal "$status" 2
	assert_equal "${stderr_lines[0]}" "amlshim: unknown option '--bogus'"

	run --separate-stderr "$AMLSHIM" --policy
	assert_equal "$status" 2
	assert_equal "${stderr_lines[0]}" "amlshim: option '--policy' needs a value"

	run --separate-stderr "$AMLSHIM" --policy= ls
	assert_equal "$status" 2
	assert_equal "${stderr_lines[0]}" "amlshim: option '--policy' needs a value"

	run --separate-stderr "$AMLSHIM" --explain ls
	assert_equal "$status" 2
	[[ ${stderr_lines[0]} == "amlshim: --explain runs nothing"* ]] || fail "stderr: $stderr"
}

@test "command not found exits 127, not executable 126, with a clear message" {
	run -127 --separate-stderr "$AMLSHIM" amlshim-no-such-command-here
	assert_equal "$status" 127
	assert_equal "$stderr" 'amlshim: amlshim-no-such-command-here: command not found'

	run -127 --separate-stderr "$AMLSHIM" "$BATS_TEST_TMPDIR/missing/prog"
	assert_equal "$status" 127

	printf '#!/bin/sh\necho hi\n' >"$BATS_TEST_TMPDIR/noexec"
	chmod 644 "$BATS_TEST_TMPDIR/noexec"
	run --separate-stderr "$AMLSHIM" "$BATS_TEST_TMPDIR/noexec"
	assert_equal "$status" 126
	assert_equal "$stderr" "amlshim: $BATS_TEST_TMPDIR/noexec: Permission denied"

	run --separate-stderr "$AMLSHIM" "$BATS_TEST_TMPDIR"
	assert_equal "$status" 126
}

@test "the command's exit status and arguments pass through" {
	run "$AMLSHIM" sh -c 'exit 7'
	assert_equal "$status" 7
	run "$AMLSHIM" --policy=interleave sh -c 'kill -TERM $$'
	assert_equal "$status" 143
	# Options after the command belong to it.
	run "$AMLSHIM" printf '%s ' --policy=bogus -- --help
	assert_success
	assert_output '--policy=bogus -- --help '
	run "$AMLSHIM" -- printf '%s\n' --version
	assert_success
	assert_output '--version'
}

@test "options map to AMLSHIM_* variables and the shim goes first in LD_PRELOAD" {
	local stats=$BATS_TEST_TMPDIR/stats.%p.json
	run --separate-stderr "$AMLSHIM" --policy=interleave --threshold=64K \
		--rules='0-64K=local;64K-8M=interleave;8M-=block-interleave:2M' --small=local --mmap=off \
		--stats=json --stats-file="$stats" --log=info --strict -- env
	assert_success
	assert_line 'AMLSHIM_POLICY=interleave'
	assert_line 'AMLSHIM_THRESHOLD=64K'
	assert_line 'AMLSHIM_RULES=0-64K=local;64K-8M=interleave;8M-=block-interleave:2M'
	assert_line 'AMLSHIM_SMALL=local'
	assert_line 'AMLSHIM_MMAP=off'
	assert_line 'AMLSHIM_STATS=json'
	assert_line "AMLSHIM_STATS_FILE=$stats"
	assert_line 'AMLSHIM_LOG=info'
	assert_line 'AMLSHIM_STRICT=1'
	assert_line "LD_PRELOAD=$SHIM_REAL"

	# The separate-argument form, and --stats alone.
	run "$AMLSHIM" --policy bind:0 --threshold 1M --stats env
	assert_success
	assert_line 'AMLSHIM_POLICY=bind:0'
	assert_line 'AMLSHIM_THRESHOLD=1M'
	assert_line 'AMLSHIM_STATS=1'
	refute_line --regexp '^AMLSHIM_(RULES|SMALL|MMAP|STATS_FILE|LOG|STRICT)='
}

@test "options override inherited variables; others are passed on" {
	run env AMLSHIM_POLICY=local AMLSHIM_LOG=debug "$AMLSHIM" --policy=interleave -- env
	assert_success
	assert_line 'AMLSHIM_POLICY=interleave'
	assert_line 'AMLSHIM_LOG=debug'
}

@test "an existing LD_PRELOAD is kept after the shim" {
	run env LD_PRELOAD=libm.so.6 "$AMLSHIM" env
	assert_success
	assert_line "LD_PRELOAD=$SHIM_REAL:libm.so.6"
}

@test "the shim is found at ../lib from the command's real path; AMLSHIM_LIBRARY overrides it" {
	# An installed layout: PREFIX/bin/amlshim and PREFIX/lib/libamlshim.so.
	local prefix=$BATS_TEST_TMPDIR/prefix
	mkdir -p "$prefix/bin" "$prefix/lib" "$BATS_TEST_TMPDIR/elsewhere"
	cp "$AMLSHIM" "$prefix/bin/amlshim"
	cp "$SHIM" "$prefix/lib/libamlshim.so"
	run "$prefix/bin/amlshim" env
	assert_success
	assert_line "LD_PRELOAD=$prefix/lib/libamlshim.so"
	# Through a symbolic link in another directory: still PREFIX/lib.
	ln -s "$prefix/bin/amlshim" "$BATS_TEST_TMPDIR/elsewhere/amlshim"
	run "$BATS_TEST_TMPDIR/elsewhere/amlshim" env
	assert_success
	assert_line "LD_PRELOAD=$prefix/lib/libamlshim.so"

	# AMLSHIM_LIBRARY wins, and is not passed on (the shim would warn).
	run --separate-stderr env AMLSHIM_LIBRARY="$SHIM" "$prefix/bin/amlshim" env
	assert_success
	assert_line "LD_PRELOAD=$SHIM"
	refute_line --partial AMLSHIM_LIBRARY
	assert_equal "$stderr" ''

	# A shim that is not there: a clear message, exit 1, nothing run.
	rm "$prefix/lib/libamlshim.so"
	run --separate-stderr "$prefix/bin/amlshim" echo ran
	assert_equal "$status" 1
	assert_output ''
	[[ $stderr == "amlshim: cannot use the shim library $prefix/lib/libamlshim.so"* ]] || fail "stderr: $stderr"
}

@test "bad option values: exit 2 before exec, with the shim's own message" {
	local failures=0 option variable value expected
	while IFS=' ' read -r option variable value; do
		# What the shim itself says about the same value.
		expected=$(env "$variable=$value" LD_PRELOAD="$SHIM" /bin/true 2>&1 >/dev/null)
		run --separate-stderr "$AMLSHIM" "$option=$value" echo ran
		if [ "$status" != 2 ] || [ -n "$output" ] || [ "$stderr" != "$expected" ] ||
			[ "${#stderr_lines[@]}" != 1 ]; then
			echo "$option=$value: status $status, stdout '$output'"
			echo "  stderr:   $stderr"
			echo "  expected: $expected"
			failures=$((failures + 1))
		fi
	done <<'EOF'
--policy AMLSHIM_POLICY bogus
--policy AMLSHIM_POLICY bind:
--policy AMLSHIM_POLICY block-interleave:3000
--threshold AMLSHIM_THRESHOLD 1.5M
--rules AMLSHIM_RULES 0-1M=local;512K-=interleave
--small AMLSHIM_SMALL cuda-mapped
--mmap AMLSHIM_MMAP yes
--stats AMLSHIM_STATS 2
--stats-file AMLSHIM_STATS_FILE /tmp/%d
--log AMLSHIM_LOG verbose
EOF
	[ $failures -eq 0 ]
	# The acceptance case, exactly.
	run --separate-stderr "$AMLSHIM" --policy=bogus ls
	assert_equal "$status" 2
	assert_equal "$stderr" "$(bad_value_line AMLSHIM_POLICY "'bogus'" "unknown policy 'bogus'")"
}

@test "--explain prints node 0, resolves --policy=interleave and says where bandwidth rankings come from" {
	local node
	node=$(first_allowed_node)
	run "$AMLSHIM" --explain --policy=interleave
	assert_success
	assert_line --regexp "^  node $node: cpus [0-9]"
	assert_line --regexp '^  from cpus [0-9].*\(nodes? '
	assert_line --regexp '^    bandwidth node [0-9]+'
	assert_line --regexp '^              source: (hwloc memory attributes|hwloc distances|locality)'
	assert_line "  AMLSHIM_POLICY      'interleave' (--policy)"
	assert_line '  sizes 1M and up: interleave'
	assert_line --regexp '^      area-linux: policy interleave, nodes '
	assert_line '  sizes 0 up to 1M: kernel default (no rule)'
}

@test "--explain with an HMAT topology (XML): rankings come from memory attributes" {
	local xml=$TESTS_ROOT/tests/topologies/two-socket-hbm.xml
	[ -f "$xml" ] || fail "missing $xml"
	run env HWLOC_XMLFILE="$xml" HWLOC_THISSYSTEM=0 "$AMLSHIM" --explain --policy=bandwidth
	assert_success
	assert_line '  node 2: cpus 0-1, memory 16.0 GiB, HBM'
	assert_line '  from cpus 0-1 (nodes 0, 2):'
	assert_line --regexp '^    bandwidth node 2 \([0-9]+ MiB/s\), node 0 '
	assert_line '              source: hwloc memory attributes (ACPI HMAT)'
	assert_line '  sizes 1M and up: bandwidth'

	xml=$TESTS_ROOT/tests/topologies/four-node-slit.xml
	run env HWLOC_XMLFILE="$xml" HWLOC_THISSYSTEM=0 "$AMLSHIM" --explain
	assert_success
	assert_line --regexp '^              source: hwloc distances'
}

@test "--explain shows fallbacks and their reasons, and the rules table" {
	local node
	node=$(unavailable_node)
	run "$AMLSHIM" --explain --rules="0-64K=local;64K-8M=bind:$node;8M-=block-interleave:2M" --small=bind:"$node" --strict
	assert_success
	assert_line '  sizes 0 up to 64K: local'
	assert_line '  sizes 64K up to 8M: bind:'"$node"
	assert_line --regexp "^      falls back to the kernel default: node $node is not available to this process .*AMLSHIM_STRICT=1"
	assert_line '  sizes 8M and up: block-interleave:2M'
	assert_line --regexp '^      area-block: '
	assert_line "  small objects: bind:$node"
	assert_line --partial 'the program would exit with status 2'

	# Inherited bad values are shown with the shim's message.
	run env AMLSHIM_THRESHOLD=lots "$AMLSHIM" --explain
	assert_success
	assert_line "  $(bad_value_line AMLSHIM_THRESHOLD "'lots'" "'lots' is not a size")"

	run --separate-stderr "$AMLSHIM" --explain --policy=bogus
	assert_equal "$status" 2
	assert_output ''
}

@test "the README's main-job command works (amlshim --policy=interleave --stats -- program)" {
	require_tool "$PYTHON"
	local readme=$TESTS_ROOT/README.md options
	# The options of the README's command line, if it has one.
	options=$(sed -n 's/^ *amlshim \(--policy=[^ ]*.*\) -- .*/\1/p' "$readme" 2>/dev/null | head -n 1)
	[ -n "$options" ] || options='--policy=interleave --stats'
	local -a opts
	read -ra opts <<<"$options"
	local plain
	plain=$("$PYTHON" "$DATA/lists.py")
	run --separate-stderr "$AMLSHIM" "${opts[@]}" -- "$PYTHON" "$DATA/lists.py"
	assert_success
	assert_output "$plain"
	[[ ${stderr_lines[0]} == "amlshim report (pid "* ]] || fail "no report on stderr: $stderr"
	printf '%s\n' "$stderr" | grep -qE '^  1M- +interleave +[1-9]' ||
		fail "the report counts nothing under interleave: $stderr"

	# And the JSON flavour, validated without the shim.
	run --separate-stderr "$AMLSHIM" --policy=interleave --stats=json -- "$PYTHON" -c 'b=bytearray(64<<20)'
	assert_success
	printf '%s\n' "$stderr" | "$PYTHON" -c '
import json, sys
r = json.load(sys.stdin)
rule = [x for x in r["rules"] if x["policy"] == "interleave"][0]
assert rule["count"] >= 1 and rule["bytes"] >= 64 << 20, r'
}
