/* Subscription trie with lock-free readers.
 *
 * Publication rules (C11, checked by tests/stress/stress_sublist under TSan):
 * - every pointer a reader follows (level table, '*' and '>' children, a node's next level, a
 *   node's subscription arrays, hash slots) is stored with release and loaded with acquire;
 * - a subscription array grows in place while it has room: the item is stored first, then the
 *   count with release, so a reader that loads the count with acquire sees every item below it;
 * - anything removed or replaced is unlinked first and then retired to QSBR, never freed while
 *   a reader may hold it; removals copy the array, so no reader ever sees an item twice.
 * Writers are serialised by a mutex that publishers never take. */
#include "actors/sublist.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/subject.h"

typedef struct level level_t;

typedef struct subarr {
	uint32_t cap;
	_Atomic uint32_t n;
	_Atomic(nd_sub_t *) items[];
} subarr_t;

typedef struct node {
	_Atomic(level_t *) next;
	_Atomic(subarr_t *) psubs;
	_Atomic(subarr_t *) qsubs;
	uint64_t hash;
	uint32_t len;
	char tok[];
} node_t;

typedef struct htab {
	uint32_t mask;
	uint32_t used, tombs; /* writer only */
	_Atomic(node_t *) slots[];
} htab_t;

struct level {
	_Atomic(htab_t *) table;
	_Atomic(node_t *) pwc, fwc;
	uint32_t literals; /* writer only */
};

struct nd_sublist {
	level_t root;
	pthread_mutex_t lock;
	_Atomic uint64_t gen;
	_Atomic uint64_t count, inserts, removes, matches;
};

#define TOMB ((node_t *)(uintptr_t)1)
#define STACK_TOKENS 64

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);
	if (p == NULL)
		abort();
	return p;
}

static uint64_t hash_token(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a: short tokens, good enough spread */
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ull;
	}
	return h;
}

/* ---- match results ---- */

void nd_match_init(nd_match_t *m)
{
	memset(m, 0, sizeof(*m));
}

void nd_match_reset(nd_match_t *m)
{
	m->np = m->ng = m->nq = 0;
}

void nd_match_deinit(nd_match_t *m)
{
	free(m->psubs);
	free(m->groups);
	free(m->qsubs);
	nd_match_init(m);
}

static void grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return;
	size_t ncap = *cap ? *cap * 2 : 8;
	while (ncap < need)
		ncap *= 2;
	void *n = realloc(*arr, ncap * elem);
	if (n == NULL)
		abort();
	*arr = n;
	*cap = ncap;
}

static void add_array(nd_match_t *m, subarr_t *a, bool queue)
{
	if (a == NULL)
		return;
	/* acquire: the items below n were stored before n was published. */
	uint32_t n = atomic_load_explicit(&a->n, memory_order_acquire);
	if (queue) {
		grow((void **)&m->qsubs, &m->capq, m->nq + n, sizeof(nd_sub_t *));
		for (uint32_t i = 0; i < n; i++)
			m->qsubs[m->nq++] =
			    atomic_load_explicit(&a->items[i], memory_order_relaxed);
	} else {
		grow((void **)&m->psubs, &m->capp, m->np + n, sizeof(nd_sub_t *));
		for (uint32_t i = 0; i < n; i++)
			m->psubs[m->np++] =
			    atomic_load_explicit(&a->items[i], memory_order_relaxed);
	}
}

static void add_node(nd_match_t *m, node_t *n)
{
	add_array(m, atomic_load_explicit(&n->psubs, memory_order_acquire), false);
	add_array(m, atomic_load_explicit(&n->qsubs, memory_order_acquire), true);
}

static int cmp_queue(const void *a, const void *b)
{
	const nd_sub_t *x = *(nd_sub_t *const *)a, *y = *(nd_sub_t *const *)b;
	uint32_t n = x->queue_len < y->queue_len ? x->queue_len : y->queue_len;
	int c = memcmp(x->queue, y->queue, n);
	if (c != 0)
		return c;
	return (x->queue_len > y->queue_len) - (x->queue_len < y->queue_len);
}

