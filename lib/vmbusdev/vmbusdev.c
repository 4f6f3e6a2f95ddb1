/* SPDX-License-Identifier: MIT */
#include "vmbusdev.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "defs/hv_defs.h"
#include "guestmem.h"
#include "ipc.h"
#include "log_limit.h"

#define SIEFP_FLAGS_BYTES 256u /* one SINT's event flags */
#define VMBUS_SINT 2u

/* The doorbell's poll handle outlives the open it belongs to until libuv lets it go. */
struct doorbell {
	uv_poll_t poll;
	int fd;
	struct vmbusdev_chan *c; /* NULL once the open ended */
};

struct vmbusdev_chan {
	struct vmbusdev *v;
	Mhcl__Vmbus__DeviceOffer offer;
	uint8_t if_type[16], if_instance[16], user_def[120];
	const struct vmbusdev_chan_ops *ops;
	void *opaque;
	bool open;
	uint32_t relid, target_vp;
	int irqfd;
	struct vmbus_ring in, out;
	struct doorbell *bell;
	struct vmbusdev_gpadl gpadls[VMBUSDEV_MAX_GPADLS];
	uint32_t ngpadls;
	uint64_t opens, resumes, open_refusals, doorbells, interrupts, interrupt_failures, modifies;
	uint64_t gpadls_added, gpadls_removed, gpadls_refused;
};

struct vmbusdev {
	uv_loop_t *loop;
	struct ipc_chan *ch;
	vmbusdev_lost_fn lost;
	void *opaque;
	struct guestmem
	    gm; /* the partition's RAM, as the last VmbusdChannelOpen with a memfd said */
	uint64_t partition;
	uint64_t siefp[VMBUSDEV_MAX_VPS]; /* 0: unknown or disabled */
	struct vmbusdev_chan *chans[VMBUSDEV_MAX_CHANNELS];
	uint32_t nchans;
	bool registered;
	bool dying;		  /* vmbusdev_free() ran: on_close frees */
	uint64_t gpadl_partition; /* the partition the channels' GPADLs belong to */
	uint64_t bad_messages, memfd_maps;
	/* Opens, closes and GPADLs follow the guest's pace: their lines are rate limited. */
	struct log_limit log;
};

/* ---- one channel's data path ---- */

