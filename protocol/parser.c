/* The client protocol state machine. Op names are matched byte by byte (so that a bad byte is
 * an error the moment it arrives, as in the reference); argument lines are found with memchr
 * and split in place; payloads are skipped over by length. Only an operation that straddles
 * two calls is copied: its argument line into `scratch`, its payload into `payload`.
 *
 * One deliberate difference from the reference (docs/compatibility.md): a bare '\r' inside an
 * argument line is handled the same whether or not the line arrived in one read. The reference
 * drops the last byte of the line if any '\r' was seen when the line is in one buffer, but
 * drops every '\r' when the line was split across reads. We always do the former, so that
 * parsing never depends on how TCP segmented the stream. */
#include "protocol/parser.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum state {
	S_START,
	S_KW,            /* matching the rest of an op name (p->kw) */
	S_P,             /* after P: PUB, PING, PONG */
	S_H,             /* after H: HPUB, HMSG */
	S_SEP,           /* a space or tab must follow the op name */
	S_SPC,           /* skipping spaces and tabs before the argument */
	S_ARG,           /* reading the argument line up to \n */
	S_LINE,          /* PING/PONG/+OK: everything up to \n is ignored */
	S_PAYLOAD,       /* reading a payload that arrived in pieces */
	S_PAYLOAD_START, /* a reported control line: its payload starts at the next byte */
};

/* Where S_KW goes when the name is complete: the op's own follow-up state. */
enum kw_next { K_SEP, K_SPC, K_LINE };

#define ARG_SLACK 64 /* scratch beyond max_control_line for the arguments of a pending op */

void nd_parser_init(nd_parser_t *p)
{
	memset(p, 0, sizeof(*p));
	p->state = S_START;
	p->max_control_line = 4096;
	p->max_payload = 1024 * 1024;
}

static void free_buffers(nd_parser_t *p)
{
	free(p->scratch);
	p->scratch = NULL;
	p->scratch_len = p->scratch_cap = 0;
	free(p->payload);
	p->payload = NULL;
	p->payload_len = p->payload_cap = 0;
}

void nd_parser_deinit(nd_parser_t *p)
{
	free_buffers(p);
}

void nd_parser_set_limits(nd_parser_t *p, uint32_t max_control_line, int64_t max_payload)
{
	p->max_control_line = max_control_line;
	p->max_payload = max_payload;
}

void nd_parser_set_headers(nd_parser_t *p, bool enabled)
{
	p->headers = enabled;
}

void nd_parser_set_require_connect(nd_parser_t *p, bool required)
{
	p->require_connect = required;
}

void nd_parser_set_report_lines(nd_parser_t *p, bool report)
{
	p->report_lines = report;
}

const nd_op_t *nd_parser_pending_pub(const nd_parser_t *p)
{
	return p->state == S_PAYLOAD || p->state == S_PAYLOAD_START ? &p->pending : NULL;
}

bool nd_parser_idle(const nd_parser_t *p)
{
	return p->state == S_START;
}

