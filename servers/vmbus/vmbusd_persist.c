/* SPDX-License-Identifier: MIT */
/*
 * vmbusd survives its own restart (planned, or kill -9) while the guest runs.
 *
 * After every loop iteration that changed something, vmbusd commits one record to the
 * store init keeps for it (vmbusd_store.h), and only then sends the host messages that
 * iteration produced. The record holds the control plane (vmbus_host_save: connection,
 * channel table, GPADLs), vmbusd's device offers with the open channels' rings, the
 * number of the last guest message it reflects, and the last VMBUSD_OUTBOX_MAX host
 * messages. The control plane can be saved only between device round trips; while one is
 * in flight the commit waits, and so do the messages.
 *
 * Each offer keeps the uid of the device server that registered it: only a device of
 * that uid adopts it from the new vmbusd, and the new vmbusd's policy must still allow
 * it (else the record is not used), so a restart does not loosen what devices may offer.
 *
 * A new vmbusd adopts the record; when the worker reattaches (WorkerPartition.reattach,
 * with the last host message it received) it rebuilds the control plane from it, routes
 * fresh doorbells for the open channels, gives them to the devices when they register
 * again (they keep the guest's channels: VmbusdChannelOpen resume), sends the host messages
 * the worker did not get, and answers with the last guest message it has: the worker
 * sends the later ones again. Nothing the guest sent or was sent is lost or doubled.
 *
 * Record (little-endian, written and read by this file only, read as untrusted):
 *   u32 magic "VDST", u32 format, u64 guest_seq, u64 host_seq,
 *   u32 core_len, core bytes,
 *   u32 noffers, each { offer (struct vmbus_offer), u32 owner_uid, u32 relid, u32 open,
 *                       u32 target_vp, u32 event_conn_id, u32 downstream_page, u32 npfns,
 *                       u64 pfns[] },
 *   u32 nout, each { u64 seq, u32 vp, u32 len, bytes[len] }.
 */
#include "vmbusd_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmbus.pb-c.h"

#define REC_MAGIC 0x54534456u /* "VDST" */
#define REC_FORMAT 2u	      /* 2: each offer names its owner uid */

/* Writes straight into the store's free slot; a record that outgrows it is refused. */
struct wbuf {
	uint8_t *p;
	size_t len, cap;
	bool overflow;
};

static void put(struct wbuf *w, const void *v, size_t n)
{
	if (w->overflow || n > w->cap - w->len) {
		w->overflow = true;
		return;
	}
	memcpy(w->p + w->len, v, n);
	w->len += n;
}

static void put32(struct wbuf *w, uint32_t v)
{
	put(w, &v, sizeof(v));
}

static void put64(struct wbuf *w, uint64_t v)
{
	put(w, &v, sizeof(v));
}

struct rbuf {
	const uint8_t *p;
	size_t len, off;
	bool bad;
};

static const void *get(struct rbuf *r, size_t n)
{
	if (r->bad || n > r->len - r->off) {
		r->bad = true;
		return NULL;
	}
	r->off += n;
	return r->p + r->off - n;
}

static uint32_t get32(struct rbuf *r)
{
	uint32_t v = 0;
	const void *p = get(r, sizeof(v));
	if (p)
		memcpy(&v, p, sizeof(v));
	return v;
}

static uint64_t get64(struct rbuf *r)
{
	uint64_t v = 0;
	const void *p = get(r, sizeof(v));
	if (p)
		memcpy(&v, p, sizeof(v));
	return v;
}

static struct outbox_msg *outbox_at(struct vmbusd *d, uint32_t i)
{
	return &d->outbox[(d->outbox_head + i) % VMBUSD_OUTBOX_MAX];
}

/* ---- writing ---- */

static bool offer_recorded(const struct dev_offer *o)
{
	return o->dev && o->relid;
}

static bool offer_open(const struct dev_offer *o)
{
	return o->state == OFFER_OPEN || (o->state == OFFER_DEVICE_OPENING && o->resuming);
}

