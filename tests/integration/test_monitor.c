/* The monitoring port, differential: natsd and Debian's nats-server are started with the same
 * setup (two clients with subscriptions and a known number of messages, one client that has
 * closed), every endpoint is fetched from both, and the JSON documents must have the same keys
 * (recursively) with the same JSON types, and the same values where the servers must agree
 * (counts, msgs, bytes, limits). Query parameters and bad requests are compared byte for byte
 * where the reference's answer is deterministic.
 *
 * The reference runs a system account with internal clients and subscriptions natsd does not
 * have: client ids start at 4 there, its subscription counts include its internal ones, and
 * varz names the system account. Those are the only allowed differences (KNOWN below). */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/support/nd_servers.h"
#include "tests/support/nd_test.h"

typedef struct side {
	nd_test_server_t srv;
	int http_port;
	int keep[2]; /* the two clients that stay connected */
} side_t;

static side_t natsd_side, ref_side;

/* The monitoring port a server logged ("Starting http monitor on HOST:PORT"). */
static int logged_http_port(nd_test_server_t *srv)
{
	cr_assert(nd_proc_wait_output(&srv->proc, "Starting http monitor on ", 5000), "%s",
		  srv->proc.log);
	const char *p = strstr(srv->proc.log, "Starting http monitor on ");
	const char *eol = strchr(p, '\n');
	const char *colon = eol;
	while (colon > p && *colon != ':')
		colon--;
	return atoi(colon + 1);
}

/* Sends raw bytes and waits for the PONG that follows them. */
static void send_and_sync(int fd, const char *bytes)
{
	char buf[8192];
	nd_test_write(fd, bytes, strlen(bytes));
	nd_test_write(fd, "PING\r\n", 6);
	nd_test_read_until(fd, buf, sizeof(buf), "PONG\r\n", 5000);
}

static void start_side(side_t *s, nd_server_kind_t kind)
{
	const char *extra[] = {"-m", "-1", NULL};
	cr_assert_eq(nd_test_server_start(&s->srv, kind, extra), 0, "server did not start: %s",
		     s->srv.proc.log);
	s->http_port = logged_http_port(&s->srv);
	char buf[4096];
	/* Client A: two subscriptions. Client B: one subscription, publishes 3 messages. */
	s->keep[0] = nd_test_connect(s->srv.port);
	s->keep[1] = nd_test_connect(s->srv.port);
	int gone = nd_test_connect(s->srv.port);
	for (int i = 0; i < 2; i++)
		nd_test_read_until(s->keep[i], buf, sizeof(buf), "\r\n", 5000);
	nd_test_read_until(gone, buf, sizeof(buf), "\r\n", 5000);
	send_and_sync(s->keep[0], "CONNECT {\"verbose\":false,\"name\":\"alpha\",\"lang\":\"c\","
				  "\"version\":\"1.0\"}\r\nSUB foo 1\r\nSUB bar q 2\r\n");
	send_and_sync(s->keep[1], "CONNECT {\"verbose\":false,\"name\":\"beta\"}\r\nSUB foo 7\r\n"
				  "PUB foo 5\r\nhello\r\nPUB foo 2\r\nhi\r\nPUB bar 3\r\nabc\r\n");
	send_and_sync(s->keep[0], "");
	send_and_sync(gone, "CONNECT {\"verbose\":false,\"name\":\"gamma\"}\r\nSUB baz 1\r\n");
	close(gone);
	usleep(300000); /* the server notices the close */
}

static void setup(void)
{
	if (!nd_reference_available()) {
		cr_assert(getenv("CI") == NULL,
			  "nats-server is not installed (CI must install it)");
		cr_skip_test("nats-server is not installed");
	}
	start_side(&natsd_side, ND_SERVER_NATSD);
	start_side(&ref_side, ND_SERVER_REFERENCE);
}

static void stop_pairs(void);

