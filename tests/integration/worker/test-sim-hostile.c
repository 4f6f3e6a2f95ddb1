/* SPDX-License-Identifier: MIT */
/*
 * Hostile guests through the sim backend against the real servers: mhcl-init runs
 * mhcl-vmbusd, mhcl-icd and mhcl-vp-sim (mhcl-vp on the sim backend, relaying VMBus to
 * vmbusd), and this test plays the guest (sim_env.h). Each case first has the channel
 * path working (connect, offers, heartbeat channel open), then misbehaves: malformed
 * channel messages, GPADLs outside guest RAM, corrupt ring indices, oversized packets,
 * garbage IC packets, broken SynIC set-up, a guest that hangs up. In every case the
 * servers keep running, the log says what was refused and why, and the heartbeat channel
 * answers again afterwards (on the channel that stayed open where the damage was
 * elsewhere, after a close and a fresh open where the guest wrecked that channel's own
 * ring).
 *
 * Usage: test-sim-hostile INIT VMBUSD_DIR ICD_DIR VP_SIM_DIR DTC [CASE...]
 */
#include "sim_env.h"

#include <pthread.h>

#include "defs/vmbus_ring_defs.h"

#define RAM_PAGES (SIM_TEST_RAM >> 12)

static struct vmbus_ring_control *ring_ctl(struct sim_env *e, struct sim_guest_chan *c)
{
	return sim_guest_mem(e->g, c->first_pfn << 12, 4096);
}

static uint8_t *ring_data(struct sim_env *e, struct sim_guest_chan *c)
{
	return sim_guest_mem(e->g, (c->first_pfn + 1) << 12, (uint64_t)(c->send_pages - 1) << 12);
}

/* Posts msg, expecting the hypercall to succeed (the port took it) and vmbusd to log
 * `why`. */
static void post_refused(struct sim_env *e, const void *msg, size_t len, const char *why)
{
	off_t mark = sim_log_mark();
	ASSERT_EQ(sim_guest_post(e->g, msg, len), HV_STATUS_SUCCESS);
	sim_log_wait(mark, why);
}

/* The OPEN_RESULT a refused OPENCHANNEL still gets: a failure for relid. */
static void expect_open_failed(struct sim_env *e, uint32_t relid)
{
	struct vmbus_msg_open_result res;
	ASSERT_GE(sim_guest_expect_msg(e->g, VMBUS_MSG_OPENCHANNEL_RESULT, &res, sizeof(res)), 20);
	ASSERT_EQ(res.child_relid, relid);
	ASSERT_NE(res.status, 0);
}

/* Truncated, unknown, host-only and misdirected channel messages while the heartbeat
 * channel is open and mid-negotiation: each is dropped with its reason, and the open
 * channel then completes its exchange. */
