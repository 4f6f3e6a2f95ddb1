/* SPDX-License-Identifier: MIT */
/*
 * Parsing and validation of every input the boot shim takes from outside
 * (the command line has its own file, cmdline.c).
 * Trust: the payload is part of the image; the PVH start info, the command
 * line from the loader, the host device tree and ACPI come from the host and
 * are checked field by field before use. Nothing here touches hardware.
 */
#include <errno.h>
#include <libfdt.h>
#include <string.h>

#include "config.h"
#include "defs/boot_params.h"
#include "error.h"
#include "rt.h"

/* ---------------- payload module ---------------- */

static const char *const item_name[MHCL_PAYLOAD_ITEM_MAX] = {"kernel", "initrd", "cmdline",
							     "manifest"};

int shim_payload_parse(const void *mod, uint64_t mod_size, struct mhcl_payload_header *ret_hdr,
		       struct shim_error *err)
{
	struct mhcl_payload_header h;

	if (mod_size < sizeof(h))
		return SHIM_ERR(err, EBADMSG, "payload module too small (%lu bytes)",
				(unsigned long)mod_size);
	memcpy(&h, mod, sizeof(h));
	if (h.magic != MHCL_PAYLOAD_MAGIC)
		return SHIM_ERR(err, EBADMSG, "payload module has no MHCLPAY1 magic");
	if (h.version != MHCL_PAYLOAD_VERSION || h.header_size != sizeof(h))
		return SHIM_ERR(err, EBADMSG, "payload version %u / header size %u not supported",
				h.version, h.header_size);
	if (h.total_size > mod_size || h.total_size < sizeof(h))
		return SHIM_ERR(err, EBADMSG, "payload size %lu does not fit module of %lu bytes",
				(unsigned long)h.total_size, (unsigned long)mod_size);
	for (unsigned i = 0; i < MHCL_PAYLOAD_ITEM_MAX; i++) {
		const struct mhcl_payload_item *it = &h.item[i];
		if (it->size == 0) {
			if (it->offset != 0)
				return SHIM_ERR(err, EBADMSG, "payload %s: offset without size",
						item_name[i]);
			continue;
		}
		if (it->offset < sizeof(h) || it->offset > h.total_size ||
		    it->size > h.total_size - it->offset)
			return SHIM_ERR(err, EBADMSG, "payload %s [%lu, +%lu) outside the payload",
					item_name[i], (unsigned long)it->offset,
					(unsigned long)it->size);
		if ((i == MHCL_PAYLOAD_KERNEL || i == MHCL_PAYLOAD_INITRD) &&
		    it->offset % MHCL_PAYLOAD_ALIGN)
			return SHIM_ERR(err, EBADMSG, "payload %s not 4 KiB aligned", item_name[i]);
		for (unsigned j = 0; j < i; j++) {
			const struct mhcl_payload_item *o = &h.item[j];
			if (o->size && it->offset < o->offset + o->size &&
			    o->offset < it->offset + it->size)
				return SHIM_ERR(err, EBADMSG, "payload %s overlaps %s",
						item_name[i], item_name[j]);
		}
	}
	if (!h.item[MHCL_PAYLOAD_KERNEL].size || !h.item[MHCL_PAYLOAD_INITRD].size)
		return SHIM_ERR(err, EBADMSG, "payload lacks a kernel or an initrd");
	const struct mhcl_payload_item *c = &h.item[MHCL_PAYLOAD_CMDLINE];
	if (c->size) {
		const char *text = (const char *)mod + c->offset;
		if (c->size >= SHIM_MAX_CMDLINE / 2)
			return SHIM_ERR(err, EBADMSG, "payload command line too long");
		for (uint64_t k = 0; k < c->size; k++)
			if ((unsigned char)text[k] < 0x20 &&
			    !shim_cmdline_is_space((unsigned char)text[k]))
				return SHIM_ERR(err, EBADMSG,
						"payload command line has a control byte at %lu",
						(unsigned long)k);
	}
	*ret_hdr = h;
	return 0;
}

/* ---------------- host device tree ---------------- */