int64_t nd_parse_size(const char *s, size_t n)
{
	if (n == 0 || n > 9)
		return -1;
	int64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static void *xmalloc(size_t n)
{
	void *m = malloc(n);
	if (m == NULL) {
		fputs("natsd: out of memory\n", stderr);
		abort();
	}
	return m;
}

/* The scratch starts at the default control line size and grows up to the configured limit
 * only for lines that need it: a large max_control_line must not cost every connection. */
static void ensure_scratch(nd_parser_t *p)
{
	if (p->scratch == NULL) {
		size_t limit = (size_t)p->max_control_line + ARG_SLACK;
		p->scratch_cap = limit < 4096 + ARG_SLACK ? limit : 4096 + ARG_SLACK;
		p->scratch = xmalloc(p->scratch_cap);
		p->scratch_len = 0;
	}
}

/* Makes room for at least want bytes, keeping the content. Nothing may point into it. */
static void grow_scratch(nd_parser_t *p, size_t want)
{
	ensure_scratch(p);
	if (want <= p->scratch_cap)
		return;
	size_t cap = p->scratch_cap;
	while (cap < want)
		cap *= 2;
	char *n = realloc(p->scratch, cap);
	if (n == NULL) {
		fputs("natsd: out of memory\n", stderr);
		abort();
	}
	p->scratch = n;
	p->scratch_cap = cap;
}

static inline char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

/* PUB and HPUB split their arguments on spaces and tabs; SUB and UNSUB also on \r and \n. */
enum split_mode { SPLIT_PUB, SPLIT_SUB };

static inline bool is_ws(char c, enum split_mode mode)
{
	return c == ' ' || c == '\t' || (mode == SPLIT_SUB && (c == '\r' || c == '\n'));
}

/* Splits arg into at most max fields separated by runs of separators. Returns the number of
 * fields found, max + 1 if there were more. */
static size_t split(nd_slice_t arg, enum split_mode ws, nd_slice_t *out, size_t max)
{
	size_t n = 0, i = 0;
	while (i < arg.n) {
		while (i < arg.n && is_ws(arg.p[i], ws))
			i++;
		if (i == arg.n)
			break;
		size_t start = i;
		while (i < arg.n && !is_ws(arg.p[i], ws))
			i++;
		if (n == max)
			return max + 1;
		out[n].p = arg.p + start;
		out[n].n = i - start;
		n++;
	}
	return n;
}

static void begin_kw(nd_parser_t *p, const char *rest, enum kw_next next, nd_op_kind_t kind)
{
	p->kw = rest;
	p->kw_next = (uint8_t)next;
	p->arg_kind = (uint8_t)kind;
	p->state = S_KW;
}

/* The argument line is complete: turn it into an op. Returns ND_PARSE_OP for ops without a
 * payload, 2 when a payload follows (p->pending is set), or an error. */
static int finish_arg(nd_parser_t *p, nd_slice_t raw, nd_op_t *op)
{
	nd_slice_t arg = raw;
	/* The reference drops the last byte of the line if a \r appeared anywhere in it. The
	 * usual case, "...\r\n", needs no scan. */
	if (arg.n > 0 && (arg.p[arg.n - 1] == '\r' || memchr(arg.p, '\r', arg.n) != NULL))
		arg.n--;
	if (arg.n > p->max_control_line)
		return ND_PERR_CONTROL_LINE;
	memset(op, 0, sizeof(*op));
	op->kind = (nd_op_kind_t)p->arg_kind;
	nd_slice_t f[5];
	size_t n;
	switch (op->kind) {
	case ND_OP_CONNECT:
	case ND_OP_INFO:
	case ND_OP_ERR:
		op->arg = arg;
		return ND_PARSE_OP;
	case ND_OP_SUB:
		n = split(arg, SPLIT_SUB, f, 3);
		if (n == 2) {
			op->subject = f[0];
			op->sid = f[1];
		} else if (n == 3) {
			op->subject = f[0];
			op->queue = f[1];
			op->sid = f[2];
		} else {
			return ND_PERR_ARGS;
		}
		return ND_PARSE_OP;
	case ND_OP_UNSUB:
		n = split(arg, SPLIT_SUB, f, 2);
		if (n < 1 || n > 2)
			return ND_PERR_ARGS;
		op->sid = f[0];
		op->max_msgs = n == 2 ? nd_parse_size(f[1].p, f[1].n) : -1;
		return ND_PARSE_OP;
	case ND_OP_PUB:
		n = split(arg, SPLIT_PUB, f, 3);
		if (n < 2 || n > 3)
			return ND_PERR_ARGS;
		op->subject = f[0];
		if (n == 3)
			op->reply = f[1];
		op->size_tok = f[n - 1];
		op->size = nd_parse_size(op->size_tok.p, op->size_tok.n);
		op->hdr = -1;
		if (op->size < 0)
			return ND_PERR_ARGS;
		if (p->max_payload != -1 && op->size > p->max_payload)
			return ND_PERR_MAX_PAYLOAD;
		return 2;
	case ND_OP_HPUB:
		if (!p->headers)
			return ND_PERR_NO_HEADERS;
		n = split(arg, SPLIT_PUB, f, 4);
		if (n < 3 || n > 4)
			return ND_PERR_ARGS;
		op->subject = f[0];
		if (n == 4)
			op->reply = f[1];
		op->hdr_tok = f[n - 2];
		op->size_tok = f[n - 1];
		op->hdr = nd_parse_size(op->hdr_tok.p, op->hdr_tok.n);
		op->size = nd_parse_size(op->size_tok.p, op->size_tok.n);
		if (op->hdr < 0 || op->size < 0 || op->hdr > op->size)
			return ND_PERR_ARGS;
		if (p->max_payload != -1 && op->size > p->max_payload)
			return ND_PERR_MAX_PAYLOAD;
		return 2;
	case ND_OP_HMSG_Q:
		/* A client's HMSG: arguments ignored, an empty payload follows. */
		op->size = 0;
		op->hdr = 0;
		return 2;
	default:
		return ND_PERR_UNKNOWN_OP;
	}
}

/* Copies s into the scratch at *at and re-points it there. */
static void move_slice(nd_parser_t *p, nd_slice_t *s, size_t *at)
{
	if (s->n == 0) {
		s->p = NULL;
		return;
	}
	memcpy(p->scratch + *at, s->p, s->n);
	s->p = p->scratch + *at;
	*at += s->n;
}

/* The pending op's argument slices may point into the caller's buffer, which goes away when
 * this call returns: keep them in the scratch. */
static void keep_pending_args(nd_parser_t *p)
{
	nd_op_t *op = &p->pending;
	size_t need = op->subject.n + op->reply.n + op->size_tok.n + op->hdr_tok.n;
	char *old = p->scratch;
	bool in_scratch =
	    old != NULL && op->subject.p >= old && op->subject.p < old + p->scratch_cap;
	if (in_scratch) {
		/* Already there (the line itself was split): compact to the front. */
		char tmp[4096 + ARG_SLACK];
		char *buf = need <= sizeof(tmp) ? tmp : xmalloc(need);
		size_t at = 0;
		nd_slice_t *parts[] = {&op->subject, &op->reply, &op->size_tok, &op->hdr_tok};
		for (int i = 0; i < 4; i++) {
			if (parts[i]->n > 0) {
				memcpy(buf + at, parts[i]->p, parts[i]->n);
				at += parts[i]->n;
			}
		}
		memcpy(p->scratch, buf, at);
		at = 0;
		for (int i = 0; i < 4; i++) {
			if (parts[i]->n > 0) {
				parts[i]->p = p->scratch + at;
				at += parts[i]->n;
			} else {
				parts[i]->p = NULL;
			}
		}
		if (buf != tmp)
			free(buf);
		return;
	}
	grow_scratch(p, need);
	size_t at = 0;
	move_slice(p, &op->subject, &at);
	move_slice(p, &op->reply, &at);
	move_slice(p, &op->size_tok, &at);
	move_slice(p, &op->hdr_tok, &at);
}

/* Appends raw argument bytes to the scratch (a line split across calls). */
static int save_arg_piece(nd_parser_t *p, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (b[i] == '\r')
			p->saw_cr = true;
	}
	size_t limit = (size_t)p->max_control_line + ARG_SLACK;
	size_t want = p->scratch_len + n;
	grow_scratch(p, want < limit ? want : limit);
	size_t room = p->scratch_cap - p->scratch_len;
	size_t take = n < room ? n : room;
	memcpy(p->scratch + p->scratch_len, b, take);
	p->scratch_len += take;
	size_t effective = p->scratch_len - (p->saw_cr ? 1 : 0);
	if (effective > p->max_control_line || take < n)
		return ND_PERR_CONTROL_LINE;
	return ND_PARSE_AGAIN;
}