static void test_malformed_messages(void)
{
	struct sim_env e;
	struct sim_guest_chan c;
	uint8_t buf[240];

	sim_env_start(&e);
	sim_env_open_hb(&e, SIM_GUEST_PFN_FREE, &c);

	struct vmbus_msg_open_channel open = {.hdr.msgtype = VMBUS_MSG_OPENCHANNEL,
					      .child_relid = c.relid};
	post_refused(&e, &open, 20, "OPENCHANNEL), 20 bytes: message shorter than its type requires");
	uint32_t type = 99;
	memset(buf, 0, sizeof(buf));
	memcpy(buf, &type, sizeof(type));
	post_refused(&e, buf, 16, "dropped message type 99 (unknown), 16 bytes: unknown message type");
	post_refused(&e, buf, 4, "message shorter than its 8-byte header");
	struct vmbus_msg_offer_channel offer = {.hdr.msgtype = VMBUS_MSG_OFFERCHANNEL};
	post_refused(&e, &offer, sizeof(offer), "message type the guest never sends");
	open = (struct vmbus_msg_open_channel){.hdr.msgtype = VMBUS_MSG_OPENCHANNEL,
					       .child_relid = 77, .openid = 77};
	post_refused(&e, &open, sizeof(open), "OPENCHANNEL for unknown relid 77");
	expect_open_failed(&e, 77);
	/* A second OPENCHANNEL on the open heartbeat channel is refused, it stays open. */
	open = (struct vmbus_msg_open_channel){.hdr.msgtype = VMBUS_MSG_OPENCHANNEL,
					       .child_relid = c.relid, .openid = c.relid,
					       .ringbuffer_gpadl = c.gpadl, .downstream_ringbuffer_pageoffset = 4};
	post_refused(&e, &open, sizeof(open), "OPENCHANNEL while the channel is open");
	expect_open_failed(&e, c.relid);
	struct vmbus_msg_gpadl_body body = {.hdr.msgtype = VMBUS_MSG_GPADL_BODY, .gpadl = 0x4242};
	memcpy(buf, &body, sizeof(body));
	post_refused(&e, buf, sizeof(body) + 8, "GPADL_BODY for GPADL 0x4242 that is not being assembled");
	struct vmbus_msg_relid rel = {.hdr.msgtype = VMBUS_MSG_CLOSECHANNEL, .child_relid = 999};
	post_refused(&e, &rel, sizeof(rel), "CLOSECHANNEL for unknown relid 999");
	/* Below the control plane: an oversized payload_size never reaches it. */
	ASSERT_EQ(sim_guest_post_raw(e.g, e.g->msg_conn_id, 1, 241, buf, sizeof(buf)),
		  HV_STATUS_INVALID_PARAMETER);
	/* Host-only SynIC message type bit. */
	ASSERT_EQ(sim_guest_post_raw(e.g, e.g->msg_conn_id, 0x80000001u, 8, buf, 8),
		  HV_STATUS_INVALID_PARAMETER);

	/* The channel that was open all along still works. */
	sim_env_heartbeat(&e, &c);
	ASSERT_OK(sim_guest_chan_close(e.g, &c));
	sim_env_hb_alive(&e, SIM_GUEST_PFN_FREE + 0x40);
	sim_env_stop(&e);
}

/* GPADLs naming pages outside guest RAM, and inconsistent GPADL headers, are refused with
 * GPADL_CREATED failures; an open on a refused GPADL fails; nothing else changes. */
static void test_gpadl_outside_ram(void)
{
	struct sim_env e;
	struct sim_guest_chan c;
	uint64_t pfns[40];
	uint32_t id;
	off_t mark;

	sim_env_start(&e);
	sim_env_open_hb(&e, SIM_GUEST_PFN_FREE, &c);
	uint32_t relid = c.relid;

	for (unsigned i = 0; i < 40; i++)
		pfns[i] = SIM_GUEST_PFN_FREE + 0x80 + i;
	pfns[39] = RAM_PAGES; /* one page past the end, in a GPADL_BODY */
	mark = sim_log_mark();
	ASSERT_NE(sim_guest_gpadl(e.g, relid, pfns, 40, &id), 0);
	sim_log_wait(mark, "refused: PFN outside guest RAM");
	pfns[0] = 1ull << 52; /* far outside, in the header */
	pfns[39] = SIM_GUEST_PFN_FREE + 0x80 + 39;
	mark = sim_log_mark();
	ASSERT_NE(sim_guest_gpadl(e.g, relid, pfns, 8, &id), 0);
	sim_log_wait(mark, "refused: PFN outside guest RAM");
	/* Opening on the refused GPADL: OPEN_RESULT fails (the channel is open anyway here,
	 * so close it first and retry on the refused id). */
	ASSERT_OK(sim_guest_chan_close(e.g, &c));
	mark = sim_log_mark();
	ASSERT_NE(sim_guest_open(e.g, relid, id, 4, 0), 0);
	sim_log_wait(mark, "OPENCHANNEL (gpadl");

	/* range_buflen says 2 pages, the range says 16. */
	uint8_t buf[240];
	struct vmbus_msg_gpadl_header h = {.hdr.msgtype = VMBUS_MSG_GPADL_HEADER,
					   .child_relid = relid, .gpadl = 0x777,
					   .range_buflen = sizeof(struct vmbus_gpa_range) + 16, .rangecount = 1};
	struct vmbus_gpa_range r = {.byte_count = 16 * 4096};
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), &r, sizeof(r));
	memcpy(buf + sizeof(h) + sizeof(r), pfns + 1, 16);
	mark = sim_log_mark();
	ASSERT_EQ(sim_guest_post(e.g, buf, sizeof(h) + sizeof(r) + 16), HV_STATUS_SUCCESS);
	struct vmbus_msg_gpadl_created created;
	ASSERT_GE(sim_guest_expect_msg(e.g, VMBUS_MSG_GPADL_CREATED, &created, sizeof(created)), 20);
	ASSERT_EQ(created.gpadl, 0x777);
	ASSERT_NE(created.creation_status, 0);
	sim_log_wait(mark, "GPADL 0x777 refused");
	/* rangecount 0 with data. */
	h.gpadl = 0x778;
	h.rangecount = 0;
	memcpy(buf, &h, sizeof(h));
	mark = sim_log_mark();
	ASSERT_EQ(sim_guest_post(e.g, buf, sizeof(h) + sizeof(r) + 16), HV_STATUS_SUCCESS);
	ASSERT_GE(sim_guest_expect_msg(e.g, VMBUS_MSG_GPADL_CREATED, &created, sizeof(created)), 20);
	ASSERT_EQ(created.gpadl, 0x778);
	ASSERT_NE(created.creation_status, 0);
	sim_log_wait(mark, "GPADL_HEADER 0x778 refused");

	sim_env_hb_alive(&e, SIM_GUEST_PFN_FREE + 0x40);
	sim_env_stop(&e);
}