static int add_cpu(struct shim_topology *topo, uint32_t apic, uint32_t node, struct shim_error *err)
{
	if (apic > SHIM_MAX_APIC_ID)
		return SHIM_ERR(err, EBADMSG,
				"cpu APIC ID %u above %u (x2APIC-only IDs unsupported)", apic,
				SHIM_MAX_APIC_ID);
	if (node >= SHIM_MAX_NODES)
		return SHIM_ERR(err, EBADMSG, "cpu %u: NUMA node %u above %u", apic, node,
				SHIM_MAX_NODES - 1);
	for (uint32_t i = 0; i < topo->cpu_count; i++)
		if (topo->cpu[i].apic_id == apic)
			return SHIM_ERR(err, EBADMSG, "duplicate cpu APIC ID %u", apic);
	if (topo->cpu_count >= SHIM_MAX_CPUS)
		return SHIM_ERR(err, EBADMSG, "more than %u cpus", SHIM_MAX_CPUS);
	topo->cpu[topo->cpu_count++] = (struct shim_cpu){apic, node};
	if (node + 1 > topo->node_count)
		topo->node_count = node + 1;
	return 0;
}

static int add_mem(struct shim_topology *topo, uint64_t base, uint64_t size, uint32_t node,
		   struct shim_error *err)
{
	if (size == 0 || base + size < base)
		return SHIM_ERR(err, EBADMSG, "memory [0x%lx, +0x%lx) empty or wraps",
				(unsigned long)base, (unsigned long)size);
	if ((base | size) & 0xfff)
		return SHIM_ERR(err, EBADMSG, "memory [0x%lx, +0x%lx) not page aligned",
				(unsigned long)base, (unsigned long)size);
	if (node >= SHIM_MAX_NODES)
		return SHIM_ERR(err, EBADMSG, "memory at 0x%lx: NUMA node %u above %u",
				(unsigned long)base, node, SHIM_MAX_NODES - 1);
	if (topo->mem_count >= SHIM_MAX_RANGES)
		return SHIM_ERR(err, EBADMSG, "more than %u memory ranges", SHIM_MAX_RANGES);
	topo->mem[topo->mem_count++] = (struct shim_range){base, size, SHIM_E820_RAM, node};
	if (node + 1 > topo->node_count)
		topo->node_count = node + 1;
	return 0;
}

static int read_u32_prop(const void *fdt, int node, const char *name, uint32_t dflt, uint32_t *ret,
			 struct shim_error *err)
{
	int len;
	const fdt32_t *p = fdt_getprop(fdt, node, name, &len);
	if (!p) {
		*ret = dflt;
		return 0;
	}
	if (len != 4)
		return SHIM_ERR(err, EBADMSG, "%s: property %s is %d bytes, expected 4",
				fdt_get_name(fdt, node, NULL), name, len);
	*ret = fdt32_to_cpu(*p);
	return 0;
}

static bool is_device_type(const void *fdt, int node, const char *type)
{
	int len;
	const char *t = fdt_getprop(fdt, node, "device_type", &len);
	return t && len == (int)strlen(type) + 1 && memcmp(t, type, (size_t)len) == 0;
}

