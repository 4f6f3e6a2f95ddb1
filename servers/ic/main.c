/* SPDX-License-Identifier: MIT */
/*
 * mhcl-icd: the Hyper-V integration components (heartbeat, shutdown) as a VMBus device
 * server under mhcl-init.
 *
 *   mhcl-icd --vmbus-socket PATH
 *
 * Before its jail icd connects to mhcl-vmbusd's device socket (vmbusd --device-socket
 * PATH) and registers one offer per component (DeviceOffer, fixed instance GUIDs so the
 * guest sees the same devices on every boot). vmbusd offers them to the guest. When the
 * guest opens one, vmbusd sends ChannelOpen: the ring PFNs, the guest RAM memfd (first open
 * of a partition), the doorbell eventfd the partition signals on the guest's HvSignalEvent,
 * and the target VP's SINT irqfd with its SIEFP GPA. icd maps the memfd itself, checks every
 * PFN against the RAM layout, and serves the ring (ic_channels.c over lib/ring); to
 * interrupt the guest it sets the relid's bit in the SIEFP page and writes the irqfd.
 * ChannelClose is answered once the rings are no longer used.
 *
 * Heartbeat: a request every ICD_HEARTBEAT_MS; `mhcl inspect ic` shows the sequence.
 * Shutdown: init routes `mhcl guest shutdown` (IPC_MSG_GUEST_SHUTDOWN) here; the answer
 * goes back once the guest accepted or refused.
 *
 * If vmbusd goes away, icd exits with a failure: init restarts it and it registers again
 * with the new vmbusd. Jail: the "icd" profile (maps the memfd without PROT_EXEC, reads
 * and writes eventfds, talks on its held sockets; no accept, no connect).
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
#include <unistd.h>

#include "defs/exit_codes.h"
#include "defs/hv_defs.h"
#include "ic_channels.h"
#include "ipc.h"
#include "macros.h"
#include "server.h"
#include "vmbus.h"
#include "vmbus.pb-c.h"

#define ICD_HEARTBEAT_MS 1000u
#define ICD_MAX_VPS 64u
#define ICD_PAGE_SIZE 4096u
#define ICD_SIEFP_FLAGS_BYTES 256u

/* Fixed instance ids, so the guest sees the same devices on every boot. */
#define ICD_HEARTBEAT_INSTANCE                                                                     \
	HV_GUID_INIT(0x6d686331, 0x0001, 0x4862, 0x80, 0x00, 0x68, 0x65, 0x61, 0x72, 0x74, 0x01)
#define ICD_SHUTDOWN_INSTANCE                                                                      \
	HV_GUID_INIT(0x6d686331, 0x0002, 0x5368, 0x80, 0x00, 0x73, 0x68, 0x75, 0x74, 0x64, 0x01)

struct icd;

struct ic_dev {
	struct icd *icd;
	enum vmbus_ic_kind kind;
	uint32_t offer_id;
	struct ic_chan *chan;
	int irqfd; /* the target VP's SINT irqfd while open */
	uint32_t relid;
	uint64_t opens_refused;
};

struct icd {
	uv_loop_t *loop;
	struct srv *srv;
	struct ipc_chan *vmbus;
	uv_timer_t hb_timer;
	bool stopping; /* init asked us to stop: losing vmbusd is then expected */

	/* Guest RAM, as the last ChannelOpen with a memfd described it. */
	uint8_t *ram;
	size_t ram_len;
	uint64_t partition;
	struct vmbus_ram_range ranges[VMBUS_MAX_RAM_RANGES];
	uint64_t range_off[VMBUS_MAX_RAM_RANGES];
	unsigned nranges;
	uint64_t siefp[ICD_MAX_VPS]; /* 0: unknown or disabled */

	struct ic_dev ic[_VMBUS_IC_KIND_MAX];

	/* A guest shutdown request waiting for the guest's answer. */
	struct ipc_chan *shutdown_ch;
	uint32_t shutdown_req;

	uint64_t bad_messages, memfd_maps;
};

static struct icd icd_state;

static void *ram_ptr(struct icd *d, uint64_t gpa, uint64_t len)
{
	for (unsigned i = 0; i < d->nranges; i++) {
		const struct vmbus_ram_range *r = &d->ranges[i];
		if (gpa >= r->gpa && len <= r->size && gpa - r->gpa <= r->size - len)
			return d->ram + d->range_off[i] + (gpa - r->gpa);
	}
	return NULL;
}

