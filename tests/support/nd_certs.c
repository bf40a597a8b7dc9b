/* Test certificates made with the openssl command (see nd_certs.h). */
#define _GNU_SOURCE
#include "tests/support/nd_certs.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define ND_CERTS_PREFIX "nd-certs-"
#define ND_CERTS_CMD_TIMEOUT_MS 30000

/* One leaf certificate: file stem, subject, extension section, CA (false: ca, true: wrong_ca). */
typedef struct leaf {
	const char *stem, *subject, *section;
	bool wrong_ca, expired;
} leaf_t;

static const leaf_t leaves[] = {
    {"server", "/O=Test/CN=localhost", "server", false, false},
    {"alice", "/O=Test/CN=alice", "client_alice", false, false},
    {"bob", "/O=Test/CN=bob", "client", false, false},
    {"carol", "/O=Test/CN=carol", "client", false, false},
    {"expired", "/O=Test/CN=expired", "client", false, true},
    {"wrong_client", "/O=Wrong/CN=mallory", "client", true, false},
    {"wrong_server", "/O=Wrong/CN=localhost", "server", true, false},
    {"wrong_host", "/O=Test/CN=example.com", "wrong_host", false, false},
};

static const char cnf_text[] =
    "[req]\n"
    "distinguished_name = req_dn\n"
    "[req_dn]\n"
    "[v3_ca]\n"
    "basicConstraints = critical,CA:TRUE\n"
    "keyUsage = critical,keyCertSign,cRLSign\n"
    "subjectKeyIdentifier = hash\n"
    "[server]\n"
    "basicConstraints = critical,CA:FALSE\n"
    "keyUsage = critical,digitalSignature\n"
    "extendedKeyUsage = serverAuth\n"
    "subjectAltName = DNS:localhost,IP:127.0.0.1\n"
    "[wrong_host]\n"
    "basicConstraints = critical,CA:FALSE\n"
    "keyUsage = critical,digitalSignature\n"
    "extendedKeyUsage = serverAuth\n"
    "subjectAltName = DNS:example.com\n"
    "[client]\n"
    "basicConstraints = critical,CA:FALSE\n"
    "keyUsage = critical,digitalSignature\n"
    "extendedKeyUsage = clientAuth\n"
    "[client_alice]\n"
    "basicConstraints = critical,CA:FALSE\n"
    "keyUsage = critical,digitalSignature\n"
    "extendedKeyUsage = clientAuth\n"
    "subjectAltName = email:alice@example.com\n"
    /* `openssl ca`, used only for the expired cert (x509 -req cannot back-date in 3.0). */
    "[ca]\n"
    "default_ca = ca_default\n"
    "[ca_default]\n"
    "database = ${ENV::ND_CERTS_DIR}/index.txt\n"
    "new_certs_dir = ${ENV::ND_CERTS_DIR}\n"
    "serial = ${ENV::ND_CERTS_DIR}/serial\n"
    "default_md = sha256\n"
    "policy = policy_any\n"
    "unique_subject = no\n"
    "email_in_dn = no\n"
    "copy_extensions = none\n"
    "[policy_any]\n"
    "commonName = supplied\n"
    "organizationName = optional\n";

static void join(char *out, const char *dir, const char *name)
{
	snprintf(out, ND_CERTS_PATH_MAX, "%s/%s", dir, name);
}

static void fill_paths(nd_certs_t *c, const char *dir)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->dir, sizeof(c->dir), "%s", dir);
	join(c->ca, dir, "ca.pem");
	join(c->ca_key, dir, "ca.key");
	join(c->server_cert, dir, "server.pem");
	join(c->server_key, dir, "server.key");
	join(c->alice_cert, dir, "alice.pem");
	join(c->alice_key, dir, "alice.key");
	join(c->bob_cert, dir, "bob.pem");
	join(c->bob_key, dir, "bob.key");
	join(c->carol_cert, dir, "carol.pem");
	join(c->carol_key, dir, "carol.key");
	join(c->expired_cert, dir, "expired.pem");
	join(c->expired_key, dir, "expired.key");
	join(c->wrong_ca, dir, "wrong_ca.pem");
	join(c->wrong_ca_key, dir, "wrong_ca.key");
	join(c->wrong_client_cert, dir, "wrong_client.pem");
	join(c->wrong_client_key, dir, "wrong_client.key");
	join(c->wrong_server_cert, dir, "wrong_server.pem");
	join(c->wrong_server_key, dir, "wrong_server.key");
	join(c->wrong_host_cert, dir, "wrong_host.pem");
	join(c->wrong_host_key, dir, "wrong_host.key");
}

