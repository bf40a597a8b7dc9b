/* The client listener: an actor owning the listening socket. It accepts connections, enforces
 * max_connections the reference's way (INFO first, then the -ERR), and spreads the accepted
 * connections round-robin over the workers as client actors. */
#ifndef ND_ACTORS_LISTENER_H
#define ND_ACTORS_LISTENER_H

#include <netinet/in.h>
#include <sys/socket.h>

#include "actors/server.h"
#include "runtime/actor.h"

/* Binds host:port (port -1: a random free port). Returns the listening fd or -errno, and the
 * bound port in *bound. */
int nd_listener_bind(const char *host, int port, int *bound);

/* The peer's address as text into ip (IPv4 peers of the dual-stack socket unmapped: the
 * reference shows 127.0.0.1, not ::ffff:127.0.0.1); returns its port. */
int nd_peer_address(const struct sockaddr_storage *peer, char ip[INET6_ADDRSTRLEN]);

/* Creates and starts the listener actor for fd (owned by it). Returns a reference. */
nd_actor_t *nd_listener_start(nd_server_t *s, int fd);

#endif
