/* The cluster (route) port on the wire, differential: every test starts natsd and Debian's
 * nats-server with the same options, plays a fake route peer on each one's cluster port over a
 * raw socket (CONNECT + INFO as a 2.9 server sends them), and asserts the same answers from
 * both: INFO fields, the RS+/RS- interest replay and updates, RMSG/HMSG out and in, LS+/LS-/
 * LMSG, protocol errors, route auth and duplicate routes. natsd-only extras come last.
 *
 * The reference always runs a system account: its RS+/RS-/RMSG/HMSG for account $SYS are
 * dropped by the reader before anything is compared. PINGs from the server are answered and
 * not recorded; our PING/PONG round trips are fences (the server has processed everything we
 * sent before the PING). Where "nothing is sent" must be shown, a later event on the same
 * connection is awaited and the transcript up to it must not contain the unwanted frame:
 * routes and clients keep per-connection order. Every wait is bounded. */
#define _GNU_SOURCE
#include <jansson.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tests/support/nd_servers.h"
#include "tests/support/nd_test.h"

enum {
	WAIT_MS = 5000, /* bound for one answer */
	IDLE_MS = 150,  /* quiet period that counts as "nothing more" */
};

/* ---- servers ------------------------------------------------------------------------------ */

typedef struct side {
	nd_server_kind_t kind;
	nd_test_server_t srv;
	int cport; /* the cluster port it logged */
	bool up;
} side_t;

/* [0] the reference, [1] natsd: the reference runs first, so a failure there says the test
 * (not natsd) is wrong. */
static side_t sides[2] = {{.kind = ND_SERVER_REFERENCE}, {.kind = ND_SERVER_NATSD}};
static char conf_path[64];

static const char *kind_name(const side_t *s)
{
	return s->kind == ND_SERVER_NATSD ? "natsd" : "nats-server";
}

static void setup(void)
{
	if (!nd_reference_available()) {
		cr_assert(getenv("CI") == NULL,
			  "nats-server is not installed (CI must install it)");
		cr_skip_test("nats-server is not installed");
	}
}

static void teardown(void)
{
	for (int i = 0; i < 2; i++) {
		if (!sides[i].up)
			continue;
		sides[i].up = false;
		int code = nd_test_server_stop(&sides[i].srv);
		if (sides[i].kind == ND_SERVER_NATSD)
			cr_expect_eq(code, 0, "natsd exited %d: %s", code, sides[i].srv.proc.log);
	}
	if (conf_path[0] != '\0')
		unlink(conf_path);
	conf_path[0] = '\0';
}

TestSuite(route_wire, .init = setup, .fini = teardown, .timeout = 120);

static void start_side(side_t *s, const char *const *extra)
{
	cr_assert_eq(nd_test_server_start(&s->srv, s->kind, extra), 0, "%s did not start: %s",
		     kind_name(s), s->srv.proc.log);
	s->up = true;
	static const char needle[] = "Listening for route connections on 127.0.0.1:";
	/* nats-server may log "Server is ready" before the route listener. */
	cr_assert(nd_proc_wait_output(&s->srv.proc, needle, WAIT_MS), "%s: no route port: %s",
		  kind_name(s), s->srv.proc.log);
	s->cport = atoi(strstr(s->srv.proc.log, needle) + sizeof(needle) - 1);
	cr_assert_gt(s->cport, 0);
}

/* Both servers with --cluster on a free port and cluster name c1. */
static void start_both(void)
{
	static const char *const extra[] = {"--cluster", "nats://127.0.0.1:-1", "--cluster_name",
					    "c1", NULL};
	for (int i = 0; i < 2; i++)
		start_side(&sides[i], extra);
}

/* Both servers with a config file (the command line adds -a 127.0.0.1 -p -1). */
static void start_both_with_config(const char *text)
{
	snprintf(conf_path, sizeof(conf_path), "/tmp/nd-route-wire-XXXXXX");
	int fd = mkstemp(conf_path);
	cr_assert_geq(fd, 0, "mkstemp: %s", strerror(errno));
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	const char *const extra[] = {"-c", conf_path, NULL};
	for (int i = 0; i < 2; i++)
		start_side(&sides[i], extra);
}

/* ---- connections: frames in, PINGs answered, $SYS dropped ---------------------------------- */

typedef struct conn {
	int fd;
	const char *who; /* for messages */
	char raw[1 << 17];
	size_t rlen;
	char seen[1 << 16]; /* frames recorded so far, NUL-terminated */
	size_t slen;
	bool eof;
	int pongs;
} conn_t;

static conn_t *conn_new(int port, const char *who)
{
	conn_t *c = calloc(1, sizeof(*c));
	cr_assert_not_null(c);
	c->who = who;
	c->fd = nd_test_connect(port);
	cr_assert_geq(c->fd, 0, "%s: connect to %d failed", who, port);
	return c;
}

static void conn_free(conn_t *c)
{
	if (c == NULL)
		return;
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}

static void conn_send(conn_t *c, const char *s)
{
	nd_test_write(c->fd, s, strlen(s));
}

