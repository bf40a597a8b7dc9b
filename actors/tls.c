/* TLS sessions on OpenSSL 3 (SSL_set_fd on the non-blocking socket: no extra copy through
 * memory BIOs; the session only ever runs on its connection's worker). */
#include "actors/tls.h"

#include "actors/opts.h"
#include "actors/outbuf.h"
#include "runtime/io.h"

#include <ctype.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

struct nd_tls_ctx {
	SSL_CTX *ssl;
	_Atomic long refs;
};

struct nd_tls {
	SSL *ssl;
	bool plain_text; /* the peer's first bytes were not a TLS record */
	char err[256];
};

/* The suites the reference accepts by name (Go's crypto/tls names = IANA names). */
static const char *const known_ciphers[] = {
    "TLS_RSA_WITH_RC4_128_SHA",
    "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA256",
    "TLS_RSA_WITH_AES_256_CBC_SHA",
    "TLS_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_RC4_128_SHA",
    "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
};

/* The reference's defaults, in its order. */
static const char *const default_ciphers[] = {
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",  "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
};

static const struct {
	const char *go, *openssl;
} curve_names[] = {
    {"X25519", "X25519"},
    {"CurveP256", "P-256"},
    {"CurveP384", "P-384"},
    {"CurveP521", "P-521"},
};

static const char *const default_curves[] = {"X25519", "CurveP256", "CurveP384", "CurveP521"};

void nd_tls_settings_from_opts(const struct nd_tls_opts *t, nd_tls_settings_t *out)
{
	*out = (nd_tls_settings_t){
	    .cert_file = t->cert_file,
	    .key_file = t->key_file,
	    .ca_file = t->ca_file,
	    .verify = t->verify,
	    .insecure = t->insecure,
	    .ciphers = (const char *const *)t->ciphers,
	    .nciphers = t->nciphers,
	    .curves = (const char *const *)t->curves,
	    .ncurves = t->ncurves,
	    .min_version = t->min_version,
	};
}

bool nd_tls_cipher_known(const char *name)
{
	for (size_t i = 0; i < sizeof(known_ciphers) / sizeof(known_ciphers[0]); i++)
		if (strcmp(known_ciphers[i], name) == 0)
			return true;
	return false;
}

bool nd_tls_curve_known(const char *name)
{
	for (size_t i = 0; i < sizeof(curve_names) / sizeof(curve_names[0]); i++)
		if (strcmp(curve_names[i].go, name) == 0)
			return true;
	return false;
}

