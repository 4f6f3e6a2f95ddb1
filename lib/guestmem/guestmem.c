/* SPDX-License-Identifier: MIT */
#include "guestmem.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "unmap_steps.h"

#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 0x0001U
#endif
#ifndef MFD_ALLOW_SEALING
#define MFD_ALLOW_SEALING 0x0002U
#endif

int guestmem_layout_check(const struct guestmem_layout *l, uint64_t *need, const char **why)
{
	uint64_t end = 0;

	if (l->nranges == 0 || l->nranges > GUESTMEM_MAX_RANGES) {
		*why = "want 1..16 RAM ranges";
		return -EINVAL;
	}
	for (unsigned i = 0; i < l->nranges; i++) {
		const struct guestmem_range *r = &l->ranges[i];
		if (r->size == 0 || (r->gpa | r->size | r->memfd_offset) % GUESTMEM_PAGE_SIZE ||
		    r->gpa > UINT64_MAX - r->size || r->memfd_offset > UINT64_MAX - r->size) {
			*why = "a RAM range is empty, unaligned or wraps";
			return -EINVAL;
		}
		for (unsigned j = 0; j < i; j++) {
			const struct guestmem_range *o = &l->ranges[j];
			if (r->gpa < o->gpa + o->size && o->gpa < r->gpa + r->size) {
				*why = "two RAM ranges overlap";
				return -EINVAL;
			}
		}
		if (r->memfd_offset + r->size > end)
			end = r->memfd_offset + r->size;
	}
	if (end > SIZE_MAX) {
		*why = "the RAM layout does not fit the address space";
		return -EINVAL;
	}
	*need = end;
	return 0;
}

/* The range holding gpa, or NULL. */
static const struct guestmem_range *range_of(const struct guestmem_layout *l, uint64_t gpa)
{
	for (unsigned i = 0; i < l->nranges; i++) {
		const struct guestmem_range *r = &l->ranges[i];
		if (gpa >= r->gpa && gpa - r->gpa < r->size)
			return r;
	}
	return NULL;
}

bool guestmem_layout_contains(const struct guestmem_layout *l, uint64_t gpa, uint64_t len)
{
	const struct guestmem_range *r = range_of(l, gpa);
	return r && len && len <= r->size - (gpa - r->gpa);
}

