/* A cluster made with command-line flags only (--cluster, --cluster_name, --routes), mixed with
 * nats-server, and what clients learn about it: client_advertise reaches the other servers'
 * INFO connect_urls, no_advertise keeps a server out of them. Raw TCP clients, so that every
 * INFO line (the first and the asynchronous ones) is seen. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/support/nd_servers.h"
#include "tests/support/nd_test.h"

#define WAIT_MS 10000

static nd_test_server_t servers[3];
static nd_server_kind_t kinds[3];
static int nservers;

/* Stops every server; a natsd that does not exit 0 (or printed a sanitizer report) makes the
 * result false. */
static bool stop_servers(void)
{
	bool clean = true;
	for (int i = 0; i < nservers; i++) {
		if (servers[i].proc.pid <= 0 || servers[i].proc.exited)
			continue;
		int code = nd_test_server_stop(&servers[i]);
		if (kinds[i] == ND_SERVER_NATSD &&
		    (code != 0 || strstr(servers[i].proc.log, "Sanitizer") != NULL ||
		     strstr(servers[i].proc.log, "runtime error") != NULL)) {
			fprintf(stderr, "natsd %d did not exit cleanly (%d):\n%s\n", i, code,
				servers[i].proc.log);
			clean = false;
		}
	}
	nservers = 0;
	return clean;
}

/* In a test body: the servers stop, and natsd must have exited cleanly. */
static void stop_all(void)
{
	cr_assert(stop_servers(), "a natsd node did not exit cleanly (see stderr)");
}

static void teardown(void)
{
	stop_servers();
}

TestSuite(cluster_flags, .fini = teardown, .timeout = 60);

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int cluster_port(nd_test_server_t *s)
{
	static const char needle[] = "Listening for route connections on 127.0.0.1:";
	nd_proc_wait_output(&s->proc, needle, WAIT_MS);
	const char *p = strstr(s->proc.log, needle);
	cr_assert_not_null(p, "no route listener in:\n%s", s->proc.log);
	return atoi(p + sizeof(needle) - 1);
}

static nd_test_server_t *start(nd_server_kind_t kind, const char *const *extra)
{
	nd_test_server_t *s = &servers[nservers];
	cr_assert_eq(nd_test_server_start(s, kind, extra), 0, "start failed:\n%s", s->proc.log);
	kinds[nservers++] = kind;
	return s;
}

/* A client that takes asynchronous INFO (protocol 1, past its first PONG). */
static int client(int port)
{
	int fd = nd_test_connect(port);
	cr_assert_geq(fd, 0);
	static const char hello[] = "CONNECT {\"verbose\":false,\"protocol\":1}\r\nPING\r\n";
	nd_test_write(fd, hello, sizeof(hello) - 1);
	return fd;
}

/* Reads the client's stream into buf (answering PINGs) until needle appears or WAIT_MS. */
static bool await_text(int fd, char *buf, size_t cap, size_t *len, const char *needle)
{
	uint64_t end = now_ms() + WAIT_MS;
	while (now_ms() < end) {
		if (strstr(buf, needle) != NULL)
			return true;
		bool eof = false;
		size_t n = nd_test_read_idle(fd, buf + *len, cap - 1 - *len, 50, &eof);
		*len += n;
		buf[*len] = '\0';
		if (strstr(buf + *len - n, "PING\r\n") != NULL)
			nd_test_write(fd, "PONG\r\n", 6);
		if (eof || *len + 1 >= cap)
			return strstr(buf, needle) != NULL;
	}
	return strstr(buf, needle) != NULL;
}

