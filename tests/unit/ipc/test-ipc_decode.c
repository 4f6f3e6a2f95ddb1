/* SPDX-License-Identifier: MIT */
/* The body check (ipc_body_check, ipc_body_unpack): every bound and every malformation. */
#include <errno.h>
#include <string.h>

#include "bus.pb-c.h"
#include "diag.pb-c.h"
#include "ipc.h"
#include "test.h"
#include "test_wire.h"

/* Room for a 100,000-node flood, twice IPC_BODY_MAX. */
static uint8_t buf[256 * 1024];

static const ProtobufCMessageDescriptor *const reply_desc = &mhcl__inspect_reply__descriptor;

static int check(const uint8_t *b, size_t len)
{
	return ipc_body_check(reply_desc, b, len, IPC_DECODE_DEPTH_MAX);
}

/* An InspectReply whose root Node has a chain of `count` children below it
 * (deep: its deepest message is count + 1 below the reply), or `count` empty
 * children side by side. */
static size_t tree_reply(bool deep, unsigned count)
{
	size_t n = deep ? test_wire_deep_children(buf, sizeof(buf), count)
			: test_wire_flat_children(buf, sizeof(buf), count);

	ASSERT_TRUE(n > 0 || count == 0);
	n = test_wire_inspect_reply(buf, n, sizeof(buf));
	ASSERT_GT(n, 0);
	return n;
}

static void test_valid(void)
{
	Mhcl__Node leaf[2] = {MHCL__NODE__INIT, MHCL__NODE__INIT}, dir = MHCL__NODE__INIT;
	Mhcl__Node *kids[2] = {&leaf[0], &leaf[1]};
	Mhcl__InspectReply rep = MHCL__INSPECT_REPLY__INIT;
	ProtobufCMessage *m;
	size_t n;

	leaf[0].name = "frames";
	leaf[0].value_case = MHCL__NODE__VALUE_U64;
	leaf[0].u64 = 1ull << 63; /* a ten-byte varint */
	leaf[1].name = "ratio";
	leaf[1].value_case = MHCL__NODE__VALUE_F64; /* fixed64 */
	leaf[1].f64 = 0.5;
	dir.name = "bus";
	dir.n_children = 2;
	dir.children = kids;
	rep.root = &dir;
	n = protobuf_c_message_pack(&rep.base, buf);
	ASSERT_OK(check(buf, n));
	ASSERT_OK(ipc_body_unpack(reply_desc, buf, n, IPC_DECODE_DEPTH_MAX, &m));
	Mhcl__InspectReply *got = (Mhcl__InspectReply *)m;
	ASSERT_STREQ(got->root->name, "bus");
	ASSERT_UEQ(got->root->n_children, 2);
	ASSERT_UEQ(got->root->children[0]->u64, 1ull << 63);
	protobuf_c_message_free_unpacked(m, NULL);

	/* An empty body is an all-default message, NULL or not. */
	ASSERT_OK(check(NULL, 0));
	ASSERT_OK(ipc_body_unpack(reply_desc, NULL, 0, IPC_DECODE_DEPTH_MAX, &m));
	ASSERT_TRUE(((Mhcl__InspectReply *)m)->root == NULL);
	protobuf_c_message_free_unpacked(m, NULL);

	/* Unknown fields of the root Node are skipped, not entered: a fixed32
	 * (field 9), a varint (field 10) and bytes holding a chain (field 11). */
	static const uint8_t unknown[] = {0x0a, 0x0d, 0x4d, 1,	  2,	3,    4,   0x50,
					  0x7f, 0x5a, 0x04, 0x42, 0x02, 0x42, 0x00};
	ASSERT_OK(ipc_body_check(reply_desc, unknown, sizeof(unknown), 1));
	ASSERT_EQ(ipc_body_check(reply_desc, unknown, sizeof(unknown), 0), -ELOOP);
	ASSERT_OK(ipc_body_unpack(reply_desc, unknown, sizeof(unknown), 1, &m));
	ASSERT_UEQ(((Mhcl__InspectReply *)m)->root->base.n_unknown_fields, 3);
	protobuf_c_message_free_unpacked(m, NULL);
	/* A NULL descriptor walks the top level only. */
	ASSERT_OK(ipc_body_check(NULL, unknown, sizeof(unknown), 0));
}

