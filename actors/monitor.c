/* The monitor actor. The HTTP handler runs on the HTTP connection's worker and only forwards
 * the request here; this actor answers simple endpoints at once and gathers connection
 * snapshots for /connz and /subsz (one request per registered client, exactly one reply each,
 * see nd_client_send_info_request) before it answers. Output follows the reference's
 * monitor.go: field names, order, omitted empty fields, errors and their HTTP statuses. */
#define _GNU_SOURCE
#include "actors/monitor.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "actors/account.h"
#include "actors/client.h"
#include "actors/http_server.h"
#include "actors/sublist.h"
#include "protocol/goquote.h"
#include "protocol/gotime.h"
#include "protocol/subject.h"
#include "runtime/actor.h"
#include "runtime/log.h"
#include "runtime/timer.h"

#ifndef NATSD_VERSION
#define NATSD_VERSION "0.0.0"
#endif
#define DEFAULT_LIST_SIZE 1024 /* connections or subscriptions per page */
#define JSON_FLAGS (JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17))

enum { MSG_REQUEST = 1, MSG_CLIENT_INFO };

/* The paths the reference counts in /varz's http_req_stats (without the base path). */
static const char *const counted_paths[] = {"/",         "/varz",    "/connz", "/routez",
					    "/gatewayz", "/leafz",   "/subsz", "/accountz",
					    "/accstatz", "/healthz", "/jsz"};
enum { NPATHS = sizeof(counted_paths) / sizeof(counted_paths[0]) };

struct nd_monitor {
	nd_server_t *srv;
	nd_actor_t *actor;
	nd_http_server_t *http;
	char *base; /* "" or "/mon" (no trailing slash) */
	char *host;
	int port;
};

typedef struct request_msg {
	nd_msg_t hdr;
	nd_http_reply_t *reply;
	char *path;  /* without the base path */
	char *query; /* raw */
} request_msg_t;

/* ---- connection gathering ---- */

typedef enum { GATHER_CONNZ, GATHER_SUBSZ } gather_kind_t;

typedef struct connz_params {
	char *sort; /* malloc'd or NULL, as user and acc */
	bool auth, subs, subs_detail;
	int offset, limit;
	uint64_t cid;
	int state; /* 0 open, 1 closed, 2 any */
	char *user, *acc;
} connz_params_t;

typedef struct subsz_params {
	bool subs;
	int offset, limit;
	char *test;       /* NULL or a literal subject (malloc'd) */
	bool unknown_acc; /* acc= names an account natsd does not have: nothing matches */
} subsz_params_t;

typedef struct gather {
	struct gather *next;
	uint64_t id;
	gather_kind_t kind;
	nd_http_reply_t *reply;
	char *callback; /* malloc'd or NULL */
	connz_params_t cz;
	subsz_params_t sz;
	size_t expected, got;
	nd_client_info_t *infos;
	size_t ninfos;
} gather_t;

typedef struct mon_state {
	nd_monitor_t *m;
	gather_t *gathers;
	uint64_t next_id;
	uint64_t req_stats[NPATHS];
	bool req_seen[NPATHS];
	/* CPU sampling as the reference's pse: percent over the last second. */
	nd_timer_t cpu_timer;
	int64_t last_cpu_ticks;
	uint64_t last_sample_ms;
	double cpu;
} mon_state_t;

/* ---- formatting ---- */

/* Go's time.Time as JSON in UTC: RFC3339 with nanoseconds, trailing zeros dropped. */
static void fmt_time(int64_t ns, char *out, size_t len)
{
	time_t secs = (time_t)(ns / 1000000000);
	long frac = (long)(ns % 1000000000);
	struct tm tm;
	gmtime_r(&secs, &tm);
	char base[32];
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	if (frac == 0) {
		snprintf(out, len, "%sZ", base);
		return;
	}
	char f[16];
	snprintf(f, sizeof(f), "%09ld", frac);
	size_t n = strlen(f);
	while (n > 0 && f[n - 1] == '0')
		f[--n] = '\0';
	snprintf(out, len, "%s.%sZ", base, f);
}

/* The reference's myUptime: whole seconds as [Ny][Nd][Nh][Nm]Ns. */
static void fmt_uptime(int64_t ns, char *out, size_t len)
{
	int64_t s = ns / 1000000000, m = s / 60, h = m / 60, d = h / 24, y = d / 365;
	if (y > 0)
		snprintf(out, len, "%lldy%lldd%lldh%lldm%llds", (long long)y, (long long)(d % 365),
			 (long long)(h % 24), (long long)(m % 60), (long long)(s % 60));
	else if (d > 0)
		snprintf(out, len, "%lldd%lldh%lldm%llds", (long long)d, (long long)(h % 24),
			 (long long)(m % 60), (long long)(s % 60));
	else if (h > 0)
		snprintf(out, len, "%lldh%lldm%llds", (long long)h, (long long)(m % 60),
			 (long long)(s % 60));
	else if (m > 0)
		snprintf(out, len, "%lldm%llds", (long long)m, (long long)(s % 60));
	else
		snprintf(out, len, "%llds", (long long)(s < 0 ? 0 : s));
}

static int64_t realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* "rtt" as the reference's getRTT writes it: truncated to microseconds between 1µs and 1ms. */
static void set_rtt(json_t *o, int64_t ns)
{
	char rtt[32];
	if (ns > 1000 && ns < 1000000)
		ns -= ns % 1000;
	nd_go_format_duration(ns, rtt, sizeof(rtt));
	json_object_set_new(o, "rtt", json_string(rtt));
}

static void set_time(json_t *o, const char *key, int64_t ns)
{
	char t[64];
	fmt_time(ns, t, sizeof(t));
	json_object_set_new(o, key, json_string(t));
}

/* Go prints a float64 without a fraction when it has none (2, not 2.0). */
static json_t *go_float(double v)
{
	if (v == (double)(long long)v && v > -1e15 && v < 1e15)
		return json_integer((json_int_t)v);
	return json_real(v);
}

/* ---- answering ---- */

static void reply_text(nd_http_reply_t *r, int status, const char *text)
{
	nd_http_reply_send(r, status, "text/plain; charset=utf-8", NULL, text, strlen(text));
}

/* Go's http.NotFound. */
static void reply_not_found(nd_http_reply_t *r)
{
	static const char body[] = "404 page not found\n";
	nd_http_reply_send(r, 404, "text/plain; charset=utf-8",
			   "X-Content-Type-Options: nosniff\r\n", body, sizeof(body) - 1);
}

/* The reference's ResponseHandler: JSON, or JSONP with ?callback=. */
static void reply_json(nd_http_reply_t *r, const char *callback, json_t *root)
{
	char *body = json_dumps(root, JSON_FLAGS);
	json_decref(root);
	if (body == NULL) {
		reply_text(r, 500, "cannot encode the response");
		return;
	}
	if (callback != NULL && callback[0] != '\0') {
		char *wrapped = NULL;
		int n = asprintf(&wrapped, "%s(%s)", callback, body);
		free(body);
		if (n < 0)
			abort();
		nd_http_reply_send(r, 200, "application/javascript", NULL, wrapped, (size_t)n);
		free(wrapped);
		return;
	}
	nd_http_reply_send(r, 200, "application/json", NULL, body, strlen(body));
	free(body);
}

/* ---- query parameters (Go's strconv rules and the reference's messages) ---- */

/* The decoded value of a query parameter (malloc'd), or NULL when absent. A value can never be
 * longer than the query, so it always fits. */
