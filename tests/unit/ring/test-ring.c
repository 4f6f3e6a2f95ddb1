/* SPDX-License-Identifier: MIT */
/*
 * lib/ring/vmbus_ring.c: layouts, every packet type, wraparound at every
 * offset, full and empty rings, corrupt indices and packets, and the
 * signalling rules. Each case runs on a contiguous and a scattered mapping.
 */
#include <errno.h>
#include <stdalign.h>

#include "ring-test-util.h"

#define NPAGES 2
#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define SIZE (NPAGES * VMBUS_RING_PAGE_SIZE)

static alignas(8) uint8_t rxbuf[VMBUS_RING_MAX_PACKET + 8];

struct pair {
	struct test_ring_mem m;
	struct vmbus_ring wr; /* the writing end */
	struct vmbus_ring rd; /* the reading end */
};

static void pair_open(struct pair *p, bool scattered, uint32_t npages, uint32_t start)
{
	test_ring_mem_alloc(&p->m, npages, scattered);
	test_ring_attach(&p->m, &p->wr, start, start);
	ASSERT_OK(vmbus_ring_init(&p->rd, p->m.control, p->m.pages, p->m.npages));
}

static void pair_close(struct pair *p)
{
	vmbus_ring_fini(&p->wr);
	vmbus_ring_fini(&p->rd);
	test_ring_mem_free(&p->m);
}

static void fill_pattern(uint8_t *b, uint32_t len, uint32_t seed)
{
	for (uint32_t i = 0; i < len; i++)
		b[i] = (uint8_t)(seed * 131u + i * 7u + (i >> 8));
}

static void test_layout(void)
{
	ASSERT_EQ(sizeof(struct vmbus_ring_control), 4096);
	ASSERT_EQ(offsetof(struct vmbus_ring_control, feature_bits), 64);
	ASSERT_EQ(sizeof(struct vmbus_packet_desc), 16);
	ASSERT_EQ(vmbus_ring_inband_size(0), 24);
	ASSERT_EQ(vmbus_ring_inband_size(1), 32);
	ASSERT_EQ(vmbus_ring_inband_size(64), 88);
	ASSERT_UEQ(VMBUS_RING_TRAILER(0x1238), 0x0000123800000000ull);
}

static void test_init_errors(void)
{
	struct test_ring_mem m;
	struct vmbus_ring r;

	test_ring_mem_alloc(&m, NPAGES, false);
	ASSERT_EQ(vmbus_ring_init(&r, m.control, m.pages, 0), -EINVAL);
	ASSERT_EQ(vmbus_ring_init(&r, (uint8_t *)m.control + 4, m.pages, NPAGES), -EINVAL);
	ASSERT_EQ(vmbus_ring_init_flat(&r, m.map, 4096), -EINVAL);
	ASSERT_EQ(vmbus_ring_init_flat(&r, m.map, 4096 * 2 + 1), -EINVAL);

	struct vmbus_ring_control *c = test_ring_ctl(&m);
	c->write_index = 12; /* not 8-aligned */
	ASSERT_EQ(vmbus_ring_init(&r, m.control, m.pages, NPAGES), -EPROTO);
	c->write_index = SIZE; /* out of range */
	ASSERT_EQ(vmbus_ring_init(&r, m.control, m.pages, NPAGES), -EPROTO);
	c->write_index = 0;
	c->read_index = SIZE + 8;
	ASSERT_EQ(vmbus_ring_init(&r, m.control, m.pages, NPAGES), -EPROTO);
	c->read_index = SIZE - 8;
	ASSERT_OK(vmbus_ring_init_flat(&r, m.map, 3 * 4096));
	ASSERT_TRUE(r.flat != NULL);
	vmbus_ring_fini(&r);
	vmbus_ring_fini(&r); /* twice is fine */
	test_ring_mem_free(&m);

	/* A large flat ring (its page list does not fit the stack array). */
	struct test_ring_mem big;
	struct vmbus_ring w;
	struct vmbus_pkt pkt;
	test_ring_mem_alloc(&big, 200, false);
	ASSERT_OK(vmbus_ring_init_flat(&r, big.map, 201 * 4096));
	ASSERT_OK(vmbus_ring_init_flat(&w, big.map, 201 * 4096));
	ASSERT_EQ(r.size, 200 * 4096);
	ASSERT_TRUE(r.flat == big.pages[0]);
	ASSERT_EQ(vmbus_ring_send_inband(&w, 3, 0, "big", 3), 1);
	ASSERT_OK(vmbus_ring_recv(&r, rxbuf, sizeof(rxbuf), &pkt));
	ASSERT_EQ(memcmp(pkt.payload, "big", 3), 0);
	vmbus_ring_fini(&r);
	vmbus_ring_fini(&w);
	test_ring_mem_free(&big);
}

static void test_empty(bool sc)
{
	struct pair p;
	struct vmbus_pkt pkt;

	pair_open(&p, sc, NPAGES, 0);
	ASSERT_EQ(vmbus_ring_recv(&p.rd, rxbuf, sizeof(rxbuf), &pkt), -EAGAIN);
	ASSERT_EQ(vmbus_ring_recv_commit(&p.rd), 0);
	ASSERT_EQ(vmbus_ring_bytes_to_read(&p.rd), 0);
	ASSERT_EQ(vmbus_ring_bytes_to_write(&p.wr), SIZE);
	ASSERT_EQ(vmbus_ring_unmask_interrupts(&p.rd), 0);
	ASSERT_FALSE(vmbus_ring_is_broken(&p.rd));
	ASSERT_TRUE(vmbus_ring_broken_reason(&p.rd) == NULL);
	ASSERT_TRUE(vmbus_ring_peer_drained(&p.wr));
	/* A zero-length inband packet is legal. */
	ASSERT_GE(vmbus_ring_send_inband(&p.wr, 5, 0, NULL, 0), 0);
	ASSERT_FALSE(vmbus_ring_peer_drained(&p.wr)); /* written, not read */
	ASSERT_OK(vmbus_ring_recv(&p.rd, rxbuf, sizeof(rxbuf), &pkt));
	ASSERT_EQ(pkt.payload_len, 0);
	ASSERT_EQ(pkt.total_len, 16);
	ASSERT_EQ(vmbus_ring_recv(&p.rd, rxbuf, sizeof(rxbuf), &pkt), -EAGAIN);
	ASSERT_FALSE(vmbus_ring_peer_drained(&p.wr)); /* read, not yet committed */
	(void)vmbus_ring_recv_commit(&p.rd);
	ASSERT_TRUE(vmbus_ring_peer_drained(&p.wr));
	pair_close(&p);
}

