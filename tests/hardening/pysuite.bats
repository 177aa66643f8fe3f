#!/usr/bin/env bats
# A language runtime's own test suite under the shim: CPython's regression
# tests (Debian's libpython3.11-testsuite, run by regrtest) on a memory-,
# thread- and process-heavy subset, once plainly and then under three
# policy configurations. Every test case that passes plainly must pass
# under each of them (tests/hardening/pysuite/compare.py reads regrtest's
# JUnit files), and regrtest's exit status must be the plain run's. Test
# cases that fail or are skipped plainly (running as root, no network, a
# resource not enabled) are not held against the shim.

load '../bats/helpers'

setup() {
	clean_environment
	require_build
}

# Whole test modules, each run in full. The four runs go at once: no module
# here uses a fixed port or name (test_socket binds VSOCK port 1234, so two
# runs of it at once fail).
MODULES=(
	# memory: buffers that grow and shrink (realloc), containers, the
	# program's own mmap, the garbage collector, tracemalloc's hooks
	# (test_bigmem without -M: its cases at their small default sizes)
	test_bytes test_list test_dict test_set test_array test_memoryview
	test_mmap test_struct test_deque test_collections test_marshal
	test_pickle test_tracemalloc test_gc test_bigmem
	# threads
	test_threading test_thread test_queue test_threading_local
	# processes: fork, fork+exec, posix_spawn, pipes with large outputs
	test_subprocess test_fork1 test_os test_posix
	# string builders, codecs, regular expressions, in-memory and real
	# files (the C and Python io stacks); libffi through ctypes below
	test_unicode test_json test_re test_zlib test_memoryio test_fileio test_io
)
# Parts of modules too slow to run whole (regrtest -m patterns).
PARTS=(
	'test.test_multiprocessing_fork.WithProcessesTestPool.*'
	'test.test_multiprocessing_fork.WithProcessesTestQueue.*'
	'test.test_multiprocessing_fork.WithProcessesTestHeap.*'
	'test.test_multiprocessing_fork.WithThreadsTestPool.*'
	'test.test_concurrent_futures.ProcessPoolForkProcessPoolExecutorTest.*'
	'ctypes.test.*'
)
PART_MODULES=(test_multiprocessing_fork test_concurrent_futures test_ctypes)
# Left out, with the reason.
IGNORED=(
	# ProcessTestCase again with poll() disabled: 7 s for no new allocation pattern
	'test.test_subprocess.ProcessTestCaseNoPoll.*'
	# a 6 s sleep
	'test.test_concurrent_futures.ProcessPoolForkProcessPoolExecutorTest.test_map_timeout'
	# interrupted reads and writes, 24 s mostly asleep (test_signal, run
	# alone, passes under the shim)
	'test.test_io.CSignalsTest.*' 'test.test_io.PySignalsTest.*'
)

# The configurations (fewer than policy_configs: the suite takes a minute).
pysuite_configs() {
	echo "AMLSHIM_POLICY=interleave AMLSHIM_THRESHOLD=64K"
	echo "AMLSHIM_RULES=0-64K=local;64K-1G=interleave;1G-=default"
	echo "AMLSHIM_POLICY=block-interleave:2M AMLSHIM_THRESHOLD=256K AMLSHIM_SMALL=interleave"
}

# The test suite of the Python that $PYTHON runs: in CI (CI=true) its
# absence fails the test, elsewhere the test is skipped.
require_python_testsuite() {
	[ -x "$PYTHON" ] || require_tool "$PYTHON"
	local version
	version=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
	if ! "$PYTHON" -c 'import test.libregrtest, test.test_subprocess' 2>/dev/null; then
		if [ "${CI:-}" = true ]; then
			fail "the Python $version test suite is missing: install libpython$version-testsuite (CI=true: missing tools fail)"
			return 1
		fi
		skip "the Python $version test suite is not installed (libpython$version-testsuite)"
	fi
}

# run_regrtest DIR [CONFIG]: the subset in DIR (its own TMPDIR), plainly
# or under the shim with CONFIG; DIR/{out,rc,junit.xml}.
run_regrtest() {
	local dir=$1 config=${2:-}
	local -a vars=() args=(-j1 --timeout 240 --junit-xml "$dir/junit.xml")
	local item
	for item in "${MODULES[@]}"; do args+=(-m "test.$item.*"); done
	for item in "${PARTS[@]}"; do args+=(-m "$item"); done
	for item in "${IGNORED[@]}"; do args+=(-i "$item"); done
	[ -n "$config" ] && read -ra vars <<<"$config" && vars+=(LD_PRELOAD="$SHIM")
	rm -rf "$dir"
	mkdir -p "$dir/tmp"
	local rc=0 start=$SECONDS
	(cd "$dir/tmp" && env "${vars[@]}" TMPDIR="$dir/tmp" timeout -k 10 900 \
		"$PYTHON" -m test "${args[@]}" "${MODULES[@]}" "${PART_MODULES[@]}") >"$dir/out" 2>&1 || rc=$?
	echo $rc >"$dir/rc"
	echo $((SECONDS - start)) >"$dir/seconds"
}

