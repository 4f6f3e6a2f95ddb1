/* SPDX-License-Identifier: MIT */
/*
 * Save/restore of the VMBus control plane: a guest session is saved mid-way,
 * restored into a fresh server (a restarted process) and continued there;
 * damaged blobs are refused and leave the server empty.
 */
#include "sim_guest.h"

struct snap {
	unsigned nchan, ngpadl;
	struct vmbus_chan_report chan[8];
	struct vmbus_gpadl_report gpadl[8];
	struct vmbus_conn_report conn;
};

static void sn_conn(void *ctx, const struct vmbus_conn_report *r)
{
	((struct snap *)ctx)->conn = *r;
}

static void sn_chan(void *ctx, const struct vmbus_chan_report *r)
{
	struct snap *s = ctx;
	ASSERT_LT(s->nchan, 8);
	s->chan[s->nchan++] = *r;
}

static void sn_gpadl(void *ctx, const struct vmbus_gpadl_report *r)
{
	struct snap *s = ctx;
	ASSERT_LT(s->ngpadl, 8);
	s->gpadl[s->ngpadl++] = *r;
}

static struct snap snap(struct vmbus_host *srv)
{
	static const struct vmbus_inspect_ops ops = {sn_conn, sn_chan, sn_gpadl};
	struct snap s;
	memset(&s, 0, sizeof(s));
	vmbus_host_inspect(srv, &ops, &s);
	return s;
}

static const struct vmbus_gpadl_report *find_gpadl(const struct snap *s, uint32_t id)
{
	for (unsigned i = 0; i < s->ngpadl; i++)
		if (s->gpadl[i].gpadl_id == id)
			return &s->gpadl[i];
	return NULL;
}

/* Same protocol state (counters are not saved). */
static void same_state(const struct snap *a, const struct snap *b)
{
	ASSERT_EQ(a->conn.state, b->conn.state);
	ASSERT_EQ(a->conn.version, b->conn.version);
	ASSERT_EQ(a->conn.target_vp, b->conn.target_vp);
	ASSERT_EQ(a->conn.offers_requested, b->conn.offers_requested);
	ASSERT_EQ(a->nchan, b->nchan);
	ASSERT_EQ(a->ngpadl, b->ngpadl);
	for (unsigned i = 0; i < a->nchan; i++) {
		const struct vmbus_chan_report *x = &a->chan[i], *y = &b->chan[i];
		ASSERT_EQ(x->relid, y->relid);
		ASSERT_EQ(memcmp(&x->if_type, &y->if_type, 16), 0);
		ASSERT_EQ(memcmp(&x->if_instance, &y->if_instance, 16), 0);
		ASSERT_EQ(x->sub_channel_index, y->sub_channel_index);
		ASSERT_EQ(x->state, y->state);
		ASSERT_EQ(x->offered, y->offered);
		ASSERT_EQ(x->rescinded, y->rescinded);
		ASSERT_EQ(x->target_vp, y->target_vp);
		ASSERT_EQ(x->ring_gpadl, y->ring_gpadl);
	}
	for (unsigned i = 0; i < a->ngpadl; i++) {
		const struct vmbus_gpadl_report *x = &a->gpadl[i], *y = find_gpadl(b, x->gpadl_id);
		ASSERT_TRUE(y);
		ASSERT_EQ(x->relid, y->relid);
		ASSERT_EQ(x->state, y->state);
		ASSERT_EQ(x->range_count, y->range_count);
		ASSERT_EQ(x->page_count, y->page_count);
		ASSERT_EQ(x->ring_in_use, y->ring_in_use);
	}
}

struct session {
	struct sim sim;
	uint32_t net, scsi, kvp, ring, buf, half;
};

/* A guest mid-way: an open channel with a deferred ring teardown pending, a
 * large GPADL, a GPADL waiting for its body, a rescinded channel not yet
 * released. */
static void session_start(struct session *x)
{
	uint64_t pfns[60];

	sim_init(&x->sim);
	x->net = sim_offer(&x->sim, HV_GUID_NET, 1, 0);
	x->scsi = sim_offer(&x->sim, HV_GUID_SCSI, 2, 0);
	x->kvp = sim_offer(&x->sim, HV_GUID_IC_KVP, 3, 0);
	ASSERT_EQ(sim_post_contact(&x->sim, VMBUS_VERSION_WIN10_V5_3, 1), 0);
	sim_expect(&x->sim, VMBUS_MSG_VERSION_RESPONSE);
	x->sim.version = VMBUS_VERSION_WIN10_V5_3;
	x->sim.msg_conn_id = 1;
	sim_request_offers(&x->sim);
	ASSERT_EQ(sim_gpadl(&x->sim, x->net, 100, 64, &x->ring), 0);
	ASSERT_EQ(sim_open(&x->sim, x->net, x->ring, 32, 2), 0);
	ASSERT_EQ(sim_gpadl(&x->sim, x->net, 1000, 300, &x->buf), 0);
	sim_post_teardown(&x->sim, x->net, x->ring); /* deferred */
	for (int i = 0; i < 60; i++)
		pfns[i] = 2000 + i;
	/* Header and first body of a 60-page GPADL; the last body comes later. */
	uint8_t m[VMBUS_MSG_MAX];
	struct vmbus_msg_gpadl_header h = {.hdr.msgtype = VMBUS_MSG_GPADL_HEADER,
					   .child_relid = x->scsi,
					   .gpadl = 0x777,
					   .range_buflen = 8 + 60 * 8,
					   .rangecount = 1};
	uint64_t rng = 60 * 4096;
	memcpy(m, &h, sizeof(h));
	memcpy(m + sizeof(h), &rng, 8);
	memcpy(m + sizeof(h) + 8, pfns, 26 * 8);
	ASSERT_EQ(sim_post(&x->sim, m, sizeof(h) + 8 + 26 * 8), 0);
	x->half = 0x777;
	ASSERT_OK(vmbus_host_rescind(x->sim.s, x->kvp));
	sim_expect(&x->sim, VMBUS_MSG_RESCIND_CHANNELOFFER);
	sim_expect_none(&x->sim);
}

