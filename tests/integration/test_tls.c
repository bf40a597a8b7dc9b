/* TLS on the client port, differential: every scenario is a function of the server kind, run
 * against Debian's nats-server (the reference) and against natsd. Certificates are made once per
 * run with the openssl command (tests/support/nd_certs.h) in the runner process, before the tests
 * are forked; each test writes its own configuration file next to them. Clients are the official C
 * client (libnats), raw TCP sockets, and raw TLS sockets (OpenSSL) where the bytes matter. */
#define _GNU_SOURCE
#include <criterion/hooks.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <nats/nats.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "tests/support/nd_certs.h"
#include "tests/support/nd_servers.h"
#include "tests/support/nd_test.h"

#define CERTS_ENV "ND_TLS_TEST_CERTS"

/* ---- certificates: made once in the runner, shared with every test through the environment */

static nd_certs_t runner_certs;

ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
	(void)set;
	if (nd_certs_create(&runner_certs) == 0)
		setenv(CERTS_ENV, runner_certs.dir, 1);
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
	(void)stats;
	if (runner_certs.dir[0] != '\0')
		nd_certs_remove(&runner_certs);
}

/* ---- per-test state */

typedef struct tls_server {
	nd_test_server_t srv;
	nd_server_kind_t kind;
	int http_port;
	bool running;
	char conf[ND_CERTS_PATH_MAX + 32];
} tls_server_t;

#define MAX_SERVERS 4

static nd_certs_t certs;
static bool own_certs; /* made by this test process (no runner hook): removed in teardown */
static tls_server_t servers[MAX_SERVERS];
static int nservers;

static void stop_server(tls_server_t *s);

static void setup(void)
{
	signal(SIGPIPE, SIG_IGN);
	if (nd_certs_open(&certs, getenv(CERTS_ENV)) != 0) {
		cr_assert_eq(nd_certs_create(&certs), 0, "cannot make the test certificates");
		own_certs = true;
	}
}

static void teardown(void)
{
	/* No nats_CloseAndWait: after libnats 3.4.1 has made TLS connections, it leaves OpenSSL
	 * state that OpenSSL's exit handler then frees again (an intermittent SIGSEGV in
	 * OPENSSL_cleanup at exit). Every test destroys its connections; the process ends here. */
	for (int i = 0; i < nservers; i++) {
		if (servers[i].running)
			stop_server(&servers[i]);
		unlink(servers[i].conf);
	}
	nservers = 0;
	if (own_certs)
		nd_certs_remove(&certs);
}

TestSuite(tls, .init = setup, .fini = teardown, .timeout = 60);

static const char *kind_name(nd_server_kind_t kind)
{
	return kind == ND_SERVER_NATSD ? "natsd" : "nats-server";
}

/* What a client that does not start TLS gets after the INFO before the close: nothing from
 * the reference (its -ERR is lost in the close), the -ERR itself from natsd
 * (docs/compatibility.md). */
static size_t after_info_bytes(nd_server_kind_t kind)
{
	return kind == ND_SERVER_NATSD ? strlen("-ERR 'Secure Connection - TLS Required'\r\n") : 0;
}

static void need_server(nd_server_kind_t kind)
{
	if (kind == ND_SERVER_NATSD)
		return;
	if (!nd_reference_available()) {
		cr_assert(getenv("CI") == NULL,
			  "nats-server is not installed (CI must install it)");
		cr_skip_test("nats-server is not installed");
	}
}

