/* SPDX-License-Identifier: MIT */
/*
 * The bus frame: a fixed 16-byte envelope followed by a protobuf-c body.
 * On SOCK_SEQPACKET one frame is one packet; on stream sockets (diag over
 * TCP/vsock) frames are back to back and body_len delimits them.
 * All fields little-endian (every host mhcl runs on is x86_64).
 */
#ifndef MHCL_DEFS_IPC_FRAME_H
#define MHCL_DEFS_IPC_FRAME_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#define IPC_VERSION 1

/* Largest body a bus endpoint accepts; checked before any allocation.
 * Kept below the default unix socket send buffer so one frame always fits. */
#define IPC_BODY_MAX (96u * 1024u)
/* Most fds one frame may carry (SCM_RIGHTS). */
#define IPC_FDS_MAX 8

enum ipc_frame_flags {
	IPC_F_REQUEST = 1u << 0,  /* expects exactly one response with the same request_id */
	IPC_F_RESPONSE = 1u << 1, /* answers request_id */
	IPC_F_NOTIFY = 1u << 2,	  /* one-way; request_id is 0 */
	IPC_F_ERROR = 1u << 3,	  /* with RESPONSE: the body is an ErrorReply */
	IPC_F_KIND_MASK = IPC_F_REQUEST | IPC_F_RESPONSE | IPC_F_NOTIFY,
	IPC_F_KNOWN = IPC_F_KIND_MASK | IPC_F_ERROR,
};

struct ipc_frame_hdr {
	uint32_t body_len;   /* bytes of protobuf body after this header */
	uint16_t version;    /* IPC_VERSION */
	uint16_t type;	     /* enum ipc_msg_type */
	uint32_t request_id; /* nonzero for REQUEST/RESPONSE, 0 for NOTIFY */
	uint16_t flags;	     /* enum ipc_frame_flags */
	uint16_t nfds;	     /* fds attached with SCM_RIGHTS; must match what arrived */
};
static_assert(sizeof(struct ipc_frame_hdr) == 16, "ipc frame header is 16 bytes");
static_assert(offsetof(struct ipc_frame_hdr, body_len) == 0, "body_len at 0");
static_assert(offsetof(struct ipc_frame_hdr, version) == 4, "version at 4");
static_assert(offsetof(struct ipc_frame_hdr, type) == 6, "type at 6");
static_assert(offsetof(struct ipc_frame_hdr, request_id) == 8, "request_id at 8");
static_assert(offsetof(struct ipc_frame_hdr, flags) == 12, "flags at 12");
static_assert(offsetof(struct ipc_frame_hdr, nfds) == 14, "nfds at 14");

/*
 * Message types. Each names the protobuf message of its body (proto/bus.proto,
 * proto/diag.proto); a response carries the *Reply message of the same type,
 * or an ErrorReply when IPC_F_ERROR is set.
 */
