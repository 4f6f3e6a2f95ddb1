/* SPDX-License-Identifier: MIT */
/*
 * Frames to the guest: each received frame goes straight from the backend into a free
 * sub-allocation of the guest's receive buffer (no bounce copy), behind the RNDIS header
 * written in front of it, and is announced with a transfer-page packet whose trans_id
 * names the sub-allocation; the guest's ack frees it again. A queue with no free
 * sub-allocation or no ring room stops reading: its frames wait in the backend.
 */
#include "net_nic_internal.h"

#include <errno.h>
#include <string.h>

#include "defs/netvsp_defs.h"

/* The pieces of guest memory one sub-allocation may span (its pages). */
#define RX_IOV 4

static void set_held(struct net_nic *n, uint32_t sub, bool held)
{
	uint64_t bit = 1ull << (sub % 64u);
	uint64_t *w = &n->st->held[sub / 64u];
	srv_state_publish(w, held ? (*w | bit) : (*w & ~bit));
}

bool net_held(const struct net_nic *n, uint32_t sub)
{
	return sub < NET_MAX_SUBALLOCS && (n->st->held[sub / 64u] >> (sub % 64u)) & 1u;
}

void net_rx_setup(struct net_nic *n)
{
	n->nfree_subs = 0;
	/* Pushed high to low so the lowest is used first (easier to read in a dump). */
	for (uint32_t i = n->st->recv_suballocs; i-- > 0;)
		if (!net_held(n, i))
			n->free_subs[n->nfree_subs++] = i;
}

static void resume_queues(struct net_nic *n)
{
	for (unsigned q = 0; q < n->nqueues; q++) {
		if (n->queues[q].rx_stalled) {
			n->queues[q].rx_stalled = false;
			net_queue_update(&n->queues[q]);
		}
	}
}

void net_rx_ack(struct net_chan *ch, uint64_t trans_id)
{
	struct net_nic *n = ch->nic;
	uint64_t sub = trans_id - 1u;

	if (trans_id == 0 || sub >= n->st->recv_suballocs || !net_held(n, (uint32_t)sub)) {
		ch->refused++;
		ch->last_error = "an ack for a receive the guest does not hold";
		net_chan_warn(ch, "refused an ack (trans_id %#llx): %s",
			      (unsigned long long)trans_id, ch->last_error);
		return;
	}
	ch->acks++;
	set_held(n, (uint32_t)sub, false);
	n->free_subs[n->nfree_subs++] = (uint32_t)sub;
	if (n->nfree_subs == 1 || n->nfree_subs == n->st->recv_suballocs / 2)
		resume_queues(n);
}

/* Room in ch's host->guest ring for one transfer-page packet; else asks the guest to
 * signal once there is. */
static bool ring_room(struct net_chan *ch)
{
	uint32_t need = vmbus_ring_xfer_size(1, NETVSP_MSG_SIZE);
	if (vmbus_ring_bytes_to_write(ch->out) > need)
		return true;
	ch->ring_full++;
	return vmbus_ring_set_pending_send(ch->out, need) == 1;
}

/* Announces sub-allocation sub (message at off, len bytes) to the guest on ch. */
static bool announce(struct net_chan *ch, uint32_t sub, uint32_t off, uint32_t len,
		     uint32_t channel_type)
{
	struct net_nic *n = ch->nic;
	struct vmbus_xfer_page_range range = {.byte_count = len, .byte_offset = off};
	uint8_t msg[NETVSP_MSG_SIZE];

	netvsp_build_rndis_pkt(msg, channel_type);
	ch->rec->rx.out_end = vmbus_ring_advance(ch->out, vmbus_ring_write_pos(ch->out),
						 vmbus_ring_xfer_size(1, sizeof(msg)));
	srv_state_publish(&ch->rec->rx.suballoc, sub + 1u);
	int r = vmbus_ring_send_xfer_pages(ch->out, (uint64_t)sub + 1u,
					   VMBUS_PKT_FLAG_COMPLETION_REQUESTED, NETVSP_RECV_BUF_ID,
					   false, &range, 1, msg, sizeof(msg));
	if (r < 0) {
		srv_state_publish(&ch->rec->rx.suballoc, 0u);
		n->free_subs[n->nfree_subs++] = sub;
		if (r != -EAGAIN)
			ch->last_error = "the host->guest ring is broken";
		return false;
	}
	set_held(n, sub, true);
	srv_state_publish(&ch->rec->rx.suballoc, 0u);
	if (r == 1)
		net_chan_signal(ch);
	return true;
}

