/* SPDX-License-Identifier: MIT */
/*
 * The VMBus control plane against a simulated Linux 6.1 guest: version
 * negotiation and fallback, offers, GPADLs over several bodies, open, modify,
 * close, teardown, rescind, unload and reconnect; devices that answer later.
 */
#include "sim_guest.h"

static void test_negotiate_highest(void)
{
	struct sim sim;
	unsigned tries = 0;

	sim_init(&sim);
	ASSERT_EQ(sim_connect_list(&sim, sim_linux61_versions, 8, &tries),
		  VMBUS_VERSION_WIN10_V5_3);
	ASSERT_EQ(tries, 1);
	ASSERT_EQ(sim.msg_conn_id, VMBUS_CONNID_MESSAGE);
	ASSERT_EQ(sim.conn_version, VMBUS_VERSION_WIN10_V5_3);
	struct sim_inspect si = sim_inspect(&sim, 0);
	ASSERT_EQ(si.conn.state, VMBUS_CONN_CONNECTED);
	ASSERT_EQ(si.conn.version, VMBUS_VERSION_WIN10_V5_3);
	ASSERT_EQ(sim.nerrors, 0);
	sim_fini(&sim);
}

/* Every cap mhcl may be configured with: the guest walks down to it. */
static void test_fallback_each_version(void)
{
	for (unsigned cap = 0; cap < 8; cap++) {
		struct vmbus_host_config cfg;
		struct sim sim;
		unsigned tries = 0;

		sim_default_config(&cfg);
		cfg.max_version = sim_linux61_versions[cap];
		sim_init_cfg(&sim, &cfg);
		ASSERT_EQ(sim_connect_list(&sim, sim_linux61_versions, 8, &tries),
			  sim_linux61_versions[cap]);
		ASSERT_EQ(tries, cap + 1);
		/* Refusals are ordinary negotiation, not errors. */
		ASSERT_EQ(sim.nerrors, 0);
		/* The guest now talks on connection id 1 either way; offers work. */
		sim_offer(&sim, HV_GUID_SCSI, 1, 0);
		ASSERT_EQ(sim_request_offers(&sim), 1);
		sim_unload(&sim);
		sim_fini(&sim);
	}
}

/* A current Windows guest starts at 6.0 (Copper): honoured with no features. */
static void test_windows_copper(void)
{
	static const uint32_t windows[] = {VMBUS_VERSION_COPPER, VMBUS_VERSION_WIN10_V5_3};
	struct vmbus_host_config cfg;
	struct sim sim;
	unsigned tries;

	sim_init(&sim);
	/* Windows asks for features in bytes 20..23 (here: every flag). */
	struct vmbus_msg_initiate_contact ic = {
	    .hdr.msgtype = VMBUS_MSG_INITIATE_CONTACT,
	    .version_requested = VMBUS_VERSION_COPPER,
	    .interrupt_page_or_target = VMBUS_MESSAGE_SINT | 0xffffffffull << 32,
	};
	ASSERT_EQ(vmbus_host_post(sim.s, 4, &ic, sizeof(ic)), 0);
	struct sim_msg *m = sim_expect(&sim, VMBUS_MSG_VERSION_RESPONSE);
	ASSERT_EQ(m->len, sizeof(struct vmbus_msg_version_response2));
	ASSERT_EQ(m->u.version.version_supported, 1);
	ASSERT_EQ(m->u.version.msg_conn_id, VMBUS_CONNID_MESSAGE);
	uint32_t features;
	memcpy(&features, m->u.b + 16, 4);
	ASSERT_EQ(features, 0);
	sim.version = VMBUS_VERSION_COPPER;
	sim.msg_conn_id = VMBUS_CONNID_MESSAGE;
	uint32_t relid = sim_offer(&sim, HV_GUID_SCSI, 1, 0), ring;
	ASSERT_EQ(sim_request_offers(&sim), 1);
	ASSERT_EQ(sim_gpadl(&sim, relid, 10, 8, &ring), 0);
	ASSERT_EQ(sim_open(&sim, relid, ring, 4, 0), 0);
	sim_unload(&sim);
	sim_fini(&sim);

	/* Capped at 5.3: 6.0 is refused with the short response, 5.3 accepted. */
	sim_default_config(&cfg);
	cfg.max_version = VMBUS_VERSION_WIN10_V5_3;
	sim_init_cfg(&sim, &cfg);
	ASSERT_EQ(sim_connect_list(&sim, windows, 2, &tries), VMBUS_VERSION_WIN10_V5_3);
	ASSERT_EQ(tries, 2);
	sim_fini(&sim);

	/* Versions nobody honours any more are refused. */
	sim_init(&sim);
	static const uint32_t old[] = {VMBUS_VERSION_WIN7, VMBUS_VERSION_WS2008,
				       VMBUS_MAKE_VERSION(7, 0)};
	ASSERT_EQ(sim_connect_list(&sim, old, 3, &tries), 0);
	ASSERT_EQ(sim.q[(sim.qhead - 1) % SIM_QLEN].len, sizeof(struct vmbus_msg_version_response));
	sim_fini(&sim);
}

