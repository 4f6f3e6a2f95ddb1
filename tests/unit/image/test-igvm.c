/* SPDX-License-Identifier: MIT */
/*
 * lib/igvm and tools/mhcl-image: the IGVM writer and reader agree (round trip), the
 * header layouts match the published sizes and offsets, malformed files are refused with
 * a message naming the problem, the payload matches boot/mkpayload.py's layout, and a
 * composed image starts VP 0 at the shim's PVH entry with the payload where the start info
 * says.
 *
 *   test-igvm                 run the tests
 *   test-igvm --seeds DIR     write the igvm-read fuzz corpus seeds into DIR
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "igvm.h"
#include "image.h"
#include "test.h"

/* ---- a small valid file ---- */

static uint8_t page_a[IGVM_PAGE_SIZE], page_b[IGVM_PAGE_SIZE];

static void sample_regs(struct igvm_vp_register *r, unsigned *n)
{
	uint64_t rip = 0x100040, rbx = 0x6000;
	memset(r, 0, 2 * sizeof(*r));
	r[0].vtl = 2;
	r[0].name = HV_X64_REGISTER_RIP;
	memcpy(r[0].value, &rip, 8);
	r[1].vtl = 2;
	r[1].name = HV_X64_REGISTER_RBX;
	memcpy(r[1].value, &rbx, 8);
	*n = 2;
}

static void build_sample(uint8_t **buf, size_t *len)
{
	struct igvm_builder *b = igvm_builder_new();
	struct igvm_vp_register regs[2];
	unsigned n;
	const char init[] = "console=ttyS0";

	ASSERT_TRUE(b);
	for (size_t i = 0; i < sizeof(page_a); i++) {
		page_a[i] = (uint8_t)(i * 7 + 1);
		page_b[i] = (uint8_t)(0xff - i);
	}
	ASSERT_OK(igvm_add_platform(b, 1, IGVM_PLATFORM_VSM_ISOLATION, 2, 1, 0));
	ASSERT_OK(igvm_add_param_area(b, 0, IGVM_PAGE_SIZE, init, sizeof(init)));
	ASSERT_OK(igvm_add_param(b, IGVM_VHT_COMMAND_LINE, 0, 0));
	ASSERT_OK(igvm_add_param_area(b, 1, 2 * IGVM_PAGE_SIZE, NULL, 0));
	ASSERT_OK(igvm_add_param(b, IGVM_VHT_MEMORY_MAP, 1, 0));
	ASSERT_OK(igvm_add_param(b, IGVM_VHT_VP_COUNT_PARAMETER, 1, 4096));
	ASSERT_OK(igvm_add_page(b, 0x100000, 1, 0, IGVM_PAGE_DATA_NORMAL, page_a));
	ASSERT_OK(igvm_add_page(b, 0x101000, 1, 0, IGVM_PAGE_DATA_NORMAL, NULL));
	ASSERT_OK(igvm_add_page(b, 0x102000, 1, IGVM_PAGE_FLAG_UNMEASURED, IGVM_PAGE_DATA_NORMAL,
				page_b));
	ASSERT_OK(igvm_add_param_insert(b, 0x10000, 1, 0));
	ASSERT_OK(igvm_add_param_insert(b, 0x20000, 1, 1));
	ASSERT_OK(igvm_add_required_memory(b, 0, 1, 0x200000, 0));
	sample_regs(regs, &n);
	ASSERT_OK(igvm_add_vp_context_vbs(b, 1, 0, regs, n));
	ASSERT_OK(igvm_finish(b, buf, len));
	igvm_builder_free(b);
}

/* Recomputes the checksum after a test edited the headers. */
static void fix_checksum(uint8_t *buf)
{
	struct igvm_fixed_header fh;
	memcpy(&fh, buf, sizeof(fh));
	fh.checksum = 0;
	memcpy(buf, &fh, sizeof(fh));
	fh.checksum = igvm_crc32(0, buf, fh.variable_header_offset + fh.variable_header_size);
	memcpy(buf, &fh, sizeof(fh));
}

