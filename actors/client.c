/* Client connections. Behaviour follows the reference server (server/client.go) where clients
 * can see it: which errors are sent, which close, what order replies come in (see
 * docs/compatibility.md for the few places we differ). Runs entirely on its home worker. */
#define _GNU_SOURCE
#include "actors/client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "actors/auth.h"
#include "actors/delivery.h"
#include "actors/interest.h"
#include "actors/listener.h"
#include "actors/outbuf.h"
#include "actors/perms.h"
#include "actors/tls.h"
#include "protocol/connect.h"
#include "protocol/goquote.h"
#include "protocol/headers.h"
#include "protocol/nkey.h"
#include "protocol/parser.h"
#include "protocol/password.h"
#include "protocol/subject.h"
#include "runtime/actor.h"
#include "runtime/io.h"
#include "runtime/log.h"
#include "runtime/pool.h"
#include "runtime/timer.h"

#define FIRST_PING_MS 2000 /* the first PING after CONNECT, as in the reference */
#define SYS_QUEUE "_sys_"
#define TRACE_MAX 4096 /* bytes of a protocol line shown in a trace */

/* Messages a client accepts from other actors (client.h). */
enum { MSG_RELOAD = 1, MSG_LAME_DUCK_INFO, MSG_CLOSE, MSG_INFO_REQUEST, MSG_INFO_UPDATE };

typedef struct reload_msg {
	nd_msg_t hdr;
	nd_opts_snap_t *snap;
} reload_msg_t;

typedef struct info_request_msg {
	nd_msg_t hdr;
	nd_actor_t *reply_to; /* a reference, released with the message */
	uint16_t reply_type;
	bool subs;
	bool answered;
	uint64_t request_id;
} info_request_msg_t;

typedef struct close_msg {
	nd_msg_t hdr;
	nd_client_close_t why;
} close_msg_t;

typedef struct nd_client {
	nd_dest_t dest; /* first: a client is a destination */
	nd_server_t *srv;
	nd_opts_snap_t *snap; /* the options this connection runs under (reload swaps them) */
	const nd_opts_t *o;   /* = nd_opts_snap_get(snap) */
	nd_client_reg_t *reg; /* in the server's registry */
	nd_delivery_t *d;
	nd_account_t *acc;
	nd_actor_t *self;
	int fd;
	nd_io_t io;
	uint64_t cid;
	char ip[INET6_ADDRSTRLEN];
	int port;
	char tag[256]; /* "ip:port - cid:N" (and the client's name after CONNECT) for log lines */
	size_t base_tag_len;

	nd_parser_t parser;
	nd_connect_opts_t opts;
	bool connect_received;
	bool first_pong_sent; /* async INFO (lame duck) goes to clients past their first PING */

	/* Authentication and authorization. */
	bool auth_pending; /* auth is required and CONNECT has not come yet */
	bool has_nonce;
	char nonce[ND_NKEY_NONCE_LEN + 1];
	nd_timer_t auth_timer;
	const nd_user_t *user; /* the matched user entry (in snap), or NULL */
	nd_perms_t *perms;     /* the user's permissions (a reference), or NULL */
	bool deny_filter;      /* a wildcard subscription overlaps a subscribe deny entry */
	nd_replies_t replies;  /* reply subjects it may publish to (allow_responses) */
	bool headers;          /* client asked for them and the server supports them */
	bool bad_pub_line;     /* the PUB line just reported had an invalid subject (pedantic) */
	bool pub_line_in_read; /* ... and it arrived in the read being processed */

	nd_sub_t **sids; /* sid -> sub, chained through sub->sid_next */
	uint32_t sid_cap, nsubs;

	/* TLS: INFO goes out in clear, then the client's handshake (actors/tls.h). */
	nd_tls_t *tls;
	bool tls_handshaking; /* waiting for the handshake to complete */
	bool tls_sniffing;    /* allow_non_tls: the first byte (0x16 or not) decides */
	bool tls_first_wait;  /* handshake_first auto: waiting a moment for a ClientHello */
	char *tls_info;       /* handshake_first: the INFO, sent once the handshake is done */
	size_t tls_info_len;
	int tls_want; /* ND_IO_READ / ND_IO_WRITE the session waits for */
	nd_timer_t tls_timer;
	bool tls_timer_ready;
	bool cert_mapped; /* the user came from the client certificate (verify_and_map) */
	char tls_version[8], tls_cipher[64];

	nd_outbuf_t out;
	bool closing;
	bool close_after_flush;
	bool write_armed; /* waiting for the socket to take more */
	bool read_paused; /* flow control: other workers are behind on this worker's envelopes */
	const char *close_reason;

	nd_timer_t ping_timer, write_timer;
	int pings_out;
	bool ping_forced;
	uint64_t last_activity_ms; /* any traffic, PINGs included (the ping timer) */
	uint64_t monitor_last_ms;  /* messages and interest only: /connz's last_activity */

	uint64_t in_msgs, in_bytes, out_msgs, out_bytes;
	int64_t start_ns;       /* CLOCK_REALTIME at accept, for monitoring */
	uint64_t ping_sent_ms;  /* when the outstanding PING went out (for rtt), 0: none */
	int64_t rtt_ns;         /* last PING round trip */
	uint64_t stats_in_msgs; /* what was added to the worker's totals so far */
	uint64_t stats_in_bytes, stats_out_msgs, stats_out_bytes;
} nd_client_t;

static const nd_dest_ops_t client_ops;

/* ---- output ---- */

static void out_raw(nd_client_t *c, const char *s, size_t n)
{
	nd_outbuf_append(&c->out, s, n);
	nd_delivery_mark_dirty(c->d, &c->dest);
}

static void out_str(nd_client_t *c, const char *s)
{
	out_raw(c, s, strlen(s));
}

static void send_err(nd_client_t *c, const char *text)
{
	nd_log_trace("%s - ->> [-ERR %s]", c->tag, text);
	out_str(c, "-ERR '");
	out_str(c, text);
	out_str(c, "'\r\n");
}

static void send_ok(nd_client_t *c)
{
	nd_log_trace("%s - ->> [OK]", c->tag);
	out_str(c, "+OK\r\n");
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Go's %q of s[0..n) into buf. */
static const char *quoted(const char *s, size_t n, char *buf, size_t len)
{
	nd_go_quote(s, n, buf, len);
	return buf;
}

/* The reference's getAuthUser: who a violation is logged against. */
static const char *auth_user(nd_client_t *c, char *buf, size_t len)
{
	nd_auth_user_text(&c->opts, buf, len);
	return buf;
}

/* The socket events the client wants: reading unless closing or paused, writing while output
 * is blocked. */
static void update_io(nd_client_t *c)
{
	int ev = 0;
	if (c->tls_handshaking) {
		nd_io_set(&c->io, c->closing ? 0 : c->tls_want);
		return;
	}
	if (!c->closing && !c->read_paused)
		ev |= ND_IO_READ;
	/* A TLS session that must read before it can write waits for readability instead. */
	bool blocked_on_read = c->tls != NULL && c->tls_want == ND_IO_READ;
	if ((c->write_armed && !blocked_on_read) || (c->tls != NULL && c->tls_want == ND_IO_WRITE))
		ev |= ND_IO_WRITE;
	nd_io_set(&c->io, ev);
}

/* ---- closing ---- */

static void free_sub(void *p)
{
	nd_sub_t *s = p;
	free((void *)(uintptr_t)s->subject); /* the strings are ours: one allocation */
	nd_pool_free(s); /* keeps gen: the pool only reuses the first 16 bytes as links */
}

static void sid_unlink(nd_client_t *c, nd_sub_t *s);

/* Takes the subscription out of the index, marks it dead for envelopes still in flight and
 * frees it after every worker has moved past it. */
static void remove_sub(nd_client_t *c, nd_sub_t *s)
{
	sid_unlink(c, s);
	nd_worker_t *w = nd_actor_home(c->self);
	nd_sublist_remove(c->acc->sl, s, nd_runtime_qsbr(nd_server_runtime(c->srv)),
			  nd_worker_qsbr_slot(w));
	nd_interest_t *it = nd_server_interest(c->srv);
	if (it != NULL)
		nd_interest_remove(it, c->acc->name, s->subject, s->subject_len, s->queue,
				   s->queue_len);
	s->alive = false;
	/* relaxed: compared by this worker only (see sub.h). */
	atomic_store_explicit(&s->gen, atomic_load_explicit(&s->gen, memory_order_relaxed) + 1,
			      memory_order_relaxed);
	nd_worker_retire(w, s, free_sub);
}

static void remove_all_subs(nd_client_t *c)
{
	for (uint32_t b = 0; b < c->sid_cap; b++)
		while (c->sids[b] != NULL)
			remove_sub(c, c->sids[b]);
}

static void fill_info(nd_client_t *c, nd_client_info_t *info, bool subs);
static int64_t realtime_ns(void);

/* Counts this connection's traffic since the last call into its worker's totals (/varz). */
static void push_counters(nd_client_t *c)
{
	nd_server_counters_t *k = nd_server_counters(c->srv, nd_delivery_worker_index(c->d));
	if (c->in_msgs != c->stats_in_msgs) {
		nd_server_counter_add(&k->in_msgs, c->in_msgs - c->stats_in_msgs);
		nd_server_counter_add(&k->in_bytes, c->in_bytes - c->stats_in_bytes);
		c->stats_in_msgs = c->in_msgs;
		c->stats_in_bytes = c->in_bytes;
	}
	if (c->out_msgs != c->stats_out_msgs) {
		nd_server_counter_add(&k->out_msgs, c->out_msgs - c->stats_out_msgs);
		nd_server_counter_add(&k->out_bytes, c->out_bytes - c->stats_out_bytes);
		c->stats_out_msgs = c->out_msgs;
		c->stats_out_bytes = c->out_bytes;
	}
}

/* A closed connection stays visible in /connz?state=closed for a while. */
static void keep_closed_info(nd_client_t *c, const char *reason)
{
	push_counters(c);
	nd_client_info_t info;
	fill_info(c, &info, true);
	info.stop_ns = realtime_ns();
	info.reason = strdup(reason);
	nd_server_closed_add(c->srv, &info);
}

/* Stops the client. With flush, what is queued (an -ERR, say) is written first; without it
 * (slow consumer, read or write error, EOF) the socket closes now and pending bytes are
 * dropped, as in the reference. Safe from any code on the home worker, also while another
 * connection's read is delivering to this one. */
static void client_close(nd_client_t *c, const char *reason, bool flush)
{
	if (c->closing)
		return;
	c->closing = true;
	c->close_reason = reason;
	nd_log_debug("%s - Client connection closed: %s", c->tag, reason);
	keep_closed_info(c, reason);
	remove_all_subs(c);
	if (flush && nd_outbuf_pending(&c->out) > 0) {
		c->close_after_flush = true;
		c->write_armed = true;
		update_io(c);
		nd_delivery_mark_dirty(c->d, &c->dest);
		if (!nd_timer_active(&c->write_timer))
			nd_timer_start(&c->write_timer, c->o->write_deadline_ms);
		return;
	}
	nd_io_set(&c->io, 0);
	nd_actor_stop(c->self);
}

/* Closes without writing anything more, also when a flush-then-close is under way. */
static void close_now(nd_client_t *c, const char *reason)
{
	if (!c->closing) {
		client_close(c, reason, false);
		return;
	}
	c->close_after_flush = false;
	c->write_armed = false;
	update_io(c);
	nd_actor_stop(c->self);
}

/* ---- sid table ---- */

static uint32_t sid_hash(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619u;
	}
	return h;
}