static void teardown(void)
{
	stop_pairs();
	side_t *sides[] = {&natsd_side, &ref_side};
	for (int i = 0; i < 2; i++) {
		if (sides[i]->srv.proc.pid <= 0)
			continue;
		close(sides[i]->keep[0]);
		close(sides[i]->keep[1]);
		nd_test_server_stop(&sides[i]->srv);
	}
}

TestSuite(monitor, .init = setup, .fini = teardown, .timeout = 120);

typedef struct http_answer {
	int status;
	char headers[4096];
	char *body; /* malloc'd */
	size_t body_len;
} http_answer_t;

/* One GET on a fresh connection (Connection: close), the whole answer read. */
static void http_get(int port, const char *target, http_answer_t *a)
{
	int fd = nd_test_connect(port);
	cr_assert_geq(fd, 0);
	char req[1024];
	int n = snprintf(req, sizeof(req),
			 "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", target);
	nd_test_write(fd, req, (size_t)n);
	size_t cap = 1 << 20;
	char *buf = malloc(cap);
	bool eof = false;
	size_t got = nd_test_read_idle(fd, buf, cap - 1, 2000, &eof);
	close(fd);
	buf[got] = '\0';
	cr_assert_eq(sscanf(buf, "HTTP/1.1 %d", &a->status), 1, "no status line: %s", buf);
	char *end = strstr(buf, "\r\n\r\n");
	cr_assert_not_null(end);
	size_t hl = (size_t)(end - buf);
	snprintf(a->headers, sizeof(a->headers), "%.*s", (int)hl, buf);
	char *body = end + 4;
	/* Bodies over 2 KiB come chunked (one chunk), as Go sends them. */
	if (strcasestr(a->headers, "Transfer-Encoding: chunked") != NULL) {
		size_t len = strtoul(body, NULL, 16);
		body = strstr(body, "\r\n") + 2;
		a->body_len = len;
	} else {
		a->body_len = strlen(body);
	}
	a->body = strndup(body, a->body_len);
	free(buf);
}

static json_t *get_json(side_t *s, const char *target)
{
	http_answer_t a;
	http_get(s->http_port, target, &a);
	cr_assert_eq(a.status, 200, "%s: %d %s", target, a.status, a.body);
	json_error_t err;
	json_t *j = json_loads(a.body, 0, &err);
	cr_assert_not_null(j, "%s: not JSON (%s): %s", target, err.text, a.body);
	free(a.body);
	return j;
}

/* Keys the reference has because of its system account (see the top). */
static bool known_only_in_reference(const char *path)
{
	return strcmp(path, "/varz.system_account") == 0;
}

/* Same keys, recursively, with the same JSON types (integers and reals count as numbers). */
static void same_shape(const json_t *ours, const json_t *theirs, const char *path, int *diffs)
{
	int to = json_typeof(ours), tt = json_typeof(theirs);
	bool num_o = to == JSON_INTEGER || to == JSON_REAL,
	     num_t = tt == JSON_INTEGER || tt == JSON_REAL;
	bool bool_o = to == JSON_TRUE || to == JSON_FALSE,
	     bool_t = tt == JSON_TRUE || tt == JSON_FALSE;
	if (!(to == tt || (num_o && num_t) || (bool_o && bool_t))) {
		cr_log_error("%s: type %d in natsd, %d in nats-server", path, to, tt);
		(*diffs)++;
		return;
	}
	if (to == JSON_OBJECT) {
		const char *k;
		json_t *v;
		char sub[512];
		json_object_foreach((json_t *)(uintptr_t)theirs, k, v)
		{
			snprintf(sub, sizeof(sub), "%s.%s", path, k);
			json_t *mine = json_object_get(ours, k);
			if (mine == NULL) {
				if (!known_only_in_reference(sub)) {
					cr_log_error("%s: missing in natsd", sub);
					(*diffs)++;
				}
				continue;
			}
			same_shape(mine, v, sub, diffs);
		}
		json_object_foreach((json_t *)(uintptr_t)ours, k, v)
		{
			if (json_object_get(theirs, k) == NULL) {
				cr_log_error("%s.%s: only in natsd", path, k);
				(*diffs)++;
			}
		}
	} else if (to == JSON_ARRAY && json_array_size(ours) > 0 && json_array_size(theirs) > 0) {
		/* Elements are matched by name or subject (the servers order ties differently). */
		json_t *t0 = json_array_get(theirs, 0), *o0 = json_array_get(ours, 0);
		const char *key = json_object_get(t0, "name") != NULL ? "name" : "subject";
		const char *name = json_string_value(json_object_get(t0, key));
		for (size_t i = 0; name != NULL && i < json_array_size(ours); i++) {
			const char *n =
			    json_string_value(json_object_get(json_array_get(ours, i), key));
			if (n != NULL && strcmp(n, name) == 0)
				o0 = json_array_get(ours, i);
		}
		char sub[512];
		snprintf(sub, sizeof(sub), "%s[0]", path);
		same_shape(o0, t0, sub, diffs);
	}
}

