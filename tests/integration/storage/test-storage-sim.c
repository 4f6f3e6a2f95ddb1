/* SPDX-License-Identifier: MIT */
/*
 * mhcl-storaged against a guest playing hv_storvsc through the sim backend (sim_env.h:
 * mhcl-init, mhcl-vmbusd, mhcl-icd, mhcl-storaged, mhcl-vp-sim; sim_storvsc.h): the init
 * sequence, the SCSI commands Linux's scan and sd send, data through GPA ranges to a file
 * and a memory disk; hostile packets and SRBs, each answered with the right status while
 * the channel goes on; and storaged killed with requests taken and not yet answered: every
 * one is answered exactly once and every write is on the file.
 *
 * LUNs attached and detached while the guest runs (`mhcl storage attach|detach`, through
 * diagd and init): the guest is told to rescan, REPORT LUNS follows, a detached LUN answers
 * INVALID_LUN.
 *
 * Usage: test-storage-sim INIT VMBUSD_DIR ICD_DIR VP_SIM_DIR DTC STORAGED_DIR DIAGD_DIR MHCL
 */
#include "sim_env.h"
#include "sim_storvsc.h"

#define RING_PFN (SIM_GUEST_PFN_FREE + 0x20)
#define DATA_PFN 0x400u
#define BLOCK 512u
#define DISK_BYTES (16u << 20)
#define MAX_PFNS 65u /* 256 KiB + an offset, as storaged advertises */

static char disk_path[128];
static const char *mhcl_cli;

static const struct vmbus_msg_offer_channel *scsi_offer(struct sim_env *e)
{
	static const struct hv_guid type = STORVSP_SCSI_CLASS;
	const struct vmbus_msg_offer_channel *o = sim_guest_find_offer(e->g, &type);
	ASSERT_TRUE(o != NULL);
	return o;
}

static void start(struct sim_env *e, struct sim_stor *s, uint32_t recv_pages)
{
	sim_env_start(e);
	ASSERT_OK(sim_stor_open(e->g, scsi_offer(e), RING_PFN, 8 + recv_pages, 8, s));
	ASSERT_EQ(sim_stor_init(s), STORVSP_VERSION_WIN10);
	ASSERT_UEQ(s->props.max_transfer_bytes, 256u * 1024u);
}

static uint8_t *page(struct sim_env *e, uint64_t pfn)
{
	return sim_guest_mem(e->g, pfn << 12, 4096);
}

/* An SRB on `lun` with a DATA buffer of len bytes at DATA_PFN + first. */
static void data_srb(struct sim_srb *srb, uint64_t *pfns, uint32_t first, uint32_t len, uint8_t lun)
{
	uint32_t n = (len + 4095) / 4096;
	for (uint32_t i = 0; i < n; i++)
		pfns[i] = DATA_PFN + first + i;
	srb->len = len;
	srb->byte_offset = 0;
	srb->pfns = pfns;
	srb->npfns = n;
	srb->lun = lun;
}

static void expect_good(const struct storvsp_packet *a, uint32_t xfer)
{
	ASSERT_EQ(a->operation, STORVSP_OP_COMPLETE_IO);
	ASSERT_EQ(a->status, 0);
	ASSERT_EQ(a->srb.srb_status, STORVSP_SRB_SUCCESS);
	ASSERT_EQ(a->srb.scsi_status, 0);
	ASSERT_UEQ(a->srb.data_transfer_length, xfer);
}

static void expect_sense(const struct storvsp_packet *a, uint8_t key, uint8_t asc)
{
	ASSERT_EQ(a->srb.scsi_status, 0x02);
	ASSERT_EQ(a->srb.srb_status, STORVSP_SRB_ERROR | STORVSP_SRB_AUTOSENSE_VALID);
	ASSERT_GE(a->srb.sense_info_length, 14);
	ASSERT_EQ(a->srb.sense[2] & 0x0f, key);
	ASSERT_EQ(a->srb.sense[12], asc);
}

static void read_expect(struct sim_stor *s, struct sim_env *e, uint8_t lun, uint64_t lba,
			uint32_t nblocks, uint8_t seed);

