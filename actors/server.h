/* The broker: options, identity, accounts, the client listener, the connections it serves and
 * the runtime it all runs on. The embedding API (include/natsd.h) is a thin layer over this. */
#ifndef ND_ACTORS_SERVER_H
#define ND_ACTORS_SERVER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "actors/account.h"
#include "actors/delivery.h"
#include "actors/opts.h"
#include "runtime/actor.h"
#include "runtime/pool.h"
#include "runtime/runtime.h"

/* The reference version we are compatible with and report (INFO, /varz): clients gate
 * features on the server's version (headers and no-responders need 2.2+).
 * docs/compatibility.md. */
#define ND_COMPAT_VERSION "2.9.10"

typedef struct nd_server nd_server_t;

/* Creates a server (nothing listens or runs yet) after the reference's start-up checks.
 * Returns 0, or -EINVAL with the reason in err, or another -errno. */
int nd_server_create(nd_server_t **out, const nd_opts_t *opts, char *err, size_t errlen);

/* Binds the client port, writes the pid and ports files, starts the workers and accepts
 * connections. Returns 0 or -errno (e.g. -EADDRINUSE); the failure is logged. */
int nd_server_start(nd_server_t *s);

/* Closes the listener and every connection, joins the workers and removes the ports file.
 * Idempotent. */
void nd_server_shutdown(nd_server_t *s);

/* Frees the server. Returns leaked runtime objects (0 when clean). */
long nd_server_destroy(nd_server_t *s);

/* The port actually bound (useful with port -1). */
int nd_server_port(const nd_server_t *s);

/* Applies new options (a config reload): compares them with the running ones, refuses changes
 * that need a restart (with the reference's message in *err, malloc'd), and otherwise makes
 * them current: logging, limits for new and existing connections, and authorization (every
 * connection is authenticated again; revoked subscriptions are dropped). Logs each change as
 * the reference does. Returns 0 or -1. Any thread but a worker's. */
int nd_server_reload(nd_server_t *s, const nd_opts_t *opts, char **err);

/* Lame duck mode: stop accepting, tell clients (INFO with "ldm":true), wait the grace period,
 * then close the clients spread over the rest of lame_duck_duration, then finish (see
 * nd_server_done). Idempotent; returns at once. Any thread but a worker's. */
void nd_server_lame_duck(nd_server_t *s);

/* True once lame duck mode has closed every client: the embedder should shut down. */
bool nd_server_done(nd_server_t *s);

/* ---- for the broker's own actors ---- */

/* The current options: a new reference the caller releases. Any thread. */
nd_opts_snap_t *nd_server_opts(nd_server_t *s);
nd_runtime_t *nd_server_runtime(nd_server_t *s);
nd_delivery_shared_t *nd_server_delivery(nd_server_t *s);
nd_account_t *nd_server_global_account(nd_server_t *s);
nd_pool_t *nd_server_sub_pool(nd_server_t *s);
const char *nd_server_id(const nd_server_t *s);

/* The clients' TLS context (a new reference), or NULL without TLS. Any thread. */
struct nd_tls_ctx;
struct nd_tls_ctx *nd_server_tls(nd_server_t *s);

/* Builds a server-side TLS context from a tls {} block. Returns 0 or -1 (reason in err). */
int nd_server_tls_ctx_from(const nd_tls_opts_t *t, struct nd_tls_ctx **out, char *err,
			   size_t errlen);

/* Local interest counted for peer links; NULL when no cluster is configured. */
struct nd_interest;
struct nd_interest *nd_server_interest(nd_server_t *s);

/* ---- peer links (topology/ plugs in here; actors/ does not depend on it) ---- */

/* A route as /routez shows it. Times CLOCK_REALTIME ns. */
typedef struct nd_route_info {
	uint64_t rid;
	char remote_id[64], remote_name[256];
	bool did_solicit, is_configured;
	char ip[64];
	int port;
	int64_t start_ns, last_activity_ns, rtt_ns;
	uint64_t pending_bytes, in_msgs, out_msgs, in_bytes, out_bytes;
	uint32_t nsubs;
	char **subs; /* with subs requested: "subject" or "subject queue", nsubs entries */
} nd_route_info_t;

void nd_route_info_free(nd_route_info_t *v, size_t n);

/* The cluster as /varz shows it. */
typedef struct nd_server_cluster_info {
	bool enabled;
	char name[256], addr[256];
	int port;
	double auth_timeout_s;
	double tls_timeout_s; /* 2 without cluster TLS, as the reference shows it */
	bool tls;             /* cluster TLS (routes always verify) */
	char **urls; /* configured routes as host:port; the caller frees each and the array */
	size_t nurls;
	long routes;
} nd_server_cluster_info_t;

