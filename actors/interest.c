/* Counted local interest: a chained hash table keyed by "account\0subject\0queue". */
#include "actors/interest.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

typedef struct entry {
	struct entry *next;
	uint64_t hash;
	uint32_t count;
	uint32_t acc_len, subject_len, queue_len;
	char key[]; /* account \0 subject \0 queue \0 */
} entry_t;

typedef struct observer {
	struct observer *next;
	uint64_t id;
	nd_interest_fn fn;
	void *ctx;
} observer_t;

struct nd_interest {
	pthread_mutex_t mu;
	entry_t **buckets;
	size_t nbuckets, n;
	observer_t *observers;
	uint64_t next_id;
};

static uint64_t hash_key(const char *a, size_t al, const char *s, size_t sl, const char *q,
			 size_t ql)
{
	uint64_t h = 1469598103934665603ull;
	const char *parts[3] = {a, s, q};
	size_t lens[3] = {al, sl, ql};
	for (int p = 0; p < 3; p++) {
		for (size_t i = 0; i < lens[p]; i++) {
			h ^= (unsigned char)parts[p][i];
			h *= 1099511628211ull;
		}
		h ^= 0xff; /* separator: ("ab","c") differs from ("a","bc") */
		h *= 1099511628211ull;
	}
	return h;
}

nd_interest_t *nd_interest_create(void)
{
	nd_interest_t *it = calloc(1, sizeof(*it));
	if (it == NULL)
		abort();
	pthread_mutex_init(&it->mu, NULL);
	it->nbuckets = 64;
	it->buckets = calloc(it->nbuckets, sizeof(*it->buckets));
	if (it->buckets == NULL)
		abort();
	it->next_id = 1;
	return it;
}

void nd_interest_destroy(nd_interest_t *it)
{
	if (it == NULL)
		return;
	for (size_t b = 0; b < it->nbuckets; b++) {
		entry_t *e = it->buckets[b];
		while (e != NULL) {
			entry_t *next = e->next;
			free(e);
			e = next;
		}
	}
	while (it->observers != NULL) {
		observer_t *o = it->observers->next;
		free(it->observers);
		it->observers = o;
	}
	free(it->buckets);
	pthread_mutex_destroy(&it->mu);
	free(it);
}

static void grow(nd_interest_t *it)
{
	size_t nb = it->nbuckets * 2;
	entry_t **t = calloc(nb, sizeof(*t));
	if (t == NULL)
		abort();
	for (size_t b = 0; b < it->nbuckets; b++) {
		entry_t *e = it->buckets[b];
		while (e != NULL) {
			entry_t *next = e->next;
			e->next = t[e->hash & (nb - 1)];
			t[e->hash & (nb - 1)] = e;
			e = next;
		}
	}
	free(it->buckets);
	it->buckets = t;
	it->nbuckets = nb;
}

static void view(const entry_t *e, nd_interest_change_t *c)
{
	c->account = e->key;
	c->subject = e->key + e->acc_len + 1;
	c->subject_len = e->subject_len;
	c->queue = e->queue_len ? c->subject + e->subject_len + 1 : NULL;
	c->queue_len = e->queue_len;
	c->count = e->count;
}

static void notify(nd_interest_t *it, const entry_t *e)
{
	nd_interest_change_t c;
	view(e, &c);
	for (observer_t *o = it->observers; o != NULL; o = o->next)
		o->fn(o->ctx, &c);
}

/* What an add or remove is about: (account, subject, queue) and its hash. */
typedef struct lookup {
	const char *a, *s, *q;
	size_t al, sl, ql;
	uint64_t h;
} lookup_t;

static lookup_t make_lookup(const char *account, const char *subject, size_t subject_len,
			    const char *queue, size_t queue_len)
{
	lookup_t k = {.a = account,
		      .al = strlen(account),
		      .s = subject,
		      .sl = subject_len,
		      .q = queue,
		      .ql = queue != NULL ? queue_len : 0};
	k.h = hash_key(k.a, k.al, k.s, k.sl, k.q, k.ql);
	return k;
}

