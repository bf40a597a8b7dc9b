/* Base64 in Go's four forms; the decoding cases are Go's encoding/base64 behaviour, which the
 * reference server relies on for nkey signatures. */
#include <string.h>

#include "protocol/base64.h"
#include "tests/support/nd_test.h"

static const nd_base64_form_t forms[] = {ND_BASE64_STD, ND_BASE64_RAW_STD, ND_BASE64_URL,
					 ND_BASE64_RAW_URL};

/* Decodes the NUL-terminated text; returns the length, or -1 if invalid. */
static long dec(nd_base64_form_t form, const char *text, uint8_t *out, size_t cap)
{
	size_t n = 0;
	if (nd_base64_decode(form, text, strlen(text), out, cap, &n) != 0)
		return -1;
	return (long)n;
}

static void expect_decodes(nd_base64_form_t form, const char *text, const char *bytes)
{
	uint8_t out[64];
	long n = dec(form, text, out, sizeof(out));
	cr_assert_eq(n, (long)strlen(bytes), "form %d: \"%s\" decoded to %ld bytes", form, text, n);
	cr_assert(memcmp(out, bytes, (size_t)n) == 0, "form %d: \"%s\" bytes differ", form, text);
}

static void expect_invalid(nd_base64_form_t form, const char *text)
{
	uint8_t out[64];
	cr_assert_eq(dec(form, text, out, sizeof(out)), -1, "form %d: \"%s\" should be invalid",
		     form, text);
}

ND_TEST(base64, rfc4648_vectors)
{
	static const char *plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *padded[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
				       "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
	static const char *raw[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		char out[16];
		size_t n = strlen(plain[i]);
		cr_assert_eq(nd_base64_encode(ND_BASE64_STD, plain[i], n, out), strlen(padded[i]));
		cr_assert_str_eq(out, padded[i]);
		cr_assert_eq(nd_base64_encoded_len(ND_BASE64_URL, n), strlen(padded[i]));
		cr_assert_eq(nd_base64_encode(ND_BASE64_RAW_URL, plain[i], n, out), strlen(raw[i]));
		cr_assert_str_eq(out, raw[i]);
		cr_assert_eq(nd_base64_encoded_len(ND_BASE64_RAW_STD, n), strlen(raw[i]));
		expect_decodes(ND_BASE64_STD, padded[i], plain[i]);
		expect_decodes(ND_BASE64_URL, padded[i], plain[i]);
		expect_decodes(ND_BASE64_RAW_STD, raw[i], plain[i]);
		expect_decodes(ND_BASE64_RAW_URL, raw[i], plain[i]);
	}
}

ND_TEST(base64, alphabets)
{
	const uint8_t b[] = {0xfb, 0xff, 0xbf};
	char out[8];
	nd_base64_encode(ND_BASE64_STD, b, 2, out);
	cr_assert_str_eq(out, "+/8=");
	nd_base64_encode(ND_BASE64_URL, b, 2, out);
	cr_assert_str_eq(out, "-_8=");
	nd_base64_encode(ND_BASE64_RAW_STD, b, 3, out);
	cr_assert_str_eq(out, "+/+/");
	nd_base64_encode(ND_BASE64_RAW_URL, b, 3, out);
	cr_assert_str_eq(out, "-_-_");
	expect_decodes(ND_BASE64_STD, "+/8=", "\xfb\xff");
	expect_decodes(ND_BASE64_RAW_URL, "-_8", "\xfb\xff");
	expect_invalid(ND_BASE64_STD, "-_8=");
	expect_invalid(ND_BASE64_URL, "+/8=");
	expect_invalid(ND_BASE64_RAW_URL, "+/8");
	expect_invalid(ND_BASE64_RAW_STD, "-_8");
}

ND_TEST(base64, round_trips_every_length_and_form)
{
	uint8_t in[100], back[100];
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 37 + 11);
	for (size_t f = 0; f < 4; f++)
		for (size_t n = 0; n <= sizeof(in); n++) {
			char text[160];
			size_t len = nd_base64_encode(forms[f], in, n, text);
			cr_assert_eq(len, nd_base64_encoded_len(forms[f], n));
			size_t got = 0;
			cr_assert_eq(
			    nd_base64_decode(forms[f], text, len, back, sizeof(back), &got), 0);
			cr_assert_eq(got, n);
			cr_assert(memcmp(back, in, n) == 0);
		}
}

ND_TEST(base64, padding_rules_as_go)
{
	/* A padded form needs its padding; a raw form has none. */
	expect_invalid(ND_BASE64_STD, "Zm8");
	expect_invalid(ND_BASE64_STD, "Zg");
	expect_invalid(ND_BASE64_RAW_URL, "Zm8=");
	expect_invalid(ND_BASE64_RAW_STD, "Zg==");
	/* Incomplete padding, padding too early, padding alone. */
	expect_invalid(ND_BASE64_STD, "Zg=");
	expect_invalid(ND_BASE64_STD, "Z===");
	expect_invalid(ND_BASE64_STD, "====");
	expect_invalid(ND_BASE64_STD, "Zm9v====");
	expect_invalid(ND_BASE64_STD, "Zm8==");
	/* Nothing but line breaks after the padding. */
	expect_invalid(ND_BASE64_STD, "Zm8=Zm8=");
	expect_invalid(ND_BASE64_STD, "Zg==\nx");
	expect_decodes(ND_BASE64_STD, "Zg==\r\n", "f");
	expect_decodes(ND_BASE64_STD, "Zg=\n=", "f");
	/* One character left over is never a byte. */
	expect_invalid(ND_BASE64_RAW_URL, "Z");
	expect_invalid(ND_BASE64_RAW_URL, "Zm9vY");
	expect_invalid(ND_BASE64_STD, "Zm9vY");
}

ND_TEST(base64, go_leniencies)
{
	/* Line breaks anywhere are skipped. */
	expect_decodes(ND_BASE64_RAW_URL, "Zm\r\n9v\n", "foo");
	expect_decodes(ND_BASE64_STD, "\nZm9v\nYmFy\n", "foobar");
	expect_decodes(ND_BASE64_RAW_URL, "\r\n\n", "");
	/* Unused low bits of the last character are ignored (Go's decoders are not Strict). */
	expect_decodes(ND_BASE64_RAW_URL, "Zh", "f");
	expect_decodes(ND_BASE64_STD, "Zm9=", "fo");
	/* Anything else outside the alphabet is not. */
	expect_invalid(ND_BASE64_RAW_URL, "Zm 9v");
	expect_invalid(ND_BASE64_RAW_URL, "Zm9v\t");
	expect_invalid(ND_BASE64_STD, "Zm9*");
	uint8_t out[4];
	size_t n = 9;
	cr_assert_eq(nd_base64_decode(ND_BASE64_RAW_URL, "Zm\0v", 4, out, sizeof(out), &n), -1);
}

ND_TEST(base64, reports_full_length_beyond_cap)
{
	uint8_t out[2] = {0, 0};
	size_t n = 0;
	cr_assert_eq(nd_base64_decode(ND_BASE64_STD, "Zm9vYmFy", 8, out, sizeof(out), &n), 0);
	cr_assert_eq(n, 6);
	cr_assert_eq(out[0], 'f');
	cr_assert_eq(out[1], 'o');
	cr_assert_eq(nd_base64_decode(ND_BASE64_RAW_URL, "Zm9vYmFy", 8, NULL, 0, &n), 0);
	cr_assert_eq(n, 6);
}
