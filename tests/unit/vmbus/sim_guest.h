/* SPDX-License-Identifier: MIT */
/*
 * A simulated Linux 6.1 hv_vmbus guest and a recording device side, driving
 * the VMBus control-plane library through its public API only. The guest
 * follows the Linux sequence (REFERENCES.md 2(c)): INITIATE_CONTACT newest
 * version first with fallback, REQUESTOFFERS, GPADL header + bodies (26 PFNs
 * in the header, 28 per body), OPENCHANNEL, CLOSECHANNEL, GPADL_TEARDOWN,
 * UNLOAD. Host messages are queued as a SynIC slot would deliver them, and
 * checked against the minimum lengths Linux enforces.
 */
#ifndef MHCL_TEST_VMBUS_SIM_GUEST_H
#define MHCL_TEST_VMBUS_SIM_GUEST_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "test.h"
#include "vmbus.h"

#define SIM_RAM_PAGES 4096u /* 16 MiB of guest RAM at GPA 0 */
#define SIM_QLEN 512
#define SIM_MAX_EVENTS 256

struct sim_msg {
	uint32_t vp;
	uint32_t len;
	union {
		uint8_t b[VMBUS_MSG_MAX];
		struct vmbus_msg_hdr hdr;
		struct vmbus_msg_version_response version;
		struct vmbus_msg_offer_channel offer;
		struct vmbus_msg_relid relid;
		struct vmbus_msg_open_result open_result;
		struct vmbus_msg_gpadl_created created;
		struct vmbus_msg_gpadl_torndown torndown;
		struct vmbus_msg_modify_channel_response modify;
		struct vmbus_msg_tl_connect_result tl;
	} u;
};

struct sim_event {
	char kind[16]; /* "open", "close", "gpadl", "teardown", "modify" */
	uint32_t relid, id, a, b;
};

struct sim {
	struct vmbus_host *s;
	struct sim_msg q[SIM_QLEN];
	unsigned qhead, qtail;

	/* Device side. */
	int open_ret, close_ret, teardown_ret, modify_ret; /* what the callbacks return */
	struct vmbus_open_info last_open;
	uint64_t last_open_pfns[1024];
	uint64_t last_gpadl_pfns[1024];
	uint32_t last_gpadl_pages;
	struct sim_event ev[SIM_MAX_EVENTS];
	unsigned nev;
	char last_error[256];
	uint32_t last_error_relid;
	unsigned nerrors;
	uint32_t conn_version; /* from the connection callback */

	/* Guest side. */
	uint32_t version;
	uint32_t msg_conn_id;
	uint32_t next_gpadl;
	struct vmbus_msg_offer_channel offers[64];
	unsigned noffers;
};

static inline void sim_event(struct sim *sim, const char *kind, uint32_t relid, uint32_t id,
			     uint32_t a, uint32_t b)
{
	ASSERT_LT(sim->nev, SIM_MAX_EVENTS);
	struct sim_event *e = &sim->ev[sim->nev++];
	snprintf(e->kind, sizeof(e->kind), "%s", kind);
	e->relid = relid;
	e->id = id;
	e->a = a;
	e->b = b;
}

/* Number of recorded device events of `kind` for relid (0 = any). */
static inline unsigned sim_count(const struct sim *sim, const char *kind, uint32_t relid)
{
	unsigned n = 0;
	for (unsigned i = 0; i < sim->nev; i++)
		if (!strcmp(sim->ev[i].kind, kind) && (!relid || sim->ev[i].relid == relid))
			n++;
	return n;
}

static inline void cb_post(void *ctx, uint32_t vp, const void *msg, size_t len)
{
	struct sim *sim = ctx;
	ASSERT_LE(len, VMBUS_MSG_MAX);
	ASSERT_GE(len, sizeof(struct vmbus_msg_hdr));
	ASSERT_LT(sim->qtail - sim->qhead, SIM_QLEN);
	struct sim_msg *m = &sim->q[sim->qtail++ % SIM_QLEN];
	memset(m, 0, sizeof(*m));
	m->vp = vp;
	m->len = (uint32_t)len;
	memcpy(m->u.b, msg, len);
}

