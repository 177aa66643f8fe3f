#!/usr/bin/env bats
# Bad values of every AMLSHIM_* variable: each gives exactly one stderr line
# naming the variable and the value (quoted, escaped) and saying what is
# accepted; the program's stdout and exit status are those of a plain run;
# with AMLSHIM_STRICT=1 the program does not run and the status is 2.
# Also: values that parse but cannot be applied here, unknown variables,
# values that try to inject lines, and setuid (secure) mode.

load helpers

STRICT_LINE='amlshim: AMLSHIM_STRICT=1: bad AMLSHIM_* value; exiting with status 2'

setup() {
	clean_environment
	require_build
	# The program: ls of a small directory, plainly, as the reference.
	LISTED=$DATA
	PLAIN_OUT=$BATS_TEST_TMPDIR/plain.out
	ls -l "$LISTED" >"$PLAIN_OUT" 2>"$BATS_TEST_TMPDIR/plain.err"
	PLAIN_RC=$?
}

# The parser's quoting of a value: 'text' with bytes outside printable
# ASCII as \xNN, ' and \ escaped, at most 64 bytes, then "...(N bytes)".
quote_value() {
	local value=$1 out="'" i c code hex
	local n=${#value}
	local shown=$((n < 64 ? n : 64))
	for ((i = 0; i < shown; i++)); do
		c=${value:i:1}
		printf -v code '%d' "'$c"
		code=$((code & 255))
		if [[ $c == "'" || $c == '\' ]]; then
			out+="\\$c"
		elif ((code < 32 || code >= 127)); then
			printf -v hex '\\x%02x' "$code"
			out+=$hex
		else
			out+=$c
		fi
	done
	out+="'"
	((n > 64)) && out+="...($n bytes)"
	printf '%s' "$out"
}

# run_ls OUTDIR VAR=value...: ls under the shim with those variables.
run_ls() {
	local dir=$1
	shift
	mkdir -p "$dir"
	local rc=0
	env "$@" LD_PRELOAD="$SHIM" ls -l "$LISTED" >"$dir/out" 2>"$dir/err" || rc=$?
	echo $rc >"$dir/rc"
}

# expect_run DIR LABEL RC EXPECTED-STDERR-LINES...: what run_ls left in DIR.
# RC "plain": the plain run's status and stdout; else that status and no
# stdout.
expect_run() {
	local dir=$1 label=$2 want_rc=$3 bad=0
	shift 3
	local rc
	rc=$(cat "$dir/rc")
	if [ "$want_rc" = plain ]; then
		[ "$rc" = "$PLAIN_RC" ] || { echo "$label: exit status $rc, plain run $PLAIN_RC"; bad=1; }
		cmp -s "$dir/out" "$PLAIN_OUT" || {
			echo "$label: stdout differs from the plain run:"
			diff "$PLAIN_OUT" "$dir/out" | head -n 6 | sed 's/^/    /'
			bad=1
		}
	else
		[ "$rc" = "$want_rc" ] || { echo "$label: exit status $rc, expected $want_rc"; bad=1; }
		[ ! -s "$dir/out" ] || { echo "$label: the program ran (stdout: $(head -c 100 "$dir/out"))"; bad=1; }
	fi
	local expected=""
	[ $# -gt 0 ] && expected=$(printf '%s\n' "$@")
	local got
	got=$(cat "$dir/err")
	if [ "$got" != "$expected" ] || [ "$(wc -l <"$dir/err")" != "$#" ]; then
		echo "$label: stderr is not the expected $# line(s)"
		echo "  expected:"
		printf '%s\n' "$expected" | cut -c1-400 | sed 's/^/    /'
		echo "  got:"
		cut -c1-400 "$dir/err" | cat -A | head -n 6 | sed 's/^/    /'
		bad=1
	fi
	return $bad
}

# check_bad NAME VALUE REASON: one bad value, plain and strict.
check_bad() {
	local name=$1 value=$2 reason=$3
	local line dir=$BATS_TEST_TMPDIR/case-$((++CASE))
	line=$(bad_value_line "$name" "$(quote_value "$value")" "$reason")
	local label="$name=$(quote_value "$value")"
	local bad=0
	run_ls "$dir/plain" "$name=$value"
	expect_run "$dir/plain" "$label" plain "$line" || bad=1
	if [ "$name" = AMLSHIM_STRICT ]; then
		# A bad STRICT falls back to 0: the program runs.
		return $bad
	fi
	run_ls "$dir/strict" "$name=$value" AMLSHIM_STRICT=1
	expect_run "$dir/strict" "$label with AMLSHIM_STRICT=1" 2 "$line" "$STRICT_LINE" || bad=1
	return $bad
}

# check_cases NAME: "VALUE<TAB>REASON" lines on stdin (<empty>: "").
check_cases() {
	local name=$1 value reason failures=0 count=0
	while IFS=$'\t' read -r value reason; do
		[ "$value" = '<empty>' ] && value=''
		count=$((count + 1))
		check_bad "$name" "$value" "$reason" || failures=$((failures + 1))
	done
	[ $failures -eq 0 ] || fail "$name: $failures of $count bad values not handled as required"
}

@test "AMLSHIM_POLICY=bogus ls lists the directory as usual and prints one clear line" {
	run --separate-stderr env LD_PRELOAD="$SHIM" AMLSHIM_POLICY=bogus ls -l "$LISTED"
	assert_equal "$status" "$PLAIN_RC"
	assert_output "$(cat "$PLAIN_OUT")"
	assert_equal "$stderr" "$(bad_value_line AMLSHIM_POLICY "'bogus'" "unknown policy 'bogus'")"
}

@test "AMLSHIM_POLICY: bad values" {
	check_cases AMLSHIM_POLICY <<'EOF'
bogus	unknown policy 'bogus'
INTERLEAVED	unknown policy 'INTERLEAVED'
 interleave	unknown policy ' interleave'
local:3	local takes no argument
bandwidth:0	bandwidth takes no argument
bind	bind needs a node list (bind:NODES)
bind:	empty node list
bind:0-	node range '0-' has no end
interleave:-1	node range '-1' has no start
interleave:3-1	node range '3-1' goes down
interleave:x	'x' is not a node number or node set name
interleave:socket@dram	'socket@dram': a kind goes before @socket (dram@socket, hbm@socket, cxl@socket, gpu@socket)
bind:hbm@	'hbm@': '@' must be followed by socket (KIND@socket)
interleave:local-3	node range 'local-3' holds a name: ranges are of node numbers
interleave:0,,1	empty entry in node list
interleave:all,1	'all' must stand alone in a node list
interleave:1024	node '1024' is out of range (the largest is 1023)
preferred	preferred needs a node (preferred:NODE)
preferred:0,1	preferred takes exactly one node, not '0,1'
preferred:all	preferred takes exactly one node, not 'all'
block-interleave	block-interleave needs a block size (block-interleave:SIZE[:NODES])
block-interleave:3000	block size 3000 is not a multiple of 4K (the page size)
block-interleave:0	block size must be greater than 0
block-interleave:2X	'2X' is not a size
block-interleave:2M:	empty node list
cuda-mapped:1024	device '1024' is not a number from 0 to 1023
cuda-managed:x	device 'x' is not a number from 0 to 1023
EOF
}

@test "AMLSHIM_THRESHOLD: bad values" {
	check_cases AMLSHIM_THRESHOLD <<'EOF'
lots	'lots' is not a size
1.5M	'1.5M' is not a size
-1	'-1' is not a size
 1M	' 1M' is not a size
1M2	'1M2' is not a size
1KK	'1KK' is not a size
16E	'16E' is not a size
18446744073709551616	'18446744073709551616' is too large (the largest size is 18446744073709551615)
17179869184G	'17179869184G' is too large (the largest size is 18446744073709551615)
EOF
}

@test "AMLSHIM_RULES: bad values" {
	local many="" i
	for i in $(seq 0 16); do many+="$((i * 4))K-$((i * 4 + 4))K=local;"; done
	check_cases AMLSHIM_RULES <<EOF
x	rule 1 'x': no '=' (write MIN-MAX=PLACEMENT)
64K=local	rule 1 '64K=local': no '-' in the size range (write MIN-MAX, MIN- or -MAX)
1M-64K=local	rule 1 '1M-64K=local': MIN must be less than MAX
0-1M=local;512K-=interleave	rule 1 '0-1M=local' overlaps rule 2 '512K-=interleave'
0-1M=bogus	rule 1 '0-1M=bogus': unknown policy 'bogus'
0-1x=local	rule 1 '0-1x=local': '1x' is not a size
0-1M=block-interleave:3K	rule 1 '0-1M=block-interleave:3K': block size 3K is not a multiple of 4K (the page size)
0-64K=local;;64K-=interleave	rule 2 is empty
;;	rule 1 is empty
$many	more than 16 rules
EOF
}

@test "AMLSHIM_SMALL: bad values" {
	check_cases AMLSHIM_SMALL <<'EOF'
bogus	unknown policy 'bogus'
cuda-mapped	cuda-mapped cannot place small objects (the CUDA runtime itself calls malloc)
cuda-managed:1	cuda-managed cannot place small objects (the CUDA runtime itself calls malloc)
block-interleave:2M	block-interleave cannot place small objects (their extents are split and merged, so blocks would not stay on their nodes)
bind:	empty node list
interleave:9-2	node range '9-2' goes down
EOF
}

@test "AMLSHIM_MMAP: bad values" {
	check_cases AMLSHIM_MMAP <<'EOF'
yes	unknown value
2	unknown value
 on	unknown value
enabled	unknown value
EOF
}

@test "AMLSHIM_DEEPBIND: bad values" {
	check_cases AMLSHIM_DEEPBIND <<'EOF'
yes	unknown value
1	unknown value
 keep	unknown value
dropped	unknown value
EOF
}

@test "AMLSHIM_STATS: bad values" {
	check_cases AMLSHIM_STATS <<'EOF'
2	unknown value
yes	unknown value
on	unknown value
JSON5	unknown value
EOF
}

@test "AMLSHIM_STATS_FILE: bad values" {
	local long
	long=/tmp/$(printf 'a%.0s' {1..300})
	check_cases AMLSHIM_STATS_FILE <<EOF
<empty>	empty path
/tmp/%d.txt	unknown sequence '%d'
/tmp/100%	unknown sequence '%'
%p%s	unknown sequence '%s'
%P	unknown sequence '%P'
$long	the path is 305 bytes long
EOF
}

@test "AMLSHIM_LOG: bad values" {
	check_cases AMLSHIM_LOG <<'EOF'
verbose	unknown value
warning	unknown value
3	unknown value
EOF
}

@test "AMLSHIM_STRICT: bad values (the program still runs: strict falls back to 0)" {
	check_cases AMLSHIM_STRICT <<'EOF'
2	unknown value
yes	unknown value
true	unknown value
on	unknown value
01	unknown value
EOF
}

@test "AMLSHIM_SHARE_SETTLE: bad values" {
	check_cases AMLSHIM_SHARE_SETTLE <<'EOF'
soon	not a duration
1	not a duration
1.5s	not a duration
-1s	not a duration
1 s	not a duration
100000001s	not a duration
EOF
}

@test "AMLSHIM_LEDGER: bad values (a name, never a path)" {
	local long
	long=$(printf 'a%.0s' {1..65})
	check_cases AMLSHIM_LEDGER <<EOF
../x	not a name
a/b	not a name
.hidden	not a name
a b	not a name
$long	not a name
EOF
}

@test "empty values mean unset: no message, same output" {
	local name failures=0
	for name in AMLSHIM_POLICY AMLSHIM_THRESHOLD AMLSHIM_RULES AMLSHIM_SMALL AMLSHIM_MMAP AMLSHIM_DEEPBIND \
		AMLSHIM_STATS AMLSHIM_LOG AMLSHIM_STRICT AMLSHIM_SHARE_SETTLE AMLSHIM_LEDGER; do
		run_ls "$BATS_TEST_TMPDIR/$name" "$name="
		expect_run "$BATS_TEST_TMPDIR/$name" "$name=''" plain || failures=$((failures + 1))
	done
	[ $failures -eq 0 ]
}

@test "every variable bad at once: one line each, in the documented order; strict exits 2" {
	local -a vars=(AMLSHIM_POLICY=x AMLSHIM_THRESHOLD=x AMLSHIM_RULES=x AMLSHIM_SMALL=x AMLSHIM_MMAP=x
		AMLSHIM_DEEPBIND=x AMLSHIM_STATS=x AMLSHIM_STATS_FILE=%x AMLSHIM_LOG=x AMLSHIM_SHARE_SETTLE=x
		AMLSHIM_LEDGER=../x)
	run_ls "$BATS_TEST_TMPDIR/all" "${vars[@]}" AMLSHIM_STRICT=x
	local lines
	lines=$(cut -d= -f1 "$BATS_TEST_TMPDIR/all/err" | sed 's/^amlshim: //' | tr '\n' ' ')
	assert_equal "$lines" "${AMLSHIM_VARIABLES[*]} "
	[ "$(cat "$BATS_TEST_TMPDIR/all/rc")" = "$PLAIN_RC" ]
	cmp "$BATS_TEST_TMPDIR/all/out" "$PLAIN_OUT"
	run_ls "$BATS_TEST_TMPDIR/strict" "${vars[@]}" AMLSHIM_STRICT=1
	assert_equal "$(cat "$BATS_TEST_TMPDIR/strict/rc")" 2
	[ ! -s "$BATS_TEST_TMPDIR/strict/out" ]
	assert_equal "$(wc -l <"$BATS_TEST_TMPDIR/strict/err")" 12
	assert_equal "$(tail -n 1 "$BATS_TEST_TMPDIR/strict/err")" "$STRICT_LINE"
}

@test "bad values are reported whatever AMLSHIM_LOG says (error)" {
	run_ls "$BATS_TEST_TMPDIR/log" AMLSHIM_LOG=error AMLSHIM_POLICY=bogus
	expect_run "$BATS_TEST_TMPDIR/log" "AMLSHIM_LOG=error AMLSHIM_POLICY=bogus" plain \
		"$(bad_value_line AMLSHIM_POLICY "'bogus'" "unknown policy 'bogus'")"
}

# check_unavailable "NAME VALUE"...: a placement on a node this process may
# not use, plain and strict.
check_unavailable() {
	local node allowed failures=0
	node=$(unavailable_node)
	allowed=$(allowed_nodes | paste -sd,)
	local why="node $node is not available to this process (allowed: $allowed)"
	local case name value var
	for case in "$@"; do
		case=${case//NODE/$node}
		read -r name value <<<"$case"
		var=$name
		# The shim names the variable the rule came from (RULES or POLICY).
		local line="amlshim: $var='${value#*=}' cannot be applied: $why; using the kernel default"
		[ "$name" = AMLSHIM_RULES ] && line="amlshim: AMLSHIM_RULES='bind:$node' cannot be applied: $why; using the kernel default"
		run_ls "$BATS_TEST_TMPDIR/$name-$value" "$name=$value" AMLSHIM_THRESHOLD=4K
		expect_run "$BATS_TEST_TMPDIR/$name-$value" "$name=$value" plain "$line" || failures=$((failures + 1))
		run_ls "$BATS_TEST_TMPDIR/$name-$value-strict" "$name=$value" AMLSHIM_STRICT=1
		expect_run "$BATS_TEST_TMPDIR/$name-$value-strict" "$name=$value AMLSHIM_STRICT=1" 2 "$line" \
			"amlshim: AMLSHIM_STRICT=1: a policy cannot be applied; exiting with status 2" ||
			failures=$((failures + 1))
	done
	[ $failures -eq 0 ]
}

@test "a policy that cannot be applied here: one line, kernel default; strict exits 2" {
	check_unavailable "AMLSHIM_POLICY bind:NODE" "AMLSHIM_POLICY preferred:NODE" \
		"AMLSHIM_POLICY interleave:NODE" "AMLSHIM_POLICY block-interleave:2M:NODE" "AMLSHIM_RULES 64K-=bind:NODE"
}

@test "an AMLSHIM_SMALL that cannot be applied here: one line, kernel default; strict exits 2" {
	check_unavailable "AMLSHIM_SMALL bind:NODE" "AMLSHIM_SMALL interleave:NODE"
}

@test "every AMLSHIM_SMALL value the parser accepts is applied without a warning" {
	# The parser lists these as accepted for AMLSHIM_SMALL (see its
	# "accepted:" text); a value it accepts should not then be refused.
	local node value failures=0
	node=$(first_allowed_node)
	for value in default local "bind:$node" "preferred:$node" interleave bandwidth latency capacity; do
		run_ls "$BATS_TEST_TMPDIR/small-$value" "AMLSHIM_SMALL=$value"
		expect_run "$BATS_TEST_TMPDIR/small-$value" "AMLSHIM_SMALL=$value" plain || failures=$((failures + 1))
	done
	[ $failures -eq 0 ]
}

# expect_unknown_warning DIR NAME: the run in DIR printed one warning about
# the unknown variable NAME (plain or quoted) and changed nothing else.
expect_unknown_warning() {
	local dir=$1 name=$2
	expect_run "$dir" "$name" plain "$(head -n 1 "$dir/err")" || return 1
	grep -qE "^amlshim: unknown variable '?$name'? ignored" "$dir/err" ||
		fail "$name: not the expected warning: $(cat "$dir/err")"
}

@test "an unknown AMLSHIM_FOO variable gives one warning line, output unchanged" {
	run_ls "$BATS_TEST_TMPDIR/foo" AMLSHIM_FOO=1
	expect_unknown_warning "$BATS_TEST_TMPDIR/foo" AMLSHIM_FOO
	# A misspelling of a real one, too.
	run_ls "$BATS_TEST_TMPDIR/typo" AMLSHIM_POLCY=interleave
	expect_unknown_warning "$BATS_TEST_TMPDIR/typo" AMLSHIM_POLCY
}

@test "values with newlines and escape bytes cannot inject lines" {
	local failures=0 value
	for value in $'inter\nleave' $'\e[2J\e[31mred' $'bogus\ramlshim: all good' $'x\n\namlshim: forged'; do
		check_bad AMLSHIM_POLICY "$value" "unknown policy $(quote_value "${value%%:*}")" ||
			failures=$((failures + 1))
		check_bad AMLSHIM_LOG "$value" "unknown value" || failures=$((failures + 1))
	done
	check_bad AMLSHIM_THRESHOLD $'1M\n' "$(quote_value $'1M\n') is not a size" || failures=$((failures + 1))
	check_bad AMLSHIM_RULES $'0-1M=local\n;1M-=x' \
		"rule 1 $(quote_value $'0-1M=local\n'): unknown policy $(quote_value $'local\n')" ||
		failures=$((failures + 1))
	check_bad AMLSHIM_POLICY "it's\\" "unknown policy 'it\\'s\\\\'" || failures=$((failures + 1))
	# The escapes themselves: no raw control byte reaches stderr.
	run_ls "$BATS_TEST_TMPDIR/raw" AMLSHIM_POLICY=$'a\e]0;title\a\nb'
	if LC_ALL=C grep -q $'[\x01-\x09\x0b-\x1f\x7f]' "$BATS_TEST_TMPDIR/raw/err"; then
		echo "a control byte reached stderr: $(cat -A "$BATS_TEST_TMPDIR/raw/err")"
		failures=$((failures + 1))
	fi
	[ $failures -eq 0 ]
}

@test "an unknown variable whose name holds a newline or escape cannot inject lines" {
	# env(1) can set names bash cannot.
	local name failures=0
	for name in $'AMLSHIM_A\namlshim: forged line' $'AMLSHIM_\e[31mX' $'AMLSHIM_\rY'; do
		run_ls "$BATS_TEST_TMPDIR/name" "$name=1"
		if [ "$(wc -l <"$BATS_TEST_TMPDIR/name/err")" -ne 1 ] ||
			LC_ALL=C grep -q $'[\x01-\x09\x0b-\x1f\x7f]' "$BATS_TEST_TMPDIR/name/err"; then
			echo "name $(quote_value "$name"): the warning is not one clean line: $(cat -A "$BATS_TEST_TMPDIR/name/err")"
			failures=$((failures + 1))
		fi
		grep -q '^amlshim: unknown variable .*AMLSHIM_' "$BATS_TEST_TMPDIR/name/err" || {
			echo "name $(quote_value "$name"): no warning: $(cat -A "$BATS_TEST_TMPDIR/name/err")"
			failures=$((failures + 1))
		}
		cmp -s "$BATS_TEST_TMPDIR/name/out" "$PLAIN_OUT" || {
			echo "name $(quote_value "$name"): stdout differs"
			failures=$((failures + 1))
		}
	done
	[ $failures -eq 0 ]
}

@test "an AMLSHIM_STATS_FILE holding a newline cannot inject lines when it cannot be written" {
	require_tool "$PYTHON"
	local rc=0
	env LD_PRELOAD="$SHIM" AMLSHIM_POLICY=interleave AMLSHIM_STATS=json \
		AMLSHIM_STATS_FILE=$'/nonexistent-dir/a\namlshim: forged' "$PYTHON" -c 'b=bytearray(4<<20)' \
		>"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" || rc=$?
	assert_equal "$rc" 0
	[ "$(wc -l <"$BATS_TEST_TMPDIR/err")" -eq 1 ] ||
		fail "the path split the warning into lines: $(cat -A "$BATS_TEST_TMPDIR/err")"
}

# ---- setuid (secure mode): the environment is ignored, no file written ----

teardown() {
	if [ -n "${SUID_DIR:-}" ]; then rm -rf "$SUID_DIR"; fi
}

setuid_setup() {
	[ "$(id -u)" = 0 ] || skip "needs root to make a setuid-root copy"
	require_tool gcc setpriv
	SUID_DIR=$(mktemp -d /tmp/amlshim-suid.XXXXXX)
	chmod 755 "$SUID_DIR"
	mkdir -m 1777 "$SUID_DIR/out"
	setpriv --reuid=65534 --regid=65534 --clear-groups test -r "$SHIM" ||
		skip "$SHIM is not readable by an unprivileged user (uid 65534)"
	# Linked against the shim (an absolute runpath: secure mode ignores
	# LD_PRELOAD paths and $ORIGIN), so the shim is loaded setuid too.
	cat >"$SUID_DIR/probe.c" <<'EOF'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
int main(void)
{
	const char *(*version)(void) = (const char *(*)(void))dlsym(RTLD_DEFAULT, "amlshim_version");
	char *p = malloc(8 << 20);
	memset(p, 1, 8 << 20);
	printf("secure=%lu shim=%s byte=%d\n", getauxval(AT_SECURE), version ? version() : "absent", p[4097]);
	free(p);
	return 0;
}
EOF
	gcc -o "$SUID_DIR/probe" "$SUID_DIR/probe.c" -L"$(dirname "$SHIM")" -Wl,--no-as-needed -lamlshim \
		-Wl,-rpath,"$(dirname "$SHIM")" -ldl
	chmod 4755 "$SUID_DIR/probe"
}

@test "setuid program: the shim ignores the environment and writes no stats file" {
	setuid_setup
	local -a vars=(AMLSHIM_POLICY=bogus AMLSHIM_LOG=debug AMLSHIM_FOO=1 AMLSHIM_STRICT=1
		AMLSHIM_STATS=json "AMLSHIM_STATS_FILE=$SUID_DIR/out/report.json")
	run --separate-stderr setpriv --reuid=65534 --regid=65534 --clear-groups env "${vars[@]}" "$SUID_DIR/probe"
	local report_written=0
	[ -e "$SUID_DIR/out/report.json" ] && report_written=1
	local output_secure=$output stderr_secure=$stderr status_secure=$status
	# The same program not setuid-elevated (run by its owner) does read it.
	run --separate-stderr env "${vars[@]}" AMLSHIM_STRICT=0 "$SUID_DIR/probe"
	local stderr_plain=$stderr version
	version=$(sed -n 's/^#define AMLSHIM_VERSION "\(.*\)"/\1/p' "$TESTS_ROOT/include/amlshim.h")
	assert_equal "$status_secure" 0
	assert_equal "$output_secure" "secure=1 shim=$version byte=1"
	assert_equal "$stderr_secure" ''
	assert_equal "$report_written" 0
	[[ $stderr_plain == *"AMLSHIM_POLICY='bogus' is not valid"* ]] ||
		fail "not setuid, the environment should be read: $stderr_plain"
}
