/* SPDX-License-Identifier: MIT */
#include "vmbusd.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "defs/hv_defs.h"
#include "ic_channels.h"
#include "macros.h"
#include "vmbus.h"
#include "vmbus.pb-c.h"
#include "vmbus_inspect.h"

#define VMBUSD_MAX_VPS 64u
#define VMBUSD_SIEFP_FLAGS_BYTES 256u /* one SINT's event flags */
#define VMBUSD_PAGE_SIZE 4096u

/* Fixed instance ids, so the guest sees the same devices on every boot. */
#define VMBUSD_HEARTBEAT_INSTANCE                                                                 \
	HV_GUID_INIT(0x6d686331, 0x0001, 0x4862, 0x80, 0x00, 0x68, 0x65, 0x61, 0x72, 0x74, 0x01)
#define VMBUSD_SHUTDOWN_INSTANCE                                                                  \
	HV_GUID_INIT(0x6d686331, 0x0002, 0x5368, 0x80, 0x00, 0x73, 0x68, 0x75, 0x74, 0x64, 0x01)

struct vp_state {
	uint64_t siefp_gpa; /* 0: the guest has no SIEFP page (yet) */
	bool enabled;
	int irqfd; /* raises the VMBus SINT on this VP; -1 until the worker sent it */
};

/* One channel vmbusd serves itself; its open waits for the worker to route the doorbell. */
struct ic_slot {
	enum vmbus_ic_kind kind;
	uint32_t relid;
	struct ic_chan *chan;
	bool opening;	       /* EventPortAssign in flight */
	uint64_t gen;	       /* bumped by every open and close */
	uint32_t event_conn_id; /* routed while the channel is open */
	struct ic_chan_open pending;
};

struct vmbusd {
	uv_loop_t *loop;
	struct srv *srv;
	int listen_fd;
	uv_poll_t listen_poll;
	uv_timer_t hb_timer;

	/* The partition, while a worker is connected. */
	struct ipc_chan *worker;
	uint64_t worker_gen;
	uint8_t *ram;
	size_t ram_len;
	struct vmbus_ram_range ranges[VMBUS_MAX_RAM_RANGES];
	uint64_t range_off[VMBUS_MAX_RAM_RANGES];
	unsigned nranges;
	uint32_t vp_count;
	struct vp_state vps[VMBUSD_MAX_VPS];
	struct vmbus_server *vs;
	uint32_t version;
	struct ic_slot ic[_VMBUS_IC_KIND_MAX];

	/* A guest shutdown request waiting for the guest's answer. */
	struct ipc_chan *shutdown_ch;
	uint32_t shutdown_req;

	uint64_t workers, guest_messages, host_messages, bad_worker_messages, refused_workers;
};

struct assign_ctx {
	struct vmbusd *d;
	struct ic_slot *slot;
	uint64_t gen, worker_gen;
};

/* ---- guest RAM ---- */

/* A pointer to [gpa, gpa + len) inside one RAM range, or NULL. */
static void *ram_ptr(struct vmbusd *d, uint64_t gpa, uint64_t len)
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
	struct vmbusd *d = opaque;
	uint64_t one = 1;
	uint8_t *flags;

	if (vp >= d->vp_count || relid >= VMBUSD_SIEFP_FLAGS_BYTES * 8)
		return -EINVAL;
	if (!d->vps[vp].enabled || !d->vps[vp].siefp_gpa || d->vps[vp].irqfd < 0)
		return -ENXIO;
	flags = ram_ptr(d,
			d->vps[vp].siefp_gpa + (uint64_t)VMBUS_MESSAGE_SINT * VMBUSD_SIEFP_FLAGS_BYTES,
			VMBUSD_SIEFP_FLAGS_BYTES);
	if (!flags)
		return -ENXIO;
	__atomic_fetch_or(&flags[relid / 8], (uint8_t)(1u << (relid % 8)), __ATOMIC_SEQ_CST);
	if (write(d->vps[vp].irqfd, &one, sizeof(one)) != sizeof(one))
		return -errno;
	return 0;
}

/* ---- the control-plane library's callbacks ---- */

