/* SPDX-License-Identifier: MIT */
/*
 * The connection state machine: version negotiation, offer delivery, unload
 * and the dispatch of every guest message.
 *
 *   DISCONNECTED --INITIATE_CONTACT(ok)--> CONNECTED --UNLOAD--> DISCONNECTING
 *        ^                                   |   INITIATE_CONTACT (reconnect)
 *        +---- all channels closed and all GPADLs released ---------+
 *
 * Negotiation (REFERENCES 2): the guest proposes one version per
 * INITIATE_CONTACT, newest first, and falls back on a refusal
 * (version_supported = 0). From 5.0 on INITIATE_CONTACT arrives on
 * connection id 4 and every later message on the id returned in
 * VERSION_RESPONSE; before 5.0 everything uses connection id 1.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmbus_internal.h"

/* Versions mhcl honours: everything Linux 6.1 proposes, and the 6.0 that
 * current Windows guests try first. */
static const uint32_t supported_versions[] = {
    VMBUS_VERSION_COPPER,     VMBUS_VERSION_WIN10_V5_3, VMBUS_VERSION_WIN10_V5_2,
    VMBUS_VERSION_WIN10_V5_1, VMBUS_VERSION_WIN10_V5,	VMBUS_VERSION_WIN10_V4_1,
    VMBUS_VERSION_WIN10,      VMBUS_VERSION_WIN8_1,	VMBUS_VERSION_WIN8,
};

static bool version_known(uint32_t v)
{
	for (size_t i = 0; i < sizeof(supported_versions) / sizeof(supported_versions[0]); i++)
		if (supported_versions[i] == v)
			return true;
	return false;
}

bool vmbus__version_honoured(const struct vmbus_host *s, uint32_t version)
{
	return version_known(version) && version <= s->cfg.max_version;
}

bool vmbus__connected(const struct vmbus_host *s)
{
	return s->state == VMBUS_CONN_CONNECTED;
}

void vmbus__post_to(struct vmbus_host *s, uint32_t vp, const void *msg, size_t len)
{
	s->messages_out++;
	s->ops.post_msg(s->ctx, vp, msg, len);
}

void vmbus__post(struct vmbus_host *s, const void *msg, size_t len)
{
	vmbus__post_to(s, s->target_vp, msg, len);
}

int vmbus__fail(struct vmbus_host *s, struct vmbus_channel *ch, uint32_t relid, int err,
		const char *fmt, ...)
{
	char reason[VMBUS_REASON_MAX];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);

	if (ch) {
		ch->c.errors++;
		memcpy(ch->last_error, reason, sizeof(reason));
	} else {
		s->dropped++;
		memcpy(s->last_error, reason, sizeof(reason));
	}
	if (s->ops.error)
		s->ops.error(s->ctx, ch ? ch->relid : relid, err, reason);
	return err;
}

int vmbus_host_new(const struct vmbus_host_config *cfg, const struct vmbus_host_ops *ops, void *ctx,
		   struct vmbus_host **ret)
{
	struct vmbus_host *s;
	const char *why;
	uint64_t need;

	if (!cfg || !ops || !ops->post_msg || !ret)
		return -EINVAL;
	if (guestmem_layout_check(&cfg->ram, &need, &why) < 0)
		return -EINVAL;
	if (cfg->max_version && !version_known(cfg->max_version))
		return -EINVAL;
	if (cfg->msg_conn_id > VMBUS_CONNID_MAX ||
	    (cfg->msg_conn_id >= VMBUS_CONNID_EVENT && cfg->msg_conn_id <= VMBUS_CONNID_MESSAGE_4))
		return -EINVAL;
	if (cfg->max_channels > VMBUS_RELID_MAX)
		return -EINVAL;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->cfg = *cfg;
	s->ops = *ops;
	s->ctx = ctx;
	if (!s->cfg.max_version)
		s->cfg.max_version = VMBUS_VERSION_HIGHEST;
	if (!s->cfg.msg_conn_id)
		s->cfg.msg_conn_id = VMBUS_CONNID_MESSAGE;
	if (!s->cfg.max_channels)
		s->cfg.max_channels = VMBUS_DEFAULT_MAX_CHANNELS;
	if (!s->cfg.max_gpadls_per_channel)
		s->cfg.max_gpadls_per_channel = VMBUS_DEFAULT_MAX_GPADLS_PER_CHANNEL;
	if (!s->cfg.max_gpadl_pages)
		s->cfg.max_gpadl_pages = VMBUS_DEFAULT_MAX_GPADL_PAGES;
	if (!s->cfg.max_total_pages)
		s->cfg.max_total_pages = VMBUS_DEFAULT_MAX_TOTAL_PAGES;
	if (!s->cfg.max_pending_gpadls)
		s->cfg.max_pending_gpadls = VMBUS_DEFAULT_MAX_PENDING_GPADLS;
	s->state = VMBUS_CONN_DISCONNECTED;
	*ret = s;
	return 0;
}

