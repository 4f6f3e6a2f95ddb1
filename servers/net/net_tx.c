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

/* The frame as an iovec, with an 802.1Q tag put in after the MAC addresses when the
 * guest asked for one in the per-packet info (tag: 16 bytes of scratch). */
static int frame_iov(const struct iovec *msg, int cnt, const struct rndis_tx *tx, uint8_t *tag,
		     struct iovec *out)
{
	if (!tx->has_vlan)
		return net_iov_slice(msg, cnt, tx->frame_offset, tx->frame_len, out, NET_TX_IOV);
	if (tx->frame_len < ETH_ADDRS_LEN + 2u ||
	    net_iov_read(msg, cnt, tx->frame_offset, tag, ETH_ADDRS_LEN) != ETH_ADDRS_LEN)
		return -EBADMSG;
	tag[ETH_ADDRS_LEN] = ETH_P_8021Q >> 8;
	tag[ETH_ADDRS_LEN + 1] = ETH_P_8021Q & 0xff;
	tag[ETH_ADDRS_LEN + 2] = (uint8_t)(tx->vlan_tci >> 8);
	tag[ETH_ADDRS_LEN + 3] = (uint8_t)tx->vlan_tci;
	out[0] = (struct iovec){tag, ETH_ADDRS_LEN + VLAN_TAG_LEN};
	int r = net_iov_slice(msg, cnt, tx->frame_offset + ETH_ADDRS_LEN,
			      tx->frame_len - ETH_ADDRS_LEN, out + 1, NET_TX_IOV - 1);
	return r < 0 ? r : r + 1;
}

static int send_frame(struct net_chan *ch, const struct iovec *iov, int cnt, uint32_t total,
		      uint32_t *status)
{
	struct net_nic *n = ch->nic;
	struct rndis_tx tx;
	struct iovec fiov[NET_TX_IOV];
	uint8_t tag[16];
	const char *why = "?";
	uint32_t head =
	    net_iov_read(iov, cnt, 0, n->head, total < NET_TX_HEAD ? total : NET_TX_HEAD);
	uint32_t max_frame = n->cfg.rndis.mtu + 14u;

	int r = rndis_parse_packet(n->head, head, total, max_frame, &n->st->rndis, &tx, &why);
	if (r < 0) {
		ch->drops[r == -EMSGSIZE ? NET_DROP_TOO_BIG : NET_DROP_BAD_RNDIS]++;
		ch->last_error = why;
		log_warn("net channel relid %u: refused an RNDIS data packet: %s", ch->relid, why);
		*status = NETVSP_STATUS_FAILURE;
		return 0;
	}
	int fcnt = frame_iov(iov, cnt, &tx, tag, fiov);
	if (fcnt < 0) {
		ch->drops[NET_DROP_BAD_RNDIS]++;
		ch->last_error = "the frame does not fit its message";
		log_warn("net channel relid %u: refused an RNDIS data packet: %s", ch->relid,
			 ch->last_error);
		*status = NETVSP_STATUS_FAILURE;
		return 0;
	}
	r = net_tap_send(n->tap, ch->index % n->nqueues, fiov, fcnt, &tx.offload);
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
	}
	*status = NETVSP_STATUS_SUCCESS;
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
		log_warn("net channel relid %u: refused an RNDIS control message: %s", ch->relid,
			 ch->last_error);
		*status = NETVSP_STATUS_FAILURE;
		return;
	}
	uint32_t len = rndis_control(&n->cfg.rndis, &n->st->rndis, &c, answer, &note);
	log_debug("net channel relid %u: RNDIS %s oid %#x%s%s", ch->relid, rndis_msg_name(c.type),
		  c.oid, note ? ": " : "", note ? note : "");
	if (len && !net_rx_message(ch, answer, len))
		log_warn("net channel relid %u: no room to answer RNDIS %s", ch->relid,
			 rndis_msg_name(c.type));
	*status = NETVSP_STATUS_SUCCESS;
}

int net_tx_rndis(struct net_chan *ch, const struct vmbus_pkt *pkt, const struct netvsp_msg *m,
		 uint32_t *status)
{
	struct iovec iov[NET_TX_IOV];
	uint32_t total = 0;
	const char *why = NULL;

	int cnt = message_iov(ch, pkt, m, iov, &total, &why);
	if (cnt < 0) {
		ch->refused++;
		ch->last_error = why;
		log_warn("net channel relid %u: refused an RNDIS message: %s", ch->relid, why);
		*status = NETVSP_STATUS_FAILURE;
		return 0;
	}
	uint32_t type = 0;
	uint8_t first[8];
	if (net_iov_read(iov, cnt, 0, first, sizeof(first)) == sizeof(first))
		type = rndis_msg_type(first, sizeof(first));
	if (type == RNDIS_MSG_PACKET) {
		if (!ch->nic->st->rndis.initialized) {
			ch->drops[NET_DROP_NOT_READY]++;
			*status = NETVSP_STATUS_SUCCESS;
			return 0;
		}
		return send_frame(ch, iov, cnt, total, status);
	}
	control_message(ch, iov, cnt, total, status);
	return 0;
}
