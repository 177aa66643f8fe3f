/* A statically linked program (built with -static): LD_PRELOAD cannot
 * reach it, so under the shim it must behave exactly as without. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
	unsigned long sum = 0;
	for (int i = 1; i < 3000; i++) {
		size_t size = (size_t)i * 997 % 2000000 + 1;
		unsigned char *p = malloc(size);
		if (!p)
			return 3;
		memset(p, i, size);
		sum += p[size / 2];
		free(p);
	}
	printf("static program: sum %lu\n", sum);
	return 0;
}
