/* SPDX-License-Identifier: MIT */
/*
 * mhcl-vmbusd and mhcl-icd end to end without a hypervisor: mhcl-init (hosted) runs
 * mhcl-diagd, mhcl-vmbusd and the device server mhcl-icd (heartbeat and shutdown, which
 * registers its offers over vmbusd's device socket) from a manifest; this test is the
 * worker and the guest at once. As the
 * worker it connects to vmbusd's socket, sends WorkerPartition with a guest RAM memfd,
 * answers WorkerSintIrqfd (an eventfd the test polls as "the SINT fired") and VmbusdEventPortAssign
 * (it keeps the doorbell eventfd and writes it as the guest's HvSignalEvent would), relays
 * guest messages and receives host messages. As the guest it connects to VMBus, finds the
 * heartbeat and shutdown offers, builds ring GPADLs in the memfd, opens both channels and
 * answers the ICs over the rings (lib/ring, guest side), checking the SIEFP flag icd
 * sets before each interrupt (icd got the ring, memfd, doorbell and irqfd from vmbusd's
 * VmbusdChannelOpen). The mhcl CLI then shows the heartbeat sequence climbing in
 * `mhcl inspect ic` and `mhcl guest shutdown` (init -> icd) reaches the guest's shutdown
 * channel and reports its answer. `mhcl restart ic` and `mhcl kill ic`, twice each:
 * vmbusd keeps both channels open in the guest (no rescind, doorbells still routed), the
 * next icd adopts them (VmbusdChannelOpen resume) with the IC state init kept for it, and the
 * heartbeat goes on over the same rings, its sequence climbing.
 * The test is also a second device server (fake_device: bad and duplicate offers, the fds
 * VmbusdChannelOpen carries, a refused open, a close held until the device answers, a hang-up
 * rescinded once vmbusd's grace period lapses).
 * Also: a second worker is refused, bad worker input is counted, not fatal, and a
 * worker that leaves frees the partition for the next one.
 *
 * Usage: test-vmbusd INIT DIAGD_DIR VMBUSD_DIR ICD_DIR MHCL DTC
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "defs/ic_defs.h"
#include "defs/ipc_frame.h"
#include "defs/vmbus_defs.h"
#include "ipc.h"
#include "test_guestmem.h"
#include "test_init.h"
#include "vmbus.h"
#include "bus.pb-c.h"
#include "vmbus.pb-c.h"
#include "vmbus_ring.h"

#define RAM_SIZE (16u << 20)
#define PAGE 4096u
#define SIMP_GPA 0x10000u
#define SIEFP_GPA 0x11000u
#define SIMP1_GPA 0x12000u /* VP 1's */
#define SIEFP1_GPA 0x13000u
#define RING_GPA(i) (0x100000u + (i)*0x10000u)
#define RING_PAGES 8u /* 4 guest->host, 4 host->guest */
#define WAIT_MS 20000 /* bound on every wait; never a timing assertion */
#define MAX_QUEUED 64

struct chan {
	uint32_t relid, gpadl, conn_id;
	struct hv_guid type, instance;
	int doorbell; /* the partition's end of HvSignalEvent(conn_id) */
	struct vmbus_ring in, out;
	bool negotiated;
	uint64_t last_seq;
	uint32_t answered;
};

struct host_msg {
	uint32_t len;
	uint8_t b[VMBUS_MSG_MAX];
};

struct t {
	const char *mhcl;
	char dir[64], sock[128], diag[140]; /* diag: a socket path */
	pid_t init;
	int fd;		    /* the worker channel */
	struct guestmem gm; /* guest RAM, made as the worker makes it (guestmem_create) */
	int irq;	    /* "SINT 2 of VP 0 fired" */
	int irq1;	    /* "SINT 2 of VP 1 fired" */
	uint64_t irq1_fired;
	unsigned spurious; /* interrupts whose flag an earlier call took (see service) */
	struct host_msg q[MAX_QUEUED];
	unsigned qhead, qcount;
	uint32_t next_id;
	struct {
		uint32_t conn_id;
		int fd;
	} ports[8];
	unsigned nports, released;
	struct chan hb, sd;
	/* As the worker numbers them: guest messages sent, host messages received. */
	uint64_t guest_seq, host_seq, host_duplicates, claim_guest_seq;
	bool reattach; /* the next WorkerPartition reattaches */
	uint8_t last_post[VMBUS_MSG_MAX];
	size_t last_post_len;
};

/* ---- frames ---- */

static void send_frame_to(int fd, uint16_t type, uint16_t flags, uint32_t id,
			  const ProtobufCMessage *m, const int *fds, size_t nfds)
{
	static uint8_t buf[sizeof(struct ipc_frame_hdr) + 4096];
	size_t len = m ? protobuf_c_message_get_packed_size(m) : 0;
	struct ipc_frame_hdr hdr;
	char cbuf[CMSG_SPACE(sizeof(int) * IPC_FDS_MAX)] = {0};
	struct iovec iov;
	struct msghdr mh = {0};

	ASSERT_LE(len, 4096);
	if (m)
		protobuf_c_message_pack(m, buf + sizeof(hdr));
	ipc_frame_encode(&hdr, type, flags, id, (uint32_t)len, (uint16_t)nfds);
	memcpy(buf, &hdr, sizeof(hdr));
	iov = (struct iovec){buf, sizeof(hdr) + len};
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (nfds) {
		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	ASSERT_EQ(sendmsg(fd, &mh, MSG_NOSIGNAL), (ssize_t)(sizeof(hdr) + len));
}

static void send_frame(struct t *t, uint16_t type, uint16_t flags, uint32_t id,
		       const ProtobufCMessage *m, const int *fds, size_t nfds)
{
	send_frame_to(t->fd, type, flags, id, m, fds, nfds);
}

struct frame {
	struct ipc_frame_hdr hdr;
	uint8_t buf[sizeof(struct ipc_frame_hdr) + 8192];
	const uint8_t *body;
	int fds[IPC_FDS_MAX];
	size_t nfds;
};

/* 0, or -EPIPE when vmbusd closed the channel. */
static int recv_frame(int fd, struct frame *f)
{
	char cbuf[CMSG_SPACE(sizeof(int) * IPC_FDS_MAX)];
	struct iovec iov = {f->buf, sizeof(f->buf)};
	struct msghdr mh = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
	struct pollfd p = {fd, POLLIN, 0};

	ASSERT_EQ(poll(&p, 1, WAIT_MS), 1);
	ssize_t n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	/* Closed; a close with our frame still unread in vmbusd reads as a reset. */
	if (n == 0 || (n < 0 && errno == ECONNRESET))
		return -EPIPE;
	ASSERT_GT(n, 0);
	f->nfds = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			f->nfds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			memcpy(f->fds, CMSG_DATA(c), f->nfds * sizeof(int));
		}
	ASSERT_OK(ipc_frame_decode(f->buf, (size_t)n, f->nfds, false, &f->hdr));
	f->body = f->buf + sizeof(f->hdr);
	return 0;
}

static void *unpack(const struct frame *f, const ProtobufCMessageDescriptor *d)
{
	void *m = protobuf_c_message_unpack(d, NULL, f->hdr.body_len,
					    f->hdr.body_len ? f->body : (const uint8_t *)"");
	ASSERT_TRUE(m != NULL);
	return m;
}

static void reply(struct t *t, const struct frame *f, const ProtobufCMessage *m, const int *fds,
		  size_t nfds)
{
	send_frame(t, f->hdr.type, IPC_F_RESPONSE, f->hdr.request_id, m, fds, nfds);
}

/* Handles what vmbusd asks of the worker and queues host messages; returns when a frame
 * of want_type with one of want_flags arrives (copied to out), or -EPIPE. */
