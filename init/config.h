/* SPDX-License-Identifier: MIT */
/*
 * The init manifest: a device-tree node /mhcl/manifest (compatible
 * "mhcl,manifest-v1") with one subnode per server. The tree comes from the
 * host in image mode, so everything is validated: structure (fdt_check_full),
 * property names, value types and sizes, string lists, counts and ranges.
 */
#ifndef MHCL_INIT_CONFIG_H
#define MHCL_INIT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "defs/host_guest_defs.h"

#define MANIFEST_DTB_MAX (64u * 1024u)
#define MANIFEST_SERVERS_MAX 32
#define MANIFEST_NAME_MAX 32 /* server node name, with NUL */
#define MANIFEST_STR_MAX 256 /* one string value, with NUL */
#define MANIFEST_ARGS_MAX 32
#define MANIFEST_POLICY_MAX 32
#define MANIFEST_GROUPS_MAX 8
#define MANIFEST_DEVICE_FILES_MAX 16

enum restart_policy {
	RESTART_ALWAYS,
	RESTART_ON_FAILURE,
	RESTART_NEVER,
	_RESTART_MAX,
	_RESTART_INVALID = -22,
};

struct srv_conf {
	char name[MANIFEST_NAME_MAX];
	char binary[MANIFEST_STR_MAX];
	char *args[MANIFEST_ARGS_MAX + 1]; /* NULL-terminated, ${RUN} substituted */
	size_t nargs;
	char policy[MANIFEST_POLICY_MAX];
	enum restart_policy restart;
	uint32_t start_order;
	bool control;
	/* When it exits 0 and is not restarted (the guest powered off), init stops every
	 * server, and as PID 1 powers the machine off. */
	bool stop_all_on_exit;
	/* May ask init for CPUs (IPC_MSG_CPUS: sidecar CPUs handed to Linux). */
	bool request_cpus;
	/* A planned restart starts the next instance first and holds it at READY until this
	 * one has handed over: the guest waits only for the handover, not for an exec and
	 * start-up. Only for a server that opens nothing exclusive before READY. */
	bool prestart;
	/* One server per NIC the host names (at least one): the first keeps the node's name,
	 * the others add their number (net, net1, net2, ...); each sees its own NIC as
	 * ${GUEST_NIC_MAC} and its number as ${NIC_INDEX}. */
	bool per_nic;
	uint32_t namespaces; /* CLONE_NEW* flags */
	uint32_t rlimit_nofile;
	uint32_t ready_timeout_ms;
	uint32_t restart_delay_ms;
	uint32_t restart_delay_max_ms;
	uint32_t crash_loop_limit;
	uint32_t crash_loop_window_ms;
	uint32_t stop_timeout_ms;

	/* Identity (config_identity.c). Without 'user' the server keeps uid 0, still with
	 * only the capabilities named here. */
	bool have_user;
	uint32_t uid, gid;
	uint32_t groups[MANIFEST_GROUPS_MAX]; /* supplementary */
	size_t ngroups;
	uint64_t caps; /* bit n: capability n is kept (bounding, permitted, ambient) */
	/* Files init hands to 'user' before each start (chown): glob patterns with ${RUN}
	 * substituted, or "pci:DDDD:BB:DD.F" for that device's VFIO group node. */
	char *device_files[MANIFEST_DEVICE_FILES_MAX];
	size_t ndevice_files;
};

/*
 * What the host decided, from the boot device tree (/chosen, written by the shim from the
 * host tree's /guest): a server's args and device-files take them as ${GUEST_VPS},
 * ${GUEST_MEMORY_MIB}, ${GUEST_DATA_DISK} (a /dev name) and ${GUEST_NIC_MAC}
 * (aa:bb:cc:dd:ee:ff), with a default after ":-" (${GUEST_VPS:-2}) for when the host said
 * nothing. 0 or "" = not said. ${GUEST_DATA_DISK} and ${GUEST_NVME} (NVMe functions,
 * dddd:bb:dd.f) are lists: a string naming one stands for one string per value, in the
 * host's order (an arg "--disk=file=/dev/${GUEST_DATA_DISK}" becomes one --disk per disk),
 * and with the list empty for its default once, or for nothing without a default (an
 * arg "--disk=nvme=${GUEST_NVME}" is left out when the host named no NVMe function).
 * The NICs are servers, not strings: a 'per-nic' server is started once per NIC, and
 * ${GUEST_NIC_MAC} is its own NIC's MAC and ${NIC_INDEX} its number (0, 1, ...); in any
 * other server ${GUEST_NIC_MAC} is the first NIC's and ${NIC_INDEX} is not set.
 */
struct manifest_vars {
	uint32_t guest_vps, guest_memory_mib;
	char guest_data_disks[HOST_GUEST_DISKS_MAX][HOST_GUEST_DEV_NAME_MAX + 1];
	unsigned nguest_data_disks;
	char guest_nvme[HOST_GUEST_NVME_MAX][HOST_GUEST_PCI_ADDR_LEN + 1];
	unsigned nguest_nvme;
	char guest_nic_macs[HOST_GUEST_NICS_MAX][18];
	unsigned nguest_nic_macs;
	/* Set while a per-nic server's instance is read: which NIC it serves. */
	bool in_per_nic;
	unsigned nic;
};

