#!/usr/bin/env bats
# +share seen from the command: --explain gives a sharing rule's node and
# budget, and `amlshim report` the budget each rank had, what it placed and
# what spilled (two ranks of a faked Open MPI job run one after the other,
# each a real program under the shim with its own ledger name).

load helpers

setup() {
	clean_environment
	unset OMPI_COMM_WORLD_RANK OMPI_COMM_WORLD_LOCAL_RANK OMPI_COMM_WORLD_LOCAL_SIZE FLUX_TASK_RANK \
		FLUX_TASK_LOCAL_ID SLURM_PROCID SLURM_LOCALID PMI_RANK PMIX_RANK PALS_RANKID JSM_NAMESPACE_RANK \
		MV2_COMM_WORLD_RANK
	require_build
	require_tool "$PYTHON"
}

@test "--explain: a +share rule's node and budget, by the local size or the whole node" {
	run "$AMLSHIM" --policy=bandwidth+share --explain
	assert_success
	assert_output --regexp $'\n      \\+share: node [0-9]+ \\([0-9]+ MiB\\); budget: the whole node \\(not in a job\\)\n'
	OMPI_COMM_WORLD_RANK=1 OMPI_COMM_WORLD_LOCAL_RANK=1 OMPI_COMM_WORLD_LOCAL_SIZE=4 \
		run "$AMLSHIM" --policy=preferred:0+share:dynamic --explain
	assert_success
	assert_output --regexp $'\n      \\+share:dynamic: node 0 \\([0-9]+ MiB\\); budget: [0-9]+ MiB if all 4 local ranks use it'
	assert_line "      ledger: the job's own; a rank's room is lent after 1s without growth (AMLSHIM_SHARE_SETTLE)"
	AMLSHIM_LEDGER=nightly.7 AMLSHIM_SHARE_SETTLE=0 run "$AMLSHIM" --policy=preferred:0+share:dynamic --explain
	assert_line "      ledger: nightly.7 (AMLSHIM_LEDGER); a rank's room is lent after 0 without growth (AMLSHIM_SHARE_SETTLE)"
	AMLSHIM_LEDGER=nightly.7 run "$AMLSHIM" --policy=preferred:0+share --explain
	assert_line "      ledger: nightly.7 (AMLSHIM_LEDGER)"
	# A bad value is the policy's: said among the bad values, and strict stops.
	AMLSHIM_SHARE_SETTLE=soon run "$AMLSHIM" --policy=preferred:0+share:dynamic --explain
	assert_line --partial "AMLSHIM_SHARE_SETTLE='soon' is not valid: not a duration"
	assert_line "      ledger: the job's own; a rank's room is lent after 1s without growth (AMLSHIM_SHARE_SETTLE)"
	run "$AMLSHIM" --policy=bandwidth --explain
	refute_output --partial '+share'
}

@test "--explain --json: a +share rule's mode, node, budget and local size, as the text says them" {
	share_json() {
		"$AMLSHIM" --explain --json "$@" >"$BATS_TEST_TMPDIR/json" || fail "--explain --json $* failed"
		"$AMLSHIM" --explain "$@" >"$BATS_TEST_TMPDIR/text" || fail "--explain $* failed"
		"$PYTHON" "$DATA/explain_json_check.py" "$BATS_TEST_TMPDIR/text" "$BATS_TEST_TMPDIR/json" ||
			fail "--explain --json $* differs from the text"
		"$PYTHON" -c 'import json, sys; print(json.dumps([r["share"] for r in json.load(open(sys.argv[1]))["ranges"] if "share" in r]))' \
			"$BATS_TEST_TMPDIR/json"
	}
	local size
	size=$(awk '/MemTotal:/ { printf "%d", $4 * 1024 }' /sys/devices/system/node/node0/meminfo)
	run share_json --policy=preferred:0+share
	assert_success
	assert_output "[{\"mode\": \"static\", \"node\": 0, \"node_bytes\": $size, \"budget_bytes\": $size, \"local_size\": null, \"ledger\": null, \"settle_ns\": 1000000000}]"
	OMPI_COMM_WORLD_RANK=1 OMPI_COMM_WORLD_LOCAL_RANK=1 OMPI_COMM_WORLD_LOCAL_SIZE=4 AMLSHIM_LEDGER=job-7 AMLSHIM_SHARE_SETTLE=250ms \
		run share_json --policy=preferred:0+share:dynamic
	assert_success
	assert_output "[{\"mode\": \"dynamic\", \"node\": 0, \"node_bytes\": $size, \"budget_bytes\": $((size / 4)), \"local_size\": 4, \"ledger\": \"job-7\", \"settle_ns\": 250000000}]"
	# The local rank without the local size: the ledger decides at run time.
	OMPI_COMM_WORLD_RANK=1 OMPI_COMM_WORLD_LOCAL_RANK=1 run share_json --policy=preferred:0+share
	assert_success
	assert_output "[{\"mode\": \"static\", \"node\": 0, \"node_bytes\": $size, \"budget_bytes\": null, \"local_size\": null, \"ledger\": null, \"settle_ns\": 1000000000}]"
	# No +share: no share field.
	run share_json --policy=preferred:0
	assert_success
	assert_output '[]'
}

