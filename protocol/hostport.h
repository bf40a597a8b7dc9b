/* Go's net.SplitHostPort, with its error texts: the reference server splits "host:port" for
 * listen, http and client_advertise with it. Pure. */
#ifndef ND_PROTOCOL_HOSTPORT_H
#define ND_PROTOCOL_HOSTPORT_H

#include <stdbool.h>
#include <stddef.h>

typedef enum nd_hostport_err {
	ND_HOSTPORT_OK = 0,
	ND_HOSTPORT_MISSING_PORT,    /* "missing port in address" */
	ND_HOSTPORT_TOO_MANY_COLONS, /* "too many colons in address" */
	ND_HOSTPORT_MISSING_BRACKET, /* "missing ']' in address" */
	ND_HOSTPORT_UNEXPECTED_OPEN, /* "unexpected '[' in address" */
	ND_HOSTPORT_UNEXPECTED_CLOSE /* "unexpected ']' in address" */
} nd_hostport_err_t;

/* Splits s into *host and *port (malloc'd; the brackets of "[::1]:4222" removed). On error
 * returns the reason and sets nothing. */
nd_hostport_err_t nd_hostport_split(const char *s, char **host, char **port);

/* Go's message for an error: "address <s>: <reason>". Writes into buf. */
void nd_hostport_error_text(nd_hostport_err_t e, const char *s, char *buf, size_t len);

#endif
