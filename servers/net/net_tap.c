/* SPDX-License-Identifier: MIT */
/*
 * TAP queues with a virtio net header (Linux drivers/net/tun.c). What the kernel does with
 * the header, which shapes the checks below:
 *   write: a checksum request raises hdr_len to csum_start + csum_offset + 2; hdr_len past
 *          the frame, or non-zero under 14, is EINVAL; so is a header the stack cannot
 *          apply (virtio_net_hdr_to_skb: unknown gso_type, gso_size 0, checksum or
 *          transport header outside the frame).
 *   read:  the header is written, then as much of the frame as fits, and the rest is
 *          dropped. Kernels differ in what they return then (the whole length, or what was
 *          copied), so net_tap_recv reads into one spare byte past the caller's buffer.
 */
#include <assert.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "macros.h"
#include "net_tap.h"
#include "net_tap_ring.h"

/* The header without mergeable buffers (virtio 1.x 5.1.6). */
static_assert(sizeof(struct virtio_net_hdr) == 10, "virtio net header size");
static_assert(offsetof(struct virtio_net_hdr, hdr_len) == 2, "hdr_len offset");
static_assert(offsetof(struct virtio_net_hdr, gso_size) == 4, "gso_size offset");
static_assert(offsetof(struct virtio_net_hdr, csum_start) == 6, "csum_start offset");
static_assert(offsetof(struct virtio_net_hdr, csum_offset) == 8, "csum_offset offset");
/* net_backend.h takes virtio's gso numbering so the type passes through unchanged. */
static_assert(NET_GSO_TCPV4 == VIRTIO_NET_HDR_GSO_TCPV4, "gso tcpv4");
static_assert(NET_GSO_UDP == VIRTIO_NET_HDR_GSO_UDP, "gso udp");
static_assert(NET_GSO_TCPV6 == VIRTIO_NET_HDR_GSO_TCPV6, "gso tcpv6");

#define VNET_HDR_LEN ((int)sizeof(struct virtio_net_hdr))
#define ETH_HDR_LEN 14u
#define TCP_HDR_MIN 20u
#define UDP_HDR_LEN 8u
/* /dev/net/tun (Documentation/admin-guide/devices.txt). */
#define TUN_MAJOR 10u
#define TUN_MINOR 200u

struct net_tap {
	struct net_backend be; /* first: net_tap_backend() hands it out */
	unsigned nqueues;
	char ifname[IFNAMSIZ];
	int qdisc_result;	   /* net_tap_use_noqueue's, at open */
	char qdisc_kept[IFNAMSIZ]; /* the administrator's qdisc kept, if any */
	struct net_tap_ring *ring; /* batched receive, when armed; owned */
	int fds[];		   /* nqueues, owned */
};

static struct net_tap *tap_alloc(unsigned nqueues)
{
	struct net_tap *t = calloc(1, sizeof(*t) + nqueues * sizeof(t->fds[0]));
	if (!t)
		return NULL;
	t->nqueues = nqueues;
	for (unsigned i = 0; i < nqueues; i++)
		t->fds[i] = -1;
	return t;
}

struct net_tap *net_tap_free(struct net_tap *t)
{
	if (!t)
		return NULL;
	net_tap_ring_free(t->ring);
	for (unsigned i = 0; i < t->nqueues; i++)
		if (t->fds[i] >= 0)
			close(t->fds[i]);
	free(t);
	return NULL;
}

/* Settings of the interface, not the queue: set once, through any of its queues. */
static int tap_configure(int fd)
{
	int hdr_sz = VNET_HDR_LEN, le = 1;

	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr_sz) < 0)
		return -errno;
	/* Little endian whatever the host: the header is built with htole16. */
	if (ioctl(fd, TUNSETVNETLE, &le) < 0)
		return -errno;
	/* Partial checksums only: no TSO/UFO aggregates towards the guest (see net_tap.h). */
	if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)TUN_F_CSUM) < 0)
		return -errno;
	return 0;
}