/* File offset of the n-th header of a type, or 0. */
static uint32_t find_header(const uint8_t *buf, uint32_t type, int nth)
{
	struct igvm_fixed_header fh;
	memcpy(&fh, buf, sizeof(fh));
	uint32_t off = fh.variable_header_offset, end = off + fh.variable_header_size;
	while (off < end) {
		struct igvm_vhs_variable_header vh;
		memcpy(&vh, buf + off, sizeof(vh));
		if (vh.type == type && nth-- == 0)
			return off;
		off += (uint32_t)((8 + vh.length + 7) & ~7u);
	}
	return 0;
}

/* ---- round trip ---- */

struct collect {
	const uint8_t *file;
	int n;
	uint32_t types[32];
	int pages_checked;
	uint64_t rip, rbx;
	char cmdline[32];
};

static int collect(void *ctx, const struct igvm_header_view *h)
{
	struct collect *c = ctx;
	ASSERT_LT(c->n, 32);
	c->types[c->n++] = h->type;
	if (h->type == IGVM_VHT_PAGE_DATA) {
		struct igvm_vhs_page_data p;
		memcpy(&p, h->body, sizeof(p));
		if (p.gpa == 0x100000) {
			ASSERT_NE(p.file_offset, 0);
			ASSERT_OK(memcmp(c->file + p.file_offset, page_a, IGVM_PAGE_SIZE));
			c->pages_checked++;
		} else if (p.gpa == 0x101000) {
			ASSERT_EQ(p.file_offset, 0);
			c->pages_checked++;
		} else if (p.gpa == 0x102000) {
			ASSERT_EQ(p.flags, IGVM_PAGE_FLAG_UNMEASURED);
			ASSERT_OK(memcmp(c->file + p.file_offset, page_b, IGVM_PAGE_SIZE));
			c->pages_checked++;
		}
	} else if (h->type == IGVM_VHT_PARAMETER_AREA) {
		struct igvm_vhs_parameter_area p;
		memcpy(&p, h->body, sizeof(p));
		if (p.parameter_area_index == 0) {
			ASSERT_NE(p.file_offset, 0);
			memcpy(c->cmdline, c->file + p.file_offset, sizeof(c->cmdline) - 1);
		} else {
			ASSERT_EQ(p.file_offset, 0);
			ASSERT_UEQ(p.number_of_bytes, 2 * IGVM_PAGE_SIZE);
		}
	} else if (h->type == IGVM_VHT_VP_CONTEXT) {
		struct igvm_vhs_vp_context p;
		struct igvm_vbs_vp_context_header vh;
		ASSERT_EQ(h->length, 20);
		memcpy(&p, h->body, sizeof(p));
		memcpy(&vh, c->file + p.file_offset, sizeof(vh));
		ASSERT_EQ(vh.register_count, 2);
		for (uint32_t i = 0; i < 2; i++) {
			struct igvm_vbs_vp_context_register r;
			uint32_t name;
			memcpy(&r, c->file + p.file_offset + 4 + i * 32, sizeof(r));
			ASSERT_EQ(r.vtl, 2);
			memcpy(&name, r.register_name, 4);
			memcpy(name == HV_X64_REGISTER_RIP ? &c->rip : &c->rbx, r.register_value,
			       8);
		}
	}
	return 0;
}

