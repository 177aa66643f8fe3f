#!/usr/bin/env bats
# The layering check (scripts/check-layering.py) on small trees made here:
# a clean one passes, and each kind of violation planted alone fails it
# with a line that names the file and the violation.

load helpers

CHECK=$TESTS_ROOT/scripts/check-layering.py

# A minimal clean tree: every layer, the OS layer's system calls, the
# shim's exported mmap (a definition, not a call), a member call ops->mmap.
setup() {
	TREE=$BATS_TEST_TMPDIR/tree
	mkdir -p "$TREE/include" "$TREE/areas" "$TREE/policy" "$TREE/shim"
	printf '#include <stddef.h>\nint aml_thing(void);\n' >"$TREE/include/aml.h"
	printf '#include <sys/mman.h>\n#include <time.h>\nvoid *os_map(size_t n)\n{\n\tstruct timespec ts;\n\tclock_gettime(CLOCK_MONOTONIC, &ts);\n\treturn mmap(NULL, n, 3, 0x22, -1, 0);\n}\nint os_nodes(void) { return open_file("/sys/devices/system/node/online"); }\n' >"$TREE/areas/os.c"
	printf '#include "aml.h"\nstruct ops { void *(*mmap)(size_t); };\nvoid *area_map(struct ops *ops) { return ops->mmap(4096); }\n' >"$TREE/areas/linux.c"
	printf '#include "aml.h"\nint amlshim_parse(const char *s);\n' >"$TREE/policy/policy.h"
	printf '#include "policy.h"\n/* mmap( and \"/proc/meminfo\" in a comment */\nconst char *parse_doc = "munmap(p, n)";\nint amlshim_parse(const char *s) { return aml_thing() + (s != 0); }\n' >"$TREE/policy/parse.c"
	printf '#include "policy.h"\nvoid *shim_mmap(size_t n);\nvoid *\nmmap(void *a, size_t n, int p, int f, int fd, long o)\n{\n\treturn shim_mmap(n + amlshim_parse(0));\n}\n' >"$TREE/shim/override.c"
}

@test "layering: a clean tree passes" {
	run "$PYTHON" "$CHECK" "$TREE"
	assert_success
	assert_output --partial "no violation"
}

@test "layering: areas/ including a policy/ header fails" {
	printf '#include "../policy/policy.h"\n' >>"$TREE/areas/linux.c"
	run "$PYTHON" "$CHECK" "$TREE"
	assert_failure
	assert_output "layering: areas/linux.c:4: includes policy/policy.h (policy/ is above areas/)"
}

@test "layering: policy/ including a shim/ header fails" {
	printf 'void shim_x(void);\n' >"$TREE/shim/shim.h"
	printf '#include "shim.h"\n' >>"$TREE/policy/parse.c"
	run "$PYTHON" "$CHECK" "$TREE"
	assert_failure
	assert_output "layering: policy/parse.c:5: includes shim/shim.h (shim/ is above policy/)"
}

@test "layering: policy/ calling a shim_ function fails" {
	printf 'int f(void) { return shim_route(1); }\n' >>"$TREE/policy/parse.c"
	run "$PYTHON" "$CHECK" "$TREE"
	assert_failure
	assert_output "layering: policy/parse.c:5: calls shim_route (shim/ is above policy/)"
}

@test "layering: areas/ calling an amlshim_ policy function fails" {
	printf 'int g(void) { return amlshim_parse("x"); }\n' >>"$TREE/areas/linux.c"
	run "$PYTHON" "$CHECK" "$TREE"
	assert_failure
	assert_output "layering: areas/linux.c:4: calls amlshim_parse (policy/ is above areas/)"
}

@test "layering: a system call outside the OS layer fails" {
	printf '#include <sys/mman.h>\nvoid h(void *p) { madvise(p, 4096, 8); }\n' >>"$TREE/shim/override.c"
	run "$PYTHON" "$CHECK" "$TREE"
	assert_failure
	assert_output "layering: shim/override.c:9: system call madvise() outside the OS layer (areas/os.c, areas/os_*.c)"
}

@test "layering: a /proc file read outside the OS layer fails" {
	printf 'int k(void) { return open_file("/proc/self/maps"); }\n' >>"$TREE/areas/linux.c"
	run "$PYTHON" "$CHECK" "$TREE"
	assert_failure
	assert_output "layering: areas/linux.c:4: reads a /proc or /sys file outside the OS layer"
}

@test "layering: a file over 450 lines fails" {
	for i in $(seq 460); do echo "int v$i;"; done >"$TREE/shim/long.c"
	run "$PYTHON" "$CHECK" "$TREE"
	assert_failure
	assert_output "layering: shim/long.c: 460 lines (limit 450)"
	# The command's files too.
	rm "$TREE/shim/long.c"
	mkdir -p "$TREE/scripts/amlshim"
	for i in $(seq 451); do echo "int v$i;"; done >"$TREE/scripts/amlshim/long.c"
	run "$PYTHON" "$CHECK" "$TREE"
	assert_failure
	assert_output "layering: scripts/amlshim/long.c: 451 lines (limit 450)"
}