struct vmbus_host *vmbus_host_free(struct vmbus_host *s)
{
	if (!s)
		return NULL;
	vmbus__gpadl_free_all(s);
	for (uint32_t r = 1; r <= VMBUS_RELID_MAX; r++)
		free(s->chan[r]);
	free(s);
	return NULL;
}

static void send_version_response(struct vmbus_host *s, uint32_t vp, bool ok, uint32_t version)
{
	struct vmbus_msg_version_response2 m = {
	    .v1.hdr.msgtype = VMBUS_MSG_VERSION_RESPONSE,
	    .v1.version_supported = ok,
	    .v1.connection_state = VMBUS_CONN_STATE_SUCCESSFUL,
	    /* No 6.0 feature is granted: OPENCHANNEL, INITIATE_CONTACT and the
	     * monitor pages keep their 5.x meaning. */
	    .supported_features = 0,
	};

	if (!ok) {
		/* Refusals always use the short form. */
		vmbus__post_to(s, vp, &m.v1, sizeof(m.v1));
		return;
	}
	m.v1.msg_conn_id = version >= VMBUS_VERSION_WIN10_V5 ? s->cfg.msg_conn_id : version;
	if (version >= VMBUS_VERSION_COPPER)
		vmbus__post_to(s, vp, &m, sizeof(m));
	else
		vmbus__post_to(s, vp, &m.v1, sizeof(m.v1));
}

static void negotiate(struct vmbus_host *s, uint32_t conn_id,
		      const struct vmbus_msg_initiate_contact *ic)
{
	uint32_t v = ic->version_requested;
	/* Before 3.0 host messages always go to VP 0. */
	uint32_t vp = v >= VMBUS_VERSION_WIN8_1 ? ic->target_vcpu : 0;

	if (s->cfg.vp_count && vp >= s->cfg.vp_count) {
		vmbus__fail(s, NULL, 0, -EINVAL,
			    "INITIATE_CONTACT %u.%u: target VP %u out of range", v >> 16,
			    v & 0xffff, vp);
		send_version_response(s, 0, false, 0);
		return;
	}
	if (!version_known(v) || v > s->cfg.max_version) {
		/* An ordinary part of negotiation: not an error worth a counter. */
		send_version_response(s, vp, false, 0);
		return;
	}
	if (v >= VMBUS_VERSION_WIN10_V5) {
		uint8_t sint = (uint8_t)ic->interrupt_page_or_target;
		uint8_t vtl = (uint8_t)(ic->interrupt_page_or_target >> 8);

		if (conn_id != VMBUS_CONNID_MESSAGE_4) {
			vmbus__fail(s, NULL, 0, -EPROTO,
				    "INITIATE_CONTACT %u.%u on connection id %u, not 4", v >> 16,
				    v & 0xffff, conn_id);
			send_version_response(s, vp, false, 0);
			return;
		}
		if (sint != VMBUS_MESSAGE_SINT || vtl != 0) {
			vmbus__fail(s, NULL, 0, -EPROTO,
				    "INITIATE_CONTACT asks for SINT %u VTL %u; only SINT 2 VTL 0",
				    sint, vtl);
			send_version_response(s, vp, false, 0);
			return;
		}
	} else if (conn_id != VMBUS_CONNID_MESSAGE) {
		vmbus__fail(s, NULL, 0, -EPROTO,
			    "INITIATE_CONTACT %u.%u on connection id %u, not 1", v >> 16,
			    v & 0xffff, conn_id);
		send_version_response(s, vp, false, 0);
		return;
	}
	if ((ic->monitor_page1 == 0) != (ic->monitor_page2 == 0)) {
		vmbus__fail(s, NULL, 0, -EPROTO, "INITIATE_CONTACT gives only one monitor page");
		send_version_response(s, vp, false, 0);
		return;
	}

	s->state = VMBUS_CONN_CONNECTED;
	s->version = v;
	s->target_vp = vp;
	s->offers_requested = false;
	send_version_response(s, vp, true, v);
	if (s->ops.connection)
		s->ops.connection(s->ctx, v);
}

