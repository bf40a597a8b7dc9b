/* A minimal NATS client for the load generator: raw sockets, large batched writes, and an
 * incremental reader of what a server sends (MSG/HMSG counting, PING answering, PONG counting,
 * optional callback per message). No client library in the loop, so the generator is cheap
 * enough not to be the bottleneck. Optionally over TLS (OpenSSL): INFO is read in clear, then
 * the connection starts TLS as a NATS client does, and every later byte goes through the
 * session. */
#ifndef ND_BENCH_BCONN_H
#define ND_BENCH_BCONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct bconn bconn_t;

/* Called for every MSG/HMSG received: subject, reply (may be empty) and payload. */
typedef void (*bconn_msg_fn)(bconn_t *c, const char *subj, size_t slen, const char *reply,
			     size_t rlen, const char *payload, size_t plen, void *arg);

typedef struct ssl_st SSL;

struct bconn {
	int fd;
	SSL *ssl; /* NULL: plain TCP */
	char *rbuf;
	size_t rlen, rcap;
	uint64_t msgs, bytes, pongs, errors;
	bool closed;
	bconn_msg_fn on_msg; /* NULL: only count */
	void *arg;
	int64_t skip; /* payload bytes (+2) still to skip from a message being counted */
};

/* Sets up the client side of TLS once per process: ca_file is the CA the server's certificate
 * must chain to (its IP or name is checked against host in bconn_open); NULL accepts any
 * certificate. Returns false (with a message on stderr) if the CA cannot be loaded. */
bool bconn_tls_init(const char *ca_file);

/* Connects to host:port, reads INFO, with tls performs the TLS handshake (bconn_tls_init must
 * have been called), sends CONNECT and PING, waits for the PONG. */
bconn_t *bconn_open(const char *host, int port, const char *name, bool tls);
void bconn_close(bconn_t *c);

/* Writes everything (blocking). Returns false on error. */
bool bconn_write(bconn_t *c, const void *buf, size_t n);

/* Reads once (non-blocking if the socket is) and processes what arrived. Returns bytes read,
 * 0 on EOF, -1 on EAGAIN/error. Over TLS, "once" also takes whatever the session has already
 * buffered, so that no decrypted data waits behind a poll on the socket. */
ssize_t bconn_read(bconn_t *c);

/* Sends PING and reads (processing messages) until the matching PONG. timeout_ms 0: forever. */
bool bconn_sync(bconn_t *c, unsigned timeout_ms);

void bconn_set_nonblocking(bconn_t *c, bool on);

uint64_t bench_now_ns(void);

#endif