/* From 5.0 on the guest posts to the id returned in VERSION_RESPONSE. */
static void test_custom_message_connection_id(void)
{
	struct vmbus_host_config cfg;
	struct sim sim;
	struct vmbus_msg_hdr h = {.msgtype = VMBUS_MSG_REQUESTOFFERS};

	sim_default_config(&cfg);
	cfg.msg_conn_id = 0x800074;
	sim_init_cfg(&sim, &cfg);
	ASSERT_EQ(sim_connect(&sim), VMBUS_VERSION_WIN10_V5_3);
	ASSERT_EQ(sim.msg_conn_id, 0x800074);
	/* Posting to the pre-5.0 id now is dropped (logged), not answered. */
	ASSERT_EQ(vmbus_host_post(sim.s, VMBUS_CONNID_MESSAGE, &h, sizeof(h)), 0);
	sim_expect_none(&sim);
	ASSERT_TRUE(strstr(sim.last_error, "connection id 0x1,"));
	/* Ports that do not exist fail the hypercall. */
	ASSERT_EQ(vmbus_host_post(sim.s, 7, &h, sizeof(h)), VMBUS_HV_STATUS_INVALID_CONNECTION_ID);
	sim_offer(&sim, HV_GUID_NET, 1, 0);
	ASSERT_EQ(sim_request_offers(&sim), 1);
	sim_fini(&sim);
}

