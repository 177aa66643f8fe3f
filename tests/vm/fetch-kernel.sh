#!/usr/bin/env bash
# Prints the path of a Debian kernel image for the test VM, downloading the
# current linux-image-*-amd64 package into CACHE_DIR and extracting only its
# boot/vmlinuz-* (the package is never installed). Everything the VM needs
# (NUMA, ACPI HMAT, 8250 console, gzip initramfs, devtmpfs) is built into
# Debian's kernel, so no modules are taken.
#
#   fetch-kernel.sh CACHE_DIR
#
# VM_KERNEL=/path/to/vmlinuz skips all this. Exit status 1 with a reason on
# stderr when no kernel can be had (no apt, no network, ...).
set -euo pipefail

cache=${1:?usage: fetch-kernel.sh CACHE_DIR}

if [ -n "${VM_KERNEL:-}" ]; then
	[ -r "$VM_KERNEL" ] || { echo "VM_KERNEL=$VM_KERNEL is not readable" >&2; exit 1; }
	echo "$VM_KERNEL"
	exit 0
fi

mkdir -p "$cache"
cache=$(cd "$cache" && pwd)

# A kernel extracted earlier is reused (the cache lives in the build dir).
existing=$(find "$cache/boot" -maxdepth 1 -name 'vmlinuz-*' 2>/dev/null | sort | tail -n 1 || true)
if [ -n "$existing" ]; then
	echo "$existing"
	exit 0
fi

for tool in apt-cache apt-get dpkg-deb; do
	command -v "$tool" >/dev/null || { echo "$tool not found (not a Debian system?)" >&2; exit 1; }
done

# The metapackage names the current kernel package, e.g. linux-image-6.1.0-56-amd64.
package_name() {
	apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n 1
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
		echo "could not download the Debian kernel package (${package:-linux-image-amd64 unknown to apt}):" >&2
		tail -n 5 "$cache/download.log" >&2 2>/dev/null || true
		exit 1
	fi
fi

deb=$(find "$cache" -maxdepth 1 -name "${package}_*.deb" | head -n 1)
[ -n "$deb" ] || { echo "apt-get download left no ${package}_*.deb in $cache" >&2; exit 1; }
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$cache" --wildcards './boot/vmlinuz-*' './boot/config-*'
rm -f "$deb"

kernel=$(find "$cache/boot" -maxdepth 1 -name 'vmlinuz-*' | sort | tail -n 1)
[ -n "$kernel" ] || { echo "no boot/vmlinuz-* in $package" >&2; exit 1; }
echo "$kernel"
