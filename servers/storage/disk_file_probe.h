/* SPDX-License-Identifier: MIT */
/* What disk_file_open finds out about a path before it builds the disk (disk_file.c). */
#ifndef MHCL_STORAGE_DISK_FILE_PROBE_H
#define MHCL_STORAGE_DISK_FILE_PROBE_H

#include <stdbool.h>
#include <stdint.h>

struct file_probe {
	int fd;	       /* buffered */
	int fd_direct; /* the same file with O_DIRECT; -1 where the filesystem refuses it */
	bool blockdev;
	uint64_t nblocks;    /* at least 1 */
	uint32_t block_size; /* 512 for files; a block device's logical block size */
	/* What O_DIRECT wants of a transfer (powers of two): the address of each segment,
	 * and the file offset and length of each segment. */
	uint32_t mem_align, offset_align;
};

/*
 * Opens path (O_RDONLY when read_only, else O_RDWR; close-on-exec) as a regular file or a
 * block device and measures it. On success the fds in *ret are the caller's; on failure
 * nothing stays open and *why (when why is not NULL) says what failed. Returns 0 or -errno.
 */
int disk_file__probe(const char *path, bool read_only, struct file_probe *ret, const char **why);

#endif
