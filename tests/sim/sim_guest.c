/* SPDX-License-Identifier: MIT */
#include "sim_guest.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "defs/hv_defs.h"
#include "defs/ic_defs.h"
#include "sim_proto.h"

static int recv_one(struct sim_guest *g, struct sim_msg *m, int *ret_fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = {.iov_base = m, .iov_len = sizeof(*m)};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf)};
	struct pollfd p = {.fd = g->sock, .events = POLLIN};
	ssize_t n;
	int r;

	do
		r = poll(&p, 1, SIM_GUEST_WAIT_MS);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (r == 0)
		return -ETIMEDOUT;
	n = recvmsg(g->sock, &mh, MSG_CMSG_CLOEXEC);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ECONNRESET;
	if (n != (ssize_t)sizeof(*m))
		return -EBADMSG;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len == CMSG_LEN(sizeof(int))) {
			int fd;
			memcpy(&fd, CMSG_DATA(c), sizeof(fd));
			if (ret_fd && *ret_fd < 0)
				*ret_fd = fd;
			else
				close(fd);
		}
	}
	if (m->type == SIM_HOST_SINT) {
		g->sints++;
		g->pending++;
		if (m->a < 32)
			g->eoi_due |= 1u << m->a;
	}
	return 0;
}

/* One request, one answer; SINT notes in between are counted. */
static int xfer(struct sim_guest *g, uint32_t type, uint64_t a, uint64_t b, uint64_t c,
		struct sim_msg *ret, int *ret_fd)
{
	struct sim_msg m = {.type = type, .a = a, .b = b, .c = c};
	int r;

	if (send(g->sock, &m, sizeof(m), MSG_NOSIGNAL) != (ssize_t)sizeof(m))
		return -errno;
	for (;;) {
		r = recv_one(g, ret, ret_fd);
		if (r < 0)
			return r;
		if (ret->type == SIM_HOST_RESULT || ret->type == SIM_HOST_RAM)
			return 0;
	}
}

/* The interrupt handler's end: EOI every SINT that was raised. */
static int eoi(struct sim_guest *g)
{
	while (g->eoi_due) {
		unsigned s = (unsigned)__builtin_ctz(g->eoi_due);
		struct sim_msg ret;
		g->eoi_due &= ~(1u << s);
		int r = xfer(g, SIM_GUEST_EOI, s, 0, 0, &ret, NULL);
		if (r < 0)
			return r;
	}
	return 0;
}

static int call(struct sim_guest *g, uint32_t type, uint64_t a, uint64_t b, uint64_t c,
		struct sim_msg *ret)
{
	int r = xfer(g, type, a, b, c, ret, NULL);
	if (r < 0)
		return r;
	return eoi(g);
}

int sim_guest_wrmsr(struct sim_guest *g, uint32_t msr, uint64_t value)
{
	struct sim_msg ret;
	int r = call(g, SIM_GUEST_WRMSR, msr, value, 0, &ret);
	if (r < 0)
		return r;
	return ret.b ? -EIO : 0; /* #GP */
}

int sim_guest_rdmsr(struct sim_guest *g, uint32_t msr, uint64_t *ret_value)
{
	struct sim_msg ret;
	int r = call(g, SIM_GUEST_RDMSR, msr, 0, 0, &ret);
	if (r < 0)
		return r;
	if (ret.b)
		return -EIO;
	*ret_value = ret.a;
	return 0;
}

int64_t sim_guest_hypercall(struct sim_guest *g, uint64_t control, uint64_t input, uint64_t output)
{
	struct sim_msg ret;
	int r = call(g, SIM_GUEST_HYPERCALL, control, input, output, &ret);
	if (r < 0)
		return r;
	return (int64_t)(ret.a & 0xffff);
}

int sim_guest_wait_sint(struct sim_guest *g)
{
	struct sim_msg m;
	int r;

	while (!g->pending) {
		r = recv_one(g, &m, NULL);
		if (r < 0)
			return r;
	}
	g->pending = 0;
	return eoi(g);
}

