/* The OS layer's huge pages (declared in os.h): the transparent huge page
 * size, and the kernel's hugetlb pools, their free pages system-wide and
 * per node, read from sysfs with raw reads (no stdio, no malloc: callable
 * inside malloc). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"
#include "os.h"

#define HUGETLB_DIR "/sys/kernel/mm/hugepages"

size_t aml_os_thp_size(void)
{
	char text[32];
	if (aml_os_read_file(AML_OS_THP_DIR "/hpage_pmd_size", text, sizeof(text)) <= 0)
		return 0;
	unsigned long long value = strtoull(text, NULL, 10);
	return (value & (value - 1)) == 0 ? (size_t)value : 0; /* a power of two */
}

long aml_os_huge_free(int node, size_t size)
{
	char path[160];
	if (node < 0)
		snprintf(path, sizeof(path), HUGETLB_DIR "/hugepages-%zukB/free_hugepages", size >> 10);
	else
		snprintf(path, sizeof(path), AML_OS_NODE_DIR "/node%d/hugepages/hugepages-%zukB/free_hugepages",
		         node, size >> 10);
	long free;
	return aml_os_read_long(path, &free) == 0 && free >= 0 ? free : -1;
}

int aml_os_huge_sizes(char *buf, size_t len)
{
	/* The pools' directories are hugepages-<KB>kB; probing the powers of
	 * two from 64K to 16G keeps this free of directory reads. */
	size_t used = 0;
	int count = 0;
	buf[0] = '\0';
	for (size_t size = (size_t)64 << 10; size <= ((size_t)16 << 30); size <<= 1) {
		if (aml_os_huge_free(-1, size) < 0)
			continue;
		count++;
		int n = snprintf(buf + used, len - used, "%s%zu%c", used ? ", " : "",
		                 size >= ((size_t)1 << 30) ? size >> 30 : size >> 20 ? size >> 20 : size >> 10,
		                 size >= ((size_t)1 << 30) ? 'G' : size >> 20 ? 'M' : 'K');
		if (n < 0 || (size_t)n >= len - used)
			break;
		used += (size_t)n;
	}
	return count;
}