static int pump(struct t *t, uint16_t want_type, uint16_t want_flags, struct frame *out)
{
	static struct frame f;

	for (;;) {
		if (recv_frame(t->fd, &f) < 0)
			return -EPIPE;
		bool req = f.hdr.flags & IPC_F_REQUEST;
		if (req && f.hdr.type == IPC_MSG_VP_SINT_IRQFD) {
			Mhcl__Vmbus__VmbusdSintIrqfdRequest *r =
			    unpack(&f, &mhcl__vmbus__vmbusd_sint_irqfd_request__descriptor);
			ASSERT_LT(r->vp, 2);
			ASSERT_EQ(r->sint, VMBUS_MESSAGE_SINT);
			Mhcl__Vmbus__WorkerSintIrqfd rep = MHCL__VMBUS__WORKER_SINT_IRQFD__INIT;
			rep.vp = r->vp;
			rep.sint = r->sint;
			reply(t, &f, &rep.base, r->vp ? &t->irq1 : &t->irq, 1);
			protobuf_c_message_free_unpacked(&r->base, NULL);
		} else if (req && f.hdr.type == IPC_MSG_VP_EVENT_PORT_ASSIGN) {
			Mhcl__Vmbus__VmbusdEventPortAssign *r =
			    unpack(&f, &mhcl__vmbus__vmbusd_event_port_assign__descriptor);
			ASSERT_EQ(f.nfds, 1);
			ASSERT_LT(t->nports, 8);
			t->ports[t->nports].conn_id = r->connection_id;
			t->ports[t->nports++].fd = f.fds[0];
			f.nfds = 0;
			Mhcl__Vmbus__WorkerPortReply rep = MHCL__VMBUS__WORKER_PORT_REPLY__INIT;
			reply(t, &f, &rep.base, NULL, 0);
			protobuf_c_message_free_unpacked(&r->base, NULL);
		} else if (req && f.hdr.type == IPC_MSG_VP_EVENT_PORT_RELEASE) {
			Mhcl__Vmbus__VmbusdEventPortRelease *r =
			    unpack(&f, &mhcl__vmbus__vmbusd_event_port_release__descriptor);
			for (unsigned i = 0; i < t->nports; i++)
				if (t->ports[i].conn_id == r->connection_id) {
					close(t->ports[i].fd);
					t->ports[i] = t->ports[--t->nports];
					t->released++;
					break;
				}
			Mhcl__Vmbus__WorkerPortReply rep = MHCL__VMBUS__WORKER_PORT_REPLY__INIT;
			reply(t, &f, &rep.base, NULL, 0);
			protobuf_c_message_free_unpacked(&r->base, NULL);
		} else if (f.hdr.type == IPC_MSG_VP_HOST_MESSAGE && (f.hdr.flags & IPC_F_NOTIFY)) {
			Mhcl__Vmbus__VmbusdHostMessage *m =
			    unpack(&f, &mhcl__vmbus__vmbusd_host_message__descriptor);
			ASSERT_EQ(m->vp, 0);
			ASSERT_EQ(m->sint, VMBUS_MESSAGE_SINT);
			ASSERT_EQ(m->message_type, VMBUS_HV_MSG_TYPE_CHANNEL);
			ASSERT_LE(m->payload.len, VMBUS_MSG_MAX);
			ASSERT_LT(t->qcount, MAX_QUEUED);
			ASSERT_GT(m->seq, 0);
			if (m->seq <= t->host_seq) { /* sent again by a restarted vmbusd */
				t->host_duplicates++;
				protobuf_c_message_free_unpacked(&m->base, NULL);
				continue;
			}
			t->host_seq = m->seq;
			struct host_msg *h = &t->q[(t->qhead + t->qcount++) % MAX_QUEUED];
			h->len = (uint32_t)m->payload.len;
			memcpy(h->b, m->payload.data, m->payload.len);
			protobuf_c_message_free_unpacked(&m->base, NULL);
		}
		bool want = f.hdr.type == want_type && (f.hdr.flags & want_flags);
		if (want && out)
			*out = f;
		else
			for (size_t i = 0; i < f.nfds; i++)
				close(f.fds[i]);
		if (want)
			return 0;
		if (!want_type && t->qcount)
			return 0;
	}
}

/* ---- the guest's messages ---- */

static void post(struct t *t, uint32_t conn_id, const void *msg, size_t len)
{
	Mhcl__Vmbus__WorkerGuestMessage m = MHCL__VMBUS__WORKER_GUEST_MESSAGE__INIT;
	m.vp = 0;
	m.connection_id = conn_id;
	m.message_type = VMBUS_HV_MSG_TYPE_CHANNEL;
	m.payload.data = (uint8_t *)msg;
	m.payload.len = len;
	m.seq = ++t->guest_seq;
	ASSERT_LE(len, sizeof(t->last_post));
	memcpy(t->last_post, msg, len);
	t->last_post_len = len;
	send_frame(t, IPC_MSG_VP_GUEST_MESSAGE, IPC_F_NOTIFY, 0, &m.base, NULL, 0);
}

/* The last guest message again, with its number: what a worker does for a vmbusd whose
 * recorded state it cannot know. */
static void post_again(struct t *t)
{
	Mhcl__Vmbus__WorkerGuestMessage m = MHCL__VMBUS__WORKER_GUEST_MESSAGE__INIT;
	m.connection_id = VMBUS_CONNID_MESSAGE;
	m.message_type = VMBUS_HV_MSG_TYPE_CHANNEL;
	m.payload = (ProtobufCBinaryData){t->last_post_len, t->last_post};
	m.seq = t->guest_seq;
	send_frame(t, IPC_MSG_VP_GUEST_MESSAGE, IPC_F_NOTIFY, 0, &m.base, NULL, 0);
}

/* The next host message, which must be of type `type`; copied into buf. */
static uint32_t expect_msg(struct t *t, uint32_t type, void *buf, size_t cap)
{
	struct vmbus_msg_hdr h;

	while (!t->qcount)
		ASSERT_OK(pump(t, 0, 0, NULL));
	struct host_msg *m = &t->q[t->qhead];
	t->qhead = (t->qhead + 1) % MAX_QUEUED;
	t->qcount--;
	ASSERT_GE(m->len, sizeof(h));
	memcpy(&h, m->b, sizeof(h));
	if (h.msgtype != type) {
		uint32_t word = 0;
		if (m->len >= sizeof(h) + 4)
			memcpy(&word, m->b + sizeof(h), 4);
		TEST_FAIL_("expected VMBus message %u, got %u (first word %u)", type, h.msgtype,
			   word);
	}
	ASSERT_LE(m->len, cap);
	memcpy(buf, m->b, m->len);
	return m->len;
}

static int port_fd(struct t *t, uint32_t conn_id)
{
	for (unsigned i = 0; i < t->nports; i++)
		if (t->ports[i].conn_id == conn_id)
			return t->ports[i].fd;
	TEST_FAIL_("no doorbell routed for connection %#x", conn_id);
}

static void open_chan(struct t *t, struct chan *c, uint32_t idx)
{
	uint8_t msg[VMBUS_MSG_MAX];
	uint64_t data[1 + RING_PAGES];
	struct vmbus_msg_gpadl_header gh = {.hdr.msgtype = VMBUS_MSG_GPADL_HEADER};
	void *pages[RING_PAGES];

	c->gpadl = 0x100 + idx;
	gh.child_relid = c->relid;
	gh.gpadl = c->gpadl;
	gh.rangecount = 1;
	gh.range_buflen = (uint16_t)sizeof(data);
	struct vmbus_gpa_range range = {.byte_count = RING_PAGES * PAGE, .byte_offset = 0};
	memcpy(&data[0], &range, sizeof(range));
	for (uint32_t i = 0; i < RING_PAGES; i++) {
		data[1 + i] = (RING_GPA(idx) >> 12) + i;
		pages[i] = test_gm_ptr(&t->gm, RING_GPA(idx) + (uint64_t)i * PAGE, PAGE);
	}
	memcpy(msg, &gh, sizeof(gh));
	memcpy(msg + sizeof(gh), data, sizeof(data));
	post(t, VMBUS_CONNID_MESSAGE, msg, sizeof(gh) + sizeof(data));
	struct vmbus_msg_gpadl_created gc;
	expect_msg(t, VMBUS_MSG_GPADL_CREATED, &gc, sizeof(gc));
	ASSERT_EQ(gc.child_relid, c->relid);
	ASSERT_EQ(gc.gpadl, c->gpadl);
	ASSERT_EQ(gc.creation_status, 0);

	/* Guest side of the rings before the host may use them. */
	ASSERT_OK(vmbus_ring_pair_init(&c->in, &c->out, pages, RING_PAGES, RING_PAGES / 2, false));

	struct vmbus_msg_open_channel oc = {.hdr.msgtype = VMBUS_MSG_OPENCHANNEL};
	oc.child_relid = c->relid;
	oc.openid = c->relid;
	oc.ringbuffer_gpadl = c->gpadl;
	oc.target_vp = 0;
	oc.downstream_ringbuffer_pageoffset = RING_PAGES / 2;
	post(t, VMBUS_CONNID_MESSAGE, &oc, sizeof(oc));
	struct vmbus_msg_open_result orr;
	expect_msg(t, VMBUS_MSG_OPENCHANNEL_RESULT, &orr, sizeof(orr));
	ASSERT_EQ(orr.child_relid, c->relid);
	ASSERT_EQ(orr.status, 0);
	c->doorbell = port_fd(t, c->conn_id);
}

/* ---- the guest's integration components ---- */

static void signal_host(struct chan *c)
{
	uint64_t one = 1;
	ASSERT_EQ(write(c->doorbell, &one, sizeof(one)), (ssize_t)sizeof(one));
}

