#!/usr/bin/env bats
# `make check`: the benchmark runs once in its quick mode, so it cannot rot.
# Every cell must be produced; times are not judged.

@test "bench quick: every workload under every installed allocator produces its cell" {
	run "$BATS_TEST_DIRNAME/quick-check.sh"
	echo "$output"
	[ "$status" -eq 0 ]
}