static size_t save(struct vmbus_host *s, uint8_t **ret)
{
	ssize_t n = vmbus_host_save(s, NULL, 0);
	ASSERT_GT(n, 0);
	*ret = malloc((size_t)n);
	ASSERT_TRUE(*ret);
	ASSERT_EQ(vmbus_host_save(s, *ret, (size_t)n - 1), -ENOBUFS);
	ASSERT_EQ(vmbus_host_save(s, *ret, (size_t)n), n);
	return (size_t)n;
}

static void test_roundtrip_and_continue(void)
{
	struct session x;
	uint8_t *blob;
	size_t len;

	session_start(&x);
	struct snap before = snap(x.sim.s);
	struct vmbus_open_info oi_before;
	ASSERT_OK(vmbus_host_channel_info(x.sim.s, x.net, &oi_before));
	len = save(x.sim.s, &blob);

	/* The old process goes away; a new one restores. */
	struct vmbus_host *old = x.sim.s;
	struct vmbus_host_config cfg;
	sim_default_config(&cfg);
	ASSERT_OK(vmbus_host_new(&cfg, sim_ops(), &x.sim, &x.sim.s));
	unsigned nev = x.sim.nev;
	ASSERT_OK(vmbus_host_restore(x.sim.s, blob, len));
	ASSERT_EQ(x.sim.nev, nev); /* no device callback during restore */
	sim_expect_none(&x.sim);
	struct snap after = snap(x.sim.s);
	same_state(&before, &after);
	ASSERT_EQ(vmbus_host_restore(x.sim.s, blob, len), -EBUSY);

	struct vmbus_open_info oi;
	ASSERT_OK(vmbus_host_channel_info(x.sim.s, x.net, &oi));
	ASSERT_EQ(oi.page_count, 64);
	ASSERT_EQ(oi.downstream_page, 32);
	ASSERT_EQ(oi.target_vp, 2);
	ASSERT_EQ(oi.event_conn_id, oi_before.event_conn_id);
	ASSERT_EQ(memcmp(oi.pfns, oi_before.pfns, 64 * 8), 0);
	ASSERT_EQ(vmbus_host_channel_info(x.sim.s, x.scsi, &oi), -ENOENT);
	vmbus_host_free(old);

	/* The guest carries on: last body, close (the deferred teardown
	 * completes), release of the rescinded relid, messages to VP 1. */
	uint64_t rest[34];
	for (int i = 0; i < 34; i++)
		rest[i] = 2026 + i;
	uint8_t m[VMBUS_MSG_MAX];
	struct vmbus_msg_gpadl_body b = {.hdr.msgtype = VMBUS_MSG_GPADL_BODY, .gpadl = x.half};
	memcpy(m, &b, sizeof(b));
	memcpy(m + sizeof(b), rest, 28 * 8);
	ASSERT_EQ(sim_post(&x.sim, m, sizeof(b) + 28 * 8), 0);
	sim_expect_none(&x.sim);
	memcpy(m + sizeof(b), rest + 28, 6 * 8);
	ASSERT_EQ(sim_post(&x.sim, m, sizeof(b) + 6 * 8), 0);
	struct sim_msg *c = sim_expect(&x.sim, VMBUS_MSG_GPADL_CREATED);
	ASSERT_EQ(c->u.created.gpadl, x.half);
	ASSERT_EQ(c->u.created.creation_status, 0);
	ASSERT_EQ(c->vp, 1);
	ASSERT_EQ(x.sim.last_gpadl_pages, 60);
	ASSERT_UEQ(x.sim.last_gpadl_pfns[59], 2059);

	sim_post_relid(&x.sim, VMBUS_MSG_CLOSECHANNEL, x.net);
	ASSERT_EQ(sim_expect(&x.sim, VMBUS_MSG_GPADL_TORNDOWN)->u.torndown.gpadl, x.ring);
	sim_teardown(&x.sim, x.net, x.buf);
	sim_post_relid(&x.sim, VMBUS_MSG_RELID_RELEASED, x.kvp);
	ASSERT_FALSE(sim_inspect(&x.sim, x.kvp).found);
	ASSERT_EQ(sim_gpadl(&x.sim, x.net, 10, 8, &x.ring), 0);
	ASSERT_EQ(sim_open(&x.sim, x.net, x.ring, 4, 0), 0);
	sim_unload(&x.sim);
	free(blob);

	/* After UNLOAD: offers only, restorable too. */
	len = save(x.sim.s, &blob);
	struct vmbus_host *again;
	ASSERT_OK(vmbus_host_new(&cfg, sim_ops(), &x.sim, &again));
	ASSERT_OK(vmbus_host_restore(again, blob, len));
	ASSERT_EQ(snap(again).nchan, 2);
	ASSERT_EQ(snap(again).conn.state, VMBUS_CONN_DISCONNECTED);
	vmbus_host_free(again);
	free(blob);
	sim_fini(&x.sim);
}

