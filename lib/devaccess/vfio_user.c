/* SPDX-License-Identifier: MIT */
/*
 * The vfio-user transport: the device lives in an emulator process reached over a
 * SOCK_STREAM unix socket (QEMU docs/interop/vfio-user.rst, protocol 0.1). Used for
 * devices that have no QEMU model (MANA), never in production.
 *
 * Trust: the emulator is another process and every reply is untrusted. Each call is one
 * request and one reply, under a lock, with a deadline (a hung emulator costs the caller
 * the timeout, not forever). A reply is read into private memory and must match the
 * request's msg_id and command and fit the size the request allows. A framing violation
 * (wrong id, command or type, oversized, truncated fds), a timeout or a dead socket leaves
 * the byte stream in an unknown state, so the connection is marked broken: every later
 * call fails with -EPIPE and register reads give all ones. An error reply only fails its
 * own call, with the errno it carries.
 *
 * DMA: the emulator cannot reach this process's memory by address, so vfio-user shares it
 * by fd (DMA_MAP carries the fd and an offset into it): devaccess_dma_map_fd() only; plain
 * devaccess_dma_map() gives -ENOTSUP. Server-to-client DMA_READ/WRITE messages (for
 * memory without an fd) are not supported.
 *
 * Keepalive: the kept fd is the socket. The emulator keeps the device state (and, with
 * tests/helpers/vfio_user_server.c, the DMA maps and eventfds) while the socket is open;
 * the next instance attaches to it and negotiates the version again. If a predecessor
 * died mid-request, a stale reply fails that negotiation with -EPROTO; the caller then
 * opens a fresh connection and maps and routes again.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "defs/vfio_user_defs.h"
#include "devaccess.h"
#include "macros.h"
#include "vfio_user_internal.h"

#define VU_DEFAULT_TIMEOUT_MS 5000u
/* What this client accepts in one message from the emulator. */
#define VU_MAX_FDS_IN 4u
#define VU_MAX_JSON 4096u
#define VU_MAX_REGION_INFO 4096u
/* What it offers and uses: data per REGION_READ/WRITE and fds per message it sends. */
#define VU_MAX_XFER 4096u
#define VU_MAX_FDS_OUT 16u
#define VU_MAX_BAR_SIZE (1ull << 40)
#define VU_PAGE 4096u

struct vu_dev {
	struct devaccess da;
	pthread_mutex_t lock; /* one request in flight: replies come back in order */
	int sock;
	bool broken;
	uint16_t next_id;
	unsigned timeout_ms;
	uint32_t peer_max_fds;
	uint32_t xfer; /* min(ours, the emulator's max_data_xfer_size) */
	uint64_t cfg_size;
};

/* One request and the reply it allows. */
struct vu_call {
	uint16_t command;
	const void *req;
	size_t req_len;
	const void *data; /* appended to req (REGION_WRITE) */
	size_t data_len;
	const int *fds;
	unsigned nfds;
	void *reply; /* payload after the header: reply_min..reply_max bytes */
	size_t reply_min;
	size_t reply_max;
	bool want_fd;
	/* out */
	size_t reply_len;
	int reply_fd;
};

static const struct devaccess_ops vu_ops;