# check_run PLAIN DIR LABEL: the run in DIR against the plain one (exit
# status, nothing said by the shim, every case that passed plainly passed);
# prints each difference, returns 1 if there is one.
check_run() {
	local plain=$1 dir=$2 label=$3 ref_rc rc bad=0
	ref_rc=$(cat "$plain/rc") rc=$(cat "$dir/rc")
	if [ "$rc" != "$ref_rc" ]; then
		echo "$label: exit status $rc, plain run $ref_rc"
		grep -E '^(== Tests result|[0-9]+ tests? (failed|crashed)|    test_)|crashed|timed out|Fatal Python error' "$dir/out" | head -n 20
		bad=1
	fi
	if grep -q '^amlshim:' "$dir/out"; then
		echo "$label: the shim wrote to stderr:"
		grep '^amlshim:' "$dir/out" | sort | uniq -c | head -n 5
		bad=1
	fi
	if [ ! -s "$dir/junit.xml" ]; then
		echo "$label: no results written (status $rc):"
		tail -n 20 "$dir/out" || true
		bad=1
	elif ! "$PYTHON" "$BATS_TEST_DIRNAME/pysuite/compare.py" "$plain/junit.xml" "$dir/junit.xml" "$label"; then
		bad=1
	fi
	return $bad
}

@test "python3.11's regression tests (memory, threads, processes) pass under three policies as they do plainly" {
	require_python_testsuite
	local -a configs
	mapfile -t configs < <(pysuite_configs)
	# The plain run and the shim's runs all at once, whatever the number
	# of CPUs: the suite spends most of its time waiting on children,
	# pipes and timers (about 25 CPU seconds of a run's 85 s on 2 CPUs).
	local i
	start_job 4 run_regrtest "$BATS_TEST_TMPDIR/plain"
	for i in "${!configs[@]}"; do
		start_job 4 run_regrtest "$BATS_TEST_TMPDIR/run-$i" "${configs[$i]}"
	done
	wait || true
	local plain=$BATS_TEST_TMPDIR/plain ref_rc
	ref_rc=$(cat "$plain/rc")
	if [ ! -s "$plain/junit.xml" ]; then
		echo "the plain run wrote no results (status $ref_rc):"
		tail -n 20 "$plain/out" || true
		return 1
	fi
	local failures=0 dir label
	for i in "${!configs[@]}"; do
		dir=$BATS_TEST_TMPDIR/run-$i label="regrtest under ${configs[$i]}"
		check_run "$plain" "$dir" "$label" && continue
		# Cases that lean on timing (thread and subprocess timeouts) can fail
		# once among four runs at once on a loaded machine: the configuration
		# runs again alone, and fails the test only if it differs again.
		echo "$label: differs from the plain run; running it again alone"
		run_regrtest "$dir-again" "${configs[$i]}"
		check_run "$plain" "$dir-again" "$label (again, alone)" || failures=$((failures + 1))
	done
	[ $failures -eq 0 ]
}

@test "python3: allocations and mappings no memory could hold fail as plainly, nothing said, under every policy" {
	# Found by test_io (a buffer of sys.maxsize bytes): the shim warned that
	# such an allocation "could not be placed" and "gets the kernel default",
	# counted a fallback, and then failed as the kernel default does.
	[ -x "$PYTHON" ] || require_tool "$PYTHON"
	check_program python3 "$PYTHON" -c '
import ctypes, io, mmap, sys
try:
    io.BufferedReader(io.BytesIO(b""), sys.maxsize)
except MemoryError:
    print("buffer: MemoryError")
# Past the address space: refused whatever the overcommit setting.
try:
    mmap.mmap(-1, 1 << 62)
except OSError as e:
    print("mmap:", e.errno)
libc = ctypes.CDLL(None)
libc.malloc.restype = libc.realloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.realloc.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
print("malloc:", libc.malloc(1 << 62))
p = libc.malloc(1 << 20)
print("realloc:", libc.realloc(p, 1 << 62))
libc.free(ctypes.c_void_p(p))
print(len(bytearray(1 << 20)))
'
}
