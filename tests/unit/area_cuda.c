/* CUDA area, in three parts.
 *
 * 1. libaml as built. The first CUDA call of the process happens with
 *    stdout/stderr captured: the library must print nothing. Without a GPU:
 *    the backend is reported absent, 0 devices, every create is
 *    -AML_ENOTSUP (fast: timed), argument errors come first (-AML_EINVAL on
 *    any machine), the static area and helpers refuse cleanly, errno is
 *    kept. With a GPU: every kind of memory, host writes read back through
 *    the device, the current device restored, mapped pages on the host
 *    area's node, CUDA refused in a forked child.
 * 2. The loader (areas/cuda_runtime.c, compiled into this test): library
 *    names that do not exist, or a library that is not libcudart, load
 *    nothing and print nothing; the real candidates agree with libaml.
 * 3. The area (areas/cuda.c, compiled in again under other names) against
 *    a fake runtime of 3 "devices" backed by host memory: which CUDA call
 *    each flag makes with which flags on which device, the current device
 *    restored on every path, failures leaking nothing, the registry of
 *    caller memory, populate-before-register and NUMA placement, threads.
 *
 * Without a GPU, parts 1-3 run and the test exits 77 for the real-device
 * checks it could not do. */
#include <errno.h>
#include <numaif.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <aml.h>
#include <aml/area/cuda.h>
#include <aml/area/linux.h>
#include "check.h"

/* The loader's code, to drive it with other library names (part 2) and to
 * reach the real runtime's current device from here (part 1, GPU). It has
 * no exported symbol, so nothing here replaces libaml's copy. */
#include "../../areas/cuda_runtime.c"

#define F_HOST AML_AREA_CUDA_FLAG_ALLOC_HOST
#define F_UNIFIED AML_AREA_CUDA_FLAG_ALLOC_UNIFIED
#define F_MAPPED AML_AREA_CUDA_FLAG_ALLOC_MAPPED
#define F_GLOBAL AML_AREA_CUDA_FLAG_ALLOC_GLOBAL

static const int valid_flags[] = {
	AML_AREA_CUDA_FLAG_DEFAULT, F_HOST, F_HOST | F_GLOBAL, F_HOST | F_MAPPED,
	F_HOST | F_MAPPED | F_GLOBAL, F_MAPPED, F_MAPPED | F_GLOBAL, F_UNIFIED, F_UNIFIED | F_GLOBAL,
};
#define NUM_VALID (sizeof(valid_flags) / sizeof(valid_flags[0]))
static const int invalid_flags[] = {
	1 << 4, 1 << 30, -1, F_GLOBAL, F_UNIFIED | F_HOST, F_UNIFIED | F_MAPPED,
	F_UNIFIED | F_HOST | F_MAPPED | F_GLOBAL,
};
#define NUM_INVALID (sizeof(invalid_flags) / sizeof(invalid_flags[0]))

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* fds 1 and 2 go to a temporary file between capture_start and
 * capture_stop, which returns how many bytes were written there. */
static int saved_stdout = -1, saved_stderr = -1;
static FILE *capture_file;

static void capture_start(void)
{
	fflush(stdout);
	fflush(stderr);
	capture_file = tmpfile();
	CHECK(capture_file != NULL, "tmpfile");
	saved_stdout = dup(1);
	saved_stderr = dup(2);
	CHECK(saved_stdout >= 0 && saved_stderr >= 0, "dup");
	CHECK(dup2(fileno(capture_file), 1) == 1 && dup2(fileno(capture_file), 2) == 2, "dup2");
}

static long capture_stop(char *text, size_t len)
{
	fflush(stdout);
	fflush(stderr);
	dup2(saved_stdout, 1);
	dup2(saved_stderr, 2);
	close(saved_stdout);
	close(saved_stderr);
	struct stat st;
	CHECK(fstat(fileno(capture_file), &st) == 0, "fstat");
	rewind(capture_file);
	size_t got = fread(text, 1, len - 1, capture_file);
	text[got] = '\0';
	fclose(capture_file);
	return (long)st.st_size;
}

static char *describe(const struct aml_area *area)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	CHECK(out != NULL, "open_memstream");
	aml_area_fprintf(out, "> ", area);
	fclose(out);
	return text;
}

/* ---- Part 1: libaml, no GPU ------------------------------------------- */

struct no_cuda_results {
	double first_create_ms, next_create_us;
	int first_ret, first_errno, errno_kept;
	int backend, count;
	int valid_ret[NUM_VALID][3], valid_errno[NUM_VALID][3], valid_area_null[NUM_VALID][3];
	int invalid_ret[NUM_INVALID], invalid_errno[NUM_INVALID];
	int null_area_ret, mapped_ret, mapped_null_ret, mapped_cuda_host_ret;
	void *static_mmap;
	int static_mmap_errno, static_munmap_ret, memcpy_ret, memcpy_errno;
	void *device_ptr;
	int device_ptr_errno;
	int static_destroy_cleared;
};

/* Every call made while the output is captured; checked afterwards. */
static void run_no_cuda_calls(struct no_cuda_results *r)
{
	struct aml_area *area = (struct aml_area *)&r; /* not NULL: create must clear it */
	errno = EEXIST;
	double t0 = now_ms();
	r->first_ret = aml_area_cuda_create(&area, 0, AML_AREA_CUDA_FLAG_DEFAULT); /* loads CUDA */
	r->first_create_ms = now_ms() - t0;
	r->first_errno = aml_errno;
	r->errno_kept = errno == EEXIST && area == NULL;
	enum { REPEAT = 1000 };
	t0 = now_ms();
	for (int i = 0; i < REPEAT; i++)
		if (aml_area_cuda_create(&area, 0, AML_AREA_CUDA_FLAG_DEFAULT) == AML_SUCCESS)
			aml_area_cuda_destroy(&area); /* with a GPU */
	r->next_create_us = (now_ms() - t0) * 1e3 / REPEAT;

	r->backend = aml_support_backends(AML_BACKEND_CUDA);
	r->count = aml_cuda_device_count();
	const int devices[3] = {0, -1, 7};
	for (size_t i = 0; i < NUM_VALID; i++)
		for (int d = 0; d < 3; d++) {
			area = (struct aml_area *)&r;
			aml_errno = 0;
			r->valid_ret[i][d] = aml_area_cuda_create(&area, devices[d], valid_flags[i]);
			r->valid_errno[i][d] = aml_errno;
			r->valid_area_null[i][d] = area == NULL;
			aml_area_cuda_destroy(&area);
		}
	for (size_t i = 0; i < NUM_INVALID; i++) {
		aml_errno = 0;
		r->invalid_ret[i] = aml_area_cuda_create(&area, 0, invalid_flags[i]);
		r->invalid_errno[i] = aml_errno;
	}
	r->null_area_ret = aml_area_cuda_create(NULL, 0, AML_AREA_CUDA_FLAG_DEFAULT);
	r->mapped_ret = aml_area_cuda_mapped_create(&area, 0, &aml_area_linux);
	aml_area_cuda_destroy(&area);
	r->mapped_null_ret = aml_area_cuda_mapped_create(&area, 0, NULL);
	aml_area_cuda_destroy(&area);
	r->mapped_cuda_host_ret = aml_area_cuda_mapped_create(&area, 0, &aml_area_cuda);

	aml_errno = 0;
	r->static_mmap = aml_area_mmap(&aml_area_cuda, 4096, NULL);
	r->static_mmap_errno = aml_errno;
	r->static_munmap_ret = aml_area_munmap(&aml_area_cuda, (void *)4096, 4096);
	char a[16] = "source", b[16];
	aml_errno = 0;
	r->memcpy_ret = aml_cuda_memcpy(b, a, sizeof(a));
	r->memcpy_errno = aml_errno;
	aml_errno = 0;
	r->device_ptr = aml_cuda_device_pointer(a);
	r->device_ptr_errno = aml_errno;
	aml_area_cuda_destroy(NULL);
	aml_area_cuda_destroy(&area);
	area = &aml_area_cuda;
	aml_area_cuda_destroy(&area); /* must not free the static area */
	r->static_destroy_cleared = area == NULL;
}