/* Sets relid's flag in the VP's SIEFP (SINT 2) and raises the SINT through the irqfd. */
static int signal_guest(void *opaque, uint32_t vp, uint32_t relid)
{
	struct ic_dev *ic = opaque;
	struct icd *d = ic->icd;
	uint64_t one = 1;
	uint8_t *flags;

	if (vp >= ICD_MAX_VPS || relid >= ICD_SIEFP_FLAGS_BYTES * 8 || ic->irqfd < 0)
		return -EINVAL;
	if (!d->siefp[vp])
		return -ENXIO;
	flags = ram_ptr(d, d->siefp[vp] + (uint64_t)VMBUS_MESSAGE_SINT * ICD_SIEFP_FLAGS_BYTES,
			ICD_SIEFP_FLAGS_BYTES);
	if (!flags)
		return -ENXIO;
	__atomic_fetch_or(&flags[relid / 8], (uint8_t)(1u << (relid % 8)), __ATOMIC_SEQ_CST);
	if (write(ic->irqfd, &one, sizeof(one)) != sizeof(one))
		return -errno;
	return 0;
}

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
	Mhcl__Vp__GuestShutdownReply rep = MHCL__VP__GUEST_SHUTDOWN_REPLY__INIT;
	rep.status = guest_status;
	(void)ipc_chan_reply(ch, d->shutdown_req, IPC_MSG_GUEST_SHUTDOWN, &rep.base, NULL, 0);
}

static void ic_dev_close(struct ic_dev *ic)
{
	ic_chan_close(ic->chan);
	if (ic->irqfd >= 0)
		close(ic->irqfd);
	ic->irqfd = -1;
	ic->relid = 0;
}

static struct ic_dev *ic_of(struct icd *d, uint32_t offer_id)
{
	for (int k = 0; k < _VMBUS_IC_KIND_MAX; k++)
		if (d->ic[k].offer_id == offer_id)
			return &d->ic[k];
	return NULL;
}

/* Maps a new partition's guest RAM; channels of the old one are closed first. The same
 * partition's memfd sent again (after a refused open) keeps the mapping. */
