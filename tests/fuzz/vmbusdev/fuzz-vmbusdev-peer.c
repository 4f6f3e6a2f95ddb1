/* SPDX-License-Identifier: MIT */
/*
 * lib/vmbusdev, the device half of VMBus channels, against vmbusd as an untrusted peer:
 * the target plays vmbusd on the raw end of the device's bus connection (vmbusdev_attach)
 * and sends VmbusdChannelOpen (with guest RAM, doorbell and irqfd fds), VmbusdChannelClose,
 * WorkerSynicPages and any other frame built from the input, and plays the guest: it writes
 * packets into the rings of the channels it opened and rings their doorbells, or
 * scribbles over guest RAM. The device registers three channels whose ops drain the
 * guest->host ring, answer every packet on the host->guest ring and interrupt the guest.
 *
 * Guest RAM is a sealed memfd from guestmem_create() with a hole: the layout vmbusd sends
 * places 256 KiB at GPA 0 (memfd offset 0) and 256 KiB at GPA 4 GiB (memfd offset
 * 512 KiB), so memfd bytes [256 KiB, 512 KiB) are mapped by the device but are no guest
 * RAM. They hold a pattern that must never change (unless a raw frame sent another
 * layout). Checks: no crash, leak or hang; every request gets exactly one answer (while
 * the connection lives), every refusal says why; an accepted open leaves the channel
 * open on the relid asked for; every ops->open (accepted or refused by the device) is
 * matched by one ops->close by the time the device is freed (a refused one by none); no fd is left
 * behind.
 *
 * Input: byte 0: bit 0 refuse the first DeviceOffer (vmbusd refuses the device), bits
 * 1-2 the channel whose ops->open refuses. Then records of op u8, len u8, len bytes;
 * fields are read from the bytes in order, 0 once they run out.
 *   op % 8:
 *   0 VmbusdChannelOpen  offer_id u8, relid u16, target_vp u8, npfns u8, first page u8,
 *                  downstream u8, siefp page u8, partition u8, flags u8: bit 0 with the
 *                  RAM layout and memfd, bit 1 resume, bit 2 one fd less, bit 3 one more,
 *                  bit 4 the memfd unsealed, bit 5 reset the rings first (as a guest
 *                  does), bit 6 the doorbell is a pipe
 *   1 VmbusdChannelClose offer_id u8, relid u16
 *   2 WorkerSynicPages   vp u8, enabled u8, siefp page u8
 *   3 raw frame    type u8, kind u8 (bit 0 notification, else request), nfds u8 (bit
 *                  3: the first is the memfd), then the body as it is
 *   4 guest packet offer_id u8, then the payload: sent on the ring, doorbell rung
 *   5 guest write  page u8, offset u16, then bytes written there (a hostile guest)
 *   6 doorbell     offer_id u8
 *   7 reconnect    the device is freed and attaches again on a new connection
 * A page number p is PFN p below 64, PFN 4 GiB/4 KiB + p - 64 below 128, else PFN p
 * (in the hole, not RAM).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bus.pb-c.h"
#include "fuzz-peer.h"
#include "guestmem.h"
#include "ipc.h"
#include "log.h"
#include "vmbus.pb-c.h"
#include "vmbus_ring.h"
#include "vmbusdev.h"

#define NCHANS 3
#define RAM_BYTES (1u << 20)
#define RANGE_BYTES (256u << 10)
#define HOLE_OFF RANGE_BYTES
#define HIGH_OFF (512u << 10)
#define HIGH_PFN (1ull << 20) /* GPA 4 GiB */
#define PAGE 4096u
#define HOLE_BYTE 0xa5
#define MAX_PENDING 64
#define PARTITION_BASE 100

struct chan_state {
	struct vmbusdev_chan *c;
	bool refuse;
	unsigned opens, closes;
	/* What the guest handed over with the last open the device accepted. */
	uint64_t pfns[256];
	uint32_t npfns, downstream;
	int doorbell; /* ours: the guest's HvSignalEvent; -1 none */
};

static struct {
	uv_loop_t loop;
	struct guestmem ram; /* the worker's side: the whole memfd mapped */
	struct vmbusdev *v;
	int raw; /* vmbusd's end */
	bool gone, layout_known;
	uint32_t asked, answered, next_id;
	uint32_t pend_ids[MAX_PENDING]; /* the device's requests to answer */
	unsigned npend;
	struct chan_state ch[NCHANS];
	unsigned total_opens, total_closes;
} f;

