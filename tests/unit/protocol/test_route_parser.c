/* The route protocol parser: every op form, the argument rules and every error, each stream
 * also re-fed split at every byte boundary and one byte at a time, which must give the same
 * operations and the same error. No differential run is possible without a cluster, so each
 * expectation names the nats-server v2.9.10 source it was taken from (server/parser.go,
 * route.go, client.go). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/route_parser.h"
#include "tests/support/nd_test.h"

typedef struct render {
	char text[65536];
	size_t len;
} render_t;

static void put(render_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(render_t *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(r->text + r->len, sizeof(r->text) - r->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		r->len +=
		    (size_t)n < sizeof(r->text) - r->len ? (size_t)n : sizeof(r->text) - r->len - 1;
}

static void put_bytes(render_t *r, nd_slice_t s)
{
	for (size_t i = 0; i < s.n; i++) {
		unsigned char c = (unsigned char)s.p[i];
		if (c >= 32 && c < 127 && c != '\\')
			put(r, "%c", c);
		else
			put(r, "\\x%02x", c);
	}
}

/* Only the fields that are set, so expectations stay short. */
static void put_field(render_t *r, const char *name, nd_slice_t s)
{
	if (s.n == 0)
		return;
	put(r, " %s=", name);
	put_bytes(r, s);
}

static const char *const kinds[] = {"INFO", "CONNECT", "PING",   "PONG",   "OK",   "ERR",
				    "RSUB", "RUNSUB",  "LSUB",   "LUNSUB", "RMSG", "RHMSG",
				    "LMSG", "ASUB",    "AUNSUB", "SUB",    "PUB",  "HPUB"};

static bool has_payload(nd_rop_kind_t k)
{
	return k == ND_ROP_RMSG || k == ND_ROP_RHMSG || k == ND_ROP_LMSG || k == ND_ROP_PUB ||
	       k == ND_ROP_HPUB;
}

static void render_op(render_t *r, const nd_rop_t *op)
{
	put(r, "%s", kinds[op->kind]);
	bool msg = has_payload(op->kind);
	/* The message ops' arg is their whole line: shown by the fields instead. */
	if (!msg && op->kind != ND_ROP_RSUB && op->kind != ND_ROP_LSUB &&
	    op->kind != ND_ROP_RUNSUB && op->kind != ND_ROP_LUNSUB)
		put_field(r, "arg", op->arg);
	put_field(r, "origin", op->origin);
	put_field(r, "acc", op->account);
	put_field(r, "subj", op->subject);
	put_field(r, "reply", op->reply);
	put_field(r, "q", op->queue);
	if (op->weight_tok.n > 0)
		put(r, " w=%lld", (long long)op->weight);
	if (op->nqueues > 0) {
		/* All names through the iterator; the inline ones must agree with it. */
		put(r, " queues=%zu[", op->nqueues);
		nd_slice_t rest = op->queue_list, q;
		size_t k = 0;
		while (nd_route_queues_next(&rest, &q)) {
			if (k < ND_ROUTE_QUEUES_INLINE)
				cr_assert(op->queues[k].n == q.n &&
					  memcmp(op->queues[k].p, q.p, q.n) == 0);
			put(r, k ? "," : "");
			put_bytes(r, q);
			k++;
		}
		cr_assert_eq(k, op->nqueues);
		put(r, "]");
	}
	if (msg) {
		if (op->hdr >= 0)
			put(r, " hdr=%lld", (long long)op->hdr);
		put(r, " size=%lld payload=", (long long)op->size);
		put_bytes(r, op->payload);
		cr_assert_eq(op->payload.n, (size_t)op->size);
	}
	put(r, "\n");
}

typedef struct feed_opts {
	uint32_t mcl;
	int64_t max_payload;
	bool headers;
} feed_opts_t;

/* Feeds s in chunks: cut after cuts[0] if given, or one byte at a time if bytewise, each chunk
 * a private copy poisoned after use (catches views that outlive their call). */
