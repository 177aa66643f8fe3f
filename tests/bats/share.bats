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
	run "$AMLSHIM" --policy=bandwidth --explain
	refute_output --partial '+share'
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