static void test_round_trip(void)
{
	uint8_t *buf;
	size_t len;
	struct igvm_summary s;
	struct collect c = {0};
	char err[256];

	build_sample(&buf, &len);
	c.file = buf;
	int r = igvm_parse(buf, len, collect, &c, &s, err, sizeof(err));
	if (r)
		fprintf(stderr, "parse: %s\n", err);
	ASSERT_OK(r);
	static const uint32_t want[] = {
	    IGVM_VHT_SUPPORTED_PLATFORM, IGVM_VHT_PARAMETER_AREA,   IGVM_VHT_COMMAND_LINE,
	    IGVM_VHT_PARAMETER_AREA,	 IGVM_VHT_MEMORY_MAP,	    IGVM_VHT_VP_COUNT_PARAMETER,
	    IGVM_VHT_PAGE_DATA,		 IGVM_VHT_PAGE_DATA,	    IGVM_VHT_PAGE_DATA,
	    IGVM_VHT_PARAMETER_INSERT,	 IGVM_VHT_PARAMETER_INSERT, IGVM_VHT_REQUIRED_MEMORY,
	    IGVM_VHT_VP_CONTEXT,
	};
	ASSERT_EQ(c.n, (int)(sizeof(want) / sizeof(want[0])));
	for (int i = 0; i < c.n; i++)
		ASSERT_EQ(c.types[i], want[i]);
	ASSERT_EQ(c.pages_checked, 3);
	ASSERT_STREQ(c.cmdline, "console=ttyS0");
	ASSERT_UEQ(c.rip, 0x100040);
	ASSERT_UEQ(c.rbx, 0x6000);
	ASSERT_EQ(s.headers, 13);
	ASSERT_EQ(s.platforms, 1);
	ASSERT_EQ(s.platform_mask, 1);
	ASSERT_EQ(s.pages, 3);
	ASSERT_EQ(s.zero_pages, 1);
	ASSERT_EQ(s.param_areas, 2);
	ASSERT_EQ(s.params, 3);
	ASSERT_EQ(s.inserts, 2);
	ASSERT_EQ(s.vp_contexts, 1);
	ASSERT_EQ(s.required_memory, 1);
	ASSERT_UEQ(s.file_size, len);

	/* The fixed header as the format fixes it. */
	struct igvm_fixed_header fh;
	memcpy(&fh, buf, sizeof(fh));
	ASSERT_OK(memcmp(buf, "IGVM", 4));
	ASSERT_EQ(fh.format_version, 1);
	ASSERT_EQ(fh.variable_header_offset % 8, 0);
	ASSERT_UEQ(fh.total_file_size, len);
	ASSERT_EQ(s.data_offset, fh.variable_header_offset + fh.variable_header_size);
	/* Every TLV starts 8-byte aligned; the VP context (20 bytes) is padded with zeroes. */
	uint32_t vp = find_header(buf, IGVM_VHT_VP_CONTEXT, 0);
	ASSERT_EQ(vp % 8, 0);
	ASSERT_EQ(buf[vp + 8 + 20] | buf[vp + 8 + 21] | buf[vp + 8 + 22] | buf[vp + 8 + 23], 0);
	free(buf);
}

static void test_layouts(void)
{
	/* Sizes and offsets the format fixes (also static_asserted in igvm_defs.h). */
	ASSERT_EQ(sizeof(struct igvm_fixed_header), 24);
	ASSERT_EQ(sizeof(struct igvm_vhs_variable_header), 8);
	ASSERT_EQ(sizeof(struct igvm_vhs_supported_platform), 16);
	ASSERT_EQ(sizeof(struct igvm_vhs_parameter_area), 16);
	ASSERT_EQ(sizeof(struct igvm_vhs_page_data), 24);
	ASSERT_EQ(sizeof(struct igvm_vhs_parameter_insert), 16);
	ASSERT_EQ(sizeof(struct igvm_vhs_parameter), 8);
	ASSERT_EQ(sizeof(struct igvm_vhs_vp_context), 20);
	ASSERT_EQ(sizeof(struct igvm_vhs_required_memory), 24);
	ASSERT_EQ(sizeof(struct igvm_vhs_memory_map_entry), 24);
	ASSERT_EQ(sizeof(struct igvm_vbs_vp_context_register), 32);
	ASSERT_EQ(offsetof(struct igvm_fixed_header, checksum), 20);
	ASSERT_EQ(offsetof(struct igvm_vhs_page_data, file_offset), 12);
	ASSERT_EQ(offsetof(struct igvm_vbs_vp_context_register, register_value), 16);
	ASSERT_EQ(IGVM_MAGIC, 0x4D564749u);
	/* CRC-32/ISO-HDLC check value. */
	ASSERT_EQ(igvm_crc32(0, "123456789", 9), 0xCBF43926u);
}

/* ---- refusals ---- */

