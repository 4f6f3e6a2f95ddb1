/* SPDX-License-Identifier: MIT */
#include "vmbusd.h"
#include "vmbusd_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "defs/hv_defs.h"
#include "macros.h"
#include "vmbus.h"
#include "vmbus.pb-c.h"
#include "vmbus_inspect.h"

static_assert(VMBUSD_MAX_OFFER_QUOTA == VMBUSD_MAX_OFFERS, "a quota up to the whole table");

static const char *const offer_state_names[] = {
    [OFFER_IDLE] = "idle",
    [OFFER_ASSIGNING] = "assigning",
    [OFFER_DEVICE_OPENING] = "device-opening",
    [OFFER_OPEN] = "open",
    [OFFER_CLOSING] = "closing",
};

/* A request in flight for one offer; stale once the offer's gen or the worker moved on. */
struct offer_ctx {
	struct vmbusd *d;
	struct dev_offer *o;
	uint64_t gen, worker_gen;
};

/* ---- guest RAM ---- */

static bool ram_has(struct vmbusd *d, uint64_t gpa, uint64_t len)
{
	return guestmem_layout_contains(&d->layout, gpa, len);
}

/* ---- the control-plane library's callbacks ---- */

/* Host messages go out after the state that produced them is recorded (vmbusd_persist.c). */
static void lib_post_msg(void *ctx, uint32_t vp, const void *msg, size_t len)
{
	struct vmbusd *d = ctx;
	int r;

	if (!d->worker)
		return;
	r = vmbusd_outbox_add(d, vp, msg, len);
	if (r < 0) {
		log_limit_warn_errno(&d->log[VMBUSD_LOG_HOST], r,
				     "unable to queue a VMBus message to VP %u: %m", vp);
		return;
	}
	if (d->trace && len >= 4) {
		uint32_t type;
		memcpy(&type, msg, sizeof(type));
		log_limit_info(&d->log[VMBUSD_LOG_TRACE], "VMBus message to VP %u: %s (%zu bytes)",
			       vp, vmbus_msg_type_to_string(type), len);
	}
}

static struct dev_offer *offer_of(struct vmbusd *d, uint32_t relid)
{
	if (!relid)
		return NULL;
	for (uint32_t i = 0; i < VMBUSD_MAX_OFFERS; i++)
		if (d->offers[i].dev && d->offers[i].relid == relid)
			return &d->offers[i];
	return NULL;
}

static struct offer_ctx *offer_ctx_new(struct vmbusd *d, struct dev_offer *o)
{
	struct offer_ctx *c = malloc(sizeof(*c));
	if (c)
		*c = (struct offer_ctx){d, o, o->gen, d->worker_gen};
	return c;
}

static bool offer_ctx_live(const struct offer_ctx *c)
{
	return c->worker_gen == c->d->worker_gen && c->gen == c->o->gen && c->o->dev && c->d->vs;
}

static void release_event_port(struct vmbusd *d, uint32_t conn_id);

static void offer_reset(struct vmbusd *d, struct dev_offer *o)
{
	o->gen++;
	if (o->doorbell_fd >= 0)
		close(o->doorbell_fd);
	o->doorbell_fd = -1;
	free(o->pfns);
	o->pfns = NULL;
	o->npfns = 0;
	release_event_port(d, o->event_conn_id);
	o->event_conn_id = 0;
	o->state = OFFER_IDLE;
	o->resuming = false;
	o->wait_irqfd = false;
}

static void rescind_offer(struct vmbusd *d, struct dev_offer *o);
static void grace_timer_arm(struct vmbusd *d);

static void resume_failed(struct vmbusd *d, struct dev_offer *o)
{
	o->resuming = false;
	rescind_offer(d, o);
}

static void open_failed(struct vmbusd *d, struct dev_offer *o, int err)
{
	uint32_t relid = o->relid;

	if (o->dev)
		o->dev->open_failures++;
	offer_reset(d, o);
	if (d->vs)
		vmbus_host_open_complete(d->vs, relid, err);
}

static void device_open_reply(struct ipc_chan *ch, int status, struct ipc_msg *reply, void *opaque)
{
	struct offer_ctx *c = opaque;
	struct vmbusd *d = c->d;
	struct dev_offer *o = c->o;
	char why[160];

	d->dirty = true;
	(void)ch;
	if (!offer_ctx_live(c) || o->state != OFFER_DEVICE_OPENING) {
		free(c);
		return;
	}
	free(c);
	if (status < 0 && !reply && status != -ETIMEDOUT && d->grace_ms) {
		/* The device died with the open in flight: its next instance gets it. */
		o->state = o->resuming ? OFFER_OPEN : OFFER_DEVICE_OPENING;
		o->resuming = false;
		return;
	}
	if (status == -EREMOTEIO && reply) {
		status = ipc_msg_error(reply, why, sizeof(why));
		log_limit_warn(&d->log[VMBUSD_LOG_CHANNEL], "device %d refused to %s relid %u: %s",
			       o->dev->pid, o->resuming ? "adopt" : "open", o->relid, why);
	} else if (status == -ETIMEDOUT) {
		log_warn("device %d did not answer the open of relid %u: cutting it off",
			 o->dev->pid, o->relid);
		ipc_chan_abort(o->dev->ch, -ETIMEDOUT);
	}
	if (status < 0) {
		/* The device may not have kept the memfd: send it again with the next open. */
		o->dev->memfd_partition = 0;
		if (o->resuming) {
			/* Nobody serves the guest's open channel: withdrawing it is all that
			 * is left (the guest closes its end and releases the relid). */
			d->resume_failures++;
			resume_failed(d, o);
			return;
		}
		open_failed(d, o, status);
		return;
	}
	o->state = OFFER_OPEN;
	if (o->resuming) {
		o->resuming = false;
		d->resumed++;
		log_info("device %d adopted open relid %u", o->dev->pid, o->relid);
		return;
	}
	o->dev->opens++;
	vmbus_host_open_complete(d->vs, o->relid, 0);
}

/* Hands the opened channel to its device: ring, memfd (once per partition), doorbell, irqfd. */
static int send_channel_open(struct vmbusd *d, struct dev_offer *o, bool resume)
{
	Mhcl__Vmbus__VmbusdChannelOpen m = MHCL__VMBUS__VMBUSD_CHANNEL_OPEN__INIT;
	Mhcl__Vmbus__RamRange rr[VMBUS_MAX_RAM_RANGES], *rrp[VMBUS_MAX_RAM_RANGES];
	struct device *dev = o->dev;
	struct vp_state *vp = &d->vps[o->target_vp];
	struct offer_ctx *c;
	int fds[3], nfds = 0, r;

	if (!dev->ch) {
		/* The device is restarting: the open (or the open channel) waits for the next
		 * instance, which gets this VmbusdChannelOpen when it registers the offer again. */
		o->state = resume ? OFFER_OPEN : OFFER_DEVICE_OPENING;
		o->resuming = false;
		return 0;
	}
	if (vp->irqfd < 0) {
		/* A reattached partition's irqfds are still on their way: irqfd_reply sends
		 * this once the target VP's arrives. */
		o->state = resume ? OFFER_OPEN : OFFER_DEVICE_OPENING;
		o->resuming = false;
		o->wait_irqfd = true;
		return 0;
	}
	m.resume = resume;
	m.offer_id = o->offer_id;
	m.relid = o->relid;
	m.target_vp = o->target_vp;
	m.n_pfns = o->npfns;
	m.pfns = o->pfns;
	m.downstream_page = o->downstream_page;
	m.siefp_gpa = vp->enabled ? vp->siefp_gpa : 0;
	m.partition = d->worker_gen;
	if (dev->memfd_partition != d->worker_gen) {
		for (unsigned i = 0; i < d->layout.nranges; i++) {
			rr[i] = (Mhcl__Vmbus__RamRange)MHCL__VMBUS__RAM_RANGE__INIT;
			rr[i].gpa = d->layout.ranges[i].gpa;
			rr[i].size = d->layout.ranges[i].size;
			rr[i].memfd_offset = d->layout.ranges[i].memfd_offset;
			rrp[i] = &rr[i];
		}
		m.n_ram = d->layout.nranges;
		m.ram = rrp;
		fds[nfds++] = d->memfd;
	}
	fds[nfds++] = o->doorbell_fd;
	fds[nfds++] = vp->irqfd;
	c = offer_ctx_new(d, o);
	if (!c)
		return -ENOMEM;
	r = ipc_chan_request(dev->ch, IPC_MSG_VP_CHANNEL_OPEN, &m.base, fds, (size_t)nfds,
			     VMBUSD_DEVICE_TIMEOUT_MS, device_open_reply, c);
	if (r < 0) {
		free(c);
		return r;
	}
	if (m.n_ram)
		dev->memfd_partition = d->worker_gen;
	o->state = OFFER_DEVICE_OPENING;
	o->resuming = resume;
	return 0;
}

