/* The monitoring port's HTTP server. A connection actor owns its socket, a fixed read buffer
 * and a parser; requests get sequence numbers, answers come back as messages (from any
 * thread) into a ring of ND_HTTP_PIPELINE_MAX slots and leave in sequence order. Reading
 * stops while the ring is full, so a client that pipelines without reading answers costs at
 * most that many answers. */
#define _GNU_SOURCE
#include "actors/http_server.h"

#include "actors/tls.h"

#include <errno.h>
#include <http_parser.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "actors/listener.h"
#include "runtime/actor.h"
#include "runtime/io.h"
#include "runtime/log.h"
#include "runtime/timer.h"
#include "runtime/worker.h"

#define ACCEPTS_PER_TURN 64
#define ACCEPT_BACKOFF_MS 100 /* out of file descriptors: try again later, do not spin */
#define READ_BUF 4096
#define LINGER_MS 500           /* after an error answer, as Go's closeWriteAndWait */
#define LINGER_MAX_BYTES 262144 /* discarded while lingering before giving up */

typedef struct conn conn_t;

struct nd_http_server {
	nd_runtime_t *rt;
	nd_http_handler_fn fn;
	void *ctx;
	nd_http_server_opts_t o;
	char *host; /* o.host points here */
	nd_actor_t *listener;
	/* Readers on any thread; only counts and flags, no data hangs on them (relaxed would
	 * do for conns; seq_cst keeps the stop handshake simple to reason about). */
	atomic_uint conns;
	atomic_bool stopped;
	atomic_int refs;    /* the caller's, the listener's, one per connection actor */
	pthread_mutex_t mu; /* guards the list and live */
	pthread_cond_t cv;
	conn_t *list;
	int live; /* listener + connections not yet stopped */
	/* Connections per peer address, under mu: one address may hold at most a share of the
	 * cap, so a client hoarding idle sockets cannot lock out health probes. */
	struct peer_count {
		uint8_t addr[16];
		unsigned n;
	} * peers; /* max_conns entries; n == 0 is free */
};

/* ---- server object ---- */

static nd_http_server_t *srv_ref(nd_http_server_t *s)
{
	atomic_fetch_add(&s->refs, 1);
	return s;
}

