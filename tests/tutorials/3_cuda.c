/* Tutorial 3: CUDA areas.
 *
 * CUDA areas give memory a GPU can use, through the same three calls as
 * every area: aml_area_mmap(), aml_area_munmap(), aml_area_fprintf().
 * libaml loads the CUDA runtime (libcudart) by itself the first time it is
 * needed; programs do not link it, and on machines without a GPU they
 * still run and are simply told "not supported".
 *
 * Here:
 *   1. the ready-made aml_area_cuda: memory on the GPU. The CPU cannot
 *      touch it, so we copy a buffer there and back with aml_cuda_memcpy();
 *   2. a mapped area: ordinary host memory that the GPU reads directly.
 *      Its pages are placed by a Linux area of our choice (interleaved over
 *      every NUMA node), then pinned for the GPU. What the CPU writes
 *      there, the GPU sees at the memory's device address.
 * Other kinds, by flags of aml_area_cuda_create(): ALLOC_HOST (pinned
 * host memory), ALLOC_UNIFIED (managed memory), see <aml/area/cuda.h>.
 *
 * Build flags: `pkg-config --cflags --libs aml` (or -laml -lnuma -lhwloc).
 * Exit status: 0 when the GPU saw what we wrote, 77 (skipped) without a
 * GPU, 1 otherwise. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <aml.h>
#include <aml/area/cuda.h>
#include <aml/area/linux.h>

#include "check.h"

enum { COUNT = 1 << 20 }; /* one million ints: 4 MiB */

int main(int argc, char **argv)
{
	CHECK(aml_init(&argc, &argv) == AML_SUCCESS, "aml_init");

	/* Is there a usable GPU? This loads libcudart and asks for devices,
	 * silently. aml_cuda_runtime_status() says what was found. */
	if (!aml_support_backends(AML_BACKEND_CUDA))
		test_skip_hardware("no CUDA device (%s)", aml_cuda_runtime_status());
	printf("CUDA: %s\n", aml_cuda_runtime_status());

	const size_t size = COUNT * sizeof(int);
	int *host = malloc(size), *back = malloc(size);
	CHECK(host && back, "malloc");
	for (int i = 0; i < COUNT; i++)
		host[i] = i * 3;

	/* 1. Device memory, on the current device (device 0 unless the
	 * program chose another with cudaSetDevice). The pointer is a GPU
	 * address: only CUDA may read or write it. */
	void *device = aml_area_mmap(&aml_area_cuda, size, NULL);
	if (!device) {
		aml_perror("aml_area_mmap(&aml_area_cuda)");
		return 1;
	}
	aml_area_fprintf(stdout, "default area: ", &aml_area_cuda);
	/* Copies go either way: the direction follows from the pointers. */
	CHECK(aml_cuda_memcpy(device, host, size) == AML_SUCCESS, "host to device");
	memset(back, 0, size);
	CHECK(aml_cuda_memcpy(back, device, size) == AML_SUCCESS, "device to host");
	CHECK(memcmp(back, host, size) == 0, "the round trip changed the data");
	printf("device memory: %zu bytes there and back, unchanged\n", size);

	/* 2. Host memory the GPU can reach. First the area that decides where
	 * its pages go: interleave over every node (NULL mask). */
	struct aml_area *interleave = NULL, *mapped = NULL;
	CHECK(aml_area_linux_create(&interleave, NULL, AML_AREA_LINUX_POLICY_INTERLEAVE) == AML_SUCCESS,
	      "interleave area: %s", aml_strerror(aml_errno));
	/* Then the CUDA area on device 0 taking its memory from it. The pages
	 * are faulted in under the interleave policy before CUDA pins them,
	 * so they stay spread over the nodes. */
	if (aml_area_cuda_mapped_create(&mapped, 0, interleave) != AML_SUCCESS) {
		aml_perror("aml_area_cuda_mapped_create");
		return 1;
	}
	aml_area_fprintf(stdout, "mapped area: ", mapped);

	/* mmap returns a host address: the CPU writes there as usual. */
	int *shared = aml_area_mmap(mapped, size, NULL);
	CHECK(shared != NULL, "mapped memory: %s", aml_strerror(aml_errno));
	for (int i = 0; i < COUNT; i++)
		shared[i] = COUNT - i;

	/* The same memory as the GPU addresses it. A kernel would be given
	 * this pointer; here a copy into device memory reads through it, so
	 * what arrives is what the GPU saw. */
	void *seen_by_gpu = aml_cuda_device_pointer(shared);
	CHECK(seen_by_gpu != NULL, "device address: %s", aml_strerror(aml_errno));
	CHECK(aml_cuda_memcpy(device, seen_by_gpu, size) == AML_SUCCESS, "read by the device");
	memset(back, 0, size);
	CHECK(aml_cuda_memcpy(back, device, size) == AML_SUCCESS, "device to host");
	for (int i = 0; i < COUNT; i++)
		CHECK(back[i] == COUNT - i, "the GPU saw %d at %d, the CPU wrote %d", back[i], i, COUNT - i);
	printf("mapped memory: the GPU saw every value the CPU wrote\n");

	/* Give everything back: munmap with the pointer and size mmap gave,
	 * then destroy the areas we created (not the static one), the CUDA
	 * area before the Linux area it takes its memory from. */
	CHECK(aml_area_munmap(mapped, shared, size) == AML_SUCCESS, "munmap mapped");
	CHECK(aml_area_munmap(&aml_area_cuda, device, size) == AML_SUCCESS, "munmap device");
	aml_area_cuda_destroy(&mapped);
	aml_area_linux_destroy(&interleave);
	free(host);
	free(back);
	aml_finalize();
	return 0;
}