static void test_offers(void)
{
	struct sim sim;
	uint32_t scsi, net, hb, sub;

	sim_init(&sim);
	scsi = sim_offer(&sim, HV_GUID_SCSI, 1, 0);
	net = sim_offer(&sim, HV_GUID_NET, 2, 0);
	sub = sim_offer(&sim, HV_GUID_SCSI, 1, 1);
	hb = sim_offer(&sim, HV_GUID_IC_HEARTBEAT, 3, 0);
	ASSERT_EQ(scsi, 1);
	ASSERT_EQ(net, 2);
	ASSERT_EQ(sub, 3);
	ASSERT_EQ(hb, 4);

	/* No offer reaches a guest that did not ask. */
	ASSERT_EQ(sim_connect(&sim), VMBUS_VERSION_WIN10_V5_3);
	sim_expect_none(&sim);

	ASSERT_EQ(sim_request_offers(&sim), 4);
	/* Primaries first, then the subchannel. */
	const struct hv_guid want[] = {HV_GUID_SCSI, HV_GUID_NET, HV_GUID_IC_HEARTBEAT,
				       HV_GUID_SCSI};
	const uint32_t relids[] = {scsi, net, hb, sub};
	for (unsigned i = 0; i < 4; i++) {
		const struct vmbus_msg_offer_channel *o = &sim.offers[i];
		ASSERT_TRUE(!memcmp(&o->if_type, &want[i], sizeof(want[i])));
		ASSERT_EQ(o->child_relid, relids[i]);
		ASSERT_EQ(o->connection_id, VMBUS_EVENT_CONNID(relids[i]));
		ASSERT_LE(o->connection_id, VMBUS_CONNID_MAX);
		ASSERT_GT(o->connection_id, VMBUS_CONNID_MESSAGE_4);
		ASSERT_EQ(o->is_dedicated_interrupt, 1);
		ASSERT_EQ(o->monitor_allocated, 0);
		ASSERT_EQ(o->sub_channel_index, i == 3 ? 1 : 0);
	}
	/* Little-endian GUID fields on the wire: ba6163d9-04a1-... */
	ASSERT_EQ(sim.offers[0].if_type.b[0], 0xd9);
	ASSERT_EQ(sim.offers[0].if_type.b[3], 0xba);
	ASSERT_EQ(sim.offers[0].if_type.b[4], 0xa1);
	ASSERT_EQ(sim.offers[0].if_type.b[8], 0xb6);

	/* A second REQUESTOFFERS is refused; an offer made now goes out at once. */
	struct vmbus_msg_hdr h = {.msgtype = VMBUS_MSG_REQUESTOFFERS};
	ASSERT_EQ(sim_post(&sim, &h, sizeof(h)), 0);
	sim_expect_none(&sim);
	uint32_t late = sim_offer(&sim, HV_GUID_IC_SHUTDOWN, 4, 0);
	struct sim_msg *m = sim_expect(&sim, VMBUS_MSG_OFFERCHANNEL);
	ASSERT_EQ(m->u.offer.child_relid, late);

	/* Registration rules. */
	struct vmbus_offer dup = {.if_type = HV_GUID_SCSI};
	uint32_t r;
	dup.if_instance.b[0] = 1;
	dup.if_instance.b[15] = 0x5a;
	ASSERT_EQ(vmbus_host_offer(sim.s, &dup, &r), -EEXIST);
	struct vmbus_offer orphan = {.if_type = HV_GUID_NET, .sub_channel_index = 2};
	ASSERT_EQ(vmbus_host_offer(sim.s, &orphan, &r), -EINVAL);
	sim_fini(&sim);
}

