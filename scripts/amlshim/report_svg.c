/* amlshim report --svg: the heat map of ranks (rows) x NUMA nodes
 * (columns), the colour of a cell its resident pages at peak, each cell's
 * values in a <title> tooltip, axes labelled, a legend. Self-contained:
 * no script, no external font or style. */
#include <errno.h>
#include <string.h>

#include "report_merge.h"

#define CELL_W 64
#define CELL_H 26
#define LEFT 190
#define TOP 74

/* Text for XML: & < > " ' escaped, control bytes dropped. */
static void xml_text(FILE *out, const char *s)
{
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c == '&')
			fputs("&amp;", out);
		else if (*c == '<')
			fputs("&lt;", out);
		else if (*c == '>')
			fputs("&gt;", out);
		else if (*c == '"')
			fputs("&quot;", out);
		else if (*c == '\'')
			fputs("&apos;", out);
		else if (*c >= 0x20 || *c == '\t')
			fputc(*c, out);
	}
}

/* White (0) to dark blue (max). */
static void colour(double f, char *buf, size_t len)
{
	static const int lo[3] = {0xf7, 0xfb, 0xff}, hi[3] = {0x08, 0x30, 0x6b};
	int rgb[3];
	for (int i = 0; i < 3; i++)
		rgb[i] = (int)(lo[i] + (hi[i] - lo[i]) * f + 0.5);
	snprintf(buf, len, "#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
}

int merge_write_svg(const char *path, struct rank_report *const *reports, int count)
{
	int columns[MERGE_MAX_NODES], num_columns = 0;
	long long max = 0;
	for (int n = 0; n < MERGE_MAX_NODES; n++) {
		int seen = 0;
		for (int i = 0; i < count; i++) {
			seen |= reports[i]->has_node[n];
			if (reports[i]->has_node[n] && reports[i]->peak[n] > max)
				max = reports[i]->peak[n];
		}
		if (seen)
			columns[num_columns++] = n;
	}
	FILE *out = fopen(path, "w");
	if (!out) {
		fprintf(stderr, "amlshim report: --svg=%s: cannot write: %s\n", path, strerror(errno));
		return -1;
	}
	int width = LEFT + num_columns * CELL_W + 40, height = TOP + count * CELL_H + 90;
	if (width < 500)
		width = 500; /* the title and the legend */
	fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	             "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
	             "font-family=\"sans-serif\" font-size=\"12\">\n",
	        width, height, width, height);
	fprintf(out, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
	fprintf(out, "<text x=\"10\" y=\"22\" font-size=\"15\" font-weight=\"bold\">Resident pages at peak, "
	             "per rank and NUMA node</text>\n");
	fprintf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-weight=\"bold\">NUMA node</text>\n",
	        LEFT + num_columns * CELL_W / 2, TOP - 30);
	fprintf(out, "<text x=\"14\" y=\"%d\" font-weight=\"bold\" transform=\"rotate(-90 14 %d)\" "
	             "text-anchor=\"middle\">rank (host)</text>\n",
	        TOP + count * CELL_H / 2, TOP + count * CELL_H / 2);
	for (int c = 0; c < num_columns; c++)
		fprintf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%d</text>\n", LEFT + c * CELL_W + CELL_W / 2,
		        TOP - 8, columns[c]);
	for (int i = 0; i < count; i++) {
		const struct rank_report *r = reports[i];
		char label[48];
		merge_rank_label(r, label, sizeof(label));
		int y = TOP + i * CELL_H;
		fprintf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s (", LEFT - 8, y + CELL_H / 2 + 4, label);
		xml_text(out, r->host);
		fputs(")</text>\n", out);
		for (int c = 0; c < num_columns; c++) {
			int n = columns[c], x = LEFT + c * CELL_W;
			char fill[16] = "#dddddd";
			double f = r->has_node[n] && max ? (double)r->peak[n] / (double)max : 0;
			if (r->has_node[n])
				colour(f, fill, sizeof(fill));
			fprintf(out, "<g class=\"cell\" data-rank=\"%lld\" data-pid=\"%lld\" data-node=\"%d\"", r->rank, r->pid, n);
			if (r->has_node[n])
				fprintf(out, " data-peak=\"%lld\" data-exit=\"%lld\"", r->peak[n], r->exit_pages[n]);
			fprintf(out, "><title>%s (host ", label);
			xml_text(out, r->host);
			fprintf(out, ", pid %lld), node %d: ", r->pid, n);
			if (r->has_node[n])
				fprintf(out, "%lld resident pages at peak, %lld at exit", r->peak[n], r->exit_pages[n]);
			else
				fputs("not in this process's report", out);
			fprintf(out, "</title><rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\" stroke=\"white\"/>",
			        x, y, CELL_W, CELL_H, fill);
			if (r->has_node[n])
				fprintf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"10\" fill=\"%s\">%lld</text>",
				        x + CELL_W / 2, y + CELL_H / 2 + 4, f > 0.5 ? "white" : "black", r->peak[n]);
			fputs("</g>\n", out);
		}
	}
	/* The legend: the colour scale from 0 to the largest cell. */
	int ly = TOP + count * CELL_H + 30;
	fprintf(out, "<defs><linearGradient id=\"scale\">");
	for (int s = 0; s <= 4; s++) {
		char stop[16];
		colour(s / 4.0, stop, sizeof(stop));
		fprintf(out, "<stop offset=\"%d%%\" stop-color=\"%s\"/>", s * 25, stop);
	}
	fprintf(out, "</linearGradient></defs>\n");
	fprintf(out, "<g class=\"legend\"><text x=\"10\" y=\"%d\">resident pages at peak:</text>"
	             "<rect x=\"160\" y=\"%d\" width=\"160\" height=\"14\" fill=\"url(#scale)\" stroke=\"#888888\"/>"
	             "<text x=\"160\" y=\"%d\">0</text><text x=\"320\" y=\"%d\" text-anchor=\"end\">%lld</text>"
	             "<rect x=\"10\" y=\"%d\" width=\"14\" height=\"14\" fill=\"#dddddd\"/>"
	             "<text x=\"30\" y=\"%d\">node not in that process's report</text></g>\n",
	        ly + 11, ly, ly + 28, ly + 28, max, ly + 38, ly + 50);
	fputs("</svg>\n", out);
	if (fclose(out) != 0) {
		fprintf(stderr, "amlshim report: --svg=%s: cannot write: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}
