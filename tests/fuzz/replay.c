/* Replays a fuzz target's seed corpus (tests/fuzz/corpus/TARGET/) and its
 * regression inputs (tests/fuzz/regressions/TARGET/: every crash a fuzzer
 * ever found) through LLVMFuzzerTestOneInput, in a gcc build with
 * ASan+UBSan, so they run in every `make check` even without clang. Files
 * given as arguments are replayed instead. Exit 0, or the crash. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	CHECK(f != NULL, "open %s", path);
	static uint8_t buf[1 << 20];
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	/* A copy of exactly n bytes: ASan sees reads past the input. */
	uint8_t *copy = malloc(n ? n : 1);
	CHECK(copy != NULL, "malloc");
	memcpy(copy, buf, n);
	LLVMFuzzerTestOneInput(copy, n);
	free(copy);
	return 1;
}

static int replay_dir(const char *dir, int required)
{
	DIR *d = opendir(dir);
	if (!d) {
		CHECK(!required, "no directory %s", dir);
		return 0;
	}
	int count = 0;
	struct dirent *entry;
	while ((entry = readdir(d))) {
		if (entry->d_name[0] == '.' || strcmp(entry->d_name, "README") == 0)
			continue;
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", dir, entry->d_name);
		count += replay_file(path);
	}
	closedir(d);
	return count;
}

int main(int argc, char **argv)
{
	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			replay_file(argv[i]);
		printf("%d inputs replayed\n", argc - 1);
		return 0;
	}
	int corpus = replay_dir(FUZZ_CORPUS, 1);
	CHECK(corpus > 0, "empty seed corpus %s", FUZZ_CORPUS);
	int regressions = replay_dir(FUZZ_REGRESSIONS, 0);
	printf("%d corpus inputs and %d regression inputs replayed (%s)\n", corpus, regressions, FUZZ_CORPUS);
	return 0;
}