static void test_all_types(bool sc)
{
	struct pair p;
	struct vmbus_pkt pkt;
	uint8_t data[300];

	pair_open(&p, sc, 4, 0);
	fill_pattern(data, sizeof(data), 1);

	/* Inband with a completion requested. */
	ASSERT_GE(vmbus_ring_send_inband(&p.wr, 0x1122334455667788ull,
					 VMBUS_PKT_FLAG_COMPLETION_REQUESTED, data, 61), 0);
	/* Completion. */
	ASSERT_GE(vmbus_ring_send_completion(&p.wr, 0xfffffffffffffffdull, data, 64), 0);
	/* Inband from an iovec. */
	struct iovec iov[3] = {{data, 3}, {data + 3, 0}, {data + 3, 10}};
	ASSERT_GE(vmbus_ring_send_inbandv(&p.wr, 9, 0, iov, 3), 0);
	/* GPA direct: one multi-page range and one single-page range. */
	uint64_t pfns1[3] = {0x1000, 0x1001, 0x2000};
	uint64_t pfns2[1] = {0x77};
	struct vmbus_ring_gpa g[2] = {
		{.byte_count = 8192, .byte_offset = 100, .pfn_count = 3, .pfns = pfns1},
		{.byte_count = 4096, .byte_offset = 0, .pfn_count = 1, .pfns = pfns2},
	};
	ASSERT_GE(vmbus_ring_send_gpa_direct(&p.wr, 42, VMBUS_PKT_FLAG_COMPLETION_REQUESTED, g, 2,
					     data, 64), 0);
	/* Transfer pages. */
	struct vmbus_xfer_page_range xr[3] = {{100, 0}, {200, 4096}, {1, 8191}};
	ASSERT_GE(vmbus_ring_send_xfer_pages(&p.wr, 7, VMBUS_PKT_FLAG_COMPLETION_REQUESTED, 0xCAFE,
					     false, xr, 3, data, 40), 0);
	/* Bad sender arguments never touch the ring. */
	struct vmbus_ring_gpa bad = {.byte_count = 4097, .byte_offset = 0, .pfn_count = 1,
				     .pfns = pfns2};
	ASSERT_EQ(vmbus_ring_send_gpa_direct(&p.wr, 1, 0, &bad, 1, NULL, 0), -EINVAL);
	ASSERT_EQ(vmbus_ring_send_gpa_direct(&p.wr, 1, 0, g, 0, NULL, 0), -EINVAL);
	ASSERT_EQ(vmbus_ring_send_inband(&p.wr, 1, 2, data, 1), -EINVAL);
	ASSERT_EQ(vmbus_ring_send_xfer_pages(&p.wr, 1, 0, 1, false, xr, 0, NULL, 0), -EINVAL);

	ASSERT_OK(vmbus_ring_recv(&p.rd, rxbuf, sizeof(rxbuf), &pkt));
	ASSERT_EQ(pkt.type, VMBUS_PKT_DATA_INBAND);
	ASSERT_EQ(pkt.flags, VMBUS_PKT_FLAG_COMPLETION_REQUESTED);
	ASSERT_UEQ(pkt.trans_id, 0x1122334455667788ull);
	ASSERT_EQ(pkt.payload_len, 64); /* 61 padded to 8 */
	ASSERT_EQ(memcmp(pkt.payload, data, 61), 0);
	ASSERT_EQ(((const uint8_t *)pkt.payload)[61], 0); /* padding is zeroed */

	ASSERT_OK(vmbus_ring_recv(&p.rd, rxbuf, sizeof(rxbuf), &pkt));
	ASSERT_EQ(pkt.type, VMBUS_PKT_COMP);
	ASSERT_EQ(pkt.flags, 0);
	ASSERT_UEQ(pkt.trans_id, 0xfffffffffffffffdull);
	ASSERT_EQ(pkt.payload_len, 64);
	ASSERT_EQ(memcmp(pkt.payload, data, 64), 0);

	ASSERT_OK(vmbus_ring_recv(&p.rd, rxbuf, sizeof(rxbuf), &pkt));
	ASSERT_EQ(pkt.type, VMBUS_PKT_DATA_INBAND);
	ASSERT_EQ(pkt.payload_len, 16);
	ASSERT_EQ(memcmp(pkt.payload, data, 13), 0);

	ASSERT_OK(vmbus_ring_recv(&p.rd, rxbuf, sizeof(rxbuf), &pkt));
	ASSERT_EQ(pkt.type, VMBUS_PKT_DATA_USING_GPA_DIRECT);
	ASSERT_UEQ(pkt.trans_id, 42);
	ASSERT_EQ(pkt.range_count, 2);
	ASSERT_EQ(pkt.ranges_len, 8 + 24 + 8 + 8);
	ASSERT_EQ(pkt.payload_len, 64);
	ASSERT_EQ(memcmp(pkt.payload, data, 64), 0);
	struct vmbus_gpa_iter it;
	uint32_t bc, bo, n;
	const uint64_t *pf;
	vmbus_gpa_iter_init(&it, &pkt);
	ASSERT_EQ(vmbus_gpa_iter_next(&it, &bc, &bo, &pf, &n), 1);
	ASSERT_EQ(bc, 8192);
	ASSERT_EQ(bo, 100);
	ASSERT_EQ(n, 3);
	ASSERT_UEQ(pf[0], 0x1000);
	ASSERT_UEQ(pf[2], 0x2000);
	ASSERT_EQ(vmbus_gpa_iter_next(&it, &bc, &bo, &pf, &n), 1);
	ASSERT_EQ(bc, 4096);
	ASSERT_EQ(n, 1);
	ASSERT_UEQ(pf[0], 0x77);
	ASSERT_EQ(vmbus_gpa_iter_next(&it, &bc, &bo, &pf, &n), 0);

	ASSERT_OK(vmbus_ring_recv(&p.rd, rxbuf, sizeof(rxbuf), &pkt));
	ASSERT_EQ(pkt.type, VMBUS_PKT_DATA_USING_XFER_PAGES);
	ASSERT_EQ(pkt.xfer_pageset_id, 0xCAFE);
	ASSERT_EQ(pkt.sender_owns_set, 0);
	ASSERT_EQ(pkt.range_count, 3);
	ASSERT_EQ(pkt.xfer_ranges[1].byte_count, 200);
	ASSERT_EQ(pkt.xfer_ranges[2].byte_offset, 8191);
	ASSERT_EQ(pkt.payload_len, 40);
	ASSERT_EQ(memcmp(pkt.payload, data, 40), 0);
	/* The iterator yields nothing for non-GPA packets. */
	vmbus_gpa_iter_init(&it, &pkt);
	ASSERT_EQ(vmbus_gpa_iter_next(&it, &bc, &bo, &pf, &n), 0);

	ASSERT_EQ(vmbus_ring_recv(&p.rd, rxbuf, sizeof(rxbuf), &pkt), -EAGAIN);
	ASSERT_GE(vmbus_ring_recv_commit(&p.rd), 0);
	ASSERT_EQ(test_ring_ctl(&p.m)->read_index, test_ring_ctl(&p.m)->write_index);
	pair_close(&p);
}

