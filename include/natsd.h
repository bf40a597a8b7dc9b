/* natsd: a NATS server as a library. This header is the whole public contract: the daemon
 * (daemon/main.c) uses nothing else. Functions return 0 or a negative errno-style code unless
 * documented otherwise; natsd_strerror describes a code. Objects are opaque; the caller owns
 * what a *_create returns and gives it back with the matching *_destroy. */
#ifndef NATSD_H
#define NATSD_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct natsd_options natsd_options_t;
typedef struct natsd_server natsd_server_t;

/* The version string, e.g. "0.1.0". */
const char *natsd_version(void);

/* A human-readable description of a code returned by this API. */
const char *natsd_strerror(int code);

/* Options with the defaults of the reference server (0.0.0.0:4222, max_payload 1 MiB, ...).
 * Never NULL. */
natsd_options_t *natsd_options_create(void);
void natsd_options_destroy(natsd_options_t *opts);

/* Worker threads; 0 (default) means one per online CPU. */
int natsd_options_set_workers(natsd_options_t *opts, unsigned workers);

/* Microseconds an idle worker keeps polling before it sleeps (latency vs idle CPU; at most
 * 1000). */
int natsd_options_set_spin(natsd_options_t *opts, unsigned us);

/* Client listen address. port -1 picks a random free port (see natsd_server_port). */
int natsd_options_set_listen(natsd_options_t *opts, const char *host, int port);

/* Creates a server from opts (copied; the caller keeps opts). Nothing runs yet. */
int natsd_server_create(natsd_server_t **out, const natsd_options_t *opts);

/* Binds the client port, starts the worker threads and begins serving. */
int natsd_server_start(natsd_server_t *server);

/* The client port actually bound, after natsd_server_start. */
int natsd_server_port(const natsd_server_t *server);

/* Stops serving, closes every connection and joins the workers. Idempotent. */
void natsd_server_shutdown(natsd_server_t *server);

/* Frees a server (shutting it down first if needed). */
void natsd_server_destroy(natsd_server_t *server);

#ifdef __cplusplus
}
#endif

#endif
