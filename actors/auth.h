/* Client authentication as the reference server does it (server/auth.go,
 * processClientOrLeafAuthentication): a token, a single user and password, a list of users
 * (plain or bcrypt passwords) or NKey users (Ed25519 signature of the INFO nonce), with
 * no_auth_user for clients that present nothing. The user list is immutable once built and
 * shared (reference-counted) by the option snapshots that name it. */
#ifndef ND_ACTORS_AUTH_H
#define ND_ACTORS_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "actors/perms.h"
#include "protocol/connect.h"

/* allowed_connection_types, as a bit set (0: every type). */
enum {
	ND_CONN_STANDARD = 1u << 0,
	ND_CONN_WEBSOCKET = 1u << 1,
	ND_CONN_LEAFNODE = 1u << 2,
	ND_CONN_LEAFNODE_WS = 1u << 3,
	ND_CONN_MQTT = 1u << 4,
	ND_CONN_MQTT_WS = 1u << 5,
};

/* Parses one connection type name (case-insensitive). Returns its bit or 0 if unknown. */
unsigned nd_conn_type_parse(const char *name);

typedef struct nd_user {
	char *name;          /* users list: the user name; NULL for an NKey user */
	char *password;      /* plain or bcrypt; NULL: none */
	char *nkey;          /* NKey users: the public key */
	nd_perms_t *perms;   /* NULL: no restrictions */
	unsigned conn_types; /* 0: all */
} nd_user_t;

typedef struct nd_users nd_users_t;

/* A user list from users[0..nu) and NKey users nkeys[0..nk); takes ownership of the strings
 * and permission references inside the entries (the arrays themselves stay the caller's). Has
 * one reference. */
nd_users_t *nd_users_create(nd_user_t *users, size_t nu, nd_user_t *nkeys, size_t nk);
nd_users_t *nd_users_ref(nd_users_t *u);
void nd_users_unref(nd_users_t *u);

size_t nd_users_count(const nd_users_t *u);
size_t nd_users_nkey_count(const nd_users_t *u);
const nd_user_t *nd_users_at(const nd_users_t *u, size_t i);
const nd_user_t *nd_users_nkey_at(const nd_users_t *u, size_t i);
const nd_user_t *nd_users_find(const nd_users_t *u, const char *name);
const nd_user_t *nd_users_find_nkey(const nd_users_t *u, const char *nkey);

/* Same users, passwords, keys, permissions and connection types? (Reload reports changes.) */
bool nd_users_equal(const nd_users_t *a, const nd_users_t *b);

/* What a server authenticates against (a view into its option snapshot). */
typedef struct nd_auth_conf {
	const char *username, *password; /* single user (also --user/--pass) */
	const char *token;               /* also --auth */
	const nd_users_t *users;         /* NULL: no users or NKey users */
	const char *no_auth_user;
} nd_auth_conf_t;

/* Does the configuration require clients to authenticate? */
bool nd_auth_required(const nd_auth_conf_t *a);

/* Does it have NKey users (INFO then carries a nonce)? */
bool nd_auth_has_nkeys(const nd_auth_conf_t *a);

/* Authenticates a standard client connection from its CONNECT options and the nonce it was
 * sent (NULL if none). With no_auth_user and no credentials, the options are filled in with
 * that user's name and password, as the reference does. On success *user is the matched user
 * entry (NULL for token, single-user or no-auth servers). May run a bcrypt comparison (tens of
 * milliseconds). Any thread. */
bool nd_auth_check(const nd_auth_conf_t *a, nd_connect_opts_t *co, const char *nonce,
		   const nd_user_t **user);

/* The reference's log wording for the failure: "authentication error", then " - Nkey \"...\""
 * when NKey users exist or " - User \"...\"" when users exist. Writes into buf. */
void nd_auth_failure_text(const nd_auth_conf_t *a, const nd_connect_opts_t *co, char *buf,
			  size_t len);

/* The reference's getAuthUser: `Nkey "..."`, `User "..."` or `User "N/A"`. */
void nd_auth_user_text(const nd_connect_opts_t *co, char *buf, size_t len);

/* Plain-text passwords in the configuration (the reference warns about them at start). */
bool nd_auth_has_plain_passwords(const nd_auth_conf_t *a);

#endif