static void assign_reply(struct ipc_chan *ch, int status, struct ipc_msg *reply, void *opaque)
{
	struct offer_ctx *c = opaque;
	struct vmbusd *d = c->d;
	struct dev_offer *o = c->o;
	char why[160];
	int r;

	(void)ch;
	if (!offer_ctx_live(c) || o->state != OFFER_ASSIGNING) {
		/* The worker went away (it dropped its routes), or the guest closed the channel
		 * or the device left first (the release went out after this assign). */
		free(c);
		return;
	}
	free(c);
	r = status;
	if (status == -EREMOTEIO && reply) {
		r = ipc_msg_error(reply, why, sizeof(why));
		log_warn("the worker refused to route relid %u's doorbell: %s", o->relid, why);
	}
	d->dirty = true;
	if (r == 0)
		r = send_channel_open(d, o, o->resuming);
	if (r < 0 && o->resuming)
		resume_failed(d, o);
	else if (r < 0)
		open_failed(d, o, r);
}

static int lib_channel_open(void *ctx, const struct vmbus_open_info *info)
{
	struct vmbusd *d = ctx;
	struct dev_offer *o = offer_of(d, info->relid);
	Mhcl__Vmbus__VmbusdEventPortAssign m = MHCL__VMBUS__VMBUSD_EVENT_PORT_ASSIGN__INIT;
	struct offer_ctx *c;
	int fd, r;

	if (!o || !o->dev || (!o->dev->ch && !o->dev->in_grace))
		return -ENODEV;
	if (o->state != OFFER_IDLE)
		return -EBUSY;
	if (!d->worker || info->target_vp >= d->vp_count)
		return -EINVAL;
	/* The library checked every PFN against guest RAM; the device checks them again. */
	o->pfns = malloc(sizeof(uint64_t) * (info->page_count ? info->page_count : 1));
	if (!o->pfns)
		return -ENOMEM;
	memcpy(o->pfns, info->pfns, sizeof(uint64_t) * info->page_count);
	o->npfns = info->page_count;
	o->downstream_page = info->downstream_page;
	o->target_vp = info->target_vp;
	fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0) {
		r = -errno;
		goto err;
	}
	o->gen++;
	c = offer_ctx_new(d, o);
	if (!c) {
		close(fd);
		r = -ENOMEM;
		goto err;
	}
	m.connection_id = info->event_conn_id;
	r = ipc_chan_request(d->worker, IPC_MSG_VP_EVENT_PORT_ASSIGN, &m.base, &fd, 1, 0,
			     assign_reply, c);
	if (r < 0) {
		free(c);
		close(fd);
		goto err;
	}
	o->doorbell_fd = fd;
	o->event_conn_id = info->event_conn_id;
	o->state = OFFER_ASSIGNING;
	return VMBUS_PENDING;
err:
	free(o->pfns);
	o->pfns = NULL;
	o->npfns = 0;
	return r;
}

static void release_reply(struct ipc_chan *ch, int status, struct ipc_msg *reply, void *opaque)
{
	(void)ch;
	(void)reply;
	(void)opaque;
	if (status < 0 && status != -ECANCELED)
		log_warn_errno(status, "the worker did not release an event connection: %m");
}

static void release_event_port(struct vmbusd *d, uint32_t conn_id)
{
	Mhcl__Vmbus__VmbusdEventPortRelease m = MHCL__VMBUS__VMBUSD_EVENT_PORT_RELEASE__INIT;

	if (!d->worker || !conn_id)
		return;
	m.connection_id = conn_id;
	(void)ipc_chan_request(d->worker, IPC_MSG_VP_EVENT_PORT_RELEASE, &m.base, NULL, 0, 0,
			       release_reply, NULL);
}

static void device_close_reply(struct ipc_chan *ch, int status, struct ipc_msg *reply, void *opaque)
{
	struct offer_ctx *c = opaque;
	struct vmbusd *d = c->d;
	struct dev_offer *o = c->o;

	d->dirty = true;
	(void)ch;
	(void)reply;
	if (!offer_ctx_live(c) || o->state != OFFER_CLOSING) {
		free(c);
		return;
	}
	free(c);
	/* Answered, refused or gone: in every case the device no longer touches the ring, and
	 * one that stays silent is cut off (its channel closes before its rings are reused). */
	if (status == -ETIMEDOUT) {
		log_warn("device %d did not answer the close of relid %u: cutting it off",
			 o->dev->pid, o->relid);
		ipc_chan_abort(o->dev->ch, -ETIMEDOUT);
	} else if (status < 0 && status != -ECANCELED && status != -EPIPE &&
		   status != -ECONNRESET) {
		log_warn_errno(status, "device %d: close of relid %u: %m", o->dev->pid, o->relid);
	}
	o->dev->closes++;
	o->state = OFFER_IDLE;
	o->gen++;
	vmbus_host_close_complete(d->vs, o->relid);
}

static void device_stop_reply(struct ipc_chan *ch, int status, struct ipc_msg *reply, void *opaque)
{
	(void)ch;
	(void)reply;
	(void)opaque;
	if (status < 0 && status != -ECANCELED && status != -EPIPE && status != -ECONNRESET)
		log_warn_errno(status, "a device did not confirm a close: %m");
}

/* Tells the device to stop using the channel; returns 0 when nothing needs to wait. */
static int send_channel_close(struct vmbusd *d, struct dev_offer *o, bool wait)
{
	Mhcl__Vmbus__VmbusdChannelClose m = MHCL__VMBUS__VMBUSD_CHANNEL_CLOSE__INIT;
	struct offer_ctx *c = NULL;
	int r;

	if (!o->dev || !o->dev->ch || ipc_chan_is_closing(o->dev->ch))
		return 0;
	m.offer_id = o->offer_id;
	m.relid = o->relid;
	if (wait) {
		c = offer_ctx_new(d, o);
		if (!c)
			return -ENOMEM;
	}
	r = ipc_chan_request(o->dev->ch, IPC_MSG_VP_CHANNEL_CLOSE, &m.base, NULL, 0,
			     VMBUSD_DEVICE_TIMEOUT_MS,
			     wait ? device_close_reply : device_stop_reply, c);
	if (r < 0) {
		free(c);
		log_warn_errno(r, "unable to ask device %d to close relid %u: cutting it off: %m",
			       o->dev->pid, o->relid);
		ipc_chan_abort(o->dev->ch, r);
		return 0;
	}
	return wait ? VMBUS_PENDING : 0;
}

static int lib_channel_close(void *ctx, uint32_t relid)
{
	struct vmbusd *d = ctx;
	struct dev_offer *o = offer_of(d, relid);
	bool device_knows;
	int r;

	if (!o)
		return 0;
	device_knows = o->state == OFFER_DEVICE_OPENING || o->state == OFFER_OPEN;
	offer_reset(d, o);
	if (!device_knows)
		return 0;
	r = send_channel_close(d, o, true);
	if (r == VMBUS_PENDING)
		o->state = OFFER_CLOSING;
	return r < 0 ? 0 : r;
}

/* ---- GPADLs beyond the ring, for the device ---- */

struct gpadl_ctx {
	struct vmbusd *d;
	uint64_t worker_gen;
	uint32_t relid, gpadl;
};

static void gpadl_add_reply(struct ipc_chan *ch, int status, struct ipc_msg *reply, void *opaque)
{
	struct gpadl_ctx *c = opaque;
	char why[160] = "";

	if (status == -EREMOTEIO && reply)
		status = ipc_msg_error(reply, why, sizeof(why));
	if (status == -ETIMEDOUT)
		ipc_chan_abort(ch, -ETIMEDOUT); /* a device that does not answer is cut off */
	if (status < 0 && status != -ECANCELED && status != -EPIPE && status != -ECONNRESET)
		log_limit_warn_errno(&c->d->log[VMBUSD_LOG_CHANNEL], status,
				     "a device refused GPADL %#x of relid %u: %s: %m", c->gpadl,
				     c->relid, why);
	c->d->holds--;
	c->d->dirty = true;
	free(c);
}

