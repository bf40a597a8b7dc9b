/* Race test: readers match random subjects while a writer inserts and removes subscriptions.
 * Every subscription a reader gets must really match and must not have been freed (removed
 * subscriptions are retired through QSBR and poisoned when freed). */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#include "actors/sublist.h"
#include "protocol/subject.h"
#include "runtime/qsbr.h"
#include "tests/stress/stress.h"

enum { READERS = 3, SLOTS = 256, STEPS = 150000 };

static nd_sublist_t *sl;
static nd_qsbr_t *q;
static atomic_bool done;
static const char *const subjects[] = {"a", "a.b", "a.*", "a.>", "*.b", ">", "b.c", "a.b.c"};
static const char *const pubs[] = {"a", "a.b", "b.c", "a.b.c", "x", "a.x"};

typedef struct tsub {
	nd_sub_t sub;
	_Atomic uint32_t magic;
} tsub_t;

#define MAGIC 0xC0FFEEu

static void poison_free(void *p)
{
	tsub_t *t = p;
	atomic_store_explicit(&t->magic, 0, memory_order_relaxed);
	free(t);
}

static void *reader(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	int slot = nd_qsbr_register(q);
	CHECK(slot >= 0, "register");
	nd_match_t m;
	nd_match_init(&m);
	unsigned long n = 0;
	while (!atomic_load_explicit(&done, memory_order_relaxed)) {
		const char *p = pubs[rand_r(&seed) % 6];
		nd_sublist_match(sl, p, strlen(p), &m);
		for (size_t i = 0; i < m.np; i++) {
			tsub_t *t = (tsub_t *)m.psubs[i];
			CHECK(atomic_load_explicit(&t->magic, memory_order_relaxed) == MAGIC,
			      "freed sub");
			CHECK(nd_subject_matches(t->sub.subject, t->sub.subject_len, p, strlen(p)),
			      "%s does not match %s", t->sub.subject, p);
		}
		for (size_t g = 0; g < m.ng; g++)
			for (uint32_t k = 0; k < m.groups[g].n; k++) {
				tsub_t *t = (tsub_t *)m.groups[g].members[k];
				CHECK(atomic_load_explicit(&t->magic, memory_order_relaxed) ==
					  MAGIC,
				      "freed queue sub");
			}
		if (++n % 16 == 0)
			nd_qsbr_quiescent(q, (unsigned)slot);
	}
	nd_match_deinit(&m);
	nd_qsbr_offline(q, (unsigned)slot);
	return NULL;
}

int main(void)
{
	q = nd_qsbr_create(READERS + 1);
	int w = nd_qsbr_register(q);
	sl = nd_sublist_create();
	tsub_t *live[SLOTS] = {0};
	pthread_t t[READERS];
	for (uintptr_t i = 0; i < READERS; i++)
		pthread_create(&t[i], NULL, reader, (void *)(i + 1));
	unsigned seed = 99;
	for (int step = 0; step < STEPS; step++) {
		int i = (int)(rand_r(&seed) % SLOTS);
		if (live[i] == NULL) {
			tsub_t *s = calloc(1, sizeof(*s));
			const char *subj = subjects[rand_r(&seed) % 8];
			s->sub.subject = subj;
			s->sub.subject_len = (uint32_t)strlen(subj);
			if (rand_r(&seed) % 3 == 0) {
				s->sub.queue = "g";
				s->sub.queue_len = 1;
			}
			atomic_init(&s->magic, MAGIC);
			CHECK(nd_sublist_insert(sl, &s->sub, q, (unsigned)w) == 0, "insert");
			live[i] = s;
		} else {
			CHECK(nd_sublist_remove(sl, &live[i]->sub, q, (unsigned)w) == 0, "remove");
			nd_qsbr_retire(q, (unsigned)w, live[i], poison_free);
			live[i] = NULL;
		}
		nd_qsbr_quiescent(q, (unsigned)w);
		nd_qsbr_reclaim(q, (unsigned)w);
	}
	atomic_store(&done, true);
	for (int i = 0; i < READERS; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < SLOTS; i++)
		if (live[i] != NULL) {
			CHECK(nd_sublist_remove(sl, &live[i]->sub, q, (unsigned)w) == 0, "remove");
			nd_qsbr_retire(q, (unsigned)w, live[i], poison_free);
		}
	nd_qsbr_offline(q, (unsigned)w);
	nd_sublist_destroy(sl);
	nd_qsbr_destroy(q);
	puts("stress_sublist: ok");
	return 0;
}
