/* The request side drives libhttp-parser through its callbacks and keeps only the URL (the
 * monitoring endpoints need nothing else from a request but the Host check and keep-alive).
 * The response side follows Go's net/http (server.go, chunkWriter.writeHeader), probed on
 * nats-server 2.9: see docs/compatibility.md. */
#include "protocol/http.h"

#include <http_parser.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define HOST_NAME_CAP 8 /* enough to tell "host" from anything else */

struct nd_http_parser {
	http_parser hp;
	http_parser_settings cb;
	size_t max_header_bytes;
	size_t max_body;

	bool started;      /* bytes of the current request were fed */
	bool headers_done; /* the current request's headers are complete */
	bool complete;     /* the current request is complete */
	size_t header_bytes;
	size_t body_bytes;
	int err;    /* sticky error, 0 if none */
	int status; /* for the error response: 400, 413, 431, 505 */
	const char *why;

	char *url; /* request target as received, max_header_bytes at most */
	size_t url_len, url_cap;

	char field[HOST_NAME_CAP];
	size_t field_len;
	bool in_value; /* last callback was a header value */
	bool has_host;
};

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n);
	if (q == NULL) {
		fprintf(stderr, "natsd: out of memory\n");
		abort();
	}
	return q;
}

static int fail(nd_http_parser_t *p, int err, int status, const char *why)
{
	if (p->err == 0) {
		p->err = err;
		p->status = status;
		p->why = why;
	}
	return -1;
}

static int on_message_begin(http_parser *hp)
{
	nd_http_parser_t *p = hp->data;
	p->started = true;
	return 0;
}

static int on_url(http_parser *hp, const char *at, size_t len)
{
	nd_http_parser_t *p = hp->data;
	if (p->url_len + len > p->max_header_bytes)
		return fail(p, ND_HTTP_ETOOBIG, 431, NULL);
	if (p->url_len + len + 1 > p->url_cap) {
		p->url_cap = (p->url_len + len + 1) * 2;
		if (p->url_cap > p->max_header_bytes + 1)
			p->url_cap = p->max_header_bytes + 1;
		p->url = xrealloc(p->url, p->url_cap);
	}
	memcpy(p->url + p->url_len, at, len);
	p->url_len += len;
	p->url[p->url_len] = '\0';
	return 0;
}

static int on_header_field(http_parser *hp, const char *at, size_t len)
{
	nd_http_parser_t *p = hp->data;
	if (p->in_value) {
		p->field_len = 0;
		p->in_value = false;
	}
	/* A name is delivered in pieces when it spans reads; only its first bytes matter. */
	for (size_t i = 0; i < len && p->field_len < HOST_NAME_CAP; i++)
		p->field[p->field_len++] = at[i];
	return 0;
}

static int on_header_value(http_parser *hp, const char *at, size_t len)
{
	nd_http_parser_t *p = hp->data;
	(void)at;
	(void)len;
	if (!p->in_value) {
		p->in_value = true;
		if (p->field_len == 4 && strncasecmp(p->field, "host", 4) == 0)
			p->has_host = true;
	}
	return 0;
}

static int on_headers_complete(http_parser *hp)
{
	nd_http_parser_t *p = hp->data;
	/* A header named Host with an empty value is delivered without a value callback. */
	if (!p->in_value && p->field_len == 4 && strncasecmp(p->field, "host", 4) == 0)
		p->has_host = true;
	p->headers_done = true;
	if (hp->http_major != 1)
		return fail(p, ND_HTTP_EVERSION, 505, "unsupported protocol version");
	if (hp->http_minor >= 1 && !p->has_host)
		return fail(p, ND_HTTP_EBAD, 400, "missing required Host header");
	if ((hp->flags & F_CONTENTLENGTH) && hp->content_length > p->max_body)
		return fail(p, ND_HTTP_ETOOBIG, 413, NULL);
	return 0;
}

static int on_body(http_parser *hp, const char *at, size_t len)
{
	nd_http_parser_t *p = hp->data;
	(void)at;
	p->body_bytes += len;
	if (p->body_bytes > p->max_body)
		return fail(p, ND_HTTP_ETOOBIG, 413, NULL);
	return 0;
}

