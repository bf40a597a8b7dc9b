/* Client connections. Behaviour follows the reference server (server/client.go) where clients
 * can see it: which errors are sent, which close, what order replies come in (see
 * docs/compatibility.md for the few places we differ). Runs entirely on its home worker. */
#include "actors/client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "actors/delivery.h"
#include "actors/outbuf.h"
#include "protocol/connect.h"
#include "protocol/headers.h"
#include "protocol/parser.h"
#include "protocol/subject.h"
#include "runtime/actor.h"
#include "runtime/io.h"
#include "runtime/log.h"
#include "runtime/pool.h"
#include "runtime/timer.h"

#define FIRST_PING_MS 2000 /* the first PING after CONNECT, as in the reference */
#define SYS_QUEUE "_sys_"

typedef struct nd_client {
	nd_dest_t dest; /* first: a client is a destination */
	nd_server_t *srv;
	const nd_opts_t *o;
	nd_delivery_t *d;
	nd_account_t *acc;
	nd_actor_t *self;
	int fd;
	nd_io_t io;
	uint64_t cid;
	char ip[INET6_ADDRSTRLEN];
	int port;
	char tag[96]; /* "ip:port - cid:N" for log lines */

	nd_parser_t parser;
	nd_connect_opts_t opts;
	bool connect_received;
	bool headers;          /* client asked for them and the server supports them */
	bool bad_pub_line;     /* the PUB line just reported had an invalid subject (pedantic) */
	bool pub_line_in_read; /* ... and it arrived in the read being processed */

	nd_sub_t **sids; /* sid -> sub, chained through sub->sid_next */
	uint32_t sid_cap, nsubs;

	nd_outbuf_t out;
	bool closing;
	bool close_after_flush;
	bool write_armed; /* waiting for the socket to take more */
	bool read_paused; /* flow control: other workers are behind on this worker's envelopes */
	const char *close_reason;

	nd_timer_t ping_timer, write_timer;
	int pings_out;
	bool ping_forced;
	uint64_t last_activity_ms;

	uint64_t in_msgs, in_bytes, out_msgs, out_bytes;
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
	char line[512];
	int n = snprintf(line, sizeof(line), "-ERR '%s'\r\n", text);
	out_raw(c, line, n < 0 ? 0 : (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

/* The socket events the client wants: reading unless closing or paused, writing while output
 * is blocked. */
static void update_io(nd_client_t *c)
{
	int ev = 0;
	if (!c->closing && !c->read_paused)
		ev |= ND_IO_READ;
	if (c->write_armed)
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
	c->last_activity_ms = nd_worker_now_ms(nd_actor_home(c->self));
	nd_delivery_mark_dirty(c->d, &c->dest);
	if (last)
		remove_sub(c, sub);
	return true;
}

static void client_flush(nd_dest_t *dst)
{
	nd_client_t *c = (nd_client_t *)dst;
	if (c->fd < 0)
		return;
	ssize_t w = nd_outbuf_write(&c->out, c->fd);
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

static void pub_violation(nd_client_t *c, const char *what, const char *s, size_t n)
{
	char text[400];
	snprintf(text, sizeof(text), "Permissions Violation for %s \"%.*s\"", what,
		 (int)(n > 300 ? 300 : n), s);
	send_err(c, text);
	nd_log_error("%s - %s", c->tag, text);
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
	c->last_activity_ms = nd_worker_now_ms(nd_actor_home(c->self));
	if (has_prefix(op->subject.p, op->subject.n, "_GR_.")) {
		pub_violation(c, "Publish to", op->subject.p, op->subject.n);
		return;
	}
	if (op->reply.n > 0 && (has_prefix_4(op->reply.p, op->reply.n, "_R_.") ||
				has_prefix(op->reply.p, op->reply.n, "$JS.ACK.") ||
				has_prefix(op->reply.p, op->reply.n, "_GR_."))) {
		pub_violation(c, "Publish with Reply of", op->reply.p, op->reply.n);
		return;
	}
	if (c->opts.verbose)
		out_str(c, "+OK\r\n");
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

static void process_sub(nd_client_t *c, const nd_op_t *op)
{
	c->last_activity_ms = nd_worker_now_ms(nd_actor_home(c->self));
	if (op->queue.n == sizeof(SYS_QUEUE) - 1 &&
	    memcmp(op->queue.p, SYS_QUEUE, op->queue.n) == 0) {
		char text[400];
		snprintf(text, sizeof(text),
			 "Permissions Violation for Subscription to \"%.*s\" using queue \"%s\"",
			 (int)(op->subject.n > 300 ? 300 : op->subject.n), op->subject.p,
			 SYS_QUEUE);
		send_err(c, text);
		nd_log_error("%s - %s", c->tag, text);
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
			out_str(c, "+OK\r\n");
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
	sid_insert(c, s);
	if (c->opts.verbose)
		out_str(c, "+OK\r\n");
}

static void process_unsub(nd_client_t *c, const nd_op_t *op)
{
	c->last_activity_ms = nd_worker_now_ms(nd_actor_home(c->self));
	nd_sub_t *s = sid_find(c, op->sid.p, op->sid.n);
	if (s != NULL) {
		if (op->max_msgs > 0 && op->max_msgs > s->delivered)
			s->max = op->max_msgs;
		else
			remove_sub(c, s);
	}
	if (c->opts.verbose)
		out_str(c, "+OK\r\n");
}

static void start_first_ping(nd_client_t *c)
{
	uint64_t base =
	    c->o->ping_interval_ms < FIRST_PING_MS ? c->o->ping_interval_ms : FIRST_PING_MS;
	uint64_t jitter = base / 5 > 0 ? nd_delivery_random(c->d) % (base / 5) : 0;
	c->ping_forced = true;
	nd_timer_start(&c->ping_timer, base + jitter);
}

/* Returns false if the connection is closing. */
static bool process_connect(nd_client_t *c, const nd_op_t *op)
{
	char err[256];
	if (nd_connect_decode(&c->opts, op->arg.p, op->arg.n, err, sizeof(err)) != 0) {
		nd_log_error("%s - %s", c->tag, err);
		client_close(c, "Protocol Violation", true);
		return false;
	}
	c->connect_received = true;
	start_first_ping(c);
	if ((c->opts.account != NULL && c->opts.account[0] != '\0') || c->opts.new_account) {
		send_err(c, "Authorization Violation");
		nd_log_error("%s - authentication error", c->tag);
		client_close(c, "Authentication Failure", true);
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
		out_str(c, "+OK\r\n");
	return true;
}

/* Returns false if the connection is closing. */
static bool handle_op(nd_client_t *c, const nd_op_t *op)
{
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
		out_str(c, "PONG\r\n");
		return true;
	case ND_OP_PONG:
		c->pings_out = 0;
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
		nd_log_error("%s - maximum payload exceeded", c->tag);
		client_close(c, "Maximum Message Payload Exceeded", true);
		break;
	case ND_PERR_AUTH:
		send_err(c, "Authorization Violation");
		client_close(c, "Authentication Failure", true);
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

static void read_some(nd_client_t *c)
{
	size_t cap;
	char *buf = nd_delivery_read_buffer(c->d, &cap);
	ssize_t n = read(c->fd, buf, cap);
	if (n > 0) {
		process_input(c, buf, (size_t)n);
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

static void on_io(nd_actor_t *self, nd_io_t *io, int events)
{
	nd_client_t *c = nd_actor_state(self);
	if (events & ND_IO_WRITE)
		client_flush(&c->dest);
	if ((events & ND_IO_READ) && !c->closing)
		read_some(c);
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
	client_close(c, "Slow Consumer (Write Deadline)", false);
}

/* ---- lifecycle ---- */

static void client_start(nd_actor_t *self)
{
	nd_client_t *c = nd_actor_state(self);
	c->self = self;
	c->d = nd_delivery_current(nd_server_delivery(c->srv));
	c->acc = nd_server_global_account(c->srv);
	c->dest.ops = &client_ops;
	nd_parser_init(&c->parser);
	nd_parser_set_limits(&c->parser, c->o->max_control_line, c->o->max_payload);
	nd_connect_opts_init(&c->opts);
	nd_parser_set_report_lines(&c->parser, c->opts.pedantic); /* pedantic until CONNECT says */
	nd_outbuf_init(&c->out);
	nd_timer_init(&c->ping_timer, self, on_ping_timer);
	nd_timer_init(&c->write_timer, self, on_write_timer);
	c->last_activity_ms = nd_worker_now_ms(nd_actor_home(self));
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	nd_io_init(&c->io, self, c->fd, on_io);
	update_io(c);
	nd_log_debug("%s - Client connection created", c->tag);
	size_t len;
	char *info = nd_server_client_info(c->srv, c->cid, c->ip, &len);
	out_raw(c, info, len);
	free(info);
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
	nd_delivery_unmark_dirty(c->d, &c->dest);
	nd_delivery_unpause(c->d, &c->dest);
	nd_log_debug("%s - socket closed (%zu bytes unsent)", c->tag, nd_outbuf_pending(&c->out));
	close(c->fd);
	c->fd = -1;
	nd_outbuf_clear(&c->out);
	nd_parser_deinit(&c->parser);
	nd_connect_opts_deinit(&c->opts);
	free(c->sids);
	c->sids = NULL;
	c->sid_cap = 0;
	nd_server_client_gone(c->srv);
}

/* A client whose runtime shut down before its first turn never ran client_stop. */
static void client_free(nd_actor_t *self)
{
	nd_client_t *c = nd_actor_state(self);
	if (c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
		nd_server_client_gone(c->srv);
	}
}

static void client_message(nd_actor_t *self, nd_msg_t *msg)
{
	nd_msg_free(msg); /* no messages defined yet */
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
	c->o = nd_server_opts(s);
	c->fd = fd;
	c->cid = cid;
	if (peer->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)peer;
		inet_ntop(AF_INET6, &in6->sin6_addr, c->ip, sizeof(c->ip));
		c->port = ntohs(in6->sin6_port);
	} else {
		const struct sockaddr_in *in4 = (const struct sockaddr_in *)peer;
		inet_ntop(AF_INET, &in4->sin_addr, c->ip, sizeof(c->ip));
		c->port = ntohs(in4->sin_port);
	}
	snprintf(c->tag, sizeof(c->tag), "%s:%d - cid:%llu", c->ip, c->port,
		 (unsigned long long)cid);
	nd_actor_start(a);
	nd_actor_unref(a); /* the runtime keeps it until it stops */
}
