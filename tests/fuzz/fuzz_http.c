/* libFuzzer target: the monitoring port's HTTP request parser. The first byte picks small or
 * large limits and the chunking of the rest, so split reads are fuzzed too. Checks the
 * contract on every call: AGAIN consumes everything, DONE consumes something and yields a
 * NUL-terminated path and query, an error stays an error and has a response. Each request's
 * query is also looked up and a response encoded. */
#include <http_parser.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t cfg = data[0];
	data++;
	size--;
	nd_http_parser_t *p =
	    (cfg & 1) ? nd_http_parser_create(64, 8) : nd_http_parser_create(4096, 1024);
	size_t chunk = (size_t)(cfg >> 1) + 1; /* 1..128 bytes per read */
	size_t pos = 0;
	int rc = ND_HTTP_AGAIN;
	while (pos < size && rc >= 0) {
		size_t n = size - pos < chunk ? size - pos : chunk;
		char *buf = malloc(n);
		memcpy(buf, data + pos, n);
		size_t off = 0;
		while (off < n) {
			size_t used = 0;
			nd_http_request_t req = {0};
			rc = nd_http_parser_feed(p, buf + off, n - off, &used, &req);
			if (used > n - off)
				abort();
			if (rc == ND_HTTP_AGAIN) {
				if (used != n - off)
					abort();
				break;
			}
			if (rc < 0) {
				size_t rl = 0;
				if (nd_http_parser_error_response(p, &rl) == NULL || rl == 0)
					abort();
				size_t u2;
				if (nd_http_parser_feed(p, buf, n, &u2, &req) != rc)
					abort();
				break;
			}
			if (rc != ND_HTTP_DONE || req.path == NULL || req.query == NULL)
				abort();
			char val[32];
			(void)nd_http_query_get(req.query, "subs", val, sizeof(val));
			(void)nd_http_query_get(req.query, req.path, val, sizeof(val));
			size_t out_len;
			bool ka = req.keep_alive;
			char *resp = nd_http_response_encode_version(
			    req.http_minor, 200, "application/json", "X-A: b\r\n", req.path,
			    strlen(req.path), req.method == HTTP_HEAD, &ka, &out_len);
			free(resp);
			nd_http_request_clear(&req);
			off += used;
		}
		free(buf);
		pos += n;
	}
	nd_http_parser_destroy(p);
	return 0;
}