/* OPENCHANNEL with ring shapes or target VPs the worker cannot use: OPEN_RESULT fails with
 * the reason logged; the same GPADL then serves a proper open. */
static void test_bad_open(void)
{
	struct sim_env e;
	uint64_t pfns[8];
	uint32_t id, small;
	off_t mark;

	sim_env_start(&e);
	uint32_t relid = e.hb->child_relid;
	for (unsigned i = 0; i < 8; i++)
		pfns[i] = SIM_GUEST_PFN_FREE + i;
	ASSERT_EQ(sim_guest_gpadl(e.g, relid, pfns, 8, &id), 0);
	ASSERT_EQ(sim_guest_gpadl(e.g, relid, pfns, 3, &small), 0);
	static const struct {
		uint32_t downstream, vp;
		bool small;
		const char *why;
	} cases[] = {
		{1, 0, false, "downstream ring offset leaves a ring without control and data page"},
		{7, 0, false, "downstream ring offset leaves a ring without control and data page"},
		{0xffffffffu, 0, false, "downstream ring offset leaves a ring without control and data page"},
		{4, 9, false, "target VP out of range"},
		{2, 0, true, "downstream ring offset leaves a ring without control and data page"},
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		mark = sim_log_mark();
		ASSERT_NE(sim_guest_open(e.g, relid, cases[i].small ? small : id, cases[i].downstream,
					 cases[i].vp), 0);
		sim_log_wait(mark, cases[i].why);
	}
	ASSERT_OK(sim_guest_teardown(e.g, relid, id));
	ASSERT_OK(sim_guest_teardown(e.g, relid, small));
	sim_env_hb_alive(&e, SIM_GUEST_PFN_FREE);
	sim_env_stop(&e);
}

enum ring_damage {
	DAMAGE_WRITE_INDEX_PAST_RING,
	DAMAGE_WRITE_INDEX_UNALIGNED,
	DAMAGE_LEN8_PAST_DATA,
	DAMAGE_LEN8_TOO_SMALL,
	DAMAGE_PACKET_OVER_DEVICE_MAX,
	DAMAGE_UNKNOWN_PACKET_TYPE,
	DAMAGE_READ_INDEX, /* the host->guest ring: the host is the writer there */
};

/* The guest wrecks the heartbeat channel's ring; the device refuses it with the reason,
 * the worker survives, and after CLOSECHANNEL the channel opens again on fresh pages. */
