/* SPDX-License-Identifier: MIT */
/*
 * The TAP backend of mhcl-netd: the queues of a Linux multi-queue TAP interface, one file
 * descriptor per queue, each frame preceded by a virtio net header (10 bytes, little
 * endian) that carries the offload metadata of net_backend.h.
 *
 * Offloads: the interface is told TUN_F_CSUM only. The kernel may then hand us frames
 * whose checksum is partial (NET_OFFLOAD_CSUM on receive) but never a TSO/UFO aggregate:
 * without TUN_F_TSO* it segments before the queue, so the guest receives frames of at most
 * MTU size. The other way, the kernel takes checksum and segmentation offload from us
 * whatever the flags (they describe what it may send).
 *
 * Lifetime: a queue stays attached while its fd is open; the interface disappears with
 * its last queue unless an administrator made it persistent. A restarted server gets the
 * fds back from init's fd store and adopts them. net_tap_open and net_tap_adopt run before
 * the jail (they open /dev/net/tun and issue tun ioctls); send and recv need only readv
 * and writev.
 */
#ifndef MHCL_NET_NET_TAP_H
#define MHCL_NET_NET_TAP_H

#include <net/if.h>
#include <stdbool.h>
#include <sys/uio.h>

#include "net_backend.h"

struct net_tap;

/* Queues per interface: the guest's netvsc opens at most 64 VMBus channels. */
#define NET_TAP_MAX_QUEUES 64u
/* Frame iovecs per send or recv call (the header takes one more internally). */
#define NET_TAP_MAX_IOV 64
/* The frames each queue holds for the guest while no netd reads it (a restart). */
#define NET_TAP_TXQUEUELEN 8192u

/*
 * Attaches nqueues queues of the TAP interface ifname, creating it if it does not exist.
 * An existing interface must be a multi-queue TAP. Sets the interface's header size,
 * byte order and offloads. Every fd is non-blocking and close-on-exec.
 * Returns 0 and *ret, -EINVAL (bad name or count), or the -errno of the failing call.
 */
int net_tap_open(const char *ifname, unsigned nqueues, struct net_tap **ret);

/*
 * Adopts nqueues fds already attached to one TAP interface (from init's fd store). Checks
 * each is a tun queue of a TAP with IFF_NO_PI and a 10-byte virtio header, all on the same
 * interface; makes them non-blocking and close-on-exec. On success the fds belong to *ret;
 * on failure they stay the caller's. Returns 0, -EINVAL (not such a queue), -ENOTTY (not a
 * tun fd), or another -errno.
 */
int net_tap_adopt(const int *fds, unsigned nqueues, struct net_tap **ret);

/*
 * Makes noqueue the root qdisc of ifname when it has the kernel's default (mq, or none yet
 * while down): a TAP never needs one, and the default's per-queue rings cost tens of MiB
 * once tx_queue_len is raised (net_tap_qdisc.c). Needs CAP_NET_ADMIN. Returns 0 (noqueue
 * is the root now), 1 when an administrator's qdisc is kept (its kind in kept), or -errno.
 */
int net_tap_use_noqueue(const char *ifname, char kept[IFNAMSIZ]);

/* Raises ifname's queue length to NET_TAP_TXQUEUELEN, never lowers it (net_tap_qdisc.c).
 * Needs CAP_NET_ADMIN when it changes anything. 0 or -errno. */
int net_tap_raise_txqueuelen(const char *ifname);

/*
 * What net_tap_open did about the root qdisc: net_tap_use_noqueue's result (0 when the
 * queues were adopted, not opened), and in kept the kind of a qdisc it kept.
 */
int net_tap_qdisc_result(const struct net_tap *t, const char **kept);

/* The TAP as a net_backend (valid while t is). */
struct net_backend *net_tap_backend(struct net_tap *t);

/* The fd of queue q to wait on (borrowed), or -EINVAL when q is out of range. */
int net_tap_fd(const struct net_tap *t, unsigned q);
unsigned net_tap_queues(const struct net_tap *t);
/* The interface's name as the kernel reported it (borrowed, lives as long as t). */
const char *net_tap_ifname(const struct net_tap *t);

/*
 * Sends one Ethernet frame (iov, borrowed) on queue q with its offload metadata (off may be
 * NULL: none). Returns 0; -EAGAIN when the queue is full (retry once the fd is writable);
 * -EINVAL when the kernel (or this function, for an unknown gso_type) refused the offload
 * header or the frame: count a drop; -EMSGSIZE when the frame exceeds NET_MAX_GSO_FRAME or
 * iovcnt is outside 1..NET_TAP_MAX_IOV (nothing sent); another -errno otherwise.
 */
int net_tap_send(struct net_tap *t, unsigned q, const struct iovec *iov, int iovcnt,
		 const struct net_offload *off);

/*
 * Receives one frame from queue q into iov (borrowed, 1..NET_TAP_MAX_IOV entries) and its
 * metadata into *ret_off. Returns the frame length; -EAGAIN when nothing is queued;
 * -EMSGSIZE when the frame did not fit in iov or was a segmentation aggregate (consumed and
 * dropped); -EBADMSG for a frame under 14 bytes or a header that points outside the frame
 * (dropped); -EINVAL for a bad iovcnt; another -errno otherwise. *ret_off is written only
 * on success.
 */
int net_tap_recv(struct net_tap *t, unsigned q, const struct iovec *iov, int iovcnt,
		 struct net_offload *ret_off);

struct net_tap_ring;

/*
 * Lets t read several frames per system call through ring (net_tap_ring.h, made before
 * the jail): arms it on t's queues and takes it over (freed with t). On failure the ring
 * stays the caller's and t reads one frame per call. 0, or -errno and *why.
 */
int net_tap_use_ring(struct net_tap *t, struct net_tap_ring *ring, const char **why);

/* Whether t reads through an armed ring. */
bool net_tap_batched(const struct net_tap *t);

/*
 * Up to n frames from queue q into slots, as net_backend's recv_many (each slot's len as
 * net_tap_recv returns; iovcnt at most NET_TAP_RING_IOV - 2). One io_uring_enter with a
 * ring, else one readv per frame. Returns k, the slots in order[0..k).
 */
int net_tap_recv_many(struct net_tap *t, unsigned q, struct net_rx_slot *slots, unsigned n,
		      uint8_t *order);

/* Closes the queues' fds and frees t. Accepts NULL; returns NULL. */
struct net_tap *net_tap_free(struct net_tap *t);

#endif
