/* SPDX-License-Identifier: MIT */
/*
 * init/bootdt.c: the manifest named by the boot shim's device tree, read
 * from a fake /sys/kernel/boot_params/setup_data directory and a fake
 * /dev/mem file (a sparse file with the manifest at its "physical" address).
 * Good trees (an address in reserved memory, a manifest-path) load the exact
 * bytes; malformed entries, trees and ranges fail with a message naming them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "setup_dtb.h"
#include "test.h"

#define MAN_ADDR 0x3000u
#define MEM_SIZE 0x5000u

static char tmpdir[64], sd[96], mem[96], man_path[96];
static uint8_t man[MANIFEST_DTB_MAX];
static size_t man_len;

static void write_file(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

static size_t compile(const char *dts, uint8_t *buf, size_t len)
{
	char src[128], dst[128], cmd[512];
	const char *dtc = getenv("MHCL_DTC") ? getenv("MHCL_DTC") : "dtc";

	snprintf(src, sizeof(src), "%s/t.dts", tmpdir);
	snprintf(dst, sizeof(dst), "%s/t.dtb", tmpdir);
	write_file(src, dts, strlen(dts));
	snprintf(cmd, sizeof(cmd), "%s -q -I dts -O dtb -o %s %s", dtc, dst, src);
	ASSERT_OK(system(cmd));
	FILE *f = fopen(dst, "rb");
	ASSERT_TRUE(f);
	size_t n = fread(buf, 1, len, f);
	fclose(f);
	return n;
}

static void reset_sd(void)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf %s && mkdir %s", sd, sd);
	ASSERT_OK(system(cmd));
}

/* setup_data/<idx> with type text and data bytes. */
static void add_entry(int idx, const char *type, const void *data, size_t len)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%d", sd, idx);
	ASSERT_OK(mkdir(p, 0755));
	snprintf(p, sizeof(p), "%s/%d/type", sd, idx);
	write_file(p, type, strlen(type));
	snprintf(p, sizeof(p), "%s/%d/data", sd, idx);
	write_file(p, data, len);
}

/* A boot tree: reserved memory [0x3000, 0x5000) and [0x10000, 0x11000), /mhcl body. */
static size_t boot_tree(const char *mhcl, uint8_t *buf, size_t len)
{
	char dts[2048];
	snprintf(dts, sizeof(dts),
		 "/dts-v1/; / { #address-cells = <2>; #size-cells = <2>;\n"
		 "reserved-memory { #address-cells = <2>; #size-cells = <2>; ranges;\n"
		 " mhcl@3000 { reg = /bits/ 64 <0x3000 0x2000>; no-map; };\n"
		 " mhcl@10000 { reg = /bits/ 64 <0x10000 0x1000>; no-map; }; };\n"
		 "%s };\n",
		 mhcl);
	return compile(dts, buf, len);
}

static uint8_t tree[64 * 1024];

/* One SETUP_DTB entry (index 1) after an unrelated one (index 0). */
static void setup_tree(const char *mhcl)
{
	size_t n = boot_tree(mhcl, tree, sizeof(tree));
	reset_sd();
	add_entry(0, "0x1\n", "\x01\x02\x03\x04", 4);
	add_entry(1, "0x2\n", tree, n);
}

static int load(struct manifest **m, char *src, char *err)
{
	src[0] = err[0] = '\0';
	return manifest_load_boot(sd, mem, "/run/x", m, src, 256, err, 512);
}

static void expect_error(int code, const char *needle)
{
	struct manifest *m = NULL;
	char src[256], err[512];
	int r = load(&m, src, err);
	if (r != code || !strstr(err, needle))
		TEST_FAIL_("want %d mentioning '%s', got %d: %s", code, needle, r, err);
	ASSERT_TRUE(m == NULL);
}

static void mhcl_manifest(uint64_t addr, uint64_t size)
{
	char body[512];
	snprintf(body, sizeof(body),
		 "mhcl { compatible = \"mhcl,boot-info\"; manifest = /bits/ 64 <0x%llx 0x%llx>; };",
		 (unsigned long long)addr, (unsigned long long)size);
	setup_tree(body);
}

