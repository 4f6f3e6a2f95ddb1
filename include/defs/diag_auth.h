/* SPDX-License-Identifier: MIT */
/*
 * diag's challenge-response on network listeners (TCP, vsock) of an
 * mhcl-diagd started with --secret-file. Before any ipc frame:
 *
 *   diagd -> client  struct diag_auth_challenge (48 bytes, a fresh random nonce)
 *   client -> diagd  struct diag_auth_proof     (40 bytes,
 *                    mac = HMAC-SHA256(secret, the 48 challenge bytes as sent))
 *   diagd -> client  struct diag_auth_verdict   (16 bytes); status 0 = accepted,
 *                    then ipc frames follow; otherwise diagd closes.
 *
 * The MAC covers the magic and version too, so a proof is bound to this
 * protocol and can never be replayed (a new nonce per connection). Unix-socket
 * clients get none of this: the socket's file mode guards them.
 * Little-endian fields, like defs/ipc_frame.h. A challenge can never be taken
 * for an ipc frame header: its first four bytes read as a body length far over
 * IPC_BODY_MAX.
 */
#ifndef MHCL_DEFS_DIAG_AUTH_H
#define MHCL_DEFS_DIAG_AUTH_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#define DIAG_AUTH_VERSION 1u
#define DIAG_AUTH_NONCE_SIZE 32u
#define DIAG_AUTH_MAC_SIZE 32u
#define DIAG_AUTH_MAGIC_CHALLENGE "MHCLCHAL"
#define DIAG_AUTH_MAGIC_PROOF "MHCLPROF"
#define DIAG_AUTH_MAGIC_VERDICT "MHCLVERD"

enum diag_auth_status {
	DIAG_AUTH_ACCEPTED = 0,
	DIAG_AUTH_REFUSED = 1, /* wrong MAC, bad magic or a malformed proof */
};

struct diag_auth_challenge {
	char magic[8];	   /* DIAG_AUTH_MAGIC_CHALLENGE, no NUL */
	uint32_t version;  /* DIAG_AUTH_VERSION */
	uint32_t reserved; /* 0 */
	uint8_t nonce[DIAG_AUTH_NONCE_SIZE];
};
static_assert(sizeof(struct diag_auth_challenge) == 48, "challenge is 48 bytes");
static_assert(offsetof(struct diag_auth_challenge, version) == 8, "version at 8");
static_assert(offsetof(struct diag_auth_challenge, reserved) == 12, "reserved at 12");
static_assert(offsetof(struct diag_auth_challenge, nonce) == 16, "nonce at 16");

struct diag_auth_proof {
	char magic[8]; /* DIAG_AUTH_MAGIC_PROOF */
	uint8_t mac[DIAG_AUTH_MAC_SIZE];
};
static_assert(sizeof(struct diag_auth_proof) == 40, "proof is 40 bytes");
static_assert(offsetof(struct diag_auth_proof, mac) == 8, "mac at 8");

struct diag_auth_verdict {
	char magic[8];	   /* DIAG_AUTH_MAGIC_VERDICT */
	uint32_t status;   /* enum diag_auth_status */
	uint32_t reserved; /* 0 */
};
static_assert(sizeof(struct diag_auth_verdict) == 16, "verdict is 16 bytes");
static_assert(offsetof(struct diag_auth_verdict, status) == 8, "status at 8");
static_assert(offsetof(struct diag_auth_verdict, reserved) == 12, "reserved at 12");

#endif
