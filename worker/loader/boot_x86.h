/* SPDX-License-Identifier: MIT */
/*
 * Loads a Linux bzImage, its initrd and command line into guest RAM following the x86
 * boot protocol, builds the zero page (with the e820 map) and identity page tables, and
 * returns the register state for the 64-bit entry point.
 */
#ifndef MHCL_WORKER_BOOT_X86_H
#define MHCL_WORKER_BOOT_X86_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "guestmem.h"

/* Low-memory layout. [BOOT_LOW_RESERVED, 1 MiB) is reserved in the e820 map; the ACPI
 * tables live there. */
#define BOOT_GDT_GPA 0x500ull
#define BOOT_ZERO_PAGE_GPA 0x7000ull
#define BOOT_STACK_TOP 0x8ff0ull
#define BOOT_PML4_GPA 0x9000ull
#define BOOT_PDPT_GPA 0xa000ull
#define BOOT_PD_GPA 0xb000ull /* 4 pages: identity map of the low 4 GiB in 2 MiB pages */
#define BOOT_CMDLINE_GPA 0x20000ull
#define BOOT_CMDLINE_MAX 4096u
#define BOOT_LOW_RESERVED 0x9fc00ull
#define BOOT_ACPI_GPA 0xe0000ull
#define BOOT_ACPI_SIZE 0x20000ull
#define BOOT_HIGH_MEMORY 0x100000ull
#define BOOT_DEFAULT_LOAD 0x100000ull

struct boot_image {
	const uint8_t *kernel; /* bzImage bytes, borrowed */
	size_t kernel_len;
	const uint8_t *initrd; /* may be NULL */
	size_t initrd_len;
	const char *cmdline;
	uint64_t rsdp_gpa; /* 0: none */
};

/* The size of the worker's guest RAM: one range from guest physical 0 (guestmem_create),
 * which the e820 and IGVM memory maps describe as such. */
static inline uint64_t boot_ram_size(const struct guestmem *ram)
{
	return ram->layout.ranges[0].size;
}

/* Validates the bzImage header, copies everything into ram (borrowed, the worker's: see
 * boot_ram_size) and fills ret_state. Returns -ENOEXEC for an image that is not a
 * 64-bit-capable bzImage, -E2BIG when it does not fit in RAM. */
int boot_x86_load_linux(const struct guestmem *ram, const struct boot_image *img,
			struct x86_boot_state *ret_state);

#endif