/* The lifecycle a storvsc/netvsc probe and removal goes through. */
static void test_channel_lifecycle(void)
{
	struct sim sim;
	uint32_t relid, ring, buf;

	sim_init(&sim);
	relid = sim_offer(&sim, HV_GUID_NET, 1, 0);
	ASSERT_EQ(sim_connect(&sim), VMBUS_VERSION_WIN10_V5_3);
	ASSERT_EQ(sim_request_offers(&sim), 1);

	/* 64-page ring: header with 26 PFNs, bodies of 28 and 10. */
	ASSERT_EQ(sim_gpadl(&sim, relid, 100, 64, &ring), 0);
	ASSERT_EQ(sim_count(&sim, "gpadl", relid), 1);
	ASSERT_EQ(sim.last_gpadl_pages, 64);
	for (unsigned i = 0; i < 64; i++)
		ASSERT_UEQ(sim.last_gpadl_pfns[i], 100 + i);
	sim_expect_none(&sim);

	ASSERT_EQ(sim_open(&sim, relid, ring, 32, 2), 0);
	ASSERT_EQ(sim.last_open.relid, relid);
	ASSERT_EQ(sim.last_open.gpadl_id, ring);
	ASSERT_EQ(sim.last_open.target_vp, 2);
	ASSERT_EQ(sim.last_open.downstream_page, 32);
	ASSERT_EQ(sim.last_open.page_count, 64);
	ASSERT_EQ(sim.last_open.event_conn_id, VMBUS_EVENT_CONNID(relid));
	ASSERT_UEQ(sim.last_open.pfns[63], 163);

	/* A second, larger GPADL (netvsc receive buffer): 300 pages, 11 bodies. */
	ASSERT_EQ(sim_gpadl(&sim, relid, 1000, 300, &buf), 0);
	ASSERT_EQ(sim.last_gpadl_pages, 300);
	ASSERT_UEQ(sim.last_gpadl_pfns[299], 1299);

	struct sim_inspect si = sim_inspect(&sim, relid);
	ASSERT_TRUE(si.found);
	ASSERT_EQ(si.chan.state, VMBUS_CHAN_OPEN);
	ASSERT_EQ(si.chan.ring_gpadl, ring);
	ASSERT_EQ(si.chan.counters.gpadls_created, 2);
	ASSERT_EQ(si.chan.counters.opens, 1);
	ASSERT_EQ(si.ngpadl, 2);
	si = sim_inspect(&sim, ring);
	ASSERT_TRUE(si.found);
	ASSERT_TRUE(si.gpadl.ring_in_use);
	ASSERT_EQ(si.gpadl.page_count, 64);

	/* MODIFYCHANNEL at 5.3 gets a response. */
	struct vmbus_msg_modify_channel mc = {
	    .hdr.msgtype = VMBUS_MSG_MODIFYCHANNEL, .child_relid = relid, .target_vp = 3};
	ASSERT_EQ(sim_post(&sim, &mc, sizeof(mc)), 0);
	struct sim_msg *m = sim_expect(&sim, VMBUS_MSG_MODIFYCHANNEL_RESPONSE);
	ASSERT_EQ(m->u.modify.child_relid, relid);
	ASSERT_EQ(m->u.modify.status, 0);
	ASSERT_EQ(sim_count(&sim, "modify", relid), 1);

	/* Removal: CLOSECHANNEL (no reply), then teardown of both GPADLs. */
	sim_post_relid(&sim, VMBUS_MSG_CLOSECHANNEL, relid);
	sim_expect_none(&sim);
	ASSERT_EQ(sim_count(&sim, "close", relid), 1);
	sim_teardown(&sim, relid, buf);
	sim_teardown(&sim, relid, ring);
	ASSERT_EQ(sim_count(&sim, "teardown", relid), 2);

	/* Reopen with a fresh ring works. */
	ASSERT_EQ(sim_gpadl(&sim, relid, 200, 8, &ring), 0);
	ASSERT_EQ(sim_open(&sim, relid, ring, 4, 0), 0);

	/* UNLOAD closes the channel and drops the GPADL before answering. */
	sim_unload(&sim);
	ASSERT_EQ(sim_count(&sim, "close", relid), 2);
	ASSERT_EQ(sim_count(&sim, "teardown", relid), 3);
	si = sim_inspect(&sim, relid);
	ASSERT_EQ(si.conn.state, VMBUS_CONN_DISCONNECTED);
	ASSERT_EQ(si.conn.version, 0);
	ASSERT_EQ(si.ngpadl, 0);
	ASSERT_EQ(sim.conn_version, 0);

	/* kexec: a new kernel connects and gets the offers again. */
	ASSERT_EQ(sim_connect(&sim), VMBUS_VERSION_WIN10_V5_3);
	ASSERT_EQ(sim_request_offers(&sim), 1);
	ASSERT_EQ(sim.offers[0].child_relid, relid);
	ASSERT_EQ(sim.nerrors, 0);
	sim_fini(&sim);
}