/* Tears down everything the guest set up, then runs `action`. */
static void begin_reset(struct vmbus_host *s, enum vmbus_reset_action action)
{
	s->action = action;
	if (s->state == VMBUS_CONN_DISCONNECTING)
		return; /* already draining; the new action replaces the old one */
	s->state = VMBUS_CONN_DISCONNECTING;
	s->offers_requested = false;
	vmbus__chan_reset_all(s);
	vmbus__gpadl_release_all(s, 0);
	vmbus__reset_check(s);
}

void vmbus__reset_check(struct vmbus_host *s)
{
	if (s->state != VMBUS_CONN_DISCONNECTING || s->in_reset_check)
		return;
	for (uint32_t r = 1; r <= VMBUS_RELID_MAX; r++) {
		struct vmbus_channel *ch = s->chan[r];
		if (ch && ch->state != VMBUS_CHAN_CLOSED)
			return;
	}
	if (s->gpadls)
		return;

	s->in_reset_check = true;
	s->state = VMBUS_CONN_DISCONNECTED;
	s->version = 0;
	for (uint32_t r = 1; r <= VMBUS_RELID_MAX; r++) {
		struct vmbus_channel *ch = s->chan[r];
		if (!ch)
			continue;
		ch->offered = false;
		ch->rescinded = false; /* the guest forgot every relid */
		vmbus__chan_maybe_free(s, ch);
	}
	if (s->ops.connection)
		s->ops.connection(s->ctx, 0);
	s->in_reset_check = false;

	enum vmbus_reset_action a = s->action;
	s->action = VMBUS_RESET_NONE;
	if (a == VMBUS_RESET_UNLOAD) {
		struct vmbus_msg_hdr m = {.msgtype = VMBUS_MSG_UNLOAD_RESPONSE};
		vmbus__post(s, &m, sizeof(m));
		s->target_vp = 0; /* no connection: nothing is aimed at a VP any more */
	} else if (a == VMBUS_RESET_RECONNECT) {
		struct vmbus_msg_initiate_contact ic = s->saved_contact;
		negotiate(s, s->saved_conn_id, &ic);
	}
}

static void handle_initiate_contact(struct vmbus_host *s, uint32_t conn_id,
				    const struct vmbus_msg *m)
{
	if (s->state == VMBUS_CONN_DISCONNECTED) {
		negotiate(s, conn_id, &m->raw.initiate);
		return;
	}
	/* A guest that reconnects (kexec, kdump) resets everything first. */
	s->saved_contact = m->raw.initiate;
	s->saved_conn_id = conn_id;
	begin_reset(s, VMBUS_RESET_RECONNECT);
}

static void handle_request_offers(struct vmbus_host *s)
{
	struct vmbus_msg_hdr done = {.msgtype = VMBUS_MSG_ALLOFFERS_DELIVERED};

	if (s->offers_requested) {
		vmbus__fail(s, NULL, 0, -EALREADY, "REQUESTOFFERS repeated; ignored");
		return;
	}
	s->offers_requested = true;
	vmbus__send_all_offers(s);
	vmbus__post(s, &done, sizeof(done));
}

