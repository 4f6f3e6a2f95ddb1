/* SPDX-License-Identifier: MIT */
/*
 * RNDIS control messages: parsing a guest's INITIALIZE, HALT, QUERY, SET, RESET and
 * KEEPALIVE and building the completions. The OID answers themselves are in rndis_oid.c.
 */
#include <errno.h>
#include <string.h>

#include "rndis_internal.h"

/* What the host tells the guest in INITIALIZE_COMPLETE. */
enum {
	/* Linux batches up to this many RNDIS packets into one send-buffer section. */
	INIT_MAX_PACKETS_PER_MESSAGE = 8,
	/* The guest aligns each batched packet to 1 << this (8 bytes). */
	INIT_PACKET_ALIGNMENT_FACTOR = 3,
	/* A whole LSO frame with its RNDIS header and per-packet info fits. */
	INIT_MAX_TRANSFER_SIZE = 0x40000,
};

uint32_t rndis_msg_type(const uint8_t *msg, uint32_t len)
{
	return len < RNDIS_HEADER_SIZE ? 0 : rndis__get32(msg);
}

int rndis_parse_ctl(const uint8_t *msg, uint32_t len, struct rndis_ctl *c, const char **why)
{
	struct rndis_header h;
	struct rndis_ctl out;
	const uint8_t *body;
	uint32_t blen;

	if (len < RNDIS_HEADER_SIZE) {
		*why = "shorter than an RNDIS header";
		return -EBADMSG;
	}
	memcpy(&h, msg, sizeof(h));
	if (h.len < RNDIS_HEADER_SIZE || h.len > len) {
		*why = "RNDIS length outside the bytes received";
		return -EBADMSG;
	}
	body = msg + RNDIS_HEADER_SIZE;
	blen = h.len - RNDIS_HEADER_SIZE;

	memset(&out, 0, sizeof(out));
	out.type = h.type;
	switch (h.type) {
	case RNDIS_MSG_INIT: {
		struct rndis_init_req r;

		if (blen < sizeof(r))
			goto short_body;
		memcpy(&r, body, sizeof(r));
		out.request_id = r.req_id;
		out.major = r.major;
		out.minor = r.minor;
		out.max_transfer = r.max_transfer_size;
		break;
	}
	case RNDIS_MSG_HALT:
	case RNDIS_MSG_KEEPALIVE:
	case RNDIS_MSG_RESET: /* its one word is reserved: the completion carries no id */
		if (blen < sizeof(struct rndis_req_id))
			goto short_body;
		if (h.type != RNDIS_MSG_RESET)
			out.request_id = rndis__get32(body);
		break;
	case RNDIS_MSG_QUERY:
	case RNDIS_MSG_SET: {
		struct rndis_oid_req r;

		if (blen < sizeof(r))
			goto short_body;
		memcpy(&r, body, sizeof(r));
		out.request_id = r.req_id;
		out.oid = r.oid;
		if (r.info_len) {
			/* The buffer follows the request, inside the message. */
			if (r.info_offset < sizeof(r) || r.info_offset > blen ||
			    r.info_len > blen - r.info_offset) {
				*why = "information buffer outside the message";
				return -EBADMSG;
			}
			out.info = body + r.info_offset;
			out.info_len = r.info_len;
		}
		break;
	}
	default:
		*why = "not an RNDIS control message";
		return -EBADMSG;
	}
	*c = out;
	return 0;

short_body:
	*why = "too short for its RNDIS message type";
	return -EBADMSG;
}

/* Starts a completion of type with a body of blen bytes; returns the body. */
static uint8_t *begin(uint8_t *out, uint32_t type, uint32_t blen)
{
	struct rndis_header h = {.type = type, .len = RNDIS_HEADER_SIZE + blen};

	memset(out, 0, RNDIS_HEADER_SIZE + blen);
	memcpy(out, &h, sizeof(h));
	return out + RNDIS_HEADER_SIZE;
}

static uint32_t answer_init(struct rndis_state *st, const struct rndis_ctl *c, uint8_t *out,
			    const char **note)
{
	struct rndis_init_cmplt r = {
	    .req_id = c->request_id,
	    .status = RNDIS_STATUS_SUCCESS,
	    .major = RNDIS_MAJOR_VERSION,
	    .minor = RNDIS_MINOR_VERSION,
	    .device_flags = RNDIS_DF_CONNECTIONLESS,
	    .medium = RNDIS_MEDIUM_802_3,
	    .max_packets_per_message = INIT_MAX_PACKETS_PER_MESSAGE,
	    .max_transfer_size = INIT_MAX_TRANSFER_SIZE,
	    .packet_alignment_factor = INIT_PACKET_ALIGNMENT_FACTOR,
	};

	/* A new INITIALIZE is a new driver instance (reload, kexec): forget the old one's
	 * settings so nothing it turned on outlives it. */
	memset(st, 0, sizeof(*st));
	st->initialized = 1;
	*note = "initialized";
	memcpy(begin(out, RNDIS_MSG_INIT_C, sizeof(r)), &r, sizeof(r));
	return RNDIS_HEADER_SIZE + sizeof(r);
}

