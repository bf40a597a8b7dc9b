/* Per-worker delivery: match cache, local deliveries, per-destination-worker envelopes, the
 * router actor that unpacks them, and the once-per-pass flush. */
#include "actors/delivery.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/actor.h"
#include "runtime/log.h"
#include "runtime/timer.h"
#include "runtime/worker.h"

#define READ_BUFFER (64 * 1024)
#define CACHE_ENTRIES 1024               /* direct-mapped match cache per worker */
#define ENVELOPE_SEND_EARLY (256 * 1024) /* send an envelope mid-pass past this size */
#define SPARE_BUFFERS 8                  /* envelope buffers a worker keeps for reuse */

enum { MSG_ENVELOPE = 1 };

#define INFLIGHT_HIGH (16 * 1024 * 1024) /* pause publishers past this many unrouted bytes */
#define INFLIGHT_LOW (4 * 1024 * 1024)   /* resume them under this */
#define RECHECK_MS 1

/* Envelope bytes from worker src not yet routed by worker dst: src adds, dst subtracts. */
typedef struct inflight {
	_Alignas(64) _Atomic int64_t bytes;
} inflight_t;

struct nd_delivery_shared {
	nd_runtime_t *rt;
	unsigned nworkers;
	unsigned slot; /* nd_worker_ext slot */
	nd_actor_t **routers;
	inflight_t *inflight; /* [src * nworkers + dst] */
};

/* One message in an envelope, followed by its strings and payload, then nsubs sub_ref_t. */
typedef struct rec {
	uint32_t len; /* whole record, 8-aligned */
	uint32_t nsubs;
	uint32_t subject_len, reply_len, size_tok_len, hdr_tok_len;
	int64_t hdr, size;
	uint32_t subs_off;
	uint32_t pad;
} rec_t;

typedef struct sub_ref {
	nd_sub_t *sub;
	uint32_t gen;
	uint32_t pad;
} sub_ref_t;

typedef struct stage {
	char *buf;
	size_t len, cap;
	size_t rec;       /* offset of the record being filled */
	uint64_t rec_pub; /* publish it belongs to */
} stage_t;

typedef struct cache_entry {
	nd_account_t *acc;
	uint64_t gen;
	char *subject;
	size_t len, cap;
	bool valid;
	nd_match_t m;
} cache_entry_t;

/* An envelope buffer on its way home: the router gives it back to the worker that filled it,
 * so envelope memory is reused instead of being freed on one thread and allocated on another
 * (which cost page faults in perf). The link lives in the buffer's first bytes. */
typedef struct spare {
	struct spare *next;
	size_t cap;
} spare_t;

struct nd_delivery {
	_Alignas(64) _Atomic(spare_t *) returned; /* pushed by other workers' routers */
	_Alignas(64) spare_t *spares;             /* owner only */
	unsigned nspares;
	nd_delivery_shared_t *sh;
	nd_worker_t *w;
	unsigned index;
	nd_dest_t *dirty;  /* destinations to flush this pass */
	nd_dest_t *paused; /* destinations that stopped reading for flow control */
	stage_t *stage;    /* [nworkers] */
	uint64_t pub_seq;
	uint64_t rng;
	nd_sub_t **targets; /* this message's remote subscriptions on this worker */
	size_t ntargets, cap_targets;
	cache_entry_t cache[CACHE_ENTRIES];
	char rbuf[READ_BUFFER];
};

typedef struct envelope {
	nd_msg_t hdr;
	char *buf;
	size_t len, cap;
	unsigned origin;
} envelope_t;

static size_t align8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

static uint64_t hash_bytes(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ull;
	}
	return h;
}

nd_delivery_t *nd_delivery_current(nd_delivery_shared_t *sh)
{
	return nd_worker_ext(nd_worker_current(), sh->slot);
}

char *nd_delivery_read_buffer(nd_delivery_t *d, size_t *size)
{
	*size = sizeof(d->rbuf);
	return d->rbuf;
}

unsigned nd_delivery_worker_index(const nd_delivery_t *d)
{
	return d->index;
}

uint64_t nd_delivery_random(nd_delivery_t *d)
{
	/* xorshift64*: fast, per worker, no shared state. */
	uint64_t x = d->rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	d->rng = x;
	return x * 2685821657736338717ull;
}

/* ---- match cache ---- */