static void check_no_cuda(const struct no_cuda_results *r)
{
	CHECK_EQ(r->first_ret, -AML_ENOTSUP);
	CHECK_EQ(r->first_errno, AML_ENOTSUP);
	CHECK(r->errno_kept, "create must leave errno alone and clear *area");
	/* The probe's cost is printed, not judged: on a shared, loaded machine
	 * a timed check fails for reasons of its own (speed belongs in the
	 * benchmark). */
	CHECK_EQ(r->backend, 0);
	CHECK_EQ(r->count, 0);
	for (size_t i = 0; i < NUM_VALID; i++)
		for (int d = 0; d < 3; d++) {
			CHECK(r->valid_ret[i][d] == -AML_ENOTSUP && r->valid_errno[i][d] == AML_ENOTSUP,
			      "flags 0x%x device #%d: %d (aml_errno %d)", valid_flags[i], d,
			      r->valid_ret[i][d], r->valid_errno[i][d]);
			CHECK(r->valid_area_null[i][d], "failed create leaves *area NULL");
		}
	CHECK_EQ(r->mapped_ret, -AML_ENOTSUP);
	CHECK_EQ(r->mapped_null_ret, -AML_ENOTSUP);
	CHECK(r->static_mmap == NULL, "static area mmap without CUDA");
	CHECK_EQ(r->static_mmap_errno, AML_ENOTSUP);
	CHECK_EQ(r->static_munmap_ret, -AML_ENOTSUP);
	CHECK_EQ(r->memcpy_ret, -AML_ENOTSUP);
	CHECK_EQ(r->memcpy_errno, AML_ENOTSUP);
	CHECK(r->device_ptr == NULL && r->device_ptr_errno == AML_ENOTSUP, "device pointer without CUDA");
	const char *status = aml_cuda_runtime_status();
	CHECK(strstr(status, "no CUDA runtime") || strstr(status, "no usable CUDA device") ||
	      strstr(status, "no CUDA device"), "status: %s", status);
}

/* Argument errors are the same with and without CUDA. */
static void check_argument_errors(const struct no_cuda_results *r)
{
	for (size_t i = 0; i < NUM_INVALID; i++)
		CHECK(r->invalid_ret[i] == -AML_EINVAL && r->invalid_errno[i] == AML_EINVAL,
		      "flags 0x%x: %d", invalid_flags[i], r->invalid_ret[i]);
	CHECK_EQ(r->null_area_ret, -AML_EINVAL);
	CHECK_EQ(r->mapped_cuda_host_ret, -AML_EINVAL);
	CHECK(r->static_destroy_cleared, "destroying the static area clears the pointer only");
}

/* Descriptions need no CUDA. */
static void check_fprintf(void)
{
	char *text = describe(&aml_area_cuda);
	CHECK(strcmp(text, "> area-cuda: current device, device memory (flags 0x0)\n") == 0, "%s", text);
	free(text);
	struct aml_area_cuda_data data = {.device = 1, .flags = F_MAPPED, .host_area = &aml_area_linux};
	struct aml_area mapped = {.ops = &aml_area_cuda_ops, .data = (struct aml_area_data *)&data};
	text = describe(&mapped);
	CHECK(strcmp(text, "> area-cuda: device 1, host memory registered for the device (flags 0x4)\n"
	                   ">   host memory from area-linux: policy default, nodes all\n") == 0, "%s", text);
	free(text);
	data.host_area = NULL;
	text = describe(&mapped);
	CHECK(strstr(text, ">   host memory: anonymous, kernel default placement\n"), "%s", text);
	free(text);
	data.flags = F_UNIFIED | F_GLOBAL;
	data.device = -1;
	text = describe(&mapped);
	CHECK(strstr(text, "current device, managed memory, attached globally"), "%s", text);
	free(text);
	data.flags = F_UNIFIED | F_HOST;
	text = describe(&mapped);
	CHECK(strstr(text, "invalid flags"), "%s", text);
	free(text);
}

/* ---- Part 1: libaml, with a GPU ---------------------------------------- */

static struct aml_cudart real_rt; /* the runtime libaml loaded, opened again */

static int current_device(void)
{
	int device = -1;
	CHECK_EQ(real_rt.get_device(&device), 0);
	return device;
}

static void fill(void *buf, size_t size, unsigned seed)
{
	for (size_t i = 0; i < size; i++)
		((unsigned char *)buf)[i] = (unsigned char)(i * 31 + seed);
}

static void expect_filled(const void *buf, size_t size, unsigned seed, const char *what)
{
	for (size_t i = 0; i < size; i++)
		CHECK(((const unsigned char *)buf)[i] == (unsigned char)(i * 31 + seed),
		      "%s: byte %zu differs", what, i);
}

/* Host bytes -> memory at dst (any kind) -> a device buffer -> back. */
static void round_trip_through_device(void *memory, size_t size, unsigned seed, const char *what)
{
	unsigned char *host = malloc(size), *back = calloc(1, size);
	fill(host, size, seed);
	void *device = aml_area_mmap(&aml_area_cuda, size, NULL);
	CHECK(device != NULL, "%s: device buffer: %s", what, aml_strerror(aml_errno));
	CHECK_EQ(aml_cuda_memcpy(memory, host, size), AML_SUCCESS);
	CHECK_EQ(aml_cuda_memcpy(device, memory, size), AML_SUCCESS);
	CHECK_EQ(aml_cuda_memcpy(back, device, size), AML_SUCCESS);
	expect_filled(back, size, seed, what);
	CHECK_EQ(aml_area_munmap(&aml_area_cuda, device, size), AML_SUCCESS);
	free(host);
	free(back);
}

/* Host writes into mapped memory, read by the device at device_ptr. */
static void check_seen_by_device(void *host_ptr, void *device_ptr, size_t size, unsigned seed,
                                 const char *what)
{
	fill(host_ptr, size, seed);
	unsigned char *back = calloc(1, size);
	void *device = aml_area_mmap(&aml_area_cuda, size, NULL);
	CHECK(device != NULL, "%s: device buffer", what);
	CHECK_EQ(aml_cuda_memcpy(device, device_ptr, size), AML_SUCCESS); /* read via the mapping */
	CHECK_EQ(aml_cuda_memcpy(back, device, size), AML_SUCCESS);
	expect_filled(back, size, seed, what);
	CHECK_EQ(aml_area_munmap(&aml_area_cuda, device, size), AML_SUCCESS);
	free(back);
}

