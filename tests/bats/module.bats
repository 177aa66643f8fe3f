#!/usr/bin/env bats
# The Lmod module `make install` writes (dist/modulefile.lua.in): with
# Debian's lmod, `module use PREFIX/share/modulefiles; module load amlshim`
# puts the installed command, man pages, headers, library and pkg-config
# file in reach, and `module unload` takes them away again.

load helpers

LMOD_INIT=/usr/share/lmod/lmod/init/bash

setup_file() {
	if [ ! -f "$LMOD_INIT" ]; then
		[ "${CI:-}" = true ] && fail "CI=true: lmod is not installed ($LMOD_INIT)"
		skip "lmod is not installed"
	fi
	PREFIX_DIR=$BATS_FILE_TMPDIR/prefix
	export PREFIX_DIR
	make -s -C "$TESTS_ROOT" BUILD="$BUILD_DIR" PREFIX="$PREFIX_DIR" install >"$BATS_FILE_TMPDIR/install.log" 2>&1 ||
		fail "make install failed: $(tail -n 20 "$BATS_FILE_TMPDIR/install.log")"
}

setup() {
	clean_environment
	require_tool cc pkg-config
	unset CPATH LIBRARY_PATH PKG_CONFIG_PATH AMLSHIM_ROOT
	# Lmod's own functions are not written for errexit.
	set +e
	# shellcheck source=/dev/null
	source "$LMOD_INIT"
	module use "$PREFIX_DIR/share/modulefiles"
	set -e
}

@test "make install writes the modulefile under PREFIX/share/modulefiles/amlshim/VERSION.lua" {
	local version
	version=$(sed -n 's/^#define AMLSHIM_VERSION "\(.*\)"/\1/p' "$TESTS_ROOT/include/amlshim.h")
	[ -f "$PREFIX_DIR/share/modulefiles/amlshim/$version.lua" ] || fail "no modulefile for $version"
	run module avail amlshim
	[[ $output == *"amlshim/$version"* ]] || fail "module avail: $output"
	run module whatis amlshim
	[[ $output == *"Version: $version"* ]] || fail "module whatis: $output"
	run module help amlshim
	[[ $output == *"amlshim --policy=interleave"* ]] || fail "module help: $output"
}

@test "module load amlshim: the installed command, its shim and its man pages" {
	set +e
	module load amlshim
	set -e
	[ "$(command -v amlshim)" = "$PREFIX_DIR/bin/amlshim" ] || fail "amlshim is $(command -v amlshim)"
	run amlshim --version
	assert_success
	assert_output --regexp '^amlshim [0-9]+\.[0-9]+\.[0-9]+$'
	assert_equal "$AMLSHIM_LIBRARY" "$PREFIX_DIR/lib/libamlshim.so"
	run amlshim --policy=interleave --stats=json -- /bin/echo ran
	assert_success
	assert_line ran
	assert_output --partial '"policy":"interleave"'
	if command -v man >/dev/null; then
		[ "$(man -w amlshim)" = "$PREFIX_DIR/share/man/man1/amlshim.1" ] || fail "man -w amlshim: $(man -w amlshim)"
		[ "$(man -w 7 amlshim)" = "$PREFIX_DIR/share/man/man7/amlshim.7" ] || fail "man -w 7 amlshim"
	fi
	set +e
	module unload amlshim
	set -e
	[ "$(command -v amlshim)" != "$PREFIX_DIR/bin/amlshim" ] || fail "still on PATH after unload"
	[ -z "${AMLSHIM_LIBRARY:-}" ] || fail "AMLSHIM_LIBRARY still set"
}

@test "module load amlshim: an AML program builds with pkg-config, and with plain cc, and runs" {
	set +e
	module load amlshim
	set -e
	local flags
	flags=$(pkg-config --cflags --libs aml) || fail "pkg-config does not find aml: PKG_CONFIG_PATH=$PKG_CONFIG_PATH"
	# shellcheck disable=SC2086
	cc "$DATA/aml_program.c" $flags -o "$BATS_TEST_TMPDIR/with_pkgconfig"
	run "$BATS_TEST_TMPDIR/with_pkgconfig"
	assert_success
	assert_output "ok 1"
	# CPATH and LIBRARY_PATH alone are enough for cc.
	cc "$DATA/aml_program.c" -laml -o "$BATS_TEST_TMPDIR/plain"
	run "$BATS_TEST_TMPDIR/plain"
	assert_success
	assert_output "ok 1"
	run ldd "$BATS_TEST_TMPDIR/plain"
	assert_output --partial "$PREFIX_DIR/lib/libaml.so"
}
