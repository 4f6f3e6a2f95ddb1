/* SPDX-License-Identifier: MIT */
/*
 * The shared secret and the challenge-response of diag's network listeners
 * (defs/diag_auth.h). Everything parsed here came off a socket: fixed sizes,
 * magic and reserved fields are checked before any field is used.
 */
#include "diag_auth.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sha256.h"

static_assert(DIAG_AUTH_MAC_SIZE == SHA256_DIGEST_SIZE, "the MAC is one HMAC-SHA256");

int diag_secret_load(const char *path, struct diag_secret *ret, char *why, size_t why_len)
{
	/* One byte more than the largest secret plus its newline: detects "too long". */
	uint8_t buf[DIAG_SECRET_MAX + 2];
	struct stat st;
	size_t len = 0;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		r = -errno;
		snprintf(why, why_len, "unable to open %s: %s", path, strerror(errno));
		return r;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		snprintf(why, why_len, "unable to stat %s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		snprintf(why, why_len, "%s is not a regular file", path);
		goto out;
	}
	if (st.st_mode & 077) {
		r = -EPERM;
		snprintf(why, why_len, "%s is accessible by group or others (mode %03o, want 600)",
			 path, (unsigned)(st.st_mode & 0777));
		goto out;
	}
	while (len < sizeof(buf)) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			snprintf(why, why_len, "unable to read %s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len && buf[len - 1] == '\n')
		len--;
	if (len < DIAG_SECRET_MIN || len > DIAG_SECRET_MAX) {
		r = -EINVAL;
		snprintf(why, why_len, "%s: a secret is %u..%u bytes", path, DIAG_SECRET_MIN,
			 DIAG_SECRET_MAX);
		goto out;
	}
	memcpy(ret->key, buf, len);
	ret->len = len;
out:
	mem_wipe(buf, sizeof(buf));
	close(fd);
	return r;
}

void diag_secret_wipe(struct diag_secret *s)
{
	mem_wipe(s, sizeof(*s));
}

void diag_auth_challenge_make(const uint8_t nonce[DIAG_AUTH_NONCE_SIZE],
			      struct diag_auth_challenge *ret)
{
	memset(ret, 0, sizeof(*ret));
	memcpy(ret->magic, DIAG_AUTH_MAGIC_CHALLENGE, sizeof(ret->magic));
	ret->version = DIAG_AUTH_VERSION;
	memcpy(ret->nonce, nonce, DIAG_AUTH_NONCE_SIZE);
}

bool diag_auth_is_challenge(const void *buf, size_t len)
{
	return len >= 8 && memcmp(buf, DIAG_AUTH_MAGIC_CHALLENGE, 8) == 0;
}

int diag_auth_challenge_parse(const void *buf, size_t len, struct diag_auth_challenge *ret)
{
	struct diag_auth_challenge c;

	if (len != sizeof(c) || !diag_auth_is_challenge(buf, len))
		return -EBADMSG;
	memcpy(&c, buf, sizeof(c));
	if (c.version != DIAG_AUTH_VERSION)
		return -EPROTONOSUPPORT;
	if (c.reserved != 0)
		return -EBADMSG;
	*ret = c;
	return 0;
}

static void mac_of(const struct diag_secret *secret, const struct diag_auth_challenge *chal,
		   uint8_t out[DIAG_AUTH_MAC_SIZE])
{
	hmac_sha256(secret->key, secret->len, chal, sizeof(*chal), out);
}

void diag_auth_proof_make(const struct diag_secret *secret, const struct diag_auth_challenge *chal,
			  struct diag_auth_proof *ret)
{
	memcpy(ret->magic, DIAG_AUTH_MAGIC_PROOF, sizeof(ret->magic));
	mac_of(secret, chal, ret->mac);
}

bool diag_auth_proof_check(const struct diag_secret *secret, const struct diag_auth_challenge *chal,
			   const void *buf, size_t len)
{
	struct diag_auth_proof p;
	uint8_t want[DIAG_AUTH_MAC_SIZE];
	bool ok;

	if (len != sizeof(p))
		return false;
	memcpy(&p, buf, sizeof(p));
	mac_of(secret, chal, want);
	/* Both checks always run: the time taken says nothing about which failed. */
	ok = mem_equal_ct(want, p.mac, sizeof(want));
	ok &= memcmp(p.magic, DIAG_AUTH_MAGIC_PROOF, sizeof(p.magic)) == 0;
	mem_wipe(want, sizeof(want));
	return ok;
}

void diag_auth_verdict_make(enum diag_auth_status status, struct diag_auth_verdict *ret)
{
	memset(ret, 0, sizeof(*ret));
	memcpy(ret->magic, DIAG_AUTH_MAGIC_VERDICT, sizeof(ret->magic));
	ret->status = (uint32_t)status;
}

int diag_auth_verdict_parse(const void *buf, size_t len, uint32_t *ret_status)
{
	struct diag_auth_verdict v;

	if (len != sizeof(v))
		return -EBADMSG;
	memcpy(&v, buf, sizeof(v));
	if (memcmp(v.magic, DIAG_AUTH_MAGIC_VERDICT, sizeof(v.magic)) != 0 || v.reserved != 0)
		return -EBADMSG;
	*ret_status = v.status;
	return 0;
}
