/* SPDX-License-Identifier: MIT */
/*
 * The NIC's channels and its NVSP state machine (Linux 6.1's order: INIT -> NDIS_CONFIG
 * -> NDIS_VERSION -> receive buffer -> send buffer -> RNDIS over SEND_RNDIS_PKT ->
 * SUBCHANNEL), one guest packet at a time per channel with the journal of net_state.h
 * around each, and the backend queues' polling.
 */
#include "net_nic_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "defs/netvsp_defs.h"

/* The receive sub-allocation: room for the RNDIS header, a VLAN-tagged frame of the
 * MTU, rounded so a frame never shares a cache line with the next one's header. */
static uint32_t suballoc_size(const struct net_nic *n)
{
	uint32_t size = NET_RX_FRAME_AT + n->cfg.rndis.mtu + 14u + 4u;
	return (size + 63u) & ~63u;
}

void net_chan_signal(struct net_chan *ch)
{
	ch->signals++;
	if (vmbusdev_chan_signal(ch->dev) < 0)
		ch->signal_failures++;
}

/* ---- backend queues ---- */

static void poll_cb(uv_poll_t *h, int status, int events)
{
	struct net_queue *q = h->data;
	struct net_nic *n = q->nic;

	if (status < 0)
		events = UV_READABLE | UV_WRITABLE; /* let the calls see the error */
	if (events & UV_READABLE && q->tx_waiters && n->be->ops->tx_wait) {
		/* A backend whose room is a TX completion (net_backend.h). */
		n->be->ops->tx_wait(n->be, q->index, q->rx_stalled || n->quiescing);
		events |= UV_WRITABLE;
	}
	if (events & UV_WRITABLE) {
		uint32_t waiters = q->tx_waiters;
		q->tx_waiters = 0;
		for (unsigned i = 0; i < n->nchans; i++)
			if (waiters & (1u << i) && n->chans[i]) {
				n->chans[i]->tx_wait_ready = true;
				net_chan_drain(n->chans[i]);
			}
	}
	if (events & UV_READABLE)
		net_rx_queue(q);
	net_queue_update(q);
}

void net_queue_update(struct net_queue *q)
{
	int events = 0;

	if (!q->nic->quiescing && !q->rx_stalled)
		events |= UV_READABLE;
	if (q->tx_waiters)
		events |= q->nic->be->ops->tx_wait ? UV_READABLE : UV_WRITABLE;
	if (events == q->events)
		return;
	q->events = events;
	if (events)
		(void)uv_poll_start(&q->poll, events, poll_cb);
	else
		(void)uv_poll_stop(&q->poll);
}

/* A queue whose frames waited (no room in the guest's buffers or ring, or no channel
 * yet) is read now rather than on its fd: a backend may have taken the fd's event while
 * it waited for TX room (tx_wait). */
static void resume_rx(struct net_queue *q)
{
	if (!q->rx_stalled) {
		net_queue_update(q);
		return;
	}
	q->rx_stalled = false;
	net_rx_queue(q);
}

/* ---- NVSP ---- */

bool net_send_completion(struct net_chan *ch, uint64_t trans_id, const uint8_t *msg)
{
	for (;;) {
		ch->rec->tx.out_end = vmbus_ring_advance(ch->out, vmbus_ring_write_pos(ch->out),
							 vmbus_ring_inband_size(NETVSP_MSG_SIZE));
		int r = vmbus_ring_send_completion(ch->out, trans_id, msg, NETVSP_MSG_SIZE);
		if (r >= 0) {
			if (r == 1)
				net_chan_signal(ch);
			return true;
		}
		if (r != -EAGAIN) {
			ch->last_error = "the host->guest ring is broken";
			return true; /* nothing more reaches the guest here */
		}
		ch->ring_full++;
		memcpy(ch->comp, msg, NETVSP_MSG_SIZE);
		ch->comp_trans_id = trans_id;
		ch->comp_wait = true;
		r = vmbus_ring_set_pending_send(ch->out, vmbus_ring_inband_size(NETVSP_MSG_SIZE));
		if (r != 1)
			return false;
		ch->comp_wait = false; /* room appeared meanwhile */
	}
}