static bool flag_test_and_clear(struct t *t, uint64_t siefp, uint32_t relid)
{
	uint8_t *flags = test_gm_ptr(&t->gm, siefp + VMBUS_MESSAGE_SINT * 256u, 256u);
	uint8_t bit = (uint8_t)(1u << (relid % 8));
	return __atomic_fetch_and(&flags[relid / 8], (uint8_t)~bit, __ATOMIC_SEQ_CST) & bit;
}

/* The relid's flag in either VP's SIEFP page (both are checked and cleared). */
static bool siefp_test_and_clear(struct t *t, uint32_t relid)
{
	bool vp0 = flag_test_and_clear(t, SIEFP_GPA, relid);
	bool vp1 = flag_test_and_clear(t, SIEFP1_GPA, relid);
	return vp0 || vp1;
}

/* Answers every packet waiting on c like hv_utils: negotiation (one version each),
 * heartbeat (sequence + 1), shutdown (accepted). Returns packets answered. */
static int answer(struct t *t, struct chan *c, uint32_t *ret_shutdown_flags, char *shutdown_msg)
{
	static uint64_t pkt_buf[4096 / 8];
	static uint8_t buf[4096];
	struct vmbus_pkt pkt;
	int n = 0, r;

	(void)t;
	while ((r = vmbus_ring_recv(&c->in, pkt_buf, sizeof(pkt_buf), &pkt)) == 0) {
		struct ic_msg_hdr h;
		uint32_t len = pkt.payload_len;
		ASSERT_GE(len, IC_BODY_OFFSET);
		ASSERT_LE(len, sizeof(buf));
		memcpy(buf, pkt.payload, len);
		memcpy(&h, buf + sizeof(struct ic_pipe_hdr), sizeof(h));
		ASSERT_LE(h.msgsize, len - IC_BODY_OFFSET);
		ASSERT_TRUE(h.flags & IC_FLAG_REQUEST);
		uint8_t *body = buf + IC_BODY_OFFSET;
		if (h.msgtype == IC_MSG_NEGOTIATE) {
			struct ic_negotiate neg;
			struct ic_version v[2 * IC_NEGOTIATE_MAX_VERSIONS];
			memcpy(&neg, body, sizeof(neg));
			ASSERT_GT(neg.framework_count, 0);
			ASSERT_GT(neg.message_count, 0);
			ASSERT_LE(neg.framework_count + neg.message_count,
				  2 * IC_NEGOTIATE_MAX_VERSIONS);
			memcpy(v, body + sizeof(neg),
			       (neg.framework_count + neg.message_count) * sizeof(v[0]));
			/* Take the highest of each, as a current guest does. */
			struct ic_version f = v[0], m = v[neg.framework_count];
			for (unsigned i = 0; i < neg.framework_count; i++)
				if (v[i].major > f.major)
					f = v[i];
			for (unsigned i = neg.framework_count;
			     i < neg.framework_count + neg.message_count; i++)
				if (v[i].major > m.major ||
				    (v[i].major == m.major && v[i].minor > m.minor))
					m = v[i];
			neg.framework_count = neg.message_count = 1;
			memcpy(body, &neg, sizeof(neg));
			memcpy(body + sizeof(neg), &f, sizeof(f));
			memcpy(body + sizeof(neg) + sizeof(f), &m, sizeof(m));
			h.framework_version = f;
			h.msg_version = m;
			h.status = IC_STATUS_OK;
			c->negotiated = true;
		} else if (h.msgtype == IC_MSG_HEARTBEAT) {
			uint64_t seq;
			memcpy(&seq, body, sizeof(seq));
			if (c->answered)
				ASSERT_GT(seq, c->last_seq);
			c->last_seq = seq;
			c->answered++;
			seq++;
			memcpy(body, &seq, sizeof(seq));
			h.status = IC_STATUS_OK;
		} else if (h.msgtype == IC_MSG_SHUTDOWN) {
			struct ic_shutdown s;
			ASSERT_GE(h.msgsize, IC_SHUTDOWN_MIN_BYTES);
			memcpy(&s, body, h.msgsize < sizeof(s) ? h.msgsize : sizeof(s));
			s.display_message[sizeof(s.display_message) - 1] = 0;
			if (ret_shutdown_flags)
				*ret_shutdown_flags = s.flags;
			if (shutdown_msg) {
				memcpy(shutdown_msg, s.display_message, 255);
				shutdown_msg[255] = 0;
			}
			h.status = IC_STATUS_OK;
		} else {
			h.status = IC_STATUS_NOT_SUPPORTED;
		}
		h.flags = IC_FLAG_TRANSACTION | IC_FLAG_RESPONSE;
		memcpy(buf + sizeof(struct ic_pipe_hdr), &h, sizeof(h));
		r = vmbus_ring_send_inband(&c->out, pkt.trans_id, 0, buf, len);
		ASSERT_GE(r, 0);
		if (r == 1)
			signal_host(c);
		n++;
	}
	ASSERT_EQ(r, -EAGAIN);
	if (vmbus_ring_recv_commit(&c->in) == 1)
		signal_host(c);
	return n;
}

/* Waits for the SINT irqfd, checks the SIEFP flag of a channel is set, answers both. An
 * interrupt may find no flag: a sender sets the flag before writing the irqfd, so an
 * earlier call can take the flag and this one the interrupt (Linux's vmbus takes such
 * interrupts as spurious too); the flag it belonged to was answered then. */
static void service(struct t *t, uint32_t *shutdown_flags, char *shutdown_msg)
{
	struct pollfd p[2] = {{t->irq, POLLIN, 0}, {t->irq1, POLLIN, 0}};
	uint64_t v;

	ASSERT_GE(poll(p, 2, WAIT_MS), 1);
	if (p[0].revents)
		ASSERT_EQ(read(t->irq, &v, sizeof(v)), (ssize_t)sizeof(v));
	if (p[1].revents) {
		ASSERT_EQ(read(t->irq1, &v, sizeof(v)), (ssize_t)sizeof(v));
		t->irq1_fired++;
	}
	bool hb = siefp_test_and_clear(t, t->hb.relid), sd = siefp_test_and_clear(t, t->sd.relid);
	if (!hb && !sd) {
		t->spurious++;
		ASSERT_LT(t->spurious, 64u); /* a sender that never sets its flag would pile up */
	}
	(void)answer(t, &t->hb, NULL, NULL);
	(void)answer(t, &t->sd, shutdown_flags, shutdown_msg);
}

/* ---- the CLI and init ---- */

