"""Real program: build and sort millions of small Python objects.

Records (a class with a dict, a tuple key, a string), sorted three ways,
grouped into a dict of lists, then dropped. Python's small-object
allocator takes 1 MiB arenas from mmap and everything larger from malloc,
so this exercises both. Usage: python3 objects.py [count] (default 1500000).
"""
import random
import sys
import time


class Record:
    def __init__(self, key, name, value):
        self.key = key
        self.name = name
        self.value = value


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1500000
    rng = random.Random(12345)
    start = time.monotonic()
    records = [Record((rng.randrange(1000), i), "item-%d" % rng.randrange(count), rng.random())
               for i in range(count)]
    by_key = sorted(records, key=lambda r: r.key)
    by_name = sorted(records, key=lambda r: r.name)
    by_value = sorted(records, key=lambda r: r.value)
    groups = {}
    for r in records:
        groups.setdefault(r.key[0], []).append(r.name)
    joined = sum(len(",".join(names)) for names in groups.values())
    check = by_key[0].key[1] + len(by_name[-1].name) + int(by_value[count // 2].value * 1000) + joined
    del records, by_key, by_name, by_value, groups
    elapsed = time.monotonic() - start
    print("BENCH time_s=%.6f check=%d ops=%d" % (elapsed, check, count))


main()
