/* The server's options: every setting of the configuration file and the command line that
 * natsd implements, with the reference server's defaults (server/const.go and opts.go, not its
 * docs). A running server holds them as an immutable, reference-counted snapshot; a reload
 * builds a new snapshot and hands it to every connection. */
#ifndef ND_ACTORS_OPTS_H
#define ND_ACTORS_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "actors/auth.h"
#include "actors/perms.h"

/* A tls {} block (the reference's TLSConfigOpts), at the top level (clients) or in cluster {}.
 * Parsed and checked like nats-server 2.9.10's parseTLS and GenTLSConfig, plus two 2.10 keys. */
typedef struct nd_tls_opts {
	bool set; /* a tls block or the --tls flags configured TLS */
	char *cert_file, *key_file, *ca_file;
	bool verify, verify_and_map, verify_cert_and_check_known_urls, insecure;
	double timeout_s;              /* 0: not set (the reference's default then applies) */
	char **ciphers;                /* Go/IANA suite names as configured (validated) */
	size_t nciphers;               /* none: the defaults */
	char **curves;                 /* Go curve names ("CurveP256", "X25519", ...) */
	size_t ncurves;                /* none: the defaults */
	char **pinned_certs;           /* lower-case hex sha256 of SPKI DER, validated */
	size_t npinned;                /* none: no pinning */
	int64_t connection_rate_limit; /* 0: none */
	int min_version;               /* 2.10 "min_version": 0 unset, 0x0303 or 0x0304 */
	int handshake_first;           /* 2.10.4: 0 off, 1 on, 2 auto */
	uint64_t handshake_first_fallback_ms; /* auto: wait this long for a ClientHello (50) */
} nd_tls_opts_t;

#define ND_TLS_HANDSHAKE_FIRST_OFF 0
#define ND_TLS_HANDSHAKE_FIRST_ON 1
#define ND_TLS_HANDSHAKE_FIRST_AUTO 2
#define ND_TLS_HANDSHAKE_FIRST_FALLBACK_MS 50

/* The --tls, --tlscert, --tlskey, --tlscacert and --tlsverify flags as given (keys "tls",
 * "tls.cert_file", ...). As in the reference, any of them replaces the file's TLS certificate
 * settings (checked when the server starts) and --tls=false turns TLS off. */
typedef struct nd_tls_flags {
	bool tls_given, tls_value; /* --tls[=bool] */
	bool other_given;          /* any of the others (even =false) */
	char *cert_file, *key_file, *ca_file;
	bool verify;
} nd_tls_flags_t;

void nd_tls_opts_deinit(nd_tls_opts_t *t);
void nd_tls_opts_copy(nd_tls_opts_t *dst, const nd_tls_opts_t *src);

/* The cluster block (and the --cluster, --routes, --cluster_name... flags), as the reference's
 * ClusterOpts and Routes hold it (topology/cluster runs it). */
typedef struct nd_cluster_opts {
	char *name; /* NULL: none (the reference then picks one dynamically) */
	char *host; /* NULL: not set */
	int port;   /* 0: no cluster listener; -1: a random port */
	char *username, *password;
	double auth_timeout_s;
	nd_perms_t *perms; /* publish side = import, subscribe side = export; NULL: none */
	char *advertise;
	bool no_advertise;
	int connect_retries;
	char **routes; /* the URLs to solicit, as written (trimmed); every one parses */
	size_t nroutes;
	/* 2.10 keys natsd accepts: 0 means the server-wide value (or none). */
	int pool_size;              /* accepted; one connection per peer */
	uint64_t ping_interval_ms;  /* routes' ping interval */
	int ping_max;               /* routes' outstanding pings */
	uint64_t write_deadline_ms; /* routes' write deadline */
	nd_tls_opts_t tls;          /* route TLS (not served yet) */
} nd_cluster_opts_t;

/* True if o asks for what only routes can do: a cluster listener, routes to solicit, or a
 * cluster name (which the reference announces in INFO). */
bool nd_cluster_opts_configured(const nd_cluster_opts_t *o);

