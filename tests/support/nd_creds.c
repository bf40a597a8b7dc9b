/* Test credentials, with OpenSSL's Ed25519 and libcrypt's bcrypt (the ones the server uses to
 * check them, so the interop tests against libnats are what tell us the formats are right). */
#include "tests/support/nd_creds.h"

#include <crypt.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "protocol/base64.h"

static void die(const char *what)
{
	fprintf(stderr, "nd_creds: %s failed\n", what);
	abort();
}

static EVP_PKEY *key_from_raw_seed(const uint8_t raw[32])
{
	EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, raw, 32);
	if (k == NULL)
		die("EVP_PKEY_new_raw_private_key");
	return k;
}

static void public_of(EVP_PKEY *k, uint8_t prefix, char out[ND_NKEY_LEN + 1])
{
	uint8_t pub[32];
	size_t n = sizeof(pub);
	if (EVP_PKEY_get_raw_public_key(k, pub, &n) != 1 || n != sizeof(pub))
		die("EVP_PKEY_get_raw_public_key");
	nd_nkey_encode(prefix, pub, out);
}

void nd_creds_nkey_create(uint8_t prefix, nd_creds_nkey_t *out)
{
	uint8_t raw[32];
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		die("RAND_bytes");
	if (nd_nkey_encode_seed(prefix, raw, out->seed) != 0)
		die("nd_nkey_encode_seed");
	EVP_PKEY *k = key_from_raw_seed(raw);
	public_of(k, prefix, out->public_key);
	EVP_PKEY_free(k);
}

int nd_creds_public_from_seed(const char *seed, char out[ND_NKEY_LEN + 1])
{
	uint8_t prefix, raw[32];
	if (nd_nkey_decode_seed(seed, &prefix, raw) != 0)
		return -1;
	EVP_PKEY *k = key_from_raw_seed(raw);
	public_of(k, prefix, out);
	EVP_PKEY_free(k);
	return 0;
}

int nd_creds_sign(const char *seed, const void *msg, size_t len, uint8_t sig[ND_NKEY_SIG_LEN])
{
	uint8_t raw[32];
	if (nd_nkey_decode_seed(seed, NULL, raw) != 0)
		return -1;
	EVP_PKEY *k = key_from_raw_seed(raw);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t n = ND_NKEY_SIG_LEN;
	if (ctx == NULL || EVP_DigestSignInit(ctx, NULL, NULL, NULL, k) != 1 ||
	    EVP_DigestSign(ctx, sig, &n, msg, len) != 1 || n != ND_NKEY_SIG_LEN)
		die("EVP_DigestSign");
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(k);
	return 0;
}

void nd_creds_sign_nonce(const char *seed, const char *nonce, char out[ND_CREDS_SIG_TEXT_LEN + 1])
{
	uint8_t sig[ND_NKEY_SIG_LEN];
	if (nd_creds_sign(seed, nonce, strlen(nonce), sig) != 0)
		die("nd_creds_sign");
	nd_base64_encode(ND_BASE64_RAW_URL, sig, sizeof(sig), out);
}

void nd_creds_write_seed_file(const char *seed, char *path, size_t cap)
{
	const char *dir = getenv("TMPDIR");
	if (dir == NULL || *dir == '\0')
		dir = "/tmp";
	if ((size_t)snprintf(path, cap, "%s/nd-seed-XXXXXX", dir) >= cap)
		die("seed file name");
	int fd = mkstemp(path);
	if (fd < 0)
		die("mkstemp");
	size_t n = strlen(seed);
	if (write(fd, seed, n) != (ssize_t)n || write(fd, "\n", 1) != 1)
		die("write seed file");
	close(fd);
}

char *nd_creds_bcrypt(const char *password, const char *prefix, unsigned cost)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	/* libxcrypt makes no $2x$ salts (it only checks such hashes): borrow a $2b$ one. */
	const int x = strcmp(prefix, "$2x$") == 0;
	if (crypt_gensalt_rn(x ? "$2b$" : prefix, cost, NULL, 0, salt, sizeof(salt)) == NULL)
		die("crypt_gensalt_rn");
	if (x)
		salt[2] = 'x';
	struct crypt_data *data = calloc(1, sizeof(*data));
	if (data == NULL)
		die("calloc");
	const char *h = crypt_rn(password, salt, data, (int)sizeof(*data));
	if (h == NULL || strlen(h) != 60)
		die("crypt_rn");
	char *out = strdup(h);
	free(data);
	if (out == NULL)
		die("strdup");
	return out;
}