static void expect_refused(const uint8_t *buf, size_t len, int want_r, const char *want_msg)
{
	char err[256];
	int r = igvm_parse(buf, len, NULL, NULL, NULL, err, sizeof(err));
	if (r != want_r || !strstr(err, want_msg))
		TEST_FAIL_("got %d \"%s\", want %d \"...%s...\"", r, err, want_r, want_msg);
}

static void with_sample(void (*edit)(uint8_t *buf, size_t *len), int want_r, const char *msg,
			bool fix)
{
	uint8_t *buf;
	size_t len;
	build_sample(&buf, &len);
	uint8_t *big = calloc(1, len + 4096);
	ASSERT_TRUE(big);
	memcpy(big, buf, len);
	free(buf);
	edit(big, &len);
	if (fix)
		fix_checksum(big);
	expect_refused(big, len, want_r, msg);
	free(big);
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}
static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static void e_magic(uint8_t *b, size_t *l)
{
	b[0] = 'X';
}
static void e_version(uint8_t *b, size_t *l)
{
	put32(b + 4, 2);
}
static void e_truncate(uint8_t *b, size_t *l)
{
	*l -= 1;
}
static void e_vh_unaligned(uint8_t *b, size_t *l)
{
	put32(b + 8, 28);
}
static void e_vh_past_end(uint8_t *b, size_t *l)
{
	put32(b + 12, (uint32_t)*l);
}
static void e_header_bit(uint8_t *b, size_t *l)
{
	b[24 + 8 + 4] ^= 1; /* platform's highest_vtl, checksum left stale */
}
static void e_length(uint8_t *b, size_t *l)
{
	put32(b + 24 + 4, 0x10000);
}
static void e_section_order(uint8_t *b, size_t *l)
{
	/* The last header (VP context, 20 bytes) becomes a platform header (16 bytes). */
	uint32_t off = find_header(b, IGVM_VHT_VP_CONTEXT, 0);
	put32(b + off, IGVM_VHT_SUPPORTED_PLATFORM);
	put32(b + off + 4, 16);
	memset(b + off + 8 + 16, 0, 4);
}
static void e_mask(uint8_t *b, size_t *l)
{
	uint32_t off = find_header(b, IGVM_VHT_PAGE_DATA, 1);
	put32(b + off + 8 + 8, 2);
}
static void e_dup_page(uint8_t *b, size_t *l)
{
	uint32_t off = find_header(b, IGVM_VHT_PAGE_DATA, 1);
	put64(b + off + 8, 0x100000);
}
static void e_unaligned_page(uint8_t *b, size_t *l)
{
	uint32_t off = find_header(b, IGVM_VHT_PAGE_DATA, 0);
	put64(b + off + 8, 0x100800);
}
static void e_page_offset(uint8_t *b, size_t *l)
{
	uint32_t off = find_header(b, IGVM_VHT_PAGE_DATA, 0);
	put32(b + off + 8 + 12, (uint32_t)*l - 100);
}
static void e_page_offset_in_headers(uint8_t *b, size_t *l)
{
	uint32_t off = find_header(b, IGVM_VHT_PAGE_DATA, 0);
	put32(b + off + 8 + 12, 24);
}
static void e_param_undeclared(uint8_t *b, size_t *l)
{
	uint32_t off = find_header(b, IGVM_VHT_COMMAND_LINE, 0);
	put32(b + off + 8, 7);
}
static void e_param_offset(uint8_t *b, size_t *l)
{
	uint32_t off = find_header(b, IGVM_VHT_COMMAND_LINE, 0);
	put32(b + off + 8 + 4, 4096);
}
static void e_insert_twice(uint8_t *b, size_t *l)
{
	uint32_t off = find_header(b, IGVM_VHT_PARAMETER_INSERT, 1);
	put32(b + off + 8 + 12, 0);
}
static void e_unknown_type(uint8_t *b, size_t *l)
{
	uint32_t off = find_header(b, IGVM_VHT_REQUIRED_MEMORY, 0);
	put32(b + off, 0x3ff);
}
static void e_padding(uint8_t *b, size_t *l)
{
	uint32_t off = find_header(b, IGVM_VHT_VP_CONTEXT, 0);
	b[off + 8 + 21] = 1;
}
static void e_vp_registers(uint8_t *b, size_t *l)
{
	uint32_t off = find_header(b, IGVM_VHT_VP_CONTEXT, 0);
	uint32_t fo;
	memcpy(&fo, b + off + 8 + 12, 4);
	put32(b + fo, 1000); /* register count past the file end */
}
static void e_platform_mask(uint8_t *b, size_t *l)
{
	put32(b + 24 + 8, 3);
}
static void e_area_size(uint8_t *b, size_t *l)
{
	uint32_t off = find_header(b, IGVM_VHT_PARAMETER_AREA, 1);
	put64(b + off + 8, 100);
}
static void e_ignorable(uint8_t *b, size_t *l)
{
	uint32_t off = find_header(b, IGVM_VHT_REQUIRED_MEMORY, 0);
	put32(b + off, 0x3ff | IGVM_VHT_IGNORABLE);
}

