#!/bin/sh
# Installs the Debian packages that building and testing amlshim need, when
# they are missing. `install-deps.sh` (build + tests + test VM),
# `install-deps.sh --bench` adds the allocators the benchmarks compare with.
set -eu

packages="gcc make pkg-config libc6-dev libnuma-dev libhwloc-dev libjemalloc-dev
binutils numactl hwloc bats bats-support bats-assert
python3 perl git xz-utils tar findutils coreutils g++
qemu-system-x86 busybox-static cpio"
# MPI (tests/bats/mpi.bats, the VM's vm/mpi/*): Open MPI and MPICH side by
# side, each used by its own name (mpicc.openmpi, mpirun.openmpi,
# mpicc.mpich, mpiexec.hydra).
packages="$packages openmpi-bin libopenmpi-dev mpich libmpich-dev"
# Hardening (tests/hardening/, tests/fuzz/): sanitizers, valgrind, libFuzzer,
# other allocators, the programs of the real-program matrix, and CPython's
# own test suite (tests/hardening/pysuite.bats).
packages="$packages clang libclang-rt-14-dev libasan8 libubsan1 valgrind libtcmalloc-minimal4 libmimalloc2.0
sqlite3 lua5.4 tcl nodejs gawk bc bzip2 zstd lz4 openssl jq curl diffutils patch redis-server redis-tools lighttpd
libpython3.11-testsuite"
# Site integration: the Slurm plugin's header and a one-node cluster
# (tests/bats/slurm.bats), the man page lint, the Lmod module and bash
# completion tests.
packages="$packages libslurm-dev slurmd slurmctld slurm-client munge mandoc man-db bsdextrautils lmod bash-completion"
if [ "${1:-}" = "--bench" ]; then
	packages="$packages libmimalloc2.0 libtcmalloc-minimal4 libmemkind0 valgrind"
fi

missing=""
for pkg in $packages; do
	status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
	case $status in
	*"install ok installed"*) ;;
	*) missing="$missing $pkg" ;;
	esac
done
[ -z "$missing" ] && exit 0

sudo=""
if [ "$(id -u)" != 0 ]; then
	command -v sudo >/dev/null 2>&1 || {
		echo "install-deps: need root (or sudo) to install:$missing" >&2
		exit 1
	}
	sudo=sudo
fi
echo "install-deps: installing$missing"
$sudo apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
