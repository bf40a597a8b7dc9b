/* Vyukov intrusive MPSC queue with an embedded stub and a Pony-style idle tag on head.
 * Memory orders are C11 (<stdatomic.h>) so that ThreadSanitizer sees every hand-off; on
 * x86-64 they compile to the same XCHG/MOV/LOCK CMPXCHG as ck_pr (see docs/adr/0002). */
#include "runtime/mailbox.h"

#define IDLE_BIT ((uintptr_t)1)

static inline nd_msg_t *untag(uintptr_t v)
{
	return (nd_msg_t *)(v & ~IDLE_BIT);
}

void nd_mailbox_init(nd_mailbox_t *mb)
{
	atomic_init(&mb->stub.next, NULL);
	mb->tail = &mb->stub;
	atomic_init(&mb->head, (uintptr_t)&mb->stub | IDLE_BIT);
}

/* Returns the previous head, tag included. */
static inline uintptr_t push_link(nd_mailbox_t *mb, nd_msg_t *msg)
{
	/* relaxed: published by the release half of the exchange below. */
	atomic_store_explicit(&msg->next, NULL, memory_order_relaxed);
	/* acq_rel: release publishes msg (payload and NULL link) to the next producer, which
	 * writes msg->next; acquire makes the previous producer's msg, or the consumer's
	 * mark-idle state, visible before we write prev->next or schedule the consumer. */
	uintptr_t prev = atomic_exchange_explicit(&mb->head, (uintptr_t)msg, memory_order_acq_rel);
	/* release: the consumer's acquire load of prev->next must see msg's contents. Between
	 * the exchange and this store the chain is broken; pop treats that as "not yet". */
	atomic_store_explicit(&untag(prev)->next, msg, memory_order_release);
	return prev;
}

bool nd_mailbox_push_mp(nd_mailbox_t *mb, nd_msg_t *msg)
{
	return (push_link(mb, msg) & IDLE_BIT) != 0;
}

nd_msg_t *nd_mailbox_pop_sc(nd_mailbox_t *mb)
{
	nd_msg_t *tail = mb->tail;
	/* acquire: pairs with the producer's release store of the link (message contents). */
	nd_msg_t *next = atomic_load_explicit(&tail->next, memory_order_acquire);
	if (tail == &mb->stub) {
		if (next == NULL)
			return NULL;
		mb->tail = next;
		tail = next;
		next = atomic_load_explicit(&tail->next, memory_order_acquire);
	}
	if (next != NULL) {
		mb->tail = next;
		return tail;
	}
	/* tail is the newest linked message. It can be handed out only once something follows
	 * it, so put the stub behind it. relaxed: only compared, never dereferenced. */
	uintptr_t head = atomic_load_explicit(&mb->head, memory_order_relaxed);
	if (untag(head) != tail)
		return NULL; /* a producer is between exchange and link: try again later */
	push_link(mb, &mb->stub);
	next = atomic_load_explicit(&tail->next, memory_order_acquire);
	if (next != NULL) {
		mb->tail = next;
		return tail;
	}
	return NULL;
}

bool nd_mailbox_mark_idle_sc(nd_mailbox_t *mb)
{
	if (mb->tail != &mb->stub)
		return false;
	uintptr_t stub = (uintptr_t)&mb->stub;
	uintptr_t expected = stub;
	/* release: what the consumer did before going idle happens-before the work of the
	 * producer that takes the idle state (its acq_rel exchange) and schedules us again.
	 * Fails if head moved past the stub: a message is queued or being linked. */
	if (atomic_compare_exchange_strong_explicit(&mb->head, &expected, stub | IDLE_BIT,
						    memory_order_release, memory_order_relaxed))
		return true;
	return expected == (stub | IDLE_BIT); /* already idle */
}

bool nd_mailbox_claim_idle_sc(nd_mailbox_t *mb)
{
	uintptr_t expected = (uintptr_t)&mb->stub | IDLE_BIT;
	/* acquire: pairs with our own earlier release in mark_idle; nothing else to see. A
	 * failure means a producer owns the transition and will schedule (or has scheduled). */
	return atomic_compare_exchange_strong_explicit(&mb->head, &expected, (uintptr_t)&mb->stub,
						       memory_order_acquire, memory_order_relaxed);
}

bool nd_mailbox_is_idle(nd_mailbox_t *mb)
{
	/* relaxed: a snapshot for diagnostics and tests, never used to transfer ownership. */
	return (atomic_load_explicit(&mb->head, memory_order_relaxed) & IDLE_BIT) != 0;
}
