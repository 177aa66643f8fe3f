#!/usr/bin/env bats
# Hostile environments: the shim runs inside programs nobody on the team
# has seen, started in ways nobody planned. Each test runs a program plainly
# and under the shim and compares what matters (stdout, the files it
# writes, its status), or checks what the shim must not do.
#
# Helper programs: tests/hardening/helpers/ (built by make into
# $AMLSHIM_TEST_BUILD/tests/hardening/helpers/).

load '../bats/helpers'

HELPERS=$BUILD_DIR/tests/hardening/helpers

setup() {
	clean_environment
	require_build
	[ -d "$HELPERS" ] || fail "no helpers in $HELPERS: build them first (make hardening-tests)"
}

# Runs CMD plainly and under each configuration; stdout and status must
# match the plain run (stderr is compared too unless ALLOW_STDERR=1).
same_everywhere() {
	local label=$1
	shift
	run_reference "$@"
	local ref_rc
	ref_rc=$(cat "$REF_DIR/rc")
	[ "$ref_rc" = 0 ] || { echo "$label: the plain run failed ($ref_rc):"; cat "$REF_DIR/err"; return 1; }
	local -a configs
	mapfile -t configs < <(policy_configs)
	local i failures=0
	for i in "${!configs[@]}"; do
		run_under "$BATS_TEST_TMPDIR/run-$i" "${configs[$i]}" "$@"
		compare_with_reference "$label under ${configs[$i]}" "$BATS_TEST_TMPDIR/run-$i" || failures=$((failures + 1))
	done
	[ $failures = 0 ] || { echo "$label: $failures of ${#configs[@]} configurations differ"; return 1; }
}

# ---- setuid ------------------------------------------------------------------

# A copy of the probe owned by nobody with the setuid bit: run by root, the
# process has ruid 0 and euid nobody, so AT_SECURE is set.
teardown() {
	if [ -n "${SUID_LIBDIR:-}" ]; then rm -rf "$SUID_LIBDIR"; fi
}

setuid_probe() {
	[ "$(id -u)" = 0 ] || skip "needs root to make a setuid binary of another user"
	local dir=$BATS_TEST_TMPDIR/suid
	mkdir -p "$dir/out"
	chmod 755 "$BATS_TEST_TMPDIR" "$dir"
	chmod 1777 "$dir/out" # the process could write here, if it tried
	# Built here against a copy of the shim in a folder of /tmp anyone can
	# enter: the build tree (and bats' own temporary folders) may sit under
	# folders that nobody, the euid that loads the libraries, cannot enter.
	local libdir
	libdir=$(mktemp -d /tmp/amlshim-suid.XXXXXX)
	chmod 755 "$libdir"
	cp "$SHIM" "$libdir/libamlshim.so"
	chmod 755 "$libdir/libamlshim.so"
	cc -std=gnu11 -I"$TESTS_ROOT/include" "$TESTS_ROOT/tests/hardening/helpers/setuid_probe.c" \
		-o "$libdir/probe" -L"$libdir" -l:libamlshim.so -Wl,-rpath,"$libdir"
	cp "$libdir/probe" "$dir/probe"
	SUID_LIBDIR=$libdir
	chown nobody "$dir/probe"
	chmod 4755 "$dir/probe"
	if "$dir/probe" | grep -qx 'secure 0'; then
		skip "the setuid bit has no effect here (nosuid mount of $dir)"
	fi
	PROBE=$dir/probe OUT=$dir/out
}

@test "setuid program with the shim loaded: AMLSHIM_* ignored, no message, no file written" {
	setuid_probe
	run env AMLSHIM_POLICY=interleave AMLSHIM_THRESHOLD=64K AMLSHIM_STATS=json \
		AMLSHIM_STATS_FILE="$OUT/stats.%p.json" AMLSHIM_LOG=debug AMLSHIM_SMALL=bogus AMLSHIM_TYPO=1 \
		AMLSHIM_STRICT=1 "$PROBE"
	assert_success
	assert_line --index 0 'secure 1'
	# The report the program asked for: no rule (the environment was not read).
	assert_line --partial '"rules":[]'
	refute_output --partial 'amlshim:'
	run ls -A "$OUT"
	assert_output ''
}

