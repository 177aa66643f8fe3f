/* The whole call-site loop with the amlshim command, on an unmodified
 * program (tests/vm/programs/sites_three.c: hot() 8 MiB rewritten 40
 * times, cold() 8 MiB and larger_cold() 32 MiB written once), pinned to
 * CPU 0 (node 0):
 *  1. `amlshim profile --output=P -- sites_three 40`: the program's output,
 *     a profile whose heat came from soft-dirty bits, the three sites named
 *     by their functions (.symtab; file:line may be null: no addr2line in
 *     the VM), hot's heat above both cold sites';
 *  2. `amlshim advise P --fast=bandwidth --capacity=12M --output=F` (room
 *     for one 8 MiB buffer): hot chosen, both cold sites rejected, F one
 *     rule, hot's stack, on node 0's best bandwidth node (node 2 with 4
 *     nodes);
 *  3. sites_three under the shim with AMLSHIM_SITES=F (and the size rule
 *     `local` for the rest, so that its pages are counted): stdout and
 *     stderr byte for byte a plain run's; at exit every page of the hot
 *     buffer (2048, each asked with move_pages by the shim's report) on
 *     node 2 and the other 10240 on node 0. */
#include "shim_vm.h"

#define PAGES_8M 2048L
#define PAGES_OTHERS (2048L + 8192L)

static void pin_to_cpu0(void)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	CHECK(sched_setaffinity(0, sizeof(set), &set) == 0, "pin to CPU 0: %s", strerror(errno));
}

