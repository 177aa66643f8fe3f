/* The parser may run inside malloc during the shim's lazy init: it must not
 * allocate, nor read the environment behind the reader's back. This binary
 * replaces the malloc family and getenv with versions that abort while
 * `forbidden` is set, then parses every kind of input under that flag, on a
 * small thread stack. A child first proves the trap fires. */
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "job.h"
#include "policy_test.h"

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *ptr, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void __libc_free(void *ptr);
extern char **environ;

static volatile int forbidden;

static void guard(const char *what)
{
	if (!forbidden)
		return;
	static const char before[] = "FAIL: ", after[] = " called while parsing\n";
	ssize_t ignored = write(2, before, sizeof(before) - 1);
	ignored = write(2, what, strlen(what));
	ignored = write(2, after, sizeof(after) - 1);
	(void)ignored;
	abort();
}

void *malloc(size_t size)
{
	guard("malloc");
	return __libc_malloc(size);
}

void *calloc(size_t count, size_t size)
{
	guard("calloc");
	return __libc_calloc(count, size);
}

void *realloc(void *ptr, size_t size)
{
	guard("realloc");
	return __libc_realloc(ptr, size);
}

void free(void *ptr)
{
	guard("free");
	__libc_free(ptr);
}

void *memalign(size_t alignment, size_t size)
{
	guard("memalign");
	return __libc_memalign(alignment, size);
}

void *aligned_alloc(size_t alignment, size_t size)
{
	guard("aligned_alloc");
	return __libc_memalign(alignment, size);
}

int posix_memalign(void **out, size_t alignment, size_t size)
{
	guard("posix_memalign");
	*out = __libc_memalign(alignment, size);
	return *out ? 0 : 12 /* ENOMEM */;
}

void *valloc(size_t size)
{
	guard("valloc");
	return __libc_memalign((size_t)sysconf(_SC_PAGESIZE), size);
}

static char *find_env(const char *name)
{
	size_t len = strlen(name);
	for (char **var = environ; var && *var; var++)
		if (strncmp(*var, name, len) == 0 && (*var)[len] == '=')
			return *var + len + 1;
	return NULL;
}

char *getenv(const char *name)
{
	guard("getenv");
	return find_env(name);
}

char *secure_getenv(const char *name)
{
	guard("secure_getenv");
	return find_env(name);
}

static char big[10241];

static void parse_everything(void)
{
	/* Static: the small stack below measures the parser, not these. */
	static struct amlshim_policy p;
	static struct test_env env;
	static const char *const values[] = {
		"", "0", "1", "on", "off", "json", "text", "debug", "%p", "/tmp/s.%p", "%d", "bogus",
		"interleave", "interleave:0-3,6", "block-interleave:2M:0,1", "block-interleave:3000",
		"preferred:1", "bind:all", "cuda-mapped:3", "cuda-managed", "local:3", "1M", "1.5M",
		"18446744073709551616", "0-64K=local;64K-1G=interleave;1G-=block-interleave:2M",
		"0-2M=local;1M-=interleave", "1M-=bogus", ";;", "\n\x1b'\\\xff", big,
	};
	static const char *const names[] = {
		"AMLSHIM_POLICY", "AMLSHIM_THRESHOLD", "AMLSHIM_RULES", "AMLSHIM_SMALL", "AMLSHIM_MMAP",
		"AMLSHIM_STATS", "AMLSHIM_STATS_FILE", "AMLSHIM_LOG", "AMLSHIM_STRICT", "AMLSHIM_DEEPBIND",
	};
	int lines = 0;
	for (size_t v = 0; v < sizeof(values) / sizeof(values[0]); v++) {
		for (size_t n = 0; n < sizeof(names) / sizeof(names[0]); n++) {
			test_parse(&p, &env, names[n], values[v], NULL);
			lines += env.num_lines;
		}
		/* Everything set to the same value at once. */
		test_parse(&p, &env, names[0], values[v], names[1], values[v], names[2], values[v],
		           names[3], values[v], names[4], values[v], names[5], values[v], names[6],
		           values[v], names[7], values[v], names[8], values[v], NULL);
		lines += env.num_lines;

		struct amlshim_placement placement;
		char why[256], text[320];
		size_t size;
		unsigned long nodes[AMLSHIM_NODE_WORDS];
		int all;
		lines += amlshim_parse_placement(values[v], &placement, why, sizeof(why)) != 0;
		lines += amlshim_parse_size(values[v], &size) != 0;
		lines += amlshim_parse_nodes(values[v], nodes, &all) != 0;
		amlshim_quote_value(values[v], text, sizeof(text));

		/* The job detection runs in the same lazy init. */
		static struct amlshim_job job;
		static struct test_env job_env;
		job_env = (struct test_env){.names = {"SLURM_PROCID", "SLURM_LOCALID", "SLURM_TASKS_PER_NODE",
		                                      "SLURM_NODEID"},
		                            .values = {values[v], values[v], values[v], values[v]}, .count = 4};
		amlshim_job_detect(&job, test_env_read, &job_env, test_sink, &job_env);
		lines += job_env.num_lines;
	}
	test_parse(&p, &env, "AMLSHIM_RULES", "0-64K=local;64K-1G=interleave;1G-=block-interleave:2M", NULL);
	char size_text[24];
	for (size_t size = 0; size < ((size_t)1 << 32); size = size * 3 + 1) {
		lines += amlshim_policy_rule_for(&p, size) != NULL;
		amlshim_format_size(size, size_text, sizeof(size_text));
	}
	CHECK(lines > 100, "only %d messages: the inputs did not exercise the error paths", lines);
}

static void *parse_forbidden(void *unused)
{
	(void)unused;
	forbidden = 1;
	parse_everything();
	forbidden = 0;
	return NULL;
}

int main(void)
{
	/* The trap works: a child calling malloc under the flag dies of SIGABRT. */
	pid_t child = fork();
	CHECK(child >= 0, "fork");
	if (child == 0) {
		void *(*volatile allocate)(size_t) = malloc;
		close(2); /* its FAIL line is expected; keep the log clean */
		forbidden = 1;
		allocate(16);
		_exit(0);
	}
	int status;
	CHECK(waitpid(child, &status, 0) == child, "waitpid");
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "the malloc trap did not fire");

	memset(big, 'a', sizeof(big) - 1);

	/* On a small stack, as inside a thread the program created. */
	size_t stack = 32 << 10;
	long minimum = sysconf(_SC_THREAD_STACK_MIN);
	if (minimum > 0 && (size_t)minimum > stack)
		stack = (size_t)minimum;
	pthread_attr_t attr;
	pthread_t thread;
	CHECK(pthread_attr_init(&attr) == 0, "attr");
	CHECK(pthread_attr_setstacksize(&attr, stack) == 0, "stack size");
	CHECK(pthread_create(&thread, &attr, parse_forbidden, NULL) == 0, "pthread_create");
	CHECK(pthread_join(thread, NULL) == 0, "pthread_join");

	/* And on the main thread. */
	parse_forbidden(NULL);
	return 0;
}