static struct vu_dev *to_vu(struct devaccess *d)
{
	return container_of(d, struct vu_dev, da);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int wait_fd(int fd, short events, uint64_t deadline)
{
	struct pollfd p = {.fd = fd, .events = events};
	uint64_t now;
	int r;

	for (;;) {
		now = now_ms();
		if (now >= deadline)
			return -ETIMEDOUT;
		r = poll(&p, 1, (int)MIN(deadline - now, (uint64_t)INT32_MAX));
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

static void iov_advance(struct iovec **iov, int *n, size_t done)
{
	while (*n && done >= (*iov)->iov_len) {
		done -= (*iov)->iov_len;
		(*iov)++;
		(*n)--;
	}
	if (*n) {
		(*iov)->iov_base = (char *)(*iov)->iov_base + done;
		(*iov)->iov_len -= done;
	}
}

/* Sends the whole message; the fds go with its first byte. */
static int send_msg(struct vu_dev *v, struct iovec *iov, int niov, const int *fds, unsigned nfds,
		    uint64_t deadline)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * VU_MAX_FDS_OUT)];
		struct cmsghdr align;
	} ctl;
	bool fds_sent = !nfds;
	int r;

	while (niov) {
		struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)niov};
		ssize_t n;

		if (!fds_sent)
			vfio_user__attach_fds(&m, ctl.buf, sizeof(ctl.buf), fds, nfds);
		n = sendmsg(v->sock, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return errno == EPIPE || errno == ECONNRESET ? -EPIPE : -errno;
			r = wait_fd(v->sock, POLLOUT, deadline);
			if (r < 0)
				return r;
			continue;
		}
		fds_sent = true;
		iov_advance(&iov, &niov, (size_t)n);
	}
	return 0;
}

/* Reads exactly len bytes, collecting any fds that ride along. */
static int recv_exact(struct vu_dev *v, void *buf, size_t len, int *fds, unsigned *nfds,
		      uint64_t deadline)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * VU_MAX_FDS_IN)];
		struct cmsghdr align;
	} ctl;
	size_t got = 0;
	int r;

	while (got < len) {
		struct iovec iov = {(char *)buf + got, len - got};
		struct msghdr m = {.msg_iov = &iov,
				   .msg_iovlen = 1,
				   .msg_control = ctl.buf,
				   .msg_controllen = sizeof(ctl.buf)};
		ssize_t n = recvmsg(v->sock, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return errno == ECONNRESET ? -EPIPE : -errno;
			r = wait_fd(v->sock, POLLIN, deadline);
			if (r < 0)
				return r;
			continue;
		}
		(void)vfio_user__take_fds(&m, fds, VU_MAX_FDS_IN, nfds);
		if (m.msg_flags & MSG_CTRUNC)
			return -EPROTO;
		if (n == 0)
			return -EPIPE;
		got += (size_t)n;
	}
	return 0;
}

static void close_fds(int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		close(fds[i]);
}

/* Reads the reply to (id, command); see the trust rules at the top. Returns 0, the
 * negative errno of an error reply, or a framing error that breaks the connection
 * (*ret_fatal set). */
static int recv_reply(struct vu_dev *v, uint16_t id, struct vu_call *c, uint64_t deadline,
		      bool *ret_fatal)
{
	struct vfio_user_hdr h;
	int fds[VU_MAX_FDS_IN];
	unsigned nfds = 0;
	size_t payload;
	int r;

	*ret_fatal = true;
	r = recv_exact(v, &h, sizeof(h), fds, &nfds, deadline);
	if (r < 0)
		goto out;
	r = -EPROTO;
	if ((h.flags & VFIO_USER_F_TYPE_MASK) != VFIO_USER_F_TYPE_REPLY || h.msg_id != id ||
	    h.command != c->command || h.size < sizeof(h) || h.size - sizeof(h) > c->reply_max)
		goto out;
	payload = h.size - sizeof(h);
	if (payload) {
		r = recv_exact(v, c->reply, payload, fds, &nfds, deadline);
		if (r < 0)
			goto out;
	}
	*ret_fatal = false;
	if (h.flags & VFIO_USER_F_ERROR) {
		r = h.error > 0 && h.error < 4096 ? -(int)h.error : -EIO;
		goto out;
	}
	r = -EPROTO;
	if (payload < c->reply_min || nfds > (c->want_fd ? 1u : 0u))
		goto out;
	c->reply_len = payload;
	if (nfds)
		c->reply_fd = fds[--nfds];
	r = 0;
out:
	close_fds(fds, nfds);
	return r;
}

