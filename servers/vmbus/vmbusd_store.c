/* SPDX-License-Identifier: MIT */
#include "vmbusd_store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define STORE_MAGIC 0x7473646275626d76ull /* "vmbudst" */
#define HDR_BYTES 4096u
#define STORE_BYTES (HDR_BYTES + 2u * VMBUSD_STORE_SLOT_BYTES)

struct store_hdr {
	uint64_t magic;
	uint64_t slot_bytes;
	uint32_t active; /* 0 or 1; meaningless while len is 0 */
	uint32_t reserved;
	uint64_t len[2]; /* bytes of the record in each slot */
	uint64_t commits;
};

struct vmbusd_store {
	int fd;
	uint8_t *map;
};

static struct store_hdr *hdr(const struct vmbusd_store *st)
{
	return (struct store_hdr *)st->map;
}

static int map(int fd, struct vmbusd_store **ret)
{
	struct vmbusd_store *st = calloc(1, sizeof(*st));
	void *p;

	if (!st)
		return -ENOMEM;
	p = mmap(NULL, STORE_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		int r = -errno;
		free(st);
		return r;
	}
	st->fd = fd;
	st->map = p;
	*ret = st;
	return 0;
}

int vmbusd_store_create(struct vmbusd_store **ret)
{
	int fd = (int)syscall(SYS_memfd_create, "mhcl-vmbusd-state", 1u /* MFD_CLOEXEC */);
	int r;

	if (fd < 0)
		return -errno;
	/* Sparse: only the pages a record touches are ever allocated. */
	if (ftruncate(fd, STORE_BYTES) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	r = map(fd, ret);
	if (r < 0) {
		close(fd);
		return r;
	}
	*hdr(*ret) =
	    (struct store_hdr){.magic = STORE_MAGIC, .slot_bytes = VMBUSD_STORE_SLOT_BYTES};
	return 0;
}

int vmbusd_store_adopt(int fd, struct vmbusd_store **ret)
{
	struct stat st;
	int r;

	if (fstat(fd, &st) < 0 || (uint64_t)st.st_size != STORE_BYTES) {
		close(fd);
		return -EBADMSG;
	}
	r = map(fd, ret);
	if (r < 0) {
		close(fd);
		return r;
	}
	const struct store_hdr *h = hdr(*ret);
	if (h->magic != STORE_MAGIC || h->slot_bytes != VMBUSD_STORE_SLOT_BYTES || h->active > 1 ||
	    h->len[0] > VMBUSD_STORE_SLOT_BYTES || h->len[1] > VMBUSD_STORE_SLOT_BYTES) {
		vmbusd_store_free(*ret);
		return -EBADMSG;
	}
	return 0;
}

void vmbusd_store_free(struct vmbusd_store *st)
{
	if (!st)
		return;
	munmap(st->map, STORE_BYTES);
	close(st->fd);
	free(st);
}

int vmbusd_store_fd(const struct vmbusd_store *st)
{
	return st->fd;
}

static uint32_t next_slot(const struct store_hdr *h)
{
	return h->len[h->active] ? 1u - h->active : h->active;
}

void *vmbusd_store_slot(struct vmbusd_store *st)
{
	return st->map + HDR_BYTES + (size_t)next_slot(hdr(st)) * VMBUSD_STORE_SLOT_BYTES;
}

int vmbusd_store_commit(struct vmbusd_store *st, const void *rec, size_t len)
{
	if (len == 0 || len > VMBUSD_STORE_SLOT_BYTES)
		return -EMSGSIZE;
	memcpy(vmbusd_store_slot(st), rec, len);
	return vmbusd_store_publish(st, len);
}

int vmbusd_store_publish(struct vmbusd_store *st, size_t len)
{
	struct store_hdr *h = hdr(st);
	uint32_t next = next_slot(h);

	if (len == 0 || len > VMBUSD_STORE_SLOT_BYTES)
		return -EMSGSIZE;
	h->len[next] = len;
	/* The record is complete before the index names it (another process reads it). */
	__atomic_store_n(&h->active, next, __ATOMIC_RELEASE);
	h->commits++;
	return 0;
}

const void *vmbusd_store_record(const struct vmbusd_store *st, size_t *len)
{
	const struct store_hdr *h = hdr(st);
	uint32_t a = __atomic_load_n(&h->active, __ATOMIC_ACQUIRE);

	*len = a <= 1 ? (size_t)h->len[a] : 0;
	return *len ? st->map + HDR_BYTES + (size_t)a * VMBUSD_STORE_SLOT_BYTES : NULL;
}
