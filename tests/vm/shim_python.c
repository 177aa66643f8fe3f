/* The shim on python3 (Debian's, unmodified): `python3 -S` builds a
 * 256 MiB bytearray, prints its length, a sample sum and its Adler-32, and
 * deletes it, plainly and under AMLSHIM_POLICY=interleave,
 * block-interleave:2M, bind:3 and bandwidth (from node 0's CPUs). Each run
 * under the shim prints exactly what the plain run printed, and the
 * report's pages at the peak match the policy as for touch256
 * (shim_vm.h), counted over everything the rule placed: the bytearray and
 * the interpreter's own 1 MiB arenas.
 *
 * The initramfs carries python3, its libraries and only the modules
 * `python3 -S` imports at start-up (encodings, utf_8, aliases), under
 * /usr/lib/python3.X (tests/vm/make-initramfs.sh); without python3 in
 * the image the test skips (a failure in CI). */
#include "shim_vm.h"

#define PYTHON "/usr/bin/python3"

static const char script[] = "import zlib\n"
                             "b = bytearray(range(256)) * (256 << 12)\n"
                             "print(len(b), sum(b[::4093]), zlib.adler32(b))\n"
                             "del b\n";

int main(void)
{
	int nodes = vm_start();
	if (access(PYTHON, X_OK) != 0)
		test_skip_dependency("no %s in the VM image (the host has no /usr/bin/python3)", PYTHON);
	static const char *const policies[] = {"interleave", "block-interleave", "bind", "bandwidth"};
	char *argv[] = {PYTHON, "-S", "-c", (char *)script, NULL};
	/* Its home and stdlib: the image's /usr/lib/python3.X. */
	char *env[] = {"PYTHONHOME=/usr", "PYTHONDONTWRITEBYTECODE=1", "PYTHONHASHSEED=0", NULL};
	const unsigned long bytes = 256UL << 20;
	struct shim_vm_run plain = shim_vm_plain_run("python3", argv, env);
	CHECK(strncmp(plain.out, "268435456 ", 10) == 0, "python3 printed '%s'", plain.out);
	for (size_t i = 0; i < sizeof(policies) / sizeof(policies[0]); i++) {
		struct shim_vm_policy p = shim_vm_policy_named(policies[i]);
		char what[96];
		snprintf(what, sizeof(what), "python3, %s", p.policy);
		shim_vm_check_program(what, &p, argv, env, &plain, bytes, nodes);
		printf("%s: ok\n", what);
	}
	shim_vm_run_free(&plain);
	return 0;
}
