/* The client protocol parser: table tests of good and bad input (expectations taken from the
 * reference server, see docs/compatibility.md), and every stream re-fed split at every byte
 * boundary and one byte at a time, which must give the same operations and the same error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/parser.h"
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

static void put_slice(render_t *r, const char *name, nd_slice_t s)
{
	put(r, " %s=", name);
	for (size_t i = 0; i < s.n; i++) {
		unsigned char c = (unsigned char)s.p[i];
		if (c >= 32 && c < 127 && c != '\\')
			put(r, "%c", c);
		else
			put(r, "\\x%02x", c);
	}
}

static const char *const kinds[] = {"CONNECT", "PUB",  "HPUB", "SUB", "UNSUB", "PING",
				    "PONG",    "INFO", "OK",   "ERR", "HMSG"};

static void render_op(render_t *r, const nd_op_t *op)
{
	put(r, "%s", kinds[op->kind]);
	put_slice(r, "subj", op->subject);
	put_slice(r, "reply", op->reply);
	put_slice(r, "q", op->queue);
	put_slice(r, "sid", op->sid);
	put_slice(r, "arg", op->arg);
	put_slice(r, "sz", op->size_tok);
	put_slice(r, "hd", op->hdr_tok);
	put(r, " size=%lld hdr=%lld max=%lld", (long long)op->size, (long long)op->hdr,
	    (long long)op->max_msgs);
	put_slice(r, "payload", op->payload);
	put(r, "\n");
}

typedef struct feed_opts {
	bool headers;
	uint32_t mcl;
	int64_t max_payload;
	bool require_connect;
} feed_opts_t;

/* Feeds `s` in chunks: cut after every offset in cuts[] (ascending), or one byte at a time if
 * bytewise. Renders every op and the final state. */
static void feed(const char *s, size_t n, const size_t *cuts, size_t ncuts, bool bytewise,
		 const feed_opts_t *o, render_t *r)
{
	nd_parser_t p;
	nd_parser_init(&p);
	nd_parser_set_headers(&p, o->headers);
	nd_parser_set_limits(&p, o->mcl ? o->mcl : 4096, o->max_payload ? o->max_payload : 1048576);
	nd_parser_set_require_connect(&p, o->require_connect);
	r->len = 0;
	r->text[0] = '\0';
	size_t pos = 0, ci = 0;
	while (pos < n) {
		size_t end = bytewise ? pos + 1 : (ci < ncuts ? cuts[ci++] : n);
		if (end > n)
			end = n;
		/* A private copy per chunk: catches slices that outlive their call. */
		char *chunk = malloc(end - pos + 1);
		memcpy(chunk, s + pos, end - pos);
		size_t off = 0, clen = end - pos;
		while (off < clen) {
			size_t used = 0;
			nd_op_t op;
			int rc = nd_parser_next(&p, chunk + off, clen - off, &used, &op);
			if (rc == ND_PARSE_OP) {
				render_op(r, &op);
				off += used;
				continue;
			}
			if (rc == ND_PARSE_AGAIN) {
				cr_assert_eq(used, clen - off, "AGAIN must consume everything");
				off = clen;
				continue;
			}
			put(r, "ERROR %d\n", rc);
			free(chunk);
			nd_parser_deinit(&p);
			return;
		}
		memset(chunk, 'Z', clen); /* poison: any slice into it would now read garbage */
		free(chunk);
		pos = end;
	}
	put(r, nd_parser_idle(&p) ? "END idle\n" : "END partial\n");
	nd_parser_deinit(&p);
}

/* Parses s whole, then split at every boundary and bytewise; all must agree. Returns the
 * whole-stream rendering. */
static render_t *check_splits(const char *s, size_t n, const feed_opts_t *o)
{
	static render_t whole, part;
	feed(s, n, NULL, 0, false, o, &whole);
	for (size_t cut = 1; cut < n; cut++) {
		size_t cuts[1] = {cut};
		feed(s, n, cuts, 1, false, o, &part);
		cr_assert_str_eq(part.text, whole.text, "split at %zu of %zu differs", cut, n);
	}
	feed(s, n, NULL, 0, true, o, &part);
	cr_assert_str_eq(part.text, whole.text, "bytewise feed differs");
	return &whole;
}

static const feed_opts_t plain = {0};
static const feed_opts_t with_headers = {.headers = true};

#define CHECK(stream, expected)                                                                    \
	do {                                                                                       \
		render_t *r_ = check_splits(stream, sizeof(stream) - 1, &plain);                   \
		cr_assert_str_eq(r_->text, expected, "stream: %s", stream);                        \
	} while (0)

