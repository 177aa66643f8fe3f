#!/usr/bin/env bats
# The Slurm plugin (slurm/amlshim_spank.c) on a real one-node cluster:
# Debian's munged, slurmctld and slurmd started from a generated config in
# a temporary directory (tests/bats/slurm-cluster.bash), with a
# plugstack.conf that loads the freshly built plugin and shim. srun and
# sbatch run python3 allocating 64 MiB; each task must have run under the
# shim (its report, named by job, step, rank and pid, holds its pid and
# counts the allocation under the requested rule), a bad value must be
# refused before any job exists, and a site's plugstack.conf arguments must
# hold. The daemons are stopped by their pid files in teardown_file, also
# after a failure. Skipped (outside CI) only when Slurm or munge is not
# installed or the test is not root; with CI=true those fail too, and a
# daemon that does not start always fails.

load helpers
load slurm-cluster

PLUGIN=$BUILD_DIR/lib/slurm/amlshim_spank.so

setup_file() {
	export CLUSTER=""
	require_tool "${SLURM_PACKAGES_TOOLS[@]}" "$PYTHON"
	if [ "$(id -u)" != 0 ]; then
		[ "${CI:-}" = true ] && fail "CI=true: the Slurm test must run as root (slurmd starts tasks)"
		skip "slurmd needs root"
	fi
	[ -f "$PLUGIN" ] || fail "no plugin at $PLUGIN: build it (make spank; libslurm-dev gives slurm/spank.h)"
	require_build
	# Short: munge's socket path must fit a sockaddr_un.
	CLUSTER=$(mktemp -d /tmp/amlshim-slurm.XXXXXX)
	write_plugstack
	cluster_start "$CLUSTER" "$CLUSTER/plugstack.conf" >"$CLUSTER/start.log" 2>&1 || {
		cat "$CLUSTER/start.log"
		fail "the one-node Slurm cluster did not start (logs above)"
	}
	clean_environment
}

teardown_file() {
	[ -n "${CLUSTER:-}" ] || return 0
	# Jobs a failed test left behind, on this cluster only.
	SLURM_CONF=$CLUSTER/slurm.conf scancel --quiet --user="$(id -un)" >/dev/null 2>&1 || true
	cluster_stop "$CLUSTER"
	rm -rf "$CLUSTER"
}

# The plugstack.conf every test starts from; extra site arguments follow
# the library.
write_plugstack() {
	printf 'required %s library=%s %s\n' "$PLUGIN" "$SHIM" "$*" >"$CLUSTER/plugstack.conf"
}

setup() {
	clean_environment
	export SLURM_CONF=$CLUSTER/slurm.conf
	STATS=$CLUSTER/stats-$BATS_TEST_NUMBER
	mkdir -p "$STATS"
}

teardown() {
	write_plugstack
	if [ -n "${BATS_TEST_COMPLETED:-}" ]; then return 0; fi
	cluster_logs "$CLUSTER"
}

# The task: allocates 64 MiB and prints "JOB STEP RANK PID PRELOAD POLICY".
TASK='import os
b = bytearray(64 << 20)
e = os.environ.get
print(e("SLURM_JOB_ID"), e("SLURM_STEP_ID", "batch"), e("SLURM_PROCID"), os.getpid(),
      e("LD_PRELOAD", "-"), e("AMLSHIM_POLICY", "-"), flush=True)'

