/* An ELF file's function symbols and build-id, read by hand
 * (elf_symbols.c): enough to name the frames of a profile. */
#ifndef AMLSHIM_ELF_SYMBOLS_H
#define AMLSHIM_ELF_SYMBOLS_H

#include <stddef.h>

struct elf_symbol {
	unsigned long long start, size;
	const char *name; /* into the mapped file */
};

struct elf_file {
	void *map;
	size_t len;
	char build_id[64];         /* hex, "" when the file has none */
	const char *table;         /* ".symtab", ".dynsym" or NULL */
	int has_debug_info;        /* a .debug_info/.debug_line section */
	struct elf_symbol *symbols; /* functions, by start */
	size_t count;
};

/* 0, or -1 with a reason (not ELF64 little-endian, cannot open...). */
int elf_open(const char *path, struct elf_file *elf, char *why, size_t why_len);
void elf_close(struct elf_file *elf);
/* The function holding the ELF virtual address addr, or NULL. */
const struct elf_symbol *elf_lookup(const struct elf_file *elf, unsigned long long addr);

#endif