static void srv_unref(nd_http_server_t *s)
{
	if (atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	nd_tls_ctx_unref(s->o.tls);
	free(s->peers);
	free(s->host);
	free(s);
}

/* An actor of ours is gone (stopped, or freed without having started). */
static void srv_gone(nd_http_server_t *s)
{
	pthread_mutex_lock(&s->mu);
	if (--s->live == 0)
		pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

unsigned nd_http_server_conns(nd_http_server_t *s)
{
	return atomic_load(&s->conns);
}

/* ---- the reply ---- */

enum { MSG_RESPONSE = 1 };

struct nd_http_reply {
	nd_actor_t *conn; /* a reference */
	nd_runtime_t *rt;
	uint64_t seq;
	int http_minor;
	bool head;
	bool keep_alive;
};

typedef struct response_msg {
	nd_msg_t hdr;
	uint64_t seq;
	char *data;
	size_t len;
	bool close; /* the connection ends after this answer */
} response_msg_t;

static void response_dtor(nd_msg_t *m)
{
	free(((response_msg_t *)m)->data);
}

void nd_http_reply_send(nd_http_reply_t *r, int status, const char *content_type,
			const char *extra_headers, const char *body, size_t len)
{
	bool ka = r->keep_alive;
	size_t n;
	char *data = nd_http_response_encode_version(r->http_minor, status, content_type,
						     extra_headers, body, len, r->head, &ka, &n);
	response_msg_t *m = nd_msg_alloc(r->rt, sizeof(*m), MSG_RESPONSE);
	m->hdr.dtor = response_dtor;
	m->hdr.weight = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
	m->seq = r->seq;
	m->data = data;
	m->len = n;
	m->close = !ka;
	nd_actor_send(r->conn, &m->hdr); /* released with its data if the connection is gone */
	nd_actor_unref(r->conn);
	free(r);
}

/* ---- connection actor ---- */

typedef enum { RT_NONE, RT_HEADER, RT_IDLE, RT_LINGER } read_timer_mode_t;

typedef struct slot {
	char *data; /* NULL: not answered yet */
	size_t len;
	bool close;
} slot_t;

struct conn {
	nd_http_server_t *srv; /* a reference */
	nd_actor_t *self;
	conn_t *prev, *next; /* in srv->list while registered */
	bool registered;
	bool started;
	int fd;
	nd_io_t io;
	nd_timer_t read_timer, write_timer;
	read_timer_mode_t read_mode;
	nd_http_parser_t *parser;
	char in[READ_BUF];
	size_t in_pos, in_len;
	uint64_t next_seq;  /* given to the next request */
	uint64_t write_seq; /* whose answer goes out next */
	slot_t slots[ND_HTTP_PIPELINE_MAX];
	char *out; /* the answer being written (taken from its slot) */
	size_t out_len, out_off;
	bool out_close;
	bool blocked;     /* the last write would block */
	bool read_closed; /* no more requests will be read: EOF, error, or Connection: close */
	bool peer_eof;
	bool draining; /* write side shut after an error answer: discard input, then close */
	size_t drained;
	uint8_t peer[16]; /* its address, IPv4 mapped into IPv6 (the per-peer count) */
	nd_tls_t *tls;    /* HTTPS: the session */
	bool handshaking; /* nothing is read or written until the handshake completes */
	int tls_want;     /* the readiness the session waits for */
};

static void conn_close(conn_t *c)
{
	nd_actor_stop(c->self);
}

static unsigned in_flight(const conn_t *c)
{
	return (unsigned)(c->next_seq - c->write_seq);
}

static void set_read_timer(conn_t *c, read_timer_mode_t mode)
{
	if (mode == c->read_mode)
		return;
	c->read_mode = mode;
	const nd_http_server_opts_t *o = &c->srv->o;
	switch (mode) {
	case RT_HEADER:
		nd_timer_start(&c->read_timer, o->header_timeout_ms);
		break;
	case RT_IDLE:
		nd_timer_start(&c->read_timer, o->idle_timeout_ms);
		break;
	case RT_LINGER:
		nd_timer_start(&c->read_timer, LINGER_MS);
		break;
	case RT_NONE:
		nd_timer_stop(&c->read_timer);
		break;
	}
}

/* Which wait the client is in decides the read deadline: inside a request the header
 * timeout runs from its first byte (more bytes do not extend it, or a trickle would hold the
 * connection forever); between requests the idle timeout; while we owe answers, none. */
static void update(conn_t *c)
{
	if (nd_actor_stopping(c->self))
		return;
	int ev = 0;
	if (c->draining) {
		ev = ND_IO_READ;
		set_read_timer(c, RT_LINGER);
	} else {
		if (!c->read_closed && in_flight(c) < ND_HTTP_PIPELINE_MAX)
			ev |= ND_IO_READ;
		if (c->read_closed || in_flight(c) >= ND_HTTP_PIPELINE_MAX)
			set_read_timer(c, RT_NONE);
		else if (nd_http_parser_in_request(c->parser) || c->in_pos < c->in_len)
			set_read_timer(c, RT_HEADER);
		else if (in_flight(c) == 0)
			set_read_timer(c, RT_IDLE);
		else
			set_read_timer(c, RT_NONE);
	}
	if (c->blocked)
		ev |= ND_IO_WRITE;
	if (c->tls != NULL && c->tls_want != 0)
		ev = c->handshaking ? c->tls_want : ev | c->tls_want;
	nd_io_set(&c->io, ev);
}

/* After an error answer (or a Connection: close answer): no more writes; read what the client
 * still sends for a moment so that closing does not reset the connection before it read the
 * answer. */
static void begin_drain(conn_t *c)
{
	if (c->tls != NULL) { /* the answer went out in full records: nothing to linger for */
		conn_close(c);
		return;
	}
	shutdown(c->fd, SHUT_WR);
	c->draining = true;
	c->read_closed = true;
	c->blocked = false;
	nd_timer_stop(&c->write_timer);
}

static void parse_more(conn_t *c);

/* send() or the TLS session's write, with errno as send() leaves it. */
static ssize_t conn_send(conn_t *c, const char *p, size_t n)
{
	if (c->tls == NULL)
		return send(c->fd, p, n, MSG_NOSIGNAL);
	c->tls_want = 0;
	ssize_t w = nd_tls_write(c->tls, p, n);
	if (w >= 0)
		return w;
	if (w == ND_TLS_WANT_WRITE || w == ND_TLS_WANT_READ) {
		c->tls_want = w == ND_TLS_WANT_WRITE ? ND_IO_WRITE : ND_IO_READ;
		errno = EAGAIN;
	} else {
		errno = EIO;
	}
	return -1;
}

/* recv() or the TLS session's read (0 at the end), with errno as recv() leaves it. */
static ssize_t conn_recv(conn_t *c, char *p, size_t n)
{
	if (c->tls == NULL)
		return recv(c->fd, p, n, 0);
	ssize_t r = nd_tls_read(c->tls, p, n);
	if (r >= 0)
		return r;
	if (r == ND_TLS_CLOSED)
		return 0;
	if (r == ND_TLS_WANT_READ || r == ND_TLS_WANT_WRITE) {
		c->tls_want = r == ND_TLS_WANT_WRITE ? ND_IO_WRITE : 0;
		errno = EAGAIN;
	} else {
		errno = EIO;
	}
	return -1;
}

/* Writes answers in sequence order until the socket would block. */
static void pump(conn_t *c)
{
	for (;;) {
		if (c->out == NULL) {
			slot_t *s = &c->slots[c->write_seq % ND_HTTP_PIPELINE_MAX];
			if (c->write_seq == c->next_seq || s->data == NULL)
				break;
			c->out = s->data;
			c->out_len = s->len;
			c->out_off = 0;
			c->out_close = s->close;
			s->data = NULL;
		}
		ssize_t n = conn_send(c, c->out + c->out_off, c->out_len - c->out_off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				c->blocked = true;
				/* One deadline for the whole stuck answer: a reader that takes a
				 * byte now and then does not extend it. */
				if (!nd_timer_active(&c->write_timer))
					nd_timer_start(&c->write_timer, c->srv->o.write_timeout_ms);
				return;
			}
			conn_close(c);
			return;
		}
		c->out_off += (size_t)n;
		if (c->out_off < c->out_len)
			continue;
		free(c->out);
		c->out = NULL;
		c->write_seq++;
		c->blocked = false;
		nd_timer_stop(&c->write_timer);
		if (c->out_close) {
			begin_drain(c);
			return;
		}
	}
	c->blocked = false;
	nd_timer_stop(&c->write_timer);
	if (c->peer_eof && in_flight(c) == 0)
		conn_close(c);
}

static void answer_error(conn_t *c)
{
	size_t len;
	const char *r = nd_http_parser_error_response(c->parser, &len);
	slot_t *s = &c->slots[c->next_seq % ND_HTTP_PIPELINE_MAX];
	s->data = malloc(len);
	if (s->data == NULL)
		abort();
	memcpy(s->data, r, len);
	s->len = len;
	s->close = true;
	c->next_seq++;
	c->read_closed = true;
}

static void dispatch(conn_t *c, nd_http_request_t *req)
{
	nd_http_server_t *s = c->srv;
	nd_http_reply_t *r = malloc(sizeof(*r));
	if (r == NULL)
		abort();
	r->conn = nd_actor_ref(c->self);
	r->rt = s->rt;
	r->seq = c->next_seq++;
	r->http_minor = req->http_minor;
	r->head = req->method == HTTP_HEAD;
	r->keep_alive = req->keep_alive;
	c->read_mode = RT_NONE; /* the next request gets a whole header timeout of its own */
	if (!req->keep_alive)
		c->read_closed =
		    true; /* Go reads nothing after a request that ends the connection */
	s->fn(s->ctx, req, r);
}

static void parse_more(conn_t *c)
{
	while (!c->read_closed && c->in_pos < c->in_len && in_flight(c) < ND_HTTP_PIPELINE_MAX) {
		if (atomic_load(&c->srv->stopped)) {
			conn_close(c);
			return;
		}
		size_t used = 0;
		nd_http_request_t req = {0};
		int rc = nd_http_parser_feed(c->parser, c->in + c->in_pos, c->in_len - c->in_pos,
					     &used, &req);
		c->in_pos += used;
		if (rc == ND_HTTP_AGAIN)
			break;
		if (rc < 0) {
			answer_error(c);
			break;
		}
		dispatch(c, &req);
		nd_http_request_clear(&req);
	}
	if (c->in_pos == c->in_len)
		c->in_pos = c->in_len = 0;
}

static void on_readable(conn_t *c)
{
	if (c->draining) {
		char sink[READ_BUF];
		ssize_t n = recv(c->fd, sink, sizeof(sink), 0);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		c->drained += n > 0 ? (size_t)n : 0;
		if (n <= 0 || c->drained > LINGER_MAX_BYTES)
			conn_close(c);
		return;
	}
	if (c->in_pos > 0) {
		memmove(c->in, c->in + c->in_pos, c->in_len - c->in_pos);
		c->in_len -= c->in_pos;
		c->in_pos = 0;
	}
	if (c->in_len == sizeof(c->in))
		return; /* unparsed bytes wait for room in the pipeline */
	ssize_t n = conn_recv(c, c->in + c->in_len, sizeof(c->in) - c->in_len);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		conn_close(c);
		return;
	}
	if (n == 0) {
		/* Half-close: answer what was asked, then close. */
		c->peer_eof = true;
		c->read_closed = true;
		if (in_flight(c) == 0)
			conn_close(c);
		return;
	}
	c->in_len += (size_t)n;
	parse_more(c);
}