/* Attaches one more queue of ifname (updated with the kernel's name for it). */
static int tap_attach(char ifname[IFNAMSIZ])
{
	_cleanup_close_ int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;

	/* Never IFF_TUN_EXCL: the interface may exist already, made by an administrator. */
	struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE};
	memcpy(ifr.ifr_name, ifname, IFNAMSIZ);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		return -errno;
	memcpy(ifname, ifr.ifr_name, IFNAMSIZ);
	ifname[IFNAMSIZ - 1] = '\0';
	return take_fd(&fd);
}

int net_tap_open(const char *ifname, unsigned nqueues, struct net_tap **ret)
{
	if (!ifname || nqueues == 0 || nqueues > NET_TAP_MAX_QUEUES)
		return -EINVAL;
	size_t len = strnlen(ifname, IFNAMSIZ);
	if (len == 0 || len >= IFNAMSIZ)
		return -EINVAL;

	struct net_tap *t = tap_alloc(nqueues);
	if (!t)
		return -ENOMEM;
	memcpy(t->ifname, ifname, len);

	int r;
	for (unsigned i = 0; i < nqueues; i++) {
		r = tap_attach(t->ifname);
		if (r < 0)
			goto err_free;
		t->fds[i] = r;
		/* Before the next queues, so that none sees the interface half set up. */
		if (i == 0) {
			r = tap_configure(t->fds[0]);
			/* noqueue before the raise: the default's rings would grow first. */
			if (r == 0)
				t->qdisc_result = net_tap_use_noqueue(t->ifname, t->qdisc_kept);
			if (r == 0)
				r = net_tap_raise_txqueuelen(t->ifname);
			if (r < 0)
				goto err_free;
		}
	}
	*ret = t;
	return 0;

err_free:
	net_tap_free(t);
	return r;
}

/* Checks that fd is an attached queue of a TAP this backend can drive; returns its name. */
static int tun_fd_check(int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != TUN_MAJOR ||
	    minor(st.st_rdev) != TUN_MINOR)
		return -ENOTTY;
	return 0;
}

static int tap_check_queue(int fd, char ifname[IFNAMSIZ])
{
	int r = tun_fd_check(fd);
	if (r < 0)
		return r;

	/* EBADFD for a queue detached with TUNSETQUEUE. */
	struct ifreq ifr = {0};
	if (ioctl(fd, TUNGETIFF, &ifr) < 0)
		return -errno;
	unsigned need = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (((unsigned)ifr.ifr_flags & (need | IFF_TUN)) != need)
		return -EINVAL;

	int hdr_sz = 0;
	if (ioctl(fd, TUNGETVNETHDRSZ, &hdr_sz) < 0)
		return -errno;
	if (hdr_sz != VNET_HDR_LEN)
		return -EINVAL;

	memcpy(ifname, ifr.ifr_name, IFNAMSIZ);
	ifname[IFNAMSIZ - 1] = '\0';
	return 0;
}

static int fd_set_nonblock_cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		return -errno;
	return 0;
}

/* The checked queues of ifname become *ret's (non-blocking, close-on-exec). */
static int take_fds(const int *fds, unsigned nqueues, const char *ifname, struct net_tap **ret)
{
	for (unsigned i = 0; i < nqueues; i++) {
		int r = fd_set_nonblock_cloexec(fds[i]);
		if (r < 0)
			return r;
	}
	struct net_tap *t = tap_alloc(nqueues);
	if (!t)
		return -ENOMEM;
	snprintf(t->ifname, IFNAMSIZ, "%s", ifname);
	memcpy(t->fds, fds, nqueues * sizeof(fds[0]));
	*ret = t;
	return 0;
}

