/* SPDX-License-Identifier: MIT */
/*
 * The guest's devices the host names in its host tree (/guest data-disk, nic-mac; schema
 * in boot/README.md), as the shim checks them and hands them to init in Linux's tree
 * (/chosen), where init checks them again before they reach a server's args and device
 * files. One definition of what is acceptable, for both.
 */
#ifndef MHCL_DEFS_HOST_GUEST_DEFS_H
#define MHCL_DEFS_HOST_GUEST_DEFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HOST_GUEST_CHOSEN_DATA_DISK "mhcl,guest-data-disk"
#define HOST_GUEST_CHOSEN_NIC_MAC "mhcl,guest-nic-mac"

/* A device node name under /dev: [a-z][a-z0-9]{0,14}, nothing that could leave /dev. */
#define HOST_GUEST_DEV_NAME_MAX 15
#define HOST_GUEST_MAC_LEN 6
/* data-disk names up to this many block devices (a device tree string list). */
#define HOST_GUEST_DISKS_MAX 4u
#define HOST_GUEST_DISK_LIST_MAX (HOST_GUEST_DISKS_MAX * (HOST_GUEST_DEV_NAME_MAX + 1))

/* Whether the n characters at p (no NUL among them) form such a name. */
static inline bool host_guest_dev_name_ok(const char *p, size_t n)
{
	if (n == 0 || n > HOST_GUEST_DEV_NAME_MAX || p[0] < 'a' || p[0] > 'z')
		return false;
	for (size_t i = 1; i < n; i++)
		if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= '0' && p[i] <= '9')))
			return false;
	return true;
}

/*
 * Whether the len bytes at p are a device tree string list of 1..HOST_GUEST_DISKS_MAX
 * such names, none twice; *count is how many. (A disk served twice would be two LUNs
 * writing one device behind each other's back.)
 */
static inline bool host_guest_disk_list_ok(const char *p, size_t len, unsigned *count)
{
	const char *names[HOST_GUEST_DISKS_MAX];
	unsigned n = 0;

	if (len < 2 || len > HOST_GUEST_DISK_LIST_MAX || p[len - 1] != '\0')
		return false;
	for (size_t at = 0; at < len;) {
		size_t k = 0;
		while (p[at + k] != '\0')
			k++;
		if (n == HOST_GUEST_DISKS_MAX || !host_guest_dev_name_ok(p + at, k))
			return false;
		for (unsigned j = 0; j < n; j++) {
			size_t m = 0;
			while (names[j][m] == p[at + m] && names[j][m] != '\0')
				m++;
			if (names[j][m] == '\0' && m == k)
				return false;
		}
		names[n++] = p + at;
		at += k + 1;
	}
	*count = n;
	return true;
}

/* Not a group address (bit 0 of the first byte). */
static inline bool host_guest_mac_unicast(const uint8_t *m)
{
	return !(m[0] & 1u);
}

static inline bool host_guest_mac_zero(const uint8_t *m)
{
	return !(m[0] | m[1] | m[2] | m[3] | m[4] | m[5]);
}

#endif
