/* SPDX-License-Identifier: MIT */
/* mhcl-vmbusd's tables, shared by vmbusd.c (the worker and device connections) and
 * vmbusd_persist.c (the crash-consistent record of them). */
#ifndef MHCL_VMBUSD_INTERNAL_H
#define MHCL_VMBUSD_INTERNAL_H

#include "log.h" /* before uv.h: sys/param.h guards its MIN/MAX */

#include <uv.h>

#include "guestmem.h"
#include "ipc.h"
#include "log_limit.h"
#include "server.h"
#include "vmbus.h"
#include "vmbusd_policy.h"
#include "vmbusd_store.h"

#define VMBUSD_MAX_VPS 64u
#define VMBUSD_SIEFP_FLAGS_BYTES 256u /* one SINT's event flags */
#define VMBUSD_PAGE_SIZE 4096u
#define VMBUSD_MAX_DEVICES 16u
#define VMBUSD_MAX_OFFERS 128u
#define VMBUSD_DEVICE_TIMEOUT_MS 4000u /* a device that does not answer is cut off */
#define VMBUSD_DEFAULT_GRACE_MS 10000u /* a device that left has this long to come back */
#define VMBUSD_OUTBOX_MAX 256u	       /* host messages kept for a restarted vmbusd to send again */
#define VMBUSD_NO_UID UINT32_MAX       /* (uid_t)-1: never a process's uid */

struct vp_state {
	uint64_t siefp_gpa; /* 0: the guest has no SIEFP page (yet) */
	bool enabled;
	int irqfd; /* raises the VMBus SINT on this VP; -1 until the worker sent it */
};

/* One device server connection (mhcl-icd, ...). */
struct device {
	struct vmbusd *d;
	struct ipc_chan *ch;	  /* NULL: free slot */
	uint64_t gen;		  /* bumped by every connect and disconnect */
	uint64_t memfd_partition; /* the partition whose memfd this device holds (0: none) */
	int pid;
	uint32_t uid; /* the connection's peer uid (SO_PEERCRED): what the policy goes by */
	uint64_t offers, opens, open_failures, closes, refused_offers;
	/* Left while owning offers: they wait for a new connection to adopt them until
	 * grace_deadline (monotonic ms); the slot is not reused until then. */
	bool in_grace;
	uint64_t grace_deadline;
};

enum offer_state {
	OFFER_IDLE,
	OFFER_ASSIGNING,      /* VmbusdEventPortAssign in flight to the worker */
	OFFER_DEVICE_OPENING, /* VmbusdChannelOpen in flight to the device */
	OFFER_OPEN,
	OFFER_CLOSING, /* VmbusdChannelClose in flight; the guest's close waits */
};

/* A channel a device registered; offered to every partition while the device lives. */
struct dev_offer {
	struct device *dev; /* NULL: free slot */
	uint32_t
	    owner_uid; /* the uid that registered it: only that uid's next instance adopts it */
	uint32_t offer_id;
	struct vmbus_offer offer;
	uint32_t relid; /* 0 while no partition carries it */
	enum offer_state state;
	uint64_t gen; /* bumped by every open and close */
	uint32_t event_conn_id;
	int doorbell_fd; /* from ASSIGNING until the channel closes: a device that comes
			  * back after a restart gets it again */
	uint32_t target_vp;
	uint64_t *pfns; /* copy of the ring GPADL while the channel is open */
	uint32_t npfns, downstream_page;
	bool resuming; /* the VmbusdChannelOpen in flight hands an open channel to a new instance */
	bool wait_irqfd; /* its VmbusdChannelOpen waits for the target VP's irqfd */
};

/* Lines a guest can make vmbusd write over and over, each kind rate limited on its own so
 * that a flood of one hides none of the others (log_limit.h). */
