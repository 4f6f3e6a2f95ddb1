/* SPDX-License-Identifier: MIT */
/*
 * A hostile guest against the VMBus control plane: truncated, unknown and
 * out-of-order messages, GPADLs outside RAM or with inconsistent ranges,
 * extra bodies, opens of unknown or busy channels, teardown of a ring in use,
 * limits. Each time the library survives, only the named channel fails, the
 * reason is reported, and a second, well-behaved channel keeps working.
 */
#include "sim_guest.h"

struct world {
	struct sim sim;
	uint32_t bad, good; /* relids */
	uint32_t good_ring; /* open ring GPADL of `good` */
};

static void world_init_cfg(struct world *w, const struct vmbus_host_config *cfg)
{
	sim_init_cfg(&w->sim, cfg);
	w->bad = sim_offer(&w->sim, HV_GUID_SCSI, 1, 0);
	w->good = sim_offer(&w->sim, HV_GUID_NET, 2, 0);
	ASSERT_EQ(sim_connect(&w->sim), VMBUS_VERSION_WIN10_V5_3);
	ASSERT_EQ(sim_request_offers(&w->sim), 2);
	ASSERT_EQ(sim_gpadl(&w->sim, w->good, 10, 8, &w->good_ring), 0);
	ASSERT_EQ(sim_open(&w->sim, w->good, w->good_ring, 4, 0), 0);
	w->sim.nerrors = 0;
}

static void world_init(struct world *w)
{
	struct vmbus_host_config cfg;
	sim_default_config(&cfg);
	world_init_cfg(w, &cfg);
}

/* The good channel is still open and usable; the connection still answers. */
static void world_check(struct world *w)
{
	struct sim_inspect si = sim_inspect(&w->sim, w->good);
	uint32_t id;

	ASSERT_EQ(si.conn.state, VMBUS_CONN_CONNECTED);
	ASSERT_EQ(si.chan.state, VMBUS_CHAN_OPEN);
	ASSERT_EQ(si.chan.counters.errors, 0);
	ASSERT_EQ(sim_gpadl(&w->sim, w->good, 20, 3, &id), 0);
	sim_teardown(&w->sim, w->good, id);
	sim_expect_none(&w->sim);
}

static void world_fini(struct world *w)
{
	world_check(w);
	sim_unload(&w->sim);
	sim_fini(&w->sim);
}

static void expect_error(struct world *w, const char *needle)
{
	ASSERT_GT(w->sim.nerrors, 0);
	if (!strstr(w->sim.last_error, needle))
		TEST_FAIL_("reason \"%s\" lacks \"%s\"", w->sim.last_error, needle);
}

/* Every guest message type, one byte short of its minimum: dropped, reported. */
static void test_truncated(void)
{
	struct world w;
	uint8_t buf[VMBUS_MSG_MAX];

	world_init(&w);
	for (uint32_t t = 0; t < _VMBUS_MSG_MAX; t++) {
		size_t min = vmbus_msg_min_len(t);
		if (!min)
			continue;
		memset(buf, 0, sizeof(buf));
		memcpy(buf, &t, 4);
		/* Point at real objects so a decoder that ignored the length would act. */
		uint32_t relid = w.good, gpadl = w.good_ring;
		if (min >= 12)
			memcpy(buf + 8, &relid, 4);
		if (min >= 16)
			memcpy(buf + 12, t == VMBUS_MSG_GPADL_TEARDOWN ? &gpadl : &relid, 4);
		unsigned before = w.sim.nerrors;
		ASSERT_EQ(sim_post(&w.sim, buf, min - 1), 0);
		ASSERT_EQ(w.sim.nerrors, before + 1);
		expect_error(&w, "shorter");
		sim_expect_none(&w.sim);
	}
	/* Shorter than the header itself, and empty. */
	ASSERT_EQ(sim_post(&w.sim, buf, 7), 0);
	expect_error(&w, "header");
	ASSERT_EQ(sim_post(&w.sim, NULL, 0), 0);
	sim_expect_none(&w.sim);
	/* Longer than a SynIC message: the hypercall itself fails. */
	uint8_t big[VMBUS_MSG_MAX + 1] = {0};
	ASSERT_EQ(sim_post(&w.sim, big, sizeof(big)), VMBUS_HV_STATUS_INVALID_PARAMETER);
	struct sim_inspect si = sim_inspect(&w.sim, 0);
	ASSERT_GE(si.conn.dropped, _VMBUS_MSG_MAX / 2);
	world_fini(&w);
}

