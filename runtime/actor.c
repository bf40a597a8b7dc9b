/* Actor lifecycle, scheduling and turns. The mailbox's idle tag decides who schedules: the
 * one sender that finds it idle. A stopped actor's mailbox is never marked idle again, so it
 * is never scheduled again; messages sent to it wait until its last reference goes and are
 * released then. */
#include "runtime/actor.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/runtime_internal.h"
#include "runtime/worker.h"

#define ACTOR_OF_LINK(link) ((nd_actor_t *)((char *)(link)-offsetof(nd_actor_t, sched_link)))

nd_actor_t *nd_actor_create(nd_runtime_t *rt, const nd_actor_class_t *cls, size_t state_size,
			    nd_worker_t *home)
{
	nd_actor_t *a = aligned_alloc(64, (sizeof(nd_actor_t) + state_size + 63) & ~(size_t)63);
	if (a == NULL) {
		fputs("natsd: out of memory\n", stderr);
		abort();
	}
	memset(a, 0, sizeof(*a) + state_size);
	nd_mailbox_init(&a->mailbox);
	a->rt = rt;
	a->home = home != NULL ? home : nd_runtime_next_worker(rt);
	a->cls = cls;
	a->state = ACTOR_CREATED;
	a->start_msg.type = ND_SYS_START;
	a->start_msg.flags = ND_MSG_F_SYSTEM | ND_MSG_F_EMBEDDED;
	a->stop_msg.type = ND_SYS_STOP;
	a->stop_msg.flags = ND_MSG_F_SYSTEM | ND_MSG_F_EMBEDDED;
	atomic_init(&a->stop_sent, false);
	atomic_init(&a->refs, 1);
	/* The start message goes first and takes the idle state, so that messages sent before
	 * nd_actor_start queue behind it and nobody schedules the actor but nd_actor_start. */
	bool was_idle = nd_mailbox_push_mp(&a->mailbox, &a->start_msg);
	assert(was_idle);
	(void)was_idle;
	/* relaxed: a statistic for leak reports. */
	atomic_fetch_add_explicit(&rt->live_actors, 1, memory_order_relaxed);
	return a;
}

void nd_actor_start(nd_actor_t *a)
{
	/* acquire: pairs with the release store in shutdown; a start that loses the race is
	 * still handled (its turn sees the worker stopping). */
	if (atomic_load_explicit(&a->rt->stopping, memory_order_acquire))
		return;
	nd_actor_ref(a); /* the run reference, dropped when the actor is retired */
	nd_actor_schedule(a);
}

void nd_actor_schedule(nd_actor_t *a)
{
	nd_worker_t *w = nd_worker_current();
	nd_worker_t *home = a->home;
	if (w == home) {
		nd_worker_runq_push(home, a);
		return;
	}
	if (nd_mailbox_push_mp(&home->inject, &a->sched_link))
		ev_async_send(home->loop, &home->wake); /* inject was idle: the worker may sleep */
}

void nd_actor_send(nd_actor_t *to, nd_msg_t *msg)
{
	if (nd_mailbox_push_mp(&to->mailbox, msg))
		nd_actor_schedule(to);
}

nd_actor_t *nd_actor_ref(nd_actor_t *a)
{
	/* relaxed: taking a reference needs an existing one; nothing is published. */
	atomic_fetch_add_explicit(&a->refs, 1, memory_order_relaxed);
	return a;
}

static void release_msg(nd_msg_t *m)
{
	if ((m->flags & ND_MSG_F_EMBEDDED) == 0)
		nd_msg_free(m);
}

static void drain(nd_actor_t *a)
{
	nd_msg_t *m;
	while ((m = nd_mailbox_pop_sc(&a->mailbox)) != NULL)
		release_msg(m);
}

void nd_actor_unref(nd_actor_t *a)
{
	/* acq_rel: release orders this holder's use of the actor (including its sends) before
	 * the free; acquire makes every other holder's use visible to the thread that frees. */
	if (atomic_fetch_sub_explicit(&a->refs, 1, memory_order_acq_rel) != 1)
		return;
	if (a->cls->on_free != NULL)
		a->cls->on_free(a);
	/* Every sender held a reference and finished its push before dropping it, so the
	 * mailbox is complete: this drain sees every late message. */
	drain(a);
	nd_runtime_t *rt = a->rt;
	free(a);
	/* relaxed: a statistic. */
	atomic_fetch_sub_explicit(&rt->live_actors, 1, memory_order_relaxed);
}

void nd_actor_stop(nd_actor_t *a)
{
	nd_worker_t *w = nd_worker_current();
	if (w == a->home && a->state != ACTOR_STOPPED && w->current == a) {
		a->stop_pending = true; /* finalised when its callback returns */
		return;
	}
	/* acq_rel: only the first caller pushes the embedded stop message. */
	if (!atomic_exchange_explicit(&a->stop_sent, true, memory_order_acq_rel))
		nd_actor_send(a, &a->stop_msg);
}

