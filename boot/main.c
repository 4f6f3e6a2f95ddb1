/* SPDX-License-Identifier: MIT */
/*
 * Boot shim: the first code of the mhcl image. Entered from x86_64/entry.S in
 * long mode on the boot CPU, through the PVH entry or the IGVM entry. Stages,
 * each logged with a TSC timestamp:
 *   entry -> start info (PVH) or IGVM parameters -> payload -> host device
 *   tree copied (fw_cfg, or the IGVM device tree area) -> command line ->
 *   topology from the host tree or ACPI -> sidecar on the other CPUs -> device
 *   tree -> Linux.
 * Refusals print why on COM1 and halt; nothing untrusted reaches an assert.
 */
#include <errno.h>
#include <string.h>

#include "defs/igvm_defs.h"
#include "defs/mhcl_igvm.h"
#include "rt.h"
#include "shim.h"
#include "x86.h"

void shim_main(uint32_t param_pa, uint32_t entry_kind);

extern uint8_t __image_start[], __image_end[];
extern uint64_t shim_boot_stack_bottom[];

static struct shim shim;
static uint64_t shim_tls[8];
static uint8_t host_dtb[SHIM_HOST_DT_MAX] __attribute__((aligned(8)));

#define LOW4G (1ull << 32)

static bool below_4g(uint64_t pa, uint64_t len)
{
	return pa < LOW4G && len <= LOW4G - pa;
}

void shim_reserve(struct shim *s, uint64_t base, uint64_t size)
{
	if (s->reserved_count >= SHIM_MAX_RESERVED)
		rt_panic("too many reserved ranges");
	s->reserved[s->reserved_count++] = (struct shim_range){base, size, SHIM_E820_RESERVED, 0};
}

bool shim_fw_is_ram(const struct shim *s, uint64_t base, uint64_t size)
{
	for (uint32_t i = 0; i < s->fw_count; i++)
		if (s->fw_map[i].type == SHIM_E820_RAM && s->fw_map[i].base <= base &&
		    base + size <= s->fw_map[i].base + s->fw_map[i].size)
			return true;
	return false;
}

static _Noreturn void refuse(const char *what, const struct shim_error *err)
{
	rt_panic("refusing to boot: %s: %s", what, err->msg);
}

static void stage_check(void)
{
	rt_stack_check(shim_boot_stack_bottom);
}

/* Start info: copy, then validate every pointer before following it. */
static void read_start_info(struct shim *s, uint32_t pa)
{
	if (!pa || (pa & 7))
		rt_panic("refusing to boot: no PVH start info (EBX = 0x%x)", pa);
	memcpy(&s->si, (const void *)(uintptr_t)pa, sizeof(s->si));
	const struct hvm_start_info *si = &s->si;
	if (si->magic != HVM_START_MAGIC)
		rt_panic("refusing to boot: PVH start info magic 0x%x", si->magic);
	if (si->version < 1 || !si->memmap_paddr || !si->memmap_entries)
		rt_panic("refusing to boot: PVH start info v%u has no memory map", si->version);
	if (si->memmap_entries > SHIM_MAX_RANGES ||
	    !below_4g(si->memmap_paddr, si->memmap_entries * sizeof(struct hvm_memmap_table_entry)))
		rt_panic("refusing to boot: PVH memory map (%u entries at 0x%lx) out of range",
			 si->memmap_entries, (unsigned long)si->memmap_paddr);
	for (uint32_t i = 0; i < si->memmap_entries; i++) {
		struct hvm_memmap_table_entry e;
		memcpy(&e, (const void *)(uintptr_t)(si->memmap_paddr + i * sizeof(e)), sizeof(e));
		if (e.addr + e.size < e.addr || !e.size)
			rt_panic("refusing to boot: PVH memory map entry %u wraps or is empty", i);
		s->fw_map[s->fw_count++] = (struct shim_range){e.addr, e.size, e.type, 0};
	}
	uint64_t ram = 0;
	for (uint32_t i = 0; i < s->fw_count; i++)
		if (s->fw_map[i].type == SHIM_E820_RAM)
			ram += s->fw_map[i].size;
	rt_log("start info: %u memory map entries (%lu MiB RAM), %u module(s), rsdp 0x%lx",
	       s->fw_count, (unsigned long)(ram >> 20), si->nr_modules,
	       (unsigned long)si->rsdp_paddr);

	if (si->nr_modules != 1 || !below_4g(si->modlist_paddr, sizeof(struct hvm_modlist_entry)))
		rt_panic("refusing to boot: expected exactly one PVH module (the mhcl payload), "
			 "got %u",
			 si->nr_modules);
	struct hvm_modlist_entry m;
	memcpy(&m, (const void *)(uintptr_t)si->modlist_paddr, sizeof(m));
	if (!below_4g(m.paddr, m.size) || !shim_fw_is_ram(s, m.paddr, m.size))
		rt_panic(
		    "refusing to boot: payload module [0x%lx, +0x%lx) is not in RAM below 4 GiB",
		    (unsigned long)m.paddr, (unsigned long)m.size);
	s->mod_base = m.paddr;
	s->mod_size = m.size;
	s->host_cmdline_pa = si->cmdline_paddr;
	s->host_cmdline_max = SHIM_MAX_CMDLINE;
}

