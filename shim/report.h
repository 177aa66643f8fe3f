/* The placement report (report.c). */
#ifndef AMLSHIM_REPORT_H
#define AMLSHIM_REPORT_H

int shim_report_write(int fd, int json);
void shim_report_prepare(void); /* phase 2: keep a copy of stderr */
void shim_report_at_exit(void);

#endif
