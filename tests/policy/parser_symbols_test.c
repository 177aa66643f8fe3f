/* The parser's objects, as built, call nothing but a few pure string
 * functions (no malloc, no stdio, no getenv: it runs inside malloc during
 * lazy init) and hold no writable state (re-entrant). Checked with nm and
 * size on the objects next to this test: $(BUILD)/policy/. */
#include <limits.h>
#include <unistd.h>

#include "policy_test.h"

static const char *const parser_objects[] = {"parse", "size", "nodes", "placement", "rules", "text", "job", "modifiers", "sites"};

/* Functions the parser may call; anything named amlshim_* must be defined
 * by the parser's own objects (checked below). */
static const char *const allowed_imports[] = {
	"memcpy", "memset", "memmove", "memchr", "memcmp", "strlen", "__stack_chk_fail",
	"_GLOBAL_OFFSET_TABLE_",
};

static int run_lines(const char *command, void (*each)(const char *line, void *ctx), void *ctx)
{
	FILE *pipe = popen(command, "r");
	CHECK(pipe, "popen %s", command);
	char line[512];
	while (fgets(line, sizeof(line), pipe)) {
		line[strcspn(line, "\n")] = '\0';
		each(line, ctx);
	}
	return pclose(pipe);
}

struct symbols {
	char names[256][128];
	int count;
};

static void collect(const char *line, void *ctx)
{
	struct symbols *symbols = ctx;
	CHECK(symbols->count < 256, "too many symbols");
	snprintf(symbols->names[symbols->count], sizeof(symbols->names[0]), "%.*s",
	         (int)strcspn(line, " "), line);
	symbols->count++;
}

static void check_writable_sections(const char *line, void *ctx)
{
	const char *object = ctx;
	char name[128];
	unsigned long bytes;
	if (sscanf(line, "%127s %lu", name, &bytes) != 2)
		return;
	if (strcmp(name, ".data") == 0 || strcmp(name, ".bss") == 0 || strcmp(name, ".tbss") == 0 ||
	    strcmp(name, ".tdata") == 0)
		CHECK(bytes == 0, "%s has %lu bytes of %s: the parser must keep no state", object, bytes, name);
}

int main(void)
{
	char exe[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	CHECK(len > 0, "readlink");
	exe[len] = '\0';
	*strrchr(exe, '/') = '\0'; /* .../tests/policy */
	char dir[PATH_MAX + 32];
	snprintf(dir, sizeof(dir), "%s/../../policy", exe);
	if (system("command -v nm >/dev/null && command -v size >/dev/null") != 0)
		test_skip_dependency("nm and size (binutils) are needed");

	static struct symbols imports, exports;
	for (size_t i = 0; i < sizeof(parser_objects) / sizeof(parser_objects[0]); i++) {
		char path[PATH_MAX + 64], command[2 * PATH_MAX];
		snprintf(path, sizeof(path), "%s/%s.o", dir, parser_objects[i]);
		if (access(path, R_OK) != 0)
			test_skip_dependency("parser object %s not found (run from the build tree)", path);
		snprintf(command, sizeof(command), "nm -u --format=posix '%s'", path);
		CHECK(run_lines(command, collect, &imports) == 0, "%s failed", command);
		snprintf(command, sizeof(command), "nm -g --defined-only --format=posix '%s'", path);
		CHECK(run_lines(command, collect, &exports) == 0, "%s failed", command);
		snprintf(command, sizeof(command), "size -A '%s'", path);
		CHECK(run_lines(command, check_writable_sections, path) == 0, "%s failed", command);
	}

	for (int i = 0; i < imports.count; i++) {
		const char *name = imports.names[i];
		int ok = 0;
		for (size_t a = 0; a < sizeof(allowed_imports) / sizeof(allowed_imports[0]); a++)
			ok |= strcmp(name, allowed_imports[a]) == 0;
		for (int e = 0; !ok && e < exports.count; e++)
			ok |= strcmp(name, exports.names[e]) == 0;
		CHECK(ok, "the parser calls %s", name);
	}
	/* The interface is there (so an empty nm output cannot pass). */
	static const char *const interface[] = {
		"amlshim_policy_parse", "amlshim_parse_size", "amlshim_parse_nodes", "amlshim_parse_placement",
		"amlshim_policy_rule_for", "amlshim_placement_kind_name", "amlshim_format_size",
		"amlshim_quote_value",
	};
	for (size_t i = 0; i < sizeof(interface) / sizeof(interface[0]); i++) {
		int found = 0;
		for (int e = 0; e < exports.count; e++)
			found |= strcmp(interface[i], exports.names[e]) == 0;
		CHECK(found, "%s is not defined by the parser's objects", interface[i]);
	}
	printf("%d imports checked against %d definitions\n", imports.count, exports.count);
	return 0;
}