const nd_match_t *nd_delivery_match(nd_delivery_t *d, nd_account_t *acc, const char *subject,
				    size_t len)
{
	static const nd_match_t nothing; /* an empty subject matches no subscription */
	if (len == 0)
		return &nothing;
	uint64_t h = hash_bytes(subject, len) ^ (uint64_t)(uintptr_t)acc;
	cache_entry_t *e = &d->cache[h & (CACHE_ENTRIES - 1)];
	/* Read the generation before matching: a change that races the match leaves an older
	 * generation in the entry, so the next lookup matches again. */
	uint64_t gen = nd_sublist_generation(acc->sl);
	if (e->valid && e->acc == acc && e->gen == gen && e->len == len &&
	    memcmp(e->subject, subject, len) == 0)
		return &e->m;
	nd_sublist_match(acc->sl, subject, len, &e->m);
	if (e->cap < len) {
		free(e->subject);
		e->cap = len < 64 ? 64 : len;
		e->subject = malloc(e->cap);
		if (e->subject == NULL)
			abort();
	}
	memcpy(e->subject, subject, len);
	e->len = len;
	e->acc = acc;
	e->gen = gen;
	e->valid = true;
	return &e->m;
}

/* ---- dirty destinations ---- */

void nd_delivery_mark_dirty(nd_delivery_t *d, nd_dest_t *dest)
{
	if (dest->dirty)
		return;
	dest->dirty = true;
	dest->dirty_next = d->dirty;
	d->dirty = dest;
}

void nd_delivery_unmark_dirty(nd_delivery_t *d, nd_dest_t *dest)
{
	if (!dest->dirty)
		return;
	for (nd_dest_t **p = &d->dirty; *p != NULL; p = &(*p)->dirty_next) {
		if (*p == dest) {
			*p = dest->dirty_next;
			break;
		}
	}
	dest->dirty = false;
	dest->dirty_next = NULL;
}

static void flush_dirty(nd_delivery_t *d)
{
	/* Destinations marked while flushing (a flush that writes an error, say) go to the next
	 * pass's list. */
	nd_dest_t *list = d->dirty;
	d->dirty = NULL;
	while (list != NULL) {
		nd_dest_t *dest = list;
		list = dest->dirty_next;
		dest->dirty = false;
		dest->dirty_next = NULL;
		dest->ops->flush(dest);
	}
}

/* ---- envelopes ---- */

/* Takes back the buffers routers returned and keeps a few for reuse. */
static void take_returned(nd_delivery_t *d)
{
	/* relaxed pre-check; acquire exchange pairs with the routers' release CAS. */
	if (atomic_load_explicit(&d->returned, memory_order_relaxed) == NULL)
		return;
	spare_t *list = atomic_exchange_explicit(&d->returned, NULL, memory_order_acquire);
	while (list != NULL) {
		spare_t *next = list->next;
		if (d->nspares < SPARE_BUFFERS) {
			list->next = d->spares;
			d->spares = list;
			d->nspares++;
		} else {
			free(list);
		}
		list = next;
	}
}

static void give_back(nd_delivery_t *home, char *buf, size_t cap)
{
	spare_t *s = (spare_t *)(void *)buf;
	s->cap = cap;
	spare_t *top = atomic_load_explicit(&home->returned, memory_order_relaxed);
	do {
		s->next = top;
		/* release: the buffer's link is written before the owner can take it. */
	} while (!atomic_compare_exchange_weak_explicit(
	    &home->returned, &top, s, memory_order_release, memory_order_relaxed));
}

static void stage_reserve(nd_delivery_t *d, stage_t *s, size_t more)
{
	if (s->len + more <= s->cap)
		return;
	if (s->buf == NULL && d->spares != NULL && d->spares->cap >= more) {
		spare_t *sp = d->spares;
		d->spares = sp->next;
		d->nspares--;
		s->buf = (char *)sp;
		s->cap = sp->cap;
		return;
	}
	size_t cap = s->cap ? s->cap : 65536;
	while (cap < s->len + more)
		cap *= 2;
	char *b = realloc(s->buf, cap);
	if (b == NULL)
		abort();
	s->buf = b;
	s->cap = cap;
}

static void envelope_dtor(nd_msg_t *m)
{
	free(((envelope_t *)m)->buf);
}

