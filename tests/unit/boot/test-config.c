/* SPDX-License-Identifier: MIT */
/* boot/config.c built hosted: payload, host DT, ACPI, memory maps. */
#include <errno.h>
#include <libfdt.h>
#include <stdint.h>
#include <string.h>

#include "config.h"
#include "defs/boot_params.h"
#include "test.h"

static struct shim_error err;

static uint8_t payload[3 * 4096];

static struct mhcl_payload_header *fresh_payload(void)
{
	struct mhcl_payload_header *h = (struct mhcl_payload_header *)payload;
	memset(payload, 0, sizeof(payload));
	h->magic = MHCL_PAYLOAD_MAGIC;
	h->version = MHCL_PAYLOAD_VERSION;
	h->header_size = sizeof(*h);
	h->total_size = sizeof(payload);
	h->item[MHCL_PAYLOAD_KERNEL] = (struct mhcl_payload_item){4096, 4096};
	h->item[MHCL_PAYLOAD_INITRD] = (struct mhcl_payload_item){8192, 2048};
	h->item[MHCL_PAYLOAD_CMDLINE] = (struct mhcl_payload_item){8192 + 2048, 5};
	memcpy(payload + 8192 + 2048, "quiet", 5);
	return h;
}

static void test_payload(void)
{
	struct mhcl_payload_header out;
	struct mhcl_payload_header *h = fresh_payload();

	ASSERT_OK(shim_payload_parse(payload, sizeof(payload), &out, &err));
	ASSERT_UEQ(out.item[MHCL_PAYLOAD_INITRD].size, 2048);

	ASSERT_EQ(shim_payload_parse(payload, 64, &out, &err), -EBADMSG);
	h->magic ^= 1;
	ASSERT_EQ(shim_payload_parse(payload, sizeof(payload), &out, &err), -EBADMSG);
	h = fresh_payload();
	h->total_size = sizeof(payload) + 1;
	ASSERT_EQ(shim_payload_parse(payload, sizeof(payload), &out, &err), -EBADMSG);
	h = fresh_payload();
	h->item[MHCL_PAYLOAD_INITRD].size = UINT64_MAX - 100; /* offset + size wraps */
	ASSERT_EQ(shim_payload_parse(payload, sizeof(payload), &out, &err), -EBADMSG);
	ASSERT_TRUE(strstr(err.msg, "outside the payload") != NULL);
	h = fresh_payload();
	h->item[MHCL_PAYLOAD_INITRD].offset = 4096 + 512; /* overlaps the kernel, unaligned */
	ASSERT_EQ(shim_payload_parse(payload, sizeof(payload), &out, &err), -EBADMSG);
	h = fresh_payload();
	h->item[MHCL_PAYLOAD_INITRD].offset = 4096;
	ASSERT_EQ(shim_payload_parse(payload, sizeof(payload), &out, &err), -EBADMSG);
	ASSERT_TRUE(strstr(err.msg, "overlaps") != NULL);
	h = fresh_payload();
	h->item[MHCL_PAYLOAD_INITRD] = (struct mhcl_payload_item){0, 0};
	ASSERT_EQ(shim_payload_parse(payload, sizeof(payload), &out, &err), -EBADMSG);
	h = fresh_payload();
	payload[8192 + 2048 + 2] = 0x01; /* control byte in the command line */
	ASSERT_EQ(shim_payload_parse(payload, sizeof(payload), &out, &err), -EBADMSG);
}

struct dt_cpu {
	uint32_t reg, node;
	int reg_len;
};

static uint8_t dtb[8192];

/* The root of a host tree in dtb, up to its cells; dt_end closes it and returns its size. */
static void dt_begin(const char *compat)
{
	ASSERT_OK(fdt_create(dtb, sizeof(dtb)));
	ASSERT_OK(fdt_finish_reservemap(dtb));
	ASSERT_OK(fdt_begin_node(dtb, ""));
	ASSERT_OK(fdt_property_string(dtb, "compatible", compat));
	ASSERT_OK(fdt_property_u32(dtb, "#address-cells", 2));
	ASSERT_OK(fdt_property_u32(dtb, "#size-cells", 2));
}

static size_t dt_end(void)
{
	ASSERT_OK(fdt_end_node(dtb));
	ASSERT_OK(fdt_finish(dtb));
	return fdt_totalsize(dtb);
}