void *sim_guest_mem(struct sim_guest *g, uint64_t gpa, uint64_t len)
{
	return guestmem_ptr(&g->ram, gpa, len);
}

int sim_guest_new(int sock, struct sim_guest **ret)
{
	struct sim_guest *g;
	struct sim_msg m;
	int fd = -1, r;

	g = calloc(1, sizeof(*g));
	if (!g) {
		close(sock);
		return -ENOMEM;
	}
	g->sock = sock;
	g->ram.memfd = -1;
	g->next_gpadl = 0xe1e10;
	r = xfer(g, SIM_GUEST_HELLO, 0, 0, 0, &m, &fd);
	if (r == 0 && (m.type != SIM_HOST_RAM || fd < 0 || !m.a || m.a % HV_PAGE_SIZE))
		r = -EPROTO;
	if (r == 0 && m.b >= SIM_GUEST_MAX_VPS)
		r = -ERANGE;
	if (r == 0 && m.a < ((uint64_t)SIM_GUEST_PFN_FREE << HV_PAGE_SHIFT))
		r = -ENOSPC;
	if (r == 0) {
		/* The sim backend hands over guest physical [0, m.a) at memfd offset 0. */
		struct guestmem_layout l = {.ranges = {{.gpa = 0, .size = m.a}}, .nranges = 1};
		const char *why;
		r = guestmem_map(&g->ram, fd, &l, &why);
		if (r == 0) {
			fd = -1; /* owned by g->ram */
			g->vp = (uint32_t)m.b;
		}
	}
	if (fd >= 0)
		close(fd);
	if (r < 0) {
		sim_guest_free(g);
		return r;
	}
	*ret = g;
	return 0;
}

struct sim_guest *sim_guest_free(struct sim_guest *g)
{
	if (!g)
		return NULL;
	guestmem_release(&g->ram);
	if (g->sock >= 0)
		close(g->sock);
	free(g);
	return NULL;
}

int sim_guest_synic_enable(struct sim_guest *g)
{
	int r;

	memset(sim_guest_mem(g, SIM_GUEST_PFN_SIMP(g->vp) << HV_PAGE_SHIFT, HV_PAGE_SIZE), 0,
	       HV_PAGE_SIZE);
	memset(sim_guest_mem(g, SIM_GUEST_PFN_SIEFP(g->vp) << HV_PAGE_SHIFT, HV_PAGE_SIZE), 0,
	       HV_PAGE_SIZE);
	r = sim_guest_wrmsr(g, HV_MSR_SIMP,
			    ((uint64_t)SIM_GUEST_PFN_SIMP(g->vp) << HV_PAGE_SHIFT) |
				HV_SIMP_ENABLE);
	if (r < 0)
		return r;
	r = sim_guest_wrmsr(g, HV_MSR_SIEFP,
			    ((uint64_t)SIM_GUEST_PFN_SIEFP(g->vp) << HV_PAGE_SHIFT) |
				HV_SIMP_ENABLE);
	if (r < 0)
		return r;
	r = sim_guest_wrmsr(g, HV_MSR_SINT0 + VMBUS_MESSAGE_SINT, SIM_GUEST_SINT_VECTOR);
	if (r < 0)
		return r;
	return sim_guest_wrmsr(g, HV_MSR_SCONTROL, HV_SCONTROL_ENABLE);
}

int sim_guest_post_raw(struct sim_guest *g, uint32_t connection_id, uint32_t message_type,
		       uint32_t payload_size, const void *msg, size_t len)
{
	uint64_t gpa = (uint64_t)SIM_GUEST_PFN_INPUT(g->vp) << HV_PAGE_SHIFT;
	struct hv_input_post_message in = {
	    .connection_id = connection_id,
	    .message_type = message_type,
	    .payload_size = payload_size,
	};
	int64_t r;

	memcpy(in.payload, msg, len < sizeof(in.payload) ? len : sizeof(in.payload));
	memcpy(sim_guest_mem(g, gpa, sizeof(in)), &in, sizeof(in));
	r = sim_guest_hypercall(g, HV_HCALL_POST_MESSAGE, gpa, 0);
	return (int)r;
}

