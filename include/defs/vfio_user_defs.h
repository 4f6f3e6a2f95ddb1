/* SPDX-License-Identifier: MIT */
/*
 * vfio-user wire layouts (QEMU docs/interop/vfio-user.rst, protocol 0.1): the 16-byte
 * message header and the payloads of the commands lib/devaccess/vfio_user.c sends and
 * tests/helpers/vfio_user_server.c answers. Host byte order on both ends (AF_UNIX only).
 *
 * Every message is header + payload; the header's size counts both. Flag and index values
 * are the ones <linux/vfio.h> uses, spelled with a VFIO_USER_ prefix so this header stands
 * alone. Header-only: layouts and static_asserts, no code.
 */
#ifndef MHCL_DEFS_VFIO_USER_DEFS_H
#define MHCL_DEFS_VFIO_USER_DEFS_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#define VFIO_USER_MAJOR 0u
#define VFIO_USER_MINOR 1u

/* Commands ("Commands" table of the spec). */
enum vfio_user_command {
	VFIO_USER_VERSION = 1,
	VFIO_USER_DMA_MAP = 2,
	VFIO_USER_DMA_UNMAP = 3,
	VFIO_USER_DEVICE_GET_INFO = 4,
	VFIO_USER_DEVICE_GET_REGION_INFO = 5,
	VFIO_USER_DEVICE_GET_REGION_IO_FDS = 6,
	VFIO_USER_DEVICE_GET_IRQ_INFO = 7,
	VFIO_USER_DEVICE_SET_IRQS = 8,
	VFIO_USER_REGION_READ = 9,
	VFIO_USER_REGION_WRITE = 10,
	VFIO_USER_DMA_READ = 11,
	VFIO_USER_DMA_WRITE = 12,
	VFIO_USER_DEVICE_RESET = 13,
	VFIO_USER_COMMAND_MAX,
};

/* Header flags: bits 0-3 the type, then no-reply and error. */
#define VFIO_USER_F_TYPE_MASK 0xfu
#define VFIO_USER_F_TYPE_COMMAND 0x0u
#define VFIO_USER_F_TYPE_REPLY 0x1u
#define VFIO_USER_F_NO_REPLY (1u << 4)
#define VFIO_USER_F_ERROR (1u << 5)

struct vfio_user_hdr {
	uint16_t msg_id; /* the sender's; echoed in the reply */
	uint16_t command;
	uint32_t size; /* header + payload */
	uint32_t flags;
	uint32_t error; /* errno in an error reply (may be 0); reserved in a command */
};
static_assert(sizeof(struct vfio_user_hdr) == 16, "vfio-user header");
static_assert(offsetof(struct vfio_user_hdr, command) == 2, "command");
static_assert(offsetof(struct vfio_user_hdr, size) == 4, "size");
static_assert(offsetof(struct vfio_user_hdr, flags) == 8, "flags");
static_assert(offsetof(struct vfio_user_hdr, error) == 12, "error");

/* VFIO_USER_VERSION, request and reply: followed by optional NUL-terminated JSON
 * {"capabilities": {"max_msg_fds": N, "max_data_xfer_size": N, ...}}. */
struct vfio_user_version {
	uint16_t major;
	uint16_t minor;
};
static_assert(sizeof(struct vfio_user_version) == 4, "version");
/* Capability defaults when the peer leaves them out. */
#define VFIO_USER_DEFAULT_MAX_MSG_FDS 1u
#define VFIO_USER_DEFAULT_MAX_DATA_XFER (1u << 20)

/* VFIO_USER_DMA_MAP request (no reply payload); the fd to mmap rides as SCM_RIGHTS. */
#define VFIO_USER_DMA_READABLE (1u << 0)
#define VFIO_USER_DMA_WRITEABLE (1u << 1)
struct vfio_user_dma_map {
	uint32_t argsz; /* sizeof(struct vfio_user_dma_map) */
	uint32_t flags;
	uint64_t offset; /* into the fd */
	uint64_t addr;	 /* the IOVA the device uses */
	uint64_t size;
};
static_assert(sizeof(struct vfio_user_dma_map) == 32, "dma_map");
static_assert(offsetof(struct vfio_user_dma_map, offset) == 8, "dma_map offset");
static_assert(offsetof(struct vfio_user_dma_map, addr) == 16, "dma_map addr");
static_assert(offsetof(struct vfio_user_dma_map, size) == 24, "dma_map size");

/* VFIO_USER_DMA_UNMAP request; the reply echoes it (or carries nothing). The range must
 * match one mapping exactly. */
struct vfio_user_dma_unmap {
	uint32_t argsz;
	uint32_t flags; /* 0 */
	uint64_t addr;
	uint64_t size;
};
static_assert(sizeof(struct vfio_user_dma_unmap) == 24, "dma_unmap");
static_assert(offsetof(struct vfio_user_dma_unmap, addr) == 8, "dma_unmap addr");
static_assert(offsetof(struct vfio_user_dma_unmap, size) == 16, "dma_unmap size");

