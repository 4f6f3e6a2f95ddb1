/* SPDX-License-Identifier: MIT */
#include "vmbus_hb.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "defs/hv_defs.h"
#include "ic.h"
#include "log.h"
#include "vmbus_ring.h"

#define HB_PKT_MAX 4096

struct vmbus_hb {
	struct hv_synic *synic;
	pthread_mutex_t lock; /* everything below; the device thread and VP threads */
	uint32_t relid;
	bool open;
	uint32_t target_vp, event_conn_id;
	struct vmbus_ring in, out;
	struct vmbus_ic ic;
	bool send_negotiate;
	int event_fd; /* HvSignalEvent(event_conn_id) lands here, inside the partition */
	int wake_fd;
	int stop_fd;
	pthread_t thread;
	bool thread_started;
	uint64_t pkt[HB_PKT_MAX / 8];
	uint8_t msg[HB_PKT_MAX];
};

static void hb_signal_guest(struct vmbus_hb *hb)
{
	int r = hv_synic_signal_event(hb->synic, hb->target_vp, HV_SYNIC_VMBUS_SINT, hb->relid);
	if (r < 0)
		log_warn_errno(r, "heartbeat: unable to signal VP %u: %m, ignoring", hb->target_vp);
}

/* Caller holds hb->lock. */
static void hb_send(struct vmbus_hb *hb, ssize_t len, uint64_t trans_id)
{
	int r;

	if (len < 0) {
		log_warn_errno((int)len, "heartbeat: unable to build a request: %m");
		return;
	}
	r = vmbus_ring_send_inband(&hb->out, trans_id, 0, hb->msg, (uint32_t)len);
	if (r < 0)
		log_warn_errno(r, "heartbeat: unable to write the ring: %m");
	else if (r == 1)
		hb_signal_guest(hb);
}

/* Caller holds hb->lock. Drains guest->host packets. */
static void hb_receive(struct vmbus_hb *hb)
{
	struct vmbus_pkt pkt;
	int r;

	for (;;) {
		vmbus_ring_mask_interrupts(&hb->in);
		while ((r = vmbus_ring_recv(&hb->in, hb->pkt, sizeof(hb->pkt), &pkt)) == 0) {
			int ev = vmbus_ic_receive(&hb->ic, pkt.payload, pkt.payload_len);
			if (ev == VMBUS_IC_EV_NEGOTIATED) {
				log_info("heartbeat IC on relid %u negotiated: framework %u.%u, message %u.%u",
					 hb->relid, hb->ic.framework.major, hb->ic.framework.minor,
					 hb->ic.message.major, hb->ic.message.minor);
				hb_send(hb, vmbus_ic_heartbeat_request(&hb->ic, hb->msg, sizeof(hb->msg)), 1);
			} else if (ev == VMBUS_IC_EV_HEARTBEAT) {
				log_info("heartbeat IC on relid %u: guest answered sequence %llu", hb->relid,
					 (unsigned long long)hb->ic.seq);
			} else if (ev < 0) {
				log_warn_errno(ev, "heartbeat IC on relid %u: refused a guest packet: %m", hb->relid);
			}
		}
		if (r != -EAGAIN) {
			log_warn_errno(r, "heartbeat: guest->host ring broken: %m");
			return;
		}
		if (vmbus_ring_recv_commit(&hb->in) == 1)
			hb_signal_guest(hb);
		if (vmbus_ring_unmask_interrupts(&hb->in) != 1)
			return;
	}
}

