/* Password and token checks: the reference's isBcrypt rule, bcrypt through libcrypt with Go's
 * semantics (hashes made by Go's bcrypt, published by NATS), and plain comparison. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/password.h"
#include "tests/support/nd_creds.h"
#include "tests/support/nd_test.h"

/* Hashes made by Go's bcrypt (the reference's): nats-server's own tests and configs (v2.9.10
 * test/auth_test.go, test/client_auth_test.go, test/configs/authorization.conf,
 * server/configs/srv_a_bcrypt.conf), golang.org/x/crypto/bcrypt's tests, and the NATS docs
 * (mkpasswd / `nats server passwd` examples on the user-password and token pages). */
static const struct {
	const char *password, *hash;
} go_hashes[] = {
    {"IW@$6v(y1(t@fhPDvf!5^%", "$2a$04$Q.CgCP2Sl9pkcTXEZHazaeMwPaAkSHk7AI51HkyMt5iJQQyUA4qxq"},
    {"0uhJOSr3GW7xvHvtd^K6pa", "$2a$04$u5ZClXpcjHgpfc61Ee0VKuwI1K3vTC4zq7SjphjnlHMeb1Llkb5Y6"},
    {"test", "$2a$05$3sSWEVA1eMCbV0hWavDjXOx.ClBjI6u1CuUdLqf22cbJjXsnzz8/."},
    {"foo", "$2a$04$P/.bd.7unw9Ew7yWJqXsl.f4oNRLQGvadEL2YnqQXbbb.IVQajRdK"},
    {"bar", "$2a$10$LoRPzN3GtF2pNX5QgCBBHeUr6/zVN./RVGOu5U8SpHyg2sfzvfXji"},
    {"allmine", "$2a$10$XajjQvNhvvRt5GSeFk1xFeyqRrsxkhBkUiQeg0dt.wU1qD4aFDcga"},
    {"012345678901234567890123456789012345678901234567890123456",
     "$2a$10$XajjQvNhvvRt5GSeFk1xFe5l47dONXg781AmZtd869sO8zfsHuw7C"},
    {"password", "$2a$11$1oJy/wZYNTxr9jNwMNwS3eUGhBpHT3On8CL9o7ey89mpgo88VG6ba"},
    {"dag0HTXl4RGg7dXdaJwbC8", "$2a$11$PWIFAL8RsWyGI3jVZtO9Nu8.6jOxzxfZo7c/W0eLk017hjgUKWrhy"},
};

ND_TEST(password, is_bcrypt_rule)
{
	const char *yes[] = {"$2a$10$", "$2b$04$abc", "$2x$99$", "$2y$00$x", go_hashes[0].hash};
	static const char *no[] = {"",           "$",
				   "$2a$1x$abc", "$2z$10$abc",
				   "$2$10$abc",  "$2a$100$",
				   "$2a$10",     "$2a$1$abc",
				   "2a$10$abc",  " $2a$10$",
				   "$2A$10$",    "$3a$10$x",
				   "$2a$10x",    "$2a$\xd9\xa1\xd9\xa2$"};
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		cr_assert(nd_password_is_bcrypt(yes[i]), "%s", yes[i]);
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		cr_assert_not(nd_password_is_bcrypt(no[i]), "%s", no[i]);
	cr_assert_not(nd_password_is_bcrypt(NULL));
}

ND_TEST(password, hashes_made_by_go, .timeout = 60)
{
	for (size_t i = 0; i < sizeof(go_hashes) / sizeof(go_hashes[0]); i++) {
		cr_assert(nd_password_matches(go_hashes[i].hash, go_hashes[i].password), "%s",
			  go_hashes[i].hash);
		/* Sending the hash itself does not work (the reference's TestBadBcryptPassword). */
		cr_assert_not(nd_password_matches(go_hashes[i].hash, go_hashes[i].hash));
	}
	cr_assert_not(nd_password_matches(go_hashes[2].hash, "Test"));
	cr_assert_not(nd_password_matches(go_hashes[2].hash, "test "));
	cr_assert_not(nd_password_matches(go_hashes[2].hash, ""));
	cr_assert_not(nd_password_matches(go_hashes[2].hash, NULL));
}

