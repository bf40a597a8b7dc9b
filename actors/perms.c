/* Permission sets. Entries are few in real configurations (a handful to a few dozen), so each
 * list is scanned linearly with the token matcher; a literal entry is compared first by length.
 * The reference builds small sublists instead; the results are the same because its Match
 * treats a subscribe subject's wildcards as literal tokens, exactly as nd_subject_matches. */
#include "actors/perms.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/subject.h"

#define REPLY_LIMIT 4096 /* the reference's replyPermLimit */

/* A parsed entry: subject and, for "subject queue" entries, the queue group. */
typedef struct entry {
	char *subject;
	size_t n;
	char *queue; /* NULL: plain */
	size_t qn;
	bool literal;
} entry_t;

typedef struct list {
	entry_t *e;
	size_t n;
	bool present; /* the reference's non-nil sublist */
} list_t;

struct nd_perms {
	atomic_int refs;
	nd_subject_perm_t pub_conf, sub_conf; /* as configured, for comparisons */
	bool has_pub_conf, has_sub_conf;
	list_t pub_allow, pub_deny, sub_allow, sub_deny;
	list_t deny_filter; /* the subscribe deny entries, whole, for delivery filtering */
	nd_resp_perm_t resp;
	bool has_resp;
};

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (p == NULL)
		abort();
	return p;
}

static char *xstrndup(const char *s, size_t n)
{
	char *d = xmalloc(n + 1);
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* The reference's IsValidSubject: no empty token, nothing after '>', no whitespace. */
static bool valid_perm_subject(const char *s, size_t n)
{
	if (!nd_subject_valid_sub(s, n))
		return false;
	for (size_t i = 0; i < n; i++)
		if (is_space(s[i]))
			return false;
	return true;
}

/* strings.Fields: the whitespace-separated words of s. Returns the count, at most 3 recorded. */
static size_t fields(const char *s, size_t n, const char **w, size_t *wl)
{
	size_t count = 0, i = 0;
	while (i < n) {
		while (i < n && is_space(s[i]))
			i++;
		if (i == n)
			break;
		size_t start = i;
		while (i < n && !is_space(s[i]))
			i++;
		if (count < 3) {
			w[count] = s + start;
			wl[count] = i - start;
		}
		count++;
	}
	return count;
}

const char *nd_perms_check_subject(const char *s, size_t *bad_len)
{
	size_t n = strlen(s);
	if (valid_perm_subject(s, n))
		return NULL;
	const char *w[3];
	size_t wl[3];
	if (fields(s, n, w, wl) != 2) {
		*bad_len = n;
		return s;
	}
	if (!valid_perm_subject(w[0], wl[0])) {
		*bad_len = wl[0];
		return w[0];
	}
	return NULL;
}

static void entry_set(entry_t *e, const char *subject, size_t n, const char *queue, size_t qn)
{
	e->subject = xstrndup(subject, n);
	e->n = n;
	e->queue = queue ? xstrndup(queue, qn) : NULL;
	e->qn = qn;
	e->literal = nd_subject_is_literal(subject, n);
}

/* A list for matching. Subscribe entries may be "subject queue" (the reference's
 * splitSubjectQueue); entries it cannot split are skipped, as the reference logs and skips. */
static void list_build(list_t *l, char *const *subjects, size_t n, bool split_queue)
{
	l->present = true;
	l->e = xmalloc(n * sizeof(entry_t));
	l->n = 0;
	for (size_t i = 0; i < n; i++) {
		const char *s = subjects[i];
		size_t sn = strlen(s);
		if (split_queue) {
			const char *w[3];
			size_t wl[3];
			size_t nf = fields(s, sn, w, wl);
			if (nf == 2) {
				entry_set(&l->e[l->n++], w[0], wl[0], w[1], wl[1]);
				continue;
			}
			if (nf != 1)
				continue;
			entry_set(&l->e[l->n++], w[0], wl[0], NULL, 0);
			continue;
		}
		entry_set(&l->e[l->n++], s, sn, NULL, 0);
	}
}

static void list_free(list_t *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->e[i].subject);
		free(l->e[i].queue);
	}
	free(l->e);
	memset(l, 0, sizeof(*l));
}

static bool entry_matches(const entry_t *e, const char *s, size_t n)
{
	if (e->literal) /* the common case: a plain comparison */
		return e->n == n && memcmp(e->subject, s, n) == 0;
	return nd_subject_matches(e->subject, e->n, s, n);
}