/* Starts the ring at every 8-byte offset and sends a packet across it, so
 * the wrap falls at every position of the packet (and between packets). */
static void test_wrap_every_offset(bool sc, bool large)
{
	uint8_t data[2000];

	for (uint32_t start = 0; start < SIZE; start += 8) {
		struct pair p;
		struct vmbus_pkt pkt;
		/* Small packets are staged and copied once; large ones piece by piece. */
		uint32_t len = large ? 600 + (start / 8) % 1300 : 100 + (start / 8) % 300;

		pair_open(&p, sc, NPAGES, start);
		fill_pattern(data, len, start);
		int ret = vmbus_ring_send_inband(&p.wr, start, 0, data, len);
		ASSERT_GE(ret, 0);
		uint32_t total = vmbus_ring_inband_size(len);
		struct vmbus_ring_control *c = test_ring_ctl(&p.m);
		ASSERT_EQ(c->write_index, (start + total) % SIZE);
		/* The trailer sits right before the new write_index and names the start. */
		uint64_t trailer;
		test_ring_peek(&p.m, (start + total - 8) % SIZE, &trailer, 8);
		ASSERT_UEQ(trailer, VMBUS_RING_TRAILER(start));
		/* A second, small packet right behind it. */
		ASSERT_GE(vmbus_ring_send_completion(&p.wr, ~(uint64_t)start, data, 8), 0);

		ASSERT_OK(vmbus_ring_recv(&p.rd, rxbuf, sizeof(rxbuf), &pkt));
		ASSERT_UEQ(pkt.trans_id, start);
		ASSERT_EQ(pkt.payload_len, (len + 7) & ~7u);
		ASSERT_EQ(memcmp(pkt.payload, data, len), 0);
		ASSERT_OK(vmbus_ring_recv(&p.rd, rxbuf, sizeof(rxbuf), &pkt));
		ASSERT_EQ(pkt.type, VMBUS_PKT_COMP);
		ASSERT_UEQ(pkt.trans_id, ~(uint64_t)start);
		ASSERT_EQ(vmbus_ring_recv(&p.rd, rxbuf, sizeof(rxbuf), &pkt), -EAGAIN);
		ASSERT_GE(vmbus_ring_recv_commit(&p.rd), 0);
		ASSERT_EQ(c->read_index, c->write_index);
		pair_close(&p);
	}
}

static void test_full(bool sc)
{
	struct pair p;
	struct vmbus_pkt pkt;
	static uint8_t data[SIZE];

	pair_open(&p, sc, NPAGES, 0);
	fill_pattern(data, sizeof(data), 3);

	/* A packet as big as the ring can never fit; one 8 bytes smaller can, once. */
	ASSERT_EQ(vmbus_ring_send_inband(&p.wr, 1, 0, data, SIZE - 24 + 8), -EMSGSIZE);
	ASSERT_EQ(vmbus_ring_send_inband(&p.wr, 1, 0, data, SIZE - 24), -EMSGSIZE);
	ASSERT_GE(vmbus_ring_send_inband(&p.wr, 1, 0, data, SIZE - 32), 0);
	ASSERT_EQ(vmbus_ring_bytes_to_write(&p.wr), 8);
	ASSERT_EQ(vmbus_ring_send_inband(&p.wr, 2, 0, NULL, 0), -EAGAIN);
	ASSERT_OK(vmbus_ring_recv(&p.rd, rxbuf, sizeof(rxbuf), &pkt));
	ASSERT_EQ(memcmp(pkt.payload, data, SIZE - 32), 0);
	ASSERT_GE(vmbus_ring_recv_commit(&p.rd), 0);

	/* Free space must stay strictly above the packet: with 4096 free, a
	 * 4096-byte packet is refused and a 4088-byte one accepted. */
	ASSERT_GE(vmbus_ring_send_inband(&p.wr, 3, 0, data, 4096 - 24), 0);
	ASSERT_EQ(vmbus_ring_bytes_to_write(&p.wr), 4096);
	ASSERT_EQ(vmbus_ring_send_inband(&p.wr, 4, 0, data, 4096 - 24), -EAGAIN);
	ASSERT_GE(vmbus_ring_send_inband(&p.wr, 5, 0, data, 4096 - 32), 0);
	ASSERT_EQ(vmbus_ring_bytes_to_write(&p.wr), 8);
	ASSERT_FALSE(vmbus_ring_is_broken(&p.wr));
	ASSERT_OK(vmbus_ring_recv(&p.rd, rxbuf, sizeof(rxbuf), &pkt));
	ASSERT_UEQ(pkt.trans_id, 3);
	ASSERT_OK(vmbus_ring_recv(&p.rd, rxbuf, sizeof(rxbuf), &pkt));
	ASSERT_UEQ(pkt.trans_id, 5);
	ASSERT_EQ(vmbus_ring_recv(&p.rd, rxbuf, sizeof(rxbuf), &pkt), -EAGAIN);
	ASSERT_GE(vmbus_ring_recv_commit(&p.rd), 0);

	/* Fill with equal packets: the count is what "free > size" allows. */
	uint32_t t = vmbus_ring_inband_size(100), expect = 0;
	for (uint32_t free = SIZE; free > t; free -= t)
		expect++;
	uint32_t sent = 0;
	while (vmbus_ring_send_inband(&p.wr, sent, 0, data, 100) >= 0)
		sent++;
	ASSERT_EQ(sent, expect);
	ASSERT_GT(vmbus_ring_bytes_to_write(&p.wr), 0);
	for (uint32_t i = 0; i < sent; i++) {
		ASSERT_OK(vmbus_ring_recv(&p.rd, rxbuf, sizeof(rxbuf), &pkt));
		ASSERT_UEQ(pkt.trans_id, i);
	}
	ASSERT_EQ(vmbus_ring_recv(&p.rd, rxbuf, sizeof(rxbuf), &pkt), -EAGAIN);
	pair_close(&p);
}

