/* A client subscription as the broker stores it. Subscriptions live in a type-stable pool: their
 * memory is only ever reused as another subscription, after a QSBR grace period, so a worker
 * that recorded (sub, gen) can later check on the subscription's home worker whether it is
 * still the same live subscription (ADR 0005). */
#ifndef ND_ACTORS_SUB_H
#define ND_ACTORS_SUB_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct nd_dest nd_dest_t;

typedef struct nd_sub {
	/* Immutable while the subscription lives; readable from any worker that found it in the
	 * index during its current pass. */
	const char *subject, *queue, *sid; /* one allocation; queue NULL for a plain sub */
	uint32_t subject_len, queue_len, sid_len;
	uint16_t home; /* worker index of the owning client */
	/* A peer's interest (a route's RS+): owner is the peer link, which forwards matching
	 * messages in its own framing, and sid holds the account name. */
	bool remote;
	/* Bumped when the subscription dies; other workers record it, the home worker compares.
	 * relaxed everywhere: it identifies, it does not publish data. */
	_Atomic uint32_t gen;
	/* Remote queue subscriptions: the members behind it (the peer's weight). Written by the
	 * peer link, read by any publisher; relaxed: a hint for spreading load. */
	_Atomic uint32_t weight;

	/* Home worker only. */
	nd_dest_t *owner; /* the client (or, later, peer link) that subscribed */
	bool alive;
	int64_t max; /* auto-unsubscribe after this many deliveries; 0: none */
	int64_t delivered;
	struct nd_sub *sid_next; /* the client's sid table chain */
} nd_sub_t;

#endif
