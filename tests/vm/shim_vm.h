/* What the VM tests of the shim on unmodified programs (tests/vm/shim_*.c)
 * include: run a program plainly and under LD_PRELOAD=build/lib/libamlshim.so,
 * read the shim's JSON report and check the pages per node against what the
 * policy promises (tests/lib/vm_policy.c says how the bounds were chosen).
 * The programs (tests/vm/programs/) link nothing of ours; the initramfs
 * carries them at build/tests/vm/programs/, next to the tests. */
#ifndef AML_TESTS_VM_SHIM_VM_H
#define AML_TESTS_VM_SHIM_VM_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "files.h"
#include "report.h"
#include "launch.h"
#include "vm_policy.h"
#include "vmtest.h"

#endif