static int call(struct vu_dev *v, struct vu_call *c)
{
	struct vfio_user_hdr h = {.command = c->command, .flags = VFIO_USER_F_TYPE_COMMAND};
	struct iovec iov[3] = {
	    {&h, sizeof(h)},
	    {(void *)c->req, c->req_len},
	    {(void *)c->data, c->data_len},
	};
	uint64_t deadline;
	bool fatal = true;
	int r;

	c->reply_len = 0;
	c->reply_fd = -1;
	pthread_mutex_lock(&v->lock);
	if (v->broken) {
		r = -EPIPE;
		goto out;
	}
	deadline = now_ms() + v->timeout_ms;
	h.msg_id = v->next_id++;
	h.size = (uint32_t)(sizeof(h) + c->req_len + c->data_len);
	r = send_msg(v, iov, 3, c->fds, c->nfds, deadline);
	if (r == 0)
		r = recv_reply(v, h.msg_id, c, deadline, &fatal);
	if (r < 0 && fatal)
		v->broken = true;
out:
	pthread_mutex_unlock(&v->lock);
	return r;
}

/* REGION_READ/WRITE in chunks of the negotiated transfer size; the caller checked the
 * range against the region. */
static int region_rw(struct vu_dev *v, uint32_t region, uint64_t off, void *buf, size_t len,
		     bool write)
{
	uint8_t reply[sizeof(struct vfio_user_region_rw) + VU_MAX_XFER];

	while (len) {
		uint32_t n = (uint32_t)MIN(len, (size_t)v->xfer);
		struct vfio_user_region_rw rw = {.offset = off, .region = region, .count = n};
		struct vfio_user_region_rw echo;
		struct vu_call c = {
		    .command = write ? VFIO_USER_REGION_WRITE : VFIO_USER_REGION_READ,
		    .req = &rw,
		    .req_len = sizeof(rw),
		    .data = write ? buf : NULL,
		    .data_len = write ? n : 0,
		    .reply = reply,
		    .reply_min = sizeof(rw) + (write ? 0 : n),
		    .reply_max = sizeof(rw) + (write ? 0 : n),
		};
		int r = call(v, &c);

		if (r < 0)
			return r;
		memcpy(&echo, reply, sizeof(echo));
		if (echo.offset != off || echo.region != region || echo.count != n)
			return -EPROTO;
		if (!write)
			memcpy(buf, reply + sizeof(rw), n);
		buf = (uint8_t *)buf + n;
		off += n;
		len -= n;
	}
	return 0;
}

static bool in_range(uint64_t size, uint64_t off, size_t len)
{
	return len && off <= size && len <= size - off;
}

static int vu_bar_read(struct devaccess *d, unsigned bar, uint64_t off, void *buf, size_t len)
{
	if (bar >= DEVACCESS_NBARS || !in_range(d->bars[bar].size, off, len))
		return -ERANGE;
	return region_rw(to_vu(d), VFIO_USER_PCI_BAR0_REGION + bar, off, buf, len, false);
}

static int vu_bar_write(struct devaccess *d, unsigned bar, uint64_t off, const void *buf,
			size_t len)
{
	if (bar >= DEVACCESS_NBARS || !in_range(d->bars[bar].size, off, len))
		return -ERANGE;
	return region_rw(to_vu(d), VFIO_USER_PCI_BAR0_REGION + bar, off, (void *)buf, len, true);
}

static int vu_config_read(struct devaccess *d, uint32_t off, void *buf, size_t len)
{
	struct vu_dev *v = to_vu(d);

	if (!in_range(v->cfg_size, off, len))
		return -ERANGE;
	return region_rw(v, VFIO_USER_PCI_CONFIG_REGION, off, buf, len, false);
}

static int vu_config_write(struct devaccess *d, uint32_t off, const void *buf, size_t len)
{
	struct vu_dev *v = to_vu(d);

	if (!in_range(v->cfg_size, off, len))
		return -ERANGE;
	return region_rw(v, VFIO_USER_PCI_CONFIG_REGION, off, (void *)buf, len, true);
}

static int vu_dma_map(struct devaccess *d, void *va, uint64_t iova, uint64_t len)
{
	(void)d, (void)va, (void)iova, (void)len;
	return -ENOTSUP;
}