static void test_batch_commit(bool sc)
{
	struct pair p;
	struct vmbus_pkt pkt;
	uint8_t data[32] = {0};

	pair_open(&p, sc, NPAGES, 0);
	for (int i = 0; i < 3; i++)
		ASSERT_GE(vmbus_ring_send_inband(&p.wr, i, 0, data, 32), 0);
	struct vmbus_ring_control *c = test_ring_ctl(&p.m);
	for (int i = 0; i < 3; i++) {
		ASSERT_OK(vmbus_ring_recv(&p.rd, rxbuf, sizeof(rxbuf), &pkt));
		ASSERT_EQ(c->read_index, 0); /* nothing published mid-batch */
	}
	struct vmbus_ring_info info;
	vmbus_ring_get_info(&p.rd, &info);
	ASSERT_EQ(info.rd_next, 3 * vmbus_ring_inband_size(32));
	ASSERT_EQ(info.rd_committed, 0);
	ASSERT_EQ(info.write_index, 3 * vmbus_ring_inband_size(32));
	ASSERT_EQ(info.size, SIZE);
	ASSERT_EQ(vmbus_ring_recv_commit(&p.rd), 0);
	ASSERT_EQ(c->read_index, 3 * vmbus_ring_inband_size(32));
	vmbus_ring_get_info(&p.rd, &info);
	ASSERT_EQ(info.rd_committed, info.rd_next);
	ASSERT_EQ(info.read_index, info.rd_next);
	ASSERT_FALSE(info.broken);
	pair_close(&p);
}

/* ---- corrupt input: each case breaks the reader with a given error ---- */

enum corrupt_kind {
	CK_WR_UNALIGNED,
	CK_WR_OUT_OF_RANGE,
	CK_AVAIL_TOO_SMALL,
	CK_LEN_PAST_AVAIL,
	CK_READ_PAST_WRITE,
	CK_LEN8_ZERO,
	CK_LEN8_ONE,
	CK_OVERSIZED,
	CK_OFFSET8_PAST_LEN,
	CK_OFFSET8_IN_DESC,
	CK_FLAGS,
	CK_TYPE_SYNCH,
	CK_TYPE_GARBAGE,
	CK_GPA_COUNT_ZERO,
	CK_GPA_COUNT_HUGE,
	CK_GPA_COUNT_PAST,
	CK_GPA_BYTE_OFFSET,
	CK_GPA_BYTE_COUNT_ZERO,
	CK_GPA_PFNS_SHORT,
	CK_GPA_OFFSET8_IN_HDR,
	CK_XFER_COUNT_ZERO,
	CK_XFER_COUNT_HUGE,
	CK_XFER_COUNT_PAST,
	_CK_MAX,
};

static const struct {
	int err;
	const char *name;
} corrupt_expect[_CK_MAX] = {
	[CK_WR_UNALIGNED] = {-EPROTO, "write_index unaligned"},
	[CK_WR_OUT_OF_RANGE] = {-EPROTO, "write_index out of range"},
	[CK_AVAIL_TOO_SMALL] = {-EPROTO, "available < descriptor + trailer"},
	[CK_LEN_PAST_AVAIL] = {-EPROTO, "len8 past the available bytes"},
	[CK_READ_PAST_WRITE] = {-EBADMSG, "read_index past write_index"},
	[CK_LEN8_ZERO] = {-EBADMSG, "len8 = 0"},
	[CK_LEN8_ONE] = {-EBADMSG, "len8 < descriptor"},
	[CK_OVERSIZED] = {-EMSGSIZE, "packet larger than the caller's max"},
	[CK_OFFSET8_PAST_LEN] = {-EBADMSG, "offset8 > len8"},
	[CK_OFFSET8_IN_DESC] = {-EBADMSG, "offset8 < 2"},
	[CK_FLAGS] = {-EBADMSG, "unknown flag"},
	[CK_TYPE_SYNCH] = {-EBADMSG, "type SYNCH"},
	[CK_TYPE_GARBAGE] = {-EBADMSG, "type 0x4242"},
	[CK_GPA_COUNT_ZERO] = {-EBADMSG, "range_count 0"},
	[CK_GPA_COUNT_HUGE] = {-EBADMSG, "range_count huge"},
	[CK_GPA_COUNT_PAST] = {-EBADMSG, "ranges past offset8"},
	[CK_GPA_BYTE_OFFSET] = {-EBADMSG, "byte_offset 4096"},
	[CK_GPA_BYTE_COUNT_ZERO] = {-EBADMSG, "byte_count 0"},
	[CK_GPA_PFNS_SHORT] = {-EBADMSG, "byte_count needs more pfns"},
	[CK_GPA_OFFSET8_IN_HDR] = {-EBADMSG, "gpa offset8 inside header"},
	[CK_XFER_COUNT_ZERO] = {-EBADMSG, "xfer range_count 0"},
	[CK_XFER_COUNT_HUGE] = {-EBADMSG, "xfer range_count huge"},
	[CK_XFER_COUNT_PAST] = {-EBADMSG, "xfer ranges past offset8"},
};

static void patch16(struct pair *p, uint32_t pkt_off, uint32_t field_off, uint16_t v)
{
	test_ring_poke(&p->m, pkt_off + field_off, &v, 2);
}

static void patch32(struct pair *p, uint32_t pkt_off, uint32_t field_off, uint32_t v)
{
	test_ring_poke(&p->m, pkt_off + field_off, &v, 4);
}

