/* SPDX-License-Identifier: MIT */
/*
 * The manifest in image mode: the boot shim hands Linux a device tree as
 * SETUP_DTB setup_data, which the kernel shows as
 * /sys/kernel/boot_params/setup_data/<N>/{type,data}. Its /mhcl node names
 * the manifest: `manifest` = <u64 address, u64 size> of the DTB the payload
 * carried (in shim-reserved memory, outside System RAM, so /dev/mem reads
 * it), or `manifest-path` = a file in the initrd. Schema in boot/README.md.
 *
 * Every byte here came from the host through the shim: entry names, the type
 * text, the tree, the address and size. Each is bounded and checked before
 * use, and the manifest itself goes through manifest_parse like any other.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libfdt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "macros.h"
#include "setup_dtb.h"

#define BOOT_INFO_COMPATIBLE "mhcl,boot-info"

static uint64_t read_cells(const fdt32_t *p, int cells)
{
	uint64_t v = 0;
	for (int i = 0; i < cells; i++)
		v = (v << 32) | fdt32_to_cpu(p[i]);
	return v;
}

/* #address-cells or #size-cells of node: 1 or 2 (dflt when absent), else -1. */
static int cells_of(const void *fdt, int node, const char *name, int dflt)
{
	int len;
	const fdt32_t *p = fdt_getprop(fdt, node, name, &len);
	if (!p)
		return dflt;
	if (len != 4)
		return -1;
	uint32_t v = fdt32_to_cpu(*p);
	return v == 1 || v == 2 ? (int)v : -1;
}

/* Whether [addr, addr + size) lies inside one /reserved-memory range. */
static int in_reserved(const void *fdt, uint64_t addr, uint64_t size, char *err, size_t err_len)
{
	int rsv = fdt_path_offset(fdt, "/reserved-memory");
	if (rsv < 0)
		return config_fail(err, err_len, -EINVAL,
				   "boot device tree: no /reserved-memory node");
	int ac = cells_of(fdt, rsv, "#address-cells", 2), sc = cells_of(fdt, rsv, "#size-cells", 1);
	if (ac < 0 || sc < 0)
		return config_fail(err, err_len, -EINVAL,
				   "boot device tree: /reserved-memory: #address-cells and "
				   "#size-cells must be <1> or <2>");
	int node;
	fdt_for_each_subnode(node, fdt, rsv)
	{
		int len;
		const fdt32_t *reg = fdt_getprop(fdt, node, "reg", &len);
		int stride = (ac + sc) * 4;
		if (!reg || len <= 0 || len % stride)
			continue;
		for (int off = 0; off < len; off += stride) {
			const fdt32_t *p = reg + off / 4;
			uint64_t base = read_cells(p, ac), rsize = read_cells(p + ac, sc);
			if (rsize == 0 || base + rsize < base)
				continue;
			if (addr >= base && addr + size <= base + rsize)
				return 0;
		}
	}
	return config_fail(err, err_len, -EINVAL,
			   "boot device tree: /mhcl/manifest (0x%" PRIx64 ", %" PRIu64
			   " bytes) is not inside any /reserved-memory range",
			   addr, size);
}

