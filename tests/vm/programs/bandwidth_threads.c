/* A plain threaded program for tests/vm/shim_bandwidth_threads.c; it links
 * nothing of ours. For each node given as an argument, a thread binds
 * itself to that node's CPUs (from sysfs), mallocs 32 MiB, writes every
 * byte, and asks the kernel where each page is (move_pages with no target
 * nodes). The threads run at once; the buffers are freed after all have
 * reported. One line per thread, in argument order:
 *
 *   thread on node N's CPUs: cpu C (node M), 8192 pages: node2=8192
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define BUF_SIZE (32UL << 20)
#define MAX_THREADS 8
#define MAX_NODES 64

struct job {
	int node;
	pthread_t thread;
	char *buf;
	int cpu, cpu_node;
	long pages, counts[MAX_NODES], elsewhere;
	char error[160];
};

/* The CPUs of a node from /sys/devices/system/node/nodeN/cpulist. */
static int node_cpus(int node, cpu_set_t *set)
{
	char path[96], list[256];
	snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/cpulist", node);
	FILE *file = fopen(path, "r");
	if (!file)
		return -1;
	int ok = fgets(list, sizeof(list), file) != NULL;
	fclose(file);
	if (!ok)
		return -1;
	CPU_ZERO(set);
	int count = 0;
	for (char *p = list; *p && *p != '\n';) {
		char *end;
		long first = strtol(p, &end, 10), last = first;
		if (end == p)
			return -1;
		if (*end == '-')
			last = strtol(end + 1, &end, 10);
		for (long cpu = first; cpu <= last && cpu < CPU_SETSIZE; cpu++, count++)
			CPU_SET((int)cpu, set);
		p = *end == ',' ? end + 1 : end;
	}
	return count > 0 ? 0 : -1;
}

static void *run(void *arg)
{
	struct job *job = arg;
	cpu_set_t set;
	if (node_cpus(job->node, &set) != 0 || sched_setaffinity(0, sizeof(set), &set) != 0) {
		snprintf(job->error, sizeof(job->error), "cannot bind to node %d's CPUs", job->node);
		return NULL;
	}
	unsigned cpu = 0, node = 0;
	syscall(SYS_getcpu, &cpu, &node, NULL);
	job->cpu = (int)cpu;
	job->cpu_node = (int)node;
	job->buf = malloc(BUF_SIZE);
	if (!job->buf) {
		snprintf(job->error, sizeof(job->error), "malloc failed");
		return NULL;
	}
	for (size_t i = 0; i < BUF_SIZE; i++)
		job->buf[i] = (char)(i * 7 + (size_t)job->node);
	long page = sysconf(_SC_PAGESIZE);
	job->pages = (long)(BUF_SIZE / (size_t)page);
	void **addrs = malloc((size_t)job->pages * sizeof(*addrs));
	int *status = malloc((size_t)job->pages * sizeof(*status));
	if (!addrs || !status) {
		snprintf(job->error, sizeof(job->error), "malloc failed");
		return NULL;
	}
	for (long i = 0; i < job->pages; i++)
		addrs[i] = job->buf + i * page;
	if (syscall(SYS_move_pages, 0, (unsigned long)job->pages, addrs, NULL, status, 0) != 0) {
		snprintf(job->error, sizeof(job->error), "move_pages failed");
		return NULL;
	}
	for (long i = 0; i < job->pages; i++) {
		if (status[i] >= 0 && status[i] < MAX_NODES)
			job->counts[status[i]]++;
		else
			job->elsewhere++;
	}
	free(addrs);
	free(status);
	return NULL;
}

int main(int argc, char **argv)
{
	struct job jobs[MAX_THREADS];
	int count = 0;
	memset(jobs, 0, sizeof(jobs));
	for (int i = 1; i < argc && count < MAX_THREADS; i++)
		jobs[count++].node = atoi(argv[i]);
	for (int i = 0; i < count; i++)
		if (pthread_create(&jobs[i].thread, NULL, run, &jobs[i]) != 0) {
			fprintf(stderr, "pthread_create failed\n");
			return 1;
		}
	int failed = 0;
	for (int i = 0; i < count; i++) {
		pthread_join(jobs[i].thread, NULL);
		if (jobs[i].error[0]) {
			fprintf(stderr, "thread on node %d's CPUs: %s\n", jobs[i].node, jobs[i].error);
			failed = 1;
			continue;
		}
		printf("thread on node %d's CPUs: cpu %d (node %d), %ld pages:", jobs[i].node, jobs[i].cpu,
		       jobs[i].cpu_node, jobs[i].pages);
		for (int n = 0; n < MAX_NODES; n++)
			if (jobs[i].counts[n])
				printf(" node%d=%ld", n, jobs[i].counts[n]);
		if (jobs[i].elsewhere)
			printf(" not-resident=%ld", jobs[i].elsewhere);
		printf("\n");
	}
	for (int i = 0; i < count; i++)
		free(jobs[i].buf);
	return failed;
}