static int encode(struct vmbusd *d, struct wbuf *w)
{
	ssize_t core = vmbus_host_save(d->vs, NULL, 0);
	uint32_t n = 0;

	if (core < 0)
		return (int)core; /* -EBUSY: a device round trip is in flight */
	put32(w, REC_MAGIC);
	put32(w, REC_FORMAT);
	put64(w, d->guest_seq);
	put64(w, d->host_seq);
	put32(w, (uint32_t)core);
	if (w->overflow || (size_t)core > w->cap - w->len)
		return -EMSGSIZE;
	if (vmbus_host_save(d->vs, w->p + w->len, (size_t)core) != core)
		return -EIO;
	w->len += (size_t)core;
	for (uint32_t i = 0; i < VMBUSD_MAX_OFFERS; i++)
		n += offer_recorded(&d->offers[i]);
	put32(w, n);
	for (uint32_t i = 0; i < VMBUSD_MAX_OFFERS; i++) {
		const struct dev_offer *o = &d->offers[i];
		bool open = offer_open(o) && o->pfns;
		if (!offer_recorded(o))
			continue;
		put(w, &o->offer, sizeof(o->offer));
		put32(w, o->owner_uid);
		put32(w, o->relid);
		put32(w, open);
		put32(w, o->target_vp);
		put32(w, o->event_conn_id);
		put32(w, o->downstream_page);
		put32(w, open ? o->npfns : 0);
		for (uint32_t k = 0; open && k < o->npfns; k++)
			put64(w, o->pfns[k]);
	}
	put32(w, d->outbox_count);
	for (uint32_t i = 0; i < d->outbox_count; i++) {
		const struct outbox_msg *m = outbox_at(d, i);
		put64(w, m->seq);
		put32(w, m->vp);
		put32(w, m->len);
		put(w, m->payload, m->len);
	}
	return 0;
}

/* One pass, in place: the slot not in use is written, then published. */
static int commit(struct vmbusd *d)
{
	struct wbuf w = {.p = vmbusd_store_slot(d->store), .cap = VMBUSD_STORE_SLOT_BYTES};
	int r = encode(d, &w);

	if (r == 0 && w.overflow)
		r = -EMSGSIZE;
	return r < 0 ? r : vmbusd_store_publish(d->store, w.len);
}

static void send_outbox(struct vmbusd *d)
{
	for (uint32_t i = 0; i < d->outbox_count && d->worker; i++) {
		struct outbox_msg *m = outbox_at(d, i);
		Mhcl__Vmbus__VmbusdHostMessage hm = MHCL__VMBUS__VMBUSD_HOST_MESSAGE__INIT;
		int r;

		if (m->sent)
			continue;
		hm.vp = m->vp;
		hm.sint = VMBUS_MESSAGE_SINT;
		hm.message_type = VMBUS_HV_MSG_TYPE_CHANNEL;
		hm.payload = (ProtobufCBinaryData){m->len, m->payload};
		hm.seq = m->seq;
		r = ipc_chan_notify(d->worker, IPC_MSG_VP_HOST_MESSAGE, &hm.base, NULL, 0);
		if (r < 0) {
			log_limit_warn_errno(&d->log[VMBUSD_LOG_HOST], r,
					     "unable to send a VMBus message to VP %u: %m", m->vp);
			return;
		}
		m->sent = true;
		d->host_messages++;
	}
}

/* Commits what changed, then sends what it produced. */
static void persist(struct vmbusd *d)
{
	int r;

	if (!d->dirty)
		return;
	if (d->holds) {
		d->commit_deferrals++;
		return; /* a device has not acknowledged a GPADL the messages announce */
	}
	if (d->vs && d->store) {
		r = commit(d);
		if (r == -EBUSY) {
			d->commit_deferrals++;
			return; /* the next iteration tries again; the messages wait for it */
		}
		if (r < 0)
			log_warn_errno(r, "unable to record the VMBus state: %m");
		else
			d->commits++;
	}
	d->dirty = false;
	send_outbox(d);
}

/* After the I/O of a loop iteration (check), and before the loop blocks again (prepare:
 * after timers and close callbacks, which the check of their iteration does not see). */
static void persist_check_cb(uv_check_t *h)
{
	persist(h->data);
}

static void persist_prepare_cb(uv_prepare_t *h)
{
	persist(h->data);
}

