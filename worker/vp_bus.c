/* SPDX-License-Identifier: MIT */
#include "log.h" /* before uv.h: sys/param.h guards its MIN/MAX */

#include "vp_bus.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "defs/exit_codes.h"
#include "defs/hv_defs.h"
#include "ipc.h"
#include "log_limit.h"
#include "server.h"
#include "synic.h"
#include "sidecar.pb-c.h"
#include "vmbus.pb-c.h"

/* Guest posts waiting for the loop thread; beyond this the guest is told to retry. */
#define VP_BUS_QUEUE_LEN 128
/* Below this many free slots in a VP's SIMP queue, guest posts are refused with
 * HV_STATUS_INSUFFICIENT_BUFFERS, so vmbusd's answers (an OFFER burst included) fit. */
#define VP_BUS_SIMP_RESERVE 32
#define VP_BUS_MAX_CLAIMS 8
#define VP_BUS_MAX_EVENT_PORTS HV_SYNIC_MAX_PORTS
#define VP_BUS_CONNID_MAX 0xffffffu
/* Guest messages kept after they went to vmbusd, for a restarted vmbusd whose recorded
 * state is older (it answers with the last one it has). */
#define VP_BUS_HISTORY 1024u
#define VP_BUS_RECONNECT_MS 100u
/* Host messages a VP's full SIMP queue could not take yet, kept in order and retried
 * every VP_BUS_RETRY_MS; beyond this many they are dropped. */
#define VP_BUS_BACKLOG 1024u
#define VP_BUS_RETRY_MS 2u

struct guest_post {
	uint64_t seq; /* numbered on the loop thread */
	uint32_t vp, conn_id, type, len;
	uint8_t payload[HV_MESSAGE_PAYLOAD_SIZE];
};

struct host_post {
	uint32_t vp, type, len;
	uint8_t payload[HV_MESSAGE_PAYLOAD_SIZE];
};

struct synic_pages {
	bool dirty, enabled;
	uint64_t simp, siefp;
};

struct vp_bus {
	struct worker *w;
	uv_loop_t loop;
	struct srv *srv;
	struct ipc_chan *vmbusd;
	uv_async_t wake; /* VP threads: guest posts or SynIC pages waiting */
	uv_async_t done; /* the joiner thread: every VP stopped */
	pthread_t joiner;
	bool joiner_started;

	pthread_mutex_t lock; /* queue, pages */
	struct guest_post queue[VP_BUS_QUEUE_LEN];
	uint32_t head, count;
	uint64_t refused; /* guest posts answered INSUFFICIENT_BUFFERS */
	struct synic_pages pages[WORKER_MAX_VPS];

	/* Loop thread only. */
	uint32_t claims[VP_BUS_MAX_CLAIMS];
	size_t nclaims;
	uint32_t event_ports[VP_BUS_MAX_EVENT_PORTS];
	size_t nevent_ports;
	uint64_t guest_messages, host_messages, host_dropped;
	bool stop_requested; /* init asked us to stop: a clean end */
	int rc;

	/* Surviving vmbusd's restarts: the message ports stay claimed (the guest's posts
	 * queue here), guest messages are numbered and kept, host messages already
	 * delivered are recognised, and the worker reconnects and reattaches. */
	const char *path;
	bool attached; /* vmbusd took the partition once: later connections reattach */
	bool ready;    /* the current vmbusd answered WorkerPartition */
	uint64_t guest_seq, host_seq;
	struct guest_post *history; /* ring of VP_BUS_HISTORY */
	uint32_t hist_head, hist_count;
	uv_timer_t reconnect;
	uint64_t reconnects, resent, host_duplicates;

	/* vmbusd answers guest posts the worker already took: a guest that posts faster than
	 * it reads can have more answers coming than its SIMP queue holds. They wait here
	 * (loop thread), oldest first; while a VP has any waiting, its guest posts are
	 * refused with HV_STATUS_INSUFFICIENT_BUFFERS, which Linux retries. */
	struct host_post *backlog; /* ring of VP_BUS_BACKLOG */
	uint32_t bl_head, bl_count;
	uint32_t backlogged[WORKER_MAX_VPS]; /* per VP; atomic, read by the VP threads */
	uv_timer_t retry;

	/* Lines the guest's pace decides (loop thread; log_limit.h): relaying its messages
	 * either way failed, and the doorbells routed for the channels it opens. */
	struct log_limit relay_log, port_log;
};

bool vp_bus_under_init(void)
{
	return getenv("MHCL_SERVER_NAME") != NULL;
}

