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
