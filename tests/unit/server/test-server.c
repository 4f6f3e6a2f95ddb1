/* SPDX-License-Identifier: MIT */
/*
 * lib/server/server.c in one process: the frame adopts one end of a
 * socketpair as fd 3 while the test plays init on the other end, on the same
 * loop. Covers READY -> restore, PING, INSPECT (whole tree, a path, a
 * missing path), FAULT validation, unknown types, STOP with save.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server.h"
#include "test.h"

struct state {
	uv_loop_t loop;
	struct srv *srv;
	struct ipc_chan *init; /* the test's end */
	bool restored, stopped, replied;
	int status;
	char restored_buf[16];
	size_t restored_len;
	bool restored_crash;
	ProtobufCMessage *reply;
	const ProtobufCMessageDescriptor *desc;
	char err[256];
};

static void ops_inspect(struct srv *s, struct inspect_tree *t, Mhcl__Node *root, void *opaque)
{
	Mhcl__Node *d = inspect_dir(t, root, "unit");
	inspect_u64(t, d, "answer", 42);
}

static int ops_save(struct srv *s, uint8_t **ret_buf, size_t *ret_len, void *opaque)
{
	*ret_buf = (uint8_t *)strdup("xyz");
	*ret_len = 3;
	return 0;
}

static int ops_restore(struct srv *s, const uint8_t *buf, size_t len, bool crash, void *opaque)
{
	struct state *st = opaque;
	st->restored = true;
	st->restored_len = len;
	st->restored_crash = crash;
	memcpy(st->restored_buf, buf, MIN(len, sizeof(st->restored_buf)));
	return 0;
}

static void ops_stop(struct srv *s, void *opaque)
{
	((struct state *)opaque)->stopped = true;
}

static const struct srv_ops ops = {
    .inspect = ops_inspect,
    .save = ops_save,
    .restore = ops_restore,
    .stop = ops_stop,
};

/* The test playing init: answers READY. */
static void init_request(struct ipc_chan *ch, struct ipc_msg *msg, void *opaque)
{
	ASSERT_EQ(msg->type, IPC_MSG_READY);
	Mhcl__ReadyReply rep = MHCL__READY_REPLY__INIT;
	rep.name = (char *)"unit";
	rep.restarts = 2;
	rep.saved_state.data = (uint8_t *)"abc";
	rep.saved_state.len = 3;
	ASSERT_OK(ipc_chan_reply(ch, msg->request_id, IPC_MSG_READY, &rep.base, NULL, 0));
}

static const struct ipc_chan_ops init_ops = {.on_request = init_request};

static void reply_cb(struct ipc_chan *ch, int status, struct ipc_msg *reply, void *opaque)
{
	struct state *st = opaque;
	st->replied = true;
	st->status = status;
	st->reply = NULL;
	if (status == 0)
		st->reply = protobuf_c_message_unpack(st->desc, NULL, reply->body_len, reply->body);
	else if (status == -EREMOTEIO)
		st->status = ipc_msg_error(reply, st->err, sizeof(st->err));
}

static int call(struct state *st, uint16_t type, const ProtobufCMessage *body,
		const ProtobufCMessageDescriptor *desc)
{
	st->replied = false;
	st->desc = desc;
	ASSERT_OK(ipc_chan_request(st->init, type, body, NULL, 0, 5000, reply_cb, st));
	while (!st->replied)
		uv_run(&st->loop, UV_RUN_ONCE);
	return st->status;
}

static Mhcl__Node *inspect(struct state *st, const char *path, int *ret)
{
	Mhcl__InspectRequest rq = MHCL__INSPECT_REQUEST__INIT;
	rq.path = (char *)path;
	*ret = call(st, IPC_MSG_INSPECT, &rq.base, &mhcl__inspect_reply__descriptor);
	return *ret == 0 ? ((Mhcl__InspectReply *)st->reply)->root : NULL;
}