static void on_io(nd_actor_t *self, nd_io_t *io, int events)
{
	conn_t *c = nd_actor_state(self);
	if (c->handshaking) {
		int rc = nd_tls_handshake(c->tls);
		if (rc == ND_TLS_WANT_READ || rc == ND_TLS_WANT_WRITE) {
			c->tls_want = rc == ND_TLS_WANT_READ ? ND_IO_READ : ND_IO_WRITE;
			update(c);
			return;
		}
		if (rc != 0) {
			nd_log_debug("http: TLS handshake error: %s", nd_tls_error(c->tls));
			if (nd_tls_failed_on_plain_text(c->tls)) {
				/* Go's answer to plain HTTP on an HTTPS port, in clear. */
				static const char msg[] =
				    "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request "
				    "to an HTTPS server.\n";
				ssize_t w =
				    send(c->fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
				(void)w;
				shutdown(c->fd, SHUT_WR);
			}
			conn_close(c);
			return;
		}
		c->handshaking = false;
		c->tls_want = 0;
		events = ND_IO_READ; /* the request may have come with the last flight */
	}
	if (events & ND_IO_WRITE)
		pump(c);
	if ((events & ND_IO_READ) && !nd_actor_stopping(self)) {
		on_readable(c);
		/* What the session already decrypted announces itself with no socket event. */
		while (c->tls != NULL && !nd_actor_stopping(self) && !c->draining &&
		       c->in_len < sizeof(c->in) && nd_tls_has_pending(c->tls))
			on_readable(c);
	}
	if (!nd_actor_stopping(self))
		pump(c);
	update(c);
}

static void on_read_timer(nd_actor_t *self, nd_timer_t *t)
{
	conn_t *c = nd_actor_state(self);
	/* Go closes a connection whose request did not arrive in time without a word. */
	c->read_mode = RT_NONE;
	conn_close(c);
}

static void on_write_timer(nd_actor_t *self, nd_timer_t *t)
{
	conn_t *c = nd_actor_state(self);
	/* Abort rather than close: a graceful close would leave the unsent answer in the kernel,
	 * still waiting on the reader that did not read it. */
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	conn_close(c);
}

static void conn_message(nd_actor_t *self, nd_msg_t *msg)
{
	conn_t *c = nd_actor_state(self);
	if (msg->type == MSG_RESPONSE && !nd_actor_stopping(self)) {
		response_msg_t *m = (response_msg_t *)msg;
		/* Every seq in [write_seq, next_seq) is answered once; anything else is a stale
		 * answer for a slot already written (cannot happen unless a handler answers
		 * twice). */
		if (m->seq >= c->write_seq && m->seq < c->next_seq) {
			slot_t *s = &c->slots[m->seq % ND_HTTP_PIPELINE_MAX];
			if (s->data == NULL) {
				s->data = m->data;
				s->len = m->len;
				s->close = m->close;
				m->data = NULL;
			}
		}
		pump(c);
		if (!nd_actor_stopping(self))
			parse_more(c); /* the ring may have room again */
		if (!nd_actor_stopping(self))
			pump(c); /* an error answer parse_more queued */
		update(c);
	}
	nd_msg_free(msg);
}

static void conn_start(nd_actor_t *self)
{
	conn_t *c = nd_actor_state(self);
	nd_http_server_t *s = c->srv;
	c->self = self;
	c->started = true;
	pthread_mutex_lock(&s->mu);
	c->next = s->list;
	if (s->list != NULL)
		s->list->prev = c;
	s->list = c;
	c->registered = true;
	pthread_mutex_unlock(&s->mu);
	if (atomic_load(&s->stopped)) {
		conn_close(c);
		return;
	}
	c->parser = nd_http_parser_create(s->o.max_header_bytes, ND_HTTP_MAX_BODY);
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	nd_timer_init(&c->read_timer, self, on_read_timer);
	nd_timer_init(&c->write_timer, self, on_write_timer);
	nd_io_init(&c->io, self, c->fd, on_io);
	pthread_mutex_lock(&s->mu);
	nd_tls_ctx_t *tls = s->o.tls != NULL ? nd_tls_ctx_ref(s->o.tls) : NULL;
	pthread_mutex_unlock(&s->mu);
	if (tls != NULL) { /* HTTPS: the handshake first, inside the header timeout */
		c->tls = nd_tls_new(tls, c->fd, true);
		nd_tls_ctx_unref(tls);
		c->handshaking = true;
		c->tls_want = ND_IO_READ;
	}
	/* The first request has the header timeout from the accept, as Go's read deadline. */
	set_read_timer(c, RT_HEADER);
	update(c);
}

static void peer_forget(nd_http_server_t *s, const uint8_t addr[16])
{
	pthread_mutex_lock(&s->mu);
	for (unsigned i = 0; i < s->o.max_conns; i++)
		if (s->peers[i].n > 0 && memcmp(s->peers[i].addr, addr, 16) == 0) {
			s->peers[i].n--;
			break;
		}
	pthread_mutex_unlock(&s->mu);
}

/* Counts a new connection from addr; false if that address holds its share already. */
static bool peer_admit(nd_http_server_t *s, const uint8_t addr[16])
{
	unsigned share = s->o.max_conns / ND_HTTP_PEER_SHARE;
	if (share == 0)
		share = 1;
	bool ok = false;
	pthread_mutex_lock(&s->mu);
	struct peer_count *free_slot = NULL, *mine = NULL;
	for (unsigned i = 0; i < s->o.max_conns; i++) {
		if (s->peers[i].n == 0) {
			if (free_slot == NULL)
				free_slot = &s->peers[i];
		} else if (memcmp(s->peers[i].addr, addr, 16) == 0) {
			mine = &s->peers[i];
		}
	}
	if (mine != NULL && mine->n < share) {
		mine->n++;
		ok = true;
	} else if (mine == NULL && free_slot != NULL) {
		memcpy(free_slot->addr, addr, 16);
		free_slot->n = 1;
		ok = true;
	}
	pthread_mutex_unlock(&s->mu);
	return ok;
}

static void conn_release(conn_t *c)
{
	nd_http_server_t *s = c->srv;
	peer_forget(s, c->peer);
	if (c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
	atomic_fetch_sub(&s->conns, 1);
	srv_gone(s);
	c->srv = NULL;
	srv_unref(s);
}

static void conn_stop(nd_actor_t *self)
{
	conn_t *c = nd_actor_state(self);
	nd_http_server_t *s = c->srv;
	if (c->parser != NULL) { /* io and timers were set up */
		nd_io_set(&c->io, 0);
		nd_timer_stop(&c->read_timer);
		nd_timer_stop(&c->write_timer);
	}
	nd_http_parser_destroy(c->parser);
	c->parser = NULL;
	nd_tls_free(c->tls);
	c->tls = NULL;
	free(c->out);
	c->out = NULL;
	for (int i = 0; i < ND_HTTP_PIPELINE_MAX; i++) {
		free(c->slots[i].data);
		c->slots[i].data = NULL;
	}
	pthread_mutex_lock(&s->mu);
	if (c->registered) {
		if (c->prev != NULL)
			c->prev->next = c->next;
		else
			s->list = c->next;
		if (c->next != NULL)
			c->next->prev = c->prev;
		c->registered = false;
	}
	pthread_mutex_unlock(&s->mu);
	conn_release(c);
}

/* Last release; a connection whose runtime shut down before its first turn never stopped. */
static void conn_free(nd_actor_t *self)
{
	conn_t *c = nd_actor_state(self);
	if (c->srv != NULL)
		conn_release(c);
}

static const nd_actor_class_t conn_class = {.name = "http-conn",
					    .on_start = conn_start,
					    .on_message = conn_message,
					    .on_stop = conn_stop,
					    .on_free = conn_free};

/* ---- listener actor ---- */

typedef struct http_listener {
	nd_http_server_t *srv; /* a reference */
	int fd;
	nd_io_t io;
	nd_timer_t backoff;
} http_listener_t;

static void spawn_conn(nd_http_server_t *s, int fd, const uint8_t peer[16])
{
	nd_actor_t *a =
	    nd_actor_create(s->rt, &conn_class, sizeof(conn_t), nd_runtime_next_worker(s->rt));
	conn_t *c = nd_actor_state(a);
	c->srv = srv_ref(s);
	c->fd = fd;
	memcpy(c->peer, peer, 16);
	pthread_mutex_lock(&s->mu);
	s->live++;
	pthread_mutex_unlock(&s->mu);
	nd_actor_start(a);
	nd_actor_unref(a); /* the runtime keeps it alive until it stops */
}

static void on_accept(nd_actor_t *self, nd_io_t *io, int events)
{
	http_listener_t *l = nd_actor_state(self);
	nd_http_server_t *s = l->srv;
	for (int i = 0; i < ACCEPTS_PER_TURN; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(l->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return;
			if (errno == ECONNABORTED || errno == EPROTO)
				continue;
			nd_log_error("Error accepting monitoring connection: %s", strerror(errno));
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				nd_io_set(&l->io, 0);
				nd_timer_start(&l->backoff, ACCEPT_BACKOFF_MS);
			}
			return;
		}
		/* Over the cap the connection is closed at once: it costs nothing to refuse, and
		 * the reference (no cap) has no answer to imitate. */
		uint8_t peer[16] = {0};
		if (ss.ss_family == AF_INET6) {
			memcpy(peer, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
		} else if (ss.ss_family == AF_INET) {
			peer[10] = peer[11] = 0xff;
			memcpy(peer + 12, &((struct sockaddr_in *)&ss)->sin_addr, 4);
		}
		if (atomic_load(&s->stopped) || atomic_load(&s->conns) >= s->o.max_conns ||
		    !peer_admit(s, peer)) {
			close(fd);
			continue;
		}
		atomic_fetch_add(&s->conns, 1);
		spawn_conn(s, fd, peer);
	}
}

static void on_backoff(nd_actor_t *self, nd_timer_t *t)
{
	http_listener_t *l = nd_actor_state(self);
	nd_io_set(&l->io, ND_IO_READ);
}

static void listener_start(nd_actor_t *self)
{
	http_listener_t *l = nd_actor_state(self);
	nd_io_init(&l->io, self, l->fd, on_accept);
	nd_timer_init(&l->backoff, self, on_backoff);
	nd_io_set(&l->io, ND_IO_READ);
}

static void listener_release(http_listener_t *l)
{
	nd_http_server_t *s = l->srv;
	close(l->fd);
	l->fd = -1;
	l->srv = NULL;
	srv_gone(s);
	srv_unref(s);
}

static void listener_stop(nd_actor_t *self)
{
	http_listener_t *l = nd_actor_state(self);
	nd_io_set(&l->io, 0);
	nd_timer_stop(&l->backoff);
	listener_release(l);
}

static void listener_free(nd_actor_t *self)
{
	http_listener_t *l = nd_actor_state(self);
	if (l->srv != NULL)
		listener_release(l); /* never started */
}

static void listener_message(nd_actor_t *self, nd_msg_t *msg)
{
	nd_msg_free(msg);
}

static const nd_actor_class_t listener_class = {.name = "http-listener",
						.on_start = listener_start,
						.on_message = listener_message,
						.on_stop = listener_stop,
						.on_free = listener_free};

/* ---- start and stop ---- */

int nd_http_server_start(nd_http_server_t **out, nd_runtime_t *rt, const nd_http_server_opts_t *o,
			 nd_http_handler_fn fn, void *ctx, int *bound_port)
{
	int port = 0;
	int fd = nd_listener_bind(o->host, o->port, &port);
	if (fd < 0)
		return fd;
	nd_http_server_t *s = calloc(1, sizeof(*s));
	if (s == NULL)
		abort();
	s->rt = rt;
	s->fn = fn;
	s->ctx = ctx;
	s->o = *o;
	s->host = o->host != NULL ? strdup(o->host) : NULL;
	s->o.host = s->host;
	if (o->tls != NULL)
		s->o.tls = nd_tls_ctx_ref(o->tls);
	if (s->o.header_timeout_ms == 0)
		s->o.header_timeout_ms = ND_HTTP_DEFAULT_HEADER_TIMEOUT_MS;
	if (s->o.idle_timeout_ms == 0)
		s->o.idle_timeout_ms = ND_HTTP_DEFAULT_IDLE_TIMEOUT_MS;
	if (s->o.write_timeout_ms == 0)
		s->o.write_timeout_ms = ND_HTTP_DEFAULT_WRITE_TIMEOUT_MS;
	if (s->o.max_header_bytes == 0)
		s->o.max_header_bytes = ND_HTTP_DEFAULT_MAX_HEADER_BYTES;
	if (s->o.max_conns == 0)
		s->o.max_conns = ND_HTTP_DEFAULT_MAX_CONNS;
	s->peers = calloc(s->o.max_conns, sizeof(*s->peers));
	if (s->peers == NULL)
		abort();
	atomic_init(&s->conns, 0);
	atomic_init(&s->stopped, false);
	atomic_init(&s->refs, 2); /* the caller's and the listener's */
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	s->live = 1;
	nd_actor_t *a =
	    nd_actor_create(rt, &listener_class, sizeof(http_listener_t), nd_runtime_worker(rt, 0));
	http_listener_t *l = nd_actor_state(a);
	l->srv = s;
	l->fd = fd;
	s->listener = a;
	nd_actor_start(a);
	*out = s;
	if (bound_port != NULL)
		*bound_port = port;
	return 0;
}

void nd_http_server_set_tls(nd_http_server_t *s, struct nd_tls_ctx *tls)
{
	nd_tls_ctx_ref(tls);
	pthread_mutex_lock(&s->mu);
	nd_tls_ctx_t *old = s->o.tls;
	s->o.tls = tls;
	pthread_mutex_unlock(&s->mu);
	nd_tls_ctx_unref(old);
}

void nd_http_server_stop(nd_http_server_t *s)
{
	if (s == NULL)
		return;
	atomic_store(&s->stopped, true);
	nd_actor_stop(s->listener);
	pthread_mutex_lock(&s->mu);
	for (conn_t *c = s->list; c != NULL; c = c->next)
		nd_actor_stop(c->self); /* alive: it unlinks itself under mu before it can go */
	if (nd_worker_current() == NULL) {
		while (s->live > 0)
			pthread_cond_wait(&s->cv, &s->mu);
	}
	pthread_mutex_unlock(&s->mu);
	nd_actor_unref(s->listener);
	srv_unref(s);
}
