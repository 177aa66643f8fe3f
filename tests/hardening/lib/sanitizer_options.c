/* Linked into every ASan+UBSan test binary (make check-asan): the
 * sanitizers' defaults, so that a plain run of the binary (by
 * tests/run-tests.sh, no environment) already fails on the first error,
 * reports leaks, and prints where. ASAN_OPTIONS/UBSAN_OPTIONS given in
 * the environment still override these. */
const char *__asan_default_options(void);
const char *__ubsan_default_options(void);
const char *__lsan_default_options(void);

const char *__asan_default_options(void)
{
	return "detect_leaks=1:detect_stack_use_after_return=1:check_initialization_order=1:"
	       "strict_init_order=1:strict_string_checks=1:"
	       "abort_on_error=0:exitcode=66";
}

const char *__ubsan_default_options(void)
{
	return "print_stacktrace=1:halt_on_error=1";
}

const char *__lsan_default_options(void)
{
	return "exitcode=67";
}
