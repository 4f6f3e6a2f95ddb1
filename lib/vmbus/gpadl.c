/* SPDX-License-Identifier: MIT */
/*
 * GPADLs (guest physical address descriptor lists): the guest describes a
 * buffer as ranges of PFNs, sent as one GPADL_HEADER and as many GPADL_BODY
 * messages as needed (at most 27 u64 values in the header, 28 per body).
 *
 * range_buflen in the header fixes the total number of u64 values (range
 * headers + PFNs) up front, so the buffer is allocated once, bounded by the
 * configured page limits, and every body can add only what is still missing:
 * extra trailing bytes are padding (some guests always post 240 bytes), a
 * body after the last is refused. GPADL_CREATED goes out only after the last
 * body, once every range and every PFN has been checked against guest RAM.
 *
 * A failure fails that GPADL only (GPADL_CREATED with a nonzero status).
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmbus_internal.h"

static_assert(VMBUS_PAGE_SIZE == GUESTMEM_PAGE_SIZE, "a GPADL PFN is one guestmem page");

struct vmbus_gpadl *vmbus__gpadl_find(struct vmbus_host *s, uint32_t id)
{
	for (struct vmbus_gpadl *g = s->gpadls; g; g = g->next)
		if (g->id == id)
			return g;
	return NULL;
}

static void send_created(struct vmbus_host *s, uint32_t relid, uint32_t id, uint32_t status)
{
	struct vmbus_msg_gpadl_created m = {
	    .hdr.msgtype = VMBUS_MSG_GPADL_CREATED,
	    .child_relid = relid,
	    .gpadl = id,
	    .creation_status = status,
	};
	vmbus__post(s, &m, sizeof(m));
}

static struct vmbus_gpadl *gpadl_destroy(struct vmbus_gpadl *g)
{
	if (g) {
		free(g->data);
		free(g->ranges);
		free(g->pfns);
		free(g);
	}
	return NULL;
}

/* Unlinks and frees g; the channel's count and the page budget drop. */
static void gpadl_remove(struct vmbus_host *s, struct vmbus_gpadl *g)
{
	struct vmbus_channel *ch = vmbus__chan_get(s, g->relid);

	for (struct vmbus_gpadl **pp = &s->gpadls; *pp; pp = &(*pp)->next) {
		if (*pp == g) {
			*pp = g->next;
			break;
		}
	}
	s->ngpadls--;
	if (g->state == VMBUS_GPADL_ASSEMBLING)
		s->npending_gpadls--;
	s->total_pages -= g->total_u64; /* charged in u64 values, see header handling */
	if (ch)
		ch->ngpadls--;
	gpadl_destroy(g);
}

/* The whole page lies in one range of guest RAM (the layout only: nothing is mapped). */
static bool pfn_in_ram(const struct vmbus_host *s, uint64_t pfn)
{
	return pfn <= (UINT64_MAX >> VMBUS_PAGE_SHIFT) &&
	       guestmem_layout_contains(&s->cfg.ram, pfn << VMBUS_PAGE_SHIFT, VMBUS_PAGE_SIZE);
}

/*
 * Walks the complete u64 stream, checks every range and PFN and builds the
 * range table. Returns 0 or -EINVAL/-ERANGE/-ENOMEM with *why set.
 */
