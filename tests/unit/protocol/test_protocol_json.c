/* CONNECT decoding, INFO encoding, nkey ids and header blocks. */
#include <stdlib.h>
#include <string.h>

#include "protocol/connect.h"
#include "protocol/headers.h"
#include "protocol/info.h"
#include "protocol/nkey.h"
#include "tests/support/nd_test.h"

static int decode(nd_connect_opts_t *o, const char *json)
{
	char err[256];
	return nd_connect_decode(o, json, strlen(json), err, sizeof(err));
}

ND_TEST(connect, defaults_and_merging)
{
	nd_connect_opts_t o;
	nd_connect_opts_init(&o);
	cr_assert(o.verbose && o.pedantic && o.echo && !o.headers);
	cr_assert_eq(decode(&o, "{\"verbose\":false,\"headers\":true,\"name\":\"svc\"}"), 0);
	cr_assert_not(o.verbose);
	cr_assert(o.pedantic, "absent keys keep their value");
	cr_assert(o.headers);
	cr_assert_str_eq(o.name, "svc");
	cr_assert_eq(decode(&o, "{}"), 0);
	cr_assert(o.headers, "a second CONNECT merges");
	cr_assert_eq(decode(&o, "{\"HEADERS\":false,\"Protocol\":1}"), 0);
	cr_assert_not(o.headers, "keys match case-insensitively");
	cr_assert_eq(o.protocol, 1);
	cr_assert_eq(decode(&o, "null"), 0);
	cr_assert_eq(decode(&o, "{\"verbose\":null,\"unknown\":[1,2]}"), 0);
	nd_connect_opts_deinit(&o);
}

ND_TEST(connect, type_errors_and_bad_json)
{
	static const char *bad[] = {"",
				    "{foo",
				    "[]",
				    "{} x",
				    "\"str\"",
				    "{\"verbose\":\"yes\"}",
				    "{\"protocol\":\"1\"}",
				    "{\"protocol\":1.5}",
				    "{\"name\":5}"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		nd_connect_opts_t o;
		nd_connect_opts_init(&o);
		cr_assert_eq(decode(&o, bad[i]), -1, "%s accepted", bad[i]);
		nd_connect_opts_deinit(&o);
	}
}

ND_TEST(info, field_order_escaping_and_trailing_space)
{
	const char *urls[] = {"127.0.0.1:4223"};
	nd_info_t in = {.server_id = "NABC",
			.server_name = "a<b>&c",
			.version = "2.9.10",
			.go = "go1.19.8",
			.host = "0.0.0.0",
			.port = 4222,
			.headers = true,
			.max_payload = 1048576,
			.client_id = 4,
			.client_ip = "127.0.0.1",
			.connect_urls = urls,
			.connect_urls_count = 1};
	size_t len;
	char *line = nd_info_encode(&in, &len);
	cr_assert_str_eq(
	    line, "INFO {\"server_id\":\"NABC\",\"server_name\":\"a\\u003cb\\u003e\\u0026c\","
		  "\"version\":\"2.9.10\",\"proto\":1,\"go\":\"go1.19.8\",\"host\":\"0.0.0.0\","
		  "\"port\":4222,\"headers\":true,\"max_payload\":1048576,\"client_id\":4,"
		  "\"client_ip\":\"127.0.0.1\",\"connect_urls\":[\"127.0.0.1:4223\"]} \r\n");
	cr_assert_eq(len, strlen(line));
	free(line);
}

ND_TEST(nkey, server_ids_look_like_the_reference)
{
	uint8_t key[32] = {0};
	char id[ND_NKEY_LEN + 1];
	nd_nkey_encode(ND_NKEY_PREFIX_SERVER, key, id);
	cr_assert_eq(strlen(id), 56);
	cr_assert_eq(id[0], 'N');
	for (int i = 0; i < 56; i++)
		cr_assert((id[i] >= 'A' && id[i] <= 'Z') || (id[i] >= '2' && id[i] <= '7'));
	/* CRC16-XModem check value. */
	cr_assert_eq(nd_crc16((const uint8_t *)"123456789", 9), 0x31C3);
}

ND_TEST(headers, status_and_fields)
{
	static const char blk[] =
	    "NATS/1.0 503 No Responders\r\nA: 1\r\nB-Key:  two words \r\n\r\n";
	nd_headers_t h;
	cr_assert_eq(nd_headers_parse(blk, sizeof(blk) - 1, &h), 0);
	cr_assert_eq(h.status, 503);
	cr_assert_eq(h.description.n, 13);
	nd_slice_t v;
	cr_assert(nd_headers_get(&h, "B-Key", &v));
	cr_assert_eq(v.n, 9);
	cr_assert_arr_eq(v.p, "two words", 9);
	cr_assert_not(nd_headers_get(&h, "C", &v));
	cr_assert_eq(nd_headers_parse(ND_HEADERS_NO_RESPONDERS, 16, &h), 0);
	cr_assert_eq(h.status, 503);
	cr_assert_eq(nd_headers_parse("NATS/1.0\r\n\r\n", 12, &h), 0);
	cr_assert_eq(h.status, 0);
	cr_assert_eq(nd_headers_parse("HTTP/1.0\r\n\r\n", 12, &h), -1);
	cr_assert_eq(nd_headers_parse("NATS/1.0\r\nnocolon\r\n\r\n", 21, &h), -1);
	cr_assert_eq(nd_headers_parse("NATS/1.0 5031\r\n\r\n", 17, &h), -1);
}
