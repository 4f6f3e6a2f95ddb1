/* SPDX-License-Identifier: MIT */
/* The frame codec: every rule of ipc_frame_decode() and the encoder's layout. */
#include <errno.h>
#include <string.h>

#include "ipc.h"
#include "test.h"

static uint8_t buf[2 * (sizeof(struct ipc_frame_hdr) + IPC_BODY_MAX)];

static size_t put(uint32_t body_len, uint16_t version, uint16_t type, uint32_t id, uint16_t flags,
		  uint16_t nfds, size_t body_bytes)
{
	struct ipc_frame_hdr h = {body_len, version, type, id, flags, nfds};

	memcpy(buf, &h, sizeof(h));
	memset(buf + sizeof(h), 0xab, body_bytes);
	return sizeof(h) + body_bytes;
}

/* Decodes as one packet; a header-only result check where it succeeds. */
static int dec(size_t len, size_t nfds)
{
	struct ipc_frame_hdr h;
	memset(&h, 0x5a, sizeof(h));
	int r = ipc_frame_decode(buf, len, nfds, false, &h);
	if (r < 0) {
		/* Output untouched on failure. */
		for (size_t i = 0; i < sizeof(h); i++)
			ASSERT_EQ(((uint8_t *)&h)[i], 0x5a);
	}
	return r;
}

static void test_valid(void)
{
	struct ipc_frame_hdr h;
	size_t n;

	n = put(3, IPC_VERSION, IPC_MSG_PING, 9, IPC_F_REQUEST, 0, 3);
	ASSERT_OK(ipc_frame_decode(buf, n, 0, false, &h));
	ASSERT_UEQ(h.body_len, 3);
	ASSERT_EQ(h.type, IPC_MSG_PING);
	ASSERT_UEQ(h.request_id, 9);
	ASSERT_EQ(h.flags, IPC_F_REQUEST);

	n = put(0, IPC_VERSION, IPC_MSG_READY, 1, IPC_F_RESPONSE | IPC_F_ERROR, 2, 0);
	ASSERT_OK(dec(n, 2));
	n = put(0, IPC_VERSION, IPC_MSG_JAIL_VIOLATION, 0, IPC_F_NOTIFY, IPC_FDS_MAX, 0);
	ASSERT_OK(dec(n, IPC_FDS_MAX));
	n = put(IPC_BODY_MAX, IPC_VERSION, _IPC_MSG_MAX - 1, 0xffffffffu, IPC_F_RESPONSE, 0,
		IPC_BODY_MAX);
	ASSERT_OK(dec(n, 0));
}

static void test_short(void)
{
	struct ipc_frame_hdr h;

	put(0, IPC_VERSION, IPC_MSG_PING, 1, IPC_F_REQUEST, 0, 0);
	for (size_t len = 0; len < sizeof(struct ipc_frame_hdr); len++) {
		ASSERT_EQ(dec(len, 0), -EBADMSG);
		ASSERT_EQ(ipc_frame_decode(buf, len, 0, true, &h), -EAGAIN);
	}
}

static void test_version(void)
{
	size_t n;

	n = put(0, 0, IPC_MSG_PING, 1, IPC_F_REQUEST, 0, 0);
	ASSERT_EQ(dec(n, 0), -EPROTONOSUPPORT);
	n = put(0, IPC_VERSION + 1, IPC_MSG_PING, 1, IPC_F_REQUEST, 0, 0);
	ASSERT_EQ(dec(n, 0), -EPROTONOSUPPORT);
	n = put(0, 0xffff, IPC_MSG_PING, 1, IPC_F_REQUEST, 0, 0);
	ASSERT_EQ(dec(n, 0), -EPROTONOSUPPORT);
}

