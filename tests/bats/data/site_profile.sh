#!/bin/sh
# Writes a raw call-site profile (the shim's AMLSHIM_PROFILE format) for
# site_prog.c's binary BIN as if it had run: its three sites, with the real
# return addresses (objdump) of their malloc calls and of main's calls to
# them, so that amlshim profile has real frames to name.
# Usage: site_profile.sh BIN OUT [BUILD_ID [PID [RANK]]]
set -eu
bin=$1 out=$2
build_id=${3:-$(readelf -n "$bin" | awk '/Build ID/ {print $3}')}
pid=${4:-4321} rank=${5:-null}
module=$(basename "$bin")
path=$(realpath "$bin")

# The address after the first call in FUNCTION to TARGET: a return address.
after_call() {
	objdump -d --no-show-raw-insn "$bin" | awk -v fn="<$1>:" -v target="<$2" '
		$2 == fn { inside = 1; next }
		inside && /^$/ { exit }
		inside && want { sub(":", "", $1); print "0x" $1; exit }
		inside && /call/ && index($0, target) { want = 1 }'
}

site() { # NAME PEAK HEAT BYTE_SECONDS FROM
	caller=$(after_call main "$1") callee=$(after_call "$1" malloc)
	[ -n "$caller" ] && [ -n "$callee" ] || { echo "site_profile.sh: no call found for $1" >&2; exit 1; }
	printf '{"site": "%s+%s>%s+%s", "frames": [{"module": "%s", "offset": "%s"}, {"module": "%s", "offset": "%s"}],' \
		"$module" "$caller" "$module" "$callee" "$module" "$caller" "$module" "$callee"
	printf ' "count": 1, "bytes": %s, "largest": %s, "peak_live": %s, "byte_seconds": %s,' "$2" "$2" "$2" "$4"
	printf ' "first_s": %s, "last_s": %s, "alive_from_s": %s, "alive_to_s": 1.5, "heat": %s}' "$5" "$5" "$5" "$3"
}

{
	printf '{"amlshim_profile": 1, "pid": %s, "rank": %s, "host": "%s", "duration_s": 1.5,\n' "$pid" "$rank" "$(uname -n)"
	printf ' "heat_method": "soft-dirty", "heat_interval_ms": 100, "min_size": 1048576,\n'
	printf ' "modules": [{"name": "%s", "path": "%s", "build_id": "%s"}],\n "sites": [\n' "$module" "$path" "$build_id"
	site cold_buffer 16777216 0.01 24.0 0.1
	printf ',\n'
	site hot_buffer 16777216 0.9 23.0 0.2
	printf ',\n'
	site big_buffer 67108864 0.02 90.0 0.3
	printf '\n]}\n'
} >"$out"