static void compare_endpoint(const char *target)
{
	json_t *ours = get_json(&natsd_side, target), *theirs = get_json(&ref_side, target);
	int diffs = 0;
	same_shape(ours, theirs, target, &diffs);
	json_decref(ours);
	json_decref(theirs);
	cr_assert_eq(diffs, 0, "%s: %d differences in shape", target, diffs);
}

ND_TEST(monitor, every_endpoint_has_the_reference_shape)
{
	const char *targets[] = {"/varz",
				 "/connz",
				 "/connz?subs=1",
				 "/connz?subs=detail",
				 "/connz?state=closed",
				 "/connz?state=any&subs=1",
				 "/routez",
				 "/gatewayz",
				 "/leafz",
				 "/subsz",
				 "/subscriptionsz",
				 "/accstatz",
				 "/healthz",
				 "/jsz",
				 "/connz?auth=1"};
	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++)
		compare_endpoint(targets[i]);
}

static json_int_t num(const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	cr_assert_not_null(v, "no %s", key);
	return json_integer_value(v);
}

ND_TEST(monitor, counts_agree_with_the_reference)
{
	json_t *ours = get_json(&natsd_side, "/varz"), *theirs = get_json(&ref_side, "/varz");
	const char *same[] = {"connections",      "in_msgs",        "out_msgs",
			      "in_bytes",         "out_bytes",      "max_payload",
			      "max_control_line", "max_pending",    "ping_max",
			      "ping_interval",    "write_deadline", "max_connections"};
	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++)
		cr_expect_eq(num(ours, same[i]), num(theirs, same[i]), "varz.%s: %lld vs %lld",
			     same[i], (long long)num(ours, same[i]),
			     (long long)num(theirs, same[i]));
	cr_expect_eq(num(ours, "port"), natsd_side.srv.port);
	cr_expect_eq(num(ours, "http_port"), natsd_side.http_port);
	cr_expect_eq(num(ours, "total_connections"), 3);
	cr_expect_eq(num(ours, "subscriptions"), 3);
	json_decref(ours);
	json_decref(theirs);

	ours = get_json(&natsd_side, "/connz?subs=1");
	theirs = get_json(&ref_side, "/connz?subs=1");
	cr_assert_eq(num(ours, "num_connections"), num(theirs, "num_connections"));
	json_t *oc = json_object_get(ours, "connections"),
	       *tc = json_object_get(theirs, "connections");
	for (size_t i = 0; i < json_array_size(oc); i++) {
		json_t *a = json_array_get(oc, i), *b = NULL;
		const char *name = json_string_value(json_object_get(a, "name"));
		for (size_t k = 0; k < json_array_size(tc); k++) /* cids differ: match by name */
			if (strcmp(
				json_string_value(json_object_get(json_array_get(tc, k), "name")),
				name) == 0)
				b = json_array_get(tc, k);
		cr_assert_not_null(b, "no connection %s in nats-server", name);
		const char *fields[] = {"in_msgs",   "out_msgs",      "in_bytes",
					"out_bytes", "subscriptions", "pending_bytes"};
		for (size_t k = 0; k < sizeof(fields) / sizeof(fields[0]); k++)
			cr_expect_eq(num(a, fields[k]), num(b, fields[k]), "connection %zu %s", i,
				     fields[k]);
		cr_expect_str_eq(json_string_value(json_object_get(a, "name")),
				 json_string_value(json_object_get(b, "name")));
	}
	json_decref(ours);
	json_decref(theirs);

	ours = get_json(&natsd_side, "/connz?state=closed");
	cr_assert_eq(num(ours, "num_connections"), 1);
	json_t *closed = json_array_get(json_object_get(ours, "connections"), 0);
	cr_expect_str_eq(json_string_value(json_object_get(closed, "name")), "gamma");
	cr_expect_not_null(json_object_get(closed, "stop"));
	cr_expect_not_null(json_object_get(closed, "reason"));
	json_decref(ours);
}