static void conf_copy(nd_subject_perm_t *dst, const nd_subject_perm_t *src)
{
	dst->has_allow = src->has_allow;
	dst->nallow = src->nallow;
	dst->ndeny = src->ndeny;
	dst->allow = xmalloc(src->nallow * sizeof(char *));
	for (size_t i = 0; i < src->nallow; i++)
		dst->allow[i] = xstrndup(src->allow[i], strlen(src->allow[i]));
	dst->deny = xmalloc(src->ndeny * sizeof(char *));
	for (size_t i = 0; i < src->ndeny; i++)
		dst->deny[i] = xstrndup(src->deny[i], strlen(src->deny[i]));
}

static void conf_free(nd_subject_perm_t *p)
{
	for (size_t i = 0; i < p->nallow; i++)
		free(p->allow[i]);
	for (size_t i = 0; i < p->ndeny; i++)
		free(p->deny[i]);
	free(p->allow);
	free(p->deny);
	memset(p, 0, sizeof(*p));
}

nd_perms_t *nd_perms_create(const nd_subject_perm_t *pub, const nd_subject_perm_t *sub,
			    const nd_resp_perm_t *resp)
{
	nd_perms_t *p = calloc(1, sizeof(*p));
	if (p == NULL)
		abort();
	atomic_init(&p->refs, 1);
	nd_subject_perm_t empty = {0};
	if (pub != NULL) {
		p->has_pub_conf = true;
		conf_copy(&p->pub_conf, pub);
	} else if (resp != NULL) {
		p->has_pub_conf = true; /* validateResponsePermissions adds an empty publish side */
		conf_copy(&p->pub_conf, &empty);
	}
	if (resp != NULL) {
		p->has_resp = true;
		p->resp = *resp;
		/* ...and turns the blanket publish allow off. */
		p->pub_conf.has_allow = true;
	}
	if (p->has_pub_conf) {
		if (p->pub_conf.has_allow)
			list_build(&p->pub_allow, p->pub_conf.allow, p->pub_conf.nallow, false);
		if (p->pub_conf.ndeny > 0)
			list_build(&p->pub_deny, p->pub_conf.deny, p->pub_conf.ndeny, false);
	}
	if (sub != NULL) {
		p->has_sub_conf = true;
		conf_copy(&p->sub_conf, sub);
		/* Unlike publish, an empty subscribe allow list means no allow list. */
		if (sub->nallow > 0)
			list_build(&p->sub_allow, sub->allow, sub->nallow, true);
		if (sub->ndeny > 0) {
			list_build(&p->sub_deny, sub->deny, sub->ndeny, true);
			list_build(&p->deny_filter, sub->deny, sub->ndeny, false);
		}
	}
	return p;
}

nd_perms_t *nd_perms_ref(nd_perms_t *p)
{
	if (p != NULL) /* relaxed: taking a reference needs no ordering (we already hold one) */
		atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
	return p;
}

void nd_perms_unref(nd_perms_t *p)
{
	/* acq_rel: the last owner must see every other owner's use finished before freeing. */
	if (p == NULL || atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) != 1)
		return;
	list_free(&p->pub_allow);
	list_free(&p->pub_deny);
	list_free(&p->sub_allow);
	list_free(&p->sub_deny);
	list_free(&p->deny_filter);
	conf_free(&p->pub_conf);
	conf_free(&p->sub_conf);
	free(p);
}

static bool strs_equal(char *const *a, size_t na, char *const *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i], b[i]) != 0)
			return false;
	return true;
}

static bool conf_equal(const nd_subject_perm_t *a, const nd_subject_perm_t *b)
{
	return a->has_allow == b->has_allow &&
	       strs_equal(a->allow, a->nallow, b->allow, b->nallow) &&
	       strs_equal(a->deny, a->ndeny, b->deny, b->ndeny);
}

bool nd_perms_equal(const nd_perms_t *a, const nd_perms_t *b)
{
	if (a == b)
		return true;
	if (a == NULL || b == NULL)
		return false;
	if (a->has_pub_conf != b->has_pub_conf || a->has_sub_conf != b->has_sub_conf ||
	    a->has_resp != b->has_resp)
		return false;
	if (a->has_resp &&
	    (a->resp.max_msgs != b->resp.max_msgs || a->resp.expires_ns != b->resp.expires_ns))
		return false;
	return conf_equal(&a->pub_conf, &b->pub_conf) && conf_equal(&a->sub_conf, &b->sub_conf);
}

static size_t count_plain(const list_t *l, const char *s, size_t n)
{
	size_t c = 0;
	for (size_t i = 0; i < l->n; i++)
		if (l->e[i].queue == NULL && entry_matches(&l->e[i], s, n))
			c++;
	return c;
}