static int vu_dma_map_fd(struct devaccess *d, int fd, uint64_t fd_offset, void *va, uint64_t iova,
			 uint64_t len)
{
	struct vu_dev *v = to_vu(d);
	struct vfio_user_dma_map m = {
	    .argsz = sizeof(m),
	    .flags = VFIO_USER_DMA_READABLE | VFIO_USER_DMA_WRITEABLE,
	    .offset = fd_offset,
	    .addr = iova,
	    .size = len,
	};
	struct vu_call c = {
	    .command = VFIO_USER_DMA_MAP,
	    .req = &m,
	    .req_len = sizeof(m),
	    .fds = &fd,
	    .nfds = 1,
	};

	(void)va; /* the emulator maps the fd; va is this process's view of the same pages */
	if (fd < 0)
		return -EBADF;
	if (!v->peer_max_fds)
		return -ENOTSUP;
	return call(v, &c);
}

static int vu_dma_unmap(struct devaccess *d, uint64_t iova, uint64_t len)
{
	struct vfio_user_dma_unmap u = {.argsz = sizeof(u), .addr = iova, .size = len};
	struct vfio_user_dma_unmap echo;
	struct vu_call c = {
	    .command = VFIO_USER_DMA_UNMAP,
	    .req = &u,
	    .req_len = sizeof(u),
	    .reply = &echo,
	    .reply_max = sizeof(echo),
	};

	return call(to_vu(d), &c);
}

static int set_irqs(struct vu_dev *v, uint32_t flags, uint32_t start, uint32_t count,
		    const int *fds, unsigned nfds)
{
	struct vfio_user_irq_set s = {
	    .argsz = sizeof(s),
	    .flags = flags | VFIO_USER_IRQ_SET_ACTION_TRIGGER,
	    .index = VFIO_USER_PCI_MSIX_IRQ,
	    .start = start,
	    .count = count,
	};
	struct vu_call c = {
	    .command = VFIO_USER_DEVICE_SET_IRQS,
	    .req = &s,
	    .req_len = sizeof(s),
	    .fds = fds,
	    .nfds = nfds,
	};

	return call(v, &c);
}

/* Vectors with an fd go in runs of at most the emulator's max_msg_fds; runs of -1 are
 * unassigned (DATA_EVENTFD without fds), and so are the vectors past n. */
static int vu_irq_set(struct devaccess *d, const int *fds, unsigned n)
{
	struct vu_dev *v = to_vu(d);
	unsigned limit = MIN(v->peer_max_fds, VU_MAX_FDS_OUT);
	int r;

	if (!n)
		return set_irqs(v, VFIO_USER_IRQ_SET_DATA_NONE, 0, 0, NULL, 0);
	for (unsigned i = 0; i < n;) {
		bool assign = fds[i] >= 0;
		unsigned k = 1;

		while (i + k < n && (fds[i + k] >= 0) == assign && (!assign || k < limit))
			k++;
		if (assign && !limit)
			return -ENOTSUP;
		r = set_irqs(v, VFIO_USER_IRQ_SET_DATA_EVENTFD, i, k, assign ? fds + i : NULL,
			     assign ? k : 0);
		if (r < 0)
			return r;
		i += k;
	}
	if (n < d->irq_count)
		return set_irqs(v, VFIO_USER_IRQ_SET_DATA_EVENTFD, n, d->irq_count - n, NULL, 0);
	return 0;
}

static unsigned vu_kept_fds(struct devaccess *d, int *fds, unsigned max)
{
	if (!max)
		return 0;
	fds[0] = to_vu(d)->sock;
	return 1;
}

static void vu_destroy(struct devaccess *d)
{
	struct vu_dev *v = to_vu(d);

	for (unsigned i = 0; i < DEVACCESS_NBARS; i++)
		if (d->bars[i].map)
			munmap((void *)d->bars[i].map, d->bars[i].size);
	closep(&v->sock);
	pthread_mutex_destroy(&v->lock);
	free(v);
}