ND_TEST(password, hashes_made_by_libcrypt_every_prefix, .timeout = 60)
{
	static const char *prefixes[] = {"$2a$", "$2b$", "$2y$", "$2x$"};
	for (size_t i = 0; i < 4; i++) {
		char *h = nd_creds_bcrypt("s3cr3t pass", prefixes[i], 4);
		cr_assert_eq(strncmp(h, prefixes[i], 4), 0, "%s", h);
		cr_assert(nd_password_is_bcrypt(h));
		cr_assert(nd_password_matches(h, "s3cr3t pass"), "%s", h);
		cr_assert_not(nd_password_matches(h, "s3cr3t pasS"), "%s", h);
		cr_assert_not(nd_password_matches(h, "s3cr3t pas"), "%s", h);
		free(h);
	}
}

ND_TEST(password, minor_letter_does_not_change_the_algorithm)
{
	/* Go's bcrypt carries the letter along and computes the same thing for all four. */
	char *h = nd_creds_bcrypt("caf\xc3\xa9 \xff\xa3", "$2b$", 4);
	const char letters[] = "abxy";
	for (int i = 0; i < 4; i++) {
		h[2] = letters[i];
		cr_assert(nd_password_matches(h, "caf\xc3\xa9 \xff\xa3"), "%s", h);
		cr_assert_not(nd_password_matches(h, "caf\xc3\xa9 \xff\xa4"), "%s", h);
	}
	free(h);
	/* libcrypt's own $2x$ (the old sign-extension bug) and $2a$ (its countermeasure) give
	 * other hashes for some 8-bit passwords; these are what libcrypt computes for them (also
	 * crypt_blowfish's published test vectors). Go, and so we, match the correct hash only. */
	const char *correct_ff_ff_a3 = "/OK.fbVrR/bpIqNJ5ianF.CE5elHaaO4EbggVDjb8P19RukzXSM3e";
	const char *correct_a3 = "/OK.fbVrR/bpIqNJ5ianF.Sa7shbm4.OzKpvFnX1pQLmQW96oUlCq";
	char s[64];
	for (int i = 0; i < 4; i++) {
		snprintf(s, sizeof(s), "$2%c$05$%s", letters[i], correct_ff_ff_a3);
		cr_assert(nd_password_matches(s, "\xff\xff\xa3"), "%s", s);
		snprintf(s, sizeof(s), "$2%c$05$%s", letters[i], correct_a3);
		cr_assert(nd_password_matches(s, "\xa3"), "%s", s);
	}
	/* libcrypt's $2a$ hash of \xff\xff\xa3 and its $2x$ hash of \xa3 (the buggy one, which
	 * happens to equal the correct hash of \xff\xff\xa3). */
	cr_assert_not(nd_password_matches(
	    "$2a$05$/OK.fbVrR/bpIqNJ5ianF.nqd1wy.pTMdcvrRWxyiGL2eMz.2a85.", "\xff\xff\xa3"));
	snprintf(s, sizeof(s), "$2x$05$%s", correct_ff_ff_a3);
	cr_assert_not(nd_password_matches(s, "\xa3"));
}

ND_TEST(password, stored_hash_shape_as_go)
{
	char h[128];
	snprintf(h, sizeof(h), "%s", go_hashes[2].hash);
	/* Go compares the hash re-encoded into 60 bytes: characters after the 60th are ignored, a
	 * shorter string never matches. */
	snprintf(h, sizeof(h), "%s trailing", go_hashes[2].hash);
	cr_assert(nd_password_matches(h, "test"));
	snprintf(h, sizeof(h), "%.59s", go_hashes[2].hash);
	cr_assert_not(nd_password_matches(h, "test"));
	cr_assert_not(nd_password_matches(h, h));
	/* Cost outside 04..31, a character outside bcrypt's alphabet in the salt, a changed hash:
	 * no match, and being bcrypt-shaped, no plain comparison either. */
	snprintf(h, sizeof(h), "%s", go_hashes[2].hash);
	h[4] = '0';
	h[5] = '3';
	cr_assert_not(nd_password_matches(h, "test"));
	cr_assert_not(nd_password_matches(h, h));
	h[4] = '3';
	h[5] = '2';
	cr_assert_not(nd_password_matches(h, "test"));
	snprintf(h, sizeof(h), "%s", go_hashes[2].hash);
	h[10] = '!';
	cr_assert_not(nd_password_matches(h, "test"));
	snprintf(h, sizeof(h), "%s", go_hashes[2].hash);
	h[40] = h[40] == 'a' ? 'b' : 'a';
	cr_assert_not(nd_password_matches(h, "test"));
	/* No minor letter ("$2$"): Go's bcrypt would take it, but isBcrypt does not, so it is a
	 * plain password. */
	const char *no_minor = "$2$10$XajjQvNhvvRt5GSeFk1xFeyqRrsxkhBkUiQeg0dt.wU1qD4aFDcga";
	cr_assert_not(nd_password_matches(no_minor, "allmine"));
	cr_assert(nd_password_matches(no_minor, no_minor));
}

