/* SPDX-License-Identifier: MIT */
/* The IGVM form of an mhcl image: layout in defs/mhcl_igvm.h. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "igvm.h"
#include "image.h"

static void reg_u64(struct igvm_vp_register *r, uint32_t name, uint64_t v)
{
	memset(r, 0, sizeof(*r));
	r->vtl = 2;
	r->name = name;
	memcpy(r->value, &v, sizeof(v));
}

static void reg_seg(struct igvm_vp_register *r, uint32_t name, uint16_t sel, uint32_t limit,
		    uint16_t attr)
{
	struct hv_x64_segment_register s = {
	    .base = 0, .limit = limit, .selector = sel, .attributes = attr};
	memset(r, 0, sizeof(*r));
	r->vtl = 2;
	r->name = name;
	memcpy(r->value, &s, sizeof(s));
}

/* Adds [gpa, gpa + memsz) as pages: file bytes first, zeroes after. */
static int add_region(struct igvm_builder *b, uint64_t gpa, const uint8_t *data, uint64_t filesz,
		      uint64_t memsz)
{
	static uint8_t page[IGVM_PAGE_SIZE];
	uint64_t start = gpa & ~(uint64_t)(IGVM_PAGE_SIZE - 1);
	uint64_t end = (gpa + memsz + IGVM_PAGE_SIZE - 1) & ~(uint64_t)(IGVM_PAGE_SIZE - 1);

	for (uint64_t p = start; p < end; p += IGVM_PAGE_SIZE) {
		memset(page, 0, sizeof(page));
		/* The part of this page that file bytes cover. */
		uint64_t lo = p < gpa ? gpa : p, hi = p + IGVM_PAGE_SIZE;
		if (hi > gpa + filesz)
			hi = gpa + filesz;
		if (lo < hi)
			memcpy(page + (lo - p), data + (lo - gpa), hi - lo);
		int r = igvm_add_page(b, p, MHCL_IGVM_COMPAT_MASK, 0, IGVM_PAGE_DATA_NORMAL, page);
		if (r < 0)
			return r;
	}
	return 0;
}