static uint32_t answer_query(const struct rndis_config *cfg, const struct rndis_state *st,
			     const struct rndis_ctl *c, uint8_t *out, const char **note)
{
	struct rndis_query_cmplt r = {.req_id = c->request_id};
	uint8_t info[RNDIS__QUERY_INFO_MAX];
	uint8_t *body;
	uint32_t len = 0;

	memset(info, 0, sizeof(info));
	r.status = rndis__query(cfg, st, c, info, &len, note);
	if (r.status != RNDIS_STATUS_SUCCESS || len > sizeof(info))
		len = 0;
	r.info_len = len;
	/* A refusal has no buffer: offset 0 makes Linux's size checks fail too. */
	r.info_offset = r.status == RNDIS_STATUS_SUCCESS ? sizeof(r) : 0;
	body = begin(out, RNDIS_MSG_QUERY_C, sizeof(r) + len);
	memcpy(body, &r, sizeof(r));
	memcpy(body + sizeof(r), info, len);
	return RNDIS_HEADER_SIZE + sizeof(r) + len;
}

static uint32_t answer_status(uint8_t *out, uint32_t type, uint32_t req_id, uint32_t status)
{
	struct rndis_status_cmplt r = {.req_id = req_id, .status = status};

	memcpy(begin(out, type, sizeof(r)), &r, sizeof(r));
	return RNDIS_HEADER_SIZE + sizeof(r);
}

uint32_t rndis_control(const struct rndis_config *cfg, struct rndis_state *st,
		       const struct rndis_ctl *c, uint8_t *out, const char **note)
{
	const char *dummy;

	if (!note)
		note = &dummy;
	*note = NULL;
	switch (c->type) {
	case RNDIS_MSG_INIT:
		return answer_init(st, c, out, note);
	case RNDIS_MSG_HALT:
		st->initialized = 0;
		*note = "halted";
		return 0;
	case RNDIS_MSG_QUERY:
		return answer_query(cfg, st, c, out, note);
	case RNDIS_MSG_SET:
		return answer_status(out, RNDIS_MSG_SET_C, c->request_id,
				     rndis__set(cfg, st, c, note));
	case RNDIS_MSG_RESET: {
		/* Nothing to reset in a synthetic NIC; the guest keeps its addressing. */
		struct rndis_reset_cmplt r = {.status = RNDIS_STATUS_SUCCESS};

		memcpy(begin(out, RNDIS_MSG_RESET_C, sizeof(r)), &r, sizeof(r));
		return RNDIS_HEADER_SIZE + sizeof(r);
	}
	case RNDIS_MSG_KEEPALIVE:
		return answer_status(out, RNDIS_MSG_KEEPALIVE_C, c->request_id,
				     RNDIS_STATUS_SUCCESS);
	default:
		/* rndis_parse_ctl lets no other type through. */
		*note = "not a control message";
		return 0;
	}
}

const uint8_t *rndis_mac(const struct rndis_config *cfg, const struct rndis_state *st)
{
	return st->has_mac_override ? st->mac_override : cfg->mac;
}

uint32_t rndis_build_indicate(uint8_t *out, uint32_t status)
{
	struct rndis_indicate r = {.status = status};

	memcpy(begin(out, RNDIS_MSG_INDICATE, sizeof(r)), &r, sizeof(r));
	return RNDIS_HEADER_SIZE + sizeof(r);
}

const char *rndis_msg_name(uint32_t type)
{
	switch (type) {
	case RNDIS_MSG_PACKET:
		return "PACKET";
	case RNDIS_MSG_INIT:
		return "INITIALIZE";
	case RNDIS_MSG_HALT:
		return "HALT";
	case RNDIS_MSG_QUERY:
		return "QUERY";
	case RNDIS_MSG_SET:
		return "SET";
	case RNDIS_MSG_RESET:
		return "RESET";
	case RNDIS_MSG_INDICATE:
		return "INDICATE_STATUS";
	case RNDIS_MSG_KEEPALIVE:
		return "KEEPALIVE";
	case RNDIS_MSG_INIT_C:
		return "INITIALIZE_C";
	case RNDIS_MSG_QUERY_C:
		return "QUERY_C";
	case RNDIS_MSG_SET_C:
		return "SET_C";
	case RNDIS_MSG_RESET_C:
		return "RESET_C";
	case RNDIS_MSG_KEEPALIVE_C:
		return "KEEPALIVE_C";
	default:
		return "unknown";
	}
}
