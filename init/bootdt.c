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

#include <dirent.h>
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

#define SETUP_DTB 2 /* arch/x86/include/uapi/asm/bootparam.h */
#define BOOT_INFO_COMPATIBLE "mhcl,boot-info"
#define TYPE_TEXT_MAX 32
#define ENTRY_NAME_MAX 8 /* decimal index */

/*
 * Reads all of path into buf (max bytes). Returns the length, -E2BIG when
 * the file holds more than max bytes, or -errno.
 */
static ssize_t read_bounded(const char *path, uint8_t *buf, size_t max)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	size_t len = 0;
	uint8_t extra;

	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n;
		if (len < max)
			n = read(fd, buf + len, max - len);
		else
			n = read(fd, &extra, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return (ssize_t)len;
		if (len == max)
			return -E2BIG;
		len += (size_t)n;
	}
}

/* Parses setup_data's type text ("0x2\n"; plain decimal also taken). */
static int parse_type(const uint8_t *buf, size_t len, uint32_t *type)
{
	char text[TYPE_TEXT_MAX + 1];
	char *end;

	if (len == 0 || len > TYPE_TEXT_MAX)
		return -EINVAL;
	memcpy(text, buf, len);
	text[len] = '\0';
	if (text[len - 1] == '\n')
		text[--len] = '\0';
	if (len == 0 || strlen(text) != len || !((text[0] >= '0' && text[0] <= '9')))
		return -EINVAL;
	errno = 0;
	unsigned long v = strtoul(text, &end, 0);
	if (errno || *end || v > UINT32_MAX)
		return -EINVAL;
	*type = (uint32_t)v;
	return 0;
}

static bool entry_name_ok(const char *n)
{
	size_t l = strlen(n);
	if (l == 0 || l > ENTRY_NAME_MAX)
		return false;
	for (size_t i = 0; i < l; i++)
		if (n[i] < '0' || n[i] > '9')
			return false;
	return true;
}

/*
 * Finds the one SETUP_DTB entry under dir and reads its data into a fresh
 * buffer (*tree, *tree_len). Entries of other types are skipped; a
 * malformed type text or two SETUP_DTB entries are errors.
 */
static int find_setup_dtb(const char *dir, uint8_t **tree, size_t *tree_len, char *entry,
			  size_t entry_len, char *err, size_t err_len)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[PATH_MAX], found[ENTRY_NAME_MAX + 1] = "";
	uint8_t type_buf[TYPE_TEXT_MAX];
	int nentries = 0, r = 0;

	if (!d)
		return config_fail(
		    err, err_len, -errno,
		    "boot device tree: unable to open %s: %s (no boot_params setup_data: "
		    "not booted by the mhcl shim, or sysfs not mounted)",
		    dir, strerror(errno));
	while ((errno = 0, de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (!entry_name_ok(de->d_name)) {
			r = config_fail(err, err_len, -EINVAL,
					"boot device tree: unexpected entry '%.40s' in %s",
					de->d_name, dir);
			goto out;
		}
		if (++nentries > BOOTDT_ENTRIES_MAX) {
			r = config_fail(err, err_len, -E2BIG,
					"boot device tree: more than %d setup_data entries in %s",
					BOOTDT_ENTRIES_MAX, dir);
			goto out;
		}
		snprintf(path, sizeof(path), "%s/%s/type", dir, de->d_name);
		ssize_t n = read_bounded(path, type_buf, sizeof(type_buf));
		uint32_t type;
		if (n < 0 && n != -E2BIG) {
			r = config_fail(err, err_len, (int)n,
					"boot device tree: unable to read %s: %s", path,
					strerror((int)-n));
			goto out;
		}
		if (n < 0 || parse_type(type_buf, (size_t)n, &type) < 0) {
			r = config_fail(
			    err, err_len, -EINVAL,
			    "boot device tree: %s does not hold a setup_data type number", path);
			goto out;
		}
		if (type != SETUP_DTB)
			continue;
		if (found[0]) {
			r = config_fail(err, err_len, -EINVAL,
					"boot device tree: two SETUP_DTB entries in %s (%s and %s)",
					dir, found, de->d_name);
			goto out;
		}
		memcpy(found, de->d_name, strlen(de->d_name) + 1);
	}
	if (errno) {
		r = config_fail(err, err_len, -errno, "boot device tree: unable to list %s: %s",
				dir, strerror(errno));
		goto out;
	}
	if (!found[0]) {
		r = config_fail(err, err_len, -ENOENT,
				"boot device tree: no SETUP_DTB (type %d) entry among the %d in %s",
				SETUP_DTB, nentries, dir);
		goto out;
	}

	snprintf(path, sizeof(path), "%s/%s/data", dir, found);
	snprintf(entry, entry_len, "%s", path);
	uint8_t *buf = malloc(BOOTDT_MAX);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	ssize_t n = read_bounded(path, buf, BOOTDT_MAX);
	if (n < 0) {
		free(buf);
		if (n == -E2BIG)
			r = config_fail(err, err_len, -E2BIG,
					"boot device tree: %s is larger than %u bytes", path,
					BOOTDT_MAX);
		else
			r = config_fail(err, err_len, (int)n,
					"boot device tree: unable to read %s: %s", path,
					strerror((int)-n));
		goto out;
	}
	*tree = buf;
	*tree_len = (size_t)n;
out:
	closedir(d);
	return r;
}

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
			 struct manifest **ret, char *err, size_t err_len)
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
	return manifest_parse(buf, (size_t)size, run_dir, ret, err, err_len);
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
		r = load_from_mem(mem_path, addr, size, run_dir, ret, err, err_len);
		if (r < 0)
			return r;
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
		r = manifest_load(path, run_dir, ret, err, err_len);
		if (r < 0)
			return r;
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

	int r = find_setup_dtb(sysfs_dir, &tree, &len, entry, sizeof(entry), err, err_len);
	if (r < 0)
		return r;
	return load_from_tree(tree, len, entry, mem_path, run_dir, ret, src, src_len, err, err_len);
}