int net_tap_adopt(const int *fds, unsigned nqueues, struct net_tap **ret)
{
	if (!fds || nqueues == 0 || nqueues > NET_TAP_MAX_QUEUES)
		return -EINVAL;

	char first[IFNAMSIZ] = "", name[IFNAMSIZ];
	for (unsigned i = 0; i < nqueues; i++) {
		if (fds[i] < 0)
			return -EBADF;
		for (unsigned j = 0; j < i; j++)
			if (fds[j] == fds[i])
				return -EINVAL;
		int r = tap_check_queue(fds[i], name);
		if (r < 0)
			return r;
		if (i == 0)
			memcpy(first, name, IFNAMSIZ);
		else if (strcmp(first, name) != 0)
			return -EINVAL;
	}

	/* The interface's settings (header size, byte order, offloads) are the device's, set
	 * by the instance that attached the queues; they last as long as a queue is open. */
	return take_fds(fds, nqueues, first, ret);
}

int net_tap_fd(const struct net_tap *t, unsigned q)
{
	return q < t->nqueues ? t->fds[q] : -EINVAL;
}

unsigned net_tap_queues(const struct net_tap *t)
{
	return t->nqueues;
}

const char *net_tap_ifname(const struct net_tap *t)
{
	return t->ifname;
}

int net_tap_qdisc_result(const struct net_tap *t, const char **kept)
{
	*kept = t->qdisc_kept;
	return t->qdisc_result;
}

/* Bytes in iov, or SIZE_MAX past limit (each entry is checked first: the sum cannot wrap). */
static size_t iov_bytes(const struct iovec *iov, int iovcnt, size_t limit)
{
	size_t n = 0;
	for (int i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > limit - n)
			return SIZE_MAX;
		n += iov[i].iov_len;
	}
	return n;
}

/*
 * A header length the kernel can use when the caller left it 0 on a segmentation request:
 * through the minimal transport header, which the stack pulls in anyway. Without a
 * checksum request csum_start means nothing, and the kernel probes the headers itself.
 */
static uint16_t gso_hdr_len(const struct net_offload *off, size_t frame_len)
{
	if (off->hdr_len || !(off->flags & NET_OFFLOAD_CSUM))
		return off->hdr_len;
	size_t th = off->gso_type == NET_GSO_UDP ? UDP_HDR_LEN : TCP_HDR_MIN;
	size_t n =
	    MAX((size_t)off->csum_start + th, (size_t)off->csum_start + off->csum_offset + 2u);
	return (uint16_t)MIN(n, frame_len);
}

static int offload_to_vnet(const struct net_offload *off, size_t frame_len,
			   struct virtio_net_hdr *h)
{
	memset(h, 0, sizeof(*h));
	if (!off)
		return 0;
	switch (off->gso_type) {
	case NET_GSO_NONE:
		h->hdr_len = htole16(off->hdr_len);
		break;
	case NET_GSO_TCPV4:
	case NET_GSO_UDP:
	case NET_GSO_TCPV6:
		h->gso_type = off->gso_type;
		h->gso_size = htole16(off->gso_size);
		h->hdr_len = htole16(gso_hdr_len(off, frame_len));
		break;
	default:
		return -EINVAL;
	}
	/* NET_OFFLOAD_CSUM_VALID means nothing on the way out: the stack checks for itself. */
	if (off->flags & NET_OFFLOAD_CSUM) {
		h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		h->csum_start = htole16(off->csum_start);
		h->csum_offset = htole16(off->csum_offset);
	}
	return 0;
}

int net_tap_send(struct net_tap *t, unsigned q, const struct iovec *iov, int iovcnt,
		 const struct net_offload *off)
{
	assert(q < t->nqueues);
	if (iovcnt < 1 || iovcnt > NET_TAP_MAX_IOV)
		return -EMSGSIZE;
	size_t len = iov_bytes(iov, iovcnt, NET_MAX_GSO_FRAME);
	if (len == SIZE_MAX)
		return -EMSGSIZE;

	struct virtio_net_hdr h;
	int r = offload_to_vnet(off, len, &h);
	if (r < 0)
		return r;

	struct iovec v[NET_TAP_MAX_IOV + 1];
	v[0] = (struct iovec){.iov_base = &h, .iov_len = sizeof(h)};
	memcpy(&v[1], iov, (size_t)iovcnt * sizeof(*iov));
	ssize_t n = writev(t->fds[q], v, iovcnt + 1);
	if (n < 0)
		return -errno;
	/* tun takes a frame whole or not at all. */
	return (size_t)n == sizeof(h) + len ? 0 : -EIO;
}