static void test_unknown_types(void)
{
	/* Unknown numbers, host-only types, reserved-channel types Linux never uses. */
	static const uint32_t types[] = {
	    0,
	    VMBUS_MSG_OFFERCHANNEL,
	    VMBUS_MSG_RESCIND_CHANNELOFFER,
	    VMBUS_MSG_ALLOFFERS_DELIVERED,
	    VMBUS_MSG_OPENCHANNEL_RESULT,
	    VMBUS_MSG_GPADL_CREATED,
	    VMBUS_MSG_GPADL_TORNDOWN,
	    VMBUS_MSG_VERSION_RESPONSE,
	    VMBUS_MSG_UNLOAD_RESPONSE,
	    18,
	    19,
	    20,
	    23,
	    24,
	    25,
	    29,
	    30,
	    1000,
	    0x80000000u,
	    0xffffffffu,
	};
	struct world w;
	uint8_t buf[VMBUS_MSG_MAX] = {0};

	world_init(&w);
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		memcpy(buf, &types[i], 4);
		unsigned before = w.sim.nerrors;
		ASSERT_EQ(sim_post(&w.sim, buf, sizeof(buf)), 0);
		ASSERT_EQ(w.sim.nerrors, before + 1);
		sim_expect_none(&w.sim);
	}
	expect_error(&w, "unknown message type");
	world_fini(&w);
}

static void test_wrong_connection_state(void)
{
	struct sim sim;
	struct vmbus_msg_hdr ro = {.msgtype = VMBUS_MSG_REQUESTOFFERS};

	sim_init(&sim);
	sim_offer(&sim, HV_GUID_SCSI, 1, 0);
	/* Before INITIATE_CONTACT: dropped. */
	sim.msg_conn_id = 1;
	ASSERT_EQ(sim_post(&sim, &ro, sizeof(ro)), 0);
	sim_expect_none(&sim);
	ASSERT_TRUE(strstr(sim.last_error, "disconnected"));
	/* 5.0+ on connection id 1, < 5.0 on connection id 4: refused. */
	struct vmbus_msg_initiate_contact ic = {
	    .hdr.msgtype = VMBUS_MSG_INITIATE_CONTACT,
	    .version_requested = VMBUS_VERSION_WIN10_V5_3,
	    .interrupt_page_or_target = VMBUS_MESSAGE_SINT,
	};
	ASSERT_EQ(vmbus_host_post(sim.s, 1, &ic, sizeof(ic)), 0);
	ASSERT_EQ(sim_expect(&sim, VMBUS_MSG_VERSION_RESPONSE)->u.version.version_supported, 0);
	ic.version_requested = VMBUS_VERSION_WIN10;
	ASSERT_EQ(vmbus_host_post(sim.s, 4, &ic, sizeof(ic)), 0);
	ASSERT_EQ(sim_expect(&sim, VMBUS_MSG_VERSION_RESPONSE)->u.version.version_supported, 0);
	/* SINT other than 2, a VTL, one monitor page only, a VP that does not exist. */
	ic.version_requested = VMBUS_VERSION_WIN10_V5_3;
	ic.interrupt_page_or_target = 7;
	ASSERT_EQ(vmbus_host_post(sim.s, 4, &ic, sizeof(ic)), 0);
	ASSERT_EQ(sim_expect(&sim, VMBUS_MSG_VERSION_RESPONSE)->u.version.version_supported, 0);
	ic.interrupt_page_or_target = VMBUS_MESSAGE_SINT | (2u << 8);
	ASSERT_EQ(vmbus_host_post(sim.s, 4, &ic, sizeof(ic)), 0);
	ASSERT_EQ(sim_expect(&sim, VMBUS_MSG_VERSION_RESPONSE)->u.version.version_supported, 0);
	ic.interrupt_page_or_target = VMBUS_MESSAGE_SINT;
	ic.monitor_page1 = 0x1000;
	ASSERT_EQ(vmbus_host_post(sim.s, 4, &ic, sizeof(ic)), 0);
	ASSERT_EQ(sim_expect(&sim, VMBUS_MSG_VERSION_RESPONSE)->u.version.version_supported, 0);
	ic.monitor_page1 = 0;
	ic.target_vcpu = 99;
	ASSERT_EQ(vmbus_host_post(sim.s, 4, &ic, sizeof(ic)), 0);
	struct sim_msg *m = sim_expect(&sim, VMBUS_MSG_VERSION_RESPONSE);
	ASSERT_EQ(m->u.version.version_supported, 0);
	ASSERT_EQ(m->vp, 0);
	ASSERT_EQ(sim_inspect(&sim, 0).conn.state, VMBUS_CONN_DISCONNECTED);

	/* Connected: a non-contact message on connection id 4 is dropped. */
	ASSERT_EQ(sim_connect(&sim), VMBUS_VERSION_WIN10_V5_3);
	ASSERT_EQ(vmbus_host_post(sim.s, 4, &ro, sizeof(ro)), 0);
	sim_expect_none(&sim);
	/* Host messages go to the VP the guest named. */
	sim_unload(&sim);
	ASSERT_EQ(sim_post_contact(&sim, VMBUS_VERSION_WIN10_V5_3, 3), 0);
	ASSERT_EQ(sim_expect(&sim, VMBUS_MSG_VERSION_RESPONSE)->vp, 3);
	ASSERT_EQ(sim_post(&sim, &ro, sizeof(ro)), 0);
	ASSERT_EQ(sim_expect(&sim, VMBUS_MSG_OFFERCHANNEL)->vp, 3);
	ASSERT_EQ(sim_expect(&sim, VMBUS_MSG_ALLOFFERS_DELIVERED)->vp, 3);
	/* UNLOAD while disconnected is answered at once. */
	sim_unload(&sim);
	sim_unload(&sim);
	sim_fini(&sim);
}