bool nd_perms_restricts_pub(const nd_perms_t *p)
{
	return p != NULL && (p->pub_allow.present || p->pub_deny.present);
}

bool nd_perms_pub_allowed(const nd_perms_t *p, const char *subject, size_t n)
{
	if (!nd_perms_restricts_pub(p))
		return true;
	bool allowed = true;
	if (p->pub_allow.present)
		allowed = count_plain(&p->pub_allow, subject, n) > 0;
	if (allowed && p->pub_deny.present)
		allowed = count_plain(&p->pub_deny, subject, n) == 0;
	return allowed;
}

static bool has_wildcard(const char *s, size_t n)
{
	return !nd_subject_is_literal(s, n);
}

/* The reference's isSubsetMatchTokenized: is every subject `tokens` can name also named by
 * `test`? Both may hold wildcards. */
static bool subset_match(const char *tokens, size_t tn, const char *test, size_t testn)
{
	const char *ts[64], *ks[64];
	size_t tl[64], kl[64];
	size_t nt = nd_subject_tokenize(test, testn, ts, tl, 64);
	size_t nk = nd_subject_tokenize(tokens, tn, ks, kl, 64);
	if (nt > 64 || nk > 64)
		return false;
	for (size_t i = 0; i < nt; i++) {
		if (i >= nk || tl[i] == 0)
			return false;
		if (tl[i] == 1 && ts[i][0] == '>')
			return true;
		if (kl[i] == 0 || (kl[i] == 1 && ks[i][0] == '>'))
			return false;
		if (kl[i] == 1 && ks[i][0] == '*') {
			if (!(tl[i] == 1 && ts[i][0] == '*'))
				return false;
			continue;
		}
		bool test_pwc = tl[i] == 1 && ts[i][0] == '*';
		if (!test_pwc && (kl[i] != tl[i] || memcmp(ks[i], ts[i], kl[i]) != 0))
			return false;
	}
	return nk == nt;
}

/* The reference's queueMatches over the queue entries of l that match subject. */
static bool queue_matches(const list_t *l, const char *subject, size_t n, const char *q, size_t qn,
			  bool *any)
{
	*any = false;
	for (size_t i = 0; i < l->n; i++) {
		const entry_t *e = &l->e[i];
		if (e->queue == NULL || !entry_matches(e, subject, n))
			continue;
		*any = true;
		if (e->qn == qn && memcmp(e->queue, q, qn) == 0)
			return true;
		if (has_wildcard(e->queue, e->qn) && subset_match(q, qn, e->queue, e->qn))
			return true;
	}
	return false;
}

bool nd_perms_sub_allowed(const nd_perms_t *p, const char *subject, size_t n, const char *queue,
			  size_t qn)
{
	if (p == NULL)
		return true;
	bool allowed = true, any;
	if (p->sub_allow.present) {
		allowed = count_plain(&p->sub_allow, subject, n) > 0;
		if (qn > 0) {
			bool m = queue_matches(&p->sub_allow, subject, n, queue, qn, &any);
			if (any)
				allowed = m; /* the queue appears in the allow list: it decides */
		}
	}
	if (allowed && p->sub_deny.present) {
		allowed = count_plain(&p->sub_deny, subject, n) == 0;
		if (qn > 0) {
			bool m = queue_matches(&p->sub_deny, subject, n, queue, qn, &any);
			if (any)
				allowed = !m;
		}
	}
	return allowed;
}

bool nd_perms_needs_delivery_filter(const nd_perms_t *p, const char *subject, size_t n)
{
	if (p == NULL || !p->deny_filter.present || !has_wildcard(subject, n))
		return false;
	for (size_t i = 0; i < p->deny_filter.n; i++) {
		const entry_t *e = &p->deny_filter.e[i];
		if (subset_match(e->subject, e->n, subject, n))
			return true;
	}
	return false;
}

bool nd_perms_delivery_denied(const nd_perms_t *p, const char *subject, size_t n)
{
	return p != NULL && p->deny_filter.present && count_plain(&p->deny_filter, subject, n) > 0;
}

const nd_resp_perm_t *nd_perms_resp(const nd_perms_t *p)
{
	return p != NULL && p->has_resp ? &p->resp : NULL;
}

const nd_subject_perm_t *nd_perms_pub(const nd_perms_t *p)
{
	return p != NULL && p->has_pub_conf ? &p->pub_conf : NULL;
}

const nd_subject_perm_t *nd_perms_sub(const nd_perms_t *p)
{
	return p != NULL && p->has_sub_conf ? &p->sub_conf : NULL;
}

