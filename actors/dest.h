/* Delivery destinations: what a subscription delivers to. A client connection is one; peer
 * links (routes, gateways, leaf nodes) will be others, with their own framing. A destination
 * lives on one worker; everything here runs on that worker. */
#ifndef ND_ACTORS_DEST_H
#define ND_ACTORS_DEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "actors/sub.h"

/* A published message as it travels: views valid for the duration of the call that gets it. */
typedef struct nd_pubmsg {
	const char *subject, *reply, *size_tok, *hdr_tok, *payload;
	uint32_t subject_len, reply_len, size_tok_len, hdr_tok_len;
	int64_t hdr;  /* header bytes at the start of the payload; 0 when none */
	int64_t size; /* payload bytes, headers included */
} nd_pubmsg_t;

typedef struct nd_dest_ops {
	/* Queues m for sub, a live subscription of this destination. Returns false if refused
	 * (closing, auto-unsubscribe limit reached, slow consumer). May mark the destination
	 * dirty (nd_delivery_mark_dirty). */
	bool (*deliver)(nd_dest_t *d, nd_sub_t *sub, const nd_pubmsg_t *m);
	/* Writes what is pending; called at the end of the pass for dirty destinations. */
	void (*flush)(nd_dest_t *d);
	/* Starts reading again after a flow-control pause (nd_delivery_pause). */
	void (*resume)(nd_dest_t *d);
	/* Peer links only (their subscriptions are remote): forwards m once for all of this
	 * link's subscriptions that matched it, subs[0..n): plain ones, and the queue members
	 * chosen for their groups. NULL for clients. */
	void (*deliver_remote)(nd_dest_t *d, const nd_pubmsg_t *m, nd_sub_t *const *subs, size_t n);
} nd_dest_ops_t;

struct nd_dest {
	const nd_dest_ops_t *ops;
	nd_dest_t *dirty_next;
	nd_dest_t *paused_next;
	bool dirty;
	bool paused;
};

#endif
