/* The runtime end to end: actors, workers, scheduling, IO, timers, stop and shutdown. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "runtime/actor.h"
#include "runtime/buf.h"
#include "runtime/io.h"
#include "runtime/runtime.h"
#include "runtime/timer.h"
#include "runtime/worker.h"
#include "tests/support/nd_test.h"

static nd_runtime_t *start_runtime(unsigned workers, unsigned spin_us)
{
	nd_runtime_opts_t o;
	nd_runtime_opts_default(&o);
	o.workers = workers;
	o.spin_us = spin_us;
	nd_runtime_t *rt;
	cr_assert_eq(nd_runtime_create(&rt, &o), 0);
	cr_assert_eq(nd_runtime_start(rt), 0);
	return rt;
}

static void finish_runtime(nd_runtime_t *rt)
{
	nd_runtime_shutdown(rt);
	cr_assert_eq(nd_runtime_destroy(rt), 0, "runtime leaked actors or messages");
}

/* ---- a counting actor ---- */

typedef struct seq_msg {
	nd_msg_t hdr;
	uint32_t producer;
	uint32_t seq;
} seq_msg_t;

enum { MAX_PRODUCERS = 8 };

typedef struct counter {
	atomic_long received;
	uint32_t next[MAX_PRODUCERS];
	atomic_int order_errors;
	atomic_int in_flight;
	atomic_int overlap_errors;
	atomic_int wrong_thread;
} counter_t;

static void counter_on_message(nd_actor_t *self, nd_msg_t *m)
{
	counter_t *c = nd_actor_state(self);
	if (atomic_fetch_add(&c->in_flight, 1) != 0)
		atomic_fetch_add(&c->overlap_errors, 1);
	if (nd_worker_current() != nd_actor_home(self))
		atomic_fetch_add(&c->wrong_thread, 1);
	seq_msg_t *s = (seq_msg_t *)m;
	if (s->producer < MAX_PRODUCERS) {
		if (s->seq != c->next[s->producer])
			atomic_fetch_add(&c->order_errors, 1);
		c->next[s->producer] = s->seq + 1;
	}
	atomic_fetch_sub(&c->in_flight, 1);
	/* release: the test thread reads the fields above after seeing the count. */
	atomic_fetch_add_explicit(&c->received, 1, memory_order_release);
	nd_msg_free(m);
}

static const nd_actor_class_t counter_class = {.name = "counter", .on_message = counter_on_message};

typedef struct wait_count {
	counter_t *c;
	long want;
} wait_count_t;

static bool count_reached(void *arg)
{
	wait_count_t *w = arg;
	return atomic_load_explicit(&w->c->received, memory_order_acquire) >= w->want;
}

static void send_seq(nd_runtime_t *rt, nd_actor_t *to, uint32_t producer, uint32_t seq)
{
	seq_msg_t *m = nd_msg_alloc(rt, sizeof(*m), 1);
	m->producer = producer;
	m->seq = seq;
	nd_actor_send(to, &m->hdr);
}

ND_TEST(actor, fifo_per_sender)
{
	nd_runtime_t *rt = start_runtime(2, 0);
	nd_actor_t *a = nd_actor_create(rt, &counter_class, sizeof(counter_t), NULL);
	nd_actor_start(a);
	for (uint32_t i = 0; i < 10000; i++)
		send_seq(rt, a, 0, i);
	counter_t *c = nd_actor_state(a);
	wait_count_t w = {c, 10000};
	cr_assert(nd_test_wait_until(count_reached, &w, 10000));
	cr_assert_eq(atomic_load(&c->order_errors), 0);
	nd_actor_unref(a);
	finish_runtime(rt);
}

typedef struct producer_arg {
	nd_runtime_t *rt;
	nd_actor_t **targets;
	unsigned ntargets;
	uint32_t id;
	uint32_t count;
} producer_arg_t;

static void *producer(void *arg)
{
	producer_arg_t *p = arg;
	for (uint32_t i = 0; i < p->count; i++)
		for (unsigned t = 0; t < p->ntargets; t++)
			send_seq(p->rt, p->targets[t], p->id, i);
	return NULL;
}

