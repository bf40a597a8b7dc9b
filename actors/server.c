/* The server object: options, identity, the global account, the listener, the registry of
 * connections, and the runtime with its delivery path. Reload and lame duck mode are driven
 * from here; their per-connection work happens in each client actor. */
#define _GNU_SOURCE
#include "actors/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "actors/client.h"
#include "actors/interest.h"
#include "actors/tls.h"
#include "actors/lame_duck.h"
#include "actors/listener.h"
#include "actors/monitor.h"
#include "actors/reload.h"
#include "protocol/hostport.h"
#include "protocol/info.h"
#include "protocol/nkey.h"
#include "runtime/log.h"

/* Closed connections kept for /connz?state=closed (the reference's default). */
#define ND_MAX_CLOSED_CLIENTS 10000

#ifndef NATSD_VERSION
#define NATSD_VERSION "0.0.0"
#endif

struct nd_client_reg {
	nd_client_reg_t *prev, *next;
	nd_actor_t *actor;
};

struct nd_server {
	pthread_mutex_t mu;           /* guards snap, the registry, ports_file */
	nd_opts_snap_t *snap;         /* the current options */
	nd_client_reg_t clients_head; /* circular list of registered clients */
	size_t nclients_reg;
	char *ports_file;

	nd_runtime_t *rt;
	nd_delivery_shared_t *delivery;
	nd_pool_t *sub_pool;
	nd_account_t *gacc;
	nd_actor_t *listener;
	nd_actor_t *lame_duck;
	nd_interest_t *interest; /* counted for peer links; NULL without a cluster */
	nd_tls_ctx_t *tls;       /* clients' TLS context (under mu; a reload replaces it) */
	const nd_server_peers_t *peers;
	void *peers_ctx;
	char **peer_urls; /* client URLs of the other servers (INFO connect_urls), under mu */
	char *client_url; /* ours, as peers announce it (under mu) */
	size_t npeer_urls;
	char id[ND_NKEY_LEN + 1];
	int port;
	bool started, stopped;
	atomic_long clients;
	atomic_ullong next_cid;
	atomic_bool done;

	nd_server_counters_t *counters; /* one per worker */
	int64_t start_ns;
	_Atomic int64_t config_ns;
	nd_monitor_t *monitor;
	int http_port;
	bool https;                    /* the monitoring port serves HTTPS */
	struct nd_client_info *closed; /* ring of max_closed_clients, under mu */
	size_t closed_cap, closed_next, closed_n;
};

static void update_client_url(nd_server_t *s, const nd_opts_t *o);

static char *xstrdup(const char *s)
{
	char *d = strdup(s);
	if (d == NULL)
		abort();
	return d;
}

/* INFO's host and port: client_advertise (the reference's parseHostPort) or the listen
 * address. Returns 0, or -1 with Go's error text. */
static int advertised(const nd_opts_t *o, int listen_port, char **host, int *port, char *err,
		      size_t errlen)
{
	if (o->client_advertise == NULL || o->client_advertise[0] == '\0') {
		*host = xstrdup(o->host);
		*port = listen_port;
		return 0;
	}
	return nd_opts_parse_host_port(o->client_advertise, listen_port, host, port, err, errlen);
}

