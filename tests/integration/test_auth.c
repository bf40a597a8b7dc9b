/* Operating natsd with the official C client (libnats): authentication (user/password, bcrypt,
 * token, NKeys), permissions as an application sees them, a configuration reload that changes
 * credentials and permissions (SIGHUP), and lame duck mode (SIGUSR2). Each test writes its own
 * configuration file and starts its own natsd on a random port. */
#include <nats/nats.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/support/nd_creds.h"
#include "tests/support/nd_servers.h"
#include "tests/support/nd_test.h"

static nd_test_server_t server;
static char conf_path[128];
static bool running;

static void write_conf(const char *text)
{
	FILE *f = fopen(conf_path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

/* Starts natsd with a configuration file holding text, and flag (or NULL). */
static void start_with_flag(const char *text, const char *flag)
{
	snprintf(conf_path, sizeof(conf_path), "/tmp/nd-test-auth-%d.conf", (int)getpid());
	write_conf(text);
	const char *extra[] = {"-c", conf_path, flag, NULL};
	cr_assert_eq(nd_test_server_start(&server, ND_SERVER_NATSD, extra), 0,
		     "natsd did not start: %s", server.proc.log);
	running = true;
}

static void start_with(const char *text)
{
	start_with_flag(text, NULL);
}

static void teardown(void)
{
	nats_CloseAndWait(5000);
	if (running) {
		int code = nd_test_server_stop(&server);
		cr_expect_eq(code, 0, "natsd exited %d: %s", code, server.proc.log);
		running = false;
	}
	if (conf_path[0] != '\0')
		unlink(conf_path);
}

TestSuite(auth, .fini = teardown, .timeout = 120);

static natsOptions *options(void)
{
	natsOptions *o = NULL;
	cr_assert_eq(natsOptions_Create(&o), NATS_OK);
	cr_assert_eq(natsOptions_SetURL(o, server.url), NATS_OK);
	cr_assert_eq(natsOptions_SetAllowReconnect(o, false), NATS_OK);
	cr_assert_eq(natsOptions_SetTimeout(o, 5000), NATS_OK);
	return o;
}

static natsStatus connect_user(natsConnection **nc, const char *user, const char *pass)
{
	natsOptions *o = options();
	if (user != NULL)
		natsOptions_SetUserInfo(o, user, pass);
	natsStatus s = natsConnection_Connect(nc, o);
	natsOptions_Destroy(o);
	return s;
}

ND_TEST(auth, user_and_password)
{
	start_with("authorization { user: alice, password: \"s3cret\" }\n");
	natsConnection *nc = NULL;
	cr_assert_eq(connect_user(&nc, "alice", "s3cret"), NATS_OK);
	cr_assert_eq(natsConnection_Flush(nc), NATS_OK);
	natsConnection_Destroy(nc);
	nc = NULL;
	cr_assert_eq(connect_user(&nc, "alice", "wrong"), NATS_CONNECTION_AUTH_FAILED);
	cr_assert_eq(connect_user(&nc, NULL, NULL), NATS_CONNECTION_AUTH_FAILED);
	/* A single configured user is not a users list: the reference logs no name. */
	cr_assert(nd_proc_wait_output(&server.proc, "- authentication error", 5000), "%s",
		  server.proc.log);
}

ND_TEST(auth, bcrypt_password_in_users)
{
	char *hash = nd_creds_bcrypt("p4ss", "$2a$", 4);
	char conf[512];
	snprintf(conf, sizeof(conf),
		 "authorization { users = [ { user: bob, password: \"%s\" } ] }\n", hash);
	free(hash);
	start_with(conf);
	natsConnection *nc = NULL;
	cr_assert_eq(connect_user(&nc, "bob", "p4ss"), NATS_OK);
	natsConnection_Destroy(nc);
	cr_assert_eq(connect_user(&nc, "bob", "p4sS"), NATS_CONNECTION_AUTH_FAILED);
}

ND_TEST(auth, token)
{
	start_with("authorization { token: \"t0ken\" }\n");
	natsOptions *o = options();
	natsOptions_SetToken(o, "t0ken");
	natsConnection *nc = NULL;
	cr_assert_eq(natsConnection_Connect(&nc, o), NATS_OK);
	natsConnection_Destroy(nc);
	natsOptions_SetToken(o, "other");
	cr_assert_eq(natsConnection_Connect(&nc, o), NATS_CONNECTION_AUTH_FAILED);
	natsOptions_Destroy(o);
}

ND_TEST(auth, nkey_signature_of_the_nonce)
{
	nd_creds_nkey_t user, stranger;
	nd_creds_nkey_create(ND_NKEY_PREFIX_USER, &user);
	nd_creds_nkey_create(ND_NKEY_PREFIX_USER, &stranger);
	char conf[256], seed_file[256], other_seed_file[256];
	snprintf(conf, sizeof(conf), "authorization { users = [ { nkey: %s } ] }\n",
		 user.public_key);
	start_with(conf);
	nd_creds_write_seed_file(user.seed, seed_file, sizeof(seed_file));
	nd_creds_write_seed_file(stranger.seed, other_seed_file, sizeof(other_seed_file));

	natsOptions *o = options();
	cr_assert_eq(natsOptions_SetNKeyFromSeed(o, user.public_key, seed_file), NATS_OK);
	natsConnection *nc = NULL;
	cr_assert_eq(natsConnection_Connect(&nc, o), NATS_OK);
	cr_assert_eq(natsConnection_Flush(nc), NATS_OK);
	natsConnection_Destroy(nc);
	natsOptions_Destroy(o);

	/* The right public key signed by another key's seed. */
	o = options();
	cr_assert_eq(natsOptions_SetNKeyFromSeed(o, user.public_key, other_seed_file), NATS_OK);
	cr_assert_eq(natsConnection_Connect(&nc, o), NATS_CONNECTION_AUTH_FAILED);
	natsOptions_Destroy(o);
	unlink(seed_file);
	unlink(other_seed_file);
}

ND_TEST(auth, secrets_never_reach_the_log)
{
	start_with_flag("authorization { user: alice, password: \"s3cret-pw\" }\n", "-V");
	natsConnection *nc = NULL;
	cr_assert_eq(connect_user(&nc, "alice", "s3cret-pw"), NATS_OK);
	cr_assert_eq(natsConnection_Flush(nc), NATS_OK);
	natsConnection_Destroy(nc);
	cr_assert(nd_proc_wait_output(&server.proc, "\"pass\":\"[REDACTED]\"", 5000), "%s",
		  server.proc.log);
	/* Spellings Go's JSON decoder also takes for "pass", a key named in a value, repeats. */
	const char *connects[] = {
	    "CONNECT {\"user\":\"alice\",\"PASS\":\"s3cret-pw\"}\r\nPING\r\n",
	    "CONNECT {\"user\":\"alice\",\"p\\u0061ss\":\"s3cret-pw\"}\r\nPING\r\n",
	    "CONNECT {\"user\":\"alice\",\"pa\xc5\xbfs\":\"s3cret-pw\"}\r\nPING\r\n",
	    "CONNECT {\"name\":\"pass\",\"user\":\"alice\",\"pass\":\"s3cret-pw\"}\r\nPING\r\n",
	    "CONNECT {\"user\":\"alice\",\"pass\":\"x\",\"pass\":\"s3cret-pw\"}\r\nPING\r\n"};
	for (size_t i = 0; i < sizeof(connects) / sizeof(connects[0]); i++) {
		int fd = nd_test_connect(server.port);
		char buf[4096];
		nd_test_read_until(fd, buf, sizeof(buf), "\r\n", 5000);
		nd_test_write(fd, connects[i], strlen(connects[i]));
		size_t n = nd_test_read_until(fd, buf, sizeof(buf) - 1, "PONG", 5000);
		buf[n] = '\0';
		cr_assert(strstr(buf, "PONG") != NULL, "connect %zu was not accepted: %s", i, buf);
		close(fd);
	}
	cr_assert(nd_proc_wait_output(&server.proc, "\"name\":\"pass\"", 5000), "%s",
		  server.proc.log);
	cr_assert_null(strstr(server.proc.log, "s3cret-pw"), "%s", server.proc.log);
}

ND_TEST(auth, tokens_never_reach_the_log)
{
	start_with_flag("authorization { token: \"t0ken-secret\" }\n", "-DV");
	natsOptions *o = options();
	natsOptions_SetToken(o, "t0ken-secret");
	natsConnection *nc = NULL;
	cr_assert_eq(natsConnection_Connect(&nc, o), NATS_OK);
	cr_assert_eq(natsConnection_Flush(nc), NATS_OK);
	natsConnection_Destroy(nc);
	natsOptions_Destroy(o);
	cr_assert(nd_proc_wait_output(&server.proc, "\"auth_token\":\"[REDACTED]\"", 5000), "%s",
		  server.proc.log);
	cr_assert_null(strstr(server.proc.log, "t0ken-secret"), "%s", server.proc.log);
}

/* ---- permissions, as an application sees them ---- */

typedef struct errors {
	atomic_int count;
	char last[512];
	pthread_mutex_t mu;
} errors_t;

static void on_error(natsConnection *nc, natsSubscription *sub, natsStatus err, void *closure)
{
	errors_t *e = closure;
	const char *text = NULL;
	natsConnection_GetLastError(nc, &text);
	pthread_mutex_lock(&e->mu);
	snprintf(e->last, sizeof(e->last), "%s", text != NULL ? text : natsStatus_GetText(err));
	pthread_mutex_unlock(&e->mu);
	atomic_fetch_add(&e->count, 1);
}

static bool has_error(void *arg)
{
	return atomic_load(&((errors_t *)arg)->count) > 0;
}

static natsConnection *connect_watching(const char *user, const char *pass, errors_t *e)
{
	natsOptions *o = options();
	natsOptions_SetUserInfo(o, user, pass);
	natsOptions_SetErrorHandler(o, on_error, e);
	natsConnection *nc = NULL;
	natsStatus s = natsConnection_Connect(&nc, o);
	natsOptions_Destroy(o);
	cr_assert_eq(s, NATS_OK, "connect: %s", natsStatus_GetText(s));
	return nc;
}

ND_TEST(auth, publish_permission_violation_is_reported_and_nothing_delivered)
{
	start_with("authorization { users = [\n"
		   "  { user: limited, password: pw, permissions: { publish: \"allowed.>\" } }\n"
		   "  { user: watcher, password: pw }\n"
		   "] }\n");
	errors_t e = {.mu = PTHREAD_MUTEX_INITIALIZER};
	natsConnection *pub = connect_watching("limited", "pw", &e), *sub_nc = NULL;
	cr_assert_eq(connect_user(&sub_nc, "watcher", "pw"), NATS_OK);
	natsSubscription *sub = NULL;
	cr_assert_eq(natsConnection_SubscribeSync(&sub, sub_nc, ">"), NATS_OK);
	cr_assert_eq(natsConnection_Flush(sub_nc), NATS_OK);
	cr_assert_eq(natsConnection_PublishString(pub, "forbidden", "x"), NATS_OK);
	cr_assert_eq(natsConnection_PublishString(pub, "allowed.ok", "y"), NATS_OK);
	natsConnection_Flush(pub);
	cr_assert(nd_test_wait_until(has_error, &e, 5000), "no async error");
	cr_assert(strstr(e.last, "Permissions Violation for Publish to \"forbidden\"") != NULL,
		  "%s", e.last);
	natsMsg *m = NULL;
	cr_assert_eq(natsSubscription_NextMsg(&m, sub, 5000), NATS_OK);
	cr_assert_str_eq(natsMsg_GetSubject(m), "allowed.ok");
	natsMsg_Destroy(m);
	cr_assert_eq(natsSubscription_NextMsg(&m, sub, 200), NATS_TIMEOUT);
	cr_assert(natsConnection_Status(pub) == NATS_CONN_STATUS_CONNECTED,
		  "a violation does not close the connection");
	cr_assert(nd_proc_wait_output(&server.proc,
				      "Publish Violation - User \"limited\", Subject \"forbidden\"",
				      5000),
		  "%s", server.proc.log);
	natsSubscription_Destroy(sub);
	natsConnection_Destroy(pub);
	natsConnection_Destroy(sub_nc);
}

ND_TEST(auth, request_reply_with_allow_responses)
{
	start_with("authorization { users = [\n"
		   "  { user: svc, password: pw, permissions: { subscribe: \"svc.echo\", "
		   "allow_responses: true } }\n"
		   "  { user: app, password: pw }\n"
		   "] }\n");
	natsConnection *svc = NULL, *app = NULL;
	cr_assert_eq(connect_user(&svc, "svc", "pw"), NATS_OK);
	cr_assert_eq(connect_user(&app, "app", "pw"), NATS_OK);
	natsSubscription *sub = NULL;
	cr_assert_eq(natsConnection_SubscribeSync(&sub, svc, "svc.echo"), NATS_OK);
	cr_assert_eq(natsConnection_Flush(svc), NATS_OK);
	for (int i = 0; i < 3; i++) {
		natsInbox *inbox = NULL;
		natsInbox_Create(&inbox);
		natsSubscription *replies = NULL;
		cr_assert_eq(natsConnection_SubscribeSync(&replies, app, inbox), NATS_OK);
		cr_assert_eq(natsConnection_PublishRequestString(app, "svc.echo", inbox, "ping"),
			     NATS_OK);
		natsConnection_Flush(app);
		natsMsg *req = NULL;
		cr_assert_eq(natsSubscription_NextMsg(&req, sub, 5000), NATS_OK);
		cr_assert_eq(natsConnection_PublishString(svc, natsMsg_GetReply(req), "pong"),
			     NATS_OK);
		/* A second reply to the same request is not allowed (max_msgs 1). */
		cr_assert_eq(natsConnection_PublishString(svc, natsMsg_GetReply(req), "again"),
			     NATS_OK);
		natsConnection_Flush(svc);
		natsMsg *rep = NULL;
		cr_assert_eq(natsSubscription_NextMsg(&rep, replies, 5000), NATS_OK);
		cr_assert_eq(natsMsg_GetDataLength(rep), 4);
		natsMsg_Destroy(rep);
		cr_assert_eq(natsSubscription_NextMsg(&rep, replies, 200), NATS_TIMEOUT);
		natsMsg_Destroy(req);
		natsSubscription_Destroy(replies);
		natsInbox_Destroy(inbox);
	}
	natsSubscription_Destroy(sub);
	natsConnection_Destroy(svc);
	natsConnection_Destroy(app);
}

/* ---- reload ---- */

static bool log_has(const char *needle)
{
	return nd_proc_wait_output(&server.proc, needle, 5000);
}

ND_TEST(auth, reload_revokes_a_subscription_and_then_a_password)
{
	start_with(
	    "authorization { users = [\n"
	    "  { user: a, password: one, permissions: { subscribe: [\"keep\", \"drop\"] } }\n"
	    "] }\n");
	errors_t e = {.mu = PTHREAD_MUTEX_INITIALIZER};
	natsConnection *nc = connect_watching("a", "one", &e);
	natsSubscription *keep = NULL, *drop = NULL;
	cr_assert_eq(natsConnection_SubscribeSync(&keep, nc, "keep"), NATS_OK);
	cr_assert_eq(natsConnection_SubscribeSync(&drop, nc, "drop"), NATS_OK);
	cr_assert_eq(natsConnection_Flush(nc), NATS_OK);

	/* The subscription to "drop" is no longer allowed. */
	write_conf("authorization { users = [\n"
		   "  { user: a, password: one, permissions: { subscribe: [\"keep\"] } }\n"
		   "] }\n");
	nd_proc_signal(&server.proc, SIGHUP);
	cr_assert(log_has("Reloaded: authorization users"), "%s", server.proc.log);
	cr_assert(log_has("Reloaded server configuration"), "%s", server.proc.log);
	cr_assert(nd_test_wait_until(has_error, &e, 5000), "no async error after reload");
	cr_assert(strstr(e.last, "Permissions Violation for Subscription to \"drop\"") != NULL,
		  "%s", e.last);
	cr_assert(log_has("Removed sub \"drop\""), "%s", server.proc.log);
	cr_assert_eq(natsConnection_PublishString(nc, "keep", "k"), NATS_OK);
	cr_assert_eq(natsConnection_PublishString(nc, "drop", "d"), NATS_OK);
	natsConnection_Flush(nc);
	natsMsg *m = NULL;
	cr_assert_eq(natsSubscription_NextMsg(&m, keep, 5000), NATS_OK);
	natsMsg_Destroy(m);
	cr_assert_eq(natsSubscription_NextMsg(&m, drop, 300), NATS_TIMEOUT);

	/* A new password: the connection that used the old one is closed, new ones need it. */
	write_conf("authorization { users = [\n"
		   "  { user: a, password: two, permissions: { subscribe: [\"keep\"] } }\n"
		   "] }\n");
	nd_proc_signal(&server.proc, SIGHUP);
	cr_assert(log_has("authentication error - User \"a\""), "%s", server.proc.log);
	for (int i = 0; i < 500 && !natsConnection_IsClosed(nc); i++)
		usleep(10000);
	cr_assert(natsConnection_IsClosed(nc), "the old connection is still open");
	natsConnection *again = NULL;
	cr_assert_eq(connect_user(&again, "a", "one"), NATS_CONNECTION_AUTH_FAILED);
	cr_assert_eq(connect_user(&again, "a", "two"), NATS_OK);
	natsConnection_Destroy(again);
	natsSubscription_Destroy(keep);
	natsSubscription_Destroy(drop);
	natsConnection_Destroy(nc);
}

ND_TEST(auth, reload_with_errors_keeps_the_running_configuration)
{
	start_with("authorization { user: a, password: one }\n");
	write_conf("authorization { user: a, password: two }\nserver_name: other\n");
	nd_proc_signal(&server.proc, SIGHUP);
	cr_assert(log_has("Failed to reload server configuration: config reload not supported "
			  "for ServerName"),
		  "%s", server.proc.log);
	write_conf("authorization { user: a, password: two }\nbogus_key: 1\n");
	nd_proc_signal(&server.proc, SIGHUP);
	cr_assert(log_has("unknown field \"bogus_key\""), "%s", server.proc.log);
	natsConnection *nc = NULL;
	cr_assert_eq(connect_user(&nc, "a", "one"), NATS_OK);
	natsConnection_Destroy(nc);
}

/* ---- lame duck mode ---- */

static atomic_int lame_duck_calls, closed_calls;

static void on_lame_duck(natsConnection *nc, void *closure)
{
	atomic_fetch_add(&lame_duck_calls, 1);
}

static void on_closed(natsConnection *nc, void *closure)
{
	atomic_fetch_add(&closed_calls, 1);
}

static bool closed_once(void *arg)
{
	return atomic_load(&closed_calls) > 0;
}

ND_TEST(auth, lame_duck_tells_clients_closes_them_and_exits)
{
	start_with("lame_duck_duration: \"30s\"\nlame_duck_grace_period: \"1s\"\n");
	atomic_store(&lame_duck_calls, 0);
	atomic_store(&closed_calls, 0);
	natsOptions *o = options();
	natsOptions_SetLameDuckModeCB(o, on_lame_duck, NULL);
	natsOptions_SetClosedCB(o, on_closed, NULL);
	natsConnection *nc = NULL;
	cr_assert_eq(natsConnection_Connect(&nc, o), NATS_OK);
	natsOptions_Destroy(o);
	cr_assert_eq(natsConnection_Flush(nc), NATS_OK); /* PING/PONG: it takes async INFO now */
	uint64_t t0 = nd_test_now_ns();
	nd_proc_signal(&server.proc, SIGUSR2);
	cr_assert(log_has("Entering lame duck mode, stop accepting new clients"), "%s",
		  server.proc.log);
	/* New clients are refused once the listener has closed (right after the notice). */
	bool refused = false;
	for (int i = 0; i < 200 && !refused; i++) {
		natsConnection *late = NULL;
		refused = connect_user(&late, NULL, NULL) != NATS_OK;
		natsConnection_Destroy(late);
		if (!refused)
			usleep(10000);
	}
	cr_assert(refused, "new clients are still accepted in lame duck mode");
	cr_assert(nd_test_wait_until(closed_once, NULL, 10000), "not closed by lame duck mode");
	cr_assert_eq(atomic_load(&lame_duck_calls), 1, "no lame duck notice");
	/* Not before the grace period. */
	cr_assert_geq(nd_test_now_ns() - t0, 900000000ull);
	int code = nd_proc_wait_exit(&server.proc, 10000);
	running = false;
	cr_assert_eq(code, 0, "natsd exited %d: %s", code, server.proc.log);
	cr_assert(nd_proc_wait_output(&server.proc, "Closing existing clients", 1000), "%s",
		  server.proc.log);
	nd_proc_cleanup(&server.proc);
	natsConnection_Destroy(nc);
}
