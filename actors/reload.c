/* Reload planning. The reference walks its Options struct field by field; natsd lists the same
 * fields in the same order, each with how it compares, whether it may change at runtime and
 * what is logged when it does. */
#define _GNU_SOURCE
#include "actors/reload.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/gotime.h"

static bool str_eq(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

/* The reference compares its ClusterOpts with reflect.DeepEqual (routes are a field of their
 * own). */
static bool cluster_equal(const nd_cluster_opts_t *a, const nd_cluster_opts_t *b)
{
	return str_eq(a->name, b->name) && str_eq(a->host, b->host) && a->port == b->port &&
	       str_eq(a->username, b->username) && str_eq(a->password, b->password) &&
	       a->auth_timeout_s == b->auth_timeout_s && nd_perms_equal(a->perms, b->perms) &&
	       str_eq(a->advertise, b->advertise) && a->no_advertise == b->no_advertise &&
	       a->connect_retries == b->connect_retries;
}

static bool routes_equal(const nd_cluster_opts_t *a, const nd_cluster_opts_t *b)
{
	if (a->nroutes != b->nroutes)
		return false;
	for (size_t i = 0; i < a->nroutes; i++)
		if (strcmp(a->routes[i], b->routes[i]) != 0)
			return false;
	return true;
}

static void notice(nd_reload_plan_t *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void notice(nd_reload_plan_t *p, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	char **nv = realloc(p->notices, (p->n + 1) * sizeof(char *));
	if (nv == NULL)
		abort();
	nv[p->n++] = s;
	p->notices = nv;
}

static int refuse(char **err, const char *field, const char *oldv, const char *newv)
{
	if (asprintf(err, "config reload not supported for %s: old=%s, new=%s", field, oldv, newv) <
	    0)
		abort();
	return -1;
}

static const char *b2s(bool b)
{
	return b ? "true" : "false";
}

static void dur(uint64_t ms, char *buf)
{
	nd_go_format_duration((int64_t)ms * 1000000, buf, 32);
}

#define INT_FIXED(field, goname)                                                                   \
	if (old->field != n->field) {                                                              \
		char was_[32], now_[32];                                                           \
		snprintf(was_, sizeof(was_), "%lld", (long long)old->field);                       \
		snprintf(now_, sizeof(now_), "%lld", (long long)n->field);                         \
		return refuse(err, goname, was_, now_);                                            \
	}

#define STR_FIXED(field, goname)                                                                   \
	if (!str_eq(old->field, n->field))                                                         \
		return refuse(err, goname, old->field ? old->field : "", n->field ? n->field : "");

#define BOOL_FIXED(field, goname)                                                                  \
	if (old->field != n->field)                                                                \
		return refuse(err, goname, b2s(old->field), b2s(n->field));

int nd_reload_plan(const nd_opts_t *old, const nd_opts_t *n, nd_reload_plan_t *p, char **err)
{
	memset(p, 0, sizeof(*p));
	*err = NULL;
	char a[32], b[32];
	int rc = 0;

	/* The fields that cannot change while running, first: nothing is applied if one did. */
	STR_FIXED(server_name, "ServerName")
	STR_FIXED(host, "Host")
	INT_FIXED(port, "Port")
	BOOL_FIXED(no_header_support, "NoHeaderSupport")
	INT_FIXED(max_subscriptions, "MaxSubs")
	INT_FIXED(max_sub_tokens, "MaxSubTokens")
	if (!str_eq(old->no_auth_user, n->no_auth_user)) {
		/* Dropping no_auth_user is fine unless that user is still defined. */
		bool dropped_but_defined = old->no_auth_user != NULL && old->no_auth_user[0] &&
					   (n->no_auth_user == NULL || !n->no_auth_user[0]) &&
					   nd_users_find(n->users, old->no_auth_user) != NULL;
		bool dropped = old->no_auth_user != NULL && old->no_auth_user[0] &&
			       (n->no_auth_user == NULL || !n->no_auth_user[0]);
		if (!dropped || dropped_but_defined)
			return refuse(err, "NoAuthUser", old->no_auth_user ? old->no_auth_user : "",
				      n->no_auth_user ? n->no_auth_user : "");
	}
	STR_FIXED(http_host, "HTTPHost")
	INT_FIXED(http_port, "HTTPPort")
	STR_FIXED(http_base_path, "HTTPBasePath")
	INT_FIXED(https_port, "HTTPSPort")
	INT_FIXED(max_pending, "MaxPending")
	/* The cluster (the reference's validateClusterOpts): its listener cannot move, and a new
	 * advertise value must parse. */
	STR_FIXED(cluster.host, "cluster host")
	INT_FIXED(cluster.port, "cluster port")
	if (n->cluster.advertise != NULL && n->cluster.advertise[0] != '\0') {
		char *h, aerr[256];
		int port;
		if (nd_opts_parse_host_port(n->cluster.advertise, 0, &h, &port, aerr,
					    sizeof(aerr)) != 0) {
			if (asprintf(err, "invalid Cluster.Advertise value of %s, err=%s",
				     n->cluster.advertise, aerr) < 0)
				abort();
			return -1;
		}
		free(h);
	}
	/* natsd's own: a reload cannot start or stop a cluster or rename it yet (the reference
	 * can); refused rather than silently ignored. The routes it dials do reload. */
	if (nd_cluster_opts_configured(&old->cluster) != nd_cluster_opts_configured(&n->cluster) ||
	    !str_eq(old->cluster.name, n->cluster.name)) {
		*err = strdup("config reload of the cluster's name (or of a cluster on or off) is "
			      "not supported by natsd yet");
		if (*err == NULL)
			abort();
		return -1;
	}
	INT_FIXED(log_size_limit, "LogSizeLimit")
	if (old->lame_duck_duration_ms != n->lame_duck_duration_ms) {
		dur(old->lame_duck_duration_ms, a);
		dur(n->lame_duck_duration_ms, b);
		return refuse(err, "LameDuckDuration", a, b);
	}
	if (old->lame_duck_grace_ms != n->lame_duck_grace_ms) {
		dur(old->lame_duck_grace_ms, a);
		dur(n->lame_duck_grace_ms, b);
		return refuse(err, "LameDuckGracePeriod", a, b);
	}
	INT_FIXED(workers, "Workers")
	INT_FIXED(spin_us, "Spin")

	/* The reloadable ones, in the reference's field order. */
	if (!str_eq(old->client_advertise, n->client_advertise)) {
		notice(p, "Reload: client_advertise = %s",
		       n->client_advertise ? n->client_advertise : "");
		p->client_info = true;
	}
	if (old->trace != n->trace) {
		notice(p, "Reloaded: trace = %s", b2s(n->trace));
		p->logging = true;
	}
	if (old->debug != n->debug) {
		notice(p, "Reloaded: debug = %s", b2s(n->debug));
		p->logging = true;
	}
	if (old->trace_verbose != n->trace_verbose) {
		notice(p, "Reloaded: trace_verbose = %s", b2s(n->trace_verbose));
		p->logging = true;
	}
	if (old->logtime != n->logtime) {
		notice(p, "Reloaded: logtime = %s", b2s(n->logtime));
		p->logging = true;
	}
	if (old->max_connections != n->max_connections) {
		notice(p, "Reloaded: max_connections = %d", n->max_connections);
		p->max_connections = true;
	}
	size_t nk_old = nd_users_nkey_count(old->users), nk_new = nd_users_nkey_count(n->users);
	if ((nk_old > 0 || nk_new > 0) && !nd_users_equal(old->users, n->users))
		notice(p, "Reloaded: authorization nkey users");
	/* The reference always counts users (and accounts) as changed, so every reload checks
	 * every connection's authorization again. */
	notice(p, "Reloaded: authorization users");
	notice(p, "Reloaded: accounts");
	p->auth = true;
	if (!str_eq(old->username, n->username))
		notice(p, "Reloaded: authorization username");
	if (!str_eq(old->password, n->password))
		notice(p, "Reloaded: authorization password");
	if (!str_eq(old->token, n->token))
		notice(p, "Reloaded: authorization token");
	if (old->ping_interval_ms != n->ping_interval_ms) {
		dur(n->ping_interval_ms, a);
		notice(p, "Reloaded: ping_interval = %s", a);
	}
	if (old->ping_max != n->ping_max)
		notice(p, "Reloaded: ping_max = %d", n->ping_max);
	if (nd_opts_auth_timeout_ms(old) != nd_opts_auth_timeout_ms(n)) {
		nd_go_format_float((double)nd_opts_auth_timeout_ms(n) / 1000.0, a, sizeof(a));
		notice(p, "Reloaded: authorization timeout = %s", a);
	}
	if (old->max_control_line != n->max_control_line)
		notice(p, "Reloaded: max_control_line = %d", (int)n->max_control_line);
	if (old->max_payload != n->max_payload) {
		notice(p, "Reloaded: max_payload = %lld", (long long)n->max_payload);
		p->client_info = true;
	}
	if (!cluster_equal(&old->cluster, &n->cluster))
		notice(p, "Reloaded: cluster");
	if (!str_eq(old->pid_file, n->pid_file)) {
		p->pid_file = n->pid_file != NULL && n->pid_file[0] != '\0';
		if (p->pid_file)
			notice(p, "Reloaded: pid_file = %s", n->pid_file);
	}
	if (!str_eq(old->ports_file_dir, n->ports_file_dir)) {
		p->ports_file = true;
		notice(p, "Reloaded: ports_file_dir = %s",
		       n->ports_file_dir ? n->ports_file_dir : "");
	}
	if (!str_eq(old->log_file, n->log_file)) {
		notice(p, "Reloaded: log_file = %s", n->log_file ? n->log_file : "");
		p->logging = true;
	}
	if (old->syslog != n->syslog) {
		notice(p, "Reloaded: syslog = %s", b2s(n->syslog));
		p->logging = true;
	}
	if (!str_eq(old->remote_syslog, n->remote_syslog)) {
		notice(p, "Reloaded: remote_syslog = %s", n->remote_syslog ? n->remote_syslog : "");
		p->logging = true;
	}
	if (!routes_equal(&old->cluster, &n->cluster))
		notice(p, "Reloaded: cluster routes");
	if (old->write_deadline_ms != n->write_deadline_ms) {
		dur(n->write_deadline_ms, a);
		notice(p, "Reloaded: write_deadline = %s", a);
	}
	if (old->max_traced_msg_len != n->max_traced_msg_len)
		notice(p, "Reloaded: max_traced_msg_len = %d", n->max_traced_msg_len);
	if (old->connect_error_reports != n->connect_error_reports)
		notice(p, "Reloaded: connect_error_reports = %d", n->connect_error_reports);
	if (old->reconnect_error_reports != n->reconnect_error_reports)
		notice(p, "Reloaded: reconnect_error_reports = %d", n->reconnect_error_reports);
	return rc;
}

void nd_reload_plan_deinit(nd_reload_plan_t *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->notices[i]);
	free(p->notices);
	memset(p, 0, sizeof(*p));
}
