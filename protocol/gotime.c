/* Go's duration grammar and two of Go's number spellings, reproduced so that configuration
 * values and messages read exactly as the reference server's (Go 1.19 time and strconv). */
#include "protocol/gotime.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS_US 1000ull
#define NS_MS 1000000ull
#define NS_S 1000000000ull
#define NS_MIN (60ull * NS_S)
#define NS_H (60ull * NS_MIN)
#define LIMIT (1ull << 63) /* magnitudes above this overflow int64 either way */

static void put(char *out, size_t outlen, size_t *w, char c)
{
	if (*w + 1 < outlen)
		out[*w] = c;
	(*w)++;
}

static void puts_(char *out, size_t outlen, size_t *w, const char *s)
{
	for (; *s; s++)
		put(out, outlen, w, *s);
}

/* Appends s in Go's time-package quoting: '"' around it, '"' and '\' escaped, control bytes
 * and every byte of a non-ASCII character as \xhh. */
static void quote(char *out, size_t outlen, size_t *w, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	put(out, outlen, w, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c >= 0x80 || c < ' ') {
			puts_(out, outlen, w, "\\x");
			put(out, outlen, w, hex[c >> 4]);
			put(out, outlen, w, hex[c & 0xF]);
		} else {
			if (c == '"' || c == '\\')
				put(out, outlen, w, '\\');
			put(out, outlen, w, (char)c);
		}
	}
	put(out, outlen, w, '"');
}

/* Writes what, then (with a unit) the quoted unit and " in duration ", then the quoted input. */
static int fail(char *err, size_t errlen, const char *what, const char *unit, const char *orig)
{
	if (err == NULL || errlen == 0)
		return -1;
	size_t w = 0;
	puts_(err, errlen, &w, what);
	if (unit != NULL) {
		quote(err, errlen, &w, unit);
		puts_(err, errlen, &w, " in duration ");
	}
	quote(err, errlen, &w, orig);
	err[w < errlen ? w : errlen - 1] = '\0';
	return -1;
}

static int invalid(char *err, size_t errlen, const char *orig)
{
	return fail(err, errlen, "time: invalid duration ", NULL, orig);
}

int nd_go_parse_duration(const char *s, int64_t *ns, char *err, size_t errlen)
{
	const char *orig = s;
	bool neg = false;
	uint64_t d = 0;
	if (*s == '-' || *s == '+') {
		neg = *s == '-';
		s++;
	}
	if (strcmp(s, "0") == 0) {
		*ns = 0;
		return 0;
	}
	if (*s == '\0')
		return invalid(err, errlen, orig);
	while (*s != '\0') {
		if (!(*s == '.' || (*s >= '0' && *s <= '9')))
			return invalid(err, errlen, orig);
		/* The whole part: an overflow here is an invalid duration. */
		const char *p0 = s;
		uint64_t v = 0;
		for (; *s >= '0' && *s <= '9'; s++) {
			if (v > LIMIT / 10)
				return invalid(err, errlen, orig);
			v = v * 10 + (uint64_t)(*s - '0');
			if (v > LIMIT)
				return invalid(err, errlen, orig);
		}
		bool pre = s != p0, post = false;
		/* The fraction: digits past what fits stop adding precision, silently. */
		uint64_t f = 0;
		double scale = 1;
		if (*s == '.') {
			s++;
			const char *f0 = s;
			bool over = false;
			for (; *s >= '0' && *s <= '9'; s++) {
				if (over)
					continue;
				if (f > (LIMIT - 1) / 10) {
					over = true;
					continue;
				}
				uint64_t y = f * 10 + (uint64_t)(*s - '0');
				if (y > LIMIT) {
					over = true;
					continue;
				}
				f = y;
				scale *= 10;
			}
			post = s != f0;
		}
		if (!pre && !post)
			return invalid(err, errlen, orig);
		size_t ul = 0;
		while (s[ul] != '\0' && s[ul] != '.' && !(s[ul] >= '0' && s[ul] <= '9'))
			ul++;
		if (ul == 0)
			return fail(err, errlen, "time: missing unit in duration ", NULL, orig);
		uint64_t unit = 0;
		static const struct {
			const char *name;
			uint64_t ns;
		} units[] = {{"ns", 1},
			     {"us", NS_US},
			     {"\xc2\xb5s", NS_US}, /* U+00B5 micro sign */
			     {"\xce\xbcs", NS_US}, /* U+03BC Greek mu */
			     {"ms", NS_MS},
			     {"s", NS_S},
			     {"m", NS_MIN},
			     {"h", NS_H}};
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			if (strlen(units[i].name) == ul && memcmp(units[i].name, s, ul) == 0)
				unit = units[i].ns;
		}
		if (unit == 0) {
			char u[64];
			char *heap = NULL;
			char *up = u;
			if (ul >= sizeof(u))
				up = heap = malloc(ul + 1);
			if (up == NULL)
				return invalid(err, errlen, orig);
			memcpy(up, s, ul);
			up[ul] = '\0';
			fail(err, errlen, "time: unknown unit ", up, orig);
			free(heap);
			return -1;
		}
		s += ul;
		if (v > LIMIT / unit)
			return invalid(err, errlen, orig);
		v *= unit;
		if (f > 0) {
			/* In double, as Go does: exact to the nanosecond up to an hour's worth. */
			v += (uint64_t)((double)f * ((double)unit / scale));
			if (v > LIMIT)
				return invalid(err, errlen, orig);
		}
		d += v;
		if (d > LIMIT)
			return invalid(err, errlen, orig);
	}
	if (neg) {
		*ns = (int64_t)(0 - d);
		return 0;
	}
	if (d > LIMIT - 1)
		return invalid(err, errlen, orig);
	*ns = (int64_t)d;
	return 0;
}

