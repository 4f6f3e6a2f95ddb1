/* SPDX-License-Identifier: MIT */
/*
 * VMBus ring buffers (REFERENCES.md section 3): copy-then-validate reads,
 * two-part copies across the wrap, and the signalling protocol Linux's
 * hv_vmbus expects from the other end.
 *
 * Memory ordering. The two ends share four words per ring; each word has one
 * writer:
 *   write_index      writer   (store-release after the packet bytes)
 *   read_index       reader   (store-release after the packet was copied out)
 *   interrupt_mask   reader
 *   pending_send_sz  writer
 * Three pairs of "store mine; full fence; load theirs" make lost wake-ups
 * impossible (each is a Dekker pair: at least one side sees the other's store):
 *   A. writer: publish write_index; fence; load interrupt_mask + read_index
 *      reader: store interrupt_mask = 0; fence; load write_index
 *      Either the writer sees the mask clear (and signals on empty -> non-empty)
 *      or the reader sees the new packet (and drains it without a signal).
 *   B. reader: publish read_index; fence; load pending_send_sz
 *      writer: store pending_send_sz; fence; load read_index
 *      Either the reader sees the request (and signals on the crossing) or
 *      the writer sees the space (and retries without waiting).
 *   C. write_index store-release pairs with the reader's load-acquire, so the
 *      packet bytes are visible before the index; read_index store-release
 *      pairs with the writer's load-acquire, so the reader's copy-out is done
 *      before the writer reuses those bytes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmbus_ring.h"

#define DESC_SIZE ((uint32_t)sizeof(struct vmbus_packet_desc))
/* Smallest packet: a descriptor and its trailer. */
#define MIN_PACKET_BYTES (DESC_SIZE + VMBUS_RING_TRAILER_SIZE)