int nd_server_create(nd_server_t **out, const nd_opts_t *opts, char *err, size_t errlen)
{
	if (nd_opts_validate(opts, err, errlen) != 0)
		return -EINVAL;
	/* The reference's checks of the monitoring ports. */
	if (opts->http_port != 0 && opts->https_port != 0) {
		snprintf(err, errlen, "can't specify both HTTP (%d) and HTTPs (%d) ports",
			 opts->http_port, opts->https_port);
		return -EINVAL;
	}
	if (opts->https_port != 0 && (!opts->tls.set || opts->tls.cert_file == NULL)) {
		snprintf(err, errlen, "TLS cert and key required for HTTPS");
		return -EINVAL;
	}
	char *h;
	int p;
	char aerr[256];
	if (advertised(opts, opts->port, &h, &p, aerr, sizeof(aerr)) != 0) {
		snprintf(err, errlen,
			 "Error setting server INFO with ClientAdvertise value of %s, err=%s",
			 opts->client_advertise, aerr);
		return -EINVAL;
	}
	free(h);
	nd_tls_ctx_t *tls = NULL;
	if (opts->tls.set && nd_server_tls_ctx_from(&opts->tls, &tls, err, errlen) != 0)
		return -EINVAL;
	nd_server_t *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		nd_tls_ctx_unref(tls);
		return -ENOMEM;
	}
	s->tls = tls;
	pthread_mutex_init(&s->mu, NULL);
	s->clients_head.next = s->clients_head.prev = &s->clients_head;
	nd_opts_t copy;
	nd_opts_copy(&copy, opts);
	s->snap = nd_opts_snap_create(&copy);
	nd_runtime_opts_t ro;
	nd_runtime_opts_default(&ro);
	ro.workers = opts->workers;
	ro.spin_us = opts->spin_us;
	int rc = nd_runtime_create(&s->rt, &ro);
	if (rc != 0) {
		nd_opts_snap_unref(s->snap);
		pthread_mutex_destroy(&s->mu);
		free(s);
		snprintf(err, errlen, "cannot create the runtime: %s", strerror(-rc));
		return rc;
	}
	s->delivery = nd_delivery_install(s->rt);
	s->sub_pool =
	    nd_pool_create(s->rt, nd_runtime_worker_count(s->rt), sizeof(nd_sub_t), "subs");
	s->gacc = nd_account_create("$G");
	if (nd_cluster_opts_configured(&opts->cluster))
		s->interest = nd_interest_create();
	s->counters = aligned_alloc(64, nd_runtime_worker_count(s->rt) * sizeof(*s->counters));
	if (s->counters == NULL)
		abort();
	memset(s->counters, 0, nd_runtime_worker_count(s->rt) * sizeof(*s->counters));
	s->closed_cap = ND_MAX_CLOSED_CLIENTS;
	uint8_t key[32];
	if (getrandom(key, sizeof(key), 0) != (ssize_t)sizeof(key)) {
		for (size_t i = 0; i < sizeof(key); i++)
			key[i] = (uint8_t)rand();
	}
	nd_nkey_encode(ND_NKEY_PREFIX_SERVER, key, s->id);
	atomic_init(&s->clients, 0);
	atomic_init(&s->next_cid, 1);
	atomic_init(&s->done, false);
	*out = s;
	return 0;
}

/* ---- pid and ports files ---- */

/* host:port as Go's net.JoinHostPort writes it ([::1]:4222 for IPv6). */
static const char *host_port(const char *host, int port, char *buf, size_t len)
{
	snprintf(buf, len, strchr(host, ':') != NULL ? "[%s]:%d" : "%s:%d", host, port);
	return buf;
}

/* errno's text as Go prints it (lower case: "no such file or directory"). */
static const char *go_strerror(int e, char *buf, size_t len)
{
	snprintf(buf, len, "%s", strerror(e));
	if (buf[0] >= 'A' && buf[0] <= 'Z')
		buf[0] = (char)(buf[0] - 'A' + 'a');
	return buf;
}

/* Returns 0, or -1 with "open PATH: reason" in err. */
static int write_pid_file(const char *path, char *err, size_t errlen)
{
	char buf[32], why[128];
	int n = snprintf(buf, sizeof(buf), "%d", (int)getpid());
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0660);
	if (fd < 0 || write(fd, buf, (size_t)n) != n) {
		snprintf(err, errlen, "open %s: %s", path, go_strerror(errno, why, sizeof(why)));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* Every address the client port can be reached on: all interface addresses when bound to the
 * unspecified address, as the reference lists them. */
static size_t client_urls(const char *scheme, const char *host, int port, char *buf, size_t len)
{
	size_t off = 0;
	bool any = host[0] == '\0' || strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0;
	if (!any) {
		bool v6 = strchr(host, ':') != NULL;
		return (size_t)snprintf(buf, len, "\"%s://%s%s%s:%d\"", scheme, v6 ? "[" : "", host,
					v6 ? "]" : "", port);
	}
	struct ifaddrs *ifs, *i;
	if (getifaddrs(&ifs) != 0)
		return (size_t)snprintf(buf, len, "\"%s://%s:%d\"", scheme, host, port);
	for (i = ifs; i != NULL && off < len; i = i->ifa_next) {
		if (i->ifa_addr == NULL)
			continue;
		char ip[INET6_ADDRSTRLEN];
		int fam = i->ifa_addr->sa_family;
		if (fam == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, ip,
				  sizeof(ip));
		else if (fam == AF_INET6)
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, ip,
				  sizeof(ip));
		else
			continue;
		off += (size_t)snprintf(buf + off, len - off, "%s\"%s://%s%s%s:%d\"",
					off ? "," : "", scheme, fam == AF_INET6 ? "[" : "", ip,
					fam == AF_INET6 ? "]" : "", port);
	}
	freeifaddrs(ifs);
	return off;
}

