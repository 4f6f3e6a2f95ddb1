/* SPDX-License-Identifier: MIT */
/*
 * The request validator: mhcl-diagd is the only process that parses bytes from
 * the network, so every client request is checked here before anything of it
 * reaches init. A request passes only if its type is in the diag set, its
 * body is short, unpacks without unknown fields, and every field is in
 * bounds (diag_limits.h).
 */
#include "diag_validate.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "defs/ipc_frame.h"
#include "diag.pb-c.h"
#include "diag_limits.h"
#include "macros.h" /* before uv.h (via ipc.h): sys/param.h guards MIN/MAX */
#include "ipc.h"
#include "sidecar.pb-c.h"
#include "net.pb-c.h"
#include "storage.pb-c.h"
#include "vmbus.pb-c.h"

typedef int (*diag_check_fn)(const ProtobufCMessage *m, char *why, size_t why_len);

struct diag_type {
	const char *name;
	const ProtobufCMessageDescriptor *request;
	const ProtobufCMessageDescriptor *reply;
	diag_check_fn check;
};

_printf_(3, 4) static int reject(char *why, size_t why_len, const char *fmt, ...)
{
	va_list ap;

	if (why_len) {
		va_start(ap, fmt);
		vsnprintf(why, why_len, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* required: the request names exactly one server; otherwise "" means all. */
static int check_server(const char *server, bool required, char *why, size_t why_len)
{
	size_t len = server ? strlen(server) : 0;

	if (len == 0) {
		if (required)
			return reject(why, why_len, "server name required");
		return 0;
	}
	if (!diag_name_valid(server, len))
		return reject(why, why_len, "invalid server name (want [a-z0-9_-]{1,%u})",
			      DIAG_NAME_MAX);
	return 0;
}

static int check_none(const ProtobufCMessage *m, char *why, size_t why_len)
{
	return 0;
}

static int check_inspect(const ProtobufCMessage *m, char *why, size_t why_len)
{
	const Mhcl__DiagInspectRequest *r = (const Mhcl__DiagInspectRequest *)m;
	size_t plen = r->path ? strlen(r->path) : 0;
	int ret;

	ret = check_server(r->server, false, why, why_len);
	if (ret < 0)
		return ret;
	if (plen && !(r->server && r->server[0]))
		return reject(why, why_len, "a path needs a server");
	if (!diag_path_valid(r->path ? r->path : "", plen))
		return reject(why, why_len,
			      "invalid inspect path (printable ASCII, at most %u bytes)",
			      DIAG_PATH_MAX);
	return 0;
}

static int check_restart(const ProtobufCMessage *m, char *why, size_t why_len)
{
	const Mhcl__RestartRequest *r = (const Mhcl__RestartRequest *)m;

	return check_server(r->server, true, why, why_len);
}

static int check_kill(const ProtobufCMessage *m, char *why, size_t why_len)
{
	const Mhcl__KillRequest *r = (const Mhcl__KillRequest *)m;
	int ret;

	ret = check_server(r->server, true, why, why_len);
	if (ret < 0)
		return ret;
	if (r->signal < 0 || r->signal > DIAG_SIGNAL_MAX)
		return reject(why, why_len, "signal %d out of range", (int)r->signal);
	/* protobuf-c stores any int32 in an enum field: check the range ourselves. */
	switch (r->fault) {
	case MHCL__FAULT_KIND__FAULT_NONE:
	case MHCL__FAULT_KIND__FAULT_FORBIDDEN_SYSCALL:
	case MHCL__FAULT_KIND__FAULT_ABORT:
	case MHCL__FAULT_KIND__FAULT_HANG:
		break;
	default:
		return reject(why, why_len, "unknown fault kind %d", (int)r->fault);
	}
	if (r->fault != MHCL__FAULT_KIND__FAULT_NONE && r->signal != 0)
		return reject(why, why_len, "a fault and a signal are exclusive");
	return 0;
}

static int check_logs(const ProtobufCMessage *m, char *why, size_t why_len)
{
	const Mhcl__LogsRequest *r = (const Mhcl__LogsRequest *)m;
	int ret;

	ret = check_server(r->server, false, why, why_len);
	if (ret < 0)
		return ret;
	if (r->max_lines > DIAG_LOG_LINES_MAX)
		return reject(why, why_len, "max_lines %u over %u", r->max_lines,
			      DIAG_LOG_LINES_MAX);
	return 0;
}

/* Sidecar CPUs: an index the shim could have given (it has at most 256). */
#define DIAG_SIDECAR_CPU_MAX 255u
/* Largest work-item range a client may ask for (mhcl-sidecard's own limit). */
#define DIAG_SIDECAR_CHECKSUM_MAX (1024u * 1024u)
/* A checksum reveals its range: over a byte or two it is the bytes themselves. Whole,
 * aligned pages only, so no range isolates fewer than 4096 bytes a client did not choose. */
#define DIAG_SIDECAR_CHECKSUM_ALIGN 4096u

static int check_sidecar_online(const ProtobufCMessage *m, char *why, size_t why_len)
{
	const Mhcl__SidecarOnlineRequest *r = (const Mhcl__SidecarOnlineRequest *)m;

	if (r->cpu == 0 || r->cpu > DIAG_SIDECAR_CPU_MAX)
		return reject(why, why_len, "cpu %u out of range (1..%u)", r->cpu,
			      DIAG_SIDECAR_CPU_MAX);
	return 0;
}

static int check_sidecar_checksum(const ProtobufCMessage *m, char *why, size_t why_len)
{
	const Mhcl__SidecarChecksumRequest *r = (const Mhcl__SidecarChecksumRequest *)m;

	if (r->cpu == 0 || r->cpu > DIAG_SIDECAR_CPU_MAX)
		return reject(why, why_len, "cpu %u out of range (1..%u)", r->cpu,
			      DIAG_SIDECAR_CPU_MAX);
	if (r->len > DIAG_SIDECAR_CHECKSUM_MAX)
		return reject(why, why_len, "checksum length %llu over %u",
			      (unsigned long long)r->len, DIAG_SIDECAR_CHECKSUM_MAX);
	if ((r->addr == 0) != (r->len == 0))
		return reject(why, why_len, "give both address and length, or neither");
	if (r->addr > UINT64_MAX - r->len)
		return reject(why, why_len, "checksum range wraps");
	if (r->addr % DIAG_SIDECAR_CHECKSUM_ALIGN || r->len % DIAG_SIDECAR_CHECKSUM_ALIGN)
		return reject(why, why_len, "checksum range must be whole %u-byte pages",
			      DIAG_SIDECAR_CHECKSUM_ALIGN);
	return 0;
}

/* Guest shutdown: the reason is shown by the guest; keep it short and printable. */
#define DIAG_GUEST_REASON_MAX 256u
/* What mhcl-storaged can address (STOR_MAX_CONTROLLERS, STOR_MAX_LUNS). */
#define DIAG_STORAGE_CONTROLLERS_MAX 4u
#define DIAG_STORAGE_LUNS_MAX 64u

static int check_guest_shutdown(const ProtobufCMessage *m, char *why, size_t why_len)
{
	const Mhcl__Vmbus__GuestShutdownRequest *r = (const Mhcl__Vmbus__GuestShutdownRequest *)m;
	size_t n = r->reason ? strlen(r->reason) : 0;

	if (n > DIAG_GUEST_REASON_MAX)
		return reject(why, why_len, "reason of %zu bytes over %u", n,
			      DIAG_GUEST_REASON_MAX);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)r->reason[i] < 0x20 || (unsigned char)r->reason[i] > 0x7e)
			return reject(why, why_len, "reason has a non-printable byte at %zu", i);
	return 0;
}

static int check_storage_lun(const ProtobufCMessage *m, char *why, size_t why_len)
{
	const Mhcl__Storage__StorageLunRequest *r = (const Mhcl__Storage__StorageLunRequest *)m;

	if (r->controller >= DIAG_STORAGE_CONTROLLERS_MAX)
		return reject(why, why_len, "controller %u over %u", r->controller,
			      DIAG_STORAGE_CONTROLLERS_MAX - 1);
	if (r->lun >= DIAG_STORAGE_LUNS_MAX)
		return reject(why, why_len, "LUN %u over %u", r->lun, DIAG_STORAGE_LUNS_MAX - 1);
	return 0;
}

/* Packet capture: bounded so that one reply stays well inside a bus frame, and so that a
 * capture cannot outlive init's forwarding timeout. */
#define DIAG_NET_CAPTURE_COUNT_MAX 1000u
#define DIAG_NET_CAPTURE_TIMEOUT_MAX_MS 5000u
#define DIAG_NET_CAPTURE_SNAPLEN_MIN 14u
#define DIAG_NET_CAPTURE_SNAPLEN_MAX 65535u

static int check_net_capture(const ProtobufCMessage *m, char *why, size_t why_len)
{
	const Mhcl__Net__NetCaptureRequest *r = (const Mhcl__Net__NetCaptureRequest *)m;

	if (r->count == 0 || r->count > DIAG_NET_CAPTURE_COUNT_MAX)
		return reject(why, why_len, "count %u outside 1..%u", r->count,
			      DIAG_NET_CAPTURE_COUNT_MAX);
	if (r->timeout_ms == 0 || r->timeout_ms > DIAG_NET_CAPTURE_TIMEOUT_MAX_MS)
		return reject(why, why_len, "timeout %u ms outside 1..%u", r->timeout_ms,
			      DIAG_NET_CAPTURE_TIMEOUT_MAX_MS);
	if (r->snaplen < DIAG_NET_CAPTURE_SNAPLEN_MIN || r->snaplen > DIAG_NET_CAPTURE_SNAPLEN_MAX)
		return reject(why, why_len, "snaplen %u outside %u..%u", r->snaplen,
			      DIAG_NET_CAPTURE_SNAPLEN_MIN, DIAG_NET_CAPTURE_SNAPLEN_MAX);
	return 0;
}

/* Handlers indexed by message type, bounded by _IPC_MSG_MAX (kvmtool msgs[]). */
static const struct diag_type diag_types[_IPC_MSG_MAX] = {
    [IPC_MSG_PS] = {"ps", &mhcl__ps_request__descriptor, &mhcl__ps_reply__descriptor, check_none},
    [IPC_MSG_DIAG_INSPECT] = {"inspect", &mhcl__diag_inspect_request__descriptor,
			      &mhcl__inspect_reply__descriptor, check_inspect},
    [IPC_MSG_RESTART] = {"restart", &mhcl__restart_request__descriptor,
			 &mhcl__restart_reply__descriptor, check_restart},
    [IPC_MSG_KILL] = {"kill", &mhcl__kill_request__descriptor, &mhcl__empty__descriptor,
		      check_kill},
    [IPC_MSG_LOGS] = {"logs", &mhcl__logs_request__descriptor, &mhcl__logs_reply__descriptor,
		      check_logs},
    [IPC_MSG_CONFIG] = {"config", &mhcl__config_request__descriptor,
			&mhcl__config_reply__descriptor, check_none},
    [IPC_MSG_SIDECAR_ONLINE] = {"sidecar-online", &mhcl__sidecar_online_request__descriptor,
				&mhcl__sidecar_online_reply__descriptor, check_sidecar_online},
    [IPC_MSG_SIDECAR_CHECKSUM] = {"sidecar-checksum", &mhcl__sidecar_checksum_request__descriptor,
				  &mhcl__sidecar_checksum_reply__descriptor,
				  check_sidecar_checksum},
    [IPC_MSG_GUEST_SHUTDOWN] = {"guest-shutdown", &mhcl__vmbus__guest_shutdown_request__descriptor,
				&mhcl__vmbus__guest_shutdown_reply__descriptor,
				check_guest_shutdown},
    [IPC_MSG_STORAGE_LUN] = {"storage-lun", &mhcl__storage__storage_lun_request__descriptor,
			     &mhcl__storage__storage_lun_reply__descriptor, check_storage_lun},
    [IPC_MSG_NET_CAPTURE] = {"net-capture", &mhcl__net__net_capture_request__descriptor,
			     &mhcl__net__net_capture_reply__descriptor, check_net_capture},
};

static const struct diag_type *type_get(uint16_t type)
{
	if (type >= _IPC_MSG_MAX || !diag_types[type].request)
		return NULL;
	return &diag_types[type];
}

const ProtobufCMessageDescriptor *diag_reply_descriptor(uint16_t type)
{
	const struct diag_type *t = type_get(type);

	return t ? t->reply : NULL;
}

const char *diag_type_name(uint16_t type)
{
	const struct diag_type *t = type_get(type);

	return t ? t->name : "?";
}

int diag_request_parse(uint16_t type, const uint8_t *body, size_t len, char *why, size_t why_len,
		       ProtobufCMessage **ret_msg)
{
	const struct diag_type *t = type_get(type);
	ProtobufCMessage *m;
	int ret;

	if (!t) {
		snprintf(why, why_len, "message type %u is not a diag request", type);
		return -EOPNOTSUPP;
	}
	if (len > DIAG_REQUEST_BODY_MAX) {
		snprintf(why, why_len, "%s request of %zu bytes over %u", t->name, len,
			 DIAG_REQUEST_BODY_MAX);
		return -EMSGSIZE;
	}
	ret = ipc_body_unpack(t->request, body, len, IPC_DECODE_DEPTH_MAX, &m);
	if (ret < 0) {
		snprintf(why, why_len, "%s request body refused: %s", t->name,
			 ipc_body_strerror(ret));
		return -EBADMSG;
	}
	/* Unknown fields would be re-packed and reach init unchecked. Requests
	 * have no nested messages, so the top level is all there is to check. */
	if (m->n_unknown_fields) {
		snprintf(why, why_len, "%s request carries unknown field %u", t->name,
			 m->unknown_fields[0].tag);
		ret = -EBADMSG;
		goto err_free;
	}
	ret = t->check(m, why, why_len);
	if (ret < 0)
		goto err_free;
	*ret_msg = m;
	return 0;

err_free:
	protobuf_c_message_free_unpacked(m, NULL);
	return ret;
}