static void test_ring_damage(enum ring_damage d, const char *why)
{
	struct sim_env e;
	struct sim_guest_chan c;
	off_t mark;

	sim_env_start(&e);
	sim_env_open_hb(&e, SIM_GUEST_PFN_FREE, &c);
	struct vmbus_ring_control *ctl = ring_ctl(&e, &c);
	uint8_t *data = ring_data(&e, &c);
	uint32_t size = (c.send_pages - 1) * 4096;
	struct vmbus_packet_desc desc = {.type = VMBUS_PKT_DATA_INBAND, .offset8 = 2};

	/* Let the host's NEGOTIATE arrive first, so the host->guest ring is in use. */
	struct vmbus_pkt pkt;
	ASSERT_OK(sim_guest_chan_recv(e.g, &c, &pkt));

	mark = sim_log_mark();
	switch (d) {
	case DAMAGE_WRITE_INDEX_PAST_RING:
		__atomic_store_n(&ctl->write_index, size + 64, __ATOMIC_RELEASE);
		break;
	case DAMAGE_WRITE_INDEX_UNALIGNED:
		__atomic_store_n(&ctl->write_index, 12, __ATOMIC_RELEASE);
		break;
	case DAMAGE_LEN8_PAST_DATA:
		desc.len8 = 0xffff; /* 512 KiB: more than the ring and than what was written */
		memcpy(data, &desc, sizeof(desc));
		__atomic_store_n(&ctl->write_index, 32, __ATOMIC_RELEASE);
		break;
	case DAMAGE_LEN8_TOO_SMALL:
		desc.len8 = 1;
		memcpy(data, &desc, sizeof(desc));
		__atomic_store_n(&ctl->write_index, 32, __ATOMIC_RELEASE);
		break;
	case DAMAGE_UNKNOWN_PACKET_TYPE:
		desc.type = 0x55;
		desc.len8 = 3;
		memcpy(data, &desc, sizeof(desc));
		__atomic_store_n(&ctl->write_index, 32, __ATOMIC_RELEASE);
		break;
	case DAMAGE_PACKET_OVER_DEVICE_MAX: {
		/* Well-formed, fits the ring, larger than the heartbeat device accepts. */
		static uint8_t big[6000];
		memset(big, 0x5a, sizeof(big));
		ASSERT_OK(vmbus_ring_send_inband(&c.out, 7, 0, big, sizeof(big)) < 0);
		break;
	}
	case DAMAGE_READ_INDEX: {
		struct vmbus_ring_control *in_ctl = sim_guest_mem(e.g, (c.first_pfn + c.send_pages) << 12, 4096);
		__atomic_store_n(&in_ctl->read_index, 0xfffffff0u, __ATOMIC_RELEASE);
		/* The host writes its next packet (the heartbeat) once negotiation completes. */
		uint8_t ans[64];
		ASSERT_TRUE(pkt.payload_len <= sizeof(ans));
		memcpy(ans, pkt.payload, pkt.payload_len);
		/* Answer negotiation with the versions it offered first (framework 1.0,
		 * message 1.0 are offered by every host). */
		struct ic_msg_hdr h;
		memcpy(&h, ans + sizeof(struct ic_pipe_hdr), sizeof(h));
		h.flags = IC_FLAG_TRANSACTION | IC_FLAG_RESPONSE;
		h.status = 0;
		struct ic_negotiate n = {1, 1, 0};
		struct ic_version v[2] = {IC_FW_VERSION_3, IC_HEARTBEAT_VERSION_3};
		memcpy(ans + sizeof(struct ic_pipe_hdr), &h, sizeof(h));
		memcpy(ans + IC_BODY_OFFSET, &n, sizeof(n));
		memcpy(ans + IC_BODY_OFFSET + sizeof(n), v, sizeof(v));
		ASSERT_OK(sim_guest_chan_send(e.g, &c, pkt.trans_id, ans, pkt.payload_len));
		sim_log_wait(mark, why);
		goto damaged;
	}
	}
	ASSERT_EQ(sim_guest_signal(e.g, c.conn_id), HV_STATUS_SUCCESS);
	sim_log_wait(mark, why);
damaged:
	ASSERT_TRUE(sim_env_running(&e));
	/* The guest closes the wrecked channel; the control plane and device let go of it. */
	mark = sim_log_mark();
	ASSERT_OK(sim_guest_chan_close(e.g, &c));
	sim_log_wait(mark, "closed");
	sim_env_hb_alive(&e, SIM_GUEST_PFN_FREE + 0x40);
	sim_env_stop(&e);
}

/* Garbage in-band packets on the heartbeat channel: each refused and counted, the
 * negotiation that follows them still completes and heartbeats flow. */
