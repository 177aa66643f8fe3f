#!/usr/bin/env bats
# Real MPI on the host (one node): tests/mpi/buffers.c, built with each
# MPI's own mpicc (mk/mpi.mk), run as 2 ranks by mpirun.openmpi and by
# mpiexec.hydra (MPICH), plainly and under the shim with the variables set
# in the ranks only: the same output, one report per rank (%r), and
# `amlshim report` merges them, its counts those of move_pages. The VM runs
# the placement cases (tests/vm/mpi.sh).

load helpers

setup() {
	clean_environment
	require_build cli
	dir=$BATS_TEST_TMPDIR
}

# mpi_program IMPL: the program built with IMPL's mpicc and IMPL's launcher;
# a skip (a failure in CI) when either is missing.
mpi_program() {
	PROGRAM=$BUILD_DIR/tests/mpi/buffers-$1
	case $1 in
	openmpi) require_tool mpirun.openmpi ;;
	mpich) require_tool mpiexec.hydra ;;
	esac
	[ -x "$PROGRAM" ] || {
		[ "${CI:-}" != true ] || fail "no $PROGRAM: mpicc.$1 was missing at build time"
		skip "no $PROGRAM (mpicc.$1 missing at build time)"
	}
}

# launch IMPL NAME=VALUE...: 2 ranks of the program (16 and 24 MiB), the
# variables set in the ranks only; output in $dir/out, status in $status.
launch() {
	local impl=$1 v args=()
	shift
	if [ "$impl" = openmpi ]; then
		for v in "$@"; do args+=(-x "$v"); done
		# One machine: no ssh needed (Open MPI's rsh launcher refuses to
		# start where there is none, as in a CI container).
		OMPI_MCA_plm=isolated run --separate-stderr timeout 60 mpirun.openmpi --allow-run-as-root --oversubscribe \
			-np 2 "${args[@]}" "$PROGRAM" 16,24
	else
		for v in "$@"; do args+=(-genv "${v%%=*}" "${v#*=}"); done
		run --separate-stderr timeout 60 mpiexec.hydra -n 2 "${args[@]}" "$PROGRAM" 16,24
	fi
}

# Plain, then under the shim: same output, reports merged, counts agree.
check_mpi() {
	mpi_program "$1"
	launch "$1"
	assert_success
	assert_output "ranks 2, 40 MiB in 8 MiB buffers, checksum a1e23ecd33c28a76, read back equal"
	local plain=$output
	launch "$1" LD_PRELOAD="$SHIM" AMLSHIM_POLICY=interleave AMLSHIM_STATS=json \
		AMLSHIM_STATS_FILE="$dir/r.%r.%h.json" MPI_BUFFERS_PAGES="$dir/p.%r"
	assert_success
	[ "$output" = "$plain" ] || fail "output under the shim: '$output', plain: '$plain'"
	[ -z "$stderr" ] || fail "stderr under the shim: $stderr"
	local host r
	host=$(uname -n)
	for r in 0 1; do
		[ -s "$dir/r.$r.$host.json" ] || fail "no report for rank $r: $(ls "$dir")"
		grep -q "\"rank\":$r,\"rank_from\":\"$2\"" "$dir/r.$r.$host.json" ||
			fail "rank $r's report: $(cat "$dir/r.$r.$host.json")"
	done
	run --separate-stderr "$AMLSHIM" report --svg="$dir/job.svg" "$dir"/r.*.json
	assert_success
	assert_line --index 0 "amlshim report: 2 reports, 1 host"
	assert_line --partial "host $host: 2 processes (local size 2 from $3)"
	# Each rank's pages at exit (its buffers: 2 and 3 of 8 MiB, kept to
	# exit) on node 0, as move_pages saw them; MPI's own large blocks may
	# add a few.
	for r in 0 1; do
		local want have
		want=$(sed -n 's/^node 0 //p' "$dir/p.$r")
		have=$(awk -v r="$r" '$1 == r && $2 ~ /\// { split($5, pe, "/"); print pe[2] }' <<<"$output")
		[ -n "$want" ] && [ -n "$have" ] && [ "$have" -ge "$want" ] && [ "$have" -le $((want + 512)) ] ||
			fail "rank $r: $want pages by move_pages, $have at exit in the table: $output"
		grep -q "data-rank=\"$r\" data-pid=\"[0-9]*\" data-node=\"0\" data-peak=\"[0-9]*\" data-exit=\"$have\"" "$dir/job.svg" ||
			fail "rank $r: no SVG cell with $have pages at exit"
	done
}

@test "Open MPI (mpirun.openmpi -np 2): same output under the shim, a report per rank, merged" {
	check_mpi openmpi OMPI_COMM_WORLD_RANK OMPI_COMM_WORLD_LOCAL_SIZE
}

@test "MPICH (mpiexec.hydra -n 2): same output under the shim, a report per rank, merged" {
	check_mpi mpich PMI_RANK MPI_LOCALNRANKS
}