/* Subscribes on one server and publishes on another until the message crosses. */
static void await_route(int sub_port, int pub_port)
{
	int s = client(sub_port), p = client(pub_port);
	char buf[65536] = "";
	size_t len = 0;
	nd_test_write(s, "SUB probe 1\r\nPING\r\n", 19);
	uint64_t end = now_ms() + WAIT_MS;
	bool got = false;
	while (!got && now_ms() < end) {
		nd_test_write(p, "PUB probe 2\r\nhi\r\n", 17);
		bool eof = false;
		len += nd_test_read_idle(s, buf + len, sizeof(buf) - 1 - len, 50, &eof);
		buf[len] = '\0';
		got = strstr(buf, "MSG probe 1 2") != NULL;
		if (len > sizeof(buf) / 2)
			len = 0;
	}
	close(s);
	close(p);
	cr_assert(got, "no message from port %d to port %d", pub_port, sub_port);
}

ND_TEST(cluster_flags, flags_only_and_what_clients_learn)
{
	if (!nd_reference_available())
		cr_skip_test("nats-server is not installed");
	const char *seed_args[] = {"--cluster", "nats://127.0.0.1:-1", "--cluster_name", "c1",
				   NULL};
	nd_test_server_t *a = start(ND_SERVER_REFERENCE, seed_args);
	char routes[64];
	snprintf(routes, sizeof(routes), "nats://127.0.0.1:%d", cluster_port(a));
	int watch = client(a->port); /* sees A's asynchronous INFO when the others join */
	char seen[65536] = "";
	size_t seen_len = 0;

	const char *b_args[] = {
	    "--cluster", "nats://127.0.0.1:-1", "--cluster_name", "c1", "--routes",
	    routes,      "--client_advertise",  "10.1.2.3:4222",  NULL};
	nd_test_server_t *b = start(ND_SERVER_NATSD, b_args);
	const char *c_args[] = {"--cluster",      "nats://127.0.0.1:-1",
				"--cluster_name", "c1",
				"--routes",       routes,
				"--no_advertise", NULL};
	nd_test_server_t *c = start(ND_SERVER_NATSD, c_args);

	/* B's advertised client address reaches A's clients by asynchronous INFO. */
	cr_assert(await_text(watch, seen, sizeof(seen), &seen_len, "\"10.1.2.3:4222\""),
		  "A's clients never learned B's advertised URL:\n%s", seen);
	/* Messages cross every pair the flags made (C reached B through gossip). */
	await_route(b->port, a->port);
	await_route(c->port, a->port);
	await_route(c->port, b->port);
	await_route(a->port, c->port);

	/* C advertises nothing: its client port appears in nobody's connect_urls, and C's own
	 * clients are told of no other server. */
	char cport[32];
	snprintf(cport, sizeof(cport), ":%d\"", c->port);
	int fresh_a = client(a->port), fresh_b = client(b->port), fresh_c = client(c->port);
	char ia[16384] = "", ib[16384] = "", ic[16384] = "";
	size_t la = 0, lb = 0, lc = 0;
	cr_assert(await_text(fresh_a, ia, sizeof(ia), &la, "PONG"));
	cr_assert(await_text(fresh_b, ib, sizeof(ib), &lb, "PONG"));
	cr_assert(await_text(fresh_c, ic, sizeof(ic), &lc, "PONG"));
	cr_assert_null(strstr(ia, cport), "A lists C's client URL:\n%s", ia);
	cr_assert_null(strstr(ib, cport), "B lists C's client URL:\n%s", ib);
	cr_assert_null(strstr(ic, "connect_urls"), "C (no_advertise) lists URLs:\n%s", ic);
	/* B (natsd) lists itself as advertised, and A. */
	char aport[32];
	snprintf(aport, sizeof(aport), ":%d\"", a->port);
	cr_assert_not_null(strstr(ib, "\"10.1.2.3:4222\""), "%s", ib);
	cr_assert_not_null(strstr(ib, aport), "B does not list A:\n%s", ib);
	cr_assert_not_null(strstr(ib, "\"cluster\":\"c1\""), "%s", ib);
	close(fresh_a);
	close(fresh_b);
	close(fresh_c);
	close(watch);

	/* When B goes, A's clients are told: its URL leaves connect_urls. */
	int watch2 = client(a->port);
	char w2[65536] = "";
	size_t l2 = 0;
	cr_assert(await_text(watch2, w2, sizeof(w2), &l2, "PONG"));
	cr_assert_not_null(strstr(w2, "10.1.2.3:4222"), "%s", w2);
	size_t mark = l2;
	cr_assert_eq(nd_test_server_stop(b), 0, "natsd did not exit cleanly:\n%s", b->proc.log);
	bool dropped = false;
	uint64_t end = now_ms() + WAIT_MS;
	while (!dropped && now_ms() < end) {
		await_text(watch2, w2, sizeof(w2), &l2, "\r\nINFO");
		const char *last = NULL;
		for (const char *p = w2 + mark; (p = strstr(p, "INFO {")) != NULL; p++)
			last = p;
		dropped = last != NULL && strstr(last, "10.1.2.3") == NULL;
		if (!dropped)
			usleep(50000);
	}
	cr_assert(dropped, "A's clients were not told that B left:\n%s", w2 + mark);
	close(watch2);
	stop_all();
}

