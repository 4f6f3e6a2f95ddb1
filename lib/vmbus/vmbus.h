/* SPDX-License-Identifier: MIT */
/*
 * The guest-facing VMBus control plane as a transport-independent library.
 *
 * One struct vmbus_host is one guest connection plus its channel table.
 * The embedder feeds it every guest HvPostMessage (vmbus_host_post) and
 * receives host->guest messages and device events through the callbacks in
 * struct vmbus_host_ops. Nothing here touches guest memory, sockets or
 * threads; the library is single-threaded and not reentrant (callbacks must
 * not call back into the same server except the *_complete functions, which
 * may also be called later from the embedder's loop).
 *
 * Guest input is untrusted: each message is copied, length-checked and
 * decoded before use. A bad message affects only the channel it names (that
 * open or GPADL fails, the reason goes to ops->error and the channel's
 * counters); connection-level garbage is dropped and counted.
 */
#ifndef MHCL_VMBUS_H
#define MHCL_VMBUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "defs/vmbus_defs.h"
#include "guestmem.h"

struct vmbus_host;

/* Returned by device callbacks that finish later through a *_complete call. */
#define VMBUS_PENDING 1

/* Default limits (struct vmbus_host_config fields left 0 take these). */
#define VMBUS_DEFAULT_MAX_CHANNELS 256u
#define VMBUS_DEFAULT_MAX_GPADLS_PER_CHANNEL 64u
#define VMBUS_DEFAULT_MAX_GPADL_PAGES 16384u   /* 64 MiB in one GPADL */
#define VMBUS_DEFAULT_MAX_TOTAL_PAGES 1048576u /* 4 GiB described at once */
#define VMBUS_DEFAULT_MAX_PENDING_GPADLS 16u   /* GPADLs waiting for bodies */
#define VMBUS_MAX_RAM_RANGES GUESTMEM_MAX_RANGES

/* Highest protocol mhcl honours: Copper (6.0), granting none of its feature
 * flags, so its messages keep their pre-6.0 forms. */
#define VMBUS_VERSION_HIGHEST VMBUS_VERSION_COPPER

/* Event connection id the guest signals channel relid with (24 bits, above
 * the message ids 1-4): relid | SINT << 12, as Hyper-V builds it for VTL0. */
#define VMBUS_EVENT_CONNID(relid) ((uint32_t)(relid) | (VMBUS_MESSAGE_SINT << 12))

struct vmbus_host_config {
	/* Guest RAM (guestmem_layout_check must accept it): every GPADL PFN must fall in one
	 * range. Only the layout: the library never maps or touches guest memory. */
	struct guestmem_layout ram;
	uint32_t max_version;  /* 0 = VMBUS_VERSION_HIGHEST; lower values test fallback */
	uint32_t msg_conn_id;  /* returned in VERSION_RESPONSE (>= 5.0); 0 = 1 */
	uint32_t vp_count;     /* target VPs must be below this; 0 = unchecked */
	uint32_t max_channels; /* 0 = default; at most VMBUS_RELID_MAX */
	uint32_t max_gpadls_per_channel;
	uint32_t max_gpadl_pages;
	uint32_t max_total_pages;
	uint32_t max_pending_gpadls;
};

/* What a device learns when the guest opens its channel. */
struct vmbus_open_info {
	uint32_t relid;
	uint32_t open_id;
	uint32_t gpadl_id;	  /* ring GPADL */
	uint32_t target_vp;	  /* VP that receives this channel's interrupts */
	uint32_t event_conn_id;	  /* the guest signals the host with this (HvSignalEvent) */
	uint32_t downstream_page; /* first page of the host->guest ring */
	uint32_t page_count;	  /* pages in the ring GPADL */
	const uint64_t *pfns;	  /* borrowed; valid until the close completes */
	const uint8_t *user_data; /* VMBUS_USER_DEF_BYTES, borrowed for the call */
};

/* One range of a created GPADL: its pages are pfns[pfn_index, pfn_index + pfn_count). */
struct vmbus_gpadl_range {
	uint32_t byte_offset; /* into the first page, < 4096 */
	uint32_t byte_count;
	uint32_t pfn_index;
	uint32_t pfn_count;
};

