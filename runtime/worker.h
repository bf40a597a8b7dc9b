/* A worker thread of the runtime and what code running on it may ask of it. */
#ifndef ND_RUNTIME_WORKER_H
#define ND_RUNTIME_WORKER_H

#include <stdint.h>

#include "runtime/runtime.h"

/* The worker the calling thread is, or NULL for any other thread. */
nd_worker_t *nd_worker_current(void);

unsigned nd_worker_index(const nd_worker_t *w);
nd_runtime_t *nd_worker_runtime(const nd_worker_t *w);

/* The loop's cached time in milliseconds (monotonic); updated once per pass. Worker only. */
uint64_t nd_worker_now_ms(const nd_worker_t *w);

/* The extension registered with nd_runtime_add_hooks at `slot`. Worker only. */
void *nd_worker_ext(const nd_worker_t *w, unsigned slot);

/* This worker's participant slot in nd_runtime_qsbr(). Worker only. */
unsigned nd_worker_qsbr_slot(const nd_worker_t *w);

/* Frees ptr with fn once no worker can still be reading it (it must already be unlinked).
 * Worker only. */
void nd_worker_retire(nd_worker_t *w, void *ptr, void (*fn)(void *ptr));

/* Asks for one more pass without sleeping (e.g. a hook left work for the next pass). */
void nd_worker_keep_awake(nd_worker_t *w);

#endif