/* ---- IGVM entry: the parameters the image's directives placed ---- */

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/* One region the info page names: page aligned (but the payload's size), non-empty,
 * below 4 GiB, clear of the shim image, at most max bytes. */
static void igvm_region_check(const char *what, const struct mhcl_igvm_region *r, uint64_t max,
			      bool exact_size)
{
	uint64_t img = (uint64_t)(uintptr_t)__image_start;
	uint64_t img_len = (uint64_t)(uintptr_t)(__image_end - __image_start);

	if (!r->size || r->gpa % 4096 || (!exact_size && r->size % 4096) || r->size > max ||
	    !below_4g(r->gpa, r->size) || overlaps(r->gpa, r->size, img, img_len))
		rt_panic("refusing to boot: IGVM %s [0x%lx, +0x%lx) is not a valid area (page "
			 "aligned, below 4 GiB, at most 0x%lx bytes, clear of the shim)",
			 what, (unsigned long)r->gpa, (unsigned long)r->size, (unsigned long)max);
}

static uint32_t igvm_e820_type(uint16_t t)
{
	switch (t) {
	case IGVM_MEMORY_MAP_MEMORY:
	case IGVM_MEMORY_MAP_VTL2_PROTECTABLE:
		return SHIM_E820_RAM;
	case IGVM_MEMORY_MAP_PLATFORM_RESERVED:
		return SHIM_E820_RESERVED;
	case IGVM_MEMORY_MAP_PERSISTENT:
		return 7; /* E820_TYPE_PMEM */
	default:
		return 0;
	}
}