static inline int cb_open(void *ctx, const struct vmbus_open_info *info)
{
	struct sim *sim = ctx;
	sim->last_open = *info;
	ASSERT_LE(info->page_count, 1024);
	memcpy(sim->last_open_pfns, info->pfns, info->page_count * sizeof(uint64_t));
	sim->last_open.pfns = sim->last_open_pfns;
	sim_event(sim, "open", info->relid, info->gpadl_id, info->target_vp, info->downstream_page);
	return sim->open_ret;
}

static inline int cb_close(void *ctx, uint32_t relid)
{
	struct sim *sim = ctx;
	sim_event(sim, "close", relid, 0, 0, 0);
	return sim->close_ret;
}

static inline int cb_modify(void *ctx, uint32_t relid, uint32_t vp)
{
	struct sim *sim = ctx;
	sim_event(sim, "modify", relid, 0, vp, 0);
	return sim->modify_ret;
}

static inline void cb_gpadl(void *ctx, const struct vmbus_gpadl_view *g)
{
	struct sim *sim = ctx;
	sim_event(sim, "gpadl", g->relid, g->gpadl_id, g->page_count, g->range_count);
	if (g->page_count <= 1024) {
		memcpy(sim->last_gpadl_pfns, g->pfns, g->page_count * sizeof(uint64_t));
		sim->last_gpadl_pages = g->page_count;
	}
}

static inline int cb_teardown(void *ctx, uint32_t relid, uint32_t id)
{
	struct sim *sim = ctx;
	sim_event(sim, "teardown", relid, id, 0, 0);
	return sim->teardown_ret;
}

static inline void cb_error(void *ctx, uint32_t relid, int err, const char *reason)
{
	struct sim *sim = ctx;
	ASSERT_LT(err, 0);
	ASSERT_TRUE(reason && *reason);
	snprintf(sim->last_error, sizeof(sim->last_error), "%s", reason);
	sim->last_error_relid = relid;
	sim->nerrors++;
	if (getenv("SIM_VERBOSE"))
		fprintf(stderr, "  vmbus error relid %u: %s\n", relid, reason);
}

static inline void cb_connection(void *ctx, uint32_t version)
{
	((struct sim *)ctx)->conn_version = version;
}

static inline const struct vmbus_host_ops *sim_ops(void)
{
	static const struct vmbus_host_ops ops = {
	    .post_msg = cb_post,
	    .channel_open = cb_open,
	    .channel_close = cb_close,
	    .channel_modify = cb_modify,
	    .gpadl_created = cb_gpadl,
	    .gpadl_teardown = cb_teardown,
	    .error = cb_error,
	    .connection = cb_connection,
	};
	return &ops;
}

static inline void sim_default_config(struct vmbus_host_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->ram.ranges[0] =
	    (struct guestmem_range){0, (uint64_t)SIM_RAM_PAGES * VMBUS_PAGE_SIZE, 0};
	cfg->ram.nranges = 1;
	cfg->vp_count = 4;
}

static inline void sim_init_cfg(struct sim *sim, const struct vmbus_host_config *cfg)
{
	memset(sim, 0, sizeof(*sim));
	sim->next_gpadl = 0xe1e10; /* where Linux starts its GPADL handles */
	ASSERT_OK(vmbus_host_new(cfg, sim_ops(), sim, &sim->s));
}

static inline void sim_init(struct sim *sim)
{
	struct vmbus_host_config cfg;
	sim_default_config(&cfg);
	sim_init_cfg(sim, &cfg);
}

static inline void sim_fini(struct sim *sim)
{
	sim->s = vmbus_host_free(sim->s);
}

static inline unsigned sim_pending(const struct sim *sim)
{
	return sim->qtail - sim->qhead;
}

/* Takes the next host message; fails the test if none or if it is shorter
 * than Linux 6.1 accepts for its type (channel_message_table min lengths). */
