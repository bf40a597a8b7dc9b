/* Options: defaults, copies, the start-up checks and shared snapshots. */
#include "actors/opts.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/tls_files.h"
#include "protocol/gotime.h"
#include "protocol/hostport.h"

#define DEFAULT_MAX_PAYLOAD (1024 * 1024)
#define DEFAULT_MAX_PENDING (64 * 1024 * 1024)
#define DEFAULT_MAX_CONTROL_LINE 4096
#define DEFAULT_MAX_CONNECTIONS (64 * 1024)
#define DEFAULT_PING_INTERVAL_MS (2 * 60 * 1000)
#define DEFAULT_PING_MAX 2
#define DEFAULT_WRITE_DEADLINE_MS (10 * 1000)
#define DEFAULT_AUTH_TIMEOUT_MS 2000
#define DEFAULT_LAME_DUCK_DURATION_MS (2 * 60 * 1000)
#define DEFAULT_LAME_DUCK_GRACE_MS (10 * 1000)

static char *xstrdup(const char *s)
{
	if (s == NULL)
		return NULL;
	char *d = strdup(s);
	if (d == NULL)
		abort();
	return d;
}

void nd_opts_default(nd_opts_t *o)
{
	memset(o, 0, sizeof(*o));
	o->host = xstrdup("0.0.0.0");
	o->port = 4222;
	o->max_payload = DEFAULT_MAX_PAYLOAD;
	o->max_pending = DEFAULT_MAX_PENDING;
	o->max_control_line = DEFAULT_MAX_CONTROL_LINE;
	o->max_connections = DEFAULT_MAX_CONNECTIONS;
	o->ping_interval_ms = DEFAULT_PING_INTERVAL_MS;
	o->ping_max = DEFAULT_PING_MAX;
	o->write_deadline_ms = DEFAULT_WRITE_DEADLINE_MS;
	o->logtime = true;
	o->lame_duck_duration_ms = DEFAULT_LAME_DUCK_DURATION_MS;
	o->lame_duck_grace_ms = DEFAULT_LAME_DUCK_GRACE_MS;
	o->connect_error_reports = 3600;
	o->reconnect_error_reports = 1;
	o->spin_us = 20;
}

/* Every owned string of nd_opts_t, for copy and deinit. */
#define FOR_EACH_STRING(o, X)                                                                      \
	X((o)->host)                                                                               \
	X((o)->server_name)                                                                        \
	X((o)->client_advertise)                                                                   \
	X((o)->username)                                                                           \
	X((o)->password)                                                                           \
	X((o)->token)                                                                              \
	X((o)->no_auth_user)                                                                       \
	X((o)->remote_syslog)                                                                      \
	X((o)->log_file)                                                                           \
	X((o)->pid_file)                                                                           \
	X((o)->ports_file_dir)                                                                     \
	X((o)->http_host)                                                                          \
	X((o)->http_base_path)                                                                     \
	X((o)->config_file)                                                                        \
	X((o)->cluster.name)                                                                       \
	X((o)->cluster.host)                                                                       \
	X((o)->cluster.username)                                                                   \
	X((o)->cluster.password)                                                                   \
	X((o)->cluster.advertise)                                                                  \
	X((o)->tls_flags.cert_file)                                                                \
	X((o)->tls_flags.key_file)                                                                 \
	X((o)->tls_flags.ca_file)

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static char **dup_strv(char *const *v, size_t n)
{
	if (n == 0)
		return NULL;
	char **d = malloc(n * sizeof(char *));
	if (d == NULL)
		abort();
	for (size_t i = 0; i < n; i++)
		d[i] = xstrdup(v[i]);
	return d;
}

void nd_tls_opts_deinit(nd_tls_opts_t *t)
{
	free(t->cert_file);
	free(t->key_file);
	free(t->ca_file);
	free_strv(t->ciphers, t->nciphers);
	free_strv(t->curves, t->ncurves);
	free_strv(t->pinned_certs, t->npinned);
	memset(t, 0, sizeof(*t));
}

void nd_tls_opts_copy(nd_tls_opts_t *dst, const nd_tls_opts_t *src)
{
	*dst = *src;
	dst->cert_file = xstrdup(src->cert_file);
	dst->key_file = xstrdup(src->key_file);
	dst->ca_file = xstrdup(src->ca_file);
	dst->ciphers = dup_strv(src->ciphers, src->nciphers);
	dst->curves = dup_strv(src->curves, src->ncurves);
	dst->pinned_certs = dup_strv(src->pinned_certs, src->npinned);
}

