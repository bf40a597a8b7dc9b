/* Runtime lifecycle: workers and their loops, message pools, shutdown in two phases. */
#define _GNU_SOURCE
#include "runtime/runtime.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "runtime/runtime_internal.h"
#include "runtime/worker.h"

void nd_runtime_opts_default(nd_runtime_opts_t *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->spin_us = 20;
	opts->turn_msgs = 64;
	opts->turn_bytes = 256 * 1024;
	opts->thread_name = "natsd";
}

/* CPUs this process may run on (taskset, cgroup cpusets), not just those online. */
static unsigned usable_cpus(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
		return (unsigned)CPU_COUNT(&set);
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

static uint64_t monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int nd_runtime_create(nd_runtime_t **out, const nd_runtime_opts_t *opts)
{
	nd_runtime_opts_t defaults;
	if (opts == NULL) {
		nd_runtime_opts_default(&defaults);
		opts = &defaults;
	}
	nd_runtime_t *rt = calloc(1, sizeof(*rt));
	if (rt == NULL)
		return -ENOMEM;
	rt->opts = *opts;
	if (rt->opts.turn_msgs == 0)
		rt->opts.turn_msgs = 64;
	if (rt->opts.turn_bytes == 0)
		rt->opts.turn_bytes = 256 * 1024;
	if (rt->opts.thread_name == NULL)
		rt->opts.thread_name = "natsd";
	rt->nworkers = opts->workers != 0 ? opts->workers : usable_cpus();
	if (rt->nworkers > 1024) {
		free(rt);
		return -EINVAL;
	}
	atomic_init(&rt->next_worker, 0);
	atomic_init(&rt->live_actors, 0);
	atomic_init(&rt->stopping, false);
	rt->workers = aligned_alloc(64, sizeof(nd_worker_t) * rt->nworkers);
	if (rt->workers == NULL) {
		free(rt);
		return -ENOMEM;
	}
	memset(rt->workers, 0, sizeof(nd_worker_t) * rt->nworkers);
	uint64_t now = monotonic_ms();
	for (unsigned i = 0; i < rt->nworkers; i++) {
		nd_worker_t *w = &rt->workers[i];
		w->rt = rt;
		w->index = i;
		nd_mailbox_init(&w->inject);
		atomic_init(&w->quit, false);
		/* Signals are handled in one place (runtime/signals.h): NOSIGMASK keeps libev away
		 * from the thread's signal mask. */
		w->loop = ev_loop_new(EVBACKEND_EPOLL | EVFLAG_NOSIGMASK | EVFLAG_NOENV);
		if (w->loop == NULL) {
			for (unsigned j = 0; j < i; j++)
				ev_loop_destroy(rt->workers[j].loop);
			free(rt->workers);
			free(rt);
			return -ENOSYS;
		}
		ev_set_userdata(w->loop, w);
		/* Started here, before the thread exists, so that ev_async_send from any thread
		 * is valid as soon as the runtime is visible. */
		ev_async_init(&w->wake, nd_worker_async_cb);
		ev_async_start(w->loop, &w->wake);
		ev_timer_init(&w->wheel_timer, nd_worker_wheel_timer_cb, 0.0, 0.0);
		w->wheel_armed_for = UINT64_MAX;
		nd_wheel_init(&w->wheel, now);
		w->now_ms = now;
	}
	static const char *const names[ND_MSG_CLASSES] = {"msg64",   "msg128",  "msg256", "msg512",
							  "msg1024", "msg2048", "msg4096"};
	for (unsigned c = 0; c < ND_MSG_CLASSES; c++)
		rt->msg_pools[c] = nd_pool_create(rt, rt->nworkers, (size_t)64 << c, names[c]);
	rt->qsbr = nd_qsbr_create(rt->nworkers);
	*out = rt;
	return 0;
}

int nd_runtime_add_hooks(nd_runtime_t *rt, const nd_worker_hooks_t *hooks, void *arg,
			 unsigned *slot)
{
	if (rt->started)
		return -EBUSY;
	if (rt->nhooks == ND_MAX_HOOKS)
		return -ENOSPC;
	rt->hooks[rt->nhooks].hooks = *hooks;
	rt->hooks[rt->nhooks].arg = arg;
	if (slot != NULL)
		*slot = rt->nhooks;
	rt->nhooks++;
	return 0;
}

int nd_runtime_start(nd_runtime_t *rt)
{
	if (rt->started)
		return -EALREADY;
	int err = pthread_barrier_init(&rt->stop_barrier, NULL, rt->nworkers);
	if (err != 0)
		return -err;
	rt->started = true;
	for (unsigned i = 0; i < rt->nworkers; i++) {
		nd_worker_t *w = &rt->workers[i];
		err = pthread_create(&w->thread, NULL, nd_worker_main, w);
		if (err != 0) {
			fprintf(stderr, "natsd: cannot start worker %u: %s\n", i, strerror(err));
			abort(); /* a partial set of workers would deadlock the shutdown barrier */
		}
		w->thread_started = true;
	}
	return 0;
}

void nd_runtime_shutdown(nd_runtime_t *rt)
{
	if (!rt->started || rt->joined)
		return;
	/* release: actors started after this see it (acquire in nd_actor_start). */
	atomic_store_explicit(&rt->stopping, true, memory_order_release);
	for (unsigned i = 0; i < rt->nworkers; i++) {
		nd_worker_t *w = &rt->workers[i];
		/* relaxed: the ev_async_send below is the synchronising wake-up. */
		atomic_store_explicit(&w->quit, true, memory_order_relaxed);
		ev_async_send(w->loop, &w->wake);
	}
	for (unsigned i = 0; i < rt->nworkers; i++)
		pthread_join(rt->workers[i].thread, NULL);
	rt->joined = true;
}

long nd_runtime_destroy(nd_runtime_t *rt)
{
	if (rt == NULL)
		return 0;
	nd_runtime_shutdown(rt);
	atomic_store_explicit(&rt->stopping, true, memory_order_release);
	/* Actors scheduled onto a worker after it exited (a start racing the shutdown). */
	for (unsigned i = 0; i < rt->nworkers; i++) {
		nd_msg_t *link;
		while ((link = nd_mailbox_pop_sc(&rt->workers[i].inject)) != NULL)
			nd_actor_abandon(nd_actor_from_link(link));
	}
	/* Every worker is gone: what is still retired is unreachable. Run it before the pools go,
	 * since callbacks may return objects to them. */
	nd_qsbr_destroy(rt->qsbr);
	long leaks = atomic_load_explicit(&rt->live_actors, memory_order_relaxed);
	for (unsigned i = 0; i < rt->nworkers; i++) {
		nd_worker_t *w = &rt->workers[i];
		ev_async_stop(w->loop, &w->wake);
		ev_loop_destroy(w->loop);
	}
	for (unsigned c = 0; c < ND_MSG_CLASSES; c++)
		leaks += nd_pool_destroy(rt->msg_pools[c]);
	if (rt->started)
		pthread_barrier_destroy(&rt->stop_barrier);
	free(rt->workers);
	free(rt);
	return leaks;
}

unsigned nd_runtime_worker_count(const nd_runtime_t *rt)
{
	return rt->nworkers;
}

nd_worker_t *nd_runtime_worker(nd_runtime_t *rt, unsigned index)
{
	return index < rt->nworkers ? &rt->workers[index] : NULL;
}

nd_worker_t *nd_runtime_next_worker(nd_runtime_t *rt)
{
	/* relaxed: only spreads placements; no ordering needed. */
	unsigned i = atomic_fetch_add_explicit(&rt->next_worker, 1, memory_order_relaxed);
	return &rt->workers[i % rt->nworkers];
}

nd_qsbr_t *nd_runtime_qsbr(nd_runtime_t *rt)
{
	return rt->qsbr;
}

long nd_runtime_live_actors(nd_runtime_t *rt)
{
	return atomic_load_explicit(&rt->live_actors, memory_order_relaxed);
}

void *nd_msg_alloc(nd_runtime_t *rt, size_t size, uint16_t type)
{
	if (size < sizeof(nd_msg_t))
		size = sizeof(nd_msg_t);
	unsigned c = 0;
	while (c < ND_MSG_CLASSES && ((size_t)64 << c) < size)
		c++;
	nd_msg_t *m;
	if (c == ND_MSG_CLASSES) {
		m = calloc(1, size);
		if (m == NULL) {
			fputs("natsd: out of memory\n", stderr);
			abort();
		}
		m->flags = ND_MSG_F_HEAP;
	} else {
		m = nd_pool_alloc(rt->msg_pools[c]);
		memset(m, 0, size);
		m->size_class = (uint8_t)c;
	}
	m->type = type;
	return m;
}

void nd_msg_free(nd_msg_t *msg)
{
	if (msg->dtor != NULL)
		msg->dtor(msg);
	if (msg->flags & ND_MSG_F_HEAP)
		free(msg);
	else
		nd_pool_free(msg);
}
