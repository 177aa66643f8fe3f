#!/usr/bin/env bats
# Unmodified programs under the shim, each run plainly once and then under
# every policy configuration (helpers.bash: policy_configs): stdout, stderr
# and the exit status must be byte for byte those of the plain run.

load helpers

setup_file() {
	clean_environment
	require_build
	require_tool "$PYTHON"
	# A tree of ~1500 files for ls, find and tar, and ~100 MB of lines with
	# many repeats for the sort/uniq pipeline: made once, without the shim.
	export TREE=$BATS_FILE_TMPDIR/tree INPUT=$BATS_FILE_TMPDIR/input.txt
	"$PYTHON" - "$TREE" "$INPUT" <<'EOF'
import os, random, sys
tree, input_path = sys.argv[1], sys.argv[2]
r = random.Random(7)
vocabulary = ["alpha", "beta", "gamma", "delta", "node", "page", "arena", "extent", "block",
              "interleave", "bandwidth", "latency", "capacity", "hwloc", "numa", "mbind"]
for d in range(30):
    sub = os.path.join(tree, "d%02d" % d, "s%d" % (d % 4))
    os.makedirs(sub, exist_ok=True)
    for f in range(50):
        name = os.path.join(sub, "f%03d.%s" % (f, ("txt", "dat", "log")[f % 3]))
        with open(name, "wb") as out:
            if f % 3 == 1:
                out.write(r.randbytes(r.randrange(0, 3000)))
            else:
                out.write(" ".join(r.choice(vocabulary) for _ in range(r.randrange(0, 1200))).encode())
lines = ["%08x-%s" % (i, "abcdefghijklmnopqrstuvwxyz"[i % 26] * (20 + i % 60)) for i in range(40000)]
size, chunk = 0, []
with open(input_path, "w") as out:
    while size < 100 << 20:
        line = lines[r.randrange(len(lines))]
        chunk.append(line)
        size += len(line) + 1
        if len(chunk) == 10000:
            out.write("\n".join(chunk) + "\n")
            chunk = []
    if chunk:
        out.write("\n".join(chunk) + "\n")
EOF
}

setup() {
	clean_environment
	require_build
}

@test "ls -lR of a tree, under every policy" {
	require_tool ls
	check_program "ls -lR" ls -lR "$TREE"
}

@test "bash pipeline: sort | uniq -c over 100 MB, under every policy" {
	require_tool bash sort uniq md5sum
	# sort -S: without it GNU sort mallocs a buffer sized from the machine's
	# memory (6.5 GiB on a 10 GiB machine) and touches a little of it;
	# block-interleave populates whole allocations, so that buffer would
	# become resident (6.5 GiB, twice with two jobs at once).
	check_program "sort|uniq pipeline" bash -c '
		sort -S 48M -T . "$INPUT" | uniq -c >counts
		md5sum <counts
		wc -l <counts
		sort -k1,1nr -k2,2 counts | head -n 20
		cut -c1-4 <counts | uniq | tr -d "\n" | md5sum'
}

@test "python3 building and hashing large lists and bytearrays, under every policy" {
	require_tool "$PYTHON"
	check_program "python3" "$PYTHON" "$DATA/lists.py"
}

@test "perl with big strings, arrays and hashes, under every policy" {
	require_tool perl
	check_program "perl" perl "$DATA/words.pl"
}

@test "gcc compiling a C file (and the result running), under every policy" {
	require_tool gcc sha256sum
	check_program "gcc" bash -c '
		gcc -O2 -Wall -o alloc "$DATA/alloc.c" && gcc -O2 -c -o alloc.o "$DATA/alloc.c" &&
		sha256sum <alloc && sha256sum <alloc.o && ./alloc'
}

@test "git creating a repository and committing, under every policy" {
	require_tool git md5sum
	check_program "git" env GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null HOME=/nonexistent \
		GIT_AUTHOR_NAME=amlshim GIT_AUTHOR_EMAIL=amlshim@example.org \
		GIT_COMMITTER_NAME=amlshim GIT_COMMITTER_EMAIL=amlshim@example.org \
		GIT_AUTHOR_DATE='2024-01-01T00:00:00Z' GIT_COMMITTER_DATE='2024-01-01T00:00:00Z' \
		bash -c '
		set -e
		git init -q -b main repo
		cd repo
		git config pack.threads 1
		cp -r "$TREE"/d0* .
		git add -A
		git commit -q -m "first commit"
		echo more >>d00/s0/f000.txt
		git rm -q -r d01
		git commit -q -a -m "second commit"
		git log --format="%H %s" --stat | md5sum
		git rev-parse HEAD HEAD~1 HEAD^{tree}
		git gc -q
		git fsck --no-progress --full && echo fsck ok
		git count-objects -v | grep -E "^(count|in-pack|packs):"
		git archive --format=tar HEAD | md5sum
		git diff --stat HEAD~1 HEAD | tail -n 1'
}

@test "tar + xz round trip, under every policy" {
	require_tool tar xz sha256sum diff
	check_program "tar+xz" bash -c '
		set -e
		tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$TREE" -cf tree.tar .
		xz -T1 -3 -k tree.tar
		sha256sum <tree.tar && sha256sum <tree.tar.xz
		mkdir back
		xz -dc tree.tar.xz | tar -C back -xf -
		diff -r "$TREE" back && echo round trip ok'
}

@test "find over a tree, under every policy" {
	require_tool find md5sum
	check_program "find" bash -c '
		find "$TREE" -type f -size +2k -printf "%P %s\n" | sort | md5sum
		find "$TREE" -name "*.txt" -printf "%P\n" | sort | head -n 20
		find "$TREE" -type d | wc -l
		find "$TREE" -type f -name "f00*" -exec md5sum {} + | sed "s|$TREE/||" | sort'
}