ND_TEST(actor, four_producers_million_each_no_loss_no_duplicate, .timeout = 240)
{
	enum { P = 4, N = 1000000 };
	nd_runtime_t *rt = start_runtime(2, 20);
	nd_actor_t *a = nd_actor_create(rt, &counter_class, sizeof(counter_t), NULL);
	nd_actor_start(a);
	pthread_t t[P];
	producer_arg_t args[P];
	for (uint32_t i = 0; i < P; i++) {
		args[i] = (producer_arg_t){rt, &a, 1, i, N};
		pthread_create(&t[i], NULL, producer, &args[i]);
	}
	for (uint32_t i = 0; i < P; i++)
		pthread_join(t[i], NULL);
	counter_t *c = nd_actor_state(a);
	wait_count_t w = {c, (long)P * N};
	cr_assert(nd_test_wait_until(count_reached, &w, 120000), "received %ld",
		  atomic_load(&c->received));
	/* Nothing extra arrives later. */
	usleep(20000);
	cr_assert_eq(atomic_load(&c->received), (long)P * N, "duplicates");
	for (uint32_t i = 0; i < P; i++)
		cr_assert_eq(c->next[i], N);
	cr_assert_eq(atomic_load(&c->order_errors), 0);
	nd_actor_unref(a);
	finish_runtime(rt);
}

ND_TEST(actor, never_runs_on_two_workers_at_once, .timeout = 120)
{
	enum { P = 4, N = 100000, ACTORS = 4 };
	nd_runtime_t *rt = start_runtime(2, 0);
	nd_actor_t *actors[ACTORS];
	for (int i = 0; i < ACTORS; i++) {
		actors[i] = nd_actor_create(rt, &counter_class, sizeof(counter_t), NULL);
		nd_actor_start(actors[i]);
	}
	pthread_t t[P];
	producer_arg_t args[P];
	for (uint32_t i = 0; i < P; i++) {
		args[i] = (producer_arg_t){rt, actors, ACTORS, i, N};
		pthread_create(&t[i], NULL, producer, &args[i]);
	}
	for (uint32_t i = 0; i < P; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < ACTORS; i++) {
		counter_t *c = nd_actor_state(actors[i]);
		wait_count_t w = {c, (long)P * N};
		cr_assert(nd_test_wait_until(count_reached, &w, 60000));
		cr_assert_eq(atomic_load(&c->overlap_errors), 0, "ran concurrently with itself");
		cr_assert_eq(atomic_load(&c->wrong_thread), 0, "ran away from its home worker");
		cr_assert_eq(atomic_load(&c->order_errors), 0);
		nd_actor_unref(actors[i]);
	}
	finish_runtime(rt);
}

/* ---- fairness: a flooded actor does not starve another on the same worker ---- */

typedef struct fair {
	atomic_long *flood_count; /* shared with the flooded actor */
	atomic_long seen_at;      /* flood count when the quiet actor ran */
	atomic_bool ran;
} fair_t;

static void quiet_on_message(nd_actor_t *self, nd_msg_t *m)
{
	fair_t *f = nd_actor_state(self);
	atomic_store(&f->seen_at, atomic_load(f->flood_count));
	atomic_store(&f->ran, true);
	nd_msg_free(m);
}

static const nd_actor_class_t quiet_class = {.name = "quiet", .on_message = quiet_on_message};

/* A counter that, at its POKE_AT-th message, sends the quiet actor its one message from inside
 * the worker: the quiet actor becomes runnable at a known flood count, whatever the test
 * thread's scheduling (starting both from the test thread let a descheduled test thread watch
 * the whole flood run before the quiet actor even existed to the worker). */
enum { POKE_AT = 1000 };

typedef struct poking_counter {
	counter_t counter; /* first: counter_on_message sees a counter_t */
	nd_actor_t *quiet;
	atomic_long poked_at;
} poking_counter_t;

static void poking_on_message(nd_actor_t *self, nd_msg_t *m)
{
	poking_counter_t *p = nd_actor_state(self);
	counter_on_message(self, m);
	long n = atomic_load(&p->counter.received);
	if (n == POKE_AT) {
		atomic_store(&p->poked_at, n);
		send_seq(nd_actor_runtime(self), p->quiet, MAX_PRODUCERS, 0);
	}
}

static const nd_actor_class_t poking_class = {.name = "poking", .on_message = poking_on_message};

static bool flag_set(void *arg)
{
	return atomic_load((atomic_bool *)arg);
}