/* Turns the flat list of queue subscriptions into groups of equal queue names. */
static void build_groups(nd_match_t *m)
{
	if (m->nq == 0)
		return;
	if (m->nq > 1)
		qsort(m->qsubs, m->nq, sizeof(nd_sub_t *), cmp_queue);
	size_t start = 0;
	for (size_t i = 1; i <= m->nq; i++) {
		if (i < m->nq && cmp_queue(&m->qsubs[i], &m->qsubs[start]) == 0)
			continue;
		grow((void **)&m->groups, &m->capg, m->ng + 1, sizeof(nd_qgroup_t));
		nd_qgroup_t *g = &m->groups[m->ng++];
		g->name = m->qsubs[start]->queue;
		g->name_len = m->qsubs[start]->queue_len;
		g->members = &m->qsubs[start];
		g->n = (uint32_t)(i - start);
		start = i;
	}
}

/* ---- reading ---- */

static node_t *lookup(level_t *l, const char *tok, size_t len, uint64_t hash)
{
	htab_t *h = atomic_load_explicit(&l->table, memory_order_acquire);
	if (h == NULL)
		return NULL;
	uint32_t i = (uint32_t)hash & h->mask;
	for (uint32_t probes = 0; probes <= h->mask; probes++) {
		/* acquire: the node's fields were written before it was published here. */
		node_t *n = atomic_load_explicit(&h->slots[i], memory_order_acquire);
		if (n == NULL)
			return NULL;
		if (n != TOMB && n->hash == hash && n->len == len && memcmp(n->tok, tok, len) == 0)
			return n;
		i = (i + 1) & h->mask;
	}
	return NULL;
}

typedef struct tokens {
	const char **p;
	size_t *len;
	uint64_t *hash;
	size_t n;
} tokens_t;

/* The reference's matchLevel: at each level the '>' child matches the rest, the '*' child
 * recurses with the next token, and the literal child continues the walk. */
static void match_level(level_t *l, const tokens_t *t, size_t i, nd_match_t *m)
{
	node_t *n = NULL, *pwc = NULL;
	for (; i < t->n; i++) {
		if (l == NULL)
			return;
		node_t *fwc = atomic_load_explicit(&l->fwc, memory_order_acquire);
		if (fwc != NULL)
			add_node(m, fwc);
		pwc = atomic_load_explicit(&l->pwc, memory_order_acquire);
		if (pwc != NULL)
			match_level(atomic_load_explicit(&pwc->next, memory_order_acquire), t,
				    i + 1, m);
		n = lookup(l, t->p[i], t->len[i], t->hash[i]);
		l = n != NULL ? atomic_load_explicit(&n->next, memory_order_acquire) : NULL;
	}
	if (n != NULL)
		add_node(m, n);
	if (pwc != NULL)
		add_node(m, pwc);
}

static bool tokenize(const char *s, size_t len, tokens_t *t, const char **sp, size_t *sl,
		     uint64_t *sh, size_t cap)
{
	size_t n = nd_subject_tokenize(s, len, sp, sl, cap);
	t->p = sp;
	t->len = sl;
	t->hash = sh;
	if (n > cap) {
		t->p = malloc(n * sizeof(*t->p));
		t->len = malloc(n * sizeof(*t->len));
		t->hash = malloc(n * sizeof(*t->hash));
		if (t->p == NULL || t->len == NULL || t->hash == NULL)
			abort();
		nd_subject_tokenize(s, len, t->p, t->len, n);
	}
	t->n = n;
	for (size_t i = 0; i < n; i++) {
		if (t->len[i] == 0)
			return false;
		t->hash[i] = hash_token(t->p[i], t->len[i]);
	}
	return true;
}

