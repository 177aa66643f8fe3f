/* Call-site placement (AMLSHIM_SITES) and profile mode (AMLSHIM_PROFILE)
 * with a helper library built without frame pointers
 * (tests/shim/lib/sites_lib.c, written to a file and dlopened):
 *  - rules: func=sites_lib_outer>sites_lib_alloc with cap=6M takes the
 *    first 4 MiB allocation, spills the second to the size rules (counted
 *    in the report's "sites" entry), takes a third once the first is
 *    freed; func=local_alloc (this program) takes its own; an allocation
 *    below AMLSHIM_SITE_MIN is not captured; the top sites name the
 *    library by its file's base name;
 *  - profile: two runs (two processes, the library at other addresses
 *    under ASLR) write the same MODULE+OFFSET site for the library's
 *    allocation, with its count, bytes and peak live bytes, and a module
 *    entry with the library's path;
 *  - bad values (missing, empty, binary and huge files, a frame with no
 *    module, a bad policy, a bad cap, a bad depth): one line on stderr
 *    naming the variable, and the program runs unchanged. */
#include "shim_test.h"

#define MiB ((size_t)1 << 20)

SHIM_TEST_EMBED(sites_so, "sites_lib.so");

static void *(*lib_outer)(size_t);

/* The library written into dir as libsites_helper.so and loaded. */
static void load_lib(const char *dir)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/libsites_helper.so", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	size_t size = (size_t)(sites_so_end - sites_so_start);
	CHECK(fd >= 0 && write(fd, sites_so_start, size) == (ssize_t)size, "writing %s", path);
	close(fd);
	void *handle = dlopen(path, RTLD_NOW);
	CHECK(handle != NULL, "dlopen(%s): %s", path, dlerror());
	*(void **)&lib_outer = dlsym(handle, "sites_lib_outer");
	CHECK(lib_outer != NULL, "no sites_lib_outer");
}

__attribute__((noipa)) static void *local_alloc(size_t size)
{
	char *buf = malloc(size);
	if (buf)
		buf[0] = 1;
	return buf;
}

static const char *find_site(const char *json, int index)
{
	const char *at = strstr(json, "\"sites\":[");
	for (int i = 0; at && i <= index; i++)
		at = strstr(at + 1, "{\"rule\":");
	CHECK(at != NULL, "no site rule %d in %s", index, json);
	return at;
}

static int in_rules(const char *dir)
{
	load_lib(dir);
	static char json[1 << 16];
	void *a = lib_outer(4 * MiB);
	void *b = lib_outer(4 * MiB); /* 8 MiB > cap=6M: spills */
	void *c = local_alloc(2 * MiB);
	void *d = lib_outer(512 << 10); /* below AMLSHIM_SITE_MIN=1M */
	CHECK(a && b && c && d, "allocations failed");
	shim_test_report(json, sizeof(json), 1);
	const char *rule1 = find_site(json, 0), *rule2 = find_site(json, 1);
	CHECK(shim_test_json_number(rule1, "count") == 1, "rule 1 count: %s", rule1);
	CHECK(shim_test_json_number(rule1, "bytes") == (long)(4 * MiB), "rule 1 bytes: %s", rule1);
	CHECK(shim_test_json_number(rule1, "spills") == 1, "rule 1 spills: %s", rule1);
	CHECK(shim_test_json_number(rule2, "count") == 1, "rule 2 count: %s", rule2);
	CHECK(shim_test_json_number(rule2, "spills") == 0, "rule 2 spills: %s", rule2);
	CHECK(strstr(json, "\"rule\":\"func=sites_lib_outer>sites_lib_alloc = bind:0 cap=6M\""), "rule text: %s", json);
	CHECK(strstr(json, "libsites_helper.so+0x"), "no top site in the library: %s", json);
	free(a);
	void *e = lib_outer(4 * MiB); /* room again */
	shim_test_report(json, sizeof(json), 1);
	rule1 = find_site(json, 0);
	CHECK(shim_test_json_number(rule1, "count") == 2 && shim_test_json_number(rule1, "spills") == 1,
	      "after a free, rule 1: %s", rule1);
	free(b);
	free(c);
	free(d);
	free(e);
	printf("sites rules: ok\n");
	return 0;
}

static int in_profile(const char *dir)
{
	load_lib(dir);
	for (int i = 0; i < 3; i++)
		free(lib_outer(3 * MiB));
	return 0;
}

/* The library's site in a profile: "site" of the entry whose frames
 * start in the library. */
static void lib_site(const char *json, char *site, size_t len)
{
	const char *at = strstr(json, "\"site\": \"");
	for (; at; at = strstr(at + 1, "\"site\": \"")) {
		const char *end = strchr(at + 9, '"');
		const char *lib = strstr(at, "libsites_helper.so+0x");
		if (lib && lib < end) {
			snprintf(site, len, "%.*s", (int)(end - at - 9), at + 9);
			CHECK(test_json_number(at, at + strlen(at), "count") == 3, "count: %.300s", at);
			CHECK(test_json_number(at, at + strlen(at), "bytes") == (long)(9 * MiB), "bytes: %.300s", at);
			CHECK(test_json_number(at, at + strlen(at), "peak_live") == (long)(3 * MiB), "peak: %.300s", at);
			return;
		}
	}
	CHECK(0, "no site in libsites_helper.so in %s", json);
}

