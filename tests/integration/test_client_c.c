/* natsd with the official C client (libnats, Debian libnats-dev): what applications do. Each
 * test starts its own natsd on a random port. */
#include <nats/nats.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/support/nd_servers.h"
#include "tests/support/nd_test.h"

static nd_test_server_t server;

static void setup(void)
{
	cr_assert_eq(nd_test_server_start(&server, ND_SERVER_NATSD, NULL), 0,
		     "natsd did not start: %s", server.proc.log);
}

static void teardown(void)
{
	nats_CloseAndWait(5000);
	int code = nd_test_server_stop(&server);
	cr_expect_eq(code, 0, "natsd exited %d: %s", code, server.proc.log);
}

TestSuite(c_client, .init = setup, .fini = teardown, .timeout = 120);

static natsConnection *connect_or_fail(void)
{
	natsConnection *nc = NULL;
	natsStatus s = natsConnection_ConnectTo(&nc, server.url);
	cr_assert_eq(s, NATS_OK, "connect: %s", natsStatus_GetText(s));
	return nc;
}

static natsMsg *next_msg(natsSubscription *sub)
{
	natsMsg *m = NULL;
	natsStatus s = natsSubscription_NextMsg(&m, sub, 5000);
	cr_assert_eq(s, NATS_OK, "next msg: %s", natsStatus_GetText(s));
	return m;
}

static void expect_no_msg(natsSubscription *sub, int64_t wait_ms)
{
	natsMsg *m = NULL;
	natsStatus s = natsSubscription_NextMsg(&m, sub, wait_ms);
	if (m != NULL)
		natsMsg_Destroy(m);
	cr_assert_eq(s, NATS_TIMEOUT, "unexpected message or error: %s", natsStatus_GetText(s));
}

ND_TEST(c_client, publish_subscribe_in_order)
{
	natsConnection *pub = connect_or_fail(), *sub_nc = connect_or_fail();
	natsSubscription *sub = NULL;
	cr_assert_eq(natsConnection_SubscribeSync(&sub, sub_nc, "orders.new"), NATS_OK);
	cr_assert_eq(natsConnection_Flush(sub_nc), NATS_OK);
	for (int i = 0; i < 1000; i++) {
		char buf[32];
		snprintf(buf, sizeof(buf), "order-%d", i);
		cr_assert_eq(natsConnection_PublishString(pub, "orders.new", buf), NATS_OK);
	}
	cr_assert_eq(natsConnection_Flush(pub), NATS_OK);
	for (int i = 0; i < 1000; i++) {
		natsMsg *m = next_msg(sub);
		char want[32];
		snprintf(want, sizeof(want), "order-%d", i);
		cr_assert_eq(natsMsg_GetDataLength(m), (int)strlen(want));
		cr_assert_arr_eq(natsMsg_GetData(m), want, strlen(want), "message %d out of order",
				 i);
		natsMsg_Destroy(m);
	}
	natsSubscription_Destroy(sub);
	natsConnection_Destroy(pub);
	natsConnection_Destroy(sub_nc);
}

ND_TEST(c_client, wildcards)
{
	natsConnection *nc = connect_or_fail();
	static const char *patterns[] = {"a.*", "a.>", "*.b", ">", "a.b", "x.*"};
	enum { NP = 6 };
	natsSubscription *subs[NP];
	for (int i = 0; i < NP; i++)
		cr_assert_eq(natsConnection_SubscribeSync(&subs[i], nc, patterns[i]), NATS_OK);
	cr_assert_eq(natsConnection_Flush(nc), NATS_OK);
	cr_assert_eq(natsConnection_PublishString(nc, "a.b", "1"), NATS_OK);
	cr_assert_eq(natsConnection_PublishString(nc, "a.b.c", "2"), NATS_OK);
	cr_assert_eq(natsConnection_Flush(nc), NATS_OK);
	/* a.b reaches a.*, a.>, *.b, >, a.b; a.b.c reaches a.> and >. */
	static const int want[NP] = {1, 2, 1, 2, 1, 0};
	for (int i = 0; i < NP; i++) {
		for (int k = 0; k < want[i]; k++)
			natsMsg_Destroy(next_msg(subs[i]));
		expect_no_msg(subs[i], 100);
		natsSubscription_Destroy(subs[i]);
	}
	natsConnection_Destroy(nc);
}