/* Token i (0-based, space separated) of a line; empty if absent. */
static size_t token(const char *line, size_t n, int i, const char **out)
{
	size_t k = 0;
	for (int t = 0;; t++) {
		while (k < n && line[k] == ' ')
			k++;
		size_t b = k;
		while (k < n && line[k] != ' ')
			k++;
		if (t == i || b == n) {
			*out = line + b;
			return k - b;
		}
	}
}

static bool tok_is(const char *line, size_t n, int i, const char *want)
{
	const char *t;
	size_t l = token(line, n, i, &t);
	return l == strlen(want) && memcmp(t, want, l) == 0;
}

/* Total frame length (line, CRLF and payload with its CRLF) of a complete frame at the start
 * of raw, or 0 if more bytes are needed. */
static size_t frame_len(conn_t *c, size_t *line_len, bool *has_payload)
{
	char *eol = memmem(c->raw, c->rlen, "\r\n", 2);
	if (eol == NULL)
		return 0;
	size_t n = (size_t)(eol - c->raw);
	*line_len = n;
	static const char *const with_payload[] = {"RMSG ", "HMSG ", "LMSG ", "MSG "};
	*has_payload = false;
	for (size_t i = 0; i < 4; i++)
		if (n >= strlen(with_payload[i]) &&
		    strncmp(c->raw, with_payload[i], strlen(with_payload[i])) == 0)
			*has_payload = true;
	if (!*has_payload)
		return n + 2;
	const char *last = c->raw + n;
	while (last > c->raw && last[-1] != ' ')
		last--;
	size_t size = strtoul(last, NULL, 10);
	size_t total = n + 2 + size + 2;
	return c->rlen >= total ? total : 0;
}

/* Account of an interest or message frame, if it has one. */
static bool is_sys(const char *line, size_t n)
{
	if (n >= 4 && (strncmp(line, "RS+ ", 4) == 0 || strncmp(line, "RS- ", 4) == 0 ||
		       strncmp(line, "LS- ", 4) == 0))
		return tok_is(line, n, 1, "$SYS");
	if (n >= 5 && (strncmp(line, "RMSG ", 5) == 0 || strncmp(line, "HMSG ", 5) == 0))
		return tok_is(line, n, 1, "$SYS");
	if (n >= 4 && strncmp(line, "LS+ ", 4) == 0)
		return tok_is(line, n, 2, "$SYS");
	if (n >= 5 && strncmp(line, "LMSG ", 5) == 0)
		return tok_is(line, n, 2, "$SYS");
	return false;
}

static void conn_frames(conn_t *c)
{
	for (;;) {
		size_t line_len;
		bool payload;
		size_t flen = frame_len(c, &line_len, &payload);
		if (flen == 0)
			return;
		if (line_len == 4 && memcmp(c->raw, "PING", 4) == 0) {
			nd_test_write(c->fd, "PONG\r\n", 6);
		} else if (line_len == 4 && memcmp(c->raw, "PONG", 4) == 0) {
			c->pongs++;
		} else if (!is_sys(c->raw, line_len)) {
			cr_assert_lt(c->slen + flen, sizeof(c->seen), "%s: transcript full",
				     c->who);
			memcpy(c->seen + c->slen, c->raw, flen);
			c->slen += flen;
			c->seen[c->slen] = '\0';
		}
		memmove(c->raw, c->raw + flen, c->rlen - flen);
		c->rlen -= flen;
	}
}

/* Reads what arrives within wait_ms (at most one wait). */
static void conn_pump(conn_t *c, int wait_ms)
{
	if (c->eof)
		return;
	struct pollfd p = {.fd = c->fd, .events = POLLIN};
	if (poll(&p, 1, wait_ms) <= 0)
		return;
	for (;;) {
		cr_assert_lt(c->rlen, sizeof(c->raw), "%s: unparsed input full", c->who);
		ssize_t n = recv(c->fd, c->raw + c->rlen, sizeof(c->raw) - c->rlen, MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			c->eof = true;
			break;
		}
		if (n < 0)
			break;
		c->rlen += (size_t)n;
		conn_frames(c);
	}
	conn_frames(c);
}

/* Pumps until the transcript contains needle; false on timeout or EOF without it. */
static bool conn_wait(conn_t *c, const char *needle, unsigned timeout_ms)
{
	uint64_t deadline = nd_test_now_ns() + (uint64_t)timeout_ms * 1000000u;
	while (strstr(c->seen, needle) == NULL) {
		uint64_t now = nd_test_now_ns();
		if (now >= deadline || c->eof)
			return strstr(c->seen, needle) != NULL;
		conn_pump(c, (int)((deadline - now) / 1000000u) + 1);
	}
	return true;
}

static void conn_expect(conn_t *c, const char *needle)
{
	cr_assert(conn_wait(c, needle, WAIT_MS), "%s: waited for [%s], got [%s]%s", c->who, needle,
		  c->seen, c->eof ? " and EOF" : "");
}

/* Waits until the server closes (bounded). */
static bool conn_wait_eof(conn_t *c, unsigned timeout_ms)
{
	uint64_t deadline = nd_test_now_ns() + (uint64_t)timeout_ms * 1000000u;
	while (!c->eof && nd_test_now_ns() < deadline)
		conn_pump(c, 50);
	return c->eof;
}

