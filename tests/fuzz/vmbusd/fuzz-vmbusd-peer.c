/* SPDX-License-Identifier: MIT */
/*
 * mhcl-vmbusd's handling of its less trusted peers: one worker (mhcl-vp) and up to three
 * device servers, each the raw end of a SOCK_SEQPACKET pair whose other end vmbusd owns
 * (vmbusd_attach_*: what its listeners do after accept). The input is a sequence of
 * frames from those peers: requests, notifications, answers to what vmbusd asked them
 * (WorkerSintIrqfd, VmbusdEventPortAssign, VmbusdChannelOpen, ...), with fds attached: a 1 MiB
 * sealed memfd as guest RAM or eventfds as irqfds. The device servers all run as this
 * process's uid and vmbusd has no --device-allow policy (the default quota applies). Guest channel
 * messages come in WorkerGuestMessage bodies. vmbusd must never crash, leak memory or fds, or hang;
 * every request gets exactly one answer (while the peer's channel lives), and every refusal carries
 * a reason. Its inspect tree is built from whatever state the input left.
 *
 * With FUZZ_RECORD_OUT=<file> set, vmbusd records its state in a store as it does under
 * init, and the first input's record (at its end, before the peers hang up) is written
 * to that file and the process exits: the seeds of the vmbusd-record target.
 *
 * Input:
 *   byte 0      number of device servers to attach (0..3, low 2 bits)
 *   records     op u8, type u8, fdspec u8, len u16 (little-endian), then len body bytes
 *     op bits 0-1: peer (0: the worker, 1..3: device 0..2)
 *     op bit 4:    inspect vmbusd after this record (as `inspect` on the bus would)
 *     op bits 2-3: 0 request, 1 notification, 2 answer to the peer's pending request
 *                  number `type` (modulo), 3 hang up the peer and connect a fresh one
 *                  (an answer with fdspec bit 4 is an error: ErrorReply(EINVAL, the
 *                  body as its message); with bits 4 and 5 the body is sent as it is)
 *     type        32 + type % 32 (requests and notifications)
 *     fdspec      bits 0-2: fds to attach; bit 3: the first one is the memfd
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bus.pb-c.h"
#include "inspect.h"
#include "ipc.h"
#include "log.h"
#include "vmbusd.h"
#include "vmbusd_store.h"

#define CHECK(e)                                                                                   \
	do {                                                                                       \
		if (!(e))                                                                          \
			abort();                                                                   \
	} while (0)

#define NPEERS 4
#define MAX_PENDING 64
#define RAM_BYTES (1u << 20)
#define FRAME_MAX (sizeof(struct ipc_frame_hdr) + IPC_BODY_MAX)

struct pending {
	uint32_t id;
	uint16_t type;
};

struct peer {
	int raw;   /* -1: not connected */
	bool gone; /* vmbusd hung up */
	unsigned asked, answered;
	struct pending pend[MAX_PENDING];
	unsigned npend;
	uint32_t next_id;
};

static struct peer peers[NPEERS];
static bool verbose; /* FUZZ_VERBOSE set: vmbusd's log and what each peer receives */
static uint8_t pkt[FRAME_MAX];

static void peer_connect(struct vmbusd *d, unsigned i)
{
	struct peer *p = &peers[i];
	int fds[2];

	CHECK(ipc_socketpair(fds) == 0);
	*p = (struct peer){.raw = fds[0], .next_id = 1};
	if (i == 0)
		(void)vmbusd_attach_worker(d, fds[1]);
	else
		(void)vmbusd_attach_device(d, fds[1]);
}

/* Reads what vmbusd sent this peer: valid frames only; its requests are remembered so the
 * input can answer them, answers are counted, refusals must say why. */