/* Builds a host tree with the given cpus and memory (base, size, node) triples. */
static size_t build_dt(const char *compat, const struct dt_cpu *cpus, int ncpu,
		       const uint64_t (*mem)[3], int nmem, bool isolated)
{
	dt_begin(compat);
	if (ncpu >= 0) {
		ASSERT_OK(fdt_begin_node(dtb, "cpus"));
		ASSERT_OK(fdt_property_u32(dtb, "#address-cells", 1));
		ASSERT_OK(fdt_property_u32(dtb, "#size-cells", 0));
		for (int i = 0; i < ncpu; i++) {
			char name[32];
			snprintf(name, sizeof(name), "cpu@%d", i);
			ASSERT_OK(fdt_begin_node(dtb, name));
			ASSERT_OK(fdt_property_string(dtb, "device_type", "cpu"));
			fdt32_t r[2] = {cpu_to_fdt32(cpus[i].reg), 0};
			ASSERT_OK(
			    fdt_property(dtb, "reg", r, cpus[i].reg_len ? cpus[i].reg_len : 4));
			ASSERT_OK(fdt_property_u32(dtb, "numa-node-id", cpus[i].node));
			ASSERT_OK(fdt_end_node(dtb));
		}
		ASSERT_OK(fdt_end_node(dtb));
	}
	for (int i = 0; i < nmem; i++) {
		char name[32];
		snprintf(name, sizeof(name), "memory@%d", i);
		ASSERT_OK(fdt_begin_node(dtb, name));
		ASSERT_OK(fdt_property_string(dtb, "device_type", "memory"));
		fdt64_t r[2] = {cpu_to_fdt64(mem[i][0]), cpu_to_fdt64(mem[i][1])};
		ASSERT_OK(fdt_property(dtb, "reg", r, sizeof(r)));
		ASSERT_OK(fdt_property_u32(dtb, "numa-node-id", (uint32_t)mem[i][2]));
		ASSERT_OK(fdt_end_node(dtb));
	}
	ASSERT_OK(fdt_begin_node(dtb, "chosen"));
	if (isolated)
		ASSERT_OK(fdt_property(dtb, "mhcl,isolated", NULL, 0));
	ASSERT_OK(fdt_end_node(dtb));
	return dt_end();
}