static int map_buffers(struct net_nic *n, const char **why)
{
	struct net_chan *pri = n->chans[0];
	int r;

	if (!pri || !pri->open)
		return -ENOTCONN;
	if (n->st->recv_gpadl && !n->recv.gpadl) {
		r = net_buf_map(&n->recv, pri->dev, n->st->recv_gpadl, why);
		if (r < 0)
			return r;
		net_rx_setup(n);
	}
	if (n->st->send_gpadl && !n->send.gpadl) {
		r = net_buf_map(&n->send, pri->dev, n->st->send_gpadl, why);
		if (r < 0)
			return r;
	}
	return 0;
}

static uint32_t recv_buffer(struct net_chan *ch, const struct netvsp_msg *m, uint8_t *out)
{
	struct net_nic *n = ch->nic;
	struct net_state *st = n->st;
	const char *why = "a receive buffer on a sub-channel";

	if (ch->index == 0 && m->u.buf.id == NETVSP_RECV_BUF_ID && !n->recv.gpadl) {
		st->recv_gpadl = m->u.buf.gpadl;
		if (map_buffers(n, &why) == 0 && n->recv.len >= suballoc_size(n)) {
			st->recv_suballoc_size = suballoc_size(n);
			st->recv_suballocs = n->recv.len / st->recv_suballoc_size;
			if (st->recv_suballocs > NET_MAX_SUBALLOCS)
				st->recv_suballocs = NET_MAX_SUBALLOCS;
			memset(st->held, 0, sizeof(st->held));
			net_rx_setup(n);
			log_info("net %u: receive buffer: GPADL %u, %u sub-allocations of %u bytes",
				 n->cfg.index, st->recv_gpadl, st->recv_suballocs,
				 st->recv_suballoc_size);
			return netvsp_build_recv_buf_complete(
			    out, NETVSP_STATUS_SUCCESS, st->recv_suballoc_size, st->recv_suballocs);
		}
		net_buf_unmap(&n->recv);
		st->recv_gpadl = 0;
		if (!why || !*why)
			why = "the receive buffer is too small";
	} else if (n->recv.gpadl) {
		why = "a second receive buffer";
	} else if (m->u.buf.id != NETVSP_RECV_BUF_ID) {
		why = "a receive buffer with an id other than 0xCAFE";
	}
	ch->refused++;
	ch->last_error = why;
	net_chan_warn(ch, "refused the receive buffer: %s", why);
	return netvsp_build_recv_buf_complete(out, NETVSP_STATUS_FAILURE, 0, 0);
}

static uint32_t send_buffer(struct net_chan *ch, const struct netvsp_msg *m, uint8_t *out)
{
	struct net_nic *n = ch->nic;
	struct net_state *st = n->st;
	const char *why = "a send buffer on a sub-channel or a second one";

	if (ch->index == 0 && !n->send.gpadl) {
		st->send_gpadl = m->u.buf.gpadl;
		if (map_buffers(n, &why) == 0 && n->send.len >= NET_SEND_SECTION) {
			st->send_section_size = NET_SEND_SECTION;
			st->send_sections = n->send.len / NET_SEND_SECTION;
			log_info("net %u: send buffer: GPADL %u, %u sections of %u bytes",
				 n->cfg.index, st->send_gpadl, st->send_sections,
				 st->send_section_size);
			return netvsp_build_send_buf_complete(out, NETVSP_STATUS_SUCCESS,
							      NET_SEND_SECTION);
		}
		net_buf_unmap(&n->send);
		st->send_gpadl = 0;
	}
	ch->refused++;
	ch->last_error = why;
	net_chan_warn(ch, "refused the send buffer: %s", why);
	return netvsp_build_send_buf_complete(out, NETVSP_STATUS_FAILURE, 0);
}

static int describe_channel(struct net_nic *n, unsigned index);

