/* SPDX-License-Identifier: MIT */
#include "disk_file_probe.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "macros.h"

static int fail(const char **why, const char *what, int err)
{
	if (why)
		*why = what;
	return err;
}

/* What O_DIRECT on fd wants: 0 when the kernel knows, -EOPNOTSUPP when it says the file
 * takes no direct I/O, -ENODATA when it does not say. */
/* The kernel's struct statx (include/uapi/linux/stat.h), the fields used here: musl
 * 1.2.3 has neither statx() nor the struct, and <linux/stat.h> clashes with its
 * <sys/stat.h>. */
#define KSTATX_DIOALIGN 0x00002000u
struct kstatx {
	uint32_t mask;
	uint8_t other[148];
	uint32_t dio_mem_align;
	uint32_t dio_offset_align;
	uint64_t spare[12];
};
static_assert(sizeof(struct kstatx) == 256, "struct statx is 256 bytes");
static_assert(offsetof(struct kstatx, dio_mem_align) == 152, "stx_dio_mem_align");
static_assert(offsetof(struct kstatx, dio_offset_align) == 156, "stx_dio_offset_align");

static int dio_align(int fd, uint32_t *ret_mem, uint32_t *ret_offset)
{
	struct kstatx stx = {0};
	uint32_t mem, offset;

	if (syscall(SYS_statx, fd, "", AT_EMPTY_PATH, KSTATX_DIOALIGN, &stx) < 0 ||
	    !(stx.mask & KSTATX_DIOALIGN))
		return -ENODATA;
	mem = stx.dio_mem_align;
	offset = stx.dio_offset_align;
	if (!mem || !offset)
		return -EOPNOTSUPP;
	/* Powers of two per the ABI; anything else is not something to mask with. */
	if ((mem & (mem - 1)) || (offset & (offset - 1)))
		return -ENODATA;
	*ret_mem = mem;
	*ret_offset = offset;
	return 0;
}

/* The size and logical block size of what fd (the buffered one) is. */
static int probe_size(int fd, const struct stat *st, uint64_t *ret_size, uint32_t *ret_bs,
		      const char **why)
{
	uint64_t size;
	int bs;

	if (S_ISREG(st->st_mode)) {
		*ret_size = (uint64_t)st->st_size;
		*ret_bs = 512;
		return 0;
	}
	if (!S_ISBLK(st->st_mode))
		return fail(why, "not a regular file or a block device", -EINVAL);
	if (ioctl(fd, BLKGETSIZE64, &size) < 0)
		return fail(why, "unable to get the block device's size (BLKGETSIZE64)", -errno);
	if (ioctl(fd, BLKSSZGET, &bs) < 0)
		return fail(why, "unable to get the logical block size (BLKSSZGET)", -errno);
	if (bs != 512 && bs != 4096)
		return fail(why, "logical block size is neither 512 nor 4096", -EOPNOTSUPP);
	*ret_size = size;
	*ret_bs = (uint32_t)bs;
	return 0;
}

/*
 * Opens the direct fd beside the buffered one, checking it is the same file (the path
 * could have been replaced between the two opens). -EINVAL when the filesystem takes no
 * O_DIRECT: the disk stays buffered.
 */
static int open_direct(const char *path, int flags, const struct stat *st, const char **why)
{
	struct stat st2;
	int fd = open(path, flags | O_DIRECT);

	if (fd < 0)
		return errno == EINVAL ? -EINVAL : fail(why, "unable to open O_DIRECT", -errno);
	if (fstat(fd, &st2) < 0 || st2.st_dev != st->st_dev || st2.st_ino != st->st_ino ||
	    st2.st_rdev != st->st_rdev) {
		close(fd);
		return fail(why, "the path changed between two opens", -ESTALE);
	}
	return fd;
}

int disk_file__probe(const char *path, bool read_only, struct file_probe *ret, const char **why)
{
	int flags = (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	_cleanup_close_ int fd = -1, fd_direct = -1;
	struct stat st;
	uint64_t size = 0;
	uint32_t bs = 512, mem_align = 512, offset_align = 512;
	int err;

	fd = open(path, flags);
	if (fd < 0)
		return fail(why, "unable to open", -errno);
	if (fstat(fd, &st) < 0)
		return fail(why, "unable to stat", -errno);
	err = probe_size(fd, &st, &size, &bs, why);
	if (err)
		return err;
	if (size / bs == 0)
		return fail(why, "smaller than one block", -EINVAL);

	fd_direct = open_direct(path, flags, &st, why);
	if (fd_direct == -EINVAL)
		fd_direct = -1;
	else if (fd_direct < 0)
		return fd_direct;
	if (fd_direct >= 0) {
		err = dio_align(fd_direct, &mem_align, &offset_align);
		if (err == -EOPNOTSUPP)
			close(take_fd(&fd_direct));
		else if (err && S_ISBLK(st.st_mode))
			mem_align = offset_align = bs; /* what older kernels want of a bdev */
	}
	*ret = (struct file_probe){
	    .fd = take_fd(&fd),
	    .fd_direct = take_fd(&fd_direct),
	    .blockdev = S_ISBLK(st.st_mode),
	    .nblocks = size / bs,
	    .block_size = bs,
	    .mem_align = mem_align,
	    .offset_align = offset_align,
	};
	return 0;
}
