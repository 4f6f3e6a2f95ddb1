/* SPDX-License-Identifier: MIT */
/*
 * Save and restore of the connection and channel table, so the VMBus server
 * can be restarted while the guest runs (DESIGN.md principle 3).
 *
 * Blob (little-endian, fixed-width fields, no padding):
 *   u32 magic "VMSV", u32 format (1)
 *   u32 state, version, target_vp, offers_requested, nchan, ngpadl
 *   nchan x { u32 relid, flags (1 offered, 2 rescinded, 4 withdrawn), state,
 *             open_id, ring_gpadl, target_vp, downstream;
 *             offer: type[16] instance[16] u16 chn_flags u16 mmio u8 user_def[120]
 *                    u16 sub_channel_index u16 mmio_optional }
 *   ngpadl x { u32 id, relid, state, flags (1 in_use, 2 send_torndown, 4 notified),
 *              range_count, total_u64, have_u64; have_u64 x u64 }
 * A created GPADL is saved as its u64 stream (range headers and PFNs) and
 * goes through the same checks as a guest-built one when restored.
 *
 * The blob comes from init's store, not from the guest, but it is validated
 * as fully as guest input: a blob that does not describe a consistent state
 * is refused and the server stays empty.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmbus_internal.h"

#define SAVE_MAGIC 0x56534d56u /* "VMSV" */
#define SAVE_FORMAT 1u
#define CHAN_F_OFFERED 1u
#define CHAN_F_RESCINDED 2u
#define CHAN_F_WITHDRAWN 4u
#define GPADL_F_IN_USE 1u
#define GPADL_F_SEND_TORNDOWN 2u
#define GPADL_F_NOTIFIED 4u

struct wcur {
	uint8_t *p;
	size_t cap, len;
};

static void put(struct wcur *w, const void *v, size_t n)
{
	if (w->p && w->len + n <= w->cap)
		memcpy(w->p + w->len, v, n);
	w->len += n;
}

static void put32(struct wcur *w, uint32_t v)
{
	put(w, &v, 4);
}

static void put16(struct wcur *w, uint16_t v)
{
	put(w, &v, 2);
}

static void put64(struct wcur *w, uint64_t v)
{
	put(w, &v, 8);
}

struct rcur {
	const uint8_t *p;
	size_t len, off;
	bool bad;
};

static void get(struct rcur *r, void *v, size_t n)
{
	if (r->bad || r->len - r->off < n) {
		r->bad = true;
		memset(v, 0, n);
		return;
	}
	memcpy(v, r->p + r->off, n);
	r->off += n;
}

static uint32_t get32(struct rcur *r)
{
	uint32_t v;
	get(r, &v, 4);
	return v;
}

static uint16_t get16(struct rcur *r)
{
	uint16_t v;
	get(r, &v, 2);
	return v;
}

static uint64_t get64(struct rcur *r)
{
	uint64_t v;
	get(r, &v, 8);
	return v;
}

static bool quiescent(const struct vmbus_host *s)
{
	if (s->state == VMBUS_CONN_DISCONNECTING)
		return false;
	for (uint32_t r = 1; r <= VMBUS_RELID_MAX; r++) {
		const struct vmbus_channel *ch = s->chan[r];
		if (ch && (ch->state == VMBUS_CHAN_OPENING || ch->state == VMBUS_CHAN_CLOSING ||
			   ch->reopen_pending))
			return false;
	}
	for (const struct vmbus_gpadl *g = s->gpadls; g; g = g->next)
		if (g->state == VMBUS_GPADL_TEARING_DOWN)
			return false;
	return true;
}

