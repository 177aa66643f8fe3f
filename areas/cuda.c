/* Placeholder until the CUDA area lands: no device. */
#define _GNU_SOURCE
#include <aml/area/cuda.h>
int aml_cuda_device_count(void) { return 0; }