static nd_sub_t *sid_find(nd_client_t *c, const char *sid, size_t n)
{
	if (c->sid_cap == 0)
		return NULL;
	for (nd_sub_t *s = c->sids[sid_hash(sid, n) & (c->sid_cap - 1)]; s != NULL; s = s->sid_next)
		if (s->sid_len == n && memcmp(s->sid, sid, n) == 0)
			return s;
	return NULL;
}

static void sid_insert(nd_client_t *c, nd_sub_t *s)
{
	if (c->nsubs + 1 > c->sid_cap) {
		uint32_t cap = c->sid_cap ? c->sid_cap * 2 : 8;
		nd_sub_t **t = calloc(cap, sizeof(*t));
		if (t == NULL)
			abort();
		for (uint32_t b = 0; b < c->sid_cap; b++) {
			nd_sub_t *x = c->sids[b];
			while (x != NULL) {
				nd_sub_t *next = x->sid_next;
				uint32_t i = sid_hash(x->sid, x->sid_len) & (cap - 1);
				x->sid_next = t[i];
				t[i] = x;
				x = next;
			}
		}
		free(c->sids);
		c->sids = t;
		c->sid_cap = cap;
	}
	uint32_t i = sid_hash(s->sid, s->sid_len) & (c->sid_cap - 1);
	s->sid_next = c->sids[i];
	c->sids[i] = s;
	c->nsubs++;
}

static void sid_unlink(nd_client_t *c, nd_sub_t *s)
{
	for (nd_sub_t **p = &c->sids[sid_hash(s->sid, s->sid_len) & (c->sid_cap - 1)]; *p != NULL;
	     p = &(*p)->sid_next) {
		if (*p == s) {
			*p = s->sid_next;
			c->nsubs--;
			return;
		}
	}
}

/* ---- delivery (nd_dest_ops) ---- */

static size_t put(char *p, const char *s, size_t n)
{
	if (n > 0)
		memcpy(p, s, n);
	return n;
}

static bool client_deliver(nd_dest_t *dst, nd_sub_t *sub, const nd_pubmsg_t *m)
{
	nd_client_t *c = (nd_client_t *)dst;
	if (c->closing)
		return false;
	/* A wildcard subscription that overlaps a subscribe deny entry does not get messages
	 * on the denied subjects (the reference's checkDenySub), and they do not count. */
	if (c->deny_filter && nd_perms_delivery_denied(c->perms, m->subject, m->subject_len))
		return false;
	sub->delivered++;
	bool last = false;
	if (sub->max > 0) {
		if (sub->delivered > sub->max) {
			remove_sub(c, sub);
			return false;
		}
		last = sub->delivered == sub->max;
	}
	/* HMSG only when there are headers and this client takes them; otherwise MSG with the
	 * headers stripped and the size recomputed (the reference's msgHeader). */
	bool hmsg = m->hdr > 0 && c->headers;
	bool strip = m->hdr > 0 && !c->headers;
	char stripped[24];
	size_t stripped_len = 0;
	const char *body = m->payload;
	size_t body_len = (size_t)m->size;
	if (strip) {
		stripped_len = (size_t)snprintf(stripped, sizeof(stripped), "%lld",
						(long long)(m->size - m->hdr));
		body += m->hdr;
		body_len -= (size_t)m->hdr;
	}
	size_t line = (hmsg ? 5 : 4) + m->subject_len + 1 + sub->sid_len + 1 +
		      (m->reply_len ? m->reply_len + 1 : 0) +
		      (hmsg    ? m->hdr_tok_len + 1 + m->size_tok_len
		       : strip ? stripped_len
			       : m->size_tok_len) +
		      2;
	size_t total = line + body_len + 2;
	if (nd_outbuf_pending(&c->out) + total > (size_t)c->o->max_pending) {
		nd_log_info("%s - Slow Consumer Detected: MaxPending of %lld Exceeded", c->tag,
			    (long long)c->o->max_pending);
		nd_server_counter_add(
		    &nd_server_counters(c->srv, nd_delivery_worker_index(c->d))->slow_consumers, 1);
		client_close(c, "Slow Consumer (Pending Bytes)", false);
		return false;
	}
	char *p = nd_outbuf_reserve(&c->out, total), *start = p;
	p += put(p, hmsg ? "HMSG " : "MSG ", hmsg ? 5 : 4);
	p += put(p, m->subject, m->subject_len);
	*p++ = ' ';
	p += put(p, sub->sid, sub->sid_len);
	*p++ = ' ';
	if (m->reply_len > 0) {
		p += put(p, m->reply, m->reply_len);
		*p++ = ' ';
	}
	if (hmsg) {
		p += put(p, m->hdr_tok, m->hdr_tok_len);
		*p++ = ' ';
		p += put(p, m->size_tok, m->size_tok_len);
	} else if (strip) {
		p += put(p, stripped, stripped_len);
	} else {
		p += put(p, m->size_tok, m->size_tok_len);
	}
	p += put(p, "\r\n", 2);
	p += put(p, body, body_len);
	p += put(p, "\r\n", 2);
	nd_outbuf_commit(&c->out, (size_t)(p - start));
	c->out_msgs++;
	c->out_bytes += body_len;
	if (m->reply_len > 0 && c->perms != NULL && nd_perms_resp(c->perms) != NULL)
		nd_replies_record(&c->replies, nd_perms_resp(c->perms), m->reply, m->reply_len,
				  now_ns());
	if (nd_log_enabled(ND_LOG_TRACE))
		nd_log_trace("%s - ->> [%.*s]", c->tag, (int)(line - 2), start);
	c->last_activity_ms = c->monitor_last_ms = nd_worker_now_ms(nd_actor_home(c->self));
	nd_delivery_mark_dirty(c->d, &c->dest);
	if (last)
		remove_sub(c, sub);
	return true;
}

/* Writes what the TLS session takes. Returns bytes written, -EAGAIN, or -EIO. */
static ssize_t tls_write_out(nd_client_t *c)
{
	ssize_t w = nd_tls_write_outbuf(c->tls, &c->out, &c->tls_want);
	if (w >= 0)
		return w;
	if (w == ND_TLS_WANT_READ || w == ND_TLS_WANT_WRITE)
		return -EAGAIN;
	nd_log_debug("%s - TLS write error: %s", c->tag, nd_tls_error(c->tls));
	return -EIO;
}

static void client_flush(nd_dest_t *dst)
{
	nd_client_t *c = (nd_client_t *)dst;
	if (c->fd < 0 || c->tls_handshaking)
		return;
	push_counters(c);
	ssize_t w = c->tls != NULL ? tls_write_out(c) : nd_outbuf_write(&c->out, c->fd);
	if (w < 0 && w != -EAGAIN) {
		nd_log_debug("%s - Write error: %s", c->tag, strerror((int)-w));
		close_now(c, "Write Error");
		return;
	}
	if (nd_outbuf_pending(&c->out) == 0) {
		nd_timer_stop(&c->write_timer);
		if (c->close_after_flush) {
			c->write_armed = false;
			update_io(c);
			nd_actor_stop(c->self);
			return;
		}
		if (c->write_armed) {
			c->write_armed = false;
			update_io(c);
		}
		return;
	}
	/* The socket is full: wait for it, and give up after write_deadline without progress. */
	if (!c->write_armed) {
		c->write_armed = true;
		update_io(c);
		nd_timer_start(&c->write_timer, c->o->write_deadline_ms);
	} else if (w > 0) {
		nd_timer_start(&c->write_timer, c->o->write_deadline_ms);
	}
}

static void client_resume(nd_dest_t *dst)
{
	nd_client_t *c = (nd_client_t *)dst;
	c->read_paused = false;
	update_io(c);
}

static const nd_dest_ops_t client_ops = {
    .deliver = client_deliver, .flush = client_flush, .resume = client_resume};

/* ---- operations ---- */

static bool has_prefix(const char *s, size_t n, const char *prefix)
{
	size_t pl = strlen(prefix);
	return n > pl && memcmp(s, prefix, pl) == 0;
}

static bool has_prefix_4(const char *s, size_t n, const char *prefix)
{
	/* isServiceReply: "_R_." with length > 3, i.e. the prefix alone counts. */
	return n >= 4 && memcmp(s, prefix, 4) == 0;
}