/* The manifest as above, beside /chosen with props (the host's guest and devices). */
static void chosen_tree(const char *props)
{
	char body[512];
	snprintf(body, sizeof(body),
		 "chosen { %s }; mhcl { compatible = \"mhcl,boot-info\"; manifest = /bits/ 64 "
		 "<0x%x 0x%zx>; };",
		 props, MAN_ADDR, man_len);
	setup_tree(body);
}

/* The loaded manifest, or the test fails saying what was loaded. */
static struct manifest *load_ok(const char *what)
{
	struct manifest *m = NULL;
	char src[256], err[512];
	if (load(&m, src, err) < 0)
		TEST_FAIL_("load with %s failed: %s", what, err);
	return m;
}

static void test_good(void)
{
	struct manifest *m = NULL;
	char src[256], err[512], want[128];

	mhcl_manifest(MAN_ADDR, man_len);
	int r = load(&m, src, err);
	if (r < 0)
		TEST_FAIL_("load failed: %s", err);
	snprintf(want, sizeof(want), "manifest from the boot device tree (%zu bytes at 0x3000)",
		 man_len);
	ASSERT_STREQ(src, want);
	ASSERT_EQ(m->nservers, 3);
	ASSERT_STREQ(m->servers[0].name, "diag");
	ASSERT_STREQ(m->servers[0].args[1], "/run/x/diag.sock");
	/* What `mhcl config` returns: exactly the bytes read from memory. */
	ASSERT_EQ(m->dtb_len, man_len);
	ASSERT_OK(memcmp(m->dtb, man, man_len));
	manifest_free(m);

	/* A manifest anywhere inside a reserved range, up to its last byte. */
	int fd = open(mem, O_WRONLY | O_CLOEXEC);
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(pwrite(fd, man, man_len, MEM_SIZE - man_len), (ssize_t)man_len);
	close(fd);
	mhcl_manifest(MEM_SIZE - man_len, man_len);
	m = NULL;
	r = load(&m, src, err);
	if (r < 0)
		TEST_FAIL_("load at the end of the range failed: %s", err);
	ASSERT_EQ(m->nservers, 3);
	manifest_free(m);

	/* manifest-path: the file in the initrd. */
	char body[256];
	snprintf(body, sizeof(body),
		 "mhcl { compatible = \"mhcl,boot-info\"; manifest-path = \"%s\"; };", man_path);
	setup_tree(body);
	m = NULL;
	r = load(&m, src, err);
	if (r < 0)
		TEST_FAIL_("load by path failed: %s", err);
	ASSERT_TRUE(strstr(src, man_path));
	ASSERT_TRUE(strstr(src, "manifest-path"));
	ASSERT_EQ(m->dtb_len, man_len);
	ASSERT_OK(memcmp(m->dtb, man, man_len));
	manifest_free(m);
}

/* Isolation comes from the boot tree's /chosen; the manifest cannot take it back. */
static void test_isolated(void)
{
	struct manifest *m = NULL;
	char src[256], err[512], body[512];

	mhcl_manifest(MAN_ADDR, man_len);
	ASSERT_OK(load(&m, src, err));
	ASSERT_FALSE(m->isolated);
	manifest_free(m);

	static const char *const chosen[] = {"chosen { mhcl,isolated; };",
					     "chosen { mhcl,isolated = <0>; };"};
	for (size_t i = 0; i < 2; i++) {
		snprintf(body, sizeof(body),
			 "%s mhcl { compatible = \"mhcl,boot-info\"; manifest = /bits/ 64 "
			 "<0x%x 0x%zx>; };",
			 chosen[i], MAN_ADDR, man_len);
		setup_tree(body);
		m = NULL;
		if (load(&m, src, err) < 0)
			TEST_FAIL_("isolated load failed: %s", err);
		ASSERT_TRUE(m->isolated); /* any value counts */
		manifest_free(m);
	}
	snprintf(body, sizeof(body),
		 "chosen { mhcl,isolated; }; mhcl { compatible = \"mhcl,boot-info\"; "
		 "manifest-path = \"%s\"; };",
		 man_path);
	setup_tree(body);
	m = NULL;
	if (load(&m, src, err) < 0)
		TEST_FAIL_("isolated load by path failed: %s", err);
	ASSERT_TRUE(m->isolated);
	manifest_free(m);
}

