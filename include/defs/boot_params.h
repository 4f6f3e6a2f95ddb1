/* SPDX-License-Identifier: MIT */
/*
 * Linux x86 boot protocol: the zero page (struct boot_params), its embedded
 * setup header, e820 entries and setup_data. Layout per Linux
 * arch/x86/include/uapi/asm/bootparam.h and Documentation/x86/boot.rst
 * (protocol 2.15, Linux 6.1). Only the fields mhcl reads or writes are named;
 * everything else is spelled out as padding so every offset is checked below.
 * Header-only; usable hosted and freestanding.
 */
#ifndef MHCL_DEFS_BOOT_PARAMS_H
#define MHCL_DEFS_BOOT_PARAMS_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#define BP_HDRS_MAGIC 0x53726448u        /* "HdrS" at 0x202 */
#define BP_BOOT_FLAG 0xaa55u             /* at 0x1fe */
#define BP_SETUP_HEADER_OFFSET 0x1f1u
#define BP_KERNEL64_ENTRY_OFFSET 0x200u  /* 64-bit entry = load address + 0x200 */
#define BP_LOADER_TYPE_UNDEFINED 0xffu

/* setup_header.loadflags */
#define BP_LOADED_HIGH (1u << 0)
#define BP_KEEP_SEGMENTS (1u << 6)
#define BP_CAN_USE_HEAP (1u << 7)

/* setup_header.xloadflags */
#define BP_XLF_KERNEL_64 (1u << 0)
#define BP_XLF_CAN_BE_LOADED_ABOVE_4G (1u << 1)

/* setup_data.type */
#define BP_SETUP_NONE 0u
#define BP_SETUP_E820_EXT 1u
#define BP_SETUP_DTB 2u

/* e820 entry types */
#define BP_E820_RAM 1u
#define BP_E820_RESERVED 2u
#define BP_E820_ACPI 3u
#define BP_E820_NVS 4u
#define BP_E820_UNUSABLE 5u

#define BP_E820_MAX_ENTRIES 128u

struct bp_e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
} __attribute__((packed));
static_assert(sizeof(struct bp_e820_entry) == 20, "e820 entry is 20 bytes");

/* Linked list of extra boot data; physical addresses, terminated by next == 0. */
struct bp_setup_data {
	uint64_t next;
	uint32_t type;
	uint32_t len;
	uint8_t data[];
};
static_assert(sizeof(struct bp_setup_data) == 16, "setup_data header is 16 bytes");

struct bp_setup_header {
	uint8_t setup_sects;
	uint16_t root_flags;
	uint32_t syssize;
	uint16_t ram_size;
	uint16_t vid_mode;
	uint16_t root_dev;
	uint16_t boot_flag;
	uint16_t jump;
	uint32_t header;
	uint16_t version;
	uint32_t realmode_swtch;
	uint16_t start_sys_seg;
	uint16_t kernel_version;
	uint8_t type_of_loader;
	uint8_t loadflags;
	uint16_t setup_move_size;
	uint32_t code32_start;
	uint32_t ramdisk_image;
	uint32_t ramdisk_size;
	uint32_t bootsect_kludge;
	uint16_t heap_end_ptr;
	uint8_t ext_loader_ver;
	uint8_t ext_loader_type;
	uint32_t cmd_line_ptr;
	uint32_t initrd_addr_max;
	uint32_t kernel_alignment;
	uint8_t relocatable_kernel;
	uint8_t min_alignment;
	uint16_t xloadflags;
	uint32_t cmdline_size;
	uint32_t hardware_subarch;
	uint64_t hardware_subarch_data;
	uint32_t payload_offset;
	uint32_t payload_length;
	uint64_t setup_data;
	uint64_t pref_address;
	uint32_t init_size;
	uint32_t handover_offset;
	uint32_t kernel_info_offset;
} __attribute__((packed));
static_assert(sizeof(struct bp_setup_header) == 0x7b, "setup header spans 0x1f1..0x26c");

