/* SPDX-License-Identifier: MIT */
/*
 * The guest side of a VMBus synthetic NIC, as Linux 6.1's hv_netvsc drives it, on a sim
 * guest (sim_guest.h): NVSP INIT with version fallback, NDIS config and version, the
 * receive buffer (id 0xCAFE) and send buffer GPADLs, RNDIS control messages sent through
 * send-buffer sections, RNDIS answers and frames received as transfer-page packets inside
 * the receive buffer (each acked with a completion echoing its trans_id), vRSS
 * sub-channels, and frames sent in a section or as GPA-direct page ranges.
 *
 * Frames that arrive while a helper waits for something else are kept (up to
 * SIM_NET_QUEUE) for sim_net_recv_frame. The raw senders stay available for hostile
 * tests. Used by the network integration test and the network benchmark.
 */
#ifndef MHCL_TEST_SIM_NETVSC_H
#define MHCL_TEST_SIM_NETVSC_H

#include <stdbool.h>
#include <stdint.h>

#include "defs/netvsp_defs.h"
#include "defs/rndis_defs.h"
#include "sim_guest.h"

#define SIM_NET_MAX_CHANS 8u
#define SIM_NET_FRAME_MAX 2048u /* an RNDIS message received (MTU 1500 frames fit) */
#define SIM_NET_QUEUE 256u
#define SIM_NET_MAX_SECTIONS 512u
/* trans_ids of sends the library tracks (sections); callers use ids below this. */
#define SIM_NET_SECTION_ID 0x5EC7000000000000ull

/* What came in on a channel. */
enum sim_net_kind {
	SIM_NET_COMPLETION = 1, /* a completion: trans_id, nvsp */
	SIM_NET_RNDIS,		/* an RNDIS message in the receive buffer (acked) */
	SIM_NET_INBAND,		/* a host inband packet (nvsp) */
};

struct sim_net_msg {
	enum sim_net_kind kind;
	unsigned chan;
	uint64_t trans_id;
	struct netvsp_message nvsp;
	uint32_t len;	 /* RNDIS: bytes in data */
	uint32_t offset; /* RNDIS: where it was in the receive buffer */
	uint8_t data[SIM_NET_FRAME_MAX];
};

struct sim_net_frame {
	unsigned chan;
	uint32_t len;
	uint32_t csum_info; /* the TCPIP_CHKSUM per-packet info, 0 if none */
	uint8_t data[SIM_NET_FRAME_MAX];
};

struct sim_net {
	struct sim_guest *g;
	struct sim_guest_chan ch[SIM_NET_MAX_CHANS]; /* 0 = primary */
	unsigned nchans;			     /* opened */
	uint32_t nvsp_version;
	/* The buffers: guest pages and what the host made of them. */
	uint64_t recv_pfn, send_pfn;
	uint32_t recv_pages, send_pages;
	uint32_t recv_gpadl, send_gpadl;
	uint32_t sub_alloc_size, num_sub_allocs;
	uint32_t section_size, sections;
	bool section_busy[SIM_NET_MAX_SECTIONS];
	uint32_t sections_busy, next_section;
	uint32_t last_comp_status; /* of the last section send completed */
	uint32_t failed_sends;	   /* section sends completed with a failure status */
	/* RNDIS */
	uint32_t req_id;
	uint32_t max_frame;
	uint8_t mac[6];
	uint32_t link_speed;
	struct ndis_offload hwcaps;
	uint32_t hwcaps_len;
	uint32_t rss_queues;
	/* Behaviour */
	bool no_ack; /* leave received RNDIS messages unacked (hostile tests) */
	/* Frames seen while waiting for something else. */
	struct sim_net_frame *queue; /* SIM_NET_QUEUE entries */
	unsigned qhead, qlen;
	uint64_t dropped;     /* frames the queue had no room for */
	uint64_t indications; /* RNDIS INDICATE_STATUS seen */
	struct sim_net_msg scratch;
};

/* Opens the primary channel of offer on ring pages [first_pfn, first_pfn + npages),
 * send_pages of them guest->host. 0 or the open status / -errno. */
int sim_net_open(struct sim_guest *g, const struct vmbus_msg_offer_channel *offer,
		 uint64_t first_pfn, uint32_t npages, uint32_t send_pages, struct sim_net *n);
/* Closes every channel; frees the queue. */
void sim_net_close(struct sim_net *n);

/* Raw: one NVSP message (len bytes, any) as an inband packet on channel c. */
int sim_net_send_raw(struct sim_net *n, unsigned c, uint64_t trans_id, bool want_completion,
		     const void *msg, uint32_t len);
/* Raw: a completion packet (type 0xB) on channel c, as the guest acks a receive. */
int sim_net_send_ack(struct sim_net *n, unsigned c, uint64_t trans_id, uint32_t status);
/* Raw: an NVSP message with GPA ranges on channel c. */
int sim_net_send_gpa(struct sim_net *n, unsigned c, uint64_t trans_id, const void *msg,
		     uint32_t len, const struct vmbus_ring_gpa *ranges, uint32_t nranges);

/* The next packet on channel c: 0 and *m, -EAGAIN when none is there (wait = false), or
 * -errno. RNDIS messages are acked (unless no_ack); completions of section sends free
 * their section (and are returned too). */
