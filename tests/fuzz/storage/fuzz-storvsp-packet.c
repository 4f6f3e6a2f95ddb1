/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target 'storvsp-packet': a hostile guest's packets on a storage channel, through
 * the real path: written into a ring, read back by lib/ring's reader, parsed by
 * storvsp_parse and, for the control operations, run through the init state machine;
 * every answer is built. Invariants: a parsed SRB's data buffer is within the advertised
 * maximum, its PFN list within the packet, and the answer never exceeds 64 bytes.
 *
 * Input: records of
 *   u8 kind (bit 0: GPA direct), u8 payload length (0..96),
 *   u32 byte_count, u16 byte_offset, u8 pfn count (0..80), then the payload bytes and
 *   the PFNs (8 bytes each).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "storvsp.h"
#include "vmbus_ring.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RING_PAGES 4u

static void check(const struct vmbus_pkt *pkt, struct stor_ctrl_rec *rec)
{
	struct storvsp_req req;
	const char *why = NULL;
	if (storvsp_parse(pkt, (uint16_t)rec->version, &req, &why) < 0) {
		if (!why)
			abort();
		return;
	}
	if (req.size != 48 && req.size != 64)
		abort();
	if (req.byte_count > STOR_MAX_TRANSFER || req.npfns > STOR_MAX_PFNS)
		abort();
	if (req.npfns) {
		volatile uint64_t sink = 0;
		for (uint32_t i = 0; i < req.npfns; i++)
			sink += req.pfns[i]; /* inside the packet buffer: ASan checks */
		(void)sink;
	}
	struct storvsp_packet ans;
	if (req.op != STORVSP_OP_EXECUTE_SRB) {
		struct storvsp_init_answer a;
		storvsp_init_op(rec, &req, true, 3, &a);
		if (a.grant_subchannels > 3)
			abort();
	}
	storvsp_answer(&req, 0, &ans);
	storvsp_srb_result(&ans, 1, 2, (const uint8_t *)"0123456789abcdefghij", 20, 512,
			   (uint16_t)rec->version);
	if (storvsp_answer_size(&req, (uint16_t)rec->version) > sizeof(ans))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint64_t buf[8192 / 8];
	uint8_t *mem = aligned_alloc(4096, (RING_PAGES + 1) * 4096);
	struct vmbus_ring w, r;
	struct stor_ctrl_rec *rec = calloc(1, sizeof(*rec));
	size_t off = 0;

	if (!mem || !rec)
		abort();
	memset(mem, 0, (RING_PAGES + 1) * 4096);
	if (vmbus_ring_init_flat(&w, mem, (RING_PAGES + 1) * 4096) < 0 ||
	    vmbus_ring_init_flat(&r, mem, (RING_PAGES + 1) * 4096) < 0)
		abort();
	vmbus_ring_reset(&w);
	while (size - off >= 9) {
		const uint8_t *h = data + off;
		uint8_t kind = h[0], plen = h[1] % 97, npfns = h[8] % 81;
		uint32_t count;
		uint16_t boff;
		memcpy(&count, h + 2, 4);
		memcpy(&boff, h + 6, 2);
		off += 9;
		if (size - off < plen + (size_t)npfns * 8)
			break;
		const uint8_t *payload = data + off;
		uint64_t pfns[80];
		memcpy(pfns, data + off + plen, (size_t)npfns * 8);
		off += plen + (size_t)npfns * 8;
		int s;
		if (kind & 1) {
			struct vmbus_ring_gpa g = {count, boff & 0xfffu, npfns, pfns};
			s = vmbus_ring_send_gpa_direct(&w, 1, 1, &g, 1, payload, plen);
		} else {
			s = vmbus_ring_send_inband(&w, 1, 1, payload, plen);
		}
		if (s < 0)
			continue;
		struct vmbus_pkt pkt;
		if (vmbus_ring_recv(&r, buf, sizeof(buf), &pkt) == 0)
			check(&pkt, rec);
		(void)vmbus_ring_recv_commit(&r);
	}
	vmbus_ring_fini(&w);
	vmbus_ring_fini(&r);
	free(mem);
	free(rec);
	return 0;
}
