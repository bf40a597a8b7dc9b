/* Structures shared by the runtime's own modules (actor, worker, runtime, io, timer). Not part
 * of any contract: nothing outside runtime/ includes this file. */
#ifndef ND_RUNTIME_RUNTIME_INTERNAL_H
#define ND_RUNTIME_RUNTIME_INTERNAL_H

#include <ev.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "runtime/actor.h"
#include "runtime/mailbox.h"
#include "runtime/pool.h"
#include "runtime/qsbr.h"
#include "runtime/runtime.h"
#include "runtime/timer_wheel.h"

#define ND_MSG_F_SYSTEM 0x01u   /* runtime-internal message (start, stop) */
#define ND_MSG_F_EMBEDDED 0x02u /* lives inside its actor: never freed */
#define ND_MSG_F_HEAP 0x04u     /* too big for a pool: malloc'd */

enum { ND_SYS_START = 1, ND_SYS_STOP = 2 };

enum actor_state { ACTOR_CREATED, ACTOR_RUNNING, ACTOR_STOPPED };

#define ND_MSG_CLASSES 7 /* 64 B .. 4 KiB */
#define ND_MAX_HOOKS 8

struct nd_actor {
	nd_mailbox_t mailbox; /* head on its own line: senders write it */

	/* Written by the thread that takes the mailbox's idle state, then by the home worker:
	 * ordered by the mailbox's acquire/release hand-off. */
	nd_msg_t sched_link; /* link in the home worker's inject queue */

	/* Home-worker fields. */
	nd_actor_t *runq_next;
	nd_actor_t *list_prev, *list_next; /* home worker's list of running actors */
	enum actor_state state;
	bool stop_pending; /* stop asked from its own callback: finalise when it returns */
	unsigned watchers; /* active io watchers + timers, must be 0 after on_stop */

	/* Immutable after create. */
	nd_runtime_t *rt;
	nd_worker_t *home;
	const nd_actor_class_t *cls;

	nd_msg_t start_msg; /* embedded system messages: no allocation to start or stop */
	nd_msg_t stop_msg;
	atomic_bool stop_sent; /* first nd_actor_stop from outside pushes stop_msg */
	atomic_uint refs;

	_Alignas(16) unsigned char state_bytes[];
};

struct nd_worker {
	nd_mailbox_t inject; /* actors made runnable by other threads */
	ev_async wake;
	struct ev_loop *loop;
	nd_runtime_t *rt;
	unsigned index;
	pthread_t thread;
	bool thread_started;

	/* Owner-only below. */
	nd_actor_t *runq_head, *runq_tail;
	size_t runq_len;
	nd_actor_t *actors;  /* running actors homed here */
	nd_actor_t *current; /* actor whose io/timer callback is running */
	nd_wheel_t wheel;
	ev_timer wheel_timer;
	uint64_t wheel_armed_for; /* UINT64_MAX: not armed */
	uint64_t now_ms;
	bool keep_awake;
	bool stopping;
	unsigned long io_calls; /* io callbacks run, to end a spin early */
	unsigned qslot;         /* this worker's participant slot in rt->qsbr */
	bool offline;           /* offline in rt->qsbr (sleeping) */
	void *ext[ND_MAX_HOOKS];

	atomic_bool quit; /* set by nd_runtime_shutdown */
};

struct nd_runtime {
	nd_runtime_opts_t opts;
	unsigned nworkers;
	nd_worker_t *workers;
	nd_pool_t *msg_pools[ND_MSG_CLASSES];
	nd_qsbr_t *qsbr; /* workers are its participants */
	struct {
		nd_worker_hooks_t hooks;
		void *arg;
	} hooks[ND_MAX_HOOKS];
	unsigned nhooks;
	atomic_uint next_worker;
	atomic_long live_actors;
	atomic_bool stopping;
	bool started;
	bool joined;
	pthread_barrier_t stop_barrier;
};

/* actor.c */
void nd_actor_schedule(nd_actor_t *a);
/* Runs one turn on the home worker. Returns true if the actor must go back on the run queue. */
bool nd_actor_run_turn(nd_actor_t *a);
/* Called after an io or timer callback of `a` returned: finalises a pending self-stop. */
void nd_actor_after_callback(nd_actor_t *a);
/* Stops a running actor from its home worker outside of its turn (shutdown). */
void nd_actor_stop_now(nd_actor_t *a);
/* The actor whose sched_link this is. */
nd_actor_t *nd_actor_from_link(nd_msg_t *link);
/* Releases an actor whose worker is gone (runtime destroy): drains and drops its run ref. */
void nd_actor_abandon(nd_actor_t *a);

/* worker.c */
void *nd_worker_main(void *arg);
void nd_worker_runq_push(nd_worker_t *w, nd_actor_t *a);
void nd_worker_wheel_timer_cb(struct ev_loop *loop, ev_timer *t, int revents);
void nd_worker_async_cb(struct ev_loop *loop, ev_async *a, int revents);

#endif