static uint32_t be32_at(const void *p, size_t off)
{
	const uint8_t *b = (const uint8_t *)p + off;
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/*
 * Our own header check before libfdt sees the blob: only version 17 trees
 * (what dtc writes), every block inside totalsize and aligned. libfdt 1.6.1's
 * fdt_check_full dereferences NULL on some pre-v17 headers (found by the
 * boot-config fuzz target), so those never reach it.
 */
static int check_fdt_header(const void *fdt, size_t size, struct shim_error *err)
{
	uint32_t total = be32_at(fdt, 4), off_struct = be32_at(fdt, 8),
		 off_strings = be32_at(fdt, 12);
	uint32_t off_rsv = be32_at(fdt, 16), version = be32_at(fdt, 20),
		 last_comp = be32_at(fdt, 24);
	uint32_t size_strings = be32_at(fdt, 32), size_struct = be32_at(fdt, 36);

	if (be32_at(fdt, 0) != FDT_MAGIC)
		return SHIM_ERR(err, EBADMSG, "not a valid flattened device tree (%s)",
				fdt_strerror(-FDT_ERR_BADMAGIC));
	if (version < 17 || last_comp > 16)
		return SHIM_ERR(err, EBADMSG,
				"device tree version %u (compatible %u) unsupported, need 17",
				version, last_comp);
	if (total > size || total < 40)
		return SHIM_ERR(err, EBADMSG, "device tree totalsize %u vs %zu bytes received",
				total, size);
	if (off_rsv < 40 || off_rsv % 8 || off_rsv > total || off_struct % 4 || off_struct < 40 ||
	    off_struct > total || size_struct > total - off_struct || off_strings < 40 ||
	    off_strings > total || size_strings > total - off_strings)
		return SHIM_ERR(err, EBADMSG, "device tree blocks lie outside its %u bytes", total);
	return 0;
}

bool shim_host_dt_isolated(const void *fdt, size_t size)
{
	if (size < sizeof(struct fdt_header) || size > SHIM_HOST_DT_MAX ||
	    check_fdt_header(fdt, size, NULL) || fdt_check_full(fdt, size))
		return false;
	int chosen = fdt_path_offset(fdt, "/chosen");
	return chosen >= 0 && fdt_getprop(fdt, chosen, "mhcl,isolated", NULL);
}

/* A string list of /guest that ok accepts (what says what that is), handed on as is:
 * data-disk = "vdb", "vdc" (/dev names, nothing that could walk out of /dev), nvme =
 * "0000:00:05.0" (PCI functions as sysfs names them). ok bounds it by dst's size. */
static int parse_list(const void *fdt, int guest, const char *name,
		      bool (*ok)(const char *, size_t, unsigned *), const char *what, char *dst,
		      uint32_t *dst_len, uint32_t *count, struct shim_error *err)
{
	int len;
	unsigned n;
	const char *p = fdt_getprop(fdt, guest, name, &len);
	if (!p)
		return 0;
	if (len < 0 || !ok(p, (size_t)len, &n))
		return SHIM_ERR(err, EBADMSG, "/guest: %s must be %s", name, what);
	memcpy(dst, p, (size_t)len);
	*dst_len = (uint32_t)len;
	*count = n;
	return 0;
}

/* nic-mac = [02 6d 68 63 6c 02 ...]: one MAC per NIC, 6 bytes each, back to back. */
static int parse_nic_macs(const void *fdt, int guest, struct shim_topology *topo,
			  struct shim_error *err)
{
	int len;
	const uint8_t *p = fdt_getprop(fdt, guest, "nic-mac", &len);
	if (!p)
		return 0;
	if (len < 0 || !host_guest_nic_macs_ok(p, (size_t)len, &topo->guest.nnic_macs))
		return SHIM_ERR(err, EBADMSG, "/guest: nic-mac must be %s, not %d bytes",
				HOST_GUEST_NIC_MAC_RULE, len);
	memcpy(topo->guest.nic_macs, p, (size_t)len);
	return 0;
}

/* /guest { vps = <N>; memory-mib = <M>; data-disk = "vdb", ...; nvme = "0000:00:05.0", ...;
 * nic-mac = [6 bytes per NIC]; }: each optional, each checked when given. */
static int parse_guest(const void *fdt, struct shim_topology *topo, struct shim_error *err)
{
	int guest = fdt_path_offset(fdt, "/guest");
	int r;

	if (guest < 0)
		return 0;
	struct shim_guest *g = &topo->guest;
	static_assert(sizeof(g->data_disks) == HOST_GUEST_DISK_LIST_MAX, "as checked");
	static_assert(sizeof(g->nvme) == HOST_GUEST_NVME_LIST_MAX, "as checked");
	r = parse_list(fdt, guest, "data-disk", host_guest_disk_list_ok, HOST_GUEST_DISK_LIST_RULE,
		       g->data_disks, &g->data_disks_len, &g->ndata_disks, err);
	if (r)
		return r;
	r = parse_list(fdt, guest, "nvme", host_guest_nvme_list_ok, HOST_GUEST_NVME_LIST_RULE,
		       g->nvme, &g->nvme_len, &g->nnvme, err);
	if (r)
		return r;
	static_assert(sizeof(g->nic_macs) == HOST_GUEST_NIC_MAC_LIST_MAX, "as checked");
	r = parse_nic_macs(fdt, guest, topo, err);
	if (r)
		return r;
	r = read_u32_prop(fdt, guest, "vps", 0, &topo->guest.vps, err);
	if (r)
		return r;
	r = read_u32_prop(fdt, guest, "memory-mib", 0, &topo->guest.memory_mib, err);
	if (r)
		return r;
	if (fdt_getprop(fdt, guest, "vps", NULL) &&
	    (topo->guest.vps < 1 || topo->guest.vps > SHIM_GUEST_VPS_MAX))
		return SHIM_ERR(err, EBADMSG, "/guest: vps %u outside 1..%u", topo->guest.vps,
				SHIM_GUEST_VPS_MAX);
	if (fdt_getprop(fdt, guest, "memory-mib", NULL) &&
	    (topo->guest.memory_mib < SHIM_GUEST_MEMORY_MIB_MIN ||
	     topo->guest.memory_mib > SHIM_GUEST_MEMORY_MIB_MAX))
		return SHIM_ERR(err, EBADMSG, "/guest: memory-mib %u outside %u..%u",
				topo->guest.memory_mib, SHIM_GUEST_MEMORY_MIB_MIN,
				SHIM_GUEST_MEMORY_MIB_MAX);
	return 0;
}

int shim_host_dt_parse(const void *fdt, size_t size, struct shim_topology *topo,
		       struct shim_error *err)
{
	int r, node;

	memset(topo, 0, sizeof(*topo));
	if (size < sizeof(struct fdt_header) || size > SHIM_HOST_DT_MAX)
		return SHIM_ERR(err, EBADMSG, "size %zu outside %zu..%u", size,
				sizeof(struct fdt_header), SHIM_HOST_DT_MAX);
	r = check_fdt_header(fdt, size, err);
	if (r)
		return r;
	r = fdt_check_full(fdt, size);
	if (r)
		return SHIM_ERR(err, EBADMSG, "not a valid flattened device tree (%s)",
				fdt_strerror(r));
	if (fdt_node_check_compatible(fdt, 0, "mhcl,host-v1") != 0)
		return SHIM_ERR(err, EBADMSG, "root node is not compatible with \"mhcl,host-v1\"");
	if (fdt_address_cells(fdt, 0) != 2 || fdt_size_cells(fdt, 0) != 2)
		return SHIM_ERR(err, EBADMSG, "root #address-cells/#size-cells must be 2/2");

	int cpus = fdt_path_offset(fdt, "/cpus");
	if (cpus >= 0) {
		if (fdt_address_cells(fdt, cpus) != 1 || fdt_size_cells(fdt, cpus) != 0)
			return SHIM_ERR(err, EBADMSG,
					"/cpus #address-cells/#size-cells must be 1/0");
		fdt_for_each_subnode(node, fdt, cpus)
		{
			if (!is_device_type(fdt, node, "cpu"))
				continue;
			uint32_t apic, numa;
			int len;
			const fdt32_t *reg = fdt_getprop(fdt, node, "reg", &len);
			if (!reg || len != 4)
				return SHIM_ERR(err, EBADMSG, "%s: reg must be one cell",
						fdt_get_name(fdt, node, NULL));
			apic = fdt32_to_cpu(*reg);
			r = read_u32_prop(fdt, node, "numa-node-id", 0, &numa, err);
			if (r)
				return r;
			r = add_cpu(topo, apic, numa, err);
			if (r)
				return r;
		}
		if (topo->cpu_count == 0)
			return SHIM_ERR(err, EBADMSG, "/cpus has no cpu nodes");
	}

	fdt_for_each_subnode(node, fdt, 0)
	{
		if (!is_device_type(fdt, node, "memory"))
			continue;
		int len;
		uint32_t numa;
		const fdt32_t *reg = fdt_getprop(fdt, node, "reg", &len);
		if (!reg || len <= 0 || len % 16)
			return SHIM_ERR(err, EBADMSG,
					"%s: reg must be (address, size) pairs of 2 cells",
					fdt_get_name(fdt, node, NULL));
		r = read_u32_prop(fdt, node, "numa-node-id", 0, &numa, err);
		if (r)
			return r;
		for (int i = 0; i < len / 4; i += 4) {
			uint64_t base =
			    (uint64_t)fdt32_to_cpu(reg[i]) << 32 | fdt32_to_cpu(reg[i + 1]);
			uint64_t sz =
			    (uint64_t)fdt32_to_cpu(reg[i + 2]) << 32 | fdt32_to_cpu(reg[i + 3]);
			r = add_mem(topo, base, sz, numa, err);
			if (r)
				return r;
		}
	}
	if (node < 0 && node != -FDT_ERR_NOTFOUND)
		return SHIM_ERR(err, EBADMSG, "walking the root node: %s", fdt_strerror(node));

	int chosen = fdt_path_offset(fdt, "/chosen");
	if (chosen >= 0 && fdt_getprop(fdt, chosen, "mhcl,isolated", NULL))
		topo->isolated = true;
	return parse_guest(fdt, topo, err);
}

/* ---------------- ACPI MADT / SRAT ---------------- */

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static int check_table(const uint8_t *t, size_t len, const char *sig, size_t min,
		       struct shim_error *err)
{
	uint8_t sum = 0;
	if (len < min || len < 36)
		return SHIM_ERR(err, EBADMSG, "ACPI %s: %zu bytes is too short", sig, len);
	if (memcmp(t, sig, 4) != 0)
		return SHIM_ERR(err, EBADMSG, "ACPI table is not %s", sig);
	if (le32(t + 4) != len)
		return SHIM_ERR(err, EBADMSG, "ACPI %s: length field %u vs %zu mapped", sig,
				le32(t + 4), len);
	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + t[i]);
	if (sum)
		return SHIM_ERR(err, EBADMSG, "ACPI %s: bad checksum", sig);
	return 0;
}