/* Reads a client until it has a MSG on subject or WAIT_MS pass, publishing pub_line on the
 * other client meanwhile (interest crosses asynchronously). */
static bool gets(int sub_fd, int pub_fd, const char *pub_line, const char *subject)
{
	char buf[65536] = "", want[128];
	size_t len = 0;
	snprintf(want, sizeof(want), "MSG %s ", subject);
	uint64_t end = now_ms() + 1500;
	while (now_ms() < end) {
		nd_test_write(pub_fd, pub_line, strlen(pub_line));
		bool eof = false;
		len += nd_test_read_idle(sub_fd, buf + len, sizeof(buf) - 1 - len, 50, &eof);
		buf[len] = '\0';
		if (strstr(buf, want) != NULL)
			return true;
		if (len > sizeof(buf) / 2)
			len = 0;
	}
	return false;
}

/* Cluster permissions on one node: import (its publish side) limits the interest it
 * announces, export (its subscribe side) the interest it accepts. Checked with the
 * restricted node being natsd and, to prove the test, nats-server. */
static void permissions_case(nd_server_kind_t restricted)
{
	char path[] = "/tmp/nd-cluster-perms-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	static const char conf[] = "cluster {\n  name: c1\n  listen: 127.0.0.1:-1\n"
				   "  permissions { import: \"in.>\", export: \"out.>\" }\n}\n";
	cr_assert_eq(write(fd, conf, sizeof(conf) - 1), (ssize_t)(sizeof(conf) - 1));
	close(fd);
	const char *a_args[] = {"-c", path, NULL};
	nd_test_server_t *a = start(restricted, a_args);
	unlink(path);
	char routes[64];
	snprintf(routes, sizeof(routes), "nats://127.0.0.1:%d", cluster_port(a));
	const char *b_args[] = {
	    "--cluster", "nats://127.0.0.1:-1", "--cluster_name", "c1", "--routes", routes, NULL};
	nd_test_server_t *b = start(ND_SERVER_NATSD, b_args);
	int ca = client(a->port), cb = client(b->port);
	nd_test_write(cb, "SUB out.x 1\r\nSUB other.x 2\r\nPING\r\n", 34);
	nd_test_write(ca, "SUB in.y 1\r\nSUB no.y 2\r\nPING\r\n", 30);
	/* Allowed directions flow (this also waits for the route). */
	cr_assert(gets(cb, ca, "PUB out.x 1\r\nx\r\n", "out.x"), "export out.> blocked");
	cr_assert(gets(ca, cb, "PUB in.y 1\r\ny\r\n", "in.y"), "import in.> blocked");
	/* The others do not. */
	cr_assert(!gets(cb, ca, "PUB other.x 1\r\nx\r\n", "other.x"), "exported other.x");
	cr_assert(!gets(ca, cb, "PUB no.y 1\r\ny\r\n", "no.y"), "imported no.y");
	close(ca);
	close(cb);
	stop_all();
}

ND_TEST(cluster_flags, cluster_permissions_on_natsd)
{
	permissions_case(ND_SERVER_NATSD);
}

ND_TEST(cluster_flags, cluster_permissions_on_nats_server)
{
	if (!nd_reference_available())
		cr_skip_test("nats-server is not installed");
	permissions_case(ND_SERVER_REFERENCE);
}

/* Waits until the last INFO the client got (after mark) does or does not contain needle. */
static bool last_info(int fd, char *buf, size_t cap, size_t *len, size_t mark, const char *needle,
		      bool want)
{
	uint64_t end = now_ms() + WAIT_MS;
	while (now_ms() < end) {
		const char *last = NULL;
		for (const char *p = buf + mark; (p = strstr(p, "INFO {")) != NULL; p++)
			last = p;
		if (last != NULL) {
			const char *eol = strstr(last, "\r\n");
			const char *q = strstr(last, needle);
			bool has = q != NULL && eol != NULL && q < eol;
			if (has == want)
				return true;
		}
		bool eof = false;
		size_t n = nd_test_read_idle(fd, buf + *len, cap - 1 - *len, 50, &eof);
		*len += n;
		buf[*len] = '\0';
		if (n > 0 && strstr(buf + *len - n, "PING\r\n") != NULL)
			nd_test_write(fd, "PONG\r\n", 6);
		if (eof)
			return false;
	}
	return false;
}

/* A server entering lame duck mode tells its routes (INFO "ldm"): the other servers take its
 * client URL out of their clients' connect_urls at once, long before it exits. Both ways. */
static void lame_duck_case(nd_server_kind_t watcher_kind, nd_server_kind_t leaving_kind)
{
	const char *a_args[] = {"--cluster", "nats://127.0.0.1:-1", "--cluster_name", "c1", NULL};
	nd_test_server_t *a = start(watcher_kind, a_args);
	char routes[64];
	snprintf(routes, sizeof(routes), "nats://127.0.0.1:%d", cluster_port(a));
	const char *b_args[] = {
	    "--cluster", "nats://127.0.0.1:-1", "--cluster_name", "c1", "--routes",
	    routes,      "--client_advertise",  "10.9.9.9:4222",  NULL};
	nd_test_server_t *b = start(leaving_kind, b_args);
	int watch = client(a->port);
	char buf[65536] = "";
	size_t len = 0;
	cr_assert(last_info(watch, buf, sizeof(buf), &len, 0, "10.9.9.9:4222", true),
		  "the watcher's clients never learned the other server:\n%s", buf);
	size_t mark = len;
	nd_proc_signal(&b->proc, SIGUSR2);
	cr_assert(last_info(watch, buf, sizeof(buf), &len, mark, "10.9.9.9:4222", false),
		  "lame duck mode did not reach the watcher's clients:\n%s", buf + mark);
	cr_assert(b->proc.pid > 0 && !b->proc.exited, "it was the close, not the ldm INFO");
	close(watch);
	stop_all();
}

ND_TEST(cluster_flags, lame_duck_natsd_leaves)
{
	if (!nd_reference_available())
		cr_skip_test("nats-server is not installed");
	lame_duck_case(ND_SERVER_REFERENCE, ND_SERVER_NATSD);
}

ND_TEST(cluster_flags, lame_duck_nats_server_leaves)
{
	if (!nd_reference_available())
		cr_skip_test("nats-server is not installed");
	lame_duck_case(ND_SERVER_NATSD, ND_SERVER_REFERENCE);
}

/* A server without a cluster name picks a dynamic one and takes on a named peer's: the
 * cluster forms either way round, natsd and nats-server. */
static void dynamic_name_case(nd_server_kind_t named_kind, nd_server_kind_t dynamic_kind)
{
	const char *a_args[] = {"--cluster", "nats://127.0.0.1:-1", "--cluster_name", "c1", NULL};
	nd_test_server_t *a = start(named_kind, a_args);
	char routes[64];
	snprintf(routes, sizeof(routes), "nats://127.0.0.1:%d", cluster_port(a));
	const char *b_args[] = {"--cluster", "nats://127.0.0.1:-1", "--routes", routes, NULL};
	nd_test_server_t *b = start(dynamic_kind, b_args);
	await_route(b->port, a->port);
	await_route(a->port, b->port);
	/* The dynamic server now announces the adopted name to its clients. */
	int c = client(b->port);
	char buf[16384] = "";
	size_t len = 0;
	cr_assert(await_text(c, buf, sizeof(buf), &len, "PONG"));
	cr_assert_not_null(strstr(buf, "\"cluster\":\"c1\""), "%s", buf);
	close(c);
	stop_all();
}

ND_TEST(cluster_flags, dynamic_natsd_takes_the_name_of_nats_server)
{
	if (!nd_reference_available())
		cr_skip_test("nats-server is not installed");
	dynamic_name_case(ND_SERVER_REFERENCE, ND_SERVER_NATSD);
}

ND_TEST(cluster_flags, dynamic_nats_server_takes_the_name_of_natsd)
{
	if (!nd_reference_available())
		cr_skip_test("nats-server is not installed");
	dynamic_name_case(ND_SERVER_NATSD, ND_SERVER_REFERENCE);
}

ND_TEST(cluster_flags, two_dynamic_natsd_agree)
{
	const char *a_args[] = {"--cluster", "nats://127.0.0.1:-1", NULL};
	nd_test_server_t *a = start(ND_SERVER_NATSD, a_args);
	char routes[64];
	snprintf(routes, sizeof(routes), "nats://127.0.0.1:%d", cluster_port(a));
	const char *b_args[] = {"--cluster", "nats://127.0.0.1:-1", "--routes", routes, NULL};
	nd_test_server_t *b = start(ND_SERVER_NATSD, b_args);
	await_route(b->port, a->port);
	await_route(a->port, b->port);
	stop_all();
}

/* Routes over TLS (cluster { tls {...} }): both directions verify against the CA; the dialled
 * address (127.0.0.1) must be in the peer's certificate. natsd with natsd and with
 * nats-server, either side dialling. */
static void route_tls_case(nd_server_kind_t seed_kind, nd_server_kind_t joiner_kind)
{
	char conf[1024], path[2][64];
	for (int i = 0; i < 2; i++) {
		snprintf(path[i], sizeof(path[i]), "/tmp/nd-route-tls-%d-XXXXXX", i);
		int fd = mkstemp(path[i]);
		cr_assert_geq(fd, 0);
		close(fd);
	}
	snprintf(conf, sizeof(conf),
		 "cluster {\n  name: c1\n  listen: 127.0.0.1:-1\n"
		 "  tls { cert_file: \"%s/server-cert.pem\", key_file: \"%s/server-key.pem\", "
		 "ca_file: \"%s/ca.pem\", timeout: 2 }\n}\n",
		 ND_CERTS_DIR, ND_CERTS_DIR, ND_CERTS_DIR);
	FILE *f = fopen(path[0], "w");
	fputs(conf, f);
	fclose(f);
	const char *a_args[] = {"-c", path[0], NULL};
	nd_test_server_t *a = start(seed_kind, a_args);
	char routes[64];
	snprintf(routes, sizeof(routes), "nats://127.0.0.1:%d", cluster_port(a));
	snprintf(conf, sizeof(conf),
		 "cluster {\n  name: c1\n  listen: 127.0.0.1:-1\n  routes: [ \"%s\" ]\n"
		 "  tls { cert_file: \"%s/server-cert.pem\", key_file: \"%s/server-key.pem\", "
		 "ca_file: \"%s/ca.pem\", timeout: 2 }\n}\n",
		 routes, ND_CERTS_DIR, ND_CERTS_DIR, ND_CERTS_DIR);
	f = fopen(path[1], "w");
	fputs(conf, f);
	fclose(f);
	const char *b_args[] = {"-c", path[1], NULL};
	nd_test_server_t *b = start(joiner_kind, b_args);
	await_route(b->port, a->port);
	await_route(a->port, b->port);
	/* The route port speaks TLS only: a plain peer gets no INFO in clear. */
	int raw = nd_test_connect(cluster_port(a));
	cr_assert_geq(raw, 0);
	char buf[256];
	bool eof = false;
	size_t n = nd_test_read_idle(raw, buf, sizeof(buf), 300, &eof);
	cr_assert_eq(n, 0, "the route port sent %zu bytes in clear", n);
	close(raw);
	unlink(path[0]);
	unlink(path[1]);
	stop_all();
}

ND_TEST(cluster_flags, routes_over_tls_natsd_natsd)
{
	route_tls_case(ND_SERVER_NATSD, ND_SERVER_NATSD);
}

ND_TEST(cluster_flags, routes_over_tls_natsd_seed_nats_server_joins)
{
	if (!nd_reference_available())
		cr_skip_test("nats-server is not installed");
	route_tls_case(ND_SERVER_NATSD, ND_SERVER_REFERENCE);
}

ND_TEST(cluster_flags, routes_over_tls_nats_server_seed_natsd_joins)
{
	if (!nd_reference_available())
		cr_skip_test("nats-server is not installed");
	route_tls_case(ND_SERVER_REFERENCE, ND_SERVER_NATSD);
}

/* Routes added and removed by a reload (SIGHUP): the new one is dialled, the removed one
 * closes. */
static long routez_num_routes(int http_port)
{
	int fd = nd_test_connect(http_port);
	if (fd < 0)
		return -1;
	static const char req[] = "GET /routez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	nd_test_write(fd, req, sizeof(req) - 1);
	char buf[65536];
	bool eof = false;
	size_t n = nd_test_read_idle(fd, buf, sizeof(buf) - 1, 200, &eof);
	close(fd);
	buf[n] = '\0';
	const char *p = strstr(buf, "\"num_routes\": ");
	return p != NULL ? atol(p + 14) : -1;
}

static int logged_http_port(nd_test_server_t *s)
{
	static const char needle[] = "Starting http monitor on 127.0.0.1:";
	nd_proc_wait_output(&s->proc, needle, WAIT_MS);
	const char *p = strstr(s->proc.log, needle);
	cr_assert_not_null(p, "%s", s->proc.log);
	return atoi(p + sizeof(needle) - 1);
}

static void write_conf(const char *path, const char *routes)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f, "cluster {\n  name: c1\n  listen: 127.0.0.1:-1\n  routes: [ %s ]\n}\n", routes);
	fclose(f);
}

