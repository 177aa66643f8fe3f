/* What the tests that run inside the test VM (tests/vm/run-vm.sh) include:
 * the test library's checks, page queries and VM environment (tests/lib/). */
#ifndef AML_TESTS_VMTEST_H
#define AML_TESTS_VMTEST_H

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <numa.h>

#include "check.h"
#include "vm.h"

#endif
