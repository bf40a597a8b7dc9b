/* Clustering (routes) with the official C client (libnats): three-node clusters whose nodes are
 * natsd or Debian's nats-server, in any mix. Each scenario is a function taking the node kinds;
 * the matrix at the end runs it on {nats,nats,nats} (the harness against the reference),
 * {natsd,natsd,natsd}, {natsd,natsd,nats} and {natsd,nats,nats}.
 *
 * Every node gets a config file (client, cluster and monitoring ports picked free on 127.0.0.1).
 * Node 0 is the seed; the others list only the seed, so the full mesh has to come from gossip.
 * A node is ready when it logs "Server is ready"; the cluster is formed when every node's
 * /routez says num_routes == n-1. Interest propagates asynchronously, so before counting
 * anything a test publishes "probe" messages until each subscriber has seen one, and a test
 * that counts ends each publisher's stream with a fence ("f:<node>"): routes keep per-publisher
 * order, so once a subscriber has the fence of every publisher it has everything they sent.
 *
 * The servers are children of the test process with PR_SET_PDEATHSIG, so a test that times out
 * (Criterion kills its worker) does not leave nodes behind; teardown stops them by pid. */
#define _GNU_SOURCE
#include <nats/nats.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "tests/support/nd_servers.h"
#include "tests/support/nd_test.h"

#define NATS ND_SERVER_REFERENCE
#define NATSD ND_SERVER_NATSD

enum {
	NODES = 3,
	WAIT_MS = 5000,       /* bound for one message or interest to cross the cluster */
	MESH_WAIT_MS = 10000, /* bound for routes to form */
	MAX_PER_PUB = 1024,   /* messages one collector records per publisher */
};

typedef struct node {
	nd_server_kind_t kind;
	nd_proc_t proc;
	int port, cluster_port, http_port;
	char conf[160];
	char url[64];
	bool up;
} node_t;

typedef struct cluster {
	int n;
	char dir[64];
	node_t nodes[NODES];
} cluster_t;

static cluster_t cl;

static uint64_t now_ms(void)
{
	return nd_test_now_ns() / 1000000u;
}

static const char *kind_name(nd_server_kind_t k)
{
	return k == NATSD ? "natsd" : "nats-server";
}

/* ---- processes ---------------------------------------------------------------------------- */

/* Reads whatever the nodes logged, so that a chatty node never blocks on a full pipe. */
static void cluster_pump(void)
{
	for (int i = 0; i < cl.n; i++)
		if (cl.nodes[i].up)
			nd_proc_wait_output(&cl.nodes[i].proc, "\x01 never logged", 1);
}

