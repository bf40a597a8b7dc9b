/* strconv.Quote. Go keeps every rune unicode.IsPrint accepts; we approximate that set for
 * non-ASCII runes by keeping valid UTF-8 from U+00A0 on, except the spaces, format characters
 * and private-use ranges Go escapes (go_unprintable). Subjects and names are ASCII in practice;
 * a BOM glued to the first key of a file is the case that shows. */
#include "protocol/goquote.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef struct sink {
	char *out;
	size_t cap, len;
} sink_t;

static void put(sink_t *k, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++, k->len++)
		if (k->len + 1 < k->cap)
			k->out[k->len] = s[i];
}

/* Decodes one UTF-8 sequence at s[0..n). Returns its length, or 0 if invalid. */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	if (s[0] < 0xC2 || s[0] > 0xF4)
		return 0;
	size_t len = s[0] < 0xE0 ? 2 : s[0] < 0xF0 ? 3 : 4;
	if (n < len)
		return 0;
	uint32_t c = s[0] & (0x3F >> (len - 1));
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3F);
	}
	if ((len == 3 && (c < 0x800 || (c >= 0xD800 && c <= 0xDFFF))) ||
	    (len == 4 && (c < 0x10000 || c > 0x10FFFF)))
		return 0;
	*cp = c;
	return len;
}

/* Code points above U+009F that Go's strconv.IsPrint rejects and %q therefore escapes: spaces
 * other than U+0020 (Zs, Zl, Zp), format characters (Cf), private use (Co) and the
 * noncharacters. Unassigned code points are not tracked (Go escapes those too). */
static bool go_unprintable(uint32_t cp)
{
	static const uint32_t ranges[][2] = {
	    {0x00A0, 0x00A0},   {0x00AD, 0x00AD},   {0x0600, 0x0605},   {0x061C, 0x061C},
	    {0x06DD, 0x06DD},   {0x070F, 0x070F},   {0x08E2, 0x08E2},   {0x1680, 0x1680},
	    {0x180E, 0x180E},   {0x2000, 0x200F},   {0x2028, 0x202F},   {0x205F, 0x2064},
	    {0x2066, 0x206F},   {0x3000, 0x3000},   {0xD800, 0xF8FF},   {0xFDD0, 0xFDEF},
	    {0xFEFF, 0xFEFF},   {0xFFF9, 0xFFFB},   {0xFFFE, 0xFFFF},   {0x110BD, 0x110BD},
	    {0x1BCA0, 0x1BCA3}, {0x1D173, 0x1D17A}, {0xE0001, 0xE007F}, {0xF0000, 0x10FFFF},
	};
	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
		if (cp >= ranges[i][0] && cp <= ranges[i][1])
			return true;
	return (cp & 0xFFFE) == 0xFFFE; /* U+nFFFE and U+nFFFF */
}

size_t nd_go_quote(const char *s, size_t n, char *out, size_t outlen)
{
	sink_t k = {out, outlen, 0};
	const unsigned char *u = (const unsigned char *)s;
	char tmp[16];
	put(&k, "\"", 1);
	for (size_t i = 0; i < n;) {
		unsigned char c = u[i];
		if (c >= 0x80) {
			uint32_t cp;
			size_t len = utf8_decode(u + i, n - i, &cp);
			if (len == 0) {
				snprintf(tmp, sizeof(tmp), "\\x%02x", c);
				put(&k, tmp, 4);
				i++;
				continue;
			}
			if (cp < 0xA0 || go_unprintable(cp)) {
				int m = cp < 0x10000 ? snprintf(tmp, sizeof(tmp), "\\u%04x", cp)
						     : snprintf(tmp, sizeof(tmp), "\\U%08x", cp);
				put(&k, tmp, (size_t)m);
			} else {
				put(&k, s + i, len);
			}
			i += len;
			continue;
		}
		i++;
		switch (c) {
		case '"':
			put(&k, "\\\"", 2);
			continue;
		case '\\':
			put(&k, "\\\\", 2);
			continue;
		case '\a':
			put(&k, "\\a", 2);
			continue;
		case '\b':
			put(&k, "\\b", 2);
			continue;
		case '\f':
			put(&k, "\\f", 2);
			continue;
		case '\n':
			put(&k, "\\n", 2);
			continue;
		case '\r':
			put(&k, "\\r", 2);
			continue;
		case '\t':
			put(&k, "\\t", 2);
			continue;
		case '\v':
			put(&k, "\\v", 2);
			continue;
		default:
			break;
		}
		if (c < 0x20 || c == 0x7F) {
			snprintf(tmp, sizeof(tmp), "\\x%02x", c);
			put(&k, tmp, 4);
		} else {
			put(&k, (const char *)&c, 1);
		}
	}
	put(&k, "\"", 1);
	if (outlen > 0)
		out[k.len < outlen ? k.len : outlen - 1] = '\0';
	return k.len;
}
