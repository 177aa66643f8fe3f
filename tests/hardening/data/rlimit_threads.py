"""Lowers the address-space limit to 4 GiB (as sandboxes and some runtimes
do), then starts threads that allocate; with --keep-limit the limit set
before the start is left as it is. The output is the same on every run."""
import resource
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

if "--keep-limit" not in sys.argv:
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
print("limit", resource.getrlimit(resource.RLIMIT_AS)[0] >> 20, "MiB")


def work(seed):
    words = {}
    for i in range(6000):
        key = str((i * 7919 + seed) % 5003) * (1 + i % 7)
        words[key] = words.get(key, 0) + 1
    blobs = [bytearray(1 + (i * 37 + seed) % 70000) for i in range(150)]
    return len(words), sum(len(b) for b in blobs), sorted(words.items())[seed % 50][1]


results = {}


def run(seed):
    results[seed] = work(seed)


threads = [threading.Thread(target=run, args=(s,)) for s in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()
for seed in sorted(results):
    print("thread", seed, results[seed])
with ThreadPoolExecutor(max_workers=16) as pool:
    print("pool", sum(r[1] for r in pool.map(work, range(16))))
print("done")
