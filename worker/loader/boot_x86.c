/* SPDX-License-Identifier: MIT */
#include "boot_x86.h"

#include <errno.h>
#include <string.h>

#include "defs/boot_params.h"
#include "macros.h"

#define PTE_PRESENT (1ull << 0)
#define PTE_WRITE (1ull << 1)
#define PTE_LARGE (1ull << 7)

/* Selectors of the flat code and data descriptors the 64-bit entry expects (boot.rst). */
#define BOOT_GDT_CS 0x10
#define BOOT_GDT_DS 0x18

#define CR0_PE (1ull << 0)
#define CR0_ET (1ull << 4)
#define CR0_PG (1ull << 31)
#define CR4_PAE (1ull << 5)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)

static int write_page_tables(const struct guestmem *ram)
{
	uint64_t pml4e = BOOT_PDPT_GPA | PTE_PRESENT | PTE_WRITE;
	int r;

	r = guestmem_write(ram, BOOT_PML4_GPA, &pml4e, sizeof(pml4e));
	if (r < 0)
		return r;
	for (uint64_t i = 0; i < 4; i++) {
		uint64_t pdpte = (BOOT_PD_GPA + i * 4096) | PTE_PRESENT | PTE_WRITE;
		r = guestmem_write(ram, BOOT_PDPT_GPA + i * 8, &pdpte, sizeof(pdpte));
		if (r < 0)
			return r;
	}
	for (uint64_t i = 0; i < 4 * 512; i++) {
		uint64_t pde = (i << 21) | PTE_PRESENT | PTE_WRITE | PTE_LARGE;
		r = guestmem_write(ram, BOOT_PD_GPA + i * 8, &pde, sizeof(pde));
		if (r < 0)
			return r;
	}
	return 0;
}

static int write_gdt(const struct guestmem *ram)
{
	/* Null, unused, then the flat 64-bit code and data descriptors at the selectors the
	 * boot protocol names (0x10, 0x18). */
	const uint64_t gdt[4] = {0, 0, 0x00af9b000000ffffull, 0x00cf93000000ffffull};
	return guestmem_write(ram, BOOT_GDT_GPA, gdt, sizeof(gdt));
}

static void e820_add(struct boot_params *bp, uint64_t addr, uint64_t size, uint32_t type)
{
	if (size == 0 || bp->e820_entries >= BP_E820_MAX_ENTRIES)
		return;
	bp->e820_table[bp->e820_entries++] = (struct bp_e820_entry){addr, size, type};
}

int boot_x86_load_linux(const struct guestmem *ram, const struct boot_image *img,
			struct x86_boot_state *ret_state)
{
	struct bp_setup_header hdr;
	struct boot_params bp;
	size_t hdr_len, pm_off, pm_len, cmd_len;
	uint64_t load, need, initrd_gpa = 0;
	int r;

	if (img->kernel_len < 0x1000)
		return -ENOEXEC;
	memcpy(&hdr, img->kernel + BP_SETUP_HEADER_OFFSET, sizeof(hdr));
	if (hdr.header != BP_HDRS_MAGIC || hdr.boot_flag != BP_BOOT_FLAG || hdr.version < 0x020c ||
	    !(hdr.xloadflags & BP_XLF_KERNEL_64))
		return -ENOEXEC;
	/* The header's own extent: the jump at 0x200 skips it, so its second byte + 0x202 is
	 * where the setup code starts. Copy exactly that much of the header. */
	hdr_len = 0x202 + img->kernel[0x201] - BP_SETUP_HEADER_OFFSET;
	hdr_len = MIN(hdr_len, sizeof(hdr));

	pm_off = ((size_t)(hdr.setup_sects ? hdr.setup_sects : 4) + 1) * 512;
	if (pm_off >= img->kernel_len)
		return -ENOEXEC;
	pm_len = img->kernel_len - pm_off;