static const char *amlshim_bin(void)
{
	static char path[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/../../bin/amlshim", shim_vm_dir());
	CHECK(access(path, X_OK) == 0, "no amlshim command at %s (make-initramfs.sh copies build/bin)", path);
	return path;
}

/* Runs the amlshim command (no preload: it sets it for its child). */
static struct shim_vm_run run_amlshim(const char *what, char *const *argv)
{
	printf("%s:", what);
	for (int i = 0; argv[i]; i++)
		printf(" %s", argv[i]);
	printf("\n");
	struct shim_vm_run run = shim_vm_spawn(argv, NULL, 0);
	shim_vm_print_output("stdout", run.out);
	shim_vm_print_output("stderr", run.err);
	CHECK(run.status == 0, "%s: exited with %d", what, run.status);
	return run;
}

/* The line of the profile's site whose allocating function is `name` (one
 * site per line); its site text into site, its heat returned. */
static double site_named(const char *profile, const char *name, char *site, size_t len)
{
	char key[96];
	snprintf(key, sizeof(key), "\"function\":\"%s\",\"frames\":", name);
	const char *at = strstr(profile, key);
	CHECK(at != NULL, "no site of function %s in the profile", name);
	CHECK(strstr(at + 1, key) == NULL, "two sites of function %s in the profile", name);
	const char *line = at;
	while (line > profile && line[-1] != '\n')
		line--;
	const char *end = strchr(at, '\n');
	CHECK(test_json_string(line, end, "site", site, len) == 0, "no site text for %s", name);
	const char *heat = strstr(at, "\"heat\":");
	CHECK(heat != NULL && (!end || heat < end), "no heat for %s", name);
	CHECK(strncmp(heat + 7, "null", 4) != 0, "heat null for %s: %.*s", name, (int)(end ? end - line : 300), line);
	return strtod(heat + 7, NULL);
}

/* Whether the rule's pages_exit (pages per node, from node 0, the zeros
 * past the last node with pages perhaps left out) is `pages` on `node`
 * and nothing elsewhere. */
static int all_pages_on(const char *rule, int node, long pages)
{
	char want[256];
	int n = snprintf(want, sizeof(want), "\"pages_exit\":[");
	for (int i = 0; i < node; i++)
		n += snprintf(want + n, sizeof(want) - (size_t)n, "0,");
	snprintf(want + n, sizeof(want) - (size_t)n, "%ld", pages);
	const char *at = strstr(rule, want);
	if (!at)
		return 0;
	for (at += strlen(want); strncmp(at, ",0", 2) == 0 && (at[2] == ',' || at[2] == ']');)
		at += 2;
	return *at == ']';
}

/* The report's resident pages on `node` at exit (0 when not listed). */
static long node_pages_exit(const char *report, int node)
{
	char key[48];
	snprintf(key, sizeof(key), "{\"node\":%d,\"resident_pages_exit\":", node);
	const char *at = strstr(report, key);
	return at ? strtol(at + strlen(key), NULL, 10) : 0;
}

int main(void)
{
	struct vm_nodes nodes = vm_start_nodes();
	int fast = shim_vm_best_bandwidth_from(0);
	CHECK(fast != 0, "node 0's best bandwidth node is node 0: the loop needs another");
	pin_to_cpu0();
	char *prog[] = {(char *)shim_vm_program("sites_three"), "40", NULL};
	struct shim_vm_run plain = shim_vm_spawn(prog, NULL, 0);
	shim_vm_print_output("plain run, stdout", plain.out);
	CHECK(plain.status == 0, "plain run: exited with %d", plain.status);

	/* 1. Profile. */
	char profile_path[64], profile_opt[80], sites_path[64], sites_opt[80], sites_var[80];
	snprintf(profile_path, sizeof(profile_path), "/tmp/sites-loop-%d.json", (int)getpid());
	snprintf(sites_path, sizeof(sites_path), "/tmp/sites-loop-%d.conf", (int)getpid());
	snprintf(profile_opt, sizeof(profile_opt), "--output=%s", profile_path);
	snprintf(sites_opt, sizeof(sites_opt), "--output=%s", sites_path);
	snprintf(sites_var, sizeof(sites_var), "AMLSHIM_SITES=%s", sites_path);
	char *profile_argv[] = {(char *)amlshim_bin(), "profile", profile_opt, "--", prog[0], prog[1], NULL};
	struct shim_vm_run run = run_amlshim("profile", profile_argv);
	CHECK(strncmp(run.out, plain.out, strlen(plain.out)) == 0, "profile: the program's output is not first: %s",
	      run.out);
	shim_vm_run_free(&run);
	char *profile = shim_vm_read_file(profile_path);
	CHECK(profile != NULL, "no profile at %s", profile_path);
	CHECK(strstr(profile, "\"heat_method\":\"soft-dirty\""), "no soft-dirty heat: %.300s", profile);
	static const char *const names[3] = {"hot", "cold", "larger_cold"};
	char sites[3][1024];
	double heat[3];
	for (int i = 0; i < 3; i++) {
		heat[i] = site_named(profile, names[i], sites[i], sizeof(sites[i]));
		printf("profile: %s at %s, heat %.3f writes/page/s\n", names[i], sites[i], heat[i]);
	}
	CHECK(heat[0] > heat[1] && heat[0] > heat[2], "hot's heat %.3f is not above cold's %.3f and larger_cold's %.3f",
	      heat[0], heat[1], heat[2]);

	/* 2. Advise: room for one 8 MiB buffer on the best bandwidth node. */
	char *advise_argv[] = {(char *)amlshim_bin(), "advise", profile_path, "--fast=bandwidth", "--capacity=12M",
	                       sites_opt, NULL};
	run = run_amlshim("advise", advise_argv);
	const char *chosen = strstr(run.out, "chosen:\n"), *rejected = strstr(run.out, "rejected:\n");
	CHECK(chosen && rejected && chosen < rejected, "advise: no chosen and rejected lists");
	CHECK(strstr(chosen, "\n  hot ") && strstr(chosen, "\n  hot ") < rejected, "advise: hot not chosen");
	CHECK(strstr(rejected, "\n  cold ") && strstr(rejected, "\n  larger_cold "), "advise: a cold site not rejected");
	shim_vm_run_free(&run);
	char *conf = shim_vm_read_file(sites_path);
	CHECK(conf != NULL, "no sites file at %s", sites_path);
	printf("%s:\n%s", sites_path, conf);
	char want[1100];
	snprintf(want, sizeof(want), "\n%s = preferred:%d\n", sites[0], fast);
	CHECK(strstr(conf, want), "the sites file has no rule %s = preferred:%d", sites[0], fast);
	int rules = 0;
	for (const char *line = conf; *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : line + strlen(line))
		rules += *line != '#' && *line != '\n';
	CHECK(rules == 1, "the sites file has %d rules, want hot's only", rules);

	/* 3. The run with the advised file. */
	char *env[] = {sites_var, "AMLSHIM_POLICY=local", NULL};
	pin_to_cpu0();
	run = shim_vm_spawn(prog, env, 1);
	printf("advised run: %s %s %s\n", sites_var, env[1], prog[0]);
	shim_vm_print_output("advised run, stderr", run.err);
	CHECK(run.status == 0, "advised run: exited with %d", run.status);
	CHECK(strcmp(plain.out, run.out) == 0, "advised run: stdout differs from the plain run's: %s", run.out);
	CHECK(strcmp(plain.err, run.err) == 0, "advised run: stderr differs from the plain run's");
	CHECK(run.report != NULL, "advised run: no report");
	const char *rule = strstr(run.report, "\"sites\":[{\"rule\":");
	CHECK(rule != NULL, "advised run: no site rule in the report: %.500s", run.report);
	CHECK(test_json_number(rule, NULL, "count") == 1 && test_json_number(rule, NULL, "spills") == 0,
	      "advised run: the rule did not take hot's allocation alone: %.400s", rule);
	CHECK(all_pages_on(rule, fast, PAGES_8M), "hot: not all %ld pages on node %d at exit: %.400s", PAGES_8M, fast,
	      strstr(rule, "\"pages_exit\""));
	for (int i = 0; i < nodes.count; i++) {
		long want_pages = i == fast ? PAGES_8M : i == 0 ? PAGES_OTHERS : 0;
		CHECK(node_pages_exit(run.report, i) == want_pages, "node %d holds %ld pages at exit, want %ld", i,
		      node_pages_exit(run.report, i), want_pages);
	}
	printf("advised run: hot's %ld pages all on node %d, the other %ld on node 0, output as the plain run's\n",
	       PAGES_8M, fast, PAGES_OTHERS);
	shim_vm_run_free(&run);
	unlink(profile_path);
	unlink(sites_path);
	free(profile);
	free(conf);
	shim_vm_run_free(&plain);
	printf("shim_sites_loop: ok\n");
	return 0;
}