static int map_ram(struct icd *d, const Mhcl__Vp__ChannelOpen *m, int memfd, const char **why)
{
	struct stat st;
	uint64_t need = 0;

	if (d->ram && m->partition == d->partition)
		return 0;

	if (m->n_ram == 0 || m->n_ram > VMBUS_MAX_RAM_RANGES) {
		*why = "want 1..16 RAM ranges with the memfd";
		return -EINVAL;
	}
	for (size_t i = 0; i < m->n_ram; i++) {
		const Mhcl__Vp__RamRange *rr = m->ram[i];
		if (rr->size == 0 || (rr->gpa | rr->size | rr->memfd_offset) % ICD_PAGE_SIZE ||
		    rr->gpa > UINT64_MAX - rr->size || rr->memfd_offset > UINT64_MAX - rr->size) {
			*why = "a RAM range is empty, unaligned or wraps";
			return -EINVAL;
		}
		need = MAX(need, rr->memfd_offset + rr->size);
	}
	if (fstat(memfd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size < need ||
	    need > SIZE_MAX) {
		*why = "the memfd is smaller than the RAM ranges";
		return -EINVAL;
	}
	void *ram = mmap(NULL, (size_t)need, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (ram == MAP_FAILED) {
		*why = "unable to map guest RAM";
		return -errno;
	}
	for (int k = 0; k < _VMBUS_IC_KIND_MAX; k++)
		ic_dev_close(&d->ic[k]);
	if (d->ram)
		munmap(d->ram, d->ram_len);
	d->ram = ram;
	d->ram_len = (size_t)need;
	d->nranges = (unsigned)m->n_ram;
	for (size_t i = 0; i < m->n_ram; i++) {
		d->ranges[i] = (struct vmbus_ram_range){m->ram[i]->gpa, m->ram[i]->size};
		d->range_off[i] = m->ram[i]->memfd_offset;
	}
	memset(d->siefp, 0, sizeof(d->siefp));
	d->partition = m->partition;
	d->memfd_maps++;
	return 0;
}

static void channel_open(struct icd *d, struct ipc_chan *ch, struct ipc_msg *msg)
{
	Mhcl__Vp__ChannelOpen *m =
	    (Mhcl__Vp__ChannelOpen *)ipc_msg_unpack(ch, msg, &mhcl__vp__channel_open__descriptor);
	struct ic_chan_open o = {.doorbell_fd = -1};
	struct ic_dev *ic;
	const char *why = "";
	size_t fdi = 0;
	int r = -EINVAL;

	if (!m)
		return;
	ic = ic_of(d, m->offer_id);
	if (msg->nfds != (m->n_ram ? 3u : 2u)) {
		why = "want the doorbell and the irqfd (and the memfd with the RAM layout)";
		goto refuse;
	}
	if (m->n_ram) {
		r = map_ram(d, m, msg->fds[fdi++], &why);
		if (r < 0)
			goto refuse;
	} else if (!d->ram || m->partition != d->partition) {
		r = -EINVAL;
		why = "no guest RAM for this partition";
		goto refuse;
	}
	r = -EINVAL;
	if (!ic) {
		r = -ENOENT;
		why = "no such offer";
		goto refuse;
	}
	if (ic_chan_is_open(ic->chan)) {
		r = -EBUSY;
		why = "the channel is already open";
		goto refuse;
	}
	if (m->target_vp >= ICD_MAX_VPS || m->n_pfns == 0 || m->n_pfns > IC_CHAN_MAX_PAGES ||
	    m->siefp_gpa % ICD_PAGE_SIZE ||
	    (m->siefp_gpa && !ram_ptr(d, m->siefp_gpa, ICD_PAGE_SIZE))) {
		why = "bad target VP, ring size or SIEFP page";
		goto refuse;
	}
	for (size_t i = 0; i < m->n_pfns; i++) {
		o.pages[i] = m->pfns[i] < (UINT64_MAX >> HV_PAGE_SHIFT)
				 ? ram_ptr(d, m->pfns[i] << HV_PAGE_SHIFT, ICD_PAGE_SIZE)
				 : NULL;
		if (!o.pages[i]) {
			r = -EFAULT;
			why = "a ring page is outside guest RAM";
			goto refuse;
		}
	}
	o.relid = m->relid;
	o.target_vp = m->target_vp;
	o.npages = (uint32_t)m->n_pfns;
	o.downstream_page = m->downstream_page;
	o.doorbell_fd = msg->fds[fdi];
	msg->fds[fdi] = -1;
	if (m->siefp_gpa)
		d->siefp[m->target_vp] = m->siefp_gpa;
	ic->irqfd = msg->fds[fdi + 1];
	msg->fds[fdi + 1] = -1;
	ic->relid = m->relid;
	r = ic_chan_open(ic->chan, &o); /* takes the doorbell */
	if (r < 0) {
		ic_dev_close(ic);
		why = "unable to serve the ring";
		goto refuse;
	}
	Mhcl__Vp__ChannelOpenReply rep = MHCL__VP__CHANNEL_OPEN_REPLY__INIT;
	(void)ipc_chan_reply(ch, msg->request_id, msg->type, &rep.base, NULL, 0);
	protobuf_c_message_free_unpacked(&m->base, NULL);
	return;
refuse:
	d->bad_messages++;
	if (ic)
		ic->opens_refused++;
	log_warn_errno(r, "refused to open relid %u: %s: %m", m->relid, why);
	(void)ipc_chan_reply_error(ch, msg->request_id, msg->type, r, "%s", why);
	protobuf_c_message_free_unpacked(&m->base, NULL);
}

static void channel_close(struct icd *d, struct ipc_chan *ch, struct ipc_msg *msg)
{
	Mhcl__Vp__ChannelClose *m =
	    (Mhcl__Vp__ChannelClose *)ipc_msg_unpack(ch, msg, &mhcl__vp__channel_close__descriptor);
	struct ic_dev *ic;

	if (!m)
		return;
	ic = ic_of(d, m->offer_id);
	if (ic && ic->relid == m->relid)
		ic_dev_close(ic);
	else
		d->bad_messages++;
	/* Answered either way: this device does not use that ring now. */
	Mhcl__Vp__ChannelCloseReply rep = MHCL__VP__CHANNEL_CLOSE_REPLY__INIT;
	(void)ipc_chan_reply(ch, msg->request_id, msg->type, &rep.base, NULL, 0);
	protobuf_c_message_free_unpacked(&m->base, NULL);
}

static void vmbus_request(struct ipc_chan *ch, struct ipc_msg *msg, void *opaque)
{
	struct icd *d = opaque;

	if (msg->type == IPC_MSG_VP_CHANNEL_OPEN) {
		channel_open(d, ch, msg);
	} else if (msg->type == IPC_MSG_VP_CHANNEL_CLOSE) {
		channel_close(d, ch, msg);
	} else {
		d->bad_messages++;
		(void)ipc_chan_reply_error(ch, msg->request_id, msg->type, -EOPNOTSUPP,
					   "icd does not handle message type %u", msg->type);
	}
}

static void vmbus_notify(struct ipc_chan *ch, struct ipc_msg *msg, void *opaque)
{
	struct icd *d = opaque;

	if (msg->type != IPC_MSG_VP_SYNIC_PAGES) {
		d->bad_messages++;
		return;
	}
	Mhcl__Vp__SynicPages *m =
	    (Mhcl__Vp__SynicPages *)ipc_msg_unpack(ch, msg, &mhcl__vp__synic_pages__descriptor);
	if (!m)
		return;
	if (m->vp >= ICD_MAX_VPS || m->siefp_gpa % ICD_PAGE_SIZE ||
	    (m->siefp_gpa && !ram_ptr(d, m->siefp_gpa, ICD_PAGE_SIZE)))
		d->bad_messages++;
	else
		d->siefp[m->vp] = m->enabled ? m->siefp_gpa : 0;
	protobuf_c_message_free_unpacked(&m->base, NULL);
}

static void vmbus_closed(struct ipc_chan *ch, int reason, void *opaque)
{
	struct icd *d = opaque;

	(void)ch;
	d->vmbus = NULL;
	for (int k = 0; k < _VMBUS_IC_KIND_MAX; k++)
		ic_dev_close(&d->ic[k]);
	uv_timer_stop(&d->hb_timer);
	if (d->stopping)
		return;
	log_error_errno(reason ? reason : -EPIPE, "vmbusd went away: %m");
	srv_set_exit_code(d->srv, MHCL_EXIT_FAILURE);
	uv_stop(d->loop);
}

static const struct ipc_chan_ops vmbus_ops = {
    .on_request = vmbus_request,
    .on_notify = vmbus_notify,
    .on_close = vmbus_closed,
};

static void offer_reply(struct ipc_chan *ch, int status, struct ipc_msg *reply, void *opaque)
{
	struct ic_dev *ic = opaque;
	char why[160] = "";

	if (status == -EREMOTEIO && reply)
		status = ipc_msg_error(reply, why, sizeof(why));
	if (status < 0) {
		log_error_errno(status, "vmbusd refused the %s offer: %s: %m",
				ic->kind == VMBUS_IC_HEARTBEAT ? "heartbeat" : "shutdown", why);
		ipc_chan_close(ch);
		return;
	}
	log_info("registered the %s offer with vmbusd",
		 ic->kind == VMBUS_IC_HEARTBEAT ? "heartbeat" : "shutdown");
}

static int register_offers(struct icd *d)
{
	static const struct hv_guid instances[_VMBUS_IC_KIND_MAX] = {
	    [VMBUS_IC_HEARTBEAT] = ICD_HEARTBEAT_INSTANCE,
	    [VMBUS_IC_SHUTDOWN] = ICD_SHUTDOWN_INSTANCE,
	};
	for (int k = 0; k < _VMBUS_IC_KIND_MAX; k++) {
		Mhcl__Vp__DeviceOffer m = MHCL__VP__DEVICE_OFFER__INIT;
		struct vmbus_offer o;
		int r;

		vmbus_ic_offer((enum vmbus_ic_kind)k, &instances[k], &o);
		m.offer_id = d->ic[k].offer_id;
		m.if_type = (ProtobufCBinaryData){sizeof(o.if_type), o.if_type.b};
		m.if_instance = (ProtobufCBinaryData){sizeof(o.if_instance), o.if_instance.b};
		m.chn_flags = o.chn_flags;
		m.mmio_megabytes = o.mmio_megabytes;
		m.user_def = (ProtobufCBinaryData){sizeof(o.user_def), o.user_def};
		m.sub_channel_index = o.sub_channel_index;
		r = ipc_chan_request(d->vmbus, IPC_MSG_VP_DEVICE_OFFER, &m.base, NULL, 0, 0,
				     offer_reply, &d->ic[k]);
		if (r < 0)
			return r;
	}
	return 0;
}

static void hb_timer_cb(uv_timer_t *t)
{
	struct icd *d = t->data;
	struct ic_chan *c = d->ic[VMBUS_IC_HEARTBEAT].chan;

	if (ic_chan_is_open(c))
		(void)ic_chan_heartbeat(c);
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
	Mhcl__Vp__GuestShutdownRequest *m = (Mhcl__Vp__GuestShutdownRequest *)ipc_msg_unpack(
	    ch, msg, &mhcl__vp__guest_shutdown_request__descriptor);
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
	Mhcl__Node *v;

	(void)s;
	v = inspect_dir(t, root, "vmbus");
	inspect_bool(t, v, "connected", d->vmbus != NULL);
	inspect_u64(t, v, "partition", d->partition);
	inspect_u64(t, v, "ram_bytes", d->ram_len);
	inspect_u64(t, v, "memfd_maps", d->memfd_maps);
	inspect_u64(t, v, "bad_messages", d->bad_messages);
	for (int k = 0; k < _VMBUS_IC_KIND_MAX; k++) {
		Mhcl__Node *n =
		    inspect_dir(t, root, k == VMBUS_IC_HEARTBEAT ? "heartbeat" : "shutdown");
		ic_chan_inspect(d->ic[k].chan, t, n);
		inspect_u64(t, n, "offer_id", d->ic[k].offer_id);
		inspect_u64(t, n, "opens_refused", d->ic[k].opens_refused);
	}
}

static void srv_stop(struct srv *s, void *opaque)
{
	struct icd *d = opaque;

	(void)s;
	d->stopping = true;
	uv_timer_stop(&d->hb_timer);
	if (d->vmbus)
		ipc_chan_close(d->vmbus);
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
	    .on_request = srv_request,
	    .stop = srv_stop,
	};
	struct icd *d = &icd_state;
	const char *path = NULL;
	uv_loop_t loop;
	int opt, fd, r;

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
	for (int k = 0; k < _VMBUS_IC_KIND_MAX; k++) {
		d->ic[k] = (struct ic_dev){.icd = d,
					   .kind = (enum vmbus_ic_kind)k,
					   .offer_id = (uint32_t)k + 1,
					   .irqfd = -1};
		r = ic_chan_new(&loop, (enum vmbus_ic_kind)k, signal_guest,
				k == VMBUS_IC_SHUTDOWN ? shutdown_done : NULL, &d->ic[k],
				&d->ic[k].chan);
		if (r < 0)
			goto fail;
	}
	r = uv_timer_init(&loop, &d->hb_timer);
	if (r < 0)
		goto fail;
	d->hb_timer.data = d;
	fd = ipc_connect_unix(path, SOCK_SEQPACKET);
	if (fd < 0) {
		r = fd;
		log_error_errno(r, "unable to connect to vmbusd at %s: %m", path);
		goto fail;
	}
	r = ipc_chan_open(&loop, fd, IPC_TRANSPORT_SEQPACKET, &vmbus_ops, d, &d->vmbus);
	if (r < 0)
		goto fail;
	r = register_offers(d);
	if (r < 0)
		goto fail;
	r = uv_timer_start(&d->hb_timer, hb_timer_cb, ICD_HEARTBEAT_MS, ICD_HEARTBEAT_MS);
	if (r < 0)
		goto fail;
	srv_enter_jail(d->srv, NULL);
	r = srv_ready(d->srv);
	if (r < 0) {
		log_error_errno(r, "readiness handshake failed: %m");
		srv_set_exit_code(d->srv, MHCL_EXIT_FAILURE);
	} else {
		log_info("serving heartbeat and shutdown through vmbusd at %s", path);
		uv_run(&loop, UV_RUN_DEFAULT);
	}
	r = srv_finish(d->srv);
	for (int k = 0; k < _VMBUS_IC_KIND_MAX; k++) {
		d->ic[k].icd = NULL;
		if (d->ic[k].irqfd >= 0)
			close(d->ic[k].irqfd);
		ic_chan_free(d->ic[k].chan);
	}
	if (d->ram)
		munmap(d->ram, d->ram_len);
	return r;
fail:
	log_error_errno(r, "unable to start: %m");
	srv_set_exit_code(d->srv, MHCL_EXIT_SYSCALL);
	return srv_finish(d->srv);
}
