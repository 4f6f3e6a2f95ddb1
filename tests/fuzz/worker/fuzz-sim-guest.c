/* SPDX-License-Identifier: MIT */
/*
 * 'sim-guest': a byte stream read as a sequence of guest actions against the worker's VP
 * loop and SynIC on the sim backend, in this process. The control plane and the devices
 * are not here (they are separate servers: lib/vmbus has the 'vmbus-msg' target, vmbusd
 * 'vmbusd-peer', the ring 'ring-read'); in their place the target registers what they use
 * of the SynIC: message ports 1 and 4 that answer every guest message with a host message
 * to the posting VP (as vmbusd's relay does), and a doorbell event port with a host side
 * that sets SIEFP flags and raises the SINT (as a device does). Each input gets a fresh
 * worker whose guest first enables its SynIC the way Linux does; then each action is one
 * opcode byte and its operands:
 *
 *   0 post      sel(1) len(1) bytes(len)        HvPostMessage to port 1, 4 or none
 *   1 poke      off(2) len(1) bytes(len)        raw bytes into the guest's SIMP/SIEFP pages
 *   2 signal    which(1)                        HvSignalEvent: the doorbell's id or another
 *   3 event     flag(2)                         the host sets a SIEFP flag, raises the SINT
 *   4 message   len(1)                          the host posts a message of len bytes
 *   5 drain                                     take host messages (EOM after each)
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
#include <sys/eventfd.h>
#include <unistd.h>

#include "defs/hv_defs.h"
#include "log.h"
#include "sim_guest.h"
#include "sim_worker.h"
#include "vp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RAM (2ull << 20)
#define DOORBELL_CONN 0x2001u

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

/* The message ports: every guest message is answered to its VP, as vmbusd's relay does;
 * a full queue is the guest's to retry. */
static uint16_t echo_port(void *opaque, uint32_t vp, uint32_t connection_id, uint32_t message_type,
			  const uint8_t *payload, uint32_t len)
{
	struct hv_synic *s = opaque;
	int r = hv_synic_post_message(s, vp, HV_SYNIC_VMBUS_SINT, 1, payload, len);
	return r == -EAGAIN ? HV_STATUS_INSUFFICIENT_BUFFERS : HV_STATUS_SUCCESS;
}

static void drain(struct sim_guest *g)
{
	uint8_t msg[240];
	int r;

	for (int i = 0; i < 2 * HV_SYNIC_QUEUE_LEN; i++)
		if ((r = sim_guest_try_recv_msg(g, msg, sizeof(msg))) < 0)
			break;
	check(r);
}

static void run(struct sim_guest *g, struct hv_synic *s, struct in *in)
{
	static const uint32_t msrs[] = {HV_MSR_SIMP, HV_MSR_SIEFP, HV_MSR_SCONTROL,
					HV_MSR_SINT0 + 2, HV_MSR_EOM};
	uint8_t buf[240];
	uint8_t *pages = sim_guest_mem(g, (uint64_t)SIM_GUEST_PFN_SIMP(0) << 12, 2 * 4096);

	for (int steps = 0; in->n && steps < 256; steps++) {
		unsigned op = (unsigned)take(in, 1) % 8;
		switch (op) {
		case 0: {
			uint8_t sel = (uint8_t)take(in, 1);
			uint32_t len = (uint32_t)take(in, 1) % 241;
			uint32_t conn = sel % 3 == 0 ? 1 : sel % 3 == 1 ? 4 : sel;
			memset(buf, 0, sizeof(buf));
			for (uint32_t i = 0; i < len && in->n; i++)
				buf[i] = (uint8_t)take(in, 1);
			check(sim_guest_post_raw(g, conn, 1, len, buf, len));
			break;
		}
		case 1: {
			uint32_t off = (uint32_t)take(in, 2) % (2 * 4096);
			uint32_t len = (uint32_t)take(in, 1);
			for (uint32_t i = 0; i < len && in->n && off + i < 2 * 4096; i++)
				__atomic_store_n(&pages[off + i], (uint8_t)take(in, 1),
						 __ATOMIC_RELAXED);
			break;
		}
		case 2: {
			uint8_t which = (uint8_t)take(in, 1);
			check(sim_guest_signal(g, which & 1 ? DOORBELL_CONN : which));
			break;
		}
		case 3:
			(void)hv_synic_signal_event(s, 0, HV_SYNIC_VMBUS_SINT,
						    (uint32_t)take(in, 2) % 2048);
			break;
		case 4: {
			uint32_t len = (uint32_t)take(in, 1) % 241;
			memset(buf, 0x5a, sizeof(buf));
			(void)hv_synic_post_message(s, 0, HV_SYNIC_VMBUS_SINT, 1, buf, len);
			break;
		}
		case 5:
			drain(g);
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
	struct in in = {data, size};
	struct sim_worker *w = NULL;
	struct sim_guest *g = NULL;
	struct hv_synic *s;
	bool clean = false;
	int doorbell;

	log_set_level(getenv("SIM_FUZZ_VERBOSE") ? LOG_LEVEL_INFO : LOG_LEVEL_ERR);
	if (sim_worker_new(RAM, 1, &w) < 0)
		abort();
	s = sim_worker_partition(w)->synic;
	doorbell = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (doorbell < 0 || hv_synic_add_message_port(s, 1, echo_port, s) < 0 ||
	    hv_synic_add_message_port(s, 4, echo_port, s) < 0 ||
	    hv_synic_add_event_port(s, DOORBELL_CONN, doorbell) < 0 || sim_worker_start(w) < 0)
		abort();
	if (sim_guest_new(sim_worker_guest_socket(w, 0), &g) < 0 || sim_guest_synic_enable(g) < 0)
		abort();

	run(g, s, &in);

	w = sim_worker_stop(w, &clean);
	g = sim_guest_free(g);
	close(doorbell);
	if (!clean)
		abort(); /* a VP stopped: nothing a guest does here may do that */
	return 0;
}
