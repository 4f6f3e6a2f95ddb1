/* SPDX-License-Identifier: MIT */
/*
 * SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104), for diag's challenge-response
 * (lib/diagproto/auth.c). Small and self-contained; no I/O, no allocation.
 */
#ifndef MHCL_SHA256_H
#define MHCL_SHA256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_SIZE 32u
#define SHA256_BLOCK_SIZE 64u

/* Streaming state; embed it, no destructor needed (wipe it with sha256_wipe). */
struct sha256 {
	uint32_t h[8];
	uint64_t total; /* bytes hashed so far */
	uint8_t buf[SHA256_BLOCK_SIZE];
	size_t used;
};

void sha256_init(struct sha256 *s);
/* Borrows data[0..len). */
void sha256_update(struct sha256 *s, const void *data, size_t len);
/* Writes the digest and wipes the state. */
void sha256_final(struct sha256 *s, uint8_t out[SHA256_DIGEST_SIZE]);
void sha256(const void *data, size_t len, uint8_t out[SHA256_DIGEST_SIZE]);

/* HMAC-SHA256 of msg under key (any length; longer than a block is hashed first). */
void hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
		 uint8_t out[SHA256_DIGEST_SIZE]);

/* Compares len bytes in time that depends on len only, never on where they differ. */
bool mem_equal_ct(const void *a, const void *b, size_t len);

/* Clears memory the compiler may not optimise the store away from (secrets). */
void mem_wipe(void *p, size_t len);

#endif