static uint32_t subchannels(struct net_chan *ch, const struct netvsp_msg *m, uint8_t *out)
{
	struct net_nic *n = ch->nic;
	uint32_t want = m->u.subchannel.num, grant = 0;

	if (ch->index != 0 || m->u.subchannel.op != NETVSP_SUBCHANNEL_ALLOCATE ||
	    n->st->nvsp_version < NETVSP_VERSION_5) {
		ch->refused++;
		ch->last_error = "a sub-channel request out of place";
		net_chan_warn(ch, "refused a sub-channel request: %s",
			      ch->index ? "sent on a sub-channel"
					: "not an allocation or NVSP < 5");
		return netvsp_build_subchannel_complete(out, NETVSP_STATUS_FAILURE, 0);
	}
	grant = want < n->cfg.max_subchannels ? want : n->cfg.max_subchannels;
	/* Linux waits, without a timeout, for every granted sub-channel to be offered:
	 * grant exactly what is offered. */
	while (n->nchans < grant + 1u) {
		srv_state_publish(&n->st->subchannels, n->nchans);
		if (describe_channel(n, n->nchans) < 0)
			break;
	}
	grant = n->nchans - 1u < grant ? n->nchans - 1u : grant;
	srv_state_publish(&n->st->subchannels, n->nchans - 1u);
	log_info("net %u: granted %u of %u sub-channels", n->cfg.index, grant, want);
	return netvsp_build_subchannel_complete(out, NETVSP_STATUS_SUCCESS, grant);
}

/* Resets what the guest negotiated: it opened the primary afresh. */
static void reset_protocol(struct net_nic *n)
{
	struct net_state *st = n->st;
	net_buf_unmap(&n->recv);
	net_buf_unmap(&n->send);
	st->nvsp_version = st->ndis_major = st->ndis_minor = st->mtu = 0;
	st->recv_gpadl = st->recv_suballoc_size = st->recv_suballocs = 0;
	st->send_gpadl = st->send_section_size = st->send_sections = 0;
	memset(&st->rndis, 0, sizeof(st->rndis));
	memset(st->held, 0, sizeof(st->held));
	n->nfree_subs = 0;
}

/* One NVSP message. Returns -EAGAIN when the backend cannot take a frame yet; else 0
 * with *len bytes of completion in out (0 = none). */
static int nvsp_message(struct net_chan *ch, const struct vmbus_pkt *pkt, uint8_t *out,
			uint32_t *len)
{
	struct net_nic *n = ch->nic;
	struct net_state *st = n->st;
	struct netvsp_msg m;
	const char *why = NULL;
	uint32_t status;

	*len = 0;
	if (netvsp_parse(pkt->payload, pkt->payload_len, &m, &why) < 0) {
		ch->refused++;
		ch->last_error = why;
		net_chan_warn(ch, "refused a packet: %s", why);
		return 0;
	}
	switch (m.type) {
	case NETVSP_MSG_INIT: {
		uint32_t v = 0;
		if (ch->index == 0 && m.u.init.min_version <= m.u.init.max_version &&
		    netvsp_version_supported(m.u.init.max_version))
			v = m.u.init.max_version;
		else if (ch->index == 0 && netvsp_version_supported(m.u.init.min_version))
			v = m.u.init.min_version;
		if (v) {
			reset_protocol(n);
			srv_state_publish(&st->nvsp_version, v);
			log_info("net %u: NVSP version %#x", n->cfg.index, v);
		}
		*len = netvsp_build_init_complete(
		    out, v ? NETVSP_STATUS_SUCCESS : NETVSP_STATUS_FAILURE, v);
		return 0;
	}
	case NETVSP_MSG_SEND_NDIS_VER:
		st->ndis_major = m.u.ndis_ver.major;
		st->ndis_minor = m.u.ndis_ver.minor;
		return 0;
	case NETVSP_MSG_SEND_NDIS_CONFIG:
		st->mtu = m.u.ndis_config.mtu;
		return 0;
	case NETVSP_MSG_SEND_RECV_BUF:
		*len = recv_buffer(ch, &m, out);
		return 0;
	case NETVSP_MSG_SEND_SEND_BUF:
		*len = send_buffer(ch, &m, out);
		return 0;
	case NETVSP_MSG_REVOKE_RECV_BUF:
		if (ch->index == 0) {
			net_buf_unmap(&n->recv);
			st->recv_gpadl = 0;
			n->nfree_subs = 0;
		}
		return 0;
	case NETVSP_MSG_REVOKE_SEND_BUF:
		if (ch->index == 0) {
			net_buf_unmap(&n->send);
			st->send_gpadl = 0;
		}
		return 0;
	case NETVSP_MSG_SEND_RNDIS_PKT: {
		if (map_buffers(n, &why) < 0 && n->st->recv_gpadl) {
			ch->last_error = why;
		}
		int r = net_tx_rndis(ch, pkt, &m, &status);
		if (r < 0)
			return r;
		*len = netvsp_build_rndis_complete(out, status);
		return 0;
	}
	case NETVSP_MSG_SUBCHANNEL:
		*len = subchannels(ch, &m, out);
		return 0;
	default:
		/* VF association and data-path switching: there is no VF. */
		log_debug("net channel relid %u: ignored %s", ch->relid, netvsp_msg_name(m.type));
		return 0;
	}
}