static void *device_thread(void *arg)
{
	struct vmbus_hb *hb = arg;

	for (;;) {
		struct pollfd p[3] = {
			{.fd = hb->stop_fd, .events = POLLIN},
			{.fd = hb->wake_fd, .events = POLLIN},
			{.fd = hb->event_fd, .events = POLLIN},
		};
		uint64_t v;
		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_error("VMBus device thread: poll failed: %m");
			return NULL;
		}
		if (p[0].revents)
			return NULL;
		if (p[1].revents)
			(void)!read(hb->wake_fd, &v, sizeof(v));
		if (p[2].revents)
			(void)!read(hb->event_fd, &v, sizeof(v));
		pthread_mutex_lock(&hb->lock);
		if (hb->open) {
			if (hb->send_negotiate) {
				hb->send_negotiate = false;
				hb_send(hb, vmbus_ic_negotiate_request(&hb->ic, hb->msg, sizeof(hb->msg)), 0);
			}
			hb_receive(hb);
		}
		pthread_mutex_unlock(&hb->lock);
	}
}

int vmbus_hb_open(struct vmbus_hb *hb, uint32_t relid, void *const *pages, uint32_t npages,
		  uint32_t downstream_page, uint32_t event_conn_id, uint32_t target_vp)
{
	uint64_t one = 1;
	int r;

	if (npages > VMBUS_HB_MAX_PAGES)
		return -EINVAL;
	pthread_mutex_lock(&hb->lock);
	if (hb->open) {
		r = -EBUSY;
		goto out;
	}
	r = vmbus_ring_pair_init(&hb->in, &hb->out, pages, npages, downstream_page, true);
	if (r < 0)
		goto out;
	r = hv_synic_add_event_port(hb->synic, event_conn_id, hb->event_fd);
	if (r < 0) {
		vmbus_ring_fini(&hb->in);
		vmbus_ring_fini(&hb->out);
		goto out;
	}
	hb->open = true;
	hb->relid = relid;
	hb->target_vp = target_vp;
	hb->event_conn_id = event_conn_id;
	vmbus_ic_init(&hb->ic, VMBUS_IC_HEARTBEAT);
	hb->send_negotiate = true;
	log_info("heartbeat IC on relid %u opened: %u ring pages, event connection %#x, VP %u", relid,
		 npages, event_conn_id, target_vp);
out:
	pthread_mutex_unlock(&hb->lock);
	if (r == 0)
		(void)!write(hb->wake_fd, &one, sizeof(one));
	return r;
}

void vmbus_hb_close(struct vmbus_hb *hb)
{
	pthread_mutex_lock(&hb->lock);
	if (hb->open) {
		(void)hv_synic_remove_event_port(hb->synic, hb->event_conn_id);
		vmbus_ring_fini(&hb->in);
		vmbus_ring_fini(&hb->out);
		hb->open = false;
		log_info("heartbeat IC on relid %u closed", hb->relid);
	}
	pthread_mutex_unlock(&hb->lock);
}

struct vmbus_hb *vmbus_hb_free(struct vmbus_hb *hb)
{
	uint64_t one = 1;

	if (!hb)
		return NULL;
	if (hb->thread_started) {
		(void)!write(hb->stop_fd, &one, sizeof(one));
		pthread_join(hb->thread, NULL);
	}
	if (hb->open) {
		vmbus_ring_fini(&hb->in);
		vmbus_ring_fini(&hb->out);
	}
	if (hb->event_fd >= 0)
		close(hb->event_fd);
	if (hb->wake_fd >= 0)
		close(hb->wake_fd);
	if (hb->stop_fd >= 0)
		close(hb->stop_fd);
	pthread_mutex_destroy(&hb->lock);
	free(hb);
	return NULL;
}

int vmbus_hb_new(struct hv_synic *synic, struct vmbus_hb **ret)
{
	struct vmbus_hb *hb;
	int r;

	hb = calloc(1, sizeof(*hb));
	if (!hb)
		return -ENOMEM;
	hb->synic = synic;
	pthread_mutex_init(&hb->lock, NULL);
	hb->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	hb->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	hb->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (hb->wake_fd < 0 || hb->stop_fd < 0 || hb->event_fd < 0) {
		r = -errno;
		goto err;
	}
	r = -pthread_create(&hb->thread, NULL, device_thread, hb);
	if (r < 0)
		goto err;
	hb->thread_started = true;
	*ret = hb;
	return 0;
err:
	vmbus_hb_free(hb);
	return r;
}