static void test_host_dt(void)
{
	static struct shim_topology topo;
	const struct dt_cpu cpus[] = {{0, 0, 0}, {1, 0, 0}, {2, 1, 0}, {3, 1, 0}};
	const uint64_t mem[][3] = {{0x100000, 0x1ff00000, 0}, {0x20000000, 0x20000000, 1}};

	size_t n = build_dt("mhcl,host-v1", cpus, 4, mem, 2, true);
	ASSERT_OK(shim_host_dt_parse(dtb, n, &topo, &err));
	ASSERT_EQ(topo.cpu_count, 4);
	ASSERT_EQ(topo.cpu[2].apic_id, 2);
	ASSERT_EQ(topo.cpu[2].node, 1);
	ASSERT_EQ(topo.node_count, 2);
	ASSERT_EQ(topo.mem_count, 2);
	ASSERT_UEQ(topo.mem[1].base, 0x20000000);
	ASSERT_TRUE(topo.isolated);

	/* Truncated, corrupted and foreign trees. */
	ASSERT_EQ(shim_host_dt_parse(dtb, n - 8, &topo, &err), -EBADMSG);
	ASSERT_TRUE(strstr(err.msg, "totalsize") != NULL);
	uint8_t junk[256];
	memset(junk, 0x5a, sizeof(junk));
	ASSERT_EQ(shim_host_dt_parse(junk, sizeof(junk), &topo, &err), -EBADMSG);
	ASSERT_TRUE(strstr(err.msg, "FDT_ERR_BADMAGIC") != NULL);
	/* Pre-v17 headers never reach libfdt (its 1.6.1 checker can crash on them). */
	n = build_dt("mhcl,host-v1", cpus, 4, mem, 2, false);
	dtb[23] = 16; /* version 16 */
	ASSERT_EQ(shim_host_dt_parse(dtb, n, &topo, &err), -EBADMSG);
	ASSERT_TRUE(strstr(err.msg, "version 16") != NULL);
	n = build_dt("mhcl,host-v1", cpus, 4, mem, 2, false);
	dtb[11] = 0xfc; /* off_dt_struct past totalsize */
	dtb[10] = 0xff;
	ASSERT_EQ(shim_host_dt_parse(dtb, n, &topo, &err), -EBADMSG);
	n = build_dt("acme,board", cpus, 4, mem, 2, false);
	ASSERT_EQ(shim_host_dt_parse(dtb, n, &topo, &err), -EBADMSG);
	ASSERT_TRUE(strstr(err.msg, "mhcl,host-v1") != NULL);

	const struct dt_cpu dup[] = {{0, 0, 0}, {5, 0, 0}, {5, 0, 0}};
	n = build_dt("mhcl,host-v1", dup, 3, mem, 0, false);
	ASSERT_EQ(shim_host_dt_parse(dtb, n, &topo, &err), -EBADMSG);
	ASSERT_STREQ(err.msg, "duplicate cpu APIC ID 5");

	const struct dt_cpu wide[] = {{0, 0, 8}};
	n = build_dt("mhcl,host-v1", wide, 1, mem, 0, false);
	ASSERT_EQ(shim_host_dt_parse(dtb, n, &topo, &err), -EBADMSG);
	const struct dt_cpu big[] = {{255, 0, 0}};
	n = build_dt("mhcl,host-v1", big, 1, mem, 0, false);
	ASSERT_EQ(shim_host_dt_parse(dtb, n, &topo, &err), -EBADMSG);
	const struct dt_cpu farnode[] = {{1, 64, 0}};
	n = build_dt("mhcl,host-v1", farnode, 1, mem, 0, false);
	ASSERT_EQ(shim_host_dt_parse(dtb, n, &topo, &err), -EBADMSG);
	n = build_dt("mhcl,host-v1", cpus, 0, mem, 0, false);
	ASSERT_EQ(shim_host_dt_parse(dtb, n, &topo, &err), -EBADMSG);

	const uint64_t unaligned[][3] = {{0x100800, 0x1000, 0}};
	n = build_dt("mhcl,host-v1", cpus, -1, unaligned, 1, false);
	ASSERT_EQ(shim_host_dt_parse(dtb, n, &topo, &err), -EBADMSG);
	const uint64_t wraps[][3] = {{0xfffffffffffff000ull, 0x2000, 0}};
	n = build_dt("mhcl,host-v1", cpus, -1, wraps, 1, false);
	ASSERT_EQ(shim_host_dt_parse(dtb, n, &topo, &err), -EBADMSG);

	/* No /cpus: memory only, CPUs come from ACPI. */
	n = build_dt("mhcl,host-v1", cpus, -1, mem, 2, false);
	ASSERT_OK(shim_host_dt_parse(dtb, n, &topo, &err));
	ASSERT_EQ(topo.cpu_count, 0);
	ASSERT_EQ(topo.mem_count, 2);
}

static void acpi_finish(uint8_t *t, size_t len)
{
	uint8_t sum = 0;
	t[4] = (uint8_t)len;
	t[5] = (uint8_t)(len >> 8);
	t[9] = 0;
	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + t[i]);
	t[9] = (uint8_t)(0x100 - sum);
}