static void send_gpadl_add(struct vmbusd *d, struct dev_offer *o, const struct vmbus_gpadl_view *g)
{
	Mhcl__Vmbus__VmbusdGpadlAdd m = MHCL__VMBUS__VMBUSD_GPADL_ADD__INIT;
	Mhcl__Vmbus__GpadlRange *ranges =
	    calloc(g->range_count ? g->range_count : 1, sizeof(*ranges));
	Mhcl__Vmbus__GpadlRange **rp = calloc(g->range_count ? g->range_count : 1, sizeof(*rp));
	struct gpadl_ctx *c = malloc(sizeof(*c));
	int r = -ENOMEM;

	if (!ranges || !rp || !c)
		goto out;
	for (uint32_t i = 0; i < g->range_count; i++) {
		mhcl__vmbus__gpadl_range__init(&ranges[i]);
		ranges[i].byte_offset = g->ranges[i].byte_offset;
		ranges[i].byte_count = g->ranges[i].byte_count;
		ranges[i].pfn_index = g->ranges[i].pfn_index;
		ranges[i].pfn_count = g->ranges[i].pfn_count;
		rp[i] = &ranges[i];
	}
	m.offer_id = o->offer_id;
	m.relid = g->relid;
	m.gpadl = g->gpadl_id;
	m.n_ranges = g->range_count;
	m.ranges = rp;
	m.n_pfns = g->page_count;
	m.pfns = (uint64_t *)g->pfns;
	m.partition = d->worker_gen;
	*c = (struct gpadl_ctx){d, d->worker_gen, g->relid, g->gpadl_id};
	r = ipc_chan_request(o->dev->ch, IPC_MSG_VP_GPADL_ADD, &m.base, NULL, 0,
			     VMBUSD_DEVICE_TIMEOUT_MS, gpadl_add_reply, c);
	if (r == 0) {
		c = NULL;
		d->holds++;
	}
out:
	if (r < 0)
		log_limit_warn_errno(&d->log[VMBUSD_LOG_CHANNEL], r,
				     "unable to tell device %d about GPADL %#x: %m", o->dev->pid,
				     g->gpadl_id);
	free(c);
	free(ranges);
	free(rp);
}

static void sync_one(void *ctx, const struct vmbus_gpadl_view *g)
{
	struct offer_ctx *c = ctx;
	send_gpadl_add(c->d, c->o, g);
}

void vmbusd_sync_gpadls(struct vmbusd *d, struct dev_offer *o)
{
	struct offer_ctx c = {d, o, 0, 0};

	if (d->vs && o->relid && o->dev && o->dev->ch)
		(void)vmbus_host_for_each_gpadl(d->vs, o->relid, sync_one, &c);
}

static void lib_gpadl_created(void *ctx, const struct vmbus_gpadl_view *g)
{
	struct vmbusd *d = ctx;
	struct dev_offer *o = offer_of(d, g->relid);

	/* A device in its grace period hears of it when it comes back. */
	if (o && o->dev && o->dev->ch)
		send_gpadl_add(d, o, g);
}

static void gpadl_remove_reply(struct ipc_chan *ch, int status, struct ipc_msg *reply, void *opaque)
{
	struct gpadl_ctx *c = opaque;

	(void)reply;
	if (status == -ETIMEDOUT)
		ipc_chan_abort(ch, -ETIMEDOUT);
	/* Answered, refused or gone: the device no longer uses the pages. */
	if (c->worker_gen == c->d->worker_gen && c->d->vs) {
		c->d->dirty = true;
		vmbus_host_gpadl_teardown_complete(c->d->vs, c->relid, c->gpadl);
	}
	free(c);
}

static int lib_gpadl_teardown(void *ctx, uint32_t relid, uint32_t gpadl)
{
	struct vmbusd *d = ctx;
	struct dev_offer *o = offer_of(d, relid);
	Mhcl__Vmbus__VmbusdGpadlRemove m = MHCL__VMBUS__VMBUSD_GPADL_REMOVE__INIT;
	struct gpadl_ctx *c;

	if (!o || !o->dev || !o->dev->ch || ipc_chan_is_closing(o->dev->ch))
		return 0; /* no device process uses it */
	c = malloc(sizeof(*c));
	if (!c)
		return 0;
	*c = (struct gpadl_ctx){d, d->worker_gen, relid, gpadl};
	m.offer_id = o->offer_id;
	m.relid = relid;
	m.gpadl = gpadl;
	if (ipc_chan_request(o->dev->ch, IPC_MSG_VP_GPADL_REMOVE, &m.base, NULL, 0,
			     VMBUSD_DEVICE_TIMEOUT_MS, gpadl_remove_reply, c) < 0) {
		free(c);
		ipc_chan_abort(o->dev->ch, -EIO); /* it must not go on using the pages */
		return 0;
	}
	return VMBUS_PENDING;
}

/* MODIFYCHANNEL: the device gets the new VP's irqfd at once (one-way, so the guest's
 * answer does not wait for it); until it has switched, its interrupts still reach the
 * old VP, which the guest handles. */
static int lib_channel_modify(void *ctx, uint32_t relid, uint32_t target_vp)
{
	struct vmbusd *d = ctx;
	struct dev_offer *o = offer_of(d, relid);
	Mhcl__Vmbus__VmbusdChannelModify m = MHCL__VMBUS__VMBUSD_CHANNEL_MODIFY__INIT;
	int r;

	if (!o || target_vp >= d->vp_count)
		return -EINVAL;
	if (d->vps[target_vp].irqfd < 0)
		return -EAGAIN; /* the worker has not handed that VP's irqfd over yet */
	o->target_vp = target_vp;
	d->dirty = true;
	if (!o->dev->ch || (o->state != OFFER_OPEN && !o->resuming))
		return 0; /* a device adopting the channel later gets the new VP with it */
	m.offer_id = o->offer_id;
	m.relid = relid;
	m.target_vp = target_vp;
	m.siefp_gpa = d->vps[target_vp].enabled ? d->vps[target_vp].siefp_gpa : 0;
	r = ipc_chan_notify(o->dev->ch, IPC_MSG_VP_CHANNEL_MODIFY, &m.base,
			    &d->vps[target_vp].irqfd, 1);
	if (r < 0)
		log_limit_warn_errno(&d->log[VMBUSD_LOG_CHANNEL], r,
				     "unable to move device %d's relid %u to VP %u: %m",
				     o->dev->pid, relid, target_vp);
	return 0;
}

static void lib_error(void *ctx, uint32_t relid, int err, const char *reason)
{
	struct vmbusd *d = ctx;

	log_limit_warn_errno(&d->log[VMBUSD_LOG_REFUSED], err, "VMBus: %s%s (relid %u): %m",
			     reason ? reason : "refused", relid ? "" : " on the connection", relid);
}

static void lib_connection(void *ctx, uint32_t version)
{
	struct vmbusd *d = ctx;
	struct log_limit *l = &d->log[VMBUSD_LOG_CONNECTION];

	d->version = version;
	if (version)
		log_limit_info(l, "VMBus connected: protocol %u.%u", version >> 16,
			       version & 0xffff);
	else
		log_limit_info(l, "VMBus disconnected");
}

/* ---- the worker ---- */

static void drop_partition(struct vmbusd *d)
{
	for (uint32_t i = 0; i < VMBUSD_MAX_OFFERS; i++) {
		struct dev_offer *o = &d->offers[i];
		if (!o->dev)
			continue;
		/* The worker dropped its routes with the partition: the device only stops (one
		 * already closing has its VmbusdChannelClose; its answer is dropped as stale). */
		if (o->state == OFFER_DEVICE_OPENING || o->state == OFFER_OPEN)
			(void)send_channel_close(d, o, false);
		o->event_conn_id = 0;
		offer_reset(d, o);
		o->relid = 0;
	}
	d->vs = vmbus_host_free(d->vs);
	d->version = 0;
	for (uint32_t i = 0; i < VMBUSD_MAX_VPS; i++) {
		if (d->vps[i].irqfd >= 0)
			close(d->vps[i].irqfd);
		d->vps[i] = (struct vp_state){.irqfd = -1};
	}
	if (d->memfd >= 0)
		close(d->memfd);
	d->memfd = -1;
	d->ram_len = 0;
	d->layout.nranges = 0;
	d->vp_count = 0;
	d->outbox_count = 0; /* nothing more goes to the partition that left */
}