int sim_guest_post(struct sim_guest *g, const void *msg, size_t len)
{
	if (len > HV_MESSAGE_PAYLOAD_SIZE)
		return -EINVAL;
	return sim_guest_post_raw(g, g->msg_conn_id ? g->msg_conn_id : VMBUS_CONNID_MESSAGE,
				  VMBUS_HV_MSG_TYPE_CHANNEL, (uint32_t)len, msg, len);
}

int sim_guest_signal(struct sim_guest *g, uint32_t connection_id)
{
	return (int)sim_guest_hypercall(g, HV_HCALL_SIGNAL_EVENT | HV_HCALL_FAST, connection_id, 0);
}

int sim_guest_try_recv_msg(struct sim_guest *g, void *buf, size_t cap)
{
	uint64_t gpa = ((uint64_t)SIM_GUEST_PFN_SIMP(g->vp) << HV_PAGE_SHIFT) +
		       VMBUS_MESSAGE_SINT * (uint64_t)HV_MESSAGE_SIZE;
	struct hv_message *slot = sim_guest_mem(g, gpa, HV_MESSAGE_SIZE);
	uint32_t type = __atomic_load_n(&slot->message_type, __ATOMIC_ACQUIRE);
	uint32_t len;
	int r;

	if (type == HV_MESSAGE_TYPE_NONE)
		return -EAGAIN;
	len = slot->payload_size;
	if (len > HV_MESSAGE_PAYLOAD_SIZE)
		len = HV_MESSAGE_PAYLOAD_SIZE;
	if (len > cap)
		len = (uint32_t)cap;
	memcpy(buf, slot->payload, len);
	/* Free the slot, then look at msg_pending (vmbus_signal_eom). */
	__atomic_store_n(&slot->message_type, HV_MESSAGE_TYPE_NONE, __ATOMIC_SEQ_CST);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&slot->message_flags, __ATOMIC_SEQ_CST) & HV_MESSAGE_FLAG_PENDING) {
		r = sim_guest_wrmsr(g, HV_MSR_EOM, 0);
		if (r < 0)
			return r;
	}
	return (int)len;
}

int sim_guest_recv_msg(struct sim_guest *g, void *buf, size_t cap)
{
	int r;

	for (;;) {
		r = sim_guest_try_recv_msg(g, buf, cap);
		if (r != -EAGAIN)
			return r;
		r = sim_guest_wait_sint(g);
		if (r < 0)
			return r;
	}
}

int sim_guest_expect_msg(struct sim_guest *g, uint32_t type, void *buf, size_t cap)
{
	struct vmbus_msg_hdr h;
	int n = sim_guest_recv_msg(g, buf, cap);

	if (n < 0)
		return n;
	if ((size_t)n < sizeof(h))
		return -EPROTO;
	memcpy(&h, buf, sizeof(h));
	return h.msgtype == type ? n : -EPROTO;
}