/* fork+exec rather than nd_proc_spawn: the child must die with the test process. */
static void node_spawn(node_t *nd)
{
	const char *bin = nd->kind == NATSD ? nd_natsd_path() : nd_reference_path();
	memset(&nd->proc, 0, sizeof(nd->proc));
	nd->proc.pid = -1;
	nd->proc.out_fd = -1;
	int fds[2];
	cr_assert_eq(pipe2(fds, O_CLOEXEC), 0);
	pid_t parent = getpid();
	pid_t pid = fork();
	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		dup2(fds[1], STDOUT_FILENO);
		dup2(fds[1], STDERR_FILENO);
		execl(bin, bin, "-c", nd->conf, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	nd->proc.pid = pid;
	nd->proc.out_fd = fds[0];
	fcntl(fds[0], F_SETFL, O_NONBLOCK);
}

static bool port_accepts(int port)
{
	int fd = nd_test_connect(port);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* Starts node i and waits until it is ready and its route port accepts. False if the process
 * did not get there (its log says why); the caller decides whether that fails the test. */
static bool node_try_start(int i)
{
	node_t *nd = &cl.nodes[i];
	node_spawn(nd);
	nd->up = true;
	if (!nd_proc_wait_output(&nd->proc, "Server is ready", 10000))
		return false;
	/* "Server is ready" may precede the route listener (nats-server logs it first). */
	uint64_t deadline = now_ms() + WAIT_MS;
	while (!port_accepts(nd->cluster_port)) {
		if (now_ms() >= deadline || nd_proc_wait_exit(&nd->proc, 0) != -1)
			return false;
		cluster_pump();
		usleep(5000);
	}
	return true;
}

static void node_start(int i)
{
	node_t *nd = &cl.nodes[i];
	cr_assert(node_try_start(i), "node %d (%s) did not start (ports %d/%d/%d):\n%s", i,
		  kind_name(nd->kind), nd->port, nd->cluster_port, nd->http_port, nd->proc.log);
}

/* SIGKILL, reaped; the node can be started again with the same config (same ports). */
static void node_kill(int i)
{
	node_t *nd = &cl.nodes[i];
	nd_proc_signal(&nd->proc, SIGKILL);
	nd_proc_wait_exit(&nd->proc, 5000);
	nd_proc_cleanup(&nd->proc);
	nd->up = false;
}

/* Fails the test if a node that should be running has exited (crashed). */
static void cluster_assert_alive(void)
{
	for (int i = 0; i < cl.n; i++) {
		node_t *nd = &cl.nodes[i];
		if (!nd->up)
			continue;
		int code = nd_proc_wait_exit(&nd->proc, 0);
		cr_assert_eq(code, -1, "node %d (%s) exited with %d:\n%s", i, kind_name(nd->kind),
			     code, nd->proc.log);
	}
}

/* Free ports on 127.0.0.1, all different. Picked at random below the kernel's ephemeral range
 * when there is room, so that no outgoing connection (a route, a client, another test's
 * "-p -1" server) can take one between this check and the node's bind; a test running at the
 * same time could still pick the same one, which cluster_start handles by trying again. */
static void free_ports(int *out, int count)
{
	int fds[16], lo = 32768;
	cr_assert_leq(count, 16);
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
	if (f != NULL) {
		if (fscanf(f, "%d", &lo) != 1)
			lo = 32768;
		fclose(f);
	}
	bool below = lo > 12000;
	unsigned seed = (unsigned)getpid() ^ (unsigned)nd_test_now_ns();
	for (int i = 0; i < count; i++) {
		for (int tries = 0;; tries++) {
			cr_assert_lt(tries, 1000, "no free port");
			fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
			cr_assert_geq(fds[i], 0);
			int want =
			    below ? 10000 + (int)(rand_r(&seed) % (unsigned)(lo - 10000)) : 0;
			struct sockaddr_in a = {.sin_family = AF_INET,
						.sin_port = htons((uint16_t)want)};
			inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
			socklen_t len = sizeof(a);
			if (bind(fds[i], (struct sockaddr *)&a, sizeof(a)) == 0 &&
			    listen(fds[i], 1) == 0 &&
			    getsockname(fds[i], (struct sockaddr *)&a, &len) == 0) {
				out[i] = ntohs(a.sin_port);
				break;
			}
			close(fds[i]);
		}
	}
	for (int i = 0; i < count; i++)
		close(fds[i]);
}

static void write_conf(int i)
{
	node_t *nd = &cl.nodes[i];
	snprintf(nd->conf, sizeof(nd->conf), "%s/n%d.conf", cl.dir, i);
	FILE *f = fopen(nd->conf, "w");
	cr_assert_not_null(f, "%s: %s", nd->conf, strerror(errno));
	fprintf(f,
		"host: 127.0.0.1\n"
		"port: %d\n"
		"server_name: n%d\n"
		"http: 127.0.0.1:%d\n"
		"cluster {\n"
		"  name: c1\n"
		"  listen: 127.0.0.1:%d\n",
		nd->port, i, nd->http_port, nd->cluster_port);
	if (i != 0)
		fprintf(f, "  routes: [ nats-route://127.0.0.1:%d ]\n", cl.nodes[0].cluster_port);
	fprintf(f, "}\n");
	fclose(f);
}

/* ---- monitoring --------------------------------------------------------------------------- */

/* GET on the node's monitoring port; the body (malloc'd) or NULL if the node does not answer. */
static char *http_get(int i, const char *target)
{
	int fd = nd_test_connect(cl.nodes[i].http_port);
	if (fd < 0)
		return NULL;
	char req[256];
	int n = snprintf(req, sizeof(req),
			 "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", target);
	if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
		close(fd);
		return NULL;
	}
	size_t cap = 1 << 20;
	char *buf = malloc(cap);
	bool eof = false;
	size_t got = nd_test_read_idle(fd, buf, cap - 1, 2000, &eof);
	close(fd);
	buf[got] = '\0';
	char *body = strstr(buf, "\r\n\r\n");
	if (strncmp(buf, "HTTP/1.1 200", 12) != 0 || body == NULL) {
		free(buf);
		return NULL;
	}
	memmove(buf, body + 4, strlen(body + 4) + 1);
	return buf;
}

/* The integer after "key": in a JSON document, or -1. */
static long json_int(const char *doc, const char *key)
{
	char pat[64];
	snprintf(pat, sizeof(pat), "\"%s\"", key);
	const char *p = strstr(doc, pat);
	if (p == NULL)
		return -1;
	p += strlen(pat);
	while (*p == ' ' || *p == ':' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return *p >= '0' && *p <= '9' ? strtol(p, NULL, 10) : -1;
}

/* The string after "key": (first occurrence), copied into out. */
static bool json_str(const char *doc, const char *key, char *out, size_t cap)
{
	char pat[64];
	snprintf(pat, sizeof(pat), "\"%s\"", key);
	const char *p = strstr(doc, pat);
	if (p == NULL)
		return false;
	p += strlen(pat);
	while (*p == ' ' || *p == ':')
		p++;
	if (*p++ != '"')
		return false;
	size_t n = 0;
	while (*p != '"' && *p != '\0' && n + 1 < cap)
		out[n++] = *p++;
	out[n] = '\0';
	return *p == '"';
}

static long num_routes(int i)
{
	char *doc = http_get(i, "/routez");
	long n = doc != NULL ? json_int(doc, "num_routes") : -1;
	free(doc);
	return n;
}

/* Waits until every running node has a route to every other running node. */
static void cluster_wait_routes(void)
{
	int up = 0;
	for (int i = 0; i < cl.n; i++)
		up += cl.nodes[i].up;
	uint64_t deadline = now_ms() + MESH_WAIT_MS;
	long got[NODES] = {0};
	for (;;) {
		bool all = true;
		for (int i = 0; i < cl.n; i++) {
			if (!cl.nodes[i].up)
				continue;
			got[i] = num_routes(i);
			all = all && got[i] == up - 1;
		}
		if (all)
			return;
		if (now_ms() >= deadline)
			break;
		cluster_pump();
		usleep(20000);
	}
	cluster_assert_alive();
	cr_assert_fail("no full mesh after %d ms: num_routes %ld/%ld/%ld, want %d\n"
		       "node 0:\n%s\nnode 1:\n%s\nnode 2:\n%s",
		       MESH_WAIT_MS, got[0], got[1], got[2], up - 1, cl.nodes[0].proc.log,
		       cl.nodes[1].proc.log, cl.nodes[2].proc.log);
}

static void cluster_start(const nd_server_kind_t kinds[NODES])
{
	memset(&cl, 0, sizeof(cl));
	cl.n = NODES;
	snprintf(cl.dir, sizeof(cl.dir), "/tmp/nd-cluster-XXXXXX");
	cr_assert_not_null(mkdtemp(cl.dir), "mkdtemp: %s", strerror(errno));
	for (int attempt = 1;; attempt++) {
		int ports[3 * NODES];
		free_ports(ports, 3 * NODES);
		for (int i = 0; i < cl.n; i++) {
			node_t *nd = &cl.nodes[i];
			nd->kind = kinds[i];
			nd->proc.pid = -1;
			nd->proc.out_fd = -1;
			nd->port = ports[3 * i];
			nd->cluster_port = ports[3 * i + 1];
			nd->http_port = ports[3 * i + 2];
			snprintf(nd->url, sizeof(nd->url), "nats://127.0.0.1:%d", nd->port);
			write_conf(i);
		}
		int failed = -1;
		for (int i = 0; i < cl.n && failed < 0; i++)
			if (!node_try_start(i))
				failed = i;
		if (failed < 0)
			break;
		/* lost a port race: start over on new ports; anything else fails */
		node_t *nd = &cl.nodes[failed];
		bool race = strcasestr(nd->proc.log, "address already in use") != NULL;
		cr_assert(race && attempt < 3, "node %d (%s) did not start (attempt %d):\n%s",
			  failed, kind_name(nd->kind), attempt, nd->proc.log);
		cr_log_warn("node %d: port taken, starting the cluster again", failed);
		for (int i = 0; i < cl.n; i++)
			if (cl.nodes[i].up)
				node_kill(i);
	}
	cluster_wait_routes();
}

/* Stops every node (SIGCONT first, in case a test stopped one; then SIGTERM) and removes the
 * files. With check, a natsd node that did not exit 0 or printed a sanitizer report fails the
 * test (leaks make the exit code non-zero too). */
static void stop_nodes(bool check)
{
	bool clean = true;
	char what[160] = "";
	for (int i = 0; i < cl.n; i++) {
		node_t *nd = &cl.nodes[i];
		if (nd->proc.pid > 0) {
			nd_proc_signal(&nd->proc, SIGCONT);
			nd_proc_signal(&nd->proc, SIGTERM);
			int code = nd_proc_wait_exit(&nd->proc, 5000);
			bool ok = nd->kind != NATSD ||
				  (code == 0 && strstr(nd->proc.log, "Sanitizer") == NULL &&
				   strstr(nd->proc.log, "runtime error") == NULL);
			if (!ok) {
				fprintf(stderr, "node %d (natsd) did not exit cleanly (%d):\n%s\n",
					i, code, nd->proc.log);
				snprintf(what, sizeof(what),
					 "node %d (natsd) did not exit cleanly (%d)", i, code);
				clean = false;
			}
			nd_proc_cleanup(&nd->proc);
		}
		nd->up = false;
		if (nd->conf[0] != '\0')
			unlink(nd->conf);
		nd->conf[0] = '\0';
	}
	if (cl.dir[0] != '\0')
		rmdir(cl.dir);
	cl.dir[0] = '\0';
	cl.n = 0;
	if (check)
		cr_assert(clean, "%s", what);
}

static void teardown(void)
{
	stop_nodes(false);
}

TestSuite(cluster, .fini = teardown, .timeout = 60);

/* ---- clients and messages ----------------------------------------------------------------- */

static natsConnection *connect_node(int i)
{
	natsOptions *o = NULL;
	natsConnection *nc = NULL;
	cr_assert_eq(natsOptions_Create(&o), NATS_OK);
	natsOptions_SetURL(o, cl.nodes[i].url);
	natsOptions_SetAllowReconnect(o, false);
	natsStatus s = natsConnection_Connect(&nc, o);
	natsOptions_Destroy(o);
	cr_assert_eq(s, NATS_OK, "connect to node %d: %s", i, natsStatus_GetText(s));
	return nc;
}

static natsSubscription *sub_sync(natsConnection *nc, const char *subject)
{
	natsSubscription *sub = NULL;
	cr_assert_eq(natsConnection_SubscribeSync(&sub, nc, subject), NATS_OK);
	cr_assert_eq(natsSubscription_SetPendingLimits(sub, -1, -1), NATS_OK);
	cr_assert_eq(natsConnection_FlushTimeout(nc, WAIT_MS), NATS_OK);
	return sub;
}

static bool payload_is(natsMsg *m, const char *s)
{
	size_t n = strlen(s);
	return (size_t)natsMsg_GetDataLength(m) == n && memcmp(natsMsg_GetData(m), s, n) == 0;
}

static bool payload_starts(natsMsg *m, const char *s)
{
	size_t n = strlen(s);
	return (size_t)natsMsg_GetDataLength(m) >= n && memcmp(natsMsg_GetData(m), s, n) == 0;
}

static void publish(natsConnection *nc, const char *subject, const char *payload)
{
	natsStatus s = natsConnection_PublishString(nc, subject, payload);
	cr_assert_eq(s, NATS_OK, "publish %s: %s", subject, natsStatus_GetText(s));
}

static void flush(natsConnection *nc)
{
	natsStatus s = natsConnection_FlushTimeout(nc, WAIT_MS);
	cr_assert_eq(s, NATS_OK, "flush: %s", natsStatus_GetText(s));
}

/* Publishes "probe" on subject from pub until each of subs has received one: then pub's node
 * knows their interest. Messages other than probes are not expected meanwhile. */
static void await_interest(natsConnection *pub, const char *subject, natsSubscription *const *subs,
			   int nsubs)
{
	bool seen[16] = {false};
	int left = nsubs;
	uint64_t start = now_ms(), last_pump = start;
	cr_assert_leq(nsubs, 16);
	while (left > 0) {
		cr_assert_lt(now_ms() - start, (uint64_t)WAIT_MS,
			     "interest in '%s' did not propagate in %d ms (%d of %d subscribers "
			     "missing)",
			     subject, WAIT_MS, left, nsubs);
		publish(pub, subject, "probe");
		flush(pub);
		for (int k = 0; k < nsubs; k++) {
			natsMsg *m = NULL;
			while (!seen[k] && natsSubscription_NextMsg(&m, subs[k], 10) == NATS_OK) {
				cr_assert(payload_is(m, "probe"),
					  "unexpected message on '%s' while probing: %.*s",
					  natsMsg_GetSubject(m), natsMsg_GetDataLength(m),
					  natsMsg_GetData(m));
				seen[k] = true;
				left--;
				natsMsg_Destroy(m);
			}
		}
		if (now_ms() - last_pump > 100) {
			cluster_pump();
			last_pump = now_ms();
		}
	}
}

static void await_one(natsConnection *pub, const char *subject, natsSubscription *sub)
{
	await_interest(pub, subject, &sub, 1);
}

/* Fails if a data message (not a probe or fence) arrives within ms. */
static void expect_quiet(natsSubscription *sub, int64_t ms)
{
	uint64_t deadline = now_ms() + (uint64_t)ms;
	for (;;) {
		uint64_t now = now_ms();
		if (now >= deadline)
			return;
		natsMsg *m = NULL;
		natsStatus s = natsSubscription_NextMsg(&m, sub, (int64_t)(deadline - now));
		if (s == NATS_TIMEOUT)
			return;
		cr_assert_eq(s, NATS_OK, "next msg: %s", natsStatus_GetText(s));
		bool extra = !payload_is(m, "probe") && !payload_starts(m, "f:");
		cr_assert(!extra, "unexpected extra message on '%s': %.*s", natsMsg_GetSubject(m),
			  natsMsg_GetDataLength(m), natsMsg_GetData(m));
		natsMsg_Destroy(m);
	}
}

/* What one subscriber got from each publisher node: the k of every "d:<node>:<k>", in order. */
typedef struct collected {
	int n[NODES];
	int k[NODES][MAX_PER_PUB];
	char subject[NODES][MAX_PER_PUB][24]; /* subject of each, if recorded */
} collected_t;

/* Reads sub until the fence "f:<i>" of every publisher i in pubs has arrived (probes skipped). */
static void collect(natsSubscription *sub, const int *pubs, int npubs, collected_t *c,
		    bool subjects)
{
	bool fenced[NODES] = {false};
	int fences = 0;
	uint64_t deadline = now_ms() + 2 * WAIT_MS;
	memset(c->n, 0, sizeof(c->n));
	while (fences < npubs) {
		uint64_t now = now_ms();
		natsMsg *m = NULL;
		natsStatus s =
		    now < deadline ? natsSubscription_NextMsg(&m, sub, 100) : NATS_TIMEOUT;
		if (s == NATS_TIMEOUT) {
			cr_assert_lt(now, deadline,
				     "fences: %d of %d after %d ms (got %d/%d/%d data messages)",
				     fences, npubs, 2 * WAIT_MS, c->n[0], c->n[1], c->n[2]);
			cluster_pump();
			continue;
		}
		cr_assert_eq(s, NATS_OK, "next msg: %s", natsStatus_GetText(s));
		char buf[64];
		int len = natsMsg_GetDataLength(m);
		snprintf(buf, sizeof(buf), "%.*s", len < 63 ? len : 63, natsMsg_GetData(m));
		int node = -1, k = -1;
		if (strcmp(buf, "probe") == 0) {
		} else if (sscanf(buf, "f:%d", &node) == 1) {
			cr_assert(node >= 0 && node < NODES, "bad fence %s", buf);
			bool wanted = false;
			for (int p = 0; p < npubs; p++)
				wanted = wanted || pubs[p] == node;
			if (wanted && !fenced[node]) {
				fenced[node] = true;
				fences++;
			}
		} else if (sscanf(buf, "d:%d:%d", &node, &k) == 2 && node >= 0 && node < NODES) {
			cr_assert_lt(c->n[node], MAX_PER_PUB);
			cr_assert(!fenced[node], "message %s from node %d after its fence", buf,
				  node);
			if (subjects)
				snprintf(c->subject[node][c->n[node]], sizeof(c->subject[0][0]),
					 "%s", natsMsg_GetSubject(m));
			c->k[node][c->n[node]++] = k;
		} else {
			cr_assert_fail("unexpected payload '%s' on '%s'", buf,
				       natsMsg_GetSubject(m));
		}
		natsMsg_Destroy(m);
	}
}

/* Publishes "d:<node>:<k>" for k in [0,count) on subject, then the fence, and flushes. */
static void publish_stream(natsConnection *nc, int node, const char *subject, int count)
{
	char buf[32];
	for (int k = 0; k < count; k++) {
		snprintf(buf, sizeof(buf), "d:%d:%d", node, k);
		publish(nc, subject, buf);
	}
	snprintf(buf, sizeof(buf), "f:%d", node);
	publish(nc, subject, buf);
	flush(nc);
}

/* Exactly 0..count-1 from each publisher, in order. */
static void expect_streams(const collected_t *c, const int *pubs, int npubs, int count,
			   const char *who)
{
	for (int p = 0; p < npubs; p++) {
		int node = pubs[p];
		cr_assert_eq(c->n[node], count, "%s: %d messages from node %d, want %d", who,
			     c->n[node], node, count);
		for (int k = 0; k < count; k++)
			cr_assert_eq(c->k[node][k], k, "%s: message %d from node %d is %d", who, k,
				     node, c->k[node][k]);
	}
}

/* For every ordered pair (i,j) of running nodes: a subscriber on j gets what i publishes. */
static void cluster_mesh_check(const char *tag)
{
	natsConnection *nc[NODES] = {NULL};
	for (int i = 0; i < cl.n; i++)
		if (cl.nodes[i].up)
			nc[i] = connect_node(i);
	for (int i = 0; i < cl.n; i++) {
		for (int j = 0; j < cl.n; j++) {
			if (i == j || nc[i] == NULL || nc[j] == NULL)
				continue;
			char subject[64];
			snprintf(subject, sizeof(subject), "mesh.%s.%d.%d", tag, i, j);
			natsSubscription *sub = sub_sync(nc[j], subject);
			await_one(nc[i], subject, sub);
			natsSubscription_Destroy(sub);
		}
	}
	for (int i = 0; i < cl.n; i++)
		natsConnection_Destroy(nc[i]);
}

/* ---- scenarios ---------------------------------------------------------------------------- */

/* 1. Three nodes from one seed: every node has a route to each of the two others (by server
 * id in /routez), and messages cross every ordered pair. */
static void scenario_full_mesh(const nd_server_kind_t kinds[NODES])
{
	cluster_start(kinds);
	char ids[NODES][128];
	char *docs[NODES];
	for (int i = 0; i < cl.n; i++) {
		docs[i] = http_get(i, "/routez");
		cr_assert_not_null(docs[i], "node %d: no /routez", i);
		cr_assert_eq(json_int(docs[i], "num_routes"), 2, "node %d: %s", i, docs[i]);
		cr_assert(json_str(docs[i], "server_id", ids[i], sizeof(ids[i])), "%s", docs[i]);
	}
	for (int i = 0; i < cl.n; i++) {
		for (int j = 0; j < cl.n; j++) {
			if (i == j)
				continue;
			char want[160];
			snprintf(want, sizeof(want), "\"%s\"", ids[j]);
			cr_assert_not_null(strstr(strstr(docs[i], "\"routes\""), want),
					   "node %d has no route to node %d (%s):\n%s", i, j,
					   ids[j], docs[i]);
		}
	}
	for (int i = 0; i < cl.n; i++)
		free(docs[i]);
	cluster_mesh_check("full");
	cluster_assert_alive();
}

/* 2. A subscriber on every node; every node publishes N: each subscriber gets exactly 3N, each
 * once and in per-publisher order, and nothing more. */
static void scenario_pubsub_every_node(const nd_server_kind_t kinds[NODES])
{
	enum { N = 100 };
	cluster_start(kinds);
	natsConnection *nc[NODES];
	natsSubscription *subs[NODES];
	for (int i = 0; i < NODES; i++) {
		nc[i] = connect_node(i);
		subs[i] = sub_sync(nc[i], "ps.data");
	}
	for (int i = 0; i < NODES; i++)
		await_interest(nc[i], "ps.data", subs, NODES);
	for (int i = 0; i < NODES; i++)
		publish_stream(nc[i], i, "ps.data", N);
	static const int pubs[NODES] = {0, 1, 2};
	static collected_t c;
	for (int j = 0; j < NODES; j++) {
		char who[32];
		snprintf(who, sizeof(who), "subscriber on node %d", j);
		collect(subs[j], pubs, NODES, &c, false);
		expect_streams(&c, pubs, NODES, N, who);
	}
	for (int j = 0; j < NODES; j++)
		expect_quiet(subs[j], 100);
	for (int i = 0; i < NODES; i++) {
		natsSubscription_Destroy(subs[i]);
		natsConnection_Destroy(nc[i]);
	}
	cluster_assert_alive();
}

/* 3. Wildcard subscriptions on different nodes get exactly the matching subjects. */
static void scenario_wildcards(const nd_server_kind_t kinds[NODES])
{
	static const char *subjects[] = {"foo.bar", "foo.x",   "foo.bar.baz",
					 "foo",     "bar.foo", "foo.a.baz"};
	enum { NS = 6 };
	static const struct {
		const char *pattern;
		int node;
		const char *probe;
		bool match[NS];
	} subs_def[] = {
	    {"foo.bar", 0, "foo.bar", {1, 0, 0, 0, 0, 0}},
	    {"foo.*", 1, "foo.bar", {1, 1, 0, 0, 0, 0}},
	    {"foo.*.baz", 1, "foo.a.baz", {0, 0, 1, 0, 0, 1}},
	    {"foo.>", 2, "foo.bar", {1, 1, 1, 0, 0, 1}},
	    {"*.bar", 2, "foo.bar", {1, 0, 0, 0, 0, 0}},
	    {">", 0, "foo.bar", {1, 1, 1, 1, 1, 1}},
	};
	enum { NSUB = 6 };
	cluster_start(kinds);
	natsConnection *nc[NODES];
	natsSubscription *subs[NSUB];
	for (int i = 0; i < NODES; i++)
		nc[i] = connect_node(i);
	for (int s = 0; s < NSUB; s++)
		subs[s] = sub_sync(nc[subs_def[s].node], subs_def[s].pattern);
	for (int i = 0; i < NODES; i++)
		for (int s = 0; s < NSUB; s++)
			await_one(nc[i], subs_def[s].probe, subs[s]);
	for (int i = 0; i < NODES; i++) {
		char buf[32];
		for (int k = 0; k < NS; k++) {
			snprintf(buf, sizeof(buf), "d:%d:%d", i, k);
			publish(nc[i], subjects[k], buf);
		}
		/* a fence on a subject every subscriber matches, after the data */
		snprintf(buf, sizeof(buf), "f:%d", i);
		publish(nc[i], "foo.bar", buf);
		publish(nc[i], "foo.a.baz", buf);
		flush(nc[i]);
	}
	static const int pubs[NODES] = {0, 1, 2};
	static collected_t c;
	for (int s = 0; s < NSUB; s++) {
		collect(subs[s], pubs, NODES, &c, true);
		for (int i = 0; i < NODES; i++) {
			int got = 0;
			for (int k = 0; k < NS; k++) {
				if (!subs_def[s].match[k])
					continue;
				cr_assert_lt(got, c.n[i], "'%s' on node %d: no '%s' from node %d",
					     subs_def[s].pattern, subs_def[s].node, subjects[k], i);
				cr_assert_eq(
				    c.k[i][got], k,
				    "'%s' on node %d: from node %d got '%s' (%d), want '%s'",
				    subs_def[s].pattern, subs_def[s].node, i, c.subject[i][got],
				    c.k[i][got], subjects[k]);
				cr_assert_str_eq(c.subject[i][got], subjects[k]);
				got++;
			}
			cr_assert_eq(c.n[i], got,
				     "'%s' on node %d: %d messages from node %d, want %d",
				     subs_def[s].pattern, subs_def[s].node, c.n[i], i, got);
		}
	}
	for (int s = 0; s < NSUB; s++) {
		expect_quiet(subs[s], s == 0 ? 100 : 0); /* one wait covers all */
		natsSubscription_Destroy(subs[s]);
	}
	for (int i = 0; i < NODES; i++)
		natsConnection_Destroy(nc[i]);
	cluster_assert_alive();
}

/* Reads the members of a queue group until `want` data messages "d:<node>:<k>" arrived in
 * total; every k in [0,want) exactly once. Then a quiet period: nothing more. */
static void collect_queue(natsSubscription **members, int n, int want, const char *who)
{
	static unsigned char seen[4096];
	cr_assert_leq(want, (int)sizeof(seen));
	memset(seen, 0, sizeof(seen));
	int total = 0;
	uint64_t deadline = now_ms() + 2 * WAIT_MS;
	while (total < want) {
		cr_assert_lt(now_ms(), deadline, "%s: %d of %d messages", who, total, want);
		for (int i = 0; i < n; i++) {
			natsMsg *m = NULL;
			while (natsSubscription_NextMsg(&m, members[i], 1) == NATS_OK) {
				int node, k;
				char buf[64];
				int len = natsMsg_GetDataLength(m);
				snprintf(buf, sizeof(buf), "%.*s", len < 63 ? len : 63,
					 natsMsg_GetData(m));
				natsMsg_Destroy(m);
				if (strcmp(buf, "probe") == 0 || strncmp(buf, "f:", 2) == 0)
					continue;
				cr_assert_eq(sscanf(buf, "d:%d:%d", &node, &k), 2, "%s: '%s'", who,
					     buf);
				cr_assert(k >= 0 && k < want, "%s: '%s'", who, buf);
				cr_assert_eq(seen[k], 0, "%s: message %d delivered twice", who, k);
				seen[k] = 1;
				total++;
			}
		}
	}
	for (int i = 0; i < n; i++)
		expect_quiet(members[i], i == 0 ? 200 : 0); /* one wait covers all */
}

/* 4. Two queue members per node (six) in one group, 300 messages from node 0: 300 deliveries
 * in all, each message once; a plain subscriber on node 2 gets all 300. Then a group whose
 * members are only on nodes 1 and 2, fed from node 0: again each message exactly once. */
static void scenario_queue_group(const nd_server_kind_t kinds[NODES])
{
	enum { MSGS = 300, PER_NODE = 2 };
	cluster_start(kinds);
	natsConnection *nc[NODES];
	natsSubscription *members[NODES * PER_NODE], *remote[2 * PER_NODE], *plain;
	for (int i = 0; i < NODES; i++)
		nc[i] = connect_node(i);
	for (int i = 0; i < NODES * PER_NODE; i++) {
		int node = i / PER_NODE;
		cr_assert_eq(
		    natsConnection_QueueSubscribeSync(&members[i], nc[node], "q.work", "g"),
		    NATS_OK);
		cr_assert_eq(natsSubscription_SetPendingLimits(members[i], -1, -1), NATS_OK);
		flush(nc[node]);
	}
	plain = sub_sync(nc[2], "q.work");
	await_one(nc[0], "q.work", plain); /* probes also reach members; they are skipped */
	static collected_t c;
	publish_stream(nc[0], 0, "q.work", MSGS);
	static const int pub0[] = {0};
	collect(plain, pub0, 1, &c, false);
	expect_streams(&c, pub0, 1, MSGS, "plain subscriber on node 2");
	collect_queue(members, NODES * PER_NODE, MSGS, "group g (members on every node)");

	/* members only on nodes 1 and 2 */
	for (int i = 0; i < 2 * PER_NODE; i++) {
		int node = 1 + i / PER_NODE;
		cr_assert_eq(
		    natsConnection_QueueSubscribeSync(&remote[i], nc[node], "q.remote", "h"),
		    NATS_OK);
		cr_assert_eq(natsSubscription_SetPendingLimits(remote[i], -1, -1), NATS_OK);
		flush(nc[node]);
	}
	/* node 0 knows the group once one probe has reached any member */
	uint64_t start = now_ms();
	bool known = false;
	while (!known) {
		cr_assert_lt(now_ms() - start, (uint64_t)WAIT_MS, "group h never reachable");
		publish(nc[0], "q.remote", "probe");
		flush(nc[0]);
		for (int i = 0; i < 2 * PER_NODE && !known; i++) {
			natsMsg *m = NULL;
			if (natsSubscription_NextMsg(&m, remote[i], 5) == NATS_OK) {
				known = true;
				natsMsg_Destroy(m);
			}
		}
	}
	char buf[32];
	for (int k = 0; k < MSGS; k++) {
		snprintf(buf, sizeof(buf), "d:0:%d", k);
		publish(nc[0], "q.remote", buf);
	}
	flush(nc[0]);
	collect_queue(remote, 2 * PER_NODE, MSGS, "group h (members on nodes 1 and 2)");

	for (int i = 0; i < NODES * PER_NODE; i++)
		natsSubscription_Destroy(members[i]);
	for (int i = 0; i < 2 * PER_NODE; i++)
		natsSubscription_Destroy(remote[i]);
	natsSubscription_Destroy(plain);
	for (int i = 0; i < NODES; i++)
		natsConnection_Destroy(nc[i]);
	cluster_assert_alive();
}

static void on_request(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *closure)
{
	(void)sub;
	(void)closure;
	char buf[96];
	snprintf(buf, sizeof(buf), "re:%.*s", natsMsg_GetDataLength(m), natsMsg_GetData(m));
	if (natsMsg_GetReply(m) != NULL)
		natsConnection_PublishString(nc, natsMsg_GetReply(m), buf);
	natsMsg_Destroy(m);
}

/* 5. A responder on node 2; 50 requests from node 0 (and 50 from node 1) all answered with the
 * matching reply. */
static void scenario_request_reply(const nd_server_kind_t kinds[NODES])
{
	enum { REQS = 50 };
	cluster_start(kinds);
	natsConnection *nc[NODES];
	for (int i = 0; i < NODES; i++)
		nc[i] = connect_node(i);
	natsSubscription *svc = NULL;
	cr_assert_eq(natsConnection_Subscribe(&svc, nc[2], "svc.echo", on_request, NULL), NATS_OK);
	flush(nc[2]);
	for (int i = 0; i < 2; i++) {
		/* until the responder's interest is known on node i (no responders meanwhile) */
		uint64_t start = now_ms();
		for (;;) {
			natsMsg *r = NULL;
			natsStatus s =
			    natsConnection_RequestString(&r, nc[i], "svc.echo", "hello", 200);
			natsMsg_Destroy(r);
			if (s == NATS_OK)
				break;
			cr_assert_lt(now_ms() - start, (uint64_t)WAIT_MS,
				     "no answer from node 2 to node %d: %s", i,
				     natsStatus_GetText(s));
			usleep(10000);
		}
		for (int k = 0; k < REQS; k++) {
			char req[32], want[40];
			snprintf(req, sizeof(req), "q-%d-%d", i, k);
			snprintf(want, sizeof(want), "re:%s", req);
			natsMsg *r = NULL;
			natsStatus s =
			    natsConnection_RequestString(&r, nc[i], "svc.echo", req, 2000);
			cr_assert_eq(s, NATS_OK, "request %d from node %d: %s", k, i,
				     natsStatus_GetText(s));
			cr_assert(payload_is(r, want), "request %d from node %d: reply '%.*s'", k,
				  i, natsMsg_GetDataLength(r), natsMsg_GetData(r));
			natsMsg_Destroy(r);
		}
	}
	natsSubscription_Destroy(svc);
	for (int i = 0; i < NODES; i++)
		natsConnection_Destroy(nc[i]);
	cluster_assert_alive();
}

/* 6. Headers (single and multi-valued, values with spaces and colons), a reply subject and an
 * empty body cross from node 0 to node 1 intact. */
static void scenario_headers(const nd_server_kind_t kinds[NODES])
{
	cluster_start(kinds);
	natsConnection *nc0 = connect_node(0), *nc1 = connect_node(1);
	natsSubscription *sub = sub_sync(nc1, "hdr.test");
	await_one(nc0, "hdr.test", sub);

	natsMsg *m = NULL;
	cr_assert_eq(natsMsg_Create(&m, "hdr.test", "hdr.reply", "payload", 7), NATS_OK);
	cr_assert_eq(natsMsgHeader_Set(m, "X-Trace", "abc 123"), NATS_OK);
	cr_assert_eq(natsMsgHeader_Set(m, "X-Colon", "a:b: c"), NATS_OK);
	cr_assert_eq(natsMsgHeader_Add(m, "X-Multi", "one"), NATS_OK);
	cr_assert_eq(natsMsgHeader_Add(m, "X-Multi", "two"), NATS_OK);
	cr_assert_eq(natsConnection_PublishMsg(nc0, m), NATS_OK);
	natsMsg_Destroy(m);
	cr_assert_eq(natsMsg_Create(&m, "hdr.test", NULL, NULL, 0), NATS_OK);
	cr_assert_eq(natsMsgHeader_Set(m, "Only", "headers"), NATS_OK);
	cr_assert_eq(natsConnection_PublishMsg(nc0, m), NATS_OK);
	natsMsg_Destroy(m);
	flush(nc0);

	/* the first non-probe message */
	uint64_t start = now_ms();
	for (;;) {
		cr_assert_eq(natsSubscription_NextMsg(&m, sub, WAIT_MS), NATS_OK,
			     "headers message not received");
		if (!payload_is(m, "probe"))
			break;
		natsMsg_Destroy(m);
		cr_assert_lt(now_ms() - start, (uint64_t)WAIT_MS);
	}
	cr_assert(payload_is(m, "payload"), "body '%.*s'", natsMsg_GetDataLength(m),
		  natsMsg_GetData(m));
	cr_assert_str_eq(natsMsg_GetReply(m), "hdr.reply");
	const char *v = NULL;
	cr_assert_eq(natsMsgHeader_Get(m, "X-Trace", &v), NATS_OK);
	cr_assert_str_eq(v, "abc 123");
	cr_assert_eq(natsMsgHeader_Get(m, "X-Colon", &v), NATS_OK);
	cr_assert_str_eq(v, "a:b: c");
	const char **vals = NULL;
	int count = 0;
	cr_assert_eq(natsMsgHeader_Values(m, "X-Multi", &vals, &count), NATS_OK);
	cr_assert_eq(count, 2);
	cr_assert_str_eq(vals[0], "one");
	cr_assert_str_eq(vals[1], "two");
	free((void *)vals);
	natsMsg_Destroy(m);

	cr_assert_eq(natsSubscription_NextMsg(&m, sub, WAIT_MS), NATS_OK);
	cr_assert_eq(natsMsg_GetDataLength(m), 0);
	cr_assert_null(natsMsg_GetReply(m));
	cr_assert_eq(natsMsgHeader_Get(m, "Only", &v), NATS_OK);
	cr_assert_str_eq(v, "headers");
	natsMsg_Destroy(m);

	natsSubscription_Destroy(sub);
	natsConnection_Destroy(nc0);
	natsConnection_Destroy(nc1);
	cluster_assert_alive();
}

/* Occurrences of needle in hay. */
static int count_of(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = strstr(hay, needle); p != NULL; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* Waits until node i's /routez?subs=1 lists `subject` (as "subject") `want` times in all. */
static void await_routez_subject(int i, const char *subject, int want)
{
	char pat[96];
	snprintf(pat, sizeof(pat), "\"%s\"", subject);
	uint64_t start = now_ms();
	for (;;) {
		char *doc = http_get(i, "/routez?subs=1");
		cr_assert_not_null(doc, "node %d: no /routez", i);
		int n = count_of(doc, pat);
		if (n == want) {
			free(doc);
			return;
		}
		if (now_ms() - start > (uint64_t)WAIT_MS) {
			cr_assert_fail("node %d lists %s %d times, want %d:\n%s", i, pat, n, want,
				       doc);
		}
		free(doc);
		cluster_pump();
		usleep(20000);
	}
}

/* 7. 10,000 subscribe/unsubscribe cycles on node 1 (one subject over and over, interleaved with
 * distinct subjects), then one subscription: node 0 reaches it; the other nodes' routes list
 * exactly the remaining interest (nothing of the churn left over); after it unsubscribes, a
 * message published on node 0 does not reach node 1's client (sequenced by a probe subject). */
static void scenario_interest_churn(const nd_server_kind_t kinds[NODES])
{
	enum { CYCLES = 10000, BATCH = 200 };
	cluster_start(kinds);
	natsConnection *nc0 = connect_node(0), *nc1 = connect_node(1);
	natsSubscription *batch[BATCH];
	for (int done = 0; done < CYCLES; done += BATCH) {
		for (int k = 0; k < BATCH; k++) {
			char subject[32];
			if (k % 2 == 0)
				snprintf(subject, sizeof(subject), "churn.s");
			else
				snprintf(subject, sizeof(subject), "churn.d%d", done + k);
			cr_assert_eq(natsConnection_SubscribeSync(&batch[k], nc1, subject),
				     NATS_OK);
		}
		for (int k = 0; k < BATCH; k++) {
			cr_assert_eq(natsSubscription_Unsubscribe(batch[k]), NATS_OK);
			natsSubscription_Destroy(batch[k]);
		}
		flush(nc1);
	}
	natsSubscription *probe = sub_sync(nc1, "churn.probe");
	await_one(nc0, "churn.probe", probe);
	uint64_t t0 = now_ms();
	natsSubscription *final = sub_sync(nc1, "churn.s");
	await_one(nc0, "churn.s", final);
	cr_log_info("interest_churn: final subscription reached in %llu ms",
		    (unsigned long long)(now_ms() - t0));
	/* the other nodes know node 1's interest: churn.s and churn.probe, nothing else */
	for (int i = 0; i < NODES; i++) {
		if (i == 1)
			continue;
		await_routez_subject(i, "churn.s", 1);
		char *doc = http_get(i, "/routez?subs=1");
		cr_assert_not_null(doc);
		int left = count_of(doc, "\"churn.") - count_of(doc, "\"churn.s\"") -
			   count_of(doc, "\"churn.probe\"");
		cr_assert_eq(left, 0, "node %d still has churned interest:\n%s", i, doc);
		free(doc);
	}

	/* everything in flight from node 0 to node 1 has arrived once "sync1" has */
	natsMsg *m = NULL;
	publish(nc0, "churn.probe", "sync1");
	flush(nc0);
	for (;;) {
		cr_assert_eq(natsSubscription_NextMsg(&m, probe, WAIT_MS), NATS_OK, "sync1 lost");
		bool done = payload_is(m, "sync1");
		natsMsg_Destroy(m);
		if (done)
			break;
	}
	natsStatistics *st = NULL;
	uint64_t before = 0, after = 0;
	cr_assert_eq(natsStatistics_Create(&st), NATS_OK);
	cr_assert_eq(natsConnection_GetStats(nc1, st), NATS_OK);
	natsStatistics_GetCounts(st, &before, NULL, NULL, NULL, NULL);

	cr_assert_eq(natsSubscription_Unsubscribe(final), NATS_OK);
	natsSubscription_Destroy(final);
	flush(nc1); /* node 1 has processed the UNSUB */
	publish(nc0, "churn.s", "late");
	publish(nc0, "churn.probe", "sync2");
	flush(nc0);
	cr_assert_eq(natsSubscription_NextMsg(&m, probe, WAIT_MS), NATS_OK, "sync2 lost");
	cr_assert(payload_is(m, "sync2"), "got '%.*s'", natsMsg_GetDataLength(m),
		  natsMsg_GetData(m));
	natsMsg_Destroy(m);
	cr_assert_eq(natsConnection_GetStats(nc1, st), NATS_OK);
	natsStatistics_GetCounts(st, &after, NULL, NULL, NULL, NULL);
	/* the connection counts every MSG it gets, also for a subscription it no longer has */
	cr_assert_eq(after - before, 1, "node 1's client got %llu messages, want only sync2",
		     (unsigned long long)(after - before));
	natsStatistics_Destroy(st);
	await_routez_subject(0, "churn.s", 0);
	await_routez_subject(2, "churn.s", 0);

	natsSubscription_Destroy(probe);
	natsConnection_Destroy(nc0);
	natsConnection_Destroy(nc1);
	cluster_assert_alive();
}

/* 8. A client given only node 1's URL learns the others (INFO connect_urls); node 1 is killed
 * (SIGKILL): the client reconnects to another node and pub/sub across nodes resumes in both
 * directions. Node 1 is started again with the same config: the mesh forms again and a
 * subscriber on it gets messages from the others. */
static void scenario_failover(const nd_server_kind_t kinds[NODES])
{
	cluster_start(kinds);
	natsOptions *o = NULL;
	natsConnection *fo = NULL;
	cr_assert_eq(natsOptions_Create(&o), NATS_OK);
	natsOptions_SetURL(o, cl.nodes[1].url);
	natsOptions_SetMaxReconnect(o, 200);
	natsOptions_SetReconnectWait(o, 50);
	natsOptions_SetReconnectJitter(o, 0, 0);
	natsStatus s = natsConnection_Connect(&fo, o);
	natsOptions_Destroy(o);
	cr_assert_eq(s, NATS_OK, "connect to node 1: %s", natsStatus_GetText(s));
	natsConnection *nc0 = connect_node(0), *nc2 = connect_node(2);

	uint64_t start = now_ms();
	for (;;) {
		char **servers = NULL;
		int count = 0;
		cr_assert_eq(natsConnection_GetDiscoveredServers(fo, &servers, &count), NATS_OK);
		for (int i = 0; i < count; i++)
			free(servers[i]);
		free(servers);
		if (count >= 2)
			break;
		cr_assert_lt(now_ms() - start, (uint64_t)WAIT_MS,
			     "client discovered %d servers, want 2", count);
		usleep(10000);
	}
	natsSubscription *in = sub_sync(fo, "fo.in");
	natsSubscription *out = sub_sync(nc2, "fo.out");
	await_one(nc0, "fo.in", in);
	await_one(fo, "fo.out", out);

	node_kill(1);
	start = now_ms();
	char url[128] = "";
	for (;;) {
		if (natsConnection_Status(fo) == NATS_CONN_STATUS_CONNECTED &&
		    natsConnection_GetConnectedUrl(fo, url, sizeof(url)) == NATS_OK &&
		    strstr(url, cl.nodes[1].url + strlen("nats://")) == NULL)
			break;
		cr_assert_lt(now_ms() - start, (uint64_t)MESH_WAIT_MS,
			     "client did not reconnect after node 1 died (status %d)",
			     (int)natsConnection_Status(fo));
		cluster_pump();
		usleep(10000);
	}
	cr_log_info("failover: reconnected to %s in %llu ms", url,
		    (unsigned long long)(now_ms() - start));
	cluster_wait_routes(); /* 0 and 2 still routed to each other */
	/* the subscription was replayed on the new node; its interest has to reach node 0 */
	await_one(nc0, "fo.in", in);
	await_one(fo, "fo.out", out);
	natsSubscription_Destroy(in);
	natsSubscription_Destroy(out);

	node_start(1);
	cluster_wait_routes();
	natsConnection *nc1 = connect_node(1);
	natsSubscription *back = sub_sync(nc1, "fo.back");
	await_one(nc0, "fo.back", back);
	await_one(nc2, "fo.back", back);
	await_one(fo, "fo.back", back);
	natsSubscription_Destroy(back);
	natsConnection_Destroy(nc1);
	natsConnection_Destroy(fo);
	natsConnection_Destroy(nc0);
	natsConnection_Destroy(nc2);
	cluster_mesh_check("restarted");
	cluster_assert_alive();
}

/* 9. Node 2 is stopped (SIGSTOP) while it has interest in the subject: nodes 0 and 1 keep
 * exchanging messages (new interest included) without waiting for it; once it continues, its
 * subscriber gets everything too. */
static void scenario_stalled_peer(const nd_server_kind_t kinds[NODES])
{
	enum { N = 500 };
	cluster_start(kinds);
	natsConnection *nc[NODES];
	natsSubscription *subs[NODES];
	for (int i = 0; i < NODES; i++) {
		nc[i] = connect_node(i);
		subs[i] = sub_sync(nc[i], "stall.data");
	}
	await_interest(nc[0], "stall.data", subs, NODES);
	await_interest(nc[1], "stall.data", subs, NODES);

	nd_proc_signal(&cl.nodes[2].proc, SIGSTOP);
	uint64_t start = now_ms();
	natsSubscription *fresh = sub_sync(nc[1], "stall.fresh");
	await_one(nc[0], "stall.fresh", fresh);
	publish_stream(nc[0], 0, "stall.data", N);
	publish_stream(nc[1], 1, "stall.data", N);
	static const int pubs[] = {0, 1};
	static collected_t c;
	collect(subs[0], pubs, 2, &c, false);
	expect_streams(&c, pubs, 2, N, "subscriber on node 0 (node 2 stopped)");
	collect(subs[1], pubs, 2, &c, false);
	expect_streams(&c, pubs, 2, N, "subscriber on node 1 (node 2 stopped)");
	cr_log_info("stalled_peer: traffic between 0 and 1 done in %llu ms with node 2 stopped",
		    (unsigned long long)(now_ms() - start));
	nd_proc_signal(&cl.nodes[2].proc, SIGCONT);

	collect(subs[2], pubs, 2, &c, false);
	expect_streams(&c, pubs, 2, N, "subscriber on node 2 (after SIGCONT)");
	for (int i = 0; i < NODES; i++) {
		natsSubscription_Destroy(subs[i]);
		natsConnection_Destroy(nc[i]);
	}
	natsSubscription_Destroy(fresh);
	cluster_wait_routes();
	cluster_mesh_check("after-stall");
	cluster_assert_alive();
}

/* A connection to node i's cluster port that has read the server's INFO. */
static int route_port_open(int i)
{
	int fd = nd_test_connect(cl.nodes[i].cluster_port);
	cr_assert_geq(fd, 0, "node %d: cluster port refused", i);
	struct timeval tv = {.tv_sec = 3};
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	char buf[8192];
	nd_test_read_until(fd, buf, sizeof(buf), "\r\n", 3000);
	cr_assert(strncmp(buf, "INFO ", 5) == 0, "node %d: route port greets with '%.40s'", i, buf);
	return fd;
}

/* Writes as much as the peer takes (it may close early); never fails the test. */
static void send_best_effort(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

/* Reads until EOF or max_ms; the answer, NUL-terminated, in buf (and in the verbose log). */
static void read_answer(int node, int fd, char *buf, size_t cap, unsigned max_ms)
{
	size_t got = 0;
	bool eof = false;
	uint64_t deadline = now_ms() + max_ms;
	while (!eof && got + 1 < cap && now_ms() < deadline)
		got += nd_test_read_idle(fd, buf + got, cap - 1 - got, 100, &eof);
	buf[got] = '\0';
	cr_log_info("bad_peers: node %d answered%s: %.120s", node, eof ? " and closed" : "", buf);
}

/* 10. Hostile peers on the cluster port of nodes 0 and 2: garbage, a client CONNECT (gets
 * "-ERR 'attempted to connect to route port'"), a route CONNECT for another cluster, a 2 MiB
 * control line without newline, a connection closed at once. The nodes survive and the cluster
 * still carries messages everywhere. Only the client CONNECT's answer is asserted: nats-server
 * 2.9 does not apply max_control_line to route connections (it keeps the 2 MiB one open), so
 * what a node does with the others is its own business as long as it survives. */
static void scenario_bad_peers(const nd_server_kind_t kinds[NODES])
{
	cluster_start(kinds);
	static char answer[65536];
	static const int targets[] = {0, 2};
	for (size_t t = 0; t < sizeof(targets) / sizeof(targets[0]); t++) {
		int i = targets[t];
		int fd = route_port_open(i);
		static const char garbage[] = "\x01\x02GARBAGE nonsense\r\n\xff\xfe\r\n";
		send_best_effort(fd, garbage, sizeof(garbage) - 1);
		read_answer(i, fd, answer, sizeof(answer), 3000);
		close(fd);
		cluster_assert_alive();

		fd = route_port_open(i);
		static const char client[] =
		    "CONNECT {\"verbose\":false,\"pedantic\":false,\"lang\":\"C\",\"version\":"
		    "\"3.4.1\",\"protocol\":1}\r\nPING\r\n";
		send_best_effort(fd, client, sizeof(client) - 1);
		read_answer(i, fd, answer, sizeof(answer), 3000);
		close(fd);
		cr_assert_not_null(strstr(answer, "-ERR 'attempted to connect to route port'"),
				   "node %d: answer to a client CONNECT on the route port: '%s'", i,
				   answer);
		cluster_assert_alive();

		fd = route_port_open(i);
		static const char other[] =
		    "CONNECT {\"echo\":false,\"verbose\":false,\"pedantic\":false,\"tls_required\":"
		    "false,\"headers\":true,\"name\":\"intruder\",\"cluster\":\"other\","
		    "\"dynamic\":false}\r\nINFO {\"server_id\":\"NINTRUDER\",\"name\":\"intruder\","
		    "\"cluster\":\"other\",\"headers\":true}\r\nPING\r\n";
		send_best_effort(fd, other, sizeof(other) - 1);
		read_answer(i, fd, answer, sizeof(answer), 3000);
		close(fd);
		cluster_assert_alive();

		fd = route_port_open(i);
		size_t big = 2u << 20;
		char *line = malloc(big);
		memcpy(line, "RS+ ", 4);
		memset(line + 4, 'a', big - 4);
		send_best_effort(fd, line, big);
		free(line);
		read_answer(i, fd, answer, sizeof(answer), 500);
		close(fd);
		cluster_assert_alive();

		fd = nd_test_connect(cl.nodes[i].cluster_port);
		cr_assert_geq(fd, 0);
		close(fd);
	}
	cluster_assert_alive();
	cluster_wait_routes();
	cluster_mesh_check("after-bad-peers");
	cluster_assert_alive();
}

/* ---- the matrix --------------------------------------------------------------------------- */

typedef void (*scenario_fn)(const nd_server_kind_t kinds[NODES]);

static const nd_server_kind_t KINDS_NATS[NODES] = {NATS, NATS, NATS};
static const nd_server_kind_t KINDS_NATSD[NODES] = {NATSD, NATSD, NATSD};
static const nd_server_kind_t KINDS_MIX2[NODES] = {NATSD, NATSD, NATS};
static const nd_server_kind_t KINDS_MIX1[NODES] = {NATSD, NATS, NATS};

static void run(scenario_fn fn, const nd_server_kind_t kinds[NODES])
{
	bool ref = false;
	for (int i = 0; i < NODES; i++) {
		ref = ref || kinds[i] == NATS;
	}
	if (ref && !nd_reference_available()) {
		cr_assert(getenv("CI") == NULL,
			  "nats-server is not installed (CI must install it)");
		cr_skip_test("nats-server is not installed");
	}
	fn(kinds);
	nats_CloseAndWait(5000);
	stop_nodes(true);
}

#define CLUSTER_MATRIX(name)                                                                       \
	ND_TEST(cluster, name##__nats_nats_nats)                                                   \
	{                                                                                          \
		run(scenario_##name, KINDS_NATS);                                                  \
	}                                                                                          \
	ND_TEST(cluster, name##__natsd_natsd_natsd)                                                \
	{                                                                                          \
		run(scenario_##name, KINDS_NATSD);                                                 \
	}                                                                                          \
	ND_TEST(cluster, name##__natsd_natsd_nats)                                                 \
	{                                                                                          \
		run(scenario_##name, KINDS_MIX2);                                                  \
	}                                                                                          \
	ND_TEST(cluster, name##__natsd_nats_nats)                                                  \
	{                                                                                          \
		run(scenario_##name, KINDS_MIX1);                                                  \
	}

CLUSTER_MATRIX(full_mesh)
CLUSTER_MATRIX(pubsub_every_node)
CLUSTER_MATRIX(wildcards)
CLUSTER_MATRIX(queue_group)
CLUSTER_MATRIX(request_reply)
CLUSTER_MATRIX(headers)
CLUSTER_MATRIX(interest_churn)
CLUSTER_MATRIX(failover)
CLUSTER_MATRIX(stalled_peer)
CLUSTER_MATRIX(bad_peers)