struct cursor {
	const uint8_t *p;
	size_t len, off;
};

static uint32_t take(struct cursor *c, unsigned bytes)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < bytes; i++)
		v |= (uint32_t)(c->off < c->len ? c->p[c->off++] : 0) << (8 * i);
	return v;
}

static uint64_t pfn_of(unsigned page)
{
	if (page < 64)
		return page;
	if (page < 128)
		return HIGH_PFN + page - 64;
	return page;
}

/* Our own view of a guest page (the guest's access), or NULL outside RAM. */
static uint8_t *guest_page(uint64_t pfn)
{
	if (pfn < RANGE_BYTES / PAGE)
		return f.ram.base + pfn * PAGE;
	if (pfn >= HIGH_PFN && pfn < HIGH_PFN + RANGE_BYTES / PAGE)
		return f.ram.base + HIGH_OFF + (pfn - HIGH_PFN) * PAGE;
	return NULL;
}

static void check_hole(void)
{
	static uint8_t want[RAM_BYTES - HOLE_OFF];

	if (!f.layout_known)
		return;
	if (!want[0])
		memset(want, HOLE_BYTE, sizeof(want));
	CHECK(!memcmp(f.ram.base + HOLE_OFF, want, HIGH_OFF - HOLE_OFF));
}

/* ---- the device ---- */

static int op_open(struct vmbusdev_chan *c, bool resume, void *opaque, const char **why)
{
	struct chan_state *s = opaque;

	(void)resume;
	CHECK(s->c == c && vmbusdev_chan_is_open(c));
	/* A refused open is not closed again: only accepted ones count. */
	if (s->refuse) {
		*why = "this device refuses";
		return -EPERM;
	}
	s->opens++;
	f.total_opens++;
	return 0;
}

/* Drains the guest's packets and answers each with a completion carrying its bytes. */
static void op_signaled(struct vmbusdev_chan *c, void *opaque)
{
	struct chan_state *s = opaque;
	struct vmbus_ring *in = vmbusdev_chan_in(c), *out = vmbusdev_chan_out(c);
	static uint8_t buf[8192];
	struct vmbus_pkt pkt;
	bool signal = false;
	int r;

	CHECK(s->c == c && vmbusdev_chan_is_open(c));
	for (int rounds = 0; rounds < 4; rounds++) {
		vmbus_ring_mask_interrupts(in);
		while ((r = vmbus_ring_recv(in, buf, sizeof(buf), &pkt)) == 0) {
			uint32_t n = pkt.payload_len < 64 ? pkt.payload_len : 64;
			signal |=
			    vmbus_ring_send_completion(out, pkt.trans_id, pkt.payload, n) == 1;
		}
		if (r != -EAGAIN)
			break;
		signal |= vmbus_ring_recv_commit(in) == 1;
		if (vmbus_ring_unmask_interrupts(in) != 1)
			break;
	}
	if (signal)
		(void)vmbusdev_chan_signal(c);
}

static void op_close(struct vmbusdev_chan *c, void *opaque)
{
	struct chan_state *s = opaque;

	CHECK(s->c == c);
	s->closes++;
	f.total_closes++;
}

static const struct vmbusdev_chan_ops chan_ops = {
    .open = op_open, .signaled = op_signaled, .close = op_close};

static void lost(struct vmbusdev *v, int reason, void *opaque)
{
	(void)v;
	(void)reason;
	(void)opaque;
}

/* ---- vmbusd's end ---- */

static void settle(void)
{
	struct fuzz_frame fr;
	int r;

	for (int round = 0; round < 4; round++) {
		uv_run(&f.loop, UV_RUN_NOWAIT);
		while (!f.gone && (r = fuzz_peer_recv(f.raw, &fr)) != 0) {
			if (r < 0) {
				f.gone = true;
				break;
			}
			CHECK(fr.nfds == 0); /* a device never sends fds */
			if (fr.h.flags & IPC_F_RESPONSE) {
				f.answered++;
				CHECK(f.answered <= f.asked);
			} else if (fr.h.flags & IPC_F_REQUEST) {
				CHECK(fr.h.type == IPC_MSG_VP_DEVICE_OFFER);
				if (f.npend < MAX_PENDING)
					f.pend_ids[f.npend++] = fr.h.request_id;
			}
			fuzz_frame_close_fds(&fr);
		}
	}
	check_hole();
}