static void dump_file(const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return;
	char line[512];
	while (fgets(line, sizeof(line), f) != NULL)
		fputs(line, stderr);
	fclose(f);
}

/* Runs openssl with args (NULL-terminated, without argv[0]); its output goes to dir/openssl.log.
 * Returns 0 if it exited 0 within the timeout. */
static int run_openssl(const char *dir, const char *const *args)
{
	const char *argv[40];
	int n = 0;
	argv[n++] = "openssl";
	for (int i = 0; args[i] != NULL && n < 39; i++)
		argv[n++] = args[i];
	argv[n] = NULL;

	char log[ND_CERTS_PATH_MAX];
	join(log, dir, "openssl.log");
	int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, fd, 1);
	posix_spawn_file_actions_adddup2(&fa, fd, 2);
	pid_t pid;
	/* posix_spawnp does not write argv; its prototype predates const. */
	int err = posix_spawnp(&pid, "openssl", &fa, NULL, (char *const *)(uintptr_t)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fd);
	if (err != 0) {
		fprintf(stderr, "nd_certs: cannot run openssl: %s\n", strerror(err));
		return -1;
	}
	int status = 0;
	struct timespec tick = {0, 1000000};
	for (int waited = 0;; waited++) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR)
			return -1;
		if (waited >= ND_CERTS_CMD_TIMEOUT_MS) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			fprintf(stderr, "nd_certs: openssl %s timed out\n", args[0]);
			return -1;
		}
		nanosleep(&tick, NULL);
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	fprintf(stderr, "nd_certs: openssl failed (status 0x%x):", status);
	for (int i = 0; argv[i] != NULL; i++)
		fprintf(stderr, " %s", argv[i]);
	fputc('\n', stderr);
	dump_file(log);
	return -1;
}

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (f == NULL)
		return -1;
	int bad = fputs(text, f) < 0;
	return (fclose(f) != 0 || bad) ? -1 : 0;
}

/* A self-signed CA at stem.pem / stem.key. */
static int make_ca(const char *dir, const char *cnf, const char *stem, const char *subject)
{
	char cert[ND_CERTS_PATH_MAX], key[ND_CERTS_PATH_MAX];
	snprintf(cert, sizeof(cert), "%s/%s.pem", dir, stem);
	snprintf(key, sizeof(key), "%s/%s.key", dir, stem);
	const char *args[] = {"req",
			      "-x509",
			      "-new",
			      "-newkey",
			      "ec",
			      "-pkeyopt",
			      "ec_paramgen_curve:P-256",
			      "-nodes",
			      "-keyout",
			      key,
			      "-out",
			      cert,
			      "-subj",
			      subject,
			      "-days",
			      "3650",
			      "-config",
			      cnf,
			      "-extensions",
			      "v3_ca",
			      NULL};
	return run_openssl(dir, args);
}

static int make_leaf(const char *dir, const char *cnf, const leaf_t *l, int serial)
{
	char cert[ND_CERTS_PATH_MAX], key[ND_CERTS_PATH_MAX], csr[ND_CERTS_PATH_MAX];
	char ca[ND_CERTS_PATH_MAX], ca_key[ND_CERTS_PATH_MAX], serial_s[16];
	snprintf(cert, sizeof(cert), "%s/%s.pem", dir, l->stem);
	snprintf(key, sizeof(key), "%s/%s.key", dir, l->stem);
	snprintf(csr, sizeof(csr), "%s/%s.csr", dir, l->stem);
	join(ca, dir, l->wrong_ca ? "wrong_ca.pem" : "ca.pem");
	join(ca_key, dir, l->wrong_ca ? "wrong_ca.key" : "ca.key");
	snprintf(serial_s, sizeof(serial_s), "%d", serial);

	const char *req[] = {
	    "req",      "-new",    "-newkey", "ec",   "-pkeyopt", "ec_paramgen_curve:P-256",
	    "-nodes",   "-keyout", key,       "-out", csr,        "-subj",
	    l->subject, "-config", cnf,       NULL};
	if (run_openssl(dir, req) != 0)
		return -1;
	if (l->expired) {
		const char *ca_args[] = {"ca",          "-batch",
					 "-config",     cnf,
					 "-cert",       ca,
					 "-keyfile",    ca_key,
					 "-in",         csr,
					 "-out",        cert,
					 "-startdate",  "20200101000000Z",
					 "-enddate",    "20200201000000Z",
					 "-extfile",    cnf,
					 "-extensions", l->section,
					 "-notext",     "-preserveDN",
					 "-md",         "sha256",
					 NULL};
		return run_openssl(dir, ca_args);
	}
	const char *sign[] = {"x509",     "-req",   "-in",      csr,           "-CA",
			      ca,         "-CAkey", ca_key,     "-set_serial", serial_s,
			      "-days",    "3650",   "-extfile", cnf,           "-extensions",
			      l->section, "-out",   cert,       NULL};
	return run_openssl(dir, sign);
}