static void irqfd_reply(struct ipc_chan *ch, int status, struct ipc_msg *reply, void *opaque)
{
	struct vmbusd *d = ipc_chan_opaque(ch);
	uint32_t vp = (uint32_t)(uintptr_t)opaque;

	if (status < 0 || !reply || reply->nfds != 1) {
		log_warn_errno(status < 0 ? status : -EBADMSG, "no SINT irqfd for VP %u: %m", vp);
		return;
	}
	if (ch != d->worker || vp >= d->vp_count || d->vps[vp].irqfd >= 0)
		return;
	d->vps[vp].irqfd = reply->fds[0];
	reply->fds[0] = -1;
	d->dirty = true;
	for (uint32_t i = 0; i < VMBUSD_MAX_OFFERS; i++) {
		struct dev_offer *o = &d->offers[i];
		if (!o->dev || !o->wait_irqfd || o->target_vp != vp)
			continue;
		bool resume = o->state == OFFER_OPEN;
		o->wait_irqfd = false;
		int r = send_channel_open(d, o, resume);
		if (r < 0 && resume)
			resume_failed(d, o);
		else if (r < 0)
			open_failed(d, o, r);
	}
}

/* Offers a device's channel to the attached partition. */
static int offer_to_partition(struct vmbusd *d, struct dev_offer *o)
{
	int r = vmbus_host_offer(d->vs, &o->offer, &o->relid);
	if (r < 0) {
		char g[VMBUS_GUID_STRING_MAX];
		o->relid = 0;
		return log_warn_errno(r, "unable to offer device %d's channel %s: %m", o->dev->pid,
				      vmbus_guid_to_string(&o->offer.if_instance, g));
	}
	return 0;
}

static int take_partition(struct vmbusd *d, struct ipc_msg *msg,
			  const Mhcl__Vmbus__WorkerPartition *pi, const char **why)
{
	static const struct vmbus_host_ops ops = {
	    .post_msg = lib_post_msg,
	    .channel_open = lib_channel_open,
	    .channel_close = lib_channel_close,
	    .channel_modify = lib_channel_modify,
	    .gpadl_created = lib_gpadl_created,
	    .gpadl_teardown = lib_gpadl_teardown,
	    .error = lib_error,
	    .connection = lib_connection,
	};
	struct vmbus_host_config cfg = {0};
	struct guestmem_layout l = {.nranges = (unsigned)pi->n_ram};
	uint64_t need = 0;
	int r;

	if (d->vs) {
		*why = "a partition is already attached";
		return -EBUSY;
	}
	if (msg->nfds != 1 || pi->vp_count == 0 || pi->vp_count > VMBUSD_MAX_VPS ||
	    pi->n_ram == 0 || pi->n_ram > VMBUS_MAX_RAM_RANGES) {
		*why = "want one memfd, 1..64 VPs and 1..16 RAM ranges";
		return -EINVAL;
	}
	for (size_t i = 0; i < pi->n_ram; i++)
		l.ranges[i] = (struct guestmem_range){pi->ram[i]->gpa, pi->ram[i]->size,
						      pi->ram[i]->memfd_offset};
	r = guestmem_layout_check(&l, &need, why);
	if (r < 0)
		return r;
	/* vmbusd maps none of it, but every device it hands the memfd to would refuse it. */
	r = guestmem_memfd_check(msg->fds[0], need, why);
	if (r < 0)
		return r;
	d->layout = l;
	cfg.ram = l;
	/* vmbusd reads only the SIEFP pages' placement; devices map the memfd themselves. */
	d->memfd = msg->fds[0];
	msg->fds[0] = -1;
	d->ram_len = (size_t)need;
	d->vp_count = pi->vp_count;
	cfg.vp_count = d->vp_count;
	/* A worker whose guest ran on an earlier vmbusd gets its VMBus state back. */
	r = vmbusd_persist_restore(d, &cfg, &ops, pi->reattach, pi->host_seq);
	if (r == 0) {
		d->guest_seq = 0; /* a fresh connection: the worker numbers from 1 */
		r = vmbus_host_new(&cfg, &ops, d, &d->vs);
	}
	if (r < 0) {
		*why = "the RAM layout is not usable for VMBus";
		goto err;
	}
	for (uint32_t i = 0; i < VMBUSD_MAX_OFFERS; i++)
		if (d->offers[i].dev && !d->offers[i].relid)
			(void)offer_to_partition(d, &d->offers[i]);
	d->dirty = true;
	return 0;
err:
	drop_partition(d);
	return r;
}

static void partition_request(struct vmbusd *d, struct ipc_chan *ch, struct ipc_msg *msg)
{
	Mhcl__Vmbus__WorkerPartition *pi = (Mhcl__Vmbus__WorkerPartition *)ipc_msg_unpack(
	    ch, msg, &mhcl__vmbus__worker_partition__descriptor);
	const char *why = "";
	int r;

	if (!pi)
		return;
	r = take_partition(d, msg, pi, &why);
	protobuf_c_message_free_unpacked(&pi->base, NULL);
	if (r < 0) {
		log_warn_errno(r, "refused the worker's partition: %s: %m", why);
		(void)ipc_chan_reply_error(ch, msg->request_id, msg->type, r, "%s", why);
		return;
	}
	log_info("partition attached: %u VP(s), %zu MiB of guest RAM", d->vp_count,
		 d->ram_len >> 20);
	for (uint32_t vp = 0; vp < d->vp_count; vp++) {
		Mhcl__Vmbus__VmbusdSintIrqfdRequest q =
		    MHCL__VMBUS__VMBUSD_SINT_IRQFD_REQUEST__INIT;
		q.vp = vp;
		q.sint = VMBUS_MESSAGE_SINT;
		r = ipc_chan_request(ch, IPC_MSG_VP_SINT_IRQFD, &q.base, NULL, 0, 0, irqfd_reply,
				     (void *)(uintptr_t)vp);
		if (r < 0)
			log_warn_errno(r, "unable to ask for VP %u's SINT irqfd: %m", vp);
	}
	uint32_t ids[] = {VMBUS_CONNID_MESSAGE, VMBUS_CONNID_MESSAGE_4};
	Mhcl__Vmbus__VmbusdPortClaim claim = MHCL__VMBUS__VMBUSD_PORT_CLAIM__INIT;
	claim.n_connection_ids = ARRAY_SIZE(ids);
	claim.connection_ids = ids;
	claim.guest_seq = d->guest_seq;
	(void)ipc_chan_reply(ch, msg->request_id, msg->type, &claim.base, NULL, 0);
}

static void worker_request(struct ipc_chan *ch, struct ipc_msg *msg, void *opaque)
{
	struct vmbusd *d = opaque;

	if (msg->type == IPC_MSG_VP_PARTITION)
		partition_request(d, ch, msg);
	else
		(void)ipc_chan_reply_error(ch, msg->request_id, msg->type, -EOPNOTSUPP,
					   "vmbusd does not handle message type %u", msg->type);
}

static void trace_guest_message(struct vmbusd *d, const Mhcl__Vmbus__WorkerGuestMessage *m,
				uint16_t status)
{
	uint32_t type = 0;

	if (!d->trace)
		return;
	if (m->payload.len >= 4)
		memcpy(&type, m->payload.data, sizeof(type));
	log_limit_info(
	    &d->log[VMBUSD_LOG_TRACE],
	    "guest message %llu from VP %u on connection %u: %s (%zu bytes) -> status %#x",
	    (unsigned long long)m->seq, m->vp, m->connection_id,
	    m->payload.len >= 4 ? vmbus_msg_type_to_string(type) : "(no type)", m->payload.len,
	    status);
}

static void guest_message(struct vmbusd *d, struct ipc_chan *ch, struct ipc_msg *msg)
{
	Mhcl__Vmbus__WorkerGuestMessage *m = (Mhcl__Vmbus__WorkerGuestMessage *)ipc_msg_unpack(
	    ch, msg, &mhcl__vmbus__worker_guest_message__descriptor);
	if (!m)
		return;
	if (!d->vs || m->vp >= d->vp_count || m->payload.len > VMBUS_MSG_MAX) {
		d->bad_worker_messages++;
	} else if (m->seq && m->seq <= d->guest_seq) {
		d->duplicate_guest++; /* sent again after a restart, already in the state */
	} else {
		if (m->seq)
			d->guest_seq = m->seq;
		d->dirty = true;
		uint16_t st =
		    vmbus_host_post(d->vs, m->connection_id, m->payload.data, m->payload.len);
		d->guest_messages++;
		trace_guest_message(d, m, st);
		if (st != VMBUS_HV_STATUS_SUCCESS)
			log_limit_warn(
			    &d->log[VMBUSD_LOG_REFUSED],
			    "guest message on connection %u from VP %u refused: status %#x",
			    m->connection_id, m->vp, st);
	}
	protobuf_c_message_free_unpacked(&m->base, NULL);
}