/* Go spells two ChaCha suites without their hash; OpenSSL's table has the IANA names. */
static const char *openssl_cipher(const char *iana)
{
	char full[96];
	if (strcmp(iana, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305") == 0 ||
	    strcmp(iana, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305") == 0) {
		snprintf(full, sizeof(full), "%s_SHA256", iana);
		return OPENSSL_cipher_name(full);
	}
	return OPENSSL_cipher_name(iana);
}

static void last_ssl_error(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256] = "";
	if (e != 0)
		ERR_error_string_n(e, buf, sizeof(buf));
	snprintf(err, errlen, "%s%s%s", what, buf[0] ? ": " : "", buf);
	ERR_clear_error();
}

/* TLS 1.2 suites (OpenSSL's cipher list syntax) and groups from the settings. */
static int configure_suites(SSL_CTX *ctx, const nd_tls_settings_t *s, char *err, size_t errlen)
{
	const char *const *names = s->nciphers ? s->ciphers : default_ciphers;
	size_t n = s->nciphers ? s->nciphers : sizeof(default_ciphers) / sizeof(default_ciphers[0]);
	char list[2048] = "";
	size_t off = 0;
	for (size_t i = 0; i < n; i++) {
		if (!nd_tls_cipher_known(names[i])) {
			snprintf(err, errlen, "unrecognized cipher %s", names[i]);
			return -1;
		}
		if (strncmp(names[i], "TLS_AES_", 8) == 0 ||
		    strncmp(names[i], "TLS_CHACHA20", 12) == 0)
			continue; /* TLS 1.3 suites are not configurable, as in Go */
		const char *o = openssl_cipher(names[i]);
		if (o == NULL || strcmp(o, "(NONE)") == 0)
			continue; /* not built into this OpenSSL (RC4, say) */
		int w = snprintf(list + off, sizeof(list) - off, "%s%s", off ? ":" : "", o);
		if (w < 0 || (size_t)w >= sizeof(list) - off)
			break;
		off += (size_t)w;
	}
	if (off > 0 && SSL_CTX_set_cipher_list(ctx, list) != 1) {
		last_ssl_error(err, errlen, "no usable cipher suite");
		return -1;
	}
	const char *const *curves = s->ncurves ? s->curves : default_curves;
	size_t nc = s->ncurves ? s->ncurves : sizeof(default_curves) / sizeof(default_curves[0]);
	char groups[256] = "";
	off = 0;
	for (size_t i = 0; i < nc; i++) {
		const char *o = NULL;
		for (size_t k = 0; k < sizeof(curve_names) / sizeof(curve_names[0]); k++)
			if (strcmp(curve_names[k].go, curves[i]) == 0)
				o = curve_names[k].openssl;
		if (o == NULL) {
			snprintf(err, errlen, "unrecognized curve preference %s", curves[i]);
			return -1;
		}
		int w = snprintf(groups + off, sizeof(groups) - off, "%s%s", off ? ":" : "", o);
		if (w < 0 || (size_t)w >= sizeof(groups) - off)
			break;
		off += (size_t)w;
	}
	if (off > 0 && SSL_CTX_set1_groups_list(ctx, groups) != 1) {
		last_ssl_error(err, errlen, "no usable curve");
		return -1;
	}
	return 0;
}

int nd_tls_ctx_create(nd_tls_ctx_t **out, const nd_tls_settings_t *s, bool server, char *err,
		      size_t errlen)
{
	*out = NULL;
	SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	if (ctx == NULL) {
		last_ssl_error(err, errlen, "cannot create a TLS context");
		return -1;
	}
	SSL_CTX_set_min_proto_version(ctx, s->min_version ? s->min_version : TLS1_2_VERSION);
	/* Partial writes: a session takes what the socket takes, record by record. */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
				  SSL_MODE_RELEASE_BUFFERS);
	/* A peer that closes without close_notify has closed, as for Go. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
				     SSL_OP_IGNORE_UNEXPECTED_EOF);
	if (configure_suites(ctx, s, err, errlen) != 0)
		goto fail;
	/* TLS 1.3 suites in Go's order (AES-128 first with AES hardware), not OpenSSL's. */
	SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256:"
				      "TLS_AES_256_GCM_SHA384");
	if (s->cert_file != NULL && s->cert_file[0] != '\0') {
		if (SSL_CTX_use_certificate_chain_file(ctx, s->cert_file) != 1) {
			char what[600];
			snprintf(what, sizeof(what), "error loading certificate %s", s->cert_file);
			last_ssl_error(err, errlen, what);
			goto fail;
		}
		const char *key =
		    s->key_file != NULL && s->key_file[0] ? s->key_file : s->cert_file;
		if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
		    SSL_CTX_check_private_key(ctx) != 1) {
			char what[600];
			snprintf(what, sizeof(what), "error loading private key %s", key);
			last_ssl_error(err, errlen, what);
			goto fail;
		}
	} else if (server) {
		snprintf(err, errlen, "missing 'cert_file' in TLS configuration");
		goto fail;
	}
	if (s->ca_file != NULL && s->ca_file[0] != '\0') {
		if (SSL_CTX_load_verify_locations(ctx, s->ca_file, NULL) != 1) {
			char what[600];
			snprintf(what, sizeof(what), "failed to parse root ca certificate %s",
				 s->ca_file);
			last_ssl_error(err, errlen, what);
			goto fail;
		}
		if (server && s->verify) {
			STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(s->ca_file);
			if (names != NULL)
				SSL_CTX_set_client_CA_list(ctx, names);
		}
	} else if (!server || s->verify) {
		/* Only a side that verifies needs a trust store (the system's by default). */
		SSL_CTX_set_default_verify_paths(ctx);
	}
	/* The chain is built once here: left to OpenSSL it is rebuilt and verified on every
	 * handshake (18% of a handshake in perf). As the reference, we send what the file has
	 * plus what the CAs complete. */
	if (s->cert_file != NULL && s->cert_file[0] != '\0') {
		SSL_CTX_build_cert_chain(ctx, SSL_BUILD_CHAIN_FLAG_NO_ROOT |
						  SSL_BUILD_CHAIN_FLAG_IGNORE_ERROR);
		ERR_clear_error();
		SSL_CTX_set_mode(ctx, SSL_MODE_NO_AUTO_CHAIN);
	}
	if (server)
		SSL_CTX_set_verify(ctx,
				   s->verify ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT
					     : SSL_VERIFY_NONE,
				   NULL);
	else
		SSL_CTX_set_verify(ctx, s->insecure ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, NULL);
	nd_tls_ctx_t *c = calloc(1, sizeof(*c));
	if (c == NULL)
		abort();
	c->ssl = ctx;
	atomic_init(&c->refs, 1);
	*out = c;
	return 0;
