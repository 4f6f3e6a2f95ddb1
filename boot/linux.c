/* SPDX-License-Identifier: MIT */
/*
 * Linux hand-off through the 64-bit boot protocol (Documentation/x86/boot.rst):
 * protected-mode kernel copied to an aligned address with init_size bytes of
 * RAM, zero page with the image's setup header, e820, command line, initrd
 * (left in place inside the payload), RSDP and the device tree as SETUP_DTB.
 * Entry at load + 0x200 in long mode, RSI = zero page, identity map, GDT with
 * 0x10/0x18, interrupts off.
 */
#include <string.h>

#include "rt.h"
#include "shim.h"
#include "x86.h"

#define DTB_ROOM (64u * 1024u)
#define MIN_PROTOCOL 0x020c /* 2.12: xloadflags and the 64-bit entry */

_Noreturn void shim_enter_linux(uint64_t entry, uint64_t boot_params);

static struct boot_params zero_page __attribute__((aligned(4096)));
static char linux_cmdline[SHIM_MAX_CMDLINE] __attribute__((aligned(16)));
static uint8_t setup_dtb[sizeof(struct shim_setup_data) + DTB_ROOM] __attribute__((aligned(4096)));

static uint64_t kernel_need; /* init_size window at s->kernel_load */

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

static bool window_free(const struct shim *s, uint64_t base, uint64_t size)
{
	if (base + size < base || base + size > (1ull << 32) || !shim_fw_is_ram(s, base, size))
		return false;
	if (overlaps(base, size, s->mod_base, s->mod_size))
		return false;
	for (uint32_t i = 0; i < s->reserved_count; i++)
		if (overlaps(base, size, s->reserved[i].base, s->reserved[i].size))
			return false;
	return base >= 0x100000;
}

void shim_linux_load(struct shim *s)
{
	const struct mhcl_payload_item *k = &s->payload.item[MHCL_PAYLOAD_KERNEL];
	const uint8_t *img = (const uint8_t *)(uintptr_t)(s->mod_base + k->offset);
	__typeof__(zero_page.hdr) h;

	if (k->size < 0x1000)
		rt_panic("refusing to boot: kernel of %lu bytes is no bzImage",
			 (unsigned long)k->size);
	memcpy(&h, img + SHIM_SETUP_HEADER_OFFSET, sizeof(h));
	if (h.header != SHIM_HDRS_MAGIC || h.boot_flag != SHIM_BOOT_FLAG)
		rt_panic("refusing to boot: kernel has no Linux boot header");
	if (h.version < MIN_PROTOCOL || !(h.xloadflags & SHIM_XLF_KERNEL_64))
		rt_panic("refusing to boot: boot protocol %x without a 64-bit entry", h.version);
	uint64_t setup = ((uint64_t)(h.setup_sects ? h.setup_sects : 4) + 1) * 512;
	if (setup >= k->size)
		rt_panic("refusing to boot: kernel setup (%lu bytes) covers the whole image",
			 (unsigned long)setup);
	uint64_t pm_size = k->size - setup;
	uint64_t align = h.kernel_alignment;
	if (!align || (align & (align - 1)) || align > (1ull << 30))
		rt_panic("refusing to boot: kernel_alignment 0x%lx", (unsigned long)align);
	uint64_t need = h.init_size > pm_size ? h.init_size : pm_size;

	/* The preferred address, else the first aligned free window above it. */
	uint64_t load = h.pref_address;
	if (!window_free(s, load, need)) {
		if (!h.relocatable_kernel)
			rt_panic("refusing to boot: kernel is not relocatable and 0x%lx is taken",
				 (unsigned long)load);
		for (load = RT_ALIGN_UP(0x1000000ull, align); load < (1ull << 32); load += align)
			if (window_free(s, load, need))
				break;
		if (load >= (1ull << 32))
			rt_panic("refusing to boot: no room for the kernel (%lu bytes)",
				 (unsigned long)need);
	}
	memcpy((void *)(uintptr_t)load, img + setup, pm_size);
	s->kernel_load = load;
	kernel_need = need;
	shim_reserve(s, load, need); /* keeps the e820 builder from reusing it; removed below */

	/* Zero page: the image's own setup header, then what a boot loader fills in. */
	memset(&zero_page, 0, sizeof(zero_page));
	size_t hdr_len = 0x202 + img[0x201] - SHIM_SETUP_HEADER_OFFSET;
	if (hdr_len > sizeof(zero_page.hdr))
		hdr_len = sizeof(zero_page.hdr);
	memcpy(&zero_page.hdr, img + SHIM_SETUP_HEADER_OFFSET, hdr_len);
	rt_log("kernel loaded: protocol %x, %lu bytes at 0x%lx (init_size 0x%x)", h.version,
	       (unsigned long)pm_size, (unsigned long)load, h.init_size);
}

