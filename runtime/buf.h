/* Reference-counted byte buffers, for payloads shared by several actors. A buffer is written
 * by its creator only, before it is shared; after the first nd_buf_ref it is immutable. */
#ifndef ND_RUNTIME_BUF_H
#define ND_RUNTIME_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct nd_buf nd_buf_t;

/* A buffer of `len` uninitialised bytes with one reference, owned by the caller. Aborts on
 * out-of-memory. Any thread. */
nd_buf_t *nd_buf_create(size_t len);

/* A buffer holding a copy of data[0..len). */
nd_buf_t *nd_buf_copy(const void *data, size_t len);

/* Adds a reference and returns buf. Any thread. */
nd_buf_t *nd_buf_ref(nd_buf_t *buf);

/* Drops a reference; the last one frees the buffer. NULL is ignored. Any thread. */
void nd_buf_unref(nd_buf_t *buf);

uint8_t *nd_buf_data(nd_buf_t *buf);
size_t nd_buf_len(const nd_buf_t *buf);

#endif
