/* A client connection: an actor that owns one socket on its home worker, parses what the
 * client sends (protocol/parser.h), authenticates it, applies what it sends (CONNECT, SUB,
 * UNSUB, PUB, PING...) under its user's permissions, and is a delivery destination
 * (actors/dest.h) for its subscriptions. Deliveries reach it through its worker's delivery
 * path, on its own thread; the server reaches it with the messages below. */
#ifndef ND_ACTORS_CLIENT_H
#define ND_ACTORS_CLIENT_H

#include <stdint.h>
#include <sys/socket.h>

#include "actors/server.h"
#include "runtime/worker.h"

/* Creates and starts a client actor on `home` for the accepted, non-blocking socket fd (owned
 * by the client from now on), registered with the server. The caller has counted it towards
 * max_connections. Any thread. */
void nd_client_spawn(nd_server_t *s, nd_worker_t *home, int fd, uint64_t cid,
		     const struct sockaddr_storage *peer);

/* Why the server closes a client. */
typedef enum nd_client_close {
	ND_CLIENT_CLOSE_SERVER_SHUTDOWN, /* lame duck mode */
	ND_CLIENT_CLOSE_MAX_CONNECTIONS, /* max_connections lowered by a reload */
} nd_client_close_t;

/* Message: run under these options from now on (a reload): authenticate again, apply the new
 * permissions and drop the subscriptions they no longer allow. Takes its own reference to
 * snap. Any thread. */
void nd_client_send_reload(nd_actor_t *client, nd_opts_snap_t *snap);

/* Message: send the lame-duck INFO ("ldm":true) if the client takes asynchronous INFO. */
void nd_client_send_lame_duck_info(nd_actor_t *client);

/* Message: close the connection for this reason. */
void nd_client_send_close(nd_actor_t *client, nd_client_close_t why);

#endif