int image_compose_igvm(struct blob shim_elf, struct blob payload, uint8_t **ret_buf,
		       size_t *ret_len, char *err, size_t errlen)
{
	struct pvh_elf elf;
	struct mhcl_payload_header ph;
	struct igvm_builder *b = NULL;
	int r;

	if (err && errlen)
		err[0] = '\0';
	if ((r = pvh_elf_parse(shim_elf.data, shim_elf.size, &elf, err, errlen)) < 0)
		return r;
	if ((r = payload_parse(payload.data, payload.size, &ph, err, errlen)) < 0)
		return r;
	if (!elf.igvm_entry) {
		snprintf(err, errlen,
			 "ELF: no IGVM entry note (" MHCL_ELFNOTE_NAME
			 ", type %u): not an mhcl shim "
			 "with an IGVM entry",
			 MHCL_ELFNOTE_IGVM_ENTRY);
		return -ENOENT;
	}
	bool entry_in_image = false;
	for (unsigned i = 0; i < elf.nseg; i++)
		if (elf.igvm_entry >= elf.seg[i].paddr &&
		    elf.igvm_entry < elf.seg[i].paddr + elf.seg[i].filesz)
			entry_in_image = true;
	if (!entry_in_image) {
		snprintf(err, errlen, "ELF: IGVM entry 0x%x is not inside a loaded segment",
			 elf.igvm_entry);
		return -EINVAL;
	}
	uint64_t pay_end = MHCL_IGVM_PAYLOAD_GPA +
			   ((payload.size + IGVM_PAGE_SIZE - 1) & ~(uint64_t)(IGVM_PAGE_SIZE - 1));
	if (pay_end > 0x100000000ull) {
		snprintf(err, errlen, "payload of %zu bytes does not fit below 4 GiB",
			 payload.size);
		return -EFBIG;
	}
	/* The shim must not overlap the fixed pages or the payload. */
	for (unsigned i = 0; i < elf.nseg; i++) {
		uint64_t lo = elf.seg[i].paddr, hi = lo + elf.seg[i].memsz;
		if (lo < MHCL_IGVM_DT_GPA + MHCL_IGVM_DT_PAGES * IGVM_PAGE_SIZE ||
		    hi > MHCL_IGVM_PAYLOAD_GPA) {
			snprintf(
			    err, errlen,
			    "shim segment [0x%llx, 0x%llx) overlaps the IGVM layout's fixed pages "
			    "or payload",
			    (unsigned long long)lo, (unsigned long long)hi);
			return -EINVAL;
		}
	}

	b = igvm_builder_new();
	if (!b)
		return -ENOMEM;
	if ((r = igvm_add_platform(b, MHCL_IGVM_COMPAT_MASK, IGVM_PLATFORM_VSM_ISOLATION, 2,
				   IGVM_VSM_ISOLATION_PLATFORM_VERSION, 0)) < 0)
		goto out;

	/* Parameter areas the loader fills, then where each goes. */
	if ((r = igvm_add_param_area(b, MHCL_IGVM_AREA_CMDLINE,
				     MHCL_IGVM_CMDLINE_PAGES * IGVM_PAGE_SIZE, NULL, 0)) < 0 ||
	    (r = igvm_add_param(b, IGVM_VHT_COMMAND_LINE, MHCL_IGVM_AREA_CMDLINE, 0)) < 0 ||
	    (r = igvm_add_param_area(b, MHCL_IGVM_AREA_MEMMAP,
				     MHCL_IGVM_MEMMAP_PAGES * IGVM_PAGE_SIZE, NULL, 0)) < 0 ||
	    (r = igvm_add_param(b, IGVM_VHT_MEMORY_MAP, MHCL_IGVM_AREA_MEMMAP, 0)) < 0 ||
	    (r = igvm_add_param_area(b, MHCL_IGVM_AREA_DT, MHCL_IGVM_DT_PAGES * IGVM_PAGE_SIZE,
				     NULL, 0)) < 0 ||
	    (r = igvm_add_param(b, IGVM_VHT_DEVICE_TREE, MHCL_IGVM_AREA_DT, 0)) < 0)
		goto out;

	/* The info page: where the image put the payload and the parameter areas. */
	uint8_t info_page[IGVM_PAGE_SIZE] = {0};
	struct mhcl_igvm_info info = {
	    .magic = MHCL_IGVM_INFO_MAGIC,
	    .version = MHCL_IGVM_INFO_VERSION,
	    .size = sizeof(info),
	    .payload = {MHCL_IGVM_PAYLOAD_GPA, payload.size},
	    .cmdline = {MHCL_IGVM_CMDLINE_GPA, MHCL_IGVM_CMDLINE_PAGES * IGVM_PAGE_SIZE},
	    .memmap = {MHCL_IGVM_MEMMAP_GPA, MHCL_IGVM_MEMMAP_PAGES * IGVM_PAGE_SIZE},
	    .dt = {MHCL_IGVM_DT_GPA, MHCL_IGVM_DT_PAGES * IGVM_PAGE_SIZE},
	};
	memcpy(info_page, &info, sizeof(info));
	if ((r = add_region(b, MHCL_IGVM_INFO_GPA, info_page, sizeof(info_page),
			    sizeof(info_page))) < 0)
		goto out;

	for (unsigned i = 0; i < elf.nseg; i++)
		if ((r = add_region(b, elf.seg[i].paddr, shim_elf.data + elf.seg[i].offset,
				    elf.seg[i].filesz, elf.seg[i].memsz)) < 0)
			goto out;
	if ((r = add_region(b, MHCL_IGVM_PAYLOAD_GPA, payload.data, payload.size, payload.size)) <
	    0)
		goto out;

	if ((r = igvm_add_param_insert(b, MHCL_IGVM_CMDLINE_GPA, MHCL_IGVM_COMPAT_MASK,
				       MHCL_IGVM_AREA_CMDLINE)) < 0 ||
	    (r = igvm_add_param_insert(b, MHCL_IGVM_MEMMAP_GPA, MHCL_IGVM_COMPAT_MASK,
				       MHCL_IGVM_AREA_MEMMAP)) < 0 ||
	    (r = igvm_add_param_insert(b, MHCL_IGVM_DT_GPA, MHCL_IGVM_COMPAT_MASK,
				       MHCL_IGVM_AREA_DT)) < 0)
		goto out;

	/* Everything up to the payload's end must be RAM. */
	if ((r = igvm_add_required_memory(b, 0, MHCL_IGVM_COMPAT_MASK, (uint32_t)pay_end, 0)) < 0)
		goto out;

	/* VP 0 in VTL2 at the IGVM entry: 32-bit flat protected mode, paging off. */
	struct igvm_vp_register regs[16];
	unsigned n = 0;
	reg_u64(&regs[n++], HV_X64_REGISTER_CR0, 0x11); /* PE | ET */
	reg_u64(&regs[n++], HV_X64_REGISTER_CR4, 0);
	reg_u64(&regs[n++], HV_X64_REGISTER_EFER, 0);
	reg_seg(&regs[n++], HV_X64_REGISTER_CS, 0x08, 0xffffffff, 0xc09b);
	reg_seg(&regs[n++], HV_X64_REGISTER_DS, 0x10, 0xffffffff, 0xc093);
	reg_seg(&regs[n++], HV_X64_REGISTER_ES, 0x10, 0xffffffff, 0xc093);
	reg_seg(&regs[n++], HV_X64_REGISTER_SS, 0x10, 0xffffffff, 0xc093);
	reg_seg(&regs[n++], HV_X64_REGISTER_FS, 0x10, 0xffffffff, 0xc093);
	reg_seg(&regs[n++], HV_X64_REGISTER_GS, 0x10, 0xffffffff, 0xc093);
	reg_seg(&regs[n++], HV_X64_REGISTER_TR, 0x18, 0x67, 0x008b);
	reg_u64(&regs[n++], HV_X64_REGISTER_RFLAGS, 0x2);
	reg_u64(&regs[n++], HV_X64_REGISTER_RBX, MHCL_IGVM_INFO_GPA);
	reg_u64(&regs[n++], HV_X64_REGISTER_RIP, elf.igvm_entry);
	if ((r = igvm_add_vp_context_vbs(b, MHCL_IGVM_COMPAT_MASK, 0, regs, n)) < 0)
		goto out;

	r = igvm_finish(b, ret_buf, ret_len);
	if (r < 0)
		goto out;
	/* What we wrote must pass our own reader. */
	r = igvm_parse(*ret_buf, *ret_len, NULL, NULL, NULL, err, errlen);
	if (r < 0) {
		free(*ret_buf);
		*ret_buf = NULL;
	}
out:
	if (r < 0 && err && errlen && !err[0])
		snprintf(err, errlen, "unable to compose the IGVM file: %s", strerror(-r));
	igvm_builder_free(b);
	return r;
}
