/* SPDX-License-Identifier: MIT */
/*
 * The guest's RNDIS messages: data packets go to the backend straight from the guest's
 * pages (the RNDIS header and per-packet info are copied out and checked first; the
 * frame bytes are only passed on), control messages are copied out whole and answered
 * through the receive buffer.
 */
#include "net_nic_internal.h"

#include <errno.h>
#include <string.h>

#include "defs/netvsp_defs.h"
#include "guestmem.h"

#define ETH_ADDRS_LEN 12u
#define VLAN_TAG_LEN 4u
#define ETH_P_8021Q 0x8100u

/* The RNDIS message of a page-buffer packet: its ranges as one iovec. */
static int gpa_iov(struct net_chan *ch, const struct vmbus_pkt *pkt, struct iovec *iov, int max,
		   uint32_t *total)
{
	const struct guestmem *gm = vmbusdev_chan_guestmem(ch->dev);
	struct vmbus_gpa_iter it;
	uint32_t count, offset, npfns;
	const uint64_t *pfns;
	int n = 0;

	*total = 0;
	if (!gm)
		return -EFAULT;
	vmbus_gpa_iter_init(&it, pkt);
	while (vmbus_gpa_iter_next(&it, &count, &offset, &pfns, &npfns)) {
		if (n == max)
			return -ENOBUFS;
		int r = guestmem_iov(gm, pfns, npfns, offset, count, iov + n, (size_t)(max - n));
		if (r < 0)
			return r;
		n += r;
		*total += count;
		if (*total > NET_MAX_GSO_FRAME + NET_TX_HEAD)
			return -EMSGSIZE;
	}
	return n;
}

/* The RNDIS message of a SEND_RNDIS_PKT: in a send-buffer section or in the packet's
 * page ranges. Entries used, or -errno with *why. */
static int message_iov(struct net_chan *ch, const struct vmbus_pkt *pkt, const struct netvsp_msg *m,
		       struct iovec *iov, uint32_t *total, const char **why)
{
	struct net_nic *n = ch->nic;
	uint32_t idx = m->u.rndis.section_index;

	if (idx == NETVSP_NO_SECTION) {
		if (pkt->type != VMBUS_PKT_DATA_USING_GPA_DIRECT) {
			*why = "an RNDIS message in neither a section nor page ranges";
			return -EBADMSG;
		}
		int r = gpa_iov(ch, pkt, iov, NET_TX_IOV, total);
		if (r < 0)
			*why = "the RNDIS message's pages are outside guest RAM or too many";
		return r;
	}
	if (!n->send.gpadl || idx >= n->st->send_sections) {
		*why = "a send-buffer section outside the send buffer";
		return -ERANGE;
	}
	uint32_t len = m->u.rndis.section_size;
	if (len == 0 || len > n->st->send_section_size) {
		*why = "a send-buffer message longer than its section";
		return -ERANGE;
	}
	*total = len;
	int r = net_buf_iov(&n->send, idx * n->st->send_section_size, len, iov, NET_TX_IOV);
	if (r < 0)
		*why = "a send-buffer section outside the send buffer";
	return r;
}

/* Bytes of the frame copied to finish its headers (Ethernet, IP with options, TCP). */
#define NET_TX_FIX_MAX 192u

/*
 * The frame as an iovec. What the host must change in it is done on a private copy of its
 * first bytes, never in guest memory (which the guest may change meanwhile): the IP
 * header an LSO frame leaves unfinished, and the 802.1Q tag the guest asked for in the
 * per-packet info (inserted after the MAC addresses, which moves the checksum start).
 */
static int frame_iov(const struct iovec *msg, int cnt, struct rndis_tx *tx, uint8_t *fix,
		     struct iovec *out, const char **why)
{
	bool lso = tx->offload.gso_type != NET_GSO_NONE;
	if (!tx->has_vlan && !lso && !tx->ip_hdr_csum)
		return net_iov_slice(msg, cnt, tx->frame_offset, tx->frame_len, out, NET_TX_IOV);

