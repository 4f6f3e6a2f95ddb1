/* SPDX-License-Identifier: MIT */
/*
 * mhcl-icd: the Hyper-V integration components (heartbeat, shutdown) as a VMBus device
 * server under mhcl-init.
 *
 *   mhcl-icd --vmbus-socket PATH
 *
 * Before its jail icd connects to mhcl-vmbusd's device socket (lib/vmbusdev); once READY
 * has handed back what init keeps for it, it registers one offer per component (fixed
 * instance GUIDs, so the guest sees the same devices on every boot). lib/vmbusdev maps
 * guest RAM, builds the rings and watches the doorbell; this file keeps only the IC
 * protocol (ic_channels.c over ic.c).
 *
 * Restart without the guest noticing: the IC state (negotiated versions, heartbeat
 * sequence, the request in flight) lives in a memfd that init keeps in its fd store
 * ("ic-state"), written as the protocol moves, so it is right even after kill -9. vmbusd
 * keeps icd's channels open while it restarts and hands them back (VmbusdChannelOpen with
 * resume); icd adopts them with that state and goes on from the ring indices in guest
 * RAM: no rescind, no new offer, no renegotiation, and the sequence keeps climbing.
 *
 * Heartbeat: a request every ICD_HEARTBEAT_MS; `mhcl inspect ic` shows the sequence.
 * Shutdown: init routes `mhcl guest shutdown` (IPC_MSG_GUEST_SHUTDOWN) here; the answer
 * goes back once the guest accepted or refused.
 *
 * If vmbusd goes away, icd exits cleanly: init restarts it (restart = "always") and the
 * next icd adopts its channels from the next vmbusd.
 * Jail: the "icd" profile (maps memfds without PROT_EXEC, reads and writes eventfds, talks
 * on its held sockets; no accept, no connect).
 */
#include "log.h" /* before uv.h: sys/param.h guards its MIN/MAX */

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "defs/exit_codes.h"
#include "defs/hv_defs.h"
#include "ic_channels.h"
#include "ipc.h"
#include "vmbusdev.h"
#include "macros.h"
#include "server.h"
#include "srv_state.h"
#include "vmbus.h"
#include "vmbus.pb-c.h"

#define ICD_HEARTBEAT_MS 1000u
#define ICD_STATE_NAME "ic-state"
#define ICD_STATE_MAGIC 0x6d68634963537431ull /* "mhcIcSt1": bump when the layout changes */

/* Fixed instance ids, so the guest sees the same devices on every boot. */
#define ICD_HEARTBEAT_INSTANCE                                                                     \
	HV_GUID_INIT(0x6d686331, 0x0001, 0x4862, 0x80, 0x00, 0x68, 0x65, 0x61, 0x72, 0x74, 0x01)
#define ICD_SHUTDOWN_INSTANCE                                                                      \
	HV_GUID_INIT(0x6d686331, 0x0002, 0x5368, 0x80, 0x00, 0x73, 0x68, 0x75, 0x74, 0x64, 0x01)

/* The crash-consistent state, in the memfd init keeps. Only this binary reads it; the
 * magic and size refuse a layout from another build. */
struct icd_saved {
	struct srv_state_hdr hdr;
	struct vmbus_ic ic[_VMBUS_IC_KIND_MAX];
};

struct icd;

struct ic_dev {
	struct icd *icd;
	enum vmbus_ic_kind kind;
	struct ic_chan *chan;
	struct vmbusdev_chan *dev;
};

struct icd {
	uv_loop_t *loop;
	struct srv *srv;
	struct vmbusdev *vmbus;
	uv_timer_t hb_timer;
	bool stopping;		 /* init asked us to stop: losing vmbusd is then expected */
	struct srv_state st;	 /* the memfd init keeps */
	struct icd_saved *saved; /* st.map */
	bool adopted_state;

	struct ic_dev ic[_VMBUS_IC_KIND_MAX];

	/* A guest shutdown request waiting for the guest's answer. */
	struct ipc_chan *shutdown_ch;
	uint32_t shutdown_req;
};

