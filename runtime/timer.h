/* Timers for actors, kept in the home worker's timing wheel (one ev_timer per worker, not one
 * per connection). Expiry runs the callback on the home worker. Millisecond resolution. The
 * struct is public so that it can be embedded in actor state; its fields are not. */
#ifndef ND_RUNTIME_TIMER_H
#define ND_RUNTIME_TIMER_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/actor.h"
#include "runtime/timer_wheel.h"

typedef struct nd_timer nd_timer_t;
typedef void (*nd_timer_cb)(nd_actor_t *self, nd_timer_t *timer);

struct nd_timer {
	nd_wheel_entry_t entry;
	nd_actor_t *owner;
	nd_timer_cb cb;
};

/* Prepares a stopped timer. Home worker only (or before the actor starts). */
void nd_timer_init(nd_timer_t *t, nd_actor_t *owner, nd_timer_cb cb);

/* (Re)arms the timer to fire once, delay_ms from the loop's current time. Home worker only. */
void nd_timer_start(nd_timer_t *t, uint64_t delay_ms);

/* Disarms; no-op if not armed. Home worker only. */
void nd_timer_stop(nd_timer_t *t);

static inline bool nd_timer_active(const nd_timer_t *t)
{
	return nd_wheel_entry_linked(&t->entry);
}

#endif