static void handle_tl_connect(struct vmbus_host *s, const struct vmbus_msg *m)
{
	vmbus__fail(s, NULL, 0, -ECONNREFUSED, "TL_CONNECT_REQUEST refused: no hv_sock service");
	if (s->version >= VMBUS_VERSION_WIN10_V4_1) {
		struct vmbus_msg_tl_connect_result r = {
		    .hdr.msgtype = VMBUS_MSG_TL_CONNECT_RESULT,
		    .guest_endpoint_id = m->raw.tl_connect.guest_endpoint_id,
		    .host_service_id = m->raw.tl_connect.host_service_id,
		    .status = VMBUS_STATUS_CONNECTION_REFUSED,
		};
		vmbus__post(s, &r, sizeof(r));
	}
}

uint16_t vmbus_host_post(struct vmbus_host *s, uint32_t conn_id, const void *buf, size_t len)
{
	struct vmbus_msg m;
	const char *reason;
	uint32_t expected;

	if (conn_id != VMBUS_CONNID_MESSAGE && conn_id != VMBUS_CONNID_MESSAGE_4 &&
	    conn_id != s->cfg.msg_conn_id)
		return VMBUS_HV_STATUS_INVALID_CONNECTION_ID;
	if (len > VMBUS_MSG_MAX)
		return VMBUS_HV_STATUS_INVALID_PARAMETER;
	s->messages_in++;

	if (vmbus_msg_parse(buf, len, &m, &reason) < 0) {
		uint32_t type = 0;
		if (len >= 4)
			memcpy(&type, buf, 4);
		vmbus__fail(s, NULL, 0, -EBADMSG, "dropped message type %u (%s), %zu bytes: %s",
			    type, vmbus_msg_type_to_string(type), len, reason);
		return VMBUS_HV_STATUS_SUCCESS;
	}

	if (m.type == VMBUS_MSG_INITIATE_CONTACT) {
		handle_initiate_contact(s, conn_id, &m);
		return VMBUS_HV_STATUS_SUCCESS;
	}
	if (m.type == VMBUS_MSG_UNLOAD) {
		if (s->state == VMBUS_CONN_DISCONNECTED) {
			struct vmbus_msg_hdr r = {.msgtype = VMBUS_MSG_UNLOAD_RESPONSE};
			vmbus__post(s, &r, sizeof(r));
		} else {
			begin_reset(s, VMBUS_RESET_UNLOAD);
		}
		return VMBUS_HV_STATUS_SUCCESS;
	}
	if (s->state != VMBUS_CONN_CONNECTED) {
		vmbus__fail(s, NULL, 0, -ENOTCONN, "%s while %s; dropped",
			    vmbus_msg_type_to_string(m.type), vmbus_conn_state_to_string(s->state));
		return VMBUS_HV_STATUS_SUCCESS;
	}
	expected = s->version >= VMBUS_VERSION_WIN10_V5 ? s->cfg.msg_conn_id : VMBUS_CONNID_MESSAGE;
	if (conn_id != expected) {
		vmbus__fail(s, NULL, 0, -EPROTO, "%s on connection id %#x, expected %#x; dropped",
			    vmbus_msg_type_to_string(m.type), conn_id, expected);
		return VMBUS_HV_STATUS_SUCCESS;
	}

	switch (m.type) {
	case VMBUS_MSG_REQUESTOFFERS:
		handle_request_offers(s);
		break;
	case VMBUS_MSG_OPENCHANNEL:
		vmbus__handle_open(s, &m);
		break;
	case VMBUS_MSG_CLOSECHANNEL:
		vmbus__handle_close(s, &m);
		break;
	case VMBUS_MSG_GPADL_HEADER:
		vmbus__handle_gpadl_header(s, &m);
		break;
	case VMBUS_MSG_GPADL_BODY:
		vmbus__handle_gpadl_body(s, &m);
		break;
	case VMBUS_MSG_GPADL_TEARDOWN:
		vmbus__handle_gpadl_teardown(s, &m);
		break;
	case VMBUS_MSG_RELID_RELEASED:
		vmbus__handle_relid_released(s, &m);
		break;
	case VMBUS_MSG_MODIFYCHANNEL:
		vmbus__handle_modify(s, &m);
		break;
	case VMBUS_MSG_TL_CONNECT_REQUEST:
		handle_tl_connect(s, &m);
		break;
	default:
		/* vmbus_msg_parse accepts only the types above. */
		vmbus__fail(s, NULL, 0, -EBADMSG, "unhandled message type %u", m.type);
		break;
	}
	return VMBUS_HV_STATUS_SUCCESS;
}

