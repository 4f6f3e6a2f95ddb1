/* SPDX-License-Identifier: MIT */
#include "ic_channels.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "vmbus_ring.h"

#define IC_PKT_MAX 4096

/* One open of the channel: its doorbell poll handle outlives the open until libuv lets
 * it go, so it is a separate allocation. */
struct ic_doorbell {
	uv_poll_t poll;
	int fd;
	struct ic_chan *c; /* NULL once the open it belongs to ended */
};

struct ic_chan {
	uv_loop_t *loop;
	enum vmbus_ic_kind kind;
	ic_signal_fn signal;
	ic_shutdown_done_fn shutdown_done;
	void *opaque;

	bool open;
	uint32_t relid, target_vp;
	struct vmbus_ring in, out;
	struct vmbus_ic ic;
	struct ic_doorbell *bell;

	/* Counters, kept across opens. */
	uint64_t opens, packets_in, packets_out, signals_in, signals_out, signal_failures;
	uint64_t shutdown_requests;
	int last_error;

	uint64_t pkt[IC_PKT_MAX / 8];
	uint8_t msg[IC_PKT_MAX];
};

static const char *const kind_names[_VMBUS_IC_KIND_MAX] = {
    [VMBUS_IC_HEARTBEAT] = "heartbeat",
    [VMBUS_IC_SHUTDOWN] = "shutdown",
};

static const char *const state_names[_VMBUS_IC_STATE_MAX] = {
    [VMBUS_IC_IDLE] = "idle",
    [VMBUS_IC_NEGOTIATING] = "negotiating",
    [VMBUS_IC_READY] = "ready",
    [VMBUS_IC_FAILED] = "failed",
};

static void signal_guest(struct ic_chan *c)
{
	int r = c->signal(c->opaque, c->target_vp, c->relid);
	if (r < 0) {
		c->signal_failures++;
		log_warn_errno(r, "%s IC on relid %u: unable to interrupt VP %u: %m", kind_names[c->kind],
			       c->relid, c->target_vp);
	} else {
		c->signals_out++;
	}
}

static int send_pkt(struct ic_chan *c, ssize_t len, uint64_t trans_id)
{
	int r;

	if (len < 0)
		return (int)len;
	r = vmbus_ring_send_inband(&c->out, trans_id, 0, c->msg, (uint32_t)len);
	if (r < 0) {
		c->last_error = r;
		return log_warn_errno(r, "%s IC on relid %u: unable to write the ring: %m",
				      kind_names[c->kind], c->relid);
	}
	c->packets_out++;
	if (r == 1)
		signal_guest(c);
	return 0;
}

static void fail_shutdown(struct ic_chan *c, int status)
{
	if (c->kind == VMBUS_IC_SHUTDOWN && c->ic.outstanding && c->shutdown_done)
		c->shutdown_done(c->opaque, status, 0);
}

static void handle_event(struct ic_chan *c, int ev)
{
	switch (ev) {
	case VMBUS_IC_EV_NEGOTIATED:
		log_info("%s IC on relid %u negotiated: framework %u.%u, message %u.%u",
			 kind_names[c->kind], c->relid, c->ic.framework.major, c->ic.framework.minor,
			 c->ic.message.major, c->ic.message.minor);
		if (c->kind == VMBUS_IC_HEARTBEAT)
			(void)ic_chan_heartbeat(c);
		break;
	case VMBUS_IC_EV_HEARTBEAT:
		log_debug("heartbeat IC on relid %u: guest answered sequence %llu", c->relid,
			  (unsigned long long)c->ic.seq);
		break;
	case VMBUS_IC_EV_SHUTDOWN_OK:
	case VMBUS_IC_EV_SHUTDOWN_FAIL:
		log_info("shutdown IC on relid %u: the guest %s the shutdown request (status %#x)",
			 c->relid, ev == VMBUS_IC_EV_SHUTDOWN_OK ? "accepted" : "refused",
			 c->ic.last_status);
		if (c->shutdown_done)
			c->shutdown_done(c->opaque, 0, c->ic.last_status);
		break;
	default:
		c->last_error = ev;
		log_warn_errno(ev, "%s IC on relid %u: refused a guest packet: %m", kind_names[c->kind],
			       c->relid);
	}
}

