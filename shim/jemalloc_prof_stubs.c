/* The private jemalloc imports libm (exp, log, round) and libgcc_s's
 * unwinder only for heap profiling, which it never runs here: opt.prof is
 * off and MALLOC_CONF is not read (jemalloc_os.c). jemalloc-rename.txt points those
 * imports at these stubs, so every program under the shim is spared loading
 * two libraries it does not need (part of the start-up cost). Should
 * profiling ever run, its statistics would be wrong, not memory. */
#include <stddef.h>

#define UNWIND_END_OF_STACK 5 /* _URC_END_OF_STACK */

double amlshim_je_prof_exp(double x)
{
	(void)x;
	return 1.0;
}

double amlshim_je_prof_log(double x)
{
	(void)x;
	return 0.0;
}

double amlshim_je_prof_round(double x)
{
	return (double)(long long)(x < 0 ? x - 0.5 : x + 0.5);
}

int amlshim_je_prof_unwind_backtrace(void *callback, void *arg)
{
	(void)callback, (void)arg;
	return UNWIND_END_OF_STACK;
}

unsigned long amlshim_je_prof_unwind_getip(void *context)
{
	(void)context;
	return 0;
}