ND_TEST(monitor, sorting_paging_and_filters)
{
	/* beta sent 3 messages, alpha none: msgs_from puts beta first, cid puts alpha first. */
	json_t *j = get_json(&natsd_side, "/connz?sort=msgs_from");
	json_t *c = json_object_get(j, "connections");
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(c, 0), "name")), "beta");
	json_decref(j);
	j = get_json(&natsd_side, "/connz?sort=cid&limit=1&offset=1");
	cr_assert_eq(num(j, "num_connections"), 1);
	cr_assert_eq(num(j, "total"), 2);
	cr_assert_eq(num(j, "limit"), 1);
	c = json_object_get(j, "connections");
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(c, 0), "name")), "beta");
	json_decref(j);
	/* out_msgs: alpha got hello and hi on foo, and abc on bar through its queue group. */
	j = get_json(&natsd_side, "/connz?sort=msgs_to");
	c = json_object_get(j, "connections");
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(c, 0), "name")), "alpha");
	cr_assert_eq(num(json_array_get(c, 0), "out_msgs"), 3);
	json_decref(j);
	/* subsz with a test subject: the two subscriptions on foo. */
	j = get_json(&natsd_side, "/subsz?subs=1&test=foo");
	cr_assert_eq(json_array_size(json_object_get(j, "subscriptions_list")), 2);
	json_decref(j);
	j = get_json(&natsd_side, "/subsz?subs=1&limit=1&offset=1");
	cr_assert_eq(json_array_size(json_object_get(j, "subscriptions_list")), 1);
	json_decref(j);
	/* An account natsd does not have: its statistics, nothing in them. */
	j = get_json(&natsd_side, "/subsz?subs=1&acc=nope");
	cr_assert_eq(num(j, "num_subscriptions"), 0);
	cr_assert_null(json_object_get(j, "subscriptions_list"));
	json_decref(j);
	/* http_req_stats counts what was asked. */
	j = get_json(&natsd_side, "/varz");
	json_t *rs = json_object_get(j, "http_req_stats");
	cr_assert_geq(num(rs, "/connz"), 3);
	cr_assert_geq(num(rs, "/subsz"), 2);
	json_decref(j);
}