bool net_rx_message(struct net_chan *ch, const uint8_t *msg, uint32_t len)
{
	struct net_nic *n = ch->nic;

	if (!n->recv.gpadl || n->nfree_subs == 0 || len > n->st->recv_suballoc_size ||
	    !ring_room(ch)) {
		ch->drops[NET_DROP_CONTROL_LOST]++;
		return false;
	}
	uint32_t sub = n->free_subs[--n->nfree_subs];
	uint32_t off = sub * n->st->recv_suballoc_size;
	if (net_buf_write(&n->recv, off, msg, len) < 0) {
		n->free_subs[n->nfree_subs++] = sub;
		ch->drops[NET_DROP_CONTROL_LOST]++;
		return false;
	}
	return announce(ch, sub, off, len, NETVSP_CHANNEL_CONTROL);
}

/* Where queue q's frames go: its own channel once the guest opened it, else the primary. */
static struct net_chan *rx_channel(const struct net_queue *q)
{
	struct net_nic *n = q->nic;
	struct net_chan *ch = q->index < n->nchans ? n->chans[q->index] : NULL;
	if (ch && ch->open)
		return ch;
	return n->chans[0] && n->chans[0]->open ? n->chans[0] : NULL;
}

/* Reads and drops one frame (nobody can take it). */
static int drop_frame(struct net_queue *q, struct net_chan *ch, enum net_drop why)
{
	struct net_nic *n = q->nic;
	struct iovec iov = {n->ctl, sizeof(n->ctl)};
	struct net_offload off;
	int r = net_backend_recv(n->be, q->index, &iov, 1, &off);
	if (r != -EAGAIN && ch)
		ch->drops[why]++;
	return r;
}

/* How many transfer-page packets ch's host->guest ring takes now (at most want). */
static unsigned ring_fits(struct net_chan *ch, unsigned want)
{
	uint32_t need = vmbus_ring_xfer_size(1, NETVSP_MSG_SIZE);
	uint32_t room = vmbus_ring_bytes_to_write(ch->out);
	/* ring_room's strict "more than need" for each. */
	unsigned fit = room ? (unsigned)((room - 1u) / need) : 0u;
	return fit < want ? fit : want;
}

/* Hands the frame in slot s (sub-allocation sub, at off) to the guest on ch, or counts
 * why not. */
static void rx_deliver(struct net_queue *q, struct net_chan *ch, uint32_t sub, uint32_t off,
		       const struct net_rx_slot *s)
{
	struct net_nic *n = q->nic;
	struct rndis_rx_info info = {.offload = s->off};
	uint8_t hdr[RNDIS_RX_HEADER_MAX];

	if (s->len < 0) {
		n->free_subs[n->nfree_subs++] = sub;
		ch->drops[s->len == -EMSGSIZE ? NET_DROP_TOO_BIG : NET_DROP_BACKEND]++;
		return;
	}
	if (net_capture_armed(n->capture))
		net_capture_frame(n->capture, s->iov, s->iovcnt, (uint32_t)s->len);
	uint32_t hlen = rndis_rx_header(hdr, (uint32_t)s->len, &n->st->rndis, &info);
	uint32_t at = off + NET_RX_FRAME_AT - hlen;
	if (net_buf_write(&n->recv, at, hdr, hlen) < 0 ||
	    !announce(ch, sub, at, hlen + (uint32_t)s->len, NETVSP_CHANNEL_DATA)) {
		ch->drops[NET_DROP_NO_BUFFER]++;
		return;
	}
	ch->rx_packets++;
	ch->rx_bytes += (uint64_t)s->len;
}

/* One frame from queue q into a sub-allocation and to the guest. 1 = go on, 0 = stop. */
static int rx_one(struct net_queue *q)
{
	struct net_nic *n = q->nic;
	struct net_chan *ch = rx_channel(q);
	struct iovec iov[RX_IOV];

	bool guest_ready =
	    n->st->recv_gpadl && n->st->rndis.initialized && n->st->rndis.packet_filter;
	if (guest_ready && (!ch || !n->recv.gpadl)) {
		/* A restarted server whose primary channel is not back yet (a sub-channel may
		 * come first): the guest's buffer is there, so the frames wait in the backend
		 * until the primary's open maps it. */
		q->rx_stalled = true;
		return 0;
	}
	if (!guest_ready)
		return drop_frame(q, ch, NET_DROP_NOT_READY) == -EAGAIN ? 0 : 1;
	if (n->nfree_subs == 0 || !ring_room(ch)) {
		q->rx_stalled = true;
		return 0;
	}
	uint32_t size = n->st->recv_suballoc_size;
	uint32_t sub = n->free_subs[--n->nfree_subs];
	uint32_t off = sub * size;
	struct net_rx_slot s = {.iov = iov};
	s.iovcnt =
	    net_buf_iov(&n->recv, off + NET_RX_FRAME_AT, size - NET_RX_FRAME_AT, iov, RX_IOV);
	s.len = s.iovcnt < 0 ? s.iovcnt : net_backend_recv(n->be, q->index, iov, s.iovcnt, &s.off);
	q->rx_reads++;
	if (s.len == -EAGAIN) {
		n->free_subs[n->nfree_subs++] = sub;
		return 0;
	}
	q->rx_frames++;
	rx_deliver(q, ch, sub, off, &s);
	return 1;
}

