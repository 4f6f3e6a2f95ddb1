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

#include "defs/mhcl_igvm.h"
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
	uint32_t entry;	     /* 32-bit PVH entry point (physical) */
	uint32_t igvm_entry; /* 32-bit IGVM entry (MHCL_ELFNOTE_IGVM_ENTRY), 0: none */
	unsigned nseg;
	struct {
		uint64_t paddr, offset, filesz, memsz;
	} seg[PVH_ELF_MAX_SEGMENTS];
};

/* Reads an ELF64 x86-64 image's PT_LOAD segments, its PVH entry note and (optional) its
 * mhcl IGVM entry note. Returns 0 and *ret, or -EBADMSG / -ENOENT (no PVH note) with err
 * filled. */
int pvh_elf_parse(const uint8_t *buf, size_t len, struct pvh_elf *ret, char *err, size_t errlen);

/* Guest-physical layout of the IGVM form and the shim's IGVM entry: defs/mhcl_igvm.h. */

/* Composes the IGVM form from the shim ELF and a payload (both borrowed). Returns 0 and
 * *ret_buf (malloc'd) / *ret_len, or -errno with err filled. */
int image_compose_igvm(struct blob shim_elf, struct blob payload, uint8_t **ret_buf,
		       size_t *ret_len, char *err, size_t errlen);

#endif
