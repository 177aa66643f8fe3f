/* The small path starts at the first small allocation, not when the shim
 * is loaded: a program that has allocated nothing has neither the range
 * nor the private jemalloc's metadata mapped (start-up cost and resident
 * memory of programs that allocate little), and its first malloc works
 * and maps them. Both are anonymous mappings on 2 MiB boundaries (the
 * range's front, jemalloc's base blocks), which nothing else here makes;
 * /proc/self/maps is read with plain system calls: no allocation. A child
 * forked before the first allocation starts the small path on its own.
 * Neither first malloc changes errno (jemalloc parses its options with
 * errno = 0). */
#include "shim_test.h"

#define SENTINEL 4242 /* errno, unchanged by a malloc that succeeds */

static char maps[1 << 17];

static unsigned long hex(const char **s)
{
	unsigned long value = 0;
	for (;; (*s)++) {
		char c = **s;
		int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (digit < 0)
			return value;
		value = value * 16 + (unsigned long)digit;
	}
}

/* Anonymous mappings (no path) that start and end on 2 MiB boundaries. */
static int aligned_anonymous(void)
{
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0, "open /proc/self/maps: %s", strerror(errno));
	size_t len = 0;
	ssize_t got;
	while (len < sizeof(maps) - 1 && (got = read(fd, maps + len, sizeof(maps) - 1 - len)) > 0)
		len += (size_t)got;
	close(fd);
	maps[len] = '\0';
	int count = 0;
	const unsigned long huge = 2UL << 20;
	for (const char *line = maps; *line;) {
		const char *end = strchr(line, '\n');
		const char *s = line;
		unsigned long start = hex(&s);
		s++;
		unsigned long stop = hex(&s);
		const char *path = memchr(line, '/', (size_t)(end ? end - line : (long)strlen(line)));
		const char *bracket = memchr(line, '[', (size_t)(end ? end - line : (long)strlen(line)));
		if (!path && !bracket && start % huge == 0 && stop % huge == 0)
			count++;
		line = end ? end + 1 : line + strlen(line);
	}
	return count;
}

int main(int argc, char **argv)
{
	(void)argc;
	shim_test_start(argv, NULL);
	int before = aligned_anonymous();
	/* A child forked before the small path starts starts its own. */
	pid_t pid = fork();
	CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		errno = SENTINEL;
		char *q = malloc(40);
		CHECK(errno == SENTINEL, "the child's first small malloc changed errno to %d (%s)", errno, strerror(errno));
		CHECK(q != NULL && aligned_anonymous() > 0, "the child's first malloc did not start the small path");
		free(q);
		_exit(0);
	}
	int status;
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "the child forked before the first allocation failed");
	errno = SENTINEL;
	char *p = malloc(24);
	CHECK(p != NULL, "malloc(24) failed");
	CHECK(errno == SENTINEL, "the first small malloc succeeded but errno is %d (%s)", errno, strerror(errno));
	memset(p, 7, 24);
	int after = aligned_anonymous();
	free(p);
	CHECK(before == 0, "%d mapping(s) of the small path before the first allocation", before);
	CHECK(after > 0, "no mapping of the small path after the first allocation");
	printf("PASS: no mapping of the small path before the first allocation, %d after\n", after);
	return 0;
}