static void test_acpi(void)
{
	static struct shim_topology topo;
	uint8_t madt[44 + 4 * 8] = {'A', 'P', 'I', 'C'};
	uint8_t srat[48 + 4 * 16 + 40] = {'S', 'R', 'A', 'T'};

	for (int i = 0; i < 4; i++) {
		uint8_t *e = madt + 44 + 8 * i;
		e[0] = 0;
		e[1] = 8;
		e[2] = (uint8_t)i;
		e[3] = (uint8_t)(i * 2); /* APIC IDs 0 2 4 6 */
		e[4] = i == 3 ? 0 : 1;	 /* the last one is disabled */
	}
	acpi_finish(madt, sizeof(madt));
	for (int i = 0; i < 4; i++) {
		uint8_t *e = srat + 48 + 16 * i;
		e[0] = 0;
		e[1] = 16;
		e[2] = (uint8_t)(i < 2 ? 7 : 9); /* proximity domains 7, 7, 9, 9 */
		e[3] = (uint8_t)(i * 2);
		e[4] = 1;
	}
	uint8_t *m = srat + 48 + 64;
	m[0] = 1;
	m[1] = 40;
	m[2] = 9;
	m[8 + 3] = 0x40;  /* base 0x40000000 */
	m[16 + 3] = 0x10; /* size 0x10000000 */
	m[28] = 1;
	acpi_finish(srat, sizeof(srat));

	ASSERT_OK(shim_acpi_parse(madt, sizeof(madt), srat, sizeof(srat), 4, &topo, &err));
	ASSERT_EQ(topo.cpu_count, 3);
	ASSERT_EQ(topo.cpu[0].apic_id, 4); /* boot CPU first */
	ASSERT_EQ(topo.cpu[1].apic_id, 0);
	ASSERT_EQ(topo.cpu[0].node, 1);
	ASSERT_EQ(topo.cpu[1].node, 0);
	ASSERT_EQ(topo.node_count, 2);
	ASSERT_EQ(topo.mem_count, 1);
	ASSERT_UEQ(topo.mem[0].base, 0x40000000);
	ASSERT_EQ(topo.mem[0].node, 1);

	ASSERT_EQ(shim_acpi_parse(madt, sizeof(madt), NULL, 0, 9, &topo, &err), -EBADMSG);
	ASSERT_TRUE(strstr(err.msg, "boot CPU") != NULL);
	madt[50] ^= 1; /* checksum */
	ASSERT_EQ(shim_acpi_parse(madt, sizeof(madt), NULL, 0, 0, &topo, &err), -EBADMSG);
	madt[50] ^= 1;
	madt[44 + 8 + 1] = 200; /* entry overruns */
	acpi_finish(madt, sizeof(madt));
	ASSERT_EQ(shim_acpi_parse(madt, sizeof(madt), NULL, 0, 0, &topo, &err), -EBADMSG);
	ASSERT_TRUE(strstr(err.msg, "overruns") != NULL);
}

static void test_memory(void)
{
	const struct shim_range ram[] = {
	    {0, 0x9fc00, SHIM_E820_RAM, 0},
	    {0x9fc00, 0x400, SHIM_E820_RESERVED, 0},
	    {0xf0000, 0x10000, SHIM_E820_RESERVED, 0},
	    {0x100000, 0x3fee0000, SHIM_E820_RAM, 0},
	    {0xfffc0000, 0x40000, SHIM_E820_RESERVED, 0},
	};
	const struct shim_range ok[] = {{0, 0x9f000, SHIM_E820_RAM, 0},
					{0x100000, 0x1ff00000, SHIM_E820_RAM, 0}};
	const struct shim_range overlap[] = {{0x100000, 0x200000, SHIM_E820_RAM, 0},
					     {0x200000, 0x100000, SHIM_E820_RAM, 0}};
	const struct shim_range outside[] = {{0x3ff00000, 0x200000, SHIM_E820_RAM, 0}};
	const struct shim_range hole[] = {{0x90000, 0x80000, SHIM_E820_RAM, 0}};

	ASSERT_OK(shim_mem_validate(ok, 2, ram, 5, &err));
	ASSERT_EQ(shim_mem_validate(overlap, 2, ram, 5, &err), -EEXIST);
	ASSERT_TRUE(strstr(err.msg, "overlaps") != NULL);
	ASSERT_EQ(shim_mem_validate(outside, 1, ram, 5, &err), -ERANGE);
	ASSERT_EQ(shim_mem_validate(hole, 1, ram, 5, &err), -ERANGE);

	struct shim_range out[32];
	const struct shim_range rsv[] = {{0x100000, 0x9a000, SHIM_E820_RESERVED, 0},
					 {0x800000, 0x30000, SHIM_E820_RESERVED, 0}};
	int n = shim_e820_build(ram, 5, NULL, 0, rsv, 2, out, 32);
	ASSERT_EQ(n, 7);
	ASSERT_UEQ(out[2].base, 0xf0000); /* reserved f0000..19a000 coalesced */
	ASSERT_UEQ(out[2].size, 0x19a000 - 0xf0000);
	ASSERT_EQ(out[2].type, SHIM_E820_RESERVED);
	ASSERT_UEQ(out[3].base, 0x19a000);
	ASSERT_EQ(out[3].type, SHIM_E820_RAM);
	ASSERT_UEQ(out[4].base, 0x800000);
	ASSERT_EQ(out[4].type, SHIM_E820_RESERVED);

	/* Restricted to the host's ranges: RAM outside them becomes reserved. */
	n = shim_e820_build(ram, 5, ok, 2, rsv, 2, out, 32);
	ASSERT_GT(n, 0);
	bool found = false;
	for (int i = 0; i < n; i++)
		if (out[i].base == 0x20000000) {
			ASSERT_EQ(out[i].type, SHIM_E820_RESERVED);
			found = true;
		}
	ASSERT_TRUE(found);
	ASSERT_EQ(shim_e820_build(ram, 5, NULL, 0, rsv, 2, out, 3), -E2BIG);
}

