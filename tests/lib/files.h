/* Files for the tests: whole files read into memory, private temporary
 * directories. */
#ifndef AML_TESTS_FILES_H
#define AML_TESTS_FILES_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Reads a whole file into buf (NUL-terminated); returns its length or -1.
 * No malloc (read(2)). */
long shim_test_read_file(const char *path, char *buf, size_t len);
/* A whole file, NUL-terminated (malloc'ed), or NULL when it cannot be
 * opened; a read error fails the test. */
char *shim_vm_read_file(const char *path);
/* A fresh private directory under $TMPDIR or /tmp (remove it with
 * shim_test_remove_dir); path in buf. */
void shim_test_tmpdir(char *buf, size_t len);
/* Removes the files of dir and dir itself. */
void shim_test_remove_dir(const char *dir);

#ifdef __cplusplus
}
#endif

#endif