ND_TEST(c_client, queue_groups_exactly_once_and_spread)
{
	enum { MEMBERS = 4, MSGS = 4000 };
	natsConnection *conns[MEMBERS], *pub = connect_or_fail();
	natsSubscription *members[MEMBERS], *plain = NULL;
	for (int i = 0; i < MEMBERS; i++) {
		conns[i] = connect_or_fail(); /* spread over the workers */
		cr_assert_eq(natsConnection_QueueSubscribeSync(&members[i], conns[i], "work", "g"),
			     NATS_OK);
		cr_assert_eq(natsSubscription_SetPendingLimits(members[i], -1, -1), NATS_OK);
		cr_assert_eq(natsConnection_Flush(conns[i]), NATS_OK);
	}
	cr_assert_eq(natsConnection_SubscribeSync(&plain, pub, "work"), NATS_OK);
	cr_assert_eq(natsSubscription_SetPendingLimits(plain, -1, -1), NATS_OK);
	cr_assert_eq(natsConnection_Flush(pub), NATS_OK);
	for (int i = 0; i < MSGS; i++)
		cr_assert_eq(natsConnection_PublishString(pub, "work", "job"), NATS_OK);
	cr_assert_eq(natsConnection_Flush(pub), NATS_OK);
	int total = 0, counts[MEMBERS] = {0};
	for (int i = 0; i < MEMBERS; i++) {
		cr_assert_eq(natsConnection_Flush(conns[i]), NATS_OK);
		natsMsg *m;
		while (natsSubscription_NextMsg(&m, members[i], 300) == NATS_OK) {
			counts[i]++;
			natsMsg_Destroy(m);
		}
		total += counts[i];
	}
	cr_assert_eq(total, MSGS, "queue group got %d of %d messages", total, MSGS);
	for (int i = 0; i < MEMBERS; i++)
		cr_assert(counts[i] > MSGS / MEMBERS / 2 && counts[i] < MSGS / MEMBERS * 2,
			  "uneven spread: member %d got %d", i, counts[i]);
	int plain_count = 0;
	natsMsg *m;
	while (natsSubscription_NextMsg(&m, plain, 300) == NATS_OK) {
		plain_count++;
		natsMsg_Destroy(m);
	}
	cr_assert_eq(plain_count, MSGS, "plain subscriber got %d", plain_count);
	for (int i = 0; i < MEMBERS; i++) {
		natsSubscription_Destroy(members[i]);
		natsConnection_Destroy(conns[i]);
	}
	natsSubscription_Destroy(plain);
	natsConnection_Destroy(pub);
}

static void responder(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
	char reply[256];
	snprintf(reply, sizeof(reply), "re:%.*s", natsMsg_GetDataLength(msg), natsMsg_GetData(msg));
	natsConnection_PublishString(nc, natsMsg_GetReply(msg), reply);
	natsMsg_Destroy(msg);
}

ND_TEST(c_client, request_reply)
{
	natsConnection *svc = connect_or_fail(), *cli = connect_or_fail();
	natsSubscription *sub = NULL;
	cr_assert_eq(natsConnection_Subscribe(&sub, svc, "svc.echo", responder, NULL), NATS_OK);
	cr_assert_eq(natsConnection_Flush(svc), NATS_OK);
	for (int i = 0; i < 200; i++) {
		char body[32], want[40];
		snprintf(body, sizeof(body), "q%d", i);
		snprintf(want, sizeof(want), "re:q%d", i);
		natsMsg *r = NULL;
		natsStatus s = natsConnection_RequestString(&r, cli, "svc.echo", body, 5000);
		cr_assert_eq(s, NATS_OK, "request %d: %s", i, natsStatus_GetText(s));
		cr_assert_eq(natsMsg_GetDataLength(r), (int)strlen(want));
		cr_assert_arr_eq(natsMsg_GetData(r), want, strlen(want));
		natsMsg_Destroy(r);
	}
	natsSubscription_Destroy(sub);
	natsConnection_Destroy(svc);
	natsConnection_Destroy(cli);
}