static void test_damaged_blobs(void)
{
	struct session x;
	uint8_t *blob;
	size_t len;
	struct vmbus_host_config cfg;
	struct vmbus_host *s;

	session_start(&x);
	len = save(x.sim.s, &blob);
	sim_default_config(&cfg);

	/* Every truncation is refused; the server stays empty and usable. */
	for (size_t n = 0; n < len; n++) {
		ASSERT_OK(vmbus_host_new(&cfg, sim_ops(), &x.sim, &s));
		ASSERT_EQ(vmbus_host_restore(s, blob, n), -EBADMSG);
		struct snap e = snap(s);
		ASSERT_EQ(e.nchan, 0);
		ASSERT_EQ(e.ngpadl, 0);
		ASSERT_EQ(e.conn.state, VMBUS_CONN_DISCONNECTED);
		vmbus_host_free(s);
	}
	/* Trailing bytes, too. */
	uint8_t *longer = calloc(1, len + 1);
	memcpy(longer, blob, len);
	ASSERT_OK(vmbus_host_new(&cfg, sim_ops(), &x.sim, &s));
	ASSERT_EQ(vmbus_host_restore(s, longer, len + 1), -EBADMSG);
	vmbus_host_free(s);
	free(longer);

	/* Every single-byte change either is refused or restores a state the
	 * library can then unload cleanly. */
	unsigned refused = 0;
	for (size_t i = 0; i < len; i++) {
		static const uint8_t xors[] = {0x01, 0x80, 0xff};
		for (size_t k = 0; k < sizeof(xors); k++) {
			blob[i] ^= xors[k];
			x.sim.nev = 0;
			x.sim.qhead = x.sim.qtail;
			ASSERT_OK(vmbus_host_new(&cfg, sim_ops(), &x.sim, &s));
			int r = vmbus_host_restore(s, blob, len);
			if (r < 0) {
				ASSERT_EQ(r, -EBADMSG);
				ASSERT_EQ(snap(s).nchan, 0);
				refused++;
			} else {
				struct vmbus_msg_hdr u = {.msgtype = VMBUS_MSG_UNLOAD};
				vmbus_host_post(s, 1, &u, sizeof(u));
				ASSERT_EQ(snap(s).ngpadl, 0);
			}
			vmbus_host_free(s);
			blob[i] ^= xors[k];
		}
	}
	ASSERT_GT(refused, len); /* most damage is caught */
	x.sim.qhead = x.sim.qtail;

	/* A server with less RAM refuses GPADLs it cannot back. */
	cfg.ram.ranges[0].size = 512 * VMBUS_PAGE_SIZE;
	ASSERT_OK(vmbus_host_new(&cfg, sim_ops(), &x.sim, &s));
	ASSERT_EQ(vmbus_host_restore(s, blob, len), -EBADMSG);
	vmbus_host_free(s);
	/* And one capped below the saved version refuses the connection. */
	sim_default_config(&cfg);
	cfg.max_version = VMBUS_VERSION_WIN10;
	ASSERT_OK(vmbus_host_new(&cfg, sim_ops(), &x.sim, &s));
	ASSERT_EQ(vmbus_host_restore(s, blob, len), -EBADMSG);
	vmbus_host_free(s);
	free(blob);

	/* Busy servers cannot be saved. */
	x.sim.open_ret = VMBUS_PENDING;
	uint32_t ring;
	ASSERT_EQ(sim_gpadl(&x.sim, x.scsi, 5000 % SIM_RAM_PAGES, 8, &ring), 0);
	sim_post_open(&x.sim, x.scsi, ring, 4, 0);
	ASSERT_EQ(vmbus_host_save(x.sim.s, NULL, 0), -EBUSY);
	vmbus_host_open_complete(x.sim.s, x.scsi, 0);
	sim_expect(&x.sim, VMBUS_MSG_OPENCHANNEL_RESULT);
	ASSERT_GT(vmbus_host_save(x.sim.s, NULL, 0), 0);
	sim_fini(&x.sim);
}

int main(void)
{
	test_roundtrip_and_continue();
	test_damaged_blobs();
	printf("ok\n");
	return 0;
}