static void feed(const char *s, size_t n, const size_t *cut, bool bytewise, const feed_opts_t *o,
		 render_t *r)
{
	nd_route_parser_t p;
	nd_route_parser_init(&p);
	if (o->mcl || o->max_payload)
		nd_route_parser_set_limits(&p, o->mcl ? o->mcl : 1024 * 1024,
					   o->max_payload ? o->max_payload : 64 * 1024 * 1024);
	nd_route_parser_set_headers(&p, o->headers);
	r->len = 0;
	r->text[0] = '\0';
	size_t pos = 0;
	bool cut_done = false;
	while (pos < n) {
		size_t end = bytewise ? pos + 1 : (cut && !cut_done ? *cut : n);
		cut_done = true;
		char *chunk = malloc(end - pos + 1);
		memcpy(chunk, s + pos, end - pos);
		size_t off = 0, clen = end - pos;
		while (off < clen) {
			size_t used = 0;
			nd_rop_t op;
			int rc = nd_route_parser_next(&p, chunk + off, clen - off, &used, &op);
			if (rc == ND_PARSE_OP) {
				cr_assert(used > 0 && used <= clen - off);
				render_op(r, &op);
				off += used;
				continue;
			}
			if (rc == ND_PARSE_AGAIN) {
				cr_assert_eq(used, clen - off, "AGAIN must consume everything");
				off = clen;
				continue;
			}
			put(r, "ERROR %d %s\n", rc, nd_route_parser_error_text(&p));
			free(chunk);
			nd_route_parser_deinit(&p);
			return;
		}
		memset(chunk, 'Z', clen);
		free(chunk);
		pos = end;
	}
	put(r, nd_route_parser_idle(&p) ? "END idle\n" : "END partial\n");
	nd_route_parser_deinit(&p);
}

/* Whole, split at every boundary and bytewise: all must agree. Returns the whole rendering. */
static render_t *check_splits(const char *s, size_t n, const feed_opts_t *o)
{
	static render_t whole, part;
	feed(s, n, NULL, false, o, &whole);
	for (size_t cut = 1; cut < n; cut++) {
		feed(s, n, &cut, false, o, &part);
		cr_assert_str_eq(part.text, whole.text, "split at %zu of %zu differs", cut, n);
	}
	feed(s, n, NULL, true, o, &part);
	cr_assert_str_eq(part.text, whole.text, "bytewise feed differs");
	return &whole;
}

static const feed_opts_t plain = {0};

#define CHECK_OPTS(opts, stream, expected)                                                         \
	do {                                                                                       \
		render_t *r_ = check_splits(stream, sizeof(stream) - 1, opts);                     \
		cr_assert_str_eq(r_->text, expected, "stream: %s", stream);                        \
	} while (0)
#define CHECK(stream, expected) CHECK_OPTS(&plain, stream, expected)

/* parser.go OP_INFO / OP_CONNECT (blanks skipped, no separator needed), OP_PING / OP_PONG /
 * OP_PLUS_OK (up to \n), OP_MINUS_ERR (separator needed), client.go processErr. */
ND_TEST(route_parser, control_ops)
{
	CHECK("INFO {\"server_id\":\"A\"}\r\nCONNECT {\"verbose\":false}\r\nPING\r\nPONG\r\n"
	      "+OK\r\n-ERR 'Unknown Protocol Operation'\r\n",
	      "INFO arg={\"server_id\":\"A\"}\n"
	      "CONNECT arg={\"verbose\":false}\n"
	      "PING\nPONG\nOK\n"
	      "ERR arg='Unknown Protocol Operation'\n"
	      "END idle\n");
	CHECK("INFO{}\r\nCONNECT\t \t{}\r\nPINGxyz\r\nPONG foo\n+OKbar\r\n-ERR\t\tx y\r\n",
	      "INFO arg={}\nCONNECT arg={}\nPING\nPONG\nOK\nERR arg=x y\nEND idle\n");
}