static struct icd icd_state;

static void shutdown_done(void *opaque, int status, uint32_t guest_status)
{
	struct ic_dev *ic = opaque;
	struct icd *d = ic->icd;
	struct ipc_chan *ch = d->shutdown_ch;

	d->shutdown_ch = NULL;
	if (!ch)
		return;
	if (status < 0) {
		(void)ipc_chan_reply_error(ch, d->shutdown_req, IPC_MSG_GUEST_SHUTDOWN, status,
					   "the shutdown channel closed before the guest answered");
		return;
	}
	Mhcl__Vmbus__GuestShutdownReply rep = MHCL__VMBUS__GUEST_SHUTDOWN_REPLY__INIT;
	rep.status = guest_status;
	(void)ipc_chan_reply(ch, d->shutdown_req, IPC_MSG_GUEST_SHUTDOWN, &rep.base, NULL, 0);
}

static void hb_timer_cb(uv_timer_t *t)
{
	struct icd *d = t->data;
	struct ic_chan *c = d->ic[VMBUS_IC_HEARTBEAT].chan;

	if (ic_chan_is_open(c))
		(void)ic_chan_heartbeat(c);
}

static int dev_open(struct vmbusdev_chan *c, bool resume, void *opaque, const char **why)
{
	struct ic_dev *ic = opaque;
	int r = ic_chan_opened(ic->chan, c, resume);
	if (r < 0)
		*why = "the component is already open";
	return r;
}

static void dev_signaled(struct vmbusdev_chan *c, void *opaque)
{
	struct ic_dev *ic = opaque;
	(void)c;
	ic_chan_signaled(ic->chan);
}

static void dev_close(struct vmbusdev_chan *c, void *opaque)
{
	struct ic_dev *ic = opaque;
	(void)c;
	ic_chan_closed(ic->chan);
}

static const struct vmbusdev_chan_ops ic_dev_ops = {
    .open = dev_open,
    .signaled = dev_signaled,
    .close = dev_close,
};

static void vmbus_lost(struct vmbusdev *v, int reason, void *opaque)
{
	struct icd *d = opaque;

	(void)v;
	d->vmbus = NULL;
	uv_timer_stop(&d->hb_timer);
	if (d->stopping)
		return;
	/* vmbusd restarts (its state survives it): the next icd connects to the next vmbusd
	 * and adopts the channels again. A clean exit, so init restarts it without backoff. */
	log_info("vmbusd went away (%s): exiting so that the next icd joins the next vmbusd",
		 strerror(-(reason ? reason : -EPIPE)));
	srv_set_exit_code(d->srv, MHCL_EXIT_OK);
	uv_stop(d->loop);
}

/* Describes both components to lib/vmbusdev, their state in d->saved. */
static int add_channels(struct icd *d)
{
	static const struct hv_guid instances[_VMBUS_IC_KIND_MAX] = {
	    [VMBUS_IC_HEARTBEAT] = ICD_HEARTBEAT_INSTANCE,
	    [VMBUS_IC_SHUTDOWN] = ICD_SHUTDOWN_INSTANCE,
	};
	for (int k = 0; k < _VMBUS_IC_KIND_MAX; k++) {
		Mhcl__Vmbus__DeviceOffer m = MHCL__VMBUS__DEVICE_OFFER__INIT;
		struct ic_dev *ic = &d->ic[k];
		struct vmbus_offer o;
		int r;

		r = ic_chan_new((enum vmbus_ic_kind)k, &d->saved->ic[k],
				k == VMBUS_IC_SHUTDOWN ? shutdown_done : NULL, ic, &ic->chan);
		if (r < 0)
			return r;
		vmbus_ic_offer((enum vmbus_ic_kind)k, &instances[k], &o);
		m.if_type = (ProtobufCBinaryData){sizeof(o.if_type), o.if_type.b};
		m.if_instance = (ProtobufCBinaryData){sizeof(o.if_instance), o.if_instance.b};
		m.chn_flags = o.chn_flags;
		m.mmio_megabytes = o.mmio_megabytes;
		m.user_def = (ProtobufCBinaryData){sizeof(o.user_def), o.user_def};
		m.sub_channel_index = o.sub_channel_index;
		r = vmbusdev_chan_new(d->vmbus, &m, &ic_dev_ops, ic, &ic->dev);
		if (r < 0)
			return r;
	}
	return 0;
}

