/* Race test of the whole runtime: actors on 2 workers bounce messages carrying shared
 * payloads at each other while outside threads send too, actors are stopped and replaced
 * at random, and the runtime is shut down with traffic in flight. Every payload and message
 * must be released exactly once and no actor may leak. */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "runtime/actor.h"
#include "runtime/buf.h"
#include "runtime/runtime.h"
#include "runtime/timer.h"
#include "runtime/worker.h"
#include "tests/stress/stress.h"

enum { SLOTS = 16, HOPS = 50 };

static atomic_long live_msgs, delivered;
static nd_runtime_t *rt;

/* A table of current actors; replaced at random. Guarded by a mutex: this is the test's own
 * bookkeeping, not the runtime's. */
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static nd_actor_t *table[SLOTS];

static nd_actor_t *pick(unsigned i)
{
	pthread_mutex_lock(&table_lock);
	nd_actor_t *a = table[i % SLOTS];
	if (a != NULL)
		nd_actor_ref(a);
	pthread_mutex_unlock(&table_lock);
	return a;
}

typedef struct hop_msg {
	nd_msg_t hdr;
	nd_buf_t *payload;
	unsigned hops;
	unsigned salt;
} hop_msg_t;

static void hop_dtor(nd_msg_t *m)
{
	nd_buf_unref(((hop_msg_t *)m)->payload);
	atomic_fetch_sub(&live_msgs, 1);
}

static hop_msg_t *new_msg(nd_buf_t *payload, unsigned salt)
{
	hop_msg_t *m = nd_msg_alloc(rt, sizeof(*m), 1);
	m->payload = nd_buf_ref(payload);
	m->salt = salt;
	m->hdr.dtor = hop_dtor;
	m->hdr.weight = (uint32_t)nd_buf_len(payload);
	atomic_fetch_add(&live_msgs, 1);
	return m;
}

typedef struct bouncer {
	unsigned id;
	nd_timer_t tick;
	int ticks;
} bouncer_t;

static void bounce(nd_actor_t *self, nd_msg_t *msg)
{
	hop_msg_t *m = (hop_msg_t *)msg;
	CHECK(memcmp(nd_buf_data(m->payload), "payload", 7) == 0, "payload corrupted");
	atomic_fetch_add(&delivered, 1);
	if (++m->hops >= HOPS) {
		nd_msg_free(msg);
		return;
	}
	nd_actor_t *next = pick(m->salt * 7 + m->hops);
	if (next == NULL) {
		nd_msg_free(msg);
		return;
	}
	nd_actor_send(next, msg);
	nd_actor_unref(next);
}

static void on_tick(nd_actor_t *self, nd_timer_t *t)
{
	bouncer_t *b = nd_actor_state(self);
	if (++b->ticks < 1000)
		nd_timer_start(t, 1);
}

static void on_start(nd_actor_t *self)
{
	bouncer_t *b = nd_actor_state(self);
	nd_timer_init(&b->tick, self, on_tick);
	nd_timer_start(&b->tick, 1);
}

static void on_stop(nd_actor_t *self)
{
	bouncer_t *b = nd_actor_state(self);
	nd_timer_stop(&b->tick);
}

static const nd_actor_class_t bouncer_class = {
    .name = "bouncer", .on_start = on_start, .on_message = bounce, .on_stop = on_stop};

static nd_actor_t *spawn(unsigned id)
{
	nd_actor_t *a = nd_actor_create(rt, &bouncer_class, sizeof(bouncer_t), NULL);
	((bouncer_t *)nd_actor_state(a))->id = id;
	nd_actor_start(a);
	return a;
}

static atomic_bool stop_feeding;

static void *feeder(void *arg)
{
	unsigned salt = (unsigned)(size_t)arg;
	nd_buf_t *payload = nd_buf_copy("payload", 7);
	while (!atomic_load(&stop_feeding)) {
		nd_actor_t *a = pick(salt++);
		if (a == NULL)
			continue;
		nd_actor_send(a, &new_msg(payload, salt)->hdr);
		nd_actor_unref(a);
	}
	nd_buf_unref(payload);
	return NULL;
}

static void *churner(void *arg)
{
	(void)arg;
	for (unsigned i = 0; !atomic_load(&stop_feeding); i++) {
		pthread_mutex_lock(&table_lock);
		nd_actor_t *old = table[i % SLOTS];
		table[i % SLOTS] = spawn(i);
		pthread_mutex_unlock(&table_lock);
		nd_actor_stop(old);
		nd_actor_unref(old);
		usleep(500);
	}
	return NULL;
}

int main(void)
{
	nd_runtime_opts_t o;
	nd_runtime_opts_default(&o);
	o.workers = 2;
	o.spin_us = 5;
	CHECK(nd_runtime_create(&rt, &o) == 0, "create");
	CHECK(nd_runtime_start(rt) == 0, "start");
	for (unsigned i = 0; i < SLOTS; i++)
		table[i] = spawn(i);
	pthread_t feeders[2], churn;
	for (size_t i = 0; i < 2; i++)
		pthread_create(&feeders[i], NULL, feeder, (void *)(i * 1000));
	pthread_create(&churn, NULL, churner, NULL);
	sleep(2);
	nd_runtime_shutdown(rt); /* with traffic in flight */
	atomic_store(&stop_feeding, true);
	for (int i = 0; i < 2; i++)
		pthread_join(feeders[i], NULL);
	pthread_join(churn, NULL);
	for (unsigned i = 0; i < SLOTS; i++)
		nd_actor_unref(table[i]);
	long leaked = nd_runtime_destroy(rt);
	CHECK(leaked == 0, "%ld actors or messages leaked", leaked);
	CHECK(atomic_load(&live_msgs) == 0, "%ld messages not released", atomic_load(&live_msgs));
	CHECK(atomic_load(&delivered) > 1000, "little traffic: %ld", atomic_load(&delivered));
	printf("stress_runtime: ok, %ld deliveries\n", atomic_load(&delivered));
	return 0;
}