/* PING and wait for its PONG: the server has handled everything sent before. */
static void conn_fence(conn_t *c)
{
	int n = c->pongs;
	conn_send(c, "PING\r\n");
	uint64_t deadline = nd_test_now_ns() + (uint64_t)WAIT_MS * 1000000u;
	while (c->pongs <= n && !c->eof && nd_test_now_ns() < deadline)
		conn_pump(c, 50);
	cr_assert_gt(c->pongs, n, "%s: no PONG (eof %d), got [%s]", c->who, c->eof, c->seen);
}

/* Reads for a quiet IDLE_MS more. */
static void conn_settle(conn_t *c)
{
	uint64_t deadline = nd_test_now_ns() + (uint64_t)IDLE_MS * 1000000u;
	while (!c->eof && nd_test_now_ns() < deadline)
		conn_pump(c, 20);
}

static void conn_clear(conn_t *c)
{
	c->slen = 0;
	c->seen[0] = '\0';
}

/* Asserts the transcript is exactly `want`, then clears it. */
static void conn_assert_seen(conn_t *c, const char *want)
{
	cr_assert_str_eq(c->seen, want, "%s: expected [%s], got [%s]", c->who, want, c->seen);
	conn_clear(c);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Asserts the transcript holds exactly these lines (each without CRLF) in any order. */
static void conn_assert_lines_any_order(conn_t *c, const char *const *want, size_t nwant)
{
	char *copy = strdup(c->seen);
	char *lines[64];
	size_t n = 0;
	for (char *save = NULL, *l = strtok_r(copy, "\r\n", &save); l != NULL && n < 64;
	     l = strtok_r(NULL, "\r\n", &save))
		lines[n++] = l;
	const char *exp[64];
	for (size_t i = 0; i < nwant; i++)
		exp[i] = want[i];
	qsort(lines, n, sizeof(lines[0]), cmp_str);
	qsort(exp, nwant, sizeof(exp[0]), cmp_str);
	bool same = n == nwant;
	for (size_t i = 0; same && i < n; i++)
		same = strcmp(lines[i], exp[i]) == 0;
	free(copy);
	cr_assert(same, "%s: expected %zu lines, got [%s]", c->who, nwant, c->seen);
	conn_clear(c);
}

/* ---- clients ------------------------------------------------------------------------------ */

static conn_t *client_open(side_t *s, const char *connect_json)
{
	conn_t *c = conn_new(s->srv.port,
			     s->kind == ND_SERVER_NATSD ? "natsd client" : "nats-server client");
	conn_expect(c, "\r\n");
	cr_assert(strncmp(c->seen, "INFO ", 5) == 0, "%s: no INFO: %s", c->who, c->seen);
	conn_clear(c);
	char line[512];
	snprintf(line, sizeof(line), "CONNECT %s\r\n", connect_json);
	conn_send(c, line);
	conn_fence(c);
	conn_assert_seen(c, "");
	return c;
}

/* Sends and waits until the server has handled it. */
static void client_do(conn_t *c, const char *ops)
{
	conn_send(c, ops);
	conn_fence(c);
}

/* ---- fake route peer ---------------------------------------------------------------------- */

typedef struct peer_opts {
	const char *server_id; /* NULL: a fresh random one */
	const char *cluster;   /* NULL: c1 */
	const char *creds;     /* e.g. "\"user\":\"ru\",\"pass\":\"rp\"," or NULL */
} peer_opts_t;

static void random_id(char *out, size_t n)
{
	static unsigned seed;
	if (seed == 0)
		seed = (unsigned)getpid() ^ (unsigned)nd_test_now_ns();
	static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	snprintf(out, n, "NFAKEPEER");
	for (size_t i = strlen(out); i + 1 < n && i < 56; i++)
		out[i] = alpha[rand_r(&seed) % 32];
	out[n - 1 < 56 ? n - 1 : 56] = '\0';
}

typedef struct peer {
	conn_t *c;
	char id[64];
	char info[4096]; /* the server's INFO line, CRLF included */
} peer_t;

/* Connects and reads the server's INFO; nothing sent yet. */
static void peer_open(peer_t *p, side_t *s)
{
	memset(p, 0, sizeof(*p));
	p->c = conn_new(s->cport, s->kind == ND_SERVER_NATSD ? "natsd route" : "nats-server route");
	conn_expect(p->c, "\r\n");
	cr_assert(strncmp(p->c->seen, "INFO ", 5) == 0, "%s: no INFO: %s", p->c->who, p->c->seen);
	char *eol = strstr(p->c->seen, "\r\n");
	size_t n = (size_t)(eol + 2 - p->c->seen);
	cr_assert_lt(n, sizeof(p->info));
	memcpy(p->info, p->c->seen, n);
	p->info[n] = '\0';
	memmove(p->c->seen, p->c->seen + n, p->c->slen - n + 1);
	p->c->slen -= n;
}

/* CONNECT then INFO, as a 2.9.10 solicitor sends them. */
static void peer_hello(peer_t *p, const peer_opts_t *o)
{
	if (o != NULL && o->server_id != NULL)
		snprintf(p->id, sizeof(p->id), "%s", o->server_id);
	else
		random_id(p->id, sizeof(p->id));
	const char *cluster = o != NULL && o->cluster != NULL ? o->cluster : "c1";
	const char *creds = o != NULL && o->creds != NULL ? o->creds : "";
	char buf[2048];
	snprintf(buf, sizeof(buf),
		 "CONNECT {\"echo\":true,\"verbose\":false,\"pedantic\":false,%s"
		 "\"tls_required\":false,\"headers\":true,\"name\":\"%s\",\"cluster\":\"%s\","
		 "\"lnoc\":true}\r\n"
		 "INFO {\"server_id\":\"%s\",\"server_name\":\"fake\",\"version\":\"2.9.10\","
		 "\"proto\":2,\"host\":\"127.0.0.1\",\"port\":1,\"headers\":true,"
		 "\"max_payload\":1048576,\"cluster\":\"%s\",\"lnoc\":true}\r\n",
		 creds, p->id, cluster, p->id, cluster);
	conn_send(p->c, buf);
}

/* A registered fake route: open, hello, fence. */
static void peer_up(peer_t *p, side_t *s, const peer_opts_t *o)
{
	peer_open(p, s);
	peer_hello(p, o);
	conn_fence(p->c);
}

static void peer_close(peer_t *p)
{
	conn_free(p->c);
	p->c = NULL;
}

/* ---- 1. INFO on accept -------------------------------------------------------------------- */

typedef struct info_view {
	char keys[512]; /* key order, "go" left out */
	char version[32], nonce[32];
	json_int_t proto, port, max_payload;
	bool headers, lnoc, auth_required;
	char host[64], cluster[64];
	size_t id_len;
} info_view_t;

static void info_view(side_t *s, const char *line, info_view_t *v)
{
	memset(v, 0, sizeof(*v));
	size_t n = strlen(line);
	cr_assert(n > 8 && strncmp(line, "INFO {", 6) == 0, "%s: bad INFO: %s", kind_name(s), line);
	cr_assert(strcmp(line + n - 3, " \r\n") == 0, "%s: INFO must end with \" \\r\\n\": [%s]",
		  kind_name(s), line);
	json_error_t err;
	json_t *o = json_loadb(line + 5, n - 8, 0, &err);
	cr_assert_not_null(o, "%s: INFO JSON: %s: %s", kind_name(s), err.text, line);
	const char *k;
	json_t *val;
	json_object_foreach(o, k, val)
	{
		if (strcmp(k, "go") == 0)
			continue;
		strncat(v->keys, k, sizeof(v->keys) - strlen(v->keys) - 2);
		strcat(v->keys, ",");
	}
	const char *id = json_string_value(json_object_get(o, "server_id"));
	v->id_len = id != NULL ? strlen(id) : 0;
	snprintf(v->version, sizeof(v->version), "%s",
		 json_string_value(json_object_get(o, "version")) ?: "");
	snprintf(v->nonce, sizeof(v->nonce), "%s",
		 json_string_value(json_object_get(o, "nonce")) ?: "");
	snprintf(v->host, sizeof(v->host), "%s",
		 json_string_value(json_object_get(o, "host")) ?: "");
	snprintf(v->cluster, sizeof(v->cluster), "%s",
		 json_string_value(json_object_get(o, "cluster")) ?: "");
	v->proto = json_integer_value(json_object_get(o, "proto"));
	v->port = json_integer_value(json_object_get(o, "port"));
	v->max_payload = json_integer_value(json_object_get(o, "max_payload"));
	v->headers = json_is_true(json_object_get(o, "headers"));
	v->lnoc = json_is_true(json_object_get(o, "lnoc"));
	v->auth_required = json_is_true(json_object_get(o, "auth_required"));
	json_decref(o);
}

static void check_info(side_t *s, const info_view_t *v, bool auth)
{
	const char *k = kind_name(s);
	cr_expect_gt(v->id_len, 0, "%s: server_id", k);
	cr_expect_str_eq(v->version, "2.9.10", "%s: version", k);
	cr_expect_eq(v->proto, 2, "%s: proto", k);
	cr_expect_eq(strlen(v->nonce), 15, "%s: nonce [%s]", k, v->nonce);
	cr_expect_str_eq(v->host, "127.0.0.1", "%s: host", k);
	cr_expect_eq(v->port, s->cport, "%s: port %lld, cluster port %d", k, (long long)v->port,
		     s->cport);
	cr_expect(v->headers, "%s: headers", k);
	cr_expect_eq(v->max_payload, 1048576, "%s: max_payload", k);
	cr_expect_str_eq(v->cluster, "c1", "%s: cluster", k);
	cr_expect(v->lnoc, "%s: lnoc", k);
	cr_expect_eq(v->auth_required, auth, "%s: auth_required", k);
}

ND_TEST(route_wire, handshake_info)
{
	start_both();
	info_view_t v[2];
	for (int i = 0; i < 2; i++) {
		peer_t p;
		peer_open(&p, &sides[i]);
		info_view(&sides[i], p.info, &v[i]);
		check_info(&sides[i], &v[i], false);
		/* The handshake then registers the route: the server answers our PING. */
		peer_hello(&p, NULL);
		conn_fence(p.c);
		cr_assert(!p.c->eof);
		peer_close(&p);
		/* Every connection gets a fresh nonce. */
		info_view_t again;
		peer_open(&p, &sides[i]);
		info_view(&sides[i], p.info, &again);
		peer_close(&p);
		cr_expect_str_neq(again.nonce, v[i].nonce, "%s: the same nonce twice [%s]",
				  kind_name(&sides[i]), v[i].nonce);
	}
	cr_expect_eq(v[1].id_len, v[0].id_len, "server_id length: natsd %zu, nats-server %zu",
		     v[1].id_len, v[0].id_len);
	cr_expect_str_eq(v[1].keys, v[0].keys,
			 "INFO keys (without go): natsd [%s], "
			 "nats-server [%s]",
			 v[1].keys, v[0].keys);
}

/* ---- 2. interest replay and updates ------------------------------------------------------- */

ND_TEST(route_wire, interest_replay_and_updates)
{
	start_both();
	for (int i = 0; i < 2; i++) {
		side_t *s = &sides[i];
		conn_t *cl = client_open(s, "{\"verbose\":false}");
		client_do(cl, "SUB foo 1\r\nSUB foo 2\r\nSUB bar q1 3\r\nSUB bar q1 4\r\n");
		peer_t p;
		peer_up(&p, s, NULL);
		conn_wait(p.c, "RS+ $G bar q1 2\r\n", WAIT_MS);
		conn_wait(p.c, "RS+ $G foo\r\n", WAIT_MS);
		conn_fence(p.c);
		conn_settle(p.c);
		static const char *const replay[] = {"RS+ $G foo", "RS+ $G bar q1 2"};
		conn_assert_lines_any_order(p.c, replay, 2);

		/* One of two plain subs goes: nothing; the second: RS-. */
		client_do(cl, "UNSUB 1\r\n");
		client_do(cl, "UNSUB 2\r\n");
		conn_expect(p.c, "RS- $G foo\r\n");
		conn_assert_seen(p.c, "RS- $G foo\r\n");
		/* Queue members: the new weight, then RS- with the queue. */
		client_do(cl, "UNSUB 3\r\n");
		conn_expect(p.c, "RS+ $G bar q1 1\r\n");
		conn_assert_seen(p.c, "RS+ $G bar q1 1\r\n");
		client_do(cl, "UNSUB 4\r\n");
		conn_expect(p.c, "RS- $G bar q1\r\n");
		conn_assert_seen(p.c, "RS- $G bar q1\r\n");
		/* A new sub after the replay: RS+ at once; its client closing: RS-. */
		client_do(cl, "SUB late.* 5\r\nSUB lq g 6\r\n");
		conn_expect(p.c, "RS+ $G lq g 1\r\n");
		conn_assert_seen(p.c, "RS+ $G late.*\r\nRS+ $G lq g 1\r\n");
		conn_free(cl);
		conn_wait(p.c, "RS- $G late.*\r\n", WAIT_MS);
		conn_wait(p.c, "RS- $G lq g\r\n", WAIT_MS);
		conn_settle(p.c);
		static const char *const gone[] = {"RS- $G late.*", "RS- $G lq g"};
		conn_assert_lines_any_order(p.c, gone, 2);
		cr_assert(!p.c->eof, "%s: route closed", p.c->who);
		peer_close(&p);
	}
}

/* ---- 3. RMSG out -------------------------------------------------------------------------- */

ND_TEST(route_wire, rmsg_out)
{
	start_both();
	for (int i = 0; i < 2; i++) {
		side_t *s = &sides[i];
		peer_t p;
		peer_up(&p, s, NULL);
		conn_send(p.c, "RS+ $G data\r\nRS+ $G qd grp 1\r\nRS+ $G both\r\n"
			       "RS+ $G both g2 3\r\nRS+ $G wc.* w 1\r\n");
		conn_fence(p.c);
		conn_settle(p.c);
		conn_assert_seen(p.c, "");
		conn_t *cl = client_open(s, "{\"verbose\":false,\"headers\":true}");
		client_do(cl, "PUB data 5\r\nhello\r\n"
			      "PUB data rep 2\r\nhi\r\n"
			      "PUB qd 1\r\nx\r\n"
			      "PUB qd r9 1\r\ny\r\n"
			      "HPUB data 12 14\r\nNATS/1.0\r\n\r\nhi\r\n"
			      "HPUB qd rh 12 13\r\nNATS/1.0\r\n\r\nq\r\n"
			      "PUB both 1\r\nb\r\n"
			      "PUB wc.x 1\r\nw\r\n"
			      "PUB nobody 1\r\nn\r\n"
			      "PUB data 3\r\nend\r\n");
		conn_expect(p.c, "RMSG $G data 3\r\nend\r\n");
		conn_assert_seen(p.c, "RMSG $G data 5\r\nhello\r\n"
				      "RMSG $G data rep 2\r\nhi\r\n"
				      "RMSG $G qd | grp 1\r\nx\r\n"
				      "RMSG $G qd + r9 grp 1\r\ny\r\n"
				      "HMSG $G data 12 14\r\nNATS/1.0\r\n\r\nhi\r\n"
				      "HMSG $G qd + rh grp 12 13\r\nNATS/1.0\r\n\r\nq\r\n"
				      "RMSG $G both | g2 1\r\nb\r\n"
				      "RMSG $G wc.x | w 1\r\nw\r\n"
				      "RMSG $G data 3\r\nend\r\n");
		/* RS- takes the interest away again. */
		conn_send(p.c, "RS- $G data\r\nRS- $G qd grp\r\n");
		conn_fence(p.c);
		client_do(cl, "PUB data 1\r\n1\r\nPUB qd 1\r\n2\r\nPUB both 1\r\n3\r\n");
		conn_expect(p.c, "\r\n3\r\n");
		conn_assert_seen(p.c, "RMSG $G both | g2 1\r\n3\r\n");
		conn_free(cl);
		peer_close(&p);
	}
}

/* ---- 4. RMSG in --------------------------------------------------------------------------- */

ND_TEST(route_wire, rmsg_in)
{
	start_both();
	for (int i = 0; i < 2; i++) {
		side_t *s = &sides[i];
		conn_t *cl = client_open(s, "{\"verbose\":false,\"headers\":true}");
		client_do(cl, "SUB in.> 1\r\nSUB qin g1 2\r\n");
		peer_t p;
		peer_up(&p, s, NULL);
		conn_wait(p.c, "RS+ $G qin g1 1\r\n", WAIT_MS);
		conn_wait(p.c, "RS+ $G in.>\r\n", WAIT_MS);
		conn_settle(p.c);
		static const char *const replay[] = {"RS+ $G in.>", "RS+ $G qin g1 1"};
		conn_assert_lines_any_order(p.c, replay, 2);
		conn_send(p.c, "RMSG $G in.a 5\r\nhello\r\n"
			       "RMSG $G in.b rep 2\r\nhi\r\n"
			       "RMSG $G qin 1\r\nx\r\n"
			       "RMSG $G qin | g1 1\r\ny\r\n"
			       "RMSG $G qin + r1 g1 1\r\nz\r\n"
			       "RMSG $G qin | other 1\r\no\r\n"
			       "RMSG $NOPE in.c 1\r\nq\r\n"
			       "HMSG $G in.h 12 14\r\nNATS/1.0\r\n\r\nhi\r\n"
			       "HMSG $G qin + rh g1 12 13\r\nNATS/1.0\r\n\r\nh\r\n"
			       "RMSG $G in.end 3\r\nend\r\n");
		conn_fence(p.c);
		conn_expect(cl, "MSG in.end 1 3\r\nend\r\n");
		conn_assert_seen(cl, "MSG in.a 1 5\r\nhello\r\n"
				     "MSG in.b 1 rep 2\r\nhi\r\n"
				     "MSG qin 2 1\r\ny\r\n"
				     "MSG qin 2 r1 1\r\nz\r\n"
				     "HMSG in.h 1 12 14\r\nNATS/1.0\r\n\r\nhi\r\n"
				     "HMSG qin 2 rh 12 13\r\nNATS/1.0\r\n\r\nh\r\n"
				     "MSG in.end 1 3\r\nend\r\n");
		/* Nothing goes back to the peer (no route-to-route forwarding). */
		conn_settle(p.c);
		conn_assert_seen(p.c, "");
		cr_assert(!p.c->eof, "%s: route closed", p.c->who);
		conn_free(cl);
		peer_close(&p);
	}
}

/* ---- 5. LS+ / LS- / LMSG ------------------------------------------------------------------ */

ND_TEST(route_wire, leaf_ops)
{
	start_both();
	for (int i = 0; i < 2; i++) {
		side_t *s = &sides[i];
		conn_t *cl = client_open(s, "{\"verbose\":false,\"headers\":true}");
		client_do(cl, "SUB in.> 1\r\n");
		peer_t p;
		peer_up(&p, s, NULL);
		conn_expect(p.c, "RS+ $G in.>\r\n");
		conn_clear(p.c);
		conn_send(p.c, "LS+ leafcluster $G lf\r\nLS+ leafcluster $G lq lg 2\r\n"
			       "RS+ $G data\r\n");
		conn_fence(p.c);
		client_do(cl, "PUB lf 5\r\nhello\r\nPUB lf r 2\r\nhi\r\nPUB lq 1\r\nq\r\n"
			      "PUB data 1\r\nd\r\n");
		conn_expect(p.c, "RMSG $G data 1\r\nd\r\n");
		conn_assert_seen(p.c, "RMSG $G lf 5\r\nhello\r\n"
				      "RMSG $G lf r 2\r\nhi\r\n"
				      "RMSG $G lq | lg 1\r\nq\r\n"
				      "RMSG $G data 1\r\nd\r\n");

		conn_send(p.c, "LMSG leafcluster $G in.l 0 5\r\nhello\r\n"
			       "LMSG leafcluster $G in.r rr 0 2\r\nhi\r\n"
			       "LMSG leafcluster $G in.h 12 14\r\nNATS/1.0\r\n\r\nhi\r\n"
			       "RMSG $G in.end 1\r\ne\r\n");
		conn_fence(p.c);
		conn_expect(cl, "MSG in.end 1 1\r\ne\r\n");
		conn_assert_seen(cl, "MSG in.l 1 5\r\nhello\r\n"
				     "MSG in.r 1 rr 2\r\nhi\r\n"
				     "HMSG in.h 1 12 14\r\nNATS/1.0\r\n\r\nhi\r\n"
				     "MSG in.end 1 1\r\ne\r\n");

		conn_send(p.c, "LS- $G lf\r\nLS- $G lq lg\r\n");
		conn_fence(p.c);
		client_do(cl, "PUB lf 1\r\nx\r\nPUB lq 1\r\ny\r\nPUB data 1\r\nz\r\n");
		conn_expect(p.c, "RMSG $G data 1\r\nz\r\n");
		conn_assert_seen(p.c, "RMSG $G data 1\r\nz\r\n");
		cr_assert(!p.c->eof, "%s: route closed", p.c->who);
		conn_free(cl);
		peer_close(&p);
	}
}

/* ---- 6. errors ---------------------------------------------------------------------------- */

/* What the server sends after its INFO (PINGs and $SYS left out) until it closes, for a
 * connection on which we send `hello` (may be NULL) then `bytes`. */
static void route_attempt(side_t *s, const peer_opts_t *hello, const char *bytes,
			  unsigned close_within_ms, char *out, size_t cap, bool *closed)
{
	peer_t p;
	peer_open(&p, s);
	if (hello != NULL)
		peer_hello(&p, hello);
	if (bytes != NULL)
		conn_send(p.c, bytes);
	*closed = conn_wait_eof(p.c, close_within_ms);
	size_t n = strlen(p.c->seen);
	if (n >= cap)
		n = cap - 1;
	memcpy(out, p.c->seen, n);
	out[n] = '\0';
	peer_close(&p);
}

typedef struct err_case {
	const char *name;
	peer_opts_t hello;
	bool send_hello;
	const char *bytes;
	const char *want;
} err_case_t;

static void run_err_cases(const err_case_t *cases, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		char got[2][4096];
		for (int i = 0; i < 2; i++) {
			bool closed;
			route_attempt(&sides[i], cases[k].send_hello ? &cases[k].hello : NULL,
				      cases[k].bytes, WAIT_MS, got[i], sizeof(got[i]), &closed);
			cr_expect(closed, "%s: %s: the connection stayed open", cases[k].name,
				  kind_name(&sides[i]));
			/* After a hello the reference may replay its $SYS interest first (dropped)
			 * and nothing else: the -ERR is the only frame. */
			cr_expect_str_eq(got[i], cases[k].want, "%s: %s sent [%s]", cases[k].name,
					 kind_name(&sides[i]), got[i]);
		}
		cr_expect_str_eq(got[1], got[0], "%s: natsd [%s], nats-server [%s]", cases[k].name,
				 got[1], got[0]);
	}
}

