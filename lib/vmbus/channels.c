/* SPDX-License-Identifier: MIT */
/*
 * The channel table: offers registered by device servers, relid assignment,
 * open/close/rescind/modify.
 *
 * Channel states: CLOSED -> OPENING (device asked) -> OPEN -> CLOSING (device
 * asked) -> CLOSED. There is no close-complete message, so a guest may send
 * OPENCHANNEL while the device is still closing; it is kept and replayed once
 * the close completes. A rescinded channel keeps its relid until the guest
 * sends RELID_RELEASED (Linux frees its relid slot only then).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmbus_internal.h"

struct vmbus_channel *vmbus__chan_get(struct vmbus_host *s, uint32_t relid)
{
	if (relid == 0 || relid > VMBUS_RELID_MAX)
		return NULL;
	return s->chan[relid];
}

static bool same_device(const struct vmbus_offer *a, const struct vmbus_offer *b)
{
	return !memcmp(&a->if_type, &b->if_type, sizeof(a->if_type)) &&
	       !memcmp(&a->if_instance, &b->if_instance, sizeof(a->if_instance));
}

void vmbus__send_offer(struct vmbus_host *s, struct vmbus_channel *ch)
{
	struct vmbus_msg_offer_channel m = {
	    .hdr.msgtype = VMBUS_MSG_OFFERCHANNEL,
	    .if_type = ch->offer.if_type,
	    .if_instance = ch->offer.if_instance,
	    .chn_flags = ch->offer.chn_flags,
	    .mmio_megabytes = ch->offer.mmio_megabytes,
	    .sub_channel_index = ch->offer.sub_channel_index,
	    .mmio_megabytes_optional = ch->offer.mmio_megabytes_optional,
	    .child_relid = ch->relid,
	    /* No MNF: the guest must signal with HvSignalEvent. */
	    .monitor_allocated = 0,
	    .is_dedicated_interrupt = 1,
	    .connection_id = VMBUS_EVENT_CONNID(ch->relid),
	};

	memcpy(m.user_def, ch->offer.user_def, sizeof(m.user_def));
	ch->offered = true;
	vmbus__post(s, &m, sizeof(m));
}

void vmbus__send_all_offers(struct vmbus_host *s)
{
	/* Primaries first: a subchannel offer needs its primary to be known. */
	for (int pass = 0; pass < 2; pass++) {
		for (uint32_t r = 1; r <= VMBUS_RELID_MAX; r++) {
			struct vmbus_channel *ch = s->chan[r];
			if (!ch || ch->withdrawn || ch->offered)
				continue;
			if ((ch->offer.sub_channel_index != 0) == (pass == 1))
				vmbus__send_offer(s, ch);
		}
	}
}

int vmbus_host_offer(struct vmbus_host *s, const struct vmbus_offer *o, uint32_t *ret_relid)
{
	struct vmbus_channel *ch;
	bool primary = false;
	uint32_t relid = 0;

	if (!s || !o || !ret_relid)
		return -EINVAL;
	if (s->nchannels >= s->cfg.max_channels)
		return -ENOSPC;
	for (uint32_t r = 1; r <= VMBUS_RELID_MAX; r++) {
		struct vmbus_channel *c = s->chan[r];
		if (!c) {
			if (!relid)
				relid = r;
			continue;
		}
		if (c->withdrawn || !same_device(&c->offer, o))
			continue;
		if (c->offer.sub_channel_index == o->sub_channel_index)
			return -EEXIST;
		if (c->offer.sub_channel_index == 0)
			primary = true;
	}
	if (o->sub_channel_index != 0 && !primary)
		return -EINVAL;
	if (!relid)
		return -ENOSPC;

	ch = calloc(1, sizeof(*ch));
	if (!ch)
		return -ENOMEM;
	ch->relid = relid;
	ch->offer = *o;
	ch->state = VMBUS_CHAN_CLOSED;
	s->chan[relid] = ch;
	s->nchannels++;
	if (vmbus__connected(s) && s->offers_requested)
		vmbus__send_offer(s, ch);
	*ret_relid = relid;
	return 0;
}

void vmbus__chan_maybe_free(struct vmbus_host *s, struct vmbus_channel *ch)
{
	if (!ch->withdrawn || ch->rescinded || ch->state != VMBUS_CHAN_CLOSED || ch->ngpadls)
		return;
	s->chan[ch->relid] = NULL;
	s->nchannels--;
	free(ch);
}

