/* SPDX-License-Identifier: MIT */
/* IGVM loader (worker/loader/igvm_load.c): a file written with the mhcl-igvm builder is placed
 * into guest RAM (pages, zero pages, parameter areas with command line, memory map and VP
 * count, VP 0's registers); files the partition cannot honour are refused with a message
 * and, when the file itself is malformed, before any byte of RAM is written. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libfdt.h>

#include "igvm.h"
#include "igvm_load.h"
#include "test_guestmem.h"

#define RAM (64ull << 20)
#define MASK 1u
#define PAGE_A 0x200000ull
#define PAGE_Z 0x201000ull
#define AREA_CMD 0x10000ull
#define AREA_MAP 0x11000ull
#define AREA_VPC 0x12000ull
#define AREA_DT 0x13000ull

enum variant {
	V_GOOD,
	V_LONG_CMDLINE_AREA, /* command line area of 1 page, caller passes 5000 bytes */
	V_PAGE_PLATFORM,     /* a page at 0xe0000 */
	V_PAGE_BEYOND,	     /* a page past RAM */
	V_REQUIRED_BEYOND,   /* REQUIRED_MEMORY past RAM */
	V_REG_VTL0,	     /* a VTL 0 register on a VTL 2 platform */
	V_REG_UNKNOWN,	     /* RCX: not a register the loader sets */
	V_ES_DIFFERS,
	V_NO_VP,
	V_MADT,
	V_SNP_ONLY,
	V_DT_SMALL, /* device tree parameter 96 bytes before its area's end */
};

static void reg_u64(struct igvm_vp_register *r, uint8_t vtl, uint32_t name, uint64_t v)
{
	memset(r, 0, sizeof(*r));
	r->vtl = vtl;
	r->name = name;
	memcpy(r->value, &v, sizeof(v));
}

static void reg_seg(struct igvm_vp_register *r, uint32_t name, uint16_t sel, uint16_t attr)
{
	struct hv_x64_segment_register s = {
	    .base = 0, .limit = 0xffffffff, .selector = sel, .attributes = attr};
	memset(r, 0, sizeof(*r));
	r->vtl = 2;
	r->name = name;
	memcpy(r->value, &s, sizeof(s));
}

static uint8_t *build(enum variant v, size_t *ret_len)
{
	struct igvm_builder *b = igvm_builder_new();
	static uint8_t page[4096];
	uint8_t *out = NULL;

	ASSERT_TRUE(b != NULL);
	if (v == V_SNP_ONLY)
		ASSERT_OK(igvm_add_platform(b, MASK, IGVM_PLATFORM_SEV_SNP, 2, 1, 0));
	else
		ASSERT_OK(igvm_add_platform(b, MASK, IGVM_PLATFORM_VSM_ISOLATION, 2,
					    IGVM_VSM_ISOLATION_PLATFORM_VERSION, 0));
	/* A second platform whose directives the loader must skip. */
	ASSERT_OK(igvm_add_platform(b, 2, IGVM_PLATFORM_SEV_SNP, 2, 1, 0));
	ASSERT_OK(igvm_add_param_area(b, 0, 4096, NULL, 0));
	ASSERT_OK(igvm_add_param(b, IGVM_VHT_COMMAND_LINE, 0, 0));
	ASSERT_OK(igvm_add_param_area(b, 1, 4096, NULL, 0));
	ASSERT_OK(igvm_add_param(b, IGVM_VHT_MEMORY_MAP, 1, 0));
	static const char init[] = "initial contents";
	ASSERT_OK(igvm_add_param_area(b, 2, 4096, init, sizeof(init)));
	ASSERT_OK(igvm_add_param(b, IGVM_VHT_VP_COUNT_PARAMETER, 2, 64));
	ASSERT_OK(igvm_add_param_area(b, 3, 4096, NULL, 0));
	ASSERT_OK(igvm_add_param(b, IGVM_VHT_DEVICE_TREE, 3, v == V_DT_SMALL ? 4000 : 0));
	if (v == V_MADT)
		ASSERT_OK(igvm_add_param(b, IGVM_VHT_MADT, 2, 128));

	for (size_t i = 0; i < sizeof(page); i++)
		page[i] = (uint8_t)(i * 13 + 5);
	ASSERT_OK(igvm_add_page(b, PAGE_A, MASK, 0, IGVM_PAGE_DATA_NORMAL, page));
	ASSERT_OK(igvm_add_page(b, PAGE_Z, MASK, 0, IGVM_PAGE_DATA_NORMAL, NULL));
	/* Only for platform 2: must not be placed. */
	ASSERT_OK(igvm_add_page(b, 0x300000, 2, 0, IGVM_PAGE_DATA_NORMAL, page));
	if (v == V_PAGE_PLATFORM)
		ASSERT_OK(igvm_add_page(b, 0xe0000, MASK, 0, IGVM_PAGE_DATA_NORMAL, page));
	if (v == V_PAGE_BEYOND)
		ASSERT_OK(igvm_add_page(b, RAM, MASK, 0, IGVM_PAGE_DATA_NORMAL, page));
	ASSERT_OK(igvm_add_param_insert(b, AREA_CMD, MASK, 0));
	ASSERT_OK(igvm_add_param_insert(b, AREA_MAP, MASK, 1));
	ASSERT_OK(igvm_add_param_insert(b, AREA_VPC, MASK, 2));
	ASSERT_OK(igvm_add_param_insert(b, AREA_DT, MASK, 3));
	ASSERT_OK(igvm_add_required_memory(
	    b, 0, MASK, v == V_REQUIRED_BEYOND ? (uint32_t)RAM + 4096 : 0x400000, 0));

	struct igvm_vp_register r[16];
	unsigned n = 0;
	reg_u64(&r[n++], 2, HV_X64_REGISTER_CR0, 0x11);
	reg_u64(&r[n++], 2, HV_X64_REGISTER_EFER, 0);
	reg_seg(&r[n++], HV_X64_REGISTER_CS, 0x08, 0xc09b);
	reg_seg(&r[n++], HV_X64_REGISTER_DS, 0x10, 0xc093);
	reg_seg(&r[n++], HV_X64_REGISTER_ES, v == V_ES_DIFFERS ? 0x18 : 0x10, 0xc093);
	reg_seg(&r[n++], HV_X64_REGISTER_SS, 0x10, 0xc093);
	reg_seg(&r[n++], HV_X64_REGISTER_TR, 0x18, 0x008b);
	reg_u64(&r[n++], 2, HV_X64_REGISTER_RBX, 0x6000);
	reg_u64(&r[n++], v == V_REG_VTL0 ? 0 : 2, HV_X64_REGISTER_RIP, 0x100000);
	if (v == V_REG_UNKNOWN)
		reg_u64(&r[n++], 2, 0x00020001 /* RCX */, 1);
	if (v != V_NO_VP && v != V_SNP_ONLY)
		ASSERT_OK(igvm_add_vp_context_vbs(b, MASK, 0, r, n));
	ASSERT_OK(igvm_finish(b, &out, ret_len));
	igvm_builder_free(b);
	return out;
}