static void test_corrupt(bool sc, enum corrupt_kind k, uint32_t start)
{
	struct pair p;
	struct vmbus_pkt pkt;
	uint8_t data[64] = {1, 2, 3};
	uint64_t pfns[2] = {5, 6};
	struct vmbus_ring_gpa g = {.byte_count = 100, .byte_offset = 4000, .pfn_count = 2,
				   .pfns = pfns};
	struct vmbus_xfer_page_range xr[2] = {{1, 2}, {3, 4}};
	struct vmbus_ring_control *c;
	size_t max = sizeof(rxbuf);

	pair_open(&p, sc, NPAGES, start);
	c = test_ring_ctl(&p.m);
	switch (k) {
	case CK_GPA_COUNT_ZERO ... CK_GPA_OFFSET8_IN_HDR:
		/* desc 16 | hdr 8 | range 8 | pfns 16 | payload 64 */
		ASSERT_GE(vmbus_ring_send_gpa_direct(&p.wr, 1, 0, &g, 1, data, 64), 0);
		break;
	case CK_XFER_COUNT_ZERO ... CK_XFER_COUNT_PAST:
		/* desc 16 | hdr 8 | ranges 16 | payload 64 */
		ASSERT_GE(vmbus_ring_send_xfer_pages(&p.wr, 1, 0, 9, true, xr, 2, data, 64), 0);
		break;
	default:
		ASSERT_GE(vmbus_ring_send_inband(&p.wr, 1, 0, data, 64), 0);
		break;
	}

	switch (k) {
	case CK_WR_UNALIGNED: c->write_index += 4; break;
	case CK_WR_OUT_OF_RANGE: c->write_index = SIZE; break;
	case CK_AVAIL_TOO_SMALL: c->write_index = (start + 16) % SIZE; break;
	case CK_LEN_PAST_AVAIL: c->write_index = (start + 80) % SIZE; break;
	case CK_READ_PAST_WRITE:
		/* The reader's index sits past the writer's: it meets zeroed bytes. */
		vmbus_ring_fini(&p.rd);
		c->read_index = (start + 1024) % SIZE;
		ASSERT_OK(vmbus_ring_init(&p.rd, p.m.control, p.m.pages, p.m.npages));
		break;
	case CK_LEN8_ZERO: patch16(&p, start, 4, 0); break;
	case CK_LEN8_ONE: patch16(&p, start, 4, 1); break;
	case CK_OVERSIZED: max = 72; break;
	case CK_OFFSET8_PAST_LEN: patch16(&p, start, 2, 11); break;
	case CK_OFFSET8_IN_DESC: patch16(&p, start, 2, 1); break;
	case CK_FLAGS: patch16(&p, start, 6, 2); break;
	case CK_TYPE_SYNCH: patch16(&p, start, 0, VMBUS_PKT_SYNCH); break;
	case CK_TYPE_GARBAGE: patch16(&p, start, 0, 0x4242); break;
	case CK_GPA_COUNT_ZERO: patch32(&p, start, 20, 0); break;
	case CK_GPA_COUNT_HUGE: patch32(&p, start, 20, 0xffffffffu); break;
	case CK_GPA_COUNT_PAST: patch32(&p, start, 20, 2); break;
	case CK_GPA_BYTE_OFFSET: patch32(&p, start, 28, 4096); break;
	case CK_GPA_BYTE_COUNT_ZERO: patch32(&p, start, 24, 0); break;
	case CK_GPA_PFNS_SHORT: patch32(&p, start, 24, 8192); break;
	case CK_GPA_OFFSET8_IN_HDR: patch16(&p, start, 2, 2); break;
	case CK_XFER_COUNT_ZERO: patch32(&p, start, 20, 0); break;
	case CK_XFER_COUNT_HUGE: patch32(&p, start, 20, 0x10000000u); break;
	case CK_XFER_COUNT_PAST: patch32(&p, start, 20, 3); break;
	default: ASSERT_TRUE(0);
	}

	int ret = vmbus_ring_recv(&p.rd, rxbuf, max, &pkt);
	if (ret != corrupt_expect[k].err)
		TEST_FAIL_("case '%s' at %u: got %d, want %d", corrupt_expect[k].name, start, ret,
			   corrupt_expect[k].err);
	ASSERT_TRUE(vmbus_ring_is_broken(&p.rd));
	ASSERT_TRUE(vmbus_ring_broken_reason(&p.rd) != NULL);
	struct vmbus_ring_info info;
	vmbus_ring_get_info(&p.rd, &info);
	ASSERT_TRUE(info.broken);
	ASSERT_STREQ(info.broken_reason, vmbus_ring_broken_reason(&p.rd));
	/* Sticky: even a repaired ring stays broken, and nothing is published. */
	uint32_t rd_before = c->read_index;
	c->write_index = 0;
	ASSERT_EQ(vmbus_ring_recv(&p.rd, rxbuf, sizeof(rxbuf), &pkt), -EPROTO);
	ASSERT_EQ(vmbus_ring_recv_commit(&p.rd), -EPROTO);
	ASSERT_EQ(vmbus_ring_unmask_interrupts(&p.rd), -EPROTO);
	ASSERT_EQ(c->read_index, rd_before);
	pair_close(&p);
}

static void test_writer_corrupt_read_index(bool sc)
{
	struct pair p;

	pair_open(&p, sc, NPAGES, 0);
	test_ring_ctl(&p.m)->read_index = 4;
	ASSERT_EQ(vmbus_ring_send_inband(&p.wr, 1, 0, NULL, 0), -EPROTO);
	ASSERT_TRUE(vmbus_ring_is_broken(&p.wr));
	test_ring_ctl(&p.m)->read_index = 0;
	ASSERT_EQ(vmbus_ring_send_inband(&p.wr, 1, 0, NULL, 0), -EPROTO);
	ASSERT_EQ(vmbus_ring_bytes_to_write(&p.wr), 0);
	pair_close(&p);
}

/* ---- signalling ---- */