/* Writes the digits of v/10^prec with the fraction's trailing zeros (and a bare point)
 * dropped, right-aligned ending at buf[w]; returns the new start and v/10^prec. */
static size_t put_frac(char *buf, size_t w, uint64_t *v, int prec)
{
	bool any = false;
	for (int i = 0; i < prec; i++) {
		unsigned digit = (unsigned)(*v % 10);
		any = any || digit != 0;
		if (any)
			buf[--w] = (char)('0' + digit);
		*v /= 10;
	}
	if (any)
		buf[--w] = '.';
	return w;
}

static size_t put_int(char *buf, size_t w, uint64_t v)
{
	do {
		buf[--w] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	return w;
}

static size_t copy_out(const char *s, size_t n, char *out, size_t outlen)
{
	if (outlen == 0)
		return n;
	size_t k = n < outlen - 1 ? n : outlen - 1;
	memcpy(out, s, k);
	out[k] = '\0';
	return k;
}

size_t nd_go_format_duration(int64_t ns, char *out, size_t outlen)
{
	char buf[40];
	size_t w = sizeof(buf);
	bool neg = ns < 0;
	uint64_t u = neg ? 0 - (uint64_t)ns : (uint64_t)ns;
	if (u == 0)
		return copy_out("0s", 2, out, outlen);
	buf[--w] = 's';
	if (u < NS_S) {
		/* Below a second: the largest unit under it, with a fraction. */
		int prec;
		if (u < NS_US) {
			prec = 0;
			buf[--w] = 'n';
		} else if (u < NS_MS) {
			prec = 3;
			buf[--w] = (char)0xb5; /* U+00B5 MICRO SIGN, as Go prints it */
			buf[--w] = (char)0xc2;
		} else {
			prec = 6;
			buf[--w] = 'm';
		}
		w = put_frac(buf, w, &u, prec);
		w = put_int(buf, w, u);
	} else {
		w = put_frac(buf, w, &u, 9);
		w = put_int(buf, w, u % 60);
		u /= 60;
		if (u > 0) {
			buf[--w] = 'm';
			w = put_int(buf, w, u % 60);
			u /= 60;
			if (u > 0) {
				buf[--w] = 'h';
				w = put_int(buf, w, u);
			}
		}
	}
	if (neg)
		buf[--w] = '-';
	return copy_out(buf + w, sizeof(buf) - w, out, outlen);
}

size_t nd_go_format_float(double v, char *out, size_t outlen)
{
	char buf[48];
	if (isnan(v))
		return copy_out("NaN", 3, out, outlen);
	if (isinf(v))
		return copy_out(v > 0 ? "+Inf" : "-Inf", 4, out, outlen);
	if (v == 0)
		return copy_out(signbit(v) ? "-0" : "0", signbit(v) ? 2 : 1, out, outlen);
	/* The shortest decimal that reads back as v: C's correctly rounded %e at increasing
	 * precision finds the same digits as Go's shortest formatting. */
	char e[40];
	for (int prec = 0; prec < 17; prec++) {
		snprintf(e, sizeof(e), "%.*e", prec, v);
		if (strtod(e, NULL) == v)
			break;
	}
	/* e is "[-]d[.ddd]e[+-]xx": split it into sign, digits and exponent. */
	const char *p = e;
	bool neg = *p == '-';
	if (neg)
		p++;
	char digits[24];
	size_t nd = 0;
	for (; *p != 'e'; p++) {
		if (*p != '.')
			digits[nd++] = *p;
	}
	int exp = atoi(p + 1);
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	size_t w = 0;
	if (neg)
		buf[w++] = '-';
	/* %v is %g at the shortest precision, and for that case strconv decides between the
	 * two forms as if the precision were 6: exponent form below 1e-4 and from 1e+06 up. */
	if (exp < -4 || exp >= 6) {
		buf[w++] = digits[0];
		if (nd > 1) {
			buf[w++] = '.';
			memcpy(buf + w, digits + 1, nd - 1);
			w += nd - 1;
		}
		w += (size_t)snprintf(buf + w, sizeof(buf) - w, "e%c%02d", exp < 0 ? '-' : '+',
				      exp < 0 ? -exp : exp);
	} else if (exp < 0) {
		buf[w++] = '0';
		buf[w++] = '.';
		for (int i = -1; i > exp; i--)
			buf[w++] = '0';
		memcpy(buf + w, digits, nd);
		w += nd;
	} else {
		for (int i = 0; i <= exp; i++)
			buf[w++] = (size_t)i < nd ? digits[i] : '0';
		if (nd > (size_t)exp + 1) {
			buf[w++] = '.';
			memcpy(buf + w, digits + exp + 1, nd - (size_t)exp - 1);
			w += nd - (size_t)exp - 1;
		}
	}
	return copy_out(buf, w, out, outlen);
}