static void lib_post_msg(void *ctx, uint32_t vp, const void *msg, size_t len)
{
	struct vmbusd *d = ctx;
	Mhcl__Vp__HostMessage m = MHCL__VP__HOST_MESSAGE__INIT;
	int r;

	if (!d->worker)
		return;
	m.vp = vp;
	m.sint = VMBUS_MESSAGE_SINT;
	m.message_type = VMBUS_HV_MSG_TYPE_CHANNEL;
	m.payload.data = (uint8_t *)msg;
	m.payload.len = len;
	r = ipc_chan_notify(d->worker, IPC_MSG_VP_HOST_MESSAGE, &m.base, NULL, 0);
	if (r < 0) {
		log_warn_errno(r, "unable to send a VMBus message to VP %u: %m", vp);
		return;
	}
	d->host_messages++;
	if (len >= 4) {
		uint32_t type;
		memcpy(&type, msg, sizeof(type));
		log_debug("VMBus message to VP %u: %s (%zu bytes)", vp, vmbus_msg_type_to_string(type),
			  len);
	}
}

static struct ic_slot *slot_of(struct vmbusd *d, uint32_t relid)
{
	for (int k = 0; k < _VMBUS_IC_KIND_MAX; k++)
		if (d->ic[k].relid == relid && relid)
			return &d->ic[k];
	return NULL;
}

static void release_event_port(struct vmbusd *d, uint32_t conn_id);

static void assign_reply(struct ipc_chan *ch, int status, struct ipc_msg *reply, void *opaque)
{
	struct assign_ctx *a = opaque;
	struct vmbusd *d = a->d;
	struct ic_slot *slot = a->slot;
	char why[160];
	int r;

	(void)ch;
	if (a->worker_gen != d->worker_gen || a->gen != slot->gen || !d->vs) {
		/* The worker went away (it dropped its routes), or the guest closed the channel
		 * first (lib_channel_close sent the release, which the worker handles after
		 * this assign). */
		free(a);
		return;
	}
	free(a);
	slot->opening = false;
	r = status;
	if (status == -EREMOTEIO && reply) {
		r = ipc_msg_error(reply, why, sizeof(why));
		log_warn("the worker refused to route relid %u's doorbell: %s", slot->relid, why);
	}
	if (r == 0) {
		r = ic_chan_open(slot->chan, &slot->pending);
		slot->pending.doorbell_fd = -1;
		if (r < 0)
			release_event_port(d, slot->event_conn_id);
	} else {
		close(slot->pending.doorbell_fd);
		slot->pending.doorbell_fd = -1;
	}
	if (r < 0)
		slot->event_conn_id = 0;
	vmbus_server_open_complete(d->vs, slot->relid, r < 0 ? r : 0);
}

static int lib_channel_open(void *ctx, const struct vmbus_open_info *info)
{
	struct vmbusd *d = ctx;
	struct ic_slot *slot = slot_of(d, info->relid);
	Mhcl__Vp__EventPortAssign m = MHCL__VP__EVENT_PORT_ASSIGN__INIT;
	struct assign_ctx *a;
	int fd, r;

	if (!slot)
		return -ENODEV;
	if (slot->opening || ic_chan_is_open(slot->chan))
		return -EBUSY;
	if (info->page_count > IC_CHAN_MAX_PAGES || !d->worker)
		return -EINVAL;
	/* The library checked every PFN against guest RAM; map them through the memfd. */
	for (uint32_t i = 0; i < info->page_count; i++) {
		slot->pending.pages[i] =
		    ram_ptr(d, info->pfns[i] << HV_PAGE_SHIFT, VMBUSD_PAGE_SIZE);
		if (!slot->pending.pages[i])
			return -EFAULT;
	}
	slot->pending.relid = info->relid;
	slot->pending.target_vp = info->target_vp;
	slot->pending.npages = info->page_count;
	slot->pending.downstream_page = info->downstream_page;
	fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0)
		return -errno;
	a = malloc(sizeof(*a));
	if (!a) {
		close(fd);
		return -ENOMEM;
	}
	slot->gen++;
	*a = (struct assign_ctx){d, slot, slot->gen, d->worker_gen};
	m.connection_id = info->event_conn_id;
	r = ipc_chan_request(d->worker, IPC_MSG_VP_EVENT_PORT_ASSIGN, &m.base, &fd, 1, 0,
			     assign_reply, a);
	if (r < 0) {
		free(a);
		close(fd);
		return r;
	}
	slot->pending.doorbell_fd = fd;
	slot->event_conn_id = info->event_conn_id;
	slot->opening = true;
	return VMBUS_PENDING;
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
	Mhcl__Vp__EventPortRelease m = MHCL__VP__EVENT_PORT_RELEASE__INIT;

	if (!d->worker || !conn_id)
		return;
	m.connection_id = conn_id;
	(void)ipc_chan_request(d->worker, IPC_MSG_VP_EVENT_PORT_RELEASE, &m.base, NULL, 0, 0,
			       release_reply, NULL);
}

