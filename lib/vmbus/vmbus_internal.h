/* SPDX-License-Identifier: MIT */
/* Private state of the VMBus control-plane library, shared by its .c files. */
#ifndef MHCL_VMBUS_INTERNAL_H
#define MHCL_VMBUS_INTERNAL_H

#include "vmbus.h"

#define VMBUS_REASON_MAX 128

struct vmbus_gpadl {
	struct vmbus_gpadl *next;
	uint32_t id;
	uint32_t relid;
	enum vmbus_gpadl_state state;
	bool in_use;	    /* ring GPADL of an opening/open/closing channel */
	bool send_torndown; /* GPADL_TORNDOWN is owed to the guest when the teardown completes */
	bool notified;	    /* the device was told it exists (gpadl_created) */
	uint16_t range_count;
	uint32_t total_u64; /* declared by range_buflen */
	uint32_t have_u64;  /* received so far (assembling) */
	uint64_t *data;	    /* raw u64 stream while assembling; NULL once created */
	uint32_t page_count;
	struct vmbus_gpadl_range *ranges; /* once created */
	uint64_t *pfns;			  /* once created */
};

struct vmbus_channel {
	uint32_t relid;
	struct vmbus_offer offer;
	enum vmbus_chan_state state;
	bool offered;	     /* the guest was sent the offer in this connection */
	bool rescinded;	     /* RESCIND sent; waiting for RELID_RELEASED */
	bool withdrawn;	     /* the device withdrew the offer; freed once idle */
	bool reopen_pending; /* OPENCHANNEL arrived while closing */
	struct vmbus_msg_open_channel reopen;
	uint32_t open_id;
	uint32_t ring_gpadl;
	uint32_t target_vp;
	uint32_t downstream;
	uint32_t ngpadls;
	struct vmbus_chan_counters c;
	char last_error[VMBUS_REASON_MAX];
};

enum vmbus_reset_action {
	VMBUS_RESET_NONE,
	VMBUS_RESET_UNLOAD,    /* send UNLOAD_RESPONSE when done */
	VMBUS_RESET_RECONNECT, /* handle the saved INITIATE_CONTACT when done */
};

/* The host side of one guest's VMBus connection: the control plane's whole state (a
 * library object, not a server process). */
struct vmbus_host {
	struct vmbus_host_config cfg;
	struct vmbus_host_ops ops;
	void *ctx;

	enum vmbus_conn_state state;
	uint32_t version;
	uint32_t target_vp;
	bool offers_requested;
	enum vmbus_reset_action action;
	struct vmbus_msg_initiate_contact saved_contact;
	uint32_t saved_conn_id;
	bool in_reset_check; /* guards vmbus__reset_check against re-entry */

	struct vmbus_channel *chan[VMBUS_RELID_MAX + 1];
	uint32_t nchannels;

	struct vmbus_gpadl *gpadls;
	uint32_t ngpadls;
	uint32_t npending_gpadls;
	uint64_t total_pages;

	uint64_t messages_in, messages_out, dropped;
	char last_error[VMBUS_REASON_MAX];
};

/* connection.c */
void vmbus__post(struct vmbus_host *s, const void *msg, size_t len);
void vmbus__post_to(struct vmbus_host *s, uint32_t vp, const void *msg, size_t len);
/* Records and reports a refusal; ch may be NULL (relid still reported). Returns err. */
int vmbus__fail(struct vmbus_host *s, struct vmbus_channel *ch, uint32_t relid, int err,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Finishes a pending disconnect once nothing is open and no GPADL is left. */
void vmbus__reset_check(struct vmbus_host *s);
bool vmbus__connected(const struct vmbus_host *s);
bool vmbus__version_honoured(const struct vmbus_host *s, uint32_t version);

/* channels.c */
struct vmbus_channel *vmbus__chan_get(struct vmbus_host *s, uint32_t relid);
void vmbus__send_offer(struct vmbus_host *s, struct vmbus_channel *ch);
void vmbus__send_all_offers(struct vmbus_host *s);
void vmbus__chan_start_close(struct vmbus_host *s, struct vmbus_channel *ch);
void vmbus__chan_maybe_free(struct vmbus_host *s, struct vmbus_channel *ch);
void vmbus__handle_open(struct vmbus_host *s, const struct vmbus_msg *m);
void vmbus__handle_close(struct vmbus_host *s, const struct vmbus_msg *m);
void vmbus__handle_modify(struct vmbus_host *s, const struct vmbus_msg *m);
void vmbus__handle_relid_released(struct vmbus_host *s, const struct vmbus_msg *m);
/* Drops every channel's guest-side state for a disconnect. */
void vmbus__chan_reset_all(struct vmbus_host *s);

/* gpadl.c */
struct vmbus_gpadl *vmbus__gpadl_find(struct vmbus_host *s, uint32_t id);
void vmbus__handle_gpadl_header(struct vmbus_host *s, const struct vmbus_msg *m);
void vmbus__handle_gpadl_body(struct vmbus_host *s, const struct vmbus_msg *m);
void vmbus__handle_gpadl_teardown(struct vmbus_host *s, const struct vmbus_msg *m);
/* Starts releasing g (device callback, maybe deferred while in use). */
void vmbus__gpadl_start_teardown(struct vmbus_host *s, struct vmbus_gpadl *g, bool send_torndown);
/* Releases every GPADL of relid (0 = all) without telling the guest. */
void vmbus__gpadl_release_all(struct vmbus_host *s, uint32_t relid);
void vmbus__gpadl_free_all(struct vmbus_host *s);
/* Checks the complete u64 stream of g against RAM and limits and builds its
 * range table (frees the stream). 0 or -EINVAL/-ENOMEM with *why set. */
int vmbus__gpadl_finish(struct vmbus_host *s, struct vmbus_gpadl *g, const char **why);

#endif
