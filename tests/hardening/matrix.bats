#!/usr/bin/env bats
# The real-program matrix, wider: unmodified programs from Debian's
# packages (interpreters, compilers, an embedded database, compressors,
# servers on loopback for a bounded number of requests), each run plainly
# once and then under every policy configuration of tests/bats/helpers.bash
# (policy_configs: every policy at a low threshold, rules, placed small
# objects); stdout, stderr and status must be the plain run's, byte for
# byte. Complements tests/bats/programs.bats (ls, sort, python3, perl, gcc,
# git, tar/xz, find).

load '../bats/helpers'

setup() {
	clean_environment
	require_build
	IN=$BATS_TEST_TMPDIR/in
	mkdir -p "$IN"
}

# A deterministic text file of about N MB (words and numbers).
make_text() {
	local file=$1 mb=$2
	$PYTHON - "$file" "$mb" <<'EOF'
import random, sys
random.seed(7)
words = ["alpha", "beta", "gamma", "delta", "memory", "node", "page", "interleave", "bandwidth", "latency"]
# One random MiB, then copies of it each with its own twist.
lines = []
size = 0
while size < 1 << 20:
    line = " ".join(random.choice(words) + str(random.randint(0, 99999)) for _ in range(12)) + "\n"
    lines.append(line)
    size += len(line)
block = "".join(lines)
with open(sys.argv[1], "w") as f:
    for i in range(int(sys.argv[2])):
        f.write(block.replace("alpha", "alpha%d-" % i).replace("node1", "node%d" % (i * 7919)))
EOF
}

@test "sqlite3 (embedded database): 100k rows, indexes, joins, aggregates, under every policy" {
	require_tool sqlite3
	cat >"$IN/db.sql" <<'EOF'
PRAGMA cache_size = -65536;
CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, v TEXT, blob BLOB);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
INSERT INTO t SELECT i, (i * 7919) % 1000, printf('value-%08d', i * 31), zeroblob(i % 512) FROM n;
CREATE INDEX t_k ON t(k);
CREATE TABLE u AS SELECT k, count(*) AS c, sum(length(v)) AS l FROM t GROUP BY k;
SELECT count(*), sum(k), max(v), sum(length(blob)) FROM t;
SELECT k, c, l FROM u ORDER BY c DESC, k LIMIT 5;
SELECT count(*) FROM t JOIN u USING (k) WHERE t.id % 97 = 0;
SELECT group_concat(v, ',') IS NOT NULL, length(group_concat(v, ',')) FROM t WHERE k < 50;
UPDATE t SET v = upper(v) WHERE k % 3 = 0;
DELETE FROM t WHERE k % 5 = 0;
VACUUM;
SELECT count(*), sum(length(v)) FROM t;
EOF
	check_program sqlite3 sqlite3 work.db ".read $IN/db.sql"
}