static void test_deep(void)
{
	ProtobufCMessage *m;
	size_t n;

	/* Root at depth 1, its chain at 2..IPC_DECODE_DEPTH_MAX: the limit passes. */
	n = tree_reply(true, IPC_DECODE_DEPTH_MAX - 1);
	ASSERT_OK(check(buf, n));
	ASSERT_OK(ipc_body_unpack(reply_desc, buf, n, IPC_DECODE_DEPTH_MAX, &m));
	protobuf_c_message_free_unpacked(m, NULL);
	/* A caller's tighter bound (init: one less for the whole-tree view). */
	ASSERT_EQ(ipc_body_check(reply_desc, buf, n, IPC_DECODE_DEPTH_MAX - 1), -ELOOP);
	/* One more level is refused, and a bound over the maximum is capped. */
	n = tree_reply(true, IPC_DECODE_DEPTH_MAX);
	ASSERT_EQ(check(buf, n), -ELOOP);
	ASSERT_EQ(ipc_body_check(reply_desc, buf, n, 1000), -ELOOP);
	/* The reply of the issue: 20,000 levels, which fits one body. */
	n = tree_reply(true, 20000);
	ASSERT_LE(n, IPC_BODY_MAX);
	ASSERT_EQ(check(buf, n), -ELOOP);
	m = (ProtobufCMessage *)buf; /* untouched on failure */
	ASSERT_EQ(ipc_body_unpack(reply_desc, buf, n, IPC_DECODE_DEPTH_MAX, &m), -ELOOP);
	ASSERT_TRUE(m == (ProtobufCMessage *)buf);
	ASSERT_STREQ(ipc_body_strerror(-ELOOP), "nested too deep");
}

static void test_many(void)
{
	ProtobufCMessage *m;
	size_t n;

	/* The root counts one field, each child one more. */
	n = tree_reply(false, IPC_DECODE_FIELDS_MAX - 1);
	ASSERT_OK(check(buf, n));
	ASSERT_OK(ipc_body_unpack(reply_desc, buf, n, IPC_DECODE_DEPTH_MAX, &m));
	ASSERT_UEQ(((Mhcl__InspectReply *)m)->root->n_children, IPC_DECODE_FIELDS_MAX - 1);
	protobuf_c_message_free_unpacked(m, NULL);
	n = tree_reply(false, IPC_DECODE_FIELDS_MAX);
	ASSERT_EQ(check(buf, n), -E2BIG);
	/* The most empty nodes a body holds. */
	n = tree_reply(false, (IPC_BODY_MAX - 16) / 2);
	ASSERT_LE(n, IPC_BODY_MAX);
	ASSERT_EQ(ipc_body_unpack(reply_desc, buf, n, IPC_DECODE_DEPTH_MAX, &m), -E2BIG);
	/* 100,000 nodes: past the body limit, and past the field limit on its own. */
	n = tree_reply(false, 100000);
	ASSERT_EQ(check(buf, n), -E2BIG);
	ASSERT_EQ(ipc_body_unpack(reply_desc, buf, n, IPC_DECODE_DEPTH_MAX, &m), -EMSGSIZE);
	/* Fields count at every level, scalars too. */
	memset(buf, 0, sizeof(buf));
	for (size_t i = 0; i <= IPC_DECODE_FIELDS_MAX; i++)
		buf[2 * i] = 0x08; /* Ping.cookie = 0, repeated */
	ASSERT_OK(ipc_body_check(&mhcl__ping__descriptor, buf, 2 * IPC_DECODE_FIELDS_MAX,
				 IPC_DECODE_DEPTH_MAX));
	ASSERT_EQ(ipc_body_check(&mhcl__ping__descriptor, buf, 2 * (IPC_DECODE_FIELDS_MAX + 1),
				 IPC_DECODE_DEPTH_MAX),
		  -E2BIG);
}

