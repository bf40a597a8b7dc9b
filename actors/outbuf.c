/* Chunks grow with the backlog: the first is small (a connection that receives little keeps
 * little), later ones are 16 KiB, and an append bigger than that gets a chunk of its own size. */
#include "actors/outbuf.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#define FIRST_CHUNK 1024
#define CHUNK 16384
#define MAX_IOV 1024

struct nd_outbuf_chunk {
	nd_outbuf_chunk_t *next;
	size_t cap, len;
	char data[];
};

void nd_outbuf_init(nd_outbuf_t *ob)
{
	memset(ob, 0, sizeof(*ob));
}

void nd_outbuf_clear(nd_outbuf_t *ob)
{
	nd_outbuf_chunk_t *c = ob->head;
	while (c != NULL) {
		nd_outbuf_chunk_t *next = c->next;
		free(c);
		c = next;
	}
	nd_outbuf_init(ob);
}

char *nd_outbuf_reserve(nd_outbuf_t *ob, size_t n)
{
	nd_outbuf_chunk_t *t = ob->tail;
	if (t != NULL && t->cap - t->len >= n)
		return t->data + t->len;
	size_t cap = t == NULL && ob->head == NULL && n <= FIRST_CHUNK ? FIRST_CHUNK : CHUNK;
	if (cap < n)
		cap = n;
	nd_outbuf_chunk_t *c = malloc(sizeof(*c) + cap);
	if (c == NULL)
		abort();
	c->next = NULL;
	c->cap = cap;
	c->len = 0;
	if (t != NULL)
		t->next = c;
	else
		ob->head = c;
	ob->tail = c;
	return c->data;
}

void nd_outbuf_commit(nd_outbuf_t *ob, size_t n)
{
	ob->tail->len += n;
	ob->pending += n;
}

void nd_outbuf_append(nd_outbuf_t *ob, const void *data, size_t n)
{
	if (n == 0)
		return;
	/* Fill the current tail first, then one new chunk for the rest. */
	nd_outbuf_chunk_t *t = ob->tail;
	if (t != NULL && t->cap > t->len) {
		size_t room = t->cap - t->len;
		size_t k = room < n ? room : n;
		memcpy(t->data + t->len, data, k);
		nd_outbuf_commit(ob, k);
		data = (const char *)data + k;
		n -= k;
		if (n == 0)
			return;
	}
	memcpy(nd_outbuf_reserve(ob, n), data, n);
	nd_outbuf_commit(ob, n);
}

ssize_t nd_outbuf_write(nd_outbuf_t *ob, int fd)
{
	if (ob->pending == 0)
		return 0;
	struct iovec iov[MAX_IOV];
	int n = 0;
	size_t off = ob->head_off;
	for (nd_outbuf_chunk_t *c = ob->head; c != NULL && n < MAX_IOV; c = c->next) {
		if (c->len > off) {
			iov[n].iov_base = c->data + off;
			iov[n].iov_len = c->len - off;
			n++;
		}
		off = 0;
	}
	struct msghdr msg = {.msg_iov = iov, .msg_iovlen = (size_t)n};
	ssize_t w;
	do {
		/* MSG_NOSIGNAL: an embedding process may not ignore SIGPIPE. */
		w = sendmsg(fd, &msg, MSG_NOSIGNAL);
	} while (w < 0 && errno == EINTR);
	if (w < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	nd_outbuf_consume(ob, (size_t)w);
	return w;
}

const char *nd_outbuf_front(const nd_outbuf_t *ob, size_t *len)
{
	for (nd_outbuf_chunk_t *c = ob->head; c != NULL; c = c->next) {
		size_t off = c == ob->head ? ob->head_off : 0;
		if (c->len > off) {
			*len = c->len - off;
			return c->data + off;
		}
	}
	*len = 0;
	return NULL;
}

void nd_outbuf_consume(nd_outbuf_t *ob, size_t n)
{
	size_t left = n;
	ob->pending -= left;
	while (left > 0) {
		nd_outbuf_chunk_t *c = ob->head;
		size_t avail = c->len - ob->head_off;
		if (left < avail) {
			ob->head_off += left;
			break;
		}
		left -= avail;
		ob->head = c->next;
		ob->head_off = 0;
		if (ob->head == NULL)
			ob->tail = NULL;
		free(c);
	}
	/* A drained head that is also the tail is kept for reuse only if it was fully written. */
	if (ob->head != NULL && ob->head == ob->tail && ob->head_off == ob->head->len) {
		free(ob->head);
		ob->head = ob->tail = NULL;
		ob->head_off = 0;
	}
}
