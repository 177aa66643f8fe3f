#!/usr/bin/env bats
# make install: headers, libraries, aml.pc, the command, man pages, the Lmod
# module, bash completion and the Slurm plugin land under
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
		include/aml/area/hwloc.h include/aml/area/cuda.h include/aml/utils/error.h include/aml/utils/nodemask.h \
		lib/libaml.so.0 lib/libaml.a lib/libamlshim.so lib/pkgconfig/aml.pc bin/amlshim; do
		[ -e "$PREFIX_DIR/$f" ] || fail "missing after make install: $f"
	done
	run env PKG_CONFIG_PATH="$PREFIX_DIR/lib/pkgconfig" pkg-config --cflags --libs aml
	assert_success
	assert_output --partial "-I$PREFIX_DIR/include"
	assert_output --partial "-laml"
}

@test "make install puts the man pages, Lmod module and bash completion under PREFIX/share" {
	for f in share/man/man1/amlshim.1 share/man/man7/amlshim.7 share/man/man3/aml_area.3 share/man/man3/libaml.3 \
		share/modulefiles/amlshim/0.1.0.lua share/bash-completion/completions/amlshim; do
		[ -e "$PREFIX_DIR/$f" ] || fail "missing after make install: $f"
	done
}

@test "make install DESTDIR=D PREFIX=/usr: conventional paths, the Slurm plugin and its plugstack.conf.d line" {
	local dest=$BATS_TEST_TMPDIR/dest
	make -s -C "$TESTS_ROOT" BUILD="$BUILD_DIR" DESTDIR="$dest" PREFIX=/usr install >"$BATS_TEST_TMPDIR/log" 2>&1 ||
		fail "$(tail -n 20 "$BATS_TEST_TMPDIR/log")"
	for f in usr/bin/amlshim usr/lib/libamlshim.so usr/share/man/man1/amlshim.1 usr/share/man/man7/amlshim.7 \
		usr/share/man/man3/aml_area.3 usr/share/modulefiles/amlshim/0.1.0.lua \
		usr/share/bash-completion/completions/amlshim; do
		[ -e "$dest/$f" ] || fail "missing: $f"
	done
	grep -q 'prepend_path("PATH", "/usr/bin")' "$dest/usr/share/modulefiles/amlshim/0.1.0.lua" || fail "modulefile paths"
	if [ -f /usr/include/slurm/spank.h ]; then
		[ -e "$dest/usr/lib/slurm/amlshim_spank.so" ] || fail "no Slurm plugin"
		run grep -v '^#' "$dest/etc/slurm/plugstack.conf.d/amlshim.conf"
		assert_output 'optional /usr/lib/slurm/amlshim_spank.so library=/usr/lib/libamlshim.so'
	fi
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
