/* SPDX-License-Identifier: MIT */
/*
 * diag's shared secret and challenge-response (wire format: defs/diag_auth.h),
 * used by mhcl-diagd (challenge, check) and the mhcl CLI (answer). No logging;
 * no I/O except diag_secret_load reading the secret file.
 */
#ifndef MHCL_DIAG_AUTH_H
#define MHCL_DIAG_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "defs/diag_auth.h"

#define DIAG_SECRET_MIN 16u  /* bytes: below this a secret is guessable */
#define DIAG_SECRET_MAX 256u /* bytes: a secret file is a key, not a document */

struct diag_secret {
	uint8_t key[DIAG_SECRET_MAX];
	size_t len;
};

/*
 * Reads the secret from path: a regular file of DIAG_SECRET_MIN..MAX bytes
 * (one trailing newline is not part of it, so `echo ... >file` works), not
 * readable or writable by group or others. Returns 0, -EPERM (mode), -EINVAL
 * (size, not a regular file) or -errno; writes a one-line reason to why.
 * *ret is written only on success; wipe it with diag_secret_wipe.
 */
int diag_secret_load(const char *path, struct diag_secret *ret, char *why, size_t why_len);
void diag_secret_wipe(struct diag_secret *s);

/* Builds a challenge around nonce (copied). */
void diag_auth_challenge_make(const uint8_t nonce[DIAG_AUTH_NONCE_SIZE],
			      struct diag_auth_challenge *ret);

/*
 * Checks a challenge as it came off the wire (buf[0..len), borrowed, untrusted):
 * exactly sizeof(struct diag_auth_challenge) bytes, magic, version, reserved 0.
 * 0 and *ret filled, or -EBADMSG (not a challenge) / -EPROTONOSUPPORT (version).
 */
int diag_auth_challenge_parse(const void *buf, size_t len, struct diag_auth_challenge *ret);

/* The client's answer to chal (as received) under secret. */
void diag_auth_proof_make(const struct diag_secret *secret, const struct diag_auth_challenge *chal,
			  struct diag_auth_proof *ret);

/* diagd's check of a proof (buf[0..len), untrusted) against the challenge it
 * sent; the MAC is compared in constant time. */
bool diag_auth_proof_check(const struct diag_secret *secret, const struct diag_auth_challenge *chal,
			   const void *buf, size_t len);

void diag_auth_verdict_make(enum diag_auth_status status, struct diag_auth_verdict *ret);

/* A verdict off the wire: 0 and *ret_status, or -EBADMSG when it is not one. */
int diag_auth_verdict_parse(const void *buf, size_t len, uint32_t *ret_status);

/* True if buf starts like a challenge (a client without a secret reading one). */
bool diag_auth_is_challenge(const void *buf, size_t len);

#endif