static void read_igvm_params(struct shim *s, uint32_t pa)
{
	struct mhcl_igvm_info in;

	if (pa != MHCL_IGVM_INFO_GPA)
		rt_panic("refusing to boot: IGVM entry with EBX = 0x%x, the image names 0x%x", pa,
			 MHCL_IGVM_INFO_GPA);
	memcpy(&in, (const void *)(uintptr_t)pa, sizeof(in));
	if (in.magic != MHCL_IGVM_INFO_MAGIC || in.version != MHCL_IGVM_INFO_VERSION ||
	    in.size != sizeof(in))
		rt_panic("refusing to boot: IGVM info page magic 0x%lx version %u size %u",
			 (unsigned long)in.magic, in.version, in.size);
	igvm_region_check("command line area", &in.cmdline, 64 * 1024, false);
	igvm_region_check("memory map area", &in.memmap, 64 * 1024, false);
	igvm_region_check("device tree area", &in.dt, SHIM_HOST_DT_MAX, false);
	igvm_region_check("payload", &in.payload, LOW4G, true);
	const struct mhcl_igvm_region *all[] = {&in.cmdline, &in.memmap, &in.dt, &in.payload};
	for (unsigned i = 0; i < 4; i++) {
		if (overlaps(all[i]->gpa, all[i]->size, pa, 4096))
			rt_panic("refusing to boot: IGVM areas overlap the info page");
		for (unsigned j = 0; j < i; j++)
			if (overlaps(all[i]->gpa, all[i]->size, all[j]->gpa, all[j]->size))
				rt_panic("refusing to boot: IGVM areas %u and %u overlap", j, i);
	}

	/* Memory map: each entry copied once, then checked: known type, zero reserved
	 * field, non-empty, no wrap, sorted without overlap; ends at number_of_pages 0. */
	uint32_t max = (uint32_t)(in.memmap.size / sizeof(struct igvm_vhs_memory_map_entry));
	uint64_t prev_end = 0;
	for (uint32_t i = 0; i < max; i++) {
		struct igvm_vhs_memory_map_entry e;
		memcpy(&e, (const void *)(uintptr_t)(in.memmap.gpa + i * sizeof(e)), sizeof(e));
		if (!e.number_of_pages)
			break;
		uint32_t type = igvm_e820_type(e.entry_type);
		if (!type || e.reserved || e.starting_gpa_page_number >= (1ull << 40) ||
		    e.number_of_pages >= (1ull << 40) ||
		    e.starting_gpa_page_number + e.number_of_pages > (1ull << 40))
			rt_panic("refusing to boot: IGVM memory map entry %u (page 0x%lx, 0x%lx "
				 "pages, type %u) not valid",
				 i, (unsigned long)e.starting_gpa_page_number,
				 (unsigned long)e.number_of_pages, e.entry_type);
		uint64_t base = e.starting_gpa_page_number * 4096, size = e.number_of_pages * 4096;
		if (base < prev_end)
			rt_panic(
			    "refusing to boot: IGVM memory map entry %u at 0x%lx not sorted or "
			    "overlapping",
			    i, (unsigned long)base);
		if (s->fw_count == SHIM_MAX_RANGES)
			rt_panic("refusing to boot: IGVM memory map has more than %u entries",
				 SHIM_MAX_RANGES);
		s->fw_map[s->fw_count++] = (struct shim_range){base, size, type, 0};
		prev_end = base + size;
	}
	if (!s->fw_count)
		rt_panic("refusing to boot: IGVM memory map is empty");
	uint64_t ram = 0;
	for (uint32_t i = 0; i < s->fw_count; i++)
		if (s->fw_map[i].type == SHIM_E820_RAM)
			ram += s->fw_map[i].size;
	for (unsigned i = 0; i < 4; i++)
		if (!shim_fw_is_ram(s, all[i]->gpa, all[i]->size))
			rt_panic("refusing to boot: IGVM area [0x%lx, +0x%lx) is not in RAM",
				 (unsigned long)all[i]->gpa, (unsigned long)all[i]->size);
	s->mod_base = in.payload.gpa;
	s->mod_size = in.payload.size;
	s->host_cmdline_pa = in.cmdline.gpa;
	s->host_cmdline_max =
	    in.cmdline.size < SHIM_MAX_CMDLINE ? (uint32_t)in.cmdline.size : SHIM_MAX_CMDLINE;
	s->host_dt_pa = in.dt.gpa;
	s->host_dt_max = (uint32_t)in.dt.size;
	rt_log("IGVM parameters: %u memory map entries (%lu MiB RAM), command line at 0x%lx, "
	       "device tree area at 0x%lx, payload [0x%lx, +0x%lx)",
	       s->fw_count, (unsigned long)(ram >> 20), (unsigned long)in.cmdline.gpa,
	       (unsigned long)in.dt.gpa, (unsigned long)in.payload.gpa,
	       (unsigned long)in.payload.size);
}

static void read_payload(struct shim *s)
{
	struct shim_error err;
	const uint8_t *mod = (const uint8_t *)(uintptr_t)s->mod_base;

	if (shim_payload_parse(mod, s->mod_size, &s->payload, &err))
		refuse("payload module", &err);
	const struct mhcl_payload_item *it = s->payload.item;
	rt_log("payload: kernel %lu bytes, initrd %lu bytes, cmdline %lu bytes, manifest %lu bytes",
	       (unsigned long)it[MHCL_PAYLOAD_KERNEL].size,
	       (unsigned long)it[MHCL_PAYLOAD_INITRD].size,
	       (unsigned long)it[MHCL_PAYLOAD_CMDLINE].size,
	       (unsigned long)it[MHCL_PAYLOAD_MANIFEST].size);
}