/* ---- VP threads ---- */

static uint16_t port_post(void *opaque, uint32_t vp, uint32_t connection_id, uint32_t message_type,
			  const uint8_t *payload, uint32_t len)
{
	struct vp_bus *b = opaque;
	uint16_t status = HV_STATUS_SUCCESS;

	if (len > HV_MESSAGE_PAYLOAD_SIZE)
		return HV_STATUS_INVALID_PARAMETER;
	if (__atomic_load_n(&b->backlogged[vp], __ATOMIC_ACQUIRE) ||
	    hv_synic_queue_free(b->w->synic, vp, HV_SYNIC_VMBUS_SINT) < VP_BUS_SIMP_RESERVE)
		return HV_STATUS_INSUFFICIENT_BUFFERS;
	pthread_mutex_lock(&b->lock);
	if (b->count == VP_BUS_QUEUE_LEN) {
		b->refused++;
		status = HV_STATUS_INSUFFICIENT_BUFFERS;
	} else {
		struct guest_post *p = &b->queue[(b->head + b->count) % VP_BUS_QUEUE_LEN];
		p->vp = vp;
		p->conn_id = connection_id;
		p->type = message_type;
		p->len = len;
		memcpy(p->payload, payload, len);
		b->count++;
	}
	pthread_mutex_unlock(&b->lock);
	if (status == HV_STATUS_SUCCESS)
		uv_async_send(&b->wake);
	return status;
}

static void pages_changed(void *opaque, uint32_t vp, bool enabled, uint64_t simp_gpa,
			  uint64_t siefp_gpa)
{
	struct vp_bus *b = opaque;

	if (vp >= WORKER_MAX_VPS)
		return;
	pthread_mutex_lock(&b->lock);
	b->pages[vp] = (struct synic_pages){true, enabled, simp_gpa, siefp_gpa};
	pthread_mutex_unlock(&b->lock);
	uv_async_send(&b->wake);
}

static void *joiner_thread(void *arg)
{
	struct vp_bus *b = arg;

	vp_join_all(b->w);
	uv_async_send(&b->done);
	return NULL;
}

/* ---- loop thread ---- */

static void send_pages(struct vp_bus *b)
{
	for (uint32_t vp = 0; vp < b->w->vp_count; vp++) {
		pthread_mutex_lock(&b->lock);
		struct synic_pages pg = b->pages[vp];
		if (b->ready)
			b->pages[vp].dirty = false;
		pthread_mutex_unlock(&b->lock);
		if (!pg.dirty || !b->ready)
			continue;
		Mhcl__Vmbus__WorkerSynicPages m = MHCL__VMBUS__WORKER_SYNIC_PAGES__INIT;
		m.vp = vp;
		m.enabled = pg.enabled;
		m.simp_gpa = pg.simp;
		m.siefp_gpa = pg.siefp;
		int r = ipc_chan_notify(b->vmbusd, IPC_MSG_VP_SYNIC_PAGES, &m.base, NULL, 0);
		if (r < 0)
			log_limit_warn_errno(&b->relay_log, r,
					     "unable to tell vmbusd about VP %u's SynIC pages: %m",
					     vp);
	}
}

static void send_post(struct vp_bus *b, const struct guest_post *p)
{
	Mhcl__Vmbus__WorkerGuestMessage m = MHCL__VMBUS__WORKER_GUEST_MESSAGE__INIT;
	m.vp = p->vp;
	m.connection_id = p->conn_id;
	m.message_type = p->type;
	m.payload.data = (uint8_t *)p->payload;
	m.payload.len = p->len;
	m.seq = p->seq;
	int r = ipc_chan_notify(b->vmbusd, IPC_MSG_VP_GUEST_MESSAGE, &m.base, NULL, 0);
	if (r < 0) /* kept: a reconnect sends it */
		log_limit_warn_errno(&b->relay_log, r,
				     "unable to forward guest message %llu to vmbusd: %m",
				     (unsigned long long)p->seq);
	else
		b->guest_messages++;
}

/* Numbers a guest post, keeps it, and sends it if a vmbusd is there to take it. */
static void take_post(struct vp_bus *b, struct guest_post *p)
{
	p->seq = ++b->guest_seq;
	if (b->hist_count == VP_BUS_HISTORY) {
		b->hist_head = (b->hist_head + 1) % VP_BUS_HISTORY;
		b->hist_count--;
	}
	b->history[(b->hist_head + b->hist_count++) % VP_BUS_HISTORY] = *p;
	if (b->ready)
		send_post(b, p);
}