static void test_signal_on_write(bool sc)
{
	/* {reader's interrupt_mask, packets already queued, expected signal} */
	static const struct {
		uint32_t mask;
		int queued;
		int signal;
	} cases[] = {
		{0, 0, 1}, /* empty -> non-empty, unmasked: signal */
		{1, 0, 0}, /* masked: the reader is draining, no signal */
		{0, 1, 0}, /* already non-empty: the reader was signalled before */
		{1, 1, 0},
		{0, 3, 0},
	};
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		struct pair p;
		uint8_t data[16] = {0};

		pair_open(&p, sc, NPAGES, 0);
		test_ring_ctl(&p.m)->interrupt_mask = 1;
		for (int q = 0; q < cases[i].queued; q++)
			ASSERT_EQ(vmbus_ring_send_inband(&p.wr, q, 0, data, 16), 0);
		test_ring_ctl(&p.m)->interrupt_mask = cases[i].mask;
		int ret = vmbus_ring_send_inband(&p.wr, 99, 0, data, 16);
		if (ret != cases[i].signal)
			TEST_FAIL_("case %zu: signal %d, want %d", i, ret, cases[i].signal);
		pair_close(&p);
	}

	/* A full cycle: drain + commit makes the ring empty again, and the next
	 * write signals again; a partly drained ring does not. */
	struct pair p;
	struct vmbus_pkt pkt;
	pair_open(&p, sc, NPAGES, 0);
	ASSERT_EQ(vmbus_ring_send_inband(&p.wr, 1, 0, NULL, 0), 1);
	ASSERT_EQ(vmbus_ring_send_inband(&p.wr, 2, 0, NULL, 0), 0);
	ASSERT_OK(vmbus_ring_recv(&p.rd, rxbuf, sizeof(rxbuf), &pkt));
	ASSERT_EQ(vmbus_ring_recv_commit(&p.rd), 0);
	ASSERT_EQ(vmbus_ring_send_inband(&p.wr, 3, 0, NULL, 0), 0);
	ASSERT_OK(vmbus_ring_recv(&p.rd, rxbuf, sizeof(rxbuf), &pkt));
	ASSERT_OK(vmbus_ring_recv(&p.rd, rxbuf, sizeof(rxbuf), &pkt));
	/* Read but not committed: the writer still sees a non-empty ring. */
	ASSERT_EQ(vmbus_ring_send_inband(&p.wr, 4, 0, NULL, 0), 0);
	ASSERT_OK(vmbus_ring_recv(&p.rd, rxbuf, sizeof(rxbuf), &pkt));
	ASSERT_EQ(vmbus_ring_recv_commit(&p.rd), 0);
	ASSERT_EQ(vmbus_ring_send_inband(&p.wr, 5, 0, NULL, 0), 1);
	pair_close(&p);
}

/* One packet in a batch that must not signal; the reader then takes it. */
static void batch_of_one_unsignalled(struct pair *p, uint64_t id)
{
	struct vmbus_pkt pkt;
	uint8_t data[16] = {0};

	vmbus_ring_batch_begin(&p->wr);
	ASSERT_EQ(vmbus_ring_send_inband(&p->wr, id, 0, data, 16), 0);
	ASSERT_EQ(vmbus_ring_batch_end(&p->wr), 0);
	ASSERT_OK(vmbus_ring_recv(&p->rd, rxbuf, sizeof(rxbuf), &pkt));
	ASSERT_EQ(vmbus_ring_recv_commit(&p->rd), 0);
}

/* Writer batching: nothing visible until the batch ends, then all of it with one signal
 * decision taken against the batch's start; a full ring inside a batch is still -EAGAIN. */
static void test_write_batch(bool sc)
{
	struct pair p;
	struct vmbus_pkt pkt;
	uint8_t data[16] = {0};

	pair_open(&p, sc, NPAGES, 0);
	ASSERT_EQ(vmbus_ring_batch_end(&p.wr), 0); /* no batch: nothing to do */
	vmbus_ring_batch_begin(&p.wr);
	ASSERT_TRUE(vmbus_ring_batch_open(&p.wr));
	for (int i = 0; i < 3; i++)
		ASSERT_EQ(vmbus_ring_send_inband(&p.wr, (uint64_t)i, 0, data, 16), 0);
	ASSERT_EQ(test_ring_ctl(&p.m)->write_index, 0);
	ASSERT_EQ(vmbus_ring_published(&p.wr), 0);
	ASSERT_EQ(vmbus_ring_recv(&p.rd, rxbuf, sizeof(rxbuf), &pkt), -EAGAIN);
	/* Empty before the batch, unmasked: one signal for the three. */
	ASSERT_EQ(vmbus_ring_batch_end(&p.wr), 1);
	ASSERT_FALSE(vmbus_ring_batch_open(&p.wr));
	ASSERT_EQ(test_ring_ctl(&p.m)->write_index, vmbus_ring_write_pos(&p.wr));
	ASSERT_EQ(vmbus_ring_published(&p.wr), vmbus_ring_write_pos(&p.wr));
	for (int i = 0; i < 3; i++) {
		ASSERT_OK(vmbus_ring_recv(&p.rd, rxbuf, sizeof(rxbuf), &pkt));
		ASSERT_EQ(pkt.trans_id, (uint64_t)i);
	}
	/* Not drained before the next batch: no signal. */
	batch_of_one_unsignalled(&p, 7);
	/* Drained, but masked: no signal; an empty batch publishes nothing. */
	test_ring_ctl(&p.m)->interrupt_mask = 1;
	vmbus_ring_batch_begin(&p.wr);
	ASSERT_EQ(vmbus_ring_batch_end(&p.wr), 0);
	batch_of_one_unsignalled(&p, 8);
	/* Filling the ring inside a batch: -EAGAIN once the unpublished bytes take the room. */
	test_ring_ctl(&p.m)->interrupt_mask = 0;
	vmbus_ring_batch_begin(&p.wr);
	int n = 0, r;
	while ((r = vmbus_ring_send_inband(&p.wr, (uint64_t)n, 0, data, 16)) == 0)
		n++;
	ASSERT_EQ(r, -EAGAIN);
	ASSERT_GT(n, 1);
	ASSERT_EQ(vmbus_ring_batch_end(&p.wr), 1);
	for (int i = 0; i < n; i++)
		ASSERT_OK(vmbus_ring_recv(&p.rd, rxbuf, sizeof(rxbuf), &pkt));
	ASSERT_EQ(vmbus_ring_recv(&p.rd, rxbuf, sizeof(rxbuf), &pkt), -EAGAIN);
	pair_close(&p);
}