static void check_gpu(int count)
{
	const size_t size = 4 << 20;
	CHECK_EQ(aml_support_backends(AML_BACKEND_CUDA), 1);
	CHECK(cudart_open(cudart_candidates, &real_rt) != NULL, "libcudart reopened");
	CHECK_EQ(real_rt.set_device(0), 0);
	const int last = count - 1;

	/* Static area: device memory on the current device. */
	void *p = aml_area_mmap(&aml_area_cuda, size, NULL);
	CHECK(p != NULL, "static area: %s", aml_strerror(aml_errno));
	round_trip_through_device(p, size, 1, "device memory");
	CHECK_EQ(aml_area_munmap(&aml_area_cuda, p, size), AML_SUCCESS);

	struct aml_area *area;
	CHECK_EQ(aml_area_cuda_create(&area, count, AML_AREA_CUDA_FLAG_DEFAULT), -AML_EDOM);
	/* Every kind, on the last device, with device 0 current. */
	for (size_t i = 0; i < NUM_VALID; i++) {
		const int flags = valid_flags[i];
		CHECK_EQ(aml_area_cuda_create(&area, last, flags), AML_SUCCESS);
		CHECK_EQ(current_device(), 0);
		char *text = describe(area);
		printf("%s", text);
		free(text);
		if (flags & F_MAPPED && !(flags & F_HOST)) {
			/* Registers caller memory: mmap returns its device address. */
			void *mine = aligned_alloc(test_page_size(), size);
			struct aml_area_cuda_mmap_options opts = {.device = -1, .ptr = mine};
			void *dev = aml_area_mmap(area, size, (struct aml_area_mmap_options *)&opts);
			CHECK(dev != NULL, "register: %s", aml_strerror(aml_errno));
			CHECK_EQ(current_device(), 0);
			CHECK(aml_cuda_device_pointer(mine) == dev, "device pointer of registered memory");
			check_seen_by_device(mine, dev, size, 2, "registered caller memory");
			check_seen_by_device(mine, dev, size, 3, "registered caller memory, rewritten");
			CHECK(aml_area_mmap(area, size, (struct aml_area_mmap_options *)&opts) == NULL,
			      "registering twice");
			CHECK_EQ(aml_errno, AML_EBUSY);
			CHECK_EQ(aml_area_munmap(area, dev, size), AML_SUCCESS);
			CHECK_EQ(current_device(), 0);
			memset(mine, 0, size); /* still the caller's */
			free(mine);
		}
		p = aml_area_mmap(area, size, NULL);
		CHECK(p != NULL, "flags 0x%x: %s", flags, aml_strerror(aml_errno));
		CHECK_EQ(current_device(), 0);
		if (flags & F_MAPPED) {
			void *dev = aml_cuda_device_pointer(p);
			CHECK(dev != NULL, "mapped memory has a device address");
			check_seen_by_device(p, dev, size, 4, "mapped memory");
		} else {
			round_trip_through_device(p, size, 5, "memory of an area");
		}
		CHECK_EQ(aml_area_munmap(area, p, size), AML_SUCCESS);
		CHECK_EQ(current_device(), 0);
		aml_area_cuda_destroy(&area);
	}
	/* And the other way: last device current, area on device 0. */
	CHECK_EQ(real_rt.set_device(last), 0);
	CHECK_EQ(aml_area_cuda_create(&area, 0, AML_AREA_CUDA_FLAG_DEFAULT), AML_SUCCESS);
	p = aml_area_mmap(area, size, NULL);
	CHECK(p != NULL, "device 0 from device %d", last);
	CHECK_EQ(current_device(), last);
	CHECK_EQ(aml_area_munmap(area, p, size), AML_SUCCESS);
	CHECK_EQ(current_device(), last);
	aml_area_cuda_destroy(&area);
	CHECK_EQ(real_rt.set_device(0), 0);

	/* Mapped memory placed by a host area: every page on its node. */
	int nodes[64];
	int num_nodes = test_allowed_nodes(nodes, 64);
	struct bitmask *mask = numa_allocate_nodemask();
	numa_bitmask_setbit(mask, (unsigned)nodes[num_nodes - 1]);
	struct aml_area *bound;
	CHECK_EQ(aml_area_linux_create(&bound, mask, AML_AREA_LINUX_POLICY_BIND), AML_SUCCESS);
	CHECK_EQ(aml_area_cuda_mapped_create(&area, last, bound), AML_SUCCESS);
	p = aml_area_mmap(area, size, NULL);
	CHECK(p != NULL, "mapped on node %d: %s", nodes[num_nodes - 1], aml_strerror(aml_errno));
	size_t pages = size / test_page_size();
	int *where = calloc(pages, sizeof(int));
	CHECK_EQ(test_pages_nodes(p, size, where), 0);
	for (size_t i = 0; i < pages; i++)
		CHECK(where[i] == nodes[num_nodes - 1], "page %zu on node %d", i, where[i]);
	check_seen_by_device(p, aml_cuda_device_pointer(p), size, 6, "mapped, bound memory");
	CHECK_EQ(aml_area_munmap(area, p, size), AML_SUCCESS);
	free(where);
	aml_area_cuda_destroy(&area);
	aml_area_linux_destroy(&bound);
	numa_bitmask_free(mask);

	/* A child forked after CUDA started cannot use it: refused, not hung. */
	fflush(stdout);
	pid_t child = fork();
	CHECK(child >= 0, "fork");
	if (child == 0) {
		struct aml_area *in_child = NULL;
		int refused = aml_cuda_device_count() == 0 &&
		              aml_area_cuda_create(&in_child, 0, AML_AREA_CUDA_FLAG_DEFAULT) == -AML_ENOTSUP &&
		              aml_area_mmap(&aml_area_cuda, 4096, NULL) == NULL && aml_errno == AML_ENOTSUP &&
		              strstr(aml_cuda_runtime_status(), "forked") != NULL;
		_exit(refused ? 0 : 1);
	}
	int status = 0;
	CHECK(waitpid(child, &status, 0) == child, "waitpid");
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "CUDA must be refused in a forked child");
	CHECK_EQ(aml_cuda_device_count(), count); /* the parent keeps it */
	printf("gpu: %d device(s) checked with every kind of area\n", count);
}

/* ---- Part 2: the loader -------------------------------------------------- */

