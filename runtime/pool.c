/* Per-thread-slot pools: slab carving, local free lists, batched remote frees. */
#include "runtime/pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLAB_SIZE ((size_t)64 * 1024)
#define REMOTE_BATCH 32u /* objects sent home per CAS */

/* A free object is reused as links: next in its list or chain, and (chain heads only) the
 * next chain on a return stack. Hence the 16-byte minimum object size. */
typedef struct free_obj {
	struct free_obj *next;
	struct free_obj *next_chain;
} free_obj_t;

typedef struct slab {
	nd_pool_t *pool;
	unsigned owner; /* slot whose free list this slab's objects belong to */
	struct slab *next_slab;
} slab_t;

#define SLAB_HEADER ((sizeof(slab_t) + 63) & ~(size_t)63)

typedef struct remote_batch {
	free_obj_t *head;
	unsigned count;
} remote_batch_t;

typedef struct slot_cache {
	/* Written by other threads: its own cache line. */
	_Alignas(64) _Atomic(free_obj_t *) returns;
	/* Owner-only below. */
	_Alignas(64) free_obj_t *free;
	remote_batch_t *out; /* [nslots + 1] batches on their way to other slots */
	/* Written by the owner only, read by nd_pool_live from anywhere: relaxed atomics. */
	_Atomic long allocated;
	_Atomic long freed;
} slot_cache_t;

struct nd_pool {
	const void *domain;
	unsigned nslots; /* bound slots; slot nslots is the shared, locked one */
	size_t obj_size;
	char name[32];
	pthread_mutex_t lock; /* shared slot and the slab list */
	slab_t *slabs;
	slot_cache_t *caches; /* [nslots + 1] */
};

static _Thread_local const void *bound_domain;
static _Thread_local unsigned bound_slot;

void nd_pool_bind_thread(const void *domain, unsigned slot)
{
	bound_domain = domain;
	bound_slot = slot;
}

static inline unsigned current_slot(const nd_pool_t *pool)
{
	if (bound_domain == pool->domain && bound_slot < pool->nslots)
		return bound_slot;
	return pool->nslots;
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);
	if (p == NULL) {
		fputs("natsd: out of memory\n", stderr);
		abort();
	}
	return p;
}

nd_pool_t *nd_pool_create(const void *domain, unsigned nslots, size_t obj_size, const char *name)
{
	size_t size = (obj_size + 15) & ~(size_t)15;
	if (obj_size == 0 || size > (SLAB_SIZE - SLAB_HEADER) / 4)
		return NULL;
	nd_pool_t *pool = xcalloc(1, sizeof(*pool));
	pool->domain = domain;
	pool->nslots = nslots;
	pool->obj_size = size;
	snprintf(pool->name, sizeof(pool->name), "%s", name ? name : "pool");
	pthread_mutex_init(&pool->lock, NULL);
	pool->caches = aligned_alloc(64, sizeof(slot_cache_t) * (nslots + 1));
	if (pool->caches == NULL) {
		fputs("natsd: out of memory\n", stderr);
		abort();
	}
	memset(pool->caches, 0, sizeof(slot_cache_t) * (nslots + 1));
	for (unsigned i = 0; i <= nslots; i++) {
		atomic_init(&pool->caches[i].returns, NULL);
		atomic_init(&pool->caches[i].allocated, 0);
		atomic_init(&pool->caches[i].freed, 0);
		pool->caches[i].out = xcalloc(nslots + 1, sizeof(remote_batch_t));
	}
	return pool;
}

static inline slab_t *slab_of(const void *obj)
{
	return (slab_t *)((uintptr_t)obj & ~(uintptr_t)(SLAB_SIZE - 1));
}

/* Owner-only counter bump: a plain load and store, made atomic only so that readers on
 * other threads (statistics) are race-free. relaxed: no ordering is implied by a count. */
