/* SPDX-License-Identifier: MIT */
/*
 * The IGVM form of the mhcl image: what tools/mhcl-image writes and what the boot shim's
 * IGVM entry reads. Shared by both so the addresses the image names and the addresses the
 * shim looks at cannot drift apart.
 *
 * Guest-physical layout (VSM isolation, VTL2):
 *   MHCL_IGVM_INFO_GPA      one page of page data: struct mhcl_igvm_info, naming every
 *                           other area below (measured with the image)
 *   MHCL_IGVM_CMDLINE_GPA   parameter area 0 (1 page): IGVM_VHT_COMMAND_LINE at offset 0,
 *                           the host's command line, NUL-terminated
 *   MHCL_IGVM_MEMMAP_GPA    parameter area 1 (4 pages): IGVM_VHT_MEMORY_MAP at offset 0,
 *                           struct igvm_vhs_memory_map_entry[], sorted, ended by an entry
 *                           with number_of_pages == 0 or by the area's end
 *   MHCL_IGVM_DT_GPA        parameter area 2 (16 pages): IGVM_VHT_DEVICE_TREE at offset 0,
 *                           the host's device tree (boot/README.md "Host device tree"), or
 *                           zeroes when the host has none
 *   shim segments           at their ELF physical addresses (1 MiB and up)
 *   MHCL_IGVM_PAYLOAD_GPA   the payload module (pvh_defs.h: kernel, initrd, cmdline, manifest)
 *
 * VP 0 starts in VTL2 at the shim's IGVM entry (the address in the shim ELF's
 * MHCL_ELFNOTE_IGVM_ENTRY note), flat 32-bit protected mode, paging off, interrupts off,
 * EBX = MHCL_IGVM_INFO_GPA. The PVH entry (XEN_ELFNOTE_PHYS32_ENTRY) is a different symbol,
 * so the shim knows which of the two it came through without guessing from memory.
 */
#ifndef MHCL_DEFS_MHCL_IGVM_H
#define MHCL_DEFS_MHCL_IGVM_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#define MHCL_IGVM_COMPAT_MASK 0x1u
#define MHCL_IGVM_INFO_GPA 0x6000u
#define MHCL_IGVM_CMDLINE_GPA 0x10000u
#define MHCL_IGVM_CMDLINE_PAGES 1u
#define MHCL_IGVM_MEMMAP_GPA 0x11000u
#define MHCL_IGVM_MEMMAP_PAGES 4u
#define MHCL_IGVM_DT_GPA 0x20000u
#define MHCL_IGVM_DT_PAGES 16u
#define MHCL_IGVM_PAYLOAD_GPA 0x8000000u /* 128 MiB: above the kernel's window at 16 MiB */

enum mhcl_igvm_area {
	MHCL_IGVM_AREA_CMDLINE = 0,
	MHCL_IGVM_AREA_MEMMAP = 1,
	MHCL_IGVM_AREA_DT = 2,
};

/* ELF note in the shim naming its IGVM entry: name "MHCL", descriptor a 32-bit address. */
#define MHCL_ELFNOTE_NAME "MHCL"
#define MHCL_ELFNOTE_IGVM_ENTRY 1u

#define MHCL_IGVM_INFO_MAGIC 0x315647494c43484dull /* "MHCLIGV1" little-endian */
#define MHCL_IGVM_INFO_VERSION 1u

/* One { gpa, size } pair; sizes in bytes. */
struct mhcl_igvm_region {
	uint64_t gpa;
	uint64_t size;
};
static_assert(sizeof(struct mhcl_igvm_region) == 16, "mhcl_igvm_region");

struct mhcl_igvm_info {
	uint64_t magic;			 /* MHCL_IGVM_INFO_MAGIC */
	uint32_t version;		 /* MHCL_IGVM_INFO_VERSION */
	uint32_t size;			 /* sizeof(struct mhcl_igvm_info) */
	struct mhcl_igvm_region payload; /* exact payload bytes */
	struct mhcl_igvm_region cmdline; /* parameter area: whole area */
	struct mhcl_igvm_region memmap;
	struct mhcl_igvm_region dt;
};
static_assert(sizeof(struct mhcl_igvm_info) == 80, "mhcl_igvm_info is 80 bytes");
static_assert(offsetof(struct mhcl_igvm_info, payload) == 16, "payload");
static_assert(offsetof(struct mhcl_igvm_info, dt) == 64, "dt");

#endif