static void synic_pages(struct vmbusd *d, struct ipc_chan *ch, struct ipc_msg *msg)
{
	Mhcl__Vmbus__WorkerSynicPages *m = (Mhcl__Vmbus__WorkerSynicPages *)ipc_msg_unpack(
	    ch, msg, &mhcl__vmbus__worker_synic_pages__descriptor);
	if (!m)
		return;
	if (m->vp >= d->vp_count || m->siefp_gpa % VMBUSD_PAGE_SIZE ||
	    (m->siefp_gpa && !ram_has(d, m->siefp_gpa, VMBUSD_PAGE_SIZE))) {
		d->bad_worker_messages++;
	} else {
		d->vps[m->vp].enabled = m->enabled;
		d->vps[m->vp].siefp_gpa = m->siefp_gpa;
		/* Devices interrupting this VP set their flags in the new page from now on. */
		for (uint32_t i = 0; i < VMBUSD_MAX_DEVICES; i++)
			if (d->devs[i].ch && d->devs[i].memfd_partition == d->worker_gen)
				(void)ipc_chan_notify(d->devs[i].ch, IPC_MSG_VP_SYNIC_PAGES,
						      &m->base, NULL, 0);
	}
	protobuf_c_message_free_unpacked(&m->base, NULL);
}

static void worker_notify(struct ipc_chan *ch, struct ipc_msg *msg, void *opaque)
{
	struct vmbusd *d = opaque;

	if (ch != d->worker)
		return;
	if (msg->type == IPC_MSG_VP_GUEST_MESSAGE)
		guest_message(d, ch, msg);
	else if (msg->type == IPC_MSG_VP_SYNIC_PAGES)
		synic_pages(d, ch, msg);
	else
		d->bad_worker_messages++;
}

static void worker_close(struct ipc_chan *ch, int reason, void *opaque)
{
	struct vmbusd *d = opaque;

	if (ch != d->worker)
		return;
	log_info("the worker left (%d): partition detached", reason);
	d->worker = NULL;
	d->worker_gen++;
	drop_partition(d);
}

static const struct ipc_chan_ops worker_ops = {
    .on_request = worker_request,
    .on_notify = worker_notify,
    .on_close = worker_close,
};

static void on_listener(uv_poll_t *p, int status, int events)
{
	struct vmbusd *d = p->data;
	int fd;

	(void)events;
	if (status < 0)
		return;
	fd = ipc_accept(d->listen_fd);
	if (fd < 0) {
		if (fd != -EAGAIN)
			log_warn_errno(fd, "accept failed: %m");
		return;
	}
	(void)vmbusd_attach_worker(d, fd);
}

int vmbusd_attach_worker(struct vmbusd *d, int fd)
{
	int r;

	if (d->worker) {
		d->refused_workers++;
		log_warn("a second worker connected; refusing it");
		close(fd);
		return -EBUSY;
	}
	r = ipc_chan_open(d->loop, fd, IPC_TRANSPORT_SEQPACKET, &worker_ops, d, &d->worker);
	if (r < 0)
		return log_warn_errno(r, "unable to open the worker channel: %m");
	d->workers++;
	d->worker_gen++;
	log_info("a worker connected");
	return 0;
}

/* ---- device servers ---- */

static int guid_from(const ProtobufCBinaryData *b, struct hv_guid *g)
{
	if (b->len != sizeof(g->b))
		return -EINVAL;
	memcpy(g->b, b->data, sizeof(g->b));
	return 0;
}

static bool same_offer(const struct vmbus_offer *a, const struct vmbus_offer *b)
{
	return !memcmp(&a->if_type, &b->if_type, sizeof(a->if_type)) &&
	       !memcmp(&a->if_instance, &b->if_instance, sizeof(a->if_instance)) &&
	       a->sub_channel_index == b->sub_channel_index;
}

/*
 * What one device connection may offer; its kernel-vouched peer uid is its identity.
 * With a policy, only the instance GUIDs listed for its uid. A sub-channel only under a
 * primary (same type and instance, index 0) this same connection holds. At most the
 * quota of offers, sub-channels included, so that no device fills the shared table.
 * Checked before adoption too: nothing a device may not offer is taken over either.
 * 0, or -errno with the reason in why.
 */
static int offer_permitted(struct vmbusd *d, const struct device *dev, const struct vmbus_offer *vo,
			   char *why, size_t why_len)
{
	char g[VMBUS_GUID_STRING_MAX];
	uint32_t held = 0;
	bool primary = false;

	if (!vmbusd_policy_allows(&d->policy, dev->uid, &vo->if_instance)) {
		snprintf(why, why_len, "uid %u may not offer instance %s (see --device-allow)",
			 dev->uid, vmbus_guid_to_string(&vo->if_instance, g));
		return -EPERM;
	}
	for (uint32_t i = 0; i < VMBUSD_MAX_OFFERS; i++) {
		const struct dev_offer *x = &d->offers[i];
		if (x->dev != dev)
			continue;
		held++;
		primary |=
		    !x->offer.sub_channel_index &&
		    !memcmp(&x->offer.if_type, &vo->if_type, sizeof(vo->if_type)) &&
		    !memcmp(&x->offer.if_instance, &vo->if_instance, sizeof(vo->if_instance));
	}
	if (vo->sub_channel_index && !primary) {
		snprintf(why, why_len,
			 "sub-channel %u of instance %s: this connection has not "
			 "offered its primary channel",
			 vo->sub_channel_index, vmbus_guid_to_string(&vo->if_instance, g));
		return -ENOENT;
	}
	if (held >= d->policy.quota) {
		snprintf(why, why_len,
			 "uid %u: this connection already holds its quota of %u offers "
			 "(see --device-offer-quota)",
			 dev->uid, d->policy.quota);
		return -EDQUOT;
	}
	return 0;
}

/*
 * A device registering an offer that a device in its grace period left behind is that
 * device's next instance (the same uid): it takes the offer over as it is. An open channel is
 * handed to it with VmbusdChannelOpen{resume}; an open that waited for it is sent now. The guest
 * sees nothing. An offer whose other fields changed is withdrawn instead and offered anew. Returns
 * true when the offer was handled here (*r says how).
 */
static bool adopt_offer(struct vmbusd *d, struct device *dev, uint32_t offer_id,
			const struct vmbus_offer *vo, const char **why, int *r)
{
	struct dev_offer *o = NULL;

	for (uint32_t i = 0; i < VMBUSD_MAX_OFFERS && !o; i++) {
		struct dev_offer *x = &d->offers[i];
		/* Another uid's offer is never its to take, grace period or not. */
		if (x->dev && x->dev != dev && x->dev->in_grace && x->owner_uid == dev->uid &&
		    same_offer(&x->offer, vo))
			o = x;
	}
	if (!o)
		return false;
	for (uint32_t i = 0; i < VMBUSD_MAX_OFFERS; i++) {
		if (d->offers[i].dev == dev && d->offers[i].offer_id == offer_id) {
			*r = -EEXIST;
			*why = "offer id already registered";
			return true;
		}
	}
	struct device *old = o->dev;
	if (memcmp(vo, &o->offer, sizeof(*vo))) {
		log_info("device %d changed an offer while restarting: offering it anew", dev->pid);
		rescind_offer(d, o);
	} else {
		/* No gen bump: what was in flight to the old device ended with its
		 * connection, and a doorbell being routed (ASSIGNING) must still land. */
		o->dev = dev;
		o->offer_id = offer_id;
		dev->offers++;
		d->adopted++;
		*r = 0;
		vmbusd_sync_gpadls(d, o); /* before VmbusdChannelOpen: the socket keeps the order */
		if (d->vs && o->relid &&
		    (o->state == OFFER_OPEN || o->state == OFFER_DEVICE_OPENING)) {
			bool resume = o->state == OFFER_OPEN;
			*r = send_channel_open(d, o, resume);
			if (*r < 0) {
				*why = "unable to hand the channel over";
				if (resume)
					resume_failed(d, o);
				else
					open_failed(d, o, *r);
			}
		}
	}
	bool left = false;
	for (uint32_t i = 0; i < VMBUSD_MAX_OFFERS && !left; i++)
		left = d->offers[i].dev == old;
	if (!left) {
		old->in_grace = false;
		grace_timer_arm(d);
	}
	return o->dev == dev;
}