/* Publishing to a subject (reply false) or with a reply subject (true) that is not allowed:
 * the reference's pubPermissionViolation and replySubjectViolation. */
static void pub_violation(nd_client_t *c, bool reply, const char *s, size_t n)
{
	char q[600], text[700], who[600];
	quoted(s, n, q, sizeof(q));
	snprintf(text, sizeof(text), "Permissions Violation for Publish %s %s",
		 reply ? "with Reply of" : "to", q);
	send_err(c, text);
	nd_log_error("%s - Publish Violation - %s, %s %s", c->tag, auth_user(c, who, sizeof(who)),
		     reply ? "Reply" : "Subject", q);
}

/* May this client publish to subject? Its permissions first, then the reply subjects it was
 * sent requests on (allow_responses), which the check consumes. */
static bool pub_allowed(nd_client_t *c, const char *subject, size_t n)
{
	if (nd_perms_pub_allowed(c->perms, subject, n))
		return true;
	const nd_resp_perm_t *rp = nd_perms_resp(c->perms);
	return rp != NULL && nd_replies_take(&c->replies, rp, subject, n, now_ns());
}

static void send_no_responders(nd_client_t *c, const nd_op_t *op)
{
	const nd_match_t *r = nd_delivery_match(c->d, c->acc, op->reply.p, op->reply.n);
	for (size_t i = 0; i < r->np; i++) {
		nd_sub_t *s = r->psubs[i];
		if (s->owner != &c->dest || !s->alive)
			continue;
		char head[64];
		size_t need = 5 + op->reply.n + 1 + s->sid_len + sizeof(" 16 16\r\n") - 1 + 16 + 2;
		char *p = nd_outbuf_reserve(&c->out, need), *start = p;
		p += put(p, "HMSG ", 5);
		p += put(p, op->reply.p, op->reply.n);
		*p++ = ' ';
		p += put(p, s->sid, s->sid_len);
		int n = snprintf(head, sizeof(head), " 16 16\r\n%s\r\n", ND_HEADERS_NO_RESPONDERS);
		p += put(p, head, (size_t)n);
		nd_outbuf_commit(&c->out, (size_t)(p - start));
		nd_delivery_mark_dirty(c->d, &c->dest);
		return;
	}
}

static void process_pub(nd_client_t *c, const nd_op_t *op)
{
	c->in_msgs++;
	c->in_bytes += (uint64_t)op->size;
	c->last_activity_ms = c->monitor_last_ms = nd_worker_now_ms(nd_actor_home(c->self));
	if (has_prefix(op->subject.p, op->subject.n, "_GR_.")) {
		pub_violation(c, false, op->subject.p, op->subject.n);
		return;
	}
	if (c->perms != NULL && nd_perms_restricts_pub(c->perms) &&
	    !pub_allowed(c, op->subject.p, op->subject.n)) {
		pub_violation(c, false, op->subject.p, op->subject.n);
		return;
	}
	if (op->reply.n > 0 && (has_prefix_4(op->reply.p, op->reply.n, "_R_.") ||
				has_prefix(op->reply.p, op->reply.n, "$JS.ACK.") ||
				has_prefix(op->reply.p, op->reply.n, "_GR_."))) {
		pub_violation(c, true, op->reply.p, op->reply.n);
		return;
	}
	if (c->opts.verbose)
		send_ok(c);
	nd_pubmsg_t m = {
	    .subject = op->subject.p,
	    .subject_len = (uint32_t)op->subject.n,
	    .reply = op->reply.p,
	    .reply_len = (uint32_t)op->reply.n,
	    .size_tok = op->size_tok.p,
	    .size_tok_len = (uint32_t)op->size_tok.n,
	    .hdr_tok = op->hdr_tok.p,
	    .hdr_tok_len = (uint32_t)op->hdr_tok.n,
	    .hdr = op->kind == ND_OP_HPUB ? op->hdr : 0,
	    .size = op->size,
	    .payload = op->payload.p,
	};
	const nd_match_t *r = nd_delivery_match(c->d, c->acc, m.subject, m.subject_len);
	size_t n = nd_delivery_publish(c->d, r, &m, &c->dest, c->opts.echo);
	if (n == 0 && op->reply.n > 0 && c->opts.no_responders)
		send_no_responders(c, op);
}

/* Copies s with a terminating NUL to dst; returns the byte after it. */
static char *copy_z(char *dst, nd_slice_t s)
{
	if (s.n > 0)
		memcpy(dst, s.p, s.n);
	dst[s.n] = '\0';
	return dst + s.n + 1;
}

/* s as a C string in buf (truncated to fit). */
static const char *slice_z(nd_slice_t s, char *buf, size_t len)
{
	size_t n = s.n < len - 1 ? s.n : len - 1;
	memcpy(buf, s.p, n);
	buf[n] = '\0';
	return buf;
}

/* Tokens as the reference counts them for max_sub_tokens (split on '.'). */
static size_t count_tokens(const char *s, size_t n)
{
	size_t t = 1;
	for (size_t i = 0; i < n; i++)
		t += s[i] == '.';
	return t;
}

static void sub_violation(nd_client_t *c, const nd_op_t *op)
{
	char q[600], qq[300], text[1000], who[600], sid[300];
	quoted(op->subject.p, op->subject.n, q, sizeof(q));
	auth_user(c, who, sizeof(who));
	slice_z(op->sid, sid, sizeof(sid));
	if (op->queue.n > 0) {
		quoted(op->queue.p, op->queue.n, qq, sizeof(qq));
		snprintf(text, sizeof(text),
			 "Permissions Violation for Subscription to %s using queue %s", q, qq);
		send_err(c, text);
		nd_log_error("%s - Subscription Violation - %s, Subject %s, Queue: %s, SID %s",
			     c->tag, who, q, qq, sid);
	} else {
		snprintf(text, sizeof(text), "Permissions Violation for Subscription to %s", q);
		send_err(c, text);
		nd_log_error("%s - Subscription Violation - %s, Subject %s, SID %s", c->tag, who, q,
			     sid);
	}
}

static void process_sub(nd_client_t *c, const nd_op_t *op)
{
	c->last_activity_ms = c->monitor_last_ms = nd_worker_now_ms(nd_actor_home(c->self));
	/* Permissions first (a queue subscription is checked with its queue, and "_sys_" is
	 * never a client's), then the token limit, then the subscription limit. */
	bool allowed;
	if (op->queue.n > 0)
		allowed = (c->perms == NULL ||
			   nd_perms_sub_allowed(c->perms, op->subject.p, op->subject.n, op->queue.p,
						op->queue.n)) &&
			  !(op->queue.n == sizeof(SYS_QUEUE) - 1 &&
			    memcmp(op->queue.p, SYS_QUEUE, op->queue.n) == 0);
	else
		allowed = c->perms == NULL ||
			  nd_perms_sub_allowed(c->perms, op->subject.p, op->subject.n, NULL, 0);
	if (!allowed) {
		sub_violation(c, op);
		return;
	}
	if (c->o->max_sub_tokens > 0 &&
	    count_tokens(op->subject.p, op->subject.n) > (size_t)c->o->max_sub_tokens) {
		char q[600], text[700], who[600], sid[600];
		quoted(op->subject.p, op->subject.n, q, sizeof(q));
		snprintf(text, sizeof(text),
			 "Permissions Violation for Subscription to %s, too many tokens", q);
		send_err(c, text);
		nd_log_error("%s - Subscription Violation Too Many Tokens - %s, Subject %s, SID %s",
			     c->tag, auth_user(c, who, sizeof(who)), q,
			     slice_z(op->sid, sid, sizeof(sid)));
		return;
	}
	if (c->o->max_subscriptions > 0 && c->nsubs >= (uint32_t)c->o->max_subscriptions) {
		send_err(c, "maximum subscriptions exceeded");
		nd_log_error("%s - maximum subscriptions exceeded", c->tag);
		return;
	}
	if (sid_find(c, op->sid.p, op->sid.n) != NULL) {
		/* A reused sid keeps the existing subscription, silently. */
		if (c->opts.verbose)
			send_ok(c);
		return;
	}
	if (!nd_subject_valid_sub(op->subject.p, op->subject.n)) {
		send_err(c, "Invalid Subject");
		return;
	}
	nd_sub_t *s = nd_pool_alloc(nd_server_sub_pool(c->srv));
	uint32_t gen = atomic_load_explicit(&s->gen, memory_order_relaxed);
	size_t len = op->subject.n + 1 + op->queue.n + 1 + op->sid.n + 1;
	char *strs = malloc(len);
	if (strs == NULL)
		abort();
	char *q = copy_z(strs, op->subject);
	char *sid = copy_z(q, op->queue);
	copy_z(sid, op->sid);
	*s = (nd_sub_t){
	    .subject = strs,
	    .queue = op->queue.n > 0 ? q : NULL,
	    .sid = sid,
	    .subject_len = (uint32_t)op->subject.n,
	    .queue_len = (uint32_t)op->queue.n,
	    .sid_len = (uint32_t)op->sid.n,
	    .home = (uint16_t)nd_delivery_worker_index(c->d),
	    .owner = &c->dest,
	    .alive = true,
	};
	/* A new identity for this memory (see sub.h); relaxed: published by the index insert. */
	atomic_init(&s->gen, gen + 1);
	nd_worker_t *w = nd_actor_home(c->self);
	nd_sublist_insert(c->acc->sl, s, nd_runtime_qsbr(nd_server_runtime(c->srv)),
			  nd_worker_qsbr_slot(w));
	nd_interest_t *it = nd_server_interest(c->srv);
	if (it != NULL)
		nd_interest_add(it, c->acc->name, s->subject, s->subject_len, s->queue,
				s->queue_len);
	sid_insert(c, s);
	if (c->perms != NULL && !c->deny_filter &&
	    nd_perms_needs_delivery_filter(c->perms, s->subject, s->subject_len))
		c->deny_filter = true;
	if (c->opts.verbose)
		send_ok(c);
}

