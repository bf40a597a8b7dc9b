/* The per-worker delivery path (design.md, "the publish path"):
 * - a publisher matches through this worker's match cache and hands each matching
 *   subscription its message: directly if the subscription lives on this worker, otherwise
 *   into one envelope per destination worker for the whole pass;
 * - at the end of the pass every envelope is one message to that worker's router actor, which
 *   hands the messages to its destinations;
 * - then every destination that got data this pass is flushed once.
 * Everything but nd_delivery_install runs on the worker it belongs to. */
#ifndef ND_ACTORS_DELIVERY_H
#define ND_ACTORS_DELIVERY_H

#include <stdbool.h>
#include <stddef.h>

#include "actors/account.h"
#include "actors/dest.h"
#include "runtime/runtime.h"

typedef struct nd_delivery nd_delivery_t;
typedef struct nd_delivery_shared nd_delivery_shared_t;

/* Registers the per-worker hooks and creates one router actor per worker. Before
 * nd_runtime_start. Returns the shared part, owned by the caller (nd_delivery_uninstall after
 * the runtime was destroyed... or shut down). */
nd_delivery_shared_t *nd_delivery_install(nd_runtime_t *rt);

/* Frees the shared part, after nd_runtime_shutdown. */
void nd_delivery_uninstall(nd_delivery_shared_t *sh);

/* The calling worker's delivery state. */
nd_delivery_t *nd_delivery_current(nd_delivery_shared_t *sh);

/* A 64 KiB buffer for socket reads, shared by every connection of the worker: connections keep
 * no read buffer of their own (the parser copies what straddles reads). */
char *nd_delivery_read_buffer(nd_delivery_t *d, size_t *size);

/* The subscriptions matching subject in acc, from the worker's cache (validated by the
 * account's generation) or freshly matched. Valid until the next call. */
const nd_match_t *nd_delivery_match(nd_delivery_t *d, nd_account_t *acc, const char *subject,
				    size_t len);

/* Delivers m to every subscription in r: each plain one, and one member of each queue group
 * (local members first, then a remote one by weight); each peer link with matching interest
 * gets the message once (dest.h deliver_remote). origin/echo: skip origin's own
 * subscriptions unless echo. Returns how many deliveries were made or handed to other
 * workers or peers. */
size_t nd_delivery_publish(nd_delivery_t *d, const nd_match_t *r, const nd_pubmsg_t *m,
			   const nd_dest_t *origin, bool echo);

/* Delivers a message that came from a peer link (a route): to local subscriptions only,
 * never back out to other links (a full mesh is one hop), and to queue groups only those the
 * peer listed in queues[0..qlen) (names separated by spaces) as chosen by the origin server.
 * Returns how many deliveries were made or handed to other workers. */
size_t nd_delivery_publish_routed(nd_delivery_t *d, const nd_match_t *r, const nd_pubmsg_t *m,
				  const char *queues, size_t qlen);

/* Flush dest at the end of this pass. */
void nd_delivery_mark_dirty(nd_delivery_t *d, nd_dest_t *dest);

/* Takes dest off the flush list (a destination that is going away). */
void nd_delivery_unmark_dirty(nd_delivery_t *d, nd_dest_t *dest);

/* Flow control between workers. Bytes this worker sent to another and that worker has not
 * routed yet are bounded: past a high mark, a connection that just published should stop
 * reading (nd_delivery_pause); it is resumed (ops->resume) once every destination worker is
 * back under the low mark. */
bool nd_delivery_over_budget(nd_delivery_t *d);
void nd_delivery_pause(nd_delivery_t *d, nd_dest_t *dest);
/* Forgets a paused destination that is going away. */
void nd_delivery_unpause(nd_delivery_t *d, nd_dest_t *dest);

/* This worker's index. */
unsigned nd_delivery_worker_index(const nd_delivery_t *d);

/* A random number from the worker's generator (queue member choice, ping jitter). */
uint64_t nd_delivery_random(nd_delivery_t *d);

#endif
