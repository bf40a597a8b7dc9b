/* The timing wheel against a brute-force model: every entry expires exactly once, not before
 * its time, not after the first advance past it, in expiry order. */
#include <stdlib.h>

#include "runtime/timer_wheel.h"
#include "tests/support/nd_test.h"

ND_TEST(timer_wheel, expires_in_order_including_cascades)
{
	static nd_wheel_t w;
	nd_wheel_init(&w, 1000);
	static const uint64_t delays[] = {5000, 1, 64, 63, 4096, 4095, 300000, 0, 70, 262144};
	enum { N = sizeof(delays) / sizeof(delays[0]) };
	nd_wheel_entry_t e[N];
	for (unsigned i = 0; i < N; i++) {
		nd_wheel_entry_init(&e[i]);
		nd_wheel_insert(&w, &e[i], 1000 + delays[i]);
	}
	uint64_t last = 0;
	unsigned fired = 0;
	for (uint64_t now = 1000; fired < N; now += 7) {
		cr_assert_lt(now, 1000 + 400000u, "entries never expired");
		uint64_t next = nd_wheel_next(&w);
		cr_assert_geq(next, w.now, "next is never in the past unless something is due");
		nd_wheel_advance(&w, now);
		nd_wheel_entry_t *x;
		while ((x = nd_wheel_pop_due(&w)) != NULL) {
			cr_assert_leq(x->expires, now, "expired early");
			cr_assert_gt(x->expires + 7, now, "expired late");
			cr_assert_geq(x->expires, last, "out of order");
			last = x->expires;
			fired++;
		}
	}
	cr_assert_eq(w.count, 0);
	cr_assert_eq(nd_wheel_next(&w), UINT64_MAX);
}

ND_TEST(timer_wheel, next_is_exact_for_near_entries_and_never_late)
{
	static nd_wheel_t w;
	nd_wheel_init(&w, 60);
	nd_wheel_entry_t a, b;
	nd_wheel_entry_init(&a);
	nd_wheel_entry_init(&b);
	nd_wheel_insert(&w, &a, 70); /* crosses a 64 ms boundary */
	cr_assert_eq(nd_wheel_next(&w), 70);
	nd_wheel_insert(&w, &b, 60 + 100000);
	cr_assert_eq(nd_wheel_next(&w), 70);
	nd_wheel_remove(&w, &a);
	cr_assert_leq(nd_wheel_next(&w), 60 + 100000);
	nd_wheel_remove(&w, &b);
	cr_assert_eq(nd_wheel_next(&w), UINT64_MAX);
	cr_assert_not(nd_wheel_entry_linked(&a));
}

ND_TEST(timer_wheel, same_millisecond_keeps_insertion_order)
{
	static nd_wheel_t w;
	nd_wheel_init(&w, 0);
	nd_wheel_entry_t e[5];
	for (int i = 0; i < 5; i++) {
		nd_wheel_entry_init(&e[i]);
		nd_wheel_insert(&w, &e[i], 500);
	}
	nd_wheel_advance(&w, 500);
	for (int i = 0; i < 5; i++)
		cr_assert_eq(nd_wheel_pop_due(&w), &e[i]);
}

/* Random inserts, removals and clock jumps, checked against "expires <= now". */
ND_TEST(timer_wheel, random_operations_match_a_model, .timeout = 60)
{
	enum { N = 2000 };
	static nd_wheel_t w;
	static nd_wheel_entry_t e[N];
	static bool armed[N];
	srand(42);
	uint64_t now = 123456;
	nd_wheel_init(&w, now);
	for (int i = 0; i < N; i++)
		nd_wheel_entry_init(&e[i]);
	for (int step = 0; step < 20000; step++) {
		int i = rand() % N;
		int op = rand() % 4;
		if (op == 0 && !armed[i]) {
			uint64_t d = (uint64_t)rand() % (rand() % 2 ? 100u : 10000000u);
			nd_wheel_insert(&w, &e[i], now + d);
			armed[i] = true;
		} else if (op == 1 && armed[i]) {
			nd_wheel_remove(&w, &e[i]);
			armed[i] = false;
		} else if (op == 2) {
			now += (uint64_t)rand() % (rand() % 8 ? 50u : 500000u);
			nd_wheel_advance(&w, now);
			nd_wheel_entry_t *x;
			uint64_t last = 0;
			while ((x = nd_wheel_pop_due(&w)) != NULL) {
				int k = (int)(x - e);
				cr_assert(armed[k], "an entry expired twice or after removal");
				cr_assert_leq(x->expires, now);
				cr_assert_geq(x->expires, last);
				last = x->expires;
				armed[k] = false;
			}
			for (int k = 0; k < N; k++)
				if (armed[k])
					cr_assert_gt(e[k].expires, now, "entry %d overdue", k);
		}
		uint64_t next = nd_wheel_next(&w);
		for (int k = 0; k < N; k++)
			if (armed[k])
				cr_assert_leq(next, e[k].expires, "next() is late for entry %d", k);
	}
}