static void drain(struct peer *p)
{
	for (;;) {
		union {
			struct cmsghdr hdr;
			uint8_t buf[CMSG_SPACE(sizeof(int) * IPC_FDS_MAX)];
		} cbuf;
		struct iovec iov = {.iov_base = pkt, .iov_len = sizeof(pkt)};
		struct msghdr mh = {.msg_iov = &iov,
				    .msg_iovlen = 1,
				    .msg_control = cbuf.buf,
				    .msg_controllen = sizeof(cbuf.buf)};
		struct ipc_frame_hdr h;
		size_t nfds = 0;
		ssize_t n;

		if (p->raw < 0 || p->gone)
			return;
		n = recvmsg(p->raw, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 || (n < 0 && errno != EAGAIN)) {
			p->gone = true;
			return;
		}
		if (n < 0)
			return;
		CHECK(!(mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)));
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (size_t j = 0; j < k; j++) {
				int fd;
				memcpy(&fd, CMSG_DATA(c) + j * sizeof(int), sizeof(fd));
				close(fd);
			}
			nfds += k;
		}
		CHECK(ipc_frame_decode(pkt, (size_t)n, nfds, false, &h) == 0);
		if (verbose)
			fprintf(stderr, "peer %u <- type %u flags %#x id %u, %zu fd(s)\n",
				(unsigned)(p - peers), h.type, h.flags, h.request_id, nfds);
		if (h.flags & IPC_F_RESPONSE) {
			p->answered++;
			if (h.flags & IPC_F_ERROR) {
				Mhcl__ErrorReply *e =
				    mhcl__error_reply__unpack(NULL, h.body_len, pkt + sizeof(h));
				CHECK(e);
				CHECK(e->errno_code > 0 && e->errno_code <= 4095);
				CHECK(e->message && e->message[0]);
				mhcl__error_reply__free_unpacked(e, NULL);
			}
		} else if ((h.flags & IPC_F_REQUEST) && p->npend < MAX_PENDING) {
			p->pend[p->npend++] = (struct pending){h.request_id, h.type};
		}
	}
}

static void settle(uv_loop_t *loop)
{
	for (int round = 0; round < 4; round++) {
		uv_run(loop, UV_RUN_NOWAIT);
		for (unsigned i = 0; i < NPEERS; i++)
			drain(&peers[i]);
	}
}

static void inspect(struct vmbusd *d)
{
	struct inspect_tree *t = inspect_tree_new("vmbusd");

	CHECK(t);
	vmbusd_inspect(NULL, t, inspect_tree_root(t), d);
	CHECK(mhcl__node__get_packed_size(inspect_tree_root(t)) > 0);
	inspect_tree_free(t);
}