/* Sends SynIC page changes first, so vmbusd knows a VP's SIEFP before the messages
 * that VP posted after moving it. */
static void wake_cb(uv_async_t *a)
{
	struct vp_bus *b = a->data;
	struct guest_post p;

	send_pages(b);
	for (;;) {
		pthread_mutex_lock(&b->lock);
		bool have = b->count > 0;
		if (have) {
			p = b->queue[b->head];
			b->head = (b->head + 1) % VP_BUS_QUEUE_LEN;
			b->count--;
		}
		pthread_mutex_unlock(&b->lock);
		if (!have)
			break;
		take_post(b, &p);
	}
}

static void done_cb(uv_async_t *a)
{
	struct vp_bus *b = a->data;

	int why = __atomic_load_n(&b->w->stop_reason, __ATOMIC_ACQUIRE);

	b->rc = why == WORKER_STOP_RESET || b->stop_requested ? MHCL_EXIT_OK : MHCL_EXIT_FAILURE;
	log_info("partition stopped: %s",
		 why == WORKER_STOP_RESET
		     ? (__atomic_load_n(&b->w->pio.poweroff_requested, __ATOMIC_ACQUIRE)
			    ? "guest power off"
			    : "guest reset")
		 : b->stop_requested ? "stopped by init"
				     : "VP failure");
	uv_stop(&b->loop);
}

/* The doorbells belong to the vmbusd that routed them (a restarted one routes new
 * ones); the message ports stay claimed until the worker ends, so the guest's posts
 * keep being taken while vmbusd restarts. */
static void drop_event_ports(struct vp_bus *b)
{
	for (size_t i = 0; i < b->nevent_ports; i++)
		(void)hv_synic_remove_event_port(b->w->synic, b->event_ports[i]);
	b->nevent_ports = 0;
}

static void drop_routes(struct vp_bus *b)
{
	for (size_t i = 0; i < b->nclaims; i++)
		(void)hv_synic_remove_message_port(b->w->synic, b->claims[i]);
	b->nclaims = 0;
	drop_event_ports(b);
}

static void retry_cb(uv_timer_t *t);

/* Keeps a host message the SIMP queue had no room for, after any already waiting. */
static void backlog_push(struct vp_bus *b, uint32_t vp, uint32_t type, const uint8_t *payload,
			 uint32_t len)
{
	if (b->bl_count == VP_BUS_BACKLOG) {
		log_limit_warn(
		    &b->relay_log,
		    "too many host messages waiting for VP %u's SIMP queue: dropping one", vp);
		b->host_dropped++;
		return;
	}
	struct host_post *h = &b->backlog[(b->bl_head + b->bl_count++) % VP_BUS_BACKLOG];
	h->vp = vp;
	h->type = type;
	h->len = len;
	memcpy(h->payload, payload, len);
	__atomic_add_fetch(&b->backlogged[vp], 1, __ATOMIC_RELEASE);
	if (!uv_is_active((uv_handle_t *)&b->retry))
		(void)uv_timer_start(&b->retry, retry_cb, VP_BUS_RETRY_MS, VP_BUS_RETRY_MS);
}

/* Counts a host message the SIMP queue took (r = 0) or refused for good (r < 0). */
static void delivered(struct vp_bus *b, uint32_t vp, int r)
{
	if (r < 0) {
		log_limit_warn_errno(&b->relay_log, r,
				     "unable to queue a host message for VP %u: %m, dropping it",
				     vp);
		b->host_dropped++;
	} else {
		b->host_messages++;
	}
}

/* Posts a host message to the VP's SIMP queue, or keeps it while the queue is full or
 * earlier ones for that VP wait. */
static void deliver(struct vp_bus *b, uint32_t vp, uint32_t type, const uint8_t *payload,
		    uint32_t len)
{
	int r = -EAGAIN;

	if (!__atomic_load_n(&b->backlogged[vp], __ATOMIC_ACQUIRE))
		r = hv_synic_post_message(b->w->synic, vp, HV_SYNIC_VMBUS_SINT, type, payload, len);
	if (r == -EAGAIN)
		backlog_push(b, vp, type, payload, len);
	else
		delivered(b, vp, r);
}

/* Retries the waiting host messages in order; a VP whose queue is still full keeps the
 * rest of its messages, the other VPs' go on. */
