/* What libamlshim.so exports besides the malloc and mmap families. A program
 * may look these up with dlsym(RTLD_DEFAULT, ...) to tell whether it runs
 * under the shim. */
#ifndef AMLSHIM_H
#define AMLSHIM_H

#ifdef __cplusplus
extern "C" {
#endif

#define AMLSHIM_VERSION "0.1.0"

/* The shim's version string. */
const char *amlshim_version(void);
/* Writes the placement report now (text, or JSON when json != 0) to fd.
 * Returns 0, or -1 when the shim is not active. */
int amlshim_write_report(int fd, int json);

#ifdef __cplusplus
}
#endif
#endif
