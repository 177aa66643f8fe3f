#!/usr/bin/env bats
# make install: headers, libraries, aml.pc and the command land under
# PREFIX, and a program written for AML's area API builds with pkg-config
# and runs against the installed copy.

load helpers

setup_file() {
	require_tool pkg-config
	require_tool cc
	PREFIX_DIR=$BATS_FILE_TMPDIR/prefix
	export PREFIX_DIR
	make -s -C "$TESTS_ROOT" BUILD="$BUILD_DIR" PREFIX="$PREFIX_DIR" install >"$BATS_FILE_TMPDIR/install.log" 2>&1
}

@test "make install puts headers, libraries, aml.pc and the command under PREFIX" {
	for f in include/aml.h include/amlshim.h include/aml/area/linux.h include/aml/area/block.h \
		include/aml/area/hwloc.h include/aml/area/cuda.h include/aml/utils/error.h \
		lib/libaml.so.0 lib/libaml.a lib/libamlshim.so lib/pkgconfig/aml.pc bin/amlshim; do
		[ -e "$PREFIX_DIR/$f" ] || fail "missing after make install: $f"
	done
	run env PKG_CONFIG_PATH="$PREFIX_DIR/lib/pkgconfig" pkg-config --cflags --libs aml
	assert_success
	assert_output --partial "-I$PREFIX_DIR/include"
	assert_output --partial "-laml"
}

@test "an AML area program builds with pkg-config against the installed copy and runs" {
	local flags
	flags=$(PKG_CONFIG_PATH="$PREFIX_DIR/lib/pkgconfig" pkg-config --cflags --libs aml)
	# shellcheck disable=SC2086
	cc "$TESTS_ROOT/tests/bats/data/aml_program.c" $flags -o "$BATS_FILE_TMPDIR/aml_program"
	run env LD_LIBRARY_PATH="$PREFIX_DIR/lib" "$BATS_FILE_TMPDIR/aml_program"
	assert_success
	assert_output "ok 1"
}

@test "the installed command finds the installed shim" {
	run "$PREFIX_DIR/bin/amlshim" --version
	assert_success
	run env -u AMLSHIM_TEST_BUILD "$PREFIX_DIR/bin/amlshim" --policy=interleave --stats=json -- /bin/echo ran
	assert_success
	assert_line ran
	assert_output --partial '"policy":"interleave"'
}