int vmbus_host_rescind(struct vmbus_host *s, uint32_t relid)
{
	struct vmbus_channel *ch = vmbus__chan_get(s, relid);

	if (!ch || ch->withdrawn)
		return -ENOENT;
	ch->withdrawn = true;
	ch->reopen_pending = false;
	if (ch->offered && vmbus__connected(s)) {
		struct vmbus_msg_relid m = {
		    .hdr.msgtype = VMBUS_MSG_RESCIND_CHANNELOFFER,
		    .child_relid = relid,
		};
		ch->rescinded = true;
		vmbus__post(s, &m, sizeof(m));
	}
	/* OPENING finishes in the open completion, which sees `withdrawn`. */
	if (ch->state == VMBUS_CHAN_OPEN)
		vmbus__chan_start_close(s, ch);
	else
		vmbus__chan_maybe_free(s, ch);
	return 0;
}

static void send_open_result(struct vmbus_host *s, uint32_t relid, uint32_t open_id,
			     uint32_t status)
{
	struct vmbus_msg_open_result m = {
	    .hdr.msgtype = VMBUS_MSG_OPENCHANNEL_RESULT,
	    .child_relid = relid,
	    .openid = open_id,
	    .status = status,
	};
	vmbus__post(s, &m, sizeof(m));
}

static struct vmbus_gpadl *ring_gpadl(struct vmbus_host *s, struct vmbus_channel *ch)
{
	struct vmbus_gpadl *g = vmbus__gpadl_find(s, ch->ring_gpadl);
	return g && g->relid == ch->relid ? g : NULL;
}

/* Unpins the ring GPADL; a teardown the guest asked for meanwhile proceeds. */
static void release_ring(struct vmbus_host *s, struct vmbus_channel *ch)
{
	struct vmbus_gpadl *g = ring_gpadl(s, ch);

	ch->ring_gpadl = 0;
	if (!g)
		return;
	g->in_use = false;
	if (g->state == VMBUS_GPADL_TEARDOWN_DEFERRED)
		vmbus__gpadl_start_teardown(s, g, g->send_torndown);
}

static void open_done(struct vmbus_host *s, struct vmbus_channel *ch, int status)
{
	bool tell_guest = vmbus__connected(s) && !ch->rescinded && !ch->withdrawn;

	if (status == 0) {
		ch->state = VMBUS_CHAN_OPEN;
		ch->c.opens++;
		if (tell_guest) {
			send_open_result(s, ch->relid, ch->open_id, VMBUS_STATUS_SUCCESS);
			return;
		}
		/* Rescinded or disconnecting while the device opened: close again. */
		vmbus__chan_start_close(s, ch);
		return;
	}
	uint32_t relid = ch->relid, open_id = ch->open_id;

	vmbus__fail(s, ch, 0, status, "device refused to open the channel (error %d)", status);
	ch->c.open_failures++;
	ch->state = VMBUS_CHAN_CLOSED;
	release_ring(s, ch);
	if (tell_guest)
		send_open_result(s, relid, open_id, VMBUS_STATUS_UNSUCCESSFUL);
	ch = vmbus__chan_get(s, relid);
	if (ch)
		vmbus__chan_maybe_free(s, ch);
	vmbus__reset_check(s);
}