/* Loads variant v into ram (filled with 0xaa first); returns igvm_load's result. */
static int load(struct guestmem *ram, enum variant v, const char *cmdline,
		struct igvm_load_result *res, char *err, size_t errlen)
{
	size_t len;
	uint8_t *f = build(v, &len);
	struct igvm_load_params p = {.cmdline = cmdline, .vp_count = 3};

	memset(ram->base, 0xaa, ram->map_len);
	int r = igvm_load(ram, f, len, &p, res, err, errlen);
	if (r)
		fprintf(stderr, "variant %d: %d %s\n", v, r, err);
	free(f);
	return r;
}

static void test_good(struct guestmem *ram)
{
	struct igvm_load_result res;
	char err[256];

	ASSERT_OK(load(ram, V_GOOD, "console=ttyS0 x=1", &res, err, sizeof(err)));
	const uint8_t *a = test_gm_ptr(ram, PAGE_A, 4096);
	for (size_t i = 0; i < 4096; i++)
		ASSERT_EQ(a[i], (uint8_t)(i * 13 + 5));
	const uint8_t *z = test_gm_ptr(ram, PAGE_Z, 4096);
	for (size_t i = 0; i < 4096; i++)
		ASSERT_EQ(z[i], 0);
	ASSERT_EQ(*test_gm_ptr(ram, 0x300000, 1), 0xaa); /* the other platform's page */
	ASSERT_EQ(res.pages, 2);
	ASSERT_EQ(res.zero_pages, 1);
	ASSERT_EQ(res.inserts, 4);
	ASSERT_EQ(res.params, 4);

	const uint8_t *cmd = test_gm_ptr(ram, AREA_CMD, 4096);
	ASSERT_STREQ((const char *)cmd, "console=ttyS0 x=1");
	ASSERT_EQ(cmd[4095], 0); /* the rest of the area is zero */

	struct igvm_vhs_memory_map_entry e[4];
	ASSERT_OK(guestmem_read(ram, AREA_MAP, e, sizeof(e)));
	ASSERT_UEQ(e[0].starting_gpa_page_number, 0);
	ASSERT_UEQ(e[0].number_of_pages, 0x9f);
	ASSERT_EQ(e[0].entry_type, IGVM_MEMORY_MAP_MEMORY);
	ASSERT_UEQ(e[1].starting_gpa_page_number, 0x9f);
	ASSERT_UEQ(e[1].number_of_pages, 0x100 - 0x9f);
	ASSERT_EQ(e[1].entry_type, IGVM_MEMORY_MAP_PLATFORM_RESERVED);
	ASSERT_UEQ(e[2].starting_gpa_page_number, 0x100);
	ASSERT_UEQ(e[2].number_of_pages, RAM / 4096 - 0x100);
	ASSERT_EQ(e[2].entry_type, IGVM_MEMORY_MAP_MEMORY);
	ASSERT_UEQ(e[3].number_of_pages, 0); /* end marker */

	/* Area 2 kept its initial contents and got the VP count at offset 64. */
	ASSERT_STREQ((const char *)test_gm_ptr(ram, AREA_VPC, 64), "initial contents");
	uint32_t vpc;
	ASSERT_OK(guestmem_read(ram, AREA_VPC + 64, &vpc, sizeof(vpc)));
	ASSERT_EQ(vpc, 3);

	/* The host device tree: valid, mhcl,host-v1, one cpu per VP with its APIC ID. */
	const void *fdt = test_gm_ptr(ram, AREA_DT, 4096);
	ASSERT_OK(fdt_check_full(fdt, 4096));
	ASSERT_STREQ((const char *)fdt_getprop(fdt, 0, "compatible", NULL), "mhcl,host-v1");
	for (uint32_t i = 0; i < 3; i++) {
		char path[32];
		snprintf(path, sizeof(path), "/cpus/cpu@%u", i);
		int node = fdt_path_offset(fdt, path);
		ASSERT_GE(node, 0);
		int len;
		const fdt32_t *reg = fdt_getprop(fdt, node, "reg", &len);
		ASSERT_TRUE(reg && len == 4);
		ASSERT_EQ(fdt32_to_cpu(*reg), i);
	}
	ASSERT_LT(fdt_path_offset(fdt, "/cpus/cpu@3"), 0);

	const struct x86_boot_state *b = &res.boot;
	ASSERT_UEQ(b->rip, 0x100000);
	ASSERT_UEQ(b->rbx, 0x6000);
	ASSERT_UEQ(b->cr0, 0x11);
	ASSERT_UEQ(b->rflags, 2);
	ASSERT_EQ(b->cs.selector, 0x08);
	ASSERT_EQ(b->cs.type, 0xb);
	ASSERT_EQ(b->cs.s, 1);
	ASSERT_EQ(b->cs.present, 1);
	ASSERT_EQ(b->cs.db, 1);
	ASSERT_EQ(b->cs.l, 0);
	ASSERT_EQ(b->cs.g, 1);
	ASSERT_UEQ(b->cs.limit, 0xffffffff);
	ASSERT_EQ(b->ds.selector, 0x10);
	ASSERT_EQ(b->ds.type, 0x3);
}

