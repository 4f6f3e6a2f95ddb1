/* SPDX-License-Identifier: MIT */
/*
 * The device tree the shim hands to Linux (SETUP_DTB setup_data) and, through
 * /sys/kernel/boot_params/setup_data, to mhcl's init. Schema in boot/README.md.
 */
#include <libfdt.h>
#include <string.h>

#include "rt.h"
#include "shim.h"

#define CHECK(expr)                                                                                \
	do {                                                                                       \
		int r_ = (expr);                                                                   \
		if (r_ < 0)                                                                        \
			rt_panic("device tree: %s: %s", #expr, fdt_strerror(r_));                  \
	} while (0)

static const char *const owner_name[] = {
    [SHIM_CPU_LINUX] = "linux",
    [SHIM_CPU_SIDECAR] = "sidecar",
    [SHIM_CPU_FAILED] = "failed",
    [SHIM_CPU_OFFLINE] = "offline",
};

static int add_node(void *fdt, int parent, const char *name, uint64_t unit)
{
	char buf[48];
	rt_snprintf(buf, sizeof(buf), "%s@%lx", name, (unsigned long)unit);
	int off = fdt_add_subnode(fdt, parent, buf);
	if (off < 0)
		rt_panic("device tree: adding %s: %s", buf, fdt_strerror(off));
	return off;
}

static void reg64(void *fdt, int node, const char *prop, uint64_t base, uint64_t size)
{
	fdt64_t cells[2] = {cpu_to_fdt64(base), cpu_to_fdt64(size)};
	CHECK(fdt_setprop(fdt, node, prop, cells, sizeof(cells)));
}

void shim_dt_build(struct shim *s, struct shim_setup_data *sd, uint32_t room, const char *bootargs)
{
	void *fdt = sd->data;
	const struct shim_topology *t = &s->topo;

	CHECK(fdt_create_empty_tree(fdt, (int)room));
	CHECK(fdt_setprop_string(fdt, 0, "compatible", "mhcl,vtl2"));
	CHECK(fdt_setprop_string(fdt, 0, "model", "mhcl paravisor"));
	CHECK(fdt_setprop_u32(fdt, 0, "#address-cells", 2));
	CHECK(fdt_setprop_u32(fdt, 0, "#size-cells", 2));

	int chosen = fdt_add_subnode(fdt, 0, "chosen");
	CHECK(chosen);
	CHECK(fdt_setprop_string(fdt, chosen, "bootargs", bootargs));
	CHECK(fdt_setprop_u32(fdt, chosen, "mhcl,boot-cpus", s->opts.boot_cpus));
	CHECK(fdt_setprop_string(fdt, chosen, "mhcl,topology-source", s->topo_source));
	if (s->opts.isolated)
		CHECK(fdt_setprop_empty(fdt, chosen, "mhcl,isolated"));
	/* The guest the host asked for (checked by shim_host_dt_parse), for init. */
	if (t->guest.vps)
		CHECK(fdt_setprop_u32(fdt, chosen, "mhcl,guest-vps", t->guest.vps));
	if (t->guest.memory_mib)
		CHECK(fdt_setprop_u32(fdt, chosen, "mhcl,guest-memory-mib", t->guest.memory_mib));
	if (t->guest.data_disks_len)
		CHECK(fdt_setprop(fdt, chosen, HOST_GUEST_CHOSEN_DATA_DISK, t->guest.data_disks,
				  (int)t->guest.data_disks_len));
	if (t->guest.nvme_len)
		CHECK(fdt_setprop(fdt, chosen, HOST_GUEST_CHOSEN_NVME, t->guest.nvme,
				  (int)t->guest.nvme_len));
	if (t->guest.nnic_macs)
		CHECK(fdt_setprop(fdt, chosen, HOST_GUEST_CHOSEN_NIC_MAC, t->guest.nic_macs,
				  (int)(t->guest.nnic_macs * HOST_GUEST_MAC_LEN)));
	/* What isolation took off the command line, so init can tell (and report) that
	 * the host asked for more than it got. Names only, never values. */
	CHECK(fdt_setprop_u32(fdt, chosen, "mhcl,cmdline-dropped", s->opts.dropped));
	if (s->opts.dropped_names_len)
		CHECK(fdt_setprop(fdt, chosen, "mhcl,cmdline-dropped-names", s->opts.dropped_names,
				  (int)s->opts.dropped_names_len));

	int cpus = fdt_add_subnode(fdt, 0, "cpus");
	CHECK(cpus);
	CHECK(fdt_setprop_u32(fdt, cpus, "#address-cells", 1));
	CHECK(fdt_setprop_u32(fdt, cpus, "#size-cells", 0));
	/* fdt_add_subnode prepends, so add in reverse to keep CPU order. */
	for (uint32_t i = t->cpu_count; i-- > 0;) {
		int c = add_node(fdt, cpus, "cpu", t->cpu[i].apic_id);
		CHECK(fdt_setprop_string(fdt, c, "device_type", "cpu"));
		CHECK(fdt_setprop_u32(fdt, c, "reg", t->cpu[i].apic_id));
		CHECK(fdt_setprop_u32(fdt, c, "numa-node-id", t->cpu[i].node));
		CHECK(fdt_setprop_u32(fdt, c, "mhcl,cpu-index", i));
		CHECK(fdt_setprop_string(fdt, c, "mhcl,owner", owner_name[s->owner[i]]));
	}

	/* VTL2 memory: the host tree's ranges, else the firmware's RAM. */
	if (s->host_mem) {
		for (uint32_t i = t->mem_count; i-- > 0;) {
			int m = add_node(fdt, 0, "memory", t->mem[i].base);
			CHECK(fdt_setprop_string(fdt, m, "device_type", "memory"));
			reg64(fdt, m, "reg", t->mem[i].base, t->mem[i].size);
			CHECK(fdt_setprop_u32(fdt, m, "numa-node-id", t->mem[i].node));
		}
	} else {
		for (uint32_t i = s->fw_count; i-- > 0;) {
			if (s->fw_map[i].type != SHIM_E820_RAM)
				continue;
			int m = add_node(fdt, 0, "memory", s->fw_map[i].base);
			CHECK(fdt_setprop_string(fdt, m, "device_type", "memory"));
			reg64(fdt, m, "reg", s->fw_map[i].base, s->fw_map[i].size);
		}
	}

	int rsv = fdt_add_subnode(fdt, 0, "reserved-memory");
	CHECK(rsv);
	CHECK(fdt_setprop_u32(fdt, rsv, "#address-cells", 2));
	CHECK(fdt_setprop_u32(fdt, rsv, "#size-cells", 2));
	CHECK(fdt_setprop_empty(fdt, rsv, "ranges"));
	for (uint32_t i = s->reserved_count; i-- > 0;) {
		int r = add_node(fdt, rsv, "mhcl", s->reserved[i].base);
		reg64(fdt, r, "reg", s->reserved[i].base, s->reserved[i].size);
		CHECK(fdt_setprop_empty(fdt, r, "no-map"));
	}

	for (uint32_t ni = s->node_count; ni-- > 0;) {
		const struct shim_sidecar_node *n = &s->nodes[ni];
		int sc = add_node(fdt, 0, "sidecar", n->ctrl_pa);
		fdt64_t reg[4] = {cpu_to_fdt64(n->ctrl_pa), cpu_to_fdt64(SIDECAR_PAGE_SIZE),
				  cpu_to_fdt64(n->shmem_pa), cpu_to_fdt64(n->shmem_size)};
		fdt32_t ids[SHIM_MAX_CPUS];
		CHECK(fdt_setprop_string(fdt, sc, "compatible", "mhcl,sidecar"));
		CHECK(fdt_setprop(fdt, sc, "reg", reg, sizeof(reg)));
		CHECK(fdt_setprop_u32(fdt, sc, "numa-node-id", n->node));
		CHECK(fdt_setprop_u32(fdt, sc, "mhcl,request-vector", SIDECAR_REQUEST_VECTOR));
		for (uint32_t k = 0; k < n->cpu_count; k++)
			ids[k] = cpu_to_fdt32(n->cpu_index[k]);
		CHECK(fdt_setprop(fdt, sc, "mhcl,cpu-indices", ids, n->cpu_count * 4));
	}

	int m = fdt_add_subnode(fdt, 0, "mhcl");
	CHECK(m);
	CHECK(fdt_setprop_string(fdt, m, "compatible", "mhcl,boot-info"));
	const struct mhcl_payload_item *it = s->payload.item;
	if (it[MHCL_PAYLOAD_MANIFEST].size)
		reg64(fdt, m, "manifest", s->mod_base + it[MHCL_PAYLOAD_MANIFEST].offset,
		      it[MHCL_PAYLOAD_MANIFEST].size);
	else
		CHECK(fdt_setprop_string(fdt, m, "manifest-path", "/etc/mhcl/manifest.dtb"));
	reg64(fdt, m, "initrd", s->mod_base + it[MHCL_PAYLOAD_INITRD].offset,
	      it[MHCL_PAYLOAD_INITRD].size);
	CHECK(fdt_setprop_u64(fdt, m, "boot-tsc-khz", rt_tsc_khz()));

	CHECK(fdt_pack(fdt));
	s->dtb = fdt;
	s->dtb_size = fdt_totalsize(fdt);
	sd->next = 0;
	sd->type = SHIM_SETUP_DTB;
	sd->len = s->dtb_size;
	rt_log("device tree built: %u bytes, %u cpus, %u sidecar node(s)", s->dtb_size,
	       t->cpu_count, s->node_count);
}