static void process_unsub(nd_client_t *c, const nd_op_t *op)
{
	c->last_activity_ms = c->monitor_last_ms = nd_worker_now_ms(nd_actor_home(c->self));
	nd_sub_t *s = sid_find(c, op->sid.p, op->sid.n);
	if (s != NULL) {
		if (op->max_msgs > 0 && op->max_msgs > s->delivered)
			s->max = op->max_msgs;
		else
			remove_sub(c, s);
	}
	if (c->opts.verbose)
		send_ok(c);
}

static void start_first_ping(nd_client_t *c)
{
	uint64_t base =
	    c->o->ping_interval_ms < FIRST_PING_MS ? c->o->ping_interval_ms : FIRST_PING_MS;
	uint64_t jitter = base / 5 > 0 ? nd_delivery_random(c->d) % (base / 5) : 0;
	c->ping_forced = true;
	nd_timer_start(&c->ping_timer, base + jitter);
}

/* Takes the permissions of the matched user (or none). */
static void set_user(nd_client_t *c, const nd_user_t *user)
{
	c->user = user;
	if (c->perms != NULL)
		nd_perms_unref(c->perms);
	c->perms = user != NULL && user->perms != NULL ? nd_perms_ref(user->perms) : NULL;
	c->deny_filter = false;
}

/* The reference's authViolation: log who failed, tell the client, close. */
static void auth_violation(nd_client_t *c)
{
	nd_auth_conf_t ac = nd_opts_auth(c->o);
	char text[700];
	nd_auth_failure_text(&ac, &c->opts, text, sizeof(text));
	nd_log_error("%s - %s", c->tag, text);
	send_err(c, "Authorization Violation");
	client_close(c, "Authentication Failure", true);
}

/* Authenticates the connection from its CONNECT options under the current configuration. */
typedef struct cert_map {
	nd_client_t *c;
	const nd_users_t *users;
	const nd_user_t *found;
	char last[512]; /* the last identity tried (the subject DN): the failure's log text */
} cert_map_t;

static bool cert_identity(void *ctx, const char *id)
{
	cert_map_t *m = ctx;
	snprintf(m->last, sizeof(m->last), "%s", id);
	m->found = nd_users_find(m->users, id);
	if (m->found != NULL) {
		char q[600];
		nd_log_debug("%s - Using certificate identity for auth [%s]", m->c->tag,
			     quoted(id, strlen(id), q, sizeof(q)));
	}
	return m->found != NULL;
}

/* verify_and_map: the client certificate names the user (e-mail SAN, DNS SAN, then subject
 * DN), whose password, if it has one, CONNECT must still match. */
static bool authenticate_by_cert(nd_client_t *c, const nd_auth_conf_t *ac)
{
	cert_map_t m = {.c = c, .users = ac->users};
	bool found = nd_tls_peer_identities(c->tls, cert_identity, &m);
	/* Then the users named by a DN, matched whatever the order of its attributes. */
	for (size_t i = 0; !found && i < nd_users_count(ac->users); i++) {
		const nd_user_t *u = nd_users_at(ac->users, i);
		if (u->name != NULL && strchr(u->name, '=') != NULL &&
		    nd_tls_peer_subject_matches(c->tls, u->name)) {
			char q[600];
			nd_log_debug("%s - Using DistinguishedNameMatch for auth [%s]", c->tag,
				     quoted(u->name, strlen(u->name), q, sizeof(q)));
			m.found = u;
			found = true;
		}
	}
	if (!found) {
		char q[600];
		nd_log_debug("%s - User in cert [%s], not found", c->tag,
			     quoted(m.last, strlen(m.last), q, sizeof(q)));
		return false;
	}
	if (c->opts.user != NULL && c->opts.user[0] != '\0') {
		char q[600];
		nd_log_warn("%s - User %s found in connect proto, but user required from cert",
			    c->tag, quoted(c->opts.user, strlen(c->opts.user), q, sizeof(q)));
	}
	const char *want = m.found->password != NULL ? m.found->password : "";
	if (!nd_password_matches(want, c->opts.pass != NULL ? c->opts.pass : ""))
		return false;
	set_user(c, m.found);
	c->cert_mapped = true;
	return true;
}

static bool authenticate(nd_client_t *c)
{
	nd_auth_conf_t ac = nd_opts_auth(c->o);
	if (!nd_auth_required(&ac)) {
		set_user(c, NULL);
		return true;
	}
	if (c->tls != NULL && c->o->tls.verify_and_map && nd_users_count(ac.users) > 0)
		return authenticate_by_cert(c, &ac);
	const nd_user_t *user = NULL;
	if (!nd_auth_check(&ac, &c->opts, c->has_nonce ? c->nonce : NULL, &user))
		return false;
	set_user(c, user);
	return true;
}

/* Adds the client's self-description to its log tag, as the reference does after CONNECT:
 * `ip:port - cid:N - "v1.2.3:c:name"`. */
static void tag_with_client_names(nd_client_t *c)
{
	const char *v = c->opts.version && *c->opts.version ? c->opts.version : NULL;
	const char *l = c->opts.lang && *c->opts.lang ? c->opts.lang : NULL;
	const char *n = c->opts.name && *c->opts.name ? c->opts.name : NULL;
	if (v == NULL && l == NULL && n == NULL)
		return;
	char ncs[512];
	snprintf(ncs, sizeof(ncs), "%s%s%s%s%s%s", v ? "v" : "", v ? v : "", v && l ? ":" : "",
		 l ? l : "", (v || l) && n ? ":" : "", n ? n : "");
	char q[600];
	quoted(ncs, strlen(ncs), q, sizeof(q));
	snprintf(c->tag + c->base_tag_len, sizeof(c->tag) - c->base_tag_len, " - %s", q);
}

/* Returns false if the connection is closing. */
static bool process_connect(nd_client_t *c, const nd_op_t *op)
{
	char err[256];
	nd_timer_stop(&c->auth_timer);
	/* Decoded over what an earlier CONNECT set, as Go's json.Unmarshal into c.opts does. */
	if (nd_connect_decode(&c->opts, op->arg.p, op->arg.n, err, sizeof(err)) != 0) {
		nd_log_error("%s - %s", c->tag, err);
		client_close(c, "Protocol Violation", true);
		return false;
	}
	c->connect_received = true;
	c->auth_pending = false;
	c->monitor_last_ms = nd_worker_now_ms(nd_actor_home(c->self));
	/* The reference's first round-trip estimate: from the accept to the CONNECT. */
	if (c->rtt_ns == 0) {
		c->rtt_ns = realtime_ns() - c->start_ns;
		if (c->rtt_ns <= 0)
			c->rtt_ns = 1;
	}
	nd_parser_set_require_connect(&c->parser, false);
	tag_with_client_names(c);
	start_first_ping(c);
	if (!authenticate(c)) {
		auth_violation(c);
		return false;
	}
	if ((c->opts.account != NULL && c->opts.account[0] != '\0') || c->opts.new_account) {
		auth_violation(c);
		return false;
	}
	if (c->opts.protocol < 0 || c->opts.protocol > 1) {
		send_err(c, "invalid client protocol");
		client_close(c, "Bad Client Protocol Version", true);
		return false;
	}
	c->headers = !c->o->no_header_support && c->opts.headers;
	nd_parser_set_headers(&c->parser, c->headers);
	nd_parser_set_report_lines(&c->parser, c->opts.pedantic);
	if (c->opts.no_responders && !c->headers) {
		send_err(c, "no responders requires headers support");
		client_close(c, "No Responders Requires Headers", true);
		return false;
	}
	if (c->opts.verbose)
		send_ok(c);
	return true;
}

/* Is this decoded JSON key one that CONNECT decodes into the password or the token? Go's
 * encoding/json matches keys with Unicode case folding: "PASS", "Pa\u017fs" (long s) and
 * "auth_to\u212aen" (Kelvin sign) all count. */
static bool secret_key(const char *k)
{
	static const char *const secrets[] = {"pass", "auth_token"};
	char folded[32];
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)k;
	     *p != '\0' && n < sizeof(folded) - 1;) {
		if (p[0] == 0xC5 && p[1] == 0xBF) { /* U+017F */
			folded[n++] = 's';
			p += 2;
		} else if (p[0] == 0xE2 && p[1] == 0x84 && p[2] == 0xAA) { /* U+212A */
			folded[n++] = 'k';
			p += 3;
		} else {
			folded[n++] = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
			p++;
		}
	}
	folded[n] = '\0';
	for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
		if (strcmp(folded, secrets[i]) == 0)
			return true;
	return false;
}

/* CONNECT as the reference traces it, with secrets replaced by [REDACTED]. The reference 2.9
 * only redacts the first literal "pass"; natsd redacts every key that decodes into the
 * password or the token, so that no secret reaches a log. Without secrets the text is traced
 * as sent; with them, re-encoded compactly; if it is not JSON, not at all. */
static void trace_connect(nd_client_t *c, const nd_op_t *op)
{
	json_t *j = json_loadb(op->arg.p, op->arg.n, JSON_DECODE_ANY, NULL);
	if (j == NULL || !json_is_object(j)) {
		json_decref(j);
		nd_log_trace("%s - <<- [CONNECT [not JSON, not shown]]", c->tag);
		return;
	}
	bool secrets = false;
	const char *k;
	json_t *v;
	json_object_foreach(j, k, v)
	{
		if (secret_key(k)) {
			json_object_set_new(j, k, json_string("[REDACTED]"));
			secrets = true;
		}
	}
	if (!secrets) {
		json_decref(j);
		nd_log_trace("%s - <<- [CONNECT %.*s]", c->tag,
			     (int)(op->arg.n > TRACE_MAX ? TRACE_MAX : op->arg.n), op->arg.p);
		return;
	}
	char *text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(j);
	nd_log_trace("%s - <<- [CONNECT %.*s]", c->tag, TRACE_MAX, text != NULL ? text : "");
	free(text);
}

