/* SPDX-License-Identifier: MIT */
/*
 * The data path: frames copied through per-queue bounce buffers in DMA memory (the
 * guest's pages are not mapped for this device), TX WQEs with the short (or long) TX
 * OOB, RX buffers reposted in order, completions matched by position.
 */
#include <errno.h>
#include <string.h>

#include "mana_internal.h"

#define ETH_HLEN 14u
#define ETH_P_IPV4 0x0800u
#define ETH_P_IPV6 0x86ddu
#define ETH_P_VLAN 0x8100u
#define CSUM_OFF_TCP 16u
#define CSUM_OFF_UDP 6u
#define TRANS_OFF_MAX 0x3ffu

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* The checksum flags of the short OOB for a frame (already in the bounce buffer). */
static int tx_csum_flags(const uint8_t *frame, size_t len, const struct mana_offload *o,
			 uint32_t *w0, uint32_t *w1)
{
	uint16_t proto;

	if (!o || !(o->flags & MANA_OFFLOAD_CSUM))
		return 0;
	proto = be16(frame + 12);
	if (proto == ETH_P_VLAN && len >= ETH_HLEN + 4)
		proto = be16(frame + 16);
	if (proto == ETH_P_IPV4)
		*w0 |= MANA_TX_OOB_IS_OUTER_IPV4;
	else if (proto == ETH_P_IPV6)
		*w0 |= MANA_TX_OOB_IS_OUTER_IPV6;
	else
		return -EOPNOTSUPP;
	if (o->csum_offset == CSUM_OFF_TCP)
		*w0 |= MANA_TX_OOB_COMP_TCP_CSUM;
	else if (o->csum_offset == CSUM_OFF_UDP)
		*w0 |= MANA_TX_OOB_COMP_UDP_CSUM;
	else
		return -EOPNOTSUPP;
	if (o->csum_start > TRANS_OFF_MAX || o->csum_start >= len)
		return -EOPNOTSUPP;
	*w1 |= o->csum_start;
	return 0;
}

int mana_tx(struct mana_queue *q, const struct iovec *iov, int iovcnt,
	    const struct mana_offload *offload)
{
	struct mana_dev *d = q->dev;
	uint32_t slot = q->tx_posted % MANA_QUEUE_DEPTH;
	uint8_t *buf = q->tx_buf + (size_t)slot * MANA_BUF_SIZE;
	struct mana_tx_oob oob = {0};
	struct gdma_sge sge;
	size_t len = 0;
	uint32_t oob_len = sizeof(oob.s_oob);
	int r;

	if (d->failed)
		return -EIO;
	if (offload && offload->gso_type != 0)
		return -EOPNOTSUPP;
	if (iovcnt < 0)
		return -EINVAL;
	for (int i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > MANA_BUF_SIZE - len)
			return -EMSGSIZE;
		len += iov[i].iov_len;
	}
	if (len < ETH_HLEN)
		return -EMSGSIZE;
	if (q->tx_posted - q->tx_done >= MANA_QUEUE_DEPTH)
		return -EAGAIN;
	len = 0;
	for (int i = 0; i < iovcnt; i++) {
		memcpy(buf + len, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
	}
	oob.s_oob.w0 = (q->tx_cq.id & 0xffffffu) << 8;
	r = tx_csum_flags(buf, len, offload, &oob.s_oob.w0, &oob.s_oob.w1);
	if (r < 0)
		return r;
	if (d->tx_short_form) {
		oob.s_oob.w0 |= MANA_SHORT_PKT_FMT;
		oob.s_oob.w1 |= (uint32_t)d->tx_vport_offset << 24;
	} else {
		oob.s_oob.w0 |= MANA_LONG_PKT_FMT;
		oob.l_oob.w1 = (uint32_t)d->tx_vport_offset << 16;
		oob_len = sizeof(oob);
	}
	sge = (struct gdma_sge){.address = q->tx_buf_iova + (uint64_t)slot * MANA_BUF_SIZE,
				.mem_key = d->gpa_mkey,
				.size = (uint32_t)len};
	r = mana__wq_post(&q->sq, &oob, oob_len, &sge);
	if (r < 0)
		return r;
	/* Committed before the doorbell: a kill in between leaves a post the next
	 * instance's doorbell delivers. */
	q->tx_posted++;
	mana__commit_tx_posted(q);
	mana__wq_doorbell(d, &q->sq);
	d->stats.tx_frames++;
	return 0;
}