int sim_net_poll(struct sim_net *n, unsigned c, bool wait, struct sim_net_msg *m);
/* Waits (bounded) until one of the channels has something to read. */
int sim_net_wait(struct sim_net *n);
/* Sends an NVSP message with completion requested and waits for its completion (frames
 * meanwhile are queued). 0 (the completion in *ans, which may be NULL) or -errno. */
int sim_net_request(struct sim_net *n, unsigned c, const struct netvsp_message *req,
		    struct netvsp_message *ans);

/* Linux's NVSP sequence: INIT (0x60001, then older), NDIS_CONFIG, NDIS_VERSION, the
 * receive buffer over recv_pages pages at recv_pfn (id 0xCAFE), the send buffer over
 * send_pages at send_pfn. Returns the negotiated version or -errno. */
int sim_net_init_nvsp(struct sim_net *n, uint64_t recv_pfn, uint32_t recv_pages, uint64_t send_pfn,
		      uint32_t send_pages);

/* Raw: an RNDIS message (len bytes) into a free send-buffer section, as SEND_RNDIS_PKT
 * with channel_type; the completion is reaped by sim_net_poll. section_size as given
 * (hostile tests lie). Returns the section used or -errno (-EAGAIN: none free). */
int sim_net_send_section(struct sim_net *n, unsigned c, uint32_t channel_type, const void *msg,
			 uint32_t len);
/* Raw: SEND_RNDIS_PKT naming any section index and size, with completion requested. */
int sim_net_send_rndis_pkt(struct sim_net *n, unsigned c, uint64_t trans_id, uint32_t channel_type,
			   uint32_t index, uint32_t size);
/* Sends an RNDIS control message (its request id is set here) and waits for the host's
 * answer with that request id: its length in *ans (ans_cap bytes) or -errno. */
int sim_net_rndis_request(struct sim_net *n, void *req, uint32_t len, uint8_t *ans,
			  uint32_t ans_cap);
/* QUERY oid: the status; the information buffer into info (cap bytes), its length in
 * *info_len. SET oid: the status. */
int sim_net_query(struct sim_net *n, uint32_t oid, void *info, uint32_t cap, uint32_t *info_len);
int sim_net_set(struct sim_net *n, uint32_t oid, const void *info, uint32_t len);
/* Linux's RNDIS sequence: INIT, QUERY MAXIMUM_FRAME_SIZE, PERMANENT_ADDRESS,
 * FRIENDLY_NAME, TCP_OFFLOAD_HARDWARE_CAPABILITIES, SET TCP_OFFLOAD_PARAMETERS (checksums
 * and LSO on), QUERY MEDIA_CONNECT_STATUS, LINK_SPEED, RECEIVE_SCALE_CAPABILITIES; then
 * SET CURRENT_PACKET_FILTER (directed | broadcast | all multicast). 0 or -errno. */
int sim_net_init_rndis(struct sim_net *n);

/* NVSP SUBCHANNEL allocate(num) on the primary; then the granted sub-channel offers.
 * Returns how many were granted or -errno; the offers in ret_offers (index - 1). */
int sim_net_subchannels(struct sim_net *n, uint32_t num,
			struct vmbus_msg_offer_channel *ret_offers);
/* Opens a granted sub-channel as channel number offer->sub_channel_index. */
int sim_net_open_sub(struct sim_net *n, const struct vmbus_msg_offer_channel *offer,
		     uint64_t first_pfn, uint32_t npages, uint32_t send_pages);

/* Offloads asked for in the per-packet info of a frame the guest sends. */
struct sim_net_tx {
	bool csum; /* TCPIP_CHKSUM with csum_v */
	uint32_t csum_v;
	bool lso; /* TCP_LARGESEND with lso_v */
	uint32_t lso_v;
};

/* The RNDIS_MSG_PACKET for a frame into out (cap bytes): header, per-packet info, frame.
 * Returns its length or -EMSGSIZE. */
int sim_net_build_packet(uint8_t *out, uint32_t cap, const void *frame, uint32_t len,
			 const struct sim_net_tx *tx);
/* Sends a frame in a send-buffer section on channel c (-EAGAIN: no free section or ring
 * room; reap completions with sim_net_poll). */
int sim_net_send_frame(struct sim_net *n, unsigned c, const void *frame, uint32_t len,
		       const struct sim_net_tx *tx);
/* Sends a frame as a GPA-direct packet: its RNDIS message is written to guest pages from
 * pfn on, one range per page as Linux does. The completion carries trans_id. */
int sim_net_send_frame_gpa(struct sim_net *n, unsigned c, uint64_t trans_id, uint64_t pfn,
			   const void *frame, uint32_t len, const struct sim_net_tx *tx);
/* Waits until every section send has completed. Returns how many failed, or -errno. */
int sim_net_flush(struct sim_net *n);

/* The next received frame (from the queue first, then any channel), waiting when wait.
 * 0, -EAGAIN (none and !wait) or -errno. */
int sim_net_recv_frame(struct sim_net *n, bool wait, struct sim_net_frame *f);

/* Frame builders for tests: an Ethernet + IPv4 + UDP frame (addresses host order) into f
 * (14 + 28 + len bytes, returned). csum_partial: the UDP checksum holds only the
 * pseudo-header sum, for the host to finish (checksum offload); else it is complete. */
struct sim_net_udp {
	const uint8_t *dst, *src; /* MACs */
	uint32_t sip, dip;
	uint16_t sport, dport;
};
uint32_t sim_net_udp_frame(uint8_t *f, const struct sim_net_udp *u, const void *data, uint32_t len,
			   bool csum_partial);

#endif