static int on_message_complete(http_parser *hp)
{
	nd_http_parser_t *p = hp->data;
	p->complete = true;
	/* One request per feed result: stop here, the caller resumes with the next bytes. */
	http_parser_pause(hp, 1);
	return 0;
}

static void reset(nd_http_parser_t *p)
{
	http_parser_init(&p->hp, HTTP_REQUEST);
	p->hp.data = p;
	p->started = p->headers_done = p->complete = false;
	p->header_bytes = p->body_bytes = 0;
	p->url_len = 0;
	p->field_len = 0;
	p->in_value = p->has_host = false;
}

/* libhttp-parser's own header cap (80 KiB, process-wide) is lifted once: this module counts
 * header bytes itself against the configured limit (1 MiB, as the reference). */
static pthread_once_t header_cap_once = PTHREAD_ONCE_INIT;

static void lift_header_cap(void)
{
	http_parser_set_max_header_size(0x7fffffff);
}

nd_http_parser_t *nd_http_parser_create(size_t max_header_bytes, size_t max_body)
{
	pthread_once(&header_cap_once, lift_header_cap);
	nd_http_parser_t *p = xrealloc(NULL, sizeof(*p));
	memset(p, 0, sizeof(*p));
	p->max_header_bytes = max_header_bytes;
	p->max_body = max_body;
	http_parser_settings_init(&p->cb);
	p->cb.on_message_begin = on_message_begin;
	p->cb.on_url = on_url;
	p->cb.on_header_field = on_header_field;
	p->cb.on_header_value = on_header_value;
	p->cb.on_headers_complete = on_headers_complete;
	p->cb.on_body = on_body;
	p->cb.on_message_complete = on_message_complete;
	reset(p);
	return p;
}

void nd_http_parser_destroy(nd_http_parser_t *p)
{
	if (p == NULL)
		return;
	free(p->url);
	free(p);
}

bool nd_http_parser_in_request(const nd_http_parser_t *p)
{
	return p->started && !p->complete;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Go's url unescaping: "%" must be followed by two hex digits; plus: '+' means a space (query
 * mode). Writes at most cap - 1 bytes and a NUL. Returns the decoded length, -1 on a bad
 * escape, -2 if it does not fit. A decoded NUL is refused: the result is a C string. */
static long unescape(const char *s, size_t n, bool plus, char *out, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if (c == '%') {
			if (i + 2 >= n)
				return -1;
			int h = hexval((unsigned char)s[i + 1]),
			    l = hexval((unsigned char)s[i + 2]);
			if (h < 0 || l < 0)
				return -1;
			c = h * 16 + l;
			if (c == 0)
				return -1;
			i += 2;
		} else if (c == '+' && plus) {
			c = ' ';
		}
		if (o + 1 >= cap) {
			if (cap > 0)
				out[o] = '\0'; /* terminated even when it does not fit */
			return -2;
		}
		out[o++] = (char)c;
	}
	if (cap > 0)
		out[o] = '\0';
	return (long)o;
}