ND_TEST(parser, connect_ping_pong_and_ok)
{
	CHECK("CONNECT {\"verbose\":false}\r\nPING\r\nPONG\r\n+OK\r\n",
	      "CONNECT subj= reply= q= sid= arg={\"verbose\":false} sz= hd= size=0 hdr=0 max=0 "
	      "payload=\n"
	      "PING subj= reply= q= sid= arg= sz= hd= size=0 hdr=0 max=0 payload=\n"
	      "PONG subj= reply= q= sid= arg= sz= hd= size=0 hdr=0 max=0 payload=\n"
	      "OK subj= reply= q= sid= arg= sz= hd= size=0 hdr=0 max=0 payload=\n"
	      "END idle\n");
}

ND_TEST(parser, ops_are_case_insensitive_and_lf_only_works)
{
	render_t *r = check_splits("pInG\nsub foo 1\nPuB foo 2\nhi\r\nunsub 1\n", 37, &plain);
	cr_assert_str_eq(
	    r->text, "PING subj= reply= q= sid= arg= sz= hd= size=0 hdr=0 max=0 payload=\n"
		     "SUB subj=foo reply= q= sid=1 arg= sz= hd= size=0 hdr=0 max=0 payload=\n"
		     "PUB subj=foo reply= q= sid= arg= sz=2 hd= size=2 hdr=-1 max=0 payload=hi\n"
		     "UNSUB subj= reply= q= sid=1 arg= sz= hd= size=0 hdr=0 max=-1 payload=\n"
		     "END idle\n");
}

ND_TEST(parser, arguments_split_on_runs_of_spaces_and_tabs)
{
	CHECK("PUB \t foo \t rep.ly \t 000000002  \r\nhi\r\nSUB\tfoo\t q \t 7 \r\n",
	      "PUB subj=foo reply=rep.ly q= sid= arg= sz=000000002 hd= size=2 hdr=-1 max=0 "
	      "payload=hi\n"
	      "SUB subj=foo reply= q=q sid=7 arg= sz= hd= size=0 hdr=0 max=0 payload=\n"
	      "END idle\n");
}

ND_TEST(parser, payload_may_contain_crlf_and_be_empty)
{
	CHECK("PUB a 4\r\n\r\n\r\n\r\nPUB b 0\r\n\r\n",
	      "PUB subj=a reply= q= sid= arg= sz=4 hd= size=4 hdr=-1 max=0 "
	      "payload=\\x0d\\x0a\\x0d\\x0a\n"
	      "PUB subj=b reply= q= sid= arg= sz=0 hd= size=0 hdr=-1 max=0 payload=\n"
	      "END idle\n");
}

ND_TEST(parser, hpub_with_headers)
{
	static const char s[] = "HPUB foo bar 12 14\r\nNATS/1.0\r\n\r\nhi\r\n";
	render_t *r = check_splits(s, sizeof(s) - 1, &with_headers);
	cr_assert_str_eq(r->text,
			 "HPUB subj=foo reply=bar q= sid= arg= sz=14 hd=12 size=14 hdr=12 max=0 "
			 "payload=NATS/1.0\\x0d\\x0a\\x0d\\x0ahi\nEND idle\n");
}

ND_TEST(parser, ping_line_ignores_everything_up_to_newline)
{
	CHECK("PINGxyz\r\nPING\rPING\r\n",
	      "PING subj= reply= q= sid= arg= sz= hd= size=0 hdr=0 max=0 payload=\n"
	      "PING subj= reply= q= sid= arg= sz= hd= size=0 hdr=0 max=0 payload=\n"
	      "END idle\n");
}

ND_TEST(parser, bare_cr_rules)
{
	/* SUB splits on \r: the sid is PING. PUB does not: the subject keeps its \r. */
	CHECK("SUB foo 1\rPING\r\nPUB foo\r 1\r\nx\r\n",
	      "SUB subj=foo reply= q=1 sid=PING arg= sz= hd= size=0 hdr=0 max=0 payload=\n"
	      "PUB subj=foo\\x0d reply= q= sid= arg= sz=1 hd= size=1 hdr=-1 max=0 payload=x\n"
	      "END idle\n");
}

ND_TEST(parser, unsub_max)
{
	CHECK("UNSUB 1 5\r\nUNSUB 2 abc\r\nUNSUB 3 0\r\n",
	      "UNSUB subj= reply= q= sid=1 arg= sz= hd= size=0 hdr=0 max=5 payload=\n"
	      "UNSUB subj= reply= q= sid=2 arg= sz= hd= size=0 hdr=0 max=-1 payload=\n"
	      "UNSUB subj= reply= q= sid=3 arg= sz= hd= size=0 hdr=0 max=0 payload=\n"
	      "END idle\n");
}