static void check_loader(void)
{
	struct aml_cudart rt;
	memset(&rt, 0xff, sizeof(rt));
	char text[256];
	capture_start();
	const char *absent[] = {"libaml-test-no-such-cudart.so", "/nonexistent/lib/libcudart.so", NULL};
	const char *opened_absent = cudart_open(absent, &rt);
	struct aml_cudart zero;
	memset(&zero, 0, sizeof(zero));
	int zeroed = memcmp(&rt, &zero, sizeof(rt)) == 0;
	/* A real library that is not libcudart: opened, found wanting, closed. */
	const char *impostor[] = {"libm.so.6", NULL};
	const char *opened_impostor = cudart_open(impostor, &rt);
	long printed = capture_stop(text, sizeof(text));
	CHECK(opened_absent == NULL && zeroed, "nonexistent libraries must load nothing");
	CHECK(opened_impostor == NULL, "libm is not a CUDA runtime");
	CHECK(printed == 0, "the loader printed %ld bytes: %s", printed, text);

	/* The real candidates: the same verdict as libaml's. */
	const char *name = cudart_open(cudart_candidates, &rt);
	if (!name) {
		CHECK_EQ(aml_cuda_device_count(), 0);
		CHECK(strncmp(aml_cuda_runtime_status(), "no CUDA runtime", 15) == 0, "%s",
		      aml_cuda_runtime_status());
		printf("loader: no libcudart on this machine\n");
	} else {
		aml_cudart_error error;
		int count = cudart_probe(&rt, &error);
		CHECK_EQ(count, aml_cuda_device_count());
		if (count == 0)
			CHECK(error == AML_CUDART_ERROR_INSUFFICIENT_DRIVER || error == AML_CUDART_ERROR_STUB_LIBRARY ||
			      error == AML_CUDART_ERROR_NO_DEVICE || error == AML_CUDART_SUCCESS,
			      "no device, cudaGetDeviceCount error %u", error);
		printf("loader: %s, %d device(s), probe error %u\n", name, count, error);
	}

	struct { aml_cudart_error cuda; int aml; } errors[] = {
		{0, AML_SUCCESS}, {1, AML_EINVAL}, {2, AML_ENOMEM}, {3, AML_FAILURE}, {17, AML_EINVAL},
		{34, AML_ENOTSUP}, {35, AML_ENOTSUP}, {46, AML_EBUSY}, {100, AML_ENOTSUP},
		{101, AML_EDOM}, {712, AML_EBUSY}, {713, AML_EINVAL}, {801, AML_ENOTSUP},
		{803, AML_ENOTSUP}, {804, AML_ENOTSUP}, {999, AML_FAILURE}, {12345, AML_FAILURE},
	};
	for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++)
		CHECK(aml_cudart_error_to_aml(errors[i].cuda) == errors[i].aml, "CUDA error %u", errors[i].cuda);
}

/* ---- Part 3: the area against a fake runtime ----------------------------- */

/* A second copy of the area, under other names so libaml's stays in use
 * by everything above. os.c and area_parts.c bring the hidden aml_os_*
 * and aml_area_* helpers it calls. */
#undef _GNU_SOURCE
#include "../../areas/os.c"
#undef _GNU_SOURCE
#include "../../areas/area_parts.c"
#define aml_area_cuda fake_area_cuda
#define aml_area_cuda_ops fake_area_cuda_ops
#define aml_area_cuda_create fake_area_cuda_create
#define aml_area_cuda_mapped_create fake_area_cuda_mapped_create
#define aml_area_cuda_destroy fake_area_cuda_destroy
#define aml_area_cuda_mmap fake_area_cuda_mmap
#define aml_area_cuda_munmap fake_area_cuda_munmap
#define aml_area_cuda_fprintf fake_area_cuda_fprintf
#define aml_cuda_memcpy fake_cuda_memcpy
#define aml_cuda_device_pointer fake_cuda_device_pointer
#define aml_cuda_device_count fake_cuda_device_count
#define aml_cuda_runtime_status fake_cuda_runtime_status
#undef _GNU_SOURCE
#include "../../areas/cuda.c"
#undef _GNU_SOURCE
#include "../../areas/cuda_create.c"
#undef _GNU_SOURCE
#include "../../areas/cuda_calls.c"
#undef aml_area_cuda
#undef aml_area_cuda_ops
#undef aml_area_cuda_create
#undef aml_area_cuda_mapped_create
#undef aml_area_cuda_destroy
#undef aml_area_cuda_mmap
#undef aml_area_cuda_munmap
#undef aml_area_cuda_fprintf
#undef aml_cuda_memcpy
#undef aml_cuda_device_pointer
#undef aml_cuda_device_count
#undef aml_cuda_runtime_status

#define FAKE_DEVICES 3
/* Where the fake puts "device addresses" of mapped memory: distinct from
 * the host address, as without unified addressing, and above every user
 * address (non-canonical), so a host dereference would fault. */
#define FAKE_DEVICE_OFFSET ((uintptr_t)1 << 47)

enum fake_kind { FAKE_DEVICE_MEMORY, FAKE_HOST_ALLOC, FAKE_MANAGED, FAKE_REGISTERED };
struct fake_block {
	int live;
	enum fake_kind kind;
	char *ptr;
	size_t size;
	unsigned int flags;
	int device;        /* current device when allocated/registered */
	int freed_on;      /* current device when released */
	int all_resident;  /* registered: every page was present already */
};
#define FAKE_BLOCKS 1024
static struct fake_block fake_blocks[FAKE_BLOCKS];
static pthread_mutex_t fake_lock = PTHREAD_MUTEX_INITIALIZER;
static __thread int fake_current;
static int fake_set_device_calls;
static int fake_can_map = 1, fake_managed = 1, fake_register_supported = 1, fake_register_attr_known = 1;
static char *fake_last_registered;

/* Failure injection: the call of `fake_fail_what` after `fake_fail_after`
 * successful ones returns fake_fail_error (once). */
enum { FN_NONE, FN_SET_DEVICE, FN_MALLOC, FN_FREE, FN_HOST_REGISTER, FN_GET_DEVICE_POINTER };
static int fake_fail_what = FN_NONE, fake_fail_after;
static aml_cudart_error fake_fail_error;

static void fake_fail(int what, int after, aml_cudart_error error)
{
	fake_fail_what = what;
	fake_fail_after = after;
	fake_fail_error = error;
}

static int fake_fails(int what, aml_cudart_error *error)
{
	if (fake_fail_what != what)
		return 0;
	if (fake_fail_after-- > 0)
		return 0;
	fake_fail_what = FN_NONE;
	*error = fake_fail_error;
	return 1;
}

static struct fake_block *fake_find(const void *ptr, int kind_mask)
{
	for (int i = 0; i < FAKE_BLOCKS; i++)
		if (fake_blocks[i].live && fake_blocks[i].ptr == ptr && (kind_mask & (1 << fake_blocks[i].kind)))
			return &fake_blocks[i];
	return NULL;
}

static struct fake_block *fake_last_block; /* last one added */

static void fake_add(enum fake_kind kind, void *ptr, size_t size, unsigned int flags)
{
	for (int i = 0; i < FAKE_BLOCKS; i++)
		if (!fake_blocks[i].live) {
			fake_blocks[i] = (struct fake_block){.live = 1, .kind = kind, .ptr = ptr, .size = size,
			                                     .flags = flags, .device = fake_current, .freed_on = -1};
			fake_last_block = &fake_blocks[i];
			return;
		}
	CHECK(0, "fake: too many blocks");
}

static int fake_live_blocks(void)
{
	int live = 0;
	for (int i = 0; i < FAKE_BLOCKS; i++)
		live += fake_blocks[i].live;
	return live;
}

static aml_cudart_error fake_get_device_count(int *count)
{
	*count = FAKE_DEVICES;
	return AML_CUDART_SUCCESS;
}

static aml_cudart_error fake_get_device(int *device)
{
	*device = fake_current;
	return AML_CUDART_SUCCESS;
}

static aml_cudart_error fake_set_device(int device)
{
	aml_cudart_error error;
	if (fake_fails(FN_SET_DEVICE, &error))
		return error;
	if (device < 0 || device >= FAKE_DEVICES)
		return AML_CUDART_ERROR_INVALID_DEVICE;
	__atomic_add_fetch(&fake_set_device_calls, 1, __ATOMIC_RELAXED);
	fake_current = device;
	return AML_CUDART_SUCCESS;
}