ND_TEST(actor, flooding_actor_does_not_starve_a_neighbour, .timeout = 60)
{
	enum { FLOOD = 200000 };
	nd_runtime_t *rt = start_runtime(1, 0);
	nd_worker_t *w0 = nd_runtime_worker(rt, 0);
	nd_actor_t *flood = nd_actor_create(rt, &poking_class, sizeof(poking_counter_t), w0);
	nd_actor_t *quiet = nd_actor_create(rt, &quiet_class, sizeof(fair_t), w0);
	poking_counter_t *p = nd_actor_state(flood);
	fair_t *f = nd_actor_state(quiet);
	f->flood_count = &p->counter.received;
	p->quiet = quiet;
	/* Queue the whole flood before it runs; the quiet actor's message comes mid-flood. */
	for (uint32_t i = 0; i < FLOOD; i++)
		send_seq(rt, flood, 0, i);
	nd_actor_start(quiet);
	nd_actor_start(flood);
	cr_assert(nd_test_wait_until(flag_set, &f->ran, 10000));
	long waited = atomic_load(&f->seen_at) - atomic_load(&p->poked_at);
	cr_assert_lt(waited, 1000, "the quiet actor waited for %ld flood messages", waited);
	wait_count_t w = {&p->counter, FLOOD};
	cr_assert(nd_test_wait_until(count_reached, &w, 30000));
	nd_actor_unref(flood);
	nd_actor_unref(quiet);
	finish_runtime(rt);
}

/* ---- timers ---- */

enum { TIMERS = 6 };

typedef struct timed {
	nd_timer_t timers[TIMERS];
	uint64_t delays[TIMERS];
	uint64_t started_ms;
	int order[TIMERS];
	uint64_t fired_after[TIMERS];
	atomic_int fired;
	nd_timer_t cancelled;
} timed_t;

static void timer_fired(nd_actor_t *self, nd_timer_t *t)
{
	timed_t *s = nd_actor_state(self);
	int i = (int)(t - s->timers);
	int k = atomic_load(&s->fired);
	s->order[k] = i;
	s->fired_after[k] = nd_worker_now_ms(nd_actor_home(self)) - s->started_ms;
	atomic_store(&s->fired, k + 1);
}

static atomic_bool cancelled_timer_fired;

static void cancelled_fired(nd_actor_t *self, nd_timer_t *t)
{
	atomic_store(&cancelled_timer_fired, true);
}

static void timed_start(nd_actor_t *self)
{
	timed_t *s = nd_actor_state(self);
	static const uint64_t delays[TIMERS] = {120, 10, 60, 30, 90, 0};
	s->started_ms = nd_worker_now_ms(nd_actor_home(self));
	for (int i = 0; i < TIMERS; i++) {
		s->delays[i] = delays[i];
		nd_timer_init(&s->timers[i], self, timer_fired);
		nd_timer_start(&s->timers[i], delays[i]);
	}
	nd_timer_init(&s->cancelled, self, cancelled_fired);
	nd_timer_start(&s->cancelled, 50);
	nd_timer_stop(&s->cancelled);
}

static void timed_stop(nd_actor_t *self)
{
	timed_t *s = nd_actor_state(self);
	for (int i = 0; i < TIMERS; i++)
		nd_timer_stop(&s->timers[i]);
}

static void ignore_message(nd_actor_t *self, nd_msg_t *m)
{
	nd_msg_free(m);
}

static const nd_actor_class_t timed_class = {
    .name = "timed", .on_start = timed_start, .on_message = ignore_message, .on_stop = timed_stop};

static bool all_fired(void *arg)
{
	return atomic_load(&((timed_t *)arg)->fired) == TIMERS;
}

ND_TEST(actor, timers_fire_in_order_and_not_early)
{
	nd_runtime_t *rt = start_runtime(2, 0);
	nd_actor_t *a = nd_actor_create(rt, &timed_class, sizeof(timed_t), NULL);
	nd_actor_start(a);
	timed_t *s = nd_actor_state(a);
	cr_assert(nd_test_wait_until(all_fired, s, 5000));
	usleep(100000);
	cr_assert_not(atomic_load(&cancelled_timer_fired), "a stopped timer fired");
	static const int expected[TIMERS] = {5, 1, 3, 2, 4, 0};
	for (int k = 0; k < TIMERS; k++) {
		cr_assert_eq(s->order[k], expected[k], "position %d: timer %d", k, s->order[k]);
		cr_assert_geq(s->fired_after[k], s->delays[s->order[k]], "timer %d fired early",
			      s->order[k]);
	}
	nd_actor_unref(a);
	finish_runtime(rt);
}