int main(void)
{
	static struct state st;
	int sv[2], r;

	ASSERT_OK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv));
	/* Keep our end clear of fd 3, which the frame adopts. */
	int mine = fcntl(sv[0], F_DUPFD_CLOEXEC, 10);
	ASSERT_GE(mine, 10);
	close(sv[0]);
	sv[0] = mine;
	ASSERT_EQ(dup2(sv[1], SRV_BUS_FD), SRV_BUS_FD);
	close(sv[1]);
	setenv("MHCL_SERVER_NAME", "unit", 1);
	setenv("MHCL_POLICY", "testd", 1);
	uv_loop_init(&st.loop);
	ASSERT_OK(
	    ipc_chan_open(&st.loop, sv[0], IPC_TRANSPORT_SEQPACKET, &init_ops, &st, &st.init));
	ASSERT_OK(srv_start(&st.loop, &ops, &st, &st.srv));
	ASSERT_STREQ(srv_name(st.srv), "unit");
	ASSERT_TRUE(srv_loop(st.srv) == &st.loop);

	/* READY: the reply's saved state reaches restore. */
	ASSERT_OK(srv_ready(st.srv));
	ASSERT_EQ(srv_ready(st.srv), -EALREADY);
	while (!st.restored)
		uv_run(&st.loop, UV_RUN_ONCE);
	ASSERT_EQ(st.restored_len, 3);
	ASSERT_TRUE(memcmp(st.restored_buf, "abc", 3) == 0);
	ASSERT_FALSE(st.restored_crash);

	Mhcl__Ping ping = MHCL__PING__INIT;
	ping.cookie = 0x1234567890ull;
	ASSERT_OK(call(&st, IPC_MSG_PING, &ping.base, &mhcl__ping__descriptor));
	ASSERT_UEQ(((Mhcl__Ping *)st.reply)->cookie, 0x1234567890ull);
	protobuf_c_message_free_unpacked(st.reply, NULL);

	Mhcl__Node *n = inspect(&st, "", &r);
	ASSERT_OK(r);
	ASSERT_STREQ(n->name, "unit");
	ASSERT_UEQ(inspect_find(n, "unit/answer")->u64, 42);
	ASSERT_UEQ(inspect_find(n, "frame/restarts")->u64, 2);
	ASSERT_UEQ(inspect_find(n, "frame/pings")->u64, 1);
	ASSERT_STREQ(inspect_find(n, "frame/policy")->str, "testd");
	protobuf_c_message_free_unpacked(st.reply, NULL);
	n = inspect(&st, "unit/answer", &r);
	ASSERT_OK(r);
	ASSERT_STREQ(n->name, "answer");
	ASSERT_UEQ(n->u64, 42);
	protobuf_c_message_free_unpacked(st.reply, NULL);
	ASSERT_TRUE(inspect(&st, "unit/missing", &r) == NULL);
	ASSERT_EQ(r, -ENOENT);
	ASSERT_TRUE(strstr(st.err, "unit/missing"));

	Mhcl__FaultRequest fr = MHCL__FAULT_REQUEST__INIT;
	fr.kind = 99;
	ASSERT_EQ(call(&st, IPC_MSG_FAULT, &fr.base, &mhcl__empty__descriptor), -EINVAL);
	Mhcl__Empty e = MHCL__EMPTY__INIT;
	ASSERT_EQ(call(&st, 40, &e.base, &mhcl__empty__descriptor), -EOPNOTSUPP);
	/* Supervision messages with undecodable bodies close the bus: not tested
	 * here (the ipc tests own that); valid ones keep it open. */

	Mhcl__StopRequest stop = MHCL__STOP_REQUEST__INIT;
	stop.save = true;
	ASSERT_OK(call(&st, IPC_MSG_STOP, &stop.base, &mhcl__stop_reply__descriptor));
	Mhcl__StopReply *sr = (Mhcl__StopReply *)st.reply;
	ASSERT_EQ(sr->saved_state.len, 3);
	ASSERT_TRUE(memcmp(sr->saved_state.data, "xyz", 3) == 0);
	protobuf_c_message_free_unpacked(st.reply, NULL);
	ASSERT_TRUE(st.stopped);

	ipc_chan_close(st.init);
	ASSERT_EQ(srv_finish(st.srv), 0);
	uv_run(&st.loop, UV_RUN_DEFAULT);
	ASSERT_OK(uv_loop_close(&st.loop));
	return 0;
}