/* Copies a loader's string once (it stays in host memory); NUL-terminated. */
static void copy_host_cmdline(struct shim *s, char *dst, size_t dst_size)
{
	dst[0] = '\0';
	if (!s->host_cmdline_pa)
		return;
	if (!below_4g(s->host_cmdline_pa, s->host_cmdline_max))
		rt_panic("refusing to boot: command line pointer above 4 GiB");
	const char *host = (const char *)(uintptr_t)s->host_cmdline_pa;
	size_t hl = strnlen(host, s->host_cmdline_max);
	if (s->igvm && hl == s->host_cmdline_max)
		rt_panic("refusing to boot: IGVM command line not NUL-terminated in its "
			 "%u-byte area",
			 s->host_cmdline_max);
	if (hl >= dst_size)
		rt_panic("refusing to boot: command line longer than %zu bytes", dst_size - 1);
	memcpy(dst, host, hl);
	dst[hl] = '\0';
}

static void log_dropped(const struct shim_options *o)
{
	char line[SHIM_DROPPED_NAMES + 8];
	size_t n = 0;

	/* Names only: a value may be anything the host chose to put there. */
	for (uint32_t k = 0; k < o->dropped_names_len; k++)
		line[n++] = o->dropped_names[k] ? o->dropped_names[k] : ' ';
	if (n)
		n--; /* the last name's NUL */
	if (o->dropped_names_cut) {
		memcpy(line + n, " ...", 4);
		n += 4;
	}
	line[n] = '\0';
	rt_log("command line: %u parameter(s) dropped (isolated): %s", o->dropped, line);
}

static void read_cmdline(struct shim *s)
{
	static char image[SHIM_MAX_CMDLINE], host[SHIM_MAX_CMDLINE];
	struct shim_error err;
	const struct mhcl_payload_item *c = &s->payload.item[MHCL_PAYLOAD_CMDLINE];

	/* The image's own command line (measured with it) first; the host's after it. */
	memcpy(image, (const void *)(uintptr_t)(s->mod_base + c->offset), c->size);
	image[c->size] = '\0'; /* shim_payload_parse bounds it below SHIM_MAX_CMDLINE / 2 */
	copy_host_cmdline(s, host, sizeof(host));

	/* Isolation from the host tree is already in opts: it governs the whole parse. */
	s->opts.sidecar = true;
	s->opts.boot_cpus = 1;
	if (shim_cmdline_parse(image, host, &s->opts, s->cmdline, sizeof(s->cmdline) - 32, &err))
		refuse("command line", &err);
	rt_log("command line: isolated=%s sidecar=%s boot_cpus=%u", s->opts.isolated ? "yes" : "no",
	       s->opts.sidecar ? "on" : "off", s->opts.boot_cpus);
	if (s->opts.dropped)
		log_dropped(&s->opts);
}

/* ---- ACPI ---- */

static bool acpi_sum_ok(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;
	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + p[i]);
	return sum == 0;
}

static uint64_t find_rsdp(const struct shim *s)
{
	if (s->si.rsdp_paddr && below_4g(s->si.rsdp_paddr, 36))
		return s->si.rsdp_paddr;
	for (uint64_t pa = 0xe0000; pa < 0x100000; pa += 16)
		if (memcmp((const void *)(uintptr_t)pa, "RSD PTR ", 8) == 0 &&
		    acpi_sum_ok((const uint8_t *)(uintptr_t)pa, 20))
			return pa;
	return 0;
}

#define ACPI_TABLE_MAX (1u << 20)
#define ACPI_COPY_MAX (64u * 1024u)

