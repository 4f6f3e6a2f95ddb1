/* SPDX-License-Identifier: MIT */
#include "storvsp.h"

#include <errno.h>
#include <string.h>

#include "defs/vmbus_ring_defs.h"

static bool version_supported(uint16_t v)
{
	switch (v) {
	case STORVSP_VERSION_WIN10:
	case STORVSP_VERSION_WIN8_1:
	case STORVSP_VERSION_WIN8:
	case STORVSP_VERSION_WIN7:
	case STORVSP_VERSION_WIN6:
		return true;
	default:
		return false;
	}
}

int storvsp_parse(const struct vmbus_pkt *pkt, uint16_t version, struct storvsp_req *req,
		  const char **why)
{
	/* Before a version is agreed the guest sizes its packets for the version it will
	 * propose; the shortest any version uses is the pre-Windows 8 one. */
	uint32_t min = version ? storvsp_packet_size(version)
			       : STORVSP_PACKET_HEADER + STORVSP_SRB_SIZE_PRE_WIN8;

	memset(req, 0, offsetof(struct storvsp_req, pkt));
	req->trans_id = pkt->trans_id;
	req->byte_count = req->byte_offset = req->npfns = 0;
	req->pfns = NULL;
	if (pkt->type != VMBUS_PKT_DATA_INBAND && pkt->type != VMBUS_PKT_DATA_USING_GPA_DIRECT) {
		*why = "not an in-band or GPA-direct packet";
		return -EBADMSG;
	}
	if (pkt->payload_len < min) {
		*why = "shorter than a storage packet";
		return -EBADMSG;
	}
	req->size = pkt->payload_len >= sizeof(req->pkt) ? (uint32_t)sizeof(req->pkt) : min;
	memset(&req->pkt, 0, sizeof(req->pkt));
	memcpy(&req->pkt, pkt->payload, req->size);
	req->op = req->pkt.operation;
	if (pkt->type != VMBUS_PKT_DATA_USING_GPA_DIRECT)
		return 0;

	struct vmbus_gpa_iter it;
	uint32_t count, offset, npfns;
	const uint64_t *pfns;

	if (pkt->range_count != 1) {
		/* storvsc and Windows describe the buffer with one multi-page range. */
		*why = "a data buffer in more than one GPA range";
		return -EBADMSG;
	}
	vmbus_gpa_iter_init(&it, pkt);
	if (vmbus_gpa_iter_next(&it, &count, &offset, &pfns, &npfns) != 1) {
		*why = "no GPA range";
		return -EBADMSG;
	}
	if (count > STOR_MAX_TRANSFER || npfns > STOR_MAX_PFNS) {
		*why = "a data buffer larger than the advertised maximum transfer";
		return -E2BIG;
	}
	req->byte_count = count;
	req->byte_offset = offset;
	req->npfns = npfns;
	req->pfns = pfns;
	return 0;
}

void storvsp_properties(struct storvsp_properties *props, uint16_t max_subchannels)
{
	memset(props, 0, sizeof(*props));
	props->max_channel_count = max_subchannels;
	props->flags = max_subchannels ? STORVSP_PROP_MULTI_CHANNEL : 0;
	/* Linux derives max_sectors and its SG table size from this: never 0. */
	props->max_transfer_bytes = STOR_MAX_TRANSFER;
}

