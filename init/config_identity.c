/* SPDX-License-Identifier: MIT */
/*
 * Who a server runs as: the identity properties of a manifest server node.
 *
 *   user = <UID>;              its own unprivileged uid (1..65534); gid defaults to it; a
 *                              per-nic server's instance N runs as UID + N
 *   group = <GID>;             its primary group
 *   groups = <GID ...>;        supplementary groups (e.g. the run-group, to reach sockets)
 *   capabilities = "ipc_lock"; the only capabilities it keeps (none if absent)
 *   device-files = "/dev/kvm", "pci:0000:00:05.0";  handed to 'user' before each start
 *
 * and the manifest node's run-group = <GID>: the group that owns the run dir.
 * Values come from the host in image mode: each is range-checked here, and
 * init/privileges.c applies them.
 */
#include "config.h"

#include <errno.h>
#include <libfdt.h>
#include <linux/capability.h>
#include <stdlib.h>
#include <string.h>

#include "macros.h"

#define ID_MIN 1u
#define ID_MAX 65534u /* 65535 is (uid_t)-1 in 16-bit ABIs, and "nobody" is a shared id */

static const char *const cap_names[] = {
    [CAP_CHOWN] = "chown",
    [CAP_DAC_OVERRIDE] = "dac_override",
    [CAP_DAC_READ_SEARCH] = "dac_read_search",
    [CAP_FOWNER] = "fowner",
    [CAP_FSETID] = "fsetid",
    [CAP_KILL] = "kill",
    [CAP_SETGID] = "setgid",
    [CAP_SETUID] = "setuid",
    [CAP_SETPCAP] = "setpcap",
    [CAP_LINUX_IMMUTABLE] = "linux_immutable",
    [CAP_NET_BIND_SERVICE] = "net_bind_service",
    [CAP_NET_BROADCAST] = "net_broadcast",
    [CAP_NET_ADMIN] = "net_admin",
    [CAP_NET_RAW] = "net_raw",
    [CAP_IPC_LOCK] = "ipc_lock",
    [CAP_IPC_OWNER] = "ipc_owner",
    [CAP_SYS_MODULE] = "sys_module",
    [CAP_SYS_RAWIO] = "sys_rawio",
    [CAP_SYS_CHROOT] = "sys_chroot",
    [CAP_SYS_PTRACE] = "sys_ptrace",
    [CAP_SYS_PACCT] = "sys_pacct",
    [CAP_SYS_ADMIN] = "sys_admin",
    [CAP_SYS_BOOT] = "sys_boot",
    [CAP_SYS_NICE] = "sys_nice",
    [CAP_SYS_RESOURCE] = "sys_resource",
    [CAP_SYS_TIME] = "sys_time",
    [CAP_SYS_TTY_CONFIG] = "sys_tty_config",
    [CAP_MKNOD] = "mknod",
    [CAP_LEASE] = "lease",
    [CAP_AUDIT_WRITE] = "audit_write",
    [CAP_AUDIT_CONTROL] = "audit_control",
    [CAP_SETFCAP] = "setfcap",
    [CAP_MAC_OVERRIDE] = "mac_override",
    [CAP_MAC_ADMIN] = "mac_admin",
    [CAP_SYSLOG] = "syslog",
    [CAP_WAKE_ALARM] = "wake_alarm",
    [CAP_BLOCK_SUSPEND] = "block_suspend",
    [CAP_AUDIT_READ] = "audit_read",
    [CAP_PERFMON] = "perfmon",
    [CAP_BPF] = "bpf",
    [CAP_CHECKPOINT_RESTORE] = "checkpoint_restore",
};

const char *config_cap_name(unsigned cap)
{
	return cap < ARRAY_SIZE(cap_names) ? cap_names[cap] : NULL;
}

/* One or more cells, each an id in [ID_MIN, ID_MAX]. Returns the count or -EINVAL. */
static int id_cells(const char *val, int len, uint32_t *out, size_t max)
{
	if (len <= 0 || len % 4 || (size_t)len / 4 > max)
		return -EINVAL;
	for (int i = 0; i < len / 4; i++) {
		fdt32_t cell;
		memcpy(&cell, val + 4 * i, sizeof(cell));
		out[i] = fdt32_to_cpu(cell);
		if (out[i] < ID_MIN || out[i] > ID_MAX)
			return -EINVAL;
	}
	return len / 4;
}

/* "/abs/path" without "." or ".." components, or "pci:DDDD:BB:DD.F". */
static bool valid_device_file(const char *f)
{
	if (strncmp(f, "pci:", 4) == 0) {
		const char *b = f + 4;
		static const char shape[] = "hhhh:hh:hh.h";
		if (strlen(b) != sizeof(shape) - 1)
			return false;
		for (size_t i = 0; i < sizeof(shape) - 1; i++) {
			bool hex = (b[i] >= '0' && b[i] <= '9') || (b[i] >= 'a' && b[i] <= 'f');
			if (shape[i] == 'h' ? !hex : b[i] != shape[i])
				return false;
		}
		return true;
	}
	if (f[0] != '/')
		return false;
	for (const char *p = f; p; p = strchr(p + 1, '/'))
		if (strncmp(p, "/./", 3) == 0 || strncmp(p, "/../", 4) == 0 ||
		    strcmp(p, "/.") == 0 || strcmp(p, "/..") == 0)
			return false;
	return true;
}

