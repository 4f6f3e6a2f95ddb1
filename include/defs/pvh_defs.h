/* SPDX-License-Identifier: MIT */
/*
 * PVH direct boot (x86/HVM start of day, xen/include/public/arch-x86/hvm/start_info.h)
 * and the mhcl payload module the boot shim receives through it.
 *
 * A PVH loader (QEMU -kernel on an ELF with XEN_ELFNOTE_PHYS32_ENTRY) enters
 * the image in 32-bit protected mode, paging off, with EBX pointing at
 * struct hvm_start_info. All fields are little-endian physical addresses.
 *
 * QEMU (7.2) passes -initrd as the one and only module, so the shim takes a
 * single module holding everything it boots: the mhcl payload, laid out as
 *
 *   struct mhcl_payload_header       (offset 0, header_size bytes)
 *   item[MHCL_PAYLOAD_KERNEL]        Linux bzImage, 4 KiB aligned
 *   item[MHCL_PAYLOAD_INITRD]        initramfs (cpio, maybe compressed), 4 KiB aligned,
 *                                    handed to Linux in place
 *   item[MHCL_PAYLOAD_CMDLINE]       optional: NUL-free text appended to the command line
 *   item[MHCL_PAYLOAD_MANIFEST]      optional: manifest DTB for init; its location is
 *                                    published in the shim's device tree
 *
 * Unused items have offset == size == 0. Every item lies inside total_size,
 * and total_size fits the module. tools/mhcl-image (or boot/mkpayload.py)
 * writes it.
 */
#ifndef MHCL_DEFS_PVH_DEFS_H
#define MHCL_DEFS_PVH_DEFS_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#define XEN_ELFNOTE_PHYS32_ENTRY 18u
#define HVM_START_MAGIC 0x336ec578u

/* hvm_memmap_table_entry.type: same numbering as e820. */
#define HVM_MEMMAP_RAM 1u
#define HVM_MEMMAP_RESERVED 2u
#define HVM_MEMMAP_ACPI 3u
#define HVM_MEMMAP_NVS 4u
#define HVM_MEMMAP_UNUSABLE 5u

struct hvm_start_info {
	uint32_t magic;	  /* HVM_START_MAGIC */
	uint32_t version; /* 0: no memmap fields; 1: memmap_* valid */
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr; /* struct hvm_modlist_entry[nr_modules] */
	uint64_t cmdline_paddr; /* NUL-terminated, 0 if none */
	uint64_t rsdp_paddr;	/* ACPI RSDP, 0 if none */
	uint64_t memmap_paddr;	/* version >= 1: struct hvm_memmap_table_entry[] */
	uint32_t memmap_entries;
	uint32_t reserved;
};
static_assert(sizeof(struct hvm_start_info) == 56, "hvm_start_info v1 is 56 bytes");
static_assert(offsetof(struct hvm_start_info, modlist_paddr) == 16, "modlist_paddr");
static_assert(offsetof(struct hvm_start_info, rsdp_paddr) == 32, "rsdp_paddr");
static_assert(offsetof(struct hvm_start_info, memmap_entries) == 48, "memmap_entries");

struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};
static_assert(sizeof(struct hvm_modlist_entry) == 32, "hvm_modlist_entry is 32 bytes");

struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};
static_assert(sizeof(struct hvm_memmap_table_entry) == 24, "hvm_memmap_table_entry is 24 bytes");

/* ---- mhcl payload module ---- */

#define MHCL_PAYLOAD_MAGIC 0x315941504c43484dull /* "MHCLPAY1" little-endian */
#define MHCL_PAYLOAD_VERSION 1u
#define MHCL_PAYLOAD_ALIGN 4096u

enum mhcl_payload_item_kind {
	MHCL_PAYLOAD_KERNEL = 0,
	MHCL_PAYLOAD_INITRD = 1,
	MHCL_PAYLOAD_CMDLINE = 2,
	MHCL_PAYLOAD_MANIFEST = 3,
	MHCL_PAYLOAD_ITEM_MAX = 4,
};

struct mhcl_payload_item {
	uint64_t offset; /* from the start of the module */
	uint64_t size;
};

struct mhcl_payload_header {
	uint64_t magic;	      /* MHCL_PAYLOAD_MAGIC */
	uint32_t version;     /* MHCL_PAYLOAD_VERSION */
	uint32_t header_size; /* sizeof(struct mhcl_payload_header) */
	uint64_t total_size;  /* bytes of the whole payload, <= module size */
	struct mhcl_payload_item item[MHCL_PAYLOAD_ITEM_MAX];
	uint8_t reserved[40];
};
static_assert(sizeof(struct mhcl_payload_header) == 128, "payload header is 128 bytes");
static_assert(offsetof(struct mhcl_payload_header, item) == 24, "payload items at 24");

#endif