enum vmbusd_log {
	VMBUSD_LOG_REFUSED,    /* guest messages the control plane refused, and why */
	VMBUSD_LOG_CONNECTION, /* the guest connected or disconnected */
	VMBUSD_LOG_CHANNEL,    /* opens and GPADLs of the guest's that a device refused */
	VMBUSD_LOG_HOST,       /* answers to the guest that could not be queued or sent */
	VMBUSD_LOG_TRACE,      /* --trace-guest-messages: every message either way */
	_VMBUSD_LOG_MAX,
};

/* A host message, numbered; kept until enough later ones were sent, so that a restarted
 * vmbusd can send again what the worker may not have got. */
struct outbox_msg {
	uint64_t seq;
	uint32_t vp, len;
	bool sent;
	uint8_t payload[VMBUS_MSG_MAX];
};

struct vmbusd {
	uv_loop_t *loop;
	struct srv *srv;
	int listen_fd, dev_listen_fd;
	uv_poll_t listen_poll, dev_listen_poll;

	/* The partition, while a worker is connected. */
	struct ipc_chan *worker;
	uint64_t worker_gen;
	int memfd; /* guest RAM, passed on to devices */
	size_t ram_len;
	struct guestmem_layout layout;
	uint32_t vp_count;
	struct vp_state vps[VMBUSD_MAX_VPS];
	struct vmbus_host *vs;
	uint32_t version;

	struct device devs[VMBUSD_MAX_DEVICES];
	struct dev_offer offers[VMBUSD_MAX_OFFERS];
	struct vmbusd_policy policy; /* what each device uid may offer */
	uint32_t grace_ms;
	uv_timer_t *grace_timer; /* separate allocation: closed asynchronously */

	uint64_t workers, guest_messages, host_messages, bad_worker_messages, refused_workers;
	uint64_t devices, refused_devices, bad_device_messages, rescinds;
	uint64_t adopted, resumed, resume_failures, grace_expired;

	/* Crash-consistent state (vmbusd_persist.c). */
	struct vmbusd_store *store;
	uv_check_t *persist_check;     /* after I/O: commit, then send */
	uv_prepare_t *persist_prepare; /* before blocking: the same, after timers */
	bool dirty;		       /* something changed since the last commit */
	uint64_t guest_seq;	       /* last guest message the state reflects */
	uint64_t host_seq;	       /* last host message numbered */
	struct outbox_msg *outbox;     /* ring of VMBUSD_OUTBOX_MAX */
	uint32_t outbox_head, outbox_count;
	uint32_t holds;	   /* GpadlAdds unanswered: host messages wait (GPADL_CREATED) */
	void *restore_rec; /* a record to take over when the worker reattaches */
	size_t restore_len;
	uint64_t commits, commit_deferrals, restores, replayed_host, duplicate_guest;

	struct log_limit log[_VMBUSD_LOG_MAX];
	bool trace; /* --trace-guest-messages */
};

/* vmbusd.c, for vmbusd_persist.c */
/* A device slot standing for device servers that have not connected to this vmbusd yet
 * (their offers came from the recorded state), in its grace period from now. */
struct device *vmbusd_phantom_device(struct vmbusd *d);
int vmbusd_route_restored(struct vmbusd *d, struct dev_offer *o);
/* Tells o's device every GPADL of its channel (it (re)joined the channel). */
void vmbusd_sync_gpadls(struct vmbusd *d, struct dev_offer *o);

/* vmbusd_persist.c */
int vmbusd_persist_init(struct vmbusd *d);
void vmbusd_persist_fini(struct vmbusd *d);
/* Queues a host message (numbered; sent after the next commit). */
int vmbusd_outbox_add(struct vmbusd *d, uint32_t vp, const void *msg, size_t len);
/* A worker attached: with a record to take over and reattach set, rebuilds the VMBus
 * state from it (cfg already filled from WorkerPartition). 1 restored, 0 fresh, -errno. */
int vmbusd_persist_restore(struct vmbusd *d, const struct vmbus_host_config *cfg,
			   const struct vmbus_host_ops *ops, bool reattach, uint64_t host_seq);
/* Forgets the outbox's sent flags so everything after host_seq goes out again. */
void vmbusd_outbox_resend(struct vmbusd *d, uint64_t host_seq);

#endif
