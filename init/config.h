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

#define MANIFEST_DTB_MAX (64u * 1024u)
#define MANIFEST_SERVERS_MAX 32
#define MANIFEST_NAME_MAX 32 /* server node name, with NUL */
#define MANIFEST_STR_MAX 256 /* one string value, with NUL */
#define MANIFEST_ARGS_MAX 32
#define MANIFEST_POLICY_MAX 32

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
	uint32_t namespaces; /* CLONE_NEW* flags */
	uint32_t rlimit_nofile;
	uint32_t ready_timeout_ms;
	uint32_t restart_delay_ms;
	uint32_t restart_delay_max_ms;
	uint32_t crash_loop_limit;
	uint32_t crash_loop_window_ms;
	uint32_t stop_timeout_ms;
};

struct manifest {
	struct srv_conf *servers; /* sorted by start_order, then name */
	size_t nservers;
	bool isolated; /* the tree has /chosen/mhcl,isolated (manifest_load_boot: either tree) */
	uint8_t *dtb; /* a private copy of the whole tree */
	size_t dtb_len;
};

/*
 * Parses the manifest from a flattened tree (copied; the caller keeps buf).
 * run_dir replaces ${RUN} in args. On error returns -EINVAL/-EBADMSG/
 * -E2BIG/-ENOMEM and writes a message naming the node and property to err.
 */
int manifest_parse(const void *buf, size_t len, const char *run_dir, struct manifest **ret,
		   char *err, size_t err_len);
/* Reads a .dtb file (bounded by MANIFEST_DTB_MAX) and parses it. */
int manifest_load(const char *path, const char *run_dir, struct manifest **ret, char *err,
		  size_t err_len);
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

#endif
