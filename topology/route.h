/* A route: one connection to another server of the cluster, as an actor on one worker. It
 * speaks the reference's route protocol (protocol/route_parser.h): the INFO/CONNECT
 * handshake, the peer's interest (RS+/RS-) kept as remote subscriptions in the account's
 * index, our interest announced from the interest registry (actors/interest.h), messages in
 * both directions (RMSG/HMSG), and PING/PONG. It is a delivery destination (actors/dest.h)
 * whose framing is RMSG. A solicited route to a configured URL outlives its connections: it
 * reconnects after a failure. Everything runs on the route's home worker. */
#ifndef ND_TOPOLOGY_ROUTE_H
#define ND_TOPOLOGY_ROUTE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "actors/server.h"
#include "runtime/actor.h"

typedef struct nd_cluster nd_cluster_t;

/* Starts a route for an accepted, non-blocking socket (owned from now on). Any thread. */
void nd_route_accept(nd_cluster_t *cl, nd_server_t *s, int fd, const struct sockaddr_storage *peer);

/* How a solicited route behaves when its connection fails or closes. */
typedef enum nd_route_kind {
	ND_ROUTE_EXPLICIT, /* configured: retried forever */
	ND_ROUTE_IMPLICIT, /* learned by gossip: connect_retries more attempts, then given up */
} nd_route_kind_t;

/* Starts a route that connects to url ("nats-route://[user:pass@]host:port"). Returns a
 * reference to the actor (for nd_route_send_close), or NULL if the URL does not parse. */
nd_actor_t *nd_route_solicit(nd_cluster_t *cl, nd_server_t *s, const char *url,
			     nd_route_kind_t kind);

/* Message: close the connection and stop (shutdown). */
void nd_route_send_stop(nd_actor_t *route);

/* Message: close the connection for reason; a solicited route dials again. */
void nd_route_send_reconnect(nd_actor_t *route, const char *reason);

/* Message: write this protocol text (an INFO line about another server: gossip). */
void nd_route_send_text(nd_actor_t *route, const char *text, size_t len);

/* Fills a monitoring snapshot of the route (subscription list with subs). Any thread: reads
 * what the route publishes for monitoring under its own lock. */
void nd_route_snapshot(nd_actor_t *route, nd_route_info_t *out, bool subs);

#endif
