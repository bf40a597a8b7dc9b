/* The lame duck actor: a grace timer, then a close timer that takes the next client(s). */
#include "actors/lame_duck.h"

#include <stdlib.h>

#include "actors/client.h"
#include "runtime/log.h"
#include "runtime/timer.h"

enum { MSG_LISTENER_CLOSED = 1 };

typedef struct lame_duck {
	nd_server_t *srv;
	nd_timer_t timer;
	nd_actor_t **clients;
	size_t n, next;
	uint64_t interval_ms; /* between closes */
	size_t batch;         /* clients closed per tick */
	bool closing;
} lame_duck_t;

static void finish(lame_duck_t *l)
{
	nd_server_set_done(l->srv);
}

static void close_some(lame_duck_t *l)
{
	for (size_t k = 0; k < l->batch && l->next < l->n; k++, l->next++)
		nd_client_send_close(l->clients[l->next], ND_CLIENT_CLOSE_SERVER_SHUTDOWN);
	if (l->next >= l->n) {
		finish(l);
		return;
	}
	/* A random pause of at least half the interval, as the reference does, so that
	 * reconnecting clients do not arrive at the other servers in lockstep. */
	uint64_t v = l->interval_ms > 1 ? (uint64_t)random() % l->interval_ms : 0;
	if (v < l->interval_ms / 2)
		v = l->interval_ms / 2;
	nd_timer_start(&l->timer, v);
}

static void on_timer(nd_actor_t *self, nd_timer_t *t)
{
	lame_duck_t *l = nd_actor_state(self);
	if (!l->closing) {
		l->closing = true;
		nd_log_info("Closing existing clients");
	}
	close_some(l);
}

static void listener_closed(lame_duck_t *l)
{
	nd_opts_snap_t *snap = nd_server_opts(l->srv);
	const nd_opts_t *o = nd_opts_snap_get(snap);
	uint64_t grace = o->lame_duck_grace_ms;
	int64_t dur = (int64_t)o->lame_duck_duration_ms - (int64_t)grace;
	nd_opts_snap_unref(snap);
	l->clients = nd_server_clients(l->srv, &l->n);
	if (l->n == 0) {
		finish(l);
		return;
	}
	if (dur <= 0)
		dur = 1000;
	l->interval_ms = (uint64_t)dur / l->n;
	l->batch = 1;
	if (l->interval_ms < 1) { /* more clients than milliseconds: close several per tick */
		l->interval_ms = 1;
		l->batch = (l->n + (size_t)dur - 1) / (size_t)dur;
	} else if (l->interval_ms > 1000) {
		l->interval_ms = 1000;
	}
	for (size_t i = 0; i < l->n; i++)
		nd_client_send_lame_duck_info(l->clients[i]);
	nd_timer_start(&l->timer, grace);
}

static void ldm_start(nd_actor_t *self)
{
	lame_duck_t *l = nd_actor_state(self);
	nd_timer_init(&l->timer, self, on_timer);
}

static void ldm_message(nd_actor_t *self, nd_msg_t *msg)
{
	lame_duck_t *l = nd_actor_state(self);
	if (msg->type == MSG_LISTENER_CLOSED && l->clients == NULL)
		listener_closed(l);
	nd_msg_free(msg);
}

static void ldm_stop(nd_actor_t *self)
{
	lame_duck_t *l = nd_actor_state(self);
	nd_timer_stop(&l->timer);
}

static void ldm_free(nd_actor_t *self)
{
	lame_duck_t *l = nd_actor_state(self);
	for (size_t i = 0; i < l->n; i++)
		nd_actor_unref(l->clients[i]);
	free(l->clients);
}

static const nd_actor_class_t ldm_class = {.name = "lame_duck",
					   .on_start = ldm_start,
					   .on_message = ldm_message,
					   .on_stop = ldm_stop,
					   .on_free = ldm_free};

nd_actor_t *nd_lame_duck_create(nd_server_t *s)
{
	nd_actor_t *a =
	    nd_actor_create(nd_server_runtime(s), &ldm_class, sizeof(lame_duck_t), NULL);
	lame_duck_t *l = nd_actor_state(a);
	l->srv = s;
	nd_actor_start(a);
	return a;
}

void nd_lame_duck_listener_closed(nd_actor_t *ldm)
{
	nd_msg_t *m = nd_msg_alloc(nd_actor_runtime(ldm), sizeof(nd_msg_t), MSG_LISTENER_CLOSED);
	nd_actor_send(ldm, m);
}
