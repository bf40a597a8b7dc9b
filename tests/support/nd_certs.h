/* Certificates for the TLS tests, made at test time with the `openssl` command in a fresh
 * temporary directory (EC P-256 keys, PEM files):
 *   ca            the test CA ("CN=natsd test CA,O=Test")
 *   server        signed by ca, SAN DNS:localhost and IP:127.0.0.1 (serverAuth)
 *   alice         signed by ca, subject CN=alice,O=Test, SAN email:alice@example.com (clientAuth)
 *   bob           signed by ca, subject CN=bob,O=Test, no SAN (clientAuth)
 *   carol         signed by ca, subject CN=carol,O=Test, no SAN: a valid cert no test maps to a
 * user expired       signed by ca, CN=expired,O=Test, valid 2020-01-01 .. 2020-02-01 only wrong_ca
 * an unrelated CA; wrong_client (CN=mallory,O=Wrong) and wrong_server (SAN DNS:localhost,
 * IP:127.0.0.1) are signed by it wrong_host    signed by ca, SAN DNS:example.com only Subjects are
 * written in RFC 2253 order (most specific first), so "CN=bob,O=Test" is the subject string a
 * server derives from bob's cert. */
#ifndef ND_TESTS_SUPPORT_ND_CERTS_H
#define ND_TESTS_SUPPORT_ND_CERTS_H

#include <stdbool.h>

#define ND_CERTS_PATH_MAX 256

typedef struct nd_certs {
	char dir[ND_CERTS_PATH_MAX];
	char ca[ND_CERTS_PATH_MAX], ca_key[ND_CERTS_PATH_MAX];
	char server_cert[ND_CERTS_PATH_MAX], server_key[ND_CERTS_PATH_MAX];
	char alice_cert[ND_CERTS_PATH_MAX], alice_key[ND_CERTS_PATH_MAX];
	char bob_cert[ND_CERTS_PATH_MAX], bob_key[ND_CERTS_PATH_MAX];
	char carol_cert[ND_CERTS_PATH_MAX], carol_key[ND_CERTS_PATH_MAX];
	char expired_cert[ND_CERTS_PATH_MAX], expired_key[ND_CERTS_PATH_MAX];
	char wrong_ca[ND_CERTS_PATH_MAX], wrong_ca_key[ND_CERTS_PATH_MAX];
	char wrong_client_cert[ND_CERTS_PATH_MAX], wrong_client_key[ND_CERTS_PATH_MAX];
	char wrong_server_cert[ND_CERTS_PATH_MAX], wrong_server_key[ND_CERTS_PATH_MAX];
	char wrong_host_cert[ND_CERTS_PATH_MAX], wrong_host_key[ND_CERTS_PATH_MAX];
} nd_certs_t;

/* Makes a fresh directory ($TMPDIR or /tmp, "nd-certs-XXXXXX") and generates every file in it.
 * Returns 0, or -1 with the failing openssl command and its output on stderr (the directory is
 * then removed). Takes well under a second. */
int nd_certs_create(nd_certs_t *c);

/* Fills c with the paths of a directory made by nd_certs_create (e.g. by a parent process).
 * Returns 0 if every file is there, else -1. */
int nd_certs_open(nd_certs_t *c, const char *dir);

/* Removes the directory and everything in it (only a directory nd_certs_create named). */
void nd_certs_remove(nd_certs_t *c);

/* Lowercase hex SHA-256 of the DER SubjectPublicKeyInfo of the PEM cert in `cert` (the form of
 * a pinned_certs entry). Returns false if the file cannot be read. */
bool nd_certs_spki_sha256(const char *cert, char out[65]);

#endif
