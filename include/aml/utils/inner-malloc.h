/* One allocation holding a struct and its inner structs, as in AML.
 *
 *   struct aml_area *a = AML_INNER_MALLOC(struct aml_area, struct aml_area_ops, struct my_data);
 *   a->ops  = AML_INNER_MALLOC_GET_FIELD(a, 2, struct aml_area, struct aml_area_ops, struct my_data);
 *   a->data = AML_INNER_MALLOC_GET_FIELD(a, 3, struct aml_area, struct aml_area_ops, struct my_data);
 *
 * Every field starts at a max_align_t boundary; the block is zeroed; free() it
 * once. Up to 8 types. */
#ifndef AML_UTILS_INNER_MALLOC_H
#define AML_UTILS_INNER_MALLOC_H

#include <stddef.h>
#include <stdlib.h>

#define AML_INNER_ALIGN _Alignof(max_align_t)
#define AML_ALIGN_SIZE(n) (((size_t)(n) + AML_INNER_ALIGN - 1) & ~(size_t)(AML_INNER_ALIGN - 1))
#define AML_SIZEOF_ALIGNED(type) AML_ALIGN_SIZE(sizeof(type))

/* Argument counting and a map over the types (1 to 8). */
#define AML__NARG(...) AML__NARG_(__VA_ARGS__, 8, 7, 6, 5, 4, 3, 2, 1, 0)
#define AML__NARG_(_1, _2, _3, _4, _5, _6, _7, _8, N, ...) N
#define AML__CAT(a, b) AML__CAT_(a, b)
#define AML__CAT_(a, b) a##b
#define AML__SZ1(T) AML_SIZEOF_ALIGNED(T)
#define AML__SZ2(T, ...) AML_SIZEOF_ALIGNED(T), AML__SZ1(__VA_ARGS__)
#define AML__SZ3(T, ...) AML_SIZEOF_ALIGNED(T), AML__SZ2(__VA_ARGS__)
#define AML__SZ4(T, ...) AML_SIZEOF_ALIGNED(T), AML__SZ3(__VA_ARGS__)
#define AML__SZ5(T, ...) AML_SIZEOF_ALIGNED(T), AML__SZ4(__VA_ARGS__)
#define AML__SZ6(T, ...) AML_SIZEOF_ALIGNED(T), AML__SZ5(__VA_ARGS__)
#define AML__SZ7(T, ...) AML_SIZEOF_ALIGNED(T), AML__SZ6(__VA_ARGS__)
#define AML__SZ8(T, ...) AML_SIZEOF_ALIGNED(T), AML__SZ7(__VA_ARGS__)
/* Aligned sizes of the types as an array literal. */
#define AML__SIZES(...) ((const size_t[]){AML__CAT(AML__SZ, AML__NARG(__VA_ARGS__))(__VA_ARGS__)})

static inline size_t aml__sum_sizes(const size_t *sizes, size_t count)
{
	size_t total = 0;
	for (size_t i = 0; i < count; i++)
		total += sizes[i];
	return total;
}

/* Total size of a block holding all the types. */
#define AML_SIZEOF_ALIGNED_ALL(...) aml__sum_sizes(AML__SIZES(__VA_ARGS__), AML__NARG(__VA_ARGS__))
/* Offset of the N-th (1-based) type inside such a block. */
#define AML_OFFSETOF_ALIGNED(N, ...) aml__sum_sizes(AML__SIZES(__VA_ARGS__), (size_t)(N)-1)

#define AML_INNER_MALLOC(...) calloc(1, AML_SIZEOF_ALIGNED_ALL(__VA_ARGS__))
#define AML_INNER_MALLOC_GET_FIELD(ptr, N, ...) \
	((void *)((char *)(ptr) + AML_OFFSETOF_ALIGNED(N, __VA_ARGS__)))

/* The same block followed by an array of n elements of type ArrT. */
#define AML_INNER_MALLOC_ARRAY(n, ArrT, ...) \
	calloc(1, AML_SIZEOF_ALIGNED_ALL(__VA_ARGS__) + (size_t)(n) * sizeof(ArrT))
#define AML_INNER_MALLOC_GET_ARRAY(ptr, ArrT, ...) \
	((ArrT *)((char *)(ptr) + AML_SIZEOF_ALIGNED_ALL(__VA_ARGS__)))

/* The same block followed by `extra` raw bytes. */
#define AML_INNER_MALLOC_EXTRA(extra, ...) \
	calloc(1, AML_SIZEOF_ALIGNED_ALL(__VA_ARGS__) + (size_t)(extra))
#define AML_INNER_MALLOC_GET_EXTRA(ptr, ...) \
	((void *)((char *)(ptr) + AML_SIZEOF_ALIGNED_ALL(__VA_ARGS__)))

#endif
