/* Go's url.Parse: which strings fail and why, and the host and credentials of those that parse,
 * as Go 1.19's net/url gives them (the route URLs nats-server 2.9.10 accepts). */
#include <string.h>

#include "protocol/gourl.h"
#include "tests/support/nd_test.h"

static const struct {
	const char *in, *err;
} bad[] = {
    {"nats://[::1:6222", "missing ']' in host"},
    {"://nohost", "missing protocol scheme"},
    {"nats://a b:1", "invalid character \" \" in host name"},
    {"nats://u p@h:1", "net/url: invalid userinfo"},
    {"nats://h:port", "invalid port \":port\" after host"},
    {"nats://h:1/%zz", "invalid URL escape \"%zz\""},
    {"nats://h:1#%zz", "invalid URL escape \"%zz\""},
    {"nats://h%41", "invalid URL escape \"%41\""},
    {"nats://[::1]:x", "invalid port \":x\" after host"},
    {"nats://[fe80::1%en0]:1", "invalid URL escape \"%en\""},
    {"1nats://h", "first path segment in URL cannot contain colon"},
    {"nats://h\t:1", "net/url: invalid control character in URL"},
    {"nats://u%2@h", "invalid URL escape \"%2\""},
};

static const struct {
	const char *in, *scheme, *host, *user, *password;
} good[] = {
    {"nats://u:p@h:1", "nats", "h:1", "u", "p"},
    {"NATS://h:4222", "nats", "h:4222", NULL, NULL},
    {"nats://u@h", "nats", "h", "u", NULL},
    {"nats://u%40x:p%3A@h:1", "nats", "h:1", "u@x", "p:"},
    {"nats://[::1]:6222", "nats", "[::1]:6222", NULL, NULL},
    {"nats://[::1%25en0]:1", "nats", "[::1%25en0]:1", NULL, NULL},
    {"nats://h:", "nats", "h:", NULL, NULL},
    {"nats://h%C3%A9:1", "nats", "h%C3%A9:1", NULL, NULL},
    {"h:1", "h", "", NULL, NULL},
    {"h/x:1", "", "", NULL, NULL},
    {"", "", "", NULL, NULL},
    {"nats://h:1?x=%zz", "nats", "h:1", NULL, NULL},
};

ND_TEST(gourl, refused_with_go_reasons)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		nd_go_url_t u;
		char err[256] = "";
		cr_assert_eq(nd_go_url_parse(bad[i].in, &u, err, sizeof(err)), -1, "%s", bad[i].in);
		cr_assert_str_eq(err, bad[i].err, "%s", bad[i].in);
		cr_assert_null(u.host);
	}
}

ND_TEST(gourl, parts_of_accepted_urls)
{
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		nd_go_url_t u;
		char err[256] = "";
		cr_assert_eq(nd_go_url_parse(good[i].in, &u, err, sizeof(err)), 0, "%s: %s",
			     good[i].in, err);
		cr_assert_str_eq(u.scheme, good[i].scheme, "%s", good[i].in);
		cr_assert_str_eq(u.host, good[i].host, "%s", good[i].in);
		if (good[i].user == NULL)
			cr_assert_null(u.user, "%s", good[i].in);
		else
			cr_assert_str_eq(u.user, good[i].user, "%s", good[i].in);
		if (good[i].password == NULL)
			cr_assert_null(u.password, "%s", good[i].in);
		else
			cr_assert_str_eq(u.password, good[i].password, "%s", good[i].in);
		nd_go_url_deinit(&u);
	}
}