	uint32_t h = tx->offload.csum_start + 64u;
	if (h > NET_TX_FIX_MAX - VLAN_TAG_LEN)
		h = NET_TX_FIX_MAX - VLAN_TAG_LEN;
	if (h > tx->frame_len)
		h = tx->frame_len;
	if (h < ETH_ADDRS_LEN + 2u || net_iov_read(msg, cnt, tx->frame_offset, fix, h) != h) {
		*why = "the frame is shorter than its Ethernet header";
		return -EBADMSG;
	}
	if ((lso || tx->ip_hdr_csum) && rndis_tx_fix_headers(fix, h, tx, why) < 0)
		return -EBADMSG;
	uint32_t used = h;
	if (tx->has_vlan) {
		memmove(fix + ETH_ADDRS_LEN + VLAN_TAG_LEN, fix + ETH_ADDRS_LEN, h - ETH_ADDRS_LEN);
		fix[ETH_ADDRS_LEN] = ETH_P_8021Q >> 8;
		fix[ETH_ADDRS_LEN + 1] = ETH_P_8021Q & 0xff;
		fix[ETH_ADDRS_LEN + 2] = (uint8_t)(tx->vlan_tci >> 8);
		fix[ETH_ADDRS_LEN + 3] = (uint8_t)tx->vlan_tci;
		used += VLAN_TAG_LEN;
		if (tx->offload.flags & NET_OFFLOAD_CSUM)
			tx->offload.csum_start += VLAN_TAG_LEN;
		if (tx->offload.hdr_len)
			tx->offload.hdr_len += VLAN_TAG_LEN;
	}
	out[0] = (struct iovec){fix, used};
	if (h == tx->frame_len)
		return 1;
	int r = net_iov_slice(msg, cnt, tx->frame_offset + h, tx->frame_len - h, out + 1,
			      NET_TX_IOV - 1);
	return r < 0 ? r : r + 1;
}

/* One RNDIS PACKET message (iov, total bytes) to the backend. */
static int send_frame(struct net_chan *ch, const struct iovec *iov, int cnt, uint32_t total,
		      uint32_t *status)
{
	struct net_nic *n = ch->nic;
	struct rndis_tx tx;
	struct iovec fiov[NET_TX_IOV];
	uint8_t fix[NET_TX_FIX_MAX];
	const char *why = "?";
	uint32_t head =
	    net_iov_read(iov, cnt, 0, n->head, total < NET_TX_HEAD ? total : NET_TX_HEAD);
	uint32_t max_frame = n->cfg.rndis.mtu + 14u;

	int r = rndis_parse_packet(n->head, head, total, max_frame, &n->st->rndis, &tx, &why);
	int fcnt = r < 0 ? r : frame_iov(iov, cnt, &tx, fix, fiov, &why);
	if (fcnt < 0) {
		ch->drops[r == -EMSGSIZE ? NET_DROP_TOO_BIG : NET_DROP_BAD_RNDIS]++;
		ch->last_error = why;
		net_chan_warn(ch, "refused an RNDIS data packet: %s", why);
		*status = NETVSP_STATUS_FAILURE;
		return 0;
	}
	r = net_backend_send(n->be, ch->index % n->nqueues, fiov, fcnt, &tx.offload);
	if (r == -EAGAIN) {
		ch->backend_full++;
		return -EAGAIN;
	}
	if (r < 0) {
		/* A NIC drops what the wire refuses; the guest's send still completes. */
		ch->drops[NET_DROP_BACKEND]++;
		ch->last_error = "the backend refused a frame";
	} else {
		ch->tx_packets++;
		ch->tx_bytes += tx.frame_len;
		if (net_capture_armed(n->capture))
			net_capture_frame(n->capture, fiov, fcnt,
					  tx.frame_len + (tx.has_vlan ? VLAN_TAG_LEN : 0u));
	}
	return 0;
}