int nd_certs_create(nd_certs_t *c)
{
	const char *tmp = getenv("TMPDIR");
	char dir[ND_CERTS_PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/" ND_CERTS_PREFIX "XXXXXX",
		 (tmp != NULL && *tmp != '\0') ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		fprintf(stderr, "nd_certs: mkdtemp %s: %s\n", dir, strerror(errno));
		return -1;
	}
	fill_paths(c, dir);

	char cnf[ND_CERTS_PATH_MAX], index[ND_CERTS_PATH_MAX], serial[ND_CERTS_PATH_MAX];
	join(cnf, dir, "openssl.cnf");
	join(index, dir, "index.txt");
	join(serial, dir, "serial");
	/* The `openssl ca` paths come from the environment, so the config needs no quoting. */
	setenv("ND_CERTS_DIR", dir, 1);
	int rc = 0;
	if (write_file(cnf, cnf_text) != 0 || write_file(index, "") != 0 ||
	    write_file(serial, "1000\n") != 0)
		rc = -1;
	if (rc == 0)
		rc = make_ca(dir, cnf, "ca", "/O=Test/CN=natsd test CA");
	if (rc == 0)
		rc = make_ca(dir, cnf, "wrong_ca", "/O=Wrong/CN=wrong test CA");
	for (size_t i = 0; rc == 0 && i < sizeof(leaves) / sizeof(leaves[0]); i++)
		rc = make_leaf(dir, cnf, &leaves[i], 100 + (int)i);
	unsetenv("ND_CERTS_DIR");
	if (rc != 0) {
		nd_certs_remove(c);
		return -1;
	}
	return nd_certs_open(c, dir);
}

int nd_certs_open(nd_certs_t *c, const char *dir)
{
	if (dir == NULL || *dir == '\0')
		return -1;
	fill_paths(c, dir);
	const char *files[] = {c->ca,
			       c->ca_key,
			       c->server_cert,
			       c->server_key,
			       c->alice_cert,
			       c->alice_key,
			       c->bob_cert,
			       c->bob_key,
			       c->carol_cert,
			       c->carol_key,
			       c->expired_cert,
			       c->expired_key,
			       c->wrong_ca,
			       c->wrong_ca_key,
			       c->wrong_client_cert,
			       c->wrong_client_key,
			       c->wrong_server_cert,
			       c->wrong_server_key,
			       c->wrong_host_cert,
			       c->wrong_host_key};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (access(files[i], R_OK) != 0)
			return -1;
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

void nd_certs_remove(nd_certs_t *c)
{
	const char *base = strrchr(c->dir, '/');
	base = base != NULL ? base + 1 : c->dir;
	/* Only ever a directory nd_certs_create named. */
	if (strncmp(base, ND_CERTS_PREFIX, strlen(ND_CERTS_PREFIX)) != 0)
		return;
	nftw(c->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	c->dir[0] = '\0';
}

bool nd_certs_spki_sha256(const char *cert, char out[65])
{
	FILE *f = fopen(cert, "r");
	if (f == NULL)
		return false;
	X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x == NULL)
		return false;
	unsigned char *der = NULL;
	int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
	X509_free(x);
	if (len <= 0)
		return false;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	bool ok = EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha256(), NULL) == 1 && mdlen == 32;
	OPENSSL_free(der);
	for (unsigned i = 0; ok && i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return ok;
}