static void retry_cb(uv_timer_t *t)
{
	struct vp_bus *b = t->data;
	bool blocked[WORKER_MAX_VPS] = {0};
	uint32_t kept = 0;

	for (uint32_t i = 0; i < b->bl_count; i++) {
		struct host_post *h = &b->backlog[(b->bl_head + i) % VP_BUS_BACKLOG];
		if (!blocked[h->vp]) {
			int r = hv_synic_post_message(b->w->synic, h->vp, HV_SYNIC_VMBUS_SINT,
						      h->type, h->payload, h->len);
			if (r == -EAGAIN) {
				blocked[h->vp] = true;
			} else {
				delivered(b, h->vp, r);
				__atomic_sub_fetch(&b->backlogged[h->vp], 1, __ATOMIC_RELEASE);
				continue;
			}
		}
		/* Compacts in place: kept <= i. */
		b->backlog[(b->bl_head + kept++) % VP_BUS_BACKLOG] = *h;
	}
	b->bl_count = kept;
	if (!kept)
		uv_timer_stop(&b->retry);
}

static void host_message(struct vp_bus *b, struct ipc_chan *ch, struct ipc_msg *msg)
{
	Mhcl__Vmbus__VmbusdHostMessage *m = (Mhcl__Vmbus__VmbusdHostMessage *)ipc_msg_unpack(
	    ch, msg, &mhcl__vmbus__vmbusd_host_message__descriptor);
	if (!m)
		return;
	if (m->seq && m->seq <= b->host_seq) {
		/* A restarted vmbusd sends again what it could not know was delivered. */
		b->host_duplicates++;
	} else if (m->vp >= b->w->vp_count || m->sint != HV_SYNIC_VMBUS_SINT ||
		   m->message_type == 0 || m->message_type > 0x7fffffffu ||
		   m->payload.len > HV_MESSAGE_PAYLOAD_SIZE) {
		log_warn("vmbusd sent a bad host message (VP %u, SINT %u, type %#x, %zu bytes), "
			 "dropping it",
			 m->vp, m->sint, m->message_type, m->payload.len);
		b->host_dropped++;
	} else {
		if (m->seq)
			b->host_seq = m->seq;
		deliver(b, m->vp, m->message_type, m->payload.data, (uint32_t)m->payload.len);
	}
	protobuf_c_message_free_unpacked(&m->base, NULL);
}

static void on_notify(struct ipc_chan *ch, struct ipc_msg *msg, void *opaque)
{
	struct vp_bus *b = opaque;

	if (msg->type == IPC_MSG_VP_HOST_MESSAGE)
		host_message(b, ch, msg);
}

static void event_port_assign(struct vp_bus *b, struct ipc_chan *ch, struct ipc_msg *msg)
{
	Mhcl__Vmbus__VmbusdEventPortAssign *m =
	    (Mhcl__Vmbus__VmbusdEventPortAssign *)ipc_msg_unpack(
		ch, msg, &mhcl__vmbus__vmbusd_event_port_assign__descriptor);
	int r;

	if (!m)
		return;
	if (msg->nfds != 1 || m->connection_id == 0 || m->connection_id > VP_BUS_CONNID_MAX)
		r = -EINVAL;
	else if (b->nevent_ports == VP_BUS_MAX_EVENT_PORTS)
		r = -ENOSPC;
	else
		r = hv_synic_add_event_port(b->w->synic, m->connection_id, msg->fds[0]);
	if (r < 0) {
		(void)ipc_chan_reply_error(ch, msg->request_id, msg->type, r,
					   "unable to route event connection %#x",
					   m->connection_id);
	} else {
		Mhcl__Vmbus__WorkerPortReply rep = MHCL__VMBUS__WORKER_PORT_REPLY__INIT;
		b->event_ports[b->nevent_ports++] = m->connection_id;
		log_limit_info(&b->port_log, "event connection %#x now signals vmbusd's eventfd",
			       m->connection_id);
		(void)ipc_chan_reply(ch, msg->request_id, msg->type, &rep.base, NULL, 0);
	}
	protobuf_c_message_free_unpacked(&m->base, NULL);
}

