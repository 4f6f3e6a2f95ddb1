/* SPDX-License-Identifier: MIT */
/*
 * Host side of the heartbeat and shutdown ICs against a simulated Linux 6.1
 * hv_utils guest: the guest answers in place as util drivers do (negotiate:
 * first host-listed version it knows, counts rewritten to 1/1 or 0/0;
 * heartbeat: seq_num + 1; shutdown: status by flags and version).
 */
#include <errno.h>
#include <string.h>

#include "ic.h"
#include "test.h"
#include "vmbus.h"

struct guest {
	const struct ic_version *fw, *msg; /* versions this guest knows, preferred first */
	unsigned nfw, nmsg;
	struct ic_version agreed_msg;
	int shutdowns, reboots;
};

static const struct ic_version linux_fw[] = {{3, 0}, {1, 0}};
static const struct ic_version linux_hb[] = {{3, 0}, {1, 0}};
static const struct ic_version linux_sd[] = {{3, 2}, {3, 1}, {3, 0}, {1, 0}};

static bool match(const struct ic_version *want, unsigned nwant, const struct ic_version *have,
		  unsigned nhave, struct ic_version *ret)
{
	for (unsigned i = 0; i < nwant; i++)
		for (unsigned j = 0; j < nhave; j++)
			if (want[i].major == have[j].major && want[i].minor == have[j].minor) {
				*ret = want[i];
				return true;
			}
	return false;
}

/* Answers the packet in buf in place, as the Linux util channel callbacks do. */
static void guest_answer(struct guest *g, uint8_t *buf, size_t len)
{
	struct ic_msg_hdr h;

	ASSERT_GE(len, IC_BODY_OFFSET);
	memcpy(&h, buf + sizeof(struct ic_pipe_hdr), sizeof(h));
	if (h.msgtype == IC_MSG_NEGOTIATE) {
		struct ic_negotiate n;
		struct ic_version v[16], fw = {0, 0}, mv = {0, 0};
		bool ok;

		memcpy(&n, buf + IC_BODY_OFFSET, sizeof(n));
		ASSERT_LE(n.framework_count + n.message_count, 16);
		ASSERT_LE(IC_BODY_OFFSET + sizeof(n) + 4u * (n.framework_count + n.message_count),
			  len);
		memcpy(v, buf + IC_BODY_OFFSET + sizeof(n),
		       4u * (n.framework_count + n.message_count));
		ok = match(g->fw, g->nfw, v, n.framework_count, &fw) &&
		     match(g->msg, g->nmsg, v + n.framework_count, n.message_count, &mv);
		n.framework_count = ok;
		n.message_count = ok;
		memcpy(buf + IC_BODY_OFFSET, &n, sizeof(n));
		memcpy(buf + IC_BODY_OFFSET + sizeof(n), &fw, 4);
		memcpy(buf + IC_BODY_OFFSET + sizeof(n) + 4, &mv, 4);
		h.msgsize = 0x10;
		if (ok)
			g->agreed_msg = mv;
	} else if (h.msgtype == IC_MSG_HEARTBEAT) {
		uint64_t seq;
		memcpy(&seq, buf + IC_BODY_OFFSET, 8);
		seq++;
		memcpy(buf + IC_BODY_OFFSET, &seq, 8);
	} else if (h.msgtype == IC_MSG_SHUTDOWN) {
		struct ic_shutdown sd;
		memcpy(&sd, buf + IC_BODY_OFFSET, IC_SHUTDOWN_MIN_BYTES);
		h.status = IC_STATUS_OK;
		switch (sd.flags) {
		case 0:
		case 1:
			g->shutdowns++;
			break;
		case 2:
		case 3:
			if (g->agreed_msg.major > 3 ||
			    (g->agreed_msg.major == 3 && g->agreed_msg.minor >= 1))
				g->reboots++;
			else
				h.status = IC_STATUS_FAIL;
			break;
		default: /* hibernate not enabled in this guest */
			h.status = IC_STATUS_FAIL;
			break;
		}
	} else {
		h.status = IC_STATUS_FAIL;
	}
	h.flags = IC_FLAG_TRANSACTION | IC_FLAG_RESPONSE;
	memcpy(buf + sizeof(struct ic_pipe_hdr), &h, sizeof(h));
}

static void negotiate(struct vmbus_ic *ic, struct guest *g, int want)
{
	uint8_t buf[IC_MSG_MAX];
	ssize_t n = vmbus_ic_negotiate_request(ic, buf, sizeof(buf));
	ASSERT_GT(n, 0);
	ASSERT_EQ(ic->state, VMBUS_IC_NEGOTIATING);
	guest_answer(g, buf, (size_t)n);
	ASSERT_EQ(vmbus_ic_receive(ic, buf, (size_t)n), want);
}

