/* Routes. Behaviour follows the reference (server/route.go) where a peer can see it: the
 * handshake order, which errors are sent, interest aggregation, RMSG framing. */
#define _GNU_SOURCE
#include "topology/route.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "actors/delivery.h"
#include "actors/interest.h"
#include "actors/listener.h"
#include "actors/outbuf.h"
#include "actors/perms.h"
#include "actors/tls.h"
#include "protocol/gourl.h"
#include "protocol/nkey.h"
#include "protocol/route_parser.h"
#include "protocol/subject.h"
#include "runtime/io.h"
#include "runtime/log.h"
#include "runtime/pool.h"
#include "runtime/timer.h"
#include "runtime/worker.h"
#include "topology/cluster.h"

#define FIRST_PING_MS 1000      /* the reference pings a new route after about a second */
#define MAX_PING_MS 30000       /* and caps a route's ping interval */
#define CONNECT_DELAY_MS 1000   /* between failed dials (DEFAULT_ROUTE_CONNECT) */
#define RECONNECT_DELAY_MS 1000 /* before re-dialing a closed explicit route */
#define JITTER_MS 100           /* random extra before a re-dial */
#define ROUTE_CONTROL_LINE (4096 * 16)
#define ROUTE_MAX_PAYLOAD (64LL * 1024 * 1024)

enum { MSG_STOP = 1, MSG_TEXT, MSG_INTEREST, MSG_RECONNECT };

typedef struct text_msg {
	nd_msg_t hdr;
	uint64_t epoch; /* MSG_INTEREST: the observation it belongs to */
	size_t len;
	char text[];
} text_msg_t;

/* The peer's interest: one remote subscription per (subject, queue). */
typedef struct rsub_table {
	nd_sub_t **slots; /* open addressing; NULL empty, TOMB deleted */
	size_t cap, n, used;
} rsub_table_t;

static nd_sub_t tomb_sub;
#define TOMB (&tomb_sub)

typedef struct nd_route {
	nd_dest_t dest; /* first: a route is a destination */
	nd_cluster_t *cl;
	nd_server_t *srv;
	nd_opts_snap_t *snap;
	const nd_opts_t *o;
	nd_actor_t *self;
	nd_delivery_t *d;
	nd_account_t *acc;

	/* Solicited routes. */
	bool solicited;
	nd_route_kind_t kind;
	char *url, *user, *pass, *dial_host;
	int dial_port;
	int attempts;
	bool connecting, first_connect, stopping;
	nd_timer_t retry_timer;

	/* The connection. */
	int fd;
	nd_io_t io;
	bool io_ready;
	uint64_t rid;
	char ip[INET6_ADDRSTRLEN];
	int port;
	char tag[128];
	nd_route_parser_t parser;
	bool parser_ready;
	nd_outbuf_t out;
	bool closing, write_armed, read_paused;
	bool got_connect, got_info, registered;
	nd_tls_t *tls;        /* cluster TLS: the session, started right after the TCP connect */
	bool tls_handshaking; /* nothing else is sent or read until it completes */
	int tls_want;
	uint64_t epoch;          /* this connection's interest observation; 0: not observing */
	uint64_t observer_id;    /* its id in the registry */
	struct observation *obs; /* the observer's context */
	char remote_id[64], remote_name[256];
	nd_timer_t ping_timer, write_timer, auth_timer;
	int pings_out;

	/* Monitoring: rsubs and pub are shared with other threads under mu. */
	pthread_mutex_t mu;
	rsub_table_t rsubs;
	nd_route_info_t pub;
	int64_t start_ns, last_activity_ns, rtt_ns, ping_sent_ns;
	uint64_t in_msgs, in_bytes, out_msgs, out_bytes;
	uint64_t stats_in_msgs, stats_in_bytes, stats_out_msgs, stats_out_bytes;
} nd_route_t;

static const nd_dest_ops_t route_ops;
static void route_disconnect(nd_route_t *r, const char *reason);
static uint64_t write_deadline(nd_route_t *r);

static int64_t realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- output ---- */

static void out_raw(nd_route_t *r, const char *s, size_t n)
{
	if (r->fd < 0 || r->closing)
		return;
	nd_outbuf_append(&r->out, s, n);
	nd_delivery_mark_dirty(r->d, &r->dest);
}

static void out_str(nd_route_t *r, const char *s)
{
	out_raw(r, s, strlen(s));
}

static void send_err(nd_route_t *r, const char *text)
{
	nd_log_trace("%s - ->> [-ERR %s]", r->tag, text);
	out_str(r, "-ERR '");
	out_str(r, text);
	out_str(r, "'\r\n");
}

static void update_io(nd_route_t *r)
{
	if (!r->io_ready)
		return;
	if (r->tls_handshaking) {
		nd_io_set(&r->io, r->closing ? 0 : r->tls_want);
		return;
	}
	int ev = 0;
	if (!r->closing && !r->read_paused && !r->connecting)
		ev |= ND_IO_READ;
	bool blocked_on_read = r->tls != NULL && r->tls_want == ND_IO_READ;
	if ((r->write_armed && !blocked_on_read) || r->connecting ||
	    (r->tls != NULL && r->tls_want == ND_IO_WRITE))
		ev |= ND_IO_WRITE;
	nd_io_set(&r->io, ev);
}

/* ---- remote interest ---- */

static uint64_t key_hash(const char *s, size_t sl, const char *q, size_t ql)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < sl; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	h = (h ^ 0xff) * 1099511628211ull;
	for (size_t i = 0; i < ql; i++)
		h = (h ^ (unsigned char)q[i]) * 1099511628211ull;
	return h;
}

static bool key_equal(const nd_sub_t *s, const char *subj, size_t sl, const char *q, size_t ql)
{
	return s->subject_len == sl && s->queue_len == ql && memcmp(s->subject, subj, sl) == 0 &&
	       (ql == 0 || memcmp(s->queue, q, ql) == 0);
}

/* The slot of (subject, queue), or the free slot to put it in. */
static nd_sub_t **rsub_slot(rsub_table_t *t, const char *s, size_t sl, const char *q, size_t ql)
{
	size_t mask = t->cap - 1, i = key_hash(s, sl, q, ql) & mask;
	nd_sub_t **free_slot = NULL;
	for (;;) {
		nd_sub_t *x = t->slots[i];
		if (x == NULL)
			return free_slot != NULL ? free_slot : &t->slots[i];
		if (x == TOMB) {
			if (free_slot == NULL)
				free_slot = &t->slots[i];
		} else if (key_equal(x, s, sl, q, ql)) {
			return &t->slots[i];
		}
		i = (i + 1) & mask;
	}
}

static void rsub_grow(rsub_table_t *t)
{
	size_t cap = t->cap ? t->cap * 2 : 64;
	if (t->cap > 0 && t->n * 4 < t->cap)
		cap = t->cap; /* mostly tombstones: rehash in place */
	nd_sub_t **old = t->slots;
	size_t oldcap = t->cap;
	t->slots = calloc(cap, sizeof(*t->slots));
	if (t->slots == NULL)
		abort();
	t->cap = cap;
	t->used = t->n;
	for (size_t i = 0; i < oldcap; i++) {
		nd_sub_t *x = old[i];
		if (x == NULL || x == TOMB)
			continue;
		*rsub_slot(t, x->subject, x->subject_len, x->queue, x->queue_len) = x;
	}
	free(old);
}

static void free_sub(void *p)
{
	nd_sub_t *s = p;
	free((void *)(uintptr_t)s->subject);
	nd_pool_free(s);
}

static void rsub_drop(nd_route_t *r, nd_sub_t *s)
{
	nd_worker_t *w = nd_actor_home(r->self);
	nd_sublist_remove(r->acc->sl, s, nd_runtime_qsbr(nd_server_runtime(r->srv)),
			  nd_worker_qsbr_slot(w));
	s->alive = false;
	atomic_store_explicit(&s->gen, atomic_load_explicit(&s->gen, memory_order_relaxed) + 1,
			      memory_order_relaxed);
	nd_worker_retire(w, s, free_sub);
}

