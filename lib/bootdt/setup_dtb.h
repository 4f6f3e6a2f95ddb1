/* SPDX-License-Identifier: MIT */
/* The boot device tree the mhcl shim hands Linux (SETUP_DTB setup_data). */
#ifndef MHCL_SETUP_DTB_H
#define MHCL_SETUP_DTB_H

#include <stddef.h>
#include <stdint.h>

#define SETUP_DATA_DIR "/sys/kernel/boot_params/setup_data"
#define SETUP_DATA_ENTRIES_MAX 64 /* setup_data entries looked at */

/*
 * Finds the one SETUP_DTB entry under dir (SETUP_DATA_DIR outside tests) and
 * reads its data, at most max bytes, into a malloc'd buffer (*ret_tree,
 * *ret_len; the caller frees it); entry gets the data file's path. Entries of
 * other types are skipped; unexpected entry names, a malformed type text,
 * more than SETUP_DATA_ENTRIES_MAX entries, two SETUP_DTB entries or a
 * larger tree are errors. Returns 0 or -errno with a reason in err. The tree
 * itself is not checked: callers validate it before libfdt walks it.
 */
int setup_dtb_read(const char *dir, size_t max, uint8_t **ret_tree, size_t *ret_len, char *entry,
		   size_t entry_len, char *err, size_t err_len);

#endif
