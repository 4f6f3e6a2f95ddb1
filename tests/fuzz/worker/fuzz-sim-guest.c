/* SPDX-License-Identifier: MIT */
/*
 * 'sim-guest': a byte stream read as a sequence of guest actions against the real worker
 * (VP loop, SynIC, in-process VMBus control plane, heartbeat device) on the sim backend.
 * Each input gets a fresh worker whose guest first connects, collects offers and opens
 * the heartbeat channel the way Linux does; then each action is one opcode byte and its
 * operands:
 *
 *   0 post      conn(1) len(1) bytes(len)       HvPostMessage of a channel message
 *   1 ringpoke  off(2) len(1) bytes(len)        raw bytes into the channel's ring pages
 *   2 signal    which(1)                        HvSignalEvent: the channel's id or another
 *   3 index     which(1) value(4)               write/read index of either ring
 *   4 send      len(2) bytes(min(len, rest))    a well-formed packet on the guest ring
 *   5 drain                                     take host messages and host packets
 *   6 msr       which(1) value(8)               SIMP, SIEFP, SCONTROL, SINT2, EOM
 *   7 hypercall control(4) input(8)             any hypercall (RCX low 32 bits, RDX)
 *
 * The worker must answer every action (a timeout or hang-up means it died) and its VPs
 * must still be running at the end.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "defs/hv_defs.h"
#include "log.h"
#include "sim_guest.h"
#include "sim_worker.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RAM (2ull << 20)
#define RING_PAGES 8u

struct in {
	const uint8_t *p;
	size_t n;
};

static uint64_t take(struct in *in, unsigned bytes)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < bytes && in->n; i++, in->n--)
		v |= (uint64_t)*in->p++ << (8 * i);
	return v;
}

/* A guest call the worker failed to answer: the worker is dead or hung. */
static void check(int r)
{
	if (r == -ETIMEDOUT || r == -ECONNRESET || r == -EPIPE)
		abort();
}

static void drain(struct sim_guest *g, struct sim_guest_chan *c)
{
	uint8_t msg[240];
	struct vmbus_pkt pkt;
	int r;

	while ((r = sim_guest_try_recv_msg(g, msg, sizeof(msg))) >= 0)
		;
	check(r);
	for (int i = 0; i < 16 && vmbus_ring_recv(&c->in, c->pkt, sizeof(c->pkt), &pkt) == 0; i++)
		;
	(void)vmbus_ring_recv_commit(&c->in);
}

static void run(struct sim_guest *g, struct sim_guest_chan *c, struct in *in)
{
	static const uint32_t msrs[] = {HV_MSR_SIMP, HV_MSR_SIEFP, HV_MSR_SCONTROL,
					HV_MSR_SINT0 + 2, HV_MSR_EOM};
	uint8_t buf[4096];
	uint8_t *ring = sim_guest_mem(g, c->first_pfn << 12, RING_PAGES * 4096);

	for (int steps = 0; in->n && steps < 256; steps++) {
		unsigned op = (unsigned)take(in, 1) % 8;
		switch (op) {
		case 0: {
			uint8_t sel = (uint8_t)take(in, 1);
			uint32_t len = (uint32_t)take(in, 1) % 241;
			uint32_t conn = sel % 3 == 0 ? g->msg_conn_id : sel % 3 == 1 ? 1 : 4;
			memset(buf, 0, 240);
			for (uint32_t i = 0; i < len && in->n; i++)
				buf[i] = (uint8_t)take(in, 1);
			check(sim_guest_post_raw(g, conn, 1, len, buf, len));
			break;
		}
		case 1: {
			uint32_t off = (uint32_t)take(in, 2) % (RING_PAGES * 4096);
			uint32_t len = (uint32_t)take(in, 1);
			for (uint32_t i = 0; i < len && in->n && off + i < RING_PAGES * 4096; i++)
				__atomic_store_n(&ring[off + i], (uint8_t)take(in, 1), __ATOMIC_RELAXED);
			break;
		}
		case 2: {
			uint8_t which = (uint8_t)take(in, 1);
			check(sim_guest_signal(g, which & 1 ? c->conn_id : which));
			break;
		}
		case 3: {
			uint8_t which = (uint8_t)take(in, 1);
			uint32_t v = (uint32_t)take(in, 4);
			uint32_t page = which & 1 ? c->send_pages : 0;
			uint32_t *word = (uint32_t *)(ring + (size_t)page * 4096) + (which >> 1) % 4;
			__atomic_store_n(word, v, __ATOMIC_RELEASE);
			break;
		}
		case 4: {
			uint32_t len = (uint32_t)take(in, 2) % sizeof(buf);
			uint32_t n = 0;
			for (; n < len && in->n; n++)
				buf[n] = (uint8_t)take(in, 1);
			if (n)
				check(sim_guest_chan_send(g, c, n, buf, n));
			break;
		}
		case 5:
			drain(g, c);
			break;
		case 6: {
			uint32_t msr = msrs[take(in, 1) % (sizeof(msrs) / sizeof(msrs[0]))];
			check(sim_guest_wrmsr(g, msr, take(in, 8)));
			break;
		}
		case 7: {
			uint64_t code = take(in, 4);
			uint64_t input = take(in, 8);
			check((int)sim_guest_hypercall(g, code, input, 0));
			break;
		}
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct hv_guid hb_type = HV_GUID_IC_HEARTBEAT;
	struct in in = {data, size};
	struct sim_worker *w = NULL;
	struct sim_guest *g = NULL;
	struct sim_guest_chan c;
	bool clean = false;
	int r;

	log_set_level(getenv("SIM_FUZZ_VERBOSE") ? LOG_LEVEL_INFO : LOG_LEVEL_ERR);
	r = sim_worker_start(RAM, 1, true, &w);
	if (r == -EOPNOTSUPP)
		return 0; /* built without the in-process VMBus control plane */
	if (r < 0)
		abort();
	if (sim_guest_new(sim_worker_guest_socket(w, 0), &g) < 0 || sim_guest_synic_enable(g) < 0 ||
	    sim_guest_vmbus_connect_linux(g) < 0 || sim_guest_request_offers(g) < 1)
		abort();
	const struct vmbus_msg_offer_channel *hb = sim_guest_find_offer(g, &hb_type);
	if (!hb || sim_guest_chan_open(g, hb, SIM_GUEST_PFN_FREE, RING_PAGES, 4, &c) != 0)
		abort();

	run(g, &c, &in);

	w = sim_worker_stop(w, &clean);
	vmbus_ring_fini(&c.in);
	vmbus_ring_fini(&c.out);
	g = sim_guest_free(g);
	if (!clean)
		abort(); /* a VP stopped: nothing a guest does here may do that */
	return 0;
}
