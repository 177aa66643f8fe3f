/* Mixed small sizes, one thread: a working set over every small size class
 * (8 B - 64 KiB, most objects small, a tail up to 64 KiB, as a program's
 * are) changed by malloc, calloc, realloc (grow and shrink), posix_memalign
 * and free, objects freed at random, with bursts of temporaries freed in
 * reverse (LIFO). Every object has its first and last byte written.
 *   ops=5000000 slots=20000 burst_every=500 burst=100 */
#include "bench.h"

#define MAX_SMALL (64 << 10)

/* Upper bound of each size band and its share in thousandths: half the
 * objects are at most 64 B, about 1 in 300 is over 16 KiB. */
static const struct {
	size_t max;
	unsigned share;
} bands[] = {
	{16, 200}, {32, 200}, {64, 180}, {128, 140}, {256, 100}, {512, 70}, {1024, 50},
	{2048, 30}, {4096, 15}, {8192, 7}, {16384, 4}, {32768, 2}, {MAX_SMALL, 2},
};

static size_t pick_size(struct bench_rng *rng)
{
	unsigned r = (unsigned)(bench_rng_next(rng) % 1000);
	size_t lo = 8;
	for (size_t i = 0; i < sizeof(bands) / sizeof(bands[0]); i++) {
		if (r < bands[i].share)
			return bench_rng_range(rng, lo, bands[i].max);
		r -= bands[i].share;
		lo = bands[i].max + 1;
	}
	return bench_rng_range(rng, 8, 64);
}

static char *touch(char *p, size_t size)
{
	p[0] = (char)size;
	p[size - 1] = (char)(size >> 3);
	return p;
}

struct object {
	char *p;
	size_t size;
};

/* One operation on one slot, by r (0-99): malloc (55%), calloc (10%),
 * realloc (15%: grow by half or to a new size; of an empty slot, from
 * NULL), posix_memalign (5%, 16 B - 4 KiB aligned), free alone (15%). */
static void step(struct bench_rng *rng, struct object *o, unsigned long long *sum)
{
	unsigned r = (unsigned)(bench_rng_next(rng) % 100);
	if (o->p)
		*sum += (unsigned char)o->p[0];
	if (r >= 65 && r < 80) {
		size_t want = o->p && r < 72 ? o->size + o->size / 2 + 8 : pick_size(rng);
		if (want > MAX_SMALL)
			want = MAX_SMALL;
		char *p = realloc(o->p, want);
		if (!p)
			bench_die("realloc failed");
		o->p = touch(p, want);
		o->size = want;
		return;
	}
	free(o->p);
	o->p = NULL;
	if (r >= 85)
		return;
	size_t want = pick_size(rng);
	char *p;
	if (r < 55) {
		p = bench_malloc(want);
	} else if (r < 65) {
		p = bench_calloc(1, want);
		*sum += (unsigned char)p[want / 2];
	} else {
		void *q;
		if (posix_memalign(&q, (size_t)16 << (bench_rng_next(rng) % 9), want) != 0)
			bench_die("posix_memalign failed");
		p = q;
	}
	o->p = touch(p, want);
	o->size = want;
}

int main(int argc, char **argv)
{
	struct bench_rng rng;
	bench_rng_seed(&rng, 3);
	long ops = bench_arg(argc, argv, "ops", 5000000), n = bench_arg(argc, argv, "slots", 20000);
	long burst_every = bench_arg(argc, argv, "burst_every", 500), burst = bench_arg(argc, argv, "burst", 100);
	if (n < 1 || burst_every < 1 || burst < 0)
		bench_die("bad arguments");
	struct object *objects = bench_calloc((size_t)n, sizeof(*objects));
	char **temps = bench_calloc((size_t)burst + 1, sizeof(char *));
	unsigned long long sum = 0;
	long done = 0;
	double start = bench_now();
	while (done < ops) {
		for (long i = 0; i < burst_every && done < ops; i++, done++)
			step(&rng, &objects[bench_rng_next(&rng) % (uint64_t)n], &sum);
		sum += bench_lifo_burst(temps, burst, &rng, pick_size);
		done += burst;
	}
	double elapsed = bench_now() - start;
	for (long i = 0; i < n; i++)
		free(objects[i].p);
	free(objects);
	free(temps);
	bench_report_ops(elapsed, sum, done);
	return 0;
}