static void event_port_release(struct vp_bus *b, struct ipc_chan *ch, struct ipc_msg *msg)
{
	Mhcl__Vmbus__VmbusdEventPortRelease *m =
	    (Mhcl__Vmbus__VmbusdEventPortRelease *)ipc_msg_unpack(
		ch, msg, &mhcl__vmbus__vmbusd_event_port_release__descriptor);
	int r = -ENOENT;

	if (!m)
		return;
	for (size_t i = 0; i < b->nevent_ports; i++)
		if (b->event_ports[i] == m->connection_id) {
			b->event_ports[i] = b->event_ports[--b->nevent_ports];
			r = hv_synic_remove_event_port(b->w->synic, m->connection_id);
			break;
		}
	if (r < 0) {
		(void)ipc_chan_reply_error(ch, msg->request_id, msg->type, r,
					   "event connection %#x is not routed", m->connection_id);
	} else {
		Mhcl__Vmbus__WorkerPortReply rep = MHCL__VMBUS__WORKER_PORT_REPLY__INIT;
		(void)ipc_chan_reply(ch, msg->request_id, msg->type, &rep.base, NULL, 0);
	}
	protobuf_c_message_free_unpacked(&m->base, NULL);
}

static void sint_irqfd(struct vp_bus *b, struct ipc_chan *ch, struct ipc_msg *msg)
{
	Mhcl__Vmbus__VmbusdSintIrqfdRequest *m =
	    (Mhcl__Vmbus__VmbusdSintIrqfdRequest *)ipc_msg_unpack(
		ch, msg, &mhcl__vmbus__vmbusd_sint_irqfd_request__descriptor);
	int fd = -1, r = -EINVAL;

	if (!m)
		return;
	if (m->vp < b->w->vp_count && m->sint == HV_SYNIC_VMBUS_SINT)
		r = hv_synic_sint_irqfd(b->w->synic, m->vp, &fd);
	if (r < 0) {
		(void)ipc_chan_reply_error(ch, msg->request_id, msg->type, r,
					   "no irqfd for VP %u SINT %u", m->vp, m->sint);
	} else {
		Mhcl__Vmbus__WorkerSintIrqfd rep = MHCL__VMBUS__WORKER_SINT_IRQFD__INIT;
		rep.vp = m->vp;
		rep.sint = m->sint;
		(void)ipc_chan_reply(ch, msg->request_id, msg->type, &rep.base, &fd, 1);
	}
	protobuf_c_message_free_unpacked(&m->base, NULL);
}

static void on_request(struct ipc_chan *ch, struct ipc_msg *msg, void *opaque)
{
	struct vp_bus *b = opaque;

	switch (msg->type) {
	case IPC_MSG_VP_EVENT_PORT_ASSIGN:
		event_port_assign(b, ch, msg);
		break;
	case IPC_MSG_VP_EVENT_PORT_RELEASE:
		event_port_release(b, ch, msg);
		break;
	case IPC_MSG_VP_SINT_IRQFD:
		sint_irqfd(b, ch, msg);
		break;
	default:
		(void)ipc_chan_reply_error(ch, msg->request_id, msg->type, -EOPNOTSUPP,
					   "mhcl-vp does not handle message type %u", msg->type);
	}
}

static void reconnect_cb(uv_timer_t *t);

static void on_close(struct ipc_chan *ch, int reason, void *opaque)
{
	struct vp_bus *b = opaque;

	(void)ch;
	b->vmbusd = NULL;
	b->ready = false;
	drop_event_ports(b);
	if (b->stop_requested || !b->attached) {
		if (reason)
			log_error_errno(reason, "lost vmbusd: %m");
		return;
	}
	log_warn_errno(
	    reason ? reason : -EPIPE,
	    "lost vmbusd (%m): the guest runs on, its VMBus messages wait for the next one");
	(void)uv_timer_start(&b->reconnect, reconnect_cb, VP_BUS_RECONNECT_MS, VP_BUS_RECONNECT_MS);
}

static const struct ipc_chan_ops vmbusd_ops = {
    .on_request = on_request,
    .on_notify = on_notify,
    .on_close = on_close,
};

static void partition_reply(struct ipc_chan *ch, int status, struct ipc_msg *reply, void *opaque);

/* WorkerPartition: guest RAM (the memfd and its layout), and whether this is a partition
 * an earlier vmbusd served. */
static int send_partition(struct vp_bus *b)
{
	const struct guestmem_layout *l = &b->w->ram.layout;
	Mhcl__Vmbus__RamRange range[GUESTMEM_MAX_RANGES], *ranges[GUESTMEM_MAX_RANGES];
	Mhcl__Vmbus__WorkerPartition pi = MHCL__VMBUS__WORKER_PARTITION__INIT;

	for (unsigned i = 0; i < l->nranges; i++) {
		mhcl__vmbus__ram_range__init(&range[i]);
		range[i].gpa = l->ranges[i].gpa;
		range[i].size = l->ranges[i].size;
		range[i].memfd_offset = l->ranges[i].memfd_offset;
		ranges[i] = &range[i];
	}
	pi.vp_count = b->w->vp_count;
	pi.n_ram = l->nranges;
	pi.ram = ranges;
	pi.reattach = b->attached;
	pi.host_seq = b->host_seq;
	return ipc_chan_request(b->vmbusd, IPC_MSG_VP_PARTITION, &pi.base, &b->w->ram.memfd, 1, 0,
				partition_reply, b);
}