void nd_opts_deinit(nd_opts_t *o)
{
#define FREE_IT(f)                                                                                 \
	free(f);                                                                                   \
	f = NULL;
	FOR_EACH_STRING(o, FREE_IT)
#undef FREE_IT
	nd_users_unref(o->users);
	o->users = NULL;
	nd_perms_unref(o->cluster.perms);
	o->cluster.perms = NULL;
	for (size_t i = 0; i < o->cluster.nroutes; i++)
		free(o->cluster.routes[i]);
	free(o->cluster.routes);
	o->cluster.routes = NULL;
	o->cluster.nroutes = 0;
	nd_tls_opts_deinit(&o->tls);
	nd_tls_opts_deinit(&o->cluster.tls);
}

void nd_opts_copy(nd_opts_t *dst, const nd_opts_t *src)
{
	*dst = *src;
#define DUP_IT(f) f = xstrdup(f);
	FOR_EACH_STRING(dst, DUP_IT)
#undef DUP_IT
	dst->users = nd_users_ref(src->users);
	dst->cluster.perms = src->cluster.perms != NULL ? nd_perms_ref(src->cluster.perms) : NULL;
	dst->cluster.routes = NULL;
	if (src->cluster.nroutes > 0) {
		dst->cluster.routes = malloc(src->cluster.nroutes * sizeof(char *));
		if (dst->cluster.routes == NULL)
			abort();
		for (size_t i = 0; i < src->cluster.nroutes; i++)
			dst->cluster.routes[i] = xstrdup(src->cluster.routes[i]);
	}
	nd_tls_opts_copy(&dst->tls, &src->tls);
	nd_tls_opts_copy(&dst->cluster.tls, &src->cluster.tls);
}

bool nd_tls_flags_override(const nd_tls_flags_t *f)
{
	return (f->tls_given && f->tls_value) || (!f->tls_given && f->other_given);
}

void nd_opts_apply_tls_flags(nd_opts_t *o)
{
	const nd_tls_flags_t *f = &o->tls_flags;
	if (f->tls_given && !f->tls_value) {
		nd_tls_opts_deinit(&o->tls); /* --tls=false wins over every other --tls* flag */
		return;
	}
	if (!nd_tls_flags_override(f))
		return;
	nd_tls_opts_t *t = &o->tls;
	free(t->cert_file);
	free(t->key_file);
	free(t->ca_file);
	t->cert_file = xstrdup(f->cert_file);
	t->key_file = xstrdup(f->key_file);
	t->ca_file = xstrdup(f->ca_file);
	t->verify = f->verify;
	t->insecure = false;
	free_strv(t->ciphers, t->nciphers);
	free_strv(t->curves, t->ncurves);
	t->ciphers = t->curves = NULL;
	t->nciphers = t->ncurves = 0;
	t->set = true;
}

bool nd_cluster_opts_configured(const nd_cluster_opts_t *o)
{
	return o->port != 0 || o->nroutes > 0 || (o->name != NULL && o->name[0] != '\0');
}

nd_auth_conf_t nd_opts_auth(const nd_opts_t *o)
{
	return (nd_auth_conf_t){.username = o->username,
				.password = o->password,
				.token = o->token,
				.users = o->users,
				.no_auth_user = o->no_auth_user};
}

uint64_t nd_opts_tls_timeout_ms(const nd_opts_t *o)
{
	return o->tls.timeout_s > 0 ? (uint64_t)(o->tls.timeout_s * 1000.0 + 0.5) : 2000;
}

uint64_t nd_opts_auth_timeout_ms(const nd_opts_t *o)
{
	/* The reference's getDefaultAuthTimeout: with TLS, one second past the handshake's. */
	if (o->auth_timeout_s == 0)
		return o->tls.set ? nd_opts_tls_timeout_ms(o) + 1000 : DEFAULT_AUTH_TIMEOUT_MS;
	if (o->auth_timeout_s < 0)
		return 0; /* the reference's timer fires at once */
	return (uint64_t)(o->auth_timeout_s * 1000.0 + 0.5);
}