static void test_garbage_ic(void)
{
	struct sim_env e;
	struct sim_guest_chan c;
	uint8_t g[64];
	off_t mark;

	sim_env_start(&e);
	sim_env_open_hb(&e, SIM_GUEST_PFN_FREE, &c);
	mark = sim_log_mark();

	memset(g, 0xaa, sizeof(g));
	ASSERT_OK(sim_guest_chan_send(e.g, &c, 1, g, 10)); /* shorter than the headers */
	ASSERT_OK(sim_guest_chan_send(e.g, &c, 2, g, sizeof(g))); /* pipe type 0xaaaaaaaa */
	struct ic_pipe_hdr pipe = {.type = IC_PIPE_TYPE_DATA, .size = sizeof(struct ic_msg_hdr) + 36};
	struct ic_msg_hdr h = {.msgtype = IC_MSG_NEGOTIATE, .msgsize = 36,
			       .flags = IC_FLAG_TRANSACTION | IC_FLAG_REQUEST};
	memset(g, 0, sizeof(g));
	memcpy(g, &pipe, sizeof(pipe));
	memcpy(g + sizeof(pipe), &h, sizeof(h));
	ASSERT_OK(sim_guest_chan_send(e.g, &c, 3, g, sizeof(g))); /* a request, not an answer */
	h.flags = IC_FLAG_TRANSACTION | IC_FLAG_RESPONSE;
	h.msgtype = IC_MSG_HEARTBEAT; /* an answer nobody asked for */
	memcpy(g + sizeof(pipe), &h, sizeof(h));
	ASSERT_OK(sim_guest_chan_send(e.g, &c, 4, g, sizeof(g)));
	h.msgtype = IC_MSG_NEGOTIATE;
	h.msgsize = 0xffff; /* body past the packet */
	memcpy(g + sizeof(pipe), &h, sizeof(h));
	ASSERT_OK(sim_guest_chan_send(e.g, &c, 5, g, sizeof(g)));
	h.msgsize = 36; /* counts 1/1 but no versions after them */
	memcpy(g + sizeof(pipe), &h, sizeof(h));
	struct ic_negotiate n = {1, 1, 0};
	memcpy(g + IC_BODY_OFFSET, &n, sizeof(n));
	ASSERT_OK(sim_guest_chan_send(e.g, &c, 6, g, IC_BODY_OFFSET + sizeof(n)));
	ASSERT_EQ(sim_guest_signal(e.g, c.conn_id), HV_STATUS_SUCCESS);
	for (int i = 0; i < 20000 && sim_log_count(mark, "refused a guest packet") < 6; i++)
		nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
	ASSERT_EQ(sim_log_count(mark, "refused a guest packet"), 6);
	sim_log_wait(mark, "heartbeat IC on relid");
	sim_log_wait(mark, "Bad message");
	sim_log_wait(mark, "Protocol error");
	ASSERT_FALSE(sim_log_has(mark, "ring broken"));

	/* The real answer still works. */
	sim_env_heartbeat(&e, &c);
	ASSERT_OK(sim_guest_chan_close(e.g, &c));
	sim_env_stop(&e);
}

/* A guest that never reads its messages: its posts are answered with
 * HV_STATUS_INSUFFICIENT_BUFFERS once its SIMP queue is nearly full (never an overflow);
 * when it reads again every queued answer arrives in order and the channel works.
 * The answers fill the queue only as fast as vmbusd sends them, so after a first burst
 * the guest posts at 1 ms intervals (a loaded machine may take many posts to fill it). */
static void test_message_flood(void)
{
	struct sim_env e;
	unsigned accepted = 0, refused = 0;

	sim_env_start(&e);
	for (unsigned i = 0; i < 20000 && !refused; i++) {
		if (i >= 64)
			nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
		struct vmbus_msg_open_channel open = {.hdr.msgtype = VMBUS_MSG_OPENCHANNEL,
						      .child_relid = 500 + i, .openid = 500 + i};
		int st = sim_guest_post(e.g, &open, sizeof(open));
		if (st == HV_STATUS_INSUFFICIENT_BUFFERS)
			refused++;
		else {
			ASSERT_EQ(st, HV_STATUS_SUCCESS);
			accepted++;
		}
	}
	ASSERT_EQ(refused, 1);
	ASSERT_GE(accepted, 8);
	for (unsigned i = 0; i < accepted; i++)
		expect_open_failed(&e, 500 + i);
	ASSERT_EQ(sim_guest_try_recv_msg(e.g, &(uint8_t[240]){0}, 240), -EAGAIN);
	sim_env_hb_alive(&e, SIM_GUEST_PFN_FREE);
	sim_env_stop(&e);
}

struct vandal {
	struct sim_guest *g;
	uint32_t victim_conn; /* the other VP's channel */
	unsigned posts, refused_params;
};

