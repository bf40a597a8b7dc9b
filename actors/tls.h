/* TLS for connection actors, on OpenSSL: a context built from a tls {} block (certificate,
 * key, CAs, client verification, TLS 1.2 suites and curves named as the reference names them,
 * minimum version), and a non-blocking TLS session on a connection's socket. The session lives
 * in the connection actor and is used only on its home worker: handshake, read and write
 * return at once with what they need (read or write readiness) instead of blocking. */
#ifndef ND_ACTORS_TLS_H
#define ND_ACTORS_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct nd_tls_ctx nd_tls_ctx_t;
typedef struct nd_tls nd_tls_t;

typedef struct nd_tls_settings {
	const char *cert_file, *key_file, *ca_file;
	bool verify;   /* server: require and verify a peer certificate (against ca_file) */
	bool insecure; /* dialling side: do not verify the server's certificate */
	const char *const *ciphers; /* TLS 1.2 suites by their IANA names (the reference's); */
	size_t nciphers;            /* none: the reference's defaults. TLS 1.3 suites: OpenSSL's */
	const char *const *curves;  /* "CurveP256", "CurveP384", "CurveP521", "X25519" */
	size_t ncurves;             /* none: the reference's defaults */
	int min_version;            /* 0: TLS 1.2; else 0x0303 or 0x0304 */
} nd_tls_settings_t;

/* The settings of a tls {} block (views into it: valid while it is). */
struct nd_tls_opts;
void nd_tls_settings_from_opts(const struct nd_tls_opts *t, nd_tls_settings_t *out);

/* Builds a context (server: accepting side). Returns 0, or -1 with the reason in err (file that
 * does not load, unknown suite...). The context is reference counted (shared by connections,
 * and replaced on reload while old connections keep theirs). Any thread. */
int nd_tls_ctx_create(nd_tls_ctx_t **out, const nd_tls_settings_t *s, bool server, char *err,
		      size_t errlen);
nd_tls_ctx_t *nd_tls_ctx_ref(nd_tls_ctx_t *c);
void nd_tls_ctx_unref(nd_tls_ctx_t *c);

/* True if the IANA suite name is one the reference accepts in cipher_suites. */
bool nd_tls_cipher_known(const char *name);
/* True if the curve name is one the reference accepts in curve_preferences. */
bool nd_tls_curve_known(const char *name);

/* Results of the session calls below (negative; reads and writes return byte counts >= 0). */
enum {
	ND_TLS_WANT_READ = -1,  /* call again when the socket is readable */
	ND_TLS_WANT_WRITE = -2, /* call again when the socket is writable */
	ND_TLS_CLOSED = -3,     /* the peer closed (close_notify or EOF) */
	ND_TLS_FAILED = -4,     /* protocol or socket error: nd_tls_error says what */
};

/* A session on a connected non-blocking socket (not owned: the caller closes it). */
nd_tls_t *nd_tls_new(nd_tls_ctx_t *ctx, int fd, bool server);
void nd_tls_free(nd_tls_t *t);

/* Dialling side: the name (or IP address) the server's certificate must carry; a name is also
 * sent as SNI. */
void nd_tls_set_peer_name(nd_tls_t *t, const char *host);

/* Drives the handshake: 0 when done, or ND_TLS_WANT_* / ND_TLS_FAILED. */
int nd_tls_handshake(nd_tls_t *t);

/* Reads decrypted bytes: > 0, or ND_TLS_WANT_* / ND_TLS_CLOSED / ND_TLS_FAILED. */
ssize_t nd_tls_read(nd_tls_t *t, void *buf, size_t cap);

/* Decrypted bytes a connection reads per turn before its worker serves the others. */
#define ND_TLS_READ_BUDGET (4 * 65536)

/* Reads everything the session has (what the socket has, and what it already decrypted: no
 * socket event announces that) into buf and hands each piece to fn, which returns false once
 * the connection closed. Stops after budget bytes if nothing decrypted is left over (the
 * socket's level-triggered readiness brings the caller back for the rest). Returns 0 (the
 * socket is drained or the budget spent), 1 (fn stopped), or ND_TLS_WANT_WRITE /
 * ND_TLS_CLOSED / ND_TLS_FAILED. */
int nd_tls_read_each(nd_tls_t *t, char *buf, size_t cap, size_t budget,
		     bool (*fn)(void *ctx, const char *p, size_t n), void *ctx);

/* Bytes already decrypted and buffered inside the session (no socket event will announce
 * them). */
bool nd_tls_has_pending(nd_tls_t *t);

/* Encrypts and sends buf[0..n): bytes taken (> 0, possibly fewer than n), or ND_TLS_WANT_* /
 * ND_TLS_FAILED. After a WANT, call again with at least the same first bytes. */
ssize_t nd_tls_write(nd_tls_t *t, const void *buf, size_t n);

/* Writes what the session takes from ob, chunk by chunk (a full chunk is a full 16 KiB record)
 * and drops it from ob. Returns bytes written, or ND_TLS_WANT_* (nothing written; *want tells
 * which readiness the session waits for), or ND_TLS_FAILED. */
struct nd_outbuf;
ssize_t nd_tls_write_outbuf(nd_tls_t *t, struct nd_outbuf *ob, int *want_events);

/* The last failure, as the reference words it where it can ("tls: first record does not look
 * like a TLS handshake", ...) or OpenSSL's reason. */
const char *nd_tls_error(const nd_tls_t *t);

/* True if the handshake failed because the peer spoke something other than TLS (a plain
 * NATS client on a TLS port). */
bool nd_tls_failed_on_plain_text(const nd_tls_t *t);

/* After the handshake: "1.2" / "1.3", the suite's IANA name. */
const char *nd_tls_version(const nd_tls_t *t);
const char *nd_tls_cipher(const nd_tls_t *t);

/* The peer certificate's identities for verify_and_map, in the reference's order: e-mail
 * SANs, then DNS SANs, then URI SANs, then the subject DN (RFC 2253). Calls fn for each until it
 * returns true; returns whether one did. False without a peer certificate. */
bool nd_tls_peer_identities(const nd_tls_t *t, bool (*fn)(void *ctx, const char *id), void *ctx);

/* True if the peer certificate's subject has the same attributes as dn (RFC 2253 text), in
 * any order: the reference's DistinguishedNameMatch for verify_and_map user names. */
bool nd_tls_peer_subject_matches(const nd_tls_t *t, const char *dn);

/* The peer certificate's SubjectPublicKeyInfo SHA-256 in lower-case hex (pinned_certs), or
 * false without one. */
bool nd_tls_peer_spki_sha256(const nd_tls_t *t, char out[65]);

/* The peer certificate for /connz: its subject (RFC 2253, malloc'd into *subject), and the
 * SHA-256 of its SubjectPublicKeyInfo and of the whole certificate (DER) in lower-case hex.
 * Leaves *subject NULL and the hashes empty without a peer certificate. */
void nd_tls_peer_cert_info(const nd_tls_t *t, char **subject, char spki[65], char cert[65]);

#endif
