/* SPDX-License-Identifier: MIT */
/*
 * The vfio-user server for test devices (vfio_user_server.h). One message at a time:
 * header and fds are read, the framing is checked (a violation ends the connection), the
 * handler for the command checks the payload against the spec layout and answers with a
 * reply or an error reply. Handlers keep the fds they use; the dispatcher closes the rest.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "macros.h"
#include "vfio_user_internal.h"
#include "vfio_user_server.h"

#define SRV_MAX_XFER 4096u
#define SRV_MAX_FDS 16u
#define SRV_DEFAULT_MSG_FDS 8u
#define SRV_MAX_PAYLOAD (SRV_MAX_XFER + 4096u)
#define SRV_MAX_MAPS 64u
#define SRV_PAGE 4096u

struct dma_map {
	uint64_t iova;
	uint64_t size;
	void *ptr;
};

struct vfio_user_server {
	struct vfio_user_server_model model;
	int conn;
	struct vfio_user_hdr cur; /* the request being answered */
	struct dma_map maps[SRV_MAX_MAPS];
	unsigned nmaps;
	int irq_fds[VFIO_USER_MSIX_MAX];
	uint8_t in[SRV_MAX_PAYLOAD];
	uint8_t out[SRV_MAX_PAYLOAD];
};

/* What a handler gets and gives. */
struct msg {
	const uint8_t *payload;
	size_t len;
	int *fds; /* a handler that keeps fds[i] sets it to -1 */
	unsigned nfds;
	size_t reply_len;
	int reply_fd; /* borrowed */
};

typedef int (*handler_fn)(struct vfio_user_server *s, struct msg *m);

struct vfio_user_server *vfio_user_server_new(const struct vfio_user_server_model *model)
{
	struct vfio_user_server *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->model = *model;
	if (s->model.msix_count > VFIO_USER_MSIX_MAX)
		s->model.msix_count = VFIO_USER_MSIX_MAX;
	if (!s->model.max_msg_fds || s->model.max_msg_fds > SRV_MAX_FDS)
		s->model.max_msg_fds = SRV_DEFAULT_MSG_FDS;
	s->conn = -1;
	for (unsigned i = 0; i < VFIO_USER_MSIX_MAX; i++)
		s->irq_fds[i] = -1;
	return s;
}

static void drop_irqs(struct vfio_user_server *s, unsigned start, unsigned count)
{
	for (unsigned i = start; i < start + count; i++) {
		closep(&s->irq_fds[i]);
		s->irq_fds[i] = -1;
	}
}

static void drop_client_state(struct vfio_user_server *s)
{
	for (unsigned i = 0; i < s->nmaps; i++)
		munmap(s->maps[i].ptr, s->maps[i].size);
	s->nmaps = 0;
	drop_irqs(s, 0, s->model.msix_count);
}

struct vfio_user_server *vfio_user_server_free(struct vfio_user_server *s)
{
	if (s) {
		drop_client_state(s);
		free(s);
	}
	return NULL;
}

void *vfio_user_server_dma_ptr(struct vfio_user_server *s, uint64_t iova, uint64_t len)
{
	if (!len || iova + len < iova)
		return NULL;
	for (unsigned i = 0; i < s->nmaps; i++) {
		const struct dma_map *d = &s->maps[i];

		if (iova >= d->iova && iova - d->iova <= d->size &&
		    len <= d->size - (iova - d->iova))
			return (uint8_t *)d->ptr + (iova - d->iova);
	}
	return NULL;
}

unsigned vfio_user_server_dma_count(struct vfio_user_server *s)
{
	return s->nmaps;
}

int vfio_user_server_signal(struct vfio_user_server *s, unsigned n)
{
	uint64_t one = 1;

	if (n >= s->model.msix_count)
		return -EINVAL;
	if (s->irq_fds[n] < 0)
		return -ENOENT;
	return write(s->irq_fds[n], &one, sizeof(one)) == sizeof(one) ? 0 : -errno;
}

uint16_t vfio_user_server_msg_id(struct vfio_user_server *s)
{
	return s->cur.msg_id;
}

