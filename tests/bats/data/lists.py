# Run by /usr/bin/python3 under the shim (tests/bats/programs.bats): large
# lists, dicts, bytearrays and bytes, grown, sorted, sliced and hashed.
import hashlib
import random

r = random.Random(20240501)
h = hashlib.sha256()

floats = [r.random() for _ in range(300_000)]
floats.sort()
h.update(repr(floats[::1000]).encode())

ints = list(range(500_000))
r.shuffle(ints)
h.update(bytes(str(sum(i * (k % 7) for k, i in enumerate(ints[:100_000]))), "ascii"))

table = {i: str(i) * 3 for i in range(150_000)}
h.update("".join(table[i] for i in range(0, 150_000, 997)).encode())

buf = bytearray(48 << 20)
for i in range(0, len(buf), 4096):
    buf[i] = i & 0xFF
buf.extend(bytes(range(256)) * 20000)
del buf[1 << 20 : 3 << 20]
h.update(buf)

chunks = [bytes([k & 0xFF]) * (k * 4099 % (3 << 20)) for k in range(40)]
joined = b"".join(chunks)
h.update(hashlib.sha256(joined).digest())
h.update(str(len(joined)).encode())

words = [f"w{r.randrange(50_000)}" for _ in range(200_000)]
counts = {}
for w in words:
    counts[w] = counts.get(w, 0) + 1
top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:20]
print(top[:5])
print(len(floats), len(ints), len(table), len(buf), len(joined))
print(h.hexdigest())