static void run_self(const char *mode, const char *dir, const char *const *add, char *err, size_t err_len)
{
	char lib[PATH_MAX], out_path[PATH_MAX], err_path[PATH_MAX];
	CHECK(shim_test_lib_path(lib, sizeof(lib)) == 0, "no libamlshim.so");
	snprintf(out_path, sizeof(out_path), "%s/out", dir);
	snprintf(err_path, sizeof(err_path), "%s/err", dir);
	static const char *const drop[] = {"AMLSHIM_", SHIM_TEST_REEXEC_VAR "=", NULL};
	char **env = test_environment(drop, lib, add, SHIM_TEST_REEXEC_VAR "=1");
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	CHECK(n > 0, "readlink");
	self[n] = '\0';
	char *argv[] = {self, (char *)mode, (char *)dir, NULL};
	int status = shim_test_wait(test_start_program(self, argv, env, out_path, err_path), 120);
	free(env);
	CHECK(status == 0, "%s run exited with %d", mode, status);
	if (err)
		shim_test_read_file(err_path, err, err_len);
}

static void check_profiles(const char *dir)
{
	char var[PATH_MAX + 32], sites[2][1024];
	for (int run = 0; run < 2; run++) {
		snprintf(var, sizeof(var), "AMLSHIM_PROFILE=%s/p%d.json", dir, run);
		const char *add[] = {var, NULL};
		run_self("profile", dir, add, NULL, 0);
		static char json[1 << 18];
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/p%d.json", dir, run);
		CHECK(shim_test_read_file(path, json, sizeof(json)) > 0, "no profile %s", path);
		CHECK(strncmp(json, "{\"amlshim_profile\": 1, \"pid\": ", 30) == 0, "profile: %.200s", json);
		CHECK(strstr(json, "{\"name\": \"libsites_helper.so\", \"path\": \""), "no module entry: %s", json);
		lib_site(json, sites[run], sizeof(sites[run]));
	}
	CHECK(strcmp(sites[0], sites[1]) == 0, "the site differs from run to run: %s, then %s", sites[0], sites[1]);
	printf("site under ASLR: %s\n", sites[0]);
}

static void check_bad(const char *dir, const char *var, const char *file_text, size_t file_len, const char *expect)
{
	char value[PATH_MAX + 64], err[4096] = "";
	if (file_text) {
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/rules", dir);
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		CHECK(fd >= 0 && write(fd, file_text, file_len) == (ssize_t)file_len, "writing %s", path);
		close(fd);
		snprintf(value, sizeof(value), "%s%s", var, path);
	} else {
		snprintf(value, sizeof(value), "%s", var);
	}
	const char *add[] = {value, NULL};
	run_self("plain", dir, add, err, sizeof(err));
	int lines = 0;
	for (const char *c = err; *c; c++)
		lines += *c == '\n';
	CHECK(lines == 1 && strstr(err, expect), "%s: want one line with '%s', got: %s", value, expect, err);
}

static const char *const rules_env[] = {
	"AMLSHIM_SITES=func=sites_lib_outer>sites_lib_alloc = bind:0 cap=6M; func=local_alloc=local",
	"AMLSHIM_SITE_MIN=1M", NULL};

int main(int argc, char **argv)
{
	if (argc > 2 && strcmp(argv[1], "rules") == 0) {
		shim_test_start(argv, rules_env);
		return in_rules(argv[2]);
	}
	if (argc > 2 && strcmp(argv[1], "profile") == 0)
		return in_profile(argv[2]);
	if (argc > 2 && strcmp(argv[1], "plain") == 0) { /* under the shim with a bad value */
		load_lib(argv[2]);
		free(lib_outer(2 * MiB));
		return 0;
	}
	char dir[PATH_MAX], err[4096];
	shim_test_tmpdir(dir, sizeof(dir));
	run_self("rules", dir, rules_env, err, sizeof(err));
	CHECK(err[0] == '\0', "rules run: %s", err);
	check_profiles(dir);
	static char huge[70000];
	memset(huge, '#', sizeof(huge));
	check_bad(dir, "AMLSHIM_SITES=/nonexistent/rules", NULL, 0, "the file cannot be read");
	check_bad(dir, "AMLSHIM_SITES=", "", 0, "is not valid: no rule");
	check_bad(dir, "AMLSHIM_SITES=", "a+0x1=bind:0\n\x7f\x45LF", 17, "binary bytes (byte 13)");
	check_bad(dir, "AMLSHIM_SITES=", huge, sizeof(huge), "more than 64 KiB of rules");
	check_bad(dir, "AMLSHIM_SITES=+0x1a2b=bind:0", NULL, 0, "frame '+0x1a2b' has no module");
	check_bad(dir, "AMLSHIM_SITES=func=f=fastest", NULL, 0, "unknown policy 'fastest'");
	check_bad(dir, "AMLSHIM_SITES=func=f=bind:0 cap=0", NULL, 0, "cap=0 leaves no room");
	check_bad(dir, "AMLSHIM_SITES=func=f = bandwidth+share", NULL, 0,
	          "AMLSHIM_SITES='func=f = bandwidth+share' is not valid: rule 1 'func=f = bandwidth+share': modifier '+share' "
	          "does not apply to a site rule (+share is per size rule, AMLSHIM_POLICY or AMLSHIM_RULES; a site rule takes cap=SIZE)");
	check_bad(dir, "AMLSHIM_SITE_DEPTH=99", NULL, 0, "AMLSHIM_SITE_DEPTH='99' is not valid");
	shim_test_remove_dir(dir);
	printf("sites: ok\n");
	return 0;
}
