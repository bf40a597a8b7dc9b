/* Go's net/url.Parse, the parts the reference server relies on: whether a URL parses (the
 * reference reports route URLs it cannot parse) and, for "scheme://user:pass@host:port", the
 * user, password and host. Same acceptance rules and reasons as Go 1.19; no normalisation
 * beyond what Go does. Pure. */
#ifndef ND_PROTOCOL_GOURL_H
#define ND_PROTOCOL_GOURL_H

#include <stdbool.h>
#include <stddef.h>

typedef struct nd_go_url {
	char *scheme;   /* lower-cased; "" if none */
	char *host;     /* "host:port" as written (brackets kept); "" if no authority */
	char *user;     /* unescaped; NULL when there is no userinfo */
	char *password; /* unescaped; NULL unless the userinfo has a ':' */
} nd_go_url_t;

/* Parses s as url.Parse does. Returns 0 and fills *u (malloc'd strings, free with
 * nd_go_url_deinit), or -1 with Go's reason in err (e.g. "missing protocol scheme", "invalid
 * port \":x\" after host"), without the `parse "s": ` prefix; *u is left zeroed. */
int nd_go_url_parse(const char *s, nd_go_url_t *u, char *err, size_t errlen);

void nd_go_url_deinit(nd_go_url_t *u);

#endif
