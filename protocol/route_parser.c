/* The route protocol state machine (nats-server 2.9.10, server/parser.go for c.kind ==
 * ROUTER). Op names are matched byte by byte against a table, so a bad byte is an error the
 * moment it arrives, as in the reference; argument lines are found with memchr and split in
 * place; payloads are skipped over by length. Only an operation that straddles two calls is
 * copied: its argument line into `scratch` (and re-split there, as the reference's clonePubArg
 * re-runs the argument parser on its copy), its payload into `payload`.
 *
 * As in the client parser (protocol/parser.c), a '\r' inside an argument line is treated the
 * same whether or not the line arrived in one read: the reference drops the line's last byte
 * if it saw a '\r' in one buffer, but drops every '\r' of a line split across reads. We always
 * do the former so that parsing never depends on TCP segmentation. */
#include "protocol/route_parser.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum state {
	S_NAME,    /* matching an op name (p->name holds what matched so far) */
	S_SEP,     /* a space or tab must follow the op name */
	S_SPC,     /* skipping spaces and tabs before the argument line */
	S_ARG,     /* reading the argument line up to \n */
	S_LINE,    /* PING/PONG/+OK: everything up to \n is ignored */
	S_PAYLOAD, /* reading a payload that arrived in pieces */
};

/* What follows an op name, as in parser.go: OP_PUB etc. need a separator (OP_*_SPC);
 * OP_CONNECT and OP_INFO skip blanks and take any other byte as the first of the argument;
 * OP_PING, OP_PONG and OP_PLUS_OK ignore everything up to \n. */
enum after { A_SEP, A_SPC, A_LINE };

/* parser.go OP_START and the states it leads to, for a ROUTER connection. Names are lower
 * case; every byte of the wire name is compared lower-cased, except the 'u' of "au" (OP_A
 * accepts '-' or lower-case 'u' only, so "AU" is an error). The table is prefix-free. */
static const struct name {
	const char *name;
	uint8_t kind;
	uint8_t after;
} names[] = {
    {"info", ND_ROP_INFO, A_SPC},  {"connect", ND_ROP_CONNECT, A_SPC},
    {"ping", ND_ROP_PING, A_LINE}, {"pong", ND_ROP_PONG, A_LINE},
    {"+ok", ND_ROP_OK, A_LINE},    {"-err", ND_ROP_ERR, A_SEP},
    {"rs+", ND_ROP_RSUB, A_SEP},   {"rs-", ND_ROP_RUNSUB, A_SEP},
    {"ls+", ND_ROP_LSUB, A_SEP},   {"ls-", ND_ROP_LUNSUB, A_SEP},
    {"rmsg", ND_ROP_RMSG, A_SEP},  {"hmsg", ND_ROP_RHMSG, A_SEP},
    {"lmsg", ND_ROP_LMSG, A_SEP},  {"a+", ND_ROP_ASUB, A_SEP},
    {"a-", ND_ROP_AUNSUB, A_SEP},  {"au", ND_ROP_AUNSUB, A_SEP},
    {"sub", ND_ROP_SUB, A_SEP},    {"unsub", ND_ROP_RUNSUB, A_SEP},
    {"pub", ND_ROP_PUB, A_SEP},    {"hpub", ND_ROP_HPUB, A_SEP},
};

#define NNAMES (sizeof(names) / sizeof(names[0]))

/* Returned by finish_line for ops whose payload follows. */
#define NEEDS_PAYLOAD 2

void nd_route_parser_init(nd_route_parser_t *p)
{
	memset(p, 0, sizeof(*p));
	p->state = S_NAME;
	/* Generous: the reference has no limit on routes, and an RMSG line lists every queue
	 * group with interest. Buffers grow only as far as a line needs. */
	p->max_control_line = 1024 * 1024;
	p->max_payload = 64 * 1024 * 1024;
}

static void free_buffers(nd_route_parser_t *p)
{
	free(p->scratch);
	p->scratch = NULL;
	p->scratch_len = p->scratch_cap = 0;
	free(p->payload);
	p->payload = NULL;
	p->payload_len = p->payload_cap = 0;
}

void nd_route_parser_deinit(nd_route_parser_t *p)
{
	free_buffers(p);
}

