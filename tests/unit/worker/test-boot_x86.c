/* SPDX-License-Identifier: MIT */
/* bzImage loader: a synthetic image is placed per the boot protocol; bad images and
 * images that do not fit are refused. */
#include <errno.h>

#include "boot_x86.h"
#include "defs/boot_params.h"
#include "test_guestmem.h"

#define RAM (64u << 20)
#define SETUP_SECTS 1
#define PM_LEN 8192

static uint8_t image[(SETUP_SECTS + 1) * 512 + PM_LEN];

static void make_image(void)
{
	struct bp_setup_header h = {0};

	memset(image, 0, sizeof(image));
	h.setup_sects = SETUP_SECTS;
	h.boot_flag = BP_BOOT_FLAG;
	h.header = BP_HDRS_MAGIC;
	h.version = 0x020f;
	h.relocatable_kernel = 1;
	h.pref_address = 0x1000000;
	h.init_size = 0x200000;
	h.initrd_addr_max = 0x7fffffff;
	h.cmdline_size = 2047;
	h.xloadflags = BP_XLF_KERNEL_64;
	h.kernel_alignment = 0x200000;
	memcpy(image + BP_SETUP_HEADER_OFFSET, &h, sizeof(h));
	image[0x200] = 0xeb;
	image[0x201] = 0x6a; /* header ends at 0x26c */
	for (size_t i = 0; i < PM_LEN; i++)
		image[(SETUP_SECTS + 1) * 512 + i] = (uint8_t)(i * 7 + 1);
}

static void test_load(void)
{
	struct guestmem ram;
	uint8_t initrd[10000];
	struct x86_boot_state st;
	struct boot_params bp;

	make_image();
	memset(initrd, 0x5a, sizeof(initrd));
	ASSERT_OK(guestmem_create(RAM, &ram));
	struct boot_image img = {
	    .kernel = image,
	    .kernel_len = sizeof(image),
	    .initrd = initrd,
	    .initrd_len = sizeof(initrd),
	    .cmdline = "console=ttyS0",
	    .rsdp_gpa = BOOT_ACPI_GPA,
	};
	ASSERT_OK(boot_x86_load_linux(&ram, &img, &st));

	ASSERT_TRUE(memcmp(test_gm_ptr(&ram, 0x1000000, PM_LEN), image + (SETUP_SECTS + 1) * 512,
			   PM_LEN) == 0);
	ASSERT_UEQ(st.rip, 0x1000000 + BP_KERNEL64_ENTRY_OFFSET);
	ASSERT_UEQ(st.rsi, BOOT_ZERO_PAGE_GPA);
	ASSERT_UEQ(st.cr3, BOOT_PML4_GPA);
	ASSERT_EQ(st.cs.l, 1);
	ASSERT_EQ(st.cs.selector, 0x10);
	ASSERT_EQ(st.ds.selector, 0x18);

	ASSERT_OK(guestmem_read(&ram, BOOT_ZERO_PAGE_GPA, &bp, sizeof(bp)));
	ASSERT_EQ(bp.hdr.type_of_loader, BP_LOADER_TYPE_UNDEFINED);
	ASSERT_EQ(bp.hdr.loadflags & BP_LOADED_HIGH, BP_LOADED_HIGH);
	ASSERT_UEQ(bp.hdr.code32_start, 0x1000000);
	ASSERT_UEQ(bp.hdr.cmd_line_ptr, BOOT_CMDLINE_GPA);
	ASSERT_STREQ((const char *)test_gm_ptr(&ram, BOOT_CMDLINE_GPA, sizeof("console=ttyS0")),
		     "console=ttyS0");
	ASSERT_UEQ(bp.acpi_rsdp_addr, BOOT_ACPI_GPA);
	ASSERT_UEQ(bp.hdr.ramdisk_size, sizeof(initrd));
	ASSERT_EQ(bp.hdr.ramdisk_image % 4096, 0);
	ASSERT_LE(bp.hdr.ramdisk_image + sizeof(initrd), RAM);
	ASSERT_GE(bp.hdr.ramdisk_image, 0x1000000 + 0x200000);
	ASSERT_TRUE(memcmp(test_gm_ptr(&ram, bp.hdr.ramdisk_image, sizeof(initrd)), initrd,
			   sizeof(initrd)) == 0);

	/* e820: low RAM, the reserved BIOS/ACPI hole, RAM from 1 MiB to the end. */
	ASSERT_EQ(bp.e820_entries, 3);
	ASSERT_EQ(bp.e820_table[0].type, BP_E820_RAM);
	ASSERT_UEQ(bp.e820_table[0].addr, 0);
	ASSERT_EQ(bp.e820_table[1].type, BP_E820_RESERVED);
	ASSERT_UEQ(bp.e820_table[1].addr + bp.e820_table[1].size, 0x100000);
	ASSERT_LE(bp.e820_table[1].addr, BOOT_ACPI_GPA);
	ASSERT_UEQ(bp.e820_table[2].addr + bp.e820_table[2].size, RAM);

	/* Identity map: the PD entry for 2 MiB page n maps n << 21. */
	uint64_t pde;
	ASSERT_OK(guestmem_read(&ram, BOOT_PD_GPA + 8 * 8, &pde, sizeof(pde)));
	ASSERT_UEQ(pde & ~0xfffull, 8ull << 21);
	ASSERT_OK(guestmem_read(&ram, BOOT_PD_GPA + 2047 * 8, &pde, sizeof(pde)));
	ASSERT_UEQ(pde & ~0xfffull, 2047ull << 21);
	guestmem_release(&ram);
}

static void expect_refused(void (*mutate)(void), uint64_t ram_size, const char *cmdline, int err)
{
	struct guestmem ram;
	struct x86_boot_state st;

	make_image();
	if (mutate)
		mutate();
	ASSERT_OK(guestmem_create(ram_size, &ram));
	struct boot_image img = {.kernel = image, .kernel_len = sizeof(image), .cmdline = cmdline};
	ASSERT_EQ(boot_x86_load_linux(&ram, &img, &st), err);
	guestmem_release(&ram);
}

static void bad_magic(void)
{
	image[0x202] = 'X';
}
static void old_version(void)
{
	image[0x206] = 0x0b;
}
static void no_64bit(void)
{
	image[0x236] = 0;
}
static void huge_setup(void)
{
	image[0x1f1] = 0xff;
}
static void huge_init_size(void)
{
	memset(image + 0x260, 0xff, 4);
}

int main(void)
{
	char longcmd[5000];

	test_load();
	expect_refused(bad_magic, RAM, "", -ENOEXEC);
	expect_refused(old_version, RAM, "", -ENOEXEC);
	expect_refused(no_64bit, RAM, "", -ENOEXEC);
	expect_refused(huge_setup, RAM, "", -ENOEXEC);
	expect_refused(huge_init_size, RAM, "", -E2BIG);
	expect_refused(NULL, 2u << 20, "", -E2BIG); /* 1 MiB + init_size > RAM */
	memset(longcmd, 'a', sizeof(longcmd) - 1);
	longcmd[sizeof(longcmd) - 1] = 0;
	expect_refused(NULL, RAM, longcmd, -E2BIG);
	return 0;
}
