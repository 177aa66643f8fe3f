/* What the shim tests (tests/shim/) include: each test is a plain program
 * that must run under libamlshim.so (shim_test_start re-executes it with
 * LD_PRELOAD and the AMLSHIM_* variables it asks for). The helpers are the
 * compiled test library, tests/lib/ (libtest.a): this header only gathers
 * its headers and the system headers the tests use. */
#ifndef AMLSHIM_TESTS_SHIM_TEST_H
#define AMLSHIM_TESTS_SHIM_TEST_H

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <numaif.h>
#include <amlshim.h> /* declarations only: tests look the functions up at run time */

#include "capture.h"
#include "check.h"
#include "files.h"
#include "pattern.h"
#include "report.h"
#include "launch.h"

/* A helper library (tests/shim/lib/FILE, built as FILE.so) embedded in
 * the test: its bytes from NAME_start to NAME_end. */
#define SHIM_TEST_EMBED(name, file)                                                          \
	__asm__(".section .rodata\n.balign 64\n" #name "_start:\n.incbin \"" SHIM_TEST_HELPER_DIR \
	        "/" file "\"\n" #name "_end:\n.previous\n");                                  \
	extern const unsigned char name##_start[] __attribute__((visibility("hidden")));     \
	extern const unsigned char name##_end[] __attribute__((visibility("hidden")))

#ifndef MPOL_LOCAL
#define MPOL_LOCAL 4
#endif

#endif