void nd_route_parser_set_limits(nd_route_parser_t *p, uint32_t max_control_line,
				int64_t max_payload)
{
	p->max_control_line = max_control_line;
	p->max_payload = max_payload;
}

void nd_route_parser_set_headers(nd_route_parser_t *p, bool enabled)
{
	p->headers = enabled;
}

const char *nd_route_parser_error_text(const nd_route_parser_t *p)
{
	return p->err_text;
}

bool nd_route_parser_idle(const nd_route_parser_t *p)
{
	return p->state == S_NAME && p->name_len == 0;
}

static inline bool is_route_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

bool nd_route_queues_next(nd_slice_t *rest, nd_slice_t *q)
{
	size_t i = 0;
	while (i < rest->n && is_route_ws(rest->p[i]))
		i++;
	if (i == rest->n) {
		/* An empty list may have a NULL p: NULL + 0 is undefined in C. */
		if (i > 0)
			rest->p += i;
		rest->n = 0;
		return false;
	}
	size_t start = i;
	while (i < rest->n && !is_route_ws(rest->p[i]))
		i++;
	q->p = rest->p + start;
	q->n = i - start;
	rest->p += i;
	rest->n -= i;
	return true;
}

static void *xrealloc(void *old, size_t n)
{
	void *m = realloc(old, n);
	if (m == NULL) {
		fputs("natsd: out of memory\n", stderr);
		abort();
	}
	return m;
}

/* Makes room for want bytes in the scratch, keeping its content. Nothing may point into it. */
static void grow_scratch(nd_route_parser_t *p, size_t want)
{
	if (want <= p->scratch_cap)
		return;
	size_t cap = p->scratch_cap ? p->scratch_cap : 256;
	while (cap < want)
		cap *= 2;
	p->scratch = xrealloc(p->scratch, cap);
	p->scratch_cap = cap;
}

static inline char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

/* Tokens of an argument line. The reference splits into a growable slice; we keep the first
 * few and the last few, which is all any op looks at (queue names are reached through the
 * span between them). */
#define TOK_FIRST 8
#define TOK_LAST 3

typedef struct toks {
	nd_slice_t first[TOK_FIRST];
	nd_slice_t last[TOK_LAST];
	size_t n;
} toks_t;

/* route_ws: route.go/splitArg split on spaces, tabs, \r and \n; processPub and
 * processHeaderPub on spaces and tabs only. */
static void tokenize(nd_slice_t arg, bool route_ws, toks_t *t)
{
	t->n = 0;
	size_t i = 0;
	while (i < arg.n) {
		while (i < arg.n &&
		       (route_ws ? is_route_ws(arg.p[i]) : (arg.p[i] == ' ' || arg.p[i] == '\t')))
			i++;
		if (i == arg.n)
			break;
		size_t start = i;
		while (i < arg.n &&
		       !(route_ws ? is_route_ws(arg.p[i]) : (arg.p[i] == ' ' || arg.p[i] == '\t')))
			i++;
		nd_slice_t s = {arg.p + start, i - start};
		if (t->n < TOK_FIRST)
			t->first[t->n] = s;
		memmove(&t->last[0], &t->last[1], sizeof(t->last[0]) * (TOK_LAST - 1));
		t->last[TOK_LAST - 1] = s;
		t->n++;
	}
}

/* Token k: one of the first TOK_FIRST or the last TOK_LAST (callers only ask for those). */
static nd_slice_t tok(const toks_t *t, size_t k)
{
	if (k < TOK_FIRST)
		return t->first[k];
	return t->last[TOK_LAST - (t->n - k)];
}

static int64_t size_of(nd_slice_t s)
{
	return nd_parse_size(s.p, s.n);
}

static int args_error(nd_route_parser_t *p, const char *text)
{
	p->err_text = text;
	return ND_RPERR_ARGS;
}

/* The queue names are tokens qs..qe (inclusive); none if qs > qe. */
static void set_queues(nd_rop_t *op, const toks_t *t, size_t qs, size_t qe)
{
	if (qs > qe)
		return;
	nd_slice_t a = tok(t, qs), b = tok(t, qe);
	op->queue_list.p = a.p;
	op->queue_list.n = (size_t)(b.p + b.n - a.p);
	op->nqueues = qe - qs + 1;
	nd_slice_t rest = op->queue_list, q;
	for (size_t k = 0; k < ND_ROUTE_QUEUES_INLINE && nd_route_queues_next(&rest, &q); k++)
		op->queues[k] = q;
}