static void tokens_free(tokens_t *t, const char **sp)
{
	if (t->p != sp) {
		free(t->p);
		free(t->len);
		free(t->hash);
	}
}

void nd_sublist_match(nd_sublist_t *sl, const char *subject, size_t len, nd_match_t *m)
{
	nd_match_reset(m);
	/* relaxed: a statistic. */
	atomic_fetch_add_explicit(&sl->matches, 1, memory_order_relaxed);
	const char *sp[STACK_TOKENS];
	size_t slen[STACK_TOKENS];
	uint64_t sh[STACK_TOKENS];
	tokens_t t;
	if (len > 0 && tokenize(subject, len, &t, sp, slen, sh, STACK_TOKENS))
		match_level(&sl->root, &t, 0, m);
	if (len > 0)
		tokens_free(&t, sp);
	build_groups(m);
}

/* ---- writing (under sl->lock) ---- */

typedef struct retire_ctx {
	nd_qsbr_t *q;
	unsigned slot;
} retire_ctx_t;

static void retire(const retire_ctx_t *r, void *p)
{
	if (p != NULL)
		nd_qsbr_retire(r->q, r->slot, p, free);
}

static htab_t *htab_new(uint32_t size)
{
	htab_t *h = xcalloc(1, sizeof(htab_t) + size * sizeof(_Atomic(node_t *)));
	h->mask = size - 1;
	for (uint32_t i = 0; i < size; i++)
		atomic_init(&h->slots[i], NULL);
	return h;
}

static void htab_place(htab_t *h, node_t *n)
{
	uint32_t i = (uint32_t)n->hash & h->mask;
	for (;;) {
		node_t *cur = atomic_load_explicit(&h->slots[i], memory_order_relaxed);
		if (cur == NULL || cur == TOMB) {
			if (cur == TOMB)
				h->tombs--;
			/* release: publishes the node's fields to readers probing this slot. */
			atomic_store_explicit(&h->slots[i], n, memory_order_release);
			h->used++;
			return;
		}
		i = (i + 1) & h->mask;
	}
}

static void level_add_literal(level_t *l, node_t *n, const retire_ctx_t *r)
{
	htab_t *h = atomic_load_explicit(&l->table, memory_order_relaxed);
	uint32_t size = h ? h->mask + 1 : 0;
	if (h == NULL || (h->used + h->tombs + 1) * 4 > size * 3) {
		/* Rebuild: twice the live count, at least 4 slots; tombstones are dropped. */
		uint32_t want = 4;
		while (want < (l->literals + 1) * 2)
			want *= 2;
		htab_t *nh = htab_new(want);
		if (h != NULL) {
			for (uint32_t i = 0; i <= h->mask; i++) {
				node_t *x =
				    atomic_load_explicit(&h->slots[i], memory_order_relaxed);
				if (x != NULL && x != TOMB)
					htab_place(nh, x);
			}
		}
		htab_place(nh, n);
		/* release: the new table's slots are complete before readers can find it. */
		atomic_store_explicit(&l->table, nh, memory_order_release);
		retire(r, h);
	} else {
		htab_place(h, n);
	}
	l->literals++;
}

static void level_remove_literal(level_t *l, node_t *n)
{
	htab_t *h = atomic_load_explicit(&l->table, memory_order_relaxed);
	uint32_t i = (uint32_t)n->hash & h->mask;
	for (;;) {
		if (atomic_load_explicit(&h->slots[i], memory_order_relaxed) == n) {
			/* release: readers past this slot see the tombstone, not a freed node. */
			atomic_store_explicit(&h->slots[i], TOMB, memory_order_release);
			h->used--;
			h->tombs++;
			l->literals--;
			return;
		}
		i = (i + 1) & h->mask;
	}
}

