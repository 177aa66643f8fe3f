/* Function names and the build-id of an ELF64 file, read by hand from
 * the mapped file (no libelf): the section headers, the GNU build-id note,
 * .symtab (else .dynsym) with its string table. Every offset is checked
 * against the file's length, so a truncated or hostile file gives a reason,
 * never a crash. */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elf_symbols.h"

/* The bytes [off, off + len) of the file, or NULL when out of it. */
static const void *span(const struct elf_file *elf, unsigned long long off, unsigned long long len)
{
	if (off > elf->len || len > elf->len - off)
		return NULL;
	return (const char *)elf->map + off;
}

static const Elf64_Shdr *section(const struct elf_file *elf, const Elf64_Ehdr *eh, unsigned i)
{
	if (i >= eh->e_shnum || eh->e_shentsize != sizeof(Elf64_Shdr))
		return NULL;
	return span(elf, eh->e_shoff + (unsigned long long)i * sizeof(Elf64_Shdr), sizeof(Elf64_Shdr));
}

/* A NUL-terminated string at off in the string table sh, or NULL. */
static const char *string_at(const struct elf_file *elf, const Elf64_Shdr *sh, unsigned long long off)
{
	const char *s = sh ? span(elf, sh->sh_offset, sh->sh_size) : NULL;
	if (!s || off >= sh->sh_size || !memchr(s + off, '\0', sh->sh_size - off))
		return NULL;
	return s + off;
}

static void read_build_id(struct elf_file *elf, const Elf64_Shdr *sh)
{
	const unsigned char *p = span(elf, sh->sh_offset, sh->sh_size);
	unsigned long long off = 0;
	while (p && off + sizeof(Elf64_Nhdr) <= sh->sh_size) {
		const Elf64_Nhdr *nh = (const void *)(p + off);
		unsigned long long name = off + sizeof(*nh), desc = name + ((nh->n_namesz + 3ull) & ~3ull);
		unsigned long long next = desc + ((nh->n_descsz + 3ull) & ~3ull);
		if (next > sh->sh_size)
			return;
		if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 && memcmp(p + name, "GNU", 4) == 0 &&
		    nh->n_descsz * 2 < sizeof(elf->build_id)) {
			for (unsigned i = 0; i < nh->n_descsz; i++)
				sprintf(elf->build_id + 2 * i, "%02x", p[desc + i]);
			return;
		}
		off = next;
	}
}

static int by_start(const void *a, const void *b)
{
	const struct elf_symbol *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	/* Sized before unsized at one address, then by name: a stable pick. */
	if ((x->size == 0) != (y->size == 0))
		return x->size == 0 ? 1 : -1;
	return strcmp(x->name, y->name);
}

static int read_symbols(struct elf_file *elf, const Elf64_Ehdr *eh, const Elf64_Shdr *sh)
{
	const Elf64_Shdr *strings = section(elf, eh, sh->sh_link);
	const Elf64_Sym *syms = span(elf, sh->sh_offset, sh->sh_size);
	if (!strings || !syms || sh->sh_entsize != sizeof(Elf64_Sym))
		return -1;
	size_t n = sh->sh_size / sizeof(Elf64_Sym);
	elf->symbols = calloc(n ? n : 1, sizeof(*elf->symbols));
	if (!elf->symbols)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int type = ELF64_ST_TYPE(syms[i].st_info);
		if ((type != STT_FUNC && type != STT_GNU_IFUNC) || syms[i].st_shndx == SHN_UNDEF || !syms[i].st_value)
			continue;
		const char *name = string_at(elf, strings, syms[i].st_name);
		if (name && *name)
			elf->symbols[elf->count++] = (struct elf_symbol){syms[i].st_value, syms[i].st_size, name};
	}
	qsort(elf->symbols, elf->count, sizeof(*elf->symbols), by_start);
	return 0;
}

static int parse(struct elf_file *elf, char *why, size_t why_len)
{
	const Elf64_Ehdr *eh = span(elf, 0, sizeof(Elf64_Ehdr));
	if (!eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0) {
		snprintf(why, why_len, "not an ELF file");
		return -1;
	}
	if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB) {
		snprintf(why, why_len, "not a 64-bit little-endian ELF file");
		return -1;
	}
	const Elf64_Shdr *names = section(elf, eh, eh->e_shstrndx);
	const Elf64_Shdr *symtab = NULL, *dynsym = NULL;
	for (unsigned i = 0; i < eh->e_shnum; i++) {
		const Elf64_Shdr *sh = section(elf, eh, i);
		if (!sh) {
			snprintf(why, why_len, "truncated section headers");
			return -1;
		}
		const char *name = string_at(elf, names, sh->sh_name);
		if (sh->sh_type == SHT_SYMTAB && !symtab)
			symtab = sh;
		else if (sh->sh_type == SHT_DYNSYM && !dynsym)
			dynsym = sh;
		else if (sh->sh_type == SHT_NOTE && !elf->build_id[0])
			read_build_id(elf, sh);
		if (name && (strcmp(name, ".debug_info") == 0 || strcmp(name, ".debug_line") == 0) &&
		    sh->sh_type != SHT_NOBITS)
			elf->has_debug_info = 1;
	}
	const Elf64_Shdr *table = symtab ? symtab : dynsym;
	if (table && read_symbols(elf, eh, table) != 0) {
		snprintf(why, why_len, "bad symbol table");
		return -1;
	}
	elf->table = table ? (table == symtab ? ".symtab" : ".dynsym") : NULL;
	return 0;
}

int elf_open(const char *path, struct elf_file *elf, char *why, size_t why_len)
{
	memset(elf, 0, sizeof(*elf));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		snprintf(why, why_len, "cannot open: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || st.st_size <= 0) {
		snprintf(why, why_len, "not a regular file");
		close(fd);
		return -1;
	}
	elf->len = (size_t)st.st_size;
	elf->map = mmap(NULL, elf->len, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (elf->map == MAP_FAILED) {
		elf->map = NULL;
		snprintf(why, why_len, "cannot map: %s", strerror(errno));
		return -1;
	}
	if (parse(elf, why, why_len) != 0) {
		elf_close(elf);
		return -1;
	}
	return 0;
}

void elf_close(struct elf_file *elf)
{
	if (elf->map)
		munmap(elf->map, elf->len);
	free(elf->symbols);
	memset(elf, 0, sizeof(*elf));
}

const struct elf_symbol *elf_lookup(const struct elf_file *elf, unsigned long long addr)
{
	/* The last symbol starting at or before addr... */
	size_t lo = 0, hi = elf->count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (elf->symbols[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* ...or an earlier one whose size still covers it (nested aliases). */
	for (size_t i = lo; i-- > 0;) {
		const struct elf_symbol *s = &elf->symbols[i];
		if (addr < s->start + s->size)
			return s;
		if (s->size == 0 && i + 1 == lo)
			return s; /* unsized (assembly): up to the next symbol */
		if (lo - i > 8)
			break;
	}
	return NULL;
}