static void rsub_add(nd_route_t *r, nd_slice_t subject, nd_slice_t queue, int64_t weight)
{
	if (!nd_subject_valid_sub(subject.p, subject.n)) {
		nd_log_debug("%s - Ignoring invalid subject in RS+: %.*s", r->tag, (int)subject.n,
			     subject.p);
		return;
	}
	/* The reference's canExport: the cluster's export permission (its subscribe side) says
	 * what the peer may receive from us. */
	const nd_perms_t *perms = r->o->cluster.perms;
	if (perms != NULL && !nd_perms_sub_allowed(perms, subject.p, subject.n, NULL, 0)) {
		nd_log_debug("%s - Can not export \"%.*s\", ignoring remote subscription request",
			     r->tag, (int)subject.n, subject.p);
		return;
	}
	pthread_mutex_lock(&r->mu);
	if ((r->rsubs.used + 1) * 2 > r->rsubs.cap)
		rsub_grow(&r->rsubs);
	nd_sub_t **slot = rsub_slot(&r->rsubs, subject.p, subject.n, queue.p, queue.n);
	if (*slot != NULL && *slot != TOMB) {
		if (queue.n > 0) /* a queue's weight changed */
			atomic_store_explicit(&(*slot)->weight, weight > 0 ? (uint32_t)weight : 1,
					      memory_order_relaxed);
		pthread_mutex_unlock(&r->mu);
		return;
	}
	nd_sub_t *s = nd_pool_alloc(nd_server_sub_pool(r->srv));
	uint32_t gen = atomic_load_explicit(&s->gen, memory_order_relaxed);
	size_t alen = strlen(r->acc->name);
	char *strs = malloc(subject.n + queue.n + alen + 3);
	if (strs == NULL)
		abort();
	memcpy(strs, subject.p, subject.n);
	strs[subject.n] = '\0';
	char *q = strs + subject.n + 1;
	if (queue.n > 0)
		memcpy(q, queue.p, queue.n);
	q[queue.n] = '\0';
	char *acc = q + queue.n + 1;
	memcpy(acc, r->acc->name, alen + 1);
	*s = (nd_sub_t){
	    .subject = strs,
	    .queue = queue.n > 0 ? q : NULL,
	    .sid = acc,
	    .subject_len = (uint32_t)subject.n,
	    .queue_len = (uint32_t)queue.n,
	    .sid_len = (uint32_t)alen,
	    .home = (uint16_t)nd_delivery_worker_index(r->d),
	    .remote = true,
	    .owner = &r->dest,
	    .alive = true,
	};
	atomic_init(&s->gen, gen + 1);
	atomic_init(&s->weight, weight > 0 ? (uint32_t)weight : 1);
	if (*slot == NULL)
		r->rsubs.used++;
	*slot = s;
	r->rsubs.n++;
	pthread_mutex_unlock(&r->mu);
	nd_worker_t *w = nd_actor_home(r->self);
	nd_sublist_insert(r->acc->sl, s, nd_runtime_qsbr(nd_server_runtime(r->srv)),
			  nd_worker_qsbr_slot(w));
}

static void rsub_remove(nd_route_t *r, nd_slice_t subject, nd_slice_t queue)
{
	if (r->rsubs.cap == 0)
		return;
	pthread_mutex_lock(&r->mu);
	nd_sub_t **slot = rsub_slot(&r->rsubs, subject.p, subject.n, queue.p, queue.n);
	nd_sub_t *s = *slot;
	if (s == NULL || s == TOMB) {
		pthread_mutex_unlock(&r->mu);
		return;
	}
	*slot = TOMB;
	r->rsubs.n--;
	pthread_mutex_unlock(&r->mu);
	rsub_drop(r, s);
}

static void rsub_clear(nd_route_t *r)
{
	pthread_mutex_lock(&r->mu);
	nd_sub_t **slots = r->rsubs.slots;
	size_t cap = r->rsubs.cap;
	r->rsubs = (rsub_table_t){0};
	pthread_mutex_unlock(&r->mu);
	for (size_t i = 0; i < cap; i++)
		if (slots[i] != NULL && slots[i] != TOMB)
			rsub_drop(r, slots[i]);
	free(slots);
}

/* ---- our interest, announced ---- */

/* "RS+ <acc> <subject>[ <queue> <weight>]\r\n" or "RS- <acc> <subject>[ <queue>]\r\n". */
static size_t interest_line(const nd_interest_change_t *c, char *buf, size_t cap)
{
	int n;
	if (c->count == 0)
		n = snprintf(buf, cap, c->queue ? "RS- %s %.*s %.*s\r\n" : "RS- %s %.*s\r\n",
			     c->account, (int)c->subject_len, c->subject, (int)c->queue_len,
			     c->queue ? c->queue : "");
	else if (c->queue != NULL)
		n = snprintf(buf, cap, "RS+ %s %.*s %.*s %u\r\n", c->account, (int)c->subject_len,
			     c->subject, (int)c->queue_len, c->queue, c->count);
	else
		n = snprintf(buf, cap, "RS+ %s %.*s\r\n", c->account, (int)c->subject_len,
			     c->subject);
	return n < 0 ? 0 : (size_t)n;
}

static size_t interest_line_len(const nd_interest_change_t *c)
{
	return strlen(c->account) + c->subject_len + c->queue_len + 32;
}

static void text_free(nd_msg_t *m)
{
	(void)m; /* the text is part of the message */
}

/* What the registry calls back with: immutable while observed, so any thread may read it. */
typedef struct observation {
	nd_actor_t *route;
	nd_runtime_t *rt;
	uint64_t epoch;
	const nd_perms_t *perms; /* the cluster's permissions (the route's options hold them) */
} observation_t;

/* The reference's canImport: our interest in a subject is announced only if the cluster's
 * import permission (its publish side) lets the peer send it to us. */
static bool can_import(const nd_perms_t *perms, const nd_interest_change_t *c)
{
	return perms == NULL || nd_perms_pub_allowed(perms, c->subject, c->subject_len);
}

/* An interest change from any thread (under the registry lock): one message to the route. */
static void on_interest(void *ctx, const nd_interest_change_t *c)
{
	observation_t *ob = ctx;
	if (!can_import(ob->perms, c))
		return;
	size_t cap = interest_line_len(c);
	text_msg_t *m = nd_msg_alloc(ob->rt, sizeof(*m) + cap, MSG_INTEREST);
	m->hdr.dtor = text_free;
	m->epoch = ob->epoch;
	m->len = interest_line(c, m->text, cap);
	nd_actor_send(ob->route, &m->hdr);
}

/* The replay of every current entry, on the route's own thread. */
static void on_replay(void *ctx, const nd_interest_change_t *c)
{
	nd_route_t *r = ctx;
	if (!can_import(r->o->cluster.perms, c))
		return;
	char buf[1024];
	size_t cap = interest_line_len(c);
	char *p = cap <= sizeof(buf) ? buf : malloc(cap);
	if (p == NULL)
		abort();
	size_t n = interest_line(c, p, cap);
	out_raw(r, p, n);
	if (p != buf)
		free(p);
}

/* Only the $G account exists (accounts come later); its interest is all we announce. */
static void start_observing(nd_route_t *r)
{
	static _Atomic uint64_t epochs = 1; /* unique across connections and routes */
	observation_t *ob = malloc(sizeof(*ob));
	if (ob == NULL)
		abort();
	ob->route = r->self;
	ob->rt = nd_server_runtime(r->srv);
	ob->epoch = atomic_fetch_add_explicit(&epochs, 1, memory_order_relaxed);
	ob->perms = r->o->cluster.perms;
	r->obs = ob;
	r->epoch = ob->epoch;
	r->observer_id =
	    nd_interest_observe(nd_server_interest(r->srv), on_interest, ob, on_replay, NULL, r);
	nd_log_debug("%s - Sent local subscriptions to route", r->tag);
}

