/* The cluster: the route listener, the routes this server solicits, the registry of
 * established routes (one per remote server), gossip (an INFO about each new peer goes to the
 * others, which then connect to it: a full mesh from one seed), and the client URLs of the
 * other servers (INFO connect_urls). Plugs into the server as its peer links
 * (nd_server_set_peers). The registry is shared by routes on every worker under one mutex:
 * it changes only when routes come and go. */
#ifndef ND_TOPOLOGY_CLUSTER_H
#define ND_TOPOLOGY_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>

#include "actors/server.h"
#include "runtime/actor.h"

typedef struct nd_cluster nd_cluster_t;

/* Creates the cluster for s if its options configure one (NULL otherwise) and plugs it in.
 * Before nd_server_start; destroy after nd_server_destroy. */
nd_cluster_t *nd_cluster_create(nd_server_t *s);
void nd_cluster_destroy(nd_cluster_t *cl);

/* ---- for routes ---- */

/* The cluster's name (the configured one, or a dynamic one: chosen at start, or adopted from
 * a peer). The string stays valid until nd_cluster_destroy. */
const char *nd_cluster_name(nd_cluster_t *cl);
bool nd_cluster_name_dynamic(nd_cluster_t *cl);

/* A peer announced cluster name theirs. Returns true if the names agree, after adopting
 * theirs when ours is dynamic and theirs is configured or greater (then every route but
 * keep reconnects, as in the reference); false if the peer must be rejected. */
bool nd_cluster_negotiate_name(nd_cluster_t *cl, const char *theirs, bool their_dynamic,
			       nd_actor_t *keep);

/* The INFO line a route sends on connecting (malloc'd, with *len); nonce may be NULL; ldm
 * adds "ldm":true (lame duck mode). */
char *nd_cluster_route_info(nd_cluster_t *cl, const char *nonce, bool ldm, size_t *len);

/* The cluster's TLS context for accepting (server) or dialling routes (a new reference), or
 * NULL without cluster TLS; and its handshake timeout. */
struct nd_tls_ctx;
struct nd_tls_ctx *nd_cluster_tls(nd_cluster_t *cl, bool server);
uint64_t nd_cluster_tls_timeout_ms(nd_cluster_t *cl);

/* A new route id (rid). */
uint64_t nd_cluster_next_rid(nd_cluster_t *cl);

/* A route's peer as it introduced itself (its first INFO). */
typedef struct nd_route_peer {
	const char *id, *name;
	const char *route_url;    /* where to reach its route port: "nats-route://h:p/" */
	char *const *client_urls; /* its connect_urls */
	size_t nclient_urls;
	bool solicited, configured;
	const char *info_json; /* its INFO JSON, forwarded to the others as gossip */
} nd_route_peer_t;

/* Registers an established route. Returns 0, -EEXIST if another route to the same server is
 * registered (the new one must close: "Duplicate Route"), or -ELOOP for ourselves. */
int nd_cluster_register(nd_cluster_t *cl, nd_actor_t *route, const nd_route_peer_t *peer);

/* The route is gone (after nd_cluster_register succeeded). */
void nd_cluster_unregister(nd_cluster_t *cl, nd_actor_t *route);

/* A route told us about another server (an INFO with another server_id): connect to it unless
 * we know it already. */
void nd_cluster_learn(nd_cluster_t *cl, const char *id, const char *route_url);

/* True if a route to server id is registered. */
bool nd_cluster_has(nd_cluster_t *cl, const char *id);

/* The route's server entered lame duck mode: its clients' URLs leave connect_urls. */
void nd_cluster_peer_lame_duck(nd_cluster_t *cl, nd_actor_t *route);

/* An implicit route gave up: forget it so that gossip may bring it back. */
void nd_cluster_solicit_done(nd_cluster_t *cl, nd_actor_t *route);

#endif
