/* Placement by call site on an unmodified program (tests/vm/programs/
 * sites_three.c: hot() 8 MiB rewritten 40 times, cold() 8 MiB and
 * larger_cold() 32 MiB written once, all kept to the end), started from
 * node 0's CPUs, with func= rules written by hand:
 *   func=hot = bandwidth; func=cold = bind:0; func=larger_cold = bind:0
 * and profile mode at the same time (AMLSHIM_PROFILE). Checked:
 *  - stdout and stderr byte for byte a plain run's;
 *  - the report's site rules each took their one allocation, no spill,
 *    and at exit every page of hot's buffer (2048, each asked with
 *    move_pages) is on node 0's best bandwidth node (node 2 in the 4-node
 *    VM), every page of cold's (2048) and larger_cold's (8192) on node 0;
 *  - the profile measured heat with soft-dirty bits and ranks hot's site
 *    (found through the report's top sites, which name their rule) above
 *    both cold sites;
 *  - profile mode alone (no rule) places nothing: the same output, every
 *    buffer wherever the kernel put it, and a profile with the three sites. */
#include "shim_vm.h"

#define PAGES_8M 2048L
#define PAGES_32M 8192L

/* The long array after "key":[ in from (up to the closing bracket). */
static int json_longs(const char *from, const char *key, long *out, int max)
{
	char pattern[64];
	snprintf(pattern, sizeof(pattern), "\"%s\":[", key);
	const char *at = strstr(from, pattern);
	CHECK(at != NULL, "no %s in %.200s", key, from);
	at += strlen(pattern);
	int n = 0;
	while (*at && *at != ']' && n < max) {
		out[n++] = strtol(at, (char **)&at, 10);
		if (*at == ',')
			at++;
	}
	return n;
}

static const char *site_rule(const char *report, int index)
{
	const char *at = strstr(report, "\"sites\":[");
	for (int i = 0; at && i <= index; i++)
		at = strstr(at + 1, "{\"rule\":");
	CHECK(at != NULL, "no site rule %d in the report", index + 1);
	return at;
}

/* All `pages` of rule `index` on `node`, none elsewhere. */
static void check_rule_pages(const char *report, int index, const char *name, int node, long pages)
{
	const char *rule = site_rule(report, index);
	long per_node[64] = {0};
	int n = json_longs(rule, "pages_exit", per_node, 64);
	CHECK(test_json_number(rule, rule + strlen(rule), "count") == 1, "%s: count: %.300s", name, rule);
	CHECK(test_json_number(rule, rule + strlen(rule), "spills") == 0, "%s: spills: %.300s", name, rule);
	for (int i = 0; i < n; i++)
		CHECK(per_node[i] == (i == node ? pages : 0), "%s: node %d has %ld pages at exit, want %ld (all on node %d)",
		      name, i, per_node[i], i == node ? pages : 0, node);
	CHECK(n > node, "%s: no pages on node %d", name, node);
	printf("%s: %ld pages, all on node %d\n", name, pages, node);
}

/* The site text of the top site that matched rule `rule` (1-based). */
static void site_of_rule(const char *report, int rule, char *site, size_t len)
{
	char want[32];
	snprintf(want, sizeof(want), "\"rule\":%d}", rule);
	for (const char *at = strstr(report, "\"top_sites\":["); at; at = strstr(at + 1, "{\"site\":\"")) {
		const char *end = strchr(at, '}');
		if (end && strncmp(end - strlen(want) + 1, want, strlen(want)) == 0 && strncmp(at, "{\"site\":\"", 9) == 0) {
			const char *quote = strchr(at + 9, '"');
			snprintf(site, len, "%.*s", (int)(quote - at - 9), at + 9);
			return;
		}
	}
	CHECK(0, "no top site of rule %d in the report", rule);
}