/* ---- the guest->host ring ---- */

/* Ends the packet the journal names: read_index moves past it, the journal clears. */
static void finish_packet(struct net_chan *ch)
{
	if (vmbus_ring_recv_commit(ch->in) == 1)
		net_chan_signal(ch);
	srv_state_publish(&ch->rec->tx.active, 0u);
}

/* One guest packet. -EAGAIN: keep it and retry (the backend queue is full). */
static int packet(struct net_chan *ch, const struct vmbus_pkt *pkt, uint32_t start)
{
	struct net_tx_journal *j = &ch->rec->tx;
	uint8_t out[NETVSP_MSG_SIZE];
	uint32_t len = 0;

	j->ring_start = start;
	j->ring_end = vmbus_ring_read_pos(ch->in);
	j->out_end = 0;
	j->ack = 0;
	srv_state_publish(&j->active, 1u);
	if (pkt->type == VMBUS_PKT_COMP) {
		/* The guest acked a receive: commit first, so a crash leaks at most this
		 * sub-allocation until the journal returns it (never frees it twice). */
		j->ack = pkt->trans_id <= NET_MAX_SUBALLOCS ? (uint32_t)pkt->trans_id : 0;
		if (vmbus_ring_recv_commit(ch->in) == 1)
			net_chan_signal(ch);
		net_rx_ack(ch, pkt->trans_id);
		srv_state_publish(&j->active, 0u);
		return 0;
	}
	if (pkt->type != VMBUS_PKT_DATA_INBAND && pkt->type != VMBUS_PKT_DATA_USING_GPA_DIRECT) {
		ch->refused++;
		ch->last_error = "a packet type the network protocol does not use";
		net_chan_warn(ch, "refused a packet of type %u: %s", pkt->type, ch->last_error);
	} else {
		int r = nvsp_message(ch, pkt, out, &len);
		if (r < 0)
			return r;
	}
	if (len && !net_send_completion(ch, pkt->trans_id, out))
		return 0; /* comp_wait: finished when the ring has room */
	finish_packet(ch);
	return 0;
}

void net_chan_drain(struct net_chan *ch)
{
	struct net_nic *n = ch->nic;
	struct vmbus_pkt pkt;
	int r;

	for (;;) {
		bool worked = false;
		vmbus_ring_mask_interrupts(ch->in);
		for (;;) {
			if (!ch->open || n->quiescing) {
				busy_poll_stop(n->poll, &ch->poll);
				return;
			}
			if (ch->comp_wait || (ch->tx_wait && !ch->tx_wait_ready)) {
				/* Left masked: ring room or the backend drains again. Polling
				 * goes on for its window. */
				(void)busy_poll_keep(n->poll, &ch->poll, worked);
				return;
			}
			if (ch->tx_wait) {
				ch->tx_wait_ready = false;
				if (packet(ch, &ch->pending, ch->pending_start) == -EAGAIN)
					goto wait_backend;
				ch->tx_wait = false;
				worked = true;
				continue;
			}
			uint32_t start = vmbus_ring_read_pos(ch->in);
			r = vmbus_ring_recv(ch->in, ch->pktbuf, sizeof(ch->pktbuf), &pkt);
			if (r < 0)
				break;
			worked = true;
			if (ch->skip && start == ch->skip_at) {
				/* The last instance answered it and died before moving read_index.
				 */
				ch->skip = false;
				ch->skipped++;
				if (vmbus_ring_recv_commit(ch->in) == 1)
					net_chan_signal(ch);
				continue;
			}
			ch->skip = false;
			if (packet(ch, &pkt, start) == -EAGAIN) {
				ch->pending = pkt;
				ch->pending_start = start;
				ch->tx_wait = true;
				goto wait_backend;
			}
		}
		if (r != -EAGAIN) {
			ch->last_error = vmbus_ring_broken_reason(ch->in);
			log_warn_errno(r, "net channel relid %u: guest->host ring broken (%s)",
				       ch->relid, ch->last_error ? ch->last_error : "?");
			busy_poll_stop(n->poll, &ch->poll);
			return;
		}
		if (busy_poll_keep(n->poll, &ch->poll, worked))
			return; /* masked: the next turn of the loop looks again */
		if (vmbus_ring_unmask_interrupts(ch->in) != 1)
			return;
	}
wait_backend : {
	(void)busy_poll_keep(n->poll, &ch->poll, true);
	struct net_queue *q = &n->queues[ch->index % n->nqueues];
	q->tx_waiters |= 1u << ch->index;
	net_queue_update(q);
}
}