/* One scenario, run against both kinds of server. */
#define TLS_SCENARIO(name)                                                                         \
	static void name(nd_server_kind_t kind);                                                   \
	ND_TEST(tls, name##_reference)                                                             \
	{                                                                                          \
		need_server(ND_SERVER_REFERENCE);                                                  \
		name(ND_SERVER_REFERENCE);                                                         \
	}                                                                                          \
	ND_TEST(tls, name##_natsd)                                                                 \
	{                                                                                          \
		need_server(ND_SERVER_NATSD);                                                      \
		name(ND_SERVER_NATSD);                                                             \
	}                                                                                          \
	static void name(nd_server_kind_t kind)

/* The monitoring port a server logged ("Starting http monitor on HOST:PORT"). */
static int logged_http_port(nd_test_server_t *srv)
{
	cr_assert(nd_proc_wait_output(&srv->proc, "Starting http monitor on ", 5000), "%s",
		  srv->proc.log);
	const char *p = strstr(srv->proc.log, "Starting http monitor on ");
	const char *eol = strchr(p, '\n');
	const char *colon = eol != NULL ? eol : p + strlen(p);
	while (colon > p && *colon != ':')
		colon--;
	return atoi(colon + 1);
}

/* Starts a server on 127.0.0.1 (random client and monitoring ports) with a configuration file
 * made from fmt. The file always begins with `host: 127.0.0.1`. */
static tls_server_t *start_server(nd_server_kind_t kind, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static tls_server_t *start_server(nd_server_kind_t kind, const char *fmt, ...)
{
	cr_assert_lt(nservers, MAX_SERVERS);
	tls_server_t *s = &servers[nservers++];
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	snprintf(s->conf, sizeof(s->conf), "%s/tls-%d-%d.conf", certs.dir, (int)getpid(), nservers);
	FILE *f = fopen(s->conf, "w");
	cr_assert_not_null(f, "%s: %s", s->conf, strerror(errno));
	fputs("host: 127.0.0.1\n", f);
	va_list ap;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
	const char *extra[] = {"-c", s->conf, "-m", "-1", NULL};
	cr_assert_eq(nd_test_server_start(&s->srv, kind, extra), 0, "%s did not start: %s",
		     kind_name(kind), s->srv.proc.log);
	s->running = true;
	s->http_port = logged_http_port(&s->srv);
	return s;
}

static void stop_server(tls_server_t *s)
{
	if (!s->running)
		return;
	int code = nd_test_server_stop(&s->srv);
	s->running = false;
	/* nats-server 2.9.10 exits 1 after a SIGTERM shutdown; natsd exits 0. */
	if (s->kind == ND_SERVER_NATSD)
		cr_expect_eq(code, 0, "natsd exited %d: %s", code, s->srv.proc.log);
}

/* `tls { cert_file key_file <more> }` with the good server cert. */
static const char *tls_block(char *buf, size_t n, const char *more)
{
	snprintf(buf, n, "tls {\n  cert_file: \"%s\"\n  key_file: \"%s\"\n%s}\n", certs.server_cert,
		 certs.server_key, more);
	return buf;
}

/* ---- libnats clients */

typedef struct client_cfg {
	bool secure;          /* tls:// URL and natsOptions_SetSecure */
	const char *ca;       /* trusted CA file, or NULL */
	const char *cert;     /* client certificate chain, or NULL */
	const char *key;      /* its key */
	const char *hostname; /* natsOptions_SetExpectedHostname, or NULL */
	const char *name;     /* connection name, or NULL */
} client_cfg_t;

static natsStatus client_connect(natsConnection **nc, int port, const client_cfg_t *c)
{
	natsOptions *o = NULL;
	char url[96];
	snprintf(url, sizeof(url), "%s://127.0.0.1:%d", c->secure ? "tls" : "nats", port);
	cr_assert_eq(natsOptions_Create(&o), NATS_OK);
	cr_assert_eq(natsOptions_SetURL(o, url), NATS_OK);
	cr_assert_eq(natsOptions_SetAllowReconnect(o, false), NATS_OK);
	cr_assert_eq(natsOptions_SetTimeout(o, 3000), NATS_OK);
	if (c->secure)
		cr_assert_eq(natsOptions_SetSecure(o, true), NATS_OK);
	if (c->ca != NULL)
		cr_assert_eq(natsOptions_LoadCATrustedCertificates(o, c->ca), NATS_OK, "%s",
			     nats_GetLastError(NULL));
	if (c->cert != NULL)
		cr_assert_eq(natsOptions_LoadCertificatesChain(o, c->cert, c->key), NATS_OK, "%s",
			     nats_GetLastError(NULL));
	if (c->hostname != NULL)
		cr_assert_eq(natsOptions_SetExpectedHostname(o, c->hostname), NATS_OK);
	if (c->name != NULL)
		cr_assert_eq(natsOptions_SetName(o, c->name), NATS_OK);
	*nc = NULL;
	natsStatus s = natsConnection_Connect(nc, o);
	natsOptions_Destroy(o);
	return s;
}

/* Connects and fails the test unless it worked. */
static natsConnection *must_connect(int port, const client_cfg_t *c, const char *what)
{
	natsConnection *nc = NULL;
	natsStatus s = client_connect(&nc, port, c);
	cr_assert_eq(s, NATS_OK, "%s: connect failed: %s (%s)", what, natsStatus_GetText(s),
		     nats_GetLastError(NULL));
	return nc;
}

/* Connects and fails the test if it worked. Returns the status. */
static natsStatus must_not_connect(int port, const client_cfg_t *c, const char *what)
{
	natsConnection *nc = NULL;
	natsStatus s = client_connect(&nc, port, c);
	if (s == NATS_OK)
		natsConnection_Destroy(nc);
	cr_assert_neq(s, NATS_OK, "%s: the connection was accepted", what);
	cr_log_info("%s: refused with %s (%s)", what, natsStatus_GetText(s),
		    nats_GetLastError(NULL));
	return s;
}

static void responder(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
	(void)sub;
	(void)closure;
	if (natsMsg_GetReply(msg) != NULL)
		natsConnection_PublishString(nc, natsMsg_GetReply(msg), "pong");
	natsMsg_Destroy(msg);
}

/* Publish/subscribe and request/reply over nc (which may publish anywhere). */
static void roundtrip(natsConnection *nc, const char *what)
{
	natsSubscription *sub = NULL, *svc = NULL;
	natsMsg *m = NULL;
	cr_assert_eq(natsConnection_SubscribeSync(&sub, nc, "tls.test"), NATS_OK, "%s", what);
	cr_assert_eq(natsConnection_Subscribe(&svc, nc, "tls.svc", responder, NULL), NATS_OK);
	cr_assert_eq(natsConnection_PublishString(nc, "tls.test", "hello"), NATS_OK, "%s", what);
	cr_assert_eq(natsSubscription_NextMsg(&m, sub, 3000), NATS_OK, "%s: no message", what);
	cr_assert_str_eq(natsMsg_GetData(m), "hello");
	natsMsg_Destroy(m);
	m = NULL;
	cr_assert_eq(natsConnection_RequestString(&m, nc, "tls.svc", "ping", 3000), NATS_OK,
		     "%s: no reply", what);
	cr_assert_str_eq(natsMsg_GetData(m), "pong");
	natsMsg_Destroy(m);
	natsSubscription_Destroy(sub);
	natsSubscription_Destroy(svc);
}

/* ---- raw sockets */

/* A TCP connection that has read the server's INFO line (returned in info). */
static int raw_connect_info(int port, char *info, size_t max)
{
	int fd = nd_test_connect(port);
	cr_assert_geq(fd, 0, "connect: %s", strerror(errno));
	size_t n = nd_test_read_until(fd, info, max, "\r\n", 5000);
	cr_assert(n > 0 && strncmp(info, "INFO {", 6) == 0 && strstr(info, "\r\n") != NULL,
		  "no INFO in clear: %.*s", (int)n, info);
	return fd;
}

/* Waits up to timeout_ms for EOF, counting the bytes that came first. Returns true on EOF. */
static bool wait_eof(int fd, unsigned timeout_ms, size_t *bytes, uint64_t *elapsed_ms)
{
	uint64_t t0 = nd_test_now_ns();
	uint64_t deadline = t0 + (uint64_t)timeout_ms * 1000000u;
	char buf[4096];
	*bytes = 0;
	for (;;) {
		uint64_t now = nd_test_now_ns();
		if (now >= deadline)
			break;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, (int)((deadline - now) / 1000000u) + 1) <= 0)
			continue;
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			*elapsed_ms = (nd_test_now_ns() - t0) / 1000000u;
			return true;
		}
		*bytes += (size_t)n;
	}
	*elapsed_ms = (nd_test_now_ns() - t0) / 1000000u;
	return false;
}

typedef struct raw_tls {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	bool handshake_ok;
	char info[4096];
} raw_tls_t;

static SSL_CTX *client_ctx(const char *ca, const char *cert, const char *key)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	cr_assert_not_null(ctx);
	cr_assert_eq(SSL_CTX_load_verify_locations(ctx, ca, NULL), 1);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (cert != NULL) {
		cr_assert_eq(SSL_CTX_use_certificate_chain_file(ctx, cert), 1);
		cr_assert_eq(SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM), 1);
	}
	return ctx;
}

/* TCP connect, read the INFO in clear, TLS handshake (blocking, 5 s socket timeouts). Returns
 * whether the handshake completed; t is to be closed with raw_tls_close either way. */