int vmbus__gpadl_finish(struct vmbus_host *s, struct vmbus_gpadl *g, const char **why)
{
	struct vmbus_gpadl_range *ranges;
	uint64_t *pfns;
	uint32_t i = 0, npfn = 0;

	ranges = calloc(g->range_count, sizeof(*ranges));
	pfns = calloc(g->total_u64, sizeof(*pfns));
	if (!ranges || !pfns) {
		free(ranges);
		free(pfns);
		*why = "out of memory";
		return -ENOMEM;
	}
	for (uint32_t r = 0; r < g->range_count; r++) {
		uint64_t hdr, pages;
		uint32_t count, offset;

		if (i >= g->total_u64) {
			*why = "range table ends before rangecount ranges";
			goto err;
		}
		hdr = g->data[i++];
		count = (uint32_t)hdr;
		offset = (uint32_t)(hdr >> 32);
		if (count == 0) {
			*why = "range with byte_count 0";
			goto err;
		}
		if (offset >= VMBUS_PAGE_SIZE) {
			*why = "range byte_offset beyond its first page";
			goto err;
		}
		/* 64-bit arithmetic: offset + count cannot wrap. */
		pages = ((uint64_t)offset + count + VMBUS_PAGE_SIZE - 1) >> VMBUS_PAGE_SHIFT;
		if (pages > g->total_u64 - i) {
			*why = "range needs more PFNs than range_buflen holds";
			goto err;
		}
		ranges[r] = (struct vmbus_gpadl_range){
		    .byte_offset = offset,
		    .byte_count = count,
		    .pfn_index = npfn,
		    .pfn_count = (uint32_t)pages,
		};
		for (uint64_t p = 0; p < pages; p++) {
			uint64_t pfn = g->data[i++];
			if (!pfn_in_ram(s, pfn)) {
				*why = "PFN outside guest RAM";
				goto err;
			}
			pfns[npfn++] = pfn;
		}
	}
	if (i != g->total_u64) {
		*why = "range_buflen holds data after the last range";
		goto err;
	}
	if (npfn > s->cfg.max_gpadl_pages) {
		*why = "more pages than one GPADL may have";
		goto err;
	}
	free(g->data);
	g->data = NULL;
	g->ranges = ranges;
	g->pfns = pfns;
	g->page_count = npfn;
	return 0;
err:
	free(ranges);
	free(pfns);
	return -EINVAL;
}

/* The last value arrived: validate, answer, tell the device. */
static void gpadl_complete(struct vmbus_host *s, struct vmbus_gpadl *g)
{
	struct vmbus_channel *ch = vmbus__chan_get(s, g->relid);
	const char *why = NULL;
	uint32_t id = g->id, relid = g->relid;
	int r;

	s->npending_gpadls--;
	g->state = VMBUS_GPADL_CREATED; /* so gpadl_remove keeps the pending count right */
	r = vmbus__gpadl_finish(s, g, &why);
	if (r < 0) {
		vmbus__fail(s, ch, relid, r, "GPADL %#x refused: %s", id, why);
		if (ch)
			ch->c.gpadl_failures++;
		gpadl_remove(s, g);
		send_created(s, relid, id, VMBUS_STATUS_UNSUCCESSFUL);
		return;
	}
	if (ch)
		ch->c.gpadls_created++;
	send_created(s, relid, id, VMBUS_STATUS_SUCCESS);
	if (s->ops.gpadl_created) {
		struct vmbus_gpadl_view v = {
		    .relid = relid,
		    .gpadl_id = id,
		    .range_count = g->range_count,
		    .page_count = g->page_count,
		    .ranges = g->ranges,
		    .pfns = g->pfns,
		};
		g->notified = true;
		s->ops.gpadl_created(s->ctx, &v);
	}
}

static uint32_t take_values(struct vmbus_gpadl *g, const struct vmbus_msg *m)
{
	uint32_t n = m->data_u64;

	if (n > g->total_u64 - g->have_u64)
		n = g->total_u64 - g->have_u64; /* the rest is padding */
	for (uint32_t i = 0; i < n; i++)
		g->data[g->have_u64 + i] = vmbus_msg_u64(m, i);
	g->have_u64 += n;
	return n;
}

