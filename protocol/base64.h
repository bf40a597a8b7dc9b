/* Base64 (RFC 4648) in the four forms Go's encoding/base64 names: standard or URL-safe
 * alphabet, padded or raw. The decoder accepts and rejects exactly what Go's non-strict decoder
 * does, because the reference server decodes nkey signatures with it. Not a streaming codec. */
#ifndef ND_PROTOCOL_BASE64_H
#define ND_PROTOCOL_BASE64_H

#include <stddef.h>
#include <stdint.h>

typedef enum nd_base64_form {
	ND_BASE64_STD,     /* "+/", padded with '=': Go's StdEncoding */
	ND_BASE64_RAW_STD, /* "+/", no padding: RawStdEncoding */
	ND_BASE64_URL,     /* "-_", padded: URLEncoding */
	ND_BASE64_RAW_URL, /* "-_", no padding: RawURLEncoding */
} nd_base64_form_t;

/* Length of the encoding of n bytes in `form`, without the NUL. */
size_t nd_base64_encoded_len(nd_base64_form_t form, size_t n);

/* Encodes src[0..n) into out, which must hold nd_base64_encoded_len(form, n) + 1 bytes; writes
 * a NUL after the text. Returns the text's length. */
size_t nd_base64_encode(nd_base64_form_t form, const void *src, size_t n, char *out);

/* Decodes src[0..len) as Go's decoder for `form` does: '\r' and '\n' anywhere are skipped,
 * unused low bits of the last character are ignored (non-strict), a padded form needs its
 * padding and nothing but line breaks after it, a raw form rejects '='. On success stores the
 * full decoded length in *out_len and the first min(*out_len, cap) bytes in out (so a caller
 * can tell "valid but too long" from "invalid"), and returns 0; returns -1 on invalid input.
 * out may be NULL when cap is 0. */
int nd_base64_decode(nd_base64_form_t form, const char *src, size_t len, uint8_t *out, size_t cap,
		     size_t *out_len);

#endif
