/* A short-lived thread's exit keeps its arena's free pages for the next
 * thread: a thread allocates 8 MiB of small objects, writes them, frees
 * them and exits (well within a second); the next thread (bound to the
 * same arena slot, the least loaded) allocates and writes as much again.
 * Its page faults, counted by getrusage(RUSAGE_THREAD), must stay well
 * below the pages it writes: the shim must not let jemalloc purge the
 * arena when its last thread leaves (every free page given back with
 * madvise, to be faulted in again by the next thread, at every exit of
 * threads that come and go).
 *
 * The main thread allocates first, so it holds an arena of its own and
 * stays out of the way. */
#include <pthread.h>
#include <sys/resource.h>

#include "shim_test.h"

#define OBJECT_SIZE 1024
#define OBJECTS 8192
#define PAGES (OBJECT_SIZE * OBJECTS / 4096)

static void *objects[OBJECTS];

/* Allocates and writes every object; the thread's minor faults meanwhile. */
static long fill(void)
{
	struct rusage before, after;
	getrusage(RUSAGE_THREAD, &before);
	for (int i = 0; i < OBJECTS; i++) {
		objects[i] = malloc(OBJECT_SIZE);
		CHECK(objects[i] != NULL, "malloc(%d) failed", OBJECT_SIZE);
		memset(objects[i], i, OBJECT_SIZE);
	}
	getrusage(RUSAGE_THREAD, &after);
	return after.ru_minflt - before.ru_minflt;
}

static void *first(void *arg)
{
	(void)arg;
	fill();
	for (int i = 0; i < OBJECTS; i++)
		free(objects[i]);
	return NULL;
}

static void *second(void *faults)
{
	*(long *)faults = fill();
	for (int i = 0; i < OBJECTS; i++)
		free(objects[i]);
	return NULL;
}

int main(int argc, char **argv)
{
	(void)argc;
	static const char *const none[] = {NULL};
	shim_test_start(argv, none);
	shim_test_deadline(60);
	void *mine = malloc(64);
	shim_test_escape(mine);
	pthread_t thread;
	long faults = 0;
	/* The shim keeps the pages of threads that lived under 1 s: a first
	 * thread slowed past 0.8 s (a loaded machine, an emulated VM) does not
	 * test that, so the pair runs again, up to 3 times. */
	double lived = 0;
	for (int round = 0; round < 3; round++) {
		double start = test_now();
		CHECK(pthread_create(&thread, NULL, first, NULL) == 0, "pthread_create failed");
		pthread_join(thread, NULL);
		lived = test_now() - start;
		CHECK(pthread_create(&thread, NULL, second, &faults) == 0, "pthread_create failed");
		pthread_join(thread, NULL);
		if (lived < 0.8)
			break;
		printf("thread_exit: the first thread lived %.2f s, too long to judge: again\n", lived);
	}
	CHECK(lived < 0.8, "the first thread lived %.2f s in each of 3 rounds: too slow to judge", lived);
	free(mine);
	printf("thread_exit: the second thread faulted %ld times writing %d pages\n", faults, PAGES);
	CHECK(faults < PAGES / 4, "the second thread faulted %ld times writing %d pages: the first thread's exit "
	      "gave its arena's free pages back", faults, PAGES);
	return 0;
}
