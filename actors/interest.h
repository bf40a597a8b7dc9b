/* Local interest, counted for peers: how many local subscriptions each (account, subject,
 * queue) has. Peers (routes) are told only what changes their view, as the reference does: a
 * plain subject when its count goes 0 -> 1 and 1 -> 0, a queue group on every change (its
 * count is the weight the peer uses to spread messages) and when it goes to 0. Observers see
 * every current entry once when they start observing, then each change, in order. Any thread:
 * one mutex, taken by SUB and UNSUB only while a peer link may need to know. */
#ifndef ND_ACTORS_INTEREST_H
#define ND_ACTORS_INTEREST_H

#include <stddef.h>
#include <stdint.h>

typedef struct nd_interest nd_interest_t;

/* One entry as an observer sees it. count 0: the interest is gone. queue NULL: plain. Views
 * valid during the call only. */
typedef struct nd_interest_change {
	const char *account;
	const char *subject;
	size_t subject_len;
	const char *queue;
	size_t queue_len;
	uint32_t count;
} nd_interest_change_t;

/* Called with the registry's lock held: must not call back into it (sending an actor message
 * is fine). */
typedef void (*nd_interest_fn)(void *ctx, const nd_interest_change_t *c);

nd_interest_t *nd_interest_create(void);
void nd_interest_destroy(nd_interest_t *it);

/* A local subscription was added / removed. queue NULL or queue_len 0: plain. */
void nd_interest_add(nd_interest_t *it, const char *account, const char *subject,
		     size_t subject_len, const char *queue, size_t queue_len);
void nd_interest_remove(nd_interest_t *it, const char *account, const char *subject,
			size_t subject_len, const char *queue, size_t queue_len);

/* Starts observing: replay(replay_ctx, entry) for every current entry (count > 0), then
 * replay_done(replay_ctx), all under the lock, then fn(ctx, change) for each later change.
 * Returns an id for nd_interest_unobserve. */
uint64_t nd_interest_observe(nd_interest_t *it, nd_interest_fn fn, void *ctx, nd_interest_fn replay,
			     void (*replay_done)(void *replay_ctx), void *replay_ctx);
void nd_interest_unobserve(nd_interest_t *it, uint64_t id);

/* Distinct entries now (for monitoring and tests). */
size_t nd_interest_count(nd_interest_t *it);

#endif