static bool raw_tls_open(raw_tls_t *t, int port, const char *cert, const char *key)
{
	memset(t, 0, sizeof(*t));
	t->fd = raw_connect_info(port, t->info, sizeof(t->info));
	struct timeval tv = {.tv_sec = 5};
	setsockopt(t->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(t->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	t->ctx = client_ctx(certs.ca, cert, key);
	t->ssl = SSL_new(t->ctx);
	SSL_set_fd(t->ssl, t->fd);
	t->handshake_ok = SSL_connect(t->ssl) == 1;
	ERR_clear_error();
	return t->handshake_ok;
}

static void raw_tls_write(raw_tls_t *t, const char *s)
{
	cr_assert_eq(SSL_write(t->ssl, s, (int)strlen(s)), (int)strlen(s), "SSL_write failed");
}

/* Reads until buf holds needle, EOF (*eof), or timeout. Returns bytes in buf. */
static size_t raw_tls_read_until(raw_tls_t *t, char *buf, size_t max, const char *needle,
				 unsigned timeout_ms, bool *eof)
{
	size_t got = 0;
	uint64_t deadline = nd_test_now_ns() + (uint64_t)timeout_ms * 1000000u;
	buf[0] = '\0';
	*eof = false;
	while (got + 1 < max && (needle == NULL || strstr(buf, needle) == NULL)) {
		uint64_t now = nd_test_now_ns();
		if (now >= deadline)
			break;
		if (SSL_pending(t->ssl) == 0) {
			struct pollfd p = {.fd = t->fd, .events = POLLIN};
			if (poll(&p, 1, (int)((deadline - now) / 1000000u) + 1) <= 0)
				continue;
		}
		int n = SSL_read(t->ssl, buf + got, (int)(max - 1 - got));
		if (n <= 0) {
			int err = SSL_get_error(t->ssl, n);
			ERR_clear_error();
			if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
				continue;
			*eof = true;
			break;
		}
		got += (size_t)n;
		buf[got] = '\0';
	}
	return got;
}

static void raw_tls_close(raw_tls_t *t)
{
	if (t->ssl != NULL)
		SSL_free(t->ssl);
	if (t->ctx != NULL)
		SSL_CTX_free(t->ctx);
	if (t->fd >= 0)
		close(t->fd);
	memset(t, 0, sizeof(*t));
	t->fd = -1;
}

/* ---- monitoring */

static json_t *get_json(tls_server_t *s, const char *target)
{
	int fd = nd_test_connect(s->http_port);
	cr_assert_geq(fd, 0);
	char req[512];
	int n = snprintf(req, sizeof(req),
			 "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", target);
	nd_test_write(fd, req, (size_t)n);
	size_t cap = 1 << 20;
	char *buf = malloc(cap);
	cr_assert_not_null(buf);
	bool eof = false;
	size_t got = nd_test_read_idle(fd, buf, cap - 1, 2000, &eof);
	close(fd);
	buf[got] = '\0';
	int status = 0;
	cr_assert_eq(sscanf(buf, "HTTP/1.1 %d", &status), 1, "no status line: %s", buf);
	cr_assert_eq(status, 200, "%s: %s", target, buf);
	char *body = strstr(buf, "\r\n\r\n");
	cr_assert_not_null(body);
	*body = '\0';
	body += 4;
	/* Long bodies may come chunked (one chunk), as Go sends them. */
	if (strcasestr(buf, "Transfer-Encoding: chunked") != NULL) {
		size_t len = strtoul(body, NULL, 16);
		body = strstr(body, "\r\n") + 2;
		body[len] = '\0';
	}
	json_error_t err;
	json_t *j = json_loads(body, 0, &err);
	cr_assert_not_null(j, "%s: bad JSON (%s): %s", target, err.text, body);
	free(buf);
	return j;
}

static const char *jstr(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* The /connz entry whose string field key equals value, or NULL. */
static json_t *find_conn(json_t *connz, const char *key, const char *value)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(connz, "connections"), i, c)
	{
		const char *v = jstr(c, key);
		if (v != NULL && strcmp(v, value) == 0)
			return c;
	}
	return NULL;
}

static void expect_tls_fields(json_t *conn, const char *what)
{
	const char *ver = jstr(conn, "tls_version");
	const char *suite = jstr(conn, "tls_cipher_suite");
	cr_assert(ver != NULL && (strcmp(ver, "1.2") == 0 || strcmp(ver, "1.3") == 0),
		  "%s: tls_version %s", what, ver != NULL ? ver : "(absent)");
	cr_assert(suite != NULL && strncmp(suite, "TLS_", 4) == 0, "%s: tls_cipher_suite %s", what,
		  suite != NULL ? suite : "(absent)");
}

/* ==== scenarios ==== */

/* The client verifies the server: right CA (with and without an expected hostname) works; a
 * client trusting another CA, a server cert from another CA, or a cert for another host (when
 * the client expects localhost) do not. */
TLS_SCENARIO(server_verification)
{
	char tls[2048];
	tls_server_t *s = start_server(kind, "%s", tls_block(tls, sizeof(tls), ""));
	client_cfg_t good = {.secure = true, .ca = certs.ca};
	natsConnection *nc = must_connect(s->srv.port, &good, "trusting the CA");
	roundtrip(nc, "trusting the CA");
	natsConnection_Destroy(nc);

	client_cfg_t named = {.secure = true, .ca = certs.ca, .hostname = "localhost"};
	nc = must_connect(s->srv.port, &named, "expecting localhost");
	roundtrip(nc, "expecting localhost");
	natsConnection_Destroy(nc);

	client_cfg_t wrong = {.secure = true, .ca = certs.wrong_ca};
	must_not_connect(s->srv.port, &wrong, "client trusting only the wrong CA");
	/* The server is still fine. */
	nc = must_connect(s->srv.port, &good, "after a failed handshake");
	natsConnection_Destroy(nc);
	stop_server(s);

	s = start_server(kind, "tls { cert_file: \"%s\"\n key_file: \"%s\" }\n",
			 certs.wrong_host_cert, certs.wrong_host_key);
	must_not_connect(s->srv.port, &named,
			 "server cert for example.com, client expects localhost");
	/* Without an expected hostname libnats checks the URL's IP, which this cert lacks. */
	must_not_connect(s->srv.port, &good, "server cert for example.com, client dials 127.0.0.1");
	/* Control: the cert is otherwise good, so the failures above were the name. */
	client_cfg_t example = {.secure = true, .ca = certs.ca, .hostname = "example.com"};
	nc = must_connect(s->srv.port, &example, "server cert for example.com, expected");
	natsConnection_Destroy(nc);
	stop_server(s);

	s = start_server(kind, "tls { cert_file: \"%s\"\n key_file: \"%s\" }\n",
			 certs.wrong_server_cert, certs.wrong_server_key);
	must_not_connect(s->srv.port, &good, "server cert from the wrong CA");
	stop_server(s);
}

/* A client that speaks NATS in clear to a TLS-only port: INFO says tls_required, then the
 * server closes without a word (no -ERR, no PONG) as soon as the first bytes are not TLS. */
TLS_SCENARIO(plain_client_rejected)
{
	char tls[2048];
	tls_server_t *s = start_server(kind, "%s", tls_block(tls, sizeof(tls), "  timeout: 2\n"));
	char info[4096];
	int fd = raw_connect_info(s->srv.port, info, sizeof(info));
	cr_assert_not_null(strstr(info, "\"tls_required\":true"), "%s", info);
	cr_assert_null(strstr(info, "\"tls_available\""), "%s", info);
	cr_assert_null(strstr(info, "\"tls_verify\""), "%s", info);
	nd_test_write(fd, "CONNECT {}\r\nPING\r\n", 18);
	size_t bytes = 0;
	uint64_t ms = 0;
	bool eof = wait_eof(fd, 3000, &bytes, &ms);
	close(fd);
	cr_assert(eof, "the connection stayed open");
	cr_assert_eq(bytes, after_info_bytes(kind), "%zu bytes came after the INFO", bytes);
	cr_assert_leq(ms, 2000, "closed after %llu ms (tls timeout 2 s)", (unsigned long long)ms);
	cr_log_info("%s: plain CONNECT closed after %llu ms", kind_name(kind),
		    (unsigned long long)ms);
	cr_assert(nd_proc_wait_output(&s->srv.proc, "TLS handshake error", 2000), "%s",
		  s->srv.proc.log);

	client_cfg_t plain = {.secure = false};
	must_not_connect(s->srv.port, &plain, "libnats without TLS");
}

/* verify: true with ca_file: only a valid client cert from the CA gets in. */
TLS_SCENARIO(mutual_tls)
{
	char tls[2048], more[512];
	snprintf(more, sizeof(more), "  ca_file: \"%s\"\n  verify: true\n", certs.ca);
	tls_server_t *s = start_server(kind, "%s", tls_block(tls, sizeof(tls), more));
	char info[4096];
	int fd = raw_connect_info(s->srv.port, info, sizeof(info));
	close(fd);
	cr_assert_not_null(strstr(info, "\"tls_required\":true"), "%s", info);
	cr_assert_not_null(strstr(info, "\"tls_verify\":true"), "%s", info);

	client_cfg_t alice = {
	    .secure = true, .ca = certs.ca, .cert = certs.alice_cert, .key = certs.alice_key};
	natsConnection *nc = must_connect(s->srv.port, &alice, "alice's cert");
	roundtrip(nc, "alice's cert");
	natsConnection_Destroy(nc);

	client_cfg_t none = {.secure = true, .ca = certs.ca};
	must_not_connect(s->srv.port, &none, "no client cert");
	client_cfg_t wrong = {.secure = true,
			      .ca = certs.ca,
			      .cert = certs.wrong_client_cert,
			      .key = certs.wrong_client_key};
	must_not_connect(s->srv.port, &wrong, "client cert from the wrong CA");
	client_cfg_t expired = {
	    .secure = true, .ca = certs.ca, .cert = certs.expired_cert, .key = certs.expired_key};
	must_not_connect(s->srv.port, &expired, "expired client cert");

	nc = must_connect(s->srv.port, &alice, "alice again");
	natsConnection_Destroy(nc);
}

/* verify_and_map: the cert names the user (email SAN for alice, subject DN for bob), whose
 * permissions apply; a cert naming nobody is an authorization violation. */
TLS_SCENARIO(verify_and_map)
{
	char tls[2048], more[512];
	snprintf(more, sizeof(more), "  ca_file: \"%s\"\n  verify_and_map: true\n", certs.ca);
	tls_server_t *s = start_server(
	    kind,
	    "%sauthorization {\n  users = [\n"
	    "    {user: \"alice@example.com\", permissions: {publish: \"foo\", subscribe: "
	    "\"_INBOX.>\"}}\n"
	    "    {user: \"CN=bob,O=Test\"}\n  ]\n}\n",
	    tls_block(tls, sizeof(tls), more));

	client_cfg_t alice = {.secure = true,
			      .ca = certs.ca,
			      .cert = certs.alice_cert,
			      .key = certs.alice_key,
			      .name = "alice-conn"};
	natsConnection *nc_alice = must_connect(s->srv.port, &alice, "alice (email SAN)");
	cr_assert_eq(natsConnection_FlushTimeout(nc_alice, 3000), NATS_OK);
	client_cfg_t bob = {.secure = true,
			    .ca = certs.ca,
			    .cert = certs.bob_cert,
			    .key = certs.bob_key,
			    .name = "bob-conn"};
	natsConnection *nc_bob = must_connect(s->srv.port, &bob, "bob (subject DN)");
	roundtrip(nc_bob, "bob");

	/* alice's permissions, on the wire. */
	raw_tls_t t;
	cr_assert(raw_tls_open(&t, s->srv.port, certs.alice_cert, certs.alice_key),
		  "alice: raw TLS handshake failed");
	cr_assert_not_null(strstr(t.info, "\"auth_required\":true"), "%s", t.info);
	cr_assert_not_null(strstr(t.info, "\"tls_verify\":true"), "%s", t.info);
	raw_tls_write(&t, "CONNECT {\"verbose\":false}\r\nPUB foo 2\r\nok\r\nPUB bar 2\r\nno\r\n"
			  "SUB zz 1\r\nPING\r\n");
	char buf[4096];
	bool eof;
	raw_tls_read_until(&t, buf, sizeof(buf), "PONG\r\n", 5000, &eof);
	cr_assert_not_null(strstr(buf, "-ERR 'Permissions Violation for Publish to \"bar\"'\r\n"),
			   "%s", buf);
	cr_assert_not_null(
	    strstr(buf, "-ERR 'Permissions Violation for Subscription to \"zz\"'\r\n"), "%s", buf);
	cr_assert_null(strstr(buf, "\"foo\""), "publishing to foo was refused: %s", buf);
	cr_assert_not_null(strstr(buf, "PONG\r\n"), "the connection did not stay open: %s", buf);
	raw_tls_close(&t);

	/* carol: a valid cert from the CA that maps to no user. */
	client_cfg_t carol = {
	    .secure = true, .ca = certs.ca, .cert = certs.carol_cert, .key = certs.carol_key};
	natsStatus st = must_not_connect(s->srv.port, &carol, "carol (no such user)");
	cr_assert_eq(st, NATS_CONNECTION_AUTH_FAILED, "%s", natsStatus_GetText(st));
	cr_assert(raw_tls_open(&t, s->srv.port, certs.carol_cert, certs.carol_key),
		  "carol: the handshake itself should pass");
	raw_tls_write(&t, "CONNECT {\"verbose\":false}\r\nPING\r\n");
	raw_tls_read_until(&t, buf, sizeof(buf), NULL, 3000, &eof);
	cr_assert_not_null(strstr(buf, "-ERR 'Authorization Violation'\r\n"), "%s", buf);
	cr_assert_null(strstr(buf, "PONG"), "%s", buf);
	cr_assert(eof, "carol's connection stayed open: %s", buf);
	raw_tls_close(&t);

	/* /connz?auth=1: the mapped users, and the TLS fields. */
	char alice_spki[65];
	cr_assert(nd_certs_spki_sha256(certs.alice_cert, alice_spki));
	json_t *connz = get_json(s, "/connz?auth=1");
	json_t *a = find_conn(connz, "name", "alice-conn");
	cr_assert_not_null(a, "no alice-conn in /connz");
	cr_assert_str_eq(jstr(a, "authorized_user"), "alice@example.com");
	expect_tls_fields(a, "alice");
	json_t *peer = json_array_get(json_object_get(a, "tls_peer_certs"), 0);
	cr_assert_not_null(peer, "no tls_peer_certs for alice");
	cr_assert_str_eq(jstr(peer, "subject"), "CN=alice,O=Test");
	cr_assert_str_eq(jstr(peer, "spki_sha256"), alice_spki);
	json_t *b = find_conn(connz, "name", "bob-conn");
	cr_assert_not_null(b, "no bob-conn in /connz");
	cr_assert_str_eq(jstr(b, "authorized_user"), "CN=bob,O=Test");
	expect_tls_fields(b, "bob");
	json_decref(connz);

	natsConnection_Destroy(nc_alice);
	natsConnection_Destroy(nc_bob);
}

/* A client that never completes the handshake is cut at the tls timeout (1 s), silently. */
TLS_SCENARIO(handshake_timeout)
{
	char tls[2048];
	tls_server_t *s = start_server(kind, "%s", tls_block(tls, sizeof(tls), "  timeout: 1\n"));
	char info[4096];
	int silent = raw_connect_info(s->srv.port, info, sizeof(info));
	int partial = raw_connect_info(s->srv.port, info, sizeof(info));
	nd_test_write(partial, "\x16\x03\x01\x00\xff\x01", 6);
	struct {
		int fd;
		const char *what;
		bool eof;
		size_t bytes;
		uint64_t ms;
	} c[2] = {{.fd = silent, .what = "silent"}, {.fd = partial, .what = "partial ClientHello"}};
	uint64_t t0 = nd_test_now_ns();
	/* Both at once: wait on the first, then on what is left of the window for the second. */
	for (int i = 0; i < 2; i++) {
		uint64_t spent = (nd_test_now_ns() - t0) / 1000000u;
		unsigned left = spent < 3000 ? (unsigned)(3000 - spent) : 1;
		c[i].eof = wait_eof(c[i].fd, left, &c[i].bytes, &c[i].ms);
		c[i].ms += spent;
		close(c[i].fd);
	}
	for (int i = 0; i < 2; i++) {
		cr_log_info("%s: %s client closed after %llu ms", kind_name(kind), c[i].what,
			    (unsigned long long)c[i].ms);
		cr_assert(c[i].eof, "%s: still open after 3 s", c[i].what);
		cr_assert_eq(c[i].bytes, after_info_bytes(kind), "%s: %zu bytes after the INFO",
			     c[i].what, c[i].bytes);
		cr_assert_geq(c[i].ms, 700, "%s: closed after %llu ms, before the timeout",
			      c[i].what, (unsigned long long)c[i].ms);
		cr_assert_leq(c[i].ms, 2000, "%s: closed after %llu ms (timeout 1 s)", c[i].what,
			      (unsigned long long)c[i].ms);
	}
	/* nats-server logs `TLS handshake timeout` (its timer) and/or `TLS handshake error: ...
	 * i/o timeout` (its read deadline): which of them appears is a race. */
	cr_assert(nd_proc_wait_output(&s->srv.proc, "TLS handshake", 2000), "%s", s->srv.proc.log);
	/* Still serving. */
	client_cfg_t good = {.secure = true, .ca = certs.ca};
	natsConnection *nc = must_connect(s->srv.port, &good, "after the timeouts");
	natsConnection_Destroy(nc);
}

/* allow_non_tls: TLS is offered (tls_available), plain clients are served too, including
 * one that says nothing for longer than the tls timeout. */
TLS_SCENARIO(allow_non_tls)
{
	char tls[2048];
	tls_server_t *s = start_server(kind, "%sallow_non_tls: true\n",
				       tls_block(tls, sizeof(tls), "  timeout: 0.5\n"));
	char info[4096], buf[4096];
	int fd = raw_connect_info(s->srv.port, info, sizeof(info));
	cr_assert_not_null(strstr(info, "\"tls_available\":true"), "%s", info);
	cr_assert_null(strstr(info, "\"tls_required\""), "%s", info);
	nd_test_write(fd, "CONNECT {\"verbose\":false}\r\nPING\r\n", 33);
	nd_test_read_until(fd, buf, sizeof(buf), "PONG\r\n", 3000);
	cr_assert_str_eq(buf, "PONG\r\n");
	close(fd);

	/* Quiet past the tls timeout: the server decides it is a plain client. */
	fd = raw_connect_info(s->srv.port, info, sizeof(info));
	usleep(800000);
	nd_test_write(fd, "CONNECT {\"verbose\":false}\r\nPING\r\n", 33);
	nd_test_read_until(fd, buf, sizeof(buf), "PONG\r\n", 3000);
	cr_assert_str_eq(buf, "PONG\r\n");
	close(fd);

	/* A TLS client (raw: libnats 3.4 refuses a server that only offers TLS). */
	raw_tls_t t;
	cr_assert(raw_tls_open(&t, s->srv.port, NULL, NULL),
		  "TLS handshake on a mixed port failed");
	raw_tls_write(&t, "CONNECT {\"verbose\":false,\"name\":\"tls-on-mixed\"}\r\n"
			  "SUB mixed 1\r\nPUB mixed 2\r\nhi\r\nPING\r\n");
	bool eof;
	raw_tls_read_until(&t, buf, sizeof(buf), "PONG\r\n", 3000, &eof);
	cr_assert_str_eq(buf, "MSG mixed 1 2\r\nhi\r\nPONG\r\n");
	json_t *connz = get_json(s, "/connz");
	json_t *c = find_conn(connz, "name", "tls-on-mixed");
	cr_assert_not_null(c, "no tls-on-mixed in /connz");
	expect_tls_fields(c, "TLS client on a mixed port");
	json_decref(connz);
	raw_tls_close(&t);
}

/* pinned_certs: only a cert whose SPKI hash is listed gets in, even if the CA signed others. */
TLS_SCENARIO(pinned_certs)
{
	char alice_spki[65], tls[2048], more[512];
	cr_assert(nd_certs_spki_sha256(certs.alice_cert, alice_spki));
	snprintf(more, sizeof(more),
		 "  ca_file: \"%s\"\n  verify: true\n  pinned_certs: [\"%s\"]\n", certs.ca,
		 alice_spki);
	tls_server_t *s = start_server(kind, "%s", tls_block(tls, sizeof(tls), more));
	client_cfg_t alice = {
	    .secure = true, .ca = certs.ca, .cert = certs.alice_cert, .key = certs.alice_key};
	natsConnection *nc = must_connect(s->srv.port, &alice, "pinned alice");
	roundtrip(nc, "pinned alice");
	natsConnection_Destroy(nc);
	client_cfg_t bob = {
	    .secure = true, .ca = certs.ca, .cert = certs.bob_cert, .key = certs.bob_key};
	must_not_connect(s->srv.port, &bob, "bob, not pinned");

	/* On the wire: closed without a word (at most the TLS handshake happened). */
	raw_tls_t t;
	bool hs = raw_tls_open(&t, s->srv.port, certs.bob_cert, certs.bob_key);
	char buf[4096];
	bool eof = true;
	size_t n = 0;
	if (hs) {
		SSL_write(t.ssl, "CONNECT {}\r\nPING\r\n", 18);
		n = raw_tls_read_until(&t, buf, sizeof(buf), NULL, 3000, &eof);
	}
	raw_tls_close(&t);
	cr_assert(eof, "bob's connection stayed open");
	cr_assert_eq(n, 0, "bob got %.*s", (int)n, buf);
	cr_log_info("%s: unpinned bob: handshake %s, then closed", kind_name(kind),
		    hs ? "completed" : "failed");
}

/* Monitoring: /connz shows the negotiated version and suite, /varz the port's TLS settings. */
TLS_SCENARIO(connz_and_varz)
{
	char tls[2048];
	tls_server_t *s = start_server(kind, "%s", tls_block(tls, sizeof(tls), "  timeout: 1.5\n"));
	client_cfg_t good = {.secure = true, .ca = certs.ca, .name = "tls-probe"};
	natsConnection *nc = must_connect(s->srv.port, &good, "tls-probe");
	cr_assert_eq(natsConnection_FlushTimeout(nc, 3000), NATS_OK);
	json_t *connz = get_json(s, "/connz");
	json_t *c = find_conn(connz, "name", "tls-probe");
	cr_assert_not_null(c, "no tls-probe in /connz");
	expect_tls_fields(c, "tls-probe");
	cr_log_info("%s: tls-probe negotiated TLS %s, %s", kind_name(kind), jstr(c, "tls_version"),
		    jstr(c, "tls_cipher_suite"));
	/* No client cert, no auth=1: no peer certs. */
	cr_assert_null(json_object_get(c, "tls_peer_certs"));
	json_decref(connz);

	json_t *varz = get_json(s, "/varz");
	cr_assert(json_is_true(json_object_get(varz, "tls_required")), "tls_required");
	cr_assert_null(json_object_get(varz, "tls_verify"), "tls_verify without verify");
	cr_assert_float_eq(json_number_value(json_object_get(varz, "tls_timeout")), 1.5, 1e-9);
	/* With TLS the default auth timeout is the tls timeout plus one second. */
	cr_assert_float_eq(json_number_value(json_object_get(varz, "auth_timeout")), 2.5, 1e-9);
	json_decref(varz);
	natsConnection_Destroy(nc);
}

/* ---- hostile: garbage, then a storm of concurrent handshakes */

enum { ST_CONNECT, ST_INFO, ST_HANDSHAKE, ST_PONG, ST_OK, ST_FAIL };

typedef struct storm_conn {
	int fd, state;
	short revents; /* from the last poll */
	SSL *ssl;
	bool wrote;
	size_t len;
	char buf[1024];
} storm_conn_t;

typedef struct probe {
	natsConnection *nc;
	atomic_bool stop;
	atomic_int ok, failed;
	atomic_ullong max_ms;
} probe_t;

static void *probe_main(void *arg)
{
	probe_t *p = arg;
	while (!atomic_load(&p->stop)) {
		natsMsg *m = NULL;
		uint64_t t0 = nd_test_now_ns();
		if (natsConnection_RequestString(&m, p->nc, "tls.svc", "ping", 5000) == NATS_OK) {
			atomic_fetch_add(&p->ok, 1);
			natsMsg_Destroy(m);
		} else {
			atomic_fetch_add(&p->failed, 1);
		}
		unsigned long long ms = (nd_test_now_ns() - t0) / 1000000u;
		if (ms > atomic_load(&p->max_ms))
			atomic_store(&p->max_ms, ms);
		usleep(20000);
	}
	return NULL;
}

/* Advances one connection as far as it goes without blocking. Returns the poll events it now
 * waits for (0 once finished). */
static short storm_step(storm_conn_t *c, SSL_CTX *ctx)
{
	for (;;) {
		switch (c->state) {
		case ST_CONNECT: {
			/* SO_ERROR means something only once poll said the socket is writable. */
			if (c->revents == 0)
				return POLLOUT;
			int err = 0;
			socklen_t len = sizeof(err);
			getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
			if (err != 0) {
				c->state = ST_FAIL;
				return 0;
			}
			c->state = ST_INFO;
			continue;
		}
		case ST_INFO: {
			ssize_t n = read(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				return POLLIN;
			if (n <= 0) {
				c->state = ST_FAIL;
				return 0;
			}
			c->len += (size_t)n;
			c->buf[c->len] = '\0';
			if (strstr(c->buf, "\r\n") == NULL) {
				if (c->len + 1 >= sizeof(c->buf)) {
					c->state = ST_FAIL;
					return 0;
				}
				continue;
			}
			c->ssl = SSL_new(ctx);
			SSL_set_fd(c->ssl, c->fd);
			SSL_set_connect_state(c->ssl);
			c->len = 0;
			c->buf[0] = '\0';
			c->state = ST_HANDSHAKE;
			continue;
		}
		case ST_HANDSHAKE: {
			int r = SSL_connect(c->ssl);
			if (r == 1) {
				c->state = ST_PONG;
				continue;
			}
			int e = SSL_get_error(c->ssl, r);
			ERR_clear_error();
			if (e == SSL_ERROR_WANT_READ)
				return POLLIN;
			if (e == SSL_ERROR_WANT_WRITE)
				return POLLOUT;
			c->state = ST_FAIL;
			return 0;
		}
		case ST_PONG: {
			static const char hello[] = "CONNECT {\"verbose\":false}\r\nPING\r\n";
			if (!c->wrote) {
				int r = SSL_write(c->ssl, hello, (int)sizeof(hello) - 1);
				if (r <= 0) {
					int e = SSL_get_error(c->ssl, r);
					ERR_clear_error();
					if (e == SSL_ERROR_WANT_READ)
						return POLLIN;
					if (e == SSL_ERROR_WANT_WRITE)
						return POLLOUT;
					c->state = ST_FAIL;
					return 0;
				}
				c->wrote = true;
			}
			int r =
			    SSL_read(c->ssl, c->buf + c->len, (int)(sizeof(c->buf) - 1 - c->len));
			if (r <= 0) {
				int e = SSL_get_error(c->ssl, r);
				ERR_clear_error();
				if (e == SSL_ERROR_WANT_READ)
					return POLLIN;
				if (e == SSL_ERROR_WANT_WRITE)
					return POLLOUT;
				c->state = ST_FAIL;
				return 0;
			}
			c->len += (size_t)r;
			c->buf[c->len] = '\0';
			if (strstr(c->buf, "PONG\r\n") != NULL) {
				c->state = ST_OK;
				return 0;
			}
			if (c->len + 1 >= sizeof(c->buf)) {
				c->state = ST_FAIL;
				return 0;
			}
			continue;
		}
		default:
			return 0;
		}
	}
}

#define STORM_CONNS 1000
#define STORM_DEADLINE_MS 30000

TLS_SCENARIO(garbage_and_storm)
{
	/* Room for the storm's sockets, here and in the server (it inherits the limit). */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	cr_assert(getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur >= STORM_CONNS + 200,
		  "open files limit %llu is too low", (unsigned long long)rl.rlim_cur);
	char tls[2048];
	tls_server_t *s = start_server(kind, "%s", tls_block(tls, sizeof(tls), "  timeout: 2\n"));
	client_cfg_t good = {.secure = true, .ca = certs.ca, .name = "steady"};
	natsConnection *nc = must_connect(s->srv.port, &good, "steady client");
	natsSubscription *svc = NULL;
	cr_assert_eq(natsConnection_Subscribe(&svc, nc, "tls.svc", responder, NULL), NATS_OK);
	cr_assert_eq(natsConnection_FlushTimeout(nc, 3000), NATS_OK);

	/* Garbage instead of a ClientHello: an HTTP request, binary noise, a bogus record. */
	static const char http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	unsigned char noise[256];
	for (int i = 0; i < 256; i++)
		noise[i] = (unsigned char)(i * 167 + 13);
	static const unsigned char bad_record[] = {0x16, 0x03, 0x01, 0x00, 0x04,
						   0x01, 0x00, 0x00, 0x00};
	struct {
		const void *p;
		size_t n;
		const char *what;
	} junk[] = {{http, sizeof(http) - 1, "HTTP request"},
		    {noise, sizeof(noise), "binary noise"},
		    {bad_record, sizeof(bad_record), "empty ClientHello record"}};
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		char info[4096];
		int fd = raw_connect_info(s->srv.port, info, sizeof(info));
		nd_test_write(fd, junk[i].p, junk[i].n);
		size_t bytes = 0;
		uint64_t ms = 0;
		bool eof = wait_eof(fd, 3000, &bytes, &ms);
		close(fd);
		cr_assert(eof, "%s: the connection stayed open", junk[i].what);
		cr_log_info("%s: %s: closed after %llu ms, %zu bytes back (a TLS alert at most)",
			    kind_name(kind), junk[i].what, (unsigned long long)ms, bytes);
		cr_assert_lt(bytes, 64, "%s: %zu bytes back", junk[i].what, bytes);
	}
	roundtrip(nc, "after the garbage");

	/* The storm, with the steady client making requests all along. */
	probe_t probe = {.nc = nc};
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, probe_main, &probe), 0);
	SSL_CTX *ctx = client_ctx(certs.ca, NULL, NULL);
	storm_conn_t *conns = calloc(STORM_CONNS, sizeof(*conns));
	struct pollfd *pfds = calloc(STORM_CONNS, sizeof(*pfds));
	int *idx = calloc(STORM_CONNS, sizeof(*idx));
	cr_assert(conns != NULL && pfds != NULL && idx != NULL);
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s->srv.port)};
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	uint64_t t0 = nd_test_now_ns();
	for (int i = 0; i < STORM_CONNS; i++) {
		conns[i].fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		cr_assert_geq(conns[i].fd, 0, "socket: %s", strerror(errno));
		int r = connect(conns[i].fd, (struct sockaddr *)&addr, sizeof(addr));
		conns[i].state = r == 0 ? ST_INFO : errno == EINPROGRESS ? ST_CONNECT : ST_FAIL;
	}
	uint64_t deadline = t0 + (uint64_t)STORM_DEADLINE_MS * 1000000u;
	int pending = STORM_CONNS;
	while (pending > 0 && nd_test_now_ns() < deadline) {
		int np = 0;
		pending = 0;
		for (int i = 0; i < STORM_CONNS; i++) {
			if (conns[i].state == ST_OK || conns[i].state == ST_FAIL)
				continue;
			short ev = storm_step(&conns[i], ctx);
			if (ev == 0)
				continue;
			pending++;
			pfds[np] = (struct pollfd){.fd = conns[i].fd, .events = ev};
			idx[np++] = i;
		}
		if (np > 0 && poll(pfds, (nfds_t)np, 100) > 0)
			for (int k = 0; k < np; k++)
				conns[idx[k]].revents = pfds[k].revents;
	}
	uint64_t storm_ms = (nd_test_now_ns() - t0) / 1000000u;
	int ok = 0, failed = 0, unresolved = 0;
	for (int i = 0; i < STORM_CONNS; i++) {
		if (conns[i].state == ST_OK)
			ok++;
		else if (conns[i].state == ST_FAIL)
			failed++;
		else
			unresolved++;
	}
	/* The established client, under 1,000 open TLS connections. */
	roundtrip(nc, "right after the storm");
	atomic_store(&probe.stop, true);
	pthread_join(th, NULL);
	for (int i = 0; i < STORM_CONNS; i++) {
		if (conns[i].ssl != NULL)
			SSL_free(conns[i].ssl);
		close(conns[i].fd);
	}
	free(conns);
	free(pfds);
	free(idx);
	SSL_CTX_free(ctx);

	cr_log_info(
	    "%s: storm: %d handshakes + PONG ok, %d failed, %d unresolved in %llu ms "
	    "(%.0f handshakes/s); steady client: %d requests ok, %d failed, slowest %llu ms",
	    kind_name(kind), ok, failed, unresolved, (unsigned long long)storm_ms,
	    storm_ms > 0 ? ok * 1000.0 / (double)storm_ms : 0.0, atomic_load(&probe.ok),
	    atomic_load(&probe.failed), (unsigned long long)atomic_load(&probe.max_ms));
	cr_assert_eq(unresolved, 0, "%d connections neither completed nor failed in %d ms",
		     unresolved, STORM_DEADLINE_MS);
	cr_assert_gt(ok, 0, "no handshake completed");
	cr_assert_gt(atomic_load(&probe.ok), 0, "the steady client made no request");
	cr_assert_eq(atomic_load(&probe.failed), 0, "the steady client's requests failed");

	/* And the server still takes new clients. */
	natsConnection *nc2 = must_connect(s->srv.port, &good, "after the storm");
	roundtrip(nc2, "new client after the storm");
	natsConnection_Destroy(nc2);
	natsSubscription_Destroy(svc);
	natsConnection_Destroy(nc);
}