/* parser.go: each name byte is matched as 'X', 'x'; \n without \r ends a line. */
ND_TEST(route_parser, names_are_case_insensitive)
{
	CHECK("info {}\nconnect {}\npInG\npong\n+ok\n-eRr x\nrs+ A foo\nRs- A foo\n"
	      "ls+ o A foo\nlS- A foo\nrmsg A foo 0\r\n\r\nhMsG A foo 0 0\r\n\r\n"
	      "lmsg o A foo 0 0\r\n\r\na+ A\na- A\nAu A\nsub x 1\nunsub A foo\n",
	      "INFO arg={}\nCONNECT arg={}\nPING\nPONG\nOK\nERR arg=x\n"
	      "RSUB acc=A subj=foo\nRUNSUB acc=A subj=foo\n"
	      "LSUB origin=o acc=A subj=foo\nLUNSUB acc=A subj=foo\n"
	      "RMSG acc=A subj=foo size=0 payload=\n"
	      "RHMSG acc=A subj=foo hdr=0 size=0 payload=\n"
	      "LMSG origin=o acc=A subj=foo hdr=0 size=0 payload=\n"
	      "ASUB arg=A\nAUNSUB arg=A\nAUNSUB arg=A\nSUB arg=x 1\n"
	      "RUNSUB acc=A subj=foo\nEND idle\n");
}

/* parser.go OP_A: case '-', 'u' only; an upper-case U is a parseErr. */
ND_TEST(route_parser, account_ops)
{
	CHECK("A+ $G\r\nA- $G\r\nAu\t$G\r\n",
	      "ASUB arg=$G\nAUNSUB arg=$G\nAUNSUB arg=$G\nEND idle\n");
	CHECK("AU $G\r\n", "ERROR -1 Unknown Protocol Operation\n");
	CHECK("A+$G\r\n", "ERROR -1 Unknown Protocol Operation\n");
	CHECK("A* $G\r\n", "ERROR -1 Unknown Protocol Operation\n");
}

/* route.go processRemoteSub: 2 args, or 4 with queue and weight (weight via parseSize, not
 * checked); route.go addRouteSubOrUnsubProtoToBuf writes these forms. */
ND_TEST(route_parser, rs_plus)
{
	CHECK("RS+ $G foo\r\nRS+ $G foo.* bar 3\r\nRS+ $G foo bar x\r\n"
	      "RS+ $G foo bar 1234567890\r\n",
	      "RSUB acc=$G subj=foo\n"
	      "RSUB acc=$G subj=foo.* q=bar w=3\n"
	      "RSUB acc=$G subj=foo q=bar w=-1\n"
	      "RSUB acc=$G subj=foo q=bar w=-1\n"
	      "END idle\n");
	CHECK("RS+ $G\r\n", "ERROR -4 processRemoteSub Parse Error\n");
	CHECK("RS+ $G foo bar\r\n", "ERROR -4 processRemoteSub Parse Error\n");
	CHECK("RS+ $G foo bar 1 2\r\n", "ERROR -4 processRemoteSub Parse Error\n");
	/* The name needs its separator (parser.go OP_SUB). */
	CHECK("RS+$G foo\r\n", "ERROR -1 Unknown Protocol Operation\n");
	CHECK("RS* $G foo\r\n", "ERROR -1 Unknown Protocol Operation\n");
}

/* parser.go SUB_ARG: ROUTER with c.op 'L' calls processRemoteSub(arg, true): the origin
 * cluster comes first, then 2 or 4 args. */
ND_TEST(route_parser, ls_plus)
{
	CHECK(
	    "LS+ C1 $G foo\r\nLS+ C1 $G foo q 12\r\n",
	    "LSUB origin=C1 acc=$G subj=foo\nLSUB origin=C1 acc=$G subj=foo q=q w=12\nEND idle\n");
	CHECK("LS+ $G foo\r\n", "ERROR -4 processRemoteSub Parse Error\n");
	CHECK("LS+ C1 $G foo q\r\n", "ERROR -4 processRemoteSub Parse Error\n");
}

/* route.go processRemoteUnsub / parseUnsubProto: 2 or 3 args. LS- carries no origin
 * (addRouteSubOrUnsubProtoToBuf). parser.go UNSUB_ARG runs processRemoteUnsub for any
 * ROUTER op, so a route's UNSUB is an RS-. */