ND_TEST(monitor, bad_requests_answer_like_the_reference)
{
	const char *targets[] = {
	    "/connz?sort=bogus",
	    "/connz?limit=abc",
	    "/connz?offset=1x",
	    "/connz?cid=abc",
	    "/connz?cid=-1",
	    "/connz?state=bogus",
	    "/connz?sort=stop",
	    "/connz?sort=reason&state=any",
	    "/connz?auth=maybe",
	    "/connz?subs=2",
	    "/subsz?test=foo.*",
	    "/subsz?subs=detail",
	    "/nope",
	    "/varz/",
	    "/healthz?js-enabled-only=x",
	    "//varz",
	    "/a/../healthz",
	    "/jsz?leader-only=true",
	    "/jsz?accounts=x",
	    "/routez?subs=zz",
	    "/leafz?subs=zz",
	    "/gatewayz?accs=zz",
	    "/accountz?acc=bogus",
	    "/healthz?js-enabled=x&js-enabled-only=y",
	    "/healthz?js-server-only=x",
	    "/connz?sort=ssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss"
	    "ssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss"
	    "ssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss"
	    "ssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss"};
	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		http_answer_t a, b;
		http_get(natsd_side.http_port, targets[i], &a);
		http_get(ref_side.http_port, targets[i], &b);
		cr_expect_eq(a.status, b.status, "%s: status %d, nats-server %d", targets[i],
			     a.status, b.status);
		cr_expect_str_eq(a.body, b.body, "%s", targets[i]);
		free(a.body);
		free(b.body);
	}
}

/* PINGs are not activity for /connz (the reference counts messages and interest only). */
ND_TEST(monitor, pings_do_not_count_as_activity)
{
	int fd = nd_test_connect(natsd_side.srv.port);
	char buf[4096];
	nd_test_read_until(fd, buf, sizeof(buf), "\r\n", 5000);
	send_and_sync(fd, "CONNECT {\"verbose\":false,\"name\":\"pinger\"}\r\nSUB p 1\r\n");
	for (int i = 0; i < 6; i++) {
		usleep(250000);
		send_and_sync(fd, "");
	}
	json_t *j = get_json(&natsd_side, "/connz?sort=last");
	json_t *c = json_object_get(j, "connections");
	json_t *mine = NULL;
	for (size_t i = 0; i < json_array_size(c); i++)
		if (strcmp(json_string_value(json_object_get(json_array_get(c, i), "name")),
			   "pinger") == 0)
			mine = json_array_get(c, i);
	cr_assert_not_null(mine);
	/* 1.5 s of PINGs after the last SUB: idle is at least a second (PINGs would reset it). */
	const char *idle = json_string_value(json_object_get(mine, "idle"));
	cr_assert(strcmp(idle, "0s") != 0, "idle %s: PINGs counted as activity", idle);
	json_decref(j);
	close(fd);
}

ND_TEST(monitor, oversized_request_is_refused)
{
	int fd = nd_test_connect(natsd_side.http_port);
	char line[8192];
	memset(line, 'a', sizeof(line));
	/* The server may answer and close before all of it is sent: stop at the first error. */
	send(fd, "GET /varz HTTP/1.1\r\nHost: x\r\n", 29, MSG_NOSIGNAL);
	for (int i = 0; i < 200; i++) {
		if (send(fd, "X-Big: ", 7, MSG_NOSIGNAL) <= 0 ||
		    send(fd, line, sizeof(line), MSG_NOSIGNAL) <= 0 ||
		    send(fd, "\r\n", 2, MSG_NOSIGNAL) <= 0)
			break;
	}
	char buf[4096];
	bool eof = false;
	size_t n = nd_test_read_idle(fd, buf, sizeof(buf) - 1, 2000, &eof);
	buf[n] = '\0';
	close(fd);
	cr_assert(strncmp(buf, "HTTP/1.1 431", 12) == 0, "answer: %s", buf);
}

/* A two-server cluster of one kind: the seed (monitored) and a peer with a subscription. */
typedef struct pair {
	nd_test_server_t seed, peer;
	int http_port, client;
} pair_t;

static int route_listen_port(nd_test_server_t *s)
{
	static const char needle[] = "Listening for route connections on 127.0.0.1:";
	cr_assert(nd_proc_wait_output(&s->proc, needle, 5000), "%s", s->proc.log);
	return atoi(strstr(s->proc.log, needle) + sizeof(needle) - 1);
}