/* Fills *ret_off from a received header, or refuses a header the frame contradicts. */
static int vnet_to_offload(const struct virtio_net_hdr *h, size_t frame_len,
			   struct net_offload *ret_off)
{
	/* No TSO/UFO was offered, so an aggregate is more than the guest was promised. */
	if (h->gso_type != VIRTIO_NET_HDR_GSO_NONE)
		return -EMSGSIZE;

	struct net_offload off = {0};
	if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		uint16_t start = le16toh(h->csum_start), at = le16toh(h->csum_offset);
		if ((size_t)start + at + 2u > frame_len)
			return -EBADMSG;
		off.flags = NET_OFFLOAD_CSUM;
		off.csum_start = start;
		off.csum_offset = at;
	} else if (h->flags & VIRTIO_NET_HDR_F_DATA_VALID) {
		off.flags = NET_OFFLOAD_CSUM_VALID;
	}
	*ret_off = off;
	return 0;
}

/* What a read of n bytes (header included) into room bytes of frame buffer brought. */
static int frame_result(const struct virtio_net_hdr *h, ssize_t n, size_t room,
			struct net_offload *ret_off)
{
	if (n < VNET_HDR_LEN)
		return -EBADMSG;
	size_t frame_len = (size_t)n - sizeof(*h);
	if (frame_len > room || frame_len > INT32_MAX)
		return -EMSGSIZE;
	if (frame_len < ETH_HDR_LEN)
		return -EBADMSG;

	int r = vnet_to_offload(h, frame_len, ret_off);
	return r < 0 ? r : (int)frame_len;
}

/*
 * The vectors of one read: the header, the caller's iov, and one spare byte past the
 * caller's buffer: a frame that reaches it did not fit, also where the kernel returns only
 * what it copied (6.x does) rather than the frame's length. v has iovcnt + 2 entries.
 */
static void read_vectors(struct iovec *v, struct virtio_net_hdr *h, uint8_t *spare,
			 const struct iovec *iov, int iovcnt)
{
	v[0] = (struct iovec){.iov_base = h, .iov_len = sizeof(*h)};
	memcpy(&v[1], iov, (size_t)iovcnt * sizeof(*iov));
	v[iovcnt + 1] = (struct iovec){.iov_base = spare, .iov_len = 1};
}

int net_tap_recv(struct net_tap *t, unsigned q, const struct iovec *iov, int iovcnt,
		 struct net_offload *ret_off)
{
	assert(q < t->nqueues);
	if (iovcnt < 1 || iovcnt > NET_TAP_MAX_IOV)
		return -EINVAL;
	size_t room = iov_bytes(iov, iovcnt, SIZE_MAX - 1);
	if (room == SIZE_MAX)
		return -EINVAL;

	struct virtio_net_hdr h;
	uint8_t spare;
	struct iovec v[NET_TAP_MAX_IOV + 2];
	read_vectors(v, &h, &spare, iov, iovcnt);
	ssize_t n = readv(t->fds[q], v, iovcnt + 2);
	if (n < 0)
		return -errno;
	return frame_result(&h, n, room, ret_off);
}

int net_tap_use_ring(struct net_tap *t, struct net_tap_ring *ring, const char **why)
{
	if (t->ring)
		return -EBUSY;
	int r = net_tap_ring_arm(ring, t->fds, t->nqueues, why);
	if (r == 0)
		t->ring = ring;
	return r;
}

