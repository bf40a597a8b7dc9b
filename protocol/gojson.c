/* Go-compatible typed decoding over jansson. */
#include "protocol/gojson.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put(char *out, size_t *o, const char *s, size_t n)
{
	memcpy(out + *o, s, n);
	*o += n;
}

/* Length of a valid UTF-8 sequence at p (1-4), or 0 if invalid. Rejects overlongs and
 * surrogates, as Go's utf8.DecodeRune does. */
static size_t utf8_len(const unsigned char *p, size_t left)
{
	unsigned char c = p[0];
	if (c < 0x80)
		return 1;
	size_t n;
	unsigned cp;
	if (c >= 0xC2 && c <= 0xDF) {
		n = 2;
		cp = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		cp = c & 0x0F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (left < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3F);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
	    (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return n;
}

static int hex4(const char *s, size_t left, unsigned *v)
{
	if (left < 4)
		return -1;
	*v = 0;
	for (int i = 0; i < 4; i++) {
		char c = s[i];
		unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
			     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
			     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
						    : 16u;
		if (d > 15)
			return -1;
		*v = *v * 16 + d;
	}
	return 0;
}

char *nd_gj_sanitize(const char *json, size_t n, size_t *len)
{
	/* U+FFFD is 3 bytes (or 6 as an escape) for each 1-byte or 6-byte input: at most 3x. */
	char *out = malloc(n * 3 + 1);
	if (out == NULL)
		abort();
	size_t o = 0, i = 0;
	bool in_str = false;
	while (i < n) {
		unsigned char c = (unsigned char)json[i];
		if (!in_str) {
			if (c == '"')
				in_str = true;
			out[o++] = (char)c;
			i++;
			continue;
		}
		if (c == '"') {
			in_str = false;
			out[o++] = '"';
			i++;
		} else if (c == '\\' && i + 1 < n) {
			unsigned v, v2;
			if (json[i + 1] == 'u' && hex4(json + i + 2, n - i - 2, &v) == 0 &&
			    v >= 0xD800 && v <= 0xDFFF) {
				bool pair = v < 0xDC00 && n - i >= 12 && json[i + 6] == '\\' &&
					    json[i + 7] == 'u' &&
					    hex4(json + i + 8, n - i - 8, &v2) == 0 &&
					    v2 >= 0xDC00 && v2 <= 0xDFFF;
				if (pair) {
					put(out, &o, json + i, 12);
					i += 12;
				} else {
					put(out, &o, "\\ufffd", 6);
					i += 6;
				}
			} else {
				out[o++] = json[i];
				out[o++] = json[i + 1];
				i += 2;
			}
		} else {
			size_t k = utf8_len((const unsigned char *)json + i, n - i);
			if (k == 0) {
				put(out, &o, "\xEF\xBF\xBD", 3);
				i++;
			} else {
				put(out, &o, json + i, k);
				i += k;
			}
		}
	}
	out[o] = '\0';
	*len = o;
	return out;
}

static char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

bool nd_gj_key_matches(const char *key, size_t klen, const char *field)
{
	size_t i = 0;
	for (const char *f = field; *f != '\0'; f++) {
		char want = lower(*f);
		if (i >= klen)
			return false;
		unsigned char c = (unsigned char)key[i];
		if (c < 0x80) {
			if (lower((char)c) != want)
				return false;
			i++;
		} else if (want == 's' && klen - i >= 2 && c == 0xC5 &&
			   (unsigned char)key[i + 1] == 0xBF) {
			i += 2; /* U+017F LATIN SMALL LETTER LONG S folds to s */
		} else if (want == 'k' && klen - i >= 3 && c == 0xE2 &&
			   (unsigned char)key[i + 1] == 0x84 && (unsigned char)key[i + 2] == 0xAA) {
			i += 3; /* U+212A KELVIN SIGN folds to k */
		} else {
			return false;
		}
	}
	return i == klen;
}

static const nd_gj_field_t *find(const nd_gj_schema_t *s, const char *key, size_t klen)
{
	/* Exact first, then folded: Go prefers an exact field name. */
	for (size_t i = 0; i < s->count; i++)
		if (strlen(s->fields[i].key) == klen && memcmp(s->fields[i].key, key, klen) == 0)
			return &s->fields[i];
	for (size_t i = 0; i < s->count; i++)
		if (nd_gj_key_matches(key, klen, s->fields[i].key))
			return &s->fields[i];
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

static bool valid_base64(const char *s, size_t n)
{
	/* Go's []byte: standard alphabet with padding; newlines are ignored by Go's decoder. */
	size_t count = 0, pad = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '\r' || c == '\n')
			continue;
		if (c == '=') {
			pad++;
			count++;
			continue;
		}
		if (pad > 0)
			return false;
		bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			  (c >= '0' && c <= '9') || c == '+' || c == '/';
		if (!ok)
			return false;
		count++;
	}
	return count % 4 == 0 && pad <= 2;
}

static int decode_object(const nd_gj_schema_t *schema, void *out, json_t *obj, char *err,
			 size_t errlen);

static int decode_value(const nd_gj_field_t *f, void *out, json_t *v, char *err, size_t errlen)
{
	if (json_is_null(v))
		return 0;
	char *slot = (out != NULL && f->offset != ND_GJ_NOSTORE) ? (char *)out + f->offset : NULL;
	switch (f->type) {
	case ND_GJ_BOOL:
		if (!json_is_boolean(v))
			break;
		if (slot != NULL)
			*(bool *)slot = json_is_true(v);
		return 0;
	case ND_GJ_INT: {
		if (!json_is_integer(v))
			break;
		long long x = json_integer_value(v);
		if (x < f->min || x > f->max)
			break;
		if (slot != NULL)
			*(long long *)slot = x;
		return 0;
	}
	case ND_GJ_STRING:
		if (!json_is_string(v))
			break;
		if (slot != NULL) {
			char **p = (char **)slot;
			free(*p);
			*p = strndup(json_string_value(v), json_string_length(v));
			if (*p == NULL)
				abort();
		}
		return 0;
	case ND_GJ_STRINGS: {
		if (!json_is_array(v))
			break;
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e)
		{
			if (!json_is_string(e) && !json_is_null(e)) {
				snprintf(err, errlen,
					 "json: cannot unmarshal %s into field %s of type string",
					 type_name(e), f->key);
				return -1;
			}
		}
		return 0;
	}
	case ND_GJ_BYTES:
		if (!json_is_string(v))
			break;
		if (!valid_base64(json_string_value(v), json_string_length(v))) {
			snprintf(err, errlen, "illegal base64 data in field %s", f->key);
			return -1;
		}
		return 0;
	case ND_GJ_OBJECT:
		if (!json_is_object(v))
			break;
		return decode_object(f->sub, NULL, v, err, errlen);
	}
	snprintf(err, errlen, "json: cannot unmarshal %s into field %s", type_name(v), f->key);
	return -1;
}