static char *xstrndup(const char *s, size_t n)
{
	char *d = xrealloc(NULL, n + 1);
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

/* Splits the request target into a decoded path and the raw query. */
static int fill_request(nd_http_parser_t *p, nd_http_request_t *req)
{
	const char *path = p->url;
	size_t path_len = p->url_len;
	const char *query = "";
	size_t query_len = 0;
	if (p->hp.method == HTTP_CONNECT)
		return fail(p, ND_HTTP_EBAD, 400, NULL);
	if (!(p->url_len == 1 && p->url[0] == '*')) {
		struct http_parser_url u;
		http_parser_url_init(&u);
		if (http_parser_parse_url(p->url, p->url_len, 0, &u) != 0)
			return fail(p, ND_HTTP_EBAD, 400, NULL);
		if (u.field_set & (1 << UF_PATH)) {
			path = p->url + u.field_data[UF_PATH].off;
			path_len = u.field_data[UF_PATH].len;
		} else {
			path = "/";
			path_len = 1;
		}
		if (u.field_set & (1 << UF_QUERY)) {
			query = p->url + u.field_data[UF_QUERY].off;
			query_len = u.field_data[UF_QUERY].len;
		}
	}
	char *dec = xrealloc(NULL, path_len + 1);
	if (unescape(path, path_len, false, dec, path_len + 1) < 0) {
		free(dec);
		return fail(p, ND_HTTP_EBAD, 400, NULL);
	}
	req->method = p->hp.method;
	req->path = dec;
	req->query = xstrndup(query, query_len);
	req->keep_alive = http_should_keep_alive(&p->hp) != 0;
	req->http_minor = p->hp.http_minor;
	return 0;
}

int nd_http_parser_feed(nd_http_parser_t *p, const char *buf, size_t len, size_t *used,
			nd_http_request_t *req)
{
	*used = 0;
	if (p->err != 0)
		return p->err;
	if (p->complete)
		reset(p);
	while (*used < len) {
		size_t n = len - *used;
		/* Feed no more header bytes than the limit allows, so the limit holds exactly
		 * whatever libhttp-parser's own (compile-time) limit is. */
		if (!p->headers_done) {
			size_t room = p->max_header_bytes - p->header_bytes;
			if (room == 0)
				return fail(p, ND_HTTP_ETOOBIG, 431, NULL), p->err;
			if (n > room)
				n = room;
		}
		size_t got = http_parser_execute(&p->hp, &p->cb, buf + *used, n);
		enum http_errno e = HTTP_PARSER_ERRNO(&p->hp);
		if (!p->headers_done)
			p->header_bytes += got;
		*used += got;
		if (p->err != 0)
			return p->err;
		if (e == HPE_PAUSED) {
			http_parser_pause(&p->hp, 0);
			if (fill_request(p, req) != 0)
				return p->err;
			return ND_HTTP_DONE;
		}
		if (e == HPE_HEADER_OVERFLOW)
			return fail(p, ND_HTTP_ETOOBIG, 431, NULL), p->err;
		if (e != HPE_OK)
			return fail(p, ND_HTTP_EBAD, 400, NULL), p->err;
		if (p->hp.upgrade) {
			/* An Upgrade or CONNECT request: libhttp-parser stops at its end and leaves
			 * the rest to the caller; monitoring upgrades to nothing. */
			if (!p->complete)
				return fail(p, ND_HTTP_EBAD, 400, NULL), p->err;
			if (fill_request(p, req) != 0)
				return p->err;
			return ND_HTTP_DONE;
		}
		if (got < n)
			return fail(p, ND_HTTP_EBAD, 400, NULL), p->err;
	}
	if (!p->headers_done && p->header_bytes >= p->max_header_bytes)
		return fail(p, ND_HTTP_ETOOBIG, 431, NULL), p->err;
	return ND_HTTP_AGAIN;
}

const char *nd_http_parser_error_response(const nd_http_parser_t *p, size_t *len)
{
	/* Go writes these straight to the connection: no Date, no Content-Length. */
	static const char bad[] = "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; "
				  "charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request";
	static const char nohost[] =
	    "HTTP/1.1 400 Bad Request: missing required Host header\r\nContent-Type: text/plain; "
	    "charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request: missing required Host "
	    "header";
	static const char version[] = "HTTP/1.1 505 HTTP Version Not Supported: unsupported "
				      "protocol version\r\nContent-Type: text/plain; "
				      "charset=utf-8\r\nConnection: close\r\n\r\n505 HTTP Version "
				      "Not Supported: unsupported protocol version";
	static const char big[] = "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: "
				  "text/plain; charset=utf-8\r\nConnection: close\r\n\r\n431 "
				  "Request Header Fields Too Large";
	static const char body[] = "HTTP/1.1 413 Request Entity Too Large\r\nContent-Type: "
				   "text/plain; charset=utf-8\r\nConnection: close\r\n\r\n413 "
				   "Request Entity Too Large";
	const char *r = bad;
	size_t n = sizeof(bad) - 1;
	if (p->status == 431) {
		r = big;
		n = sizeof(big) - 1;
	} else if (p->status == 413) {
		r = body;
		n = sizeof(body) - 1;
	} else if (p->status == 505) {
		r = version;
		n = sizeof(version) - 1;
	} else if (p->why != NULL) {
		r = nohost;
		n = sizeof(nohost) - 1;
	}
	*len = n;
	return r;
}

void nd_http_request_clear(nd_http_request_t *req)
{
	free(req->path);
	free(req->query);
	memset(req, 0, sizeof(*req));
}

const char *nd_http_query_get(const char *query, const char *name, char *buf, size_t len)
{
	if (query == NULL || len == 0)
		return NULL;
	size_t name_len = strlen(name);
	const char *s = query;
	while (*s != '\0') {
		const char *amp = strchr(s, '&');
		size_t pair_len = amp != NULL ? (size_t)(amp - s) : strlen(s);
		const char *pair = s;
		s = amp != NULL ? amp + 1 : s + pair_len;
		if (pair_len == 0 || memchr(pair, ';', pair_len) != NULL)
			continue;
		const char *eq = memchr(pair, '=', pair_len);
		size_t key_len = eq != NULL ? (size_t)(eq - pair) : pair_len;
		/* The decoded key is never longer than the raw one. */
		char keybuf[256];
		char *key = key_len < sizeof(keybuf) ? keybuf : xrealloc(NULL, key_len + 1);
		long kl = unescape(pair, key_len, true, key, key_len + 1);
		bool match = kl >= 0 && (size_t)kl == name_len && memcmp(key, name, name_len) == 0;
		if (key != keybuf)
			free(key);
		if (!match)
			continue;
		const char *val = eq != NULL ? eq + 1 : pair + pair_len;
		size_t val_len = eq != NULL ? pair_len - key_len - 1 : 0;
		long vl = unescape(val, val_len, true, buf, len);
		if (vl == -1)
			continue; /* Go drops a pair whose value does not decode */
		if (vl < 0)
			return NULL;
		return buf;
	}
	return NULL;
}

const char *nd_http_status_text(int status)
{
	switch (status) {
	case 100:
		return "Continue";
	case 101:
		return "Switching Protocols";
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 202:
		return "Accepted";
	case 203:
		return "Non-Authoritative Information";
	case 204:
		return "No Content";
	case 205:
		return "Reset Content";
	case 206:
		return "Partial Content";
	case 300:
		return "Multiple Choices";
	case 301:
		return "Moved Permanently";
	case 302:
		return "Found";
	case 303:
		return "See Other";
	case 304:
		return "Not Modified";
	case 307:
		return "Temporary Redirect";
	case 308:
		return "Permanent Redirect";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 406:
		return "Not Acceptable";
	case 408:
		return "Request Timeout";
	case 409:
		return "Conflict";
	case 410:
		return "Gone";
	case 411:
		return "Length Required";
	case 412:
		return "Precondition Failed";
	case 413:
		return "Request Entity Too Large";
	case 414:
		return "Request URI Too Long";
	case 415:
		return "Unsupported Media Type";
	case 429:
		return "Too Many Requests";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return NULL;
	}
}

/* A growing output buffer; allocation failure aborts (conventions). */
typedef struct out {
	char *p;
	size_t len, cap;
} out_t;

static void put(out_t *o, const char *s, size_t n)
{
	if (o->len + n > o->cap) {
		o->cap = (o->len + n) * 2 + 64;
		o->p = xrealloc(o->p, o->cap);
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static void puts_(out_t *o, const char *s)
{
	put(o, s, strlen(s));
}

typedef struct hline {
	const char *p;
	size_t len; /* without CRLF */
	size_t key_len;
} hline_t;

static int cmp_hline(const void *a, const void *b)
{
	const hline_t *x = a, *y = b;
	size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
	int c = memcmp(x->p, y->p, n);
	if (c != 0)
		return c;
	return x->key_len < y->key_len ? -1 : x->key_len > y->key_len;
}

/* RFC 1123 with "GMT", as Go's http.TimeFormat; C-locale names whatever the locale. */
static void http_date(char *buf, size_t len)
{
	static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	snprintf(buf, len, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday], tm.tm_mday,
		 months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

char *nd_http_response_encode_version(int http_minor, int status, const char *content_type,
				      const char *extra_headers, const char *body, size_t body_len,
				      bool head, bool *keep_alive, size_t *out_len)
{
	out_t o = {0};
	char line[128];
	const char *text = nd_http_status_text(status);
	if (text != NULL)
		snprintf(line, sizeof(line), "HTTP/1.%d %03d %s\r\n", http_minor ? 1 : 0, status,
			 text);
	else
		snprintf(line, sizeof(line), "HTTP/1.%d %03d status code %d\r\n",
			 http_minor ? 1 : 0, status, status);
	puts_(&o, line);

	/* The handler's own headers: Go writes its header map sorted by key. */
	size_t nlines = 1;
	for (const char *s = extra_headers; s != NULL && *s != '\0'; s++)
		if (*s == '\n')
			nlines++;
	hline_t *lines = xrealloc(NULL, (nlines + 1) * sizeof(*lines));
	size_t n = 0;
	char ct[256];
	if (content_type != NULL) {
		snprintf(ct, sizeof(ct), "Content-Type: %s", content_type);
		lines[n++] = (hline_t){ct, strlen(ct), 12};
	}
	for (const char *s = extra_headers; s != NULL && *s != '\0';) {
		const char *e = strchr(s, '\n');
		size_t l = e != NULL ? (size_t)(e - s) : strlen(s);
		size_t l2 = l > 0 && s[l - 1] == '\r' ? l - 1 : l;
		if (l2 > 0) {
			const char *colon = memchr(s, ':', l2);
			lines[n++] = (hline_t){s, l2, colon != NULL ? (size_t)(colon - s) : l2};
		}
		s = e != NULL ? e + 1 : s + l;
	}
	qsort(lines, n, sizeof(*lines), cmp_hline);
	for (size_t i = 0; i < n; i++) {
		put(&o, lines[i].p, lines[i].len);
		put(&o, "\r\n", 2);
	}
	free(lines);

	char date[64];
	http_date(date, sizeof(date));
	puts_(&o, "Date: ");
	puts_(&o, date);
	puts_(&o, "\r\n");

	bool body_allowed = !(status >= 100 && status < 200) && status != 204 && status != 304;
	bool ka = *keep_alive;
	bool has_cl = false, chunked = false;
	/* Go knows the length only when the whole body sat in its 2 KiB buffer when the handler
	 * returned; HEAD with an empty body gets no length either. */
	if (body_allowed && body_len <= ND_HTTP_GO_BUFFER && (!head || body_len > 0)) {
		snprintf(line, sizeof(line), "Content-Length: %zu\r\n", body_len);
		puts_(&o, line);
		has_cl = true;
	}
	if (head || !body_allowed || has_cl) {
		/* nothing: the length is known or there is no body */
	} else if (http_minor >= 1) {
		chunked = true;
	} else {
		ka = false; /* HTTP/1.0 without a length: the close ends the body */
	}
	if (http_minor >= 1) {
		if (!ka)
			puts_(&o, "Connection: close\r\n");
	} else if (ka && has_cl) {
		puts_(&o, "Connection: keep-alive\r\n");
	} else {
		ka = false;
	}
	if (chunked)
		puts_(&o, "Transfer-Encoding: chunked\r\n");
	puts_(&o, "\r\n");
	if (!head && body_allowed && body_len > 0) {
		if (chunked) {
			snprintf(line, sizeof(line), "%zx\r\n", body_len);
			puts_(&o, line);
			put(&o, body, body_len);
			puts_(&o, "\r\n0\r\n\r\n");
		} else {
			put(&o, body, body_len);
		}
	} else if (chunked) {
		puts_(&o, "0\r\n\r\n");
	}
	*keep_alive = ka;
	*out_len = o.len;
	return o.p;
}

char *nd_http_response_encode(int status, const char *content_type, const char *extra_headers,
			      const char *body, size_t body_len, bool head, bool keep_alive,
			      size_t *out_len)
{
	bool ka = keep_alive;
	return nd_http_response_encode_version(1, status, content_type, extra_headers, body,
					       body_len, head, &ka, out_len);
}