static char *param(const char *query, const char *name)
{
	size_t len = strlen(query) + 1;
	char *buf = malloc(len);
	if (buf == NULL)
		abort();
	if (nd_http_query_get(query, name, buf, len) == NULL) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* Go's strconv.ParseBool. */
static int parse_go_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
	static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
	for (size_t i = 0; i < 6; i++) {
		if (strcmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

/* Writes the reference's 400 for a bad parameter and returns false. */
static bool bad_param(nd_http_reply_t *r, const char *kind, const char *name, const char *fn,
		      const char *value, const char *why)
{
	char q[600], text[900];
	nd_go_quote(value, strlen(value), q, sizeof(q));
	snprintf(text, sizeof(text), "Error decoding %s for '%s': strconv.%s: parsing %s: %s", kind,
		 name, fn, q, why);
	reply_text(r, 400, text);
	return false;
}

static bool decode_bool(nd_http_reply_t *r, const char *query, const char *name, bool *out)
{
	*out = false;
	char *v = param(query, name);
	bool ok = v == NULL || v[0] == '\0' || parse_go_bool(v, out) == 0 ||
		  bad_param(r, "boolean", name, "ParseBool", v, "invalid syntax");
	free(v);
	return ok;
}

/* Go's strconv.Atoi: optional sign, decimal digits, int64 range. */
static bool decode_int_value(nd_http_reply_t *r, const char *v, const char *name, int *out);

static bool decode_int(nd_http_reply_t *r, const char *query, const char *name, int *out)
{
	*out = 0;
	char *v = param(query, name);
	bool ok = v == NULL || v[0] == '\0' || decode_int_value(r, v, name, out);
	free(v);
	return ok;
}

static bool decode_int_value(nd_http_reply_t *r, const char *v, const char *name, int *out)
{
	const char *p = v;
	bool neg = false;
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	if (*p == '\0')
		return bad_param(r, "int", name, "Atoi", v, "invalid syntax");
	unsigned long long acc = 0;
	bool over = false;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return bad_param(r, "int", name, "Atoi", v, "invalid syntax");
		if (acc > (ULLONG_MAX - 9) / 10)
			over = true;
		else
			acc = acc * 10 + (unsigned long long)(*p - '0');
	}
	if (over || acc > (neg ? 9223372036854775808ull : 9223372036854775807ull))
		return bad_param(r, "int", name, "Atoi", v, "value out of range");
	long long val = neg ? -(long long)(acc - 1) - 1 : (long long)acc;
	*out = val > 2147483647 ? 2147483647 : val < -2147483647 ? -2147483647 : (int)val;
	return true;
}

static bool decode_uint64_value(nd_http_reply_t *r, const char *v, const char *name, uint64_t *out);

static bool decode_uint64(nd_http_reply_t *r, const char *query, const char *name, uint64_t *out)
{
	*out = 0;
	char *v = param(query, name);
	bool ok = v == NULL || v[0] == '\0' || decode_uint64_value(r, v, name, out);
	free(v);
	return ok;
}

static bool decode_uint64_value(nd_http_reply_t *r, const char *v, const char *name, uint64_t *out)
{
	unsigned long long acc = 0;
	for (const char *p = v; *p; p++) {
		if (*p < '0' || *p > '9')
			return bad_param(r, "uint64", name, "ParseUint", v, "invalid syntax");
		if (acc > (ULLONG_MAX - (unsigned long long)(*p - '0')) / 10)
			return bad_param(r, "uint64", name, "ParseUint", v, "value out of range");
		acc = acc * 10 + (unsigned long long)(*p - '0');
	}
	*out = acc;
	return true;
}

/* ---- process usage (the reference's pse: /proc/self/stat) ---- */

static int read_proc_stat(int64_t *ticks, int64_t *rss_bytes)
{
	FILE *f = fopen("/proc/self/stat", "r");
	if (f == NULL)
		return -1;
	char buf[1024];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* Fields after the command name in parentheses (which may hold spaces). */
	char *p = strrchr(buf, ')');
	if (p == NULL)
		return -1;
	p += 2;
	long long v[24];
	int i = 0;
	for (char *save = NULL, *t = strtok_r(p, " ", &save); t != NULL && i < 24;
	     t = strtok_r(NULL, " ", &save))
		v[i++] = strtoll(t, NULL, 10);
	if (i < 22)
		return -1;
	/* Relative to field 3 (state): utime is field 14, stime 15, rss 24. */
	*ticks = v[11] + v[12];
	*rss_bytes = v[21] * sysconf(_SC_PAGESIZE);
	return 0;
}

static void on_cpu_timer(nd_actor_t *self, nd_timer_t *t)
{
	mon_state_t *st = nd_actor_state(self);
	int64_t ticks, rss;
	uint64_t now = nd_worker_now_ms(nd_actor_home(self));
	if (read_proc_stat(&ticks, &rss) == 0) {
		if (st->last_sample_ms != 0 && now > st->last_sample_ms) {
			long hz = sysconf(_SC_CLK_TCK);
			double secs = (double)(now - st->last_sample_ms) / 1000.0;
			double pct =
			    (double)(ticks - st->last_cpu_ticks) / (double)hz / secs * 100.0;
			st->cpu = (double)(long long)(pct * 10.0) / 10.0; /* one decimal, as pse */
		}
		st->last_cpu_ticks = ticks;
		st->last_sample_ms = now;
	}
	nd_timer_start(t, 1000);
}

/* ---- endpoints ---- */

static json_t *empty_object(void)
{
	return json_object();
}

static void count_request(mon_state_t *st, const char *path)
{
	for (size_t i = 0; i < NPATHS; i++) {
		if (strcmp(counted_paths[i], path) == 0) {
			st->req_stats[i]++;
			st->req_seen[i] = true;
		}
	}
}

static void handle_varz(mon_state_t *st, nd_http_reply_t *r, const char *callback)
{
	nd_server_t *srv = st->m->srv;
	nd_opts_snap_t *snap = nd_server_opts(srv);
	const nd_opts_t *o = nd_opts_snap_get(snap);
	nd_server_totals_t tot;
	nd_server_totals(srv, &tot);
	int64_t now = realtime_ns();
	nd_sublist_stats_t ss;
	nd_sublist_stats(nd_server_global_account(srv)->sl, &ss);
	int64_t ticks, rss = 0;
	read_proc_stat(&ticks, &rss);
	nd_auth_conf_t ac = nd_opts_auth(o);

	json_t *v = json_object();
	json_object_set_new(v, "server_id", json_string(nd_server_id(srv)));
	json_object_set_new(v, "server_name",
			    json_string(o->server_name ? o->server_name : nd_server_id(srv)));
	json_object_set_new(v, "version", json_string(ND_COMPAT_VERSION));
	json_object_set_new(v, "proto", json_integer(1));
	json_object_set_new(v, "go", json_string("natsd " NATSD_VERSION));
	json_object_set_new(v, "host", json_string(o->host));
	json_object_set_new(v, "port", json_integer(nd_server_port(srv)));
	if (nd_auth_required(&ac))
		json_object_set_new(v, "auth_required", json_true());
	if (o->tls.set && !o->allow_non_tls)
		json_object_set_new(v, "tls_required", json_true());
	if (o->tls.set && o->tls.verify)
		json_object_set_new(v, "tls_verify", json_true());
	size_t nurls;
	char **urls = nd_server_connect_urls(srv, &nurls);
	if (nurls > 0) {
		json_t *u = json_array();
		for (size_t i = 0; i < nurls; i++)
			json_array_append_new(u, json_string(urls[i]));
		json_object_set_new(v, "connect_urls", u);
	}
	nd_server_free_urls(urls, nurls);
	json_object_set_new(v, "max_connections", json_integer(o->max_connections));
	if (o->max_subscriptions > 0)
		json_object_set_new(v, "max_subscriptions", json_integer(o->max_subscriptions));
	json_object_set_new(v, "ping_interval",
			    json_integer((json_int_t)o->ping_interval_ms * 1000000));
	json_object_set_new(v, "ping_max", json_integer(o->ping_max));
	json_object_set_new(v, "http_host", json_string(st->m->host));
	bool https = nd_server_https(srv);
	json_object_set_new(v, "http_port", json_integer(https ? o->http_port : st->m->port));
	json_object_set_new(v, "http_base_path", json_string(st->m->base));
	json_object_set_new(v, "https_port", json_integer(https ? st->m->port : 0));
	json_object_set_new(v, "auth_timeout",
			    go_float((double)nd_opts_auth_timeout_ms(o) / 1000.0));
	json_object_set_new(v, "max_control_line", json_integer(o->max_control_line));
	json_object_set_new(v, "max_payload", json_integer(o->max_payload));
	json_object_set_new(v, "max_pending", json_integer(o->max_pending));
	nd_server_cluster_info_t ci;
	nd_server_cluster_info(srv, &ci);
	json_t *cj = json_object();
	if (ci.enabled) {
		json_object_set_new(cj, "name", json_string(ci.name));
		json_object_set_new(cj, "addr", json_string(ci.addr));
		json_object_set_new(cj, "cluster_port", json_integer(ci.port));
		json_object_set_new(cj, "auth_timeout", go_float(ci.auth_timeout_s));
		if (ci.nurls > 0) {
			json_t *u = json_array();
			for (size_t i = 0; i < ci.nurls; i++)
				json_array_append_new(u, json_string(ci.urls[i]));
			json_object_set_new(cj, "urls", u);
		}
		json_object_set_new(cj, "tls_timeout", go_float(ci.tls_timeout_s));
		if (ci.tls) {
			json_object_set_new(cj, "tls_required", json_true());
			json_object_set_new(cj, "tls_verify", json_true());
		}
	}
	for (size_t i = 0; i < ci.nurls; i++)
		free(ci.urls[i]);
	free(ci.urls);
	json_object_set_new(v, "cluster", cj);
	json_object_set_new(v, "gateway", empty_object());
	json_object_set_new(v, "leaf", empty_object());
	json_object_set_new(v, "mqtt", empty_object());
	json_object_set_new(v, "websocket", empty_object());
	json_object_set_new(v, "jetstream", empty_object());
	json_object_set_new(v, "tls_timeout", go_float((double)nd_opts_tls_timeout_ms(o) / 1000.0));
	json_object_set_new(v, "write_deadline",
			    json_integer((json_int_t)o->write_deadline_ms * 1000000));
	set_time(v, "start", tot.start_ns);
	set_time(v, "now", now);
	char up[64];
	fmt_uptime(now - tot.start_ns, up, sizeof(up));
	json_object_set_new(v, "uptime", json_string(up));
	json_object_set_new(v, "mem", json_integer(rss));
	json_object_set_new(v, "cores", json_integer(sysconf(_SC_NPROCESSORS_ONLN)));
	json_object_set_new(v, "gomaxprocs",
			    json_integer(nd_runtime_worker_count(nd_server_runtime(srv))));
	json_object_set_new(v, "cpu", go_float(st->cpu));
	json_object_set_new(v, "connections", json_integer(tot.connections));
	json_object_set_new(v, "total_connections",
			    json_integer((json_int_t)tot.total_connections));
	json_object_set_new(v, "routes", json_integer(ci.routes));
	json_object_set_new(v, "remotes", json_integer(ci.routes));
	json_object_set_new(v, "leafnodes", json_integer(0));
	json_object_set_new(v, "in_msgs", json_integer((json_int_t)tot.in_msgs));
	json_object_set_new(v, "out_msgs", json_integer((json_int_t)tot.out_msgs));
	json_object_set_new(v, "in_bytes", json_integer((json_int_t)tot.in_bytes));
	json_object_set_new(v, "out_bytes", json_integer((json_int_t)tot.out_bytes));
	json_object_set_new(v, "slow_consumers", json_integer((json_int_t)tot.slow_consumers));
	json_object_set_new(v, "subscriptions", json_integer((json_int_t)ss.count));
	/* A Go map: keys sorted (counted_paths is in that order except "/": sort on output). */
	json_t *rs = json_object();
	const char *sorted[NPATHS];
	size_t ns = 0;
	for (size_t i = 0; i < NPATHS; i++)
		if (st->req_seen[i])
			sorted[ns++] = counted_paths[i];
	for (size_t i = 1; i < ns; i++)
		for (size_t j = i; j > 0 && strcmp(sorted[j - 1], sorted[j]) > 0; j--) {
			const char *t = sorted[j];
			sorted[j] = sorted[j - 1];
			sorted[j - 1] = t;
		}
	for (size_t i = 0; i < ns; i++)
		for (size_t k = 0; k < NPATHS; k++)
			if (counted_paths[k] == sorted[i])
				json_object_set_new(rs, sorted[i],
						    json_integer((json_int_t)st->req_stats[k]));
	json_object_set_new(v, "http_req_stats", rs);
	set_time(v, "config_load_time", nd_server_config_time(srv));
	nd_opts_snap_unref(snap);
	reply_json(r, callback, v);
}

static void handle_healthz(nd_http_reply_t *r, const char *query, const char *callback)
{
	/* The reference's parameters, in its order; JetStream is off, so always ok. */
	bool b;
	if (!decode_bool(r, query, "js-enabled", &b) ||
	    !decode_bool(r, query, "js-enabled-only", &b) ||
	    !decode_bool(r, query, "js-server-only", &b))
		return;
	const char *body = "{\"status\":\"ok\"}";
	if (callback != NULL && callback[0] != '\0') {
		char *w = NULL;
		int n = asprintf(&w, "%s(%s)", callback, body);
		if (n < 0)
			abort();
		nd_http_reply_send(r, 200, "application/javascript", NULL, w, (size_t)n);
		free(w);
		return;
	}
	nd_http_reply_send(r, 200, "application/json", NULL, body, strlen(body));
}

static json_t *header(mon_state_t *st)
{
	json_t *o = json_object();
	json_object_set_new(o, "server_id", json_string(nd_server_id(st->m->srv)));
	set_time(o, "now", realtime_ns());
	return o;
}

static void handle_routez(mon_state_t *st, nd_http_reply_t *r, const char *query,
			  const char *callback)
{
	/* subs=1|detail as /connz; counted only once decoded, as the reference does. */
	char *subs = param(query, "subs");
	bool detail = subs != NULL && strcasecmp(subs, "detail") == 0, b = false;
	free(subs);
	if (!detail && !decode_bool(r, query, "subs", &b))
		return;
	count_request(st, "/routez");
	json_t *o = header(st);
	nd_route_info_t *v;
	size_t n = nd_server_peer_routes(st->m->srv, &v, detail || b);
	int64_t now = realtime_ns();
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++) {
		const nd_route_info_t *ri = &v[i];
		json_t *x = json_object();
		json_object_set_new(x, "rid", json_integer((json_int_t)ri->rid));
		json_object_set_new(x, "remote_id", json_string(ri->remote_id));
		json_object_set_new(x, "did_solicit", json_boolean(ri->did_solicit));
		json_object_set_new(x, "is_configured", json_boolean(ri->is_configured));
		json_object_set_new(x, "ip", json_string(ri->ip));
		json_object_set_new(x, "port", json_integer(ri->port));
		set_time(x, "start", ri->start_ns);
		set_time(x, "last_activity", ri->last_activity_ns);
		set_rtt(x, ri->rtt_ns); /* "0s" before the first PONG */
		char up[64], idle[64];
		fmt_uptime(now - ri->start_ns, up, sizeof(up));
		fmt_uptime(now - ri->last_activity_ns, idle, sizeof(idle));
		json_object_set_new(x, "uptime", json_string(up));
		json_object_set_new(x, "idle", json_string(idle));
		json_object_set_new(x, "pending_size", json_integer((json_int_t)ri->pending_bytes));
		json_object_set_new(x, "in_msgs", json_integer((json_int_t)ri->in_msgs));
		json_object_set_new(x, "out_msgs", json_integer((json_int_t)ri->out_msgs));
		json_object_set_new(x, "in_bytes", json_integer((json_int_t)ri->in_bytes));
		json_object_set_new(x, "out_bytes", json_integer((json_int_t)ri->out_bytes));
		json_object_set_new(x, "subscriptions", json_integer(ri->nsubs));
		if (ri->subs != NULL) {
			json_t *l = json_array();
			for (uint32_t k = 0; k < ri->nsubs; k++) {
				/* Entries are "subject" or "subject queue"; the reference lists
				 * subjects, and details keyed by "account subject [queue]" (sid).
				 */
				const char *sp = strchr(ri->subs[k], ' ');
				size_t slen = sp ? (size_t)(sp - ri->subs[k]) : strlen(ri->subs[k]);
				json_t *subj = json_stringn(ri->subs[k], slen);
				if (!detail) {
					json_array_append_new(l, subj);
					continue;
				}
				json_t *d = json_object();
				json_object_set_new(d, "subject", subj);
				if (sp != NULL)
					json_object_set_new(d, "qgroup", json_string(sp + 1));
				char *sid = NULL;
				if (asprintf(&sid, "$G %s", ri->subs[k]) < 0)
					abort();
				json_object_set_new(d, "sid", json_string(sid));
				free(sid);
				json_object_set_new(d, "msgs", json_integer(0));
				json_object_set_new(d, "cid", json_integer((json_int_t)ri->rid));
				json_array_append_new(l, d);
			}
			json_object_set_new(
			    x, detail ? "subscriptions_list_detail" : "subscriptions_list", l);
		}
		json_array_append_new(arr, x);
	}
	nd_route_info_free(v, n);
	json_object_set_new(o, "num_routes", json_integer((json_int_t)n));
	json_object_set_new(o, "routes", arr);
	reply_json(r, callback, o);
}

static void handle_gatewayz(mon_state_t *st, nd_http_reply_t *r, const char *query,
			    const char *callback)
{
	bool b;
	if (!decode_bool(r, query, "accs", &b))
		return;
	json_t *o = header(st);
	json_object_set_new(o, "outbound_gateways", json_object());
	json_object_set_new(o, "inbound_gateways", json_object());
	reply_json(r, callback, o);
}

static void handle_leafz(mon_state_t *st, nd_http_reply_t *r, const char *query,
			 const char *callback)
{
	bool b;
	if (!decode_bool(r, query, "subs", &b))
		return;
	json_t *o = header(st);
	json_object_set_new(o, "leafnodes", json_integer(0));
	json_object_set_new(o, "leafs", json_null());
	reply_json(r, callback, o);
}

static json_t *sublist_stats_json(nd_server_t *srv)
{
	nd_sublist_stats_t ss;
	nd_sublist_stats(nd_server_global_account(srv)->sl, &ss);
	json_t *o = json_object();
	json_object_set_new(o, "num_subscriptions", json_integer((json_int_t)ss.count));
	/* natsd's match caches are per worker and uncounted: reported as none. */
	json_object_set_new(o, "num_cache", json_integer(0));
	json_object_set_new(o, "num_inserts", json_integer((json_int_t)ss.inserts));
	json_object_set_new(o, "num_removes", json_integer((json_int_t)ss.removes));
	json_object_set_new(o, "num_matches", json_integer((json_int_t)ss.matches));
	json_object_set_new(o, "cache_hit_rate", json_integer(0));
	json_object_set_new(o, "max_fanout", json_integer(0));
	json_object_set_new(o, "avg_fanout", json_integer(0));
	return o;
}

static void handle_accountz(mon_state_t *st, nd_http_reply_t *r, const char *query,
			    const char *callback)
{
	json_t *o = header(st);
	char *acc = param(query, "acc");
	if (acc == NULL || acc[0] == '\0') {
		free(acc);
		json_t *list = json_array();
		json_array_append_new(list, json_string("$G"));
		json_object_set_new(o, "accounts", list);
		reply_json(r, callback, o);
		return;
	}
	if (strcmp(acc, "$G") != 0) {
		json_decref(o);
		char *text = NULL;
		if (asprintf(&text, "Account %s does not exist", acc) < 0)
			abort();
		reply_text(r, 400, text);
		free(text);
		free(acc);
		return;
	}
	free(acc);
	nd_server_totals_t tot;
	nd_server_totals(st->m->srv, &tot);
	json_t *d = json_object();
	json_object_set_new(d, "account_name", json_string("$G"));
	set_time(d, "update_time", tot.start_ns);
	json_object_set_new(d, "expired", json_false());
	json_object_set_new(d, "complete", json_true());
	json_object_set_new(d, "jetstream_enabled", json_false());
	json_object_set_new(d, "leafnode_connections", json_integer(0));
	json_object_set_new(d, "client_connections", json_integer(tot.connections));
	json_t *ss = sublist_stats_json(st->m->srv);
	json_object_set_new(d, "subscriptions",
			    json_copy(json_object_get(ss, "num_subscriptions")));
	json_object_set_new(d, "sublist_stats", ss);
	json_object_set_new(o, "account_detail", d);
	reply_json(r, callback, o);
}

static void handle_accstatz(mon_state_t *st, nd_http_reply_t *r, const char *query,
			    const char *callback)
{
	bool unused;
	if (!decode_bool(r, query, "unused", &unused))
		return;
	nd_server_totals_t tot;
	nd_server_totals(st->m->srv, &tot);
	json_t *o = header(st);
	json_t *list = json_array();
	if (tot.connections > 0 || unused) {
		json_t *a = json_object();
		json_object_set_new(a, "acc", json_string("$G"));
		json_object_set_new(a, "conns", json_integer(tot.connections));
		json_object_set_new(a, "leafnodes", json_integer(0));
		json_object_set_new(a, "total_conns", json_integer(tot.connections));
		json_t *sent = json_object(), *recv = json_object();
		json_object_set_new(sent, "msgs", json_integer((json_int_t)tot.out_msgs));
		json_object_set_new(sent, "bytes", json_integer((json_int_t)tot.out_bytes));
		json_object_set_new(recv, "msgs", json_integer((json_int_t)tot.in_msgs));
		json_object_set_new(recv, "bytes", json_integer((json_int_t)tot.in_bytes));
		json_object_set_new(a, "sent", sent);
		json_object_set_new(a, "received", recv);
		json_object_set_new(a, "slow_consumers",
				    json_integer((json_int_t)tot.slow_consumers));
		json_array_append_new(list, a);
	}
	json_object_set_new(o, "account_statz", list);
	reply_json(r, callback, o);
}

static void handle_jsz(mon_state_t *st, nd_http_reply_t *r, const char *query, const char *callback)
{
	bool b, leader;
	int n;
	if (!decode_bool(r, query, "accounts", &b) || !decode_bool(r, query, "streams", &b) ||
	    !decode_bool(r, query, "consumers", &b) || !decode_bool(r, query, "config", &b) ||
	    !decode_int(r, query, "offset", &n) || !decode_int(r, query, "limit", &n) ||
	    !decode_bool(r, query, "leader-only", &leader))
		return;
	if (leader) { /* no JetStream: never the meta leader */
		reply_text(r, 400, "filtered response: not leader");
		return;
	}
	json_t *o = header(st);
	json_object_set_new(o, "disabled", json_true());
	json_t *cfg = json_object();
	json_object_set_new(cfg, "max_memory", json_integer(0));
	json_object_set_new(cfg, "max_storage", json_integer(0));
	json_object_set_new(o, "config", cfg);
	static const char *const zeros[] = {"memory",           "storage",  "reserved_memory",
					    "reserved_storage", "accounts", "ha_assets"};
	for (size_t i = 0; i < sizeof(zeros) / sizeof(zeros[0]); i++)
		json_object_set_new(o, zeros[i], json_integer(0));
	json_t *api = json_object();
	json_object_set_new(api, "total", json_integer(0));
	json_object_set_new(api, "errors", json_integer(0));
	json_object_set_new(o, "api", api);
	static const char *const more[] = {"streams", "consumers", "messages", "bytes"};
	for (size_t i = 0; i < sizeof(more) / sizeof(more[0]); i++)
		json_object_set_new(o, more[i], json_integer(0));
	reply_json(r, callback, o);
}

/* The index page: links to every endpoint, relative so that a base path works. */
static void handle_root(nd_http_reply_t *r)
{
	static const char page[] =
	    "<html lang=\"en\">\n<head><title>natsd monitoring</title></head>\n<body>\n"
	    "<h1>natsd v" NATSD_VERSION "</h1>\n"
	    "<a href=./varz>General</a><br>\n<a href=./jsz>JetStream</a><br>\n"
	    "<a href=./connz>Connections</a><br>\n<a href=./accountz>Accounts</a><br>\n"
	    "<a href=./accstatz>Account Stats</a><br>\n<a href=./subsz>Subscriptions</a><br>\n"
	    "<a href=./routez>Routes</a><br>\n<a href=./leafz>LeafNodes</a><br>\n"
	    "<a href=./gatewayz>Gateways</a><br>\n<a href=./healthz>Health Probe</a><br>\n"
	    "</body>\n</html>\n";
	nd_http_reply_send(r, 200, "text/html; charset=utf-8", NULL, page, sizeof(page) - 1);
}

/* ---- /connz and /subsz: gather, then answer ---- */

static void start_gather(mon_state_t *st, gather_t *g, bool subs)
{
	g->id = ++st->next_id;
	size_t n = 0;
	nd_actor_t **clients = NULL;
	bool want_open = g->kind == GATHER_SUBSZ || g->cz.state != 1;
	if (want_open)
		clients = nd_server_clients(st->m->srv, &n);
	g->expected = n;
	g->infos = calloc(n + 1, sizeof(*g->infos));
	if (g->infos == NULL)
		abort();
	g->next = st->gathers;
	st->gathers = g;
	for (size_t i = 0; i < n; i++) {
		nd_client_send_info_request(clients[i], st->m->actor, MSG_CLIENT_INFO, g->id, subs);
		nd_actor_unref(clients[i]);
	}
	free(clients);
}

static void params_free(gather_t *g);

static void gather_free(gather_t *g)
{
	params_free(g);
	for (size_t i = 0; i < g->ninfos; i++)
		nd_client_info_deinit(&g->infos[i]);
	free(g->infos);
	free(g);
}

typedef struct conn_view {
	nd_client_info_t *info;
	bool closed;
} conn_view_t;

/* What a /connz sort compares by (qsort_r's context: two embedded servers may sort at once). */
typedef struct sort_ctx {
	const char *by;
	int64_t now;
} sort_ctx_t;

static int64_t idle_of(const nd_client_info_t *i)
{
	return i->last_activity_ns - i->start_ns;
}

static int64_t uptime_of(const nd_client_info_t *i, int64_t now)
{
	return (i->stop_ns ? i->stop_ns : now) - i->start_ns;
}

#define CMP_DESC(a, b) ((a) < (b) ? 1 : (a) > (b) ? -1 : 0)
#define CMP_ASC(a, b) ((a) < (b) ? -1 : (a) > (b) ? 1 : 0)

static int cmp_conns(const void *pa, const void *pb, void *arg)
{
	const sort_ctx_t *sc = arg;
	const char *by = sc->by;
	const nd_client_info_t *a = ((const conn_view_t *)pa)->info;
	const nd_client_info_t *b = ((const conn_view_t *)pb)->info;
	int c = 0;
	if (strcmp(by, "subs") == 0)
		c = CMP_DESC(a->nsubs, b->nsubs);
	else if (strcmp(by, "pending") == 0)
		c = CMP_DESC(a->pending_bytes, b->pending_bytes);
	else if (strcmp(by, "msgs_to") == 0)
		c = CMP_DESC(a->out_msgs, b->out_msgs);
	else if (strcmp(by, "msgs_from") == 0)
		c = CMP_DESC(a->in_msgs, b->in_msgs);
	else if (strcmp(by, "bytes_to") == 0)
		c = CMP_DESC(a->out_bytes, b->out_bytes);
	else if (strcmp(by, "bytes_from") == 0)
		c = CMP_DESC(a->in_bytes, b->in_bytes);
	else if (strcmp(by, "last") == 0)
		c = CMP_DESC(a->last_activity_ns, b->last_activity_ns);
	else if (strcmp(by, "idle") == 0)
		c = CMP_DESC(idle_of(a), idle_of(b));
	else if (strcmp(by, "uptime") == 0)
		c = CMP_ASC(uptime_of(a, sc->now), uptime_of(b, sc->now));
	else if (strcmp(by, "stop") == 0)
		c = CMP_DESC(a->stop_ns, b->stop_ns);
	else if (strcmp(by, "reason") == 0)
		c = strcmp(a->reason ? a->reason : "", b->reason ? b->reason : "");
	return c != 0 ? c : CMP_ASC(a->cid, b->cid); /* ties: by cid, deterministic */
}

static json_t *conn_json(const conn_view_t *v, const connz_params_t *p, int64_t now)
{
	const nd_client_info_t *i = v->info;
	json_t *o = json_object();
	json_object_set_new(o, "cid", json_integer((json_int_t)i->cid));
	json_object_set_new(o, "kind", json_string("Client"));
	json_object_set_new(o, "type", json_string("nats"));
	json_object_set_new(o, "ip", json_string(i->ip));
	json_object_set_new(o, "port", json_integer(i->port));
	set_time(o, "start", i->start_ns);
	set_time(o, "last_activity", i->last_activity_ns);
	if (v->closed) {
		set_time(o, "stop", i->stop_ns);
		if (i->reason != NULL && i->reason[0] != '\0')
			json_object_set_new(o, "reason", json_string(i->reason));
	}
	if (i->rtt_ns > 0)
		set_rtt(o, i->rtt_ns);
	int64_t end = v->closed ? i->stop_ns : now;
	char up[64], idle[64];
	fmt_uptime(end - i->start_ns, up, sizeof(up));
	fmt_uptime(end - i->last_activity_ns, idle, sizeof(idle));
	json_object_set_new(o, "uptime", json_string(up));
	json_object_set_new(o, "idle", json_string(idle));
	json_object_set_new(o, "pending_bytes", json_integer((json_int_t)i->pending_bytes));
	json_object_set_new(o, "in_msgs", json_integer((json_int_t)i->in_msgs));
	json_object_set_new(o, "out_msgs", json_integer((json_int_t)i->out_msgs));
	json_object_set_new(o, "in_bytes", json_integer((json_int_t)i->in_bytes));
	json_object_set_new(o, "out_bytes", json_integer((json_int_t)i->out_bytes));
	json_object_set_new(o, "subscriptions", json_integer(i->nsubs));
	if (i->name != NULL && i->name[0] != '\0')
		json_object_set_new(o, "name", json_string(i->name));
	if (i->lang != NULL && i->lang[0] != '\0')
		json_object_set_new(o, "lang", json_string(i->lang));
	if (i->version != NULL && i->version[0] != '\0')
		json_object_set_new(o, "version", json_string(i->version));
	if (i->tls_version[0] != '\0') {
		json_object_set_new(o, "tls_version", json_string(i->tls_version));
		json_object_set_new(o, "tls_cipher_suite", json_string(i->tls_cipher));
	}
	if (p->auth && i->tls_peer_subject != NULL) {
		/* The leaf certificate only (the reference lists every certificate sent). */
		json_t *certs = json_array(), *pc = json_object();
		json_object_set_new(pc, "subject", json_string(i->tls_peer_subject));
		json_object_set_new(pc, "spki_sha256", json_string(i->tls_peer_spki));
		json_object_set_new(pc, "cert_sha256", json_string(i->tls_peer_cert));
		json_array_append_new(certs, pc);
		json_object_set_new(o, "tls_peer_certs", certs);
	}
	if (p->auth && i->user != NULL && i->user[0] != '\0')
		json_object_set_new(o, "authorized_user", json_string(i->user));
	if (i->subs != NULL && i->nsubs > 0 && (p->subs || p->subs_detail)) {
		json_t *list = json_array();
		for (uint32_t k = 0; k < i->nsubs; k++) {
			const nd_client_sub_info_t *s = &i->subs[k];
			if (!p->subs_detail) {
				json_array_append_new(list, json_string(s->subject));
				continue;
			}
			json_t *d = json_object();
			if (v->closed) /* the reference names the account of closed ones only */
				json_object_set_new(d, "account", json_string("$G"));
			json_object_set_new(d, "subject", json_string(s->subject));
			if (s->queue != NULL)
				json_object_set_new(d, "qgroup", json_string(s->queue));
			json_object_set_new(d, "sid", json_string(s->sid));
			json_object_set_new(d, "msgs", json_integer((json_int_t)s->msgs));
			if (s->max > 0)
				json_object_set_new(d, "max", json_integer(s->max));
			json_object_set_new(d, "cid", json_integer((json_int_t)i->cid));
			json_array_append_new(list, d);
		}
		json_object_set_new(
		    o, p->subs_detail ? "subscriptions_list_detail" : "subscriptions_list", list);
	}
	return o;
}

static bool conn_selected(const nd_client_info_t *i, const connz_params_t *p)
{
	if (p->cid > 0 && i->cid != p->cid)
		return false;
	if (p->user != NULL && p->user[0] != '\0' &&
	    (i->user == NULL || strcmp(i->user, p->user) != 0))
		return false;
	return true;
}

static void finish_connz(mon_state_t *st, gather_t *g)
{
	const connz_params_t *p = &g->cz;
	int64_t now = realtime_ns();
	size_t nclosed = 0;
	nd_client_info_t *closed = NULL;
	if (p->state != 0)
		closed = nd_server_closed_list(st->m->srv, &nclosed);
	/* An unknown account answers an empty page with no server id; closed connections are
	 * kept without an account name in the reference, so an account filter drops them. */
	bool has_acc = p->acc != NULL && p->acc[0] != '\0';
	bool acc_ok = !has_acc || strcmp(p->acc, "$G") == 0;
	if (has_acc) {
		for (size_t i = 0; i < nclosed; i++)
			nd_client_info_deinit(&closed[i]);
		nclosed = 0;
	}
	size_t total = 0;
	if (acc_ok)
		total = (p->state != 1 ? g->ninfos : 0) + nclosed;
	conn_view_t *views = calloc(total + 1, sizeof(*views));
	if (views == NULL)
		abort();
	size_t n = 0;
	if (acc_ok && p->state != 1)
		for (size_t i = 0; i < g->ninfos; i++)
			if (conn_selected(&g->infos[i], p))
				views[n++] = (conn_view_t){&g->infos[i], false};
	if (acc_ok)
		for (size_t i = 0; i < nclosed; i++)
			if (conn_selected(&closed[i], p))
				views[n++] = (conn_view_t){&closed[i], true};
	sort_ctx_t sc = {p->sort != NULL && p->sort[0] ? p->sort : "cid", now};
	qsort_r(views, n, sizeof(*views), cmp_conns, &sc);
	size_t lo = (size_t)p->offset, hi = (size_t)p->offset + (size_t)p->limit;
	if (lo > n)
		lo = n;
	if (hi > n)
		hi = n;
	json_t *o = header(st);
	if (!acc_ok)
		json_object_set_new(o, "server_id", json_string(""));
	json_object_set_new(o, "num_connections", json_integer((json_int_t)(hi - lo)));
	/* The user filter does not change the reference's total; a cid search does. */
	json_object_set_new(o, "total", json_integer((json_int_t)(p->cid > 0 ? n : total)));
	json_object_set_new(o, "offset", json_integer(p->offset));
	json_object_set_new(o, "limit", json_integer(p->limit));
	json_t *list = json_array();
	for (size_t i = lo; i < hi; i++)
		json_array_append_new(list, conn_json(&views[i], p, now));
	json_object_set_new(o, "connections", acc_ok ? list : json_null());
	if (!acc_ok)
		json_decref(list);
	free(views);
	for (size_t i = 0; i < nclosed; i++)
		nd_client_info_deinit(&closed[i]);
	free(closed);
	reply_json(g->reply, g->callback, o);
}

static int cmp_sub_details(const void *pa, const void *pb)
{
	const json_t *a = *(json_t *const *)pa, *b = *(json_t *const *)pb;
	json_int_t ca = json_integer_value(json_object_get(a, "cid"));
	json_int_t cb = json_integer_value(json_object_get(b, "cid"));
	if (ca != cb)
		return ca < cb ? -1 : 1;
	return strcmp(json_string_value(json_object_get(a, "sid")),
		      json_string_value(json_object_get(b, "sid")));
}

static void finish_subsz(mon_state_t *st, gather_t *g)
{
	const subsz_params_t *p = &g->sz;
	json_t *o = NULL;
	if (p->subs && !p->unknown_acc) {
		o = header(st);
		json_t *stats = sublist_stats_json(st->m->srv);
		json_object_update(o, stats);
		json_decref(stats);
		size_t cap = 16, n = 0;
		json_t **subs = malloc(cap * sizeof(*subs));
		if (subs == NULL)
			abort();
		for (size_t i = 0; i < g->ninfos; i++) {
			const nd_client_info_t *ci = &g->infos[i];
			for (uint32_t k = 0; ci->subs != NULL && k < ci->nsubs; k++) {
				const nd_client_sub_info_t *s = &ci->subs[k];
				if (p->test != NULL && p->test[0] != '\0' &&
				    !nd_subject_matches(s->subject, strlen(s->subject), p->test,
							strlen(p->test)))
					continue;
				json_t *d = json_object();
				json_object_set_new(d, "account", json_string("$G"));
				json_object_set_new(d, "subject", json_string(s->subject));
				if (s->queue != NULL)
					json_object_set_new(d, "qgroup", json_string(s->queue));
				json_object_set_new(d, "sid", json_string(s->sid));
				json_object_set_new(d, "msgs", json_integer((json_int_t)s->msgs));
				if (s->max > 0)
					json_object_set_new(d, "max", json_integer(s->max));
				json_object_set_new(d, "cid", json_integer((json_int_t)ci->cid));
				if (n == cap) {
					cap *= 2;
					subs = realloc(subs, cap * sizeof(*subs));
					if (subs == NULL)
						abort();
				}
				subs[n++] = d;
			}
		}
		qsort(subs, n, sizeof(*subs), cmp_sub_details);
		size_t lo = (size_t)p->offset, hi = (size_t)p->offset + (size_t)p->limit;
		if (lo > n)
			lo = n;
		if (hi > n)
			hi = n;
		json_t *list = json_array();
		for (size_t i = 0; i < n; i++) {
			if (i >= lo && i < hi)
				json_array_append_new(list, subs[i]);
			else
				json_decref(subs[i]);
		}
		free(subs);
		if (json_array_size(list) > 0) {
			/* The reference's total is the size of the page it returns. */
			json_object_set_new(o, "total", json_integer((json_int_t)(hi - lo)));
			json_object_set_new(o, "offset", json_integer(p->offset));
			json_object_set_new(o, "limit", json_integer(p->limit));
			json_object_set_new(o, "subscriptions_list", list);
		} else {
			json_decref(list);
			json_decref(o);
			o = sublist_stats_json(st->m->srv); /* an empty page: the statistics only */
		}
	} else {
		o = sublist_stats_json(st->m->srv);
		if (p->unknown_acc) /* an account without subscriptions */
			json_object_set_new(o, "num_subscriptions", json_integer(0));
	}
	reply_json(g->reply, g->callback, o);
}

static void client_info_arrived(mon_state_t *st, nd_client_info_msg_t *m)
{
	gather_t **pp = &st->gathers;
	while (*pp != NULL && (*pp)->id != m->request_id)
		pp = &(*pp)->next;
	gather_t *g = *pp;
	if (g == NULL)
		return;
	g->got++;
	if (m->valid) {
		g->infos[g->ninfos++] = m->info;
		memset(&m->info, 0, sizeof(m->info)); /* taken over */
	}
	if (g->got < g->expected)
		return;
	*pp = g->next;
	if (g->kind == GATHER_CONNZ)
		finish_connz(st, g);
	else
		finish_subsz(st, g);
	gather_free(g);
}

static const char *const sort_options[] = {
    "cid",        "start", "subs", "pending", "msgs_to", "msgs_from", "bytes_to",
    "bytes_from", "last",  "idle", "uptime",  "stop",    "reason"};

static void params_free(gather_t *g)
{
	free(g->callback);
	free(g->cz.sort);
	free(g->cz.user);
	free(g->cz.acc);
	free(g->sz.test);
}

static void handle_connz(mon_state_t *st, nd_http_reply_t *r, const char *query,
			 const char *callback)
{
	gather_t *g = calloc(1, sizeof(*g));
	if (g == NULL)
		abort();
	g->kind = GATHER_CONNZ;
	g->reply = r;
	g->callback = callback != NULL && callback[0] ? strdup(callback) : NULL;
	connz_params_t *p = &g->cz;
	p->sort = param(query, "sort");
	char *subs = param(query, "subs");
	p->subs_detail = subs != NULL && strcasecmp(subs, "detail") == 0;
	free(subs);
	if (!decode_bool(r, query, "auth", &p->auth) ||
	    (!p->subs_detail && !decode_bool(r, query, "subs", &p->subs)) ||
	    !decode_int(r, query, "offset", &p->offset) ||
	    !decode_int(r, query, "limit", &p->limit) || !decode_uint64(r, query, "cid", &p->cid))
		goto fail;
	char *state = param(query, "state");
	if (state != NULL && state[0] != '\0') {
		if (strcasecmp(state, "open") == 0) {
			p->state = 0;
		} else if (strcasecmp(state, "closed") == 0) {
			p->state = 1;
		} else if (strcasecmp(state, "any") == 0 || strcasecmp(state, "all") == 0) {
			p->state = 2;
		} else {
			char *text = NULL;
			if (asprintf(&text, "Error decoding state for %s", state) < 0)
				abort();
			reply_text(r, 400, text);
			free(text);
			free(state);
			goto fail;
		}
	}
	free(state);
	p->user = param(query, "user");
	p->acc = param(query, "acc");
	/* The reference counts the request once its parameters decoded, errors below included. */
	count_request(st, "/connz");
	if (p->sort != NULL && p->sort[0] != '\0') {
		bool ok = false;
		for (size_t i = 0; i < sizeof(sort_options) / sizeof(sort_options[0]); i++)
			ok |= strcmp(p->sort, sort_options[i]) == 0;
		if (!ok) {
			char *text = NULL;
			if (asprintf(&text, "invalid sorting option: %s", p->sort) < 0)
				abort();
			reply_text(r, 400, text);
			free(text);
			goto fail;
		}
		if ((strcmp(p->sort, "stop") == 0 || strcmp(p->sort, "reason") == 0) &&
		    p->state != 1) {
			char text[64];
			snprintf(text, sizeof(text), "sort by %s only valid on closed connections",
				 p->sort);
			reply_text(r, 400, text);
			goto fail;
		}
	}
	if (p->offset < 0)
		p->offset = 0;
	if (p->limit <= 0)
		p->limit = DEFAULT_LIST_SIZE;
	if (p->cid > 0)
		p->limit = 1;
	start_gather(st, g, p->subs || p->subs_detail || p->state != 0);
	if (g->expected == 0) {
		st->gathers = g->next;
		finish_connz(st, g);
		gather_free(g);
	}
	return;
fail:
	params_free(g);
	free(g);
}

static void handle_subsz(mon_state_t *st, nd_http_reply_t *r, const char *query,
			 const char *callback)
{
	gather_t *g = calloc(1, sizeof(*g));
	if (g == NULL)
		abort();
	g->kind = GATHER_SUBSZ;
	g->reply = r;
	g->callback = callback != NULL && callback[0] ? strdup(callback) : NULL;
	subsz_params_t *p = &g->sz;
	if (!decode_bool(r, query, "subs", &p->subs) ||
	    !decode_int(r, query, "offset", &p->offset) ||
	    !decode_int(r, query, "limit", &p->limit))
		goto fail;
	p->test = param(query, "test");
	if (p->test != NULL && p->test[0] != '\0' &&
	    !nd_subject_valid_pub(p->test, strlen(p->test))) {
		char *text = NULL;
		if (asprintf(&text, "invalid test subject, must be valid publish subject: %s",
			     p->test) < 0)
			abort();
		reply_text(r, 400, text);
		free(text);
		goto fail;
	}
	char *acc = param(query, "acc");
	p->unknown_acc = acc != NULL && acc[0] != '\0' && strcmp(acc, "$G") != 0;
	free(acc);
	if (p->offset < 0)
		p->offset = 0;
	if (p->limit <= 0)
		p->limit = DEFAULT_LIST_SIZE;
	if (!p->subs || p->unknown_acc) {
		finish_subsz(st, g);
		params_free(g);
		free(g);
		return;
	}
	start_gather(st, g, true);
	if (g->expected == 0) {
		st->gathers = g->next;
		finish_subsz(st, g);
		gather_free(g);
	}
	return;
fail:
	params_free(g);
	free(g);
}

static void handle_request(mon_state_t *st, request_msg_t *m)
{
	nd_http_reply_t *r = m->reply;
	m->reply = NULL;
	const char *path = m->path;
	char *callback = param(m->query, "callback");
	/* /connz and /routez count a request only once its parameters decoded. */
	if (strcmp(path, "/connz") != 0 && strcmp(path, "/routez") != 0)
		count_request(st, strcmp(path, "/subscriptionsz") == 0 ? "/subsz" : path);
	if (strcmp(path, "/") == 0)
		handle_root(r);
	else if (strcmp(path, "/varz") == 0)
		handle_varz(st, r, callback);
	else if (strcmp(path, "/connz") == 0)
		handle_connz(st, r, m->query, callback);
	else if (strcmp(path, "/subsz") == 0 || strcmp(path, "/subscriptionsz") == 0)
		handle_subsz(st, r, m->query, callback);
	else if (strcmp(path, "/routez") == 0)
		handle_routez(st, r, m->query, callback);
	else if (strcmp(path, "/gatewayz") == 0)
		handle_gatewayz(st, r, m->query, callback);
	else if (strcmp(path, "/leafz") == 0)
		handle_leafz(st, r, m->query, callback);
	else if (strcmp(path, "/accountz") == 0)
		handle_accountz(st, r, m->query, callback);
	else if (strcmp(path, "/accstatz") == 0)
		handle_accstatz(st, r, m->query, callback);
	else if (strcmp(path, "/healthz") == 0)
		handle_healthz(r, m->query, callback);
	else if (strcmp(path, "/jsz") == 0)
		handle_jsz(st, r, m->query, callback);
	else
		reply_not_found(r);
	free(callback);
}

/* ---- the actor ---- */

static void mon_start(nd_actor_t *self)
{
	mon_state_t *st = nd_actor_state(self);
	nd_timer_init(&st->cpu_timer, self, on_cpu_timer);
	on_cpu_timer(self, &st->cpu_timer);
}

static void mon_message(nd_actor_t *self, nd_msg_t *msg)
{
	mon_state_t *st = nd_actor_state(self);
	if (msg->type == MSG_REQUEST)
		handle_request(st, (request_msg_t *)msg);
	else if (msg->type == MSG_CLIENT_INFO)
		client_info_arrived(st, (nd_client_info_msg_t *)msg);
	nd_msg_free(msg);
}

static void mon_stop(nd_actor_t *self)
{
	mon_state_t *st = nd_actor_state(self);
	nd_timer_stop(&st->cpu_timer);
	while (st->gathers != NULL) {
		gather_t *g = st->gathers;
		st->gathers = g->next;
		reply_text(g->reply, 503, "server shutting down");
		gather_free(g);
	}
}

static const nd_actor_class_t monitor_class = {
    .name = "monitor", .on_start = mon_start, .on_message = mon_message, .on_stop = mon_stop};

static void request_release(nd_msg_t *msg)
{
	request_msg_t *m = (request_msg_t *)msg;
	if (m->reply != NULL) /* never handled: the monitor had stopped */
		reply_text(m->reply, 503, "server shutting down");
	free(m->path);
	free(m->query);
}

/* Go's ServeMux path cleaning (path.Clean, keeping a trailing slash) into out. */
static void clean_path(const char *p, char *out, size_t len)
{
	size_t n = 0;
	out[n++] = '/';
	const char *s = p;
	while (*s != '\0' && n < len - 1) {
		while (*s == '/')
			s++;
		const char *e = s;
		while (*e != '\0' && *e != '/')
			e++;
		size_t el = (size_t)(e - s);
		if (el == 0 || (el == 1 && s[0] == '.')) {
			/* empty or "." element: dropped */
		} else if (el == 2 && s[0] == '.' && s[1] == '.') {
			if (n > 1) { /* back to the previous slash */
				n--;
				while (n > 1 && out[n - 1] != '/')
					n--;
			}
		} else {
			if (n > 1 && out[n - 1] != '/' && n < len - 1)
				out[n++] = '/';
			for (size_t i = 0; i < el && n < len - 1; i++)
				out[n++] = s[i];
		}
		s = e;
	}
	while (n > 1 && out[n - 1] == '/')
		n--;
	size_t pl = strlen(p);
	if (pl > 0 && p[pl - 1] == '/' && n > 1 && n < len - 1)
		out[n++] = '/';
	out[n] = '\0';
}

/* On the HTTP connection's worker: redirect an unclean path as Go's ServeMux does, strip the
 * base path, hand the request to the actor. */
static void http_handler(void *ctx, const nd_http_request_t *req, nd_http_reply_t *reply)
{
	nd_monitor_t *m = ctx;
	const char *path = req->path;
	char clean[1024];
	clean_path(path, clean, sizeof(clean));
	if (strcmp(clean, path) != 0 && strlen(path) < sizeof(clean) - 1) {
		char loc[2200], body[2300];
		const char *q = req->query != NULL ? req->query : "";
		snprintf(loc, sizeof(loc), "%s%s%s", clean, q[0] ? "?" : "", q);
		char headers[2300];
		snprintf(headers, sizeof(headers), "Location: %s\r\n", loc);
		int n =
		    snprintf(body, sizeof(body), "<a href=\"%s\">Moved Permanently</a>.\n\n", loc);
		nd_http_reply_send(reply, 301, "text/html; charset=utf-8", headers, body,
				   (size_t)n);
		return;
	}
	size_t bl = strlen(m->base);
	if (bl > 0) {
		if (strncmp(path, m->base, bl) != 0 || (path[bl] != '\0' && path[bl] != '/')) {
			reply_not_found(reply);
			return;
		}
		path += bl;
		if (*path == '\0') {
			path = "/";
		} else if (strcmp(path, "/") == 0) { /* the root is the base path itself */
			reply_not_found(reply);
			return;
		}
	}
	request_msg_t *msg = nd_msg_alloc(nd_server_runtime(m->srv), sizeof(*msg), MSG_REQUEST);
	msg->hdr.dtor = request_release;
	msg->reply = reply;
	msg->path = strdup(path);
	msg->query = strdup(req->query != NULL ? req->query : "");
	if (msg->path == NULL || msg->query == NULL)
		abort();
	nd_actor_send(m->actor, &msg->hdr);
}

void nd_monitor_set_tls(nd_monitor_t *m, struct nd_tls_ctx *tls)
{
	nd_http_server_set_tls(m->http, tls);
}

int nd_monitor_start(nd_monitor_t **out, nd_server_t *srv, const char *host, int port,
		     const char *base_path, struct nd_tls_ctx *tls, int *bound_port)
{
	nd_monitor_t *m = calloc(1, sizeof(*m));
	if (m == NULL)
		return -ENOMEM;
	m->srv = srv;
	/* The reference cleans the base path: a leading '/', no trailing one. */
	const char *b = base_path != NULL ? base_path : "";
	while (*b == '/')
		b++;
	size_t bl = strlen(b);
	while (bl > 0 && b[bl - 1] == '/')
		bl--;
	if (asprintf(&m->base, "%s%.*s", bl ? "/" : "", (int)bl, b) < 0)
		abort();
	m->host = strdup(host != NULL ? host : "0.0.0.0");
	m->actor =
	    nd_actor_create(nd_server_runtime(srv), &monitor_class, sizeof(mon_state_t), NULL);
	mon_state_t *st = nd_actor_state(m->actor);
	st->m = m;
	nd_actor_start(m->actor);
	nd_http_server_opts_t ho = {.host = m->host, .port = port, .tls = tls};
	int rc =
	    nd_http_server_start(&m->http, nd_server_runtime(srv), &ho, http_handler, m, &m->port);
	if (rc != 0) {
		nd_actor_stop(m->actor);
		nd_actor_unref(m->actor);
		free(m->base);
		free(m->host);
		free(m);
		return rc;
	}
	if (bound_port != NULL)
		*bound_port = m->port;
	*out = m;
	return 0;
}

void nd_monitor_stop(nd_monitor_t *m)
{
	if (m == NULL)
		return;
	nd_http_server_stop(m->http); /* no handler call after this */
	nd_actor_stop(m->actor);
	nd_actor_unref(m->actor);
	free(m->base);
	free(m->host);
	free(m);
}