int vmbusd_outbox_add(struct vmbusd *d, uint32_t vp, const void *msg, size_t len)
{
	struct outbox_msg *m;

	if (len > VMBUS_MSG_MAX)
		return -EMSGSIZE;
	if (d->outbox_count == VMBUSD_OUTBOX_MAX) {
		/* The oldest was sent long ago (a commit sends everything before it). */
		d->outbox_head = (d->outbox_head + 1) % VMBUSD_OUTBOX_MAX;
		d->outbox_count--;
	}
	m = outbox_at(d, d->outbox_count++);
	*m = (struct outbox_msg){.seq = ++d->host_seq, .vp = vp, .len = (uint32_t)len};
	memcpy(m->payload, msg, len);
	d->dirty = true;
	return 0;
}

void vmbusd_outbox_resend(struct vmbusd *d, uint64_t host_seq)
{
	for (uint32_t i = 0; i < d->outbox_count; i++) {
		struct outbox_msg *m = outbox_at(d, i);
		if (m->seq > host_seq && m->sent) {
			m->sent = false;
			d->replayed_host++;
		}
	}
	if (d->outbox_count && outbox_at(d, 0)->seq > host_seq + 1)
		log_error("the worker last got host message %llu, the oldest kept is %llu: "
			  "messages in between are lost",
			  (unsigned long long)host_seq, (unsigned long long)outbox_at(d, 0)->seq);
	d->dirty = true;
}

/* ---- reading ---- */

/* The slot a recorded offer goes to: the same offer a device of the same uid already
 * registered with this vmbusd (it came back before the worker), else a free one owned by
 * a placeholder device in its grace period, which the device adopts when it registers.
 * A device of another uid holding the same channel makes the record unusable. */
static int slot_for(struct vmbusd *d, const struct vmbus_offer *offer, uint32_t uid,
		    struct device **phantom, struct dev_offer **ret)
{
	for (uint32_t i = 0; i < VMBUSD_MAX_OFFERS; i++) {
		struct dev_offer *o = &d->offers[i];
		if (!o->dev || o->relid || memcmp(&o->offer, offer, sizeof(o->offer)))
			continue;
		if (o->owner_uid != uid)
			return -EPERM;
		*ret = o;
		return 0;
	}
	for (uint32_t i = 0; i < VMBUSD_MAX_OFFERS; i++) {
		struct dev_offer *o = &d->offers[i];
		if (o->dev)
			continue;
		if (!*phantom && !(*phantom = vmbusd_phantom_device(d)))
			return -ENOSPC;
		*o = (struct dev_offer){
		    .dev = *phantom, .owner_uid = uid, .doorbell_fd = -1, .gen = o->gen + 1};
		o->offer = *offer;
		*ret = o;
		return 0;
	}
	return -ENOSPC;
}

/* Every recorded sub-channel has its primary, of the same owner, among the offers. */
static bool subchannels_have_primaries(const struct vmbusd *d)
{
	for (uint32_t i = 0; i < VMBUSD_MAX_OFFERS; i++) {
		const struct dev_offer *s = &d->offers[i];
		bool found = false;
		if (!s->dev || !s->offer.sub_channel_index)
			continue;
		for (uint32_t k = 0; k < VMBUSD_MAX_OFFERS && !found; k++) {
			const struct dev_offer *p = &d->offers[k];
			found = p->dev && !p->offer.sub_channel_index &&
				p->owner_uid == s->owner_uid &&
				!memcmp(&p->offer.if_type, &s->offer.if_type,
					sizeof(s->offer.if_type)) &&
				!memcmp(&p->offer.if_instance, &s->offer.if_instance,
					sizeof(s->offer.if_instance));
		}
		if (!found)
			return false;
	}
	return true;
}