static node_t *node_new(const char *tok, size_t len, uint64_t hash)
{
	node_t *n = xcalloc(1, sizeof(node_t) + len + 1);
	atomic_init(&n->next, NULL);
	atomic_init(&n->psubs, NULL);
	atomic_init(&n->qsubs, NULL);
	n->hash = hash;
	n->len = (uint32_t)len;
	memcpy(n->tok, tok, len);
	return n;
}

static level_t *level_new(void)
{
	level_t *l = xcalloc(1, sizeof(level_t));
	atomic_init(&l->table, NULL);
	atomic_init(&l->pwc, NULL);
	atomic_init(&l->fwc, NULL);
	return l;
}

static bool is_pwc(const char *t, size_t n)
{
	return n == 1 && t[0] == '*';
}

static bool is_fwc(const char *t, size_t n)
{
	return n == 1 && t[0] == '>';
}

static subarr_t *subarr_new(uint32_t cap)
{
	subarr_t *a = xcalloc(1, sizeof(subarr_t) + cap * sizeof(_Atomic(nd_sub_t *)));
	a->cap = cap;
	atomic_init(&a->n, 0);
	return a;
}

static void subarr_append(_Atomic(subarr_t *) *field, nd_sub_t *s, const retire_ctx_t *r)
{
	subarr_t *a = atomic_load_explicit(field, memory_order_relaxed);
	uint32_t n = a ? atomic_load_explicit(&a->n, memory_order_relaxed) : 0;
	if (a != NULL && n < a->cap) {
		atomic_store_explicit(&a->items[n], s, memory_order_relaxed);
		/* release: the item above is visible to a reader that sees the new count. */
		atomic_store_explicit(&a->n, n + 1, memory_order_release);
		return;
	}
	subarr_t *b = subarr_new(a ? a->cap * 2 : 2);
	for (uint32_t i = 0; i < n; i++)
		atomic_init(&b->items[i], atomic_load_explicit(&a->items[i], memory_order_relaxed));
	atomic_init(&b->items[n], s);
	atomic_init(&b->n, n + 1);
	/* release: the copy is complete before readers can reach it. */
	atomic_store_explicit(field, b, memory_order_release);
	retire(r, a);
}

static bool subarr_remove(_Atomic(subarr_t *) *field, nd_sub_t *s, const retire_ctx_t *r)
{
	subarr_t *a = atomic_load_explicit(field, memory_order_relaxed);
	if (a == NULL)
		return false;
	uint32_t n = atomic_load_explicit(&a->n, memory_order_relaxed), at = n;
	for (uint32_t i = 0; i < n; i++) {
		if (atomic_load_explicit(&a->items[i], memory_order_relaxed) == s) {
			at = i;
			break;
		}
	}
	if (at == n)
		return false;
	subarr_t *b = NULL;
	if (n > 1) {
		/* Copy, never shift in place: a reader mid-iteration must not see an item twice. */
		uint32_t cap = a->cap;
		while (cap > 2 && n - 1 <= cap / 4)
			cap /= 2;
		b = subarr_new(cap);
		uint32_t k = 0;
		for (uint32_t i = 0; i < n; i++)
			if (i != at)
				atomic_init(
				    &b->items[k++],
				    atomic_load_explicit(&a->items[i], memory_order_relaxed));
		atomic_init(&b->n, k);
	}
	atomic_store_explicit(field, b, memory_order_release);
	retire(r, a);
	return true;
}

static bool level_empty(level_t *l)
{
	return l == NULL ||
	       (l->literals == 0 && atomic_load_explicit(&l->pwc, memory_order_relaxed) == NULL &&
		atomic_load_explicit(&l->fwc, memory_order_relaxed) == NULL);
}

static bool node_empty(node_t *n)
{
	return atomic_load_explicit(&n->psubs, memory_order_relaxed) == NULL &&
	       atomic_load_explicit(&n->qsubs, memory_order_relaxed) == NULL &&
	       level_empty(atomic_load_explicit(&n->next, memory_order_relaxed));
}