_Noreturn void shim_linux_boot(struct shim *s)
{
	__typeof__(zero_page.hdr) *h = &zero_page.hdr;
	const struct mhcl_payload_item *rd = &s->payload.item[MHCL_PAYLOAD_INITRD];
	struct shim_range e820[SHIM_E820_MAX];
	uint64_t initrd = s->mod_base + rd->offset;

	/* Linux needs the kernel window as RAM: drop the temporary reservation. */
	s->reserved_count--;

	h->type_of_loader = SHIM_LOADER_UNDEFINED;
	h->loadflags |= SHIM_LOADED_HIGH;
	/*
	 * initrd_addr_max binds unless the kernel takes its ramdisk anywhere
	 * (XLF_CAN_BE_LOADED_ABOVE_4G); otherwise move it below the limit.
	 */
	if (initrd + rd->size - 1 > h->initrd_addr_max && !(h->xloadflags & SHIM_XLF_ABOVE_4G)) {
		uint64_t size = RT_ALIGN_UP(rd->size, 4096ull);
		uint64_t to = RT_ALIGN_DOWN((uint64_t)h->initrd_addr_max + 1 - size, 0x200000ull);
		while (to >= 0x1000000 && !(window_free(s, to, size) &&
					    !overlaps(to, size, s->kernel_load, kernel_need)))
			to -= 0x200000;
		if (to < 0x1000000)
			rt_panic("refusing to boot: no room for the initrd below initrd_addr_max 0x%x",
				 h->initrd_addr_max);
		memmove((void *)(uintptr_t)to, (const void *)(uintptr_t)initrd, rd->size);
		rt_log("initrd moved from 0x%lx to 0x%lx (below initrd_addr_max)",
		       (unsigned long)initrd, (unsigned long)to);
		initrd = to;
	}
	h->ramdisk_image = (uint32_t)initrd;
	h->ramdisk_size = (uint32_t)rd->size;
	zero_page.ext_ramdisk_image = (uint32_t)(initrd >> 32);
	zero_page.ext_ramdisk_size = (uint32_t)(rd->size >> 32);

	rt_snprintf(linux_cmdline, sizeof(linux_cmdline), "%s maxcpus=%u", s->cmdline,
		    s->opts.boot_cpus);
	if (strlen(linux_cmdline) + 1 > h->cmdline_size + 1ull)
		rt_panic("refusing to boot: command line longer than the kernel's %u bytes",
			 h->cmdline_size);
	h->cmd_line_ptr = (uint32_t)(uintptr_t)linux_cmdline;
	zero_page.ext_cmd_line_ptr = 0;
	zero_page.acpi_rsdp_addr = s->rsdp;

	struct shim_setup_data *sd = (struct shim_setup_data *)setup_dtb;
	shim_dt_build(s, sd, DTB_ROOM, linux_cmdline);
	h->setup_data = (uint64_t)(uintptr_t)sd;

	int n = shim_e820_build(s->fw_map, s->fw_count, s->host_mem ? s->topo.mem : NULL,
				s->host_mem ? s->topo.mem_count : 0, s->reserved, s->reserved_count,
				e820, SHIM_E820_MAX);
	if (n <= 0)
		rt_panic("refusing to boot: cannot build the e820 map (%d)", n);
	for (int i = 0; i < n; i++) {
		zero_page.e820_table[i].addr = e820[i].base;
		zero_page.e820_table[i].size = e820[i].size;
		zero_page.e820_table[i].type = e820[i].type;
	}
	zero_page.e820_entries = (uint8_t)n;
	for (int i = 0; i < n; i++)
		rt_log("  e820 [0x%012lx, 0x%012lx) %s", (unsigned long)e820[i].base,
		       (unsigned long)(e820[i].base + e820[i].size),
		       e820[i].type == SHIM_E820_RAM	    ? "RAM"
		       : e820[i].type == SHIM_E820_RESERVED ? "reserved"
		       : e820[i].type == SHIM_E820_ACPI	    ? "ACPI"
		       : e820[i].type == SHIM_E820_NVS	    ? "ACPI NVS"
							    : "other");
	rt_log("boot_params ready: %d e820 entries, initrd 0x%lx+0x%lx, cmdline \"%s\"", n,
	       (unsigned long)initrd, (unsigned long)rd->size, linux_cmdline);
	rt_log("entering Linux at 0x%lx", (unsigned long)(s->kernel_load + SHIM_ENTRY64_OFFSET));
	shim_enter_linux(s->kernel_load + SHIM_ENTRY64_OFFSET, (uint64_t)(uintptr_t)&zero_page);
}
