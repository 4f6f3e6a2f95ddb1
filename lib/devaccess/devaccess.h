/* SPDX-License-Identifier: MIT */
/*
 * Device access for userspace drivers (DESIGN.md "Device access"): register access through
 * a BAR, DMA mappings of process memory at IOVAs the driver picks, MSI-X vectors as
 * eventfds, bus mastering, the IOVA ranges the IOMMU accepts and the PCI identity.
 *
 * One struct devaccess per PCI function. Transports implement struct devaccess_ops:
 *   vfio.c      Linux VFIO (container/group API, type1v2 IOMMU): production
 *   vfio_user.c vfio-user to an emulator process, for devices QEMU has no model of
 * and tests may plug in their own (a register model in memory).
 *
 * Keepalive: a driver that restarts must not let the function be reset. Linux vfio-pci
 * resets it when the last fd of the device closes, so the fds the transport names with
 * devaccess_kept_fds() are handed to init's fd store (dup'ed), and the next instance adopts
 * them (devaccess_vfio_adopt) instead of opening the device again. Adoption touches no
 * device state: no reset, no change to the DMA mappings the container holds.
 *
 * Register reads from a device that stopped answering (or a failed transport call) give
 * all ones, as a PCI read that nobody claims does; drivers check for that value.
 * Not thread-safe for set-up calls; register reads and writes may come from any thread.
 */
#ifndef MHCL_LIB_DEVACCESS_H
#define MHCL_LIB_DEVACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DEVACCESS_NBARS 6u
#define DEVACCESS_MAX_IOVA_RANGES 16u
#define DEVACCESS_MAX_KEPT_FDS 4u

struct devaccess_pci_id {
	uint16_t vendor;
	uint16_t device;
	uint16_t subsys_vendor;
	uint16_t subsys_device;
	uint32_t class_code; /* base << 16 | sub << 8 | prog-if (NVMe: 0x010802) */
	uint8_t revision;
};

/* [start, last]: both inclusive, so the top of a 64-bit space fits. */
struct devaccess_iova_range {
	uint64_t start;
	uint64_t last;
};

struct devaccess;

struct devaccess_ops {
	const char *kind; /* "vfio", "vfio-user", "test" */
	/* Slow-path register access when a BAR is not mapped: len 1, 2, 4 or 8. */
	int (*bar_read)(struct devaccess *d, unsigned bar, uint64_t off, void *buf, size_t len);
	int (*bar_write)(struct devaccess *d, unsigned bar, uint64_t off, const void *buf,
			 size_t len);
	int (*config_read)(struct devaccess *d, uint32_t off, void *buf, size_t len);
	int (*config_write)(struct devaccess *d, uint32_t off, const void *buf, size_t len);
	/* -EEXIST when [iova, iova + len) overlaps a mapping the transport already holds. */
	int (*dma_map)(struct devaccess *d, void *va, uint64_t iova, uint64_t len);
	/* Optional: the same memory named by an fd as well (vfio-user shares it that way).
	 * NULL: devaccess_dma_map_fd() falls back to dma_map with va. */
	int (*dma_map_fd)(struct devaccess *d, int fd, uint64_t fd_offset, void *va, uint64_t iova,
			  uint64_t len);
	int (*dma_unmap)(struct devaccess *d, uint64_t iova, uint64_t len);
	/* Vectors 0..n-1 signal fds[i] (-1: that vector signals nothing); n = 0 disables. */
	int (*irq_set)(struct devaccess *d, const int *fds, unsigned n);
	int (*iova_ranges)(struct devaccess *d, struct devaccess_iova_range *r, unsigned max,
			   unsigned *ret_n);
	/* The fds that keep the function alive, in the order the adopt call takes them. */
	unsigned (*kept_fds)(struct devaccess *d, int *fds, unsigned max);
	void (*destroy)(struct devaccess *d);
};

struct devaccess_bar {
	volatile uint8_t *map; /* NULL: reach it through ops->bar_read/bar_write */
	uint64_t size;	       /* 0: no such BAR */
};

/* Every transport embeds this first. */
struct devaccess {
	const struct devaccess_ops *ops;
	struct devaccess_pci_id id;
	struct devaccess_bar bars[DEVACCESS_NBARS];
	unsigned irq_count; /* MSI-X vectors the function has */
	bool adopted;	    /* built from kept fds, not opened */
};

/* Opens the function at a PCI address ("0000:00:04.0") through VFIO: finds its IOMMU group
 * in sysfs, sets up a type1v2 container. Every fd is close-on-exec. -ENOENT when the
 * function or its group is absent, -EBUSY when the group is not viable (another function
 * of it is bound to a host driver), -ENOTSUP without type1v2. */
