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

/* The next run of set bits from *first on, among the first bits of mask:
 * 1 with the run's first bit in *first and its last in *last, or 0 when
 * none is left. The next call starts after the run: *first = *last + 1.
 * Node masks take AML_MAX_NODES bits; a CPU set (cpu_set_t) its size. */
static inline int aml_mask_next_run(const unsigned long *mask, unsigned bits, unsigned *first, unsigned *last)
{
	unsigned bit = *first;
	while (bit < bits && !aml_nodemask_test(mask, bit))
		bit++;
	if (bit >= bits)
		return 0;
	unsigned end = bit;
	while (end + 1 < bits && aml_nodemask_test(mask, end + 1))
		end++;
	*first = bit;
	*last = end;
	return 1;
}

static inline int aml_nodemask_next_run(const unsigned long *mask, unsigned *first, unsigned *last)
{
	return aml_mask_next_run(mask, AML_MAX_NODES, first, last);
}

#endif