/* ---- socket readiness over a socketpair ---- */

typedef struct echo {
	int fd;
	nd_io_t io;
	char pending[64];
	size_t npending;
	atomic_int reads;
} echo_t;

static void echo_io(nd_actor_t *self, nd_io_t *io, int events)
{
	echo_t *e = nd_actor_state(self);
	if (events & ND_IO_READ) {
		ssize_t n = read(e->fd, e->pending, sizeof(e->pending));
		if (n <= 0) {
			nd_actor_stop(self); /* peer closed: stop from our own callback */
			return;
		}
		e->npending = (size_t)n;
		atomic_fetch_add(&e->reads, 1);
		nd_io_set(io, ND_IO_WRITE); /* answer when writable */
	} else if (events & ND_IO_WRITE) {
		for (size_t i = 0; i < e->npending; i++)
			e->pending[i] = (char)(e->pending[i] - 'a' + 'A');
		cr_assert_eq(write(e->fd, e->pending, e->npending), (ssize_t)e->npending);
		nd_io_set(io, ND_IO_READ);
	}
}

static void echo_start(nd_actor_t *self)
{
	echo_t *e = nd_actor_state(self);
	nd_io_init(&e->io, self, e->fd, echo_io);
	nd_io_set(&e->io, ND_IO_READ);
}

static void echo_stop(nd_actor_t *self)
{
	echo_t *e = nd_actor_state(self);
	nd_io_set(&e->io, 0);
	close(e->fd);
}

static const nd_actor_class_t echo_class = {
    .name = "echo", .on_start = echo_start, .on_message = ignore_message, .on_stop = echo_stop};

static bool actors_gone(void *arg)
{
	return nd_runtime_live_actors(arg) == 0;
}

