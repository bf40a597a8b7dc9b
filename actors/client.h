/* A client connection: an actor that owns one socket on its home worker, parses what the
 * client sends (protocol/parser.h), applies it (CONNECT, SUB, UNSUB, PUB, PING...), and is a
 * delivery destination (actors/dest.h) for its subscriptions. It accepts no messages from other
 * actors yet: deliveries reach it through its worker's delivery path, on its own thread. */
#ifndef ND_ACTORS_CLIENT_H
#define ND_ACTORS_CLIENT_H

#include <stdint.h>
#include <sys/socket.h>

#include "actors/server.h"
#include "runtime/worker.h"

/* Creates and starts a client actor on `home` for the accepted, non-blocking socket fd (owned
 * by the client from now on). The caller has counted it towards max_connections. Any thread. */
void nd_client_spawn(nd_server_t *s, nd_worker_t *home, int fd, uint64_t cid,
		     const struct sockaddr_storage *peer);

#endif