typedef struct nd_opts {
	/* Client listener and identity. */
	char *host;             /* "0.0.0.0" */
	int port;               /* 4222; -1 picks a random free port, as the reference does */
	char *server_name;      /* NULL: the server id */
	char *client_advertise; /* NULL: not set; "host" or "host:port" */

	/* Limits. */
	int64_t max_payload;        /* 1 MiB */
	int64_t max_pending;        /* 64 MiB */
	uint32_t max_control_line;  /* 4096 */
	int max_connections;        /* 65536 */
	int max_subscriptions;      /* 0: unlimited */
	int max_sub_tokens;         /* 0: unlimited */
	uint64_t ping_interval_ms;  /* 2 min */
	int ping_max;               /* 2 */
	uint64_t write_deadline_ms; /* 10 s */
	bool no_header_support;

	/* Authorization. */
	char *username, *password, *token; /* single user / token (also --user --pass --auth) */
	nd_users_t *users;                 /* users and NKey users; NULL: none */
	char *no_auth_user;
	double auth_timeout_s; /* 0: default (2 s) */

	/* Logging. */
	bool debug, trace, trace_verbose;
	bool logtime; /* true */
	bool syslog;
	char *remote_syslog;
	char *log_file;
	int64_t log_size_limit;
	int max_traced_msg_len;

	/* Process files. */
	char *pid_file;
	char *ports_file_dir;

	/* TLS for clients (parsed and checked; not served yet). */
	nd_tls_opts_t tls;
	bool allow_non_tls;       /* clients may also connect without TLS */
	nd_tls_flags_t tls_flags; /* the --tls* flags, applied by nd_opts_apply_tls_flags */

	/* Monitoring (served by the monitoring module). */
	char *http_host; /* NULL: host */
	int http_port;   /* 0: off */
	int https_port;
	char *http_base_path;

	/* Lame duck mode. */
	uint64_t lame_duck_duration_ms; /* 2 min */
	uint64_t lame_duck_grace_ms;    /* 10 s */

	/* Cluster (parsed; routes are not implemented yet). */
	nd_cluster_opts_t cluster;

	/* Kept for compatibility; used once peer links exist. */
	int connect_error_reports;   /* 3600 */
	int reconnect_error_reports; /* 1 */

	/* natsd's own. */
	unsigned workers; /* 0: one per CPU */
	unsigned spin_us; /* idle spin before a worker sleeps */

	char *config_file; /* NULL: none */
} nd_opts_t;

void nd_opts_default(nd_opts_t *o);
void nd_opts_deinit(nd_opts_t *o);
/* Deep copy (the user list is shared by reference). */
void nd_opts_copy(nd_opts_t *dst, const nd_opts_t *src);

/* The authorization part, as the auth module reads it. */
nd_auth_conf_t nd_opts_auth(const nd_opts_t *o);

/* The authentication timeout in milliseconds (the reference's default of 2 s for 0). */
uint64_t nd_opts_auth_timeout_ms(const nd_opts_t *o);

/* The TLS handshake timeout (tls { timeout }, default 2 s). */
uint64_t nd_opts_tls_timeout_ms(const nd_opts_t *o);

/* Checks what the reference checks when a server starts (validateOptions): returns 0, or -1
 * with its message in err (e.g. "max_payload (104857600) cannot be higher than max_pending
 * (67108864)"). */
int nd_opts_validate(const nd_opts_t *o, char *err, size_t errlen);

/* Applies o->tls_flags to o->tls as the reference's overrideTLS does: with --tls=false TLS is
 * off; with any other --tls* flag the certificate, key, CA and verify settings come from the
 * flags only (insecure off, cipher suites and curves back to the defaults), the rest of the
 * file's block stays. Idempotent: called after every flag. nd_opts_validate checks the result
 * ("TLS Server certificate must be present and valid", the files). */
void nd_opts_apply_tls_flags(nd_opts_t *o);

/* True if the --tls* flags replace the TLS settings (see nd_opts_apply_tls_flags). */
bool nd_tls_flags_override(const nd_tls_flags_t *f);

/* Go's parseHostPort as the reference uses it for advertise values: "host:port", or "host"
 * with default_port (also for a port of 0 or -1). Returns 0 with *host (malloc'd) and *port,
 * or -1 with Go's error text in err. Any thread. */
int nd_opts_parse_host_port(const char *hp, int default_port, char **host, int *port, char *err,
			    size_t errlen);

/* A shared, immutable snapshot of options. */
typedef struct nd_opts_snap nd_opts_snap_t;

/* Takes o over (o is left zeroed). One reference. */
nd_opts_snap_t *nd_opts_snap_create(nd_opts_t *o);
nd_opts_snap_t *nd_opts_snap_ref(nd_opts_snap_t *s);
void nd_opts_snap_unref(nd_opts_snap_t *s);
const nd_opts_t *nd_opts_snap_get(const nd_opts_snap_t *s);

#endif
