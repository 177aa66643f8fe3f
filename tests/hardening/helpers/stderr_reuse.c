/* A program started with stderr closed (or that closes it) and then opens
 * its output file, which gets fd 2: the file must hold only what the
 * program wrote, whatever the shim has to say (a report at exit, a
 * warning). Writes "data N" lines to argv[1], allocates through the large
 * path, exits without closing the file. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	close(2);
	int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd != 2)
		return 3; /* the point is that the file takes fd 2 */
	for (int i = 0; i < 3; i++) {
		char line[32];
		int n = snprintf(line, sizeof(line), "data %d\n", i);
		if (write(fd, line, (size_t)n) != n)
			return 4;
		char *p = malloc((size_t)8 << 20);
		if (!p)
			return 5;
		memset(p, i, (size_t)8 << 20);
		free(p);
	}
	return 0; /* exit handlers run with the file still open as fd 2 */
}