/* ---- channel lifecycle ---- */

/* Settles what the last instance left half done on ch (net_state.h). */
static void adopt_journals(struct net_chan *ch)
{
	struct net_nic *n = ch->nic;
	struct net_tx_journal *j = &ch->rec->tx;

	net_rx_adopt(ch);
	if (j->active) {
		uint32_t rd = vmbus_ring_shared_read_index(ch->in);
		if (rd == j->ring_end && j->ack && net_held(n, j->ack - 1u)) {
			/* The ack was committed and not yet applied. */
			net_rx_ack(ch, j->ack);
		} else if (rd == j->ring_start && j->out_end &&
			   vmbus_ring_shared_write_index(ch->out) == j->out_end) {
			ch->skip = true;
			ch->skip_at = j->ring_start;
		} else if (rd == j->ring_start) {
			ch->replayed++;
		}
		srv_state_publish(&j->active, 0u);
	}
	if (n->recv.gpadl)
		net_rx_setup(n);
}

static int chan_open(struct vmbusdev_chan *dev, bool resume, void *opaque, const char **why)
{
	struct net_chan *ch = opaque;
	struct net_nic *n = ch->nic;

	if (ch->open) {
		*why = "the channel is already open";
		return -EBUSY;
	}
	ch->dev = dev;
	ch->in = vmbusdev_chan_in(dev);
	ch->out = vmbusdev_chan_out(dev);
	ch->relid = vmbusdev_chan_relid(dev);
	ch->open = true;
	ch->tx_wait = ch->tx_wait_ready = ch->comp_wait = ch->skip = false;
	ch->tx_at = 0;
	if (resume) {
		const char *mwhy = NULL;
		if (ch->index == 0 && map_buffers(n, &mwhy) < 0 && mwhy)
			log_warn("net %u: unable to map the guest's buffers again: %s",
				 n->cfg.index, mwhy);
		adopt_journals(ch);
		log_info("net %u channel %u (relid %u) adopted", n->cfg.index, ch->index,
			 ch->relid);
	} else {
		if (ch->index == 0)
			reset_protocol(n);
		memset(ch->rec, 0, sizeof(*ch->rec));
		log_info("net %u channel %u opened on relid %u", n->cfg.index, ch->index,
			 ch->relid);
	}
	for (unsigned q = 0; q < n->nqueues; q++)
		resume_rx(&n->queues[q]); /* frames may have waited for this channel */
	return 0;
}

static void chan_signaled(struct vmbusdev_chan *dev, void *opaque)
{
	struct net_chan *ch = opaque;
	struct net_nic *n = ch->nic;

	(void)dev;
	if (!ch->open || n->quiescing)
		return;
	if (ch->comp_wait) {
		ch->comp_wait = false;
		if (!net_send_completion(ch, ch->comp_trans_id, ch->comp))
			return;
		finish_packet(ch);
	}
	/* Room in the host->guest ring may let stalled queues go on. */
	for (unsigned q = 0; q < n->nqueues; q++)
		resume_rx(&n->queues[q]);
	net_chan_drain(ch);
}

/* A turn of the loop while ch is polled: what a guest signal would have done. */
static void chan_poll(struct busy_poll_entry *e)
{
	struct net_chan *ch = container_of(e, struct net_chan, poll);

	if (!ch->open || ch->nic->quiescing)
		busy_poll_stop(ch->nic->poll, e);
	else
		net_chan_drain(ch);
}

static void chan_close(struct vmbusdev_chan *dev, void *opaque)
{
	struct net_chan *ch = opaque;
	struct net_nic *n = ch->nic;

	(void)dev;
	if (!ch->open)
		return;
	ch->open = false;
	busy_poll_stop(n->poll, &ch->poll);
	ch->tx_wait = ch->comp_wait = false;
	for (unsigned q = 0; q < n->nqueues; q++)
		n->queues[q].tx_waiters &= ~(1u << ch->index);
	if (ch->index == 0) {
		net_buf_unmap(&n->recv);
		net_buf_unmap(&n->send);
	}
	ch->in = ch->out = NULL;
	ch->dev = NULL;
	log_info("net %u channel %u (relid %u) closed", n->cfg.index, ch->index, ch->relid);
}

