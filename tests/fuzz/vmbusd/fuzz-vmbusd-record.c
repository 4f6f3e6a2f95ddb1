/* SPDX-License-Identifier: MIT */
/*
 * mhcl-vmbusd taking over the record an earlier vmbusd left in init's fd store
 * (vmbusd_store_adopt, vmbusd_persist_restore), with the record as untrusted input. The
 * target does what init and the worker do around a vmbusd restart: it hands the new
 * vmbusd the store memfd (vmbusd_adopt_store), attaches the worker over a socketpair,
 * which sends WorkerPartition{reattach, host_seq} and answers whatever vmbusd asks
 * (WorkerSintIrqfd with an eventfd, VmbusdEventPortAssign/Release), lets a device server come back
 * and register the offers the record named (VmbusdChannelOpen{resume} and VmbusdGpadlAdd answered),
 * then sends guest messages. vmbusd must never crash, leak memory or fds, or hang; the worker's
 * WorkerPartition gets exactly one answer; the host messages it sends carry strictly increasing
 * numbers; vmbusd's inspect tree is built from whatever it took over.
 *
 * Input:
 *   byte 0       bit 0: the record is the whole store file (header, then slot 0),
 *                       else it is committed through vmbusd_store_commit;
 *                bit 1: the worker does not reattach; bit 2: the device comes back
 *   bytes 1-8    host_seq of WorkerPartition (little-endian; 0 without reattach)
 *   byte 9       VP count - 1 (modulo 4)
 *   bytes 10-13  record length n (little-endian), then n bytes of record
 *   the rest     guest messages: len u8, then len bytes (InitiateContact on connection
 *                4, the rest on 1)
 *
 * Seeds are real records: fuzz-vmbusd-peer, run with FUZZ_RECORD_OUT set, writes the
 * record of the state a vmbusd-peer input builds (tests/fuzz/vmbusd/gen-corpus.py
 * --record does that for a few states, with truncated and garbled variants). The worker
 * here matches vmbusd-peer's: 1 MiB of guest RAM at GPA 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bus.pb-c.h"
#include "fuzz-peer.h"
#include "inspect.h"
#include "ipc.h"
#include "log.h"
#include "vmbus.pb-c.h"
#include "vmbusd.h"
#include "vmbusd_internal.h"

#define RAM_BYTES (1u << 20)
#define STORE_HDR_BYTES 4096u /* vmbusd_store.c's header page */
#define STORE_BYTES (STORE_HDR_BYTES + 2ull * VMBUSD_STORE_SLOT_BYTES)

struct peer {
	int raw;
	bool gone;
	uint32_t asked, answered, next_id;
};

static struct peer worker, device;
static uint64_t last_host_seq;

static int memfd_of(uint64_t size)
{
	int fd = memfd_create("fuzz-record", MFD_CLOEXEC);

	CHECK(fd >= 0 && ftruncate(fd, (off_t)size) == 0);
	return fd;
}

/* Guest RAM sealed as the worker's (guestmem_create): vmbusd refuses anything else. */
static int ram_memfd(void)
{
	int fd = memfd_create("fuzz-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	CHECK(fd >= 0 && ftruncate(fd, RAM_BYTES) == 0);
	CHECK(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) == 0);
	return fd;
}

/* The store as init hands it over: the record committed by the store's own code, or the
 * input as the whole file. */
static int store_fd(bool whole, const uint8_t *rec, size_t len)
{
	struct vmbusd_store *st;
	int fd;

	if (whole) {
		fd = memfd_of(STORE_BYTES);
		CHECK(pwrite(fd, rec, len, 0) == (ssize_t)len);
		return fd;
	}
	CHECK(vmbusd_store_create(&st) == 0);
	if (len)
		CHECK(vmbusd_store_commit(st, rec, len) == 0 || len > VMBUSD_STORE_SLOT_BYTES);
	fd = dup(vmbusd_store_fd(st));
	CHECK(fd >= 0);
	vmbusd_store_free(st);
	return fd;
}

static void reply(struct peer *p, const struct fuzz_frame *fr, const ProtobufCMessage *m, int fd)
{
	static uint8_t body[256];
	size_t len = m ? protobuf_c_message_get_packed_size(m) : 0;

	CHECK(len <= sizeof(body));
	if (m)
		protobuf_c_message_pack(m, body);
	(void)fuzz_peer_send(p->raw, fr->h.type, IPC_F_RESPONSE, fr->h.request_id, body, len, &fd,
			     fd >= 0 ? 1 : 0);
}