ND_TEST(route_wire, errors)
{
	start_both();
	const err_case_t cases[] = {
	    {"client CONNECT",
	     {0},
	     false,
	     "CONNECT {\"verbose\":false,\"pedantic\":false,\"lang\":\"c\",\"version\":\"3.0\","
	     "\"protocol\":1}\r\n",
	     "-ERR 'attempted to connect to route port'\r\n"},
	    {"client CONNECT then PING",
	     {0},
	     false,
	     "CONNECT {\"lang\":\"go\"}\r\nPING\r\n",
	     "-ERR 'attempted to connect to route port'\r\n"},
	    {"other cluster",
	     {.cluster = "other"},
	     true,
	     NULL,
	     "-ERR 'Rejecting connection, cluster name \"other\" does not match \"c1\"'\r\n"},
	    {"garbage before CONNECT",
	     {0},
	     false,
	     "FOO BAR\r\n",
	     "-ERR 'Unknown Protocol Operation'\r\n"},
	    {"garbage after the handshake",
	     {0},
	     true,
	     "FOO BAR\r\n",
	     "-ERR 'Unknown Protocol Operation'\r\n"},
	    {"payload without CRLF",
	     {0},
	     true,
	     "RMSG $G x 2\r\nhiXX",
	     "-ERR 'Unknown Protocol Operation'\r\n"},
	};
	run_err_cases(cases, sizeof(cases) / sizeof(cases[0]));

	/* natsd only: the reference has no control line limit on routes. */
	peer_t p;
	peer_up(&p, &sides[1], NULL);
	size_t n = 100 * 1024;
	char *flood = malloc(n);
	memset(flood, 'x', n);
	memcpy(flood, "RS+ $G ", 7);
	send(p.c->fd, flood, n, MSG_NOSIGNAL);
	free(flood);
	cr_expect(conn_wait_eof(p.c, WAIT_MS), "natsd: a 100 KiB line did not close the route");
	cr_expect(strstr(p.c->seen, "-ERR 'maximum control line exceeded'\r\n") != NULL,
		  "natsd: got [%s]", p.c->seen);
	peer_close(&p);
	/* natsd is still fine: a new route registers. */
	peer_up(&p, &sides[1], NULL);
	cr_assert(!p.c->eof);
	peer_close(&p);
}

