/* Intrusive multi-producer single-consumer queue of nd_msg_t (Vyukov's algorithm) with an
 * "idle" tag folded into the head pointer (the Pony runtime's trick): a push that finds the
 * queue idle learns that it, and only it, must schedule the consumer. One atomic exchange per
 * push, no allocation. The struct is public so that it can be embedded; its fields are not. */
#ifndef ND_RUNTIME_MAILBOX_H
#define ND_RUNTIME_MAILBOX_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/msg.h"

typedef struct nd_mailbox {
	/* Written by every producer: on its own cache line so that senders do not bounce the
	 * consumer's line. Low bit set = idle (empty and not scheduled). */
	_Alignas(64) _Atomic(uintptr_t) head;
	/* Consumer-only fields. */
	_Alignas(64) nd_msg_t *tail;
	nd_msg_t stub;
} nd_mailbox_t;

/* Initialises an empty mailbox in the idle state: the first push reports it was idle. */
void nd_mailbox_init(nd_mailbox_t *mb);

/* Appends `msg` (ownership moves to the mailbox). Returns true if the mailbox was idle, in
 * which case the caller must schedule the consumer. Any thread, concurrently. */
bool nd_mailbox_push_mp(nd_mailbox_t *mb, nd_msg_t *msg);

/* Takes the oldest message, or NULL if none is visible yet (empty, or a producer is between
 * its exchange and its link). Ownership moves to the caller. Consumer only. */
nd_msg_t *nd_mailbox_pop_sc(nd_mailbox_t *mb);

/* Marks an empty mailbox idle. Returns false if it is not empty (a message arrived or is being
 * linked): the consumer must then stay scheduled and pop again. True if already idle.
 * Consumer only. */
bool nd_mailbox_mark_idle_sc(nd_mailbox_t *mb);

/* Takes a mailbox out of the idle state without a push, so that no producer will schedule
 * the consumer again. Returns true if it was idle (and is now owned by the caller, empty);
 * false if a producer already took the idle state (the consumer is, or is being, scheduled).
 * Consumer's thread only. Used to retire a stopped actor. */
bool nd_mailbox_claim_idle_sc(nd_mailbox_t *mb);

/* True if the mailbox is in the idle state. A snapshot: producers may change it at once. */
bool nd_mailbox_is_idle(nd_mailbox_t *mb);

#endif
