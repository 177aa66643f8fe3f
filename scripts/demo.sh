#!/usr/bin/env bash
# The main job: a real program (python3 building, sorting and hashing a few
# hundred MiB of lists and bytearrays) run under the shim with interleave
# placement for allocations of 1 MiB and more, then its placement report.
set -euo pipefail
build=${1:-build}
amlshim="$build/bin/amlshim"
python=/usr/bin/python3
[ -x "$amlshim" ] || { echo "demo: $amlshim is missing: run 'make' first" >&2; exit 1; }

program='
import hashlib, random
random.seed(42)
numbers = [random.random() for _ in range(3_000_000)]
numbers.sort()
blob = bytearray(256 << 20)
for i in range(0, len(blob), 4096):
    blob[i] = i % 251
digest = hashlib.sha256(blob).hexdigest()
print(f"sorted {len(numbers)} floats, median {numbers[len(numbers)//2]:.6f}")
print(f"hashed {len(blob) >> 20} MiB: sha256 {digest[:16]}...")
'

echo "== this machine, as amlshim sees it"
"$amlshim" --explain --policy=interleave
echo
echo "== $python under: amlshim --policy=interleave --threshold=1M --stats -- python3 ..."
"$amlshim" --policy=interleave --threshold=1M --stats -- "$python" -c "$program"
