/* SPDX-License-Identifier: MIT */
/*
 * A guest for the sim backend (sim_proto.h): the Hyper-V view a Linux guest has of one VP
 * (MSRs, hypercalls, the SIMP/SIEFP pages, SINT interrupts) and, on top, the VMBus
 * sequence of Linux's hv_vmbus: INITIATE_CONTACT newest version first with fallback,
 * REQUESTOFFERS, GPADL header + bodies, OPENCHANNEL, ring traffic with lib/ring's guest
 * side, CLOSECHANNEL and GPADL_TEARDOWN. The raw calls (sim_guest_post, the ring structs,
 * guest RAM itself) stay available, so tests can script hostile guests as well.
 *
 * Guest memory layout the library uses (page numbers in guest RAM):
 *   SIM_GUEST_PFN_SIMP(vp), _SIEFP(vp), _INPUT(vp): each VP's SynIC message and event
 *   pages and hypercall input page (VPs 0 .. SIM_GUEST_MAX_VPS - 1)
 *   from SIM_GUEST_PFN_FREE on: ring pages, handed out by the caller.
 *
 * Every wait gives up after SIM_GUEST_WAIT_MS with -ETIMEDOUT: a guard against a hung test,
 * never a measurement. Functions return 0, a positive value or -errno. Not thread-safe.
 */
#ifndef MHCL_TEST_SIM_GUEST_H
#define MHCL_TEST_SIM_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "defs/vmbus_defs.h"
#include "guestmem.h"
#include "vmbus_ring.h"

#define SIM_GUEST_MAX_VPS 5u
#define SIM_GUEST_PFN_SIMP(vp) (0x10u + 3u * (vp))
#define SIM_GUEST_PFN_SIEFP(vp) (0x11u + 3u * (vp))
#define SIM_GUEST_PFN_INPUT(vp) (0x12u + 3u * (vp))
#define SIM_GUEST_PFN_FREE 0x20u
#define SIM_GUEST_SINT_VECTOR 0xf3u
#define SIM_GUEST_WAIT_MS 20000
#define SIM_GUEST_MAX_OFFERS 64

struct sim_guest {
	int sock;
	uint32_t vp;
	struct guestmem ram; /* guest physical [0, ram.map_len), mapped from the sim backend */
	uint64_t sints;	     /* SINT notes received */
	uint32_t pending;    /* SINT notes not yet waited for */
	uint32_t eoi_due;    /* SINTs whose notes still need an EOI (bit per SINT) */
	/* VMBus */
	uint32_t version;     /* negotiated, 0 = none */
	uint32_t msg_conn_id; /* where channel messages go */
	uint32_t next_gpadl;
	struct vmbus_msg_offer_channel offers[SIM_GUEST_MAX_OFFERS];
	unsigned noffers;
};

/* One opened channel: a ring GPADL over pages [first_pfn, first_pfn + npages). */
struct sim_guest_chan {
	uint32_t relid;
	uint32_t conn_id; /* HvSignalEvent connection id from the offer */
	uint32_t gpadl;
	uint64_t first_pfn;
	uint32_t npages, send_pages; /* guest->host ring: the first send_pages pages */
	struct vmbus_ring out;	     /* guest -> host */
	struct vmbus_ring in;	     /* host -> guest */
	uint64_t pkt[512];	     /* receive buffer (4 KiB) */
};

/* Takes ownership of sock; asks for guest RAM and maps it. -ERANGE for a VP index at or
 * above SIM_GUEST_MAX_VPS. */
int sim_guest_new(int sock, struct sim_guest **ret);
struct sim_guest *sim_guest_free(struct sim_guest *g);

/* Raw VP operations. */
int sim_guest_wrmsr(struct sim_guest *g, uint32_t msr, uint64_t value);
int sim_guest_rdmsr(struct sim_guest *g, uint32_t msr, uint64_t *ret_value);
/* Returns RAX (the hypercall result) or -errno. */
int64_t sim_guest_hypercall(struct sim_guest *g, uint64_t control, uint64_t input, uint64_t output);
/* Waits for one SINT note (returns at once if one is pending). */
int sim_guest_wait_sint(struct sim_guest *g);
/* Guest physical memory: a pointer for [gpa, gpa + len), NULL outside RAM. */
void *sim_guest_mem(struct sim_guest *g, uint64_t gpa, uint64_t len);