static inline struct sim_msg *sim_pop(struct sim *sim)
{
	static const uint32_t linux_min[] = {
	    [VMBUS_MSG_OFFERCHANNEL] = 196,	     [VMBUS_MSG_RESCIND_CHANNELOFFER] = 12,
	    [VMBUS_MSG_ALLOFFERS_DELIVERED] = 8,     [VMBUS_MSG_OPENCHANNEL_RESULT] = 20,
	    [VMBUS_MSG_GPADL_CREATED] = 20,	     [VMBUS_MSG_GPADL_TORNDOWN] = 12,
	    [VMBUS_MSG_VERSION_RESPONSE] = 16,	     [VMBUS_MSG_UNLOAD_RESPONSE] = 8,
	    [VMBUS_MSG_MODIFYCHANNEL_RESPONSE] = 16, [VMBUS_MSG_TL_CONNECT_RESULT] = 8,
	};
	ASSERT_GT(sim_pending(sim), 0);
	struct sim_msg *m = &sim->q[sim->qhead++ % SIM_QLEN];
	uint32_t t = m->u.hdr.msgtype;
	ASSERT_LT(t, sizeof(linux_min) / sizeof(linux_min[0]));
	ASSERT_NE(linux_min[t], 0); /* a type the host may send */
	ASSERT_GE(m->len, linux_min[t]);
	ASSERT_EQ(m->u.hdr.padding, 0);
	return m;
}

static inline struct sim_msg *sim_expect(struct sim *sim, uint32_t type)
{
	struct sim_msg *m = sim_pop(sim);
	if (m->u.hdr.msgtype != type)
		TEST_FAIL_("expected %s, got %s", vmbus_msg_type_to_string(type),
			   vmbus_msg_type_to_string(m->u.hdr.msgtype));
	return m;
}

static inline void sim_expect_none(struct sim *sim)
{
	if (sim_pending(sim))
		TEST_FAIL_("unexpected host message %s",
			   vmbus_msg_type_to_string(sim->q[sim->qhead % SIM_QLEN].u.hdr.msgtype));
}

/* Posts on the connection id a Linux guest would use now. */
static inline uint16_t sim_post(struct sim *sim, const void *msg, size_t len)
{
	return vmbus_host_post(sim->s, sim->msg_conn_id, msg, len);
}

static inline uint16_t sim_post_contact(struct sim *sim, uint32_t v, uint32_t vcpu)
{
	struct vmbus_msg_initiate_contact ic = {
	    .hdr.msgtype = VMBUS_MSG_INITIATE_CONTACT,
	    .version_requested = v,
	    .target_vcpu = vcpu,
	    .monitor_page1 = 0x100000,
	    .monitor_page2 = 0x101000,
	};
	uint32_t conn;

	if (v >= VMBUS_VERSION_WIN10_V5) {
		ic.interrupt_page_or_target = VMBUS_MESSAGE_SINT; /* msg_sint = 2, msg_vtl = 0 */
		conn = VMBUS_CONNID_MESSAGE_4;
	} else {
		ic.interrupt_page_or_target = 0x102000; /* legacy interrupt page */
		conn = VMBUS_CONNID_MESSAGE;
	}
	return vmbus_host_post(sim->s, conn, &ic, sizeof(ic));
}

/*
 * vmbus_negotiate_version() loop of Linux 6.1, optionally preceded by the
 * versions a current Windows guest tries first. Returns the accepted version
 * (0 if none) and the number of tries in *ret_tries.
 */
static inline uint32_t sim_connect_list(struct sim *sim, const uint32_t *versions, unsigned n,
					unsigned *ret_tries)
{
	unsigned tries = 0;

	for (unsigned i = 0; i < n; i++) {
		uint32_t v = versions[i];
		uint16_t st = sim_post_contact(sim, v, 0);
		tries++;
		if (st == VMBUS_HV_STATUS_INVALID_CONNECTION_ID)
			continue;
		ASSERT_EQ(st, VMBUS_HV_STATUS_SUCCESS);
		struct sim_msg *m = sim_expect(sim, VMBUS_MSG_VERSION_RESPONSE);
		ASSERT_EQ(m->vp, 0);
		if (!m->u.version.version_supported)
			continue;
		sim->version = v;
		sim->msg_conn_id =
		    v >= VMBUS_VERSION_WIN10_V5 ? m->u.version.msg_conn_id : VMBUS_CONNID_MESSAGE;
		if (ret_tries)
			*ret_tries = tries;
		return v;
	}
	if (ret_tries)
		*ret_tries = tries;
	return 0;
}

static const uint32_t sim_linux61_versions[] = {
    VMBUS_VERSION_WIN10_V5_3, VMBUS_VERSION_WIN10_V5_2, VMBUS_VERSION_WIN10_V5_1,
    VMBUS_VERSION_WIN10_V5,   VMBUS_VERSION_WIN10_V4_1, VMBUS_VERSION_WIN10,
    VMBUS_VERSION_WIN8_1,     VMBUS_VERSION_WIN8,
};