/* Posts a GPADL_HEADER built by hand; returns the number of u64 it carried. */
static void post_header(struct sim *sim, uint32_t relid, uint32_t id, uint16_t buflen,
			uint16_t nranges, const uint64_t *data, uint32_t n)
{
	uint8_t buf[VMBUS_MSG_MAX];
	struct vmbus_msg_gpadl_header h = {
	    .hdr.msgtype = VMBUS_MSG_GPADL_HEADER,
	    .child_relid = relid,
	    .gpadl = id,
	    .range_buflen = buflen,
	    .rangecount = nranges,
	};
	ASSERT_LE(n, VMBUS_GPADL_HEADER_MAX_U64);
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), data, n * 8u);
	ASSERT_EQ(sim_post(sim, buf, sizeof(h) + n * 8u), 0);
}

static void post_body(struct sim *sim, uint32_t id, const uint64_t *data, uint32_t n)
{
	uint8_t buf[VMBUS_MSG_MAX];
	struct vmbus_msg_gpadl_body b = {.hdr.msgtype = VMBUS_MSG_GPADL_BODY, .gpadl = id};
	ASSERT_LE(n, VMBUS_GPADL_BODY_MAX_U64);
	memcpy(buf, &b, sizeof(b));
	memcpy(buf + sizeof(b), data, n * 8u);
	ASSERT_EQ(sim_post(sim, buf, sizeof(b) + n * 8u), 0);
}

static uint64_t range_hdr(uint32_t count, uint32_t offset)
{
	return (uint64_t)count | (uint64_t)offset << 32;
}

static void expect_created(struct world *w, uint32_t id, bool ok)
{
	struct sim_msg *m = sim_expect(&w->sim, VMBUS_MSG_GPADL_CREATED);
	ASSERT_EQ(m->u.created.gpadl, id);
	if (ok)
		ASSERT_EQ(m->u.created.creation_status, 0);
	else
		ASSERT_NE(m->u.created.creation_status, 0);
}

