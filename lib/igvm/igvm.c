/* SPDX-License-Identifier: MIT */
/*
 * IGVM writer and reader. Layout and rules: include/defs/igvm_defs.h.
 * The file is untrusted input to the reader: every field is copied out of the buffer
 * into a local struct before it is looked at, and every offset is checked against the
 * file size before anything is read through it.
 */
#include "igvm.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- CRC-32 ---- */

uint32_t igvm_crc32(uint32_t crc, const void *data, size_t len)
{
	static uint32_t table[256];
	static bool ready;
	const uint8_t *p = data;

	if (!ready) {
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;
			for (int k = 0; k < 8; k++)
				c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
			table[i] = c;
		}
		ready = true;
	}
	crc = ~crc;
	while (len--)
		crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

const char *igvm_type_name(uint32_t type)
{
	switch (type & ~IGVM_VHT_IGNORABLE) {
	case IGVM_VHT_SUPPORTED_PLATFORM:
		return "SUPPORTED_PLATFORM";
	case IGVM_VHT_GUEST_POLICY:
		return "GUEST_POLICY";
	case IGVM_VHT_RELOCATABLE_REGION:
		return "RELOCATABLE_REGION";
	case IGVM_VHT_PAGE_TABLE_RELOCATION_REGION:
		return "PAGE_TABLE_RELOCATION_REGION";
	case IGVM_VHT_PARAMETER_AREA:
		return "PARAMETER_AREA";
	case IGVM_VHT_PAGE_DATA:
		return "PAGE_DATA";
	case IGVM_VHT_PARAMETER_INSERT:
		return "PARAMETER_INSERT";
	case IGVM_VHT_VP_CONTEXT:
		return "VP_CONTEXT";
	case IGVM_VHT_REQUIRED_MEMORY:
		return "REQUIRED_MEMORY";
	case IGVM_VHT_VP_COUNT_PARAMETER:
		return "VP_COUNT_PARAMETER";
	case IGVM_VHT_SRAT:
		return "SRAT";
	case IGVM_VHT_MADT:
		return "MADT";
	case IGVM_VHT_MMIO_RANGES:
		return "MMIO_RANGES";
	case IGVM_VHT_SNP_ID_BLOCK:
		return "SNP_ID_BLOCK";
	case IGVM_VHT_MEMORY_MAP:
		return "MEMORY_MAP";
	case IGVM_VHT_ERROR_RANGE:
		return "ERROR_RANGE";
	case IGVM_VHT_COMMAND_LINE:
		return "COMMAND_LINE";
	case IGVM_VHT_SLIT:
		return "SLIT";
	case IGVM_VHT_PPTT:
		return "PPTT";
	case IGVM_VHT_VBS_MEASUREMENT:
		return "VBS_MEASUREMENT";
	case IGVM_VHT_DEVICE_TREE:
		return "DEVICE_TREE";
	case IGVM_VHT_ENVIRONMENT_INFO_PARAMETER:
		return "ENVIRONMENT_INFO_PARAMETER";
	default:
		return NULL;
	}
}

static bool is_param_type(uint32_t type)
{
	switch (type) {
	case IGVM_VHT_VP_COUNT_PARAMETER:
	case IGVM_VHT_SRAT:
	case IGVM_VHT_MADT:
	case IGVM_VHT_MMIO_RANGES:
	case IGVM_VHT_MEMORY_MAP:
	case IGVM_VHT_COMMAND_LINE:
	case IGVM_VHT_SLIT:
	case IGVM_VHT_PPTT:
	case IGVM_VHT_DEVICE_TREE:
	case IGVM_VHT_ENVIRONMENT_INFO_PARAMETER:
		return true;
	default:
		return false;
	}
}

static size_t align_up(size_t v, size_t a)
{
	return (v + a - 1) / a * a;
}

/* ---- writer ---- */

struct igvm_hdr {
	uint32_t type;
	uint32_t length;
	uint8_t body[48];
	int32_t patch_at; /* offset in body of a u32 file_offset to fix up, or -1 */
	size_t data_off;  /* offset in the builder's data blob */
};

struct igvm_builder {
	struct igvm_hdr *h;
	size_t nh, caph;
	uint8_t *data;
	size_t ndata, capdata;
	size_t vh_size; /* sum of aligned TLVs */
};

struct igvm_builder *igvm_builder_new(void)
{
	return calloc(1, sizeof(struct igvm_builder));
}