static int take_caps(struct srv_conf *c, const char *val, int len, char *err, size_t err_len)
{
	const char *a[ARRAY_SIZE(cap_names)];
	int n = config_split_strings(val, len, a, ARRAY_SIZE(a), false);
	if (n < 0)
		return config_fail(err, err_len, -EINVAL,
				   "manifest: %s: property 'capabilities' must be a list of names",
				   c->name);
	c->caps = 0;
	for (int i = 0; i < n; i++) {
		unsigned cap = 0;
		while (cap < ARRAY_SIZE(cap_names) &&
		       !(cap_names[cap] && strcmp(cap_names[cap], a[i]) == 0))
			cap++;
		if (cap == ARRAY_SIZE(cap_names))
			return config_fail(err, err_len, -EINVAL,
					   "manifest: %s: property 'capabilities': unknown "
					   "capability '%s' (lower case, no cap_ prefix)",
					   c->name, a[i]);
		c->caps |= 1ull << cap;
	}
	return 1;
}

static int take_device_files(struct srv_conf *c, const char *val, int len, const char *run_dir,
			     const struct manifest_vars *vars, char *err, size_t err_len)
{
	const char *a[MANIFEST_DEVICE_FILES_MAX];
	int n = config_split_strings(val, len, a, ARRAY_SIZE(a), false);
	if (n < 0)
		return config_fail(err, err_len, -EINVAL,
				   "manifest: %s: property 'device-files' must be a list of at "
				   "most %d strings",
				   c->name, MANIFEST_DEVICE_FILES_MAX);
	config_identity_clear(c);
	for (int i = 0; i < n; i++) {
		char why[96];
		int r =
		    config_subst(a[i], run_dir, vars, &c->device_files[c->ndevice_files],
				 MANIFEST_DEVICE_FILES_MAX - c->ndevice_files, why, sizeof(why));
		if (r == -ENOMEM)
			return r;
		if (r < 0)
			return config_fail(err, err_len, -EINVAL,
					   "manifest: %s: property 'device-files': %s", c->name,
					   why);
		c->ndevice_files += (size_t)r;
		for (size_t k = c->ndevice_files - (size_t)r; k < c->ndevice_files; k++)
			if (!valid_device_file(c->device_files[k]))
				return config_fail(
				    err, err_len, -EINVAL,
				    "manifest: %s: property 'device-files': '%.80s' is neither an "
				    "absolute path without . or .. nor pci:DDDD:BB:DD.F",
				    c->name, c->device_files[k]);
	}
	return 1;
}

int config_identity_prop(struct srv_conf *c, const char *pname, const char *val, int len,
			 const char *run_dir, const struct manifest_vars *vars, char *err,
			 size_t err_len)
{
	uint32_t id;

	if (strcmp(pname, "user") == 0 || strcmp(pname, "group") == 0) {
		if (id_cells(val, len, &id, 1) != 1)
			return config_fail(err, err_len, -EINVAL,
					   "manifest: %s: property '%s' must be one cell <N> in "
					   "[%u, %u]",
					   c->name, pname, ID_MIN, ID_MAX);
		if (pname[0] == 'u') {
			/* A per-nic server's instance N is user + N: each NIC's server has
			 * an identity of its own (vmbusd's --device-allow tells them apart). */
			if (vars && vars->in_per_nic) {
				if (id + vars->nic > ID_MAX)
					return config_fail(
					    err, err_len, -EINVAL,
					    "manifest: %s: user %u + NIC %u is past %u", c->name,
					    id, vars->nic, ID_MAX);
				id += vars->nic;
			}
			c->have_user = true;
			c->uid = id;
			if (!c->gid)
				c->gid = id;
		} else {
			c->gid = id;
		}
		return 1;
	}
	if (strcmp(pname, "groups") == 0) {
		int n = id_cells(val, len, c->groups, MANIFEST_GROUPS_MAX);
		if (n < 0)
			return config_fail(err, err_len, -EINVAL,
					   "manifest: %s: property 'groups' must be 1 to %d cells "
					   "in [%u, %u]",
					   c->name, MANIFEST_GROUPS_MAX, ID_MIN, ID_MAX);
		c->ngroups = (size_t)n;
		return 1;
	}
	if (strcmp(pname, "capabilities") == 0)
		return take_caps(c, val, len, err, err_len);
	if (strcmp(pname, "device-files") == 0)
		return take_device_files(c, val, len, run_dir, vars, err, err_len);
	return 0;
}

int config_identity_check(const struct srv_conf *c, char *err, size_t err_len)
{
	if (!c->have_user && (c->gid || c->ngroups || c->ndevice_files))
		return config_fail(err, err_len, -EINVAL,
				   "manifest: %s: 'group', 'groups' and 'device-files' need "
				   "'user'",
				   c->name);
	return 0;
}

void config_identity_clear(struct srv_conf *c)
{
	for (size_t i = 0; i < c->ndevice_files; i++)
		free(c->device_files[i]);
	c->ndevice_files = 0;
}

int config_manifest_prop(struct manifest *m, const char *pname, const char *val, int len, char *err,
			 size_t err_len)
{
	if (strcmp(pname, "run-group") != 0)
		return 0;
	if (!val || id_cells(val, len, &m->run_group, 1) != 1)
		return config_fail(err, err_len, -EINVAL,
				   "manifest: property 'run-group' must be one cell <N> in [%u, "
				   "%u]",
				   ID_MIN, ID_MAX);
	m->have_run_group = true;
	return 1;
}