ssize_t vmbus_host_save(const struct vmbus_host *s, void *buf, size_t cap)
{
	struct wcur w = {.p = buf, .cap = cap};

	if (!quiescent(s))
		return -EBUSY;
	put32(&w, SAVE_MAGIC);
	put32(&w, SAVE_FORMAT);
	put32(&w, s->state);
	/* Only a connection has a version, a message VP and asked for offers. */
	put32(&w, s->state == VMBUS_CONN_CONNECTED ? s->version : 0);
	put32(&w, s->state == VMBUS_CONN_CONNECTED ? s->target_vp : 0);
	put32(&w, s->state == VMBUS_CONN_CONNECTED && s->offers_requested);
	put32(&w, s->nchannels);
	put32(&w, s->ngpadls);
	for (uint32_t r = 1; r <= VMBUS_RELID_MAX; r++) {
		const struct vmbus_channel *ch = s->chan[r];
		if (!ch)
			continue;
		put32(&w, ch->relid);
		put32(&w, (ch->offered ? CHAN_F_OFFERED : 0) |
			      (ch->rescinded ? CHAN_F_RESCINDED : 0) |
			      (ch->withdrawn ? CHAN_F_WITHDRAWN : 0));
		put32(&w, ch->state);
		put32(&w, ch->open_id);
		put32(&w, ch->ring_gpadl);
		put32(&w, ch->target_vp);
		put32(&w, ch->downstream);
		put(&w, &ch->offer.if_type, 16);
		put(&w, &ch->offer.if_instance, 16);
		put16(&w, ch->offer.chn_flags);
		put16(&w, ch->offer.mmio_megabytes);
		put(&w, ch->offer.user_def, VMBUS_USER_DEF_BYTES);
		put16(&w, ch->offer.sub_channel_index);
		put16(&w, ch->offer.mmio_megabytes_optional);
	}
	for (const struct vmbus_gpadl *g = s->gpadls; g; g = g->next) {
		put32(&w, g->id);
		put32(&w, g->relid);
		put32(&w, g->state);
		put32(&w, (g->in_use ? GPADL_F_IN_USE : 0) |
			      (g->send_torndown ? GPADL_F_SEND_TORNDOWN : 0) |
			      (g->notified ? GPADL_F_NOTIFIED : 0));
		put32(&w, g->range_count);
		put32(&w, g->total_u64);
		if (g->state == VMBUS_GPADL_ASSEMBLING) {
			put32(&w, g->have_u64);
			for (uint32_t i = 0; i < g->have_u64; i++)
				put64(&w, g->data[i]);
			continue;
		}
		put32(&w, g->total_u64);
		for (uint32_t i = 0; i < g->range_count; i++) {
			const struct vmbus_gpadl_range *rg = &g->ranges[i];
			put64(&w, (uint64_t)rg->byte_count | (uint64_t)rg->byte_offset << 32);
			for (uint32_t k = 0; k < rg->pfn_count; k++)
				put64(&w, g->pfns[rg->pfn_index + k]);
		}
	}
	if (buf && w.len > cap)
		return -ENOBUFS;
	return (ssize_t)w.len;
}

/* Empties a server back to its state after vmbus_host_new(). */
static void reset_empty(struct vmbus_host *s)
{
	vmbus__gpadl_free_all(s);
	for (uint32_t r = 1; r <= VMBUS_RELID_MAX; r++) {
		free(s->chan[r]);
		s->chan[r] = NULL;
	}
	s->nchannels = 0;
	s->npending_gpadls = 0;
	s->total_pages = 0;
	s->state = VMBUS_CONN_DISCONNECTED;
	s->version = 0;
	s->target_vp = 0;
	s->offers_requested = false;
}