enum ipc_msg_type {
	IPC_MSG_INVALID = 0,
	IPC_MSG_ERROR = 1,   /* ErrorReply (only as an error response to an unknown type) */
	IPC_MSG_READY = 2,   /* server -> init: Ready -> ReadyReply (readiness handshake) */
	IPC_MSG_PING = 3,    /* Ping -> Ping */
	IPC_MSG_INSPECT = 4, /* init -> server: InspectRequest -> InspectReply */
	IPC_MSG_STOP = 5,    /* init -> server: StopRequest -> StopReply, then the server exits */
	IPC_MSG_FAULT = 6,   /* init -> server: FaultRequest (fault injection) -> Empty */
	IPC_MSG_JAIL_VIOLATION = 7,  /* server -> init notify: JailViolation */
	IPC_MSG_FD_STORE = 8,	     /* server -> init: FdStoreRequest + fds -> Empty */
	IPC_MSG_FD_STORE_REMOVE = 9, /* server -> init: FdStoreRemove -> Empty */
	/* server -> init notify (Empty), sent just before it closes its bus on a stop: from
	 * here on it touches nothing its next instance uses (rings, devices, state memfds),
	 * so a planned restart may start that instance before this one has exited. */
	IPC_MSG_HANDOVER = 10,
	/* server -> init: CpusRequest -> CpusReply (proto/sidecar.proto): parked CPUs
	 * handed to Linux for the server's threads (the guest's VPs). */
	IPC_MSG_CPUS = 11,
	/* Diag protocol: client -> diagd -> init. */
	IPC_MSG_PS = 16,	   /* PsRequest -> PsReply */
	IPC_MSG_DIAG_INSPECT = 17, /* DiagInspectRequest -> InspectReply */
	IPC_MSG_RESTART = 18,	   /* RestartRequest -> RestartReply */
	IPC_MSG_KILL = 19,	   /* KillRequest -> Empty */
	IPC_MSG_LOGS = 20,	   /* LogsRequest -> LogsReply */
	IPC_MSG_CONFIG = 21,	   /* ConfigRequest -> ConfigReply */
	/* Sidecar (proto/sidecar.proto): diagd -> init -> the server named "sidecar". */
	IPC_MSG_SIDECAR_ONLINE = 22,   /* SidecarOnlineRequest -> SidecarOnlineReply */
	IPC_MSG_SIDECAR_CHECKSUM = 23, /* SidecarChecksumRequest -> SidecarChecksumReply */
	/* Storage (proto/storage.proto): diagd -> init -> the server named "storage". */
	IPC_MSG_STORAGE_LUN = 24, /* StorageLunRequest -> StorageLunReply */
	/* Network (proto/net.proto): diagd -> init -> the server named "net". */
	IPC_MSG_NET_CAPTURE = 25, /* NetCaptureRequest -> NetCaptureReply */
	/* 32..63: VMBus and device servers (proto/vmbus.proto, package mhcl.vp). */
	IPC_MSG_VP_PARTITION =
	    32, /* worker -> vmbusd: WorkerPartition + memfd -> VmbusdPortClaim */
	IPC_MSG_VP_GUEST_MESSAGE = 33, /* worker -> vmbusd notify: WorkerGuestMessage */
	IPC_MSG_VP_HOST_MESSAGE = 34,  /* vmbusd -> worker notify: VmbusdHostMessage */
	IPC_MSG_VP_EVENT_PORT_ASSIGN =
	    35, /* -> worker: VmbusdEventPortAssign + eventfd -> WorkerPortReply */
	IPC_MSG_VP_EVENT_PORT_RELEASE =
	    36, /* -> worker: VmbusdEventPortRelease -> WorkerPortReply */
	IPC_MSG_VP_SINT_IRQFD =
	    37, /* -> worker: VmbusdSintIrqfdRequest -> WorkerSintIrqfd + irqfd */
	IPC_MSG_VP_SYNIC_PAGES = 38, /* worker -> vmbusd -> devices notify: WorkerSynicPages */
	IPC_MSG_GUEST_SHUTDOWN =
	    40, /* diagd -> init -> "ic": GuestShutdownRequest -> GuestShutdownReply */
	IPC_MSG_VP_DEVICE_OFFER = 41, /* device -> vmbusd: DeviceOffer -> VmbusdOfferReply */
	IPC_MSG_VP_CHANNEL_OPEN =
	    42, /* vmbusd -> device: VmbusdChannelOpen + fds -> DeviceChannelOpenReply */
	IPC_MSG_VP_CHANNEL_CLOSE =
	    43, /* vmbusd -> device: VmbusdChannelClose -> DeviceChannelCloseReply */
	IPC_MSG_VP_CHANNEL_MODIFY = 44, /* vmbusd -> device notify: VmbusdChannelModify + irqfd */
	IPC_MSG_VP_GPADL_ADD = 45,	/* vmbusd -> device: VmbusdGpadlAdd -> DeviceGpadlReply */
	IPC_MSG_VP_GPADL_REMOVE = 46, /* vmbusd -> device: VmbusdGpadlRemove -> DeviceGpadlReply */
	_IPC_MSG_MAX = 64,
};

#endif
