/* Actors: state + behaviour + mailbox. An actor lives on one worker (its home) for its whole
 * life, runs on at most that one thread, and processes a bounded batch of messages per turn.
 * Messages are sent from any thread; IO readiness and timer expiry arrive as calls on the
 * home worker (runtime/io.h, runtime/timer.h). See docs/adr/0001 and 0003. */
#ifndef ND_RUNTIME_ACTOR_H
#define ND_RUNTIME_ACTOR_H

#include <stdbool.h>
#include <stddef.h>

#include "runtime/msg.h"
#include "runtime/runtime.h"

typedef struct nd_actor nd_actor_t;

/* Behaviour. Every callback but on_free runs on the actor's home worker. */
typedef struct nd_actor_class {
	const char *name;
	void (*on_start)(nd_actor_t *self);                  /* first turn; optional */
	void (*on_message)(nd_actor_t *self, nd_msg_t *msg); /* takes ownership of msg */
	/* Last turn: must stop every io watcher and timer it started. Optional. */
	void (*on_stop)(nd_actor_t *self);
	/* When the last reference is gone; any thread; state only. Optional. */
	void (*on_free)(nd_actor_t *self);
} nd_actor_class_t;

/* Creates an actor with `state_size` zeroed bytes of state, homed on `home` (NULL: next
 * worker round-robin). It does not run until nd_actor_start; messages sent before that wait.
 * Returns a reference owned by the caller. Any thread. */
nd_actor_t *nd_actor_create(nd_runtime_t *rt, const nd_actor_class_t *cls, size_t state_size,
			    nd_worker_t *home);

/* Schedules the first turn (on_start). The runtime keeps the actor alive until it stops; the
 * caller's reference is still the caller's. No-op once the runtime is shutting down. */
void nd_actor_start(nd_actor_t *a);

/* Sends msg (consumed). The caller must hold a reference to `to` or be `to`. Safe at any
 * time, also after `to` stopped: the message is then released, never delivered. Any thread. */
void nd_actor_send(nd_actor_t *to, nd_msg_t *msg);

/* Stops the actor: from its own callbacks it takes effect when the callback returns;
 * otherwise after the messages already queued ahead of the stop. Idempotent. Any thread. */
void nd_actor_stop(nd_actor_t *a);

/* Reference counting; unref of the last reference frees the actor (on_free, then release of
 * any messages still queued). Any thread. */
nd_actor_t *nd_actor_ref(nd_actor_t *a);
void nd_actor_unref(nd_actor_t *a);

void *nd_actor_state(nd_actor_t *a);
nd_actor_t *nd_actor_of_state(void *state);
nd_worker_t *nd_actor_home(const nd_actor_t *a);
nd_runtime_t *nd_actor_runtime(const nd_actor_t *a);
const char *nd_actor_name(const nd_actor_t *a);

/* True once stop was requested from the actor's own callbacks or processed. Home only. */
bool nd_actor_stopping(const nd_actor_t *a);

#endif