static void send_stage(nd_delivery_t *d, unsigned dst)
{
	stage_t *s = &d->stage[dst];
	if (s->len == 0)
		return;
	envelope_t *e = nd_msg_alloc(d->sh->rt, sizeof(*e), MSG_ENVELOPE);
	e->buf = s->buf;
	e->len = s->len;
	e->cap = s->cap;
	e->origin = d->index;
	e->hdr.weight = (uint32_t)(s->len > UINT32_MAX ? UINT32_MAX : s->len);
	e->hdr.dtor = envelope_dtor;
	/* relaxed: a byte count; the envelope itself travels through the mailbox. */
	atomic_fetch_add_explicit(&d->sh->inflight[d->index * d->sh->nworkers + dst].bytes,
				  (int64_t)s->len, memory_order_relaxed);
	s->buf = NULL;
	s->len = s->cap = 0;
	s->rec_pub = 0;
	nd_actor_send(d->sh->routers[dst], &e->hdr);
}

bool nd_delivery_over_budget(nd_delivery_t *d)
{
	const inflight_t *row = &d->sh->inflight[d->index * d->sh->nworkers];
	for (unsigned i = 0; i < d->sh->nworkers; i++)
		if (atomic_load_explicit(&row[i].bytes, memory_order_relaxed) > INFLIGHT_HIGH)
			return true;
	return false;
}

static bool under_low_mark(nd_delivery_t *d)
{
	const inflight_t *row = &d->sh->inflight[d->index * d->sh->nworkers];
	for (unsigned i = 0; i < d->sh->nworkers; i++)
		if (atomic_load_explicit(&row[i].bytes, memory_order_relaxed) > INFLIGHT_LOW)
			return false;
	return true;
}

void nd_delivery_pause(nd_delivery_t *d, nd_dest_t *dest)
{
	if (dest->paused)
		return;
	if (d->paused == NULL)
		nd_log_debug(
		    "worker %u: other workers are more than %d MiB behind; pausing publishers",
		    d->index, INFLIGHT_HIGH >> 20);
	dest->paused = true;
	dest->paused_next = d->paused;
	d->paused = dest;
}

void nd_delivery_unpause(nd_delivery_t *d, nd_dest_t *dest)
{
	if (!dest->paused)
		return;
	for (nd_dest_t **p = &d->paused; *p != NULL; p = &(*p)->paused_next) {
		if (*p == dest) {
			*p = dest->paused_next;
			break;
		}
	}
	dest->paused = false;
	dest->paused_next = NULL;
}

static void put(char *base, size_t *at, const char *p, size_t n)
{
	if (n > 0)
		memcpy(base + *at, p, n);
	*at += n;
}

/* Adds (sub, gen) for message m to the envelope for worker dst, writing the message itself
 * the first time this publish touches that envelope. */
static void stage(nd_delivery_t *d, unsigned dst, nd_sub_t *sub, const nd_pubmsg_t *m)
{
	stage_t *s = &d->stage[dst];
	if (s->rec_pub != d->pub_seq || s->len == 0) {
		size_t body = (size_t)m->subject_len + m->reply_len + m->size_tok_len +
			      m->hdr_tok_len + (size_t)m->size;
		size_t need = align8(sizeof(rec_t) + body);
		stage_reserve(d, s, need + sizeof(sub_ref_t));
		s->rec = s->len;
		rec_t *r = (rec_t *)(s->buf + s->rec);
		r->nsubs = 0;
		r->subject_len = m->subject_len;
		r->reply_len = m->reply_len;
		r->size_tok_len = m->size_tok_len;
		r->hdr_tok_len = m->hdr_tok_len;
		r->hdr = m->hdr;
		r->size = m->size;
		r->subs_off = (uint32_t)need;
		r->len = (uint32_t)need;
		size_t at = s->rec + sizeof(rec_t);
		put(s->buf, &at, m->subject, m->subject_len);
		put(s->buf, &at, m->reply, m->reply_len);
		put(s->buf, &at, m->size_tok, m->size_tok_len);
		put(s->buf, &at, m->hdr_tok, m->hdr_tok_len);
		put(s->buf, &at, m->payload, (size_t)m->size);
		s->len += need;
		s->rec_pub = d->pub_seq;
	}
	stage_reserve(d, s, sizeof(sub_ref_t));
	sub_ref_t *ref = (sub_ref_t *)(s->buf + s->len);
	ref->sub = sub;
	/* relaxed: an identity check done later by the sub's home worker. */
	ref->gen = atomic_load_explicit(&sub->gen, memory_order_relaxed);
	ref->pad = 0;
	s->len += sizeof(sub_ref_t);
	rec_t *r = (rec_t *)(s->buf + s->rec);
	r->nsubs++;
	r->len += (uint32_t)sizeof(sub_ref_t);
}