static void test_flags(void)
{
	size_t n;

	for (unsigned bit = 4; bit < 16; bit++) {
		n = put(0, IPC_VERSION, IPC_MSG_PING, 1, (uint16_t)(IPC_F_REQUEST | (1u << bit)), 0,
			0);
		ASSERT_EQ(dec(n, 0), -EBADMSG);
	}
	/* ERROR qualifies only a response. */
	n = put(0, IPC_VERSION, IPC_MSG_PING, 1, IPC_F_REQUEST | IPC_F_ERROR, 0, 0);
	ASSERT_EQ(dec(n, 0), -EBADMSG);
	n = put(0, IPC_VERSION, IPC_MSG_PING, 0, IPC_F_NOTIFY | IPC_F_ERROR, 0, 0);
	ASSERT_EQ(dec(n, 0), -EBADMSG);
	n = put(0, IPC_VERSION, IPC_MSG_PING, 0, IPC_F_ERROR, 0, 0);
	ASSERT_EQ(dec(n, 0), -EBADMSG);
}

static void test_kind(void)
{
	size_t n;

	/* Exactly one kind. */
	for (unsigned k = 0; k < 8; k++) {
		bool one = k == IPC_F_REQUEST || k == IPC_F_RESPONSE || k == IPC_F_NOTIFY;
		uint32_t id = k == IPC_F_NOTIFY ? 0 : 5;
		n = put(0, IPC_VERSION, IPC_MSG_PING, id, (uint16_t)k, 0, 0);
		ASSERT_EQ(dec(n, 0), one ? 0 : -EBADMSG);
	}
	/* Request and response need an id, a notification has none. */
	n = put(0, IPC_VERSION, IPC_MSG_PING, 0, IPC_F_REQUEST, 0, 0);
	ASSERT_EQ(dec(n, 0), -EBADMSG);
	n = put(0, IPC_VERSION, IPC_MSG_PING, 0, IPC_F_RESPONSE, 0, 0);
	ASSERT_EQ(dec(n, 0), -EBADMSG);
	n = put(0, IPC_VERSION, IPC_MSG_PING, 1, IPC_F_NOTIFY, 0, 0);
	ASSERT_EQ(dec(n, 0), -EBADMSG);
}

static void test_type(void)
{
	size_t n;

	n = put(0, IPC_VERSION, IPC_MSG_INVALID, 1, IPC_F_REQUEST, 0, 0);
	ASSERT_EQ(dec(n, 0), -EBADMSG);
	n = put(0, IPC_VERSION, _IPC_MSG_MAX, 1, IPC_F_REQUEST, 0, 0);
	ASSERT_EQ(dec(n, 0), -EBADMSG);
	n = put(0, IPC_VERSION, 0xffff, 1, IPC_F_REQUEST, 0, 0);
	ASSERT_EQ(dec(n, 0), -EBADMSG);
	for (unsigned t = 1; t < _IPC_MSG_MAX; t++) {
		n = put(0, IPC_VERSION, (uint16_t)t, 1, IPC_F_REQUEST, 0, 0);
		ASSERT_OK(dec(n, 0));
	}
}

static void test_body_limit(void)
{
	struct ipc_frame_hdr h;
	size_t n;

	/* Refused from the header alone, before any body is there. */
	n = put(IPC_BODY_MAX + 1, IPC_VERSION, IPC_MSG_PING, 1, IPC_F_REQUEST, 0, 0);
	ASSERT_EQ(dec(n, 0), -EMSGSIZE);
	ASSERT_EQ(ipc_frame_decode(buf, n, 0, true, &h), -EMSGSIZE);
	n = put(0xffffffffu, IPC_VERSION, IPC_MSG_PING, 1, IPC_F_REQUEST, 0, 0);
	ASSERT_EQ(ipc_frame_decode(buf, n, 0, true, &h), -EMSGSIZE);
	n = put(IPC_BODY_MAX + 1, IPC_VERSION, IPC_MSG_PING, 1, IPC_F_REQUEST, 0, IPC_BODY_MAX + 1);
	ASSERT_EQ(dec(n, 0), -EMSGSIZE);
}