static int decode_object(const nd_gj_schema_t *schema, void *out, json_t *obj, char *err,
			 size_t errlen)
{
	const char *key;
	json_t *v;
	int rc = 0;
	/* Go keeps decoding after a type error and reports the first one; so do we. */
	json_object_foreach(obj, key, v)
	{
		const nd_gj_field_t *f = find(schema, key, strlen(key));
		if (f == NULL)
			continue;
		char tmp[256];
		if (decode_value(f, out, v, tmp, sizeof(tmp)) != 0 && rc == 0) {
			snprintf(err, errlen, "%s", tmp);
			rc = -1;
		}
	}
	return rc;
}

int nd_gj_decode(const nd_gj_schema_t *schema, void *out, const char *json, size_t n, char *err,
		 size_t errlen)
{
	size_t clean_len;
	char *clean = nd_gj_sanitize(json, n, &clean_len);
	json_error_t jerr;
	json_t *root = json_loadb(clean, clean_len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	free(clean);
	if (root == NULL) {
		snprintf(err, errlen, "invalid JSON: %s", jerr.text);
		return -1;
	}
	int rc = 0;
	if (json_is_object(root)) {
		rc = decode_object(schema, out, root, err, errlen);
	} else if (!json_is_null(root)) {
		snprintf(err, errlen, "json: cannot unmarshal %s into an object", type_name(root));
		rc = -1;
	}
	json_decref(root);
	return rc;
}