static int restore_offers(struct vmbusd *d, struct rbuf *r)
{
	uint32_t n = get32(r);
	struct device *phantom = NULL;

	if (n > VMBUSD_MAX_OFFERS)
		return -EBADMSG;
	for (uint32_t i = 0; i < n && !r->bad; i++) {
		const void *offer_bytes = get(r, sizeof(struct vmbus_offer));
		uint32_t uid = get32(r), relid = get32(r), open = get32(r), vp = get32(r);
		uint32_t conn = get32(r), downstream = get32(r), npfns = get32(r);
		struct vmbus_open_info info;
		struct vmbus_offer offer;
		struct dev_offer *o;
		int ret;

		if (r->bad)
			return -EBADMSG;
		memcpy(&offer, offer_bytes, sizeof(offer));
		/* The policy this vmbusd runs with still holds for what an earlier one let in. */
		if (uid == VMBUSD_NO_UID ||
		    !vmbusd_policy_allows(&d->policy, uid, &offer.if_instance)) {
			char g[VMBUS_GUID_STRING_MAX];
			log_error("the recorded offer of instance %s (uid %u) is not allowed by "
				  "--device-allow",
				  vmbus_guid_to_string(&offer.if_instance, g), uid);
			return -EPERM;
		}
		if (relid == 0 || open > 1 ||
		    (open &&
		     (vp >= d->vp_count || npfns == 0 || npfns > VMBUS_DEFAULT_MAX_GPADL_PAGES)))
			return -EBADMSG;
		const void *pfns = get(r, (size_t)npfns * sizeof(uint64_t));
		if (r->bad)
			return -EBADMSG;
		/* The control plane must agree: the relid exists and is open exactly when the
		 * record says so, on the same ring. */
		bool core_open = vmbus_host_channel_info(d->vs, relid, &info) == 0;
		if (core_open != (bool)open ||
		    (open && (info.page_count != npfns || info.downstream_page != downstream ||
			      info.target_vp != vp ||
			      memcmp(info.pfns, pfns, (size_t)npfns * sizeof(uint64_t)))))
			return -EBADMSG;
		(void)conn;
		ret = slot_for(d, &offer, uid, &phantom, &o);
		if (ret < 0)
			return ret;
		o->relid = relid;
		o->target_vp = vp;
		if (!open)
			continue;
		o->pfns = malloc((size_t)npfns * sizeof(uint64_t));
		if (!o->pfns)
			return -ENOMEM;
		memcpy(o->pfns, pfns, (size_t)npfns * sizeof(uint64_t));
		o->npfns = npfns;
		o->downstream_page = downstream;
		o->event_conn_id = info.event_conn_id;
	}
	if (r->bad)
		return -EBADMSG;
	return subchannels_have_primaries(d) ? 0 : -EBADMSG;
}

static int restore_outbox(struct vmbusd *d, struct rbuf *r)
{
	uint32_t n = get32(r);

	if (n > VMBUSD_OUTBOX_MAX)
		return -EBADMSG;
	d->outbox_head = 0;
	d->outbox_count = 0;
	for (uint32_t i = 0; i < n && !r->bad; i++) {
		uint64_t seq = get64(r);
		uint32_t vp = get32(r), len = get32(r);
		const void *p = get(r, len);
		if (r->bad || len > VMBUS_MSG_MAX || vp >= d->vp_count || seq > d->host_seq ||
		    (i && seq <= outbox_at(d, i - 1)->seq))
			return -EBADMSG;
		struct outbox_msg *m = outbox_at(d, d->outbox_count++);
		*m = (struct outbox_msg){.seq = seq, .vp = vp, .len = len, .sent = true};
		memcpy(m->payload, p, len);
	}
	return r->bad ? -EBADMSG : 0;
}

/* Undoes a partial restore: placeholder offers go, live devices' offers are unbound. */
static void drop_restored(struct vmbusd *d)
{
	for (uint32_t i = 0; i < VMBUSD_MAX_OFFERS; i++) {
		struct dev_offer *o = &d->offers[i];
		free(o->pfns);
		o->pfns = NULL;
		o->npfns = 0;
		o->relid = 0;
		o->state = OFFER_IDLE;
		o->gen++;
		if (o->dev && !o->dev->ch && !o->dev->pid)
			o->dev = NULL;
	}
	for (uint32_t i = 0; i < VMBUSD_MAX_DEVICES; i++)
		if (!d->devs[i].ch && !d->devs[i].pid)
			d->devs[i].in_grace = false;
	d->vs = vmbus_host_free(d->vs);
	d->outbox_count = 0;
}

