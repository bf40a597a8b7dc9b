/* Actor timers on the home worker's timing wheel. */
#include "runtime/timer.h"

#include <assert.h>

#include "runtime/runtime_internal.h"
#include "runtime/worker.h"

void nd_timer_init(nd_timer_t *t, nd_actor_t *owner, nd_timer_cb cb)
{
	nd_wheel_entry_init(&t->entry);
	t->owner = owner;
	t->cb = cb;
}

void nd_timer_start(nd_timer_t *t, uint64_t delay_ms)
{
	nd_worker_t *w = t->owner->home;
	assert(nd_worker_current() == w);
	if (nd_wheel_entry_linked(&t->entry))
		nd_wheel_remove(&w->wheel, &t->entry);
	else
		t->owner->watchers++;
	nd_wheel_insert(&w->wheel, &t->entry, w->now_ms + delay_ms);
}

void nd_timer_stop(nd_timer_t *t)
{
	nd_worker_t *w = t->owner->home;
	assert(nd_worker_current() == w);
	if (!nd_wheel_entry_linked(&t->entry))
		return;
	nd_wheel_remove(&w->wheel, &t->entry);
	t->owner->watchers--;
}
