/* Raw NATS connections for the load generator. */
#include "bench/e2e/bconn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RBUF (256 * 1024)

uint64_t bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void bconn_set_nonblocking(bconn_t *c, bool on)
{
	int fl = fcntl(c->fd, F_GETFL);
	fcntl(c->fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
}

bool bconn_write(bconn_t *c, const void *buf, size_t n)
{
	const char *p = buf;
	while (n > 0) {
		ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				struct pollfd pf = {.fd = c->fd, .events = POLLOUT};
				poll(&pf, 1, 1000);
				continue;
			}
			c->closed = true;
			return false;
		}
		p += w;
		n -= (size_t)w;
	}
	return true;
}

/* Processes complete lines and messages in rbuf; keeps the incomplete tail. */
static void process(bconn_t *c)
{
	size_t i = 0;
	for (;;) {
		if (c->skip > 0) {
			size_t take = (size_t)c->skip < c->rlen - i ? (size_t)c->skip : c->rlen - i;
			i += take;
			c->skip -= (int64_t)take;
			if (c->skip > 0)
				break;
		}
		char *line = c->rbuf + i;
		char *nl = memchr(line, '\n', c->rlen - i);
		if (nl == NULL)
			break;
		size_t llen = (size_t)(nl - line);
		if (llen > 0 && line[llen - 1] == '\r')
			llen--;
		if (llen >= 4 && (memcmp(line, "MSG ", 4) == 0 || memcmp(line, "HMSG ", 5) == 0)) {
			bool h = line[0] == 'H';
			/* The size is the last token. */
			size_t e = llen;
			size_t s = e;
			while (s > 0 && line[s - 1] != ' ')
				s--;
			int64_t size = strtoll(line + s, NULL, 10);
			size_t body = (size_t)(nl - c->rbuf) + 1;
			if (c->on_msg != NULL && c->rlen - body < (size_t)size + 2)
				break; /* wait for the whole message: the callback needs the payload
					*/
			c->msgs++;
			c->bytes += (uint64_t)size;
			if (c->on_msg != NULL) {
				/* tokens: MSG subj sid [reply] size  |  HMSG subj sid [reply] hdr
				 * total */
				const char *tok[6];
				size_t tl[6];
				int nt = 0;
				size_t k = 0;
				while (k < llen && nt < 6) {
					while (k < llen && line[k] == ' ')
						k++;
					size_t st = k;
					while (k < llen && line[k] != ' ')
						k++;
					if (k > st) {
						tok[nt] = line + st;
						tl[nt] = k - st;
						nt++;
					}
				}
				bool has_reply = nt == (h ? 6 : 5);
				c->on_msg(c, tok[1], tl[1], has_reply ? tok[3] : "",
					  has_reply ? tl[3] : 0, c->rbuf + body, (size_t)size,
					  c->arg);
				i = body + (size_t)size + 2;
				continue;
			}
			i = body;
			c->skip = size + 2;
			continue;
		}
		if (llen == 4 && memcmp(line, "PING", 4) == 0)
			bconn_write(c, "PONG\r\n", 6);
		else if (llen == 4 && memcmp(line, "PONG", 4) == 0)
			c->pongs++;
		else if (llen >= 4 && memcmp(line, "-ERR", 4) == 0) {
			c->errors++;
			fprintf(stderr, "bench: server error: %.*s\n", (int)llen, line);
		}
		i = (size_t)(nl - c->rbuf) + 1;
	}
	memmove(c->rbuf, c->rbuf + i, c->rlen - i);
	c->rlen -= i;
}

ssize_t bconn_read(bconn_t *c)
{
	if (c->rcap - c->rlen < 4096) {
		c->rcap *= 2;
		c->rbuf = realloc(c->rbuf, c->rcap);
	}
	ssize_t n = read(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen);
	if (n == 0) {
		c->closed = true;
		return 0;
	}
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			c->closed = true;
		return -1;
	}
	c->rlen += (size_t)n;
	process(c);
	return n;
}

bool bconn_sync(bconn_t *c, unsigned timeout_ms)
{
	uint64_t want = c->pongs + 1;
	if (!bconn_write(c, "PING\r\n", 6))
		return false;
	uint64_t deadline = bench_now_ns() + (uint64_t)timeout_ms * 1000000u;
	while (c->pongs < want && !c->closed) {
		struct pollfd pf = {.fd = c->fd, .events = POLLIN};
		if (timeout_ms != 0 && bench_now_ns() > deadline)
			return false;
		if (poll(&pf, 1, 100) > 0)
			bconn_read(c);
	}
	return c->pongs >= want;
}

bconn_t *bconn_open(const char *host, int port, const char *name)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return NULL;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, host, &a.sin_addr);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return NULL;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	bconn_t *c = calloc(1, sizeof(*c));
	c->fd = fd;
	c->rcap = RBUF;
	c->rbuf = malloc(c->rcap);
	char hello[256];
	int n =
	    snprintf(hello, sizeof(hello),
		     "CONNECT {\"verbose\":false,\"pedantic\":false,\"name\":\"%s\",\"lang\":\"c\","
		     "\"version\":\"bench\",\"protocol\":1}\r\n",
		     name);
	if (!bconn_write(c, hello, (size_t)n) || !bconn_sync(c, 10000)) {
		bconn_close(c);
		return NULL;
	}
	return c;
}

void bconn_close(bconn_t *c)
{
	if (c == NULL)
		return;
	close(c->fd);
	free(c->rbuf);
	free(c);
}
