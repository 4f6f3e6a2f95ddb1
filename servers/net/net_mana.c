/* SPDX-License-Identifier: MIT */
#include "net_mana.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devaccess.h"
#include "mana.h"

/* Where the driver's DMA memory sits in the device's address space. */
#define NET_MANA_MEM_IOVA (1ull << 32)
#define VFIO_USER_PREFIX "vfio-user:"

struct net_mana {
	struct net_backend be; /* first: net_mana_backend() hands it out */
	struct devaccess *da;
	struct mana_dev *dev;
};

static struct mana_queue *queue(struct net_backend *b, unsigned q)
{
	return mana_dev_queue(((struct net_mana *)b)->dev, q);
}

static int be_send(struct net_backend *b, unsigned q, const struct iovec *iov, int iovcnt,
		   const struct net_offload *off)
{
	struct mana_queue *mq = queue(b, q);
	struct mana_offload mo = {off->flags & NET_OFFLOAD_CSUM ? MANA_OFFLOAD_CSUM : 0u,
				  off->gso_type,
				  off->hdr_len,
				  off->gso_size,
				  off->csum_start,
				  off->csum_offset};
	int r = mana_tx(mq, iov, iovcnt, &mo);
	if (r == -EAGAIN) {
		(void)mana_tx_reap(mq);
		r = mana_tx(mq, iov, iovcnt, &mo);
	}
	/* Every bounce buffer still on the wire: drop rather than stall the channel (the
	 * queue's eventfd says nothing about TX room, so waiting would be a poll loop). */
	return r == -EAGAIN ? -ENOBUFS : r;
}

/* Nothing more to read: take the event, free TX buffers, arm the queue again (the
 * device signals at once if frames came meanwhile). */
static void rearm(struct mana_queue *mq)
{
	uint64_t v;
	while (read(mana_queue_fd(mq), &v, sizeof(v)) == (ssize_t)sizeof(v))
		;
	(void)mana_tx_reap(mq);
	(void)mana_queue_arm(mq);
}

static int be_recv(struct net_backend *b, unsigned q, const struct iovec *iov, int iovcnt,
		   struct net_offload *off)
{
	struct mana_queue *mq = queue(b, q);
	struct mana_offload mo;
	size_t len = 0;
	int r = mana_rx(mq, iov, iovcnt, &len, &mo);
	if (r == -EAGAIN) {
		rearm(mq);
		return r;
	}
	if (r < 0)
		return r;
	*off = (struct net_offload){0};
	if (mo.flags & MANA_OFFLOAD_CSUM_VALID)
		off->flags = NET_OFFLOAD_CSUM_VALID;
	return (int)len;
}

static int be_fd(const struct net_backend *b, unsigned q)
{
	return mana_queue_fd(mana_dev_queue(((const struct net_mana *)b)->dev, q));
}

static const struct net_backend_ops mana_ops = {
    .kind = "mana",
    .send = be_send,
    .recv = be_recv,
    .fd = be_fd,
};

int net_mana_open(const char *spec, unsigned nqueues, struct net_mana **ret)
{
	struct net_mana *m = calloc(1, sizeof(*m));
	struct mana_opts o = {.nr_queues = nqueues, .mem_iova = NET_MANA_MEM_IOVA};
	struct mana_info info;
	int r;

	if (!m)
		return -ENOMEM;
	if (!strncmp(spec, VFIO_USER_PREFIX, strlen(VFIO_USER_PREFIX)))
		r = devaccess_vfio_user_open(spec + strlen(VFIO_USER_PREFIX), &m->da);
	else
		r = devaccess_vfio_open(spec, &m->da);
	if (r == 0)
		r = mana_dev_init(m->da, &o, &m->dev);
	if (r < 0) {
		net_mana_free(m);
		return r;
	}
	mana_dev_info(m->dev, &info);
	m->be.ops = &mana_ops;
	m->be.nqueues = info.nr_queues;
	snprintf(m->be.name, sizeof(m->be.name), "%s", spec);
	for (unsigned q = 0; q < info.nr_queues; q++)
		(void)mana_queue_arm(mana_dev_queue(m->dev, q));
	*ret = m;
	return 0;
}

struct net_backend *net_mana_backend(struct net_mana *m)
{
	return &m->be;
}

void net_mana_mac(const struct net_mana *m, uint8_t mac[6])
{
	struct mana_info info;
	mana_dev_info(m->dev, &info);
	memcpy(mac, info.mac, 6);
}

void net_mana_free(struct net_mana *m)
{
	if (!m)
		return;
	mana_dev_close(m->dev);
	devaccess_close(m->da);
	free(m);
}