/* VFIO_USER_DEVICE_GET_INFO, request (argsz only) and reply. */
#define VFIO_USER_DEVICE_FLAGS_RESET (1u << 0)
#define VFIO_USER_DEVICE_FLAGS_PCI (1u << 1)
struct vfio_user_device_info {
	uint32_t argsz;
	uint32_t flags;
	uint32_t num_regions;
	uint32_t num_irqs;
};
static_assert(sizeof(struct vfio_user_device_info) == 16, "device_info");
static_assert(offsetof(struct vfio_user_device_info, num_irqs) == 12, "num_irqs");

/* PCI region indexes (VFIO_PCI_*_REGION_INDEX). */
#define VFIO_USER_PCI_BAR0_REGION 0u
#define VFIO_USER_PCI_ROM_REGION 6u
#define VFIO_USER_PCI_CONFIG_REGION 7u
#define VFIO_USER_PCI_NUM_REGIONS 9u

/* VFIO_USER_DEVICE_GET_REGION_INFO, request (argsz, index) and reply. An MMAP region's
 * reply carries one fd to mmap at offset. Capabilities (sparse mmap) follow at cap_offset
 * when argsz allowed them. */
#define VFIO_USER_REGION_READ_OK (1u << 0)
#define VFIO_USER_REGION_WRITE_OK (1u << 1)
#define VFIO_USER_REGION_MMAP (1u << 2)
#define VFIO_USER_REGION_CAPS (1u << 3)
struct vfio_user_region_info {
	uint32_t argsz;
	uint32_t flags;
	uint32_t index;
	uint32_t cap_offset;
	uint64_t size;
	uint64_t offset;
};
static_assert(sizeof(struct vfio_user_region_info) == 32, "region_info");
static_assert(offsetof(struct vfio_user_region_info, index) == 8, "region index");
static_assert(offsetof(struct vfio_user_region_info, size) == 16, "region size");
static_assert(offsetof(struct vfio_user_region_info, offset) == 24, "region offset");

/* Interrupt indexes (VFIO_PCI_*_IRQ_INDEX). */
#define VFIO_USER_PCI_INTX_IRQ 0u
#define VFIO_USER_PCI_MSI_IRQ 1u
#define VFIO_USER_PCI_MSIX_IRQ 2u
/* MSI-X tables hold at most 2048 entries (PCI Local Bus 3.0, 6.8.2.3). */
#define VFIO_USER_MSIX_MAX 2048u

/* VFIO_USER_DEVICE_GET_IRQ_INFO, request (argsz, index) and reply. */
#define VFIO_USER_IRQ_INFO_EVENTFD (1u << 0)
struct vfio_user_irq_info {
	uint32_t argsz;
	uint32_t flags;
	uint32_t index;
	uint32_t count;
};
static_assert(sizeof(struct vfio_user_irq_info) == 16, "irq_info");
static_assert(offsetof(struct vfio_user_irq_info, count) == 12, "irq count");

/* VFIO_USER_DEVICE_SET_IRQS request (no reply payload). With DATA_EVENTFD the message
 * carries count eventfds as SCM_RIGHTS, or none to unassign [start, start + count);
 * DATA_NONE | ACTION_TRIGGER with start = count = 0 disables the whole index. */
#define VFIO_USER_IRQ_SET_DATA_NONE (1u << 0)
#define VFIO_USER_IRQ_SET_DATA_BOOL (1u << 1)
#define VFIO_USER_IRQ_SET_DATA_EVENTFD (1u << 2)
#define VFIO_USER_IRQ_SET_ACTION_MASK (1u << 3)
#define VFIO_USER_IRQ_SET_ACTION_UNMASK (1u << 4)
#define VFIO_USER_IRQ_SET_ACTION_TRIGGER (1u << 5)
struct vfio_user_irq_set {
	uint32_t argsz; /* this struct plus any data */
	uint32_t flags;
	uint32_t index;
	uint32_t start;
	uint32_t count;
};
static_assert(sizeof(struct vfio_user_irq_set) == 20, "irq_set");
static_assert(offsetof(struct vfio_user_irq_set, start) == 12, "irq start");
static_assert(offsetof(struct vfio_user_irq_set, count) == 16, "irq count");

/* VFIO_USER_REGION_READ / REGION_WRITE. A read request is this alone and its reply adds
 * count bytes of data; a write request adds the data and its reply is this alone. */
struct vfio_user_region_rw {
	uint64_t offset;
	uint32_t region;
	uint32_t count;
};
static_assert(sizeof(struct vfio_user_region_rw) == 16, "region_rw");
static_assert(offsetof(struct vfio_user_region_rw, region) == 8, "rw region");
static_assert(offsetof(struct vfio_user_region_rw, count) == 12, "rw count");

#endif