int devaccess_vfio_open(const char *pci_addr, struct devaccess **ret);

/* Builds access from fds a previous instance kept (devaccess_kept_fds order: container,
 * group, device), without resetting the function or touching its DMA mappings. Takes
 * ownership of the three fds on success only. -EBADF/-EINVAL when they are not a VFIO
 * container with an IOMMU set, a group attached to it and a PCI device of that group. */
int devaccess_vfio_adopt(int container_fd, int group_fd, int device_fd, struct devaccess **ret);
#define DEVACCESS_VFIO_NFDS 3u

/* Connects to a vfio-user emulator listening on a unix socket and sets up access as
 * devaccess_vfio_user_attach() does. The socket is close-on-exec. */
int devaccess_vfio_user_open(const char *socket_path, struct devaccess **ret);

/* Sets up vfio-user access over an already connected SOCK_STREAM unix socket (one handed
 * to a jailed server, or the kept fd of a previous instance): negotiates the version,
 * reads the regions (mmaps BARs the emulator offers an fd for), the MSI-X count and the
 * PCI identity. Takes ownership of connected_fd on success only. The emulator is
 * untrusted: -EPROTO for a reply that breaks the protocol, -EPIPE when it hangs up,
 * -ETIMEDOUT when it does not answer in time (5 s per request by default), -ENODEV for a
 * device that is not PCI. The kept fd is the socket. On this transport
 * devaccess_dma_map() gives -ENOTSUP: map memory with devaccess_dma_map_fd(). */
int devaccess_vfio_user_attach(int connected_fd, struct devaccess **ret);

/* Sets the per-request deadline of a vfio-user access (tests shorten it). -EINVAL for
 * another transport or 0 ms. */
int devaccess_vfio_user_set_timeout(struct devaccess *d, unsigned timeout_ms);

/* Closes the transport's fds. Without copies kept elsewhere this may reset the function
 * (VFIO does when the last device fd closes). Accepts NULL. */
void devaccess_close(struct devaccess *d);

/* Borrowed fds the caller must keep (dup) so that the function survives this process,
 * in adopt order; returns how many (at most max). */
unsigned devaccess_kept_fds(struct devaccess *d, int *fds, unsigned max);

/* Register access. Reads give all ones when the transport fails. 64-bit accesses are
 * two 32-bit ones, low half first: not every device takes 8-byte MMIO. */
uint32_t devaccess_read32(struct devaccess *d, unsigned bar, uint64_t off);
void devaccess_write32(struct devaccess *d, unsigned bar, uint64_t off, uint32_t val);
uint64_t devaccess_read64(struct devaccess *d, unsigned bar, uint64_t off);
void devaccess_write64(struct devaccess *d, unsigned bar, uint64_t off, uint64_t val);

/* Maps [va, va + len) for device reads and writes at iova (page aligned, inside
 * devaccess_iova_ranges). Borrows the memory: it must stay mapped until unmapped or until
 * the transport's kept fds all close. -EEXIST: something is already mapped there. */
int devaccess_dma_map(struct devaccess *d, void *va, uint64_t iova, uint64_t len);
int devaccess_dma_unmap(struct devaccess *d, uint64_t iova, uint64_t len);

/* Like devaccess_dma_map(), for memory that is also [fd_offset, fd_offset + len) of fd
 * (a memfd): transports whose device runs in another process (vfio-user) share the fd,
 * which they borrow (the peer holds its own reference); VFIO ignores it and maps va.
 * fd_offset page aligned. */
int devaccess_dma_map_fd(struct devaccess *d, int fd, uint64_t fd_offset, void *va, uint64_t iova,
			 uint64_t len);

/* Routes MSI-X vectors 0..n-1 to eventfds (borrowed: the transport holds its own
 * reference). n <= irq_count. Calling again replaces the eventfds, also on an adopted
 * function whose vectors a previous instance set. */
int devaccess_irq_set(struct devaccess *d, const int *fds, unsigned n);

/* Enables or disables bus mastering (and memory decoding) in the command register. */
int devaccess_bus_master(struct devaccess *d, bool on);

/* The IOVA ranges DMA mappings may use, sorted; a transport that reports none gives one
 * range covering the whole 64-bit space. */
int devaccess_iova_ranges(struct devaccess *d, struct devaccess_iova_range *r, unsigned max,
			  unsigned *ret_n);
/* True if [iova, iova + len) lies inside one of those ranges. */
bool devaccess_iova_allowed(struct devaccess *d, uint64_t iova, uint64_t len);

/* Reads the identity from config space into d->id; the constructors call it. */
int devaccess__read_pci_id(struct devaccess *d);

#endif
