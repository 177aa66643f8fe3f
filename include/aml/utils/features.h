/* Backend flags and the run-time backend check. */
#ifndef AML_UTILS_FEATURES_H
#define AML_UTILS_FEATURES_H

#ifdef __cplusplus
extern "C" {
#endif

/* Compiled in: every backend is built; CUDA is loaded with dlopen at run time. */
#define AML_HAVE_BACKEND_LIBNUMA 1
#define AML_HAVE_BACKEND_HWLOC 1
#define AML_HAVE_BACKEND_CUDA 1

#define AML_BACKEND_LIBNUMA (1UL << 0)
#define AML_BACKEND_HWLOC (1UL << 1)
#define AML_BACKEND_CUDA (1UL << 2)

/* Returns 1 when every backend named in the mask works on this machine now
 * (LIBNUMA: the kernel has NUMA syscalls; HWLOC: a topology loads; CUDA:
 * libcudart loads and reports at least one usable device), else 0. */
int aml_support_backends(const unsigned long backends);

#ifdef __cplusplus
}
#endif
#endif