static int restore_channel(struct vmbus_host *s, struct rcur *r)
{
	struct vmbus_channel *ch = calloc(1, sizeof(*ch));
	uint32_t flags;

	if (!ch)
		return -ENOMEM;
	ch->relid = get32(r);
	flags = get32(r);
	ch->state = (enum vmbus_chan_state)get32(r);
	ch->open_id = get32(r);
	ch->ring_gpadl = get32(r);
	ch->target_vp = get32(r);
	ch->downstream = get32(r);
	get(r, &ch->offer.if_type, 16);
	get(r, &ch->offer.if_instance, 16);
	ch->offer.chn_flags = get16(r);
	ch->offer.mmio_megabytes = get16(r);
	get(r, ch->offer.user_def, VMBUS_USER_DEF_BYTES);
	ch->offer.sub_channel_index = get16(r);
	ch->offer.mmio_megabytes_optional = get16(r);
	ch->offered = flags & CHAN_F_OFFERED;
	ch->rescinded = flags & CHAN_F_RESCINDED;
	ch->withdrawn = flags & CHAN_F_WITHDRAWN;

	if (r->bad || ch->relid == 0 || ch->relid > VMBUS_RELID_MAX || s->chan[ch->relid] ||
	    flags & ~7u || (ch->state != VMBUS_CHAN_CLOSED && ch->state != VMBUS_CHAN_OPEN) ||
	    (ch->rescinded && (!ch->offered || !ch->withdrawn)) ||
	    ((ch->offered || ch->state == VMBUS_CHAN_OPEN) && s->state != VMBUS_CONN_CONNECTED) ||
	    (ch->state == VMBUS_CHAN_OPEN && (!ch->offered || ch->withdrawn)) ||
	    (ch->state == VMBUS_CHAN_OPEN && s->cfg.vp_count && ch->target_vp >= s->cfg.vp_count)) {
		free(ch);
		return -EBADMSG;
	}
	if (ch->state != VMBUS_CHAN_OPEN) {
		ch->open_id = ch->ring_gpadl = ch->target_vp = ch->downstream = 0;
	}
	s->chan[ch->relid] = ch;
	s->nchannels++;
	return 0;
}

static int restore_gpadl(struct vmbus_host *s, struct rcur *r)
{
	struct vmbus_gpadl *g;
	struct vmbus_channel *ch;
	uint32_t id, relid, state, flags, nranges, total, have;
	const char *why;

	id = get32(r);
	relid = get32(r);
	state = get32(r);
	flags = get32(r);
	nranges = get32(r);
	total = get32(r);
	have = get32(r);
	ch = vmbus__chan_get(s, relid);
	if (r->bad || !ch || !ch->offered || vmbus__gpadl_find(s, id) || flags & ~7u ||
	    nranges == 0 || nranges > UINT16_MAX || total < 2 * nranges || total > 0xffff / 8 ||
	    have > total ||
	    (state != VMBUS_GPADL_ASSEMBLING && state != VMBUS_GPADL_CREATED &&
	     state != VMBUS_GPADL_TEARDOWN_DEFERRED) ||
	    (state == VMBUS_GPADL_ASSEMBLING) != (have < total) ||
	    (state == VMBUS_GPADL_TEARDOWN_DEFERRED && !(flags & GPADL_F_IN_USE)) ||
	    (state == VMBUS_GPADL_ASSEMBLING && flags) ||
	    ch->ngpadls >= s->cfg.max_gpadls_per_channel ||
	    s->total_pages + total > s->cfg.max_total_pages ||
	    (state == VMBUS_GPADL_ASSEMBLING && s->npending_gpadls >= s->cfg.max_pending_gpadls))
		return -EBADMSG;

	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->data = calloc(total, sizeof(uint64_t));
	if (!g->data) {
		free(g);
		return -ENOMEM;
	}
	g->id = id;
	g->relid = relid;
	g->state = VMBUS_GPADL_ASSEMBLING;
	g->range_count = (uint16_t)nranges;
	g->total_u64 = total;
	g->have_u64 = have;
	for (uint32_t i = 0; i < have; i++)
		g->data[i] = get64(r);
	/* Linked first so a failure below is cleaned up with everything else. */
	g->next = s->gpadls;
	s->gpadls = g;
	s->ngpadls++;
	s->npending_gpadls++;
	s->total_pages += total;
	ch->ngpadls++;
	if (r->bad)
		return -EBADMSG;
	if (state == VMBUS_GPADL_ASSEMBLING)
		return 0;

	s->npending_gpadls--;
	g->state = (enum vmbus_gpadl_state)state;
	if (vmbus__gpadl_finish(s, g, &why) < 0)
		return -EBADMSG;
	g->in_use = flags & GPADL_F_IN_USE;
	g->send_torndown = flags & GPADL_F_SEND_TORNDOWN;
	g->notified = flags & GPADL_F_NOTIFIED;
	return 0;
}

