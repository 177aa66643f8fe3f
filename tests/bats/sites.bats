#!/usr/bin/env bats
# amlshim --explain with AMLSHIM_SITES (inline and from a file) and the
# site variables: the site rules in their canonical spelling, in text and
# in JSON; a bad value is one line and no rule.

load helpers

setup() {
	clean_environment
	require_build cli
	require_tool "$PYTHON"
}

@test "--explain lists the site rules, text and JSON" {
	export AMLSHIM_SITES='func=hot=bind:0 cap=4M; solver+0x1A2B>solver+0x1c00 = interleave'
	export AMLSHIM_SITE_DEPTH=8 AMLSHIM_PROFILE=/tmp/p.%p.json
	run "$AMLSHIM" --explain
	[ "$status" -eq 0 ] || fail "exit $status: $output"
	[[ "$output" == *"stacks of allocations from the threshold captured, 8 frames deep"* ]] || fail "$output"
	[[ "$output" == *"site rule 1 (function, checked before the size rules): func=hot = bind:0 cap=4M"* ]] || fail "$output"
	[[ "$output" == *"site rule 2 (stack, checked before the size rules): solver+0x1a2b>solver+0x1c00 = interleave"* ]] || fail "$output"
	[[ "$output" == *"profile mode: per-site counts and heat written to /tmp/p.%p.json at exit"* ]] || fail "$output"
	"$AMLSHIM" --explain --json >"$BATS_TEST_TMPDIR/json" || fail "--explain --json failed"
	"$PYTHON" - "$BATS_TEST_TMPDIR/json" <<'PY' || fail "fields"
import json, sys
s = json.load(open(sys.argv[1]))["sites"]
assert s["bad_values"] == 0 and s["depth"] == 8 and s["profile"] == "/tmp/p.%p.json", s
assert s["rules"][0] == {"rule": "func=hot = bind:0 cap=4M", "kind": "function", "site": "func=hot",
                         "policy": "bind:0", "cap": 4194304}, s["rules"][0]
assert s["rules"][1]["site"] == "solver+0x1a2b>solver+0x1c00" and s["rules"][1]["cap"] is None, s["rules"][1]
PY
}

@test "--explain reads a rules file; a bad one is one line and no rule" {
	printf '# by hand\nfunc=hot = bind:0\n' >"$BATS_TEST_TMPDIR/rules"
	AMLSHIM_SITES="$BATS_TEST_TMPDIR/rules" run "$AMLSHIM" --explain
	[[ "$output" == *"site rule 1 (function, checked before the size rules): func=hot = bind:0"* ]] || fail "$output"
	printf 'func=hot = bind:0\n+0x10=local\n' >"$BATS_TEST_TMPDIR/rules"
	AMLSHIM_SITES="$BATS_TEST_TMPDIR/rules" run "$AMLSHIM" --explain
	[ "$(grep -c "AMLSHIM_SITES=" <<<"$output")" -eq 1 ] || fail "$output"
	[[ "$output" == *"rule 2 '+0x10=local': frame '+0x10' has no module"* ]] || fail "$output"
	[[ "$output" != *"site rule 1"* ]] || fail "$output"
}

@test "python3: a buffer allocated inside the interpreter is the same site from run to run; func= matches in .dynsym" {
	require_build
	local py=/usr/bin/python3 # Debian's: stripped, names in .dynsym only
	[ -x "$py" ] || py=$(command -v python3) || true
	require_tool "$py"
	for run in 1 2; do
		AMLSHIM_PROFILE="$BATS_TEST_TMPDIR/p$run.json" LD_PRELOAD="$SHIM" "$py" -c 'b = bytearray(4 << 20)' ||
			fail "python3 under the shim failed"
	done
	"$PYTHON" - "$BATS_TEST_TMPDIR/p1.json" "$BATS_TEST_TMPDIR/p2.json" <<'PY' || fail "profiles"
import json, sys
sites = []
for path in sys.argv[1:]:
    p = json.load(open(path))
    big = [s["site"] for s in p["sites"] if s["bytes"] >= 4 << 20]
    assert big, p
    sites.append(big[0])
assert sites[0] == sites[1], sites
assert sites[0].split(">")[-1].split("+0x")[0].startswith("python3") or "libpython" in sites[0], sites
PY
	# Debian's interpreter is stripped: there the name comes from .dynsym.
	AMLSHIM_SITES='func=PyByteArray_Resize = local' AMLSHIM_STATS=json AMLSHIM_STATS_FILE="$BATS_TEST_TMPDIR/r.json" \
		LD_PRELOAD="$SHIM" "$py" -c 'b = bytearray(4 << 20)' || fail "python3 with a func= rule failed"
	"$PYTHON" -c 'import json,sys; s=json.load(open(sys.argv[1]))["sites"][0]; assert s["count"] == 1 and s["bytes"] >= 4 << 20, s' \
		"$BATS_TEST_TMPDIR/r.json" || fail "the func= rule took $(cat "$BATS_TEST_TMPDIR/r.json")"
}