static void test_gpadl_hostile(void)
{
	struct world w;
	uint64_t d[40];
	uint32_t id;

	world_init(&w);

	/* PFN beyond the end of RAM, in a body: fails at the last body. */
	uint64_t pfns[60];
	for (int i = 0; i < 60; i++)
		pfns[i] = 100 + i;
	pfns[45] = SIM_RAM_PAGES; /* first page past RAM */
	id = sim_post_gpadl(&w.sim, w.bad, pfns, 60);
	expect_created(&w, id, false);
	expect_error(&w, "PFN outside guest RAM");
	ASSERT_EQ(w.sim.last_error_relid, w.bad);
	/* Huge PFN whose GPA would overflow. */
	pfns[45] = UINT64_MAX;
	id = sim_post_gpadl(&w.sim, w.bad, pfns, 60);
	expect_created(&w, id, false);
	ASSERT_EQ(sim_count(&w.sim, "gpadl", w.bad), 0);

	/* Range sizes that overflow or disagree with range_buflen. */
	d[0] = range_hdr(0xffffffffu, 0xfff); /* ~1M pages from 1 PFN */
	d[1] = 100;
	post_header(&w.sim, w.bad, 0x100, 16, 1, d, 2);
	expect_created(&w, 0x100, false);
	expect_error(&w, "more PFNs than range_buflen");
	d[0] = range_hdr(4096, 4096); /* offset past the first page */
	post_header(&w.sim, w.bad, 0x101, 24, 1, d, 3);
	expect_created(&w, 0x101, false);
	expect_error(&w, "byte_offset");
	d[0] = range_hdr(0, 0);
	post_header(&w.sim, w.bad, 0x102, 16, 1, d, 2);
	expect_created(&w, 0x102, false);
	d[0] = range_hdr(4096, 0);
	d[1] = 100;
	d[2] = 101; /* one PFN more than the range covers */
	post_header(&w.sim, w.bad, 0x103, 24, 1, d, 3);
	expect_created(&w, 0x103, false);
	expect_error(&w, "after the last range");
	post_header(&w.sim, w.bad, 0x104, 20, 1, d, 2); /* not a multiple of 8 */
	expect_created(&w, 0x104, false);
	post_header(&w.sim, w.bad, 0x105, 16, 0, d, 2); /* no ranges */
	expect_created(&w, 0x105, false);
	post_header(&w.sim, w.bad, 0x106, 16, 2, d, 2); /* 2 ranges in 16 bytes */
	expect_created(&w, 0x106, false);
	expect_error(&w, "inconsistent");
	/* Two ranges, the second cut short. */
	d[0] = range_hdr(4096, 0);
	d[1] = 100;
	d[2] = range_hdr(8192, 0);
	d[3] = 101;
	post_header(&w.sim, w.bad, 0x107, 32, 2, d, 4);
	expect_created(&w, 0x107, false);
	/* ... and done right: two ranges, one with an offset. */
	d[2] = range_hdr(8000, 100);
	d[4] = 102;
	post_header(&w.sim, w.bad, 0x108, 40, 2, d, 5);
	expect_created(&w, 0x108, true);
	ASSERT_EQ(sim_count(&w.sim, "gpadl", w.bad), 1);

	/* Not a ring: one range with an offset cannot be opened. */
	ASSERT_NE(sim_open(&w.sim, w.bad, 0x108, 1, 0), 0);
	expect_error(&w, "whole-page");

	/* Body for a GPADL nobody started; body after the last one. */
	d[0] = 5;
	post_body(&w.sim, 0xdead, d, 1);
	sim_expect_none(&w.sim);
	expect_error(&w, "not being assembled");
	ASSERT_EQ(sim_gpadl(&w.sim, w.bad, 100, 30, &id), 0); /* header + 1 body */
	post_body(&w.sim, id, d, 28);			      /* one body too many */
	sim_expect_none(&w.sim);
	expect_error(&w, "not being assembled");
	ASSERT_EQ(sim_inspect(&w.sim, id).gpadl.state, VMBUS_GPADL_CREATED);

	/* An empty body fails that GPADL. */
	uint64_t many[60];
	for (int i = 0; i < 60; i++)
		many[i] = 300 + i;
	post_header(&w.sim, w.bad, 0x200, 8 + 60 * 8, 1, (uint64_t[]){range_hdr(60 * 4096, 0)}, 1);
	sim_expect_none(&w.sim);
	ASSERT_EQ(sim_inspect(&w.sim, 0x200).gpadl.state, VMBUS_GPADL_ASSEMBLING);
	post_body(&w.sim, 0x200, many, 28);
	post_body(&w.sim, 0x200, many, 0);
	expect_created(&w, 0x200, false);
	expect_error(&w, "empty");
	/* Trailing padding in the last body is ignored (some guests post 240 bytes). */
	post_header(&w.sim, w.bad, 0x201, 8 + 30 * 8, 1, (uint64_t[]){range_hdr(30 * 4096, 0)}, 1);
	post_body(&w.sim, 0x201, many, 28);
	post_body(&w.sim, 0x201, many + 28, 28);
	expect_created(&w, 0x201, true);
	ASSERT_EQ(sim_inspect(&w.sim, 0x201).gpadl.page_count, 30);

	/* Duplicate id, unknown relid, another channel's GPADL. */
	ASSERT_NE(sim_gpadl(&w.sim, w.bad, 100, 2, &id), 0xffff);
	d[0] = range_hdr(4096, 0);
	d[1] = 100;
	post_header(&w.sim, w.bad, id, 16, 1, d, 2);
	expect_created(&w, id, false);
	expect_error(&w, "already in use");
	post_header(&w.sim, 999, 0x300, 16, 1, d, 2);
	expect_created(&w, 0x300, false);
	post_header(&w.sim, 0, 0x301, 16, 1, d, 2);
	expect_created(&w, 0x301, false);
	sim_post_teardown(&w.sim, w.bad, w.good_ring);
	sim_expect_none(&w.sim);
	expect_error(&w, "unknown on this channel");
	ASSERT_EQ(sim_inspect(&w.sim, w.good_ring).gpadl.state, VMBUS_GPADL_CREATED);

	struct sim_inspect si = sim_inspect(&w.sim, w.bad);
	ASSERT_GE(si.chan.counters.gpadl_failures, 10);
	ASSERT_GE(si.chan.counters.errors, 10);
	world_fini(&w);
}

