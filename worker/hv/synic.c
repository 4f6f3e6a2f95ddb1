/* SPDX-License-Identifier: MIT */
#include "synic.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "defs/hv_defs.h"
#include "log_limit.h"
#include "macros.h"

struct queued_message {
	uint32_t type;
	uint8_t size;
	uint8_t payload[HV_MESSAGE_PAYLOAD_SIZE];
};

struct sint_state {
	int irqfd, ackfd;
	/* Ring of waiting messages: head is the next to deliver. */
	struct queued_message q[HV_SYNIC_QUEUE_LEN];
	uint32_t head, count;
	uint64_t delivered;
};

struct vp_synic {
	bool enabled;  /* SCONTROL.enable */
	uint64_t simp; /* raw MSR values as last written by the guest */
	uint64_t siefp;
	struct sint_state vmbus;
	/* What this VP's guest can make us log, on its VP thread only (log_limit.h). */
	struct log_limit log;	/* refused hypercalls, SynIC set-up */
	struct log_limit trace; /* every HvPostMessage, with hv_synic_set_trace */
};

struct message_port {
	uint32_t connection_id;
	hv_message_port_fn fn;
	void *opaque;
};

struct hv_synic {
	const struct backend_ops *ops;
	struct partition *p;
	const struct guestmem *ram;
	pthread_mutex_t lock;
	struct message_port ports[HV_SYNIC_MAX_PORTS];
	size_t nports;
	pthread_t thread;
	bool thread_started;
	int stop_fd;
	hv_synic_pages_fn pages_fn;
	void *pages_opaque;
	uint32_t vp_count;
	bool trace; /* set before the VPs start */
	struct vp_synic vps[];
};

static const char *const vmbus_msg_names[] = {
    [1] = "OFFERCHANNEL",
    [2] = "RESCIND_CHANNELOFFER",
    [3] = "REQUESTOFFERS",
    [4] = "ALLOFFERS_DELIVERED",
    [5] = "OPENCHANNEL",
    [6] = "OPENCHANNEL_RESULT",
    [7] = "CLOSECHANNEL",
    [8] = "GPADL_HEADER",
    [9] = "GPADL_BODY",
    [10] = "GPADL_CREATED",
    [11] = "GPADL_TEARDOWN",
    [12] = "GPADL_TORNDOWN",
    [13] = "RELID_RELEASED",
    [14] = "INITIATE_CONTACT",
    [15] = "VERSION_RESPONSE",
    [16] = "UNLOAD",
    [17] = "UNLOAD_RESPONSE",
    [21] = "TL_CONNECT_REQUEST",
    [22] = "MODIFYCHANNEL",
    [23] = "TL_CONNECT_RESULT",
    [24] = "MODIFYCHANNEL_RESPONSE",
};

/* Returns the guest-physical address of a SIMP/SIEFP page, or 0 if disabled. */
static uint64_t page_gpa(uint64_t msr)
{
	return (msr & HV_SIMP_ENABLE) ? (msr & ~((uint64_t)HV_PAGE_SIZE - 1)) : 0;
}

/* Tries to move queued messages of one SINT into its slot. Caller holds s->lock.
 *
 * Slot protocol (TLFS "SynIC message flags"; REFERENCES.md section 1): we write a slot
 * only when its message_type is HVMSG_NONE, publishing the type last (release) so the
 * guest never sees a type with a half-written body. The guest consumes, stores type 0,
 * issues a full barrier and writes EOM only if msg_pending was set. So while more
 * messages wait we set msg_pending in the busy slot and then look at the type again: if
 * the guest emptied the slot before it could see our flag, no EOM will come and we must
 * deliver now. */
