/* HTTP/1.1 for the monitoring port: an incremental request parser (on libhttp-parser) with
 * size limits, query-parameter lookup, and response encoding that writes what Go's net/http
 * writes (the reference serves monitoring with it). No sockets, no threads. */
#ifndef ND_PROTOCOL_HTTP_H
#define ND_PROTOCOL_HTTP_H

#include <stdbool.h>
#include <stddef.h>

/* Return codes of nd_http_parser_feed. */
#define ND_HTTP_DONE 1        /* a whole request is in *req */
#define ND_HTTP_AGAIN 0       /* every byte consumed; feed more */
#define ND_HTTP_EBAD (-1)     /* malformed request: 400 */
#define ND_HTTP_ETOOBIG (-2)  /* request line + headers over the limit (431) or body (413) */
#define ND_HTTP_EVERSION (-3) /* not HTTP/1.x: 505 */

/* Go's net/http answers at most this many body bytes with a Content-Length; a longer body
 * goes out chunked (HTTP/1.1) or delimited by the close (HTTP/1.0). */
#define ND_HTTP_GO_BUFFER 2048

typedef struct nd_http_request {
	int method;      /* http_parser's enum http_method (HTTP_GET, HTTP_HEAD, ...) */
	char *path;      /* percent-decoded path without the query, NUL-terminated */
	char *query;     /* raw query string without '?', "" if none */
	bool keep_alive; /* per HTTP/1.1 rules and the Connection header */
	int http_minor;  /* 0 or 1: the response's status line repeats it */
} nd_http_request_t;

typedef struct nd_http_parser nd_http_parser_t;

/* Creates a parser for one connection's stream of requests. max_header_bytes bounds the
 * request line and headers together; max_body bounds a body (monitoring takes none; a body
 * up to it is read and dropped, one over it is an error). Never returns NULL. Caller owns. */
nd_http_parser_t *nd_http_parser_create(size_t max_header_bytes, size_t max_body);
void nd_http_parser_destroy(nd_http_parser_t *p);

/* Feeds len bytes of buf. Returns ND_HTTP_AGAIN (all consumed, request incomplete),
 * ND_HTTP_DONE (*req filled with a request the caller owns, *used bytes consumed; feed the
 * rest for pipelined requests, after nd_http_request_clear), or a negative ND_HTTP_E* error
 * (the connection must answer nd_http_parser_error_response and close; the parser is dead).
 * *used is set in every case. */
int nd_http_parser_feed(nd_http_parser_t *p, const char *buf, size_t len, size_t *used,
			nd_http_request_t *req);

/* True when bytes of an unfinished request have been fed (for the header read timeout). */
bool nd_http_parser_in_request(const nd_http_parser_t *p);

/* After a negative return from feed: the whole response Go's net/http sends for that error
 * (status line, Content-Type, Connection: close, short text body). Static storage. */
const char *nd_http_parser_error_response(const nd_http_parser_t *p, size_t *len);

/* Releases what req owns and zeroes it. */
void nd_http_request_clear(nd_http_request_t *req);

/* As Go's url.Values.Get on url.ParseQuery(query): the first value of `name`, percent and
 * plus decoded into buf (NUL-terminated). Returns buf, or NULL if absent or longer than
 * len - 1. Pairs that do not decode (or hold ';') are skipped, as Go drops them. */
const char *nd_http_query_get(const char *query, const char *name, char *buf, size_t len);

/* Go's http.StatusText, or NULL for a code it does not know. */
const char *nd_http_status_text(int status);

/* Encodes an HTTP/1.1 response into a malloc'd buffer (*out_len bytes, caller frees): as
 * nd_http_response_encode_version with http_minor 1; keep_alive false adds
 * "Connection: close". */
char *nd_http_response_encode(int status, const char *content_type, const char *extra_headers,
			      const char *body, size_t body_len, bool head, bool keep_alive,
			      size_t *out_len);

/* The response as Go's net/http writes it for a handler that set content_type and
 * extra_headers ("Key: value\r\n" lines, may be NULL) and wrote body in one call: the
 * handler's headers sorted by key, then Date (RFC 1123, GMT), then Content-Length when the
 * body fits Go's buffer, then Connection, then Transfer-Encoding (chunked for a larger body
 * on HTTP/1.1). head: body omitted. *keep_alive: in, whether the request allows it; out,
 * whether the connection may stay open after this response. Caller frees the result. */
char *nd_http_response_encode_version(int http_minor, int status, const char *content_type,
				      const char *extra_headers, const char *body, size_t body_len,
				      bool head, bool *keep_alive, size_t *out_len);

#endif
