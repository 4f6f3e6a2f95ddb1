/* SPDX-License-Identifier: MIT */
/*
 * A buffer the guest lent the NIC through a GPADL (netvsc's receive and send buffers),
 * as page pointers into the mapped guest RAM: every PFN was checked once when the buffer
 * was mapped, and every access after that is bounds-checked against its length.
 */
#ifndef MHCL_NET_NET_BUF_H
#define MHCL_NET_NET_BUF_H

#include <stdint.h>
#include <sys/uio.h>

#include "vmbusdev.h"

struct net_buf {
	uint32_t gpadl; /* 0 = not mapped */
	uint32_t len;	/* bytes */
	uint32_t npages;
	uint32_t first; /* the GPADL's byte offset into its first page */
	uint8_t **pages;
};

/* Maps GPADL gpadl of channel c (the guest established it there). 0 or -errno + *why. */
int net_buf_map(struct net_buf *b, const struct vmbusdev_chan *c, uint32_t gpadl, const char **why);
void net_buf_unmap(struct net_buf *b);

/* Bytes [off, off + len) as an iovec (adjacent pages merged). Returns the entries used,
 * -ERANGE outside the buffer, -ENOBUFS over max entries. */
int net_buf_iov(const struct net_buf *b, uint32_t off, uint32_t len, struct iovec *iov, int max);
/* Copies between the buffer and local memory; -ERANGE outside the buffer. */
int net_buf_read(const struct net_buf *b, uint32_t off, void *dst, uint32_t len);
int net_buf_write(const struct net_buf *b, uint32_t off, const void *src, uint32_t len);

/* Copies up to len bytes from an iovec into dst; returns the bytes copied. */
uint32_t net_iov_read(const struct iovec *iov, int iovcnt, uint32_t off, void *dst, uint32_t len);
/* The sub-range [off, off + len) of an iovec as a new iovec; entries used or -ENOBUFS /
 * -ERANGE. */
int net_iov_slice(const struct iovec *iov, int iovcnt, uint32_t off, uint32_t len,
		  struct iovec *out, int max);

#endif