static void device_close(struct ipc_chan *ch, int reason, void *opaque);

/*
 * A restarting device's next instance may register before this loop has read the end of
 * its last instance's connection (two sockets, taken in no particular order): if the
 * channel's owner is another connection of the same uid whose peer has hung up, it is
 * retired now, as its close would, and the offer is adopted as after any restart.
 */
static void retire_hung_up_owner(struct vmbusd *d, struct device *dev,
				 const struct vmbus_offer *vo)
{
	for (uint32_t i = 0; i < VMBUSD_MAX_OFFERS; i++) {
		struct dev_offer *x = &d->offers[i];
		struct device *old = x->dev;
		if (!old || old == dev || !old->ch || old->uid != dev->uid ||
		    memcmp(&x->offer.if_instance, &vo->if_instance, sizeof(vo->if_instance)) ||
		    memcmp(&x->offer.if_type, &vo->if_type, sizeof(vo->if_type)) ||
		    x->offer.sub_channel_index != vo->sub_channel_index)
			continue;
		if (ipc_chan_peer_hung_up(old->ch)) {
			log_info("device %d: its predecessor %d hung up; retiring it first",
				 dev->pid, old->pid);
			device_close(old->ch, -EPIPE, old);
		}
		return;
	}
}

static void device_offer(struct device *dev, struct ipc_chan *ch, struct ipc_msg *msg)
{
	struct vmbusd *d = dev->d;
	Mhcl__Vmbus__DeviceOffer *m = (Mhcl__Vmbus__DeviceOffer *)ipc_msg_unpack(
	    ch, msg, &mhcl__vmbus__device_offer__descriptor);
	struct dev_offer *o = NULL;
	struct vmbus_offer vo = {0};
	const char *why = NULL;
	char refusal[192];
	int r = -EINVAL;

	if (!m)
		return;
	if (!m->offer_id || guid_from(&m->if_type, &vo.if_type) < 0 ||
	    guid_from(&m->if_instance, &vo.if_instance) < 0 || m->chn_flags > UINT16_MAX ||
	    m->mmio_megabytes > UINT16_MAX || m->sub_channel_index > UINT16_MAX ||
	    m->user_def.len > VMBUS_USER_DEF_BYTES) {
		why = "want a nonzero offer id, 16-byte GUIDs, 16-bit fields and <= 120 user bytes";
		goto out;
	}
	vo.chn_flags = (uint16_t)m->chn_flags;
	vo.mmio_megabytes = (uint16_t)m->mmio_megabytes;
	vo.sub_channel_index = (uint16_t)m->sub_channel_index;
	if (m->user_def.len)
		memcpy(vo.user_def, m->user_def.data, m->user_def.len);
	r = offer_permitted(d, dev, &vo, refusal, sizeof(refusal));
	if (r < 0) {
		why = refusal;
		dev->refused_offers++;
		log_warn("device %d (uid %u): refused offer %u: %s", dev->pid, dev->uid,
			 m->offer_id, refusal);
		goto out;
	}
	retire_hung_up_owner(d, dev, &vo);
	if (adopt_offer(d, dev, m->offer_id, &vo, &why, &r))
		goto out;
	for (uint32_t i = 0; i < VMBUSD_MAX_OFFERS; i++) {
		struct dev_offer *x = &d->offers[i];
		if (x->dev == dev && x->offer_id == m->offer_id) {
			r = -EEXIST;
			why = "offer id already registered";
			goto out;
		}
		if (x->dev &&
		    !memcmp(&x->offer.if_instance, &vo.if_instance, sizeof(vo.if_instance)) &&
		    !memcmp(&x->offer.if_type, &vo.if_type, sizeof(vo.if_type)) &&
		    x->offer.sub_channel_index == vo.sub_channel_index) {
			r = -EEXIST;
			why = "another device offers this channel";
			goto out;
		}
		if (!x->dev && !o)
			o = x;
	}
	if (!o) {
		r = -ENOSPC;
		why = "the offer table is full";
		goto out;
	}
	*o = (struct dev_offer){.dev = dev,
				.owner_uid = dev->uid,
				.offer_id = m->offer_id,
				.offer = vo,
				.doorbell_fd = -1,
				.gen = o->gen + 1};
	if (d->vs && offer_to_partition(d, o) < 0) {
		o->dev = NULL;
		r = -EINVAL;
		why = "the partition refused the offer";
		goto out;
	}
	dev->offers++;
	r = 0;
out:
	if (r < 0) {
		d->bad_device_messages++;
		(void)ipc_chan_reply_error(ch, msg->request_id, msg->type, r, "%s", why);
	} else {
		Mhcl__Vmbus__VmbusdOfferReply rep = MHCL__VMBUS__VMBUSD_OFFER_REPLY__INIT;
		(void)ipc_chan_reply(ch, msg->request_id, msg->type, &rep.base, NULL, 0);
	}
	protobuf_c_message_free_unpacked(&m->base, NULL);
}

static void device_request(struct ipc_chan *ch, struct ipc_msg *msg, void *opaque)
{
	struct device *dev = opaque;

	dev->d->dirty = true;
	if (dev->ch != ch)
		return;
	if (msg->type == IPC_MSG_VP_DEVICE_OFFER) {
		device_offer(dev, ch, msg);
		return;
	}
	dev->d->bad_device_messages++;
	(void)ipc_chan_reply_error(ch, msg->request_id, msg->type, -EOPNOTSUPP,
				   "vmbusd does not handle message type %u from a device",
				   msg->type);
}

/* Withdraws an offer from the guest for good (an open channel is closed first; its
 * device is gone or gave it up, so nothing waits for it) and frees the slot. */
static void rescind_offer(struct vmbusd *d, struct dev_offer *o)
{
	enum offer_state st = o->state;
	uint32_t relid = o->relid;

	offer_reset(d, o);
	if (d->vs && relid) {
		if (st == OFFER_ASSIGNING || st == OFFER_DEVICE_OPENING)
			vmbus_host_open_complete(d->vs, relid, -ENODEV);
		else if (st == OFFER_CLOSING)
			vmbus_host_close_complete(d->vs, relid);
		if (vmbus_host_rescind(d->vs, relid) == 0)
			d->rescinds++;
	}
	offer_reset(d, o); /* the rescind may have closed the channel */
	o->dev = NULL;
	o->relid = 0;
}

static void rescind_device(struct vmbusd *d, struct device *dev)
{
	for (uint32_t i = 0; i < VMBUSD_MAX_OFFERS; i++)
		if (d->offers[i].dev == dev)
			rescind_offer(d, &d->offers[i]);
	dev->in_grace = false;
}

static uint64_t now_ms(struct vmbusd *d)
{
	uv_update_time(d->loop);
	return uv_now(d->loop);
}

static void grace_timer_cb(uv_timer_t *t)
{
	struct vmbusd *d = t->data;
	uint64_t now = now_ms(d);

	d->dirty = true;
	for (uint32_t i = 0; i < VMBUSD_MAX_DEVICES; i++) {
		struct device *dev = &d->devs[i];
		if (!dev->in_grace || dev->grace_deadline > now)
			continue;
		log_warn("device %d did not come back within %u ms: rescinding its channels",
			 dev->pid, d->grace_ms);
		d->grace_expired++;
		rescind_device(d, dev);
	}
	grace_timer_arm(d);
}

/* Runs the timer until the earliest deadline of a device in its grace period. */
static void grace_timer_arm(struct vmbusd *d)
{
	uint64_t next = UINT64_MAX, now = now_ms(d);

	for (uint32_t i = 0; i < VMBUSD_MAX_DEVICES; i++)
		if (d->devs[i].in_grace && d->devs[i].grace_deadline < next)
			next = d->devs[i].grace_deadline;
	if (next == UINT64_MAX) {
		uv_timer_stop(d->grace_timer);
		return;
	}
	(void)uv_timer_start(d->grace_timer, grace_timer_cb, next > now ? next - now : 0, 0);
}

