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

void shim_log(enum amlshim_log_level level, const char *fmt, ...)
{
	if (level > shim_policy.log_level || !shim_stderr_open)
		return;
	int saved = errno;
	char line[512];
	size_t used = (size_t)snprintf(line, sizeof(line), "amlshim: ");
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line + used, sizeof(line) - used - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	used += (size_t)n < sizeof(line) - used - 1 ? (size_t)n : sizeof(line) - used - 2;
	line[used++] = '\n';
	write_all(STDERR_FILENO, line, used);
	errno = saved;
}

/* Policy messages already start with "amlshim: ". Bad values are errors:
 * they are printed whatever AMLSHIM_LOG says. */
void shim_log_line(const char *text, void *ctx)
{
	(void)ctx;
	if (!shim_stderr_open)
		return;
	int saved = errno;
	char line[AMLSHIM_MESSAGE_MAX + 2];
	size_t len = strnlen(text, sizeof(line) - 2);
	memcpy(line, text, len);
	line[len++] = '\n';
	write_all(STDERR_FILENO, line, len);
	errno = saved;
}
