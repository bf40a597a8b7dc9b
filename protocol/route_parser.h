/* Incremental parser of the ROUTE protocol: what one nats-server 2.9.10 sends another over a
 * cluster route (server/parser.go with c.kind == ROUTER; argument rules from route.go and
 * client.go). Bytes in any split, one operation out, as views into the caller's buffer or,
 * for an operation that straddled two calls, into the parser's own copy; valid until the next
 * call. Pure: no sockets, no threads, no allocation unless an operation straddles calls. It
 * parses only; what an op means (accounts, interest, INFO/CONNECT JSON) is the caller's job. */
#ifndef ND_PROTOCOL_ROUTE_PARSER_H
#define ND_PROTOCOL_ROUTE_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/parser.h" /* nd_slice_t, ND_PARSE_AGAIN / ND_PARSE_OP, nd_parse_size */

/* Queue names of an RMSG/HMSG/LMSG kept in nd_rop_t.queues; any further ones are reached with
 * nd_route_queues_next over queue_list (the reference accepts any number). */
#define ND_ROUTE_QUEUES_INLINE 16

/* Op kinds. Wire names are case-insensitive except the 'u' of "Au" (the reference matches
 * '-' or lower-case 'u' only). "arg" is always the whole argument line (the reference's arg,
 * after its \r rule); an RS-'s arg is the key the reference looks the subscription up by. */
typedef enum nd_rop_kind {
	ND_ROP_INFO,    /* INFO <json>: arg (no separator needed after INFO, as in the reference) */
	ND_ROP_CONNECT, /* CONNECT <json>: arg */
	ND_ROP_PING,    /* PING: anything up to \n is ignored */
	ND_ROP_PONG,    /* PONG: likewise */
	ND_ROP_OK,      /* +OK: likewise */
	ND_ROP_ERR,     /* -ERR <text>: arg (the reference logs "Route Error <text>" and closes) */
	ND_ROP_RSUB,    /* RS+ <account> <subject> [<queue> <weight>]: account, subject, queue,
			 * weight_tok, weight (-1 if not a size: the reference does not reject it) */
	ND_ROP_RUNSUB,  /* RS- <account> <subject> [<queue>]: account, subject, queue. Also a
			 * route's "UNSUB ..." (the reference runs processRemoteUnsub for it). */
	ND_ROP_LSUB,    /* LS+ <origin> <account> <subject> [<queue> <weight>]: as RSUB + origin */
	ND_ROP_LUNSUB,  /* LS- <account> <subject> [<queue>]: as RUNSUB (no origin on the wire) */
	ND_ROP_RMSG,   /* RMSG <account> <subject> [<reply> | + <reply> <queues..> | '|' <queues..>]
			* <size>: account, subject, reply, queues, size, payload */
	ND_ROP_RHMSG,  /* HMSG on a route (wire name "HMSG"): as RMSG with <hdr> before <size>;
			* size is headers + body, payload holds both */
	ND_ROP_LMSG,   /* LMSG <origin> <account> <subject> [reply forms as RMSG] <hdr> <size>:
			* always has a header size (may be 0) */
	ND_ROP_ASUB,   /* A+ <account>: arg (a no-op on routes in the reference) */
	ND_ROP_AUNSUB, /* A- / Au <account>: arg (likewise) */
	ND_ROP_SUB,    /* a client-style SUB: arg only; the reference ignores it on a route */
	ND_ROP_PUB,    /* PUB <subject> [reply] <size>: subject, reply, size, payload */
	ND_ROP_HPUB,   /* HPUB <subject> [reply] <hdr> <size>: only when headers are on */
} nd_rop_kind_t;

typedef struct nd_rop {
	nd_rop_kind_t kind;
	nd_slice_t arg;    /* the argument line */
	nd_slice_t origin; /* LS+, LMSG: the origin cluster */
	nd_slice_t account, subject, reply;
	nd_slice_t queue;                          /* RS+/RS-/LS+/LS- queue group, empty if none */
	nd_slice_t weight_tok;                     /* RS+/LS+ queue weight as sent */
	int64_t weight;                            /* parsed weight; -1 if absent or not a size */
	size_t nqueues;                            /* RMSG/HMSG/LMSG: number of queue names */
	nd_slice_t queues[ND_ROUTE_QUEUES_INLINE]; /* the first ones */
	nd_slice_t queue_list;        /* from the first queue name to the end of the last */
	nd_slice_t hdr_tok, size_tok; /* sizes as sent (forwarded verbatim) */
	int64_t hdr;                  /* header bytes; -1 for ops without headers */
	int64_t size;                 /* payload bytes (with headers for RHMSG/LMSG/HPUB) */
	nd_slice_t payload;           /* size bytes, without the trailing \r\n */
} nd_rop_t;

