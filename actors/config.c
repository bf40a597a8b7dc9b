/* The options processor. Each top-level key is a row of the directive table below; a row's
 * handler checks the value's type the way the reference's Go type assertions do and reports
 * with the reference's texts. Where a Go type assertion would panic and abort the rest of a
 * block, the handler returns early too, so the same set of errors comes out. Keys are compared
 * case-insensitively; errors come out in file order (the reference's order is random). */
#define _GNU_SOURCE
#include "actors/config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "protocol/gotime.h"
#include "protocol/goquote.h"
#include "protocol/gourl.h"
#include "protocol/hostport.h"
#include "protocol/nkey.h"
#include "actors/tls.h"
#include "actors/tls_files.h"

typedef struct cfg {
	nd_opts_t *o;
	nd_config_report_t *r;
} cfg_t;

/* ---- reports ---- */

static char *vfmt(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

static char *vfmt(const char *fmt, va_list ap)
{
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	return s;
}

static void push(char ***v, size_t *n, char *s)
{
	char **nv = realloc(*v, (*n + 1) * sizeof(char *));
	if (nv == NULL)
		abort();
	nv[(*n)++] = s;
	*v = nv;
}

/* "file:line:col: " for a value that has a position, "" otherwise (command-line values). */
static char *where(const nd_conf_value_t *tok)
{
	char *s = NULL;
	if (tok == NULL || tok->pos.file == NULL)
		s = strdup("");
	else if (asprintf(&s, "%s:%d:%d: ", tok->pos.file, tok->pos.line, tok->pos.col) < 0)
		s = NULL;
	if (s == NULL)
		abort();
	return s;
}

static void add(cfg_t *c, bool warning, const nd_conf_value_t *tok, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void add(cfg_t *c, bool warning, const nd_conf_value_t *tok, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *reason = vfmt(fmt, ap);
	va_end(ap);
	char *pre = where(tok), *line = NULL;
	if (asprintf(&line, "%s%s", pre, reason) < 0)
		abort();
	free(pre);
	free(reason);
	if (warning)
		push(&c->r->warnings, &c->r->nwarnings, line);
	else
		push(&c->r->errors, &c->r->nerrors, line);
}

#define ERR(c, tok, ...) add((c), false, (tok), __VA_ARGS__)

static void unknown_field(cfg_t *c, const char *key, const nd_conf_value_t *tok)
{
	char q[512];
	nd_go_quote(key, strlen(key), q, sizeof(q));
	ERR(c, tok, "unknown field %s", q);
}

/* The text of a Go type assertion failure: the reference turns the panic into this error. */
static bool want(cfg_t *c, const nd_conf_value_t *v, nd_conf_type_t t)
{
	if (v->type == t)
		return true;
	ERR(c, v, "interface conversion: interface {} is %s, not %s", nd_conf_type_go_name(v->type),
	    nd_conf_type_go_name(t));
	return false;
}

/* Go's %v of a configuration value (maps and arrays approximated: the reference prints heap
 * addresses there). */
static void go_value(const nd_conf_value_t *v, char *buf, size_t len)
{
	switch (v->type) {
	case ND_CONF_STRING:
	case ND_CONF_DATETIME:
		snprintf(buf, len, "%s", v->u.str.p);
		break;
	case ND_CONF_INT:
		snprintf(buf, len, "%lld", (long long)v->u.i);
		break;
	case ND_CONF_FLOAT:
		nd_go_format_float(v->u.f, buf, len);
		break;
	case ND_CONF_BOOL:
		snprintf(buf, len, "%s", v->u.b ? "true" : "false");
		break;
	case ND_CONF_ARRAY:
		snprintf(buf, len, "[%zu values]", v->u.arr.n);
		break;
	case ND_CONF_MAP: {
		size_t off = (size_t)snprintf(buf, len, "map[");
		for (size_t i = 0; i < v->u.map.n && off < len; i++)
			off += (size_t)snprintf(buf + off, len - off, "%s%s:...", i ? " " : "",
						v->u.map.entries[i].key);
		if (off < len)
			snprintf(buf + off, len - off, "]");
		break;
	}
	}
}

void nd_config_report_init(nd_config_report_t *r)
{
	memset(r, 0, sizeof(*r));
}

void nd_config_report_deinit(nd_config_report_t *r)
{
	free(r->parse_error);
	for (size_t i = 0; i < r->nwarnings; i++)
		free(r->warnings[i]);
	for (size_t i = 0; i < r->nerrors; i++)
		free(r->errors[i]);
	free(r->warnings);
	free(r->errors);
	memset(r, 0, sizeof(*r));
}

bool nd_config_report_failed(const nd_config_report_t *r)
{
	return r->parse_error != NULL || r->nerrors > 0;
}

char *nd_config_report_text(const nd_config_report_t *r)
{
	if (r->parse_error != NULL)
		return strdup(r->parse_error);
	if (r->nwarnings == 0 && r->nerrors == 0)
		return NULL;
	size_t len = 1;
	for (size_t i = 0; i < r->nwarnings; i++)
		len += strlen(r->warnings[i]) + 1;
	for (size_t i = 0; i < r->nerrors; i++)
		len += strlen(r->errors[i]) + 1;
	char *s = malloc(len), *p = s;
	if (s == NULL)
		abort();
	for (size_t i = 0; i < r->nwarnings; i++)
		p += sprintf(p, "%s\n", r->warnings[i]);
	for (size_t i = 0; i < r->nerrors; i++)
		p += sprintf(p, "%s\n", r->errors[i]);
	*p = '\0';
	return s;
}

/* ---- value helpers ---- */

static char *xstrdup(const char *s)
{
	char *d = strdup(s);
	if (d == NULL)
		abort();
	return d;
}

static void set_str(char **dst, const nd_conf_value_t *v)
{
	free(*dst);
	*dst = xstrdup(v->u.str.p);
}

static int clamp_int(int64_t v)
{
	return v > INT_MAX ? INT_MAX : v < INT_MIN ? INT_MIN : (int)v;
}

static bool is_key(const char *key, const char *const *names)
{
	for (; *names != NULL; names++)
		if (strcasecmp(key, *names) == 0)
			return true;
	return false;
}

#define NAMES(...) ((const char *const[]){__VA_ARGS__, NULL})

/* Go's strconv.Atoi, for the port of "host:port". */
static bool go_atoi(const char *s, int64_t *out)
{
	const char *p = s;
	if (*p == '+' || *p == '-')
		p++;
	if (*p == '\0')
		return false;
	for (const char *q = p; *q; q++)
		if (*q < '0' || *q > '9')
			return false;
	errno = 0;
	long long v = strtoll(s, NULL, 10);
	if (errno != 0)
		return false;
	*out = v;
	return true;
}

/* The reference's parseListen: a port, or "host:port". Sets *host (malloc'd, may be "") and
 * *port; NULL *host when only a port was given. */
static bool parse_listen(cfg_t *c, const nd_conf_value_t *v, char **host, int *port)
{
	*host = NULL;
	if (v->type == ND_CONF_INT) {
		*port = clamp_int(v->u.i);
		return true;
	}
	if (v->type != ND_CONF_STRING) {
		ERR(c, v, "expected port or host:port, got %s", nd_conf_type_go_name(v->type));
		return false;
	}
	char q[600];
	char *h, *p;
	if (nd_hostport_split(v->u.str.p, &h, &p) != ND_HOSTPORT_OK) {
		nd_go_quote(v->u.str.p, v->u.str.n, q, sizeof(q));
		ERR(c, v, "could not parse address string %s", q);
		return false;
	}
	int64_t n;
	if (!go_atoi(p, &n)) {
		nd_go_quote(p, strlen(p), q, sizeof(q));
		ERR(c, v, "could not parse port %s", q);
		free(h);
		free(p);
		return false;
	}
	free(p);
	*host = h;
	*port = clamp_int(n);
	return true;
}

/* The reference's parseDuration: a duration string, or (with a warning) a number of seconds. */
static bool parse_duration_opt(cfg_t *c, const char *field, const nd_conf_value_t *v, uint64_t *ms)
{
	if (v->type == ND_CONF_STRING) {
		int64_t ns;
		char err[256];
		if (nd_go_parse_duration(v->u.str.p, &ns, err, sizeof(err)) != 0) {
			ERR(c, v, "error parsing %s: %s", field, err);
			*ms = 0;
			return false;
		}
		*ms = ns <= 0 ? 0 : (uint64_t)(ns / 1000000);
		if (ns > 0 && *ms == 0)
			*ms = 1; /* sub-millisecond: the smallest timer we have */
		return true;
	}
	char q[128];
	nd_go_quote(field, strlen(field), q, sizeof(q));
	add(c, true, v, "invalid use of field %s: %s should be converted to a duration", q, field);
	if (!want(c, v, ND_CONF_INT))
		return false;
	*ms = v->u.i <= 0 ? 0 : (uint64_t)v->u.i * 1000;
	return true;
}

/* ---- authorization ---- */

/* The reference's parsePermSubjects. tok: where errors point (NULL for the list/string form,
 * whose errors carry no position in the reference). */
static bool perm_subjects(cfg_t *c, const nd_conf_value_t *v, const nd_conf_value_t *tok,
			  char ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (v->type == ND_CONF_STRING) {
		*out = malloc(sizeof(char *));
		if (*out == NULL)
			abort();
		(*out)[0] = xstrdup(v->u.str.p);
		*n = 1;
	} else if (v->type == ND_CONF_ARRAY) {
		*out = calloc(v->u.arr.n ? v->u.arr.n : 1, sizeof(char *));
		if (*out == NULL)
			abort();
		for (size_t i = 0; i < v->u.arr.n; i++) {
			const nd_conf_value_t *e = v->u.arr.items[i];
			if (e->type != ND_CONF_STRING) {
				ERR(c, e, "Subject in permissions array cannot be cast to string");
				goto fail;
			}
			(*out)[(*n)++] = xstrdup(e->u.str.p);
		}
	} else {
		ERR(c, tok,
		    "Expected subject permissions to be a subject, or array of subjects, got %s",
		    nd_conf_type_go_name(v->type));
		return false;
	}
	for (size_t i = 0; i < *n; i++) {
		size_t bl;
		const char *bad = nd_perms_check_subject((*out)[i], &bl);
		if (bad != NULL) {
			char q[600];
			nd_go_quote(bad, bl, q, sizeof(q));
			ERR(c, tok, "subject %s is not a valid subject", q);
			goto fail;
		}
	}
	return true;
fail:
	for (size_t i = 0; i < *n; i++)
		free((*out)[i]);
	free(*out);
	*out = NULL;
	*n = 0;
	return false;
}

static void subject_perm_free(nd_subject_perm_t *p)
{
	for (size_t i = 0; i < p->nallow; i++)
		free(p->allow[i]);
	for (size_t i = 0; i < p->ndeny; i++)
		free(p->deny[i]);
	free(p->allow);
	free(p->deny);
	memset(p, 0, sizeof(*p));
}

/* parseVariablePermissions: a subject, a list (allow only) or {allow, deny}. Returns false
 * when nothing was configured (the reference's nil), e.g. on an error or an empty map. */
static bool variable_perms(cfg_t *c, const nd_conf_value_t *v, nd_subject_perm_t *out)
{
	memset(out, 0, sizeof(*out));
	if (v->type != ND_CONF_MAP) {
		if (!perm_subjects(c, v, NULL, &out->allow, &out->nallow))
			return false;
		out->has_allow = out->nallow > 0; /* a nil Go slice for an empty list */
		return true;
	}
	if (v->u.map.n == 0)
		return false;
	for (size_t i = 0; i < v->u.map.n; i++) {
		const nd_conf_entry_t *e = &v->u.map.entries[i];
		char **subs;
		size_t n;
		if (strcasecmp(e->key, "allow") == 0) {
			if (!perm_subjects(c, e->value, e->value, &subs, &n))
				continue;
			for (size_t j = 0; j < out->nallow; j++)
				free(out->allow[j]);
			free(out->allow);
			out->allow = subs;
			out->nallow = n;
			out->has_allow = n > 0;
		} else if (strcasecmp(e->key, "deny") == 0) {
			if (!perm_subjects(c, e->value, e->value, &subs, &n))
				continue;
			for (size_t j = 0; j < out->ndeny; j++)
				free(out->deny[j]);
			free(out->deny);
			out->deny = subs;
			out->ndeny = n;
		} else if (!e->value->used_as_variable) {
			char q[512];
			nd_go_quote(e->key, strlen(e->key), q, sizeof(q));
			ERR(c, e->value,
			    "Unknown field name %s parsing subject permissions, only 'allow' or "
			    "'deny' are permitted",
			    q);
		}
	}
	return true;
}

#define DEFAULT_RESP_MAX 1
#define DEFAULT_RESP_EXPIRES_NS (2LL * 60 * 1000000000)

/* parseAllowResponses (the map form). Returns false for the reference's nil. */
static bool allow_responses(cfg_t *c, const nd_conf_value_t *v, nd_resp_perm_t *rp)
{
	if (v->type != ND_CONF_MAP) {
		ERR(c, v, "error parsing response permissions, expected a boolean or a map");
		return false;
	}
	rp->max_msgs = DEFAULT_RESP_MAX;
	rp->expires_ns = DEFAULT_RESP_EXPIRES_NS;
	for (size_t i = 0; i < v->u.map.n; i++) {
		const nd_conf_entry_t *e = &v->u.map.entries[i];
		const nd_conf_value_t *ev = e->value;
		if (is_key(e->key, NAMES("max", "max_msgs", "max_messages", "max_responses"))) {
			if (!want(c, ev, ND_CONF_INT))
				return false; /* the assertion panics: nothing is returned */
			if (ev->u.i != 0)
				rp->max_msgs = ev->u.i;
		} else if (is_key(e->key, NAMES("expires", "expiration", "ttl"))) {
			if (ev->type != ND_CONF_STRING) {
				ERR(c, ev, "error parsing expires, not a duration string");
				return false;
			}
			int64_t ns;
			char err[256];
			if (nd_go_parse_duration(ev->u.str.p, &ns, err, sizeof(err)) != 0) {
				ERR(c, ev, "error parsing expires: %s", err);
				return false;
			}
			if (ns != 0)
				rp->expires_ns = ns;
		} else if (!ev->used_as_variable) {
			char q[512];
			nd_go_quote(e->key, strlen(e->key), q, sizeof(q));
			ERR(c, ev, "Unknown field %s parsing permissions", q);
		}
	}
	return true;
}

/* parseUserPermissions. Returns NULL for the reference's nil (also after an error that aborts
 * it). */
static nd_perms_t *user_perms(cfg_t *c, const nd_conf_value_t *v)
{
	if (v->type != ND_CONF_MAP) {
		char val[256];
		go_value(v, val, sizeof(val));
		ERR(c, v, "Expected permissions to be a map/struct, got %s", val);
		return NULL;
	}
	nd_subject_perm_t pub = {0}, sub = {0};
	bool has_pub = false, has_sub = false, has_resp = false;
	nd_resp_perm_t resp = {0};
	for (size_t i = 0; i < v->u.map.n; i++) {
		const nd_conf_entry_t *e = &v->u.map.entries[i];
		const nd_conf_value_t *ev = e->value;
		if (is_key(e->key, NAMES("pub", "publish", "import"))) {
			subject_perm_free(&pub);
			has_pub = variable_perms(c, ev, &pub);
		} else if (is_key(e->key, NAMES("sub", "subscribe", "export"))) {
			subject_perm_free(&sub);
			has_sub = variable_perms(c, ev, &sub);
		} else if (is_key(e->key, NAMES("publish_allow_responses", "allow_responses"))) {
			if (ev->type == ND_CONF_BOOL) {
				has_resp = ev->u.b;
				resp = (nd_resp_perm_t){DEFAULT_RESP_MAX, DEFAULT_RESP_EXPIRES_NS};
			} else {
				has_resp = allow_responses(c, ev, &resp);
			}
			/* With responses allowed, publishing needs an explicit allow list: the
			 * blanket allow is turned off (nd_perms_create does it when building). */
		} else if (!ev->used_as_variable) {
			char q[512];
			nd_go_quote(e->key, strlen(e->key), q, sizeof(q));
			ERR(c, ev, "Unknown field %s parsing permissions", q);
		}
	}
	nd_perms_t *p =
	    nd_perms_create(has_pub ? &pub : NULL, has_sub ? &sub : NULL, has_resp ? &resp : NULL);
	subject_perm_free(&pub);
	subject_perm_free(&sub);
	return p;
}

typedef struct user_list {
	nd_user_t *v;
	size_t n;
} user_list_t;

static void user_list_free(user_list_t *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].name);
		free(l->v[i].password);
		free(l->v[i].nkey);
		nd_perms_unref(l->v[i].perms);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static void user_list_push(user_list_t *l, nd_user_t u)
{
	nd_user_t *nv = realloc(l->v, (l->n + 1) * sizeof(*nv));
	if (nv == NULL)
		abort();
	nv[l->n++] = u;
	l->v = nv;
}

/* The reference's parseStringArray for allowed_connection_types. */
static bool connection_types(cfg_t *c, const nd_conf_value_t *v, unsigned *out)
{
	const char *field = "allowed connection types";
	*out = 0;
	const nd_conf_value_t *one[1] = {v};
	const nd_conf_value_t *const *items = one;
	size_t n = 1;
	if (v->type == ND_CONF_ARRAY) {
		items = (const nd_conf_value_t *const *)v->u.arr.items;
		n = v->u.arr.n;
	} else if (v->type != ND_CONF_STRING) {
		ERR(c, v, "error parsing %s: unsupported type %s", field,
		    nd_conf_type_go_name(v->type));
		return false;
	}
	char bad[1024];
	size_t blen = 0;
	bad[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		const nd_conf_value_t *e = items[i];
		if (e->type != ND_CONF_STRING) {
			ERR(c, e, "error parsing %s: unsupported type in array %s", field,
			    nd_conf_type_go_name(e->type));
			continue;
		}
		unsigned bit = nd_conn_type_parse(e->u.str.p);
		if (bit != 0) {
			*out |= bit;
			continue;
		}
		char up[256], q[300];
		size_t k = 0;
		for (; e->u.str.p[k] && k + 1 < sizeof(up); k++)
			up[k] =
			    (char)(e->u.str.p[k] >= 'a' && e->u.str.p[k] <= 'z' ? e->u.str.p[k] - 32
										: e->u.str.p[k]);
		up[k] = '\0';
		nd_go_quote(up, k, q, sizeof(q));
		blen += (size_t)snprintf(bad + blen, blen < sizeof(bad) ? sizeof(bad) - blen : 0,
					 "%s%s", blen ? " " : "", q);
	}
	if (blen > 0)
		ERR(c, v, "invalid connection types [%s]", bad);
	return true;
}

/* parseUsers. Returns false when the whole list is rejected (the reference's error return). */
static bool parse_users(cfg_t *c, const nd_conf_value_t *v, user_list_t *users, user_list_t *nkeys)
{
	if (v->type != ND_CONF_ARRAY) {
		char val[256];
		go_value(v, val, sizeof(val));
		ERR(c, v, "Expected users field to be an array, got %s", val);
		return false;
	}
	for (size_t i = 0; i < v->u.arr.n; i++) {
		const nd_conf_value_t *uv = v->u.arr.items[i];
		if (uv->type != ND_CONF_MAP) {
			char val[256];
			go_value(uv, val, sizeof(val));
			ERR(c, uv, "Expected user entry to be a map/struct, got %s", val);
			continue;
		}
		nd_user_t u = {0};
		nd_perms_t *perms = NULL;
		const nd_conf_value_t *tk =
		    uv; /* the last token looked at, as errors point there */
		bool aborted = false;
		for (size_t k = 0; k < uv->u.map.n && !aborted; k++) {
			const nd_conf_entry_t *e = &uv->u.map.entries[k];
			const nd_conf_value_t *ev = e->value;
			tk = ev;
			char **dst = NULL;
			if (is_key(e->key, NAMES("nkey")))
				dst = &u.nkey;
			else if (is_key(e->key, NAMES("user", "username")))
				dst = &u.name;
			else if (is_key(e->key, NAMES("pass", "password")))
				dst = &u.password;
			if (dst != NULL) {
				if (!want(c, ev, ND_CONF_STRING)) {
					aborted = true;
					break;
				}
				set_str(dst, ev);
			} else if (is_key(e->key,
					  NAMES("permission", "permissions", "authorization"))) {
				nd_perms_unref(perms);
				perms = user_perms(c, ev);
			} else if (is_key(e->key, NAMES("allowed_connection_types",
							"connection_types", "clients"))) {
				connection_types(c, ev, &u.conn_types);
			} else if (!ev->used_as_variable) {
				unknown_field(c, e->key, ev);
			}
		}
		if (aborted) { /* a panic in the reference: parseUsers returns nothing */
			free(u.name);
			free(u.password);
			free(u.nkey);
			nd_perms_unref(perms);
			return false;
		}
		u.perms = perms;
		/* Go's zero values: an empty string is no string. */
		if (u.nkey != NULL && u.nkey[0] == '\0') {
			free(u.nkey);
			u.nkey = NULL;
		}
		if (u.nkey == NULL && (u.name == NULL || u.name[0] == '\0')) {
			ERR(c, tk, "User entry requires a user");
		} else if (u.nkey != NULL) {
			uint8_t key[32];
			if (nd_nkey_decode(u.nkey, ND_NKEY_PREFIX_USER, key) != 0) {
				ERR(c, tk, "Not a valid public nkey for a user");
			} else if ((u.name != NULL && u.name[0] != '\0') ||
				   (u.password != NULL && u.password[0] != '\0')) {
				ERR(c, tk, "Nkey users do not take usernames or passwords");
			} else {
				user_list_push(nkeys, u);
				continue;
			}
		} else {
			user_list_push(users, u);
			continue;
		}
		free(u.name);
		free(u.password);
		free(u.nkey);
		nd_perms_unref(u.perms);
		return false;
	}
	return true;
}

typedef struct named {
	const char *name;
	size_t at;
} named_t;

static int cmp_named(const void *a, const void *b)
{
	const named_t *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c != 0 ? c : (x->at < y->at ? -1 : x->at > y->at);
}

/* The index of the first entry whose name appeared before it (as the reference finds it,
 * walking the list into a map), or n if none. O(n log n): user lists can be long. */
static size_t first_duplicate(const char **names, size_t n)
{
	if (n < 2)
		return n;
	named_t *v = malloc(n * sizeof(*v));
	if (v == NULL)
		abort();
	for (size_t i = 0; i < n; i++)
		v[i] = (named_t){names[i], i};
	qsort(v, n, sizeof(*v), cmp_named);
	size_t first = n;
	for (size_t i = 1; i < n; i++)
		if (strcmp(v[i].name, v[i - 1].name) == 0 && v[i].at < first)
			first = v[i].at;
	free(v);
	return first;
}

/* What the reference's parseAuthorization returns. */
typedef struct auth_block {
	char *user, *pass, *token;
	double timeout;
	user_list_t users, nkeys;
	bool has_users; /* a users list parsed (even empty): Go's non-nil slice */
	nd_perms_t *defaults;
} auth_block_t;

static void auth_block_free(auth_block_t *a)
{
	free(a->user);
	free(a->pass);
	free(a->token);
	user_list_free(&a->users);
	user_list_free(&a->nkeys);
	nd_perms_unref(a->defaults);
	memset(a, 0, sizeof(*a));
}

static const char nil_deref[] = "runtime error: invalid memory address or nil pointer dereference";

/* parseAuthorization. Returns false when a type assertion failed inside (reported): the
 * reference then returns nothing, and its caller fails again on the nil result. */
static bool parse_auth_block(cfg_t *c, const nd_conf_value_t *v, auth_block_t *a)
{
	memset(a, 0, sizeof(*a));
	if (!want(c, v, ND_CONF_MAP))
		return false;
	for (size_t i = 0; i < v->u.map.n; i++) {
		const nd_conf_entry_t *e = &v->u.map.entries[i];
		const nd_conf_value_t *ev = e->value;
		char **dst = NULL;
		if (is_key(e->key, NAMES("user", "username")))
			dst = &a->user;
		else if (is_key(e->key, NAMES("pass", "password")))
			dst = &a->pass;
		else if (is_key(e->key, NAMES("token")))
			dst = &a->token;
		if (dst != NULL) {
			if (!want(c, ev, ND_CONF_STRING)) {
				auth_block_free(a);
				return false;
			}
			set_str(dst, ev);
		} else if (is_key(e->key, NAMES("timeout"))) {
			/* Anything but a number silently means one second. */
			a->timeout = ev->type == ND_CONF_INT     ? (double)ev->u.i
				     : ev->type == ND_CONF_FLOAT ? ev->u.f
								 : 1.0;
		} else if (is_key(e->key, NAMES("users"))) {
			user_list_t nu = {0}, nk = {0};
			if (parse_users(c, ev, &nu, &nk)) {
				user_list_free(&a->users);
				user_list_free(&a->nkeys);
				a->users = nu;
				a->nkeys = nk;
				a->has_users = true;
			} else {
				user_list_free(&nu);
				user_list_free(&nk);
			}
		} else if (is_key(e->key, NAMES("default_permission", "default_permissions",
						"permissions"))) {
			nd_perms_unref(a->defaults);
			a->defaults = user_perms(c, ev);
		} else if (!ev->used_as_variable) {
			unknown_field(c, e->key, ev);
		}
	}
	return true;
}

static void apply_authorization(cfg_t *c, const nd_conf_entry_t *top)
{
	const nd_conf_value_t *v = top->value;
	auth_block_t a;
	if (!parse_auth_block(c, v, &a)) {
		ERR(c, v, "%s", nil_deref);
		return;
	}
	char *user = a.user, *pass = a.pass, *token = a.token;
	double timeout = a.timeout;
	user_list_t users = a.users, nkeys = a.nkeys;
	bool has_users = a.has_users;
	nd_perms_t *defaults = a.defaults;
	/* Users without permissions of their own get the defaults. */
	for (size_t i = 0; defaults != NULL && i < users.n; i++)
		if (users.v[i].perms == NULL)
			users.v[i].perms = nd_perms_ref(defaults);
	for (size_t i = 0; defaults != NULL && i < nkeys.n; i++)
		if (nkeys.v[i].perms == NULL)
			nkeys.v[i].perms = nd_perms_ref(defaults);

	nd_opts_t *o = c->o;
	free(o->username);
	free(o->password);
	free(o->token);
	o->username = user;
	o->password = pass;
	o->token = token;
	user = pass = token = NULL;
	o->auth_timeout_s = timeout;
	if ((o->username != NULL || o->password != NULL) && o->token != NULL) {
		ERR(c, v, "Cannot have a user/pass and token");
		goto out;
	}
	if (has_users) {
		if (o->username != NULL) {
			ERR(c, v, "Can not have a single user/pass and a users array");
			goto out;
		}
		if (o->token != NULL) {
			ERR(c, v, "Can not have a token and a users array");
			goto out;
		}
	}
	{
		const char **names = malloc((users.n + nkeys.n + 1) * sizeof(*names));
		if (names == NULL)
			abort();
		for (size_t i = 0; i < users.n; i++)
			names[i] = users.v[i].name;
		size_t d = first_duplicate(names, users.n);
		if (d < users.n) {
			char q[512];
			nd_go_quote(names[d], strlen(names[d]), q, sizeof(q));
			free(names);
			ERR(c, v, "Duplicate user %s detected", q);
			goto out;
		}
		for (size_t i = 0; i < nkeys.n; i++)
			names[i] = nkeys.v[i].nkey;
		d = first_duplicate(names, nkeys.n);
		if (d < nkeys.n) {
			char q[512];
			nd_go_quote(names[d], strlen(names[d]), q, sizeof(q));
			free(names);
			ERR(c, v, "Duplicate nkey %s detected", q);
			goto out;
		}
		free(names);
	}
	nd_users_unref(o->users);
	o->users = NULL;
	if (users.n > 0 || nkeys.n > 0) {
		o->users = nd_users_create(users.v, users.n, nkeys.v, nkeys.n);
		free(users.v); /* the entries moved into the list */
		free(nkeys.v);
		memset(&users, 0, sizeof(users));
		memset(&nkeys, 0, sizeof(nkeys));
	}
out:
	free(user);
	free(pass);
	free(token);
	user_list_free(&users);
	user_list_free(&nkeys);
	nd_perms_unref(defaults);
}

/* ---- cluster ---- */

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Go's strings.TrimSpace for ASCII white space (the URLs of a configuration file). */
static char *trim_space(const char *s)
{
	while (*s == ' ' || (*s >= '\t' && *s <= '\r'))
		s++;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || (s[n - 1] >= '\t' && s[n - 1] <= '\r')))
		n--;
	char *d = strndup(s, n);
	if (d == NULL)
		abort();
	return d;
}