static void list_add(nd_worker_t *w, nd_actor_t *a)
{
	a->list_prev = NULL;
	a->list_next = w->actors;
	if (w->actors != NULL)
		w->actors->list_prev = a;
	w->actors = a;
}

static void list_remove(nd_worker_t *w, nd_actor_t *a)
{
	if (a->list_prev != NULL)
		a->list_prev->list_next = a->list_next;
	else
		w->actors = a->list_next;
	if (a->list_next != NULL)
		a->list_next->list_prev = a->list_prev;
	a->list_prev = a->list_next = NULL;
}

/* Runs on_stop and leaves the actor STOPPED; its mailbox and run reference are the caller's
 * business (see retire). */
static void finalise(nd_actor_t *a)
{
	bool was_running = a->state == ACTOR_RUNNING;
	a->state = ACTOR_STOPPED;
	a->stop_pending = false;
	if (was_running) {
		nd_worker_t *w = a->home;
		nd_actor_t *prev = w->current;
		w->current = a;
		if (a->cls->on_stop != NULL)
			a->cls->on_stop(a);
		w->current = prev;
		list_remove(w, a);
	}
	if (a->watchers != 0) {
		fprintf(stderr, "natsd: actor %s stopped with %u watchers active\n", a->cls->name,
			a->watchers);
		abort();
	}
}

/* Drops the run reference of a stopped actor that is not (and will never again be) on a run
 * queue: drain what is queued now, and never mark the mailbox idle again. */
static void retire(nd_actor_t *a)
{
	drain(a);
	nd_actor_unref(a);
}

/* Stops an actor from its home worker while it is not in a turn: after one of its callbacks
 * (self-stop) or at shutdown. If nobody has scheduled it, the mailbox is claimed so nobody
 * will; otherwise the run queue holds it and its next turn retires it. */
static void stop_outside_turn(nd_actor_t *a)
{
	finalise(a);
	if (nd_mailbox_claim_idle_sc(&a->mailbox))
		retire(a);
}

void nd_actor_after_callback(nd_actor_t *a)
{
	if (a->stop_pending && a->state == ACTOR_RUNNING)
		stop_outside_turn(a);
}

void nd_actor_stop_now(nd_actor_t *a)
{
	if (a->state == ACTOR_RUNNING)
		stop_outside_turn(a);
}

void nd_actor_abandon(nd_actor_t *a)
{
	/* Only at runtime destroy, with every worker joined: nothing runs concurrently. */
	if (a->state == ACTOR_RUNNING)
		finalise(a);
	a->state = ACTOR_STOPPED;
	retire(a);
}

bool nd_actor_run_turn(nd_actor_t *a)
{
	nd_worker_t *w = a->home;
	if (a->state == ACTOR_STOPPED) {
		retire(a); /* was scheduled when it stopped: this is its last visit */
		return false;
	}
	unsigned msgs = 0;
	size_t bytes = 0;
	const unsigned max_msgs = a->rt->opts.turn_msgs;
	const size_t max_bytes = a->rt->opts.turn_bytes;
	nd_msg_t *m = NULL;
	while (msgs < max_msgs && bytes < max_bytes) {
		m = nd_mailbox_pop_sc(&a->mailbox);
		if (m == NULL)
			break;
		msgs++;
		bytes += m->weight;
		w->current = a;
		if (m->flags & ND_MSG_F_SYSTEM) {
			if (m->type == ND_SYS_START) {
				if (w->stopping) {
					a->stop_pending =
					    true; /* never started: no on_stop either */
				} else {
					a->state = ACTOR_RUNNING;
					list_add(w, a);
					if (a->cls->on_start != NULL)
						a->cls->on_start(a);
				}
			} else {
				a->stop_pending = true;
			}
		} else {
			a->cls->on_message(a, m);
		}
		w->current = NULL;
		if (a->stop_pending) {
			finalise(a);
			retire(a);
			return false;
		}
	}
	if (m == NULL && nd_mailbox_mark_idle_sc(&a->mailbox))
		return false;
	return true;
}

void *nd_actor_state(nd_actor_t *a)
{
	return a->state_bytes;
}

nd_actor_t *nd_actor_of_state(void *state)
{
	return (nd_actor_t *)((char *)state - offsetof(nd_actor_t, state_bytes));
}

nd_worker_t *nd_actor_home(const nd_actor_t *a)
{
	return a->home;
}

nd_runtime_t *nd_actor_runtime(const nd_actor_t *a)
{
	return a->rt;
}

const char *nd_actor_name(const nd_actor_t *a)
{
	return a->cls->name;
}

bool nd_actor_stopping(const nd_actor_t *a)
{
	return a->stop_pending || a->state == ACTOR_STOPPED;
}

nd_actor_t *nd_actor_from_link(nd_msg_t *link)
{
	return ACTOR_OF_LINK(link);
}