/* ---- reload and HTTPS */

static void copy_file(const char *from, const char *to)
{
	FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
	cr_assert(in != NULL && out != NULL, "%s -> %s", from, to);
	char buf[8192];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		cr_assert_eq(fwrite(buf, 1, n, out), n);
	fclose(in);
	fclose(out);
}

/* SIGHUP reads the certificate files again: new clients get the new certificate, a client
 * connected before keeps its session. */
TLS_SCENARIO(reload_certificates)
{
	char cert[512], key[512], block[2048];
	snprintf(cert, sizeof(cert), "%s/reload-%d-cert.pem", certs.dir, (int)getpid());
	snprintf(key, sizeof(key), "%s/reload-%d-key.pem", certs.dir, (int)getpid());
	copy_file(certs.server_cert, cert);
	copy_file(certs.server_key, key);
	snprintf(block, sizeof(block), "tls {\n  cert_file: \"%s\"\n  key_file: \"%s\"\n}\n", cert,
		 key);
	tls_server_t *s = start_server(kind, "%s", block);
	client_cfg_t good = {.secure = true, .ca = certs.ca};
	client_cfg_t other = {.secure = true, .ca = certs.wrong_ca};
	natsConnection *before = must_connect(s->srv.port, &good, "before the reload");
	must_not_connect(s->srv.port, &other, "the other CA before the reload");

	copy_file(certs.wrong_server_cert, cert);
	copy_file(certs.wrong_server_key, key);
	size_t mark = s->srv.proc.log_len;
	nd_proc_signal(&s->srv.proc, SIGHUP);
	bool reloaded = false;
	for (int i = 0; i < 100 && !reloaded; i++) {
		nd_proc_wait_output(&s->srv.proc, "Reloaded server configuration", 50);
		reloaded = strstr(s->srv.proc.log + mark, "Reloaded server configuration") != NULL;
	}
	cr_assert(reloaded, "no reload: %s", s->srv.proc.log + mark);

	natsConnection *after = must_connect(s->srv.port, &other, "the new CA after the reload");
	must_not_connect(s->srv.port, &good, "the old CA after the reload");
	roundtrip(before, "the connection made before the reload");
	roundtrip(after, "a connection made after the reload");
	natsConnection_Destroy(before);
	natsConnection_Destroy(after);
	unlink(cert);
	unlink(key);
}