struct boot_params {
	uint8_t screen_info[0x40];              /* 0x000 */
	uint8_t apm_bios_info[0x14];            /* 0x040 */
	uint8_t pad2[4];                        /* 0x054 */
	uint64_t tboot_addr;                    /* 0x058 */
	uint8_t ist_info[0x10];                 /* 0x060 */
	uint64_t acpi_rsdp_addr;                /* 0x070 (protocol 2.14) */
	uint8_t pad3[8];                        /* 0x078 */
	uint8_t hd0_info[16];                   /* 0x080 */
	uint8_t hd1_info[16];                   /* 0x090 */
	uint8_t sys_desc_table[0x10];           /* 0x0a0 */
	uint8_t olpc_ofw_header[0x10];          /* 0x0b0 */
	uint32_t ext_ramdisk_image;             /* 0x0c0 */
	uint32_t ext_ramdisk_size;              /* 0x0c4 */
	uint32_t ext_cmd_line_ptr;              /* 0x0c8 */
	uint8_t pad4[112];                      /* 0x0cc */
	uint32_t cc_blob_address;               /* 0x13c */
	uint8_t edid_info[0x80];                /* 0x140 */
	uint8_t efi_info[0x20];                 /* 0x1c0 */
	uint32_t alt_mem_k;                     /* 0x1e0 */
	uint32_t scratch;                       /* 0x1e4 */
	uint8_t e820_entries;                   /* 0x1e8 */
	uint8_t eddbuf_entries;                 /* 0x1e9 */
	uint8_t edd_mbr_sig_buf_entries;        /* 0x1ea */
	uint8_t kbd_status;                     /* 0x1eb */
	uint8_t secure_boot;                    /* 0x1ec */
	uint8_t pad5[2];                        /* 0x1ed */
	uint8_t sentinel;                       /* 0x1ef */
	uint8_t pad6[1];                        /* 0x1f0 */
	struct bp_setup_header hdr;             /* 0x1f1 */
	uint8_t pad7[0x290 - 0x1f1 - sizeof(struct bp_setup_header)];
	uint32_t edd_mbr_sig_buffer[16];        /* 0x290 */
	struct bp_e820_entry e820_table[BP_E820_MAX_ENTRIES]; /* 0x2d0 */
	uint8_t pad8[48];                       /* 0xcd0 */
	uint8_t eddbuf[6 * 82];                 /* 0xd00 */
	uint8_t pad9[276];                      /* 0xeec */
} __attribute__((packed));

static_assert(sizeof(struct boot_params) == 4096, "the zero page is one page");
static_assert(offsetof(struct boot_params, acpi_rsdp_addr) == 0x070, "acpi_rsdp_addr");
static_assert(offsetof(struct boot_params, ext_ramdisk_image) == 0x0c0, "ext_ramdisk_image");
static_assert(offsetof(struct boot_params, ext_cmd_line_ptr) == 0x0c8, "ext_cmd_line_ptr");
static_assert(offsetof(struct boot_params, cc_blob_address) == 0x13c, "cc_blob_address");
static_assert(offsetof(struct boot_params, e820_entries) == 0x1e8, "e820_entries");
static_assert(offsetof(struct boot_params, sentinel) == 0x1ef, "sentinel");
static_assert(offsetof(struct boot_params, hdr) == 0x1f1, "hdr");
static_assert(offsetof(struct boot_params, hdr.boot_flag) == 0x1fe, "boot_flag");
static_assert(offsetof(struct boot_params, hdr.header) == 0x202, "header magic");
static_assert(offsetof(struct boot_params, hdr.version) == 0x206, "version");
static_assert(offsetof(struct boot_params, hdr.type_of_loader) == 0x210, "type_of_loader");
static_assert(offsetof(struct boot_params, hdr.loadflags) == 0x211, "loadflags");
static_assert(offsetof(struct boot_params, hdr.ramdisk_image) == 0x218, "ramdisk_image");
static_assert(offsetof(struct boot_params, hdr.cmd_line_ptr) == 0x228, "cmd_line_ptr");
static_assert(offsetof(struct boot_params, hdr.initrd_addr_max) == 0x22c, "initrd_addr_max");
static_assert(offsetof(struct boot_params, hdr.kernel_alignment) == 0x230, "kernel_alignment");
static_assert(offsetof(struct boot_params, hdr.xloadflags) == 0x236, "xloadflags");
static_assert(offsetof(struct boot_params, hdr.cmdline_size) == 0x238, "cmdline_size");
static_assert(offsetof(struct boot_params, hdr.setup_data) == 0x250, "setup_data");
static_assert(offsetof(struct boot_params, hdr.pref_address) == 0x258, "pref_address");
static_assert(offsetof(struct boot_params, hdr.init_size) == 0x260, "init_size");
static_assert(offsetof(struct boot_params, edd_mbr_sig_buffer) == 0x290, "edd_mbr_sig_buffer");
static_assert(offsetof(struct boot_params, e820_table) == 0x2d0, "e820_table");
static_assert(offsetof(struct boot_params, eddbuf) == 0xd00, "eddbuf");

#endif