@test "setuid control: the same probe without the setuid bit honours AMLSHIM_*" {
	[ -x "$HELPERS/setuid_probe" ] || fail "no probe"
	run env AMLSHIM_POLICY=interleave AMLSHIM_THRESHOLD=64K "$HELPERS/setuid_probe"
	assert_success
	assert_line --index 0 'secure 0'
	assert_line --partial '"policy":"interleave"'
}

@test "setuid program and LD_PRELOAD: ld.so drops the shim, the program runs as without it" {
	setuid_probe
	local prog=$BATS_TEST_TMPDIR/suid/family
	cp "$HELPERS/realloc_family" "$prog"
	chown nobody "$prog"
	chmod 4755 "$prog"
	run "$prog"
	assert_success
	local plain=$output
	run env LD_PRELOAD="$SHIM" AMLSHIM_POLICY=interleave AMLSHIM_STATS=1 "$prog"
	assert_success
	assert_output "$plain"
}

# ---- stderr closed -------------------------------------------------------------

@test "stderr closed at start: programs run, same output and status" {
	local prog out_plain out_shim rc_plain rc_shim
	for prog in "ls -la /usr" "sort -n $BATS_TEST_DIRNAME/hostile.bats" "$PYTHON -c print(sum(range(1000000)))"; do
		rc_plain=0 rc_shim=0
		# shellcheck disable=SC2086
		out_plain=$($prog 2>&-) || rc_plain=$?
		# shellcheck disable=SC2086
		out_shim=$(env LD_PRELOAD="$SHIM" AMLSHIM_POLICY=bogus AMLSHIM_STATS=1 AMLSHIM_LOG=debug $prog 2>&-) ||
			rc_shim=$?
		[ "$rc_plain" = "$rc_shim" ] || fail "$prog: status $rc_shim, plain $rc_plain"
		[ "$out_plain" = "$out_shim" ] || fail "$prog: stdout differs with stderr closed"
	done
}

@test "stderr closed at start, then a data file takes fd 2: nothing of the shim's lands in it" {
	local config
	for config in "AMLSHIM_POLICY=interleave AMLSHIM_STATS=1" "AMLSHIM_POLICY=interleave AMLSHIM_STATS=json AMLSHIM_LOG=debug" \
		"AMLSHIM_POLICY=block-interleave:2M AMLSHIM_LOG=info"; do
		rm -f "$BATS_TEST_TMPDIR/data"
		# shellcheck disable=SC2086
		(exec 2>&-; env $config LD_PRELOAD="$SHIM" "$HELPERS/stderr_reuse" "$BATS_TEST_TMPDIR/data") ||
			fail "$config: the program failed"
		run cat "$BATS_TEST_TMPDIR/data"
		assert_output "$(printf 'data 0\ndata 1\ndata 2')"
	done
}

# ---- children of a shell script --------------------------------------------------