ND_TEST(c_client, no_responders)
{
	natsConnection *cli = connect_or_fail();
	natsMsg *r = NULL;
	uint64_t t0 = nd_test_now_ns();
	natsStatus s = natsConnection_RequestString(&r, cli, "nobody.home", "x", 5000);
	cr_assert_eq(s, NATS_NO_RESPONDERS, "got %s", natsStatus_GetText(s));
	cr_assert_lt(nd_test_now_ns() - t0, 2000000000ull, "no-responders should be immediate");
	natsConnection_Destroy(cli);
}

ND_TEST(c_client, headers)
{
	natsConnection *nc = connect_or_fail();
	natsSubscription *sub = NULL;
	cr_assert_eq(natsConnection_SubscribeSync(&sub, nc, "with.headers"), NATS_OK);
	natsMsg *out = NULL;
	cr_assert_eq(natsMsg_Create(&out, "with.headers", NULL, "body", 4), NATS_OK);
	cr_assert_eq(natsMsgHeader_Set(out, "Trace-Id", "abc-123"), NATS_OK);
	cr_assert_eq(natsMsgHeader_Add(out, "Multi", "one"), NATS_OK);
	cr_assert_eq(natsMsgHeader_Add(out, "Multi", "two"), NATS_OK);
	cr_assert_eq(natsConnection_PublishMsg(nc, out), NATS_OK);
	natsMsg_Destroy(out);
	natsMsg *in = next_msg(sub);
	const char *v = NULL;
	cr_assert_eq(natsMsgHeader_Get(in, "Trace-Id", &v), NATS_OK);
	cr_assert_str_eq(v, "abc-123");
	const char **vals = NULL;
	int count = 0;
	cr_assert_eq(natsMsgHeader_Values(in, "Multi", &vals, &count), NATS_OK);
	cr_assert_eq(count, 2);
	free((void *)vals);
	cr_assert_eq(natsMsg_GetDataLength(in), 4);
	cr_assert_arr_eq(natsMsg_GetData(in), "body", 4);
	natsMsg_Destroy(in);
	natsSubscription_Destroy(sub);
	natsConnection_Destroy(nc);
}

ND_TEST(c_client, auto_unsubscribe)
{
	natsConnection *nc = connect_or_fail();
	natsSubscription *sub = NULL;
	cr_assert_eq(natsConnection_SubscribeSync(&sub, nc, "limited"), NATS_OK);
	cr_assert_eq(natsSubscription_AutoUnsubscribe(sub, 5), NATS_OK);
	cr_assert_eq(natsConnection_Flush(nc), NATS_OK);
	for (int i = 0; i < 10; i++)
		cr_assert_eq(natsConnection_PublishString(nc, "limited", "x"), NATS_OK);
	cr_assert_eq(natsConnection_Flush(nc), NATS_OK);
	for (int i = 0; i < 5; i++)
		natsMsg_Destroy(next_msg(sub));
	natsMsg *m = NULL;
	natsStatus s = natsSubscription_NextMsg(&m, sub, 300);
	cr_assert_neq(s, NATS_OK, "a sixth message arrived");
	natsSubscription_Destroy(sub);
	/* And the server really dropped it: a new subscriber is the only one left. */
	natsSubscription *other = NULL;
	cr_assert_eq(natsConnection_SubscribeSync(&other, nc, "limited"), NATS_OK);
	cr_assert_eq(natsConnection_PublishString(nc, "limited", "y"), NATS_OK);
	natsMsg_Destroy(next_msg(other));
	natsSubscription_Destroy(other);
	natsConnection_Destroy(nc);
}