fail:
	SSL_CTX_free(ctx);
	return -1;
}

nd_tls_ctx_t *nd_tls_ctx_ref(nd_tls_ctx_t *c)
{
	atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
	return c;
}

void nd_tls_ctx_unref(nd_tls_ctx_t *c)
{
	/* acq_rel: the last owner sees every other owner's use before freeing. */
	if (c != NULL && atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1) {
		SSL_CTX_free(c->ssl);
		free(c);
	}
}

nd_tls_t *nd_tls_new(nd_tls_ctx_t *ctx, int fd, bool server)
{
	nd_tls_t *t = calloc(1, sizeof(*t));
	if (t == NULL)
		abort();
	t->ssl = SSL_new(ctx->ssl);
	if (t->ssl == NULL)
		abort();
	SSL_set_fd(t->ssl, fd);
	if (server)
		SSL_set_accept_state(t->ssl);
	else
		SSL_set_connect_state(t->ssl);
	return t;
}

void nd_tls_free(nd_tls_t *t)
{
	if (t == NULL)
		return;
	SSL_free(t->ssl);
	free(t);
}

/* Maps an OpenSSL result to ours, keeping a readable reason. */
static int result(nd_tls_t *t, int rc)
{
	int e = SSL_get_error(t->ssl, rc);
	switch (e) {
	case SSL_ERROR_WANT_READ:
		return ND_TLS_WANT_READ;
	case SSL_ERROR_WANT_WRITE:
		return ND_TLS_WANT_WRITE;
	case SSL_ERROR_ZERO_RETURN:
		return ND_TLS_CLOSED;
	case SSL_ERROR_SYSCALL:
		if (errno == 0 || errno == ECONNRESET || errno == EPIPE) {
			snprintf(t->err, sizeof(t->err), "EOF");
			ERR_clear_error();
			return ND_TLS_CLOSED;
		}
		snprintf(t->err, sizeof(t->err), "%s", strerror(errno));
		ERR_clear_error();
		return ND_TLS_FAILED;
	default: {
		unsigned long err = ERR_get_error();
		const char *reason = err != 0 ? ERR_reason_error_string(err) : NULL;
		/* Go's wording for the most common case: a plain client on a TLS port. */
		int why = ERR_GET_REASON(err);
		if (why == SSL_R_WRONG_VERSION_NUMBER || why == SSL_R_HTTP_REQUEST ||
		    why == SSL_R_HTTPS_PROXY_REQUEST || why == SSL_R_UNKNOWN_PROTOCOL) {
			snprintf(t->err, sizeof(t->err),
				 "tls: first record does not look like a TLS handshake");
			t->plain_text = true;
		} else
			snprintf(t->err, sizeof(t->err), "%s", reason ? reason : "TLS error");
		ERR_clear_error();
		return ND_TLS_FAILED;
	}
	}
}

int nd_tls_handshake(nd_tls_t *t)
{
	ERR_clear_error();
	int rc = SSL_do_handshake(t->ssl);
	if (rc == 1)
		return 0;
	int r = result(t, rc);
	return r == ND_TLS_CLOSED ? ND_TLS_FAILED : r;
}

ssize_t nd_tls_read(nd_tls_t *t, void *buf, size_t cap)
{
	ERR_clear_error();
	int rc = SSL_read(t->ssl, buf, cap > INT32_MAX ? INT32_MAX : (int)cap);
	if (rc > 0)
		return rc;
	return result(t, rc);
}

int nd_tls_read_each(nd_tls_t *t, char *buf, size_t cap, size_t budget,
		     bool (*fn)(void *ctx, const char *p, size_t n), void *ctx)
{
	for (;;) {
		ssize_t n = nd_tls_read(t, buf, cap);
		if (n > 0) {
			if (!fn(ctx, buf, (size_t)n))
				return 1;
			budget = (size_t)n >= budget ? 0 : budget - (size_t)n;
			if (budget == 0 && !nd_tls_has_pending(t))
				return 0;
			continue;
		}
		return n == ND_TLS_WANT_READ ? 0 : (int)n;
	}
}

