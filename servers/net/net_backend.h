/* SPDX-License-Identifier: MIT */
/*
 * What mhcl-netd's channels need from a network backend (TAP today, MANA next): queues
 * that send and receive Ethernet frames with their offload metadata, a file descriptor
 * per queue to wait on, and a link state. Queue i serves the guest's VMBus channel i.
 */
#ifndef MHCL_NET_NET_BACKEND_H
#define MHCL_NET_NET_BACKEND_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

/*
 * Offload metadata that travels with a frame, in the shape of virtio's net header (which
 * the TAP backend passes through as is).
 *   send: NET_OFFLOAD_CSUM asks the backend to checksum from csum_start, storing at
 *         csum_start + csum_offset; gso_type/gso_size ask it to segment (hdr_len = bytes
 *         of headers before the payload, 0 if unknown).
 *   recv: NET_OFFLOAD_CSUM: the checksum is partial (a local sender), treat it as valid;
 *         NET_OFFLOAD_CSUM_VALID: the backend checked it.
 */
#define NET_OFFLOAD_CSUM 0x1u
#define NET_OFFLOAD_CSUM_VALID 0x2u

enum net_gso {
	NET_GSO_NONE = 0,
	NET_GSO_TCPV4 = 1,
	NET_GSO_UDP = 3,
	NET_GSO_TCPV6 = 4,
};

struct net_offload {
	uint8_t flags;	  /* NET_OFFLOAD_* */
	uint8_t gso_type; /* enum net_gso */
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
};

/* One frame of a batch: where it goes (in), and what came (out). */
struct net_rx_slot {
	const struct iovec *iov;
	int iovcnt;
	int len;		/* out: as recv() returns */
	struct net_offload off; /* out, when len > 0 */
};

/* The most frames one recv_many call asks for. */
#define NET_RX_BATCH_MAX 32u

/*
 * A backend: queues the NIC's channels send and receive on. Each transport embeds
 * struct net_backend first and fills its ops; net_nic.c sees only this.
 */
struct net_backend;

struct net_backend_ops {
	const char *kind; /* "tap", "mana" */
	/* One frame. 0; -EAGAIN: the queue is full (wait until fd() is writable); other
	 * -errno: the frame was refused (the caller counts a drop). */
	int (*send)(struct net_backend *b, unsigned q, const struct iovec *iov, int iovcnt,
		    const struct net_offload *off);
	/* One frame into iov: its length; -EAGAIN: none now; -EMSGSIZE: it did not fit (it is
	 * gone); other -errno: a bad frame (gone). */
	int (*recv)(struct net_backend *b, unsigned q, const struct iovec *iov, int iovcnt,
		    struct net_offload *off);
	/* Optional: up to n (1..NET_RX_BATCH_MAX) frames from queue q at once. Returns k and
	 * order[0..k): the slots that took a frame or lost one (len < 0, as recv()), in the
	 * order the queue gave them out; the other slots got nothing and their buffers were not
	 * touched. k < n: the queue ran dry. */
	int (*recv_many)(struct net_backend *b, unsigned q, struct net_rx_slot *slots, unsigned n,
			 uint8_t *order);
	/* The fd that becomes readable when queue q has frames (and writable when it has
	 * room again, unless tx_wait is set). */
	int (*fd)(const struct net_backend *b, unsigned q);
	/* Set when fd() never turns writable (an eventfd): room is a TX completion, which
	 * makes fd() readable. Called while queue q's TX is full, when fd() was readable:
	 * frees what the device completed and, when rx_idle (nobody reads the queue's
	 * frames now), takes the event and asks for the next TX completion only. */
	void (*tx_wait)(struct net_backend *b, unsigned q, bool rx_idle);
};

struct net_backend {
	const struct net_backend_ops *ops;
	unsigned nqueues;
	char name[32]; /* what inspect shows: the interface, the device */
};

static inline int net_backend_send(struct net_backend *b, unsigned q, const struct iovec *iov,
				   int iovcnt, const struct net_offload *off)
{
	return b->ops->send(b, q, iov, iovcnt, off);
}

static inline int net_backend_recv(struct net_backend *b, unsigned q, const struct iovec *iov,
				   int iovcnt, struct net_offload *off)
{
	return b->ops->recv(b, q, iov, iovcnt, off);
}

static inline int net_backend_fd(const struct net_backend *b, unsigned q)
{
	return b->ops->fd(b, q);
}

/* The largest frame a backend passes either way without segmentation offload. */
#define NET_MAX_FRAME (9216u + 14u)
/* The largest frame the guest may hand over with segmentation offload. */
#define NET_MAX_GSO_FRAME 65550u

#endif
