/* What the hardening tests under the shim (tests/hardening/NAME.c)
 * include: the shim tests' helpers and the stress helpers of the test
 * library (tests/lib/stress.h). */
#ifndef AMLSHIM_TESTS_HARDENING_H
#define AMLSHIM_TESTS_HARDENING_H

#include <pthread.h>
#include <sys/resource.h>

#include "shim_test.h"
#include "stress.h"

#endif
