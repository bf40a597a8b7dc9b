/* One allocation per buffer: header and bytes together. */
#include "runtime/buf.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct nd_buf {
	atomic_uint refs;
	size_t len;
	_Alignas(16) uint8_t data[];
};

nd_buf_t *nd_buf_create(size_t len)
{
	nd_buf_t *b = malloc(sizeof(*b) + len);
	if (b == NULL) {
		fputs("natsd: out of memory\n", stderr);
		abort();
	}
	atomic_init(&b->refs, 1);
	b->len = len;
	return b;
}

nd_buf_t *nd_buf_copy(const void *data, size_t len)
{
	nd_buf_t *b = nd_buf_create(len);
	if (len > 0)
		memcpy(b->data, data, len);
	return b;
}

nd_buf_t *nd_buf_ref(nd_buf_t *buf)
{
	/* relaxed: a new reference is made from an existing one; the bytes were published to
	 * this thread by whatever handed it the existing reference. */
	atomic_fetch_add_explicit(&buf->refs, 1, memory_order_relaxed);
	return buf;
}

void nd_buf_unref(nd_buf_t *buf)
{
	if (buf == NULL)
		return;
	/* acq_rel: every holder's reads happen-before the free by the last one. */
	if (atomic_fetch_sub_explicit(&buf->refs, 1, memory_order_acq_rel) == 1)
		free(buf);
}

uint8_t *nd_buf_data(nd_buf_t *buf)
{
	return buf->data;
}

size_t nd_buf_len(const nd_buf_t *buf)
{
	return buf->len;
}
