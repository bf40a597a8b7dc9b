/* Pools: reuse on the owner, batched return of objects freed by other threads, live counts. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/pool.h"
#include "tests/support/nd_test.h"

static const char domain[] = "pool-test";

ND_TEST(pool, reuses_freed_objects_on_the_same_thread)
{
	nd_pool_t *p = nd_pool_create(domain, 2, 40, "t");
	nd_pool_bind_thread(domain, 0);
	void *a = nd_pool_alloc(p);
	memset(a, 0xAB, 40);
	cr_assert_eq(nd_pool_obj_size(a), 48, "sizes round up to 16");
	nd_pool_free(a);
	void *b = nd_pool_alloc(p);
	cr_assert_eq(a, b, "a free on the owner is reused at once");
	nd_pool_free(b);
	cr_assert_eq(nd_pool_live(p), 0);
	cr_assert_eq(nd_pool_destroy(p), 0);
	nd_pool_bind_thread(NULL, 0);
}

ND_TEST(pool, rejects_impossible_sizes)
{
	cr_assert_null(nd_pool_create(domain, 1, 0, "t"));
	cr_assert_null(nd_pool_create(domain, 1, 1 << 20, "t"));
}

ND_TEST(pool, destroy_reports_leaks)
{
	nd_pool_t *p = nd_pool_create(domain, 1, 64, "t");
	(void)nd_pool_alloc(p);
	(void)nd_pool_alloc(p);
	cr_assert_eq(nd_pool_destroy(p), 2);
}

enum { OBJS = 20000 };

typedef struct xfer {
	nd_pool_t *pool;
	void **objs;
} xfer_t;

static void *free_on_slot1(void *arg)
{
	xfer_t *x = arg;
	nd_pool_bind_thread(domain, 1);
	for (int i = 0; i < OBJS; i++)
		nd_pool_free(x->objs[i]);
	nd_pool_maintain(x->pool); /* sends the last partial batch home */
	return NULL;
}

ND_TEST(pool, remote_frees_come_home_in_batches)
{
	xfer_t x = {nd_pool_create(domain, 2, 64, "t"), calloc(OBJS, sizeof(void *))};
	nd_pool_bind_thread(domain, 0);
	for (int i = 0; i < OBJS; i++)
		x.objs[i] = nd_pool_alloc(x.pool);
	cr_assert_eq(nd_pool_live(x.pool), OBJS);
	pthread_t t;
	pthread_create(&t, NULL, free_on_slot1, &x);
	pthread_join(t, NULL);
	cr_assert_eq(nd_pool_live(x.pool), 0);
	/* Reallocating them on slot 0 must not need a single new slab: they came home. */
	void *first = x.objs[0];
	for (int i = 0; i < OBJS; i++)
		x.objs[i] = nd_pool_alloc(x.pool);
	bool found = false;
	for (int i = 0; i < OBJS && !found; i++)
		found = x.objs[i] == first;
	cr_assert(found, "objects freed remotely were not returned to their owner");
	for (int i = 0; i < OBJS; i++)
		nd_pool_free(x.objs[i]);
	cr_assert_eq(nd_pool_destroy(x.pool), 0);
	free(x.objs);
	nd_pool_bind_thread(NULL, 0);
}

static void *unbound_churn(void *arg)
{
	nd_pool_t *p = arg;
	for (int i = 0; i < OBJS; i++)
		nd_pool_free(nd_pool_alloc(p));
	return NULL;
}

ND_TEST(pool, unbound_threads_share_a_locked_cache)
{
	nd_pool_t *p = nd_pool_create(domain, 1, 32, "t");
	pthread_t t[3];
	for (int i = 0; i < 3; i++)
		pthread_create(&t[i], NULL, unbound_churn, p);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	cr_assert_eq(nd_pool_destroy(p), 0);
}