struct pxm_map {
	uint32_t pxm[SHIM_MAX_NODES];
	uint32_t count;
};

static int pxm_to_node(struct pxm_map *m, uint32_t pxm, uint32_t *ret, struct shim_error *err)
{
	for (uint32_t i = 0; i < m->count; i++)
		if (m->pxm[i] == pxm) {
			*ret = i;
			return 0;
		}
	if (m->count >= SHIM_MAX_NODES)
		return SHIM_ERR(err, EBADMSG, "SRAT: more than %u proximity domains",
				SHIM_MAX_NODES);
	m->pxm[m->count] = pxm;
	*ret = m->count++;
	return 0;
}

int shim_acpi_parse(const void *madt, size_t madt_len, const void *srat, size_t srat_len,
		    uint32_t boot_apic_id, struct shim_topology *topo, struct shim_error *err)
{
	const uint8_t *t = madt;
	uint32_t apic_ids[SHIM_MAX_CPUS];
	uint32_t n = 0;
	int r;

	memset(topo, 0, sizeof(*topo));
	r = check_table(t, madt_len, "APIC", 44, err);
	if (r)
		return r;
	for (size_t off = 44; off < madt_len;) {
		if (madt_len - off < 2 || t[off + 1] < 2 || t[off + 1] > madt_len - off)
			return SHIM_ERR(err, EBADMSG, "MADT: entry at %zu overruns the table", off);
		uint8_t type = t[off], len = t[off + 1];
		uint32_t id = 0, flags = 0;
		bool cpu = false;
		if (type == 0) {
			if (len != 8)
				return SHIM_ERR(err, EBADMSG, "MADT: local APIC entry of %u bytes",
						len);
			id = t[off + 3];
			flags = le32(t + off + 4);
			cpu = true;
		} else if (type == 9) {
			if (len != 16)
				return SHIM_ERR(err, EBADMSG, "MADT: x2APIC entry of %u bytes",
						len);
			id = le32(t + off + 4);
			flags = le32(t + off + 8);
			cpu = true;
		}
		/* Bit 0: enabled; bit 1: online capable (may be started later). */
		if (cpu && (flags & 3)) {
			if (id > SHIM_MAX_APIC_ID)
				return SHIM_ERR(err, EBADMSG, "MADT: APIC ID %u needs x2APIC", id);
			for (uint32_t i = 0; i < n; i++)
				if (apic_ids[i] == id)
					return SHIM_ERR(err, EBADMSG, "MADT: duplicate APIC ID %u",
							id);
			if (n >= SHIM_MAX_CPUS)
				return SHIM_ERR(err, EBADMSG, "MADT: more than %u cpus",
						SHIM_MAX_CPUS);
			apic_ids[n++] = id;
		}
		off += len;
	}

	/* Boot CPU first: Linux numbers it 0 and the others in MADT order. */
	bool found = false;
	for (uint32_t i = 0; i < n; i++)
		if (apic_ids[i] == boot_apic_id)
			found = true;
	if (!found)
		return SHIM_ERR(err, EBADMSG, "MADT does not list the boot CPU (APIC ID %u)",
				boot_apic_id);
	topo->cpu[topo->cpu_count++] = (struct shim_cpu){boot_apic_id, 0};
	for (uint32_t i = 0; i < n; i++)
		if (apic_ids[i] != boot_apic_id)
			topo->cpu[topo->cpu_count++] = (struct shim_cpu){apic_ids[i], 0};
	topo->node_count = 1;
	if (!srat)
		return 0;

	const uint8_t *s = srat;
	struct pxm_map pm = {.count = 0};
	r = check_table(s, srat_len, "SRAT", 48, err);
	if (r)
		return r;
	for (size_t off = 48; off < srat_len;) {
		if (srat_len - off < 2 || s[off + 1] < 2 || s[off + 1] > srat_len - off)
			return SHIM_ERR(err, EBADMSG, "SRAT: entry at %zu overruns the table", off);
		uint8_t type = s[off], len = s[off + 1];
		uint32_t node;
		if (type == 0 || type == 2) {
			uint32_t pxm, id, flags;
			if (type == 0 && len != 16)
				return SHIM_ERR(err, EBADMSG, "SRAT: APIC affinity of %u bytes",
						len);
			if (type == 2 && len != 24)
				return SHIM_ERR(err, EBADMSG, "SRAT: x2APIC affinity of %u bytes",
						len);
			if (type == 0) {
				pxm = s[off + 2] | (uint32_t)s[off + 9] << 8 |
				      (uint32_t)s[off + 10] << 16 | (uint32_t)s[off + 11] << 24;
				id = s[off + 3];
				flags = le32(s + off + 4);
			} else {
				pxm = le32(s + off + 4);
				id = le32(s + off + 8);
				flags = le32(s + off + 12);
			}
			if (flags & 1) {
				r = pxm_to_node(&pm, pxm, &node, err);
				if (r)
					return r;
				for (uint32_t i = 0; i < topo->cpu_count; i++)
					if (topo->cpu[i].apic_id == id)
						topo->cpu[i].node = node;
			}
		} else if (type == 1) {
			if (len != 40)
				return SHIM_ERR(err, EBADMSG, "SRAT: memory affinity of %u bytes",
						len);
			uint32_t pxm = le32(s + off + 2), flags = le32(s + off + 28);
			uint64_t base = le64(s + off + 8), size = le64(s + off + 16);
			if ((flags & 1) && size) {
				r = pxm_to_node(&pm, pxm, &node, err);
				if (r)
					return r;
				if (base + size < base)
					return SHIM_ERR(err, EBADMSG, "SRAT: memory range wraps");
				if (topo->mem_count >= SHIM_MAX_RANGES)
					return SHIM_ERR(err, EBADMSG,
							"SRAT: more than %u memory ranges",
							SHIM_MAX_RANGES);
				topo->mem[topo->mem_count++] =
				    (struct shim_range){base, size, SHIM_E820_RAM, node};
			}
		}
		off += len;
	}
	topo->node_count = pm.count ? pm.count : 1;
	return 0;
}

