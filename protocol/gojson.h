/* Typed JSON decoding that accepts and rejects exactly what the reference server's Go decoder
 * (encoding/json into a struct) does, for the protocol's JSON (CONNECT, INFO): keys match
 * case-insensitively with Go's folding, unknown keys are ignored, null leaves a field alone, a
 * value of the wrong type or out of range is an error, and invalid UTF-8 inside strings is
 * replaced by U+FFFD instead of being an error. Parsing itself is jansson's. */
#ifndef ND_PROTOCOL_GOJSON_H
#define ND_PROTOCOL_GOJSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum nd_gj_type {
	ND_GJ_BOOL,    /* bool */
	ND_GJ_INT,     /* long long, checked against [min, max] */
	ND_GJ_STRING,  /* char * (malloc'd, replaces the previous value) */
	ND_GJ_STRINGS, /* array of strings: validated only */
	ND_GJ_BYTES,   /* base64 string ([]byte): validated only */
	ND_GJ_OBJECT,  /* nested struct: validated against `sub` only */
} nd_gj_type_t;

typedef struct nd_gj_schema nd_gj_schema_t;

typedef struct nd_gj_field {
	const char *key;
	nd_gj_type_t type;
	size_t offset;             /* where to store it; SIZE_MAX: validate only */
	long long min, max;        /* ND_GJ_INT */
	const nd_gj_schema_t *sub; /* ND_GJ_OBJECT */
} nd_gj_field_t;

struct nd_gj_schema {
	const nd_gj_field_t *fields;
	size_t count;
};

#define ND_GJ_NOSTORE ((size_t)-1)

/* Decodes json[0..n) into out (may be NULL when every field is validate-only). Returns 0 or -1
 * with a description in err. The top level must be an object or null. */
int nd_gj_decode(const nd_gj_schema_t *schema, void *out, const char *json, size_t n, char *err,
		 size_t errlen);

/* Go's EqualFold for a JSON key against an ASCII field name (also folds U+017F to 's' and
 * U+212A to 'k', as Go does). */
bool nd_gj_key_matches(const char *key, size_t klen, const char *field);

/* Copies json with invalid UTF-8 inside string literals replaced by U+FFFD and lone UTF-16
 * surrogate escapes by \ufffd, as Go reads them. Returns a malloc'd copy (length in *len). */
char *nd_gj_sanitize(const char *json, size_t n, size_t *len);

#endif
