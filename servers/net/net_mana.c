/* SPDX-License-Identifier: MIT */
#include "net_mana.h"

#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devaccess.h"
#include "mana.h"
#include "server.h"

/* Where the driver's DMA memory sits in the device's address space. */
#define NET_MANA_MEM_IOVA (1ull << 32)
#define VFIO_USER_PREFIX "vfio-user:"
/* init's fd store: the driver's memfd, and a VFIO function's fds in adopt order. */
#define KEPT_MEM "mana-mem"
static const char *const kept_vfio[DEVACCESS_VFIO_NFDS] = {"mana-ctr", "mana-grp", "mana-dev"};

struct net_mana {
	struct net_backend be; /* first: net_mana_backend() hands it out */
	struct devaccess *da;
	struct mana_dev *dev;
	char spec[128];
	unsigned nqueues; /* asked for */
	bool vfio;	  /* VFIO, else vfio-user */
	bool keepalive;	  /* keep the function across instances */
	bool adopt;	  /* a kept function waits in init's store */
	bool adopted;
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
	/* -EAGAIN: every bounce buffer is still on the wire. The guest's packet waits in
	 * its ring (the guest sees back-pressure, as from a NIC) until a TX completion
	 * makes the queue's eventfd readable (be_tx_wait). */
	return r;
}

static void take_events(struct mana_queue *mq)
{
	uint64_t v;
	while (read(mana_queue_fd(mq), &v, sizeof(v)) == (ssize_t)sizeof(v))
		;
}

static void be_tx_wait(struct net_backend *b, unsigned q, bool rx_idle)
{
	struct mana_queue *mq = queue(b, q);

	/* Otherwise the receive path drains the queue next and arms it (rearm); the
	 * waiters' retry reaps (be_send). */
	if (!rx_idle)
		return;
	/* Nobody reads the RX completions now: arming their CQ would signal at once. */
	take_events(mq);
	(void)mana_tx_reap(mq);
	(void)mana_queue_arm_tx(mq);
}

/* Nothing more to read: take the event, free TX buffers, arm the queue again (the
 * device signals at once if frames came meanwhile). */
static void rearm(struct mana_queue *mq)
{
	take_events(mq);
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
    .tx_wait = be_tx_wait,
};

static struct mana_opts opts(const struct net_mana *m)
{
	return (struct mana_opts){.nr_queues = m->nqueues, .mem_iova = NET_MANA_MEM_IOVA};
}

/* The function is up (brought up or adopted): its queues become the backend's. */
static void serve(struct net_mana *m)
{
	struct mana_info info;

	mana_dev_info(m->dev, &info);
	m->be.ops = &mana_ops;
	m->be.nqueues = info.nr_queues;
	snprintf(m->be.name, sizeof(m->be.name), "%.*s", (int)sizeof(m->be.name) - 1, m->spec);
	for (unsigned q = 0; q < info.nr_queues; q++)
		(void)mana_queue_arm(mana_dev_queue(m->dev, q));
}

int net_mana_open(const char *spec, unsigned nqueues, bool vfio_keepalive, struct net_mana **ret)
{
	struct net_mana *m = calloc(1, sizeof(*m));
	bool kept = srv_stored_pending(KEPT_MEM);
	struct mana_opts o;
	int r;

	if (!m)
		return -ENOMEM;
	snprintf(m->spec, sizeof(m->spec), "%s", spec);
	m->nqueues = nqueues < MANA_MAX_QUEUES ? nqueues : MANA_MAX_QUEUES;
	if (!strncmp(spec, VFIO_USER_PREFIX, strlen(VFIO_USER_PREFIX))) {
		/* The device kept its state while no client was there. */
		r = devaccess_vfio_user_open(spec + strlen(VFIO_USER_PREFIX), &m->da);
		m->keepalive = true;
		m->adopt = r == 0 && kept;
	} else {
		m->vfio = true;
		m->keepalive = vfio_keepalive;
		kept = kept && vfio_keepalive;
		r = devaccess_vfio_open(spec, &m->da);
		/* Busy: init holds the fds a previous instance kept. Free: the function was
		 * reset when the last one closed, and any kept state is stale. */
		if (r == -EBUSY && kept) {
			m->adopt = true;
			r = 0;
		}
	}
	if (r == 0 && !m->adopt) {
		o = opts(m);
		r = mana_dev_init(m->da, &o, &m->dev);
	}
	if (r < 0) {
		net_mana_free(m);
		return r;
	}
	if (m->dev)
		serve(m);
	*ret = m;
	return 0;
}

/* A fresh function: init keeps what the next instance needs to adopt it (the memfd
 * last: once it is kept, so are the VFIO fds). */