ND_TEST(route_parser, rs_minus_ls_minus_unsub)
{
	CHECK("RS- $G foo\r\nRS- $G foo q\r\nLS- $G foo\r\nLS- $G foo q\r\nUNSUB $G foo q\r\n",
	      "RUNSUB acc=$G subj=foo\nRUNSUB acc=$G subj=foo q=q\n"
	      "LUNSUB acc=$G subj=foo\nLUNSUB acc=$G subj=foo q=q\n"
	      "RUNSUB acc=$G subj=foo q=q\nEND idle\n");
	CHECK("RS- $G\r\n", "ERROR -4 processRemoteUnsub parse error\n");
	CHECK("RS- a b c d\r\n", "ERROR -4 processRemoteUnsub parse error\n");
	CHECK("LS- o a b c\r\n", "ERROR -4 processRemoteUnsub parse error\n");
}

/* route.go processRoutedMsgArgs: 3 args; 4 (reply); 5+ with args[2] a one-byte '+' (reply,
 * then queues) or '|' (queues only); client.go msgHeaderForRouteOrLeaf writes these. */
ND_TEST(route_parser, rmsg_forms)
{
	CHECK("RMSG $G foo 2\r\nhi\r\n"
	      "RMSG $G foo _INBOX.1 2\r\nhi\r\n"
	      "RMSG $G foo + _INBOX.1 q1 q2 2\r\nhi\r\n"
	      "RMSG $G foo | q1 q2 2\r\nhi\r\n"
	      "RMSG $G foo + _INBOX.1 2\r\nhi\r\n"
	      "RMSG $G foo | q1 0\r\n\r\n",
	      "RMSG acc=$G subj=foo size=2 payload=hi\n"
	      "RMSG acc=$G subj=foo reply=_INBOX.1 size=2 payload=hi\n"
	      "RMSG acc=$G subj=foo reply=_INBOX.1 queues=2[q1,q2] size=2 payload=hi\n"
	      "RMSG acc=$G subj=foo queues=2[q1,q2] size=2 payload=hi\n"
	      "RMSG acc=$G subj=foo reply=_INBOX.1 size=2 payload=hi\n"
	      "RMSG acc=$G subj=foo queues=1[q1] size=0 payload=\n"
	      "END idle\n");
	/* With four args the third is the reply, whatever it is (case 4). */
	CHECK("RMSG $G foo + 1\r\nx\r\nRMSG $G foo | 1\r\nx\r\n",
	      "RMSG acc=$G subj=foo reply=+ size=1 payload=x\n"
	      "RMSG acc=$G subj=foo reply=| size=1 payload=x\n"
	      "END idle\n");
}

ND_TEST(route_parser, rmsg_errors)
{
	CHECK("RMSG $G foo\r\n", "ERROR -4 processRoutedMsgArgs Parse Error\n");
	CHECK("RMSG \r\n", "ERROR -4 processRoutedMsgArgs Parse Error\n");
	CHECK("RMSG $G foo x q 2\r\n",
	      "ERROR -4 processRoutedMsgArgs Bad or Missing Reply Indicator\n");
	CHECK("RMSG $G foo ++ r q 2\r\n",
	      "ERROR -4 processRoutedMsgArgs Bad or Missing Reply Indicator\n");
	CHECK("RMSG $G foo x\r\n", "ERROR -4 processRoutedMsgArgs Bad or Missing Size\n");
	CHECK("RMSG $G foo -1\r\n", "ERROR -4 processRoutedMsgArgs Bad or Missing Size\n");
	/* parseSize: at most 9 digits. */
	CHECK("RMSG $G foo 1234567890\r\n", "ERROR -4 processRoutedMsgArgs Bad or Missing Size\n");
	CHECK("RMSG $G foo | q x\r\n", "ERROR -4 processRoutedMsgArgs Bad or Missing Size\n");
	CHECK("RMSG\r\n", "ERROR -1 Unknown Protocol Operation\n");
	CHECK("RMSGX\r\n", "ERROR -1 Unknown Protocol Operation\n");
}