static void stop_observing(nd_route_t *r)
{
	if (r->epoch == 0)
		return;
	nd_interest_unobserve(nd_server_interest(r->srv), r->observer_id);
	free(r->obs);
	r->obs = NULL;
	r->epoch = 0;
}

/* ---- delivery (nd_dest_ops) ---- */

static size_t put(char *p, const char *s, size_t n)
{
	if (n > 0)
		memcpy(p, s, n);
	return n;
}

static void route_close_slow(nd_route_t *r)
{
	nd_log_info("%s - Slow Consumer Detected: MaxPending of %lld Exceeded", r->tag,
		    (long long)r->o->max_pending);
	nd_server_counter_add(
	    &nd_server_counters(r->srv, nd_delivery_worker_index(r->d))->slow_consumers, 1);
	route_disconnect(r, "Slow Consumer (Pending Bytes)");
}

/* One RMSG (or HMSG) for all of this route's subscriptions that matched m. */
static void route_deliver_remote(nd_dest_t *dst, const nd_pubmsg_t *m, nd_sub_t *const *subs,
				 size_t n)
{
	nd_route_t *r = (nd_route_t *)dst;
	if (r->closing || !r->registered)
		return;
	size_t qlen = 0;
	for (size_t i = 0; i < n; i++)
		if (subs[i]->queue != NULL)
			qlen += subs[i]->queue_len + 1;
	const char *acc = subs[0]->sid;
	size_t alen = subs[0]->sid_len;
	bool hmsg = m->hdr > 0;
	size_t line = 5 + alen + 1 + m->subject_len + 1 + (m->reply_len ? m->reply_len + 1 : 0) +
		      (qlen ? qlen + 2 : 0) + (hmsg ? m->hdr_tok_len + 1 : 0) + m->size_tok_len + 2;
	size_t total = line + (size_t)m->size + 2;
	if (nd_outbuf_pending(&r->out) + total > (size_t)r->o->max_pending) {
		route_close_slow(r);
		return;
	}
	char *p = nd_outbuf_reserve(&r->out, total), *start = p;
	p += put(p, hmsg ? "HMSG " : "RMSG ", 5);
	p += put(p, acc, alen);
	*p++ = ' ';
	p += put(p, m->subject, m->subject_len);
	*p++ = ' ';
	if (qlen > 0) {
		if (m->reply_len > 0) {
			p += put(p, "+ ", 2);
			p += put(p, m->reply, m->reply_len);
			*p++ = ' ';
		} else {
			p += put(p, "| ", 2);
		}
		for (size_t i = 0; i < n; i++) {
			if (subs[i]->queue == NULL)
				continue;
			p += put(p, subs[i]->queue, subs[i]->queue_len);
			*p++ = ' ';
		}
	} else if (m->reply_len > 0) {
		p += put(p, m->reply, m->reply_len);
		*p++ = ' ';
	}
	if (hmsg) {
		p += put(p, m->hdr_tok, m->hdr_tok_len);
		*p++ = ' ';
	}
	p += put(p, m->size_tok, m->size_tok_len);
	p += put(p, "\r\n", 2);
	p += put(p, m->payload, (size_t)m->size);
	p += put(p, "\r\n", 2);
	nd_outbuf_commit(&r->out, (size_t)(p - start));
	r->out_msgs++;
	r->out_bytes += (uint64_t)m->size;
	if (nd_log_enabled(ND_LOG_TRACE))
		nd_log_trace("%s - ->> [%.*s]", r->tag, (int)(p - start - (ptrdiff_t)m->size - 4),
			     start);
	nd_delivery_mark_dirty(r->d, &r->dest);
}

/* Never called: every subscription of a route is remote (deliver_remote). */
static bool route_deliver(nd_dest_t *dst, nd_sub_t *sub, const nd_pubmsg_t *m)
{
	(void)sub;
	route_deliver_remote(dst, m, &sub, 1);
	return true;
}

/* What /routez shows, copied for other threads. */
static void publish_stats(nd_route_t *r)
{
	pthread_mutex_lock(&r->mu);
	nd_route_info_t *p = &r->pub;
	p->rid = r->rid;
	snprintf(p->ip, sizeof(p->ip), "%s", r->ip);
	p->port = r->port;
	p->start_ns = r->start_ns;
	p->last_activity_ns = r->last_activity_ns;
	p->rtt_ns = r->rtt_ns;
	p->pending_bytes = nd_outbuf_pending(&r->out);
	p->in_msgs = r->in_msgs;
	p->in_bytes = r->in_bytes;
	p->out_msgs = r->out_msgs;
	p->out_bytes = r->out_bytes;
	pthread_mutex_unlock(&r->mu);
}

static void push_counters(nd_route_t *r)
{
	publish_stats(r);
	nd_server_counters_t *k = nd_server_counters(r->srv, nd_delivery_worker_index(r->d));
	if (r->in_msgs != r->stats_in_msgs) {
		nd_server_counter_add(&k->in_msgs, r->in_msgs - r->stats_in_msgs);
		nd_server_counter_add(&k->in_bytes, r->in_bytes - r->stats_in_bytes);
		r->stats_in_msgs = r->in_msgs;
		r->stats_in_bytes = r->in_bytes;
	}
	if (r->out_msgs != r->stats_out_msgs) {
		nd_server_counter_add(&k->out_msgs, r->out_msgs - r->stats_out_msgs);
		nd_server_counter_add(&k->out_bytes, r->out_bytes - r->stats_out_bytes);
		r->stats_out_msgs = r->out_msgs;
		r->stats_out_bytes = r->out_bytes;
	}
}

static void route_flush(nd_dest_t *dst)
{
	nd_route_t *r = (nd_route_t *)dst;
	if (r->fd < 0 || r->connecting || r->tls_handshaking)
		return;
	push_counters(r);
	ssize_t w;
	if (r->tls != NULL) {
		w = nd_tls_write_outbuf(r->tls, &r->out, &r->tls_want);
		if (w == ND_TLS_WANT_READ || w == ND_TLS_WANT_WRITE)
			w = -EAGAIN;
		else if (w == ND_TLS_FAILED) {
			nd_log_debug("%s - TLS write error: %s", r->tag, nd_tls_error(r->tls));
			route_disconnect(r, "Write Error");
			return;
		}
	} else {
		w = nd_outbuf_write(&r->out, r->fd);
	}
	if (w < 0 && w != -EAGAIN) {
		nd_log_debug("%s - Write error: %s", r->tag, strerror((int)-w));
		route_disconnect(r, "Write Error");
		return;
	}
	if (nd_outbuf_pending(&r->out) == 0) {
		nd_timer_stop(&r->write_timer);
		if (r->write_armed) {
			r->write_armed = false;
			update_io(r);
		}
		return;
	}
	if (!r->write_armed) {
		r->write_armed = true;
		update_io(r);
		nd_timer_start(&r->write_timer, write_deadline(r));
	} else if (w > 0) {
		nd_timer_start(&r->write_timer, write_deadline(r));
	}
}

static void route_resume(nd_dest_t *dst)
{
	nd_route_t *r = (nd_route_t *)dst;
	if (!r->read_paused)
		return;
	r->read_paused = false;
	update_io(r);
}

static const nd_dest_ops_t route_ops = {.deliver = route_deliver,
					.flush = route_flush,
					.resume = route_resume,
					.deliver_remote = route_deliver_remote};

/* ---- handshake ---- */

