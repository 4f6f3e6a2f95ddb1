/* SPDX-License-Identifier: MIT */
/*
 * Decoding of guest->host channel messages. The message is copied once into
 * private memory, then its length is checked against what its type needs;
 * nothing is read from the caller's buffer after the copy. Longer messages
 * are accepted (some guests, UEFI for one, always post the full 240 bytes);
 * the extra bytes are ignored except as GPADL data, which is bounded by the
 * GPADL's own declared length.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vmbus.h"

/* Per type: the smallest message a guest may send, or 0 if only the host sends it. */
static const uint16_t min_len[_VMBUS_MSG_MAX] = {
    [VMBUS_MSG_REQUESTOFFERS] = sizeof(struct vmbus_msg_hdr),
    [VMBUS_MSG_OPENCHANNEL] = sizeof(struct vmbus_msg_open_channel),
    [VMBUS_MSG_CLOSECHANNEL] = sizeof(struct vmbus_msg_relid),
    [VMBUS_MSG_GPADL_HEADER] = sizeof(struct vmbus_msg_gpadl_header),
    [VMBUS_MSG_GPADL_BODY] = sizeof(struct vmbus_msg_gpadl_body),
    [VMBUS_MSG_GPADL_TEARDOWN] = sizeof(struct vmbus_msg_gpadl_teardown),
    [VMBUS_MSG_RELID_RELEASED] = sizeof(struct vmbus_msg_relid),
    [VMBUS_MSG_INITIATE_CONTACT] = sizeof(struct vmbus_msg_initiate_contact),
    [VMBUS_MSG_UNLOAD] = sizeof(struct vmbus_msg_hdr),
    [VMBUS_MSG_TL_CONNECT_REQUEST] = sizeof(struct vmbus_msg_tl_connect_request),
    [VMBUS_MSG_MODIFYCHANNEL] = sizeof(struct vmbus_msg_modify_channel),
};

static const char *const type_names[_VMBUS_MSG_MAX] = {
    [VMBUS_MSG_INVALID] = "INVALID",
    [VMBUS_MSG_OFFERCHANNEL] = "OFFERCHANNEL",
    [VMBUS_MSG_RESCIND_CHANNELOFFER] = "RESCIND_CHANNELOFFER",
    [VMBUS_MSG_REQUESTOFFERS] = "REQUESTOFFERS",
    [VMBUS_MSG_ALLOFFERS_DELIVERED] = "ALLOFFERS_DELIVERED",
    [VMBUS_MSG_OPENCHANNEL] = "OPENCHANNEL",
    [VMBUS_MSG_OPENCHANNEL_RESULT] = "OPENCHANNEL_RESULT",
    [VMBUS_MSG_CLOSECHANNEL] = "CLOSECHANNEL",
    [VMBUS_MSG_GPADL_HEADER] = "GPADL_HEADER",
    [VMBUS_MSG_GPADL_BODY] = "GPADL_BODY",
    [VMBUS_MSG_GPADL_CREATED] = "GPADL_CREATED",
    [VMBUS_MSG_GPADL_TEARDOWN] = "GPADL_TEARDOWN",
    [VMBUS_MSG_GPADL_TORNDOWN] = "GPADL_TORNDOWN",
    [VMBUS_MSG_RELID_RELEASED] = "RELID_RELEASED",
    [VMBUS_MSG_INITIATE_CONTACT] = "INITIATE_CONTACT",
    [VMBUS_MSG_VERSION_RESPONSE] = "VERSION_RESPONSE",
    [VMBUS_MSG_UNLOAD] = "UNLOAD",
    [VMBUS_MSG_UNLOAD_RESPONSE] = "UNLOAD_RESPONSE",
    [VMBUS_MSG_OPEN_RESERVED_CHANNEL] = "OPEN_RESERVED_CHANNEL",
    [VMBUS_MSG_CLOSE_RESERVED_CHANNEL] = "CLOSE_RESERVED_CHANNEL",
    [VMBUS_MSG_CLOSE_RESERVED_RESPONSE] = "CLOSE_RESERVED_RESPONSE",
    [VMBUS_MSG_TL_CONNECT_REQUEST] = "TL_CONNECT_REQUEST",
    [VMBUS_MSG_MODIFYCHANNEL] = "MODIFYCHANNEL",
    [VMBUS_MSG_TL_CONNECT_RESULT] = "TL_CONNECT_RESULT",
    [VMBUS_MSG_MODIFYCHANNEL_RESPONSE] = "MODIFYCHANNEL_RESPONSE",
};

const char *vmbus_msg_type_to_string(uint32_t type)
{
	return type < _VMBUS_MSG_MAX ? type_names[type] : "unknown";
}

const char *vmbus_guid_to_string(const struct hv_guid *g, char buf[VMBUS_GUID_STRING_MAX])
{
	const uint8_t *b = g->b;

	/* The first three fields are little-endian on the wire. */
	snprintf(buf, VMBUS_GUID_STRING_MAX,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[3], b[2],
		 b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
		 b[15]);
	return buf;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int vmbus_guid_from_string(const char *s, struct hv_guid *ret)
{
	/* Wire byte for each pair of hex digits, in text order (as vmbus_guid_to_string). */
	static const uint8_t order[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
	struct hv_guid g;
	unsigned k = 0;

	for (size_t i = 0; i < VMBUS_GUID_STRING_MAX - 1;) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return -EINVAL;
			i++;
			continue;
		}
		int hi = hex_digit(s[i]), lo = hi < 0 ? -1 : hex_digit(s[i + 1]);
		if (lo < 0)
			return -EINVAL;
		g.b[order[k++]] = (uint8_t)(hi << 4 | lo);
		i += 2;
	}
	if (s[VMBUS_GUID_STRING_MAX - 1])
		return -EINVAL;
	*ret = g;
	return 0;
}

size_t vmbus_msg_min_len(uint32_t type)
{
	return type < _VMBUS_MSG_MAX ? min_len[type] : 0;
}

int vmbus_msg_parse(const void *buf, size_t len, struct vmbus_msg *ret, const char **ret_reason)
{
	struct vmbus_msg m;
	const char *reason;

	if (!buf && len) {
		reason = "no message buffer";
		goto bad;
	}
	if (len > VMBUS_MSG_MAX) {
		reason = "message longer than 240 bytes";
		goto bad;
	}
	if (len < sizeof(struct vmbus_msg_hdr)) {
		reason = "message shorter than its 8-byte header";
		goto bad;
	}

	/* Copy first; everything below reads only the copy. */
	memset(&m, 0, sizeof(m));
	memcpy(m.raw.bytes, buf, len);
	m.len = (uint32_t)len;
	m.type = m.raw.hdr.msgtype;

	if (m.type >= _VMBUS_MSG_MAX) {
		reason = "unknown message type";
		goto bad;
	}
	if (min_len[m.type] == 0) {
		reason = "message type the guest never sends";
		goto bad;
	}
	if (len < min_len[m.type]) {
		reason = "message shorter than its type requires";
		goto bad;
	}

	if (m.type == VMBUS_MSG_GPADL_HEADER || m.type == VMBUS_MSG_GPADL_BODY) {
		m.data_off = min_len[m.type];
		m.data_u64 = (m.len - m.data_off) / 8;
	}
	*ret = m;
	return 0;

bad:
	if (ret_reason)
		*ret_reason = reason;
	return -EBADMSG;
}