/* Isolation is read from the host tree before the command line: even from a tree
 * refused later for its contents, never from one that is not a sound FDT. */
static void test_host_dt_isolated(void)
{
	const struct dt_cpu cpus[] = {{0, 0, 0}, {0, 0, 0}};
	const uint64_t mem[][3] = {{0x100000, 0x1000, 0}};

	size_t n = build_dt("mhcl,host-v1", cpus, -1, mem, 0, true);
	ASSERT_TRUE(shim_host_dt_isolated(dtb, n));
	n = build_dt("mhcl,host-v1", cpus, -1, mem, 0, false);
	ASSERT_FALSE(shim_host_dt_isolated(dtb, n));
	/* Duplicate CPUs or a foreign compatible: refused by the parser, isolation kept. */
	n = build_dt("mhcl,host-v1", cpus, 2, mem, 1, true);
	ASSERT_EQ(shim_host_dt_parse(dtb, n, &(struct shim_topology){0}, &err), -EBADMSG);
	ASSERT_TRUE(shim_host_dt_isolated(dtb, n));
	n = build_dt("acme,board", cpus, -1, mem, 0, true);
	ASSERT_TRUE(shim_host_dt_isolated(dtb, n));
	/* Truncated or corrupted: nothing is read from it. */
	ASSERT_FALSE(shim_host_dt_isolated(dtb, n - 8));
	ASSERT_FALSE(shim_host_dt_isolated(dtb, 16));
	dtb[0] ^= 1;
	ASSERT_FALSE(shim_host_dt_isolated(dtb, n));
}

/* A host tree with only /guest: vps and memory-mib as given (len 0: left out). */
static size_t build_guest_dt(int vps_len, uint32_t vps, int mem_len, uint32_t mem)
{
	dt_begin("mhcl,host-v1");
	ASSERT_OK(fdt_begin_node(dtb, "guest"));
	fdt32_t v[2] = {cpu_to_fdt32(vps), cpu_to_fdt32(vps)};
	fdt32_t m[2] = {cpu_to_fdt32(mem), cpu_to_fdt32(mem)};
	if (vps_len)
		ASSERT_OK(fdt_property(dtb, "vps", v, vps_len));
	if (mem_len)
		ASSERT_OK(fdt_property(dtb, "memory-mib", m, mem_len));
	ASSERT_OK(fdt_end_node(dtb));
	return dt_end();
}