/* ---- peer links ---- */

/* Collects a remote subscription of this worker for the message being delivered: a peer link
 * forwards each message once, however many of its subscriptions matched. */
static void add_target(nd_delivery_t *d, nd_sub_t *s)
{
	if (d->ntargets == d->cap_targets) {
		d->cap_targets = d->cap_targets ? d->cap_targets * 2 : 16;
		d->targets = realloc(d->targets, d->cap_targets * sizeof(*d->targets));
		if (d->targets == NULL)
			abort();
	}
	d->targets[d->ntargets++] = s;
}

/* Hands each peer link its collected subscriptions (grouped in place by owner). */
static void send_targets(nd_delivery_t *d, const nd_pubmsg_t *m)
{
	size_t n = d->ntargets;
	nd_sub_t **t = d->targets;
	for (size_t i = 0; i < n;) {
		nd_dest_t *owner = t[i]->owner;
		size_t end = i + 1;
		for (size_t j = i + 1; j < n; j++) {
			if (t[j]->owner == owner) {
				nd_sub_t *x = t[end];
				t[end++] = t[j];
				t[j] = x;
			}
		}
		owner->ops->deliver_remote(owner, m, t + i, end - i);
		i = end;
	}
	d->ntargets = 0;
}

/* A remote subscription matched: collect it here or send it to its link's worker. */
static void to_peer(nd_delivery_t *d, nd_sub_t *s, const nd_pubmsg_t *m)
{
	if (s->home == d->index)
		add_target(d, s);
	else
		stage(d, s->home, s, m);
}

/* True if the group's name is among the space-separated names of a routed message. */
static bool queue_listed(const nd_qgroup_t *g, const char *list, size_t len)
{
	size_t i = 0;
	while (i < len) {
		while (i < len && (list[i] == ' ' || list[i] == '\t'))
			i++;
		size_t start = i;
		while (i < len && list[i] != ' ' && list[i] != '\t')
			i++;
		if (i > start && i - start == g->name_len &&
		    memcmp(list + start, g->name, g->name_len) == 0)
			return true;
	}
	return false;
}

static void route_envelope(nd_delivery_t *d, const char *buf, size_t len)
{
	size_t off = 0;
	while (off < len) {
		const rec_t *r = (const rec_t *)(buf + off);
		const char *p = buf + off + sizeof(rec_t);
		nd_pubmsg_t m;
		m.subject = p;
		m.subject_len = r->subject_len;
		p += r->subject_len;
		m.reply = p;
		m.reply_len = r->reply_len;
		p += r->reply_len;
		m.size_tok = p;
		m.size_tok_len = r->size_tok_len;
		p += r->size_tok_len;
		m.hdr_tok = p;
		m.hdr_tok_len = r->hdr_tok_len;
		p += r->hdr_tok_len;
		m.payload = p;
		m.hdr = r->hdr;
		m.size = r->size;
		const sub_ref_t *refs = (const sub_ref_t *)(buf + off + r->subs_off);
		for (uint32_t i = 0; i < r->nsubs; i++) {
			nd_sub_t *s = refs[i].sub;
			assert(s->home == d->index);
			/* Same subscription, still alive: both only change on this worker. */
			if (atomic_load_explicit(&s->gen, memory_order_relaxed) != refs[i].gen ||
			    !s->alive)
				continue;
			if (s->remote)
				add_target(d, s);
			else
				s->owner->ops->deliver(s->owner, s, &m);
		}
		send_targets(d, &m);
		off += r->len;
	}
}

/* ---- publishing ---- */

static bool deliver_local(nd_sub_t *s, const nd_pubmsg_t *m, const nd_dest_t *origin, bool echo)
{
	if (!s->alive)
		return false;
	if (!echo && s->owner == origin)
		return false;
	return s->owner->ops->deliver(s->owner, s, m);
}

