/* Loading a tls {} block's files with libcrypto, reporting like Go's tls.LoadX509KeyPair and
 * x509.CertPool.AppendCertsFromPEM as the reference calls them (GenTLSConfig). */
#include "actors/tls_files.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

/* Go's os.ReadFile: the whole file, or its error text ("open f: no such file or directory",
 * "read f: is a directory"). */
static char *read_all(const char *path, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	const char *op = "open";
	struct stat st;
	if (f != NULL && fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(f);
		f = NULL;
		errno = EISDIR;
		op = "read";
	}
	if (f == NULL) {
		char e[128];
		snprintf(e, sizeof(e), "%s", strerror(errno));
		e[0] = (char)tolower((unsigned char)e[0]); /* Go's texts are lower case */
		snprintf(err, errlen, "%s %s: %s", op, path, e);
		return NULL;
	}
	size_t cap = 4096, n = 0, r;
	char *b = malloc(cap);
	if (b == NULL)
		abort();
	while ((r = fread(b + n, 1, cap - n, f)) > 0) {
		n += r;
		if (n == cap) {
			b = realloc(b, cap *= 2);
			if (b == NULL)
				abort();
		}
	}
	bool failed = ferror(f);
	int e = errno;
	fclose(f);
	if (failed) {
		char t[128];
		snprintf(t, sizeof(t), "%s", strerror(e));
		t[0] = (char)tolower((unsigned char)t[0]);
		snprintf(err, errlen, "read %s: %s", path, t);
		free(b);
		return NULL;
	}
	*len = n;
	return b;
}

/* One PEM block (Go's pem.Block, without headers). */
typedef struct pem_block {
	char *type;
	unsigned char *der;
	long len;
	bool has_headers;
} pem_block_t;

typedef struct pem_blocks {
	pem_block_t *v;
	size_t n;
} pem_blocks_t;

static void pem_blocks_free(pem_blocks_t *b)
{
	for (size_t i = 0; i < b->n; i++) {
		OPENSSL_free(b->v[i].type);
		OPENSSL_free(b->v[i].der);
	}
	free(b->v);
	memset(b, 0, sizeof(*b));
}