/* Validates an OPENCHANNEL against the channel's GPADLs and starts the open. */
static void do_open(struct vmbus_host *s, struct vmbus_channel *ch,
		    const struct vmbus_msg_open_channel *req)
{
	struct vmbus_gpadl *g = vmbus__gpadl_find(s, req->ringbuffer_gpadl);
	const char *why = NULL;
	int r;

	if (!g || g->relid != ch->relid)
		why = "ring GPADL unknown on this channel";
	else if (g->state != VMBUS_GPADL_CREATED)
		why = "ring GPADL not created or being torn down";
	else if (g->in_use)
		why = "ring GPADL already in use";
	else if (g->range_count != 1 || g->ranges[0].byte_offset != 0 ||
		 g->ranges[0].byte_count != (uint64_t)g->page_count * VMBUS_PAGE_SIZE)
		why = "ring GPADL is not one whole-page range";
	else if (g->page_count < 4 || req->downstream_ringbuffer_pageoffset < 2 ||
		 req->downstream_ringbuffer_pageoffset > g->page_count - 2)
		why = "downstream ring offset leaves a ring without control and data page";
	else if (s->cfg.vp_count && req->target_vp >= s->cfg.vp_count)
		why = "target VP out of range";
	if (why) {
		vmbus__fail(s, ch, 0, -EINVAL, "OPENCHANNEL (gpadl %#x): %s", req->ringbuffer_gpadl,
			    why);
		ch->c.open_failures++;
		send_open_result(s, ch->relid, req->openid, VMBUS_STATUS_UNSUCCESSFUL);
		return;
	}

	ch->state = VMBUS_CHAN_OPENING;
	ch->open_id = req->openid;
	ch->ring_gpadl = g->id;
	ch->target_vp = req->target_vp;
	ch->downstream = req->downstream_ringbuffer_pageoffset;
	g->in_use = true;

	struct vmbus_open_info info = {
	    .relid = ch->relid,
	    .open_id = req->openid,
	    .gpadl_id = g->id,
	    .target_vp = req->target_vp,
	    .event_conn_id = VMBUS_EVENT_CONNID(ch->relid),
	    .downstream_page = req->downstream_ringbuffer_pageoffset,
	    .page_count = g->page_count,
	    .pfns = g->pfns,
	    .user_data = req->userdata,
	};
	r = s->ops.channel_open ? s->ops.channel_open(s->ctx, &info) : 0;
	if (r != VMBUS_PENDING)
		open_done(s, ch, r > 0 ? -EPROTO : r);
}

void vmbus__handle_open(struct vmbus_host *s, const struct vmbus_msg *m)
{
	const struct vmbus_msg_open_channel *req = &m->raw.open;
	struct vmbus_channel *ch = vmbus__chan_get(s, req->child_relid);

	if (!ch || !ch->offered) {
		vmbus__fail(s, NULL, req->child_relid, -ENOENT, "OPENCHANNEL for unknown relid %u",
			    req->child_relid);
		send_open_result(s, req->child_relid, req->openid, VMBUS_STATUS_UNSUCCESSFUL);
		return;
	}
	ch->c.messages++;
	if (ch->rescinded || ch->withdrawn) {
		vmbus__fail(s, ch, 0, -ENODEV, "OPENCHANNEL for a rescinded channel; ignored");
		return;
	}
	switch (ch->state) {
	case VMBUS_CHAN_CLOSED:
		do_open(s, ch, req);
		break;
	case VMBUS_CHAN_CLOSING:
		if (ch->reopen_pending) {
			vmbus__fail(s, ch, 0, -EBUSY, "second OPENCHANNEL while closing");
			send_open_result(s, ch->relid, req->openid, VMBUS_STATUS_UNSUCCESSFUL);
			break;
		}
		ch->reopen_pending = true;
		ch->reopen = *req;
		break;
	default:
		/* The open in place stays as it is. */
		vmbus__fail(s, ch, 0, -EBUSY, "OPENCHANNEL while the channel is %s",
			    vmbus_chan_state_to_string(ch->state));
		send_open_result(s, ch->relid, req->openid, VMBUS_STATUS_UNSUCCESSFUL);
		break;
	}
}

static void close_done(struct vmbus_host *s, struct vmbus_channel *ch)
{
	uint32_t relid = ch->relid;
	bool reopen = ch->reopen_pending;
	struct vmbus_msg_open_channel req = ch->reopen;

	ch->state = VMBUS_CHAN_CLOSED;
	ch->c.closes++;
	ch->reopen_pending = false;
	release_ring(s, ch);
	/* A deferred ring teardown may have completed and freed a withdrawn channel. */
	ch = vmbus__chan_get(s, relid);
	if (ch && reopen && vmbus__connected(s) && !ch->withdrawn)
		do_open(s, ch, &req);
	ch = vmbus__chan_get(s, relid);
	if (ch)
		vmbus__chan_maybe_free(s, ch);
	vmbus__reset_check(s);
}

void vmbus__chan_start_close(struct vmbus_host *s, struct vmbus_channel *ch)
{
	int r;

	ch->state = VMBUS_CHAN_CLOSING;
	r = s->ops.channel_close ? s->ops.channel_close(s->ctx, ch->relid) : 0;
	if (r != VMBUS_PENDING)
		close_done(s, ch);
}