ND_TEST(actor, socket_readiness_over_a_socketpair)
{
	nd_runtime_t *rt = start_runtime(2, 0);
	int sv[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	nd_actor_t *a = nd_actor_create(rt, &echo_class, sizeof(echo_t), NULL);
	((echo_t *)nd_actor_state(a))->fd = sv[0];
	nd_actor_start(a);
	nd_actor_unref(a); /* the runtime keeps it alive until it stops itself */
	int peer = sv[1];
	for (int round = 0; round < 3; round++) {
		cr_assert_eq(write(peer, "ping", 4), 4);
		char buf[8];
		ssize_t n = -1;
		uint64_t deadline = nd_test_now_ns() + 5000000000ull;
		while (n < 0 && nd_test_now_ns() < deadline) {
			n = read(peer, buf, sizeof(buf));
			if (n < 0)
				usleep(1000);
		}
		cr_assert_eq(n, 4);
		cr_assert_arr_eq(buf, "PING", 4);
	}
	close(peer); /* the actor reads EOF and stops itself */
	cr_assert(nd_test_wait_until(actors_gone, rt, 5000), "the actor did not stop on EOF");
	finish_runtime(rt);
}

/* ---- cross-worker wake-ups ---- */

typedef struct relay {
	nd_actor_t *target; /* referenced */
	atomic_long stamp_ns;
} relay_t;

static void relay_on_message(nd_actor_t *self, nd_msg_t *m)
{
	relay_t *r = nd_actor_state(self);
	if (r->target != NULL) {
		nd_actor_send(r->target, m); /* forward to the other worker */
		return;
	}
	atomic_store(&r->stamp_ns, (long)nd_test_now_ns());
	nd_msg_free(m);
}

static void relay_free(nd_actor_t *self)
{
	relay_t *r = nd_actor_state(self);
	if (r->target != NULL)
		nd_actor_unref(r->target);
}

static const nd_actor_class_t relay_class = {
    .name = "relay", .on_message = relay_on_message, .on_free = relay_free};

static bool stamped(void *arg)
{
	return atomic_load(&((relay_t *)arg)->stamp_ns) != 0;
}

ND_TEST(actor, cross_worker_send_wakes_a_sleeping_worker)
{
	nd_runtime_t *rt = start_runtime(2, 0); /* no spinning: idle workers block in epoll */
	nd_actor_t *sink =
	    nd_actor_create(rt, &relay_class, sizeof(relay_t), nd_runtime_worker(rt, 1));
	nd_actor_t *src =
	    nd_actor_create(rt, &relay_class, sizeof(relay_t), nd_runtime_worker(rt, 0));
	((relay_t *)nd_actor_state(src))->target = nd_actor_ref(sink);
	nd_actor_start(sink);
	nd_actor_start(src);
	usleep(100000); /* both workers are now asleep */
	relay_t *r = nd_actor_state(sink);
	send_seq(rt, src, MAX_PRODUCERS, 0); /* wakes worker 0, which sends to sleeping worker 1 */
	cr_assert(nd_test_wait_until(stamped, r, 2000), "worker 1 was never woken");
	atomic_store(&r->stamp_ns, 0);
	usleep(50000);
	send_seq(rt, sink, MAX_PRODUCERS, 0); /* from a non-worker thread */
	cr_assert(nd_test_wait_until(stamped, r, 2000));
	nd_actor_unref(src);
	nd_actor_unref(sink);
	finish_runtime(rt);
}

/* ---- stop and shutdown with messages in flight ---- */

static atomic_long live_payloads;

typedef struct payload_msg {
	nd_msg_t hdr;
	nd_buf_t *payload;
} payload_msg_t;

static void payload_dtor(nd_msg_t *m)
{
	payload_msg_t *p = (payload_msg_t *)m;
	nd_buf_unref(p->payload);
	atomic_fetch_sub(&live_payloads, 1);
}

static void send_payload(nd_runtime_t *rt, nd_actor_t *to)
{
	payload_msg_t *m = nd_msg_alloc(rt, sizeof(*m), 2);
	m->payload = nd_buf_copy("hello", 5);
	m->hdr.weight = 5;
	m->hdr.dtor = payload_dtor;
	atomic_fetch_add(&live_payloads, 1);
	nd_actor_send(to, &m->hdr);
}

typedef struct slow {
	atomic_long handled;
} slow_t;

static void slow_on_message(nd_actor_t *self, nd_msg_t *m)
{
	slow_t *s = nd_actor_state(self);
	atomic_fetch_add(&s->handled, 1);
	usleep(10);
	nd_msg_free(m);
}

static const nd_actor_class_t slow_class = {.name = "slow", .on_message = slow_on_message};

ND_TEST(actor, stop_releases_queued_messages)
{
	atomic_store(&live_payloads, 0);
	nd_runtime_t *rt = start_runtime(2, 0);
	nd_actor_t *a = nd_actor_create(rt, &slow_class, sizeof(slow_t), NULL);
	nd_actor_start(a);
	for (int i = 0; i < 5000; i++)
		send_payload(rt, a);
	nd_actor_stop(a);
	for (int i = 0; i < 1000; i++)
		send_payload(rt, a); /* after the stop: must be released, never delivered */
	usleep(200000);
	slow_t *s = nd_actor_state(a);
	cr_assert_leq(atomic_load(&s->handled), 5000, "a message sent after stop was delivered");
	nd_actor_unref(a); /* last reference: queued messages are released */
	cr_assert(nd_test_wait_until(actors_gone, rt, 5000));
	cr_assert_eq(atomic_load(&live_payloads), 0, "payloads leaked");
	finish_runtime(rt);
}

typedef struct shut_arg {
	nd_runtime_t *rt;
	nd_actor_t **actors;
	int n;
} shut_arg_t;

static void *spray(void *arg)
{
	shut_arg_t *s = arg;
	for (int i = 0; i < 20000; i++)
		send_payload(s->rt, s->actors[i % s->n]);
	return NULL;
}

ND_TEST(actor, shutdown_with_messages_in_flight_releases_everything, .timeout = 60)
{
	atomic_store(&live_payloads, 0);
	nd_runtime_t *rt = start_runtime(2, 20);
	enum { N = 16 };
	nd_actor_t *actors[N];
	for (int i = 0; i < N; i++) {
		actors[i] = nd_actor_create(rt, &slow_class, sizeof(slow_t), NULL);
		nd_actor_start(actors[i]);
	}
	shut_arg_t arg = {rt, actors, N};
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, spray, &arg);
	usleep(20000);
	nd_runtime_shutdown(rt); /* while the sprayers are still sending */
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < N; i++)
		nd_actor_unref(actors[i]);
	cr_assert_eq(nd_runtime_live_actors(rt), 0);
	cr_assert_eq(nd_runtime_destroy(rt), 0, "leaked");
	cr_assert_eq(atomic_load(&live_payloads), 0, "payloads leaked");
}

