/* NKeys: public keys and seeds, signatures as clients send them, nonces; vectors published by
 * NATS, and interop with the official C client (libnats) signing with seeds we encode. */
#include <arpa/inet.h>
#include <nats/nats.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "protocol/base64.h"
#include "protocol/connect.h"
#include "protocol/nkey.h"
#include "tests/support/nd_creds.h"
#include "tests/support/nd_test.h"

/* From the NATS docs (NKeys auth page: `nk -gen user -pubout`). */
#define DOCS_SEED "SUACSSL3UAHUDXKFSNVUZRF5UHPMWZ6BFDTJ7M6USDXIEDNPPQYYYCU3VY"
#define DOCS_PUB "UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4"
/* From the nk tool's README: a seed, its public key, and the signature `nk -sign` made of a
 * file holding "Hello World!\n" (made by the Go nkeys library, so a foreign signature). */
#define NK_SEED "SUAKYRHVIOREXV7EUZTBHUHL7NUMHPMAS7QMDU3GTIUWEI5LDNOXD43IZY"
#define NK_PUB "UD466L6EBCM3YY5HEGHJANNTN4LSKTSUXTH7RILHCKEQMQHTBNLHJJXT"
#define NK_SIG                                                                                     \
	"0CK1XmkxNfUGfudxliWTWeoETgIo23m9qowS9yTfYFSrjR8HgAW63jQ3NxPU_jG38hZPW61IZSun37N690CkDg"

static const uint8_t public_prefixes[] = {ND_NKEY_PREFIX_ACCOUNT, ND_NKEY_PREFIX_CLUSTER,
					  ND_NKEY_PREFIX_SERVER, ND_NKEY_PREFIX_OPERATOR,
					  ND_NKEY_PREFIX_USER};
static const char public_letters[] = "ACNOU";

/* An independent encoder for crafting keys the API refuses to make: base32 of raw[0..n) plus
 * its little-endian CRC16. */
static void craft(const uint8_t *raw, size_t n, char *out)
{
	uint8_t buf[64];
	memcpy(buf, raw, n);
	uint16_t crc = nd_crc16(raw, n);
	buf[n] = (uint8_t)crc;
	buf[n + 1] = (uint8_t)(crc >> 8);
	size_t bits = (n + 2) * 8, o = 0;
	for (size_t b = 0; b < bits; b += 5) {
		unsigned v = 0;
		for (size_t k = b; k < b + 5; k++)
			v = v << 1 | (k < bits ? (buf[k / 8] >> (7 - k % 8)) & 1u : 0u);
		out[o++] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"[v];
	}
	out[o] = '\0';
}

static int verify_text(const char *pub, const char *sig, const char *msg)
{
	return nd_nkey_verify(pub, sig, strlen(sig), msg, strlen(msg));
}

ND_TEST(nkey, public_round_trip_every_type)
{
	for (size_t i = 0; i < sizeof(public_prefixes); i++) {
		uint8_t key[32], back[32];
		for (int k = 0; k < 32; k++)
			key[k] = (uint8_t)(i * 31 + (size_t)k * 7);
		char text[ND_NKEY_LEN + 1];
		nd_nkey_encode(public_prefixes[i], key, text);
		cr_assert_eq(strlen(text), ND_NKEY_LEN);
		cr_assert_eq(text[0], public_letters[i]);
		cr_assert_eq(nd_nkey_decode(text, public_prefixes[i], back), 0);
		cr_assert(memcmp(key, back, 32) == 0);
		/* Any other prefix is refused. */
		for (size_t j = 0; j < sizeof(public_prefixes); j++)
			if (j != i)
				cr_assert_eq(nd_nkey_decode(text, public_prefixes[j], back), -1);
	}
}