bool nd_tls_has_pending(nd_tls_t *t)
{
	return SSL_pending(t->ssl) > 0;
}

ssize_t nd_tls_write(nd_tls_t *t, const void *buf, size_t n)
{
	ERR_clear_error();
	int rc = SSL_write(t->ssl, buf, n > INT32_MAX ? INT32_MAX : (int)n);
	if (rc > 0)
		return rc;
	int r = result(t, rc);
	return r == ND_TLS_CLOSED ? ND_TLS_FAILED : r;
}

ssize_t nd_tls_write_outbuf(nd_tls_t *t, struct nd_outbuf *ob, int *want_events)
{
	ssize_t total = 0;
	*want_events = 0;
	for (;;) {
		size_t len;
		const char *p = nd_outbuf_front(ob, &len);
		if (p == NULL)
			return total;
		ssize_t w = nd_tls_write(t, p, len);
		if (w > 0) {
			nd_outbuf_consume(ob, (size_t)w);
			total += w;
			continue;
		}
		if (w == ND_TLS_WANT_WRITE || w == ND_TLS_WANT_READ) {
			*want_events = w == ND_TLS_WANT_WRITE ? ND_IO_WRITE : ND_IO_READ;
			return total > 0 ? total : w;
		}
		return ND_TLS_FAILED;
	}
}

void nd_tls_set_peer_name(nd_tls_t *t, const char *host)
{
	X509_VERIFY_PARAM *vp = SSL_get0_param(t->ssl);
	if (X509_VERIFY_PARAM_set1_ip_asc(vp, host) == 1)
		return; /* an address: checked against the certificate's IP SANs */
	char name[256]; /* the SNI macro takes a non-const pointer */
	snprintf(name, sizeof(name), "%s", host);
	SSL_set_tlsext_host_name(t->ssl, name);
	SSL_set1_host(t->ssl, host);
}

const char *nd_tls_error(const nd_tls_t *t)
{
	return t->err[0] ? t->err : "TLS error";
}

bool nd_tls_failed_on_plain_text(const nd_tls_t *t)
{
	return t->plain_text;
}

const char *nd_tls_version(const nd_tls_t *t)
{
	switch (SSL_version(t->ssl)) {
	case TLS1_3_VERSION:
		return "1.3";
	case TLS1_2_VERSION:
		return "1.2";
	case TLS1_1_VERSION:
		return "1.1";
	default:
		return "1.0";
	}
}