static const struct devaccess_ops vu_ops = {
    .kind = "vfio-user",
    .bar_read = vu_bar_read,
    .bar_write = vu_bar_write,
    .config_read = vu_config_read,
    .config_write = vu_config_write,
    .dma_map = vu_dma_map,
    .dma_map_fd = vu_dma_map_fd,
    .dma_unmap = vu_dma_unmap,
    .irq_set = vu_irq_set,
    .kept_fds = vu_kept_fds,
    .destroy = vu_destroy,
};

static int negotiate_version(struct vu_dev *v)
{
	const struct vfio_user_caps ours = {VU_MAX_FDS_IN, VU_MAX_XFER};
	struct {
		struct vfio_user_version ver;
		char json[VU_MAX_JSON];
	} req = {{VFIO_USER_MAJOR, VFIO_USER_MINOR}, {0}}, reply;
	struct vu_call c = {
	    .command = VFIO_USER_VERSION,
	    .req = &req,
	    .reply = &reply,
	    .reply_min = sizeof(reply.ver),
	    .reply_max = sizeof(reply),
	};
	struct vfio_user_caps caps;
	int n, r;

	n = vfio_user__format_caps(&ours, req.json, sizeof(req.json));
	if (n < 0)
		return n;
	c.req_len = sizeof(req.ver) + (size_t)n;
	r = call(v, &c);
	if (r < 0)
		return r;
	if (reply.ver.major != VFIO_USER_MAJOR || reply.ver.minor > VFIO_USER_MINOR)
		return -EPROTO;
	r = vfio_user__parse_caps(reply.json, c.reply_len - sizeof(reply.ver), &caps);
	if (r < 0)
		return -EPROTO;
	/* An access wider than a transfer would be split, which a device register does not
	 * take: 8 bytes is the least we work with. */
	if (caps.max_data_xfer_size < 8)
		return -EPROTO;
	v->peer_max_fds = caps.max_msg_fds;
	v->xfer = MIN(caps.max_data_xfer_size, VU_MAX_XFER);
	return 0;
}

static int region_info(struct vu_dev *v, uint32_t index, struct vfio_user_region_info *ret,
		       int *ret_fd)
{
	struct vfio_user_region_info req = {.argsz = sizeof(req), .index = index};
	uint8_t reply[VU_MAX_REGION_INFO];
	struct vu_call c = {
	    .command = VFIO_USER_DEVICE_GET_REGION_INFO,
	    .req = &req,
	    .req_len = sizeof(req),
	    .reply = reply,
	    .reply_min = sizeof(*ret),
	    .reply_max = sizeof(reply),
	    .want_fd = true,
	};
	int r = call(v, &c);

	if (r < 0)
		return r;
	/* Capabilities after the fixed part (sparse mmap) are not used: such a region is
	 * reached through messages only. */
	memcpy(ret, reply, sizeof(*ret));
	if (ret->index != index) {
		closep(&c.reply_fd);
		return -EPROTO;
	}
	*ret_fd = c.reply_fd;
	return 0;
}

static void map_bar(struct vu_dev *v, unsigned bar, const struct vfio_user_region_info *ri, int fd)
{
	const uint32_t rw = VFIO_USER_REGION_READ_OK | VFIO_USER_REGION_WRITE_OK;
	struct stat st;
	void *p;

	if (fd < 0 || !(ri->flags & VFIO_USER_REGION_MMAP) || (ri->flags & rw) != rw ||
	    (ri->flags & VFIO_USER_REGION_CAPS) || (ri->size | ri->offset) % VU_PAGE ||
	    ri->offset > (uint64_t)INT64_MAX)
		return;
	/* Pages past the end of a file fault with SIGBUS on access: only a file that holds
	 * the whole region is mapped. */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size < ri->offset ||
	    (uint64_t)st.st_size - ri->offset < ri->size)
		return;
	p = mmap(NULL, ri->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)ri->offset);
	if (p != MAP_FAILED)
		v->da.bars[bar].map = p;
}

