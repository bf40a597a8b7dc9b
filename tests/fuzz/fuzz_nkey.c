/* libFuzzer target: nkey public key and seed decoding, signature verification (base64 forms,
 * Ed25519), base64 decoding in every form, and the bcrypt-shape rule of passwords. Checks that
 * whatever decodes re-encodes and decodes to the same bytes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/base64.h"
#include "protocol/nkey.h"
#include "protocol/password.h"

/* The nk tool README's published key and its signature of "Hello World!\n". */
#define NK_PUB "UD466L6EBCM3YY5HEGHJANNTN4LSKTSUXTH7RILHCKEQMQHTBNLHJJXT"
#define NK_SIG                                                                                     \
	"0CK1XmkxNfUGfudxliWTWeoETgIo23m9qowS9yTfYFSrjR8HgAW63jQ3NxPU_jG38hZPW61IZSun37N690CkDg"
#define NK_MSG "Hello World!\n"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_nkey: %s\n", what);
		abort();
	}
}

static void base64_round_trip(nd_base64_form_t form, const uint8_t *data, size_t size)
{
	uint8_t out[512], again[512];
	size_t n = 0, m = 0;
	if (nd_base64_decode(form, (const char *)data, size, out, sizeof(out), &n) != 0)
		return;
	check(n <= size, "decoded more bytes than characters");
	if (n > sizeof(out))
		return;
	char *text = malloc(nd_base64_encoded_len(form, n) + 1);
	size_t len = nd_base64_encode(form, out, n, text);
	check(nd_base64_decode(form, text, len, again, sizeof(again), &m) == 0, "re-decode");
	check(m == n && memcmp(out, again, n) == 0, "round trip");
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';

	uint8_t key[32], seed[32], prefix;
	if (nd_nkey_decode(text, ND_NKEY_PREFIX_USER, key) == 0) {
		char back[ND_NKEY_LEN + 1];
		nd_nkey_encode(ND_NKEY_PREFIX_USER, key, back);
		check(strcmp(back, text) == 0, "public key round trip");
	}
	if (nd_nkey_decode_seed(text, &prefix, seed) == 0) {
		char back[ND_NKEY_SEED_LEN + 1];
		check(nd_nkey_encode_seed(prefix, seed, back) == 0, "seed re-encode");
		uint8_t again[32];
		check(nd_nkey_decode_seed(back, NULL, again) == 0 && memcmp(again, seed, 32) == 0,
		      "seed round trip");
	}

	/* The input as the signature, as the key, as the signed message. */
	nd_nkey_verify(NK_PUB, (const char *)data, size, NK_MSG, strlen(NK_MSG));
	nd_nkey_verify(text, NK_SIG, strlen(NK_SIG), NK_MSG, strlen(NK_MSG));
	check(nd_nkey_verify(NK_PUB, NK_SIG, strlen(NK_SIG), data, size) ==
		  (size == strlen(NK_MSG) && memcmp(data, NK_MSG, size) == 0 ? 0 : -1),
	      "verify of another message");

	for (int f = ND_BASE64_STD; f <= ND_BASE64_RAW_URL; f++)
		base64_round_trip((nd_base64_form_t)f, data, size);

	/* Plain comparison always; bcrypt only at costs that keep an input fast. */
	if (!nd_password_is_bcrypt(text) || (text[4] == '0' && text[5] <= '5'))
		nd_password_matches_n(text, text, size);
	free(text);
	return 0;
}