static aml_cudart_error fake_allocate(enum fake_kind kind, void **ptr, size_t size, unsigned int flags)
{
	aml_cudart_error error;
	pthread_mutex_lock(&fake_lock);
	if (fake_fails(FN_MALLOC, &error)) {
		pthread_mutex_unlock(&fake_lock);
		return error;
	}
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(p != MAP_FAILED, "fake mmap");
	fake_add(kind, p, size, flags);
	pthread_mutex_unlock(&fake_lock);
	*ptr = p;
	return AML_CUDART_SUCCESS;
}

static aml_cudart_error fake_release(void *ptr, int kind_mask)
{
	aml_cudart_error error;
	pthread_mutex_lock(&fake_lock);
	struct fake_block *b = fake_find(ptr, kind_mask);
	if (fake_fails(FN_FREE, &error) || !b) {
		pthread_mutex_unlock(&fake_lock);
		return b ? error : AML_CUDART_ERROR_INVALID_VALUE;
	}
	b->live = 0;
	b->freed_on = fake_current;
	munmap(b->ptr, b->size);
	pthread_mutex_unlock(&fake_lock);
	return AML_CUDART_SUCCESS;
}

static aml_cudart_error fake_malloc_device(void **ptr, size_t size)
{
	return fake_allocate(FAKE_DEVICE_MEMORY, ptr, size, 0);
}

static aml_cudart_error fake_free_device(void *ptr)
{
	return fake_release(ptr, 1 << FAKE_DEVICE_MEMORY | 1 << FAKE_MANAGED);
}

static aml_cudart_error fake_host_alloc(void **ptr, size_t size, unsigned int flags)
{
	return fake_allocate(FAKE_HOST_ALLOC, ptr, size, flags);
}

static aml_cudart_error fake_free_host(void *ptr)
{
	return fake_release(ptr, 1 << FAKE_HOST_ALLOC);
}

static aml_cudart_error fake_malloc_managed(void **ptr, size_t size, unsigned int flags)
{
	return fake_allocate(FAKE_MANAGED, ptr, size, flags);
}

static int fake_resident(const void *ptr, size_t size)
{
	size_t page = test_page_size(), pages = (size + page - 1) / page;
	unsigned char *vec = malloc(pages);
	int all = mincore((void *)ptr, size, vec) == 0;
	for (size_t i = 0; all && i < pages; i++)
		all = vec[i] & 1;
	free(vec);
	return all;
}

static aml_cudart_error fake_host_register(void *ptr, size_t size, unsigned int flags)
{
	aml_cudart_error error;
	pthread_mutex_lock(&fake_lock);
	if (fake_fails(FN_HOST_REGISTER, &error)) {
		fake_last_registered = ptr;
		pthread_mutex_unlock(&fake_lock);
		return error;
	}
	for (int i = 0; i < FAKE_BLOCKS; i++) {
		struct fake_block *b = &fake_blocks[i];
		if (b->live && b->kind == FAKE_REGISTERED && (char *)ptr < b->ptr + b->size &&
		    b->ptr < (char *)ptr + size) {
			pthread_mutex_unlock(&fake_lock);
			return AML_CUDART_ERROR_HOST_MEMORY_ALREADY_REGISTERED;
		}
	}
	fake_add(FAKE_REGISTERED, ptr, size, flags);
	fake_last_block->all_resident = fake_resident(ptr, size);
	fake_last_registered = ptr;
	pthread_mutex_unlock(&fake_lock);
	return AML_CUDART_SUCCESS;
}

static aml_cudart_error fake_host_unregister(void *ptr)
{
	pthread_mutex_lock(&fake_lock);
	struct fake_block *b = fake_find(ptr, 1 << FAKE_REGISTERED);
	if (b) {
		b->live = 0;
		b->freed_on = fake_current;
	}
	pthread_mutex_unlock(&fake_lock);
	return b ? AML_CUDART_SUCCESS : AML_CUDART_ERROR_HOST_MEMORY_NOT_REGISTERED;
}

/* The block holding host address p that the device can reach, or NULL. */
static struct fake_block *fake_mapped_block(const char *p)
{
	for (int i = 0; i < FAKE_BLOCKS; i++) {
		struct fake_block *b = &fake_blocks[i];
		int mapped = b->kind == FAKE_REGISTERED ||
		             (b->kind == FAKE_HOST_ALLOC && (b->flags & AML_CUDART_HOST_ALLOC_MAPPED));
		if (b->live && mapped && p >= b->ptr && p < b->ptr + b->size)
			return b;
	}
	return NULL;
}

static aml_cudart_error fake_host_get_device_pointer(void **device_ptr, void *host_ptr, unsigned int flags)
{
	aml_cudart_error error;
	pthread_mutex_lock(&fake_lock);
	int ok = flags == 0 && fake_mapped_block(host_ptr) && !fake_fails(FN_GET_DEVICE_POINTER, &error);
	pthread_mutex_unlock(&fake_lock);
	if (!ok)
		return AML_CUDART_ERROR_INVALID_VALUE;
	*device_ptr = (char *)host_ptr + FAKE_DEVICE_OFFSET;
	return AML_CUDART_SUCCESS;
}

/* Device addresses of mapped memory back to host ones, as a copy engine would. */
static const void *fake_translate(const void *p)
{
	if ((uintptr_t)p < FAKE_DEVICE_OFFSET)
		return p;
	const char *host = (const char *)p - FAKE_DEVICE_OFFSET;
	return fake_mapped_block(host) ? host : NULL;
}

static aml_cudart_error fake_copy(void *dst, const void *src, size_t size, unsigned int kind)
{
	if (kind != AML_CUDART_MEMCPY_DEFAULT)
		return AML_CUDART_ERROR_INVALID_VALUE;
	pthread_mutex_lock(&fake_lock);
	void *to = (void *)fake_translate(dst);
	const void *from = fake_translate(src);
	pthread_mutex_unlock(&fake_lock);
	if (!to || !from)
		return AML_CUDART_ERROR_INVALID_VALUE;
	memcpy(to, from, size);
	return AML_CUDART_SUCCESS;
}

static const char *fake_get_error_string(aml_cudart_error error)
{
	(void)error;
	return "fake error";
}

static aml_cudart_error fake_device_get_attribute(int *value, unsigned int attribute, int device)
{
	if (device < 0 || device >= FAKE_DEVICES)
		return AML_CUDART_ERROR_INVALID_DEVICE;
	switch (attribute) {
	case AML_CUDART_DEV_ATTR_CAN_MAP_HOST_MEMORY: *value = fake_can_map; break;
	case AML_CUDART_DEV_ATTR_MANAGED_MEMORY: *value = fake_managed; break;
	case AML_CUDART_DEV_ATTR_HOST_REGISTER_SUPPORTED:
		if (!fake_register_attr_known)
			return AML_CUDART_ERROR_INVALID_VALUE;
		*value = fake_register_supported;
		break;
	default: return AML_CUDART_ERROR_INVALID_VALUE;
	}
	return AML_CUDART_SUCCESS;
}

static const struct aml_cudart fake_runtime = {
	.get_device_count = fake_get_device_count,
	.get_device = fake_get_device,
	.set_device = fake_set_device,
	.malloc_device = fake_malloc_device,
	.free_device = fake_free_device,
	.host_alloc = fake_host_alloc,
	.free_host = fake_free_host,
	.malloc_managed = fake_malloc_managed,
	.host_register = fake_host_register,
	.host_unregister = fake_host_unregister,
	.host_get_device_pointer = fake_host_get_device_pointer,
	.copy = fake_copy,
	.get_error_string = fake_get_error_string,
	.device_get_attribute = fake_device_get_attribute,
	.device_count = FAKE_DEVICES,
};