int sim_guest_vmbus_connect(struct sim_guest *g, const uint32_t *versions, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		uint32_t v = versions[i];
		struct vmbus_msg_initiate_contact ic = {
		    .hdr.msgtype = VMBUS_MSG_INITIATE_CONTACT,
		    .version_requested = v,
		    .target_vcpu = g->vp,
		};
		struct vmbus_msg_version_response resp;
		uint32_t conn;
		int r;

		if (v >= VMBUS_VERSION_WIN10_V5) {
			ic.interrupt_page_or_target = VMBUS_MESSAGE_SINT; /* SINT 2, VTL 0 */
			conn = VMBUS_CONNID_MESSAGE_4;
		} else {
			/* Pre-5.0 guests hand over an interrupt page and two monitor pages. */
			ic.interrupt_page_or_target = 0x13000;
			ic.monitor_page1 = 0x14000;
			ic.monitor_page2 = 0x15000;
			conn = VMBUS_CONNID_MESSAGE;
		}
		r = sim_guest_post_raw(g, conn, VMBUS_HV_MSG_TYPE_CHANNEL, sizeof(ic), &ic,
				       sizeof(ic));
		if (r < 0)
			return r;
		if (r == HV_STATUS_INVALID_CONNECTION_ID)
			continue; /* no such port: try an older version (Linux does) */
		if (r != HV_STATUS_SUCCESS)
			return -EIO;
		r = sim_guest_expect_msg(g, VMBUS_MSG_VERSION_RESPONSE, &resp, sizeof(resp));
		if (r < 0)
			return r;
		if ((size_t)r < sizeof(resp))
			return -EPROTO;
		if (!resp.version_supported)
			continue;
		g->version = v;
		g->msg_conn_id =
		    v >= VMBUS_VERSION_WIN10_V5 ? resp.msg_conn_id : VMBUS_CONNID_MESSAGE;
		return (int)v;
	}
	return -ENOTCONN;
}

int sim_guest_vmbus_connect_linux(struct sim_guest *g)
{
	static const uint32_t linux61[] = {
	    VMBUS_VERSION_WIN10_V5_3, VMBUS_VERSION_WIN10_V5_2, VMBUS_VERSION_WIN10_V5_1,
	    VMBUS_VERSION_WIN10_V5,   VMBUS_VERSION_WIN10_V4_1, VMBUS_VERSION_WIN10,
	    VMBUS_VERSION_WIN8_1,     VMBUS_VERSION_WIN8,
	};
	return sim_guest_vmbus_connect(g, linux61, sizeof(linux61) / sizeof(linux61[0]));
}

int sim_guest_request_offers(struct sim_guest *g)
{
	struct vmbus_msg_hdr h = {.msgtype = VMBUS_MSG_REQUESTOFFERS};
	union {
		struct vmbus_msg_hdr hdr;
		struct vmbus_msg_offer_channel offer;
		uint8_t b[VMBUS_MSG_MAX];
	} m;
	int r;

	r = sim_guest_post(g, &h, sizeof(h));
	if (r != HV_STATUS_SUCCESS)
		return r < 0 ? r : -EIO;
	g->noffers = 0;
	for (;;) {
		r = sim_guest_recv_msg(g, &m, sizeof(m));
		if (r < 0)
			return r;
		if ((size_t)r < sizeof(m.hdr))
			return -EPROTO;
		if (m.hdr.msgtype == VMBUS_MSG_ALLOFFERS_DELIVERED)
			return (int)g->noffers;
		if (m.hdr.msgtype != VMBUS_MSG_OFFERCHANNEL || (size_t)r < sizeof(m.offer))
			return -EPROTO;
		if (g->noffers < SIM_GUEST_MAX_OFFERS)
			g->offers[g->noffers++] = m.offer;
	}
}

const struct vmbus_msg_offer_channel *sim_guest_find_offer(const struct sim_guest *g,
							   const struct hv_guid *type)
{
	for (unsigned i = 0; i < g->noffers; i++)
		if (!memcmp(&g->offers[i].if_type, type, sizeof(*type)))
			return &g->offers[i];
	return NULL;
}

/* Posts one message; a refused post is an error here (the well-behaved paths). */
static int post_ok(struct sim_guest *g, const void *msg, size_t len)
{
	int r = sim_guest_post(g, msg, len);
	return r == HV_STATUS_SUCCESS ? 0 : (r < 0 ? r : -EIO);
}

