/* An address-space limit (RLIMIT_AS) under the shim, lowered at run time
 * the way sandboxes and some runtimes do, or already low at start.
 *
 * Each worker, under the limit: with 1.5 GiB held, a small block grows
 * to 32 KiB by realloc (it must move wherever there is room, not fail);
 * threads that allocate, check and free
 * objects of 16 B to 256 KiB (the small path, or a rule's area) hand
 * blocks to each other, three rounds of 8, then 64 short threads one
 * after the other; every thread must start and run. Then it fills the
 * address space with 256 KiB blocks until NULL (ENOMEM, no crash), frees
 * them, and starts threads again. What the shim holds at start must be
 * modest: the worker's VmSize before the limit is lowered stays under
 * 512 MiB (a reservation that counts toward the limit would take it).
 *
 * Configurations: the limit lowered to 4 GiB at run time (no variable,
 * and rules for every path); lowered to what the process uses plus
 * 1 GiB; a 4 GiB limit set before the program (and the shim) started.
 * The same worker without the shim is the control: whatever fails there
 * is not the shim's fault. */
#include <sys/resource.h>

#include "hardening.h"

#define LOW_LIMIT ((rlim_t)4 << 30)
#define THREADS 8
#define SLOTS 256
#define VM_START_MAX_KIB (512L << 10)

enum mode { LOWER_4G, LOWER_4G_RULES, LOWER_USAGE, LOW_AT_START, MODES };

static struct hard_config configs[MODES];
static char rules[200];

static void *slots[SLOTS];
static size_t slot_size[SLOTS];
static int slot_lock;
static unsigned long threads_ran;

static void lock_slots(void)
{
	while (__atomic_exchange_n(&slot_lock, 1, __ATOMIC_ACQUIRE))
		sched_yield();
}

static void unlock_slots(void)
{
	__atomic_store_n(&slot_lock, 0, __ATOMIC_RELEASE);
}

static size_t size_for(uint64_t r)
{
	switch (r % 8) {
	case 0: case 1: case 2: return 16 + (r >> 8) % 240;
	case 3: case 4: return 256 + (r >> 8) % 3840;
	case 5: case 6: return 4096 + (r >> 8) % (60 << 10);
	default: return (64 << 10) + (r >> 8) % (192 << 10);
	}
}

/* Swaps a fresh block with a shared slot; what was there is checked and freed. */
static void swap_block(void *p, size_t size, unsigned slot)
{
	lock_slots();
	void *old = slots[slot];
	size_t old_size = slot_size[slot];
	slots[slot] = p;
	slot_size[slot] = size;
	unlock_slots();
	if (old) {
		CHECK(hard_check(old, old_size, old_size) < 0, "a block of %zu bytes lost its content", old_size);
		free(old);
	}
}

static void *worker_thread(void *arg)
{
	uint64_t rng = (uint64_t)(uintptr_t)arg * 0x9e3779b97f4a7c15ULL + 1;
	int ops = (int)(uintptr_t)arg % 2 ? 3000 : 1500;
	for (int i = 0; i < ops; i++) {
		rng = shim_test_mix(rng);
		size_t size = size_for(rng);
		void *p = (rng >> 40) % 3 == 0 ? calloc(1, size) : malloc(size);
		CHECK(p != NULL, "malloc(%zu) under the limit: NULL", size);
		hard_fill(p, size, size);
		if ((rng >> 50) % 2)
			swap_block(p, size, (unsigned)(rng >> 20) % SLOTS);
		else
			free(p);
	}
	__atomic_add_fetch(&threads_ran, 1, __ATOMIC_RELAXED);
	return NULL;
}

/* Rounds of THREADS threads at once, then short threads one after the
 * other; every pthread_create must succeed and every thread run. */
static void run_threads(const char *when)
{
	unsigned long before = __atomic_load_n(&threads_ran, __ATOMIC_RELAXED), started = 0;
	for (int round = 0; round < 3; round++) {
		pthread_t threads[THREADS];
		for (int t = 0; t < THREADS; t++) {
			int err = pthread_create(&threads[t], NULL, worker_thread, (void *)(uintptr_t)(round * THREADS + t + 1));
			CHECK(err == 0, "%s: pthread_create of thread %d: %s", when, round * THREADS + t, strerror(err));
			started++;
		}
		for (int t = 0; t < THREADS; t++)
			pthread_join(threads[t], NULL);
	}
	for (int t = 0; t < 64; t++) {
		pthread_t thread;
		int err = pthread_create(&thread, NULL, worker_thread, (void *)(uintptr_t)(100 + t));
		CHECK(err == 0, "%s: pthread_create of short thread %d: %s", when, t, strerror(err));
		started++;
		pthread_join(thread, NULL);
	}
	unsigned long ran = __atomic_load_n(&threads_ran, __ATOMIC_RELAXED) - before;
	CHECK(ran == started, "%s: %lu threads started, %lu ran", when, started, ran);
	for (unsigned s = 0; s < SLOTS; s++)
		swap_block(NULL, 0, s);
}

/* Blocks of 256 KiB until NULL: ENOMEM, no crash; everything freed after. */
static long fill_until_null(void)
{
	enum { MAX = 1 << 16 };
	static void *blocks[MAX];
	size_t size = (size_t)256 << 10;
	long count = 0;
	while (count < MAX) {
		errno = 0;
		void *p = malloc(size);
		if (!p) {
			CHECK(errno == ENOMEM, "malloc failed with errno %d, not ENOMEM", errno);
			break;
		}
		((char *)p)[0] = 1;
		((char *)p)[size - 1] = 2;
		blocks[count++] = p;
	}
	CHECK(count < MAX, "%ld blocks of 256 KiB and no NULL under the limit", count);
	CHECK(count > 1000, "only %ld blocks of 256 KiB under the limit", count);
	for (long i = 0; i < count; i++)
		free(blocks[i]);
	return count;
}