/*
 * Up to budget frames of queue q at once (the backend's recv_many), each into its own
 * sub-allocation, delivered in the order the backend gave them out. The batch grows while
 * the queue fills it and shrinks to what came when it does not. Returns the frames taken
 * when the queue may have more, 0 when it ran dry or the guest has no room.
 */
static int rx_batch(struct net_queue *q, struct net_chan *ch, unsigned budget)
{
	struct net_nic *n = q->nic;
	struct net_rx_slot slots[NET_RX_BATCH_MAX];
	struct iovec iov[NET_RX_BATCH_MAX][RX_IOV];
	uint32_t subs[NET_RX_BATCH_MAX];
	uint8_t order[NET_RX_BATCH_MAX];
	bool taken[NET_RX_BATCH_MAX] = {false};
	uint32_t size = n->st->recv_suballoc_size;

	unsigned want = q->rx_batch < budget ? q->rx_batch : budget;
	if (want > n->nfree_subs)
		want = n->nfree_subs;
	want = ring_fits(ch, want);
	if (want == 0) {
		/* Out of sub-allocations or ring room: ring_room asks the guest to say when. */
		if (n->nfree_subs && ring_room(ch))
			want = 1;
		else {
			q->rx_stalled = true;
			return 0;
		}
	}
	for (unsigned i = 0; i < want; i++) {
		subs[i] = n->free_subs[--n->nfree_subs];
		uint32_t off = subs[i] * size;
		int cnt = net_buf_iov(&n->recv, off + NET_RX_FRAME_AT, size - NET_RX_FRAME_AT,
				      iov[i], RX_IOV);
		if (cnt < 0) { /* the buffer is mapped whole: cannot happen; stop here */
			n->free_subs[n->nfree_subs++] = subs[i];
			want = i;
			break;
		}
		slots[i] = (struct net_rx_slot){.iov = iov[i], .iovcnt = cnt};
	}
	int k = want ? n->be->ops->recv_many(n->be, q->index, slots, want, order) : 0;
	q->rx_reads += want ? 1u : 0u;
	q->rx_frames += (unsigned)k;
	for (int j = 0; j < k; j++) {
		unsigned i = order[j];
		taken[i] = true;
		rx_deliver(q, ch, subs[i], subs[i] * size, &slots[i]);
	}
	for (unsigned i = 0; i < want; i++)
		if (!taken[i])
			n->free_subs[n->nfree_subs++] = subs[i];

	bool full = k == (int)want && want > 0;
	unsigned next = full ? 2u * want : (unsigned)k + 1u;
	q->rx_batch = next > q->rx_batch_max ? q->rx_batch_max : next;
	return full ? k : 0;
}

/* Where queue q's frames can go in a batch now: its channel, or NULL (one at a time, as
 * rx_one decides: dropped, or waiting for the guest). */
static struct net_chan *batch_channel(struct net_queue *q)
{
	struct net_nic *n = q->nic;
	if (!n->be->ops->recv_many || q->rx_batch_max < 2 || !n->st->recv_gpadl ||
	    !n->st->rndis.initialized || !n->st->rndis.packet_filter || !n->recv.gpadl)
		return NULL;
	return rx_channel(q);
}

void net_rx_queue(struct net_queue *q)
{
	for (unsigned done = 0; done < NET_RX_BUDGET && !q->nic->quiescing;) {
		struct net_chan *ch = batch_channel(q);
		int r = ch ? rx_batch(q, ch, NET_RX_BUDGET - done) : rx_one(q);
		if (r <= 0)
			break;
		done += (unsigned)r;
	}
	net_queue_update(q);
}

void net_rx_adopt(struct net_chan *ch)
{
	struct net_nic *n = ch->nic;
	uint32_t sub = ch->rec->rx.suballoc;

	if (sub == 0 || sub > NET_MAX_SUBALLOCS)
		goto out;
	bool sent = vmbus_ring_shared_write_index(ch->out) == ch->rec->rx.out_end;
	set_held(n, sub - 1u, sent);
out:
	srv_state_publish(&ch->rec->rx.suballoc, 0u);
}