# check_report FILE PID POLICY: FILE is the shim's JSON report of process
# PID, whose POLICY rule counted the 64 MiB bytearray.
check_report() {
	[ -f "$1" ] || { echo "no report $1; there are: $(ls "${1%/*}")"; return 1; }
	"$PYTHON" - "$@" <<'EOF'
import json, sys
path, pid, policy = sys.argv[1], int(sys.argv[2]), sys.argv[3]
r = json.load(open(path))
rules = {x["policy"]: x for x in r["rules"]}
problems = []
if r["pid"] != pid:
    problems.append("pid %d, the task's is %d" % (r["pid"], pid))
if policy not in rules:
    problems.append("no %s rule" % policy)
elif rules[policy]["count"] < 1 or rules[policy]["bytes"] < 64 << 20:
    problems.append("the %s rule did not count the 64 MiB" % policy)
if problems:
    print("%s: %s\n%s" % (path, "; ".join(problems), json.dumps(r)))
    sys.exit(1)
EOF
}

job_count() {
	scontrol -o show jobs 2>/dev/null | grep -c '^JobId=' || true
}

@test "srun -n 2 --amlshim=interleave --amlshim-stats=json: each rank runs under the shim and writes its report" {
	run --separate-stderr srun -n 2 --amlshim=interleave --amlshim-stats=json --amlshim-stats-dir="$STATS" \
		"$PYTHON" -c "$TASK"
	assert_success
	[ "${#lines[@]}" -eq 2 ] || fail "expected 2 task lines: $output / $stderr"
	local job step rank pid preload policy seen=""
	while read -r job step rank pid preload policy; do
		[ "${preload%%:*}" = "$SHIM" ] || fail "rank $rank: LD_PRELOAD is '$preload', not the shim first"
		[ "$policy" = interleave ] || fail "rank $rank: AMLSHIM_POLICY is '$policy'"
		check_report "$STATS/amlshim.$job.$step.$rank.$pid.json" "$pid" interleave
		seen="$seen$rank "
	done <<<"$output"
	[ "$(echo $seen | tr ' ' '\n' | sort | tr '\n' ' ')" = "0 1 " ] || fail "ranks seen: $seen"
	# One report per task, nothing else.
	[ "$(ls "$STATS" | wc -l)" -eq 2 ] || fail "reports: $(ls "$STATS")"
}

@test "a bad --amlshim value is refused by srun and sbatch with the shim's line, before any job exists" {
	local before
	before=$(job_count)
	run --separate-stderr srun -n 1 --amlshim=bogus touch "$STATS/ran"
	assert_failure
	[ "$(printf '%s\n' "$stderr" | grep -cxF "$(bad_value_line AMLSHIM_POLICY "'bogus'" "unknown policy 'bogus'")")" -eq 1 ] ||
		fail "srun's stderr lacks the shim's line: $stderr"
	run --separate-stderr srun -n 1 --amlshim-rules='0-=bogus' touch "$STATS/ran"
	assert_failure
	[[ $stderr == *"amlshim: AMLSHIM_RULES='0-=bogus' is not valid: "* ]] || fail "srun: $stderr"
	printf '#!/bin/sh\n#SBATCH --amlshim=bogus\ntouch %s/ran\n' "$STATS" >"$CLUSTER/bad.sh"
	run --separate-stderr sbatch --wait "$CLUSTER/bad.sh"
	assert_failure
	[[ $stderr == *"amlshim: AMLSHIM_POLICY='bogus' is not valid: unknown policy 'bogus'; accepted: "* ]] ||
		fail "sbatch: $stderr"
	[ ! -e "$STATS/ran" ] || fail "a task ran"
	[ "$(job_count)" = "$before" ] || fail "jobs before: $before, after: $(job_count)"
}

@test "sbatch with #SBATCH --amlshim=interleave: the batch script's program and its srun step run under the shim" {
	cat >"$CLUSTER/job.sh" <<EOF
#!/bin/bash
#SBATCH -n 2
#SBATCH --amlshim=interleave
#SBATCH --amlshim-stats-dir=$STATS
#SBATCH --output=$CLUSTER/job-%j.out
"$PYTHON" -c '$TASK'
srun -n 2 "$PYTHON" -c '$TASK'
EOF
	run sbatch --parsable --wait "$CLUSTER/job.sh"
	assert_success
	local job=${output%%;*} out step rank pid preload policy lines=0
	out=$CLUSTER/job-$job.out
	while read -r _ step rank pid preload policy; do
		lines=$((lines + 1))
		[ "${preload%%:*}" = "$SHIM" ] || fail "$step/$rank: LD_PRELOAD is '$preload': $(cat "$out")"
		# Once: the batch script under the shim passes it on to srun's tasks.
		[[ ${preload#"$SHIM"} != *"$SHIM"* ]] || fail "$step/$rank: the shim twice in '$preload'"
		[ "$policy" = interleave ] || fail "$step/$rank: AMLSHIM_POLICY is '$policy'"
		check_report "$STATS/amlshim.$job.$step.$rank.$pid.json" "$pid" interleave
	done <"$out"
	[ "$lines" -eq 3 ] || fail "expected 3 task lines (batch, step 0 ranks 0 and 1): $(cat "$out")"
	grep -q "^$job batch 0 " "$out" && grep -q "^$job 0 1 " "$out" || fail "output: $(cat "$out")"
}

@test "without --amlshim the plugin leaves the task alone" {
	run --separate-stderr srun -n 1 "$PYTHON" -c "$TASK"
	assert_success
	local job step rank pid preload policy
	read -r job step rank pid preload policy <<<"$output"
	[ "$preload" = - ] && [ "$policy" = - ] || fail "task line: $output"
}

@test "plugstack.conf: a site default applies, forbidden options are refused, bad arguments fail the job" {
	write_plugstack "default_policy=interleave default_stats_dir=$STATS forbid=rules,stats"
	run --separate-stderr srun -n 1 "$PYTHON" -c "$TASK"
	assert_success
	local job step rank pid preload policy
	read -r job step rank pid preload policy <<<"$output"
	[ "${preload%%:*}" = "$SHIM" ] && [ "$policy" = interleave ] || fail "task line: $output"
	check_report "$STATS/amlshim.$job.$step.$rank.$pid.json" "$pid" interleave
	# The user may still choose another policy, or none.
	run --separate-stderr srun -n 1 --amlshim=off "$PYTHON" -c "$TASK"
	assert_success
	[[ $output == *" - -" ]] || fail "--amlshim=off: $output"
	run --separate-stderr srun -n 1 --amlshim-rules='0-=interleave' true
	assert_failure
	[[ $stderr == *"amlshim: --amlshim-rules is not allowed on this cluster (plugstack.conf: forbid=rules)"* ]] ||
		fail "forbidden: $stderr"
	write_plugstack "default_policy=bogus"
	run --separate-stderr srun -n 1 touch "$STATS/ran"
	assert_failure
	[ ! -e "$STATS/ran" ] || fail "a task ran with a bad site default"
}
