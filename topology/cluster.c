/* The cluster: listener actor, solicited routes, registry, gossip, client URLs. */
#define _GNU_SOURCE
#include "topology/cluster.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>

#include "actors/listener.h"
#include "actors/tls.h"
#include "protocol/gourl.h"
#include "runtime/io.h"
#include "runtime/log.h"
#include "runtime/timer.h"
#include "topology/route.h"

#define ACCEPTS_PER_TURN 64

typedef struct entry {
	struct entry *next;
	nd_actor_t *route; /* a reference */
	char *id, *name, *route_url;
	char **client_urls;
	size_t nclient_urls;
	bool solicited, configured;
	char *info_json;
} entry_t;

/* A route this server dials (explicit or learned), until it stops. */
typedef struct solicit {
	struct solicit *next;
	nd_actor_t *route; /* a reference */
	char *id;          /* learned routes: the server it should reach */
	char *url;
	bool explicit_;
} solicit_t;

struct nd_cluster {
	nd_server_t *srv;
	/* The name: replaced (never freed until destroy) when a dynamic one gives way to a
	 * peer's; any thread reads it. */
	_Atomic(char *) name;
	_Atomic bool dynamic;
	char **old_names;
	size_t nold_names;
	pthread_mutex_t mu; /* everything below */
	entry_t *routes;
	size_t nroutes;
	solicit_t *solicits;
	nd_actor_t *listener;
	int port; /* bound */
	char *host;
	bool stopped;
	uint64_t next_rid;
	/* Cluster TLS (under mu; a reload replaces them): both directions always verify. */
	nd_tls_ctx_t *tls_server, *tls_client;
	uint64_t tls_timeout_ms;
	char tls_err[512];
};

static char *xstrdup(const char *s)
{
	char *d = strdup(s != NULL ? s : "");
	if (d == NULL)
		abort();
	return d;
}

/* ---- the route listener ---- */

typedef struct listener {
	nd_cluster_t *cl;
	int fd;
	nd_io_t io;
} listener_t;

static void on_accept(nd_actor_t *self, nd_io_t *io, int events)
{
	listener_t *l = nd_actor_state(self);
	(void)io;
	(void)events;
	for (int i = 0; i < ACCEPTS_PER_TURN; i++) {
		struct sockaddr_storage peer;
		socklen_t pl = sizeof(peer);
		int fd =
		    accept4(l->fd, (struct sockaddr *)&peer, &pl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			    errno != ECONNABORTED)
				nd_log_error("Error accepting route connection: %s",
					     strerror(errno));
			return;
		}
		nd_route_accept(l->cl, l->cl->srv, fd, &peer);
	}
}

static void listener_start(nd_actor_t *self)
{
	listener_t *l = nd_actor_state(self);
	nd_io_init(&l->io, self, l->fd, on_accept);
	nd_io_set(&l->io, ND_IO_READ);
}

static void listener_stop(nd_actor_t *self)
{
	listener_t *l = nd_actor_state(self);
	nd_io_set(&l->io, 0);
	close(l->fd);
	l->fd = -1;
}

static void listener_free(nd_actor_t *self)
{
	listener_t *l = nd_actor_state(self);
	if (l->fd >= 0)
		close(l->fd);
}

static void listener_message(nd_actor_t *self, nd_msg_t *msg)
{
	(void)self;
	nd_msg_free(msg);
}

static const nd_actor_class_t listener_class = {.name = "route-listener",
						.on_start = listener_start,
						.on_message = listener_message,
						.on_stop = listener_stop,
						.on_free = listener_free};

/* ---- client URLs of the other servers ---- */