static void chan_gpadl_removed(struct vmbusdev_chan *dev, uint32_t id, void *opaque)
{
	struct net_chan *ch = opaque;
	struct net_nic *n = ch->nic;

	(void)dev;
	if (n->recv.gpadl == id) {
		net_buf_unmap(&n->recv);
		n->st->recv_gpadl = 0;
		n->nfree_subs = 0;
	}
	if (n->send.gpadl == id) {
		net_buf_unmap(&n->send);
		n->st->send_gpadl = 0;
	}
}

static const struct vmbusdev_chan_ops chan_ops = {
    .open = chan_open,
    .signaled = chan_signaled,
    .close = chan_close,
    .gpadl_removed = chan_gpadl_removed,
};

static int describe_channel(struct net_nic *n, unsigned index)
{
	Mhcl__Vmbus__DeviceOffer m = MHCL__VMBUS__DEVICE_OFFER__INIT;
	struct hv_guid type = NETVSP_CLASS;
	uint8_t user_def[VMBUS_USER_DEF_BYTES] = {0};
	struct net_chan *ch;

	if (index >= NET_MAX_CHANNELS || n->chans[index])
		return -EINVAL;
	ch = calloc(1, sizeof(*ch));
	if (!ch)
		return -ENOMEM;
	ch->nic = n;
	ch->index = index;
	ch->rec = &n->st->chan[index];
	ch->poll.poll = chan_poll;
	m.if_type = (ProtobufCBinaryData){sizeof(type), type.b};
	m.if_instance = (ProtobufCBinaryData){sizeof(n->instance), n->instance.b};
	m.user_def = (ProtobufCBinaryData){sizeof(user_def), user_def};
	m.sub_channel_index = index;
	int r = vmbusdev_chan_new(n->v, &m, &chan_ops, ch, &ch->dev);
	if (r < 0) {
		free(ch);
		return r;
	}
	ch->dev = NULL; /* set on open */
	n->chans[index] = ch;
	n->nchans++;
	return 0;
}

/* ---- the NIC ---- */

int net_nic_new(struct vmbusdev *v, uv_loop_t *loop, struct busy_poll *poll,
		const struct net_nic_config *cfg, struct net_state *st, struct net_backend *be,
		struct net_nic **ret)
{
	struct net_nic *n;

	if (cfg->max_subchannels >= NET_MAX_CHANNELS || cfg->index >= 0x10000)
		return -EINVAL;
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->free_subs = calloc(NET_MAX_SUBALLOCS, sizeof(*n->free_subs));
	if (!n->free_subs) {
		free(n);
		return -ENOMEM;
	}
	n->v = v;
	n->loop = loop;
	n->poll = poll;
	n->cfg = *cfg;
	n->st = st;
	n->be = be;
	n->nqueues = be->nqueues;
	if (n->nqueues > NET_MAX_CHANNELS)
		n->nqueues = NET_MAX_CHANNELS;
	/* Stable per NIC number, so the guest sees the same NIC on every boot. */
	n->instance = (struct hv_guid)HV_GUID_INIT(0x6d686333, (uint16_t)cfg->index, 0x4e49, 0x80,
						   0x00, 0x6e, 0x65, 0x74, 0x76, 0x73, 0x70);
	for (unsigned q = 0; q < n->nqueues; q++) {
		struct net_queue *nq = &n->queues[q];
		nq->nic = n;
		nq->index = q;
		nq->rx_batch = 1;
		nq->rx_batch_max = cfg->rx_batch == 0		      ? 1
				   : cfg->rx_batch > NET_RX_BATCH_MAX ? NET_RX_BATCH_MAX
								      : cfg->rx_batch;
		int r = uv_poll_init(loop, &nq->poll, net_backend_fd(be, q));
		if (r < 0) {
			n->nqueues = q;
			net_nic_free(n);
			return r;
		}
		nq->poll.data = nq;
	}
	*ret = n;
	return 0;
}

