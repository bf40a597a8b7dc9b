/* Go's url.Parse: the checks it makes, in its order, so that the same strings fail. Go does
 * not validate queries, and it accepts any non-ASCII byte in a host; both are kept. */
#define _GNU_SOURCE
#include "protocol/gourl.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/goquote.h"

enum mode { M_OTHER, M_HOST, M_ZONE };

static char *dupn(const char *s, size_t n)
{
	char *d = malloc(n + 1);
	if (d == NULL)
		abort();
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

static bool is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_alnum(int c)
{
	return is_alpha(c) || (c >= '0' && c <= '9');
}

static int unhex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* shouldEscape for the host and zone modes: what a host may hold unescaped (ASCII only). */
static bool host_char_ok(int c)
{
	return is_alnum(c) || (c != '\0' && strchr("-_.~!$&'()*+,;=:[]<>\"", c) != NULL);
}

/* Writes pre, then arg quoted as Go's %q (when given), then post. */
static int fail(char *err, size_t errlen, const char *pre, const char *arg, size_t argn,
		const char *post)
{
	char q[64] = "";
	if (arg != NULL)
		nd_go_quote(arg, argn, q, sizeof(q));
	snprintf(err, errlen, "%s%s%s", pre, q, post);
	return -1;
}

/* Go's unescape check (not the decoding): escapes must be well formed; in a host they may only
 * stand for non-ASCII bytes (or be %25), and some ASCII is refused. */
static int check_escapes(const char *s, size_t n, enum mode m, char *err, size_t errlen)
{
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		if (c == '%') {
			if (i + 2 >= n || unhex(s[i + 1]) < 0 || unhex(s[i + 2]) < 0)
				return fail(err, errlen, "invalid URL escape ", s + i,
					    n - i > 3 ? 3 : n - i, "");
			bool pct25 = memcmp(s + i, "%25", 3) == 0;
			if (m == M_HOST && unhex(s[i + 1]) < 8 && !pct25)
				return fail(err, errlen, "invalid URL escape ", s + i, 3, "");
			if (m == M_ZONE) {
				int v = unhex(s[i + 1]) << 4 | unhex(s[i + 2]);
				if (!pct25 && v != ' ' && (v >= 0x80 || !host_char_ok(v)))
					return fail(err, errlen, "invalid URL escape ", s + i, 3,
						    "");
			}
			i += 3;
			continue;
		}
		if ((m == M_HOST || m == M_ZONE) && c < 0x80 && !host_char_ok(c))
			return fail(err, errlen, "invalid character ", s + i, 1, " in host name");
		i++;
	}
	return 0;
}

static bool valid_optional_port(const char *p, size_t n)
{
	if (n == 0)
		return true;
	if (p[0] != ':')
		return false;
	for (size_t i = 1; i < n; i++)
		if (p[i] < '0' || p[i] > '9')
			return false;
	return true;
}

static const char *last_of(const char *s, size_t n, char c)
{
	for (size_t i = n; i > 0; i--)
		if (s[i - 1] == c)
			return s + i - 1;
	return NULL;
}

static int parse_host(const char *h, size_t n, char *err, size_t errlen)
{
	if (n > 0 && h[0] == '[') {
		const char *close = last_of(h, n, ']');
		if (close == NULL)
			return fail(err, errlen, "missing ']' in host", NULL, 0, "");
		size_t i = (size_t)(close - h);
		if (!valid_optional_port(h + i + 1, n - i - 1))
			return fail(err, errlen, "invalid port ", h + i + 1, n - i - 1,
				    " after host");
		const char *zone = memmem(h, i, "%25", 3);
		if (zone != NULL) {
			size_t z = (size_t)(zone - h);
			if (check_escapes(h, z, M_HOST, err, errlen) != 0 ||
			    check_escapes(h + z, i - z, M_ZONE, err, errlen) != 0 ||
			    check_escapes(h + i, n - i, M_HOST, err, errlen) != 0)
				return -1;
			return 0;
		}
	} else {
		const char *colon = last_of(h, n, ':');
		if (colon != NULL && !valid_optional_port(colon, n - (size_t)(colon - h)))
			return fail(err, errlen, "invalid port ", colon, n - (size_t)(colon - h),
				    " after host");
	}
	return check_escapes(h, n, M_HOST, err, errlen);
}