static int make_fd(bool memfd)
{
	int fd;

	if (!memfd)
		return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	/* Sealed as the worker's (guestmem_create): vmbusd refuses anything else. */
	fd = memfd_create("fuzz-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd >= 0 && (ftruncate(fd, RAM_BYTES) < 0 ||
			fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static void send_frame(struct peer *p, uint16_t type, uint16_t flags, uint32_t id,
		       const uint8_t *body, size_t len, uint8_t fdspec)
{
	union {
		struct cmsghdr hdr;
		uint8_t buf[CMSG_SPACE(sizeof(int) * 7)];
	} cbuf;
	struct ipc_frame_hdr h;
	struct iovec iov[2] = {{.iov_base = &h, .iov_len = sizeof(h)},
			       {.iov_base = (void *)body, .iov_len = len}};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
	int fds[7];
	unsigned nfds = 0, want = fdspec & 7;

	for (unsigned i = 0; i < want; i++) {
		int fd = make_fd(i == 0 && (fdspec & 8));
		if (fd >= 0)
			fds[nfds++] = fd;
	}
	ipc_frame_encode(&h, type, flags, id, (uint32_t)len, (uint16_t)nfds);
	if (nfds) {
		struct cmsghdr *c;
		memset(&cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	/* vmbusd may have hung up already: then the send fails, which is fine. */
	if (sendmsg(p->raw, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) >= 0 && (flags & IPC_F_REQUEST))
		p->asked++;
	for (unsigned i = 0; i < nfds; i++)
		close(fds[i]);
}

/* An error answer's body: ErrorReply with the input's bytes as the message. */
static size_t error_body(const uint8_t *text, size_t len, uint8_t *out, size_t out_len)
{
	Mhcl__ErrorReply e = MHCL__ERROR_REPLY__INIT;
	char msg[128];

	len = len < sizeof(msg) - 1 ? len : sizeof(msg) - 1;
	memcpy(msg, text, len);
	msg[len] = 0;
	e.errno_code = EINVAL; /* positive on the wire */
	e.message = msg;
	if (mhcl__error_reply__get_packed_size(&e) > out_len)
		return 0;
	return mhcl__error_reply__pack(&e, out);
}

/* The store's committed record into path; the process ends there. */
static void write_record(const struct vmbusd_store *st, const char *path)
{
	size_t len;
	const void *rec = vmbusd_store_record(st, &len);
	FILE *f = fopen(path, "wb");

	CHECK(rec && f && fwrite(rec, 1, len, f) == len && fclose(f) == 0);
	exit(0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t ebody[256];
	const char *record_out;
	struct vmbusd_store *store = NULL;
	uv_loop_t loop;
	struct vmbusd *d;
	int probe_before, probe_after;
	unsigned ndev;
	size_t pos = 1;

	if (size < 1)
		return 0;
	verbose = getenv("FUZZ_VERBOSE") != NULL;
	record_out = getenv("FUZZ_RECORD_OUT");
	log_set_level(verbose ? LOG_LEVEL_DEBUG : LOG_LEVEL_ERR);
	probe_before = dup(2);
	close(probe_before);

	CHECK(uv_loop_init(&loop) == 0);
	CHECK(vmbusd_new(&loop, NULL, -1, -1, &d) == 0);
	if (record_out) {
		CHECK(vmbusd_store_create(&store) == 0);
		vmbusd_set_store(d, store);
	}
	for (unsigned i = 0; i < NPEERS; i++)
		peers[i] = (struct peer){.raw = -1};
	ndev = data[0] & 3;
	for (unsigned i = 0; i <= ndev; i++)
		peer_connect(d, i);

	while (pos + 5 <= size) {
		uint8_t op = data[pos], t = data[pos + 1], fdspec = data[pos + 2];
		size_t len = (size_t)data[pos + 3] | (size_t)data[pos + 4] << 8;
		unsigned pi = op & 3, kind = (op >> 2) & 3;
		struct peer *p = &peers[pi];
		const uint8_t *body;

		pos += 5;
		if (len > size - pos)
			len = size - pos;
		body = data + pos;
		pos += len;
		if (p->raw < 0)
			continue;
		switch (kind) {
		case 0:
			send_frame(p, (uint16_t)(32 + t % 32), IPC_F_REQUEST, p->next_id++, body,
				   len, fdspec);
			break;
		case 1:
			send_frame(p, (uint16_t)(32 + t % 32), IPC_F_NOTIFY, 0, body, len, fdspec);
			break;
		case 2: {
			struct pending q;
			if (!p->npend)
				break;
			unsigned k = t % p->npend;
			q = p->pend[k];
			p->pend[k] = p->pend[--p->npend];
			if ((fdspec & 0x30) == 0x30) {
				send_frame(p, q.type, IPC_F_RESPONSE | IPC_F_ERROR, q.id, body, len,
					   0);
			} else if (fdspec & 0x10) {
				size_t n = error_body(body, len, ebody, sizeof(ebody));
				send_frame(p, q.type, IPC_F_RESPONSE | IPC_F_ERROR, q.id, ebody, n,
					   0);
			} else {
				send_frame(p, q.type, IPC_F_RESPONSE, q.id, body, len, fdspec);
			}
			break;
		}
		case 3:
			close(p->raw);
			p->raw = -1;
			settle(&loop);
			peer_connect(d, pi);
			break;
		}
		settle(&loop);
		if (op & 0x10)
			inspect(d);
	}
	inspect(d);

	/* Every request got its one answer, unless vmbusd hung up on that peer. */
	settle(&loop);
	for (unsigned i = 0; i < NPEERS; i++)
		if (peers[i].raw >= 0 && !peers[i].gone)
			CHECK(peers[i].answered == peers[i].asked);

	if (record_out)
		write_record(store, record_out);

	/* The peers hang up; vmbusd must wind everything down. */
	for (unsigned i = 0; i < NPEERS; i++)
		if (peers[i].raw >= 0)
			close(peers[i].raw);
	vmbusd_stop(NULL, d);
	for (int i = 0; i < 100 && uv_run(&loop, UV_RUN_DEFAULT); i++)
		;
	vmbusd_free(d);
	uv_run(&loop, UV_RUN_NOWAIT); /* vmbusd's timer closes */
	CHECK(uv_loop_close(&loop) == 0);

	probe_after = dup(2);
	close(probe_after);
	CHECK(probe_after == probe_before);
	return 0;
}
