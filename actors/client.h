/* A client connection: an actor that owns one socket on its home worker, parses what the
 * client sends (protocol/parser.h), authenticates it, applies what it sends (CONNECT, SUB,
 * UNSUB, PUB, PING...) under its user's permissions, and is a delivery destination
 * (actors/dest.h) for its subscriptions. Deliveries reach it through its worker's delivery
 * path, on its own thread; the server reaches it with the messages below. */
#ifndef ND_ACTORS_CLIENT_H
#define ND_ACTORS_CLIENT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "actors/server.h"
#include "runtime/msg.h"
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

/* Message: send the current INFO (connect_urls changed) if the client takes asynchronous
 * INFO. */
void nd_client_send_info_update(nd_actor_t *client);

/* Message: close the connection for this reason. */
void nd_client_send_close(nd_actor_t *client, nd_client_close_t why);

/* ---- monitoring ---- */

/* One subscription of a connection, as /connz?subs=detail shows it. */
typedef struct nd_client_sub_info {
	char *subject, *queue, *sid; /* queue NULL for a plain subscription */
	uint64_t msgs;               /* delivered so far */
	int64_t max;                 /* auto-unsubscribe limit, 0: none */
} nd_client_sub_info_t;

/* A snapshot of a connection for the monitoring endpoints. Times are CLOCK_REALTIME in ns. */
typedef struct nd_client_info {
	uint64_t cid;
	char ip[46];
	int port;
	int64_t start_ns, last_activity_ns, stop_ns; /* stop_ns: closed connections only */
	int64_t rtt_ns;                              /* last PING round trip, 0: none yet */
	uint64_t pending_bytes;
	uint64_t in_msgs, out_msgs, in_bytes, out_bytes;
	uint32_t nsubs;
	char *name, *lang, *version; /* from CONNECT, NULL if absent */
	char *user;                  /* the authorized user (name or nkey), NULL if none */
	char *reason;                /* why it closed (closed connections only) */
	char tls_version[8];         /* "" without TLS */
	char tls_cipher[64];
	char *tls_peer_subject; /* the client certificate's subject (RFC 2253), or NULL */
	char tls_peer_spki[65], tls_peer_cert[65]; /* its SPKI and DER SHA-256, lower-case hex */
	nd_client_sub_info_t *subs;                /* with subscriptions requested: nsubs entries */
} nd_client_info_t;

void nd_client_info_deinit(nd_client_info_t *info);
/* Deep copy. */
void nd_client_info_copy(nd_client_info_t *dst, const nd_client_info_t *src);

/* The answer to nd_client_send_info_request: a message of the requester's reply_type. */
typedef struct nd_client_info_msg {
	nd_msg_t hdr;
	uint64_t request_id;
	bool valid; /* false: the connection was already closing */
	nd_client_info_t info;
} nd_client_info_msg_t;

/* Message: send a snapshot of yourself to reply_to (as an nd_client_info_msg_t of type
 * reply_type; the receiver frees it with nd_msg_free, which releases the snapshot), with the
 * subscription list when subs. A connection that is gone never answers: the requester counts
 * on a timeout or on the registry it asked. Any thread; reply_to must stay referenced by the
 * caller until answered. */
void nd_client_send_info_request(nd_actor_t *client, nd_actor_t *reply_to, uint16_t reply_type,
				 uint64_t request_id, bool subs);

#endif
