/* Password checks. bcrypt is libxcrypt's crypt_rn (Debian's libcrypt, the system's password
 * hashing library) rather than a Blowfish of our own; see docs/dependencies.md. */
#include "protocol/password.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "$2a$10$" + 22 salt characters + 31 hash characters. */
#define BCRYPT_LEN 60
#define BCRYPT_SETTING_LEN 29
/* Blowfish's key schedule takes 18 32-bit words: bcrypt never reads past byte 72 of a key. */
#define BCRYPT_MAX_KEY 72

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

bool nd_password_is_bcrypt(const char *s)
{
	/* Each test fails on the NUL before a later one could read past it. */
	return s != NULL && s[0] == '$' && s[1] == '2' &&
	       (s[2] == 'a' || s[2] == 'b' || s[2] == 'x' || s[2] == 'y') && s[3] == '$' &&
	       is_digit(s[4]) && is_digit(s[5]) && s[6] == '$';
}

/* golang.org/x/crypto/bcrypt's CompareHashAndPassword, the reference's, in terms of crypt_rn:
 * - the minor version letter is only carried along, never changes the algorithm; libxcrypt
 *   instead computes $2x$ with the old sign-extension bug and $2a$ with a countermeasure
 *   against it, both differing from Go for some passwords with 8-bit bytes. So we always ask
 *   libxcrypt for $2b$, its correct algorithm, with the stored cost and salt;
 * - cost 04..31, the salt's 22 characters in bcrypt's alphabet (libxcrypt checks both);
 * - Go compares the stored hash re-encoded into 60 bytes, so a stored string shorter than 60
 *   never matches and anything after its 60th byte is ignored;
 * - the key is the password plus a NUL, cycled over 72 bytes: the first 72 bytes of a longer
 *   password give the same key, and passing only those also keeps us under libxcrypt's
 *   512-byte passphrase limit, which Go does not have. */
static bool bcrypt_matches(const char *stored, const char *given, size_t given_len)
{
	if (strnlen(stored, BCRYPT_LEN) < BCRYPT_LEN)
		return false;
	if (given_len > BCRYPT_MAX_KEY)
		given_len = BCRYPT_MAX_KEY;
	if (memchr(given, '\0', given_len) != NULL)
		return false;
	char setting[BCRYPT_SETTING_LEN + 1];
	memcpy(setting, "$2b$", 4);
	memcpy(setting + 4, stored + 4, BCRYPT_SETTING_LEN - 4);
	setting[BCRYPT_SETTING_LEN] = '\0';
	char key[BCRYPT_MAX_KEY + 1];
	memcpy(key, given, given_len);
	key[given_len] = '\0';
	/* 32 KiB: too big for a worker's stack; calloc also zeroes `initialized` as required. */
	struct crypt_data *data = calloc(1, sizeof(*data));
	if (data == NULL) {
		fprintf(stderr, "natsd: out of memory\n");
		abort();
	}
	const char *h = crypt_rn(key, setting, data, (int)sizeof(*data));
	bool ok = h != NULL && strnlen(h, BCRYPT_LEN + 1) == BCRYPT_LEN &&
		  CRYPTO_memcmp(h + BCRYPT_SETTING_LEN, stored + BCRYPT_SETTING_LEN,
				BCRYPT_LEN - BCRYPT_SETTING_LEN) == 0;
	/* The work area holds the key schedule derived from the password. */
	OPENSSL_cleanse(data, sizeof(*data));
	OPENSSL_cleanse(key, sizeof(key));
	free(data);
	return ok;
}

bool nd_password_matches_n(const char *stored, const char *given, size_t given_len)
{
	if (stored == NULL)
		stored = "";
	if (given == NULL) {
		given = "";
		given_len = 0;
	}
	if (nd_password_is_bcrypt(stored))
		return bcrypt_matches(stored, given, given_len);
	/* The reference 2.9 uses Go's `!=` here (2.10 moved to subtle.ConstantTimeCompare); the
	 * outcome is the same, and like ConstantTimeCompare only the length may show in timing. */
	size_t n = strlen(stored);
	return n == given_len && CRYPTO_memcmp(stored, given, n) == 0;
}

bool nd_password_matches(const char *stored, const char *given)
{
	return nd_password_matches_n(stored, given, given != NULL ? strlen(given) : 0);
}