/* Runs `mhcl ARGS...` with stdout captured; returns its exit status. */
static int run_mhcl(struct t *t, char *out, size_t cap, const char *a1, const char *a2,
		    const char *a3)
{
	int p[2];
	ASSERT_OK(pipe(p));
	pid_t pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		dup2(p[1], 1);
		execl(t->mhcl, "mhcl", "--socket", t->diag, a1, a2, a3, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	size_t off = 0;
	ssize_t n;
	while (off + 1 < cap && (n = read(p[0], out + off, cap - 1 - off)) > 0)
		off += (size_t)n;
	out[off] = 0;
	close(p[0]);
	int st;
	ASSERT_EQ(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static uint64_t inspect_u64(struct t *t, const char *path, const char *name)
{
	char out[4096], key[64];
	ASSERT_EQ(run_mhcl(t, out, sizeof(out), "inspect", path, NULL), 0);
	snprintf(key, sizeof(key), "%s: ", name);
	const char *s = strstr(out, key);
	if (!s)
		TEST_FAIL_("no '%s' in: %s", name, out);
	return strtoull(s + strlen(key), NULL, 10);
}

/* Waits until `mhcl inspect PATH` mentions what. */
static void wait_inspect(struct t *t, const char *path, const char *what)
{
	char out[8192];
	for (int i = 0;; i++) {
		ASSERT_LT(i, WAIT_MS / 20);
		if (run_mhcl(t, out, sizeof(out), "inspect", path, NULL) == 0 && strstr(out, what))
			return;
		usleep(20000);
	}
}

/* The heartbeat and shutdown offers, in either order. */
static void expect_ic_offers(struct t *t)
{
	for (int i = 0; i < 2; i++) {
		struct vmbus_msg_offer_channel o;
		const struct hv_guid hb = HV_GUID_IC_HEARTBEAT, sd = HV_GUID_IC_SHUTDOWN;
		expect_msg(t, VMBUS_MSG_OFFERCHANNEL, &o, sizeof(o));
		struct chan *c = !memcmp(&o.if_type, &hb, sizeof(hb))	? &t->hb
				 : !memcmp(&o.if_type, &sd, sizeof(sd)) ? &t->sd
									: NULL;
		ASSERT_TRUE(c != NULL);
		ASSERT_EQ(c->relid, 0);
		c->relid = o.child_relid;
		c->conn_id = o.connection_id;
		c->type = o.if_type;
		c->instance = o.if_instance;
		ASSERT_EQ(c->conn_id, VMBUS_EVENT_CONNID(c->relid));
	}
}

static int connect_vmbusd(struct t *t)
{
	for (int i = 0; i < WAIT_MS / 20; i++) {
		int fd = ipc_connect_unix(t->sock, SOCK_SEQPACKET);
		if (fd >= 0) {
			int fl = fcntl(fd, F_GETFL);
			ASSERT_OK(fcntl(fd, F_SETFL, fl & ~O_NONBLOCK));
			return fd;
		}
		usleep(20000);
	}
	TEST_FAIL_("vmbusd never listened on %s", t->sock);
}

static void start_init(struct t *t, const char *init, const char *diagd_dir, const char *vmbusd_dir,
		       const char *icd_dir, const char *dtc)
{
	char libexec[1024], log[128];
	int fd;

	snprintf(libexec, sizeof(libexec), "%s:%s:%s", diagd_dir, vmbusd_dir, icd_dir);
	snprintf(log, sizeof(log), "%s/init.log", t->dir);
	fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ASSERT_GE(fd, 0);
	t->init = test_init_start(
	    init, dtc, t->dir, libexec,
	    "diag { binary = \"mhcl-diagd\"; args = \"--unix\", \"${RUN}/diag.sock\";"
	    " policy = \"diagd\"; restart = \"never\"; start-order = <10>; control; };\n"
	    "vmbus { binary = \"mhcl-vmbusd\"; args = \"--vp-socket\", \"${RUN}/vmbus.sock\","
	    " \"--device-socket\", \"${RUN}/dev.sock\", \"--device-grace-ms\", \"1500\";"
	    " policy = \"vmbusd\"; restart = \"always\"; restart-delay-ms = <10>;"
	    " start-order = <20>; };\n"
	    "ic { binary = \"mhcl-icd\"; args = \"--vmbus-socket\", \"${RUN}/dev.sock\";"
	    " policy = \"icd\"; restart = \"always\"; restart-delay-ms = <10>;"
	    " start-order = <30>; };\n",
	    fd);
	close(fd);
}

/* Sends the partition and the SynIC pages; -EPIPE when vmbusd closed before taking it. */
static int try_attach(struct t *t)
{
	const struct guestmem_range *r = &t->gm.layout.ranges[0];
	Mhcl__Vmbus__RamRange range = MHCL__VMBUS__RAM_RANGE__INIT;
	Mhcl__Vmbus__RamRange *ranges[] = {&range};
	Mhcl__Vmbus__WorkerPartition pi = MHCL__VMBUS__WORKER_PARTITION__INIT;
	struct frame *f = calloc(1, sizeof(*f));

	range.gpa = r->gpa;
	range.size = r->size;
	range.memfd_offset = r->memfd_offset;
	pi.vp_count = 2;
	pi.n_ram = 1;
	pi.ram = ranges;
	pi.reattach = t->reattach;
	pi.host_seq = t->host_seq;
	send_frame(t, IPC_MSG_VP_PARTITION, IPC_F_REQUEST, ++t->next_id, &pi.base, &t->gm.memfd, 1);
	if (pump(t, IPC_MSG_VP_PARTITION, IPC_F_RESPONSE, f) < 0) {
		free(f);
		return -EPIPE;
	}
	ASSERT_FALSE(f->hdr.flags & IPC_F_ERROR);
	Mhcl__Vmbus__VmbusdPortClaim *c = unpack(f, &mhcl__vmbus__vmbusd_port_claim__descriptor);
	ASSERT_EQ(c->n_connection_ids, 2);
	ASSERT_EQ(c->connection_ids[0], VMBUS_CONNID_MESSAGE);
	ASSERT_EQ(c->connection_ids[1], VMBUS_CONNID_MESSAGE_4);
	t->claim_guest_seq = c->guest_seq;
	protobuf_c_message_free_unpacked(&c->base, NULL);
	free(f);

	Mhcl__Vmbus__WorkerSynicPages sp = MHCL__VMBUS__WORKER_SYNIC_PAGES__INIT;
	sp.vp = 0;
	sp.enabled = true;
	sp.simp_gpa = SIMP_GPA;
	sp.siefp_gpa = SIEFP_GPA;
	send_frame(t, IPC_MSG_VP_SYNIC_PAGES, IPC_F_NOTIFY, 0, &sp.base, NULL, 0);
	sp.vp = 1;
	sp.simp_gpa = SIMP1_GPA;
	sp.siefp_gpa = SIEFP1_GPA;
	send_frame(t, IPC_MSG_VP_SYNIC_PAGES, IPC_F_NOTIFY, 0, &sp.base, NULL, 0);
	return 0;
}

static void attach(struct t *t)
{
	ASSERT_OK(try_attach(t));
}

/* ---- vmbusd restarts ---- */

#define SPLIT_GPADL_PAGES 30u /* a header and one body */
#define SPLIT_GPADL_PFN 0xa00u

/* Starts a GPADL whose body comes later (30 pages: 26 PFNs fit the header). */
static void gpadl_header_only(struct t *t, uint32_t relid, uint32_t gpadl)
{
	uint8_t msg[VMBUS_MSG_MAX];
	struct vmbus_msg_gpadl_header gh = {.hdr.msgtype = VMBUS_MSG_GPADL_HEADER};
	struct vmbus_gpa_range range = {.byte_count = SPLIT_GPADL_PAGES * PAGE};
	uint64_t data[VMBUS_GPADL_HEADER_MAX_U64];

	gh.child_relid = relid;
	gh.gpadl = gpadl;
	gh.rangecount = 1;
	gh.range_buflen = (uint16_t)(8 + SPLIT_GPADL_PAGES * 8);
	memcpy(&data[0], &range, sizeof(range));
	for (uint32_t i = 1; i < VMBUS_GPADL_HEADER_MAX_U64; i++)
		data[i] = SPLIT_GPADL_PFN + i - 1;
	memcpy(msg, &gh, sizeof(gh));
	memcpy(msg + sizeof(gh), data, sizeof(data));
	post(t, VMBUS_CONNID_MESSAGE, msg, sizeof(gh) + sizeof(data));
}

static void gpadl_body(struct t *t, uint32_t relid, uint32_t gpadl)
{
	uint8_t msg[VMBUS_MSG_MAX];
	struct vmbus_msg_gpadl_body gb = {.hdr.msgtype = VMBUS_MSG_GPADL_BODY, .gpadl = gpadl};
	uint32_t sent = VMBUS_GPADL_HEADER_MAX_U64 - 1, n = SPLIT_GPADL_PAGES - sent;
	uint64_t pfns[SPLIT_GPADL_PAGES];

	for (uint32_t i = 0; i < n; i++)
		pfns[i] = SPLIT_GPADL_PFN + sent + i;
	memcpy(msg, &gb, sizeof(gb));
	memcpy(msg + sizeof(gb), pfns, n * 8);
	post(t, VMBUS_CONNID_MESSAGE, msg, sizeof(gb) + n * 8);
	struct vmbus_msg_gpadl_created gc;
	expect_msg(t, VMBUS_MSG_GPADL_CREATED, &gc, sizeof(gc));
	ASSERT_EQ(gc.child_relid, relid);
	ASSERT_EQ(gc.gpadl, gpadl);
	ASSERT_EQ(gc.creation_status, 0);
}

/* vmbusd went away: as a worker does, drop its doorbells, reconnect, reattach the
 * partition (with the last host message received), and send again the guest message the
 * new vmbusd does not have. */
static void worker_reattach(struct t *t)
{
	while (pump(t, _IPC_MSG_MAX - 1, IPC_F_NOTIFY, NULL) == 0)
		; /* until vmbusd's end closes */
	close(t->fd);
	for (unsigned i = 0; i < t->nports; i++)
		close(t->ports[i].fd);
	t->nports = 0;
	t->reattach = true;
	/* A connect can still reach the instance on its way out, which then closes: try
	 * again, as mhcl-vp does. */
	for (int tries = 0;; tries++) {
		ASSERT_LT(tries, WAIT_MS / 20);
		t->fd = connect_vmbusd(t);
		if (try_attach(t) == 0)
			break;
		close(t->fd);
		for (unsigned i = 0; i < t->nports; i++)
			close(t->ports[i].fd);
		t->nports = 0;
		usleep(20000);
	}
	ASSERT_LE(t->claim_guest_seq, t->guest_seq);
	ASSERT_GE(t->claim_guest_seq + 1, t->guest_seq);
	if (t->claim_guest_seq < t->guest_seq)
		post_again(t);
	/* The new vmbusd routed fresh doorbells for the open channels. */
	t->hb.doorbell = port_fd(t, t->hb.conn_id);
	t->sd.doorbell = port_fd(t, t->sd.conn_id);
}

/* ---- the test as a second device server ---- */

/* True if memfds a and b are the same file. */
static bool same_inode(int a, int b)
{
	struct stat sa, sb;
	ASSERT_OK(fstat(a, &sa));
	ASSERT_OK(fstat(b, &sb));
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* True if what is written to eventfd a can be read from eventfd b (b may also have been
 * written by others: its count is at least what a added). */
static bool same_eventfd(int a, int b)
{
	uint64_t v = 1000000, got = 0;
	ASSERT_EQ(write(a, &v, sizeof(v)), (ssize_t)sizeof(v));
	struct pollfd p = {b, POLLIN, 0};
	if (poll(&p, 1, WAIT_MS) != 1 || read(b, &got, sizeof(got)) != sizeof(got))
		return false;
	if (got > v) {
		/* Signals someone else raised meanwhile (icd interrupting the guest) stay. */
		uint64_t extra = got - v;
		ASSERT_EQ(write(b, &extra, sizeof(extra)), (ssize_t)sizeof(extra));
	}
	return got >= v;
}

static unsigned dev_gpadls; /* VmbusdGpadlAdd requests the fake device got */

/* The next request the device gets from vmbusd (notifications are skipped, the GPADLs
 * of its channel acknowledged). */
static void dev_recv(int dfd, uint16_t type, struct frame *f)
{
	for (;;) {
		ASSERT_OK(recv_frame(dfd, f));
		if (f->hdr.flags & IPC_F_NOTIFY) {
			for (size_t i = 0; i < f->nfds; i++)
				close(f->fds[i]);
			continue;
		}
		ASSERT_TRUE(f->hdr.flags & IPC_F_REQUEST);
		if (f->hdr.type == IPC_MSG_VP_GPADL_ADD && type != IPC_MSG_VP_GPADL_ADD) {
			Mhcl__Vmbus__VmbusdGpadlAdd *g =
			    unpack(f, &mhcl__vmbus__vmbusd_gpadl_add__descriptor);
			ASSERT_EQ(g->n_ranges, 1);
			ASSERT_GT(g->n_pfns, 0);
			protobuf_c_message_free_unpacked(&g->base, NULL);
			dev_gpadls++;
			Mhcl__Vmbus__DeviceGpadlReply rep = MHCL__VMBUS__DEVICE_GPADL_REPLY__INIT;
			send_frame_to(dfd, f->hdr.type, IPC_F_RESPONSE, f->hdr.request_id,
				      &rep.base, NULL, 0);
			continue;
		}
		ASSERT_EQ(f->hdr.type, type);
		return;
	}
}

/* Sends a DeviceOffer; returns 0 or the errno of vmbusd's error reply. */
static int dev_offer(int dfd, uint32_t id, const void *type, size_t type_len,
		     const struct hv_guid *instance)
{
	Mhcl__Vmbus__DeviceOffer m = MHCL__VMBUS__DEVICE_OFFER__INIT;
	struct frame *f = calloc(1, sizeof(*f));
	char why[128];
	int r = 0;

	m.offer_id = id;
	m.if_type = (ProtobufCBinaryData){type_len, (uint8_t *)type};
	m.if_instance = (ProtobufCBinaryData){sizeof(*instance), (uint8_t *)instance->b};
	send_frame_to(dfd, IPC_MSG_VP_DEVICE_OFFER, IPC_F_REQUEST, id, &m.base, NULL, 0);
	ASSERT_OK(recv_frame(dfd, f));
	ASSERT_TRUE(f->hdr.flags & IPC_F_RESPONSE);
	ASSERT_EQ(f->hdr.request_id, id);
	if (f->hdr.flags & IPC_F_ERROR) {
		struct ipc_msg msg = {.type = f->hdr.type,
				      .flags = f->hdr.flags,
				      .body = f->body,
				      .body_len = f->hdr.body_len};
		r = ipc_msg_error(&msg, why, sizeof(why));
		ASSERT_LT(r, 0);
	}
	free(f);
	return r;
}

/* Guest: OPENCHANNEL on an already created GPADL; the worker routes the doorbell, then the
 * device gets VmbusdChannelOpen in *f (the guest's answer waits for the device's). */
static void guest_open_to_device(struct t *t, struct chan *c, int dfd, struct frame *f)
{
	struct vmbus_msg_open_channel oc = {.hdr.msgtype = VMBUS_MSG_OPENCHANNEL};
	oc.child_relid = c->relid;
	oc.openid = c->relid;
	oc.ringbuffer_gpadl = c->gpadl;
	oc.target_vp = 0;
	oc.downstream_ringbuffer_pageoffset = RING_PAGES / 2;
	post(t, VMBUS_CONNID_MESSAGE, &oc, sizeof(oc));
	ASSERT_OK(pump(t, IPC_MSG_VP_EVENT_PORT_ASSIGN, IPC_F_REQUEST, NULL));
	dev_recv(dfd, IPC_MSG_VP_CHANNEL_OPEN, f);
}

static void dev_recv(int dfd, uint16_t type, struct frame *f);

/* The guest builds c's ring GPADL; with a device fd, that device must first learn the
 * GPADL (VmbusdGpadlAdd) before the guest hears it exists. */
static void guest_gpadl(struct t *t, struct chan *c, uint32_t idx, int dfd)
{
	uint8_t msg[VMBUS_MSG_MAX];
	uint64_t data[1 + RING_PAGES];
	struct vmbus_msg_gpadl_header gh = {.hdr.msgtype = VMBUS_MSG_GPADL_HEADER};

	c->gpadl = 0x100 + idx;
	gh.child_relid = c->relid;
	gh.gpadl = c->gpadl;
	gh.rangecount = 1;
	gh.range_buflen = (uint16_t)sizeof(data);
	struct vmbus_gpa_range range = {.byte_count = RING_PAGES * PAGE, .byte_offset = 0};
	memcpy(&data[0], &range, sizeof(range));
	for (uint32_t i = 0; i < RING_PAGES; i++)
		data[1 + i] = (RING_GPA(idx) >> 12) + i;
	memcpy(msg, &gh, sizeof(gh));
	memcpy(msg + sizeof(gh), data, sizeof(data));
	post(t, VMBUS_CONNID_MESSAGE, msg, sizeof(gh) + sizeof(data));
	if (dfd >= 0) {
		struct frame *f = calloc(1, sizeof(*f));
		dev_recv(dfd, IPC_MSG_VP_GPADL_ADD, f);
		Mhcl__Vmbus__VmbusdGpadlAdd *g =
		    unpack(f, &mhcl__vmbus__vmbusd_gpadl_add__descriptor);
		ASSERT_EQ(g->gpadl, c->gpadl);
		ASSERT_EQ(g->relid, c->relid);
		ASSERT_EQ(g->n_pfns, RING_PAGES);
		ASSERT_EQ(g->pfns[0], RING_GPA(idx) >> 12);
		ASSERT_EQ(g->ranges[0]->byte_count, RING_PAGES * PAGE);
		protobuf_c_message_free_unpacked(&g->base, NULL);
		Mhcl__Vmbus__DeviceGpadlReply rep = MHCL__VMBUS__DEVICE_GPADL_REPLY__INIT;
		send_frame_to(dfd, f->hdr.type, IPC_F_RESPONSE, f->hdr.request_id, &rep.base, NULL,
			      0);
		free(f);
	}
	struct vmbus_msg_gpadl_created gc;
	expect_msg(t, VMBUS_MSG_GPADL_CREATED, &gc, sizeof(gc));
	ASSERT_EQ(gc.gpadl, c->gpadl);
	ASSERT_EQ(gc.creation_status, 0);
}

/*
 * The device-server protocol seen from a device: bad and duplicate offers are refused with
 * a reason, a good one reaches the guest at once; the guest's open hands the device the
 * ring PFNs, the guest RAM memfd, the very doorbell eventfd the worker routed and the
 * worker's SINT irqfd; a refused open fails in the guest and releases the doorbell; the
 * guest's close waits for the device's VmbusdChannelClose answer before the GPADL goes; the
 * device hanging up rescinds its channel. icd goes on meanwhile.
 */
static void fake_device(struct t *t)
{
	static const struct hv_guid type = HV_GUID_INIT(0x6d686331, 0x7e57, 0x4000, 0x80, 0, 1, 2,
							3, 4, 5, 6),
				    inst = HV_GUID_INIT(0x6d686331, 0x7e57, 0x4001, 0x80, 0, 1, 2,
							3, 4, 5, 7);
	char dev_sock[160], out[8192];
	struct frame *f = calloc(1, sizeof(*f));
	struct chan c = {0};
	int dfd;

	snprintf(dev_sock, sizeof(dev_sock), "%s/dev.sock", t->dir);
	dfd = ipc_connect_unix(dev_sock, SOCK_SEQPACKET);
	ASSERT_GE(dfd, 0);
	ASSERT_OK(fcntl(dfd, F_SETFL, fcntl(dfd, F_GETFL) & ~O_NONBLOCK));
	ASSERT_EQ(dev_offer(dfd, 1, type.b, 3, &inst), -EINVAL);
	ASSERT_EQ(dev_offer(dfd, 1, t->hb.type.b, 16, &t->hb.instance), -EEXIST);
	ASSERT_EQ(dev_offer(dfd, 7, type.b, 16, &inst), 0);
	ASSERT_EQ(dev_offer(dfd, 7, type.b, 16, &inst), -EEXIST);
	struct vmbus_msg_offer_channel o;
	expect_msg(t, VMBUS_MSG_OFFERCHANNEL, &o, sizeof(o));
	ASSERT_TRUE(!memcmp(&o.if_type, &type, sizeof(type)));
	c.relid = o.child_relid;
	c.conn_id = o.connection_id;
	guest_gpadl(t, &c, 4, dfd);

	/* First open: the device refuses it; the guest sees a failed open, the doorbell goes. */
	unsigned released = t->released;
	guest_open_to_device(t, &c, dfd, f);
	ASSERT_EQ(f->nfds, 3);
	for (size_t i = 0; i < f->nfds; i++)
		close(f->fds[i]);
	{
		Mhcl__ErrorReply e = MHCL__ERROR_REPLY__INIT;
		e.errno_code = EIO; /* positive on the wire */
		e.message = "test refuses";
		send_frame_to(dfd, IPC_MSG_VP_CHANNEL_OPEN, IPC_F_RESPONSE | IPC_F_ERROR,
			      f->hdr.request_id, &e.base, NULL, 0);
	}
	struct vmbus_msg_open_result orr;
	expect_msg(t, VMBUS_MSG_OPENCHANNEL_RESULT, &orr, sizeof(orr));
	ASSERT_EQ(orr.child_relid, c.relid);
	ASSERT_NE(orr.status, 0);
	while (t->released == released)
		ASSERT_OK(pump(t, IPC_MSG_VP_EVENT_PORT_RELEASE, IPC_F_REQUEST, NULL));

	/* Second open: check what the device got, then accept. */
	guest_open_to_device(t, &c, dfd, f);
	Mhcl__Vmbus__VmbusdChannelOpen *m =
	    unpack(f, &mhcl__vmbus__vmbusd_channel_open__descriptor);
	ASSERT_EQ(m->offer_id, 7);
	ASSERT_EQ(m->relid, c.relid);
	ASSERT_EQ(m->target_vp, 0);
	ASSERT_EQ(m->n_pfns, RING_PAGES);
	for (uint32_t i = 0; i < RING_PAGES; i++)
		ASSERT_EQ(m->pfns[i], (RING_GPA(4) >> 12) + i);
	ASSERT_EQ(m->downstream_page, RING_PAGES / 2);
	ASSERT_EQ(m->siefp_gpa, SIEFP_GPA);
	ASSERT_EQ(m->n_ram, 1); /* the memfd again: the refused open may have dropped it */
	ASSERT_EQ(m->ram[0]->size, RAM_SIZE);
	ASSERT_EQ(f->nfds, 3);
	ASSERT_TRUE(same_inode(f->fds[0], t->gm.memfd));
	/* The guest's HvSignalEvent (the worker's routed eventfd) rings the device's doorbell;
	 * the device's irqfd is the worker's SINT irqfd. */
	ASSERT_TRUE(same_eventfd(port_fd(t, c.conn_id), f->fds[1]));
	ASSERT_TRUE(same_eventfd(f->fds[2], t->irq));
	protobuf_c_message_free_unpacked(&m->base, NULL);
	for (size_t i = 0; i < f->nfds; i++)
		close(f->fds[i]);
	Mhcl__Vmbus__DeviceChannelOpenReply okr = MHCL__VMBUS__DEVICE_CHANNEL_OPEN_REPLY__INIT;
	send_frame_to(dfd, IPC_MSG_VP_CHANNEL_OPEN, IPC_F_RESPONSE, f->hdr.request_id, &okr.base,
		      NULL, 0);
	expect_msg(t, VMBUS_MSG_OPENCHANNEL_RESULT, &orr, sizeof(orr));
	ASSERT_EQ(orr.status, 0);

	/* The guest closes: vmbusd asks the device and holds the close until it answers. */
	struct vmbus_msg_relid cc = {.hdr.msgtype = VMBUS_MSG_CLOSECHANNEL, .child_relid = c.relid};
	post(t, VMBUS_CONNID_MESSAGE, &cc, sizeof(cc));
	dev_recv(dfd, IPC_MSG_VP_CHANNEL_CLOSE, f);
	Mhcl__Vmbus__VmbusdChannelClose *cl =
	    unpack(f, &mhcl__vmbus__vmbusd_channel_close__descriptor);
	ASSERT_EQ(cl->offer_id, 7);
	ASSERT_EQ(cl->relid, c.relid);
	protobuf_c_message_free_unpacked(&cl->base, NULL);
	ASSERT_EQ(run_mhcl(t, out, sizeof(out), "inspect", "vmbus/devices/dev1/offer7", NULL), 0);
	ASSERT_TRUE(strstr(out, "state: \"closing\"") != NULL);
	Mhcl__Vmbus__DeviceChannelCloseReply clr = MHCL__VMBUS__DEVICE_CHANNEL_CLOSE_REPLY__INIT;
	send_frame_to(dfd, IPC_MSG_VP_CHANNEL_CLOSE, IPC_F_RESPONSE, f->hdr.request_id, &clr.base,
		      NULL, 0);
	wait_inspect(t, "vmbus/devices/dev1/offer7", "state: \"idle\"");
	struct vmbus_msg_gpadl_teardown gt = {.hdr.msgtype = VMBUS_MSG_GPADL_TEARDOWN};
	gt.child_relid = c.relid;
	gt.gpadl = c.gpadl;
	post(t, VMBUS_CONNID_MESSAGE, &gt, sizeof(gt));
	/* The GPADL goes only once the device let go of it. */
	dev_recv(dfd, IPC_MSG_VP_GPADL_REMOVE, f);
	Mhcl__Vmbus__VmbusdGpadlRemove *gr =
	    unpack(f, &mhcl__vmbus__vmbusd_gpadl_remove__descriptor);
	ASSERT_EQ(gr->gpadl, c.gpadl);
	protobuf_c_message_free_unpacked(&gr->base, NULL);
	Mhcl__Vmbus__DeviceGpadlReply grr = MHCL__VMBUS__DEVICE_GPADL_REPLY__INIT;
	send_frame_to(dfd, IPC_MSG_VP_GPADL_REMOVE, IPC_F_RESPONSE, f->hdr.request_id, &grr.base,
		      NULL, 0);
	struct vmbus_msg_gpadl_torndown td;
	expect_msg(t, VMBUS_MSG_GPADL_TORNDOWN, &td, sizeof(td));
	ASSERT_EQ(td.gpadl, c.gpadl);

	/* The device dies with the guest's open in flight: the open waits for its next
	 * instance, which registers the same offer, learns the channel's GPADL, gets the
	 * VmbusdChannelOpen (not a resume: the channel never opened) and answers it. The guest sees
	 * one successful open, no rescind. */
	guest_gpadl(t, &c, 4, dfd);
	guest_open_to_device(t, &c, dfd, f);
	for (size_t i = 0; i < f->nfds; i++)
		close(f->fds[i]);
	close(dfd);
	dfd = ipc_connect_unix(dev_sock, SOCK_SEQPACKET);
	ASSERT_GE(dfd, 0);
	ASSERT_OK(fcntl(dfd, F_SETFL, fcntl(dfd, F_GETFL) & ~O_NONBLOCK));
	Mhcl__Vmbus__DeviceOffer again = MHCL__VMBUS__DEVICE_OFFER__INIT;
	again.offer_id = 9;
	again.if_type = (ProtobufCBinaryData){16, (uint8_t *)type.b};
	again.if_instance = (ProtobufCBinaryData){16, (uint8_t *)inst.b};
	send_frame_to(dfd, IPC_MSG_VP_DEVICE_OFFER, IPC_F_REQUEST, 9, &again.base, NULL, 0);
	unsigned gpadls = dev_gpadls;
	bool offered = false;
	uint32_t open_id = 0;
	while (!offered || !open_id) {
		ASSERT_OK(recv_frame(dfd, f));
		if ((f->hdr.flags & IPC_F_RESPONSE) && f->hdr.type == IPC_MSG_VP_DEVICE_OFFER) {
			ASSERT_FALSE(f->hdr.flags & IPC_F_ERROR);
			offered = true;
		} else if ((f->hdr.flags & IPC_F_REQUEST) && f->hdr.type == IPC_MSG_VP_GPADL_ADD) {
			dev_gpadls++;
			Mhcl__Vmbus__DeviceGpadlReply rep = MHCL__VMBUS__DEVICE_GPADL_REPLY__INIT;
			send_frame_to(dfd, f->hdr.type, IPC_F_RESPONSE, f->hdr.request_id,
				      &rep.base, NULL, 0);
		} else if ((f->hdr.flags & IPC_F_REQUEST) &&
			   f->hdr.type == IPC_MSG_VP_CHANNEL_OPEN) {
			ASSERT_EQ(dev_gpadls, gpadls + 1); /* the GPADL came first */
			Mhcl__Vmbus__VmbusdChannelOpen *o2 =
			    unpack(f, &mhcl__vmbus__vmbusd_channel_open__descriptor);
			ASSERT_EQ(o2->offer_id, 9);
			ASSERT_EQ(o2->relid, c.relid);
			ASSERT_FALSE(o2->resume);
			protobuf_c_message_free_unpacked(&o2->base, NULL);
			open_id = f->hdr.request_id;
		}
		for (size_t i = 0; i < f->nfds; i++)
			close(f->fds[i]);
	}
	send_frame_to(dfd, IPC_MSG_VP_CHANNEL_OPEN, IPC_F_RESPONSE, open_id, &okr.base, NULL, 0);
	expect_msg(t, VMBUS_MSG_OPENCHANNEL_RESULT, &orr, sizeof(orr));
	ASSERT_EQ(orr.child_relid, c.relid);
	ASSERT_EQ(orr.status, 0);

	/* The device hangs up: its channel is rescinded; icd's are untouched. */
	close(dfd);
	struct vmbus_msg_relid rs;
	expect_msg(t, VMBUS_MSG_RESCIND_CHANNELOFFER, &rs, sizeof(rs));
	ASSERT_EQ(rs.child_relid, c.relid);
	struct vmbus_msg_relid rr = {.hdr.msgtype = VMBUS_MSG_RELID_RELEASED,
				     .child_relid = c.relid};
	post(t, VMBUS_CONNID_MESSAGE, &rr, sizeof(rr));
	uint32_t before = t->hb.answered;
	while (t->hb.answered < before + 1)
		service(t, NULL, NULL);
	free(f);
}

int main(int argc, char **argv)
{
	static struct t t;
	uint8_t msg[VMBUS_MSG_MAX];
	char out[4096];

	if (argc != 7) {
		fprintf(stderr, "usage: %s INIT DIAGD_DIR VMBUSD_DIR ICD_DIR MHCL DTC\n", argv[0]);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	t.mhcl = argv[5];
	snprintf(t.dir, sizeof(t.dir), "/tmp/mhcl-vmbusd-XXXXXX");
	ASSERT_TRUE(mkdtemp(t.dir) != NULL);
	snprintf(t.sock, sizeof(t.sock), "%s/vmbus.sock", t.dir);
	snprintf(t.diag, sizeof(t.diag), "%s/diag.sock", t.dir);
	start_init(&t, argv[1], argv[2], argv[3], argv[4], argv[6]);

	/* Guest RAM as the worker makes it: devices refuse a memfd that could shrink. */
	ASSERT_OK(guestmem_create(RAM_SIZE, &t.gm));
	t.irq = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ASSERT_GE(t.irq, 0);
	t.irq1 = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ASSERT_GE(t.irq1, 0);

	t.fd = connect_vmbusd(&t);
	/* icd registered both its offers with vmbusd (before its READY). */
	wait_inspect(&t, "vmbus/devices", "offer2");
	ASSERT_EQ(inspect_u64(&t, "vmbus/devices", "offers"), 2);
	/* Worker input vmbusd must refuse without falling over: a partition without RAM. */
	{
		Mhcl__Vmbus__WorkerPartition bad = MHCL__VMBUS__WORKER_PARTITION__INIT;
		struct frame *f = calloc(1, sizeof(*f));
		bad.vp_count = 1;
		send_frame(&t, IPC_MSG_VP_PARTITION, IPC_F_REQUEST, ++t.next_id, &bad.base,
			   &t.gm.memfd, 1);
		ASSERT_OK(pump(&t, IPC_MSG_VP_PARTITION, IPC_F_RESPONSE, f));
		ASSERT_TRUE(f->hdr.flags & IPC_F_ERROR);
		free(f);
	}
	attach(&t);
	/* A second worker is refused while this one is attached. */
	{
		int fd2 = connect_vmbusd(&t);
		struct frame *f = calloc(1, sizeof(*f));
		ASSERT_EQ(recv_frame(fd2, f), -EPIPE);
		close(fd2);
		free(f);
	}

	/* Connect (5.3 on connection 4, as Linux 6.1 starts) and ask for offers (icd's). */
	struct vmbus_msg_initiate_contact ic = {.hdr.msgtype = VMBUS_MSG_INITIATE_CONTACT};
	ic.version_requested = VMBUS_VERSION_WIN10_V5_3;
	ic.target_vcpu = 0;
	ic.interrupt_page_or_target = VMBUS_MESSAGE_SINT;
	post(&t, VMBUS_CONNID_MESSAGE_4, &ic, sizeof(ic));
	struct vmbus_msg_version_response vr;
	expect_msg(&t, VMBUS_MSG_VERSION_RESPONSE, &vr, sizeof(vr));
	ASSERT_EQ(vr.version_supported, 1);
	ASSERT_EQ(vr.msg_conn_id, VMBUS_CONNID_MESSAGE);
	/* A garbage message: dropped and counted by the library, the connection lives on. */
	memset(msg, 0xee, 16);
	post(&t, VMBUS_CONNID_MESSAGE, msg, 16);

	struct vmbus_msg_hdr ro = {.msgtype = VMBUS_MSG_REQUESTOFFERS};
	post(&t, VMBUS_CONNID_MESSAGE, &ro, sizeof(ro));
	expect_ic_offers(&t);
	expect_msg(&t, VMBUS_MSG_ALLOFFERS_DELIVERED, msg, sizeof(msg));

	open_chan(&t, &t.hb, 0);
	open_chan(&t, &t.sd, 1);
	/* Negotiation on both, then heartbeats. */
	while (!t.hb.negotiated || !t.sd.negotiated || t.hb.answered < 1)
		service(&t, NULL, NULL);

	/* The CLI sees the sequence climb (each step waits for the next heartbeat). */
	uint64_t s1 = inspect_u64(&t, "ic/heartbeat", "sequence");
	ASSERT_GT(s1, 0);
	uint32_t before = t.hb.answered;
	while (t.hb.answered < before + 2)
		service(&t, NULL, NULL);
	uint64_t s2 = inspect_u64(&t, "ic/heartbeat", "sequence");
	ASSERT_GT(s2, s1);
	/* The data path is icd's own: the guest's doorbells reached it, it interrupted the
	 * guest (the irqfd and SIEFP flags service() checked), on a memfd it mapped once. */
	ASSERT_GE(inspect_u64(&t, "ic/heartbeat", "doorbells"), 1);
	ASSERT_GE(inspect_u64(&t, "ic/heartbeat", "interrupts"), 1);
	ASSERT_EQ(inspect_u64(&t, "ic/vmbus", "memfd_maps"), 1);
	ASSERT_EQ(inspect_u64(&t, "vmbus/devices/dev0", "opens"), 2);
	fake_device(&t);
	ASSERT_EQ(run_mhcl(&t, out, sizeof(out), "inspect", "vmbus", NULL), 0);
	ASSERT_TRUE(strstr(out, "protocol_version: \"5.3\"") != NULL);
	ASSERT_TRUE(strstr(out, "state: \"open\"") != NULL);
	ASSERT_TRUE(strstr(out, "ring_in_use: true") != NULL);
	ASSERT_GE(inspect_u64(&t, "vmbus/connection", "dropped"), 1);

	/* mhcl guest shutdown: answered once the guest accepted it. */
	int p[2];
	ASSERT_OK(pipe(p));
	pid_t cli = fork();
	ASSERT_GE(cli, 0);
	if (cli == 0) {
		dup2(p[1], 1);
		execl(t.mhcl, "mhcl", "--socket", t.diag, "guest", "shutdown", "maintenance window",
		      (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	uint32_t flags = UINT32_MAX;
	char smsg[256] = "";
	while (flags == UINT32_MAX)
		service(&t, &flags, smsg);
	ASSERT_EQ(flags & (IC_SHUTDOWN_F_RESTART | IC_SHUTDOWN_F_HIBERNATE), 0);
	ASSERT_STREQ(smsg, "maintenance window");
	ssize_t n = read(p[0], out, sizeof(out) - 1);
	ASSERT_GT(n, 0);
	out[n] = 0;
	close(p[0]);
	int st;
	ASSERT_EQ(waitpid(cli, &st, 0), cli);
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(WEXITSTATUS(st), 0);
	ASSERT_TRUE(strstr(out, "accepted the shutdown request") != NULL);

	/* icd restarts (planned, then kill -9, each twice) while the guest runs: vmbusd keeps
	 * both channels open (no rescind, no new offer, doorbells still routed), the next icd
	 * adopts them with the IC state init kept in its fd store, and the heartbeat goes on
	 * over the same rings with the sequence still climbing. */
	static const char *const how[] = {"restart", "kill", "restart", "kill"};
	uint64_t rescinds = inspect_u64(&t, "vmbus/devices", "rescinds");
	unsigned released = t.released;
	for (size_t i = 0; i < sizeof(how) / sizeof(how[0]); i++) {
		uint64_t seq = inspect_u64(&t, "ic/heartbeat", "sequence");
		uint64_t resumed = inspect_u64(&t, "vmbus/devices", "channels_resumed");
		ASSERT_EQ(run_mhcl(&t, out, sizeof(out), how[i], "ic", NULL), 0);
		wait_inspect(&t, "ic", "adopted_state: true");
		for (int k = 0; inspect_u64(&t, "vmbus/devices", "channels_resumed") < resumed + 2;
		     k++) {
			ASSERT_LT(k, WAIT_MS / 20);
			usleep(20000);
		}
		uint32_t answered = t.hb.answered;
		while (t.hb.answered < answered + 2)
			service(&t, NULL, NULL);
		ASSERT_GT(inspect_u64(&t, "ic/heartbeat", "sequence"), seq);
		ASSERT_EQ(inspect_u64(&t, "ic/heartbeat", "resumes"), 1);
	}
	ASSERT_EQ(inspect_u64(&t, "vmbus/devices", "rescinds"), rescinds);
	ASSERT_EQ(t.released, released);
	ASSERT_EQ(inspect_u64(&t, "vmbus/devices", "offers_adopted"), 1 + 2 * 4); /* fake, icd */
	ASSERT_EQ(inspect_u64(&t, "vmbus/devices", "resume_failures"), 0);

	/* MODIFYCHANNEL: the heartbeat's interrupts move to VP 1; icd gets VP 1's irqfd and
	 * sets the flag in VP 1's SIEFP page. The restarts below keep it there. */
	struct vmbus_msg_modify_channel mc = {.hdr.msgtype = VMBUS_MSG_MODIFYCHANNEL};
	mc.child_relid = t.hb.relid;
	mc.target_vp = 1;
	post(&t, VMBUS_CONNID_MESSAGE, &mc, sizeof(mc));
	struct vmbus_msg_modify_channel_response mr;
	expect_msg(&t, VMBUS_MSG_MODIFYCHANNEL_RESPONSE, &mr, sizeof(mr));
	ASSERT_EQ(mr.child_relid, t.hb.relid);
	ASSERT_EQ(mr.status, 0);
	wait_inspect(&t, "ic/heartbeat", "modifies: 1");
	ASSERT_EQ(inspect_u64(&t, "ic/heartbeat", "target_vp"), 1);
	uint64_t fired = t.irq1_fired;
	while (t.irq1_fired < fired + 2)
		service(&t, NULL, NULL);

	/* vmbusd restarts (planned, then kill -9, twice each) while the guest runs, each with
	 * a GPADL half built. The worker reattaches; the new vmbusd takes over the recorded
	 * VMBus state, routes fresh doorbells, icd (restarted when it lost vmbusd) adopts its
	 * open channels, the GPADL's body posted after the restart completes it, a guest
	 * message sent twice is taken once, and the heartbeat goes on over the same rings. */
	static const char *const vhow[] = {"restart", "kill", "restart", "kill"};
	for (size_t i = 0; i < sizeof(vhow) / sizeof(vhow[0]); i++) {
		uint64_t seq = inspect_u64(&t, "ic/heartbeat", "sequence");
		uint32_t gpadl = 0x200 + (uint32_t)i;
		gpadl_header_only(&t, t.hb.relid, gpadl);
		ASSERT_EQ(run_mhcl(&t, out, sizeof(out), vhow[i], "vmbus", NULL), 0);
		worker_reattach(&t);
		post_again(&t); /* already taken: dropped */
		gpadl_body(&t, t.hb.relid, gpadl);
		uint32_t answered = t.hb.answered;
		while (t.hb.answered < answered + 2)
			service(&t, NULL, NULL);
		ASSERT_GT(inspect_u64(&t, "ic/heartbeat", "sequence"), seq);
		ASSERT_EQ(inspect_u64(&t, "vmbus/state", "restores"), 1);
		ASSERT_EQ(inspect_u64(&t, "vmbus/devices", "rescinds"), 0);
		ASSERT_GE(inspect_u64(&t, "vmbus/state", "guest_messages_duplicate"), 1);
		/* The heartbeat's interrupts still go to VP 1. */
		ASSERT_EQ(inspect_u64(&t, "ic/heartbeat", "target_vp"), 1);
		fired = t.irq1_fired;
		while (t.irq1_fired < fired + 1)
			service(&t, NULL, NULL);
	}
	ASSERT_EQ(t.qcount, 0); /* no rescind, no offer, nothing unexpected */

	/* icd knows every GPADL of its channel beyond the ring (netvsc's buffers need this),
	 * each told again to every new instance: the ring and the four built across the
	 * restarts. A teardown completes in the guest only after icd let go of it. */
	wait_inspect(&t, "ic/heartbeat", "gpadls: 5");
	struct vmbus_msg_gpadl_teardown gtd = {.hdr.msgtype = VMBUS_MSG_GPADL_TEARDOWN};
	gtd.child_relid = t.hb.relid;
	gtd.gpadl = 0x203;
	post(&t, VMBUS_CONNID_MESSAGE, &gtd, sizeof(gtd));
	struct vmbus_msg_gpadl_torndown gtn;
	expect_msg(&t, VMBUS_MSG_GPADL_TORNDOWN, &gtn, sizeof(gtn));
	ASSERT_EQ(gtn.gpadl, 0x203);
	ASSERT_EQ(inspect_u64(&t, "ic/heartbeat", "gpadls"), 4);
	ASSERT_EQ(inspect_u64(&t, "ic/heartbeat", "gpadls_removed"), 1);
	ASSERT_GE(inspect_u64(&t, "vmbus/devices", "connections"), 1); /* icd, on this vmbusd */
	ASSERT_EQ(inspect_u64(&t, "vmbus/worker", "connections"), 1);

	/* The worker leaves: vmbusd drops the partition and takes the next one. */
	close(t.fd);
	for (unsigned i = 0; i < t.nports; i++)
		close(t.ports[i].fd);
	t.nports = 0;
	t.qcount = 0;
	for (int i = 0;; i++) {
		ASSERT_LT(i, WAIT_MS / 20);
		ASSERT_EQ(run_mhcl(&t, out, sizeof(out), "inspect", "vmbus/worker", NULL), 0);
		if (strstr(out, "connected: false"))
			break;
		usleep(20000);
	}
	t.fd = connect_vmbusd(&t);
	t.reattach = false; /* a new partition: numbering starts over */
	t.guest_seq = t.host_seq = 0;
	attach(&t);
	ASSERT_EQ(inspect_u64(&t, "vmbus/worker", "connections"), 2);
	/* The shutdown channel is gone with the old partition (vmbusd told icd to close it). */
	wait_inspect(&t, "ic/shutdown", "open: false");
	ASSERT_NE(run_mhcl(&t, out, sizeof(out), "guest", "shutdown", NULL), 0);

	ASSERT_OK(kill(t.init, SIGTERM));
	ASSERT_EQ(waitpid(t.init, &st, 0), t.init);
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(WEXITSTATUS(st), 0);
	static const char *const files[] = {"m.dts",	 "m.dtb",      "init.log",
					    "diag.sock", "vmbus.sock", "dev.sock"};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char path[160];
		snprintf(path, sizeof(path), "%s/%s", t.dir, files[i]);
		(void)unlink(path);
	}
	(void)rmdir(t.dir);
	printf("ok: heartbeat %llu -> %llu, shutdown delivered, icd restarted and killed without "
	       "a rescind, worker re-attached\n",
	       (unsigned long long)s1, (unsigned long long)s2);
	return 0;
}