/* <dir>/<program>_<pid>.ports with the reference's JSON. Called with mu held. */
static void write_ports_file(nd_server_t *s, const nd_opts_t *o)
{
	if (o->ports_file_dir == NULL || o->ports_file_dir[0] == '\0')
		return;
	char *path = NULL;
	if (asprintf(&path, "%s/%s_%d.ports", o->ports_file_dir, program_invocation_short_name,
		     (int)getpid()) < 0)
		abort();
	char urls[4096];
	client_urls("nats", o->host, s->port, urls, sizeof(urls));
	char *json = NULL;
	int n;
	if (s->http_port > 0) {
		char mon[4096];
		const char *hh = o->http_host != NULL && o->http_host[0] ? o->http_host : o->host;
		client_urls(s->https ? "https" : "http", hh, s->http_port, mon, sizeof(mon));
		n = asprintf(&json, "{\"nats\":[%s],\"monitoring\":[%s]}", urls, mon);
	} else {
		n = asprintf(&json, "{\"nats\":[%s]}", urls);
	}
	if (n < 0)
		abort();
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (fd < 0 || write(fd, json, (size_t)n) != n) {
		nd_log_error("Error writing ports file (%s): %s", path, strerror(errno));
		free(path);
		path = NULL;
	}
	if (fd >= 0)
		close(fd);
	free(json);
	free(s->ports_file);
	s->ports_file = path;
}

static void delete_ports_file(nd_server_t *s)
{
	if (s->ports_file == NULL)
		return;
	if (unlink(s->ports_file) != 0)
		nd_log_error("Error cleaning up ports file %s: %s", s->ports_file, strerror(errno));
	free(s->ports_file);
	s->ports_file = NULL;
}

/* ---- logging ---- */

static int configure_logging(const nd_opts_t *o, char *err, size_t errlen)
{
	nd_log_opts_t lo = {.debug = o->debug,
			    .trace = o->trace,
			    .logtime = o->logtime,
			    .fd = -1,
			    .file = o->log_file,
			    .size_limit = o->log_size_limit,
			    .syslog = o->syslog,
			    .remote_syslog = o->remote_syslog};
	return nd_log_configure(&lo, err, errlen);
}

int nd_server_start(nd_server_t *s)
{
	const nd_opts_t *o = nd_opts_snap_get(s->snap);
	char err[512];
	int rc = configure_logging(o, err, sizeof(err));
	if (rc != 0) {
		nd_log_fatal("%s", err);
		return rc;
	}
	nd_log_info("Starting natsd");
	nd_log_info("  Version:  %s (NATS protocol of nats-server %s)", NATSD_VERSION,
		    ND_COMPAT_VERSION);
	nd_log_info("  Name:     %s", o->server_name ? o->server_name : s->id);
	nd_log_info("  ID:       %s", s->id);
	nd_log_info("  Workers:  %u", nd_runtime_worker_count(s->rt));
	nd_auth_conf_t ac = nd_opts_auth(o);
	if (nd_auth_has_plain_passwords(&ac))
		nd_log_warn("Plaintext passwords detected, use nkeys or bcrypt");
	if (o->config_file != NULL)
		nd_log_info("Using configuration file: %s", o->config_file);
	/* As the reference: the pid file is written before listening, and failing is fatal. */
	if (o->pid_file != NULL && o->pid_file[0] != '\0' &&
	    write_pid_file(o->pid_file, err, sizeof(err)) != 0) {
		nd_log_fatal("Could not write pidfile: %s", err);
		return -EIO;
	}
	if (o->port < -1 || o->port > 65535) {
		nd_log_fatal(
		    "Error listening on port: %s:%d, \"listen tcp: address %d: invalid port\"",
		    o->host, o->port, o->port);
		return -EINVAL;
	}
	int fd = nd_listener_bind(o->host, o->port, &s->port);
	if (fd < 0) {
		char hp[300];
		host_port(o->host, o->port, hp, sizeof(hp));
		nd_log_fatal("Error listening on port: %s, \"listen tcp %s: bind: %s\"", hp, hp,
			     go_strerror(-fd, err, sizeof(err)));
		return fd;
	}
	rc = nd_runtime_start(s->rt);
	if (rc != 0) {
		close(fd);
		return rc;
	}
	s->started = true;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	s->start_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
	atomic_store(&s->config_ns, s->start_ns);
	if (o->http_port != 0 || o->https_port != 0) {
		const char *hh = o->http_host != NULL && o->http_host[0] ? o->http_host : o->host;
		bool https = o->https_port != 0;
		/* HTTPS uses the clients' certificate and never asks for one (the reference). */
		nd_tls_ctx_t *tls = NULL;
		if (https) {
			nd_tls_opts_t t = o->tls;
			t.verify = false;
			if (nd_server_tls_ctx_from(&t, &tls, err, sizeof(err)) != 0) {
				nd_log_fatal("%s", err);
				return -EINVAL;
			}
		}
		int want = https ? o->https_port : o->http_port;
		rc = nd_monitor_start(&s->monitor, s, hh, want, o->http_base_path, tls,
				      &s->http_port);
		nd_tls_ctx_unref(tls);
		if (rc != 0) {
			nd_log_fatal("Can't listen to the monitor port: listen tcp %s:%d: %s", hh,
				     want, strerror(-rc));
			return rc;
		}
		s->https = https;
		nd_log_info("Starting %s monitor on %s:%d", https ? "https" : "http", hh,
			    s->http_port);
	}
	update_client_url(s, o);
	s->listener = nd_listener_start(s, fd);
	char hp[300];
	nd_log_info("Listening for client connections on %s",
		    host_port(o->host, s->port, hp, sizeof(hp)));
	if (s->peers != NULL && (rc = s->peers->start(s->peers_ctx)) != 0)
		return rc;
	pthread_mutex_lock(&s->mu);
	write_ports_file(s, o);
	pthread_mutex_unlock(&s->mu);
	nd_log_info("Server is ready");
	return 0;
}