/* The message forms of route.go: processRoutedMsgArgs (RMSG, nsizes 1, off 0),
 * processRoutedHeaderMsgArgs (HMSG, nsizes 2, off 0) and processRoutedOriginClusterMsgArgs
 * (LMSG, nsizes 2, off 1: the origin cluster comes first). After the account and subject:
 * nothing, a reply, or a one-byte indicator, '+' <reply> <queues..> or '|' <queues..>; then
 * the sizes. Error checks in the reference's order. */
static int routed_msg(nd_route_parser_t *p, const toks_t *t, size_t off, size_t nsizes,
		      nd_rop_t *op)
{
	static const char *const texts[2][2][5] = {
	    {{"processRoutedMsgArgs Parse Error",
	      "processRoutedMsgArgs Bad or Missing Reply Indicator", NULL,
	      "processRoutedMsgArgs Bad or Missing Size", NULL}},
	    {{"processRoutedHeaderMsgArgs Parse Error",
	      "processRoutedHeaderMsgArgs Bad or Missing Reply Indicator",
	      "processRoutedHeaderMsgArgs Bad or Missing Header Size",
	      "processRoutedHeaderMsgArgs Bad or Missing Size",
	      "processRoutedHeaderMsgArgs Header Size larger then TotalSize"},
	     {"processRoutedOriginClusterMsgArgs Parse Error",
	      "processRoutedOriginClusterMsgArgs Bad or Missing Reply Indicator",
	      "processRoutedOriginClusterMsgArgs Bad or Missing Header Size",
	      "processRoutedOriginClusterMsgArgs Bad or Missing Size",
	      "processRoutedOriginClusterMsgArgs Header Size larger then TotalSize"}}};
	const char *const *tx = texts[nsizes - 1][off];
	size_t base = off + 2; /* tokens before the reply part */
	size_t n = t->n;
	if (n < base + nsizes)
		return args_error(p, tx[0]);
	if (n == base + nsizes + 1) {
		op->reply = tok(t, base);
	} else if (n > base + nsizes + 1) {
		nd_slice_t ind = tok(t, base);
		if (ind.n != 1 || (ind.p[0] != '+' && ind.p[0] != '|'))
			return args_error(p, tx[1]);
		size_t qs = base + 1;
		if (ind.p[0] == '+') {
			op->reply = tok(t, base + 1);
			qs++;
		}
		set_queues(op, t, qs, n - nsizes - 1);
	}
	op->size_tok = tok(t, n - 1);
	op->size = size_of(op->size_tok);
	if (nsizes == 2) {
		op->hdr_tok = tok(t, n - 2);
		op->hdr = size_of(op->hdr_tok);
		if (op->hdr < 0)
			return args_error(p, tx[2]);
	}
	if (op->size < 0)
		return args_error(p, tx[3]);
	if (nsizes == 2 && op->hdr > op->size)
		return args_error(p, tx[4]);
	if (off)
		op->origin = tok(t, 0);
	op->account = tok(t, off);
	op->subject = tok(t, off + 1);
	return NEEDS_PAYLOAD;
}

/* The argument line is complete: turn it into an op. Returns ND_PARSE_OP, NEEDS_PAYLOAD or an
 * error. */
