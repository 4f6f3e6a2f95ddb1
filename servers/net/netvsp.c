/* SPDX-License-Identifier: MIT */
#include "netvsp.h"

#include <errno.h>
#include <string.h>

static_assert(NETVSP_MSG_SIZE == sizeof(struct netvsp_message), "host messages are whole");

/* The bytes a guest message of each type needs (type included); 0 = not a guest message. */
static uint32_t guest_msg_min(uint32_t type)
{
	switch (type) {
	case NETVSP_MSG_INIT:
		return NETVSP_MSG_HEADER + sizeof(struct netvsp_init);
	case NETVSP_MSG_SEND_NDIS_VER:
		return NETVSP_MSG_HEADER + sizeof(struct netvsp_ndis_version);
	case NETVSP_MSG_SEND_NDIS_CONFIG:
		return NETVSP_MSG_HEADER + sizeof(struct netvsp_ndis_config);
	case NETVSP_MSG_SEND_RECV_BUF:
	case NETVSP_MSG_SEND_SEND_BUF:
		return NETVSP_MSG_HEADER + sizeof(struct netvsp_send_buf);
	case NETVSP_MSG_REVOKE_RECV_BUF:
	case NETVSP_MSG_REVOKE_SEND_BUF:
		return NETVSP_MSG_HEADER + sizeof(struct netvsp_revoke_buf);
	case NETVSP_MSG_SEND_RNDIS_PKT:
		return NETVSP_MSG_HEADER + sizeof(struct netvsp_rndis_pkt);
	case NETVSP_MSG_SEND_RNDIS_PKT_COMPLETE:
		return NETVSP_MSG_HEADER + sizeof(struct netvsp_rndis_pkt_complete);
	case NETVSP_MSG_SUBCHANNEL:
		return NETVSP_MSG_HEADER + sizeof(struct netvsp_subchannel);
	case NETVSP_MSG_SEND_VF_ASSOCIATION:
		return NETVSP_MSG_HEADER + sizeof(struct netvsp_vf_association);
	case NETVSP_MSG_SWITCH_DATA_PATH:
		return NETVSP_MSG_HEADER + sizeof(struct netvsp_switch_data_path);
	default:
		return 0;
	}
}

int netvsp_parse(const void *payload, uint32_t len, struct netvsp_msg *m, const char **why)
{
	struct netvsp_message w;
	struct netvsp_msg out;
	uint32_t min;

	if (len < NETVSP_MSG_HEADER) {
		*why = "shorter than an NVSP message type";
		return -EBADMSG;
	}
	/* One copy of what the guest wrote; everything below reads the copy. */
	memset(&w, 0, sizeof(w));
	memcpy(&w, payload, len < sizeof(w) ? len : sizeof(w));
	min = guest_msg_min(w.type);
	if (!min) {
		*why = "not an NVSP message a guest sends";
		return -EBADMSG;
	}
	if (len < min) {
		*why = "too short for its NVSP message type";
		return -EBADMSG;
	}

	memset(&out, 0, sizeof(out));
	out.type = w.type;
	switch (w.type) {
	case NETVSP_MSG_INIT:
		out.u.init.min_version = w.init.min_version;
		out.u.init.max_version = w.init.max_version;
		break;
	case NETVSP_MSG_SEND_NDIS_VER:
		out.u.ndis_ver.major = w.ndis_version.major;
		out.u.ndis_ver.minor = w.ndis_version.minor;
		break;
	case NETVSP_MSG_SEND_NDIS_CONFIG:
		out.u.ndis_config.mtu = w.ndis_config.mtu;
		out.u.ndis_config.capabilities = w.ndis_config.capabilities;
		break;
	case NETVSP_MSG_SEND_RECV_BUF:
	case NETVSP_MSG_SEND_SEND_BUF:
		out.u.buf.gpadl = w.send_buf.gpadl;
		out.u.buf.id = w.send_buf.id;
		break;
	case NETVSP_MSG_REVOKE_RECV_BUF:
	case NETVSP_MSG_REVOKE_SEND_BUF:
		out.u.revoke.id = w.revoke_buf.id;
		break;
	case NETVSP_MSG_SEND_RNDIS_PKT:
		out.u.rndis.channel_type = w.rndis_pkt.channel_type;
		out.u.rndis.section_index = w.rndis_pkt.section_index;
		out.u.rndis.section_size = w.rndis_pkt.section_size;
		break;
	case NETVSP_MSG_SEND_RNDIS_PKT_COMPLETE:
		out.u.rndis_complete.status = w.rndis_pkt_complete.status;
		break;
	case NETVSP_MSG_SUBCHANNEL:
		out.u.subchannel.op = w.subchannel.op_or_status;
		out.u.subchannel.num = w.subchannel.num;
		break;
	case NETVSP_MSG_SEND_VF_ASSOCIATION:
		out.u.vf.a = w.vf_association.allocated;
		out.u.vf.b = w.vf_association.serial;
		break;
	case NETVSP_MSG_SWITCH_DATA_PATH:
		out.u.vf.a = w.switch_data_path.active_datapath;
		break;
	}
	*m = out;
	return 0;
}

bool netvsp_version_supported(uint32_t version)
{
	switch (version) {
	case NETVSP_VERSION_61:
	case NETVSP_VERSION_6:
	case NETVSP_VERSION_5:
	case NETVSP_VERSION_4:
	case NETVSP_VERSION_2:
	case NETVSP_VERSION_1:
		return true;
	default:
		return false;
	}
}