void nd_server_shutdown(nd_server_t *s)
{
	if (!s->started || s->stopped)
		return;
	s->stopped = true;
	nd_log_info("Initiating Shutdown...");
	nd_monitor_stop(s->monitor); /* before the runtime: it waits for its connections */
	s->monitor = NULL;
	nd_actor_stop(s->listener);
	if (s->lame_duck != NULL)
		nd_actor_stop(s->lame_duck);
	if (s->peers != NULL)
		s->peers->shutdown(s->peers_ctx);
	nd_runtime_shutdown(s->rt); /* stops every client: sockets close, subscriptions go */
	pthread_mutex_lock(&s->mu);
	delete_ports_file(s);
	pthread_mutex_unlock(&s->mu);
	nd_log_info("Server Exiting..");
}

long nd_server_destroy(nd_server_t *s)
{
	if (s == NULL)
		return 0;
	nd_server_shutdown(s);
	if (s->listener != NULL)
		nd_actor_unref(s->listener);
	if (s->lame_duck != NULL)
		nd_actor_unref(s->lame_duck);
	/* Clients unregister when they stop; any left never ran (the runtime was torn down). */
	while (s->clients_head.next != &s->clients_head)
		nd_server_unregister_client(s, s->clients_head.next);
	if (s->peers != NULL && s->started)
		s->peers->release(s->peers_ctx);
	nd_delivery_uninstall(s->delivery);
	long leaks = nd_runtime_destroy(s->rt); /* runs retired frees into the sub pool */
	leaks += nd_pool_destroy(s->sub_pool);
	nd_account_destroy(s->gacc);
	nd_interest_destroy(s->interest);
	nd_tls_ctx_unref(s->tls);
	for (size_t i = 0; i < s->npeer_urls; i++)
		free(s->peer_urls[i]);
	free(s->peer_urls);
	free(s->client_url);
	nd_opts_snap_unref(s->snap);
	free(s->ports_file);
	if (s->closed != NULL) {
		for (size_t i = 0; i < s->closed_cap; i++)
			nd_client_info_deinit(&s->closed[i]);
		free(s->closed);
	}
	free(s->counters);
	pthread_mutex_destroy(&s->mu);
	free(s);
	return leaks;
}

int nd_server_port(const nd_server_t *s)
{
	return s->port;
}

nd_opts_snap_t *nd_server_opts(nd_server_t *s)
{
	pthread_mutex_lock(&s->mu);
	nd_opts_snap_t *snap = nd_opts_snap_ref(s->snap);
	pthread_mutex_unlock(&s->mu);
	return snap;
}

nd_runtime_t *nd_server_runtime(nd_server_t *s)
{
	return s->rt;
}

nd_delivery_shared_t *nd_server_delivery(nd_server_t *s)
{
	return s->delivery;
}

nd_account_t *nd_server_global_account(nd_server_t *s)
{
	return s->gacc;
}

nd_pool_t *nd_server_sub_pool(nd_server_t *s)
{
	return s->sub_pool;
}

const char *nd_server_id(const nd_server_t *s)
{
	return s->id;
}

int nd_server_tls_ctx_from(const nd_tls_opts_t *t, nd_tls_ctx_t **out, char *err, size_t errlen)
{
	nd_tls_settings_t ts;
	nd_tls_settings_from_opts(t, &ts);
	return nd_tls_ctx_create(out, &ts, true, err, errlen);
}

