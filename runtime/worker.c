/* A worker thread: one libev loop, an inject queue for actors scheduled from other threads,
 * a local run queue, a timing wheel, and per-worker hooks. One pass = IO callbacks, then
 * actor turns (bounded), then due timers, then hooks (flushes), then pool housekeeping. */
#define _GNU_SOURCE
#include "runtime/worker.h"

#include <assert.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <time.h>

#include "runtime/runtime_internal.h"
#include "runtime/timer.h"

static _Thread_local nd_worker_t *tls_worker;

nd_worker_t *nd_worker_current(void)
{
	return tls_worker;
}

unsigned nd_worker_index(const nd_worker_t *w)
{
	return w->index;
}

nd_runtime_t *nd_worker_runtime(const nd_worker_t *w)
{
	return w->rt;
}

uint64_t nd_worker_now_ms(const nd_worker_t *w)
{
	return w->now_ms;
}

void *nd_worker_ext(const nd_worker_t *w, unsigned slot)
{
	return slot < ND_MAX_HOOKS ? w->ext[slot] : NULL;
}

unsigned nd_worker_qsbr_slot(const nd_worker_t *w)
{
	return w->qslot;
}

void nd_worker_retire(nd_worker_t *w, void *ptr, void (*fn)(void *ptr))
{
	nd_qsbr_retire(w->rt->qsbr, w->qslot, ptr, fn);
}

void nd_worker_keep_awake(nd_worker_t *w)
{
	w->keep_awake = true;
}

static uint64_t monotonic_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void nd_worker_runq_push(nd_worker_t *w, nd_actor_t *a)
{
	a->runq_next = NULL;
	if (w->runq_tail != NULL)
		w->runq_tail->runq_next = a;
	else
		w->runq_head = a;
	w->runq_tail = a;
	w->runq_len++;
}

static nd_actor_t *runq_pop(nd_worker_t *w)
{
	nd_actor_t *a = w->runq_head;
	if (a == NULL)
		return NULL;
	w->runq_head = a->runq_next;
	if (w->runq_head == NULL)
		w->runq_tail = NULL;
	w->runq_len--;
	return a;
}

static void drain_inject(nd_worker_t *w)
{
	nd_msg_t *link;
	while ((link = nd_mailbox_pop_sc(&w->inject)) != NULL)
		nd_worker_runq_push(w, nd_actor_from_link(link));
}

/* Runs the actors that were runnable when the pass began, one turn each, so that actors made
 * runnable during the pass (or rescheduled after a full batch) wait for the next pass and IO
 * gets its turn in between. */
static void run_actors(nd_worker_t *w)
{
	size_t n = w->runq_len;
	while (n-- > 0) {
		nd_actor_t *a = runq_pop(w);
		if (nd_actor_run_turn(a))
			nd_worker_runq_push(w, a);
	}
}

static void fire_timers(nd_worker_t *w)
{
	nd_wheel_advance(&w->wheel, w->now_ms);
	nd_wheel_entry_t *e;
	while ((e = nd_wheel_pop_due(&w->wheel)) != NULL) {
		nd_timer_t *t = (nd_timer_t *)e;
		nd_actor_t *a = t->owner;
		a->watchers--;
		w->current = a;
		t->cb(a, t);
		w->current = NULL;
		nd_actor_after_callback(a);
	}
}

/* Highest priority check watcher: runs right after the poll, before any IO callback, so
 * that timers started from IO callbacks count from the wake-up, not from before the sleep. */
static void clock_check_cb(struct ev_loop *loop, ev_check *c, int revents)
{
	nd_worker_t *w = ev_userdata(loop);
	w->now_ms = monotonic_ns() / 1000000u;
	/* Back from the poll: IO callbacks may read shared structures from here on. */
	if (w->offline) {
		nd_qsbr_online(w->rt->qsbr, w->qslot);
		w->offline = false;
	}
}

