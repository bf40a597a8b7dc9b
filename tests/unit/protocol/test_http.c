/* The monitoring port's HTTP layer: requests in any split, pipelining, limits, the errors Go's
 * net/http sends, query decoding as url.Values.Get, and responses as net/http writes them
 * (nats-server 2.9's monitor, probed with raw bytes). */
#include <http_parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/http.h"
#include "tests/support/nd_test.h"

#define MAX_REQS 8

typedef struct parsed {
	int rc; /* last result: DONE count in n, or the error */
	int n;
	nd_http_request_t reqs[MAX_REQS];
} parsed_t;

/* Feeds `in` in pieces of `chunk` bytes (0: all at once) and collects the requests. */
static void parse(parsed_t *out, const char *in, size_t chunk, size_t max_hdr, size_t max_body)
{
	memset(out, 0, sizeof(*out));
	nd_http_parser_t *p = nd_http_parser_create(max_hdr, max_body);
	size_t len = strlen(in), pos = 0;
	out->rc = ND_HTTP_AGAIN;
	while (pos < len) {
		size_t n = chunk == 0 || len - pos < chunk ? len - pos : chunk;
		/* A private copy per read: the request must not point into it. */
		char *buf = malloc(n);
		memcpy(buf, in + pos, n);
		size_t off = 0;
		while (off < n) {
			size_t used = 0;
			nd_http_request_t req = {0};
			int rc = nd_http_parser_feed(p, buf + off, n - off, &used, &req);
			cr_assert_leq(used, n - off);
			off += used;
			out->rc = rc;
			if (rc == ND_HTTP_AGAIN) {
				cr_assert_eq(off, n, "AGAIN must consume everything");
				break;
			}
			if (rc < 0) {
				free(buf);
				nd_http_parser_destroy(p);
				return;
			}
			cr_assert_eq(rc, ND_HTTP_DONE);
			cr_assert_lt(out->n, MAX_REQS);
			out->reqs[out->n++] = req;
		}
		free(buf);
		pos += n;
	}
	nd_http_parser_destroy(p);
}

static void parsed_clear(parsed_t *o)
{
	for (int i = 0; i < o->n; i++)
		nd_http_request_clear(&o->reqs[i]);
}

static const char *simple = "GET /varz?subs=1&x=%41 HTTP/1.1\r\nHost: h\r\n\r\n";

ND_TEST(http, simple_get)
{
	parsed_t o;
	parse(&o, simple, 0, 4096, 0);
	cr_assert_eq(o.n, 1);
	cr_assert_eq(o.reqs[0].method, HTTP_GET);
	cr_assert_str_eq(o.reqs[0].path, "/varz");
	cr_assert_str_eq(o.reqs[0].query, "subs=1&x=%41");
	cr_assert(o.reqs[0].keep_alive);
	cr_assert_eq(o.reqs[0].http_minor, 1);
	parsed_clear(&o);
}

ND_TEST(http, every_split)
{
	static const char *in = "GET /a%20b/c HTTP/1.1\r\nHost: h\r\nX-Long-Header-Name: "
				"value\r\nConnection: close\r\n\r\n";
	size_t len = strlen(in);
	nd_http_parser_t *p = nd_http_parser_create(4096, 0);
	for (size_t cut = 0; cut <= len; cut++) {
		nd_http_request_t req = {0};
		size_t used = 0;
		int rc = nd_http_parser_feed(p, in, cut, &used, &req);
		if (cut < len) {
			cr_assert_eq(rc, ND_HTTP_AGAIN, "cut %zu", cut);
			cr_assert_eq(used, cut);
			rc = nd_http_parser_feed(p, in + cut, len - cut, &used, &req);
			cr_assert_eq(used, len - cut, "cut %zu", cut);
		}
		cr_assert_eq(rc, ND_HTTP_DONE, "cut %zu", cut);
		cr_assert_str_eq(req.path, "/a b/c");
		cr_assert_str_eq(req.query, "");
		cr_assert_not(req.keep_alive);
		nd_http_request_clear(&req);
	}
	nd_http_parser_destroy(p);
}

ND_TEST(http, byte_at_a_time)
{
	parsed_t o;
	parse(&o, simple, 1, 4096, 0);
	cr_assert_eq(o.n, 1);
	cr_assert_str_eq(o.reqs[0].path, "/varz");
	parsed_clear(&o);
}

ND_TEST(http, pipelined_in_order)
{
	static const char *in = "GET /one HTTP/1.1\r\nHost: h\r\n\r\n"
				"HEAD /two HTTP/1.1\r\nHost: h\r\n\r\n"
				"GET /three?q HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
	for (size_t chunk = 0; chunk < 40; chunk++) {
		parsed_t o;
		parse(&o, in, chunk, 4096, 0);
		cr_assert_eq(o.n, 3, "chunk %zu", chunk);
		cr_assert_str_eq(o.reqs[0].path, "/one");
		cr_assert_eq(o.reqs[1].method, HTTP_HEAD);
		cr_assert_str_eq(o.reqs[1].path, "/two");
		cr_assert_str_eq(o.reqs[2].path, "/three");
		cr_assert_str_eq(o.reqs[2].query, "q");
		cr_assert(o.reqs[1].keep_alive);
		cr_assert_not(o.reqs[2].keep_alive);
		parsed_clear(&o);
	}
}