/* What the worker does with what vmbusd sends it. */
static void worker_frame(const struct fuzz_frame *fr)
{
	if (fr->h.flags & IPC_F_RESPONSE) {
		worker.answered++;
		return;
	}
	if (fr->h.type == IPC_MSG_VP_HOST_MESSAGE) {
		Mhcl__Vmbus__VmbusdHostMessage *m =
		    mhcl__vmbus__vmbusd_host_message__unpack(NULL, fr->h.body_len, fr->body);
		CHECK(m);
		CHECK(m->seq > last_host_seq);
		last_host_seq = m->seq;
		mhcl__vmbus__vmbusd_host_message__free_unpacked(m, NULL);
		return;
	}
	if (!(fr->h.flags & IPC_F_REQUEST))
		return;
	if (fr->h.type == IPC_MSG_VP_SINT_IRQFD) {
		Mhcl__Vmbus__WorkerSintIrqfd r = MHCL__VMBUS__WORKER_SINT_IRQFD__INIT;
		int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		CHECK(fd >= 0);
		reply(&worker, fr, &r.base, fd);
		close(fd);
	} else {
		CHECK(fr->h.type == IPC_MSG_VP_EVENT_PORT_ASSIGN ||
		      fr->h.type == IPC_MSG_VP_EVENT_PORT_RELEASE);
		CHECK(fr->h.type == IPC_MSG_VP_EVENT_PORT_RELEASE || fr->nfds == 1);
		Mhcl__Vmbus__WorkerPortReply r = MHCL__VMBUS__WORKER_PORT_REPLY__INIT;
		reply(&worker, fr, &r.base, -1);
	}
}

/* What the device does: every VmbusdChannelOpen, VmbusdChannelClose, VmbusdGpadlAdd and
 * VmbusdGpadlRemove is accepted (VmbusdChannelModify is a notification). */
static void device_frame(const struct fuzz_frame *fr)
{
	if (fr->h.flags & IPC_F_RESPONSE) {
		device.answered++;
		return;
	}
	if (!(fr->h.flags & IPC_F_REQUEST))
		return;
	CHECK(fr->h.type == IPC_MSG_VP_CHANNEL_OPEN || fr->h.type == IPC_MSG_VP_CHANNEL_CLOSE ||
	      fr->h.type == IPC_MSG_VP_GPADL_ADD || fr->h.type == IPC_MSG_VP_GPADL_REMOVE);
	reply(&device, fr, NULL, -1);
}

static void settle(uv_loop_t *loop)
{
	struct fuzz_frame fr;
	int r;

	for (int round = 0; round < 6; round++) {
		uv_run(loop, UV_RUN_NOWAIT);
		while (!worker.gone && (r = fuzz_peer_recv(worker.raw, &fr)) != 0) {
			if (r < 0) {
				worker.gone = true;
				break;
			}
			worker_frame(&fr);
			fuzz_frame_close_fds(&fr);
		}
		while (device.raw >= 0 && !device.gone &&
		       (r = fuzz_peer_recv(device.raw, &fr)) != 0) {
			if (r < 0) {
				device.gone = true;
				break;
			}
			device_frame(&fr);
			fuzz_frame_close_fds(&fr);
		}
	}
}

static void send_msg(struct peer *p, uint16_t type, bool request, const ProtobufCMessage *m,
		     const int *fds, size_t nfds)
{
	static uint8_t body[4096];
	size_t len = protobuf_c_message_get_packed_size(m);

	CHECK(len <= sizeof(body));
	protobuf_c_message_pack(m, body);
	if (fuzz_peer_send(p->raw, type, request ? IPC_F_REQUEST : IPC_F_NOTIFY,
			   request ? p->next_id++ : 0, body, len, fds, nfds) == 0 &&
	    request)
		p->asked++;
}

static void attach_worker(struct vmbusd *d, uint32_t vps, bool reattach, uint64_t host_seq)
{
	Mhcl__Vmbus__WorkerPartition pi = MHCL__VMBUS__WORKER_PARTITION__INIT;
	Mhcl__Vmbus__RamRange rr = MHCL__VMBUS__RAM_RANGE__INIT, *rrp = &rr;
	int fds[2], memfd = ram_memfd();

	CHECK(ipc_socketpair(fds) == 0);
	worker = (struct peer){.raw = fds[0], .next_id = 1};
	CHECK(vmbusd_attach_worker(d, fds[1]) == 0);
	rr.size = RAM_BYTES;
	pi.vp_count = vps;
	pi.n_ram = 1;
	pi.ram = &rrp;
	pi.reattach = reattach;
	pi.host_seq = host_seq;
	send_msg(&worker, IPC_MSG_VP_PARTITION, true, &pi.base, &memfd, 1);
	close(memfd);
}

