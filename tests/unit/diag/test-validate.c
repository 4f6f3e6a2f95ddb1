/* SPDX-License-Identifier: MIT */
/* Unit tests for lib/diagproto/validate.c: what mhcl-diagd lets through to init. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "defs/ipc_frame.h"
#include "diag.pb-c.h"
#include "diag_limits.h"
#include "diag_validate.h"
#include "ipc.h"
#include "test.h"
#include "test_wire.h"

static uint8_t buf[4096];
static char why[256];

static size_t pack(const ProtobufCMessage *m)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	ASSERT_TRUE(n <= sizeof(buf));
	return protobuf_c_message_pack(m, buf);
}

static int parse(uint16_t type, const uint8_t *body, size_t len)
{
	ProtobufCMessage *m = NULL;
	int r;

	why[0] = '\0';
	r = diag_request_parse(type, body, len, why, sizeof(why), &m);
	if (r == 0) {
		ASSERT_TRUE(m != NULL);
		protobuf_c_message_free_unpacked(m, NULL);
	} else {
		ASSERT_TRUE(m == NULL);
		ASSERT_TRUE(why[0] != '\0');
	}
	return r;
}

static int kill_req(const char *server, int sig, Mhcl__FaultKind fault)
{
	Mhcl__KillRequest k = MHCL__KILL_REQUEST__INIT;

	k.server = (char *)server;
	k.signal = sig;
	k.fault = fault;
	return parse(IPC_MSG_KILL, buf, pack(&k.base));
}

static int inspect_req(const char *server, const char *path)
{
	Mhcl__DiagInspectRequest r = MHCL__DIAG_INSPECT_REQUEST__INIT;

	r.server = (char *)server;
	r.path = (char *)path;
	return parse(IPC_MSG_DIAG_INSPECT, buf, pack(&r.base));
}

static void test_types(void)
{
	/* Empty bodies are valid for ps and config; not every type is a diag request. */
	ASSERT_OK(parse(IPC_MSG_PS, NULL, 0));
	ASSERT_OK(parse(IPC_MSG_CONFIG, NULL, 0));
	ASSERT_OK(parse(IPC_MSG_LOGS, NULL, 0));
	ASSERT_EQ(parse(IPC_MSG_PING, NULL, 0), -EOPNOTSUPP);
	ASSERT_EQ(parse(IPC_MSG_READY, NULL, 0), -EOPNOTSUPP);
	ASSERT_EQ(parse(IPC_MSG_INSPECT, NULL, 0), -EOPNOTSUPP);
	ASSERT_EQ(parse(IPC_MSG_STOP, NULL, 0), -EOPNOTSUPP);
	ASSERT_EQ(parse(0, NULL, 0), -EOPNOTSUPP);
	ASSERT_EQ(parse(_IPC_MSG_MAX, NULL, 0), -EOPNOTSUPP);
	ASSERT_EQ(parse(0xffff, NULL, 0), -EOPNOTSUPP);
	/* Restart and kill need a server. */
	ASSERT_EQ(parse(IPC_MSG_RESTART, NULL, 0), -EINVAL);
	ASSERT_EQ(parse(IPC_MSG_KILL, NULL, 0), -EINVAL);
	ASSERT_TRUE(diag_reply_descriptor(IPC_MSG_PS) == &mhcl__ps_reply__descriptor);
	ASSERT_TRUE(diag_reply_descriptor(IPC_MSG_KILL) == &mhcl__empty__descriptor);
	ASSERT_TRUE(diag_reply_descriptor(IPC_MSG_PING) == NULL);
	ASSERT_STREQ(diag_type_name(IPC_MSG_LOGS), "logs");
}