ND_TEST(nkey, decode_rejects_bad_text)
{
	uint8_t key[32];
	cr_assert_eq(nd_nkey_decode(DOCS_PUB, ND_NKEY_PREFIX_USER, key), 0);
	/* Every single-character change breaks the CRC (a 5-bit burst; CRC16 catches them all). */
	for (size_t i = 0; i < ND_NKEY_LEN; i++) {
		char t[] = DOCS_PUB;
		t[i] = t[i] == 'A' ? 'B' : 'A';
		cr_assert_eq(nd_nkey_decode(t, ND_NKEY_PREFIX_USER, key), -1, "position %zu", i);
	}
	/* Lengths, characters outside the alphabet (lowercase, 0, 1, 8, 9, padding). */
	cr_assert_eq(nd_nkey_decode("", ND_NKEY_PREFIX_USER, key), -1);
	cr_assert_eq(nd_nkey_decode(NULL, ND_NKEY_PREFIX_USER, key), -1);
	cr_assert_eq(nd_nkey_decode(DOCS_PUB "A", ND_NKEY_PREFIX_USER, key), -1);
	char shorter[] = DOCS_PUB;
	shorter[ND_NKEY_LEN - 1] = '\0';
	cr_assert_eq(nd_nkey_decode(shorter, ND_NKEY_PREFIX_USER, key), -1);
	const char bad[] = "abc0189= ";
	for (size_t b = 0; b < sizeof(bad) - 1; b++) {
		char t[] = DOCS_PUB;
		t[10] = bad[b];
		cr_assert_eq(nd_nkey_decode(t, ND_NKEY_PREFIX_USER, key), -1, "char '%c'", bad[b]);
	}
	char lower[] = DOCS_PUB;
	for (char *p = lower; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	cr_assert_eq(nd_nkey_decode(lower, ND_NKEY_PREFIX_USER, key), -1);
	/* A seed is not a public key. */
	cr_assert_eq(nd_nkey_decode(DOCS_SEED, ND_NKEY_PREFIX_USER, key), -1);
}

ND_TEST(nkey, decode_compares_the_whole_prefix_byte)
{
	/* nkeys v0.3.0 (reference 2.9) checks raw[0] == prefix: low bits set make another key type
	 * even though the text still starts with 'U'. */
	uint8_t raw[33] = {ND_NKEY_PREFIX_USER | 1};
	char text[64];
	craft(raw, sizeof(raw), text);
	cr_assert_eq(strlen(text), ND_NKEY_LEN);
	cr_assert_eq(text[0], 'U');
	uint8_t key[32];
	cr_assert_eq(nd_nkey_decode(text, ND_NKEY_PREFIX_USER, key), -1);
	/* And the crafted encoder agrees with ours on a real key. */
	raw[0] = ND_NKEY_PREFIX_USER;
	craft(raw, sizeof(raw), text);
	char ours[ND_NKEY_LEN + 1];
	nd_nkey_encode(ND_NKEY_PREFIX_USER, raw + 1, ours);
	cr_assert_str_eq(text, ours);
}

ND_TEST(nkey, published_vectors)
{
	uint8_t prefix = 0, seed[32], key[32];
	char text[ND_NKEY_SEED_LEN + 1], pub[ND_NKEY_LEN + 1];
	const char *seeds[] = {DOCS_SEED, NK_SEED}, *pubs[] = {DOCS_PUB, NK_PUB};
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(nd_nkey_decode_seed(seeds[i], &prefix, seed), 0);
		cr_assert_eq(prefix, ND_NKEY_PREFIX_USER);
		cr_assert_eq(nd_nkey_encode_seed(prefix, seed, text), 0);
		cr_assert_str_eq(text, seeds[i]);
		cr_assert_eq(nd_creds_public_from_seed(seeds[i], pub), 0);
		cr_assert_str_eq(pub, pubs[i]);
		cr_assert_eq(nd_nkey_decode(pubs[i], ND_NKEY_PREFIX_USER, key), 0);
	}
	cr_assert_eq(verify_text(NK_PUB, NK_SIG, "Hello World!\n"), 0);
	cr_assert_eq(verify_text(NK_PUB, NK_SIG, "Hello World!"), -1);
	cr_assert_eq(verify_text(DOCS_PUB, NK_SIG, "Hello World!\n"), -1);
}