static void test_mask_unmask(bool sc)
{
	struct pair p;
	struct vmbus_pkt pkt;

	pair_open(&p, sc, NPAGES, 0);
	vmbus_ring_mask_interrupts(&p.rd);
	ASSERT_EQ(test_ring_ctl(&p.m)->interrupt_mask, 1);
	/* Masked: a write into the empty ring does not signal. */
	ASSERT_EQ(vmbus_ring_send_inband(&p.wr, 1, 0, NULL, 0), 0);
	/* Unmasking finds the packet that came in meanwhile: drain again. */
	ASSERT_EQ(vmbus_ring_unmask_interrupts(&p.rd), 1);
	ASSERT_EQ(test_ring_ctl(&p.m)->interrupt_mask, 0);
	ASSERT_OK(vmbus_ring_recv(&p.rd, rxbuf, sizeof(rxbuf), &pkt));
	ASSERT_EQ(vmbus_ring_recv(&p.rd, rxbuf, sizeof(rxbuf), &pkt), -EAGAIN);
	ASSERT_EQ(vmbus_ring_recv_commit(&p.rd), 0);
	ASSERT_EQ(vmbus_ring_unmask_interrupts(&p.rd), 0);
	/* Now empty and unmasked: the next write signals. */
	ASSERT_EQ(vmbus_ring_send_inband(&p.wr, 2, 0, NULL, 0), 1);
	pair_close(&p);
}

/*
 * pending_send_sz: the reader signals after a commit only when free space
 * moves from <= pending to > pending. Each packet takes 1024 ring bytes; the
 * ring (8192) holds 7 of them (free 1024 left), the reader consumes `reads`.
 */
static void test_pending_send(bool sc)
{
	static const struct {
		uint32_t pending;
		uint32_t feature;
		int reads;
		int signal;
	} cases[] = {
		{0, 1, 3, 0},           /* writer did not ask */
		{2048, 0, 3, 0},        /* reader does not advertise the feature */
		{2048, 1, 1, 0},        /* free 1024 -> 2048: exactly pending is not enough */
		{2047, 1, 1, 1},        /* free 1024 -> 2048 > 2047: signal */
		{3072, 1, 1, 0},        /* free 2048 still <= 3072 */
		{3072, 1, 2, 0},        /* free 3072, not > 3072 */
		{3071, 1, 2, 1},        /* 1024 -> 3072 > 3071 */
		{1024, 1, 1, 1},        /* exactly the old free counts as "not enough" */
		{1023, 1, 1, 0},        /* there was enough before: no transition */
		{7168, 1, 6, 0},        /* free 7168, not > 7168 */
		{7160, 1, 6, 1},
		{8192 - 8, 1, 7, 1},    /* largest sensible request: signal when empty */
		{8191, 1, 7, 1},        /* unaligned requests work too */
	};
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		struct pair p;
		struct vmbus_pkt pkt;
		static uint8_t data[1024];
		int expect = cases[i].signal;

		pair_open(&p, sc, NPAGES, 0);
		struct vmbus_ring_control *c = test_ring_ctl(&p.m);
		for (int n = 0; n < 7; n++)
			ASSERT_GE(vmbus_ring_send_inband(&p.wr, n, 0, data, 1024 - 24), 0);
		ASSERT_EQ(vmbus_ring_send_inband(&p.wr, 8, 0, data, 1024 - 24), -EAGAIN);
		ASSERT_EQ(vmbus_ring_bytes_to_write(&p.wr), 1024);
		c->feature_bits = cases[i].feature;
		c->pending_send_sz = cases[i].pending;
		for (int n = 0; n < cases[i].reads; n++)
			ASSERT_OK(vmbus_ring_recv(&p.rd, rxbuf, sizeof(rxbuf), &pkt));
		int ret = vmbus_ring_recv_commit(&p.rd);
		if (ret != expect)
			TEST_FAIL_("case %zu (pending %u, reads %d): signal %d, want %d", i,
				   cases[i].pending, cases[i].reads, ret, expect);
		/* A second commit without new reads never signals. */
		ASSERT_EQ(vmbus_ring_recv_commit(&p.rd), 0);
		pair_close(&p);
	}

	/* The writer's side: asking when space is short returns 0 (wait), and 1
	 * when the space is already there; the crossing then signals once. */
	struct pair p;
	struct vmbus_pkt pkt;
	static uint8_t data[1024];
	pair_open(&p, sc, NPAGES, 0);
	for (int n = 0; n < 7; n++)
		ASSERT_GE(vmbus_ring_send_inband(&p.wr, n, 0, data, 1024 - 24), 0);
	uint32_t need = vmbus_ring_inband_size(1024 - 24);
	ASSERT_EQ(need, 1024);
	ASSERT_EQ(vmbus_ring_set_pending_send(&p.wr, need), 0);
	ASSERT_EQ(test_ring_ctl(&p.m)->pending_send_sz, need);
	ASSERT_OK(vmbus_ring_recv(&p.rd, rxbuf, sizeof(rxbuf), &pkt));
	ASSERT_EQ(vmbus_ring_recv_commit(&p.rd), 1);
	ASSERT_EQ(vmbus_ring_set_pending_send(&p.wr, need), 1);
	ASSERT_EQ(vmbus_ring_set_pending_send(&p.wr, 0), 0);
	ASSERT_EQ(test_ring_ctl(&p.m)->pending_send_sz, 0);
	ASSERT_GE(vmbus_ring_send_inband(&p.wr, 8, 0, data, 1024 - 24), 0);
	ASSERT_EQ(vmbus_ring_set_pending_send(&p.wr, SIZE), -EMSGSIZE);
	test_ring_ctl(&p.m)->feature_bits = 0;
	ASSERT_EQ(vmbus_ring_set_pending_send(&p.wr, need), -EOPNOTSUPP);
	pair_close(&p);
}

/*
 * pending_send_sz while a batch is open: the reader measures free space against the
 * write_index it sees, which does not count the batch yet. The writer fills the room the
 * reader made (unpublished), runs out and asks; the reader then drains the old packets
 * and the batch. Exactly one commit must signal, and the room is there when it does
 * (asking for the bytes alone let the crossing fall while the batch was unpublished, and
 * no commit after it signalled: the writer waited for ever).
 */