static bool valid_userinfo(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!is_alnum(c) && strchr("-._:~!$&'()*+,;=%@", c) == NULL)
			return false; /* also every non-ASCII byte, as Go's rune check */
	}
	return true;
}

static char *unescape(const char *s, size_t n)
{
	char *d = malloc(n + 1), *p = d;
	if (d == NULL)
		abort();
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && unhex(s[i + 1]) >= 0 && unhex(s[i + 2]) >= 0) {
			*p++ = (char)(unhex(s[i + 1]) << 4 | unhex(s[i + 2]));
			i += 2;
		} else {
			*p++ = s[i];
		}
	}
	*p = '\0';
	return d;
}

static int parse_authority(const char *a, size_t n, nd_go_url_t *u, char *err, size_t errlen)
{
	const char *at = last_of(a, n, '@');
	const char *h = at != NULL ? at + 1 : a;
	size_t hn = n - (size_t)(h - a);
	if (parse_host(h, hn, err, errlen) != 0)
		return -1;
	u->host = dupn(h, hn);
	if (at == NULL)
		return 0;
	size_t un = (size_t)(at - a);
	if (!valid_userinfo(a, un))
		return fail(err, errlen, "net/url: invalid userinfo", NULL, 0, "");
	if (check_escapes(a, un, M_OTHER, err, errlen) != 0)
		return -1;
	const char *colon = memchr(a, ':', un);
	if (colon == NULL) {
		u->user = unescape(a, un);
	} else {
		u->user = unescape(a, (size_t)(colon - a));
		u->password = unescape(colon + 1, un - (size_t)(colon - a) - 1);
	}
	return 0;
}

int nd_go_url_parse(const char *s, nd_go_url_t *u, char *err, size_t errlen)
{
	memset(u, 0, sizeof(*u));
	size_t len = strlen(s);
	const char *hash = memchr(s, '#', len);
	size_t n = hash != NULL ? (size_t)(hash - s) : len;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return fail(err, errlen, "net/url: invalid control character in URL", NULL,
				    0, "");
	const char *rest = s;
	size_t rn = n;
	/* getScheme: letters first, then letters, digits, + - .; anything else: no scheme. */
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (is_alpha(c))
			continue;
		if ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.') {
			if (i == 0)
				break;
			continue;
		}
		if (c == ':') {
			if (i == 0)
				return fail(err, errlen, "missing protocol scheme", NULL, 0, "");
			u->scheme = dupn(s, i);
			for (char *p = u->scheme; *p; p++)
				if (*p >= 'A' && *p <= 'Z')
					*p = (char)(*p + 32);
			rest = s + i + 1;
			rn = n - i - 1;
		}
		break;
	}
	if (u->scheme == NULL)
		u->scheme = dupn("", 0);
	/* The query is cut off and never checked. */
	const char *q = memchr(rest, '?', rn);
	if (q != NULL)
		rn = (size_t)(q - rest);
	if (rn == 0 || rest[0] != '/') {
		if (u->scheme[0] != '\0')
			goto ok; /* opaque: "mailto:x@y" */
		const char *slash = memchr(rest, '/', rn);
		size_t seg = slash != NULL ? (size_t)(slash - rest) : rn;
		if (memchr(rest, ':', seg) != NULL) {
			fail(err, errlen, "first path segment in URL cannot contain colon", NULL, 0,
			     "");
			goto fail;
		}
	}
	if ((u->scheme[0] != '\0' || !(rn >= 3 && memcmp(rest, "///", 3) == 0)) && rn >= 2 &&
	    memcmp(rest, "//", 2) == 0) {
		const char *a = rest + 2;
		const char *slash = memchr(a, '/', rn - 2);
		size_t an = slash != NULL ? (size_t)(slash - a) : rn - 2;
		if (parse_authority(a, an, u, err, errlen) != 0)
			goto fail;
		rn -= 2 + an;
		rest = a + an;
	}
	if (check_escapes(rest, rn, M_OTHER, err, errlen) != 0)
		goto fail;
ok:
	if (hash != NULL && check_escapes(hash + 1, len - n - 1, M_OTHER, err, errlen) != 0)
		goto fail;
	if (u->host == NULL)
		u->host = dupn("", 0);
	return 0;
fail:
	nd_go_url_deinit(u);
	return -1;
}

void nd_go_url_deinit(nd_go_url_t *u)
{
	free(u->scheme);
	free(u->host);
	free(u->user);
	free(u->password);
	memset(u, 0, sizeof(*u));
}
