/* Error codes and the thread-local aml_errno, as in AML's <aml/utils/error.h>. */
#ifndef AML_UTILS_ERROR_H
#define AML_UTILS_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

#define AML_SUCCESS 0 /* success */
#define AML_FAILURE 1 /* generic failure */
#define AML_ENOMEM 2  /* not enough memory */
#define AML_EINVAL 3  /* invalid argument */
#define AML_EDOM 4    /* argument out of the allowed domain (e.g. a node) */
#define AML_ENOTSUP 5 /* operation or backend not supported */
#define AML_EBUSY 6   /* resource busy */
#define AML_EPERM 7   /* not permitted */
#define AML_ERROR_MAX 8

/* Last error of this thread. Functions returning a pointer set it on failure;
 * functions returning int return -AML_E* and set it too. */
extern __thread int aml_errno;

/* Message for an error code; accepts both AML_E* and -AML_E*. */
const char *aml_strerror(const int err);

/* Prints "msg: <aml_strerror(aml_errno)>" on stderr, like perror(3). */
void aml_perror(const char *msg);

#ifdef __cplusplus
}
#endif
#endif
