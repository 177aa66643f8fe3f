/* Profile mode's file (AMLSHIM_PROFILE, %p %r %h expanded): at exit, one
 * JSON object with the modules and, per stack seen at a site-sized
 * allocation, its frames as MODULE+OFFSET (caller first, as AMLSHIM_SITES
 * writes them) and its numbers; `amlshim profile` adds the names. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "fork.h"
#include "init.h"
#include "job_report.h"
#include "log.h"
#include "os.h"
#include "site_modules.h"
#include "site_rules.h"
#include "site_table.h"

/* The profile's path: %p the pid, %r the rank (the pid without one), %h
 * the host, %% a percent sign. 0, or -1 when it does not fit. */
static int expand(const char *pattern, char *path, size_t len)
{
	static const char codes[] = "prh%";
	char pid[24], rank[80], host[256];
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	shim_job_rank_text(rank, sizeof(rank));
	shim_job_host(host, sizeof(host));
	const char *values[] = {pid, rank, host, "%"};
	size_t at = 0;
	for (const char *c = pattern; *c; c++) {
		const char *code = c[0] == '%' && c[1] ? strchr(codes, c[1]) : NULL; /* another %x stays */
		const char *piece = code ? values[code - codes] : c;
		size_t n = code ? strlen(piece) : 1;
		if (at + n >= len)
			return -1;
		memcpy(path + at, piece, n);
		at += n;
		c += code != NULL;
	}
	path[at] = '\0';
	return 0;
}

static double seconds(unsigned long long ns_plus_one)
{
	return ns_plus_one ? (double)(ns_plus_one - 1) / 1e9 : 0.0;
}

static void write_site(struct shim_out *out, const struct shim_site_entry *e, const int *module, int n,
                       unsigned long long now, int first)
{
	char text[SHIM_SITE_TEXT_MAX];
	shim_site_text(e, text, sizeof(text));
	shim_out_put(out, "%s\n  {\"site\": \"%s\", \"frames\": [", first ? "" : ",", text);
	for (int f = n; f-- > 0;) {
		const struct shim_site_module *m = &shim_site_modules.list[module[f]];
		shim_out_put(out, "%s{\"module\": \"%s\", \"offset\": \"0x%lx\"}", f == n - 1 ? "" : ", ", m->name,
		             (unsigned long)(e->frames[f] - m->bias));
	}
	unsigned long live = __atomic_load_n(&e->live, __ATOMIC_RELAXED);
	long long page_ms = e->page_ms + (long long)((live + SHIM_PAGE - 1) / SHIM_PAGE) * (long long)(now / 1000000);
	unsigned long long alive_to = e->live_blocks ? now : e->alive_to_ns;
	shim_out_put(out, "], \"count\": %lu, \"bytes\": %lu, \"largest\": %lu, \"peak_live\": %lu, "
	             "\"byte_seconds\": %.6f, \"first_s\": %.6f, \"last_s\": %.6f, \"alive_from_s\": %.6f, "
	             "\"alive_to_s\": %.6f, \"heat\": ",
	             e->count, e->bytes, e->largest, e->peak_live, (double)page_ms * SHIM_PAGE / 1000.0,
	             seconds(e->first_ns), seconds(e->last_ns), seconds(e->alive_from_ns), seconds(alive_to));
	if (shim_site_heat_method() && e->sampled_pages)
		shim_out_put(out, "%.6f}", (double)e->dirty_pages / (double)e->sampled_pages * 1000.0 /
		                              shim_site_heat_interval_ms());
	else
		shim_out_put(out, "null}");
}

static void write_profile(int fd)
{
	static uint16_t order[SHIM_SITE_SLOTS];
	static char used[SHIM_SITE_MAX_MODULES];
	unsigned long long now = shim_sites_now_ns() + 1;
	int n = shim_site_table_by_bytes(order);
	char host[256];
	shim_job_host(host, sizeof(host));
	struct shim_out out = {.fd = fd};
	shim_out_put(&out, "{\"amlshim_profile\": 1, \"pid\": %d, \"rank\": ", (int)getpid());
	if (shim_process.job.rank >= 0)
		shim_out_put(&out, "%ld", shim_process.job.rank);
	else
		shim_out_put(&out, "null");
	shim_out_put(&out, ", \"host\": ");
	shim_out_json_string(&out, host);
	shim_out_put(&out, ", \"duration_s\": %.6f, \"heat_method\": ", seconds(now));
	const char *method = shim_site_heat_method();
	shim_out_put(&out, method ? "\"%s\"" : "null", method ? method : "");
	shim_out_put(&out, ", \"heat_interval_ms\": %u, \"min_size\": %zu, ", shim_site_heat_interval_ms(),
	             shim_sites.min);
	int module[AMLSHIM_SITE_MAX_DEPTH], written = 0;
	for (int i = 0; i < n; i++)
		for (int f = shim_site_named_frames(&shim_site_table[order[i]], module); f-- > 0;)
			used[module[f]] = 1;
	shim_out_put(&out, "\"modules\": [");
	for (int m = 0; m < shim_site_modules.count; m++) {
		if (!used[m])
			continue;
		const struct shim_site_module *mod = &shim_site_modules.list[m];
		shim_out_put(&out, "%s\n  {\"name\": ", written++ ? "," : "");
		shim_out_json_string(&out, mod->name);
		shim_out_put(&out, ", \"path\": ");
		shim_out_json_string(&out, mod->path);
		shim_out_put(&out, mod->build_id[0] ? ", \"build_id\": \"%s\"}" : ", \"build_id\": null}", mod->build_id);
	}
	shim_out_put(&out, "\n ], \"sites\": [");
	written = 0;
	for (int i = 0; i < n; i++) {
		const struct shim_site_entry *e = &shim_site_table[order[i]];
		int frames = shim_site_named_frames(e, module);
		if (frames)
			write_site(&out, e, module, frames, now, !written++);
	}
	shim_out_put(&out, "\n ]}\n");
	shim_out_flush(&out);
}

void shim_site_profile_write(void)
{
	/* A forked child (that did not exec) holds its parent's counters and
	 * no sampler: the parent writes the profile (a shell's subshells would
	 * otherwise overwrite it). */
	if (!shim_sites.profile || !shim_site_table || shim_process.secure_mode || shim_in_forked_child)
		return;
	static uint16_t order[SHIM_SITE_SLOTS];
	if (shim_site_table_by_bytes(order) == 0)
		return; /* nothing seen (a shell around the program): nothing to overwrite its file with */
	AML_KEEP_ERRNO;
	char path[4096], quoted[AMLSHIM_QUOTE_MAX * 4 + 32];
	if (expand(shim_sites.profile_file, path, sizeof(path)) != 0) {
		shim_log(AMLSHIM_LOG_WARN, "AMLSHIM_PROFILE=%s: the path is too long once expanded; no profile written",
		         amlshim_quote_value(shim_sites.profile_file, quoted, sizeof(quoted)));
		return;
	}
	int fd = aml_os_create_file(path);
	if (fd < 0) {
		shim_log(AMLSHIM_LOG_WARN, "AMLSHIM_PROFILE: cannot write %s: %s",
		         amlshim_quote_value(path, quoted, sizeof(quoted)), strerror(errno));
		return;
	}
	write_profile(fd);
	close(fd);
}

__attribute__((destructor)) static void profile_at_exit(void)
{
	if (__atomic_load_n(&shim_process.state, __ATOMIC_ACQUIRE) == SHIM_READY)
		shim_site_profile_write();
}