static void test_heartbeat(void)
{
	struct guest g = {linux_fw, linux_hb, 2, 2, {0, 0}, 0, 0};
	struct vmbus_ic ic;
	uint8_t buf[IC_MSG_MAX];
	ssize_t n;

	vmbus_ic_init(&ic, VMBUS_IC_HEARTBEAT);
	ASSERT_EQ(vmbus_ic_heartbeat_request(&ic, buf, sizeof(buf)), -ENOTCONN);
	negotiate(&ic, &g, VMBUS_IC_EV_NEGOTIATED);
	ASSERT_EQ(ic.framework.major, 3);
	ASSERT_EQ(ic.message.major, 3);

	for (int i = 1; i <= 5; i++) {
		n = vmbus_ic_heartbeat_request(&ic, buf, sizeof(buf));
		ASSERT_EQ(n, IC_BODY_OFFSET + sizeof(struct ic_heartbeat));
		ASSERT_EQ(vmbus_ic_heartbeat_request(&ic, buf + 100, sizeof(buf) - 100), -EAGAIN);
		struct ic_msg_hdr h;
		memcpy(&h, buf + 8, sizeof(h));
		ASSERT_EQ(h.msgtype, IC_MSG_HEARTBEAT);
		ASSERT_EQ(h.flags, IC_FLAG_TRANSACTION | IC_FLAG_REQUEST);
		ASSERT_EQ(h.framework_version.major, 3);
		guest_answer(&g, buf, (size_t)n);
		ASSERT_EQ(vmbus_ic_receive(&ic, buf, (size_t)n), VMBUS_IC_EV_HEARTBEAT);
		ASSERT_UEQ(ic.seq, (uint64_t)i);
		ASSERT_UEQ(ic.heartbeats, (uint64_t)i);
	}

	/* A guest that does not advance the sequence, a replay, a request echoed
	 * without the response flag, a truncated packet. */
	n = vmbus_ic_heartbeat_request(&ic, buf, sizeof(buf));
	uint8_t copy[IC_MSG_MAX];
	memcpy(copy, buf, (size_t)n);
	ASSERT_EQ(vmbus_ic_receive(&ic, buf, (size_t)n), -EBADMSG); /* still a request */
	copy[17 + 8] = IC_FLAG_TRANSACTION | IC_FLAG_RESPONSE;
	ASSERT_EQ(vmbus_ic_receive(&ic, copy, (size_t)n), -EPROTO); /* seq not + 1 */
	ASSERT_FALSE(ic.outstanding);
	n = vmbus_ic_heartbeat_request(&ic, buf, sizeof(buf));
	guest_answer(&g, buf, (size_t)n);
	ASSERT_EQ(vmbus_ic_receive(&ic, buf, IC_BODY_OFFSET - 1), -EBADMSG);
	ASSERT_EQ(vmbus_ic_receive(&ic, buf, IC_BODY_OFFSET + 4), -EBADMSG); /* msgsize too big */
	ASSERT_EQ(vmbus_ic_receive(&ic, buf, (size_t)n), VMBUS_IC_EV_HEARTBEAT);
	ASSERT_EQ(vmbus_ic_receive(&ic, buf, (size_t)n), -EPROTO); /* nothing outstanding */
	ASSERT_GE(ic.bad_packets, 5);
	ASSERT_EQ(vmbus_ic_shutdown_request(&ic, buf, sizeof(buf), 0, 0, 0, NULL), -EINVAL);
	ASSERT_EQ(vmbus_ic_heartbeat_request(&ic, buf, 10), -ENOBUFS);
}

static void test_shutdown(void)
{
	struct guest g = {linux_fw, linux_sd, 2, 4, {0, 0}, 0, 0};
	struct vmbus_ic ic;
	uint8_t buf[IC_MSG_MAX];
	ssize_t n;

	vmbus_ic_init(&ic, VMBUS_IC_SHUTDOWN);
	negotiate(&ic, &g, VMBUS_IC_EV_NEGOTIATED);
	ASSERT_EQ(ic.message.major, 3);
	ASSERT_EQ(ic.message.minor, 2);

	n = vmbus_ic_shutdown_request(&ic, buf, sizeof(buf), IC_SHUTDOWN_F_FORCE, 0x80000000u, 30,
				      "mhcl test");
	ASSERT_EQ(n, IC_BODY_OFFSET + sizeof(struct ic_shutdown));
	ASSERT_EQ(memcmp(buf + IC_BODY_OFFSET + 12, "mhcl test", 10), 0);
	guest_answer(&g, buf, (size_t)n);
	ASSERT_EQ(vmbus_ic_receive(&ic, buf, (size_t)n), VMBUS_IC_EV_SHUTDOWN_OK);
	ASSERT_EQ(g.shutdowns, 1);

	n = vmbus_ic_shutdown_request(&ic, buf, sizeof(buf), IC_SHUTDOWN_F_RESTART, 0, 0, NULL);
	guest_answer(&g, buf, (size_t)n);
	ASSERT_EQ(vmbus_ic_receive(&ic, buf, (size_t)n), VMBUS_IC_EV_SHUTDOWN_OK);
	ASSERT_EQ(g.reboots, 1);

	n = vmbus_ic_shutdown_request(&ic, buf, sizeof(buf), IC_SHUTDOWN_F_HIBERNATE, 0, 0, NULL);
	guest_answer(&g, buf, (size_t)n);
	ASSERT_EQ(vmbus_ic_receive(&ic, buf, (size_t)n), VMBUS_IC_EV_SHUTDOWN_FAIL);
	ASSERT_EQ(ic.last_status, IC_STATUS_FAIL);
	ASSERT_EQ(vmbus_ic_shutdown_request(&ic, buf, sizeof(buf), 6, 0, 0, NULL), -EINVAL);
	ASSERT_EQ(vmbus_ic_shutdown_request(&ic, buf, sizeof(buf), 0x100, 0, 0, NULL), -EINVAL);

	/* An old guest that knows only shutdown 3.0 cannot be asked to reboot. */
	static const struct ic_version old_sd[] = {{3, 0}, {1, 0}};
	struct guest old = {linux_fw, old_sd, 2, 2, {0, 0}, 0, 0};
	vmbus_ic_init(&ic, VMBUS_IC_SHUTDOWN);
	negotiate(&ic, &old, VMBUS_IC_EV_NEGOTIATED);
	ASSERT_EQ(ic.message.minor, 0);
	ASSERT_EQ(
	    vmbus_ic_shutdown_request(&ic, buf, sizeof(buf), IC_SHUTDOWN_F_RESTART, 0, 0, NULL),
	    -EOPNOTSUPP);
}

