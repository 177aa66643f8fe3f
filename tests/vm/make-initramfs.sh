#!/usr/bin/env bash
# Builds the test VM's initramfs: busybox (static, with its applet links),
# /init (init.sh), the environment file, the test binaries and build/lib
# under /amlshim in the same layout as the build dir (so their rpath
# $ORIGIN/../../lib works), tests/topologies, the programs the tests use,
# and every library ldd reports for all of them, plus the dynamic loader.
#
#   make-initramfs.sh BUILD_DIR OUTPUT.cpio.gz ENV_FILE TEST_BINARY...
#
# TEST_BINARY paths are under BUILD_DIR/tests/. VM_PROGRAMS (default
# "numactl") names extra programs to copy to /usr/bin.
set -euo pipefail

build=${1:?usage: make-initramfs.sh BUILD_DIR OUTPUT ENV_FILE TEST...}
output=${2:?output file}
env_file=${3:?environment file}
shift 3
here=$(cd "$(dirname "$0")" && pwd)
source_root=$(cd "$here/../.." && pwd)
build_abs=$(cd "$build" && pwd -P)

root=$build/vm/root
rm -rf "$root"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,amlshim/build/lib}

# ELF files whose libraries must be in the image.
elves=()

# busybox: Debian's busybox-static; the applet links are made here, so /init
# can use them from its first line.
busybox=$(command -v busybox || true)
[ -n "$busybox" ] || { echo "busybox not found (install busybox-static)" >&2; exit 1; }
cp -L "$busybox" "$root/bin/busybox"
elves+=("$busybox")
for applet in $("$busybox" --list); do
	[ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done

install -m 755 "$here/init.sh" "$root/init"
cp "$env_file" "$root/etc/vmtest.env"

# The libraries the build made (libaml, later libamlshim), links kept.
for lib in "$build"/lib/*.so*; do
	[ -e "$lib" ] || continue
	cp -P "$lib" "$root/amlshim/build/lib/"
	[ -L "$lib" ] || elves+=("$lib")
done

# The tests, at build/tests/<dir>/<name>, and their list in run order.
: >"$root/amlshim/tests.list"
for bin in "$@"; do
	rel=${bin#"$build"/tests/}
	[ "$rel" != "$bin" ] || { echo "test $bin is not under $build/tests/" >&2; exit 1; }
	mkdir -p "$root/amlshim/build/tests/$(dirname "$rel")"
	cp "$bin" "$root/amlshim/build/tests/$rel"
	echo "build/tests/$rel" >>"$root/amlshim/tests.list"
	elves+=("$bin")
done

# Data files the tests read by relative path.
if [ -d "$source_root/tests/topologies" ]; then
	mkdir -p "$root/amlshim/tests"
	cp -r "$source_root/tests/topologies" "$root/amlshim/tests/"
fi

# Programs the tests (and /init) run.
for program in ${VM_PROGRAMS:-numactl}; do
	path=$(command -v "$program" || true)
	[ -n "$path" ] || { echo "program $program not found" >&2; exit 1; }
	cp -L "$path" "$root/usr/bin/$program"
	elves+=("$path")
done

# The plain programs of the shim tests (tests/vm/programs/), next to them.
if [ -d "$build/tests/vm/programs" ]; then
	mkdir -p "$root/amlshim/build/tests/vm/programs"
	for prog in "$build"/tests/vm/programs/*; do
		if [ -f "$prog" ] && [ -x "$prog" ]; then
			cp "$prog" "$root/amlshim/build/tests/vm/programs/"
			elves+=("$prog")
		fi
	done
fi

# The amlshim command (build/bin), for the tests that run it
# (vm/shim_sites_loop, the MPI tests' `amlshim report`).
if [ -x "$build/bin/amlshim" ]; then
	mkdir -p "$root/amlshim/build/bin"
	cp "$build/bin/amlshim" "$root/amlshim/build/bin/"
	elves+=("$build/bin/amlshim")
fi

# The MPI tests (build/tests/vm/mpi/*): the programs built with each MPI
# (build/tests/mpi/) and each MPI's runtime by its own name. Their plugins are dlopen'ed (ldd does not
# name them): Open MPI's components (less the network, OpenSHMEM, MPI-IO
# and monitoring ones, which pull in 20 MB of libraries and are not used
# on one machine), PMIx's, their help texts and configuration; MPICH's
# hydra launcher and its proxy.
if [ -d "$build/tests/mpi" ] && grep -q '^build/tests/vm/mpi/' "$root/amlshim/tests.list"; then
	mkdir -p "$root/amlshim/build/tests/mpi"
	for prog in "$build"/tests/mpi/*; do
		[ -f "$prog" ] && [ -x "$prog" ] || continue
		cp "$prog" "$root/amlshim/build/tests/mpi/"
		elves+=("$prog")
	done
	printf '127.0.0.1 localhost amlvm\n' >"$root/etc/hosts"
	printf 'hosts: files\n' >"$root/etc/nsswitch.conf"
	copy_tree() { # path...: files and directories at the same path
		local path
		for path in "$@"; do
			[ -e "$path" ] || continue
			mkdir -p "$root$(dirname "$path")"
			cp -a "$path" "$root$path"
		done
	}
	if [ -x /usr/bin/orterun ]; then
		ompi=/usr/lib/x86_64-linux-gnu/openmpi/lib/openmpi3
		pmix=/usr/lib/x86_64-linux-gnu/pmix2
		copy_tree /usr/bin/orterun /usr/bin/orted /usr/bin/mpirun.openmpi /usr/share/openmpi /etc/openmpi \
			"$pmix/share" /usr/share/pmix
		elves+=(/usr/bin/orterun /usr/bin/orted)
		mkdir -p "$root$ompi" "$root$pmix/lib/pmix"
		for component in "$ompi"/*.so "$pmix"/lib/pmix/*.so; do
			case ${component##*/} in
			*ucx* | *ofi* | *openib* | *psm* | *verbs* | *cuda* | *monitoring* | *_slurm*) continue ;;
			mca_atomic_* | mca_memheap_* | mca_scoll_* | mca_spml_* | mca_sshmem_*) continue ;;
			mca_io_* | mca_fcoll_* | mca_fbtl_* | mca_fs_* | mca_sharedfp_*) continue ;;
			esac
			cp "$component" "$root$component"
			elves+=("$component")
		done
	fi
	if [ -x /usr/bin/mpiexec.hydra ]; then
		copy_tree /usr/bin/mpiexec.hydra /usr/bin/mpiexec.mpich /usr/bin/hydra_pmi_proxy
		elves+=(/usr/bin/mpiexec.hydra /usr/bin/hydra_pmi_proxy)
	fi