static const char *jstr(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static void send_connect(nd_route_t *r)
{
	json_t *o = json_object();
	json_object_set_new(o, "echo", json_true());
	json_object_set_new(o, "verbose", json_false());
	json_object_set_new(o, "pedantic", json_false());
	if (r->user != NULL)
		json_object_set_new(o, "user", json_string(r->user));
	if (r->pass != NULL)
		json_object_set_new(o, "pass", json_string(r->pass));
	json_object_set_new(o, "tls_required", json_false());
	json_object_set_new(o, "headers", json_boolean(!r->o->no_header_support));
	json_object_set_new(o, "name", json_string(nd_server_id(r->srv)));
	json_object_set_new(o, "cluster", json_string(nd_cluster_name(r->cl)));
	if (nd_cluster_name_dynamic(r->cl))
		json_object_set_new(o, "cluster_dynamic", json_true());
	json_object_set_new(o, "lnoc", json_true());
	char *js = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	out_str(r, "CONNECT ");
	out_str(r, js);
	out_str(r, "\r\n");
	free(js);
	nd_log_debug("%s - Route connect msg sent", r->tag);
}

/* Our INFO, with a fresh nonce per connection as the reference sends (unused on routes). */
static void send_info(nd_route_t *r)
{
	size_t len;
	char nonce[ND_NKEY_NONCE_LEN + 1];
	nd_nkey_nonce(nonce);
	char *info = nd_cluster_route_info(r->cl, nonce, false, &len);
	out_raw(r, info, len);
	free(info);
}

static bool check_cluster_name(nd_route_t *r, const char *name, bool dynamic, bool from_connect)
{
	if (nd_cluster_negotiate_name(r->cl, name != NULL ? name : "", dynamic, r->self))
		return true;
	const char *ours = nd_cluster_name(r->cl);
	char text[600];
	snprintf(text, sizeof(text),
		 "Rejecting connection, cluster name \"%s\" does not match \"%s\"",
		 name ? name : "", ours);
	nd_log_error("%s - %s", r->tag, text);
	if (from_connect)
		send_err(r, text);
	route_disconnect(r, "Cluster Name Conflict");
	return false;
}

static bool process_connect(nd_route_t *r, nd_slice_t arg)
{
	json_error_t jerr;
	json_t *o = json_loadb(arg.p, arg.n, 0, &jerr);
	if (o == NULL || !json_is_object(o)) {
		json_decref(o);
		send_err(r, "Unknown Protocol Operation");
		route_disconnect(r, "Protocol Violation");
		return false;
	}
	const char *lang = jstr(o, "lang");
	if (lang != NULL && lang[0] != '\0') {
		json_decref(o);
		send_err(r, "attempted to connect to route port");
		route_disconnect(r, "Incorrect Port");
		return false;
	}
	const char *gw = jstr(o, "gateway");
	if (gw != NULL && gw[0] != '\0') {
		char text[400];
		snprintf(text, sizeof(text),
			 "Rejecting connection from gateway \"%s\" on the Route port", gw);
		send_err(r, text);
		json_decref(o);
		route_disconnect(r, "Wrong Gateway");
		return false;
	}
	const nd_cluster_opts_t *co = &r->o->cluster;
	if (co->username != NULL && co->username[0] != '\0') {
		const char *u = jstr(o, "user"), *p = jstr(o, "pass");
		bool ok = u != NULL && p != NULL && strcmp(u, co->username) == 0 &&
			  strcmp(p, co->password != NULL ? co->password : "") == 0;
		if (!ok) {
			nd_log_error("%s - Authorization Error - user \"%s\"", r->tag,
				     u != NULL ? u : "");
			json_decref(o); /* u points into it */
			send_err(r, "Authorization Violation");
			route_disconnect(r, "Authentication Failure");
			return false;
		}
	}
	nd_timer_stop(&r->auth_timer);
	if (!check_cluster_name(r, jstr(o, "cluster"),
				json_is_true(json_object_get(o, "cluster_dynamic")), true)) {
		json_decref(o);
		return false;
	}
	const char *name = jstr(o, "name");
	if (name != NULL)
		snprintf(r->remote_id, sizeof(r->remote_id), "%s", name);
	json_t *h = json_object_get(o, "headers");
	nd_route_parser_set_headers(&r->parser, json_is_true(h) && !r->o->no_header_support);
	r->got_connect = true;
	json_decref(o);
	return true;
}

/* The peer's route URL: its advertised "ip", or what it told us with the address we see. */
static char *peer_route_url(nd_route_t *r, json_t *o)
{
	const char *ip = jstr(o, "ip");
	if (ip != NULL && ip[0] != '\0')
		return strdup(ip);
	if (r->solicited && r->url != NULL)
		return strdup(r->url);
	json_t *port = json_object_get(o, "port");
	char *u = NULL;
	if (asprintf(&u, strchr(r->ip, ':') ? "nats-route://[%s]:%lld/" : "nats-route://%s:%lld/",
		     r->ip, (long long)json_integer_value(port)) < 0)
		abort();
	return u;
}

static void process_first_info(nd_route_t *r, json_t *o, nd_slice_t arg)
{
	const char *id = jstr(o, "server_id");
	if (id == NULL || strcmp(id, nd_server_id(r->srv)) == 0) {
		nd_log_debug("%s - Detected route to self, ignoring \"%s\"", r->tag,
			     r->url ? r->url : r->ip);
		r->kind = ND_ROUTE_IMPLICIT; /* never dial ourselves again */
		r->attempts = r->o->cluster.connect_retries + 1;
		route_disconnect(r, "Duplicate Route");
		return;
	}
	/* An INFO without a name does not conflict (the reference checks only a set one). */
	const char *cname = jstr(o, "cluster");
	if (cname != NULL && cname[0] != '\0' &&
	    !check_cluster_name(r, cname, json_is_true(json_object_get(o, "cluster_dynamic")),
				false))
		return;
	const char *name = jstr(o, "server_name");
	const char *our_name = r->o->server_name ? r->o->server_name : nd_server_id(r->srv);
	if (!r->solicited && name != NULL && strcmp(name, our_name) == 0) {
		nd_log_error("%s - Remote server has a duplicate name: \"%s\"", r->tag, name);
		route_disconnect(r, "Duplicate Server Name");
		return;
	}
	snprintf(r->remote_id, sizeof(r->remote_id), "%s", id);
	snprintf(r->remote_name, sizeof(r->remote_name), "%s", name ? name : "");
	json_t *h = json_object_get(o, "headers");
	nd_route_parser_set_headers(&r->parser, json_is_true(h) && !r->o->no_header_support);
	r->got_info = true;

	/* Forwarded as gossip: the INFO without its nonce, with where to reach the peer. */
	char *url = peer_route_url(r, o);
	json_t *fwd = json_deep_copy(o);
	json_object_del(fwd, "nonce");
	json_object_set_new(fwd, "ip", json_string(url));
	char *fwd_js = json_dumps(fwd, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(fwd);

	json_t *cu = json_object_get(o, "connect_urls");
	size_t ncu = json_is_array(cu) ? json_array_size(cu) : 0;
	char **urls = calloc(ncu + 1, sizeof(char *));
	size_t nu = 0;
	for (size_t i = 0; i < ncu; i++) {
		const char *u = json_string_value(json_array_get(cu, i));
		if (u != NULL)
			urls[nu++] = strdup(u);
	}
	nd_route_peer_t peer = {.id = r->remote_id,
				.name = r->remote_name,
				.route_url = url,
				.client_urls = urls,
				.nclient_urls = nu,
				.solicited = r->solicited,
				.configured = r->solicited && r->kind == ND_ROUTE_EXPLICIT,
				.info_json = fwd_js};
	int rc = nd_cluster_register(r->cl, r->self, &peer);
	for (size_t i = 0; i < nu; i++)
		free(urls[i]);
	free(urls);
	free(url);
	free(fwd_js);
	(void)arg;
	if (rc == -EEXIST) {
		nd_log_debug("%s - Detected duplicate remote route \"%s\"", r->tag, r->remote_id);
		route_disconnect(r, "Duplicate Route");
		return;
	}
	if (rc != 0) {
		route_disconnect(r, "Duplicate Route");
		return;
	}
	r->registered = true;
	r->attempts = 0;
	nd_log_debug("%s - Registering remote route \"%s\"", r->tag, r->remote_id);
	start_observing(r);
}

static void process_info(nd_route_t *r, nd_slice_t arg)
{
	json_error_t jerr;
	json_t *o = json_loadb(arg.p, arg.n, 0, &jerr);
	if (o == NULL || !json_is_object(o)) {
		json_decref(o);
		nd_log_error("%s - Error processing route INFO: invalid JSON", r->tag);
		route_disconnect(r, "Protocol Violation");
		return;
	}
	if (!r->got_info) {
		process_first_info(r, o, arg);
		json_decref(o);
		return;
	}
	const char *id = jstr(o, "server_id");
	if (id != NULL && strcmp(id, r->remote_id) != 0) {
		/* Gossip about another server: connect to it if we do not know it. */
		const char *ip = jstr(o, "ip");
		if (ip != NULL && ip[0] != '\0')
			nd_cluster_learn(r->cl, id, ip);
	} else if (id != NULL && json_is_true(json_object_get(o, "ldm"))) {
		nd_log_debug("%s - Route %s entered lame duck mode", r->tag, r->remote_id);
		nd_cluster_peer_lame_duck(r->cl, r->self);
	}
	json_decref(o);
}

/* ---- messages from the peer ---- */

static void process_rmsg(nd_route_t *r, const nd_rop_t *op)
{
	r->in_msgs++;
	r->in_bytes += (uint64_t)op->size;
	if (op->account.n != strlen(r->acc->name) ||
	    memcmp(op->account.p, r->acc->name, op->account.n) != 0)
		return; /* an account we do not have (the reference's $SYS, say) */
	nd_pubmsg_t m = {
	    .subject = op->subject.p,
	    .subject_len = (uint32_t)op->subject.n,
	    .reply = op->reply.p,
	    .reply_len = (uint32_t)op->reply.n,
	    .size_tok = op->size_tok.p,
	    .size_tok_len = (uint32_t)op->size_tok.n,
	    .hdr_tok = op->hdr_tok.p,
	    .hdr_tok_len = (uint32_t)op->hdr_tok.n,
	    .hdr = op->hdr > 0 ? op->hdr : 0,
	    .size = op->size,
	    .payload = op->payload.p,
	};
	const nd_match_t *res = nd_delivery_match(r->d, r->acc, m.subject, m.subject_len);
	nd_delivery_publish_routed(r->d, res, &m, op->queue_list.p,
				   op->nqueues > 0 ? op->queue_list.n : 0);
}

static bool is_our_account(nd_route_t *r, nd_slice_t acc)
{
	return acc.n == strlen(r->acc->name) && memcmp(acc.p, r->acc->name, acc.n) == 0;
}

static void trace_op(nd_route_t *r, const nd_rop_t *op)
{
	static const char *const names[] = {"INFO", "CONNECT", "PING", "PONG", "OK",   "-ERR",
					    "RS+",  "RS-",     "LS+",  "LS-",  "RMSG", "HMSG",
					    "LMSG", "A+",      "A-",   "SUB",  "PUB",  "HPUB"};
	const char *n = (size_t)op->kind < sizeof(names) / sizeof(names[0]) ? names[op->kind] : "?";
	if (op->arg.n > 0)
		nd_log_trace("%s - <<- [%s %.*s]", r->tag, n,
			     (int)(op->arg.n > 4096 ? 4096 : op->arg.n), op->arg.p);
	else
		nd_log_trace("%s - <<- [%s]", r->tag, n);
}

/* Returns false once the route closed. */
static bool handle_op(nd_route_t *r, const nd_rop_t *op)
{
	if (nd_log_enabled(ND_LOG_TRACE))
		trace_op(r, op);
	switch (op->kind) {
	case ND_ROP_CONNECT:
		if (r->solicited || r->got_connect)
			return true; /* the reference ignores a second CONNECT */
		return process_connect(r, op->arg);
	case ND_ROP_INFO:
		process_info(r, op->arg);
		return !r->closing && r->fd >= 0;
	case ND_ROP_PING:
		nd_log_trace("%s - ->> [PONG]", r->tag);
		out_str(r, "PONG\r\n");
		return true;
	case ND_ROP_PONG:
		r->pings_out = 0;
		if (r->ping_sent_ns != 0) {
			r->rtt_ns = mono_ns() - r->ping_sent_ns;
			r->ping_sent_ns = 0;
		}
		return true;
	case ND_ROP_OK:
		return true;
	case ND_ROP_ERR:
		nd_log_error("%s - Route Error %.*s", r->tag, (int)op->arg.n, op->arg.p);
		route_disconnect(r, "Parse Error");
		return false;
	/* Interest of the peer's leaf nodes (LS+/LS-) is the peer's interest: the reference keys
	 * both by "account subject [queue]", and sends RMSG for both to a client's message. */
	case ND_ROP_RSUB:
	case ND_ROP_LSUB:
		if (is_our_account(r, op->account))
			rsub_add(r, op->subject, op->queue, op->weight);
		return true;
	case ND_ROP_RUNSUB:
	case ND_ROP_LUNSUB:
		if (is_our_account(r, op->account))
			rsub_remove(r, op->subject, op->queue);
		return true;
	/* LMSG: a message a leaf node published at the peer; delivered here like an RMSG. */
	case ND_ROP_RMSG:
	case ND_ROP_RHMSG:
	case ND_ROP_LMSG:
		process_rmsg(r, op);
		return true;
	default:
		/* A+/A-, SUB, PUB: nothing to do without accounts; the reference ignores a route's
		 * SUB and drops a PUB it cannot place. */
		return true;
	}
}

static void parse_error(nd_route_t *r, int rc)
{
	const char *text = nd_route_parser_error_text(&r->parser);
	nd_log_error("%s - Router parser ERROR: %s", r->tag, text ? text : "protocol error");
	if (rc == ND_RPERR_UNKNOWN_OP || rc == ND_RPERR_PAYLOAD_END)
		send_err(r, "Unknown Protocol Operation");
	else if (rc == ND_RPERR_CONTROL_LINE)
		send_err(r, "maximum control line exceeded");
	else if (rc == ND_RPERR_MAX_PAYLOAD)
		send_err(r, "Maximum Payload Violation");
	route_disconnect(r, "Protocol Violation");
}

static void process_input(nd_route_t *r, const char *buf, size_t len)
{
	size_t off = 0;
	while (off < len && !r->closing && r->fd >= 0) {
		size_t used = 0;
		nd_rop_t op;
		int rc = nd_route_parser_next(&r->parser, buf + off, len - off, &used, &op);
		if (rc == ND_PARSE_AGAIN)
			break;
		if (rc < 0) {
			parse_error(r, rc);
			return;
		}
		off += used;
		if (!handle_op(r, &op))
			return;
	}
}

/* Cluster TLS: what the session decrypted goes to the parser (nd_tls_read_each). */
static bool tls_input(void *ctx, const char *p, size_t n)
{
	nd_route_t *r = ctx;
	r->last_activity_ns = realtime_ns();
	process_input(r, p, n);
	return r->fd >= 0 && !r->closing;
}

static void tls_read_some(nd_route_t *r)
{
	size_t cap;
	char *buf = nd_delivery_read_buffer(r->d, &cap);
	int rc = nd_tls_read_each(r->tls, buf, cap, ND_TLS_READ_BUDGET, tls_input, r);
	if (rc == 1)
		return;
	if (rc == ND_TLS_WANT_WRITE) {
		r->tls_want = ND_IO_WRITE;
		update_io(r);
	} else if (rc == ND_TLS_CLOSED) {
		route_disconnect(r, "Client Closed");
		return;
	} else if (rc == ND_TLS_FAILED) {
		nd_log_debug("%s - TLS read error: %s", r->tag, nd_tls_error(r->tls));
		route_disconnect(r, "Read Error");
		return;
	}
	push_counters(r);
	if (!r->closing && nd_delivery_over_budget(r->d)) {
		r->read_paused = true;
		update_io(r);
		nd_delivery_pause(r->d, &r->dest);
	}
}

static void read_some(nd_route_t *r)
{
	if (r->tls != NULL) {
		tls_read_some(r);
		return;
	}
	size_t cap;
	char *buf = nd_delivery_read_buffer(r->d, &cap);
	ssize_t n = read(r->fd, buf, cap);
	if (n > 0) {
		r->last_activity_ns = realtime_ns();
		process_input(r, buf, (size_t)n);
		if (r->fd >= 0)
			push_counters(r);
		if (r->fd >= 0 && !r->closing && nd_delivery_over_budget(r->d)) {
			r->read_paused = true;
			update_io(r);
			nd_delivery_pause(r->d, &r->dest);
		}
		return;
	}
	if (n == 0) {
		route_disconnect(r, "Client Closed");
		return;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return;
	nd_log_debug("%s - Read error: %s", r->tag, strerror(errno));
	route_disconnect(r, "Read Error");
}

/* ---- connection life ---- */

static void on_ping_timer(nd_actor_t *self, nd_timer_t *t);
static void on_write_timer(nd_actor_t *self, nd_timer_t *t);
static void on_auth_timer(nd_actor_t *self, nd_timer_t *t);
static void on_io(nd_actor_t *self, nd_io_t *io, int events);

static uint64_t ping_interval(nd_route_t *r)
{
	if (r->o->cluster.ping_interval_ms > 0)
		return r->o->cluster.ping_interval_ms;
	uint64_t p = r->o->ping_interval_ms;
	return p > MAX_PING_MS ? MAX_PING_MS : p;
}

static int ping_max(nd_route_t *r)
{
	return r->o->cluster.ping_max > 0 ? r->o->cluster.ping_max : r->o->ping_max;
}

static uint64_t write_deadline(nd_route_t *r)
{
	return r->o->cluster.write_deadline_ms > 0 ? r->o->cluster.write_deadline_ms
						   : r->o->write_deadline_ms;
}

static void set_tag(nd_route_t *r)
{
	snprintf(r->tag, sizeof(r->tag),
		 strchr(r->ip, ':') != NULL ? "[%s]:%d - rid:%llu" : "%s:%d - rid:%llu", r->ip,
		 r->port, (unsigned long long)r->rid);
}

/* The socket is connected (accepted, or a dial that completed): start the protocol. */
static void connection_up(nd_route_t *r)
{
	r->closing = false;
	r->got_connect = r->got_info = r->registered = false;
	r->remote_id[0] = r->remote_name[0] = '\0';
	r->pings_out = 0;
	r->ping_sent_ns = 0;
	r->rtt_ns = 0;
	r->in_msgs = r->in_bytes = r->out_msgs = r->out_bytes = 0;
	r->stats_in_msgs = r->stats_in_bytes = r->stats_out_msgs = r->stats_out_bytes = 0;
	r->start_ns = r->last_activity_ns = realtime_ns();
	publish_stats(r);
	nd_route_parser_init(&r->parser);
	nd_route_parser_set_limits(&r->parser, ROUTE_CONTROL_LINE, ROUTE_MAX_PAYLOAD);
	r->parser_ready = true;
	int one = 1;
	setsockopt(r->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	nd_log_info("%s - Route connection created", r->tag);
	if (r->solicited) {
		send_connect(r);
		send_info(r);
	} else {
		send_info(r);
		const nd_cluster_opts_t *co = &r->o->cluster;
		if (co->username != NULL && co->username[0] != '\0') {
			double to = co->auth_timeout_s > 0 ? co->auth_timeout_s : 2.0;
			nd_timer_start(&r->auth_timer, (uint64_t)(to * 1000));
		}
	}
	uint64_t jitter = nd_delivery_random(r->d) % (FIRST_PING_MS / 5 + 1);
	uint64_t first = ping_interval(r) < FIRST_PING_MS ? ping_interval(r) : FIRST_PING_MS;
	nd_timer_start(&r->ping_timer, first + jitter);
	update_io(r);
}

static void schedule_retry(nd_route_t *r, uint64_t delay_ms)
{
	nd_timer_start(&r->retry_timer, delay_ms + nd_delivery_random(r->d) % JITTER_MS);
}

/* Closes the connection. A solicited route may dial again; otherwise the actor stops. */
static void route_disconnect(nd_route_t *r, const char *reason)
{
	if (r->fd < 0)
		return;
	if (!r->connecting)
		nd_log_info("%s - Router connection closed: %s", r->tag, reason);
	r->closing = true;
	stop_observing(r);
	if (r->registered) {
		nd_cluster_unregister(r->cl, r->self);
		r->registered = false;
	}
	rsub_clear(r);
	push_counters(r);
	if (r->io_ready)
		nd_io_set(&r->io, 0);
	r->io_ready = false;
	nd_timer_stop(&r->ping_timer);
	nd_timer_stop(&r->write_timer);
	nd_timer_stop(&r->auth_timer);
	nd_delivery_unmark_dirty(r->d, &r->dest);
	nd_delivery_unpause(r->d, &r->dest);
	r->read_paused = r->write_armed = false;
	/* Best effort for what explains the close (an -ERR): one write, never a wait. */
	if (!r->connecting && !r->tls_handshaking && nd_outbuf_pending(&r->out) > 0 &&
	    nd_outbuf_pending(&r->out) <= 4096) {
		int want;
		if (r->tls != NULL)
			(void)nd_tls_write_outbuf(r->tls, &r->out, &want);
		else
			(void)nd_outbuf_write(&r->out, r->fd);
	}
	nd_tls_free(r->tls);
	r->tls = NULL;
	r->tls_handshaking = false;
	r->tls_want = 0;
	close(r->fd);
	r->fd = -1;
	nd_outbuf_clear(&r->out);
	if (r->parser_ready) {
		nd_route_parser_deinit(&r->parser);
		r->parser_ready = false;
	}
	bool was_connecting = r->connecting;
	r->connecting = false;
	if (!r->solicited || r->stopping) {
		nd_actor_stop(r->self);
		return;
	}
	/* An explicit route is dialled again for ever, an implicit one connect_retries times;
	 * not while another connection to the same server is up. */
	if (r->kind == ND_ROUTE_IMPLICIT && r->attempts > r->o->cluster.connect_retries) {
		nd_cluster_solicit_done(r->cl, r->self);
		nd_actor_stop(r->self);
		return;
	}
	if (!was_connecting)
		nd_log_debug("Attempting reconnect for solicited route \"%s\"", r->url);
	schedule_retry(r, was_connecting ? CONNECT_DELAY_MS : RECONNECT_DELAY_MS);
}

static int resolve(const char *host, int port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	struct addrinfo *res = NULL;
	char ps[16];
	snprintf(ps, sizeof(ps), "%d", port);
	/* Numeric first: names resolve with a blocking lookup (short in practice; noted). */
	hints.ai_flags = AI_NUMERICHOST;
	int rc = getaddrinfo(host, ps, &hints, &res);
	if (rc != 0) {
		hints.ai_flags = 0;
		rc = getaddrinfo(host, ps, &hints, &res);
	}
	if (rc != 0 || res == NULL)
		return -1;
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static void dial(nd_route_t *r)
{
	if (r->stopping)
		return;
	if (r->remote_id[0] != '\0' && nd_cluster_has(r->cl, r->remote_id)) {
		/* Already connected to that server another way: look again later. */
		nd_log_debug("Not attempting reconnect for solicited route, already connected to "
			     "\"%s\"",
			     r->remote_id);
		schedule_retry(r, RECONNECT_DELAY_MS);
		return;
	}
	r->attempts++;
	struct sockaddr_storage ss;
	socklen_t sl;
	r->rid = nd_cluster_next_rid(r->cl);
	snprintf(r->ip, sizeof(r->ip), "%s", r->dial_host);
	r->port = r->dial_port;
	set_tag(r);
	nd_log_debug("Trying to connect to route on %s:%d", r->dial_host, r->dial_port);
	int fd = -1;
	if (resolve(r->dial_host, r->dial_port, &ss, &sl) == 0)
		fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&ss, sl) != 0 && errno != EINPROGRESS) {
		close(fd);
		fd = -1;
	}
	if (fd < 0) {
		nd_log_debug("Error trying to connect to route (attempt %d): %s", r->attempts,
			     strerror(errno));
		if (r->kind == ND_ROUTE_IMPLICIT && r->attempts > r->o->cluster.connect_retries) {
			nd_cluster_solicit_done(r->cl, r->self);
			nd_actor_stop(r->self);
			return;
		}
		schedule_retry(r, CONNECT_DELAY_MS);
		return;
	}
	r->fd = fd;
	r->connecting = true;
	r->closing = false;
	nd_io_init(&r->io, r->self, fd, on_io);
	r->io_ready = true;
	update_io(r);
	nd_timer_start(&r->write_timer, CONNECT_DELAY_MS); /* the dial timeout */
}

static void tls_handshake_step(nd_route_t *r)
{
	int rc = nd_tls_handshake(r->tls);
	if (rc == ND_TLS_WANT_READ || rc == ND_TLS_WANT_WRITE) {
		r->tls_want = rc == ND_TLS_WANT_READ ? ND_IO_READ : ND_IO_WRITE;
		update_io(r);
		return;
	}
	if (rc != 0) {
		nd_log_error("%s - TLS route handshake error: %s", r->tag, nd_tls_error(r->tls));
		route_disconnect(r, "TLS Handshake Failure");
		return;
	}
	nd_timer_stop(&r->auth_timer);
	r->tls_handshaking = false;
	r->tls_want = 0;
	nd_log_debug("%s - TLS handshake complete", r->tag);
	nd_log_debug("%s - TLS version %s, cipher suite %s", r->tag, nd_tls_version(r->tls),
		     nd_tls_cipher(r->tls));
	connection_up(r);
	read_some(r); /* the peer's first protocol bytes may have come with the handshake */
}

/* The socket is connected: with cluster TLS, the handshake comes first (no INFO in clear, as
 * in the reference); its timeout is the block's (the auth timer serves). */
static void socket_up(nd_route_t *r)
{
	nd_tls_ctx_t *ctx = nd_cluster_tls(r->cl, !r->solicited);
	if (ctx == NULL) {
		connection_up(r);
		return;
	}
	nd_log_debug("%s - Starting TLS route %s handshake", r->tag,
		     r->solicited ? "client" : "server");
	r->tls = nd_tls_new(ctx, r->fd, !r->solicited);
	nd_tls_ctx_unref(ctx);
	if (r->solicited)
		nd_tls_set_peer_name(r->tls, r->dial_host);
	r->tls_handshaking = true;
	r->tls_want = ND_IO_READ;
	nd_timer_start(&r->auth_timer, nd_cluster_tls_timeout_ms(r->cl));
	tls_handshake_step(r);
}

static void dial_done(nd_route_t *r)
{
	int err = 0;
	socklen_t el = sizeof(err);
	getsockopt(r->fd, SOL_SOCKET, SO_ERROR, &err, &el);
	if (err != 0) {
		bool report = r->attempts == 1 || r->o->connect_error_reports <= 0 ||
			      r->attempts % r->o->connect_error_reports == 0;
		if (report && r->kind == ND_ROUTE_EXPLICIT)
			nd_log_error(
			    "Error trying to connect to route (attempt %d): dial tcp %s:%d: "
			    "%s",
			    r->attempts, r->dial_host, r->dial_port, strerror(err));
		else
			nd_log_debug("Error trying to connect to route (attempt %d): %s",
				     r->attempts, strerror(err));
		route_disconnect(r, "Dial Error");
		return;
	}
	nd_timer_stop(&r->write_timer);
	r->connecting = false;
	socket_up(r);
}

static void on_io(nd_actor_t *self, nd_io_t *io, int events)
{
	nd_route_t *r = nd_actor_state(self);
	(void)io;
	if (r->connecting) {
		if (events & ND_IO_WRITE)
			dial_done(r);
		return;
	}
	if (r->tls_handshaking) {
		tls_handshake_step(r);
		return;
	}
	if (events & ND_IO_WRITE)
		route_flush(&r->dest);
	if ((events & ND_IO_READ) && r->tls != NULL && r->tls_want == ND_IO_READ &&
	    nd_outbuf_pending(&r->out) > 0)
		route_flush(&r->dest); /* the session needed to read before writing */
	if ((events & ND_IO_READ) && r->fd >= 0 && !r->closing)
		read_some(r);
}

static void on_ping_timer(nd_actor_t *self, nd_timer_t *t)
{
	nd_route_t *r = nd_actor_state(self);
	if (r->fd < 0 || r->closing)
		return;
	if (r->pings_out + 1 > ping_max(r)) {
		send_err(r, "Stale Connection");
		nd_log_debug("%s - Stale Route Connection - Closing", r->tag);
		route_flush(&r->dest);
		route_disconnect(r, "Stale Connection");
		return;
	}
	r->pings_out++;
	if (r->ping_sent_ns == 0)
		r->ping_sent_ns = mono_ns();
	nd_log_trace("%s - ->> [PING]", r->tag);
	out_str(r, "PING\r\n");
	nd_timer_start(t, ping_interval(r));
}

static void on_write_timer(nd_actor_t *self, nd_timer_t *t)
{
	nd_route_t *r = nd_actor_state(self);
	(void)t;
	if (r->connecting) {
		nd_log_debug("Error trying to connect to route (attempt %d): i/o timeout",
			     r->attempts);
		route_disconnect(r, "Dial Timeout");
		return;
	}
	nd_log_info("%s - Slow Consumer Detected: WriteDeadline of %llums exceeded with %zu bytes "
		    "pending",
		    r->tag, (unsigned long long)write_deadline(r), nd_outbuf_pending(&r->out));
	nd_server_counter_add(
	    &nd_server_counters(r->srv, nd_delivery_worker_index(r->d))->slow_consumers, 1);
	route_disconnect(r, "Slow Consumer (Write Deadline)");
}

static void on_auth_timer(nd_actor_t *self, nd_timer_t *t)
{
	nd_route_t *r = nd_actor_state(self);
	(void)t;
	if (r->fd < 0)
		return;
	if (r->tls_handshaking) {
		nd_log_error("%s - TLS route handshake error: i/o timeout", r->tag);
		route_disconnect(r, "TLS Handshake Failure");
		return;
	}
	if (r->got_connect)
		return;
	send_err(r, "Authentication Timeout");
	route_flush(&r->dest);
	route_disconnect(r, "Authentication Timeout");
}

static void on_retry_timer(nd_actor_t *self, nd_timer_t *t)
{
	(void)t;
	dial(nd_actor_state(self));
}

/* ---- actor ---- */

static void route_start(nd_actor_t *self)
{
	nd_route_t *r = nd_actor_state(self);
	r->self = self;
	r->d = nd_delivery_current(nd_server_delivery(r->srv));
	r->acc = nd_server_global_account(r->srv);
	r->dest.ops = &route_ops;
	nd_outbuf_init(&r->out);
	nd_timer_init(&r->ping_timer, self, on_ping_timer);
	nd_timer_init(&r->write_timer, self, on_write_timer);
	nd_timer_init(&r->auth_timer, self, on_auth_timer);
	nd_timer_init(&r->retry_timer, self, on_retry_timer);
	if (r->solicited) {
		dial(r);
		return;
	}
	nd_io_init(&r->io, self, r->fd, on_io);
	r->io_ready = true;
	socket_up(r);
}

static void route_stop(nd_actor_t *self)
{
	nd_route_t *r = nd_actor_state(self);
	r->stopping = true;
	nd_timer_stop(&r->retry_timer);
	route_disconnect(r, "Server Shutdown");
	nd_timer_stop(&r->ping_timer);
	nd_timer_stop(&r->write_timer);
	nd_timer_stop(&r->auth_timer);
	nd_delivery_unmark_dirty(r->d, &r->dest);
}

static void route_free(nd_actor_t *self)
{
	nd_route_t *r = nd_actor_state(self);
	if (r->fd >= 0)
		close(r->fd);
	if (r->parser_ready)
		nd_route_parser_deinit(&r->parser);
	nd_outbuf_clear(&r->out);
	free(r->rsubs.slots); /* subscriptions were retired when the route stopped */
	free(r->url);
	free(r->user);
	free(r->pass);
	free(r->dial_host);
	if (r->snap != NULL)
		nd_opts_snap_unref(r->snap);
	pthread_mutex_destroy(&r->mu);
}

static void route_message(nd_actor_t *self, nd_msg_t *msg)
{
	nd_route_t *r = nd_actor_state(self);
	switch (msg->type) {
	case MSG_STOP:
		r->stopping = true;
		nd_timer_stop(&r->retry_timer);
		if (r->fd >= 0)
			route_disconnect(r, "Server Shutdown");
		else
			nd_actor_stop(self);
		break;
	case MSG_RECONNECT:
		if (r->fd >= 0 && !r->connecting)
			route_disconnect(r, ((text_msg_t *)msg)->text);
		break;
	case MSG_TEXT: {
		text_msg_t *m = (text_msg_t *)msg;
		if (r->registered)
			out_raw(r, m->text, m->len);
		break;
	}
	case MSG_INTEREST: {
		text_msg_t *m = (text_msg_t *)msg;
		/* A change from an earlier connection's observation is stale: the replay of the
		 * current one already covered it. */
		if (r->epoch != 0 && m->epoch == r->epoch)
			out_raw(r, m->text, m->len);
		break;
	}
	default:
		break;
	}
	nd_msg_free(msg);
}

static const nd_actor_class_t route_class = {.name = "route",
					     .on_start = route_start,
					     .on_message = route_message,
					     .on_stop = route_stop,
					     .on_free = route_free};

static nd_route_t *create(nd_cluster_t *cl, nd_server_t *s, nd_actor_t **out)
{
	nd_runtime_t *rt = nd_server_runtime(s);
	nd_actor_t *a =
	    nd_actor_create(rt, &route_class, sizeof(nd_route_t), nd_runtime_next_worker(rt));
	nd_route_t *r = nd_actor_state(a);
	r->cl = cl;
	r->srv = s;
	r->snap = nd_server_opts(s);
	r->o = nd_opts_snap_get(r->snap);
	r->fd = -1;
	pthread_mutex_init(&r->mu, NULL);
	*out = a;
	return r;
}

void nd_route_accept(nd_cluster_t *cl, nd_server_t *s, int fd, const struct sockaddr_storage *peer)
{
	nd_actor_t *a;
	nd_route_t *r = create(cl, s, &a);
	r->fd = fd;
	r->rid = nd_cluster_next_rid(cl);
	r->port = nd_peer_address(peer, r->ip);
	set_tag(r);
	nd_actor_start(a);
	nd_actor_unref(a);
}

nd_actor_t *nd_route_solicit(nd_cluster_t *cl, nd_server_t *s, const char *url,
			     nd_route_kind_t kind)
{
	nd_go_url_t u;
	char err[256];
	if (nd_go_url_parse(url, &u, err, sizeof(err)) != 0)
		return NULL;
	/* host:port, with brackets around an IPv6 host. */
	const char *hp = u.host;
	const char *colon = strrchr(hp, ':');
	if (colon == NULL || (strchr(hp, ']') != NULL && colon < strchr(hp, ']'))) {
		nd_go_url_deinit(&u);
		return NULL;
	}
	char *host = strndup(hp, (size_t)(colon - hp));
	if (host[0] == '[') {
		memmove(host, host + 1, strlen(host));
		char *rb = strchr(host, ']');
		if (rb != NULL)
			*rb = '\0';
	}
	nd_actor_t *a;
	nd_route_t *r = create(cl, s, &a);
	r->solicited = true;
	r->kind = kind;
	r->url = strdup(url);
	r->dial_host = host;
	r->dial_port = atoi(colon + 1);
	r->user = u.user != NULL ? strdup(u.user) : NULL;
	r->pass = u.password != NULL ? strdup(u.password) : NULL;
	/* Learned routes use the cluster's own credentials, as the reference's do. */
	if (r->user == NULL && s != NULL && r->o->cluster.username != NULL) {
		r->user = strdup(r->o->cluster.username);
		r->pass = strdup(r->o->cluster.password ? r->o->cluster.password : "");
	}
	nd_go_url_deinit(&u);
	nd_actor_ref(a);
	nd_actor_start(a);
	nd_actor_unref(a); /* the runtime's */
	return a;
}

void nd_route_send_stop(nd_actor_t *route)
{
	nd_actor_send(route, nd_msg_alloc(nd_actor_runtime(route), sizeof(nd_msg_t), MSG_STOP));
}

void nd_route_send_reconnect(nd_actor_t *route, const char *reason)
{
	size_t len = strlen(reason) + 1;
	text_msg_t *m = nd_msg_alloc(nd_actor_runtime(route), sizeof(*m) + len, MSG_RECONNECT);
	m->hdr.dtor = text_free;
	m->len = len;
	memcpy(m->text, reason, len);
	nd_actor_send(route, &m->hdr);
}

void nd_route_send_text(nd_actor_t *route, const char *text, size_t len)
{
	text_msg_t *m = nd_msg_alloc(nd_actor_runtime(route), sizeof(*m) + len, MSG_TEXT);
	m->hdr.dtor = text_free;
	m->len = len;
	memcpy(m->text, text, len);
	nd_actor_send(route, &m->hdr);
}

void nd_route_snapshot(nd_actor_t *route, nd_route_info_t *out, bool subs)
{
	nd_route_t *r = nd_actor_state(route);
	pthread_mutex_lock(&r->mu);
	char id[sizeof(out->remote_id)], name[sizeof(out->remote_name)];
	memcpy(id, out->remote_id, sizeof(id));
	memcpy(name, out->remote_name, sizeof(name));
	bool solicit = out->did_solicit, configured = out->is_configured;
	*out = r->pub;
	memcpy(out->remote_id, id, sizeof(id));
	memcpy(out->remote_name, name, sizeof(name));
	out->did_solicit = solicit;
	out->is_configured = configured;
	out->nsubs = (uint32_t)r->rsubs.n;
	out->subs = NULL;
	if (subs && r->rsubs.n > 0) {
		out->subs = calloc(r->rsubs.n, sizeof(char *));
		size_t k = 0;
		for (size_t i = 0; i < r->rsubs.cap && k < r->rsubs.n; i++) {
			nd_sub_t *s = r->rsubs.slots[i];
			if (s == NULL || s == TOMB)
				continue;
			char *t = NULL;
			if (asprintf(&t, s->queue ? "%s %s" : "%s", s->subject, s->queue) < 0)
				abort();
			out->subs[k++] = t;
		}
		out->nsubs = (uint32_t)k;
	}
	pthread_mutex_unlock(&r->mu);
}