/* Starts reading the payload of p->pending at buf[*i]. Returns ND_PARSE_OP if it was complete,
 * ND_PARSE_AGAIN if it continues in later calls, or an error. */
static int start_payload(nd_parser_t *p, const char *buf, size_t len, size_t *i, nd_op_t *op)
{
	size_t size = (size_t)p->pending.size;
	size_t avail = len - *i;
	if (avail >= size + 2) {
		const char *pl = buf + *i;
		if (pl[size] != '\r' || pl[size + 1] != '\n')
			return ND_PERR_UNKNOWN_OP;
		*op = p->pending;
		op->payload.p = pl;
		op->payload.n = size;
		*i += size + 2;
		p->state = S_START;
		return ND_PARSE_OP;
	}
	/* Check the terminator bytes that did arrive. */
	if (avail > size && buf[*i + size] != '\r')
		return ND_PERR_UNKNOWN_OP;
	keep_pending_args(p);
	p->payload_cap = size + 2;
	p->payload = xmalloc(p->payload_cap);
	memcpy(p->payload, buf + *i, avail);
	p->payload_len = avail;
	*i = len;
	p->state = S_PAYLOAD;
	return ND_PARSE_AGAIN;
}

static int continue_payload(nd_parser_t *p, const char *buf, size_t len, size_t *i, nd_op_t *op)
{
	size_t size = (size_t)p->pending.size;
	size_t want = p->payload_cap - p->payload_len;
	size_t avail = len - *i;
	size_t take = avail < want ? avail : want;
	size_t before = p->payload_len;
	memcpy(p->payload + p->payload_len, buf + *i, take);
	p->payload_len += take;
	*i += take;
	/* Terminator bytes, checked as they arrive. */
	if (p->payload_len > size && before <= size && p->payload[size] != '\r')
		return ND_PERR_UNKNOWN_OP;
	if (p->payload_len < p->payload_cap)
		return ND_PARSE_AGAIN;
	if (p->payload[size] != '\r' || p->payload[size + 1] != '\n')
		return ND_PERR_UNKNOWN_OP;
	*op = p->pending;
	op->payload.p = p->payload;
	op->payload.n = size;
	p->state = S_START;
	return ND_PARSE_OP;
}