nd_sublist_t *nd_sublist_create(void)
{
	nd_sublist_t *sl = xcalloc(1, sizeof(*sl));
	atomic_init(&sl->root.table, NULL);
	atomic_init(&sl->root.pwc, NULL);
	atomic_init(&sl->root.fwc, NULL);
	pthread_mutex_init(&sl->lock, NULL);
	atomic_init(&sl->gen, 0);
	return sl;
}

int nd_sublist_insert(nd_sublist_t *sl, nd_sub_t *sub, nd_qsbr_t *q, unsigned slot)
{
	if (!nd_subject_valid_sub(sub->subject, sub->subject_len))
		return -EINVAL;
	retire_ctx_t r = {q, slot};
	const char *sp[STACK_TOKENS];
	size_t slen[STACK_TOKENS];
	uint64_t sh[STACK_TOKENS];
	tokens_t t;
	tokenize(sub->subject, sub->subject_len, &t, sp, slen, sh, STACK_TOKENS);
	pthread_mutex_lock(&sl->lock);
	level_t *l = &sl->root;
	node_t *n = NULL;
	for (size_t i = 0; i < t.n; i++) {
		_Atomic(node_t *) *wild = is_pwc(t.p[i], t.len[i])   ? &l->pwc
					  : is_fwc(t.p[i], t.len[i]) ? &l->fwc
								     : NULL;
		if (wild != NULL) {
			n = atomic_load_explicit(wild, memory_order_relaxed);
			if (n == NULL) {
				n = node_new(t.p[i], t.len[i], t.hash[i]);
				atomic_store_explicit(wild, n, memory_order_release);
			}
		} else {
			n = lookup(l, t.p[i], t.len[i], t.hash[i]);
			if (n == NULL) {
				n = node_new(t.p[i], t.len[i], t.hash[i]);
				level_add_literal(l, n, &r);
			}
		}
		if (i + 1 < t.n) {
			level_t *next = atomic_load_explicit(&n->next, memory_order_relaxed);
			if (next == NULL) {
				next = level_new();
				atomic_store_explicit(&n->next, next, memory_order_release);
			}
			l = next;
		}
	}
	subarr_append(sub->queue != NULL ? &n->qsubs : &n->psubs, sub, &r);
	/* release: a reader that sees the new generation sees this insertion (see header). */
	atomic_fetch_add_explicit(&sl->gen, 1, memory_order_release);
	atomic_fetch_add_explicit(&sl->count, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&sl->inserts, 1, memory_order_relaxed);
	pthread_mutex_unlock(&sl->lock);
	tokens_free(&t, sp);
	return 0;
}

/* Unlinks an empty node from its level and retires it with its (empty) next level. */
static void prune(level_t *l, node_t *n, const char *tok, size_t len, const retire_ctx_t *r)
{
	if (is_pwc(tok, len))
		atomic_store_explicit(&l->pwc, NULL, memory_order_release);
	else if (is_fwc(tok, len))
		atomic_store_explicit(&l->fwc, NULL, memory_order_release);
	else
		level_remove_literal(l, n);
	level_t *next = atomic_load_explicit(&n->next, memory_order_relaxed);
	if (next != NULL) {
		retire(r, atomic_load_explicit(&next->table, memory_order_relaxed));
		retire(r, next);
	}
	retire(r, n);
}