static void loaded_already(void) {}

/* The compiled-in loader's once-state now says: this runtime was found. */
static void fake_install(void)
{
	pthread_once(&cudart_once, loaded_already);
	cudart_usable = &fake_runtime;
}

static int unmapped(const void *ptr)
{
	unsigned char vec;
	return mincore((void *)ptr, 1, &vec) != 0 && errno == ENOMEM;
}

static void check_fake_create(void)
{
	struct aml_area *area;
	CHECK_EQ(fake_cuda_device_count(), FAKE_DEVICES);
	CHECK_EQ(fake_area_cuda_create(&area, FAKE_DEVICES, 0), -AML_EDOM);
	CHECK(area == NULL, "EDOM leaves NULL");
	CHECK_EQ(aml_errno, AML_EDOM);
	CHECK_EQ(fake_area_cuda_create(&area, 0, F_GLOBAL), -AML_EINVAL);
	CHECK_EQ(fake_area_cuda_create(&area, 0, 1 << 5), -AML_EINVAL);
	fake_can_map = 0;
	CHECK_EQ(fake_area_cuda_create(&area, 1, F_MAPPED), -AML_ENOTSUP);
	CHECK_EQ(fake_area_cuda_create(&area, 1, F_HOST | F_MAPPED), -AML_ENOTSUP);
	CHECK_EQ(fake_area_cuda_mapped_create(&area, 1, NULL), -AML_ENOTSUP);
	CHECK_EQ(fake_area_cuda_create(&area, 1, F_HOST), AML_SUCCESS); /* pinned needs no mapping */
	fake_area_cuda_destroy(&area);
	fake_can_map = 1;
	fake_managed = 0;
	CHECK_EQ(fake_area_cuda_create(&area, 2, F_UNIFIED), -AML_ENOTSUP);
	fake_managed = 1;
	fake_register_supported = 0;
	CHECK_EQ(fake_area_cuda_create(&area, 2, F_MAPPED), -AML_ENOTSUP);
	fake_register_supported = 1;
	fake_register_attr_known = 0; /* an old driver: registration assumed */
	CHECK_EQ(fake_area_cuda_create(&area, 2, F_MAPPED), AML_SUCCESS);
	fake_area_cuda_destroy(&area);
	CHECK(area == NULL, "destroy clears the pointer");
	fake_register_attr_known = 1;
	struct aml_area no_munmap_ops_area;
	struct aml_area_ops no_munmap = {.mmap = aml_area_linux_mmap};
	no_munmap_ops_area = (struct aml_area){.ops = &no_munmap, .data = aml_area_linux.data};
	CHECK_EQ(fake_area_cuda_mapped_create(&area, 0, &no_munmap_ops_area), -AML_EINVAL);
	CHECK_EQ(fake_area_cuda_mapped_create(&area, 0, &fake_area_cuda), -AML_EINVAL);
}

/* Each kind: the call made, its flags, the device, the device restored. */
static void check_fake_kinds(void)
{
	static const struct {
		int flags;
		enum fake_kind kind;
		unsigned int cuda_flags;
	} cases[] = {
		{0, FAKE_DEVICE_MEMORY, 0},
		{F_HOST, FAKE_HOST_ALLOC, AML_CUDART_HOST_ALLOC_DEFAULT},
		{F_HOST | F_GLOBAL, FAKE_HOST_ALLOC, AML_CUDART_HOST_ALLOC_PORTABLE},
		{F_HOST | F_MAPPED, FAKE_HOST_ALLOC, AML_CUDART_HOST_ALLOC_MAPPED},
		{F_HOST | F_MAPPED | F_GLOBAL, FAKE_HOST_ALLOC,
		 AML_CUDART_HOST_ALLOC_MAPPED | AML_CUDART_HOST_ALLOC_PORTABLE},
		{F_UNIFIED, FAKE_MANAGED, AML_CUDART_MEM_ATTACH_HOST},
		{F_UNIFIED | F_GLOBAL, FAKE_MANAGED, AML_CUDART_MEM_ATTACH_GLOBAL},
		{F_MAPPED, FAKE_REGISTERED, AML_CUDART_HOST_REGISTER_MAPPED | AML_CUDART_HOST_REGISTER_PORTABLE},
		{F_MAPPED | F_GLOBAL, FAKE_REGISTERED,
		 AML_CUDART_HOST_REGISTER_MAPPED | AML_CUDART_HOST_REGISTER_PORTABLE},
	};
	const size_t size = 16 * test_page_size();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* device 2 with 0 current; then "current device" (-1) with 1 current. */
		const int devices[2] = {2, -1}, currents[2] = {0, 1};
		for (int d = 0; d < 2; d++) {
			const int expect = devices[d] >= 0 ? devices[d] : currents[d];
			fake_current = currents[d];
			struct aml_area *area;
			CHECK_EQ(fake_area_cuda_create(&area, devices[d], cases[i].flags), AML_SUCCESS);
			char *p = aml_area_mmap(area, size, NULL);
			CHECK(p != NULL, "flags 0x%x: %s", cases[i].flags, aml_strerror(aml_errno));
			CHECK_EQ(fake_current, currents[d]);
			struct fake_block *b = fake_find(p, 1 << cases[i].kind);
			CHECK(b != NULL, "flags 0x%x: wrong CUDA call", cases[i].flags);
			CHECK(b->flags == cases[i].cuda_flags, "flags 0x%x: CUDA flags 0x%x, want 0x%x",
			      cases[i].flags, b->flags, cases[i].cuda_flags);
			CHECK(b->device == expect, "flags 0x%x: on device %d, want %d", cases[i].flags,
			      b->device, expect);
			CHECK_EQ(b->size, size);
			if (cases[i].kind == FAKE_REGISTERED)
				CHECK(b->all_resident, "mapped memory must be populated before registration");
			memset(p, 0x5a, size); /* host-reachable in the fake, whatever the kind */
			CHECK_EQ(aml_area_munmap(area, p, size), AML_SUCCESS);
			CHECK(!b->live && b->freed_on == expect, "released on device %d, want %d", b->freed_on, expect);
			CHECK_EQ(fake_current, currents[d]);
			if (cases[i].kind == FAKE_REGISTERED)
				CHECK(unmapped(p), "our mapped memory is unmapped after munmap");
			CHECK_EQ(fake_live_blocks(), 0);
			fake_area_cuda_destroy(&area);
		}
	}
	fake_current = 0;
}

