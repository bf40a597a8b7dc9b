/* INFO encoding with jansson, whose objects keep insertion order. */
#include "protocol/info.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static void set(json_t *o, const char *k, json_t *v)
{
	if (v == NULL || json_object_set_new(o, k, v) != 0)
		abort();
}

char *nd_json_go_escape(const char *json, size_t *len)
{
	size_t n = strlen(json), extra = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)json[i];
		if (c == '<' || c == '>' || c == '&')
			extra += 5;
		else if (c == 0xE2 && i + 2 < n && (unsigned char)json[i + 1] == 0x80 &&
			 ((unsigned char)json[i + 2] == 0xA8 || (unsigned char)json[i + 2] == 0xA9))
			extra += 3;
	}
	char *out = malloc(n + extra + 1);
	if (out == NULL)
		abort();
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)json[i];
		/* These bytes only occur inside strings in encoder output, so no state is needed.
		 */
		if (c == '<' || c == '>' || c == '&') {
			static const char hex[] = "0123456789abcdef";
			memcpy(out + o, "\\u00", 4);
			out[o + 4] = hex[c >> 4];
			out[o + 5] = hex[c & 15];
			o += 6;
		} else if (c == 0xE2 && i + 2 < n && (unsigned char)json[i + 1] == 0x80 &&
			   ((unsigned char)json[i + 2] == 0xA8 ||
			    (unsigned char)json[i + 2] == 0xA9)) {
			memcpy(out + o, (unsigned char)json[i + 2] == 0xA8 ? "\\u2028" : "\\u2029",
			       6);
			o += 6;
			i += 2;
		} else {
			out[o++] = (char)c;
		}
	}
	out[o] = '\0';
	*len = o;
	return out;
}

char *nd_info_encode(const nd_info_t *in, size_t *len)
{
	json_t *o = json_object();
	if (o == NULL)
		abort();
	set(o, "server_id", json_string(in->server_id));
	set(o, "server_name", json_string(in->server_name));
	set(o, "version", json_string(in->version));
	set(o, "proto", json_integer(1));
	set(o, "go", json_string(in->go));
	set(o, "host", json_string(in->host));
	set(o, "port", json_integer(in->port));
	set(o, "headers", json_boolean(in->headers));
	if (in->auth_required)
		set(o, "auth_required", json_true());
	if (in->tls_required)
		set(o, "tls_required", json_true());
	if (in->tls_verify)
		set(o, "tls_verify", json_true());
	if (in->tls_available)
		set(o, "tls_available", json_true());
	set(o, "max_payload", json_integer(in->max_payload));
	if (in->jetstream)
		set(o, "jetstream", json_true());
	if (in->client_id != 0)
		set(o, "client_id", json_integer((json_int_t)in->client_id));
	if (in->client_ip != NULL)
		set(o, "client_ip", json_string(in->client_ip));
	if (in->nonce != NULL)
		set(o, "nonce", json_string(in->nonce));
	if (in->cluster != NULL)
		set(o, "cluster", json_string(in->cluster));
	if (in->connect_urls_count > 0) {
		json_t *a = json_array();
		for (size_t i = 0; i < in->connect_urls_count; i++)
			json_array_append_new(a, json_string(in->connect_urls[i]));
		set(o, "connect_urls", a);
	}
	if (in->ldm)
		set(o, "ldm", json_true());
	char *raw = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (raw == NULL)
		abort();
	size_t n;
	char *esc = nd_json_go_escape(raw, &n);
	free(raw);
	char *line = malloc(n + 9);
	if (line == NULL)
		abort();
	memcpy(line, "INFO ", 5);
	memcpy(line + 5, esc, n);
	memcpy(line + 5 + n, " \r\n", 4);
	free(esc);
	*len = n + 8;
	return line;
}