/* Devices in other processes answer later: nothing goes out before they do. */
static void test_async_device(void)
{
	struct sim sim;
	uint32_t relid, ring;

	sim_init(&sim);
	relid = sim_offer(&sim, HV_GUID_SCSI, 1, 0);
	ASSERT_EQ(sim_connect(&sim), VMBUS_VERSION_WIN10_V5_3);
	sim_request_offers(&sim);
	ASSERT_EQ(sim_gpadl(&sim, relid, 10, 16, &ring), 0);

	sim.open_ret = VMBUS_PENDING;
	sim_post_open(&sim, relid, ring, 8, 1);
	sim_expect_none(&sim);
	ASSERT_EQ(sim_inspect(&sim, relid).chan.state, VMBUS_CHAN_OPENING);
	vmbus_host_open_complete(sim.s, relid, 0);
	ASSERT_EQ(sim_expect(&sim, VMBUS_MSG_OPENCHANNEL_RESULT)->u.open_result.status, 0);
	vmbus_host_open_complete(sim.s, relid, 0); /* stale: ignored */
	sim_expect_none(&sim);

	/* Close pending; the guest reopens meanwhile (no close-complete message
	 * exists): the reopen waits for the device. */
	sim.close_ret = VMBUS_PENDING;
	sim.open_ret = 0;
	sim_post_relid(&sim, VMBUS_MSG_CLOSECHANNEL, relid);
	sim_post_open(&sim, relid, ring, 8, 1);
	sim_expect_none(&sim);
	ASSERT_EQ(sim_inspect(&sim, relid).chan.state, VMBUS_CHAN_CLOSING);
	vmbus_host_close_complete(sim.s, relid);
	ASSERT_EQ(sim_expect(&sim, VMBUS_MSG_OPENCHANNEL_RESULT)->u.open_result.status, 0);
	ASSERT_EQ(sim_count(&sim, "open", relid), 2);

	/* Device refuses an open later: the guest sees the failure. */
	sim.close_ret = 0;
	sim_post_relid(&sim, VMBUS_MSG_CLOSECHANNEL, relid);
	sim.open_ret = VMBUS_PENDING;
	sim_post_open(&sim, relid, ring, 8, 1);
	vmbus_host_open_complete(sim.s, relid, -EIO);
	ASSERT_NE(sim_expect(&sim, VMBUS_MSG_OPENCHANNEL_RESULT)->u.open_result.status, 0);
	ASSERT_TRUE(strstr(sim.last_error, "device refused"));

	/* UNLOAD waits for the device to close and release the GPADL. */
	sim.open_ret = 0;
	ASSERT_EQ(sim_open(&sim, relid, ring, 8, 1), 0);
	sim.close_ret = VMBUS_PENDING;
	sim.teardown_ret = VMBUS_PENDING;
	struct vmbus_msg_hdr h = {.msgtype = VMBUS_MSG_UNLOAD};
	ASSERT_EQ(sim_post(&sim, &h, sizeof(h)), 0);
	sim_expect_none(&sim);
	ASSERT_EQ(sim_inspect(&sim, relid).conn.state, VMBUS_CONN_DISCONNECTING);
	vmbus_host_close_complete(sim.s, relid);
	sim_expect_none(&sim); /* the ring GPADL is still being released */
	vmbus_host_gpadl_teardown_complete(sim.s, relid, ring);
	sim_expect(&sim, VMBUS_MSG_UNLOAD_RESPONSE);
	ASSERT_EQ(sim_inspect(&sim, relid).conn.state, VMBUS_CONN_DISCONNECTED);
	sim_fini(&sim);
}