int nd_opts_validate(const nd_opts_t *o, char *err, size_t errlen)
{
	char a[32], b[32];
	if (nd_tls_flags_override(&o->tls_flags)) {
		/* The reference's overrideTLS (ConfigureOptions): no position, no prefix. */
		if (o->tls.cert_file == NULL || o->tls.cert_file[0] == '\0') {
			snprintf(err, errlen, "TLS Server certificate must be present and valid");
			return -1;
		}
		if (o->tls.key_file == NULL || o->tls.key_file[0] == '\0') {
			snprintf(err, errlen, "TLS Server private key must be present and valid");
			return -1;
		}
		if (nd_tls_check_files(&o->tls, err, errlen) != 0)
			return -1;
	}
	if (o->lame_duck_duration_ms > 0 && o->lame_duck_grace_ms >= o->lame_duck_duration_ms) {
		nd_go_format_duration((int64_t)o->lame_duck_grace_ms * 1000000, a, sizeof(a));
		nd_go_format_duration((int64_t)o->lame_duck_duration_ms * 1000000, b, sizeof(b));
		snprintf(err, errlen,
			 "lame duck grace period (%s) should be strictly lower than lame duck "
			 "duration (%s)",
			 a, b);
		return -1;
	}
	if (o->max_payload > o->max_pending) {
		snprintf(err, errlen, "max_payload (%lld) cannot be higher than max_pending (%lld)",
			 (long long)o->max_payload, (long long)o->max_pending);
		return -1;
	}
	if (o->no_auth_user != NULL && o->no_auth_user[0] != '\0') {
		if (nd_users_count(o->users) == 0) {
			snprintf(err, errlen,
				 "no_auth_user: \"%s\" present, but users are not defined",
				 o->no_auth_user);
			return -1;
		}
		if (nd_users_find(o->users, o->no_auth_user) == NULL) {
			snprintf(
			    err, errlen,
			    "no_auth_user: \"%s\" not present as user in authorization block or "
			    "account configuration",
			    o->no_auth_user);
			return -1;
		}
	}
	return 0;
}

int nd_opts_parse_host_port(const char *hp, int default_port, char **host, int *port, char *err,
			    size_t errlen)
{
	char *h, *p;
	nd_hostport_err_t e = nd_hostport_split(hp, &h, &p);
	if (e == ND_HOSTPORT_MISSING_PORT) {
		/* Go's parseHostPort tries again with the default port appended. */
		size_t n = strlen(hp) + 16;
		char *with = malloc(n);
		if (with == NULL)
			abort();
		snprintf(with, n, "%s:%d", hp, default_port);
		e = nd_hostport_split(with, &h, &p);
		if (e != ND_HOSTPORT_OK)
			nd_hostport_error_text(e, with, err, errlen);
		free(with);
	} else if (e != ND_HOSTPORT_OK) {
		nd_hostport_error_text(e, hp, err, errlen);
	}
	if (e != ND_HOSTPORT_OK)
		return -1;
	char *end;
	long v = strtol(p, &end, 10);
	if (*p == '\0' || *end != '\0') {
		snprintf(err, errlen, "strconv.Atoi: parsing \"%s\": invalid syntax", p);
		free(h);
		free(p);
		return -1;
	}
	free(p);
	*host = h;
	*port = (v == 0 || v == -1) ? default_port : (int)v;
	return 0;
}

struct nd_opts_snap {
	atomic_int refs;
	nd_opts_t o;
};

nd_opts_snap_t *nd_opts_snap_create(nd_opts_t *o)
{
	nd_opts_snap_t *s = calloc(1, sizeof(*s));
	if (s == NULL)
		abort();
	atomic_init(&s->refs, 1);
	s->o = *o;
	memset(o, 0, sizeof(*o));
	return s;
}

nd_opts_snap_t *nd_opts_snap_ref(nd_opts_snap_t *s)
{
	/* relaxed: the caller holds a reference already. */
	atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
	return s;
}

void nd_opts_snap_unref(nd_opts_snap_t *s)
{
	/* acq_rel: the last owner frees after every other owner's reads. */
	if (s == NULL || atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
		return;
	nd_opts_deinit(&s->o);
	free(s);
}

const nd_opts_t *nd_opts_snap_get(const nd_opts_snap_t *s)
{
	return &s->o;
}