/* ---- reply tracking: an open-addressing table keyed by the reply subject ---- */

struct nd_reply_slot {
	char *reply; /* NULL: empty; TOMB: deleted */
	size_t n;
	uint64_t hash;
	int64_t t_ns;
	int64_t count;
};

static char tomb_mark;
#define TOMB (&tomb_mark)

static uint64_t hash_bytes(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

void nd_replies_init(nd_replies_t *r)
{
	memset(r, 0, sizeof(*r));
}

void nd_replies_deinit(nd_replies_t *r)
{
	for (uint32_t i = 0; i < r->cap; i++)
		if (r->slots[i].reply != NULL && r->slots[i].reply != TOMB)
			free(r->slots[i].reply);
	free(r->slots);
	memset(r, 0, sizeof(*r));
}

static struct nd_reply_slot *find(nd_replies_t *r, const char *s, size_t n, uint64_t h)
{
	if (r->cap == 0)
		return NULL;
	for (uint32_t i = (uint32_t)h & (r->cap - 1);; i = (i + 1) & (r->cap - 1)) {
		struct nd_reply_slot *sl = &r->slots[i];
		if (sl->reply == NULL)
			return NULL;
		if (sl->reply != TOMB && sl->hash == h && sl->n == n &&
		    memcmp(sl->reply, s, n) == 0)
			return sl;
	}
}

static void slot_delete(nd_replies_t *r, struct nd_reply_slot *sl)
{
	free(sl->reply);
	sl->reply = TOMB;
	r->count--;
	r->tombs++;
}

static bool expired(const nd_resp_perm_t *rp, const struct nd_reply_slot *sl, int64_t now_ns)
{
	return (rp->max_msgs > 0 && sl->count >= rp->max_msgs) ||
	       (rp->expires_ns > 0 && now_ns - sl->t_ns > rp->expires_ns);
}

static void rehash(nd_replies_t *r, uint32_t cap)
{
	struct nd_reply_slot *old = r->slots;
	uint32_t ocap = r->cap;
	r->slots = calloc(cap, sizeof(*r->slots));
	if (r->slots == NULL)
		abort();
	r->cap = cap;
	r->tombs = 0;
	for (uint32_t i = 0; i < ocap; i++) {
		if (old[i].reply == NULL || old[i].reply == TOMB)
			continue;
		uint32_t j = (uint32_t)old[i].hash & (cap - 1);
		while (r->slots[j].reply != NULL)
			j = (j + 1) & (cap - 1);
		r->slots[j] = old[i];
	}
	free(old);
}

void nd_replies_record(nd_replies_t *r, const nd_resp_perm_t *rp, const char *reply, size_t n,
		       int64_t now_ns)
{
	uint64_t h = hash_bytes(reply, n);
	struct nd_reply_slot *sl = find(r, reply, n, h);
	if (sl != NULL) { /* the reference replaces the entry: a fresh allowance */
		sl->t_ns = now_ns;
		sl->count = 0;
		return;
	}
	if (r->count >= REPLY_LIMIT) { /* prune the stale ones (pruneReplyPerms) */
		for (uint32_t i = 0; i < r->cap; i++) {
			struct nd_reply_slot *s = &r->slots[i];
			if (s->reply != NULL && s->reply != TOMB && expired(rp, s, now_ns))
				slot_delete(r, s);
		}
	}
	if ((r->count + r->tombs + 1) * 4 >= r->cap * 3) /* grow, or just sweep the tombstones */
		rehash(r, r->cap == 0 ? 16 : (r->count + 1) * 2 >= r->cap ? r->cap * 2 : r->cap);
	uint32_t i = (uint32_t)h & (r->cap - 1);
	while (r->slots[i].reply != NULL && r->slots[i].reply != TOMB)
		i = (i + 1) & (r->cap - 1);
	if (r->slots[i].reply == TOMB)
		r->tombs--;
	r->slots[i] = (struct nd_reply_slot){
	    .reply = xstrndup(reply, n), .n = n, .hash = h, .t_ns = now_ns, .count = 0};
	r->count++;
}

bool nd_replies_take(nd_replies_t *r, const nd_resp_perm_t *rp, const char *subject, size_t n,
		     int64_t now_ns)
{
	struct nd_reply_slot *sl = find(r, subject, n, hash_bytes(subject, n));
	if (sl == NULL)
		return false;
	sl->count++;
	if ((rp->max_msgs > 0 && sl->count > rp->max_msgs) ||
	    (rp->expires_ns > 0 && now_ns - sl->t_ns > rp->expires_ns)) {
		slot_delete(r, sl);
		return false;
	}
	return true;
}