static int finish_line(nd_route_parser_t *p, nd_slice_t arg, nd_rop_t *op)
{
	memset(op, 0, sizeof(*op));
	op->kind = (nd_rop_kind_t)p->kind;
	op->arg = arg;
	op->hdr = -1;
	op->weight = -1;
	toks_t t;
	int r;
	switch (op->kind) {
	case ND_ROP_INFO:
	case ND_ROP_CONNECT:
	case ND_ROP_ERR:
	case ND_ROP_ASUB:   /* processAccountSub: nothing for ROUTER */
	case ND_ROP_AUNSUB: /* processAccountUnsub: likewise */
	case ND_ROP_SUB:    /* SUB_ARG: no case for c.op 'S' under ROUTER */
		return ND_PARSE_OP;
	case ND_ROP_RSUB:
	case ND_ROP_LSUB: {
		/* route.go processRemoteSub: 2 or 4 args (+1 with origin for LS+); the weight
		 * goes through parseSize unchecked. */
		size_t off = op->kind == ND_ROP_LSUB;
		tokenize(arg, true, &t);
		if (t.n == 4 + off) {
			op->queue = tok(&t, 2 + off);
			op->weight_tok = tok(&t, 3 + off);
			op->weight = size_of(op->weight_tok);
		} else if (t.n != 2 + off) {
			return args_error(p, "processRemoteSub Parse Error");
		}
		if (off)
			op->origin = tok(&t, 0);
		op->account = tok(&t, off);
		op->subject = tok(&t, off + 1);
		return ND_PARSE_OP;
	}
	case ND_ROP_RUNSUB:
	case ND_ROP_LUNSUB:
		/* route.go parseUnsubProto (RS-, LS- and UNSUB alike): 2 or 3 args. */
		tokenize(arg, true, &t);
		if (t.n != 2 && t.n != 3)
			return args_error(p, "processRemoteUnsub parse error");
		op->account = tok(&t, 0);
		op->subject = tok(&t, 1);
		if (t.n == 3)
			op->queue = tok(&t, 2);
		return ND_PARSE_OP;
	case ND_ROP_RMSG:
		tokenize(arg, true, &t);
		r = routed_msg(p, &t, 0, 1, op);
		break;
	case ND_ROP_RHMSG:
		tokenize(arg, true, &t);
		r = routed_msg(p, &t, 0, 2, op);
		break;
	case ND_ROP_LMSG:
		tokenize(arg, true, &t);
		r = routed_msg(p, &t, 1, 2, op);
		break;
	case ND_ROP_PUB:
		/* client.go processPub: 2 or 3 args; a route's mpay is -1 (no limit). */
		tokenize(arg, false, &t);
		if (t.n != 2 && t.n != 3)
			return args_error(p, "processPub Parse Error");
		op->subject = tok(&t, 0);
		if (t.n == 3)
			op->reply = tok(&t, 1);
		op->size_tok = tok(&t, t.n - 1);
		op->size = size_of(op->size_tok);
		if (op->size < 0)
			return args_error(p, "processPub Bad or Missing Size");
		r = NEEDS_PAYLOAD;
		break;
	case ND_ROP_HPUB:
		/* client.go processHeaderPub. */
		if (!p->headers) {
			p->err_text = "message headers not supported";
			return ND_RPERR_NO_HEADERS;
		}
		tokenize(arg, false, &t);
		if (t.n != 3 && t.n != 4)
			return args_error(p, "processHeaderPub Parse Error");
		op->subject = tok(&t, 0);
		if (t.n == 4)
			op->reply = tok(&t, 1);
		op->hdr_tok = tok(&t, t.n - 2);
		op->size_tok = tok(&t, t.n - 1);
		op->hdr = size_of(op->hdr_tok);
		op->size = size_of(op->size_tok);
		if (op->hdr < 0)
			return args_error(p, "processHeaderPub Bad or Missing Header Size");
		if (op->size < 0)
			return args_error(p, "processHeaderPub Bad or Missing Total Size");
		if (op->hdr > op->size)
			return args_error(p, "processHeaderPub Header Size larger then TotalSize");
		r = NEEDS_PAYLOAD;
		break;
	default:
		p->err_text = "Unknown Protocol Operation";
		return ND_RPERR_UNKNOWN_OP;
	}
	if (r == NEEDS_PAYLOAD && p->max_payload != -1 && op->size > p->max_payload) {
		p->err_text = "maximum payload exceeded";
		return ND_RPERR_MAX_PAYLOAD;
	}
	return r;
}

static int unknown_op(nd_route_parser_t *p)
{
	p->err_text = "Unknown Protocol Operation";
	return ND_RPERR_UNKNOWN_OP;
}

static int control_line(nd_route_parser_t *p)
{
	p->err_text = "maximum control line exceeded";
	return ND_RPERR_CONTROL_LINE;
}