int sim_guest_gpadl(struct sim_guest *g, uint32_t relid, const uint64_t *pfns, uint32_t npages,
		    uint32_t *ret_gpadl)
{
	uint8_t buf[VMBUS_MSG_MAX];
	uint32_t id = g->next_gpadl++;
	uint32_t first =
	    npages < VMBUS_GPADL_HEADER_MAX_U64 - 1 ? npages : VMBUS_GPADL_HEADER_MAX_U64 - 1;
	struct vmbus_msg_gpadl_header h = {
	    .hdr.msgtype = VMBUS_MSG_GPADL_HEADER,
	    .child_relid = relid,
	    .gpadl = id,
	    .range_buflen = (uint16_t)(sizeof(struct vmbus_gpa_range) + npages * 8u),
	    .rangecount = 1,
	};
	struct vmbus_gpa_range range = {.byte_count = npages * VMBUS_PAGE_SIZE, .byte_offset = 0};
	struct vmbus_msg_gpadl_created created;
	int r;

	if (!npages || npages > 0xfff)
		return -EINVAL;
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), &range, sizeof(range));
	memcpy(buf + sizeof(h) + sizeof(range), pfns, first * 8u);
	r = post_ok(g, buf, sizeof(h) + sizeof(range) + first * 8u);
	for (uint32_t done = first; r == 0 && done < npages;) {
		uint32_t n = npages - done < VMBUS_GPADL_BODY_MAX_U64 ? npages - done
								      : VMBUS_GPADL_BODY_MAX_U64;
		struct vmbus_msg_gpadl_body b = {.hdr.msgtype = VMBUS_MSG_GPADL_BODY, .gpadl = id};
		memcpy(buf, &b, sizeof(b));
		memcpy(buf + sizeof(b), pfns + done, n * 8u);
		r = post_ok(g, buf, sizeof(b) + n * 8u);
		done += n;
	}
	if (r < 0)
		return r;
	r = sim_guest_expect_msg(g, VMBUS_MSG_GPADL_CREATED, &created, sizeof(created));
	if (r < 0)
		return r;
	if ((size_t)r < sizeof(created) || created.child_relid != relid || created.gpadl != id)
		return -EPROTO;
	if (ret_gpadl)
		*ret_gpadl = id;
	return (int)created.creation_status;
}

int sim_guest_open(struct sim_guest *g, uint32_t relid, uint32_t gpadl, uint32_t downstream,
		   uint32_t target_vp)
{
	struct vmbus_msg_open_channel o = {
	    .hdr.msgtype = VMBUS_MSG_OPENCHANNEL,
	    .child_relid = relid,
	    .openid = relid,
	    .ringbuffer_gpadl = gpadl,
	    .target_vp = target_vp,
	    .downstream_ringbuffer_pageoffset = downstream,
	};
	struct vmbus_msg_open_result res;
	int r = post_ok(g, &o, sizeof(o));

	if (r < 0)
		return r;
	r = sim_guest_expect_msg(g, VMBUS_MSG_OPENCHANNEL_RESULT, &res, sizeof(res));
	if (r < 0)
		return r;
	if ((size_t)r < sizeof(res) || res.child_relid != relid || res.openid != relid)
		return -EPROTO;
	return (int)res.status;
}

int sim_guest_close(struct sim_guest *g, uint32_t relid)
{
	struct vmbus_msg_relid c = {.hdr.msgtype = VMBUS_MSG_CLOSECHANNEL, .child_relid = relid};
	return post_ok(g, &c, sizeof(c));
}

int sim_guest_teardown(struct sim_guest *g, uint32_t relid, uint32_t gpadl)
{
	struct vmbus_msg_gpadl_teardown t = {
	    .hdr.msgtype = VMBUS_MSG_GPADL_TEARDOWN,
	    .child_relid = relid,
	    .gpadl = gpadl,
	};
	struct vmbus_msg_gpadl_torndown td;
	int r = post_ok(g, &t, sizeof(t));

	if (r < 0)
		return r;
	r = sim_guest_expect_msg(g, VMBUS_MSG_GPADL_TORNDOWN, &td, sizeof(td));
	if (r < 0)
		return r;
	return (size_t)r >= sizeof(td) && td.gpadl == gpadl ? 0 : -EPROTO;
}

