/* SPDX-License-Identifier: MIT */
/*
 * Guest physical memory: the one accessor every mhcl process uses.
 *
 * Guest RAM is a memfd the VP worker creates (guestmem_create) and hands to vmbusd and
 * device servers over the bus, with its layout: up to GUESTMEM_MAX_RANGES page-aligned
 * ranges {gpa, size, memfd_offset}. A receiver checks the layout (guestmem_layout_check)
 * and maps it (guestmem_map), which refuses a memfd that is not sealed against shrinking
 * for good (guestmem_memfd_check): otherwise the worker (or anyone holding the fd) could
 * truncate it and every access would SIGBUS the server.
 *
 * Every address the guest gives is untrusted. Translation is overflow-safe and never
 * reaches outside a RAM range:
 *   guestmem_gpa_to_va    the host pointer for gpa and the length that is contiguous
 *                         from it (possibly shorter than asked; the shape of
 *                         libvhost-user's vu_gpa_to_va)
 *   guestmem_ptr          the whole [gpa, gpa + len) in one range, or NULL
 *   guestmem_read/_write  copies that may cross ranges; -EFAULT if any byte is outside
 *   guestmem_pages        a copied PFN list (a GPADL, a page-buffer list) to page
 *                         pointers, every PFN checked, nothing re-read from the guest
 *   guestmem_iov          a byte range of such a PFN list as an iovec
 * The layout alone (no mapping) answers guestmem_layout_contains, which is what the
 * VMBus control plane needs to check a GPADL's PFNs: it never touches guest memory.
 */
#ifndef MHCL_LIB_GUESTMEM_H
#define MHCL_LIB_GUESTMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define GUESTMEM_MAX_RANGES 16u
#define GUESTMEM_PAGE_SHIFT 12u
#define GUESTMEM_PAGE_SIZE (1u << GUESTMEM_PAGE_SHIFT)

struct guestmem_range {
	uint64_t gpa;	       /* page aligned */
	uint64_t size;	       /* bytes, page aligned, nonzero */
	uint64_t memfd_offset; /* where the range starts in the memfd, page aligned */
};

struct guestmem_layout {
	struct guestmem_range ranges[GUESTMEM_MAX_RANGES];
	unsigned nranges;
};

struct guestmem {
	struct guestmem_layout layout;
	uint8_t *base;	/* the memfd mapped from offset 0 */
	size_t map_len; /* bytes mapped: the end of the highest range in the memfd */
	int memfd;	/* owned; -1 when not mapped */
};

/*
 * Validates a layout from a peer: 1..GUESTMEM_MAX_RANGES ranges, page aligned, nonempty,
 * no wrap, no two ranges overlapping in guest physical space. On success stores the
 * memfd bytes the layout needs in *need. -EINVAL with *why otherwise.
 */
int guestmem_layout_check(const struct guestmem_layout *l, uint64_t *need, const char **why);

/* True if [gpa, gpa + len) lies inside one range of the layout (len > 0). */
bool guestmem_layout_contains(const struct guestmem_layout *l, uint64_t gpa, uint64_t len);

/*
 * The worker's side: a new sealed memfd of `size` bytes mapped at guest physical 0.
 */
int guestmem_create(uint64_t size, struct guestmem *gm);

/*
 * What every process that maps guest RAM checks first (memfd borrowed): it is a memfd
 * sealed with F_SEAL_SHRINK and F_SEAL_SEAL (nobody can shrink it under the mapping, which
 * would SIGBUS the mapper, nor add seals later) and at least need bytes long. 0, or
 * -EINVAL with *why.
 */
int guestmem_memfd_check(int memfd, uint64_t need, const char **why);

/*
 * A receiver's side: checks the layout and the memfd (guestmem_memfd_check), and maps it
 * read-write. Takes ownership of memfd only on success.
 */
int guestmem_map(struct guestmem *gm, int memfd, const struct guestmem_layout *l, const char **why);

/* Unmaps and closes. Safe on a zeroed or already released struct with memfd = -1. */
void guestmem_release(struct guestmem *gm);

static inline bool guestmem_is_mapped(const struct guestmem *gm)
{
	return gm->base != NULL;
}

/*
 * The host address of gpa, and in *len (in: wanted, out: available) how many bytes from
 * it are contiguous in the mapping, never more than asked. NULL if gpa is outside RAM or
 * *len is 0.
 */
void *guestmem_gpa_to_va(const struct guestmem *gm, uint64_t gpa, uint64_t *len);

/* The host pointer for all of [gpa, gpa + len), or NULL unless it lies in one range. */
void *guestmem_ptr(const struct guestmem *gm, uint64_t gpa, uint64_t len);

/* Copies between guest memory and private memory, across ranges; -EFAULT if out of RAM. */
int guestmem_read(const struct guestmem *gm, uint64_t gpa, void *dst, size_t len);
int guestmem_write(const struct guestmem *gm, uint64_t gpa, const void *src, size_t len);

/*
 * Page pointers for a PFN list the caller has already copied out of the guest: pages[i]
 * for pfns[i]. -EFAULT (with *bad = index) if a PFN is outside RAM.
 */
int guestmem_pages(const struct guestmem *gm, const uint64_t *pfns, size_t n, uint8_t **pages,
		   size_t *bad);

/*
 * An iovec for bytes [offset, offset + len) of the buffer a copied PFN list describes
 * (each PFN one 4 KiB page; adjacent pages that are adjacent in the mapping share one
 * entry). Returns the number of entries used, -EFAULT if a page is outside RAM, -ERANGE
 * if the range is outside the list, -ENOBUFS if more than max entries are needed.
 */
int guestmem_iov(const struct guestmem *gm, const uint64_t *pfns, size_t npfns, uint64_t offset,
		 uint64_t len, struct iovec *iov, size_t max);

#endif
