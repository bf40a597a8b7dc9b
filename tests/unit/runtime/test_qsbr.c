/* QSBR rules: an item is freed only after every online participant passed a quiescent point;
 * offline participants never hold reclamation back; destroy runs what is left. */
#include <stdlib.h>

#include "runtime/qsbr.h"
#include "tests/support/nd_test.h"

static int freed;

static void count_free(void *p)
{
	freed++;
	free(p);
}

ND_TEST(qsbr, waits_for_every_online_participant)
{
	freed = 0;
	nd_qsbr_t *q = nd_qsbr_create(3);
	int a = nd_qsbr_register(q), b = nd_qsbr_register(q), c = nd_qsbr_register(q);
	cr_assert(a >= 0 && b >= 0 && c >= 0);
	cr_assert_eq(nd_qsbr_register(q), -1, "only three slots");
	nd_qsbr_offline(q, (unsigned)c); /* asleep: must not matter */
	nd_qsbr_retire(q, (unsigned)a, malloc(16), count_free);
	cr_assert_eq(nd_qsbr_reclaim(q, (unsigned)a), 1, "nobody was quiescent yet");
	nd_qsbr_quiescent(q, (unsigned)a);
	cr_assert_eq(nd_qsbr_reclaim(q, (unsigned)a), 1, "b may still read it");
	nd_qsbr_quiescent(q, (unsigned)b);
	cr_assert_eq(nd_qsbr_reclaim(q, (unsigned)a), 0);
	cr_assert_eq(freed, 1);
	/* Coming online again does not resurrect old readers. */
	nd_qsbr_online(q, (unsigned)c);
	nd_qsbr_retire(q, (unsigned)a, malloc(16), count_free);
	nd_qsbr_quiescent(q, (unsigned)a);
	nd_qsbr_quiescent(q, (unsigned)b);
	cr_assert_eq(nd_qsbr_reclaim(q, (unsigned)a), 1, "c came online before the retire... ");
	nd_qsbr_quiescent(q, (unsigned)c);
	cr_assert_eq(nd_qsbr_reclaim(q, (unsigned)a), 0);
	nd_qsbr_retire(q, (unsigned)b, malloc(16), count_free);
	nd_qsbr_destroy(q); /* runs the pending one */
	cr_assert_eq(freed, 3);
}

ND_TEST(qsbr, many_retired_items_keep_order)
{
	freed = 0;
	nd_qsbr_t *q = nd_qsbr_create(1);
	int a = nd_qsbr_register(q);
	for (int i = 0; i < 1000; i++)
		nd_qsbr_retire(q, (unsigned)a, malloc(8), count_free);
	nd_qsbr_quiescent(q, (unsigned)a);
	cr_assert_eq(nd_qsbr_reclaim(q, (unsigned)a), 0);
	cr_assert_eq(freed, 1000);
	nd_qsbr_destroy(q);
}
