/* SPDX-License-Identifier: MIT */
/*
 * What net_nic.c (channels, NVSP), net_tx.c (guest packets) and net_rx.c (frames to the
 * guest) share. Not for other files.
 */
#ifndef MHCL_NET_NET_NIC_INTERNAL_H
#define MHCL_NET_NET_NIC_INTERNAL_H

#include "busy_poll.h"
#include "log_limit.h"
#include "net_buf.h"
#include "net_nic.h"
#include "netvsp.h"

/* The largest guest packet taken from a ring (NVSP message and up to 64 page ranges). */
#define NET_PKT_BUF 4096u
/* Bytes of an RNDIS data message copied out to parse its header and per-packet info. */
#define NET_TX_HEAD 512u
/* The largest RNDIS control message accepted (RSS parameters are about 600 bytes). */
#define NET_CTL_MAX 4096u
#define NET_TX_IOV 80u
/* Frames moved per wake-up before yielding to the loop. */
#define NET_RX_BUDGET 64u
/* The receive sub-allocation: a header for the RNDIS message, then the frame. */
#define NET_RX_FRAME_AT RNDIS_RX_HEADER_MAX
#define NET_SEND_SECTION 6144u

/* Why a frame or packet was dropped (inspect shows each). */
enum net_drop {
	NET_DROP_NOT_READY,    /* the guest has no receive buffer or filter yet */
	NET_DROP_NO_BUFFER,    /* every sub-allocation is held by the guest */
	NET_DROP_TOO_BIG,      /* a frame over the MTU either way */
	NET_DROP_BAD_RNDIS,    /* a guest data message that lies */
	NET_DROP_BACKEND,      /* the backend refused the frame */
	NET_DROP_CONTROL_LOST, /* no room to answer a control message */
	_NET_DROP_MAX,
};

struct net_chan {
	struct net_nic *nic;
	unsigned index; /* 0 = primary */
	struct vmbusdev_chan *dev;
	struct net_chan_rec *rec;
	bool open;
	uint32_t relid;
	struct vmbus_ring *in, *out;
	/* A guest packet whose frame the backend could not take yet (EAGAIN): retried when
	 * the queue is writable. */
	bool tx_wait;
	bool tx_wait_ready; /* the queue said it is writable again */
	uint32_t tx_at;	    /* where in the pending batch to go on */
	uint32_t pending_start;
	struct vmbus_pkt pending;
	/* A completion waiting for room in the host->guest ring. */
	bool comp_wait;
	uint64_t comp_trans_id;
	uint8_t comp[NETVSP_MSG_SIZE];
	struct busy_poll_entry poll; /* polled (guest signals masked) while busy */
	/* Adopted: the packet at this read position was answered by the last instance. */
	bool skip;
	uint32_t skip_at;
	/* Counters, kept across opens. */
	uint64_t tx_packets, tx_bytes, rx_packets, rx_bytes, control, acks;
	uint64_t drops[_NET_DROP_MAX];
	uint64_t refused, signals, signal_failures, ring_full, backend_full, skipped, replayed;
	const char *last_error;
	struct log_limit log_limit; /* what a hostile guest makes the channel log */
	uint64_t pktbuf[NET_PKT_BUF / 8];
};

/* A backend queue and what waits on it. */
struct net_queue {
	struct net_nic *nic;
	unsigned index;
	uv_poll_t poll;
	int events;	       /* what poll watches now */
	bool rx_stalled;       /* no sub-allocation or ring room: resume when one frees */
	unsigned rx_batch;     /* frames the next backend read asks for (net_rx.c) */
	unsigned rx_batch_max; /* the config's, clamped */
	uint64_t rx_reads;     /* backend reads for the guest (a batch is one) */
	uint64_t rx_frames;    /* frames, good or bad, those reads brought */
	uint32_t tx_waiters;   /* channels (bit per index) waiting to send on it */
};

struct net_nic {
	struct vmbusdev *v;
	uv_loop_t *loop;
	struct busy_poll *poll; /* the server's, borrowed */
	struct net_nic_config cfg;
	struct hv_guid instance;
	struct net_state *st;
	struct net_backend *be;
	unsigned nqueues;
	struct net_queue queues[NET_MAX_CHANNELS];
	struct net_chan *chans[NET_MAX_CHANNELS];
	unsigned nchans; /* described to vmbusdev */
	bool quiescing;
	unsigned closing;	     /* queue polls whose close callback has not run yet */
	struct net_capture *capture; /* mhcl net capture, or NULL */
	struct net_buf recv, send;
	uint32_t *free_subs; /* stack of free receive sub-allocations */
	uint32_t nfree_subs;
	uint8_t ctl[NET_CTL_MAX]; /* scratch: a control message copied out */
	uint8_t head[NET_TX_HEAD];
};

/* A warning a guest can trigger: rate limited per channel (log_limit.h). */
#define net_chan_warn(ch, fmt, ...)                                                                \
	do {                                                                                       \
		uint64_t held_;                                                                    \
		if (log_limit_pass(&(ch)->log_limit, &held_))                                      \
			log_warn("net channel relid %u: " fmt "%s", (ch)->relid, ##__VA_ARGS__,    \
				 held_ ? " (and earlier ones not logged)" : "");                   \
	} while (0)

/* net_nic.c */
void net_chan_signal(struct net_chan *ch);
void net_chan_drain(struct net_chan *ch);
void net_queue_update(struct net_queue *q);
bool net_held(const struct net_nic *n, uint32_t sub);
/* Sends an NVSP completion (or keeps it for when the ring has room). false = must wait. */
bool net_send_completion(struct net_chan *ch, uint64_t trans_id, const uint8_t *msg);

/* net_tx.c: one guest SEND_RNDIS_PKT. Returns 0 with *status for the completion, or
 * -EAGAIN when the backend queue is full (retry the same packet later). */
int net_tx_rndis(struct net_chan *ch, const struct vmbus_pkt *pkt, const struct netvsp_msg *m,
		 uint32_t *status);

/* net_rx.c */
void net_rx_setup(struct net_nic *n); /* the receive buffer is (re)mapped: rebuild the free list */
void net_rx_ack(struct net_chan *ch, uint64_t trans_id);
void net_rx_queue(struct net_queue *q); /* the queue is readable */
/* Sends one RNDIS message (a control answer or an indication) to the guest on ch.
 * false when no sub-allocation or ring room was there (counted). */
bool net_rx_message(struct net_chan *ch, const uint8_t *msg, uint32_t len);
/* Adopting: settles ch's receive journal (net_state.h). */
void net_rx_adopt(struct net_chan *ch);

#endif
