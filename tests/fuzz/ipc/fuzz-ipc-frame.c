/* SPDX-License-Identifier: MIT */
/*
 * ipc_frame_decode() on arbitrary bytes, as one SEQPACKET packet and as a
 * byte stream, checking that both modes agree and that an accepted header
 * is exactly what ipc_frame_encode() writes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ipc.h"

#define CHECK(e)                                                                                   \
	do {                                                                                       \
		if (!(e))                                                                          \
			abort();                                                                   \
	} while (0)

static bool known_error(int r)
{
	return r == -EBADMSG || r == -EPROTONOSUPPORT || r == -EMSGSIZE;
}

static void check_accepted(const struct ipc_frame_hdr *h, const uint8_t *buf, size_t nfds)
{
	struct ipc_frame_hdr e;
	uint16_t kind = h->flags & IPC_F_KIND_MASK;

	CHECK(h->version == IPC_VERSION);
	CHECK(h->body_len <= IPC_BODY_MAX);
	CHECK(h->type > IPC_MSG_INVALID && h->type < _IPC_MSG_MAX);
	CHECK(!(h->flags & ~IPC_F_KNOWN));
	CHECK(kind == IPC_F_REQUEST || kind == IPC_F_RESPONSE || kind == IPC_F_NOTIFY);
	CHECK((kind == IPC_F_NOTIFY) == (h->request_id == 0));
	CHECK(!(h->flags & IPC_F_ERROR) || kind == IPC_F_RESPONSE);
	CHECK(h->nfds == nfds);
	ipc_frame_encode(&e, h->type, h->flags, h->request_id, h->body_len, h->nfds);
	CHECK(memcmp(&e, buf, sizeof(e)) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ipc_frame_hdr h, hs;
	size_t pos = 0, nfds = 0;
	int r, rs;

	/* As one packet, with the fd count its header claims and with none. */
	if (size >= sizeof(h)) {
		memcpy(&h, data, sizeof(h));
		nfds = h.nfds;
	}
	for (int pass = 0; pass < 2; pass++) {
		size_t n = pass ? nfds : 0;
		r = ipc_frame_decode(data, size, n, false, &h);
		CHECK(r == 0 || known_error(r));
		rs = ipc_frame_decode(data, size, n, true, &hs);
		if (r == 0) {
			check_accepted(&h, data, n);
			CHECK(size == sizeof(h) + h.body_len);
			/* A whole packet is a whole stream frame too. */
			CHECK(rs == 0 && memcmp(&h, &hs, sizeof(h)) == 0);
		} else if (rs == 0) {
			/* Stream accepts a prefix: the packet had trailing bytes. */
			CHECK(r == -EBADMSG && size > sizeof(hs) + hs.body_len);
		} else if (rs != -EAGAIN) {
			/* Both refuse a bad header for the same reason. */
			CHECK(rs == r);
		}
	}

	/* As a stream: frames back to back until the bytes run out or go bad. */
	while (pos < size) {
		r = ipc_frame_decode(data + pos, size - pos, 0, true, &h);
		if (r == -EAGAIN) {
			/* Needs more: a short header, or a valid one with its body cut. */
			if (size - pos >= sizeof(h)) {
				memcpy(&hs, data + pos, sizeof(hs));
				CHECK(hs.body_len > size - pos - sizeof(hs));
				CHECK(ipc_frame_decode(data + pos, sizeof(h), 0, true, &h) ==
				      -EAGAIN);
			}
			break;
		}
		if (r < 0) {
			CHECK(known_error(r));
			break;
		}
		check_accepted(&h, data + pos, 0);
		CHECK(size - pos >= sizeof(h) + h.body_len);
		/* The frame alone is a valid packet. */
		CHECK(ipc_frame_decode(data + pos, sizeof(h) + h.body_len, 0, false, &hs) == 0);
		pos += sizeof(h) + h.body_len;
	}
	return 0;
}
