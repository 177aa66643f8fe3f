/* Option values and usage errors of `amlshim profile` and `amlshim
 * advise`: --name=VALUE or --name VALUE, one stderr line per mistake and
 * exit status 2, as the main command does. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "subcommand.h"

int sub_usage(const char *sub, const char *fmt, const char *arg)
{
	fprintf(stderr, "amlshim %s: ", sub);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'amlshim %s --help' for more information.\n", sub);
	return 2;
}

const char *sub_option(int argc, char **argv, int *i, const char *name, int *missing)
{
	size_t n = strlen(name);
	const char *arg = argv[*i];
	if (strncmp(arg, name, n) != 0 || (arg[n] != '=' && arg[n] != '\0'))
		return NULL;
	const char *value = arg[n] == '=' ? arg + n + 1 : *i + 1 < argc ? argv[++*i] : "";
	*missing = !*value;
	return *value ? value : NULL;
}

int sub_bad_option(const char *sub, const char *arg, int missing)
{
	if (!missing)
		return sub_usage(sub, "unknown option '%s'", arg);
	char name[64];
	snprintf(name, sizeof(name), "%.*s", (int)strcspn(arg, "="), arg);
	return sub_usage(sub, "option '%s' needs a value", name);
}

int sub_whole_number(const char *s, long min, long max, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int sub_size(const char *sub, const char *opt, const char *value, int positive, unsigned long long *out)
{
	char what[96];
	size_t size;
	if (amlshim_parse_size(value, &size) != 0) {
		snprintf(what, sizeof(what), "%s=%%s: not a size (bytes like 64K, 512M, 16G)", opt);
		return sub_usage(sub, what, value), -1;
	}
	if (positive && size == 0) {
		snprintf(what, sizeof(what), "%s=%%s: must be more than 0", opt);
		return sub_usage(sub, what, value), -1;
	}
	*out = size;
	return 0;
}