nd_tls_ctx_t *nd_server_tls(nd_server_t *s)
{
	pthread_mutex_lock(&s->mu);
	nd_tls_ctx_t *t = s->tls != NULL ? nd_tls_ctx_ref(s->tls) : NULL;
	pthread_mutex_unlock(&s->mu);
	return t;
}

nd_interest_t *nd_server_interest(nd_server_t *s)
{
	return s->interest;
}

void nd_server_set_peers(nd_server_t *s, const nd_server_peers_t *peers, void *ctx)
{
	s->peers = peers;
	s->peers_ctx = ctx;
}

size_t nd_server_peer_routes(nd_server_t *s, nd_route_info_t **out, bool subs)
{
	*out = NULL;
	if (s->peers == NULL || s->peers->routes == NULL)
		return 0;
	return s->peers->routes(s->peers_ctx, out, subs);
}

void nd_server_cluster_info(nd_server_t *s, nd_server_cluster_info_t *out)
{
	memset(out, 0, sizeof(*out));
	if (s->peers != NULL && s->peers->cluster_info != NULL)
		s->peers->cluster_info(s->peers_ctx, out);
}

void nd_route_info_free(nd_route_info_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; v[i].subs != NULL && k < v[i].nsubs; k++)
			free(v[i].subs[k]);
		free(v[i].subs);
	}
	free(v);
}

/* The host:port this server's clients reach it on under o, as peers list it in connect_urls.
 * Looks at the interfaces: computed at start and on reload, not per INFO. */
static char *compute_client_url(nd_server_t *s, const nd_opts_t *o)
{
	char *host, *url = NULL;
	int port;
	char err[256];
	if (advertised(o, s->port, &host, &port, err, sizeof(err)) != 0) {
		host = xstrdup(o->host);
		port = s->port;
	}
	bool any = host[0] == '\0' || strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0;
	if (any && (o->client_advertise == NULL || o->client_advertise[0] == '\0')) {
		/* The reference lists every interface address; peers need one that works. */
		char buf[4096];
		client_urls("x", host, port, buf, sizeof(buf));
		char *first = strstr(buf, "x://");
		if (first != NULL) {
			char *end = strchr(first, '"');
			if (end != NULL)
				*end = '\0';
			url = xstrdup(first + 4);
		}
	}
	if (url == NULL) {
		char hp[300];
		url = xstrdup(host_port(host, port, hp, sizeof(hp)));
	}
	free(host);
	return url;
}

/* Recomputes the cached client URL (after the port is bound, and on reload). */
static void update_client_url(nd_server_t *s, const nd_opts_t *o)
{
	char *url = compute_client_url(s, o);
	pthread_mutex_lock(&s->mu);
	char *old = s->client_url;
	s->client_url = url;
	pthread_mutex_unlock(&s->mu);
	free(old);
}

char *nd_server_client_url(nd_server_t *s)
{
	pthread_mutex_lock(&s->mu);
	char *url = xstrdup(s->client_url != NULL ? s->client_url : "");
	pthread_mutex_unlock(&s->mu);
	return url;
}

char **nd_server_connect_urls(nd_server_t *s, size_t *n)
{
	*n = 0;
	pthread_mutex_lock(&s->mu);
	if (s->npeer_urls == 0) {
		pthread_mutex_unlock(&s->mu);
		return NULL;
	}
	const char *mine = s->client_url != NULL ? s->client_url : "";
	char **v = calloc(s->npeer_urls + 1, sizeof(char *));
	if (v == NULL)
		abort();
	size_t k = 0;
	v[k++] = xstrdup(mine);
	for (size_t i = 0; i < s->npeer_urls; i++)
		if (strcmp(s->peer_urls[i], mine) != 0)
			v[k++] = xstrdup(s->peer_urls[i]);
	pthread_mutex_unlock(&s->mu);
	*n = k;
	return v;
}

void nd_server_free_urls(char **urls, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(urls[i]);
	free(urls);
}