/* A created GPADL; everything borrowed until its teardown completes. */
struct vmbus_gpadl_view {
	uint32_t relid;
	uint32_t gpadl_id;
	uint32_t range_count;
	uint32_t page_count;
	const struct vmbus_gpadl_range *ranges;
	const uint64_t *pfns; /* each checked against guest RAM */
};

struct vmbus_host_ops {
	/*
	 * Required. Delivers one host->guest message (SynIC message type 1) to
	 * SINT 2 of VP `vp`. The bytes are borrowed for the call: copy them.
	 * Delivery cannot fail here; the embedder queues behind a busy slot.
	 * To bound that queue, answer HV_STATUS_INSUFFICIENT_BUFFERS to further
	 * guest posts while it is long (Linux retries).
	 */
	void (*post_msg)(void *ctx, uint32_t vp, const void *msg, size_t len);
	/*
	 * Optional. The guest asked to open a channel; info is borrowed for the
	 * call. Return 0 (opened), a negative errno (open fails) or VMBUS_PENDING
	 * and later call vmbus_host_open_complete().
	 */
	int (*channel_open)(void *ctx, const struct vmbus_open_info *info);
	/* Optional. The channel closes (guest close, rescind or unload): stop
	 * using its rings. Return 0 or VMBUS_PENDING + vmbus_host_close_complete(). */
	int (*channel_close)(void *ctx, uint32_t relid);
	/* Optional. MODIFYCHANNEL: interrupts now go to target_vp. Returns 0 or -errno. */
	int (*channel_modify)(void *ctx, uint32_t relid, uint32_t target_vp);
	/* Optional. A GPADL was created (informational; view borrowed for the call). */
	void (*gpadl_created)(void *ctx, const struct vmbus_gpadl_view *g);
	/* Optional. A GPADL goes away: stop using its pages. Return 0 or
	 * VMBUS_PENDING + vmbus_host_gpadl_teardown_complete(). */
	int (*gpadl_teardown)(void *ctx, uint32_t relid, uint32_t gpadl_id);
	/* Optional. Something was refused; relid 0 = connection level. reason is
	 * borrowed for the call. The library itself never logs. */
	void (*error)(void *ctx, uint32_t relid, int err, const char *reason);
	/* Optional. The connection state changed (connected with version, or
	 * disconnected with version 0). */
	void (*connection)(void *ctx, uint32_t version);
};

/* Device-supplied part of an offer. */
struct vmbus_offer {
	struct hv_guid if_type;
	struct hv_guid if_instance;
	uint16_t chn_flags;
	uint16_t mmio_megabytes;
	uint8_t user_def[VMBUS_USER_DEF_BYTES];
	uint16_t sub_channel_index; /* nonzero: subchannel of the primary with the same GUIDs */
	uint16_t mmio_megabytes_optional;
};

/*
 * Creates a server. cfg and ops are copied; ctx is passed to every callback.
 * Returns 0 and the server in *ret, or -EINVAL (bad config) / -ENOMEM.
 */
int vmbus_host_new(const struct vmbus_host_config *cfg, const struct vmbus_host_ops *ops, void *ctx,
		   struct vmbus_host **ret);
/* Frees the server without calling any callback; accepts NULL, returns NULL. */
struct vmbus_host *vmbus_host_free(struct vmbus_host *s);

/*
 * Feeds one guest HvPostMessage: connection id and payload (borrowed; copied
 * before use). Returns the Hyper-V status for the hypercall: HV_STATUS_SUCCESS
 * (0) once the message was accepted by the port, even if it was then dropped
 * as malformed, or HV_STATUS_INVALID_CONNECTION_ID (0x12) for a port that
 * does not exist (how a guest learns to fall back below protocol 5.0), or
 * HV_STATUS_INVALID_PARAMETER (5) for a payload over 240 bytes.
 */
#define VMBUS_HV_STATUS_SUCCESS 0x0000u
#define VMBUS_HV_STATUS_INVALID_PARAMETER 0x0005u
#define VMBUS_HV_STATUS_INVALID_CONNECTION_ID 0x0012u
uint16_t vmbus_host_post(struct vmbus_host *s, uint32_t conn_id, const void *msg, size_t len);