/* More queue names than the inline array: all reachable through queue_list. */
ND_TEST(route_parser, long_queue_lists)
{
	CHECK("RMSG $G foo + r q1 q2 q3 q4 q5 q6 q7 q8 q9 q10 q11 q12 q13 q14 q15 q16 q17 "
	      "q18\t\tq19  q20 1\r\nx\r\n",
	      "RMSG acc=$G subj=foo reply=r "
	      "queues=20[q1,q2,q3,q4,q5,q6,q7,q8,q9,q10,q11,q12,q13,q14,q15,q16,q17,q18,q19,q20] "
	      "size=1 payload=x\nEND idle\n");
}

/* route.go processRoutedHeaderMsgArgs: the wire name is HMSG (msgHeaderForRouteOrLeaf sets
 * mh[0] = 'H' on "RMSG "); 4 args; 5 (reply); 6+ with the indicator. Checks in its order:
 * header size, size, header larger than size. */
ND_TEST(route_parser, hmsg_forms)
{
	CHECK("HMSG $G foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\n"
	      "HMSG $G foo r 12 12\r\nNATS/1.0\r\n\r\n\r\n"
	      "HMSG $G foo + r q1 0 1\r\nx\r\n"
	      "HMSG $G foo | q1 q2 0 1\r\nx\r\n"
	      "HMSG $G foo + r 0 1\r\nx\r\n",
	      "RHMSG acc=$G subj=foo hdr=12 size=14 "
	      "payload=NATS/1.0\\x0d\\x0a\\x0d\\x0ahi\n"
	      "RHMSG acc=$G subj=foo reply=r hdr=12 size=12 payload=NATS/1.0\\x0d\\x0a\\x0d\\x0a\n"
	      "RHMSG acc=$G subj=foo reply=r queues=1[q1] hdr=0 size=1 payload=x\n"
	      "RHMSG acc=$G subj=foo queues=2[q1,q2] hdr=0 size=1 payload=x\n"
	      "RHMSG acc=$G subj=foo reply=r hdr=0 size=1 payload=x\n"
	      "END idle\n");
	CHECK("HMSG $G foo 1\r\n", "ERROR -4 processRoutedHeaderMsgArgs Parse Error\n");
	CHECK("HMSG $G foo x y\r\n",
	      "ERROR -4 processRoutedHeaderMsgArgs Bad or Missing Header Size\n");
	CHECK("HMSG $G foo 1 y\r\n", "ERROR -4 processRoutedHeaderMsgArgs Bad or Missing Size\n");
	CHECK("HMSG $G foo 3 2\r\n",
	      "ERROR -4 processRoutedHeaderMsgArgs Header Size larger then TotalSize\n");
	CHECK("HMSG $G foo ? r q 1 2\r\n",
	      "ERROR -4 processRoutedHeaderMsgArgs Bad or Missing Reply Indicator\n");
	/* Headers negotiation does not matter for HMSG on a route (only processHeaderPub
	 * checks c.headers). */
	CHECK("HMSG $G foo 0 0\r\n\r\n", "RHMSG acc=$G subj=foo hdr=0 size=0 payload=\nEND idle\n");
}

/* route.go processRoutedOriginClusterMsgArgs (parser.go MSG_ARG, ROUTER, c.op 'L'): origin
 * first, always a header size; 5 args; 6 (reply); 7+ with the indicator at args[3]. */