int nd_sublist_remove(nd_sublist_t *sl, nd_sub_t *sub, nd_qsbr_t *q, unsigned slot)
{
	retire_ctx_t r = {q, slot};
	const char *sp[STACK_TOKENS];
	size_t slen[STACK_TOKENS];
	uint64_t sh[STACK_TOKENS];
	tokens_t t;
	if (!tokenize(sub->subject, sub->subject_len, &t, sp, slen, sh, STACK_TOKENS)) {
		tokens_free(&t, sp);
		return -ENOENT;
	}
	level_t *path_l[STACK_TOKENS];
	node_t *path_n[STACK_TOKENS];
	level_t **pl = path_l;
	node_t **pn = path_n;
	if (t.n > STACK_TOKENS) {
		pl = malloc(t.n * sizeof(*pl));
		pn = malloc(t.n * sizeof(*pn));
		if (pl == NULL || pn == NULL)
			abort();
	}
	int rc = -ENOENT;
	pthread_mutex_lock(&sl->lock);
	level_t *l = &sl->root;
	node_t *n = NULL;
	size_t depth = 0;
	for (size_t i = 0; i < t.n && l != NULL; i++) {
		if (is_pwc(t.p[i], t.len[i]))
			n = atomic_load_explicit(&l->pwc, memory_order_relaxed);
		else if (is_fwc(t.p[i], t.len[i]))
			n = atomic_load_explicit(&l->fwc, memory_order_relaxed);
		else
			n = lookup(l, t.p[i], t.len[i], t.hash[i]);
		if (n == NULL)
			break;
		pl[depth] = l;
		pn[depth] = n;
		depth++;
		l = atomic_load_explicit(&n->next, memory_order_relaxed);
	}
	if (depth == t.n && subarr_remove(sub->queue != NULL ? &n->qsubs : &n->psubs, sub, &r)) {
		rc = 0;
		/* Prune nodes left empty, deepest first. */
		for (size_t d = depth; d-- > 0;) {
			if (!node_empty(pn[d]))
				break;
			prune(pl[d], pn[d], t.p[d], t.len[d], &r);
		}
		atomic_fetch_add_explicit(&sl->gen, 1, memory_order_release);
		atomic_fetch_sub_explicit(&sl->count, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&sl->removes, 1, memory_order_relaxed);
	}
	pthread_mutex_unlock(&sl->lock);
	if (pl != path_l) {
		free(pl);
		free(pn);
	}
	tokens_free(&t, sp);
	return rc;
}

uint64_t nd_sublist_generation(nd_sublist_t *sl)
{
	return atomic_load_explicit(&sl->gen, memory_order_acquire);
}

void nd_sublist_stats(nd_sublist_t *sl, nd_sublist_stats_t *out)
{
	out->count = atomic_load_explicit(&sl->count, memory_order_relaxed);
	out->inserts = atomic_load_explicit(&sl->inserts, memory_order_relaxed);
	out->removes = atomic_load_explicit(&sl->removes, memory_order_relaxed);
	out->matches = atomic_load_explicit(&sl->matches, memory_order_relaxed);
}

static void free_level(level_t *l, bool self);

static void free_node(node_t *n)
{
	free(atomic_load_explicit(&n->psubs, memory_order_relaxed));
	free(atomic_load_explicit(&n->qsubs, memory_order_relaxed));
	level_t *next = atomic_load_explicit(&n->next, memory_order_relaxed);
	if (next != NULL)
		free_level(next, true);
	free(n);
}

static void free_level(level_t *l, bool self)
{
	htab_t *h = atomic_load_explicit(&l->table, memory_order_relaxed);
	if (h != NULL) {
		for (uint32_t i = 0; i <= h->mask; i++) {
			node_t *n = atomic_load_explicit(&h->slots[i], memory_order_relaxed);
			if (n != NULL && n != TOMB)
				free_node(n);
		}
		free(h);
	}
	node_t *w = atomic_load_explicit(&l->pwc, memory_order_relaxed);
	if (w != NULL)
		free_node(w);
	w = atomic_load_explicit(&l->fwc, memory_order_relaxed);
	if (w != NULL)
		free_node(w);
	if (self)
		free(l);
}

void nd_sublist_destroy(nd_sublist_t *sl)
{
	if (sl == NULL)
		return;
	free_level(&sl->root, false);
	pthread_mutex_destroy(&sl->lock);
	free(sl);
}
