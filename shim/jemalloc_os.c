/* The private jemalloc's renamed imports (shim/jemalloc-rename.txt): its
 * mappings go to the OS layer, past the shim's mmap, and it reads no
 * configuration meant for the program's own jemalloc. */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/types.h>

#include "os.h"

/* The private jemalloc must not obey MALLOC_CONF or /etc/malloc.conf: they
 * are meant for the program's own jemalloc, and its options are ours. */
char *amlshim_je_os_secure_getenv(const char *name)
{
	(void)name;
	return NULL;
}

ssize_t amlshim_je_os_readlink(const char *path, char *buf, size_t len)
{
	(void)path, (void)buf, (void)len;
	errno = ENOENT;
	return -1;
}

void *amlshim_je_os_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return aml_os_mmap(addr, len, prot, flags, fd, off);
}

int amlshim_je_os_munmap(void *addr, size_t len)
{
	return aml_os_munmap(addr, len);
}