/* ---- inspect ------------------------------------------------------------ */

const char *vmbus_conn_state_to_string(enum vmbus_conn_state st)
{
	static const char *const n[_VMBUS_CONN_MAX] = {
	    [VMBUS_CONN_DISCONNECTED] = "disconnected",
	    [VMBUS_CONN_CONNECTED] = "connected",
	    [VMBUS_CONN_DISCONNECTING] = "disconnecting",
	};
	return (unsigned)st < _VMBUS_CONN_MAX ? n[st] : "invalid";
}

const char *vmbus_chan_state_to_string(enum vmbus_chan_state st)
{
	static const char *const n[_VMBUS_CHAN_MAX] = {
	    [VMBUS_CHAN_CLOSED] = "closed",
	    [VMBUS_CHAN_OPENING] = "opening",
	    [VMBUS_CHAN_OPEN] = "open",
	    [VMBUS_CHAN_CLOSING] = "closing",
	};
	return (unsigned)st < _VMBUS_CHAN_MAX ? n[st] : "invalid";
}

const char *vmbus_gpadl_state_to_string(enum vmbus_gpadl_state st)
{
	static const char *const n[_VMBUS_GPADL_MAX] = {
	    [VMBUS_GPADL_ASSEMBLING] = "assembling",
	    [VMBUS_GPADL_CREATED] = "created",
	    [VMBUS_GPADL_TEARDOWN_DEFERRED] = "teardown-deferred",
	    [VMBUS_GPADL_TEARING_DOWN] = "tearing-down",
	};
	return (unsigned)st < _VMBUS_GPADL_MAX ? n[st] : "invalid";
}

void vmbus_host_inspect(const struct vmbus_host *s, const struct vmbus_inspect_ops *ops, void *ctx)
{
	if (!s || !ops)
		return;
	if (ops->connection) {
		struct vmbus_conn_report r = {
		    .state = s->state,
		    .version = s->version,
		    .target_vp = s->target_vp,
		    .offers_requested = s->offers_requested,
		    .channels = s->nchannels,
		    .gpadls = s->ngpadls,
		    .messages_in = s->messages_in,
		    .messages_out = s->messages_out,
		    .dropped = s->dropped,
		    .last_error = s->last_error,
		};
		ops->connection(ctx, &r);
	}
	if (ops->channel) {
		for (uint32_t relid = 1; relid <= VMBUS_RELID_MAX; relid++) {
			const struct vmbus_channel *ch = s->chan[relid];
			if (!ch)
				continue;
			struct vmbus_chan_report r = {
			    .relid = relid,
			    .if_type = ch->offer.if_type,
			    .if_instance = ch->offer.if_instance,
			    .sub_channel_index = ch->offer.sub_channel_index,
			    .state = ch->state,
			    .offered = ch->offered,
			    .rescinded = ch->rescinded,
			    .target_vp = ch->target_vp,
			    .ring_gpadl = ch->ring_gpadl,
			    .event_conn_id = VMBUS_EVENT_CONNID(relid),
			    .counters = ch->c,
			    .last_error = ch->last_error,
			};
			ops->channel(ctx, &r);
		}
	}
	if (ops->gpadl) {
		for (const struct vmbus_gpadl *g = s->gpadls; g; g = g->next) {
			struct vmbus_gpadl_report r = {
			    .relid = g->relid,
			    .gpadl_id = g->id,
			    .state = g->state,
			    .range_count = g->range_count,
			    .page_count = g->page_count,
			    .ring_in_use = g->in_use,
			};
			ops->gpadl(ctx, &r);
		}
	}
}
