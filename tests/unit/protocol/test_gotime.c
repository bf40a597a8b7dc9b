/* Go's duration parsing and formatting and %v of floats: table tests with the values and
 * messages Go 1.19's time and fmt packages give. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "protocol/gotime.h"
#include "tests/support/nd_test.h"

static const struct {
	const char *in;
	int64_t ns;
} good[] = {
    {"0", 0},
    {"+0", 0},
    {"-0", 0},
    {"-0s", 0},
    {"5s", 5000000000},
    {"30s", 30000000000},
    {"1478s", 1478000000000},
    {"-5s", -5000000000},
    {"+5s", 5000000000},
    {"5.0s", 5000000000},
    {"5.6s", 5600000000},
    {"5.s", 5000000000},
    {".5s", 500000000},
    {"1.004s", 1004000000},
    {"100.00100s", 100001000000},
    {"10ns", 10},
    {"11us", 11000},
    {"12\xc2\xb5s", 12000},
    {"12\xce\xbcs", 12000},
    {"13ms", 13000000},
    {"15m", 900000000000},
    {"16h", 57600000000000},
    {"3h30m", 12600000000000},
    {"10.5s4m", 250500000000},
    {"-2m3.4s", -123400000000},
    {"1h2m3s4ms5us6ns", 3723004005006},
    {"39h9m14.425s", 140954425000000},
    {"52763797000ns", 52763797000},
    {"0.3333333333333333333h", 1200000000000},
    {"9007199254740993ns", 9007199254740993},
    {"9223372036854775807ns", INT64_MAX},
    {"9223372036854775.807us", INT64_MAX},
    {"9223372036s854ms775us807ns", INT64_MAX},
    {"-9223372036854775808ns", INT64_MIN},
    {"-9223372036854775.808us", INT64_MIN},
    {"0.100000000000000000000h", 360000000000},
    {"0.830103483285477580700h", 2988372539827},
};

ND_TEST(gotime, parse_good)
{
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int64_t want = good[i].ns;
		int64_t ns = 12345;
		char err[128] = "";
		int rc = nd_go_parse_duration(good[i].in, &ns, err, sizeof(err));
		cr_expect_eq(rc, 0, "%s: %s", good[i].in, err);
		cr_expect_eq(ns, want, "%s: got %lld want %lld", good[i].in, (long long)ns,
			     (long long)want);
	}
}

static const struct {
	const char *in, *err;
} bad[] = {
    {"", "time: invalid duration \"\""},
    {"3", "time: missing unit in duration \"3\""},
    {"60", "time: missing unit in duration \"60\""},
    {"-", "time: invalid duration \"-\""},
    {"s", "time: invalid duration \"s\""},
    {".", "time: invalid duration \".\""},
    {"-.", "time: invalid duration \"-.\""},
    {".s", "time: invalid duration \".s\""},
    {"+.s", "time: invalid duration \"+.s\""},
    {"abc", "time: invalid duration \"abc\""},
    {"1d", "time: unknown unit \"d\" in duration \"1d\""},
    {"2x", "time: unknown unit \"x\" in duration \"2x\""},
    {"1.1.1s", "time: missing unit in duration \"1.1.1s\""},
    {"1s ", "time: unknown unit \"s \" in duration \"1s \""},
    {"3\xc2\xb5", "time: unknown unit \"\\xc2\\xb5\" in duration \"3\\xc2\\xb5\""},
    {"x\"y", "time: invalid duration \"x\\\"y\""},
    {"9223372036854775808ns", "time: invalid duration \"9223372036854775808ns\""},
    {"9223372036854775.808us", "time: invalid duration \"9223372036854775.808us\""},
    {"9223372036s854ms775us808ns", "time: invalid duration \"9223372036s854ms775us808ns\""},
    {"-9223372036854775809ns", "time: invalid duration \"-9223372036854775809ns\""},
    {"99999999999999999999s", "time: invalid duration \"99999999999999999999s\""},
    {"3000000h", "time: invalid duration \"3000000h\""},
};

ND_TEST(gotime, parse_bad)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t ns = 777;
		char err[128] = "";
		int rc = nd_go_parse_duration(bad[i].in, &ns, err, sizeof(err));
		cr_expect_eq(rc, -1, "%s parsed", bad[i].in);
		cr_expect_str_eq(err, bad[i].err, "%s: got <%s> want <%s>", bad[i].in, err,
				 bad[i].err);
	}
	/* A short buffer is truncated, never overrun. */
	char small[8];
	int64_t ns;
	cr_assert_eq(nd_go_parse_duration("abc", &ns, small, sizeof(small)), -1);
	cr_assert_str_eq(small, "time: i");
}

