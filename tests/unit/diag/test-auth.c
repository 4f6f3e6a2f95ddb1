/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for diag's authentication: SHA-256 and HMAC-SHA256
 * (lib/common/sha256.c) against the FIPS 180-4 examples and RFC 4231, and the
 * challenge-response and secret file of lib/diagproto/auth.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "defs/ipc_frame.h"
#include "diag_auth.h"
#include "macros.h" /* before uv.h (via ipc.h): sys/param.h guards MIN/MAX */
#include "ipc.h"
#include "sha256.h"
#include "test.h"

static void hex(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
}

static void expect_sha(const void *msg, size_t len, const char *want)
{
	uint8_t d[SHA256_DIGEST_SIZE];
	char got[2 * SHA256_DIGEST_SIZE + 1];

	sha256(msg, len, d);
	hex(d, sizeof(d), got);
	ASSERT_STREQ(got, want);
}

static void expect_hmac(const void *key, size_t klen, const void *msg, size_t mlen,
			const char *want)
{
	uint8_t d[SHA256_DIGEST_SIZE];
	char got[2 * SHA256_DIGEST_SIZE + 1];

	hmac_sha256(key, klen, msg, mlen, d);
	hex(d, sizeof(d), got);
	ASSERT_STREQ(got, want);
}

static void test_sha256(void)
{
	static const char q[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";

	expect_sha("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	expect_sha("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	/* 56 bytes: the length no longer fits the first block's padding. */
	expect_sha(q, strlen(q),
		   "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");

	/* A million 'a' fed in uneven pieces: buffering across block boundaries. */
	static uint8_t a[1000000];
	uint8_t d[SHA256_DIGEST_SIZE];
	char got[2 * SHA256_DIGEST_SIZE + 1];
	struct sha256 s;
	size_t off = 0, step = 1;

	memset(a, 'a', sizeof(a));
	sha256_init(&s);
	while (off < sizeof(a)) {
		size_t n = step < sizeof(a) - off ? step : sizeof(a) - off;
		sha256_update(&s, a + off, n);
		off += n;
		step = step * 7 % 191 + 1;
	}
	sha256_final(&s, d);
	hex(d, sizeof(d), got);
	ASSERT_STREQ(got, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* RFC 4231 section 4 (test case 5 truncates its output and is left out). */
static void test_hmac(void)
{
	uint8_t k[131], m[50];

	memset(k, 0x0b, 20);
	expect_hmac(k, 20, "Hi There", 8,
		    "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	expect_hmac("Jefe", 4, "what do ya want for nothing?", 28,
		    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	memset(k, 0xaa, 20);
	memset(m, 0xdd, 50);
	expect_hmac(k, 20, m, 50,
		    "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
	for (int i = 0; i < 25; i++)
		k[i] = (uint8_t)(i + 1);
	memset(m, 0xcd, 50);
	expect_hmac(k, 25, m, 50,
		    "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
	/* Keys longer than a block are hashed first. */
	memset(k, 0xaa, 131);
	expect_hmac(k, 131, "Test Using Larger Than Block-Size Key - Hash Key First", 54,
		    "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
	static const char t7[] = "This is a test using a larger than block-size key and a larger "
				 "than block-size data. The key needs to be hashed before being "
				 "used by the HMAC algorithm.";
	expect_hmac(k, 131, t7, strlen(t7),
		    "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");

	ASSERT_TRUE(mem_equal_ct("abcd", "abcd", 4));
	ASSERT_FALSE(mem_equal_ct("abcd", "abce", 4));
	ASSERT_FALSE(mem_equal_ct("Xbcd", "abcd", 4));
}

static struct diag_secret secret_of(const char *s)
{
	struct diag_secret k = {0};

	k.len = strlen(s);
	memcpy(k.key, s, k.len);
	return k;
}

static void test_challenge(void)
{
	uint8_t nonce[DIAG_AUTH_NONCE_SIZE], buf[sizeof(struct diag_auth_challenge) + 1];
	struct diag_auth_challenge c, parsed;

	for (size_t i = 0; i < sizeof(nonce); i++)
		nonce[i] = (uint8_t)(i * 13 + 1);
	diag_auth_challenge_make(nonce, &c);
	memcpy(buf, &c, sizeof(c));
	ASSERT_OK(diag_auth_challenge_parse(buf, sizeof(c), &parsed));
	ASSERT_OK(memcmp(parsed.nonce, nonce, sizeof(nonce)));
	ASSERT_TRUE(diag_auth_is_challenge(buf, sizeof(c)));

	/* Short, long, wrong magic, other version, reserved set. */
	ASSERT_EQ(diag_auth_challenge_parse(buf, sizeof(c) - 1, &parsed), -EBADMSG);
	ASSERT_EQ(diag_auth_challenge_parse(buf, sizeof(c) + 1, &parsed), -EBADMSG);
	ASSERT_EQ(diag_auth_challenge_parse(buf, 0, &parsed), -EBADMSG);
	buf[0] = 'X';
	ASSERT_EQ(diag_auth_challenge_parse(buf, sizeof(c), &parsed), -EBADMSG);
	ASSERT_FALSE(diag_auth_is_challenge(buf, sizeof(c)));
	buf[0] = 'M';
	buf[8] = 2;
	ASSERT_EQ(diag_auth_challenge_parse(buf, sizeof(c), &parsed), -EPROTONOSUPPORT);
	buf[8] = 1;
	buf[13] = 1;
	ASSERT_EQ(diag_auth_challenge_parse(buf, sizeof(c), &parsed), -EBADMSG);
	buf[13] = 0;
	ASSERT_OK(diag_auth_challenge_parse(buf, sizeof(c), &parsed));

	/* An ipc frame header is never taken for a challenge, nor a challenge for a frame. */
	struct ipc_frame_hdr h;
	ipc_frame_encode(&h, IPC_MSG_PS, IPC_F_REQUEST, 1, 0, 0);
	ASSERT_FALSE(diag_auth_is_challenge(&h, sizeof(h)));
	ASSERT_TRUE(((const struct ipc_frame_hdr *)buf)->body_len > IPC_BODY_MAX);
}

static void test_proof(void)
{
	struct diag_secret s = secret_of("0123456789abcdef-right"),
			   w = secret_of("0123456789abcdef-wrong");
	uint8_t nonce[DIAG_AUTH_NONCE_SIZE] = {1, 2, 3};
	struct diag_auth_challenge c, c2;
	struct diag_auth_proof p;
	uint8_t buf[sizeof(p) + 1];
	uint32_t status = 99;

	diag_auth_challenge_make(nonce, &c);
	nonce[0] = 9;
	diag_auth_challenge_make(nonce, &c2);

	diag_auth_proof_make(&s, &c, &p);
	memcpy(buf, &p, sizeof(p));
	ASSERT_TRUE(diag_auth_proof_check(&s, &c, buf, sizeof(p)));
	/* The MAC is HMAC-SHA256(secret, the whole challenge). */
	uint8_t mac[SHA256_DIGEST_SIZE];
	hmac_sha256(s.key, s.len, &c, sizeof(c), mac);
	ASSERT_OK(memcmp(p.mac, mac, sizeof(mac)));

	ASSERT_FALSE(diag_auth_proof_check(&w, &c, buf, sizeof(p)));  /* other secret */
	ASSERT_FALSE(diag_auth_proof_check(&s, &c2, buf, sizeof(p))); /* replayed on a new nonce */
	ASSERT_FALSE(diag_auth_proof_check(&s, &c, buf, sizeof(p) - 1));
	ASSERT_FALSE(diag_auth_proof_check(&s, &c, buf, sizeof(p) + 1));
	buf[sizeof(p) - 1] ^= 1;
	ASSERT_FALSE(diag_auth_proof_check(&s, &c, buf, sizeof(p)));
	buf[sizeof(p) - 1] ^= 1;
	buf[0] = 'X'; /* right MAC, wrong magic */
	ASSERT_FALSE(diag_auth_proof_check(&s, &c, buf, sizeof(p)));

	struct diag_auth_verdict v;
	diag_auth_verdict_make(DIAG_AUTH_REFUSED, &v);
	ASSERT_OK(diag_auth_verdict_parse(&v, sizeof(v), &status));
	ASSERT_EQ(status, DIAG_AUTH_REFUSED);
	ASSERT_EQ(diag_auth_verdict_parse(&v, sizeof(v) - 1, &status), -EBADMSG);
	v.reserved = 1;
	ASSERT_EQ(diag_auth_verdict_parse(&v, sizeof(v), &status), -EBADMSG);
}

static void write_file(const char *path, const char *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(write(fd, data, len), (ssize_t)len);
	ASSERT_OK(fchmod(fd, mode));
	close(fd);
}

static void test_secret_file(void)
{
	char dir[] = "/tmp/mhcl-auth-XXXXXX", path[128], why[400], big[300];
	struct diag_secret s;

	ASSERT_TRUE(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/secret", dir);

	write_file(path, "0123456789abcdef\n", 17, 0600);
	ASSERT_OK(diag_secret_load(path, &s, why, sizeof(why)));
	ASSERT_EQ(s.len, 16); /* the newline is not part of it */
	ASSERT_OK(memcmp(s.key, "0123456789abcdef", 16));
	write_file(path, "0123456789abcdef\n", 17, 0640);
	ASSERT_EQ(diag_secret_load(path, &s, why, sizeof(why)), -EPERM);
	ASSERT_TRUE(strstr(why, "group or others") != NULL);
	write_file(path, "0123456789abcde", 15, 0600);
	ASSERT_EQ(diag_secret_load(path, &s, why, sizeof(why)), -EINVAL);
	memset(big, 'k', sizeof(big));
	write_file(path, big, DIAG_SECRET_MAX, 0400);
	ASSERT_OK(diag_secret_load(path, &s, why, sizeof(why)));
	ASSERT_EQ(s.len, DIAG_SECRET_MAX);
	write_file(path, big, DIAG_SECRET_MAX + 1, 0600);
	ASSERT_EQ(diag_secret_load(path, &s, why, sizeof(why)), -EINVAL);
	ASSERT_OK(unlink(path));
	ASSERT_EQ(diag_secret_load(path, &s, why, sizeof(why)), -ENOENT);
	ASSERT_OK(chmod(dir, 0700));
	ASSERT_EQ(diag_secret_load(dir, &s, why, sizeof(why)), -EINVAL); /* a directory */
	ASSERT_OK(rmdir(dir));
}

int main(void)
{
	test_sha256();
	test_hmac();
	test_challenge();
	test_proof();
	test_secret_file();
	printf("diag auth: ok\n");
	return 0;
}
