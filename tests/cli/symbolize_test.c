/* Naming frames on a real ELF file, this test's own binary (built with
 * -g): elf_symbols.c finds the function around an offset and the build-id,
 * symbolize.c adds file:line (addr2line) and refuses a file whose build-id
 * is not the profile's; bad files (not ELF, truncated) give a reason. */
#include <link.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "elf_symbols.h"
#include "profile.h"

static int known_first_line = __LINE__;
__attribute__((noinline)) static int known_site(int x)
{
	volatile int y = x * 3;
	return y + 1;
}
static int known_last_line = __LINE__;

static int first_object(struct dl_phdr_info *info, size_t size, void *bias)
{
	(void)size;
	*(uintptr_t *)bias = info->dlpi_addr;
	return 1; /* the program itself comes first */
}

/* An ELF virtual address inside known_site, as a profile's frame holds. */
static unsigned long long known_offset(void)
{
	uintptr_t bias = 0;
	dl_iterate_phdr(first_object, &bias);
	return (unsigned long long)((uintptr_t)known_site - bias) + 4;
}

static struct prof_frame frame;
static struct prof_site site = {.site = "x", .frames = &frame, .num_frames = 1};
static struct prof_module module = {.name = "symbolize_test"};
static struct profile prof = {.modules = &module, .num_modules = 1, .sites = &site, .num_sites = 1};

static void symbolize(const char *path, const char *build_id, FILE *err)
{
	free(frame.function);
	free(frame.file);
	frame = (struct prof_frame){.module = "symbolize_test", .offset = known_offset()};
	module = (struct prof_module){.name = "symbolize_test", .path = path, .build_id = build_id};
	profile_symbolize(&prof, err, NULL);
}

static void bad_files(const char *self)
{
	char why[256], path[] = "/tmp/symbolize_test.XXXXXX";
	struct elf_file elf;
	int fd = mkstemp(path);
	CHECK(fd >= 0, "mkstemp");
	CHECK(write(fd, "hello, not ELF\n", 15) == 15, "write");
	CHECK(elf_open(path, &elf, why, sizeof(why)) == -1 && strcmp(why, "not an ELF file") == 0, "text file: %s", why);
	/* Every cut of the real file either reads or gives a reason: no crash. */
	FILE *in = fopen(self, "rb");
	CHECK(in != NULL, "open %s", self);
	static char bytes[1 << 16];
	size_t n = fread(bytes, 1, sizeof(bytes), in);
	fclose(in);
	int refused = 0;
	for (size_t cut = 1; cut < n; cut = cut * 3 / 2 + 1) {
		CHECK(ftruncate(fd, 0) == 0 && pwrite(fd, bytes, cut, 0) == (ssize_t)cut, "write %zu bytes", cut);
		if (elf_open(path, &elf, why, sizeof(why)) == 0)
			elf_close(&elf);
		else
			refused++;
	}
	CHECK(refused > 0, "no truncated copy was refused");
	/* Random bytes in the header and the section headers (at the end):
	 * read or refused, never a crash or a read outside the file. */
	struct stat st;
	CHECK(stat(self, &st) == 0, "stat");
	size_t size = (size_t)st.st_size;
	char *whole = malloc(size), *copy = malloc(size);
	in = fopen(self, "rb");
	CHECK(whole && copy && in && fread(whole, 1, size, in) == size, "read %s", self);
	fclose(in);
	srand(7);
	for (int round = 0; round < 300; round++) {
		memcpy(copy, whole, size);
		for (int k = 0; k < 8; k++) {
			size_t at = rand() % 2 ? (size_t)rand() % 64 : size - 1 - (size_t)rand() % (size < 4096 ? size : 4096);
			copy[at] = (char)rand();
		}
		CHECK(ftruncate(fd, 0) == 0 && pwrite(fd, copy, size, 0) == (ssize_t)size, "write");
		if (elf_open(path, &elf, why, sizeof(why)) == 0) {
			for (int k = 0; k < 16; k++)
				elf_lookup(&elf, (unsigned long long)rand() * 16);
			elf_close(&elf);
		}
	}
	free(whole);
	free(copy);
	close(fd);
	unlink(path);
	CHECK(elf_open("/nonexistent/file", &elf, why, sizeof(why)) == -1 && strstr(why, "cannot open"), "%s", why);
}

int main(void)
{
	char self[PATH_MAX];
	CHECK(realpath("/proc/self/exe", self) != NULL, "realpath");
	struct elf_file elf;
	char why[256];
	CHECK(elf_open(self, &elf, why, sizeof(why)) == 0, "%s: %s", self, why);
	CHECK(elf.table && strcmp(elf.table, ".symtab") == 0, "symbol table %s", elf.table ? elf.table : "none");
	CHECK(elf.build_id[0], "no build-id in %s", self);
	CHECK(elf.has_debug_info, "no debug info in %s (built without -g?)", self);
	const struct elf_symbol *sym = elf_lookup(&elf, known_offset() - 1);
	CHECK(sym && strcmp(sym->name, "known_site") == 0, "offset 0x%llx: %s", known_offset(), sym ? sym->name : "nothing");
	CHECK(elf_lookup(&elf, 0) == NULL, "address 0 has a function");
	char build_id[64];
	snprintf(build_id, sizeof(build_id), "%s", elf.build_id);
	elf_close(&elf);

	symbolize(self, build_id, stderr);
	CHECK(frame.function && strcmp(frame.function, "known_site") == 0, "function %s", frame.function);
	CHECK(module.table && !module.warning, "module: %s", module.warning);
	if (system("command -v addr2line >/dev/null 2>&1") != 0) {
		test_skip_dependency("addr2line (binutils) is missing: file:line not checked");
	}
	CHECK(frame.file && strstr(frame.file, "symbolize_test.c"), "file %s", frame.file ? frame.file : "null");
	CHECK(frame.line > known_first_line && frame.line < known_last_line, "line %ld not in %d-%d", frame.line,
	      known_first_line, known_last_line);
	char label[300];
	CHECK(strstr(profile_site_label(&site, label, sizeof(label)), "known_site (symbolize_test.c:"), "label %s", label);
	printf("known_site+4 at 0x%llx: %s (%s:%ld)\n", frame.offset, frame.function, frame.file, frame.line);

	/* Another build: no names at all, a warning instead. */
	FILE *null = fopen("/dev/null", "w");
	symbolize(self, "00112233", null);
	CHECK(!frame.function && !frame.file && module.warning && strstr(module.warning, "build-id differs"),
	      "mismatch: function %s, warning %s", frame.function, module.warning);
	fclose(null);
	bad_files(self);
	return 0;
}