int guestmem_create(uint64_t size, struct guestmem *gm)
{
	int fd, r;
	void *p;

	*gm = (struct guestmem){.memfd = -1};
	if (size == 0 || size % GUESTMEM_PAGE_SIZE || size > SIZE_MAX)
		return -EINVAL;
	/* The raw syscall: older libcs have no memfd_create() wrapper. */
	fd = (int)syscall(SYS_memfd_create, "mhcl-guest-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0)
		goto err;
	/* The size is fixed for the partition's life: receivers refuse an unsealed memfd. */
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		goto err;
	p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		goto err;
	/* 2 MiB pages where the kernel's shmem policy allows them ("advise" or "always";
	 * Debian's default is "never"): fewer TLB misses for the guest, and a restarted
	 * server maps guest RAM with a fault per 2 MiB, not per 4 KiB, inside the guest's
	 * pause. The image does not set the policy (README, "Not yet done"). */
	(void)madvise(p, (size_t)size, MADV_HUGEPAGE);
	gm->layout.ranges[0] = (struct guestmem_range){.gpa = 0, .size = size, .memfd_offset = 0};
	gm->layout.nranges = 1;
	gm->base = p;
	gm->map_len = (size_t)size;
	gm->memfd = fd;
	return 0;
err:
	r = -errno;
	close(fd);
	return r;
}

/*
 * Only shmem files answer F_GET_SEALS. A tmpfs file opened by path, or a memfd made
 * without MFD_ALLOW_SEALING, carries F_SEAL_SEAL alone and can never gain F_SEAL_SHRINK:
 * both seals together mean a memfd whose creator sealed it on purpose.
 */
int guestmem_memfd_check(int memfd, uint64_t need, const char **why)
{
	struct stat st;
	int seals;

	if (fstat(memfd, &st) < 0 || !S_ISREG(st.st_mode)) {
		*why = "guest RAM is not a memfd";
		return -EINVAL;
	}
	seals = fcntl(memfd, F_GET_SEALS);
	if (seals < 0) {
		*why = "guest RAM is not a memfd (it has no seals)";
		return -EINVAL;
	}
	if (!(seals & F_SEAL_SHRINK)) {
		*why = "the memfd is not sealed against shrinking";
		return -EINVAL;
	}
	if (!(seals & F_SEAL_SEAL)) {
		*why = "the memfd's seals are not final (no F_SEAL_SEAL)";
		return -EINVAL;
	}
	if ((uint64_t)st.st_size < need) {
		*why = "the memfd is smaller than the RAM ranges";
		return -EINVAL;
	}
	return 0;
}

int guestmem_map(struct guestmem *gm, int memfd, const struct guestmem_layout *l, const char **why)
{
	uint64_t need;
	int r;
	void *p;

	r = guestmem_layout_check(l, &need, why);
	if (r < 0)
		return r;
	r = guestmem_memfd_check(memfd, need, why);
	if (r < 0)
		return r;
	p = mmap(NULL, (size_t)need, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (p == MAP_FAILED) {
		*why = "unable to map guest RAM";
		return -errno;
	}
	*gm = (struct guestmem){.layout = *l, .base = p, .map_len = (size_t)need, .memfd = memfd};
	return 0;
}

void guestmem_release(struct guestmem *gm)
{
	if (gm->base)
		unmap_steps(gm->base, gm->map_len);
	if (gm->memfd >= 0)
		close(gm->memfd);
	*gm = (struct guestmem){.memfd = -1};
}

void *guestmem_gpa_to_va(const struct guestmem *gm, uint64_t gpa, uint64_t *len)
{
	const struct guestmem_range *r;
	uint64_t avail;

	if (!gm->base || *len == 0 || !(r = range_of(&gm->layout, gpa)))
		return NULL;
	avail = r->size - (gpa - r->gpa);
	if (*len > avail)
		*len = avail;
	return gm->base + r->memfd_offset + (gpa - r->gpa);
}

void *guestmem_ptr(const struct guestmem *gm, uint64_t gpa, uint64_t len)
{
	uint64_t got = len;
	void *p = guestmem_gpa_to_va(gm, gpa, &got);
	return p && got == len ? p : NULL;
}

int guestmem_read(const struct guestmem *gm, uint64_t gpa, void *dst, size_t len)
{
	uint8_t *out = dst;

	while (len) {
		uint64_t n = len;
		const void *src = guestmem_gpa_to_va(gm, gpa, &n);
		if (!src)
			return -EFAULT;
		memcpy(out, src, (size_t)n);
		out += n;
		gpa += n;
		len -= (size_t)n;
	}
	return 0;
}

int guestmem_write(const struct guestmem *gm, uint64_t gpa, const void *src, size_t len)
{
	const uint8_t *in = src;

	while (len) {
		uint64_t n = len;
		void *dst = guestmem_gpa_to_va(gm, gpa, &n);
		if (!dst)
			return -EFAULT;
		memcpy(dst, in, (size_t)n);
		in += n;
		gpa += n;
		len -= (size_t)n;
	}
	return 0;
}

static uint8_t *page_of(const struct guestmem *gm, uint64_t pfn)
{
	if (pfn > (UINT64_MAX >> GUESTMEM_PAGE_SHIFT))
		return NULL;
	return guestmem_ptr(gm, pfn << GUESTMEM_PAGE_SHIFT, GUESTMEM_PAGE_SIZE);
}

int guestmem_pages(const struct guestmem *gm, const uint64_t *pfns, size_t n, uint8_t **pages,
		   size_t *bad)
{
	for (size_t i = 0; i < n; i++) {
		pages[i] = page_of(gm, pfns[i]);
		if (!pages[i]) {
			*bad = i;
			return -EFAULT;
		}
	}
	return 0;
}

int guestmem_iov(const struct guestmem *gm, const uint64_t *pfns, size_t npfns, uint64_t offset,
		 uint64_t len, struct iovec *iov, size_t max)
{
	size_t used = 0;

	if (len == 0)
		return 0;
	if (npfns > (UINT64_MAX >> GUESTMEM_PAGE_SHIFT) ||
	    offset > ((uint64_t)npfns << GUESTMEM_PAGE_SHIFT) ||
	    len > ((uint64_t)npfns << GUESTMEM_PAGE_SHIFT) - offset)
		return -ERANGE;
	while (len) {
		size_t idx = (size_t)(offset >> GUESTMEM_PAGE_SHIFT);
		uint64_t in_page = offset & (GUESTMEM_PAGE_SIZE - 1);
		uint64_t n = GUESTMEM_PAGE_SIZE - in_page;
		uint8_t *page = page_of(gm, pfns[idx]);

		if (!page)
			return -EFAULT;
		if (n > len)
			n = len;
		if (used &&
		    (uint8_t *)iov[used - 1].iov_base + iov[used - 1].iov_len == page + in_page) {
			iov[used - 1].iov_len += (size_t)n;
		} else {
			if (used == max)
				return -ENOBUFS;
			iov[used++] =
			    (struct iovec){.iov_base = page + in_page, .iov_len = (size_t)n};
		}
		offset += n;
		len -= n;
	}
	return (int)used;
}
