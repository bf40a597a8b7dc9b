/* NKeys, the nkeys library's key format (prefix byte(s) + key + CRC16, base32 without padding):
 * encoding public keys (server ids are 'N' keys), decoding and checking the public keys and
 * seeds of configured users, verifying the Ed25519 signature a client sends in CONNECT over the
 * nonce the server put in INFO, and making that nonce. Pure functions: no I/O but getrandom(2),
 * callable from any thread. */
#ifndef ND_PROTOCOL_NKEY_H
#define ND_PROTOCOL_NKEY_H

#include <stddef.h>
#include <stdint.h>

/* Prefix bytes of public keys; each encodes as the letter in the comment. */
#define ND_NKEY_PREFIX_ACCOUNT 0u          /* 'A' */
#define ND_NKEY_PREFIX_CLUSTER (2u << 3)   /* 'C' */
#define ND_NKEY_PREFIX_SERVER (13u << 3)   /* 'N' */
#define ND_NKEY_PREFIX_OPERATOR (14u << 3) /* 'O' */
#define ND_NKEY_PREFIX_USER (20u << 3)     /* 'U' */
/* A seed's first byte: 'S', then the public prefix spread over two bytes ("SU", "SA", ...). */
#define ND_NKEY_PREFIX_SEED (18u << 3)

#define ND_NKEY_LEN 56      /* a public key's text: 1 + 32 + 2 bytes in base32 */
#define ND_NKEY_SEED_LEN 58 /* a seed's text: 2 + 32 + 2 bytes in base32 */
#define ND_NKEY_SIG_LEN 64  /* a raw Ed25519 signature */

/* The INFO nonce: 11 random bytes in unpadded URL-safe base64 (the reference's nonceRawLen and
 * nonceLen, server/nkey.go). */
#define ND_NKEY_NONCE_RAW_LEN 11
#define ND_NKEY_NONCE_LEN 15

/* Encodes a 32-byte public key with `prefix` into out (56 chars + NUL). */
void nd_nkey_encode(uint8_t prefix, const uint8_t key[32], char out[ND_NKEY_LEN + 1]);

/* Decodes the NUL-terminated public key `text` into key. Returns 0 when it is 56 base32
 * characters whose CRC16 is right and whose prefix byte is exactly expected_prefix, else -1.
 * This is the reference's config check (nkeys.IsValidPublicUserKey for a user's `nkey`, whose
 * failure is "Not a valid public nkey for a user"), except that the reference accepts a key of
 * any length with a valid CRC there; we accept only 32-byte keys, the only ones it can verify. */
int nd_nkey_decode(const char *text, uint8_t expected_prefix, uint8_t key[32]);

/* Encodes an Ed25519 seed (the 32-byte private seed) for a key pair of type public_prefix
 * (one of the five public prefixes) into out (58 chars + NUL), as nkeys.EncodeSeed does.
 * Returns 0, or -1 when public_prefix is not a public prefix. */
int nd_nkey_encode_seed(uint8_t public_prefix, const uint8_t raw_seed[32],
			char out[ND_NKEY_SEED_LEN + 1]);

/* Decodes the NUL-terminated seed `text` (58 chars) into its public prefix and 32-byte seed, as
 * nkeys.DecodeSeed does. Returns 0, or -1 on bad length, base32, CRC, seed prefix or public
 * prefix. public_prefix may be NULL. */
int nd_nkey_decode_seed(const char *text, uint8_t *public_prefix, uint8_t raw_seed[32]);

/* Verifies sig[0..sig_len), the "sig" a client sends in CONNECT, as an Ed25519 signature of
 * msg[0..msg_len) by the NUL-terminated public nkey. As the reference does (server/auth.go):
 * sig is decoded as unpadded URL-safe base64 and, if that fails, as padded standard base64;
 * the key may be any public type (A, C, N, O, U: nkeys.FromPublicKey). For nkey auth, msg is
 * the nonce text as sent in INFO (its 15 characters, not the 11 raw bytes). Returns 0 when the
 * signature is valid, -1 otherwise. */
int nd_nkey_verify(const char *public_nkey, const char *sig, size_t sig_len, const void *msg,
		   size_t msg_len);

/* Writes a fresh nonce for INFO (ND_NKEY_NONCE_LEN chars of [A-Za-z0-9_-] + NUL), from
 * getrandom(2). Aborts if the kernel cannot supply random bytes: a predictable challenge would
 * make nkey auth replayable. */
void nd_nkey_nonce(char out[ND_NKEY_NONCE_LEN + 1]);

/* CRC16 (XModem polynomial 0x1021), as the nkeys format uses. */
uint16_t nd_crc16(const uint8_t *data, size_t n);

#endif