/* A fresh state, made before the jail (which has no memfd_create); used only if init's
 * fd store has none for us. */
static int fresh_saved(struct icd *d)
{
	int r = srv_state_prepare(&d->st, "mhcl-icd-state", sizeof(struct icd_saved),
				  ICD_STATE_MAGIC);
	if (r < 0)
		return r;
	struct icd_saved *p = d->st.fresh;
	for (int k = 0; k < _VMBUS_IC_KIND_MAX; k++)
		vmbus_ic_init(&p->ic[k], (enum vmbus_ic_kind)k);
	return 0;
}

static int srv_restore(struct srv *s, const uint8_t *buf, size_t len, bool crash, void *opaque)
{
	struct icd *d = opaque;
	int r;

	(void)s;
	(void)buf;
	(void)len;
	r = srv_state_adopt(d->srv, &d->st, ICD_STATE_NAME, NULL, NULL);
	if (r < 0)
		return log_error_errno(r, "unable to keep the IC state: %m");
	d->saved = d->st.map;
	d->adopted_state = d->st.adopted;
	if (d->adopted_state)
		log_info(
		    "adopted the IC state of the previous instance (%s; heartbeat sequence %llu)",
		    crash ? "it crashed" : "planned restart",
		    (unsigned long long)d->saved->ic[VMBUS_IC_HEARTBEAT].seq);
	r = add_channels(d);
	if (r < 0)
		return r;
	r = vmbusdev_register(d->vmbus);
	if (r < 0)
		return r;
	return uv_timer_start(&d->hb_timer, hb_timer_cb, ICD_HEARTBEAT_MS, ICD_HEARTBEAT_MS);
}

/* ---- server hooks ---- */

static void srv_request(struct ipc_chan *ch, struct ipc_msg *msg, void *opaque)
{
	struct icd *d = opaque;

	if (msg->type != IPC_MSG_GUEST_SHUTDOWN) {
		(void)ipc_chan_reply_error(ch, msg->request_id, msg->type, -EOPNOTSUPP,
					   "icd does not handle message type %u", msg->type);
		return;
	}
	Mhcl__Vmbus__GuestShutdownRequest *m = (Mhcl__Vmbus__GuestShutdownRequest *)ipc_msg_unpack(
	    ch, msg, &mhcl__vmbus__guest_shutdown_request__descriptor);
	if (!m)
		return;
	struct ic_chan *c = d->ic[VMBUS_IC_SHUTDOWN].chan;
	int r = d->shutdown_ch ? -EBUSY : ic_chan_shutdown(c, m->reboot, m->reason);
	if (r < 0) {
		(void)ipc_chan_reply_error(ch, msg->request_id, msg->type, r, "%s",
					   r == -EBUSY ? "a shutdown request is already waiting"
					   : r == -ENOTCONN
					       ? "the guest has not opened the shutdown channel"
					       : "unable to send the shutdown request");
	} else {
		log_info("asked the guest to %s%s%s", m->reboot ? "restart" : "power off",
			 m->reason && *m->reason ? ": " : "", m->reason ? m->reason : "");
		d->shutdown_ch = ch;
		d->shutdown_req = msg->request_id;
	}
	protobuf_c_message_free_unpacked(&m->base, NULL);
}

