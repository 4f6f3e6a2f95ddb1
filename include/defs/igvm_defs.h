/* SPDX-License-Identifier: MIT */
/*
 * IGVM (Independent Guest Virtual Machine) file format, version 1, as published
 * in github.com/microsoft/igvm (crate igvm_defs). Little-endian throughout.
 *
 *   offset 0                      struct igvm_fixed_header
 *   variable_header_offset        variable headers: TLVs {u32 type, u32 length, body},
 *                                 each starting 8-byte aligned, zero padding between;
 *                                 length counts the body only
 *   after them                    file data, referenced by file offsets from the headers
 *                                 (offsets count from the start of the file)
 *
 * The checksum is a CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320, the common
 * zlib/crc32 one) over the fixed header and the variable headers, computed with the
 * checksum field zero.
 *
 * Headers come in three sections that must appear in this order and never go back:
 * platform (0x1..0x100), initialization (0x101..0x200), directives (0x301..0x400).
 * A type with bit 31 set may be ignored by a loader that does not know it; any other
 * unknown type makes the file unloadable.
 */
#ifndef MHCL_DEFS_IGVM_DEFS_H
#define MHCL_DEFS_IGVM_DEFS_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#define IGVM_MAGIC 0x4D564749u /* "IGVM" little-endian */
#define IGVM_FORMAT_VERSION_1 1u
#define IGVM_PAGE_SIZE 4096u
#define IGVM_PAGE_SIZE_2MB (2u * 1024 * 1024)
#define IGVM_VH_ALIGN 8u

struct igvm_fixed_header {
	uint32_t magic;			 /* IGVM_MAGIC */
	uint32_t format_version;	 /* IGVM_FORMAT_VERSION_1 */
	uint32_t variable_header_offset; /* >= sizeof(this), 8-byte aligned */
	uint32_t variable_header_size;
	uint32_t total_file_size;
	uint32_t checksum; /* CRC-32 of fixed + variable headers, this field as 0 */
};
static_assert(sizeof(struct igvm_fixed_header) == 24, "IGVM_FIXED_HEADER is 24 bytes");
static_assert(offsetof(struct igvm_fixed_header, format_version) == 4, "format_version");
static_assert(offsetof(struct igvm_fixed_header, variable_header_offset) == 8, "vh offset");
static_assert(offsetof(struct igvm_fixed_header, variable_header_size) == 12, "vh size");
static_assert(offsetof(struct igvm_fixed_header, total_file_size) == 16, "total_file_size");
static_assert(offsetof(struct igvm_fixed_header, checksum) == 20, "checksum");

/* Variable header types (IgvmVariableHeaderType). */
enum igvm_vht {
	IGVM_VHT_INVALID = 0x0,
	/* platform */
	IGVM_VHT_SUPPORTED_PLATFORM = 0x1,
	/* initialization */
	IGVM_VHT_GUEST_POLICY = 0x101,
	IGVM_VHT_RELOCATABLE_REGION = 0x102,
	IGVM_VHT_PAGE_TABLE_RELOCATION_REGION = 0x103,
	/* directives */
	IGVM_VHT_PARAMETER_AREA = 0x301,
	IGVM_VHT_PAGE_DATA = 0x302,
	IGVM_VHT_PARAMETER_INSERT = 0x303,
	IGVM_VHT_VP_CONTEXT = 0x304,
	IGVM_VHT_REQUIRED_MEMORY = 0x305,
	IGVM_VHT_RESERVED_DO_NOT_USE = 0x306,
	IGVM_VHT_VP_COUNT_PARAMETER = 0x307,
	IGVM_VHT_SRAT = 0x308,
	IGVM_VHT_MADT = 0x309,
	IGVM_VHT_MMIO_RANGES = 0x30A,
	IGVM_VHT_SNP_ID_BLOCK = 0x30B,
	IGVM_VHT_MEMORY_MAP = 0x30C,
	IGVM_VHT_ERROR_RANGE = 0x30D,
	IGVM_VHT_COMMAND_LINE = 0x30E,
	IGVM_VHT_SLIT = 0x30F,
	IGVM_VHT_PPTT = 0x310,
	IGVM_VHT_VBS_MEASUREMENT = 0x311,
	IGVM_VHT_DEVICE_TREE = 0x312,
	IGVM_VHT_ENVIRONMENT_INFO_PARAMETER = 0x313,
};
#define IGVM_VHT_IGNORABLE 0x80000000u /* loader may skip a type it does not know */
#define IGVM_VHT_RANGE_PLATFORM_FIRST 0x1u
#define IGVM_VHT_RANGE_PLATFORM_LAST 0x100u
#define IGVM_VHT_RANGE_INIT_FIRST 0x101u
#define IGVM_VHT_RANGE_INIT_LAST 0x200u
#define IGVM_VHT_RANGE_DIRECTIVE_FIRST 0x301u
#define IGVM_VHT_RANGE_DIRECTIVE_LAST 0x400u