@test "amlshim report: each rank's budget, placed and spilled bytes of a +share rule" {
	local dir=$BATS_TEST_TMPDIR/share rank
	mkdir -p "$dir"
	for rank in 0 1; do
		OMPI_COMM_WORLD_RANK=$rank OMPI_COMM_WORLD_LOCAL_RANK=$rank OMPI_COMM_WORLD_LOCAL_SIZE=2 \
			AMLSHIM_LEDGER="bats-share-$$" \
			"$AMLSHIM" --policy=bandwidth+share --stats=json --stats-file="$dir/r.%r.json" \
			"$PYTHON" -c "b = bytearray(40 << 20)" || fail "rank $rank failed"
	done
	run --separate-stderr "$AMLSHIM" report "$dir"/r.*.json
	assert_success
	assert_line '  +share budgets (MiB; budget: the last one computed):'
	# Alone in its ledger, each rank still counts 2 users: the local size.
	assert_line --regexp '^  rank 0     bandwidth\+share +static +[0-9]+ +[0-9]+ +[0-9]+ +2 +0   ledger$'
	assert_line --regexp '^  rank 1     bandwidth\+share +static +[0-9]+ +[0-9]+ +[0-9]+ +2 +0   ledger$'
}

# Inside a user and mount namespace, /dev/shm and /tmp are 64 KiB tmpfs
# mounts filled to the last block (the real /tmp stays reachable under /mnt:
# the build and the test's files may live there).
fill_and_run() {
	mount --rbind /tmp /mnt || return 99
	mount -t tmpfs -o size=64k amlshim-full /dev/shm || return 99
	mount -t tmpfs -o size=64k amlshim-full /tmp || return 99
	dd if=/dev/zero of=/dev/shm/fill bs=4096 2>/dev/null
	dd if=/dev/zero of=/tmp/fill bs=4096 2>/dev/null
	[ "$(stat -f -c %a /dev/shm)" = 0 ] && [ "$(stat -f -c %a /tmp)" = 0 ] || return 99
	"$@"
}

under_mnt() {
	case $1 in /tmp/*) printf '/mnt/%s' "${1#/tmp/}" ;; *) printf '%s' "$1" ;; esac
}

@test "+share with /dev/shm and /tmp full: no ledger, the local size; no SIGBUS" {
	local dir=$BATS_TEST_TMPDIR/full
	mkdir -p "$dir"
	if ! unshare -rm sh -c 'mount -t tmpfs -o size=64k amlshim-probe /dev/shm && [ -d /mnt ]' 2>/dev/null; then
		[ "${CI:-}" != true ] || fail "cannot mount a tmpfs in a user and mount namespace (unshare -rm; CI=true: fails)"
		skip "cannot mount a tmpfs in a user and mount namespace (unshare -rm), or no /mnt"
	fi
	export -f fill_and_run
	OMPI_COMM_WORLD_RANK=0 OMPI_COMM_WORLD_LOCAL_RANK=0 OMPI_COMM_WORLD_LOCAL_SIZE=2 AMLSHIM_LEDGER="bats-full-$$" \
		TMPDIR=$(under_mnt "${TMPDIR:-/tmp}") run unshare -rm bash -c 'fill_and_run "$@"' fill_and_run \
		"$(under_mnt "$AMLSHIM")" --policy=bandwidth+share --stats=json --stats-file="$(under_mnt "$dir")/r.%r.json" \
		"$PYTHON" -c "b = bytearray(40 << 20); print('done')"
	assert_success
	assert_output 'done'
	run --separate-stderr "$AMLSHIM" report "$dir"/r.*.json
	assert_success
	assert_line --regexp '^  rank 0     bandwidth\+share +static +[0-9]+ +[0-9]+ +[0-9]+ +2 +0   local size: no ledger$'
}
