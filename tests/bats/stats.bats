#!/usr/bin/env bats
# AMLSHIM_STATS: the report at exit, as JSON (checked with python3 -m json.tool
# run without the shim) or text, on stderr or in AMLSHIM_STATS_FILE, and
# what it counts per rule and per node.

load helpers

setup() {
	clean_environment
	require_build
	require_tool "$PYTHON"
}

# json_check FILE PYTHON-EXPRESSION...: each expression, about the report r
# (a dict), must be true; run without the shim.
json_check() {
	local file=$1
	shift
	"$PYTHON" -m json.tool "$file" >/dev/null || {
		echo "not valid JSON: $(head -c 300 "$file")"
		return 1
	}
	"$PYTHON" - "$file" "$@" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
rule = {x["policy"]: x for x in r["rules"]}
ok = True
for expression in sys.argv[2:]:
    if not eval(expression):
        print("false: %s\nreport: %s" % (expression, json.dumps(r)))
        ok = False
sys.exit(0 if ok else 1)
EOF
}

@test "AMLSHIM_STATS=json: python3 bytearray(64<<20) is counted under the interleave rule" {
	run --separate-stderr env LD_PRELOAD="$SHIM" AMLSHIM_POLICY=interleave AMLSHIM_STATS=json \
		"$PYTHON" -c "b=bytearray(64<<20)"
	assert_success
	assert_output ''
	# The report is the whole of stderr: one line, one JSON object.
	[ "${#stderr_lines[@]}" -eq 1 ] || fail "stderr has ${#stderr_lines[@]} lines: $stderr"
	printf '%s\n' "$stderr" >"$BATS_TEST_TMPDIR/report.json"
	json_check "$BATS_TEST_TMPDIR/report.json" \
		'r["amlshim"] and isinstance(r["pid"], int)' \
		'len(r["rules"]) == 1' \
		'rule["interleave"]["min"] == 1 << 20 and rule["interleave"]["max"] is None' \
		'rule["interleave"]["count"] >= 1' \
		'rule["interleave"]["bytes"] >= 64 << 20' \
		'rule["interleave"]["peak_bytes"] >= 64 << 20' \
		'rule["interleave"]["area"].startswith("area-linux") and "interleave" in rule["interleave"]["area"]' \
		'rule["interleave"]["fallbacks"] == 0' \
		'sum(n["resident_pages_peak"] for n in r["nodes"]) >= (64 << 20) // 4096'
}

@test "AMLSHIM_STATS_FILE with %p: the report goes to the file named by the pid, stdout untouched" {
	local dir=$BATS_TEST_TMPDIR/stats
	mkdir -p "$dir"
	run --separate-stderr env LD_PRELOAD="$SHIM" AMLSHIM_POLICY=interleave AMLSHIM_STATS=json \
		AMLSHIM_STATS_FILE="$dir/report.%p.json" \
		"$PYTHON" -c "import os; b=bytearray(64<<20); print(os.getpid())"
	assert_success
	assert_equal "$stderr" ''
	[ -f "$dir/report.$output.json" ] || fail "no $dir/report.$output.json; files: $(ls "$dir")"
	json_check "$dir/report.$output.json" "r['pid'] == $output" \
		'rule["interleave"]["count"] >= 1 and rule["interleave"]["bytes"] >= 64 << 20'
}