int vmbusd_persist_restore(struct vmbusd *d, const struct vmbus_host_config *cfg,
			   const struct vmbus_host_ops *ops, bool reattach, uint64_t host_seq)
{
	struct rbuf r = {.p = d->restore_rec, .len = d->restore_len};
	void *rec = d->restore_rec;
	int ret;

	d->restore_rec = NULL;
	d->restore_len = 0;
	if (!rec || !reattach) {
		if (reattach) {
			log_error("the worker reattaches but no VMBus state was kept: the guest's "
				  "VMBus starts over");
			/* The worker drops host messages numbered up to the last it got. */
			d->host_seq = host_seq;
		}
		free(rec);
		return 0;
	}
	ret = -EBADMSG;
	if (get32(&r) != REC_MAGIC || get32(&r) != REC_FORMAT)
		goto bad;
	d->guest_seq = get64(&r);
	d->host_seq = get64(&r);
	uint32_t core = get32(&r);
	const void *blob = get(&r, core);
	if (r.bad)
		goto bad;
	ret = vmbus_host_new(cfg, ops, d, &d->vs);
	if (ret < 0)
		goto bad;
	ret = vmbus_host_restore(d->vs, blob, core);
	if (ret < 0)
		goto bad;
	ret = restore_offers(d, &r);
	if (ret == 0)
		ret = restore_outbox(d, &r);
	if (ret == 0 && r.off != r.len)
		ret = -EBADMSG;
	if (ret < 0)
		goto bad;
	free(rec);
	for (uint32_t i = 0; i < VMBUSD_MAX_OFFERS; i++) {
		struct dev_offer *o = &d->offers[i];
		if (o->dev && o->dev->ch && o->relid)
			vmbusd_sync_gpadls(d, o); /* a device that came back before the worker */
		if (o->pfns && (ret = vmbusd_route_restored(d, o)) < 0)
			log_warn_errno(ret, "unable to route relid %u's doorbell again: %m",
				       o->relid);
	}
	vmbusd_outbox_resend(d, host_seq);
	/* A worker that got more than the record has (a commit failed after it was sent)
	 * drops host messages numbered up to its last: number on from there. */
	if (host_seq > d->host_seq)
		d->host_seq = host_seq;
	d->restores++;
	d->dirty = true;
	log_info("took over the VMBus state: guest message %llu, host message %llu, %u "
		 "resent",
		 (unsigned long long)d->guest_seq, (unsigned long long)d->host_seq,
		 (unsigned)d->replayed_host);
	return 1;
bad:
	log_error_errno(ret,
			"the kept VMBus state is not usable: the guest's VMBus starts over: %m");
	drop_restored(d);
	d->guest_seq = 0;
	d->host_seq = host_seq; /* numbered on from the worker's last: it drops the rest */
	free(rec);
	return 0;
}

int vmbusd_persist_init(struct vmbusd *d)
{
	d->outbox = calloc(VMBUSD_OUTBOX_MAX, sizeof(*d->outbox));
	d->persist_check = malloc(sizeof(*d->persist_check));
	d->persist_prepare = malloc(sizeof(*d->persist_prepare));
	if (!d->outbox || !d->persist_check || !d->persist_prepare ||
	    uv_check_init(d->loop, d->persist_check) < 0) {
		free(d->outbox);
		free(d->persist_check);
		free(d->persist_prepare);
		d->outbox = NULL;
		d->persist_check = NULL;
		d->persist_prepare = NULL;
		return -ENOMEM;
	}
	(void)uv_prepare_init(d->loop, d->persist_prepare);
	d->persist_check->data = d->persist_prepare->data = d;
	uv_check_start(d->persist_check, persist_check_cb);
	uv_prepare_start(d->persist_prepare, persist_prepare_cb);
	uv_unref((uv_handle_t *)d->persist_check);
	uv_unref((uv_handle_t *)d->persist_prepare);
	return 0;
}

static void free_handle(uv_handle_t *h)
{
	free(h);
}

void vmbusd_persist_fini(struct vmbusd *d)
{
	if (d->persist_check) {
		uv_close((uv_handle_t *)d->persist_check, free_handle);
		uv_close((uv_handle_t *)d->persist_prepare, free_handle);
	}
	d->persist_check = NULL;
	d->persist_prepare = NULL;
	free(d->outbox);
	d->outbox = NULL;
	free(d->restore_rec);
	d->restore_rec = NULL;
	vmbusd_store_free(d->store);
	d->store = NULL;
}