struct manifest {
	struct srv_conf *servers; /* sorted by start_order, then name */
	size_t nservers;
	bool isolated; /* the tree has /chosen/mhcl,isolated (manifest_load_boot: either tree) */
	bool have_run_group;
	uint32_t run_group; /* 'run-group': owns the run dir, where servers make their sockets */
	uint8_t *dtb;	    /* a private copy of the whole tree */
	size_t dtb_len;
	struct manifest_vars vars; /* what the args were given */
};

/*
 * Parses the manifest from a flattened tree (copied; the caller keeps buf).
 * run_dir replaces ${RUN} in args. On error returns -EINVAL/-EBADMSG/
 * -E2BIG/-ENOMEM and writes a message naming the node and property to err.
 */
int manifest_parse(const void *buf, size_t len, const char *run_dir, struct manifest **ret,
		   char *err, size_t err_len);
/* The same with the host's variables (NULL: none said). An arg naming a variable that is
 * neither said nor defaulted, or an unknown one, is refused. */
int manifest_parse_vars(const void *buf, size_t len, const char *run_dir,
			const struct manifest_vars *vars, struct manifest **ret, char *err,
			size_t err_len);
/* Reads a .dtb file (bounded by MANIFEST_DTB_MAX) and parses it. */
int manifest_load(const char *path, const char *run_dir, struct manifest **ret, char *err,
		  size_t err_len);
int manifest_load_vars(const char *path, const char *run_dir, const struct manifest_vars *vars,
		       struct manifest **ret, char *err, size_t err_len);
struct manifest *manifest_free(struct manifest *m);

/*
 * Structure checks for a flattened tree from outside (len bytes at fdt):
 * header, version 17 only, totalsize within len, then fdt_check_full.
 * Returns 0 or a negative libfdt error (fdt_strerror names it).
 */
int fdt_check_untrusted(const void *fdt, size_t len);

/*
 * Isolation: the boot shim writes an empty /chosen/mhcl,isolated into the tree
 * it hands Linux when the host asked for isolation (boot/dt.c). Returns
 * whether fdt (already checked) has it. Nothing can clear it: init is isolated
 * if the boot tree or the manifest tree says so.
 */
#define ISOLATED_PROP "mhcl,isolated"
bool fdt_isolated(const void *fdt);

/* Formats a refusal into err (if given) and returns r: the one error path of
 * the manifest and boot-tree parsers. */
int config_fail(char *err, size_t err_len, int r, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * The manifest named by the device tree the boot shim hands to Linux
 * (init/bootdt.c). sysfs_dir is where the kernel lists its setup_data
 * entries (BOOTDT_SETUP_DATA_DIR); the one of type SETUP_DTB holds the tree.
 * Its /mhcl node has either `manifest` (<u64 address, u64 size>, inside a
 * /reserved-memory range, read from mem_path at that offset) or
 * `manifest-path` (a file in the initrd). On success writes where the
 * manifest came from to src. Errors as manifest_parse, plus -errno for
 * files that cannot be read, -ENOENT when there is no SETUP_DTB entry.
 */
#define BOOTDT_SETUP_DATA_DIR "/sys/kernel/boot_params/setup_data"
#define BOOTDT_MEM "/dev/mem"
#define BOOTDT_MAX (256u * 1024u) /* the boot tree itself */

int manifest_load_boot(const char *sysfs_dir, const char *mem_path, const char *run_dir,
		       struct manifest **ret, char *src, size_t src_len, char *err, size_t err_len);

const char *restart_policy_name(enum restart_policy p);

/* Shared by the manifest's parsers (config.c, config_identity.c). */
int config_split_strings(const char *val, int len, const char **out, size_t max, bool allow_empty);
/* s with ${RUN} replaced by run_dir and ${NAME}, ${NAME:-default} by struct manifest_vars,
 * into out[0..] (malloc'd; as many as struct manifest_vars says for a list, 0 included),
 * at most room of them. The count, or -ENOMEM, or -EINVAL with why for an unknown name, a
 * name not set without a default, two lists in one string, a result too long, or no room. */
int config_subst(const char *s, const char *run_dir, const struct manifest_vars *v, char **out,
		 size_t room, char *why, size_t why_len);

/*
 * The identity properties of a server node: user, group, groups, capabilities,
 * device-files. Returns 1 when pname is one of them and was taken, 0 when it is not
 * one of them, or a negative errno with err set.
 */
int config_identity_prop(struct srv_conf *c, const char *pname, const char *val, int len,
			 const char *run_dir, const struct manifest_vars *vars, char *err,
			 size_t err_len);
/* Checks the identity of a parsed server as a whole (group without user, ...). */
int config_identity_check(const struct srv_conf *c, char *err, size_t err_len);
void config_identity_clear(struct srv_conf *c);
/* The manifest-node property 'run-group'. Returns as config_identity_prop. */
int config_manifest_prop(struct manifest *m, const char *pname, const char *val, int len, char *err,
			 size_t err_len);
/* A capability's manifest name ("net_admin"), or NULL. */
const char *config_cap_name(unsigned cap);

#endif