static void test_bodies(void)
{
	static uint8_t big[DIAG_REQUEST_BODY_MAX + 1];
	/* Field 1 (server), length 200 but only 3 bytes follow. */
	static const uint8_t truncated[] = {0x0a, 0xc8, 0x01, 'a', 'b', 'c'};
	/* ps with an unknown varint field 15. */
	static const uint8_t unknown[] = {0x78, 0x01};
	/* A wrong wire type for field 1 (varint where a string belongs). */
	static const uint8_t wrong_wire[] = {0x08, 0x01};

	ASSERT_EQ(parse(IPC_MSG_PS, big, sizeof(big)), -EMSGSIZE);
	ASSERT_EQ(parse(IPC_MSG_RESTART, truncated, sizeof(truncated)), -EBADMSG);
	ASSERT_EQ(parse(IPC_MSG_PS, unknown, sizeof(unknown)), -EBADMSG);
	ASSERT_TRUE(strstr(why, "unknown field 15"));
	ASSERT_TRUE(parse(IPC_MSG_RESTART, wrong_wire, sizeof(wrong_wire)) < 0);
}

static void test_names(void)
{
	char name[80];
	Mhcl__RestartRequest r = MHCL__RESTART_REQUEST__INIT;

	ASSERT_OK(kill_req("testd", 0, MHCL__FAULT_KIND__FAULT_NONE));
	ASSERT_OK(kill_req("a-b_c9", 9, MHCL__FAULT_KIND__FAULT_NONE));
	ASSERT_EQ(kill_req("Testd", 0, MHCL__FAULT_KIND__FAULT_NONE), -EINVAL);
	ASSERT_EQ(kill_req("te/std", 0, MHCL__FAULT_KIND__FAULT_NONE), -EINVAL);
	ASSERT_EQ(kill_req("te std", 0, MHCL__FAULT_KIND__FAULT_NONE), -EINVAL);
	ASSERT_EQ(kill_req("..", 0, MHCL__FAULT_KIND__FAULT_NONE), -EINVAL);
	memset(name, 'a', 64);
	name[64] = '\0';
	r.server = name;
	ASSERT_OK(parse(IPC_MSG_RESTART, buf, pack(&r.base)));
	name[64] = 'a';
	name[65] = '\0';
	ASSERT_EQ(parse(IPC_MSG_RESTART, buf, pack(&r.base)), -EINVAL);
	/* An embedded NUL cannot smuggle bytes past the check: what is
	 * forwarded is re-packed from the unpacked (truncated) string. */
	{
		static const uint8_t nul[] = {0x0a, 0x04, 'a', 0x00, 'B', '!'};
		ProtobufCMessage *m = NULL;
		int ret =
		    diag_request_parse(IPC_MSG_RESTART, nul, sizeof(nul), why, sizeof(why), &m);
		if (ret == 0) {
			ASSERT_STREQ(((Mhcl__RestartRequest *)m)->server, "a");
			protobuf_c_message_free_unpacked(m, NULL);
		}
	}
}

static void test_kill(void)
{
	ASSERT_OK(kill_req("testd", 64, MHCL__FAULT_KIND__FAULT_NONE));
	ASSERT_EQ(kill_req("testd", 65, MHCL__FAULT_KIND__FAULT_NONE), -EINVAL);
	ASSERT_EQ(kill_req("testd", -1, MHCL__FAULT_KIND__FAULT_NONE), -EINVAL);
	ASSERT_OK(kill_req("testd", 0, MHCL__FAULT_KIND__FAULT_FORBIDDEN_SYSCALL));
	ASSERT_OK(kill_req("testd", 0, MHCL__FAULT_KIND__FAULT_ABORT));
	ASSERT_OK(kill_req("testd", 0, MHCL__FAULT_KIND__FAULT_HANG));
	ASSERT_EQ(kill_req("testd", 0, (Mhcl__FaultKind)4), -EINVAL);
	ASSERT_EQ(kill_req("testd", 0, (Mhcl__FaultKind)-1), -EINVAL);
	ASSERT_EQ(kill_req("testd", 9, MHCL__FAULT_KIND__FAULT_HANG), -EINVAL);
}