/* Errors: the route must close. What the reference does for each is noted; see
 * nd_route_parser_error_text for its log text. */
enum {
	/* A bad op name or bad byte where an op must start; also a payload not followed by \r\n
	 * (ND_RPERR_PAYLOAD_END). Reference: sends -ERR 'Unknown Protocol Operation', logs
	 * "ROUTER parser ERROR, state=.., i=..: proto='..'" and closes (ProtocolViolation). */
	ND_RPERR_UNKNOWN_OP = -1,
	/* Our limits. The reference has none on routes (overMaxControlLineLimit only checks
	 * clients; a route's mpay is -1), but memory must stay bounded: set them generously. */
	ND_RPERR_CONTROL_LINE = -2,
	ND_RPERR_MAX_PAYLOAD = -3,
	/* Wrong argument count, bad reply indicator, bad or inconsistent sizes. Reference: no
	 * -ERR; logs the process*Args error and closes (ProtocolViolation). */
	ND_RPERR_ARGS = -4,
	/* The payload is not followed by \r\n: in the reference the same parseErr as
	 * ND_RPERR_UNKNOWN_OP (-ERR 'Unknown Protocol Operation'). */
	ND_RPERR_PAYLOAD_END = -5,
	/* HPUB while headers are off: logs "message headers not supported", closes, no -ERR. */
	ND_RPERR_NO_HEADERS = -6,
};

typedef struct nd_route_parser {
	/* Private. */
	int state;
	uint32_t max_control_line;
	int64_t max_payload;
	bool headers;
	bool arg_first; /* the next byte is the first of the argument line */
	bool saw_cr;    /* a \r other than the line's first byte */
	uint8_t kind;   /* op being read */
	char name[8];   /* the op name so far, lower-cased */
	uint8_t name_len;
	const char *err_text;
	nd_rop_t pending; /* an op waiting for its payload */
	char *scratch;    /* a line that straddled calls; then a pending op's line */
	size_t scratch_len, scratch_cap;
	char *payload; /* a payload that straddled calls: size + 2 bytes */
	size_t payload_len, payload_cap;
} nd_route_parser_t;

/* Initialises p (caller's storage): max_control_line 1 MiB, max_payload 64 MiB, headers off.
 * Call from the one thread that owns the route connection. */
void nd_route_parser_init(nd_route_parser_t *p);

/* Frees the parser's buffers; op views from the last call become invalid. */
void nd_route_parser_deinit(nd_route_parser_t *p);

/* max_control_line bounds an argument line (after the reference's \r rule); max_payload
 * bounds a message size (-1: no limit). */
void nd_route_parser_set_limits(nd_route_parser_t *p, uint32_t max_control_line,
				int64_t max_payload);

/* Allows HPUB (the reference sets this from the peer's INFO "headers"). RMSG/HMSG/LMSG do
 * not depend on it, as in the reference. */
void nd_route_parser_set_headers(nd_route_parser_t *p, bool enabled);

/* Parses from buf[0..len). Returns ND_PARSE_OP with *used bytes consumed and *op filled (its
 * views valid until the next call or deinit), ND_PARSE_AGAIN with all len bytes consumed (the
 * parser keeps what it needs), or an ND_RPERR_* code (the parser is then unusable). */
int nd_route_parser_next(nd_route_parser_t *p, const char *buf, size_t len, size_t *used,
			 nd_rop_t *op);

/* After an error: the reference's log text for it without the quoted arguments, e.g.
 * "processRoutedMsgArgs Bad or Missing Reply Indicator". NULL before any error. */
const char *nd_route_parser_error_text(const nd_route_parser_t *p);

/* True if nothing is buffered (between operations). */
bool nd_route_parser_idle(const nd_route_parser_t *p);

/* Iterates over a queue_list: stores the next name in *q, advances *rest, returns false at
 * the end. Names are separated by runs of spaces, tabs, \r or \n, as the reference splits. */
bool nd_route_queues_next(nd_slice_t *rest, nd_slice_t *q);

#endif
