/* SPDX-License-Identifier: MIT */
/*
 * Several TAP reads in one system call (net_tap_recv_many). tun hands out one frame per
 * read, and on a machine whose system calls are dear their entry costs as much as the read
 * behind it; io_uring runs a batch of READVs inline within one io_uring_enter, in order.
 *
 * Linux parks a read that finds its queue empty until a frame comes (O_NONBLOCK does not
 * stop io_uring from polling, and tun files take no RWF_NOWAIT), so each batch ends with a
 * cancel of whatever is parked, and the call returns only once every read it submitted has
 * completed: nothing is in flight between calls, and a restart or crash finds no read
 * that could still write into a buffer. Frames are reported in completion order, which is
 * the order the queue gave them out in (reads run one after another in this task; a
 * parked read woken later completes after the ones that ran inline).
 *
 * The ring is made disabled before the jail (net_tap_ring_new), and locked down when the
 * queues are known (net_tap_ring_arm, also inside the jail): READV and ASYNC_CANCEL only,
 * on the TAP's queue fds only, registered as fixed files.
 */
#ifndef MHCL_NET_NET_TAP_RING_H
#define MHCL_NET_NET_TAP_RING_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

/* Reads per batch, and iovecs per read. */
#define NET_TAP_RING_BATCH 32u
#define NET_TAP_RING_IOV 8u

struct net_tap_ring;

/* A disabled ring. 0, or -errno with *why saying what failed. */
int net_tap_ring_new(struct net_tap_ring **ret, const char **why);

/* Registers fds[0..n) (the queues, borrowed: the ring keeps its own references) as fixed
 * files 0..n-1, locks the ring down and enables it. Once only. 0, or -errno and *why. */
int net_tap_ring_arm(struct net_tap_ring *r, const int *fds, unsigned n, const char **why);

bool net_tap_ring_armed(const struct net_tap_ring *r);

/*
 * n reads (1..NET_TAP_RING_BATCH) from fixed file idx, read i into vecs[i] (cnts[i]
 * iovecs, 1..NET_TAP_RING_IOV), then a cancel of those that found nothing. res[i] is read
 * i's result: bytes, or -errno (-EAGAIN or -ECANCELED: it got nothing). order[0..k) are the
 * reads that got something (bytes or another error), in completion order. Returns k;
 * -errno when the ring took nothing (no read ran; try a plain readv).
 */
int net_tap_ring_readv(struct net_tap_ring *r, unsigned idx, const struct iovec *const *vecs,
		       const unsigned *cnts, unsigned n, int *res, uint8_t *order);

/* Accepts NULL; returns NULL. */
struct net_tap_ring *net_tap_ring_free(struct net_tap_ring *r);

struct io_uring;
/* For tests: the ring itself, to check its lock-down. */
struct io_uring *net_tap_ring__ring(struct net_tap_ring *r);

#endif