static void test_gpadl_limits(void)
{
	struct vmbus_host_config cfg;
	struct world w;
	uint64_t d[2] = {range_hdr(4096, 0), 100};
	uint32_t id;

	sim_default_config(&cfg);
	cfg.max_gpadls_per_channel = 4;
	cfg.max_pending_gpadls = 2;
	cfg.max_gpadl_pages = 64;
	world_init_cfg(&w, &cfg);

	/* Pages per GPADL. */
	post_header(&w.sim, w.bad, 0x10, 8 + 65 * 8, 1, d, 1);
	expect_created(&w, 0x10, false);
	expect_error(&w, "more pages");
	ASSERT_EQ(sim_gpadl(&w.sim, w.bad, 100, 64, &id), 0);
	sim_teardown(&w.sim, w.bad, id);

	/* GPADLs waiting for bodies. */
	post_header(&w.sim, w.bad, 0x20, 8 + 40 * 8, 1, d, 1);
	post_header(&w.sim, w.bad, 0x21, 8 + 40 * 8, 1, d, 1);
	post_header(&w.sim, w.bad, 0x22, 8 + 40 * 8, 1, d, 1);
	expect_created(&w, 0x22, false);
	expect_error(&w, "waiting for bodies");
	/* Unfinished GPADLs cannot be torn down, and do not block other channels. */
	sim_post_teardown(&w.sim, w.bad, 0x20);
	sim_expect_none(&w.sim);
	expect_error(&w, "still being assembled");

	/* GPADLs per channel (two are pending); complete ones are not "pending". */
	post_header(&w.sim, w.bad, 0x30, 16, 1, d, 2);
	expect_created(&w, 0x30, true);
	post_header(&w.sim, w.bad, 0x31, 16, 1, d, 2);
	expect_created(&w, 0x31, true);
	post_header(&w.sim, w.bad, 0x32, 16, 1, d, 2);
	expect_created(&w, 0x32, false);
	expect_error(&w, "too many GPADLs on this channel");
	ASSERT_EQ(sim_inspect(&w.sim, w.bad).chan.counters.gpadl_failures, 3);

	/* UNLOAD drops the half-built ones too. */
	world_check(&w);
	sim_unload(&w.sim);
	ASSERT_EQ(sim_inspect(&w.sim, 0).ngpadl, 0);
	sim_fini(&w.sim);
}

