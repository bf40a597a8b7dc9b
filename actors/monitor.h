/* The monitoring endpoints (/varz, /connz, /subsz, /healthz, ...): an actor that answers the
 * HTTP server's requests (actors/http_server.h) with the reference's JSON. Connection details
 * are gathered by asking each client actor for a snapshot (actors/client.h), never by reading
 * their state from here; server-wide totals are per-worker counters (actors/server.h).
 *
 * Messages: REQUEST (from the HTTP handler) and CLIENT_INFO (snapshots coming back). */
#ifndef ND_ACTORS_MONITOR_H
#define ND_ACTORS_MONITOR_H

#include "actors/server.h"

typedef struct nd_monitor nd_monitor_t;

/* Starts the monitor and its HTTP listener on host:port (port -1: random) with every path
 * under base_path ("" or NULL: none); HTTPS with tls (referenced) when not NULL. Returns 0
 * and the bound port, or -errno (the listener could not bind). The runtime must be running. */
struct nd_tls_ctx;
int nd_monitor_start(nd_monitor_t **out, nd_server_t *srv, const char *host, int port,
		     const char *base_path, struct nd_tls_ctx *tls, int *bound_port);

/* HTTPS: new connections use tls from now on (a reload). */
void nd_monitor_set_tls(nd_monitor_t *m, struct nd_tls_ctx *tls);

/* Stops the listener and the actor. Call before the runtime shuts down; not from a worker. */
void nd_monitor_stop(nd_monitor_t *m);

#endif