ND_TEST(parser, connect_and_info_need_no_separator)
{
	CHECK("CONNECT{}\r\nINFO{}\r\n-ERR 'x'\r\n",
	      "CONNECT subj= reply= q= sid= arg={} sz= hd= size=0 hdr=0 max=0 payload=\n"
	      "INFO subj= reply= q= sid= arg={} sz= hd= size=0 hdr=0 max=0 payload=\n"
	      "ERR subj= reply= q= sid= arg='x' sz= hd= size=0 hdr=0 max=0 payload=\n"
	      "END idle\n");
}

ND_TEST(parser, partial_input_is_kept)
{
	CHECK("PUB foo 5\r\nhel", "END partial\n");
	CHECK("SUB foo", "END partial\n");
	CHECK("PING\r", "END partial\n");
}

/* ---- errors: (stream, expected error) as the reference answers them ---- */

typedef struct bad {
	const char *stream;
	int error;
	bool headers;
} bad_t;

static const bad_t bad_input[] = {
    {"FOO\r\n", ND_PERR_UNKNOWN_OP},
    {" PING\r\n", ND_PERR_UNKNOWN_OP},
    {"\r\n", ND_PERR_UNKNOWN_OP},
    {"\n", ND_PERR_UNKNOWN_OP},
    {"PUB\r\n", ND_PERR_UNKNOWN_OP},
    {"SUB\r\n", ND_PERR_UNKNOWN_OP},
    {"-ERR\r\n", ND_PERR_UNKNOWN_OP},
    {"PI\r\n", ND_PERR_UNKNOWN_OP},
    {"MSG foo 1 2\r\nhi\r\n", ND_PERR_UNKNOWN_OP},
    {"RS+ foo\r\n", ND_PERR_UNKNOWN_OP},
    {"LS+ foo\r\n", ND_PERR_UNKNOWN_OP},
    {"A+ foo\r\n", ND_PERR_UNKNOWN_OP},
    {"HMSG foo 1 2 2\r\nhi\r\n", ND_PERR_UNKNOWN_OP},
    {"PUB foo 2\r\nhiX\r\n", ND_PERR_UNKNOWN_OP},
    {"PUB foo 5\r\nhi\r\nPING\r\n", ND_PERR_UNKNOWN_OP},
    {"PUB foo 2\r\nhi\nPING\r\n", ND_PERR_UNKNOWN_OP},
    {"PUB \r\n", ND_PERR_ARGS},
    {"PUB foo\r\n", ND_PERR_ARGS},
    {"PUB foo bar\r\n", ND_PERR_ARGS},
    {"PUB foo -1\r\n", ND_PERR_ARGS},
    {"PUB foo +1\r\n", ND_PERR_ARGS},
    {"PUB foo 0000000002\r\n", ND_PERR_ARGS},
    {"PUB foo bar baz 2\r\n", ND_PERR_ARGS},
    {"PUB foo 1\rx\na\r\n", ND_PERR_ARGS},
    {"PUB foo 1048577\r\n", ND_PERR_MAX_PAYLOAD},
    {"SUB foo\r\n", ND_PERR_ARGS},
    {"SUB foo q 1 2\r\n", ND_PERR_ARGS},
    {"SUB \r\n", ND_PERR_ARGS},
    {"UNSUB \r\n", ND_PERR_ARGS},
    {"UNSUB 1 2 3\r\n", ND_PERR_ARGS},
    {"HPUB foo 12 14\r\n", ND_PERR_NO_HEADERS},
    {"HPUB foo 14 12\r\n", ND_PERR_ARGS, true},
    {"HPUB foo 12\r\n", ND_PERR_ARGS, true},
    {"HPUB foo a b 12 14\r\n", ND_PERR_ARGS, true},
    {"HPUB foo x 12\r\n", ND_PERR_ARGS, true},
    {"HPUB foo 12 1048577\r\n", ND_PERR_MAX_PAYLOAD, true},
};

ND_TEST(parser, bad_input_gets_the_reference_error)
{
	for (size_t k = 0; k < sizeof(bad_input) / sizeof(bad_input[0]); k++) {
		const bad_t *b = &bad_input[k];
		feed_opts_t o = {.headers = b->headers};
		render_t *r = check_splits(b->stream, strlen(b->stream), &o);
		char want[32];
		snprintf(want, sizeof(want), "ERROR %d\n", b->error);
		cr_assert_not_null(strstr(r->text, want), "%s: got %s", b->stream, r->text);
		cr_assert_eq(strstr(r->text, "END"), NULL, "%s: parsed past the error", b->stream);
	}
}

ND_TEST(parser, ops_before_an_error_are_returned)
{
	CHECK("PING\r\nFOO\r\n",
	      "PING subj= reply= q= sid= arg= sz= hd= size=0 hdr=0 max=0 payload=\nERROR -1\n");
}