/* The reference's protocol trace of what a client sent: `<<- [OP args]`, the payload as
 * `<<- MSG_PAYLOAD: ["..."]`, CONNECT with its password redacted. */
static void trace_op(nd_client_t *c, const nd_op_t *op)
{
	static const char *const names[] = {
	    [ND_OP_PUB] = "PUB",         [ND_OP_HPUB] = "HPUB",  [ND_OP_SUB] = "SUB",
	    [ND_OP_UNSUB] = "UNSUB",     [ND_OP_PING] = "PING",  [ND_OP_PONG] = "PONG",
	    [ND_OP_CONNECT] = "CONNECT", [ND_OP_INFO] = "INFO",  [ND_OP_OK] = "+OK",
	    [ND_OP_ERR] = "-ERR",        [ND_OP_HMSG_Q] = "HMSG"};
	if (op->kind == ND_OP_PUB_LINE || (size_t)op->kind >= sizeof(names) / sizeof(names[0]) ||
	    names[op->kind] == NULL)
		return;
	const char *name = names[op->kind];
	switch (op->kind) {
	case ND_OP_PUB:
	case ND_OP_HPUB:
	case ND_OP_HMSG_Q: {
		nd_log_trace(
		    "%s - <<- [%s %.*s%s%.*s%s%.*s %.*s]", c->tag, name, (int)op->subject.n,
		    op->subject.p, op->reply.n ? " " : "", (int)op->reply.n,
		    op->reply.n ? op->reply.p : "", op->hdr_tok.n ? " " : "", (int)op->hdr_tok.n,
		    op->hdr_tok.n ? op->hdr_tok.p : "", (int)op->size_tok.n, op->size_tok.p);
		size_t n = (size_t)op->size;
		int max = c->o->max_traced_msg_len;
		bool cut = max > 0 && n > (size_t)max;
		if (cut)
			n = (size_t)max;
		char q[4 * TRACE_MAX + 64];
		quoted(op->payload.p, n > TRACE_MAX ? TRACE_MAX : n, q, sizeof(q));
		if (cut) {
			/* The reference cuts the quoted text at max characters after its opening
			 * quote (escapes count), then adds `..."`. */
			size_t ql = strlen(q);
			size_t keep = (size_t)max < ql - 1 ? (size_t)max : ql - 1;
			nd_log_trace("%s - <<- MSG_PAYLOAD: [\"%.*s...\"]", c->tag, (int)keep,
				     q + 1);
		} else {
			nd_log_trace("%s - <<- MSG_PAYLOAD: [%s]", c->tag, q);
		}
		break;
	}
	case ND_OP_SUB:
		nd_log_trace("%s - <<- [SUB %.*s%s%.*s %.*s]", c->tag, (int)op->subject.n,
			     op->subject.p, op->queue.n ? " " : "", (int)op->queue.n,
			     op->queue.n ? op->queue.p : "", (int)op->sid.n, op->sid.p);
		break;
	case ND_OP_UNSUB:
		if (op->max_msgs > 0)
			nd_log_trace("%s - <<- [UNSUB %.*s %lld]", c->tag, (int)op->sid.n,
				     op->sid.p, (long long)op->max_msgs);
		else
			nd_log_trace("%s - <<- [UNSUB %.*s]", c->tag, (int)op->sid.n, op->sid.p);
		break;
	case ND_OP_CONNECT:
		trace_connect(c, op);
		break;
	default:
		if (op->arg.n > 0)
			nd_log_trace("%s - <<- [%s %.*s]", c->tag, name,
				     (int)(op->arg.n > TRACE_MAX ? TRACE_MAX : op->arg.n),
				     op->arg.p);
		else
			nd_log_trace("%s - <<- [%s]", c->tag, name);
		break;
	}
}

/* Returns false if the connection is closing. */
static bool handle_op(nd_client_t *c, const nd_op_t *op)
{
	if (nd_log_enabled(ND_LOG_TRACE))
		trace_op(c, op);
	switch (op->kind) {
	case ND_OP_PUB:
	case ND_OP_HPUB:
	case ND_OP_HMSG_Q:
		process_pub(c, op);
		return !c->closing;
	case ND_OP_PUB_LINE:
		/* Pedantic mode: the reference checks the subject when the PUB line arrives (and
		 * the message is still published). */
		c->bad_pub_line = !nd_subject_valid_pub(op->subject.p, op->subject.n);
		c->pub_line_in_read = true;
		if (c->bad_pub_line)
			send_err(c, "Invalid Publish Subject");
		return true;
	case ND_OP_SUB:
		process_sub(c, op);
		return true;
	case ND_OP_UNSUB:
		process_unsub(c, op);
		return true;
	case ND_OP_PING:
		c->last_activity_ms = nd_worker_now_ms(nd_actor_home(c->self));
		nd_log_trace("%s - ->> [PONG]", c->tag);
		out_str(c, "PONG\r\n");
		if (c->connect_received)
			c->first_pong_sent = true; /* from now on it takes asynchronous INFO */
		return true;
	case ND_OP_PONG:
		c->pings_out = 0;
		if (c->ping_sent_ms != 0) {
			uint64_t now = nd_worker_now_ms(nd_actor_home(c->self));
			uint64_t ms = now - c->ping_sent_ms;
			c->rtt_ns =
			    ms == 0 ? 1000 : (int64_t)ms * 1000000; /* the worker clock is in ms */
			c->ping_sent_ms = 0;
		}
		return true;
	case ND_OP_CONNECT:
		return process_connect(c, op);
	case ND_OP_INFO: {
		/* Servers ignore a client's INFO, but not one they cannot decode. */
		char err[256];
		if (nd_connect_validate_info(op->arg.p, op->arg.n, err, sizeof(err)) != 0) {
			nd_log_error("%s - %s", c->tag, err);
			client_close(c, "Protocol Violation", true);
			return false;
		}
		return true;
	}
	case ND_OP_OK:
		return true;
	case ND_OP_ERR:
		nd_log_error("%s - Client Error %.*s", c->tag, (int)op->arg.n, op->arg.p);
		client_close(c, "Parse Error", true);
		return false;
	}
	return true;
}

static void parse_error(nd_client_t *c, int rc)
{
	switch (rc) {
	case ND_PERR_UNKNOWN_OP: {
		send_err(c, "Unknown Protocol Operation");
		nd_log_error("%s - Client parser ERROR", c->tag);
		client_close(c, "Protocol Violation", true);
		break;
	}
	case ND_PERR_CONTROL_LINE:
		send_err(c, "maximum control line exceeded");
		nd_log_error("%s - maximum control line exceeded: max_control_line %u", c->tag,
			     c->o->max_control_line);
		client_close(c, "Maximum Control Line Exceeded", true);
		break;
	case ND_PERR_MAX_PAYLOAD:
		send_err(c, "Maximum Payload Violation");
		nd_log_error("%s - maximum payload exceeded: %lld vs %lld", c->tag,
			     (long long)nd_parser_last_size(&c->parser),
			     (long long)c->o->max_payload);
		client_close(c, "Maximum Message Payload Exceeded", true);
		break;
	case ND_PERR_AUTH:
		auth_violation(c);
		break;
	case ND_PERR_NO_HEADERS:
		nd_log_error("%s - message headers not supported", c->tag);
		client_close(c, "Protocol Violation", true);
		break;
	default:
		nd_log_error("%s - malformed protocol arguments", c->tag);
		client_close(c, "Protocol Violation", true);
		break;
	}
}

/* Auth is required and the first operation is not CONNECT: with a no_auth_user that exists,
 * the reference lets the connection in as that user (telnet demos), as if it had connected. */
static bool no_auth_user_admits(nd_client_t *c)
{
	const char *name = c->o->no_auth_user;
	if (name == NULL || *name == '\0' || c->o->users == NULL)
		return false;
	const nd_user_t *u = nd_users_find(c->o->users, name);
	if (u == NULL)
		return false;
	set_user(c, u);
	nd_timer_stop(&c->auth_timer);
	c->auth_pending = false;
	c->connect_received = true;
	nd_parser_set_require_connect(&c->parser, false);
	return true;
}

static void process_input(nd_client_t *c, const char *buf, size_t len)
{
	size_t off = 0;
	c->pub_line_in_read = false;
	while (off < len && !c->closing) {
		size_t used = 0;
		nd_op_t op;
		int rc = nd_parser_next(&c->parser, buf + off, len - off, &used, &op);
		if (rc == ND_PARSE_AGAIN)
			break;
		if (rc == ND_PERR_AUTH && no_auth_user_admits(c)) {
			off += used;
			continue;
		}
		if (rc < 0) {
			parse_error(c, rc);
			return;
		}
		off += used;
		if (!handle_op(c, &op))
			return;
	}
	/* The reference checks a PUB line's arguments once more when its payload does not end in
	 * the read that brought the line (clonePubArg), so a bad subject is reported twice. */
	if (!c->closing && c->pub_line_in_read && c->bad_pub_line &&
	    nd_parser_pending_pub(&c->parser) != NULL)
		send_err(c, "Invalid Publish Subject");
}

/* What the TLS session decrypted goes to the parser (nd_tls_read_each). */
static bool tls_input(void *ctx, const char *p, size_t n)
{
	nd_client_t *c = ctx;
	process_input(c, p, n);
	return !c->closing;
}

static void tls_read_some(nd_client_t *c)
{
	size_t cap;
	char *buf = nd_delivery_read_buffer(c->d, &cap);
	int rc = nd_tls_read_each(c->tls, buf, cap, ND_TLS_READ_BUDGET, tls_input, c);
	if (rc == 1)
		return;
	if (rc == ND_TLS_WANT_WRITE) {
		c->tls_want = ND_IO_WRITE;
		update_io(c);
	} else if (rc == ND_TLS_CLOSED) {
		client_close(c, "Client Closed", false);
		return;
	} else if (rc == ND_TLS_FAILED) {
		nd_log_debug("%s - TLS read error: %s", c->tag, nd_tls_error(c->tls));
		client_close(c, "Read Error", false);
		return;
	}
	push_counters(c);
	if (!c->closing && nd_delivery_over_budget(c->d)) {
		c->read_paused = true;
		update_io(c);
		nd_delivery_pause(c->d, &c->dest);
	}
}