static void test_negotiate_failures(void)
{
	static const struct ic_version none[] = {{9, 9}};
	struct guest g = {linux_fw, none, 2, 1, {0, 0}, 0, 0};
	struct vmbus_ic ic;
	uint8_t buf[IC_MSG_MAX];
	ssize_t n;

	/* No common version: the guest answers 0/0, the IC is unusable. */
	vmbus_ic_init(&ic, VMBUS_IC_HEARTBEAT);
	negotiate(&ic, &g, -EPROTO);
	ASSERT_EQ(ic.state, VMBUS_IC_FAILED);
	ASSERT_EQ(vmbus_ic_heartbeat_request(&ic, buf, sizeof(buf)), -ENOTCONN);

	/* A guest claiming a version the host never offered. */
	vmbus_ic_init(&ic, VMBUS_IC_HEARTBEAT);
	n = vmbus_ic_negotiate_request(&ic, buf, sizeof(buf));
	struct guest liar = {linux_fw, linux_hb, 2, 2, {0, 0}, 0, 0};
	guest_answer(&liar, buf, (size_t)n);
	struct ic_version bogus = {7, 7};
	memcpy(buf + IC_BODY_OFFSET + 12, &bogus, 4);
	ASSERT_EQ(vmbus_ic_receive(&ic, buf, (size_t)n), -EPROTO);
	ASSERT_EQ(ic.state, VMBUS_IC_FAILED);

	/* Counts other than 1/1 or 0/0, a wrong pipe header, the wrong type. */
	vmbus_ic_init(&ic, VMBUS_IC_HEARTBEAT);
	n = vmbus_ic_negotiate_request(&ic, buf, sizeof(buf));
	guest_answer(&liar, buf, (size_t)n);
	uint8_t bad[IC_MSG_MAX];
	memcpy(bad, buf, (size_t)n);
	bad[IC_BODY_OFFSET] = 2;
	ASSERT_EQ(vmbus_ic_receive(&ic, bad, (size_t)n), -EBADMSG);
	memcpy(bad, buf, (size_t)n);
	bad[0] = 2;
	ASSERT_EQ(vmbus_ic_receive(&ic, bad, (size_t)n), -EBADMSG);
	memcpy(bad, buf, (size_t)n);
	bad[8 + 4] = IC_MSG_HEARTBEAT;
	ASSERT_EQ(vmbus_ic_receive(&ic, bad, (size_t)n), -EPROTO);
	ASSERT_EQ(ic.state, VMBUS_IC_NEGOTIATING);
	ASSERT_EQ(vmbus_ic_receive(&ic, buf, (size_t)n), VMBUS_IC_EV_NEGOTIATED);
	ASSERT_EQ(vmbus_ic_negotiate_request(&ic, buf, 20), -ENOBUFS);
}

static void test_offer(void)
{
	struct hv_guid inst = {{1, 2, 3}};
	struct vmbus_offer o;

	vmbus_ic_offer(VMBUS_IC_HEARTBEAT, &inst, &o);
	ASSERT_EQ(memcmp(&o.if_type, &HV_GUID_IC_HEARTBEAT, 16), 0);
	ASSERT_EQ(memcmp(&o.if_instance, &inst, 16), 0);
	ASSERT_EQ(o.chn_flags, 0x11);
	ASSERT_EQ(o.user_def[0], 4);
	ASSERT_EQ(o.sub_channel_index, 0);
	vmbus_ic_offer(VMBUS_IC_SHUTDOWN, &inst, &o);
	ASSERT_EQ(memcmp(&o.if_type, &HV_GUID_IC_SHUTDOWN, 16), 0);
}

int main(void)
{
	test_offer();
	test_heartbeat();
	test_shutdown();
	test_negotiate_failures();
	printf("ok\n");
	return 0;
}