/* The slot holding k's entry, or the empty slot at the end of its chain. */
static entry_t **find(nd_interest_t *it, const lookup_t *k)
{
	entry_t **p = &it->buckets[k->h & (it->nbuckets - 1)];
	for (; *p != NULL; p = &(*p)->next) {
		entry_t *e = *p;
		if (e->hash == k->h && e->acc_len == k->al && e->subject_len == k->sl &&
		    e->queue_len == k->ql && memcmp(e->key, k->a, k->al) == 0 &&
		    memcmp(e->key + k->al + 1, k->s, k->sl) == 0 &&
		    (k->ql == 0 || memcmp(e->key + k->al + 1 + k->sl + 1, k->q, k->ql) == 0))
			return p;
	}
	return p;
}

void nd_interest_add(nd_interest_t *it, const char *account, const char *subject,
		     size_t subject_len, const char *queue, size_t queue_len)
{
	lookup_t k = make_lookup(account, subject, subject_len, queue, queue_len);
	pthread_mutex_lock(&it->mu);
	entry_t **p = find(it, &k);
	entry_t *e = *p;
	if (e == NULL) {
		e = malloc(sizeof(*e) + k.al + k.sl + k.ql + 3);
		if (e == NULL)
			abort();
		e->next = NULL;
		e->hash = k.h;
		e->count = 0;
		e->acc_len = (uint32_t)k.al;
		e->subject_len = (uint32_t)k.sl;
		e->queue_len = (uint32_t)k.ql;
		char *key = e->key;
		memcpy(key, k.a, k.al + 1);
		key += k.al + 1;
		memcpy(key, k.s, k.sl);
		key[k.sl] = '\0';
		key += k.sl + 1;
		if (k.ql > 0)
			memcpy(key, k.q, k.ql);
		key[k.ql] = '\0';
		*p = e;
		if (++it->n > it->nbuckets)
			grow(it);
	}
	e->count++;
	/* Plain interest matters to peers only when it appears; a queue's weight always. */
	if (e->count == 1 || k.ql > 0)
		notify(it, e);
	pthread_mutex_unlock(&it->mu);
}

void nd_interest_remove(nd_interest_t *it, const char *account, const char *subject,
			size_t subject_len, const char *queue, size_t queue_len)
{
	lookup_t k = make_lookup(account, subject, subject_len, queue, queue_len);
	pthread_mutex_lock(&it->mu);
	entry_t **p = find(it, &k);
	entry_t *e = *p;
	if (e != NULL) {
		e->count--;
		if (e->count == 0 || k.ql > 0)
			notify(it, e);
		if (e->count == 0) {
			*p = e->next;
			it->n--;
			free(e);
		}
	}
	pthread_mutex_unlock(&it->mu);
}

uint64_t nd_interest_observe(nd_interest_t *it, nd_interest_fn fn, void *ctx, nd_interest_fn replay,
			     void (*replay_done)(void *replay_ctx), void *replay_ctx)
{
	observer_t *o = malloc(sizeof(*o));
	if (o == NULL)
		abort();
	pthread_mutex_lock(&it->mu);
	for (size_t b = 0; b < it->nbuckets; b++) {
		for (entry_t *e = it->buckets[b]; e != NULL; e = e->next) {
			nd_interest_change_t c;
			view(e, &c);
			replay(replay_ctx, &c);
		}
	}
	if (replay_done != NULL)
		replay_done(replay_ctx);
	o->id = it->next_id++;
	o->fn = fn;
	o->ctx = ctx;
	o->next = it->observers;
	it->observers = o;
	pthread_mutex_unlock(&it->mu);
	return o->id;
}

void nd_interest_unobserve(nd_interest_t *it, uint64_t id)
{
	pthread_mutex_lock(&it->mu);
	for (observer_t **p = &it->observers; *p != NULL; p = &(*p)->next) {
		if ((*p)->id == id) {
			observer_t *o = *p;
			*p = o->next;
			free(o);
			break;
		}
	}
	pthread_mutex_unlock(&it->mu);
}

size_t nd_interest_count(nd_interest_t *it)
{
	pthread_mutex_lock(&it->mu);
	size_t n = it->n;
	pthread_mutex_unlock(&it->mu);
	return n;
}