static void read_some(nd_client_t *c)
{
	if (c->tls != NULL) {
		tls_read_some(c);
		return;
	}
	size_t cap;
	char *buf = nd_delivery_read_buffer(c->d, &cap);
	ssize_t n = read(c->fd, buf, cap);
	if (n > 0) {
		process_input(c, buf, (size_t)n);
		push_counters(c);
		/* Flow control: while another worker is far behind on what this one sends it, stop
		 * reading from publishers here (the only throttle; no thread ever blocks). */
		if (!c->closing && nd_delivery_over_budget(c->d)) {
			c->read_paused = true;
			update_io(c);
			nd_delivery_pause(c->d, &c->dest);
		}
		return;
	}
	if (n == 0) {
		client_close(c, "Client Closed", false);
		return;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return;
	nd_log_debug("%s - Read error: %s", c->tag, strerror(errno));
	client_close(c, "Read Error", false);
}

static void start_session(nd_client_t *c);

/* The reference's pinned_certs: the peer's public key must be one of them. */
static bool pinned_ok(nd_client_t *c)
{
	const nd_tls_opts_t *t = &c->o->tls;
	if (t->npinned == 0)
		return true;
	char spki[65];
	if (!nd_tls_peer_spki_sha256(c->tls, spki)) {
		nd_log_debug("%s - Failed pinned cert test as client did not provide a certificate",
			     c->tag);
		return false;
	}
	for (size_t i = 0; i < t->npinned; i++)
		if (strcmp(t->pinned_certs[i], spki) == 0)
			return true;
	nd_log_debug("%s - Failed pinned cert test for key id: %s", c->tag, spki);
	return false;
}

/* In clear and best effort: what the reference queues for a client that did not start TLS
 * (its own write never gets it out; ours tells the client why it is closed). */
static void send_tls_required(nd_client_t *c)
{
	static const char err[] = "-ERR 'Secure Connection - TLS Required'\r\n";
	nd_log_trace("%s - ->> [-ERR Secure Connection - TLS Required]", c->tag);
	ssize_t w = send(c->fd, err, sizeof(err) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	(void)w;
	/* Unread input would turn the close into a reset that can discard the -ERR. */
	char sink[4096];
	for (int i = 0; i < 16 && recv(c->fd, sink, sizeof(sink), MSG_DONTWAIT) > 0; i++)
		;
	shutdown(c->fd, SHUT_WR);
}

static void tls_handshake_step(nd_client_t *c)
{
	int rc = nd_tls_handshake(c->tls);
	if (rc == ND_TLS_WANT_READ || rc == ND_TLS_WANT_WRITE) {
		c->tls_want = rc == ND_TLS_WANT_READ ? ND_IO_READ : ND_IO_WRITE;
		update_io(c);
		return;
	}
	if (rc == 0 && !pinned_ok(c)) {
		nd_log_error("%s - TLS handshake error: certificate not pinned", c->tag);
		client_close(c, "TLS Handshake Failure", false);
		return;
	}
	if (rc != 0) {
		nd_log_error("%s - TLS handshake error: %s", c->tag, nd_tls_error(c->tls));
		if (nd_tls_failed_on_plain_text(c->tls))
			send_tls_required(c);
		client_close(c, "TLS Handshake Failure", false);
		return;
	}
	nd_timer_stop(&c->tls_timer);
	c->tls_handshaking = false;
	c->tls_want = 0;
	snprintf(c->tls_version, sizeof(c->tls_version), "%s", nd_tls_version(c->tls));
	snprintf(c->tls_cipher, sizeof(c->tls_cipher), "%s", nd_tls_cipher(c->tls));
	nd_log_debug("%s - TLS handshake complete", c->tag);
	nd_log_debug("%s - TLS version %s, cipher suite %s", c->tag, c->tls_version, c->tls_cipher);
	if (c->tls_info != NULL) { /* handshake_first: the INFO goes out inside TLS */
		out_raw(c, c->tls_info, c->tls_info_len);
		free(c->tls_info);
		c->tls_info = NULL;
	}
	start_session(c);
	update_io(c);
	read_some(c); /* the client may have sent CONNECT with its last handshake flight */
}

static void tls_start(nd_client_t *c)
{
	nd_tls_ctx_t *ctx = nd_server_tls(c->srv);
	if (ctx == NULL) { /* removed by a reload meanwhile */
		client_close(c, "TLS Handshake Failure", false);
		return;
	}
	nd_log_debug("%s - Starting TLS client connection handshake", c->tag);
	c->tls = nd_tls_new(ctx, c->fd, true);
	nd_tls_ctx_unref(ctx); /* the session holds its own */
	c->tls_handshaking = true;
	c->tls_want = ND_IO_READ;
	tls_handshake_step(c);
}

static bool send_info_in_clear(nd_client_t *c);
static void after_info(nd_client_t *c);

/* allow_non_tls: a handshake record starts with 0x16; anything else is the plain protocol.
 * handshake_first auto: a ClientHello before the INFO means TLS first. */
static void tls_sniff(nd_client_t *c)
{
	unsigned char b;
	ssize_t n = recv(c->fd, &b, 1, MSG_PEEK);
	if (n == 0) {
		client_close(c, "Client Closed", false);
		return;
	}
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			client_close(c, "Read Error", false);
		return;
	}
	c->tls_sniffing = false;
	nd_timer_stop(&c->tls_timer);
	if (c->tls_first_wait) {
		c->tls_first_wait = false;
		if (b == 0x16) {
			nd_timer_start(&c->tls_timer, nd_opts_tls_timeout_ms(c->o));
			tls_start(c);
		} else {
			after_info(c); /* not TLS: the ordinary INFO-first flow */
		}
		return;
	}
	if (b == 0x16) {
		tls_start(c);
		return;
	}
	start_session(c);
	read_some(c);
}

static void on_io(nd_actor_t *self, nd_io_t *io, int events)
{
	nd_client_t *c = nd_actor_state(self);
	if (c->tls_sniffing) {
		tls_sniff(c);
		return;
	}
	if (c->tls_handshaking) {
		tls_handshake_step(c);
		return;
	}
	if (events & ND_IO_WRITE)
		client_flush(&c->dest);
	if ((events & ND_IO_READ) && !c->closing) {
		if (c->tls_want == ND_IO_READ && nd_outbuf_pending(&c->out) > 0)
			client_flush(&c->dest); /* the session needed to read before writing */
		read_some(c);
	}
}

/* The TLS handshake did not finish in time (or, with allow_non_tls, nothing came: plain). */
static void on_tls_timer(nd_actor_t *self, nd_timer_t *t)
{
	nd_client_t *c = nd_actor_state(self);
	(void)t;
	if (c->closing)
		return;
	if (c->tls_sniffing && c->tls_first_wait) {
		/* handshake_first auto: no ClientHello came; an older client waits for INFO. */
		c->tls_sniffing = c->tls_first_wait = false;
		after_info(c);
		return;
	}
	if (c->tls_sniffing) {
		c->tls_sniffing = false;
		start_session(c);
		update_io(c);
		return;
	}
	if (!c->tls_handshaking)
		return;
	nd_log_error("%s - TLS handshake timeout", c->tag);
	send_tls_required(c);
	client_close(c, "TLS Handshake Failure", false);
}

/* ---- timers ---- */

static void on_ping_timer(nd_actor_t *self, nd_timer_t *t)
{
	nd_client_t *c = nd_actor_state(self);
	if (c->closing)
		return;
	uint64_t now = nd_worker_now_ms(nd_actor_home(self));
	/* Before CONNECT and on the first fire after it, a PING is always due (the reference has
	 * no round-trip time yet); later, recent traffic makes it unnecessary. */
	bool due = c->ping_forced || !c->connect_received ||
		   now - c->last_activity_ms >= c->o->ping_interval_ms;
	if (due) {
		if (c->pings_out + 1 > c->o->ping_max) {
			send_err(c, "Stale Connection");
			nd_log_debug("%s - Stale Client Connection - Closing", c->tag);
			client_close(c, "Stale Connection", true);
			return;
		}
		c->ping_forced = false;
		c->pings_out++;
		if (c->ping_sent_ms == 0)
			c->ping_sent_ms = now;
		nd_log_trace("%s - ->> [PING]", c->tag);
		out_str(c, "PING\r\n");
	}
	nd_timer_start(t, c->o->ping_interval_ms);
}

static void on_write_timer(nd_actor_t *self, nd_timer_t *t)
{
	nd_client_t *c = nd_actor_state(self);
	if (c->close_after_flush) {
		close_now(c, c->close_reason); /* closing anyway; the client does not read */
		return;
	}
	nd_log_info("%s - Slow Consumer Detected: WriteDeadline of %llums exceeded with %zu bytes "
		    "pending",
		    c->tag, (unsigned long long)c->o->write_deadline_ms,
		    nd_outbuf_pending(&c->out));
	nd_server_counter_add(
	    &nd_server_counters(c->srv, nd_delivery_worker_index(c->d))->slow_consumers, 1);
	client_close(c, "Slow Consumer (Write Deadline)", false);
}

/* ---- monitoring ---- */

static int64_t realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static char *dup_or_null(const char *s)
{
	if (s == NULL)
		return NULL;
	char *d = strdup(s);
	if (d == NULL)
		abort();
	return d;
}

void nd_client_info_deinit(nd_client_info_t *info)
{
	free(info->name);
	free(info->lang);
	free(info->version);
	free(info->user);
	free(info->reason);
	free(info->tls_peer_subject);
	if (info->subs != NULL) {
		for (uint32_t i = 0; i < info->nsubs; i++) {
			free(info->subs[i].subject);
			free(info->subs[i].queue);
			free(info->subs[i].sid);
		}
		free(info->subs);
	}
	memset(info, 0, sizeof(*info));
}

void nd_client_info_copy(nd_client_info_t *dst, const nd_client_info_t *src)
{
	*dst = *src;
	dst->name = dup_or_null(src->name);
	dst->lang = dup_or_null(src->lang);
	dst->version = dup_or_null(src->version);
	dst->user = dup_or_null(src->user);
	dst->reason = dup_or_null(src->reason);
	dst->tls_peer_subject = dup_or_null(src->tls_peer_subject);
	if (src->subs != NULL) {
		dst->subs = calloc(src->nsubs ? src->nsubs : 1, sizeof(*dst->subs));
		if (dst->subs == NULL)
			abort();
		for (uint32_t i = 0; i < src->nsubs; i++) {
			dst->subs[i] = src->subs[i];
			dst->subs[i].subject = dup_or_null(src->subs[i].subject);
			dst->subs[i].queue = dup_or_null(src->subs[i].queue);
			dst->subs[i].sid = dup_or_null(src->subs[i].sid);
		}
	}
}

/* The connection as /connz shows it. */
static void fill_info(nd_client_t *c, nd_client_info_t *info, bool subs)
{
	memset(info, 0, sizeof(*info));
	info->cid = c->cid;
	snprintf(info->ip, sizeof(info->ip), "%s", c->ip);
	info->port = c->port;
	info->start_ns = c->start_ns;
	int64_t now = realtime_ns();
	uint64_t mono = nd_worker_now_ms(nd_actor_home(c->self));
	info->last_activity_ns = now - (int64_t)(mono - c->monitor_last_ms) * 1000000;
	if (info->last_activity_ns < c->start_ns)
		info->last_activity_ns = c->start_ns;
	info->rtt_ns = c->rtt_ns;
	info->pending_bytes = nd_outbuf_pending(&c->out);
	info->in_msgs = c->in_msgs;
	info->out_msgs = c->out_msgs;
	info->in_bytes = c->in_bytes;
	info->out_bytes = c->out_bytes;
	info->nsubs = c->nsubs;
	info->name = dup_or_null(c->opts.name);
	info->lang = dup_or_null(c->opts.lang);
	info->version = dup_or_null(c->opts.version);
	if (c->cert_mapped && c->user != NULL)
		info->user = dup_or_null(c->user->name);
	else if (c->opts.nkey != NULL && c->opts.nkey[0] != '\0')
		info->user = dup_or_null(c->opts.nkey);
	else if (c->opts.user != NULL && c->opts.user[0] != '\0')
		info->user = dup_or_null(c->opts.user);
	if (c->tls != NULL && !c->tls_handshaking) {
		memcpy(info->tls_version, c->tls_version, sizeof(info->tls_version));
		memcpy(info->tls_cipher, c->tls_cipher, sizeof(info->tls_cipher));
		nd_tls_peer_cert_info(c->tls, &info->tls_peer_subject, info->tls_peer_spki,
				      info->tls_peer_cert);
	}
	if (!subs)
		return;
	info->subs = calloc(c->nsubs ? c->nsubs : 1, sizeof(*info->subs));
	if (info->subs == NULL)
		abort();
	uint32_t n = 0;
	for (uint32_t b = 0; b < c->sid_cap; b++) {
		for (nd_sub_t *x = c->sids[b]; x != NULL && n < c->nsubs; x = x->sid_next) {
			nd_client_sub_info_t *si = &info->subs[n++];
			si->subject = strndup(x->subject, x->subject_len);
			si->queue = x->queue != NULL ? strndup(x->queue, x->queue_len) : NULL;
			si->sid = strndup(x->sid, x->sid_len);
			si->msgs = x->delivered;
			si->max = x->max;
		}
	}
	info->nsubs = n;
}

static void info_msg_release(nd_msg_t *msg)
{
	nd_client_info_msg_t *m = (nd_client_info_msg_t *)msg;
	nd_client_info_deinit(&m->info);
}

static void send_info_reply(nd_actor_t *to, uint16_t type, uint64_t id, nd_client_t *c, bool subs)
{
	nd_client_info_msg_t *r = nd_msg_alloc(nd_actor_runtime(to), sizeof(*r), type);
	r->hdr.dtor = info_msg_release;
	r->request_id = id;
	r->valid = c != NULL;
	if (c != NULL)
		fill_info(c, &r->info, subs);
	nd_actor_send(to, &r->hdr);
}

/* Every request is answered exactly once: by the client, or here when it was released
 * without being delivered (the client had stopped), so that the requester never waits for a
 * connection that is gone. */
static void info_request_release(nd_msg_t *msg)
{
	info_request_msg_t *m = (info_request_msg_t *)msg;
	if (!m->answered)
		send_info_reply(m->reply_to, m->reply_type, m->request_id, NULL, false);
	nd_actor_unref(m->reply_to);
}

void nd_client_send_info_request(nd_actor_t *client, nd_actor_t *reply_to, uint16_t reply_type,
				 uint64_t request_id, bool subs)
{
	info_request_msg_t *m =
	    nd_msg_alloc(nd_actor_runtime(client), sizeof(*m), MSG_INFO_REQUEST);
	m->hdr.dtor = info_request_release;
	m->reply_to = nd_actor_ref(reply_to);
	m->reply_type = reply_type;
	m->request_id = request_id;
	m->subs = subs;
	nd_actor_send(client, &m->hdr);
}

/* ---- lifecycle ---- */

/* The reference's authTimeout: a client that has not authenticated in time is told so and
 * closed. */
static void on_auth_timer(nd_actor_t *self, nd_timer_t *t)
{
	(void)t;
	nd_client_t *c = nd_actor_state(self);
	if (c->closing || !c->auth_pending)
		return;
	send_err(c, "Authentication Timeout");
	nd_log_debug("%s - Authentication Timeout", c->tag);
	client_close(c, "Authentication Timeout", true);
}

static void client_start(nd_actor_t *self)
{
	nd_client_t *c = nd_actor_state(self);
	c->self = self;
	c->d = nd_delivery_current(nd_server_delivery(c->srv));
	c->acc = nd_server_global_account(c->srv);
	c->dest.ops = &client_ops;
	c->reg = nd_server_register_client(c->srv, self);
	nd_parser_init(&c->parser);
	nd_parser_set_limits(&c->parser, c->o->max_control_line, c->o->max_payload);
	nd_connect_opts_init(&c->opts);
	nd_parser_set_report_lines(&c->parser, c->opts.pedantic); /* pedantic until CONNECT says */
	nd_replies_init(&c->replies);
	nd_outbuf_init(&c->out);
	nd_timer_init(&c->ping_timer, self, on_ping_timer);
	nd_timer_init(&c->write_timer, self, on_write_timer);
	nd_timer_init(&c->auth_timer, self, on_auth_timer);
	c->last_activity_ms = c->monitor_last_ms = nd_worker_now_ms(nd_actor_home(self));
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	nd_io_init(&c->io, self, c->fd, on_io);
	update_io(c);
	nd_log_debug("%s - Client connection created", c->tag);
	nd_auth_conf_t ac = nd_opts_auth(c->o);
	if (nd_auth_required(&ac)) {
		c->auth_pending = true;
		nd_parser_set_require_connect(&c->parser, true);
		if (nd_auth_has_nkeys(&ac)) {
			nd_nkey_nonce(c->nonce);
			c->has_nonce = true;
		}
	}
	size_t len;
	char *info = nd_server_client_info(c->srv, c->o, c->cid, c->ip,
					   c->has_nonce ? c->nonce : NULL, false, &len);
	if (!c->o->tls.set) {
		out_raw(c, info, len);
		free(info);
		start_session(c);
		return;
	}
	nd_timer_init(&c->tls_timer, self, on_tls_timer);
	c->tls_timer_ready = true;
	c->tls_info = info;
	c->tls_info_len = len;
	switch (c->o->tls.handshake_first) {
	case ND_TLS_HANDSHAKE_FIRST_ON: /* TLS first, INFO after it (2.10.4's handshake_first) */
		nd_timer_start(&c->tls_timer, nd_opts_tls_timeout_ms(c->o));
		tls_start(c);
		return;
	case ND_TLS_HANDSHAKE_FIRST_AUTO: /* a ClientHello within the fallback, or INFO first */
		c->tls_sniffing = c->tls_first_wait = true;
		nd_timer_start(&c->tls_timer, c->o->tls.handshake_first_fallback_ms);
		nd_io_set(&c->io, ND_IO_READ);
		return;
	default:
		break;
	}
	after_info(c);
}

/* The INFO in clear (a new socket takes it at once). Returns false if the connection closed. */
static bool send_info_in_clear(nd_client_t *c)
{
	ssize_t w = send(c->fd, c->tls_info, c->tls_info_len, MSG_NOSIGNAL | MSG_DONTWAIT);
	bool ok = w == (ssize_t)c->tls_info_len;
	free(c->tls_info);
	c->tls_info = NULL;
	if (!ok)
		client_close(c, "Write Error", false);
	return ok;
}

/* The reference's order: INFO in clear, then the client's handshake (or, with allow_non_tls,
 * whatever the first byte says). */
static void after_info(nd_client_t *c)
{
	if (!send_info_in_clear(c))
		return;
	nd_timer_start(&c->tls_timer, nd_opts_tls_timeout_ms(c->o));
	if (c->o->allow_non_tls) {
		c->tls_sniffing = true;
		nd_io_set(&c->io, ND_IO_READ);
		return;
	}
	tls_start(c);
}

/* The protocol session proper: after the TLS handshake if there is one (the reference starts
 * the auth and ping timers then). */
static void start_session(nd_client_t *c)
{
	if (c->auth_pending)
		nd_timer_start(&c->auth_timer, nd_opts_auth_timeout_ms(c->o));
	nd_timer_start(&c->ping_timer, c->o->ping_interval_ms);
}

static void client_stop(nd_actor_t *self)
{
	nd_client_t *c = nd_actor_state(self);
	if (!c->closing) { /* server shutdown */
		c->closing = true;
		remove_all_subs(c);
	}
	nd_io_set(&c->io, 0);
	nd_timer_stop(&c->ping_timer);
	nd_timer_stop(&c->write_timer);
	nd_timer_stop(&c->auth_timer);
	if (c->tls_timer_ready)
		nd_timer_stop(&c->tls_timer);
	nd_tls_free(c->tls);
	c->tls = NULL;
	free(c->tls_info);
	c->tls_info = NULL;
	nd_delivery_unmark_dirty(c->d, &c->dest);
	nd_delivery_unpause(c->d, &c->dest);
	nd_log_debug("%s - socket closed (%zu bytes unsent)", c->tag, nd_outbuf_pending(&c->out));
	close(c->fd);
	c->fd = -1;
	nd_outbuf_clear(&c->out);
	nd_parser_deinit(&c->parser);
	nd_connect_opts_deinit(&c->opts);
	nd_replies_deinit(&c->replies);
	set_user(c, NULL);
	free(c->sids);
	c->sids = NULL;
	c->sid_cap = 0;
	nd_server_client_gone(c->srv);
	if (c->reg != NULL) {
		nd_server_unregister_client(c->srv, c->reg);
		c->reg = NULL;
	}
}

/* Last release. A client whose runtime shut down before its first turn never ran
 * client_stop. */
static void client_free(nd_actor_t *self)
{
	nd_client_t *c = nd_actor_state(self);
	if (c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
		nd_server_client_gone(c->srv);
	}
	if (c->snap != NULL) {
		nd_opts_snap_unref(c->snap);
		c->snap = NULL;
		c->o = NULL;
	}
}

/* Drops the subscriptions the current permissions no longer allow, telling the client and the
 * log (the reference's processSubsOnConfigReload), and recomputes the delivery deny filter. */
static void drop_disallowed_subs(nd_client_t *c)
{
	c->deny_filter = false;
	if (c->nsubs == 0)
		return;
	nd_sub_t **all = malloc(c->nsubs * sizeof(*all));
	if (all == NULL)
		abort();
	size_t n = 0;
	for (uint32_t b = 0; b < c->sid_cap; b++)
		for (nd_sub_t *x = c->sids[b]; x != NULL; x = x->sid_next)
			all[n++] = x;
	for (size_t i = 0; i < n; i++) {
		nd_sub_t *x = all[i];
		bool can =
		    c->perms == NULL ||
		    nd_perms_sub_allowed(c->perms, x->subject, x->subject_len, NULL, 0) ||
		    (x->queue != NULL && nd_perms_sub_allowed(c->perms, x->subject, x->subject_len,
							      x->queue, x->queue_len));
		if (can) {
			if (c->perms != NULL &&
			    nd_perms_needs_delivery_filter(c->perms, x->subject, x->subject_len))
				c->deny_filter = true;
			continue;
		}
		char q[600], qs[300], text[1000], who[600];
		quoted(x->subject, x->subject_len, q, sizeof(q));
		quoted(x->sid, x->sid_len, qs, sizeof(qs));
		snprintf(text, sizeof(text),
			 "Permissions Violation for Subscription to %s (sid %s)", q, qs);
		nd_log_info("Removed sub %s (sid %s) for %s - not authorized", q, qs,
			    auth_user(c, who, sizeof(who)));
		remove_sub(c, x);
		send_err(c, text);
	}
	free(all);
}

/* Authenticates an established connection again under new options. A user whose entry still
 * has the same bcrypt hash is not checked again: it proved that password already, and a
 * bcrypt run per connection would stall the worker for each. */
static bool reauthenticate(nd_client_t *c)
{
	const nd_user_t *old = c->user;
	if (old != NULL && old->name != NULL && old->password != NULL &&
	    nd_password_is_bcrypt(old->password) && c->o->users != NULL && c->opts.nkey == NULL) {
		const nd_user_t *u = nd_users_find(c->o->users, old->name);
		if (u != NULL && u->password != NULL && strcmp(u->password, old->password) == 0 &&
		    (u->conn_types == 0 || (u->conn_types & ND_CONN_STANDARD))) {
			set_user(c, u);
			return true;
		}
	}
	return authenticate(c);
}

/* Runs under a reloaded configuration from now on (the reference's reloadAuthorization and
 * the limits that apply to existing connections). */
static void apply_reload(nd_client_t *c, nd_opts_snap_t *snap)
{
	if (c->closing) {
		nd_opts_snap_unref(snap);
		return;
	}
	nd_opts_snap_t *old = c->snap; /* c->user points into it until re-authentication */
	c->snap = snap;
	c->o = nd_opts_snap_get(snap);
	nd_parser_set_limits(&c->parser, c->o->max_control_line, c->o->max_payload);
	nd_auth_conf_t ac = nd_opts_auth(c->o);
	if (!c->connect_received) {
		/* Not authenticated yet: the reference checks it with what it has, nothing. */
		if (nd_auth_required(&ac)) {
			auth_violation(c);
		} else {
			c->auth_pending = false;
			nd_timer_stop(&c->auth_timer);
			nd_parser_set_require_connect(&c->parser, false);
		}
	} else if (!reauthenticate(c)) {
		set_user(c, NULL);
		auth_violation(c);
	} else {
		drop_disallowed_subs(c);
	}
	nd_opts_snap_unref(old);
}

static void send_async_info(nd_client_t *c, bool ldm)
{
	/* Only to clients that take asynchronous INFO and are past their first PING. */
	if (c->closing || !c->connect_received || c->opts.protocol < 1 || !c->first_pong_sent)
		return;
	size_t len;
	char *info = nd_server_client_info(c->srv, c->o, c->cid, c->ip, NULL, ldm, &len);
	out_raw(c, info, len);
	free(info);
}

static void close_on_request(nd_client_t *c, nd_client_close_t why)
{
	if (c->closing)
		return;
	switch (why) {
	case ND_CLIENT_CLOSE_MAX_CONNECTIONS:
		send_err(c, "maximum connections exceeded");
		nd_log_error("%s - maximum connections exceeded", c->tag);
		client_close(c, "Maximum Connections Exceeded", true);
		break;
	case ND_CLIENT_CLOSE_SERVER_SHUTDOWN:
		client_close(c, "Server Shutdown", true);
		break;
	}
}

static void client_message(nd_actor_t *self, nd_msg_t *msg)
{
	nd_client_t *c = nd_actor_state(self);
	switch (msg->type) {
	case MSG_RELOAD: {
		reload_msg_t *r = (reload_msg_t *)msg;
		nd_opts_snap_t *snap = r->snap;
		r->snap = NULL;
		nd_msg_free(msg);
		apply_reload(c, snap);
		return;
	}
	case MSG_LAME_DUCK_INFO:
		send_async_info(c, true);
		break;
	case MSG_INFO_UPDATE:
		send_async_info(c, false);
		break;
	case MSG_CLOSE:
		close_on_request(c, ((close_msg_t *)msg)->why);
		break;
	case MSG_INFO_REQUEST: {
		info_request_msg_t *m = (info_request_msg_t *)msg;
		if (!c->closing) {
			send_info_reply(m->reply_to, m->reply_type, m->request_id, c, m->subs);
			m->answered = true;
		}
		break;
	}
	default:
		break;
	}
	nd_msg_free(msg);
}

static const nd_actor_class_t client_class = {.name = "client",
					      .on_start = client_start,
					      .on_message = client_message,
					      .on_stop = client_stop,
					      .on_free = client_free};

void nd_client_spawn(nd_server_t *s, nd_worker_t *home, int fd, uint64_t cid,
		     const struct sockaddr_storage *peer)
{
	nd_actor_t *a =
	    nd_actor_create(nd_server_runtime(s), &client_class, sizeof(nd_client_t), home);
	nd_client_t *c = nd_actor_state(a);
	c->srv = s;
	c->snap = nd_server_opts(s);
	c->o = nd_opts_snap_get(c->snap);
	c->fd = fd;
	c->cid = cid;
	c->start_ns = realtime_ns();
	c->port = nd_peer_address(peer, c->ip);
	int n = snprintf(c->tag, sizeof(c->tag),
			 strchr(c->ip, ':') != NULL ? "[%s]:%d - cid:%llu" : "%s:%d - cid:%llu",
			 c->ip, c->port, (unsigned long long)cid);
	c->base_tag_len = n < 0 ? 0 : (size_t)n < sizeof(c->tag) ? (size_t)n : sizeof(c->tag) - 1;
	nd_actor_start(a);
	nd_actor_unref(a); /* the runtime keeps it until it stops */
}

/* ---- messages from other actors ---- */

static void reload_msg_release(nd_msg_t *msg)
{
	reload_msg_t *r = (reload_msg_t *)msg;
	if (r->snap != NULL)
		nd_opts_snap_unref(r->snap);
}

void nd_client_send_reload(nd_actor_t *client, nd_opts_snap_t *snap)
{
	reload_msg_t *m = nd_msg_alloc(nd_actor_runtime(client), sizeof(*m), MSG_RELOAD);
	m->snap = nd_opts_snap_ref(snap);
	m->hdr.dtor = reload_msg_release;
	nd_actor_send(client, &m->hdr);
}

void nd_client_send_info_update(nd_actor_t *client)
{
	nd_actor_send(client,
		      nd_msg_alloc(nd_actor_runtime(client), sizeof(nd_msg_t), MSG_INFO_UPDATE));
}

void nd_client_send_lame_duck_info(nd_actor_t *client)
{
	nd_msg_t *m = nd_msg_alloc(nd_actor_runtime(client), sizeof(*m), MSG_LAME_DUCK_INFO);
	nd_actor_send(client, m);
}

void nd_client_send_close(nd_actor_t *client, nd_client_close_t why)
{
	close_msg_t *m = nd_msg_alloc(nd_actor_runtime(client), sizeof(*m), MSG_CLOSE);
	m->why = why;
	nd_actor_send(client, &m->hdr);
}