static int read_regions(struct vu_dev *v)
{
	struct vfio_user_region_info ri;
	int fd = -1;
	int r;

	r = region_info(v, VFIO_USER_PCI_CONFIG_REGION, &ri, &fd);
	closep(&fd);
	if (r < 0)
		return r;
	if (ri.size < 256 || ri.size > 4096 || !(ri.flags & VFIO_USER_REGION_READ_OK))
		return -EPROTO;
	v->cfg_size = ri.size;
	for (unsigned i = 0; i < DEVACCESS_NBARS; i++) {
		fd = -1;
		r = region_info(v, VFIO_USER_PCI_BAR0_REGION + i, &ri, &fd);
		if (r < 0 && v->broken)
			return r;
		/* An error reply, a bad one or an absurd size: that BAR is absent. */
		if (r == 0 && ri.size && ri.size <= VU_MAX_BAR_SIZE) {
			v->da.bars[i].size = ri.size;
			map_bar(v, i, &ri, fd);
		}
		closep(&fd);
	}
	return 0;
}

static int read_device(struct vu_dev *v)
{
	struct vfio_user_device_info di = {.argsz = sizeof(di)}, dreply;
	struct vfio_user_irq_info ii = {.argsz = sizeof(ii), .index = VFIO_USER_PCI_MSIX_IRQ};
	struct vfio_user_irq_info ireply;
	struct vu_call c = {
	    .command = VFIO_USER_DEVICE_GET_INFO,
	    .req = &di,
	    .req_len = sizeof(di),
	    .reply = &dreply,
	    .reply_min = sizeof(dreply),
	    .reply_max = sizeof(dreply),
	};
	int r;

	r = call(v, &c);
	if (r < 0)
		return r;
	if (!(dreply.flags & VFIO_USER_DEVICE_FLAGS_PCI) ||
	    dreply.num_regions <= VFIO_USER_PCI_CONFIG_REGION)
		return -ENODEV;
	r = read_regions(v);
	if (r < 0)
		return r;
	if (dreply.num_irqs <= VFIO_USER_PCI_MSIX_IRQ)
		return 0;
	c = (struct vu_call){
	    .command = VFIO_USER_DEVICE_GET_IRQ_INFO,
	    .req = &ii,
	    .req_len = sizeof(ii),
	    .reply = &ireply,
	    .reply_min = sizeof(ireply),
	    .reply_max = sizeof(ireply),
	};
	r = call(v, &c);
	if (r < 0 && v->broken)
		return r;
	/* Any other failure, or a count no MSI-X table has: no vectors. */
	if (r == 0 && ireply.index == VFIO_USER_PCI_MSIX_IRQ &&
	    ireply.count <= VFIO_USER_MSIX_MAX && (ireply.flags & VFIO_USER_IRQ_INFO_EVENTFD))
		v->da.irq_count = ireply.count;
	return 0;
}

int devaccess_vfio_user_attach(int connected_fd, struct devaccess **ret)
{
	struct vu_dev *v;
	int r;

	if (connected_fd < 0)
		return -EBADF;
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->da.ops = &vu_ops;
	v->sock = connected_fd;
	v->timeout_ms = VU_DEFAULT_TIMEOUT_MS;
	v->xfer = 8;
	pthread_mutex_init(&v->lock, NULL);
	r = negotiate_version(v);
	if (r == 0)
		r = read_device(v);
	if (r == 0)
		r = devaccess__read_pci_id(&v->da);
	if (r < 0) {
		v->sock = -1; /* the caller's on failure */
		vu_destroy(&v->da);
		return r;
	}
	(void)fcntl(connected_fd, F_SETFD, FD_CLOEXEC);
	*ret = &v->da;
	return 0;
}

int devaccess_vfio_user_open(const char *socket_path, struct devaccess **ret)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, r;

	if (strlen(socket_path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, socket_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	r = devaccess_vfio_user_attach(fd, ret);
	if (r < 0)
		close(fd);
	return r;
}

int devaccess_vfio_user_set_timeout(struct devaccess *d, unsigned timeout_ms)
{
	struct vu_dev *v;

	if (d->ops != &vu_ops || !timeout_ms)
		return -EINVAL;
	v = to_vu(d);
	pthread_mutex_lock(&v->lock);
	v->timeout_ms = timeout_ms;
	pthread_mutex_unlock(&v->lock);
	return 0;
}