@test "LD_PRELOAD exported to every child of a shell script: children of all kinds behave" {
	require_tool make perl xargs find timeout nohup bc
	local script=$BATS_TEST_TMPDIR/children.sh
	cat >"$script" <<EOF
#!/bin/bash
set -e
cd "\$(mktemp -d "$BATS_TEST_TMPDIR/work.XXXXXX")"
seq 1 20000 >numbers
echo "subshell: \$( (sort -rn numbers | head -n 1) )"
echo "pipeline: \$(cat numbers | sort -n | uniq | wc -l)"
sort -n numbers >sorted & wait \$!
echo "background: \$(tail -n 1 sorted)"
echo "xargs -P4: \$(seq 1 64 | xargs -P4 -n8 sh -c 'echo \$#' sh | paste -sd+ | bc)"
mkdir tree && for i in 1 2 3 4 5; do seq 1 \$i >tree/f\$i; done
echo "find -exec: \$(find tree -type f -exec cat {} + | wc -l)"
echo "env -i: \$(env -i /bin/sh -c 'echo \${LD_PRELOAD:-unset}')"
echo "static: \$("$HELPERS/static_alloc")"
echo "python: \$($PYTHON -c 'import subprocess; print(subprocess.run(["sort","-n","numbers"],capture_output=True).stdout.count(b"\n"))')"
echo "perl: \$(perl -e 'print scalar(split /\n/, \`cat numbers\`)')"
printf 'all:\n\t@echo make: \$\$(( 6 * 7 ))\n' >Makefile && make -s
printf '#!/bin/sh\necho shebang: \$(( 1 + 1 ))\n' >script.sh && chmod +x script.sh && ./script.sh
echo "timeout: \$(timeout 20 sort -n numbers | wc -l)"
echo "nohup: \$(nohup sh -c 'echo ok' 2>/dev/null)"
exec sh -c 'echo "exec: done"'
EOF
	chmod +x "$script"
	same_everywhere "shell script children" "$script"
}

# ---- file descriptors closed ----------------------------------------------------------

@test "programs that close all fds at start: same result under every policy" {
	local i
	run_reference "$HELPERS/closefds" "$BATS_TEST_TMPDIR/plain.out"
	[ "$(cat "$REF_DIR/rc")" = 0 ] || fail "the plain run failed"
	local -a configs
	mapfile -t configs < <(policy_configs)
	for i in "${!configs[@]}"; do
		run_under "$BATS_TEST_TMPDIR/run-$i" "${configs[$i]} AMLSHIM_STATS=1" "$HELPERS/closefds" "$BATS_TEST_TMPDIR/shim-$i.out"
		[ "$(cat "$BATS_TEST_TMPDIR/run-$i/rc")" = 0 ] || fail "${configs[$i]}: status $(cat "$BATS_TEST_TMPDIR/run-$i/rc")"
		cmp "$BATS_TEST_TMPDIR/plain.out" "$BATS_TEST_TMPDIR/shim-$i.out" || fail "${configs[$i]}: result differs"
	done
}

# ---- programs with an allocator of their own ----------------------------------------------

@test "a statically linked program: untouched under every policy" {
	same_everywhere "static program" "$HELPERS/static_alloc"
}

@test "a program that defines its own malloc family: its allocator runs, same output" {
	same_everywhere "own malloc" "$HELPERS/ownmalloc"
	run env LD_PRELOAD="$SHIM" AMLSHIM_POLICY=interleave AMLSHIM_THRESHOLD=4K "$HELPERS/ownmalloc"
	assert_output --partial 'own malloc used: yes'
}

@test "a program that dlopens jemalloc and uses it next to malloc: same output" {
	[ -e /usr/lib/x86_64-linux-gnu/libjemalloc.so.2 ] || [ -e /usr/lib/libjemalloc.so.2 ] ||
		require_tool /usr/lib/x86_64-linux-gnu/libjemalloc.so.2
	same_everywhere "dlopen jemalloc" "$HELPERS/dlopen_jemalloc"
}

