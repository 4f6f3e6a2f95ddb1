/* SPDX-License-Identifier: MIT */
/*
 * Host side of the heartbeat and shutdown integration components.
 *
 * The guest answers every request in place: it returns the whole packet with
 * flags TRANSACTION|RESPONSE, the status set, and for NEGOTIATE the counts
 * rewritten to 1/1 followed by the chosen framework and message version (or
 * 0/0 when nothing matched). Heartbeat answers carry seq_num + 1.
 */
#include <errno.h>
#include <string.h>

#include "ic.h"
#include "vmbus.h"

static const struct ic_version fw_versions[] = {IC_FW_VERSION_3, IC_FW_VERSION_1};
static const struct ic_version hb_versions[] = {IC_HEARTBEAT_VERSION_3, IC_HEARTBEAT_VERSION_1};
static const struct ic_version sd_versions[] = {IC_SHUTDOWN_VERSION_3_2, IC_SHUTDOWN_VERSION_3_1,
						IC_SHUTDOWN_VERSION_3, IC_SHUTDOWN_VERSION_1};

static const struct ic_version *msg_versions(enum vmbus_ic_kind kind, size_t *n)
{
	if (kind == VMBUS_IC_SHUTDOWN) {
		*n = sizeof(sd_versions) / sizeof(sd_versions[0]);
		return sd_versions;
	}
	*n = sizeof(hb_versions) / sizeof(hb_versions[0]);
	return hb_versions;
}

static bool version_in(struct ic_version v, const struct ic_version *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (list[i].major == v.major && list[i].minor == v.minor)
			return true;
	return false;
}

static bool version_ge(struct ic_version v, uint16_t major, uint16_t minor)
{
	return v.major > major || (v.major == major && v.minor >= minor);
}

void vmbus_ic_offer(enum vmbus_ic_kind kind, const struct hv_guid *instance,
		    struct vmbus_offer *ret)
{
	struct vmbus_offer o = {
	    .if_type = kind == VMBUS_IC_SHUTDOWN ? HV_GUID_IC_SHUTDOWN : HV_GUID_IC_HEARTBEAT,
	    .if_instance = *instance,
	    .chn_flags = VMBUS_OFFER_F_ENUMERATE_DEVICE_INTERFACE | VMBUS_OFFER_F_NAMED_PIPE_MODE,
	};
	uint32_t pipe_type = VMBUS_PIPE_TYPE_MESSAGE;

	memcpy(o.user_def, &pipe_type, sizeof(pipe_type));
	*ret = o;
}

void vmbus_ic_init(struct vmbus_ic *ic, enum vmbus_ic_kind kind)
{
	memset(ic, 0, sizeof(*ic));
	ic->kind = kind;
	ic->state = VMBUS_IC_IDLE;
}

/* Writes pipe header + icmsg header for a request with a body of body_len bytes. */
static ssize_t put_request(struct vmbus_ic *ic, void *buf, size_t cap, uint16_t type,
			   const void *body, size_t body_len)
{
	struct ic_pipe_hdr pipe = {
	    .type = IC_PIPE_TYPE_DATA,
	    .size = (uint32_t)(sizeof(struct ic_msg_hdr) + body_len),
	};
	struct ic_msg_hdr h = {
	    .framework_version = ic->framework,
	    .msgtype = type,
	    .msg_version = ic->message,
	    .msgsize = (uint16_t)body_len,
	    .status = IC_STATUS_OK,
	    .transaction_id = 0,
	    .flags = IC_FLAG_TRANSACTION | IC_FLAG_REQUEST,
	};
	size_t total = IC_BODY_OFFSET + body_len;

	if (!buf || cap < total || body_len > UINT16_MAX)
		return -ENOBUFS;
	memcpy(buf, &pipe, sizeof(pipe));
	memcpy((uint8_t *)buf + sizeof(pipe), &h, sizeof(h));
	memcpy((uint8_t *)buf + IC_BODY_OFFSET, body, body_len);
	ic->outstanding = true;
	ic->pending_type = (uint8_t)type;
	return (ssize_t)total;
}

