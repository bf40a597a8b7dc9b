/* NATS header blocks (ADR-4): "NATS/1.0[ status[ description]]\r\n" followed by
 * "Key: value\r\n" lines and an empty line. The server rarely needs to look inside one (it
 * forwards them verbatim); this is for the places that do: no-responders, tests, tracing. */
#ifndef ND_PROTOCOL_HEADERS_H
#define ND_PROTOCOL_HEADERS_H

#include <stdbool.h>
#include <stddef.h>

#include "protocol/parser.h"

typedef struct nd_headers {
	int status;             /* 0 when the status line has none */
	nd_slice_t description; /* may be empty */
	nd_slice_t fields;      /* the header lines, each ending in \r\n, without the final one */
} nd_headers_t;

/* Parses a whole header block (exactly the hdr bytes of an HMSG). Returns 0 or -1 if it is not
 * a valid NATS/1.0 block. Slices point into block. */
int nd_headers_parse(const char *block, size_t n, nd_headers_t *h);

/* Iterates the fields: *pos starts at 0. Returns false at the end. Keys are as sent; values
 * have leading and trailing spaces removed. */
bool nd_headers_next(const nd_headers_t *h, size_t *pos, nd_slice_t *key, nd_slice_t *value);

/* The value of the first field named key (exact match), or false. */
bool nd_headers_get(const nd_headers_t *h, const char *key, nd_slice_t *value);

/* The no-responders status block the server sends: "NATS/1.0 503\r\n\r\n" (16 bytes). */
#define ND_HEADERS_NO_RESPONDERS "NATS/1.0 503\r\n\r\n"

#endif