const char *nd_tls_cipher(const nd_tls_t *t)
{
	const SSL_CIPHER *c = SSL_get_current_cipher(t->ssl);
	const char *n = c != NULL ? SSL_CIPHER_standard_name(c) : NULL;
	if (n == NULL)
		return "";
	/* Go's names for the two ChaCha suites drop the hash. */
	if (strcmp(n, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256") == 0)
		return "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305";
	if (strcmp(n, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256") == 0)
		return "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305";
	return n;
}

static char *subject_rfc2253(X509 *cert);

bool nd_tls_peer_identities(const nd_tls_t *t, bool (*fn)(void *ctx, const char *id), void *ctx)
{
	X509 *cert = SSL_get1_peer_certificate(t->ssl);
	if (cert == NULL)
		return false;
	bool found = false;
	GENERAL_NAMES *sans = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	/* E-mail addresses first, then DNS names, then URIs, as the reference tries them. */
	for (int pass = 0; pass < 3 && !found && sans != NULL; pass++) {
		int want = pass == 0 ? GEN_EMAIL : pass == 1 ? GEN_DNS : GEN_URI;
		for (int i = 0; i < sk_GENERAL_NAME_num(sans) && !found; i++) {
			const GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, i);
			if (g->type != want)
				continue;
			const ASN1_IA5STRING *s = g->d.ia5;
			char *v = strndup((const char *)ASN1_STRING_get0_data(s),
					  (size_t)ASN1_STRING_length(s));
			found = v != NULL && fn(ctx, v);
			free(v);
		}
	}
	GENERAL_NAMES_free(sans);
	if (!found) {
		char *dn = subject_rfc2253(cert);
		found = dn != NULL && fn(ctx, dn);
		free(dn);
	}
	X509_free(cert);
	return found;
}

static void sha256_hex(const unsigned char *p, size_t n, char out[65])
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL);
	for (unsigned i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static bool spki_hex(X509 *cert, char out[65])
{
	unsigned char *der = NULL;
	int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
	if (n <= 0)
		return false;
	sha256_hex(der, (size_t)n, out);
	OPENSSL_free(der);
	return true;
}

static char *subject_rfc2253(X509 *cert)
{
	BIO *b = BIO_new(BIO_s_mem());
	X509_NAME_print_ex(b, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
	char *p;
	long n = BIO_get_mem_data(b, &p);
	char *dn = strndup(p, (size_t)n);
	BIO_free(b);
	return dn;
}

/* One RDN as "TYPE=value" (type upper-cased: DN attribute types are case-insensitive). */
static void rdn_text(const char *type, const char *value, size_t vlen, char *out, size_t cap)
{
	size_t k = 0;
	for (; type[k] != '\0' && k + 1 < cap; k++)
		out[k] = (char)toupper((unsigned char)type[k]);
	snprintf(out + k, cap - k, "=%.*s", (int)vlen, value);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Splits an RFC 2253 DN ("CN=bob, O=Acme") into sorted "TYPE=value" texts (escaped commas
 * kept). Returns the count (at most max), 0 if it is not a DN. */
static size_t dn_split(const char *dn, char out[][256], char **sorted, size_t max)
{
	size_t n = 0;
	const char *p = dn;
	while (*p != '\0' && n < max) {
		while (*p == ' ')
			p++;
		const char *start = p;
		while (*p != '\0' && *p != ',') {
			if (*p == '\\' && p[1] != '\0')
				p++;
			p++;
		}
		const char *eq = memchr(start, '=', (size_t)(p - start));
		if (eq == NULL)
			return 0;
		char type[64];
		size_t tl = (size_t)(eq - start);
		while (tl > 0 && start[tl - 1] == ' ')
			tl--;
		if (tl == 0 || tl >= sizeof(type))
			return 0;
		memcpy(type, start, tl);
		type[tl] = '\0';
		const char *v = eq + 1;
		while (*v == ' ')
			v++;
		size_t vl = (size_t)(p - v);
		while (vl > 0 && v[vl - 1] == ' ')
			vl--;
		rdn_text(type, v, vl, out[n], sizeof(out[n]));
		sorted[n] = out[n];
		n++;
		if (*p == ',')
			p++;
	}
	qsort(sorted, n, sizeof(char *), cmp_str);
	return n;
}

bool nd_tls_peer_subject_matches(const nd_tls_t *t, const char *dn)
{
	enum { MAX_RDNS = 32 };
	static _Thread_local char want[MAX_RDNS][256], have[MAX_RDNS][256];
	char *ws[MAX_RDNS], *hs[MAX_RDNS];
	size_t nw = dn_split(dn, want, ws, MAX_RDNS);
	if (nw == 0)
		return false;
	X509 *cert = SSL_get1_peer_certificate(t->ssl);
	if (cert == NULL)
		return false;
	/* The certificate's subject, one "TYPE=value" per entry, with the short type names
	 * RFC 2253 uses (CN, O, OU, C, ST, L, DC...). */
	char *text = subject_rfc2253(cert);
	size_t nh = text != NULL ? dn_split(text, have, hs, MAX_RDNS) : 0;
	free(text);
	X509_free(cert);
	if (nh != nw)
		return false;
	for (size_t i = 0; i < nw; i++)
		if (strcmp(ws[i], hs[i]) != 0)
			return false;
	return true;
}

bool nd_tls_peer_spki_sha256(const nd_tls_t *t, char out[65])
{
	X509 *cert = SSL_get1_peer_certificate(t->ssl);
	if (cert == NULL)
		return false;
	bool ok = spki_hex(cert, out);
	X509_free(cert);
	return ok;
}

void nd_tls_peer_cert_info(const nd_tls_t *t, char **subject, char spki[65], char cert_hex[65])
{
	*subject = NULL;
	spki[0] = cert_hex[0] = '\0';
	X509 *cert = SSL_get1_peer_certificate(t->ssl);
	if (cert == NULL)
		return;
	*subject = subject_rfc2253(cert);
	if (!spki_hex(cert, spki))
		spki[0] = '\0';
	unsigned char *der = NULL;
	int n = i2d_X509(cert, &der);
	if (n > 0) {
		sha256_hex(der, (size_t)n, cert_hex);
		OPENSSL_free(der);
	}
	X509_free(cert);
}
