/* Raw NATS connections for the load generator. */
#include "bench/e2e/bconn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RBUF (256 * 1024)

/* The client side of TLS: one context for every connection of the process, made before the
 * first TLS connection opens (bconn_tls_init). */
static SSL_CTX *tls_ctx;

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

/* Waits until fd is ready for events (a second at most: the caller retries). */
static void wait_fd(int fd, short events)
{
	struct pollfd pf = {.fd = fd, .events = events};
	poll(&pf, 1, 1000);
}

static bool tls_write(bconn_t *c, const char *p, size_t n)
{
	while (n > 0) {
		int w = SSL_write(c->ssl, p, n > (1u << 30) ? 1 << 30 : (int)n);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		int e = SSL_get_error(c->ssl, w);
		if (e == SSL_ERROR_WANT_WRITE)
			wait_fd(c->fd, POLLOUT);
		else if (e == SSL_ERROR_WANT_READ)
			wait_fd(c->fd, POLLIN);
		else if (e == SSL_ERROR_SYSCALL && errno == EINTR)
			continue;
		else {
			c->closed = true;
			return false;
		}
	}
	return true;
}

bool bconn_write(bconn_t *c, const void *buf, size_t n)
{
	const char *p = buf;
	if (c->ssl != NULL)
		return tls_write(c, p, n);
	while (n > 0) {
		ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				wait_fd(c->fd, POLLOUT);
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

static void reserve(bconn_t *c)
{
	if (c->rcap - c->rlen < 4096) {
		c->rcap *= 2;
		c->rbuf = realloc(c->rbuf, c->rcap);
	}
}

/* One SSL_read returns at most one record (16 KiB), and with read-ahead the session may hold
 * more records than the socket shows: keep reading while the session has buffered bytes, so
 * that a caller polling the socket next never waits for data that already arrived. In
 * non-blocking mode SSL_ERROR_WANT_READ/WRITE ends the pass like EAGAIN. */
static ssize_t tls_read(bconn_t *c)
{
	ssize_t total = 0;
	for (;;) {
		reserve(c);
		size_t room = c->rcap - c->rlen;
		int n =
		    SSL_read(c->ssl, c->rbuf + c->rlen, room > (1u << 30) ? 1 << 30 : (int)room);
		if (n > 0) {
			c->rlen += (size_t)n;
			total += n;
			process(c);
			if (SSL_pending(c->ssl) > 0 || SSL_has_pending(c->ssl))
				continue;
			return total;
		}
		int e = SSL_get_error(c->ssl, n);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
			return total > 0 ? total : -1;
		if (e == SSL_ERROR_SYSCALL && errno == EINTR)
			continue;
		/* close_notify, EOF or a TLS error: the connection is over. */
		c->closed = true;
		return total;
	}
}

ssize_t bconn_read(bconn_t *c)
{
	if (c->ssl != NULL)
		return tls_read(c);
	reserve(c);
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

bool bconn_tls_init(const char *ca_file)
{
	if (tls_ctx != NULL)
		return true;
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL)
		return false;
	if (ca_file != NULL) {
		if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
			fprintf(stderr, "bench: cannot load CA %s\n", ca_file);
			ERR_print_errors_fp(stderr);
			SSL_CTX_free(ctx);
			return false;
		}
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	} else {
		/* No CA given ('run' against a server whose CA we do not have): a bench measures
		 * the server's speed, not its identity, so any certificate is accepted. The
		 * handshake costs the same either way (OpenSSL checks the chain even with
		 * VERIFY_NONE). */
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	}
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* Read as much as the socket has in one recv: fewer syscalls for the subscribers. */
	SSL_CTX_set_read_ahead(ctx, 1);
	SSL_CTX_set_default_read_buffer_len(ctx, 128 * 1024);
	/* Every connection makes a full handshake: tls_handshakes measures those, not
	 * resumptions. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	tls_ctx = ctx;
	return true;
}

/* Reads the server's INFO line in clear (nothing follows it until the client starts TLS), then
 * performs the handshake on the blocking socket. */
static bool tls_start(bconn_t *c, const char *host)
{
	while (memchr(c->rbuf, '\n', c->rlen) == NULL) {
		if (c->rlen == c->rcap)
			return false;
		ssize_t n = read(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		c->rlen += (size_t)n;
	}
	c->rlen = 0;
	if (tls_ctx == NULL) {
		fputs("bench: TLS connection before bconn_tls_init\n", stderr);
		return false;
	}
	c->ssl = SSL_new(tls_ctx);
	if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1)
		return false;
	/* The certificate must name the address we dialled (an IP SAN for 127.0.0.1). */
	X509_VERIFY_PARAM *vp = SSL_get0_param(c->ssl);
	if (X509_VERIFY_PARAM_set1_ip_asc(vp, host) != 1) {
		SSL_set1_host(c->ssl, host);
		SSL_set_tlsext_host_name(c->ssl, host);
	}
	int r = SSL_connect(c->ssl);
	if (r != 1) {
		fprintf(stderr, "bench: TLS handshake failed (%d)\n", SSL_get_error(c->ssl, r));
		ERR_print_errors_fp(stderr);
		return false;
	}
	return true;
}

bconn_t *bconn_open(const char *host, int port, const char *name, bool tls)
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
	if (tls && !tls_start(c, host)) {
		bconn_close(c);
		return NULL;
	}
	char hello[256];
	int n = snprintf(hello, sizeof(hello),
			 "CONNECT {\"verbose\":false,\"pedantic\":false,\"tls_required\":%s,"
			 "\"name\":\"%s\",\"lang\":\"c\",\"version\":\"bench\",\"protocol\":1}\r\n",
			 tls ? "true" : "false", name);
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
	if (c->ssl != NULL) {
		/* Sends close_notify without waiting for the server's. */
		if (!c->closed)
			SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	close(c->fd);
	free(c->rbuf);
	free(c);
}