ND_TEST(route_parser, lmsg_forms)
{
	CHECK("LMSG C1 $G foo 0 2\r\nhi\r\n"
	      "LMSG C1 $G foo r 0 2\r\nhi\r\n"
	      "LMSG C1 $G foo + r q 0 2\r\nhi\r\n"
	      "LMSG C1 $G foo | q1 q2 0 2\r\nhi\r\n",
	      "LMSG origin=C1 acc=$G subj=foo hdr=0 size=2 payload=hi\n"
	      "LMSG origin=C1 acc=$G subj=foo reply=r hdr=0 size=2 payload=hi\n"
	      "LMSG origin=C1 acc=$G subj=foo reply=r queues=1[q] hdr=0 size=2 payload=hi\n"
	      "LMSG origin=C1 acc=$G subj=foo queues=2[q1,q2] hdr=0 size=2 payload=hi\n"
	      "END idle\n");
	CHECK("LMSG $G foo 0 2\r\n", "ERROR -4 processRoutedOriginClusterMsgArgs Parse Error\n");
	CHECK("LMSG C1 $G foo x r q 0 2\r\n",
	      "ERROR -4 processRoutedOriginClusterMsgArgs Bad or Missing Reply Indicator\n");
	CHECK("LMSG C1 $G foo a 2\r\n",
	      "ERROR -4 processRoutedOriginClusterMsgArgs Bad or Missing Header Size\n");
	CHECK("LMSG C1 $G foo 0 b\r\n",
	      "ERROR -4 processRoutedOriginClusterMsgArgs Bad or Missing Size\n");
	CHECK("LMSG C1 $G foo 3 2\r\n",
	      "ERROR -4 processRoutedOriginClusterMsgArgs Header Size larger then TotalSize\n");
	CHECK("LX", "ERROR -1 Unknown Protocol Operation\n");
}

/* route.go splits RS+/RS-/RMSG/HMSG/LMSG arguments on runs of ' ', '\t', '\r', '\n'
 * (splitArg and the unrolled loops); parser.go drops the line's last byte if a \r came in it. */
ND_TEST(route_parser, whitespace_runs_and_bare_cr)
{
	CHECK("RMSG \t $G \t foo\t\t+  r \t q1   2 \r\nhi\r\n",
	      "RMSG acc=$G subj=foo reply=r queues=1[q1] size=2 payload=hi\nEND idle\n");
	/* "$G foo\rbar 1\r" less its last byte splits into four args. */
	CHECK("RS+ $G foo\rbar 1\r\n", "RSUB acc=$G subj=foo q=bar w=1\nEND idle\n");
	/* A \r with no \r before the \n still costs the last byte. */
	CHECK("RS- $G foo\rbar\n", "RUNSUB acc=$G subj=foo q=ba\nEND idle\n");
	/* client.go processPub splits on spaces and tabs only. */
	CHECK("PUB foo\r 1\r\nx\r\n", "PUB subj=foo\\x0d size=1 payload=x\nEND idle\n");
}

/* parser.go OP_INFO etc. move to *_ARG on the argument's first byte without examining it: a
 * leading \n does not end the line, a leading \r does not trigger the drop. */
ND_TEST(route_parser, first_argument_byte_is_not_examined)
{
	CHECK("INFO \n{}\n", "INFO arg=\\x0a{}\nEND idle\n");
	CHECK("CONNECT \r\n", "CONNECT arg=\\x0d\nEND idle\n");
	CHECK("-ERR \rx\n", "ERR arg=\\x0dx\nEND idle\n");
	CHECK("RMSG \r\n", "ERROR -4 processRoutedMsgArgs Parse Error\n");
}

/* parser.go MSG_PAYLOAD / MSG_END_R / MSG_END_N: the payload is skipped by length and must be
 * followed by \r\n, else parseErr (-ERR 'Unknown Protocol Operation'). */
ND_TEST(route_parser, payloads)
{
	CHECK("RMSG $G a 4\r\n\r\n\r\n\r\nRMSG $G b 0\r\n\r\nPING\r\n",
	      "RMSG acc=$G subj=a size=4 payload=\\x0d\\x0a\\x0d\\x0a\n"
	      "RMSG acc=$G subj=b size=0 payload=\nPING\nEND idle\n");
	CHECK("RMSG $G a 2\r\nhiX\r\n", "ERROR -5 Unknown Protocol Operation\n");
	CHECK("RMSG $G a 2\r\nhi\rX", "ERROR -5 Unknown Protocol Operation\n");
	CHECK("RMSG $G a 2\r\nhi\n\r", "ERROR -5 Unknown Protocol Operation\n");
	CHECK("RMSG $G a 0\r\nX", "ERROR -5 Unknown Protocol Operation\n");
	CHECK("RMSG $G a 3\r\nhi", "END partial\n");
	CHECK("RMSG $G a", "END partial\n");
}

