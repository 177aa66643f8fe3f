/* What the subcommands profile and advise share (subcommand.c): their
 * option values and usage errors, worded like the main command's. */
#ifndef AMLSHIM_SUBCOMMAND_H
#define AMLSHIM_SUBCOMMAND_H

/* "amlshim SUB: " + fmt (one %s: arg) + the line pointing at --help, on
 * stderr. Returns 2, the usage exit status. */
int sub_usage(const char *sub, const char *fmt, const char *arg);
/* The value of argv[*i] when it is --name=V or --name V (advancing *i),
 * else NULL; an empty or absent value also gives NULL, with *missing set. */
const char *sub_option(int argc, char **argv, int *i, const char *name, int *missing);
/* The usage error for an option none matched: its value missing, or
 * unknown. Returns 2. */
int sub_bad_option(const char *sub, const char *arg, int missing);
/* The size value of option opt ("--capacity"), more than 0 when
 * positive: 0 and *out, else -1 after the usage error. */
int sub_size(const char *sub, const char *opt, const char *value, int positive, unsigned long long *out);
/* A decimal number in [min, max]: 0 and *out, else -1. */
int sub_whole_number(const char *s, long min, long max, long *out);

#endif
