#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz targets (tests/fuzz/corpus/): the
values the documentation and the tests use, good and bad. Run it again after
changing the lists; the files are named by content, so nothing is lost."""
import hashlib
import os

HERE = os.path.dirname(os.path.abspath(__file__))
VARIABLES = ["POLICY", "THRESHOLD", "RULES", "SMALL", "MMAP", "STATS", "STATS_FILE", "LOG", "STRICT"]

PLACEMENTS = ["default", "local", "bind:0", "bind:0-3,6", "bind:all", "preferred:1", "interleave",
              "interleave:0-3", "block-interleave:2M", "block-interleave:4K:0,2", "bandwidth", "latency",
              "capacity", "cuda-mapped", "cuda-mapped:1", "cuda-managed:1023", "INTERLEAVE:All",
              "bogus", "bind:", "preferred:0-1", "block-interleave:3000", "block-interleave:0",
              "interleave:1024", "bind:3-1", "cuda-mapped:1024", "local:0", "interleave:0,,1",
              "bind:99999999999999999999", "block-interleave:2M:all", "preferred:all",
              "weighted-interleave", "weighted-interleave:auto:0-3", "weighted-interleave:0*3,3*1",
              "weighted-interleave:2*1,0*1,1*2", "weighted-interleave:0*0", "weighted-interleave:0*256",
              "weighted-interleave:0*3,0*1", "weighted-interleave:0*3:1", "weighted-interleave:0-1*2",
              "interleave:socket", "interleave:local,3", "bind:HBM@Socket", "interleave:dram,gpu@socket",
              "block-interleave:2M:cxl,0-1", "preferred:hbm", "interleave:socket@dram", "bind:hbm@",
              "interleave:foo", "interleave:local-3", "preferred:local,0", "interleave:all,local"]
SIZES = ["0", "4096", "64K", "1M", "2GiB", "1T", "18446744073709551615", "18446744073709551616",
         "16E", "1.5M", "-1", " 1M", "1MB", "1mib", "", "K"]
RULES = ["0-64K=local;64K-1G=interleave;1G-=block-interleave:2M", "-64K=local", "1M-=interleave",
         "64K-1M=bind:0;", "1M-64K=local", "0-1M=local;512K-2M=interleave", ";", "0-1M", "=local",
         "1M=local", "0-1M=local;;1M-=bind:0", "-=default", "0-64K=bind:local;64K-=interleave:socket,3",
         ";".join("%dK-%dK=local" % (i * 4, i * 4 + 4) for i in range(16)),
         ";".join("%dK-%dK=local" % (i * 4, i * 4 + 4) for i in range(17)),
         "0-18446744073709551615=interleave", "4K-8K=block-interleave:4K:0-1023",
         "0-1M=local;1M-=weighted-interleave:0*3,3*1", "1G-=weighted-interleave:auto:0-2",
         "0-1K=bind:" + ",".join(str(i) for i in range(0, 1024, 2))]
SITES = ["solver+0x1a2b>solver+0x1c00 = bind:2 cap=4G", "func=compute_rhs=interleave",
         "func = setup > alloc_grid =preferred:0", "libstdc++.so.6+0x10>libfoo.so.1+0XAbC=bandwidth;",
         "# comment\nfunc=main=local cap=1M;;;\n", "+0x10=bind:0", "solver=bind:0", "a+0x1>=bind:0",
         "a+12=bind:0", "a+0x1=", "func==bind:0", "a+0x1=bind:0 cap=0", "a+0x1=bind:0 fast",
         "a+0x1=preferred:2+share", "func=a>b>c=local", "a+0x1=bind:0\n\x01", "",
         ">".join("m%d+0x%x" % (i, i) for i in range(65)) + "=local",
         ";".join("func=f%d=local" % i for i in range(33))]
KEYWORDS = {"MMAP": ["on", "off", "1", "0", "ON", "yes", ""],
            "STATS": ["0", "off", "1", "text", "json", "", "JSON", "xml"],
            "STATS_FILE": ["/tmp/amlshim.%p.json", "%%", "%q", "%", "", "x" * 300, "/tmp/%p%p%p"],
            "LOG": ["error", "warn", "info", "debug", "trace", ""],
            "STRICT": ["0", "1", "2", "true", ""]}


def write(target, data):
    name = hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(HERE, "corpus", target, name), "wb") as f:
        f.write(data)


def policy_input(values):
    """values: {VARIABLE: text}; the two mask bytes, then the values."""
    mask = 0
    parts = []
    for i, name in enumerate(VARIABLES):
        if name in values:
            mask |= 1 << i
            parts.append(values[name].encode())
    return bytes([mask & 0xff, mask >> 8]) + b"\0".join(parts)


def main():
    for target in ("policy", "rules", "sites"):
        os.makedirs(os.path.join(HERE, "corpus", target), exist_ok=True)
    for rules in RULES + ["0-" + s + "=local" for s in SIZES]:
        write("rules", rules.encode())
    for site in SITES:
        write("sites", site.encode())
    for p in PLACEMENTS:
        write("sites", ("func=f=" + p).encode())
        write("rules", ("0-1M=" + p).encode())
        write("policy", policy_input({"POLICY": p}))
        write("policy", policy_input({"SMALL": p}))
    for s in SIZES:
        write("policy", policy_input({"POLICY": "interleave", "THRESHOLD": s}))
    for r in RULES:
        write("policy", policy_input({"RULES": r}))
        write("policy", policy_input({"RULES": r, "POLICY": "bind:0", "THRESHOLD": "64K"}))
    for name, words in KEYWORDS.items():
        for w in words:
            write("policy", policy_input({name: w}))
    write("policy", policy_input({name: "bogus\n\x01'\\" for name in VARIABLES}))
    write("policy", policy_input({"POLICY": "block-interleave:4M", "THRESHOLD": "8K", "SMALL": "interleave",
                                  "MMAP": "off", "STATS": "json", "STATS_FILE": "/tmp/s.%p.json",
                                  "LOG": "debug", "STRICT": "1"}))


main()