static int keep(struct net_mana *m, struct srv *s)
{
	int fds[DEVACCESS_VFIO_NFDS];
	int r;

	if (m->vfio) {
		if (devaccess_kept_fds(m->da, fds, DEVACCESS_VFIO_NFDS) != DEVACCESS_VFIO_NFDS)
			return log_error_errno(-EINVAL, "MANA %s: VFIO names no fds to keep",
					       m->spec);
		for (unsigned i = 0; i < DEVACCESS_VFIO_NFDS; i++) {
			r = srv_fd_store(s, kept_vfio[i], fds[i]);
			if (r < 0)
				return log_error_errno(r, "MANA %s: unable to keep %s: %m", m->spec,
						       kept_vfio[i]);
		}
	}
	r = srv_fd_store(s, KEPT_MEM, mana_dev_mem_fd(m->dev));
	if (r < 0)
		return log_error_errno(r, "MANA %s: unable to keep the driver's memory: %m",
				       m->spec);
	return 0;
}

static void forget(struct srv *s, bool vfio)
{
	(void)srv_fd_remove(s, KEPT_MEM);
	for (unsigned i = 0; vfio && i < DEVACCESS_VFIO_NFDS; i++)
		(void)srv_fd_remove(s, kept_vfio[i]);
}

static int adopt(struct net_mana *m, struct srv *s)
{
	int fds[DEVACCESS_VFIO_NFDS] = {-1, -1, -1};
	int mem = srv_stored_fd(s, KEPT_MEM);
	struct mana_opts o = opts(m);
	struct mana_stats st;
	int r = mem < 0 ? -ENOENT : 0;

	for (unsigned i = 0; m->vfio && i < DEVACCESS_VFIO_NFDS; i++) {
		fds[i] = srv_stored_fd(s, kept_vfio[i]);
		if (fds[i] < 0)
			r = -ENOENT;
	}
	if (r == 0 && m->vfio) {
		r = devaccess_vfio_adopt(fds[0], fds[1], fds[2], &m->da);
		if (r == 0)
			fds[0] = fds[1] = fds[2] = -1;
	}
	if (r == 0)
		r = mana_dev_adopt(m->da, mem, &o, &m->dev);
	if (r < 0) {
		for (unsigned i = 0; i < DEVACCESS_VFIO_NFDS; i++)
			if (fds[i] >= 0)
				close(fds[i]);
		if (mem >= 0)
			close(mem);
		/* The next instance starts without it and brings the function up. */
		forget(s, m->vfio);
		return log_error_errno(r,
				       "MANA %s: the function a previous instance left running "
				       "does not adopt (init forgets it): %m",
				       m->spec);
	}
	m->adopted = true;
	serve(m);
	mana_dev_stats(m->dev, &st);
	log_info("MANA %s: adopted live (no HWC command, no reset): %llu TX frames were in "
		 "flight, %llu received frames waiting",
		 m->spec, (unsigned long long)st.adopt_tx_in_flight,
		 (unsigned long long)st.adopt_rx_pending);
	return 0;
}

int net_mana_attach(struct net_mana *m, struct srv *s)
{
	if (m->adopt)
		return adopt(m, s);
	if (!m->keepalive) {
		log_warn("MANA %s: not kept across restarts: the '%s' profile does not allow "
			 "adopting a VFIO function (VFIO ioctls, config-space reads)",
			 m->spec, srv_policy(s));
		return 0;
	}
	return keep(m, s);
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

bool net_mana_adopted(const struct net_mana *m)
{
	return m->adopted;
}

void net_mana_inspect(const struct net_mana *m, struct inspect_tree *t, Mhcl__Node *dir)
{
	struct mana_stats st;

	inspect_str(t, dir, "device", m->spec);
	inspect_bool(t, dir, "adopted_live", m->adopted);
	if (!m->dev)
		return;
	mana_dev_stats(m->dev, &st);
	inspect_u64(t, dir, "queues", m->be.nqueues);
	inspect_u64(t, dir, "tx_frames", st.tx_frames);
	inspect_u64(t, dir, "tx_errors", st.tx_errors);
	inspect_u64(t, dir, "rx_frames", st.rx_frames);
	inspect_u64(t, dir, "rx_dropped", st.rx_dropped);
	inspect_u64(t, dir, "adopt_tx_in_flight", st.adopt_tx_in_flight);
	inspect_u64(t, dir, "stale_tx_completions", st.stale_tx_completions);
	inspect_u64(t, dir, "adopt_rx_pending", st.adopt_rx_pending);
	Mhcl__Node *bad = inspect_dir(t, dir, "refused");
	inspect_u64(t, bad, "bad_owner", st.bad_owner);
	inspect_u64(t, bad, "bad_eqes", st.bad_eqes);
	inspect_u64(t, bad, "bad_cqes", st.bad_cqes);
	inspect_u64(t, bad, "bad_hwc_responses", st.bad_hwc_responses);
	inspect_u64(t, bad, "hwc_errors", st.hwc_errors);
}

void net_mana_free(struct net_mana *m)
{
	if (!m)
		return;
	/* The function stays up: init keeps what the next instance adopts. */
	mana_dev_close(m->dev);
	devaccess_close(m->da);
	free(m);
}