/* Every open channel has its created ring, and every GPADL marked in use is
 * the ring of an open channel; rings are shaped as an open would demand. */
static bool rings_consistent(struct vmbus_host *s)
{
	for (struct vmbus_gpadl *g = s->gpadls; g; g = g->next) {
		struct vmbus_channel *ch = vmbus__chan_get(s, g->relid);
		if (g->in_use && (!ch || ch->state != VMBUS_CHAN_OPEN || ch->ring_gpadl != g->id))
			return false;
	}
	for (uint32_t r = 1; r <= VMBUS_RELID_MAX; r++) {
		struct vmbus_channel *ch = s->chan[r];
		struct vmbus_gpadl *g;
		if (!ch || ch->state != VMBUS_CHAN_OPEN)
			continue;
		g = vmbus__gpadl_find(s, ch->ring_gpadl);
		if (!g || g->relid != ch->relid || !g->in_use || g->range_count != 1 ||
		    g->ranges[0].byte_offset != 0 ||
		    g->ranges[0].byte_count != (uint64_t)g->page_count * VMBUS_PAGE_SIZE ||
		    g->page_count < 4 || ch->downstream < 2 || ch->downstream > g->page_count - 2)
			return false;
	}
	return true;
}

int vmbus_host_restore(struct vmbus_host *s, const void *buf, size_t len)
{
	struct rcur r = {.p = buf, .len = buf ? len : 0};
	uint32_t state, version, target_vp, offers, nchan, ngpadl;
	int err = -EBADMSG;

	if (s->nchannels || s->gpadls || s->state != VMBUS_CONN_DISCONNECTED)
		return -EBUSY;
	if (get32(&r) != SAVE_MAGIC || get32(&r) != SAVE_FORMAT)
		return -EBADMSG;
	state = get32(&r);
	version = get32(&r);
	target_vp = get32(&r);
	offers = get32(&r);
	nchan = get32(&r);
	ngpadl = get32(&r);
	if (r.bad || (state != VMBUS_CONN_DISCONNECTED && state != VMBUS_CONN_CONNECTED) ||
	    offers > 1 || nchan > s->cfg.max_channels ||
	    (uint64_t)ngpadl > (uint64_t)nchan * s->cfg.max_gpadls_per_channel)
		return -EBADMSG;
	if (state == VMBUS_CONN_CONNECTED) {
		if (!vmbus__version_honoured(s, version) ||
		    (s->cfg.vp_count && target_vp >= s->cfg.vp_count))
			return -EBADMSG;
		s->state = VMBUS_CONN_CONNECTED;
		s->version = version;
		s->target_vp = target_vp;
		s->offers_requested = offers;
	} else if (version || target_vp || offers) {
		return -EBADMSG;
	}

	for (uint32_t i = 0; i < nchan; i++) {
		err = restore_channel(s, &r);
		if (err < 0)
			goto fail;
	}
	for (uint32_t i = 0; i < ngpadl; i++) {
		err = restore_gpadl(s, &r);
		if (err < 0)
			goto fail;
	}
	err = -EBADMSG;
	if (r.off != r.len || !rings_consistent(s))
		goto fail;
	return 0;

fail:
	reset_empty(s);
	return err;
}

int vmbus_host_channel_info(struct vmbus_host *s, uint32_t relid, struct vmbus_open_info *ret)
{
	struct vmbus_channel *ch = vmbus__chan_get(s, relid);
	struct vmbus_gpadl *g;

	if (!ch || ch->state != VMBUS_CHAN_OPEN)
		return -ENOENT;
	g = vmbus__gpadl_find(s, ch->ring_gpadl);
	if (!g)
		return -ENOENT;
	*ret = (struct vmbus_open_info){
	    .relid = relid,
	    .open_id = ch->open_id,
	    .gpadl_id = g->id,
	    .target_vp = ch->target_vp,
	    .event_conn_id = VMBUS_EVENT_CONNID(relid),
	    .downstream_page = ch->downstream,
	    .page_count = g->page_count,
	    .pfns = g->pfns,
	    .user_data = NULL,
	};
	return 0;
}