ND_TEST(nkey, seed_round_trip_every_type)
{
	for (size_t i = 0; i < sizeof(public_prefixes); i++) {
		uint8_t raw[32], back[32], prefix = 0xff;
		for (int k = 0; k < 32; k++)
			raw[k] = (uint8_t)(255 - i * 13 - (size_t)k);
		char text[ND_NKEY_SEED_LEN + 1];
		cr_assert_eq(nd_nkey_encode_seed(public_prefixes[i], raw, text), 0);
		cr_assert_eq(strlen(text), ND_NKEY_SEED_LEN);
		cr_assert_eq(text[0], 'S');
		cr_assert_eq(text[1], public_letters[i], "seed %s", text);
		cr_assert_eq(nd_nkey_decode_seed(text, &prefix, back), 0);
		cr_assert_eq(prefix, public_prefixes[i]);
		cr_assert(memcmp(raw, back, 32) == 0);
		cr_assert_eq(nd_nkey_decode_seed(text, NULL, back), 0);
	}
	uint8_t raw[32] = {0};
	char text[ND_NKEY_SEED_LEN + 1];
	cr_assert_eq(nd_nkey_encode_seed(ND_NKEY_PREFIX_SEED, raw, text), -1);
	cr_assert_eq(nd_nkey_encode_seed(15u << 3 /* private */, raw, text), -1);
	cr_assert_eq(nd_nkey_encode_seed(1, raw, text), -1);
}

ND_TEST(nkey, decode_seed_rejects_and_tolerates_as_go)
{
	uint8_t raw[32];
	for (size_t i = 0; i < ND_NKEY_SEED_LEN - 1; i++) {
		char t[] = DOCS_SEED;
		t[i] = t[i] == 'A' ? 'B' : 'A';
		cr_assert_eq(nd_nkey_decode_seed(t, NULL, raw), -1, "position %zu", i);
	}
	cr_assert_eq(nd_nkey_decode_seed(DOCS_PUB, NULL, raw), -1);
	cr_assert_eq(nd_nkey_decode_seed(DOCS_SEED "A", NULL, raw), -1);
	cr_assert_eq(nd_nkey_decode_seed("", NULL, raw), -1);
	cr_assert_eq(nd_nkey_decode_seed(NULL, NULL, raw), -1);
	/* 58 characters carry 290 bits for 288: Go ignores the last two, so do we. */
	char t[] = DOCS_SEED;
	t[ND_NKEY_SEED_LEN - 1] = 'Z'; /* 'Y' = 24, 'Z' = 25: only the ignored bits differ */
	uint8_t a[32], b[32];
	cr_assert_eq(nd_nkey_decode_seed(DOCS_SEED, NULL, a), 0);
	cr_assert_eq(nd_nkey_decode_seed(t, NULL, b), 0);
	cr_assert(memcmp(a, b, 32) == 0);
	/* Crafted seeds: a non-seed first prefix, a non-public type; and the low three bits of the
	 * second byte, which DecodeSeed does not look at. */
	uint8_t s[34] = {0};
	char text[64];
	s[0] = (uint8_t)(ND_NKEY_PREFIX_SERVER | ND_NKEY_PREFIX_USER >> 5);
	s[1] = (uint8_t)((ND_NKEY_PREFIX_USER & 31) << 3);
	craft(s, sizeof(s), text);
	cr_assert_eq(nd_nkey_decode_seed(text, NULL, raw), -1);
	s[0] = (uint8_t)(ND_NKEY_PREFIX_SEED | (15u << 3) >> 5);
	s[1] = (uint8_t)(((15u << 3) & 31) << 3);
	craft(s, sizeof(s), text);
	cr_assert_eq(nd_nkey_decode_seed(text, NULL, raw), -1);
	s[0] = (uint8_t)(ND_NKEY_PREFIX_SEED | ND_NKEY_PREFIX_USER >> 5);
	s[1] = (uint8_t)((ND_NKEY_PREFIX_USER & 31) << 3 | 7);
	craft(s, sizeof(s), text);
	uint8_t prefix = 0;
	cr_assert_eq(nd_nkey_decode_seed(text, &prefix, raw), 0);
	cr_assert_eq(prefix, ND_NKEY_PREFIX_USER);
}