void vmbus__handle_gpadl_header(struct vmbus_host *s, const struct vmbus_msg *m)
{
	const struct vmbus_msg_gpadl_header *h = &m->raw.gpadl_hdr;
	struct vmbus_channel *ch = vmbus__chan_get(s, h->child_relid);
	uint32_t total = h->range_buflen / 8u;
	struct vmbus_gpadl *g;
	const char *why = NULL;
	int err = -EINVAL;

	if (ch)
		ch->c.messages++;
	if (!ch || !ch->offered)
		why = "unknown relid";
	else if (ch->rescinded || ch->withdrawn)
		why = "channel rescinded";
	else if (vmbus__gpadl_find(s, h->gpadl))
		why = "GPADL id already in use", err = -EEXIST;
	else if (h->rangecount == 0 || h->range_buflen % 8 != 0 ||
		 h->range_buflen < 16u * h->rangecount)
		why = "range_buflen/rangecount inconsistent";
	else if (total - h->rangecount > s->cfg.max_gpadl_pages)
		why = "more pages than one GPADL may have", err = -E2BIG;
	else if (ch->ngpadls >= s->cfg.max_gpadls_per_channel)
		why = "too many GPADLs on this channel", err = -ENOSPC;
	else if (m->data_u64 < total && s->npending_gpadls >= s->cfg.max_pending_gpadls)
		why = "too many GPADLs waiting for bodies", err = -ENOSPC;
	else if (s->total_pages + total > s->cfg.max_total_pages)
		why = "GPADL page budget exhausted", err = -ENOSPC;
	if (why)
		goto refuse;

	g = calloc(1, sizeof(*g));
	if (g)
		g->data = calloc(total, sizeof(uint64_t));
	if (!g || !g->data) {
		gpadl_destroy(g);
		why = "out of memory", err = -ENOMEM;
		goto refuse;
	}
	g->id = h->gpadl;
	g->relid = h->child_relid;
	g->state = VMBUS_GPADL_ASSEMBLING;
	g->range_count = h->rangecount;
	g->total_u64 = total;
	g->next = s->gpadls;
	s->gpadls = g;
	s->ngpadls++;
	s->npending_gpadls++;
	s->total_pages += total;
	ch->ngpadls++;

	take_values(g, m);
	if (g->have_u64 == g->total_u64)
		gpadl_complete(s, g);
	return;

refuse:
	vmbus__fail(s, ch, h->child_relid, err, "GPADL_HEADER %#x refused: %s", h->gpadl, why);
	if (ch)
		ch->c.gpadl_failures++;
	send_created(s, h->child_relid, h->gpadl, VMBUS_STATUS_UNSUCCESSFUL);
}

void vmbus__handle_gpadl_body(struct vmbus_host *s, const struct vmbus_msg *m)
{
	uint32_t id = m->raw.gpadl_body.gpadl;
	struct vmbus_gpadl *g = vmbus__gpadl_find(s, id);
	struct vmbus_channel *ch = g ? vmbus__chan_get(s, g->relid) : NULL;

	if (ch)
		ch->c.messages++;
	if (!g || g->state != VMBUS_GPADL_ASSEMBLING) {
		/* No channel to answer on: GPADL_CREATED for this id has gone out already. */
		vmbus__fail(s, ch, 0, -ENOENT,
			    "GPADL_BODY for GPADL %#x that is not being assembled", id);
		return;
	}
	if (take_values(g, m) == 0) {
		uint32_t relid = g->relid;
		vmbus__fail(s, ch, relid, -EBADMSG, "GPADL %#x refused: empty GPADL_BODY", id);
		if (ch)
			ch->c.gpadl_failures++;
		gpadl_remove(s, g);
		send_created(s, relid, id, VMBUS_STATUS_UNSUCCESSFUL);
		return;
	}
	if (g->have_u64 == g->total_u64)
		gpadl_complete(s, g);
}

static void teardown_done(struct vmbus_host *s, struct vmbus_gpadl *g)
{
	uint32_t relid = g->relid, id = g->id;
	bool torndown = g->send_torndown && vmbus__connected(s);
	struct vmbus_channel *ch = vmbus__chan_get(s, relid);

	if (ch)
		ch->c.gpadls_torn_down++;
	gpadl_remove(s, g);
	if (torndown) {
		struct vmbus_msg_gpadl_torndown m = {
		    .hdr.msgtype = VMBUS_MSG_GPADL_TORNDOWN,
		    .gpadl = id,
		};
		vmbus__post(s, &m, sizeof(m));
	}
	ch = vmbus__chan_get(s, relid);
	if (ch)
		vmbus__chan_maybe_free(s, ch);
	vmbus__reset_check(s);
}

void vmbus__gpadl_start_teardown(struct vmbus_host *s, struct vmbus_gpadl *g, bool send_torndown)
{
	int r = 0;

	g->send_torndown = send_torndown;
	if (g->state == VMBUS_GPADL_ASSEMBLING) {
		/* The device never saw it. */
		gpadl_remove(s, g);
		return;
	}
	if (g->in_use) {
		g->state = VMBUS_GPADL_TEARDOWN_DEFERRED;
		return;
	}
	g->state = VMBUS_GPADL_TEARING_DOWN;
	if (g->notified && s->ops.gpadl_teardown)
		r = s->ops.gpadl_teardown(s->ctx, g->relid, g->id);
	if (r != VMBUS_PENDING)
		teardown_done(s, g);
}