int sim_guest_chan_open(struct sim_guest *g, const struct vmbus_msg_offer_channel *offer,
			uint64_t first_pfn, uint32_t npages, uint32_t send_pages,
			struct sim_guest_chan *c)
{
	uint64_t pfns[256];
	void *pages[256];
	int r, status;

	if (npages > 256 || send_pages < 2 || npages < send_pages + 2)
		return -EINVAL;
	memset(c, 0, sizeof(*c));
	c->relid = offer->child_relid;
	c->conn_id = offer->connection_id;
	c->first_pfn = first_pfn;
	c->npages = npages;
	c->send_pages = send_pages;
	for (uint32_t i = 0; i < npages; i++) {
		pfns[i] = first_pfn + i;
		pages[i] = sim_guest_mem(g, pfns[i] << HV_PAGE_SHIFT, HV_PAGE_SIZE);
		if (!pages[i])
			return -EFAULT;
		memset(pages[i], 0, HV_PAGE_SIZE);
	}
	r = vmbus_ring_pair_init(&c->in, &c->out, pages, npages, send_pages, false);
	if (r < 0)
		return r;
	vmbus_ring_reset(&c->in);
	vmbus_ring_reset(&c->out);
	status = sim_guest_gpadl(g, c->relid, pfns, npages, &c->gpadl);
	if (status != 0)
		goto fail;
	status = sim_guest_open(g, c->relid, c->gpadl, send_pages, g->vp);
	if (status != 0) {
		(void)sim_guest_teardown(g, c->relid, c->gpadl);
		goto fail;
	}
	return 0;
fail:
	vmbus_ring_fini(&c->in);
	vmbus_ring_fini(&c->out);
	return status;
}

int sim_guest_chan_close(struct sim_guest *g, struct sim_guest_chan *c)
{
	int r = sim_guest_close(g, c->relid);
	if (r == 0)
		r = sim_guest_teardown(g, c->relid, c->gpadl);
	vmbus_ring_fini(&c->in);
	vmbus_ring_fini(&c->out);
	return r;
}

int sim_guest_chan_send(struct sim_guest *g, struct sim_guest_chan *c, uint64_t trans_id,
			const void *data, uint32_t len)
{
	int r = vmbus_ring_send_inband(&c->out, trans_id, 0, data, len);
	if (r < 0)
		return r;
	if (r == 1) {
		r = sim_guest_signal(g, c->conn_id);
		if (r != HV_STATUS_SUCCESS)
			return r < 0 ? r : -EIO;
	}
	return 0;
}

int sim_guest_chan_recv(struct sim_guest *g, struct sim_guest_chan *c, struct vmbus_pkt *ret_pkt)
{
	uint8_t *flags = sim_guest_mem(g,
				       ((uint64_t)SIM_GUEST_PFN_SIEFP(g->vp) << HV_PAGE_SHIFT) +
					   VMBUS_MESSAGE_SINT * (HV_EVENT_FLAGS_PER_SINT / 8),
				       HV_EVENT_FLAGS_PER_SINT / 8);
	int r;

	for (;;) {
		r = vmbus_ring_recv(&c->in, c->pkt, sizeof(c->pkt), ret_pkt);
		if (r == 0) {
			if (vmbus_ring_recv_commit(&c->in) == 1) {
				r = sim_guest_signal(g, c->conn_id);
				if (r != HV_STATUS_SUCCESS)
					return r < 0 ? r : -EIO;
			}
			return 0;
		}
		if (r != -EAGAIN)
			return r;
		if (vmbus_ring_unmask_interrupts(&c->in) == 1)
			continue;
		r = sim_guest_wait_sint(g);
		if (r < 0)
			return r;
		if (c->relid < HV_EVENT_FLAGS_PER_SINT)
			__atomic_fetch_and(&flags[c->relid / 8], (uint8_t) ~(1u << (c->relid % 8)),
					   __ATOMIC_SEQ_CST);
	}
}

