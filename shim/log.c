/* Messages on stderr with one raw write(2) each: no stdio, no allocation,
 * nothing lost when the program closed or redirected stdio. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "shim.h"

static void write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

int shim_stderr_open = 1;

static void log_line(int fd, const char *fmt, va_list ap)
{
	AML_KEEP_ERRNO;
	char line[512];
	size_t used = (size_t)snprintf(line, sizeof(line), "amlshim: ");
	int n = vsnprintf(line + used, sizeof(line) - used - 1, fmt, ap);
	if (n < 0)
		n = 0;
	used += (size_t)n < sizeof(line) - used - 1 ? (size_t)n : sizeof(line) - used - 2;
	line[used++] = '\n';
	write_all(fd, line, used);
}

void shim_log(enum amlshim_log_level level, const char *fmt, ...)
{
	if (level > shim_process.policy.log_level || !shim_stderr_open)
		return;
	va_list ap;
	va_start(ap, fmt);
	log_line(STDERR_FILENO, fmt, ap);
	va_end(ap);
}

/* At exit: the program may have closed fd 2 by then (coreutils do), so
 * the report's messages go to the copy of stderr taken at start-up. */
void shim_log_fd(int fd, enum amlshim_log_level level, const char *fmt, ...)
{
	if (level > shim_process.policy.log_level || fd < 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	log_line(fd, fmt, ap);
	va_end(ap);
}

/* Policy messages already start with "amlshim: ". Bad values are errors:
 * they are printed whatever AMLSHIM_LOG says. */
void shim_log_line(const char *text, void *ctx)
{
	(void)ctx;
	if (!shim_stderr_open)
		return;
	AML_KEEP_ERRNO;
	char line[AMLSHIM_MESSAGE_MAX + 2];
	size_t len = strnlen(text, sizeof(line) - 2);
	memcpy(line, text, len);
	line[len++] = '\n';
	write_all(STDERR_FILENO, line, len);
}