static void send_frame(uint16_t type, bool request, const void *body, size_t len, const int *fds,
		       size_t nfds)
{
	uint32_t id = request ? f.next_id++ : 0;

	if (f.gone)
		return;
	if (fuzz_peer_send(f.raw, type, request ? IPC_F_REQUEST : IPC_F_NOTIFY, id, body, len, fds,
			   nfds) == 0 &&
	    request)
		f.asked++;
}

static void send_msg(uint16_t type, bool request, const ProtobufCMessage *m, const int *fds,
		     size_t nfds)
{
	static uint8_t body[IPC_BODY_MAX];
	size_t len = protobuf_c_message_get_packed_size(m);

	CHECK(len <= sizeof(body));
	protobuf_c_message_pack(m, body);
	send_frame(type, request, body, len, fds, nfds);
}

/* Answers the device's DeviceOffer requests (the first one refused if asked to). */
static void answer_offers(bool refuse_first)
{
	for (unsigned i = 0; i < f.npend && !f.gone; i++) {
		if (refuse_first && i == 0) {
			Mhcl__ErrorReply e = MHCL__ERROR_REPLY__INIT;
			uint8_t body[64];
			e.errno_code = EEXIST;
			e.message = "another device offers this channel";
			size_t n = mhcl__error_reply__pack(&e, body);
			(void)fuzz_peer_send(f.raw, IPC_MSG_VP_DEVICE_OFFER,
					     IPC_F_RESPONSE | IPC_F_ERROR, f.pend_ids[i], body, n,
					     NULL, 0);
			continue;
		}
		(void)fuzz_peer_send(f.raw, IPC_MSG_VP_DEVICE_OFFER, IPC_F_RESPONSE, f.pend_ids[i],
				     NULL, 0, NULL, 0);
	}
	f.npend = 0;
	settle();
}

static void device_connect(bool refuse_first)
{
	int fds[2];

	CHECK(ipc_socketpair(fds) == 0);
	f.raw = fds[0];
	f.gone = false;
	f.asked = f.answered = 0;
	f.npend = 0;
	f.next_id = 1;
	CHECK(vmbusdev_attach(&f.loop, fds[1], lost, NULL, &f.v) == 0);
	for (unsigned i = 0; i < NCHANS; i++) {
		Mhcl__Vmbus__DeviceOffer o = MHCL__VMBUS__DEVICE_OFFER__INIT;
		uint8_t type[16] = {0x39, 0x45, 0x6f, 0x57}, inst[16] = {(uint8_t)i};
		o.if_type = (ProtobufCBinaryData){16, type};
		o.if_instance = (ProtobufCBinaryData){16, inst};
		CHECK(vmbusdev_chan_new(f.v, &o, &chan_ops, &f.ch[i], &f.ch[i].c) == 0);
		f.ch[i].npfns = 0;
	}
	CHECK(vmbusdev_register(f.v) == 0);
	settle();
	answer_offers(refuse_first);
}

static void device_free(void)
{
	vmbusdev_free(f.v);
	f.v = NULL;
	close(f.raw);
	for (int i = 0; i < 8; i++)
		uv_run(&f.loop, UV_RUN_NOWAIT);
	for (unsigned i = 0; i < NCHANS; i++) {
		CHECK(f.ch[i].opens == f.ch[i].closes);
		f.ch[i].c = NULL;
	}
}

/* A memfd that is not sealed against shrinking, as big as guest RAM. */
static int unsealed_memfd(void)
{
	int fd = memfd_create("fuzz-unsealed", MFD_CLOEXEC);

	CHECK(fd >= 0 && ftruncate(fd, RAM_BYTES) == 0);
	return fd;
}

static int doorbell_fd(bool pipe_end, int *extra)
{
	int p[2];

	*extra = -1;
	if (!pipe_end)
		return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	CHECK(pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0);
	*extra = p[1];
	return p[0];
}

/* The guest's side of a channel's rings (false if they are not in RAM). */
static bool guest_rings(const uint64_t *pfns, uint32_t n, uint32_t down, struct vmbus_ring *in,
			struct vmbus_ring *out)
{
	void *pages[256];

	for (uint32_t i = 0; i < n; i++)
		if (!(pages[i] = guest_page(pfns[i])))
			return false;
	return vmbus_ring_pair_init(in, out, pages, n, down, false) == 0;
}