struct igvm_vhs_variable_header {
	uint32_t type;
	uint32_t length; /* body bytes, not counting this header or padding */
};
static_assert(sizeof(struct igvm_vhs_variable_header) == 8, "IGVM_VHS_VARIABLE_HEADER");

/* IgvmPlatformType */
enum igvm_platform_type {
	IGVM_PLATFORM_NATIVE = 0x00,
	IGVM_PLATFORM_VSM_ISOLATION = 0x01,
	IGVM_PLATFORM_SEV_SNP = 0x02,
	IGVM_PLATFORM_TDX = 0x03,
};
#define IGVM_VSM_ISOLATION_PLATFORM_VERSION 1u

struct igvm_vhs_supported_platform {
	uint32_t compatibility_mask; /* exactly one bit */
	uint8_t highest_vtl;
	uint8_t platform_type; /* enum igvm_platform_type */
	uint16_t platform_version;
	uint64_t shared_gpa_boundary; /* 0: enlightened shared memory */
};
static_assert(sizeof(struct igvm_vhs_supported_platform) == 16, "IGVM_VHS_SUPPORTED_PLATFORM");
static_assert(offsetof(struct igvm_vhs_supported_platform, highest_vtl) == 4, "highest_vtl");
static_assert(offsetof(struct igvm_vhs_supported_platform, platform_type) == 5, "platform_type");
static_assert(offsetof(struct igvm_vhs_supported_platform, platform_version) == 6, "version");
static_assert(offsetof(struct igvm_vhs_supported_platform, shared_gpa_boundary) == 8, "shared");

struct igvm_vhs_guest_policy {
	uint64_t policy;
	uint32_t compatibility_mask;
	uint32_t reserved; /* zero */
};
static_assert(sizeof(struct igvm_vhs_guest_policy) == 16, "IGVM_VHS_GUEST_POLICY");

struct igvm_vhs_relocatable_region {
	uint32_t compatibility_mask;
	uint16_t vp_index;
	uint8_t vtl;
	uint8_t flags;
	uint64_t relocation_alignment;
	uint64_t relocation_region_gpa;
	uint64_t relocation_region_size;
	uint64_t minimum_relocation_gpa;
	uint64_t maximum_relocation_gpa;
};
static_assert(sizeof(struct igvm_vhs_relocatable_region) == 48, "IGVM_VHS_RELOCATABLE_REGION");

struct igvm_vhs_page_table_relocation {
	uint32_t compatibility_mask;
	uint16_t vp_index;
	uint8_t vtl;
	uint8_t reserved;
	uint64_t gpa;
	uint64_t size;
	uint64_t used_size;
};
static_assert(sizeof(struct igvm_vhs_page_table_relocation) == 32, "PAGE_TABLE_RELOCATION");

struct igvm_vhs_parameter_area {
	uint64_t number_of_bytes;      /* page aligned */
	uint32_t parameter_area_index; /* each index declared once */
	uint32_t file_offset;	       /* initial contents; 0: zeroes */
};
static_assert(sizeof(struct igvm_vhs_parameter_area) == 16, "IGVM_VHS_PARAMETER_AREA");
static_assert(offsetof(struct igvm_vhs_parameter_area, parameter_area_index) == 8, "index");
static_assert(offsetof(struct igvm_vhs_parameter_area, file_offset) == 12, "file_offset");

