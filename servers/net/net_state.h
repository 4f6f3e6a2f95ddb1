/* SPDX-License-Identifier: MIT */
/*
 * mhcl-netd's crash-consistent state: one memfd that init keeps ("net-state"), mapped
 * shared and written as the protocol and the data path move, so that the next instance,
 * after a planned restart or a kill -9, carries on where this one stopped without the
 * guest noticing (no renegotiation, no link down).
 *
 * What must survive: the negotiated NVSP/NDIS versions, the receive and send buffers
 * (GPADL ids and geometry), the RNDIS state (rndis.h), the sub-channels granted, and which
 * receive sub-allocations the guest still holds (it acks each transfer-page packet; until
 * then the host must not write there). Each channel has two one-packet journals for the
 * only steps a process can die in the middle of:
 *
 *   rx   a received frame is written into a free sub-allocation, the journal names it
 *        and where its transfer-page packet will end in the host->guest ring, the packet
 *        is written, the sub-allocation is marked held, the journal is cleared. Adopting
 *        a journal: if write_index sits at its end the guest has the packet (held),
 *        else the sub-allocation is free.
 *   tx   a guest packet is copied out and handled (a frame goes to the backend), the
 *        journal names where it sat in the guest->host ring and where its completion
 *        will end, the completion is written, read_index moves past the packet, the
 *        journal is cleared. Adopting a journal whose completion was written but whose
 *        packet is still at read_index: skip the packet; otherwise the packet is handled
 *        again (a frame may reach the backend twice, which a network tolerates; the guest
 *        never sees a completion twice). The guest's ack of a receive is committed
 *        before its sub-allocation is freed, and the journal names it, so an ack is
 *        neither lost nor applied twice.
 *
 * Only this binary reads the layout; the magic refuses another build's.
 */
#ifndef MHCL_NET_NET_STATE_H
#define MHCL_NET_NET_STATE_H

#include <assert.h>
#include <stdint.h>

#include "rndis.h"
#include "srv_state.h"

#define NET_STATE_MAGIC 0x6d68634e65743031ull /* "mhcNet01": bump when the layout changes */
#define NET_MAX_CHANNELS 16u		      /* the primary and up to 15 sub-channels */
/* Receive sub-allocations the host tracks: 16 MiB of guest buffer in 2 KiB pieces. */
#define NET_MAX_SUBALLOCS 8192u

struct net_rx_journal {
	uint32_t suballoc; /* index + 1 being handed over, 0 = none */
	uint32_t out_end;  /* where its packet ends in the host->guest ring */
};

struct net_tx_journal {
	uint32_t active;	       /* 1 while the steps run */
	uint32_t ring_start, ring_end; /* the packet in the guest->host ring */
	uint32_t out_end;	       /* its completion's end in the host->guest ring, 0 = none */
	uint32_t ack;		       /* the guest's ack of this sub-allocation (+ 1), 0 = none */
	uint32_t reserved;
};

struct net_chan_rec {
	struct net_rx_journal rx;
	struct net_tx_journal tx;
};

struct net_state {
	struct srv_state_hdr hdr;
	uint32_t nvsp_version; /* 0 until INIT succeeded */
	uint32_t ndis_major, ndis_minor;
	uint32_t mtu;	     /* from SEND_NDIS_CONFIG (0 = not sent) */
	uint32_t recv_gpadl; /* 0 = none */
	uint32_t recv_suballoc_size, recv_suballocs;
	uint32_t send_gpadl; /* 0 = none */
	uint32_t send_section_size, send_sections;
	uint32_t subchannels; /* granted and offered */
	uint32_t reserved;
	struct rndis_state rndis;
	struct net_chan_rec chan[NET_MAX_CHANNELS];
	uint64_t held[NET_MAX_SUBALLOCS / 64]; /* bit = the guest holds that sub-allocation */
};
static_assert(sizeof(struct net_state) % 8 == 0, "the state stays 8-byte aligned");

#endif