static inline uint32_t sim_connect(struct sim *sim)
{
	return sim_connect_list(sim, sim_linux61_versions,
				sizeof(sim_linux61_versions) / sizeof(sim_linux61_versions[0]),
				NULL);
}

/* REQUESTOFFERS, collecting offers up to ALLOFFERS_DELIVERED. */
static inline unsigned sim_request_offers(struct sim *sim)
{
	struct vmbus_msg_hdr h = {.msgtype = VMBUS_MSG_REQUESTOFFERS};
	ASSERT_EQ(sim_post(sim, &h, sizeof(h)), 0);
	sim->noffers = 0;
	for (;;) {
		struct sim_msg *m = sim_pop(sim);
		if (m->u.hdr.msgtype == VMBUS_MSG_ALLOFFERS_DELIVERED)
			break;
		ASSERT_EQ(m->u.hdr.msgtype, VMBUS_MSG_OFFERCHANNEL);
		ASSERT_LT(sim->noffers, 64);
		sim->offers[sim->noffers++] = m->u.offer;
	}
	sim_expect_none(sim);
	return sim->noffers;
}

/*
 * Posts the GPADL messages create_gpadl_header() builds for one range over
 * `pages` PFNs: a header with up to 26 PFNs, then bodies of up to 28.
 * Returns the handle; the caller collects GPADL_CREATED.
 */
static inline uint32_t sim_post_gpadl(struct sim *sim, uint32_t relid, const uint64_t *pfns,
				      uint32_t pages)
{
	uint8_t buf[VMBUS_MSG_MAX];
	uint32_t id = sim->next_gpadl++;
	uint32_t first = pages < 26 ? pages : 26, done;
	struct vmbus_msg_gpadl_header h = {
	    .hdr.msgtype = VMBUS_MSG_GPADL_HEADER,
	    .child_relid = relid,
	    .gpadl = id,
	    .range_buflen = (uint16_t)(sizeof(struct vmbus_gpa_range) + pages * 8u),
	    .rangecount = 1,
	};
	struct vmbus_gpa_range r = {.byte_count = pages * VMBUS_PAGE_SIZE, .byte_offset = 0};

	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), &r, sizeof(r));
	memcpy(buf + sizeof(h) + sizeof(r), pfns, first * 8u);
	ASSERT_EQ(sim_post(sim, buf, sizeof(h) + sizeof(r) + first * 8u), 0);
	for (done = first; done < pages;) {
		uint32_t n = pages - done < 28 ? pages - done : 28;
		struct vmbus_msg_gpadl_body b = {.hdr.msgtype = VMBUS_MSG_GPADL_BODY, .gpadl = id};
		memcpy(buf, &b, sizeof(b));
		memcpy(buf + sizeof(b), pfns + done, n * 8u);
		ASSERT_EQ(sim_post(sim, buf, sizeof(b) + n * 8u), 0);
		done += n;
	}
	return id;
}

/* Creates a GPADL over `pages` consecutive PFNs from first_pfn and returns
 * GPADL_CREATED's status; the handle goes to *ret_id. */
static inline uint32_t sim_gpadl(struct sim *sim, uint32_t relid, uint64_t first_pfn,
				 uint32_t pages, uint32_t *ret_id)
{
	uint64_t pfns[1024];
	ASSERT_LE(pages, 1024);
	for (uint32_t i = 0; i < pages; i++)
		pfns[i] = first_pfn + i;
	uint32_t id = sim_post_gpadl(sim, relid, pfns, pages);
	struct sim_msg *m = sim_expect(sim, VMBUS_MSG_GPADL_CREATED);
	ASSERT_EQ(m->u.created.child_relid, relid);
	ASSERT_EQ(m->u.created.gpadl, id);
	if (ret_id)
		*ret_id = id;
	return m->u.created.creation_status;
}

