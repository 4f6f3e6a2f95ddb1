/* SPDX-License-Identifier: MIT */
/*
 * A vfio-user server for test devices (test-only; never in the image). A device model
 * describes its regions and MSI-X count and answers region reads and writes; the library
 * speaks the protocol (include/defs/vfio_user_defs.h) to one client at a time, keeps the
 * client's DMA maps (mmaps of the fds it sends) and its MSI-X eventfds.
 *
 * The client is untrusted: every message is checked (sizes, counts, fd counts, ranges,
 * alignment, overlaps) and refused with an error reply; a message that breaks the framing
 * ends the connection. Single-threaded: the model's callbacks run on the thread in
 * vfio_user_server_serve(), and dma_ptr/signal are for those callbacks.
 */
#ifndef MHCL_TESTS_VFIO_USER_SERVER_H
#define MHCL_TESTS_VFIO_USER_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "defs/vfio_user_defs.h"

/* Model callback results besides 0 and -errno (the errno goes back in an error reply):
 * ways for a test device to misbehave. */
#define VFIO_USER_SERVER_NO_REPLY 1 /* answer nothing, keep serving (a hung device) */
#define VFIO_USER_SERVER_HANG_UP 2  /* end the connection without answering */
#define VFIO_USER_SERVER_REPLIED 3  /* the model sent its own bytes (send_raw) */

struct vfio_user_server;

struct vfio_user_server_region {
	uint64_t size; /* 0: absent */
	int mmap_fd;   /* >= 0 (with mappable): offered to the client for mmap; borrowed */
	bool mappable;
};

struct vfio_user_server_model {
	/* BAR0..5 at 0..5, config space at VFIO_USER_PCI_CONFIG_REGION. */
	struct vfio_user_server_region regions[VFIO_USER_PCI_NUM_REGIONS];
	unsigned msix_count;
	unsigned max_msg_fds; /* what the server says it takes per message; 0: 8 */
	/* Called with a range inside the region, len 1..4096. */
	int (*read)(void *opaque, unsigned region, uint64_t off, void *buf, uint32_t len);
	int (*write)(void *opaque, unsigned region, uint64_t off, const void *buf, uint32_t len);
	/* Optional: VFIO_USER_DEVICE_RESET (NULL: the reset is acknowledged and does nothing). */
	int (*reset)(void *opaque);
	void *opaque;
};

/* Copies the model description. NULL when out of memory. */
struct vfio_user_server *vfio_user_server_new(const struct vfio_user_server_model *model);
/* Drops the DMA maps and eventfds. Accepts NULL; returns NULL. */
struct vfio_user_server *vfio_user_server_free(struct vfio_user_server *s);

/* A listening unix socket at path (an old socket file there is removed). -errno. */
int vfio_user_server_listen(const char *path);
/* Accepts one client on listen_fd and serves it (vfio_user_server_serve). */
int vfio_user_server_serve_one(struct vfio_user_server *s, int listen_fd);
/* Serves the connected socket conn (borrowed) until the client hangs up (0), a message
 * breaks the framing (-EPROTO) or the model hangs up (-ECONNABORTED). When it returns, the
 * client's DMA maps and eventfds are gone; the model's state stays (vfio-user "Client
 * Disconnection"). */
int vfio_user_server_serve(struct vfio_user_server *s, int conn);

/* The same for a poll loop that watches other fds too: attach the connected socket conn
 * (borrowed), then call serve_message each time it is readable. It returns 0 to go on, or
 * -EPIPE (the client hung up), -EPROTO or -ECONNABORTED when the connection is over: the
 * client's DMA maps and eventfds are then gone and the server is detached (-ENOTCONN when
 * nothing is attached). A message is read whole once it has begun (a client that stalls
 * mid-message stalls the loop). */
void vfio_user_server_attach(struct vfio_user_server *s, int conn);
int vfio_user_server_serve_message(struct vfio_user_server *s);

/* The server's view of [iova, iova + len) when one DMA map covers all of it, else NULL. */
void *vfio_user_server_dma_ptr(struct vfio_user_server *s, uint64_t iova, uint64_t len);
/* Signals MSI-X vector n. -EINVAL past msix_count, -ENOENT when it has no eventfd. */
int vfio_user_server_signal(struct vfio_user_server *s, unsigned n);
/* How many DMA maps the client holds. */
unsigned vfio_user_server_dma_count(struct vfio_user_server *s);

/* For misbehaving models: the request being answered, and a way to write raw bytes. */
uint16_t vfio_user_server_msg_id(struct vfio_user_server *s);
int vfio_user_server_send_raw(struct vfio_user_server *s, const void *buf, size_t len);

#endif