/* Finds table sig through the RSDT/XSDT; returns its address and length (bounded). */
static const void *acpi_find(uint64_t rsdp_pa, const char *sig, size_t *ret_len)
{
	const uint8_t *rsdp = (const uint8_t *)(uintptr_t)rsdp_pa;
	uint64_t root;
	unsigned width;

	if (!acpi_sum_ok(rsdp, 20))
		return NULL;
	if (rsdp[15] >= 2 &&
	    rsdp[24] | rsdp[25] | rsdp[26] | rsdp[27] | rsdp[28] | rsdp[29] | rsdp[30] | rsdp[31]) {
		memcpy(&root, rsdp + 24, 8);
		width = 8;
	} else {
		uint32_t r32;
		memcpy(&r32, rsdp + 16, 4);
		root = r32;
		width = 4;
	}
	if (!below_4g(root, 36))
		return NULL;
	uint32_t root_len;
	memcpy(&root_len, (const void *)(uintptr_t)(root + 4), 4);
	if (root_len < 36 || root_len > ACPI_TABLE_MAX || !below_4g(root, root_len) ||
	    !acpi_sum_ok((const uint8_t *)(uintptr_t)root, root_len))
		return NULL;
	for (uint32_t off = 36; off + width <= root_len; off += width) {
		uint64_t t = 0;
		memcpy(&t, (const void *)(uintptr_t)(root + off), width);
		if (!below_4g(t, 36))
			continue;
		if (memcmp((const void *)(uintptr_t)t, sig, 4) != 0)
			continue;
		uint32_t len;
		memcpy(&len, (const void *)(uintptr_t)(t + 4), 4);
		if (len < 36 || len > ACPI_TABLE_MAX || !below_4g(t, len))
			return NULL;
		*ret_len = len;
		return (const void *)(uintptr_t)t;
	}
	return NULL;
}

static void topology_from_acpi(struct shim *s)
{
	struct shim_error err;
	size_t madt_len = 0, srat_len = 0;

	/* Private copies: the tables are parsed (and checksummed) from these only. */
	static uint8_t madt_copy[ACPI_COPY_MAX], srat_copy[ACPI_COPY_MAX];

	s->rsdp = find_rsdp(s);
	const void *madt = s->rsdp ? acpi_find(s->rsdp, "APIC", &madt_len) : NULL;
	const void *srat = s->rsdp ? acpi_find(s->rsdp, "SRAT", &srat_len) : NULL;
	if (madt_len > sizeof(madt_copy) || srat_len > sizeof(srat_copy))
		rt_panic("refusing to boot: ACPI MADT (%zu bytes) or SRAT (%zu bytes) above %zu",
			 madt_len, srat_len, sizeof(madt_copy));
	if (madt) {
		memcpy(madt_copy, madt, madt_len);
		madt = madt_copy;
	}
	if (srat) {
		memcpy(srat_copy, srat, srat_len);
		srat = srat_copy;
	}
	if (!madt) {
		rt_log("no ACPI MADT: booting the boot CPU only");
		s->topo.cpu[0] = (struct shim_cpu){s->boot_apic_id, 0};
		s->topo.cpu_count = 1;
		s->topo.node_count = 1;
		s->topo_source = "none";
		return;
	}
	if (shim_acpi_parse(madt, madt_len, srat, srat_len, s->boot_apic_id, &s->topo, &err))
		refuse("ACPI tables", &err);
	s->topo_source = srat ? "ACPI MADT+SRAT" : "ACPI MADT";
}

/* ---- host device tree (fw_cfg, or the IGVM device tree area) ---- */

/*
 * Copies the host tree once into private memory, before the command line is
 * parsed, and takes its isolation request from that copy. The tree itself is
 * parsed later (topology_from_host_dt); a refusal found here waits for that.
 */