static inline void sim_post_open(struct sim *sim, uint32_t relid, uint32_t gpadl,
				 uint32_t downstream, uint32_t vp)
{
	struct vmbus_msg_open_channel o = {
	    .hdr.msgtype = VMBUS_MSG_OPENCHANNEL,
	    .child_relid = relid,
	    .openid = relid, /* Linux uses the relid */
	    .ringbuffer_gpadl = gpadl,
	    .target_vp = vp,
	    .downstream_ringbuffer_pageoffset = downstream,
	};
	ASSERT_EQ(sim_post(sim, &o, sizeof(o)), 0);
}

/* OPENCHANNEL and its OPEN_RESULT status. */
static inline uint32_t sim_open(struct sim *sim, uint32_t relid, uint32_t gpadl,
				uint32_t downstream, uint32_t vp)
{
	sim_post_open(sim, relid, gpadl, downstream, vp);
	struct sim_msg *m = sim_expect(sim, VMBUS_MSG_OPENCHANNEL_RESULT);
	ASSERT_EQ(m->u.open_result.child_relid, relid);
	ASSERT_EQ(m->u.open_result.openid, relid);
	return m->u.open_result.status;
}

static inline void sim_post_relid(struct sim *sim, uint32_t type, uint32_t relid)
{
	struct vmbus_msg_relid c = {.hdr.msgtype = type, .child_relid = relid};
	ASSERT_EQ(sim_post(sim, &c, sizeof(c)), 0);
}

static inline void sim_post_teardown(struct sim *sim, uint32_t relid, uint32_t gpadl)
{
	struct vmbus_msg_gpadl_teardown t = {
	    .hdr.msgtype = VMBUS_MSG_GPADL_TEARDOWN,
	    .child_relid = relid,
	    .gpadl = gpadl,
	};
	ASSERT_EQ(sim_post(sim, &t, sizeof(t)), 0);
}

static inline void sim_teardown(struct sim *sim, uint32_t relid, uint32_t gpadl)
{
	sim_post_teardown(sim, relid, gpadl);
	struct sim_msg *m = sim_expect(sim, VMBUS_MSG_GPADL_TORNDOWN);
	ASSERT_EQ(m->u.torndown.gpadl, gpadl);
}

static inline void sim_unload(struct sim *sim)
{
	struct vmbus_msg_hdr h = {.msgtype = VMBUS_MSG_UNLOAD};
	ASSERT_EQ(sim_post(sim, &h, sizeof(h)), 0);
	sim_expect(sim, VMBUS_MSG_UNLOAD_RESPONSE);
	sim->version = 0;
}

/* Registers an offer with the given class and a per-test instance byte. */
static inline uint32_t sim_offer(struct sim *sim, struct hv_guid type, uint8_t inst, uint16_t sub)
{
	struct vmbus_offer o = {.if_type = type, .sub_channel_index = sub};
	uint32_t relid = 0;
	o.if_instance.b[0] = inst;
	o.if_instance.b[15] = 0x5a;
	ASSERT_OK(vmbus_host_offer(sim->s, &o, &relid));
	ASSERT_GE(relid, 1);
	ASSERT_LE(relid, VMBUS_RELID_MAX);
	return relid;
}

/* Inspect helpers: the state of one channel / GPADL as reported. */
struct sim_inspect {
	uint32_t want;
	bool found;
	struct vmbus_conn_report conn;
	struct vmbus_chan_report chan;
	struct vmbus_gpadl_report gpadl;
	unsigned nchan, ngpadl;
};

static inline void si_conn(void *ctx, const struct vmbus_conn_report *r)
{
	((struct sim_inspect *)ctx)->conn = *r;
}

static inline void si_chan(void *ctx, const struct vmbus_chan_report *r)
{
	struct sim_inspect *si = ctx;
	si->nchan++;
	if (r->relid == si->want) {
		si->chan = *r;
		si->found = true;
	}
}

static inline void si_gpadl(void *ctx, const struct vmbus_gpadl_report *r)
{
	struct sim_inspect *si = ctx;
	si->ngpadl++;
	if (r->gpadl_id == si->want) {
		si->gpadl = *r;
		si->found = true;
	}
}

static inline struct sim_inspect sim_inspect(struct sim *sim, uint32_t want)
{
	static const struct vmbus_inspect_ops ops = {si_conn, si_chan, si_gpadl};
	struct sim_inspect si = {.want = want};
	vmbus_host_inspect(sim->s, &ops, &si);
	return si;
}

#endif