void vmbus__handle_close(struct vmbus_host *s, const struct vmbus_msg *m)
{
	uint32_t relid = m->raw.relid.child_relid;
	struct vmbus_channel *ch = vmbus__chan_get(s, relid);

	if (!ch || !ch->offered) {
		vmbus__fail(s, NULL, relid, -ENOENT, "CLOSECHANNEL for unknown relid %u", relid);
		return;
	}
	ch->c.messages++;
	if (ch->rescinded || ch->withdrawn)
		return; /* the host already closed it when rescinding */
	if (ch->state != VMBUS_CHAN_OPEN) {
		vmbus__fail(s, ch, 0, -EINVAL, "CLOSECHANNEL while the channel is %s",
			    vmbus_chan_state_to_string(ch->state));
		return;
	}
	vmbus__chan_start_close(s, ch);
}

void vmbus__handle_modify(struct vmbus_host *s, const struct vmbus_msg *m)
{
	const struct vmbus_msg_modify_channel *req = &m->raw.modify;
	struct vmbus_channel *ch = vmbus__chan_get(s, req->child_relid);
	uint32_t status = VMBUS_STATUS_UNSUCCESSFUL;

	if (s->version < VMBUS_VERSION_WIN10_V4_1) {
		vmbus__fail(s, NULL, req->child_relid, -EPROTO,
			    "MODIFYCHANNEL needs protocol 4.1; dropped");
		return;
	}
	if (!ch || !ch->offered) {
		vmbus__fail(s, NULL, req->child_relid, -ENOENT,
			    "MODIFYCHANNEL for unknown relid %u", req->child_relid);
	} else if (ch->c.messages++, ch->state != VMBUS_CHAN_OPEN || ch->withdrawn) {
		vmbus__fail(s, ch, 0, -EINVAL, "MODIFYCHANNEL while the channel is %s",
			    vmbus_chan_state_to_string(ch->state));
	} else if (s->cfg.vp_count && req->target_vp >= s->cfg.vp_count) {
		vmbus__fail(s, ch, 0, -EINVAL, "MODIFYCHANNEL to VP %u out of range",
			    req->target_vp);
	} else {
		int r = s->ops.channel_modify
			    ? s->ops.channel_modify(s->ctx, ch->relid, req->target_vp)
			    : 0;
		if (r == 0) {
			ch->target_vp = req->target_vp;
			ch->c.modifies++;
			status = VMBUS_STATUS_SUCCESS;
		} else {
			vmbus__fail(s, ch, 0, r, "device refused MODIFYCHANNEL (error %d)", r);
		}
	}
	if (s->version >= VMBUS_VERSION_WIN10_V5_3) {
		struct vmbus_msg_modify_channel_response resp = {
		    .hdr.msgtype = VMBUS_MSG_MODIFYCHANNEL_RESPONSE,
		    .child_relid = req->child_relid,
		    .status = status,
		};
		vmbus__post(s, &resp, sizeof(resp));
	}
}

void vmbus__handle_relid_released(struct vmbus_host *s, const struct vmbus_msg *m)
{
	uint32_t relid = m->raw.relid.child_relid;
	struct vmbus_channel *ch = vmbus__chan_get(s, relid);

	if (!ch || !ch->rescinded) {
		vmbus__fail(s, ch, relid, -EINVAL,
			    "RELID_RELEASED for relid %u that was not rescinded", relid);
		return;
	}
	ch->c.messages++;
	ch->rescinded = false;
	ch->offered = false;
	vmbus__gpadl_release_all(s, relid);
	/* gpadl_release_all may already have freed the channel. */
	ch = vmbus__chan_get(s, relid);
	if (ch)
		vmbus__chan_maybe_free(s, ch);
}

void vmbus__chan_reset_all(struct vmbus_host *s)
{
	for (uint32_t r = 1; r <= VMBUS_RELID_MAX; r++) {
		struct vmbus_channel *ch = s->chan[r];
		if (!ch)
			continue;
		ch->reopen_pending = false;
		if (ch->state == VMBUS_CHAN_OPEN)
			vmbus__chan_start_close(s, ch); /* may free ch */
		/* OPENING closes itself in open_done; CLOSING is already on its way. */
	}
}

void vmbus_host_open_complete(struct vmbus_host *s, uint32_t relid, int status)
{
	struct vmbus_channel *ch = vmbus__chan_get(s, relid);

	if (!ch || ch->state != VMBUS_CHAN_OPENING)
		return; /* stale completion */
	open_done(s, ch, status > 0 ? -EPROTO : status);
}

void vmbus_host_close_complete(struct vmbus_host *s, uint32_t relid)
{
	struct vmbus_channel *ch = vmbus__chan_get(s, relid);

	if (!ch || ch->state != VMBUS_CHAN_CLOSING)
		return;
	close_done(s, ch);
}