/* SIMP, SIEFP, SINT2 (unmasked) and SCONTROL, as hv_synic_enable_regs does. */
int sim_guest_synic_enable(struct sim_guest *g);
/* HvPostMessage(connection_id, message type 1, msg) through the input page. Returns the
 * hypercall status. len may be anything up to 240; larger values are sent as given in
 * payload_size (hostile guests), with at most 240 bytes copied. */
int sim_guest_post_raw(struct sim_guest *g, uint32_t connection_id, uint32_t message_type,
		       uint32_t payload_size, const void *msg, size_t len);
int sim_guest_post(struct sim_guest *g, const void *msg, size_t len);
/* HvSignalEvent (fast) on connection_id. Returns the status. */
int sim_guest_signal(struct sim_guest *g, uint32_t connection_id);
/* Takes the next host message from the SIMP slot (waiting for it), acknowledging it as
 * Linux does (message_type 0, then EOM if msg_pending). Returns the payload length. */
int sim_guest_recv_msg(struct sim_guest *g, void *buf, size_t cap);
/* As sim_guest_recv_msg without waiting: -EAGAIN when the slot is empty. The SIMP page
 * must be where sim_guest_synic_enable put it. */
int sim_guest_try_recv_msg(struct sim_guest *g, void *buf, size_t cap);
/* As sim_guest_recv_msg, skipping nothing: -EPROTO if the next message is not `type`. */
int sim_guest_expect_msg(struct sim_guest *g, uint32_t type, void *buf, size_t cap);

/* VMBus, as Linux 6.1 does it. */
/* Tries each version until one is accepted; returns it, or -ENOTCONN if none was. */
int sim_guest_vmbus_connect(struct sim_guest *g, const uint32_t *versions, unsigned n);
/* The list Linux 6.1 tries, newest first. */
int sim_guest_vmbus_connect_linux(struct sim_guest *g);
/* REQUESTOFFERS; collects offers up to ALLOFFERS_DELIVERED. Returns how many. */
int sim_guest_request_offers(struct sim_guest *g);
/* The offer with class GUID type, or NULL. */
const struct vmbus_msg_offer_channel *sim_guest_find_offer(const struct sim_guest *g,
							   const struct hv_guid *type);
/* GPADL_HEADER + GPADL_BODY over npages PFNs (any values: hostile guests pass PFNs outside
 * RAM). Returns GPADL_CREATED's status (0 = created) and the handle in *ret_gpadl. */
int sim_guest_gpadl(struct sim_guest *g, uint32_t relid, const uint64_t *pfns, uint32_t npages,
		    uint32_t *ret_gpadl);
/* OPENCHANNEL; returns OPEN_RESULT's status. */
int sim_guest_open(struct sim_guest *g, uint32_t relid, uint32_t gpadl, uint32_t downstream,
		   uint32_t target_vp);
int sim_guest_close(struct sim_guest *g, uint32_t relid);
/* GPADL_TEARDOWN; waits for GPADL_TORNDOWN. */
int sim_guest_teardown(struct sim_guest *g, uint32_t relid, uint32_t gpadl);

/* Ring set-up (guest side, rings reset), GPADL over the ring pages and OPENCHANNEL.
 * Returns OPEN_RESULT's status (0 = open) or -errno. */
int sim_guest_chan_open(struct sim_guest *g, const struct vmbus_msg_offer_channel *offer,
			uint64_t first_pfn, uint32_t npages, uint32_t send_pages,
			struct sim_guest_chan *ret);
/* CLOSECHANNEL, GPADL_TEARDOWN and ring release. */
int sim_guest_chan_close(struct sim_guest *g, struct sim_guest_chan *c);
/* Sends one in-band packet, signalling the host when the ring asks for it. */
int sim_guest_chan_send(struct sim_guest *g, struct sim_guest_chan *c, uint64_t trans_id,
			const void *data, uint32_t len);
/* Receives the next packet of the host->guest ring, waiting for the host's signal. */
int sim_guest_chan_recv(struct sim_guest *g, struct sim_guest_chan *c, struct vmbus_pkt *ret_pkt);

/* The guest side of an IC channel (hv_utils): answers the host's NEGOTIATE with the
 * highest framework/message versions it knows, and echoes heartbeats with seq + 1.
 * Receives one packet, answers it and returns the IC message type it answered, or -errno. */
int sim_guest_ic_answer(struct sim_guest *g, struct sim_guest_chan *c, uint64_t *ret_seq);

#endif