int mana_tx_reap(struct mana_queue *q)
{
	struct mana_dev *d = q->dev;
	struct gdma_cqe cqe;
	uint32_t type;
	int n = 0, r;

	for (uint32_t i = 0; i < q->tx_cq.entries; i++) {
		r = mana__cq_next(&q->tx_cq, &cqe);
		if (r < 0)
			d->stats.bad_owner++;
		if (r <= 0)
			break;
		if (q->tx_posted == q->tx_done) {
			d->stats.bad_cqes++; /* nothing in flight to complete */
			mana__commit_tx(q);
			continue;
		}
		/* A CQ serves one SQ, completed in order: this entry ends the oldest WQE,
		 * whatever it says; a bad one counts as a failed send. */
		if (mana__tx_cqe_check(&cqe, q->sq.id, &type) < 0) {
			d->stats.bad_cqes++;
			d->stats.tx_errors++;
		} else if (type != MANA_CQE_TX_OKAY) {
			d->stats.tx_errors++;
		}
		/* Posted by the instance this one adopted from. */
		if ((int32_t)(q->tx_stale_end - q->tx_done) > 0)
			d->stats.stale_tx_completions++;
		q->sq.head += d->tx_wqe_size;
		q->tx_done++;
		mana__commit_tx(q);
		n++;
	}
	return n;
}

static int copy_out(const uint8_t *src, size_t len, const struct iovec *iov, int iovcnt)
{
	size_t room = 0;

	for (int i = 0; i < iovcnt; i++)
		room += iov[i].iov_len;
	if (room < len)
		return -EMSGSIZE;
	for (int i = 0; i < iovcnt && len > 0; i++) {
		size_t chunk = iov[i].iov_len < len ? iov[i].iov_len : len;

		memcpy(iov[i].iov_base, src, chunk);
		src += chunk;
		len -= chunk;
	}
	return 0;
}

int mana_rx(struct mana_queue *q, const struct iovec *iov, int iovcnt, size_t *ret_len,
	    struct mana_offload *ret_offload)
{
	struct mana_dev *d = q->dev;
	struct mana_rx_done done;
	struct gdma_cqe cqe;
	const uint8_t *buf;
	int r, rp;

	if (d->failed)
		return -EIO;
	for (uint32_t i = 0; i < q->rx_cq.entries; i++) {
		done = (struct mana_rx_done){0};
		r = mana__cq_next(&q->rx_cq, &cqe);
		if (r < 0)
			d->stats.bad_owner++;
		if (r <= 0)
			return -EAGAIN;
		r = mana__rx_cqe_check(&cqe, q->rq.id, &done);
		if (r == 0 && done.fence) {
			mana__commit_rx(q);
			continue;
		}
		/* As for TX: the entry completes the oldest posted buffer, good or bad. */
		buf = q->rx_buf + (size_t)(q->rx_done % MANA_QUEUE_DEPTH) * MANA_BUF_SIZE;
		if (r == -EPROTO)
			d->stats.bad_cqes++;
		if (r == 0)
			r = copy_out(buf, done.len, iov, iovcnt);
		/* The frame is the caller's once this commits (the call returns it); a kill
		 * before the commit leaves it to the next instance. */
		rp = mana__rx_repost(q);
		mana__commit_rx(q);
		if (rp == 0)
			mana__wq_doorbell(d, &q->rq);
		if (r < 0) {
			d->stats.rx_dropped++;
			if (r == -EMSGSIZE && done.len)
				return -EMSGSIZE;
			continue;
		}
		d->stats.rx_frames++;
		*ret_len = done.len;
		if (ret_offload) {
			memset(ret_offload, 0, sizeof(*ret_offload));
			if (done.flags & (MANA_RXCOMP_TCP_CSUM_OK | MANA_RXCOMP_UDP_CSUM_OK))
				ret_offload->flags = MANA_OFFLOAD_CSUM_VALID;
		}
		return 0;
	}
	return -EAGAIN;
}

int mana_queue_fd(const struct mana_queue *q)
{
	return q->efd;
}

static int arm(struct mana_queue *q, bool rx)
{
	struct mana_dev *d = q->dev;
	const uint32_t cqs[2] = {q->tx_cq.id, q->rx_cq.id};
	struct gdma_eqe e;
	int r = 0;

	if (d->failed)
		return -EIO;
	for (uint32_t i = 0; i < q->eq.entries; i++) {
		r = mana__cq_next(&q->eq, &e);
		if (r <= 0)
			break;
		if (mana__eqe_check(&e, cqs, 2) < 0)
			d->stats.bad_eqes++;
	}
	if (r < 0)
		d->stats.bad_owner++;
	mana__commit_eq(q);
	mana__cq_doorbell(d, &q->tx_cq, true);
	if (rx)
		mana__cq_doorbell(d, &q->rx_cq, true);
	mana__cq_doorbell(d, &q->eq, true);
	return 0;
}

int mana_queue_arm(struct mana_queue *q)
{
	return arm(q, true);
}

int mana_queue_arm_tx(struct mana_queue *q)
{
	return arm(q, false);
}