static void await_num_routes(int http_port, long want)
{
	long got = -1;
	for (uint64_t end = now_ms() + WAIT_MS; now_ms() < end && got != want;) {
		got = routez_num_routes(http_port);
		if (got != want)
			usleep(50000);
	}
	cr_assert_eq(got, want, "num_routes %ld, want %ld", got, want);
}

ND_TEST(cluster_flags, reload_adds_and_removes_routes)
{
	const char *b_args[] = {"-m", "-1", "--cluster", "nats://127.0.0.1:-1", "--cluster_name",
				"c1", NULL};
	nd_test_server_t *b = start(ND_SERVER_NATSD, b_args);
	char route[96];
	snprintf(route, sizeof(route), "\"nats://127.0.0.1:%d\"", cluster_port(b));
	char path[] = "/tmp/nd-route-reload-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	close(fd);
	write_conf(path, "");
	const char *a_args[] = {"-c", path, "-m", "-1", NULL};
	nd_test_server_t *a = start(ND_SERVER_NATSD, a_args);
	int a_http = logged_http_port(a);
	await_num_routes(a_http, 0);

	write_conf(path, route);
	nd_proc_signal(&a->proc, SIGHUP);
	await_num_routes(a_http, 1);
	await_route(b->port, a->port);

	write_conf(path, "");
	nd_proc_signal(&a->proc, SIGHUP);
	await_num_routes(a_http, 0);
	unlink(path);
	stop_all();
}
