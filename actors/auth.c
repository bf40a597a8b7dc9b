/* Client authentication (server/auth.go). Lookups go through small open-addressing tables built
 * once; the user list never changes after it is built (a reload builds a new one). */
#include "actors/auth.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "protocol/goquote.h"
#include "protocol/nkey.h"
#include "protocol/password.h"

struct nd_users {
	atomic_int refs;
	nd_user_t *users, *nkeys;
	size_t nu, nk;
	/* index + 1 into users / nkeys; 0 empty. Sized to a power of two >= 2 * count. */
	uint32_t *by_name, *by_nkey;
	size_t name_cap, nkey_cap;
};

static const struct {
	const char *name;
	unsigned bit;
} conn_types[] = {
    {"STANDARD", ND_CONN_STANDARD}, {"WEBSOCKET", ND_CONN_WEBSOCKET},
    {"LEAFNODE", ND_CONN_LEAFNODE}, {"LEAFNODE_WS", ND_CONN_LEAFNODE_WS},
    {"MQTT", ND_CONN_MQTT},         {"MQTT_WS", ND_CONN_MQTT_WS},
};

unsigned nd_conn_type_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(conn_types) / sizeof(conn_types[0]); i++)
		if (strcasecmp(name, conn_types[i].name) == 0)
			return conn_types[i].bit;
	return 0;
}

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static uint32_t *index_build(const nd_user_t *v, size_t n, bool by_nkey, size_t *cap_out)
{
	size_t cap = 4;
	while (cap < 2 * n)
		cap *= 2;
	uint32_t *t = calloc(cap, sizeof(*t));
	if (t == NULL)
		abort();
	for (size_t i = 0; i < n; i++) {
		const char *key = by_nkey ? v[i].nkey : v[i].name;
		if (key == NULL)
			continue;
		size_t j = hash_str(key) & (cap - 1);
		while (t[j] != 0) {
			/* A later duplicate wins, as in the reference's map. */
			const nd_user_t *o = &v[t[j] - 1];
			if (strcmp(by_nkey ? o->nkey : o->name, key) == 0)
				break;
			j = (j + 1) & (cap - 1);
		}
		t[j] = (uint32_t)i + 1;
	}
	*cap_out = cap;
	return t;
}

static const nd_user_t *index_find(const uint32_t *t, size_t cap, const nd_user_t *v, bool by_nkey,
				   const char *key)
{
	if (key == NULL || cap == 0)
		return NULL;
	for (size_t j = hash_str(key) & (cap - 1); t[j] != 0; j = (j + 1) & (cap - 1)) {
		const nd_user_t *u = &v[t[j] - 1];
		if (strcmp(by_nkey ? u->nkey : u->name, key) == 0)
			return u;
	}
	return NULL;
}

static nd_user_t *copy_entries(const nd_user_t *src, size_t n)
{
	nd_user_t *d = calloc(n ? n : 1, sizeof(*d));
	if (d == NULL)
		abort();
	if (n > 0)
		memcpy(d, src, n * sizeof(*d));
	return d;
}

nd_users_t *nd_users_create(nd_user_t *users, size_t nu, nd_user_t *nkeys, size_t nk)
{
	nd_users_t *u = calloc(1, sizeof(*u));
	if (u == NULL)
		abort();
	atomic_init(&u->refs, 1);
	u->users = copy_entries(users, nu);
	u->nkeys = copy_entries(nkeys, nk);
	u->nu = nu;
	u->nk = nk;
	u->by_name = index_build(u->users, nu, false, &u->name_cap);
	u->by_nkey = index_build(u->nkeys, nk, true, &u->nkey_cap);
	return u;
}

nd_users_t *nd_users_ref(nd_users_t *u)
{
	if (u != NULL) /* relaxed: the caller already holds a reference */
		atomic_fetch_add_explicit(&u->refs, 1, memory_order_relaxed);
	return u;
}

static void free_entries(nd_user_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].password);
		free(v[i].nkey);
		nd_perms_unref(v[i].perms);
	}
	free(v);
}

void nd_users_unref(nd_users_t *u)
{
	/* acq_rel: the last owner frees after every other owner is done with it. */
	if (u == NULL || atomic_fetch_sub_explicit(&u->refs, 1, memory_order_acq_rel) != 1)
		return;
	free_entries(u->users, u->nu);
	free_entries(u->nkeys, u->nk);
	free(u->by_name);
	free(u->by_nkey);
	free(u);
}

size_t nd_users_count(const nd_users_t *u)
{
	return u ? u->nu : 0;
}

size_t nd_users_nkey_count(const nd_users_t *u)
{
	return u ? u->nk : 0;
}

const nd_user_t *nd_users_at(const nd_users_t *u, size_t i)
{
	return &u->users[i];
}

const nd_user_t *nd_users_nkey_at(const nd_users_t *u, size_t i)
{
	return &u->nkeys[i];
}

const nd_user_t *nd_users_find(const nd_users_t *u, const char *name)
{
	return u ? index_find(u->by_name, u->name_cap, u->users, false, name) : NULL;
}

const nd_user_t *nd_users_find_nkey(const nd_users_t *u, const char *nkey)
{
	return u ? index_find(u->by_nkey, u->nkey_cap, u->nkeys, true, nkey) : NULL;
}

static bool str_eq(const char *a, const char *b)
{
	return (a == NULL || b == NULL) ? a == b : strcmp(a, b) == 0;
}

