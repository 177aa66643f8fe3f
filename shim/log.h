/* Messages with raw write(2) (log.c), and buffered raw-write output for
 * the report and malloc_stats (out.c). */
#ifndef AMLSHIM_LOG_H
#define AMLSHIM_LOG_H

#include "policy.h"

struct shim_out {
	int fd;
	size_t used;
	char buf[4096];
};
void shim_out_put(struct shim_out *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void shim_out_flush(struct shim_out *out);
/* A JSON string, quoted: quotes, backslashes and control bytes escaped. */
void shim_out_json_string(struct shim_out *out, const char *text);
void shim_log(enum amlshim_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void shim_log_fd(int fd, enum amlshim_log_level level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void shim_log_line(const char *line, void *ctx); /* a policy message sink */
/* 0 when the program started with stderr closed: then nothing is written
 * to fd 2, which may hold the program's own file later. */
extern int shim_stderr_open;

#endif
