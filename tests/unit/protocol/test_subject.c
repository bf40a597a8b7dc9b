/* Subject validity and matching, as the reference server decides them. */
#include <string.h>

#include "protocol/subject.h"
#include "tests/support/nd_test.h"

#define S(x) x, strlen(x)

ND_TEST(subject, sub_validity)
{
	static const char *ok[] = {"foo", "foo.bar", "foo.*", "foo.>",     "*",          ">",
				   "f*o", "f>o.*",   "*.*.>", "a.b.c.d.e", "\xc3\xb6.x", "foo.>o"};
	static const char *bad[] = {"",         ".",         "foo.", ".foo",
				    "foo..bar", "foo.>.bar", ">.a",  "a.>.>"};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		cr_assert(nd_subject_valid_sub(S(ok[i])), "%s should be valid", ok[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_not(nd_subject_valid_sub(S(bad[i])), "%s should be invalid", bad[i]);
}

ND_TEST(subject, pub_validity_for_pedantic)
{
	cr_assert(nd_subject_valid_pub(S("foo.bar")));
	cr_assert(nd_subject_valid_pub(S("f*o.b>r")));
	cr_assert_not(nd_subject_valid_pub(S("foo.*")));
	cr_assert_not(nd_subject_valid_pub(S(">")));
	cr_assert_not(nd_subject_valid_pub(S("foo..bar")));
	cr_assert_not(nd_subject_valid_pub(S("")));
	cr_assert(nd_subject_is_literal(S("foo.bar")));
	cr_assert_not(nd_subject_is_literal(S("foo.*")));
}

ND_TEST(subject, matching)
{
	struct {
		const char *pattern, *subject;
		bool match;
	} cases[] = {
	    {"foo", "foo", true},
	    {"foo", "bar", false},
	    {"foo.*", "foo.bar", true},
	    {"foo.*", "foo", false},
	    {"foo.*", "foo.bar.baz", false},
	    {"foo.>", "foo.bar", true},
	    {"foo.>", "foo.bar.baz", true},
	    {"foo.>", "foo", false},
	    {">", "foo", true},
	    {">", "a.b.c", true},
	    {"*", "foo", true},
	    {"*", "foo.bar", false},
	    {"*.bar", "foo.bar", true},
	    {"foo.*", "foo.*", true},
	    {"foo.>", "foo.*", true},
	    {"foo.bar", "foo.*", false},
	    {"foo.bar", "*", false},
	    {">", ".foo", false},
	    {"foo.>", "foo..bar", false},
	    {"foo", "foo.", false},
	    {">", "foo.", false},
	    {"f*o", "f*o", true},
	    {"f*o", "fxo", false},
	    {"*.*", "a.b", true},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_assert_eq(nd_subject_matches(S(cases[i].pattern), S(cases[i].subject)),
			     cases[i].match, "%s vs %s", cases[i].pattern, cases[i].subject);
}

ND_TEST(subject, tokenize)
{
	const char *st[4];
	size_t ln[4];
	cr_assert_eq(nd_subject_tokenize(S("a.bb..c"), st, ln, 4), 4);
	cr_assert_eq(ln[0], 1);
	cr_assert_eq(ln[1], 2);
	cr_assert_eq(ln[2], 0);
	cr_assert_eq(ln[3], 1);
	cr_assert_eq(nd_subject_tokenize(S("a.b.c.d.e"), st, ln, 4), 5);
}
