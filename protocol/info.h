/* The INFO line a server sends: the reference's fields, in the reference's order, with Go's
 * JSON escaping, and its trailing space: "INFO {...} \r\n". */
#ifndef ND_PROTOCOL_INFO_H
#define ND_PROTOCOL_INFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct nd_info {
	const char *server_id;
	const char *server_name;
	const char *version;
	const char *go;
	const char *host;
	int port;
	bool headers;
	bool auth_required, tls_required, tls_verify, tls_available; /* only sent when true */
	int64_t max_payload;
	bool jetstream;
	uint64_t client_id;              /* 0: not sent */
	const char *client_ip;           /* NULL: not sent */
	const char *nonce;               /* NULL: not sent */
	const char *cluster;             /* NULL: not sent */
	const char *const *connect_urls; /* sent when count > 0 */
	size_t connect_urls_count;
	bool ldm;
} nd_info_t;

/* Encodes the whole INFO line. Returns a malloc'd, NUL-terminated string (length in *len),
 * owned by the caller. Aborts on out-of-memory. */
char *nd_info_encode(const nd_info_t *info, size_t *len);

/* Rewrites JSON text in place-equivalent form as Go's encoder writes it: '<', '>' and '&'
 * inside strings as \u003c, \u003e, \u0026, and U+2028/U+2029 as \u2028/\u2029. Returns a
 * malloc'd string. */
char *nd_json_go_escape(const char *json, size_t *len);

#endif