struct igvm_builder *igvm_builder_free(struct igvm_builder *b)
{
	if (b) {
		free(b->h);
		free(b->data);
		free(b);
	}
	return NULL;
}

static int add_hdr(struct igvm_builder *b, uint32_t type, const void *body, uint32_t len,
		   int32_t patch_at, const void *data, size_t data_len)
{
	if (len > sizeof(b->h[0].body))
		return -EINVAL;
	if (b->nh == b->caph) {
		size_t n = b->caph ? b->caph * 2 : 256;
		struct igvm_hdr *h = realloc(b->h, n * sizeof(*h));
		if (!h)
			return -ENOMEM;
		b->h = h;
		b->caph = n;
	}
	size_t need = b->vh_size + align_up(sizeof(struct igvm_vhs_variable_header) + len, 8);
	if (sizeof(struct igvm_fixed_header) + need + b->ndata + data_len > IGVM_MAX_FILE_SIZE)
		return -EFBIG;
	struct igvm_hdr *h = &b->h[b->nh];
	memset(h, 0, sizeof(*h));
	h->type = type;
	h->length = len;
	memcpy(h->body, body, len);
	h->patch_at = patch_at;
	if (data && data_len) {
		/* Each piece of file data starts 8-byte aligned; the padding stays zero. */
		size_t padded = align_up(data_len, 8);
		if (b->ndata + padded > b->capdata) {
			size_t n = b->capdata ? b->capdata : 1 << 20;
			while (n < b->ndata + padded)
				n *= 2;
			uint8_t *d = realloc(b->data, n);
			if (!d)
				return -ENOMEM;
			b->data = d;
			b->capdata = n;
		}
		memcpy(b->data + b->ndata, data, data_len);
		memset(b->data + b->ndata + data_len, 0, padded - data_len);
		h->data_off = b->ndata;
		b->ndata += padded;
	} else {
		h->patch_at = -1;
	}
	b->vh_size = need;
	b->nh++;
	return 0;
}

static bool one_bit(uint32_t m)
{
	return m && !(m & (m - 1));
}