static void start_pair(pair_t *p, nd_server_kind_t kind)
{
	const char *seed[] = {"-m", "-1", "--cluster", "nats://127.0.0.1:-1", "--cluster_name",
			      "c1", NULL};
	cr_assert_eq(nd_test_server_start(&p->seed, kind, seed), 0, "%s", p->seed.proc.log);
	p->http_port = logged_http_port(&p->seed);
	char routes[64];
	snprintf(routes, sizeof(routes), "nats://127.0.0.1:%d", route_listen_port(&p->seed));
	const char *peer[] = {
	    "--cluster", "nats://127.0.0.1:-1", "--cluster_name", "c1", "--routes", routes, NULL};
	cr_assert_eq(nd_test_server_start(&p->peer, kind, peer), 0, "%s", p->peer.proc.log);
	char buf[4096];
	p->client = nd_test_connect(p->peer.port);
	nd_test_read_until(p->client, buf, sizeof(buf), "\r\n", 5000);
	send_and_sync(p->client, "CONNECT {\"verbose\":false}\r\nSUB foo 1\r\nSUB bar 2\r\n");
	/* Wait until the seed has the route and the peer's two subscriptions. */
	side_t view = {.http_port = p->http_port};
	json_int_t subs = -1;
	size_t nroutes = 0;
	for (int i = 0; i < 100; i++) {
		json_t *r = get_json(&view, "/routez?subs=1");
		json_t *routes_arr = json_object_get(r, "routes");
		json_t *first = json_array_get(routes_arr, 0);
		subs = first ? json_integer_value(json_object_get(first, "subscriptions")) : 0;
		nroutes = json_array_size(routes_arr);
		json_decref(r);
		if (nroutes == 1 && subs >= 2)
			return;
		usleep(50000);
	}
	cr_assert_fail("%s: the seed never showed the route with its subscriptions (%zu routes, "
		       "%lld subscriptions)",
		       kind == ND_SERVER_NATSD ? "natsd" : "nats-server", nroutes, (long long)subs);
}

static void stop_pair(pair_t *p)
{
	close(p->client);
	nd_test_server_stop(&p->peer);
	nd_test_server_stop(&p->seed);
}

static pair_t ours_pair, theirs_pair;

/* The pairs are stopped by the suite's teardown too, should an assertion end the test. */
static void stop_pairs(void)
{
	pair_t *pairs[] = {&ours_pair, &theirs_pair};
	for (int i = 0; i < 2; i++) {
		if (pairs[i]->seed.proc.pid > 0)
			stop_pair(pairs[i]);
		memset(pairs[i], 0, sizeof(*pairs[i]));
	}
}

ND_TEST(monitor, cluster_endpoints_have_the_reference_shape)
{
	start_pair(&ours_pair, ND_SERVER_NATSD);
	start_pair(&theirs_pair, ND_SERVER_REFERENCE);
	const char *targets[] = {"/routez", "/routez?subs=1", "/routez?subs=detail", "/varz"};
	side_t o = {.http_port = ours_pair.http_port}, t = {.http_port = theirs_pair.http_port};
	int diffs = 0;
	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		json_t *a = get_json(&o, targets[i]), *b = get_json(&t, targets[i]);
		same_shape(a, b, targets[i], &diffs);
		if (strcmp(targets[i], "/varz") == 0) {
			json_t *ca = json_object_get(a, "cluster"),
			       *cb = json_object_get(b, "cluster");
			cr_assert_str_eq(json_string_value(json_object_get(ca, "name")), "c1");
			cr_assert_eq(json_integer_value(json_object_get(a, "routes")), 1);
			cr_assert_eq(json_integer_value(json_object_get(b, "routes")), 1);
			(void)cb;
		}
		json_decref(a);
		json_decref(b);
	}
	stop_pairs();
	cr_assert_eq(diffs, 0, "%d differences in shape", diffs);
}