void vmbus__handle_gpadl_teardown(struct vmbus_host *s, const struct vmbus_msg *m)
{
	const struct vmbus_msg_gpadl_teardown *t = &m->raw.gpadl_teardown;
	struct vmbus_channel *ch = vmbus__chan_get(s, t->child_relid);
	struct vmbus_gpadl *g = vmbus__gpadl_find(s, t->gpadl);

	if (!ch) {
		vmbus__fail(s, NULL, t->child_relid, -ENOENT, "GPADL_TEARDOWN for unknown relid %u",
			    t->child_relid);
		return;
	}
	ch->c.messages++;
	if (!g || g->relid != t->child_relid) {
		vmbus__fail(s, ch, 0, -ENOENT,
			    "GPADL_TEARDOWN for GPADL %#x unknown on this channel", t->gpadl);
		return;
	}
	switch (g->state) {
	case VMBUS_GPADL_CREATED:
		if (g->in_use)
			vmbus__fail(s, ch, 0, -EBUSY,
				    "GPADL_TEARDOWN of GPADL %#x, the ring of the %s channel: "
				    "deferred until the channel closes",
				    g->id, vmbus_chan_state_to_string(ch->state));
		vmbus__gpadl_start_teardown(s, g, true);
		break;
	case VMBUS_GPADL_ASSEMBLING:
		vmbus__fail(s, ch, 0, -EINVAL, "GPADL_TEARDOWN of GPADL %#x still being assembled",
			    g->id);
		break;
	default:
		vmbus__fail(s, ch, 0, -EALREADY, "GPADL_TEARDOWN of GPADL %#x repeated", g->id);
		break;
	}
}

void vmbus__gpadl_release_all(struct vmbus_host *s, uint32_t relid)
{
	struct vmbus_gpadl *g, *next;

	/*
	 * Teardown may complete synchronously and unlink entries, so restart the
	 * walk after each one that is started.
	 */
restart:
	for (g = s->gpadls; g; g = next) {
		next = g->next;
		if (relid && g->relid != relid)
			continue;
		if (g->state == VMBUS_GPADL_TEARING_DOWN)
			continue; /* already on its way */
		if (g->state == VMBUS_GPADL_TEARDOWN_DEFERRED) {
			g->send_torndown = false;
			continue; /* proceeds when its channel closes */
		}
		vmbus__gpadl_start_teardown(s, g, false);
		goto restart;
	}
}

void vmbus__gpadl_free_all(struct vmbus_host *s)
{
	while (s->gpadls) {
		struct vmbus_gpadl *g = s->gpadls;
		s->gpadls = g->next;
		gpadl_destroy(g);
	}
	s->ngpadls = 0;
}

void vmbus_host_gpadl_teardown_complete(struct vmbus_host *s, uint32_t relid, uint32_t gpadl_id)
{
	struct vmbus_gpadl *g = vmbus__gpadl_find(s, gpadl_id);

	if (!g || g->relid != relid || g->state != VMBUS_GPADL_TEARING_DOWN)
		return;
	teardown_done(s, g);
}

int vmbus_host_for_each_gpadl(struct vmbus_host *s, uint32_t relid,
			      void (*fn)(void *ctx, const struct vmbus_gpadl_view *g), void *ctx)
{
	int n = 0;

	for (struct vmbus_gpadl *g = s->gpadls; g; g = g->next) {
		if (g->relid != relid || g->state == VMBUS_GPADL_ASSEMBLING ||
		    g->state == VMBUS_GPADL_TEARING_DOWN)
			continue;
		struct vmbus_gpadl_view v = {
		    .relid = relid,
		    .gpadl_id = g->id,
		    .range_count = g->range_count,
		    .page_count = g->page_count,
		    .ranges = g->ranges,
		    .pfns = g->pfns,
		};
		g->notified = true; /* its teardown now waits for the device */
		fn(ctx, &v);
		n++;
	}
	return n;
}
