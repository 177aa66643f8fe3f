#!/usr/bin/env bats
# The man pages (man/): mandoc's lint is clean at every level, man -l
# renders them, they name everything they must (every option of
# `amlshim --help`, every AMLSHIM_* variable, every field of a real report
# and of --explain --json, every Slurm option), and the examples of
# aml_area(3) compile and run against the build.

load helpers

PAGES=(amlshim.1 amlshim.7 aml_area.3)

setup() {
	clean_environment
	MAN_DIR=$TESTS_ROOT/man
}

# The page as plain text (escapes resolved), for searching.
page_text() {
	mandoc -Tutf8 "$MAN_DIR/$1" | col -b
}

@test "mandoc -Tlint -Wall: every page is clean" {
	require_tool mandoc
	local page
	for page in "${PAGES[@]}"; do
		run mandoc -Tlint -Wall "$MAN_DIR/$page"
		[ "$status" -eq 0 ] && [ -z "$output" ] || fail "$page: $output"
	done
}

@test "man -l renders every page" {
	require_tool man
	local page
	for page in "${PAGES[@]}"; do
		run env MANWIDTH=80 man -l "$MAN_DIR/$page"
		assert_success
		[ "${#lines[@]}" -gt 40 ] || fail "$page: ${#lines[@]} lines"
	done
}

@test "amlshim(1) documents every option of --help, --explain --json's fields and the exit statuses" {
	require_tool mandoc
	require_build cli
	local text opt field
	text=$(page_text amlshim.1)
	for opt in $("$AMLSHIM" --help | grep -o -- '--[a-z-]*' | sort -u); do
		[[ $text == *"$opt"* ]] || fail "amlshim(1) lacks $opt"
	done
	"$AMLSHIM" --explain --json --policy=interleave >"$BATS_TEST_TMPDIR/explain.json"
	for field in $("$PYTHON" -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))))' \
		"$BATS_TEST_TMPDIR/explain.json"); do
		[[ $text == *"$field"* ]] || fail "amlshim(1) lacks the --explain --json member $field"
	done
	for field in 126 127 AMLSHIM_LIBRARY LD_PRELOAD; do
		[[ $text == *"$field"* ]] || fail "amlshim(1) lacks $field"
	done
}

@test "amlshim(7) documents every variable, policy, report field and Slurm option" {
	require_tool mandoc
	require_build
	local text name
	text=$(page_text amlshim.7)
	for name in "${AMLSHIM_VARIABLES[@]}" default local bind: preferred: interleave block-interleave: bandwidth \
		latency capacity cuda-mapped cuda-managed --amlshim= --amlshim-rules= --amlshim-stats \
		--amlshim-stats-dir= default_policy= forbid= library= MPI numactl Slurm MALLOC_CONF; do
		[[ $text == *"$name"* ]] || fail "amlshim(7) lacks $name"
	done
	# Every field of a real report.
	env LD_PRELOAD="$SHIM" AMLSHIM_POLICY=interleave AMLSHIM_STATS=json AMLSHIM_STATS_FILE="$BATS_TEST_TMPDIR/r.json" \
		/bin/true
	for name in $("$PYTHON" -c '
import json, sys
r = json.load(open(sys.argv[1]))
print(" ".join(list(r) + list(r["rules"][0]) + list(r["nodes"][0])))' "$BATS_TEST_TMPDIR/r.json"); do
		[[ $text == *"$name"* ]] || fail "amlshim(7) lacks the report field $name"
	done
}

@test "aml_area(3): every example compiles against the build and runs" {
	require_tool mandoc cc
	require_build
	mkdir -p "$BATS_TEST_TMPDIR/ex"
	# Each .EX block of EXAMPLES: its #include lines on top, the rest in main().
	mandoc -Tutf8 "$MAN_DIR/aml_area.3" >/dev/null
	"$PYTHON" - "$MAN_DIR/aml_area.3" "$BATS_TEST_TMPDIR/ex" <<'PY'
import re, sys
src = open(sys.argv[1]).read()
examples = src[src.index(".SH EXAMPLES"):]
blocks = re.findall(r"^\.EX\n(.*?)^\.EE\n", examples, re.S | re.M)
assert len(blocks) == 4, len(blocks)
for i, block in enumerate(blocks):
    text = block.replace("\\-", "-").replace("\\e", "\\")
    lines = text.splitlines()
    inc = [l for l in lines if l.startswith("#include")]
    body = [l for l in lines if not l.startswith("#include")]
    with open("%s/example%d.c" % (sys.argv[2], i), "w") as f:
        f.write("#include <stdio.h>\n#include <aml.h>\n#include <aml/utils/features.h>\n" + "\n".join(inc)
                + "\nint main(void)\n{\n" + "\n".join(body) + "\nreturn 0;\n}\n")
PY
	local c
	for c in "$BATS_TEST_TMPDIR"/ex/example*.c; do
		cc -std=gnu11 -Wall -Werror -I"$TESTS_ROOT/include" "$c" -o "${c%.c}" -L"$BUILD_DIR/lib" \
			-Wl,-rpath,"$BUILD_DIR/lib" -laml -lnuma -lhwloc || fail "$(basename "$c") does not compile: $(cat "$c")"
		run "${c%.c}"
		assert_success
	done
}
