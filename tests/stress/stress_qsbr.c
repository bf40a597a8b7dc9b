/* Race test: readers follow a shared pointer and read the object behind it while a writer keeps
 * replacing it and retiring the old one. Freed objects are poisoned first, so a reader that sees
 * a freed object fails the check (and ASan/TSan report the access). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "runtime/qsbr.h"
#include "tests/stress/stress.h"

enum { READERS = 3, SWAPS = 200000 };

typedef struct obj {
	uint64_t magic;
	uint64_t value;
} obj_t;

#define MAGIC 0x5eed5eed5eed5eedull

static nd_qsbr_t *q;
static _Atomic(obj_t *) shared;
static atomic_bool done;

static void poison_free(void *p)
{
	obj_t *o = p;
	o->magic = 0;
	free(o);
}

static void *reader(void *arg)
{
	(void)arg;
	int slot = nd_qsbr_register(q);
	CHECK(slot >= 0, "register");
	unsigned long reads = 0;
	while (!atomic_load_explicit(&done, memory_order_relaxed)) {
		for (int i = 0; i < 100; i++) {
			obj_t *o = atomic_load_explicit(&shared, memory_order_acquire);
			CHECK(o->magic == MAGIC, "read a freed object");
			reads += o->value & 1;
		}
		if (reads % 7 == 0) { /* sometimes sleep "offline" */
			nd_qsbr_offline(q, (unsigned)slot);
			nd_qsbr_online(q, (unsigned)slot);
		} else {
			nd_qsbr_quiescent(q, (unsigned)slot);
		}
	}
	nd_qsbr_offline(q, (unsigned)slot);
	return NULL;
}

int main(void)
{
	q = nd_qsbr_create(READERS + 1);
	int w = nd_qsbr_register(q);
	obj_t *first = malloc(sizeof(*first));
	*first = (obj_t){MAGIC, 0};
	atomic_store(&shared, first);
	pthread_t t[READERS];
	for (int i = 0; i < READERS; i++)
		pthread_create(&t[i], NULL, reader, NULL);
	for (uint64_t i = 1; i <= SWAPS; i++) {
		obj_t *n = malloc(sizeof(*n));
		*n = (obj_t){MAGIC, i};
		obj_t *old = atomic_exchange_explicit(&shared, n, memory_order_acq_rel);
		nd_qsbr_retire(q, (unsigned)w, old, poison_free);
		nd_qsbr_quiescent(q, (unsigned)w);
		nd_qsbr_reclaim(q, (unsigned)w);
	}
	atomic_store(&done, true);
	for (int i = 0; i < READERS; i++)
		pthread_join(t[i], NULL);
	nd_qsbr_offline(q, (unsigned)w);
	nd_qsbr_destroy(q);
	free(atomic_load(&shared));
	puts("stress_qsbr: ok");
	return 0;
}