static void write_read(struct sim_stor *s, struct sim_env *e, uint8_t lun, uint64_t lba,
		       uint32_t nblocks, uint8_t seed)
{
	struct sim_srb srb;
	struct storvsp_packet a;
	uint64_t pfns[MAX_PFNS];
	uint32_t len = nblocks * BLOCK;

	for (uint32_t i = 0; i < len; i++)
		page(e, DATA_PFN + i / 4096)[i % 4096] = (uint8_t)(seed + i * 7);
	sim_srb_rw16(&srb, true, lba, nblocks);
	data_srb(&srb, pfns, 0, len, lun);
	ASSERT_OK(sim_stor_exec(s, 0x100 + seed, &srb, &a));
	expect_good(&a, len);
	read_expect(s, e, lun, lba, nblocks, seed);
}

/* Reads what write_read(..., seed) wrote there back into other pages, and checks it. */
static void read_expect(struct sim_stor *s, struct sim_env *e, uint8_t lun, uint64_t lba,
			uint32_t nblocks, uint8_t seed)
{
	struct sim_srb srb;
	struct storvsp_packet a;
	uint64_t pfns[MAX_PFNS];
	uint32_t len = nblocks * BLOCK;

	sim_srb_rw16(&srb, false, lba, nblocks);
	data_srb(&srb, pfns, 0x100, len, lun);
	for (uint32_t off = 0; off < len; off += 4096)
		memset(page(e, DATA_PFN + 0x100 + off / 4096), 0, 4096);
	ASSERT_OK(sim_stor_exec(s, 0x200 + seed, &srb, &a));
	expect_good(&a, len);
	for (uint32_t i = 0; i < len; i++)
		ASSERT_EQ(page(e, DATA_PFN + 0x100 + i / 4096)[i % 4096], (uint8_t)(seed + i * 7));
}