static void doorbell_cb(uv_poll_t *p, int status, int events)
{
	struct doorbell *bell = p->data;
	uint64_t n;

	(void)events;
	if (read(bell->fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		status = -errno;
	if (!bell->c || status < 0)
		return;
	bell->c->doorbells++;
	bell->c->ops->signaled(bell->c, bell->c->opaque);
}

static void doorbell_closed(uv_handle_t *h)
{
	struct doorbell *bell = h->data;
	close(bell->fd);
	free(bell);
}

/* Stops the data path; `device_knows` says whether ops->open accepted it (a refused
 * open is not closed again: the device's own channel may be open on other terms). */
static void chan_teardown(struct vmbusdev_chan *c, bool device_knows)
{
	if (!c->open)
		return;
	c->open = false;
	if (device_knows)
		c->ops->close(c, c->opaque);
	c->bell->c = NULL;
	uv_close((uv_handle_t *)&c->bell->poll, doorbell_closed);
	c->bell = NULL;
	vmbus_ring_fini(&c->in);
	vmbus_ring_fini(&c->out);
	if (c->irqfd >= 0)
		close(c->irqfd);
	c->irqfd = -1;
}

static void chan_stop(struct vmbusdev_chan *c)
{
	chan_teardown(c, true);
}

int vmbusdev_chan_signal(struct vmbusdev_chan *c)
{
	struct vmbusdev *v = c->v;
	uint64_t one = 1;
	uint8_t *flags = NULL;

	if (c->open && v->siefp[c->target_vp])
		flags = guestmem_ptr(
		    &v->gm, v->siefp[c->target_vp] + (uint64_t)VMBUS_SINT * SIEFP_FLAGS_BYTES,
		    SIEFP_FLAGS_BYTES);
	if (!flags || c->relid >= SIEFP_FLAGS_BYTES * 8) {
		c->interrupt_failures++;
		return -ENXIO;
	}
	__atomic_fetch_or(&flags[c->relid / 8], (uint8_t)(1u << (c->relid % 8)), __ATOMIC_SEQ_CST);
	if (write(c->irqfd, &one, sizeof(one)) != sizeof(one)) {
		c->interrupt_failures++;
		return -errno;
	}
	c->interrupts++;
	return 0;
}

/* ---- VmbusdChannelOpen / VmbusdChannelClose from vmbusd ---- */

static struct vmbusdev_chan *chan_of(struct vmbusdev *v, uint32_t offer_id)
{
	if (offer_id == 0 || offer_id > v->nchans)
		return NULL;
	return v->chans[offer_id - 1];
}

/* Maps a new partition's guest RAM; channels of the old one are stopped first. The same
 * partition's memfd sent again (a new connection, a refused open) keeps the mapping. */
static int map_ram(struct vmbusdev *v, const Mhcl__Vmbus__VmbusdChannelOpen *m, int memfd,
		   const char **why)
{
	struct guestmem_layout l = {.nranges = (unsigned)m->n_ram};
	struct guestmem gm;
	int r;

	if (guestmem_is_mapped(&v->gm) && m->partition == v->partition)
		return 0;
	if (m->n_ram == 0 || m->n_ram > GUESTMEM_MAX_RANGES) {
		*why = "want 1..16 RAM ranges with the memfd";
		return -EINVAL;
	}
	for (size_t i = 0; i < m->n_ram; i++)
		l.ranges[i] = (struct guestmem_range){m->ram[i]->gpa, m->ram[i]->size,
						      m->ram[i]->memfd_offset};
	int fd = dup(memfd);
	if (fd < 0) {
		*why = "unable to keep the memfd";
		return -errno;
	}
	r = guestmem_map(&gm, fd, &l, why);
	if (r < 0) {
		close(fd);
		return r;
	}
	for (uint32_t i = 0; i < v->nchans; i++)
		chan_stop(v->chans[i]);
	guestmem_release(&v->gm);
	v->gm = gm;
	memset(v->siefp, 0, sizeof(v->siefp));
	v->partition = m->partition;
	v->memfd_maps++;
	return 0;
}

static int start_rings(struct vmbusdev_chan *c, const Mhcl__Vmbus__VmbusdChannelOpen *m,
		       int doorbell, const char **why)
{
	uint8_t **pages = calloc(m->n_pfns, sizeof(*pages));
	struct doorbell *bell = calloc(1, sizeof(*bell));
	size_t bad;
	int r;

	if (!pages || !bell) {
		r = -ENOMEM;
		*why = "out of memory";
		goto err;
	}
	r = guestmem_pages(&c->v->gm, m->pfns, m->n_pfns, pages, &bad);
	if (r < 0) {
		*why = "a ring page is outside guest RAM";
		goto err;
	}
	r = vmbus_ring_pair_init(&c->in, &c->out, (void *const *)pages, (uint32_t)m->n_pfns,
				 m->downstream_page, true);
	if (r < 0) {
		*why = "the ring's indices or layout are not usable";
		goto err;
	}
	free(pages);
	pages = NULL;
	bell->fd = dup(doorbell);
	if (bell->fd < 0 || uv_poll_init(c->v->loop, &bell->poll, bell->fd) < 0) {
		r = -EIO;
		*why = "unable to watch the doorbell";
		if (bell->fd >= 0)
			close(bell->fd);
		goto err_rings;
	}
	bell->poll.data = bell;
	bell->c = c;
	r = uv_poll_start(&bell->poll, UV_READABLE, doorbell_cb);
	if (r < 0) {
		*why = "unable to watch the doorbell";
		bell->c = NULL;
		uv_close((uv_handle_t *)&bell->poll, doorbell_closed);
		bell = NULL;
		goto err_rings;
	}
	c->bell = bell;
	return 0;
err_rings:
	vmbus_ring_fini(&c->in);
	vmbus_ring_fini(&c->out);
err:
	free(pages);
	free(bell);
	return r;
}

static int chan_open(struct vmbusdev *v, const Mhcl__Vmbus__VmbusdChannelOpen *m,
		     struct ipc_msg *msg, const char **why)
{
	struct vmbusdev_chan *c = chan_of(v, m->offer_id);
	size_t fdi = 0;
	int r;

	if (msg->nfds != (m->n_ram ? 3u : 2u)) {
		*why = "want the doorbell and the irqfd (and the memfd with the RAM layout)";
		return -EINVAL;
	}
	if (m->n_ram) {
		r = map_ram(v, m, msg->fds[fdi++], why);
		if (r < 0)
			return r;
	} else if (!guestmem_is_mapped(&v->gm) || m->partition != v->partition) {
		*why = "no guest RAM for this partition";
		return -EINVAL;
	}
	if (!c) {
		*why = "no such offer";
		return -ENOENT;
	}
	if (c->open) {
		*why = "the channel is already open";
		return -EBUSY;
	}
	if (m->target_vp >= VMBUSDEV_MAX_VPS || m->n_pfns == 0 ||
	    m->n_pfns > VMBUSDEV_MAX_RING_PAGES || m->relid == 0 ||
	    m->relid >= SIEFP_FLAGS_BYTES * 8 || m->siefp_gpa % GUESTMEM_PAGE_SIZE ||
	    (m->siefp_gpa && !guestmem_ptr(&v->gm, m->siefp_gpa, GUESTMEM_PAGE_SIZE))) {
		*why = "bad relid, target VP, ring size or SIEFP page";
		return -EINVAL;
	}
	r = start_rings(c, m, msg->fds[fdi], why);
	if (r < 0)
		return r;
	if (m->siefp_gpa)
		v->siefp[m->target_vp] = m->siefp_gpa;
	c->irqfd = msg->fds[fdi + 1];
	msg->fds[fdi + 1] = -1;
	c->relid = m->relid;
	c->target_vp = m->target_vp;
	c->open = true;
	r = c->ops->open(c, m->resume, c->opaque, why);
	if (r < 0) {
		chan_teardown(c, false);
		return r;
	}
	if (m->resume)
		c->resumes++;
	else
		c->opens++;
	log_limit_info(&v->log, "%s relid %u: %zu ring pages, VP %u",
		       m->resume ? "adopted open" : "opened", c->relid, m->n_pfns, c->target_vp);
	/* The guest may have written before the doorbell was routed, or while this server
	 * was restarting. */
	if (c->open)
		c->ops->signaled(c, c->opaque);
	/* And the previous instance may have written to the guest and died before its
	 * interrupt: one more costs the guest a look at its ring. */
	if (m->resume && c->open)
		(void)vmbusdev_chan_signal(c);
	return 0;
}

static void channel_open(struct vmbusdev *v, struct ipc_chan *ch, struct ipc_msg *msg)
{
	Mhcl__Vmbus__VmbusdChannelOpen *m = (Mhcl__Vmbus__VmbusdChannelOpen *)ipc_msg_unpack(
	    ch, msg, &mhcl__vmbus__vmbusd_channel_open__descriptor);
	const char *why = "";
	int r;

	if (!m)
		return;
	r = chan_open(v, m, msg, &why);
	if (r < 0) {
		struct vmbusdev_chan *c = chan_of(v, m->offer_id);
		v->bad_messages++;
		if (c)
			c->open_refusals++;
		log_limit_warn_errno(&v->log, r, "refused to %s relid %u: %s: %m",
				     m->resume ? "adopt" : "open", m->relid, why);
		(void)ipc_chan_reply_error(ch, msg->request_id, msg->type, r, "%s", why);
	} else {
		Mhcl__Vmbus__DeviceChannelOpenReply rep =
		    MHCL__VMBUS__DEVICE_CHANNEL_OPEN_REPLY__INIT;
		(void)ipc_chan_reply(ch, msg->request_id, msg->type, &rep.base, NULL, 0);
	}
	protobuf_c_message_free_unpacked(&m->base, NULL);
}

static void channel_close(struct vmbusdev *v, struct ipc_chan *ch, struct ipc_msg *msg)
{
	Mhcl__Vmbus__VmbusdChannelClose *m = (Mhcl__Vmbus__VmbusdChannelClose *)ipc_msg_unpack(
	    ch, msg, &mhcl__vmbus__vmbusd_channel_close__descriptor);
	struct vmbusdev_chan *c;

	if (!m)
		return;
	c = chan_of(v, m->offer_id);
	if (c && c->open && c->relid == m->relid) {
		chan_stop(c);
		log_limit_info(&v->log, "closed relid %u", m->relid);
	} else {
		v->bad_messages++;
	}
	/* Answered either way: this device does not use that ring now. */
	Mhcl__Vmbus__DeviceChannelCloseReply rep = MHCL__VMBUS__DEVICE_CHANNEL_CLOSE_REPLY__INIT;
	(void)ipc_chan_reply(ch, msg->request_id, msg->type, &rep.base, NULL, 0);
	protobuf_c_message_free_unpacked(&m->base, NULL);
}

/* ---- GPADLs ---- */

static struct vmbusdev_gpadl *gpadl_find(struct vmbusdev_chan *c, uint32_t id)
{
	for (uint32_t i = 0; i < c->ngpadls; i++)
		if (c->gpadls[i].id == id)
			return &c->gpadls[i];
	return NULL;
}

static void gpadl_drop(struct vmbusdev_chan *c, struct vmbusdev_gpadl *g)
{
	free(g->pfns);
	*g = c->gpadls[--c->ngpadls];
	c->gpadls[c->ngpadls] = (struct vmbusdev_gpadl){0};
}

/* Copies one GPADL description from vmbusd after checking it describes itself
 * consistently (its pages are checked against guest RAM when they are mapped). */
static int gpadl_add(struct vmbusdev_chan *c, const Mhcl__Vmbus__VmbusdGpadlAdd *m,
		     const char **why)
{
	struct vmbusdev_gpadl *g;
	const Mhcl__Vmbus__GpadlRange *rg;

	if (m->n_ranges != 1 || m->n_pfns == 0 || m->n_pfns > VMBUSDEV_MAX_GPADL_PAGES) {
		*why = "want one range and 1..16384 pages";
		return -EINVAL;
	}
	rg = m->ranges[0];
	if (rg->pfn_index != 0 || rg->pfn_count != m->n_pfns ||
	    rg->byte_offset >= GUESTMEM_PAGE_SIZE || rg->byte_count == 0 ||
	    (uint64_t)rg->byte_offset + rg->byte_count > (uint64_t)m->n_pfns * GUESTMEM_PAGE_SIZE) {
		*why = "the range does not match its pages";
		return -EINVAL;
	}
	if (gpadl_find(c, m->gpadl)) {
		*why = "the GPADL is known already";
		return -EEXIST;
	}
	if (c->ngpadls == VMBUSDEV_MAX_GPADLS) {
		*why = "too many GPADLs on the channel";
		return -ENOSPC;
	}
	g = &c->gpadls[c->ngpadls];
	g->pfns = malloc(m->n_pfns * sizeof(uint64_t));
	if (!g->pfns) {
		*why = "out of memory";
		return -ENOMEM;
	}
	memcpy(g->pfns, m->pfns, m->n_pfns * sizeof(uint64_t));
	g->id = m->gpadl;
	g->byte_offset = rg->byte_offset;
	g->byte_count = rg->byte_count;
	g->npfns = (uint32_t)m->n_pfns;
	c->ngpadls++;
	c->gpadls_added++;
	return 0;
}

/* A new partition: the old one's GPADLs are gone with it. */
static void drop_gpadls(struct vmbusdev *v, uint64_t partition)
{
	for (uint32_t i = 0; i < v->nchans; i++)
		while (v->chans[i]->ngpadls)
			gpadl_drop(v->chans[i], &v->chans[i]->gpadls[0]);
	v->gpadl_partition = partition;
}

static void gpadl_request(struct vmbusdev *v, struct ipc_chan *ch, struct ipc_msg *msg)
{
	bool add = msg->type == IPC_MSG_VP_GPADL_ADD;
	ProtobufCMessage *pm = ipc_msg_unpack(ch, msg,
					      add ? &mhcl__vmbus__vmbusd_gpadl_add__descriptor
						  : &mhcl__vmbus__vmbusd_gpadl_remove__descriptor);
	const char *why = "no such channel";
	struct vmbusdev_chan *c;
	int r = -ENOENT;

	if (!pm)
		return;
	if (add) {
		Mhcl__Vmbus__VmbusdGpadlAdd *m = (Mhcl__Vmbus__VmbusdGpadlAdd *)pm;
		if (m->partition != v->gpadl_partition)
			drop_gpadls(v, m->partition);
		c = chan_of(v, m->offer_id);
		if (c)
			r = gpadl_add(c, m, &why);
	} else {
		Mhcl__Vmbus__VmbusdGpadlRemove *m = (Mhcl__Vmbus__VmbusdGpadlRemove *)pm;
		struct vmbusdev_gpadl *g;
		c = chan_of(v, m->offer_id);
		/* Answered either way: this device does not use those pages now. */
		r = 0;
		if (c && (g = gpadl_find(c, m->gpadl))) {
			if (c->ops->gpadl_removed)
				c->ops->gpadl_removed(c, g->id, c->opaque);
			gpadl_drop(c, g);
			c->gpadls_removed++;
		}
	}
	if (r < 0) {
		v->bad_messages++;
		if (c)
			c->gpadls_refused++;
		log_limit_warn_errno(&v->log, r, "refused a GPADL: %s: %m", why);
		(void)ipc_chan_reply_error(ch, msg->request_id, msg->type, r, "%s", why);
	} else {
		Mhcl__Vmbus__DeviceGpadlReply rep = MHCL__VMBUS__DEVICE_GPADL_REPLY__INIT;
		(void)ipc_chan_reply(ch, msg->request_id, msg->type, &rep.base, NULL, 0);
	}
	protobuf_c_message_free_unpacked(pm, NULL);
}

const struct vmbusdev_gpadl *vmbusdev_chan_gpadl(const struct vmbusdev_chan *c, uint32_t id)
{
	return gpadl_find((struct vmbusdev_chan *)c, id);
}

int vmbusdev_gpadl_iov(const struct vmbusdev_chan *c, const struct vmbusdev_gpadl *g,
		       uint64_t offset, uint64_t len, struct iovec *iov, size_t max)
{
	if (offset > g->byte_count || len > g->byte_count - offset)
		return -ERANGE;
	return guestmem_iov(&c->v->gm, g->pfns, g->npfns, g->byte_offset + offset, len, iov, max);
}

static void on_request(struct ipc_chan *ch, struct ipc_msg *msg, void *opaque)
{
	struct vmbusdev *v = opaque;

	if (msg->type == IPC_MSG_VP_GPADL_ADD || msg->type == IPC_MSG_VP_GPADL_REMOVE) {
		gpadl_request(v, ch, msg);
	} else if (msg->type == IPC_MSG_VP_CHANNEL_OPEN) {
		channel_open(v, ch, msg);
	} else if (msg->type == IPC_MSG_VP_CHANNEL_CLOSE) {
		channel_close(v, ch, msg);
	} else {
		v->bad_messages++;
		(void)ipc_chan_reply_error(ch, msg->request_id, msg->type, -EOPNOTSUPP,
					   "a device does not handle message type %u", msg->type);
	}
}

/* MODIFYCHANNEL: the channel's interrupts go to another VP, through that VP's irqfd. */
static void channel_modify(struct vmbusdev *v, struct ipc_chan *ch, struct ipc_msg *msg)
{
	Mhcl__Vmbus__VmbusdChannelModify *m = (Mhcl__Vmbus__VmbusdChannelModify *)ipc_msg_unpack(
	    ch, msg, &mhcl__vmbus__vmbusd_channel_modify__descriptor);
	struct vmbusdev_chan *c;

	if (!m)
		return;
	c = chan_of(v, m->offer_id);
	if (!c || !c->open || c->relid != m->relid || m->target_vp >= VMBUSDEV_MAX_VPS ||
	    msg->nfds != 1 || m->siefp_gpa % GUESTMEM_PAGE_SIZE ||
	    (m->siefp_gpa && !guestmem_ptr(&v->gm, m->siefp_gpa, GUESTMEM_PAGE_SIZE))) {
		v->bad_messages++;
		log_limit_warn(&v->log,
			       "refused to move relid %u to VP %u: no such open channel, or bad VP "
			       "or SIEFP page",
			       m->relid, m->target_vp);
	} else {
		if (m->siefp_gpa)
			v->siefp[m->target_vp] = m->siefp_gpa;
		close(c->irqfd);
		c->irqfd = msg->fds[0];
		msg->fds[0] = -1;
		log_limit_info(&v->log, "relid %u: interrupts now go to VP %u (was %u)", c->relid,
			       m->target_vp, c->target_vp);
		c->target_vp = m->target_vp;
		c->modifies++;
	}
	protobuf_c_message_free_unpacked(&m->base, NULL);
}

static void on_notify(struct ipc_chan *ch, struct ipc_msg *msg, void *opaque)
{
	struct vmbusdev *v = opaque;

	if (msg->type == IPC_MSG_VP_CHANNEL_MODIFY) {
		channel_modify(v, ch, msg);
		return;
	}
	if (msg->type != IPC_MSG_VP_SYNIC_PAGES) {
		v->bad_messages++;
		return;
	}
	Mhcl__Vmbus__WorkerSynicPages *m = (Mhcl__Vmbus__WorkerSynicPages *)ipc_msg_unpack(
	    ch, msg, &mhcl__vmbus__worker_synic_pages__descriptor);
	if (!m)
		return;
	if (m->vp >= VMBUSDEV_MAX_VPS || m->siefp_gpa % GUESTMEM_PAGE_SIZE ||
	    (m->siefp_gpa && !guestmem_ptr(&v->gm, m->siefp_gpa, GUESTMEM_PAGE_SIZE)))
		v->bad_messages++;
	else
		v->siefp[m->vp] = m->enabled ? m->siefp_gpa : 0;
	protobuf_c_message_free_unpacked(&m->base, NULL);
}

static void on_close(struct ipc_chan *ch, int reason, void *opaque)
{
	struct vmbusdev *v = opaque;

	(void)ch;
	v->ch = NULL;
	for (uint32_t i = 0; i < v->nchans; i++)
		chan_stop(v->chans[i]);
	if (v->dying)
		free(v);
	else if (v->lost)
		v->lost(v, reason, v->opaque);
}

static const struct ipc_chan_ops vmbusdev_ops = {
    .on_request = on_request,
    .on_notify = on_notify,
    .on_close = on_close,
};

/* ---- setup ---- */

int vmbusdev_connect(uv_loop_t *loop, const char *path, vmbusdev_lost_fn lost, void *opaque,
		     struct vmbusdev **ret)
{
	int fd = ipc_connect_unix(path, SOCK_SEQPACKET);

	for (int waited = 0;
	     (fd == -ECONNREFUSED || fd == -ENOENT) && waited < VMBUSDEV_CONNECT_WAIT_MS;
	     waited += 50) {
		(void)nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
		fd = ipc_connect_unix(path, SOCK_SEQPACKET);
	}
	if (fd < 0)
		return fd;
	return vmbusdev_attach(loop, fd, lost, opaque, ret);
}

int vmbusdev_attach(uv_loop_t *loop, int fd, vmbusdev_lost_fn lost, void *opaque,
		    struct vmbusdev **ret)
{
	struct vmbusdev *v = calloc(1, sizeof(*v));
	int r;

	if (!v) {
		close(fd);
		return -ENOMEM;
	}
	v->loop = loop;
	v->lost = lost;
	v->opaque = opaque;
	v->gm.memfd = -1;
	r = ipc_chan_open(loop, fd, IPC_TRANSPORT_SEQPACKET, &vmbusdev_ops, v, &v->ch);
	if (r < 0) {
		free(v);
		return r;
	}
	*ret = v;
	return 0;
}

static void free_keeping(struct vmbusdev *v, struct guestmem *keep)
{
	for (uint32_t i = 0; i < v->nchans; i++) {
		chan_stop(v->chans[i]);
		while (v->chans[i]->ngpadls)
			gpadl_drop(v->chans[i], &v->chans[i]->gpadls[0]);
		free(v->chans[i]);
		v->chans[i] = NULL;
	}
	v->nchans = 0;
	if (keep) {
		*keep = v->gm;
		v->gm = (struct guestmem){.memfd = -1};
	} else {
		guestmem_release(&v->gm);
	}
	if (!v->ch) {
		free(v);
		return;
	}
	/* on_close frees v once the loop has run the channel's close. */
	v->dying = true;
	ipc_chan_close(v->ch);
}

void vmbusdev_free(struct vmbusdev *v)
{
	if (v)
		free_keeping(v, NULL);
}

void vmbusdev_free_keep_ram(struct vmbusdev *v, struct guestmem *ret)
{
	*ret = (struct guestmem){.memfd = -1};
	if (v)
		free_keeping(v, ret);
}

static int copy_bytes(uint8_t *dst, size_t cap, const ProtobufCBinaryData *src,
		      ProtobufCBinaryData *out, bool exact)
{
	if (src->len > cap || (exact && src->len != cap))
		return -EINVAL;
	if (src->len)
		memcpy(dst, src->data, src->len);
	*out = (ProtobufCBinaryData){src->len, dst};
	return 0;
}

static void offer_reply(struct ipc_chan *ch, int status, struct ipc_msg *reply, void *opaque)
{
	struct vmbusdev_chan *c = opaque;
	char why[160] = "";

	if (status == -EREMOTEIO && reply)
		status = ipc_msg_error(reply, why, sizeof(why));
	if (status < 0) {
		log_error_errno(status, "vmbusd refused offer %u: %s: %m", c->offer.offer_id, why);
		ipc_chan_close(ch);
		return;
	}
	log_info("registered offer %u with vmbusd", c->offer.offer_id);
}

int vmbusdev_chan_new(struct vmbusdev *v, const Mhcl__Vmbus__DeviceOffer *offer,
		      const struct vmbusdev_chan_ops *ops, void *opaque, struct vmbusdev_chan **ret)
{
	struct vmbusdev_chan *c;

	if (v->nchans == VMBUSDEV_MAX_CHANNELS)
		return -ENOSPC;
	if (!ops || !ops->open || !ops->signaled || !ops->close)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->v = v;
	c->offer = *offer;
	c->offer.offer_id = v->nchans + 1;
	if (copy_bytes(c->if_type, 16, &offer->if_type, &c->offer.if_type, true) < 0 ||
	    copy_bytes(c->if_instance, 16, &offer->if_instance, &c->offer.if_instance, true) < 0 ||
	    copy_bytes(c->user_def, 120, &offer->user_def, &c->offer.user_def, false) < 0) {
		free(c);
		return -EINVAL;
	}
	c->ops = ops;
	c->opaque = opaque;
	c->irqfd = -1;
	if (v->registered) {
		/* Offered at once: a sub-channel the guest asked for (storvsc, netvsc vRSS). */
		int r = v->ch ? ipc_chan_request(v->ch, IPC_MSG_VP_DEVICE_OFFER, &c->offer.base,
						 NULL, 0, 0, offer_reply, c)
			      : -EPIPE;
		if (r < 0) {
			free(c);
			return r;
		}
	}
	v->chans[v->nchans++] = c;
	*ret = c;
	return 0;
}

int vmbusdev_register(struct vmbusdev *v)
{
	if (!v->ch)
		return -EPIPE;
	if (v->registered)
		return -EALREADY;
	for (uint32_t i = 0; i < v->nchans; i++) {
		int r = ipc_chan_request(v->ch, IPC_MSG_VP_DEVICE_OFFER, &v->chans[i]->offer.base,
					 NULL, 0, 0, offer_reply, v->chans[i]);
		if (r < 0)
			return r;
	}
	v->registered = true;
	return 0;
}

bool vmbusdev_chan_is_open(const struct vmbusdev_chan *c)
{
	return c->open;
}

struct vmbus_ring *vmbusdev_chan_in(struct vmbusdev_chan *c)
{
	return &c->in;
}

struct vmbus_ring *vmbusdev_chan_out(struct vmbusdev_chan *c)
{
	return &c->out;
}

const struct guestmem *vmbusdev_chan_guestmem(const struct vmbusdev_chan *c)
{
	return &c->v->gm;
}

uint32_t vmbusdev_chan_relid(const struct vmbusdev_chan *c)
{
	return c->relid;
}

void vmbusdev_inspect(const struct vmbusdev *v, struct inspect_tree *t, Mhcl__Node *dir)
{
	inspect_bool(t, dir, "connected", v->ch != NULL);
	inspect_u64(t, dir, "partition", v->partition);
	inspect_u64(t, dir, "ram_bytes", v->gm.map_len);
	inspect_u64(t, dir, "memfd_maps", v->memfd_maps);
	inspect_u64(t, dir, "bad_messages", v->bad_messages);
	inspect_u64(t, dir, "log_suppressed", log_limit_suppressed(&v->log));
}

void vmbusdev_chan_inspect(const struct vmbusdev_chan *c, struct inspect_tree *t, Mhcl__Node *dir)
{
	inspect_u64(t, dir, "offer_id", c->offer.offer_id);
	inspect_bool(t, dir, "open", c->open);
	inspect_u64(t, dir, "relid", c->relid);
	inspect_u64(t, dir, "target_vp", c->target_vp);
	inspect_u64(t, dir, "modifies", c->modifies);
	inspect_u64(t, dir, "gpadls", c->ngpadls);
	inspect_u64(t, dir, "gpadls_added", c->gpadls_added);
	inspect_u64(t, dir, "gpadls_removed", c->gpadls_removed);
	inspect_u64(t, dir, "gpadls_refused", c->gpadls_refused);
	inspect_u64(t, dir, "opens", c->opens);
	inspect_u64(t, dir, "resumes", c->resumes);
	inspect_u64(t, dir, "opens_refused", c->open_refusals);
	inspect_u64(t, dir, "doorbells", c->doorbells);
	inspect_u64(t, dir, "interrupts", c->interrupts);
	inspect_u64(t, dir, "interrupt_failures", c->interrupt_failures);
}