/* ---------------- memory maps ---------------- */

static bool inside_one(uint64_t base, uint64_t end, const struct shim_range *r, uint32_t n)
{
	/* Contained in the union of RAM ranges: walk forward from base through adjacent ranges. */
	uint64_t cur = base;
	for (uint32_t pass = 0; pass <= n && cur < end; pass++) {
		bool moved = false;
		for (uint32_t i = 0; i < n; i++) {
			if (r[i].type != SHIM_E820_RAM)
				continue;
			uint64_t rend = r[i].base + r[i].size;
			if (r[i].base <= cur && cur < rend) {
				cur = rend;
				moved = true;
			}
		}
		if (!moved)
			return false;
	}
	return cur >= end;
}

int shim_mem_validate(const struct shim_range *mem, uint32_t count, const struct shim_range *ram,
		      uint32_t ram_count, struct shim_error *err)
{
	for (uint32_t i = 0; i < count; i++) {
		uint64_t b = mem[i].base, e = b + mem[i].size;
		if (!mem[i].size || e < b || ((b | mem[i].size) & 0xfff))
			return SHIM_ERR(err, ERANGE,
					"memory [0x%lx, +0x%lx) empty, unaligned or wraps",
					(unsigned long)b, (unsigned long)mem[i].size);
		if (!inside_one(b, e, ram, ram_count))
			return SHIM_ERR(err, ERANGE,
					"memory [0x%lx, 0x%lx) is not RAM in the firmware map",
					(unsigned long)b, (unsigned long)e);
		for (uint32_t j = 0; j < i; j++) {
			uint64_t ob = mem[j].base, oe = ob + mem[j].size;
			if (b < oe && ob < e)
				return SHIM_ERR(err, EEXIST,
						"memory [0x%lx, 0x%lx) overlaps [0x%lx, 0x%lx)",
						(unsigned long)b, (unsigned long)e,
						(unsigned long)ob, (unsigned long)oe);
		}
	}
	return 0;
}