int vfio_user_server_send_raw(struct vfio_user_server *s, const void *buf, size_t len)
{
	while (len) {
		ssize_t n = send(s->conn, buf, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf = (const uint8_t *)buf + n;
		len -= (size_t)n;
	}
	return 0;
}

static int handle_version(struct vfio_user_server *s, struct msg *m)
{
	struct vfio_user_version ver;
	struct vfio_user_caps caps;
	const struct vfio_user_caps ours = {s->model.max_msg_fds, SRV_MAX_XFER};
	int n;

	if (m->len < sizeof(ver))
		return -EINVAL;
	memcpy(&ver, m->payload, sizeof(ver));
	if (ver.major != VFIO_USER_MAJOR)
		return -ENOTSUP;
	if (vfio_user__parse_caps((const char *)m->payload + sizeof(ver), m->len - sizeof(ver),
				  &caps) < 0)
		return -EINVAL;
	ver.minor = MIN(ver.minor, VFIO_USER_MINOR);
	memcpy(s->out, &ver, sizeof(ver));
	n = vfio_user__format_caps(&ours, (char *)s->out + sizeof(ver),
				   sizeof(s->out) - sizeof(ver));
	if (n < 0)
		return n;
	m->reply_len = sizeof(ver) + (size_t)n;
	return 0;
}

static bool overlaps(struct vfio_user_server *s, uint64_t iova, uint64_t size)
{
	for (unsigned i = 0; i < s->nmaps; i++)
		if (iova < s->maps[i].iova + s->maps[i].size && s->maps[i].iova < iova + size)
			return true;
	return false;
}

static int handle_dma_map(struct vfio_user_server *s, struct msg *m)
{
	const uint32_t rw = VFIO_USER_DMA_READABLE | VFIO_USER_DMA_WRITEABLE;
	struct vfio_user_dma_map d;
	struct stat st;
	void *p;

	if (m->len != sizeof(d))
		return -EINVAL;
	memcpy(&d, m->payload, sizeof(d));
	/* Without an fd the device would need DMA_READ/WRITE messages: not offered. */
	if (d.argsz != sizeof(d) || m->nfds != 1 || d.flags & ~rw || !d.size ||
	    (d.addr | d.size | d.offset) % SRV_PAGE || d.addr + d.size < d.addr ||
	    d.offset + d.size < d.offset || d.offset > (uint64_t)INT64_MAX || d.size > SIZE_MAX)
		return -EINVAL;
	/* Touching pages past the end of a file would kill this process with SIGBUS. */
	if (fstat(m->fds[0], &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || d.offset + d.size > (uint64_t)st.st_size)
		return -EINVAL;
	if (overlaps(s, d.addr, d.size))
		return -EEXIST;
	if (s->nmaps == SRV_MAX_MAPS)
		return -ENOSPC;
	p = mmap(NULL, d.size, PROT_READ | PROT_WRITE, MAP_SHARED, m->fds[0], (off_t)d.offset);
	if (p == MAP_FAILED)
		return -errno;
	s->maps[s->nmaps++] = (struct dma_map){d.addr, d.size, p};
	return 0;
}

static int handle_dma_unmap(struct vfio_user_server *s, struct msg *m)
{
	struct vfio_user_dma_unmap u;

	if (m->len != sizeof(u))
		return -EINVAL;
	memcpy(&u, m->payload, sizeof(u));
	if (u.argsz < sizeof(u) || u.flags)
		return -EINVAL;
	for (unsigned i = 0; i < s->nmaps; i++) {
		if (s->maps[i].iova != u.addr || s->maps[i].size != u.size)
			continue;
		munmap(s->maps[i].ptr, s->maps[i].size);
		s->maps[i] = s->maps[--s->nmaps];
		memcpy(s->out, &u, sizeof(u));
		m->reply_len = sizeof(u);
		return 0;
	}
	return -EINVAL;
}

static int handle_device_info(struct vfio_user_server *s, struct msg *m)
{
	struct vfio_user_device_info di = {
	    .argsz = sizeof(di),
	    .flags = VFIO_USER_DEVICE_FLAGS_PCI,
	    .num_regions = VFIO_USER_PCI_NUM_REGIONS,
	    .num_irqs = VFIO_USER_PCI_MSIX_IRQ + 1,
	};
	uint32_t argsz;

	if (m->len < sizeof(argsz))
		return -EINVAL;
	memcpy(&argsz, m->payload, sizeof(argsz));
	if (argsz < sizeof(di))
		return -EINVAL;
	memcpy(s->out, &di, sizeof(di));
	m->reply_len = sizeof(di);
	return 0;
}

static int handle_region_info(struct vfio_user_server *s, struct msg *m)
{
	struct vfio_user_region_info ri;
	const struct vfio_user_server_region *r;

	if (m->len != sizeof(ri))
		return -EINVAL;
	memcpy(&ri, m->payload, sizeof(ri));
	if (ri.argsz < sizeof(ri) || ri.index >= VFIO_USER_PCI_NUM_REGIONS)
		return -EINVAL;
	r = &s->model.regions[ri.index];
	ri =
	    (struct vfio_user_region_info){.argsz = sizeof(ri), .index = ri.index, .size = r->size};
	if (r->size)
		ri.flags = VFIO_USER_REGION_READ_OK | VFIO_USER_REGION_WRITE_OK;
	if (r->size && r->mappable && r->mmap_fd >= 0) {
		ri.flags |= VFIO_USER_REGION_MMAP;
		m->reply_fd = r->mmap_fd;
	}
	memcpy(s->out, &ri, sizeof(ri));
	m->reply_len = sizeof(ri);
	return 0;
}

static int handle_irq_info(struct vfio_user_server *s, struct msg *m)
{
	struct vfio_user_irq_info ii;

	if (m->len != sizeof(ii))
		return -EINVAL;
	memcpy(&ii, m->payload, sizeof(ii));
	if (ii.argsz < sizeof(ii) || ii.index > VFIO_USER_PCI_MSIX_IRQ)
		return -EINVAL;
	ii = (struct vfio_user_irq_info){.argsz = sizeof(ii), .index = ii.index};
	if (ii.index == VFIO_USER_PCI_MSIX_IRQ) {
		ii.flags = VFIO_USER_IRQ_INFO_EVENTFD;
		ii.count = s->model.msix_count;
	}
	memcpy(s->out, &ii, sizeof(ii));
	m->reply_len = sizeof(ii);
	return 0;
}

static int handle_set_irqs(struct vfio_user_server *s, struct msg *m)
{
	const uint32_t data = VFIO_USER_IRQ_SET_DATA_NONE | VFIO_USER_IRQ_SET_DATA_BOOL |
			      VFIO_USER_IRQ_SET_DATA_EVENTFD;
	struct vfio_user_irq_set is;

	if (m->len != sizeof(is))
		return -EINVAL;
	memcpy(&is, m->payload, sizeof(is));
	if (is.argsz != sizeof(is) || is.index != VFIO_USER_PCI_MSIX_IRQ ||
	    (is.flags & ~data) != VFIO_USER_IRQ_SET_ACTION_TRIGGER)
		return -EINVAL;
	if (is.flags & VFIO_USER_IRQ_SET_DATA_NONE) {
		if (m->nfds ||
		    is.flags != (VFIO_USER_IRQ_SET_DATA_NONE | VFIO_USER_IRQ_SET_ACTION_TRIGGER))
			return -EINVAL;
		if (!is.start && !is.count) {
			drop_irqs(s, 0, s->model.msix_count);
			return 0;
		}
	}
	if (is.start > s->model.msix_count || is.count > s->model.msix_count - is.start)
		return -EINVAL;
	if (is.flags & VFIO_USER_IRQ_SET_DATA_NONE) {
		for (uint32_t i = 0; i < is.count; i++)
			(void)vfio_user_server_signal(s, is.start + i);
		return 0;
	}
	if (is.flags != (VFIO_USER_IRQ_SET_DATA_EVENTFD | VFIO_USER_IRQ_SET_ACTION_TRIGGER) ||
	    (m->nfds && m->nfds != is.count))
		return -EINVAL;
	drop_irqs(s, is.start, is.count);
	for (unsigned i = 0; i < m->nfds; i++) {
		s->irq_fds[is.start + i] = m->fds[i];
		m->fds[i] = -1;
	}
	return 0;
}

/* The checks REGION_READ and REGION_WRITE share: a region that exists, a transfer size
 * we offered, a range inside the region. */
static int check_rw(struct vfio_user_server *s, const struct vfio_user_region_rw *rw)
{
	uint64_t size;

	if (rw->region >= VFIO_USER_PCI_NUM_REGIONS)
		return -EINVAL;
	size = s->model.regions[rw->region].size;
	if (!rw->count || rw->count > SRV_MAX_XFER || rw->offset > size ||
	    rw->count > size - rw->offset)
		return -EINVAL;
	return 0;
}

static int handle_region_read(struct vfio_user_server *s, struct msg *m)
{
	struct vfio_user_region_rw rw;
	int r;

	if (m->len != sizeof(rw))
		return -EINVAL;
	memcpy(&rw, m->payload, sizeof(rw));
	r = check_rw(s, &rw);
	if (r < 0)
		return r;
	if (!s->model.read)
		return -EIO;
	memset(s->out + sizeof(rw), 0, rw.count);
	r = s->model.read(s->model.opaque, rw.region, rw.offset, s->out + sizeof(rw), rw.count);
	if (r != 0)
		return r;
	memcpy(s->out, &rw, sizeof(rw));
	m->reply_len = sizeof(rw) + rw.count;
	return 0;
}

static int handle_region_write(struct vfio_user_server *s, struct msg *m)
{
	struct vfio_user_region_rw rw;
	int r;

	if (m->len < sizeof(rw))
		return -EINVAL;
	memcpy(&rw, m->payload, sizeof(rw));
	if (m->len - sizeof(rw) != rw.count)
		return -EINVAL;
	r = check_rw(s, &rw);
	if (r < 0)
		return r;
	if (!s->model.write)
		return -EIO;
	r = s->model.write(s->model.opaque, rw.region, rw.offset, m->payload + sizeof(rw),
			   rw.count);
	if (r != 0)
		return r;
	memcpy(s->out, &rw, sizeof(rw));
	m->reply_len = sizeof(rw);
	return 0;
}

static int handle_reset(struct vfio_user_server *s, struct msg *m)
{
	if (m->len)
		return -EINVAL;
	return s->model.reset ? s->model.reset(s->model.opaque) : 0;
}

static const handler_fn handlers[VFIO_USER_COMMAND_MAX] = {
    [VFIO_USER_VERSION] = handle_version,
    [VFIO_USER_DMA_MAP] = handle_dma_map,
    [VFIO_USER_DMA_UNMAP] = handle_dma_unmap,
    [VFIO_USER_DEVICE_GET_INFO] = handle_device_info,
    [VFIO_USER_DEVICE_GET_REGION_INFO] = handle_region_info,
    [VFIO_USER_DEVICE_GET_IRQ_INFO] = handle_irq_info,
    [VFIO_USER_DEVICE_SET_IRQS] = handle_set_irqs,
    [VFIO_USER_REGION_READ] = handle_region_read,
    [VFIO_USER_REGION_WRITE] = handle_region_write,
    [VFIO_USER_DEVICE_RESET] = handle_reset,
};

/* Reads len bytes; 0, -EPIPE at end of stream, -EPROTO for truncated fds. */
static int recv_all(int conn, void *buf, size_t len, int *fds, unsigned *nfds, bool *too_many)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * SRV_MAX_FDS)];
		struct cmsghdr align;
	} ctl;
	size_t got = 0;

	while (got < len) {
		struct iovec iov = {(uint8_t *)buf + got, len - got};
		struct msghdr mh = {.msg_iov = &iov,
				    .msg_iovlen = 1,
				    .msg_control = ctl.buf,
				    .msg_controllen = sizeof(ctl.buf)};
		ssize_t n = recvmsg(conn, &mh, MSG_CMSG_CLOEXEC);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == ECONNRESET ? -EPIPE : -errno;
		}
		if (vfio_user__take_fds(&mh, fds, SRV_MAX_FDS, nfds))
			*too_many = true;
		if (mh.msg_flags & MSG_CTRUNC)
			*too_many = true;
		if (n == 0)
			return -EPIPE;
		got += (size_t)n;
	}
	return 0;
}

