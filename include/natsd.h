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

/* Sets one option by its configuration-file key, exactly as `key = value` in a file would
 * ("port", "max_payload", "debug", "authorization.user", ...; docs/configuration.md). The
 * setting is remembered: a file loaded later (natsd_options_load_file) and every reload apply
 * it again on top of the file, as command-line flags override the file. Returns 0, or -EINVAL
 * with the reason in *err (malloc'd; the caller frees it). */
int natsd_options_set_int(natsd_options_t *opts, const char *key, int64_t value, char **err);
int natsd_options_set_string(natsd_options_t *opts, const char *key, const char *value, char **err);
int natsd_options_set_bool(natsd_options_t *opts, const char *key, bool value, char **err);

/* Loads a configuration file (nats-server format): the defaults, then the file, then the
 * settings made so far. Returns 0, or -EINVAL when the file has errors. *report (malloc'd or
 * NULL) holds what the reference prints after "nats-server: ": the parse error, or the
 * warnings and errors, each line ending in '\n' (there may be warnings with 0). */
int natsd_options_load_file(natsd_options_t *opts, const char *path, char **report);

/* Creates a server from opts (copied; the caller keeps opts). Nothing runs yet. Returns 0, or
 * a negative code with the reason in *err (malloc'd; err may be NULL). */
int natsd_server_create(natsd_server_t **out, const natsd_options_t *opts, char **err);

/* Binds the client port, starts the worker threads and begins serving. */
int natsd_server_start(natsd_server_t *server);

/* The client port actually bound, after natsd_server_start. */
int natsd_server_port(const natsd_server_t *server);

/* Reloads the configuration file the options were loaded from (plus the remembered settings)
 * and applies it to the running server, as the reference does on SIGHUP. Returns 0, or a
 * negative code with the reason in *err (malloc'd): errors in the file, or a change that
 * needs a restart. */
int natsd_server_reload(natsd_server_t *server, char **err);

/* Lame duck mode: stop accepting, tell clients, close them over lame_duck_duration. Returns at
 * once; natsd_server_done turns true when every client is gone. */
void natsd_server_lame_duck(natsd_server_t *server);
bool natsd_server_done(natsd_server_t *server);

/* Reopens the log file (after log rotation by an external tool). */
void natsd_log_reopen(void);

/* Stops serving, closes every connection and joins the workers. Idempotent. */
void natsd_server_shutdown(natsd_server_t *server);

/* Frees a server (shutting it down first if needed). */
void natsd_server_destroy(natsd_server_t *server);

#ifdef __cplusplus
}
#endif

#endif