void storvsp_init_op(struct stor_ctrl_rec *rec, const struct storvsp_req *req, bool primary,
		     uint16_t max_subchannels, struct storvsp_init_answer *ans)
{
	*ans = (struct storvsp_init_answer){.status = STORVSP_STATUS_SUCCESS};
	switch (req->op) {
	case STORVSP_OP_RESET_LUN:
	case STORVSP_OP_RESET_ADAPTER:
	case STORVSP_OP_RESET_BUS:
		/* Every request completes on its own (a backend that hangs is timed out
		 * below us), so a reset has nothing to cancel: succeed at once. */
		return;
	default:
		break;
	}
	if (!primary) {
		ans->status = STORVSP_STATUS_INVALID_DEVICE_STATE;
		return;
	}
	switch (req->op) {
	case STORVSP_OP_BEGIN_INITIALIZATION:
		/* A guest that starts over (a driver reload) renegotiates from scratch. */
		rec->version = 0;
		stor_publish(&rec->init_state, (uint32_t)STOR_INIT_BEGUN);
		return;
	case STORVSP_OP_QUERY_PROTOCOL_VERSION:
		if (rec->init_state != STOR_INIT_BEGUN && rec->init_state != STOR_INIT_VERSION) {
			ans->status = STORVSP_STATUS_INVALID_DEVICE_STATE;
			return;
		}
		if (!version_supported(req->pkt.version.major_minor)) {
			ans->status = STORVSP_STATUS_REVISION_MISMATCH;
			return;
		}
		rec->version = req->pkt.version.major_minor;
		stor_publish(&rec->init_state, (uint32_t)STOR_INIT_VERSION);
		return;
	case STORVSP_OP_QUERY_PROPERTIES:
		if (rec->init_state < STOR_INIT_VERSION) {
			ans->status = STORVSP_STATUS_INVALID_DEVICE_STATE;
			return;
		}
		ans->props = true;
		return;
	case STORVSP_OP_END_INITIALIZATION:
		if (rec->init_state < STOR_INIT_VERSION) {
			ans->status = STORVSP_STATUS_INVALID_DEVICE_STATE;
			return;
		}
		stor_publish(&rec->init_state, (uint32_t)STOR_INIT_DONE);
		return;
	case STORVSP_OP_CREATE_SUB_CHANNELS: {
		uint16_t want = req->pkt.sub_channel_count;
		if (rec->init_state < STOR_INIT_VERSION || !max_subchannels || want == 0 ||
		    want > max_subchannels) {
			ans->status = STORVSP_STATUS_INVALID_PARAMETER;
			return;
		}
		/* Offers stay for the life of the controller: a guest asking again gets
		 * only those it has not been offered yet. */
		if (want > rec->subchannels)
			ans->grant_subchannels = (uint16_t)(want - rec->subchannels);
		return;
	}
	case STORVSP_OP_FCHBA_DATA: /* Fibre Channel only */
	default:
		ans->status = STORVSP_STATUS_INVALID_PARAMETER;
		return;
	}
}

void storvsp_answer(const struct storvsp_req *req, uint32_t status, struct storvsp_packet *out)
{
	*out = req->pkt;
	out->operation = STORVSP_OP_COMPLETE_IO;
	out->flags = 0;
	out->status = status;
}

uint32_t storvsp_answer_size(const struct storvsp_req *req, uint16_t version)
{
	/* Linux ignores an answer shorter than the packet it sent. */
	return version ? storvsp_packet_size(version) : req->size;
}

void storvsp_srb_result(struct storvsp_packet *out, uint8_t srb_status, uint8_t scsi_status,
			const uint8_t *sense, uint32_t sense_len, uint32_t xfer, uint16_t version)
{
	struct storvsp_srb *srb = &out->srb;
	uint32_t max =
	    version >= STORVSP_VERSION_WIN8 ? STORVSP_SENSE_MAX : STORVSP_SENSE_MAX_PRE_WIN8;

	srb->scsi_status = scsi_status;
	srb->data_transfer_length = xfer;
	memset(srb->sense, 0, max);
	if (sense && sense_len) {
		if (sense_len > max)
			sense_len = max;
		if (srb->sense_info_length && sense_len > srb->sense_info_length)
			sense_len = srb->sense_info_length;
		memcpy(srb->sense, sense, sense_len);
		srb->sense_info_length = (uint8_t)sense_len;
		srb_status |= STORVSP_SRB_AUTOSENSE_VALID;
	} else {
		srb->sense_info_length = 0;
	}
	srb->srb_status = srb_status;
}

const char *storvsp_op_name(uint32_t op)
{
	static const char *const names[] = {
	    [STORVSP_OP_COMPLETE_IO] = "COMPLETE_IO",
	    [STORVSP_OP_REMOVE_DEVICE] = "REMOVE_DEVICE",
	    [STORVSP_OP_EXECUTE_SRB] = "EXECUTE_SRB",
	    [STORVSP_OP_RESET_LUN] = "RESET_LUN",
	    [STORVSP_OP_RESET_ADAPTER] = "RESET_ADAPTER",
	    [STORVSP_OP_RESET_BUS] = "RESET_BUS",
	    [STORVSP_OP_BEGIN_INITIALIZATION] = "BEGIN_INITIALIZATION",
	    [STORVSP_OP_END_INITIALIZATION] = "END_INITIALIZATION",
	    [STORVSP_OP_QUERY_PROTOCOL_VERSION] = "QUERY_PROTOCOL_VERSION",
	    [STORVSP_OP_QUERY_PROPERTIES] = "QUERY_PROPERTIES",
	    [STORVSP_OP_ENUMERATE_BUS] = "ENUMERATE_BUS",
	    [STORVSP_OP_FCHBA_DATA] = "FCHBA_DATA",
	    [STORVSP_OP_CREATE_SUB_CHANNELS] = "CREATE_SUB_CHANNELS",
	};
	return op < sizeof(names) / sizeof(names[0]) && names[op] ? names[op] : "unknown";
}