static void test_inspect(void)
{
	char path[DIAG_PATH_MAX + 2];

	ASSERT_OK(inspect_req("", ""));
	ASSERT_OK(inspect_req("diagd", ""));
	ASSERT_OK(inspect_req("diagd", "conns/total"));
	ASSERT_EQ(inspect_req("", "conns"), -EINVAL);
	ASSERT_EQ(inspect_req("diagd", "/abs"), -EINVAL);
	ASSERT_EQ(inspect_req("diagd", "a\nb"), -EINVAL);
	ASSERT_EQ(inspect_req("diagd", "\x7f"), -EINVAL);
	ASSERT_EQ(inspect_req("diagd", "\xc3\xa9"), -EINVAL);
	memset(path, 'p', DIAG_PATH_MAX);
	path[DIAG_PATH_MAX] = '\0';
	ASSERT_OK(inspect_req("diagd", path));
	path[DIAG_PATH_MAX] = 'p';
	path[DIAG_PATH_MAX + 1] = '\0';
	ASSERT_EQ(inspect_req("diagd", path), -EINVAL);
}

static void test_logs(void)
{
	Mhcl__LogsRequest l = MHCL__LOGS_REQUEST__INIT;

	l.server = "testd";
	l.since_seq = UINT64_MAX;
	l.max_lines = DIAG_LOG_LINES_MAX;
	ASSERT_OK(parse(IPC_MSG_LOGS, buf, pack(&l.base)));
	l.max_lines = DIAG_LOG_LINES_MAX + 1;
	ASSERT_EQ(parse(IPC_MSG_LOGS, buf, pack(&l.base)), -EINVAL);
	l.max_lines = 0;
	l.server = "BAD";
	ASSERT_EQ(parse(IPC_MSG_LOGS, buf, pack(&l.base)), -EINVAL);
}

/* diagd and the CLI decode replies with the reply descriptor of the request
 * type through the bus's body check: a tree too deep or too wide is refused,
 * whatever type carries it. */
static void test_reply_check(void)
{
	static uint8_t reply[128 * 1024];
	const ProtobufCMessageDescriptor *desc = diag_reply_descriptor(IPC_MSG_DIAG_INSPECT);
	ProtobufCMessage *m;
	size_t n;

	ASSERT_TRUE(desc == &mhcl__inspect_reply__descriptor);
	n = test_wire_deep_children(reply, sizeof(reply), IPC_DECODE_DEPTH_MAX - 1);
	n = test_wire_inspect_reply(reply, n, sizeof(reply));
	ASSERT_OK(ipc_body_unpack(desc, reply, n, IPC_DECODE_DEPTH_MAX, &m));
	protobuf_c_message_free_unpacked(m, NULL);
	n = test_wire_deep_children(reply, sizeof(reply), 20000);
	n = test_wire_inspect_reply(reply, n, sizeof(reply));
	ASSERT_EQ(ipc_body_unpack(desc, reply, n, IPC_DECODE_DEPTH_MAX, &m), -ELOOP);
	n = test_wire_flat_children(reply, sizeof(reply), (IPC_BODY_MAX - 16) / 2);
	n = test_wire_inspect_reply(reply, n, sizeof(reply));
	ASSERT_EQ(ipc_body_unpack(desc, reply, n, IPC_DECODE_DEPTH_MAX, &m), -E2BIG);
	/* A malformed request is refused with the check's reason. */
	static const uint8_t cut[] = {0x0a, 0x05, 'a'};
	ASSERT_EQ(diag_request_parse(IPC_MSG_RESTART, cut, sizeof(cut), why, sizeof(why), &m),
		  -EBADMSG);
	ASSERT_TRUE(strstr(why, "malformed") != NULL);
}

int main(void)
{
	test_types();
	test_bodies();
	test_names();
	test_kill();
	test_inspect();
	test_logs();
	test_reply_check();
	return 0;
}