ND_TEST(route_wire, auth)
{
	start_both_with_config("cluster {\n  name: c1\n  listen: 127.0.0.1:-1\n"
			       "  authorization { user: ru, password: rp, timeout: 1 }\n}\n");
	info_view_t v[2];
	for (int i = 0; i < 2; i++) {
		peer_t p;
		peer_open(&p, &sides[i]);
		info_view(&sides[i], p.info, &v[i]);
		check_info(&sides[i], &v[i], true);
		peer_close(&p);
	}
	cr_expect_str_eq(v[1].keys, v[0].keys,
			 "INFO keys (without go): natsd [%s], nats-server [%s]", v[1].keys,
			 v[0].keys);
	const err_case_t cases[] = {
	    {"wrong password",
	     {.creds = "\"user\":\"ru\",\"pass\":\"nope\","},
	     true,
	     NULL,
	     "-ERR 'Authorization Violation'\r\n"},
	    {"wrong user",
	     {.creds = "\"user\":\"rx\",\"pass\":\"rp\","},
	     true,
	     NULL,
	     "-ERR 'Authorization Violation'\r\n"},
	    {"no credentials", {0}, true, NULL, "-ERR 'Authorization Violation'\r\n"},
	};
	run_err_cases(cases, sizeof(cases) / sizeof(cases[0]));

	/* Silence: the auth timeout (1 s) closes the connection. */
	for (int i = 0; i < 2; i++) {
		char got[4096];
		bool closed;
		uint64_t t0 = nd_test_now_ns();
		route_attempt(&sides[i], NULL, NULL, 4000, got, sizeof(got), &closed);
		uint64_t ms = (nd_test_now_ns() - t0) / 1000000u;
		cr_expect(closed, "%s: silent connection not closed", kind_name(&sides[i]));
		cr_expect_str_eq(got, "-ERR 'Authentication Timeout'\r\n", "%s: sent [%s]",
				 kind_name(&sides[i]), got);
		cr_expect(ms >= 800 && ms < 3000, "%s: closed after %llu ms", kind_name(&sides[i]),
			  (unsigned long long)ms);
	}

	/* The right credentials: the route registers and interest flows. */
	for (int i = 0; i < 2; i++) {
		peer_t p;
		peer_opts_t o = {.creds = "\"user\":\"ru\",\"pass\":\"rp\","};
		peer_up(&p, &sides[i], &o);
		conn_t *cl = client_open(&sides[i], "{\"verbose\":false}");
		client_do(cl, "SUB authed 1\r\n");
		conn_expect(p.c, "RS+ $G authed\r\n");
		/* Past the auth timeout, the route is still up. */
		usleep(1300000);
		conn_fence(p.c);
		cr_assert(!p.c->eof, "%s: authenticated route closed", p.c->who);
		conn_assert_seen(p.c, "RS+ $G authed\r\n");
		conn_free(cl);
		peer_close(&p);
	}
}