/* Reads size bytes at addr from mem_path and parses them. */
static int load_from_mem(const char *mem_path, uint64_t addr, uint64_t size, const char *run_dir,
			 const struct manifest_vars *vars, struct manifest **ret, char *err,
			 size_t err_len)
{
	_cleanup_close_ int fd = open(mem_path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return config_fail(err, err_len, -errno, "boot device tree: unable to open %s: %s",
				   mem_path, strerror(errno));
	_cleanup_free_ uint8_t *buf = malloc((size_t)size);
	if (!buf)
		return -ENOMEM;
	size_t got = 0;
	while (got < size) {
		ssize_t n = pread(fd, buf + got, (size_t)size - got, (off_t)(addr + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return config_fail(err, err_len, -errno,
					   "boot device tree: unable to read %" PRIu64
					   " bytes at 0x%" PRIx64 " from %s: %s",
					   size, addr, mem_path, strerror(errno));
		if (n == 0)
			return config_fail(err, err_len, -EIO,
					   "boot device tree: %s ends after %zu of the %" PRIu64
					   " manifest bytes at 0x%" PRIx64,
					   mem_path, got, size, addr);
		got += (size_t)n;
	}
	return manifest_parse_vars(buf, (size_t)size, run_dir, vars, ret, err, err_len);
}

/* The string list prop of /chosen that ok accepts (what says what that is), into dst's
 * rows (stride bytes each: ok bounds every item by it) and *count. */
static int chosen_list(const void *fdt, int chosen, const char *prop,
		       bool (*ok)(const char *, size_t, unsigned *), const char *what, char *dst,
		       size_t stride, unsigned *count, char *err, size_t err_len)
{
	int len;
	unsigned n;
	const char *p = fdt_getprop(fdt, chosen, prop, &len);
	if (!p)
		return 0;
	if (len < 0 || !ok(p, (size_t)len, &n))
		return config_fail(err, err_len, -EINVAL,
				   "boot device tree: /chosen: '%s' must be %s", prop, what);
	for (unsigned i = 0; i < n; i++) {
		size_t k = strlen(p);
		memcpy(dst + i * stride, p, k + 1);
		p += k + 1;
	}
	*count = n;
	return 0;
}

/* /chosen's mhcl,guest-data-disk (a list of /dev names), mhcl,guest-nvme (a list of PCI
 * functions) and mhcl,guest-nic-mac (6 bytes per NIC), checked again here: they end up in a
 * server's args and device files. */
static int boot_device_vars(const void *fdt, int chosen, struct manifest_vars *v, char *err,
			    size_t err_len)
{
	int len;
	int r = chosen_list(fdt, chosen, HOST_GUEST_CHOSEN_DATA_DISK, host_guest_disk_list_ok,
			    HOST_GUEST_DISK_LIST_RULE, v->guest_data_disks[0],
			    sizeof(v->guest_data_disks[0]), &v->nguest_data_disks, err, err_len);
	if (r < 0)
		return r;
	r = chosen_list(fdt, chosen, HOST_GUEST_CHOSEN_NVME, host_guest_nvme_list_ok,
			HOST_GUEST_NVME_LIST_RULE, v->guest_nvme[0], sizeof(v->guest_nvme[0]),
			&v->nguest_nvme, err, err_len);
	if (r < 0)
		return r;
	const uint8_t *mac = fdt_getprop(fdt, chosen, HOST_GUEST_CHOSEN_NIC_MAC, &len);
	if (!mac)
		return 0;
	if (len < 0 || !host_guest_nic_macs_ok(mac, (size_t)len, &v->nguest_nic_macs))
		return config_fail(err, err_len, -EINVAL,
				   "boot device tree: /chosen: '%s' must be %s",
				   HOST_GUEST_CHOSEN_NIC_MAC, HOST_GUEST_NIC_MAC_RULE);
	for (unsigned i = 0; i < v->nguest_nic_macs; i++, mac += HOST_GUEST_MAC_LEN)
		snprintf(v->guest_nic_macs[i], sizeof(v->guest_nic_macs[i]),
			 "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
			 mac[5]);
	return 0;
}

/* /chosen's mhcl,guest-vps and mhcl,guest-memory-mib (the shim's, from the host tree). */
static int boot_vars(const void *fdt, struct manifest_vars *v, char *err, size_t err_len)
{
	static const char *const props[] = {"mhcl,guest-vps", "mhcl,guest-memory-mib"};
	uint32_t *out[] = {&v->guest_vps, &v->guest_memory_mib};
	int chosen = fdt_path_offset(fdt, "/chosen");

	*v = (struct manifest_vars){0};
	for (size_t i = 0; chosen >= 0 && i < ARRAY_SIZE(props); i++) {
		int len;
		const fdt32_t *p = fdt_getprop(fdt, chosen, props[i], &len);
		if (!p)
			continue;
		if (len != 4)
			return config_fail(err, err_len, -EINVAL,
					   "boot device tree: /chosen: property '%s' must be one "
					   "cell, not %d bytes",
					   props[i], len);
		fdt32_t cell;
		memcpy(&cell, p, sizeof(cell));
		*out[i] = fdt32_to_cpu(cell);
	}
	return chosen < 0 ? 0 : boot_device_vars(fdt, chosen, v, err, err_len);
}

static bool path_ok(const char *p)
{
	if (p[0] != '/')
		return false;
	for (const char *c = p; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c == 0x7f)
			return false;
	for (const char *c = strstr(p, "/.."); c; c = strstr(c + 1, "/.."))
		if (c[3] == '/' || c[3] == '\0')
			return false;
	return true;
}

static int load_from_tree(const void *fdt, size_t len, const char *entry, const char *mem_path,
			  const char *run_dir, struct manifest **ret, char *src, size_t src_len,
			  char *err, size_t err_len)
{
	int r = fdt_check_untrusted(fdt, len);
	if (r < 0)
		return config_fail(err, err_len, -EBADMSG,
				   "boot device tree: %s is not a valid tree: %s", entry,
				   fdt_strerror(r));
	/* Read before the manifest, so no manifest can talk init out of it. */
	bool isolated = fdt_isolated(fdt);
	struct manifest_vars vars;
	r = boot_vars(fdt, &vars, err, err_len);
	if (r < 0)
		return r;
	int node = fdt_path_offset(fdt, "/mhcl");
	if (node < 0)
		return config_fail(err, err_len, -EINVAL, "boot device tree: %s has no /mhcl node",
				   entry);
	int plen;
	const char *compat = fdt_getprop(fdt, node, "compatible", &plen);
	if (!compat || plen != (int)sizeof(BOOT_INFO_COMPATIBLE) ||
	    memcmp(compat, BOOT_INFO_COMPATIBLE, sizeof(BOOT_INFO_COMPATIBLE)) != 0)
		return config_fail(err, err_len, -EINVAL,
				   "boot device tree: /mhcl: property 'compatible' must be \"%s\"",
				   BOOT_INFO_COMPATIBLE);

	int mlen, plen2;
	const fdt64_t *reg = fdt_getprop(fdt, node, "manifest", &mlen);
	const char *path = fdt_getprop(fdt, node, "manifest-path", &plen2);
	if (reg && path)
		return config_fail(
		    err, err_len, -EINVAL,
		    "boot device tree: /mhcl has both 'manifest' and 'manifest-path'");
	if (reg) {
		if (mlen != 16)
			return config_fail(err, err_len, -EINVAL,
					   "boot device tree: /mhcl: property 'manifest' must be "
					   "<u64 address, u64 size> (16 bytes), not %d bytes",
					   mlen);
		fdt64_t cells[2];
		memcpy(cells, reg, sizeof(cells));
		uint64_t addr = fdt64_to_cpu(cells[0]), size = fdt64_to_cpu(cells[1]);
		if (size < sizeof(struct fdt_header) || size > MANIFEST_DTB_MAX)
			return config_fail(err, err_len, -E2BIG,
					   "boot device tree: /mhcl/manifest size %" PRIu64
					   " outside [%zu, %u]",
					   size, sizeof(struct fdt_header), MANIFEST_DTB_MAX);
		if (addr > (uint64_t)INT64_MAX - size)
			return config_fail(err, err_len, -EINVAL,
					   "boot device tree: /mhcl/manifest address 0x%" PRIx64
					   " + %" PRIu64 " bytes is out of range",
					   addr, size);
		r = in_reserved(fdt, addr, size, err, err_len);
		if (r < 0)
			return r;
		r = load_from_mem(mem_path, addr, size, run_dir, &vars, ret, err, err_len);
		if (r < 0)
			return r;
		(*ret)->isolated |= isolated;
		snprintf(src, src_len,
			 "manifest from the boot device tree (%" PRIu64 " bytes at 0x%" PRIx64 ")",
			 size, addr);
		return 0;
	}
	if (path) {
		if (plen2 <= 1 || plen2 > MANIFEST_STR_MAX || path[plen2 - 1] != '\0' ||
		    strlen(path) != (size_t)plen2 - 1 || !path_ok(path))
			return config_fail(
			    err, err_len, -EINVAL,
			    "boot device tree: /mhcl: property 'manifest-path' must be one "
			    "absolute path without '..', shorter than %u bytes",
			    MANIFEST_STR_MAX);
		r = manifest_load_vars(path, run_dir, &vars, ret, err, err_len);
		if (r < 0)
			return r;
		(*ret)->isolated |= isolated;
		snprintf(src, src_len, "manifest from %s (manifest-path in the boot device tree)",
			 path);
		return 0;
	}
	return config_fail(err, err_len, -EINVAL,
			   "boot device tree: /mhcl has neither 'manifest' nor 'manifest-path'");
}

int manifest_load_boot(const char *sysfs_dir, const char *mem_path, const char *run_dir,
		       struct manifest **ret, char *src, size_t src_len, char *err, size_t err_len)
{
	_cleanup_free_ uint8_t *tree = NULL;
	size_t len = 0;
	char entry[PATH_MAX];

	int r =
	    setup_dtb_read(sysfs_dir, BOOTDT_MAX, &tree, &len, entry, sizeof(entry), err, err_len);
	if (r < 0)
		return r;
	return load_from_tree(tree, len, entry, mem_path, run_dir, ret, src, src_len, err, err_len);
}
