/* The actor runtime: a fixed set of worker threads, each running its own libev loop, that
 * run actors (runtime/actor.h). Knows nothing of NATS. */
#ifndef ND_RUNTIME_RUNTIME_H
#define ND_RUNTIME_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct nd_runtime nd_runtime_t;
typedef struct nd_worker nd_worker_t;

typedef struct nd_runtime_opts {
	unsigned workers;        /* 0: one per online CPU */
	unsigned spin_us;        /* how long an idle worker polls before it sleeps; 0: never */
	unsigned turn_msgs;      /* messages an actor may process per turn */
	unsigned turn_bytes;     /* message weight an actor may process per turn */
	bool pin_threads;        /* pin worker i to CPU i mod ncpu */
	const char *thread_name; /* prefix of worker thread names */
} nd_runtime_opts_t;

/* Per-worker extension: lets upper layers keep per-worker state (outbound flush lists, match
 * caches) and act once per loop pass. All three run on the worker thread. */
typedef struct nd_worker_hooks {
	void *(*init)(nd_worker_t *w, void *arg);    /* at worker start; returns the ext */
	void (*pass_end)(nd_worker_t *w, void *ext); /* each loop pass, after actors ran */
	void (*fini)(nd_worker_t *w, void *ext);     /* at exit, after its actors stopped */
} nd_worker_hooks_t;

/* Fills opts with defaults: workers 0 (CPUs), spin 20 us, 64 msgs / 256 KiB per turn. */
void nd_runtime_opts_default(nd_runtime_opts_t *opts);

/* Creates a stopped runtime. Returns 0 or -errno; *out is owned by the caller. */
int nd_runtime_create(nd_runtime_t **out, const nd_runtime_opts_t *opts);

/* Registers per-worker hooks; before nd_runtime_start only. *slot receives the index for
 * nd_worker_ext. Returns 0 or -errno. */
int nd_runtime_add_hooks(nd_runtime_t *rt, const nd_worker_hooks_t *hooks, void *arg,
			 unsigned *slot);

/* Starts the worker threads. Signals must already be blocked in the calling thread if the
 * process handles them elsewhere (runtime/signals.h): workers inherit the mask. */
int nd_runtime_start(nd_runtime_t *rt);

/* Stops every actor (their queued messages are released), then joins the workers. Call from
 * a thread that is not a worker. Idempotent. */
void nd_runtime_shutdown(nd_runtime_t *rt);

/* Frees the runtime after shutdown. Returns the number of objects still allocated from its
 * pools or actors still alive (leaks); 0 when everything was released. */
long nd_runtime_destroy(nd_runtime_t *rt);

unsigned nd_runtime_worker_count(const nd_runtime_t *rt);
nd_worker_t *nd_runtime_worker(nd_runtime_t *rt, unsigned index);

/* Round-robin placement for new actors. Any thread. */
nd_worker_t *nd_runtime_next_worker(nd_runtime_t *rt);

/* The reclamation domain whose participants are the workers (runtime/qsbr.h). */
typedef struct nd_qsbr nd_qsbr_t;
nd_qsbr_t *nd_runtime_qsbr(nd_runtime_t *rt);

/* Actors alive (created and not yet freed). Any thread; a snapshot. */
long nd_runtime_live_actors(nd_runtime_t *rt);

#endif
