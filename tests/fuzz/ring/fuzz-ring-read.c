/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target 'ring-read': the input is a ring as a hostile peer could leave
 * it, and the reader must never crash, touch memory outside the ring or its
 * own buffer, or loop forever.
 *
 * Input layout (little-endian):
 *   0  u32 write_index     4  u32 read_index     8  u32 interrupt_mask
 *   12 u32 pending_send_sz 16 u32 feature_bits
 *   20 u8  geometry: bits 0-1 = data pages - 1, bit 2 = scattered pages,
 *          bit 3 = also try a write afterwards
 *   21 u16 reader buffer size (in 8-byte units, 0 = the largest packet)
 *   23 u8  commit every n packets (0 = once at the end)
 *   24..   data area bytes (the rest is zero)
 * Every page is its own heap block in scattered mode, so ASan catches any
 * access past a page; the flat mode uses one block for the whole ring.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmbus_ring.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HDR 24u
#define PAGE VMBUS_RING_PAGE_SIZE

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

/* Keeps the compiler from dropping the reads we make ASan check. */
static volatile uint64_t sink;

static void touch(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint64_t s = 0;
	for (size_t i = 0; i < len; i++)
		s += b[i];
	sink += s;
}

static void consume(struct vmbus_ring *r, void *buf, size_t buflen, unsigned commit_every)
{
	unsigned n = 0;

	/* Each packet advances by >= 24 bytes within a bounded ring: this ends. */
	for (;;) {
		struct vmbus_pkt pkt;
		int ret = vmbus_ring_recv(r, buf, buflen, &pkt);
		if (ret < 0)
			break;
		touch(pkt.payload, pkt.payload_len);
		if (pkt.type == VMBUS_PKT_DATA_USING_GPA_DIRECT) {
			struct vmbus_gpa_iter it;
			uint32_t bc, bo, npfn;
			const uint64_t *pfns;
			vmbus_gpa_iter_init(&it, &pkt);
			while (vmbus_gpa_iter_next(&it, &bc, &bo, &pfns, &npfn))
				touch(pfns, npfn * sizeof(*pfns));
		} else if (pkt.type == VMBUS_PKT_DATA_USING_XFER_PAGES) {
			touch(pkt.xfer_ranges, pkt.range_count * sizeof(*pkt.xfer_ranges));
		}
		if (commit_every && ++n % commit_every == 0)
			(void)vmbus_ring_recv_commit(r);
	}
	(void)vmbus_ring_recv_commit(r);
	(void)vmbus_ring_unmask_interrupts(r);
	(void)vmbus_ring_bytes_to_read(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < HDR)
		return 0;

	uint32_t npages = (data[20] & 3u) + 1;
	bool scattered = data[20] & 4u;
	bool try_write = data[20] & 8u;
	uint16_t buf8;
	memcpy(&buf8, data + 21, 2);
	size_t buflen = buf8 ? (size_t)buf8 * 8 : VMBUS_RING_MAX_PACKET;
	unsigned commit_every = data[23];

	uint8_t *flat = NULL;
	void *control;
	void *pages[4] = {0};
	if (scattered) {
		control = malloc(PAGE);
		for (uint32_t i = 0; i < npages; i++)
			pages[i] = malloc(PAGE);
	} else {
		flat = malloc((size_t)(npages + 1) * PAGE);
		control = flat;
		for (uint32_t i = 0; i < npages; i++)
			pages[i] = flat + (size_t)(i + 1) * PAGE;
	}
	memset(control, 0, PAGE);
	struct vmbus_ring_control *c = control;
	c->write_index = get32(data);
	c->read_index = get32(data + 4);
	c->interrupt_mask = get32(data + 8);
	c->pending_send_sz = get32(data + 12);
	c->feature_bits = get32(data + 16);
	size_t left = size - HDR;
	for (uint32_t i = 0; i < npages; i++) {
		size_t n = left > PAGE ? PAGE : left;
		memcpy(pages[i], data + HDR + (size_t)i * PAGE, n);
		memset((uint8_t *)pages[i] + n, 0, PAGE - n);
		left -= n;
	}

	void *buf = malloc(buflen);
	struct vmbus_ring r;
	if (vmbus_ring_init(&r, control, pages, npages) == 0) {
		consume(&r, buf, buflen, commit_every);
		vmbus_ring_fini(&r);
	}
	if (try_write) {
		/* The writer meets the same untrusted read_index and mask. */
		struct vmbus_ring w;
		if (vmbus_ring_init(&w, control, pages, npages) == 0) {
			uint64_t pfn = 1;
			struct vmbus_ring_gpa g = {.byte_count = 1, .byte_offset = 0, .pfn_count = 1,
						   .pfns = &pfn};
			(void)vmbus_ring_send_inband(&w, 1, 0, data, (uint32_t)(size < 300 ? size : 300));
			(void)vmbus_ring_send_gpa_direct(&w, 2, 1, &g, 1, NULL, 0);
			(void)vmbus_ring_set_pending_send(&w, get32(data + 12));
			(void)vmbus_ring_bytes_to_write(&w);
			vmbus_ring_fini(&w);
		}
	}

	free(buf);
	if (scattered) {
		free(control);
		for (uint32_t i = 0; i < npages; i++)
			free(pages[i]);
	} else {
		free(flat);
	}
	return 0;
}