/*
 * Registers a channel offer from a device server; *o is copied. The offer is
 * sent at once if the guest already asked for offers. Returns 0 and the relid
 * (1..2047) in *ret_relid, -ENOSPC when the table is full, -EINVAL for a
 * subchannel without its primary, -EEXIST for a duplicate (GUIDs, index).
 */
int vmbus_host_offer(struct vmbus_host *s, const struct vmbus_offer *o, uint32_t *ret_relid);
/*
 * Withdraws an offer. If the guest knows it, RESCIND is sent, an open channel
 * is closed (channel_close) and the relid stays reserved until the guest sends
 * RELID_RELEASED. Returns 0 or -ENOENT.
 */
int vmbus_host_rescind(struct vmbus_host *s, uint32_t relid);

/* Completions for callbacks that returned VMBUS_PENDING. status: 0 or -errno. */
void vmbus_host_open_complete(struct vmbus_host *s, uint32_t relid, int status);
void vmbus_host_close_complete(struct vmbus_host *s, uint32_t relid);
void vmbus_host_gpadl_teardown_complete(struct vmbus_host *s, uint32_t relid, uint32_t gpadl_id);

/* ---- Save and restore (save.c) ------------------------------------------ */

/*
 * Serializes the connection, the channel table and every GPADL so a restarted
 * server can take over. Only a quiescent server can be saved: -EBUSY while a
 * device completion or an unload is pending. Returns the blob size (with
 * buf NULL: the size needed) or -ENOBUFS.
 */
ssize_t vmbus_host_save(const struct vmbus_host *s, void *buf, size_t cap);
/*
 * Loads a blob from vmbus_host_save() into a fresh server (-EBUSY
 * otherwise). The blob is validated as guest input is: ids, states, ring
 * shapes, every PFN against this server's RAM and its limits; on -EBADMSG or
 * -ENOMEM the server stays empty. No callback is called: devices re-attach
 * their open channels through vmbus_host_channel_info().
 */
int vmbus_host_restore(struct vmbus_host *s, const void *buf, size_t len);
/* Calls fn for every created GPADL of channel relid (views borrowed for the call): what a
 * device that comes (back) to the channel must be told. Returns how many. */
int vmbus_host_for_each_gpadl(struct vmbus_host *s, uint32_t relid,
			      void (*fn)(void *ctx, const struct vmbus_gpadl_view *g), void *ctx);

/* Open parameters of an open channel (user_data NULL; pfns borrowed until
 * the channel closes). 0 or -ENOENT. */
int vmbus_host_channel_info(struct vmbus_host *s, uint32_t relid, struct vmbus_open_info *ret);

/* ---- Inspect ---------------------------------------------------------- */

enum vmbus_conn_state {
	VMBUS_CONN_DISCONNECTED,
	VMBUS_CONN_CONNECTED,
	VMBUS_CONN_DISCONNECTING, /* waiting for devices before UNLOAD_RESPONSE / re-contact */
	_VMBUS_CONN_MAX,
	_VMBUS_CONN_INVALID = -22,
};

enum vmbus_chan_state {
	VMBUS_CHAN_CLOSED,
	VMBUS_CHAN_OPENING,
	VMBUS_CHAN_OPEN,
	VMBUS_CHAN_CLOSING,
	_VMBUS_CHAN_MAX,
	_VMBUS_CHAN_INVALID = -22,
};

enum vmbus_gpadl_state {
	VMBUS_GPADL_ASSEMBLING, /* header seen, waiting for bodies */
	VMBUS_GPADL_CREATED,
	VMBUS_GPADL_TEARDOWN_DEFERRED, /* torn down by the guest while its channel is open */
	VMBUS_GPADL_TEARING_DOWN,      /* device callback pending */
	_VMBUS_GPADL_MAX,
	_VMBUS_GPADL_INVALID = -22,
};

struct vmbus_chan_counters {
	uint64_t messages; /* guest messages naming this channel */
	uint64_t opens;	   /* successful opens */
	uint64_t open_failures;
	uint64_t closes;
	uint64_t gpadls_created;
	uint64_t gpadl_failures;
	uint64_t gpadls_torn_down;
	uint64_t modifies;
	uint64_t errors; /* refused guest messages */
};

