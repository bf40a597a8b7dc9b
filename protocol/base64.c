/* Base64 in Go's four forms. OpenSSL's EVP_DecodeBlock knows only the padded standard form and
 * does not skip line breaks the way Go does, so this is our own (small) codec. */
#include "protocol/base64.h"

#include <stdbool.h>

static bool is_url(nd_base64_form_t form)
{
	return form == ND_BASE64_URL || form == ND_BASE64_RAW_URL;
}

static bool is_padded(nd_base64_form_t form)
{
	return form == ND_BASE64_STD || form == ND_BASE64_URL;
}

/* The 6-bit value of c in the form's alphabet, or -1. */
static int sextet(unsigned char c, bool url)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return 26 + (c - 'a');
	if (c >= '0' && c <= '9')
		return 52 + (c - '0');
	if (c == (url ? '-' : '+'))
		return 62;
	if (c == (url ? '_' : '/'))
		return 63;
	return -1;
}

size_t nd_base64_encoded_len(nd_base64_form_t form, size_t n)
{
	if (is_padded(form))
		return (n + 2) / 3 * 4;
	return n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
}

size_t nd_base64_encode(nd_base64_form_t form, const void *src, size_t n, char *out)
{
	const char *alphabet =
	    is_url(form) ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
			 : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const uint8_t *s = src;
	size_t o = 0, i = 0;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = alphabet[(v >> 6) & 63];
		out[o++] = alphabet[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < n ? (uint32_t)s[i + 1] << 8 : 0);
		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[(v >> 12) & 63];
		if (i + 1 < n)
			out[o++] = alphabet[(v >> 6) & 63];
		else if (is_padded(form))
			out[o++] = '=';
		if (is_padded(form))
			out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

static size_t skip_line_breaks(const char *src, size_t len, size_t i)
{
	while (i < len && (src[i] == '\r' || src[i] == '\n'))
		i++;
	return i;
}

static void put(uint8_t *out, size_t cap, size_t *n, uint8_t b)
{
	if (*n < cap)
		out[*n] = b;
	(*n)++;
}

/* Mirrors Go's decodeQuantum loop: groups of four characters, line breaks skipped between
 * any two of them; a short final group is an error in the padded forms and, with a single
 * character, in the raw forms too. */
int nd_base64_decode(nd_base64_form_t form, const char *src, size_t len, uint8_t *out, size_t cap,
		     size_t *out_len)
{
	const bool url = is_url(form), padded = is_padded(form);
	size_t si = 0, n = 0;
	for (;;) {
		int q[4] = {0, 0, 0, 0};
		int j = 0;
		bool end = false;
		while (j < 4) {
			si = skip_line_breaks(src, len, si);
			if (si == len) {
				if (j == 0) {
					*out_len = n;
					return 0;
				}
				if (j == 1 || padded)
					return -1;
				end = true;
				break;
			}
			unsigned char c = (unsigned char)src[si++];
			if (c == '=' && padded) {
				/* Padding: "xx==" or "xxx=", then only line breaks. */
				if (j < 2)
					return -1;
				if (j == 2) {
					si = skip_line_breaks(src, len, si);
					if (si == len || src[si] != '=')
						return -1;
					si++;
				}
				if (skip_line_breaks(src, len, si) != len)
					return -1;
				end = true;
				break;
			}
			int v = sextet(c, url);
			if (v < 0)
				return -1;
			q[j++] = v;
		}
		/* j characters carry j - 1 bytes; the unused low bits are ignored (non-strict). */
		put(out, cap, &n, (uint8_t)(q[0] << 2 | q[1] >> 4));
		if (j >= 3)
			put(out, cap, &n, (uint8_t)(q[1] << 4 | q[2] >> 2));
		if (j == 4)
			put(out, cap, &n, (uint8_t)(q[2] << 6 | q[3]));
		if (end) {
			*out_len = n;
			return 0;
		}
	}
}