static void test_refusals(void)
{
	with_sample(e_magic, -EBADMSG, "bad magic", false);
	with_sample(e_version, -ENOTSUP, "format version 2", false);
	with_sample(e_truncate, -EBADMSG, "total_file_size", false);
	with_sample(e_vh_unaligned, -EBADMSG, "8-byte aligned", false);
	with_sample(e_vh_past_end, -EBADMSG, "past the file end", false);
	with_sample(e_header_bit, -EBADMSG, "checksum", false);
	with_sample(e_length, -EBADMSG, "runs past the variable headers", true);
	with_sample(e_section_order, -EBADMSG, "after a later section began", true);
	with_sample(e_mask, -EBADMSG, "names no declared platform", true);
	with_sample(e_dup_page, -EBADMSG, "guest page 0x100000 is loaded twice", true);
	with_sample(e_unaligned_page, -EBADMSG, "not 4 KiB aligned", true);
	with_sample(e_page_offset, -EBADMSG, "outside the file data section", true);
	with_sample(e_page_offset_in_headers, -EBADMSG, "outside the file data section", true);
	with_sample(e_param_undeclared, -EBADMSG, "parameter area 7, which is not declared", true);
	with_sample(e_param_offset, -EBADMSG, "outside parameter area 0", true);
	with_sample(e_insert_twice, -EBADMSG, "parameter area 0 inserted twice", true);
	with_sample(e_unknown_type, -ENOTSUP, "unknown type 0x3ff, not ignorable", true);
	with_sample(e_padding, -EBADMSG, "non-zero padding", true);
	with_sample(e_vp_registers, -EBADMSG, "VP context with 1000 registers", true);
	with_sample(e_platform_mask, -EBADMSG, "exactly one bit", true);
	with_sample(e_area_size, -EBADMSG, "not a non-zero page multiple", true);
	expect_refused((const uint8_t *)"IGV", 3, -EBADMSG, "too short");

	/* An unknown type with the ignorable bit is skipped, not refused. */
	uint8_t *buf;
	size_t len;
	struct igvm_summary s;
	char err[256];
	build_sample(&buf, &len);
	e_ignorable(buf, &len);
	fix_checksum(buf);
	int r = igvm_parse(buf, len, NULL, NULL, &s, err, sizeof(err));
	if (r)
		fprintf(stderr, "parse: %s\n", err);
	ASSERT_OK(r);
	ASSERT_EQ(s.ignored, 1);
	ASSERT_EQ(s.required_memory, 0);
	free(buf);

	/* The writer refuses what the reader would. */
	struct igvm_builder *b = igvm_builder_new();
	ASSERT_EQ(igvm_add_platform(b, 3, IGVM_PLATFORM_VSM_ISOLATION, 2, 1, 0), -EINVAL);
	ASSERT_EQ(igvm_add_page(b, 0x1234, 1, 0, 0, NULL), -EINVAL);
	ASSERT_EQ(igvm_add_param_area(b, 0, 100, NULL, 0), -EINVAL);
	ASSERT_EQ(igvm_add_param(b, IGVM_VHT_PAGE_DATA, 0, 0), -EINVAL);
	igvm_builder_free(b);
}