int nd_parser_next(nd_parser_t *p, const char *buf, size_t len, size_t *used, nd_op_t *op)
{
	/* The previous op's slices are no longer needed: drop any straddling buffers. */
	if (p->state == S_START && (p->scratch != NULL || p->payload != NULL))
		free_buffers(p);
	size_t i = 0;
	int r;
	while (i < len) {
		char c = buf[i];
		switch (p->state) {
		case S_START:
			if (p->require_connect && c != 'C' && c != 'c') {
				*used =
				    i; /* the op is still there: no_auth_user may let it through */
				return ND_PERR_AUTH;
			}
			/* Fast path for the common ops when their name and separator are
			 * all here: the same transitions the byte-by-byte states below
			 * would make. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
			if (len - i >= 4) {
				uint32_t w;
				memcpy(&w, buf + i, 4);
				/* Setting bit 5 of each of the first three bytes lower-cases
				 * exactly P/p, U/u, B/b; no other byte becomes one of them.
				 * Little-endian. */
				uint32_t lw = w | 0x00202020u;
				if (lw == ('p' | 'u' << 8 | 'b' << 16 | (uint32_t)' ' << 24) ||
				    lw == ('p' | 'u' << 8 | 'b' << 16 | (uint32_t)'\t' << 24)) {
					p->arg_kind = ND_OP_PUB;
					p->state = S_SPC;
					i += 4;
					break;
				}
			}
#endif
			switch (lower(c)) {
			case 'p':
				p->state = S_P;
				break;
			case 'h':
				p->state = S_H;
				break;
			case 's':
				begin_kw(p, "ub", K_SEP, ND_OP_SUB);
				break;
			case 'u':
				begin_kw(p, "nsub", K_SEP, ND_OP_UNSUB);
				break;
			case 'c':
				begin_kw(p, "onnect", K_SPC, ND_OP_CONNECT);
				break;
			case 'i':
				begin_kw(p, "nfo", K_SPC, ND_OP_INFO);
				break;
			case '+':
				begin_kw(p, "ok", K_LINE, ND_OP_OK);
				break;
			case '-':
				begin_kw(p, "err", K_SEP, ND_OP_ERR);
				break;
			default:
				return ND_PERR_UNKNOWN_OP;
			}
			i++;
			break;
		case S_P:
			switch (lower(c)) {
			case 'u':
				begin_kw(p, "b", K_SEP, ND_OP_PUB);
				break;
			case 'i':
				begin_kw(p, "ng", K_LINE, ND_OP_PING);
				break;
			case 'o':
				begin_kw(p, "ng", K_LINE, ND_OP_PONG);
				break;
			default:
				return ND_PERR_UNKNOWN_OP;
			}
			i++;
			break;
		case S_H:
			switch (lower(c)) {
			case 'p':
				begin_kw(p, "ub", K_SEP, ND_OP_HPUB);
				break;
			case 'm':
				begin_kw(p, "sg", K_SEP, ND_OP_HMSG_Q);
				break;
			default:
				return ND_PERR_UNKNOWN_OP;
			}
			i++;
			break;
		case S_KW:
			if (lower(c) != *p->kw)
				return ND_PERR_UNKNOWN_OP;
			i++;
			if (*++p->kw == '\0') {
				p->state = p->kw_next == K_SEP   ? S_SEP
					   : p->kw_next == K_SPC ? S_SPC
								 : S_LINE;
			}
			break;
		case S_SEP:
			if (c != ' ' && c != '\t')
				return ND_PERR_UNKNOWN_OP;
			p->state = S_SPC;
			i++;
			break;
		case S_SPC:
			if (c == ' ' || c == '\t') {
				i++;
				break;
			}
			p->state = S_ARG;
			p->saw_cr = false;
			p->scratch_len = 0;
			break;
		case S_LINE: {
			const char *nl = memchr(buf + i, '\n', len - i);
			if (nl == NULL) {
				i = len; /* not bounded by max_control_line, as in the reference */
				break;
			}
			i = (size_t)(nl - buf) + 1;
			p->state = S_START;
			memset(op, 0, sizeof(*op));
			op->kind = (nd_op_kind_t)p->arg_kind;
			*used = i;
			return ND_PARSE_OP;
		}
		case S_ARG: {
			const char *nl = memchr(buf + i, '\n', len - i);
			if (nl == NULL) {
				r = save_arg_piece(p, buf + i, len - i);
				if (r != ND_PARSE_AGAIN)
					return r;
				i = len;
				break;
			}
			size_t end = (size_t)(nl - buf);
			nd_slice_t raw;
			if (p->scratch_len > 0) {
				r = save_arg_piece(p, buf + i, end - i);
				if (r != ND_PARSE_AGAIN)
					return r;
				raw.p = p->scratch;
				raw.n = p->scratch_len;
			} else {
				raw.p = buf + i;
				raw.n = end - i;
			}
			i = end + 1;
			p->scratch_len = 0;
			r = finish_arg(p, raw, &p->pending);
			if (r < 0)
				return r;
			if (r == ND_PARSE_OP) {
				*op = p->pending;
				p->state = S_START;
				*used = i;
				return ND_PARSE_OP;
			}
			if (p->report_lines && p->pending.kind != ND_OP_HMSG_Q) {
				/* Hand out the line first. If it ends this buffer, its slices must
				 * outlive it: the payload comes with the next call. */
				if (i == len)
					keep_pending_args(p);
				*op = p->pending;
				op->kind = ND_OP_PUB_LINE;
				p->state = S_PAYLOAD_START;
				*used = i;
				return ND_PARSE_OP;
			}
			r = start_payload(p, buf, len, &i, op);
			if (r != ND_PARSE_AGAIN) {
				if (r == ND_PARSE_OP)
					*used = i;
				return r;
			}
			break;
		}
		case S_PAYLOAD_START:
			r = start_payload(p, buf, len, &i, op);
			if (r != ND_PARSE_AGAIN) {
				if (r == ND_PARSE_OP)
					*used = i;
				return r;
			}
			break;
		case S_PAYLOAD:
			r = continue_payload(p, buf, len, &i, op);
			if (r != ND_PARSE_AGAIN) {
				if (r == ND_PARSE_OP)
					*used = i;
				return r;
			}
			break;
		default:
			return ND_PERR_UNKNOWN_OP;
		}
	}
	*used = len;
	return ND_PARSE_AGAIN;
}

int64_t nd_parser_last_size(const nd_parser_t *p)
{
	return p->pending.size;
}