/* What Linux's scan and sd do, then data both ways on both disks. */
static void test_linux_path(void)
{
	struct sim_env e;
	struct sim_stor s;
	struct sim_srb srb;
	struct storvsp_packet a;
	uint64_t pfns[MAX_PFNS];

	start(&e, &s, 8);
	/* INQUIRY, 36 bytes, LUN 0: a disk, with the manifest's serial in VPD 0x80. */
	sim_srb_cdb(&srb, (const uint8_t[]){0x12, 0, 0, 0, 36, 0}, 6, STORVSP_DATA_READ);
	data_srb(&srb, pfns, 0, 36, 0);
	ASSERT_OK(sim_stor_exec(&s, 1, &srb, &a));
	expect_good(&a, 36);
	ASSERT_EQ(page(&e, DATA_PFN)[0], 0x00);
	ASSERT_EQ(memcmp(page(&e, DATA_PFN) + 8, "MHCL    ", 8), 0);
	sim_srb_cdb(&srb, (const uint8_t[]){0x12, 1, 0x80, 0, 255, 0}, 6, STORVSP_DATA_READ);
	data_srb(&srb, pfns, 0, 255, 0);
	ASSERT_OK(sim_stor_exec(&s, 2, &srb, &a));
	ASSERT_EQ(a.srb.srb_status, STORVSP_SRB_SUCCESS);
	ASSERT_EQ(page(&e, DATA_PFN)[1], 0x80);
	ASSERT_EQ(memcmp(page(&e, DATA_PFN) + 4, "SIMDISK0", 8), 0);
	/* REPORT LUNS: 0 and 1. */
	sim_srb_cdb(&srb, (const uint8_t[]){0xA0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0}, 12,
		    STORVSP_DATA_READ);
	data_srb(&srb, pfns, 0, 4096, 0);
	ASSERT_OK(sim_stor_exec(&s, 3, &srb, &a));
	expect_good(&a, 24);
	ASSERT_EQ(page(&e, DATA_PFN)[3], 16);
	ASSERT_EQ(page(&e, DATA_PFN)[8 + 1], 0);
	ASSERT_EQ(page(&e, DATA_PFN)[16 + 1], 1);
	/* READ CAPACITY(16) of the file: 16 MiB. */
	sim_srb_cdb(&srb, (const uint8_t[]){0x9E, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0},
		    16, STORVSP_DATA_READ);
	data_srb(&srb, pfns, 0, 32, 0);
	ASSERT_OK(sim_stor_exec(&s, 4, &srb, &a));
	expect_good(&a, 32);
	uint64_t last = 0;
	for (int i = 0; i < 8; i++)
		last = last << 8 | page(&e, DATA_PFN)[i];
	ASSERT_UEQ(last, DISK_BYTES / BLOCK - 1);
	/* TEST UNIT READY, then data: 1 block, 8 blocks at an odd LBA, 256 KiB. */
	sim_srb_cdb(&srb, (const uint8_t[]){0, 0, 0, 0, 0, 0}, 6, STORVSP_DATA_NONE);
	srb.len = 0;
	srb.lun = 0;
	ASSERT_OK(sim_stor_exec(&s, 5, &srb, &a));
	expect_good(&a, 0);
	write_read(&s, &e, 0, 0, 1, 1);
	write_read(&s, &e, 0, 33, 8, 2);
	write_read(&s, &e, 0, 1000, 512, 3);
	write_read(&s, &e, 1, 7, 64, 4);
	/* A sub-channel, as Linux asks for one per extra CPU: offered, opened, and serving
	 * the same LUNs. */
	struct vmbus_msg_offer_channel sub;
	struct sim_stor s1;
	ASSERT_OK(sim_stor_subchannels(&s, 1, &sub));
	ASSERT_EQ(sub.sub_channel_index, 1);
	ASSERT_OK(sim_stor_open(e.g, &sub, RING_PFN + 0x40, 16, 8, &s1));
	s1.version = s.version;
	write_read(&s1, &e, 0, 4096, 16, 5);
	write_read(&s, &e, 0, 4096 + 16, 16, 6);
	ASSERT_OK(sim_guest_chan_close(e.g, &s1.ch));
	/* A second controller: its own offer (another instance), its own protocol state. */
	static const struct hv_guid scsi = STORVSP_SCSI_CLASS;
	const struct vmbus_msg_offer_channel *c1 = NULL;
	unsigned nscsi = 0;
	for (unsigned i = 0; i < e.g->noffers; i++) {
		if (memcmp(&e.g->offers[i].if_type, &scsi, sizeof(scsi)) ||
		    e.g->offers[i].sub_channel_index)
			continue;
		nscsi++;
		if (memcmp(&e.g->offers[i].if_instance, &scsi_offer(&e)->if_instance, sizeof(scsi)))
			c1 = &e.g->offers[i];
	}
	ASSERT_EQ(nscsi, 2);
	ASSERT_TRUE(c1 != NULL);
	struct sim_stor s2;
	ASSERT_OK(sim_stor_open(e.g, c1, RING_PFN + 0x80, 16, 8, &s2));
	ASSERT_EQ(sim_stor_init(&s2), STORVSP_VERSION_WIN10);
	write_read(&s2, &e, 0, 100, 8, 7);
	ASSERT_OK(sim_guest_chan_close(e.g, &s2.ch));
	/* SYNCHRONIZE CACHE(10). */
	sim_srb_cdb(&srb, (const uint8_t[]){0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 10,
		    STORVSP_DATA_NONE);
	srb.len = 0;
	ASSERT_OK(sim_stor_exec(&s, 6, &srb, &a));
	expect_good(&a, 0);
	ASSERT_OK(sim_guest_chan_close(e.g, &s.ch));
	sim_env_stop(&e);
}

/* Sends an SRB whose GPA range and transfer length are given separately. */
static void send_lying(struct sim_stor *s, uint64_t id, const struct sim_srb *srb,
		       uint32_t range_bytes, uint64_t pfn)
{
	struct storvsp_packet p = {.operation = STORVSP_OP_EXECUTE_SRB,
				   .flags = STORVSP_FLAG_REQUEST_COMPLETION};
	uint64_t pfns[1] = {pfn};
	p.srb.length = sizeof(p.srb);
	p.srb.lun = srb->lun;
	p.srb.cdb_length = srb->cdb_len;
	p.srb.sense_info_length = STORVSP_SENSE_MAX;
	p.srb.data_in = srb->data_in;
	p.srb.data_transfer_length = srb->len;
	memcpy(p.srb.cdb, srb->cdb, 16);
	struct vmbus_ring_gpa range = {range_bytes, 0, 1, pfns};
	int r = vmbus_ring_send_gpa_direct(&s->ch.out, id, VMBUS_PKT_FLAG_COMPLETION_REQUESTED,
					   &range, 1, &p, sizeof(p));
	ASSERT_GE(r, 0);
	if (r == 1)
		ASSERT_EQ(sim_guest_signal(s->g, s->ch.conn_id), HV_STATUS_SUCCESS);
}

static void expect_answer(struct sim_stor *s, uint64_t id, struct storvsp_packet *a)
{
	uint64_t got;
	ASSERT_OK(sim_stor_recv(s, &got, a));
	ASSERT_UEQ(got, id);
}

/* Garbage from the guest: each bad packet gets the right answer (or, too short to answer,
 * none), and the channel, the other disk and the heartbeat go on. */
static void test_hostile(void)
{
	struct sim_env e;
	struct sim_stor s;
	struct sim_srb srb;
	struct storvsp_packet a, p;
	uint64_t pfns[MAX_PFNS];
	off_t mark = sim_log_mark();

	sim_env_start(&e);
	ASSERT_OK(sim_stor_open(e.g, scsi_offer(&e), RING_PFN, 16, 8, &s));
	/* An SRB before initialization. */
	sim_srb_cdb(&srb, (const uint8_t[]){0, 0, 0, 0, 0, 0}, 6, STORVSP_DATA_NONE);
	srb.len = 0;
	srb.lun = 0;
	ASSERT_OK(sim_stor_send(&s, 10, &srb));
	expect_answer(&s, 10, &a);
	ASSERT_UEQ(a.status, STORVSP_STATUS_INVALID_DEVICE_STATE);
	/* A version nobody knows, then init. */
	p = (struct storvsp_packet){.operation = STORVSP_OP_BEGIN_INITIALIZATION};
	ASSERT_EQ(sim_stor_control(&s, &p, NULL), 0);
	p = (struct storvsp_packet){.operation = STORVSP_OP_QUERY_PROTOCOL_VERSION};
	p.version.major_minor = 0x0909;
	ASSERT_UEQ((uint32_t)sim_stor_control(&s, &p, NULL), STORVSP_STATUS_REVISION_MISMATCH);
	ASSERT_EQ(sim_stor_init(&s), STORVSP_VERSION_WIN10);
	/* Too short to be a storage packet: dropped with no answer (nothing to echo). */
	ASSERT_OK(sim_stor_send_raw(&s, 11, "garbage", 7));
	/* An unknown operation. */
	p = (struct storvsp_packet){.operation = 99};
	ASSERT_OK(sim_stor_send_raw(&s, 12, &p, sizeof(p)));
	expect_answer(&s, 12, &a);
	ASSERT_UEQ(a.status, STORVSP_STATUS_INVALID_PARAMETER);
	/* CDB length 0 and 17. */
	sim_srb_cdb(&srb, (const uint8_t[]){0}, 1, STORVSP_DATA_NONE);
	srb.cdb_len = 0;
	ASSERT_OK(sim_stor_send(&s, 13, &srb));
	expect_answer(&s, 13, &a);
	ASSERT_EQ(a.srb.srb_status, STORVSP_SRB_INVALID_REQUEST);
	/* A transfer length larger than the buffer the packet describes. */
	sim_srb_rw16(&srb, false, 0, 8);
	srb.len = 4096;
	srb.lun = 0;
	send_lying(&s, 14, &srb, 512, DATA_PFN);
	expect_answer(&s, 14, &a);
	ASSERT_EQ(a.srb.srb_status, STORVSP_SRB_INVALID_REQUEST);
	/* A buffer outside guest RAM. */
	sim_srb_rw16(&srb, false, 0, 1);
	srb.len = 512;
	send_lying(&s, 15, &srb, 512, 0x7ffffffull);
	expect_answer(&s, 15, &a);
	ASSERT_EQ(a.srb.srb_status, STORVSP_SRB_ERROR);
	/* A READ past the end, an unknown opcode, a WRITE whose CDB disagrees with its
	 * transfer length. */
	sim_srb_rw16(&srb, false, DISK_BYTES / BLOCK, 1);
	data_srb(&srb, pfns, 0, 512, 0);
	ASSERT_OK(sim_stor_exec(&s, 16, &srb, &a));
	expect_sense(&a, 0x05, 0x21);
	sim_srb_cdb(&srb, (const uint8_t[]){0xFF, 0, 0, 0, 0, 0}, 6, STORVSP_DATA_NONE);
	srb.len = 0;
	ASSERT_OK(sim_stor_exec(&s, 17, &srb, &a));
	expect_sense(&a, 0x05, 0x20);
	sim_srb_rw16(&srb, true, 0, 2);
	data_srb(&srb, pfns, 0, 512, 0);
	ASSERT_OK(sim_stor_exec(&s, 18, &srb, &a));
	ASSERT_NE(a.srb.srb_status, STORVSP_SRB_SUCCESS);
	/* A LUN that is not there: INQUIRY says so, anything else is INVALID_LUN. */
	sim_srb_cdb(&srb, (const uint8_t[]){0x12, 0, 0, 0, 36, 0}, 6, STORVSP_DATA_READ);
	data_srb(&srb, pfns, 0, 36, 5);
	ASSERT_OK(sim_stor_exec(&s, 19, &srb, &a));
	ASSERT_EQ(page(&e, DATA_PFN)[0], 0x7F);
	sim_srb_cdb(&srb, (const uint8_t[]){0, 0, 0, 0, 0, 0}, 6, STORVSP_DATA_NONE);
	srb.len = 0;
	srb.lun = 5;
	ASSERT_OK(sim_stor_exec(&s, 20, &srb, &a));
	ASSERT_EQ(a.srb.srb_status, STORVSP_SRB_INVALID_LUN);
	/* Another SCSI channel (path) Linux scans: REPORT LUNS answers an empty list, other
	 * commands LOGICAL UNIT NOT SUPPORTED, never INVALID_LUN (which would make Linux
	 * remove the device with that target and LUN on channel 0). */
	uint8_t rl[12] = {0xA0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0};
	struct storvsp_packet q = {.operation = STORVSP_OP_EXECUTE_SRB};
	q.srb.length = sizeof(q.srb);
	q.srb.path_id = 1;
	q.srb.cdb_length = 12;
	q.srb.data_in = STORVSP_DATA_READ;
	q.srb.data_transfer_length = 4096;
	memcpy(q.srb.cdb, rl, sizeof(rl));
	{
		uint64_t pfn = DATA_PFN;
		struct vmbus_ring_gpa range = {4096, 0, 1, &pfn};
		memset(page(&e, DATA_PFN), 0xAA, 16);
		int r = vmbus_ring_send_gpa_direct(
		    &s.ch.out, 21, VMBUS_PKT_FLAG_COMPLETION_REQUESTED, &range, 1, &q, sizeof(q));
		ASSERT_GE(r, 0);
		if (r == 1)
			ASSERT_EQ(sim_guest_signal(e.g, s.ch.conn_id), HV_STATUS_SUCCESS);
		expect_answer(&s, 21, &a);
		expect_good(&a, 8);
		ASSERT_EQ(page(&e, DATA_PFN)[3], 0);
	}
	q.srb.cdb_length = 6;
	q.srb.data_in = STORVSP_DATA_NONE;
	q.srb.data_transfer_length = 0;
	memset(q.srb.cdb, 0, 16);
	ASSERT_OK(sim_stor_send_raw(&s, 22, &q, sizeof(q)));
	expect_answer(&s, 22, &a);
	expect_sense(&a, 0x05, 0x25);
	/* More requests than the queue depth, answered as room frees up. */
	unsigned sent = 0, got = 0;
	sim_srb_cdb(&srb, (const uint8_t[]){0, 0, 0, 0, 0, 0}, 6, STORVSP_DATA_NONE);
	srb.len = 0;
	srb.lun = 0;
	while (got < 400) {
		uint64_t id;
		if (sent < 400) {
			int r = sim_stor_send(&s, 1000 + sent, &srb);
			if (r == 0) {
				sent++;
				continue;
			}
			ASSERT_EQ(r, -EAGAIN);
		}
		ASSERT_OK(sim_stor_recv(&s, &id, &a));
		ASSERT_UEQ(id, 1000 + got);
		expect_good(&a, 0);
		got++;
	}
	/* Still serving both disks, and the rest of VMBus. */
	write_read(&s, &e, 0, 5, 8, 9);
	write_read(&s, &e, 1, 5, 8, 10);
	ASSERT_TRUE(sim_log_has(mark, "refused a packet"));
	ASSERT_FALSE(sim_log_has(mark, "ring broken"));
	sim_env_hb_alive(&e, SIM_GUEST_PFN_FREE + 0x200);
	ASSERT_OK(sim_guest_chan_close(e.g, &s.ch));
	sim_env_stop(&e);
}

/* storaged killed with requests taken and not answered (its completions wait for room in
 * a 1-page host->guest ring): the next instance answers each exactly once, and every write
 * reached the file. The memory disk keeps what was written before (init keeps its memfd). */
/* n writes of IN_FLIGHT_NB blocks to LUN 0, the k-th (from first) at block 16 + k * NB
 * from its own page filled with (pattern + k - first), transaction ids from id. */
#define IN_FLIGHT_NB 8u
static void send_writes(struct sim_env *e, struct sim_stor *s, unsigned first, unsigned n,
			uint64_t id, unsigned pattern)
{
	struct sim_srb srb;
	for (unsigned i = 0; i < n; i++) {
		unsigned k = first + i;
		uint64_t pfn = DATA_PFN + k;
		memset(page(e, pfn), (int)(pattern + i), 4096);
		sim_srb_rw16(&srb, true, 16 + (uint64_t)k * IN_FLIGHT_NB, IN_FLIGHT_NB);
		srb.len = IN_FLIGHT_NB * BLOCK;
		srb.byte_offset = 0;
		srb.pfns = &pfn;
		srb.npfns = 1;
		srb.lun = 0;
		ASSERT_OK(sim_stor_send(s, id + i, &srb));
	}
}

static void test_killed_in_flight(void)
{
	enum { N = 150, NB = IN_FLIGHT_NB };
	struct sim_env e;
	struct sim_stor s;
	struct storvsp_packet a;
	bool seen[N] = {false};
	off_t mark;

	sim_env_restarts = true;
	start(&e, &s, 2);
	write_read(&s, &e, 1, 100, 16, 0x5a);
	send_writes(&e, &s, 0, N, 5000, 1);
	/* Wait until storaged holds requests it cannot answer yet: it took all of them, or
	 * its completions wait for room (it asked to be woken when there is: it stops taking
	 * more then). */
	struct vmbus_ring_info info;
	for (int i = 0; i < 20000; i++) {
		vmbus_ring_get_info(&s.ch.in, &info);
		if (info.pending_send_sz || vmbus_ring_peer_drained(&s.ch.out))
			break;
		nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
	}
	ASSERT_TRUE(info.pending_send_sz || vmbus_ring_peer_drained(&s.ch.out));
	mark = sim_log_mark();
	pid_t pid = sim_env_child(e.init, "mhcl-storaged");
	ASSERT_GT(pid, 0);
	ASSERT_OK(kill(pid, SIGKILL));
	sim_log_wait(mark, "adopted the storage state of the previous instance (it crashed)");
	for (unsigned got = 0; got < N; got++) {
		uint64_t id;
		ASSERT_OK(sim_stor_recv(&s, &id, &a));
		ASSERT_TRUE(id >= 5000 && id < 5000 + N);
		ASSERT_FALSE(seen[id - 5000]);
		seen[id - 5000] = true;
		expect_good(&a, NB * BLOCK);
	}
	/* Nothing more comes. */
	uint64_t id;
	ASSERT_EQ(sim_stor_try_recv(&s, &id, &a), -EAGAIN);
	ASSERT_TRUE(sim_log_has(mark, "requests to finish"));
	ASSERT_TRUE(sim_log_has(mark, "memory disk 1: kept from the previous instance"));
	read_expect(&s, &e, 1, 100, 16, 0x5a);
	/* A planned restart with as many in flight: the next instance is prestarted and takes
	 * over; every request is answered exactly once (the out ring is full, so the old
	 * instance stops with completions still owed, and the next one finishes them). */
	bool seen2[N] = {false};
	send_writes(&e, &s, N, N, 7000, 101);
	mark = sim_log_mark();
	ASSERT_EQ(sim_env_mhcl(&e, mhcl_cli, NULL, 0, "restart", "storage", (char *)NULL), 0);
	for (unsigned got = 0; got < N; got++) {
		ASSERT_OK(sim_stor_recv(&s, &id, &a));
		ASSERT_TRUE(id >= 7000 && id < 7000 + N);
		ASSERT_FALSE(seen2[id - 7000]);
		seen2[id - 7000] = true;
		expect_good(&a, NB * BLOCK);
	}
	ASSERT_EQ(sim_stor_try_recv(&s, &id, &a), -EAGAIN);
	ASSERT_TRUE(sim_log_has(mark, "prestarted pid"));
	ASSERT_TRUE(sim_log_has(mark, "takes over"));
	ASSERT_TRUE(sim_log_has(mark, "adopted the storage state of the previous instance "
				      "(planned restart)"));
	read_expect(&s, &e, 1, 100, 16, 0x5a);
	/* vmbusd killed: storaged leaves cleanly (it used to read its freed controllers when
	 * its own bus closed on the way out), its next instance joins the next vmbusd and
	 * serves the same disks. */
	mark = sim_log_mark();
	pid_t vpid = sim_env_child(e.init, "mhcl-vmbusd");
	ASSERT_GT(vpid, 0);
	ASSERT_OK(kill(vpid, SIGKILL));
	sim_log_wait(mark, "exiting so that the next storaged joins the next vmbusd");
	sim_log_wait(mark, "adopted the storage state of the previous instance");
	sim_log_wait(mark, "controller 0 channel 0 (relid 3) adopted");
	read_expect(&s, &e, 1, 100, 16, 0x5a);
	ASSERT_TRUE(sim_log_has(mark, "exited with 0 (exited 0)")); /* storaged, not vmbusd */
	ASSERT_FALSE(sim_log_has(mark, "AddressSanitizer"));
	/* Every write is on the file. */
	ASSERT_OK(sim_guest_chan_close(e.g, &s.ch));
	sim_env_stop(&e);
	sim_env_restarts = false;
	int fd = open(disk_path, O_RDONLY);
	ASSERT_GE(fd, 0);
	for (unsigned i = 0; i < 2 * N; i++) {
		uint8_t buf[NB * BLOCK];
		ASSERT_EQ(pread(fd, buf, sizeof(buf), (off_t)(16 + i * NB) * BLOCK),
			  (ssize_t)sizeof(buf));
		uint8_t want = i < N ? (uint8_t)(i + 1) : (uint8_t)(i - N + 101);
		for (unsigned k = 0; k < sizeof(buf); k++)
			ASSERT_EQ(buf[k], want);
	}
	close(fd);
}

/* Runs `mhcl storage VERB LUN` against e's diagd; returns its exit status. */
static int storage_cmd(struct sim_env *e, const char *verb, const char *lun)
{
	return sim_env_mhcl(e, mhcl_cli, NULL, 0, "storage", verb, lun, (char *)NULL);
}

/* The next host packet must be the unsolicited ENUMERATE_BUS (transaction id 0). */
static void expect_rescan(struct sim_stor *s)
{
	struct vmbus_pkt pkt;
	int r;
	for (int i = 0; i < 20000; i++) {
		r = vmbus_ring_recv(&s->ch.in, s->ch.pkt, sizeof(s->ch.pkt), &pkt);
		if (r != -EAGAIN)
			break;
		nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
	}
	ASSERT_EQ(r, 0);
	ASSERT_OK(vmbus_ring_recv_commit(&s->ch.in) < 0 ? -1 : 0);
	ASSERT_EQ(pkt.type, VMBUS_PKT_DATA_INBAND);
	ASSERT_UEQ(pkt.trans_id, 0);
	struct storvsp_packet p;
	ASSERT_GE(pkt.payload_len, sizeof(p));
	memcpy(&p, pkt.payload, sizeof(p));
	ASSERT_EQ(p.operation, STORVSP_OP_ENUMERATE_BUS);
}

static unsigned reported_luns(struct sim_stor *s, struct sim_env *e, uint8_t *luns)
{
	struct sim_srb srb;
	struct storvsp_packet a;
	uint64_t pfns[MAX_PFNS];
	sim_srb_cdb(&srb, (const uint8_t[]){0xA0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0}, 12,
		    STORVSP_DATA_READ);
	data_srb(&srb, pfns, 0, 4096, 0);
	ASSERT_OK(sim_stor_exec(s, 30, &srb, &a));
	ASSERT_EQ(a.srb.srb_status, STORVSP_SRB_SUCCESS);
	const uint8_t *d = page(e, DATA_PFN);
	unsigned n = d[3] / 8;
	for (unsigned i = 0; i < n; i++)
		luns[i] = d[8 + 8 * i + 1];
	return n;
}

/* A declared-absent LUN attached, used, detached while the guest runs. */
static void test_hotplug(void)
{
	struct sim_env e;
	struct sim_stor s;
	struct sim_srb srb;
	struct storvsp_packet a;
	uint8_t luns[16];

	start(&e, &s, 8);
	ASSERT_EQ(reported_luns(&s, &e, luns), 2);
	ASSERT_EQ(storage_cmd(&e, "attach", "0:5"), 0);
	expect_rescan(&s);
	ASSERT_EQ(reported_luns(&s, &e, luns), 3);
	ASSERT_EQ(luns[2], 5);
	write_read(&s, &e, 5, 0, 8, 11);
	/* Attaching again changes nothing and asks for no rescan. */
	ASSERT_EQ(storage_cmd(&e, "attach", "0:5"), 0);
	ASSERT_EQ(storage_cmd(&e, "detach", "0:5"), 0);
	expect_rescan(&s);
	sim_srb_cdb(&srb, (const uint8_t[]){0, 0, 0, 0, 0, 0}, 6, STORVSP_DATA_NONE);
	srb.len = 0;
	srb.lun = 5;
	ASSERT_OK(sim_stor_exec(&s, 31, &srb, &a));
	ASSERT_EQ(a.srb.srb_status, STORVSP_SRB_INVALID_LUN);
	ASSERT_EQ(reported_luns(&s, &e, luns), 2);
	/* A LUN the manifest does not declare, a controller that does not exist. */
	ASSERT_NE(storage_cmd(&e, "attach", "0:9"), 0);
	ASSERT_NE(storage_cmd(&e, "attach", "3:0"), 0);
	ASSERT_NE(storage_cmd(&e, "attach", "0:70"), 0);
	ASSERT_OK(sim_guest_chan_close(e.g, &s.ch));
	sim_env_stop(&e);
}

int main(int argc, char **argv)
{
	static char servers[1024];
	static char libexec[1024];
	if (argc != 9) {
		fprintf(stderr,
			"usage: %s INIT VMBUSD_DIR ICD_DIR VP_SIM_DIR DTC STORAGED_DIR DIAGD_DIR "
			"MHCL\n",
			argv[0]);
		return 2;
	}
	mhcl_cli = argv[8];
	snprintf(libexec, sizeof(libexec), "%s:%s", argv[6], argv[7]);
	sim_env_init(argv + 1);
	snprintf(disk_path, sizeof(disk_path), "%s/disk.img", sim_paths.base);
	int fd = open(disk_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ASSERT_GE(fd, 0);
	ASSERT_OK(ftruncate(fd, DISK_BYTES));
	close(fd);
	snprintf(servers, sizeof(servers),
		 "storage { binary = \"mhcl-storaged\"; args = \"--vmbus-socket\","
		 " \"${RUN}/dev.sock\", \"--disk\", \"file=%s,serial=SIMDISK0\", \"--disk\","
		 " \"memory=4M\", \"--disk\", \"memory=1M,lun=5,absent\", \"--disk\", "
		 "\"memory=1M,controller=1\"; policy = \"storaged\";"
		 " restart = \"always\"; restart-delay-ms = <10>; crash-loop-limit = <32>;"
		 " start-order = <25>; prestart; };\n"
		 "diag { binary = \"mhcl-diagd\"; args = \"--unix\", \"${RUN}/diag.sock\";"
		 " policy = \"diagd\"; restart = \"never\"; start-order = <5>; control; };\n",
		 disk_path);
	sim_env_extra_servers = servers;
	sim_env_extra_libexec = libexec;
	test_linux_path();
	test_hostile();
	test_killed_in_flight();
	test_hotplug();
	fprintf(stderr, "storage sim: all passed\n");
	return 0;
}