static bool covered(uint64_t a, uint64_t b, const struct shim_range *r, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (r[i].base <= a && b <= r[i].base + r[i].size)
			return true;
	return false;
}

#define E820_MAX_POINTS (2 * (SHIM_MAX_RANGES * 2 + 32) + 2)

int shim_e820_build(const struct shim_range *ram_map, uint32_t ram_count,
		    const struct shim_range *allowed, uint32_t allowed_count,
		    const struct shim_range *reserved, uint32_t reserved_count,
		    struct shim_range *out, uint32_t max)
{
	uint64_t pt[E820_MAX_POINTS];
	uint32_t np = 0, n = 0;

	if (ram_count > SHIM_MAX_RANGES || allowed_count > SHIM_MAX_RANGES || reserved_count > 32)
		return -E2BIG;
#define ADD(r)                                                                                     \
	do {                                                                                       \
		pt[np++] = (r).base;                                                               \
		pt[np++] = (r).base + (r).size;                                                    \
	} while (0)
	for (uint32_t i = 0; i < ram_count; i++)
		ADD(ram_map[i]);
	for (uint32_t i = 0; i < allowed_count; i++)
		ADD(allowed[i]);
	for (uint32_t i = 0; i < reserved_count; i++)
		ADD(reserved[i]);
#undef ADD
	for (uint32_t i = 1; i < np; i++)
		for (uint32_t j = i; j > 0 && pt[j - 1] > pt[j]; j--) {
			uint64_t x = pt[j];
			pt[j] = pt[j - 1];
			pt[j - 1] = x;
		}
	for (uint32_t i = 0; i + 1 < np; i++) {
		uint64_t a = pt[i], b = pt[i + 1];
		if (a == b)
			continue;
		/* The firmware's type for [a, b): anything but RAM wins over RAM. */
		uint32_t type = 0;
		for (uint32_t k = 0; k < ram_count; k++)
			if (ram_map[k].base <= a && b <= ram_map[k].base + ram_map[k].size &&
			    (type == 0 || type == SHIM_E820_RAM))
				type = ram_map[k].type;
		if (type == 0)
			continue;
		if (type == SHIM_E820_RAM &&
		    (covered(a, b, reserved, reserved_count) ||
		     (allowed_count && !covered(a, b, allowed, allowed_count))))
			type = SHIM_E820_RESERVED;
		if (n && out[n - 1].type == type && out[n - 1].base + out[n - 1].size == a) {
			out[n - 1].size += b - a;
			continue;
		}
		if (n >= max)
			return -E2BIG;
		out[n++] = (struct shim_range){a, b - a, type, 0};
	}
	return (int)n;
}