int net_nic_offer(struct net_nic *n)
{
	unsigned want = 1u + n->st->subchannels;
	if (want > NET_MAX_CHANNELS)
		want = NET_MAX_CHANNELS;
	for (unsigned i = 0; i < want; i++) {
		int r = describe_channel(n, i);
		if (r < 0)
			return r;
	}
	return 0;
}

void net_nic_set_capture(struct net_nic *n, struct net_capture *c)
{
	n->capture = c;
}

static const char *const drop_names[_NET_DROP_MAX] = {
    [NET_DROP_NOT_READY] = "not_ready",	    [NET_DROP_NO_BUFFER] = "no_buffer",
    [NET_DROP_TOO_BIG] = "too_big",	    [NET_DROP_BAD_RNDIS] = "bad_rndis",
    [NET_DROP_BACKEND] = "backend_refused", [NET_DROP_CONTROL_LOST] = "control_lost",
};

/* What this instance dropped, in its last words: inspect dies with it. */
static void log_drops(const struct net_chan *ch)
{
	char line[256];
	size_t at = 0;

	for (unsigned i = 0; i < _NET_DROP_MAX && at < sizeof(line); i++)
		if (ch->drops[i])
			at += (size_t)snprintf(line + at, sizeof(line) - at, " %s %llu",
					       drop_names[i], (unsigned long long)ch->drops[i]);
	if (at)
		log_info("net %u channel %u: frames dropped by this instance:%s",
			 ch->nic->cfg.index, ch->index, line);
}

void net_nic_quiesce(struct net_nic *n)
{
	n->quiescing = true;
	for (unsigned q = 0; q < n->nqueues; q++)
		net_queue_update(&n->queues[q]);
	for (unsigned i = 0; i < n->nchans; i++) {
		if (n->chans[i]) {
			busy_poll_stop(n->poll, &n->chans[i]->poll);
			log_drops(n->chans[i]);
		}
	}
}

static void inspect_chan(const struct net_chan *ch, struct inspect_tree *t, Mhcl__Node *d)
{
	inspect_bool(t, d, "open", ch->open);
	inspect_u64(t, d, "relid", ch->relid);
	inspect_u64(t, d, "tx_packets", ch->tx_packets);
	inspect_u64(t, d, "tx_bytes", ch->tx_bytes);
	inspect_u64(t, d, "rx_packets", ch->rx_packets);
	inspect_u64(t, d, "rx_bytes", ch->rx_bytes);
	inspect_u64(t, d, "rx_acks", ch->acks);
	inspect_u64(t, d, "control_messages", ch->control);
	Mhcl__Node *dr = inspect_dir(t, d, "drops");
	for (unsigned i = 0; i < _NET_DROP_MAX; i++)
		inspect_u64(t, dr, drop_names[i], ch->drops[i]);
	inspect_u64(t, d, "refused_packets", ch->refused);
	inspect_u64(t, d, "ring_full", ch->ring_full);
	inspect_u64(t, d, "backend_full", ch->backend_full);
	inspect_u64(t, d, "signals", ch->signals);
	inspect_u64(t, d, "signal_failures", ch->signal_failures);
	inspect_u64(t, d, "adopted_skipped", ch->skipped);
	inspect_u64(t, d, "adopted_replayed", ch->replayed);
	if (ch->open) {
		struct vmbus_ring_info in, out;
		vmbus_ring_get_info(ch->in, &in);
		vmbus_ring_get_info(ch->out, &out);
		inspect_u64(t, d, "ring_in_pending", vmbus_ring_bytes_to_read(ch->in));
		inspect_u64(t, d, "ring_out_free", vmbus_ring_bytes_to_write(ch->out));
		inspect_u64(t, d, "ring_size", in.size);
	}
	if (ch->last_error)
		inspect_str(t, d, "last_error", ch->last_error);
}