void nd_server_set_peer_urls(nd_server_t *s, char *const *urls, size_t n)
{
	pthread_mutex_lock(&s->mu);
	bool same = n == s->npeer_urls;
	for (size_t i = 0; same && i < n; i++)
		same = strcmp(urls[i], s->peer_urls[i]) == 0;
	if (same) {
		pthread_mutex_unlock(&s->mu);
		return;
	}
	for (size_t i = 0; i < s->npeer_urls; i++)
		free(s->peer_urls[i]);
	free(s->peer_urls);
	s->peer_urls = n ? calloc(n, sizeof(char *)) : NULL;
	for (size_t i = 0; i < n; i++)
		s->peer_urls[i] = xstrdup(urls[i]);
	s->npeer_urls = n;
	pthread_mutex_unlock(&s->mu);
	/* Clients learn the cluster's servers from an asynchronous INFO. */
	size_t nc;
	nd_actor_t **clients = nd_server_clients(s, &nc);
	for (size_t i = 0; i < nc; i++) {
		nd_client_send_info_update(clients[i]);
		nd_actor_unref(clients[i]);
	}
	free(clients);
}

char *nd_server_client_info(nd_server_t *s, const nd_opts_t *o, uint64_t cid, const char *ip,
			    const char *nonce, bool ldm, size_t *len)
{
	char *host;
	int port;
	char err[256];
	if (advertised(o, s->port, &host, &port, err, sizeof(err)) != 0) {
		host = xstrdup(o->host); /* checked at start and on reload: not reached */
		port = s->port;
	}
	nd_auth_conf_t ac = nd_opts_auth(o);
	/* A connection's first INFO does not ask for auth when a no_auth_user would let it in
	 * anyway (the reference's createClient); the server still checks what it sends. */
	bool auth =
	    nd_auth_required(&ac) && (ldm || o->no_auth_user == NULL || o->no_auth_user[0] == '\0');
	nd_info_t in = {
	    .server_id = s->id,
	    .server_name = o->server_name ? o->server_name : s->id,
	    .version = ND_COMPAT_VERSION,
	    .go = "natsd " NATSD_VERSION,
	    .host = host,
	    .port = port,
	    .headers = !o->no_header_support,
	    .auth_required = auth,
	    .max_payload = o->max_payload,
	    .client_id = cid,
	    .client_ip = ip,
	    .nonce = nonce,
	    .ldm = ldm,
	    .cluster = s->peers != NULL ? s->peers->cluster_name(s->peers_ctx) : NULL,
	    .tls_required = o->tls.set && !o->allow_non_tls,
	    .tls_verify = o->tls.set && o->tls.verify,
	    .tls_available = o->tls.set && o->allow_non_tls,
	};
	/* With peers, connect_urls lists this server and every other one (the reference's). */
	size_t nurls;
	char **urls = nd_server_connect_urls(s, &nurls);
	in.connect_urls = (const char *const *)urls;
	in.connect_urls_count = nurls;
	char *line = nd_info_encode(&in, len);
	nd_server_free_urls(urls, nurls);
	free(host);
	return line;
}

bool nd_server_client_admit(nd_server_t *s)
{
	nd_opts_snap_t *snap = nd_server_opts(s);
	int max = nd_opts_snap_get(snap)->max_connections;
	nd_opts_snap_unref(snap);
	/* relaxed: a count; there is a single listener, so admissions do not race. */
	long n = atomic_fetch_add_explicit(&s->clients, 1, memory_order_relaxed);
	if (max > 0 && n >= max) {
		atomic_fetch_sub_explicit(&s->clients, 1, memory_order_relaxed);
		return false;
	}
	return true;
}

void nd_server_client_gone(nd_server_t *s)
{
	atomic_fetch_sub_explicit(&s->clients, 1, memory_order_relaxed);
}

uint64_t nd_server_next_cid(nd_server_t *s)
{
	return atomic_fetch_add_explicit(&s->next_cid, 1, memory_order_relaxed);
}

/* ---- the registry ---- */

nd_client_reg_t *nd_server_register_client(nd_server_t *s, nd_actor_t *client)
{
	nd_client_reg_t *r = malloc(sizeof(*r));
	if (r == NULL)
		abort();
	r->actor = nd_actor_ref(client);
	pthread_mutex_lock(&s->mu);
	r->next = &s->clients_head;
	r->prev = s->clients_head.prev;
	r->prev->next = r;
	s->clients_head.prev = r;
	s->nclients_reg++;
	pthread_mutex_unlock(&s->mu);
	return r;
}

void nd_server_unregister_client(nd_server_t *s, nd_client_reg_t *r)
{
	pthread_mutex_lock(&s->mu);
	r->prev->next = r->next;
	r->next->prev = r->prev;
	s->nclients_reg--;
	pthread_mutex_unlock(&s->mu);
	nd_actor_unref(r->actor);
	free(r);
}