ND_TEST(nkey, verify_signatures)
{
	nd_creds_nkey_t u, other;
	nd_creds_nkey_create(ND_NKEY_PREFIX_USER, &u);
	nd_creds_nkey_create(ND_NKEY_PREFIX_USER, &other);
	cr_assert_eq(u.public_key[0], 'U');
	cr_assert_eq(strncmp(u.seed, "SU", 2), 0);
	char nonce[ND_NKEY_NONCE_LEN + 1];
	nd_nkey_nonce(nonce);
	char sig[ND_CREDS_SIG_TEXT_LEN + 1];
	nd_creds_sign_nonce(u.seed, nonce, sig);
	cr_assert_eq(strlen(sig), ND_CREDS_SIG_TEXT_LEN);
	cr_assert_eq(verify_text(u.public_key, sig, nonce), 0);
	/* Wrong key, wrong message, the raw nonce bytes instead of its text. */
	cr_assert_eq(verify_text(other.public_key, sig, nonce), -1);
	char other_nonce[ND_NKEY_NONCE_LEN + 1];
	nd_nkey_nonce(other_nonce);
	cr_assert_eq(verify_text(u.public_key, sig, other_nonce), -1);
	uint8_t raw[16];
	size_t n;
	cr_assert_eq(
	    nd_base64_decode(ND_BASE64_RAW_URL, nonce, ND_NKEY_NONCE_LEN, raw, sizeof(raw), &n), 0);
	cr_assert_eq(nd_nkey_verify(u.public_key, sig, strlen(sig), raw, n), -1);
	/* Every bit of the signature matters. */
	uint8_t bin[ND_NKEY_SIG_LEN];
	cr_assert_eq(nd_creds_sign(u.seed, nonce, strlen(nonce), bin), 0);
	for (size_t bit = 0; bit < 8 * sizeof(bin); bit += 7) {
		uint8_t t[ND_NKEY_SIG_LEN];
		memcpy(t, bin, sizeof(t));
		t[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		char text[ND_CREDS_SIG_TEXT_LEN + 1];
		nd_base64_encode(ND_BASE64_RAW_URL, t, sizeof(t), text);
		cr_assert_eq(verify_text(u.public_key, text, nonce), -1, "bit %zu", bit);
	}
	/* Truncated, extended, empty, missing. */
	cr_assert_eq(
	    nd_nkey_verify(u.public_key, sig, ND_CREDS_SIG_TEXT_LEN - 1, nonce, ND_NKEY_NONCE_LEN),
	    -1);
	cr_assert_eq(
	    nd_nkey_verify(u.public_key, sig, ND_CREDS_SIG_TEXT_LEN - 2, nonce, ND_NKEY_NONCE_LEN),
	    -1);
	char longer[ND_CREDS_SIG_TEXT_LEN + 8];
	snprintf(longer, sizeof(longer), "%sAA", sig);
	cr_assert_eq(verify_text(u.public_key, longer, nonce), -1);
	cr_assert_eq(verify_text(u.public_key, "", nonce), -1);
	cr_assert_eq(nd_nkey_verify(u.public_key, NULL, 0, nonce, ND_NKEY_NONCE_LEN), -1);
	/* A bad public key: CRC, a seed, NULL. */
	char bad[ND_NKEY_LEN + 1];
	memcpy(bad, u.public_key, sizeof(bad));
	bad[20] = bad[20] == 'A' ? 'B' : 'A';
	cr_assert_eq(verify_text(bad, sig, nonce), -1);
	cr_assert_eq(verify_text(u.seed, sig, nonce), -1);
	cr_assert_eq(verify_text(NULL, sig, nonce), -1);
}

ND_TEST(nkey, verify_base64_forms_as_the_reference)
{
	/* server/auth.go: RawURLEncoding, then StdEncoding. Use a key pair whose signature has
	 * characters that differ between the alphabets, so that the other two forms are tested
	 * for real (a signature has 86 characters: almost every one has a '-' or '_'). */
	nd_creds_nkey_t u;
	char nonce[ND_NKEY_NONCE_LEN + 1];
	uint8_t bin[ND_NKEY_SIG_LEN];
	char raw_url[96];
	for (int tries = 0;; tries++) {
		cr_assert_lt(tries, 100);
		nd_creds_nkey_create(ND_NKEY_PREFIX_USER, &u);
		nd_nkey_nonce(nonce);
		cr_assert_eq(nd_creds_sign(u.seed, nonce, strlen(nonce), bin), 0);
		nd_base64_encode(ND_BASE64_RAW_URL, bin, sizeof(bin), raw_url);
		if (strpbrk(raw_url, "-_") != NULL)
			break;
	}
	char std[96], raw_std[96], url[96];
	nd_base64_encode(ND_BASE64_STD, bin, sizeof(bin), std);
	nd_base64_encode(ND_BASE64_RAW_STD, bin, sizeof(bin), raw_std);
	nd_base64_encode(ND_BASE64_URL, bin, sizeof(bin), url);
	cr_assert_eq(strlen(std), 88);
	cr_assert_eq(verify_text(u.public_key, raw_url, nonce), 0);
	cr_assert_eq(verify_text(u.public_key, std, nonce), 0);
	cr_assert_eq(verify_text(u.public_key, raw_std, nonce), -1);
	cr_assert_eq(verify_text(u.public_key, url, nonce), -1);
	/* Go's decoders skip line breaks (a JSON "\n" in "sig" survives into the string). */
	char split[100];
	snprintf(split, sizeof(split), "%.40s\r\n%s\n", raw_url, raw_url + 40);
	cr_assert_eq(verify_text(u.public_key, split, nonce), 0);
	snprintf(split, sizeof(split), "%.40s %s", raw_url, raw_url + 40);
	cr_assert_eq(verify_text(u.public_key, split, nonce), -1);
	/* Any public key type verifies (nkeys.FromPublicKey), e.g. an account's. */
	nd_creds_nkey_t a;
	nd_creds_nkey_create(ND_NKEY_PREFIX_ACCOUNT, &a);
	cr_assert_eq(a.public_key[0], 'A');
	char sig[ND_CREDS_SIG_TEXT_LEN + 1];
	nd_creds_sign_nonce(a.seed, nonce, sig);
	cr_assert_eq(verify_text(a.public_key, sig, nonce), 0);
}

ND_TEST(nkey, nonce_form_and_uniqueness)
{
	enum { N = 2000 };
	static char seen[N][ND_NKEY_NONCE_LEN + 1];
	for (int i = 0; i < N; i++) {
		char *s = seen[i];
		memset(s, 'x', ND_NKEY_NONCE_LEN + 1);
		nd_nkey_nonce(s);
		cr_assert_eq(strlen(s), ND_NKEY_NONCE_LEN, "nonce %s", s);
		cr_assert_eq(
		    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
		    ND_NKEY_NONCE_LEN, "nonce %s", s);
		uint8_t raw[16];
		size_t n;
		cr_assert_eq(
		    nd_base64_decode(ND_BASE64_RAW_URL, s, strlen(s), raw, sizeof(raw), &n), 0);
		cr_assert_eq(n, ND_NKEY_NONCE_RAW_LEN);
	}
	/* 88 random bits: a repeat among a few thousand means the randomness is broken. */
	int repeats = 0;
	for (int i = 0; i < N; i++)
		for (int j = i + 1; j < N; j++)
			repeats += strcmp(seen[i], seen[j]) == 0;
	cr_assert_eq(repeats, 0);
}

ND_TEST(nkey, libnats_nats_sign_verifies)
{
	/* libnats decodes our seeds and the published ones, and its signatures verify. */
	nd_creds_nkey_t u;
	nd_creds_nkey_create(ND_NKEY_PREFIX_USER, &u);
	const char *seeds[] = {u.seed, DOCS_SEED, NK_SEED};
	const char *pubs[] = {u.public_key, DOCS_PUB, NK_PUB};
	/* nats_Sign needs the library opened (its crypto is set up there). */
	cr_assert_eq(nats_Open(-1), NATS_OK);
	for (int i = 0; i < 3; i++) {
		char nonce[ND_NKEY_NONCE_LEN + 1];
		nd_nkey_nonce(nonce);
		unsigned char *sig = NULL;
		int len = 0;
		natsStatus s = nats_Sign(seeds[i], nonce, &sig, &len);
		cr_assert_eq(s, NATS_OK, "nats_Sign: %s", natsStatus_GetText(s));
		cr_assert_eq(len, ND_NKEY_SIG_LEN);
		char text[ND_CREDS_SIG_TEXT_LEN + 1];
		nd_base64_encode(ND_BASE64_RAW_URL, sig, (size_t)len, text);
		free(sig);
		cr_assert_eq(verify_text(pubs[i], text, nonce), 0, "seed %d", i);
		/* The same bytes as ours: Ed25519 signatures are deterministic. */
		char ours[ND_CREDS_SIG_TEXT_LEN + 1];
		nd_creds_sign_nonce(seeds[i], nonce, ours);
		cr_assert_str_eq(text, ours);
	}
	nats_CloseAndWait(5000);
}

/* A one-connection stand-in for a server with nkey auth: sends INFO with a nonce, decodes the
 * client's CONNECT with our decoder, verifies "sig" against "nkey" with nd_nkey_verify, and
 * answers PONG (accepted) or -ERR (refused). Only what libnats needs to finish connecting. */
typedef struct fake_server {
	int lfd, port;
	const char *expect_nkey;
	int verified; /* 1 accepted, 0 refused, -1 no CONNECT seen */
	char nkey[ND_NKEY_LEN + 8];
} fake_server_t;

static void *fake_server_run(void *arg)
{
	fake_server_t *fs = arg;
	fs->verified = -1;
	int fd = accept(fs->lfd, NULL, NULL);
	if (fd < 0)
		return NULL;
	char nonce[ND_NKEY_NONCE_LEN + 1];
	nd_nkey_nonce(nonce);
	char info[512];
	int n = snprintf(info, sizeof(info),
			 "INFO {\"server_id\":\"fake\",\"version\":\"2.9.10\",\"proto\":1,"
			 "\"host\":\"127.0.0.1\",\"port\":%d,\"headers\":true,"
			 "\"auth_required\":true,\"max_payload\":1048576,\"nonce\":\"%s\"}\r\n",
			 fs->port, nonce);
	if (write(fd, info, (size_t)n) != n)
		goto done;
	/* Read up to the end of the PING that follows CONNECT. */
	char buf[4096];
	size_t len = 0;
	char *ping = NULL;
	while (ping == NULL && len < sizeof(buf) - 1) {
		ssize_t r = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (r <= 0)
			goto done;
		len += (size_t)r;
		buf[len] = '\0';
		ping = strstr(buf, "\r\nPING\r\n");
	}
	if (ping == NULL || strncmp(buf, "CONNECT ", 8) != 0)
		goto done;
	nd_connect_opts_t o;
	nd_connect_opts_init(&o);
	char err[128];
	int ok = nd_connect_decode(&o, buf + 8, (size_t)(ping - buf - 8), err, sizeof(err)) == 0 &&
		 o.nkey != NULL && o.sig != NULL &&
		 nd_nkey_verify(o.nkey, o.sig, strlen(o.sig), nonce, strlen(nonce)) == 0;
	if (o.nkey != NULL)
		snprintf(fs->nkey, sizeof(fs->nkey), "%s", o.nkey);
	nd_connect_opts_deinit(&o);
	fs->verified = ok;
	const char *reply = ok ? "PONG\r\n" : "-ERR 'Authorization Violation'\r\n";
	if (write(fd, reply, strlen(reply)) < 0)
		goto done;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
done:
	close(fd);
	return NULL;
}

static void fake_server_start(fake_server_t *fs, pthread_t *t)
{
	fs->lfd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_geq(fs->lfd, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	cr_assert_eq(bind(fs->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(fs->lfd, 1), 0);
	cr_assert_eq(getsockname(fs->lfd, (struct sockaddr *)&a, &al), 0);
	fs->port = ntohs(a.sin_port);
	cr_assert_eq(pthread_create(t, NULL, fake_server_run, fs), 0);
}

/* Connects libnats with natsOptions_SetNKeyFromSeed(pub, file holding seed); returns its
 * status and what the fake server decided. */
static natsStatus connect_with_seed(const char *pub, const char *seed, int *verified)
{
	fake_server_t fs = {0};
	pthread_t t;
	fake_server_start(&fs, &t);
	char path[256];
	nd_creds_write_seed_file(seed, path, sizeof(path));
	char url[64];
	snprintf(url, sizeof(url), "nats://127.0.0.1:%d", fs.port);
	natsOptions *opts = NULL;
	cr_assert_eq(natsOptions_Create(&opts), NATS_OK);
	cr_assert_eq(natsOptions_SetURL(opts, url), NATS_OK);
	cr_assert_eq(natsOptions_SetTimeout(opts, 5000), NATS_OK);
	cr_assert_eq(natsOptions_SetMaxReconnect(opts, 0), NATS_OK);
	cr_assert_eq(natsOptions_SetNKeyFromSeed(opts, pub, path), NATS_OK);
	natsConnection *nc = NULL;
	natsStatus s = natsConnection_Connect(&nc, opts);
	natsConnection_Destroy(nc);
	natsOptions_Destroy(opts);
	pthread_join(t, NULL);
	close(fs.lfd);
	unlink(path);
	cr_assert_str_eq(fs.nkey, pub, "CONNECT carried nkey \"%s\"", fs.nkey);
	*verified = fs.verified;
	return s;
}

ND_TEST(nkey, libnats_connects_with_our_seed_file, .timeout = 60)
{
	nd_creds_nkey_t u;
	nd_creds_nkey_create(ND_NKEY_PREFIX_USER, &u);
	int verified = -1;
	natsStatus s = connect_with_seed(u.public_key, u.seed, &verified);
	cr_assert_eq(verified, 1);
	cr_assert_eq(s, NATS_OK, "connect: %s", natsStatus_GetText(s));
	/* The published pair works the same way. */
	s = connect_with_seed(DOCS_PUB, DOCS_SEED, &verified);
	cr_assert_eq(verified, 1);
	cr_assert_eq(s, NATS_OK, "connect: %s", natsStatus_GetText(s));
	/* A seed that does not belong to the announced key is refused. */
	nd_creds_nkey_t other;
	nd_creds_nkey_create(ND_NKEY_PREFIX_USER, &other);
	s = connect_with_seed(u.public_key, other.seed, &verified);
	cr_assert_eq(verified, 0);
	cr_assert_neq(s, NATS_OK);
	nats_CloseAndWait(5000);
}
