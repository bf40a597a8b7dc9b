/* The mailbox alone: FIFO, idle transitions, and 4 producers x 1,000,000 messages with no loss,
 * no duplicate and per-producer order, with the consumer woken only through the idle tag. */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/mailbox.h"
#include "tests/support/nd_test.h"

typedef struct item {
	nd_msg_t hdr;
	uint32_t producer;
	uint32_t seq;
} item_t;

ND_TEST(mailbox, starts_idle_and_reports_first_push)
{
	nd_mailbox_t mb;
	item_t a, b;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	nd_mailbox_init(&mb);
	cr_assert(nd_mailbox_is_idle(&mb));
	cr_assert(nd_mailbox_push_mp(&mb, &a.hdr));
	cr_assert_not(nd_mailbox_push_mp(&mb, &b.hdr));
	cr_assert_not(nd_mailbox_is_idle(&mb));
}

ND_TEST(mailbox, fifo_then_idle_again)
{
	enum { N = 1000 };
	static item_t items[N];
	nd_mailbox_t mb;
	nd_mailbox_init(&mb);
	for (uint32_t i = 0; i < N; i++) {
		items[i].seq = i;
		bool was_idle = nd_mailbox_push_mp(&mb, &items[i].hdr);
		cr_assert_eq(was_idle, i == 0);
	}
	cr_assert_not(nd_mailbox_mark_idle_sc(&mb), "not empty: must not go idle");
	for (uint32_t i = 0; i < N; i++) {
		item_t *it = (item_t *)nd_mailbox_pop_sc(&mb);
		cr_assert_not_null(it);
		cr_assert_eq(it->seq, i);
	}
	cr_assert_null(nd_mailbox_pop_sc(&mb));
	cr_assert(nd_mailbox_mark_idle_sc(&mb));
	cr_assert(nd_mailbox_mark_idle_sc(&mb), "marking an idle mailbox idle again is harmless");
	cr_assert(nd_mailbox_push_mp(&mb, &items[0].hdr), "the first push after idle schedules");
	cr_assert_eq(nd_mailbox_pop_sc(&mb), &items[0].hdr);
}

ND_TEST(mailbox, claim_takes_the_idle_state)
{
	nd_mailbox_t mb;
	item_t a;
	memset(&a, 0, sizeof(a));
	nd_mailbox_init(&mb);
	cr_assert(nd_mailbox_claim_idle_sc(&mb));
	cr_assert_not(nd_mailbox_claim_idle_sc(&mb));
	cr_assert_not(nd_mailbox_push_mp(&mb, &a.hdr),
		      "a claimed mailbox is never scheduled again");
	cr_assert_eq(nd_mailbox_pop_sc(&mb), &a.hdr);
	cr_assert_null(nd_mailbox_pop_sc(&mb));
}

enum { PRODUCERS = 4, PER_PRODUCER = 1000000 };

typedef struct shared {
	nd_mailbox_t mb;
	atomic_bool scheduled;
	atomic_long wakeups;
	item_t *items;
} shared_t;

typedef struct producer_arg {
	shared_t *s;
	uint32_t id;
} producer_arg_t;

static void *producer(void *arg)
{
	producer_arg_t *p = arg;
	item_t *mine = p->s->items + (size_t)p->id * PER_PRODUCER;
	for (uint32_t i = 0; i < PER_PRODUCER; i++) {
		mine[i].producer = p->id;
		mine[i].seq = i;
		if (nd_mailbox_push_mp(&p->s->mb, &mine[i].hdr)) {
			atomic_fetch_add(&p->s->wakeups, 1);
			bool was = atomic_exchange(&p->s->scheduled, true);
			cr_assert_not(was, "two producers saw the mailbox idle");
		}
	}
	return NULL;
}

ND_TEST(mailbox, four_producers_no_loss_no_duplicate_fifo_per_producer, .timeout = 120)
{
	shared_t *s = calloc(1, sizeof(*s));
	s->items = calloc((size_t)PRODUCERS * PER_PRODUCER, sizeof(item_t));
	cr_assert_not_null(s->items);
	nd_mailbox_init(&s->mb);
	atomic_init(&s->scheduled, false);
	pthread_t threads[PRODUCERS];
	producer_arg_t args[PRODUCERS];
	for (uint32_t i = 0; i < PRODUCERS; i++) {
		args[i] = (producer_arg_t){s, i};
		pthread_create(&threads[i], NULL, producer, &args[i]);
	}
	uint32_t next[PRODUCERS] = {0};
	long received = 0, idles = 0;
	uint64_t deadline = nd_test_now_ns() + 100ull * 1000000000u;
	while (received < (long)PRODUCERS * PER_PRODUCER) {
		/* Like a worker: run only when a producer scheduled us. */
		while (!atomic_load(&s->scheduled)) {
			cr_assert_lt(nd_test_now_ns(), deadline, "lost wake-up: %ld received",
				     received);
			sched_yield();
		}
		item_t *it;
		while ((it = (item_t *)nd_mailbox_pop_sc(&s->mb)) != NULL) {
			cr_assert_lt(it->producer, PRODUCERS);
			cr_assert_eq(it->seq, next[it->producer],
				     "producer %u: got %u, expected %u", it->producer, it->seq,
				     next[it->producer]);
			next[it->producer]++;
			received++;
		}
		atomic_store(&s->scheduled, false);
		if (!nd_mailbox_mark_idle_sc(&s->mb))
			atomic_store(&s->scheduled, true); /* more arrived: stay scheduled */
		else
			idles++;
	}
	for (uint32_t i = 0; i < PRODUCERS; i++) {
		pthread_join(threads[i], NULL);
		cr_assert_eq(next[i], PER_PRODUCER);
	}
	cr_assert_null(nd_mailbox_pop_sc(&s->mb));
	/* Every idle transition but a final one was ended by exactly one scheduling push. */
	long w = atomic_load(&s->wakeups);
	cr_assert(w == idles || w == idles + 1, "wakeups %ld, idles %ld", w, idles);
	free(s->items);
	free(s);
}