nd_actor_t **nd_server_clients(nd_server_t *s, size_t *n)
{
	pthread_mutex_lock(&s->mu);
	nd_actor_t **v = malloc((s->nclients_reg + 1) * sizeof(*v));
	if (v == NULL)
		abort();
	size_t i = 0;
	for (nd_client_reg_t *r = s->clients_head.next; r != &s->clients_head; r = r->next)
		v[i++] = nd_actor_ref(r->actor);
	pthread_mutex_unlock(&s->mu);
	*n = i;
	return v;
}

/* ---- reload ---- */

int nd_server_reload(nd_server_t *s, const nd_opts_t *opts, char **err)
{
	char buf[512];
	if (nd_opts_validate(opts, buf, sizeof(buf)) != 0) {
		*err = xstrdup(buf);
		return -1;
	}
	char *h;
	int p;
	if (advertised(opts, s->port, &h, &p, buf, sizeof(buf)) != 0) {
		if (asprintf(err, "invalid ClientAdvertise value of %s, err=%s",
			     opts->client_advertise, buf) < 0)
			abort();
		return -1;
	}
	free(h);
	nd_opts_snap_t *old = nd_server_opts(s);
	nd_reload_plan_t plan;
	if (nd_reload_plan(nd_opts_snap_get(old), opts, &plan, err) != 0) {
		nd_opts_snap_unref(old);
		return -1;
	}
	if (plan.logging) {
		/* The new outputs must open before anything changes. */
		if (configure_logging(opts, buf, sizeof(buf)) != 0) {
			*err = xstrdup(buf);
			nd_reload_plan_deinit(&plan);
			nd_opts_snap_unref(old);
			return -1;
		}
	}
	/* Certificates are read again on every reload: new connections get the new context,
	 * established ones keep their session. */
	nd_tls_ctx_t *tls = NULL;
	if (opts->tls.set && nd_server_tls_ctx_from(&opts->tls, &tls, buf, sizeof(buf)) != 0) {
		*err = xstrdup(buf);
		nd_reload_plan_deinit(&plan);
		nd_opts_snap_unref(old);
		return -1;
	}
	nd_opts_t copy;
	nd_opts_copy(&copy, opts);
	nd_opts_snap_t *snap = nd_opts_snap_create(&copy);
	pthread_mutex_lock(&s->mu);
	nd_opts_snap_t *prev = s->snap;
	s->snap = nd_opts_snap_ref(snap);
	nd_tls_ctx_t *prev_tls = s->tls;
	s->tls = tls;
	if (plan.ports_file) {
		delete_ports_file(s);
		write_ports_file(s, opts);
	}
	pthread_mutex_unlock(&s->mu);
	nd_opts_snap_unref(prev);
	nd_tls_ctx_unref(prev_tls);
	update_client_url(s, opts);
	if (s->peers != NULL && s->peers->reload != NULL)
		s->peers->reload(s->peers_ctx, opts);
	/* HTTPS serves the clients' certificate: read again too. */
	if (s->https && s->monitor != NULL && opts->tls.set) {
		nd_tls_opts_t t = opts->tls;
		t.verify = false;
		nd_tls_ctx_t *https = NULL;
		if (nd_server_tls_ctx_from(&t, &https, buf, sizeof(buf)) == 0) {
			nd_monitor_set_tls(s->monitor, https);
			nd_tls_ctx_unref(https);
		} else {
			nd_log_error("HTTPS certificate not reloaded: %s", buf);
		}
	}
	for (size_t i = 0; i < plan.n; i++)
		nd_log_info("%s", plan.notices[i]);
	if (plan.pid_file && opts->pid_file != NULL && opts->pid_file[0] != '\0' &&
	    write_pid_file(opts->pid_file, buf, sizeof(buf)) != 0)
		nd_log_error("Could not write pidfile: %s", buf);

	/* Every connection takes the new options, authenticates again and drops what it may
	 * no longer subscribe to. Past a lowered max_connections, the excess is closed. */
	size_t n;
	nd_actor_t **clients = nd_server_clients(s, &n);
	size_t excess = 0;
	if (plan.max_connections && opts->max_connections > 0 && n > (size_t)opts->max_connections)
		excess = n - (size_t)opts->max_connections;
	for (size_t i = 0; i < n; i++) {
		if (i < excess)
			nd_client_send_close(clients[i], ND_CLIENT_CLOSE_MAX_CONNECTIONS);
		else
			nd_client_send_reload(clients[i], snap);
		nd_actor_unref(clients[i]);
	}
	free(clients);
	if (excess > 0)
		nd_log_info("Closed %zu connections to fall within max_connections", excess);
	nd_opts_snap_unref(snap);
	nd_opts_snap_unref(old);
	nd_reload_plan_deinit(&plan);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	atomic_store(&s->config_ns, (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec);
	nd_log_info("Reloaded server configuration");
	return 0;
}

/* ---- monitoring ---- */

nd_server_counters_t *nd_server_counters(nd_server_t *s, unsigned worker)
{
	return &s->counters[worker];
}

void nd_server_totals(nd_server_t *s, nd_server_totals_t *out)
{
	memset(out, 0, sizeof(*out));
	unsigned n = nd_runtime_worker_count(s->rt);
	for (unsigned i = 0; i < n; i++) {
		nd_server_counters_t *c = &s->counters[i];
		/* relaxed: totals for display, no ordering with anything else. */
		out->in_msgs += atomic_load_explicit(&c->in_msgs, memory_order_relaxed);
		out->in_bytes += atomic_load_explicit(&c->in_bytes, memory_order_relaxed);
		out->out_msgs += atomic_load_explicit(&c->out_msgs, memory_order_relaxed);
		out->out_bytes += atomic_load_explicit(&c->out_bytes, memory_order_relaxed);
		out->slow_consumers +=
		    atomic_load_explicit(&c->slow_consumers, memory_order_relaxed);
	}
	/* relaxed: counters read for display. */
	out->total_connections = atomic_load_explicit(&s->next_cid, memory_order_relaxed) - 1;
	out->connections = atomic_load_explicit(&s->clients, memory_order_relaxed);
	out->start_ns = s->start_ns;
}

void nd_server_closed_add(nd_server_t *s, nd_client_info_t *info)
{
	pthread_mutex_lock(&s->mu);
	if (s->closed == NULL && s->closed_cap > 0) {
		s->closed = calloc(s->closed_cap, sizeof(*s->closed));
		if (s->closed == NULL)
			abort();
	}
	if (s->closed_cap == 0) {
		pthread_mutex_unlock(&s->mu);
		nd_client_info_deinit(info);
		return;
	}
	nd_client_info_t *slot = &s->closed[s->closed_next];
	if (s->closed_n == s->closed_cap)
		nd_client_info_deinit(slot);
	else
		s->closed_n++;
	*slot = *info;
	memset(info, 0, sizeof(*info));
	s->closed_next = (s->closed_next + 1) % s->closed_cap;
	pthread_mutex_unlock(&s->mu);
}

nd_client_info_t *nd_server_closed_list(nd_server_t *s, size_t *n)
{
	pthread_mutex_lock(&s->mu);
	nd_client_info_t *v = calloc(s->closed_n + 1, sizeof(*v));
	if (v == NULL)
		abort();
	size_t first =
	    (s->closed_next + s->closed_cap - s->closed_n) % (s->closed_cap ? s->closed_cap : 1);
	for (size_t i = 0; i < s->closed_n; i++)
		nd_client_info_copy(&v[i], &s->closed[(first + i) % s->closed_cap]);
	*n = s->closed_n;
	pthread_mutex_unlock(&s->mu);
	return v;
}

int64_t nd_server_config_time(nd_server_t *s)
{
	return atomic_load(&s->config_ns);
}

bool nd_server_https(const nd_server_t *s)
{
	return s->https;
}

int nd_server_http_port(const nd_server_t *s)
{
	return s->http_port;
}

/* ---- lame duck mode ---- */

void nd_server_lame_duck(nd_server_t *s)
{
	pthread_mutex_lock(&s->mu);
	bool go = s->started && !s->stopped && s->lame_duck == NULL;
	if (go)
		s->lame_duck = nd_lame_duck_create(s);
	pthread_mutex_unlock(&s->mu);
	if (!go)
		return;
	nd_log_info("Entering lame duck mode, stop accepting new clients");
	if (s->peers != NULL && s->peers->lame_duck != NULL)
		s->peers->lame_duck(s->peers_ctx); /* peers stop sending our clients here */
	nd_actor_stop(s->listener); /* the listener reports back when its socket is closed */
}

void nd_server_listener_closed(nd_server_t *s)
{
	pthread_mutex_lock(&s->mu);
	nd_actor_t *ldm = s->lame_duck != NULL ? nd_actor_ref(s->lame_duck) : NULL;
	pthread_mutex_unlock(&s->mu);
	if (ldm != NULL) {
		nd_lame_duck_listener_closed(ldm);
		nd_actor_unref(ldm);
	}
}

void nd_server_set_done(nd_server_t *s)
{
	/* release: whoever sees done also sees the lame duck's work finished. */
	atomic_store_explicit(&s->done, true, memory_order_release);
}

bool nd_server_done(nd_server_t *s)
{
	return atomic_load_explicit(&s->done, memory_order_acquire);
}
