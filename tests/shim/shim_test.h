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

#ifndef MPOL_LOCAL
#define MPOL_LOCAL 4
#endif

#endif
