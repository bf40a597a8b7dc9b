/* Race test: 4 producers push into one mailbox while a consumer drains it and goes idle
 * whenever it sees it empty; producers that find it idle wake the consumer. Checks no loss,
 * no duplicate, FIFO per producer, and exactly one waker per idle period. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "runtime/mailbox.h"
#include "tests/stress/stress.h"

enum { PRODUCERS = 4, PER_PRODUCER = 200000 };

typedef struct item {
	nd_msg_t hdr;
	unsigned producer, seq;
} item_t;

static nd_mailbox_t mb;
static atomic_bool scheduled;
static item_t *items;

static void *produce(void *arg)
{
	unsigned id = (unsigned)(size_t)arg;
	for (unsigned i = 0; i < PER_PRODUCER; i++) {
		item_t *it = &items[id * PER_PRODUCER + i];
		it->producer = id;
		it->seq = i;
		if (nd_mailbox_push_mp(&mb, &it->hdr))
			CHECK(!atomic_exchange(&scheduled, true),
			      "two producers saw the mailbox idle");
	}
	return NULL;
}

int main(void)
{
	items = calloc((size_t)PRODUCERS * PER_PRODUCER, sizeof(item_t));
	nd_mailbox_init(&mb);
	pthread_t t[PRODUCERS];
	for (size_t i = 0; i < PRODUCERS; i++)
		pthread_create(&t[i], NULL, produce, (void *)i);
	unsigned next[PRODUCERS] = {0};
	long got = 0;
	unsigned long long deadline = stress_now_ms() + 120000;
	while (got < (long)PRODUCERS * PER_PRODUCER) {
		while (!atomic_load(&scheduled)) {
			CHECK(stress_now_ms() < deadline, "lost wake-up after %ld messages", got);
			sched_yield();
		}
		item_t *it;
		while ((it = (item_t *)nd_mailbox_pop_sc(&mb)) != NULL) {
			CHECK(it->seq == next[it->producer], "producer %u out of order",
			      it->producer);
			next[it->producer]++;
			got++;
		}
		atomic_store(&scheduled, false);
		if (!nd_mailbox_mark_idle_sc(&mb))
			atomic_store(&scheduled, true);
	}
	for (int i = 0; i < PRODUCERS; i++)
		pthread_join(t[i], NULL);
	CHECK(nd_mailbox_pop_sc(&mb) == NULL, "extra message");
	free(items);
	puts("stress_mailbox: ok");
	return 0;
}