/* The reference's parseURLs: every entry must be a URL string; a duplicate is a warning and
 * skipped; an entry that does not parse is an error. A non-string stops the walk (a panic
 * there). Returns false if any error was reported (the list is then not used). */
static bool parse_urls(cfg_t *c, const nd_conf_value_t *a, const char *typ, char ***out, size_t *n)
{
	*out = calloc(a->u.arr.n + 1, sizeof(char *));
	if (*out == NULL)
		abort();
	*n = 0;
	bool ok = true;
	for (size_t i = 0; i < a->u.arr.n; i++) {
		const nd_conf_value_t *e = a->u.arr.items[i];
		if (!want(c, e, ND_CONF_STRING)) {
			ok = false;
			break;
		}
		bool dup = false;
		for (size_t j = 0; j < i && !dup; j++)
			dup = strcmp(a->u.arr.items[j]->u.str.p, e->u.str.p) == 0;
		if (dup) {
			char q[600];
			nd_go_quote(e->u.str.p, e->u.str.n, q, sizeof(q));
			add(c, true, e, "invalid use of field %s: Duplicate %s entry detected", q,
			    typ);
			continue;
		}
		char *url = trim_space(e->u.str.p), err[256];
		nd_go_url_t u;
		if (nd_go_url_parse(url, &u, err, sizeof(err)) != 0) {
			char q[600];
			nd_go_quote(url, strlen(url), q, sizeof(q));
			ERR(c, e, "error parsing %s url [%s]", typ, q);
			free(url);
			ok = false;
			continue;
		}
		nd_go_url_deinit(&u);
		(*out)[(*n)++] = url;
	}
	if (!ok) {
		free_strv(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return ok;
}

/* ---- tls ---- */

/* The reference's pinned_certs check: ^[A-Fa-f0-9]{64}$ (after lower-casing). */
static bool is_sha256_hex(const char *s)
{
	size_t n = 0;
	for (; s[n] != '\0'; n++)
		if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
			return false;
	return n == 64;
}

/* A list of names (cipher_suites, curve_preferences). Returns false after an error. */
static bool tls_name_list(cfg_t *c, const nd_conf_entry_t *e, const char *field,
			  bool (*known)(const char *name), const char *unknown, char ***out,
			  size_t *n)
{
	const nd_conf_value_t *v = e->value;
	if (!want(c, v, ND_CONF_ARRAY))
		return false;
	if (v->u.arr.n == 0) {
		ERR(c, v, "error parsing tls config, '%s' cannot be empty", field);
		return false;
	}
	char **list = calloc(v->u.arr.n, sizeof(char *));
	if (list == NULL)
		abort();
	size_t k = 0;
	for (size_t i = 0; i < v->u.arr.n; i++) {
		const nd_conf_value_t *it = v->u.arr.items[i];
		if (!want(c, it, ND_CONF_STRING) ||
		    (!known(it->u.str.p) && (ERR(c, it, "%s %s", unknown, it->u.str.p), true))) {
			free_strv(list, k);
			return false;
		}
		list[k++] = xstrdup(it->u.str.p);
	}
	free_strv(*out, *n);
	*out = list;
	*n = k;
	return true;
}

static bool tls_pinned_certs(cfg_t *c, const nd_conf_value_t *v, nd_tls_opts_t *t)
{
	if (v->type != ND_CONF_ARRAY) {
		ERR(c, v,
		    "error parsing tls config, expected 'pinned_certs' to be a list of hex-encoded "
		    "sha256 of DER encoded SubjectPublicKeyInfo");
		return false;
	}
	char **list = v->u.arr.n ? calloc(v->u.arr.n, sizeof(char *)) : NULL;
	size_t k = 0;
	for (size_t i = 0; i < v->u.arr.n; i++) {
		const nd_conf_value_t *it = v->u.arr.items[i];
		if (!want(c, it, ND_CONF_STRING)) {
			free_strv(list, k);
			return false;
		}
		char *entry = xstrdup(it->u.str.p);
		for (char *p = entry; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		if (!is_sha256_hex(entry)) {
			ERR(c, it,
			    "error parsing tls config, 'pinned_certs' key %s does not look like "
			    "hex-encoded sha256 of DER encoded SubjectPublicKeyInfo",
			    entry);
			free(entry);
			free_strv(list, k);
			return false;
		}
		bool dup = false; /* the reference keeps a set */
		for (size_t j = 0; j < k && !dup; j++)
			dup = strcmp(list[j], entry) == 0;
		if (dup)
			free(entry);
		else
			list[k++] = entry;
	}
	if (v->u.arr.n == 0)
		return true; /* the reference leaves the set as it was (nil) */
	free_strv(t->pinned_certs, t->npinned);
	t->pinned_certs = list;
	t->npinned = k;
	return true;
}

/* natsd's 2.10 key "min_version" (the reference's parseTLSVersion from 2.10.x). */
static bool tls_min_version(cfg_t *c, const nd_conf_value_t *v, nd_tls_opts_t *t)
{
	if (v->type != ND_CONF_STRING) {
		char val[256];
		go_value(v, val, sizeof(val));
		ERR(c, v, "error parsing tls config: 'min_version' wrong type: %s", val);
		return false;
	}
	const char *s = v->u.str.p;
	if (strcmp(s, "1.0") == 0 || strcmp(s, "1.1") == 0) {
		ERR(c, v, "error parsing tls config: unsupported TLS version: TLS %s", s);
		return false;
	}
	if (strcmp(s, "1.2") != 0 && strcmp(s, "1.3") != 0) {
		ERR(c, v, "error parsing tls config: unknown version: %s", s);
		return false;
	}
	t->min_version = strcmp(s, "1.2") == 0 ? 0x0303 : 0x0304;
	return true;
}

/* natsd's 2.10.4 key "handshake_first" (aliases "first", "immediate"): a boolean, or "true",
 * "on", "false", "off", "auto" (wait 50 ms for a ClientHello before sending INFO) or a
 * duration (auto with that wait). */
static bool tls_handshake_first(cfg_t *c, const nd_conf_entry_t *e, nd_tls_opts_t *t)
{
	const nd_conf_value_t *v = e->value;
	char qk[256], qv[600];
	nd_go_quote(e->key, strlen(e->key), qk, sizeof(qk));
	if (v->type == ND_CONF_BOOL) {
		t->handshake_first =
		    v->u.b ? ND_TLS_HANDSHAKE_FIRST_ON : ND_TLS_HANDSHAKE_FIRST_OFF;
		t->handshake_first_fallback_ms = 0;
		return true;
	}
	if (v->type != ND_CONF_STRING) {
		ERR(c, v, "field %s should be a boolean or a string, got %s", qk,
		    nd_conf_type_go_name(v->type));
		return false;
	}
	const char *s = v->u.str.p;
	int64_t ns;
	char derr[256];
	t->handshake_first_fallback_ms = 0;
	if (strcasecmp(s, "true") == 0 || strcasecmp(s, "on") == 0) {
		t->handshake_first = ND_TLS_HANDSHAKE_FIRST_ON;
	} else if (strcasecmp(s, "false") == 0 || strcasecmp(s, "off") == 0) {
		t->handshake_first = ND_TLS_HANDSHAKE_FIRST_OFF;
	} else if (strcasecmp(s, "auto") == 0 || strcasecmp(s, "auto_fallback") == 0) {
		t->handshake_first = ND_TLS_HANDSHAKE_FIRST_AUTO;
		t->handshake_first_fallback_ms = ND_TLS_HANDSHAKE_FIRST_FALLBACK_MS;
	} else if (nd_go_parse_duration(s, &ns, derr, sizeof(derr)) == 0) {
		/* The reference: handshake first, falling back after the duration (none for 0). */
		uint64_t ms = ns <= 0 ? 0 : (uint64_t)(ns / 1000000);
		if (ns > 0 && ms == 0)
			ms = 1;
		t->handshake_first =
		    ms > 0 ? ND_TLS_HANDSHAKE_FIRST_AUTO : ND_TLS_HANDSHAKE_FIRST_ON;
		t->handshake_first_fallback_ms = ms;
	} else {
		nd_go_quote(s, v->u.str.n, qv, sizeof(qv));
		ERR(c, v, "field %s's value %s is invalid", qk, qv);
		return false;
	}
	return true;
}

/* One field of a tls block. Returns false after an error (the reference's parseTLS returns at
 * its first error). */
static bool tls_field(cfg_t *c, const nd_conf_entry_t *e, bool client_ctx, nd_tls_opts_t *t)
{
	const nd_conf_value_t *v = e->value;
	const char *k = e->key;
	static const char *const files[] = {"cert_file", "key_file", "ca_file", NULL};
	char **file_dst[] = {&t->cert_file, &t->key_file, &t->ca_file};
	for (size_t i = 0; files[i] != NULL; i++) {
		if (strcasecmp(k, files[i]) != 0)
			continue;
		if (v->type != ND_CONF_STRING) {
			ERR(c, v, "error parsing tls config, expected '%s' to be filename",
			    files[i]);
			return false;
		}
		set_str(file_dst[i], v);
		return true;
	}
	static const char *const bools[] = {"insecure", "verify", "verify_and_map",
					    "verify_cert_and_check_known_urls", NULL};
	for (size_t i = 0; bools[i] != NULL; i++) {
		if (strcasecmp(k, bools[i]) != 0)
			continue;
		if (v->type != ND_CONF_BOOL) {
			ERR(c, v, "error parsing tls config, expected '%s' to be a boolean",
			    bools[i]);
			return false;
		}
		bool b = v->u.b;
		switch (i) {
		case 0:
			t->insecure = b;
			break;
		case 1:
			t->verify = b;
			break;
		case 2:
			if (b)
				t->verify = true;
			t->verify_and_map = b;
			break;
		default:
			if (b && client_ctx) {
				ERR(c, v,
				    "verify_cert_and_check_known_urls not supported in this "
				    "context");
				return false;
			}
			if (b)
				t->verify = true;
			t->verify_cert_and_check_known_urls = b;
			break;
		}
		return true;
	}
	if (strcasecmp(k, "cipher_suites") == 0)
		return tls_name_list(c, e, "cipher_suites", nd_tls_cipher_known,
				     "unrecognized cipher", &t->ciphers, &t->nciphers);
	if (strcasecmp(k, "curve_preferences") == 0)
		return tls_name_list(c, e, "curve_preferences", nd_tls_curve_known,
				     "unrecognized curve preference", &t->curves, &t->ncurves);
	if (strcasecmp(k, "timeout") == 0) {
		if (v->type == ND_CONF_INT) {
			t->timeout_s = (double)v->u.i;
		} else if (v->type == ND_CONF_FLOAT) {
			t->timeout_s = v->u.f;
		} else if (v->type == ND_CONF_STRING) {
			int64_t ns;
			char derr[256];
			if (nd_go_parse_duration(v->u.str.p, &ns, derr, sizeof(derr)) != 0) {
				ERR(c, v, "error parsing tls config, 'timeout' %s", derr);
				return false;
			}
			t->timeout_s = (double)ns / 1e9;
		} else {
			ERR(c, v, "error parsing tls config, 'timeout' wrong type");
			return false;
		}
		return true;
	}
	if (strcasecmp(k, "connection_rate_limit") == 0) {
		if (v->type != ND_CONF_INT) {
			ERR(c, v, "error parsing tls config, 'connection_rate_limit' wrong type");
			return false;
		}
		t->connection_rate_limit = v->u.i;
		return true;
	}
	if (strcasecmp(k, "pinned_certs") == 0)
		return tls_pinned_certs(c, v, t);
	if (strcasecmp(k, "min_version") == 0)
		return tls_min_version(c, v, t);
	if (is_key(k, NAMES("handshake_first", "first", "immediate")))
		return tls_handshake_first(c, e, t);
	char q[512];
	nd_go_quote(k, strlen(k), q, sizeof(q));
	ERR(c, v, "error parsing tls config, unknown field [%s]", q);
	return false;
}

/* The reference's parseTLS then GenTLSConfig for a tls block (client_ctx: the top level,
 * where verify_cert_and_check_known_urls is refused). On success *dst is replaced; on an
 * error it is left as it was, as the reference leaves its TLS configuration. */
static bool parse_tls(cfg_t *c, const nd_conf_entry_t *top, bool client_ctx, nd_tls_opts_t *dst)
{
	const nd_conf_value_t *v = top->value;
	if (!want(c, v, ND_CONF_MAP))
		return false;
	nd_tls_opts_t t = {0};
	for (size_t i = 0; i < v->u.map.n; i++) {
		if (!tls_field(c, &v->u.map.entries[i], client_ctx, &t)) {
			nd_tls_opts_deinit(&t);
			return false;
		}
	}
	char err[1024];
	if (nd_tls_check_files(&t, err, sizeof(err)) != 0) {
		ERR(c, v, "%s", err);
		nd_tls_opts_deinit(&t);
		return false;
	}
	t.set = true;
	nd_tls_opts_deinit(dst);
	*dst = t;
	return true;
}

static void apply_tls(cfg_t *c, const nd_conf_entry_t *e)
{
	parse_tls(c, e, true, &c->o->tls);
}

/* The --tls* flags (keys "tls", "tls.cert_file", "tls.key_file", "tls.ca_file",
 * "tls.verify"): remembered, then applied as the reference's overrideTLS (checked when the
 * server starts, as the reference checks them after reading its file). Returns false for an
 * unknown key. */
static bool set_tls_flag(cfg_t *c, const char *key, const nd_conf_value_t *v)
{
	nd_tls_flags_t *f = &c->o->tls_flags;
	char **s = NULL;
	if (strcmp(key, "tls") == 0) {
		if (!want(c, v, ND_CONF_BOOL))
			return true;
		f->tls_given = true;
		f->tls_value = v->u.b;
	} else if (strcmp(key, "tls.verify") == 0) {
		if (!want(c, v, ND_CONF_BOOL))
			return true;
		f->other_given = true;
		f->verify = v->u.b;
	} else if (strcmp(key, "tls.cert_file") == 0) {
		s = &f->cert_file;
	} else if (strcmp(key, "tls.key_file") == 0) {
		s = &f->key_file;
	} else if (strcmp(key, "tls.ca_file") == 0) {
		s = &f->ca_file;
	} else {
		return false;
	}
	if (s != NULL) {
		if (!want(c, v, ND_CONF_STRING))
			return true;
		f->other_given = true;
		set_str(s, v);
	}
	nd_opts_apply_tls_flags(c->o);
	return true;
}

/* The cluster's authorization block: a single user only. Returns false when the reference's
 * parseCluster panics (the rest of the block is then skipped). */
static bool cluster_authorization(cfg_t *c, const nd_conf_entry_t *e)
{
	nd_cluster_opts_t *cl = &c->o->cluster;
	auth_block_t a;
	if (!parse_auth_block(c, e->value, &a)) {
		ERR(c, e->value, "%s", nil_deref);
		return false;
	}
	if (a.has_users) {
		ERR(c, e->value, "Cluster authorization does not allow multiple users");
	} else if (a.token != NULL && a.token[0] != '\0') {
		ERR(c, e->value, "Cluster authorization does not support tokens");
	} else {
		free(cl->username);
		free(cl->password);
		cl->username = a.user;
		cl->password = a.pass;
		a.user = a.pass = NULL;
		cl->auth_timeout_s = a.timeout;
		if (a.defaults != NULL) {
			char q[512];
			nd_go_quote(e->key, strlen(e->key), q, sizeof(q));
			add(c, true, e->value,
			    "invalid use of field %s: setting \"permissions\" within cluster "
			    "authorization block is deprecated",
			    q);
			/* The cluster block's own permissions win. */
			if (cl->perms == NULL) {
				cl->perms = a.defaults;
				a.defaults = NULL;
			}
		}
	}
	auth_block_free(&a);
	return true;
}

static void cluster_permissions(cfg_t *c, const nd_conf_value_t *v)
{
	/* The reference hands the bare value over: a non-map is reported without position. */
	nd_conf_value_t bare = *v;
	bare.pos.file = NULL;
	nd_perms_t *p = user_perms(c, v->type == ND_CONF_MAP ? v : &bare);
	if (p == NULL)
		return;
	if (nd_perms_resp(p) != NULL) {
		ERR(c, v, "Cluster permissions do not support dynamic responses");
		nd_perms_unref(p);
		return;
	}
	nd_perms_unref(c->o->cluster.perms);
	c->o->cluster.perms = p;
}

/* parseCluster. A failed type assertion ends the block there, as the reference's panic does
 * (its keys come in Go's random map order; natsd's in file order). */
static void apply_cluster(cfg_t *c, const nd_conf_entry_t *top)
{
	const nd_conf_value_t *v = top->value;
	if (v->type != ND_CONF_MAP) {
		ERR(c, v, "Expected map to define cluster, got %s", nd_conf_type_go_name(v->type));
		return;
	}
	nd_cluster_opts_t *cl = &c->o->cluster;
	for (size_t i = 0; i < v->u.map.n; i++) {
		const nd_conf_entry_t *e = &v->u.map.entries[i];
		const nd_conf_value_t *ev = e->value;
		if (is_key(e->key, NAMES("name"))) {
			if (!want(c, ev, ND_CONF_STRING))
				return;
			set_str(&cl->name, ev);
		} else if (is_key(e->key, NAMES("listen"))) {
			char *host;
			int port;
			if (!parse_listen(c, ev, &host, &port))
				continue;
			free(cl->host);
			cl->host = host != NULL ? host : xstrdup("");
			cl->port = port;
		} else if (is_key(e->key, NAMES("port"))) {
			if (!want(c, ev, ND_CONF_INT))
				return;
			cl->port = clamp_int(ev->u.i);
		} else if (is_key(e->key, NAMES("host", "net"))) {
			if (!want(c, ev, ND_CONF_STRING))
				return;
			set_str(&cl->host, ev);
		} else if (is_key(e->key, NAMES("authorization"))) {
			if (!cluster_authorization(c, e))
				return;
		} else if (is_key(e->key, NAMES("routes"))) {
			if (!want(c, ev, ND_CONF_ARRAY))
				return;
			char **routes;
			size_t n;
			if (!parse_urls(c, ev, "route", &routes, &n))
				continue;
			free_strv(cl->routes, cl->nroutes);
			cl->routes = routes;
			cl->nroutes = n;
		} else if (is_key(e->key, NAMES("tls"))) {
			parse_tls(c, e, false, &cl->tls); /* an error goes on with the block */
		} else if (is_key(e->key, NAMES("cluster_advertise", "advertise"))) {
			if (!want(c, ev, ND_CONF_STRING))
				return;
			set_str(&cl->advertise, ev);
		} else if (is_key(e->key, NAMES("no_advertise"))) {
			if (!want(c, ev, ND_CONF_BOOL))
				return;
			cl->no_advertise = ev->u.b;
		} else if (is_key(e->key, NAMES("connect_retries"))) {
			if (!want(c, ev, ND_CONF_INT))
				return;
			cl->connect_retries = clamp_int(ev->u.i);
		} else if (is_key(e->key, NAMES("permissions"))) {
			cluster_permissions(c, ev);
		} else if (is_key(e->key, NAMES("pool_size"))) {
			/* 2.10's route pooling: accepted; natsd keeps one connection per peer,
			 * which is what a 2.9 peer (no pooling) negotiates anyway. */
			if (!want(c, ev, ND_CONF_INT))
				return;
			cl->pool_size = clamp_int(ev->u.i);
		} else if (is_key(e->key, NAMES("ping_interval"))) {
			uint64_t ms;
			cl->ping_interval_ms =
			    parse_duration_opt(c, "ping_interval", ev, &ms) ? ms : 0;
		} else if (is_key(e->key, NAMES("ping_max"))) {
			if (!want(c, ev, ND_CONF_INT))
				return;
			cl->ping_max = clamp_int(ev->u.i);
		} else if (is_key(e->key, NAMES("write_deadline"))) {
			uint64_t ms;
			cl->write_deadline_ms =
			    parse_duration_opt(c, "write_deadline", ev, &ms) ? ms : 0;
		} else if (!ev->used_as_variable) {
			unknown_field(c, e->key, ev);
		}
	}
}

/* --cluster / --cluster_listen, as the reference's overrideCluster: a URL whose host:port is
 * the listener; its credentials (both needed) replace the authorization's; "" turns the
 * listener off. ":-1" asks for a random port. */
static void set_cluster_listen(cfg_t *c, const nd_conf_value_t *v)
{
	nd_cluster_opts_t *cl = &c->o->cluster;
	if (!want(c, v, ND_CONF_STRING))
		return;
	const char *s = v->u.str.p;
	if (s[0] == '\0') {
		cl->port = 0;
		return;
	}
	char *str = xstrdup(s), err[256], q[600];
	size_t n = strlen(str);
	bool random = n >= 3 && strcmp(str + n - 3, ":-1") == 0;
	if (random)
		strcpy(str + n - 3, ":0");
	nd_go_url_t u;
	char *h = NULL, *p = NULL;
	if (nd_go_url_parse(str, &u, err, sizeof(err)) != 0) {
		nd_go_quote(str, strlen(str), q, sizeof(q));
		ERR(c, NULL, "parse %s: %s", q, err);
		goto out;
	}
	nd_hostport_err_t he = nd_hostport_split(u.host, &h, &p);
	if (he != ND_HOSTPORT_OK) {
		if (u.host[0] != '\0') {
			nd_hostport_error_text(he, u.host, err, sizeof(err));
			ERR(c, NULL, "%s", err);
		} else {
			ERR(c, NULL, "missing port in address"); /* Go names no empty address */
		}
		goto out_url;
	}
	if (p[0] == '\0') {
		ERR(c, NULL, "EOF"); /* fmt.Sscan of nothing */
		goto out_url;
	}
	if (u.user != NULL && u.password == NULL) {
		ERR(c, NULL, "expected cluster password to be set");
		goto out_url;
	}
	free(cl->host);
	cl->host = h;
	h = NULL;
	cl->port = random ? -1 : clamp_int(strtoll(p, NULL, 10));
	free(cl->username);
	free(cl->password);
	cl->username = u.user;
	cl->password = u.password;
	u.user = u.password = NULL;
out_url:
	free(h);
	free(p);
	nd_go_url_deinit(&u);
out:
	free(str);
}

/* --routes, as the reference's RoutesFromStr: comma-separated, each trimmed; "" clears. The
 * reference keeps no error here (a URL that does not parse becomes nil); natsd refuses it. */
static void set_cluster_routes(cfg_t *c, const nd_conf_value_t *v)
{
	nd_cluster_opts_t *cl = &c->o->cluster;
	if (!want(c, v, ND_CONF_STRING))
		return;
	free_strv(cl->routes, cl->nroutes);
	cl->routes = NULL;
	cl->nroutes = 0;
	if (v->u.str.p[0] == '\0')
		return;
	for (const char *s = v->u.str.p;;) {
		const char *comma = strchr(s, ',');
		char *part = strndup(s, comma != NULL ? (size_t)(comma - s) : strlen(s));
		if (part == NULL)
			abort();
		char *url = trim_space(part), err[256];
		free(part);
		nd_go_url_t u;
		if (nd_go_url_parse(url, &u, err, sizeof(err)) != 0) {
			char q[600];
			nd_go_quote(url, strlen(url), q, sizeof(q));
			ERR(c, NULL, "error parsing route url [%s]", q);
			free(url);
		} else {
			nd_go_url_deinit(&u);
			char **nv = realloc(cl->routes, (cl->nroutes + 1) * sizeof(char *));
			if (nv == NULL)
				abort();
			nv[cl->nroutes++] = url;
			cl->routes = nv;
		}
		if (comma == NULL)
			break;
		s = comma + 1;
	}
}

/* The cluster keys of the command line ("cluster.<key>"). Returns false for an unknown key. */
static bool set_cluster_key(cfg_t *c, const char *key, const nd_conf_value_t *v)
{
	nd_cluster_opts_t *cl = &c->o->cluster;
	if (strcmp(key, "listen") == 0) {
		set_cluster_listen(c, v);
	} else if (strcmp(key, "routes") == 0) {
		set_cluster_routes(c, v);
	} else if (strcmp(key, "name") == 0 || strcmp(key, "advertise") == 0) {
		if (want(c, v, ND_CONF_STRING))
			set_str(key[0] == 'n' ? &cl->name : &cl->advertise, v);
	} else if (strcmp(key, "no_advertise") == 0) {
		if (want(c, v, ND_CONF_BOOL))
			cl->no_advertise = v->u.b;
	} else if (strcmp(key, "connect_retries") == 0) {
		if (want(c, v, ND_CONF_INT))
			cl->connect_retries = clamp_int(v->u.i);
	} else {
		return false;
	}
	return true;
}

/* ---- top-level directives ---- */

typedef void (*apply_fn)(cfg_t *c, const nd_conf_entry_t *e);

typedef struct directive {
	const char *const *names;
	apply_fn apply;
} directive_t;

#define STRING_FIELD(fn, field)                                                                    \
	static void fn(cfg_t *c, const nd_conf_entry_t *e)                                         \
	{                                                                                          \
		if (want(c, e->value, ND_CONF_STRING))                                             \
			set_str(&c->o->field, e->value);                                           \
	}

#define BOOL_FIELD(fn, field)                                                                      \
	static void fn(cfg_t *c, const nd_conf_entry_t *e)                                         \
	{                                                                                          \
		if (want(c, e->value, ND_CONF_BOOL))                                               \
			c->o->field = e->value->u.b;                                               \
	}

#define INT_FIELD(fn, field)                                                                       \
	static void fn(cfg_t *c, const nd_conf_entry_t *e)                                         \
	{                                                                                          \
		if (want(c, e->value, ND_CONF_INT))                                                \
			c->o->field = clamp_int(e->value->u.i);                                    \
	}

STRING_FIELD(apply_client_advertise, client_advertise)
STRING_FIELD(apply_server_name, server_name)
STRING_FIELD(apply_host, host)
STRING_FIELD(apply_log_file, log_file)
STRING_FIELD(apply_remote_syslog, remote_syslog)
STRING_FIELD(apply_pid_file, pid_file)
STRING_FIELD(apply_ports_file_dir, ports_file_dir)
STRING_FIELD(apply_http_base_path, http_base_path)
STRING_FIELD(apply_no_auth_user, no_auth_user)
BOOL_FIELD(apply_debug, debug)
BOOL_FIELD(apply_trace, trace)
BOOL_FIELD(apply_logtime, logtime)
BOOL_FIELD(apply_syslog, syslog)
BOOL_FIELD(apply_no_header_support, no_header_support)
BOOL_FIELD(apply_allow_non_tls, allow_non_tls)
INT_FIELD(apply_port, port)
INT_FIELD(apply_http_port, http_port)
INT_FIELD(apply_max_connections, max_connections)
INT_FIELD(apply_max_traced_msg_len, max_traced_msg_len)
INT_FIELD(apply_max_subscriptions, max_subscriptions)
INT_FIELD(apply_ping_max, ping_max)
INT_FIELD(apply_https_port, https_port)
INT_FIELD(apply_connect_error_reports, connect_error_reports)
INT_FIELD(apply_reconnect_error_reports, reconnect_error_reports)

static void apply_trace_verbose(cfg_t *c, const nd_conf_entry_t *e)
{
	if (want(c, e->value, ND_CONF_BOOL))
		c->o->trace_verbose = c->o->trace = e->value->u.b;
}

static void apply_listen(cfg_t *c, const nd_conf_entry_t *e)
{
	char *host;
	int port;
	if (!parse_listen(c, e->value, &host, &port))
		return;
	free(c->o->host);
	c->o->host = host != NULL ? host : xstrdup("");
	c->o->port = port;
}

static void apply_http(cfg_t *c, const nd_conf_entry_t *e)
{
	char *host;
	int port;
	if (!parse_listen(c, e->value, &host, &port))
		return;
	free(c->o->http_host);
	c->o->http_host = host != NULL ? host : xstrdup("");
	c->o->http_port = port;
}

static void apply_https(cfg_t *c, const nd_conf_entry_t *e)
{
	char *host;
	int port;
	if (!parse_listen(c, e->value, &host, &port))
		return;
	free(c->o->http_host);
	c->o->http_host = host != NULL ? host : xstrdup("");
	c->o->https_port = port;
}

static void apply_log_size_limit(cfg_t *c, const nd_conf_entry_t *e)
{
	if (want(c, e->value, ND_CONF_INT))
		c->o->log_size_limit = e->value->u.i;
}

static void apply_max_pending(cfg_t *c, const nd_conf_entry_t *e)
{
	if (want(c, e->value, ND_CONF_INT))
		c->o->max_pending = e->value->u.i;
}

static void apply_max_control_line(cfg_t *c, const nd_conf_entry_t *e)
{
	if (!want(c, e->value, ND_CONF_INT))
		return;
	if (e->value->u.i > INT32_MAX) {
		ERR(c, e->value, "%s value is too big", e->key);
		return;
	}
	/* A negative value would make every control line too long in the reference; natsd
	 * treats it as "no limit" rather than refusing every client. */
	c->o->max_control_line = e->value->u.i < 0 ? UINT32_MAX : (uint32_t)e->value->u.i;
}

static void apply_max_payload(cfg_t *c, const nd_conf_entry_t *e)
{
	if (!want(c, e->value, ND_CONF_INT))
		return;
	if (e->value->u.i > INT32_MAX) {
		ERR(c, e->value, "%s value is too big", e->key);
		return;
	}
	c->o->max_payload = e->value->u.i;
}

static void apply_max_sub_tokens(cfg_t *c, const nd_conf_entry_t *e)
{
	if (!want(c, e->value, ND_CONF_INT))
		return;
	if (e->value->u.i > 255)
		ERR(c, e->value, "%s value is too big", e->key);
	else if (e->value->u.i <= 0)
		ERR(c, e->value, "%s value can not be negative", e->key);
	else
		c->o->max_sub_tokens = (int)e->value->u.i;
}

static void apply_ping_interval(cfg_t *c, const nd_conf_entry_t *e)
{
	uint64_t ms;
	if (parse_duration_opt(c, "ping_interval", e->value, &ms))
		c->o->ping_interval_ms = ms;
	else
		c->o->ping_interval_ms = 0; /* the reference stores 0 (then the default) */
}

static void apply_write_deadline(cfg_t *c, const nd_conf_entry_t *e)
{
	uint64_t ms;
	if (parse_duration_opt(c, "write_deadline", e->value, &ms))
		c->o->write_deadline_ms = ms;
	else
		c->o->write_deadline_ms = 0;
}

static void apply_lame_duck(cfg_t *c, const nd_conf_entry_t *e, bool grace)
{
	const char *field = grace ? "lame_duck_grace_period" : "lame_duck_duration";
	if (!want(c, e->value, ND_CONF_STRING))
		return;
	int64_t ns;
	char err[256], d[32];
	if (nd_go_parse_duration(e->value->u.str.p, &ns, err, sizeof(err)) != 0) {
		ERR(c, e->value, "error parsing %s: %s", field, err);
		return;
	}
	if (!grace && ns < 30LL * 1000000000) {
		nd_go_format_duration(ns, d, sizeof(d));
		ERR(c, e->value, "invalid lame_duck_duration of %s, minimum is 30 seconds", d);
		return;
	}
	if (grace && ns < 0) {
		ERR(c, e->value, "invalid lame_duck_grace_period, needs to be positive");
		return;
	}
	if (grace)
		c->o->lame_duck_grace_ms = (uint64_t)(ns / 1000000);
	else
		c->o->lame_duck_duration_ms = (uint64_t)(ns / 1000000);
}

static void apply_lame_duck_duration(cfg_t *c, const nd_conf_entry_t *e)
{
	apply_lame_duck(c, e, false);
}

static void apply_lame_duck_grace(cfg_t *c, const nd_conf_entry_t *e)
{
	apply_lame_duck(c, e, true);
}

/* Keys natsd accepts and has no use for: the reference's switches for features natsd does
 * not have, where "off" is natsd's only behaviour. Type-checked, then nothing to do. */
static void apply_bool_noop(cfg_t *c, const nd_conf_entry_t *e)
{
	want(c, e->value, ND_CONF_BOOL);
}

static void apply_workers(cfg_t *c, const nd_conf_entry_t *e)
{
	if (!want(c, e->value, ND_CONF_INT))
		return;
	if (e->value->u.i < 0 || e->value->u.i > 1024)
		ERR(c, e->value, "workers must be between 0 (one per CPU) and 1024");
	else
		c->o->workers = (unsigned)e->value->u.i;
}

static void apply_spin(cfg_t *c, const nd_conf_entry_t *e)
{
	if (!want(c, e->value, ND_CONF_INT))
		return;
	if (e->value->u.i < 0 || e->value->u.i > 1000)
		ERR(c, e->value, "spin must be between 0 and 1000 microseconds");
	else
		c->o->spin_us = (unsigned)e->value->u.i;
}

/* Known to the reference, not implemented by natsd yet: refused, never ignored. */
static void apply_unsupported(cfg_t *c, const nd_conf_entry_t *e)
{
	char q[512];
	nd_go_quote(e->key, strlen(e->key), q, sizeof(q));
	ERR(c, e->value, "%s is not supported by natsd yet", q);
}

static const directive_t directives[] = {
    {NAMES("listen"), apply_listen},
    {NAMES("client_advertise"), apply_client_advertise},
    {NAMES("port"), apply_port},
    {NAMES("server_name"), apply_server_name},
    {NAMES("host", "net"), apply_host},
    {NAMES("debug"), apply_debug},
    {NAMES("trace"), apply_trace},
    {NAMES("trace_verbose"), apply_trace_verbose},
    {NAMES("logtime"), apply_logtime},
    {NAMES("authorization"), apply_authorization},
    {NAMES("http"), apply_http},
    {NAMES("https"), apply_https},
    {NAMES("https_port"), apply_https_port},
    {NAMES("http_port", "monitor_port"), apply_http_port},
    {NAMES("http_base_path"), apply_http_base_path},
    {NAMES("logfile", "log_file"), apply_log_file},
    {NAMES("logfile_size_limit", "log_size_limit"), apply_log_size_limit},
    {NAMES("syslog"), apply_syslog},
    {NAMES("remote_syslog"), apply_remote_syslog},
    {NAMES("pidfile", "pid_file"), apply_pid_file},
    {NAMES("ports_file_dir"), apply_ports_file_dir},
    {NAMES("max_control_line"), apply_max_control_line},
    {NAMES("max_payload"), apply_max_payload},
    {NAMES("max_pending"), apply_max_pending},
    {NAMES("max_connections", "max_conn"), apply_max_connections},
    {NAMES("max_traced_msg_len"), apply_max_traced_msg_len},
    {NAMES("max_subscriptions", "max_subs"), apply_max_subscriptions},
    {NAMES("max_sub_tokens", "max_subscription_tokens"), apply_max_sub_tokens},
    {NAMES("ping_interval"), apply_ping_interval},
    {NAMES("ping_max"), apply_ping_max},
    {NAMES("write_deadline"), apply_write_deadline},
    {NAMES("lame_duck_duration"), apply_lame_duck_duration},
    {NAMES("lame_duck_grace_period"), apply_lame_duck_grace},
    {NAMES("no_auth_user"), apply_no_auth_user},
    {NAMES("no_header_support"), apply_no_header_support},
    {NAMES("connect_error_reports"), apply_connect_error_reports},
    {NAMES("reconnect_error_reports"), apply_reconnect_error_reports},
    {NAMES("disable_sublist_cache", "no_sublist_cache"), apply_bool_noop},
    {NAMES("no_system_account", "no_system", "no_sys_acc"), apply_bool_noop},
    {NAMES("workers"), apply_workers},
    {NAMES("spin"), apply_spin},
    /* Later issues: peer links, TLS, accounts, JetStream and the rest. */
    {NAMES("cluster"), apply_cluster},
    {NAMES("tls"), apply_tls},
    {NAMES("allow_non_tls"), apply_allow_non_tls},
    {NAMES("gateway", "leaf", "leafnodes", "accounts", "websocket", "ws", "mqtt", "jetstream",
	   "store_dir", "storedir", "mappings", "maps", "operator", "operators", "roots", "root",
	   "root_operators", "root_operator", "resolver", "account_resolver", "accounts_resolver",
	   "resolver_tls", "resolver_preload", "resolver_pinned_accounts", "trusted",
	   "trusted_keys", "system_account", "system", "ocsp", "server_tags", "default_js_domain",
	   "prof_port"),
     apply_unsupported},
};

static const directive_t *find_directive(const char *key)
{
	for (size_t i = 0; i < sizeof(directives) / sizeof(directives[0]); i++)
		if (is_key(key, directives[i].names))
			return &directives[i];
	return NULL;
}

int nd_config_apply(nd_opts_t *o, const nd_conf_value_t *root, nd_config_report_t *r)
{
	cfg_t c = {o, r};
	size_t before = r->nerrors;
	for (size_t i = 0; i < root->u.map.n; i++) {
		const nd_conf_entry_t *e = &root->u.map.entries[i];
		const directive_t *d = find_directive(e->key);
		if (d != NULL)
			d->apply(&c, e);
		else if (!e->value->used_as_variable)
			unknown_field(&c, e->key, e->value);
	}
	return r->nerrors > before ? -1 : 0;
}

/* The reference prints the end of input of some parse errors as a raw NUL byte; we write it
 * as the two characters \0 so that the message stays one C string (known difference). */
static char *printable_error(const char *err, size_t len)
{
	char *out = malloc(2 * len + 1), *p = out;
	if (out == NULL)
		abort();
	for (size_t i = 0; i < len; i++) {
		if (err[i] == '\0') {
			*p++ = '\\';
			*p++ = '0';
		} else {
			*p++ = err[i];
		}
	}
	*p = '\0';
	return out;
}

int nd_config_load_file(nd_opts_t *o, const char *path, nd_config_report_t *r)
{
	char *err = NULL;
	size_t errlen = 0;
	nd_conf_value_t *root = nd_conf_parse_file_n(path, NULL, &err, &errlen);
	if (root == NULL) {
		r->parse_error = printable_error(err, errlen);
		free(err);
		return -1;
	}
	free(o->config_file);
	o->config_file = xstrdup(path);
	int rc = nd_config_apply(o, root, r);
	nd_conf_free(root);
	return rc;
}

int nd_config_set(nd_opts_t *o, const char *key, const nd_conf_value_t *value,
		  nd_config_report_t *r)
{
	cfg_t c = {o, r};
	size_t before = r->nerrors;
	char **single = NULL;
	if (strcmp(key, "authorization.user") == 0)
		single = &o->username;
	else if (strcmp(key, "authorization.password") == 0)
		single = &o->password;
	else if (strcmp(key, "authorization.token") == 0)
		single = &o->token;
	if (single != NULL) {
		if (want(&c, value, ND_CONF_STRING))
			set_str(single, value);
		return r->nerrors > before ? -1 : 0;
	}
	if (strcmp(key, "tls") == 0 || strncmp(key, "tls.", 4) == 0) {
		if (!set_tls_flag(&c, key, value)) {
			ERR(&c, NULL, "unknown option %s", key);
			return -1;
		}
		return r->nerrors > before ? -1 : 0;
	}
	if (strncmp(key, "cluster.", 8) == 0) {
		if (!set_cluster_key(&c, key + 8, value)) {
			ERR(&c, NULL, "unknown option %s", key);
			return -1;
		}
		return r->nerrors > before ? -1 : 0;
	}
	nd_conf_entry_t e = {.key = (char *)(uintptr_t)key,
			     .value = (nd_conf_value_t *)(uintptr_t)value};
	const char *dot = strchr(key, '.');
	char top[64];
	snprintf(top, sizeof(top), "%.*s", (int)(dot ? (size_t)(dot - key) : strlen(key)), key);
	const directive_t *d = find_directive(top);
	if (d == NULL || (dot != NULL && d->apply != apply_unsupported)) {
		ERR(&c, NULL, "unknown option %s", key);
		return -1;
	}
	if (d->apply == apply_unsupported) {
		e.key = top;
		ERR(&c, NULL, "%s is not supported by natsd yet", top);
		return -1;
	}
	d->apply(&c, &e);
	return r->nerrors > before ? -1 : 0;
}

void nd_config_baseline(nd_opts_t *o)
{
	nd_opts_t d;
	nd_opts_default(&d);
	if (o->host == NULL || o->host[0] == '\0') {
		free(o->host);
		o->host = xstrdup(d.host);
	}
	if (o->port == 0)
		o->port = d.port;
	if (o->max_connections == 0)
		o->max_connections = d.max_connections;
	if (o->ping_interval_ms == 0)
		o->ping_interval_ms = d.ping_interval_ms;
	if (o->ping_max == 0)
		o->ping_max = d.ping_max;
	if (o->max_control_line == 0)
		o->max_control_line = d.max_control_line;
	if (o->max_payload == 0)
		o->max_payload = d.max_payload;
	if (o->max_pending == 0)
		o->max_pending = d.max_pending;
	if (o->write_deadline_ms == 0)
		o->write_deadline_ms = d.write_deadline_ms;
	if (o->lame_duck_duration_ms == 0)
		o->lame_duck_duration_ms = d.lame_duck_duration_ms;
	if (o->lame_duck_grace_ms == 0)
		o->lame_duck_grace_ms = d.lame_duck_grace_ms;
	if (o->connect_error_reports == 0)
		o->connect_error_reports = d.connect_error_reports;
	if (o->reconnect_error_reports == 0)
		o->reconnect_error_reports = d.reconnect_error_reports;
	nd_opts_deinit(&d);
}
