/* SPDX-License-Identifier: MIT */
#include "srv_state.h"

#include "log.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "server.h"

static void *map_state(int fd, size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	return p == MAP_FAILED ? NULL : p;
}

int srv_state_prepare(struct srv_state *st, const char *memfd_name, size_t len, uint64_t magic)
{
	int fd, r;

	memset(st, 0, sizeof(*st));
	st->fresh_fd = -1;
	if (len < sizeof(struct srv_state_hdr))
		return -EINVAL;
	fd = (int)syscall(SYS_memfd_create, memfd_name, MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)len) < 0 || !(st->fresh = map_state(fd, len))) {
		r = -errno;
		close(fd);
		return r;
	}
	struct srv_state_hdr *h = st->fresh;
	h->magic = magic;
	h->size = len;
	st->fresh_fd = fd;
	st->len = len;
	st->magic = magic;
	return 0;
}

static void *stored_state(struct srv *s, const struct srv_state *st, const char *name,
			  bool (*accept)(const void *map, void *opaque), void *opaque)
{
	int fd = srv_stored_fd(s, name);
	struct stat sb;
	void *p = NULL;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &sb) == 0 && (size_t)sb.st_size == st->len)
		p = map_state(fd, st->len);
	close(fd);
	if (!p) {
		log_warn("the stored state %s is not usable: starting afresh", name);
		return NULL;
	}
	const struct srv_state_hdr *h = p;
	if (h->magic != st->magic || h->size != st->len || (accept && !accept(p, opaque))) {
		munmap(p, st->len);
		log_warn("the stored state %s has another layout: starting afresh", name);
		return NULL;
	}
	return p;
}

int srv_state_adopt(struct srv *s, struct srv_state *st, const char *name,
		    bool (*accept)(const void *map, void *opaque), void *opaque)
{
	void *p = stored_state(s, st, name, accept, opaque);
	int r = 0;

	if (p) {
		st->map = p;
		st->adopted = true;
		munmap(st->fresh, st->len);
	} else {
		r = srv_fd_store(s, name, st->fresh_fd);
		st->map = st->fresh;
	}
	st->fresh = NULL;
	close(st->fresh_fd);
	st->fresh_fd = -1;
	return r;
}

void srv_state_release(struct srv_state *st)
{
	if (st->map)
		munmap(st->map, st->len);
	if (st->fresh)
		munmap(st->fresh, st->len);
	if (st->fresh_fd >= 0)
		close(st->fresh_fd);
	st->map = st->fresh = NULL;
	st->fresh_fd = -1;
}