@test "AMLSHIM_STATS_FILE: one report per process of a shell script, each valid JSON" {
	local dir=$BATS_TEST_TMPDIR/stats
	mkdir -p "$dir"
	run env LD_PRELOAD="$SHIM" AMLSHIM_POLICY=interleave AMLSHIM_THRESHOLD=64K AMLSHIM_STATS=json \
		AMLSHIM_STATS_FILE="$dir/%p.json" bash -c \
		"$PYTHON -c 'b=bytearray(32<<20)'; $PYTHON -c 'b=bytearray(48<<20)'; echo done"
	assert_success
	assert_output done
	local files counted=0 file
	files=$(ls "$dir")
	for file in "$dir"/*.json; do
		json_check "$file" 'r["rules"][0]["policy"] == "interleave"'
		if json_check "$file" 'rule["interleave"]["bytes"] >= 32 << 20' >/dev/null; then
			counted=$((counted + 1))
		fi
	done
	[ "$counted" -ge 2 ] || fail "expected both python3 reports to count their bytearray; files: $files"
}

@test "AMLSHIM_STATS=1: a text report on stderr, stdout identical to a plain run" {
	local program="import hashlib; b=bytearray(64<<20); b[::4096]=b'x'*16384; print(hashlib.sha256(b).hexdigest())"
	local plain
	plain=$("$PYTHON" -c "$program")
	run --separate-stderr env LD_PRELOAD="$SHIM" AMLSHIM_POLICY=interleave AMLSHIM_STATS=1 "$PYTHON" -c "$program"
	assert_success
	assert_output "$plain"
	[[ ${stderr_lines[0]} == "amlshim report (pid "*")" ]] || fail "first line: ${stderr_lines[0]}"
	# The interleave row: sizes, policy, then the allocation count (>= 1).
	local row
	row=$(printf '%s\n' "$stderr" | grep -E '^  1M- +interleave +[1-9][0-9]* ') ||
		fail "no interleave row with a count in: $stderr"
	printf '%s\n' "$stderr" | grep -q 'area: area-linux: policy interleave' || fail "no area line: $stderr"
	printf '%s\n' "$stderr" | grep -qE '^  0 +[0-9]+ +[0-9]+$' || fail "no node 0 row: $stderr"
}

@test "AMLSHIM_STATS=json with three rules: each size lands under its own rule" {
	local report=$BATS_TEST_TMPDIR/rules.json
	run env LD_PRELOAD="$SHIM" AMLSHIM_RULES='0-64K=local;64K-8M=interleave;8M-=block-interleave:2M' \
		AMLSHIM_STATS=json AMLSHIM_STATS_FILE="$report" \
		"$PYTHON" -c "a=bytearray(200<<10); b=bytearray(16<<20); c=bytearray(32<<10); print(len(a)+len(b)+len(c))"
	assert_success
	assert_output $(((200 << 10) + (16 << 20) + (32 << 10)))
	json_check "$report" \
		'[x["policy"] for x in r["rules"]] == ["local", "interleave", "block-interleave:2M"]' \
		'[(x["min"], x["max"]) for x in r["rules"]] == [(0, 65536), (65536, 8 << 20), (8 << 20, None)]' \
		'rule["local"]["count"] >= 1 and rule["local"]["bytes"] >= 32 << 10' \
		'rule["interleave"]["count"] >= 1 and rule["interleave"]["bytes"] >= 200 << 10' \
		'rule["block-interleave:2M"]["count"] == 1 and rule["block-interleave:2M"]["bytes"] >= 16 << 20' \
		'rule["block-interleave:2M"]["area"].startswith("area-block")'
}

@test "AMLSHIM_MMAP=on counts a private anonymous mmap under the rule, off leaves it alone" {
	local program="import mmap
m = mmap.mmap(-1, 32 << 20, flags=mmap.MAP_PRIVATE)
m[::4096] = b'x' * 8192
print(m[4096:4097])"
	local mode
	for mode in on off; do
		run env LD_PRELOAD="$SHIM" AMLSHIM_POLICY=interleave AMLSHIM_MMAP=$mode AMLSHIM_STATS=json \
			AMLSHIM_STATS_FILE="$BATS_TEST_TMPDIR/mmap-$mode.json" "$PYTHON" -c "$program"
		assert_success
		assert_output "b'x'"
	done
	json_check "$BATS_TEST_TMPDIR/mmap-on.json" 'rule["interleave"]["mmaps"] >= 1' \
		'rule["interleave"]["bytes"] >= 32 << 20'
	json_check "$BATS_TEST_TMPDIR/mmap-off.json" 'rule["interleave"]["mmaps"] == 0' \
		'rule["interleave"]["bytes"] < 32 << 20'
}

@test "AMLSHIM_STATS=json with no policy: a report with no rules, valid JSON" {
	run --separate-stderr env LD_PRELOAD="$SHIM" AMLSHIM_STATS=json "$PYTHON" -c "b=bytearray(8<<20)"
	assert_success
	printf '%s\n' "$stderr" >"$BATS_TEST_TMPDIR/none.json"
	json_check "$BATS_TEST_TMPDIR/none.json" 'r["rules"] == []' 'r["nodes"][0]["node"] == 0'
}

@test "AMLSHIM_STATS_FILE that cannot be written: one warning line, program unaffected" {
	run --separate-stderr env LD_PRELOAD="$SHIM" AMLSHIM_POLICY=interleave AMLSHIM_STATS=json \
		AMLSHIM_STATS_FILE=/nonexistent-dir/report.json "$PYTHON" -c "b=bytearray(8<<20); print('ran')"
	assert_success
	assert_output ran
	[ "${#stderr_lines[@]}" -eq 1 ] || fail "expected one line, got: $stderr"
	[[ ${stderr_lines[0]} == "amlshim: AMLSHIM_STATS_FILE='/nonexistent-dir/report.json'"*"cannot write"*"No such file or directory"* ]] ||
		fail "not the expected warning: $stderr"
}

# The process changes user before exit (a server dropping privileges), or
# runs as a user who may not write the directory: the report cannot be
# written, and the program's stderr gets one amlshim line naming the file,
# never a bare error.
@test "AMLSHIM_STATS_FILE after the process changed user, or in a read-only directory: one amlshim line naming the file" {
	[ "$(id -u)" = 0 ] || skip "needs root to change user"
	local dir=$BATS_TEST_TMPDIR/private
	mkdir -m 700 "$dir"
	run --separate-stderr env LD_PRELOAD="$SHIM" AMLSHIM_POLICY=interleave AMLSHIM_STATS=json \
		AMLSHIM_STATS_FILE="$dir/r.%p.json" "$PYTHON" -c "import os
b = bytearray(8 << 20)
os.setgid(65534); os.setuid(65534)
print('dropped')"
	assert_success
	assert_output dropped
	[ "${#stderr_lines[@]}" -eq 1 ] || fail "expected one line, got: $stderr"
	[[ ${stderr_lines[0]} == "amlshim: AMLSHIM_STATS_FILE='$dir/r.%p.json': cannot write '$dir/r."*".json': Permission denied" ]] ||
		fail "not the expected warning: $stderr"

	# A world-readable copy of the shim (the build tree may sit where
	# nobody cannot enter) beside a directory nobody may not write.
	require_tool setpriv
	local shared
	shared=$(mktemp -d /tmp/amlshim-stats.XXXXXX)
	chmod 755 "$shared"
	cp "$SHIM" "$shared/libamlshim.so"
	local readonly_dir=$shared/readonly
	mkdir -m 555 "$readonly_dir"
	run --separate-stderr setpriv --reuid=65534 --regid=65534 --clear-groups env \
		LD_PRELOAD="$shared/libamlshim.so" AMLSHIM_STATS=1 AMLSHIM_STATS_FILE="$readonly_dir/r.txt" /bin/echo ran
	rm -rf "$shared"
	assert_output ran
	[ "${#stderr_lines[@]}" -eq 1 ] || fail "expected one line, got: $stderr"
	[[ ${stderr_lines[0]} == "amlshim: AMLSHIM_STATS_FILE='$readonly_dir/r.txt': cannot write '$readonly_dir/r.txt': Permission denied" ]] ||
		fail "not the expected warning: $stderr"
}

# More than node 0 holds, under bind:0: the area refuses at once (the kernel
# would OOM-kill at the page faults). Where the kernel default would take it
# (overcommit allows the mapping), the shim says so in one line, counts a
# fallback and lets the kernel default answer; where it would not either
# (more than the machine has), the program gets the same refusal as a plain
# run's and, as with glibc, not a word. AMLSHIM_STRICT=1 makes the placement
# failure the mapping's. The VM test vm/full_node shows the fallback
# succeeding where the machine has room.
@test "bind:0 with more than the node holds: a warning and a fallback only if the kernel default takes it; strict fails" {
	local too_big
	too_big=$(( $(numactl -H 2>/dev/null | awk '/^node 0 size:/ {print $4}') + 1024 ))
	[ "$too_big" -gt 1024 ] || skip "numactl cannot tell node 0's size"
	local prog="import mmap
try:
    m = mmap.mmap(-1, ${too_big} << 20, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    print('mapped')
except OSError as e:
    print('refused', e.errno)"
	run env "$PYTHON" -c "$prog"
	local plain=$output
	run --separate-stderr env LD_PRELOAD="$SHIM" AMLSHIM_POLICY=bind:0 AMLSHIM_STATS=json \
		AMLSHIM_STATS_FILE="$BATS_TEST_TMPDIR/r.json" "$PYTHON" -c "$prog"
	assert_success
	assert_output "$plain"
	if [ "$plain" = mapped ]; then
		[ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
		[[ "$stderr" == "amlshim: bind:0: a $(( too_big << 10 )) KiB allocation could not be placed (Not enough memory); it gets the kernel default (said once)" ]]
		json_check "$BATS_TEST_TMPDIR/r.json" 'rule["bind:0"]["fallbacks"] == 1'
	else
		[ -z "$stderr" ] || fail "a refusal glibc makes silently got: $stderr"
		json_check "$BATS_TEST_TMPDIR/r.json" 'rule["bind:0"]["fallbacks"] == 0'
	fi

	run --separate-stderr env LD_PRELOAD="$SHIM" AMLSHIM_POLICY=bind:0 AMLSHIM_STRICT=1 "$PYTHON" -c "$prog"
	assert_success
	assert_output 'refused 12'
	if [ "$plain" = mapped ]; then
		[[ "$stderr" == *"AMLSHIM_STRICT=1: it fails with ENOMEM (said once)" ]]
	else
		[ -z "$stderr" ] || fail "a refusal glibc makes silently got: $stderr"
	fi
}

# Sizes no memory could hold (exabytes, SIZE_MAX less a page, more address
# space than the machine has): glibc answers NULL and ENOMEM without a
# word; under every policy, strict or not, so does the shim (it used to
# warn that the allocation "gets the kernel default", with "(Success)").
@test "sizes no memory can hold: NULL and ENOMEM without a word, under every policy, strict or not" {
	local prog='import ctypes, ctypes.util, mmap
libc = ctypes.CDLL(None, use_errno=True)
for name in ("malloc", "calloc", "realloc", "aligned_alloc", "memalign", "valloc", "mmap"):
    getattr(libc, name).restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.calloc.argtypes = [ctypes.c_size_t, ctypes.c_size_t]
libc.realloc.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
libc.aligned_alloc.argtypes = [ctypes.c_size_t, ctypes.c_size_t]
libc.memalign.argtypes = [ctypes.c_size_t, ctypes.c_size_t]
libc.valloc.argtypes = [ctypes.c_size_t]
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
small = libc.malloc(100)
for size in (1 << 60, (1 << 64) - 4096, 1 << 50, 1 << 47):
    results = []
    for call in (lambda: libc.malloc(size), lambda: libc.calloc(1, size), lambda: libc.realloc(small, size),
                 lambda: libc.aligned_alloc(1 << 21, size), lambda: libc.memalign(4096, size),
                 lambda: libc.valloc(size)):
        ctypes.set_errno(0)
        p = call()
        results.append("NULL %d" % ctypes.get_errno() if not p else "ok")
    ctypes.set_errno(0)
    p = libc.mmap(None, size, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1, 0)
    results.append("mmap failed %d" % ctypes.get_errno() if p in (None, ctypes.c_void_p(-1).value) else "mmap ok")
    print(size, ", ".join(results))'
	run --separate-stderr "$PYTHON" -c "$prog"
	assert_success
	local plain=$output
	[[ "$plain" != *" ok"* ]] || fail "a plain run got memory for one of these sizes: $plain"
	local policy strict
	for policy in interleave bind:0 preferred:0 block-interleave:2M bandwidth default; do
		for strict in 0 1; do
			run --separate-stderr env LD_PRELOAD="$SHIM" AMLSHIM_POLICY=$policy AMLSHIM_THRESHOLD=64K \
				AMLSHIM_STRICT=$strict "$PYTHON" -c "$prog"
			assert_success
			[ "$output" = "$plain" ] || fail "$policy strict=$strict: $output, plain: $plain"
			[ -z "$stderr" ] || fail "$policy strict=$strict said: $stderr"
		done
	done
}