/* A second VP posting garbage the control plane drops (unknown types, truncations, bad
 * SynIC message types) and signalling another VP's channel, as fast as it can. */
static void *vandal_thread(void *arg)
{
	struct vandal *v = arg;
	uint64_t x = 0x9e3779b97f4a7c15ull;
	uint8_t buf[240];

	for (unsigned i = 0; i < 400; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		for (unsigned k = 0; k < sizeof(buf); k++)
			buf[k] = (uint8_t)(x >> (8 * (k % 8))) ^ (uint8_t)k;
		uint32_t type = 100 + (uint32_t)(x % 1000);
		memcpy(buf, &type, sizeof(type));
		uint32_t len = (uint32_t)(x >> 20) % 241;
		uint32_t conn = x & 1 ? VMBUS_CONNID_MESSAGE : VMBUS_CONNID_MESSAGE_4;
		int st = sim_guest_post_raw(v->g, conn, x & 2 ? 1 : 0, len, buf, len);
		if (st == HV_STATUS_INVALID_PARAMETER)
			v->refused_params++;
		else if (st != HV_STATUS_SUCCESS && st != HV_STATUS_INSUFFICIENT_BUFFERS)
			TEST_FAIL_("vandal post: status %d", st);
		v->posts++;
		if (v->victim_conn) {
			/* Routed while the channel is open, unknown between its opens. */
			st = sim_guest_signal(v->g, v->victim_conn);
			if (st != HV_STATUS_SUCCESS && st != HV_STATUS_INVALID_CONNECTION_ID)
				TEST_FAIL_("vandal signal: status %d", st);
		}
	}
	return NULL;
}

/* While VP 1 vandalizes, VP 0 keeps connecting its heartbeat channel and exchanging
 * heartbeats: the VPs, the SynIC and the control plane serve both concurrently. */
static void test_concurrent_vandal(void)
{
	static const struct hv_guid hb_type = HV_GUID_IC_HEARTBEAT;
	struct sim_env e;
	struct vandal v = {0};
	pthread_t t;

	sim_env_boot(&e, 2);
	ASSERT_OK(sim_guest_new(sim_env_take_socket(&e, 1), &v.g));
	ASSERT_EQ(v.g->vp, 1);
	ASSERT_OK(sim_guest_synic_enable(e.g));
	ASSERT_OK(sim_guest_synic_enable(v.g));
	ASSERT_EQ(sim_guest_vmbus_connect_linux(e.g), VMBUS_VERSION_WIN10_V5_3);
	ASSERT_GE(sim_guest_request_offers(e.g), 1);
	e.hb = sim_guest_find_offer(e.g, &hb_type);
	ASSERT_TRUE(e.hb);
	v.victim_conn = e.hb->connection_id;
	ASSERT_OK(pthread_create(&t, NULL, vandal_thread, &v));
	for (unsigned i = 0; i < 4; i++)
		sim_env_hb_alive(&e, SIM_GUEST_PFN_FREE + 0x10 * i);
	ASSERT_OK(pthread_join(t, NULL));
	ASSERT_EQ(v.posts, 400);
	ASSERT_GT(v.refused_params, 0); /* message type 0 is refused by the SynIC itself */
	sim_env_hb_alive(&e, SIM_GUEST_PFN_FREE + 0x80);
	sim_env_stop(&e);
	v.g = sim_guest_free(v.g);
}

/* SynIC set-up gone wrong: a message page outside RAM is refused (treated as disabled),
 * the guest fixes it and VMBus works; unknown sim requests and MSRs fault the request only. */