static inline uint32_t load_acquire(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline uint32_t load_relaxed(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static inline void store_release(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static inline void store_relaxed(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

static inline void full_fence(void)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static inline uint32_t align8(uint32_t v)
{
	return (v + 7u) & ~7u;
}

static int ring_break(struct vmbus_ring *r, int err, const char *reason)
{
	if (!r->broken) {
		r->broken = true;
		r->broken_reason = reason;
	}
	return err;
}

static bool index_valid(const struct vmbus_ring *r, uint32_t idx)
{
	return (idx & 7u) == 0 && idx < r->size;
}

static uint32_t ring_add(const struct vmbus_ring *r, uint32_t idx, uint32_t n)
{
	/* idx < size and n <= size, so one subtraction wraps; no u32 overflow since size <= 2^27.
	 */
	uint32_t v = idx + n;
	return v >= r->size ? v - r->size : v;
}

/* Bytes written but not read. */
static uint32_t ring_used(const struct vmbus_ring *r, uint32_t wr, uint32_t rd)
{
	return wr >= rd ? wr - rd : r->size - (rd - wr);
}

/* Free bytes as Linux counts them: the whole ring when empty. A packet of n
 * ring bytes (trailer included) fits only when n < free, so at least 8 bytes
 * always stay free and full never looks like empty. */
static uint32_t ring_free(const struct vmbus_ring *r, uint32_t wr, uint32_t rd)
{
	return r->size - ring_used(r, wr, rd);
}

/* Copies len bytes (len <= size) starting at ring offset off, wrapping once. */
static void ring_copy_out(const struct vmbus_ring *r, uint32_t off, void *dst, uint32_t len)
{
	uint8_t *d = dst;

	if (r->flat) {
		uint32_t first = len < r->size - off ? len : r->size - off;
		memcpy(d, r->flat + off, first);
		memcpy(d + first, r->flat, len - first);
		return;
	}
	while (len) {
		uint32_t po = off & (VMBUS_RING_PAGE_SIZE - 1);
		uint32_t n = VMBUS_RING_PAGE_SIZE - po;
		if (n > len)
			n = len;
		memcpy(d, r->pages[off >> VMBUS_RING_PAGE_SHIFT] + po, n);
		d += n;
		len -= n;
		off = ring_add(r, off, n);
	}
}

static void ring_copy_in(struct vmbus_ring *r, uint32_t off, const void *src, uint32_t len)
{
	const uint8_t *s = src;

	if (r->flat) {
		uint32_t first = len < r->size - off ? len : r->size - off;
		memcpy(r->flat + off, s, first);
		memcpy(r->flat, s + first, len - first);
		return;
	}
	while (len) {
		uint32_t po = off & (VMBUS_RING_PAGE_SIZE - 1);
		uint32_t n = VMBUS_RING_PAGE_SIZE - po;
		if (n > len)
			n = len;
		memcpy(r->pages[off >> VMBUS_RING_PAGE_SHIFT] + po, s, n);
		s += n;
		len -= n;
		off = ring_add(r, off, n);
	}
}

int vmbus_ring_init(struct vmbus_ring *r, void *control, void *const *data_pages, uint32_t npages)
{
	if (!r || !control || !data_pages || npages == 0 || npages > VMBUS_RING_MAX_DATA_PAGES)
		return -EINVAL;
	if ((uintptr_t)control & 7u)
		return -EINVAL;

	memset(r, 0, sizeof(*r));
	r->ctl = control;
	r->npages = npages;
	r->size = npages * VMBUS_RING_PAGE_SIZE;

	bool contiguous = true;
	for (uint32_t i = 0; i < npages; i++) {
		if (!data_pages[i] || ((uintptr_t)data_pages[i] & 7u))
			return -EINVAL;
		if ((uint8_t *)data_pages[i] !=
		    (uint8_t *)data_pages[0] + (size_t)i * VMBUS_RING_PAGE_SIZE)
			contiguous = false;
	}
	r->pages = malloc(sizeof(*r->pages) * npages);
	if (!r->pages)
		return -ENOMEM;
	for (uint32_t i = 0; i < npages; i++)
		r->pages[i] = data_pages[i];
	r->flat = contiguous ? r->pages[0] : NULL;

	/* Read each index once; the private cursors are the truth from here on. */
	uint32_t wr = load_acquire(&r->ctl->write_index);
	uint32_t rd = load_acquire(&r->ctl->read_index);
	if (!index_valid(r, wr) || !index_valid(r, rd)) {
		free(r->pages);
		memset(r, 0, sizeof(*r));
		return -EPROTO;
	}
	r->wr_next = wr;
	r->rd_next = rd;
	r->rd_committed = rd;
	r->rd_cached_wr = rd; /* forces a load of write_index on the first read */
	r->wr_cached_rd = ring_add(r, wr, 8); /* 8 bytes free: a load on the first write */
	return 0;
}

int vmbus_ring_init_flat(struct vmbus_ring *r, void *base, size_t total_len)
{
	if (!base || total_len < 2 * VMBUS_RING_PAGE_SIZE || total_len % VMBUS_RING_PAGE_SIZE)
		return -EINVAL;
	size_t n = total_len / VMBUS_RING_PAGE_SIZE - 1;
	if (n > VMBUS_RING_MAX_DATA_PAGES)
		return -EINVAL;

	/* Small rings list their pages on the stack; larger ones in a temporary array. */
	void *stack_pages[64];
	void **pages = n <= 64 ? stack_pages : malloc(sizeof(*pages) * n);
	if (!pages)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		pages[i] = (uint8_t *)base + (i + 1) * VMBUS_RING_PAGE_SIZE;
	int ret = vmbus_ring_init(r, base, pages, (uint32_t)n);
	if (pages != stack_pages)
		free(pages);
	return ret;
}

void vmbus_ring_fini(struct vmbus_ring *r)
{
	if (!r)
		return;
	free(r->pages);
	memset(r, 0, sizeof(*r));
}

int vmbus_ring_pair_init(struct vmbus_ring *ret_in, struct vmbus_ring *ret_out, void *const *pages,
			 uint32_t npages, uint32_t h2g_offset, bool host)
{
	if (!ret_in || !ret_out || !pages || h2g_offset < 2 || h2g_offset > npages ||
	    npages - h2g_offset < 2)
		return -EINVAL;

	struct vmbus_ring g2h, h2g;
	int ret = vmbus_ring_init(&g2h, pages[0], pages + 1, h2g_offset - 1);
	if (ret < 0)
		return ret;
	ret = vmbus_ring_init(&h2g, pages[h2g_offset], pages + h2g_offset + 1,
			      npages - h2g_offset - 1);
	if (ret < 0) {
		vmbus_ring_fini(&g2h);
		return ret;
	}
	*ret_in = host ? g2h : h2g;
	*ret_out = host ? h2g : g2h;
	return 0;
}

void vmbus_ring_reset(struct vmbus_ring *r)
{
	store_relaxed(&r->ctl->write_index, 0);
	store_relaxed(&r->ctl->read_index, 0);
	store_relaxed(&r->ctl->interrupt_mask, 0);
	store_relaxed(&r->ctl->pending_send_sz, 0);
	store_relaxed(&r->ctl->feature_bits, VMBUS_RING_FEAT_PENDING_SEND_SZ);
	full_fence();
	r->rd_next = r->rd_committed = r->rd_cached_wr = 0;
	r->wr_next = 0;
	r->wr_cached_rd = 8;
	r->wr_batching = false;
	r->broken = false;
	r->broken_reason = NULL;
}

void vmbus_ring_get_info(const struct vmbus_ring *r, struct vmbus_ring_info *ret_info)
{
	*ret_info = (struct vmbus_ring_info){
	    .size = r->size,
	    .write_index = load_relaxed(&r->ctl->write_index),
	    .read_index = load_relaxed(&r->ctl->read_index),
	    .interrupt_mask = load_relaxed(&r->ctl->interrupt_mask),
	    .pending_send_sz = load_relaxed(&r->ctl->pending_send_sz),
	    .feature_bits = load_relaxed(&r->ctl->feature_bits),
	    .rd_next = r->rd_next,
	    .rd_committed = r->rd_committed,
	    .wr_next = r->wr_next,
	    .broken = r->broken,
	    .broken_reason = r->broken ? r->broken_reason : NULL,
	};
}

bool vmbus_ring_is_broken(const struct vmbus_ring *r)
{
	return r->broken;
}

const char *vmbus_ring_broken_reason(const struct vmbus_ring *r)
{
	return r->broken ? r->broken_reason : NULL;
}

/* ---- reading ---- */

/* Loads the writer's index once (acquire: pairs with its store-release, C). */
static int load_write_index(struct vmbus_ring *r, uint32_t *ret)
{
	uint32_t wr = load_acquire(&r->ctl->write_index);
	if (wr & 7u)
		return ring_break(r, -EPROTO, "write_index not 8-byte aligned");
	if (wr >= r->size)
		return ring_break(r, -EPROTO, "write_index beyond the ring");
	*ret = wr;
	return 0;
}

static int validate_gpa_direct(struct vmbus_ring *r, const uint8_t *pkt, uint32_t off,
			       struct vmbus_pkt *p)
{
	struct vmbus_gpa_direct_hdr h;

	if (off < DESC_SIZE + sizeof(h))
		return ring_break(r, -EBADMSG, "gpa-direct offset8 inside its header");
	memcpy(&h, pkt + DESC_SIZE, sizeof(h));
	if (h.range_count == 0)
		return ring_break(r, -EBADMSG, "gpa-direct packet without ranges");
	if (h.range_count > VMBUS_RING_MAX_GPA_RANGES)
		return ring_break(r, -EBADMSG, "gpa-direct range_count too large");

	uint32_t start = DESC_SIZE + sizeof(h);
	uint32_t pos = start;
	for (uint32_t i = 0; i < h.range_count; i++) {
		struct vmbus_gpa_range g;
		if (off - pos < sizeof(g))
			return ring_break(r, -EBADMSG, "gpa-direct ranges run past offset8");
		memcpy(&g, pkt + pos, sizeof(g));
		pos += sizeof(g);
		if (g.byte_count == 0)
			return ring_break(r, -EBADMSG, "gpa-direct range of zero bytes");
		if (g.byte_offset >= VMBUS_RING_PAGE_SIZE)
			return ring_break(r, -EBADMSG,
					  "gpa-direct byte_offset beyond the first page");
		uint64_t pfns =
		    ((uint64_t)g.byte_offset + g.byte_count + VMBUS_RING_PAGE_SIZE - 1) >>
		    VMBUS_RING_PAGE_SHIFT;
		if (pfns > (off - pos) / sizeof(uint64_t))
			return ring_break(r, -EBADMSG, "gpa-direct pfn list runs past offset8");
		pos += (uint32_t)pfns * sizeof(uint64_t);
	}
	p->range_count = h.range_count;
	p->ranges = pkt + start;
	p->ranges_len = pos - start;
	return 0;
}

static int validate_xfer_pages(struct vmbus_ring *r, const uint8_t *pkt, uint32_t off,
			       struct vmbus_pkt *p)
{
	struct vmbus_xfer_page_hdr h;

	if (off < DESC_SIZE + sizeof(h))
		return ring_break(r, -EBADMSG, "transfer-page offset8 inside its header");
	memcpy(&h, pkt + DESC_SIZE, sizeof(h));
	if (h.range_count == 0)
		return ring_break(r, -EBADMSG, "transfer-page packet without ranges");
	if (h.range_count > VMBUS_RING_MAX_XFER_RANGES)
		return ring_break(r, -EBADMSG, "transfer-page range_count too large");
	if ((uint64_t)h.range_count * sizeof(struct vmbus_xfer_page_range) >
	    off - DESC_SIZE - sizeof(h))
		return ring_break(r, -EBADMSG, "transfer-page ranges run past offset8");
	p->range_count = h.range_count;
	p->xfer_pageset_id = h.xfer_pageset_id;
	p->sender_owns_set = h.sender_owns_set;
	p->xfer_ranges = (const struct vmbus_xfer_page_range *)(pkt + DESC_SIZE + sizeof(h));
	return 0;
}

int vmbus_ring_recv(struct vmbus_ring *r, void *buf, size_t buflen, struct vmbus_pkt *ret_pkt)
{
	if (r->broken)
		return -EPROTO;
	if (!buf || ((uintptr_t)buf & 7u) || !ret_pkt)
		return -EINVAL;

	uint32_t wr = r->rd_cached_wr;
	if (r->rd_next == wr) {
		int ret = load_write_index(r, &wr);
		if (ret < 0)
			return ret;
		r->rd_cached_wr = wr;
		if (r->rd_next == wr)
			return -EAGAIN;
	}

	uint32_t avail = ring_used(r, wr, r->rd_next);
	if (avail < MIN_PACKET_BYTES)
		return ring_break(r, -EPROTO, "available bytes smaller than a packet");

	/* Snapshot the descriptor once; its lengths decide how much to copy. */
	struct vmbus_packet_desc d;
	ring_copy_out(r, r->rd_next, &d, DESC_SIZE);
	uint32_t len = (uint32_t)d.len8 * 8u;
	if (len < DESC_SIZE)
		return ring_break(r, -EBADMSG, "len8 smaller than the descriptor");
	if (len > avail - VMBUS_RING_TRAILER_SIZE)
		return ring_break(r, -EPROTO, "packet longer than the available bytes");
	if (len > buflen)
		return ring_break(r, -EMSGSIZE, "packet larger than the reader's maximum");

	/* Copy, then validate the copy only: the other side may rewrite the ring meanwhile. */
	uint8_t *pkt = buf;
	ring_copy_out(r, r->rd_next, pkt, len);
	memcpy(&d, pkt, DESC_SIZE);
	if ((uint32_t)d.len8 * 8u != len)
		return ring_break(r, -EBADMSG, "descriptor changed while it was copied");
	uint32_t off = (uint32_t)d.offset8 * 8u;
	if (off < DESC_SIZE)
		return ring_break(r, -EBADMSG, "offset8 inside the descriptor");
	if (off > len)
		return ring_break(r, -EBADMSG, "offset8 past len8");
	if (d.flags & ~VMBUS_PKT_FLAGS_KNOWN)
		return ring_break(r, -EBADMSG, "unknown packet flags");

	struct vmbus_pkt p = {
	    .type = d.type,
	    .flags = d.flags,
	    .trans_id = d.trans_id,
	    .payload = pkt + off,
	    .payload_len = len - off,
	    .total_len = len,
	};
	int ret;
	switch (d.type) {
	case VMBUS_PKT_DATA_INBAND:
	case VMBUS_PKT_COMP:
		break;
	case VMBUS_PKT_DATA_USING_GPA_DIRECT:
		ret = validate_gpa_direct(r, pkt, off, &p);
		if (ret < 0)
			return ret;
		break;
	case VMBUS_PKT_DATA_USING_XFER_PAGES:
		ret = validate_xfer_pages(r, pkt, off, &p);
		if (ret < 0)
			return ret;
		break;
	default:
		return ring_break(r, -EBADMSG, "unsupported packet type");
	}

	/* The trailer is not checked: Linux and Hyper-V readers ignore it too. */
	r->rd_next = ring_add(r, r->rd_next, len + VMBUS_RING_TRAILER_SIZE);
	*ret_pkt = p;
	return 0;
}

int vmbus_ring_recv_commit(struct vmbus_ring *r)
{
	if (r->broken)
		return -EPROTO;
	uint32_t old = r->rd_committed, new = r->rd_next;
	if (old == new)
		return 0;

	/* Release: our copies out of [old, new) are done before the writer may reuse it (C). */
	store_release(&r->ctl->read_index, new);
	r->rd_committed = new;

	/* Pair B: read_index store, fence, then look at pending_send_sz. */
	full_fence();
	uint32_t pending = load_relaxed(&r->ctl->pending_send_sz);
	if (pending == 0)
		return 0;
	if (!(load_relaxed(&r->ctl->feature_bits) & VMBUS_RING_FEAT_PENDING_SEND_SZ))
		return 0;
	uint32_t wr;
	int ret = load_write_index(r, &wr);
	if (ret < 0)
		return ret;
	/* Signal only on the transition "not enough" -> "enough"; exactly
	 * pending free bytes still counts as not enough (a packet needs free > size). */
	uint32_t before = ring_free(r, wr, old), after = ring_free(r, wr, new);
	return before <= pending && after > pending ? 1 : 0;
}

void vmbus_ring_mask_interrupts(struct vmbus_ring *r)
{
	__atomic_store_n(&r->ctl->interrupt_mask, 1, __ATOMIC_SEQ_CST);
}

int vmbus_ring_unmask_interrupts(struct vmbus_ring *r)
{
	if (r->broken)
		return -EPROTO;
	/* Pair A: clear the mask, fence, then re-check write_index. */
	store_relaxed(&r->ctl->interrupt_mask, 0);
	full_fence();
	uint32_t wr;
	int ret = load_write_index(r, &wr);
	if (ret < 0)
		return ret;
	r->rd_cached_wr = wr;
	return wr != r->rd_next ? 1 : 0;
}

uint32_t vmbus_ring_read_pos(const struct vmbus_ring *r)
{
	return r->rd_next;
}

uint32_t vmbus_ring_shared_read_index(const struct vmbus_ring *r)
{
	return load_relaxed(&r->ctl->read_index);
}

uint32_t vmbus_ring_shared_write_index(const struct vmbus_ring *r)
{
	return load_relaxed(&r->ctl->write_index);
}

uint32_t vmbus_ring_write_pos(const struct vmbus_ring *r)
{
	return r->wr_next;
}

uint32_t vmbus_ring_advance(const struct vmbus_ring *r, uint32_t pos, uint32_t bytes)
{
	return ring_add(r, pos, bytes);
}

uint32_t vmbus_ring_bytes_to_read(struct vmbus_ring *r)
{
	uint32_t wr;
	if (r->broken || load_write_index(r, &wr) < 0)
		return 0;
	r->rd_cached_wr = wr;
	return ring_used(r, wr, r->rd_next);
}

void vmbus_gpa_iter_init(struct vmbus_gpa_iter *it, const struct vmbus_pkt *pkt)
{
	it->pkt = pkt;
	it->index = 0;
	it->pos = 0;
}

int vmbus_gpa_iter_next(struct vmbus_gpa_iter *it, uint32_t *ret_byte_count,
			uint32_t *ret_byte_offset, const uint64_t **ret_pfns,
			uint32_t *ret_pfn_count)
{
	const struct vmbus_pkt *p = it->pkt;

	if (p->type != VMBUS_PKT_DATA_USING_GPA_DIRECT || it->index >= p->range_count)
		return 0;
	/* Already validated by vmbus_ring_recv(): every range lies inside ranges_len. */
	const uint8_t *base = (const uint8_t *)p->ranges + it->pos;
	struct vmbus_gpa_range g;
	memcpy(&g, base, sizeof(g));
	uint32_t n =
	    (uint32_t)(((uint64_t)g.byte_offset + g.byte_count + VMBUS_RING_PAGE_SIZE - 1) >>
		       VMBUS_RING_PAGE_SHIFT);
	*ret_byte_count = g.byte_count;
	*ret_byte_offset = g.byte_offset;
	*ret_pfns = (const uint64_t *)(base + sizeof(g));
	*ret_pfn_count = n;
	it->pos += (uint32_t)sizeof(g) + n * (uint32_t)sizeof(uint64_t);
	it->index++;
	return 1;
}

/* ---- writing ---- */

struct piece {
	const void *p;
	uint32_t len;
};

/* Packets up to this size (trailer included) are staged on the stack. */
#define SMALL_PACKET 512u

uint32_t vmbus_ring_inband_size(uint32_t len)
{
	return DESC_SIZE + align8(len) + VMBUS_RING_TRAILER_SIZE;
}

uint32_t vmbus_ring_xfer_size(uint32_t nranges, uint32_t len)
{
	return DESC_SIZE + (uint32_t)sizeof(struct vmbus_xfer_page_hdr) +
	       nranges * (uint32_t)sizeof(struct vmbus_xfer_page_range) + align8(len) +
	       VMBUS_RING_TRAILER_SIZE;
}

static int publish(struct vmbus_ring *r, uint32_t from);

/*
 * Writes one packet made of `hdr` (type header, multiple of 8 bytes) and the
 * payload pieces, then publishes it. See vmbus_ring.h for the return values.
 */
static int write_packet(struct vmbus_ring *r, uint16_t type, uint16_t flags, uint64_t trans_id,
			const struct piece *hdr, int nhdr, const struct piece *pay, int npay)
{
	if (r->broken)
		return -EPROTO;

	uint64_t hdr_len = DESC_SIZE, pay_len = 0;
	for (int i = 0; i < nhdr; i++)
		hdr_len += hdr[i].len;
	for (int i = 0; i < npay; i++)
		pay_len += pay[i].len;
	uint64_t len = hdr_len + ((pay_len + 7u) & ~(uint64_t)7u);
	if (hdr_len & 7u)
		return -EINVAL;
	if (len > VMBUS_RING_MAX_PACKET || len + VMBUS_RING_TRAILER_SIZE >= r->size)
		return -EMSGSIZE;
	uint32_t total = (uint32_t)len + VMBUS_RING_TRAILER_SIZE;

	/* The reader only moves read_index forward, so the last value seen understates the
	 * room: read the shared index (a cache line the reader writes) only when short. */
	uint32_t start = r->wr_next;
	if (ring_free(r, start, r->wr_cached_rd) <= total) {
		/* Acquire pairs with the reader's release of read_index (C). */
		uint32_t rd = load_acquire(&r->ctl->read_index);
		if (!index_valid(r, rd))
			return ring_break(r, -EPROTO, "read_index corrupt");
		r->wr_cached_rd = rd;
		if (ring_free(r, start, rd) <= total)
			return -EAGAIN;
	}

	struct vmbus_packet_desc d = {
	    .type = type,
	    .offset8 = (uint16_t)(hdr_len / 8u),
	    .len8 = (uint16_t)(len / 8u),
	    .flags = flags,
	    .trans_id = trans_id,
	};
	static const uint8_t zeros[8];
	uint32_t pad = (uint32_t)(len - hdr_len - pay_len);
	uint64_t trailer = VMBUS_RING_TRAILER(start);
	uint32_t pos;

	if (total <= SMALL_PACKET) {
		/* Small packets are assembled privately and copied in at once:
		 * one wrap/page split instead of one per piece. */
		uint8_t tmp[SMALL_PACKET], *t = tmp;
		memcpy(t, &d, DESC_SIZE);
		t += DESC_SIZE;
		for (int i = 0; i < nhdr; i++) {
			memcpy(t, hdr[i].p, hdr[i].len);
			t += hdr[i].len;
		}
		for (int i = 0; i < npay; i++) {
			if (pay[i].len)
				memcpy(t, pay[i].p, pay[i].len);
			t += pay[i].len;
		}
		memcpy(t, zeros, pad); /* no stale bytes leak to the other side */
		t += pad;
		memcpy(t, &trailer, sizeof(trailer));
		ring_copy_in(r, start, tmp, total);
		pos = ring_add(r, start, total);
	} else {
		pos = start;
		ring_copy_in(r, pos, &d, DESC_SIZE);
		pos = ring_add(r, pos, DESC_SIZE);
		for (int i = 0; i < nhdr; i++) {
			ring_copy_in(r, pos, hdr[i].p, hdr[i].len);
			pos = ring_add(r, pos, hdr[i].len);
		}
		for (int i = 0; i < npay; i++) {
			if (!pay[i].len)
				continue;
			ring_copy_in(r, pos, pay[i].p, pay[i].len);
			pos = ring_add(r, pos, pay[i].len);
		}
		ring_copy_in(r, pos, zeros, pad);
		pos = ring_add(r, pos, pad);
		ring_copy_in(r, pos, &trailer, sizeof(trailer));
		pos = ring_add(r, pos, sizeof(trailer));
	}

	r->wr_next = pos;
	if (r->wr_batching)
		return 0; /* vmbus_ring_batch_end publishes it */
	return publish(r, start);
}

/*
 * Publishes everything written up to wr_next; `from` is the write_index the reader saw
 * before. Returns 1 when the reader must be signalled.
 */
static int publish(struct vmbus_ring *r, uint32_t from)
{
	/* Release: the bytes written are visible before the new index (C). */
	store_release(&r->ctl->write_index, r->wr_next);

	/* Pair A: write_index store, fence, then the reader's mask and index.
	 * Signal only if the reader had consumed everything before these packets
	 * (empty -> non-empty) and has not masked interrupts. */
	full_fence();
	if (load_relaxed(&r->ctl->interrupt_mask))
		return 0;
	/* The index is read here anyway: check it, and keep it (it is the freshest). The
	 * packet is out; a corrupt index still breaks the ring for what follows. Acquire:
	 * the snapshot later decides what may be overwritten (C). */
	uint32_t rd = load_acquire(&r->ctl->read_index);
	if (!index_valid(r, rd))
		return ring_break(r, -EPROTO, "read_index corrupt");
	r->wr_cached_rd = rd;
	return rd == from ? 1 : 0;
}

void vmbus_ring_batch_begin(struct vmbus_ring *r)
{
	if (r->wr_batching)
		return;
	r->wr_batching = true;
	r->wr_published = r->wr_next;
}

int vmbus_ring_batch_end(struct vmbus_ring *r)
{
	if (!r->wr_batching)
		return 0;
	r->wr_batching = false;
	if (r->broken)
		return -EPROTO;
	if (r->wr_next == r->wr_published)
		return 0;
	return publish(r, r->wr_published);
}

bool vmbus_ring_batch_open(const struct vmbus_ring *r)
{
	return r->wr_batching;
}

uint32_t vmbus_ring_published(const struct vmbus_ring *r)
{
	return r->wr_batching ? r->wr_published : r->wr_next;
}

int vmbus_ring_send_inbandv(struct vmbus_ring *r, uint64_t trans_id, uint16_t flags,
			    const struct iovec *iov, int iovcnt)
{
	struct piece pay[64];

	if ((flags & ~VMBUS_PKT_FLAGS_KNOWN) || iovcnt < 0 || iovcnt > 64 || (iovcnt && !iov))
		return -EINVAL;
	for (int i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len && !iov[i].iov_base)
			return -EINVAL;
		if (iov[i].iov_len > VMBUS_RING_MAX_PACKET)
			return -EMSGSIZE;
		pay[i] = (struct piece){iov[i].iov_base, (uint32_t)iov[i].iov_len};
	}
	return write_packet(r, VMBUS_PKT_DATA_INBAND, flags, trans_id, NULL, 0, pay, iovcnt);
}

int vmbus_ring_send_inband(struct vmbus_ring *r, uint64_t trans_id, uint16_t flags,
			   const void *data, uint32_t len)
{
	struct piece pay = {data, len};

	if ((flags & ~VMBUS_PKT_FLAGS_KNOWN) || (len && !data))
		return -EINVAL;
	return write_packet(r, VMBUS_PKT_DATA_INBAND, flags, trans_id, NULL, 0, &pay, 1);
}

int vmbus_ring_send_completion(struct vmbus_ring *r, uint64_t trans_id, const void *data,
			       uint32_t len)
{
	struct piece pay = {data, len};

	if (len && !data)
		return -EINVAL;
	return write_packet(r, VMBUS_PKT_COMP, 0, trans_id, NULL, 0, &pay, 1);
}

int vmbus_ring_send_gpa_direct(struct vmbus_ring *r, uint64_t trans_id, uint16_t flags,
			       const struct vmbus_ring_gpa *ranges, uint32_t nranges,
			       const void *data, uint32_t len)
{
	struct vmbus_gpa_direct_hdr h = {.reserved = 0, .range_count = nranges};
	struct vmbus_gpa_range g[VMBUS_RING_MAX_GPA_RANGES];
	struct piece hdr[1 + 2 * VMBUS_RING_MAX_GPA_RANGES];
	struct piece pay = {data, len};
	int n = 0;

	if ((flags & ~VMBUS_PKT_FLAGS_KNOWN) || nranges == 0 ||
	    nranges > VMBUS_RING_MAX_GPA_RANGES || !ranges || (len && !data))
		return -EINVAL;
	hdr[n++] = (struct piece){&h, sizeof(h)};
	for (uint32_t i = 0; i < nranges; i++) {
		const struct vmbus_ring_gpa *s = &ranges[i];
		uint64_t want =
		    ((uint64_t)s->byte_offset + s->byte_count + VMBUS_RING_PAGE_SIZE - 1) >>
		    VMBUS_RING_PAGE_SHIFT;
		if (s->byte_count == 0 || s->byte_offset >= VMBUS_RING_PAGE_SIZE ||
		    s->pfn_count != want || !s->pfns || want > VMBUS_RING_MAX_PACKET / 8)
			return -EINVAL;
		g[i].byte_count = s->byte_count;
		g[i].byte_offset = s->byte_offset;
		hdr[n++] = (struct piece){&g[i], sizeof(g[i])};
		hdr[n++] = (struct piece){s->pfns, s->pfn_count * (uint32_t)sizeof(uint64_t)};
	}
	return write_packet(r, VMBUS_PKT_DATA_USING_GPA_DIRECT, flags, trans_id, hdr, n, &pay, 1);
}

int vmbus_ring_send_xfer_pages(struct vmbus_ring *r, uint64_t trans_id, uint16_t flags,
			       uint16_t pageset_id, bool sender_owns_set,
			       const struct vmbus_xfer_page_range *ranges, uint32_t nranges,
			       const void *data, uint32_t len)
{
	struct vmbus_xfer_page_hdr h = {
	    .xfer_pageset_id = pageset_id,
	    .sender_owns_set = sender_owns_set ? 1 : 0,
	    .reserved = 0,
	    .range_count = nranges,
	};
	struct piece hdr[2] = {
	    {&h, sizeof(h)},
	    {ranges, nranges * (uint32_t)sizeof(*ranges)},
	};
	struct piece pay = {data, len};

	if ((flags & ~VMBUS_PKT_FLAGS_KNOWN) || nranges == 0 ||
	    nranges > VMBUS_RING_MAX_XFER_RANGES || !ranges || (len && !data))
		return -EINVAL;
	return write_packet(r, VMBUS_PKT_DATA_USING_XFER_PAGES, flags, trans_id, hdr, 2, &pay, 1);
}

int vmbus_ring_set_pending_send(struct vmbus_ring *r, uint32_t bytes)
{
	if (r->broken)
		return -EPROTO;
	if (bytes == 0) {
		__atomic_store_n(&r->ctl->pending_send_sz, 0, __ATOMIC_SEQ_CST);
		return 0;
	}
	if (bytes >= r->size)
		return -EMSGSIZE;
	if (!(load_relaxed(&r->ctl->feature_bits) & VMBUS_RING_FEAT_PENDING_SEND_SZ))
		return -EOPNOTSUPP;

	/* The reader measures free space against the write_index it sees, which does not
	 * count an open batch: ask for the batch's bytes too. Asking for `bytes` alone, the
	 * reader's crossing could fall while the batch is unpublished, and once published
	 * the room only grows past the threshold, so no commit signals again. An empty ring
	 * always answers: never ask for more than it gives. */
	uint32_t ask = bytes;
	if (r->wr_batching) {
		uint32_t cap = r->size - 8; /* what an empty ring's free space exceeds */
		ask += ring_used(r, r->wr_next, r->wr_published);
		if (ask > cap)
			ask = bytes > cap ? bytes : cap;
	}
	/* Pair B: pending_send_sz store, fence, then re-check read_index. */
	store_relaxed(&r->ctl->pending_send_sz, ask);
	full_fence();
	uint32_t rd = load_acquire(&r->ctl->read_index);
	if (!index_valid(r, rd))
		return ring_break(r, -EPROTO, "read_index corrupt");
	return ring_free(r, r->wr_next, rd) > bytes ? 1 : 0;
}

uint32_t vmbus_ring_bytes_to_write(struct vmbus_ring *r)
{
	if (r->broken)
		return 0;
	uint32_t rd = load_acquire(&r->ctl->read_index);
	if (!index_valid(r, rd)) {
		(void)ring_break(r, -EPROTO, "read_index corrupt");
		return 0;
	}
	return ring_free(r, r->wr_next, rd);
}

bool vmbus_ring_peer_drained(struct vmbus_ring *r)
{
	if (r->broken)
		return false;
	uint32_t rd = load_acquire(&r->ctl->read_index);
	if (!index_valid(r, rd)) {
		(void)ring_break(r, -EPROTO, "read_index corrupt");
		return false;
	}
	return rd == r->wr_next;
}