ssize_t vmbus_ic_negotiate_request(struct vmbus_ic *ic, void *buf, size_t cap)
{
	uint8_t body[sizeof(struct ic_negotiate) + 8 * sizeof(struct ic_version)];
	size_t nmsg;
	const struct ic_version *mv = msg_versions(ic->kind, &nmsg);
	size_t nfw = sizeof(fw_versions) / sizeof(fw_versions[0]);
	struct ic_negotiate n = {.framework_count = (uint16_t)nfw, .message_count = (uint16_t)nmsg};
	size_t off = 0;
	ssize_t r;

	static_assert(sizeof(fw_versions) / sizeof(fw_versions[0]) + 4 <= 8, "body fits");
	memcpy(body + off, &n, sizeof(n));
	off += sizeof(n);
	memcpy(body + off, fw_versions, sizeof(fw_versions));
	off += sizeof(fw_versions);
	memcpy(body + off, mv, nmsg * sizeof(*mv));
	off += nmsg * sizeof(*mv);

	/* Versions in the header are not agreed yet: zero. */
	ic->framework = (struct ic_version){0, 0};
	ic->message = (struct ic_version){0, 0};
	r = put_request(ic, buf, cap, IC_MSG_NEGOTIATE, body, off);
	if (r >= 0)
		ic->state = VMBUS_IC_NEGOTIATING;
	return r;
}

ssize_t vmbus_ic_heartbeat_request(struct vmbus_ic *ic, void *buf, size_t cap)
{
	struct ic_heartbeat hb = {0};
	ssize_t r;

	if (ic->kind != VMBUS_IC_HEARTBEAT)
		return -EINVAL;
	if (ic->state != VMBUS_IC_READY)
		return -ENOTCONN;
	if (ic->outstanding)
		return -EAGAIN;
	hb.seq_num = ic->seq + 1;
	r = put_request(ic, buf, cap, IC_MSG_HEARTBEAT, &hb, sizeof(hb));
	if (r >= 0)
		ic->seq = hb.seq_num;
	return r;
}

ssize_t vmbus_ic_shutdown_request(struct vmbus_ic *ic, void *buf, size_t cap, uint32_t flags,
				  uint32_t reason, uint32_t timeout_s, const char *message)
{
	struct ic_shutdown sd = {
	    .reason_code = reason, .timeout_seconds = timeout_s, .flags = flags};

	if (ic->kind != VMBUS_IC_SHUTDOWN)
		return -EINVAL;
	if (ic->state != VMBUS_IC_READY)
		return -ENOTCONN;
	if (ic->outstanding)
		return -EAGAIN;
	if (flags & ~(IC_SHUTDOWN_F_FORCE | IC_SHUTDOWN_F_RESTART | IC_SHUTDOWN_F_HIBERNATE) ||
	    (flags & IC_SHUTDOWN_F_RESTART && flags & IC_SHUTDOWN_F_HIBERNATE))
		return -EINVAL;
	if (flags & IC_SHUTDOWN_F_RESTART && !version_ge(ic->message, 3, 1))
		return -EOPNOTSUPP;
	if (flags & IC_SHUTDOWN_F_HIBERNATE && !version_ge(ic->message, 3, 2))
		return -EOPNOTSUPP;
	if (message)
		strncpy((char *)sd.display_message, message, sizeof(sd.display_message) - 1);
	return put_request(ic, buf, cap, IC_MSG_SHUTDOWN, &sd, sizeof(sd));
}

int vmbus_ic_parse_hdr(const void *buf, size_t len, struct ic_msg_hdr *ret_hdr,
		       size_t *ret_body_len)
{
	struct ic_pipe_hdr pipe;
	struct ic_msg_hdr h;

	if (!buf || len < IC_BODY_OFFSET || len > IC_MSG_MAX)
		return -EBADMSG;
	memcpy(&pipe, buf, sizeof(pipe));
	memcpy(&h, (const uint8_t *)buf + sizeof(pipe), sizeof(h));
	if (pipe.type != IC_PIPE_TYPE_DATA || pipe.size < sizeof(h) ||
	    pipe.size > len - sizeof(pipe))
		return -EBADMSG;
	if (h.msgsize > len - IC_BODY_OFFSET)
		return -EBADMSG;
	*ret_hdr = h;
	*ret_body_len = h.msgsize;
	return 0;
}