static void test_pending_send_in_batch(bool sc)
{
	struct pair p;
	struct vmbus_pkt pkt;
	static uint8_t data[1024];
	uint32_t need = vmbus_ring_inband_size(1024 - 24);
	int signals = 0;

	pair_open(&p, sc, NPAGES, 0);
	for (int n = 0; n < 7; n++)
		ASSERT_GE(vmbus_ring_send_inband(&p.wr, n, 0, data, 1024 - 24), 0);
	for (int n = 0; n < 3; n++) {
		ASSERT_OK(vmbus_ring_recv(&p.rd, rxbuf, sizeof(rxbuf), &pkt));
		ASSERT_EQ(vmbus_ring_recv_commit(&p.rd), 0);
	}
	vmbus_ring_batch_begin(&p.wr);
	for (int n = 0; n < 3; n++)
		ASSERT_EQ(vmbus_ring_send_inband(&p.wr, 10 + n, 0, data, 1024 - 24), 0);
	ASSERT_EQ(vmbus_ring_send_inband(&p.wr, 13, 0, data, 1024 - 24), -EAGAIN);
	ASSERT_EQ(vmbus_ring_set_pending_send(&p.wr, need), 0);
	for (int n = 0; n < 4; n++) {
		ASSERT_OK(vmbus_ring_recv(&p.rd, rxbuf, sizeof(rxbuf), &pkt));
		int s = vmbus_ring_recv_commit(&p.rd);
		ASSERT_GE(s, 0);
		if (s == 1) /* the writer is told: its packet fits now */
			ASSERT_EQ(vmbus_ring_set_pending_send(&p.wr, need), 1);
		signals += s;
	}
	(void)vmbus_ring_batch_end(&p.wr);
	for (int n = 0; n < 3; n++) {
		ASSERT_OK(vmbus_ring_recv(&p.rd, rxbuf, sizeof(rxbuf), &pkt));
		ASSERT_EQ(pkt.trans_id, (uint64_t)(10 + n));
		int s = vmbus_ring_recv_commit(&p.rd);
		ASSERT_GE(s, 0);
		signals += s;
	}
	ASSERT_EQ(signals, 1);
	/* A batch as large as the ring asks for no more than an empty ring gives. */
	ASSERT_EQ(vmbus_ring_set_pending_send(&p.wr, 0), 0);
	vmbus_ring_batch_begin(&p.wr);
	while (vmbus_ring_send_inband(&p.wr, 20, 0, data, 1024 - 24) == 0)
		;
	ASSERT_EQ(vmbus_ring_set_pending_send(&p.wr, need), 0);
	ASSERT_LT(test_ring_ctl(&p.m)->pending_send_sz, SIZE);
	ASSERT_EQ(vmbus_ring_batch_end(&p.wr), 1);
	pair_close(&p);
}

static void test_pair_layout(bool sc)
{
	struct test_ring_mem m;
	struct vmbus_ring host_in, host_out, guest_in, guest_out;
	struct vmbus_pkt pkt;
	void *gpadl[7];

	/* GPADL of 7 pages: g->h ring = pages 0..2, h->g ring = pages 3..6. */
	test_ring_mem_alloc(&m, 7, sc);
	for (int i = 0; i < 7; i++)
		gpadl[i] = m.pages[i];
	ASSERT_EQ(vmbus_ring_pair_init(&host_in, &host_out, gpadl, 7, 1, true), -EINVAL);
	ASSERT_EQ(vmbus_ring_pair_init(&host_in, &host_out, gpadl, 7, 6, true), -EINVAL);
	ASSERT_OK(vmbus_ring_pair_init(&guest_in, &guest_out, gpadl, 7, 3, false));
	vmbus_ring_reset(&guest_in);
	vmbus_ring_reset(&guest_out);
	ASSERT_EQ(((struct vmbus_ring_control *)gpadl[0])->feature_bits, 1);
	ASSERT_EQ(((struct vmbus_ring_control *)gpadl[3])->feature_bits, 1);
	ASSERT_OK(vmbus_ring_pair_init(&host_in, &host_out, gpadl, 7, 3, true));
	ASSERT_EQ(host_in.size, 2 * 4096);
	ASSERT_EQ(host_out.size, 3 * 4096);

	ASSERT_EQ(vmbus_ring_send_inband(&guest_out, 11, 1, "req", 3), 1);
	ASSERT_OK(vmbus_ring_recv(&host_in, rxbuf, sizeof(rxbuf), &pkt));
	ASSERT_EQ(memcmp(pkt.payload, "req", 3), 0);
	ASSERT_EQ(((struct vmbus_ring_control *)gpadl[0])->write_index, 32);
	ASSERT_EQ(vmbus_ring_send_completion(&host_out, pkt.trans_id, "resp", 4), 1);
	ASSERT_OK(vmbus_ring_recv(&guest_in, rxbuf, sizeof(rxbuf), &pkt));
	ASSERT_EQ(pkt.type, VMBUS_PKT_COMP);
	ASSERT_UEQ(pkt.trans_id, 11);
	ASSERT_EQ(((struct vmbus_ring_control *)gpadl[3])->write_index, 32);
	vmbus_ring_fini(&host_in);
	vmbus_ring_fini(&host_out);
	vmbus_ring_fini(&guest_in);
	vmbus_ring_fini(&guest_out);
	test_ring_mem_free(&m);
}

int main(void)
{
	test_layout();
	test_init_errors();
	for (int sc = 0; sc < 2; sc++) {
		test_empty(sc);
		test_all_types(sc);
		test_wrap_every_offset(sc, false);
		test_wrap_every_offset(sc, true);
		test_full(sc);
		test_batch_commit(sc);
		for (int k = 0; k < _CK_MAX; k++) {
			/* At offset 0, and where the packet straddles the wrap. */
			test_corrupt(sc, k, 0);
			test_corrupt(sc, k, SIZE - 16);
			test_corrupt(sc, k, SIZE - 24);
		}
		test_writer_corrupt_read_index(sc);
		test_signal_on_write(sc);
		test_mask_unmask(sc);
		test_write_batch(sc);
		test_pending_send(sc);
		test_pending_send_in_batch(sc);
		test_pair_layout(sc);
	}
	printf("ring: all cases passed\n");
	return 0;
}
