/* RTLD_DEEPBIND kept, the malloc family rebound (deepbind_got.c). */
#ifndef AMLSHIM_DEEPBIND_GOT_H
#define AMLSHIM_DEEPBIND_GOT_H

/* 0 where the relocation types are not known: the flag is dropped instead. */
extern const int shim_deepbind_supported;
/* glibc's dlopen (next) of file with flags (RTLD_DEEPBIND among them) on
 * behalf of the code at caller; then the malloc-family references of the
 * objects it loaded that DEEPBIND bound to glibc point at ours. */
void *shim_deepbind_open(void *(*next)(const char *, int), const char *file, int flags, const void *caller);
void shim_deepbind_after_fork_child(void);

#endif