static void deliver_locked(struct hv_synic *s, uint32_t vp, uint8_t sint)
{
	struct vp_synic *v = &s->vps[vp];
	struct sint_state *st = &v->vmbus;
	uint64_t simp = page_gpa(v->simp);
	struct hv_message *slot;
	uint64_t one = 1;

	if (!st->count || !v->enabled || !simp)
		return;
	slot = guestmem_ptr(s->ram, simp + (uint64_t)sint * HV_MESSAGE_SIZE, HV_MESSAGE_SIZE);
	if (!slot)
		return; /* validated when the guest wrote SIMP; unreachable */

	uint32_t type = __atomic_load_n(&slot->message_type, __ATOMIC_ACQUIRE);
	if (type != HV_MESSAGE_TYPE_NONE) {
		__atomic_fetch_or(&slot->message_flags, HV_MESSAGE_FLAG_PENDING, __ATOMIC_SEQ_CST);
		type = __atomic_load_n(&slot->message_type, __ATOMIC_SEQ_CST);
		if (type != HV_MESSAGE_TYPE_NONE)
			return;
	}
	/* One message per slot: the rest waits for the guest's EOM. */
	const struct queued_message *m = &st->q[st->head];
	memcpy(slot->payload, m->payload, m->size);
	slot->payload_size = m->size;
	slot->message_flags = st->count > 1 ? HV_MESSAGE_FLAG_PENDING : 0;
	slot->reserved = 0;
	slot->sender = 0;
	__atomic_store_n(&slot->message_type, m->type, __ATOMIC_RELEASE);
	st->head = (st->head + 1) % HV_SYNIC_QUEUE_LEN;
	st->count--;
	st->delivered++;
	if (write(st->irqfd, &one, sizeof(one)) != sizeof(one))
		log_warn("unable to raise SINT %u on VP %u: %m, ignoring", sint, vp);
}

static void *delivery_thread(void *arg)
{
	struct hv_synic *s = arg;
	struct pollfd *pfds;
	uint32_t n = s->vp_count + 1;

	pfds = calloc(n, sizeof(*pfds));
	if (!pfds) {
		log_error("unable to allocate the SynIC delivery poll set");
		return NULL;
	}
	for (uint32_t i = 0; i < s->vp_count; i++)
		pfds[i] = (struct pollfd){.fd = s->vps[i].vmbus.ackfd, .events = POLLIN};
	pfds[s->vp_count] = (struct pollfd){.fd = s->stop_fd, .events = POLLIN};

	for (;;) {
		if (poll(pfds, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_error("SynIC delivery poll failed: %m");
			break;
		}
		if (pfds[s->vp_count].revents)
			break;
		for (uint32_t i = 0; i < s->vp_count; i++) {
			uint64_t v;
			if (!(pfds[i].revents & POLLIN))
				continue;
			(void)!read(pfds[i].fd, &v, sizeof(v));
			pthread_mutex_lock(&s->lock);
			deliver_locked(s, i, HV_SYNIC_VMBUS_SINT);
			pthread_mutex_unlock(&s->lock);
		}
	}
	free(pfds);
	return NULL;
}

struct hv_synic *hv_synic_free(struct hv_synic *s)
{
	if (!s)
		return NULL;
	if (s->thread_started) {
		uint64_t one = 1;
		(void)!write(s->stop_fd, &one, sizeof(one));
		pthread_join(s->thread, NULL);
	}
	for (uint32_t i = 0; i < s->vp_count; i++) {
		if (s->vps[i].vmbus.irqfd >= 0)
			close(s->vps[i].vmbus.irqfd);
		if (s->vps[i].vmbus.ackfd >= 0)
			close(s->vps[i].vmbus.ackfd);
	}
	if (s->stop_fd >= 0)
		close(s->stop_fd);
	pthread_mutex_destroy(&s->lock);
	free(s);
	return NULL;
}

int hv_synic_new(const struct backend_ops *ops, struct partition *p, const struct guestmem *ram,
		 uint32_t vp_count, struct hv_synic **ret)
{
	struct hv_synic *s;
	int r;

	s = calloc(1, sizeof(*s) + vp_count * sizeof(struct vp_synic));
	if (!s)
		return -ENOMEM;
	s->ops = ops;
	s->p = p;
	s->ram = ram;
	s->vp_count = vp_count;
	s->stop_fd = -1;
	pthread_mutex_init(&s->lock, NULL);
	for (uint32_t i = 0; i < vp_count; i++) {
		s->vps[i].vmbus.irqfd = s->vps[i].vmbus.ackfd = -1;
		s->vps[i].trace = LOG_LIMIT_INIT(LOG_LIMIT_TRACE_BURST, LOG_LIMIT_TRACE_PER_SEC);
	}
	for (uint32_t i = 0; i < vp_count; i++) {
		r = ops->sint_irqfd(p, i, HV_SYNIC_VMBUS_SINT, &s->vps[i].vmbus.irqfd,
				    &s->vps[i].vmbus.ackfd);
		if (r < 0)
			goto err;
	}
	s->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->stop_fd < 0) {
		r = -errno;
		goto err;
	}
	r = -pthread_create(&s->thread, NULL, delivery_thread, s);
	if (r < 0)
		goto err;
	s->thread_started = true;
	*ret = s;
	return 0;
err:
	hv_synic_free(s);
	return r;
}