typedef struct nd_server_peers {
	/* After the client listener, before "Server is ready". Returns 0 or -errno (logged). */
	int (*start)(void *ctx);
	/* Before the runtime shuts down: stop soliciting and listening. */
	void (*shutdown)(void *ctx);
	/* After the runtime shut down, before it is destroyed: drop actor references. */
	void (*release)(void *ctx);
	/* Monitoring snapshots. */
	size_t (*routes)(void *ctx, nd_route_info_t **out, bool subs);
	void (*cluster_info)(void *ctx, nd_server_cluster_info_t *out);
	/* A reload made o current: dial the routes added, stop those removed. */
	void (*reload)(void *ctx, const nd_opts_t *o);
	/* Lame duck mode started: tell the peers (INFO "ldm"). */
	void (*lame_duck)(void *ctx);
	/* The cluster's name, fixed for the server's life (client INFO "cluster"). */
	const char *(*cluster_name)(void *ctx);
} nd_server_peers_t;

/* Plugs the peer links in (before nd_server_start); peers and ctx outlive the server. */
void nd_server_set_peers(nd_server_t *s, const nd_server_peers_t *peers, void *ctx);
size_t nd_server_peer_routes(nd_server_t *s, nd_route_info_t **out, bool subs);
void nd_server_cluster_info(nd_server_t *s, nd_server_cluster_info_t *out);

/* This server's client address as peers announce it ("host:port", malloc'd). */
char *nd_server_client_url(nd_server_t *s);

/* The client URLs of the other servers of the cluster: INFO's connect_urls becomes this
 * server's URL plus these; clients that take asynchronous INFO get a new one when they change.
 * Any thread. */
void nd_server_set_peer_urls(nd_server_t *s, char *const *urls, size_t n);

/* INFO's connect_urls: this server's client URL then the peers' (malloc'd, *n entries; NULL
 * and 0 while there are no peers). Free with nd_server_free_urls. */
char **nd_server_connect_urls(nd_server_t *s, size_t *n);
void nd_server_free_urls(char **urls, size_t n);

/* The INFO line for a client (malloc'd; caller frees) under options o. nonce: NULL or the
 * client's nonce; ldm: the lame-duck notification. */
char *nd_server_client_info(nd_server_t *s, const nd_opts_t *o, uint64_t cid, const char *ip,
			    const char *nonce, bool ldm, size_t *len);

/* Connection bookkeeping for max_connections: admit counts a new client in (false when the
 * limit of the current options is reached); gone counts one out. Any thread. */
bool nd_server_client_admit(nd_server_t *s);
void nd_server_client_gone(nd_server_t *s);

/* A new client id (every accepted connection takes one, refused ones too). */
uint64_t nd_server_next_cid(nd_server_t *s);

/* The registry of live client connections (reload and lame duck reach them through it).
 * register takes a reference to the actor and returns a handle for unregister. Any thread. */
typedef struct nd_client_reg nd_client_reg_t;
nd_client_reg_t *nd_server_register_client(nd_server_t *s, nd_actor_t *client);
void nd_server_unregister_client(nd_server_t *s, nd_client_reg_t *reg);

/* References to every registered client (caller unrefs each and frees the array). */
nd_actor_t **nd_server_clients(nd_server_t *s, size_t *n);

/* The listener closed its socket (lame duck mode goes on from there). Listener only. */
void nd_server_listener_closed(nd_server_t *s);

/* ---- monitoring ---- */

/* Traffic totals of one worker's connections. Written only by that worker (plain load+store,
 * no locked instruction on the hot path), read by anyone with relaxed loads. */
typedef struct nd_server_counters {
	_Atomic uint64_t in_msgs, in_bytes, out_msgs, out_bytes, slow_consumers;
	char pad[64 - 5 * sizeof(uint64_t) % 64];
} nd_server_counters_t;

nd_server_counters_t *nd_server_counters(nd_server_t *s, unsigned worker);

/* Adds n to a counter of the calling worker's own slot. */
static inline void nd_server_counter_add(_Atomic uint64_t *c, uint64_t n)
{
	/* relaxed: single writer; readers only need an eventually consistent total. */
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

typedef struct nd_server_totals {
	uint64_t in_msgs, in_bytes, out_msgs, out_bytes, slow_consumers;
	uint64_t total_connections; /* accepted since start */
	long connections;           /* open now */
	int64_t start_ns;           /* CLOCK_REALTIME when the server started */
} nd_server_totals_t;

void nd_server_totals(nd_server_t *s, nd_server_totals_t *out);

/* When the configuration was last loaded (start or reload), CLOCK_REALTIME ns. */
int64_t nd_server_config_time(nd_server_t *s);

/* True if the monitoring port serves HTTPS. */
bool nd_server_https(const nd_server_t *s);

/* The monitoring port actually bound, 0 without monitoring. */
int nd_server_http_port(const nd_server_t *s);

/* Keeps a closed connection's snapshot (taken over) for /connz?state=closed, in a ring of the
 * last max_closed_clients. Any thread. */
struct nd_client_info;
void nd_server_closed_add(nd_server_t *s, struct nd_client_info *info);

/* Copies of the kept closed connections, oldest first (caller deinits each and frees). */
struct nd_client_info *nd_server_closed_list(nd_server_t *s, size_t *n);

/* Lame duck mode closed every client (see nd_server_done). */
void nd_server_set_done(nd_server_t *s);

#endif