struct device *vmbusd_phantom_device(struct vmbusd *d)
{
	for (uint32_t i = 0; i < VMBUSD_MAX_DEVICES; i++) {
		struct device *dev = &d->devs[i];
		if (dev->ch || dev->in_grace)
			continue;
		/* No uid of its own: each offer it holds names the uid that may adopt it. */
		*dev = (struct device){.d = d,
				       .gen = dev->gen + 1,
				       .uid = VMBUSD_NO_UID,
				       .in_grace = true,
				       .grace_deadline = now_ms(d) + d->grace_ms};
		grace_timer_arm(d);
		return dev;
	}
	return NULL;
}

/* An open channel of the recorded state gets a fresh doorbell routed through the worker
 * (the worker dropped the old routes with the old vmbusd); then it waits, open, for its
 * device (VmbusdChannelOpen resume). */
int vmbusd_route_restored(struct vmbusd *d, struct dev_offer *o)
{
	Mhcl__Vmbus__VmbusdEventPortAssign m = MHCL__VMBUS__VMBUSD_EVENT_PORT_ASSIGN__INIT;
	struct offer_ctx *c;
	int fd, r;

	fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0) {
		r = -errno;
		goto fail;
	}
	o->gen++;
	c = offer_ctx_new(d, o);
	if (!c) {
		close(fd);
		r = -ENOMEM;
		goto fail;
	}
	m.connection_id = o->event_conn_id;
	r = d->worker ? ipc_chan_request(d->worker, IPC_MSG_VP_EVENT_PORT_ASSIGN, &m.base, &fd, 1,
					 0, assign_reply, c)
		      : -ENOTCONN;
	if (r < 0) {
		free(c);
		close(fd);
		goto fail;
	}
	o->doorbell_fd = fd;
	o->state = OFFER_ASSIGNING;
	o->resuming = true;
	return 0;
fail:
	resume_failed(d, o);
	return r;
}

/*
 * A device server left (exit, crash, or cut off). Within the grace period its channels
 * stay offered and open in the guest: vmbusd keeps each open channel's doorbell and ring,
 * the guest's signals wait in the eventfd, and the next instance of the device adopts
 * them when it registers the same offers (VmbusdChannelOpen with resume). An open the guest
 * starts meanwhile waits for it too. Without a grace period, or once it lapses, every
 * channel of the device is rescinded; the other devices go on either way.
 */
static void device_close(struct ipc_chan *ch, int reason, void *opaque)
{
	struct device *dev = opaque;
	struct vmbusd *d = dev->d;
	bool owns = false;

	d->dirty = true;
	if (dev->ch != ch)
		return;
	dev->ch = NULL;
	dev->gen++;
	for (uint32_t i = 0; i < VMBUSD_MAX_OFFERS && !owns; i++)
		owns = d->offers[i].dev == dev;
	if (!owns)
		return;
	if (!d->grace_ms) {
		log_info("device %d left (%d): rescinding its channels", dev->pid, reason);
		rescind_device(d, dev);
		return;
	}
	log_info("device %d left (%d): its channels wait %u ms for it to come back", dev->pid,
		 reason, d->grace_ms);
	dev->in_grace = true;
	dev->grace_deadline = now_ms(d) + d->grace_ms;
	grace_timer_arm(d);
}

static const struct ipc_chan_ops device_ops = {
    .on_request = device_request,
    .on_close = device_close,
};

static void on_device_listener(uv_poll_t *p, int status, int events)
{
	struct vmbusd *d = p->data;
	int fd;

	(void)events;
	if (status < 0)
		return;
	fd = ipc_accept(d->dev_listen_fd);
	if (fd < 0) {
		if (fd != -EAGAIN)
			log_warn_errno(fd, "accept failed: %m");
		return;
	}
	(void)vmbusd_attach_device(d, fd);
}

int vmbusd_attach_device(struct vmbusd *d, int fd)
{
	struct device *dev = NULL;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int r;

	/* Read once, here: the credentials of the process that connected, which the kernel
	 * vouches for; what the peer sends later cannot change them. */
	r = getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ? -errno : 0;
	if (r == 0 && (len != sizeof(cred) || cred.uid == VMBUSD_NO_UID))
		r = -EPERM;
	if (r < 0) {
		d->refused_devices++;
		log_warn_errno(r, "refusing a device server whose uid is unknown: %m");
		close(fd);
		return r;
	}
	if (!vmbusd_policy_admits(&d->policy, cred.uid)) {
		d->refused_devices++;
		log_warn("refusing device server %d: uid %u may offer nothing (see --device-allow)",
			 cred.pid, cred.uid);
		close(fd);
		return -EPERM;
	}
	for (uint32_t i = 0; i < VMBUSD_MAX_DEVICES && !dev; i++)
		if (!d->devs[i].ch && !d->devs[i].in_grace)
			dev = &d->devs[i];
	if (!dev) {
		d->refused_devices++;
		log_warn("too many device servers; refusing one");
		close(fd);
		return -ENOSPC;
	}
	dev->d = d;
	r = ipc_chan_open(d->loop, fd, IPC_TRANSPORT_SEQPACKET, &device_ops, dev, &dev->ch);
	if (r < 0) {
		dev->ch = NULL;
		return log_warn_errno(r, "unable to open a device channel: %m");
	}
	dev->gen++;
	dev->memfd_partition = 0;
	dev->offers = dev->opens = dev->open_failures = dev->closes = dev->refused_offers = 0;
	dev->pid = cred.pid > 0 ? cred.pid : 0;
	dev->uid = cred.uid;
	d->devices++;
	log_info("device server %d (uid %u) connected", dev->pid, dev->uid);
	return 0;
}

/* ---- server hooks ---- */

void vmbusd_request(struct ipc_chan *ch, struct ipc_msg *msg, void *opaque)
{
	(void)opaque;
	(void)ipc_chan_reply_error(ch, msg->request_id, msg->type, -EOPNOTSUPP,
				   "vmbusd does not handle message type %u", msg->type);
}

/* What the policy lets this uid offer: its quota, and unless unrestricted, its instances. */
static void inspect_device_policy(struct inspect_tree *t, Mhcl__Node *dev_dir,
				  const struct vmbusd_policy *p, uint32_t uid)
{
	const struct vmbusd_policy_entry *e = vmbusd_policy_entry(p, uid);
	Mhcl__Node *n = inspect_dir(t, dev_dir, "policy");
	char name[16], g[VMBUS_GUID_STRING_MAX];

	inspect_u64(t, n, "offer_quota", p->quota);
	inspect_bool(t, n, "restricted", vmbusd_policy_restricted(p));
	if (!vmbusd_policy_restricted(p))
		return;
	Mhcl__Node *a = inspect_dir(t, n, "allowed_instances");
	for (uint32_t i = 0; e && i < e->ninstances; i++) {
		snprintf(name, sizeof(name), "%u", i);
		inspect_str(t, a, name, vmbus_guid_to_string(&e->instances[i], g));
	}
}