static void test_open_hostile(void)
{
	struct world w;
	uint32_t ring, small;

	world_init(&w);
	ASSERT_EQ(sim_gpadl(&w.sim, w.bad, 100, 16, &ring), 0);

	/* Unknown relids get a failed OPEN_RESULT naming them. */
	ASSERT_NE(sim_open(&w.sim, 77, ring, 8, 0), 0);
	expect_error(&w, "unknown relid 77");
	ASSERT_NE(sim_open(&w.sim, 0, ring, 8, 0), 0);
	ASSERT_NE(sim_open(&w.sim, 5000, ring, 8, 0), 0);
	/* Rings that are not there or do not fit. */
	ASSERT_NE(sim_open(&w.sim, w.bad, 0x999, 8, 0), 0);
	expect_error(&w, "unknown on this channel");
	ASSERT_NE(sim_open(&w.sim, w.bad, w.good_ring, 4, 0), 0); /* other channel's */
	ASSERT_NE(sim_open(&w.sim, w.bad, ring, 0, 0), 0);
	ASSERT_NE(sim_open(&w.sim, w.bad, ring, 1, 0), 0);
	ASSERT_NE(sim_open(&w.sim, w.bad, ring, 15, 0), 0);
	ASSERT_NE(sim_open(&w.sim, w.bad, ring, 0xffffffffu, 0), 0);
	expect_error(&w, "downstream");
	ASSERT_NE(sim_open(&w.sim, w.bad, ring, 8, 4), 0); /* vp_count is 4 */
	expect_error(&w, "target VP");
	ASSERT_EQ(sim_gpadl(&w.sim, w.bad, 200, 3, &small), 0);
	ASSERT_NE(sim_open(&w.sim, w.bad, small, 2, 0), 0);
	ASSERT_EQ(sim_gpadl(&w.sim, w.bad, 210, 1, &small), 0);
	ASSERT_NE(sim_open(&w.sim, w.bad, small, 2, 0), 0); /* 1 page: 1 - 2 must not wrap */
	ASSERT_EQ(sim_count(&w.sim, "open", w.bad), 0);

	/* Double open: refused, the first open stays. */
	ASSERT_EQ(sim_open(&w.sim, w.bad, ring, 8, 1), 0);
	ASSERT_NE(sim_open(&w.sim, w.bad, ring, 8, 1), 0);
	expect_error(&w, "while the channel is open");
	ASSERT_EQ(sim_inspect(&w.sim, w.bad).chan.state, VMBUS_CHAN_OPEN);
	ASSERT_EQ(sim_count(&w.sim, "open", w.bad), 1);

	/* Teardown of the ring in use: deferred, no TORNDOWN until the close. */
	sim_post_teardown(&w.sim, w.bad, ring);
	sim_expect_none(&w.sim);
	expect_error(&w, "deferred until the channel closes");
	ASSERT_EQ(w.sim.last_error_relid, w.bad);
	ASSERT_EQ(sim_inspect(&w.sim, ring).gpadl.state, VMBUS_GPADL_TEARDOWN_DEFERRED);
	ASSERT_EQ(sim_count(&w.sim, "teardown", w.bad), 0);
	sim_post_teardown(&w.sim, w.bad, ring); /* repeated */
	sim_expect_none(&w.sim);
	expect_error(&w, "repeated");
	/* The ring cannot be reused for a new open meanwhile. */
	sim_post_relid(&w.sim, VMBUS_MSG_CLOSECHANNEL, w.bad);
	ASSERT_EQ(sim_count(&w.sim, "teardown", w.bad), 1);
	ASSERT_EQ(sim_expect(&w.sim, VMBUS_MSG_GPADL_TORNDOWN)->u.torndown.gpadl, ring);
	ASSERT_NE(sim_open(&w.sim, w.bad, ring, 8, 0), 0);

	/* Close of a closed channel, of an unknown one; modify of a closed one. */
	sim_post_relid(&w.sim, VMBUS_MSG_CLOSECHANNEL, w.bad);
	sim_expect_none(&w.sim);
	expect_error(&w, "CLOSECHANNEL while the channel is closed");
	sim_post_relid(&w.sim, VMBUS_MSG_CLOSECHANNEL, 1234);
	expect_error(&w, "unknown relid");
	struct vmbus_msg_modify_channel mc = {
	    .hdr.msgtype = VMBUS_MSG_MODIFYCHANNEL, .child_relid = w.bad, .target_vp = 1};
	ASSERT_EQ(sim_post(&w.sim, &mc, sizeof(mc)), 0);
	ASSERT_NE(sim_expect(&w.sim, VMBUS_MSG_MODIFYCHANNEL_RESPONSE)->u.modify.status, 0);
	mc.child_relid = w.good;
	mc.target_vp = 100;
	ASSERT_EQ(sim_post(&w.sim, &mc, sizeof(mc)), 0);
	ASSERT_NE(sim_expect(&w.sim, VMBUS_MSG_MODIFYCHANNEL_RESPONSE)->u.modify.status, 0);
	/* That refusal was the good channel's own fault; reset its count for world_check. */
	w.sim.nerrors = 0;

	/* RELID_RELEASED for a relid never rescinded. */
	sim_post_relid(&w.sim, VMBUS_MSG_RELID_RELEASED, w.bad);
	expect_error(&w, "not rescinded");
	ASSERT_TRUE(sim_inspect(&w.sim, w.bad).found);

	/* hv_sock connect: refused with a result. */
	struct vmbus_msg_tl_connect_request tl = {.hdr.msgtype = VMBUS_MSG_TL_CONNECT_REQUEST};
	tl.host_service_id.b[0] = 9;
	ASSERT_EQ(sim_post(&w.sim, &tl, sizeof(tl)), 0);
	struct sim_msg *m = sim_expect(&w.sim, VMBUS_MSG_TL_CONNECT_RESULT);
	ASSERT_EQ(m->u.tl.host_service_id.b[0], 9);
	ASSERT_NE(m->u.tl.status, 0);

	struct sim_inspect si = sim_inspect(&w.sim, w.good);
	ASSERT_EQ(si.chan.counters.errors, 1); /* the VP 100 modify */
	sim_unload(&w.sim);
	sim_fini(&w.sim);
}