ND_TEST(http, http10_keep_alive_rules)
{
	parsed_t o;
	parse(&o, "GET / HTTP/1.0\r\n\r\n", 0, 4096, 0);
	cr_assert_eq(o.n, 1);
	cr_assert_not(o.reqs[0].keep_alive);
	cr_assert_eq(o.reqs[0].http_minor, 0);
	parsed_clear(&o);
	parse(&o, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 0, 4096, 0);
	cr_assert_eq(o.n, 1);
	cr_assert(o.reqs[0].keep_alive);
	parsed_clear(&o);
}

ND_TEST(http, small_body_dropped)
{
	parsed_t o;
	parse(&o,
	      "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhelloGET /y "
	      "HTTP/1.1\r\nHost: h\r\n\r\n",
	      3, 4096, 16);
	cr_assert_eq(o.n, 2);
	cr_assert_eq(o.reqs[0].method, HTTP_POST);
	cr_assert_str_eq(o.reqs[1].path, "/y");
	parsed_clear(&o);
}

static void expect_error(const char *in, size_t max_hdr, size_t max_body, int rc,
			 const char *response)
{
	for (size_t chunk = 0; chunk < 3; chunk++) {
		nd_http_parser_t *p = nd_http_parser_create(max_hdr, max_body);
		size_t len = strlen(in), pos = 0;
		int got = ND_HTTP_AGAIN;
		while (pos < len && got == ND_HTTP_AGAIN) {
			size_t n = chunk == 0 || len - pos < chunk ? len - pos : chunk;
			size_t used;
			nd_http_request_t req = {0};
			got = nd_http_parser_feed(p, in + pos, n, &used, &req);
			cr_assert_neq(got, ND_HTTP_DONE, "%s", in);
			pos += n;
		}
		cr_assert_eq(got, rc, "\"%s\" chunk %zu: %d", in, chunk, got);
		size_t rl;
		const char *r = nd_http_parser_error_response(p, &rl);
		cr_assert_eq(rl, strlen(response));
		cr_assert(memcmp(r, response, rl) == 0, "%.*s", (int)rl, r);
		nd_http_parser_destroy(p);
	}
}

#define BAD_400                                                                                    \
	"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: "      \
	"close\r\n\r\n400 Bad Request"
#define BIG_431                                                                                    \
	"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain; "               \
	"charset=utf-8\r\nConnection: close\r\n\r\n431 Request Header Fields Too Large"

ND_TEST(http, bad_requests)
{
	expect_error("GARBAGE\r\n\r\n", 4096, 0, ND_HTTP_EBAD, BAD_400);
	expect_error("GET / HTTP/1.1\r\nHost: h\r\nBad Header\r\n\r\n", 4096, 0, ND_HTTP_EBAD,
		     BAD_400);
	expect_error("GET /%zz HTTP/1.1\r\nHost: h\r\n\r\n", 4096, 0, ND_HTTP_EBAD, BAD_400);
	expect_error("GET / HTTP/1.1\r\n\r\n", 4096, 0, ND_HTTP_EBAD,
		     "HTTP/1.1 400 Bad Request: missing required Host header\r\nContent-Type: "
		     "text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request: "
		     "missing required Host header");
	expect_error("GET / HTTP/2.0\r\nHost: h\r\n\r\n", 4096, 0, ND_HTTP_EVERSION,
		     "HTTP/1.1 505 HTTP Version Not Supported: unsupported protocol "
		     "version\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: "
		     "close\r\n\r\n505 HTTP Version Not Supported: unsupported protocol version");
}

ND_TEST(http, header_limit)
{
	char in[512];
	/* Exactly at the limit passes; one byte more does not. */
	snprintf(in, sizeof(in), "GET / HTTP/1.1\r\nHost: h\r\nX: %s\r\n\r\n", "aaaaaaaaaa");
	size_t len = strlen(in);
	parsed_t o;
	parse(&o, in, 0, len, 0);
	cr_assert_eq(o.n, 1);
	parsed_clear(&o);
	expect_error(in, len - 1, 0, ND_HTTP_ETOOBIG, BIG_431);
	/* A request line longer than the limit. */
	char url[600] = "GET /";
	memset(url + 5, 'a', 500);
	strcpy(url + 505, " HTTP/1.1\r\n");
	expect_error(url, 256, 0, ND_HTTP_ETOOBIG, BIG_431);
}

ND_TEST(http, body_limit)
{
	static const char *r413 = "HTTP/1.1 413 Request Entity Too Large\r\nContent-Type: "
				  "text/plain; charset=utf-8\r\nConnection: close\r\n\r\n413 "
				  "Request Entity Too Large";
	expect_error("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n", 4096, 10,
		     ND_HTTP_ETOOBIG, r413);
	expect_error("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
		     "20\r\n01234567890123456789012345678901\r\n0\r\n\r\n",
		     4096, 10, ND_HTTP_ETOOBIG, r413);
}