/* IgvmPageDataFlags */
#define IGVM_PAGE_FLAG_2MB (1u << 0)
#define IGVM_PAGE_FLAG_UNMEASURED (1u << 1)
#define IGVM_PAGE_FLAG_SHARED (1u << 2)
#define IGVM_PAGE_FLAGS_KNOWN 0x7u

/* IgvmPageDataType */
enum igvm_page_data_type {
	IGVM_PAGE_DATA_NORMAL = 0x0,
	IGVM_PAGE_DATA_SECRETS = 0x1,
	IGVM_PAGE_DATA_CPUID_DATA = 0x2,
	IGVM_PAGE_DATA_CPUID_XF = 0x3,
};

struct igvm_vhs_page_data {
	uint64_t gpa; /* page aligned (2 MiB with IGVM_PAGE_FLAG_2MB) */
	uint32_t compatibility_mask;
	uint32_t file_offset; /* from the start of the file; 0: a page of zeroes */
	uint32_t flags;
	uint16_t data_type;
	uint16_t reserved;
};
static_assert(sizeof(struct igvm_vhs_page_data) == 24, "IGVM_VHS_PAGE_DATA");
static_assert(offsetof(struct igvm_vhs_page_data, compatibility_mask) == 8, "mask");
static_assert(offsetof(struct igvm_vhs_page_data, file_offset) == 12, "file_offset");
static_assert(offsetof(struct igvm_vhs_page_data, flags) == 16, "flags");
static_assert(offsetof(struct igvm_vhs_page_data, data_type) == 20, "data_type");

struct igvm_vhs_parameter_insert {
	uint64_t gpa; /* page aligned */
	uint32_t compatibility_mask;
	uint32_t parameter_area_index; /* declared before, inserted once */
};
static_assert(sizeof(struct igvm_vhs_parameter_insert) == 16, "IGVM_VHS_PARAMETER_INSERT");

/* Body of VP_COUNT, SRAT, MADT, MMIO_RANGES, MEMORY_MAP, COMMAND_LINE, SLIT, PPTT,
 * DEVICE_TREE and ENVIRONMENT_INFO parameters: where the loader deposits the value. */
struct igvm_vhs_parameter {
	uint32_t parameter_area_index;
	uint32_t byte_offset;
};
static_assert(sizeof(struct igvm_vhs_parameter) == 8, "IGVM_VHS_PARAMETER");

/* One per file; 20 bytes, so its TLV is followed by 4 bytes of padding. */
struct igvm_vhs_vp_context {
	uint64_t gpa; /* 0 for NATIVE and VSM isolation */
	uint32_t compatibility_mask;
	uint32_t file_offset; /* VSM: struct igvm_vbs_vp_context_header + registers */
	uint16_t vp_index;
	uint16_t reserved;
} __attribute__((packed, aligned(4)));
static_assert(sizeof(struct igvm_vhs_vp_context) == 20, "IGVM_VHS_VP_CONTEXT");
static_assert(offsetof(struct igvm_vhs_vp_context, compatibility_mask) == 8, "mask");
static_assert(offsetof(struct igvm_vhs_vp_context, file_offset) == 12, "file_offset");
static_assert(offsetof(struct igvm_vhs_vp_context, vp_index) == 16, "vp_index");

struct igvm_vhs_required_memory {
	uint64_t gpa; /* page aligned */
	uint32_t compatibility_mask;
	uint32_t number_of_bytes; /* page aligned */
	uint32_t flags;		  /* IGVM_REQUIRED_MEMORY_VTL2_PROTECTABLE */
	uint32_t reserved;
};
static_assert(sizeof(struct igvm_vhs_required_memory) == 24, "IGVM_VHS_REQUIRED_MEMORY");
#define IGVM_REQUIRED_MEMORY_VTL2_PROTECTABLE (1u << 0)