/* 1.5 GiB of 32 KiB blocks held (more than an allocator may keep of a
 * 4 GiB limit for itself), then a small block grows to 32 KiB by realloc:
 * it must move wherever there is room, not fail. */
static void realloc_when_crowded(void)
{
	enum { COUNT = 49152 };
	static void *blocks[COUNT];
	char *keep = malloc(100);
	CHECK(keep != NULL, "malloc(100)");
	hard_fill(keep, 100, 7);
	for (int i = 0; i < COUNT; i++) {
		blocks[i] = malloc(32 << 10);
		CHECK(blocks[i] != NULL, "block %d of 32 KiB under the limit: NULL", i);
		((char *)blocks[i])[0] = 1;
	}
	char *grown = realloc(keep, 32 << 10);
	EXPECT(grown != NULL, "realloc(100 -> 32 KiB) with 1.5 GiB held under the limit: NULL (errno %d)", errno);
	if (grown) {
		EXPECT(hard_check(grown, 100, 7) < 0, "realloc lost the content");
		keep = grown;
	}
	free(keep);
	for (int i = 0; i < COUNT; i++)
		free(blocks[i]);
}

static int worker(int mode, int with_shim)
{
	const char *name = with_shim ? configs[mode].name : "plain glibc (control)";
	long vm_start = hard_status_kib("VmSize");
	struct rlimit limit;
	CHECK(getrlimit(RLIMIT_AS, &limit) == 0, "getrlimit: %s", strerror(errno));
	if (mode == LOW_AT_START) {
		CHECK(limit.rlim_cur == LOW_LIMIT, "the limit set before exec is not in place");
	} else {
		rlim_t to = mode == LOWER_USAGE ? (rlim_t)vm_start * 1024 + ((rlim_t)1 << 30) : LOW_LIMIT;
		limit.rlim_cur = limit.rlim_max = to;
		CHECK(setrlimit(RLIMIT_AS, &limit) == 0, "setrlimit(RLIMIT_AS, %llu): %s", (unsigned long long)to,
		      strerror(errno));
	}
	if (with_shim)
		EXPECT(vm_start < VM_START_MAX_KIB, "%s: %ld MiB of address space held at start (at most %ld allowed)",
		       name, vm_start >> 10, VM_START_MAX_KIB >> 10);
	if (mode != LOWER_USAGE)
		realloc_when_crowded();
	run_threads("under the limit");
	long blocks = mode == LOWER_USAGE ? -1 : fill_until_null();
	run_threads("after the address space was full");
	printf("%s: VmSize %ld MiB at start, limit %llu MiB; %lu threads ran; %ld blocks of 256 KiB before NULL\n", name,
	       vm_start >> 10, (unsigned long long)(limit.rlim_cur >> 20), threads_ran, blocks);
	return shim_test_expect_summary(name);
}

/* The worker for config i (i < 0: the control, without the shim),
 * started with the 4 GiB limit in place for LOW_AT_START. */
static int run_worker(char **argv, int i, int mode)
{
	char index[16], mode_text[16];
	snprintf(index, sizeof(index), "%d", i);
	snprintf(mode_text, sizeof(mode_text), "%d", mode);
	char *args[] = {argv[0], i < 0 ? (char *)"plain" : (char *)"worker", i < 0 ? mode_text : index, NULL};
	static const char *const no_env[] = {NULL};
	char **envp = shim_test_env(i < 0 ? no_env : configs[i].env);
	fflush(NULL);
	pid_t pid = fork();
	CHECK(pid >= 0, "fork");
	if (pid == 0) {
		if (mode == LOW_AT_START) {
			struct rlimit limit = {LOW_LIMIT, LOW_LIMIT};
			if (setrlimit(RLIMIT_AS, &limit) != 0)
				_exit(124);
		}
		execve("/proc/self/exe", args, envp);
		_exit(126);
	}
	free(envp);
	int status = shim_test_wait(pid, 120);
	printf("%-52s status %d\n", i < 0 ? "plain glibc (control)" : configs[i].name, status);
	fflush(stdout);
	return status;
}

int main(int argc, char **argv)
{
	hard_rules(rules, sizeof(rules), "1M-=interleave");
	configs[LOWER_4G] = (struct hard_config){"RLIMIT_AS lowered to 4 GiB at run time", {NULL}};
	configs[LOWER_4G_RULES] = (struct hard_config){"RLIMIT_AS lowered to 4 GiB at run time, rules", {rules, NULL}};
	configs[LOWER_USAGE] = (struct hard_config){"RLIMIT_AS lowered to VmSize + 1 GiB at run time", {NULL}};
	configs[LOW_AT_START] = (struct hard_config){"RLIMIT_AS 4 GiB before the start", {NULL}};
	if (argc > 2 && strcmp(argv[1], "plain") == 0) {
		shim_test_deadline(100);
		return worker(atoi(argv[2]), 0);
	}
	int i = hard_worker(argc, argv, configs, MODES);
	if (i >= 0) {
		shim_test_deadline(100);
		return worker(i, 1);
	}
	int failures = 0;
	for (int mode = 0; mode < MODES; mode++) {
		/* The control first: the test itself must fit the limit. */
		CHECK(run_worker(argv, -1, mode) == 0, "mode %d fails without the shim: the test does not fit", mode);
		failures += run_worker(argv, mode, mode) != 0;
	}
	if (failures) {
		fprintf(stderr, "FAIL: %d of %d configurations failed\n", failures, MODES);
		return 1;
	}
	printf("rlimit_as: ok\n");
	return 0;
}