static void check_fake_options_and_failures(void)
{
	const size_t size = 4 * test_page_size();
	struct aml_area *area;
	CHECK_EQ(fake_area_cuda_create(&area, 0, AML_AREA_CUDA_FLAG_DEFAULT), AML_SUCCESS);
	fake_current = 2;
	struct aml_area_cuda_mmap_options opts = {.device = 1, .ptr = NULL};
	void *p = aml_area_mmap(area, size, (struct aml_area_mmap_options *)&opts);
	CHECK(p != NULL && fake_last_block->device == 1, "options.device chooses the device");
	CHECK_EQ(fake_current, 2);
	CHECK_EQ(aml_area_munmap(area, p, size), AML_SUCCESS);
	opts.device = -1;
	p = aml_area_mmap(area, size, (struct aml_area_mmap_options *)&opts);
	CHECK(p != NULL && fake_last_block->device == 0, "options.device < 0: the area's");
	CHECK_EQ(aml_area_munmap(area, p, size), AML_SUCCESS);
	opts.device = FAKE_DEVICES;
	CHECK(aml_area_mmap(area, size, (struct aml_area_mmap_options *)&opts) == NULL, "device out of range");
	CHECK_EQ(aml_errno, AML_EDOM);
	char buf[64];
	opts = (struct aml_area_cuda_mmap_options){.device = -1, .ptr = buf};
	CHECK(aml_area_mmap(area, size, (struct aml_area_mmap_options *)&opts) == NULL, "ptr on a device area");
	CHECK_EQ(aml_errno, AML_EINVAL);
	CHECK_EQ(fake_current, 2);

	/* Failures: the error mapped, the device restored, nothing left behind. */
	fake_fail(FN_MALLOC, 0, AML_CUDART_ERROR_MEMORY_ALLOCATION);
	CHECK(aml_area_mmap(area, size, NULL) == NULL, "injected cudaMalloc failure");
	CHECK_EQ(aml_errno, AML_ENOMEM);
	CHECK_EQ(fake_current, 2);
	fake_fail(FN_SET_DEVICE, 0, AML_CUDART_ERROR_DEVICES_UNAVAILABLE);
	CHECK(aml_area_mmap(area, size, NULL) == NULL, "device cannot be selected");
	CHECK_EQ(aml_errno, AML_EBUSY);
	CHECK_EQ(fake_current, 2);
	fake_fail(FN_SET_DEVICE, 1, AML_CUDART_ERROR_INITIALIZATION); /* the restore fails */
	CHECK(aml_area_mmap(area, size, NULL) == NULL, "restoring the device failed: no memory returned");
	CHECK_EQ(aml_errno, AML_FAILURE);
	CHECK_EQ(fake_live_blocks(), 0);
	fake_current = 2;
	p = aml_area_mmap(area, size, NULL);
	CHECK(p != NULL, "after the failures");
	fake_fail(FN_FREE, 0, AML_CUDART_ERROR_INVALID_VALUE);
	CHECK_EQ(aml_area_munmap(area, p, size), -AML_EINVAL);
	CHECK_EQ(fake_current, 2);
	CHECK_EQ(aml_area_munmap(area, p, size), AML_SUCCESS);
	CHECK_EQ(fake_area_cuda_munmap(area->data, NULL, size), AML_SUCCESS);
	fake_area_cuda_destroy(&area);

	/* Mapped memory whose registration fails is unmapped again. */
	CHECK_EQ(fake_area_cuda_mapped_create(&area, 1, NULL), AML_SUCCESS);
	fake_fail(FN_HOST_REGISTER, 0, AML_CUDART_ERROR_NOT_SUPPORTED);
	CHECK(aml_area_mmap(area, size, NULL) == NULL, "injected cudaHostRegister failure");
	CHECK_EQ(aml_errno, AML_ENOTSUP);
	CHECK(unmapped(fake_last_registered), "memory of a failed registration is unmapped");
	CHECK_EQ(fake_current, 2);
	/* A pointer CUDA never registered is not unmapped by munmap. */
	void *foreign = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK_EQ(aml_area_munmap(area, foreign, size), -AML_EINVAL);
	CHECK(!unmapped(foreign), "a foreign pointer stays mapped");
	munmap(foreign, size);
	fake_area_cuda_destroy(&area);

	/* The static area uses the current device and never switches. */
	fake_current = 1;
	int switches = fake_set_device_calls;
	p = aml_area_mmap(&fake_area_cuda, size, NULL);
	CHECK(p != NULL && fake_last_block->device == 1, "static area on the current device");
	CHECK_EQ(aml_area_munmap(&fake_area_cuda, p, size), AML_SUCCESS);
	CHECK_EQ(fake_set_device_calls, switches);

	/* Helpers. */
	char src[32] = "through the fake", dst[32] = "";
	CHECK_EQ(fake_cuda_memcpy(dst, src, sizeof(src)), AML_SUCCESS); /* kind must be default */
	CHECK(strcmp(dst, src) == 0, "memcpy");
	CHECK_EQ(fake_cuda_memcpy(NULL, src, 1), -AML_EINVAL);
	CHECK_EQ(fake_cuda_memcpy(NULL, NULL, 0), AML_SUCCESS);
	CHECK(fake_cuda_device_pointer(src) == NULL && aml_errno == AML_EINVAL, "unmapped memory has no device address");
	CHECK(fake_cuda_device_pointer(NULL) == NULL && aml_errno == AML_EINVAL, "NULL");
	fake_current = 0;
	CHECK_EQ(fake_live_blocks(), 0);
}

/* Caller memory: registered, found again from the device address, and
 * only unregistered by munmap. */
static void check_fake_registration(void)
{
	const size_t size = 8 * test_page_size();
	struct aml_area *area;
	CHECK_EQ(fake_area_cuda_mapped_create(&area, 1, NULL), AML_SUCCESS);
	char *mine = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	fill(mine, size, 7);
	struct aml_area_cuda_mmap_options opts = {.device = -1, .ptr = mine};
	char *dev = aml_area_mmap(area, size, (struct aml_area_mmap_options *)&opts);
	CHECK(dev == mine + FAKE_DEVICE_OFFSET, "mmap returns the device address");
	CHECK(fake_find(mine, 1 << FAKE_REGISTERED)->device == 1, "registered on the area's device");
	CHECK_EQ(fake_current, 0);
	CHECK(fake_cuda_device_pointer(mine) == dev, "device pointer of the caller memory");
	char *copy = malloc(size);
	CHECK_EQ(fake_cuda_memcpy(copy, dev, size), AML_SUCCESS);
	expect_filled(copy, size, 7, "read through the device address");
	CHECK(aml_area_mmap(area, size, (struct aml_area_mmap_options *)&opts) == NULL, "twice");
	CHECK_EQ(aml_errno, AML_EBUSY);
	CHECK_EQ(aml_area_munmap(area, dev, size - 1), -AML_EINVAL); /* not the size mmap got */
	CHECK(fake_find(mine, 1 << FAKE_REGISTERED) != NULL, "still registered");
	CHECK_EQ(aml_area_munmap(area, dev, size), AML_SUCCESS);
	CHECK(fake_find(mine, 1 << FAKE_REGISTERED) == NULL, "unregistered");
	CHECK(!unmapped(mine), "caller memory stays mapped");
	expect_filled(mine, size, 7, "caller memory intact");
	CHECK_EQ(aml_area_munmap(area, dev, size), -AML_EINVAL); /* already gone */
	/* A failed device-address lookup leaves nothing registered. */
	fake_fail(FN_GET_DEVICE_POINTER, 0, AML_CUDART_ERROR_INVALID_VALUE);
	CHECK(aml_area_mmap(area, size, (struct aml_area_mmap_options *)&opts) == NULL, "lookup fails");
	CHECK(fake_find(mine, 1 << FAKE_REGISTERED) == NULL, "unregistered after the failure");
	/* One registration per page, released out of order. */
	enum { PAGES = 8 };
	char *devs[PAGES];
	for (int i = 0; i < PAGES; i++) {
		opts.ptr = mine + i * test_page_size();
		devs[i] = aml_area_mmap(area, test_page_size(), (struct aml_area_mmap_options *)&opts);
		CHECK(devs[i] == mine + i * test_page_size() + FAKE_DEVICE_OFFSET, "page %d", i);
	}
	for (int i = 0; i < PAGES; i += 2)
		CHECK_EQ(aml_area_munmap(area, devs[i], test_page_size()), AML_SUCCESS);
	for (int i = PAGES - 1; i > 0; i -= 2)
		CHECK_EQ(aml_area_munmap(area, devs[i], test_page_size()), AML_SUCCESS);
	CHECK_EQ(fake_live_blocks(), 0);
	CHECK(registrations == NULL, "registry empty");
	free(copy);
	munmap(mine, size);
	fake_area_cuda_destroy(&area);
}