/* ---- payload and composition ---- */

static void test_payload(void)
{
	static uint8_t k[5000], i[3000];
	const char *cmd = "mhcl.boot_cpus=2";
	const uint8_t dtb[12] = {0xd0, 0x0d, 0xfe, 0xed};
	uint8_t *p;
	size_t len;
	struct mhcl_payload_header h;
	char err[256];

	memset(k, 0xaa, sizeof(k));
	memset(i, 0x55, sizeof(i));
	ASSERT_OK(payload_build((struct blob){k, sizeof(k)}, (struct blob){i, sizeof(i)},
				(struct blob){(const uint8_t *)cmd, strlen(cmd)},
				(struct blob){dtb, sizeof(dtb)}, &p, &len));
	ASSERT_OK(payload_parse(p, len, &h, err, sizeof(err)));
	/* boot/mkpayload.py's layout: header page, kernel and initrd page aligned, then the
	 * command line, then the manifest 8-byte aligned. */
	ASSERT_UEQ(h.item[MHCL_PAYLOAD_KERNEL].offset, 4096);
	ASSERT_UEQ(h.item[MHCL_PAYLOAD_INITRD].offset, 12288);
	ASSERT_UEQ(h.item[MHCL_PAYLOAD_CMDLINE].offset, 12288 + 3000);
	ASSERT_UEQ(h.item[MHCL_PAYLOAD_MANIFEST].offset, (12288 + 3000 + 16 + 7) / 8 * 8);
	ASSERT_UEQ(h.total_size, len);
	ASSERT_OK(memcmp(p + 12288, i, sizeof(i)));
	/* Overlapping items are refused. */
	h.item[MHCL_PAYLOAD_INITRD].offset = 4096 + 4096;
	memcpy(p, &h, sizeof(h));
	ASSERT_EQ(payload_parse(p, len, &h, err, sizeof(err)), -EBADMSG);
	ASSERT_TRUE(strstr(err, "initrd overlaps kernel") != NULL);
	free(p);
}

/* A minimal PVH ELF: one PT_LOAD at 1 MiB and the Xen PHYS32 entry note. */
static size_t make_elf(uint8_t *buf, uint32_t entry)
{
	Elf64_Ehdr eh = {0};
	Elf64_Phdr ph[2] = {{0}};
	const size_t code_off = 0x200, note_off = 0x180, code_size = 0x1800;

	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_EXEC;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_phoff = sizeof(eh);
	eh.e_ehsize = sizeof(eh);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_phnum = 2;
	ph[0].p_type = PT_LOAD;
	ph[0].p_offset = code_off;
	ph[0].p_paddr = ph[0].p_vaddr = 0x100000;
	ph[0].p_filesz = code_size;
	ph[0].p_memsz = code_size + 0x3000; /* .bss */
	ph[1].p_type = PT_NOTE;
	ph[1].p_offset = note_off;
	ph[1].p_filesz = sizeof(Elf64_Nhdr) + 4 + 4;
	memcpy(buf, &eh, sizeof(eh));
	memcpy(buf + sizeof(eh), ph, sizeof(ph));
	Elf64_Nhdr nh = {.n_namesz = 4, .n_descsz = 4, .n_type = XEN_ELFNOTE_PHYS32_ENTRY};
	memcpy(buf + note_off, &nh, sizeof(nh));
	memcpy(buf + note_off + sizeof(nh), "Xen", 4);
	memcpy(buf + note_off + sizeof(nh) + 4, &entry, 4);
	/* The mhcl IGVM entry note: "MHCL\0" padded to 8, then the address. */
	size_t n2 = note_off + sizeof(nh) + 8;
	Elf64_Nhdr nh2 = {.n_namesz = 5, .n_descsz = 4, .n_type = MHCL_ELFNOTE_IGVM_ENTRY};
	uint32_t igvm_entry = entry + 0x333;
	memcpy(buf + n2, &nh2, sizeof(nh2));
	memcpy(buf + n2 + sizeof(nh2), "MHCL", 5);
	memcpy(buf + n2 + sizeof(nh2) + 8, &igvm_entry, 4);
	ph[1].p_filesz = n2 + sizeof(nh2) + 8 + 4 - note_off;
	memcpy(buf + sizeof(eh), ph, sizeof(ph));
	for (size_t i = 0; i < code_size; i++)
		buf[code_off + i] = (uint8_t)(i | 1);
	return code_off + code_size;
}

