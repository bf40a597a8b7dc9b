/* A connection's outbound bytes: a list of chunks appended to by deliveries and drained by
 * writev. Owned by the connection's home worker; no locking. Holds no memory while empty, so
 * idle connections cost nothing here. */
#ifndef ND_ACTORS_OUTBUF_H
#define ND_ACTORS_OUTBUF_H

#include <stddef.h>
#include <sys/types.h>

typedef struct nd_outbuf_chunk nd_outbuf_chunk_t;

typedef struct nd_outbuf {
	nd_outbuf_chunk_t *head, *tail;
	size_t head_off; /* bytes of head already written */
	size_t pending;  /* bytes appended and not yet written */
} nd_outbuf_t;

void nd_outbuf_init(nd_outbuf_t *ob);

/* Frees every chunk (pending bytes are dropped). */
void nd_outbuf_clear(nd_outbuf_t *ob);

/* Returns room for n contiguous bytes at the end; nd_outbuf_commit(ob, n) makes them pending.
 * Aborts on out-of-memory (memory is bounded by the caller's max_pending check). */
char *nd_outbuf_reserve(nd_outbuf_t *ob, size_t n);
void nd_outbuf_commit(nd_outbuf_t *ob, size_t n);

/* Appends a copy of data[0..n). */
void nd_outbuf_append(nd_outbuf_t *ob, const void *data, size_t n);

/* Writes as much as the socket takes with one sendmsg of up to 1024 chunks. Returns bytes
 * written (>= 0), or -errno; -EAGAIN when the socket is full. */
ssize_t nd_outbuf_write(nd_outbuf_t *ob, int fd);

/* For writers other than a socket (TLS): the first unwritten bytes (one chunk's worth, *len
 * of them; NULL when empty), and dropping n bytes once written. */
const char *nd_outbuf_front(const nd_outbuf_t *ob, size_t *len);
void nd_outbuf_consume(nd_outbuf_t *ob, size_t n);

static inline size_t nd_outbuf_pending(const nd_outbuf_t *ob)
{
	return ob->pending;
}

#endif
