/* SPDX-License-Identifier: MIT */
#include "vmbus_local.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "defs/hv_defs.h"
#include "log.h"
#include "vmbus.h"
#include "vmbus_hb.h"

/* Below this many free slots in a VP's message queue, guest posts are refused with
 * HV_STATUS_INSUFFICIENT_BUFFERS (Linux retries), so one guest post can never overflow
 * the queue with its replies (an OFFER burst included). */
#define VMBUS_LOCAL_QUEUE_RESERVE 32

struct vmbus_local {
	struct hv_synic *synic;
	const struct guestmem *ram;
	struct vmbus_server *srv;
	pthread_mutex_t lock; /* the library is single-threaded; VP threads post concurrently */
	struct vmbus_hb *hb;
	uint32_t hb_relid;
};

static void post_msg(void *ctx, uint32_t vp, const void *msg, size_t len)
{
	struct vmbus_local *l = ctx;
	int r = hv_synic_post_message(l->synic, vp, VMBUS_MESSAGE_SINT, VMBUS_HV_MSG_TYPE_CHANNEL,
				      msg, len);
	if (r < 0)
		log_warn_errno(r, "unable to queue a VMBus message for VP %u: %m, dropping it", vp);
	else if (len >= 4) {
		uint32_t type;
		memcpy(&type, msg, sizeof(type));
		log_info("VMBus message to VP %u: %s (%zu bytes)", vp,
			 vmbus_msg_type_to_string(type), len);
	}
}

static void on_error(void *ctx, uint32_t relid, int err, const char *reason)
{
	(void)ctx;
	log_warn_errno(err, "VMBus: %s%s (relid %u): %m", reason ? reason : "refused",
		       relid ? "" : " on the connection", relid);
}

static void on_connection(void *ctx, uint32_t version)
{
	(void)ctx;
	if (version)
		log_info("VMBus connected: protocol %u.%u", version >> 16, version & 0xffff);
	else
		log_info("VMBus disconnected");
}

static uint16_t port_post(void *opaque, uint32_t vp, uint32_t connection_id, uint32_t message_type,
			  const uint8_t *payload, uint32_t len)
{
	struct vmbus_local *l = opaque;
	uint16_t status;

	(void)message_type;
	if (hv_synic_queue_free(l->synic, vp, VMBUS_MESSAGE_SINT) < VMBUS_LOCAL_QUEUE_RESERVE)
		return HV_STATUS_INSUFFICIENT_BUFFERS;
	pthread_mutex_lock(&l->lock);
	status = vmbus_server_post(l->srv, connection_id, payload, len);
	pthread_mutex_unlock(&l->lock);
	return status;
}

/* Called by the library with l->lock held, on a VP thread. */
static int channel_open(void *ctx, const struct vmbus_open_info *info)
{
	struct vmbus_local *l = ctx;
	uint8_t *pages[VMBUS_HB_MAX_PAGES];
	void *ring[VMBUS_HB_MAX_PAGES];
	size_t bad;

	if (info->relid != l->hb_relid)
		return -ENODEV;
	if (info->page_count > VMBUS_HB_MAX_PAGES)
		return -EINVAL;
	/* The library checked every PFN against the layout; guestmem maps them. */
	if (guestmem_pages(l->ram, info->pfns, info->page_count, pages, &bad) < 0)
		return -EFAULT;
	for (uint32_t i = 0; i < info->page_count; i++)
		ring[i] = pages[i];
	return vmbus_hb_open(l->hb, info->relid, ring, info->page_count, info->downstream_page,
			     info->event_conn_id, info->target_vp);
}

static int channel_close(void *ctx, uint32_t relid)
{
	struct vmbus_local *l = ctx;

	if (relid == l->hb_relid)
		vmbus_hb_close(l->hb);
	return 0;
}

struct vmbus_local *vmbus_local_free(struct vmbus_local *l)
{
	if (!l)
		return NULL;
	l->hb = vmbus_hb_free(l->hb);
	vmbus_server_free(l->srv);
	pthread_mutex_destroy(&l->lock);
	free(l);
	return NULL;
}

int vmbus_local_new(struct hv_synic *synic, const struct guestmem *ram, uint32_t vp_count,
		    struct vmbus_local **ret)
{
	static const struct vmbus_server_ops ops = {
	    .post_msg = post_msg,
	    .channel_open = channel_open,
	    .channel_close = channel_close,
	    .error = on_error,
	    .connection = on_connection,
	};
	struct vmbus_server_config cfg = {
	    .ram = ram->layout,
	    .vp_count = vp_count,
	};
	struct vmbus_local *l;
	int r;

	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->synic = synic;
	l->ram = ram;
	pthread_mutex_init(&l->lock, NULL);
	r = vmbus_hb_new(synic, &l->hb);
	if (r < 0)
		goto err;
	r = vmbus_server_new(&cfg, &ops, l, &l->srv);
	if (r < 0)
		goto err;
	struct vmbus_offer hb_offer = {
	    .if_type = HV_GUID_IC_HEARTBEAT,
	    /* A fixed instance id, so the guest sees the same device on every boot. */
	    .if_instance = HV_GUID_INIT(0x6d686331, 0x0001, 0x4862, 0x80, 0x00, 0x68, 0x65, 0x61,
					0x72, 0x74, 0x01),
	};
	r = vmbus_server_offer(l->srv, &hb_offer, &l->hb_relid);
	if (r < 0)
		goto err;
	r = hv_synic_add_message_port(synic, VMBUS_CONNID_MESSAGE, port_post, l);
	if (r < 0)
		goto err;
	r = hv_synic_add_message_port(synic, VMBUS_CONNID_MESSAGE_4, port_post, l);
	if (r < 0) {
		hv_synic_remove_message_port(synic, VMBUS_CONNID_MESSAGE);
		goto err;
	}
	*ret = l;
	return 0;
err:
	vmbus_local_free(l);
	return r;
}
