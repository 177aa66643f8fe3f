# A one-node Slurm cluster of Debian's munged, slurmctld and slurmd, all in
# one temporary directory, for tests/bats/slurm.bats (sourced; also usable
# by hand: `. tests/bats/slurm-cluster.bash; cluster_start DIR PLUGSTACK`,
# then SLURM_CONF=DIR/slurm.conf srun ..., and `cluster_stop DIR`).
# Needs root (slurmd starts tasks as their user). Nothing outside DIR is
# written, and the daemons listen on 127.0.0.1 only.

SLURM_PACKAGES_TOOLS=(munged mungekey slurmctld slurmd slurmstepd srun sbatch squeue scontrol)

# A free TCP port on 127.0.0.1 from 20000-59999 (python binds to test it).
cluster_free_port() {
	/usr/bin/python3 - "$@" <<'EOF'
import random, socket, sys
taken = {int(p) for p in sys.argv[1:]}
for _ in range(200):
    port = random.randint(20000, 59999)
    if port in taken:
        continue
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        s.close()
    print(port)
    break
EOF
}

# cluster_wait SECONDS CMD...: retries CMD every 0.2 s until it succeeds.
cluster_wait() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ $SECONDS -ge $deadline ] && return 1
		sleep 0.2
	done
}

# cluster_start DIR PLUGSTACK_CONF: writes DIR/slurm.conf and starts the
# daemons; returns non-zero (with the daemons' logs on stdout) when one does
# not come up. DIR must be short (munge's socket path) and empty.
cluster_start() {
	local dir=$1 plugstack=$2 host node_line ctld_port slurmd_port
	host=$(hostname -s)
	# The machine's real CPUs and memory, as slurmd itself reports them.
	node_line=$(slurmd -C | sed -n 's/^NodeName=[^ ]* //p')
	[ -n "$node_line" ] || { echo "slurmd -C gave no node line"; return 1; }
	ctld_port=$(cluster_free_port)
	slurmd_port=$(cluster_free_port "$ctld_port")
	# munged wants every directory up to its socket searchable by all.
	chmod 755 "$dir"
	mkdir -p "$dir/munge" "$dir/spool" "$dir/state"
	chmod 755 "$dir/munge"
	dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
	chmod 600 "$dir/munge/munge.key"
	cat >"$dir/slurm.conf" <<EOF
ClusterName=amlshimtest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
SwitchType=switch/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/builtin
ReturnToService=2
KillWait=2
InactiveLimit=0
MinJobAge=300
PlugStackConfig=$plugstack
NodeName=$host NodeAddr=127.0.0.1 $node_line State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
	export SLURM_CONF=$dir/slurm.conf
	munged --key-file="$dir/munge/munge.key" --socket="$dir/munge/socket" --pid-file="$dir/munged.pid" \
		--log-file="$dir/munged.log" --seed-file="$dir/munged.seed" ||
		{ cluster_logs "$dir"; return 1; }
	slurmctld -f "$dir/slurm.conf" -i -c ||
		{ cluster_logs "$dir"; return 1; }
	slurmd -f "$dir/slurm.conf" -N "$host" ||
		{ cluster_logs "$dir"; return 1; }
	# Up when the node is idle (registered, nothing running).
	if ! cluster_wait 30 cluster_node_idle; then
		echo "the node did not become idle within 30 s:"
		sinfo -N -o '%N %T %E' 2>&1
		cluster_logs "$dir"
		return 1
	fi
}

cluster_node_idle() {
	[ "$(sinfo -h -N -o %T 2>/dev/null)" = idle ]
}

cluster_logs() {
	local log
	for log in "$1"/munged.log "$1"/slurmctld.log "$1"/slurmd.log; do
		[ -f "$log" ] || continue
		echo "--- ${log##*/} (last 20 lines)"
		tail -n 20 "$log"
	done
}

# cluster_stop DIR: ends the daemons started in DIR by their pid files
# (slurmd first, munged last), waiting at most 10 s each before SIGKILL.
cluster_stop() {
	local dir=$1 name pid i
	for name in slurmd slurmctld munged; do
		[ -f "$dir/$name.pid" ] || continue
		pid=$(cat "$dir/$name.pid" 2>/dev/null)
		[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || continue
		# Only our daemon: the pid must still be that program.
		grep -q "$name" "/proc/$pid/comm" 2>/dev/null || continue
		kill "$pid" 2>/dev/null
		for ((i = 0; i < 50; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.2
		done
		kill -9 "$pid" 2>/dev/null || true
	done
}
