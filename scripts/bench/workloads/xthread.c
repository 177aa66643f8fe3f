/* Producer-consumer: producers allocate objects and hand them, in batches,
 * to consumers that free them, so every free is a cross-thread free.
 *   pairs=1 objects=8000000 (per producer) batch=256 queue=64 min=16 max=256 */
#include <pthread.h>

#include "bench.h"

struct queue {
	pthread_mutex_t lock;
	pthread_cond_t not_empty, not_full;
	void ***slots; /* a ring of batches */
	long capacity, head, count;
};

static long batch_size, objects, queue_capacity;
static size_t min_size, max_size;

/* Batch arrays circulate: producers fill them and queue them in full,
 * consumers empty them and give them back through empty, so the hand-off
 * itself allocates nothing. */
struct pair {
	struct queue full, empty;
	pthread_t producer, consumer;
	uint64_t seed;
	unsigned long long sum;
};

static void queue_push(struct queue *q, void **batch)
{
	pthread_mutex_lock(&q->lock);
	while (q->count == q->capacity)
		pthread_cond_wait(&q->not_full, &q->lock);
	q->slots[(q->head + q->count) % q->capacity] = batch;
	q->count++;
	pthread_cond_signal(&q->not_empty);
	pthread_mutex_unlock(&q->lock);
}

static void **queue_pop(struct queue *q)
{
	pthread_mutex_lock(&q->lock);
	while (q->count == 0)
		pthread_cond_wait(&q->not_empty, &q->lock);
	void **batch = q->slots[q->head];
	q->head = (q->head + 1) % q->capacity;
	q->count--;
	pthread_cond_signal(&q->not_full);
	pthread_mutex_unlock(&q->lock);
	return batch;
}

static void *produce(void *arg)
{
	struct pair *p = arg;
	struct bench_rng rng;
	bench_rng_seed(&rng, p->seed);
	for (long done = 0; done < objects; done += batch_size) {
		void **batch = queue_pop(&p->empty);
		for (long i = 0; i < batch_size; i++) {
			size_t size = bench_rng_range(&rng, min_size, max_size);
			char *obj = bench_malloc(size);
			obj[0] = (char)size;
			obj[size - 1] = 1;
			batch[i] = obj;
		}
		queue_push(&p->full, batch);
	}
	queue_push(&p->full, NULL);
	return NULL;
}

static void *consume(void *arg)
{
	struct pair *p = arg;
	unsigned long long sum = 0;
	void **batch;
	while ((batch = queue_pop(&p->full)) != NULL) {
		for (long i = 0; i < batch_size; i++) {
			sum += ((unsigned char *)batch[i])[0];
			free(batch[i]);
		}
		queue_push(&p->empty, batch);
	}
	p->sum = sum;
	return NULL;
}

static void queue_init(struct queue *q, long capacity)
{
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->not_empty, NULL);
	pthread_cond_init(&q->not_full, NULL);
	q->capacity = capacity;
	q->head = q->count = 0;
	q->slots = bench_calloc((size_t)capacity, sizeof(void **));
}

int main(int argc, char **argv)
{
	long pairs = bench_arg(argc, argv, "pairs", 1);
	objects = bench_arg(argc, argv, "objects", 8000000);
	batch_size = bench_arg(argc, argv, "batch", 256);
	queue_capacity = bench_arg(argc, argv, "queue", 64);
	min_size = (size_t)bench_arg(argc, argv, "min", 16);
	max_size = (size_t)bench_arg(argc, argv, "max", 256);
	if (pairs < 1 || batch_size < 1 || queue_capacity < 1 || min_size < 2 || max_size < min_size)
		bench_die("bad arguments");
	objects = (objects + batch_size - 1) / batch_size * batch_size;

	struct pair *all = bench_calloc((size_t)pairs, sizeof(*all));
	for (long i = 0; i < pairs; i++) {
		struct pair *p = &all[i];
		p->seed = (uint64_t)i + 7;
		queue_init(&p->full, queue_capacity + 1);
		queue_init(&p->empty, queue_capacity);
		for (long b = 0; b < queue_capacity; b++) {
			void **batch = bench_calloc((size_t)batch_size, sizeof(void *));
			queue_push(&p->empty, batch);
		}
	}

	double start = bench_now();
	for (long i = 0; i < pairs; i++) {
		if (pthread_create(&all[i].producer, NULL, produce, &all[i]) != 0 ||
		    pthread_create(&all[i].consumer, NULL, consume, &all[i]) != 0)
			bench_die("pthread_create failed");
	}
	unsigned long long sum = 0;
	for (long i = 0; i < pairs; i++) {
		pthread_join(all[i].producer, NULL);
		pthread_join(all[i].consumer, NULL);
		sum += all[i].sum;
	}
	double elapsed = bench_now() - start;
	bench_report_ops(elapsed, sum, objects * pairs);
	return 0;
}