static void fetch_host_dt(struct shim *s)
{
	struct shim_error *err = &s->host_dt_err;
	uint16_t sel;
	uint32_t size;
	int r;

	s->host_dt = SHIM_HOST_DT_NONE;
	if (s->igvm) {
		/* The IGVM device tree area: zeroes when the host gave none. Its header is
		 * read once from the area; the tree itself is copied once, then parsed. */
		uint32_t hdr[2];
		memcpy(hdr, (const void *)(uintptr_t)s->host_dt_pa, sizeof(hdr));
		if (!hdr[0] && !hdr[1]) {
			rt_log("host device tree: none (IGVM device tree area empty)");
			return;
		}
		size = __builtin_bswap32(hdr[1]); /* fdt totalsize, big-endian */
		if (size > s->host_dt_max || size > sizeof(host_dtb) || size < 8) {
			rt_snprintf(err->msg, sizeof(err->msg),
				    "IGVM device tree of %u bytes, area %u bytes", size,
				    s->host_dt_max);
			s->host_dt = SHIM_HOST_DT_REJECTED;
			return;
		}
		memcpy(host_dtb, (const void *)(uintptr_t)s->host_dt_pa, size);
	} else {
		r = rt_fwcfg_find("opt/mhcl/host.dtb", &sel, &size);
		if (r) {
			rt_log("host device tree: none (fw_cfg opt/mhcl/host.dtb %s)",
			       r == -ENODEV ? "no fw_cfg" : "absent");
			return;
		}
		if (size > sizeof(host_dtb)) {
			rt_snprintf(err->msg, sizeof(err->msg), "%u bytes, limit %zu", size,
				    sizeof(host_dtb));
			s->host_dt = SHIM_HOST_DT_REJECTED;
			return;
		}
		rt_fwcfg_read(sel, host_dtb, size);
	}
	s->host_dt = SHIM_HOST_DT_COPIED;
	s->host_dt_size = size;
	if (shim_host_dt_isolated(host_dtb, size)) {
		s->opts.isolated = true;
		rt_log("host device tree requests isolated mode");
	}
}

/* Each name of a device tree string list (len bytes) on a line after what. */
static void log_list(const char *list, uint32_t len, const char *what)
{
	for (uint32_t at = 0; at < len;) {
		rt_log("host device tree: %s%s", what, list + at);
		at += (uint32_t)strlen(list + at) + 1u;
	}
}

static bool topology_from_host_dt(struct shim *s)
{
	struct shim_error err;
	uint32_t size = s->host_dt_size;

	if (s->host_dt == SHIM_HOST_DT_NONE)
		return false;
	if (s->host_dt == SHIM_HOST_DT_REJECTED) {
		err = s->host_dt_err;
		goto rejected;
	}
	if (shim_host_dt_parse(host_dtb, size, &s->topo, &err))
		goto rejected;
	if (s->topo.cpu_count) {
		/* The boot CPU must be listed; it becomes CPU 0. */
		uint32_t i;
		for (i = 0; i < s->topo.cpu_count && s->topo.cpu[i].apic_id != s->boot_apic_id; i++)
			;
		if (i == s->topo.cpu_count) {
			rt_snprintf(err.msg, sizeof(err.msg),
				    "boot CPU (APIC ID %u) is not among its cpus", s->boot_apic_id);
			goto rejected;
		}
		struct shim_cpu boot = s->topo.cpu[i];
		memmove(&s->topo.cpu[1], &s->topo.cpu[0], i * sizeof(boot));
		s->topo.cpu[0] = boot;
	}
	if (s->topo.mem_count) {
		if (shim_mem_validate(s->topo.mem, s->topo.mem_count, s->fw_map, s->fw_count,
				      &err)) {
			if (s->opts.isolated)
				refuse("host device tree memory (isolated)", &err);
			rt_log("host device tree memory ignored: %s; using the firmware map",
			       err.msg);
			s->topo.mem_count = 0;
		} else {
			s->host_mem = true;
		}
	}
	rt_log("host device tree: %u bytes accepted: %u cpus, %u memory ranges, guest %u VPs "
	       "%u MiB (0: not said)",
	       size, s->topo.cpu_count, s->topo.mem_count, s->topo.guest.vps,
	       s->topo.guest.memory_mib);
	log_list(s->topo.guest.data_disks, s->topo.guest.data_disks_len,
		 "a data disk of the guest is /dev/");
	log_list(s->topo.guest.nvme, s->topo.guest.nvme_len,
		 "a disk of the guest is on the NVMe function ");
	for (uint32_t i = 0; i < s->topo.guest.nnic_macs; i++) {
		const uint8_t *m = s->topo.guest.nic_macs + i * HOST_GUEST_MAC_LEN;
		rt_log("host device tree: the guest's NIC %u has MAC %02x:%02x:%02x:%02x:%02x:%02x",
		       i, m[0], m[1], m[2], m[3], m[4], m[5]);
	}
	return s->topo.cpu_count > 0;

rejected:
	if (s->opts.isolated)
		refuse("host device tree rejected", &err);
	rt_log("host device tree rejected: %s; falling back to ACPI", err.msg);
	memset(&s->topo, 0, sizeof(s->topo));
	return false;
}

