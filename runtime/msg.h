/* A message is the unit an actor receives. It is a header embedded as the first member of a
 * caller-defined struct; the runtime links it through mailboxes and releases it when nobody
 * will process it. It is not a byte buffer: payloads travel as nd_buf_t references inside. */
#ifndef ND_RUNTIME_MSG_H
#define ND_RUNTIME_MSG_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct nd_runtime nd_runtime_t;
typedef struct nd_msg nd_msg_t;

/* Called once before the memory of a message is returned, for messages that own resources
 * (buffer references, file descriptors). May run on any thread. */
typedef void (*nd_msg_dtor_fn)(nd_msg_t *msg);

/* Fields are private to the runtime except `type`, which the receiver interprets. */
struct nd_msg {
	_Atomic(nd_msg_t *) next; /* mailbox link; owned by the mailbox while queued */
	nd_msg_dtor_fn dtor;      /* optional; see nd_msg_dtor_fn */
	uint32_t weight;          /* bytes this message stands for (per-turn byte budget) */
	uint16_t type;            /* meaning defined by the receiving actor */
	uint8_t size_class;       /* runtime: which pool the memory came from */
	uint8_t flags;            /* runtime: ND_MSG_F_* */
};

/* Allocates a zeroed message of `size` bytes (>= sizeof(nd_msg_t)) with the given type, from
 * the calling worker's pool (or a shared pool off-worker). The caller owns it until it sends
 * it; nd_actor_send consumes it. Never returns NULL (allocation failure aborts). Any thread. */
void *nd_msg_alloc(nd_runtime_t *rt, size_t size, uint16_t type);

/* Runs the message's dtor (if any) and returns its memory. The receiver of a message calls
 * this when done with it, unless it forwards the message. Any thread. */
void nd_msg_free(nd_msg_t *msg);

#endif