static void expect_refused(struct guestmem *ram, enum variant v, const char *cmdline, int want,
			   const char *msg)
{
	struct igvm_load_result res;
	char err[256];

	ASSERT_EQ(load(ram, v, cmdline, &res, err, sizeof(err)), want);
	if (!strstr(err, msg)) {
		fprintf(stderr, "variant %d: want \"%s\" in \"%s\"\n", v, msg, err);
		ASSERT_TRUE(false);
	}
}

static void test_refused(struct guestmem *ram)
{
	static char long_cmd[5000];
	memset(long_cmd, 'x', sizeof(long_cmd) - 1);

	expect_refused(ram, V_GOOD, long_cmd, -E2BIG, "does not fit its parameter area 0");
	expect_refused(ram, V_PAGE_PLATFORM, "", -EBADMSG, "overlaps the platform range");
	expect_refused(ram, V_PAGE_BEYOND, "", -E2BIG, "raise --mem");
	expect_refused(ram, V_REQUIRED_BEYOND, "", -E2BIG, "the image requires RAM");
	expect_refused(ram, V_REG_VTL0, "", -ENOTSUP, "for VTL 0");
	expect_refused(ram, V_REG_UNKNOWN, "", -ENOTSUP, "VP register 0x20001");
	expect_refused(ram, V_ES_DIFFERS, "", -ENOTSUP, "differ from DS");
	expect_refused(ram, V_NO_VP, "", -EBADMSG, "no VP context for VP 0");
	expect_refused(ram, V_MADT, "", -ENOTSUP, "parameter MADT");
	expect_refused(ram, V_DT_SMALL, "", -E2BIG, "host device tree for 3 VPs does not fit");
	expect_refused(ram, V_SNP_ONLY, "", -ENOTSUP, "no VSM-isolation or native platform");
}

/* A malformed file is refused by the reader before any page is placed. */
static void test_malformed(struct guestmem *ram)
{
	struct igvm_load_result res;
	struct igvm_load_params p = {.cmdline = "", .vp_count = 1};
	char err[256];
	size_t len;
	uint8_t *f = build(V_GOOD, &len);

	f[len - 1] ^= 0xff; /* file data: still valid framing, page A changes */
	f[40] ^= 0x01;	    /* a variable header byte: checksum mismatch */
	memset(ram->base, 0xaa, ram->map_len);
	ASSERT_EQ(igvm_load(ram, f, len, &p, &res, err, sizeof(err)), -EBADMSG);
	ASSERT_TRUE(strstr(err, "checksum") != NULL);
	for (size_t i = 0; i < ram->map_len; i += 512)
		ASSERT_EQ(ram->base[i], 0xaa);
	ASSERT_EQ(igvm_load(ram, f, 10, &p, &res, err, sizeof(err)), -EBADMSG);
	free(f);
}

int main(void)
{
	struct guestmem ram;

	ASSERT_OK(guestmem_create(RAM, &ram));
	test_good(&ram);
	test_refused(&ram);
	test_malformed(&ram);
	guestmem_release(&ram);
	printf("ok\n");
	return 0;
}