int hv_synic_add_message_port(struct hv_synic *s, uint32_t connection_id, hv_message_port_fn fn,
			      void *opaque)
{
	int r = 0;

	if (connection_id & ~HV_CONNECTION_ID_MASK || !fn)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->nports; i++)
		if (s->ports[i].connection_id == connection_id)
			r = -EEXIST;
	if (!r && s->nports == HV_SYNIC_MAX_PORTS)
		r = -ENOSPC;
	if (!r)
		s->ports[s->nports++] = (struct message_port){connection_id, fn, opaque};
	pthread_mutex_unlock(&s->lock);
	return r;
}

int hv_synic_remove_message_port(struct hv_synic *s, uint32_t connection_id)
{
	int r = -ENOENT;

	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->nports; i++) {
		if (s->ports[i].connection_id == connection_id) {
			s->ports[i] = s->ports[--s->nports];
			r = 0;
			break;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

int hv_synic_add_event_port(struct hv_synic *s, uint32_t connection_id, int fd)
{
	if (connection_id & ~HV_CONNECTION_ID_MASK || fd < 0)
		return -EINVAL;
	return s->ops->hv_eventfd(s->p, connection_id, fd);
}

int hv_synic_remove_event_port(struct hv_synic *s, uint32_t connection_id)
{
	if (connection_id & ~HV_CONNECTION_ID_MASK)
		return -EINVAL;
	return s->ops->hv_eventfd(s->p, connection_id, -1);
}

int hv_synic_post_message(struct hv_synic *s, uint32_t vp, uint8_t sint, uint32_t message_type,
			  const void *payload, size_t len)
{
	struct sint_state *st;
	int r = 0;

	if (vp >= s->vp_count || sint != HV_SYNIC_VMBUS_SINT || len > HV_MESSAGE_PAYLOAD_SIZE ||
	    message_type == HV_MESSAGE_TYPE_NONE)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	st = &s->vps[vp].vmbus;
	if (st->count == HV_SYNIC_QUEUE_LEN) {
		r = -EAGAIN;
	} else {
		struct queued_message *m = &st->q[(st->head + st->count) % HV_SYNIC_QUEUE_LEN];
		m->type = message_type;
		m->size = (uint8_t)len;
		memcpy(m->payload, payload, len);
		st->count++;
		deliver_locked(s, vp, sint);
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

int hv_synic_signal_event(struct hv_synic *s, uint32_t vp, uint8_t sint, uint32_t flag)
{
	uint64_t siefp, one = 1;
	uint8_t *flags;
	int r = 0;

	if (vp >= s->vp_count || sint != HV_SYNIC_VMBUS_SINT || flag >= HV_EVENT_FLAGS_PER_SINT)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	siefp = s->vps[vp].enabled ? page_gpa(s->vps[vp].siefp) : 0;
	flags = siefp ? guestmem_ptr(s->ram, siefp + (uint64_t)sint * (HV_EVENT_FLAGS_PER_SINT / 8),
				     HV_EVENT_FLAGS_PER_SINT / 8)
		      : NULL;
	if (!flags)
		r = -ENXIO;
	else
		__atomic_fetch_or(&flags[flag / 8], (uint8_t)(1u << (flag % 8)), __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&s->lock);
	if (r < 0)
		return r;
	if (write(s->vps[vp].vmbus.irqfd, &one, sizeof(one)) != sizeof(one))
		return -errno;
	return 0;
}

uint16_t hv_post_message_validate(const void *input, size_t len)
{
	struct hv_input_post_message in;

	if (len != sizeof(in))
		return HV_STATUS_INVALID_PARAMETER;
	memcpy(&in, input, sizeof(in));
	if (in.payload_size > HV_MESSAGE_PAYLOAD_SIZE)
		return HV_STATUS_INVALID_PARAMETER;
	if (in.message_type == HV_MESSAGE_TYPE_NONE ||
	    (in.message_type & HV_MESSAGE_TYPE_HOST_MASK))
		return HV_STATUS_INVALID_PARAMETER;
	return HV_STATUS_SUCCESS;
}

/* --trace-guest-messages: one line per HvPostMessage, with the start of its payload. */
static void trace_post(struct hv_synic *s, uint32_t vp, const struct hv_input_post_message *in,
		       uint16_t status)
{
	char hex[3 * 16 + 1] = "";
	const char *name = "";
	char what[64] = "";
	uint32_t len = MIN(in->payload_size, 16u);

	if (!s->trace)
		return;
	for (uint32_t i = 0; i < len; i++)
		snprintf(hex + 3 * i, sizeof(hex) - 3 * i, " %02x", in->payload[i]);
	/* VMBus channel messages start with their type (REFERENCES.md section 2). */
	if (in->payload_size >= 4) {
		uint32_t t;
		memcpy(&t, in->payload, sizeof(t));
		if (t < ARRAY_SIZE(vmbus_msg_names) && vmbus_msg_names[t])
			name = vmbus_msg_names[t];
		if (t == 14 && in->payload_size >= 12) {
			uint32_t version;
			memcpy(&version, in->payload + 8, sizeof(version));
			snprintf(what, sizeof(what), " version %u.%u", version >> 16,
				 version & 0xffff);
		}
	}
	log_limit_info(&s->vps[vp].trace,
		       "HvPostMessage VP %u connection %u type %u size %u:%s%s%s%s -> status %#x",
		       vp, in->connection_id & HV_CONNECTION_ID_MASK, in->message_type,
		       in->payload_size, hex, *name ? " VMBus " : "", name, what, status);
}

/* A post the SynIC itself refuses: no well-behaved guest sends one. in is NULL when the
 * input block could not be read. */
static uint16_t post_refused(struct hv_synic *s, uint32_t vp,
			     const struct hv_input_post_message *in, uint16_t status,
			     const char *why)
{
	log_limit_warn(&s->vps[vp].log, "VP %u: HvPostMessage refused with status %#x: %s", vp,
		       status, why);
	if (in)
		trace_post(s, vp, in, status);
	return status;
}

static uint16_t post_message(struct hv_synic *s, uint32_t vp, uint64_t control, uint64_t in_gpa)
{
	struct hv_input_post_message in;
	hv_message_port_fn fn = NULL;
	void *opaque = NULL;
	uint32_t conn;
	uint16_t status;

	if (control & HV_HCALL_FAST)
		return post_refused(s, vp, NULL, HV_STATUS_INVALID_HYPERCALL_INPUT,
				    "fast call (the input block must be in memory)");
	/* The input block must be 8-byte aligned and must not cross a page (TLFS). */
	if (in_gpa % 8 || (in_gpa % HV_PAGE_SIZE) + sizeof(in) > HV_PAGE_SIZE)
		return post_refused(s, vp, NULL, HV_STATUS_INVALID_ALIGNMENT,
				    "input block unaligned or across a page");
	if (guestmem_read(s->ram, in_gpa, &in, sizeof(in)) < 0)
		return post_refused(s, vp, NULL, HV_STATUS_INVALID_PARAMETER,
				    "input block outside RAM");
	/* From here on only the private copy is used. */
	status = hv_post_message_validate(&in, sizeof(in));
	if (status != HV_STATUS_SUCCESS)
		return post_refused(s, vp, &in, status, "bad size or message type");
	conn = in.connection_id & HV_CONNECTION_ID_MASK;
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->nports; i++) {
		if (s->ports[i].connection_id == conn) {
			fn = s->ports[i].fn;
			opaque = s->ports[i].opaque;
		}
	}
	pthread_mutex_unlock(&s->lock);
	if (fn)
		status = fn(opaque, vp, conn, in.message_type, in.payload, in.payload_size);
	else
		status = HV_STATUS_INVALID_CONNECTION_ID; /* no such service: what a host says */
	trace_post(s, vp, &in, status);
	return status;
}

uint16_t hv_synic_hypercall(struct hv_synic *s, uint32_t vp, uint64_t control, uint64_t input,
			    uint64_t output)
{
	(void)output;
	if (vp >= s->vp_count)
		return HV_STATUS_INVALID_PARAMETER;
	switch (HV_HCALL_CODE(control)) {
	case HV_HCALL_POST_MESSAGE:
		return post_message(s, vp, control, input);
	case HV_HCALL_SIGNAL_EVENT:
		/* The partition delivers events for every registered connection itself, so
		 * this one has no listener. */
		log_limit_debug(&s->vps[vp].log,
				"HvSignalEvent VP %u connection %u flag %u: no such connection", vp,
				(uint32_t)(input & HV_CONNECTION_ID_MASK),
				HV_SIGNAL_EVENT_FLAG(input));
		return HV_STATUS_INVALID_CONNECTION_ID;
	default:
		log_limit_debug(&s->vps[vp].log, "hypercall %#x from VP %u is not served",
				HV_HCALL_CODE(control), vp);
		return HV_STATUS_INVALID_HYPERCALL_CODE;
	}
}

static uint64_t checked_page(struct hv_synic *s, uint32_t vp, const char *what, uint64_t msr)
{
	uint64_t gpa = page_gpa(msr);
	if (gpa && !guestmem_ptr(s->ram, gpa, HV_PAGE_SIZE)) {
		log_limit_warn(
		    &s->vps[vp].log,
		    "VP %u put its SynIC %s page at %#llx, outside RAM: treating it as disabled",
		    vp, what, (unsigned long long)gpa);
		return 0;
	}
	return msr;
}

void hv_synic_msr_written(struct hv_synic *s, uint32_t vp, uint32_t msr, uint64_t control,
			  uint64_t siefp, uint64_t simp)
{
	struct vp_synic *v;

	if (vp >= s->vp_count)
		return;
	pthread_mutex_lock(&s->lock);
	v = &s->vps[vp];
	v->enabled = control & HV_SCONTROL_ENABLE;
	v->simp = checked_page(s, vp, "message", simp);
	v->siefp = checked_page(s, vp, "event flags", siefp);
	/* KVM starts a SynIC with SCONTROL already enabled, so report what the guest wrote to
	 * SCONTROL rather than transitions. */
	if (msr == HV_MSR_SCONTROL)
		log_limit_info(&v->log, "SynIC %s on VP %u (SIMP %#llx, SIEFP %#llx)",
			       v->enabled ? "enabled" : "disabled", vp,
			       (unsigned long long)page_gpa(v->simp),
			       (unsigned long long)page_gpa(v->siefp));
	else
		log_limit_debug(&v->log,
				"VP %u SynIC MSR %#x: SCONTROL %#llx SIEFP %#llx SIMP %#llx", vp,
				msr, (unsigned long long)control, (unsigned long long)siefp,
				(unsigned long long)simp);
	deliver_locked(s, vp, HV_SYNIC_VMBUS_SINT);
	bool enabled = v->enabled;
	uint64_t simp_gpa = page_gpa(v->simp), siefp_gpa = page_gpa(v->siefp);
	hv_synic_pages_fn fn = s->pages_fn;
	void *opaque = s->pages_opaque;
	pthread_mutex_unlock(&s->lock);
	if (fn)
		fn(opaque, vp, enabled, simp_gpa, siefp_gpa);
}

int hv_synic_sint_irqfd(struct hv_synic *s, uint32_t vp, int *ret_fd)
{
	if (vp >= s->vp_count || s->vps[vp].vmbus.irqfd < 0)
		return -EINVAL;
	*ret_fd = s->vps[vp].vmbus.irqfd;
	return 0;
}

void hv_synic_set_pages_listener(struct hv_synic *s, hv_synic_pages_fn fn, void *opaque)
{
	pthread_mutex_lock(&s->lock);
	s->pages_fn = fn;
	s->pages_opaque = opaque;
	pthread_mutex_unlock(&s->lock);
}

int hv_synic_queue_free(struct hv_synic *s, uint32_t vp, uint8_t sint)
{
	int r;

	if (vp >= s->vp_count || sint != HV_SYNIC_VMBUS_SINT)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	r = (int)(HV_SYNIC_QUEUE_LEN - s->vps[vp].vmbus.count);
	pthread_mutex_unlock(&s->lock);
	return r;
}

void hv_synic_set_trace(struct hv_synic *s, bool on)
{
	s->trace = on;
}

uint64_t hv_synic_log_suppressed(const struct hv_synic *s)
{
	uint64_t n = 0;

	for (uint32_t i = 0; i < s->vp_count; i++)
		n += log_limit_suppressed(&s->vps[i].log) + log_limit_suppressed(&s->vps[i].trace);
	return n;
}