void net_nic_inspect(const struct net_nic *n, struct inspect_tree *t, Mhcl__Node *dir)
{
	const struct net_state *st = n->st;
	const struct rndis_state *rs = &st->rndis;
	const uint8_t *mac = rndis_mac(&n->cfg.rndis, rs);

	inspect_strf(t, dir, "mac", "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
		     mac[4], mac[5]);
	inspect_u64(t, dir, "mtu", n->cfg.rndis.mtu);
	inspect_str(t, dir, "backend", n->be->ops->kind);
	inspect_str(t, dir, n->be->ops->kind, n->be->name);
	inspect_bool(t, dir, "link_up", true);
	inspect_strf(t, dir, "nvsp_version", "%#x", st->nvsp_version);
	inspect_strf(t, dir, "ndis_version", "%u.%u", st->ndis_major, st->ndis_minor);
	Mhcl__Node *rb = inspect_dir(t, dir, "receive_buffer");
	inspect_u64(t, rb, "gpadl", st->recv_gpadl);
	inspect_u64(t, rb, "bytes", n->recv.len);
	inspect_u64(t, rb, "suballoc_size", st->recv_suballoc_size);
	inspect_u64(t, rb, "suballocs", st->recv_suballocs);
	inspect_u64(t, rb, "free", n->nfree_subs);
	inspect_u64(t, rb, "held_by_guest",
		    st->recv_suballocs > n->nfree_subs ? st->recv_suballocs - n->nfree_subs : 0);
	Mhcl__Node *sb = inspect_dir(t, dir, "send_buffer");
	inspect_u64(t, sb, "gpadl", st->send_gpadl);
	inspect_u64(t, sb, "section_size", st->send_section_size);
	inspect_u64(t, sb, "sections", st->send_sections);
	Mhcl__Node *r = inspect_dir(t, dir, "rndis");
	inspect_bool(t, r, "initialized", rs->initialized);
	inspect_strf(t, r, "packet_filter", "%#x", rs->packet_filter);
	inspect_bool(t, r, "tx_checksum", rs->tx_csum);
	inspect_bool(t, r, "tx_lso", rs->tx_lso);
	inspect_bool(t, r, "rx_checksum", rs->rx_csum);
	inspect_bool(t, r, "rss_enabled", rs->rss_enabled);
	inspect_u64(t, r, "rss_table_size", rs->rss_table_size);
	if (rs->rss_table_size) {
		char buf[RNDIS_RSS_TABLE_MAX * 3 + 1];
		size_t at = 0;
		for (uint32_t i = 0; i < rs->rss_table_size && i < RNDIS_RSS_TABLE_MAX; i++)
			at += (size_t)snprintf(buf + at, sizeof(buf) - at, "%s%u", i ? " " : "",
					       rs->rss_table[i]);
		inspect_str(t, r, "rss_table", buf);
	}
	inspect_u64(t, dir, "subchannels", st->subchannels);
	Mhcl__Node *qs = inspect_dir(t, dir, "queues");
	for (unsigned q = 0; q < n->nqueues; q++) {
		char name[16];
		snprintf(name, sizeof(name), "%u", q);
		Mhcl__Node *d = inspect_dir(t, qs, name);
		inspect_bool(t, d, "rx_stalled", n->queues[q].rx_stalled);
		inspect_u64(t, d, "rx_reads", n->queues[q].rx_reads);
		inspect_u64(t, d, "rx_frames", n->queues[q].rx_frames);
		inspect_u64(t, d, "rx_batch", n->queues[q].rx_batch);
		inspect_u64(t, d, "tx_waiters", n->queues[q].tx_waiters);
	}
	Mhcl__Node *cs = inspect_dir(t, dir, "channels");
	for (unsigned i = 0; i < n->nchans; i++) {
		char name[16];
		snprintf(name, sizeof(name), "%u", i);
		inspect_chan(n->chans[i], t, inspect_dir(t, cs, name));
	}
}

static void free_nic(uv_handle_t *h)
{
	struct net_queue *q = h->data;
	struct net_nic *n = q->nic;
	/* libuv runs close callbacks in no promised order: the last one frees. */
	if (--n->closing)
		return;
	free(n->free_subs);
	free(n);
}

void net_nic_free(struct net_nic *n)
{
	if (!n)
		return;
	for (unsigned i = 0; i < NET_MAX_CHANNELS; i++) {
		if (n->chans[i])
			busy_poll_stop(n->poll, &n->chans[i]->poll);
		free(n->chans[i]);
	}
	net_buf_unmap(&n->recv);
	net_buf_unmap(&n->send);
	if (n->nqueues == 0) {
		free(n->free_subs);
		free(n);
		return;
	}
	n->closing = n->nqueues;
	for (unsigned q = 0; q < n->nqueues; q++)
		uv_close((uv_handle_t *)&n->queues[q].poll, free_nic);
}
