/* SPDX-License-Identifier: MIT */
#include "ic_channels.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "log_limit.h"
#include "vmbus_ring.h"
#include "vmbusdev.h"

#define IC_PKT_MAX 4096

struct ic_chan {
	enum vmbus_ic_kind kind;
	ic_shutdown_done_fn shutdown_done;
	void *opaque;
	struct vmbusdev_chan *dev;
	bool open;
	uint32_t relid;
	struct vmbus_ring *in, *out;
	struct vmbus_ic *ic;	  /* crash-consistent: survives this process */
	bool adopted_outstanding; /* adopted with a request in flight (maybe never written) */
	uint32_t stale_ticks;	  /* beats that adopted request went unanswered */

	/* Counters, kept across opens. */
	uint64_t packets_in, packets_out, signal_failures;
	uint64_t shutdown_requests;
	int last_error;
	struct log_limit log; /* what the guest's packets and doorbells make us say */

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
	int r = vmbusdev_chan_signal(c->dev);
	if (r < 0) {
		c->signal_failures++;
		log_warn_errno(r, "%s IC on relid %u: unable to interrupt the guest: %m",
			       kind_names[c->kind], c->relid);
	}
}

static int send_pkt(struct ic_chan *c, ssize_t len, uint64_t trans_id)
{
	int r;

	if (len < 0)
		return (int)len;
	r = vmbus_ring_send_inband(c->out, trans_id, 0, c->msg, (uint32_t)len);
	if (r < 0) {
		c->last_error = r;
		return log_limit_warn_errno(&c->log, r,
					    "%s IC on relid %u: unable to write the ring: %m",
					    kind_names[c->kind], c->relid);
	}
	c->packets_out++;
	if (r == 1)
		signal_guest(c);
	return 0;
}

static void fail_shutdown(struct ic_chan *c, int status)
{
	if (c->kind == VMBUS_IC_SHUTDOWN && c->ic->outstanding && c->shutdown_done)
		c->shutdown_done(c->opaque, status, 0);
}

static void handle_event(struct ic_chan *c, int ev)
{
	switch (ev) {
	case VMBUS_IC_EV_NEGOTIATED:
		log_info("%s IC on relid %u negotiated: framework %u.%u, message %u.%u",
			 kind_names[c->kind], c->relid, c->ic->framework.major,
			 c->ic->framework.minor, c->ic->message.major, c->ic->message.minor);
		if (c->kind == VMBUS_IC_HEARTBEAT)
			(void)ic_chan_heartbeat(c);
		break;
	case VMBUS_IC_EV_HEARTBEAT:
		log_debug("heartbeat IC on relid %u: guest answered sequence %llu", c->relid,
			  (unsigned long long)c->ic->seq);
		break;
	case VMBUS_IC_EV_SHUTDOWN_OK:
	case VMBUS_IC_EV_SHUTDOWN_FAIL:
		log_info("shutdown IC on relid %u: the guest %s the shutdown request (status %#x)",
			 c->relid, ev == VMBUS_IC_EV_SHUTDOWN_OK ? "accepted" : "refused",
			 c->ic->last_status);
		if (c->shutdown_done)
			c->shutdown_done(c->opaque, 0, c->ic->last_status);
		break;
	default:
		c->last_error = ev;
		log_limit_warn_errno(&c->log, ev, "%s IC on relid %u: refused a guest packet: %m",
				     kind_names[c->kind], c->relid);
	}
}

/* Drains guest->host packets; each is copied out of the ring before it is parsed. */
static void receive(struct ic_chan *c)
{
	struct vmbus_pkt pkt;
	int r;

	for (;;) {
		vmbus_ring_mask_interrupts(c->in);
		while ((r = vmbus_ring_recv(c->in, c->pkt, sizeof(c->pkt), &pkt)) == 0) {
			c->packets_in++;
			bool was_outstanding = c->ic->outstanding;
			int ev = vmbus_ic_receive(c->ic, pkt.payload, pkt.payload_len);
			if (ev < 0 && was_outstanding && !c->ic->outstanding)
				fail_shutdown(c, ev);
			handle_event(c, ev);
			if (!c->open)
				return;
			/* Consume each packet as soon as its effect is in the crash-consistent
			 * state, so a restart replays none. */
			if (vmbus_ring_recv_commit(c->in) == 1)
				signal_guest(c);
		}
		if (r != -EAGAIN) {
			c->last_error = r;
			log_limit_warn_errno(&c->log, r,
					     "%s IC on relid %u: guest->host ring broken: %m",
					     kind_names[c->kind], c->relid);
			return;
		}
		if (vmbus_ring_recv_commit(c->in) == 1)
			signal_guest(c);
		if (vmbus_ring_unmask_interrupts(c->in) != 1)
			return;
	}
}

void ic_chan_signaled(struct ic_chan *c)
{
	if (!c->open)
		return;
	receive(c);
}