static void reconnect_cb(uv_timer_t *t)
{
	struct vp_bus *b = t->data;
	int fd = ipc_connect_unix(b->path, SOCK_SEQPACKET);
	int r;

	if (fd < 0)
		return; /* not back yet */
	uv_timer_stop(&b->reconnect);
	r = ipc_chan_open(&b->loop, fd, IPC_TRANSPORT_SEQPACKET, &vmbusd_ops, b, &b->vmbusd);
	if (r == 0)
		r = send_partition(b);
	if (r < 0) {
		log_warn_errno(r, "unable to reattach to vmbusd: %m; trying again");
		if (b->vmbusd)
			ipc_chan_close(b->vmbusd); /* on_close restarts the timer */
		else
			(void)uv_timer_start(&b->reconnect, reconnect_cb, VP_BUS_RECONNECT_MS,
					     VP_BUS_RECONNECT_MS);
		return;
	}
	b->reconnects++;
	log_info("reconnected to vmbusd: reattaching the partition (host message %llu)",
		 (unsigned long long)b->host_seq);
}

/* A restarted vmbusd took the partition over: it learns every VP's SynIC pages again,
 * then gets the guest messages its recorded state does not have yet. */
static void reattached(struct vp_bus *b, uint64_t guest_seq)
{
	uint32_t first = 0;

	pthread_mutex_lock(&b->lock);
	for (uint32_t vp = 0; vp < b->w->vp_count; vp++)
		b->pages[vp].dirty = true;
	pthread_mutex_unlock(&b->lock);
	send_pages(b);
	if (guest_seq > b->guest_seq) {
		log_warn("vmbusd has guest message %llu, the worker numbered only %llu",
			 (unsigned long long)guest_seq, (unsigned long long)b->guest_seq);
		return;
	}
	if (b->hist_count && b->history[b->hist_head].seq > guest_seq + 1)
		log_error("guest messages %llu to %llu are no longer kept: vmbusd misses them",
			  (unsigned long long)guest_seq + 1,
			  (unsigned long long)b->history[b->hist_head].seq - 1);
	while (first < b->hist_count &&
	       b->history[(b->hist_head + first) % VP_BUS_HISTORY].seq <= guest_seq)
		first++;
	for (uint32_t i = first; i < b->hist_count; i++) {
		send_post(b, &b->history[(b->hist_head + i) % VP_BUS_HISTORY]);
		b->resent++;
	}
	log_info("reattached: vmbusd had guest message %llu, %u sent again",
		 (unsigned long long)guest_seq, b->hist_count - first);
}

static int start_vps(struct vp_bus *b)
{
	int r = vp_start_all(b->w);
	if (r < 0)
		return log_error_errno(r, "unable to start the VP threads: %m");
	r = -pthread_create(&b->joiner, NULL, joiner_thread, b);
	if (r < 0) {
		vp_stop_all(b->w, WORKER_STOP_FAILED);
		vp_join_all(b->w);
		return log_error_errno(r, "unable to start the joiner thread: %m");
	}
	b->joiner_started = true;
	return srv_ready(b->srv);
}

static void cpus_reply(struct ipc_chan *ch, int status, struct ipc_msg *reply, void *opaque)
{
	struct vp_bus *b = opaque;
	char msg[128];

	(void)ch;
	if (status == 0 && reply) {
		Mhcl__CpusReply *r = NULL;
		if (ipc_body_unpack(&mhcl__cpus_reply__descriptor, reply->body, reply->body_len,
				    IPC_DECODE_DEPTH_MAX, (ProtobufCMessage **)&r) == 0) {
			log_info("Linux runs %u CPUs for %u VPs (%zu handed over by the sidecar)%s%s",
				 r->online, b->w->vp_count, r->n_handed,
				 r->error && r->error[0] ? ": " : "", r->error ? r->error : "");
			protobuf_c_message_free_unpacked(&r->base, NULL);
		}
	} else if (status == -EREMOTEIO && reply && ipc_msg_error(reply, msg, sizeof(msg)) < 0) {
		log_info("no CPUs from init: %s", msg);
	}
	if (start_vps(b) < 0) {
		b->rc = MHCL_EXIT_FAILURE;
		uv_stop(&b->loop);
	}
}