static void control_message(struct net_chan *ch, const struct iovec *iov, int cnt, uint32_t total,
			    uint32_t *status)
{
	struct net_nic *n = ch->nic;
	struct rndis_ctl c;
	uint8_t answer[RNDIS_MAX_RESPONSE];
	const char *why = NULL, *note = NULL;

	ch->control++;
	if (total > sizeof(n->ctl) || net_iov_read(iov, cnt, 0, n->ctl, total) != total ||
	    rndis_parse_ctl(n->ctl, total, &c, &why) < 0) {
		ch->refused++;
		ch->last_error = why ? why : "an RNDIS control message over 4 KiB";
		net_chan_warn(ch, "refused an RNDIS control message: %s", ch->last_error);
		*status = NETVSP_STATUS_FAILURE;
		return;
	}
	uint32_t len = rndis_control(&n->cfg.rndis, &n->st->rndis, &c, answer, &note);
	log_debug("net channel relid %u: RNDIS %s oid %#x%s%s", ch->relid, rndis_msg_name(c.type),
		  c.oid, note ? ": " : "", note ? note : "");
	if (len && !net_rx_message(ch, answer, len))
		net_chan_warn(ch, "no room to answer RNDIS %s", rndis_msg_name(c.type));
	*status = NETVSP_STATUS_SUCCESS;
}

/*
 * One RNDIS message of a SEND_RNDIS_PKT's batch. -EAGAIN: the backend is full.
 */
static int one_message(struct net_chan *ch, const struct iovec *iov, int cnt, uint32_t len,
		       uint32_t type, uint32_t *status)
{
	if (type != RNDIS_MSG_PACKET) {
		control_message(ch, iov, cnt, len, status);
		return 0;
	}
	if (!ch->nic->st->rndis.initialized) {
		ch->drops[NET_DROP_NOT_READY]++;
		return 0;
	}
	return send_frame(ch, iov, cnt, len, status);
}

int net_tx_rndis(struct net_chan *ch, const struct vmbus_pkt *pkt, const struct netvsp_msg *m,
		 uint32_t *status)
{
	struct iovec iov[NET_TX_IOV], one[NET_TX_IOV];
	uint32_t total = 0;
	const char *why = NULL;

	*status = NETVSP_STATUS_SUCCESS;
	int cnt = message_iov(ch, pkt, m, iov, &total, &why);
	if (cnt < 0) {
		ch->refused++;
		ch->last_error = why;
		net_chan_warn(ch, "refused an RNDIS message: %s", why);
		*status = NETVSP_STATUS_FAILURE;
		return 0;
	}
	/* Linux batches several messages in one send-buffer section (INIT_COMPLETE allows
	 * 8), each msg_len long, padding included. ch->tx_at resumes a batch the backend
	 * stopped half way. */
	while (ch->tx_at + 8u <= total) {
		uint8_t first[8];
		uint32_t at = ch->tx_at;
		(void)net_iov_read(iov, cnt, at, first, sizeof(first));
		uint32_t type = rndis_msg_type(first, sizeof(first));
		uint32_t len = (uint32_t)first[4] | (uint32_t)first[5] << 8 |
			       (uint32_t)first[6] << 16 | (uint32_t)first[7] << 24;
		if (type != RNDIS_MSG_PACKET) {
			/* Never batched: rndis_parse_ctl judges its own lengths. */
			len = total - at;
		} else if (len < 8u || len > total - at) {
			ch->drops[NET_DROP_BAD_RNDIS]++;
			ch->last_error = "an RNDIS message longer than what holds it";
			net_chan_warn(ch, "refused an RNDIS data packet: %s", ch->last_error);
			*status = NETVSP_STATUS_FAILURE;
			break;
		}
		int n = net_iov_slice(iov, cnt, at, len, one, NET_TX_IOV);
		int r = n < 0 ? n : one_message(ch, one, n, len, type, status);
		if (r == -EAGAIN)
			return r;
		ch->tx_at = at + len;
		if (type != RNDIS_MSG_PACKET)
			break; /* control messages are never batched */
	}
	ch->tx_at = 0;
	return 0;
}