/* Rescind races: while opening, and before the guest ever saw the offer. */
static void test_rescind_races(void)
{
	struct world w;
	uint32_t ring;

	world_init(&w);
	ASSERT_EQ(sim_gpadl(&w.sim, w.bad, 100, 8, &ring), 0);
	w.sim.open_ret = VMBUS_PENDING;
	sim_post_open(&w.sim, w.bad, ring, 4, 0);
	ASSERT_OK(vmbus_host_rescind(w.sim.s, w.bad));
	sim_expect(&w.sim, VMBUS_MSG_RESCIND_CHANNELOFFER);
	vmbus_host_open_complete(w.sim.s, w.bad, 0);
	sim_expect_none(&w.sim); /* no OPEN_RESULT for a rescinded channel */
	ASSERT_EQ(sim_count(&w.sim, "close", w.bad), 1);
	/* Open of the rescinded channel: ignored. */
	w.sim.open_ret = 0;
	sim_post_open(&w.sim, w.bad, ring, 4, 0);
	sim_expect_none(&w.sim);
	/* The guest tears down and releases. */
	sim_teardown(&w.sim, w.bad, ring);
	sim_post_relid(&w.sim, VMBUS_MSG_RELID_RELEASED, w.bad);
	ASSERT_FALSE(sim_inspect(&w.sim, w.bad).found);

	/* Offered and withdrawn before the guest asked: no RESCIND at all. */
	uint32_t quiet = sim_offer(&w.sim, HV_GUID_IC_KVP, 7, 0);
	sim_expect(&w.sim, VMBUS_MSG_OFFERCHANNEL); /* the guest already asked */
	sim_unload(&w.sim);
	ASSERT_OK(vmbus_host_rescind(w.sim.s, quiet));
	sim_expect_none(&w.sim);
	ASSERT_FALSE(sim_inspect(&w.sim, quiet).found);
	sim_fini(&w.sim);
}

int main(void)
{
	test_truncated();
	test_unknown_types();
	test_wrong_connection_state();
	test_gpadl_hostile();
	test_gpadl_limits();
	test_open_hostile();
	test_rescind_races();
	printf("ok\n");
	return 0;
}
