/* SPDX-License-Identifier: MIT */
/*
 * The pieces of an mhcl image other than IGVM: the payload module the boot shim takes
 * (include/defs/pvh_defs.h, the same bytes boot/mkpayload.py writes) and the shim's
 * PVH ELF (its load segments and XEN_ELFNOTE_PHYS32_ENTRY). Inputs are untrusted files:
 * both parsers bound every offset by the buffer. Neither logs; errors come back as
 * -errno with a message in the caller's buffer.
 */
#ifndef MHCL_IMAGE_IMAGE_H
#define MHCL_IMAGE_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "defs/pvh_defs.h"

struct blob {
	const uint8_t *data; /* borrowed */
	size_t size;
};

/* Writes the payload: kernel and initrd are required, cmdline and manifest may be empty.
 * On success *ret_buf (malloc'd; the caller frees) and *ret_len. */
int payload_build(struct blob kernel, struct blob initrd, struct blob cmdline, struct blob manifest,
		  uint8_t **ret_buf, size_t *ret_len);

/* Validates a payload as the shim does (magic, version, header size, items inside
 * total_size <= len, kernel and initrd present and 4 KiB aligned, no overlaps).
 * Returns 0 and *ret_hdr, or -EBADMSG with err filled. */
int payload_parse(const uint8_t *buf, size_t len, struct mhcl_payload_header *ret_hdr, char *err,
		  size_t errlen);

#define PVH_ELF_MAX_SEGMENTS 16

struct pvh_elf {
	uint32_t entry; /* 32-bit PVH entry point (physical) */
	unsigned nseg;
	struct {
		uint64_t paddr, offset, filesz, memsz;
	} seg[PVH_ELF_MAX_SEGMENTS];
};

/* Reads an ELF64 x86-64 image's PT_LOAD segments and its PVH entry note. Returns 0 and
 * *ret, or -EBADMSG / -ENOENT (no PVH note) with err filled. */
int pvh_elf_parse(const uint8_t *buf, size_t len, struct pvh_elf *ret, char *err, size_t errlen);

/*
 * Guest-physical layout of the IGVM form (VSM isolation, VTL2). The loader places:
 *   MHCL_IGVM_START_INFO_GPA   one page: struct hvm_start_info (v1) + one module entry
 *                              naming the payload, so the shim's PVH entry finds it
 *   MHCL_IGVM_CMDLINE_GPA      parameter area 0 (1 page): IGVM_VHT_COMMAND_LINE, the
 *                              host's command line; hvm_start_info.cmdline_paddr points here
 *   MHCL_IGVM_MEMMAP_GPA       parameter area 1 (4 pages): IGVM_VHT_MEMORY_MAP
 *                              (struct igvm_vhs_memory_map_entry[])
 *   MHCL_IGVM_DT_GPA           parameter area 2 (16 pages): IGVM_VHT_DEVICE_TREE, the
 *                              host's device tree
 *   shim segments              at their ELF physical addresses (1 MiB and up)
 *   MHCL_IGVM_PAYLOAD_GPA      the payload module (kernel, initrd, cmdline, manifest)
 * and starts VP 0 in VTL2 at the shim's 32-bit PVH entry, as a PVH loader would: flat
 * 32-bit code and data segments, CR0.PE, paging off, EBX = start info.
 */
#define MHCL_IGVM_COMPAT_MASK 0x1u
#define MHCL_IGVM_START_INFO_GPA 0x6000u
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

/* Composes the IGVM form from the shim ELF and a payload (both borrowed). Returns 0 and
 * *ret_buf (malloc'd) / *ret_len, or -errno with err filled. */
int image_compose_igvm(struct blob shim_elf, struct blob payload, uint8_t **ret_buf,
		       size_t *ret_len, char *err, size_t errlen);

#endif