static void test_varint(void)
{
	/* A key cut short, a value cut short. */
	static const uint8_t key_cut[] = {0x80};
	static const uint8_t val_cut[] = {0x0a, 0x02, 0x18, 0x80};
	static const uint8_t len_cut[] = {0x0a, 0x82};
	/* Eleven bytes; ten whose last carries more than bit 63. */
	static const uint8_t too_long[] = {0x0a, 0x0c, 0x18, 0xff, 0xff, 0xff, 0xff,
					   0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
	static const uint8_t over64[] = {0x0a, 0x0b, 0x18, 0xff, 0xff, 0xff, 0xff,
					 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
	static const uint8_t max64[] = {0x0a, 0x0b, 0x18, 0xff, 0xff, 0xff, 0xff,
					0xff, 0xff, 0xff, 0xff, 0xff, 0x01};

	ASSERT_EQ(check(key_cut, sizeof(key_cut)), -EBADMSG);
	ASSERT_EQ(check(val_cut, sizeof(val_cut)), -EBADMSG);
	ASSERT_EQ(check(len_cut, sizeof(len_cut)), -EBADMSG);
	ASSERT_EQ(check(too_long, sizeof(too_long)), -EBADMSG);
	ASSERT_EQ(check(over64, sizeof(over64)), -EBADMSG);
	ASSERT_OK(check(max64, sizeof(max64)));
	ASSERT_STREQ(ipc_body_strerror(-EBADMSG), "malformed");
}

static void test_length(void)
{
	ProtobufCMessage *m;
	/* The root claims 5 bytes, 2 follow. */
	static const uint8_t past_end[] = {0x0a, 0x05, 0x0a, 0x01};
	/* A child claims 5 bytes inside a root of 2, though the body has more: a
	 * length is bounded by its own message, not by the body. */
	static const uint8_t past_parent[] = {0x0a, 0x02, 0x42, 0x05, 0x0a, 0x01, 'a', 0x18, 0x01};
	/* A string (Node.name) running past its message. */
	static const uint8_t string_past[] = {0x0a, 0x03, 0x0a, 0x04, 'a', 'b', 'c'};
	/* Fixed-size values cut short: Node.f64 (fixed64), unknown fixed32. */
	static const uint8_t fixed64_cut[] = {0x0a, 0x05, 0x21, 0, 0, 0, 0};
	static const uint8_t fixed32_cut[] = {0x0a, 0x03, 0x4d, 0, 0};

	ASSERT_EQ(check(past_end, sizeof(past_end)), -EBADMSG);
	ASSERT_EQ(check(past_parent, sizeof(past_parent)), -EBADMSG);
	ASSERT_EQ(check(string_past, sizeof(string_past)), -EBADMSG);
	ASSERT_EQ(check(fixed64_cut, sizeof(fixed64_cut)), -EBADMSG);
	ASSERT_EQ(check(fixed32_cut, sizeof(fixed32_cut)), -EBADMSG);
	ASSERT_EQ(
	    ipc_body_unpack(reply_desc, past_parent, sizeof(past_parent), IPC_DECODE_DEPTH_MAX, &m),
	    -EBADMSG);
}

static void test_malformed(void)
{
	/* Field number 0; wire types 3, 4 (groups), 6 and 7; a message field
	 * sent as a varint; a field number over 29 bits. */
	static const uint8_t field0[] = {0x02, 0x00};
	static const uint8_t group[] = {0x0b, 0x0c};
	static const uint8_t group_end[] = {0x0c};
	static const uint8_t type6[] = {0x0e, 0x00};
	static const uint8_t type7[] = {0x0f, 0x00};
	static const uint8_t msg_varint[] = {0x08, 0x01};
	static const uint8_t child_fixed[] = {0x0a, 0x05, 0x45, 0, 0, 0, 0};
	static const uint8_t big_number[] = {0xf8, 0xff, 0xff, 0xff, 0x7f, 0x00};

	ASSERT_EQ(check(field0, sizeof(field0)), -EBADMSG);
	ASSERT_EQ(check(group, sizeof(group)), -EBADMSG);
	ASSERT_EQ(check(group_end, sizeof(group_end)), -EBADMSG);
	ASSERT_EQ(check(type6, sizeof(type6)), -EBADMSG);
	ASSERT_EQ(check(type7, sizeof(type7)), -EBADMSG);
	ASSERT_EQ(check(msg_varint, sizeof(msg_varint)), -EBADMSG);
	ASSERT_EQ(check(child_fixed, sizeof(child_fixed)), -EBADMSG);
	ASSERT_EQ(check(big_number, sizeof(big_number)), -EBADMSG);
}

/* What passes the check, protobuf-c may still refuse: that is -EBADMSG too. */
static void test_unpack(void)
{
	ProtobufCMessage *m;
	/* Ping.cookie under a six-byte key: a varint to the check, too long a
	 * key to protobuf-c. */
	static const uint8_t long_key[] = {0x88, 0x80, 0x80, 0x80, 0x80, 0x00, 0x01};

	ASSERT_OK(ipc_body_check(&mhcl__ping__descriptor, long_key, sizeof(long_key),
				 IPC_DECODE_DEPTH_MAX));
	ASSERT_EQ(ipc_body_unpack(&mhcl__ping__descriptor, long_key, sizeof(long_key),
				  IPC_DECODE_DEPTH_MAX, &m),
		  -EBADMSG);
	ASSERT_EQ(ipc_body_unpack(reply_desc, buf, IPC_BODY_MAX + 1, IPC_DECODE_DEPTH_MAX, &m),
		  -EMSGSIZE);
	ASSERT_STREQ(ipc_body_strerror(-E2BIG), "too many fields");
	ASSERT_STREQ(ipc_body_strerror(-EMSGSIZE), "too large");
}

static const struct test_case tests[] = {
    {"valid", test_valid},   {"deep", test_deep},     {"many", test_many},
    {"varint", test_varint}, {"length", test_length}, {"malformed", test_malformed},
    {"unpack", test_unpack},
};

int main(int argc, char **argv)
{
	return test_run_cases(tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
}