/* Registers again the recorded offers nobody took yet: the primaries or the sub-channels. */
static void register_recorded(struct vmbusd *d, bool subchannels)
{
	for (uint32_t i = 0; i < VMBUSD_MAX_OFFERS; i++) {
		const struct dev_offer *o = &d->offers[i];
		Mhcl__Vmbus__DeviceOffer m = MHCL__VMBUS__DEVICE_OFFER__INIT;
		if (!o->dev || o->dev->ch || (o->offer.sub_channel_index != 0) != subchannels)
			continue;
		m.offer_id = i + 1;
		m.if_type = (ProtobufCBinaryData){16, (uint8_t *)o->offer.if_type.b};
		m.if_instance = (ProtobufCBinaryData){16, (uint8_t *)o->offer.if_instance.b};
		m.chn_flags = o->offer.chn_flags;
		m.mmio_megabytes = o->offer.mmio_megabytes;
		m.sub_channel_index = o->offer.sub_channel_index;
		m.user_def =
		    (ProtobufCBinaryData){VMBUS_USER_DEF_BYTES, (uint8_t *)o->offer.user_def};
		send_msg(&device, IPC_MSG_VP_DEVICE_OFFER, true, &m.base, NULL, 0);
	}
}

/* A device server's next instance (this process's uid, as the one that made the seeds)
 * registers the offers it had (what the record names), primaries first: vmbusd takes a
 * sub-channel only under its primary. */
static void device_comes_back(struct vmbusd *d)
{
	int fds[2];

	CHECK(ipc_socketpair(fds) == 0);
	device = (struct peer){.raw = fds[0], .next_id = 1};
	CHECK(vmbusd_attach_device(d, fds[1]) == 0);
	register_recorded(d, false);
	register_recorded(d, true);
}

static void inspect(struct vmbusd *d)
{
	struct inspect_tree *t = inspect_tree_new("vmbusd");

	CHECK(t);
	vmbusd_inspect(NULL, t, inspect_tree_root(t), d);
	CHECK(mhcl__node__get_packed_size(inspect_tree_root(t)) > 0);
	inspect_tree_free(t);
}

static uint64_t le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uv_loop_t loop;
	struct vmbusd *d;
	int fds_before;
	size_t len, pos;

	if (size < 14)
		return 0;
	log_set_level(getenv("FUZZ_VERBOSE") ? LOG_LEVEL_DEBUG : LOG_LEVEL_ERR);
	CHECK(uv_loop_init(&loop) == 0);
	fds_before = fuzz_open_fds();
	len = le(data + 10, 4);
	if (len > size - 14)
		len = size - 14;
	pos = 14 + len;
	/* A worker that does not reattach never got a host message (host_seq 0). */
	last_host_seq = data[0] & 2 ? 0 : le(data + 1, 8);
	device = (struct peer){.raw = -1};

	CHECK(vmbusd_new(&loop, NULL, -1, -1, &d) == 0);
	/* The store is init's: a store that is not one is refused, and vmbusd starts afresh. */
	(void)vmbusd_adopt_store(d, store_fd(data[0] & 1, data + 14, len));
	attach_worker(d, 1 + data[9] % 4, !(data[0] & 2), last_host_seq);
	settle(&loop);
	if (data[0] & 4) {
		device_comes_back(d);
		settle(&loop);
	}
	inspect(d);

	while (pos < size && !worker.gone) {
		Mhcl__Vmbus__WorkerGuestMessage m = MHCL__VMBUS__WORKER_GUEST_MESSAGE__INIT;
		size_t n = data[pos++];
		if (n > size - pos)
			n = size - pos;
		/* InitiateContact on its own connection, the rest on the message one (as
		 * vmbusd-peer's seeds and Linux do). */
		m.connection_id = n >= 4 && data[pos] == VMBUS_MSG_INITIATE_CONTACT
				      ? VMBUS_CONNID_MESSAGE_4
				      : VMBUS_CONNID_MESSAGE;
		m.payload = (ProtobufCBinaryData){n, (uint8_t *)data + pos};
		pos += n;
		send_msg(&worker, IPC_MSG_VP_GUEST_MESSAGE, false, &m.base, NULL, 0);
		settle(&loop);
	}
	inspect(d);

	/* The partition got its one answer; so did every offer of the device. */
	settle(&loop);
	if (!worker.gone)
		CHECK(worker.answered == worker.asked);
	if (device.raw >= 0 && !device.gone)
		CHECK(device.answered == device.asked);

	close(worker.raw);
	if (device.raw >= 0)
		close(device.raw);
	vmbusd_stop(NULL, d);
	for (int i = 0; i < 100 && uv_run(&loop, UV_RUN_DEFAULT); i++)
		;
	vmbusd_free(d);
	uv_run(&loop, UV_RUN_NOWAIT); /* vmbusd's timer closes */
	CHECK(fuzz_open_fds() == fds_before);
	CHECK(uv_loop_close(&loop) == 0);
	return 0;
}
