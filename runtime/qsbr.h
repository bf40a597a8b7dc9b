/* Quiescent-state-based reclamation: memory that readers on other threads may still be looking
 * at is freed only after every registered thread has passed a quiescent point (held no
 * references) since it was retired. Workers pass one at the end of every loop pass and are
 * "offline" (quiescent by definition) while they sleep, so reclamation never waits for an idle
 * worker. Readers pay nothing: no atomics, no section enter/exit. C11 atomics (ADR 0002). */
#ifndef ND_RUNTIME_QSBR_H
#define ND_RUNTIME_QSBR_H

#include <stddef.h>

typedef struct nd_qsbr nd_qsbr_t;
typedef void (*nd_qsbr_fn)(void *ptr);

/* Creates a domain for up to max_threads participants. Caller owns it. */
nd_qsbr_t *nd_qsbr_create(unsigned max_threads);

/* Runs every pending callback and frees the domain. No participant may be online. */
void nd_qsbr_destroy(nd_qsbr_t *q);

/* Claims a participant slot for the calling thread, online. Returns the slot, or -1 if full. */
int nd_qsbr_register(nd_qsbr_t *q);

/* Declares that the calling participant holds no references now. */
void nd_qsbr_quiescent(nd_qsbr_t *q, unsigned slot);

/* The participant will not read shared structures until nd_qsbr_online (e.g. it sleeps). */
void nd_qsbr_offline(nd_qsbr_t *q, unsigned slot);
void nd_qsbr_online(nd_qsbr_t *q, unsigned slot);

/* Schedules fn(ptr) for when no reader can hold ptr. The caller must already have unlinked
 * ptr from every shared structure. Participant's own thread only. */
void nd_qsbr_retire(nd_qsbr_t *q, unsigned slot, void *ptr, nd_qsbr_fn fn);

/* Runs the participant's callbacks that have become safe. Returns how many are still pending. */
size_t nd_qsbr_reclaim(nd_qsbr_t *q, unsigned slot);

#endif