/* One more byte of an op name. */
static int name_byte(nd_route_parser_t *p, char c)
{
	/* OP_A: '-' or lower-case 'u' (parser.go), the one case-sensitive letter. */
	if (p->name_len == 1 && p->name[0] == 'a' && c == 'U')
		return unknown_op(p);
	char lc = lower(c);
	size_t n = p->name_len;
	if (lc == '\0')
		return unknown_op(p);
	for (size_t k = 0; k < NNAMES; k++) {
		const char *nm = names[k].name;
		if (strncmp(nm, p->name, n) != 0 || nm[n] != lc)
			continue;
		if (nm[n + 1] == '\0') {
			p->kind = names[k].kind;
			p->name_len = 0;
			p->state = names[k].after == A_SEP   ? S_SEP
				   : names[k].after == A_SPC ? S_SPC
							     : S_LINE;
		} else {
			p->name[n] = lc;
			p->name_len++;
		}
		return ND_PARSE_AGAIN;
	}
	return unknown_op(p);
}

/* Appends part of an argument line that continues in a later call. */
static int save_line_piece(nd_route_parser_t *p, const char *b, size_t n)
{
	size_t from = p->arg_first ? 1 : 0;
	if (n > from && memchr(b + from, '\r', n - from) != NULL)
		p->saw_cr = true;
	p->arg_first = false;
	size_t want = p->scratch_len + n;
	if (want - (p->saw_cr ? 1 : 0) > p->max_control_line)
		return control_line(p);
	grow_scratch(p, want);
	memcpy(p->scratch + p->scratch_len, b, n);
	p->scratch_len = want;
	return ND_PARSE_AGAIN;
}

/* The pending op's views point into the caller's buffer, which goes away when this call
 * returns: copy its line into the scratch and split it again there (clonePubArg). */
static void keep_pending(nd_route_parser_t *p)
{
	nd_slice_t line = p->pending.arg;
	if (p->scratch != NULL && line.p >= p->scratch && line.p < p->scratch + p->scratch_cap)
		return; /* the line straddled calls: already in the scratch */
	grow_scratch(p, line.n ? line.n : 1);
	memcpy(p->scratch, line.p, line.n);
	p->scratch_len = line.n;
	line.p = p->scratch;
	int64_t size = p->pending.size;
	int r = finish_line(p, line, &p->pending);
	/* The same bytes parse the same way. */
	if (r != NEEDS_PAYLOAD || p->pending.size != size)
		abort();
}

/* Starts reading the payload of p->pending at buf[*i]. */
static int start_payload(nd_route_parser_t *p, const char *buf, size_t len, size_t *i, nd_rop_t *op)
{
	size_t size = (size_t)p->pending.size;
	size_t avail = len - *i;
	const char *pl = buf + *i;
	if (avail >= size + 2) {
		/* parser.go MSG_END_R / MSG_END_N: anything else is a parseErr. */
		if (pl[size] != '\r' || pl[size + 1] != '\n') {
			p->err_text = "Unknown Protocol Operation";
			return ND_RPERR_PAYLOAD_END;
		}
		*op = p->pending;
		op->payload.p = pl;
		op->payload.n = size;
		*i += size + 2;
		p->state = S_NAME;
		return ND_PARSE_OP;
	}
	if (avail > size && pl[size] != '\r') {
		p->err_text = "Unknown Protocol Operation";
		return ND_RPERR_PAYLOAD_END;
	}
	keep_pending(p);
	p->payload_cap = size + 2;
	p->payload = xrealloc(p->payload, p->payload_cap);
	memcpy(p->payload, pl, avail);
	p->payload_len = avail;
	*i = len;
	p->state = S_PAYLOAD;
	return ND_PARSE_AGAIN;
}

