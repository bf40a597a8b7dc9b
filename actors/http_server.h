/* The HTTP/1.1 server of the monitoring port: a listener actor and one connection actor per
 * HTTP client, on the runtime's workers. It reads and parses requests (protocol/http.h), hands
 * each to a handler, and writes the answers in request order (keep-alive, pipelining). Every
 * client is bounded in time (header, idle and write timeouts) and memory (request size, a
 * fixed pipeline depth); the number of clients is capped. It knows no monitoring endpoint.
 *
 * Messages: a connection actor accepts only RESPONSE, sent by nd_http_reply_send. */
#ifndef ND_ACTORS_HTTP_SERVER_H
#define ND_ACTORS_HTTP_SERVER_H

#include <stddef.h>

#include "protocol/http.h"
#include "runtime/runtime.h"

/* One request's pending answer. Owned by the handler until nd_http_reply_send. */
typedef struct nd_http_reply nd_http_reply_t;

/* Called on the connection's worker thread. req and its strings are valid during the call
 * only. The handler must call nd_http_reply_send exactly once for `reply`, from any thread,
 * now or later (it may hand `reply` to another actor and answer from there). */
typedef void (*nd_http_handler_fn)(void *ctx, const nd_http_request_t *req, nd_http_reply_t *reply);

/* Answers: content_type and extra_headers ("Key: value\r\n" lines, or NULL) as the handler's
 * headers, body (copied, len bytes). The response is encoded as Go's net/http would write
 * it (protocol/http.h); HEAD drops the body. Consumes reply. Any thread; safe after the
 * connection closed (the answer is then dropped). */
void nd_http_reply_send(nd_http_reply_t *r, int status, const char *content_type,
			const char *extra_headers, const char *body, size_t len);

/* Zero fields take the defaults below. */
typedef struct nd_http_server_opts {
	const char *host;           /* NULL or "": every address */
	int port;                   /* -1: a random free port */
	unsigned header_timeout_ms; /* whole request, from its first byte (or the accept): 10 s */
	unsigned idle_timeout_ms;   /* between keep-alive requests: 120 s */
	unsigned write_timeout_ms;  /* a response blocked on a slow reader: 10 s */
	size_t max_header_bytes;    /* request line + headers: 1 MiB, as the reference */
	unsigned max_conns;         /* concurrent HTTP connections; more are closed: 1024 */
	struct nd_tls_ctx *tls;     /* HTTPS with this context (referenced), or NULL */
} nd_http_server_opts_t;

#define ND_HTTP_DEFAULT_HEADER_TIMEOUT_MS 10000
#define ND_HTTP_DEFAULT_IDLE_TIMEOUT_MS 120000
#define ND_HTTP_DEFAULT_WRITE_TIMEOUT_MS 10000
#define ND_HTTP_DEFAULT_MAX_HEADER_BYTES (1u << 20)
#define ND_HTTP_DEFAULT_MAX_CONNS 1024
/* One peer address may hold at most max_conns / ND_HTTP_PEER_SHARE connections, so that one
 * client hoarding sockets cannot lock the others (health probes) out. */
#define ND_HTTP_PEER_SHARE 4
#define ND_HTTP_MAX_BODY 65536 /* a body up to this is read and dropped; more: 413 */
#define ND_HTTP_PIPELINE_MAX                                                                       \
	16 /* requests answered-but-unwritten per client before reading stops */

typedef struct nd_http_server nd_http_server_t;

/* HTTPS: connections accepted from now on use tls (referenced); established ones keep their
 * session. Any thread. */
void nd_http_server_set_tls(nd_http_server_t *s, struct nd_tls_ctx *tls);

/* Binds the listening socket and starts the listener actor on rt (started). fn(ctx, ...)
 * answers every request. Returns 0 with *out (owned by the caller until nd_http_server_stop)
 * and *bound_port (may be NULL), or -errno from binding. Any thread. */
int nd_http_server_start(nd_http_server_t **out, nd_runtime_t *rt, const nd_http_server_opts_t *o,
			 nd_http_handler_fn fn, void *ctx, int *bound_port);

/* Closes the listener and every connection, and releases s. From a thread that is not one of
 * rt's workers it waits until they are all closed, so the handler is not called after it
 * returns; from a worker it only requests the stop. Call it while rt runs, before
 * nd_runtime_shutdown (a server never stopped keeps s allocated). */
void nd_http_server_stop(nd_http_server_t *s);

/* Open HTTP connections now (a snapshot). Any thread. */
unsigned nd_http_server_conns(nd_http_server_t *s);

#endif