/* The host's guest (/chosen, from the shim) fills the manifest's variables. */
static void test_guest_vars(void)
{
	struct manifest *m;

	mhcl_manifest(MAN_ADDR, man_len);
	m = load_ok("the manifest alone");
	ASSERT_STREQ(m->servers[1].args[0], "2"); /* the manifest's defaults */
	ASSERT_STREQ(m->servers[1].args[1], "m256");
	ASSERT_STREQ(m->servers[1].args[2], "file=/dev/vdb");
	ASSERT_STREQ(m->servers[1].args[3], "02:00:00:00:00:01");
	ASSERT_STREQ(m->servers[1].device_files[0], "/dev/vdb");
	manifest_free(m);

	chosen_tree("mhcl,guest-vps = <4>; mhcl,guest-memory-mib = <512>;");
	m = load_ok("the host's guest");
	ASSERT_STREQ(m->servers[1].args[0], "4");
	ASSERT_STREQ(m->servers[1].args[1], "m512");
	ASSERT_EQ(m->vars.guest_vps, 4);
	manifest_free(m);

	/* The host's data disk and NIC MAC: in args and device files alike. */
	chosen_tree("mhcl,guest-data-disk = \"vdc\"; mhcl,guest-nic-mac = [02 6d 68 63 6c 07];");
	m = load_ok("the host's devices");
	ASSERT_STREQ(m->servers[1].args[0], "2");
	ASSERT_STREQ(m->servers[1].args[2], "file=/dev/vdc");
	ASSERT_STREQ(m->servers[1].args[3], "02:6d:68:63:6c:07");
	ASSERT_STREQ(m->servers[1].device_files[0], "/dev/vdc");
	ASSERT_EQ(m->servers[1].nargs, 4);
	/* One NIC: one per-nic server, under its node's name, number 0. */
	ASSERT_EQ(m->nservers, 3);
	ASSERT_STREQ(m->servers[2].name, "net");
	ASSERT_STREQ(m->servers[2].args[1], "mhcl0");
	ASSERT_STREQ(m->servers[2].args[3], "02:6d:68:63:6c:07");
	manifest_free(m);

	/* Three NICs: a per-nic server each (net, net1, net2), each with its own MAC and
	 * number; any other server sees the first NIC's MAC. */
	chosen_tree(
	    "mhcl,guest-nic-mac = [02 00 00 00 00 0a 02 00 00 00 00 0b 02 00 00 00 00 0c];");
	m = load_ok("three NICs");
	ASSERT_EQ(m->vars.nguest_nic_macs, 3);
	ASSERT_EQ(m->nservers, 5);
	ASSERT_STREQ(m->servers[1].args[3], "02:00:00:00:00:0a");
	static const char *const names[] = {"net", "net1", "net2"};
	static const char *const taps[] = {"mhcl0", "mhcl1", "mhcl2"};
	static const char *const macs[] = {"02:00:00:00:00:0a", "02:00:00:00:00:0b",
					   "02:00:00:00:00:0c"};
	for (int i = 0; i < 3; i++) {
		ASSERT_STREQ(m->servers[2 + i].name, names[i]);
		ASSERT_STREQ(m->servers[2 + i].args[1], taps[i]);
		ASSERT_STREQ(m->servers[2 + i].args[3], macs[i]);
		ASSERT_TRUE(m->servers[2 + i].per_nic);
		ASSERT_EQ(m->servers[2 + i].uid, 407 + i); /* an identity each */
		ASSERT_EQ(m->servers[2 + i].gid, 407 + i);
	}
	manifest_free(m);

	/* No NIC named: the one per-nic server takes the manifest's default MAC. */
	chosen_tree("mhcl,guest-vps = <3>;");
	m = load_ok("no NIC");
	ASSERT_EQ(m->nservers, 3);
	ASSERT_STREQ(m->servers[2].name, "net");
	ASSERT_STREQ(m->servers[2].args[1], "mhcl0");
	ASSERT_STREQ(m->servers[2].args[3], "02:00:00:00:00:09");
	manifest_free(m);

	/* NVMe functions reach ${GUEST_NVME} (the manifest here names none: nothing else
	 * changes). */
	chosen_tree("mhcl,guest-nvme = \"0000:00:05.0\", \"0000:1f:1f.7\";");
	m = load_ok("two NVMe functions");
	ASSERT_EQ(m->vars.nguest_nvme, 2);
	ASSERT_STREQ(m->vars.guest_nvme[0], "0000:00:05.0");
	ASSERT_STREQ(m->vars.guest_nvme[1], "0000:1f:1f.7");
	ASSERT_EQ(m->servers[1].nargs, 4);
	manifest_free(m);

	/* Several data disks: what names ${GUEST_DATA_DISK} is there once per disk, in the
	 * host's order, in args and device files alike; the rest stays as it was. */
	chosen_tree("mhcl,guest-data-disk = \"vdc\", \"sda\", \"nvme0n1\";");
	m = load_ok("three data disks");
	ASSERT_EQ(m->vars.nguest_data_disks, 3);
	ASSERT_EQ(m->servers[1].nargs, 6);
	ASSERT_STREQ(m->servers[1].args[0], "2");
	ASSERT_STREQ(m->servers[1].args[1], "m256");
	ASSERT_STREQ(m->servers[1].args[2], "file=/dev/vdc");
	ASSERT_STREQ(m->servers[1].args[3], "file=/dev/sda");
	ASSERT_STREQ(m->servers[1].args[4], "file=/dev/nvme0n1");
	ASSERT_STREQ(m->servers[1].args[5], "02:00:00:00:00:01");
	ASSERT_TRUE(m->servers[1].args[6] == NULL);
	ASSERT_EQ(m->servers[1].ndevice_files, 3);
	ASSERT_STREQ(m->servers[1].device_files[0], "/dev/vdc");
	ASSERT_STREQ(m->servers[1].device_files[2], "/dev/nvme0n1");
	manifest_free(m);

	/* What could walk out of /dev, or is no unicast MAC, is refused. */
	static const char *const bad[][2] = {
	    {"mhcl,guest-data-disk = \"../sda\";", "'mhcl,guest-data-disk' must be 1..4 different"},
	    {"mhcl,guest-data-disk = \"\";", "'mhcl,guest-data-disk' must be 1..4 different"},
	    {"mhcl,guest-data-disk = [76 64 62];", "'mhcl,guest-data-disk' must be 1..4 different"},
	    {"mhcl,guest-data-disk = \"vda\", \"vda\";", "'mhcl,guest-data-disk' must be 1..4"},
	    {"mhcl,guest-data-disk = \"a\", \"b\", \"c\", \"d\", \"e\";",
	     "'mhcl,guest-data-disk' must be 1..4"},
	    {"mhcl,guest-nvme = \"0000:00:05.0/..\";", "'mhcl,guest-nvme' must be 1..4 different"},
	    {"mhcl,guest-nvme = \"0000:00:20.0\";", "'mhcl,guest-nvme' must be 1..4 different"},
	    {"mhcl,guest-nvme = \"0000:00:05.8\";", "'mhcl,guest-nvme' must be 1..4 different"},
	    {"mhcl,guest-nvme = \"0000:00:0A.0\";", "'mhcl,guest-nvme' must be 1..4 different"},
	    {"mhcl,guest-nvme = \"0000:00:05.0\", \"0000:00:05.0\";", "'mhcl,guest-nvme' must"},
	    {"mhcl,guest-nic-mac = [02 00 00 00 01];",
	     "'mhcl,guest-nic-mac' must be 1..4 different"},
	    {"mhcl,guest-nic-mac = [03 00 00 00 00 01];", "'mhcl,guest-nic-mac' must be 1..4"},
	    {"mhcl,guest-nic-mac = [00 00 00 00 00 00];", "'mhcl,guest-nic-mac' must be 1..4"},
	    {"mhcl,guest-nic-mac = [02 00 00 00 00 01 02 00 00 00 00 01];",
	     "'mhcl,guest-nic-mac' must be 1..4 different"},
	    {"mhcl,guest-nic-mac = [02 00 00 00 00 01 02 00 00 00 00];",
	     "'mhcl,guest-nic-mac' must be 1..4 different"},
	    {"mhcl,guest-nic-mac = [02 00 00 00 00 01 02 00 00 00 00 02 02 00 00 00 00 03 02 00 "
	     "00 00 00 04 02 00 00 00 00 05];",
	     "'mhcl,guest-nic-mac' must be 1..4"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		chosen_tree(bad[i][0]);
		expect_error(-EINVAL, bad[i][1]);
	}

	chosen_tree("mhcl,guest-vps = /bits/ 64 <4>;");
	expect_error(-EINVAL, "'mhcl,guest-vps' must be one cell, not 8 bytes");
}

static void test_entries(void)
{
	size_t n = boot_tree("mhcl { compatible = \"mhcl,boot-info\"; };", tree, sizeof(tree));

	/* No setup_data directory at all. */
	char saved[96];
	snprintf(saved, sizeof(saved), "%s", sd);
	snprintf(sd, sizeof(sd), "%s/none", tmpdir);
	expect_error(-ENOENT, "unable to open");
	snprintf(sd, sizeof(sd), "%s", saved);

	/* Wrong type: only a non-DTB entry. */
	reset_sd();
	add_entry(0, "0x1\n", tree, n);
	expect_error(-ENOENT, "no SETUP_DTB (type 2) entry among the 1");

	/* Type text that is no number. */
	reset_sd();
	add_entry(0, "dtb\n", tree, n);
	expect_error(-EINVAL, "does not hold a setup_data type number");
	reset_sd();
	add_entry(0, "-2\n", tree, n);
	expect_error(-EINVAL, "does not hold a setup_data type number");
	reset_sd();
	add_entry(0, "0x100000000\n", tree, n);
	expect_error(-EINVAL, "does not hold a setup_data type number");
	reset_sd();
	add_entry(0, "000000000000000000000000000000000000002\n", tree, n);
	expect_error(-EINVAL, "does not hold a setup_data type number");

	/* Two trees: ambiguous. */
	reset_sd();
	add_entry(0, "0x2\n", tree, n);
	add_entry(1, "2", tree, n);
	expect_error(-EINVAL, "two SETUP_DTB entries");

	/* An entry that is not a setup_data index. */
	reset_sd();
	add_entry(0, "0x2\n", tree, n);
	char p[256];
	snprintf(p, sizeof(p), "%s/evil", sd);
	ASSERT_OK(mkdir(p, 0755));
	expect_error(-EINVAL, "unexpected entry 'evil'");

	/* Too many entries. */
	reset_sd();
	for (int i = 0; i <= SETUP_DATA_ENTRIES_MAX; i++)
		add_entry(i, "0x1\n", "", 0);
	expect_error(-E2BIG, "more than");
}

static void test_bad_tree(void)
{
	char body[256];
	snprintf(body, sizeof(body),
		 "mhcl { compatible = \"mhcl,boot-info\"; manifest = /bits/ 64 <0x3000 0x%zx>; };",
		 man_len);
	size_t n = boot_tree(body, tree, sizeof(tree));

	/* Truncated: the header's totalsize is beyond the data. */
	reset_sd();
	add_entry(3, "0x2\n", tree, n - 16);
	expect_error(-EBADMSG, "is not a valid tree: FDT_ERR_TRUNCATED");
	/* Shorter than a header. */
	reset_sd();
	add_entry(3, "0x2\n", tree, 12);
	expect_error(-EBADMSG, "is not a valid tree");
	/* Empty. */
	reset_sd();
	add_entry(3, "0x2\n", tree, 0);
	expect_error(-EBADMSG, "is not a valid tree");
	/* An old tree version (16): refused before libfdt walks it. */
	uint8_t old[sizeof(tree)];
	memcpy(old, tree, n);
	old[23] = 16;
	reset_sd();
	add_entry(3, "0x2\n", old, n);
	expect_error(-EBADMSG, "FDT_ERR_BADVERSION");
	/* Bad magic. */
	memcpy(old, tree, n);
	old[0] ^= 0xff;
	reset_sd();
	add_entry(3, "0x2\n", old, n);
	expect_error(-EBADMSG, "FDT_ERR_BADMAGIC");
	/* A string table offset past the end. */
	memcpy(old, tree, n);
	old[12] = 0x7f;
	reset_sd();
	add_entry(3, "0x2\n", old, n);
	expect_error(-EBADMSG, "is not a valid tree");
	/* Larger than BOOTDT_MAX. */
	uint8_t *big = calloc(1, BOOTDT_MAX + 1);
	ASSERT_TRUE(big);
	memcpy(big, tree, n);
	reset_sd();
	add_entry(3, "0x2\n", big, BOOTDT_MAX + 1);
	free(big);
	expect_error(-E2BIG, "is larger than");

	/* No /mhcl, or a foreign one. */
	setup_tree("chosen { };");
	expect_error(-EINVAL, "has no /mhcl node");
	setup_tree("mhcl { compatible = \"other\"; manifest-path = \"/x\"; };");
	expect_error(-EINVAL, "'compatible' must be \"mhcl,boot-info\"");
	setup_tree("mhcl { compatible = \"mhcl,boot-info\"; };");
	expect_error(-EINVAL, "neither 'manifest' nor 'manifest-path'");
	setup_tree("mhcl { compatible = \"mhcl,boot-info\"; manifest-path = \"/x\";"
		   " manifest = /bits/ 64 <0x3000 0x100>; };");
	expect_error(-EINVAL, "both 'manifest' and 'manifest-path'");
}

static void test_bad_range(void)
{
	/* 32-bit cells: 8 bytes, not <u64, u64>. */
	setup_tree("mhcl { compatible = \"mhcl,boot-info\"; manifest = <0x3000 0x100>; };");
	expect_error(-EINVAL, "(16 bytes), not 8 bytes");
	mhcl_manifest(MAN_ADDR, MANIFEST_DTB_MAX + 1);
	expect_error(-E2BIG, "size 65537 outside");
	mhcl_manifest(MAN_ADDR, 0);
	expect_error(-E2BIG, "size 0 outside");
	mhcl_manifest(0xfffffffffffff000ull, 0x100);
	expect_error(-EINVAL, "is out of range");
	mhcl_manifest(0x7fffffffffffff00ull, 0x100);
	expect_error(-EINVAL, "is out of range");
	/* Outside reserved memory, or crossing its end. */
	mhcl_manifest(0x1000, man_len);
	expect_error(-EINVAL, "not inside any /reserved-memory range");
	mhcl_manifest(0x4f00, 0x200);
	expect_error(-EINVAL, "not inside any /reserved-memory range");
	/* No /reserved-memory at all. */
	size_t n;
	{
		char dts[512];
		snprintf(dts, sizeof(dts),
			 "/dts-v1/; / { mhcl { compatible = \"mhcl,boot-info\";"
			 " manifest = /bits/ 64 <0x3000 0x%zx>; }; };",
			 man_len);
		n = compile(dts, tree, sizeof(tree));
	}
	reset_sd();
	add_entry(0, "0x2\n", tree, n);
	expect_error(-EINVAL, "no /reserved-memory node");
	/* Reserved, but past the end of memory (the mem file). */
	mhcl_manifest(0x10000, 0x100);
	expect_error(-EIO, "ends after 0 of the 256 manifest bytes at 0x10000");
	/* Readable, but not a manifest (zeros): manifest_parse's own message. */
	mhcl_manifest(0x4000, 0x100);
	expect_error(-EBADMSG, "manifest: not a valid device tree");
	/* Unreadable memory device. */
	char saved[96];
	snprintf(saved, sizeof(saved), "%s", mem);
	snprintf(mem, sizeof(mem), "%s/nomem", tmpdir);
	mhcl_manifest(MAN_ADDR, man_len);
	expect_error(-ENOENT, "unable to open");
	snprintf(mem, sizeof(mem), "%s", saved);

	/* manifest-path must be one absolute path without '..'. */
	setup_tree("mhcl { compatible = \"mhcl,boot-info\"; manifest-path = \"etc/m.dtb\"; };");
	expect_error(-EINVAL, "'manifest-path' must be one absolute path");
	setup_tree("mhcl { compatible = \"mhcl,boot-info\"; manifest-path = \"/etc/../m\"; };");
	expect_error(-EINVAL, "'manifest-path' must be one absolute path");
	setup_tree("mhcl { compatible = \"mhcl,boot-info\"; manifest-path = \"/a\", \"/b\"; };");
	expect_error(-EINVAL, "'manifest-path' must be one absolute path");
	setup_tree("mhcl { compatible = \"mhcl,boot-info\"; manifest-path = \"/no/such\"; };");
	expect_error(-ENOENT, "unable to open /no/such");
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/mhcl-bootdt-XXXXXX");
	ASSERT_TRUE(mkdtemp(tmpdir));
	snprintf(sd, sizeof(sd), "%s/setup_data", tmpdir);
	snprintf(mem, sizeof(mem), "%s/mem", tmpdir);
	snprintf(man_path, sizeof(man_path), "%s/manifest.dtb", tmpdir);

	man_len = compile(
	    "/dts-v1/; / { mhcl { manifest { compatible = \"mhcl,manifest-v1\";\n"
	    "diag { binary = \"mhcl-diagd\"; policy = \"diagd\";"
	    " args = \"--unix\", \"${RUN}/diag.sock\"; start-order = <10>; };\n"
	    "sidecar { binary = \"mhcl-sidecard\"; policy = \"sidecard\";"
	    " args = \"${GUEST_VPS:-2}\", \"m${GUEST_MEMORY_MIB:-256}\","
	    " \"file=/dev/${GUEST_DATA_DISK:-vdb}\", \"${GUEST_NIC_MAC:-02:00:00:00:00:01}\";"
	    " user = <401>; device-files = \"/dev/${GUEST_DATA_DISK:-vdb}\"; };\n"
	    "net { binary = \"mhcl-netd\"; policy = \"netd\"; per-nic; start-order = <300>;"
	    " user = <407>;"
	    " args = \"--tap\", \"mhcl${NIC_INDEX}\", \"--mac\", "
	    "\"${GUEST_NIC_MAC:-02:00:00:00:00:09}\"; };\n"
	    "}; }; };\n",
	    man, sizeof(man));
	ASSERT_TRUE(man_len > 64 && man_len < 0x1000);
	write_file(man_path, man, man_len);
	/* "Physical memory": zeros with the manifest at MAN_ADDR, MEM_SIZE bytes. */
	int fd = open(mem, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ASSERT_TRUE(fd >= 0);
	ASSERT_OK(ftruncate(fd, MEM_SIZE));
	ASSERT_EQ(pwrite(fd, man, man_len, MAN_ADDR), (ssize_t)man_len);
	close(fd);

	test_good();
	test_isolated();
	test_guest_vars();
	test_entries();
	test_bad_tree();
	test_bad_range();
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	(void)!system(cmd);
	return 0;
}