struct compose_check {
	const uint8_t *file;
	const uint8_t *payload;
	uint64_t rip, rbx, cr0;
	uint16_t cs_attr;
	int payload_pages, shim_pages, start_info_ok;
};

static int compose_visit(void *ctx, const struct igvm_header_view *h)
{
	struct compose_check *c = ctx;
	if (h->type == IGVM_VHT_PAGE_DATA) {
		struct igvm_vhs_page_data p;
		memcpy(&p, h->body, sizeof(p));
		if (p.gpa == MHCL_IGVM_PAYLOAD_GPA) {
			ASSERT_OK(memcmp(c->file + p.file_offset, c->payload, 128));
			c->payload_pages++;
		} else if (p.gpa >= MHCL_IGVM_PAYLOAD_GPA) {
			c->payload_pages++;
		} else if (p.gpa >= 0x100000) {
			c->shim_pages++;
		} else if (p.gpa == MHCL_IGVM_INFO_GPA) {
			struct mhcl_igvm_info in;
			memcpy(&in, c->file + p.file_offset, sizeof(in));
			c->start_info_ok = in.magic == MHCL_IGVM_INFO_MAGIC &&
					   in.version == MHCL_IGVM_INFO_VERSION &&
					   in.size == sizeof(in) &&
					   in.payload.gpa == MHCL_IGVM_PAYLOAD_GPA &&
					   in.cmdline.gpa == MHCL_IGVM_CMDLINE_GPA &&
					   in.memmap.gpa == MHCL_IGVM_MEMMAP_GPA &&
					   in.dt.gpa == MHCL_IGVM_DT_GPA &&
					   in.dt.size == MHCL_IGVM_DT_PAGES * 4096;
		}
	} else if (h->type == IGVM_VHT_VP_CONTEXT) {
		struct igvm_vhs_vp_context p;
		struct igvm_vbs_vp_context_header vh;
		memcpy(&p, h->body, sizeof(p));
		memcpy(&vh, c->file + p.file_offset, sizeof(vh));
		for (uint32_t i = 0; i < vh.register_count; i++) {
			struct igvm_vbs_vp_context_register r;
			uint32_t name;
			memcpy(&r, c->file + p.file_offset + 4 + i * 32, sizeof(r));
			memcpy(&name, r.register_name, 4);
			ASSERT_EQ(r.vtl, 2);
			if (name == HV_X64_REGISTER_RIP)
				memcpy(&c->rip, r.register_value, 8);
			if (name == HV_X64_REGISTER_RBX)
				memcpy(&c->rbx, r.register_value, 8);
			if (name == HV_X64_REGISTER_CR0)
				memcpy(&c->cr0, r.register_value, 8);
			if (name == HV_X64_REGISTER_CS)
				memcpy(&c->cs_attr, r.register_value + 14, 2);
		}
	}
	return 0;
}

