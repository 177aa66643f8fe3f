#!/bin/sh
# Runs a test program under valgrind memcheck (make check-valgrind):
#   valgrind-wrapper.sh PROGRAM [ARGS...]
# mk/hardening.mk links BUILD/tests/valgrind/NAME to this script; called
# through such a link it runs BUILD/tests/NAME. Leaks (definite, indirect)
# and memory errors fail with exit 98; VALGRIND_FLAGS replaces the flags.
# Without valgrind: skip, or fail when CI=true.
case $0 in
*/tests/valgrind/*) set -- "${0%/tests/valgrind/*}/tests/${0##*/tests/valgrind/}" "$@" ;;
*) [ $# -gt 0 ] || { echo "usage: $0 PROGRAM [ARGS...]" >&2; exit 2; } ;;
esac
command -v valgrind >/dev/null || { echo "SKIP: valgrind is not installed"; [ "$CI" = true ] && exit 1; exit 77; }
flags=${VALGRIND_FLAGS:-"--error-exitcode=98 --leak-check=full --errors-for-leak-kinds=definite,indirect
	--show-leak-kinds=definite,indirect --track-origins=yes --quiet"}
exec valgrind $flags "$@"