static bool entry_eq(const nd_user_t *a, const nd_user_t *b)
{
	return str_eq(a->name, b->name) && str_eq(a->password, b->password) &&
	       str_eq(a->nkey, b->nkey) && a->conn_types == b->conn_types &&
	       nd_perms_equal(a->perms, b->perms);
}

bool nd_users_equal(const nd_users_t *a, const nd_users_t *b)
{
	if (a == b)
		return true;
	if (nd_users_count(a) != nd_users_count(b) ||
	    nd_users_nkey_count(a) != nd_users_nkey_count(b))
		return false;
	/* By name: the reference sorts both lists before comparing. */
	for (size_t i = 0; i < a->nu; i++) {
		const nd_user_t *o = nd_users_find(b, a->users[i].name);
		if (o == NULL || !entry_eq(&a->users[i], o))
			return false;
	}
	for (size_t i = 0; i < a->nk; i++) {
		const nd_user_t *o = nd_users_find_nkey(b, a->nkeys[i].nkey);
		if (o == NULL || !entry_eq(&a->nkeys[i], o))
			return false;
	}
	return true;
}

static bool nonempty(const char *s)
{
	return s != NULL && s[0] != '\0';
}

bool nd_auth_required(const nd_auth_conf_t *a)
{
	return nd_users_count(a->users) > 0 || nd_users_nkey_count(a->users) > 0 ||
	       nonempty(a->username) || nonempty(a->token);
}

bool nd_auth_has_nkeys(const nd_auth_conf_t *a)
{
	return nd_users_nkey_count(a->users) > 0;
}

static bool type_allowed(const nd_user_t *u)
{
	return u->conn_types == 0 || (u->conn_types & ND_CONN_STANDARD) != 0;
}

static const char *or_empty(const char *s)
{
	return s ? s : "";
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s ? s : "");
	if (d == NULL)
		abort();
	return d;
}

bool nd_auth_check(const nd_auth_conf_t *a, nd_connect_opts_t *co, const char *nonce,
		   const nd_user_t **user)
{
	*user = NULL;
	if (!nd_auth_required(a))
		return true;
	const nd_user_t *u = NULL, *nk = NULL;
	bool has_nkeys = nd_users_nkey_count(a->users) > 0;
	bool has_users = nd_users_count(a->users) > 0;
	if (has_nkeys && nonempty(co->nkey)) {
		nk = nd_users_find_nkey(a->users, co->nkey);
		if (nk == NULL || !type_allowed(nk))
			return false;
	} else if (has_users) {
		if (nonempty(a->no_auth_user) && !nonempty(co->user) && !nonempty(co->pass) &&
		    !nonempty(co->auth_token)) {
			const nd_user_t *d = nd_users_find(a->users, a->no_auth_user);
			if (d != NULL) {
				free(co->user);
				free(co->pass);
				co->user = xstrdup(d->name);
				co->pass = xstrdup(d->password);
			}
		}
		if (nonempty(co->user)) {
			u = nd_users_find(a->users, co->user);
			if (u == NULL || !type_allowed(u))
				return false;
		}
	}
	if (nk != NULL) {
		if (!nonempty(co->sig) || nonce == NULL)
			return false;
		if (nd_nkey_verify(co->nkey, co->sig, strlen(co->sig), nonce, strlen(nonce)) != 0)
			return false;
		*user = nk;
		return true;
	}
	if (u != NULL) {
		if (!nd_password_matches(or_empty(u->password), or_empty(co->pass)))
			return false;
		*user = u;
		return true;
	}
	if (nonempty(a->token))
		return nd_password_matches(a->token, or_empty(co->auth_token));
	if (nonempty(a->username)) {
		if (strcmp(a->username, or_empty(co->user)) != 0)
			return false;
		return nd_password_matches(or_empty(a->password), or_empty(co->pass));
	}
	return false;
}

void nd_auth_failure_text(const nd_auth_conf_t *a, const nd_connect_opts_t *co, char *buf,
			  size_t len)
{
	char q[300];
	if (nd_users_nkey_count(a->users) > 0) {
		nd_go_quote(or_empty(co->nkey), strlen(or_empty(co->nkey)), q, sizeof(q));
		snprintf(buf, len, "authentication error - Nkey %s", q);
	} else if (nd_users_count(a->users) > 0) {
		nd_go_quote(or_empty(co->user), strlen(or_empty(co->user)), q, sizeof(q));
		snprintf(buf, len, "authentication error - User %s", q);
	} else {
		snprintf(buf, len, "authentication error");
	}
}

void nd_auth_user_text(const nd_connect_opts_t *co, char *buf, size_t len)
{
	char q[300];
	if (nonempty(co->nkey)) {
		nd_go_quote(co->nkey, strlen(co->nkey), q, sizeof(q));
		snprintf(buf, len, "Nkey %s", q);
	} else if (nonempty(co->user)) {
		nd_go_quote(co->user, strlen(co->user), q, sizeof(q));
		snprintf(buf, len, "User %s", q);
	} else {
		snprintf(buf, len, "User \"N/A\"");
	}
}

bool nd_auth_has_plain_passwords(const nd_auth_conf_t *a)
{
	if (nonempty(a->password) && !nd_password_is_bcrypt(a->password))
		return true;
	for (size_t i = 0; i < nd_users_count(a->users); i++)
		if (!nd_password_is_bcrypt(
			or_empty(a->users ? nd_users_at(a->users, i)->password : NULL)))
			return true;
	return false;
}
