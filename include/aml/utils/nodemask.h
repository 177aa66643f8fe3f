/* Raw node masks, as the kernel's memory-policy calls take them: bit n of
 * an array of unsigned long is node n, up to AML_MAX_NODES nodes. Used by
 * the areas (struct aml_area_linux_data's raw_mask) and by amlshim's
 * policies; walking one by runs ("0-3,6") is shared by both. */
#ifndef AML_UTILS_NODEMASK_H
#define AML_UTILS_NODEMASK_H

/* Highest node number + 1 that node masks of this library (and of the
 * shim's policies) hold. */
#define AML_MAX_NODES 1024
#define AML_NODEMASK_WORD_BITS (8 * sizeof(unsigned long))
#define AML_NODEMASK_WORDS (AML_MAX_NODES / AML_NODEMASK_WORD_BITS)

static inline int aml_nodemask_test(const unsigned long *mask, unsigned node)
{
	return (mask[node / AML_NODEMASK_WORD_BITS] >> (node % AML_NODEMASK_WORD_BITS)) & 1UL;
}

/* The next run of set nodes from *first on: 1 with the run's first node in
 * *first and its last in *last, or 0 when no node is left. The next call
 * starts after the run: *first = *last + 1. */
static inline int aml_nodemask_next_run(const unsigned long *mask, unsigned *first, unsigned *last)
{
	unsigned node = *first;
	while (node < AML_MAX_NODES && !aml_nodemask_test(mask, node))
		node++;
	if (node >= AML_MAX_NODES)
		return 0;
	unsigned end = node;
	while (end + 1 < AML_MAX_NODES && aml_nodemask_test(mask, end + 1))
		end++;
	*first = node;
	*last = end;
	return 1;
}

#endif
