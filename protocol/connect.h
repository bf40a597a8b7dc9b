/* CONNECT options: decoding a client's CONNECT JSON the way the reference does (Go's
 * encoding/json into its ClientOpts): keys match case-insensitively, unknown keys are ignored,
 * a value of the wrong type is an error, null leaves a field as it was, and every CONNECT is
 * decoded on top of the options already in force. */
#ifndef ND_PROTOCOL_CONNECT_H
#define ND_PROTOCOL_CONNECT_H

#include <stdbool.h>
#include <stddef.h>

typedef struct nd_connect_opts {
	bool verbose;  /* default true */
	bool pedantic; /* default true */
	bool echo;     /* default true */
	bool headers;
	bool no_responders;
	bool tls_required;
	bool new_account;
	long long protocol;
	/* Owned strings, NULL when absent. */
	char *name, *lang, *version;
	char *user, *pass, *auth_token, *jwt, *nkey, *sig;
	char *account;
} nd_connect_opts_t;

/* The options of a connection that has not sent CONNECT yet. */
void nd_connect_opts_init(nd_connect_opts_t *o);

/* Frees the strings. */
void nd_connect_opts_deinit(nd_connect_opts_t *o);

/* Decodes json[0..n) onto o. Returns 0, or -1 with a description in err (for the log). On error
 * o may be partly updated, as in the reference; the connection closes anyway. */
int nd_connect_decode(nd_connect_opts_t *o, const char *json, size_t n, char *err, size_t errlen);

/* Checks an INFO a client sent: the reference ignores a well-formed one and closes the
 * connection (silently) on one it cannot decode into its Info struct. Returns 0 or -1. */
int nd_connect_validate_info(const char *json, size_t n, char *err, size_t errlen);

#endif
