#!/bin/sh
# /init of the test VM (busybox sh). Mounts the kernel file systems, prints
# what the kernel sees of the NUMA topology to the console (ttyS0), runs each
# test listed in /amlshim/tests.list from /amlshim (so the binaries find
# build/lib through their rpath and tests/topologies by relative path) and
# reports on the second serial port (ttyS1), which only this script writes:
#
#   VMTEST-BEGIN <uptime>
#   VMTEST <name> PASS|FAIL|SKIP <seconds> [<exit status or skip reason>]
#   VMTEST <name>/<case> PASS|FAIL|SKIP <seconds> [<why>]  (a test's own
#                                     "CASE <case> PASS|FAIL|SKIP [why]" lines)
#   VMLOG <name> ! <line with FAIL>                (for FAIL and SKIP:
#   VMLOG <name> | <other line of the test's output> its output, in short)
#   VMTEST-DONE <uptime>
#
# then powers off. The host (run-vm.sh) turns this into PASS/FAIL lines.
export PATH=/bin:/usr/bin:/sbin:/usr/sbin

# As process 1, this script only sets up, runs itself again as a child to
# do the work, and powers off. Process 1 inherits every orphan, and an
# orphan's exit (busybox timeout's watcher exits up to a second after its
# test) sends it SIGCHLD, which cuts short the wait for a report line to
# leave the UART when the port is closed: the line was lost. The child is
# spared those signals.
if [ -z "${AMLVM_RUNNER:-}" ]; then
	mount -t proc proc /proc
	mount -t sysfs sysfs /sys
	mount -t devtmpfs devtmpfs /dev
	mkdir -p /tmp && mount -t tmpfs tmpfs /tmp
	# For the MPI tests: POSIX shared memory, loopback and a host name
	# (/etc/hosts names it) for the launchers.
	mkdir -p /dev/shm && mount -t tmpfs tmpfs /dev/shm
	ifconfig lo 127.0.0.1 up 2>/dev/null
	hostname amlvm
	exec </dev/console >/dev/console 2>&1
	AMLVM_RUNNER=1 /bin/sh /init
	sync
	poweroff -f
fi

# One line to the report port. Opening and closing it per line makes the
# close wait until the line has left the UART, so nothing is lost at poweroff.
report() {
	echo "$*" >/dev/ttyS1
}

uptime_s() {
	read -r up _ </proc/uptime
	echo "$up"
}

# The test environment: CI, the topology and what the tests expect of it.
set -a
# shellcheck source=/dev/null
. /etc/vmtest.env
set +a

report "VMTEST-BEGIN $(uptime_s)"

echo "=== NUMA topology seen by the guest"
numactl -H 2>&1 || true
for node in /sys/devices/system/node/node[0-9]*; do
	init=$node/access0/initiators
	[ -d "$init" ] || continue
	echo "${node##*/}: initiators $(cd "$init" && echo node*)" \
		"read_latency $(cat "$init/read_latency") read_bandwidth $(cat "$init/read_bandwidth")"
done

cd /amlshim || exit 1
while read -r bin; do
	[ -n "$bin" ] || continue
	name=${bin#build/tests/}
	echo "=== $name"
	start=$(uptime_s)
	timeout "${VM_TEST_TIMEOUT:-300}" "./$bin" >/tmp/test.log 2>&1
	rc=$?
	secs=$(awk -v a="$start" -v b="$(uptime_s)" 'BEGIN { printf "%.2f", b - a }')
	cat /tmp/test.log
	case $rc in
	0) report "VMTEST $name PASS $secs" ;;
	77)
		reason=$(sed -n 's/^SKIP:* *//p' /tmp/test.log | head -n 1)
		report "VMTEST $name SKIP $secs ${reason:-no reason given}" ;;
	*)
		[ "$rc" = 143 ] && echo "timed out after ${VM_TEST_TIMEOUT:-300}s" >>/tmp/test.log
		report "VMTEST $name FAIL $secs exit $rc" ;;
	esac
	# A test's named cases, each a line of its own (the MPI tests).
	sed -n 's/^CASE \([^ ]*\) \(PASS\|FAIL\|SKIP\) *\(.*\)/\1 \2 \3/p' /tmp/test.log |
		while read -r case status why; do
			report "VMTEST $name/$case $status $secs $why"
		done
	if [ "$rc" != 0 ]; then
		# The first failure messages (stderr, so often far from the end),
		# then the end of the output.
		grep -m 5 'FAIL' /tmp/test.log | while IFS= read -r line; do
			report "VMLOG $name ! $line"
		done
		tail -n 30 /tmp/test.log | grep -v 'FAIL' | while IFS= read -r line; do
			report "VMLOG $name | $line"
		done
	fi
done </amlshim/tests.list

report "VMTEST-DONE $(uptime_s)"