static void srv_inspect(struct srv *s, struct inspect_tree *t, Mhcl__Node *root, void *opaque)
{
	struct icd *d = opaque;

	(void)s;
	if (d->vmbus)
		vmbusdev_inspect(d->vmbus, t, inspect_dir(t, root, "vmbus"));
	inspect_bool(t, root, "adopted_state", d->adopted_state);
	for (int k = 0; k < _VMBUS_IC_KIND_MAX; k++) {
		Mhcl__Node *n =
		    inspect_dir(t, root, k == VMBUS_IC_HEARTBEAT ? "heartbeat" : "shutdown");
		if (d->ic[k].chan)
			ic_chan_inspect(d->ic[k].chan, t, n);
		if (d->ic[k].dev)
			vmbusdev_chan_inspect(d->ic[k].dev, t, n);
	}
}

static void srv_stop(struct srv *s, void *opaque)
{
	struct icd *d = opaque;

	(void)s;
	d->stopping = true;
	uv_timer_stop(&d->hb_timer);
	uv_stop(d->loop);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: mhcl-icd --vmbus-socket PATH\n"
		   "Started by mhcl-init; PATH is mhcl-vmbusd's --device-socket.\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"vmbus-socket", required_argument, NULL, 's'},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	static const struct srv_ops ops = {
	    .inspect = srv_inspect,
	    .restore = srv_restore,
	    .on_request = srv_request,
	    .stop = srv_stop,
	};
	struct icd *d = &icd_state;
	const char *path = NULL;
	uv_loop_t loop;
	int opt, r;

	log_set_ident("mhcl-icd");
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 's':
			if (ipc_unix_path_check(optarg) < 0) {
				log_error("--vmbus-socket: path too long");
				return MHCL_EXIT_USAGE;
			}
			path = optarg;
			break;
		case 'h':
			usage(stdout);
			return MHCL_EXIT_OK;
		default:
			usage(stderr);
			return MHCL_EXIT_USAGE;
		}
	}
	if (!path || optind != argc) {
		usage(stderr);
		return MHCL_EXIT_USAGE;
	}
	r = uv_loop_init(&loop);
	if (r < 0) {
		log_error_errno(r, "unable to create the event loop: %m");
		return MHCL_EXIT_SYSCALL;
	}
	d->loop = &loop;
	r = srv_start(&loop, &ops, d, &d->srv);
	if (r < 0) {
		log_error_errno(r, "unable to join the bus: %m");
		return MHCL_EXIT_SYSCALL;
	}
	for (int k = 0; k < _VMBUS_IC_KIND_MAX; k++)
		d->ic[k] = (struct ic_dev){.icd = d, .kind = (enum vmbus_ic_kind)k};
	d->st.fresh_fd = -1;
	r = uv_timer_init(&loop, &d->hb_timer);
	if (r < 0)
		goto fail;
	d->hb_timer.data = d;
	r = fresh_saved(d);
	if (r < 0)
		goto fail;
	r = vmbusdev_connect(&loop, path, vmbus_lost, d, &d->vmbus);
	if (r < 0) {
		log_error_errno(r, "unable to connect to vmbusd at %s: %m", path);
		goto fail;
	}
	srv_enter_jail(d->srv, NULL);
	r = srv_ready(d->srv);
	if (r < 0) {
		log_error_errno(r, "readiness handshake failed: %m");
		srv_set_exit_code(d->srv, MHCL_EXIT_FAILURE);
	} else {
		log_info("serving heartbeat and shutdown through vmbusd at %s", path);
		uv_run(&loop, UV_RUN_DEFAULT);
	}
	goto out;
fail:
	log_error_errno(r, "unable to start: %m");
	srv_set_exit_code(d->srv, MHCL_EXIT_SYSCALL);
out:
	if (d->vmbus)
		vmbusdev_free(d->vmbus); /* stops the channels first */
	for (int k = 0; k < _VMBUS_IC_KIND_MAX; k++)
		ic_chan_free(d->ic[k].chan);
	if (d->hb_timer.data)
		uv_close((uv_handle_t *)&d->hb_timer, NULL);
	r = srv_finish(d->srv); /* runs the loop until the handles are closed */
	(void)uv_loop_close(&loop);
	srv_state_release(&d->st);
	return r;
}
