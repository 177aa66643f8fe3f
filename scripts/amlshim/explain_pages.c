/* amlshim --explain: a rule's page-size modifier (+thp, +nothp, +huge:SIZE)
 * and what this machine offers it: the THP mode and size, or for huge
 * pages the kernel's pool of that size and its free pages per node (a pool
 * that cannot serve means normal pages, as the shim says at run time). */
#define _GNU_SOURCE
#include <numa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define THP_DIR "/sys/kernel/mm/transparent_hugepage"

/* The first line of a small sysfs file, without its newline; 0 or -1. */
static int read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	int ok = fgets(buf, (int)len, f) != NULL;
	fclose(f);
	buf[ok ? strcspn(buf, "\n") : 0] = '\0';
	return ok ? 0 : -1;
}

/* The bracketed word of a THP mode file ("madvise"), or "unknown". */
static void thp_mode(char *buf, size_t len)
{
	char text[128], *open, *close;
	if (read_line(THP_DIR "/enabled", text, sizeof(text)) != 0 || !(open = strchr(text, '[')) ||
	    !(close = strchr(open, ']'))) {
		snprintf(buf, len, "unknown");
		return;
	}
	snprintf(buf, len, "%.*s", (int)(close - open - 1), open + 1);
}

/* Free pages of the size's pool on node (node < 0: all); -1: no pool. */
static long huge_free(int node, size_t size)
{
	char path[160], text[32];
	if (node < 0)
		snprintf(path, sizeof(path), "/sys/kernel/mm/hugepages/hugepages-%zukB/free_hugepages", size >> 10);
	else
		snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/hugepages/hugepages-%zukB/free_hugepages",
		         node, size >> 10);
	return read_line(path, text, sizeof(text)) == 0 ? atol(text) : -1;
}

void cli_explain_pages(FILE *out, const struct amlshim_placement *p)
{
	char size[24], mode[32], thp[32];
	switch (p->pages) {
	case AMLSHIM_PAGES_THP: {
		long pmd = 0;
		if (read_line(THP_DIR "/hpage_pmd_size", thp, sizeof(thp)) == 0)
			pmd = atol(thp);
		thp_mode(mode, sizeof(mode));
		if (pmd > 0)
			fprintf(out, "      pages: transparent huge pages: blocks aligned to %s, MADV_HUGEPAGE (THP mode %s%s)\n",
			        amlshim_format_size((size_t)pmd, size, sizeof(size)), mode,
			        strcmp(mode, "never") ? "" : ": no huge pages");
		else
			fprintf(out, "      pages: transparent huge pages: this kernel has none (normal pages)\n");
		return;
	}
	case AMLSHIM_PAGES_NOTHP:
		fprintf(out, "      pages: MADV_NOHUGEPAGE (no transparent huge pages)\n");
		return;
	case AMLSHIM_PAGES_HUGETLB:
		break;
	default:
		return;
	}
	amlshim_format_size(p->huge_size, size, sizeof(size));
	if (huge_free(-1, p->huge_size) < 0) {
		fprintf(out, "      pages: the kernel has no %s huge page pool: normal pages\n", size);
		return;
	}
	fprintf(out, "      pages: %s huge pages from the kernel's pool; free now:", size);
	for (int node = 0; node <= numa_max_node(); node++) {
		long free = huge_free(node, p->huge_size);
		if (free >= 0)
			fprintf(out, " node %d: %ld", node, free);
	}
	fprintf(out, " (normal pages where too few are free)\n");
}

void cli_explain_pages_json(FILE *out, const struct amlshim_placement *p)
{
	static const char *const names[] = {"default", "thp", "nothp", "hugetlb"};
	if (p->pages == AMLSHIM_PAGES_DEFAULT || p->pages > AMLSHIM_PAGES_HUGETLB)
		return;
	fprintf(out, ",\"pages\":{\"mode\":\"%s\",\"huge_size\":%zu", names[p->pages],
	        p->pages == AMLSHIM_PAGES_HUGETLB ? p->huge_size : 0);
	if (p->pages == AMLSHIM_PAGES_HUGETLB) {
		int pool = huge_free(-1, p->huge_size) >= 0;
		fprintf(out, ",\"pool\":%s,\"free_per_node\":[", pool ? "true" : "false");
		for (int node = 0, first = 1; pool && node <= numa_max_node(); node++) {
			long free = huge_free(node, p->huge_size);
			if (free >= 0)
				fprintf(out, "%s{\"node\":%d,\"free\":%ld}", first ? "" : ",", node, free);
			first = first && free < 0;
		}
		fputc(']', out);
	}
	fputc('}', out);
}