/* Mapped memory placed by a host area: pages on its node, all present
 * before registration, unmapped through the host area. */
static void check_fake_host_area(void)
{
	int nodes[64];
	int num_nodes = test_allowed_nodes(nodes, 64);
	CHECK(num_nodes > 0, "no memory node");
	const size_t pages = 64, size = pages * test_page_size();
	for (int k = 0; k < num_nodes; k++) {
		struct bitmask *mask = numa_allocate_nodemask();
		numa_bitmask_setbit(mask, (unsigned)nodes[k]);
		struct aml_area *bound, *area;
		CHECK_EQ(aml_area_linux_create(&bound, mask, AML_AREA_LINUX_POLICY_BIND), AML_SUCCESS);
		CHECK_EQ(fake_area_cuda_mapped_create(&area, 2, bound), AML_SUCCESS);
		char *text = describe(area);
		CHECK(strstr(text, "host memory from area-linux: policy bind"), "%s", text);
		free(text);
		char *p = aml_area_mmap(area, size, NULL);
		CHECK(p != NULL, "mapped on node %d: %s", nodes[k], aml_strerror(aml_errno));
		struct fake_block *b = fake_find(p, 1 << FAKE_REGISTERED);
		CHECK(b && b->all_resident && b->device == 2, "populated, then registered on device 2");
		int where[64];
		CHECK_EQ(test_pages_nodes(p, size, where), 0);
		for (size_t i = 0; i < pages; i++)
			CHECK(where[i] == nodes[k], "page %zu on node %d, want %d", i, where[i], nodes[k]);
		int mode;
		CHECK_EQ(test_range_policy(p, &mode, NULL), 0);
		CHECK_EQ(mode, MPOL_BIND);
		CHECK_EQ(aml_area_munmap(area, p, size), AML_SUCCESS);
		CHECK(unmapped(p), "unmapped through the host area");
		fake_area_cuda_destroy(&area);
		aml_area_linux_destroy(&bound);
		numa_bitmask_free(mask);
	}
	/* Interleaved over every node: the spread survives registration. */
	struct aml_area *spread, *area;
	CHECK_EQ(aml_area_linux_create(&spread, NULL, AML_AREA_LINUX_POLICY_INTERLEAVE), AML_SUCCESS);
	CHECK_EQ(fake_area_cuda_mapped_create(&area, 0, spread), AML_SUCCESS);
	char *p = aml_area_mmap(area, size, NULL);
	CHECK(p != NULL, "interleaved mapped memory");
	long per_node[1024] = {0};
	CHECK_EQ(test_node_histogram(p, size, per_node, nodes[num_nodes - 1]), 0);
	for (int k = 0; k < num_nodes; k++)
		CHECK(labs(per_node[nodes[k]] - (long)pages / num_nodes) <= 1, "node %d has %ld of %zu pages",
		      nodes[k], per_node[nodes[k]], pages);
	CHECK_EQ(aml_area_munmap(area, p, size), AML_SUCCESS);
	fake_area_cuda_destroy(&area);
	aml_area_linux_destroy(&spread);
	CHECK_EQ(fake_live_blocks(), 0);
	printf("fake runtime: mapped memory placed on %d node(s)\n", num_nodes);
}

/* Threads: each keeps its own current device; the registry stays whole. */
static struct aml_area *thread_device_area, *thread_mapped_area;

static void *thread_body(void *arg)
{
	const int me = (int)(intptr_t)arg;
	fake_current = me % FAKE_DEVICES;
	const size_t page = test_page_size();
	char *mine = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	for (int i = 0; i < 200; i++) {
		void *d = aml_area_mmap(thread_device_area, page, NULL);
		struct aml_area_cuda_mmap_options opts = {.device = -1, .ptr = mine};
		void *r = aml_area_mmap(thread_mapped_area, page, (struct aml_area_mmap_options *)&opts);
		if (!d || !r || fake_current != me % FAKE_DEVICES)
			return (void *)1;
		if (aml_area_munmap(thread_mapped_area, r, page) != AML_SUCCESS ||
		    aml_area_munmap(thread_device_area, d, page) != AML_SUCCESS ||
		    fake_current != me % FAKE_DEVICES)
			return (void *)2;
	}
	munmap(mine, page);
	return NULL;
}

static void check_fake_threads(void)
{
	enum { THREADS = 6 };
	CHECK_EQ(fake_area_cuda_create(&thread_device_area, 1, 0), AML_SUCCESS);
	CHECK_EQ(fake_area_cuda_mapped_create(&thread_mapped_area, 2, NULL), AML_SUCCESS);
	pthread_t threads[THREADS];
	for (int t = 0; t < THREADS; t++)
		CHECK_EQ(pthread_create(&threads[t], NULL, thread_body, (void *)(intptr_t)t), 0);
	for (int t = 0; t < THREADS; t++) {
		void *ret;
		pthread_join(threads[t], &ret);
		CHECK(ret == NULL, "thread %d failed at step %ld", t, (long)(intptr_t)ret);
	}
	CHECK_EQ(fake_live_blocks(), 0);
	CHECK(registrations == NULL, "registry empty");
	fake_area_cuda_destroy(&thread_device_area);
	fake_area_cuda_destroy(&thread_mapped_area);
}

static void check_fake_runtime(void)
{
	fake_install();
	check_fake_create();
	check_fake_kinds();
	check_fake_options_and_failures();
	check_fake_registration();
	check_fake_host_area();
	check_fake_threads();
	printf("fake runtime: every kind, option and failure path checked\n");
}

int main(void)
{
	if (numa_available() < 0)
		test_skip_hardware("kernel without NUMA support");
	/* The process's first CUDA call, output captured. */
	struct no_cuda_results r;
	memset(&r, 0, sizeof(r));
	char printed_text[512];
	capture_start();
	run_no_cuda_calls(&r);
	long printed = capture_stop(printed_text, sizeof(printed_text));
	CHECK(printed == 0, "the library printed %ld bytes: %s", printed, printed_text);
	check_argument_errors(&r);
	check_fprintf();
	const int count = r.count;
	if (count == 0) {
		check_no_cuda(&r);
		printf("no CUDA: %s\n", aml_cuda_runtime_status());
		printf("no CUDA: first create %.3f ms (load + probe), then %.3f us per create\n",
		       r.first_create_ms, r.next_create_us);
	} else {
		check_gpu(count);
	}
	check_loader();
	check_fake_runtime();
	if (count == 0)
		test_skip_hardware("no CUDA device: real-device checks not run (no-CUDA contract, loader "
		                   "and fake-runtime checks passed)");
	return 0;
}
