/* Incremental parser of the NATS client protocol (what a client sends to a server). Feed it
 * bytes as they arrive, in any split; it returns one operation at a time. Operations are views:
 * their slices point into the bytes given to the call that returned them, or into the parser's
 * own scratch when an operation arrived in pieces. Either way they stay valid until the next
 * call. Follows the reference server's state machine (server/parser.go) byte for byte where
 * clients can see the difference: which bytes are errors, which errors close silently. Pure: no
 * sockets, no threads, no allocation unless an operation straddles two calls. */
#ifndef ND_PROTOCOL_PARSER_H
#define ND_PROTOCOL_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct nd_slice {
	const char *p;
	size_t n;
} nd_slice_t;

typedef enum nd_op_kind {
	ND_OP_CONNECT, /* arg: the JSON text */
	ND_OP_PUB,     /* subject, reply, size, payload */
	ND_OP_HPUB,    /* subject, reply, hdr, size (total), payload (headers + body) */
	ND_OP_SUB,     /* subject, queue, sid */
	ND_OP_UNSUB,   /* sid, max_msgs (-1: none given; 0 or less: unsubscribe now) */
	ND_OP_PING,
	ND_OP_PONG,
	ND_OP_INFO,     /* arg: the JSON text (clients may send INFO; servers ignore it) */
	ND_OP_OK,       /* +OK */
	ND_OP_ERR,      /* -ERR; arg: the text */
	ND_OP_HMSG_Q,   /* a client's HMSG: the reference ignores its arguments and reads an empty
			 * payload, i.e. a publish to the empty subject that reaches nobody */
	ND_OP_PUB_LINE, /* a PUB/HPUB control line, before its payload (only when asked for with
			 * nd_parser_set_report_lines): subject, reply, sizes */
} nd_op_kind_t;

typedef struct nd_op {
	nd_op_kind_t kind;
	nd_slice_t subject, reply, queue, sid;
	nd_slice_t arg;      /* CONNECT / INFO JSON, -ERR text */
	nd_slice_t size_tok; /* PUB size / HPUB total size, verbatim (forwarded as sent) */
	nd_slice_t hdr_tok;  /* HPUB header size, verbatim */
	int64_t size;        /* payload bytes (HPUB: headers + body) */
	int64_t hdr;         /* HPUB header bytes */
	int64_t max_msgs;    /* UNSUB */
	nd_slice_t payload;  /* size bytes, without the trailing \r\n */
} nd_op_t;

enum {
	ND_PARSE_AGAIN = 0, /* every byte was consumed; need more */
	ND_PARSE_OP = 1,    /* *op is filled */
	/* Errors: the connection must close. */
	ND_PERR_UNKNOWN_OP = -1,   /* -ERR 'Unknown Protocol Operation' */
	ND_PERR_CONTROL_LINE = -2, /* -ERR 'maximum control line exceeded' */
	ND_PERR_MAX_PAYLOAD = -3,  /* -ERR 'Maximum Payload Violation' */
	ND_PERR_ARGS = -4,         /* malformed arguments: close without -ERR */
	ND_PERR_NO_HEADERS = -5,   /* HPUB without headers negotiated: close without -ERR */
	ND_PERR_AUTH = -6,         /* first op is not CONNECT while auth is required:
				    * -ERR 'Authorization Violation' */
};

typedef struct nd_parser {
	/* Private. */
	int state;
	bool saw_cr; /* a \r appeared in the current argument */
	uint32_t max_control_line;
	int64_t max_payload;
	bool headers;         /* HPUB allowed */
	bool require_connect; /* the next op must be CONNECT (auth pending) */
	bool report_lines;    /* return ND_OP_PUB_LINE before each PUB/HPUB payload */
	uint8_t arg_kind;     /* op whose arguments are being read */
	nd_op_t pending;      /* PUB/HPUB/HMSG waiting for its payload */
	char *scratch;        /* control line pieces; later the pending op's arguments */
	size_t scratch_len, scratch_cap;
	char *payload; /* a payload arriving in pieces: size + 2 bytes */
	size_t payload_len;
	size_t payload_cap;
	const char *kw;  /* rest of the op name being matched */
	uint8_t kw_next; /* state after the op name */
} nd_parser_t;

/* Initialises a parser with the reference's defaults: max_control_line 4096, max_payload
 * 1 MiB, headers off (a client enables them with CONNECT). */
void nd_parser_init(nd_parser_t *p);

/* Frees the parser's scratch memory. */
void nd_parser_deinit(nd_parser_t *p);

void nd_parser_set_limits(nd_parser_t *p, uint32_t max_control_line, int64_t max_payload);
void nd_parser_set_headers(nd_parser_t *p, bool enabled);

/* While set, any first byte of an op other than C/c is ND_PERR_AUTH (the reference checks the
 * very first byte, before a whole op has arrived). */
void nd_parser_set_require_connect(nd_parser_t *p, bool required);

/* Parses from buf[0..len). Returns ND_PARSE_OP with *used bytes consumed and *op filled,
 * ND_PARSE_AGAIN with all len bytes consumed (kept as needed), or an ND_PERR_* code. */
int nd_parser_next(nd_parser_t *p, const char *buf, size_t len, size_t *used, nd_op_t *op);

/* Makes the parser return an ND_OP_PUB_LINE op when a PUB or HPUB control line is complete,
 * before reading its payload: the reference reports a pedantic subject error at that point. */
void nd_parser_set_report_lines(nd_parser_t *p, bool report);

/* The PUB/HPUB whose payload is being read, or NULL. Its slices stay valid until the next call.
 * Lets the caller report a pedantic subject error before a payload error, as the reference
 * does at control-line time. */
const nd_op_t *nd_parser_pending_pub(const nd_parser_t *p);

/* The size of the PUB/HPUB whose arguments were parsed last (for the max_payload error). */
int64_t nd_parser_last_size(const nd_parser_t *p);

/* True if nothing is buffered (the parser is between operations). */
bool nd_parser_idle(const nd_parser_t *p);

/* Parses a size field as the reference does: 1 to 9 ASCII digits, else -1. */
int64_t nd_parse_size(const char *s, size_t n);

#endif