ND_TEST(c_client, flush_and_drain)
{
	natsConnection *nc = connect_or_fail(), *pub = connect_or_fail();
	natsSubscription *sub = NULL;
	cr_assert_eq(natsConnection_SubscribeSync(&sub, nc, "drain.me"), NATS_OK);
	cr_assert_eq(natsConnection_Flush(nc), NATS_OK);
	for (int i = 0; i < 100; i++)
		cr_assert_eq(natsConnection_PublishString(pub, "drain.me", "m"), NATS_OK);
	cr_assert_eq(natsConnection_FlushTimeout(pub, 5000), NATS_OK);
	cr_assert_eq(natsConnection_FlushTimeout(nc, 5000), NATS_OK);
	cr_assert_eq(natsSubscription_Drain(sub), NATS_OK);
	int got = 0;
	natsMsg *m;
	while (natsSubscription_NextMsg(&m, sub, 500) == NATS_OK) {
		got++;
		natsMsg_Destroy(m);
	}
	cr_assert_eq(got, 100, "drained subscription delivered %d", got);
	cr_assert_eq(natsSubscription_WaitForDrainCompletion(sub, 5000), NATS_OK);
	natsSubscription_Destroy(sub);
	cr_assert_eq(natsConnection_Drain(pub), NATS_OK);
	for (int i = 0; i < 100 && !natsConnection_IsClosed(pub); i++)
		usleep(20000);
	cr_assert(natsConnection_IsClosed(pub), "connection drain did not close");
	natsConnection_Destroy(pub);
	natsConnection_Destroy(nc);
}

ND_TEST(c_client, one_mebibyte_payloads)
{
	natsConnection *nc = connect_or_fail(), *pub = connect_or_fail();
	natsSubscription *sub = NULL;
	cr_assert_eq(natsConnection_SubscribeSync(&sub, nc, "big"), NATS_OK);
	cr_assert_eq(natsConnection_Flush(nc), NATS_OK);
	cr_assert_eq(natsConnection_GetMaxPayload(pub), 1048576);
	int size = 1048576;
	char *data = malloc((size_t)size + 1);
	for (int i = 0; i < size; i++)
		data[i] = (char)('a' + i % 23);
	for (int k = 0; k < 5; k++)
		cr_assert_eq(natsConnection_Publish(pub, "big", data, size), NATS_OK);
	cr_assert_eq(natsConnection_Flush(pub), NATS_OK);
	for (int k = 0; k < 5; k++) {
		natsMsg *m = next_msg(sub);
		cr_assert_eq(natsMsg_GetDataLength(m), size);
		cr_assert_eq(memcmp(natsMsg_GetData(m), data, (size_t)size), 0,
			     "payload %d corrupted", k);
		natsMsg_Destroy(m);
	}
	/* One byte more is refused by the client before it is sent (max_payload from INFO). */
	cr_assert_eq(natsConnection_Publish(pub, "big", data, size + 1), NATS_MAX_PAYLOAD);
	free(data);
	natsSubscription_Destroy(sub);
	natsConnection_Destroy(nc);
	natsConnection_Destroy(pub);
}

ND_TEST(c_client, five_hundred_concurrent_connections)
{
	enum { N = 500 };
	natsConnection **conns = calloc(N, sizeof(*conns));
	natsSubscription **subs = calloc(N, sizeof(*subs));
	for (int i = 0; i < N; i++) {
		conns[i] = connect_or_fail();
		char subj[32];
		snprintf(subj, sizeof(subj), "conn.%d", i);
		cr_assert_eq(natsConnection_SubscribeSync(&subs[i], conns[i], subj), NATS_OK);
	}
	for (int i = 0; i < N; i++)
		cr_assert_eq(natsConnection_Flush(conns[i]), NATS_OK);
	/* Every connection publishes to the next one: traffic crosses workers. */
	for (int i = 0; i < N; i++) {
		char subj[32];
		snprintf(subj, sizeof(subj), "conn.%d", (i + 1) % N);
		cr_assert_eq(natsConnection_PublishString(conns[i], subj, "hi"), NATS_OK);
	}
	for (int i = 0; i < N; i++)
		cr_assert_eq(natsConnection_Flush(conns[i]), NATS_OK);
	for (int i = 0; i < N; i++) {
		natsMsg_Destroy(next_msg(subs[i]));
		natsSubscription_Destroy(subs[i]);
		natsConnection_Destroy(conns[i]);
	}
	free(conns);
	free(subs);
}
