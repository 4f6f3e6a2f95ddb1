/* SPDX-License-Identifier: MIT */
/*
 * Bus frame codec: validates and writes the 16-byte envelope of
 * include/defs/ipc_frame.h. Pure functions, no I/O; the input is untrusted
 * peer data, so every field is read once into a local and checked there.
 */
#include <errno.h>
#include <string.h>

#include "ipc.h"

/* The header is little-endian on the wire and every host mhcl runs on is
 * x86_64 (ipc_frame.h), so a memcpy is the whole conversion. */
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "bus frames are little-endian");

int ipc_frame_decode(const uint8_t *buf, size_t len, size_t nfds_received, bool partial_ok,
		     struct ipc_frame_hdr *ret_hdr)
{
	struct ipc_frame_hdr hdr;

	if (len < sizeof(hdr))
		return partial_ok ? -EAGAIN : -EBADMSG;
	memcpy(&hdr, buf, sizeof(hdr));

	if (hdr.version != IPC_VERSION)
		return -EPROTONOSUPPORT;
	if (hdr.flags & ~(uint16_t)IPC_F_KNOWN)
		return -EBADMSG;

	/* Exactly one kind; ERROR only qualifies a RESPONSE. */
	switch (hdr.flags & IPC_F_KIND_MASK) {
	case IPC_F_REQUEST:
	case IPC_F_RESPONSE:
		if (hdr.request_id == 0)
			return -EBADMSG;
		break;
	case IPC_F_NOTIFY:
		if (hdr.request_id != 0)
			return -EBADMSG;
		break;
	default:
		return -EBADMSG;
	}
	if ((hdr.flags & IPC_F_ERROR) && !(hdr.flags & IPC_F_RESPONSE))
		return -EBADMSG;

	/* Handlers are tables bounded by _IPC_MSG_MAX: keep the type in range. */
	if (hdr.type == IPC_MSG_INVALID || hdr.type >= _IPC_MSG_MAX)
		return -EBADMSG;

	if (hdr.body_len > IPC_BODY_MAX)
		return -EMSGSIZE;
	if (hdr.nfds > IPC_FDS_MAX || hdr.nfds != nfds_received)
		return -EBADMSG;

	if (len - sizeof(hdr) < hdr.body_len) {
		/* The header alone is valid: a stream reader waits for the body. */
		return partial_ok ? -EAGAIN : -EBADMSG;
	}
	/* One frame per packet: trailing bytes are garbage. A stream caller
	 * takes sizeof(hdr) + body_len and keeps the rest for the next frame. */
	if (!partial_ok && len - sizeof(hdr) != hdr.body_len)
		return -EBADMSG;

	*ret_hdr = hdr;
	return 0;
}

void ipc_frame_encode(struct ipc_frame_hdr *hdr, uint16_t type, uint16_t flags, uint32_t request_id,
		      uint32_t body_len, uint16_t nfds)
{
	*hdr = (struct ipc_frame_hdr){
	    .body_len = body_len,
	    .version = IPC_VERSION,
	    .type = type,
	    .request_id = request_id,
	    .flags = flags,
	    .nfds = nfds,
	};
}