static bool contains(char **v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

/* Recomputes the set under mu into a copy handed to the server after unlocking. */
static char **peer_urls_locked(nd_cluster_t *cl, size_t *n)
{
	size_t total = 0;
	for (entry_t *e = cl->routes; e != NULL; e = e->next)
		total += e->nclient_urls;
	char **v = calloc(total + 1, sizeof(char *));
	size_t k = 0;
	for (entry_t *e = cl->routes; e != NULL; e = e->next)
		for (size_t i = 0; i < e->nclient_urls; i++)
			if (!contains(v, k, e->client_urls[i]))
				v[k++] = xstrdup(e->client_urls[i]);
	*n = k;
	return v;
}

static void publish_urls(nd_cluster_t *cl, char **v, size_t n)
{
	nd_opts_snap_t *snap = nd_server_opts(cl->srv);
	bool no_adv = nd_opts_snap_get(snap)->cluster.no_advertise;
	nd_opts_snap_unref(snap);
	if (!no_adv)
		nd_server_set_peer_urls(cl->srv, v, n);
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* ---- registry ---- */

const char *nd_cluster_name(nd_cluster_t *cl)
{
	/* acquire: the characters of a name adopted on another thread. */
	return atomic_load_explicit(&cl->name, memory_order_acquire);
}

bool nd_cluster_name_dynamic(nd_cluster_t *cl)
{
	return atomic_load_explicit(&cl->dynamic, memory_order_relaxed);
}

bool nd_cluster_negotiate_name(nd_cluster_t *cl, const char *theirs, bool their_dynamic,
			       nd_actor_t *keep)
{
	pthread_mutex_lock(&cl->mu);
	const char *ours = nd_cluster_name(cl);
	if (strcmp(ours, theirs) == 0) {
		pthread_mutex_unlock(&cl->mu);
		return true;
	}
	/* The reference's rule: a dynamic name gives way to a configured one, or to a greater
	 * dynamic one; the other routes reconnect under the new name. */
	if (!nd_cluster_name_dynamic(cl) || (their_dynamic && strcmp(ours, theirs) >= 0)) {
		pthread_mutex_unlock(&cl->mu);
		return false;
	}
	char **v = realloc(cl->old_names, (cl->nold_names + 1) * sizeof(char *));
	if (v == NULL)
		abort();
	cl->old_names = v;
	cl->old_names[cl->nold_names++] = (char *)(uintptr_t)ours;
	atomic_store_explicit(&cl->name, xstrdup(theirs), memory_order_release);
	if (!their_dynamic)
		atomic_store_explicit(&cl->dynamic, false, memory_order_relaxed);
	nd_log_info("Cluster name updated to %s", theirs);
	for (entry_t *e = cl->routes; e != NULL; e = e->next)
		if (e->route != keep)
			nd_route_send_reconnect(e->route, "Cluster Name Conflict");
	pthread_mutex_unlock(&cl->mu);
	return true;
}

uint64_t nd_cluster_next_rid(nd_cluster_t *cl)
{
	pthread_mutex_lock(&cl->mu);
	uint64_t rid = ++cl->next_rid;
	pthread_mutex_unlock(&cl->mu);
	return rid;
}

char *nd_cluster_route_info(nd_cluster_t *cl, const char *nonce, bool ldm, size_t *len)
{
	nd_server_t *s = cl->srv;
	nd_opts_snap_t *snap = nd_server_opts(s);
	const nd_opts_t *o = nd_opts_snap_get(snap);
	const nd_cluster_opts_t *co = &o->cluster;
	char *host = NULL;
	int port = cl->port;
	if (co->advertise != NULL && co->advertise[0] != '\0') {
		char err[256];
		if (nd_opts_parse_host_port(co->advertise, cl->port, &host, &port, err,
					    sizeof(err)) != 0)
			host = NULL;
	}
	if (host == NULL)
		host = xstrdup(cl->host);
	json_t *j = json_object();
	json_object_set_new(j, "server_id", json_string(nd_server_id(s)));
	json_object_set_new(j, "server_name",
			    json_string(o->server_name ? o->server_name : nd_server_id(s)));
	json_object_set_new(j, "version", json_string(ND_COMPAT_VERSION));
	json_object_set_new(j, "proto", json_integer(2));
	json_object_set_new(j, "go", json_string("natsd " NATSD_VERSION));
	json_object_set_new(j, "host", json_string(host));
	json_object_set_new(j, "port", json_integer(port));
	json_object_set_new(j, "headers", json_boolean(!o->no_header_support));
	if (co->username != NULL && co->username[0] != '\0')
		json_object_set_new(j, "auth_required", json_true());
	json_object_set_new(j, "max_payload", json_integer(o->max_payload));
	if (co->advertise != NULL && co->advertise[0] != '\0') {
		char ip[600];
		snprintf(ip, sizeof(ip),
			 strchr(host, ':') ? "nats-route://[%s]:%d/" : "nats-route://%s:%d/", host,
			 port);
		json_object_set_new(j, "ip", json_string(ip));
	}
	if (nonce != NULL)
		json_object_set_new(j, "nonce", json_string(nonce));
	json_object_set_new(j, "cluster", json_string(nd_cluster_name(cl)));
	if (nd_cluster_name_dynamic(cl))
		json_object_set_new(j, "cluster_dynamic", json_true());
	if (ldm)
		json_object_set_new(j, "ldm", json_true());
	if (!co->no_advertise) {
		char *url = nd_server_client_url(s);
		json_t *a = json_array();
		json_array_append_new(a, json_string(url));
		free(url);
		json_object_set_new(j, "connect_urls", a);
	}
	json_object_set_new(j, "lnoc", json_true());
	char *js = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(j);
	free(host);
	nd_opts_snap_unref(snap);
	char *line = NULL;
	int n = asprintf(&line, "INFO %s \r\n", js);
	free(js);
	if (n < 0)
		abort();
	*len = (size_t)n;
	return line;
}

bool nd_cluster_has(nd_cluster_t *cl, const char *id)
{
	pthread_mutex_lock(&cl->mu);
	bool found = false;
	for (entry_t *e = cl->routes; e != NULL && !found; e = e->next)
		found = strcmp(e->id, id) == 0;
	pthread_mutex_unlock(&cl->mu);
	return found;
}

static void entry_free(entry_t *e)
{
	nd_actor_unref(e->route);
	for (size_t i = 0; i < e->nclient_urls; i++)
		free(e->client_urls[i]);
	free(e->client_urls);
	free(e->id);
	free(e->name);
	free(e->route_url);
	free(e->info_json);
	free(e);
}

int nd_cluster_register(nd_cluster_t *cl, nd_actor_t *route, const nd_route_peer_t *peer)
{
	if (strcmp(peer->id, nd_server_id(cl->srv)) == 0)
		return -ELOOP;
	pthread_mutex_lock(&cl->mu);
	for (entry_t *e = cl->routes; e != NULL; e = e->next) {
		if (strcmp(e->id, peer->id) == 0) {
			pthread_mutex_unlock(&cl->mu);
			return -EEXIST;
		}
	}
	entry_t *e = calloc(1, sizeof(*e));
	e->route = nd_actor_ref(route);
	e->id = xstrdup(peer->id);
	e->name = xstrdup(peer->name);
	e->route_url = xstrdup(peer->route_url);
	e->solicited = peer->solicited;
	e->configured = peer->configured;
	e->info_json = xstrdup(peer->info_json);
	e->client_urls = calloc(peer->nclient_urls + 1, sizeof(char *));
	for (size_t i = 0; i < peer->nclient_urls; i++)
		e->client_urls[i] = xstrdup(peer->client_urls[i]);
	e->nclient_urls = peer->nclient_urls;
	/* Gossip: tell every other route about the new peer; those that do not know it connect
	 * to it (the reference's way: the members dial the newcomer). */
	char *fwd = NULL;
	if (asprintf(&fwd, "INFO %s\r\n", e->info_json) < 0)
		abort();
	for (entry_t *x = cl->routes; x != NULL; x = x->next)
		nd_route_send_text(x->route, fwd, strlen(fwd));
	free(fwd);
	e->next = cl->routes;
	cl->routes = e;
	cl->nroutes++;
	/* A learned route reached its server: it is no longer pending. */
	size_t n;
	char **urls = peer_urls_locked(cl, &n);
	pthread_mutex_unlock(&cl->mu);
	publish_urls(cl, urls, n);
	return 0;
}

void nd_cluster_unregister(nd_cluster_t *cl, nd_actor_t *route)
{
	pthread_mutex_lock(&cl->mu);
	entry_t *gone = NULL;
	for (entry_t **p = &cl->routes; *p != NULL; p = &(*p)->next) {
		if ((*p)->route == route) {
			gone = *p;
			*p = gone->next;
			cl->nroutes--;
			break;
		}
	}
	size_t n;
	char **urls = peer_urls_locked(cl, &n);
	bool stopped = cl->stopped;
	pthread_mutex_unlock(&cl->mu);
	if (gone != NULL)
		entry_free(gone);
	if (!stopped)
		publish_urls(cl, urls, n);
	else {
		for (size_t i = 0; i < n; i++)
			free(urls[i]);
		free(urls);
	}
}

/* Host and port of a route URL, lower-cased, for comparing with configured routes. */
static bool same_target(const char *a, const char *b)
{
	nd_go_url_t ua, ub;
	char err[128];
	if (nd_go_url_parse(a, &ua, err, sizeof(err)) != 0)
		return false;
	if (nd_go_url_parse(b, &ub, err, sizeof(err)) != 0) {
		nd_go_url_deinit(&ua);
		return false;
	}
	bool same = strcasecmp(ua.host, ub.host) == 0;
	nd_go_url_deinit(&ua);
	nd_go_url_deinit(&ub);
	return same;
}

void nd_cluster_learn(nd_cluster_t *cl, const char *id, const char *route_url)
{
	if (strcmp(id, nd_server_id(cl->srv)) == 0)
		return;
	pthread_mutex_lock(&cl->mu);
	if (cl->stopped) {
		pthread_mutex_unlock(&cl->mu);
		return;
	}
	for (entry_t *e = cl->routes; e != NULL; e = e->next) {
		if (strcmp(e->id, id) == 0) {
			pthread_mutex_unlock(&cl->mu);
			return;
		}
	}
	for (solicit_t *s = cl->solicits; s != NULL; s = s->next) {
		if ((s->id != NULL && strcmp(s->id, id) == 0) || same_target(s->url, route_url)) {
			pthread_mutex_unlock(&cl->mu);
			return;
		}
	}
	solicit_t *s = calloc(1, sizeof(*s));
	s->id = xstrdup(id);
	s->url = xstrdup(route_url);
	s->next = cl->solicits;
	cl->solicits = s;
	/* Under the lock so that shutdown sees it; starting an actor does not call back here. */
	s->route = nd_route_solicit(cl, cl->srv, route_url, ND_ROUTE_IMPLICIT);
	if (s->route == NULL) {
		cl->solicits = s->next;
		free(s->id);
		free(s->url);
		free(s);
	}
	pthread_mutex_unlock(&cl->mu);
}

void nd_cluster_solicit_done(nd_cluster_t *cl, nd_actor_t *route)
{
	pthread_mutex_lock(&cl->mu);
	solicit_t *gone = NULL;
	for (solicit_t **p = &cl->solicits; *p != NULL; p = &(*p)->next) {
		if ((*p)->route == route) {
			gone = *p;
			*p = gone->next;
			break;
		}
	}
	pthread_mutex_unlock(&cl->mu);
	if (gone != NULL) {
		nd_actor_unref(gone->route);
		free(gone->id);
		free(gone->url);
		free(gone);
	}
}

void nd_cluster_peer_lame_duck(nd_cluster_t *cl, nd_actor_t *route)
{
	pthread_mutex_lock(&cl->mu);
	for (entry_t *e = cl->routes; e != NULL; e = e->next) {
		if (e->route != route)
			continue;
		for (size_t i = 0; i < e->nclient_urls; i++)
			free(e->client_urls[i]);
		e->nclient_urls = 0;
	}
	size_t n;
	char **urls = peer_urls_locked(cl, &n);
	pthread_mutex_unlock(&cl->mu);
	publish_urls(cl, urls, n);
}

/* ---- plugged into the server ---- */

static void cluster_lame_duck(void *ctx)
{
	nd_cluster_t *cl = ctx;
	size_t len;
	char *info = nd_cluster_route_info(cl, NULL, true, &len);
	pthread_mutex_lock(&cl->mu);
	for (entry_t *e = cl->routes; e != NULL; e = e->next)
		nd_route_send_text(e->route, info, len);
	pthread_mutex_unlock(&cl->mu);
	free(info);
}

nd_tls_ctx_t *nd_cluster_tls(nd_cluster_t *cl, bool server)
{
	pthread_mutex_lock(&cl->mu);
	nd_tls_ctx_t *t = server ? cl->tls_server : cl->tls_client;
	if (t != NULL)
		nd_tls_ctx_ref(t);
	pthread_mutex_unlock(&cl->mu);
	return t;
}

uint64_t nd_cluster_tls_timeout_ms(nd_cluster_t *cl)
{
	pthread_mutex_lock(&cl->mu);
	uint64_t ms = cl->tls_timeout_ms;
	pthread_mutex_unlock(&cl->mu);
	return ms;
}

/* The reference: routes always verify each other (its RequireAndVerifyClientCert on accept);
 * the dialling side presents the same certificate and checks the peer's with the same CAs
 * unless insecure. */
static int cluster_tls_build(const nd_tls_opts_t *t, nd_tls_ctx_t **server, nd_tls_ctx_t **client,
			     char *err, size_t errlen)
{
	nd_tls_settings_t ts;
	nd_tls_settings_from_opts(t, &ts);
	ts.verify = true;
	*server = *client = NULL;
	if (nd_tls_ctx_create(server, &ts, true, err, errlen) != 0)
		return -1;
	if (nd_tls_ctx_create(client, &ts, false, err, errlen) != 0) {
		nd_tls_ctx_unref(*server);
		*server = NULL;
		return -1;
	}
	return 0;
}

static int cluster_tls_create(nd_cluster_t *cl, const nd_tls_opts_t *t)
{
	if (cluster_tls_build(t, &cl->tls_server, &cl->tls_client, cl->tls_err,
			      sizeof(cl->tls_err)) != 0)
		return -1;
	cl->tls_timeout_ms = t->timeout_s > 0 ? (uint64_t)(t->timeout_s * 1000) : 2000;
	return 0;
}

static int cluster_start(void *ctx)
{
	nd_cluster_t *cl = ctx;
	if (cl->tls_err[0] != '\0') {
		nd_log_fatal("Error configuring cluster TLS: %s", cl->tls_err);
		return -EINVAL;
	}
	nd_opts_snap_t *snap = nd_server_opts(cl->srv);
	const nd_opts_t *o = nd_opts_snap_get(snap);
	const nd_cluster_opts_t *co = &o->cluster;
	int rc = 0;
	if (nd_cluster_name_dynamic(cl))
		nd_log_warn("Cluster name was dynamically generated, consider setting one");
	nd_log_info("Cluster name is %s", nd_cluster_name(cl));
	if (co->port != 0) {
		const char *host = co->host != NULL && co->host[0] ? co->host : "0.0.0.0";
		int fd = nd_listener_bind(host, co->port, &cl->port);
		if (fd < 0) {
			nd_log_fatal(
			    "Error listening on router: %s:%d, \"listen tcp %s:%d: bind: %s\"",
			    host, co->port, host, co->port, strerror(-fd));
			nd_opts_snap_unref(snap);
			return fd;
		}
		cl->host = xstrdup(host);
		nd_runtime_t *rt = nd_server_runtime(cl->srv);
		cl->listener = nd_actor_create(rt, &listener_class, sizeof(listener_t),
					       nd_runtime_worker(rt, 0));
		listener_t *l = nd_actor_state(cl->listener);
		l->cl = cl;
		l->fd = fd;
		nd_actor_start(cl->listener);
		nd_log_info(strchr(host, ':') ? "Listening for route connections on [%s]:%d"
					      : "Listening for route connections on %s:%d",
			    host, cl->port);
	} else {
		cl->host = xstrdup(co->host != NULL ? co->host : "0.0.0.0");
	}
	pthread_mutex_lock(&cl->mu);
	for (size_t i = 0; i < co->nroutes; i++) {
		solicit_t *s = calloc(1, sizeof(*s));
		s->url = xstrdup(co->routes[i]);
		s->explicit_ = true;
		s->route = nd_route_solicit(cl, cl->srv, co->routes[i], ND_ROUTE_EXPLICIT);
		if (s->route == NULL) {
			nd_log_error("Error parsing route URL \"%s\"", co->routes[i]);
			free(s->url);
			free(s);
			continue;
		}
		s->next = cl->solicits;
		cl->solicits = s;
	}
	pthread_mutex_unlock(&cl->mu);
	nd_opts_snap_unref(snap);
	return rc;
}

static void cluster_shutdown(void *ctx)
{
	nd_cluster_t *cl = ctx;
	pthread_mutex_lock(&cl->mu);
	cl->stopped = true;
	for (solicit_t *s = cl->solicits; s != NULL; s = s->next)
		nd_route_send_stop(s->route);
	for (entry_t *e = cl->routes; e != NULL; e = e->next)
		nd_route_send_stop(e->route);
	pthread_mutex_unlock(&cl->mu);
	if (cl->listener != NULL)
		nd_actor_stop(cl->listener);
}

static size_t cluster_routes(void *ctx, nd_route_info_t **out, bool subs)
{
	nd_cluster_t *cl = ctx;
	pthread_mutex_lock(&cl->mu);
	nd_route_info_t *v = calloc(cl->nroutes + 1, sizeof(*v));
	size_t k = 0;
	for (entry_t *e = cl->routes; e != NULL; e = e->next) {
		nd_route_info_t *ri = &v[k++];
		snprintf(ri->remote_id, sizeof(ri->remote_id), "%s", e->id);
		snprintf(ri->remote_name, sizeof(ri->remote_name), "%s", e->name);
		ri->did_solicit = e->solicited;
		ri->is_configured = e->configured;
		nd_route_snapshot(e->route, ri, subs);
	}
	pthread_mutex_unlock(&cl->mu);
	*out = v;
	return k;
}

static void cluster_info(void *ctx, nd_server_cluster_info_t *out)
{
	nd_cluster_t *cl = ctx;
	nd_opts_snap_t *snap = nd_server_opts(cl->srv);
	const nd_cluster_opts_t *co = &nd_opts_snap_get(snap)->cluster;
	out->enabled = true;
	snprintf(out->name, sizeof(out->name), "%s", nd_cluster_name(cl));
	snprintf(out->addr, sizeof(out->addr), "%s", cl->host ? cl->host : "");
	out->port = cl->port;
	out->auth_timeout_s = co->auth_timeout_s > 0 ? co->auth_timeout_s : 2.0;
	out->tls = co->tls.set;
	out->tls_timeout_s = co->tls.timeout_s > 0 ? co->tls.timeout_s : 2.0;
	out->nurls = co->nroutes;
	out->urls = calloc(co->nroutes + 1, sizeof(char *));
	for (size_t i = 0; i < co->nroutes; i++) {
		/* /varz shows host:port, as the reference's URL.Host. */
		nd_go_url_t u;
		char err[128];
		if (nd_go_url_parse(co->routes[i], &u, err, sizeof(err)) == 0) {
			out->urls[i] = xstrdup(u.host);
			nd_go_url_deinit(&u);
		} else {
			out->urls[i] = xstrdup(co->routes[i]);
		}
	}
	nd_opts_snap_unref(snap);
	pthread_mutex_lock(&cl->mu);
	out->routes = (long)cl->nroutes;
	pthread_mutex_unlock(&cl->mu);
}

/* The configured routes after a reload: new URLs are dialled, removed ones stop (their
 * connections close; a peer that still lists us dials back). */
static void cluster_reload(void *ctx, const nd_opts_t *o)
{
	nd_cluster_t *cl = ctx;
	const nd_cluster_opts_t *co = &o->cluster;
	/* Cluster TLS: the certificates are read again; routes that connect from now on use
	 * them, established ones keep their sessions. */
	nd_tls_ctx_t *srv_tls = NULL, *cli_tls = NULL;
	char err[512];
	if (co->tls.set && cluster_tls_build(&co->tls, &srv_tls, &cli_tls, err, sizeof(err)) != 0)
		nd_log_error("Cluster TLS not reloaded: %s", err);
	pthread_mutex_lock(&cl->mu);
	if (srv_tls != NULL || !co->tls.set) {
		nd_tls_ctx_t *old_srv = cl->tls_server, *old_cli = cl->tls_client;
		cl->tls_server = srv_tls;
		cl->tls_client = cli_tls;
		cl->tls_timeout_ms =
		    co->tls.timeout_s > 0 ? (uint64_t)(co->tls.timeout_s * 1000) : 2000;
		srv_tls = old_srv;
		cli_tls = old_cli;
	}
	if (cl->stopped) {
		pthread_mutex_unlock(&cl->mu);
		return;
	}
	for (solicit_t **p = &cl->solicits; *p != NULL;) {
		solicit_t *sol = *p;
		bool kept = !sol->explicit_;
		for (size_t i = 0; !kept && i < co->nroutes; i++)
			kept = strcmp(co->routes[i], sol->url) == 0;
		if (kept) {
			p = &sol->next;
			continue;
		}
		nd_log_debug("Removing configured route \"%s\"", sol->url);
		*p = sol->next;
		nd_route_send_stop(sol->route);
		nd_actor_unref(sol->route);
		free(sol->id);
		free(sol->url);
		free(sol);
	}
	for (size_t i = 0; i < co->nroutes; i++) {
		bool known = false;
		for (solicit_t *sol = cl->solicits; sol != NULL && !known; sol = sol->next)
			known = sol->explicit_ && strcmp(sol->url, co->routes[i]) == 0;
		if (known)
			continue;
		solicit_t *sol = calloc(1, sizeof(*sol));
		sol->url = xstrdup(co->routes[i]);
		sol->explicit_ = true;
		sol->route = nd_route_solicit(cl, cl->srv, co->routes[i], ND_ROUTE_EXPLICIT);
		if (sol->route == NULL) {
			free(sol->url);
			free(sol);
			continue;
		}
		nd_log_debug("Adding configured route \"%s\"", co->routes[i]);
		sol->next = cl->solicits;
		cl->solicits = sol;
	}
	pthread_mutex_unlock(&cl->mu);
	nd_tls_ctx_unref(srv_tls); /* the replaced ones (or the new ones, if not taken) */
	nd_tls_ctx_unref(cli_tls);
}

/* Drops every actor reference while the runtime still exists. */
static void cluster_release(void *ctx)
{
	nd_cluster_t *cl = ctx;
	pthread_mutex_lock(&cl->mu);
	entry_t *routes = cl->routes;
	solicit_t *solicits = cl->solicits;
	nd_actor_t *listener = cl->listener;
	cl->routes = NULL;
	cl->solicits = NULL;
	cl->listener = NULL;
	cl->nroutes = 0;
	pthread_mutex_unlock(&cl->mu);
	while (routes != NULL) {
		entry_t *e = routes;
		routes = e->next;
		entry_free(e);
	}
	while (solicits != NULL) {
		solicit_t *s = solicits;
		solicits = s->next;
		nd_actor_unref(s->route);
		free(s->id);
		free(s->url);
		free(s);
	}
	if (listener != NULL)
		nd_actor_unref(listener);
}

static const char *cluster_name(void *ctx)
{
	return nd_cluster_name(ctx);
}

static const nd_server_peers_t peers = {.start = cluster_start,
					.shutdown = cluster_shutdown,
					.release = cluster_release,
					.reload = cluster_reload,
					.routes = cluster_routes,
					.cluster_info = cluster_info,
					.cluster_name = cluster_name,
					.lame_duck = cluster_lame_duck};

nd_cluster_t *nd_cluster_create(nd_server_t *s)
{
	nd_opts_snap_t *snap = nd_server_opts(s);
	const nd_opts_t *o = nd_opts_snap_get(snap);
	if (!nd_cluster_opts_configured(&o->cluster)) {
		nd_opts_snap_unref(snap);
		return NULL;
	}
	nd_cluster_t *cl = calloc(1, sizeof(*cl));
	if (cl == NULL)
		abort();
	cl->srv = s;
	pthread_mutex_init(&cl->mu, NULL);
	if (o->cluster.name != NULL && o->cluster.name[0] != '\0') {
		atomic_init(&cl->name, xstrdup(o->cluster.name));
		atomic_init(&cl->dynamic, false);
	} else {
		/* As the reference: a random name, announced as dynamic. */
		static const char alphabet[] =
		    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
		unsigned char rnd[22];
		char name[sizeof(rnd) + 1];
		if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
			memset(rnd, 7, sizeof(rnd));
		for (size_t i = 0; i < sizeof(rnd); i++)
			name[i] = alphabet[rnd[i] % (sizeof(alphabet) - 1)];
		name[sizeof(rnd)] = '\0';
		atomic_init(&cl->name, xstrdup(name));
		atomic_init(&cl->dynamic, true);
	}
	if (o->cluster.tls.set) {
		if (cluster_tls_create(cl, &o->cluster.tls) != 0 && cl->tls_err[0] == '\0')
			snprintf(cl->tls_err, sizeof(cl->tls_err), "cannot create the TLS context");
		if (o->cluster.tls.insecure)
			nd_log_warn(
			    "TLS certificate chain and hostname of solicited routes will not "
			    "be verified. DO NOT USE IN PRODUCTION!");
	}
	nd_opts_snap_unref(snap);
	nd_server_set_peers(s, &peers, cl);
	return cl;
}

void nd_cluster_destroy(nd_cluster_t *cl)
{
	if (cl == NULL)
		return;
	/* Actor references went with cluster_release, before the runtime. */
	nd_tls_ctx_unref(cl->tls_server);
	nd_tls_ctx_unref(cl->tls_client);
	free(cl->host);
	free(atomic_load(&cl->name));
	for (size_t i = 0; i < cl->nold_names; i++)
		free(cl->old_names[i]);
	free(cl->old_names);
	pthread_mutex_destroy(&cl->mu);
	free(cl);
}