/* Starts a host message: zeroed to its full length, type set. */
static struct netvsp_message *begin(uint8_t *out, uint32_t type)
{
	static_assert(_Alignof(struct netvsp_message) == 1, "packed: any byte buffer holds it");
	struct netvsp_message *m = (struct netvsp_message *)out;

	memset(out, 0, NETVSP_MSG_SIZE);
	m->type = type;
	return m;
}

uint32_t netvsp_build_init_complete(uint8_t *out, uint32_t status, uint32_t negotiated_version)
{
	struct netvsp_message *m = begin(out, NETVSP_MSG_INIT_COMPLETE);

	m->init_complete.negotiated_version = negotiated_version;
	m->init_complete.status = status;
	return NETVSP_MSG_SIZE;
}

uint32_t netvsp_build_recv_buf_complete(uint8_t *out, uint32_t status, uint32_t sub_alloc_size,
					uint32_t num_sub_allocs)
{
	struct netvsp_message *m = begin(out, NETVSP_MSG_SEND_RECV_BUF_COMPLETE);

	m->recv_buf_complete.status = status;
	m->recv_buf_complete.num_sections = 1;
	m->recv_buf_complete.section.offset = 0;
	m->recv_buf_complete.section.sub_alloc_size = sub_alloc_size;
	m->recv_buf_complete.section.num_sub_allocs = num_sub_allocs;
	m->recv_buf_complete.section.end_offset = sub_alloc_size * num_sub_allocs;
	return NETVSP_MSG_SIZE;
}

uint32_t netvsp_build_send_buf_complete(uint8_t *out, uint32_t status, uint32_t section_size)
{
	struct netvsp_message *m = begin(out, NETVSP_MSG_SEND_SEND_BUF_COMPLETE);

	m->send_buf_complete.status = status;
	m->send_buf_complete.section_size = section_size;
	return NETVSP_MSG_SIZE;
}

uint32_t netvsp_build_rndis_complete(uint8_t *out, uint32_t status)
{
	struct netvsp_message *m = begin(out, NETVSP_MSG_SEND_RNDIS_PKT_COMPLETE);

	m->rndis_pkt_complete.status = status;
	return NETVSP_MSG_SIZE;
}

uint32_t netvsp_build_subchannel_complete(uint8_t *out, uint32_t status, uint32_t num_allocated)
{
	struct netvsp_message *m = begin(out, NETVSP_MSG_SUBCHANNEL);

	m->subchannel.op_or_status = status;
	m->subchannel.num = num_allocated;
	return NETVSP_MSG_SIZE;
}

uint32_t netvsp_build_rndis_pkt(uint8_t *out, uint32_t channel_type)
{
	struct netvsp_message *m = begin(out, NETVSP_MSG_SEND_RNDIS_PKT);

	m->rndis_pkt.channel_type = channel_type;
	/* The message is in the transfer-page ranges, never in a send-buffer section. */
	m->rndis_pkt.section_index = NETVSP_NO_SECTION;
	m->rndis_pkt.section_size = 0;
	return NETVSP_MSG_SIZE;
}

const char *netvsp_msg_name(uint32_t type)
{
	switch (type) {
	case NETVSP_MSG_INIT:
		return "INIT";
	case NETVSP_MSG_INIT_COMPLETE:
		return "INIT_COMPLETE";
	case NETVSP_MSG_SEND_NDIS_VER:
		return "SEND_NDIS_VER";
	case NETVSP_MSG_SEND_RECV_BUF:
		return "SEND_RECV_BUF";
	case NETVSP_MSG_SEND_RECV_BUF_COMPLETE:
		return "SEND_RECV_BUF_COMPLETE";
	case NETVSP_MSG_REVOKE_RECV_BUF:
		return "REVOKE_RECV_BUF";
	case NETVSP_MSG_SEND_SEND_BUF:
		return "SEND_SEND_BUF";
	case NETVSP_MSG_SEND_SEND_BUF_COMPLETE:
		return "SEND_SEND_BUF_COMPLETE";
	case NETVSP_MSG_REVOKE_SEND_BUF:
		return "REVOKE_SEND_BUF";
	case NETVSP_MSG_SEND_RNDIS_PKT:
		return "SEND_RNDIS_PKT";
	case NETVSP_MSG_SEND_RNDIS_PKT_COMPLETE:
		return "SEND_RNDIS_PKT_COMPLETE";
	case NETVSP_MSG_SEND_NDIS_CONFIG:
		return "SEND_NDIS_CONFIG";
	case NETVSP_MSG_SEND_VF_ASSOCIATION:
		return "SEND_VF_ASSOCIATION";
	case NETVSP_MSG_SWITCH_DATA_PATH:
		return "SWITCH_DATA_PATH";
	case NETVSP_MSG_OID_QUERY_EX:
		return "OID_QUERY_EX";
	case NETVSP_MSG_OID_QUERY_EX_COMPLETE:
		return "OID_QUERY_EX_COMPLETE";
	case NETVSP_MSG_SUBCHANNEL:
		return "SUBCHANNEL";
	case NETVSP_MSG_SEND_INDIRECTION_TABLE:
		return "SEND_INDIRECTION_TABLE";
	default:
		return "unknown";
	}
}
