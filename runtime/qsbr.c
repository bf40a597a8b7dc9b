/* QSBR with a global epoch: retire stamps an item with a fresh epoch; a participant's epoch is
 * the global value it saw at its last quiescent point (UINT64_MAX while offline); an item is
 * safe once every participant's epoch has reached its stamp. */
#include "runtime/qsbr.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OFFLINE UINT64_MAX

typedef struct retired {
	void *ptr;
	nd_qsbr_fn fn;
	uint64_t epoch;
} retired_t;

typedef struct participant {
	_Alignas(64) _Atomic uint64_t epoch; /* read by every reclaimer: its own line */
	_Alignas(64) retired_t *items;       /* owner-only ring of retired items */
	size_t head, count, cap;
	atomic_bool used;
} participant_t;

struct nd_qsbr {
	_Alignas(64) _Atomic uint64_t global;
	unsigned max;
	participant_t *parts;
};

nd_qsbr_t *nd_qsbr_create(unsigned max_threads)
{
	nd_qsbr_t *q = aligned_alloc(64, sizeof(*q));
	if (q == NULL)
		abort();
	memset(q, 0, sizeof(*q));
	atomic_init(&q->global, 1);
	q->max = max_threads;
	q->parts = aligned_alloc(64, sizeof(participant_t) * (max_threads ? max_threads : 1));
	if (q->parts == NULL)
		abort();
	memset(q->parts, 0, sizeof(participant_t) * (max_threads ? max_threads : 1));
	for (unsigned i = 0; i < max_threads; i++) {
		atomic_init(&q->parts[i].epoch, OFFLINE);
		atomic_init(&q->parts[i].used, false);
	}
	return q;
}

static void run_all(participant_t *p)
{
	while (p->count > 0) {
		retired_t r = p->items[p->head];
		p->head = (p->head + 1) % p->cap;
		p->count--;
		r.fn(r.ptr);
	}
}

void nd_qsbr_destroy(nd_qsbr_t *q)
{
	if (q == NULL)
		return;
	for (unsigned i = 0; i < q->max; i++) {
		run_all(&q->parts[i]);
		free(q->parts[i].items);
	}
	free(q->parts);
	free(q);
}

int nd_qsbr_register(nd_qsbr_t *q)
{
	for (unsigned i = 0; i < q->max; i++) {
		bool expected = false;
		/* acq_rel: claims the slot exclusively; the previous owner's items are ours now. */
		if (atomic_compare_exchange_strong_explicit(&q->parts[i].used, &expected, true,
							    memory_order_acq_rel,
							    memory_order_relaxed)) {
			nd_qsbr_online(q, i);
			return (int)i;
		}
	}
	return -1;
}

void nd_qsbr_quiescent(nd_qsbr_t *q, unsigned slot)
{
	uint64_t g = atomic_load_explicit(&q->global, memory_order_acquire);
	/* release: every read this thread made of shared structures happens-before the epoch
	 * store that lets a reclaimer (acquire load in reclaim) free what those reads found. */
	atomic_store_explicit(&q->parts[slot].epoch, g, memory_order_release);
}

void nd_qsbr_offline(nd_qsbr_t *q, unsigned slot)
{
	/* release: reads before going offline are ordered before the store a reclaimer sees. */
	atomic_store_explicit(&q->parts[slot].epoch, OFFLINE, memory_order_release);
}

void nd_qsbr_online(nd_qsbr_t *q, unsigned slot)
{
	uint64_t g = atomic_load_explicit(&q->global, memory_order_relaxed);
	atomic_store_explicit(&q->parts[slot].epoch, g, memory_order_relaxed);
	/* seq_cst fence (Dekker with the one in reclaim): either a reclaimer sees us online, or
	 * our reads after this fence see the unlink that preceded the retire. */
	atomic_thread_fence(memory_order_seq_cst);
}

void nd_qsbr_retire(nd_qsbr_t *q, unsigned slot, void *ptr, nd_qsbr_fn fn)
{
	participant_t *p = &q->parts[slot];
	if (p->count == p->cap) {
		size_t ncap = p->cap ? p->cap * 2 : 64;
		retired_t *n = malloc(ncap * sizeof(*n));
		if (n == NULL)
			abort();
		for (size_t i = 0; i < p->count; i++)
			n[i] = p->items[(p->head + i) % p->cap];
		free(p->items);
		p->items = n;
		p->head = 0;
		p->cap = ncap;
	}
	/* acq_rel: the unlink (before this call) happens-before any participant's later
	 * quiescent store that reports an epoch >= the stamp. */
	uint64_t e = atomic_fetch_add_explicit(&q->global, 1, memory_order_acq_rel) + 1;
	p->items[(p->head + p->count) % p->cap] = (retired_t){ptr, fn, e};
	p->count++;
}

size_t nd_qsbr_reclaim(nd_qsbr_t *q, unsigned slot)
{
	participant_t *p = &q->parts[slot];
	if (p->count == 0)
		return 0;
	/* seq_cst fence: pairs with the fence in online (see there). */
	atomic_thread_fence(memory_order_seq_cst);
	uint64_t min = OFFLINE;
	for (unsigned i = 0; i < q->max; i++) {
		/* acquire: a participant's reads before its quiescent/offline store are done. */
		uint64_t e = atomic_load_explicit(&q->parts[i].epoch, memory_order_acquire);
		if (e < min)
			min = e;
	}
	while (p->count > 0 && p->items[p->head].epoch <= min) {
		retired_t r = p->items[p->head];
		p->head = (p->head + 1) % p->cap;
		p->count--;
		r.fn(r.ptr);
	}
	return p->count;
}