static void test_compose(void)
{
	static uint8_t elf[0x2000], k[9000], i[5000];
	uint8_t *pay, *out;
	size_t pay_len, out_len, elf_len = make_elf(elf, 0x100123);
	struct pvh_elf e;
	char err[256];

	ASSERT_OK(pvh_elf_parse(elf, elf_len, &e, err, sizeof(err)));
	ASSERT_EQ(e.entry, 0x100123);
	ASSERT_EQ(e.igvm_entry, 0x100456);
	ASSERT_EQ(e.nseg, 1);
	memset(k, 1, sizeof(k));
	memset(i, 2, sizeof(i));
	ASSERT_OK(payload_build((struct blob){k, sizeof(k)}, (struct blob){i, sizeof(i)},
				(struct blob){0}, (struct blob){0}, &pay, &pay_len));
	int r = image_compose_igvm((struct blob){elf, elf_len}, (struct blob){pay, pay_len}, &out,
				   &out_len, err, sizeof(err));
	if (r)
		fprintf(stderr, "compose: %s\n", err);
	ASSERT_OK(r);
	struct compose_check c = {.file = out, .payload = pay};
	struct igvm_summary s;
	ASSERT_OK(igvm_parse(out, out_len, compose_visit, &c, &s, err, sizeof(err)));
	ASSERT_UEQ(c.rip, 0x100456); /* the IGVM entry, not the PVH one */
	ASSERT_UEQ(c.rbx, MHCL_IGVM_INFO_GPA);
	ASSERT_UEQ(c.cr0 & 1, 1);
	ASSERT_EQ(c.cs_attr, 0xc09b);
	ASSERT_TRUE(c.start_info_ok);
	ASSERT_EQ(c.payload_pages, (int)((pay_len + 4095) / 4096));
	ASSERT_EQ(c.shim_pages, (0x1800 + 0x3000 + 4095) / 4096);
	ASSERT_EQ(s.platforms, 1);
	ASSERT_EQ(s.inserts, 3);
	ASSERT_EQ(s.params, 3);
	ASSERT_EQ(s.vp_contexts, 1);
	free(out);

	/* An ELF without the IGVM entry note is refused (the image would start nowhere). */
	elf[0x180 + sizeof(Elf64_Nhdr) + 8 + sizeof(Elf64_Nhdr)] = 'Y';
	ASSERT_EQ(image_compose_igvm((struct blob){elf, elf_len}, (struct blob){pay, pay_len}, &out,
				     &out_len, err, sizeof(err)),
		  -ENOENT);
	ASSERT_TRUE(strstr(err, "no IGVM entry note") != NULL);
	elf[0x180 + sizeof(Elf64_Nhdr) + 8 + sizeof(Elf64_Nhdr)] = 'M';

	/* An ELF without the PVH note is refused. */
	memset(elf + 0x180 + sizeof(Elf64_Nhdr), 'Y', 1);
	ASSERT_EQ(image_compose_igvm((struct blob){elf, elf_len}, (struct blob){pay, pay_len}, &out,
				     &out_len, err, sizeof(err)),
		  -ENOENT);
	ASSERT_TRUE(strstr(err, "no PVH entry note") != NULL);
	free(pay);
}

/* ---- fuzz seeds ---- */

static void write_seed(const char *dir, const char *name, const uint8_t *buf, size_t len)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

static int write_seeds(const char *dir)
{
	uint8_t *buf;
	size_t len;
	build_sample(&buf, &len);
	write_seed(dir, "sample.igvm", buf, len);
	free(buf);

	/* The smallest valid file: one platform header. */
	struct igvm_builder *b = igvm_builder_new();
	ASSERT_OK(igvm_add_platform(b, 1, IGVM_PLATFORM_NATIVE, 0, 1, 0));
	ASSERT_OK(igvm_finish(b, &buf, &len));
	write_seed(dir, "platform-only.igvm", buf, len);
	free(buf);
	igvm_builder_free(b);

	static uint8_t elf[0x2000], k[4096], i[4096];
	uint8_t *pay;
	size_t pay_len, elf_len = make_elf(elf, 0x100000);
	char err[256];
	memset(k, 3, sizeof(k));
	memset(i, 4, sizeof(i));
	ASSERT_OK(payload_build((struct blob){k, sizeof(k)}, (struct blob){i, sizeof(i)},
				(struct blob){(const uint8_t *)"x", 1}, (struct blob){0}, &pay,
				&pay_len));
	write_seed(dir, "pvh.elf", elf, elf_len);
	ASSERT_OK(image_compose_igvm((struct blob){elf, elf_len}, (struct blob){pay, pay_len}, &buf,
				     &len, err, sizeof(err)));
	write_seed(dir, "composed.igvm", buf, len);
	free(buf);
	free(pay);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--seeds"))
		return write_seeds(argv[2]);
	test_layouts();
	test_round_trip();
	test_refusals();
	test_payload();
	test_compose();
	printf("ok\n");
	return 0;
}