struct igvm_vhs_error_range {
	uint64_t gpa;
	uint32_t compatibility_mask;
	uint32_t size_bytes;
};
static_assert(sizeof(struct igvm_vhs_error_range) == 16, "IGVM_VHS_ERROR_RANGE");

/* What the loader deposits for IGVM_VHT_MEMORY_MAP: entries sorted, the last one with
 * number_of_pages == 0. */
enum igvm_memory_map_entry_type {
	IGVM_MEMORY_MAP_MEMORY = 0x0,
	IGVM_MEMORY_MAP_PLATFORM_RESERVED = 0x1,
	IGVM_MEMORY_MAP_PERSISTENT = 0x2,
	IGVM_MEMORY_MAP_VTL2_PROTECTABLE = 0x3,
};
struct igvm_vhs_memory_map_entry {
	uint64_t starting_gpa_page_number;
	uint64_t number_of_pages;
	uint16_t entry_type;
	uint16_t flags;
	uint32_t reserved;
};
static_assert(sizeof(struct igvm_vhs_memory_map_entry) == 24, "IGVM_VHS_MEMORY_MAP_ENTRY");
static_assert(offsetof(struct igvm_vhs_memory_map_entry, entry_type) == 16, "entry_type");

/* VSM (VBS) VP context file data: a header, then register_count registers. */
struct igvm_vbs_vp_context_header {
	uint32_t register_count;
};
static_assert(sizeof(struct igvm_vbs_vp_context_header) == 4, "VbsVpContextHeader");

struct igvm_vbs_vp_context_register {
	uint8_t vtl;
	uint8_t register_name[4]; /* Hyper-V register name (TLFS), little-endian, unaligned */
	uint8_t mbz[11];
	uint8_t register_value[16]; /* HV_REGISTER_VALUE */
};
static_assert(sizeof(struct igvm_vbs_vp_context_register) == 32, "VbsVpContextRegister");
static_assert(offsetof(struct igvm_vbs_vp_context_register, register_name) == 1, "name");
static_assert(offsetof(struct igvm_vbs_vp_context_register, register_value) == 16, "value");

/* Hyper-V register names used in VP contexts (TLFS HV_REGISTER_NAME, x64). */
#define HV_X64_REGISTER_RAX 0x00020000u
#define HV_X64_REGISTER_RBX 0x00020003u
#define HV_X64_REGISTER_RSP 0x00020004u
#define HV_X64_REGISTER_RSI 0x00020006u
#define HV_X64_REGISTER_RIP 0x00020010u
#define HV_X64_REGISTER_RFLAGS 0x00020011u
#define HV_X64_REGISTER_CR0 0x00040000u
#define HV_X64_REGISTER_CR3 0x00040002u
#define HV_X64_REGISTER_CR4 0x00040003u
#define HV_X64_REGISTER_ES 0x00060000u
#define HV_X64_REGISTER_CS 0x00060001u
#define HV_X64_REGISTER_SS 0x00060002u
#define HV_X64_REGISTER_DS 0x00060003u
#define HV_X64_REGISTER_FS 0x00060004u
#define HV_X64_REGISTER_GS 0x00060005u
#define HV_X64_REGISTER_TR 0x00060007u
#define HV_X64_REGISTER_IDTR 0x00070000u
#define HV_X64_REGISTER_GDTR 0x00070001u
#define HV_X64_REGISTER_EFER 0x00080001u

/* HV_X64_SEGMENT_REGISTER and HV_X64_TABLE_REGISTER as they sit in register_value. */
struct hv_x64_segment_register {
	uint64_t base;
	uint32_t limit;
	uint16_t selector;
	uint16_t attributes;
};
static_assert(sizeof(struct hv_x64_segment_register) == 16, "HV_X64_SEGMENT_REGISTER");

struct hv_x64_table_register {
	uint16_t pad[3];
	uint16_t limit;
	uint64_t base;
};
static_assert(sizeof(struct hv_x64_table_register) == 16, "HV_X64_TABLE_REGISTER");
static_assert(offsetof(struct hv_x64_table_register, limit) == 6, "limit");

#endif