fi

# Debian's python3 for vm/shim_python, with only the modules `python3 -S`
# imports at start-up (mtimes kept, so their .pyc stay valid): 7 MB, not
# the 50 MB stdlib. Without it the test skips (a failure in CI).
python=$(readlink -f /usr/bin/python3 2>/dev/null || true)
if [ -n "$python" ] && [ -x "$python" ] && [ -f "/usr/lib/${python##*/}/encodings/__init__.py" ]; then
	stdlib=/usr/lib/${python##*/}
	mkdir -p "$root$stdlib/encodings/__pycache__"
	cp -L "$python" "$root/usr/bin/python3"
	elves+=("$python")
	for module in __init__ aliases utf_8; do
		cp -p "$stdlib/encodings/$module.py" "$root$stdlib/encodings/"
		cp -p "$stdlib/encodings/__pycache__/$module".*.pyc "$root$stdlib/encodings/__pycache__/" 2>/dev/null || true
	done
fi

# Shared libraries, at the paths ldd gives (the loader searches its default
# directories, as there is no ld.so.cache). Ours are already in place.
declare -A copied=()
for elf in "${elves[@]}"; do
	# ldd fails on static programs ("not a dynamic executable"): nothing to copy.
	deps=$(ldd "$elf" 2>/dev/null | sed -n 's/.*=> \(\/[^ ]*\) .*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) (0x.*/\1/p' || true)
	for lib in $deps; do
		[ -z "${copied[$lib]:-}" ] || continue
		copied[$lib]=1
		case $(realpath "$lib") in "$build_abs"/*) continue ;; esac
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
done

(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -1 >"$output"