static const struct {
	int64_t ns;
	const char *s;
} durations[] = {
    {0, "0s"},
    {1, "1ns"},
    {1100, "1.1\xc2\xb5s"},
    {2200000, "2.2ms"},
    {500000000, "500ms"},
    {3300000000, "3.3s"},
    {1500000000, "1.5s"},
    {-1500000000, "-1.5s"},
    {10000000000, "10s"},
    {120000000000, "2m0s"},
    {90000000000, "1m30s"},
    {245000000000, "4m5s"},
    {245001000000, "4m5.001s"},
    {18367001000000, "5h6m7.001s"},
    {480000000001, "8m0.000000001s"},
    {3600000000000, "1h0m0s"},
    {INT64_MAX, "2562047h47m16.854775807s"},
    {INT64_MIN, "-2562047h47m16.854775808s"},
};

ND_TEST(gotime, format_duration)
{
	for (size_t i = 0; i < sizeof(durations) / sizeof(durations[0]); i++) {
		char out[32];
		size_t n = nd_go_format_duration(durations[i].ns, out, sizeof(out));
		cr_expect_str_eq(out, durations[i].s, "%lld: got %s", (long long)durations[i].ns,
				 out);
		cr_expect_eq(n, strlen(durations[i].s));
		/* What is printed parses back to the same value. */
		int64_t back;
		char err[128];
		cr_expect_eq(nd_go_parse_duration(out, &back, err, sizeof(err)), 0, "%s", err);
		cr_expect_eq(back, durations[i].ns);
	}
}

static const struct {
	double v;
	const char *s;
} floats[] = {
    {1.25, "1.25"},      {0.5, "0.5"},       {100, "100"},
    {-2.5, "-2.5"},      {0.1, "0.1"},       {1.0 / 3.0, "0.3333333333333333"},
    {123456, "123456"},  {1e6, "1e+06"},     {1234567, "1.234567e+06"},
    {1e21, "1e+21"},     {0.0001, "0.0001"}, {0.00001, "1e-05"},
    {1.5e-7, "1.5e-07"}, {5e-324, "5e-324"}, {1.7976931348623157e308, "1.7976931348623157e+308"},
    {1e100, "1e+100"},   {0, "0"},
};

ND_TEST(gotime, format_float)
{
	for (size_t i = 0; i < sizeof(floats) / sizeof(floats[0]); i++) {
		char out[32];
		size_t n = nd_go_format_float(floats[i].v, out, sizeof(out));
		cr_expect_str_eq(out, floats[i].s, "%.17g: got %s want %s", floats[i].v, out,
				 floats[i].s);
		cr_expect_eq(n, strlen(floats[i].s));
	}
	char out[32];
	nd_go_format_float(NAN, out, sizeof(out));
	cr_expect_str_eq(out, "NaN");
	nd_go_format_float(-INFINITY, out, sizeof(out));
	cr_expect_str_eq(out, "-Inf");
	nd_go_format_float(INFINITY, out, sizeof(out));
	cr_expect_str_eq(out, "+Inf");
	nd_go_format_float(-0.0, out, sizeof(out));
	cr_expect_str_eq(out, "-0");
}
