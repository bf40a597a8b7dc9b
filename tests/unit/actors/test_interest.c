/* The interest registry: what peers are told, and when. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "actors/interest.h"

typedef struct log {
	char lines[64][128];
	int n;
} log_t;

static void record(void *ctx, const nd_interest_change_t *c)
{
	log_t *l = ctx;
	cr_assert_lt(l->n, 64);
	snprintf(l->lines[l->n++], 128, "%s %.*s %.*s %u", c->account, (int)c->subject_len,
		 c->subject, (int)c->queue_len, c->queue ? c->queue : "", c->count);
}

static void count_fn(void *ctx, const nd_interest_change_t *c)
{
	(void)c;
	(*(int *)ctx)++;
}

Test(interest, plain_subjects_change_only_on_first_and_last)
{
	nd_interest_t *it = nd_interest_create();
	log_t l = {0}, replay = {0};
	nd_interest_observe(it, record, &l, record, NULL, &replay);
	cr_assert_eq(replay.n, 0);
	nd_interest_add(it, "$G", "foo", 3, NULL, 0);
	nd_interest_add(it, "$G", "foo", 3, NULL, 0);
	nd_interest_remove(it, "$G", "foo", 3, NULL, 0);
	cr_assert_eq(l.n, 1);
	nd_interest_remove(it, "$G", "foo", 3, NULL, 0);
	cr_assert_eq(l.n, 2);
	cr_assert_str_eq(l.lines[0], "$G foo  1");
	cr_assert_str_eq(l.lines[1], "$G foo  0");
	cr_assert_eq(nd_interest_count(it), 0);
	nd_interest_destroy(it);
}

Test(interest, queue_groups_announce_every_weight)
{
	nd_interest_t *it = nd_interest_create();
	log_t l = {0}, replay = {0};
	nd_interest_observe(it, record, &l, record, NULL, &replay);
	nd_interest_add(it, "$G", "foo", 3, "q", 1);
	nd_interest_add(it, "$G", "foo", 3, "q", 1);
	nd_interest_remove(it, "$G", "foo", 3, "q", 1);
	nd_interest_remove(it, "$G", "foo", 3, "q", 1);
	cr_assert_eq(l.n, 4);
	cr_assert_str_eq(l.lines[0], "$G foo q 1");
	cr_assert_str_eq(l.lines[1], "$G foo q 2");
	cr_assert_str_eq(l.lines[2], "$G foo q 1");
	cr_assert_str_eq(l.lines[3], "$G foo q 0");
	nd_interest_destroy(it);
}

Test(interest, keys_do_not_collide)
{
	nd_interest_t *it = nd_interest_create();
	nd_interest_add(it, "$G", "ab", 2, "c", 1);
	nd_interest_add(it, "$G", "a", 1, "bc", 2);
	nd_interest_add(it, "$G", "abc", 3, NULL, 0);
	nd_interest_add(it, "B", "abc", 3, NULL, 0);
	cr_assert_eq(nd_interest_count(it), 4);
	nd_interest_destroy(it);
}

Test(interest, a_new_observer_sees_everything_then_changes)
{
	nd_interest_t *it = nd_interest_create();
	char subj[32];
	for (int i = 0; i < 1000; i++) {
		int n = snprintf(subj, sizeof(subj), "s.%d", i);
		nd_interest_add(it, "$G", subj, (size_t)n, NULL, 0);
	}
	log_t l = {0};
	int count = 0;
	uint64_t id = nd_interest_observe(it, record, &l, count_fn, NULL, &count);
	cr_assert_eq(count, 1000);
	nd_interest_remove(it, "$G", "s.7", 3, NULL, 0);
	cr_assert_eq(l.n, 1);
	cr_assert_str_eq(l.lines[0], "$G s.7  0");
	nd_interest_unobserve(it, id);
	nd_interest_remove(it, "$G", "s.8", 3, NULL, 0);
	cr_assert_eq(l.n, 1, "no calls after unobserve");
	cr_assert_eq(nd_interest_count(it), 998);
	nd_interest_destroy(it);
}