void nd_worker_async_cb(struct ev_loop *loop, ev_async *a, int revents)
{
	/* Only wakes the loop: the pass drains the inject queue. Counted as an event so that a
	 * wake-up consumed by a spin's poll is not mistaken for silence (see spin). */
	nd_worker_t *w = ev_userdata(loop);
	w->io_calls++;
}

void nd_worker_wheel_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	nd_worker_t *w = ev_userdata(loop);
	w->wheel_armed_for = UINT64_MAX; /* one-shot: the pass re-arms */
	w->io_calls++;                   /* a pass must run the due timers */
}

static void arm_wheel_timer(nd_worker_t *w)
{
	uint64_t next = nd_wheel_next(&w->wheel);
	if (next == w->wheel_armed_for)
		return;
	if (w->wheel_armed_for != UINT64_MAX)
		ev_timer_stop(w->loop, &w->wheel_timer);
	w->wheel_armed_for = next;
	if (next == UINT64_MAX)
		return;
	double delay = next > w->now_ms ? (double)(next - w->now_ms) / 1000.0 : 0.0;
	ev_timer_set(&w->wheel_timer, delay, 0.0);
	ev_timer_start(w->loop, &w->wheel_timer);
}

static void run_hooks(nd_worker_t *w)
{
	nd_runtime_t *rt = w->rt;
	for (unsigned i = 0; i < rt->nhooks; i++)
		if (rt->hooks[i].hooks.pass_end != NULL)
			rt->hooks[i].hooks.pass_end(w, w->ext[i]);
}

static void maintain_pools(nd_worker_t *w)
{
	for (unsigned i = 0; i < ND_MSG_CLASSES; i++)
		nd_pool_maintain(w->rt->msg_pools[i]);
}

/* One pass after IO callbacks. Returns true if there is more to do without sleeping. */
static bool pass(nd_worker_t *w)
{
	w->now_ms = monotonic_ns() / 1000000u;
	if (w->offline) { /* the poll returned without running the clock check */
		nd_qsbr_online(w->rt->qsbr, w->qslot);
		w->offline = false;
	}
	drain_inject(w);
	run_actors(w);
	fire_timers(w);
	run_hooks(w);
	maintain_pools(w);
	arm_wheel_timer(w);
	nd_qsbr_quiescent(w->rt->qsbr, w->qslot);
	nd_qsbr_reclaim(w->rt->qsbr, w->qslot);
	bool busy = w->runq_len > 0 || w->keep_awake || w->wheel.due.head != NULL;
	w->keep_awake = false;
	/* Going idle on the inject queue makes the next remote scheduler ev_async_send us. */
	if (!nd_mailbox_mark_idle_sc(&w->inject))
		busy = true;
	return busy;
}

enum spin_result { SPIN_TIMEOUT, SPIN_INJECT, SPIN_IO };

/* Polls briefly before sleeping: waking a sleeping loop costs tens of microseconds here (see
 * docs/performance.md), a push seen while spinning costs nothing. Polls the socket backend
 * now and then so that IO waits at most a couple of microseconds. Any callback the poll ran
 * (IO, the wake-up async, the wheel timer) ends the spin with a pass: the poll may have
 * consumed the very wake-up that a producer sent for work now waiting in the inject queue. */
static enum spin_result spin(nd_worker_t *w)
{
	uint64_t deadline = monotonic_ns() + (uint64_t)w->rt->opts.spin_us * 1000u;
	unsigned long io_before = w->io_calls;
	for (unsigned i = 1;; i++) {
		if (!nd_mailbox_is_idle(&w->inject))
			return SPIN_INJECT;
		__builtin_ia32_pause();
		if ((i & 63) == 0) {
			/* relaxed: a stop request needs no ordering beyond its own visibility. */
			if (atomic_load_explicit(&w->quit, memory_order_relaxed))
				return SPIN_INJECT;
			ev_run(w->loop, EVRUN_NOWAIT);
			if (w->io_calls != io_before)
				return SPIN_IO;
			if (monotonic_ns() >= deadline)
				return SPIN_TIMEOUT;
		}
	}
}