/* As OpenHCL onlines a VP's CPU when it starts the VP: Linux should run one CPU per VP
 * (init has the sidecar hand parked ones over). The VPs start whatever the answer. */
static void request_cpus(struct vp_bus *b)
{
	Mhcl__CpusRequest rq = MHCL__CPUS_REQUEST__INIT;

	rq.count = b->w->vp_count;
	if (ipc_chan_request(srv_bus(b->srv), IPC_MSG_CPUS, &rq.base, NULL, 0, 30000, cpus_reply,
			     b) < 0)
		cpus_reply(NULL, -EIO, NULL, b);
}

static bool claimed(const struct vp_bus *b, uint32_t id)
{
	for (size_t i = 0; i < b->nclaims; i++)
		if (b->claims[i] == id)
			return true;
	return false;
}

static void partition_reply(struct ipc_chan *ch, int status, struct ipc_msg *reply, void *opaque)
{
	struct vp_bus *b = opaque;
	uint64_t guest_seq = 0;
	char why[160];
	int r;

	if (status == -EREMOTEIO && reply && ipc_msg_error(reply, why, sizeof(why)) < 0)
		log_error("vmbusd refused the partition: %s", why);
	if ((status < 0 || !reply) && b->attached) {
		/* A restarted vmbusd that cannot take the partition yet: try the next one. */
		log_error_errno(status, "vmbusd did not take the partition back: %m");
		if (b->vmbusd == ch)
			ipc_chan_close(ch);
		return;
	}
	if (status < 0 || !reply) {
		log_error_errno(status, "vmbusd did not take the partition: %m");
		b->rc = MHCL_EXIT_FAILURE;
		uv_stop(&b->loop);
		return;
	}
	Mhcl__Vmbus__VmbusdPortClaim *c = NULL;
	r = ipc_body_unpack(&mhcl__vmbus__vmbusd_port_claim__descriptor, reply->body,
			    reply->body_len, IPC_DECODE_DEPTH_MAX, (ProtobufCMessage **)&c);
	if (r == 0 && c->n_connection_ids > VP_BUS_MAX_CLAIMS)
		r = -EBADMSG;
	for (size_t i = 0; r == 0 && i < c->n_connection_ids; i++) {
		uint32_t id = c->connection_ids[i];
		if (id == 0 || id > VP_BUS_CONNID_MAX ||
		    (!claimed(b, id) && b->nclaims == VP_BUS_MAX_CLAIMS)) {
			r = -EBADMSG;
			break;
		}
		if (claimed(b, id))
			continue; /* kept from the vmbusd before */
		r = hv_synic_add_message_port(b->w->synic, id, port_post, b);
		if (r == 0) {
			b->claims[b->nclaims++] = id;
			log_info("guest messages to connection %u go to vmbusd", id);
		}
	}
	if (c) {
		guest_seq = c->guest_seq;
		protobuf_c_message_free_unpacked(&c->base, NULL);
	}
	if (r < 0) {
		log_error_errno(r, "bad message port claim from vmbusd: %m");
		ipc_chan_abort(ch, -EBADMSG);
		if (b->attached)
			return;
		b->rc = MHCL_EXIT_FAILURE;
		uv_stop(&b->loop);
		return;
	}
	b->ready = true;
	if (b->attached) {
		reattached(b, guest_seq);
		return;
	}
	b->attached = true;
	request_cpus(b);
}

static void srv_stop_cb(struct srv *s, void *opaque)
{
	struct vp_bus *b = opaque;

	(void)s;
	log_info("init asked to stop: stopping the VPs");
	b->stop_requested = true;
	vp_stop_all(b->w, WORKER_STOP_FAILED);
	if (!b->joiner_started) {
		b->rc = MHCL_EXIT_OK;
		uv_stop(&b->loop);
	}
}

