/* The report's part on call sites (site_report.c): the site rules with
 * their counts, spills and pages per node, and the top sites seen. */
#ifndef AMLSHIM_SITE_REPORT_H
#define AMLSHIM_SITE_REPORT_H

#include "log.h"

void shim_site_report_text(struct shim_out *out);
/* ",\"sites\":[...],\"top_sites\":[...]" (nothing with no site rule and no profile). */
void shim_site_report_json(struct shim_out *out);

#endif