/* The host withdraws a device while the guest uses it. */
static void test_rescind(void)
{
	struct sim sim;
	uint32_t relid, ring, other;

	sim_init(&sim);
	relid = sim_offer(&sim, HV_GUID_NET, 1, 0);
	other = sim_offer(&sim, HV_GUID_SCSI, 2, 0);
	ASSERT_EQ(sim_connect(&sim), VMBUS_VERSION_WIN10_V5_3);
	sim_request_offers(&sim);
	ASSERT_EQ(sim_gpadl(&sim, relid, 10, 16, &ring), 0);
	ASSERT_EQ(sim_open(&sim, relid, ring, 8, 0), 0);

	ASSERT_OK(vmbus_host_rescind(sim.s, relid));
	ASSERT_EQ(sim_expect(&sim, VMBUS_MSG_RESCIND_CHANNELOFFER)->u.relid.child_relid, relid);
	ASSERT_EQ(sim_count(&sim, "close", relid), 1);
	ASSERT_EQ(vmbus_host_rescind(sim.s, relid), -ENOENT);

	/* The relid is not reused before RELID_RELEASED. */
	uint32_t fresh = sim_offer(&sim, HV_GUID_IC_HEARTBEAT, 3, 0);
	ASSERT_NE(fresh, relid);
	sim_expect(&sim, VMBUS_MSG_OFFERCHANNEL);

	/* Linux's cleanup: close is a no-op now, teardown answered, then release. */
	sim_post_relid(&sim, VMBUS_MSG_CLOSECHANNEL, relid);
	sim_teardown(&sim, relid, ring);
	sim_post_relid(&sim, VMBUS_MSG_RELID_RELEASED, relid);
	sim_expect_none(&sim);
	ASSERT_FALSE(sim_inspect(&sim, relid).found);
	ASSERT_EQ(sim_offer(&sim, HV_GUID_IC_SHUTDOWN, 4, 0), relid);
	sim_expect(&sim, VMBUS_MSG_OFFERCHANNEL);
	(void)other;

	/* RELID_RELEASED also drops GPADLs the guest did not tear down. */
	ASSERT_EQ(sim_gpadl(&sim, relid, 50, 4, &ring), 0);
	ASSERT_OK(vmbus_host_rescind(sim.s, relid));
	sim_expect(&sim, VMBUS_MSG_RESCIND_CHANNELOFFER);
	sim_post_relid(&sim, VMBUS_MSG_RELID_RELEASED, relid);
	sim_expect_none(&sim);
	ASSERT_EQ(sim_inspect(&sim, ring).ngpadl, 0);
	ASSERT_FALSE(sim_inspect(&sim, relid).found);

	/* With the device still releasing a GPADL, the relid stays taken. */
	relid = sim_offer(&sim, HV_GUID_IC_KVP, 5, 0);
	sim_expect(&sim, VMBUS_MSG_OFFERCHANNEL);
	ASSERT_EQ(sim_gpadl(&sim, relid, 60, 4, &ring), 0);
	sim.teardown_ret = VMBUS_PENDING;
	ASSERT_OK(vmbus_host_rescind(sim.s, relid));
	sim_expect(&sim, VMBUS_MSG_RESCIND_CHANNELOFFER);
	sim_post_relid(&sim, VMBUS_MSG_RELID_RELEASED, relid);
	ASSERT_TRUE(sim_inspect(&sim, relid).found);
	uint32_t next = sim_offer(&sim, HV_GUID_IC_KVP, 6, 0);
	sim_expect(&sim, VMBUS_MSG_OFFERCHANNEL);
	ASSERT_NE(next, relid);
	vmbus_host_gpadl_teardown_complete(sim.s, relid, ring);
	sim_expect_none(&sim);
	ASSERT_FALSE(sim_inspect(&sim, relid).found);
	sim_fini(&sim);
}

/* Protocol 4.0: no MODIFYCHANNEL; < 5.0 guests contact on connection id 1. */
static void test_old_protocol(void)
{
	struct vmbus_host_config cfg;
	struct sim sim;
	uint32_t relid, ring;

	sim_default_config(&cfg);
	cfg.max_version = VMBUS_VERSION_WIN10;
	sim_init_cfg(&sim, &cfg);
	relid = sim_offer(&sim, HV_GUID_SCSI, 1, 0);
	ASSERT_EQ(sim_connect(&sim), VMBUS_VERSION_WIN10);
	ASSERT_EQ(sim.msg_conn_id, VMBUS_CONNID_MESSAGE);
	sim_request_offers(&sim);
	ASSERT_EQ(sim_gpadl(&sim, relid, 10, 4, &ring), 0);
	ASSERT_EQ(sim_open(&sim, relid, ring, 2, 0), 0);
	struct vmbus_msg_modify_channel mc = {
	    .hdr.msgtype = VMBUS_MSG_MODIFYCHANNEL, .child_relid = relid, .target_vp = 1};
	ASSERT_EQ(sim_post(&sim, &mc, sizeof(mc)), 0);
	sim_expect_none(&sim);
	ASSERT_TRUE(strstr(sim.last_error, "4.1"));
	sim_fini(&sim);

	/* At 4.1..5.2 MODIFYCHANNEL works but has no response. */
	cfg.max_version = VMBUS_VERSION_WIN10_V5_2;
	sim_init_cfg(&sim, &cfg);
	relid = sim_offer(&sim, HV_GUID_SCSI, 1, 0);
	ASSERT_EQ(sim_connect(&sim), VMBUS_VERSION_WIN10_V5_2);
	sim_request_offers(&sim);
	ASSERT_EQ(sim_gpadl(&sim, relid, 10, 4, &ring), 0);
	ASSERT_EQ(sim_open(&sim, relid, ring, 2, 0), 0);
	mc.child_relid = relid;
	ASSERT_EQ(sim_post(&sim, &mc, sizeof(mc)), 0);
	sim_expect_none(&sim);
	ASSERT_EQ(sim_inspect(&sim, relid).chan.target_vp, 1);
	sim_fini(&sim);
}