void vmbusd_inspect(struct srv *s, struct inspect_tree *t, Mhcl__Node *root, void *opaque)
{
	struct vmbusd *d = opaque;
	Mhcl__Node *w, *devs;

	(void)s;
	w = inspect_dir(t, root, "worker");
	inspect_bool(t, w, "connected", d->worker != NULL);
	inspect_u64(t, w, "connections", d->workers);
	inspect_u64(t, w, "refused", d->refused_workers);
	inspect_u64(t, w, "vp_count", d->vp_count);
	inspect_u64(t, w, "ram_bytes", d->ram_len);
	inspect_u64(t, w, "guest_messages", d->guest_messages);
	inspect_u64(t, w, "host_messages", d->host_messages);
	inspect_u64(t, w, "bad_messages", d->bad_worker_messages);
	for (uint32_t vp = 0; vp < d->vp_count; vp++) {
		char name[16];
		snprintf(name, sizeof(name), "vp%u", vp);
		Mhcl__Node *v = inspect_dir(t, w, name);
		inspect_bool(t, v, "synic_enabled", d->vps[vp].enabled);
		inspect_strf(t, v, "siefp", "%#llx", (unsigned long long)d->vps[vp].siefp_gpa);
		inspect_bool(t, v, "irqfd", d->vps[vp].irqfd >= 0);
	}
	inspect_strf(t, root, "protocol_version", "%u.%u", d->version >> 16, d->version & 0xffff);
	if (d->vs)
		vmbus_host_inspect_tree(d->vs, t, root);
	devs = inspect_dir(t, root, "devices");
	inspect_u64(t, devs, "connections", d->devices);
	inspect_u64(t, devs, "refused", d->refused_devices);
	inspect_u64(t, devs, "bad_messages", d->bad_device_messages);
	inspect_u64(t, devs, "rescinds", d->rescinds);
	inspect_u64(t, devs, "grace_ms", d->grace_ms);
	inspect_u64(t, devs, "offers_adopted", d->adopted);
	inspect_u64(t, devs, "channels_resumed", d->resumed);
	inspect_u64(t, devs, "resume_failures", d->resume_failures);
	inspect_u64(t, devs, "grace_expired", d->grace_expired);
	inspect_bool(t, devs, "offers_restricted", vmbusd_policy_restricted(&d->policy));
	inspect_u64(t, devs, "offer_quota", d->policy.quota);
	Mhcl__Node *st = inspect_dir(t, root, "state");
	inspect_bool(t, st, "kept", d->store != NULL);
	inspect_u64(t, st, "commits", d->commits);
	inspect_u64(t, st, "commit_deferrals", d->commit_deferrals);
	inspect_u64(t, st, "restores", d->restores);
	inspect_u64(t, st, "guest_seq", d->guest_seq);
	inspect_u64(t, st, "host_seq", d->host_seq);
	inspect_u64(t, st, "host_messages_resent", d->replayed_host);
	inspect_u64(t, st, "guest_messages_duplicate", d->duplicate_guest);
	static const char *const log_names[_VMBUSD_LOG_MAX] = {
	    [VMBUSD_LOG_REFUSED] = "refused_suppressed",
	    [VMBUSD_LOG_CONNECTION] = "connection_suppressed",
	    [VMBUSD_LOG_CHANNEL] = "channel_suppressed",
	    [VMBUSD_LOG_HOST] = "host_suppressed",
	    [VMBUSD_LOG_TRACE] = "trace_suppressed",
	};
	Mhcl__Node *gl = inspect_dir(t, root, "guest_log");
	inspect_bool(t, gl, "trace", d->trace);
	for (unsigned i = 0; i < _VMBUSD_LOG_MAX; i++)
		inspect_u64(t, gl, log_names[i], log_limit_suppressed(&d->log[i]));
	for (uint32_t i = 0; i < VMBUSD_MAX_DEVICES; i++) {
		struct device *dev = &d->devs[i];
		char name[24];
		if (!dev->ch && !dev->in_grace)
			continue;
		snprintf(name, sizeof(name), "dev%u", i);
		Mhcl__Node *n = inspect_dir(t, devs, name);
		inspect_i64(t, n, "pid", dev->pid);
		if (dev->uid != VMBUSD_NO_UID)
			inspect_u64(t, n, "uid", dev->uid);
		inspect_bool(t, n, "restarting", dev->in_grace);
		inspect_u64(t, n, "offers", dev->offers);
		inspect_u64(t, n, "refused_offers", dev->refused_offers);
		inspect_u64(t, n, "opens", dev->opens);
		inspect_u64(t, n, "open_failures", dev->open_failures);
		inspect_u64(t, n, "closes", dev->closes);
		if (dev->uid != VMBUSD_NO_UID)
			inspect_device_policy(t, n, &d->policy, dev->uid);
		for (uint32_t k = 0; k < VMBUSD_MAX_OFFERS; k++) {
			struct dev_offer *o = &d->offers[k];
			char g[VMBUS_GUID_STRING_MAX];
			if (o->dev != dev)
				continue;
			snprintf(name, sizeof(name), "offer%u", o->offer_id);
			Mhcl__Node *on = inspect_dir(t, n, name);
			inspect_str(t, on, "instance",
				    vmbus_guid_to_string(&o->offer.if_instance, g));
			inspect_u64(t, on, "subchannel", o->offer.sub_channel_index);
			inspect_u64(t, on, "owner_uid", o->owner_uid);
			inspect_u64(t, on, "relid", o->relid);
			inspect_str(t, on, "state", offer_state_names[o->state]);
			inspect_u64(t, on, "event_conn_id", o->event_conn_id);
		}
	}
}

void vmbusd_stop(struct srv *s, void *opaque)
{
	struct vmbusd *d = opaque;

	(void)s;
	if (d->listen_fd >= 0) {
		uv_poll_stop(&d->listen_poll);
		uv_poll_stop(&d->dev_listen_poll);
	}
	if (d->worker)
		ipc_chan_close(d->worker);
	for (uint32_t i = 0; i < VMBUSD_MAX_DEVICES; i++)
		if (d->devs[i].ch)
			ipc_chan_close(d->devs[i].ch);
	uv_stop(d->loop);
}

static void free_handle(uv_handle_t *h)
{
	free(h);
}

int vmbusd_new(uv_loop_t *loop, struct srv *srv, int listen_fd, int dev_listen_fd,
	       struct vmbusd **ret)
{
	struct vmbusd *d;
	int r;

	d = calloc(1, sizeof(*d));
	if (!d) {
		close(listen_fd);
		close(dev_listen_fd);
		return -ENOMEM;
	}
	d->loop = loop;
	d->srv = srv;
	d->listen_fd = listen_fd;
	d->dev_listen_fd = dev_listen_fd;
	d->memfd = -1;
	d->grace_ms = VMBUSD_DEFAULT_GRACE_MS;
	vmbusd_policy_init(&d->policy);
	d->log[VMBUSD_LOG_TRACE] = LOG_LIMIT_INIT(LOG_LIMIT_TRACE_BURST, LOG_LIMIT_TRACE_PER_SEC);
	d->grace_timer = malloc(sizeof(*d->grace_timer));
	if (!d->grace_timer || uv_timer_init(loop, d->grace_timer) < 0) {
		free(d->grace_timer);
		free(d);
		close(listen_fd);
		close(dev_listen_fd);
		return -ENOMEM;
	}
	d->grace_timer->data = d;
	/* Pending deadlines alone do not keep a loop alive. */
	uv_unref((uv_handle_t *)d->grace_timer);
	if (vmbusd_persist_init(d) < 0) {
		uv_close((uv_handle_t *)d->grace_timer, free_handle);
		free(d);
		close(listen_fd);
		close(dev_listen_fd);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < VMBUSD_MAX_VPS; i++)
		d->vps[i].irqfd = -1;
	for (uint32_t i = 0; i < VMBUSD_MAX_OFFERS; i++)
		d->offers[i].doorbell_fd = -1;
	if (listen_fd < 0 && dev_listen_fd < 0)
		goto done; /* peers come in through vmbusd_attach_*() only */
	r = uv_poll_init(loop, &d->listen_poll, listen_fd);
	if (r < 0)
		goto err;
	d->listen_poll.data = d;
	r = uv_poll_init(loop, &d->dev_listen_poll, dev_listen_fd);
	if (r < 0)
		goto err;
	d->dev_listen_poll.data = d;
done:
	*ret = d;
	return 0;
err:
	/* Handles already on the loop are released when the process exits. */
	return r;
}

void vmbusd_free(struct vmbusd *d)
{
	if (!d)
		return;
	drop_partition(d);
	uv_close((uv_handle_t *)d->grace_timer, free_handle);
	vmbusd_persist_fini(d);
	free(d);
}

void vmbusd_set_store(struct vmbusd *d, struct vmbusd_store *st)
{
	vmbusd_store_free(d->store);
	d->store = st;
}

int vmbusd_adopt_store(struct vmbusd *d, int fd)
{
	struct vmbusd_store *st;
	const void *rec;
	size_t len;
	int r = vmbusd_store_adopt(fd, &st);

	if (r < 0)
		return r;
	rec = vmbusd_store_record(st, &len);
	if (rec) {
		d->restore_rec = malloc(len);
		if (!d->restore_rec) {
			vmbusd_store_free(st);
			return -ENOMEM;
		}
		memcpy(d->restore_rec, rec, len);
		d->restore_len = len;
	}
	vmbusd_set_store(d, st);
	return 0;
}

int vmbusd_listen(struct vmbusd *d)
{
	int r;

	if (d->listen_fd < 0)
		return 0;
	r = uv_poll_start(&d->listen_poll, UV_READABLE, on_listener);
	if (r == 0)
		r = uv_poll_start(&d->dev_listen_poll, UV_READABLE, on_device_listener);
	return r;
}

void vmbusd_set_trace(struct vmbusd *d, bool on)
{
	d->trace = on;
}

void vmbusd_set_device_grace(struct vmbusd *d, uint32_t ms)
{
	d->grace_ms = ms;
}

void vmbusd_set_policy(struct vmbusd *d, const struct vmbusd_policy *p)
{
	d->policy = *p;
}
