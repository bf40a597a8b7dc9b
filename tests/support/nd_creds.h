/* Test credentials: random nkey key pairs, seed files that libnats reads, nonce signatures as a
 * client makes them, bcrypt hashes. For tests and tools only: every failure aborts. */
#ifndef ND_TESTS_SUPPORT_ND_CREDS_H
#define ND_TESTS_SUPPORT_ND_CREDS_H

#include <stddef.h>
#include <stdint.h>

#include "protocol/nkey.h"

/* The raw-URL base64 of a 64-byte signature: what a client puts in CONNECT's "sig". */
#define ND_CREDS_SIG_TEXT_LEN 86

typedef struct nd_creds_nkey {
	char public_key[ND_NKEY_LEN + 1]; /* "U..." for a user */
	char seed[ND_NKEY_SEED_LEN + 1];  /* "SU..." for a user */
} nd_creds_nkey_t;

/* Makes a random key pair of type `prefix` (ND_NKEY_PREFIX_USER, ...) into *out. */
void nd_creds_nkey_create(uint8_t prefix, nd_creds_nkey_t *out);

/* Derives the public key of the encoded seed. Returns 0, or -1 if the seed does not decode. */
int nd_creds_public_from_seed(const char *seed, char out[ND_NKEY_LEN + 1]);

/* Signs msg[0..len) with the encoded seed's key into sig (raw Ed25519). Returns 0, or -1 if the
 * seed does not decode. */
int nd_creds_sign(const char *seed, const void *msg, size_t len, uint8_t sig[ND_NKEY_SIG_LEN]);

/* Signs the nonce text as a client does and writes the "sig" it would send (86 chars + NUL). */
void nd_creds_sign_nonce(const char *seed, const char *nonce, char out[ND_CREDS_SIG_TEXT_LEN + 1]);

/* Writes the seed to a new file in $TMPDIR (or /tmp), one line, the form libnats's
 * natsOptions_SetNKeyFromSeed reads. Its name goes to path (cap >= 64); the caller unlinks it. */
void nd_creds_write_seed_file(const char *seed, char *path, size_t cap);

/* Hashes password with bcrypt: a random salt for `prefix` ("$2a$", "$2b$", "$2y$", or "$2x$",
 * which libcrypt can hash with but not make salts for) and cost (4..31). Returns the 60-char
 * hash, malloc'd; the caller frees it. */
char *nd_creds_bcrypt(const char *password, const char *prefix, unsigned cost);

#endif
