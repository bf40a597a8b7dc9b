/* The subscription index against a brute-force matcher: random subscriptions (literal, '*',
 * '>', queue groups) inserted and removed at random, random published subjects; the index must
 * return exactly the brute-force set, grouped by queue name. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/sublist.h"
#include "protocol/subject.h"
#include "runtime/qsbr.h"
#include "tests/support/nd_test.h"

enum { MAXSUBS = 600 };

typedef struct world {
	nd_sub_t subs[MAXSUBS];
	char text[MAXSUBS][64];
	bool live[MAXSUBS];
	nd_sublist_t *sl;
	nd_qsbr_t *q;
	unsigned slot;
} world_t;

static const char *const toks[] = {"a", "b", "c", "dd", "*", ">"};

static void random_subject(char *out, bool wildcards)
{
	int n = 1 + rand() % 4;
	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		int k = rand() % (wildcards ? 6 : 4);
		if (k == 5 && i != n - 1)
			k = 4; /* '>' only last */
		if (i > 0)
			strcat(out, ".");
		strcat(out, toks[k]);
	}
}

static void make_sub(world_t *w, int i)
{
	nd_sub_t *s = &w->subs[i];
	memset(s, 0, sizeof(*s));
	random_subject(w->text[i], true);
	s->subject = w->text[i];
	s->subject_len = (uint32_t)strlen(w->text[i]);
	int qk = rand() % 4;
	if (qk < 2) {
		s->queue = qk == 0 ? "q1" : "q2";
		s->queue_len = 2;
	}
}

static int cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t) * (void *const *)a, y = (uintptr_t) * (void *const *)b;
	return (x > y) - (x < y);
}

static void check_subject(world_t *w, const char *subject, nd_match_t *m)
{
	nd_sublist_match(w->sl, subject, strlen(subject), m);
	/* Expected plain and queue sets. */
	nd_sub_t *want_p[MAXSUBS], *want_q[MAXSUBS];
	size_t np = 0, nq = 0;
	for (int i = 0; i < MAXSUBS; i++) {
		if (!w->live[i])
			continue;
		nd_sub_t *s = &w->subs[i];
		if (!nd_subject_matches(s->subject, s->subject_len, subject, strlen(subject)))
			continue;
		if (s->queue != NULL)
			want_q[nq++] = s;
		else
			want_p[np++] = s;
	}
	cr_assert_eq(m->np, np, "subject %s: %zu plain, want %zu", subject, m->np, np);
	nd_sub_t **got = malloc((np + 1) * sizeof(*got));
	if (np > 0)
		memcpy(got, m->psubs, np * sizeof(*got));
	qsort(got, np, sizeof(*got), cmp_ptr);
	qsort(want_p, np, sizeof(*got), cmp_ptr);
	for (size_t i = 0; i < np; i++)
		cr_assert_eq(got[i], want_p[i], "subject %s: wrong plain subscription", subject);
	free(got);
	size_t total = 0;
	for (size_t g = 0; g < m->ng; g++) {
		for (uint32_t k = 0; k < m->groups[g].n; k++) {
			nd_sub_t *s = m->groups[g].members[k];
			cr_assert_eq(s->queue_len, m->groups[g].name_len);
			cr_assert_eq(memcmp(s->queue, m->groups[g].name, s->queue_len), 0,
				     "member in the wrong group");
			bool found = false;
			for (size_t j = 0; j < nq && !found; j++)
				found = want_q[j] == s;
			cr_assert(found, "subject %s: unexpected queue member %s", subject,
				  s->subject);
			total++;
		}
		for (size_t h = g + 1; h < m->ng; h++)
			cr_assert(m->groups[g].name_len != m->groups[h].name_len ||
				      memcmp(m->groups[g].name, m->groups[h].name,
					     m->groups[g].name_len) != 0,
				  "a queue name split into two groups");
	}
	cr_assert_eq(total, nq, "subject %s: %zu queue members, want %zu", subject, total, nq);
}