static struct ic_version pick(const struct ic_version *offered, unsigned n,
			      const struct ic_version *known, unsigned nknown, bool *ok)
{
	struct ic_version best = {0, 0};
	*ok = false;
	for (unsigned i = 0; i < n; i++)
		for (unsigned k = 0; k < nknown; k++)
			if (offered[i].major == known[k].major &&
			    offered[i].minor == known[k].minor &&
			    (!*ok || offered[i].major > best.major ||
			     (offered[i].major == best.major && offered[i].minor > best.minor))) {
				best = offered[i];
				*ok = true;
			}
	return best;
}

int sim_guest_ic_answer(struct sim_guest *g, struct sim_guest_chan *c, uint64_t *ret_seq)
{
	static const struct ic_version fw[] = {IC_FW_VERSION_1, IC_FW_VERSION_3};
	static const struct ic_version hb[] = {IC_HEARTBEAT_VERSION_1, IC_HEARTBEAT_VERSION_3};
	uint8_t buf[512];
	struct ic_msg_hdr h;
	struct vmbus_pkt pkt;
	uint32_t len;
	int r;

	r = sim_guest_chan_recv(g, c, &pkt);
	if (r < 0)
		return r;
	len = pkt.payload_len;
	if (len < IC_BODY_OFFSET || len > sizeof(buf))
		return -EBADMSG;
	memcpy(buf, pkt.payload, len);
	memcpy(&h, buf + sizeof(struct ic_pipe_hdr), sizeof(h));
	if (h.msgsize > len - IC_BODY_OFFSET)
		return -EBADMSG;
	uint8_t *body = buf + IC_BODY_OFFSET;
	if (h.msgtype == IC_MSG_NEGOTIATE) {
		struct ic_negotiate n;
		struct ic_version v[2 * IC_NEGOTIATE_MAX_VERSIONS];
		bool okf, okm;
		if (h.msgsize < sizeof(n))
			return -EBADMSG;
		memcpy(&n, body, sizeof(n));
		if (n.framework_count + n.message_count > 2 * IC_NEGOTIATE_MAX_VERSIONS ||
		    sizeof(n) + (n.framework_count + n.message_count) * sizeof(v[0]) > h.msgsize)
			return -EBADMSG;
		memcpy(v, body + sizeof(n), (n.framework_count + n.message_count) * sizeof(v[0]));
		struct ic_version f = pick(v, n.framework_count, fw, 2, &okf);
		struct ic_version m = pick(v + n.framework_count, n.message_count, hb, 2, &okm);
		if (okf && okm) {
			n.framework_count = n.message_count = 1;
			memcpy(body, &n, sizeof(n));
			memcpy(body + sizeof(n), &f, sizeof(f));
			memcpy(body + sizeof(n) + sizeof(f), &m, sizeof(m));
			h.framework_version = f;
			h.msg_version = m;
			h.status = IC_STATUS_OK;
		} else {
			n.framework_count = n.message_count = 0;
			memcpy(body, &n, sizeof(n));
			h.status = IC_STATUS_FAIL;
		}
	} else if (h.msgtype == IC_MSG_HEARTBEAT) {
		struct ic_heartbeat beat;
		if (h.msgsize < sizeof(beat.seq_num))
			return -EBADMSG;
		memcpy(&beat.seq_num, body, sizeof(beat.seq_num));
		if (ret_seq)
			*ret_seq = beat.seq_num;
		beat.seq_num++;
		memcpy(body, &beat.seq_num, sizeof(beat.seq_num));
		h.status = IC_STATUS_OK;
	} else {
		h.status = IC_STATUS_NOT_SUPPORTED;
	}
	h.flags = IC_FLAG_TRANSACTION | IC_FLAG_RESPONSE;
	memcpy(buf + sizeof(struct ic_pipe_hdr), &h, sizeof(h));
	r = sim_guest_chan_send(g, c, pkt.trans_id, buf, len);
	return r < 0 ? r : h.msgtype;
}