static void channel_open(struct cursor *c)
{
	Mhcl__Vmbus__VmbusdChannelOpen m = MHCL__VMBUS__VMBUSD_CHANNEL_OPEN__INIT;
	Mhcl__Vmbus__RamRange rr[2] = {MHCL__VMBUS__RAM_RANGE__INIT, MHCL__VMBUS__RAM_RANGE__INIT};
	Mhcl__Vmbus__RamRange *rrp[2] = {&rr[0], &rr[1]};
	uint64_t pfns[256];
	int fds[5], nfds = 0, extra = -1, unsealed = -1, bell;
	uint32_t offer_id = take(c, 1), relid = take(c, 2), vp = take(c, 1);
	uint32_t npfns = take(c, 1), first = take(c, 1), down = take(c, 1);
	uint32_t siefp = take(c, 1), partition = take(c, 1), flags = take(c, 1);

	for (uint32_t i = 0; i < npfns; i++)
		pfns[i] = pfn_of(first + i);
	m.offer_id = offer_id;
	m.relid = relid;
	m.target_vp = vp;
	m.n_pfns = npfns;
	m.pfns = pfns;
	m.downstream_page = down;
	m.siefp_gpa = siefp ? pfn_of(siefp - 1) * PAGE : 0;
	m.partition = PARTITION_BASE + partition % 4;
	m.resume = flags & 2;
	rr[0].size = rr[1].size = RANGE_BYTES;
	rr[1].gpa = HIGH_PFN * PAGE;
	rr[1].memfd_offset = HIGH_OFF;
	if (flags & 1) {
		m.n_ram = 2;
		m.ram = rrp;
		fds[nfds++] = flags & 16 ? (unsealed = unsealed_memfd()) : f.ram.memfd;
	}
	fds[nfds++] = bell = doorbell_fd(flags & 64, &extra);
	fds[nfds++] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); /* the VP's SINT irqfd */
	if (flags & 8)
		fds[nfds++] = eventfd(0, EFD_CLOEXEC);
	if ((flags & 4) && nfds)
		nfds--;
	if ((flags & 32) && !m.resume) {
		struct vmbus_ring in, out;
		if (npfns >= 2 && down && down < npfns &&
		    guest_rings(pfns, npfns, down, &in, &out)) {
			vmbus_ring_reset(&in);
			vmbus_ring_reset(&out);
			vmbus_ring_fini(&in);
			vmbus_ring_fini(&out);
		}
	}

	struct chan_state *s = offer_id && offer_id <= NCHANS ? &f.ch[offer_id - 1] : NULL;
	unsigned opens = s ? s->opens : 0;
	uint32_t answered = f.answered;
	send_msg(IPC_MSG_VP_CHANNEL_OPEN, true, &m.base, fds, (size_t)nfds);
	settle();
	if (s && s->opens > opens && vmbusdev_chan_is_open(s->c)) {
		/* Accepted: open on the relid vmbusd named; the guest can use the rings. */
		CHECK(vmbusdev_chan_relid(s->c) == relid);
		CHECK(f.answered > answered || f.gone);
		memcpy(s->pfns, pfns, sizeof(uint64_t) * npfns);
		s->npfns = npfns;
		s->downstream = down;
		if (s->doorbell >= 0)
			close(s->doorbell);
		s->doorbell = dup(bell);
	}
	for (int i = 0; i < nfds; i++)
		if (fds[i] != f.ram.memfd)
			close(fds[i]);
	if (flags & 4) /* the fd not sent */
		close(fds[nfds]);
	if (extra >= 0)
		close(extra);
	if (unsealed >= 0 && !(flags & 1))
		close(unsealed);
}

static void guest_packet(struct cursor *c)
{
	uint32_t offer_id = take(c, 1);
	struct chan_state *s = offer_id && offer_id <= NCHANS ? &f.ch[offer_id - 1] : NULL;
	struct vmbus_ring in, out;
	uint64_t one = 1;

	if (!s || !s->npfns || s->doorbell < 0)
		return;
	/* The guest writes its guest->host ring, which is the device's in ring. */
	if (!guest_rings(s->pfns, s->npfns, s->downstream, &in, &out))
		return;
	(void)vmbus_ring_send_inband(&out, c->off, 1, c->p + c->off, (uint32_t)(c->len - c->off));
	vmbus_ring_fini(&in);
	vmbus_ring_fini(&out);
	(void)!write(s->doorbell, &one, sizeof(one));
}