static void test_nfds(void)
{
	size_t n;

	n = put(0, IPC_VERSION, IPC_MSG_PING, 1, IPC_F_REQUEST, 1, 0);
	ASSERT_EQ(dec(n, 0), -EBADMSG);
	ASSERT_EQ(dec(n, 2), -EBADMSG);
	ASSERT_OK(dec(n, 1));
	n = put(0, IPC_VERSION, IPC_MSG_PING, 1, IPC_F_REQUEST, 0, 0);
	ASSERT_EQ(dec(n, 1), -EBADMSG);
	n = put(0, IPC_VERSION, IPC_MSG_PING, 1, IPC_F_REQUEST, IPC_FDS_MAX + 1, 0);
	ASSERT_EQ(dec(n, IPC_FDS_MAX + 1), -EBADMSG);
	n = put(0, IPC_VERSION, IPC_MSG_PING, 1, IPC_F_REQUEST, 0xffff, 0);
	ASSERT_EQ(dec(n, 0xffff), -EBADMSG);
}

static void test_length(void)
{
	size_t n;

	/* A packet is exactly one frame. */
	n = put(10, IPC_VERSION, IPC_MSG_PING, 1, IPC_F_REQUEST, 0, 9);
	ASSERT_EQ(dec(n, 0), -EBADMSG);
	n = put(10, IPC_VERSION, IPC_MSG_PING, 1, IPC_F_REQUEST, 0, 11);
	ASSERT_EQ(dec(n, 0), -EBADMSG);
	n = put(10, IPC_VERSION, IPC_MSG_PING, 1, IPC_F_REQUEST, 0, 10);
	ASSERT_OK(dec(n, 0));
}

static void test_stream_partial(void)
{
	struct ipc_frame_hdr h;
	size_t n;

	n = put(100, IPC_VERSION, IPC_MSG_PING, 1, IPC_F_REQUEST, 0, 100);
	for (size_t len = 0; len < n; len++)
		ASSERT_EQ(ipc_frame_decode(buf, len, 0, true, &h), -EAGAIN);
	/* Complete, and with the next frame's bytes behind it. */
	ASSERT_OK(ipc_frame_decode(buf, n, 0, true, &h));
	ASSERT_UEQ(h.body_len, 100);
	put(100, IPC_VERSION, IPC_MSG_PING, 1, IPC_F_REQUEST, 0, 200);
	ASSERT_OK(ipc_frame_decode(buf, n + 100, 0, true, &h));
	ASSERT_UEQ(h.body_len, 100);

	/* A bad header is refused as soon as it is complete. */
	n = put(100, 7, IPC_MSG_PING, 1, IPC_F_REQUEST, 0, 0);
	ASSERT_EQ(ipc_frame_decode(buf, n, 0, true, &h), -EPROTONOSUPPORT);
	/* Streams carry no fds. */
	n = put(0, IPC_VERSION, IPC_MSG_PING, 1, IPC_F_REQUEST, 1, 0);
	ASSERT_EQ(ipc_frame_decode(buf, n, 0, true, &h), -EBADMSG);
}

static void test_encode(void)
{
	struct ipc_frame_hdr h, d;
	/* clang-format off */
	const uint8_t want[16] = {
		0x34, 0x12, 0x00, 0x00,			/* body_len */
		IPC_VERSION, 0x00,			/* version */
		IPC_MSG_STOP, 0x00,			/* type */
		0x78, 0x56, 0x34, 0x12,			/* request_id */
		IPC_F_RESPONSE | IPC_F_ERROR, 0x00,	/* flags */
		0x02, 0x00,				/* nfds */
	};
	/* clang-format on */

	ipc_frame_encode(&h, IPC_MSG_STOP, IPC_F_RESPONSE | IPC_F_ERROR, 0x12345678, 0x1234, 2);
	ASSERT_OK(memcmp(&h, want, sizeof(want)));

	/* Round trip. */
	memcpy(buf, &h, sizeof(h));
	memset(buf + sizeof(h), 0, 0x1234);
	ASSERT_OK(ipc_frame_decode(buf, sizeof(h) + 0x1234, 2, false, &d));
	ASSERT_OK(memcmp(&h, &d, sizeof(h)));
}

static const struct test_case tests[] = {
    {"valid", test_valid},
    {"short", test_short},
    {"version", test_version},
    {"flags", test_flags},
    {"kind", test_kind},
    {"type", test_type},
    {"body-limit", test_body_limit},
    {"nfds", test_nfds},
    {"length", test_length},
    {"stream-partial", test_stream_partial},
    {"encode", test_encode},
};

int main(int argc, char **argv)
{
	return test_run_cases(tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
}