/* Runs turns until nothing on this worker is runnable. */
static void settle(nd_worker_t *w)
{
	for (;;) {
		drain_inject(w);
		while (w->runq_len > 0)
			run_actors(w);
		fire_timers(w);
		if (w->runq_len == 0 && nd_mailbox_mark_idle_sc(&w->inject))
			return;
	}
}

static void shutdown_worker(nd_worker_t *w)
{
	nd_runtime_t *rt = w->rt;
	w->stopping = true;
	w->now_ms = monotonic_ns() / 1000000u;
	while (w->actors != NULL)
		nd_actor_stop_now(w->actors);
	settle(w);
	/* Other workers may still be stopping actors that start or schedule actors here. */
	pthread_barrier_wait(&rt->stop_barrier);
	settle(w);
	for (unsigned i = 0; i < rt->nhooks; i++)
		if (rt->hooks[i].hooks.fini != NULL)
			rt->hooks[i].hooks.fini(w, w->ext[i]);
	maintain_pools(w);
	nd_qsbr_quiescent(rt->qsbr, w->qslot);
	nd_qsbr_reclaim(rt->qsbr, w->qslot);
	nd_qsbr_offline(rt->qsbr, w->qslot); /* the rest runs at nd_runtime_destroy */
	if (w->wheel_armed_for != UINT64_MAX)
		ev_timer_stop(w->loop, &w->wheel_timer);
	w->wheel_armed_for = UINT64_MAX;
	assert(w->wheel.count == 0);
}

static void pin_thread(nd_worker_t *w)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpu <= 0)
		return;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(w->index % (unsigned)ncpu, &set);
	if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set) != 0)
		fprintf(stderr, "natsd: cannot pin worker %u\n", w->index);
}

void *nd_worker_main(void *arg)
{
	nd_worker_t *w = arg;
	nd_runtime_t *rt = w->rt;
	tls_worker = w;
	nd_pool_bind_thread(rt, w->index);
	char name[16];
	snprintf(name, sizeof(name), "%.10s-w%u", rt->opts.thread_name, w->index);
	pthread_setname_np(pthread_self(), name);
	if (rt->opts.pin_threads)
		pin_thread(w);
	w->now_ms = monotonic_ns() / 1000000u;
	w->qslot = (unsigned)nd_qsbr_register(rt->qsbr); /* one slot per worker: never fails */
	ev_check clock_check;
	ev_check_init(&clock_check, clock_check_cb);
	ev_set_priority(&clock_check, EV_MAXPRI);
	ev_check_start(w->loop, &clock_check);
	for (unsigned i = 0; i < rt->nhooks; i++)
		if (rt->hooks[i].hooks.init != NULL)
			w->ext[i] = rt->hooks[i].hooks.init(w, rt->hooks[i].arg);

	bool busy = true, poll = true;
	/* relaxed: see spin(); the worker re-checks after every pass. */
	while (!atomic_load_explicit(&w->quit, memory_order_relaxed)) {
		if (poll) {
			/* About to sleep: hold no references, so reclamation need not wait for us.
			 * The clock check after the poll brings us back online. */
			if (!busy) {
				nd_qsbr_offline(rt->qsbr, w->qslot);
				w->offline = true;
			}
			ev_run(w->loop, busy ? EVRUN_NOWAIT : EVRUN_ONCE);
		}
		busy = pass(w);
		poll = true;
		if (!busy && rt->opts.spin_us > 0) {
			enum spin_result r = spin(w);
			busy = r != SPIN_TIMEOUT;
			/* Work from another worker: run it now, the poll can wait one pass. */
			poll = r != SPIN_INJECT;
		}
	}
	shutdown_worker(w);
	ev_check_stop(w->loop, &clock_check);
	tls_worker = NULL;
	return NULL;
}