static void test_host_dt_guest(void)
{
	static struct shim_topology topo;
	size_t n = build_guest_dt(4, 4, 4, 512);
	ASSERT_OK(shim_host_dt_parse(dtb, n, &topo, &err));
	ASSERT_EQ(topo.guest.vps, 4);
	ASSERT_EQ(topo.guest.memory_mib, 512);
	ASSERT_EQ(topo.cpu_count, 0);
	n = build_guest_dt(4, 1, 0, 0);
	ASSERT_OK(shim_host_dt_parse(dtb, n, &topo, &err));
	ASSERT_EQ(topo.guest.vps, 1);
	ASSERT_EQ(topo.guest.memory_mib, 0); /* not said */
	n = build_guest_dt(4, SHIM_GUEST_VPS_MAX, 4, SHIM_GUEST_MEMORY_MIB_MAX);
	ASSERT_OK(shim_host_dt_parse(dtb, n, &topo, &err));

	const struct {
		int vl;
		uint32_t v;
		int ml;
		uint32_t m;
		const char *msg;
	} bad[] = {
	    {4, 0, 0, 0, "vps 0 outside"},
	    {4, SHIM_GUEST_VPS_MAX + 1, 0, 0, "vps 65 outside"},
	    {8, 2, 0, 0, "vps is 8 bytes"},
	    {0, 0, 4, SHIM_GUEST_MEMORY_MIB_MIN - 1, "memory-mib 63 outside"},
	    {0, 0, 4, SHIM_GUEST_MEMORY_MIB_MAX + 1, "memory-mib 3073 outside"},
	    {0, 0, 2, 256, "memory-mib is 2 bytes"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = build_guest_dt(bad[i].vl, bad[i].v, bad[i].ml, bad[i].m);
		ASSERT_EQ(shim_host_dt_parse(dtb, n, &topo, &err), -EBADMSG);
		if (!strstr(err.msg, bad[i].msg)) {
			fprintf(stderr, "case %zu: '%s' lacks '%s'\n", i, err.msg, bad[i].msg);
			abort();
		}
	}
}

/* A host tree with /guest { data-disk; nic-mac; }: each as given (len 0: left out). */
static size_t build_device_dt(const void *disk, int disk_len, const void *mac, int mac_len)
{
	dt_begin("mhcl,host-v1");
	ASSERT_OK(fdt_begin_node(dtb, "guest"));
	if (disk_len)
		ASSERT_OK(fdt_property(dtb, "data-disk", disk, disk_len));
	if (mac_len)
		ASSERT_OK(fdt_property(dtb, "nic-mac", mac, mac_len));
	ASSERT_OK(fdt_end_node(dtb));
	return dt_end();
}

static void test_host_dt_guest_devices(void)
{
	static struct shim_topology topo;
	static const uint8_t mac[6] = {0x02, 0x6d, 0x68, 0x63, 0x6c, 0x07};
	size_t n = build_device_dt("vdc", 4, mac, 6);
	ASSERT_OK(shim_host_dt_parse(dtb, n, &topo, &err));
	ASSERT_STREQ(topo.guest.data_disks, "vdc");
	ASSERT_UEQ(topo.guest.data_disks_len, 4);
	ASSERT_UEQ(topo.guest.ndata_disks, 1);
	ASSERT_UEQ(topo.guest.nnic_macs, 1);
	ASSERT_EQ(memcmp(topo.guest.nic_macs, mac, 6), 0);
	/* Four NICs: every MAC, in the host's order. */
	static const uint8_t macs[24] = {2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2,
					 2, 0, 0, 0, 0, 3, 2, 0, 0, 0, 1, 1};
	n = build_device_dt(NULL, 0, macs, 24);
	ASSERT_OK(shim_host_dt_parse(dtb, n, &topo, &err));
	ASSERT_UEQ(topo.guest.nnic_macs, 4);
	ASSERT_EQ(memcmp(topo.guest.nic_macs, macs, 24), 0);
	memset(&topo, 0, sizeof(topo));
	n = build_device_dt("nvme0n1", 8, NULL, 0);
	ASSERT_OK(shim_host_dt_parse(dtb, n, &topo, &err));
	ASSERT_STREQ(topo.guest.data_disks, "nvme0n1");
	ASSERT_UEQ(topo.guest.nnic_macs, 0); /* not said */
	/* A list: every name, in the host's order, handed on as the same string list. */
	n = build_device_dt("vdc\0sda\0nvme0n1\0vdz", 20, NULL, 0);
	ASSERT_OK(shim_host_dt_parse(dtb, n, &topo, &err));
	ASSERT_UEQ(topo.guest.ndata_disks, 4);
	ASSERT_UEQ(topo.guest.data_disks_len, 20);
	ASSERT_EQ(memcmp(topo.guest.data_disks, "vdc\0sda\0nvme0n1\0vdz", 20), 0);
	memset(&topo, 0, sizeof(topo));
	/* NVMe functions: handed on as given. */
	dt_begin("mhcl,host-v1");
	ASSERT_OK(fdt_begin_node(dtb, "guest"));
	ASSERT_OK(fdt_property(dtb, "nvme",
			       "0000:00:05.0\0"
			       "000a:1f:1f.7",
			       26));
	ASSERT_OK(fdt_end_node(dtb));
	n = dt_end();
	ASSERT_OK(shim_host_dt_parse(dtb, n, &topo, &err));
	ASSERT_UEQ(topo.guest.nnvme, 2);
	ASSERT_UEQ(topo.guest.nvme_len, 26);
	ASSERT_EQ(memcmp(topo.guest.nvme,
			 "0000:00:05.0\0"
			 "000a:1f:1f.7",
			 26),
		  0);
	static const char *const bad_nvme[] = {"0000:00:05.0/", "0000:00:20.0", "0000:00:05.8",
					       "0000:00:0A.0",	"000:00:05.0",	""};
	for (size_t i = 0; i < sizeof(bad_nvme) / sizeof(bad_nvme[0]); i++) {
		dt_begin("mhcl,host-v1");
		ASSERT_OK(fdt_begin_node(dtb, "guest"));
		ASSERT_OK(fdt_property_string(dtb, "nvme", bad_nvme[i]));
		ASSERT_OK(fdt_end_node(dtb));
		n = dt_end();
		ASSERT_EQ(shim_host_dt_parse(dtb, n, &topo, &err), -EBADMSG);
		ASSERT_TRUE(strstr(err.msg, "nvme must be 1..4 different PCI functions"));
	}
	memset(&topo, 0, sizeof(topo));
	n = build_device_dt(NULL, 0, NULL, 0);
	ASSERT_OK(shim_host_dt_parse(dtb, n, &topo, &err));
	ASSERT_UEQ(topo.guest.data_disks_len, 0);
	ASSERT_UEQ(topo.guest.ndata_disks, 0);

	static const uint8_t multicast[6] = {0x01, 0, 0x5e, 0, 0, 1}, zero[6] = {0};
	static const uint8_t twice[12] = {2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 1};
	static const uint8_t second_bad[12] = {2, 0, 0, 0, 0, 1, 3, 0, 0, 0, 0, 1};
	static const uint8_t five[30] = {2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 2, 0, 0,
					 0, 0, 3, 2, 0, 0, 0, 0, 4, 2, 0, 0, 0, 0, 5};
	const struct {
		const char *disk;
		int dl;
		const uint8_t *mac;
		int ml;
		const char *msg;
	} bad[] = {
	    {"../sda", 7, NULL, 0, "data-disk must be 1..4 different /dev names"},
	    {"sd/a", 5, NULL, 0, "data-disk must be 1..4 different /dev names"},
	    {"0vda", 5, NULL, 0, "data-disk must be 1..4 different /dev names"},
	    {"Vda", 4, NULL, 0, "data-disk must be 1..4 different /dev names"},
	    {"vdb", 3, NULL, 0, "data-disk must be 1..4 different /dev names"}, /* no NUL */
	    {"", 1, NULL, 0, "data-disk must be 1..4 different /dev names"},	/* empty */
	    {"abcdefghijklmnop", 17, NULL, 0, "data-disk must be 1..4"},	/* 16 chars */
	    {"vda\0vdb\0vda", 12, NULL, 0, "data-disk must be 1..4 different"}, /* twice */
	    {"vda\0\0vdb", 9, NULL, 0, "data-disk must be 1..4 different"},	/* empty one */
	    {"a\0b\0c\0d\0e", 10, NULL, 0, "data-disk must be 1..4 different"}, /* five */
	    {"vda\0vd/b", 9, NULL, 0, "data-disk must be 1..4 different"},	/* a bad one */
	    {NULL, 0, mac, 5, "nic-mac must be 1..4 different unicast, non-zero MACs"},
	    {NULL, 0, macs, 23, "nic-mac must be 1..4 different unicast"}, /* a partial one */
	    {NULL, 0, multicast, 6, "nic-mac must be 1..4 different unicast"},
	    {NULL, 0, zero, 6, "nic-mac must be 1..4 different unicast, non-zero"},
	    {NULL, 0, twice, 12, "nic-mac must be 1..4 different"},
	    {NULL, 0, second_bad, 12, "nic-mac must be 1..4 different unicast"},
	    {NULL, 0, five, 30, "nic-mac must be 1..4"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = build_device_dt(bad[i].disk, bad[i].dl, bad[i].mac, bad[i].ml);
		ASSERT_EQ(shim_host_dt_parse(dtb, n, &topo, &err), -EBADMSG);
		if (!strstr(err.msg, bad[i].msg)) {
			fprintf(stderr, "case %zu: '%s' lacks '%s'\n", i, err.msg, bad[i].msg);
			abort();
		}
	}
}

int main(void)
{
	test_host_dt_guest();
	test_host_dt_guest_devices();
	test_host_dt_isolated();
	test_payload();
	test_host_dt();
	test_acpi();
	test_memory();
	printf("test-config: ok\n");
	return 0;
}