static void test_synic_hostile(void)
{
	struct sim_env e;
	struct sim_guest *g;
	off_t mark = sim_log_mark();

	sim_env_boot(&e, 1);
	g = e.g;
	ASSERT_OK(sim_guest_wrmsr(g, HV_MSR_SIMP, (SIM_TEST_RAM + 0x1000) | HV_SIMP_ENABLE));
	ASSERT_OK(sim_guest_wrmsr(g, HV_MSR_SIEFP, (1ull << 50) | HV_SIMP_ENABLE));
	ASSERT_OK(sim_guest_wrmsr(g, HV_MSR_SCONTROL, HV_SCONTROL_ENABLE));
	sim_log_wait(mark, "put its SynIC message page at 0x1001000, outside RAM");
	sim_log_wait(mark, "put its SynIC event flags page at 0x4000000000000, outside RAM");
	/* Input block crossing a page, and outside RAM. */
	ASSERT_EQ(sim_guest_hypercall(g, HV_HCALL_POST_MESSAGE, 0x12f80, 0), HV_STATUS_INVALID_ALIGNMENT);
	ASSERT_EQ(sim_guest_hypercall(g, HV_HCALL_POST_MESSAGE, SIM_TEST_RAM - 8, 0),
		  HV_STATUS_INVALID_ALIGNMENT);
	ASSERT_EQ(sim_guest_hypercall(g, HV_HCALL_POST_MESSAGE, 1ull << 45, 0), HV_STATUS_INVALID_PARAMETER);
	ASSERT_EQ(sim_guest_hypercall(g, HV_HCALL_POST_MESSAGE | HV_HCALL_FAST, 0, 0),
		  HV_STATUS_INVALID_HYPERCALL_INPUT);
	/* Now properly, and the whole path works. */
	ASSERT_OK(sim_guest_synic_enable(g));
	ASSERT_EQ(sim_guest_vmbus_connect_linux(g), VMBUS_VERSION_WIN10_V5_3);
	ASSERT_GE(sim_guest_request_offers(g), 1);
	/* Stop the machine before the guest hangs up (that would be a shutdown). */
	sim_env_stop(&e);
}

/* The guest goes away mid-connection (its socket closes with a channel open): the VP
 * stops as a machine would and the worker exits, saying why. */
static void test_guest_hangs_up(void)
{
	struct sim_env e;
	struct sim_guest_chan c;
	off_t mark;

	sim_env_start(&e);
	sim_env_open_hb(&e, SIM_GUEST_PFN_FREE, &c);
	vmbus_ring_fini(&c.in);
	vmbus_ring_fini(&c.out);
	mark = sim_log_mark();
	e.g = sim_guest_free(e.g);
	sim_log_wait(mark, "VP 0 shut down");
	sim_env_wait_exit(&e);
	ASSERT_FALSE(sim_env_halt(&e));
}

/* Runs the case named `name` when no names were given or it is among them. */
static bool wanted(int argc, char **argv, const char *name)
{
	if (argc < 7)
		return true;
	for (int i = 6; i < argc; i++)
		if (!strcmp(argv[i], name))
			return true;
	return false;
}

/* With arguments, only the named cases run (e.g. `concurrent_vandal`), to chase one. */
int main(int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr, "usage: %s INIT VMBUSD_DIR ICD_DIR VP_SIM_DIR DTC [CASE...]\n",
			argv[0]);
		return 2;
	}
	sim_env_init(argv + 1);
	if (wanted(argc, argv, "malformed_messages"))
		test_malformed_messages();
	if (wanted(argc, argv, "gpadl_outside_ram"))
		test_gpadl_outside_ram();
	if (wanted(argc, argv, "bad_open"))
		test_bad_open();
	if (wanted(argc, argv, "ring_damage")) {
		test_ring_damage(DAMAGE_WRITE_INDEX_PAST_RING,
				 "guest->host ring broken: Protocol error");
		test_ring_damage(DAMAGE_WRITE_INDEX_UNALIGNED,
				 "guest->host ring broken: Protocol error");
		test_ring_damage(DAMAGE_LEN8_PAST_DATA, "guest->host ring broken: Protocol error");
		test_ring_damage(DAMAGE_LEN8_TOO_SMALL, "guest->host ring broken: Bad message");
		test_ring_damage(DAMAGE_UNKNOWN_PACKET_TYPE,
				 "guest->host ring broken: Bad message");
		test_ring_damage(DAMAGE_PACKET_OVER_DEVICE_MAX,
				 "guest->host ring broken: Message too long");
		test_ring_damage(DAMAGE_READ_INDEX, "unable to write the ring: Protocol error");
	}
	if (wanted(argc, argv, "garbage_ic"))
		test_garbage_ic();
	if (wanted(argc, argv, "synic_hostile"))
		test_synic_hostile();
	if (wanted(argc, argv, "message_flood"))
		test_message_flood();
	if (wanted(argc, argv, "concurrent_vandal"))
		test_concurrent_vandal();
	if (wanted(argc, argv, "guest_hangs_up"))
		test_guest_hangs_up();
	fprintf(stderr, "sim hostile guests: all passed\n");
	return 0;
}