/* Every PEM block of data, in order (text around blocks skipped, as Go's pem.Decode does). */
static void pem_decode_all(const char *data, size_t len, pem_blocks_t *out)
{
	memset(out, 0, sizeof(*out));
	BIO *bio = BIO_new_mem_buf(data, (int)len);
	if (bio == NULL)
		abort();
	for (;;) {
		char *name = NULL, *header = NULL;
		unsigned char *der = NULL;
		long dlen = 0;
		if (PEM_read_bio(bio, &name, &header, &der, &dlen) != 1)
			break;
		pem_block_t *nv = realloc(out->v, (out->n + 1) * sizeof(*nv));
		if (nv == NULL)
			abort();
		out->v = nv;
		out->v[out->n++] = (pem_block_t){name, der, dlen, header != NULL && header[0]};
		OPENSSL_free(header);
	}
	ERR_clear_error(); /* the end of input is reported as an error */
	BIO_free(bio);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Go's %v of a []string: "[A B]". */
static void go_list(const pem_blocks_t *b, size_t skip_of, bool (*keep)(const pem_block_t *),
		    char *out, size_t outlen)
{
	size_t off = (size_t)snprintf(out, outlen, "[");
	bool first = true;
	for (size_t i = 0; i < b->n && i < skip_of && off < outlen; i++) {
		if (!keep(&b->v[i]))
			continue;
		off += (size_t)snprintf(out + off, outlen - off, "%s%s", first ? "" : " ",
					b->v[i].type);
		first = false;
	}
	if (off < outlen)
		snprintf(out + off, outlen - off, "]");
}

static bool not_certificate(const pem_block_t *b)
{
	return strcmp(b->type, "CERTIFICATE") != 0;
}

static bool is_private_key(const pem_block_t *b)
{
	return strcmp(b->type, "PRIVATE KEY") == 0 || ends_with(b->type, " PRIVATE KEY");
}

static bool not_private_key(const pem_block_t *b)
{
	return !is_private_key(b);
}

/* Go's tls.X509KeyPair after reading both files. Returns 0 or -1 with Go's text in err. */
static int key_pair(const char *cert_pem, size_t cert_len, const char *key_pem, size_t key_len,
		    char *err, size_t errlen)
{
	pem_blocks_t cb, kb;
	pem_decode_all(cert_pem, cert_len, &cb);
	pem_decode_all(key_pem, key_len, &kb);
	int rc = -1;
	X509 *x = NULL;
	EVP_PKEY *priv = NULL;
	const pem_block_t *cert = NULL, *key = NULL;
	size_t skipped = 0;
	for (size_t i = 0; i < cb.n; i++) {
		if (!not_certificate(&cb.v[i])) {
			if (cert == NULL)
				cert = &cb.v[i];
		} else {
			skipped++;
		}
	}
	if (cert == NULL) {
		char list[256];
		if (skipped == 0) {
			snprintf(err, errlen,
				 "tls: failed to find any PEM data in certificate input");
		} else if (skipped == 1 && ends_with(cb.v[0].type, "PRIVATE KEY")) {
			snprintf(
			    err, errlen,
			    "tls: failed to find certificate PEM data in certificate input, but "
			    "did find a private key; PEM inputs may have been switched");
		} else {
			go_list(&cb, cb.n, not_certificate, list, sizeof(list));
			snprintf(
			    err, errlen,
			    "tls: failed to find \"CERTIFICATE\" PEM block in certificate input "
			    "after skipping PEM blocks of the following types: %s",
			    list);
		}
		goto out;
	}
	size_t k = 0;
	for (; k < kb.n && key == NULL; k++)
		if (is_private_key(&kb.v[k]))
			key = &kb.v[k];
	if (key == NULL) {
		char list[256];
		if (kb.n == 0) {
			snprintf(err, errlen, "tls: failed to find any PEM data in key input");
		} else if (kb.n == 1 && strcmp(kb.v[0].type, "CERTIFICATE") == 0) {
			snprintf(err, errlen,
				 "tls: found a certificate rather than a key in the PEM for the "
				 "private key");
		} else {
			go_list(&kb, kb.n, not_private_key, list, sizeof(list));
			snprintf(
			    err, errlen,
			    "tls: failed to find PEM block with type ending in \"PRIVATE KEY\" "
			    "in key input after skipping PEM blocks of the following types: %s",
			    list);
		}
		goto out;
	}
	const unsigned char *p = cert->der;
	x = d2i_X509(NULL, &p, cert->len);
	if (x == NULL) {
		snprintf(err, errlen, "x509: malformed certificate");
		goto out;
	}
	p = key->der;
	priv = d2i_AutoPrivateKey(NULL, &p, key->len);
	if (priv == NULL) {
		snprintf(err, errlen, "tls: failed to parse private key");
		goto out;
	}
	EVP_PKEY *pub = X509_get0_pubkey(x);
	int pt = pub != NULL ? EVP_PKEY_get_base_id(pub) : EVP_PKEY_NONE;
	if (pt != EVP_PKEY_RSA && pt != EVP_PKEY_EC && pt != EVP_PKEY_ED25519) {
		snprintf(err, errlen, "tls: unknown public key algorithm");
		goto out;
	}
	if (EVP_PKEY_get_base_id(priv) != pt) {
		snprintf(err, errlen, "tls: private key type does not match public key type");
		goto out;
	}
	if (EVP_PKEY_eq(pub, priv) != 1) {
		snprintf(err, errlen, "tls: private key does not match public key");
		goto out;
	}
	rc = 0;
out:
	ERR_clear_error();
	X509_free(x);
	EVP_PKEY_free(priv);
	pem_blocks_free(&cb);
	pem_blocks_free(&kb);
	return rc;
}

/* Go's CertPool.AppendCertsFromPEM: true if at least one certificate was added. */
static bool append_certs(const char *pem, size_t len)
{
	pem_blocks_t b;
	pem_decode_all(pem, len, &b);
	bool ok = false;
	for (size_t i = 0; i < b.n && !ok; i++) {
		if (strcmp(b.v[i].type, "CERTIFICATE") != 0 || b.v[i].has_headers)
			continue;
		const unsigned char *p = b.v[i].der;
		X509 *x = d2i_X509(NULL, &p, b.v[i].len);
		ok = x != NULL;
		X509_free(x);
	}
	ERR_clear_error();
	pem_blocks_free(&b);
	return ok;
}

static bool empty(const char *s)
{
	return s == NULL || s[0] == '\0';
}

int nd_tls_check_files(const nd_tls_opts_t *t, char *err, size_t errlen)
{
	if (!empty(t->cert_file) && empty(t->key_file)) {
		snprintf(err, errlen, "missing 'key_file' in TLS configuration");
		return -1;
	}
	if (empty(t->cert_file) && !empty(t->key_file)) {
		snprintf(err, errlen, "missing 'cert_file' in TLS configuration");
		return -1;
	}
	char why[512];
	if (!empty(t->cert_file)) {
		size_t cl = 0, kl = 0;
		char *c = read_all(t->cert_file, &cl, why, sizeof(why)), *k = NULL;
		if (c != NULL)
			k = read_all(t->key_file, &kl, why, sizeof(why));
		int rc = c != NULL && k != NULL ? key_pair(c, cl, k, kl, why, sizeof(why)) : -1;
		free(c);
		free(k);
		if (rc != 0) {
			snprintf(err, errlen, "error parsing X509 certificate/key pair: %s", why);
			return -1;
		}
	}
	if (!empty(t->ca_file)) {
		size_t len = 0;
		char *pem = read_all(t->ca_file, &len, why, sizeof(why));
		if (pem == NULL) {
			snprintf(err, errlen, "%s",
				 why); /* the reference returns os.ReadFile's error */
			return -1;
		}
		bool ok = append_certs(pem, len);
		free(pem);
		if (!ok) {
			snprintf(err, errlen, "failed to parse root ca certificate");
			return -1;
		}
	}
	return 0;
}
