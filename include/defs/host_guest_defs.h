/* SPDX-License-Identifier: MIT */
/*
 * The guest's devices the host names in its host tree (/guest data-disk, nvme, nic-mac; schema
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
#define HOST_GUEST_CHOSEN_NVME "mhcl,guest-nvme"

/* A device node name under /dev: [a-z][a-z0-9]{0,14}, nothing that could leave /dev. */
#define HOST_GUEST_DEV_NAME_MAX 15
#define HOST_GUEST_MAC_LEN 6
/* data-disk names up to this many block devices (a device tree string list). */
#define HOST_GUEST_DISKS_MAX 4u
#define HOST_GUEST_DISK_LIST_MAX (HOST_GUEST_DISKS_MAX * (HOST_GUEST_DEV_NAME_MAX + 1))
/* nvme names up to this many NVMe functions for the guest's disks (DDDD:BB:DD.F each). */
#define HOST_GUEST_PCI_ADDR_LEN 12
#define HOST_GUEST_NVME_MAX 4u
#define HOST_GUEST_NVME_LIST_MAX (HOST_GUEST_NVME_MAX * (HOST_GUEST_PCI_ADDR_LEN + 1))
/* nic-mac names up to this many NICs: their MACs back to back, 6 bytes each. */
#define HOST_GUEST_NICS_MAX 4u
#define HOST_GUEST_NIC_MAC_LIST_MAX (HOST_GUEST_NICS_MAX * HOST_GUEST_MAC_LEN)
/* What each list must be, as the shim's and init's refusals say it (the counts above). */
#define HOST_GUEST_DISK_LIST_RULE "1..4 different /dev names ([a-z][a-z0-9]{0,14})"
#define HOST_GUEST_NVME_LIST_RULE "1..4 different PCI functions (dddd:bb:dd.f, lowercase hex)"
#define HOST_GUEST_NIC_MAC_RULE "1..4 different unicast, non-zero MACs of 6 bytes each"
/* host_guest_list_ok's item array is sized for the longest list. */
_Static_assert(HOST_GUEST_NVME_MAX <= HOST_GUEST_DISKS_MAX, "list items fit");

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

/* A PCI function as sysfs names it, DDDD:BB:DD.F in lowercase hex (device 00..1f, function
 * 0..7): what init turns into the function's VFIO group node. */
static inline bool host_guest_pci_addr_ok(const char *p, size_t n)
{
	static const char form[] = "hhhh:hh:dd.f";
	if (n != sizeof(form) - 1)
		return false;
	for (size_t i = 0; i < n; i++) {
		bool hex = (p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f');
		if (form[i] == ':' || form[i] == '.') {
			if (p[i] != form[i])
				return false;
		} else if (!hex) {
			return false;
		}
	}
	return p[8] <= '1' && p[11] <= '7';
}

/*
 * Whether the len bytes at p are a device tree string list of 1..max items that each
 * satisfy ok, none twice; *count is how many. (A disk or function served twice would be
 * two LUNs writing one device behind each other's back.)
 */
static inline bool host_guest_list_ok(const char *p, size_t len, unsigned max,
				      bool (*ok)(const char *, size_t), unsigned *count)
{
	const char *items[HOST_GUEST_DISKS_MAX];
	unsigned n = 0;

	if (len < 2 || p[len - 1] != '\0' || max > HOST_GUEST_DISKS_MAX)
		return false;
	for (size_t at = 0; at < len;) {
		size_t k = 0;
		while (p[at + k] != '\0')
			k++;
		if (n == max || !ok(p + at, k))
			return false;
		for (unsigned j = 0; j < n; j++) {
			size_t m = 0;
			while (items[j][m] == p[at + m] && items[j][m] != '\0')
				m++;
			if (items[j][m] == '\0' && m == k)
				return false;
		}
		items[n++] = p + at;
		at += k + 1;
	}
	*count = n;
	return true;
}

/* data-disk: 1..HOST_GUEST_DISKS_MAX different /dev names. */
static inline bool host_guest_disk_list_ok(const char *p, size_t len, unsigned *count)
{
	return len <= HOST_GUEST_DISK_LIST_MAX &&
	       host_guest_list_ok(p, len, HOST_GUEST_DISKS_MAX, host_guest_dev_name_ok, count);
}

/* nvme: 1..HOST_GUEST_NVME_MAX different PCI functions. */
static inline bool host_guest_nvme_list_ok(const char *p, size_t len, unsigned *count)
{
	return len <= HOST_GUEST_NVME_LIST_MAX &&
	       host_guest_list_ok(p, len, HOST_GUEST_NVME_MAX, host_guest_pci_addr_ok, count);
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

/* nic-mac: 1..HOST_GUEST_NICS_MAX MACs back to back, each unicast and not all zeroes, none
 * twice (two NICs with one address would each take the other's frames); *count is how
 * many. */
static inline bool host_guest_nic_macs_ok(const uint8_t *p, size_t len, unsigned *count)
{
	if (len == 0 || len % HOST_GUEST_MAC_LEN || len > HOST_GUEST_NIC_MAC_LIST_MAX)
		return false;
	for (size_t at = 0; at < len; at += HOST_GUEST_MAC_LEN) {
		if (!host_guest_mac_unicast(p + at) || host_guest_mac_zero(p + at))
			return false;
		for (size_t j = 0; j < at; j += HOST_GUEST_MAC_LEN) {
			size_t m = 0;
			while (m < HOST_GUEST_MAC_LEN && p[j + m] == p[at + m])
				m++;
			if (m == HOST_GUEST_MAC_LEN)
				return false;
		}
	}
	*count = (unsigned)(len / HOST_GUEST_MAC_LEN);
	return true;
}

#endif