static inline void count(_Atomic long *counter)
{
	atomic_store_explicit(counter, atomic_load_explicit(counter, memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

/* Carves a new slab into `slot`'s free list. For the shared slot the caller holds the lock;
 * for a bound slot the lock is taken here for the slab list only. */
static void grow(nd_pool_t *pool, unsigned slot)
{
	bool shared = slot == pool->nslots;
	slab_t *slab = aligned_alloc(SLAB_SIZE, SLAB_SIZE);
	if (slab == NULL) {
		fputs("natsd: out of memory\n", stderr);
		abort();
	}
	slab->pool = pool;
	slab->owner = slot;
	if (!shared)
		pthread_mutex_lock(&pool->lock);
	slab->next_slab = pool->slabs;
	pool->slabs = slab;
	if (!shared)
		pthread_mutex_unlock(&pool->lock);

	slot_cache_t *c = &pool->caches[slot];
	char *first = (char *)slab + SLAB_HEADER;
	size_t n = (SLAB_SIZE - SLAB_HEADER) / pool->obj_size;
	for (size_t i = n; i-- > 0;) {
		free_obj_t *o = (free_obj_t *)(first + i * pool->obj_size);
		o->next = c->free;
		c->free = o;
	}
}

/* Moves every chain other threads returned to `slot` into its free list. */
static void take_returns(slot_cache_t *c)
{
	/* relaxed pre-check keeps the common "nothing returned" case free of RMW traffic. */
	if (atomic_load_explicit(&c->returns, memory_order_relaxed) == NULL)
		return;
	/* acquire: pairs with the release CAS of each pushing thread, so the links they wrote
	 * into the objects are visible before we walk them. */
	free_obj_t *chain = atomic_exchange_explicit(&c->returns, NULL, memory_order_acquire);
	while (chain != NULL) {
		free_obj_t *next_chain = chain->next_chain;
		free_obj_t *last = chain;
		while (last->next != NULL)
			last = last->next;
		last->next = c->free;
		c->free = chain;
		chain = next_chain;
	}
}

static void push_chain(slot_cache_t *home, free_obj_t *chain)
{
	/* relaxed: the value is only a CAS expectation. */
	free_obj_t *top = atomic_load_explicit(&home->returns, memory_order_relaxed);
	do {
		chain->next_chain = top;
		/* release: publishes the chain's links (written above and when batching) to the
		 * owner's acquire exchange. No ABA: the owner only ever takes the whole stack. */
	} while (!atomic_compare_exchange_weak_explicit(
	    &home->returns, &top, chain, memory_order_release, memory_order_relaxed));
}

void *nd_pool_alloc(nd_pool_t *pool)
{
	unsigned slot = current_slot(pool);
	slot_cache_t *c = &pool->caches[slot];
	bool shared = slot == pool->nslots;
	if (shared)
		pthread_mutex_lock(&pool->lock);
	if (c->free == NULL)
		take_returns(c);
	if (c->free == NULL)
		grow(pool, slot);
	free_obj_t *o = c->free;
	c->free = o->next;
	count(&c->allocated);
	if (shared)
		pthread_mutex_unlock(&pool->lock);
	return o;
}

void nd_pool_free(void *obj)
{
	if (obj == NULL)
		return;
	slab_t *slab = slab_of(obj);
	nd_pool_t *pool = slab->pool;
	unsigned slot = current_slot(pool);
	unsigned owner = slab->owner;
	free_obj_t *o = obj;
	slot_cache_t *c = &pool->caches[slot];

	if (slot == pool->nslots) {
		/* Unbound thread: count under the lock, send the object home directly. */
		pthread_mutex_lock(&pool->lock);
		count(&c->freed);
		if (owner == pool->nslots) {
			o->next = c->free;
			c->free = o;
			pthread_mutex_unlock(&pool->lock);
			return;
		}
		pthread_mutex_unlock(&pool->lock);
		o->next = NULL;
		push_chain(&pool->caches[owner], o);
		return;
	}
	count(&c->freed);
	if (owner == slot) {
		o->next = c->free;
		c->free = o;
		return;
	}
	remote_batch_t *b = &c->out[owner];
	o->next = b->head;
	b->head = o;
	if (++b->count >= REMOTE_BATCH) {
		push_chain(&pool->caches[owner], b->head);
		b->head = NULL;
		b->count = 0;
	}
}

void nd_pool_maintain(nd_pool_t *pool)
{
	unsigned slot = current_slot(pool);
	if (slot == pool->nslots)
		return;
	slot_cache_t *c = &pool->caches[slot];
	for (unsigned i = 0; i <= pool->nslots; i++) {
		remote_batch_t *b = &c->out[i];
		if (b->head == NULL)
			continue;
		push_chain(&pool->caches[i], b->head);
		b->head = NULL;
		b->count = 0;
	}
	take_returns(c);
}

long nd_pool_live(nd_pool_t *pool)
{
	long live = 0;
	for (unsigned i = 0; i <= pool->nslots; i++) {
		slot_cache_t *c = &pool->caches[i];
		live += atomic_load_explicit(&c->allocated, memory_order_relaxed) -
			atomic_load_explicit(&c->freed, memory_order_relaxed);
	}
	return live;
}

size_t nd_pool_obj_size(const void *obj)
{
	return slab_of(obj)->pool->obj_size;
}

long nd_pool_destroy(nd_pool_t *pool)
{
	if (pool == NULL)
		return 0;
	long live = nd_pool_live(pool);
	slab_t *s = pool->slabs;
	while (s != NULL) {
		slab_t *next = s->next_slab;
		free(s);
		s = next;
	}
	for (unsigned i = 0; i <= pool->nslots; i++)
		free(pool->caches[i].out);
	free(pool->caches);
	pthread_mutex_destroy(&pool->lock);
	free(pool);
	return live;
}
