/* A program written for AML's area API, built against an installed copy
 * with pkg-config (tests/bats/install.bats): the default Linux area, an
 * interleave area, and a custom area made with AML_INNER_MALLOC. */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <aml.h>
#include <aml/area/linux.h>
struct my_data { int calls; };
static void *my_mmap(const struct aml_area_data *d, size_t size, struct aml_area_mmap_options *o)
{ ((struct my_data *)d)->calls++; return aml_area_mmap(&aml_area_linux, size, o); }
static int my_munmap(const struct aml_area_data *d, void *p, size_t n) { (void)d; return aml_area_munmap(&aml_area_linux, p, n); }
int main(void) {
	void *p = aml_area_mmap(&aml_area_linux, 4096, NULL); memset(p, 1, 4096);
	aml_area_munmap(&aml_area_linux, p, 4096);
	struct aml_area *a; if (aml_area_linux_create(&a, NULL, AML_AREA_LINUX_POLICY_INTERLEAVE)) return 1;
	size_t n = 1 << 20; char *q = aml_area_mmap(a, n, NULL); memset(q, 2, n); aml_area_munmap(a, q, n); aml_area_linux_destroy(&a);
	struct aml_area *c = AML_INNER_MALLOC(struct aml_area, struct aml_area_ops, struct my_data);
	c->ops = AML_INNER_MALLOC_GET_FIELD(c, 2, struct aml_area, struct aml_area_ops, struct my_data);
	c->data = AML_INNER_MALLOC_GET_FIELD(c, 3, struct aml_area, struct aml_area_ops, struct my_data);
	c->ops->mmap = my_mmap; c->ops->munmap = my_munmap;
	void *r = aml_area_mmap(c, 8192, NULL); aml_area_munmap(c, r, 8192);
	printf("ok %d\n", ((struct my_data *)c->data)->calls); free(c); return 0; }
