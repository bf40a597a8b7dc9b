/* CONNECT decoding with jansson (docs/dependencies.md). */
#include "protocol/connect.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

enum field_type { F_BOOL, F_INT, F_STRING };

typedef struct field {
	const char *key;
	enum field_type type;
	size_t offset;
} field_t;

#define FIELD(k, t, m)                                                                             \
	{                                                                                          \
		k, t, offsetof(nd_connect_opts_t, m)                                               \
	}

/* The keys of the reference's ClientOpts that a core server acts on or reports. */
static const field_t fields[] = {
    FIELD("echo", F_BOOL, echo),         FIELD("verbose", F_BOOL, verbose),
    FIELD("pedantic", F_BOOL, pedantic), FIELD("tls_required", F_BOOL, tls_required),
    FIELD("jwt", F_STRING, jwt),         FIELD("nkey", F_STRING, nkey),
    FIELD("sig", F_STRING, sig),         FIELD("auth_token", F_STRING, auth_token),
    FIELD("user", F_STRING, user),       FIELD("pass", F_STRING, pass),
    FIELD("name", F_STRING, name),       FIELD("lang", F_STRING, lang),
    FIELD("version", F_STRING, version), FIELD("protocol", F_INT, protocol),
    FIELD("account", F_STRING, account), FIELD("new_account", F_BOOL, new_account),
    FIELD("headers", F_BOOL, headers),   FIELD("no_responders", F_BOOL, no_responders),
};

static const field_t *find_field(const char *key)
{
	/* Exact match first, then case-insensitive, like Go's decoder. */
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (strcmp(fields[i].key, key) == 0)
			return &fields[i];
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (strcasecmp(fields[i].key, key) == 0)
			return &fields[i];
	return NULL;
}

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "object";
	case JSON_ARRAY:
		return "array";
	case JSON_STRING:
		return "string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "bool";
	default:
		return "null";
	}
}

int nd_connect_decode(nd_connect_opts_t *o, const char *json, size_t n, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root = json_loadb(json, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	if (root == NULL) {
		snprintf(err, errlen, "invalid CONNECT JSON: %s", jerr.text);
		return -1;
	}
	int rc = 0;
	if (json_is_null(root))
		goto done;
	if (!json_is_object(root)) {
		snprintf(err, errlen, "json: cannot unmarshal %s into CONNECT options",
			 type_name(root));
		rc = -1;
		goto done;
	}
	const char *key;
	json_t *v;
	json_object_foreach(root, key, v)
	{
		const field_t *f = find_field(key);
		if (f == NULL || json_is_null(v))
			continue;
		char *base = (char *)o;
		switch (f->type) {
		case F_BOOL:
			if (!json_is_boolean(v))
				goto type_error;
			*(bool *)(base + f->offset) = json_is_true(v);
			break;
		case F_INT:
			if (!json_is_integer(v))
				goto type_error;
			*(long long *)(base + f->offset) = json_integer_value(v);
			break;
		case F_STRING: {
			if (!json_is_string(v))
				goto type_error;
			char **slot = (char **)(base + f->offset);
			free(*slot);
			*slot = strndup(json_string_value(v), json_string_length(v));
			if (*slot == NULL)
				abort();
			break;
		}
		}
		continue;
	type_error:
		snprintf(err, errlen, "json: cannot unmarshal %s into CONNECT field %s",
			 type_name(v), f->key);
		rc = -1;
	}
done:
	json_decref(root);
	return rc;
}