static int send_reply(struct vfio_user_server *s, int err, const struct msg *m)
{
	struct vfio_user_hdr h = {
	    .msg_id = s->cur.msg_id,
	    .command = s->cur.command,
	    .size = (uint32_t)(sizeof(h) + (err ? 0 : m->reply_len)),
	    .flags = VFIO_USER_F_TYPE_REPLY | (err ? VFIO_USER_F_ERROR : 0),
	    .error = (uint32_t)err,
	};
	struct iovec iov[2] = {{&h, sizeof(h)}, {s->out, err ? 0 : m->reply_len}};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
	ssize_t n;

	if (!err && m->reply_fd >= 0)
		vfio_user__attach_fds(&mh, ctl.buf, sizeof(ctl.buf), &m->reply_fd, 1);
	/* Replies are small next to the socket buffer: one sendmsg takes them whole. */
	n = sendmsg(s->conn, &mh, MSG_NOSIGNAL);
	if (n < 0)
		return -errno;
	return (size_t)n == h.size ? 0 : -EIO;
}

void vfio_user_server_attach(struct vfio_user_server *s, int conn)
{
	s->conn = conn;
}

static void detach(struct vfio_user_server *s)
{
	s->conn = -1;
	drop_client_state(s);
}

/* One message: 0 to go on, -EPIPE when the client left, -EPROTO or -ECONNABORTED to end. */
static int serve_message(struct vfio_user_server *s)
{
	int fds[SRV_MAX_FDS];
	unsigned nfds = 0;
	bool too_many = false;
	struct msg m = {.reply_fd = -1};
	size_t payload;
	int r;

	r = recv_all(s->conn, &s->cur, sizeof(s->cur), fds, &nfds, &too_many);
	if (r < 0)
		goto out;
	r = -EPROTO;
	if (s->cur.size < sizeof(s->cur) || s->cur.size - sizeof(s->cur) > SRV_MAX_PAYLOAD ||
	    (s->cur.flags & VFIO_USER_F_TYPE_MASK) != VFIO_USER_F_TYPE_COMMAND)
		goto out;
	payload = s->cur.size - sizeof(s->cur);
	r = recv_all(s->conn, s->in, payload, fds, &nfds, &too_many);
	if (r < 0)
		goto out;
	m.payload = s->in;
	m.len = payload;
	m.fds = fds;
	m.nfds = nfds;
	if (too_many || nfds > s->model.max_msg_fds)
		r = -EINVAL;
	else if (s->cur.command >= VFIO_USER_COMMAND_MAX || !handlers[s->cur.command])
		r = -ENOSYS;
	else
		r = handlers[s->cur.command](s, &m);
	if (r == VFIO_USER_SERVER_NO_REPLY || r == VFIO_USER_SERVER_REPLIED) {
		r = 0;
		goto out;
	}
	if (r == VFIO_USER_SERVER_HANG_UP) {
		r = -ECONNABORTED;
		goto out;
	}
	if (r > 0)
		r = -EIO;
	if (!(s->cur.flags & VFIO_USER_F_NO_REPLY))
		r = send_reply(s, -r, &m) < 0 ? -EPIPE : 0;
	else
		r = 0;
out:
	for (unsigned i = 0; i < nfds; i++)
		closep(&fds[i]);
	return r;
}

int vfio_user_server_serve_message(struct vfio_user_server *s)
{
	int r;

	if (s->conn < 0)
		return -ENOTCONN;
	r = serve_message(s);
	if (r < 0)
		detach(s);
	return r;
}

int vfio_user_server_serve(struct vfio_user_server *s, int conn)
{
	int r;

	vfio_user_server_attach(s, conn);
	do
		r = vfio_user_server_serve_message(s);
	while (r == 0);
	return r == -EPIPE ? 0 : r;
}

int vfio_user_server_listen(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	(void)unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

int vfio_user_server_serve_one(struct vfio_user_server *s, int listen_fd)
{
	int conn = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	int r;

	if (conn < 0)
		return -errno;
	r = vfio_user_server_serve(s, conn);
	close(conn);
	return r;
}