	load = BOOT_DEFAULT_LOAD;
	if (hdr.relocatable_kernel && hdr.pref_address >= BOOT_HIGH_MEMORY &&
	    guestmem_layout_contains(&ram->layout, hdr.pref_address, 1))
		load = hdr.pref_address;
	need = MAX((uint64_t)hdr.init_size, (uint64_t)pm_len);
	if (!guestmem_layout_contains(&ram->layout, load, need))
		return -E2BIG;
	r = guestmem_write(ram, load, img->kernel + pm_off, pm_len);
	if (r < 0)
		return r;

	if (img->initrd_len) {
		uint64_t top = MIN(boot_ram_size(ram), (uint64_t)hdr.initrd_addr_max + 1);
		if (img->initrd_len > top)
			return -E2BIG;
		initrd_gpa = (top - img->initrd_len) & ~0xfffull;
		if (initrd_gpa < load + need)
			return -E2BIG;
		r = guestmem_write(ram, initrd_gpa, img->initrd, img->initrd_len);
		if (r < 0)
			return r;
	}

	cmd_len = strlen(img->cmdline);
	if (cmd_len + 1 > BOOT_CMDLINE_MAX || (hdr.cmdline_size && cmd_len > hdr.cmdline_size))
		return -E2BIG;
	r = guestmem_write(ram, BOOT_CMDLINE_GPA, img->cmdline, cmd_len + 1);
	if (r < 0)
		return r;

	memset(&bp, 0, sizeof(bp));
	memcpy(&bp.hdr, img->kernel + BP_SETUP_HEADER_OFFSET, hdr_len);
	bp.hdr.type_of_loader = BP_LOADER_TYPE_UNDEFINED;
	bp.hdr.loadflags |= BP_LOADED_HIGH | BP_CAN_USE_HEAP;
	bp.hdr.vid_mode = 0xffff;
	bp.hdr.code32_start = (uint32_t)load;
	bp.hdr.cmd_line_ptr = (uint32_t)BOOT_CMDLINE_GPA;
	bp.hdr.ramdisk_image = (uint32_t)initrd_gpa;
	bp.hdr.ramdisk_size = (uint32_t)img->initrd_len;
	bp.acpi_rsdp_addr = img->rsdp_gpa;
	e820_add(&bp, 0, BOOT_LOW_RESERVED, BP_E820_RAM);
	e820_add(&bp, BOOT_LOW_RESERVED, BOOT_HIGH_MEMORY - BOOT_LOW_RESERVED, BP_E820_RESERVED);
	e820_add(&bp, BOOT_HIGH_MEMORY, boot_ram_size(ram) - BOOT_HIGH_MEMORY, BP_E820_RAM);
	r = guestmem_write(ram, BOOT_ZERO_PAGE_GPA, &bp, sizeof(bp));
	if (r < 0)
		return r;

	r = write_page_tables(ram);
	if (r < 0)
		return r;
	r = write_gdt(ram);
	if (r < 0)
		return r;

	*ret_state = (struct x86_boot_state){
	    .rip = load + BP_KERNEL64_ENTRY_OFFSET,
	    .rsp = BOOT_STACK_TOP,
	    .rsi = BOOT_ZERO_PAGE_GPA,
	    .rflags = 0x2,
	    .cr0 = CR0_PE | CR0_ET | CR0_PG,
	    .cr3 = BOOT_PML4_GPA,
	    .cr4 = CR4_PAE,
	    .efer = EFER_LME | EFER_LMA,
	    .cs = {.limit = 0xffffffff,
		   .selector = BOOT_GDT_CS,
		   .type = 0xb,
		   .present = 1,
		   .s = 1,
		   .l = 1,
		   .g = 1},
	    .ds = {.limit = 0xffffffff,
		   .selector = BOOT_GDT_DS,
		   .type = 0x3,
		   .present = 1,
		   .s = 1,
		   .db = 1,
		   .g = 1},
	    .gdt_base = BOOT_GDT_GPA,
	    .gdt_limit = 4 * 8 - 1,
	};
	return 0;
}
