/* CONNECT decoding: the reference's ClientOpts as a gojson schema. */
#include "protocol/connect.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/gojson.h"

void nd_connect_opts_init(nd_connect_opts_t *o)
{
	memset(o, 0, sizeof(*o));
	o->verbose = true;
	o->pedantic = true;
	o->echo = true;
}

void nd_connect_opts_deinit(nd_connect_opts_t *o)
{
	char **strs[] = {&o->name,       &o->lang, &o->version, &o->user, &o->pass,
			 &o->auth_token, &o->jwt,  &o->nkey,    &o->sig,  &o->account};
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		free(*strs[i]);
		*strs[i] = NULL;
	}
}

#define F(k, t, m)                                                                                 \
	{                                                                                          \
		k, t, offsetof(nd_connect_opts_t, m), 0, 0, NULL                                   \
	}

static const nd_gj_field_t permission_fields[] = {
    {"allow", ND_GJ_STRINGS, ND_GJ_NOSTORE, 0, 0, NULL},
    {"deny", ND_GJ_STRINGS, ND_GJ_NOSTORE, 0, 0, NULL},
};
static const nd_gj_schema_t permission_schema = {permission_fields, 2};

/* server/client.go ClientOpts (2.9.10): Go's int is 64-bit. */
static const nd_gj_field_t connect_fields[] = {
    F("echo", ND_GJ_BOOL, echo),
    F("verbose", ND_GJ_BOOL, verbose),
    F("pedantic", ND_GJ_BOOL, pedantic),
    F("tls_required", ND_GJ_BOOL, tls_required),
    F("nkey", ND_GJ_STRING, nkey),
    F("jwt", ND_GJ_STRING, jwt),
    F("sig", ND_GJ_STRING, sig),
    F("auth_token", ND_GJ_STRING, auth_token),
    F("user", ND_GJ_STRING, user),
    F("pass", ND_GJ_STRING, pass),
    F("name", ND_GJ_STRING, name),
    F("lang", ND_GJ_STRING, lang),
    F("version", ND_GJ_STRING, version),
    {"protocol", ND_GJ_INT, offsetof(nd_connect_opts_t, protocol), INT64_MIN, INT64_MAX, NULL},
    F("account", ND_GJ_STRING, account),
    F("new_account", ND_GJ_BOOL, new_account),
    F("headers", ND_GJ_BOOL, headers),
    F("no_responders", ND_GJ_BOOL, no_responders),
    {"import", ND_GJ_OBJECT, ND_GJ_NOSTORE, 0, 0, &permission_schema},
    {"export", ND_GJ_OBJECT, ND_GJ_NOSTORE, 0, 0, &permission_schema},
};
static const nd_gj_schema_t connect_schema = {connect_fields,
					      sizeof(connect_fields) / sizeof(connect_fields[0])};

int nd_connect_decode(nd_connect_opts_t *o, const char *json, size_t n, char *err, size_t errlen)
{
	return nd_gj_decode(&connect_schema, o, json, n, err, errlen);
}

#define V(k, t)                                                                                    \
	{                                                                                          \
		k, t, ND_GJ_NOSTORE, 0, 0, NULL                                                    \
	}
#define VI(k, lo, hi)                                                                              \
	{                                                                                          \
		k, ND_GJ_INT, ND_GJ_NOSTORE, lo, hi, NULL                                          \
	}

/* server/server.go Info (2.9.10): what a client's INFO must look like to be ignored. */
static const nd_gj_field_t info_fields[] = {
    V("server_id", ND_GJ_STRING),
    V("server_name", ND_GJ_STRING),
    V("version", ND_GJ_STRING),
    VI("proto", INT64_MIN, INT64_MAX),
    V("git_commit", ND_GJ_STRING),
    V("go", ND_GJ_STRING),
    V("host", ND_GJ_STRING),
    VI("port", INT64_MIN, INT64_MAX),
    V("headers", ND_GJ_BOOL),
    V("auth_required", ND_GJ_BOOL),
    V("tls_required", ND_GJ_BOOL),
    V("tls_verify", ND_GJ_BOOL),
    V("tls_available", ND_GJ_BOOL),
    VI("max_payload", INT32_MIN, INT32_MAX),
    V("jetstream", ND_GJ_BOOL),
    V("ip", ND_GJ_STRING),
    VI("client_id", 0, INT64_MAX), /* uint64: jansson holds up to INT64_MAX */
    V("client_ip", ND_GJ_STRING),
    V("nonce", ND_GJ_STRING),
    V("cluster", ND_GJ_STRING),
    V("cluster_dynamic", ND_GJ_BOOL),
    V("domain", ND_GJ_STRING),
    V("connect_urls", ND_GJ_STRINGS),
    V("ws_connect_urls", ND_GJ_STRINGS),
    V("ldm", ND_GJ_BOOL),
    {"import", ND_GJ_OBJECT, ND_GJ_NOSTORE, 0, 0, &permission_schema},
    {"export", ND_GJ_OBJECT, ND_GJ_NOSTORE, 0, 0, &permission_schema},
    V("lnoc", ND_GJ_BOOL),
    V("info_on_connect", ND_GJ_BOOL),
    V("connect_info", ND_GJ_BOOL),
    V("gateway", ND_GJ_STRING),
    V("gateway_urls", ND_GJ_STRINGS),
    V("gateway_url", ND_GJ_STRING),
    VI("gateway_cmd", 0, 255),
    V("gateway_cmd_payload", ND_GJ_BYTES),
    V("gateway_nrp", ND_GJ_BOOL),
    V("gateway_iom", ND_GJ_BOOL),
    V("leafnode_urls", ND_GJ_STRINGS),
    V("remote_account", ND_GJ_STRING),
};
static const nd_gj_schema_t info_schema = {info_fields,
					   sizeof(info_fields) / sizeof(info_fields[0])};

int nd_connect_validate_info(const char *json, size_t n, char *err, size_t errlen)
{
	return nd_gj_decode(&info_schema, NULL, json, n, err, errlen);
}