ND_TEST(actor, messages_sent_before_start_wait_for_on_start)
{
	nd_runtime_t *rt = start_runtime(1, 0);
	nd_actor_t *a = nd_actor_create(rt, &counter_class, sizeof(counter_t), NULL);
	for (uint32_t i = 0; i < 100; i++)
		send_seq(rt, a, 0, i);
	usleep(20000);
	counter_t *c = nd_actor_state(a);
	cr_assert_eq(atomic_load(&c->received), 0, "ran before nd_actor_start");
	nd_actor_start(a);
	wait_count_t w = {c, 100};
	cr_assert(nd_test_wait_until(count_reached, &w, 5000));
	nd_actor_unref(a);
	finish_runtime(rt);
}

ND_TEST(actor, never_started_actor_is_released_by_unref)
{
	atomic_store(&live_payloads, 0);
	nd_runtime_t *rt = start_runtime(1, 0);
	nd_actor_t *a = nd_actor_create(rt, &slow_class, sizeof(slow_t), NULL);
	send_payload(rt, a);
	nd_actor_stop(a);
	nd_actor_unref(a);
	cr_assert_eq(atomic_load(&live_payloads), 0);
	finish_runtime(rt);
}

/* ---- no lost wake-ups while workers spin ---- */

typedef struct bouncer {
	nd_actor_t *peer; /* referenced; dropped in on_stop */
	atomic_long rounds;
	long target;
	bool starter;
} bouncer_t;

static void bouncer_msg(nd_actor_t *self, nd_msg_t *m)
{
	bouncer_t *b = nd_actor_state(self);
	long r = atomic_fetch_add(&b->rounds, 1) + 1;
	if (b->starter && r >= b->target) {
		nd_msg_free(m);
		return;
	}
	nd_actor_send(b->peer, m);
}

static void bouncer_stop(nd_actor_t *self)
{
	bouncer_t *b = nd_actor_state(self);
	nd_actor_unref(b->peer);
	b->peer = NULL;
}

static const nd_actor_class_t bouncer_class = {
    .name = "bouncer", .on_message = bouncer_msg, .on_stop = bouncer_stop};

static atomic_bool hog_stop;

static void *hog(void *arg)
{
	(void)arg;
	while (!atomic_load_explicit(&hog_stop, memory_order_relaxed))
		;
	return NULL;
}

static bool rounds_done(void *arg)
{
	bouncer_t *b = arg;
	return atomic_load(&b->rounds) >= b->target;
}

/* A message bouncing between two workers that spin before sleeping, with a third thread
 * competing for the CPUs: a wake-up consumed by a spin's poll must not be lost (it was once:
 * the worker then slept with work in its inject queue). */
ND_TEST(actor, spinning_workers_never_lose_a_wake_up, .timeout = 120)
{
	for (unsigned spin = 1; spin <= 40; spin *= 4) {
		nd_runtime_t *rt = start_runtime(2, spin);
		nd_actor_t *a = nd_actor_create(rt, &bouncer_class, sizeof(bouncer_t),
						nd_runtime_worker(rt, 0));
		nd_actor_t *b = nd_actor_create(rt, &bouncer_class, sizeof(bouncer_t),
						nd_runtime_worker(rt, 1));
		bouncer_t *ba = nd_actor_state(a), *bb = nd_actor_state(b);
		ba->peer = nd_actor_ref(b);
		bb->peer = nd_actor_ref(a);
		ba->starter = true;
		ba->target = 20000;
		nd_actor_start(a);
		nd_actor_start(b);
		atomic_store(&hog_stop, false);
		pthread_t h;
		pthread_create(&h, NULL, hog, NULL);
		send_seq(rt, a, MAX_PRODUCERS, 0);
		bool done = nd_test_wait_until(rounds_done, ba, 60000);
		atomic_store(&hog_stop, true);
		pthread_join(h, NULL);
		cr_assert(done, "spin %u us: stuck after %ld rounds", spin,
			  atomic_load(&ba->rounds));
		nd_actor_unref(a);
		nd_actor_unref(b);
		finish_runtime(rt);
	}
}
