/* SPDX-License-Identifier: MIT */
/*
 * IGVM writer and reader (format: include/defs/igvm_defs.h).
 *
 * The writer collects variable headers and their file data, then lays the file out
 * in one go: fixed header, variable headers (8-byte aligned TLVs), file data. File
 * offsets in headers are patched when the layout is known. The reader validates a
 * whole file (sizes, checksum, section order, alignment, compatibility masks,
 * parameter areas, page uniqueness, file-data bounds) before it reports anything,
 * then walks the headers for a caller. Neither logs: errors come back as -errno with
 * a message in the caller's buffer.
 */
#ifndef MHCL_IGVM_H
#define MHCL_IGVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "defs/igvm_defs.h"

/* Limits the reader enforces (and the writer respects). */
#define IGVM_MAX_FILE_SIZE 0xFFFFFFFFull /* offsets are 32-bit */
#define IGVM_MAX_PARAM_AREAS 64
#define IGVM_MAX_VP_REGISTERS 256
#define IGVM_MAX_PLATFORMS 32

struct igvm_builder;

/* One VSM VP-context register (struct igvm_vbs_vp_context_register without padding). */
struct igvm_vp_register {
	uint8_t vtl;
	uint32_t name;	   /* HV_X64_REGISTER_* */
	uint8_t value[16]; /* HV_REGISTER_VALUE, little-endian */
};

struct igvm_builder *igvm_builder_new(void);
/* Accepts NULL; returns NULL. */
struct igvm_builder *igvm_builder_free(struct igvm_builder *b);

/* Each add_* copies what it is given. Return 0 or -EINVAL (bad argument) / -ENOMEM /
 * -EFBIG (file would pass 4 GiB). */
int igvm_add_platform(struct igvm_builder *b, uint32_t mask, uint8_t platform_type,
		      uint8_t highest_vtl, uint16_t version, uint64_t shared_gpa_boundary);
/* data: IGVM_PAGE_SIZE bytes, or NULL for a page of zeroes (no file data). An all-zero
 * page is stored without file data too. */
int igvm_add_page(struct igvm_builder *b, uint64_t gpa, uint32_t mask, uint32_t flags,
		  uint16_t data_type, const void *data);
/* init: initial contents (bytes <= number_of_bytes) or NULL for zeroes. */
int igvm_add_param_area(struct igvm_builder *b, uint32_t index, uint64_t number_of_bytes,
			const void *init, size_t init_len);
/* type: one of the IGVM_VHT_* parameter types (VP_COUNT, MEMORY_MAP, COMMAND_LINE, ...). */
int igvm_add_param(struct igvm_builder *b, uint32_t type, uint32_t index, uint32_t byte_offset);
int igvm_add_param_insert(struct igvm_builder *b, uint64_t gpa, uint32_t mask, uint32_t index);
int igvm_add_required_memory(struct igvm_builder *b, uint64_t gpa, uint32_t mask,
			     uint32_t number_of_bytes, uint32_t flags);
/* A VSM (VBS) VP context: the register list goes into the file data. */
int igvm_add_vp_context_vbs(struct igvm_builder *b, uint32_t mask, uint16_t vp_index,
			    const struct igvm_vp_register *regs, uint32_t count);
/* Lays the file out. On success *ret_buf (malloc'd, the caller frees) and *ret_len. */
int igvm_finish(struct igvm_builder *b, uint8_t **ret_buf, size_t *ret_len);

/* What the reader reports for each variable header, after the whole file validated. */
struct igvm_header_view {
	uint32_t type;
	uint32_t length;
	uint32_t offset;     /* file offset of the TLV */
	const uint8_t *body; /* inside the caller's buffer, `length` bytes, maybe unaligned */
};

struct igvm_summary {
	uint32_t headers;
	uint32_t platforms;
	uint32_t platform_mask; /* OR of the declared compatibility masks */
	uint32_t pages;		/* page data headers */
	uint32_t zero_pages;	/* of which without file data */
	uint32_t param_areas;
	uint32_t params;
	uint32_t inserts;
	uint32_t vp_contexts;
	uint32_t required_memory;
	uint32_t ignored;     /* unknown types with the ignorable bit */
	uint32_t data_offset; /* first byte after the variable headers */
	uint32_t file_size;
};

/* Returns 0 to go on, anything else stops the walk and is returned by igvm_parse. */
typedef int (*igvm_visit_fn)(void *ctx, const struct igvm_header_view *h);

/*
 * Validates the IGVM file in buf (borrowed) and, if it is valid, calls fn (may be NULL)
 * for each variable header in order. Returns 0, -EBADMSG (malformed: err says what),
 * -ENOTSUP (valid framing, but a version or non-ignorable type this reader does not
 * know), -ENOMEM, or fn's non-zero value. *ret_sum (may be NULL) is written on success.
 */
int igvm_parse(const uint8_t *buf, size_t len, igvm_visit_fn fn, void *ctx,
	       struct igvm_summary *ret_sum, char *err, size_t errlen);

/* CRC-32 (IEEE, reflected 0xEDB88320), the checksum IGVM uses. */
uint32_t igvm_crc32(uint32_t crc, const void *data, size_t len);

/* Name of a variable header type ("PAGE_DATA"), or NULL if unknown. */
const char *igvm_type_name(uint32_t type);

#endif