ND_TEST(password, long_passwords_and_nul_bytes)
{
	/* Only 72 bytes count; libcrypt alone would refuse more than 512, Go would not. */
	char pw[1100];
	for (size_t i = 0; i < sizeof(pw) - 1; i++)
		pw[i] = (char)('a' + i % 26);
	pw[sizeof(pw) - 1] = '\0';
	char first72[73];
	memcpy(first72, pw, 72);
	first72[72] = '\0';
	char *h = nd_creds_bcrypt(first72, "$2b$", 4);
	cr_assert(nd_password_matches(h, first72));
	cr_assert(nd_password_matches(h, pw));
	first72[71] = '\0';
	cr_assert_not(nd_password_matches(h, first72));
	/* A NUL beyond byte 72 does not matter, one before it does (libcrypt would stop there). */
	pw[100] = '\0';
	cr_assert(nd_password_matches_n(h, pw, 200));
	pw[100] = 'x';
	free(h);
	h = nd_creds_bcrypt("ab", "$2b$", 4);
	cr_assert(nd_password_matches_n(h, "ab", 2));
	cr_assert_not(nd_password_matches_n(h, "ab\0cd", 5));
	cr_assert_not(nd_password_matches_n(h, "ab\0", 3));
	free(h);
	/* Plain secrets compare every byte, NULs included. */
	cr_assert(nd_password_matches_n("ab", "ab", 2));
	cr_assert_not(nd_password_matches_n("ab", "ab\0cd", 5));
	cr_assert_not(nd_password_matches_n("ab", "a", 1));
}

ND_TEST(password, plain_secrets)
{
	cr_assert(nd_password_matches("s3cr3t", "s3cr3t"));
	cr_assert_not(nd_password_matches("s3cr3t", "s3cr3"));
	cr_assert_not(nd_password_matches("s3cr3t", "s3cr3tX"));
	cr_assert_not(nd_password_matches("s3cr3t", "S3cr3t"));
	cr_assert_not(nd_password_matches("s3cr3t", ""));
	cr_assert_not(nd_password_matches("s3cr3t", NULL));
	cr_assert(nd_password_matches("", ""));
	cr_assert(nd_password_matches(NULL, ""));
	cr_assert(nd_password_matches(NULL, NULL));
	cr_assert_not(nd_password_matches("", "x"));
	/* Look like bcrypt, are not: compared as they are. */
	cr_assert(nd_password_matches("$2a$1x$abc", "$2a$1x$abc"));
	cr_assert(nd_password_matches("$2z$10$abc", "$2z$10$abc"));
	cr_assert_not(nd_password_matches("$2z$10$abc", "abc"));
}

static void *check_many(void *arg)
{
	const char *h = go_hashes[*(int *)arg].hash;
	for (int i = 0; i < 8; i++)
		if (!nd_password_matches(h, "foo") || nd_password_matches(h, "bar"))
			return (void *)1;
	return NULL;
}

ND_TEST(password, threads_check_at_once, .timeout = 60)
{
	pthread_t t[4];
	int which = 3; /* "foo" */
	for (int i = 0; i < 4; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, check_many, &which), 0);
	for (int i = 0; i < 4; i++) {
		void *r;
		pthread_join(t[i], &r);
		cr_assert_null(r);
	}
}

static double ms_per_check(const char *hash, const char *password, int runs)
{
	uint64_t t0 = nd_test_now_ns();
	for (int i = 0; i < runs; i++)
		cr_assert(nd_password_matches(hash, password));
	return (double)(nd_test_now_ns() - t0) / 1e6 / runs;
}

ND_TEST(password, cost_of_one_check, .timeout = 120)
{
	/* Not a pass/fail criterion (the machine is shared): the numbers callers plan with. */
	char *h10 = nd_creds_bcrypt("password", "$2b$", 10);
	double c10 = ms_per_check(h10, "password", 3);
	double c11 = ms_per_check(go_hashes[7].hash, "password", 3);
	free(h10);
	fprintf(stderr, "bcrypt check: %.1f ms at cost 10, %.1f ms at cost 11\n", c10, c11);
}
