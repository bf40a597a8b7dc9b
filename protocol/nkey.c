/* NKeys. Base32 (RFC 4648 alphabet, no padding) and CRC16-XModem are a few lines each, so not
 * worth a dependency (Debian has no small C library for either; see docs/dependencies.md).
 * Ed25519 is OpenSSL's (libcrypto), which the server links for TLS anyway. */
#include "protocol/nkey.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "protocol/base64.h"

static const char b32_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

uint16_t nd_crc16(const uint8_t *data, size_t n)
{
	uint16_t crc = 0;
	for (size_t i = 0; i < n; i++) {
		crc ^= (uint16_t)(data[i] << 8);
		for (int b = 0; b < 8; b++)
			crc =
			    (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
	}
	return crc;
}

/* Appends the CRC16 of raw[0..n) little-endian, as the nkeys library writes it, and encodes
 * raw[0..n+2) in base32 into out (NUL-terminated). */
static void encode_with_crc(uint8_t *raw, size_t n, char *out)
{
	uint16_t crc = nd_crc16(raw, n);
	raw[n] = (uint8_t)(crc & 0xff);
	raw[n + 1] = (uint8_t)(crc >> 8);
	n += 2;
	unsigned buffer = 0, bits = 0;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		buffer = (buffer << 8) | raw[i];
		bits += 8;
		while (bits >= 5) {
			out[o++] = b32_alphabet[(buffer >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	if (bits > 0)
		out[o++] = b32_alphabet[(buffer << (5 - bits)) & 31];
	out[o] = '\0';
}

/* Decodes exactly `chars` base32 characters of text (which must be that long, no more) into
 * raw[0..n) and checks the trailing little-endian CRC16 over the bytes before it. Leftover low
 * bits of the last character are ignored, as Go's decoder does. Returns 0 or -1. */
static int decode_with_crc(const char *text, size_t chars, uint8_t *raw, size_t n)
{
	if (text == NULL || strnlen(text, chars + 1) != chars)
		return -1;
	unsigned buffer = 0, bits = 0;
	size_t o = 0;
	for (size_t i = 0; i < chars; i++) {
		const char c = text[i];
		unsigned v;
		if (c >= 'A' && c <= 'Z')
			v = (unsigned)(c - 'A');
		else if (c >= '2' && c <= '7')
			v = 26u + (unsigned)(c - '2');
		else
			return -1;
		buffer = (buffer << 5) | v;
		bits += 5;
		if (bits >= 8) {
			raw[o++] = (uint8_t)(buffer >> (bits - 8));
			bits -= 8;
		}
	}
	if (o != n)
		return -1;
	uint16_t crc = (uint16_t)(raw[n - 2] | raw[n - 1] << 8);
	return nd_crc16(raw, n - 2) == crc ? 0 : -1;
}

static bool is_public_prefix(uint8_t p)
{
	return p == ND_NKEY_PREFIX_ACCOUNT || p == ND_NKEY_PREFIX_CLUSTER ||
	       p == ND_NKEY_PREFIX_SERVER || p == ND_NKEY_PREFIX_OPERATOR ||
	       p == ND_NKEY_PREFIX_USER;
}

void nd_nkey_encode(uint8_t prefix, const uint8_t key[32], char out[ND_NKEY_LEN + 1])
{
	uint8_t raw[35];
	raw[0] = prefix;
	memcpy(raw + 1, key, 32);
	encode_with_crc(raw, 33, out);
}

int nd_nkey_decode(const char *text, uint8_t expected_prefix, uint8_t key[32])
{
	uint8_t raw[35];
	/* nkeys v0.3.0 (the reference 2.9's) compares the whole first byte with the prefix. */
	if (decode_with_crc(text, ND_NKEY_LEN, raw, sizeof(raw)) != 0 || raw[0] != expected_prefix)
		return -1;
	memcpy(key, raw + 1, 32);
	return 0;
}

int nd_nkey_encode_seed(uint8_t public_prefix, const uint8_t raw_seed[32],
			char out[ND_NKEY_SEED_LEN + 1])
{
	if (!is_public_prefix(public_prefix))
		return -1;
	/* Five bits of 'S', then the public prefix's five significant bits straddling the byte
	 * boundary, so that both show as letters: "SU...", "SA...". */
	uint8_t raw[36];
	raw[0] = (uint8_t)(ND_NKEY_PREFIX_SEED | public_prefix >> 5);
	raw[1] = (uint8_t)((public_prefix & 31) << 3);
	memcpy(raw + 2, raw_seed, 32);
	encode_with_crc(raw, 34, out);
	return 0;
}

int nd_nkey_decode_seed(const char *text, uint8_t *public_prefix, uint8_t raw_seed[32])
{
	uint8_t raw[36];
	if (decode_with_crc(text, ND_NKEY_SEED_LEN, raw, sizeof(raw)) != 0)
		return -1;
	uint8_t b1 = raw[0] & 0xf8;
	uint8_t b2 = (uint8_t)((raw[0] & 7) << 5 | (raw[1] & 0xf8) >> 3);
	/* As nkeys.DecodeSeed: the low three bits of the second byte are not looked at. */
	if (b1 != ND_NKEY_PREFIX_SEED || !is_public_prefix(b2))
		return -1;
	if (public_prefix != NULL)
		*public_prefix = b2;
	memcpy(raw_seed, raw + 2, 32);
	return 0;
}

int nd_nkey_verify(const char *public_nkey, const char *sig, size_t sig_len, const void *msg,
		   size_t msg_len)
{
	uint8_t raw[35];
	if (decode_with_crc(public_nkey, ND_NKEY_LEN, raw, sizeof(raw)) != 0 ||
	    !is_public_prefix(raw[0]))
		return -1;
	/* server/auth.go: base64.RawURLEncoding, falling back to StdEncoding. The decoder reports
	 * the full length, so an over-long signature is "valid base64, wrong size" (no fallback),
	 * exactly as in the reference, where Verify then rejects it. */
	uint8_t s[ND_NKEY_SIG_LEN];
	size_t n;
	if (sig == NULL ||
	    (nd_base64_decode(ND_BASE64_RAW_URL, sig, sig_len, s, sizeof(s), &n) != 0 &&
	     nd_base64_decode(ND_BASE64_STD, sig, sig_len, s, sizeof(s), &n) != 0))
		return -1;
	if (n != ND_NKEY_SIG_LEN)
		return -1;
	int rc = -1;
	EVP_MD_CTX *ctx = NULL;
	EVP_PKEY *key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw + 1, 32);
	if (key == NULL)
		goto fail;
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		goto fail;
	/* Ed25519 is one-shot: no digest is named, and EVP_DigestVerify takes the whole message. */
	if (EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key) != 1)
		goto fail;
	if (EVP_DigestVerify(ctx, s, sizeof(s), msg != NULL ? msg : "", msg_len) == 1)
		rc = 0;
fail:
	/* A rejected signature may leave entries on this thread's OpenSSL error queue; TLS code
	 * running later on the same worker reads that queue (SSL_get_error), so leave it empty. */
	if (rc != 0)
		ERR_clear_error();
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(key);
	return rc;
}

void nd_nkey_nonce(char out[ND_NKEY_NONCE_LEN + 1])
{
	uint8_t raw[ND_NKEY_NONCE_RAW_LEN];
	size_t got = 0;
	while (got < sizeof(raw)) {
		ssize_t r = getrandom(raw + got, sizeof(raw) - got, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "natsd: getrandom: %s\n", strerror(errno));
			abort();
		}
		got += (size_t)r;
	}
	nd_base64_encode(ND_BASE64_RAW_URL, raw, sizeof(raw), out);
}
