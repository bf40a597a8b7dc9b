/* The broker: options, identity, accounts, the client listener and the runtime it all runs on.
 * The embedding API (include/natsd.h) is a thin layer over this. */
#ifndef ND_ACTORS_SERVER_H
#define ND_ACTORS_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "actors/account.h"
#include "actors/delivery.h"
#include "runtime/pool.h"
#include "runtime/runtime.h"

typedef struct nd_server nd_server_t;

/* Options with the reference server's defaults (server/const.go, not its docs). */
typedef struct nd_opts {
	char *host;                 /* "0.0.0.0" */
	int port;                   /* 4222; -1 picks a random free port, as the reference does */
	char *server_name;          /* NULL: the server id */
	char *client_advertise;     /* NULL: not set */
	int64_t max_payload;        /* 1 MiB */
	int64_t max_pending;        /* 64 MiB */
	uint32_t max_control_line;  /* 4096 */
	int max_connections;        /* 65536 */
	int max_subscriptions;      /* 0: unlimited */
	uint64_t ping_interval_ms;  /* 2 min */
	int ping_max;               /* 2 */
	uint64_t write_deadline_ms; /* 10 s */
	uint64_t auth_timeout_ms;   /* 2 s (applies when auth is required) */
	bool no_header_support;
	unsigned workers; /* 0: one per CPU */
	unsigned spin_us; /* idle spin before a worker sleeps */
} nd_opts_t;

void nd_opts_default(nd_opts_t *o);
void nd_opts_deinit(nd_opts_t *o);
/* Deep copy. */
void nd_opts_copy(nd_opts_t *dst, const nd_opts_t *src);

/* Creates a server (nothing listens or runs yet). Returns 0 or -errno. */
int nd_server_create(nd_server_t **out, const nd_opts_t *opts);

/* Binds the client port, starts the workers and accepts connections. Returns 0 or -errno
 * (e.g. -EADDRINUSE); a message describing the failure is logged. */
int nd_server_start(nd_server_t *s);

/* Closes the listener and every connection, and joins the workers. Idempotent. */
void nd_server_shutdown(nd_server_t *s);

/* Frees the server. Returns leaked runtime objects (0 when clean). */
long nd_server_destroy(nd_server_t *s);

/* The port actually bound (useful with port -1). */
int nd_server_port(const nd_server_t *s);

/* ---- for the broker's own actors ---- */

const nd_opts_t *nd_server_opts(const nd_server_t *s);
nd_runtime_t *nd_server_runtime(nd_server_t *s);
nd_delivery_shared_t *nd_server_delivery(nd_server_t *s);
nd_account_t *nd_server_global_account(nd_server_t *s);
nd_pool_t *nd_server_sub_pool(nd_server_t *s);
const char *nd_server_id(const nd_server_t *s);

/* The INFO line for a new client (malloc'd; caller frees). */
char *nd_server_client_info(nd_server_t *s, uint64_t cid, const char *ip, size_t *len);

/* Connection bookkeeping for max_connections: admit counts a new client in (false when the
 * limit is reached); gone counts one out. Any thread. */
bool nd_server_client_admit(nd_server_t *s);
void nd_server_client_gone(nd_server_t *s);

/* A new client id (every accepted connection takes one, refused ones too). */
uint64_t nd_server_next_cid(nd_server_t *s);

#endif