/* ---- 7. routes to self and duplicate routes ----------------------------------------------- */

ND_TEST(route_wire, self_and_duplicate)
{
	start_both();
	for (int i = 0; i < 2; i++) {
		side_t *s = &sides[i];
		peer_t a;
		peer_up(&a, s, NULL);
		conn_settle(a.c);
		conn_clear(a.c);

		/* Same server_id as the established peer: the new connection is closed, no -ERR. */
		peer_t b;
		peer_open(&b, s);
		peer_opts_t same = {.server_id = a.id};
		peer_hello(&b, &same);
		cr_expect(conn_wait_eof(b.c, WAIT_MS), "%s: duplicate route kept open", b.c->who);
		cr_expect_str_eq(b.c->seen, "", "%s: duplicate route got [%s]", b.c->who,
				 b.c->seen);
		peer_close(&b);

		/* The server's own server_id: closed, no -ERR. */
		peer_t self;
		peer_open(&self, s);
		json_t *o = json_loads(self.info + 5, 0, NULL);
		cr_assert_not_null(o);
		peer_opts_t own = {.server_id = json_string_value(json_object_get(o, "server_id"))};
		peer_hello(&self, &own);
		json_decref(o);
		cr_expect(conn_wait_eof(self.c, WAIT_MS), "%s: route to self kept open",
			  self.c->who);
		cr_expect_str_eq(self.c->seen, "", "%s: route to self got [%s]", self.c->who,
				 self.c->seen);
		peer_close(&self);

		/* The first one still works. */
		conn_t *cl = client_open(s, "{\"verbose\":false}");
		client_do(cl, "SUB after.dup 1\r\n");
		conn_expect(a.c, "RS+ $G after.dup\r\n");
		conn_assert_seen(a.c, "RS+ $G after.dup\r\n");
		conn_send(a.c, "RS+ $G to.peer\r\n");
		conn_fence(a.c);
		client_do(cl, "PUB to.peer 2\r\nok\r\n");
		conn_expect(a.c, "RMSG $G to.peer 2\r\nok\r\n");
		cr_assert(!a.c->eof);
		conn_free(cl);

		/* Once it is gone, its server_id may connect again. */
		peer_close(&a);
		usleep(100000);
		peer_t again;
		peer_opts_t same_again = {.server_id = b.id};
		uint64_t deadline = nd_test_now_ns() + (uint64_t)WAIT_MS * 1000000u;
		for (;;) {
			peer_open(&again, s);
			peer_hello(&again, &same_again);
			conn_send(again.c, "PING\r\n");
			int n = again.c->pongs;
			while (again.c->pongs == n && !again.c->eof && nd_test_now_ns() < deadline)
				conn_pump(again.c, 50);
			if (!again.c->eof || nd_test_now_ns() >= deadline)
				break;
			peer_close(&again); /* the old route was not removed yet */
			usleep(50000);
		}
		cr_assert(!again.c->eof, "%s: the id stayed taken after its route closed",
			  kind_name(s));
		peer_close(&again);
	}
}