static int bad(struct vmbus_ic *ic, int err)
{
	ic->bad_packets++;
	return err;
}

static int receive_negotiate(struct vmbus_ic *ic, const uint8_t *body, size_t body_len,
			     size_t avail)
{
	struct ic_negotiate n;
	struct ic_version v[2];
	size_t nmsg;
	const struct ic_version *mv = msg_versions(ic->kind, &nmsg);

	/* Linux writes msgsize 16 but leaves the versions where the host put
	 * them, so read what the packet holds rather than what msgsize says. */
	(void)body_len;
	if (avail < sizeof(n))
		return bad(ic, -EBADMSG);
	memcpy(&n, body, sizeof(n));
	if (n.framework_count == 0 && n.message_count == 0) {
		ic->state = VMBUS_IC_FAILED;
		return bad(ic, -EPROTO);
	}
	if (n.framework_count != 1 || n.message_count != 1 || avail < sizeof(n) + sizeof(v))
		return bad(ic, -EBADMSG);
	memcpy(v, body + sizeof(n), sizeof(v));
	if (!version_in(v[0], fw_versions, sizeof(fw_versions) / sizeof(fw_versions[0])) ||
	    !version_in(v[1], mv, nmsg)) {
		ic->state = VMBUS_IC_FAILED;
		return bad(ic, -EPROTO);
	}
	ic->framework = v[0];
	ic->message = v[1];
	ic->state = VMBUS_IC_READY;
	return VMBUS_IC_EV_NEGOTIATED;
}

int vmbus_ic_receive(struct vmbus_ic *ic, const void *buf, size_t len)
{
	uint8_t copy[IC_BODY_OFFSET + sizeof(struct ic_negotiate) + 16 * sizeof(struct ic_version)];
	struct ic_msg_hdr h;
	size_t body_len, avail;
	int r;

	r = vmbus_ic_parse_hdr(buf, len, &h, &body_len);
	if (r < 0)
		return bad(ic, r);
	if ((h.flags & (IC_FLAG_TRANSACTION | IC_FLAG_RESPONSE)) !=
	    (IC_FLAG_TRANSACTION | IC_FLAG_RESPONSE))
		return bad(ic, -EBADMSG);
	if (!ic->outstanding || h.msgtype != ic->pending_type)
		return bad(ic, -EPROTO);

	/* Only the fixed parts matter to the host: copy what they need. */
	avail = len - IC_BODY_OFFSET;
	if (avail > sizeof(copy) - IC_BODY_OFFSET)
		avail = sizeof(copy) - IC_BODY_OFFSET;
	memcpy(copy, buf, IC_BODY_OFFSET + avail);
	const uint8_t *body = copy + IC_BODY_OFFSET;

	ic->last_status = h.status;
	switch (h.msgtype) {
	case IC_MSG_NEGOTIATE:
		r = receive_negotiate(ic, body, body_len, avail);
		break;
	case IC_MSG_HEARTBEAT: {
		uint64_t seq;
		if (body_len < sizeof(seq) || h.status != IC_STATUS_OK)
			return bad(ic, -EBADMSG);
		memcpy(&seq, body, sizeof(seq));
		if (seq != ic->seq + 1) {
			/* An answer, but a wrong one: the request is over. */
			r = bad(ic, -EPROTO);
			break;
		}
		ic->heartbeats++;
		r = VMBUS_IC_EV_HEARTBEAT;
		break;
	}
	case IC_MSG_SHUTDOWN:
		r = h.status == IC_STATUS_OK ? VMBUS_IC_EV_SHUTDOWN_OK : VMBUS_IC_EV_SHUTDOWN_FAIL;
		break;
	default:
		return bad(ic, -EPROTO);
	}
	if (r >= 0 || r == -EPROTO)
		ic->outstanding = false;
	return r;
}
