#!/usr/bin/env bash
# Prints the path of a Debian kernel image for the test VM, downloading the
# kernel package of one series into CACHE_DIR/SERIES and extracting only its
# boot/vmlinuz-* (the package is never installed). Everything the VM needs
# (NUMA, ACPI HMAT, 8250 console, gzip initramfs, devtmpfs) is built into
# Debian's kernel, so no modules are taken.
#
#   fetch-kernel.sh CACHE_DIR [SERIES]
#
# SERIES: 6.1 (the default) is Debian 12's kernel, the one the
# linux-image-amd64 metapackage names (linux-image-6.1.0-N-amd64); 6.12 is
# the newest linux-image-6.12.N+deb12-amd64 apt knows (bookworm-security).
# VM_KERNEL=/path/to/vmlinuz skips all this. Exit status 1 with a reason on
# stderr when no kernel can be had (no apt, no network, ...).
set -euo pipefail

cache=${1:?usage: fetch-kernel.sh CACHE_DIR [SERIES]}
series=${2:-6.1}

if [ -n "${VM_KERNEL:-}" ]; then
	[ -r "$VM_KERNEL" ] || { echo "VM_KERNEL=$VM_KERNEL is not readable" >&2; exit 1; }
	echo "$VM_KERNEL"
	exit 0
fi

case $series in
6.1) pattern='vmlinuz-6.1.0-*-amd64' ;;
6.12) pattern='vmlinuz-6.12.*+deb12-amd64' ;;
*) echo "kernel series $series: 6.1 or 6.12" >&2; exit 1 ;;
esac

mkdir -p "$cache/$series"
cache=$(cd "$cache/$series" && pwd)

# The newest kernel of the series in a directory, if any.
newest() {
	find "$1" -maxdepth 1 -name "$pattern" 2>/dev/null | sort -V | tail -n 1 || true
}

# A kernel extracted earlier is reused (the cache lives in the build dir).
existing=$(newest "$cache/boot")
if [ -n "$existing" ]; then
	echo "$existing"
	exit 0
fi

for tool in apt-cache apt-get dpkg-deb; do
	command -v "$tool" >/dev/null || { echo "$tool not found (not a Debian system?)" >&2; exit 1; }
done

# The package of the series, e.g. linux-image-6.1.0-57-amd64 (the metapackage's)
# or linux-image-6.12.117+deb12-amd64.
package_name() {
	case $series in
	6.1)
		apt-cache depends linux-image-amd64 2>/dev/null |
			sed -n 's/^ *Depends: \(linux-image-6\.1\.0-[0-9]*-amd64\)$/\1/p' | head -n 1 ;;
	6.12)
		apt-cache search --names-only '^linux-image-6\.12\.[0-9]+\+deb12-amd64$' 2>/dev/null |
			cut -d ' ' -f 1 | sort -V | tail -n 1 ;;
	esac
}

download() {
	(cd "$cache" && apt-get download "$1") >"$cache/download.log" 2>&1
}

package=$(package_name)
if [ -z "$package" ] || ! download "$package"; then
	# Stale or missing package lists: refresh them once (needs root) and retry.
	if [ "$(id -u)" = 0 ]; then
		apt-get update -qq >"$cache/update.log" 2>&1 || true
		package=$(package_name)
	fi
	if [ -z "$package" ] || ! download "$package"; then
		echo "could not download the Debian $series kernel package (${package:-none known to apt}):" >&2
		tail -n 5 "$cache/download.log" >&2 2>/dev/null || true
		exit 1
	fi
fi

deb=$(find "$cache" -maxdepth 1 -name "${package}_*.deb" | head -n 1)
[ -n "$deb" ] || { echo "apt-get download left no ${package}_*.deb in $cache" >&2; exit 1; }
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$cache" --wildcards './boot/vmlinuz-*' './boot/config-*'
rm -f "$deb"

kernel=$(newest "$cache/boot")
[ -n "$kernel" ] || { echo "no boot/$pattern in $package" >&2; exit 1; }
echo "$kernel"