@test "lua5.4 (interpreter): tables, strings, sorting, gsub, under every policy" {
	require_tool lua5.4
	cat >"$IN/prog.lua" <<'EOF'
local t = {}
for i = 1, 150000 do t[i] = (i * 7919) % 1000003 end
table.sort(t)
local parts = {}
for i = 1, 60000 do parts[#parts + 1] = string.format("%d:%x", t[i], t[i]) end
local s = table.concat(parts, ",")
local count = select(2, s:gsub("%d+:", function(x) return x:upper() end))
local big = string.rep("memory", 2000000)
local words = {}
for w in ("alpha beta gamma delta"):rep(50000):gmatch("%a+") do words[w] = (words[w] or 0) + 1 end
print(#t, t[1], t[#t], #s, count, #big, words.alpha, words.delta)
EOF
	check_program lua5.4 lua5.4 "$IN/prog.lua"
}

@test "tclsh (interpreter): lists, dicts, strings, under every policy" {
	require_tool tclsh
	cat >"$IN/prog.tcl" <<'EOF'
set l {}
for {set i 0} {$i < 100000} {incr i} { lappend l [expr {($i * 7919) % 1000003}] }
set s [lsort -integer $l]
set d [dict create]
foreach x [lrange $s 0 50000] { dict incr d [expr {$x % 100}] }
set str [string repeat "interleave" 500000]
set j [join [lrange $s 0 20000] ","]
puts "[llength $s] [lindex $s 0] [lindex $s end] [dict size $d] [string length $str] [string length $j]"
EOF
	check_program tclsh tclsh "$IN/prog.tcl"
}

@test "node (JavaScript, JIT, large heaps): arrays, JSON, Buffers, under every policy" {
	require_tool node
	cat >"$IN/prog.js" <<'EOF'
const a = [];
for (let i = 0; i < 200000; i++) a.push((i * 7919) % 1000003);
a.sort((x, y) => x - y);
const objs = [];
for (let i = 0; i < 20000; i++) objs.push({id: i, name: "node-" + i, tags: ["a", "b", String(i % 7)]});
const text = JSON.stringify(objs);
const back = JSON.parse(text);
const bufs = [];
for (let i = 0; i < 32; i++) bufs.push(Buffer.alloc(1 << 20, i));
let sum = 0;
for (const b of bufs) sum += b[b.length - 1];
const m = new Map();
for (let i = 0; i < 100000; i++) m.set("k" + i, i);
console.log(a.length, a[0], a[a.length - 1], text.length, back.length, sum, m.size);
EOF
	check_program node node "$IN/prog.js"
}

@test "gawk: associative arrays over 8 MB of text, under every policy" {
	require_tool gawk
	make_text "$IN/text" 8
	check_program gawk gawk '{ for (i = 1; i <= NF; i++) { w[substr($i, 1, 5)]++; n++ } } END { for (k in w) m++; print NR, n, m, w["alpha"], w["memor"] }' "$IN/text"
}

@test "bc (arbitrary precision): 2^60000 and sqrt(2) to 3000 digits, under every policy" {
	require_tool bc
	echo 'scale=3000; x=sqrt(2); y=2^60000; length(y); x' >"$IN/prog.bc"
	check_program bc bc -q "$IN/prog.bc"
}

@test "gzip: compress and decompress 16 MB, under every policy" {
	require_tool gzip sha256sum
	make_text "$IN/text" 16
	check_program gzip bash -c "gzip -6 -c '$IN/text' >t.gz && gzip -dc t.gz | sha256sum && wc -c <t.gz"
}

@test "bzip2: compress and decompress 6 MB, under every policy" {
	require_tool bzip2 sha256sum
	make_text "$IN/text" 6
	check_program bzip2 bash -c "bzip2 -9 -c '$IN/text' >t.bz2 && bzip2 -dc t.bz2 | sha256sum && wc -c <t.bz2"
}

@test "zstd (two threads, long window): compress and decompress 24 MB, under every policy" {
	require_tool zstd sha256sum
	make_text "$IN/text" 24
	check_program zstd bash -c "zstd -q -T2 --long=26 -3 -c '$IN/text' >t.zst && zstd -q -d --long=26 -c t.zst | sha256sum && wc -c <t.zst"
}

@test "lz4: compress and decompress 24 MB, under every policy" {
	require_tool lz4 sha256sum
	make_text "$IN/text" 24
	check_program lz4 bash -c "lz4 -q -1 -c '$IN/text' >t.lz4 && lz4 -q -d -c t.lz4 | sha256sum && wc -c <t.lz4"
}

@test "openssl: digests and AES round trip of 16 MB, under every policy" {
	require_tool openssl
	make_text "$IN/text" 16
	check_program openssl bash -c "openssl dgst -sha512 -r '$IN/text' | cut -c1-128 &&
		openssl enc -aes-256-cbc -pbkdf2 -iter 1000 -S 0102030405060708 -pass pass:amlshim -in '$IN/text' -out t.enc &&
		openssl enc -d -aes-256-cbc -pbkdf2 -iter 1000 -pass pass:amlshim -in t.enc | openssl dgst -sha256 -r | cut -c1-64 &&
		wc -c <t.enc"
}

@test "jq: group, sort and reduce 40k JSON objects, under every policy" {
	require_tool jq
	$PYTHON -c 'import json; print(json.dumps([{"id": i, "k": i * 7919 % 97, "name": "n%d" % i, "v": [i, i * 2, str(i)]} for i in range(40000)]))' >"$IN/data.json"
	check_program jq jq -c 'group_by(.k) | map({k: .[0].k, n: length, s: (map(.id) | add)}) | sort_by(-.n, .k) | .[0:5], (map(.n) | add)' "$IN/data.json"
}

@test "clang (compiler): compile a C file at -O2 and run it, under every policy" {
	require_tool clang
	cat >"$IN/prog.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
struct node { struct node *next; char name[40]; };
static int cmp(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }
int main(void) {
	int n = 200000, *v = malloc(n * sizeof *v);
	for (int i = 0; i < n; i++) v[i] = (i * 7919) % 1000003;
	qsort(v, n, sizeof *v, cmp);
	struct node *head = NULL;
	for (int i = 0; i < 100000; i++) { struct node *x = malloc(sizeof *x); snprintf(x->name, sizeof x->name, "n%d", i); x->next = head; head = x; }
	long len = 0;
	while (head) { struct node *x = head; head = x->next; len += strlen(x->name); free(x); }
	printf("%d %d %ld\n", v[0], v[n - 1], len);
	free(v);
	return 0;
}
EOF
	check_program clang bash -c "clang -O2 -Wall -o prog '$IN/prog.c' && ./prog"
}

@test "diff and patch: 4 MB files, under every policy" {
	require_tool diff patch
	make_text "$IN/a" 4
	sed 's/alpha1/ALPHA1/; 0~97d' "$IN/a" >"$IN/b"
	check_program diff bash -c "diff '$IN/a' '$IN/b' >d.patch; cp '$IN/a' c && patch -s c d.patch && cmp c '$IN/b' && wc -l <d.patch"
}

# A free TCP port on loopback.
free_port() {
	$PYTHON -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

@test "redis-server (links its own jemalloc) on loopback, 8k requests from redis-cli, under every policy" {
	require_tool redis-server redis-cli
	local i
	for i in $(seq 1 4000); do printf 'SET key:%d value-%d-%0200d\nRPUSH list %d\n' "$i" $((i * 7919)) "$i" "$i"; done >"$IN/cmds"
	cat >"$IN/redis.sh" <<EOF
#!/bin/bash
# Starts redis on a free port, runs a bounded load with redis-cli, stops it.
set -e
port=\$($PYTHON -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --port "\$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no --logfile "\$PWD/redis.log" --dir "\$PWD" &
server=\$!
up=0
for i in \$(seq 1 400); do redis-cli -p "\$port" ping >/dev/null 2>&1 && { up=1; break; }; sleep 0.05; done
[ \$up = 1 ] || { echo "redis-server did not answer in 20 s" >&2; exit 1; }
redis-cli -p "\$port" <"$IN/cmds" | sort | uniq -c | sed 's/^ *//' | sort
redis-cli -p "\$port" dbsize
redis-cli -p "\$port" llen list
redis-cli -p "\$port" get key:4242 | cut -c1-40
redis-cli -p "\$port" lrange list 100 104 | paste -sd,
redis-cli -p "\$port" shutdown nosave >/dev/null 2>&1 || true
wait \$server || true
EOF
	chmod +x "$IN/redis.sh"
	check_program redis "$IN/redis.sh"
}

@test "lighttpd on loopback: 250 requests from curl, under every policy" {
	require_tool lighttpd curl
	mkdir -p "$IN/www"
	make_text "$IN/www/big.txt" 2
	seq 1 10000 >"$IN/www/small.txt"
	cat >"$IN/lighttpd.sh" <<EOF
#!/bin/bash
# Serves $IN/www on a free port, answers 250 requests, stops.
set -e
port=\$($PYTHON -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >lighttpd.conf <<CONF
server.document-root = "$IN/www"
server.port = \$port
server.bind = "127.0.0.1"
server.errorlog = "\$PWD/error.log"
mimetype.assign = (".txt" => "text/plain")
CONF
lighttpd -D -f lighttpd.conf &
server=\$!
up=0
for i in \$(seq 1 400); do curl -s -o /dev/null "http://127.0.0.1:\$port/small.txt" && { up=1; break; }; sleep 0.05; done
[ \$up = 1 ] || { echo "lighttpd did not answer in 20 s" >&2; exit 1; }
# One curl, 240 requests over kept-alive connections, then 10 more curls.
urls=()
for i in \$(seq 1 80); do
	urls+=("http://127.0.0.1:\$port/small.txt" "http://127.0.0.1:\$port/big.txt" "http://127.0.0.1:\$port/missing-\$i")
done
curl -s "\${urls[@]}" -w '%{http_code}\n' | sha256sum
for i in \$(seq 1 10); do curl -s "http://127.0.0.1:\$port/small.txt"; done | sha256sum
kill \$server
wait \$server || true
EOF
	chmod +x "$IN/lighttpd.sh"
	check_program lighttpd "$IN/lighttpd.sh"
}