ND_TEST(sublist, matches_a_brute_force_model, .timeout = 120)
{
	static world_t w;
	memset(&w, 0, sizeof(w));
	srand(7);
	w.q = nd_qsbr_create(1);
	w.slot = (unsigned)nd_qsbr_register(w.q);
	w.sl = nd_sublist_create();
	nd_match_t m;
	nd_match_init(&m);
	uint64_t gen = nd_sublist_generation(w.sl);
	for (int step = 0; step < 20000; step++) {
		int i = rand() % MAXSUBS;
		bool changed = true;
		if (!w.live[i]) {
			make_sub(&w, i);
			cr_assert_eq(nd_sublist_insert(w.sl, &w.subs[i], w.q, w.slot), 0);
			w.live[i] = true;
		} else if (rand() % 3 == 0) {
			cr_assert_eq(nd_sublist_remove(w.sl, &w.subs[i], w.q, w.slot), 0);
			cr_assert_eq(nd_sublist_remove(w.sl, &w.subs[i], w.q, w.slot), -ENOENT);
			w.live[i] = false;
		} else {
			changed = false;
		}
		uint64_t g2 = nd_sublist_generation(w.sl);
		if (changed)
			cr_assert_gt(g2, gen, "every change bumps the generation");
		gen = g2;
		if (step % 10 == 0) {
			char subject[64];
			random_subject(subject, rand() % 10 == 0); /* sometimes publish to "a.*" */
			check_subject(&w, subject, &m);
			nd_qsbr_quiescent(w.q, w.slot);
			nd_qsbr_reclaim(w.q, w.slot);
		}
	}
	/* Remove everything: the trie must shrink back to nothing that matches. */
	for (int i = 0; i < MAXSUBS; i++)
		if (w.live[i]) {
			cr_assert_eq(nd_sublist_remove(w.sl, &w.subs[i], w.q, w.slot), 0);
			w.live[i] = false;
		}
	check_subject(&w, "a", &m);
	nd_sublist_stats_t st;
	nd_sublist_stats(w.sl, &st);
	cr_assert_eq(st.count, 0);
	nd_match_deinit(&m);
	nd_sublist_destroy(w.sl);
	nd_qsbr_offline(w.q, w.slot);
	nd_qsbr_destroy(w.q);
}

ND_TEST(sublist, rejects_invalid_subjects_and_empty_tokens_match_nothing)
{
	nd_qsbr_t *q = nd_qsbr_create(1);
	unsigned slot = (unsigned)nd_qsbr_register(q);
	nd_sublist_t *sl = nd_sublist_create();
	nd_sub_t bad = {.subject = "foo..bar", .subject_len = 8};
	cr_assert_eq(nd_sublist_insert(sl, &bad, q, slot), -EINVAL);
	nd_sub_t all = {.subject = ">", .subject_len = 1};
	cr_assert_eq(nd_sublist_insert(sl, &all, q, slot), 0);
	nd_match_t m;
	nd_match_init(&m);
	nd_sublist_match(sl, "foo..bar", 8, &m);
	cr_assert_eq(m.np, 0);
	nd_sublist_match(sl, "", 0, &m);
	cr_assert_eq(m.np, 0);
	nd_sublist_match(sl, "x", 1, &m);
	cr_assert_eq(m.np, 1);
	/* Many tokens (more than the stack arrays hold). */
	static char deep[400];
	for (int i = 0; i < 199; i++)
		memcpy(deep + i * 2, "a.", 2);
	deep[398] = 'a';
	nd_sub_t d = {.subject = deep, .subject_len = 399};
	cr_assert_eq(nd_sublist_insert(sl, &d, q, slot), 0);
	nd_sublist_match(sl, deep, 399, &m);
	cr_assert_eq(m.np, 2);
	cr_assert_eq(nd_sublist_remove(sl, &d, q, slot), 0);
	nd_match_deinit(&m);
	nd_sublist_destroy(sl);
	nd_qsbr_offline(q, slot);
	nd_qsbr_destroy(q);
}

ND_TEST(sublist, large_fanout_and_many_literals)
{
	enum { N = 20000 };
	nd_qsbr_t *q = nd_qsbr_create(1);
	unsigned slot = (unsigned)nd_qsbr_register(q);
	nd_sublist_t *sl = nd_sublist_create();
	nd_sub_t *subs = calloc(2 * N, sizeof(nd_sub_t));
	char(*names)[24] = calloc(N, 24);
	for (int i = 0; i < N; i++) {
		subs[i].subject = "fan.out";
		subs[i].subject_len = 7;
		cr_assert_eq(nd_sublist_insert(sl, &subs[i], q, slot), 0);
		snprintf(names[i], 24, "lit.%d", i);
		subs[N + i].subject = names[i];
		subs[N + i].subject_len = (uint32_t)strlen(names[i]);
		cr_assert_eq(nd_sublist_insert(sl, &subs[N + i], q, slot), 0);
	}
	nd_match_t m;
	nd_match_init(&m);
	nd_sublist_match(sl, "fan.out", 7, &m);
	cr_assert_eq(m.np, N);
	nd_sublist_match(sl, "lit.12345", 9, &m);
	cr_assert_eq(m.np, 1);
	cr_assert_eq(m.psubs[0], &subs[N + 12345]);
	for (int i = 0; i < 2 * N; i++)
		cr_assert_eq(nd_sublist_remove(sl, &subs[i], q, slot), 0);
	nd_qsbr_quiescent(q, slot);
	nd_qsbr_reclaim(q, slot);
	nd_match_deinit(&m);
	nd_sublist_destroy(sl);
	nd_qsbr_offline(q, slot);
	nd_qsbr_destroy(q);
	free(subs);
	free(names);
}