ND_TEST(http, query_get)
{
	char buf[64];
	const char *q = "a=1&b=x+y%21&a=2&empty=&flag&bad=%zz&bad=ok&semi=1;x&k%20e=v";
	cr_assert_str_eq(nd_http_query_get(q, "a", buf, sizeof(buf)), "1");
	cr_assert_str_eq(nd_http_query_get(q, "b", buf, sizeof(buf)), "x y!");
	cr_assert_str_eq(nd_http_query_get(q, "empty", buf, sizeof(buf)), "");
	cr_assert_str_eq(nd_http_query_get(q, "flag", buf, sizeof(buf)), "");
	cr_assert_str_eq(nd_http_query_get(q, "bad", buf, sizeof(buf)), "ok");
	cr_assert_str_eq(nd_http_query_get(q, "k e", buf, sizeof(buf)), "v");
	cr_assert_null(nd_http_query_get(q, "semi", buf, sizeof(buf)));
	cr_assert_null(nd_http_query_get(q, "missing", buf, sizeof(buf)));
	cr_assert_null(nd_http_query_get("a=toolong", "a", buf, 4));
	cr_assert_null(nd_http_query_get("", "a", buf, sizeof(buf)));
}

/* Checks everything but the Date value, which must be 29 characters ending in GMT. */
static void expect_response(const char *got, size_t len, const char *before_date,
			    const char *after_date)
{
	size_t bl = strlen(before_date), al = strlen(after_date);
	cr_assert_eq(len, bl + strlen("Date: ") + 29 + 2 + al, "%.*s", (int)len, got);
	cr_assert(memcmp(got, before_date, bl) == 0, "%.*s", (int)len, got);
	cr_assert(memcmp(got + bl, "Date: ", 6) == 0);
	cr_assert(memcmp(got + bl + 6 + 25, " GMT\r\n", 6) == 0, "%.*s", (int)len, got);
	cr_assert(memcmp(got + bl + 6 + 31, after_date, al) == 0, "%.*s", (int)len, got);
}

ND_TEST(http, response_like_go)
{
	size_t len;
	char *r = nd_http_response_encode(404, "text/plain; charset=utf-8",
					  "X-Content-Type-Options: nosniff\r\n",
					  "404 page not found\n", 19, false, true, &len);
	expect_response(r, len,
			"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; "
			"charset=utf-8\r\nX-Content-Type-Options: nosniff\r\n",
			"Content-Length: 19\r\n\r\n404 page not found\n");
	free(r);
	/* Handler headers sorted by key whatever order they come in; close; HEAD. */
	r = nd_http_response_encode(200, "application/json", "Zz: 1\r\nAa: 2\r\n", "{}", 2, true,
				    false, &len);
	expect_response(r, len,
			"HTTP/1.1 200 OK\r\nAa: 2\r\nContent-Type: application/json\r\nZz: 1\r\n",
			"Content-Length: 2\r\nConnection: close\r\n\r\n");
	free(r);
	bool ka = true;
	r = nd_http_response_encode_version(0, 404, "text/plain; charset=utf-8", NULL, "x", 1,
					    false, &ka, &len);
	expect_response(r, len,
			"HTTP/1.0 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\n",
			"Content-Length: 1\r\nConnection: keep-alive\r\n\r\nx");
	cr_assert(ka);
	free(r);
}

ND_TEST(http, large_body_chunked_like_go)
{
	size_t blen = ND_HTTP_GO_BUFFER + 1;
	char *body = malloc(blen);
	memset(body, 'b', blen);
	size_t len;
	bool ka = true;
	char *r = nd_http_response_encode_version(1, 200, "application/json", NULL, body, blen,
						  false, &ka, &len);
	const char *pre = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n";
	const char *post = "Transfer-Encoding: chunked\r\n\r\n801\r\n";
	size_t pl = strlen(pre), ql = strlen(post);
	cr_assert_eq(len, pl + 37 + ql + blen + 7);
	cr_assert(memcmp(r + pl + 37, post, ql) == 0);
	cr_assert(memcmp(r + len - 7, "\r\n0\r\n\r\n", 7) == 0);
	cr_assert(ka);
	free(r);
	/* HTTP/1.0: no length, the close ends the body. */
	ka = true;
	r = nd_http_response_encode_version(0, 200, "application/json", NULL, body, blen, false,
					    &ka, &len);
	cr_assert_not(ka);
	cr_assert_eq(len, strlen("HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n") + 37 + 2 +
			      blen);
	free(r);
	/* HEAD of a large body: neither length nor chunking, and the connection stays. */
	ka = true;
	r = nd_http_response_encode_version(1, 200, "application/json", NULL, body, blen, true, &ka,
					    &len);
	cr_assert(ka);
	cr_assert_eq(len, pl + 37 + 2);
	free(r);
	free(body);
}