@test "a library the program links at build time: its allocation is the same site from run to run, named by the library, and a func= rule on it places it" {
	require_build
	require_tool cc
	cd "$BATS_TEST_TMPDIR"
	cat >buf.c <<'C'
#include <stdlib.h>
#include <string.h>
__attribute__((noinline)) void *buf_make(size_t n)
{
	void *p = malloc(n);
	if (p)
		memset(p, 1, n);
	return p;
}
C
	cat >main.c <<'C'
#include <stdio.h>
#include <stdlib.h>
void *buf_make(size_t n);
int main(void)
{
	char *p = buf_make(4 << 20);
	printf("%d\n", p ? p[4095] : -1);
	free(p);
	return 0;
}
C
	cc -O2 -fPIC -fomit-frame-pointer -shared -o libbuf.so buf.c || fail "cannot build libbuf.so"
	cc -O2 -o prog main.c -L. -lbuf -Wl,-rpath,"$PWD" || fail "cannot link prog with libbuf.so"
	for run in 1 2; do
		AMLSHIM_PROFILE="p$run.json" LD_PRELOAD="$SHIM" ./prog >out.$run || fail "prog under the shim failed"
	done
	assert_equal "$(cat out.1)" 1
	"$PYTHON" - p1.json p2.json <<'PY' || fail "profiles: $(cat p1.json)"
import json, sys
sites = []
for path in sys.argv[1:]:
    p = json.load(open(path))
    big = [s["site"] for s in p["sites"] if s["bytes"] >= 4 << 20]
    assert len(big) == 1, p
    sites.append(big[0])
    mods = [m["name"] for m in p["modules"]]
    assert "libbuf.so" in mods and "prog" in mods, mods
assert sites[0] == sites[1], sites
frames = sites[0].split(">")
# Caller first: the library's malloc call is the last frame, main's call to it before.
assert frames[-1].startswith("libbuf.so+0x") and frames[-2].startswith("prog+0x"), sites[0]
PY
	AMLSHIM_SITES='func=buf_make = local' AMLSHIM_STATS=json AMLSHIM_STATS_FILE=r.json LD_PRELOAD="$SHIM" ./prog ||
		fail "prog with a func= rule failed"
	"$PYTHON" -c 'import json,sys; s=json.load(open(sys.argv[1]))["sites"][0]; assert s["count"] == 1 and s["bytes"] >= 4 << 20, s' \
		r.json || fail "the func= rule took $(cat r.json)"
}

@test "a site rule's page modifier is applied and reported (+nothp, +thp); +share in a site rule is one line" {
	require_build
	AMLSHIM_SITES='func=hot = local+nothp; func=warm = bind:0+thp' AMLSHIM_STATS=json \
		AMLSHIM_STATS_FILE="$BATS_TEST_TMPDIR/r.json" LD_PRELOAD="$SHIM" "$PYTHON" -c 'b = bytearray(4 << 20)' ||
		fail "python3 with page modifiers on site rules failed"
	"$PYTHON" -c 'import json,sys; s=json.load(open(sys.argv[1]))["sites"]; assert s[0]["pages"]["mode"] == "nothp" and s[1]["pages"]["mode"] == "thp", s' \
		"$BATS_TEST_TMPDIR/r.json" || fail "the site rules' pages: $(cat "$BATS_TEST_TMPDIR/r.json")"
	run --separate-stderr env AMLSHIM_SITES='func=hot = local+nothp' AMLSHIM_STATS=1 LD_PRELOAD="$SHIM" \
		"$PYTHON" -c 'b = bytearray(4 << 20)'
	assert_success
	[[ $stderr == *"site rule 1: func=hot = local+nothp"*"pages: MADV_NOHUGEPAGE"* ]] || fail "stderr: $stderr"
	run --separate-stderr env AMLSHIM_SITES='func=hot = bandwidth+share' LD_PRELOAD="$SHIM" "$PYTHON" -c 'print(1)'
	assert_success
	[ "${#stderr_lines[@]}" -eq 1 ] || fail "stderr has ${#stderr_lines[@]} lines: $stderr"
	[[ $stderr == *"AMLSHIM_SITES="*"func=hot = bandwidth+share"*"modifier '+share' does not apply to a site rule"* ]] ||
		fail "stderr: $stderr"
}