static void read_topology(struct shim *s)
{
	struct shim_topology host_mem_only;
	bool have_host_cpus = topology_from_host_dt(s);

	if (have_host_cpus) {
		s->topo_source = "host device tree";
		s->rsdp = find_rsdp(s);
	} else {
		/* Keep validated host memory, take CPUs (and nodes) from ACPI. */
		host_mem_only = s->topo;
		topology_from_acpi(s);
		if (s->host_mem) {
			memcpy(s->topo.mem, host_mem_only.mem, sizeof(s->topo.mem));
			s->topo.mem_count = host_mem_only.mem_count;
		}
		/* The guest the host asked for does not depend on where CPUs come from. */
		s->topo.guest = host_mem_only.guest;
	}
	if (s->opts.boot_cpus > s->topo.cpu_count) {
		rt_log("mhcl.boot_cpus=%u but only %u cpus; using %u", s->opts.boot_cpus,
		       s->topo.cpu_count, s->topo.cpu_count);
		s->opts.boot_cpus = s->topo.cpu_count;
	}
	rt_log("topology: %u cpus in %u NUMA node(s) from %s; boot CPU APIC ID %u",
	       s->topo.cpu_count, s->topo.node_count, s->topo_source, s->boot_apic_id);
}

/* mhcl.debug.fault: proves the exception path reports instead of triple-faulting. */
static void debug_fault(const char *kind)
{
	rt_log("debug: raising #%s on purpose (mhcl.debug.fault)", kind[0] == 'u'   ? "UD"
								   : kind[0] == 'p' ? "PF"
										    : "GP");
	if (kind[0] == 'u')
		__asm__ volatile("ud2");
	else if (kind[0] == 'p')
		(void)*(volatile uint64_t *)(uintptr_t)0x123456789000ull; /* above the 4 GiB map */
	else
		wrmsr(0xdeadbeef, 0); /* no such MSR */
}

void shim_main(uint32_t param_pa, uint32_t entry_kind)
{
	struct shim *s = &shim;

	rt_stack_guard_set(shim_boot_stack_bottom);
	rt_console_init("shim");
	rt_idt_init();
	rt_tls_init(shim_tls, rdtsc());
	uint64_t khz = rt_tsc_calibrate();
	s->igvm = entry_kind == 1;
	rt_log("entry: image [0x%lx, 0x%lx), TSC %lu kHz, %s entry",
	       (unsigned long)(uintptr_t)__image_start, (unsigned long)(uintptr_t)__image_end,
	       (unsigned long)khz, s->igvm ? "IGVM" : "PVH");
	s->boot_apic_id = rt_lapic_id();

	if (s->igvm)
		read_igvm_params(s, param_pa);
	else
		read_start_info(s, param_pa);
	read_payload(s);
	fetch_host_dt(s); /* before the command line: its isolation request governs the parse */
	read_cmdline(s);
	read_topology(s);
	stage_check();
	if (s->opts.fault[0] && !s->opts.isolated)
		debug_fault(s->opts.fault);

	shim_reserve(s, (uint64_t)(uintptr_t)__image_start,
		     (uint64_t)(uintptr_t)(__image_end - __image_start));
	if (s->payload.item[MHCL_PAYLOAD_MANIFEST].size)
		shim_reserve(
		    s,
		    RT_ALIGN_DOWN(s->mod_base + s->payload.item[MHCL_PAYLOAD_MANIFEST].offset,
				  4096ull),
		    RT_ALIGN_UP(s->payload.item[MHCL_PAYLOAD_MANIFEST].size + 4096, 4096ull));

	shim_sidecar_start(s);
	stage_check();
	shim_sidecar_work(s);
	shim_sidecar_handoff(s);
	stage_check();

	shim_linux_load(s);
	stage_check();
	shim_linux_boot(s);
}