/* client.go processPub / processHeaderPub: a route's mpay is -1; HPUB needs c.headers (from
 * the peer's INFO) or fails with ErrMsgHeadersNotSupported. SUB: parser.go SUB_ARG has no
 * case for a ROUTER's 'S', so it is read and ignored. */
ND_TEST(route_parser, client_ops_on_a_route)
{
	CHECK("PUB foo 2\r\nhi\r\nPUB foo r 0\r\n\r\nSUB foo q 1\r\n",
	      "PUB subj=foo size=2 payload=hi\nPUB subj=foo reply=r size=0 payload=\n"
	      "SUB arg=foo q 1\nEND idle\n");
	CHECK("PUB foo\r\n", "ERROR -4 processPub Parse Error\n");
	CHECK("PUB foo x\r\n", "ERROR -4 processPub Bad or Missing Size\n");
	CHECK("HPUB foo 0 0\r\n\r\n", "ERROR -6 message headers not supported\n");
	static const feed_opts_t hdrs = {.headers = true};
	CHECK_OPTS(&hdrs, "HPUB foo r 12 14\r\nNATS/1.0\r\n\r\nhi\r\n",
		   "HPUB subj=foo reply=r hdr=12 size=14 payload=NATS/1.0\\x0d\\x0a\\x0d\\x0ahi\n"
		   "END idle\n");
	CHECK_OPTS(&hdrs, "HPUB foo 1\r\n", "ERROR -4 processHeaderPub Parse Error\n");
	CHECK_OPTS(&hdrs, "HPUB foo x 1\r\n",
		   "ERROR -4 processHeaderPub Bad or Missing Header Size\n");
	CHECK_OPTS(&hdrs, "HPUB foo 1 x\r\n",
		   "ERROR -4 processHeaderPub Bad or Missing Total Size\n");
	CHECK_OPTS(&hdrs, "HPUB foo 2 1\r\n",
		   "ERROR -4 processHeaderPub Header Size larger then TotalSize\n");
}

/* parser.go OP_START for a ROUTER: P H S U R L A C I + - start an op; anything else (MSG
 * included: there is no 'M' case) is a parseErr, as is a wrong byte inside a name. */
ND_TEST(route_parser, unknown_ops)
{
	static const char *const bad[] = {"MSG foo 1 2\r\n",
					  "X\r\n",
					  "RX",
					  "RS*",
					  "RMX",
					  "HX",
					  "HPX",
					  "LS*",
					  "PUBX",
					  "PX",
					  "-ERX",
					  "+OX",
					  "INFX",
					  "CONNECX",
					  "UNSUBX",
					  "SX",
					  "\r\n",
					  " PING\r\n"};
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		render_t *r = check_splits(bad[k], strlen(bad[k]), &plain);
		cr_assert_str_eq(r->text, "ERROR -1 Unknown Protocol Operation\n", "%s", bad[k]);
	}
	static const char nul[] = "RS\0+";
	render_t *r = check_splits(nul, sizeof(nul) - 1, &plain);
	cr_assert_str_eq(r->text, "ERROR -1 Unknown Protocol Operation\n");
	CHECK("PING\r\nRS+ $G foo\r\nMSG", "PING\nRSUB acc=$G subj=foo\n"
					   "ERROR -1 Unknown Protocol Operation\n");
}