/* The heat of `site` in the profile. */
static double heat_of(const char *profile, const char *site)
{
	char key[1100];
	snprintf(key, sizeof(key), "{\"site\": \"%s\"", site);
	const char *at = strstr(profile, key);
	CHECK(at != NULL, "site %s not in the profile", site);
	const char *heat = strstr(at, "\"heat\": ");
	CHECK(heat != NULL && strncmp(heat + 8, "null", 4) != 0, "no heat for %s", site);
	return strtod(heat + 8, NULL);
}

static char *run_profiled(const char *what, char *argv[], const char *rules, const struct shim_vm_run *plain,
                          char **report)
{
	static int serial;
	char profile_path[96], profile_var[128], rules_var[256];
	snprintf(profile_path, sizeof(profile_path), "/tmp/shimvm-sites-%d-%d.json", (int)getpid(), serial++);
	snprintf(profile_var, sizeof(profile_var), "AMLSHIM_PROFILE=%s", profile_path);
	snprintf(rules_var, sizeof(rules_var), "AMLSHIM_SITES=%s", rules ? rules : "");
	char *env[] = {profile_var, rules ? rules_var : NULL, NULL};
	printf("%s: LD_PRELOAD=%s %s %s %s\n", what, shim_vm_lib(), profile_var, rules ? rules_var : "", argv[0]);
	struct shim_vm_run shim = shim_vm_spawn(argv, env, 1);
	shim_vm_print_output("under the shim, stderr", shim.err);
	CHECK(shim.status == 0, "%s: exited with %d", what, shim.status);
	CHECK(strcmp(plain->out, shim.out) == 0, "%s: stdout differs from the plain run's: %s", what, shim.out);
	CHECK(strcmp(plain->err, shim.err) == 0, "%s: stderr differs from the plain run's", what);
	CHECK(shim.report != NULL, "%s: no report", what);
	char *profile = shim_vm_read_file(profile_path);
	CHECK(profile != NULL, "%s: no profile at %s", what, profile_path);
	unlink(profile_path);
	*report = shim.report;
	shim.report = NULL;
	shim_vm_run_free(&shim);
	return profile;
}

int main(void)
{
	vm_start();
	int fast = shim_vm_best_bandwidth_from(0);
	char *argv[] = {(char *)shim_vm_program("sites_three"), "40", NULL};
	vm_run_on_node(0);
	struct shim_vm_run plain = shim_vm_plain_run("sites_three", argv, NULL);

	char *report;
	char *profile = run_profiled("sites_three, func= rules", argv,
	                             "func=hot = bandwidth; func=cold = bind:0; func=larger_cold = bind:0", &plain, &report);
	check_rule_pages(report, 0, "hot (bandwidth)", fast, PAGES_8M);
	check_rule_pages(report, 1, "cold (bind:0)", 0, PAGES_8M);
	check_rule_pages(report, 2, "larger_cold (bind:0)", 0, PAGES_32M);
	CHECK(strstr(profile, "\"heat_method\": \"soft-dirty\""), "no soft-dirty heat: %.300s", profile);
	char sites[3][1024];
	double heat[3];
	for (int r = 0; r < 3; r++) {
		site_of_rule(report, r + 1, sites[r], sizeof(sites[r]));
		heat[r] = heat_of(profile, sites[r]);
		printf("site of rule %d: %s, heat %.3f writes/page/s\n", r + 1, sites[r], heat[r]);
	}
	CHECK(heat[0] > heat[1] && heat[0] > heat[2], "hot's heat %.3f is not above cold's %.3f and larger_cold's %.3f",
	      heat[0], heat[1], heat[2]);
	free(report);
	free(profile);

	/* Profile mode alone: nothing placed, the three sites profiled. */
	profile = run_profiled("sites_three, profile only", argv, NULL, &plain, &report);
	CHECK(!strstr(report, "{\"rule\":"), "a site rule without AMLSHIM_SITES: %s", report);
	for (int r = 0; r < 3; r++)
		CHECK(strstr(profile, sites[r]), "profile only: site %s missing", sites[r]);
	free(report);
	free(profile);
	shim_vm_run_free(&plain);
	printf("shim_sites: ok\n");
	return 0;
}