bool net_tap_batched(const struct net_tap *t)
{
	return net_tap_ring_armed(t->ring);
}

/* One readv per frame, until the queue runs dry. */
static int recv_each(struct net_tap *t, unsigned q, struct net_rx_slot *slots, unsigned n,
		     uint8_t *order)
{
	unsigned k = 0;
	for (unsigned i = 0; i < n; i++) {
		int len = net_tap_recv(t, q, slots[i].iov, slots[i].iovcnt, &slots[i].off);
		if (len == -EAGAIN)
			break;
		slots[i].len = len;
		order[k++] = (uint8_t)i;
	}
	return (int)k;
}

int net_tap_recv_many(struct net_tap *t, unsigned q, struct net_rx_slot *slots, unsigned n,
		      uint8_t *order)
{
	static_assert(NET_RX_BATCH_MAX <= NET_TAP_RING_BATCH, "a backend batch fits the ring");
	assert(q < t->nqueues && n >= 1 && n <= NET_RX_BATCH_MAX);
	if (n == 1 || !net_tap_ring_armed(t->ring))
		return recv_each(t, q, slots, n, order);

	struct virtio_net_hdr h[NET_RX_BATCH_MAX];
	uint8_t spare[NET_RX_BATCH_MAX];
	size_t room[NET_RX_BATCH_MAX];
	struct iovec v[NET_RX_BATCH_MAX][NET_TAP_RING_IOV];
	const struct iovec *vecs[NET_RX_BATCH_MAX];
	unsigned cnts[NET_RX_BATCH_MAX];
	int res[NET_RX_BATCH_MAX];

	for (unsigned i = 0; i < n; i++) {
		int cnt = slots[i].iovcnt;
		if (cnt < 1 || cnt > (int)NET_TAP_RING_IOV - 2)
			return recv_each(t, q, slots, n, order);
		room[i] = iov_bytes(slots[i].iov, cnt, SIZE_MAX - 1);
		if (room[i] == SIZE_MAX)
			return recv_each(t, q, slots, n, order);
		read_vectors(v[i], &h[i], &spare[i], slots[i].iov, cnt);
		vecs[i] = v[i];
		cnts[i] = (unsigned)cnt + 2u;
	}
	int k = net_tap_ring_readv(t->ring, q, vecs, cnts, n, res, order);
	if (k < 0)
		return recv_each(t, q, slots, n, order);
	for (int j = 0; j < k; j++) {
		unsigned i = order[j];
		slots[i].len =
		    res[i] < 0 ? res[i] : frame_result(&h[i], res[i], room[i], &slots[i].off);
	}
	return k;
}

/* ---- as a net_backend ---- */

static int be_send(struct net_backend *b, unsigned q, const struct iovec *iov, int iovcnt,
		   const struct net_offload *off)
{
	return net_tap_send((struct net_tap *)b, q, iov, iovcnt, off);
}

static int be_recv(struct net_backend *b, unsigned q, const struct iovec *iov, int iovcnt,
		   struct net_offload *off)
{
	return net_tap_recv((struct net_tap *)b, q, iov, iovcnt, off);
}

static int be_recv_many(struct net_backend *b, unsigned q, struct net_rx_slot *slots, unsigned n,
			uint8_t *order)
{
	return net_tap_recv_many((struct net_tap *)b, q, slots, n, order);
}

static int be_fd(const struct net_backend *b, unsigned q)
{
	return net_tap_fd((const struct net_tap *)b, q);
}

static const struct net_backend_ops tap_ops = {
    .kind = "tap",
    .send = be_send,
    .recv = be_recv,
    .recv_many = be_recv_many,
    .fd = be_fd,
};

struct net_backend *net_tap_backend(struct net_tap *t)
{
	t->be.ops = &tap_ops;
	t->be.nqueues = t->nqueues;
	snprintf(t->be.name, sizeof(t->be.name), "%s", t->ifname);
	return &t->be;
}
