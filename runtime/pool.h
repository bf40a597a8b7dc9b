/* Pools of small fixed-size objects with one cache per worker thread. Allocation and a free
 * on the owning worker are a few loads and stores; objects freed on another worker are sent
 * home in batches (one CAS per batch), so producer-allocates / consumer-frees traffic does
 * not strand memory on the consumer (the "ratchet" of Pony's old pool). Memory comes from
 * 64 KiB slabs that are kept until the pool is destroyed. */
#ifndef ND_RUNTIME_POOL_H
#define ND_RUNTIME_POOL_H

#include <stddef.h>

typedef struct nd_pool nd_pool_t;

/* Binds the calling thread to cache `slot` of every pool created with the same `domain`
 * (a runtime). Unbound threads use a shared, locked cache. Call once per worker thread. */
void nd_pool_bind_thread(const void *domain, unsigned slot);

/* Creates a pool of objects of `obj_size` bytes for `nslots` bound threads of `domain`.
 * Returns NULL only if obj_size is 0 or too large for a slab. Caller owns it. */
nd_pool_t *nd_pool_create(const void *domain, unsigned nslots, size_t obj_size, const char *name);

/* Returns an uninitialised object. Any thread. Aborts on out-of-memory. */
void *nd_pool_alloc(nd_pool_t *pool);

/* Returns `obj` (from any pool) to its pool. Any thread. */
void nd_pool_free(void *obj);

/* Pool housekeeping for the calling bound thread: sends pending remote-free batches home and
 * takes in the objects other threads returned. Workers call it once per loop pass. */
void nd_pool_maintain(nd_pool_t *pool);

/* Objects allocated and not yet freed. Exact only when no thread uses the pool. */
long nd_pool_live(nd_pool_t *pool);

/* Object size of the pool `obj` belongs to. */
size_t nd_pool_obj_size(const void *obj);

/* Frees all memory. Every thread must be done with the pool. Returns the number of objects
 * that were still live (leaked), so tests can fail on leaks. */
long nd_pool_destroy(nd_pool_t *pool);

#endif