int igvm_add_platform(struct igvm_builder *b, uint32_t mask, uint8_t platform_type,
		      uint8_t highest_vtl, uint16_t version, uint64_t shared_gpa_boundary)
{
	struct igvm_vhs_supported_platform p = {
	    .compatibility_mask = mask,
	    .highest_vtl = highest_vtl,
	    .platform_type = platform_type,
	    .platform_version = version,
	    .shared_gpa_boundary = shared_gpa_boundary,
	};
	if (!one_bit(mask))
		return -EINVAL;
	return add_hdr(b, IGVM_VHT_SUPPORTED_PLATFORM, &p, sizeof(p), -1, NULL, 0);
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

int igvm_add_page(struct igvm_builder *b, uint64_t gpa, uint32_t mask, uint32_t flags,
		  uint16_t data_type, const void *data)
{
	struct igvm_vhs_page_data p = {
	    .gpa = gpa,
	    .compatibility_mask = mask,
	    .flags = flags,
	    .data_type = data_type,
	};
	if (gpa % IGVM_PAGE_SIZE || (flags & ~IGVM_PAGE_FLAGS_KNOWN) ||
	    (flags & IGVM_PAGE_FLAG_2MB))
		return -EINVAL;
	if (data && all_zero(data, IGVM_PAGE_SIZE))
		data = NULL;
	return add_hdr(b, IGVM_VHT_PAGE_DATA, &p, sizeof(p),
		       (int32_t)offsetof(struct igvm_vhs_page_data, file_offset), data,
		       data ? IGVM_PAGE_SIZE : 0);
}

int igvm_add_param_area(struct igvm_builder *b, uint32_t index, uint64_t number_of_bytes,
			const void *init, size_t init_len)
{
	struct igvm_vhs_parameter_area p = {
	    .number_of_bytes = number_of_bytes,
	    .parameter_area_index = index,
	};
	if (!number_of_bytes || number_of_bytes % IGVM_PAGE_SIZE || init_len > number_of_bytes ||
	    number_of_bytes > UINT32_MAX)
		return -EINVAL;
	uint8_t *full = NULL;
	if (init && init_len) {
		/* The initial contents cover the whole area in the file. */
		full = calloc(1, number_of_bytes);
		if (!full)
			return -ENOMEM;
		memcpy(full, init, init_len);
	}
	int r = add_hdr(b, IGVM_VHT_PARAMETER_AREA, &p, sizeof(p),
			(int32_t)offsetof(struct igvm_vhs_parameter_area, file_offset), full,
			full ? number_of_bytes : 0);
	free(full);
	return r;
}

int igvm_add_param(struct igvm_builder *b, uint32_t type, uint32_t index, uint32_t byte_offset)
{
	struct igvm_vhs_parameter p = {.parameter_area_index = index, .byte_offset = byte_offset};
	if (!is_param_type(type))
		return -EINVAL;
	return add_hdr(b, type, &p, sizeof(p), -1, NULL, 0);
}

int igvm_add_param_insert(struct igvm_builder *b, uint64_t gpa, uint32_t mask, uint32_t index)
{
	struct igvm_vhs_parameter_insert p = {
	    .gpa = gpa, .compatibility_mask = mask, .parameter_area_index = index};
	if (gpa % IGVM_PAGE_SIZE)
		return -EINVAL;
	return add_hdr(b, IGVM_VHT_PARAMETER_INSERT, &p, sizeof(p), -1, NULL, 0);
}

int igvm_add_required_memory(struct igvm_builder *b, uint64_t gpa, uint32_t mask,
			     uint32_t number_of_bytes, uint32_t flags)
{
	struct igvm_vhs_required_memory p = {.gpa = gpa,
					     .compatibility_mask = mask,
					     .number_of_bytes = number_of_bytes,
					     .flags = flags};
	if (gpa % IGVM_PAGE_SIZE || !number_of_bytes || number_of_bytes % IGVM_PAGE_SIZE ||
	    (flags & ~IGVM_REQUIRED_MEMORY_VTL2_PROTECTABLE))
		return -EINVAL;
	return add_hdr(b, IGVM_VHT_REQUIRED_MEMORY, &p, sizeof(p), -1, NULL, 0);
}

int igvm_add_vp_context_vbs(struct igvm_builder *b, uint32_t mask, uint16_t vp_index,
			    const struct igvm_vp_register *regs, uint32_t count)
{
	struct igvm_vhs_vp_context p = {.compatibility_mask = mask, .vp_index = vp_index};
	struct igvm_vbs_vp_context_header hdr = {.register_count = count};

	if (!count || count > IGVM_MAX_VP_REGISTERS)
		return -EINVAL;
	size_t n = sizeof(hdr) + (size_t)count * sizeof(struct igvm_vbs_vp_context_register);
	uint8_t *d = calloc(1, n);
	if (!d)
		return -ENOMEM;
	memcpy(d, &hdr, sizeof(hdr));
	for (uint32_t i = 0; i < count; i++) {
		struct igvm_vbs_vp_context_register r = {.vtl = regs[i].vtl};
		for (int k = 0; k < 4; k++)
			r.register_name[k] = (uint8_t)(regs[i].name >> (8 * k));
		memcpy(r.register_value, regs[i].value, 16);
		memcpy(d + sizeof(hdr) + i * sizeof(r), &r, sizeof(r));
	}
	int r = add_hdr(b, IGVM_VHT_VP_CONTEXT, &p, sizeof(p),
			(int32_t)offsetof(struct igvm_vhs_vp_context, file_offset), d, n);
	free(d);
	return r;
}

int igvm_finish(struct igvm_builder *b, uint8_t **ret_buf, size_t *ret_len)
{
	size_t vh_off = sizeof(struct igvm_fixed_header);
	size_t data_off = vh_off + b->vh_size; /* every TLV is 8-aligned, so this is too */
	size_t total = data_off + b->ndata;

	if (total > IGVM_MAX_FILE_SIZE)
		return -EFBIG;
	uint8_t *f = calloc(1, total);
	if (!f)
		return -ENOMEM;
	size_t at = vh_off;
	for (size_t i = 0; i < b->nh; i++) {
		struct igvm_hdr *h = &b->h[i];
		struct igvm_vhs_variable_header vh = {.type = h->type, .length = h->length};
		if (h->patch_at >= 0) {
			uint32_t fo = (uint32_t)(data_off + h->data_off);
			memcpy(h->body + h->patch_at, &fo, sizeof(fo));
		}
		memcpy(f + at, &vh, sizeof(vh));
		memcpy(f + at + sizeof(vh), h->body, h->length);
		at += align_up(sizeof(vh) + h->length, 8);
	}
	if (b->ndata)
		memcpy(f + data_off, b->data, b->ndata);
	struct igvm_fixed_header fh = {
	    .magic = IGVM_MAGIC,
	    .format_version = IGVM_FORMAT_VERSION_1,
	    .variable_header_offset = (uint32_t)vh_off,
	    .variable_header_size = (uint32_t)b->vh_size,
	    .total_file_size = (uint32_t)total,
	};
	memcpy(f, &fh, sizeof(fh));
	fh.checksum = igvm_crc32(0, f, data_off);
	memcpy(f, &fh, sizeof(fh));
	*ret_buf = f;
	*ret_len = total;
	return 0;
}

/* ---- reader ---- */

struct param_area {
	uint32_t index;
	uint64_t bytes;
	bool inserted;
};

struct parse_state {
	const uint8_t *buf;
	uint32_t size;
	uint32_t data_off;
	char *err;
	size_t errlen;
	uint32_t section; /* 0 platform, 1 init, 2 directive */
	uint32_t masks;
	uint8_t platform_type[32];
	struct param_area areas[IGVM_MAX_PARAM_AREAS];
	uint32_t nareas;
	uint64_t *pages; /* start gpa of every page-sized piece loaded */
	size_t npages, cappages;
	uint32_t vp_seen[IGVM_MAX_PLATFORMS]; /* bitmap of vp 0..31 with a context, per mask bit */
	struct igvm_summary sum;
};

__attribute__((format(printf, 3, 4))) static int fail(struct parse_state *s, int r, const char *fmt,
						      ...)
{
	va_list ap;
	if (s->err && s->errlen) {
		va_start(ap, fmt);
		vsnprintf(s->err, s->errlen, fmt, ap);
		va_end(ap);
	}
	return r;
}

/* Accepts a mask of declared platforms only (and never an empty one). */
static int check_mask(struct parse_state *s, uint32_t off, uint32_t mask)
{
	if (!mask || (mask & ~s->masks))
		return fail(s, -EBADMSG,
			    "header at 0x%x: compatibility mask 0x%x names no declared platform "
			    "(declared 0x%x)",
			    off, mask, s->masks);
	return 0;
}

/* File data [fo, fo + n) must lie after the headers and inside the file. */
static int check_data(struct parse_state *s, uint32_t off, uint32_t fo, uint64_t n,
		      const char *what)
{
	if (fo < s->data_off || (uint64_t)fo + n > s->size)
		return fail(s, -EBADMSG,
			    "header at 0x%x: %s file data [0x%x, +0x%llx) outside the file data "
			    "section [0x%x, 0x%x)",
			    off, what, fo, (unsigned long long)n, s->data_off, s->size);
	return 0;
}

static int add_pages(struct parse_state *s, uint64_t gpa, uint64_t n)
{
	if (s->npages + n > s->cappages) {
		size_t c = s->cappages ? s->cappages : 1024;
		while (c < s->npages + n)
			c *= 2;
		uint64_t *p = realloc(s->pages, c * sizeof(*p));
		if (!p)
			return -ENOMEM;
		s->pages = p;
		s->cappages = c;
	}
	for (uint64_t i = 0; i < n; i++)
		s->pages[s->npages++] = gpa + i * IGVM_PAGE_SIZE;
	return 0;
}

static struct param_area *find_area(struct parse_state *s, uint32_t index)
{
	for (uint32_t i = 0; i < s->nareas; i++)
		if (s->areas[i].index == index)
			return &s->areas[i];
	return NULL;
}

static int expect_len(struct parse_state *s, uint32_t off, uint32_t type, uint32_t len, size_t want)
{
	if (len != want)
		return fail(s, -EBADMSG, "header at 0x%x: %s is %u bytes, expected %zu", off,
			    igvm_type_name(type), len, want);
	return 0;
}

static int check_one(struct parse_state *s, uint32_t off, uint32_t type, const uint8_t *body,
		     uint32_t len)
{
	uint32_t base = type & ~IGVM_VHT_IGNORABLE;
	uint32_t section;
	int r;

	if (base >= IGVM_VHT_RANGE_PLATFORM_FIRST && base <= IGVM_VHT_RANGE_PLATFORM_LAST)
		section = 0;
	else if (base >= IGVM_VHT_RANGE_INIT_FIRST && base <= IGVM_VHT_RANGE_INIT_LAST)
		section = 1;
	else if (base >= IGVM_VHT_RANGE_DIRECTIVE_FIRST && base <= IGVM_VHT_RANGE_DIRECTIVE_LAST)
		section = 2;
	else
		return fail(s, -EBADMSG, "header at 0x%x: type 0x%x is in no section", off, type);
	if (section < s->section)
		return fail(s, -EBADMSG,
			    "header at 0x%x: %s (type 0x%x) after a later section began", off,
			    igvm_type_name(base) ? igvm_type_name(base) : "header", type);
	s->section = section;

	if (!igvm_type_name(base) || base == IGVM_VHT_RESERVED_DO_NOT_USE) {
		if (type & IGVM_VHT_IGNORABLE) {
			s->sum.ignored++;
			return 0;
		}
		return fail(s, -ENOTSUP, "header at 0x%x: unknown type 0x%x, not ignorable", off,
			    type);
	}

	switch (base) {
	case IGVM_VHT_SUPPORTED_PLATFORM: {
		struct igvm_vhs_supported_platform p;
		if ((r = expect_len(s, off, base, len, sizeof(p))) < 0)
			return r;
		memcpy(&p, body, sizeof(p));
		if (!one_bit(p.compatibility_mask))
			return fail(s, -EBADMSG,
				    "header at 0x%x: platform mask 0x%x must have exactly one bit",
				    off, p.compatibility_mask);
		if (p.compatibility_mask & s->masks)
			return fail(s, -EBADMSG,
				    "header at 0x%x: platform mask 0x%x declared twice", off,
				    p.compatibility_mask);
		if (p.platform_type > IGVM_PLATFORM_TDX)
			return fail(s, -ENOTSUP, "header at 0x%x: unknown platform type %u", off,
				    p.platform_type);
		if (p.highest_vtl > 2 ||
		    (p.platform_type != IGVM_PLATFORM_VSM_ISOLATION && p.highest_vtl != 0 &&
		     p.platform_type != IGVM_PLATFORM_SEV_SNP &&
		     p.platform_type != IGVM_PLATFORM_TDX))
			return fail(s, -EBADMSG, "header at 0x%x: highest VTL %u not valid here",
				    off, p.highest_vtl);
		s->platform_type[__builtin_ctz(p.compatibility_mask)] = p.platform_type;
		s->masks |= p.compatibility_mask;
		s->sum.platforms++;
		return 0;
	}
	case IGVM_VHT_GUEST_POLICY: {
		struct igvm_vhs_guest_policy p;
		if ((r = expect_len(s, off, base, len, sizeof(p))) < 0)
			return r;
		memcpy(&p, body, sizeof(p));
		if (p.reserved)
			return fail(s, -EBADMSG, "header at 0x%x: reserved field not zero", off);
		return check_mask(s, off, p.compatibility_mask);
	}
	case IGVM_VHT_RELOCATABLE_REGION: {
		uint32_t m;
		if ((r = expect_len(s, off, base, len,
				    sizeof(struct igvm_vhs_relocatable_region))) < 0)
			return r;
		memcpy(&m, body, 4);
		return check_mask(s, off, m);
	}
	case IGVM_VHT_PAGE_TABLE_RELOCATION_REGION: {
		uint32_t m;
		if ((r = expect_len(s, off, base, len,
				    sizeof(struct igvm_vhs_page_table_relocation))) < 0)
			return r;
		memcpy(&m, body, 4);
		return check_mask(s, off, m);
	}
	case IGVM_VHT_PARAMETER_AREA: {
		struct igvm_vhs_parameter_area p;
		if ((r = expect_len(s, off, base, len, sizeof(p))) < 0)
			return r;
		memcpy(&p, body, sizeof(p));
		if (!p.number_of_bytes || p.number_of_bytes % IGVM_PAGE_SIZE ||
		    p.number_of_bytes > UINT32_MAX)
			return fail(s, -EBADMSG,
				    "header at 0x%x: parameter area %u size 0x%llx not a non-zero "
				    "page multiple below 4 GiB",
				    off, p.parameter_area_index,
				    (unsigned long long)p.number_of_bytes);
		if (find_area(s, p.parameter_area_index))
			return fail(s, -EBADMSG, "header at 0x%x: parameter area %u declared twice",
				    off, p.parameter_area_index);
		if (s->nareas == IGVM_MAX_PARAM_AREAS)
			return fail(s, -EBADMSG, "header at 0x%x: more than %d parameter areas",
				    off, IGVM_MAX_PARAM_AREAS);
		if (p.file_offset && (r = check_data(s, off, p.file_offset, p.number_of_bytes,
						     "parameter area")) < 0)
			return r;
		s->areas[s->nareas++] =
		    (struct param_area){p.parameter_area_index, p.number_of_bytes, false};
		s->sum.param_areas++;
		return 0;
	}
	case IGVM_VHT_PAGE_DATA: {
		struct igvm_vhs_page_data p;
		if ((r = expect_len(s, off, base, len, sizeof(p))) < 0)
			return r;
		memcpy(&p, body, sizeof(p));
		uint64_t psize =
		    (p.flags & IGVM_PAGE_FLAG_2MB) ? IGVM_PAGE_SIZE_2MB : IGVM_PAGE_SIZE;
		if (p.gpa % psize || p.gpa + psize < p.gpa)
			return fail(s, -EBADMSG, "header at 0x%x: page gpa 0x%llx not %s aligned",
				    off, (unsigned long long)p.gpa,
				    psize == IGVM_PAGE_SIZE ? "4 KiB" : "2 MiB");
		if (p.flags & ~IGVM_PAGE_FLAGS_KNOWN)
			return fail(s, -EBADMSG,
				    "header at 0x%x: page flags 0x%x has reserved bits", off,
				    p.flags);
		if (p.data_type > IGVM_PAGE_DATA_CPUID_XF || p.reserved)
			return fail(s, -EBADMSG,
				    "header at 0x%x: page data type %u / reserved %u not valid",
				    off, p.data_type, p.reserved);
		if ((r = check_mask(s, off, p.compatibility_mask)) < 0)
			return r;
		if (p.file_offset) {
			if ((r = check_data(s, off, p.file_offset, psize, "page")) < 0)
				return r;
		} else {
			s->sum.zero_pages++;
		}
		if ((r = add_pages(s, p.gpa, psize / IGVM_PAGE_SIZE)) < 0)
			return r;
		s->sum.pages++;
		return 0;
	}
	case IGVM_VHT_PARAMETER_INSERT: {
		struct igvm_vhs_parameter_insert p;
		if ((r = expect_len(s, off, base, len, sizeof(p))) < 0)
			return r;
		memcpy(&p, body, sizeof(p));
		if (p.gpa % IGVM_PAGE_SIZE)
			return fail(s, -EBADMSG,
				    "header at 0x%x: insert gpa 0x%llx not page aligned", off,
				    (unsigned long long)p.gpa);
		if ((r = check_mask(s, off, p.compatibility_mask)) < 0)
			return r;
		struct param_area *a = find_area(s, p.parameter_area_index);
		if (!a || a->inserted)
			return fail(s, -EBADMSG, "header at 0x%x: parameter area %u %s", off,
				    p.parameter_area_index, a ? "inserted twice" : "not declared");
		if (p.gpa + a->bytes < p.gpa)
			return fail(s, -EBADMSG, "header at 0x%x: insert wraps the address space",
				    off);
		a->inserted = true;
		if ((r = add_pages(s, p.gpa, a->bytes / IGVM_PAGE_SIZE)) < 0)
			return r;
		s->sum.inserts++;
		return 0;
	}
	case IGVM_VHT_VP_CONTEXT: {
		struct igvm_vhs_vp_context p;
		struct igvm_vbs_vp_context_header vh;
		if ((r = expect_len(s, off, base, len, sizeof(p))) < 0)
			return r;
		memcpy(&p, body, sizeof(p));
		if ((r = check_mask(s, off, p.compatibility_mask)) < 0)
			return r;
		if (p.reserved)
			return fail(s, -EBADMSG, "header at 0x%x: reserved field not zero", off);
		for (uint32_t bit = 0; bit < 32; bit++) {
			if (!(p.compatibility_mask & (1u << bit)))
				continue;
			if (p.vp_index < 32 && (s->vp_seen[bit] & (1u << p.vp_index)))
				return fail(s, -EBADMSG,
					    "header at 0x%x: second VP context for VP %u", off,
					    p.vp_index);
			if (p.vp_index < 32)
				s->vp_seen[bit] |= 1u << p.vp_index;
			if (s->platform_type[bit] != IGVM_PLATFORM_VSM_ISOLATION &&
			    s->platform_type[bit] != IGVM_PLATFORM_NATIVE)
				continue; /* SNP VMSA pages etc.: framing checked only */
			if (p.gpa)
				return fail(s, -EBADMSG,
					    "header at 0x%x: VSM/native VP context must have gpa 0",
					    off);
			if ((r = check_data(s, off, p.file_offset, sizeof(vh), "VP context")) < 0)
				return r;
			memcpy(&vh, s->buf + p.file_offset, sizeof(vh));
			if (!vh.register_count || vh.register_count > IGVM_MAX_VP_REGISTERS)
				return fail(s, -EBADMSG,
					    "header at 0x%x: VP context with %u registers (1..%d)",
					    off, vh.register_count, IGVM_MAX_VP_REGISTERS);
			if ((r = check_data(s, off, p.file_offset,
					    sizeof(vh) +
						(uint64_t)vh.register_count *
						    sizeof(struct igvm_vbs_vp_context_register),
					    "VP context registers")) < 0)
				return r;
			for (uint32_t i = 0; i < vh.register_count; i++) {
				struct igvm_vbs_vp_context_register reg;
				memcpy(&reg, s->buf + p.file_offset + sizeof(vh) + i * sizeof(reg),
				       sizeof(reg));
				if (reg.vtl > 2 || !all_zero(reg.mbz, sizeof(reg.mbz)))
					return fail(s, -EBADMSG,
						    "header at 0x%x: VP register %u has VTL %u or "
						    "non-zero padding",
						    off, i, reg.vtl);
			}
		}
		s->sum.vp_contexts++;
		return 0;
	}
	case IGVM_VHT_REQUIRED_MEMORY: {
		struct igvm_vhs_required_memory p;
		if ((r = expect_len(s, off, base, len, sizeof(p))) < 0)
			return r;
		memcpy(&p, body, sizeof(p));
		if (p.gpa % IGVM_PAGE_SIZE || !p.number_of_bytes ||
		    p.number_of_bytes % IGVM_PAGE_SIZE || p.reserved ||
		    (p.flags & ~IGVM_REQUIRED_MEMORY_VTL2_PROTECTABLE))
			return fail(
			    s, -EBADMSG,
			    "header at 0x%x: required memory gpa 0x%llx size 0x%x flags 0x%x "
			    "not valid",
			    off, (unsigned long long)p.gpa, p.number_of_bytes, p.flags);
		if ((r = check_mask(s, off, p.compatibility_mask)) < 0)
			return r;
		s->sum.required_memory++;
		return 0;
	}
	case IGVM_VHT_ERROR_RANGE: {
		struct igvm_vhs_error_range p;
		if ((r = expect_len(s, off, base, len, sizeof(p))) < 0)
			return r;
		memcpy(&p, body, sizeof(p));
		if (p.gpa % IGVM_PAGE_SIZE || p.size_bytes % IGVM_PAGE_SIZE)
			return fail(s, -EBADMSG, "header at 0x%x: error range not page aligned",
				    off);
		return check_mask(s, off, p.compatibility_mask);
	}
	case IGVM_VHT_SNP_ID_BLOCK:
	case IGVM_VHT_VBS_MEASUREMENT: {
		uint32_t m;
		if (len < 4)
			return fail(s, -EBADMSG, "header at 0x%x: %s too short", off,
				    igvm_type_name(base));
		memcpy(&m, body, 4);
		return check_mask(s, off, m);
	}
	default: {
		/* The parameter types. */
		struct igvm_vhs_parameter p;
		if ((r = expect_len(s, off, base, len, sizeof(p))) < 0)
			return r;
		memcpy(&p, body, sizeof(p));
		struct param_area *a = find_area(s, p.parameter_area_index);
		if (!a || a->inserted)
			return fail(s, -EBADMSG,
				    "header at 0x%x: %s names parameter area %u, which is %s", off,
				    igvm_type_name(base), p.parameter_area_index,
				    a ? "already inserted" : "not declared");
		if (p.byte_offset >= a->bytes)
			return fail(s, -EBADMSG,
				    "header at 0x%x: %s offset 0x%x outside parameter area %u "
				    "(0x%llx bytes)",
				    off, igvm_type_name(base), p.byte_offset,
				    p.parameter_area_index, (unsigned long long)a->bytes);
		s->sum.params++;
		return 0;
	}
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int igvm_parse(const uint8_t *buf, size_t len, igvm_visit_fn fn, void *ctx,
	       struct igvm_summary *ret_sum, char *err, size_t errlen)
{
	struct parse_state s = {.buf = buf, .err = err, .errlen = errlen};
	struct igvm_fixed_header fh;
	int r;

	if (err && errlen)
		err[0] = '\0';
	if (len < sizeof(fh))
		return fail(&s, -EBADMSG, "file too short for the IGVM fixed header (%zu bytes)",
			    len);
	memcpy(&fh, buf, sizeof(fh));
	if (fh.magic != IGVM_MAGIC)
		return fail(&s, -EBADMSG, "bad magic 0x%08x (want 0x%08x \"IGVM\")", fh.magic,
			    IGVM_MAGIC);
	if (fh.format_version != IGVM_FORMAT_VERSION_1)
		return fail(&s, -ENOTSUP, "format version %u not supported (this reader: 1)",
			    fh.format_version);
	if (fh.total_file_size != len)
		return fail(&s, -EBADMSG, "total_file_size %u but the file has %zu bytes",
			    fh.total_file_size, len);
	if (fh.variable_header_offset < sizeof(fh) || fh.variable_header_offset % IGVM_VH_ALIGN)
		return fail(&s, -EBADMSG,
			    "variable header offset %u must be >= %zu and 8-byte aligned",
			    fh.variable_header_offset, sizeof(fh));
	uint64_t vh_end = (uint64_t)fh.variable_header_offset + fh.variable_header_size;
	if (vh_end > len)
		return fail(&s, -EBADMSG, "variable headers [%u, +%u) run past the file end (%zu)",
			    fh.variable_header_offset, fh.variable_header_size, len);
	/* The checksum covers the fixed header (checksum as 0) and the variable headers. */
	struct igvm_fixed_header z = fh;
	z.checksum = 0;
	uint32_t crc = igvm_crc32(0, &z, sizeof(z));
	crc = igvm_crc32(crc, buf + sizeof(z), vh_end - sizeof(z));
	if (crc != fh.checksum)
		return fail(&s, -EBADMSG, "checksum 0x%08x does not match the headers (0x%08x)",
			    fh.checksum, crc);

	s.size = (uint32_t)len;
	s.data_off = (uint32_t)vh_end;
	uint32_t off = fh.variable_header_offset;
	while (off < vh_end) {
		struct igvm_vhs_variable_header vh;
		if (vh_end - off < sizeof(vh)) {
			r = fail(&s, -EBADMSG, "truncated variable header at 0x%x", off);
			goto out;
		}
		memcpy(&vh, buf + off, sizeof(vh));
		if (vh.length > vh_end - off - sizeof(vh)) {
			r = fail(&s, -EBADMSG,
				 "header at 0x%x (type 0x%x): length %u runs past the variable "
				 "headers",
				 off, vh.type, vh.length);
			goto out;
		}
		const uint8_t *body = buf + off + sizeof(vh);
		if ((r = check_one(&s, off, vh.type, body, vh.length)) < 0)
			goto out;
		uint64_t next = off + ((sizeof(vh) + (uint64_t)vh.length + 7) & ~7ull);
		if (next > vh_end) {
			r = fail(&s, -EBADMSG,
				 "header at 0x%x: padding runs past the variable headers", off);
			goto out;
		}
		if (!all_zero(body + vh.length, next - off - sizeof(vh) - vh.length)) {
			r = fail(&s, -EBADMSG, "header at 0x%x: non-zero padding", off);
			goto out;
		}
		s.sum.headers++;
		off = (uint32_t)next;
	}
	/* No guest page may be loaded twice. */
	if (s.npages > 1) {
		qsort(s.pages, s.npages, sizeof(*s.pages), cmp_u64);
		for (size_t i = 1; i < s.npages; i++)
			if (s.pages[i] == s.pages[i - 1]) {
				r = fail(&s, -EBADMSG, "guest page 0x%llx is loaded twice",
					 (unsigned long long)s.pages[i]);
				goto out;
			}
	}
	s.sum.platform_mask = s.masks;
	s.sum.data_offset = s.data_off;
	s.sum.file_size = s.size;
	if (!s.masks) {
		r = fail(&s, -EBADMSG, "no supported platform declared");
		goto out;
	}

	if (fn) {
		off = fh.variable_header_offset;
		while (off < vh_end) {
			struct igvm_vhs_variable_header vh;
			memcpy(&vh, buf + off, sizeof(vh));
			struct igvm_header_view v = {vh.type, vh.length, off,
						     buf + off + sizeof(vh)};
			if ((r = fn(ctx, &v)) != 0)
				goto out;
			off += (uint32_t)((sizeof(vh) + (uint64_t)vh.length + 7) & ~7ull);
		}
	}
	if (ret_sum)
		*ret_sum = s.sum;
	r = 0;
out:
	free(s.pages);
	return r;
}