/* Our limits (the reference has none on routes): the line after the \r rule, the size. */
ND_TEST(route_parser, limits)
{
	static const feed_opts_t small = {.mcl = 16, .max_payload = 4};
	CHECK_OPTS(
	    &small, "INFO 0123456789abcdef\r\nRMSG $G foo 4\r\n1234\r\n",
	    "INFO arg=0123456789abcdef\nRMSG acc=$G subj=foo size=4 payload=1234\nEND idle\n");
	CHECK_OPTS(&small, "INFO 0123456789abcdefg\r\n",
		   "ERROR -2 maximum control line exceeded\n");
	CHECK_OPTS(&small, "INFO 0123456789abcdefgh", "ERROR -2 maximum control line exceeded\n");
	CHECK_OPTS(&small, "RMSG $G foo 5\r\n", "ERROR -3 maximum payload exceeded\n");
	CHECK_OPTS(&small, "HMSG $G foo 0 5\r\n", "ERROR -3 maximum payload exceeded\n");
	CHECK_OPTS(&small, "LMSG o $G f 0 5\r\n", "ERROR -3 maximum payload exceeded\n");
	/* PING and friends are not bounded (parser.go OP_PING has no check). */
	CHECK_OPTS(&small, "PING 0123456789abcdefghijklmnopqrstuvwxyz\r\n", "PING\nEND idle\n");
	/* -1: no payload limit (the default is 64 MiB). */
	nd_route_parser_t p;
	nd_route_parser_init(&p);
	size_t used;
	nd_rop_t op;
	static const char big[] = "RMSG $G foo 70000000\r\n";
	cr_assert_eq(nd_route_parser_next(&p, big, sizeof(big) - 1, &used, &op),
		     ND_RPERR_MAX_PAYLOAD);
	nd_route_parser_deinit(&p);
	nd_route_parser_init(&p);
	nd_route_parser_set_limits(&p, 64, -1);
	cr_assert_eq(nd_route_parser_next(&p, big, sizeof(big) - 1, &used, &op), ND_PARSE_AGAIN);
	cr_assert_not(nd_route_parser_idle(&p));
	nd_route_parser_deinit(&p);
}

ND_TEST(route_parser, defaults_and_error_text)
{
	nd_route_parser_t p;
	nd_route_parser_init(&p);
	cr_assert(nd_route_parser_idle(&p));
	cr_assert_null(nd_route_parser_error_text(&p));
	/* An op without queues has an empty (NULL) list: iterating it ends at once. */
	nd_slice_t empty = {0}, q;
	cr_assert_not(nd_route_queues_next(&empty, &q));
	cr_assert_null(empty.p);
	/* A 70000-byte RMSG line is fine by default (the reference has no limit). */
	size_t n = 70000;
	char *line = malloc(n + 32);
	memcpy(line, "RMSG $G foo | ", 14);
	size_t at = 14;
	while (at < n - 4) {
		memcpy(line + at, "qq ", 3);
		at += 3;
	}
	memcpy(line + at, "1\r\nx\r\n", 6);
	at += 6;
	size_t used;
	nd_rop_t op;
	cr_assert_eq(nd_route_parser_next(&p, line, at, &used, &op), ND_PARSE_OP);
	cr_assert_eq(used, at);
	cr_assert_eq(op.kind, ND_ROP_RMSG);
	cr_assert_eq(op.nqueues, (n - 4 - 14 + 2) / 3);
	free(line);
	cr_assert_eq(nd_route_parser_next(&p, "XX", 2, &used, &op), ND_RPERR_UNKNOWN_OP);
	cr_assert_str_eq(nd_route_parser_error_text(&p), "Unknown Protocol Operation");
	nd_route_parser_deinit(&p);
}

/* A mixed stream of every form, checked at every split: the zero-copy and the copying paths
 * must agree. */
ND_TEST(route_parser, mixed_stream_every_split)
{
	CHECK("INFO {}\r\nRS+ $G foo q 1\r\nRMSG $G foo + r q 5\r\nhello\r\n"
	      "HMSG $G bar | q1 q2 12 14\r\nNATS/1.0\r\n\r\nhi\r\nLS+ C $G x\r\n"
	      "LMSG C $G x r 0 1\r\n!\r\nRS- $G foo q\r\nPONG\r\n",
	      "INFO arg={}\nRSUB acc=$G subj=foo q=q w=1\n"
	      "RMSG acc=$G subj=foo reply=r queues=1[q] size=5 payload=hello\n"
	      "RHMSG acc=$G subj=bar queues=2[q1,q2] hdr=12 size=14 "
	      "payload=NATS/1.0\\x0d\\x0a\\x0d\\x0ahi\n"
	      "LSUB origin=C acc=$G subj=x\n"
	      "LMSG origin=C acc=$G subj=x reply=r hdr=0 size=1 payload=!\n"
	      "RUNSUB acc=$G subj=foo q=q\nPONG\nEND idle\n");
}
