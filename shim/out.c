/* Buffered text output with raw write(2): no stdio, no allocation, for the
 * report and malloc_stats (stderr may be closed or redirected by then). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "shim.h"

void shim_out_flush(struct shim_out *out)
{
	size_t done = 0;
	while (done < out->used) {
		ssize_t n = write(out->fd, out->buf + done, out->used - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	out->used = 0;
}

void shim_out_put(struct shim_out *out, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n <= 0)
		return;
	size_t len = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
	if (out->used + len > sizeof(out->buf))
		shim_out_flush(out);
	memcpy(out->buf + out->used, line, len);
	out->used += len;
}

void shim_out_json_string(struct shim_out *out, const char *text)
{
	shim_out_put(out, "\"");
	for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
		if (*c == '"' || *c == '\\')
			shim_out_put(out, "\\%c", *c);
		else if (*c < 0x20)
			shim_out_put(out, "\\u%04x", *c);
		else
			shim_out_put(out, "%c", *c);
	}
	shim_out_put(out, "\"");
}