ND_TEST(parser, control_line_limit_counts_arguments_only)
{
	static char ok[4200], bad[4200];
	/* SUB + space + 4094 chars + " 1": argument of exactly 4096 bytes. */
	memcpy(ok, "SUB ", 4);
	memset(ok + 4, 'x', 4094);
	memcpy(ok + 4 + 4094, " 1\r\n", 5);
	nd_parser_t p;
	nd_parser_init(&p);
	size_t used;
	nd_op_t op;
	cr_assert_eq(nd_parser_next(&p, ok, strlen(ok), &used, &op), ND_PARSE_OP);
	nd_parser_deinit(&p);
	memcpy(bad, ok, sizeof(ok));
	memset(bad + 4, 'x', 4095);
	memcpy(bad + 4 + 4095, " 1\r\n", 5);
	nd_parser_init(&p);
	cr_assert_eq(nd_parser_next(&p, bad, strlen(bad), &used, &op), ND_PERR_CONTROL_LINE);
	nd_parser_deinit(&p);
	/* Without a newline the limit still applies once enough has arrived. */
	nd_parser_init(&p);
	static char flood[8192];
	memcpy(flood, "SUB ", 4);
	memset(flood + 4, 'y', sizeof(flood) - 4);
	cr_assert_eq(nd_parser_next(&p, flood, sizeof(flood), &used, &op), ND_PERR_CONTROL_LINE);
	nd_parser_deinit(&p);
	/* PING lines are not limited. */
	nd_parser_init(&p);
	memcpy(flood, "PING", 4);
	memset(flood + 4, 'z', sizeof(flood) - 4);
	cr_assert_eq(nd_parser_next(&p, flood, sizeof(flood), &used, &op), ND_PARSE_AGAIN);
	cr_assert_eq(nd_parser_next(&p, "\r\n", 2, &used, &op), ND_PARSE_OP);
	cr_assert_eq(op.kind, ND_OP_PING);
	nd_parser_deinit(&p);
}

ND_TEST(parser, require_connect_rejects_the_first_byte)
{
	feed_opts_t o = {.require_connect = true};
	render_t *r = check_splits("PING\r\n", 6, &o);
	cr_assert_str_eq(r->text, "ERROR -6\n");
	r = check_splits("CONNECT {}\r\n", 12, &o);
	cr_assert_not_null(strstr(r->text, "CONNECT"));
}

ND_TEST(parser, pending_pub_is_visible_while_its_payload_arrives)
{
	nd_parser_t p;
	nd_parser_init(&p);
	size_t used;
	nd_op_t op;
	cr_assert_eq(nd_parser_next(&p, "PUB foo.* 3\r\nab", 15, &used, &op), ND_PARSE_AGAIN);
	const nd_op_t *pend = nd_parser_pending_pub(&p);
	cr_assert_not_null(pend);
	cr_assert_eq(pend->subject.n, 5);
	cr_assert_arr_eq(pend->subject.p, "foo.*", 5);
	cr_assert_eq(nd_parser_next(&p, "cX", 2, &used, &op), ND_PERR_UNKNOWN_OP);
	nd_parser_deinit(&p);
}

ND_TEST(parser, large_payload_in_many_pieces)
{
	size_t size = 1048576;
	char *s = malloc(size + 64);
	int h = snprintf(s, 64, "PUB big %zu\r\n", size);
	for (size_t i = 0; i < size; i++)
		s[h + i] = (char)('a' + i % 26);
	memcpy(s + h + size, "\r\nPING\r\n", 8);
	size_t total = (size_t)h + size + 8;
	nd_parser_t p;
	nd_parser_init(&p);
	size_t pos = 0;
	int ops = 0;
	while (pos < total) {
		size_t chunk = total - pos < 65536 ? total - pos : 65536;
		size_t off = 0;
		while (off < chunk) {
			size_t used;
			nd_op_t op;
			int rc = nd_parser_next(&p, s + pos + off, chunk - off, &used, &op);
			cr_assert_geq(rc, 0);
			if (rc == ND_PARSE_AGAIN)
				break;
			off += used;
			ops++;
			if (op.kind == ND_OP_PUB) {
				cr_assert_eq(op.payload.n, size);
				cr_assert_eq(memcmp(op.payload.p, s + h, size), 0);
			}
		}
		pos += chunk;
	}
	cr_assert_eq(ops, 2);
	nd_parser_deinit(&p);
	free(s);
}

ND_TEST(parser, parse_size)
{
	cr_assert_eq(nd_parse_size("0", 1), 0);
	cr_assert_eq(nd_parse_size("999999999", 9), 999999999);
	cr_assert_eq(nd_parse_size("1000000000", 10), -1);
	cr_assert_eq(nd_parse_size("", 0), -1);
	cr_assert_eq(nd_parse_size("1a", 2), -1);
	cr_assert_eq(nd_parse_size("-1", 2), -1);
}
