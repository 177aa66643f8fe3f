#!/bin/sh
# The benchmark in its quick mode (one run, tiny sizes, a few seconds): every
# workload under every installed allocator must produce its cell. Times are
# not judged. Exit 0 when every cell was produced, 1 otherwise.
# Uses $AMLSHIM_TEST_BUILD (default build) for the workloads and the shim.
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=${AMLSHIM_TEST_BUILD:-build}
for f in "$build/lib/libamlshim.so" "$build/bench/larson" "$build/bench/block_interleave"; do
	if [ ! -e "$f" ]; then
		echo "quick-check: $f is missing (make bench-workloads lib)" >&2
		exit 1
	fi
done
python3 "$here/bench.py" --build "$build" --quick
rc=$?
if [ $rc -eq 0 ]; then
	echo "PASS  bench/quick"
else
	echo "FAIL  bench/quick"
fi
exit $rc
