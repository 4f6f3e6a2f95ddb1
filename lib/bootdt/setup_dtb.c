/* SPDX-License-Identifier: MIT */
/*
 * Finds the boot device tree the mhcl shim hands Linux as SETUP_DTB
 * setup_data (/sys/kernel/boot_params/setup_data/<N>/{type,data}; the Debian
 * kernel has no CONFIG_OF). Entry names, type text and data all come from the
 * host through the shim: each is bounded and checked before use.
 */
#include "setup_dtb.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "macros.h"

#define SETUP_DTB 2 /* arch/x86/include/uapi/asm/bootparam.h */
#define TYPE_TEXT_MAX 32
#define ENTRY_NAME_MAX 8 /* decimal index */

static int fail(char *err, size_t err_len, int r, const char *fmt, ...) _printf_(4, 5);
static int fail(char *err, size_t err_len, int r, const char *fmt, ...)
{
	va_list ap;

	if (err && err_len) {
		va_start(ap, fmt);
		vsnprintf(err, err_len, fmt, ap);
		va_end(ap);
	}
	return r;
}

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

int setup_dtb_read(const char *dir, size_t max, uint8_t **tree, size_t *tree_len, char *entry,
		   size_t entry_len, char *err, size_t err_len)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[PATH_MAX], found[ENTRY_NAME_MAX + 1] = "";
	uint8_t type_buf[TYPE_TEXT_MAX];
	int nentries = 0, r = 0;

	if (!d)
		return fail(err, err_len, -errno,
			    "boot device tree: unable to open %s: %s (no boot_params setup_data: "
			    "not booted by the mhcl shim, or sysfs not mounted)",
			    dir, strerror(errno));
	while ((errno = 0, de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (!entry_name_ok(de->d_name)) {
			r = fail(err, err_len, -EINVAL,
				 "boot device tree: unexpected entry '%.40s' in %s", de->d_name,
				 dir);
			goto out;
		}
		if (++nentries > SETUP_DATA_ENTRIES_MAX) {
			r = fail(err, err_len, -E2BIG,
				 "boot device tree: more than %d setup_data entries in %s",
				 SETUP_DATA_ENTRIES_MAX, dir);
			goto out;
		}
		snprintf(path, sizeof(path), "%s/%s/type", dir, de->d_name);
		ssize_t n = read_bounded(path, type_buf, sizeof(type_buf));
		uint32_t type;
		if (n < 0 && n != -E2BIG) {
			r = fail(err, err_len, (int)n, "boot device tree: unable to read %s: %s",
				 path, strerror((int)-n));
			goto out;
		}
		if (n < 0 || parse_type(type_buf, (size_t)n, &type) < 0) {
			r = fail(err, err_len, -EINVAL,
				 "boot device tree: %s does not hold a setup_data type number",
				 path);
			goto out;
		}
		if (type != SETUP_DTB)
			continue;
		if (found[0]) {
			r = fail(err, err_len, -EINVAL,
				 "boot device tree: two SETUP_DTB entries in %s (%s and %s)", dir,
				 found, de->d_name);
			goto out;
		}
		memcpy(found, de->d_name, strlen(de->d_name) + 1);
	}
	if (errno) {
		r = fail(err, err_len, -errno, "boot device tree: unable to list %s: %s", dir,
			 strerror(errno));
		goto out;
	}
	if (!found[0]) {
		r = fail(err, err_len, -ENOENT,
			 "boot device tree: no SETUP_DTB (type %d) entry among the %d in %s",
			 SETUP_DTB, nentries, dir);
		goto out;
	}

	snprintf(path, sizeof(path), "%s/%s/data", dir, found);
	snprintf(entry, entry_len, "%s", path);
	uint8_t *buf = malloc(max);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	ssize_t n = read_bounded(path, buf, max);
	if (n < 0) {
		free(buf);
		if (n == -E2BIG)
			r = fail(err, err_len, -E2BIG,
				 "boot device tree: %s is larger than %zu bytes", path, max);
		else
			r = fail(err, err_len, (int)n, "boot device tree: unable to read %s: %s",
				 path, strerror((int)-n));
		goto out;
	}
	*tree = buf;
	*tree_len = (size_t)n;
out:
	closedir(d);
	return r;
}