@test "another allocator preloaded with the shim, either order: programs behave" {
	local lib order out expected rc tried=0
	seq 1 50000 | sort -R --random-source=/dev/zero >"$BATS_TEST_TMPDIR/numbers"
	expected=$(sort -n "$BATS_TEST_TMPDIR/numbers" | md5sum; $PYTHON -c 'print(len(bytearray(10**7)))')
	for lib in /usr/lib/x86_64-linux-gnu/libjemalloc.so.2 /usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 \
		/usr/lib/x86_64-linux-gnu/libmimalloc.so.2; do
		[ -e "$lib" ] || continue
		tried=$((tried + 1))
		for order in "$lib $SHIM" "$SHIM $lib"; do
			rc=0
			out=$(export LD_PRELOAD="$order" AMLSHIM_POLICY=interleave AMLSHIM_THRESHOLD=64K
				sort -n "$BATS_TEST_TMPDIR/numbers" | md5sum; $PYTHON -c 'print(len(bytearray(10**7)))') 2>&1 || rc=$?
			[ "$rc" = 0 ] && [ "$out" = "$expected" ] ||
				fail "LD_PRELOAD='$order': sort -n or python3 gave other output (status $rc): $out"
		done
	done
	[ $tried -gt 0 ] || require_tool /usr/lib/x86_64-linux-gnu/libjemalloc.so.2
}

@test "another allocator preloaded first: reallocarray on its pointers works" {
	local lib
	for lib in /usr/lib/x86_64-linux-gnu/libjemalloc.so.2 /usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4; do
		[ -e "$lib" ] || continue
		run env LD_PRELOAD="$lib $SHIM" perl -e '1'
		assert_success
		run env LD_PRELOAD="$lib $SHIM" "$HELPERS/realloc_family"
		assert_success
		assert_line 'realloc family: ok'
		# The shim says once that placement through malloc is off.
		assert_line --partial "another allocator ($lib) is preloaded before libamlshim.so"
		assert_equal "${#lines[@]}" 2
	done
}

# ---- RTLD_DEEPBIND ----------------------------------------------------------------------------

@test "a plugin loaded without RTLD_DEEPBIND (control): same output" {
	same_everywhere "plugin (RTLD_LOCAL)" "$HELPERS/deepbind" local
}

# The plugin also calls its own helper() (the program has one too), frees
# and grows the program's pointers, and hands it its own.
@test "a plugin loaded with RTLD_DEEPBIND that frees what libc allocated for it: same output" {
	same_everywhere "plugin (RTLD_DEEPBIND)" "$HELPERS/deepbind"
}

@test "RTLD_DEEPBIND: the plugin calls its own helper(), not the program's, and says so at info level" {
	run env LD_PRELOAD="$SHIM" AMLSHIM_LOG=info "$HELPERS/deepbind"
	assert_success
	assert_line 'helper called by the plugin: plugin'
	assert_line 'program buffers freed by the plugin: 50 of 50'
	assert_line 'libc allocations freed by the plugin: 100 of 100'
	assert_line --partial 'RTLD_DEEPBIND kept for '
	run env LD_PRELOAD="$SHIM" "$HELPERS/deepbind"
	assert_success
	refute_output --partial 'amlshim:'
}

@test "RTLD_DEEPBIND plugin found by name through the program's RUNPATH: same output" {
	same_everywhere "plugin (RTLD_DEEPBIND, by name)" "$HELPERS/deepbind" name
}

@test "AMLSHIM_DEEPBIND=drop: the flag is cleared (the plugin calls the program's helper), no crash" {
	run env LD_PRELOAD="$SHIM" AMLSHIM_DEEPBIND=drop AMLSHIM_LOG=info "$HELPERS/deepbind"
	assert_success
	assert_line 'helper called by the plugin: program'
	assert_line 'libc allocations freed by the plugin: 100 of 100'
	assert_line --partial 'RTLD_DEEPBIND dropped for '
}

@test "AMLSHIM_DEEPBIND bad value: one line naming it, then the default (keep)" {
	run env LD_PRELOAD="$SHIM" AMLSHIM_DEEPBIND=bogus "$HELPERS/deepbind"
	assert_success
	assert_line "amlshim: AMLSHIM_DEEPBIND='bogus' is not valid: unknown value; accepted: keep, drop"
	assert_equal "$(grep -c '^amlshim:' <<<"$output")" 1
	assert_line 'helper called by the plugin: plugin'
}