/* The publish path for both kinds of source. A client's message (routed false) goes to every
 * local subscription, to one member of each queue group (a local one if any takes it, else a
 * remote one chosen by weight), and once to each peer link with interest. A message from a
 * peer link (routed true) goes only to local subscriptions, one hop as in the reference's full
 * mesh: to plain ones, and to the queue groups the peer named (queues[0..qlen)), if any. */
static size_t publish(nd_delivery_t *d, const nd_match_t *r, const nd_pubmsg_t *m,
		      const nd_dest_t *origin, bool echo, bool routed, const char *queues,
		      size_t qlen)
{
	d->pub_seq++;
	size_t delivered = 0;
	for (size_t i = 0; i < r->np; i++) {
		nd_sub_t *s = r->psubs[i];
		if (s->remote) {
			if (!routed) {
				to_peer(d, s, m);
				delivered++;
			}
		} else if (s->home == d->index) {
			delivered += deliver_local(s, m, origin, echo);
		} else {
			stage(d, s->home, s, m);
			delivered++;
		}
	}
	for (size_t g = 0; g < r->ng; g++) {
		const nd_qgroup_t *grp = &r->groups[g];
		if (routed && (qlen == 0 || !queue_listed(grp, queues, qlen)))
			continue;
		/* Random start, then ring order until one member takes it (the reference's way);
		 * remote members only if no local one does, picked in proportion to weight. */
		uint32_t start = (uint32_t)(nd_delivery_random(d) % grp->n);
		nd_sub_t *remote = NULL;
		uint64_t remote_weight = 0;
		bool done = false;
		for (uint32_t k = 0; k < grp->n && !done; k++) {
			nd_sub_t *s = grp->members[(start + k) % grp->n];
			if (s->remote) {
				uint32_t w = atomic_load_explicit(&s->weight, memory_order_relaxed);
				w = w ? w : 1;
				remote_weight += w;
				if (!routed && nd_delivery_random(d) % remote_weight < w)
					remote = s;
			} else if (s->home == d->index) {
				done = deliver_local(s, m, origin, echo);
			} else {
				stage(d, s->home, s, m);
				done = true;
			}
		}
		if (done || remote != NULL)
			delivered++;
		if (!done && remote != NULL)
			to_peer(d, remote, m);
	}
	if (d->ntargets > 0)
		send_targets(d, m);
	for (unsigned w = 0; w < d->sh->nworkers; w++)
		if (d->stage[w].len > ENVELOPE_SEND_EARLY)
			send_stage(d, w);
	return delivered;
}

size_t nd_delivery_publish(nd_delivery_t *d, const nd_match_t *r, const nd_pubmsg_t *m,
			   const nd_dest_t *origin, bool echo)
{
	return publish(d, r, m, origin, echo, false, NULL, 0);
}

size_t nd_delivery_publish_routed(nd_delivery_t *d, const nd_match_t *r, const nd_pubmsg_t *m,
				  const char *queues, size_t qlen)
{
	return publish(d, r, m, NULL, true, true, queues, qlen);
}

/* ---- router actor ---- */

typedef struct router {
	nd_delivery_shared_t *sh;
	nd_timer_t recheck; /* wakes the worker to look at paused publishers again */
	bool started;
} router_t;

static void router_on_message(nd_actor_t *self, nd_msg_t *msg)
{
	router_t *rt = nd_actor_state(self);
	if (msg->type == MSG_ENVELOPE) {
		envelope_t *e = (envelope_t *)msg;
		nd_delivery_t *d = nd_delivery_current(rt->sh);
		route_envelope(d, e->buf, e->len);
		atomic_fetch_sub_explicit(
		    &rt->sh->inflight[e->origin * rt->sh->nworkers + d->index].bytes,
		    (int64_t)e->len, memory_order_relaxed);
		give_back(nd_worker_ext(nd_runtime_worker(rt->sh->rt, e->origin), rt->sh->slot),
			  e->buf, e->cap);
		e->buf = NULL; /* the dtor frees only buffers that never made it back */
	}
	nd_msg_free(msg);
}

static void router_recheck(nd_actor_t *self, nd_timer_t *t)
{
	(void)self; /* the pass that follows this wake-up re-checks the paused publishers */
}

static void router_start(nd_actor_t *self)
{
	router_t *rt = nd_actor_state(self);
	nd_timer_init(&rt->recheck, self, router_recheck);
	rt->started = true;
}

static void router_stop(nd_actor_t *self)
{
	router_t *rt = nd_actor_state(self);
	nd_timer_stop(&rt->recheck);
	rt->started = false;
}