static void srv_inspect(struct srv *s, struct inspect_tree *t, Mhcl__Node *root, void *opaque)
{
	struct vp_bus *b = opaque;

	(void)s;
	inspect_u64(t, root, "vp_count", b->w->vp_count);
	inspect_u64(t, root, "ram_bytes", b->w->ram.map_len);
	inspect_bool(t, root, "vmbusd_connected", b->vmbusd != NULL);
	inspect_u64(t, root, "guest_messages", b->guest_messages);
	inspect_u64(t, root, "host_messages", b->host_messages);
	inspect_u64(t, root, "host_dropped", b->host_dropped);
	inspect_u64(t, root, "host_waiting", b->bl_count);
	pthread_mutex_lock(&b->lock);
	inspect_u64(t, root, "guest_posts_refused", b->refused);
	pthread_mutex_unlock(&b->lock);
	inspect_u64(t, root, "event_ports", b->nevent_ports);
	inspect_u64(t, root, "guest_seq", b->guest_seq);
	inspect_u64(t, root, "host_seq", b->host_seq);
	inspect_u64(t, root, "vmbusd_reconnects", b->reconnects);
	inspect_u64(t, root, "guest_messages_resent", b->resent);
	inspect_u64(t, root, "host_duplicates", b->host_duplicates);
	Mhcl__Node *gl = inspect_dir(t, root, "guest_log");
	inspect_u64(t, gl, "vps_suppressed", vp_log_suppressed(b->w));
	inspect_u64(t, gl, "relay_suppressed", log_limit_suppressed(&b->relay_log));
	inspect_u64(t, gl, "ports_suppressed", log_limit_suppressed(&b->port_log));
}

int vp_bus_run(struct worker *w, const char *vmbusd_path)
{
	static const struct srv_ops ops = {
	    .inspect = srv_inspect,
	    .stop = srv_stop_cb,
	};
	static struct vp_bus bus;
	struct vp_bus *b = &bus;
	int fd, r;

	b->w = w;
	b->rc = MHCL_EXIT_FAILURE;
	pthread_mutex_init(&b->lock, NULL);
	r = uv_loop_init(&b->loop);
	if (r < 0)
		return log_error_errno(r, "unable to create the event loop: %m"), MHCL_EXIT_SYSCALL;
	b->wake.data = b->done.data = b;
	b->reconnect.data = b->retry.data = b;
	if (uv_async_init(&b->loop, &b->wake, wake_cb) < 0 ||
	    uv_async_init(&b->loop, &b->done, done_cb) < 0 ||
	    uv_timer_init(&b->loop, &b->reconnect) < 0 || uv_timer_init(&b->loop, &b->retry) < 0)
		return log_error("unable to create the loop wakeups"), MHCL_EXIT_SYSCALL;
	r = srv_start(&b->loop, &ops, b, &b->srv);
	if (r < 0)
		return log_error_errno(r, "unable to join the bus: %m"), MHCL_EXIT_SYSCALL;
	hv_synic_set_pages_listener(w->synic, pages_changed, b);
	b->path = vmbusd_path;
	b->history = calloc(VP_BUS_HISTORY, sizeof(*b->history));
	b->backlog = calloc(VP_BUS_BACKLOG, sizeof(*b->backlog));
	if (!b->history || !b->backlog) {
		log_error("unable to allocate the message history and backlog");
		goto out;
	}

	fd = ipc_connect_unix(vmbusd_path, SOCK_SEQPACKET);
	if (fd < 0) {
		log_error_errno(fd, "unable to reach vmbusd at %s: %m", vmbusd_path);
		goto out;
	}
	r = ipc_chan_open(&b->loop, fd, IPC_TRANSPORT_SEQPACKET, &vmbusd_ops, b, &b->vmbusd);
	if (r < 0) {
		log_error_errno(r, "unable to open the vmbusd channel: %m");
		goto out;
	}
	/* Everything is open (KVM fds, guest RAM, the vmbusd socket); the VP threads start
	 * inside the jail, which covers every thread (TSYNC). */
	if (b->w->ops->setup_done)
		b->w->ops->setup_done(b->w->p);
	srv_enter_jail(b->srv, NULL);
	r = send_partition(b);
	if (r < 0) {
		log_error_errno(r, "unable to send the partition to vmbusd: %m");
		goto out;
	}
	uv_run(&b->loop, UV_RUN_DEFAULT);
out:
	hv_synic_set_pages_listener(w->synic, NULL, NULL);
	if (b->joiner_started) {
		vp_stop_all(w, WORKER_STOP_FAILED);
		pthread_join(b->joiner, NULL);
	}
	drop_routes(b);
	if (b->vmbusd)
		ipc_chan_close(b->vmbusd);
	uv_close((uv_handle_t *)&b->wake, NULL);
	uv_close((uv_handle_t *)&b->done, NULL);
	uv_close((uv_handle_t *)&b->reconnect, NULL);
	uv_close((uv_handle_t *)&b->retry, NULL);
	srv_set_exit_code(b->srv, b->rc);
	r = srv_finish(b->srv);
	free(b->history);
	free(b->backlog);
	return r;
}
