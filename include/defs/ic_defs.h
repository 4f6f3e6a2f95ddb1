/* SPDX-License-Identifier: MIT */
/*
 * Hyper-V integration components (IC): heartbeat, shutdown, time sync, KVP.
 * Each IC is a VMBus channel in pipe mode whose in-band ring packets carry
 *
 *   pipe header (8) | icmsg header (20) | message body
 *
 * The host sends requests (flags TRANSACTION|REQUEST); the guest answers in
 * place, echoing the buffer with flags TRANSACTION|RESPONSE and status set.
 * The first exchange on every IC channel is version negotiation: the host
 * lists framework versions then message versions; the guest answers with one
 * of each (counts 1/1) or with counts 0/0 when nothing matches.
 *
 * Layouts follow Linux include/linux/hyperv.h and drivers/hv/hv_util.c (6.1)
 * and openvmm hyperv_ic_protocol. Little-endian; header-only.
 */
#ifndef MHCL_DEFS_IC_DEFS_H
#define MHCL_DEFS_IC_DEFS_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

/* Pipe-mode packet header in front of every IC message. */
#define IC_PIPE_TYPE_DATA 1u
struct ic_pipe_hdr {
	uint32_t type; /* IC_PIPE_TYPE_DATA */
	uint32_t size; /* bytes after this header */
};
static_assert(sizeof(struct ic_pipe_hdr) == 8, "pipe header is 8 bytes");

struct ic_version {
	uint16_t major;
	uint16_t minor;
};
static_assert(sizeof(struct ic_version) == 4, "ic_version is 4 bytes");

enum ic_msg_type {
	IC_MSG_NEGOTIATE = 0,
	IC_MSG_HEARTBEAT = 1,
	IC_MSG_KVP = 2,
	IC_MSG_SHUTDOWN = 3,
	IC_MSG_TIMESYNC = 4,
	IC_MSG_VSS = 5,
	_IC_MSG_MAX,
	_IC_MSG_INVALID = -22,
};

#define IC_FLAG_TRANSACTION 0x01u
#define IC_FLAG_REQUEST 0x02u
#define IC_FLAG_RESPONSE 0x04u

/* HRESULTs in icmsg_hdr.status. */
#define IC_STATUS_OK 0u
#define IC_STATUS_FAIL 0x80004005u
#define IC_STATUS_NOT_SUPPORTED 0x80070032u

struct ic_msg_hdr {
	struct ic_version framework_version;
	uint16_t msgtype; /* enum ic_msg_type */
	struct ic_version msg_version;
	uint16_t msgsize; /* bytes of body after this header */
	uint32_t status;
	uint8_t transaction_id;
	uint8_t flags; /* IC_FLAG_* */
	uint8_t reserved[2];
};
static_assert(sizeof(struct ic_msg_hdr) == 20, "icmsg header is 20 bytes");
static_assert(offsetof(struct ic_msg_hdr, msgtype) == 4, "msgtype at 4");
static_assert(offsetof(struct ic_msg_hdr, msg_version) == 6, "msg_version at 6");
static_assert(offsetof(struct ic_msg_hdr, msgsize) == 10, "msgsize at 10");
static_assert(offsetof(struct ic_msg_hdr, status) == 12, "status at 12");
static_assert(offsetof(struct ic_msg_hdr, transaction_id) == 16, "transaction_id at 16");
static_assert(offsetof(struct ic_msg_hdr, flags) == 17, "flags at 17");

/* Offset of the message body inside the in-band packet payload. */
#define IC_BODY_OFFSET (sizeof(struct ic_pipe_hdr) + sizeof(struct ic_msg_hdr))
static_assert(IC_BODY_OFFSET == 28, "IC body starts 28 bytes into the packet");

/* Version negotiation body; framework versions then message versions follow. */
struct ic_negotiate {
	uint16_t framework_count;
	uint16_t message_count;
	uint32_t reserved;
};
static_assert(sizeof(struct ic_negotiate) == 8, "negotiate body is 8 bytes");
#define IC_NEGOTIATE_MAX_VERSIONS 100u /* Linux rejects counts above this */

struct ic_heartbeat {
	uint64_t seq_num; /* the guest answers with seq_num + 1 */
	uint32_t reserved[8];
};
static_assert(sizeof(struct ic_heartbeat) == 40, "heartbeat body is 40 bytes");

/* Shutdown flags: 0/1 shut down (1 = forced), 2/3 reboot (>= 3.1), 4/5 hibernate (>= 3.2). */
#define IC_SHUTDOWN_F_FORCE 0x1u
#define IC_SHUTDOWN_F_RESTART 0x2u
#define IC_SHUTDOWN_F_HIBERNATE 0x4u
#define IC_SHUTDOWN_MSG_BYTES 2048u
struct ic_shutdown {
	uint32_t reason_code;
	uint32_t timeout_seconds;
	uint32_t flags;
	uint8_t display_message[IC_SHUTDOWN_MSG_BYTES];
};
static_assert(sizeof(struct ic_shutdown) == 2060, "shutdown body is 2060 bytes");
static_assert(offsetof(struct ic_shutdown, display_message) == 12, "message at 12");
/* Linux reads only the fixed part (up to display_message). */
#define IC_SHUTDOWN_MIN_BYTES offsetof(struct ic_shutdown, display_message)

/* Versions Linux 6.1 hv_utils accepts. */
#define IC_FW_VERSION_1 ((struct ic_version){1, 0})
#define IC_FW_VERSION_3 ((struct ic_version){3, 0})
#define IC_HEARTBEAT_VERSION_1 ((struct ic_version){1, 0})
#define IC_HEARTBEAT_VERSION_3 ((struct ic_version){3, 0})
#define IC_SHUTDOWN_VERSION_1 ((struct ic_version){1, 0})
#define IC_SHUTDOWN_VERSION_3 ((struct ic_version){3, 0})
#define IC_SHUTDOWN_VERSION_3_1 ((struct ic_version){3, 1})
#define IC_SHUTDOWN_VERSION_3_2 ((struct ic_version){3, 2})

/* Largest IC packet payload a host needs to accept (openvmm uses 13312). */
#define IC_MSG_MAX 13312u

#endif