static const nd_actor_class_t router_class = {.name = "router",
					      .on_start = router_start,
					      .on_message = router_on_message,
					      .on_stop = router_stop};

/* Resumes paused publishers once the other workers caught up, or looks again in a moment. */
static void check_paused(nd_delivery_t *d)
{
	if (d->paused == NULL)
		return;
	if (under_low_mark(d)) {
		nd_dest_t *list = d->paused;
		d->paused = NULL;
		while (list != NULL) {
			nd_dest_t *dest = list;
			list = dest->paused_next;
			dest->paused = false;
			dest->paused_next = NULL;
			dest->ops->resume(dest);
		}
		return;
	}
	router_t *rt = nd_actor_state(d->sh->routers[d->index]);
	if (rt->started && !nd_timer_active(&rt->recheck))
		nd_timer_start(&rt->recheck, RECHECK_MS);
}

/* ---- hooks ---- */

static void *delivery_init(nd_worker_t *w, void *arg)
{
	nd_delivery_shared_t *sh = arg;
	nd_delivery_t *d = aligned_alloc(64, (sizeof(*d) + 63) & ~(size_t)63);
	if (d == NULL)
		abort();
	memset(d, 0, sizeof(*d));
	atomic_init(&d->returned, NULL);
	d->sh = sh;
	d->w = w;
	d->index = nd_worker_index(w);
	d->stage = calloc(sh->nworkers, sizeof(stage_t));
	if (d->stage == NULL)
		abort();
	d->rng = 0x9E3779B97F4A7C15ull ^ ((uint64_t)(uintptr_t)d << 1) ^ d->index;
	for (int i = 0; i < CACHE_ENTRIES; i++)
		nd_match_init(&d->cache[i].m);
	return d;
}

static void delivery_pass_end(nd_worker_t *w, void *ext)
{
	nd_delivery_t *d = ext;
	for (unsigned i = 0; i < d->sh->nworkers; i++)
		send_stage(d, i);
	flush_dirty(d);
	take_returned(d);
	check_paused(d);
}

static void delivery_fini(nd_worker_t *w, void *ext)
{
	nd_delivery_t *d = ext;
	for (unsigned i = 0; i < d->sh->nworkers; i++)
		free(d->stage[i].buf);
	take_returned(d);
	while (d->spares != NULL) {
		spare_t *next = d->spares->next;
		free(d->spares);
		d->spares = next;
	}
	free(d->stage);
	free(d->targets);
	for (int i = 0; i < CACHE_ENTRIES; i++) {
		nd_match_deinit(&d->cache[i].m);
		free(d->cache[i].subject);
	}
	free(d);
}

nd_delivery_shared_t *nd_delivery_install(nd_runtime_t *rt)
{
	nd_delivery_shared_t *sh = calloc(1, sizeof(*sh));
	if (sh == NULL)
		abort();
	sh->rt = rt;
	sh->nworkers = nd_runtime_worker_count(rt);
	sh->routers = calloc(sh->nworkers, sizeof(nd_actor_t *));
	sh->inflight = aligned_alloc(64, sizeof(inflight_t) * sh->nworkers * sh->nworkers);
	if (sh->routers == NULL || sh->inflight == NULL)
		abort();
	for (unsigned i = 0; i < sh->nworkers * sh->nworkers; i++)
		atomic_init(&sh->inflight[i].bytes, 0);
	static const nd_worker_hooks_t hooks = {
	    .init = delivery_init, .pass_end = delivery_pass_end, .fini = delivery_fini};
	if (nd_runtime_add_hooks(rt, &hooks, sh, &sh->slot) != 0)
		abort();
	for (unsigned i = 0; i < sh->nworkers; i++) {
		nd_actor_t *a =
		    nd_actor_create(rt, &router_class, sizeof(router_t), nd_runtime_worker(rt, i));
		((router_t *)nd_actor_state(a))->sh = sh;
		nd_actor_start(a);
		sh->routers[i] = a;
	}
	return sh;
}

void nd_delivery_uninstall(nd_delivery_shared_t *sh)
{
	if (sh == NULL)
		return;
	for (unsigned i = 0; i < sh->nworkers; i++)
		nd_actor_unref(sh->routers[i]);
	free(sh->routers);
	free(sh->inflight);
	free(sh);
}
