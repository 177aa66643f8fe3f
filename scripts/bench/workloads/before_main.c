/* What a process holds when main starts: its resident memory (VmRSS,
 * RssAnon, RssFile), its virtual size and the number of its mappings,
 * read first thing in main with plain system calls into stack buffers (no
 * malloc, which could itself map or touch memory). Under a preloaded
 * allocator the difference to plain glibc is what the allocator mapped
 * and touched before main.
 *   (no arguments) */
#include <fcntl.h>
#include <unistd.h>

#include "bench.h"

/* The value of "key:" in /proc/self/status (KiB), or -1. */
static long status_kib(const char *status, const char *key)
{
	const char *at = strstr(status, key);
	return at ? strtol(at + strlen(key), NULL, 10) : -1;
}

int main(void)
{
	char status[4096], chunk[4096];
	int fd = open("/proc/self/status", O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, status, sizeof(status) - 1);
	if (fd >= 0)
		close(fd);
	long maps = 0;
	fd = open("/proc/self/maps", O_RDONLY);
	for (ssize_t got; fd >= 0 && (got = read(fd, chunk, sizeof(chunk))) > 0;)
		for (ssize_t i = 0; i < got; i++)
			maps += chunk[i] == '\n';
	if (fd < 0 || n <= 0)
		bench_die("cannot read /proc/self");
	close(fd);
	status[n] = 0;
	char extra[192];
	snprintf(extra, sizeof(extra), " rss_kib=%ld anon_kib=%ld file_kib=%ld vm_kib=%ld maps=%ld",
	         status_kib(status, "VmRSS:"), status_kib(status, "RssAnon:"), status_kib(status, "RssFile:"),
	         status_kib(status, "VmSize:"), maps);
	bench_report(0, 0, extra);
	return 0;
}