int ic_chan_opened(struct ic_chan *c, struct vmbusdev_chan *dev, bool resume)
{
	if (c->open)
		return -EBUSY;
	c->dev = dev;
	c->in = vmbusdev_chan_in(dev);
	c->out = vmbusdev_chan_out(dev);
	c->relid = vmbusdev_chan_relid(dev);
	c->open = true;
	c->stale_ticks = 0;
	c->adopted_outstanding = resume && c->ic->outstanding;
	if (resume && c->ic->kind == c->kind) {
		/* The rings and the negotiated state carry on; a request that an earlier
		 * instance sent is still answered into the ring. */
		log_info("%s IC on relid %u adopted (%s, sequence %llu)", kind_names[c->kind],
			 c->relid, state_names[c->ic->state], (unsigned long long)c->ic->seq);
		return 0;
	}
	if (resume)
		log_warn("%s IC on relid %u: no saved state to adopt; negotiating again",
			 kind_names[c->kind], c->relid);
	log_info("%s IC on relid %u opened", kind_names[c->kind], c->relid);
	uint64_t seq = c->ic->seq; /* the heartbeat sequence keeps climbing across opens */
	vmbus_ic_init(c->ic, c->kind);
	c->ic->seq = seq;
	(void)send_pkt(c, vmbus_ic_negotiate_request(c->ic, c->msg, sizeof(c->msg)), 0);
	return 0;
}

void ic_chan_closed(struct ic_chan *c)
{
	if (!c->open)
		return;
	fail_shutdown(c, -ECONNRESET);
	c->open = false;
	c->dev = NULL;
	c->in = c->out = NULL;
	log_info("%s IC on relid %u closed", kind_names[c->kind], c->relid);
}

bool ic_chan_is_open(const struct ic_chan *c)
{
	return c->open;
}

const struct vmbus_ic *ic_chan_state(const struct ic_chan *c)
{
	return c->ic;
}

int ic_chan_heartbeat(struct ic_chan *c)
{
	if (!c->open || c->kind != VMBUS_IC_HEARTBEAT || c->ic->state != VMBUS_IC_READY)
		return -ENOTCONN;
	if (c->ic->outstanding) {
		/* A request an earlier instance recorded but died before writing (the state
		 * is updated first) goes unanswered for ever: give up on it after a few beats.
		 * Only then: a slow guest's answer to our own request is worth waiting for. */
		/* A request still unread in the ring was written: the guest is slow, wait. */
		if (!c->adopted_outstanding || !vmbus_ring_peer_drained(c->out) ||
		    ++c->stale_ticks < IC_CHAN_STALE_BEATS)
			return -EAGAIN;
		log_warn("heartbeat IC on relid %u: sequence %llu never answered; sending the next",
			 c->relid, (unsigned long long)c->ic->seq);
		c->ic->outstanding = false;
	}
	c->stale_ticks = 0;
	c->adopted_outstanding = false;
	return send_pkt(c, vmbus_ic_heartbeat_request(c->ic, c->msg, sizeof(c->msg)),
			c->ic->seq + 1);
}

int ic_chan_shutdown(struct ic_chan *c, bool reboot, const char *message)
{
	if (!c->open || c->kind != VMBUS_IC_SHUTDOWN || c->ic->state != VMBUS_IC_READY)
		return -ENOTCONN;
	if (c->ic->outstanding)
		return -EBUSY;
	ssize_t len = vmbus_ic_shutdown_request(
	    c->ic, c->msg, sizeof(c->msg),
	    IC_SHUTDOWN_F_FORCE | (reboot ? IC_SHUTDOWN_F_RESTART : 0), 0, 0, message);
	if (len < 0)
		return (int)len;
	c->shutdown_requests++;
	return send_pkt(c, len, 0);
}

void ic_chan_inspect(const struct ic_chan *c, struct inspect_tree *t, Mhcl__Node *dir)
{
	inspect_str(t, dir, "state",
		    (unsigned)c->ic->state < _VMBUS_IC_STATE_MAX ? state_names[c->ic->state] : "?");
	if (c->ic->state == VMBUS_IC_READY) {
		inspect_strf(t, dir, "framework_version", "%u.%u", c->ic->framework.major,
			     c->ic->framework.minor);
		inspect_strf(t, dir, "message_version", "%u.%u", c->ic->message.major,
			     c->ic->message.minor);
	}
	if (c->kind == VMBUS_IC_HEARTBEAT) {
		inspect_u64(t, dir, "sequence", c->ic->seq);
		inspect_u64(t, dir, "answered", c->ic->heartbeats);
	} else {
		inspect_u64(t, dir, "requests", c->shutdown_requests);
		inspect_u64(t, dir, "last_status", c->ic->last_status);
	}
	inspect_bool(t, dir, "outstanding", c->ic->outstanding);
	inspect_u64(t, dir, "packets_in", c->packets_in);
	inspect_u64(t, dir, "packets_out", c->packets_out);
	inspect_u64(t, dir, "signal_failures", c->signal_failures);
	inspect_u64(t, dir, "bad_packets", c->ic->bad_packets);
	inspect_i64(t, dir, "last_error", c->last_error);
	inspect_u64(t, dir, "log_suppressed", log_limit_suppressed(&c->log));
}

int ic_chan_new(enum vmbus_ic_kind kind, struct vmbus_ic *state, ic_shutdown_done_fn shutdown_done,
		void *opaque, struct ic_chan **ret)
{
	struct ic_chan *c;

	if ((unsigned)kind >= _VMBUS_IC_KIND_MAX || !state)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->kind = kind;
	c->ic = state;
	c->shutdown_done = shutdown_done;
	c->opaque = opaque;
	*ret = c;
	return 0;
}

void ic_chan_free(struct ic_chan *c)
{
	if (!c)
		return;
	c->shutdown_done = NULL;
	ic_chan_closed(c);
	free(c);
}