/* A second INITIATE_CONTACT while connected (kdump) resets, then answers. */
static void test_reconnect_resets(void)
{
	struct sim sim;
	uint32_t relid, ring;

	sim_init(&sim);
	relid = sim_offer(&sim, HV_GUID_SCSI, 1, 0);
	ASSERT_EQ(sim_connect(&sim), VMBUS_VERSION_WIN10_V5_3);
	sim_request_offers(&sim);
	ASSERT_EQ(sim_gpadl(&sim, relid, 10, 4, &ring), 0);
	ASSERT_EQ(sim_open(&sim, relid, ring, 2, 0), 0);

	ASSERT_EQ(sim_connect(&sim), VMBUS_VERSION_WIN10_V5_3);
	ASSERT_EQ(sim_count(&sim, "close", relid), 1);
	ASSERT_EQ(sim_count(&sim, "teardown", relid), 1);
	ASSERT_EQ(sim_inspect(&sim, relid).ngpadl, 0);
	ASSERT_EQ(sim_request_offers(&sim), 1);
	ASSERT_EQ(sim_gpadl(&sim, relid, 10, 4, &ring), 0);
	ASSERT_EQ(sim_open(&sim, relid, ring, 2, 0), 0);
	sim_fini(&sim);
}

/* The RAM layout must be one lib/guestmem accepts; anything else is refused up front. */
static void test_bad_ram_layout(void)
{
	struct vmbus_host_config cfg;
	struct vmbus_host *s;
	struct sim sim;

	memset(&sim, 0, sizeof(sim));
	sim_default_config(&cfg);
	cfg.ram.nranges = 0;
	ASSERT_EQ(vmbus_host_new(&cfg, sim_ops(), &sim, &s), -EINVAL);
	sim_default_config(&cfg);
	cfg.ram.nranges = GUESTMEM_MAX_RANGES + 1;
	ASSERT_EQ(vmbus_host_new(&cfg, sim_ops(), &sim, &s), -EINVAL);
	sim_default_config(&cfg);
	cfg.ram.ranges[0].size += 1; /* unaligned */
	ASSERT_EQ(vmbus_host_new(&cfg, sim_ops(), &sim, &s), -EINVAL);
	sim_default_config(&cfg);
	cfg.ram.ranges[1] = (struct guestmem_range){VMBUS_PAGE_SIZE, VMBUS_PAGE_SIZE, 0};
	cfg.ram.nranges = 2; /* overlaps range 0 */
	ASSERT_EQ(vmbus_host_new(&cfg, sim_ops(), &sim, &s), -EINVAL);
	sim_default_config(&cfg);
	cfg.ram.ranges[0] = (struct guestmem_range){~0ull & ~0xfffull, 2 * VMBUS_PAGE_SIZE, 0};
	ASSERT_EQ(vmbus_host_new(&cfg, sim_ops(), &sim, &s), -EINVAL); /* wraps */
}

int main(void)
{
	test_bad_ram_layout();
	test_negotiate_highest();
	test_fallback_each_version();
	test_windows_copper();
	test_custom_message_connection_id();
	test_offers();
	test_channel_lifecycle();
	test_async_device();
	test_rescind();
	test_old_protocol();
	test_reconnect_resets();
	printf("ok\n");
	return 0;
}