struct vmbus_conn_report {
	enum vmbus_conn_state state;
	uint32_t version;   /* 0 when disconnected */
	uint32_t target_vp; /* VP receiving host messages */
	bool offers_requested;
	uint32_t channels;
	uint32_t gpadls;
	uint64_t messages_in, messages_out, dropped;
	const char *last_error; /* connection-level, borrowed; "" if none */
};

struct vmbus_chan_report {
	uint32_t relid;
	struct hv_guid if_type, if_instance;
	uint16_t sub_channel_index;
	enum vmbus_chan_state state;
	bool offered;	/* the guest was sent the offer */
	bool rescinded; /* waiting for RELID_RELEASED */
	uint32_t target_vp;
	uint32_t ring_gpadl; /* 0 when closed */
	uint32_t event_conn_id;
	struct vmbus_chan_counters counters;
	const char *last_error; /* borrowed; "" if none */
};

struct vmbus_gpadl_report {
	uint32_t relid;
	uint32_t gpadl_id;
	enum vmbus_gpadl_state state;
	uint32_t range_count;
	uint32_t page_count;
	bool ring_in_use; /* the ring of an open channel */
};

struct vmbus_inspect_ops {
	void (*connection)(void *ctx, const struct vmbus_conn_report *r);
	void (*channel)(void *ctx, const struct vmbus_chan_report *r);
	void (*gpadl)(void *ctx, const struct vmbus_gpadl_report *r);
};

/* Reports the whole state through the callbacks (any may be NULL); reports
 * are borrowed for the call. Channels in relid order, then GPADLs. */
void vmbus_host_inspect(const struct vmbus_host *s, const struct vmbus_inspect_ops *ops, void *ctx);

const char *vmbus_conn_state_to_string(enum vmbus_conn_state st);
const char *vmbus_chan_state_to_string(enum vmbus_chan_state st);
const char *vmbus_gpadl_state_to_string(enum vmbus_gpadl_state st);
const char *vmbus_msg_type_to_string(uint32_t type);
/* Formats a wire GUID as xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx into buf (37 bytes). */
#define VMBUS_GUID_STRING_MAX 37
const char *vmbus_guid_to_string(const struct hv_guid *g, char buf[VMBUS_GUID_STRING_MAX]);
/* Parses that form (hex digits in either case, nothing before or after). 0 or -EINVAL. */
int vmbus_guid_from_string(const char *s, struct hv_guid *ret);

/* ---- Message decoding (msg_parse.c) ----------------------------------- */

/* A decoded guest->host message: the raw bytes are copied into `raw` and the
 * typed view points into that copy. */
struct vmbus_msg {
	uint32_t type; /* enum vmbus_msg_type */
	uint32_t len;  /* bytes valid in raw */
	union {
		uint8_t bytes[VMBUS_MSG_MAX];
		uint64_t align_;
		struct vmbus_msg_hdr hdr;
		struct vmbus_msg_initiate_contact initiate;
		struct vmbus_msg_relid relid; /* CLOSECHANNEL, RELID_RELEASED */
		struct vmbus_msg_open_channel open;
		struct vmbus_msg_gpadl_header gpadl_hdr;
		struct vmbus_msg_gpadl_body gpadl_body;
		struct vmbus_msg_gpadl_teardown gpadl_teardown;
		struct vmbus_msg_modify_channel modify;
		struct vmbus_msg_tl_connect_request tl_connect;
	} raw;
	uint32_t data_off; /* GPADL header/body: offset of the u64 data in raw */
	uint32_t data_u64; /* GPADL header/body: whole u64 values after the fixed part */
};

/* The i-th u64 of a GPADL message's data (i < data_u64); unaligned-safe. */
static inline uint64_t vmbus_msg_u64(const struct vmbus_msg *m, uint32_t i)
{
	uint64_t v;
	__builtin_memcpy(&v, m->raw.bytes + m->data_off + 8 * (size_t)i, sizeof(v));
	return v;
}

/*
 * Copies and decodes one guest->host message. Returns 0, or -EBADMSG with a
 * static reason in *ret_reason (unknown or host-only type, shorter than its
 * type needs, longer than 240 bytes). *ret is written on success only.
 */
int vmbus_msg_parse(const void *buf, size_t len, struct vmbus_msg *ret, const char **ret_reason);
/* Minimum guest->host length of a message type, 0 if the guest never sends it. */
size_t vmbus_msg_min_len(uint32_t type);

#endif
