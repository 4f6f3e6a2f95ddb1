/* SPDX-License-Identifier: MIT */
#include "guest_ram.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 0x0001U
#endif
#ifndef MFD_ALLOW_SEALING
#define MFD_ALLOW_SEALING 0x0002U
#endif

static int memfd_new(const char *name, unsigned flags)
{
	/* The raw syscall: older libcs have no memfd_create() wrapper. */
	long r = syscall(SYS_memfd_create, name, flags);
	return r < 0 ? -errno : (int)r;
}

int guest_ram_create(uint64_t size, struct guest_ram *ret)
{
	int fd, r;
	void *p;

	if (size == 0 || size % 4096)
		return -EINVAL;
	fd = memfd_new("mhcl-guest-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return fd;
	if (ftruncate(fd, (off_t)size) < 0) {
		r = -errno;
		goto err_close;
	}
	/* The size is fixed for the partition's life: servers may map it without fearing a
	 * shrink under them. */
	(void)fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		r = -errno;
		goto err_close;
	}
	*ret = (struct guest_ram){.memfd = fd, .hva = p, .size = size};
	return 0;
err_close:
	close(fd);
	return r;
}

void guest_ram_destroy(struct guest_ram *ram)
{
	if (ram->hva)
		munmap(ram->hva, ram->size);
	if (ram->memfd >= 0)
		close(ram->memfd);
	ram->hva = NULL;
	ram->memfd = -1;
}