static void record(uint8_t op, struct cursor *c)
{
	switch (op % 8) {
	case 0:
		channel_open(c);
		return;
	case 1: {
		Mhcl__Vmbus__VmbusdChannelClose m = MHCL__VMBUS__VMBUSD_CHANNEL_CLOSE__INIT;
		m.offer_id = take(c, 1);
		m.relid = take(c, 2);
		send_msg(IPC_MSG_VP_CHANNEL_CLOSE, true, &m.base, NULL, 0);
		settle();
		if (m.offer_id && m.offer_id <= NCHANS && f.ch[m.offer_id - 1].c && !f.gone &&
		    f.answered == f.asked)
			CHECK(!vmbusdev_chan_is_open(f.ch[m.offer_id - 1].c) ||
			      vmbusdev_chan_relid(f.ch[m.offer_id - 1].c) != m.relid);
		return;
	}
	case 2: {
		Mhcl__Vmbus__WorkerSynicPages m = MHCL__VMBUS__WORKER_SYNIC_PAGES__INIT;
		m.vp = take(c, 1);
		m.enabled = take(c, 1) & 1;
		uint32_t page = take(c, 1);
		m.siefp_gpa = page ? pfn_of(page - 1) * PAGE : 0;
		send_msg(IPC_MSG_VP_SYNIC_PAGES, false, &m.base, NULL, 0);
		break;
	}
	case 3: {
		uint32_t type = take(c, 1), kind = take(c, 1), nfds = take(c, 1);
		int fds[8] = {-1, -1, -1, -1, -1, -1, -1, -1};
		unsigned n = nfds & 7;
		for (unsigned i = 0; i < n; i++)
			fds[i] = i == 0 && (nfds & 8) ? dup(f.ram.memfd)
						      : eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (n)
			f.layout_known = false; /* a VmbusdChannelOpen's layout we cannot see */
		send_frame((uint16_t)(1 + type % 63), !(kind & 1), c->p + c->off, c->len - c->off,
			   fds, n);
		for (unsigned i = 0; i < n; i++)
			close(fds[i]);
		break;
	}
	case 4:
		guest_packet(c);
		break;
	case 5: {
		uint8_t *p = guest_page(pfn_of(take(c, 1)));
		uint32_t off = take(c, 2) % PAGE, n = (uint32_t)(c->len - c->off);
		if (p)
			memcpy(p + off, c->p + c->off, n < PAGE - off ? n : PAGE - off);
		break;
	}
	case 6: {
		uint32_t k = take(c, 1);
		uint64_t one = 1;
		if (k && k <= NCHANS && f.ch[k - 1].doorbell >= 0)
			(void)!write(f.ch[k - 1].doorbell, &one, sizeof(one));
		break;
	}
	case 7:
		device_free();
		for (unsigned i = 0; i < NCHANS; i++)
			f.ch[i].npfns = 0;
		device_connect(false);
		break;
	}
	settle();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t pos = 1;
	int fds_before;

	if (size < 1)
		return 0;
	log_set_level(getenv("FUZZ_VERBOSE") ? LOG_LEVEL_DEBUG : LOG_LEVEL_ERR);
	CHECK(uv_loop_init(&f.loop) == 0);
	fds_before = fuzz_open_fds();
	CHECK(guestmem_create(RAM_BYTES, &f.ram) == 0);
	memset(f.ram.base + HOLE_OFF, HOLE_BYTE, HIGH_OFF - HOLE_OFF);
	f.layout_known = true;
	for (unsigned i = 0; i < NCHANS; i++)
		f.ch[i] =
		    (struct chan_state){.refuse = ((data[0] >> 1) & 3) == i + 1, .doorbell = -1};
	device_connect(data[0] & 1);

	while (pos + 2 <= size) {
		uint8_t op = data[pos];
		size_t len = data[pos + 1];
		pos += 2;
		if (len > size - pos)
			len = size - pos;
		struct cursor c = {data + pos, len, 0};
		pos += len;
		record(op, &c);
	}

	/* Every request got its one answer, unless the device hung up. */
	settle();
	if (!f.gone)
		CHECK(f.answered == f.asked);
	device_free();
	CHECK(f.total_opens == f.total_closes);
	for (unsigned i = 0; i < NCHANS; i++)
		if (f.ch[i].doorbell >= 0)
			close(f.ch[i].doorbell);
	guestmem_release(&f.ram);
	uv_run(&f.loop, UV_RUN_DEFAULT);
	CHECK(fuzz_open_fds() == fds_before);
	CHECK(uv_loop_close(&f.loop) == 0);
	return 0;
}