/* Drains guest->host packets; each is copied out of the ring before it is parsed. */
static void receive(struct ic_chan *c)
{
	struct vmbus_pkt pkt;
	int r;

	for (;;) {
		vmbus_ring_mask_interrupts(&c->in);
		while ((r = vmbus_ring_recv(&c->in, c->pkt, sizeof(c->pkt), &pkt)) == 0) {
			c->packets_in++;
			bool was_outstanding = c->ic.outstanding;
			int ev = vmbus_ic_receive(&c->ic, pkt.payload, pkt.payload_len);
			if (ev < 0 && was_outstanding && !c->ic.outstanding)
				fail_shutdown(c, ev);
			handle_event(c, ev);
			if (!c->open)
				return;
		}
		if (r != -EAGAIN) {
			c->last_error = r;
			log_warn_errno(r, "%s IC on relid %u: guest->host ring broken: %m",
				       kind_names[c->kind], c->relid);
			return;
		}
		if (vmbus_ring_recv_commit(&c->in) == 1)
			signal_guest(c);
		if (vmbus_ring_unmask_interrupts(&c->in) != 1)
			return;
	}
}

static void doorbell_cb(uv_poll_t *p, int status, int events)
{
	struct ic_doorbell *bell = p->data;
	uint64_t v;

	(void)events;
	if (read(bell->fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		status = -errno;
	if (!bell->c || status < 0)
		return;
	bell->c->signals_in++;
	receive(bell->c);
}

static void doorbell_closed(uv_handle_t *h)
{
	struct ic_doorbell *bell = h->data;

	close(bell->fd);
	free(bell);
}

static void doorbell_release(struct ic_doorbell *bell)
{
	if (!bell)
		return;
	bell->c = NULL;
	uv_close((uv_handle_t *)&bell->poll, doorbell_closed);
}

int ic_chan_open(struct ic_chan *c, const struct ic_chan_open *o)
{
	struct ic_doorbell *bell;
	int r;

	if (c->open) {
		close(o->doorbell_fd);
		return -EBUSY;
	}
	if (o->npages > IC_CHAN_MAX_PAGES) {
		close(o->doorbell_fd);
		return -EINVAL;
	}
	bell = calloc(1, sizeof(*bell));
	if (!bell) {
		close(o->doorbell_fd);
		return -ENOMEM;
	}
	bell->fd = o->doorbell_fd;
	r = uv_poll_init(c->loop, &bell->poll, bell->fd);
	if (r < 0) {
		close(bell->fd);
		free(bell);
		return r;
	}
	bell->poll.data = bell;
	r = vmbus_ring_pair_init(&c->in, &c->out, o->pages, o->npages, o->downstream_page, true);
	if (r < 0) {
		doorbell_release(bell);
		return r;
	}
	bell->c = c;
	r = uv_poll_start(&bell->poll, UV_READABLE, doorbell_cb);
	if (r < 0) {
		vmbus_ring_fini(&c->in);
		vmbus_ring_fini(&c->out);
		doorbell_release(bell);
		return r;
	}
	c->bell = bell;
	c->open = true;
	c->relid = o->relid;
	c->target_vp = o->target_vp;
	c->opens++;
	vmbus_ic_init(&c->ic, c->kind);
	log_info("%s IC on relid %u opened: %u ring pages, VP %u", kind_names[c->kind], o->relid,
		 o->npages, o->target_vp);
	r = send_pkt(c, vmbus_ic_negotiate_request(&c->ic, c->msg, sizeof(c->msg)), 0);
	if (r == 0)
		receive(c); /* the guest may have written before the doorbell was routed */
	return 0;
}

void ic_chan_close(struct ic_chan *c)
{
	if (!c->open)
		return;
	fail_shutdown(c, -ECONNRESET);
	c->open = false;
	doorbell_release(c->bell);
	c->bell = NULL;
	vmbus_ring_fini(&c->in);
	vmbus_ring_fini(&c->out);
	log_info("%s IC on relid %u closed", kind_names[c->kind], c->relid);
}

bool ic_chan_is_open(const struct ic_chan *c)
{
	return c->open;
}

const struct vmbus_ic *ic_chan_state(const struct ic_chan *c)
{
	return &c->ic;
}

int ic_chan_heartbeat(struct ic_chan *c)
{
	if (!c->open || c->kind != VMBUS_IC_HEARTBEAT || c->ic.state != VMBUS_IC_READY)
		return -ENOTCONN;
	if (c->ic.outstanding)
		return -EAGAIN;
	return send_pkt(c, vmbus_ic_heartbeat_request(&c->ic, c->msg, sizeof(c->msg)), c->ic.seq + 1);
}

int ic_chan_shutdown(struct ic_chan *c, bool reboot, const char *message)
{
	if (!c->open || c->kind != VMBUS_IC_SHUTDOWN || c->ic.state != VMBUS_IC_READY)
		return -ENOTCONN;
	if (c->ic.outstanding)
		return -EBUSY;
	ssize_t len = vmbus_ic_shutdown_request(&c->ic, c->msg, sizeof(c->msg),
						IC_SHUTDOWN_F_FORCE | (reboot ? IC_SHUTDOWN_F_RESTART : 0),
						0, 0, message);
	if (len < 0)
		return (int)len;
	c->shutdown_requests++;
	return send_pkt(c, len, 0);
}

void ic_chan_inspect(const struct ic_chan *c, struct inspect_tree *t, Mhcl__Node *dir)
{
	inspect_bool(t, dir, "open", c->open);
	inspect_u64(t, dir, "relid", c->open ? c->relid : 0);
	inspect_str(t, dir, "state",
		    (unsigned)c->ic.state < _VMBUS_IC_STATE_MAX ? state_names[c->ic.state] : "?");
	if (c->ic.state == VMBUS_IC_READY) {
		inspect_strf(t, dir, "framework_version", "%u.%u", c->ic.framework.major,
			     c->ic.framework.minor);
		inspect_strf(t, dir, "message_version", "%u.%u", c->ic.message.major,
			     c->ic.message.minor);
	}
	if (c->kind == VMBUS_IC_HEARTBEAT) {
		inspect_u64(t, dir, "sequence", c->ic.seq);
		inspect_u64(t, dir, "answered", c->ic.heartbeats);
	} else {
		inspect_u64(t, dir, "requests", c->shutdown_requests);
		inspect_u64(t, dir, "last_status", c->ic.last_status);
	}
	inspect_bool(t, dir, "outstanding", c->ic.outstanding);
	inspect_u64(t, dir, "opens", c->opens);
	inspect_u64(t, dir, "packets_in", c->packets_in);
	inspect_u64(t, dir, "packets_out", c->packets_out);
	inspect_u64(t, dir, "doorbells", c->signals_in);
	inspect_u64(t, dir, "interrupts", c->signals_out);
	inspect_u64(t, dir, "interrupt_failures", c->signal_failures);
	inspect_u64(t, dir, "bad_packets", c->ic.bad_packets);
	inspect_i64(t, dir, "last_error", c->last_error);
}

int ic_chan_new(uv_loop_t *loop, enum vmbus_ic_kind kind, ic_signal_fn signal,
		ic_shutdown_done_fn shutdown_done, void *opaque, struct ic_chan **ret)
{
	struct ic_chan *c;

	if ((unsigned)kind >= _VMBUS_IC_KIND_MAX || !signal)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->loop = loop;
	c->kind = kind;
	c->signal = signal;
	c->shutdown_done = shutdown_done;
	c->opaque = opaque;
	vmbus_ic_init(&c->ic, kind);
	*ret = c;
	return 0;
}

void ic_chan_free(struct ic_chan *c)
{
	if (!c)
		return;
	c->shutdown_done = NULL;
	ic_chan_close(c);
	free(c);
}