/* The monitoring port over HTTPS (https_port) with the clients' certificate. */
TLS_SCENARIO(https_monitoring)
{
	char block[2048];
	tls_block(block, sizeof(block), "");
	/* start_server asks for -m -1 (plain); this one needs https instead. */
	cr_assert_lt(nservers, MAX_SERVERS);
	tls_server_t *s = &servers[nservers++];
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	snprintf(s->conf, sizeof(s->conf), "%s/https-%d-%d.conf", certs.dir, (int)getpid(),
		 nservers);
	FILE *f = fopen(s->conf, "w");
	cr_assert_not_null(f);
	fprintf(f, "host: 127.0.0.1\n%s", block);
	fclose(f);
	const char *extra[] = {"-c", s->conf, "-ms", "-1", NULL};
	cr_assert_eq(nd_test_server_start(&s->srv, kind, extra), 0, "%s", s->srv.proc.log);
	s->running = true;
	cr_assert(nd_proc_wait_output(&s->srv.proc, "Starting https monitor on ", 5000), "%s",
		  s->srv.proc.log);
	const char *p = strstr(s->srv.proc.log, "Starting https monitor on ");
	const char *eol = strchr(p, '\n');
	while (eol > p && *eol != ':')
		eol--;
	int port = atoi(eol + 1);

	raw_tls_t t;
	memset(&t, 0, sizeof(t));
	t.fd = nd_test_connect(port);
	cr_assert_geq(t.fd, 0);
	struct timeval tv = {.tv_sec = 5};
	setsockopt(t.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	t.ctx = client_ctx(certs.ca, NULL, NULL);
	t.ssl = SSL_new(t.ctx);
	SSL_set_fd(t.ssl, t.fd);
	SSL_set1_host(t.ssl, "127.0.0.1");
	cr_assert_eq(SSL_connect(t.ssl), 1, "HTTPS handshake failed");
	raw_tls_write(&t, "GET /varz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
	char buf[65536];
	bool eof = false;
	size_t n = raw_tls_read_until(&t, buf, sizeof(buf), "\"https_port\"", 5000, &eof);
	buf[n < sizeof(buf) ? n : sizeof(buf) - 1] = '\0';
	cr_assert_not_null(strstr(buf, "HTTP/1.1 200"), "%s", buf);
	/* natsd shows the port it bound, the reference the one configured (-1: random). */
	char want[64];
	snprintf(want, sizeof(want), "\"https_port\": %d", kind == ND_SERVER_NATSD ? port : -1);
	cr_assert_not_null(strstr(buf, want), "%s", buf);
	raw_tls_close(&t);

	/* Plain HTTP on the HTTPS port: Go's 400, in clear. */
	int fd = nd_test_connect(port);
	cr_assert_geq(fd, 0);
	static const char get[] = "GET /varz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
	nd_test_write(fd, get, sizeof(get) - 1);
	char plain[512];
	size_t pn = nd_test_read_until(fd, plain, sizeof(plain) - 1, "HTTPS server", 3000);
	plain[pn] = '\0';
	close(fd);
	cr_assert_not_null(strstr(plain, "400 Bad Request"), "plain HTTP got: %s", plain);
	cr_assert_not_null(strstr(plain, "Client sent an HTTP request to an HTTPS server."), "%s",
			   plain);
}

/* A TLS-first client: the handshake right after the TCP connect, nothing read in clear. */
static bool tls_first_open(raw_tls_t *t, int port)
{
	memset(t, 0, sizeof(*t));
	t->fd = nd_test_connect(port);
	cr_assert_geq(t->fd, 0);
	struct timeval tv = {.tv_sec = 5};
	setsockopt(t->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(t->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	t->ctx = client_ctx(certs.ca, NULL, NULL);
	t->ssl = SSL_new(t->ctx);
	SSL_set_fd(t->ssl, t->fd);
	t->handshake_ok = SSL_connect(t->ssl) == 1;
	ERR_clear_error();
	return t->handshake_ok;
}

/* A session on t gets its INFO and answers PING with PONG. */
static void expect_info_and_pong(raw_tls_t *t, const char *what)
{
	char buf[8192];
	bool eof = false;
	size_t n = raw_tls_read_until(t, buf, sizeof(buf), "\r\n", 3000, &eof);
	cr_assert(n > 0 && strncmp(buf, "INFO {", 6) == 0, "%s: no INFO inside TLS: %s", what, buf);
	raw_tls_write(t, "CONNECT {\"verbose\":false}\r\nPING\r\n");
	n = raw_tls_read_until(t, buf, sizeof(buf), "PONG\r\n", 3000, &eof);
	cr_assert_not_null(strstr(buf, "PONG\r\n"), "%s: no PONG: %s", what, buf);
}

/* handshake_first (a 2.10.4 key; nats-server 2.9 refuses it, so natsd only): with `true` the
 * handshake comes before the INFO, which then goes inside TLS; with `auto` a TLS-first client
 * and an INFO-first client both work. */
ND_TEST(tls, handshake_first_natsd)
{
	char block[2048];
	tls_server_t *on = start_server(
	    ND_SERVER_NATSD, "%s", tls_block(block, sizeof(block), "  handshake_first: true\n"));
	raw_tls_t t;
	cr_assert(tls_first_open(&t, on->srv.port), "TLS-first handshake failed");
	expect_info_and_pong(&t, "handshake_first: true");
	raw_tls_close(&t);
	/* An INFO-first client waits for an INFO that does not come in clear. */
	int fd = nd_test_connect(on->srv.port);
	char buf[256];
	bool eof = false;
	size_t n = nd_test_read_idle(fd, buf, sizeof(buf), 300, &eof);
	cr_assert(n == 0 || strncmp(buf, "INFO", 4) != 0, "INFO in clear with handshake_first");
	close(fd);

	tls_server_t *au = start_server(
	    ND_SERVER_NATSD, "%s", tls_block(block, sizeof(block), "  handshake_first: auto\n"));
	cr_assert(tls_first_open(&t, au->srv.port), "TLS-first handshake failed (auto)");
	expect_info_and_pong(&t, "handshake_first: auto, TLS first");
	raw_tls_close(&t);
	client_cfg_t good = {.secure = true, .ca = certs.ca};
	natsConnection *nc = must_connect(au->srv.port, &good, "an INFO-first client (auto)");
	roundtrip(nc, "an INFO-first client (auto)");
	natsConnection_Destroy(nc);
}

/* verify_and_map with a user named by a DN written in another order (and with spaces): the
 * reference's DistinguishedNameMatch compares the attributes, not the text. */
TLS_SCENARIO(verify_and_map_dn_in_any_order)
{
	char tls[2048], more[512];
	snprintf(more, sizeof(more), "  ca_file: \"%s\"\n  verify_and_map: true\n", certs.ca);
	tls_server_t *s = start_server(kind,
				       "%sauthorization {\n  users = [\n"
				       "    {user: \"O=Test, CN=bob\"}\n  ]\n}\n",
				       tls_block(tls, sizeof(tls), more));
	client_cfg_t bob = {
	    .secure = true, .ca = certs.ca, .cert = certs.bob_cert, .key = certs.bob_key};
	natsConnection *nc = must_connect(s->srv.port, &bob, "bob (DN in another order)");
	roundtrip(nc, "bob");
	natsConnection_Destroy(nc);
	client_cfg_t carol = {
	    .secure = true, .ca = certs.ca, .cert = certs.carol_cert, .key = certs.carol_key};
	must_not_connect(s->srv.port, &carol, "carol (no such user)");
}