static int lib_channel_close(void *ctx, uint32_t relid)
{
	struct vmbusd *d = ctx;
	struct ic_slot *slot = slot_of(d, relid);

	if (!slot)
		return 0;
	slot->gen++;
	if (slot->opening) {
		slot->opening = false;
		close(slot->pending.doorbell_fd);
		slot->pending.doorbell_fd = -1;
	}
	ic_chan_close(slot->chan);
	release_event_port(d, slot->event_conn_id);
	slot->event_conn_id = 0;
	return 0;
}

static void lib_error(void *ctx, uint32_t relid, int err, const char *reason)
{
	(void)ctx;
	log_warn_errno(err, "VMBus: %s%s (relid %u): %m", reason ? reason : "refused",
		       relid ? "" : " on the connection", relid);
}

static void lib_connection(void *ctx, uint32_t version)
{
	struct vmbusd *d = ctx;

	d->version = version;
	if (version)
		log_info("VMBus connected: protocol %u.%u", version >> 16, version & 0xffff);
	else
		log_info("VMBus disconnected");
}

/* ---- integration components ---- */

static void shutdown_done(void *opaque, int status, uint32_t guest_status)
{
	struct vmbusd *d = opaque;
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

static void hb_timer_cb(uv_timer_t *t)
{
	struct vmbusd *d = t->data;
	struct ic_chan *c = d->ic[VMBUS_IC_HEARTBEAT].chan;

	if (c && ic_chan_is_open(c))
		(void)ic_chan_heartbeat(c);
}

/* ---- the worker ---- */

static void drop_partition(struct vmbusd *d)
{
	for (int k = 0; k < _VMBUS_IC_KIND_MAX; k++) {
		struct ic_slot *slot = &d->ic[k];
		slot->gen++;
		if (slot->opening) {
			close(slot->pending.doorbell_fd);
			slot->pending.doorbell_fd = -1;
			slot->opening = false;
		}
		if (slot->chan)
			ic_chan_close(slot->chan);
		slot->event_conn_id = 0;
		slot->relid = 0;
	}
	d->vs = vmbus_server_free(d->vs);
	d->version = 0;
	for (uint32_t i = 0; i < VMBUSD_MAX_VPS; i++) {
		if (d->vps[i].irqfd >= 0)
			close(d->vps[i].irqfd);
		d->vps[i] = (struct vp_state){.irqfd = -1};
	}
	if (d->ram)
		munmap(d->ram, d->ram_len);
	d->ram = NULL;
	d->ram_len = 0;
	d->nranges = 0;
	d->vp_count = 0;
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
}

static int take_partition(struct vmbusd *d, struct ipc_msg *msg, const Mhcl__Vp__PartitionInfo *pi,
			  const char **why)
{
	static const struct vmbus_server_ops ops = {
		.post_msg = lib_post_msg,
		.channel_open = lib_channel_open,
		.channel_close = lib_channel_close,
		.error = lib_error,
		.connection = lib_connection,
	};
	struct vmbus_server_config cfg = {0};
	struct stat st;
	uint64_t need = 0;
	int r;

	if (d->vs) {
		*why = "a partition is already attached";
		return -EBUSY;
	}
	if (msg->nfds != 1 || pi->vp_count == 0 || pi->vp_count > VMBUSD_MAX_VPS || pi->n_ram == 0 ||
	    pi->n_ram > VMBUS_MAX_RAM_RANGES) {
		*why = "want one memfd, 1..64 VPs and 1..16 RAM ranges";
		return -EINVAL;
	}
	for (size_t i = 0; i < pi->n_ram; i++) {
		const Mhcl__Vp__RamRange *rr = pi->ram[i];
		if (rr->size == 0 || (rr->gpa | rr->size | rr->memfd_offset) % VMBUSD_PAGE_SIZE ||
		    rr->gpa > UINT64_MAX - rr->size || rr->memfd_offset > UINT64_MAX - rr->size) {
			*why = "a RAM range is empty, unaligned or wraps";
			return -EINVAL;
		}
		need = MAX(need, rr->memfd_offset + rr->size);
		cfg.ram[i] = (struct vmbus_ram_range){rr->gpa, rr->size};
		d->ranges[i] = cfg.ram[i];
		d->range_off[i] = rr->memfd_offset;
	}
	if (fstat(msg->fds[0], &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size < need ||
	    need > SIZE_MAX) {
		*why = "the memfd is smaller than the RAM ranges";
		return -EINVAL;
	}
	d->ram = mmap(NULL, (size_t)need, PROT_READ | PROT_WRITE, MAP_SHARED, msg->fds[0], 0);
	if (d->ram == MAP_FAILED) {
		d->ram = NULL;
		*why = "unable to map guest RAM";
		return -errno;
	}
	d->ram_len = (size_t)need;
	d->nranges = (unsigned)pi->n_ram;
	d->vp_count = pi->vp_count;
	cfg.nram = d->nranges;
	cfg.vp_count = d->vp_count;
	r = vmbus_server_new(&cfg, &ops, d, &d->vs);
	if (r < 0) {
		*why = "the RAM layout is not usable for VMBus";
		goto err;
	}
	static const struct {
		enum vmbus_ic_kind kind;
		struct hv_guid instance;
	} ics[] = {
	    {VMBUS_IC_HEARTBEAT, VMBUSD_HEARTBEAT_INSTANCE},
	    {VMBUS_IC_SHUTDOWN, VMBUSD_SHUTDOWN_INSTANCE},
	};
	for (size_t i = 0; i < ARRAY_SIZE(ics); i++) {
		struct vmbus_offer o;
		vmbus_ic_offer(ics[i].kind, &ics[i].instance, &o);
		r = vmbus_server_offer(d->vs, &o, &d->ic[ics[i].kind].relid);
		if (r < 0) {
			*why = "unable to offer the integration components";
			goto err;
		}
	}
	return 0;
err:
	drop_partition(d);
	return r;
}

static void partition_request(struct vmbusd *d, struct ipc_chan *ch, struct ipc_msg *msg)
{
	Mhcl__Vp__PartitionInfo *pi = (Mhcl__Vp__PartitionInfo *)ipc_msg_unpack(
	    ch, msg, &mhcl__vp__partition_info__descriptor);
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
	log_info("partition attached: %u VP(s), %zu MiB of guest RAM", d->vp_count, d->ram_len >> 20);
	for (uint32_t vp = 0; vp < d->vp_count; vp++) {
		Mhcl__Vp__SintIrqfdRequest q = MHCL__VP__SINT_IRQFD_REQUEST__INIT;
		q.vp = vp;
		q.sint = VMBUS_MESSAGE_SINT;
		r = ipc_chan_request(ch, IPC_MSG_VP_SINT_IRQFD, &q.base, NULL, 0, 0, irqfd_reply,
				     (void *)(uintptr_t)vp);
		if (r < 0)
			log_warn_errno(r, "unable to ask for VP %u's SINT irqfd: %m", vp);
	}
	uint32_t ids[] = {VMBUS_CONNID_MESSAGE, VMBUS_CONNID_MESSAGE_4};
	Mhcl__Vp__MessagePortClaim claim = MHCL__VP__MESSAGE_PORT_CLAIM__INIT;
	claim.n_connection_ids = ARRAY_SIZE(ids);
	claim.connection_ids = ids;
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

static void guest_message(struct vmbusd *d, struct ipc_chan *ch, struct ipc_msg *msg)
{
	Mhcl__Vp__GuestMessage *m = (Mhcl__Vp__GuestMessage *)ipc_msg_unpack(
	    ch, msg, &mhcl__vp__guest_message__descriptor);
	if (!m)
		return;
	if (!d->vs || m->vp >= d->vp_count || m->payload.len > VMBUS_MSG_MAX) {
		d->bad_worker_messages++;
	} else {
		uint16_t st = vmbus_server_post(d->vs, m->connection_id, m->payload.data, m->payload.len);
		d->guest_messages++;
		if (st != VMBUS_HV_STATUS_SUCCESS)
			log_warn("guest message on connection %u from VP %u refused: status %#x",
				 m->connection_id, m->vp, st);
	}
	protobuf_c_message_free_unpacked(&m->base, NULL);
}

static void synic_pages(struct vmbusd *d, struct ipc_chan *ch, struct ipc_msg *msg)
{
	Mhcl__Vp__SynicPages *m =
	    (Mhcl__Vp__SynicPages *)ipc_msg_unpack(ch, msg, &mhcl__vp__synic_pages__descriptor);
	if (!m)
		return;
	if (m->vp >= d->vp_count || m->siefp_gpa % VMBUSD_PAGE_SIZE ||
	    (m->siefp_gpa && !ram_ptr(d, m->siefp_gpa, VMBUSD_PAGE_SIZE))) {
		d->bad_worker_messages++;
	} else {
		d->vps[m->vp].enabled = m->enabled;
		d->vps[m->vp].siefp_gpa = m->siefp_gpa;
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
	int fd, r;

	(void)events;
	if (status < 0)
		return;
	fd = ipc_accept(d->listen_fd);
	if (fd < 0) {
		if (fd != -EAGAIN)
			log_warn_errno(fd, "accept failed: %m");
		return;
	}
	if (d->worker) {
		d->refused_workers++;
		log_warn("a second worker connected; refusing it");
		close(fd);
		return;
	}
	r = ipc_chan_open(d->loop, fd, IPC_TRANSPORT_SEQPACKET, &worker_ops, d, &d->worker);
	if (r < 0) {
		log_warn_errno(r, "unable to open the worker channel: %m");
		return;
	}
	d->workers++;
	d->worker_gen++;
	log_info("a worker connected");
}

/* ---- server hooks ---- */

void vmbusd_request(struct ipc_chan *ch, struct ipc_msg *msg, void *opaque)
{
	struct vmbusd *d = opaque;

	if (msg->type != IPC_MSG_GUEST_SHUTDOWN) {
		(void)ipc_chan_reply_error(ch, msg->request_id, msg->type, -EOPNOTSUPP,
					   "vmbusd does not handle message type %u", msg->type);
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
					   r == -EBUSY	  ? "a shutdown request is already waiting"
					   : r == -ENOTCONN ? "the guest has not opened the shutdown channel"
							    : "unable to send the shutdown request");
	} else {
		log_info("asked the guest to %s%s%s", m->reboot ? "restart" : "power off",
			 m->reason && *m->reason ? ": " : "", m->reason ? m->reason : "");
		d->shutdown_ch = ch;
		d->shutdown_req = msg->request_id;
	}
	protobuf_c_message_free_unpacked(&m->base, NULL);
}

void vmbusd_inspect(struct srv *s, struct inspect_tree *t, Mhcl__Node *root, void *opaque)
{
	struct vmbusd *d = opaque;
	Mhcl__Node *w, *ic;

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
		vmbus_server_inspect_tree(d->vs, t, root);
	ic = inspect_dir(t, root, "ic");
	for (int k = 0; k < _VMBUS_IC_KIND_MAX; k++) {
		Mhcl__Node *n = inspect_dir(t, ic, k == VMBUS_IC_HEARTBEAT ? "heartbeat" : "shutdown");
		ic_chan_inspect(d->ic[k].chan, t, n);
		inspect_u64(t, n, "event_conn_id", d->ic[k].event_conn_id);
	}
}

void vmbusd_stop(struct srv *s, void *opaque)
{
	struct vmbusd *d = opaque;

	(void)s;
	uv_timer_stop(&d->hb_timer);
	uv_poll_stop(&d->listen_poll);
	if (d->worker)
		ipc_chan_close(d->worker);
	uv_stop(d->loop);
}

int vmbusd_new(uv_loop_t *loop, struct srv *srv, int listen_fd, struct vmbusd **ret)
{
	struct vmbusd *d;
	int r;

	d = calloc(1, sizeof(*d));
	if (!d) {
		close(listen_fd);
		return -ENOMEM;
	}
	d->loop = loop;
	d->srv = srv;
	d->listen_fd = listen_fd;
	for (uint32_t i = 0; i < VMBUSD_MAX_VPS; i++)
		d->vps[i].irqfd = -1;
	for (int k = 0; k < _VMBUS_IC_KIND_MAX; k++) {
		d->ic[k].kind = (enum vmbus_ic_kind)k;
		d->ic[k].pending.doorbell_fd = -1;
		r = ic_chan_new(loop, (enum vmbus_ic_kind)k, signal_guest,
				k == VMBUS_IC_SHUTDOWN ? shutdown_done : NULL, d, &d->ic[k].chan);
		if (r < 0)
			goto err;
	}
	r = uv_poll_init(loop, &d->listen_poll, listen_fd);
	if (r < 0)
		goto err;
	d->listen_poll.data = d;
	r = uv_poll_start(&d->listen_poll, UV_READABLE, on_listener);
	if (r < 0)
		goto err;
	r = uv_timer_init(loop, &d->hb_timer);
	if (r < 0)
		goto err;
	d->hb_timer.data = d;
	r = uv_timer_start(&d->hb_timer, hb_timer_cb, VMBUSD_HEARTBEAT_MS, VMBUSD_HEARTBEAT_MS);
	if (r < 0)
		goto err;
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
	for (int k = 0; k < _VMBUS_IC_KIND_MAX; k++)
		ic_chan_free(d->ic[k].chan);
	free(d);
}