# ---- the shim loaded twice --------------------------------------------------------------------

@test "the shim preloaded twice (two copies): one clear message, no crash, one report, output unchanged" {
	local copy=$BATS_TEST_TMPDIR/copy/libamlshim.so
	mkdir -p "$(dirname "$copy")"
	cp "$SHIM" "$copy"
	# /usr, not /: the listing of / shows /tmp, which other processes change.
	run_reference ls -la /usr
	run_under "$BATS_TEST_TMPDIR/twice" "AMLSHIM_POLICY=interleave AMLSHIM_THRESHOLD=64K" env LD_PRELOAD="$SHIM $copy" ls -la /usr
	assert_equal "$(cat "$BATS_TEST_TMPDIR/twice/rc")" 0
	cmp "$REF_DIR/out" "$BATS_TEST_TMPDIR/twice/out" || fail "stdout differs"
	run grep -ci 'loaded twice\|loaded more than once\|another copy' "$BATS_TEST_TMPDIR/twice/err"
	assert_output 1
	# A bad value is reported once, and one report is written.
	run env LD_PRELOAD="$SHIM $copy" AMLSHIM_POLICY=bogus AMLSHIM_STATS=1 /bin/true
	assert_success
	assert_equal "$(grep -c "AMLSHIM_POLICY='bogus' is not valid" <<<"$output")" 1
	assert_equal "$(grep -c '^amlshim report' <<<"$output")" 1
}

@test "the same shim file preloaded twice: loaded once, nothing said" {
	run env LD_PRELOAD="$SHIM $SHIM:$SHIM" AMLSHIM_POLICY=interleave AMLSHIM_STATS=1 /bin/true
	assert_success
	assert_equal "$(grep -c '^amlshim report' <<<"$output")" 1
}

# ---- MALLOC_CONF ---------------------------------------------------------------------------------

@test "MALLOC_CONF meant for the program's own jemalloc does not reach the shim's private copy" {
	local conf rc out plain
	plain=$(/bin/echo hello 2>&1)
	for conf in "abort_conf:true,bogus:1" "stats_print:true" "junk:true,zero:true" "narenas:1,tcache:false" \
		"background_thread:true" "prof:true,prof_prefix:$BATS_TEST_TMPDIR/prof"; do
		rc=0
		out=$(cd "$BATS_TEST_TMPDIR" && MALLOC_CONF=$conf LD_PRELOAD="$SHIM" /bin/echo hello 2>&1) || rc=$?
		[ "$rc" = 0 ] || fail "MALLOC_CONF=$conf: status $rc: $out"
		[ "$out" = "$plain" ] || fail "MALLOC_CONF=$conf changed the output: $(head -c 300 <<<"$out")"
	done
	# The shim starts no thread, whatever MALLOC_CONF says.
	out=$(MALLOC_CONF=background_thread:true LD_PRELOAD="$SHIM" /bin/sh -c 'ls /proc/$$/task | wc -l')
	assert_equal "$out" 1
	run ls "$BATS_TEST_TMPDIR"
	refute_output --partial 'prof'
}

# ---- an address-space limit ----------------------------------------------------------------------

# Sandboxes and some runtimes lower RLIMIT_AS while the program runs; what
# the shim maps must leave room for the program's threads and memory.
@test "python lowers RLIMIT_AS to 4 GiB, then starts threads that allocate: same output under every policy" {
	same_everywhere "setrlimit then threads" "$PYTHON" "$BATS_TEST_DIRNAME/data/rlimit_threads.py"
}

@test "python started under ulimit -v 4000000 starts threads that allocate: same output under every policy" {
	same_everywhere "ulimit -v then threads" /bin/bash -c 'ulimit -v 4000000 && exec "$0" "$@"' \
		"$PYTHON" "$BATS_TEST_DIRNAME/data/rlimit_threads.py" --keep-limit
}