static int continue_payload(nd_route_parser_t *p, const char *buf, size_t len, size_t *i,
			    nd_rop_t *op)
{
	size_t size = (size_t)p->pending.size;
	size_t want = p->payload_cap - p->payload_len;
	size_t avail = len - *i;
	size_t take = avail < want ? avail : want;
	size_t before = p->payload_len;
	memcpy(p->payload + p->payload_len, buf + *i, take);
	p->payload_len += take;
	*i += take;
	/* Terminator bytes are checked as they arrive. */
	if ((p->payload_len > size && before <= size && p->payload[size] != '\r') ||
	    (p->payload_len == p->payload_cap && p->payload[size + 1] != '\n')) {
		p->err_text = "Unknown Protocol Operation";
		return ND_RPERR_PAYLOAD_END;
	}
	if (p->payload_len < p->payload_cap)
		return ND_PARSE_AGAIN;
	*op = p->pending;
	op->payload.p = p->payload;
	op->payload.n = size;
	p->state = S_NAME;
	return ND_PARSE_OP;
}

/* buf[*i..) holds the rest of an argument line, possibly with its \n. */
static int arg_bytes(nd_route_parser_t *p, const char *buf, size_t len, size_t *i, nd_rop_t *op)
{
	/* parser.go moves to *_ARG on the first byte of the argument without looking at it: a
	 * leading \r does not count for the drop and a leading \n does not end the line. */
	size_t from = *i + (p->arg_first ? 1 : 0);
	const char *nl = from < len ? memchr(buf + from, '\n', len - from) : NULL;
	if (nl == NULL) {
		int r = save_line_piece(p, buf + *i, len - *i);
		*i = len;
		return r;
	}
	size_t end = (size_t)(nl - buf);
	nd_slice_t arg;
	if (p->scratch_len > 0) {
		int r = save_line_piece(p, buf + *i, end - *i);
		if (r != ND_PARSE_AGAIN)
			return r;
		arg.p = p->scratch;
		arg.n = p->scratch_len;
	} else {
		arg.p = buf + *i;
		arg.n = end - *i;
		if (arg.n > 1 && memchr(arg.p + 1, '\r', arg.n - 1) != NULL)
			p->saw_cr = true;
	}
	*i = end + 1;
	p->scratch_len = 0;
	/* The reference drops the last byte of the line if it saw a \r in it. */
	if (p->saw_cr)
		arg.n--;
	if (arg.n > p->max_control_line)
		return control_line(p);
	int r = finish_line(p, arg, &p->pending);
	if (r == ND_PARSE_OP) {
		*op = p->pending;
		p->state = S_NAME;
		return ND_PARSE_OP;
	}
	if (r < 0)
		return r;
	return start_payload(p, buf, len, i, op);
}

int nd_route_parser_next(nd_route_parser_t *p, const char *buf, size_t len, size_t *used,
			 nd_rop_t *op)
{
	/* The previous op's views are no longer needed: drop the buffers of a straddling op. */
	if (nd_route_parser_idle(p) && (p->scratch != NULL || p->payload != NULL))
		free_buffers(p);
	size_t i = 0;
	int r;
	while (i < len) {
		char c = buf[i];
		switch (p->state) {
		case S_NAME:
			r = name_byte(p, c);
			if (r < 0)
				return r;
			i++;
			break;
		case S_SEP:
			if (c != ' ' && c != '\t')
				return unknown_op(p);
			p->state = S_SPC;
			i++;
			break;
		case S_SPC:
			if (c == ' ' || c == '\t') {
				i++;
				break;
			}
			p->state = S_ARG;
			p->arg_first = true;
			p->saw_cr = false;
			p->scratch_len = 0;
			break;
		case S_LINE: {
			/* Not bounded, as in the reference. */
			const char *nl = memchr(buf + i, '\n', len - i);
			if (nl == NULL) {
				i = len;
				break;
			}
			i = (size_t)(nl - buf) + 1;
			p->state = S_NAME;
			memset(op, 0, sizeof(*op));
			op->kind = (nd_rop_kind_t)p->kind;
			op->hdr = -1;
			op->weight = -1;
			*used = i;
			return ND_PARSE_OP;
		}
		case S_ARG:
			r = arg_bytes(p, buf, len, &i, op);
			if (r == ND_PARSE_OP) {
				*used = i;
				return r;
			}
			if (r < 0)
				return r;
			break;
		case S_PAYLOAD:
			r = continue_payload(p, buf, len, &i, op);
			if (r == ND_PARSE_OP) {
				*used = i;
				return r;
			}
			if (r < 0)
				return r;
			break;
		default:
			return unknown_op(p);
		}
	}
	*used = len;
	return ND_PARSE_AGAIN;
}
